"""A differential property test of cr.jit: hypothesis writes programs out of steps that
real code contains (branches on values, in-place updates of arguments and of views of
locals, try/except around NumPy calls that fail, errstate, dropout, batch norm state,
donation, results of every pytree kind) and runs each jitted and plain over a sequence
of calls with changing values (signed zeros, NaN, inf, branch-flipping values, dtype
changes, a global array the function reads changed between calls). Every call must give
the same bits, leave the arguments and the module in the
same state, or raise the same exception."""

import math
from collections import OrderedDict, namedtuple

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp

F = cr.nn.functional
Pair = namedtuple("Pair", "first second")


def _branch(h, x, s, bn):
    return h * 2.0 if float(cnp.sum(x)) > 0 else h - 1.0


def _signed_zero(h, x, s, bn):
    return h + (1.0 if math.copysign(1.0, float(x[0])) > 0 else -1.0)


def _nan_check(h, x, s, bn):
    return cnp.nan_to_num(h) if bool(cnp.isnan(x).any()) else h * 0.5


def _inplace_argument(h, x, s, bn):
    s *= 0.5
    s += h[:2].astype(s.dtype)
    return h


def _inplace_view_of_local(h, x, s, bn):
    h = h * 1.0
    view = h[1:3]
    view[0] = x[3]
    view += 1.0
    return h


def _setitem_read_index(h, x, s, bn):
    s[int(cnp.argmax(cnp.nan_to_num(x))) % 2] = 7.0
    return h


def _try_cholesky(h, x, s, bn):
    try:
        return h + cnp.sum(cnp.linalg.cholesky(cnp.diag(x[:2] + 0.0)))
    except np.linalg.LinAlgError:
        return h * 0.25


def _try_index(h, x, s, bn):
    try:
        return h + x[int(cnp.sum(x > 0)) + 1]
    except IndexError:
        return h - 3.0


def _errstate_divide(h, x, s, bn):
    with np.errstate(divide="raise", invalid="ignore"):
        try:
            return h / x
        except FloatingPointError:
            return h + 1.0


def _dropout(h, x, s, bn):
    return F.dropout(h, 0.5)


def _unused_dropout(h, x, s, bn):
    F.dropout(h, 0.3)
    return h


def _batch_norm(h, x, s, bn):
    # the module's parameters are eager Tensors, so the plain call's value is one: the
    # program takes its array, and the steps after it compute with NumPy's promotion (under
    # jit .numpy() reads the value, so the call runs without jit; a program that tells the
    # plain call from the jitted one by their types is among what jit cannot detect)
    return bn(cnp.reshape(cnp.nan_to_num(h), (2, 2))).reshape(4).numpy()


def _dtype_scalar(h, x, s, bn):
    return h * x.dtype.type(3)


# state read besides the arguments: changed by the test between calls
KNOB = np.ones(2)


def _global_array(h, x, s, bn):
    return h * float(KNOB[0]) + cnp.sum(KNOB)


def _numpy_writers(h, x, s, bn):
    np.add(s, h[:2].astype(s.dtype), out=s)
    np.multiply.at(s, [0, 0], 0.5)
    h = h * 1.0
    np.copyto(h[2:], s.astype(h.dtype))
    return h


def _sort_local(h, x, s, bn):
    h = h * 1.0
    h.sort()
    return h


def _operators_in_place(h, x, s, bn):
    s //= 0.5
    s %= 3.0
    h = h * 1.0
    mask = h > 0
    mask &= h < 2.0
    mask |= h == 0
    return h * mask


def _views_and_copies(h, x, s, bn):
    h = h * 1.0
    same_array = h.astype(h.dtype, copy=False)
    same_array += 1.0  # writes h
    flat = h.flatten()
    flat[0] = 7.0  # a copy: h is not written
    plus = +h
    plus[1] = 5.0  # a copy too
    return h + flat * plus


def _power_fast_paths(h, x, s, bn):
    return h ** 2 + cnp.abs(h) ** 0.5 + (h + 3.0) ** -1


def _masked_length(h, x, s, bn):
    return h * len(h[h > 0])


def _scalar_type(h, x, s, bn):
    # a float64 sum is a Python float to isinstance, a float32 one is not
    return h * 2.0 if isinstance(cnp.sum(x), float) else h - 0.5


def _ufunc_keywords(h, x, s, bn):
    out = cnp.zeros_like(h)
    cnp.tanh(h, out=out, where=h > 0)
    return out + cnp.sin(h, order="F", casting="same_kind")


STEPS = {f.__name__[1:]: f for f in (
    _branch, _signed_zero, _nan_check, _inplace_argument, _inplace_view_of_local,
    _setitem_read_index, _try_cholesky, _try_index, _errstate_divide, _dropout,
    _unused_dropout, _batch_norm, _dtype_scalar, _global_array, _numpy_writers, _sort_local,
    _operators_in_place, _views_and_copies, _power_fast_paths, _masked_length, _scalar_type,
    _ufunc_keywords)}

RESULTS = {
    "array": lambda h, s: h,
    "tuple": lambda h, s: (h, cnp.sum(h)),
    "list": lambda h, s: [h, s * 1.0],
    "dict": lambda h, s: {"z": h, "a": cnp.max(h), "m": None},
    "ordered": lambda h, s: OrderedDict(b=h, a=s * 2.0),
    "namedtuple": lambda h, s: Pair(h, 3),
    "nested": lambda h, s: {"k": [h, (s * 1.0, {"q": h + 1.0})]},
    "argument": lambda h, s: s,
}

SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, -3.0, np.nan, np.inf, -np.inf, 1e-300, 0.5]


def _plain_value(x):
    if isinstance(x, cr.Tensor):
        return x.detach().numpy()
    if isinstance(x, dict):
        return type(x)((k, _plain_value(v)) for k, v in x.items())
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*map(_plain_value, x))
    if isinstance(x, list | tuple):
        return type(x)(map(_plain_value, x))
    return x


def bitwise_same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(bitwise_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(bitwise_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray | np.generic):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return a == b


def _state(bn):
    return {k: v.detach().numpy().copy() for k, v in bn.state_dict().items()}


def make_program(steps, result):
    def program(x, s, bn):
        h = x * 1.0
        for name in steps:
            h = STEPS[name](h, x, s, bn)
        return RESULTS[result](h, s)

    return program


def _outcome(fun, args, seed):
    cr.nn.init.manual_seed(seed)
    try:
        with cr.no_grad():
            return "ok", _plain_value(fun(*args))
    except Exception as e:  # the same exception, jitted or not
        return "raised", type(e)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=6),
    result=st.sampled_from(sorted(RESULTS)),
    calls=st.lists(
        st.tuples(st.lists(st.sampled_from(SPECIAL), min_size=4, max_size=4),
                  st.sampled_from([np.float64, np.float32]), st.integers(0, 3),
                  st.sampled_from(SPECIAL)),
        min_size=2, max_size=6),
    donate=st.booleans(),
)
@example(steps=["batch_norm", "global_array"], result="array", donate=False,
         calls=[([0.0] * 4, np.float64, 0, 0.0), ([0.0] * 4, np.float32, 0, 0.0)])
def test_jitted_and_plain_agree_call_by_call(steps, result, calls, donate):
    program = make_program(steps, result)
    jitted = cr.jit(program, donate_argnums=0 if donate else ())
    mine_bn, theirs_bn = cr.nn.BatchNorm1d(2), cr.nn.BatchNorm1d(2)
    mine_s, theirs_s = np.zeros(2), np.zeros(2)
    for values, dtype, seed, knob in calls:
        KNOB[:] = knob  # the same for both: read besides the arguments
        x = np.array(values, dtype=dtype)
        got = _outcome(jitted, (x.copy(), mine_s, mine_bn), seed)
        want = _outcome(program, (x.copy(), theirs_s, theirs_bn), seed)
        assert got[0] == want[0], (got, want)
        if got[0] == "ok":
            assert bitwise_same(got[1], want[1]), (got, want)
        else:
            assert got[1] is want[1]
        assert bitwise_same(mine_s, theirs_s), (mine_s, theirs_s)
        state, want_state = _state(mine_bn), _state(theirs_bn)
        assert all(bitwise_same(state[k], want_state[k]) for k in want_state), (state, want_state)


# -- array programs: shapes, dtypes, indexing, reductions, and their gradients -------------
def _if_rows(step):
    """``step`` where ``h`` has a first axis with an element, else ``h`` itself."""
    return lambda h: step(h) if cnp.ndim(h) and cnp.shape(h)[0] else h


ARRAY_STEPS = {
    "add int": lambda h: h + 2,
    "rsub float": lambda h: 3.5 - h,
    "mul float": lambda h: h * 1.5,
    "div": lambda h: h / (cnp.abs(h) + 1),
    "pow": lambda h: h ** 2,
    "neg abs": lambda h: -abs(h),
    "exp": lambda h: cnp.exp(cnp.tanh(h)),
    "where": lambda h: cnp.where(h > 0, h, h * -0.5),
    "maximum": lambda h: cnp.maximum(h, 0.0),
    "branch": lambda h: h * 2 if cnp.sum(h) > 0 else h - 1,
    "branch item": lambda h: h + (1 if cnp.size(h) and cnp.ravel(h)[0].item() < 0 else 0),
    "sum axis": lambda h: cnp.sum(h, axis=0, keepdims=True) if cnp.ndim(h) else h,
    "max last": lambda h: cnp.max(h, axis=-1) if cnp.ndim(h) and cnp.shape(h)[-1] else h,
    "mean": lambda h: cnp.mean(h),
    "reshape": lambda h: cnp.reshape(h, (-1,)),
    "transpose": lambda h: h.T,
    "concatenate": lambda h: cnp.concatenate([h, h * 0.5]) if cnp.ndim(h) else h,
    "stack": lambda h: cnp.stack([h, -h], axis=-1),
    "matmul": lambda h: h @ h.T if cnp.ndim(h) == 2 else h,
    "first": _if_rows(lambda h: h[0]),
    "slice": _if_rows(lambda h: h[::-1][1:]),
    "mask": lambda h: h[h > 0],
    "take": _if_rows(lambda h: h[cnp.array([0, -1, 0])]),
    "int cast": lambda h: cnp.astype(h, np.int64) * 3,
    "bool": lambda h: (h > 1) | (h < -1),
    "float32": lambda h: cnp.astype(h, np.float32) * 2.0,
    "len loop": lambda h: sum((h[i] for i in range(len(h))), h[0] * 0) if cnp.ndim(h) and len(h) else h,
    "float read": lambda h: h * float(cnp.sum(h)) if cnp.size(h) else h,
    "argmax index": lambda h: h[int(cnp.argmax(cnp.ravel(h))) % len(h)] if cnp.ndim(h) and len(h) else h,
    "cumsum": lambda h: cnp.cumsum(h, axis=-1) if cnp.ndim(h) else h,
    "sort": lambda h: cnp.sort(h, axis=0) if cnp.ndim(h) else h,
    "clip": lambda h: cnp.clip(h, -1, 2),
    "floor div mod": lambda h: h // 2 + h % 3,
    "unique": lambda h: cnp.unique(h),
    "nonzero": lambda h: h[cnp.nonzero(h)],
    "count nan": lambda h: h + cnp.sum(cnp.isnan(h)),
    "sign": lambda h: cnp.sign(h) * cnp.copysign(1.0, h),
    "numpy scalar": lambda h: h * np.float32(2) + np.int16(1),
    "nan to num": lambda h: cnp.nan_to_num(h),
    "std": lambda h: cnp.std(h, axis=0) if cnp.ndim(h) else h,
    "any": lambda h: h * cnp.any(h > 1) + cnp.all(h < 0),
    "einsum": lambda h: cnp.einsum("ij,ij->j", h, h) if cnp.ndim(h) == 2 else h,
}

ARRAY_INPUTS = [
    np.array([[1.0, -2.0], [0.5, 3.0], [-0.0, 4.0]]),
    np.array([[-1.0, 2.0, np.nan], [0.0, -3.0, np.inf]]),
    np.zeros((0, 2)),
    np.array(2.5),
    np.array([[-0.0]]),
    np.array([[3, -1], [0, 2]]),
    np.array([[True, False]]),
    np.array([[1.5, -2.5], [0.25, 8.0]], dtype=np.float32),
    np.array([[-7, 5, 0]], dtype=np.int8),
    np.array([[200, 3], [0, 255]], dtype=np.uint8),
    np.array([np.nan, -np.inf, -0.0, 1e308]),
]


def _as_arrays(v):
    if isinstance(v, list | tuple):
        return type(v)(map(_as_arrays, v))
    return np.asarray(v) if isinstance(v, np.ndarray | np.generic) else v


def _array_outcome(fun, x):
    try:
        return "ok", _plain_value(fun(x))
    except Exception as e:  # the same exception, jitted or not
        return "raised", type(e)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=80, deadline=None)
@given(
    steps=st.lists(st.sampled_from(sorted(ARRAY_STEPS)), min_size=1, max_size=5),
    calls=st.lists(st.integers(0, len(ARRAY_INPUTS) - 1), min_size=2, max_size=6),
    transform=st.sampled_from(["none", "grad", "value_and_grad", "eager"]),
)
# exp of an eager bool, int8 or uint8 Tensor is of the default floating dtype (PyTorch's),
# and so is its replay, not NumPy's float16
@example(steps=["exp"], calls=[0, 6, 8, 9], transform="eager")
# NumPy's sort of an array gives a NaN of the other sign than the eager layer's take of
# argsort's order; the replay sorted as NumPy does
@example(steps=["stack", "sort"], calls=[0, 1], transform="eager")
def test_array_programs_jitted_and_plain_agree(steps, calls, transform):
    def program(x):
        h = x
        for name in steps:
            h = ARRAY_STEPS[name](h)
        return h

    fun = program
    if transform in ("grad", "value_and_grad"):
        fun = getattr(cr, transform)(lambda x: cnp.sum(program(x)))
    jitted = cr.jit(fun)
    for k in calls:
        x = ARRAY_INPUTS[k]
        if transform == "eager":  # PyTorch's eager Tensors: the jitted call gives arrays
            got, want = _array_outcome(jitted, cr.tensor(x.copy())), _array_outcome(fun, cr.tensor(x.copy()))
            got, want = [(o[0], _as_arrays(o[1])) for o in (got, want)]
        else:
            got, want = _array_outcome(jitted, x.copy()), _array_outcome(fun, x.copy())
        assert got[0] == want[0], (got, want)
        if got[0] == "ok":
            assert bitwise_same(got[1], want[1]), (got, want)
        else:
            assert got[1] is want[1], (got, want)
