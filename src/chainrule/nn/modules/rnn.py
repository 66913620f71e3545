"""PyTorch's ``torch.nn.modules.rnn``, for code that imports from it
(``from torch.nn.modules.rnn import RNNCellBase``): the recurrent layers and cells."""

from __future__ import annotations

from chainrule.nn.cells import GRUCell, LSTMCell, RNNCell, RNNCellBase
from chainrule.nn.recurrent import GRU, LSTM, RNN, RNNBase
from chainrule.nn.utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "PackedSequence"]
