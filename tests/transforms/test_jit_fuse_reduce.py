"""cr.jit(f, fuse=...): a sum, max or min whose input an elementwise chain produces is
computed inside that chain's loop. Fused programs are replayed beside unfused ones: the
same types, shapes and dtypes, and (the chains here being arithmetic, which the fused
loop computes as NumPy does, and the reductions adding in NumPy's order) the same bits,
NaN, infinities and signed zeros included."""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.transforms import fuse as fusion

pytestmark = pytest.mark.skipif(not fusion.available(), reason="fuse=True needs Numba (the [fast] extra)")

ROOT = Path(__file__).resolve().parents[2]
rng = np.random.default_rng(1)
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, 1e-30, 3e38]
REDUCE = {"sum": cnp.sum, "max": cnp.max, "min": cnp.min, "amax": cnp.amax}


def same_bits(a, b):
    """The same pytree of the same types, shapes, dtypes and bytes."""
    la, lb = cr.tree_flatten(a)[0], cr.tree_flatten(b)[0]
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        assert type(x) is type(y)
        assert np.shape(x) == np.shape(y) and np.result_type(x) == np.result_type(y)
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes(), (x, y)


def fused_reductions(f) -> int:
    """How many calls of ``f``'s programs are loops that end in a reduction (generalized
    ufuncs: a plain fused loop is an elementwise ufunc)."""
    count = 0
    for program in f.programs:
        for line in program.source.splitlines():
            name = line.split("= ", 1)[1].split("(", 1)[0] if " = f" in line else None
            fun = program.replay.__globals__.get(name)
            count += (isinstance(fun, np.ufunc) and fun.signature is not None
                      and getattr(np, fun.__name__, None) is not fun)  # not np.matmul
    return count


def mlp_loss(params, x, onehot):
    w1, b1, w2, b2 = params
    h = cnp.tanh(x @ w1 + b1)
    z = h @ w2 + b2
    log_probs = z - cnp.max(z, axis=1, keepdims=True)
    log_probs = log_probs - cnp.log(cnp.sum(cnp.exp(log_probs), axis=1, keepdims=True))
    return -cnp.sum(onehot * log_probs) / x.shape[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_step_fuses_its_reductions_with_the_unfused_bits(dtype):
    # the bias gradients' sums over the batch end the chains of tanh's backward pass, the
    # softmax's max ends the bias addition: each one loop, with the unfused bits (every
    # fused chain here is arithmetic; exp and log of 64 x 10 values stay NumPy's)
    def step(params, x, onehot):
        loss, grads = cr.value_and_grad(mlp_loss)(params, x, onehot)
        return loss, [p - 0.1 * g for p, g in zip(params, grads, strict=True)]

    plain, fused = cr.jit(step), cr.jit(step, fuse="wait")
    params = [rng.normal(size=s).astype(dtype) for s in [(6, 16), (16,), (16, 10), (10,)]]
    for _ in range(4):
        x = rng.normal(size=(64, 6)).astype(dtype)
        onehot = np.eye(10, dtype=dtype)[rng.integers(0, 10, 64)]
        a, b = plain(params, x, onehot), fused(params, x, onehot)
        same_bits(a, b)
        params = b[1]
    # the two bias gradients' sums, the max, the row sum of the cotangent of the logits
    assert fused_reductions(fused) >= 4
    assert fused.programs[0].n_calls < plain.programs[0].n_calls
    assert fused.traces == plain.traces == 1


SHAPES = [(1,), (7,), (8,), (9,), (37,), (128,), (129,), (3, 1), (4, 10), (64, 8), (2, 129),
          (5, 3, 4), (2, 1, 9), (3, 17, 1), (0,), (0, 4), (4, 0)]


def chain(kind, axis, keepdims, keep):
    reduce_ = REDUCE[kind]

    def f(x, b):
        h = (x * 2.0 - b) * x + 0.5
        r = reduce_(h, axis=axis, keepdims=keepdims) if axis != "none" else reduce_(h)
        return (r, h * 3.0) if keep else r

    return f


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(SHAPES), st.sampled_from(sorted(REDUCE)), st.sampled_from([np.float32, np.float64]),
       st.integers(-4, 3), st.booleans(), st.booleans(), st.booleans(), st.booleans(),
       st.lists(st.sampled_from(SPECIAL), min_size=4, max_size=4))
def test_random_reductions_at_chain_ends_agree_to_the_bit(shape, kind, dtype, axis_pick, keepdims,
                                                          keep, specials, as_tuple, values):
    ndim = len(shape)
    if axis_pick >= ndim or axis_pick < -ndim - 1:
        axis = None if axis_pick % 2 else "none"
    elif axis_pick == -ndim - 1:
        axis = tuple(range(ndim))  # every axis, spelled out
    else:
        axis = (axis_pick,) if as_tuple else axis_pick
    size = int(np.prod(shape))
    reduced = [shape[a] for a in (range(ndim) if axis in (None, "none") else np.atleast_1d(axis))]
    if kind != "sum" and 0 in reduced:
        return  # NumPy refuses: no maximum of nothing
    f = chain(kind, axis, keepdims if axis != "none" else False, keep)
    plain, fused = cr.jit(f), cr.jit(f, fuse="wait")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _call in range(3):
            x = (rng.normal(size=size) * 10.0 ** rng.integers(-3, 3, size)).astype(dtype)
            if specials and size:
                x[rng.integers(0, size, 4)] = values
            x = x.reshape(shape)
            b = rng.normal(size=shape[-1:]).astype(dtype)
            same_bits(plain(x, b), fused(x, b))
    assert plain.traces == fused.traces == 1


def test_reductions_that_fuse_and_those_that_stay_numpy_calls():
    def count(kind, shape, axis, dtype=np.float64):
        f = cr.jit(chain(kind, axis, False, False), fuse="wait")
        x = rng.normal(size=shape).astype(dtype)
        f(x, np.ones(shape[-1:], dtype))
        return fused_reductions(f)

    assert count("sum", (64, 128), 0) == 1  # an axis before the last: in order
    assert count("sum", (64, 10), 1) == 1  # runs of 10: pairwise as NumPy
    assert count("sum", (8, 16), None) == 1  # 128 elements in all: one pairwise block
    assert count("max", (300, 300), None) == 1  # max and min: any length
    assert count("sum", (4, 129), 1) == 0  # runs longer than one block: NumPy's recursion
    assert count("sum", (300,), None) == 0
    assert count("sum", (0, 5), 0) == 0  # empty arrays: NumPy's call
    ints = cr.jit(lambda x: cnp.sum(x * 2 + 1, axis=0), fuse="wait")
    ints(np.arange(20).reshape(4, 5))
    assert fused_reductions(ints) == 0  # integers: not fused


def test_nan_and_signed_zero_in_max_and_min_as_numpy():
    for kind in ("max", "min"):
        f = cr.jit(chain(kind, 1, True, False), fuse="wait")
        g = cr.jit(chain(kind, 1, True, False))
        x = np.array([[0.0, -0.0, 0.0], [-0.0, 0.0, -0.0], [1.0, np.nan, 2.0], [np.nan, -np.inf, 0]])
        b = np.zeros(3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning NumPy does not give
            for sign in (1.0, -1.0):
                same_bits(g(sign * x, b), f(sign * x, b))
        assert fused_reductions(f) == 1


def test_a_reduction_read_by_python_is_numpys_own():
    def f(x):
        s = cnp.sum(x * 2.0 + 1.0, axis=0)
        return s * 2.0 if float(s[0]) > 0 else s

    fused = cr.jit(f, fuse="wait")
    x = rng.normal(size=(4, 3)) + 1.0
    same_bits(fused(x), cr.jit(f)(x))
    assert fused_reductions(fused) == 0


def test_gradient_of_a_fused_reduction_program_is_checked_against_finite_differences():
    def loss(w, x):
        h = cnp.tanh(x @ w)
        return cnp.sum(cnp.max(h * h - 0.5 * h, axis=1)) + cnp.sum(cnp.sum(h * 0.3, axis=0) ** 2)

    x, w = rng.normal(size=(12, 5)), rng.normal(size=(5, 4))
    grad = cr.jit(cr.grad(loss), fuse="wait")
    g = grad(w, x)
    assert fused_reductions(grad) >= 1
    eps, fd = 1e-6, np.zeros_like(w)
    for i in np.ndindex(w.shape):
        d = np.zeros_like(w)
        d[i] = eps
        fd[i] = (loss(w + d, x) - loss(w - d, x)) / (2 * eps)
    assert np.allclose(g, fd, rtol=1e-6, atol=1e-8)


SCRIPT = """
import sys
import numpy as np, chainrule as cr, chainrule.numpy as cnp
def f(x, b):
    h = cnp.tanh(x) * (1.0 - b * b)
    return cnp.sum(h, axis=0), cnp.max(h * 2.0 + 1.0, axis=1, keepdims=True), h
g = cr.jit(f, fuse="wait")
x = np.linspace(-2, 2, 12 * 9, dtype=np.float32).reshape(12, 9)
b = np.linspace(0, 1, 9, dtype=np.float32)
out = g(x, b)
print(g.programs[0].n_calls, "numba" in sys.modules)
print(" ".join(np.asarray(o).tobytes().hex() for o in g(x, b)))
"""


def test_a_second_process_loads_the_reduction_loops_from_the_cache_without_numba(tmp_path):
    env = {"CHAINRULE_FUSED_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT / "src"),
           "PATH": "/usr/bin:/bin"}
    runs = [subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                           check=True).stdout.splitlines() for _ in range(2)]
    (loops,) = tmp_path.glob("*.loops")
    layouts = [entry.get("layout") for entry, _ in fusion.fused_objects._read(loops).values()]
    assert any(layouts)  # a generalized ufunc's loop is in the file
    calls, imported = runs[0][0].split()
    assert imported == "True" and runs[1][0] == f"{calls} False"  # loaded without Numba
    assert runs[1][1] == runs[0][1]  # the same bits


def test_writes_and_unusual_arguments_keep_the_reduction_a_numpy_call():
    def f(x):
        h = x * 2.0 + 1.0
        h[0] = 5.0  # a write between the chain and its sum: the sum reads it
        return (cnp.sum(h, axis=0), cnp.sum(x * 3.0 - 1.0, axis=0, dtype=np.float64),
                cnp.max(x * 0.5 + 1.0, axis=(0, 1)))  # two of three axes

    fused = cr.jit(f, fuse="wait")
    x = rng.normal(size=(4, 3, 2)).astype(np.float32)
    same_bits(fused(x), f(x))
    same_bits(fused(x + 1), f(x + 1))
    assert fused_reductions(fused) == 0


@pytest.mark.parametrize("method", ["sum", "max", "min"])
def test_a_reduction_method_of_a_traced_plain_array_fuses_as_the_function(method):
    # x.sum(axis) of a traced plain array is recorded as NumPy's method (its meaning in
    # the plain call), which ends a chain as np.sum(x, axis) does
    f = cr.jit(lambda x: getattr(cnp.sin(x) * 2.0, method)(axis=1), fuse="wait")
    x = rng.normal(size=(16, 10))
    for _ in range(3):
        same_bits(f(x), getattr(np.sin(x) * 2.0, method)(axis=1))
    assert fused_reductions(f) == 1
