"""Packed sequences: ``pack_padded_sequence``, ``pad_packed_sequence`` and
``pack_sequence`` against PyTorch's, and RNN/LSTM/GRU run on a PackedSequence against
PyTorch (float64, 1e-10: the padded output, each sequence's final states, the input and
initial-state gradients and every parameter gradient)."""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import rnn as ours_rnn

torch = pytest.importorskip("torch")
from torch.nn.utils import rnn as torch_rnn  # noqa: E402
from torch_parity import Call, compare, load_from_torch  # noqa: E402

pytestmark = pytest.mark.torch
LENGTHS = {"sorted": [5, 3, 3, 1], "unsorted_ties": [3, 5, 1, 3], "all_full": [5, 5, 5, 5]}
KINDS = {"RNN": ("RNN", {}), "LSTM": ("LSTM", {}), "GRU": ("GRU", {}), "LSTM_proj": ("LSTM", {"proj_size": 2})}


@pytest.mark.parametrize("kind, lengths, bidirectional, layers, with_state",
                         list(itertools.product(sorted(KINDS), sorted(LENGTHS), (False, True), (1, 2), (False, True))))
def test_recurrent_layers_on_packed_sequences_match_torch(kind, lengths, bidirectional, layers, with_state):
    rng = np.random.default_rng(len(kind) * 100 + layers * 10 + bidirectional)
    cls, kw = KINDS[kind]
    theirs = getattr(torch.nn, cls)(3, 4, num_layers=layers, bidirectional=bidirectional, **kw).double()
    ours = getattr(nn, cls)(3, 4, num_layers=layers, bidirectional=bidirectional, **kw, dtype=np.float64)
    load_from_torch(ours, theirs)
    lens = np.array(LENGTHS[lengths])
    sorted_ = lengths != "unsorted_ties"
    count, width = layers * (2 if bidirectional else 1), kw.get("proj_size") or 4
    states = [rng.standard_normal((count, 4, width))] + ([rng.standard_normal((count, 4, 4))] if cls == "LSTM" else [])

    def build(m, x, *s):
        lib = torch_rnn if isinstance(m, torch.nn.Module) else ours_rnn
        packed = lib.pack_padded_sequence(x, torch.tensor(lens) if lib is torch_rnn else lens,
                                          enforce_sorted=sorted_)
        out, h = m(packed, (tuple(s) if cls == "LSTM" else s[0]) if s else None)
        assert isinstance(out, lib.PackedSequence)
        return lib.pad_packed_sequence(out)[0], h

    compare(Call.wrap(nn.Module, ours, build), Call.wrap(torch.nn.Module, theirs, build),
            [rng.standard_normal((5, 4, 3)), *(states if with_state else [])], np.float64)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", sorted(LENGTHS))
def test_packing_functions_match_torch_and_differentiate(batch_first, lengths):
    rng = np.random.default_rng(1)
    lens, sorted_ = np.array(LENGTHS[lengths]), lengths != "unsorted_ties"
    x = rng.standard_normal((4, 5, 2) if batch_first else (5, 4, 2))
    mine = ours_rnn.pack_padded_sequence(x, lens, batch_first=batch_first, enforce_sorted=sorted_)
    theirs = torch_rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lens), batch_first=batch_first,
                                            enforce_sorted=sorted_)
    np.testing.assert_array_equal(mine.data, theirs.data.numpy())
    np.testing.assert_array_equal(mine.batch_sizes, theirs.batch_sizes.numpy())
    for a, b in ((mine.sorted_indices, theirs.sorted_indices), (mine.unsorted_indices, theirs.unsorted_indices)):
        assert (a is None and b is None) or np.array_equal(a, b.numpy())
    padded, got_lengths = ours_rnn.pad_packed_sequence(mine, batch_first=batch_first, padding_value=-1.0,
                                                       total_length=7)
    want, want_lengths = torch_rnn.pad_packed_sequence(theirs, batch_first=batch_first, padding_value=-1.0,
                                                       total_length=7)
    np.testing.assert_array_equal(padded, want.numpy())
    np.testing.assert_array_equal(got_lengths, want_lengths.numpy())
    w = rng.standard_normal(padded.shape)  # the gradient reaches exactly the steps inside each length

    def f(x):
        p = ours_rnn.pack_padded_sequence(x, lens, batch_first=batch_first, enforce_sorted=sorted_)
        return (ours_rnn.pad_packed_sequence(p, batch_first=batch_first, total_length=7)[0] * w).sum()

    inside = np.arange(5)[None, :] < lens[:, None]  # (B, T)
    expected = np.where((inside if batch_first else inside.T)[..., None], w[:, :5] if batch_first else w[:5], 0.0)
    np.testing.assert_array_equal(cr.grad(f)(x), expected)
    seqs = [x[i, :n] if batch_first else x[:n, i] for i, n in enumerate(lens)]
    np.testing.assert_array_equal(ours_rnn.pack_sequence(seqs, enforce_sorted=sorted_).data,
                                  torch_rnn.pack_sequence([torch.tensor(s) for s in seqs],
                                                          enforce_sorted=sorted_).data.numpy())


@pytest.mark.parametrize("bad, match", [
    (lambda: ours_rnn.pack_padded_sequence(np.zeros((3, 2)), [1, 2]), "enforce_sorted=False"),
    (lambda: ours_rnn.pack_padded_sequence(np.zeros((3, 2)), [4, 2]), "longer than"),
    (lambda: ours_rnn.pack_padded_sequence(np.zeros((3, 2)), [2, 0]), "positive"),
    (lambda: ours_rnn.pack_padded_sequence(np.zeros((3, 2)), [2]), "one per sequence"),
    (lambda: ours_rnn.pad_packed_sequence(np.zeros(3)), "PackedSequence"),
    (lambda: ours_rnn.pad_packed_sequence(ours_rnn.pack_sequence([np.ones(3)]), total_length=2), "total_length"),
])
def test_bad_arguments_say_what_is_wrong(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        bad()


def test_float_lengths_are_cast_to_integers_as_pytorch_casts_them():
    # subsampled lengths computed in floating point, (lengths - 1) / 2 + 1, passed as they are
    x = np.arange(12.0).reshape(3, 2, 2)
    got = ours_rnn.pack_padded_sequence(cr.tensor(x), cr.tensor([3.0, 1.5]))
    want = torch_rnn.pack_padded_sequence(torch.tensor(x), torch.tensor([3.0, 1.5]))
    np.testing.assert_array_equal(got.data.numpy(), want.data.numpy())
    np.testing.assert_array_equal(np.asarray(got.batch_sizes), want.batch_sizes.numpy())


def test_lengths_of_eager_tensors_are_a_tensor_as_pytorchs():
    """PyTorch programs go on with ``lengths.unsqueeze(1)`` or ``lengths.to(device)``."""
    x = np.arange(12.0).reshape(3, 2, 2)
    packed = ours_rnn.pack_padded_sequence(cr.tensor(x), [3, 1])
    _, lengths = ours_rnn.pad_packed_sequence(packed)
    want = torch_rnn.pad_packed_sequence(torch_rnn.pack_padded_sequence(torch.tensor(x), [3, 1]))[1]
    assert isinstance(lengths, cr.Tensor) and lengths.dtype == cr.int64
    np.testing.assert_array_equal(lengths.unsqueeze(1).to("cpu").numpy(), want.unsqueeze(1).numpy())


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_and_unpack_sequence_match_torch_and_differentiate(batch_first):
    rng = np.random.default_rng(5)
    seqs = [rng.standard_normal((n, 2)) for n in (2, 4, 1)]
    ours_in = [cr.tensor(s, requires_grad=True) for s in seqs]
    theirs_in = [torch.tensor(s, requires_grad=True) for s in seqs]
    padded = ours_rnn.pad_sequence(ours_in, batch_first=batch_first)
    t_padded = torch_rnn.pad_sequence(theirs_in, batch_first=batch_first)
    got = ours_rnn.unpad_sequence(padded, cr.tensor([2, 4, 1]), batch_first=batch_first)
    want = torch_rnn.unpad_sequence(t_padded, torch.tensor([2, 4, 1]), batch_first=batch_first)
    unpacked = ours_rnn.unpack_sequence(ours_rnn.pack_sequence(ours_in, enforce_sorted=False))
    t_unpacked = torch_rnn.unpack_sequence(torch_rnn.pack_sequence(theirs_in, enforce_sorted=False))
    weights = [rng.standard_normal(s.shape) for s in seqs]
    loss = sum(((a + b) * w).sum() for a, b, w in zip(got, unpacked, weights, strict=True))
    t_loss = sum(((a + b) * torch.tensor(w)).sum() for a, b, w in zip(want, t_unpacked, weights, strict=True))
    for a, b in zip(got + unpacked, want + t_unpacked, strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    loss.backward()
    t_loss.backward()
    for a, b in zip(ours_in, theirs_in, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="longer than"):
        ours_rnn.unpad_sequence(padded, [5, 1, 1], batch_first=batch_first)


def test_packed_sequence_converts_as_pytorchs():
    packed = ours_rnn.pack_sequence([np.ones((2, 3)), np.ones((1, 3))])
    assert packed.to(np.float32).data.dtype == np.float32 and packed.float().data.dtype == np.float32
    assert packed.to("cpu") is packed and packed.cpu() is packed and not packed.is_cuda and not packed.is_pinned()
    eager = ours_rnn.pack_sequence([cr.tensor(np.ones((2, 3)), requires_grad=True), cr.tensor(np.ones((1, 3)))])
    converted = eager.to(cr.float32)
    assert isinstance(converted.data, cr.Tensor) and converted.data.dtype == np.float32
    np.testing.assert_array_equal(converted.batch_sizes, eager.batch_sizes)
    with pytest.raises(RuntimeError, match="CPU only"):
        packed.to("cuda")


def test_packed_sequence_built_from_sorted_indices_alone_unsorts_as_pytorchs():
    # PackedSequence(data, batch_sizes, sorted_indices): PyTorch computes the inverse permutation
    seqs = [np.arange(1.0, 3.0), np.arange(3.0, 6.0), np.arange(6.0, 7.0)]
    ours = ours_rnn.pack_sequence(seqs, enforce_sorted=False)
    theirs = torch_rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    rebuilt = ours_rnn.PackedSequence(ours.data, ours.batch_sizes, ours.sorted_indices)
    t_rebuilt = torch_rnn.PackedSequence(theirs.data, theirs.batch_sizes, theirs.sorted_indices)
    np.testing.assert_array_equal(rebuilt.unsorted_indices, t_rebuilt.unsorted_indices.numpy())
    np.testing.assert_array_equal(ours_rnn.pad_packed_sequence(rebuilt)[0],
                                  torch_rnn.pad_packed_sequence(t_rebuilt)[0].numpy())
    gru = nn.GRU(1, 2, dtype=np.float64)
    np.testing.assert_array_equal(gru(ours_rnn.PackedSequence(ours.data[:, None], ours.batch_sizes,
                                                              ours.sorted_indices))[1].detach().numpy(),
                                  gru(ours_rnn.pack_sequence([s[:, None] for s in seqs], enforce_sorted=False))[1]
                                  .detach().numpy())


def test_batch_sizes_of_tensor_data_are_an_int64_tensor_as_torch():
    x = np.arange(12.0).reshape(3, 2, 2)
    mine = ours_rnn.pack_padded_sequence(cr.tensor(x), [3, 2])
    theirs = torch_rnn.pack_padded_sequence(torch.tensor(x), [3, 2])
    assert isinstance(mine.batch_sizes, cr.Tensor) and mine.batch_sizes.dtype == cr.int64
    assert mine.batch_sizes.tolist() == theirs.batch_sizes.tolist() and len(mine.batch_sizes) == 3
    np.testing.assert_array_equal(mine.batch_sizes.numpy(), theirs.batch_sizes.numpy())
    out, _ = ours_rnn.pad_packed_sequence(ours_rnn.PackedSequence(mine.data, mine.batch_sizes))
    np.testing.assert_array_equal(out.numpy(), torch_rnn.pad_packed_sequence(theirs)[0].numpy())


def test_indices_of_tensor_data_are_int64_tensors_as_torch():
    # programs unsort hidden states with h.index_select(1, packed.unsorted_indices.to(device))
    for lib in (torch, cr):
        packed = lib.nn.utils.rnn.pack_sequence([lib.ones(2, 3), lib.ones(3, 3)], enforce_sorted=False)
        for indices in (packed.sorted_indices, packed.unsorted_indices):
            assert isinstance(indices, lib.Tensor) and str(indices.to("cpu").dtype).endswith("int64")
        _, h = lib.nn.GRU(3, 4)(packed)
        assert h.index_select(1, packed.unsorted_indices).shape == (1, 2, 4)


def test_packed_sequence_casts_as_pytorchs():
    for lib in (torch, cr):
        packed = lib.nn.utils.rnn.pack_sequence([lib.tensor([1.5, 2.0]), lib.tensor([3.0])])
        for name, dtype in (("half", "float16"), ("long", "int64"), ("int", "int32"), ("short", "int16"),
                            ("char", "int8"), ("byte", "uint8")):
            cast = getattr(packed, name)()
            assert str(cast.data.dtype).endswith(dtype) and cast.batch_sizes.tolist() == [2, 1]
        assert packed.long().data.tolist() == [1, 3, 2]
