"""``cr.jit(f)(x)`` of plain arrays is ``f(x)``: NumPy's methods (not PyTorch's forms of the
same names), NumPy's warnings of deprecated aliases, and NumPy's ``out`` given by position,
which the replays write as the plain call does. NumPy itself is the oracle."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def _described(value):
    if isinstance(value, tuple):
        return type(value).__name__, tuple(map(_described, value))
    if isinstance(value, np.ndarray | np.generic):
        return type(value).__name__, value.dtype.str, value.shape, np.asarray(value).tobytes()
    return type(value).__name__, repr(value)


def _outcome(f, *args):
    """What ``f(*args)`` gives (its result to the bit, or its exception's type and words),
    the warnings it issues (not jit's own notes) and what its array arguments hold after."""
    args = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = _described(f(*args))
        except Exception as e:  # noqa: BLE001 (the plain call's exception is the oracle)
            result = ("raised", type(e).__name__, str(e).split(" (inside chainrule.jit")[0])
    issued = [(w.category.__name__, str(w.message)) for w in caught
              if not str(w.message).startswith("chainrule.jit")]
    return result, issued, [np.asarray(a).tobytes() for a in args if isinstance(a, np.ndarray)]


def _same_jitted(f, *args):
    want = _outcome(f, *args)
    jitted = cr.jit(f)
    for call in range(3):  # the trace, then replays
        assert _outcome(jitted, *args) == want, call
    return want


# methods that NumPy's ndarray and PyTorch's Tensor both have, called the ways of both
_METHOD_CALLS = [
    ("squeeze", (0,), {}), ("squeeze", (), {"axis": 0}), ("squeeze", (), {"dim": 0}), ("transpose", (1, 0), {}),
    ("transpose", (), {"axes": None}), ("view", (-1,), {}), ("view", (np.int64,), {}), ("flatten", (1,), {}),
    ("flatten", ("F",), {}), ("sum", (), {"dim": 0}), ("sum", (0,), {}), ("sum", (), {"keepdim": True}),
    ("max", (0,), {}), ("max", (), {"dim": 0}), ("min", (), {"axis": 0, "initial": 5}), ("argmax", (), {"dim": 0}),
    ("repeat", (2,), {}), ("repeat", (2, 1), {}), ("repeat", (2, 2, 2), {}), ("reshape", (), {"shape": (-1,)}),
    ("reshape", (3, -1), {}), ("all", (), {"dim": 0}), ("any", (0,), {}), ("round", (2,), {}), ("std", (), {}),
    ("std", (), {"correction": 1}), ("var", (), {"unbiased": False}), ("mean", (), {"dim": 0}),
    ("cumsum", (), {"dim": 0}), ("item", (), {}), ("mT", None, None), ("T", None, None), ("size", None, None),
    ("expand", (2, 3), {}), ("clip", (0.1, 0.5), {}), ("take", ([0],), {}), ("dot", ([1.0, 2.0, 3.0],), {}),
    ("itemset", (0, 1.0), {}),
]
# the ones that write in place (NumPy's return None): the array they wrote is the result
_WRITING_CALLS = [("sort", (), {}), ("sort", (0,), {}), ("sort", (), {"dim": 0}), ("sort", (), {"descending": True}),
                  ("sort", (), {"axis": None}), ("put", ([0], [9.0]), {}), ("put", ([0], [9.0], True), {})]
_INPUTS = {"1-d": np.array([0.5, 1.0, 2.0]), "3-d": np.arange(24.0).reshape(2, 3, 4), "0-d": np.float64(0.7),
           "1x3": np.ones((1, 3))}


@pytest.mark.parametrize("name,args,kwargs", _METHOD_CALLS, ids=lambda v: str(v))
def test_methods_of_traced_plain_arrays_are_numpys(name, args, kwargs):
    if args is None:
        def f(x):
            return getattr(cnp.sin(x), name)
    else:
        def f(x):
            return getattr(cnp.sin(x), name)(*args, **kwargs)
    for x in _INPUTS.values():
        _same_jitted(f, x)


@pytest.mark.parametrize("name,args,kwargs", _WRITING_CALLS, ids=lambda v: str(v))
def test_writing_methods_of_traced_plain_arrays_are_numpys(name, args, kwargs):
    def f(x):
        y = cnp.sin(x)
        return getattr(y, name)(*args, **kwargs), y

    for x in _INPUTS.values():
        if np.ndim(x):
            _same_jitted(f, x)


def test_squeeze_of_a_dim_not_of_size_one_raises_numpys_error():
    def g(x):
        return cnp.sin(x).squeeze(0)

    result, _, _ = _same_jitted(g, np.ones(3))
    assert result == ("raised", "ValueError", "cannot select an axis to squeeze out which has size not equal to one")


def test_inside_a_grad_methods_keep_the_tensors_meaning_jitted_as_plain():
    def loss(x):
        return x.squeeze(0).sum(dim=0) * 2.0  # torch's forms, on the grad's Tensor

    x = np.array([0.5, 1.0, 2.0])
    want = cr.grad(loss)(x)
    jitted = cr.jit(cr.grad(loss))
    for _ in range(3):
        got = jitted(x)
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    np.testing.assert_array_equal(want, np.full(3, 2.0))  # d(2 sum x)/dx


def test_row_stack_warns_as_numpy_does_plain_and_jitted():
    if not hasattr(np, "row_stack"):
        pytest.skip("this NumPy has no row_stack")
    x = np.arange(3.0)
    oracle = _outcome(lambda a: np.row_stack((a, a + 1)), x)
    assert oracle[1] and oracle[1][0][0] == "DeprecationWarning"
    assert _same_jitted(lambda a: cnp.row_stack((a, a + 1)), x) == oracle
    # under grad the same warning, and vstack's gradient
    with pytest.warns(DeprecationWarning, match="row_stack"):
        g = cr.grad(lambda a: cnp.sum(cnp.row_stack((a, a * 3.0))))(x)
    np.testing.assert_array_equal(g, np.full(3, 4.0))


_X = np.array([-np.inf, 1.5, np.inf, -2.5])
# NumPy functions and methods given out by position (``m`` is numpy, the oracle, or
# chainrule.numpy), whose result is dropped: every replay must write out as NumPy does
_OUT_BY_POSITION = {
    "isneginf": (lambda m, a, o: m.isneginf(a, o), np.zeros(4, bool)),
    "isposinf": (lambda m, a, o: m.isposinf(a, o), np.zeros(4, bool)),
    "isneginf out=": (lambda m, a, o: m.isneginf(a, out=o), np.zeros(4, bool)),
    "sin": (lambda m, a, o: m.sin(a, o), np.zeros(4)),
    "add": (lambda m, a, o: m.add(a, 1.0, o), np.zeros(4)),
    "greater": (lambda m, a, o: m.greater(a, 0.0, o), np.zeros(4, bool)),
    "modf": (lambda m, a, o: m.modf(a, o), np.zeros(4)),
    "fix": (lambda m, a, o: m.fix(a, o), np.zeros(4)),
    "round": (lambda m, a, o: m.round(a, 0, o), np.zeros(4)),
    "cumsum": (lambda m, a, o: m.cumsum(a, 0, None, o), np.zeros(4)),
    "sum": (lambda m, a, o: m.sum(a, None, None, o), np.zeros(())),
    "median": (lambda m, a, o: m.median(a[1:], None, o, False), np.zeros(())),
    "dot": (lambda m, a, o: m.dot(a, a, o), np.zeros(())),
    "concatenate": (lambda m, a, o: m.concatenate([a[:2], a[2:]], 0, o), np.zeros(4)),
    "x.clip": (lambda m, a, o: m.sin(a).clip(0, 1, o), np.zeros(4)),
    "x.sum": (lambda m, a, o: m.sin(a).sum(None, None, o), np.zeros(())),
}


@pytest.mark.parametrize("name", list(_OUT_BY_POSITION))
def test_out_given_by_position_is_written_by_every_replay(name):
    f, out = _OUT_BY_POSITION[name]

    def writes(a, o):
        f(cnp, a, o)
        return o

    oracle = np.copy(out)
    with np.errstate(invalid="ignore"):
        f(np, _X.copy(), oracle)
        result, _, arrays = _same_jitted(writes, _X, out)
    assert arrays[1] == oracle.tobytes() and result[-1] == oracle.tobytes()
