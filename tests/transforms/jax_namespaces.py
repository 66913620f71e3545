"""The two namespaces that the JAX program tests write their programs over, ``L = JAX`` or
``L = CR`` (``L.np``, ``L.lax``, ``L.grad``, ``L.random``, ...), and the check that a
program's results under chainrule are JAX's (float64, JAX the oracle)."""

from types import SimpleNamespace

import jax
import jax.flatten_util
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.scipy.linalg as csl

jax.config.update("jax_enable_x64", True)

JAX = SimpleNamespace(
    np=jnp, lax=jax.lax, grad=jax.grad, value_and_grad=jax.value_and_grad, vmap=jax.vmap,
    jit=jax.jit, jvp=jax.jvp, vjp=jax.vjp, jacfwd=jax.jacfwd, jacrev=jax.jacrev,
    hessian=jax.hessian, custom_vjp=jax.custom_vjp, custom_jvp=jax.custom_jvp,
    checkpoint=jax.checkpoint, tree_util=jax.tree_util, tree=jax.tree, linalg=jsl, nn=jax.nn,
    random=jax.random, stop_gradient=jax.lax.stop_gradient, at=lambda x: x.at,
    ravel_pytree=jax.flatten_util.ravel_pytree, array_types=(jax.Array, np.ndarray, np.generic))
CR = SimpleNamespace(
    np=cnp, lax=cr.lax, grad=cr.grad, value_and_grad=cr.value_and_grad, vmap=cr.vmap,
    jit=cr.jit, jvp=cr.jvp, vjp=cr.vjp, jacfwd=cr.jacfwd, jacrev=cr.jacrev,
    hessian=cr.hessian, custom_vjp=cr.custom_vjp, custom_jvp=cr.custom_jvp,
    checkpoint=cr.checkpoint, tree_util=cr.tree_util, tree=cr.tree, linalg=csl, nn=cr.jax_nn,
    random=cr.random, stop_gradient=cr.stop_gradient, at=cr.at,
    ravel_pytree=cr.flatten_util.ravel_pytree, array_types=(cr.Tensor, np.ndarray, np.generic))

# JAX's side of a program compiled once, not operation by operation, and without XLA's
# costly optimisations: the compilation takes most of a test's time
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def jax_compiled(program):
    """``program(JAX)`` run as one compiled JAX computation."""
    return jax.jit(lambda: program(JAX)).lower().compile(compiler_options=FAST_COMPILE)()


def assert_jax_results(got, want, rtol=1e-10, atol=1e-12):
    """chainrule's results ``got`` are JAX's ``want``: the same tree of leaves, each of
    the same shape and (to ``rtol``, ``atol``) the same values."""
    want_leaves, want_tree = jax.tree_util.tree_flatten(want)
    got_leaves, got_tree = cr.tree_flatten(got)
    assert len(got_leaves) == len(want_leaves), (got_tree, want_tree)
    for k, (g, w) in enumerate(zip(got_leaves, want_leaves, strict=True)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"leaf {k}: shape {g.shape}, JAX {w.shape}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"leaf {k}")
