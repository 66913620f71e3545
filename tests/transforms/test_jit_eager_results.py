"""cr.jit gives the plain call's result types where the plain call computes eager Tensors:
results computed from eager Tensors without grad (ones the function makes, reads from
globals, or is given under no_grad) are eager Tensors of the same dtype and bits on the
traced call and on every replay, fused too; results that are arrays stay arrays; and a
transform inside the function reads an eager Tensor as its array, as the plain call
does. Each program runs plain and jitted from the same random state."""

import warnings

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.numpy as cnp

rng = np.random.default_rng(0)
SCALE = cr.tensor([1.5, -2.0, 0.25], dtype=cr.float32)  # a global eager Tensor
TABLE = cr.tensor([[1.0, 2.0, 3.0]])

PROGRAMS = {
    "randn plus an array": (lambda x: cr.randn(3) + x, "array"),
    "a tensor constant": (lambda x: cr.tensor(2.0) * x + 1.0, "array"),
    "a global eager Tensor": (lambda x: cnp.sin(x) * SCALE, "array"),
    "a float32 global times a float64 scalar": (lambda x: SCALE * np.float64(3.0) + x, "array"),
    "an eager argument under no_grad": (lambda t: cnp.exp(t) * 2.0 - t, "tensor"),
    "a scalar of an eager argument": (lambda t: t[0] * t[1], "tensor"),
    "arrays and Tensors in one pytree": (
        lambda x: {"array": x * 2.0, "both": (TABLE * x, cnp.sum(x)), "list": [SCALE + 1.0, x]}, "array"),
    "one Tensor returned twice": (lambda t: ((t * 3.0,) * 2, t + 1.0), "tensor"),
    "value_and_grad of an eager argument": (
        lambda t: cr.value_and_grad(lambda u: cnp.sum(u * np.float64(2.0) * u))(t), "tensor32"),
    "stop_gradient and detach": (lambda t: (cr.stop_gradient(t) * 2.0, t.detach() * 2.0), "tensor"),
}


def _argument(kind: str):
    x = rng.normal(size=3)
    if kind == "array":
        return x
    return cr.tensor(x, dtype=cr.float32 if kind == "tensor32" else cr.float64, requires_grad=True)


@pytest.mark.parametrize("fuse", [False, True])
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_results_have_the_plain_calls_types_dtypes_and_bits(name, fuse):
    fun, kind = PROGRAMS[name]
    jitted = cr.jit(fun, fuse=fuse)
    args = [_argument(kind) for _ in range(3)]
    with cr.no_grad():  # (Tensors that require grad are read without grad)
        cr.manual_seed(7)
        want = [fun(a) for a in args]
        cr.manual_seed(7)
        got = []
        for a in args:  # the trace, then replays
            got.append(jitted(a))
            jitted.wait_compiled()
    for g, w in zip(got, want, strict=True):
        assert same(g, w), (g, w)
    assert jitted.traces == 1
    assert not any(leaf.requires_grad for leaf in cr.tree_leaves(got[-1]) if isinstance(leaf, cr.Tensor))


def test_a_tensor_returned_twice_is_one_tensor_as_plain():
    jitted = cr.jit(PROGRAMS["one Tensor returned twice"][0])
    for _ in range(3):
        (first, second), _ = jitted(cr.tensor(rng.normal(size=3)))
        assert first is second


def test_eager_tensors_returned_as_they_are_are_the_plain_calls_objects():
    # a global Tensor and an argument (written in place or not) are handed back
    # themselves; one the function makes is a new Tensor on every call
    found = cr.jit(lambda t: (SCALE, t, t.mul_(1.0)))
    made = cr.jit(lambda t: cr.zeros(2))
    with cr.no_grad():
        results = []
        for _ in range(3):
            t = cr.tensor(rng.normal(size=2))
            scale, same_t, written = found(t)
            assert scale is SCALE and same_t is t and written is t
            results.append(made(t))
    assert len({id(r) for r in results}) == 3
    for r in results:
        assert same(r, cr.zeros(2))
        r.add_(1.0)  # the caller's changes reach no later call
    assert same(made(cr.tensor([1.0])), cr.zeros(2))


@pytest.mark.parametrize("make, shape", [
    (lambda: cr.nn.BatchNorm1d(3, affine=False), (4, 3)),
    (lambda: cr.nn.BatchNorm2d(3, affine=False), (2, 3, 4, 4)),
    (lambda: cr.nn.InstanceNorm2d(3, track_running_stats=True), (2, 3, 4, 4)),
])
@pytest.mark.parametrize("given", ["array", "tensor"])
def test_a_module_with_running_statistics_in_eval_gives_the_plain_calls_type(make, shape, given):
    # the running statistics are eager Tensors that the plain call reads as arrays: of an
    # array input the result is an array, jitted too (not an eager Tensor)
    m = make().eval()
    m.running_mean.add_(cr.tensor(rng.normal(size=3)))
    x = rng.normal(size=shape)
    x = x if given == "array" else cr.tensor(x)
    step = cr.jit(lambda m, x: m(x))
    with cr.no_grad():
        plain = m(x)
        for _ in range(3):
            assert same(step(m, x), plain)


@pytest.mark.parametrize("f", [lambda t: t.shape, lambda t: (t * 2.0).shape, lambda t: t.view(3, 1).shape,
                               lambda t: (t.shape, t + 1.0)])
def test_the_shape_of_an_eager_tensor_is_a_torch_size_jitted_too(f):
    t = cr.tensor(rng.normal(size=3))
    step = cr.jit(f)
    plain = f(t)
    for _ in range(3):
        got = step(t)
        assert type(got) is type(plain) and repr(got) == repr(plain)


TORCH_FUNCTIONS_OF_ARRAYS = {
    # PyTorch's functions make eager Tensors of array arguments: jitted too
    "kl_div": lambda p, q: cr.nn.functional.kl_div(p, q, reduction="batchmean"),
    "special.xlogy": lambda p, q: cr.special.xlogy(q, q),
    "linalg.norm": lambda p, q: cr.linalg.norm(p),
    "real": lambda p, q: cr.real(p) * 2.0,
    "imag": lambda p, q: cr.imag(p + 1j * q),
    # and refuse arrays where PyTorch takes only a Tensor, jitted too
    "quantile": lambda p, q: cr.quantile(q, 0.5),
    "cholesky_inverse": lambda p, q: cr.cholesky_inverse(q),
    "exp_": lambda p, q: cr.exp_(q),
    "where of a condition alone": lambda p, q: cr.where(p < q),
}


@pytest.mark.parametrize("name", sorted(TORCH_FUNCTIONS_OF_ARRAYS))
def test_pytorchs_functions_of_arrays_give_the_plain_calls_results_and_errors(name):
    f = TORCH_FUNCTIONS_OF_ARRAYS[name]
    p, q = np.log(np.full((3, 3), 1 / 3)), np.full((3, 3), 0.2)

    def outcome(g):
        try:
            return g(p, q)
        except TypeError as e:
            return str(e)

    plain, step = outcome(f), cr.jit(f)
    for _ in range(3):
        got = outcome(step)
        assert (got == plain) if isinstance(plain, str) else same(got, plain), (got, plain)


EAGER_METHOD_PROGRAMS = {
    "eq float": lambda t: (t > 0).float() * t,
    "argmax": lambda t: t.argmax(dim=1),
    "max dim": lambda t: t.max(dim=1),
    "sort": lambda t: t.sort(dim=1),
    "topk": lambda t: t.topk(2),
    "nonzero": lambda t: (t > 0).nonzero(),
    "where": lambda t: cr.where(t > 0, t, cr.zeros_like(t)),
    "where of a mask alone": lambda t: cr.where(t > 0),
    "str and repr": lambda t: (str(t * 2), repr(t[0]), f"{t.sum()}", format(t[0, 0], ".3f")),
    "masked_fill": lambda t: t.masked_fill(t < 0, 0.0),
    "clamp": lambda t: t.clamp(min=0),
    "softmax": lambda t: F.softmax(t, dim=-1),
    "one_hot": lambda t: F.one_hot(t.argmax(dim=1), 4),
    "cat": lambda t: cr.cat([t, t * 2], dim=0),
    "stack": lambda t: cr.stack([t, t]).sum(0),
    "item": lambda t: t.sum().item(),
    "tolist": lambda t: t[0].tolist(),
    "numpy": lambda t: t.numpy() * 2,
    "unique": lambda t: (t > 0).long().unique(),
    "einsum": lambda t: cr.einsum("ij,kj->ik", t, t),
    "matmul": lambda t: t @ t.T,
    "norm": lambda t: t.norm(dim=1),
    "std": lambda t: t.std(dim=0),
    "cumsum": lambda t: t.cumsum(dim=1),
    "chunk": lambda t: t.chunk(2, dim=1),
    "split": lambda t: t.split([1, 3], dim=1),
    "index bool": lambda t: t[t > 0],
    "gather": lambda t: t.gather(1, cr.tensor([[0], [1], [2]])),
    "int ops": lambda t: (t * 10).long() // 3,
    "to dtype": lambda t: t.to(cr.float32) + 1,
    "size()": lambda t: t.size(),
    "dim": lambda t: (t.dim(), t.numel()),
    "new_zeros": lambda t: t.new_zeros(2, 2),
    "expand": lambda t: t[:1].expand(3, 4) + t,
    "permute": lambda t: t.permute(1, 0).contiguous(),
    "repeat": lambda t: t.repeat(2, 1),
    "flatten": lambda t: t.flatten(),
    "abs sign": lambda t: t.abs() * t.sign(),
    # a 0-d result held as a 0-d array, as the plain call holds it (t[0] a view of t)
    "any": lambda t: (t > 0.5).any(),
    "all": lambda t: (t > -5).all(),
    "argmax of all": lambda t: t.argmax(),
    "an element": lambda t: t[1, 2],
    "an element compared": lambda t: t[0, 0] > 0,
    # PyTorch's meaning of an int beside an advanced index: the select first
    "an int beside a list": lambda t: t.reshape(3, 2, 2)[0, :, [1, 0]] * cr.tensor([1.0, 2.0]),
    "an int beside a list, written": lambda t: (
        (u := t.reshape(3, 2, 2).clone()).__setitem__((0, slice(None), [1, 0]), cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
        or u),
}


@pytest.mark.parametrize("name", sorted(EAGER_METHOD_PROGRAMS))
def test_pytorch_style_programs_of_an_eager_tensor_under_no_grad_give_the_plain_calls_results(name):
    # masks, indices and one-hot rows of an eager Tensor's methods are eager Tensors in
    # the plain call (so (t > 0).float() goes on), jitted too
    f = EAGER_METHOD_PROGRAMS[name]
    t = cr.tensor(rng.normal(size=(3, 4)))
    step = cr.jit(f)
    with cr.no_grad():
        plain = f(t)
        for _ in range(3):
            assert same(step(t), plain)


QUIET_EAGER_PROGRAMS = {
    "divide by zero": lambda t: t / (t - t),
    "log of 0": lambda t: (t - t).log(),
    "sqrt of negatives": lambda t: (-t).sqrt(),
    "exp overflow": lambda t: (t * 1000).exp(),
    "nan_to_num of inf": lambda t: cr.nan_to_num(t / (t - t)),
    "power of negatives": lambda t: (-t) ** 0.5,
    "asin out of range": lambda t: (t * 2).asin(),
    "log of an integer 0": lambda t: cr.tensor([0, 1]).log() + t,
    "binary_cross_entropy at 0": lambda t: F.binary_cross_entropy(t - t, t / t),
    "inf - inf": lambda t: (t / (t - t)) - (t / (t - t)),
    "overflowing product": lambda t: (t * 1e200) * (t * 1e200) @ t,
}


@pytest.mark.parametrize("fuse", [False, "wait"], ids=["replayed", "fused"])
@pytest.mark.parametrize("name", sorted(QUIET_EAGER_PROGRAMS))
def test_a_replay_on_eager_tensors_is_as_quiet_as_the_eager_layer(name, fuse):
    """The eager layer computes inf and NaN without NumPy's warnings, as PyTorch does; the
    jitted call of the same program did warn (its trace and every replay), and must not.
    The same program on arrays warns as NumPy does, jitted or not."""
    f = QUIET_EAGER_PROGRAMS[name]
    t = cr.tensor([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        want = f(t)
        jitted = cr.jit(f, fuse=fuse)
        for _ in range(3):
            got = jitted(t).numpy()
            if fuse:  # (compiled loops may round transcendental functions otherwise)
                np.testing.assert_allclose(got, want.numpy(), rtol=1e-12)
            else:
                np.testing.assert_array_equal(got, want.numpy())


@pytest.mark.parametrize("f", [lambda x: cnp.log(x - x), lambda x: x / (x - x)], ids=["log", "divide"])
def test_a_replay_on_arrays_warns_as_numpy(f):
    jitted = cr.jit(f)
    for _ in range(2):
        with pytest.warns(RuntimeWarning, match="divide by zero"):
            jitted(np.ones(2))


def _outcome(f, args):
    """What a call gives: its result, or its exception's type and message."""
    try:
        return f(*args)
    except Exception as e:  # noqa: BLE001 (compared, whatever it is)
        return type(e), str(e)


def _same_outcome(got, want) -> bool:
    return got == want if isinstance(want, tuple) and isinstance(want[0], type) else same(got, want)


def _untraced_copy(t):
    out = np.zeros(4)
    np.copyto(out, t)
    return out


# NumPy's functions without a derivative read an eager Tensor's array in the plain call, and
# give NumPy's arrays and scalars (the Tensor's own methods, (t > 0).any(), give Tensors)
NUMPY_FUNCTIONS_OF_AN_EAGER_TENSOR = {
    "any": lambda t: np.any(t > 0),
    "all": lambda t: np.all(t > -5),
    "argmax": lambda t: np.argmax(t),
    "cnp.argmax": lambda t: cnp.argmax(t),
    "argmax plus one": lambda t: np.argmax(t) + 1,
    "isnan": lambda t: np.isnan(t),
    "isnan times t": lambda t: np.isnan(t) * t,
    "count_nonzero": lambda t: np.count_nonzero(t > 0),
    "where of a mask": lambda t: np.where(t > 0),
    "round": lambda t: np.round(t, 1),
    "floor plus one": lambda t: np.floor(t) + 1.0,
    "argsort taken": lambda t: t[np.argsort(t)],
    "a branch on np.any": lambda t: t * 2.0 if np.any(t > 1) else t,
    "the method's Tensor": lambda t: ((t > 0).any(), t.argmax()),
    # refused in the plain call (no derivative, an in-place write): refused jitted too
    "logical_or.reduce": lambda t: np.logical_or.reduce(t > 0),
    "add.reduceat": lambda t: np.add.reduceat(t, [0, 2]),
    "copyto an array": _untraced_copy,
}


@pytest.mark.parametrize("name", sorted(NUMPY_FUNCTIONS_OF_AN_EAGER_TENSOR))
def test_numpy_functions_of_an_eager_tensor_give_the_plain_calls_results(name):
    f = NUMPY_FUNCTIONS_OF_AN_EAGER_TENSOR[name]
    step = cr.jit(f)
    for _ in range(3):  # the trace, then replays on new values
        t = cr.tensor(rng.normal(size=4))
        want = _outcome(f, (t,))
        got = _outcome(step, (t,))
        assert _same_outcome(got, want), (got, want)


def _added_in_place(x, t):
    y = x.copy()
    y += t
    return y


def _multiplied_into(x, t):
    y = np.empty_like(x)
    np.multiply(x, t, out=y)
    return y


MIXED_PROGRAMS = {
    # NumPy's writes into an array that the plain call refuses an eager Tensor for (out=
    # of a Tensor's result): refused jitted too, where they were recorded
    "an array += a Tensor": _added_in_place,
    "out= an array": _multiplied_into,
    "an ndarray's dot of a Tensor": lambda x, t: np.sin(x).dot(t),
    "x + t": lambda x, t: x + t,
    "t @ x": lambda x, t: t @ x,
    "x @ t": lambda x, t: x @ t,
    "concatenate": lambda x, t: np.concatenate([x, t]),
    "an ndarray's max(0)": lambda x, t: x.max(0) + t.sum(),
    "an ndarray's take of a mask": lambda x, t: x.take((t > 0).long()),
    "an ndarray indexed by a Tensor": lambda x, t: x[(t > 0).long()],
    "an ndarray's clip by a Tensor": lambda x, t: x.clip(0, t[0]),
    "a Tensor's clip by a Tensor": lambda x, t: t.clip(0, cr.tensor(0.5)) + x,
    "np.clip by a Tensor": lambda x, t: np.clip(x, 0, cr.tensor(0.5)),
    # NumPy's scalar beside a float32 Tensor: a Python number to the eager layer (its value
    # was read, and every call traced again)
    "a NumPy scalar times a float32 Tensor": lambda x, t: x.sum() * t.float() - x[0],
    # an array's comparison with an eager Tensor is the Tensor's (Python asks the array first)
    "x > t": lambda x, t: x > t,
    "x[0] <= t": lambda x, t: x[0] <= t,
    "t == x.max()": lambda x, t: t == x.max(),
    # PyTorch's methods are an ndarray's AttributeError and TypeError, NumPy's its own
    "x.unsqueeze(0)": lambda x, t: x.unsqueeze(0) * t,
    "x.mean(dim=0)": lambda x, t: x.mean(dim=0) * t,
    "x.item()": lambda x, t: x.item() * t,
    "x.__array_namespace__()": lambda x, t: (x.__array_namespace__().__name__, x.device),
}


@pytest.mark.parametrize("name", sorted(MIXED_PROGRAMS))
def test_arrays_beside_eager_tensors_are_numpys_arrays_as_in_the_plain_call(name):
    f = MIXED_PROGRAMS[name]
    step = cr.jit(f)
    for _ in range(3):
        x, t = rng.normal(size=4), cr.tensor(rng.normal(size=4))
        want = _outcome(f, (x, t))
        got = _outcome(step, (x, t))
        assert _same_outcome(got, want), (got, want)
    raised = isinstance(want, tuple) and isinstance(want[0], type)
    assert step.traces == (3 if raised else 1)


def _written(write):
    """A program that writes with NumPy into a copy ``u`` of the eager Tensor ``t``."""
    def f(t, x):
        u = t.clone()
        write(u, x)
        return u
    return f


def _put_into_array(t, x):
    y = x.copy()
    np.put(y, [0], t[0])
    return y


# NumPy's writes made by the function's code: into an eager Tensor (refused by the plain
# call, which jit cannot tell from chainrule's own writes into the Tensor's array but by
# who made the NumPy call), and of an eager Tensor into an array
NUMPY_WRITES_OF_AN_EAGER_TENSOR = {
    "copyto into a Tensor": _written(lambda u, x: np.copyto(u, x)),
    "add.at into a Tensor": _written(lambda u, x: np.add.at(u, [0], x[:1])),
    "sin out= the Tensor itself": _written(lambda u, x: np.sin(u, out=u)),
    "add of arrays out= a Tensor": _written(lambda u, x: np.add(x, x, out=u)),
    "put an eager value into an array": _put_into_array,
    "copyto a Tensor into an array": lambda t, x: np.copyto(x, t),
    # the plain call takes these, by chainrule's own writes into the Tensor's array
    "cumsum out= a Tensor": _written(lambda u, x: np.cumsum(x, out=u)),
    "fill_diagonal of a Tensor": _written(lambda u, x: np.fill_diagonal(u.reshape(2, 2), x[0])),
    "put into a Tensor": _written(lambda u, x: np.put(u, [0, 3], x[:2])),
    "a Tensor's put_": _written(lambda u, x: u.put_(cr.tensor([1]), cr.tensor(x[:1]))),
}


@pytest.mark.parametrize("grad", [True, False], ids=["grad", "no_grad"])
@pytest.mark.parametrize("name", sorted(NUMPY_WRITES_OF_AN_EAGER_TENSOR))
def test_numpy_writes_of_an_eager_tensor_give_the_plain_calls_results_and_errors(name, grad):
    f = NUMPY_WRITES_OF_AN_EAGER_TENSOR[name]
    step = cr.jit(f)
    with cr.enable_grad() if grad else cr.no_grad():
        for _ in range(3):  # the trace, then replays (or traces again, where it raised)
            t, x = cr.tensor(rng.normal(size=4)), rng.normal(size=4)
            want = _outcome(f, (t.clone(), x.copy()))
            got = _outcome(step, (t, x))
            assert _same_outcome(got, want), (got, want)


_A = np.arange(4.0).reshape(2, 2)


@pytest.mark.parametrize("write", [
    lambda t: np.matmul(_A, _A, out=t), lambda t: np.matmul(t, _A, out=t),
    lambda t: np.einsum("ij,jk->ik", _A, _A, out=t), lambda t: np.vecdot(_A, _A, out=t[0]),
    lambda t: np.matvec(_A, _A[0], out=t[0]), lambda t: np.vecmat(_A[0], _A, out=t[0]),
], ids=["matmul of arrays", "matmul of the Tensor", "einsum", "vecdot", "matvec", "vecmat"])
def test_products_out_an_eager_tensor_raise_the_out_error_plain_and_jitted(write):
    # as the elementwise ufuncs' out=: NumPy's own call, given the Tensor, handed the call
    # back to chainrule without end (a RecursionError)
    for f in (write, cr.jit(write), cr.jit(write)):
        t = cr.tensor(np.zeros((2, 2)))
        with pytest.raises(TypeError, match="out= .*cannot hold"):
            f(t)
        assert not t.numpy().any()


@pytest.mark.parametrize("call", [lambda t: np.clip(_A, 0, 1, t), lambda t: np.where(t, 1)],
                         ids=["clip given out by position", "where without y"])
def test_a_mirrors_error_on_an_eager_tensor_is_the_eager_layers_jitted_too(call):
    # the plain call raises the eager layer's error (PyTorch's kind: TensorError, not
    # NumPy's ValueError); jitted, the value that stands for the Tensor raised NumPy's
    want = _outcome(call, (cr.tensor(_A),))
    assert isinstance(want, tuple) and issubclass(want[0], RuntimeError)  # (PyTorch raises RuntimeError)
    for f in (cr.jit(call), cr.jit(call)):
        assert _same_outcome(_outcome(f, (cr.tensor(_A),)), want)


@pytest.mark.parametrize("make", [lambda x: cr.as_tensor(x, dtype=cr.float32),
                                  lambda x: cr.as_tensor(x, dtype=cr.float32) * 2,
                                  lambda x: cr.as_tensor(x, dtype=cr.int64)],
                         ids=["as_tensor", "as_tensor times 2", "as_tensor to int"])
@pytest.mark.parametrize("given", ["array", "tensor"])
def test_a_tensor_made_of_a_traced_value_in_another_dtype_traces_once(make, given):
    # the conversion is recorded, not the value read (which traced again for every new value)
    step = cr.jit(make)
    for _ in range(3):
        x = rng.normal(size=3) * 10
        x = x if given == "array" else cr.tensor(x)
        assert same(step(x), make(x))
    assert step.traces == 1


@pytest.mark.parametrize("f", [lambda m, x: np.sin(x).dot(m.weight.T), lambda m, x: x[:, :2][m.weight[:, :2] > 0],
                               lambda m, x: x.squeeze(0), lambda m, x: m(x) + x.max(0)[:3]],
                         ids=["dot of the weight", "indexed by a mask", "squeeze", "max(0)"])
def test_arrays_beside_a_module_are_numpys_arrays_as_in_the_plain_call(f):
    layer = cr.nn.Linear(4, 3)
    step = cr.jit(f)
    with cr.no_grad():
        for _ in range(3):
            x = rng.normal(size=(2, 4))
            want, got = _outcome(f, (layer, x)), _outcome(step, (layer, x))
            assert _same_outcome(got, want), (got, want)
