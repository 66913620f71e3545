"""chainrule.lax's control flow under cr.vmap with a predicate, an index or a loop bound that
differs between the examples: every branch runs on the whole batch, and each example's
derivative is its own branch's, in every order of vmap, grad and jit, without the NaN that
a branch it does not take makes (``sqrt`` of a negative number, guarded by the predicate).
The oracles: central differences of the function on one example (which takes one branch
only), closed forms, and JAX (float64) where it is installed; the predicate's types are
JAX's."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import lax

CR = SimpleNamespace(np=cnp, lax=lax, vmap=cr.vmap, grad=cr.grad, jit=cr.jit, jacrev=cr.jacrev,
                     jacfwd=cr.jacfwd, checkpoint=cr.checkpoint, custom_vjp=cr.custom_vjp)
XS = np.array([1.2, -0.5, 0.3, 1.7, -1.1])


def _sqrt_with_custom_vjp(L):
    @L.custom_vjp
    def root(a):
        return L.np.sqrt(a)

    root.defvjp(lambda a: (L.np.sqrt(a), a), lambda a, g: (g * 0.5 / L.np.sqrt(a),))
    return root


def _closure(L):
    def f(v):
        w = v * 2.0
        return L.lax.cond(v > 0, lambda: L.np.sqrt(w), lambda: 0.0 * w)
    return f


# Functions of one number, with a branch that would be NaN (or infinite) for the examples
# that do not take it; ``reverse``: whether JAX differentiates it in reverse mode.
PROGRAMS = {
    "cond": lambda L: lambda v: L.lax.cond(v > 0, L.np.sqrt, lambda a: 0.0 * a, v),
    "cond, logs both ways": lambda L: lambda v: L.lax.cond(
        v > 0, lambda a: L.np.log(a) * a, lambda a: L.np.log(-a) + a, v),
    "switch": lambda L: lambda v: L.lax.switch(
        L.np.where(v > 1, 2, L.np.where(v > 0, 0, 1)),
        [L.np.sqrt, lambda a: L.np.log(-a), lambda a: L.np.arcsin(a - 1.5)], v),
    "closure": _closure,
    "pytree operands": lambda L: lambda v: L.lax.cond(
        v > 0, lambda p: L.np.sqrt(p["a"]) + p["b"][0], lambda p: p["b"][1] * 3.0,
        {"a": v, "b": (v * 2.0, v)}),
    "nested cond": lambda L: lambda v: L.lax.cond(
        v > -0.8, lambda: L.lax.cond(v > 0, lambda: L.np.log(v), lambda: L.np.sqrt(v + 0.8)),
        lambda: v * 2.0),
    "checkpointed branch": lambda L: lambda v: L.lax.cond(
        v > 0, L.checkpoint(L.np.sqrt), lambda a: 0.0 * a, v),
    "custom_vjp branch": lambda L: lambda v: L.lax.cond(
        v > 0, _sqrt_with_custom_vjp(L), lambda a: 0.0 * a, v),
    "fori_loop of conds": lambda L: lambda v: L.lax.fori_loop(
        0, 3, lambda i, c: L.lax.cond(c > 0, lambda: L.np.sqrt(c) + 0.1, lambda: c * 1.5), v),
    "scan of conds": lambda L: lambda v: L.lax.scan(
        lambda c, e: (L.lax.cond(c > e, lambda: L.np.sqrt(c - e), lambda: c * e), c),
        v, np.array([0.1, -0.2, 0.5]))[0],
    # the examples that are done run the body too: sqrt(3.5 - c) of c >= 3.5 is NaN
    "while_loop": lambda L: lambda v: L.lax.while_loop(
        lambda c: c[0] < 3.0, lambda c: (c[0] + 1.0, c[1] * L.np.sqrt(3.5 - c[0])), (v + 1.0, v))[1],
    # 2 steps where v > 0, else 1: the second sqrt is of a negative number there
    "fori_loop with batched bounds": lambda L: lambda v: L.lax.fori_loop(
        0, L.np.where(v > 0, 2, 1), lambda i, c: L.np.sqrt(c) - 1.0, v * v + 0.5),
}
NOT_REVERSED_BY_JAX = {"while_loop", "fori_loop with batched bounds"}
# where "fori_loop with batched bounds" takes its second step, sqrt(v**2 + 0.5) > 1
INPUTS = {"fori_loop with batched bounds": np.array([1.2, -0.5, 0.9, 1.7, -0.3])}


def central_differences(f, xs, h=1e-6):
    """Each example's derivative of ``f`` from its values on that example alone."""
    return np.array([(float(f(x + h)) - float(f(x - h))) / (2 * h) for x in xs])


def _transformed(L, f, xs):
    """The derivative of every example, four ways."""
    return {"vmap(grad)": L.vmap(L.grad(f))(xs),
            "grad(vmap)": L.grad(lambda x: L.np.sum(L.vmap(f)(x)))(xs),
            "jit(vmap(grad))": L.jit(L.vmap(L.grad(f)))(xs),
            "vmap(jacrev)": L.vmap(L.jacrev(f))(xs)}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_each_example_differentiates_its_own_branch(name):
    f, xs = PROGRAMS[name](CR), INPUTS.get(name, XS)
    want = central_differences(f, xs)
    assert np.all(np.isfinite(want))
    np.testing.assert_allclose(cr.vmap(f)(xs), [float(f(x)) for x in xs], rtol=1e-12)
    for how, got in _transformed(CR, f, xs).items():
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8, err_msg=how)


def _smooth_each_way(L):
    """sqrt(v)·v where v > 0 and v**3 (plus a NaN times 0) elsewhere."""
    return lambda v: L.lax.cond(v > 0, lambda a: L.np.sqrt(a) * a, lambda a: L.np.log(a) * 0.0 + a ** 3, v)


def test_higher_derivatives_are_the_taken_branchs():
    f = _smooth_each_way(CR)
    pos = XS > 0
    second = np.where(pos, 0.75 / np.sqrt(np.abs(XS)), 6 * XS)
    third = np.where(pos, -0.375 * np.abs(XS) ** -1.5, 6.0)
    grad2 = cr.grad(cr.grad(f))
    np.testing.assert_allclose(cr.vmap(grad2)(XS), second, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(cr.vmap(grad2))(XS), second, rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.jit(grad2))(XS), second, rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.hessian(f))(XS), second, rtol=1e-12)
    total = lambda x: cnp.sum(cr.vmap(f)(x))  # noqa: E731
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(cr.grad(total)(x)))(XS), second, rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(grad2))(XS), third, rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.vmap(grad2))(np.stack([XS, -XS])),
                               np.stack([second, np.where(~pos, 0.75 / np.sqrt(np.abs(XS)), -6 * XS)]), rtol=1e-12)


def test_gradient_of_a_value_the_vmap_does_not_batch():
    # d/dw of sum(sqrt(w * v)) where v > 0, of sum(w**2) * v elsewhere
    w = np.array([0.1, 2.0, 1.5])
    f = lambda w, v: lax.cond(v > 0, lambda: cnp.sum(cnp.sqrt(w * v)), lambda: cnp.sum(w ** 2) * v)  # noqa: E731
    each = np.array([0.5 * np.sqrt(v / w) if v > 0 else 2 * w * v for v in XS])
    np.testing.assert_allclose(cr.vmap(cr.grad(f), in_axes=(None, 0))(w, XS), each, rtol=1e-12)
    total = cr.grad(lambda w: cnp.sum(cr.vmap(f, in_axes=(None, 0))(w, XS)))(w)
    np.testing.assert_allclose(total, each.sum(0), rtol=1e-12)


def test_no_grad_outside_a_branch_is_unchanged():
    # forward mode selects the tangents already; values are each branch's
    f = PROGRAMS["cond"](CR)
    np.testing.assert_allclose(cr.vmap(cr.jacfwd(f))(XS), np.where(XS > 0, 0.5 / np.sqrt(np.abs(XS)), 0.0))
    assert np.array_equal(np.isnan(cr.vmap(lambda v: lax.cond(v > 0, cnp.sqrt, lambda a: a, v))(XS)),
                          np.zeros(5, bool))


def test_branches_not_taken_raise_no_floating_point_errors():
    # JAX says nothing of the NaN of a branch an example does not take; NumPy would warn,
    # or raise under np.seterr(all="raise")
    f = PROGRAMS["cond, logs both ways"](CR)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(np.isfinite(cr.vmap(f)(XS)))
        assert np.all(np.isfinite(cr.vmap(cr.grad(f))(XS)))
        assert np.all(np.isfinite(cr.vmap(PROGRAMS["while_loop"](CR))(XS)))
    with np.errstate(all="raise"), pytest.raises(FloatingPointError):  # outside vmap: NumPy's
        cnp.log(cnp.array(-1.0))


# -- the types of a predicate, an index, a carry and bounds: JAX's ---------------------------------
BAD_TYPES = [
    (lambda L: L.lax.switch(1.5, [lambda: 1.0, lambda: 2.0]), r"switch: the index must be an integer"),
    (lambda L: L.lax.switch(True, [lambda: 1.0, lambda: 2.0]), r"switch: the index must be an integer"),
    (lambda L: L.vmap(lambda v: L.lax.switch(v, [lambda: 1.0, lambda: v]))(XS), r"index must be an integer"),
    (lambda L: L.lax.cond(1j, lambda: 1.0, lambda: 2.0), r"cond: the predicate must be a boolean or a real"),
    (lambda L: L.lax.cond("yes", lambda: 1.0, lambda: 2.0), r"cond: the predicate must be a scalar"),
    (lambda L: L.lax.while_loop(lambda c: 3 - c, lambda c: c + 1, 0), r"cond_fun's result must be a boolean"),
    (lambda L: L.vmap(lambda v: L.lax.while_loop(lambda c: c, lambda c: c - 1.0, v))(XS),
     r"cond_fun's result must be a boolean"),
    # a scan's carry keeps its structure, shapes and dtypes; fori_loop's bounds agree in type
    (lambda L: L.lax.scan(lambda c, e: (L.np.stack([c, c]), None), 0.0, XS), r"scan: the body changed the type"),
    (lambda L: L.vmap(lambda v: L.lax.scan(lambda c, e: ((c, c), None), v, XS))(XS),
     r"scan: the body returned a carry structured differently"),
    (lambda L: L.vmap(lambda v: L.lax.scan(lambda c, e: (c + e, None), v.astype(L.np.float32), XS))(XS),
     r"float64\[\] and float32\[\]"),
    (lambda L: L.lax.fori_loop(0, 2.5, lambda i, c: c + 1, 0),
     r"lower and upper must have the same type.*int64 and float64"),
    (lambda L: L.lax.fori_loop(np.int32(0), np.int64(3), lambda i, c: c + 1, 0), r"int32 and int64"),
    (lambda L: L.vmap(lambda k: L.lax.fori_loop(0.0, k, lambda i, c: c + 1, 0))(np.array([1, 2])),
     r"float64 and int64"),
]


@pytest.mark.parametrize("k", range(len(BAD_TYPES)))
def test_predicate_types_are_jaxs(k):
    program, message = BAD_TYPES[k]
    with pytest.raises(TypeError, match=message):
        program(CR)


def test_predicate_types_that_jax_takes():
    assert lax.switch(np.uint8(1), [lambda: 1.0, lambda: 2.0]) == 2.0
    assert lax.cond(np.float32(0.5), lambda: 1.0, lambda: 2.0) == 1.0
    assert lax.cond(0, lambda: 1.0, lambda: 2.0) == 2.0
    assert lax.fori_loop(0, np.int32(3), lambda i, c: c + i, 0) == 3  # a Python int takes int32
    assert lax.scan(lambda c, e: (c + e, None), 0, XS)[0] == XS.sum()  # so does a carry of 0


# -- JAX as the oracle -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_derivatives_are_jaxs(name):
    pytest.importorskip("jax")
    from jax_namespaces import jax_compiled  # (jax installed: tests/transforms is on sys.path)

    xs = INPUTS.get(name, XS)
    if name in NOT_REVERSED_BY_JAX:  # JAX refuses reverse mode through a while_loop
        want = jax_compiled(lambda L: L.vmap(L.jacfwd(PROGRAMS[name](L)))(xs))
        np.testing.assert_allclose(cr.vmap(cr.grad(PROGRAMS[name](CR)))(xs), want, rtol=1e-10)
        return
    want = jax_compiled(lambda L: _transformed(L, PROGRAMS[name](L), xs))
    for how, got in _transformed(CR, PROGRAMS[name](CR), xs).items():
        np.testing.assert_allclose(got, want[how], rtol=1e-10, atol=1e-12, err_msg=how)


def test_second_derivatives_are_jaxs():
    pytest.importorskip("jax")
    from jax_namespaces import jax_compiled

    def derivatives(L):
        f = _smooth_each_way(L)
        return (L.vmap(L.grad(L.grad(f)))(XS), L.vmap(L.grad(L.grad(L.grad(f))))(XS),
                L.grad(lambda x: L.np.sum(L.grad(lambda x: L.np.sum(L.vmap(f)(x)))(x)))(XS))

    for got, want in zip(derivatives(CR), jax_compiled(derivatives), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("k", range(len(BAD_TYPES)))
def test_jax_refuses_the_same_predicates(k):
    pytest.importorskip("jax")
    from jax_namespaces import JAX

    with pytest.raises(TypeError):
        BAD_TYPES[k][0](JAX)
