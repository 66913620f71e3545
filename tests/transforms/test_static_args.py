"""cr.jit's static_argnums and static_argnames, with JAX's meaning: the named arguments
are not traced, each value keys its own programs, and the function gets them as they are."""

import functools

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr
import chainrule.numpy as cnp


def power(x, n, *, scale=1.0):
    out = x
    for _ in range(n):  # a Python loop on the static value
        out = out * x
    return out * scale


def reshaped(x, shape):
    return cnp.reshape(x, shape) * 2.0


def scaled(x, c):
    return x * c, type(c).__name__


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("options", [
    {"static_argnums": 1}, {"static_argnums": (1,)}, {"static_argnums": -1},
    {"static_argnames": "n"}, {"static_argnames": ("n",)},
])
def test_static_argument_by_position_or_name_matches_the_plain_call(options):
    jitted = cr.jit(power, **options)
    for n in (1, 3, np.int64(2), 3, 1):
        x = RNG.normal(size=3)
        for args, kwargs in (((x, n), {}), ((x,), {"n": n}), ((x, n), {"scale": -0.0})):
            assert same(jitted(*args, **kwargs), power(*args, **kwargs))
    # one program per value of n (1, 3 and np.int64(2)) and per way of passing the arguments
    assert jitted.traces == 9


@pytest.mark.parametrize("static", [(2, 3), (3, 2), (6,), (3, 2), (2, 3)])
def test_static_tuple_argument_as_a_decorator(static):
    @functools.partial(cr.jit, static_argnums=(1,))
    def jitted(x, shape):
        return reshaped(x, shape)

    for k in range(2):
        x = np.arange(6.0) - k
        assert same(jitted(x, static), reshaped(x, static))
    assert jitted.traces == 1


def test_static_values_that_compare_equal_are_different_keys():
    jitted = cr.jit(scaled, static_argnums=1)
    x = np.ones(2)
    # 0.0 == -0.0 == False == np.float64(0.0) and they hash alike, but the results differ
    for c in (0.0, -0.0, False, 0, np.float64(-0.0), np.float32(0.0), 0.0, -0.0, (0.0,), (-0.0,)):
        if isinstance(c, tuple):
            assert same(cr.jit(lambda x, t: x * t[0], static_argnums=1)(x, c), x * c[0])
            continue
        assert same(jitted(x, c), scaled(x, c))
    assert jitted.traces == 6


def test_static_argument_reaches_the_function_untraced():
    seen = []

    def record(x, c):
        seen.append(type(c))
        return x * c

    jitted = cr.jit(record, static_argnames="c")
    jitted(np.ones(2), c=np.float32(2))
    assert seen == [np.float32]


def test_static_positions_with_varargs_count_from_the_call():
    jitted = cr.jit(lambda *a: a[0] * len(a[-1]), static_argnums=-1)
    for args in ((np.ones(2), (1, 2, 3)), (np.ones(2), 2.0, (1,)), (np.ones(2), (1, 2, 3))):
        assert same(jitted(*args), args[0] * len(args[-1]))


@pytest.mark.parametrize("options, message", [
    ({"static_argnums": 2}, r"static_argnums=\(2,\) but power takes 2 positional"),
    ({"static_argnums": -3}, r"positions run from -2 to 1"),
    ({"static_argnames": "m"}, r"names \['m'\], which power does not take"),
    ({"static_argnums": 1, "donate_argnums": 1}, r"both static and donated"),
    ({"static_argnums": "n"}, r"static_argnums takes ints"),
])
def test_static_options_that_name_no_argument_are_refused(options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        cr.jit(power, **options)


@pytest.mark.parametrize("value", [np.ones(2), [1, 2], {"a": 1}, (1, [2])])
def test_unhashable_static_argument_names_the_argument(value):
    jitted = cr.jit(power, static_argnums=1)
    with pytest.raises(ValueError, match=r"static argument 1 must be hashable"):
        jitted(np.ones(2), value)
    with pytest.raises(ValueError, match=r"static argument 'n' must be hashable"):
        cr.jit(power, static_argnames="n")(np.ones(2), n=value)


def test_static_object_is_keyed_by_its_attributes():
    class Config:
        def __init__(self):
            self.k = 2.0

    config = Config()
    jitted = cr.jit(lambda x, c: x * c.k, static_argnums=1)
    for k in (2.0, 3.0, -0.0, 2.0):
        config.k = k
        assert same(jitted(np.ones(2), config), np.ones(2) * k)
    assert jitted.traces == 3
