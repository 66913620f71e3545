"""RNN, LSTM and GRU against PyTorch over the product of their options: layers 1–3,
bidirectional, batch_first, initial states given or not, batched or unbatched (2-d)
input, with the weights loaded from torch's state dict by name. Float64, to 1e-10:
the output sequence, the final states, the input and initial-state gradients and every
parameter gradient."""

import itertools

import numpy as np
import pytest

from chainrule import nn

torch = pytest.importorskip("torch")
from torch_parity import Call, compare, load_from_torch  # noqa: E402

pytestmark = pytest.mark.torch
KINDS = {"RNN": ("RNN", {}), "RNN_relu": ("RNN", {"nonlinearity": "relu"}), "LSTM": ("LSTM", {}),
         "GRU": ("GRU", {}), "LSTM_proj": ("LSTM", {"proj_size": 2})}
T_, N_, I_, H_ = 4, 2, 3, 4
CASES = list(itertools.product(sorted(KINDS), (1, 2, 3), (False, True), (False, True), (False, True),
                               (False, True)))


def _pair(kind, **options):
    cls, kw = KINDS[kind]
    theirs = getattr(torch.nn, cls)(I_, H_, **kw, **options).double()
    ours = getattr(nn, cls)(I_, H_, **kw, **options, dtype=np.float64)
    load_from_torch(ours, theirs)
    return ours, theirs


def _states(kind, layers, bidirectional, unbatched, rng):
    count = layers * (2 if bidirectional else 1)
    lead = (count,) if unbatched else (count, N_)
    h_width = KINDS[kind][1].get("proj_size") or H_
    if KINDS[kind][0] == "LSTM":
        return [rng.standard_normal((*lead, h_width)), rng.standard_normal((*lead, H_))]
    return [rng.standard_normal((*lead, H_))]


def _run(ours, theirs, kind, x, states, train):
    lstm = KINDS[kind][0] == "LSTM"

    def build(m, x, *s):
        if not s:
            return m(x)
        return m(x, tuple(s)) if lstm else m(x, s[0])

    ours_w, theirs_w = Call.wrap(nn.Module, ours, build), Call.wrap(torch.nn.Module, theirs, build)
    ours_w.train(train), theirs_w.train(train)
    compare(ours_w, theirs_w, [x, *states], np.float64)


@pytest.mark.parametrize("kind, layers, bidirectional, batch_first, with_state, unbatched", CASES)
def test_recurrent_layers_match_torch(kind, layers, bidirectional, batch_first, with_state, unbatched):
    rng = np.random.default_rng(abs(hash((kind, layers, bidirectional, batch_first, with_state, unbatched))) % 2**32)
    ours, theirs = _pair(kind, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    shape = (T_, I_) if unbatched else (N_, T_, I_) if batch_first else (T_, N_, I_)
    x = rng.standard_normal(shape)
    states = _states(kind, layers, bidirectional, unbatched, rng) if with_state else []
    _run(ours, theirs, kind, x, states, train=True)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("dropout, train", [(0.0, True), (0.0, False), (0.5, False)])
def test_dropout_zero_in_training_or_any_in_eval_matches_torch(kind, dropout, train):
    rng = np.random.default_rng(3)
    ours, theirs = _pair(kind, num_layers=2, dropout=dropout, bias=False)
    _run(ours, theirs, kind, rng.standard_normal((T_, N_, I_)), [], train)
