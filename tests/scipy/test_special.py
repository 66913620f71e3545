"""chainrule.scipy.special: values against SciPy, both modes against finite differences
to second order on several shapes, first and second derivatives against PyTorch."""

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.special as sc

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy import special

rng = np.random.default_rng(0)
SHAPES = [(), (4,), (2, 3)]

# name: (low, high) of the argument, inside each function's smooth domain
UNARY = {
    "gamma": (0.5, 3), "gammaln": (0.5, 3), "digamma": (0.5, 3), "psi": (0.5, 3),
    "rgamma": (0.5, 3), "erf": (-2, 2), "erfc": (-2, 2), "erfinv": (-0.9, 0.9),
    "erfcinv": (0.1, 1.9), "erfcx": (-1, 2), "ndtr": (-2, 2), "log_ndtr": (-3, 2),
    "ndtri": (0.05, 0.95), "expit": (-3, 3), "logit": (0.1, 0.9), "log_expit": (-3, 3),
    "entr": (0.2, 2), "i0": (-2, 2), "i1": (-2, 2), "i0e": (0.2, 2), "i1e": (0.2, 2),
    "j0": (-3, 3), "j1": (-3, 3), "y0": (0.5, 3), "y1": (0.5, 3), "k0": (0.5, 3),
    "k1": (0.5, 3),
}
# name: ((low, high), (low, high)); both arguments differentiable, broadcast together
BINARY = {
    "beta": ((0.5, 3), (0.5, 3)), "betaln": ((0.5, 3), (0.5, 3)),
    "xlogy": ((-2, 2), (0.3, 3)), "xlog1py": ((-2, 2), (-0.5, 2)),
    "rel_entr": ((0.2, 2), (0.2, 2)), "kl_div": ((0.2, 2), (0.2, 2)), "zeta": ((1.5, 5), (0.3, 3)),
}
# name: (the leading arguments held fixed, (low, high) of the last, differentiated one)
PARTIAL = {
    "polygamma": ((2,), (0.5, 3)), "multigammaln": (None, (2.5, 4)),
    "gammainc": ((1.7,), (0.3, 3)), "gammaincc": ((1.7,), (0.3, 3)),
    "betainc": ((1.5, 2.5), (0.1, 0.9)), "betaincc": ((1.5, 2.5), (0.1, 0.9)),
    "iv": ((1.5,), (0.3, 3)),
    "ive": ((0.5,), (0.3, 3)), "jv": ((2.5,), (0.3, 3)), "jn": ((2,), (0.3, 3)),
    "yv": ((1.5,), (0.5, 3)), "yn": ((2,), (0.5, 3)), "kv": ((0.7,), (0.5, 3)),
    "stdtr": ((3.5,), (-2, 2)), "pdtr": ((3.0,), (0.5, 4)),
}
NO_DERIVATIVE_IN_FIRST = ["gammainc", "gammaincc", "betainc", "betaincc", "iv", "ive", "jv", "yv",
                          "kv", "stdtr"]


def uniform(shape, low, high):
    return rng.uniform(low, high, size=shape)


def partial_fun(name):
    fixed, _ = PARTIAL[name]
    if name == "multigammaln":
        return lambda x: special.multigammaln(x, 3), lambda x: sc.multigammaln(x, 3)
    return (lambda x: getattr(special, name)(*fixed, x)), (lambda x: getattr(sc, name)(*fixed, x))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, shape):
    x = uniform(shape, *UNARY[name])
    f = getattr(special, name)
    np.testing.assert_allclose(f(x), getattr(sc, name)(x), rtol=1e-13)
    assert cr.gradcheck(f, x, order=2)


@pytest.mark.parametrize("shapes", [((), ()), ((4,), (4,)), ((2, 3), (3,)), ((2, 1), (1, 3))])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name, shapes):
    (lo_a, hi_a), (lo_b, hi_b) = BINARY[name]
    a, b = uniform(shapes[0], lo_a, hi_a), uniform(shapes[1], lo_b, hi_b)
    np.testing.assert_allclose(getattr(special, name)(a, b), getattr(sc, name)(a, b))
    assert cr.gradcheck(getattr(special, name), a, b, order=2)


@pytest.mark.parametrize("shape", [(), (2, 3)])
@pytest.mark.parametrize("name", sorted(PARTIAL))
def test_partial(name, shape):
    f, reference = partial_fun(name)
    x = uniform(shape, *PARTIAL[name][1])
    np.testing.assert_allclose(f(x), reference(x), rtol=1e-13)
    assert cr.gradcheck(f, x, order=2)


@pytest.mark.parametrize("n", [0.3, 1.99, -0.5, -1.5, 2.0])
def test_yn_differentiates_the_order_scipy_uses(n):
    # SciPy truncates a fractional order (yn(0.3, x) is y0(x)): the derivative is that order's
    x = uniform((4,), 0.5, 3)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # SciPy's note that it truncated n
        np.testing.assert_allclose(cr.elementwise_grad(lambda v: special.yn(n, v))(x),
                                   sc.yvp(int(n), x), rtol=1e-12)


@pytest.mark.parametrize("name", NO_DERIVATIVE_IN_FIRST)
def test_missing_derivative_raises_naming_the_argument(name):
    fixed, (low, high) = PARTIAL[name]
    x = 0.5 * (low + high)
    f = lambda a: getattr(special, name)(a, *fixed[1:], x)
    with pytest.raises(NotImplementedError, match=f"{name}: no derivative in"):
        cr.grad(f)(fixed[0])
    with pytest.raises(NotImplementedError, match=f"{name}: no derivative in"):
        cr.jvp(f, (fixed[0],), (1.0,))


LOGSUMEXP_KWARGS = [{}, {"axis": 0}, {"axis": -1, "keepdims": True}, {"axis": (0, 1)},
                    {"keepdims": True}]


@pytest.mark.parametrize("kwargs", LOGSUMEXP_KWARGS)
def test_logsumexp(kwargs):
    a = uniform((3, 4), -2, 2)
    f = lambda x: special.logsumexp(x, **kwargs)
    np.testing.assert_allclose(f(a), sc.logsumexp(a, **kwargs))
    assert cr.gradcheck(f, a, order=2)


@pytest.mark.parametrize("b_shape", [(3, 4), (4,), (3, 1)])
@pytest.mark.parametrize("kwargs", LOGSUMEXP_KWARGS)
def test_logsumexp_with_weights(kwargs, b_shape):
    a, b = uniform((3, 4), -2, 2), uniform(b_shape, 0.5, 2)
    f = lambda x, w: special.logsumexp(x, b=w, **kwargs)
    np.testing.assert_allclose(f(a, b), sc.logsumexp(a, b=b, **kwargs))
    assert cr.gradcheck(f, a, b, order=2)


@pytest.mark.parametrize("b,kwargs", [
    (np.array([1.0, -1.0, 2.0, 0.5]), {}),
    (np.array([1.0, -2.0, 0.0, 0.5]), {"axis": -1}),  # a zero weight: SciPy leaves that entry out
    (np.array([[1.0], [-3.0], [0.5]]), {"axis": 0, "keepdims": True}),
    (None, {"axis": (0, 1)}),
])
def test_logsumexp_return_sign(b, kwargs):
    a = uniform((3, 4), -1, 1)
    for sign in (1.0, -1.0):
        w = None if b is None else sign * b
        want = sc.logsumexp(a, b=w, return_sign=True, **kwargs)
        for got in (special.logsumexp(a, b=w, return_sign=True, **kwargs),
                    cr.vjp(lambda x, w=w: special.logsumexp(x, b=w, return_sign=True, **kwargs), a)[0]):
            for g, v in zip(got, want, strict=True):  # SciPy's values, bit for bit
                assert type(g) is type(v)
                np.testing.assert_array_equal(g, v)
    # the logarithm of |sum| differentiates, in a and in the weights (a zero weight too)
    if b is None:
        assert cr.gradcheck(lambda x: special.logsumexp(x, return_sign=True, **kwargs)[0], a, order=2)
        return
    assert cr.gradcheck(lambda x, w: special.logsumexp(x, b=w, return_sign=True, **kwargs)[0], a, b, order=2)
    np.testing.assert_array_equal(
        cr.grad(lambda w: cnp.sum(special.logsumexp(a, b=w, return_sign=True, **kwargs)[1]))(b), np.zeros(b.shape))
    # in a, an entry whose weight is 0 gets no derivative, as in JAX
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    f = lambda m, s: lambda x: m.sum(s.logsumexp(x, b=b, return_sign=True, **kwargs)[0])  # noqa: E731
    np.testing.assert_allclose(cr.grad(f(cnp, special))(a), jax.grad(f(jax.numpy, jax.scipy.special))(a),
                               rtol=1e-12)


@pytest.mark.parametrize("a,b", [
    (np.array([1.0, 1.0]), np.array([1.0, -1.0])),  # the weighted sum is 0
    (np.array([-np.inf, -np.inf]), None),            # every term is 0
])
def test_logsumexp_return_sign_of_a_zero_sum_is_silent_as_scipys_plain_and_jitted(a, b):
    # SciPy gives (-inf, 0.0) silently; chainrule warned 'divide by zero encountered in log'
    # computing a logarithm only to keep the sign, which the jitted call, dropping the
    # unread logarithm, did not
    fun = lambda x: special.logsumexp(x, b=b, return_sign=True)  # noqa: E731
    jitted = cr.jit(fun)
    for f in (lambda x: sc.logsumexp(x, b=b, return_sign=True), fun, jitted, jitted):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = f(a)
        np.testing.assert_array_equal(got, (-np.inf, 0.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1.0, 1e3, 1e7, 1e300])
def test_logsumexp_derivative_does_not_inherit_the_rounding_of_its_value(scale, dtype):
    """exp(x - lse) carries lse's rounding, half an ulp of its magnitude, into every weight
    (two tied logits of 1e300 each got 1, float32 logits near 1000 were 3e-5 off); JAX's
    softmax, shifted by the maximum, does not. Against the float64 softmax, both modes."""
    if dtype is np.float32 and scale > 1e30:
        scale = 1e30
    base = np.array([[0.0, 0.0, -1.0, 0.5], [0.25, -0.75, 0.0, 1.0]])
    x = (scale + base * max(1.0, scale * 1e-7)).astype(dtype) if scale > 1 else base.astype(dtype)
    x[0, 1] = x[0, 0]  # a tie
    x64 = x.astype(np.float64)
    weights = {"plain": np.ones(4), "b": np.array([1.0, 2.0, 0.5, 1.0]), "signed": np.array([1.0, 2.0, 0.5, -0.25])}
    spellings = {
        "plain": [lambda x: special.logsumexp(x, axis=-1), lambda x: cr.numpy.reductions.logsumexp(x, axis=-1)],
        "b": [lambda x: special.logsumexp(x, axis=-1, b=weights["b"])],
        "signed": [lambda x: special.logsumexp(x, axis=-1, b=weights["signed"], return_sign=True)[0]],
    }
    for kind, fs in spellings.items():
        e = weights[kind] * np.exp(x64 - x64.max(axis=-1, keepdims=True))
        want = e / e.sum(axis=-1, keepdims=True)
        tol = 4 * np.finfo(dtype).eps
        for f in fs:
            got = cr.grad(lambda x, f=f: cnp.sum(f(x)))(x)
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 1e-3, err_msg=kind)
            row = cr.jvp(f, (x,), (np.eye(4, dtype=dtype)[[2, 2]],))[1]
            np.testing.assert_allclose(row, want[:, 2], rtol=tol, err_msg=kind)


def test_logsumexp_with_a_zero_weight_on_an_entry_that_overflows():
    """An entry SciPy leaves out (b = 0) has no derivative in a even where exp(a - lse)
    overflows (it was NaN; JAX gives 0); its derivative in b is exp(a - lse), here inf."""
    a, b = np.array([40.0, -40.0, 800.0, -800.0]), np.array([1.0, 2.0, 0.0, 1.0])
    with np.errstate(over="ignore"):
        da, db = cr.grad(lambda a, b: special.logsumexp(a, b=b), (0, 1))(a, b)
    np.testing.assert_allclose(da, [1.0, 2.0 * np.exp(-80.0), 0.0, 0.0], rtol=1e-15)
    np.testing.assert_allclose(db[[0, 1, 3]], np.exp(a[[0, 1, 3]] - 40.0), rtol=1e-15)
    assert db[2] == np.inf


def test_rel_entr_and_kl_div_outside_the_positive_quadrant():
    # SciPy's constants (0, q or inf), with derivative 0 there, as JAX's
    p, q = np.array([0.0, 0.0, 1.0, -1.0, 2.0]), np.array([0.0, 2.0, 0.0, 1.0, 3.0])
    for name in ("rel_entr", "kl_div"):
        f = getattr(special, name)
        np.testing.assert_array_equal(f(p, q), getattr(sc, name)(p, q))
        dp, dq = cr.grad(lambda p, q, f=f: cnp.sum(f(p, q)), (0, 1))(p, q)
        shift = 1.0 if name == "kl_div" else 0.0
        np.testing.assert_array_equal(dp[:4], -shift)
        np.testing.assert_array_equal(dq[:4], shift)
        np.testing.assert_allclose([dp[4], dq[4]], [np.log(2 / 3) + 1 - shift, -2 / 3 + shift])


@pytest.mark.parametrize("name", ["rel_entr", "kl_div"])
@pytest.mark.parametrize("p, q", [(1e-300, 1e300), (1e300, 1e-300), (1e-200, 1e150),
                                  (1e-10, 1e-320), (0.5, 2.0), (3.0, 3.0)])
def test_rel_entr_and_kl_div_derivatives_where_p_over_q_underflows_or_overflows(name, p, q):
    # d/dp = log(p/q) + 1 (- 1 for kl_div), d²/dp² = 1/p, d²/dpdq = -1/q, against mpmath:
    # log(p) - log(q) where p/q leaves the normal range (it was -inf, inf or lost digits)
    mpmath = pytest.importorskip("mpmath")
    f = getattr(special, name)
    shift = 1.0 if name == "kl_div" else 0.0
    want = float(mpmath.log(mpmath.mpf(p) / mpmath.mpf(q))) + 1 - shift
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        dp = cr.grad(f, 0)(p, q)
        dpdp = cr.grad(cr.grad(f, 0), 0)(p, q)
        dpdq = cr.grad(cr.grad(f, 0), 1)(p, q)
    np.testing.assert_allclose(dp, want, rtol=1e-14)
    np.testing.assert_allclose([dpdp, dpdq], [1 / p, -1 / q], rtol=1e-14)


@pytest.mark.parametrize("x", [0.3, -0.7, 1.0, 3.0, -20.0, 1e9, 3e9, -5e10, 1e12, 1e15])
def test_i0e_i1e_higher_derivatives_for_large_arguments(x):
    # i1e' and i0e'' went through SciPy's ive(2, x), nan past |x| = 2^31; against mpmath,
    # within the rounding of the cancelling terms (eps i0e(x)) where the true value is ~0
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50

    def scaled(v):
        return lambda t: mpmath.besseli(v, t) * mpmath.exp(-abs(t))

    ours = [cr.grad(special.i1e)(x), cr.grad(cr.grad(special.i1e))(x),
            cr.grad(cr.grad(special.i0e))(x), cr.grad(cr.grad(cr.grad(special.i0e)))(x)]
    want = [float(mpmath.diff(scaled(v), mpmath.mpf(x), n)) for v, n in ((1, 1), (1, 2), (0, 2), (0, 3))]
    np.testing.assert_allclose(ours, want, rtol=1e-10, atol=8 * np.finfo(float).eps * sc.i0e(x))


def test_zeta_riemann_and_hurwitz():
    x = np.array([1.5, 2.0, 4.5])
    np.testing.assert_array_equal(special.zeta(x), sc.zeta(x))
    np.testing.assert_array_equal(special.zeta(x, 2.5), sc.zeta(x, 2.5))
    # Riemann's zeta differentiates as zeta(x, 1); d/dq zeta(x, q) = -x zeta(x + 1, q)
    h = 1e-6
    fd = (sc.zeta(x + h) - sc.zeta(x - h)) / (2 * h)
    np.testing.assert_allclose(cr.elementwise_grad(special.zeta)(x), fd, rtol=1e-7)
    np.testing.assert_allclose(cr.elementwise_grad(lambda q: special.zeta(x, q))(np.full(3, 0.7)),
                               -x * sc.zeta(x + 1, 0.7), rtol=1e-14)


def test_gammasgn_has_zero_derivative():
    x = np.array([-1.5, 0.5, 2.0])
    np.testing.assert_array_equal(special.gammasgn(x), sc.gammasgn(x))
    np.testing.assert_array_equal(cr.elementwise_grad(special.gammasgn)(x), np.zeros(3))


def test_misc_logsumexp_is_special_logsumexp():
    from chainrule.scipy.misc import logsumexp

    assert logsumexp is special.logsumexp


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax(name, axis):
    x = uniform((3, 4), -2, 2)
    f = lambda a: getattr(special, name)(a, axis=axis)
    np.testing.assert_allclose(f(x), getattr(sc, name)(x, axis=axis))
    assert cr.gradcheck(f, x, order=2)


def test_scipy_ufuncs_dispatch_on_tensors():
    x = uniform((3,), 0.5, 2)
    g = cr.grad(lambda a: cnp.sum(sc.gammaln(a) + sc.erf(a)))(x)
    np.testing.assert_allclose(g, sc.digamma(x) + 2 / np.sqrt(np.pi) * np.exp(-x * x))
    t = cr.tensor(x, requires_grad=True)
    cnp.sum(sc.expit(t)).backward()
    np.testing.assert_allclose(t.grad, sc.expit(x) * sc.expit(-x))


def test_third_derivative_of_gammaln_is_polygamma_2():
    d3 = cr.grad(cr.grad(cr.grad(special.gammaln)))(1.7)
    np.testing.assert_allclose(d3, sc.polygamma(2, 1.7))


def test_import_without_scipy_names_the_extra():
    code = (
        "import sys; sys.modules['scipy'] = None\n"
        "import chainrule, chainrule.numpy, chainrule.nn, chainrule.optim\n"
        "try:\n    import chainrule.scipy\n"
        "except ImportError as e:\n    print(e)\n"
        "try:\n    chainrule.distributions\n"  # (torch.distributions: SciPy's special functions)
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.count("pip install chainrule[scipy]") == 2


# -- PyTorch as an independent oracle: first and second derivatives ------------------------
try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

TS = torch.special if torch is not None else None
# torch.special functions of one tensor, by the same name: (low, high) of the argument
TORCH_UNARY = {
    "gammaln": (0.5, 3), "digamma": (0.5, 3), "erf": (-2, 2), "erfc": (-2, 2),
    "erfinv": (-0.9, 0.9), "erfcx": (-1, 2), "ndtr": (-2, 2), "log_ndtr": (-3, 2),
    "ndtri": (0.05, 0.95), "expit": (-3, 3), "logit": (0.1, 0.9), "entr": (0.2, 2),
    "i0": (-2, 2), "i1": (-2, 2), "i0e": (0.2, 2), "i1e": (0.2, 2),
}
# name: (chainrule function, torch function, (low, high))
TORCH_CASES = {
    "polygamma": (lambda x: special.polygamma(1, x), lambda x: TS.polygamma(1, x), (0.5, 3)),
    "multigammaln": (lambda x: special.multigammaln(x, 3), lambda x: TS.multigammaln(x, 3),
                     (2.5, 4)),
    "xlogy": (lambda x: special.xlogy(x, 1.0 + x * x), lambda x: TS.xlogy(x, 1.0 + x * x),
              (-2, 2)),
    "xlog1py": (lambda x: special.xlog1py(1.5 - x, x), lambda x: TS.xlog1py(1.5 - x, x),
                (-0.5, 2)),
    "softmax": (lambda x: special.softmax(x, axis=0), lambda x: torch.softmax(x, 0), (-2, 2)),
    "log_softmax": (lambda x: special.log_softmax(x, axis=0),
                    lambda x: torch.log_softmax(x, 0), (-2, 2)),
    "logsumexp": (lambda x: special.logsumexp(x, axis=0, keepdims=True) * x,
                  lambda x: torch.logsumexp(x, 0, keepdim=True) * x, (-2, 2)),
}
for _name, _domain in TORCH_UNARY.items():
    TORCH_CASES[_name] = (getattr(special, _name), lambda x, n=_name: getattr(TS, n)(x), _domain)


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_first_and_second_derivatives_against_torch(name):
    ours_f, torch_f, (low, high) = TORCH_CASES[name]
    x, w = uniform((5,), low, high), uniform((5,), 0.5, 1.5)
    d1 = cr.grad(lambda a: cnp.sum(ours_f(a) * w))
    ours = d1(x), cr.grad(lambda a: cnp.sum(d1(a) * w))(x)
    xt, wt = torch.tensor(x, requires_grad=True), torch.from_numpy(w)
    (t1,) = torch.autograd.grad((torch_f(xt) * wt).sum(), xt, create_graph=True)
    (t2,) = torch.autograd.grad((t1 * wt).sum(), xt)
    np.testing.assert_allclose(ours[0], t1.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours[1], t2.numpy(), rtol=1e-7, atol=1e-10)


# logsumexp, softmax and log_softmax compute SciPy's values with SciPy's arithmetic written
# in NumPy (SciPy's array-API versions are slow); these inputs try to make the two disagree
# in a single bit.
_INF, _NAN = np.inf, np.nan
REDUCTION_INPUTS = {
    "finite": np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 700.0]]),
    "all -inf row": np.array([[1.0, 2.0, 3.0], [-_INF, -_INF, -_INF]]),
    "inf": np.array([[_INF, 1.0, 2.0], [_INF, -_INF, 0.0]]),
    "nan": np.array([[_NAN, 1.0, 2.0], [0.0, 0.0, 0.0]]),
    "signed zeros": np.array([[0.0, -0.0], [-0.0, -0.0]]),
    "float32": np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32),
    "empty": np.zeros((0, 3)),
    "complex": np.array([1 + 1j, 2.0, -1j]),
    "integer": np.arange(6).reshape(2, 3),
    "0-d": np.array(2.5),
    "vector": np.array([3.0, -2.0, 1e-300]),
    "tied maxima": np.array([[1.0, 2.0, 2.0], [0.1, 0.2, 0.3]]),
    "wide range": np.random.default_rng(4).standard_normal((3, 5)) * 30,
}
REDUCTIONS = {
    "logsumexp": lambda m, a, axis, keepdims: m.logsumexp(a, axis=axis, keepdims=keepdims),
    "softmax": lambda m, a, axis, keepdims: m.softmax(a, axis=axis),
    "log_softmax": lambda m, a, axis, keepdims: m.log_softmax(a, axis=axis),
}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)])
@pytest.mark.parametrize("inputs", list(REDUCTION_INPUTS))
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_softmax_family_gives_scipys_values(name, inputs, axis, keepdims):
    a = REDUCTION_INPUTS[inputs]
    call = REDUCTIONS[name]
    try:
        with np.errstate(all="ignore"):
            want = call(sc, a, axis, keepdims)
    except Exception as e:  # an axis the input lacks: refused by both
        with pytest.raises(type(e)):
            call(special, a, axis, keepdims)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning SciPy does not give
        got = call(special, a, axis, keepdims)
        traced = cr.vjp(lambda x: call(special, x, axis, keepdims), a)[0] if a.dtype.kind == "f" else got
    for v in (got, traced):
        assert type(v) is type(want)
        assert np.shape(v) == np.shape(want) and np.result_type(v) == np.result_type(want)
        np.testing.assert_array_equal(v, want)  # bit for bit
    if name == "logsumexp" and a.ndim == 0 and axis in (0, -1):  # a 0-d array: one entry
        assert cr.grad(lambda x: call(special, x, axis, keepdims))(a) == 1.0


def _single_precision_functions():
    x = np.array([0.3, 0.7], np.float32)
    names = []
    for name in special.__all__:
        try:
            with np.errstate(all="ignore"):
                out = getattr(sc, name)(x)
        except TypeError:  # needs more arguments
            continue
        if isinstance(out, np.ndarray) and out.dtype == np.float32:
            names.append(name)
    return names


@pytest.mark.parametrize("name", _single_precision_functions())
def test_float32_derivatives_stay_float32(name):
    """Where SciPy keeps float32, every derivative does too, in both modes and to second
    order (a float64 constant or a SciPy function that answers in float64 would promote)."""
    f = getattr(special, name)
    x, v = np.array([0.3, 0.7], np.float32), np.ones(2, np.float32)
    scalar = lambda a: cnp.sum(f(a))  # noqa: E731
    dtypes = {
        "jvp": cr.jvp(f, (x,), (v,))[1].dtype,
        "grad": cr.grad(scalar)(x).dtype,
        "fwd-rev": cr.jvp(cr.grad(scalar), (x,), (v,))[1].dtype,
        "rev-rev": cr.grad(lambda a: cnp.sum(cr.grad(scalar)(a)))(x).dtype,
    }
    assert set(dtypes.values()) == {np.dtype(np.float32)}, dtypes


# gammainc and betainc at the ends of the support: the densities' derivatives, from their
# closed forms (the log-density's derivative is infinite there; 0 * inf gave NaN)
INCOMPLETE_AT_ENDS = [
    (lambda x: special.gammainc(1.0, x), 0.0, [1.0, -1.0, 1.0]),  # 1 - e^-x
    (lambda x: special.gammainc(2.0, x), 0.0, [0.0, 1.0, -2.0]),  # density x e^-x
    (lambda x: special.gammainc(3.0, x), 0.0, [0.0, 0.0, 1.0]),
    (lambda x: special.gammaincc(2.0, x), 0.0, [0.0, -1.0, 2.0]),
    (lambda x: special.betainc(2.0, 3.0, x), 0.0, [0.0, 12.0]),  # density 12 x (1 - x)^2
    (lambda x: special.betainc(2.0, 3.0, x), 1.0, [0.0, 0.0]),
    (lambda x: special.betainc(3.0, 2.0, x), 1.0, [0.0, -12.0]),
    (lambda x: special.betainc(1.0, 1.0, x), 0.0, [1.0, 0.0]),
]


@pytest.mark.parametrize("case", range(len(INCOMPLETE_AT_ENDS)))
def test_incomplete_gamma_and_beta_at_the_ends(case):
    f, x, want = INCOMPLETE_AT_ENDS[case]
    rev, fwd = f, f
    for k, w in enumerate(want):
        rev = cr.grad(rev)
        fwd = (lambda g: lambda s: cr.jvp(g, (s,), (1.0,))[1])(fwd)
        assert float(rev(x)) == pytest.approx(w, abs=1e-12), k + 1
        assert float(fwd(x)) == pytest.approx(w, abs=1e-12), k + 1


# -- special values: x log y at zeros, the gamma family at its poles ----------------------------
XLOGY_X = np.array([0.0, 0.0, 0.0, 1.0, 2.0, -1.0, 0.0, np.nan, 1.0, 0.0, 1.0, 0.0])
XLOGY_Y = np.array([0.0, 1.0, -1.0, 0.0, 3.0, 2.0, -0.5, 1.0, np.inf, np.nan, -1.0, np.inf])


@pytest.mark.parametrize("name, shift", [("xlogy", 0.0), ("xlog1py", -1.0)])
@pytest.mark.parametrize("argnum", [0, 1])
def test_xlogy_derivatives_at_zeros_agree_with_jax(name, shift, argnum):
    """d/dx x·log(y) is log(y) (-inf at y=0) and d/dy is x/y (NaN at 0/0), as JAX's."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jsp = pytest.importorskip("jax.scipy.special")
    y = XLOGY_Y + shift
    with np.errstate(all="ignore"):
        ours = cr.elementwise_grad(getattr(special, name), argnum)(XLOGY_X, y)
    theirs = np.asarray(jax.vmap(jax.grad(getattr(jsp, name), argnum))(XLOGY_X, y))
    # the same infinities and NaNs; finite values to NumPy's and XLA's log1p, which may differ by an ulp
    np.testing.assert_allclose(ours, theirs, rtol=4e-16, atol=0)


POLES = np.array([-3.0, -2.0, -1.0, 0.0, -0.0, -1.5, 0.5, 1.0, np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("name", ["digamma", "psi", "gammaln", "polygamma", "gamma"])
def test_gamma_family_at_poles_agrees_with_autograd(name):
    """Values and first and second derivatives at the poles (inf, NaN where autograd's are)."""
    asp = pytest.importorskip("autograd.scipy.special")
    autograd = pytest.importorskip("autograd")

    def of(mod):
        return (lambda z: mod.polygamma(1, z)) if name == "polygamma" else getattr(mod, name)

    with np.errstate(all="ignore"):
        for ours, theirs in [(of(special), of(asp)),
                             (cr.elementwise_grad(of(special)), autograd.elementwise_grad(of(asp))),
                             (cr.elementwise_grad(cr.elementwise_grad(of(special))),
                              autograd.elementwise_grad(autograd.elementwise_grad(of(asp))))]:
            np.testing.assert_array_equal(ours(POLES), theirs(POLES))


# far in the tails, against closed forms: Mills' ratio Φ(x)/φ(x) = (1 - 1/x² + 3/x⁴ - 15/x⁶ + ...)/|x|
# for x → -∞ (its omitted terms are below 1e-24 here), and σ'(x) = e^-x / (1 + e^-x)²
@pytest.mark.parametrize("x", [-1e3, -1e5, -1e8, -1e10])
def test_log_ndtr_derivative_in_the_far_left_tail(x):
    mills = (1 - x ** -2 + 3 * x ** -4 - 15 * x ** -6) / abs(x)
    np.testing.assert_allclose(cr.grad(special.log_ndtr)(x), 1 / mills, rtol=4e-16, atol=0)
    # and log Φ(x) = -x²/2 - log|x| - log √(2π) + log(1 - 1/x² + ...): its second derivative
    # (through erfcx', whose 2x erfcx(x) - 2/√π cancels there)
    second = -1 + x ** -2 - 6 * x ** -4
    np.testing.assert_allclose(cr.grad(cr.grad(special.log_ndtr))(x), second, rtol=1e-15, atol=0)


@pytest.mark.parametrize("x", [20.0, 37.5, 700.0])
def test_expit_derivative_in_the_right_tail(x):
    want = math.exp(-x) / (1 + math.exp(-x)) ** 2
    np.testing.assert_allclose(cr.grad(special.expit)(x), want, rtol=4e-16, atol=0)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_rgamma_derivatives_at_and_near_its_zeros_equal_mpmath(order):
    """1/Γ is entire: at its zeros 0, -1, -2 its derivatives are finite (they were NaN,
    -ψ(x)/Γ(x) being inf · 0 there), and near them they keep their digits (the third at
    1e-8 was 1.33 for -3.94). Reverse and forward mode, against mpmath."""
    mpmath = pytest.importorskip("mpmath")
    x = np.array([0.0, -0.0, -1.0, -2.0, 1e-8, -1e-8, -3.0 + 1e-9, -2.5, 0.3, 0.4999, 0.5, 0.7, 2.5, 10.0])
    with mpmath.workdps(50):
        want = np.array([float(mpmath.diff(mpmath.rgamma, mpmath.mpf(v), order)) for v in x])
    reverse, forward = special.rgamma, special.rgamma
    for _ in range(order):
        reverse = cr.elementwise_grad(reverse)
        forward = (lambda f: lambda v: cr.jvp(f, (v,), (np.ones_like(v),))[1])(forward)
    np.testing.assert_allclose(reverse(x), want, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(forward(x), want, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("name", ["erf", "erfc", "ndtr"])
def test_gaussian_derivatives_far_out_are_zero_not_nan(name):
    """exp(-x²) underflows to 0 where x² overflows: x^k · 0 made the fourth derivative at
    1e300 NaN (and the second at inf; JAX's and PyTorch's too). The true values underflow
    to 0; nearer, they are JAX's."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jsp = pytest.importorskip("jax.scipy.special")
    f = getattr(special, name)
    for order in range(1, 5):
        rev, fwd, jf = f, f, getattr(jsp, name)
        for _ in range(order):
            rev, fwd, jf = cr.grad(rev), (lambda g: lambda s: cr.jvp(g, (s,), (1.0,))[1])(fwd), jax.grad(jf)
        for x in (1e300, -1e300, 1e155, np.inf, -np.inf, 40.0):
            assert float(rev(np.float64(x))) == 0.0 and float(fwd(np.float64(x))) == 0.0, (order, x)
        for x in (0.3, -1.7, 4.0, 27.0):
            want = float(jf(x))
            assert float(rev(np.float64(x))) == pytest.approx(want, rel=1e-9, abs=1e-300), (order, x)
