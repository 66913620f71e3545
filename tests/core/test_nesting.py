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


@pytest.mark.parametrize("transform", [cr.grad, lambda f: lambda x: cr.make_jvp(f)(x)(1.0)])
def test_escaped_tensor_is_a_constant_once_its_transform_has_returned(transform):
    leaked = []

    def f(x):
        leaked.append(x)
        return x * 2

    transform(f)(1.0)
    h = leaked[0]
    assert cnp.sin(h) == np.sin(1.0) and type(cnp.sin(h)) is np.float64
    assert float(h) == 1.0 and np.array(leaked).tolist() == [1.0]
    # used inside a later transform it is a constant there
    assert cr.grad(lambda x: x * h + h)(3.0) == 1.0


def test_value_escaping_an_inner_transform_keeps_the_outer_derivative():
    # the inner grad's z = x y^2 escapes; its value still depends on the outer x:
    # outer(x) = z(x, 2) * dz/dy(x, 2) = 4x * 4x, whose derivative is 32 x
    def outer(x):
        kept = []

        def inner(y):
            kept.append(x * y ** 2)
            return kept[-1]

        slope = cr.grad(inner)(2.0)
        return kept[-1] * slope

    assert np.isclose(cr.grad(outer)(1.5), 32 * 1.5, rtol=1e-14)


def _calls_of_three_traces(m, x, lo):
    """Calls of three arguments (clip, where) and a list of values (concatenate), whose
    arguments belong to different traces under vmap(grad) and vmap(jvp): each trace's
    general path unboxes its own and hands the rest on."""
    h = m.concatenate([m.clip(2.0 * x, lo, 1.5), lo * x])
    return m.sum(m.where(h > lo, m.sin(h), lo * h) ** 2)


@pytest.mark.parametrize("mode", ["vmap of grad", "vmap of jvp", "grad of vmap"])
def test_calls_on_values_of_three_traces_match_torch_func(mode):
    torch = pytest.importorskip("torch")
    from torch.func import grad, jvp, vmap

    class TorchNumpy:  # the same program written with torch
        concatenate, sin, sum, where = torch.cat, torch.sin, torch.sum, torch.where
        clip = staticmethod(lambda a, lo, hi: torch.clamp(a, min=lo, max=torch.tensor(hi, dtype=a.dtype)))

    r = np.random.default_rng(7)
    xs, los, ts = r.normal(size=(5, 4)), r.normal(size=5) * 0.5, r.normal(size=(5, 4))
    f = lambda x, lo: _calls_of_three_traces(cnp, x, lo)  # noqa: E731
    f_torch = lambda x, lo: _calls_of_three_traces(TorchNumpy, x, lo)  # noqa: E731
    X, LO, T = (torch.tensor(a) for a in (xs, los, ts))
    if mode == "vmap of grad":
        got = cr.vmap(cr.grad(f))(xs, los)
        want = vmap(grad(f_torch))(X, LO)
    elif mode == "vmap of jvp":
        got = cr.vmap(lambda x, lo, t: cr.jvp(lambda v: f(v, lo), (x,), (t,))[1])(xs, los, ts)
        want = vmap(lambda x, lo, t: jvp(lambda v: f_torch(v, lo), (x,), (t,))[1])(X, LO, T)
    else:  # the batched values are the reverse trace's, the lower bounds plain
        got = cr.grad(lambda x: cnp.sum(cr.vmap(f)(x, los)))(xs)
        want = grad(lambda x: torch.sum(vmap(f_torch)(x, LO)))(X)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-12, atol=1e-12)
