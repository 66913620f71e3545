"""core.linearize: one function's pullback and pushforward at a point, for rules; nested
under outer transforms, their results differentiate again."""

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.linearize import pullback, pushforward


def f(x, y):
    return cnp.sin(x) * y + x ** 2


def test_pullback_and_pushforward_match_closed_forms():
    x, y = np.array([0.3, -1.2]), np.array([2.0, 0.5])
    out, pull = pullback(f, (x, y))
    np.testing.assert_allclose(out, np.sin(x) * y + x ** 2)
    g = np.array([1.0, -2.0])
    gx, gy = pull(g)
    np.testing.assert_allclose(gx, g * (np.cos(x) * y + 2 * x))
    np.testing.assert_allclose(gy, g * np.sin(x))
    out, tangent = pushforward(f, (x, y), (np.ones(2), np.zeros(2)))
    np.testing.assert_allclose(tangent, np.cos(x) * y + 2 * x)


def test_independent_arguments_and_constant_outputs():
    _, pull = pullback(lambda x, y: cnp.exp(x), (np.ones(2), np.ones(2)))
    gx, gy = pull(np.ones(2))
    assert gy is None and np.allclose(gx, np.e)
    out, pull = pullback(lambda x: np.ones(3), (np.ones(2),))
    assert pull(np.ones(3)) == [None]
    assert pushforward(lambda x: np.ones(3), (np.ones(2),), (np.ones(2),))[1] is None


def test_pullback_is_reusable_and_nests_under_grad():
    # d/dx of <pull(g), 1> where the pullback is taken at x: the second derivative
    def first_derivative(x):
        _, pull = pullback(lambda a: cnp.sin(a) * a, (x,))
        pull(np.float64(1.0))  # a pullback can be pulled more than once
        return pull(np.float64(1.0))[0]

    x = 0.7
    np.testing.assert_allclose(first_derivative(x), np.cos(x) * x + np.sin(x))
    np.testing.assert_allclose(cr.grad(first_derivative)(x), 2 * np.cos(x) - x * np.sin(x))
    _, d2 = cr.jvp(first_derivative, (x,), (1.0,))
    np.testing.assert_allclose(d2, 2 * np.cos(x) - x * np.sin(x))


def test_pushforward_nests_under_grad():
    def directional(x):
        return pushforward(lambda a: cnp.exp(2 * a), (x,), (np.float64(1.0),))[1]

    np.testing.assert_allclose(cr.grad(directional)(0.2), 4 * np.exp(0.4))
