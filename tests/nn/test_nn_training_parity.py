"""A whole training run against PyTorch: the same small Transformer, the same initial
weights read from a safetensors file that PyTorch wrote, the same batches, 50 Adam
steps in float64: the loss curves agree to 1e-6 (relative)."""

import numpy as np
import pytest

import chainrule.nn.functional as F
from chainrule import io, nn, optim

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")
pytestmark = pytest.mark.torch

VOCAB, D, HEADS, FF, SEQ, BATCH, STEPS = 11, 16, 2, 24, 10, 6, 50


class Ours(nn.Module):
    def __init__(self, norm_first):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D)
        layer = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(D))
        self.head = nn.Linear(D, VOCAB)

    def forward(self, idx, mask):
        return self.head(self.encoder(self.embed(idx), mask=mask))


class Theirs(torch.nn.Module):
    def __init__(self, norm_first):
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, D)
        layer = torch.nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, activation="gelu", batch_first=True,
                                                 norm_first=norm_first)
        self.encoder = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(D), enable_nested_tensor=False)
        self.head = torch.nn.Linear(D, VOCAB)

    def forward(self, idx, mask):
        return self.head(self.encoder(self.embed(idx), mask=mask))


@pytest.fixture
def one_torch_thread():
    # PyTorch's intra-op threads only spin and wait on a model this small (on a busy
    # machine, 5x slower)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("norm_first", [False, True])
def test_fifty_adam_steps_follow_pytorch(tmp_path, norm_first, one_torch_thread):
    torch.manual_seed(0)
    theirs = Theirs(norm_first).double()
    path = tmp_path / "init.safetensors"
    safetensors_torch.save_file({k: v.contiguous() for k, v in theirs.state_dict().items()}, str(path))
    ours = Ours(norm_first).double()
    ours.load_state_dict(io.load(path))
    mask = np.triu(np.full((SEQ, SEQ), -np.inf), 1)  # causal: predict the next token
    tmask = torch.tensor(mask)
    opt = optim.Adam(ours.parameters(), lr=3e-3, weight_decay=1e-4)
    topt = torch.optim.Adam(theirs.parameters(), lr=3e-3, weight_decay=1e-4)
    rng = np.random.default_rng(0)
    curve, tcurve = [], []
    for _ in range(STEPS):
        # learnable: each sequence counts up (mod VOCAB) from a random start, by 1 or 2
        seq = (rng.integers(0, VOCAB, (BATCH, 1)) + rng.integers(1, 3, (BATCH, 1)) * np.arange(SEQ + 1)) % VOCAB
        x, y = seq[:, :-1], seq[:, 1:]
        opt.zero_grad()
        loss = F.cross_entropy(ours(x, mask).reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(theirs(torch.tensor(x), tmask).reshape(-1, VOCAB),
                                                  torch.tensor(y).reshape(-1))
        tloss.backward()
        topt.step()
        curve.append(loss.item())
        tcurve.append(tloss.item())
    np.testing.assert_allclose(curve, tcurve, rtol=1e-6, atol=0)
    assert curve[-1] < curve[0] - 0.1  # it trained
    # the weights too (the key bias has a zero gradient in exact arithmetic: rounding noise)
    for name, p in ours.state_dict().items():
        np.testing.assert_allclose(p.numpy(), theirs.state_dict()[name].numpy(), rtol=1e-5, atol=1e-5,
                                   err_msg=name)
