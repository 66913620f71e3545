"""Odd use of the sequence layers and of anomaly detection, against PyTorch: shapes that do
not fit and arguments out of range raise an error that says what is wrong wherever PyTorch
raises one (never a silent truncation or another row); ``detect_anomaly(check_nan=...)``
behaves as PyTorch's."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.numpy as cnp
from chainrule import nn
from chainrule.nn.utils import rnn as ours_rnn

torch = pytest.importorskip("torch")
from torch.nn.utils import rnn as torch_rnn  # noqa: E402

pytestmark = pytest.mark.torch
rng = np.random.default_rng(3)
L, S, N, E = 3, 4, 2, 4


def _both_raise(ours, theirs, error, match):
    """PyTorch raises on this input; so do we, with ``error`` whose message matches ``match``."""
    with pytest.raises(Exception):  # noqa: B017 -- PyTorch's errors are of several types
        theirs(torch)
    with pytest.raises(error, match=match):
        ours()


def _x(*shape):
    return rng.standard_normal(shape)


MHA_SHAPES = {  # (query, key, value) of a (L, N, E) layer; what our error names
    "key_unbatched": (((L, N, E), (S, E), (S, E)), "all be batched .3 axes. or all unbatched"),
    "value_longer": (((L, N, E), (S, N, E), (S + 1, N, E)), "key and value must have the same length"),
    "other_batch": (((L, N, E), (S, N + 1, E), (S, N + 1, E)), r"same batch size \(axis 1\)"),
}


@pytest.mark.parametrize("case", sorted(MHA_SHAPES))
def test_multihead_attention_says_which_shapes_do_not_fit(case):
    shapes, match = MHA_SHAPES[case]
    args = [_x(*s) for s in shapes]
    ours, theirs = nn.MultiheadAttention(E, 2, dtype=np.float64), torch.nn.MultiheadAttention(E, 2).double()
    _both_raise(lambda: ours(*args), lambda t: theirs(*map(t.tensor, args)), ValueError, match)
    w, b = np.eye(3 * E, E), np.zeros(3 * E)  # the functional form, packed weights
    _both_raise(lambda: F.multi_head_attention_forward(*args, E, 2, w, b, None, None, False, 0.0, np.eye(E), None),
                lambda t: t.nn.functional.multi_head_attention_forward(
                    *map(t.tensor, args), E, 2, t.tensor(w), t.tensor(b), None, None, False, 0.0,
                    t.tensor(np.eye(E)), None), ValueError, match)


def test_sdpa_batch_axes_that_do_not_broadcast_say_so():
    q, k, v = _x(2, 3, L, E), _x(2, 2, S, E), _x(2, 2, S, E)  # 3 query heads, 2 key heads
    _both_raise(lambda: F.scaled_dot_product_attention(q, k, v),
                lambda t: t.nn.functional.scaled_dot_product_attention(*map(t.tensor, (q, k, v))),
                ValueError, "batch axes .* do not broadcast together; for fewer key/value heads pass enable_gqa")


@pytest.mark.parametrize("padding_idx", [6, -7])
def test_embedding_padding_index_out_of_range_is_refused_not_wrapped(padding_idx):
    idx, w = np.array([0, 1, 5]), _x(6, 3)
    _both_raise(lambda: F.embedding(idx, w, padding_idx=padding_idx),
                lambda t: t.nn.functional.embedding(t.tensor(idx), t.tensor(w), padding_idx=padding_idx),
                ValueError, rf"padding_idx {padding_idx} is out of range for 6 embeddings")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bad, error, match", [
    ({"hidden_size": 4.5}, TypeError, "hidden_size must be an integer, got 4.5"),
    ({"num_layers": 2, "dropout": True}, ValueError, "dropout must be a probability"),
])
def test_recurrent_layer_arguments_of_the_wrong_type_are_refused(kind, bad, error, match):
    kwargs = {"input_size": 3, "hidden_size": 4, **bad}
    _both_raise(lambda: getattr(nn, kind)(**kwargs), lambda t: getattr(t.nn, kind)(**kwargs), error, match)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_with_unbatched_input_and_batched_state_is_refused(kind):
    x, h = _x(3), _x(1, 4)
    state = (lambda a: (a, a)) if kind == "LSTMCell" else (lambda a: a)
    _both_raise(lambda: getattr(nn, kind)(3, 4)(x, state(h)),
                lambda t: getattr(t.nn, kind)(3, 4).double()(t.tensor(x), state(t.tensor(h))),
                ValueError, r"unbatched state \(4,\), got \(1, 4\)")


def test_square_subsequent_mask_of_negative_size_is_refused():
    _both_raise(lambda: nn.Transformer.generate_square_subsequent_mask(-1),
                lambda t: t.nn.Transformer.generate_square_subsequent_mask(-1), ValueError, "at least 0, got -1")


@pytest.mark.parametrize("shape, lengths, match", [((3, 0, 2), [], "empty batch"), ((3,), [3], "padded batch")])
def test_pack_padded_sequence_of_no_batch_says_so(shape, lengths, match):
    x = np.zeros(shape)
    _both_raise(lambda: ours_rnn.pack_padded_sequence(x, np.array(lengths, np.int64)),
                lambda t: torch_rnn.pack_padded_sequence(t.tensor(x), t.tensor(lengths, dtype=t.int64)),
                ValueError, match)


def _sqrt_of_negative(lib):
    """The gradient of sqrt at −1 (NaN) under the library's anomaly detection, or the error."""
    if lib == "torch":
        x = torch.tensor([-1.0, 4.0], dtype=torch.float64, requires_grad=True)
        torch.sqrt(x).sum().backward()
    else:
        x = cr.tensor([-1.0, 4.0], requires_grad=True)
        cnp.sqrt(x).sum().backward()
    return x.grad.detach().numpy()


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("check_nan", [True, False])
@pytest.mark.parametrize("form", ["with", "decorator", "set_detect_anomaly"])
def test_detect_anomaly_check_nan_as_pytorch(check_nan, form):
    def under(lib):
        mod = torch.autograd if lib == "torch" else cr.autograd
        flag = (torch if lib == "torch" else cr).is_anomaly_check_nan_enabled
        if form == "decorator" and lib == "chainrule":  # PyTorch's is a context manager only
            return mod.detect_anomaly(check_nan=check_nan)(lambda: (_sqrt_of_negative(lib), flag()))()
        if form in ("with", "decorator"):
            with mod.detect_anomaly(check_nan=check_nan):
                return _sqrt_of_negative(lib), flag()
        with mod.set_detect_anomaly(True, check_nan=check_nan):
            return _sqrt_of_negative(lib), flag()

    if check_nan:
        with pytest.raises(RuntimeError, match="nan"):
            under("torch")
        with pytest.raises(FloatingPointError, match="sqrt"):
            under("chainrule")
    else:
        (ours, ours_flag), (theirs, theirs_flag) = under("chainrule"), under("torch")
        np.testing.assert_array_equal(ours, theirs)  # NaN where torch has NaN, 1/4 elsewhere
        assert ours_flag == theirs_flag
    assert not cr.is_anomaly_enabled() and cr.is_anomaly_check_nan_enabled() == torch.is_anomaly_check_nan_enabled()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_nested_detect_anomaly_scopes_restore_check_nan_as_pytorch():
    seen = []
    for lib, mod in (("torch", torch.autograd), ("chainrule", cr.autograd)):
        top = torch if lib == "torch" else cr
        with mod.detect_anomaly(check_nan=False):
            flags = [top.is_anomaly_check_nan_enabled()]
            with mod.detect_anomaly(check_nan=True):
                flags.append(top.is_anomaly_check_nan_enabled())
            flags.append(top.is_anomaly_check_nan_enabled())
            with mod.set_detect_anomaly(False):
                flags.append(top.is_anomaly_enabled())
            flags += [top.is_anomaly_enabled(), top.is_anomaly_check_nan_enabled()]
        seen.append(flags)
    assert seen[0] == seen[1]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("write", ["zero_", "fill_", "copy_"])
def test_tensor_on_a_graph_written_with_a_constant_stays_on_it_as_in_pytorch(write):
    """``y.zero_()`` of a ``y`` that requires grad writes NaN and inf away and keeps ``y``
    on the graph with derivative 0, so a loss of ``y`` alone still backpropagates."""
    x0 = np.array([1.0, np.nan, -np.inf])
    results = []
    for lib in (torch, cr):
        x = lib.tensor(x0, requires_grad=True)
        y = x * 2
        args = {"zero_": (), "fill_": (3.0,), "copy_": (lib.tensor(np.full(3, 4.0)),)}[write]
        getattr(y, write)(*args)
        flag = y.requires_grad
        y.sum().backward(retain_graph=True)
        alone = x.grad.detach().numpy().copy()
        x.grad = None
        (y * x).sum().backward()  # 0·NaN from the zeroed path, as PyTorch gives
        results.append((flag, y.detach().numpy(), alone, x.grad.detach().numpy()))
    theirs, ours = results
    assert ours[0] is theirs[0] is True
    for a, b in zip(ours[1:], theirs[1:], strict=True):
        np.testing.assert_array_equal(a, b)
