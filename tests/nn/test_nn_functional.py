"""nn.functional: closed-form values, dtypes kept, and the error messages of misuse."""

import math
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F


def test_cross_entropy_closed_form_and_float32_kept():
    logits = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    y = np.array([0, 2])
    expected = np.mean([math.log(1 + math.exp(-1.5) + math.exp(-3.0)), math.log(3.0)])
    loss = F.cross_entropy(logits, y)
    assert loss.dtype == np.float32
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    x = cr.tensor(logits, requires_grad=True)
    F.cross_entropy(x, y).backward()
    softmax = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), (softmax - np.eye(3)[y]) / 2, rtol=1e-5, atol=1e-7)


def test_a_float64_target_does_not_promote_float32_losses():
    x = np.ones((2, 3), dtype=np.float32)
    assert F.mse_loss(x, np.zeros((2, 3))).dtype == np.float32
    assert F.cross_entropy(x, np.full((2, 3), 1 / 3)).dtype == np.float32
    assert F.binary_cross_entropy_with_logits(x, np.zeros((2, 3))).dtype == np.float32


def test_cross_entropy_errors_name_the_problem():
    logits = np.zeros((4, 3))
    with pytest.raises(ValueError, match="target class 3 is out of range for 3 classes"):
        F.cross_entropy(logits, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="input batch_size \\(4\\) to match target batch_size \\(2\\)"):
        F.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match="probability target must have the input's shape"):
        F.cross_entropy(logits, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="reduction must be"):
        F.cross_entropy(logits, np.zeros(4, dtype=int), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(logits, np.zeros(4, dtype=int), label_smoothing=1.5)
    with pytest.raises(TypeError, match="class indices"):
        F.nll_loss(logits, np.zeros(4))


def test_layer_shape_errors():
    with pytest.raises(ValueError, match="input has 3 features but the weight expects 4"):
        F.linear(np.zeros((2, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="input has 2 channels but the weight expects 3"):
        F.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((4, 3, 3, 3)))
    with pytest.raises(ValueError, match="too small for this kernel"):
        F.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="at most half the kernel"):
        F.max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2)
    with pytest.raises(ValueError, match="more than one value per channel"):
        F.batch_norm(np.zeros((1, 3)), np.zeros(3), np.ones(3), training=True)
    with pytest.raises(ValueError, match="trailing shape"):
        F.layer_norm(np.zeros((2, 3)), 4)
    with pytest.raises(IndexError, match="must lie in"):
        F.embedding(np.array([5]), np.zeros((3, 2)))
    with pytest.raises(IndexError, match="must lie in"):
        F.embedding(np.array([-1]), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="dropout probability"):
        F.dropout(np.zeros(3), 1.5)


def test_binary_cross_entropy_at_certain_probabilities_is_finite():
    p = cr.tensor(np.array([0.0, 1.0, 1.0, 0.0]), requires_grad=True)
    loss = F.binary_cross_entropy(p, np.array([0.0, 1.0, 0.0, 1.0]), reduction="none")
    assert loss.tolist() == pytest.approx([0.0, 0.0, 100.0, 100.0])
    loss.sum().backward()
    assert np.all(np.isfinite(p.grad.numpy()))


def test_conv2d_is_cross_correlation_on_a_known_example():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    out = F.conv2d(x, w)
    assert out.shape == (1, 1, 3, 3)
    assert np.all(out == -5.0)  # x[i, j] - x[i+1, j+1] = -5 everywhere


def test_max_pool_gradient_goes_to_the_first_maximum_of_a_tie():
    x = cr.tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.numpy().ravel().tolist() == [1.0, 0.0, 0.0, 0.0]


def test_relu_derivative_at_zero_is_zero():
    x = cr.tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    F.relu(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax", "Softmin"])
def test_softmax_family_without_dim_chooses_as_pytorch(name, ndim):
    # PyTorch's implicit axis (deprecated there, with a warning): the first of a 0-, 1- or
    # 3-d input, else the second; the module, the function and dtype= against torch itself
    torch = pytest.importorskip("torch")
    from chainrule import nn

    x = np.random.default_rng(ndim).normal(size=(3, 4, 2, 5)[:ndim])
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        got = getattr(nn, name)()(cr.tensor(x, requires_grad=True))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        want = getattr(torch.nn, name)()(torch.tensor(x))
    np.testing.assert_allclose(got.detach().numpy(), want.numpy(), rtol=1e-13, atol=1e-15)
    fn = {"Softmax": "softmax", "LogSoftmax": "log_softmax", "Softmin": "softmin"}[name]
    got32 = getattr(F, fn)(x, dim=-1, dtype=np.float32)
    want32 = getattr(torch.nn.functional, fn)(torch.tensor(x), dim=-1, dtype=torch.float32)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want32.numpy(), rtol=1e-6)


@pytest.mark.parametrize("spelling", ["F.softmax", "F.log_softmax", "torch.softmax", "Tensor.log_softmax"])
def test_softmax_over_an_empty_axis_is_empty_as_pytorch(spelling):
    def run(lib):
        x = lib.zeros(3, 0, dtype=lib.float64, requires_grad=True)
        fn = {"F.softmax": lambda: lib.nn.functional.softmax(x, 1),
              "F.log_softmax": lambda: lib.nn.functional.log_softmax(x, 1),
              "torch.softmax": lambda: lib.softmax(x, 1), "Tensor.log_softmax": lambda: x.log_softmax(1)}[spelling]
        out = fn()
        out.sum().backward()
        return tuple(out.shape), tuple(x.grad.shape)

    assert run(cr) == run(torch) == ((3, 0), (3, 0))


@pytest.mark.parametrize("clamp", [lambda L, t: t.clamp(0, 1), lambda L, t: t.clamp_min(0),
                                   lambda L, t: L.clamp(t, max=1.0, min=L.tensor(0.0, dtype=t.dtype))])
def test_clamp_selects_its_derivative_as_pytorch(clamp):
    # sqrt of a clamped 0 sends back an infinite cotangent: where the value was clamped it
    # does not pass (0, as PyTorch's), rather than inf * 0 = nan
    def run(lib):
        t = lib.tensor(np.array([-1.0, 0.5, 2.0, 0.0]), requires_grad=True)
        with np.errstate(divide="ignore"):
            lib.sqrt(clamp(lib, t)).sum().backward()
        return t.grad.numpy()

    np.testing.assert_allclose(run(cr), run(torch), rtol=1e-15, atol=0)


def test_softmax_rows_sum_to_one_and_one_hot():
    p = F.softmax(np.array([[1e3, 0.0, -1e3], [1.0, 2.0, 3.0]]), dim=1)
    assert np.allclose(p.sum(axis=1), 1.0) and np.all(np.isfinite(p))
    assert F.one_hot(np.array([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(ValueError, match="labels must lie in"):
        F.one_hot(np.array([3]), 3)


def test_functional_works_on_plain_arrays_without_a_graph():
    out = F.linear(np.ones((2, 3)), np.ones((4, 3)), np.zeros(4))
    assert isinstance(out, np.ndarray)
    assert np.all(out == 3.0)


def test_dropout_is_reproducible_with_a_seed():
    x = np.ones((50, 50))
    a = F.dropout(x, 0.5, rng=np.random.default_rng(3))
    b = F.dropout(x, 0.5, rng=np.random.default_rng(3))
    assert np.array_equal(a, b)
    assert F.dropout(x, 0.5, training=False) is x
    assert np.all(F.dropout(x, 1.0) == 0)


def test_one_hot_takes_jax_dtype_axis_and_batched_labels():
    labels = np.array([[0, 2], [1, 1]])
    got = F.one_hot(labels, 3, dtype=np.float32, axis=0)
    assert got.dtype == np.float32 and got.shape == (3, 2, 2)
    np.testing.assert_array_equal(np.moveaxis(got, 0, -1), np.eye(3, dtype=np.float32)[labels])
    np.testing.assert_array_equal(cr.vmap(lambda k: F.one_hot(k, 3))(labels), np.eye(3, dtype=np.int64)[labels])
    with pytest.raises(ValueError, match="need num_classes"):
        cr.vmap(F.one_hot)(labels)
    with pytest.raises(ValueError, match=r"lie in \[0, 2\)"):
        cr.vmap(lambda k: F.one_hot(k, 2))(labels)
    # a traced label under jit, without num_classes, is read as PyTorch reads it
    np.testing.assert_array_equal(cr.jit(F.one_hot)(np.array([1, 0])), [[0, 1], [1, 0]])


def test_gelu_takes_jax_boolean_approximate():
    x = np.linspace(-3, 3, 7)
    np.testing.assert_array_equal(F.gelu(x, approximate=True), F.gelu(x, approximate="tanh"))
    np.testing.assert_array_equal(F.gelu(x, approximate=False), F.gelu(x))


@pytest.mark.parametrize("name, shape, args", [
    ("max_pool1d_with_indices", (2, 3, 7), (2,)), ("max_pool2d_with_indices", (2, 3, 6, 5), (3, 2, 1)),
    ("max_pool3d_with_indices", (1, 2, 4, 4, 4), (2,)), ("adaptive_max_pool1d_with_indices", (2, 3, 7), (3,)),
    ("adaptive_max_pool2d_with_indices", (2, 3, 6, 5), ((2, 3),)),
    ("adaptive_max_pool3d_with_indices", (1, 2, 4, 5, 3), (2,)),
    ("upsample_nearest", (1, 2, 3, 3), (None, 2)), ("upsample_bilinear", (1, 2, 3, 3), ((5, 4),)),
    ("conv_tbc", (5, 2, 3), "conv_tbc")])
def test_other_spellings_as_torch(name, shape, args):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    extra = [rng.standard_normal((2, 3, 4)), rng.standard_normal(4)] if args == "conv_tbc" else []
    args = (1,) if args == "conv_tbc" else args
    a = [cr.tensor(v, requires_grad=True) for v in [x, *extra]]
    b = [torch.tensor(v, requires_grad=True) for v in [x, *extra]]
    with warnings.catch_warnings(record=True) as ours_said:
        warnings.simplefilter("always")
        ours = getattr(F, name)(*a, *args)
    with warnings.catch_warnings(record=True) as their_said:
        warnings.simplefilter("always")
        theirs = getattr(torch.nn.functional, name)(*b, *args)
    assert [str(w.message) for w in ours_said if "deprecated" in str(w.message)] == \
        [str(w.message) for w in their_said if "deprecated" in str(w.message)]
    if isinstance(theirs, tuple):
        np.testing.assert_array_equal(np.asarray(ours[1]), theirs[1].numpy())
        ours, theirs = ours[0], theirs[0]
    w = rng.standard_normal(tuple(theirs.shape))
    (ours * w).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_allclose(u.grad.numpy(), v.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("x_dtype, t_dtype", [("float64", "float32"), ("float32", "float64")])
@pytest.mark.parametrize("kwargs", [{}, {"pos_weight": [1.5, 0.5, 2.0]}, {"weight": [1.5, 0.5, 2.0]},
                                    {"reduction": "none"}])
def test_bce_with_logits_is_in_the_targets_dtype_as_torch(x_dtype, t_dtype, kwargs):
    # PyTorch computes the loss in place in (1 - target): float32 labels (torchtext's
    # LabelField(dtype=torch.float)) give a float32 loss even of a float64 model's logits
    rng = np.random.default_rng(0)
    xs, ts = rng.normal(size=(4, 3)).astype(x_dtype), (rng.uniform(size=(4, 3)) > 0.5).astype(t_dtype)
    results = []
    for lib in (torch, cr):
        x = lib.tensor(xs, requires_grad=True)
        kw = {k: (lib.tensor(v) if isinstance(v, list) else v) for k, v in kwargs.items()}
        loss = lib.nn.functional.binary_cross_entropy_with_logits(x, lib.tensor(ts), **kw)
        loss.sum().backward()
        results.append((str(loss.dtype).split(".")[-1], loss.detach().numpy(), x.grad.dtype, x.grad.numpy()))
    (a, av, ag, agv), (b, bv, bg, bgv) = results
    assert (a, str(ag).split(".")[-1]) == (b, str(bg))
    np.testing.assert_allclose(bv, av, rtol=1e-6)
    np.testing.assert_allclose(bgv, agv, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_gelu_keeps_its_input_dtype_as_torch(dtype, approximate):
    # float16 too (SciPy's erf widens it to float64): the output and the gradient
    results = []
    for lib in (cr, torch):
        x = lib.tensor(np.array([-1.5, 0.3, 2.0]).astype(dtype), requires_grad=True)
        y = lib.nn.functional.gelu(x, approximate=approximate)
        y.sum().backward()
        results.append((y.detach().numpy(), x.grad.numpy()))
    (y, g), (want_y, want_g) = results
    assert y.dtype == g.dtype == want_y.dtype == want_g.dtype == np.dtype(dtype)
    tol = 2e-3 if dtype == "float16" else 1e-6
    np.testing.assert_allclose(y, want_y, rtol=tol, atol=tol)
    np.testing.assert_allclose(g, want_g, rtol=tol, atol=tol)


# Each takes (module, x): PyTorch refuses an integer or bool x for these (a float kernel
# only), where NumPy's promotion would give float64.
FLOAT_KERNELS = {
    "softplus": lambda m, x: m.softplus(x), "gelu": lambda m, x: m.gelu(x),
    "gelu_tanh": lambda m, x: m.gelu(x, approximate="tanh"), "elu": lambda m, x: m.elu(x),
    "elu_": lambda m, x: m.elu_(x), "selu": lambda m, x: m.selu(x), "celu": lambda m, x: m.celu(x),
    "silu": lambda m, x: m.silu(x), "silu_inplace": lambda m, x: m.silu(x, inplace=True),
    "logsigmoid": lambda m, x: m.logsigmoid(x), "mish": lambda m, x: m.mish(x),
    "hardswish": lambda m, x: m.hardswish(x), "hardsigmoid": lambda m, x: m.hardsigmoid(x),
    "leaky_relu": lambda m, x: m.leaky_relu(x), "leaky_relu_": lambda m, x: m.leaky_relu_(x),
    "rrelu": lambda m, x: m.rrelu(x), "rrelu_training": lambda m, x: m.rrelu(x, training=True),
    "softshrink": lambda m, x: m.softshrink(x), "hardshrink": lambda m, x: m.hardshrink(x),
    "glu": lambda m, x: m.glu(x), "layer_norm": lambda m, x: m.layer_norm(x, (2,)),
    "group_norm": lambda m, x: m.group_norm(x, 1), "rms_norm": lambda m, x: m.rms_norm(x, (2,)),
    "batch_norm": lambda m, x: m.batch_norm(x, None, None, training=True),
    "instance_norm": lambda m, x: m.instance_norm(x[None]),
    "prelu": lambda m, x: m.prelu(x, x[0, :1]),
}


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("call", FLOAT_KERNELS.values(), ids=FLOAT_KERNELS.keys())
def test_float_kernels_refuse_integer_tensors_as_torch(call, dtype):
    x = np.array([[0, 1], [1, 2]]).astype(dtype)
    with pytest.raises(NotImplementedError) as theirs:
        call(torch.nn.functional, torch.tensor(x))
    with pytest.raises(NotImplementedError, match=".float()") as ours:
        call(F, cr.tensor(x))
    assert str(ours.value).startswith(str(theirs.value))


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_activation_layers_refuse_integer_tensors_as_torch(dtype):
    x = np.array([0, 1, 1]).astype(dtype)
    for name in ("Softplus", "GELU", "ELU", "SiLU", "Mish", "Hardswish", "LeakyReLU"):
        with pytest.raises(NotImplementedError):
            getattr(torch.nn, name)()(torch.tensor(x))
        with pytest.raises(NotImplementedError, match=".float()"):
            getattr(cr.nn, name)()(cr.tensor(x))


# (module, x): PyTorch's other answers to an integer or bool x (a RuntimeError, or its dtype kept)
OTHER_INTEGER_ANSWERS = {
    "dropout": lambda m, x: m.dropout(x, 0.5), "dropout_eval": lambda m, x: m.dropout(x, 0.5, training=False),
    "dropout_p1": lambda m, x: m.dropout(x, 1.0), "dropout1d": lambda m, x: m.dropout1d(x, 0.5),
    "alpha_dropout": lambda m, x: m.alpha_dropout(x, 0.5, True), "gumbel_softmax": lambda m, x: m.gumbel_softmax(x),
    "threshold": lambda m, x: m.threshold(x, 0, 5), "softsign": lambda m, x: m.softsign(x),
    "relu6": lambda m, x: m.relu6(x), "tanhshrink": lambda m, x: m.tanhshrink(x),
}


@pytest.mark.parametrize("dtype", ["int64", "bool"])
@pytest.mark.parametrize("call", OTHER_INTEGER_ANSWERS.values(), ids=OTHER_INTEGER_ANSWERS.keys())
def test_other_functions_of_integer_tensors_answer_as_torch(call, dtype):
    x = np.array([[0, 1], [1, 2]]).astype(dtype)
    try:
        theirs = call(torch.nn.functional, torch.tensor(x))
    except (RuntimeError, NotImplementedError) as error:
        with pytest.raises(type(error)):
            call(F, cr.tensor(x))
        return
    ours = call(F, cr.tensor(x))
    assert np.dtype(ours.dtype).kind == np.dtype(str(theirs.dtype).removeprefix("torch.")).kind
    np.testing.assert_allclose(np.asarray(ours, np.float64), theirs.double().numpy(), rtol=1e-6)
