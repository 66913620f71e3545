"""cr.jit against the plain call where Python reads traced values or is given Python
objects: math's conversions of a traced scalar, dataclasses and other objects of the
user's classes among the arguments, random numbers from the operating system's entropy.
Each program runs jitted and plain over a sequence of calls; every call gives the same
bits and types, or raises the same exception."""

import dataclasses
import math
import os
import random
import secrets
import uuid

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr


def agree(fun, calls):
    """``fun`` jitted and plain, call by call: the same result, or the same exception."""
    jitted = cr.jit(fun)
    for args in calls:
        outcomes = []
        for f in (jitted, fun):
            try:
                outcomes.append(("ok", f(*args)))
            except Exception as e:  # the same exception, jitted or not
                outcomes.append(("raised", type(e), str(e)))
        got, want = outcomes
        assert got[0] == want[0], (args, got, want)
        assert same(got[1], want[1]) if got[0] == "ok" else got[1:] == want[1:], (args, got, want)
    return jitted


# -- math.trunc, math.floor, math.ceil of a traced value -----------------------------------
# Python's math.trunc needs __trunc__, which np.float64 has (a float) and np.float32,
# NumPy's integers and arrays lack; floor and ceil fall back on float()
SCALARS = {  # two calls' values
    "float64": (np.array([1.7, -2.5]), np.array([-1.7, 2.5])),
    "float64 -0.0": (np.array([-0.0, 0.5]), np.array([0.0, 0.5])),
    "float32": (np.array([1.7, -2.5], dtype=np.float32), np.array([-1.7, 2.5], dtype=np.float32)),
    "int64": (np.array([3, -4]), np.array([-4, 3])),
    "bool": (np.array([True, False]), np.array([False, True])),
    "0-d": (np.array(-0.5), np.array(2.5)),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("conversion", [math.trunc, math.floor, math.ceil], ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind", SCALARS)
def test_math_conversions_of_a_traced_scalar_are_the_plain_calls(conversion, kind):
    def first(x):
        return conversion(x[0] if x.ndim else x)

    def scaled(x):
        return x * conversion(x[0] if x.ndim else x)

    a, b = SCALARS[kind]
    for fun in (first, scaled):
        agree(fun, [(a,), (a,), (b,), (a,)])


def test_math_trunc_of_an_eager_tensor_is_refused_as_pytorchs():
    with pytest.raises(TypeError, match="__trunc__"):
        math.trunc(cr.tensor(1.5))


# -- objects of the user's classes among the arguments -------------------------------------
@dataclasses.dataclass(frozen=True)
class Frozen:
    lr: float
    steps: int = 2


@dataclasses.dataclass(frozen=True, slots=True)
class Slotted:
    lr: float


@dataclasses.dataclass
class Config:  # eq=True without frozen: no hash
    lr: float
    w: np.ndarray
    log: list = dataclasses.field(default_factory=list)


class EqualsAny:
    """An ``==`` of its own that compares nothing (as a tolerance-based one may)."""

    def __init__(self, scale):
        self.scale = scale

    def __eq__(self, other):
        return isinstance(other, EqualsAny)

    def __hash__(self):
        return 1


X = np.array([1.0, 2.0])
SHARED = Config(0.5, np.ones(2))


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("fun, configs", [
    (lambda x, c: x * c.lr, [Frozen(0.0), Frozen(-0.0), Frozen(0.0)]),  # equal, and hash alike
    (lambda x, c: x * 0 + c.lr, [Frozen(1), Frozen(1.0), Frozen(True)]),
    (lambda x, c: x + c.lr, [Frozen(float("nan")), Frozen(-float("nan"))]),
    (lambda x, c: x * c.lr, [Slotted(0.0), Slotted(-0.0)]),
    (lambda x, c: x * c.scale, [EqualsAny(1.0), EqualsAny(2.0), EqualsAny(1.0)]),
    (lambda x, c: x * c.lr + c.w, [SHARED, SHARED, Config(-0.0, np.zeros(2)), SHARED]),
    (lambda x, c: x * c.lr if c.lr > 0 else -x, [Config(1.0, X), Config(-1.0, X)]),
], ids=["frozen -0.0", "frozen 1 1.0 True", "frozen NaNs", "slots -0.0", "own __eq__",
        "unhashable dataclass", "dataclass branch"])
def test_objects_among_the_arguments_are_told_apart_by_their_fields(fun, configs):
    agree(fun, [(X, c) for c in configs])


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_dataclass_argument_changed_by_the_call_is_changed_as_in_the_plain_call():
    def step(x, c):
        c.log.append(float(c.lr))
        c.w[0] += 1.0
        return x * len(c.log) + c.w

    mine, theirs = Config(0.5, np.ones(2)), Config(0.5, np.ones(2))
    jitted = cr.jit(step)
    for _ in range(3):
        assert same(jitted(X, mine), step(X, theirs))
        assert mine.log == theirs.log and same(mine.w, theirs.w)
    mine.w = np.zeros(2)  # a field rebound between calls
    theirs.w = np.zeros(2)
    assert same(jitted(X, mine), step(X, theirs))


# -- random numbers from the operating system's entropy -----------------------------------
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("draw", [
    lambda: np.random.default_rng().normal(size=2),
    lambda: np.random.default_rng(None).integers(0, 10**9, size=2),
    lambda: np.random.RandomState().normal(size=2),
    lambda: np.random.Generator(np.random.PCG64()).uniform(size=2),
    lambda: random.SystemRandom().random(),
    lambda: os.urandom(4)[0],
    lambda: secrets.randbelow(10**9),
    lambda: uuid.uuid4().int % 10**9,
], ids=["default_rng()", "default_rng(None)", "RandomState()", "PCG64()", "SystemRandom",
        "os.urandom", "secrets", "uuid4"])
def test_a_generator_made_without_a_seed_draws_anew_on_every_call(draw):
    jitted = cr.jit(lambda x: x + draw())
    results = [jitted(X) for _ in range(4)]
    # the plain call's numbers are new on each call: 4 equal draws of 2 numbers out of
    # 2**53 (or 10**9, or 256 for a byte) are not what the plain call gives
    assert len({r.tobytes() for r in results}) > 1


def test_a_generator_made_with_a_seed_replays():
    agree(lambda x: x + np.random.default_rng(7).normal(size=2), [(X,)] * 3)
    jitted = cr.jit(lambda x: x + np.random.default_rng(7).normal(size=2))
    for _ in range(3):
        jitted(X)
    assert jitted.traces == 1
