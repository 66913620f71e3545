"""cr.jit against the plain call where NumPy's own behaviour is easy to miss: the
warnings a call shows (once, when a replay stops early; again on every call, when NumPy
computes a constant), the copy np.array makes, the scalar math of -x and abs(x) on
NumPy integers, the eager layer's own sort and errors for eager Tensor arguments, and
an array's shape or dtype set in place."""

import warnings

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr

rng = np.random.default_rng(0)


@pytest.mark.parametrize("fun, big", [(lambda n: -n, np.int8(-128)), (lambda n: abs(n), np.int64(-2**63)),
                                      (lambda n: -(n * 1), np.uint8(5)), (lambda n: abs(-n) + 1, np.int16(-2**15))])
def test_negation_and_abs_of_integer_scalars_report_overflow_as_in_the_plain_call(fun, big):
    # -x and abs(x) of a NumPy integer scalar are its scalar math (which reports the
    # overflow of -np.int8(-128)); np.negative and np.abs are the ufunc's, which do not
    jitted, ufunc = cr.jit(fun), cr.jit(lambda n: np.abs(np.negative(n)))
    assert same(jitted(big.dtype.type(3)), fun(big.dtype.type(3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in (fun, jitted):
            with pytest.raises(RuntimeWarning, match="overflow"):
                f(big)
        assert same(ufunc(big), np.abs(np.negative(big)))
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        jitted(big)


_SIGNED = np.array([-1.0, 4.0])


@pytest.mark.parametrize("fun, args", [
    (lambda x, eps: x * np.log(eps), (np.ones(2), 0.0)),  # a Python float: a constant
    (lambda x: x + np.int64(2**62) * 4, (np.ones(2, dtype=np.int64),)),
    (lambda x: x * np.sqrt(_SIGNED), (np.ones(2),)),  # a global array, watched, not traced
])
def test_numpys_warnings_on_constants_are_issued_by_every_replay(fun, args):
    # NumPy warns each time the plain call computes the constant; the program holds its
    # value, and issues the warning again where the plain call issues it
    jitted = cr.jit(fun)
    for action in ["always", "default", "error", "always"]:
        for _ in range(2):
            outcomes = []
            for f in (fun, jitted):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter(action)
                    try:
                        f(*args)
                    except RuntimeWarning as e:
                        caught.append(e)
                outcomes.append([(str(getattr(w, "message", w)), getattr(w, "lineno", None)) for w in caught])
            assert outcomes[1] == outcomes[0] and outcomes[0], action
    assert jitted.traces == 1


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("fun", [lambda x: np.array(x), lambda x: np.array(x, dtype=float),
                                 lambda x: (np.array(x, ndmin=2), x * 2.0), lambda x: np.array(x, order="F")])
def test_np_array_of_an_argument_is_a_copy_jitted_as_plain(fun):
    # np.array copies (NumPy 2 asks __array__ for the copy): writing into the result
    # leaves the argument as it was; jitted, it gave back the argument itself
    jitted = cr.jit(fun)
    for k in range(3):
        x, y = np.arange(3.0) + k, np.arange(3.0) + k
        got, want = jitted(x), fun(y)
        assert same(got, want)
        got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
        assert not np.shares_memory(got[0], x) and not np.shares_memory(want[0], y)
        got[0].flat[0] = want[0].flat[0] = 9.0
        assert same(x, y)


@pytest.mark.parametrize("fun", [np.sort, lambda x: np.sort(x, axis=0), lambda x: -np.sort(-x), np.unique,
                                 lambda x: np.partition(x, 3), lambda x: np.sort(x) * 2.0])
def test_functions_numpy_computes_otherwise_than_the_eager_layer_replay_the_eager_layers(fun):
    # an eager Tensor argument takes the eager layer's composition in the plain call (a
    # sort is a take of argsort's order): signed zeros and NaN signs come out in its
    # order, which NumPy's own sort does not keep
    jitted = cr.jit(fun)
    values = [[0.0, -0.0, 0.0, -0.0, 1.0, -np.nan, np.nan] * 5, rng.choice([0.0, -0.0, np.nan, -np.nan, 1.0], 40)]
    for v in values + values:
        got, want = jitted(cr.tensor(np.array(v))), fun(cr.tensor(np.array(v)))
        assert same(got, want)  # an eager Tensor, as the plain call gives


@pytest.mark.parametrize("fun, args", [
    (lambda a, b: a + b, ([1.0, 2.0, 3.0], [1.0, 2.0])),
    (lambda a, b: a @ b * 2.0, ([1.0, 2.0, 3.0], [1.0, 2.0])),
    (lambda a: a.reshape(5), ([1.0, 2.0, 3.0],)),
    (lambda a: np.linalg.svd(a * 1.0), ([[np.nan, 1.0], [1.0, np.inf]],)),  # LinAlgError
])
def test_errors_of_eager_tensor_arguments_are_pytorchs_jitted_as_plain(fun, args):
    # on eager Tensors a NumPy ValueError is raised as PyTorch raises it, a RuntimeError
    # (chainrule's TensorError, a ValueError too); the jitted call raised NumPy's
    jitted = cr.jit(fun)
    for _ in range(2):
        raised = []
        for f in (fun, jitted):
            with pytest.raises(RuntimeError) as info:
                f(*[cr.tensor(np.array(a)) for a in args])
            raised.append((type(info.value), str(info.value)))
        assert raised[1] == raised[0]


def _log_then_branch(x):
    y = np.log(x)  # warns at a zero
    return y * 2.0 if y[1] > 0 else y  # a guard: a replay down the other path stops here


def _log_then_invert(x):
    return np.log(x[0]), np.linalg.inv(x[1:])  # a singular matrix stops the replay


@pytest.mark.parametrize("fun, calls", [
    (_log_then_branch, [[0.0, 3.0], [0.0, 3.0], [0.0, 0.5], [0.0, 3.0]]),
    (_log_then_invert, [[[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]]]),
    (np.log, [[-1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]]),  # divide warns, then invalid raises
])
def test_a_replay_that_stops_early_shows_its_warnings_once(fun, calls):
    # a replay that stops after a warning (a guard fails, a call raises) hands over to a
    # retrace or the plain call, which warns again: the plain call warns once
    jitted = cr.jit(fun)
    for values in calls:
        outcomes = []
        for f in (fun, jitted):
            with warnings.catch_warnings(record=True) as caught, np.errstate(invalid="raise"):
                warnings.simplefilter("always")
                try:
                    f(np.array(values))
                except (FloatingPointError, np.linalg.LinAlgError) as e:
                    caught.append(type(e))
            outcomes.append([getattr(w, "message", w) for w in caught])
        assert [str(w) for w in outcomes[1]] == [str(w) for w in outcomes[0]], values


def _set_shape(x):
    x.shape = (2, 3)  # the caller's array, reshaped in place
    return x.sum(axis=1)


def _set_dtype(x):
    y = x * 2.0
    y.dtype = np.int64  # the same bytes, read as integers
    return y


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("fun", [_set_shape, _set_dtype])
def test_shape_and_dtype_set_in_place_are_numpys_jitted_as_plain(fun):
    # NumPy changes the array itself; a traced value had no setter (AttributeError)
    jitted = cr.jit(fun)
    for k in range(3):
        x, y = np.arange(6.0) + k, np.arange(6.0) + k
        assert same(jitted(x), fun(y))
        assert same(x, y)
    with pytest.raises(AttributeError):
        cr.tensor(np.arange(6.0)).shape = (2, 3)  # an eager Tensor has none, as PyTorch's


def test_structured_arrays_compare_field_by_field_jitted_as_plain():
    # ndarray's == and != compare a structured array's records field by field; NumPy's
    # equal ufunc has no loop for them (the jitted call raised UFuncTypeError)
    a = np.zeros(3, [("w", "f8"), ("n", "i4")])
    a["w"], a["n"] = [1.5, 2.0, -0.0], [1, 2, 3]
    b = a.copy()
    b["n"][1], b["w"][2] = 7, 0.0
    fun = lambda x, y: (x == y, x != y, x[0] == y[1], x["w"] * 2.0)  # noqa: E731
    jitted = cr.jit(fun)
    for x, y in [(a, b), (a, a), (b, a)]:
        assert same(list(jitted(x.copy(), y.copy())), list(fun(x.copy(), y.copy())))
    with pytest.raises(TypeError):
        cr.jit(np.equal)(a, b)  # as np.equal(a, b) raises


def test_a_wrapper_of_pythons_warning_display_installed_later_sees_each_warning_once(monkeypatch):
    # a library that wraps warnings._showwarnmsg after a replay wrapped it, calling what it
    # replaced: each warning reaches it once (it recursed without end)
    jitted = cr.jit(lambda x: np.log(x) * 2.0)
    jitted(np.ones(2))
    jitted(np.ones(2))
    seen, wrapped = [], warnings._showwarnmsg
    monkeypatch.setattr(warnings, "_showwarnmsg", lambda m: (seen.append(str(m.message)), wrapped(m)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jitted(np.zeros(2))
        np.log(np.zeros(1))
    assert seen == ["divide by zero encountered in log"] * 2 and len(caught) == 2


@pytest.mark.parametrize("fun", [
    lambda x: (x * 2 + float(np.asarray(x).sum()), np.asarray(x)),  # a traced value read as an array
    lambda x: x + np.random.standard_normal(2) * 0.0,  # a draw no recorded call makes
], ids=["asarray", "np_random"])
def test_a_call_that_runs_without_jit_gives_eager_tensors_on_its_first_call_too(fun):
    # such a call runs plain from its second call on, where results computed from eager
    # Tensor arguments are eager Tensors; the first, traced, call handed back arrays
    jitted = cr.jit(fun)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(3):
            x = cr.tensor(np.arange(2.0) + k)
            theirs, ours = fun(x), jitted(x)
            theirs, ours = (theirs, ours) if isinstance(theirs, tuple) else ((theirs,), (ours,))
            assert [type(v) for v in ours] == [type(v) for v in theirs]
            assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(ours, theirs, strict=True))
            assert not ours[0].requires_grad and ours[0].dtype == theirs[0].dtype


def _outcome(fun, *args):
    try:
        return fun(*args)
    except (TypeError, ValueError) as e:
        return type(e).__name__


@pytest.mark.parametrize("call", [
    lambda np_, c, x: np_.where(c, x),          # NumPy: "either both or neither of x and y should be given"
    lambda np_, c, x: np_.where(c, None, None),  # None is a value to pick: an object array
    lambda np_, c, x: np_.where(c, x, None),
    lambda np_, c, x: np_.astype(x, dtype=np.float32),  # dtype is positional only
    lambda np_, c, x: np_.astype(x, np.float32, casting="unsafe"),  # an ndarray.astype keyword
    lambda np_, c, x: np_.astype(x, np.float32, device="cpu"),
    lambda np_, c, x: np_.astype(x, np.float32, copy=False),
])
def test_calls_of_numpy_functions_are_numpys_plain_and_jitted(call):
    # the jitted call records NumPy's own function, which the plain call must follow:
    # chainrule's where took a missing y for None (np.where(c, x) picked None) and two
    # Nones for the condition alone (nonzero); its astype took ndarray.astype's keywords
    # and not np.astype's device
    c, x = np.array([True, False]), np.array([1.0, 2.0])
    want = _outcome(call, np, c, x)
    plain, jitted = _outcome(call, cr.numpy, c, x), _outcome(cr.jit(lambda c, x: call(cr.numpy, c, x)), c, x)
    for got in (plain, jitted):
        assert type(got) is type(want)
        assert got == want if isinstance(want, str) else (got.dtype == want.dtype and got.tolist() == want.tolist())
