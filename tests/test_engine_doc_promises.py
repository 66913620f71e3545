"""docs/engine.md's promises, tried with inputs the code was not written around: equal
entries whose mean rounds, tied singular values, rules that look linear at one point."""

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.numpy as cnp

# -- "std where every entry is the same: 0" ---------------------------------------------
# Entries whose mean is not exactly the entry (three 0.1 average to 0.1 + 1.4e-17), so
# x - mean(x) is rounding noise and d / std gave -1/3 (PyTorch's -1/3, JAX's NaN).
EQUAL = {
    "three 0.1": (np.full(3, 0.1), {}),
    "seven 1/3": (np.full(7, 1 / 3), {}),
    "ddof 1": (np.full(3, 0.1), {"ddof": 1}),
    "rows, axis 0": (np.full((3, 2), 0.1), {"axis": 0}),
    "axes (0, 2)": (np.full((3, 2, 2), 0.7), {"axis": (0, 2)}),
    "keepdims, axis -1": (np.full((2, 3), 0.1), {"axis": -1, "keepdims": True}),
    "where= leaves out the first": (np.array([5.0, 0.1, 0.1, 0.1]), {"where": np.array([False, True, True, True])}),
    "complex": (np.full(3, 0.1 + 0.1j), {}),
    "float32": (np.full(5, 0.1, np.float32), {}),
}


@pytest.mark.parametrize("name", list(EQUAL))
@pytest.mark.parametrize("reduction", ["std", "var", "nanstd"])
def test_std_and_var_of_equal_entries_have_derivative_zero(name, reduction):
    x, kwargs = EQUAL[name]
    fun = getattr(cnp, reduction)
    f = lambda a: cnp.sum(fun(a, **kwargs))  # noqa: E731
    g = cr.grad(f)(x)
    assert g.dtype == x.dtype and not np.any(g), g
    for t in (np.ones_like(x), np.arange(x.size, dtype=x.dtype).reshape(x.shape)):
        assert cr.jvp(f, (x,), (t,))[1] == 0


def test_std_of_equal_entries_on_eager_tensors_and_next_to_a_nan():
    t = cr.tensor(np.full(3, 0.1), requires_grad=True)
    t.std(unbiased=False).backward()
    assert not np.any(t.grad.numpy())
    g = cr.grad(cnp.nanstd)(np.array([np.nan, 0.1, 0.1, 0.1]))
    np.testing.assert_array_equal(g, np.zeros(4))


def test_var_keeps_its_second_derivative_at_equal_entries():
    # var is smooth there: the Hessian is 2 (I - 1/n) / (n - ddof) (closed form)
    n = 3
    for ddof in (0, 1):
        h = cr.hessian(lambda a, ddof=ddof: cnp.var(a, ddof=ddof))(np.full(n, 0.1))
        np.testing.assert_allclose(h, 2 * (np.eye(n) - 1 / n) / (n - ddof), rtol=1e-12)


def test_std_away_from_equal_entries_is_unchanged():
    # against finite differences in float64, entries large against their spread
    x = np.array([1e3 + 0.1, 1e3 + 0.3, 1e3 - 0.2, 1e3])
    f = lambda a: np.std(a)  # noqa: E731
    h = 1e-7
    fd = np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(4)])
    np.testing.assert_allclose(cr.grad(cnp.std)(x), fd, rtol=1e-5)


# -- the matrix 2-norm: the largest singular value, shared among tied ones ---------------
MATRICES = {
    "zero 2x2": np.zeros((2, 2)),
    "identity": np.eye(2),
    "2 * identity 3x3": 2 * np.eye(3),
    "-identity": -np.eye(2),
    "zero 2x3": np.zeros((2, 3)),
    "stack of zeros": np.zeros((2, 3, 3)),
    "diag(3, 3, 1)": np.diag([3.0, 3.0, 1.0]),
    "diag(1, 2, 2)": np.diag([1.0, 2.0, 2.0]),
    "no tie": np.array([[2.0, 1.0], [0.5, -1.0]]),
}


@pytest.mark.parametrize("name", list(MATRICES))
@pytest.mark.parametrize("ord", [2, -2])
def test_matrix_2_norm_shares_its_derivative_among_tied_singular_values_as_pytorch(name, ord):
    a = MATRICES[name]
    t = torch.tensor(a, requires_grad=True)
    torch.linalg.matrix_norm(t, ord).sum().backward()
    want = t.grad.numpy()
    f = lambda x: cnp.sum(cnp.linalg.norm(x, ord, axis=(-2, -1)))  # noqa: E731
    np.testing.assert_allclose(cr.grad(f)(a), want, atol=1e-12)
    # forward mode, column by column
    fwd = [cr.jvp(f, (a,), (e.reshape(a.shape),))[1] for e in np.eye(a.size)]
    np.testing.assert_allclose(np.reshape(fwd, a.shape), want, atol=1e-12)


def test_matrix_2_norm_second_derivative_where_the_singular_values_differ():
    a = np.array([[2.0, 1.0], [0.5, -1.0]])
    assert cr.gradcheck(lambda x: cnp.linalg.norm(x, 2), a, order=2)
    assert cr.gradcheck(lambda x: cnp.linalg.norm(x, -2), a, order=2)


# -- "a rule that is not linear raises ..., never a wrong derivative" -------------------
# Positively homogeneous rules (|t|, max(t, 0)) satisfy <Jᵀv, p> = <v, L(p)> at every
# point, and the random point is positive: their transposes were taken silently.
NOT_LINEAR = {
    "abs": lambda x, t: cnp.abs(t) * cnp.cos(x),
    "maximum(t, 0)": lambda x, t: cnp.maximum(t, 0.0),
    "leaky": lambda x, t: cnp.where(t > 0, t, 0.1 * t),
    "sqrt(t * t)": lambda x, t: cnp.sqrt(t * t),
    "norm of t": lambda x, t: cnp.linalg.norm(t) * cnp.ones_like(x),
}


def _custom_sin(tangent_of):
    @cr.custom_jvp
    def f(x):
        return cnp.sin(x)

    f.defjvp(lambda primals, tangents: (cnp.sin(primals[0]), tangent_of(primals[0], tangents[0])))
    return f


@pytest.mark.parametrize("name", list(NOT_LINEAR))
def test_reverse_mode_refuses_a_homogeneous_jvp_rule_that_is_not_linear(name):
    f = _custom_sin(NOT_LINEAR[name])
    x = np.array([0.3, 0.5, 0.7])
    with pytest.raises(NotImplementedError, match="f: the jvp rule of argument 0 is not linear"):
        cr.grad(lambda a: cnp.sum(f(a)))(x)
    with pytest.raises(NotImplementedError, match="not linear"):
        f(cr.tensor(x, requires_grad=True)).sum().backward()


@pytest.mark.parametrize("name", list(NOT_LINEAR))
def test_forward_mode_refuses_a_homogeneous_vjp_rule_that_is_not_linear(name):
    rule = NOT_LINEAR[name]
    p = cr.primitive(lambda v: np.sin(v))
    cr.defvjp(p, lambda ans, v: lambda g: rule(v, g))
    x = np.array([0.3, 0.5, 0.7])
    with pytest.raises(NotImplementedError, match="the vjp rule of argument 0 is not linear"):
        cr.jvp(p, (x,), (np.ones(3),))


def test_linear_rules_of_either_sign_still_transpose_exactly():
    # the check at minus the point must not refuse a linear rule (cos(x) < 0 at 2.5)
    f = _custom_sin(lambda x, t: cnp.cos(x) * t)
    x = np.array([0.3, -1.5, 2.5])
    np.testing.assert_allclose(cr.grad(lambda a: cnp.sum(f(a)))(x), np.cos(x), rtol=1e-14)
    p = cr.primitive(lambda v: np.sin(v))
    cr.defvjp(p, lambda ans, v: lambda g: g * cnp.cos(v))
    np.testing.assert_allclose(cr.jvp(p, (x,), (np.ones(3),))[1], np.cos(x), rtol=1e-14)


# -- "Nothing falls through silently": NumPy's own histogram, weights being differentiated
HISTOGRAMS = {
    "np, weights=": lambda w: np.histogram(np.array([0.3, 1.2, 2.5, 0.7]), bins=2, weights=w)[0],
    "np, weights by position": lambda w: np.histogram(np.ones(4), 2, None, None, w)[0],
    "np, of the weights themselves": lambda w: np.histogram(w, bins=2, weights=w)[0],
    "cnp, weights by position": lambda w: cnp.histogram(np.ones(4), 2, None, None, w)[0],
}


@pytest.mark.parametrize("name", list(HISTOGRAMS))
def test_histogram_refuses_weights_being_differentiated_whichever_door(name):
    # the weighted counts are linear in the weights; NumPy's function would drop that
    # derivative (grad gave zeros, an eager Tensor a plain array)
    f = HISTOGRAMS[name]
    w = np.array([0.3, 1.2, 2.5, 0.7])
    with pytest.raises(NotImplementedError, match="weights= is not differentiable"):
        cr.grad(lambda v: f(v)[0])(w)
    with pytest.raises(NotImplementedError, match="weights= is not differentiable"):
        f(cr.tensor(w, requires_grad=True))
    # weights that nothing differentiates are NumPy's
    np.testing.assert_array_equal(np.asarray(f(cr.tensor(w))), f(w))


# -- "a fwd that reads a value being differentiated without being given it is an error"
def _closing_over(w):
    @cr.custom_vjp
    def g(x):
        return x * w

    g.defvjp(lambda x: (x * w, x), lambda x, ct: (ct * w,))
    return g


@pytest.mark.parametrize("arg", [3.0, np.array([1.0, 2.0]), (3.0, 4.0)])
def test_custom_vjp_closing_over_a_value_refuses_even_with_constant_arguments(arg):
    # with no argument being differentiated the body ran as it is: its derivative, not
    # the custom rule's, reached w, silently (JAX raises UnexpectedTracerError)
    def call(w):
        return cnp.sum(_closing_over(w)(np.asarray(arg, float)))

    with pytest.raises(TypeError, match="g read a value that grad is differentiating without being given it"):
        cr.grad(call)(2.0)
    with pytest.raises(TypeError, match="g read a value that jvp is differentiating"):
        cr.jvp(call, (2.0,), (1.0,))
    with pytest.raises(TypeError, match="g read a Tensor that requires grad without being given"):
        call(cr.tensor(2.0, requires_grad=True))
    # not an error where nothing is differentiated, nor for checkpoint, whose body may
    with cr.no_grad():
        assert float(call(cr.tensor(2.0, requires_grad=True))) == 2.0 * np.sum(arg)
    assert cr.grad(lambda v: cnp.sum(cr.checkpoint(lambda x: x * v)(np.asarray(arg, float))))(2.0) == np.sum(arg)


# -- checkpoint: "the second run starts from the global generator's state of the first" --
def _noisy(x):
    return cnp.sum(cnp.sin(x * np.random.randn(3)) * np.random.rand(3))


def _noisy_gradient(x):  # closed form, at the draws of np.random.seed(0)
    np.random.seed(0)
    r, s = np.random.randn(3), np.random.rand(3)
    return s * r * np.cos(x * r), np.random.randn()


@pytest.mark.parametrize("how", ["grad", "hessian's gradient", "eager", "jacobian"])
def test_checkpoint_draws_numpys_random_numbers_again_as_the_first_run(how):
    # NumPy's global generator (np.random.randn, HIPS autograd programs' draws) was not
    # put back, so the recomputation drew other numbers: a different gradient, silently
    x = np.array([0.5, -1.0, 2.0])
    want, next_draw = _noisy_gradient(x)
    np.random.seed(0)
    f = cr.checkpoint(_noisy)
    if how == "grad":
        got = cr.grad(f)(x)
    elif how == "hessian's gradient":  # the Hessian's diagonal: -s r² sin(x r)
        np.random.seed(0)
        r, s = np.random.randn(3), np.random.rand(3)
        np.random.seed(0)
        np.testing.assert_allclose(np.diag(cr.hessian(f)(x)), -s * r * r * np.sin(x * r), rtol=1e-13)
        got = want
    elif how == "eager":
        t = cr.tensor(x, requires_grad=True)
        f(t).backward()
        got = t.grad.numpy()
    else:
        got = cr.jacobian(f)(x)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    if how != "hessian's gradient":
        assert np.random.randn() == next_draw  # and the generator moved on as far as without checkpoint


def test_checkpoint_under_jit_draws_each_calls_numbers_again():
    x = np.array([0.5, -1.0, 2.0])
    np.random.seed(0)
    want = []
    for _ in range(2):
        r, s = np.random.randn(3), np.random.rand(3)
        want.append(s * r * np.cos(x * r))
    next_draw = np.random.randn()
    np.random.seed(0)
    jitted = cr.jit(cr.grad(cr.checkpoint(_noisy)))
    got = [jitted(x), jitted(x)]  # a trace, then a replay
    np.testing.assert_allclose(got, want, rtol=1e-13)
    assert np.random.randn() == next_draw
