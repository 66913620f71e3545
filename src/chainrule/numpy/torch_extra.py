"""PyTorch's top-level functions that are not a Tensor method of the same name:
joining and splitting (``meshgrid``, ``hstack``, ``tensor_split``, ``block_diag``,
``cartesian_prod``, ...), the older linear-algebra spellings (``torch.det``,
``torch.inverse``, ``torch.svd`` with its ``V``, ...), complex views, integration
(``trapezoid``, ``cumulative_trapezoid``) and dtype queries. Each is built on
:mod:`chainrule.numpy`'s differentiable functions; results are eager Tensors.

>>> import chainrule as torch
>>> torch.cartesian_prod(torch.tensor([1, 2]), torch.tensor([3, 4])).tolist()
[[1, 3], [1, 4], [2, 3], [2, 4]]
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections import namedtuple
from collections.abc import Sequence

import numpy as np

import chainrule.numpy as cnp
import chainrule.numpy.linalg as la
from chainrule.core.dtypes import as_dtype
from chainrule.core.eager import EAGER
from chainrule.core.errors import TensorError, TensorTypeError
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy import batching, torch_linalg
from chainrule.numpy.registry import wrap
from chainrule.numpy.torch_common import at_least_one_dim, check_tensor_argument, same_dtype, vectors_only
from chainrule.numpy.torch_linalg import as_input, constant, no_out
from chainrule.numpy.torch_order import coordinate_distances
from chainrule.numpy.torch_promotion import _promote
from chainrule.numpy.torch_promotion import result_type as _result_type

__all__ = [
    "meshgrid", "broadcast_tensors", "hstack", "vstack", "column_stack", "dstack", "atleast_1d", "atleast_2d",
    "atleast_3d", "tensor_split", "rot90", "block_diag", "cartesian_prod", "combinations", "det", "inverse",
    "pinverse", "matrix_power", "lu_unpack", "slogdet", "logdet", "cholesky", "cholesky_solve",
    "cholesky_inverse", "triangular_solve", "qr", "svd", "complex", "polar",
    "view_as_real", "view_as_complex", "sgn", "signbit", "float_power", "logcumsumexp", "vdot", "baddbmm",
    "chain_matmul", "trapz", "trapezoid", "cumulative_trapezoid", "vander", "pdist", "concatenate",
    "std_mean", "var_mean", "result_type", "promote_types", "can_cast", "frexp", "geqrf",
]

slogdet_result = namedtuple("slogdet", ["sign", "logabsdet"])
qr_result = namedtuple("qr", ["Q", "R"])
svd_result = namedtuple("svd", ["U", "S", "V"])
frexp_result = namedtuple("frexp", ["mantissa", "exponent"])


def _tensors(tensors) -> list[Tensor]:
    """``f(a, b)`` or ``f([a, b])``, as PyTorch allows, as a list of Tensors."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tensors[0]
    return [as_input(t) for t in tensors]


def _one_dtype(ts: list[Tensor], name: str) -> list[Tensor]:
    if len({t.dtype for t in ts}) > 1:
        dtypes = sorted({str(t.dtype) for t in ts})
        raise TensorError(f"{name} expects all tensors to have the same dtype, got {dtypes}")
    return ts


def meshgrid(*tensors, indexing: str | None = None) -> tuple[Tensor, ...]:
    """``torch.meshgrid``: coordinate grids; ``indexing`` 'ij' (PyTorch's default, with
    its warning when not given) or 'xy'."""
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    ts = _one_dtype(_tensors(tensors), "meshgrid")
    for t in ts:
        if t.ndim > 1:
            raise TensorError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a {t.ndim}-d one")
    return tuple(cnp.meshgrid(*ts, indexing=indexing))


def broadcast_tensors(*tensors) -> tuple[Tensor, ...]:
    """``torch.broadcast_tensors``: the tensors broadcast to their common shape."""
    ts = _tensors(tensors)
    shape = np.broadcast_shapes(*(tuple(t.shape) for t in ts))
    return tuple(cnp.broadcast_to(t, shape) for t in ts)


def hstack(tensors, *, out=None) -> Tensor:
    """``torch.hstack``: joined along the columns (the only dim of 1-d tensors)."""
    no_out(out, "hstack")
    return cnp.hstack(_tensors((tensors,)))


def vstack(tensors, *, out=None) -> Tensor:
    """``torch.vstack``: joined along the rows (1-d tensors become rows)."""
    no_out(out, "vstack")
    return cnp.vstack(_tensors((tensors,)))


def column_stack(tensors, *, out=None) -> Tensor:
    """``torch.column_stack``: 1-d tensors as columns, joined along the columns."""
    no_out(out, "column_stack")
    return cnp.column_stack(_tensors((tensors,)))


def dstack(tensors, *, out=None) -> Tensor:
    """``torch.dstack``: joined along the third dim."""
    no_out(out, "dstack")
    return cnp.dstack(_tensors((tensors,)))


def _atleast(fun, tensors):
    ts = _tensors(tensors)
    results = tuple(fun(t) for t in ts)
    return results[0] if len(tensors) == 1 and not isinstance(tensors[0], list | tuple) else results


def atleast_1d(*tensors):
    """``torch.atleast_1d``: a 0-d tensor as 1-d; one tensor in, one out, else a tuple."""
    return _atleast(cnp.atleast_1d, tensors)


def atleast_2d(*tensors):
    """``torch.atleast_2d``."""
    return _atleast(cnp.atleast_2d, tensors)


def atleast_3d(*tensors):
    """``torch.atleast_3d``."""
    return _atleast(cnp.atleast_3d, tensors)


def tensor_split(input, indices_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """``torch.tensor_split``: ``n`` near-equal parts (the first ones one larger), or the
    parts between the given indices."""
    if isinstance(indices_or_sections, Tensor | np.ndarray):
        if np.asarray(undifferentiated(indices_or_sections)).dtype.kind not in "iu":
            raise TensorError(f"tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                              f"{np.asarray(undifferentiated(indices_or_sections)).dtype}")
        indices_or_sections = np.asarray(undifferentiated(indices_or_sections)).tolist()
    input = as_input(input)
    at_least_one_dim(input, "tensor_split")
    return tuple(cnp.array_split(input, indices_or_sections, axis=dim))


def rot90(input, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """``torch.rot90``: rotated by 90° ``k`` times, from the first of ``dims`` to the second."""
    return cnp.rot90(as_input(input), k, axes=tuple(dims))


def block_diag(*tensors) -> Tensor:
    """``torch.block_diag``: the matrices on the diagonal of one (a 0-d tensor is 1×1, a
    1-d one a row), zeros elsewhere.

    >>> import chainrule as torch
    >>> torch.block_diag(torch.tensor([[1, 2]]), torch.tensor(3)).tolist()
    [[1, 2, 0], [0, 0, 3]]
    """
    blocks = [cnp.reshape(t, (1, -1)) if t.ndim < 2 else t for t in _tensors(tensors)]
    if not blocks:
        return constant(np.zeros((1, 0)))
    if any(b.ndim != 2 for b in blocks):
        raise TensorError("block_diag: the tensors must have at most 2 dims")
    dtype = _result_type(*blocks)
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        rows.append(cnp.concatenate([cnp.zeros((r, left), dtype), cnp.astype(b, dtype),
                                     cnp.zeros((r, width - left - c), dtype)], axis=1))
        left += c
    return cnp.concatenate(rows, axis=0)


def cartesian_prod(*tensors) -> Tensor:
    """``torch.cartesian_prod``: the rows of all combinations of the 1-d tensors' elements
    (one tensor: itself)."""
    ts = _one_dtype(_tensors(tensors), "cartesian_prod: meshgrid")
    for t in ts:
        if t.ndim != 1:
            raise TensorError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    grids = cnp.meshgrid(*ts, indexing="ij")
    return cnp.stack([cnp.reshape(g, (-1,)) for g in grids], axis=1)


def combinations(input, r: int = 2, with_replacement: bool = False) -> Tensor:
    """``torch.combinations``: the rows of the length-``r`` combinations of a 1-d tensor's
    elements, as ``itertools.combinations`` (``with_replacement``) orders them."""
    x = as_input(input)
    if x.ndim != 1:
        raise TensorError(f"combinations: the input must be 1-d, got {x.ndim}-d")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    index = np.asarray(list(pick(range(x.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return x[index]


def det(input) -> Tensor:
    """``torch.det``: ``torch.linalg.det``."""
    return torch_linalg.det(input)


def inverse(input, *, out=None) -> Tensor:
    """``torch.inverse``: ``torch.linalg.inv``."""
    return torch_linalg.inv(input, out=out)


def pinverse(input, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: ``torch.linalg.pinv`` with ``rtol=rcond``."""
    return torch_linalg.pinv(input, rtol=rcond)


def matrix_power(input, n: int) -> Tensor:
    """``torch.matrix_power``: ``torch.linalg.matrix_power``."""
    return torch_linalg.matrix_power(input, n)


def lu_unpack(LU_data, LU_pivots, unpack_data: bool = True, unpack_pivots: bool = True, *, out=None):
    """``torch.lu_unpack``: ``(P, L, U)`` from ``torch.linalg.lu_factor``'s result."""
    return torch_linalg.lu_unpack(LU_data, LU_pivots, unpack_data, unpack_pivots, out=out)


def slogdet(input) -> slogdet_result:
    """``torch.slogdet``: ``(sign, logabsdet)``."""
    return slogdet_result(*torch_linalg.slogdet(input))


def logdet(input) -> Tensor:
    """``torch.logdet``: log det A; NaN where the determinant is negative."""
    sign, logabsdet = torch_linalg.slogdet(input)
    return cnp.where(sign < 0, np.nan, logabsdet)


def cholesky(input, upper: bool = False, *, out=None) -> Tensor:
    """``torch.cholesky``: ``torch.linalg.cholesky``, ``upper`` positional too."""
    return torch_linalg.cholesky(input, upper=upper, out=out)


def _cholesky_solve(B: Tensor, factor: Tensor, upper: bool) -> Tensor:
    """X with A X = B, A = L Lᴴ (or Uᴴ U): two triangular solves, each factor read from
    its triangle as PyTorch reads it."""
    lower = la.matrix_transpose(cnp.conj(factor)) if upper else factor
    y = torch_linalg.solve_triangular(lower, B, upper=False)
    return torch_linalg.solve_triangular(la.matrix_transpose(cnp.conj(lower)), y, upper=True)


def cholesky_solve(B, L, upper: bool = False, *, out=None) -> Tensor:
    """``torch.cholesky_solve(B, L)``: X with A X = B for A = L Lᴴ given by its Cholesky
    factor (``upper``: A = Uᴴ U); batch dimensions broadcast. The factor's other triangle
    is not read and gets no gradient (PyTorch's gives it one, of (L Lᴴ)⁻¹B as if L were
    full; the two agree on the triangle, and through ``cholesky``).

    >>> import chainrule as torch
    >>> L = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    >>> torch.cholesky_solve(torch.tensor([[4.0], [3.0]]), L).flatten().tolist()
    [0.5, 1.0]
    """
    no_out(out, "cholesky_solve")
    B, L = as_input(B), as_input(L)
    torch_linalg.at_least_2d("cholesky_solve", B=B, L=L)
    return _cholesky_solve(B, L, upper)


def _cholesky_inverse_values(L):
    """(L Lᵀ)⁻¹ from the lower triangle of each real matrix L, exactly symmetric (LAPACK's potri)."""
    inverse = np.linalg.inv(np.tril(L))
    R = np.swapaxes(inverse, -1, -2) @ inverse
    return (R + np.swapaxes(R, -1, -2)) / 2


# The value reads L's lower triangle; the derivative is that of (L Lᵀ)⁻¹ in the whole of L, as
# PyTorch's (its other triangle gets a gradient too), for a result taken as symmetric
_cholesky_inverse = wrap(_cholesky_inverse_values, "torch", "cholesky_inverse", public=False)
def_vjps(_cholesky_inverse, lambda g, ans, L: -cnp.matmul(cnp.matmul(ans, g + la.matrix_transpose(g)), ans) @ L)
def_jvps(_cholesky_inverse, lambda t, ans, L: -cnp.matmul(
    cnp.matmul(ans, t @ la.matrix_transpose(L) + L @ la.matrix_transpose(t)), ans))
def_batch(batching.stacked, _cholesky_inverse)


def cholesky_inverse(L, upper: bool = False, *, out=None) -> Tensor:
    """``torch.cholesky_inverse(L)``: A⁻¹ for A = L Lᴴ (``upper``: A = Uᴴ U), symmetric. As
    PyTorch's, the factor's other triangle is not read for the value but gets a gradient:
    that of (L Lᴴ)⁻¹ in the whole of L."""
    no_out(out, "cholesky_inverse")
    check_tensor_argument(L, "cholesky_inverse")
    if not isinstance(upper, (bool, np.bool_)):
        raise TypeError(f"cholesky_inverse(): argument 'upper' (position 2) must be bool, not {type(upper).__name__}")
    L = as_input(L)
    if L.ndim < 2:
        raise RuntimeError("cholesky_inverse: The input tensor A must have at least 2 dimensions.")
    if L.shape[-1] != L.shape[-2]:
        raise RuntimeError(f"cholesky_inverse: A must be batches of square matrices, but they are "
                           f"{L.shape[-2]} by {L.shape[-1]} matrices")
    if np.iscomplexobj(np.zeros((), L.dtype)):
        return _cholesky_solve(cnp.eye(L.shape[-1], dtype=L.dtype), L, upper)
    lower = la.matrix_transpose(L) if upper else L
    return _cholesky_inverse(lower)


triangular_solve_result = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])
geqrf_result = namedtuple("geqrf", ["a", "tau"])


def geqrf(input, *, out=None) -> geqrf_result:
    """``torch.geqrf``: LAPACK's QR factorization ``(a, tau)`` of each matrix, R above
    ``a``'s diagonal and the Householder reflectors below it. As in PyTorch it has no
    derivative: the values are read without the input's graph."""
    no_out(out, "geqrf")
    A = as_input(input)
    if A.ndim < 2:
        raise RuntimeError(f"torch.geqrf: input must have at least 2 dimensions, got {A.ndim}")
    h, tau = np.linalg.qr(np.asarray(undifferentiated(A)), mode="raw")
    return geqrf_result(constant(np.swapaxes(h, -1, -2).copy()), constant(tau))


def triangular_solve(b, A, upper: bool = True, transpose: bool = False, unitriangular: bool = False
                     ) -> triangular_solve_result:
    """``torch.triangular_solve(b, A)`` (deprecated there): ``(X, A.clone())`` with A X = b,
    or Aᵀ X = b with ``transpose``; A read from its ``upper`` (default) or lower triangle."""
    A, b = as_input(A), as_input(b)
    torch_linalg.at_least_2d("triangular_solve", b=b, A=A)
    T = la.matrix_transpose(A) if transpose else A
    X = torch_linalg.solve_triangular(T, b, upper=upper != transpose, unitriangular=unitriangular)
    return triangular_solve_result(X, A * 1)


def qr(input, some: bool = True, *, out=None) -> qr_result:
    """``torch.qr``: ``(Q, R)``, reduced when ``some`` else complete."""
    return qr_result(*torch_linalg.qr(input, "reduced" if some else "complete", out=out))


def svd(input, some: bool = True, compute_uv: bool = True, *, out=None) -> svd_result:
    """``torch.svd``: ``(U, S, V)`` with A = U diag(S) Vᴴ (V, not ``linalg.svd``'s Vh);
    full U and V unless ``some``; without ``compute_uv``, U and V are zeros (m×m, n×n)."""
    no_out(out, "svd")
    A = torch_linalg.matrix_input(input, "svd")
    if not compute_uv:
        m, n = A.shape[-2:]
        batch = tuple(A.shape[:-2])
        return svd_result(cnp.zeros(batch + (m, m), A.dtype), la.svdvals(A), cnp.zeros(batch + (n, n), A.dtype))
    U, S, Vh = la.svd(A, full_matrices=not some)
    return svd_result(U, S, cnp.conj(la.matrix_transpose(Vh)))


def complex(real, imag, *, out=None) -> Tensor:  # noqa: A001
    """``torch.complex``: real + i·imag set part by part (float32 parts give complex64),
    so that a real part of -0.0 keeps its sign and an infinite imaginary part leaves the
    real part alone, as PyTorch's."""
    no_out(out, "complex")
    real, imag = _floating_parts(real, imag, "complex")
    return cnp.elementwise.complex_from_parts(real, imag)


def _floating_parts(a, b, name: str) -> tuple[Tensor, Tensor]:
    """The two real parts of a complex Tensor as Tensors, after PyTorch's check: floating,
    of one dtype (NumPy's arithmetic would promote integers)."""
    a, b = as_input(a), as_input(b)
    if a.dtype != b.dtype or a.dtype.kind != "f":
        raise TensorTypeError(f"{name}: expected both inputs to be float16, float32 or float64 Tensors of one dtype, "
                              f"but got {a.dtype} and {b.dtype}; convert them with .float() or .double()")
    return a, b


def polar(abs, angle, *, out=None) -> Tensor:  # noqa: A002
    """``torch.polar``: abs·(cos angle + i sin angle)."""
    no_out(out, "polar")
    r, theta = _floating_parts(abs, angle, "polar")
    return complex(r * cnp.cos(theta), r * cnp.sin(theta))


def view_as_real(input) -> Tensor:
    """``torch.view_as_real``: a complex tensor's real and imaginary parts in a last dim
    of 2 (a new Tensor, not a view of the same memory)."""
    z = as_input(input)
    if z.dtype.kind != "c":
        raise TensorTypeError(f"view_as_real is only supported for complex tensors, got {z.dtype}; use "
                              "torch.stack([x, torch.zeros_like(x)], -1) for a real one")
    return cnp.stack([cnp.real(z), cnp.imag(z)], axis=-1)


def view_as_complex(input) -> Tensor:
    """``torch.view_as_complex``: a last dim of 2 read as (real, imaginary) (a new Tensor)."""
    x = as_input(input)
    if x.ndim == 0 or x.shape[-1] != 2:
        raise TensorError(f"view_as_complex: the last dim must have size 2, got shape {tuple(x.shape)}")
    return complex(x[..., 0], x[..., 1])


def sgn(input, *, out=None) -> Tensor:
    """``torch.sgn``: z/|z| (0 at 0) of a complex tensor, ``sign`` of a real one."""
    no_out(out, "sgn")
    z = as_input(input)
    if z.dtype.kind != "c":
        return z.sign()
    r = cnp.abs(z)
    zero = r == 0
    return cnp.where(zero, 0, z / cnp.where(zero, 1, r))


def signbit(input, *, out=None) -> Tensor:
    """``torch.signbit``: whether the sign bit is set (True for −0.0), a bool Tensor."""
    no_out(out, "signbit")
    x = as_input(input)
    return constant(np.signbit(x._value)) if x._trace is EAGER else cnp.signbit(undifferentiated(x))


def float_power(input, exponent, *, out=None) -> Tensor:
    """``torch.float_power``: the power in float64 (complex128 for complex operands)."""
    no_out(out, "float_power")
    wide = np.complex128 if any(np.iscomplexobj(v) for v in (input, exponent)) else np.float64
    base = as_input(input, wide)
    power = as_input(exponent, wide) if isinstance(exponent, Tensor | np.ndarray) else exponent
    return base ** power


def logcumsumexp(input, dim: int, *, out=None) -> Tensor:
    """``torch.logcumsumexp``: log Σ exp of each prefix along ``dim``, computed stably."""
    no_out(out, "logcumsumexp")
    x = as_input(input)
    if x.ndim == 0 and dim in (0, -1):  # a 0-d Tensor's one dim, as PyTorch reads it
        return x * 1.0
    return cnp.logaddexp.accumulate(x, axis=dim) + 0.0  # (+0.0 at a leading -0.0: log(exp(x)), as PyTorch's)


def vdot(input, other, *, out=None) -> Tensor:
    """``torch.vdot``: Σ conj(input)·other of two 1-d tensors."""
    no_out(out, "vdot")
    vectors_only("vdot", input, other)
    same_dtype("vdot", input, other)
    return cnp.vdot(as_input(input), as_input(other))


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None) -> Tensor:
    """``torch.baddbmm``: beta·input + alpha·(batch1 @ batch2) (input ignored when beta is 0)."""
    no_out(out, "baddbmm")
    return as_input(input).baddbmm(as_input(batch1), as_input(batch2), beta=beta, alpha=alpha)


def chain_matmul(*matrices, out=None) -> Tensor:
    """``torch.chain_matmul``: ``torch.linalg.multi_dot`` of matrices (2-d each); of one
    matrix, the matrix."""
    matrices = _tensors(matrices)
    for m in matrices:
        if m.ndim != 2:
            raise TensorError(f"chain_matmul: Tensor dimension is {m.ndim}, expected 2 instead; use "
                              "torch.linalg.multi_dot for vectors at the ends")
    if len(matrices) == 1:
        no_out(out, "chain_matmul")
        return matrices[0] * 1
    return torch_linalg.multi_dot(matrices, out=out)


def trapezoid(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """``torch.trapezoid``: the trapezoidal rule along ``dim``, at ``x`` or spacing ``dx`` (1)."""
    y = _not_bool_y(as_input(y), "trapezoid")
    if x is not None and dx is not None:
        raise TypeError("trapezoid: give x or dx, not both")
    if x is not None:
        return cnp.trapezoid(y, as_input(x), axis=dim)
    return cnp.trapezoid(y, dx=1.0 if dx is None else dx, axis=dim)


def _not_bool_y(y: Tensor, name: str) -> Tensor:
    if y.dtype.kind == "b":
        raise TensorError(f"{name}: received a bool input for `y`, but bool is not supported")
    return y


def trapz(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """``torch.trapz``: ``torch.trapezoid``."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """``torch.cumulative_trapezoid``: the running trapezoidal integral along ``dim`` (one
    element fewer than ``y``)."""
    y = cnp.moveaxis(_not_bool_y(as_input(y), "cumulative_trapezoid"), dim, -1)
    if x is not None:
        x = as_input(x)
        step = cnp.diff(cnp.moveaxis(x, dim, -1) if x.ndim > 1 else x, axis=-1)
    else:
        step = 1.0 if dx is None else dx
    areas = (y[..., 1:] + y[..., :-1]) * step / 2
    return cnp.moveaxis(cnp.cumsum(areas, axis=-1), -1, dim)


def vander(x, N: int | None = None, increasing: bool = False) -> Tensor:
    """``torch.vander``: columns of powers of a 1-d ``x``, decreasing unless ``increasing``."""
    if np.ndim(x) != 1:
        raise TensorError("x must be a one-dimensional tensor.")
    x = as_input(x)
    result = torch_linalg.powers(x, x.shape[-1] if N is None else N)
    return result if increasing else cnp.flip(result, axis=-1)


def pdist(input, p: float = 2) -> Tensor:
    """``torch.pdist``: the ``p``-norm distances between the rows of an N×M tensor, for
    each pair i < j in row-major order (N(N−1)/2 of them)."""
    x = as_input(input)
    if x.ndim != 2:
        raise TensorError(f"pdist: the input must be 2-d (N, M), got {x.ndim}-d")
    if p < 0:
        raise TensorError(f"pdist only supports non-negative p values; got p = {p}")
    if x.dtype.kind != "f":
        raise TensorError(f"pdist only supports floating-point dtypes; got {x.dtype}: convert with .float()")
    i, j = np.triu_indices(x.shape[0], 1)
    # (cdist's kernel, but for p = inf a NaN coordinate makes the distance NaN, PyTorch's)
    return coordinate_distances(x[i] - x[j], p, nan_propagates=True)


def concatenate(tensors, axis: int = 0, *, out=None) -> Tensor:
    """``torch.concatenate``: ``torch.cat`` with NumPy's ``axis``."""
    no_out(out, "concatenate")
    return cnp.concatenate(_tensors((tensors,)), axis=axis)


def _spread_mean(name: str, input, dim, unbiased, correction, keepdim) -> tuple[Tensor, Tensor]:
    x = as_input(input)
    if unbiased is not None:
        if correction is not None:
            raise TypeError(f"{name}: give unbiased or correction, not both")
        correction = int(bool(unbiased))
    correction = 1 if correction is None else correction
    spread = getattr(x, name.split("_")[0])(dim, correction=correction, keepdim=keepdim)
    return spread, x.mean(dim, keepdim=keepdim)


def std_mean(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None,
             out=None) -> tuple[Tensor, Tensor]:
    """``torch.std_mean``: ``(std, mean)`` over ``dim`` (all when None), ``correction`` 1."""
    no_out(out, "std_mean")
    return _spread_mean("std_mean", input, dim, unbiased, correction, keepdim)


def var_mean(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None,
             out=None) -> tuple[Tensor, Tensor]:
    """``torch.var_mean``: ``(var, mean)`` over ``dim`` (all when None), ``correction`` 1."""
    no_out(out, "var_mean")
    return _spread_mean("var_mean", input, dim, unbiased, correction, keepdim)


def result_type(tensor1, tensor2) -> np.dtype:
    """``torch.result_type``: PyTorch's promoted dtype of two Tensors or numbers."""
    return _result_type(tensor1, tensor2)


def promote_types(type1, type2) -> np.dtype:
    """``torch.promote_types``: PyTorch's promotion of two dtypes (int64 and float32 give
    float32, not NumPy's float64)."""
    return _promote(np.dtype(as_dtype(type1)), np.dtype(as_dtype(type2)))


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def can_cast(from_, to) -> bool:
    """``torch.can_cast``: PyTorch's casting rule, which refuses only a cast to a lower
    category (complex → float → integer → bool), whatever the sizes."""
    return _CATEGORY[np.dtype(as_dtype(from_)).kind] <= _CATEGORY[np.dtype(as_dtype(to)).kind]


def frexp(input, *, out=None) -> frexp_result:
    """``torch.frexp``: ``(mantissa, exponent)`` with input = mantissa · 2**exponent, the
    exponent int32; the mantissa's derivative is 2**-exponent (PyTorch's)."""
    no_out(out, "frexp")
    x = as_input(input)
    if x.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    mantissa, exponent = cnp.frexp(x)
    return frexp_result(mantissa, cnp.astype(exponent, np.int32))


def _eager_results(function):
    """``function`` whose ndarray results (of inputs that do not require grad, where the
    mirror gives a plain array) come back as eager Tensors, as PyTorch's do."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        result = function(*args, **kwargs)
        if isinstance(result, tuple):
            return type(result)(*(_as_eager(r) for r in result)) if hasattr(result, "_fields") else tuple(
                _as_eager(r) for r in result)
        return _as_eager(result)

    return wrapper


def _as_eager(value):
    return constant(value) if isinstance(value, np.ndarray | np.generic) else value


globals().update({name: _eager_results(globals()[name]) for name in __all__
                  if name not in ("result_type", "promote_types", "can_cast")})
