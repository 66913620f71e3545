"""Forward mode: jvp, make_jvp, linearize, deriv, and agreement with reverse mode."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

rng = np.random.default_rng(2)


def f(x, y):
    return cnp.tanh(x) * y + cnp.exp(x * 0.1) @ y


def test_jvp_matches_vjp_inner_products():
    # <u, J v> computed by forward mode equals <J^T u, v> computed by reverse mode
    x, y = rng.normal(size=3), rng.normal(size=3)
    vx, vy = rng.normal(size=3), rng.normal(size=3)
    u = rng.normal(size=3)
    _, jv = cr.jvp(f, (x, y), (vx, vy))
    _, pull = cr.vjp(f, x, y)
    ux, uy = pull(u)
    assert np.isclose(u @ jv, ux @ vx + uy @ vy, rtol=1e-13)


def test_jvp_closed_form():
    out, t = cr.jvp(lambda x: cnp.sin(x) ** 2, (0.4,), (3.0,))
    assert np.isclose(out, np.sin(0.4) ** 2) and np.isclose(t, 3 * 2 * np.sin(0.4) * np.cos(0.4))


def test_jvp_pytrees():
    out, t = cr.jvp(lambda p: {"s": p["a"] * p["b"]}, ({"a": 2.0, "b": 3.0},), ({"a": 1.0, "b": 0.0},))
    assert out == {"s": 6.0} and t == {"s": 3.0}


def test_make_jvp_and_linearize_and_deriv():
    out, jv = cr.make_jvp(lambda x, k: x**k, argnum=0)(2.0, 3)(1.0)
    assert (out, jv) == (8.0, 12.0)
    out, f_jvp = cr.linearize(cnp.exp, 0.5)
    assert np.isclose(f_jvp(2.0), 2 * np.exp(0.5))
    assert np.allclose(cr.deriv(cnp.sin)(np.array([0.0, np.pi])), [1.0, -1.0])


def test_jvp_errors():
    with pytest.raises(ValueError, match="shape"):
        cr.jvp(cnp.sin, (np.ones(3),), (np.ones(2),))
    with pytest.raises(ValueError, match="tangent"):
        cr.jvp(cnp.sin, (np.ones(3), np.ones(3)), (np.ones(3),))
    with pytest.raises(TypeError, match="tuples"):
        cr.jvp(cnp.sin, np.ones(3), np.ones(3))
