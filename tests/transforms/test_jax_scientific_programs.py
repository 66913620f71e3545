"""Scientific programs written as their JAX authors write them (jax-md's periodic spaces,
pair energies and integrators; diffrax/odeint-style solvers and adjoints; optax-style
optimizers; Gaussian processes and HMC), each written once over a namespace ``L`` and run
with chainrule and with JAX in float64: values and derivatives must agree (JAX is the
oracle). Sizes are tiny; the structure of the code is the point."""

import dataclasses
from functools import partial
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pytest

pytest.importorskip("jax")
from jax_namespaces import CR, assert_jax_results, jax_compiled  # noqa: E402 (after the skip)

RNG = np.random.default_rng(7)


# -- jax-md: periodic space, pair energies, integrators -------------------------------------------
SIDE = 3.0
N_ATOMS, DIM = 5, 2
R0 = np.array([[0.2, 0.3], [1.3, 0.4], [2.6, 0.5], [0.7, 1.6], [1.9, 2.4]])
V0 = RNG.normal(size=(N_ATOMS, DIM)) * 0.1


def periodic(L, side):
    """jax_md.space.periodic: minimum-image displacement and wrapped shift."""
    def displacement(Ra, Rb):
        dR = Ra - Rb
        return L.np.mod(dR + side * 0.5, side) - 0.5 * side

    def shift(R, dR):
        return L.np.mod(R + dR, side)

    return displacement, shift


def safe_mask(L, mask, fn, operand, placeholder=0.0):
    masked = L.np.where(mask, operand, 0)
    return L.np.where(mask, fn(masked), placeholder)


def distance(L, dR):
    dr = L.np.sum(dR**2, axis=-1)
    return safe_mask(L, dr > 0, L.np.sqrt, dr)


def lennard_jones(L, dr, sigma=1.0, epsilon=1.0):
    idr = (sigma / dr) ** 2
    idr6 = idr**3
    idr12 = idr6**2
    return 4.0 * epsilon * (idr12 - idr6)


def soft_sphere(L, dr, sigma=1.0, epsilon=1.0, alpha=2.0):
    dr = dr / sigma
    return L.np.where(dr < 1.0, epsilon / alpha * (1.0 - dr) ** alpha, 0.0)


def diagonal_mask(L, X):
    N = X.shape[0]
    X = L.np.nan_to_num(X)
    mask = 1.0 - L.np.eye(N, dtype=X.dtype)
    return mask * X


def pair_energy(L, pair_fn, side=SIDE):
    displacement, _ = periodic(L, side)
    metric = L.vmap(L.vmap(displacement, (0, None)), (None, 0))

    def energy(R, **kwargs):
        dr = distance(L, metric(R, R))
        return 0.5 * L.np.sum(diagonal_mask(L, pair_fn(L, dr, **kwargs)))

    return energy


class NVEState(NamedTuple):
    position: object
    velocity: object
    force: object


def velocity_verlet(L, energy_fn, shift, dt, steps, **kwargs):
    force_fn = lambda R: -L.grad(energy_fn)(R, **kwargs)  # noqa: E731

    def step(i, state):
        R, V, F = state
        V = V + 0.5 * dt * F
        R = shift(R, dt * V)
        F = force_fn(R)
        V = V + 0.5 * dt * F
        return NVEState(R, V, F)

    def run(R, V):
        return L.lax.fori_loop(0, steps, step, NVEState(R, V, force_fn(R)))

    return run


def fire_descent(L, energy_fn, shift, dt_start=0.05, dt_max=0.1, n_min=2, f_inc=1.1,
                 f_dec=0.5, alpha_start=0.1, f_alpha=0.99):
    """jax_md.minimize.fire_descent with its state a dataclass registered as a pytree."""
    @dataclasses.dataclass
    class FireDescentState:
        position: object
        momentum: object
        force: object
        mass: object
        dt: object
        alpha: object
        n_pos: object

    L.tree_util.register_pytree_node(
        FireDescentState, lambda s: (dataclasses.astuple(s), None),
        lambda _, xs: FireDescentState(*xs))
    force = lambda R: -L.grad(energy_fn)(R)  # noqa: E731

    def init_fn(R, mass=1.0):
        P = L.np.zeros_like(R)
        n_pos = L.np.zeros((), L.np.int32)
        return FireDescentState(R, P, force(R), mass, dt_start, alpha_start, n_pos)

    def apply_fn(state):
        R, P, F, M, dt, alpha, n_pos = dataclasses.astuple(state)
        P = P + dt * 0.5 * F
        R = shift(R, dt * P / M)
        F = force(R)
        P = P + dt * 0.5 * F
        F_norm = L.np.sqrt(L.np.sum(F**2) + 1e-6)
        P_norm = L.np.sqrt(L.np.sum(P**2))
        F_dot_P = L.np.sum(F * P)
        P = P + alpha * (F * P_norm / F_norm - P)
        n_pos = L.np.where(F_dot_P >= 0, n_pos + 1, 0)
        dt_choice = L.np.array([dt * f_inc, dt_max])
        dt = L.np.where(F_dot_P > 0, L.np.where(n_pos > n_min, L.np.min(dt_choice), dt), dt)
        dt = L.np.where(F_dot_P < 0, dt * f_dec, dt)
        alpha = L.np.where(F_dot_P > 0, L.np.where(n_pos > n_min, alpha * f_alpha, alpha), alpha)
        alpha = L.np.where(F_dot_P < 0, alpha_start, alpha)
        P = (F_dot_P >= 0) * P
        return FireDescentState(R, P, F, M, dt, alpha, n_pos)

    return init_fn, apply_fn


def md_lj_energy_and_forces(L):
    energy = pair_energy(L, lennard_jones)
    R = R0 * 1.0
    return energy(R, sigma=0.9), -L.grad(energy)(R, sigma=0.9), L.grad(
        lambda s: energy(R, sigma=s))(0.9)


def md_soft_sphere_hessian(L):
    energy = pair_energy(L, soft_sphere)
    return L.hessian(lambda R: energy(R, sigma=1.4))(R0)


def md_nve_grad_sigma(L):  # differentiable MD: d(final kinetic energy)/d(sigma)
    energy = pair_energy(L, soft_sphere)
    _, shift = periodic(L, SIDE)

    def kinetic(sigma):
        state = velocity_verlet(L, energy, shift, 0.05, 4, sigma=sigma)(R0, V0)
        return 0.5 * L.np.sum(state.velocity**2), state

    return L.value_and_grad(kinetic, has_aux=True)(1.4)


def md_fire_grad(L):  # the relaxed energy as a function of the starting positions
    energy = pair_energy(L, soft_sphere)
    _, shift = periodic(L, SIDE)
    init_fn, apply_fn = fire_descent(L, lambda R: energy(R, sigma=1.4), shift)

    def relaxed(R):
        def body(state, _):
            state = apply_fn(state)
            return state, energy(state.position, sigma=1.4)

        state, energies = L.lax.scan(body, init_fn(R), None, length=5)
        return energy(state.position, sigma=1.4), (dataclasses.astuple(state), energies)

    return L.value_and_grad(relaxed, has_aux=True)(R0)


def md_neighbour_pairs(L):  # energy over an explicit pair list, vmapped over pairs
    displacement, _ = periodic(L, SIDE)
    i, j = np.triu_indices(N_ATOMS, 1)

    def energy(R, sigma):
        dR = L.vmap(displacement)(R[i], R[j])
        dr = L.np.linalg.norm(dR, axis=-1)
        return L.np.sum(soft_sphere(L, dr, sigma=sigma))

    return L.grad(energy, argnums=(0, 1))(R0, 1.4)


def md_fire_jitted_steps(L):  # jit of the step; the state's registered flatten deep-copies
    energy = pair_energy(L, soft_sphere)
    _, shift = periodic(L, SIDE)
    init_fn, apply_fn = fire_descent(L, lambda R: energy(R, sigma=1.4), shift)
    apply_fn, state, trail = L.jit(apply_fn), init_fn(R0), []
    for _ in range(4):
        state = apply_fn(state)
        trail.append((state.dt, state.alpha, state.n_pos))
    return dataclasses.astuple(state), trail


def md_nve_ensemble(L):  # vmap of a whole simulation over starting velocities
    energy = pair_energy(L, soft_sphere)
    _, shift = periodic(L, SIDE)
    run = velocity_verlet(L, energy, shift, 0.05, 3, sigma=1.4)
    return L.vmap(run, in_axes=(None, 0))(R0, np.stack([V0, -V0, 2 * V0]))


PROGRAMS = {
    "jax-md: Lennard-Jones energy, forces, d/dsigma": md_lj_energy_and_forces,
    "jax-md: soft-sphere hessian": md_soft_sphere_hessian,
    "jax-md: grad through velocity Verlet in fori_loop, a NamedTuple state": md_nve_grad_sigma,
    "jax-md: grad through FIRE in scan, a dataclass state": md_fire_grad,
    "jax-md: pair list, vmap over pairs": md_neighbour_pairs,
    "jax-md: jitted FIRE steps in a Python loop": md_fire_jitted_steps,
    "jax-md: vmap of velocity Verlet over an ensemble": md_nve_ensemble,
}


# -- diffrax / jax.experimental.ode: Runge-Kutta over pytrees, adaptive steps, adjoints -------
THETA = {"alpha": 1.1, "beta": 0.4, "gamma": 0.4, "delta": 0.1}
Y0 = {"prey": np.array(10.0), "predator": np.array(5.0)}
TS = np.linspace(0.0, 1.0, 5)


def lotka_volterra(L, y, t, theta):
    x, z = y["prey"], y["predator"]
    return {"prey": theta["alpha"] * x - theta["beta"] * x * z,
            "predator": theta["delta"] * x * z - theta["gamma"] * z + 0.01 * L.np.sin(t)}


def rk4_step(L, f, y, t, dt, *args):
    tm = L.tree_util.tree_map
    k1 = f(y, t, *args)
    k2 = f(tm(lambda y, k: y + 0.5 * dt * k, y, k1), t + 0.5 * dt, *args)
    k3 = f(tm(lambda y, k: y + 0.5 * dt * k, y, k2), t + 0.5 * dt, *args)
    k4 = f(tm(lambda y, k: y + dt * k, y, k3), t + dt, *args)
    return tm(lambda y, a, b, c, d: y + dt / 6.0 * (a + 2.0 * b + 2.0 * c + d), y, k1, k2, k3, k4)


def rk4_solve(L, f, y0, t0, t1, n, *args):
    dt = (t1 - t0) / n

    def body(carry, i):
        y, t = carry
        y = rk4_step(L, lambda y, t, *a: f(L, y, t, *a), y, t, dt, *args)
        return (y, t + dt), y

    (y, _), ys = L.lax.scan(body, (y0, t0), L.np.arange(n))
    return y, ys


def ode_rk4_scan_grad(L):  # the adjoint of a fixed-step solve: grad through the scan
    def loss(theta, y0):
        y, ys = rk4_solve(L, lotka_volterra, y0, 0.0, 1.0, 8, theta)
        return L.np.sum(ys["prey"] ** 2) + y["predator"]

    return L.value_and_grad(loss, argnums=(0, 1))(THETA, Y0)


def ode_rk4_vmap_jacfwd(L):  # sensitivities of many initial conditions at once
    def final(y0):
        return rk4_solve(L, lotka_volterra, {"prey": y0[0], "predator": y0[1]}, 0.0, 0.5, 4,
                         THETA)[0]

    return L.vmap(L.jacfwd(final))(np.array([[10.0, 5.0], [8.0, 3.0], [4.0, 2.0]]))


# Dormand-Prince with an adaptive step in a while_loop, as jax.experimental.ode writes it
DPS_C_MID = np.array([6025192743 / 30085553152 / 2, 0, 51252292925 / 65400821598 / 2,
                      -2691868925 / 45128329728 / 2, 187940372067 / 1594534317056 / 2,
                      -1776094331 / 19743644256 / 2, 11237099 / 235043384 / 2])


def runge_kutta_step(L, func, y0, f0, t0, dt):
    jnp = L.np
    alpha = jnp.array([1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0, 0], dtype=f0.dtype)
    beta = jnp.array([
        [1 / 5, 0, 0, 0, 0, 0, 0], [3 / 40, 9 / 40, 0, 0, 0, 0, 0],
        [44 / 45, -56 / 15, 32 / 9, 0, 0, 0, 0],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0, 0],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0, 0],
        [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0]], dtype=f0.dtype)
    c_sol = jnp.array([35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
                      dtype=f0.dtype)
    c_error = jnp.array([35 / 384 - 1951 / 21600, 0, 500 / 1113 - 22642 / 50085,
                         125 / 192 - 451 / 720, -2187 / 6784 - -12231 / 42400,
                         11 / 84 - 649 / 6300, -1.0 / 60.0], dtype=f0.dtype)

    def body_fun(i, k):
        ti = t0 + dt * alpha[i - 1]
        yi = y0 + dt.astype(f0.dtype) * jnp.dot(beta[i - 1, :], k)
        ft = func(yi, ti)
        return L.at(k)[i, :].set(ft)

    k = L.at(jnp.zeros((7, f0.shape[0]), f0.dtype))[0, :].set(f0)
    k = L.lax.fori_loop(1, 7, body_fun, k)
    y1 = dt.astype(f0.dtype) * jnp.dot(c_sol, k) + y0
    y1_error = dt.astype(f0.dtype) * jnp.dot(c_error, k)
    return y1, k[-1], y1_error, k


def initial_step_size(L, fun, t0, y0, order, rtol, atol, f0):
    jnp = L.np
    scale = atol + jnp.abs(y0) * rtol
    d0 = jnp.linalg.norm(y0 / scale.astype(y0.dtype))
    d1 = jnp.linalg.norm(f0 / scale.astype(f0.dtype))
    h0 = jnp.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / d1)
    y1 = y0 + h0.astype(y0.dtype) * f0
    f1 = fun(y1, t0 + h0)
    d2 = jnp.linalg.norm((f1 - f0) / scale.astype(f0.dtype)) / h0
    h1 = jnp.where((d1 <= 1e-15) & (d2 <= 1e-15), jnp.maximum(1e-6, h0 * 1e-3),
                   (0.01 / jnp.maximum(d1, d2)) ** (1.0 / (order + 1.0)))
    return jnp.minimum(100.0 * h0, h1)


def mean_error_ratio(L, error_estimate, rtol, atol, y0, y1):
    err_tol = atol + rtol * L.np.maximum(L.np.abs(y0), L.np.abs(y1))
    err_ratio = error_estimate / err_tol.astype(error_estimate.dtype)
    return L.np.sqrt(L.np.mean(L.np.square(err_ratio)))


def optimal_step_size(L, last_step, mean_error_ratio, safety=0.9, ifactor=10.0, dfactor=0.2,
                      order=5.0):
    jnp = L.np
    dfactor = jnp.where(mean_error_ratio < 1, 1.0, dfactor)
    factor = jnp.minimum(ifactor,
                         jnp.maximum(mean_error_ratio ** (-1.0 / order) * safety, dfactor))
    return jnp.where(mean_error_ratio == 0, last_step * ifactor, last_step * factor)


def interp_fit_dopri(L, y0, y1, k, dt):
    dt = dt.astype(y0.dtype)
    y_mid = y0 + dt * L.np.dot(L.np.asarray(DPS_C_MID, dtype=y0.dtype), k)
    dy0, dy1 = k[0], k[-1]
    a = -2.0 * dt * dy0 + 2.0 * dt * dy1 - 8.0 * y0 - 8.0 * y1 + 16.0 * y_mid
    b = 5.0 * dt * dy0 - 3.0 * dt * dy1 + 18.0 * y0 + 14.0 * y1 - 32.0 * y_mid
    c = -4.0 * dt * dy0 + dt * dy1 - 11.0 * y0 - 5.0 * y1 + 16.0 * y_mid
    return L.np.asarray((a, b, c, dt * dy0, y0))


def odeint_values(L, func, rtol, atol, mxstep, y0, ts, *args):
    jnp = L.np
    func_ = lambda y, t: func(y, t, *args)  # noqa: E731

    def scan_fun(carry, target_t):
        def cond_fun(state):
            i, _, _, t, dt, _, _ = state
            return (t < target_t) & (i < mxstep) & (dt > 0)

        def body_fun(state):
            i, y, f, t, dt, last_t, interp_coeff = state
            next_y, next_f, next_y_error, k = runge_kutta_step(L, func_, y, f, t, dt)
            next_t = t + dt
            error_ratio = mean_error_ratio(L, next_y_error, rtol, atol, y, next_y)
            new_interp_coeff = interp_fit_dopri(L, y, next_y, k, dt)
            dt = jnp.clip(optimal_step_size(L, dt, error_ratio), min=0.0, max=jnp.inf)
            new = [i + 1, next_y, next_f, next_t, dt, t, new_interp_coeff]
            old = [i + 1, y, f, t, dt, last_t, interp_coeff]
            return list(map(partial(jnp.where, error_ratio <= 1.0), new, old))

        _, *carry = L.lax.while_loop(cond_fun, body_fun, [0] + carry)
        _, _, t, _, last_t, interp_coeff = carry
        relative_output_time = (target_t - last_t) / (t - last_t)
        y_target = jnp.polyval(interp_coeff, relative_output_time.astype(interp_coeff.dtype))
        return carry, y_target

    f0 = func_(y0, ts[0])
    dt = jnp.clip(initial_step_size(L, func_, ts[0], y0, 4, rtol, atol, f0), min=0.0)
    interp_coeff = jnp.array([y0] * 5)
    init_carry = [y0, f0, ts[0], dt, ts[0], interp_coeff]
    _, ys = L.lax.scan(scan_fun, init_carry, ts[1:])
    return jnp.concatenate((y0[None], ys))


def make_odeint(L):
    """jax.experimental.ode.odeint's structure: a custom_vjp whose backward pass runs the
    augmented system backwards in time with the same solver."""
    @partial(L.custom_vjp, nondiff_argnums=(0, 1, 2, 3))
    def _odeint(func, rtol, atol, mxstep, y0, ts, *args):
        return odeint_values(L, func, rtol, atol, mxstep, y0, ts, *args)

    def _odeint_fwd(func, rtol, atol, mxstep, y0, ts, *args):
        ys = _odeint(func, rtol, atol, mxstep, y0, ts, *args)
        return ys, (ys, ts, args)

    def _odeint_rev(func, rtol, atol, mxstep, res, g):
        ys, ts, args = res

        def aug_dynamics(augmented_state, t, *args):
            y, y_bar, *_ = augmented_state
            y_dot, vjpfun = L.vjp(func, y, -t, *args)
            return (-y_dot, *vjpfun(y_bar))

        def scan_fun(carry, i):
            y_bar, t0_bar, args_bar = carry
            t_bar = L.np.dot(func(ys[i], ts[i], *args), g[i])
            t0_bar = t0_bar - t_bar
            _, y_bar, t0_bar, args_bar = odeint(
                aug_dynamics, (ys[i], y_bar, t0_bar, args_bar),
                L.np.array([-ts[i], -ts[i - 1]]), *args, rtol=rtol, atol=atol, mxstep=mxstep)
            y_bar, t0_bar, args_bar = L.tree_util.tree_map(lambda v: v[1],
                                                           (y_bar, t0_bar, args_bar))
            y_bar = y_bar + g[i - 1]
            return (y_bar, t0_bar, args_bar), t_bar

        init_carry = (g[-1], 0.0, L.tree_util.tree_map(L.np.zeros_like, args))
        (y_bar, t0_bar, args_bar), rev_ts_bar = L.lax.scan(
            scan_fun, init_carry, L.np.arange(len(ts) - 1, 0, -1))
        ts_bar = L.np.concatenate([L.np.array([t0_bar]), rev_ts_bar[::-1]])
        return (y_bar, ts_bar, *args_bar)

    _odeint.defvjp(_odeint_fwd, _odeint_rev)

    def ravel_first_arg(func, unravel):
        return lambda y_flat, *args: L.ravel_pytree(func(unravel(y_flat), *args))[0]

    @partial(L.jit, static_argnums=(0, 1, 2, 3))
    def _odeint_wrapper(func, rtol, atol, mxstep, y0, ts, *args):
        y0, unravel = L.ravel_pytree(y0)
        out = _odeint(ravel_first_arg(func, unravel), rtol, atol, mxstep, y0, ts, *args)
        return L.vmap(unravel)(out)

    def odeint(func, y0, t, *args, rtol=1.4e-8, atol=1.4e-8, mxstep=np.inf):
        return _odeint_wrapper(func, rtol, atol, mxstep, y0, t, *args)

    return odeint


def lv_vector(y, t, theta):
    x, z = y[0], y[1]
    return y * 0 + (theta[0] * x - theta[1] * x * z) * np.array([1.0, 0.0]) + (
        theta[3] * x * z - theta[2] * z) * np.array([0.0, 1.0])


def ode_rk4_checkpointed_steps(L):  # diffrax-style: a checkpointed step closing over theta
    def loss(theta):
        def body(carry, i):
            y, t = carry
            y = rk4_step(L, lambda y, t, *a: lotka_volterra(L, y, t, *a), y, t, 0.1, theta)
            return (y, t + 0.1), y["prey"]

        (y, _), ys = L.lax.scan(L.checkpoint(body), (Y0, 0.0), L.np.arange(5))
        return L.np.sum(ys) + y["predator"]

    return L.grad(loss)(THETA)


def ode_dopri_vmap(L):  # a batched predicate: the loop runs until every example is done
    return L.vmap(lambda y0: odeint_values(L, lv_vector, 1e-6, 1e-6, np.inf, y0, TS,
                                           np.array([1.1, 0.4, 0.4, 0.1])))(
        np.array([[10.0, 5.0], [3.0, 1.0], [1.0, 8.0]]))


def ode_adjoint_vmap(L):  # the adjoint ODE integrated backwards, in a custom_vjp, batched
    odeint = make_odeint(L)

    def loss(y0, theta):
        ys = odeint(lv_vector, y0, TS, theta, rtol=1e-6, atol=1e-6)
        return L.np.sum(ys[:, 0] ** 2) + L.np.sum(ys[-1])

    return L.vmap(L.value_and_grad(loss, argnums=(0, 1)), in_axes=(0, None))(
        np.array([[10.0, 5.0], [3.0, 1.0]]), np.array([1.1, 0.4, 0.4, 0.1]))


def newton_in_while_loop(L):  # an implicit function, differentiated forward through the loop
    def solve(a):
        def cond(c):
            x, i = c
            return (L.np.abs(x**3 + a * x - 1.0) > 1e-12) & (i < 50)

        def body(c):
            x, i = c
            return x - (x**3 + a * x - 1.0) / (3 * x**2 + a), i + 1

        return L.lax.while_loop(cond, body, (1.0, 0))[0]

    return L.jvp(solve, (2.0,), (1.0,)), L.jacfwd(L.vmap(solve))(np.array([1.0, 2.0, 5.0]))


PROGRAMS.update({
    "ode: grad through an RK4 scan over pytree states": ode_rk4_scan_grad,
    "ode: checkpointed RK4 steps closing over the parameters": ode_rk4_checkpointed_steps,
    "ode: vmap of the adaptive solver": ode_dopri_vmap,
    "ode: vmap of grad through odeint's adjoint custom_vjp": ode_adjoint_vmap,
    "ode: Newton's method in while_loop, jvp and jacfwd of vmap": newton_in_while_loop,
    "ode: vmap of jacfwd of an RK4 solve": ode_rk4_vmap_jacfwd,
})


# -- optax: optimizers as (init, update) pairs over pytrees, chained, in a jitted step ------
class GradientTransformation(NamedTuple):
    init: object
    update: object


class EmptyState(NamedTuple):
    pass


class ScaleByAdamState(NamedTuple):
    count: object
    mu: object
    nu: object


class ScaleByScheduleState(NamedTuple):
    count: object


def optax_like(L):
    jnp, tree_map = L.np, L.tree_util.tree_map

    def safe_int32_increment(count):
        max_int32_value = jnp.iinfo(jnp.int32).max
        one = jnp.array(1, dtype=jnp.int32)
        return jnp.where(count < max_int32_value, count + one, max_int32_value)

    def update_moment(updates, moments, decay, order):
        return tree_map(lambda g, t: (1 - decay) * (g**order) + decay * t, updates, moments)

    def bias_correction(moment, decay, count):
        bias_correction_ = 1 - decay**count
        return tree_map(lambda t: t / bias_correction_.astype(t.dtype), moment)

    def scale_by_adam(b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0):
        def init_fn(params):
            mu = tree_map(jnp.zeros_like, params)
            nu = tree_map(jnp.zeros_like, params)
            return ScaleByAdamState(count=jnp.zeros([], jnp.int32), mu=mu, nu=nu)

        def update_fn(updates, state, params=None):
            del params
            mu = update_moment(updates, state.mu, b1, 1)
            nu = update_moment(updates, state.nu, b2, 2)
            count_inc = safe_int32_increment(state.count)
            mu_hat = bias_correction(mu, b1, count_inc)
            nu_hat = bias_correction(nu, b2, count_inc)
            updates = tree_map(lambda m, v: m / (jnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)
            return updates, ScaleByAdamState(count=count_inc, mu=mu, nu=nu)

        return GradientTransformation(init_fn, update_fn)

    def global_norm(updates):
        return jnp.sqrt(sum(jnp.sum(jnp.abs(x) ** 2) for x in L.tree_util.tree_leaves(updates)))

    def clip_by_global_norm(max_norm):
        def update_fn(updates, state, params=None):
            g_norm = global_norm(updates)
            trigger = jnp.squeeze(g_norm < max_norm)

            def clip_fn(t):
                return L.lax.select(trigger, t, (t / g_norm.astype(t.dtype)) * max_norm)

            return tree_map(clip_fn, updates), state

        return GradientTransformation(lambda params: EmptyState(), update_fn)

    def add_decayed_weights(weight_decay):
        def update_fn(updates, state, params):
            return tree_map(lambda g, p: g + weight_decay * p, updates, params), state

        return GradientTransformation(lambda params: EmptyState(), update_fn)

    def cosine_decay_schedule(init_value, decay_steps, alpha=0.0):
        def schedule(count):
            count = jnp.minimum(count, decay_steps)
            cosine_decay = 0.5 * (1 + jnp.cos(jnp.pi * count / decay_steps))
            return init_value * ((1 - alpha) * cosine_decay + alpha)

        return schedule

    def scale_by_schedule(step_size_fn):
        def init_fn(params):
            return ScaleByScheduleState(count=jnp.zeros([], jnp.int32))

        def update_fn(updates, state, params=None):
            step_size = step_size_fn(state.count)
            updates = tree_map(lambda g: jnp.array(step_size, dtype=g.dtype) * g, updates)
            return updates, ScaleByScheduleState(count=safe_int32_increment(state.count))

        return GradientTransformation(init_fn, update_fn)

    def chain(*args):
        init_fns, update_fns = zip(*args, strict=True)

        def init_fn(params):
            return tuple(fn(params) for fn in init_fns)

        def update_fn(updates, state, params=None):
            new_state = []
            for s, fn in zip(state, update_fns, strict=True):
                updates, new_s = fn(updates, s, params)
                new_state.append(new_s)
            return updates, tuple(new_state)

        return GradientTransformation(init_fn, update_fn)

    def adamw(learning_rate, weight_decay=1e-4, max_norm=1.0):
        return chain(clip_by_global_norm(max_norm), scale_by_adam(),
                     add_decayed_weights(weight_decay),
                     scale_by_schedule(lambda c: -learning_rate(c)))

    def apply_updates(params, updates):
        return tree_map(lambda p, u: jnp.asarray(p + u).astype(jnp.asarray(p).dtype),
                        params, updates)

    return SimpleNamespace(adamw=adamw, cosine=cosine_decay_schedule, apply_updates=apply_updates,
                           global_norm=global_norm)


XS = RNG.normal(size=(8, 3))
LABELS = np.array([0, 1, 2, 1, 0, 2, 2, 1])
PARAMS = {"w1": RNG.normal(size=(3, 5)) * 0.5, "b1": np.zeros(5),
          "out": (RNG.normal(size=(5, 3)) * 0.5, np.zeros(3))}


def mlp_loss(L, params, batch):
    x, y = batch
    h = L.np.tanh(x @ params["w1"] + params["b1"])
    w, b = params["out"]
    logits = h @ w + b
    logp = L.nn.log_softmax(logits, axis=-1)
    loss = -L.np.mean(L.np.take_along_axis(logp, y[:, None], axis=-1))
    accuracy = L.np.mean(L.np.argmax(logits, -1) == y)
    return loss, {"accuracy": accuracy, "logits": logits}


def make_step(L):
    @partial(L.jit, static_argnums=(3,))
    def step(params, opt_state, batch, optimizer):
        (loss, aux), grads = L.value_and_grad(partial(mlp_loss, L), has_aux=True)(params, batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax_like(L).apply_updates(params, updates)
        return params, opt_state, loss, aux

    return step


def optax_training_loop(L):
    opt = optax_like(L)
    optimizer = opt.adamw(opt.cosine(0.1, 4), max_norm=0.5)
    params, opt_state = PARAMS, optimizer.init(PARAMS)
    step, losses = make_step(L), []
    for _ in range(5):
        params, opt_state, loss, aux = step(params, opt_state, (XS, LABELS), optimizer)
        losses.append(loss)
    return params, opt_state, L.np.stack(losses), aux


def optax_training_in_scan(L):  # the whole loop inside lax.scan; the step count an int32 array
    opt = optax_like(L)
    optimizer = opt.adamw(opt.cosine(0.1, 4))

    def body(carry, step):
        params, opt_state = carry
        (loss, aux), grads = L.value_and_grad(partial(mlp_loss, L), has_aux=True)(
            params, (XS, LABELS))
        updates, opt_state = optimizer.update(grads, opt_state, params)
        lr = opt.cosine(0.1, 4)(L.np.asarray(step, dtype=L.np.int32))
        return (opt.apply_updates(params, updates), opt_state), (loss, lr, opt.global_norm(grads))

    return L.lax.scan(body, (PARAMS, optimizer.init(PARAMS)), L.np.arange(6))


def optax_meta_gradient(L):  # d(loss after 3 Adam steps)/d(learning rate)
    opt = optax_like(L)

    def unrolled(lr):
        optimizer = opt.adamw(lambda c: lr * opt.cosine(1.0, 4)(c), max_norm=10.0)
        params, opt_state = PARAMS, optimizer.init(PARAMS)
        for _ in range(3):
            grads, _ = L.grad(partial(mlp_loss, L), has_aux=True)(params, (XS, LABELS))
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = opt.apply_updates(params, updates)
        return mlp_loss(L, params, (XS, LABELS))[0]

    return L.value_and_grad(unrolled)(0.05)


PROGRAMS.update({
    "optax: adamw chain, jitted step with static_argnums": optax_training_loop,
    "optax: training loop in lax.scan": optax_training_in_scan,
    "optax: meta-gradient through unrolled Adam": optax_meta_gradient,
})


# -- Gaussian processes and HMC ----------------------------------------------------------------
GP_X = np.linspace(-1.0, 1.0, 6)[:, None] * np.array([1.0, 0.5])
GP_Y = np.sin(3 * GP_X[:, 0]) + 0.1 * RNG.normal(size=6)
GP_XS = np.array([[0.1, 0.2], [-0.4, 0.3]])
RAW = {"lengthscale": np.array([0.1, -0.2]), "variance": 0.3, "noise": -2.0}


def rbf(L, x1, x2, lengthscale, variance):
    d = (x1[:, None, :] - x2[None, :, :]) / lengthscale
    return variance * L.np.exp(-0.5 * L.np.sum(d**2, axis=-1))


def gp_hyper(L, raw):
    sp = L.nn.softplus
    return sp(raw["lengthscale"]), sp(raw["variance"]), sp(raw["noise"]) + 1e-6


def gp_lml_cho(L, raw, X=GP_X, y=GP_Y):
    ls, var, noise = gp_hyper(L, raw)
    n = X.shape[0]
    K = rbf(L, X, X, ls, var) + noise * L.np.eye(n)
    c, lower = L.linalg.cho_factor(K, lower=True)
    alpha = L.linalg.cho_solve((c, lower), y)
    return (-0.5 * y @ alpha - L.np.sum(L.np.log(L.np.diag(c)))
            - 0.5 * n * L.np.log(2 * L.np.pi))


def gp_predict(L, raw, Xs=GP_XS, X=GP_X, y=GP_Y):
    ls, var, noise = gp_hyper(L, raw)
    K = rbf(L, X, X, ls, var) + noise * L.np.eye(X.shape[0])
    chol = L.np.linalg.cholesky(K)
    alpha = L.linalg.solve_triangular(chol.T, L.linalg.solve_triangular(chol, y, lower=True),
                                      lower=False)
    Ks = rbf(L, Xs, X, ls, var)
    v = L.linalg.solve_triangular(chol, Ks.T, lower=True)
    return Ks @ alpha, var - L.np.sum(v**2, axis=0)


def gp_hessian(L):
    def lml_of_vector(theta):
        return gp_lml_cho(L, {"lengthscale": theta[:2], "variance": theta[2], "noise": theta[3]})

    return (L.value_and_grad(partial(gp_lml_cho, L))(RAW),
            L.hessian(lml_of_vector)(np.array([0.1, -0.2, 0.3, -2.0])))


def gp_fit(L):  # a few steps of gradient ascent on the marginal likelihood, in fori_loop
    vg = L.value_and_grad(partial(gp_lml_cho, L))

    def body(i, raw):
        _, g = vg(raw)
        return L.tree_util.tree_map(lambda r, g: r + 0.05 * g, raw, g)

    raw = L.lax.fori_loop(0, 4, body, RAW)
    return raw, gp_lml_cho(L, raw)


HMC_X = RNG.normal(size=(10, 2))
HMC_Y = (HMC_X @ np.array([1.0, -0.5]) + 0.3 * RNG.normal(size=10) > 0).astype(float)
N_SAMPLES, N_LEAPFROG = 5, 3
MOMENTA = {"w": RNG.normal(size=(N_SAMPLES, 2)), "b": RNG.normal(size=N_SAMPLES)}
LOG_U = np.log(RNG.uniform(size=N_SAMPLES))


def hmc(L, step_size):
    jnp, tm = L.np, L.tree_util.tree_map

    def potential(q):
        logits = HMC_X @ q["w"] + q["b"]
        loglik = jnp.sum(HMC_Y * logits - jnp.logaddexp(0.0, logits))
        return -(loglik - 0.5 * jnp.sum(q["w"] ** 2) - 0.5 * q["b"] ** 2)

    grad_U = L.grad(potential)

    def kinetic(p):
        return sum(0.5 * jnp.sum(v**2) for v in L.tree_util.tree_leaves(p))

    def leapfrog(q, p):
        p = tm(lambda p, g: p - 0.5 * step_size * g, p, grad_U(q))

        def body(carry, _):
            q, p = carry
            q = tm(lambda q, p: q + step_size * p, q, p)
            p = tm(lambda p, g: p - step_size * g, p, grad_U(q))
            return (q, p), None

        (q, p), _ = L.lax.scan(body, (q, p), None, length=N_LEAPFROG - 1)
        q = tm(lambda q, p: q + step_size * p, q, p)
        p = tm(lambda p, g: p - 0.5 * step_size * g, p, grad_U(q))
        return q, tm(jnp.negative, p)

    def kernel(q, draws):
        p0, log_u = draws
        q_new, p_new = leapfrog(q, p0)
        log_accept = potential(q) + kinetic(p0) - potential(q_new) - kinetic(p_new)
        accept = log_u < jnp.minimum(0.0, log_accept)
        q = tm(lambda new, old: jnp.where(accept, new, old), q_new, q)
        return q, (q, accept, log_accept)

    return L.lax.scan(kernel, {"w": jnp.zeros(2), "b": jnp.zeros(())}, (MOMENTA, LOG_U))


PROGRAMS.update({
    "gp: predictive mean and variance by solve_triangular, jacrev": lambda L: L.jacrev(
        partial(gp_predict, L))(RAW),
    "gp: log marginal likelihood by cho_factor/cho_solve, its grad and hessian": gp_hessian,
    "gp: vmap over hyperparameters": lambda L: L.vmap(
        lambda ls: L.grad(partial(gp_lml_cho, L))({"lengthscale": ls, "variance": 0.3, "noise": -2.0}))(
        np.array([[0.1, -0.2], [0.5, 0.0], [-0.3, 0.4]])),
    "gp: gradient ascent in fori_loop": gp_fit,
    "hmc: leapfrog in scan, pytree positions, d(sample mean)/d(step size)": lambda L: (
        L.value_and_grad(lambda h: (lambda out: (L.np.sum(out[1][0]["w"]), out))(hmc(L, h)),
                         has_aux=True)(0.2)),
})


@pytest.mark.parametrize("name", PROGRAMS)
def test_scientific_program_gives_jax_results(name):
    want = jax_compiled(PROGRAMS[name])
    assert_jax_results(PROGRAMS[name](CR), want)
