"""Recurrent layers: ``RNN`` (tanh or ReLU), ``LSTM`` and ``GRU``, with PyTorch's
constructor arguments, parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...),
shapes, gate order and initialisation, so weights move between the two libraries.

Each layer and direction projects the whole input sequence with one matrix product,
then runs the recurrence. An LSTM without ``proj_size`` or packed input runs it as the
fused pair of ``chainrule.nn._lstm`` (one primitive over the whole sequence, one for
the backward pass through time), a GRU without packed input as that of
``chainrule.nn._gru``, an RNN without packed input as that of ``chainrule.nn._rnn``.
Otherwise (packed input, ``proj_size``) it goes one time step at a time: per step one
product with the hidden-to-hidden weights and a few elementwise operations (for the
LSTM one fused cell primitive); the sequence is split into steps, and the outputs
stacked, by one operation each, so the backward pass does not copy the sequence once
per step.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import check_cpu
from chainrule.core.errors import TensorError
from chainrule.nn import _ops, init
from chainrule.nn import functional as F
from chainrule.nn._gru import gru_sequence
from chainrule.nn._lstm import lstm_cell, lstm_sequence
from chainrule.nn._rnn import rnn_sequence
from chainrule.nn.layers import _empty, param_dtype, reset_uniform
from chainrule.nn.module import Module
from chainrule.nn.utils.rnn import PackedSequence, pad_packed_sequence, repack_like

__all__ = ["RNNBase", "RNN", "LSTM", "GRU"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """The base of RNN, LSTM and GRU, under PyTorch's name (``isinstance(m, nn.RNNBase)``);
    ``RNNBase(mode, input_size, hidden_size, ...)`` with ``mode`` 'RNN_TANH', 'RNN_RELU', 'LSTM'
    or 'GRU', as PyTorch's."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None, rng=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        for name, size in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers),
                           ("proj_size", proj_size)):
            if isinstance(size, bool) or not isinstance(size, numbers.Integral):  # 4.5 would become 4
                raise TypeError(f"{type(self).__name__}: {name} must be an integer, got {size!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real):
            raise ValueError(f"{type(self).__name__}: dropout must be a probability between 0 and 1, "
                             f"got {dropout!r}")
        if mode not in _GATES:
            raise ValueError(f"RNNBase: mode must be one of {', '.join(map(repr, _GATES))}, not {mode!r}")
        if int(proj_size) and mode != "LSTM":
            raise ValueError(f"proj_size is supported by LSTM only, not by {type(self).__name__}")
        if int(proj_size) < 0 or (int(proj_size) and int(proj_size) >= int(hidden_size)):
            raise ValueError(f"LSTM: proj_size must be 0 (no projection) or between 1 and hidden_size − 1 "
                             f"= {int(hidden_size) - 1}, got {proj_size}")
        if int(hidden_size) < 1 or int(num_layers) < 1 or int(input_size) < 1:
            raise ValueError(f"{type(self).__name__}: input_size, hidden_size and num_layers must be positive, "
                             f"got {input_size}, {hidden_size}, {num_layers}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout probability must be between 0 and 1, got {dropout}")
        if dropout and int(num_layers) == 1:  # PyTorch's warning: there is no layer to drop out after
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers=1",
                          stacklevel=3)
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.proj_size = int(proj_size)
        self.rng = rng if rng is None else init.get_generator(rng)
        gates = _GATES[mode] * self.hidden_size
        dtype = param_dtype(dtype)
        for layer in range(self.num_layers):
            width = self.input_size if layer == 0 else self.output_width * self.num_directions
            for suffix in self._suffixes():
                names = [(f"weight_ih_l{layer}{suffix}", (gates, width)), (f"weight_hh_l{layer}{suffix}",
                                                                          (gates, self.output_width))]
                if bias:
                    names += [(f"bias_ih_l{layer}{suffix}", (gates,)), (f"bias_hh_l{layer}{suffix}", (gates,))]
                if self.proj_size:  # PyTorch's order: after the biases
                    names.append((f"weight_hr_l{layer}{suffix}", (self.proj_size, self.hidden_size)))
                for name, shape in names:
                    setattr(self, name, _empty(shape, dtype))
        init.reset_with(self, rng)

    def reset_parameters(self) -> None:
        """Every weight and bias afresh from U(±1/√hidden_size) (PyTorch's)."""
        reset_uniform(self)

    @property
    def output_width(self) -> int:
        """The width of h (and of each direction's output): ``proj_size`` if set, else ``hidden_size``."""
        return self.proj_size or self.hidden_size

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def _all_weights(self) -> list[list[str]]:
        """The names of each layer's and direction's parameters, in PyTorch's order
        (``weight_ih``, ``weight_hh``, the biases, ``weight_hr``), as PyTorch's
        ``_all_weights`` (through which programs set, say, the forget gate's bias)."""
        return [[f"{kind}_l{layer}{suffix}" for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
                 if getattr(self, f"{kind}_l{layer}{suffix}", None) is not None]
                for layer in range(self.num_layers) for suffix in self._suffixes()]

    @property
    def _flat_weights_names(self) -> list[str]:
        """The names of all the parameters, layer by layer, as PyTorch's ``_flat_weights_names``."""
        return [name for names in self._all_weights for name in names]

    @property
    def _flat_weights(self) -> list:
        """The parameters named by ``_flat_weights_names``, as PyTorch's ``_flat_weights``."""
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list]:
        """The parameters of each layer and direction, in PyTorch's order (``weight_ih``,
        ``weight_hh``, the biases, ``weight_hr``), as PyTorch's ``all_weights``."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch packs the weights into one buffer for cuDNN; on the CPU
        (chainrule's) it does nothing either. Kept so that PyTorch programs run."""

    def _suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def _weights(self, layer: int, suffix: str):
        get = lambda kind: getattr(self, f"{kind}_l{layer}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    # -- the forward pass ---------------------------------------------------------------------
    def forward(self, input, hx=None):
        """``input``: (T, N, input_size), or (N, T, input_size) with ``batch_first``, or
        (T, input_size) unbatched, or a :class:`~chainrule.nn.utils.rnn.PackedSequence`
        (then the output is one too, and the final states are each sequence's own).
        ``hx``: the initial state(s), (layers·directions, N, hidden) each (zeros if None).
        Returns the output sequence (T, N, directions·hidden) and the final state(s) in ``hx``'s layout."""
        is_lstm = self.mode == "LSTM"
        packed = input if isinstance(input, PackedSequence) else None
        lengths = None
        if packed is not None:  # run the padded batch, each sequence's state held after its end
            input, lengths = pad_packed_sequence(packed)
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            raise TensorError(f"{type(self).__name__}: expected an input of shape (T, N, {self.input_size}) "
                             f"(or (N, T, ...) with batch_first, or (T, {self.input_size})), "
                             f"got {tuple(input.shape)}")
        unbatched = input.ndim == 2
        x = cnp.reshape(input, (input.shape[0], 1, input.shape[1])) if unbatched else input
        if self.batch_first and not unbatched and packed is None:
            x = cnp.swapaxes(x, 0, 1)
        if x.shape[0] == 0:
            raise ValueError(f"{type(self).__name__}: the input sequence is empty (length 0); give at least one step")
        n = x.shape[1]
        states = self._initial_states(hx, n, unbatched, is_lstm, F._dtype(input))
        finals_h, finals_c = [], []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(self._suffixes()):
                k = layer * self.num_directions + d
                seq, h, c = self._run(x, self._weights(layer, suffix), [s[k] for s in states], d == 1, lengths)
                outs.append(seq)
                finals_h.append(h)
                finals_c.append(c)
            x = outs[0] if len(outs) == 1 else cnp.concatenate(outs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True, rng=self.rng)
        h_n = cnp.stack(finals_h, axis=0)
        c_n = cnp.stack(finals_c, axis=0) if is_lstm else None
        if packed is not None:
            x = repack_like(x, packed)
        elif self.batch_first and not unbatched:
            x = cnp.swapaxes(x, 0, 1)
        if unbatched:
            x = cnp.reshape(x, (x.shape[0], x.shape[2]))
            h_n = cnp.reshape(h_n, (h_n.shape[0], h_n.shape[2]))
            c_n = None if c_n is None else cnp.reshape(c_n, (c_n.shape[0], c_n.shape[2]))
        return (x, (h_n, c_n)) if is_lstm else (x, h_n)

    def _initial_states(self, hx, n: int, unbatched: bool, is_lstm: bool, dtype):
        """The initial state(s) as per-layer lists: [h] or [h, c], each entry (N, hidden)
        or None for zeros."""
        count = self.num_layers * self.num_directions
        if hx is None:
            return [[None] * count] * (2 if is_lstm else 1)
        parts = hx if is_lstm else (hx,)
        if is_lstm and (not isinstance(hx, tuple | list) or len(hx) != 2):
            raise ValueError("LSTM: hx must be a pair (h_0, c_0)")
        out = []
        for p, width in zip(parts, (self.output_width, self.hidden_size)[: len(parts)], strict=True):
            expected = (count, width) if unbatched else (count, n, width)
            if tuple(p.shape) != expected:
                raise TensorError(f"{type(self).__name__}: an initial state must have shape {expected}, "
                                 f"got {tuple(p.shape)}")
            if unbatched:
                p = cnp.reshape(p, (count, 1, width))
            out.append(list(cnp.unstack(p, axis=0)) if count > 1 else [cnp.reshape(p, p.shape[1:])])
        return out

    def _run(self, x, weights, state, reverse: bool, lengths=None):
        """One layer in one direction over the whole sequence: (outputs (T, N, H), h_T, c_T).
        With ``lengths`` (one per sequence) a sequence's state is kept unchanged at the
        steps past its end: its last state is then the one after its last step, and in
        the reverse direction it starts, from the initial state, at its own last step."""
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        h = state[0]
        c = state[1] if len(state) > 1 else None
        n, dtype = x.shape[1], np.result_type(F._dtype(x), w_hh.dtype)
        if h is None:
            h = np.zeros((n, self.output_width), dtype=dtype)
        if self.mode == "LSTM" and c is None:
            c = np.zeros((n, self.hidden_size), dtype=dtype)
        if self.mode == "LSTM" and w_hr is None and lengths is None and x.shape[0]:
            # the fused layer: both biases go into the input projection, added once
            xproj = F.linear(x, w_ih, None if b_ih is None else b_ih + b_hh)
            return lstm_sequence(xproj, w_hh, h, c, reverse=reverse)
        if self.mode == "GRU" and lengths is None and x.shape[0]:  # the fused GRU layer
            return (*gru_sequence(F.linear(x, w_ih, b_ih), w_hh, b_hh, h, reverse=reverse), None)
        if self.mode in ("RNN_TANH", "RNN_RELU") and lengths is None and x.shape[0]:  # the fused RNN layer
            return (*rnn_sequence(F.linear(x, w_ih, b_ih), w_hh, b_hh, h, relu=self.mode == "RNN_RELU",
                                  reverse=reverse), None)
        steps = cnp.unstack(F.linear(x, w_ih, b_ih), axis=0)  # the input projection, all steps at once
        outs = []
        order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
        for t in order:
            h_new, c_new = self._cell(steps[t], h, c, w_hh, b_hh)
            if w_hr is not None:  # LSTM with proj_size: h_t = W_hr (o ⊙ tanh c_t)
                h_new = F.linear(h_new, w_hr)
            if lengths is not None and not np.all(lengths > t):
                running = (lengths > t)[:, None]
                h_new = cnp.where(running, h_new, h)
                c_new = None if c is None else cnp.where(running, c_new, c)
            h, c = h_new, c_new
            outs.append(h)
        if reverse:
            outs.reverse()
        return cnp.stack(outs, axis=0), h, c

    def _cell(self, gx, h, c, w_hh, b_hh):
        gh = F.linear(h, w_hh, b_hh)
        if self.mode == "LSTM":
            return lstm_cell(gx + gh, c)
        if self.mode == "GRU":
            xr, xz, xn = cnp.split(gx, 3, axis=-1)
            hr, hz, hn = cnp.split(gh, 3, axis=-1)
            r = _ops.sigmoid(xr + hr)
            z = _ops.sigmoid(xz + hz)
            cand = cnp.tanh(xn + r * hn)
            return cand + z * (h - cand), None  # (1 − z)·n + z·h
        pre = gx + gh
        return (cnp.tanh(pre) if self.mode == "RNN_TANH" else _ops.relu(pre)), None

    def extra_repr(self) -> str:  # PyTorch's order
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman recurrent network: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh)
    (``nonlinearity='relu'`` for ReLU).

    >>> import numpy as np
    >>> out, h_n = RNN(4, 8, num_layers=2, rng=0)(np.zeros((5, 3, 4), dtype=np.float32))
    >>> out.shape, h_n.shape
    (torch.Size([5, 3, 8]), torch.Size([2, 3, 8]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, rng=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', not {nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, device=device, dtype=dtype, rng=rng)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), PyTorch's gate order
    (input, forget, cell, output). Returns ``output, (h_n, c_n)``. With ``proj_size=P``
    (0 < P < hidden_size) each h is projected to P features by ``weight_hr_l{k}``, as
    PyTorch does: the output and h_n have P features per direction, c_n hidden_size.

    >>> import numpy as np
    >>> lstm = LSTM(4, 8, batch_first=True, bidirectional=True, rng=0)
    >>> out, (h_n, c_n) = lstm(np.zeros((3, 5, 4), dtype=np.float32))
    >>> out.shape, h_n.shape, c_n.shape
    (torch.Size([3, 5, 16]), torch.Size([2, 3, 8]), torch.Size([2, 3, 8]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None, rng=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device=device, dtype=dtype, rng=rng)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al., 2014) as PyTorch computes it: the reset gate
    multiplies the hidden-to-hidden product of the candidate, bias included.

    >>> import numpy as np
    >>> out, h_n = GRU(4, 8, rng=0)(np.zeros((5, 4), dtype=np.float32))
    >>> out.shape, h_n.shape
    (torch.Size([5, 8]), torch.Size([1, 8]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, rng=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, rng=rng)
