"""A fused GRU layer, as the LSTM's in ``chainrule.nn._lstm``: one primitive runs the
recurrence over the whole sequence, another the backward pass through time, and the
hidden-to-hidden weight's gradient is one product over the stacked steps.

PyTorch's GRU: with the input projections x = W_ih·x_t + b_ih split into (x_r, x_z, x_n)
and g = W_hh·h + b_hh into (g_r, g_z, g_n),

    r = σ(x_r + g_r),  z = σ(x_z + g_z),  n = tanh(x_n + r ⊙ g_n),  h' = n + z ⊙ (h − n).

The forward pass keeps the gates (r, z, n) and g_n of every step; the backward pass gives
the cotangents of x (T, N, 3H) and of g (which differ from x's in the n columns only:
∂g_n = r ⊙ ∂x_n), from which W_hh's and b_hh's follow by one product and one sum. The
bodies are written once with ``chainrule.numpy`` and run on plain arrays into arrays of
their own, as the LSTM's do (see there), so they differentiate to any order.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import Primitive, def_batch, def_joint_vjp, def_jvps
from chainrule.nn._lstm import (
    _batch_rows,
    _body_jvp,
    _body_vjp,
    _buffers,
    _dtype,
    _empty,
    _matmul,
    _sequence,
    _slot,
    _steps,
    _weight_cotangent,
)

__all__ = ["gru_forward", "gru_backward", "gru_sequence"]


def _sigmoid(xp, x, out):
    """σ(x) = ½·tanh(½x) + ½, in place in ``out`` where there is one."""
    return xp.add(xp.multiply(xp.tanh(xp.multiply(x, 0.5, out=out), out=out), 0.5, out=out), 0.5, out=out)


# -- the forward pass: (T, N, 3H) input projections -> outputs, gates (r, z, n), g_n --------
def _forward(xproj, w_hh, b_hh, h0, reverse=False):
    length, rows, hidden = xproj.shape[0], h0.shape[0], w_hh.shape[1]
    w_t = cnp.ascontiguousarray(cnp.transpose(w_hh))  # (H, 3H) in row-major order, for BLAS
    buffers = _buffers(xproj, w_hh, b_hh, h0)
    xp = np if buffers else cnp
    dtype = _dtype(xproj)
    ys_buffer = _empty(buffers, (length, rows, hidden), dtype)
    gate_buffer = _empty(buffers, (length, rows, 3 * hidden), dtype)
    product_buffer = _empty(buffers, (length, rows, 3 * hidden), dtype)  # g of every step: its n part is kept
    h = h0
    ys, gates, products = [None] * length, [None] * length, [None] * length
    for t in _steps(length, reverse):
        g_out, a_out = _slot(product_buffer, t), _slot(gate_buffer, t)
        g = _matmul(h, w_t, g_out)
        if b_hh is not None:
            g = xp.add(g, b_hh, out=g_out)
        rz = _sigmoid(xp, xp.add(xproj[t, :, : 2 * hidden], g[:, : 2 * hidden],
                                 out=None if a_out is None else a_out[:, : 2 * hidden]),
                      None if a_out is None else a_out[:, : 2 * hidden])
        r, z, g_n = rz[:, :hidden], rz[:, hidden:], g[:, 2 * hidden :]
        n_out = None if a_out is None else a_out[:, 2 * hidden :]
        n = xp.tanh(xp.add(xproj[t, :, 2 * hidden :], xp.multiply(r, g_n, out=n_out), out=n_out), out=n_out)
        y_out = _slot(ys_buffer, t)
        h = xp.add(n, xp.multiply(z, xp.subtract(h, n, out=y_out), out=y_out), out=y_out)
        ys[t], products[t] = h, g_n
        gates[t] = a_out if a_out is not None else cnp.concatenate([rz, n], axis=-1)
    g_n_all = product_buffer[:, :, 2 * hidden :] if buffers else cnp.stack(products)
    return _sequence(ys_buffer, ys), _sequence(gate_buffer, gates), g_n_all


# -- the backward pass through time: cotangents of (outputs, gates, g_n) -> dx, dg, dh0 ------
def _backward(gy, ga, gn, ys, gates, g_n, w_hh, h0, reverse=False):
    length, rows, hidden = ys.shape
    buffers = _buffers(gy, ga, gn, ys, gates, g_n, w_hh, h0)
    xp = np if buffers else cnp
    dtype = _dtype(gates)
    dx_buffer, dg_buffer = (_empty(buffers, gates.shape, dtype) for _ in range(2))
    dh_buffer, term, d_n = (_empty(buffers, (rows, hidden), dtype) for _ in range(3))
    dh = None
    dxs, dgs = [None] * length, [None] * length
    for t in _steps(length, not reverse):
        prev = t + 1 if reverse else t - 1
        h_prev = h0 if prev in (-1, length) else ys[prev]
        a = gates[t]
        r, z, n = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, 2 * hidden :]
        dx_out, dg_out = _slot(dx_buffer, t), _slot(dg_buffer, t)
        cols = [None] * 3 if dg_out is None else [dg_out[:, k * hidden : (k + 1) * hidden] for k in range(3)]
        if gy is not None:
            dh = gy[t] if dh is None else xp.add(dh, gy[t], out=dh_buffer)
        if dh is None:
            dh = cnp.zeros_like(h_prev)
        # h' = n + z (h − n): ∂n = ∂h' (1 − z), ∂z = ∂h' (h − n), ∂h = ∂h' z
        dn = xp.subtract(dh, xp.multiply(dh, z, out=term), out=d_n)
        dz = xp.multiply(dh, xp.subtract(h_prev, n, out=cols[1]), out=cols[1])
        if ga is not None:
            dn = xp.add(dn, ga[t, :, 2 * hidden :], out=d_n)
            dz = xp.add(dz, ga[t, :, hidden : 2 * hidden], out=cols[1])
        # n = tanh(x_n + r g_n): ∂x_n = ∂n (1 − n²), ∂r = ∂x_n g_n, ∂g_n = ∂x_n r
        dxn = xp.multiply(dn, xp.subtract(1, xp.multiply(n, n, out=term), out=term), out=term)
        dr = xp.multiply(dxn, g_n[t], out=cols[0])
        if ga is not None:
            dr = xp.add(dr, ga[t, :, :hidden], out=cols[0])
        dgn = xp.multiply(dxn, r, out=cols[2])
        if gn is not None:
            dgn = xp.add(dgn, gn[t], out=cols[2])
        # r and z are sigmoids: σ' = σ (1 − σ)
        dr = xp.multiply(dr, xp.multiply(r, xp.subtract(1, r, out=d_n), out=d_n), out=cols[0])
        dz = xp.multiply(dz, xp.multiply(z, xp.subtract(1, z, out=d_n), out=d_n), out=cols[1])
        if dg_out is None:
            dg = cnp.concatenate([dr, dz, dgn], axis=-1)
            dx = cnp.concatenate([dr, dz, dxn], axis=-1)
        else:
            dg, dx = dg_out, dx_out
            dx[:, : 2 * hidden] = dg[:, : 2 * hidden]
            dx[:, 2 * hidden :] = dxn
        dxs[t], dgs[t] = dx, dg
        dh = xp.add(xp.multiply(dh, z, out=term), _matmul(dg, w_hh, dh_buffer), out=dh_buffer)
    return _sequence(dx_buffer, dxs), _sequence(dg_buffer, dgs), dh


gru_forward = Primitive(_forward, name="gru_forward", multiple_outputs=True)
"""gru_forward(xproj, w_hh, b_hh, h0, reverse=False) -> (outputs, gates, g_n): a GRU layer's
recurrence over a (T, N, 3H) sequence of input projections (b_ih included; b_hh may be None)."""
gru_backward = Primitive(_backward, name="gru_backward", multiple_outputs=True)
"""gru_backward(gy, ga, gn, outputs, gates, g_n, w_hh, h0, reverse=False) -> (dx, dg, dh0): the
cotangents of the input projections and of the hidden-to-hidden products at every step, and
of the initial state."""


def _forward_vjp(g, ans, argnums, xproj, w_hh, b_hh, h0, reverse=False):
    dx, dg, dh0 = gru_backward(*g, *ans, w_hh, h0, reverse=reverse)
    dw = _weight_cotangent(dg, ans[0], h0, reverse) if 1 in argnums else None
    db = cnp.sum(cnp.reshape(dg, (-1, dg.shape[-1])), axis=0) if 2 in argnums else None
    return dx, dw, db, dh0


def_joint_vjp(gru_forward, _forward_vjp)
def_jvps(gru_forward, *(_body_jvp(_forward, i) for i in range(4)))
def_joint_vjp(gru_backward, _body_vjp(_backward))
def_jvps(gru_backward, *(_body_jvp(_backward, i) for i in range(8)))
def_batch(_batch_rows(("seq", "weight", "weight", "state"), ("seq", "seq", "seq")), gru_forward)
def_batch(_batch_rows(("seq",) * 6 + ("weight", "state"), ("seq", "seq", "state")), gru_backward)


def gru_sequence(xproj, w_hh, b_hh, h0, reverse: bool = False):
    """One GRU layer in one direction: ``(outputs (T, N, H), h_T)`` from the input
    projections ``xproj`` (T, N, 3H) (``b_ih`` added), the hidden-to-hidden weights (3H, H),
    their bias (3H,) or None, and the initial state (N, H). ``reverse`` runs from the last
    step to the first; its final state is then the one after step 0.

    >>> import numpy as np
    >>> ys, h = gru_sequence(np.zeros((5, 2, 9)), np.zeros((9, 3)), None, np.zeros((2, 3)))
    >>> ys.shape, h.shape
    ((5, 2, 3), (2, 3))
    """
    ys, _, _ = gru_forward(xproj, w_hh, b_hh, h0, reverse=reverse)
    return ys, ys[0 if reverse else -1]
