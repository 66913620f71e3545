"""One time step of a recurrent layer: ``RNNCell``, ``LSTMCell`` and ``GRUCell``, with
PyTorch's constructor arguments, parameter names (``weight_ih``, ``weight_hh``,
``bias_ih``, ``bias_hh``), shapes, gate order and initialisation, for loops written by
hand (a decoder fed its own output, attention per step). Each step is a few
differentiable operations; the layers in :mod:`chainrule.nn.recurrent` run whole
sequences faster.
"""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.core.dtypes import check_cpu
from chainrule.core.errors import TensorError
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.layers import _empty, param_dtype, reset_uniform
from chainrule.nn.module import Module

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


class RNNCellBase(Module):
    """The base of RNNCell, LSTMCell and GRUCell, under PyTorch's name and with its arguments
    (``num_chunks``: the gates; each class's own by default)."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, num_chunks: int | None = None,
                 device=None, dtype=None, rng=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        if num_chunks is not None:
            self.gates = int(num_chunks)
        if int(input_size) < 1 or int(hidden_size) < 1:
            raise ValueError(f"{type(self).__name__}: input_size and hidden_size must be positive, "
                             f"got {input_size} and {hidden_size}")
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bool(bias)
        dtype = param_dtype(dtype)
        width = self.gates * self.hidden_size
        shapes = [("weight_ih", (width, self.input_size)), ("weight_hh", (width, self.hidden_size))]
        if self.bias:
            shapes += [("bias_ih", (width,)), ("bias_hh", (width,))]
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        for name, shape in shapes:
            setattr(self, name, _empty(shape, dtype))
        init.reset_with(self, rng)

    def reset_parameters(self) -> None:
        """Every weight and bias afresh from U(±1/√hidden_size) (PyTorch's)."""
        reset_uniform(self)

    def _batched(self, input, hx):
        """``input`` (N, input_size) or unbatched (input_size,) and the state(s) ``hx`` in
        the same form (zeros if None), as batches, and whether the input was unbatched."""
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise TensorError(f"{type(self).__name__}: expected an input of shape (N, {self.input_size}) or "
                             f"({self.input_size},), got {tuple(input.shape)}")
        unbatched = input.ndim == 1
        x = cnp.reshape(input, (1, self.input_size)) if unbatched else input
        n = x.shape[0]
        states = hx if isinstance(hx, tuple | list) else (hx,)
        out = []
        for h in states:
            if h is None:
                h = cnp.zeros((n, self.hidden_size), dtype=F._dtype(input))
            elif unbatched:
                if h.ndim != 1:  # (1, hidden) would come back batched: PyTorch refuses it too
                    raise TensorError(f"{type(self).__name__}: an unbatched input ({self.input_size},) needs an "
                                      f"unbatched state ({self.hidden_size},), got {tuple(h.shape)}")
                h = cnp.reshape(h, (1, self.hidden_size))
            if tuple(h.shape) != (n, self.hidden_size):
                raise TensorError(f"{type(self).__name__}: expected a state of shape {(n, self.hidden_size)}"
                                 f"{' (or unbatched)' if unbatched else ''}, got {tuple(h.shape)}")
            out.append(h)
        return x, out, unbatched

    def _projections(self, x, h):
        return F.linear(x, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh)

    def extra_repr(self) -> str:  # PyTorch's: the nonlinearity when not tanh
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False") + \
            ("" if nonlinearity == "tanh" else f", nonlinearity={nonlinearity}")


def _unbatch(t, unbatched: bool):
    return cnp.reshape(t, t.shape[1:]) if unbatched else t


class RNNCell(RNNCellBase):
    """h′ = tanh(W_ih x + b_ih + W_hh h + b_hh) (``nonlinearity='relu'``: relu).

    >>> import numpy as np
    >>> cell = RNNCell(3, 5, rng=0)
    >>> cell(np.ones((2, 3), dtype=np.float32)).shape
    torch.Size([2, 5])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None, rng=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', not {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, None, device, dtype, rng)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        """``input`` (N, input_size) or (input_size,); ``hx`` (N, hidden_size) or zeros."""
        x, (h,), unbatched = self._batched(input, hx)
        a, b = self._projections(x, h)
        out = cnp.tanh(a + b) if self.nonlinearity == "tanh" else F.relu(a + b)
        return _unbatch(out, unbatched)


class LSTMCell(RNNCellBase):
    """One LSTM step, gates (input, forget, cell, output) in PyTorch's order:
    c′ = σ(f) c + σ(i) tanh(g), h′ = σ(o) tanh(c′). Returns ``(h′, c′)``.

    >>> import numpy as np
    >>> h, c = LSTMCell(3, 4, rng=0)(np.ones((2, 3), dtype=np.float32))
    >>> h.shape, c.shape
    (torch.Size([2, 4]), torch.Size([2, 4]))
    """

    gates = 4

    def forward(self, input, hx=None):
        """``hx``: the pair ``(h, c)`` of (N, hidden_size) states, or None for zeros."""
        if hx is not None and (not isinstance(hx, tuple | list) or len(hx) != 2):
            raise ValueError("LSTMCell: hx must be a pair (h, c) of states, or None")
        x, (h, c), unbatched = self._batched(input, (None, None) if hx is None else tuple(hx))
        a, b = self._projections(x, h)
        i, f, g, o = cnp.split(a + b, 4, axis=1)
        c = F.sigmoid(f) * c + F.sigmoid(i) * cnp.tanh(g)
        h = F.sigmoid(o) * cnp.tanh(c)
        return _unbatch(h, unbatched), _unbatch(c, unbatched)


class GRUCell(RNNCellBase):
    """One GRU step, gates (reset, update, new) in PyTorch's order:
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h′ = (1 − z) n + z h.

    >>> import numpy as np
    >>> GRUCell(3, 4, rng=0)(np.ones(3, dtype=np.float32)).shape
    torch.Size([4])
    """

    gates = 3

    def forward(self, input, hx=None):
        """``input`` (N, input_size) or (input_size,); ``hx`` (N, hidden_size) or zeros."""
        x, (h,), unbatched = self._batched(input, hx)
        a, b = self._projections(x, h)
        ar, az, an = cnp.split(a, 3, axis=1)
        br, bz, bn = cnp.split(b, 3, axis=1)
        r = F.sigmoid(ar + br)
        z = F.sigmoid(az + bz)
        n = cnp.tanh(an + r * bn)
        return _unbatch((1 - z) * n + z * h, unbatched)
