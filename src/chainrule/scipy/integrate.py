"""``chainrule.scipy.integrate``: ``odeint``, differentiable in the initial state, the
times and the parameters passed in ``args``, in both modes and to any order.

* Reverse mode is the adjoint method, as in HIPS autograd (Froehlich, Loos and
  Hasenauer, arXiv:1711.08079, sec. 2.4.2): between each pair of output times the
  system is integrated backwards together with the adjoint state and the running
  cotangents of the times and of the parameters. No step of the forward solve is stored.
* Forward mode integrates the sensitivity equations ``ds/dt = ∂f/∂y s + ∂f/∂θ dθ``
  alongside the state, from ``s(t₀) = dy₀ − f(y₀, t₀) dt₀``; a moved output time
  ``t_j`` adds ``f(y_j, t_j) dt_j``.

Both rules call ``odeint`` again (on the augmented systems), so they differentiate
again. As in autograd, whatever ``func`` differentiates with must come in through
``args``: a parameter that ``func`` reads from a closure is held constant. ``func`` is
written with ``chainrule.numpy``. Every other name of ``scipy.integrate`` is SciPy's own.
"""

from __future__ import annotations

import numpy as np
import scipy.integrate as si

import chainrule.numpy as cnp
from chainrule.core.linearize import pullback, pushforward
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tensor import Tensor
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.products import any_tensor
from chainrule.numpy.registry import mirrors, wrap
from chainrule.scipy.reexport import fallback

__all__ = ["odeint"]


# -- the primitive: one packed vector z = [y0, t, θ] of everything differentiated ---------------
def _unpack(z, n_y: int, n_t: int):
    return z[:n_y], z[n_y:n_y + n_t], z[n_y + n_t:]


def _odeint_values(z, func, n_y, n_t, options):
    y0, t, theta = _unpack(np.asarray(z), n_y, n_t)
    return si.odeint(func, y0, t, args=(theta,), **dict(options))


_odeint = wrap(_odeint_values, "scipy.integrate", "odeint", public=False)


def _zeros_if_none(v, like):
    return cnp.zeros_like(like) if v is None else v


def _adjoint_dynamics(func, n_y: int):
    """The system [y, a, a_t, a_θ] integrated backwards in time: y' = f, and the adjoint
    a with a' = −aᵀ ∂f/∂y, with the cotangents of time and parameters accumulating."""

    def dynamics(state, t, theta):
        y, a = state[:n_y], state[n_y:2 * n_y]
        t = t if isinstance(t, Tensor) else np.float64(t)
        dy, pull = pullback(func, (y, t, theta))
        vy, vt, vtheta = pull(-a)
        return cnp.concatenate([dy, _zeros_if_none(vy, y),
                                cnp.reshape(_zeros_if_none(vt, t), (1,)),
                                _zeros_if_none(vtheta, theta)])

    return dynamics


def odeint_vjp(g, ans, z, func, n_y, n_t, options):
    y0, t, theta = _unpack(z, n_y, n_t)
    adjoint = _adjoint_dynamics(func, n_y)
    n_theta = shape_of(theta)[0]
    vjp_y = g[-1]
    vjp_t0 = cnp.zeros_like(t[0])
    vjp_theta = cnp.zeros_like(theta)
    time_vjps = []
    for i in range(n_t - 1, 0, -1):
        # moving the output time t_i moves y_i along f
        vjp_ti = cnp.sum(func(ans[i], t[i], theta) * g[i])
        time_vjps.append(vjp_ti)
        vjp_t0 = vjp_t0 - vjp_ti
        state = cnp.concatenate([ans[i], vjp_y, cnp.reshape(vjp_t0, (1,)), vjp_theta])
        packed = cnp.concatenate([state, cnp.stack([t[i], t[i - 1]]), theta])
        back = _odeint(packed, func=adjoint, n_y=2 * n_y + 1 + n_theta, n_t=2,
                       options=options)[1]
        vjp_y = back[n_y:2 * n_y] + g[i - 1]
        vjp_t0, vjp_theta = back[2 * n_y], back[2 * n_y + 1:]
    time_vjps.append(vjp_t0)
    return cnp.concatenate([vjp_y, cnp.stack(time_vjps[::-1]), vjp_theta])


def _sensitivity_dynamics(func, n_y: int, n_theta: int):
    """The system [y, s] with y' = f(y, t, θ) and s' = ∂f/∂y s + ∂f/∂θ dθ; the
    parameters of this system are [θ, dθ]."""

    def dynamics(state, t, params):
        y, s = state[:n_y], state[n_y:]
        theta, dtheta = params[:n_theta], params[n_theta:]
        dy, ds = pushforward(lambda y_, th: func(y_, t, th), (y, theta), (s, dtheta))
        return cnp.concatenate([dy, _zeros_if_none(ds, dy)])

    return dynamics


def odeint_jvp(dz, ans, z, func, n_y, n_t, options):
    y0, t, theta = _unpack(z, n_y, n_t)
    dy0, dt, dtheta = _unpack(dz, n_y, n_t)
    n_theta = shape_of(theta)[0]
    s0 = dy0 - func(y0, t[0], theta) * dt[0]
    packed = cnp.concatenate([y0, s0, t, theta, dtheta])
    both = _odeint(packed, func=_sensitivity_dynamics(func, n_y, n_theta), n_y=2 * n_y,
                   n_t=n_t, options=options)
    moved = cnp.stack([func(ans[j], t[j], theta) * dt[j] for j in range(n_t)])
    return both[:, n_y:] + moved


def_vjps(_odeint, odeint_vjp)
def_jvps(_odeint, odeint_jvp)
# Under vmap each example's solver takes its own adaptive steps: one solve per example.
def_batch(batching.per_example, _odeint)


# -- the public function: SciPy's signature, parameters as a pytree in args -----------------------
def _is_parameter(leaf) -> bool:
    """Leaves of ``args`` that are differentiated: Tensors and floating-point values."""
    if isinstance(leaf, Tensor):
        return True
    return isinstance(leaf, float | np.floating | np.ndarray) and np.asarray(leaf).dtype.kind == "f"


def _flat_func(func, tree, leaves, tfirst: bool):
    """``func`` of (y, t, θ) with θ the parameters of ``args`` in one flat vector."""
    where = [i for i, leaf in enumerate(leaves) if _is_parameter(leaf)]
    shapes = [shape_of(leaves[i]) for i in where]
    sizes = [int(np.prod(s)) for s in shapes]

    def flat(y, t, theta):
        filled, offset = list(leaves), 0
        for i, shape, size in zip(where, shapes, sizes, strict=True):
            filled[i] = cnp.reshape(theta[offset:offset + size], shape)
            offset += size
        args = tree_unflatten(tree, filled)
        return func(t, y, *args) if tfirst else func(y, t, *args)

    theta = [cnp.ravel(leaves[i]) for i in where]
    return flat, theta


_REFUSED = ("Dfun", "col_deriv", "full_output")


@mirrors(si.odeint, "scipy.integrate")
def odeint(func, y0, t, args=(), *more, tfirst: bool = False, **kwargs):
    """``scipy.integrate.odeint``; differentiable in ``y0``, ``t`` and the floating-point
    values in ``args`` (a tuple, or any pytree, of arrays).

    >>> import numpy as np, chainrule as cr
    >>> decay = lambda y, t, k: -k * y
    >>> dy_dk = cr.grad(lambda k: odeint(decay, np.array([1.0]), np.array([0.0, 1.0]),
    ...                                  (k,), rtol=1e-10, atol=1e-10)[1, 0])
    >>> round(float(dy_dk(0.5)), 6)   # d/dk exp(-k) = -exp(-k)
    -0.606531
    """
    if not isinstance(args, tuple):
        args = (args,)
    leaves, tree = tree_flatten(args)
    if not any_tensor((y0, t, *leaves)):
        return si.odeint(func, y0, t, args, *more, tfirst=tfirst, **kwargs)
    if more or any(kwargs.get(k) for k in _REFUSED):
        raise NotImplementedError(
            "odeint: differentiated, it takes the solver's options as keywords (rtol=, "
            "atol=, hmax=, ...); Dfun, col_deriv and full_output are not supported"
        )
    if len(shape_of(y0)) != 1 or len(shape_of(t)) != 1:
        raise ValueError(
            f"odeint: y0 and t must be vectors, got shapes {shape_of(y0)} and {shape_of(t)}"
        )
    flat, theta = _flat_func(func, tree, leaves, tfirst)
    parts = [cnp.astype(y0, float), cnp.astype(t, float), *theta]
    packed = cnp.concatenate(parts) if theta else cnp.concatenate(parts + [np.zeros(0)])
    options = tuple(sorted(kwargs.items()))
    return _odeint(packed, func=flat, n_y=shape_of(y0)[0], n_t=shape_of(t)[0], options=options)


# every other name of scipy.integrate: SciPy's own, refusing Tensors (see reexport.py)
__getattr__, __dir__ = fallback(__name__, "scipy.integrate")
