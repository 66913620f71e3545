"""cr.jit against programs as scientific NumPy users write them: plain ``np`` calls,
writes through views and aliases of the arguments, Python control flow on values, integer
overflow and casts, NaN and signed zeros, empty and 0-d arrays, Python values and
containers among the results, and ndarray methods called with NumPy's positions and
``out=``. Each program runs plain and jitted on copies of the same inputs, several calls in
a row (the later ones replay): the results (types, dtypes, shapes, bits), the exceptions,
the warnings and the arguments afterwards must be the same."""

import warnings

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr


def A(*values):
    return np.array(values, dtype=float)


def _outcome(fun, args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = ("ok", fun(*args))
        except Exception as e:  # the same exception, jitted or not
            result = ("raised", type(e))
    shown = [(w.category, str(w.message)) for w in caught if "chainrule.jit" not in str(w.message)]
    return result, shown


def _comparable(args):
    """The arguments, a NumPy generator as its state."""
    return [a.bit_generator.state if isinstance(a, np.random.Generator)
            else a.get_state(legacy=False) if isinstance(a, np.random.RandomState) else a for a in args]


def run_calls(fun, calls):
    """``fun`` plain and jitted on copies of each call's arguments, in turn; returns the
    jitted function."""
    jitted = cr.jit(fun)
    for k, make in enumerate(calls):
        mine, theirs = make(), make()
        (want, want_warnings), (got, got_warnings) = _outcome(fun, theirs), _outcome(jitted, mine)
        assert got[0] == want[0], (k, got, want)
        assert same(got[1], want[1]) if got[0] == "ok" else got[1] is want[1], (k, got, want)
        assert got_warnings == want_warnings, (k, got_warnings, want_warnings)
        assert same(_comparable(mine), _comparable(theirs)), (k, mine, theirs)
    return jitted


def _repeat(make, n=3):
    return [make] * n


# -- programs that replay: one per hazard ------------------------------------------------
def _relax(a, b):
    np.add(a, b, out=a)        # out= an argument
    a.T[...] = a.T * 2         # through a transposed view
    a[::2] += 1                # through a strided view
    return a                   # the argument itself


def _converge(x):
    steps = 0
    while np.abs(x).max() > 1e-3:
        x = x / 2
        steps += 1
        if steps > 50:
            break
    return x, steps


def _overlapping(a):
    a[1:] += a[:-1]            # NumPy reads through the overlap as it writes
    np.add(a[1:], a[:-1], out=a[1:])
    return a


def _extremes(x):
    return (np.where(x > 0, x, 0.0), np.maximum(x, 0), np.fmax(x, 0), np.sort(x), np.argmax(x),
            np.unique(x), np.minimum(x, -0.0), np.sign(x), np.nan_to_num(x))


def _results_of_every_kind(x):
    s = x.sum()
    return {"s": s, "first": x[0], "float": float(s), "int": int(x[0]), "item": s.item(),
            "bool": bool(s > 0), "np_bool": s > 0, "list": x.tolist(), "shape": x.shape,
            "kept": x.sum(keepdims=True), "py": [1, "a", None], "close": np.allclose(x, 1)}


def _integers(x):
    y = x + x                  # uint8 wraps
    return y, (x * 200).astype(np.uint8), x.astype(np.int8, casting="unsafe"), x // 3, x % -3


def _stats(x):
    return np.median(x), np.percentile(x, 30), np.nanmax(x), np.histogram(x, bins=3)[0]


def _empty(x):
    return x.sum(), np.mean(x), x.prod(), x.reshape(0, 2) if x.size == 0 else x


def _fancy_writes(x):
    x[[0, 0, 1]] += 1          # buffered: each index once
    np.add.at(x, [0, 0], 1)    # unbuffered: twice
    x[[0, 1]][0] = 5           # a copy: x is unchanged
    x[x > 3] = 0
    return x


def _caught_singular(a):
    try:
        return np.linalg.solve(a, np.ones(2))
    except np.linalg.LinAlgError:
        return np.zeros(2)


def _shared(a, b):
    a += 1                     # b sees it where it is a view of the same memory
    return b.sum()


def each(*calls):
    """Makers of fresh copies of each call's arguments."""
    return [lambda args=args: tuple(np.array(a, copy=True, order="K") for a in args) for args in calls]


_specials = A(np.nan, -0.0, 0.0, np.inf, -np.inf, 1)
_square = np.arange(9.0).reshape(3, 3)

PROGRAMS = {
    "out=, views and the argument returned": (_relax, each(*[(_square[:2, :2], _square[1:, 1:])] * 3)),
    "while loop to convergence with break": (_converge, each((A(1, 2),), (A(1, 2),), (A(100, 2),), (A(1e-4, 0),))),
    "overlapping in-place writes": (_overlapping, each(*[(np.arange(6.0),)] * 3)),
    "NaN, infinities and signed zeros": (_extremes, each((_specials,), (_specials[::-1],), (_specials,))),
    "numbers, NumPy scalars and containers returned": (_results_of_every_kind,
                                                       each((A(1, 2),), (A(1, 2),), (A(-3, 2),), (A(1, 1),))),
    "uint8 arithmetic and casts": (_integers, each(*[(np.array([100, 200, 255], np.uint8),)] * 3)),
    "statistics of NaN": (_stats, each((A(1, 2, 3, 0.5),), (A(1, np.nan, 3, 0.5),), (A(1, 2, 3, 0.5),))),
    "empty arrays": (_empty, each((np.zeros(0),), (np.zeros(0),), (A(1, 2),), (np.zeros(0),))),
    "fancy-index writes": (_fancy_writes, each((np.zeros(3),), (A(4, 0, 1),), (np.zeros(3),))),
    "an exception caught on some inputs": (_caught_singular, each((np.eye(2),), (np.zeros((2, 2)),), (np.eye(2),))),
    "arguments that share memory": (_shared, [lambda: (np.arange(4.0), A(1, 2)),
                                              lambda: (lambda z: (z[1:], z[:-1]))(np.arange(5.0)),
                                              lambda: (lambda z: (z, z))(np.arange(3.0))]),
    "Fortran-ordered and strided arguments": (lambda x: (x @ x.T, x.sum(0), x[0], x.T * 2),
                                              [*each((np.asfortranarray(_square),), (_square,)),
                                               lambda: (np.arange(18.0).reshape(3, 6)[:, ::2],),
                                               *each((np.asfortranarray(_square),))]),
}


@pytest.mark.parametrize("fun, calls", PROGRAMS.values(), ids=list(PROGRAMS))
def test_programs_of_numpy_users(fun, calls):
    run_calls(fun, calls)


def test_writes_into_arguments_are_replayed_not_run_plain():
    def scale_head(x):
        x[0] = 5.0
        x[1:][x[1:] > 1] *= 2.0
        return x * 2

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "runs without jit"
        jitted = run_calls(scale_head, _repeat(lambda: (A(1, 2, 3),)))
    assert jitted.traces == 1 and len(jitted.programs) == 1


# -- in-place operators with Python ints out of the dtype's range: NumPy's OverflowError --
@pytest.mark.parametrize("write", [
    lambda x: x.__iadd__(300),
    lambda x: x.__imul__(-129),
    lambda x: x.fill(300),
    lambda x: x.view(np.int64).__ixor__(1 << 63),
], ids=["int8 += 300", "int8 *= -129", "int8 fill(300)", "int64 ^= 2**63"])
def test_inplace_python_ints_out_of_range_raise_as_numpy(write):
    def f(x):
        write(x)
        return x

    run_calls(f, _repeat(lambda: (np.arange(1, 9, dtype=np.int8),)))


# -- ndarray methods with NumPy's positions and out= ----------------------------------------
_METHOD_CALLS = [
    ("var", (None, np.float32, None, 1)), ("std", (0, None, None, 1, True)), ("var", (0, None, "row0", 1)),
    ("sum", (0, None, "row1")), ("sum", (0, None, None, True)), ("prod", (None, None, None, True)),
    ("mean", (1, None, None, True)), ("max", (0, "row0")), ("min", (0, None, True, -100.0)),
    ("argmax", (0, "ints")), ("argmin", (1, None)), ("clip", (0, 1, "all")), ("round", (1, "all")),
    ("trace", (0, 0, 1, np.float32)), ("dot", ("T", "square")), ("reshape", ((3, 2),)),
]


@pytest.mark.parametrize("name, positions", _METHOD_CALLS, ids=[f"{n}{p}" for n, p in _METHOD_CALLS])
def test_ndarray_methods_take_numpys_positions_and_out(name, positions):
    def f(x):
        named = {"row0": x[0], "row1": x[1], "all": x, "ints": x[0].view(np.int64), "T": x.T,
                 "square": np.empty((2, 2))}
        result = getattr(x, name)(*(named[p] if isinstance(p, str) else p for p in positions))
        return result, x.copy()

    run_calls(f, _repeat(lambda: (A(3.5, -1.25, 0.0, 2.0, 0.5, -7.0).reshape(2, 3),)))


def _complex_parts(z, x):
    z.imag += 1                # z.imag = z.imag.__iadd__(1): the setter writes z
    z.real = z.imag * 2
    x.real[0] = 5.0            # a real array's real is itself
    return z, x


def test_real_and_imag_are_written_as_numpy_writes_them():
    run_calls(_complex_parts, each(*[(np.array([1 + 2j, -1]), A(1, 2))] * 3))
    run_calls(lambda x: setattr(x, "imag", 3.0), each((A(1, 2),), (A(1, 2),)))  # TypeError, as NumPy's


@pytest.mark.parametrize("fun", [
    lambda x: x.view(dtype=np.int64),
    lambda x: x.view(np.int64, type=np.ndarray),
    lambda x: (x.view(dtype=np.int64).__setitem__(0, 0), x),
    lambda x: (x == "auto", x != "auto", x[0] == "auto"),  # all False (True): NumPy's == of a string
    lambda x: (x[0].is_integer(), x[1].as_integer_ratio(), x[1].hex()),  # a float64 is a Python float
    lambda x: x.astype(np.int64)[0].bit_count(),
], ids=["view dtype=", "view type=", "write through view dtype=", "== a string", "float methods of a scalar",
        "int methods of a scalar"])
def test_ndarray_keywords_and_operands_of_numpys(fun):
    run_calls(fun, _repeat(lambda: (A(1, 2),)))


def _shuffled(x, rng):
    x *= 2
    rng.shuffle(x)             # NumPy shuffles the rows of its array in place
    first = x[0]
    first += 1                 # a row read afterwards is a view again
    return x.sum(0), x


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2), (6,)])
@pytest.mark.parametrize("generator", [np.random.default_rng, np.random.RandomState])
def test_shuffling_an_argument_swaps_its_rows_as_numpy(shape, generator):
    """rng.shuffle(x) of a traced x took NumPy's path for objects that are not its
    ndarray, whose swaps through views of rows duplicated them (and warned)."""
    def data():
        return np.arange(np.prod(shape), dtype=float).reshape(shape)

    run_calls(_shuffled, [lambda: (data(), generator(7))] * 2)
    # a generator made inside from a seed draws the same on each call, which replays
    run_calls(lambda x: _shuffled(x, generator(3)), [lambda: (data(),)] * 3)


class _Diverged(Exception):
    def __init__(self, message, state):
        super().__init__(message, state)
        self.state = state


def _check_finite(x):
    y = x * 2
    if not np.isfinite(y).all():
        raise _Diverged("diverged", (y, y.max()))
    if y.min() < 0:
        raise ValueError("negative", y.min(), [y])
    return y


def test_exceptions_carry_arrays_not_traced_values():
    jitted = cr.jit(_check_finite)
    for x in (A(1, 2), A(-1, 2), A(np.inf, 2), A(1, 2), A(-3, 2), A(np.nan, 1)):
        try:
            want = ("ok", _check_finite(x.copy()))
        except Exception as e:
            want = ("raised", e)
        try:
            got = ("ok", jitted(x.copy()))
        except Exception as e:
            got = ("raised", e)
        assert got[0] == want[0] and type(got[1]) is type(want[1])
        if got[0] == "raised":  # the plain call's arrays and NumPy scalars, not traced values
            assert same(got[1].args, want[1].args), (got[1].args, want[1].args)
            assert same(getattr(got[1], "state", None), getattr(want[1], "state", None))


class _Negative(UserWarning):
    pass


def _warn_negative(x):
    if x.min() < 0:
        warnings.warn(_Negative("negative values", x.min()), stacklevel=1)
    return x * 2


def test_warnings_carry_this_calls_values():
    """A warning object holding traced values held dead ones, and its replays the traced
    call's values: the call now runs without jit, and the warning holds the arrays."""
    jitted = cr.jit(_warn_negative)
    for x in (A(-1, 2), A(-3, 2), A(1, 2), A(-5, 2)):
        held = []
        for fun in (_warn_negative, jitted):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fun(x.copy())
            held.append([w.message.args for w in caught if isinstance(w.message, _Negative)])
        assert same(held[1], held[0]), held


def _scalar_arithmetic(x):
    a, b = x[0], x[1]
    c = a
    c += b                     # NumPy scalars: x[0] += x[1] is c = c + b
    return a + b, a * b, b + a, c, a - b, a / b, x[2] * a, np.float32(a) + np.float32(b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scalar_math_of_two_nans_keeps_numpys_nan(dtype):
    """NumPy's scalar math gives a + b (and a * b) of two NaNs the NaN of b, the ufunc the
    NaN of a: jit replayed the ufunc."""
    nans = np.array([0xFFF8000000000000, 0x7FF8000000000001, 0x7FF0000000000002], np.uint64).view(np.float64)
    with np.errstate(invalid="ignore"):  # (NaN payloads cast to float32)
        nans, reversed_nans = nans.astype(dtype), nans[::-1].astype(dtype)
    run_calls(_scalar_arithmetic, each((nans,), (nans,), (A(1, -0.0, 2).astype(dtype),), (reversed_nans,)))


def _means(x, counts):
    total, n = x.sum(), counts.sum()
    mean = total / n           # NumPy scalars: "divide by zero encountered in scalar divide"
    return mean, total // n, total % n, divmod(total, n), n // counts[0], 1.0 / n


def test_arithmetic_of_numpy_scalars_warns_as_numpys_scalar_math():
    """The warnings of x.sum() / n are those of NumPy's scalar math ('... in scalar
    divide'), which jit gave as the ufunc's ('... in divide')."""
    run_calls(_means, each((A(1, 2), np.array([1, 1])), (A(1, 2), np.array([0, 0])), (A(0, 0), np.array([0, 0])),
                           (A(1, np.inf), np.array([1, 2])), (A(1, 2), np.array([0, 0]))))


def test_reshape_copy_keyword():
    run_calls(lambda x: (x.reshape(6, copy=True), x.reshape((3, 2), copy=False)), _repeat(lambda: (np.ones((2, 3)),)))
    run_calls(lambda x: x.T.reshape(6, copy=False), _repeat(lambda: (np.ones((2, 3)),), 2))


def _dtype_chars(x):
    return (x * 2).dtype.char, x.dtype.char, x * 2, x[0] * 2


def test_int64_and_longlong_arguments_trace_apart():
    """np.dtype('l') == np.dtype('q'), and hash alike: after an int64 argument, jit replayed
    a longlong one, whose (x * 2).dtype.char is 'q' in the plain call, as 'l'."""
    make = [lambda: (np.arange(3, dtype=np.int64),), lambda: (np.arange(3, dtype=np.longlong),)]
    run_calls(_dtype_chars, [make[0], make[1], make[1], make[0]])


def _scalar_on_the_left(x):
    c = np.float64(0.5)
    c *= x[1]                  # in place: c = c * x[1]
    return (np.float64(1e308) * x[0], np.float64(1.0) / x[1], np.float64(3.0) - x[0], c,
            np.multiply(np.float64(1e308), x[0]))  # the ufunc, called as one


def test_numpy_scalar_left_of_a_traced_scalar_is_numpys_scalar_math():
    """np.float64(1e308) * x[0] warned "overflow encountered in multiply" (the ufunc, which
    the NumPy scalar's operator hands an operand it does not know) where the plain call
    warns "... in scalar multiply"."""
    run_calls(_scalar_on_the_left, each((A(10, 0),), (A(10, 0),), (A(1, 2),), (A(10, 0),)))
