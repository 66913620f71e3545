"""Regressions found by writing JAX- and functorch-style programs around ``cr.vmap``: each
test is the smallest program that disagreed with JAX (x64) or torch.func, checked against
a closed form or the oracle's rule."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

XS = np.array([0.3, -0.2, 1.1])


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus_with_tripled_rule():
    """softplus whose custom derivative is 3 sigmoid(x), not sigmoid(x): a rule that differs
    from the body's derivative shows which one a transform used."""

    @cr.custom_jvp
    def f(x):
        return cnp.log1p(cnp.exp(x))

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), 3.0 * t / (1.0 + cnp.exp(-x))

    return f


def _second_derivative_of_square(x):
    """d2/dx2 f(x)^2 = 2 f'(x)^2 + 2 f(x) f''(x) with f' = 3 sigmoid (the rule, at both
    orders, as JAX differentiates it: the rule's primal output f(x) is f again)."""
    s = _sigmoid(x)
    return 2 * (3 * s) ** 2 + 2 * np.log1p(np.exp(x)) * 3 * s * (1 - s)


@pytest.mark.parametrize("nesting", ["grad of grad", "vmap of hessian", "jacrev of grad", "jvp of grad"])
def test_custom_jvp_primal_output_is_differentiated_by_the_rule_under_nested_reverse_mode(nesting):
    # The reverse trace computed the primal output with the body, so an outer derivative of
    # the inner one (which multiplies by f(x)) took softplus' own derivative for f'
    f = _softplus_with_tripled_rule()
    square = lambda x: f(x) ** 2  # noqa: E731
    if nesting == "grad of grad":
        got = np.array([cr.grad(cr.grad(square))(x) for x in XS])
    elif nesting == "vmap of hessian":
        got = cr.vmap(cr.hessian(square))(XS)
    elif nesting == "jacrev of grad":
        got = np.diag(cr.jacrev(cr.grad(lambda x: cnp.sum(square(x))))(XS))
    else:
        got = cr.vmap(lambda x: cr.jvp(cr.grad(square), (x,), (1.0,))[1])(XS)
    np.testing.assert_allclose(got, _second_derivative_of_square(XS), rtol=1e-12)


@pytest.mark.parametrize("size, error", [(2.5, TypeError), ("3", TypeError), (None, ValueError), (-1, ValueError)])
def test_axis_size_that_is_not_a_count_is_refused_with_a_clear_error(size, error):
    # 2.5 was truncated to 2 and -1 reached NumPy's broadcast ("all elements of broadcast
    # shape must be non-negative")
    with pytest.raises(error, match="axis_size"):
        cr.vmap(lambda: cnp.ones(2), axis_size=size)()


def test_axis_size_takes_numpy_integers_and_zero_as_jax_does():
    assert cr.vmap(lambda: cnp.ones(2), axis_size=np.int64(3))().shape == (3, 2)
    assert cr.vmap(lambda: cnp.ones(2), axis_size=0)().shape == (0, 2)
    assert cr.vmap(lambda x: x, axis_size=np.int32(3))(np.ones((3, 2))).shape == (3, 2)

