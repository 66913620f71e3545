"""Nested transforms: higher derivatives and perturbation confusion, in every mode mix."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def d_rev(f):
    return cr.grad(f)


def d_fwd(f):
    return cr.deriv(f)


MODES = {"rev": d_rev, "fwd": d_fwd}


@pytest.mark.parametrize("outer", MODES)
@pytest.mark.parametrize("inner", MODES)
def test_perturbation_confusion(outer, inner):
    # d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1 at any point (Siskind & Pearlmutter)
    def f(x):
        return x * MODES[inner](lambda y: x + y)(1.0)

    assert MODES[outer](f)(3.0) == 1.0


@pytest.mark.parametrize("outer", MODES)
@pytest.mark.parametrize("inner", MODES)
def test_inner_derivative_closes_over_outer_variable(outer, inner):
    # g(x) = d/dy [sin(x * y)] at y = 2 = x cos(2x); g'(x) = cos(2x) - 2x sin(2x)
    def g(x):
        return MODES[inner](lambda y: cnp.sin(x * y))(2.0)

    x = 0.7
    assert np.isclose(MODES[outer](g)(x), np.cos(2 * x) - 2 * x * np.sin(2 * x), rtol=1e-13)


@pytest.mark.parametrize("modes", ["rrr", "rrf", "rfr", "frr", "fff", "ffr", "frf", "rff"])
def test_third_derivative_in_mixed_modes(modes):
    f = lambda x: cnp.exp(2 * x) * cnp.sin(x)  # noqa: E731
    for m in modes:
        f = MODES["rev" if m == "r" else "fwd"](f)
    x = 0.4
    # closed form of (e^{2x} sin x)''' = e^{2x} (2 sin x + 11 cos x)
    assert np.isclose(f(x), np.exp(2 * x) * (2 * np.sin(x) + 11 * np.cos(x)), rtol=1e-12)


def test_fourth_derivative_of_polynomial():
    f = lambda x: x**5  # noqa: E731
    for _ in range(4):
        f = cr.grad(f)
    assert f(2.0) == 120 * 2.0


def test_jvp_of_grad_and_grad_of_jvp_agree():
    def f(x):
        return cnp.sum(cnp.tanh(x) ** 2 * x)

    x = np.array([0.3, -0.2, 0.9])
    v = np.array([1.0, 2.0, -1.0])
    fwd_over_rev = cr.jvp(cr.grad(f), (x,), (v,))[1]
    rev_over_fwd = cr.grad(lambda y: cr.jvp(f, (y,), (v,))[1])(x)
    rev_over_rev = cr.grad(lambda y: cnp.sum(cr.grad(f)(y) * v))(x)
    assert np.allclose(fwd_over_rev, rev_over_fwd, rtol=1e-13)
    assert np.allclose(fwd_over_rev, rev_over_rev, rtol=1e-13)


def test_deep_chain_has_no_recursion_limit():
    def f(x):
        for _ in range(5000):
            x = cnp.sin(x) * 0.5 + x * 0.5
        return x

    assert np.isfinite(cr.grad(f)(0.3))


def test_escaped_tensor_is_an_error():
    leaked = []

    def f(x):
        leaked.append(x)
        return x * 2

    cr.grad(f)(1.0)
    with pytest.raises(RuntimeError, match="escaped"):
        cnp.sin(leaked[0])
