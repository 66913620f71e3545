"""PyTorch's functions of a tensor (chainrule/numpy/torch_functions.py): every name is
torch's, and each call gives what PyTorch's gives on the same values (float64), with the
gradient of the first argument."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.numpy import torch_functions as T

torch = pytest.importorskip("torch")
rng = np.random.default_rng(13)
A = rng.normal(size=(3, 4))
R = A[::-1].copy()
B = rng.normal(size=(4, 2))
P = np.abs(A) + 0.5

# name: (arguments after the tensor, the tensor) — called as torch.name(x, *args) in both
CALLS = {
    "flatten": ((), A[None]), "reshape": (((4, 3),), A), "squeeze": ((0,), A[None]), "unsqueeze": ((1,), A),
    "transpose": ((0, 1), A), "permute": (((1, 0),), A), "t": ((), A), "roll": ((1, 1), A), "flip": (((0,),), A),
    "tril": ((), A), "triu": ((1,), A), "diagonal": ((), A), "trace": ((), A[:, :3]),
    "exp": ((), A), "log": ((), P), "log1p": ((), P), "sqrt": ((), P), "rsqrt": ((), P), "abs": ((), A),
    "sin": ((), A), "tanh": ((), A), "sigmoid": ((), A), "relu": ((), A), "square": ((), A), "pow": ((3,), A),
    "clamp": ((-0.5, 0.5), A), "sum": ((1,), A), "mean": ((0,), A), "std": ((1,), A), "var": ((), A),
    "prod": ((1,), A), "logsumexp": ((1,), A), "softmax": ((1,), A), "log_softmax": ((0,), A),
    "cumsum": ((1,), A), "norm": ((), A), "amax": ((1,), A), "matmul": ((B,), A), "mm": ((B,), A),
    "outer": ((A[1],), A[0]), "dot": ((A[1],), A[0]), "maximum": ((R,), A), "lerp": ((R, 0.3), A),
    "add": ((R,), A), "mul": ((2.0,), A), "div": ((P,), A), "neg": ((), A),
    "clone": ((), A), "diag": ((), A[0]), "diff": ((), A), "kron": ((R,), A), "logaddexp": ((R,), A),
    "hypot": ((R,), A), "fmax": ((R,), A), "exp2": ((), A), "sinc": ((), A), "addmm": ((A, B), A[:, :2]),
    "dist": ((R,), A), "nanmean": ((), A), "repeat_interleave": ((2,), A), "broadcast_to": (((2, 3, 4),), A),
    "moveaxis": ((0, 1), A), "select": ((1, 2), A), "fliplr": ((), A), "erf": ((), A), "lgamma": ((), P),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_matches_torch_with_its_gradient(name):
    args, x = CALLS[name]
    ours_in, theirs_in = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours = getattr(T, name)(ours_in, *args)
    theirs = getattr(torch, name)(theirs_in, *(torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    w = rng.normal(size=tuple(theirs.shape))
    (ours * cr.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=1e-11, atol=1e-13)


def test_every_name_is_pytorchs_and_a_tensor_method():
    x = cr.tensor(A)
    for name in T.METHOD_FORMS:
        assert hasattr(torch, name), name
        assert callable(getattr(x, name)), name


def test_where_einsum_and_reductions_with_indices():
    x = cr.tensor(A, requires_grad=True)
    got = T.where(x > 0, x, 0.0)
    np.testing.assert_array_equal(got.detach().numpy(), torch.where(torch.tensor(A) > 0, torch.tensor(A), 0.0))
    np.testing.assert_array_equal(T.where(np.array([0, 3, 0, 1]))[0], [1, 3])
    np.testing.assert_allclose(T.einsum("ij,jk->ik", [A, B]), A @ B, rtol=1e-14)
    values, indices = T.max(cr.tensor(A), dim=1)
    want = torch.max(torch.tensor(A), dim=1)
    np.testing.assert_array_equal(values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(indices.numpy(), want.indices.numpy())
    assert T.numel(A) == 12 and isinstance(T.exp(A), cr.Tensor)
    z = A + 1j * R
    np.testing.assert_array_equal(np.asarray(T.real(z)), A)
    np.testing.assert_array_equal(np.asarray(T.imag(z)), R)


S = rng.normal(size=(3, 4)) * 3
Q = np.abs(rng.normal(size=(3, 4))) + 1.1
V3 = rng.normal(size=(2, 3))
# more Tensor methods (chainrule/numpy/torch_math.py): name -> (arguments, tensor)
METHODS = {
    "atan2": ((R,), A), "hypot": ((R,), A), "logaddexp": ((R,), A), "remainder": ((1.5,), S),
    "fmax_nan": ((np.where(R > 0, np.nan, R),), np.where(A > 1, np.nan, A)),
    "fmod": ((1.5,), S), "fmax": ((R,), A), "fmin": ((R,), A), "kron": ((B,), A[:2, :2]), "exp2": ((), A),
    "asinh": ((), A), "acosh": ((), Q), "atanh": ((), A / 4), "sinc": ((), A), "deg2rad": ((), A),
    "rad2deg": ((), A), "diag": ((1,), A), "cross": ((V3[::-1].copy(),), V3),
    "diff": ((), A), "repeat_interleave": ((2, 1), A), "broadcast_to": (((2, 3, 4),), A),
    "moveaxis": ((0, 1), A), "addmm": ((A, B), np.ones((3, 2))), "dist": ((R, 3), A), "nanmean": ((1,), A),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_more_methods_match_torch_with_their_gradients(name):
    args, x = METHODS[name]
    method = name.removesuffix("_nan")
    ours_in, theirs_in = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours = getattr(ours_in, method)(*args)
    theirs = getattr(theirs_in, method)(*(torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    w = rng.normal(size=tuple(theirs.shape))
    (ours * cr.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=1e-11, atol=1e-13)


def test_repeat_interleave_of_counts_alone_gives_the_repeated_positions_as_torch():
    # PyG's batch vector from the node counts of the graphs: torch.repeat_interleave(counts)
    counts = np.array([2, 0, 3, 1])
    ours, theirs = T.repeat_interleave(cr.tensor(counts)), torch.repeat_interleave(torch.tensor(counts))
    assert ours.dtype == np.int64 and ours.tolist() == theirs.tolist()
    for bad, error in [([[2, 1]], RuntimeError), ([2.0, 1.0], NotImplementedError), ([2, -1], RuntimeError)]:
        with pytest.raises(error):
            torch.repeat_interleave(torch.tensor(bad))
        with pytest.raises(error, match="repeat"):
            T.repeat_interleave(cr.tensor(bad))


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, 1])
def test_cumulative_extremes_match_torch_with_ties(name, dim):
    x = rng.integers(0, 3, size=(4, 5)).astype(float)  # many ties: the index is the latest
    ours_in, theirs_in = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = getattr(ours_in, name)(dim), getattr(theirs_in, name)(dim)
    np.testing.assert_array_equal(ours.values.detach().numpy(), theirs.values.detach().numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    ours.values.sum().backward()
    theirs.values.sum().backward()
    np.testing.assert_array_equal(ours_in.grad.numpy(), theirs_in.grad.numpy())


def test_predicates_match_torch():
    x, y = cr.tensor(A), torch.tensor(A)
    near = A + np.where(rng.random(A.shape) > 0.5, 1e-9, 1e-3)
    np.testing.assert_array_equal(x.isclose(near).numpy(), y.isclose(torch.tensor(near)).numpy())
    np.testing.assert_array_equal(x.heaviside(cr.tensor(0.5)).numpy(),
                                  y.heaviside(torch.tensor(0.5, dtype=torch.float64)).numpy())
    np.testing.assert_array_equal((x > 0).logical_xor(x > 1).numpy(), (y > 0).logical_xor(y > 1).numpy())
    z = np.where(A > 0, A, 0.0)
    np.testing.assert_array_equal(cr.tensor(z).count_nonzero(dim=1).numpy(), torch.tensor(z).count_nonzero(dim=1))
    np.testing.assert_allclose(np.asarray(T.tensordot(A, B, 1)), torch.tensordot(y, torch.tensor(B), 1).numpy())
    with pytest.raises(ValueError, match="no axis of length 3"):
        cr.tensor(B).cross(cr.tensor(B))


def test_the_functions_are_chainrules_top_level_names_but_not_star_exported():
    for name in T.__all__:
        assert getattr(cr, name) is getattr(T, name), name
    assert float(cr.sum(cr.exp(np.zeros((2, 2))), dim=0).sum()) == 4.0
    assert cr.flatten(np.ones((2, 3, 4)), 1).shape == (2, 12)
    namespace = {}
    exec("from chainrule import *", namespace)
    assert "sum" not in namespace and "abs" not in namespace and "zeros" in namespace


def test_as_tensor_shares_what_it_can_as_pytorchs():
    a = np.zeros(3)
    t, tt = cr.as_tensor(a), torch.as_tensor(a)
    t[0] = 1.0
    assert a[0] == 1.0 and tt[0].item() == 1.0  # both share the array's memory
    x = cr.tensor([1.0, 2.0])
    assert cr.as_tensor(x) is x and cr.as_tensor(x, dtype=cr.float32).dtype == np.float32
    assert cr.as_tensor([1, 2]).dtype == np.int64 and torch.as_tensor([1, 2]).dtype == torch.int64
    assert cr.as_tensor([1, 2]).tolist() == torch.as_tensor([1, 2]).tolist()
    with pytest.raises(RuntimeError, match="CPU only"):
        cr.as_tensor(a, device="cuda")


@pytest.mark.parametrize("name", ["is_floating_point", "is_complex", "count_nonzero", "isclose", "logical_xor"])
def test_predicates_and_counts_as_functions(name):
    x = np.array([0.0, 1.5, -2.0])
    args = (torch.tensor(x[::-1].copy()),) if name in ("isclose", "logical_xor") else ()
    ours = getattr(cr, name)(cr.tensor(x), *(cr.tensor(a.numpy()) for a in args))
    theirs = getattr(torch, name)(torch.tensor(x), *args)
    assert (ours.tolist() if cr.is_tensor(ours) else ours) == (theirs.tolist() if torch.is_tensor(theirs) else theirs)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64"])
def test_trace_of_integers_sums_in_torchs_dtype(dtype):
    x = np.arange(9).reshape(3, 3).astype(dtype)
    for ours in (cr.trace(cr.tensor(x)), cr.tensor(x).trace()):
        theirs = torch.trace(torch.tensor(x))
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.") and ours.item() == theirs.item()


@pytest.mark.parametrize("divisor", [0.7, -0.7, 2.0, np.inf, -np.inf])
def test_remainder_of_floats_keeps_pytorchs_sign_of_zero(divisor):
    # PyTorch's remainder of a zero result has the dividend's sign (NumPy's: the divisor's)
    a = np.array([-0.0, 0.0, -1.0, 1.4, -1.4, 2.5, np.inf, -7.0, 7.0])

    def run(lib):
        x = lib.tensor(a, requires_grad=True)
        d = lib.tensor(np.full(a.shape, divisor), requires_grad=True)
        y = x.detach().clone()
        y %= divisor
        outs = [x % divisor, lib.remainder(x, divisor), x.remainder(d), y]
        finite = lib.tensor(np.isfinite(a))
        with np.errstate(invalid="ignore"):
            (lib.where(finite, outs[2], 0.0) * lib.tensor(np.arange(9.0))).sum().backward()
        values = [o.detach().numpy() for o in outs]
        return [np.signbit(v) for v in values] + values, [x.grad.numpy(), d.grad.numpy()]

    (got, got_grads), (want, want_grads) = run(cr), run(torch)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    for g, w in zip(got_grads, want_grads, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-15)


def test_out_writes_the_result_into_a_tensor_as_pytorch():
    # Stable Baselines3's polyak_update: th.add(target.data, param.data, alpha=tau, out=target.data)
    results = []
    for lib in (torch, cr):
        target, param = lib.nn.Linear(3, 2).double(), lib.nn.Linear(3, 2).double()
        with lib.no_grad():
            for t, p, a in zip(target.parameters(), param.parameters(), (A[:2, :3], A[2, :2]), strict=True):
                t.copy_(lib.tensor(a))
                p.copy_(lib.tensor(-2 * a))
        with lib.no_grad():
            for t, p in zip(target.parameters(), param.parameters(), strict=True):
                t.data.mul_(1 - 0.1)
                written = lib.add(t.data, p.data, alpha=0.1, out=t.data)
        buf = lib.zeros(3, 4, dtype=lib.float64)
        same = lib.exp(lib.tensor(A), out=buf) is buf
        results.append([target.weight.detach().numpy(), target.bias.detach().numpy(), written.numpy(), buf.numpy(),
                        same])
        with pytest.raises(RuntimeError, match="out=... arguments don't support automatic differentiation"):
            lib.mul(lib.ones(2, dtype=lib.float64, requires_grad=True), 2.0, out=lib.zeros(2, dtype=lib.float64))
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            lib.add(lib.ones(2, dtype=lib.float64), 1.5, out=lib.zeros(2, dtype=lib.int64))
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(RuntimeError, match="does not resize out"):
        cr.add(cr.ones(2), 1.0, out=cr.zeros(3))


INPLACE = {"clamp_": (-0.5, 0.5), "relu_": (), "sigmoid_": (), "tanh_": (), "exp_": (), "neg_": (), "zero_": (),
           "fill_": (2.0,), "nan_to_num_": (), "clamp_min_": (0.1,), "round_": (), "square_": ()}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_functions_write_into_their_tensor_as_torch(name):
    # DCCRN's torch.clamp_(wav, -1, 1), and the rest of torch's top-level in-place functions
    ours, theirs = cr.tensor(A), torch.tensor(A)
    assert getattr(cr, name)(ours, *INPLACE[name]) is ours
    getattr(torch, name)(theirs, *INPLACE[name])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-14)
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        getattr(cr, name)([1.0], *INPLACE[name])


def test_every_inplace_name_is_pytorchs_and_a_tensor_method():
    x = cr.tensor(A)
    for name in T.INPLACE_FORMS:
        assert callable(getattr(torch, name)) and callable(getattr(x, name)), name


@pytest.mark.parametrize("call", [lambda lib, t: lib.sigmoid(t), lambda lib, t: t.sigmoid(),
                                  lambda lib, t: lib.nn.functional.sigmoid(t)], ids=["sigmoid", "method", "functional"])
def test_sigmoid_of_complex_values_as_torch(call):
    # 1 / (1 + exp(-z)), complex (it was the sigmoid of |z|, real); the gradient of a real loss as PyTorch's
    z = np.array([1 + 2j, 0.5 - 1j, -3 + 0.2j], np.complex64)
    results = []
    for lib in (cr, torch):
        t = lib.tensor(z, requires_grad=True)
        y = call(lib, t)
        (y.abs() ** 2).sum().backward()
        results.append((y.detach().numpy(), t.grad.numpy()))
    (y, g), (want_y, want_g) = results
    assert y.dtype == want_y.dtype == np.complex64 and g.dtype == want_g.dtype
    np.testing.assert_allclose(y, want_y, rtol=1e-5)
    np.testing.assert_allclose(g, want_g, rtol=1e-4, atol=1e-6)
