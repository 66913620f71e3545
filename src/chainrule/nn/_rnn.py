"""A fused Elman RNN layer (tanh or ReLU), as the LSTM's and GRU's: one primitive runs the
recurrence h' = act(x_t + W_hh·h + b_hh) over the whole sequence, another the backward
pass through time, which gives the pre-activations' cotangents of every step in one
(T, N, H) array; W_hh's gradient is then one product, b_hh's one sum. The activation's
derivative is read from its output: 1 − h'² for tanh, [h' > 0] for ReLU (0 at 0, as in
PyTorch). The bodies are written once with ``chainrule.numpy`` and run on plain arrays
into arrays of their own (see ``chainrule.nn._lstm``).
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import Primitive, def_batch, def_joint_vjp, def_jvps
from chainrule.core.tensor import undifferentiated
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
from chainrule.numpy.activations import relu as relu_p

__all__ = ["rnn_forward", "rnn_backward", "rnn_sequence"]


def _forward(xproj, w_hh, b_hh, h0, relu=False, reverse=False):
    length, rows, hidden = xproj.shape[0], h0.shape[0], w_hh.shape[1]
    w_t = cnp.ascontiguousarray(cnp.transpose(w_hh))  # (H, H) in row-major order, for BLAS
    buffers = _buffers(xproj, w_hh, b_hh, h0)
    xp = np if buffers else cnp
    ys_buffer = _empty(buffers, (length, rows, hidden), _dtype(xproj))
    h = h0
    ys = [None] * length
    for t in _steps(length, reverse):
        y_out = _slot(ys_buffer, t)
        z = xp.add(_matmul(h, w_t, y_out), xproj[t], out=y_out)
        if b_hh is not None:
            z = xp.add(z, b_hh, out=y_out)
        if relu:  # traced: the mirror's relu, whose derivative at 0 is 0 (maximum's is ½)
            h = np.maximum(z, 0, out=y_out) if buffers else relu_p(z)
        else:
            h = xp.tanh(z, out=y_out)
        ys[t] = h
    return _sequence(ys_buffer, ys)


def _backward(gy, ys, w_hh, h0, relu=False, reverse=False):
    length, rows, hidden = ys.shape
    buffers = _buffers(gy, ys, w_hh, h0)
    xp = np if buffers else cnp
    dz_buffer = _empty(buffers, ys.shape, _dtype(ys))
    dh_buffer = _empty(buffers, (rows, hidden), _dtype(ys))
    dh = None
    dzs = [None] * length
    for t in _steps(length, not reverse):
        dz_out = _slot(dz_buffer, t)
        dh = gy[t] if dh is None else xp.add(dh, gy[t], out=dh_buffer)
        y = ys[t]
        if relu:  # the mask is a constant of the data
            dz = xp.multiply(dh, undifferentiated(y) > 0, out=dz_out)
        else:
            dz = xp.multiply(dh, xp.subtract(1, xp.multiply(y, y, out=dz_out), out=dz_out), out=dz_out)
        dzs[t] = dz
        dh = _matmul(dz, w_hh, dh_buffer)
    return _sequence(dz_buffer, dzs), dh


rnn_forward = Primitive(_forward, name="rnn_forward")
"""rnn_forward(xproj, w_hh, b_hh, h0, relu=False, reverse=False) -> outputs: an Elman RNN
layer's recurrence over a (T, N, H) sequence of input projections (b_ih added; b_hh may be None)."""
rnn_backward = Primitive(_backward, name="rnn_backward", multiple_outputs=True)
"""rnn_backward(gy, outputs, w_hh, h0, relu=False, reverse=False) -> (dz, dh0): the cotangents
of the pre-activations at every step and of the initial state."""


def _forward_vjp(g, ans, argnums, xproj, w_hh, b_hh, h0, relu=False, reverse=False):
    dz, dh0 = rnn_backward(g, ans, w_hh, h0, relu=relu, reverse=reverse)
    dw = _weight_cotangent(dz, ans, h0, reverse) if 1 in argnums else None
    db = cnp.sum(cnp.reshape(dz, (-1, dz.shape[-1])), axis=0) if 2 in argnums else None
    return dz, dw, db, dh0


def_joint_vjp(rnn_forward, _forward_vjp)
def_jvps(rnn_forward, *(_body_jvp(_forward, i) for i in range(4)))
def_joint_vjp(rnn_backward, _body_vjp(_backward))
def_jvps(rnn_backward, *(_body_jvp(_backward, i) for i in range(4)))
_batch_forward = _batch_rows(("seq", "weight", "weight", "state"), ("seq",))
def_batch(lambda prim, batched, *args, **kwargs: _batch_forward(lambda *a, **k: (prim(*a, **k),), batched,
                                                                *args, **kwargs)[0], rnn_forward)
def_batch(_batch_rows(("seq", "seq", "weight", "state"), ("seq", "state")), rnn_backward)


def rnn_sequence(xproj, w_hh, b_hh, h0, relu: bool = False, reverse: bool = False):
    """One Elman RNN layer in one direction: ``(outputs (T, N, H), h_T)`` from the input
    projections ``xproj`` (T, N, H) (``b_ih`` added), the hidden-to-hidden weights (H, H),
    their bias (H,) or None, and the initial state (N, H); ReLU instead of tanh with
    ``relu``; ``reverse`` runs from the last step to the first.

    >>> import numpy as np
    >>> ys, h = rnn_sequence(np.zeros((5, 2, 3)), np.eye(3), None, np.ones((2, 3)))
    >>> ys.shape, h.shape
    ((5, 2, 3), (2, 3))
    """
    ys = rnn_forward(xproj, w_hh, b_hh, h0, relu=relu, reverse=reverse)
    return ys, ys[0 if reverse else -1]
