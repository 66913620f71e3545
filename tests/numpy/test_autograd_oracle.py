"""Every NumPy function that HIPS autograd differentiates, differentiated by chainrule the
same way: for each name in autograd's rule tables (``numpy_vjps``, ``numpy_jvps``, its
``linalg`` and ``fft``), a weighted sum of the function's outputs is differentiated by
both libraries, in reverse mode (first and second order) and (where autograd has a jvp)
in forward mode, and the numbers must agree to 1e-10. chainrule's own spec tables check every function against
finite differences to second order; this table checks that nothing autograd can do is
missing or different.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")
from autograd.core import primitive_jvps, primitive_vjps  # noqa: E402

rng = np.random.default_rng(0)
X = rng.uniform(0.2, 0.9, (3, 4))
V = rng.uniform(0.2, 0.9, 4)
M = rng.standard_normal((3, 3)) + 3 * np.eye(3)
SPD = M @ M.T

# name: calls (argument tuples; the first floating-point argument is differentiated).
# Unlisted names are called on V alone.
CALLS = {
    "linalg.solve": [(M, V[:3])], "linalg.inv": [(M,)], "linalg.det": [(M,)],
    "linalg.slogdet": [(M,)], "linalg.pinv": [(X,)], "linalg.eigh": [(SPD,)],
    "linalg.cholesky": [(SPD,)], "linalg.svd": [(M,)], "linalg.eig": [(M,)],
    "linalg.norm": [(X,), (V,)], "linalg.matrix_power": [(M, 3)],
    "dot": [(X, V)], "matmul": [(X, V)], "inner": [(V, V)], "outer": [(V, V)],
    "tensordot": [(X, V, 1)], "kron": [(X, M)], "einsum": [("ij,j->i", X, V)],
    "cross": [(V[:3], X[0, :3])], "where": [(V > 0.5, V, V * 2)], "clip": [(V, 0.3, 0.7)],
    "power": [(V, V)], "concatenate": [([X, X],)], "stack": [([V, V],)],
    "reshape": [(X, (4, 3))], "transpose": [(X,)], "swapaxes": [(X, 0, 1)],
    "moveaxis": [(X, 0, 1)], "rollaxis": [(X, 1)], "expand_dims": [(X, 1)],
    "squeeze": [(X[None],)], "repeat": [(V, 2)], "tile": [(V, 2)], "roll": [(V, 1)],
    "diag": [(V,), (M,)], "diagonal": [(M,)], "trace": [(M,)], "triu": [(M,)], "tril": [(M,)],
    "fliplr": [(X,)], "flipud": [(X,)], "rot90": [(X,)], "sort": [(V,)], "partition": [(V, 2)],
    "pad": [(V, 1)], "split": [(X, 2, 1)], "array_split": [(X, 2)], "hsplit": [(X, 2)],
    "vsplit": [(X[:2], 2)], "dsplit": [(X[:, :, None].repeat(2, 2), 2)], "cumsum": [(X,)],
    "diff": [(V,)], "gradient": [(V,)], "full": [((3,), 0.5)], "linspace": [(0.3, 0.8, 5)],
    "take": [(V, [0, 2])], "hstack": [([V, V],)], "vstack": [([V, V],)], "dstack": [([V, V],)],
    "column_stack": [([V, V],)], "row_stack": [([V, V],)], "append": [(V, V)],
    "broadcast_to": [(V, (2, 4))], "ldexp": [(V, 2)], "fft.fft2": [(X,)], "fft.fftn": [(X,)],
    "fft.ifft2": [(X,)], "fft.ifftn": [(X,)], "fft.rfft2": [(X,)], "fft.irfft2": [(X,)],
    "fft.rfftn": [(X,)], "fft.irfftn": [(X,)], "make_diagonal": [(V, 0, -1, -2)],
    "var": [(X,), (X, 0)], "std": [(X,), (X, 1)], "mean": [(X,), (X, 0)], "sum": [(X,), (X, 0)],
    "prod": [(X,)], "max": [(X,)], "min": [(X,)], "amax": [(X,)], "amin": [(X,)],
    "nanmean": [(X,)], "nansum": [(X,)], "arccosh": [(V + 1,)], "cosh": [(V,)],
    "mod": [(V, 0.3)], "remainder": [(V, 0.3)], "fmod": [(V, 0.3)],
    **{n: [(V, V[::-1])] for n in ("arctan2", "hypot", "logaddexp", "logaddexp2", "maximum",
                                    "minimum", "fmax", "fmin", "true_divide", "divide", "add",
                                    "subtract", "multiply", "copysign")},
}
# autograd's internals registered beside the functions, and where the two differ on purpose
NOT_FUNCTIONS = {"_original_where", "linalg._primitive_norm"}
DIFFERENT = {
    # the extra columns of U of a non-square svd are an arbitrary basis: chainrule refuses
    # to differentiate through them (docs/autograd.md), autograd gives a basis-dependent number
    "linalg.svd",
    # eig's eigenvectors: NumPy normalises them (unit norm, largest component real);
    # chainrule differentiates that normalisation (finite differences agree, see below),
    # autograd's rule does not. Eigenvalues alone agree (below).
    "linalg.eig",
    # eigh: autograd differentiates the triangle it reads, chainrule (as JAX) the
    # symmetrised input; they agree on functions of a symmetric matrix (below)
    "linalg.eigh",
}


def autograd_names():
    names = []
    for module, prefix in ((anp, ""), (anp.linalg, "linalg."), (anp.fft, "fft.")):
        for name in dir(module):
            f = getattr(module, name)
            try:
                if f in primitive_vjps and prefix + name not in NOT_FUNCTIONS | DIFFERENT:
                    names.append((prefix + name, f in primitive_jvps))
            except TypeError:  # unhashable attributes
                pass
    return sorted(names)


def attribute(module, dotted):
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def derivatives(lib, np_, name, args, forward, second=True):
    fun = attribute(np_, name)
    i = next(k for k, a in enumerate(args)
             if isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype.kind == "f")
             or (isinstance(a, list) and isinstance(a[0], np.ndarray)))

    def scalar(x):
        full = list(args)
        full[i] = x
        out = fun(*full)
        outs = [out] if hasattr(out, "shape") or np.isscalar(out) else [out[k] for k in range(len(out))]
        total = 0.0
        for k, o in enumerate(outs):
            if np.result_type(o).kind not in "fc":
                continue
            w = np.cos(np.arange(np.size(o)) + k).reshape(np.shape(o))
            total = total + np_.sum(np_.real(o * w)) + 0.3 * np_.sum(np_.imag(o * w))
        return total

    x = args[i]
    g = lib.grad(scalar)(x)
    direction = (0.7 if isinstance(x, float) else
                 [np.cos(np.arange(a.size) * 1.3 + 0.2).reshape(a.shape) for a in x] if isinstance(x, list)
                 else np.cos(np.arange(x.size) * 1.3 + 0.2).reshape(x.shape))
    if isinstance(x, list) or not second:
        return [g] + ([lib.make_jvp(scalar)(x)(direction)[1]] if forward else [])
    # second order: the gradient of the gradient's component along the direction
    along = lib.grad(lambda x: np_.sum(lib.grad(scalar)(x) * direction))(x)
    if not forward:
        return [g, along]
    return [g, along, lib.make_jvp(scalar)(x)(direction)[1]]


@pytest.mark.parametrize("name, forward", autograd_names())
def test_agrees_with_autograd(name, forward):
    for args in CALLS.get(name, [(V,)]):
        for second in (True, False):  # (without second order where autograd has none)
            try:
                theirs = derivatives(autograd, anp, name, args, forward, second)
                break
            except Exception:
                theirs = None
        if theirs is None:  # autograd cannot take this call: nothing to compare with
            continue
        ours = derivatives(cr, cnp, name, args, forward, second)
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-10)
            assert np.shape(a) == np.shape(b)


def test_numpy2_aliases_are_the_mirror_functions():
    for alias, name in (("acos", "arccos"), ("asinh", "arcsinh"), ("atan2", "arctan2"), ("pow", "power")):
        if hasattr(np, alias):
            assert getattr(cnp, alias) is getattr(cnp, name)
    assert cr.grad(lambda x: cnp.acos(x))(0.3) == pytest.approx(-1 / np.sqrt(1 - 0.09))


def test_eigh_of_a_symmetric_matrix_agrees():
    weights = np.cos(np.arange(9.0)).reshape(3, 3)

    def f(np_):
        def scalar(a):
            w, v = np_.linalg.eigh((a + a.T) / 2)
            return np_.sum(w ** 3) + np_.sum(np_.abs(v) * weights)
        return scalar

    x = SPD + 0.3 * np.tril(M, -1)  # not symmetric: the symmetrisation is differentiated too
    np.testing.assert_allclose(cr.grad(f(cnp))(x), autograd.grad(f(anp))(x), rtol=1e-10)
    direction = np.cos(np.arange(9.0) * 1.3).reshape(3, 3)
    second = lambda lib, np_: lib.grad(lambda a: np_.sum(lib.grad(f(np_))(a) * direction))  # noqa: E731
    np.testing.assert_allclose(second(cr, cnp)(x), second(autograd, anp)(x), rtol=1e-10, atol=1e-12)


def test_eig_eigenvalues_agree_and_eigenvectors_follow_numpys_normalisation():
    weights = np.cos(np.arange(9.0)).reshape(3, 3)

    def values(np_):
        return lambda a: np_.sum(np_.real(np_.linalg.eig(a)[0] * weights[0]))

    np.testing.assert_allclose(cr.grad(values(cnp))(M), autograd.grad(values(anp))(M), rtol=1e-10)

    def vectors(a):
        return cnp.sum(cnp.real(cnp.linalg.eig(a)[1] * weights) + 0.3 * cnp.imag(cnp.linalg.eig(a)[1] * weights))

    h = 1e-6
    fd = np.zeros((3, 3))
    for i in np.ndindex(3, 3):
        e = np.zeros((3, 3))
        e[i] = h
        fd[i] = (vectors(M + e) - vectors(M - e)) / (2 * h)
    np.testing.assert_allclose(cr.grad(vectors)(M), fd, atol=1e-7)
