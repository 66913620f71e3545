"""``symbolic_zeros=True`` of ``custom_jvp.defjvp`` and ``custom_vjp.defvjp``: the same
programs in chainrule and JAX (float64, JAX the oracle) give the same values, and the
rules see the same arguments perturbed and the same cotangents as symbolic zeros."""

import jax
import jax.custom_derivatives as jcd
import numpy as np
import pytest
from jax_namespaces import CR, JAX, assert_jax_results

import chainrule as cr
import chainrule.custom_derivatives as ccd

X, Y = np.array([0.3, 0.7]), np.array([1.5, -2.0])


def _jvp_program(L, cd):
    """``sin(x) * y`` whose rule notes which tangents are symbolic zeros, and returns one
    where both are."""
    seen = []

    @L.custom_jvp
    def f(x, y):
        return L.np.sin(x) * y

    def rule(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        zx, zy = type(tx) is cd.SymbolicZero, type(ty) is cd.SymbolicZero
        seen.append((zx, zy))
        out = f(x, y)
        if zx and zy:
            return out, cd.SymbolicZero.from_primal_value(out)
        t = 0.0 * out
        if not zx:
            assert tx.shape == x.shape
            t = t + L.np.cos(x) * y * tx
        if not zy:
            t = t + L.np.sin(x) * ty
        return out, t

    f.defjvp(rule, symbolic_zeros=True)
    return f, seen


def _vjp_program(L, cd):
    """``(sin(x) * y, cos(x))`` whose fwd notes which arguments are perturbed and whose
    bwd notes which output cotangents are symbolic zeros, returning one for ``y``'s."""
    seen = []

    @L.custom_vjp
    def f(x, y):
        return L.np.sin(x) * y, L.np.cos(x)

    def fwd(x, y):
        assert type(x) is cd.CustomVJPPrimal and type(y) is cd.CustomVJPPrimal
        seen.append(("fwd", x.perturbed, y.perturbed))
        return f(x.value, y.value), (x.value, y.value)

    def bwd(res, g):
        (x, y), (ga, gb) = res, g
        za, zb = type(ga) is cd.SymbolicZero, type(gb) is cd.SymbolicZero
        seen.append(("bwd", za, zb))
        gx = 0.0 * x
        if not za:
            gx = gx + L.np.cos(x) * y * ga
        else:
            assert ga.shape == np.shape(x) and ga.dtype == np.float64
        if not zb:
            gx = gx - L.np.sin(x) * gb
        return gx, (cd.SymbolicZero.from_primal_value(y) if za else L.np.sin(x) * ga)

    f.defvjp(fwd, bwd, symbolic_zeros=True)
    return f, seen


JVP_CASES = {
    "grad_x": lambda L, f: L.grad(lambda x, y: f(x, y).sum())(X, Y),
    "grad_both": lambda L, f: L.grad(lambda x, y: f(x, y).sum(), argnums=(0, 1))(X, Y),
    "jvp_x": lambda L, f: L.jvp(lambda x: f(x, Y), (X,), (np.ones(2),)),
    "jvp_none": lambda L, f: L.jvp(lambda x: f(X, Y) + x, (X,), (np.ones(2),)),
    "jacfwd_y": lambda L, f: L.jacfwd(f, argnums=1)(X, Y),
    "jacrev_x": lambda L, f: L.jacrev(f)(X, Y),
    "vmap_grad": lambda L, f: L.vmap(L.grad(f))(X, Y),
    "grad_vmap": lambda L, f: L.grad(lambda x, y: L.vmap(f, (0, None))(x, y).sum())(X, Y),
    "jvp_vmap": lambda L, f: L.jvp(lambda y: L.vmap(f, (None, 0))(X, y), (Y,), (np.ones(2),)),
    "jit_grad": lambda L, f: L.jit(L.grad(lambda x, y: f(x, y).sum(), argnums=1))(X, Y),
    "grad_jit": lambda L, f: L.grad(L.jit(lambda x, y: f(x, y).sum()))(X, Y),
    "hessian": lambda L, f: L.hessian(lambda x: f(x, Y).sum())(X),
}

VJP_CASES = {
    "grad_first": lambda L, f: L.grad(lambda x, y: f(x, y)[0].sum())(X, Y),
    "grad_second": lambda L, f: L.grad(lambda x, y: f(x, y)[1].sum())(X, Y),
    "grad_both": lambda L, f: L.grad(lambda x, y: (f(x, y)[0] * f(x, y)[1]).sum(), argnums=(0, 1))(X, Y),
    "jacrev": lambda L, f: L.jacrev(lambda x, y: f(x, y)[0], argnums=(0, 1))(X, Y),
    "vmap_grad": lambda L, f: L.vmap(L.grad(lambda x, y: f(x, y)[0]))(X, Y),
    "grad_vmap": lambda L, f: L.grad(lambda x, y: L.vmap(f, (0, None))(x, y[0])[0].sum())(X, Y),
    "grad_vmap_second": lambda L, f: L.grad(
        lambda x, y: L.vmap(f, (0, None))(x, y[0])[1].sum(), argnums=(0, 1))(X, Y),
    "jit_grad": lambda L, f: L.jit(L.grad(lambda x, y: f(x, y)[0].sum()))(X, Y),
    "grad_jit": lambda L, f: L.grad(L.jit(lambda x, y: f(x, y)[1].sum()), argnums=1)(X, Y),
}


def _compare(make, case):
    f_jax, seen_jax = make(JAX, jcd)
    f_cr, seen_cr = make(CR, ccd)
    want = case(JAX, f_jax)
    got = case(CR, f_cr)
    assert_jax_results(got, want)
    assert sorted(set(seen_cr)) == sorted(set(seen_jax))


@pytest.mark.parametrize("name", list(JVP_CASES))
def test_custom_jvp_symbolic_zeros_as_jax(name):
    _compare(_jvp_program, JVP_CASES[name])


@pytest.mark.parametrize("name", list(VJP_CASES))
def test_custom_vjp_symbolic_zeros_as_jax(name):
    _compare(_vjp_program, VJP_CASES[name])


def test_custom_vjp_symbolic_zeros_forward_mode_refused_as_jax():
    for L, cd in ((JAX, jcd), (CR, ccd)):
        f, _ = _vjp_program(L, cd)
        with pytest.raises(TypeError):
            L.jvp(lambda x, f=f: f(x, Y)[0], (X,), (np.ones(2),))


def test_custom_vjp_symbolic_zeros_on_eager_tensors():
    """On eager Tensors, an argument is perturbed where it requires grad."""
    f, seen = _vjp_program(CR, ccd)
    x, y = cr.tensor(X, requires_grad=True), cr.tensor(Y)
    f(x, y)[0].sum().backward()
    f_jax, _ = _vjp_program(JAX, jcd)
    assert_jax_results(x.grad, jax.grad(lambda x: f_jax(x, Y)[0].sum())(X))
    assert sorted(set(seen)) == [("bwd", False, True), ("fwd", True, False)]


def test_symbolic_zero_helpers_as_jax():
    z, zj = ccd.SymbolicZero.from_primal_value(X), jcd.SymbolicZero.from_primal_value(X)
    assert (z.shape, z.dtype, z.aval.shape, repr(z)) == (zj.shape, zj.dtype, zj.aval.shape, repr(zj))
    tree = {"a": X, "b": (Y,)}
    assert_jax_results(ccd.zero_from_primal(tree), jcd.zero_from_primal(tree))
    wrapped = {"a": ccd.CustomVJPPrimal(X, True)}
    assert ccd.custom_vjp_primal_tree_values(wrapped)["a"] is X
    with pytest.raises(NotImplementedError, match="optimize_remat"):
        cr.custom_vjp(lambda x: x).defvjp(lambda x: (x, None), lambda r, g: (g,),
                                          symbolic_zeros=True, optimize_remat=True)


def _integer_argument_program(L, cd):
    """``sin(x) * n`` with an integer ``n``, whose rule notes the kind, shape and dtype of
    each tangent it gets."""
    seen = []

    @L.custom_jvp
    def f(x, n):
        return L.np.sin(x) * n

    def rule(primals, tangents):
        (x, n), (tx, tn) = primals, tangents
        seen.append(tuple((type(t) is cd.SymbolicZero, np.shape(t), str(np.dtype(t.dtype))) for t in (tx, tn)))
        return f(x, n), L.np.cos(x) * n * tx

    f.defjvp(rule, symbolic_zeros=True)
    return f, seen


INTEGER_CASES = {
    "jvp": lambda L, f: L.jvp(lambda x: f(x, 3), (X,), (np.ones(2),)),
    "grad": lambda L, f: L.grad(lambda x: f(x, np.array([2, 3])).sum())(X),
    "vmap_jvp": lambda L, f: L.vmap(lambda x, n: L.jvp(lambda x: f(x, n), (x,), (np.ones(()),))[1])(
        X, np.array([2, 3])),
    "jvp_vmap": lambda L, f: L.jvp(lambda x: L.vmap(f)(x, np.array([2, 3])), (X,), (np.ones(2),)),
}


@pytest.mark.parametrize("name", list(INTEGER_CASES))
def test_symbolic_zero_of_an_integer_argument_is_float0_as_jax(name):
    """The tangent of an integer argument is a SymbolicZero of dtype float0, as JAX's
    (alone, under vmap, and under grad)."""
    _compare(_integer_argument_program, INTEGER_CASES[name])
    assert ccd.SymbolicZero.from_primal_value(np.arange(3)).dtype == jax.dtypes.float0
    assert ccd.zero_from_primal(np.array([True])).dtype == jcd.zero_from_primal(np.array([True])).dtype


def _zero_tangent_program(L, cd):
    """``g(stop(x), x)``: ``stop``'s rule returns a symbolic zero tangent, and ``g``'s rule
    notes which of its tangents are symbolic zeros."""
    seen = []

    @L.custom_jvp
    def stop(x):
        return x * 1.0

    stop.defjvp(lambda p, t: (stop(p[0]), cd.SymbolicZero.from_primal_value(p[0])), symbolic_zeros=True)

    @L.custom_jvp
    def g(u, x):
        return u * x

    def rule(primals, tangents):
        (u, x), (tu, tx) = primals, tangents
        seen.append(tuple(type(t) is cd.SymbolicZero for t in tangents))
        t = 0.0 * u
        if type(tu) is not cd.SymbolicZero:
            t = t + tu * x
        if type(tx) is not cd.SymbolicZero:
            t = t + u * tx
        return g(u, x), t

    g.defjvp(rule, symbolic_zeros=True)
    return (lambda x: g(stop(x), x)), seen


ZERO_TANGENT_CASES = {
    "jvp": lambda L, f: L.jvp(f, (X,), (np.ones(2),)),
    "vmap_jvp": lambda L, f: L.vmap(lambda x: L.jvp(f, (x,), (np.ones(()),)))(X),
    "jvp_vmap": lambda L, f: L.jvp(L.vmap(f), (X,), (np.ones(2),)),
    "jacfwd_vmap": lambda L, f: L.jacfwd(L.vmap(f))(X),
}


@pytest.mark.parametrize("name", list(ZERO_TANGENT_CASES))
def test_a_rule_s_symbolic_zero_reaches_the_next_rule_as_jax(name):
    """A symbolic zero that a jvp rule returns leaves its output unperturbed, alone and
    under vmap: the next rule gets a SymbolicZero for it (it got zeros), as in JAX."""
    _compare(_zero_tangent_program, ZERO_TANGENT_CASES[name])
