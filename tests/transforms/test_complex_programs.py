"""Random programs that mix real and complex values, checked against finite differences.

Every operation below passes its own checks; these programs compose them, so that a real
value beside a complex one (``concatenate([abs(z), c])``, ``outer(x, c)``, ...) must
receive a real cotangent for the rules further back to stay right. Derivatives are checked
in both modes and to second order, in float64 against central differences, and in float32
/ complex64 for dtypes.

Convention (HIPS autograd's): the gradient with respect to a complex ``z = a + ib`` of a
real function ``f`` is ``∂f/∂a - i ∂f/∂b``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp

N = 3


def _constants(real_dtype):
    rng = np.random.default_rng(7)
    complex_dtype = np.result_type(real_dtype, np.complex64)
    c = (rng.standard_normal(N) + 1j * rng.standard_normal(N)).astype(complex_dtype)
    r = rng.standard_normal(N).astype(real_dtype)
    m = (0.5 * rng.standard_normal((N, N))).astype(real_dtype)
    mix = np.array([0.3, -0.7], dtype=real_dtype)
    w = (rng.standard_normal(N) + 1j * rng.standard_normal(N)).astype(complex_dtype)
    return {"c": c, "r": r, "m": m, "mix": mix, "w": w}


# Each operation maps two values of shape (N,) (real or complex) to one.
OPS = {
    "abs": lambda a, b, k: cnp.abs(a),
    "real": lambda a, b, k: cnp.real(a),
    "imag": lambda a, b, k: cnp.imag(a * (1 + 1j)),
    "conj": lambda a, b, k: cnp.conj(a),
    "sin": lambda a, b, k: cnp.sin(a),
    "squash": lambda a, b, k: a / (1 + cnp.abs(a)),
    "square": lambda a, b, k: 0.5 * a * a,
    "soft": lambda a, b, k: cnp.sqrt(cnp.abs(a) ** 2 + 1),
    "add": lambda a, b, k: a + b,
    "mul": lambda a, b, k: 0.5 * a * b,
    "centre": lambda a, b, k: a - cnp.mean(a),
    "permute": lambda a, b, k: a[[2, 0, 1]],
    "concatenate": lambda a, b, k: cnp.concatenate([a, b])[1 : 1 + N],
    "stack": lambda a, b, k: cnp.stack([a, b], axis=1) @ k["mix"],
    "outer": lambda a, b, k: 0.3 * cnp.sum(cnp.outer(a, b), axis=0),
    "einsum": lambda a, b, k: cnp.einsum("i,j,ij->j", a, b, k["m"]),
    "inner": lambda a, b, k: 0.2 * cnp.inner(a, b) + b,
    "tensordot": lambda a, b, k: cnp.tensordot(k["mix"], cnp.stack([a, b]), axes=1),
    "vdot": lambda a, b, k: 0.2 * cnp.vdot(a, b) + a,
    "dot": lambda a, b, k: 0.2 * cnp.dot(a, b) + b,
    "matvec": lambda a, b, k: k["m"] @ a + b,
    "where": lambda a, b, k: cnp.where(k["r"] > 0, a, b),
}
NAMES = sorted(OPS)

programs = st.lists(
    st.tuples(st.sampled_from(NAMES), st.integers(0, 1000), st.integers(0, 1000)),
    min_size=10,
    max_size=30,
)


def make_program(steps, k):
    def run(z, x):
        pool = [z, x, k["c"], k["r"]]
        for name, i, j in steps:
            pool.append(OPS[name](pool[i % len(pool)], pool[j % len(pool)], k))
        # every value takes part, so both arguments usually matter
        total = cnp.real(cnp.sum(pool[-1] * k["w"]))
        for v in pool[4:-1]:
            total = total + 0.1 * cnp.real(cnp.sum(v * k["w"]))
        return total

    return run


def inputs(seed, real_dtype=np.float64):
    rng = np.random.default_rng(seed)
    complex_dtype = np.result_type(real_dtype, np.complex64)
    z = (rng.standard_normal(N) + 1j * rng.standard_normal(N)).astype(complex_dtype)
    x = rng.standard_normal(N).astype(real_dtype)
    tz = (rng.standard_normal(N) + 1j * rng.standard_normal(N)).astype(complex_dtype)
    tx = rng.standard_normal(N).astype(real_dtype)
    return z, x, tz, tx


def fd_gradient(f, z, x, h=1e-6):
    gz = np.zeros(N, complex)
    gx = np.zeros(N)
    for i in range(N):
        e = np.eye(N)[i]
        d_re = (f(z + h * e, x) - f(z - h * e, x)) / (2 * h)
        d_im = (f(z + 1j * h * e, x) - f(z - 1j * h * e, x)) / (2 * h)
        gz[i] = d_re - 1j * d_im
        gx[i] = (f(z, x + h * e) - f(z, x - h * e)) / (2 * h)
    return gz, gx


def fd_direction(f, z, x, tz, tx, h=1e-6):
    return (np.asarray(f(z + h * tz, x + h * tx)) - np.asarray(f(z - h * tz, x - h * tx))) / (2 * h)


def close(a, b, scale):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * (1 + scale))


@settings(max_examples=100, deadline=None)
@given(programs, st.integers(0, 2**16))
def test_random_complex_programs_match_finite_differences(steps, seed):
    k = _constants(np.float64)
    f = make_program(steps, k)
    z, x, tz, tx = inputs(seed)
    value = f(z, x)
    assume(np.isfinite(value) and abs(value) < 1e4)
    gz, gx = cr.grad(f, (0, 1))(z, x)
    fz, fx = fd_gradient(f, z, x)
    scale = float(np.max(np.abs(np.concatenate([fz, fx]))))
    assume(scale < 1e4)
    close(gz, fz, scale)
    close(gx, fx, scale)
    assert gz.dtype == np.complex128 and gx.dtype == np.float64
    # forward mode along a random direction
    _, tangent = cr.jvp(f, (z, x), (tz, tx))
    close(tangent, fd_direction(f, z, x, tz, tx), scale)
    assert np.isrealobj(tangent)


@settings(max_examples=40, deadline=None)
@given(programs, st.integers(0, 2**16))
def test_random_complex_programs_second_order(steps, seed):
    k = _constants(np.float64)
    f = make_program(steps, k)
    z, x, tz, tx = inputs(seed)
    assume(np.isfinite(f(z, x)) and abs(f(z, x)) < 1e4)
    g = cr.grad(f, (0, 1))
    gz, gx = g(z, x)
    assume(max(np.max(np.abs(gz)), np.max(np.abs(gx))) < 1e3)
    h = 1e-5
    fd_z = (g(z + h * tz, x + h * tx)[0] - g(z - h * tz, x - h * tx)[0]) / (2 * h)
    fd_x = (g(z + h * tz, x + h * tx)[1] - g(z - h * tz, x - h * tx)[1]) / (2 * h)
    scale = float(np.max(np.abs(np.concatenate([fd_z, fd_x]))))
    # forward over reverse
    _, (hz, hx) = cr.jvp(g, (z, x), (tz, tx))
    np.testing.assert_allclose(hz, fd_z, rtol=1e-4, atol=1e-4 * (1 + scale))
    np.testing.assert_allclose(hx, fd_x, rtol=1e-4, atol=1e-4 * (1 + scale))
    # reverse over reverse: the gradient of <grad f, t> is the Hessian applied to t
    def along(z, x):
        a, b = g(z, x)
        return cnp.real(cnp.sum(a * tz)) + cnp.sum(b * tx)

    rz, rx = cr.grad(along, (0, 1))(z, x)
    np.testing.assert_allclose(rz, fd_z, rtol=1e-4, atol=1e-4 * (1 + scale))
    np.testing.assert_allclose(rx, fd_x, rtol=1e-4, atol=1e-4 * (1 + scale))


@settings(max_examples=20, deadline=None)
@given(programs, st.integers(0, 2**16))
def test_random_complex_programs_keep_single_precision(steps, seed):
    k = _constants(np.float32)
    f = make_program(steps, k)
    z, x, tz, tx = inputs(seed, np.float32)
    value = f(z, x)
    assert value.dtype == np.float32  # the program itself stays in single precision
    gz, gx = cr.grad(f, (0, 1))(z, x)
    assert gz.dtype == np.complex64 and gx.dtype == np.float32
    _, tangent = cr.jvp(f, (z, x), (tz, tx))
    assert tangent.dtype == np.float32
    _, (hz, hx) = cr.jvp(cr.grad(f, (0, 1)), (z, x), (tz, tx))
    assert hz.dtype == np.complex64 and hx.dtype == np.float32


def test_real_value_beside_a_complex_one_gets_a_real_cotangent():
    # the example of the report: abs(z) concatenated with a complex constant
    z, c = np.array([0.6 + 0.8j]), np.array([1j])

    def f(z):
        return cnp.real(cnp.concatenate([cnp.abs(z), c])[0] * (1 + 2j))

    h = 1e-6
    fd = (f(z + h) - f(z - h)) / (2 * h) - 1j * (f(z + 1j * h) - f(z - 1j * h)) / (2 * h)
    np.testing.assert_allclose(fd, [0.6 - 0.8j], atol=1e-8)
    for grad in (cr.grad(f), cr.elementwise_grad(f)):
        np.testing.assert_allclose(grad(z), fd, atol=1e-8)
    # and in the eager layer, which runs the same rules over its own graph and gives .grad
    # in PyTorch's convention, the conjugate (a descent step subtracts it)
    t = cr.tensor(z, requires_grad=True)
    f(t).backward()
    np.testing.assert_allclose(t.grad.numpy(), np.conj(fd), atol=1e-8)


@pytest.mark.parametrize("dtype, scale", [(np.complex128, 1.0), (np.complex128, 1e-160), (np.complex128, 1e-200),
                                          (np.complex64, 1e-20), (np.complex64, 1e-30)])
@pytest.mark.parametrize("name", ["angle", "abs"])
def test_angle_and_abs_derivatives_at_tiny_magnitudes_match_finite_differences(name, dtype, scale):
    # |z|² underflows to 0 (below 1e-154, or 1e-19 in complex64) long before |z| does; the
    # derivatives (of the angle ~1/|z|) are still there. Central differences with a step
    # relative to |z|, in complex128, decide.
    f = getattr(cnp, name)
    z = (scale * np.array([0.6 + 0.8j, -0.3 + 0.1j, -2 - 1e-3j])).astype(dtype)
    w, t = np.array([0.5, -1.5, 2.0]), np.array([1 - 2j, 0.5j, -1 + 0.3j]).astype(dtype)
    exact = z.astype(np.complex128)
    h = 1e-6 * np.abs(exact)

    def loss(v):
        return np.sum(f(v) * w)

    fd = np.array([(loss(exact + h * e) - loss(exact - h * e)) / (2 * h[i])
                   - 1j * (loss(exact + 1j * h * e) - loss(exact - 1j * h * e)) / (2 * h[i])
                   for i, e in enumerate(np.eye(3))])
    fd_t = (f(exact + 1e-6 * scale * t) - f(exact - 1e-6 * scale * t)) / (2e-6 * scale)
    rtol = 1e-6 if dtype == np.complex128 else 1e-4
    g = cr.grad(lambda v: cnp.sum(f(v) * w))(z)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, fd, rtol=rtol)
    np.testing.assert_allclose(cr.jvp(f, (z,), (t,))[1], fd_t, rtol=rtol)
    # the eager layer's .grad: PyTorch's convention, the conjugate
    leaf = cr.tensor(z, requires_grad=True)
    (f(leaf) * cr.tensor(w.astype(np.real(z).dtype))).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), np.conj(fd), rtol=rtol)
