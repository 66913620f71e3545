"""``chainrule.special`` against ``torch.special`` in float64 and float32: values,
dtypes and gradients, at points that reach each function's branches (0, the ends of a
domain, large arguments)."""

import math

import numpy as np
import pytest
import scipy.special
import torch
from tests.numpy.torch_oracle import check_float32, compare

import chainrule as cr

rng = np.random.default_rng(5)
REAL = np.array([-30.0, -3.5, -1.0, -0.2, 0.0, 0.3, 1.0, 2.5, 8.0, 40.0])
POSITIVE = np.array([1e-3, 0.2, 0.5, 1.0, 2.5, 7.0, 30.0])
UNIT = np.array([1e-6, 0.05, 0.3, 0.5, 0.8, 0.999])
OPEN = np.array([-0.99, -0.5, 0.0, 0.3, 0.9])

UNARY = [
    ("expit", REAL), ("erf", REAL), ("erfc", REAL), ("erfcx", REAL[1:]), ("erfinv", OPEN), ("gammaln", POSITIVE),
    ("digamma", POSITIVE), ("psi", POSITIVE), ("i0", REAL[1:-1]), ("i0e", REAL), ("i1", REAL[1:-1]),
    ("i1e", REAL), ("ndtr", REAL), ("ndtri", UNIT), ("log_ndtr", REAL), ("log1p", POSITIVE - 0.5),
    ("expm1", REAL[:-1]), ("exp2", REAL), ("sinc", REAL[REAL != 0]), ("entr", POSITIVE), ("logit", UNIT),
]


@pytest.mark.parametrize(("name", "x"), UNARY, ids=[c[0] for c in UNARY])
def test_unary_against_torch(name, x):
    ours, theirs = getattr(cr.special, name), getattr(torch.special, name)
    compare(ours, theirs, [x], rtol=1e-8, atol=1e-12)
    check_float32(ours, theirs, [x])


KEYWORD = [
    ("logit", {"eps": 0.1}, [np.array([0.0, 0.05, 0.5, 0.97, 1.0])]),
    ("logit", {}, [np.array([0.0, 0.5, 1.0])]),
    ("logsumexp", {"dim": 1}, [rng.normal(size=(3, 4))]),
    ("logsumexp", {"dim": (0, 1), "keepdim": True}, [rng.normal(size=(3, 4))]),
    ("softmax", {"dim": 0}, [rng.normal(size=(3, 4))]),
    ("log_softmax", {"dim": -1}, [rng.normal(size=(3, 4))]),
    ("xlogy", {}, [np.array([0.0, 0.0, 1.5, -2.0]), np.array([0.5, 2.0, 0.5, 3.0])]),
    ("xlog1py", {}, [np.array([0.0, 0.0, 1.5, -2.0]), np.array([-0.5, 2.0, 0.5, 3.0])]),
    ("multigammaln", {"p": 3}, [np.array([1.5, 2.0, 7.5])]),
    ("round", {}, [np.array([-2.5, -0.5, 0.5, 1.5, 2.4])]),
    ("round", {"decimals": 1}, [np.array([-2.25, 0.14, 1.96])]),
]


@pytest.mark.parametrize(("name", "kwargs", "inputs"), KEYWORD, ids=[c[0] for c in KEYWORD])
def test_with_arguments_against_torch(name, kwargs, inputs):
    ours = lambda *a: getattr(cr.special, name)(*a, **kwargs)  # noqa: E731
    theirs = lambda *a: getattr(torch.special, name)(*a, **kwargs)  # noqa: E731
    compare(ours, theirs, inputs, rtol=1e-9, atol=1e-12)
    check_float32(ours, theirs, inputs)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_polygamma(n):
    compare(lambda x: cr.special.polygamma(n, x), lambda x: torch.special.polygamma(n, x), [POSITIVE[1:]], rtol=1e-9)
    check_float32(lambda x: cr.special.polygamma(n, x), lambda x: torch.special.polygamma(n, x), [POSITIVE])


def test_a_number_does_not_promote_float32():
    x = np.array([0.5, 2.0], np.float32)
    for name in ("xlogy", "xlog1py", "zeta"):
        ours, theirs = getattr(cr.special, name)(cr.tensor(x + 1), 2.0), getattr(torch.special, name)(
            torch.tensor(x + 1), 2.0)
        assert ours.dtype == np.float32 and theirs.dtype == torch.float32
        np.testing.assert_allclose(np.asarray(ours), theirs.numpy(), rtol=1e-6)
    assert cr.special.xlogy(2.0, cr.tensor(x)).dtype == np.float32
    assert cr.special.erf(cr.tensor([0, 1])).dtype == cr.zeros(1).dtype


def test_values_without_a_pytorch_derivative():
    # PyTorch 2.13 does not differentiate zeta or the Bessel functions: check the values
    # against it, and the derivatives against their closed forms
    x, q = np.array([2.5, 3.0, 6.0]), np.array([1.5, 0.5, 2.0])
    np.testing.assert_allclose(np.asarray(cr.special.zeta(x, q)),
                               torch.special.zeta(torch.tensor(x), torch.tensor(q)).numpy(), rtol=1e-12)
    qt = cr.tensor(q, requires_grad=True)
    cr.special.zeta(cr.tensor(x), qt).sum().backward()
    np.testing.assert_allclose(np.asarray(qt.grad), -x * scipy.special.zeta(x + 1, q), rtol=1e-10)
    for name, derivative in (("bessel_j0", lambda v: -scipy.special.j1(v)),
                             ("bessel_j1", lambda v: (scipy.special.j0(v) - scipy.special.jv(2, v)) / 2)):
        t = cr.tensor(REAL, requires_grad=True)
        y = getattr(cr.special, name)(t)
        np.testing.assert_allclose(np.asarray(y.detach()), getattr(torch.special, name)(torch.tensor(REAL)).numpy(),
                                   rtol=1e-7, atol=1e-12)  # PyTorch computes them its own way
        y.sum().backward()
        np.testing.assert_allclose(np.asarray(t.grad), derivative(REAL), rtol=1e-10, atol=1e-14)


def test_edges():
    assert math.isinf(float(cr.special.logit(cr.tensor(1.0))))
    assert float(cr.special.entr(cr.tensor(0.0))) == 0.0
    assert float(cr.special.entr(cr.tensor(-1.0))) == -math.inf
    assert math.isnan(float(cr.special.erfinv(cr.tensor(float("nan")))))
    assert float(cr.special.multigammaln(cr.tensor([0.5]), 3)) == math.inf  # PyTorch's: its pole, not refused
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        cr.special.multigammaln(cr.tensor([0.5]), 0)
    with pytest.raises(TypeError, match="out="):
        cr.special.erf(REAL, out=cr.zeros(10))


def test_gaussian_tail_probability_written_as_in_pytorch():
    # the log-probability that a standard normal exceeds a learnt threshold
    results = {}
    for lib in (torch, cr):
        t = lib.tensor([0.5, 3.0, 12.0], dtype=lib.float64, requires_grad=True)
        logp = lib.special.log_ndtr(-t) + lib.special.xlogy(t, t)
        logp.sum().backward()
        results[lib.__name__] = (logp.detach().numpy(), t.grad.numpy())
    for a, b in zip(results["chainrule"], results["torch"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)
