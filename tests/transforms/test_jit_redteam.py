"""cr.jit on programs written the way other libraries' users write them: each case is
called jitted and plain on several inputs that change between calls, and the results
must agree to the last bit (signed zeros, NaN positions, dtypes, Python types)."""

import collections
import copy
import itertools
import types

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import run_both, same

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.scipy.stats as stats

SIGNED = [np.array([0.0, 1.0]), np.array([-0.0, 1.0]), np.array([-1.0, -0.0]),
          np.array([2.0, -3.0]), np.array([0.0, 1.0])]


# -- jacobians: the unit basis takes the same path jitted and plain -----------------------
@pytest.mark.parametrize("transform", [cr.jacfwd, cr.jacrev, cr.hessian])
@pytest.mark.parametrize("fun", [
    lambda a: a * a[0],
    lambda a: a[0] * a,
    lambda a: a * -cnp.abs(a),
    lambda a: a * np.array([-1.0, 2.0]),
    lambda a: a @ cnp.diag(a),
    lambda a: a @ cr.stop_gradient(cnp.outer(a, -a)),
    lambda a: cnp.reshape(a, (2, 1)) * a[1],
], ids=["a*a0", "a0*a", "a*-abs", "a*const", "a@diag", "a@outer", "reshape*a1"])
def test_jacobians_with_signed_zeros_match_the_plain_call(transform, fun):
    run_both(transform(fun), [(x,) for x in SIGNED])


# -- state the function reads besides its arguments, changed between calls ----------------
class _Slotted:
    __slots__ = ("v",)

    def __init__(self):
        self.v = 1.0


settings_in_memory = types.ModuleType("settings_in_memory")  # a module of the user's, no file
settings_in_memory.LR = 1.0


def _scaled_by_attribute(x):
    return x * _scaled_by_attribute.scale


def _state_cases():
    """(name, function, change(k)): the change is made before call k."""
    deque = collections.deque([1.0])
    numbers = {1.0}
    slotted = _Slotted()
    _scaled_by_attribute.scale = 1.0
    return [
        ("deque", lambda x: x * sum(deque), lambda k: deque.append(float(k))),
        ("set", lambda x: x * len(numbers), lambda k: numbers.add(k + 5.0)),
        ("slots", lambda x: x * slotted.v, lambda k: setattr(slotted, "v", [1.0, -0.0, 2.0][k])),
        ("function attribute", _scaled_by_attribute,
         lambda k: setattr(_scaled_by_attribute, "scale", [1.0, 2.0, -0.0][k])),
        ("module without a file", lambda x: x * settings_in_memory.LR,
         lambda k: setattr(settings_in_memory, "LR", float(k))),
        ("module in a closure", (lambda m: lambda x: x * m.LR)(settings_in_memory),
         lambda k: setattr(settings_in_memory, "LR", [2.0, -0.0, 3.0][k])),
    ]


@pytest.mark.parametrize("name, fun, change", _state_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_changes_to_what_the_function_reads_are_seen(name, fun, change):
    jitted = cr.jit(fun)
    for k in range(3):
        change(k)
        x = np.arange(3.0) - k
        assert same(jitted(x), fun(x)), name


def test_traced_values_stored_in_a_global_deque_or_slot_are_arrays():
    log = collections.deque(maxlen=4)
    holder = _Slotted()

    def step(x):
        y = x * 2
        log.append(cnp.sum(y))
        holder.v = y
        return y

    jitted = cr.jit(step)
    for k in range(3):
        jitted(np.ones(2) * k)
        assert isinstance(holder.v, np.ndarray) and same(holder.v, np.ones(2) * 2 * k)
    assert [type(v) for v in log] == [np.float64] * 3 and [float(v) for v in log] == [0.0, 4.0, 8.0]


# -- Python values read from traced arrays: types as the plain call's ---------------------
@pytest.mark.parametrize("fun", [
    lambda x: x.size,
    lambda x: (x.size, {"n": x[0].size}),
    lambda x: repr(x * 2),
    lambda x: repr(x[0]),
    lambda x: str([x[0], x[1]]),
    lambda x: f"{x!r}",
], ids=["size", "size in tree", "repr", "repr scalar", "str of list", "format r"])
def test_values_python_reads_have_the_plain_types(fun):
    run_both(fun, [(np.array([1.0, -0.0, 2.0]),), (np.array([3.0, 0.0, np.nan]),), (np.ones(2),)])


# -- a model returned by the step: its buffers are the step's, not the trace's ------------
def _bn_step(model, x):
    loss, grads = cr.value_and_grad(lambda m: cnp.sum(m(x) ** 2))(model)
    return cr.tree_map(lambda p, g: p - 0.1 * g, model, grads), loss


@pytest.mark.parametrize("step", [
    _bn_step,
    lambda m, x: (m, cnp.sum(m(x))),
    lambda m, x: (cr.tree_map(lambda p: p * 1.0, m), cnp.sum(m(x))),
], ids=["grad step", "model itself", "tree_map"])
def test_returned_model_has_the_updated_buffers(step):
    def run(fun):
        cr.nn.init.manual_seed(0)
        model = cr.nn.Sequential(cr.nn.Linear(3, 3), cr.nn.BatchNorm1d(3))
        seen = []
        with cr.no_grad():
            for k in range(3):
                x = np.arange(15.0).reshape(5, 3) * (k + 1) - 7.0
                model, loss = fun(model, x)
                # the buffers are eager Tensors, readable as arrays, as after the plain call
                seen.append((np.asarray(loss), *(np.array(b) for b in model[1].buffers()),
                             *(type(b._trace).__name__ for b in model[1].buffers())))
        return seen

    for got, want in zip(run(cr.jit(step)), run(step), strict=True):
        assert all(same(g, w) for g, w in zip(got, want, strict=True))


class _Boxed:
    def __init__(self, a, meta):
        self.a, self.meta = a, meta


cr.register_pytree_node(_Boxed, lambda b: ((b.a,), b.meta), lambda meta, children: _Boxed(children[0], meta))


def test_traced_values_in_a_registered_class_aux_data_are_not_replayed_stale():
    def fun(x):
        return _Boxed(x * 2, {"scale": cnp.sum(x)})

    jitted = cr.jit(fun)
    with pytest.warns(UserWarning, match="aux data"):
        jitted(np.arange(3.0))
    for k in range(1, 4):
        got, want = jitted(np.arange(3.0) + k), fun(np.arange(3.0) + k)
        assert same(got.a, want.a) and same(got.meta, want.meta)


# -- ndarray methods inside jit take NumPy's keywords and give NumPy's results -------------
_MASK = np.array([[True, False, True], [False, True, True]])
_METHOD_INPUTS = [np.arange(6.0).reshape(2, 3) - 2.5, np.asfortranarray([[0.0, -0.0, np.nan], [np.inf, -1.0, 1.0]]),
                  np.array([[3.0, -2.0, 0.5], [1.0, 7.0, -0.0]])]


@pytest.mark.parametrize("method", [
    lambda x: x.sum(where=_MASK, initial=1.0),
    lambda x: x.sum(axis=1, where=_MASK),
    lambda x: x.max(initial=5.0),
    lambda x: x.max(axis=0, initial=-1.0, where=_MASK),
    lambda x: x.min(initial=-5.0),
    lambda x: x.mean(where=_MASK),
    lambda x: x.mean(axis=0, where=_MASK),
    lambda x: x.prod(where=_MASK, initial=2.0),
    lambda x: x.std(where=_MASK),
    lambda x: x.var(ddof=1, where=_MASK),
    lambda x: x.var(axis=1, keepdims=True, mean=x.mean(axis=1, keepdims=True)),
    lambda x: (x > 0).all(where=_MASK),
    lambda x: (x > 0).any(axis=0, where=_MASK),
    lambda x: x.copy(order="F").ravel(order="K"),
    lambda x: x.T.copy().ravel(order="K"),
    lambda x: x.T.copy(order="K").ravel(order="K"),
    lambda x: x[0, 1].copy(),
    lambda x: x.T.astype(np.float32, order="C").ravel(order="K"),
    lambda x: x.astype(np.float32, order="F").ravel(order="K"),
    lambda x: x.T.astype(np.float32, order="A").ravel(order="K"),
    lambda x: x.sum().astype(np.float32, order="C"),
    lambda x: x.take([0, 7], mode="clip"),
    lambda x: (x.itemsize, x.nbytes, x[0].nbytes),
    lambda x: x.view() * 2,
    lambda x: (0.5 in x, 1.0 in x, np.nan in x),
    lambda x: copy.deepcopy(x) * 2,
    lambda x: np.sort(x.ravel()).searchsorted(0.0),
    lambda x: (x > 0).astype(int).choose([1.0, 2.0]),
    lambda x: x.compress([True, False], axis=0),
], ids=["sum where initial", "sum axis where", "max initial", "max axis initial where", "min initial",
        "mean where", "mean axis where", "prod where initial", "std where", "var ddof where", "var mean",
        "all where", "any where", "copy F", "copy of transpose", "copy K", "copy scalar",
        "astype C", "astype F", "astype A", "astype 0-d", "take clip",
        "itemsize nbytes", "view", "in", "deepcopy", "searchsorted", "choose", "compress"])
def test_ndarray_methods_match_the_plain_call(method):
    run_both(method, [(x,) for x in _METHOD_INPUTS])


@pytest.mark.parametrize("method, out", [
    (lambda x, out: x.max(axis=0, out=out), np.zeros(3)),
    (lambda x, out: x.cumsum(out=out), np.zeros(6)),
    (lambda x, out: (x.put([0, 4], [5.0, 6.0]), x)[1], None),
    (lambda x, out: (x.view().__setitem__((0, 0), 9.0), x)[1], None),
], ids=["max out", "cumsum out", "put", "write through view"])
def test_ndarray_methods_that_write_match_the_plain_call(method, out):
    run_both(method, [(x, None if out is None else out.copy()) for x in _METHOD_INPUTS])


def test_astype_with_a_casting_rule_raises_as_numpy():
    jitted = cr.jit(lambda x: x.astype(np.int32, casting="safe"))
    with pytest.raises(TypeError, match="according to the rule 'safe'"):
        jitted(np.ones(2))
    with pytest.raises(TypeError, match="according to the rule 'safe'"):
        np.ones(2).astype(np.int32, casting="safe")


# -- NumPy functions whose result's length depends on the values ---------------------------
@pytest.mark.parametrize("fun", [np.intersect1d, np.union1d, np.setdiff1d, np.setxor1d, np.polydiv, np.polymul])
def test_value_shaped_functions_are_checked_on_replay(fun):
    a = np.array([1.0, 2.0, 3.0, 4.0])
    calls = [(a, np.array([1.0, 2.0, 9.0, 9.0])), (a, np.array([7.0, 8.0, 9.0, 9.0])),
             (np.array([0.0, 0.0, 1.0, 2.0]), np.array([0.0, 0.0, 1.0, 1.0])), (a, np.array([1.0, 2.0, 9.0, 9.0]))]
    run_both(lambda x, y: [np.shape(r) for r in (fun(x, y) if isinstance(fun(x, y), tuple) else (fun(x, y),))],
             calls)


def _counting_generator():
    k = 0
    while True:
        yield k
        k += 1


@pytest.mark.parametrize("make", [
    lambda: iter(range(100)),
    lambda: itertools.count(),
    _counting_generator,
], ids=["list iterator", "itertools.count", "generator"])
def test_an_iterator_read_besides_the_arguments_runs_plain(make):
    def build():
        source = make()
        return lambda x: x * next(source)

    plain, jitted = build(), cr.jit(build())
    with pytest.warns(UserWarning, match="iterator"):
        assert same(jitted(np.ones(2)), plain(np.ones(2)))
    for _ in range(3):
        assert same(jitted(np.ones(2)), plain(np.ones(2)))


_FACTOR = [1.0]


def _reads_factor(x):
    return x * _FACTOR[0]


@pytest.mark.parametrize("options", [{}, {"static_argnums": 0}], ids=["traced", "static"])
def test_a_function_passed_as_an_argument_has_its_state_watched(options):
    def apply(f, x):
        return f(x)

    jitted = cr.jit(apply, **options)
    for value in (1.0, 2.0, -0.0):
        _FACTOR[0] = value
        assert same(jitted(_reads_factor, np.ones(2)), apply(_reads_factor, np.ones(2)))


# -- Python's own arithmetic: a number on the left of a NumPy float64 ---------------------
class _MyFloat(float):
    pass


class _MyComplex(complex):
    pass


@pytest.mark.parametrize("fun", [
    lambda x: 1j + x[0],
    lambda x: 1j - x[0],
    lambda x: (2 + 1j) * x[0],
    lambda x: 1j / x[1],
    lambda x: 1j ** x[0],
    lambda x: _MyFloat(2.0) * x[0],
    lambda x: __import__("fractions").Fraction(1, 2) + x[0],
    lambda x: x[0] + 1j,  # NumPy's: complex128
    lambda x: 1j + x,  # an array: NumPy's
    lambda x: 2.0 * x[0],  # float's own is overridden by float64's: NumPy's
    lambda x: 1j + x.astype(np.complex128)[0],  # complex128: NumPy's own
    lambda x: _MyComplex(1j) + x.astype(np.complex128)[0],
    lambda x: (x[0] == None, None != x[1], x == None),  # noqa: E711 (a scalar's is Python's)
], ids=["complex+", "complex-", "complex*", "complex/", "complex**", "float subclass",
        "fraction", "float64+complex", "array", "float*float64", "complex+complex128",
        "complex subclass+complex128", "== None"])
def test_python_numbers_left_of_a_float64_give_the_plain_types(fun):
    run_both(fun, [(np.array([1.0, 2.0]),), (np.array([-0.0, 3.0]),), (np.array([2.5, -1.0]),)])


# -- NumPy functions without a derivative, on values nothing differentiates ---------------
STRINGS = [(np.array(["ab", "b"]),), (np.array(["bb", "a"]),), (np.array(["aa", "aa"]),)]
INTEGERS = [(np.array([4, 6]),), (np.array([3, 9]),), (np.array([0, -2]),)]


def _with_itemsize(strings):
    return strings, strings.dtype.itemsize  # Python reads the dtype: checked on replay


@pytest.mark.parametrize("fun, calls", [
    (np.char.upper, STRINGS),
    (lambda x: _with_itemsize(np.char.replace(x, "a", "ccc")), STRINGS),  # dtype from values
    (lambda x: np.strings.str_len(x) * 2, STRINGS),
    (lambda x: np.array2string(x), INTEGERS),  # a string: read from the values
    (lambda x: np.gcd(x, 6), INTEGERS),
    (np.lcm.reduce, INTEGERS),
    (lambda x: np.bitwise_count(x + 1), INTEGERS),
    (lambda x: cnp.arange(x[0], 10, 3), INTEGERS),  # the mirror's re-export: its length from values
    (lambda x: stats.rankdata(x * -1.5), INTEGERS),
], ids=["char.upper", "char.replace", "str_len", "array2string", "gcd", "lcm.reduce", "bitwise_count",
        "cnp.arange", "rankdata"])
def test_numpy_functions_without_a_derivative_are_recorded(fun, calls):
    run_both(fun, calls)


def test_numpy_functions_without_a_derivative_still_refuse_a_gradient():
    with pytest.raises(TypeError, match="numpy.upper is not differentiable"):
        cr.jit(cr.grad(lambda x: cnp.sum(np.char.upper(x))))(np.array([4.0, 6.0]))


@pytest.mark.parametrize("exponent", [2, 2.0, True, 3, 0.5], ids=repr)
def test_powers_of_booleans_have_numpys_dtype(exponent):
    # NumPy computes bools ** 2 as square (int8), bools ** 3 with power (int64)
    run_both(lambda b: b ** exponent, [(np.array([True, False]),), (np.array([[False], [True]]),)])


# -- eager Tensors without grad among the arguments: PyTorch's result dtypes --------------
def _f32(*values):
    return cr.tensor(np.array(values, dtype=np.float32))


@pytest.mark.parametrize("fun, make", [
    (lambda a, b: a + b, lambda k: (_f32(1.0, k), cr.tensor(np.array(2.0 + k)))),
    (lambda a, b: a * np.float64(2.0) - b[0], lambda k: (_f32(1.0, k), cr.tensor(np.array([k, 1.0])))),
    (lambda a, b: a + b, lambda k: (cr.tensor(np.array([1, k])), _f32(0.5))),
    (lambda a, b: cnp.sum(a * b) / cnp.sum(b), lambda k: (_f32(1.5, -k), cr.tensor(np.array([1, k])))),
    (lambda a, b: (a[0] + b, 1j + a[1]), lambda k: (cr.tensor(np.array([1.0, k])), np.float32(3))),
    (lambda a, b: cnp.maximum(a, b) ** 2, lambda k: (_f32(-1.0, k), cr.tensor(np.array(0.5)))),
    (lambda a, b: (a ** 2, b ** 2), lambda k: (cr.tensor(np.array([True, k > 0])), np.array([k > 2]))),
], ids=["f32+0d f64", "f32*np.float64", "int+f32 0d", "masked mean", "0d with numbers", "maximum",
        "bools ** 2"])
def test_eager_tensor_arguments_keep_the_eager_result_dtypes(fun, make):
    jitted = cr.jit(fun)

    def plain(v):  # the values and dtypes; the plain call gives eager Tensors, jit arrays
        if isinstance(v, tuple):
            return tuple(map(plain, v))
        return np.asarray(v.numpy() if isinstance(v, cr.Tensor) else v)

    for k in (2.0, 3.0, -0.0):
        got, want = plain(jitted(*make(k))), plain(fun(*make(k)))
        assert same(got, want), (got, want)
    assert jitted.traces == 1



def _sorted_in_place(a):
    h = a * 1.0
    h.sort()  # PyTorch's sort returns (values, indices) and leaves h as it is
    return h


@pytest.mark.parametrize("fun", [
    _sorted_in_place,
    lambda a: a.sort()[0] + a.sort()[1],
    lambda a: (a * 2.0).repeat(2),
    lambda a: a.std() + a.var(),
    lambda a: (a + 1.0).std(0),
    lambda a: cnp.reshape(a * 1.0, (3, 1)).flatten(),
    lambda a: (a * 1.0).max() + (a * 1.0).nonzero()[0][0],
    lambda a: cnp.reshape(a, (1, 3)).flip(0) * 2.0,
], ids=["x.sort()", "sort()", "repeat", "std var", "std(0)", "flatten", "max nonzero", "flip"])
def test_eager_tensor_arguments_keep_pytorchs_methods(fun):
    # the methods NumPy and PyTorch both have with other meanings: PyTorch's, on values
    # computed from an eager Tensor, as the plain call computes them
    jitted = cr.jit(fun)

    def value(v):
        return np.asarray(v.numpy() if isinstance(v, cr.Tensor) else v)

    with cr.no_grad():
        for k in (2.0, 3.0, -0.5):
            t = cr.tensor(np.array([3.0, k, 1.0]))
            got, want = value(jitted(t)), value(fun(t))
            assert same(got, want), (got, want)


SCALE = np.ones(2)  # float64, read besides the arguments


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("take_array", [False, True], ids=["kept", "numpy()"])
def test_a_modules_output_then_numpy_arithmetic_has_the_plain_calls_dtype(take_array):
    # a module's float32 parameters make its output an eager Tensor in the plain call:
    # kept, arithmetic with float64 values is PyTorch's (float32); taken with .numpy(), the
    # steps after it are NumPy's (float64), and under jit .numpy() runs the call plain
    def step(x, bn):
        out = bn(cnp.reshape(x, (2, 2))).reshape(4)
        out = out.numpy() if take_array else out
        return out * float(SCALE[0]) + cnp.sum(SCALE)

    jitted = cr.jit(step)
    mine, theirs = cr.nn.BatchNorm1d(2), cr.nn.BatchNorm1d(2)
    with cr.no_grad():
        for dtype in (np.float64, np.float64, np.float32, np.float32):
            x = np.array([0.0, 1.0, -2.0, 4.0], dtype=dtype)
            got, want = jitted(x, mine), step(x, theirs)
            want = want.numpy() if isinstance(want, cr.Tensor) else want
            assert same(np.asarray(got), np.asarray(want)), (got, want)
            for k, v in theirs.state_dict().items():
                assert same(mine.state_dict()[k].numpy(), v.numpy()), k


def _made_inside(x):
    return x * cr.tensor(2.0) + cr.tensor([1.0, -0.0])


def _mutated_after_use(x):
    c = cr.tensor(np.zeros(2))
    y = x + c
    c.add_(1.0)  # the program keeps the value it had when used
    return y + c


def _numpy_of_an_argument(x):
    a = x.numpy()  # PyTorch's; the plain call shares the argument's memory
    a[0] = 5.0
    return x * 2


def _values(v):
    return np.asarray(v.numpy() if isinstance(v, cr.Tensor) else v)


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("fun, make", [
    (_made_inside, lambda k: np.array([1.0, k], dtype=np.float32)),
    (_made_inside, lambda k: _f32(1.0, k)),
    (_mutated_after_use, lambda k: np.array([1.0, k])),
    (_numpy_of_an_argument, lambda k: cr.tensor(np.array([1.0, k]))),
    (cr.grad(lambda x: cnp.sum(x * cr.tensor(3.0))), lambda k: np.array([1.0, k])),
], ids=["made inside", "made inside, eager argument", "mutated after use", "numpy()", "grad"])
def test_eager_tensors_without_grad_in_the_function_are_constants(fun, make):
    jitted = cr.jit(fun)
    for k in (2.0, -0.0, 3.0):
        mine, theirs = make(k), make(k)
        got, want = jitted(mine), fun(theirs)
        assert same(_values(got), _values(want)), (got, want)
        assert same(_values(mine), _values(theirs))


def test_a_global_eager_tensor_is_watched_as_its_array():
    scale = cr.tensor(np.array([1.0, 2.0]))
    jitted = cr.jit(lambda x: x * scale)
    # eager Tensors (without grad), as the plain call gives them
    assert same(jitted(np.ones(2)), cr.tensor([1.0, 2.0]))
    scale.add_(1.0)  # written in place
    assert same(jitted(np.ones(2)), cr.tensor([2.0, 3.0]))
    scale.data = cr.tensor(np.array([5.0, 5.0]))  # its array rebound
    assert same(jitted(np.ones(2)), cr.tensor([5.0, 5.0]))
    assert jitted.traces == 3


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("fun", [
    lambda x: lambda: x * 2,
    lambda x: [lambda: x + 1, x * 3],
    lambda x: {"scale": (lambda y: lambda v: v * y)(cnp.sum(x))},
], ids=["closure", "closure in a list", "nested closure"])
def test_a_function_returned_over_traced_values_works_after_the_call(fun):
    jitted = cr.jit(fun)

    def called(r):  # the functions among the result, called
        if callable(r):
            r = r() if r.__code__.co_argcount == 0 else r(np.arange(2.0))
        if isinstance(r, dict):
            return {k: called(v) for k, v in r.items()}
        return [called(v) for v in r] if isinstance(r, list) else r

    for k in (1.0, -0.0, 2.0):
        got, want = called(jitted(np.array([k, 2.0]))), called(fun(np.array([k, 2.0])))
        assert same(got, want), (got, want)


def _write_through_flat(x):
    x.flat[0] = 7.0
    return x * 2


def _write_through_a_dtype_view(x):
    bits = x.view(np.int64)
    bits[1] = 0  # +0.0
    return x * 1.0, bits


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("fun", [
    lambda x: x.tobytes(),
    lambda x: list(x.flat),
    _write_through_flat,
    lambda x: x[0].tobytes(),
    _write_through_a_dtype_view,
    lambda x: x.view(np.uint64) >> 63,  # the sign bits
    lambda x: x.dumps(),
    lambda x: (x.data[0], bytes(x.data)),  # NumPy's memoryview (PyTorch's .data is a Tensor's)
], ids=["tobytes", "flat", "flat write", "scalar tobytes", "view write", "sign bits", "dumps", "data"])
def test_ndarray_attributes_a_tensor_lacks_are_the_ndarrays(fun):
    run_both(fun, [(x,) for x in SIGNED])


def test_ndarray_attributes_a_tensor_lacks_still_raise_inside_grad():
    with pytest.raises(AttributeError, match="no attribute 'tobytes'"):
        cr.jit(cr.grad(lambda x: x.tobytes()))(np.ones(2))


class _Scaled(cr.nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = cr.tensor(np.array(2.0))  # a plain attribute, not a buffer

    def forward(self, x):
        return x * self.scale


class _Config:
    def __init__(self):
        self.scale = cr.tensor(np.array([1.0, 2.0]))


@pytest.mark.parametrize("make", [_Scaled, _Config], ids=["module attribute", "object attribute"])
def test_an_eager_tensor_attribute_of_an_argument_is_read_anew(make):
    fun = (lambda m, x: m(x)) if make is _Scaled else (lambda c, x: x * c.scale)
    jitted, mine, theirs = cr.jit(fun), make(), make()
    for step in range(3):
        with cr.no_grad():
            got, want = jitted(mine, np.ones(2)), fun(theirs, np.ones(2))
        assert same(_values(got), _values(want)), (got, want)
        for obj in (mine, theirs):
            if step == 0:
                obj.scale.add_(1.0)  # written in place
            else:
                obj.scale.data = cr.tensor(np.array(-0.0))  # rebound
