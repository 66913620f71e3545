"""Every derivative keeps the dtype of its primal: float32 in, float32 tangents and
cotangents out, in both modes and for forward-over-reverse and reverse-over-reverse.

A rule that makes a constant in float64 (``np.log(2.0)``, ``np.eye(n)``) promotes a
float32 derivative to float64 while the primal stays float32; these tables catch that.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from finite_differences import central_differences

la = cnp.linalg

VECTOR = {
    "log2": cnp.log2,
    "log10": cnp.log10,
    "exp2": cnp.exp2,
    "constant_power": lambda x: 2.0**x,
    "power": lambda x: x**x,
    "logaddexp": lambda x: cnp.logaddexp(x, 2 * x),
    "logaddexp2": lambda x: cnp.logaddexp2(x, 2 * x),
    "log1p": cnp.log1p,
    "sinc": cnp.sinc,
    "deg2rad": cnp.deg2rad,
    "cbrt": cnp.cbrt,
    "arccosh": lambda x: cnp.arccosh(x + 1),
    "hypot": lambda x: cnp.hypot(x, 1.0),
    "std": cnp.std,
    "var": cnp.var,
    "norm": la.norm,
    "norm3": lambda x: la.norm(x, 3),
    "linspace": lambda x: cnp.linspace(x[0], x[1], 4),
    "full": lambda x: cnp.full((2, 2), x[0]),
}

MATRIX = {
    "cholesky": la.cholesky,
    "eigvalsh": la.eigvalsh,
    "eigh": lambda a: la.eigh(a)[1],
    "svd": lambda a: la.svd(a)[1],
    "nuc": lambda a: la.norm(a, "nuc"),
    "norm2": lambda a: la.norm(a, 2),
    "inv": la.inv,
    "det": la.det,
    "slogdet": lambda a: la.slogdet(a)[1],
    "solve": lambda a: la.solve(a, np.ones(2, np.float32)),
    "pinv": la.pinv,
    "qr": lambda a: la.qr(a)[1],
    "eig": lambda a: cnp.real(la.eig(a)[0]),
    "matrix_power": lambda a: la.matrix_power(a, 3),
}


def dtypes_of_derivatives(f, x, v):
    scalar = lambda x: cnp.sum(f(x))  # noqa: E731
    _, tangent = cr.jvp(f, (x,), (v,))
    g = cr.grad(scalar)(x)
    _, fwd_rev = cr.jvp(cr.grad(scalar), (x,), (v,))
    rev_rev = cr.grad(lambda x: cnp.sum(cr.grad(scalar)(x) * v))(x)
    return {"jvp": tangent.dtype, "grad": g.dtype, "fwd-rev": fwd_rev.dtype, "rev-rev": rev_rev.dtype}


@pytest.mark.parametrize("name", sorted(VECTOR))
def test_vector_functions_keep_float32(name):
    x = np.array([0.5, 1.5], np.float32)
    assert cnp.asarray(VECTOR[name](x)).dtype == np.float32
    dtypes = dtypes_of_derivatives(VECTOR[name], x, np.ones(2, np.float32))
    assert set(dtypes.values()) == {np.dtype(np.float32)}, dtypes


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_matrix_functions_keep_float32(name):
    a = np.array([[2.0, 0.3], [0.3, 1.0]], np.float32)
    t = np.array([[1.0, 0.5], [0.5, -1.0]], np.float32)
    dtypes = dtypes_of_derivatives(MATRIX[name], a, t)
    assert set(dtypes.values()) == {np.dtype(np.float32)}, dtypes


def _supported():
    from chainrule.numpy.registry import SUPPORTED

    names = []
    for family in ("elementwise", "reductions", "shape", "linalg", "fft"):
        module = cnp if family in ("elementwise", "reductions", "shape") else getattr(cnp, family)
        names += [(family, n) for n in sorted(set(SUPPORTED[family])) if callable(getattr(module, n, None))]
    return names


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
@pytest.mark.parametrize("family, name", _supported())
def test_every_mirror_function_keeps_single_precision(family, name, dtype):
    """Called on a 2×2 single-precision matrix (where that is a valid call), each output's
    tangent has the output's dtype and every gradient the input's, to second order."""
    f = getattr(cnp if family in ("elementwise", "reductions", "shape") else getattr(cnp, family), name)
    x = (np.array([[0.5, 0.7], [0.3, 0.9]]) + (0.2j if dtype is np.complex64 else 0)).astype(dtype)
    if family == "linalg":
        x = x + 2 * np.eye(2, dtype=dtype)
    try:
        out = f(x)
    except Exception:  # not a valid call on one matrix (needs other arguments)
        pytest.skip(f"{name} needs more than one matrix argument")
    outs = out if isinstance(out, tuple) else (out,)
    for k, o in enumerate(outs):
        if np.result_type(o).kind not in "fc" or np.result_type(o).itemsize > np.dtype(np.complex64).itemsize:
            continue  # no derivative, or NumPy itself promotes the primal
        part = (lambda x, k=k: f(x)[k]) if isinstance(out, tuple) else f
        scalar = lambda x, part=part: cnp.sum(cnp.real(part(x)))  # noqa: E731
        v = np.ones_like(x)
        try:
            _, tangent = cr.jvp(part, (x,), (v,))
            grads = [cr.grad(scalar)(x), cr.jvp(cr.grad(scalar), (x,), (v,))[1],
                     cr.grad(lambda x, s=scalar, v=v: cnp.sum(cnp.real(cr.grad(s)(x) * v)))(x)]
        except (NotImplementedError, ValueError, TypeError):
            continue  # a call this function does not differentiate (checked elsewhere)
        assert tangent.dtype == np.result_type(o), (name, k, tangent.dtype)
        assert all(g.dtype == x.dtype for g in grads), (name, k, [g.dtype for g in grads])


# NumPy's promotion widens a single-precision value that meets an int64 array (or a
# float64 NumPy number), and with it what a rule computes for the narrow operand (also
# where the result stays narrow: x32 ** mask, whose rule computes mask - 1 in int64).
# Its tangent and cotangent must come back in its own dtype, as JAX's and PyTorch's do,
# at every step (not only the input's gradient, cast at the end).
INTS = np.array([1, 2, 3])
MASK = np.array([True, False, True])
PROMOTING = {
    "times_int64": lambda x: x * INTS,
    "int64_over": lambda x: INTS / x,
    "power_int64": lambda x: x**INTS,
    "power_mask": lambda x: x**MASK,
    "over_mask": lambda x: x / np.ones(3, bool),
    "times_numpy_float64": lambda x: np.float64(2) * x,
    "maximum_int64": lambda x: cnp.maximum(x, INTS),
    "where_int64": lambda x: cnp.where(MASK, x, INTS),
    "dot_int64": lambda x: cnp.dot(x, INTS),
    "outer_int64": lambda x: cnp.outer(x, INTS),
    "concatenate_int64": lambda x: cnp.concatenate([x, INTS]),
    "polyval_int64": lambda x: cnp.polyval(INTS, x),
    "float_power": lambda x: cnp.float_power(x, 2),
}


@cr.primitive
def _identity_seen(x):
    return x


_SEEN = []
cr.defvjp(_identity_seen, lambda ans, x: lambda g: _SEEN.append(np.result_type(g)) or g)
cr.defjvp(_identity_seen, lambda g, ans, x: g)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.complex64])
@pytest.mark.parametrize("name", sorted(PROMOTING))
def test_derivatives_keep_their_dtype_where_numpy_promotes(name, dtype):
    f = PROMOTING[name]
    x = np.array([1.2, 1.7, 2.3], dtype) * (1 + 0.5j if dtype is np.complex64 else 1)
    if dtype is np.complex64 and name == "float_power":
        pytest.skip("float_power of a complex64 value is complex128 by NumPy's own rule")
    primal, tangent = cr.jvp(f, (x,), (np.ones_like(x),))
    assert tangent.dtype == primal.dtype == np.result_type(f(x))

    def loss(x):
        return cnp.sum(cnp.abs(f(_identity_seen(x))))

    for transform in (cr.grad, lambda h: cr.jit(cr.grad(h))):
        _SEEN.clear()
        g = transform(loss)(x)
        assert g.dtype == x.dtype and _SEEN == [x.dtype], (g.dtype, _SEEN)
    if dtype is np.float32:  # the values: central differences of the same program in float64
        expected = central_differences(lambda v: float(np.sum(np.abs(f(v)))), x.astype(np.float64))
        np.testing.assert_allclose(g, expected, rtol=1e-5)
