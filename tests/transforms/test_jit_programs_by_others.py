"""cr.jit on small programs written without the engine in mind: each is called jitted
and plain over several calls whose inputs change, and the results must agree to the
last bit (types of arrays and scalars, signed zeros, NaN positions); fused programs
agree with the plain call within docs/jit.md's bounds, which are 0 ulps for
arithmetic, comparisons, maximum and minimum."""

import array
import asyncio
import collections
import copy
import dataclasses
import functools
import operator
import os
import pickle
import sys
import threading
import types
import warnings

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from tests.transforms.test_jit_soundness import run_both, same

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import nn, tree_util
from chainrule.transforms import fuse as fusion

needs_numba = pytest.mark.skipif(not fusion.available(), reason="fuse=True needs Numba (the [fast] extra)")
rng = np.random.default_rng(0)


class Tagged(np.ndarray):
    """An ndarray subclass without operators of its own: NumPy's results keep the class
    and, through ``__array_finalize__``, the tag."""

    def __array_finalize__(self, obj):
        self.tag = getattr(obj, "tag", None)


def tagged(values, tag):
    a = np.asarray(values, dtype=float).view(Tagged)
    a.tag = tag
    return a


@pytest.mark.parametrize("fuse", [False, pytest.param("wait", marks=needs_numba)])
def test_an_ndarray_subclass_keeps_its_class_through_a_replay(fuse):
    def f(x, y):
        return x * 2.0 + y, cnp.sqrt(cnp.abs(x)) - 1.0, x @ y

    calls = [(tagged(rng.normal(size=3), k), rng.normal(size=3)) for k in range(3)]
    calls.insert(1, (rng.normal(size=3), rng.normal(size=3)))  # a plain ndarray between
    jitted = run_both(f, calls, fuse=fuse)
    out = jitted(tagged([1.0, -0.0, 2.0], "t"), np.ones(3))
    assert type(out[0]) is Tagged and out[0].tag == "t" and type(out[1]) is Tagged
    assert jitted.traces == 2


@needs_numba
@pytest.mark.parametrize("fmax", [cnp.fmax, cnp.fmin])
@pytest.mark.parametrize("n", [1, 5, 8, 17])
def test_fmax_and_fmin_of_signed_zeros_fused_as_numpy_gives_them(fmax, n):
    # NumPy's fmax(0.0, -0.0) is 0.0 in its scalar loop and -0.0 in its SIMD one: the
    # signs follow the array's length, and 1 / that is +inf or -inf
    def f(x, y):
        return 1.0 / fmax(x * 1.0, y - 0.0)

    fused = cr.jit(f, fuse="wait")
    x, y = np.zeros(n), -np.zeros(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for a, b in [(x, y), (y, x), (x, y)]:
            assert same(fused(a, b), f(a, b))


@needs_numba
@pytest.mark.parametrize("fuse", ["wait", True])
def test_a_fused_loop_that_compares_raises_as_the_plain_call_under_warnings_as_errors(fuse):
    # the loop of maximum(1 / x, 0) + 1 runs with NumPy's reports off (compiled NaN
    # comparisons set the CPU's invalid flag): under a filter that makes RuntimeWarnings
    # errors the plain call raises at the division by zero, and so must the jitted one
    def relu_of_inverse(x):
        return cnp.maximum(1.0 / x, 0.0) + 1.0

    fused = cr.jit(relu_of_inverse, fuse=fuse)
    fused(np.ones(3))
    assert fused.wait_compiled(timeout=120)
    assert same(fused(np.array([2.0, -0.5, 4.0])), relu_of_inverse(np.array([2.0, -0.5, 4.0])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning, match="divide by zero"):
            relu_of_inverse(np.zeros(3))
        with pytest.raises(RuntimeWarning, match="divide by zero"):
            fused(np.zeros(3))
        assert same(fused(np.full(3, 2.0)), relu_of_inverse(np.full(3, 2.0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert same(fused(np.array([0.0, -0.0, 1.0])), relu_of_inverse(np.array([0.0, -0.0, 1.0])))
    assert fused.traces == 1


def test_set_default_dtype_between_calls_is_seen():
    # PyTorch users set the default dtype (torch.set_default_dtype); it decides the dtype
    # of the Tensors the function makes from Python floats, so it is part of the key
    def f(x):
        return x + cr.tensor(0.1), cr.zeros(2) + x[:2]

    jitted = cr.jit(f)
    x = np.array([1.0, -0.0, 3.0])
    try:
        for dtype in [None, np.float32, None, np.float32, np.float64]:
            cr.set_default_dtype(dtype)
            for _ in range(2):
                got, want = jitted(x), f(x)
                assert all(same(np.asarray(g), np.asarray(w)) for g, w in zip(got, want, strict=True))
    finally:
        cr.set_default_dtype(None)
    assert jitted.traces == 3


class Scaled(nn.Module):
    """A PyTorch-style module that keeps settings in a dict and a config object."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.cfg = {"gain": 1.0, "act": "relu"}
        self.offsets = [0.0]
        self.opts = types.SimpleNamespace(shift=0.0)

    def forward(self, x):
        y = self.fc(x) * self.cfg["gain"] + self.offsets[-1] + self.opts.shift
        return cnp.maximum(y, 0.0) if self.cfg["act"] == "relu" else cnp.tanh(y)


@pytest.mark.filterwarnings("ignore:chainrule.jit has traced")
def test_module_settings_changed_in_place_between_calls_are_seen():
    changes = [
        lambda m: m.cfg.__setitem__("gain", 3.0),
        lambda m: m.cfg.__setitem__("act", "tanh"),
        lambda m: m.offsets.append(-0.5),
        lambda m: setattr(m.opts, "shift", 2.0),
        lambda m: m.cfg.__setitem__("gain", -0.0),  # -0.0 == 0.0, but not the same product
        lambda m: m.cfg.__setitem__("gain", 0.0),
        lambda m: m.fc.register_forward_hook(lambda mod, args, out: out * 2.0),
        lambda m: m.fc.register_forward_hook(lambda mod, args, out: out - 1.0),  # appended
    ]
    model = Scaled()
    step = cr.jit(lambda m, x: m(x))
    with cr.no_grad():
        for change in [lambda m: None, *changes]:
            change(model)
            for _ in range(2):
                x = rng.normal(size=(4, 3))
                assert same(step(model, x), model(x))  # eager Tensors, as the plain call gives
    assert step.traces == 1 + len(changes)


class Box:
    """A pytree class registered by the user, whose aux data holds settings."""

    def __init__(self, w, meta):
        self.w, self.meta = w, meta


tree_util.register_pytree_node(Box, lambda b: ((b.w,), b.meta), lambda meta, children: Box(children[0], meta))


def test_aux_data_of_a_registered_class_is_keyed_by_its_value_now():
    def f(box, x):
        return box.w * x * box.meta["scale"] + len(box.meta["layers"])

    jitted = cr.jit(f)
    box = Box(np.ones(2), {"scale": 1.0, "layers": [4]})
    for change in [lambda: None, lambda: box.meta.__setitem__("scale", 5.0),
                   lambda: box.meta["layers"].append(8), lambda: box.meta.__setitem__("scale", -0.0),
                   lambda: box.meta.__setitem__("scale", 0.0)]:
        change()
        for _ in range(2):
            x = rng.normal(size=2)
            assert same(jitted(box, x), f(box, x))
    assert jitted.traces == 5

    def g(box, x):
        return box.w * x * box.meta

    jitted = cr.jit(g)
    for scale in [0.0, -0.0, 0.0, np.array([1.0, -0.0])]:
        box = Box(np.ones(2), scale)
        assert same(jitted(box, np.ones(2)), g(box, np.ones(2)))
    box.meta[1] = 3.0  # an array in the aux data, written in place
    assert same(jitted(box, np.ones(2)), g(box, np.ones(2)))


@dataclasses.dataclass
class Particles:
    position: object
    velocity: object
    dt: object


# flattened by dataclasses.astuple, which deep-copies the fields (as some JAX code writes it)
tree_util.register_pytree_node(Particles, lambda p: (dataclasses.astuple(p), None),
                               lambda _, xs: Particles(*xs))


def test_result_of_a_class_whose_flatten_deep_copies_its_fields():
    def step(p):
        v = p.velocity - p.dt * cnp.sin(p.position)
        return Particles(p.position + p.dt * v, v, p.dt * 1.1)

    jitted = cr.jit(step)
    p = q = Particles(np.array([0.3, 1.0]), np.zeros(2), 0.1)
    for _ in range(3):  # the first call traces, the others replay
        p, q = jitted(p), step(q)
        assert all(same(a, b) for a, b in zip(dataclasses.astuple(p), dataclasses.astuple(q),
                                              strict=True))


def _table():
    table = array.array("d", [1.0, 2.0])
    return lambda: table[0], lambda: table.__setitem__(0, 5.0)


def _raw():
    raw = bytearray(b"\x01\x02")
    return lambda: raw[0], lambda: raw.__setitem__(0, 7)


def _chain(new_child):
    settings = collections.ChainMap({"gain": 1.0})
    if new_child:
        return lambda: settings["gain"], lambda: settings.maps.insert(0, {"gain": -0.0})
    return lambda: settings["gain"], lambda: settings.maps[-1].__setitem__("gain", 3.0)


def _sparse(in_place):
    laplacian = scipy.sparse.csr_matrix(np.array([[2.0, -1.0], [-1.0, 2.0]]))
    if in_place:  # SciPy's own arrays
        return lambda: laplacian.data[0], lambda: laplacian.data.__setitem__(0, 4.0)
    return lambda: laplacian[1, 1], lambda: laplacian.__setitem__((1, 1), -3.0)


@pytest.mark.parametrize("make", [_table, _raw, lambda: _chain(True), lambda: _chain(False),
                                  lambda: _sparse(True), lambda: _sparse(False)])
def test_buffers_other_mappings_and_a_sparse_matrix_read_besides_the_arguments(make):
    read, change = make()

    def f(x):
        return x * read()

    jitted = cr.jit(f)
    for k in range(4):
        if k == 2:
            change()
        x = rng.normal(size=2)
        assert same(jitted(x), f(x))
    assert jitted.traces == 2


def test_generator_and_coroutine_functions_run_without_jit():
    def powers(x):
        for k in range(3):
            yield x ** k

    async def doubled(x):
        return x * 2.0

    jitted, jitted_async = cr.jit(powers), cr.jit(doubled)
    with pytest.warns(UserWarning, match="generator or coroutine function"):
        for x in [np.array([2.0, -0.0]), np.array([3.0, 1.0])]:
            assert all(same(a, b) for a, b in zip(jitted(x), powers(x), strict=True))
    with pytest.warns(UserWarning, match="generator or coroutine function"):
        assert same(asyncio.run(jitted_async(np.ones(2))), np.full(2, 2.0))


def test_a_generator_among_the_results_is_refused_with_what_to_do():
    def lazy(x):
        return x * 2.0, (x * k for k in range(3))

    with pytest.raises(TypeError, match="returned a generator.*without jit"):
        cr.jit(lazy)(np.ones(2))


def test_a_function_given_new_code_or_defaults_traces_again():
    def scale(x, s=1.0):
        return x * s

    def step(x):
        return scale(x) + 1.0

    jitted = cr.jit(step)
    x = np.array([1.0, -2.0])
    assert same(jitted(x), step(x))
    scale.__defaults__ = (-0.0,)
    assert same(jitted(x), step(x))
    scale.__code__ = (lambda x, s=1.0: x - s).__code__  # as IPython's autoreload does
    assert same(jitted(x), step(x))
    assert jitted.traces == 3


@dataclasses.dataclass
class Report:
    tags: list


SEEN: set = set()


@pytest.mark.parametrize("make", [set, collections.Counter, collections.deque, bytearray,
                                  lambda: Report([]), lambda: types.SimpleNamespace(notes=[])])
def test_a_changeable_object_the_function_makes_is_a_new_one_on_every_call(make):
    def step(x):
        return x * 2.0, make(), SEEN  # SEEN is found, not made: the caller's own

    jitted = cr.jit(step)
    for k in range(3):
        value, made, seen = jitted(np.ones(2))
        assert made == make() and seen is SEEN
        if isinstance(made, Report):
            made.tags.append(k)  # the caller changes what it got
        elif isinstance(made, types.SimpleNamespace):
            made.notes.append(k)
        elif isinstance(made, collections.Counter):
            made[k] += 1
        elif isinstance(made, set):
            made.add(k)
        else:
            made.append(k)
    assert jitted.traces == 1


@pytest.mark.parametrize("fun", [
    lambda t: 0.999 ** (t + 1),  # Adam's bias correction with a float64 step count
    lambda t: t ** 0.37 - 2 ** t,
    lambda t: (t * 1j) * (t + 2j),  # complex products
    lambda t: 1.3 ** (t * np.float32(2.0)),
    lambda t: operator.ipow(t, 0.37),  # t **= 0.37
])
@pytest.mark.parametrize("t", [np.float64(6.0), np.array(6.0), np.float32(6.0), np.complex128(2.0 + 1.0j)])
def test_operators_of_numpy_scalars_are_numpys_scalar_math(fun, t):
    # NumPy's scalar power and complex product round otherwise than its SIMD ufunc loops
    # (by one ulp, on some machines): the plain call's operators are the scalar ones
    jitted = cr.jit(fun)
    for k in range(3):
        value = t + k
        assert same(jitted(value), fun(value))


def test_an_adam_step_with_a_float64_step_count_replays_bitwise():
    def step(w, m, v, t, g):
        t = t + 1
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        return w - 0.01 * (m / (1 - 0.9 ** t)) / (cnp.sqrt(v / (1 - 0.999 ** t)) + 1e-8), m, v, t

    jitted = cr.jit(step)
    mine = theirs = (rng.normal(size=3), np.zeros(3), np.zeros(3), np.array(0.0))
    for _ in range(12):
        g = rng.normal(size=3)
        mine, theirs = jitted(*mine, g), step(*theirs, g)
        assert same(list(mine), list(theirs))


@pytest.mark.parametrize("fun", [lambda n: n + n, lambda n: n * 4 - 1, lambda n: (n + 3) * np.int64(2)])
def test_integer_scalar_overflow_is_reported_as_in_the_plain_call(fun):
    # NumPy's scalar math reports an integer overflow, its ufuncs wrap around silently
    jitted = cr.jit(fun)
    assert same(jitted(np.int64(5)), fun(np.int64(5)))
    big = np.int64(2**62)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning, match="overflow"):
            fun(big)
        with pytest.raises(RuntimeWarning, match="overflow"):
            jitted(big)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        jitted(big)
    assert same(jitted(np.int64(7)), fun(np.int64(7)))


settings = types.ModuleType("settings")  # a module of the user's settings, made in memory
settings.LR = 1.0
GAIN = 1.0
SHIFTS = {"s": 1.0}


@pytest.mark.parametrize("read, change", [
    (lambda: getattr(settings, "LR"), lambda: setattr(settings, "LR", 3.0)),  # noqa: B009
    (lambda: vars(settings)["LR"], lambda: setattr(settings, "LR", -0.0)),
    (lambda: globals()["GAIN"], lambda: globals().__setitem__("GAIN", 2.0)),
    (lambda: eval("GAIN * 2"), lambda: globals().__setitem__("GAIN", 5.0)),  # noqa: S307
    (lambda: getattr(sys.modules[__name__], "SHIFTS")["s"], lambda: SHIFTS.__setitem__("s", 7.0)),  # noqa: B009
])
def test_state_read_by_a_name_spelled_as_a_string_is_watched(read, change):
    def f(x):
        return x * read()

    jitted = cr.jit(f)
    for k in range(4):
        if k == 2:
            change()
        x = np.array([1.0, -2.0]) * (k + 1)
        assert same(jitted(x), f(x))
    assert jitted.traces == 2


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("fun", [
    lambda x: pickle.loads(pickle.dumps(x)) * 2.0,  # noqa: S301 (our own bytes)
    lambda x: bytes(x[0]) + bytes(x),  # the memory, not int(x[0]) zero bytes
])
def test_pickle_and_bytes_of_a_traced_value_are_the_arrays(fun):
    jitted = cr.jit(fun)
    for x in [np.array([3, 1]), np.array([2, 7]), np.array([1.5, -0.0])]:
        assert same(jitted(x), fun(x))


# elementwise operations whose fused loops are NumPy's to the bit (docs/jit.md: 0 ulps),
# on mixed dtypes (float64, float32, int64, bool, Python floats) and their intermediates
_EXACT_UNARY = {
    "neg": lambda a: -a, "square": cnp.square, "reciprocal": cnp.reciprocal, "abs": cnp.abs,
    "sign": cnp.sign, "sqrt": cnp.sqrt, "floor": cnp.floor, "rint": cnp.rint, "not": cnp.logical_not,
    "positive": lambda a: a > 0, "half": lambda a: a * 0.5, "rsub": lambda a: 1.0 - a,
    "rdiv": lambda a: 2.0 / a, "f32": lambda a: a * np.float32(1.5), "isnan": cnp.isnan,
}
_EXACT_BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "max": cnp.maximum, "min": cnp.minimum, "fmax": cnp.fmax,
    "lt": lambda a, b: a < b, "eq": lambda a, b: a == b, "and": cnp.logical_and,
    "where": lambda a, b: cnp.where(a > b, a, b), "where0": lambda a, b: cnp.where(a > 0, b, -0.0),
    "copysign": cnp.copysign,
}
_SPECIALS = [0.0, -0.0, 1.0, -1.0, 2.5, -3.0, np.nan, np.inf, -np.inf, 1e-300, 1e300, 3e38, -7.0]
_KINDS = {
    "f64": lambda v: v, "f32": lambda v: v.astype(np.float32), "bool": lambda v: v > 0,
    "i64": lambda v: np.nan_to_num(v, posinf=5, neginf=-5).clip(-9, 9).astype(np.int64),
    "column": lambda v: v[:1].reshape(1, 1),
}


@needs_numba
@hypothesis_settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(sorted(_KINDS)), min_size=1, max_size=3),
       st.lists(st.tuples(st.sampled_from(sorted(_EXACT_UNARY) + sorted(_EXACT_BINARY)),
                          st.integers(0, 20), st.integers(0, 20)), min_size=2, max_size=8),
       st.lists(st.lists(st.sampled_from(_SPECIALS), min_size=5, max_size=5), min_size=9, max_size=9))
def test_fused_programs_of_mixed_dtypes_agree_with_the_plain_call_to_the_bit(kinds, ops, values):
    def program(*xs):
        vs = list(xs)
        for name, i, j in ops:
            if name in _EXACT_UNARY:
                vs.append(_EXACT_UNARY[name](vs[i % len(vs)]))
            else:
                vs.append(_EXACT_BINARY[name](vs[i % len(vs)], vs[j % len(vs)]))
        if cnp.sum(cnp.abs(vs[-1])) > 1.0:  # a guard on a fused value
            return vs[-1], vs[len(xs)]
        return (vs[-1],)

    plain, fused = cr.jit(program), cr.jit(program, fuse="wait")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for call in range(3):
            xs = [_KINDS[k](np.array(values[3 * call + n])) for n, k in enumerate(kinds)]
            try:
                want = program(*xs)
            except TypeError as e:  # -x of booleans, sign of booleans: refused alike
                for jitted in (plain, fused):
                    with pytest.raises(type(e)):
                        jitted(*xs)
                continue
            got, unfused = fused(*xs), plain(*xs)
            assert same(unfused, want)
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                assert type(g) is type(w) and g.dtype == w.dtype and g.shape == w.shape
                nan = np.isnan(w) if w.dtype.kind == "f" else np.zeros(w.shape, bool)
                assert np.array_equal(np.isnan(g) if g.dtype.kind == "f" else nan, nan)
                assert g[~nan].tobytes() == w[~nan].tobytes()  # signed zeros too; NaN signs may differ
    assert fused.traces == plain.traces


@pytest.mark.parametrize("f, values", [
    # NumPy's fmax(0.0, -0.0) of one element is 0.0, but -0.0 when the output is the
    # first input's memory
    (lambda x, y: x + cnp.fmax(cnp.abs(x), x), [0.0, -0.0, 1.0, -0.0]),
    (lambda x, y: x + cnp.fmin(-cnp.abs(x), -x), [0.0, -0.0, 1.0, 0.0]),
    # power(-inf, 0.5) of one element is inf, but NaN written over its input
    (lambda x, y: (x * 1.0) ** y + 0.0, [4.0, -np.inf, -0.0, -np.inf]),
    # float16: the NaN of arcsin(inf) has the other sign written over its input
    (lambda x, y: cnp.arcsin(x.astype(np.float16) * 1.0) + 0.0, [np.inf, 0.5, np.inf]),
])
def test_results_that_numpy_computes_otherwise_over_their_input_get_buffers_of_their_own(f, values):
    run_both(f, [(np.array([v]), np.array([0.5])) for v in values])


def test_a_module_holding_a_long_list_of_arrays_compares_and_replays():
    model = nn.Linear(2, 2)
    model.history = [np.full(2, float(k)) for k in range(100)]  # longer than described item by item
    twin = copy.deepcopy(model)
    assert tree_util.tree_structure(model) == tree_util.tree_structure(twin)  # arrays by shape
    step = cr.jit(lambda m, x: m(x))
    with cr.no_grad():
        for m in (model, twin, model):
            x = rng.normal(size=(3, 2))
            assert same(step(m, x), m(x))  # eager Tensors, as the plain call gives
        model.history.append(np.ones(2))  # a change in place: another structure
        assert same(step(model, x), model(x))
    # the twin's arrays are others, which a program would read where they are: its own trace
    assert step.traces == 3


@functools.lru_cache(maxsize=4)
def _nodes(n):
    return np.linspace(0.0, 1.0, n) * NODE_SCALE[0]


NODE_SCALE = [1.0]


@functools.cache
def _weight(n):
    return NODE_SCALE[0] * n


@pytest.mark.parametrize("change, traces", [
    (lambda: _nodes.cache_clear(), 5),  # emptied: the next plain call computes anew
    (lambda: (_weight.cache_clear(), _weight(3), _weight(4)), 4),  # and filled by the caller
    (lambda: _weight.cache_clear(), 4),
])
def test_an_lru_cache_cleared_between_calls_is_computed_anew(change, traces):
    # a quadrature rule cached by n, which reads a setting: the cache keeps the value of
    # the setting it was filled under until it is cleared, jitted as plain
    def integrate(x):
        return x * _nodes(3) + _weight(2)

    _nodes.cache_clear()
    _weight.cache_clear()
    NODE_SCALE[0] = 1.0
    jitted = cr.jit(integrate)
    try:
        for k in range(6):
            if k == 2:
                NODE_SCALE[0] = 5.0  # a change the caches do not see: they keep old values
            if k == 4:
                change()
            x = np.array([1.0, -0.0, 2.0]) * k
            assert same(jitted(x), integrate(x))
    finally:
        NODE_SCALE[0] = 1.0
    # the first call, the setting, the cache cleared; and the call after each trace that
    # filled _nodes's cache with an array (which the next trace finds, and reads where it is)
    assert jitted.traces == traces


def test_the_environment_read_by_the_function_is_watched(monkeypatch):
    def scaled(x):
        return x * float(os.environ.get("CHAINRULE_TEST_SCALE", "1")) + float(os.getenv("CHAINRULE_TEST_SHIFT", "0"))

    jitted = cr.jit(scaled)
    for name, value in [(None, None), ("CHAINRULE_TEST_SCALE", "3"), ("CHAINRULE_TEST_SHIFT", "-0.0"),
                        ("CHAINRULE_TEST_SCALE", "3")]:
        if name is not None:
            monkeypatch.setenv(name, value)
        for _ in range(2):
            x = np.array([1.0, 2.0])
            assert same(jitted(x), scaled(x))
    assert jitted.traces == 3


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("fun", [lambda x: np.asarray(x), lambda x: (np.asanyarray(x), x * 2.0),
                                 lambda x: x.conj(), lambda x: (x.conjugate(), np.real(x))])
def test_an_argument_handed_back_by_numpy_is_the_callers_array(fun):
    # np.asarray and the conjugate of a real array return the array itself: what the
    # caller writes into the result reaches the argument, jitted as plain
    jitted = cr.jit(fun)
    for k in range(3):
        x, y = np.arange(3.0) + k, np.arange(3.0) + k
        got, want = jitted(x), fun(y)
        assert same(got, want)
        got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
        assert [g is x for g in got] == [w is y for w in want]
        got[0][0] = want[0][0] = 9.0
        assert same(x, y)


def _clipped(x):
    if x.min() < 0:
        warnings.warn("negative values clipped", UserWarning, stacklevel=1)
        x = np.maximum(x, 0.0)
    return _rooted(x)


def _rooted(x):
    if x.max() > 8.0:
        warnings.warn("large values", RuntimeWarning, stacklevel=2)  # the caller's line
    return np.sqrt(x)


def test_a_warning_the_function_issues_is_issued_again_by_every_replay():
    # shown as often and at the same place as the plain call shows it, and raised under a
    # filter that makes it an error
    jitted = cr.jit(_clipped)
    for action in ["always", "default", "error", "ignore", "always"]:
        for x in [np.array([-1.0, 4.0]), np.array([1.0, 4.0]), np.array([1.0, 9.0])]:
            outcomes = []
            for fun in (_clipped, jitted):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter(action)
                    try:
                        outcome = fun(x.copy())
                    except Warning as e:
                        outcome = repr(e)
                outcomes.append((outcome, [(str(w.message), w.category, w.filename, w.lineno) for w in caught]))
            assert same(outcomes[1][0], outcomes[0][0]) and outcomes[1][1] == outcomes[0][1], (action, x)
    assert jitted.traces == 3


@pytest.mark.parametrize("fun", [lambda x: (str(x), x * 2.0), lambda x: f"loss {x}", lambda x: repr(x[0]),
                                 lambda x: np.array2string(x * 2.0)])
def test_text_made_of_traced_values_follows_numpys_print_options(fun):
    # a log line built inside a step: NumPy's print options of the moment shape it
    jitted = cr.jit(fun)
    x = np.array([1.0 / 3, 2e-9])
    for options in [{}, {"precision": 3}, {"legacy": "1.25"}, {"precision": 3}, {"suppress": True}, {}]:
        with np.printoptions(**options):
            assert same(jitted(x), fun(x))
    assert jitted.traces == 4


def test_print_options_set_inside_the_function_run_it_without_jit():
    def step(x):
        np.set_printoptions(precision=2)
        return str(x)

    jitted = cr.jit(step)
    with np.printoptions():  # put back afterwards
        with pytest.warns(UserWarning, match="print options"):
            for k in range(3):
                np.set_printoptions(precision=8)
                x = np.array([1.0 / 3]) * k
                assert jitted(x) == step(x) and np.get_printoptions()["precision"] == 2


@dataclasses.dataclass
class Particle:
    mass: float
    tags: list


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("fun", [
    lambda ps, x: x * ps[0].mass + len(ps[1].tags),  # attributes of the objects
    lambda ps, x: sum(p.mass for p in ps) * x,
    lambda ps, x: x * len(ps[0].tags) if ps[1] is not None else x,
])
def test_objects_in_an_object_array_are_the_plain_calls(fun):
    # a particle system kept in an object array: its items are Python's objects, as in
    # the plain call, and changes to them between calls are seen
    ps = np.array([Particle(1.0, []), Particle(2.0, ["a"])], dtype=object)
    jitted = cr.jit(fun)
    for k in range(4):
        if k == 2:
            ps[0].mass, ps[1].tags = -0.0, ["a", "b"]
            ps[0].tags.append("c")
        x = np.array([1.0, 2.0]) * k
        assert same(jitted(ps, x), fun(ps, x))


@pytest.mark.filterwarnings("ignore:chainrule.jit")
def test_traces_of_two_threads_that_overlap_both_see_the_entropy_drawn():
    # thread a starts tracing, b starts, a ends first: b must still count a generator
    # made without a seed (its numbers would be built into the program), and the
    # operating system's sources are put back once both are done
    b_started, a_done = threading.Event(), threading.Event()

    def first(x):
        b_started.wait(10)
        return x * 2.0

    def second(x):
        b_started.set()
        a_done.wait(10)
        return x + np.random.default_rng().random()

    urandom = os.urandom
    jitted_a, jitted_b = cr.jit(first), cr.jit(second)
    thread_a = threading.Thread(target=jitted_a, args=(np.ones(2),))
    thread_b = threading.Thread(target=jitted_b, args=(np.ones(2),))
    thread_a.start()
    thread_b.start()
    thread_a.join()
    a_done.set()
    thread_b.join()
    assert os.urandom is urandom
    draws = [jitted_b(np.zeros(2))[0] for _ in range(3)]
    assert len(set(draws)) == 3  # new numbers on every call, as the plain call draws


class Quantity:
    """A user's number with units that takes over NumPy's ufuncs (__array_ufunc__)."""

    def __init__(self, value, unit):
        self.value, self.unit = value, unit

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        values = [q.value if isinstance(q, Quantity) else q for q in inputs]
        return Quantity(getattr(ufunc, method)(*values, **kwargs), self.unit)


class Shifted(np.ndarray):
    """An ndarray subclass whose + is its own."""

    def __add__(self, other):
        return np.subtract(np.asarray(self), other)


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("fun", [
    lambda x: (x * Quantity(2.0, "s")).value,  # ndarray's * hands over to the Quantity
    lambda x: np.add(x, Quantity(np.ones(3), "m")).value + 1.0,
    lambda x: x.view(Shifted) + 1.0,  # the subclass's own +
])
def test_objects_that_take_over_numpys_operators_are_the_plain_calls(fun):
    jitted = cr.jit(fun)
    for k in range(3):
        x = np.array([1.0, -0.0, 2.0]) * k
        assert same(np.asarray(jitted(x)), np.asarray(fun(x)))


class _Priority:  # NumPy's legacy way to take over an operator: a higher __array_priority__
    __array_priority__ = 100

    def __radd__(self, other):
        return "Priority.__radd__"

    def __rmatmul__(self, other):
        return "Priority.__rmatmul__"

    def __gt__(self, other):
        return "Priority.__gt__"


class _OptOut:  # the modern way: __array_ufunc__ = None
    __array_ufunc__ = None

    def __rmul__(self, other):
        return "OptOut.__rmul__"

    def __rmod__(self, other):
        return "OptOut.__rmod__"


@pytest.mark.parametrize("program", [lambda x: x + _Priority(), lambda x: x @ _Priority(), lambda x: x < _Priority(),
                                     lambda x: x * _OptOut(), lambda x: x % _OptOut()])
def test_operands_that_numpy_gives_way_to_get_their_reflected_operator(program):
    """An ndarray's operator hands over to such an operand's reflected one (NumPy's binop
    override): so does a traced value's. The replay gave chainrule's own operation."""
    x = np.ones(2)
    want = program(x)
    jitted = cr.jit(program)
    assert [jitted(x), jitted(x)] == [want, want]
