"""A fused LSTM layer: one primitive runs the recurrence over the whole sequence, another
the backward pass through time.

Composed from one cell primitive per step, an LSTM's backward pass visits the graph node
by node: per step the cell's rules, a product's two rules and an addition's, each with
its own cotangent bookkeeping, and one weight-gradient product per step. The fused pair
does what cuDNN does: the forward pass keeps the activated gates (T, N, 4H) and the cell
states (T, N, H); the backward pass is one loop over time that produces the gates'
cotangents for every step, after which the hidden-to-hidden weight's gradient is ONE
product over the stacked steps (the input-to-hidden weight's is the input projection's,
one product too, outside).

Both bodies are written with ``chainrule.numpy``. On plain arrays they run as NumPy;
their derivatives beyond the first (``grad`` of ``grad``, forward mode, a backward pass
with ``create_graph``) come from the engine differentiating the same bodies, so the
fused path differentiates to any order. Gates use σ(x) = ½·tanh(½x) + ½: one ``tanh``
over all four gates (the sigmoid gates' pre-activations are halved by halving their rows
of the weights and inputs, which is exact in floating point), and each gate's derivative
is a polynomial of its value: σ' = σ(1 − σ), tanh' = 1 − tanh².
"""

from __future__ import annotations

import functools

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.linearize import pullback
from chainrule.core.primitive import Primitive, def_batch, def_joint_vjp, def_jvps, def_vjps
from chainrule.numpy import batching
from chainrule.numpy.activations import _sigmoid, sigmoid
from chainrule.transforms.forward import jvp

__all__ = ["lstm_forward", "lstm_backward", "lstm_sequence"]


@functools.lru_cache(maxsize=64)
def _gate_constants(hidden: int, dtype: np.dtype):
    """(scale, shift, linear, quadratic) over the 4H gate columns (PyTorch's order i, f, g, o):
    a gate is ``tanh(scale·z)·scale + shift`` and its derivative ``linear + a·(quadratic − a)``."""
    sig = np.ones(4 * hidden, dtype=bool)
    sig[2 * hidden : 3 * hidden] = False  # the cell candidate g is a tanh gate
    scale = np.where(sig, 0.5, 1.0).astype(dtype)
    shift = np.where(sig, 0.5, 0.0).astype(dtype)
    linear = np.where(sig, 0.0, 1.0).astype(dtype)  # σ' = σ − σ², tanh' = 1 − tanh²
    quadratic = np.where(sig, 1.0, 0.0).astype(dtype)
    for a in (scale, shift, linear, quadratic):
        a.flags.writeable = False
    return scale, shift, linear, quadratic


def _dtype(x) -> np.dtype:
    return np.dtype(x.dtype)


def _steps(length: int, reverse: bool):
    return range(length - 1, -1, -1) if reverse else range(length)


# -- where the steps' results go ----------------------------------------------------------------
# The bodies below are written once, with chainrule.numpy, and run two ways. Called by the
# primitive on plain arrays of one dtype, every result is written (``out=``) into its step's
# slice of an array made once per call: each step's gates are computed and activated in
# place in their slot of the (T, N, 4H) gates, the backward pass writes each step's gate
# cotangents into one (T, N, 4H) array, which the weight-gradient product then reads as it is; no step
# allocates, nothing is stacked afterwards. Called on traced values (a transform
# differentiating the body: forward mode, derivatives of the rules) there is nowhere to
# write: every ``out`` is None, each operation makes a new value, and the steps are stacked.
# The per-step operations are NumPy's own (``xp``) in the first case (the same functions
# without the mirror's dispatch, which a step would pay a dozen times), the mirror's in the second.
def _buffers(*args) -> bool:
    """Whether the body may write into arrays of its own: all arguments plain arrays of one dtype."""
    dtypes = {a.dtype for a in args if a is not None and type(a) is np.ndarray}
    return len(dtypes) == 1 and all(a is None or type(a) is np.ndarray for a in args)


def _empty(buffers: bool, shape, dtype):
    return np.empty(shape, dtype) if buffers else None


def _slot(buffer, t):
    return None if buffer is None else buffer[t]


def _matmul(a, b, out):
    return cnp.matmul(a, b) if out is None else np.matmul(a, b, out=out)


def _sequence(buffer, steps):
    """The steps' results as one (T, ...) array: the buffer they were written into, or stacked."""
    return buffer if buffer is not None else cnp.stack(steps)


# -- the forward pass: (T, N, 4H) input projections -> outputs, cell states, gates ---------
def _forward(xproj, w_hh, h0, c0, reverse=False):
    length, hidden = xproj.shape[0], w_hh.shape[1]
    scale, shift, _, _ = _gate_constants(hidden, _dtype(xproj))
    # (H, 4H) in row-major order: BLAS multiplies by it faster than by a transposed view
    w_t = cnp.ascontiguousarray(cnp.transpose(w_hh * cnp.reshape(scale, (-1, 1))))
    buffers = _buffers(xproj, w_hh, h0, c0)
    xp = np if buffers else cnp
    dtype, rows = _dtype(xproj), h0.shape[0]
    # each step's halved input projection is written into its slot, then activated in place:
    # the projections are read once, where a scaled copy of all steps first would read them twice
    gate_buffer = _empty(buffers, xproj.shape, dtype)
    ys_buffer, cs_buffer = (_empty(buffers, (length, rows, hidden), dtype) for _ in range(2))
    product, cell = _empty(buffers, (rows, 4 * hidden), dtype), _empty(buffers, (rows, hidden), dtype)
    h, c = h0, c0
    ys, cs, gates = [None] * length, [None] * length, [None] * length
    for t in _steps(length, reverse):
        a_out = _slot(gate_buffer, t)
        a = xp.add(_matmul(h, w_t, product), xp.multiply(xproj[t], scale, out=a_out), out=a_out)
        a = xp.add(xp.multiply(xp.tanh(a, out=a_out), scale, out=a_out), shift, out=a_out)
        c_out = _slot(cs_buffer, t)
        c = xp.add(xp.multiply(a[:, hidden : 2 * hidden], c, out=c_out),
                    xp.multiply(a[:, :hidden], a[:, 2 * hidden : 3 * hidden], out=cell), out=c_out)
        h = xp.multiply(a[:, 3 * hidden :], xp.tanh(c, out=cell), out=_slot(ys_buffer, t))
        ys[t], cs[t], gates[t] = h, c, a
    return _sequence(ys_buffer, ys), _sequence(cs_buffer, cs), _sequence(gate_buffer, gates)


# -- the backward pass through time: cotangents of (outputs, cells, gates) -> dz, dh0, dc0 --
def _backward(gy, gc, ga, ys, cs, gates, w_hh, h0, c0, reverse=False):
    # Everything per step: a step's arrays stay in cache, where whole-sequence passes
    # over the (T, N, 4H) gates would each stream them through memory.
    length, rows, hidden = ys.shape
    _, _, linear, quadratic = _gate_constants(hidden, _dtype(gates))
    buffers = _buffers(gy, gc, ga, ys, cs, gates, w_hh, h0, c0)
    xp = np if buffers else cnp
    dtype = _dtype(gates)
    dz_buffer = _empty(buffers, gates.shape, dtype)
    dh_buffer, dc_buffer, tc_buffer, term = (_empty(buffers, (rows, hidden), dtype) for _ in range(4))
    slope_buffer = _empty(buffers, (rows, 4 * hidden), dtype)
    dh = dc = None
    dzs = [None] * length
    for t in _steps(length, not reverse):
        prev = t + 1 if reverse else t - 1
        c_prev = c0 if prev in (-1, length) else cs[prev]
        a = gates[t]
        da = _slot(dz_buffer, t)  # the four gates' cotangents are written into its columns
        cols = [None] * 4 if da is None else [da[:, k * hidden : (k + 1) * hidden] for k in range(4)]
        tc = xp.tanh(cs[t], out=tc_buffer)
        if gy is not None:
            dh = gy[t] if dh is None else xp.add(dh, gy[t], out=dh_buffer)
        if gc is not None:
            dc = gc[t] if dc is None else xp.add(dc, gc[t], out=dc_buffer)
        if dh is not None:  # h = o·tanh(c)
            d_out = xp.multiply(dh, tc, out=cols[3])
            dc_h = xp.multiply(xp.multiply(xp.subtract(1, xp.multiply(tc, tc, out=term), out=term), dh,
                                             out=term), a[:, 3 * hidden :], out=term)
            dc = dc_h if dc is None else xp.add(dc, dc_h, out=dc_buffer)
        else:  # nothing has reached this step's output yet
            d_out = cnp.zeros_like(c_prev)
            if cols[3] is not None:
                cols[3][...] = 0
        if dc is None:
            dc = cnp.zeros_like(c_prev)
        parts = [xp.multiply(dc, a[:, 2 * hidden : 3 * hidden], out=cols[0]), xp.multiply(dc, c_prev, out=cols[1]),
                 xp.multiply(dc, a[:, :hidden], out=cols[2]), d_out]
        da = cnp.concatenate(parts, axis=-1) if da is None else da
        if ga is not None:
            da = xp.add(da, ga[t], out=_slot(dz_buffer, t))
        # each gate's derivative from its value: linear + a·(quadratic − a)
        slope = xp.add(xp.multiply(xp.subtract(quadratic, a, out=slope_buffer), a, out=slope_buffer), linear,
                        out=slope_buffer)
        dz = xp.multiply(da, slope, out=_slot(dz_buffer, t))
        dzs[t] = dz
        dc = xp.multiply(dc, a[:, hidden : 2 * hidden], out=dc_buffer)
        dh = _matmul(dz, w_hh, dh_buffer)
    return _sequence(dz_buffer, dzs), dh, dc


def _rows(a):
    return cnp.reshape(a, (-1, a.shape[-1]))


def _weight_cotangent(dz, ys, h0, reverse):
    """Σ_t dz_tᵀ h_{t−1}: one product over the stacked steps, one for the initial state."""
    if reverse:
        inner, outer, first = dz[:-1], ys[1:], dz[-1]
    else:
        inner, outer, first = dz[1:], ys[:-1], dz[0]
    return cnp.matmul(cnp.transpose(_rows(inner)), _rows(outer)) + cnp.matmul(cnp.transpose(first), h0)


lstm_forward = Primitive(_forward, name="lstm_forward", multiple_outputs=True)
"""lstm_forward(xproj, w_hh, h0, c0, reverse=False) -> (outputs, cells, gates): an LSTM
layer's recurrence over a (T, N, 4H) sequence of input projections (biases included)."""
lstm_backward = Primitive(_backward, name="lstm_backward", multiple_outputs=True)
"""lstm_backward(gy, gc, ga, outputs, cells, gates, w_hh, h0, c0, reverse=False) -> (dz, dh0, dc0):
the cotangents of the gates' pre-activations at every step and of the initial states."""

# The pass through time gives the cotangents of all four arguments at once: one joint rule.
def _forward_vjp(g, ans, argnums, xproj, w_hh, h0, c0, reverse=False):
    dz, dh0, dc0 = lstm_backward(*g, *ans, w_hh, h0, c0, reverse=reverse)
    return dz, _weight_cotangent(dz, ans[0], h0, reverse) if 1 in argnums else None, dh0, dc0


def_joint_vjp(lstm_forward, _forward_vjp)


# -- rules that differentiate a body: forward mode, and lstm_backward's own derivatives -------
def _body_jvp(body, argnum: int):
    def rule(t, ans, *args, **kwargs):
        def along(v):
            return body(*args[:argnum], v, *args[argnum + 1:], **kwargs)

        return jvp(along, (args[argnum],), (t,))[1]

    return rule


def _body_vjp(body):
    """The joint vjp rule of ``body``'s primitive: ``body`` differentiated in reverse mode
    with respect to the arguments asked for."""
    def rule(g, ans, argnums, *args, **kwargs):
        def on_wanted(*values):
            full = list(args)
            for i, v in zip(argnums, values, strict=True):
                full[i] = v
            return body(*full, **kwargs)

        out = [None] * len(args)
        for i, ct in zip(argnums, pullback(on_wanted, [args[i] for i in argnums])[1](tuple(g)), strict=True):
            out[i] = ct
        return out

    return rule


def_jvps(lstm_forward, *(_body_jvp(_forward, i) for i in range(4)))
def_joint_vjp(lstm_backward, _body_vjp(_backward))
def_jvps(lstm_backward, *(_body_jvp(_backward, i) for i in range(9)))


# -- batching for vmap: the recurrence is independent per row of the batch N ------------------
# Arguments are sequences (T, N, ·), states (N, ·) or weights (and biases); with the weights
# shared by every example, vmap's batch merges into N; with a batch of weights, one call per
# example. (chainrule.nn._gru batches its pair with the same rule.)
_FORWARD_KINDS = ("seq", "weight", "state", "state")
_BACKWARD_KINDS = ("seq", "seq", "seq", "seq", "seq", "seq", "weight", "state", "state")


def _batch_rows(kinds, out_kinds):
    def rule(prim, batched, *args, **kwargs):
        size = next(a.shape[0] for a, b in zip(args, batched, strict=False) if b)
        if any(b for b, kind in zip(batched, kinds, strict=True) if kind == "weight"):
            outs = [prim(*(a[k] if b else a for a, b in zip(args, batched, strict=True)), **kwargs)
                    for k in range(size)]
            return tuple(cnp.stack(list(o)) for o in zip(*outs, strict=True))
        merged = []
        for a, b, kind in zip(args, batched, kinds, strict=True):
            if a is None or kind == "weight":
                merged.append(a)
                continue
            if kind == "seq":  # (B, T, N, ·) -> (T, B·N, ·)
                a = cnp.moveaxis(a, 0, 1) if b else cnp.broadcast_to(cnp.expand_dims(a, 1), (a.shape[0], size,
                                                                                            *a.shape[1:]))
                merged.append(cnp.reshape(a, (a.shape[0], -1, a.shape[-1])))
            else:  # (B, N, ·) -> (B·N, ·)
                a = a if b else cnp.broadcast_to(a, (size, *a.shape))
                merged.append(cnp.reshape(a, (-1, a.shape[-1])))
        outs = prim(*merged, **kwargs)
        split = []
        for o, kind in zip(outs, out_kinds, strict=True):
            if kind == "seq":
                o = cnp.moveaxis(cnp.reshape(o, (o.shape[0], size, -1, o.shape[-1])), 1, 0)
            else:
                o = cnp.reshape(o, (size, -1, o.shape[-1]))
            split.append(o)
        return tuple(split)

    return rule


def_batch(_batch_rows(_FORWARD_KINDS, ("seq", "seq", "seq")), lstm_forward)
def_batch(_batch_rows(_BACKWARD_KINDS, ("seq", "state", "state")), lstm_backward)


def lstm_sequence(xproj, w_hh, h0, c0, reverse: bool = False):
    """One LSTM layer in one direction: ``(outputs (T, N, H), h_T, c_T)`` from the input
    projections ``xproj`` (T, N, 4H) (both biases added), the hidden-to-hidden weights
    (4H, H) and the initial states (N, H). ``reverse`` runs from the last step to the
    first (the second direction of a bidirectional layer); its final states are then
    those after step 0.

    >>> import numpy as np
    >>> ys, h, c = lstm_sequence(np.zeros((5, 2, 12)), np.zeros((12, 3)), np.zeros((2, 3)), np.zeros((2, 3)))
    >>> ys.shape, h.shape, c.shape
    ((5, 2, 3), (2, 3), (2, 3))
    """
    ys, cs, _ = lstm_forward(xproj, w_hh, h0, c0, reverse=reverse)
    last = 0 if reverse else -1
    return ys, ys[last], cs[last]


# -- the LSTM cell: (gate pre-activations z, cell c) -> (h, c'), one node per time step --------
# z = [z_i, z_f, z_g, z_o] (PyTorch's gate order); i, f, o = σ(·), g = tanh(z_g);
# c' = f·c + i·g, h = o·tanh(c'). The rules recompute the gates from z (cheap next to the
# products around the cell) rather than keep four more arrays per step.
def _lstm_cell(z, c):
    zi, zf, zg, zo = np.split(z, 4, axis=-1)
    c_new = _sigmoid(zf) * c + _sigmoid(zi) * np.tanh(zg)
    return _sigmoid(zo) * np.tanh(c_new), c_new


def _lstm_gates(z):
    zi, zf, zg, zo = cnp.split(z, 4, axis=-1)
    return sigmoid(zi), sigmoid(zf), cnp.tanh(zg), sigmoid(zo)


def _lstm_cell_cotangent(g, ans, z):
    """The cotangent of c' (from both outputs) and the gates."""
    gh, gc = g
    i, f, cand, o = _lstm_gates(z)
    tc = cnp.tanh(ans[1])
    dc = 0.0 if gc is None else gc
    if gh is not None:
        dc = dc + gh * o * (1 - tc * tc)
    return dc, gh, tc, (i, f, cand, o)


def _lstm_vjp_z(g, ans, z, c):
    dc, gh, tc, (i, f, cand, o) = _lstm_cell_cotangent(g, ans, z)
    do = cnp.zeros_like(o) if gh is None else gh * tc * o * (1 - o)
    return cnp.concatenate([dc * cand * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - cand * cand), do], axis=-1)


def _lstm_vjp_c(g, ans, z, c):
    dc, _, _, (_, f, _, _) = _lstm_cell_cotangent(g, ans, z)
    return dc * f


def _lstm_jvp_z(t, ans, z, c):
    i, f, cand, o = _lstm_gates(z)
    ti, tf, tg, to = cnp.split(t, 4, axis=-1)
    dc = tf * f * (1 - f) * c + ti * i * (1 - i) * cand + i * (1 - cand * cand) * tg
    tc = cnp.tanh(ans[1])
    return to * o * (1 - o) * tc + o * (1 - tc * tc) * dc, dc


def _lstm_jvp_c(t, ans, z, c):
    _, f, _, o = _lstm_gates(z)
    tc = cnp.tanh(ans[1])
    dc = f * t
    return o * (1 - tc * tc) * dc, dc


lstm_cell = Primitive(_lstm_cell, name="lstm_cell", multiple_outputs=True)
"""lstm_cell(z, c) -> (h, c'): one LSTM step from the gates' pre-activations z (N, 4H)."""
def_vjps(lstm_cell, _lstm_vjp_z, _lstm_vjp_c)
def_jvps(lstm_cell, _lstm_jvp_z, _lstm_jvp_c)
def_batch(batching.elementwise, lstm_cell)  # gates split along the last axis: batch axes broadcast
# NumPy warns where the cell meets inf or NaN; PyTorch's layer gives them silently, as
# the eager layer does (see the other layers' in chainrule.nn._ops)
lstm_cell.eager_quiet = True
