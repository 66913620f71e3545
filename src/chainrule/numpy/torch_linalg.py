"""``torch.linalg`` (``import chainrule as torch; torch.linalg.solve(A, b)``): PyTorch's
linear-algebra functions with PyTorch's arguments (``dim``, ``keepdim``, ``upper``,
``left``, ``UPLO``, ``mode``, ``full_matrices``), defaults and named-tuple results, each
built on :mod:`chainrule.numpy.linalg`'s differentiable primitives, so they have no
derivative rules of their own and work under ``grad``, ``jit`` and ``vmap`` as those do.
Inputs are eager Tensors, arrays or numbers; results are eager Tensors of the input's
dtype (float32 stays float32).

>>> import chainrule as torch
>>> A = torch.tensor([[4.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> torch.linalg.slogdet(A).logabsdet.backward()
>>> A.grad.tolist()                                # inverse transpose
[[0.2727272727272727, -0.09090909090909091], [-0.09090909090909091, 0.36363636363636365]]
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections import namedtuple
from collections.abc import Sequence

import numpy as np

import chainrule.numpy as cnp
import chainrule.numpy.linalg as la
from chainrule.core.dtypes import as_dtype
from chainrule.core.eager import EAGER
from chainrule.core.errors import TensorError, eager_error
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.trace import eager_quiet
from chainrule.numpy.torch_common import check_tensor_argument, magnitude, tensor_of

__all__ = [
    "norm", "vector_norm", "matrix_norm", "det", "slogdet", "inv", "pinv", "solve", "lstsq", "cholesky",
    "qr", "svd", "svdvals", "eigh", "eigvalsh", "eig", "eigvals", "matrix_power", "matrix_rank", "cross",
    "multi_dot", "vecdot", "solve_triangular", "matrix_exp", "diagonal", "cond", "vander", "tensorinv",
    "tensorsolve", "lu_factor", "lu", "lu_solve", "cholesky_ex", "inv_ex",
]

linalg_slogdet = namedtuple("linalg_slogdet", ["sign", "logabsdet"])
linalg_lstsq = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
linalg_qr = namedtuple("linalg_qr", ["Q", "R"])
linalg_svd = namedtuple("linalg_svd", ["U", "S", "Vh"])
linalg_eigh = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
linalg_eig = namedtuple("linalg_eig", ["eigenvalues", "eigenvectors"])
linalg_cholesky_ex = namedtuple("linalg_cholesky_ex", ["L", "info"])
linalg_inv_ex = namedtuple("linalg_inv_ex", ["inverse", "info"])
linalg_lu_factor = namedtuple("linalg_lu_factor", ["LU", "pivots"])
linalg_lu = namedtuple("linalg_lu", ["P", "L", "U"])
lu_unpack_result = namedtuple("lu_unpack", ["P", "L", "U"])


def as_input(value, dtype=None) -> Tensor:
    """An argument of PyTorch's functions as a Tensor (an array or number becomes an eager
    one; a transform's Tensor stays as it is), cast to ``dtype`` when one is given."""
    x = tensor_of(value)
    dtype = as_dtype(dtype)
    return x if dtype is None or dtype == x.dtype else x.to(dtype)


def norm_input(value, dtype, name: str) -> Tensor:
    """The input of a norm as a Tensor of ``dtype``, after PyTorch's checks: a floating or
    complex input, and a floating or complex ``dtype`` it converts to without narrowing."""
    x = tensor_of(value)
    if np.dtype(x.dtype).kind not in "fc":
        raise TensorError(f"linalg.{name}: Expected a floating point or complex tensor as input. Got "
                          f"{np.dtype(x.dtype).name}; convert with .float() or .double()")
    want = as_dtype(dtype)
    if want is not None and want.kind not in "fc":
        raise TensorError(f"linalg.{name}: dtype should be floating point or complex, but got {want.name}")
    if want is not None and not np.can_cast(x.dtype, want, "safe"):
        raise TensorError(f"linalg.{name}: the dtype of the input ({np.dtype(x.dtype).name}) should be convertible "
                          f"without narrowing to the specified dtype ({want.name})")
    return as_input(x, dtype)


def matrix_input(value, name: str) -> Tensor:
    """A (batch of) matrix argument of ``linalg.name`` as a Tensor, after PyTorch's checks:
    at least 2 dimensions, floating or complex (NumPy's LAPACK calls would take integers)."""
    A = as_input(value)
    if A.ndim < 2:
        raise TensorError(f"linalg.{name}: The input tensor A must have at least 2 dimensions, got {A.ndim}")
    if np.dtype(A.dtype).kind not in "fc":
        raise TensorError(f"linalg.{name}: Expected a floating point or complex tensor as input. Got "
                          f"{np.dtype(A.dtype).name}; convert with .float() or .double()")
    return A


def at_least_2d(name: str, **operands) -> None:
    """PyTorch's refusal of a vector where ``name`` takes (batches of) matrices (NumPy's
    solve reads a 1-d right-hand side as a vector)."""
    for key, x in operands.items():
        if x.ndim < 2:
            raise TensorError(f"{name}: The input tensor {key} must have at least 2 dimensions, but it has {x.ndim}; "
                              "give a vector as a column, x[..., None]")


def cross_operands(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """PyTorch's checks of the operands of a cross product: as many dims (NumPy would
    broadcast them) and one dtype."""
    if x.ndim != y.ndim:
        raise TensorError(f"linalg.cross: inputs must have the same number of dimensions, got {x.ndim} and {y.ndim}")
    if x.dtype != y.dtype:
        raise TensorError(f"linalg.cross: expected inputs of one dtype, got {x.dtype} and {y.dtype}")
    return x, y


def no_out(out, name: str) -> None:
    """PyTorch's ``out=`` is refused: chainrule's Tensors are results, not buffers."""
    if out is not None:
        raise TypeError(f"{name}(..., out=...) is not supported: assign the result instead, y = {name}(...)")


def constant(value, like: Tensor | None = None) -> Tensor:
    """A non-differentiable result (a rank, an empty placeholder) as an eager Tensor."""
    array = np.asarray(value)
    if like is not None and array.dtype.kind == "f":
        array = array.astype(np.real(np.zeros((), like.dtype)).dtype)
    return Tensor(array, EAGER)


def _dims(dim) -> tuple[int, ...] | None:
    if dim is None:
        return None
    return tuple(dim) if isinstance(dim, Sequence) else (dim,)


# (eager_quiet: squares that overflow give inf silently, as PyTorch's norms)
@eager_quiet
def vector_norm(x, ord: float = 2, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """``torch.linalg.vector_norm``: the ``ord``-norm over ``dim`` (all elements when None).

    >>> import chainrule as torch
    >>> float(torch.linalg.vector_norm(torch.tensor([[3.0, 0.0], [0.0, 4.0]])))
    5.0
    """
    no_out(out, "vector_norm")
    x = norm_input(x, dtype, "vector_norm")
    dims = _dims(dim) or None  # an empty list of dims: every dim, as PyTorch reads it
    if dims is None:
        result = pytorch_vector_norm(cnp.reshape(x, (-1,)), ord, axis=0)
        return cnp.reshape(result, (1,) * x.ndim) if keepdim else result
    if x.ndim == 0 and set(dims) <= {0, -1}:  # a 0-d Tensor's one dim, as PyTorch reads it
        return pytorch_vector_norm(x, ord, axis=None)
    return pytorch_vector_norm(x, ord, axis=dims, keepdims=keepdim)


def largest_magnitude(x, largest: bool, axis, keepdims: bool = False):
    """The largest (``largest``) or smallest absolute value of ``x`` along ``axis``, the inf
    and -inf norms: NaN where a slice holds NaN, with derivative 0 there, as PyTorch's
    (its derivative at NaN is sgn(NaN) = 0); tied values share the derivative."""
    nan = cnp.isnan(undifferentiated(x))
    numbers = cnp.abs(cnp.where(nan, 0.0 if largest else np.inf, x))
    extreme = (cnp.max if largest else cnp.min)(numbers, axis=axis, keepdims=keepdims)
    return cnp.where(cnp.any(nan, axis=axis, keepdims=keepdims), np.nan, extreme)


def element_powers(a, p: float):
    """``a ** p`` of absolute values ``a``, ``p`` not 0, 1 or 2, for the sum of a p-norm. A
    zero element's derivative is 0 times the derivative of the norm in that sum (PyTorch's:
    ``sgn(0) = 0``, or ``|0| ** (p - 1)`` masked to 0 where p < 1, times the rest), so it is
    NaN where the norm is NaN, or infinite with p < 1, and 0 elsewhere (``0 ** (p - 1)`` is
    infinite for p < 1, whence no plain power)."""
    zero = undifferentiated(a) == 0
    return cnp.where(zero, a * 0.0, cnp.where(zero, 1.0, a) ** p)


def power_flat_at_zero(v, e: float):
    """``v ** e`` of ``v >= 0`` with derivative 0 where ``v`` is 0, as PyTorch's norms and
    distances: the root of a zero sum of powers (a zero vector, or two equal points, has
    gradient 0, not the root's infinite one), and cdist's powers with p < 1; NaN stays NaN."""
    zero = undifferentiated(v) == 0
    positive = cnp.where(zero, 1.0, v)
    return cnp.where(zero, 0.0, cnp.sqrt(positive) if e == 0.5 else positive ** e)


def negative_norm(a, p: float, axis, keepdims: bool = False):
    """The ``p``-norm, ``p < 0``, of the absolute values ``a``: 0 with gradient 0 where a
    slice holds a zero (and no NaN), as PyTorch's (whose sum of powers is inf there)."""
    zero = undifferentiated(a) == 0
    # (a zero element's power counts as 1: the slice's norm is 0 or NaN, set below, and its
    # derivative NaN where the norm is NaN, from element_powers)
    norm = cnp.sum(element_powers(a, p) + cnp.astype(zero, a.dtype), axis=axis, keepdims=keepdims) ** (1.0 / p)
    zero_norm = cnp.any(zero, axis=axis, keepdims=keepdims) & ~cnp.any(cnp.isnan(undifferentiated(a)), axis=axis,
                                                                          keepdims=keepdims)
    return cnp.where(zero_norm, 0, norm)


def pytorch_vector_norm(x, ord, axis, keepdims: bool = False):
    """PyTorch's ``ord``-norm (p, 0, ±inf) of any chainrule.numpy array ``x`` over ``axis``
    (None: all), with PyTorch's values and gradients at NaN, inf and zeros, for the
    functions built on it (``dist``, ``pairwise_distance``, ``normalize``).

    >>> float(pytorch_vector_norm(np.array([3.0, -4.0]), 1, axis=0))
    7.0
    """
    if ord in (math.inf, -math.inf):
        return largest_magnitude(x, ord > 0, axis, keepdims)
    if ord in (0, 1):  # a count has derivative 0, on x's graph (PyTorch's); the 1-norm's at NaN is 0
        a = magnitude(x)
        total = cnp.sum(a, axis=axis, keepdims=keepdims)
        return total if ord == 1 else cnp.where(True, cnp.sum(cnp.astype(a != 0, a.dtype), axis=axis,
                                                                 keepdims=keepdims), total)
    a = cnp.abs(x)
    if ord < 0:
        return negative_norm(a, ord, axis, keepdims)
    if ord == 2:  # (x * x of a real x: |x| * |x|'s second derivative is 0 at a zero x, PyTorch's 2)
        powers = a * a if np.dtype(x.dtype).kind == "c" else x * x
    else:
        powers = element_powers(a, ord)
    return power_flat_at_zero(cnp.sum(powers, axis=axis, keepdims=keepdims), 1.0 / ord)


@eager_quiet
def matrix_norm(A, ord: float | str = "fro", dim: tuple[int, int] = (-2, -1), keepdim: bool = False, *,
                dtype=None, out=None) -> Tensor:
    """``torch.linalg.matrix_norm``: ``'fro'``, ``'nuc'``, ±1, ±2, ±inf over the two ``dim``.

    >>> import chainrule as torch
    >>> float(torch.linalg.matrix_norm(torch.eye(3), 'nuc'))
    3.0
    """
    no_out(out, "matrix_norm")
    A = norm_input(A, dtype, "matrix_norm")
    if A.ndim < 2:
        raise TensorError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got {A.ndim}")
    if len(_dims(dim)) != 2:
        raise TensorError(f"matrix_norm: dim must be two dimensions, got {dim!r}")
    return la.norm(A, ord=ord, axis=tuple(dim), keepdims=keepdim)


def norm(A, ord=None, dim=None, keepdim: bool = False, *, out=None, dtype=None) -> Tensor:
    """``torch.linalg.norm``: with neither ``ord`` nor ``dim``, the 2-norm of all elements;
    a vector norm over one ``dim`` (or of a 1-d input), a matrix norm over two (or of a 2-d
    input when ``ord`` is given).

    >>> import chainrule as torch
    >>> float(torch.linalg.norm(torch.ones(2, 2, 2)))
    2.8284271247461903
    """
    no_out(out, "norm")
    A = norm_input(A, dtype, "vector_norm")
    dims = _dims(dim)
    if dims is None:
        if ord is None:
            return vector_norm(A, 2, None, keepdim)
        if A.ndim not in (1, 2):
            raise TensorError(f"linalg.norm: ord={ord!r} without dim needs a 1-d or 2-d input, got {A.ndim}-d; "
                             "give dim=")
        dims = tuple(range(A.ndim))
    if len(dims) == 1:
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim)
    if len(dims) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim)
    raise TensorError(f"linalg.norm: dim must be one or two dimensions, got {dim!r}; use vector_norm for more")


def det(A, *, out=None) -> Tensor:
    """``torch.linalg.det``: the determinant of each matrix."""
    no_out(out, "det")
    return la.det(as_input(A))


def slogdet(A, *, out=None) -> linalg_slogdet:
    """``torch.linalg.slogdet``: ``(sign, logabsdet)``; ``logabsdet`` differentiates."""
    no_out(out, "slogdet")
    sign, logabsdet = la.slogdet(as_input(A))
    return linalg_slogdet(sign, logabsdet)


def inv(A, *, out=None) -> Tensor:
    """``torch.linalg.inv``: the inverse of each matrix."""
    no_out(out, "inv")
    return la.inv(as_input(A))


def _info(A: Tensor, fails, name: str, what: str, check_errors: bool) -> Tensor:
    """The int32 ``info`` of PyTorch's ``*_ex`` functions, of A's batch shape: 0 for each
    matrix that factors, else ``fails(matrix)``, LAPACK's order of the failing step. A
    failure is refused (PyTorch's error with ``check_errors``); under vmap, whose examples
    are not looked into, every matrix is taken to factor."""
    values = undifferentiated(A)
    info = np.zeros(tuple(A.shape[:-2]), np.int32)
    if isinstance(values, np.ndarray):
        for index in np.ndindex(*info.shape):
            info[index] = fails(values[index])
    if info.any():
        k = int(info.flat[np.flatnonzero(info)[0]])
        if check_errors:
            raise RuntimeError(f"linalg.{name}: The factorization could not be completed because the input is not "
                               f"{what} (the failure is at order {k}).")
        raise NotImplementedError(f"linalg.{name}: the input is not {what} (info {k}); chainrule gives no "
                                  "partial result: check the matrix first, or use a function that takes it")
    return constant(info)


def _cholesky_fails(M: np.ndarray) -> int:
    """The order of the first leading minor of ``M`` that is not positive-definite (0: none)."""
    for k in range(1, M.shape[-1] + 1):
        try:
            np.linalg.cholesky(M[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return 0


def _inverse_fails(M: np.ndarray) -> int:
    """The (1-based) position of the first zero on the diagonal of ``M``'s U (0: none)."""
    zero = np.flatnonzero(np.diagonal(importlib.import_module("scipy.linalg").lu_factor(M, check_finite=False)[0]) == 0)
    return int(zero[0]) + 1 if zero.size else 0


def cholesky_ex(A, *, upper: bool = False, check_errors: bool = False, out=None) -> linalg_cholesky_ex:
    """``torch.linalg.cholesky_ex``: ``(L, info)``, L as :func:`cholesky`'s and ``info``
    int32 zeros of A's batch shape; a matrix that is not positive-definite is refused."""
    no_out(out, "cholesky_ex")
    A = matrix_input(A, "cholesky")
    info = _info(A, _cholesky_fails, "cholesky_ex", "positive-definite", check_errors)
    return linalg_cholesky_ex(la.cholesky(A, upper=upper), info)


def inv_ex(A, *, check_errors: bool = False, out=None) -> linalg_inv_ex:
    """``torch.linalg.inv_ex``: ``(inverse, info)``, the inverse as :func:`inv`'s and
    ``info`` int32 zeros of A's batch shape; a singular matrix is refused."""
    no_out(out, "inv_ex")
    A = matrix_input(A, "inv")
    info = _info(A, _inverse_fails, "inv_ex", "invertible", check_errors)
    return linalg_inv_ex(la.inv(A), info)


def pinv(A, rcond=None, hermitian: bool = False, *, atol=None, rtol=None, out=None) -> Tensor:
    """``torch.linalg.pinv``: the pseudo-inverse, singular values below
    ``max(atol, rtol * largest)`` dropped (``rtol`` defaults to eps·max(m, n)); PyTorch's
    deprecated positional ``rcond`` is ``rtol`` with ``atol`` 0."""
    no_out(out, "pinv")
    A = matrix_input(A, "pinv")
    if rcond is not None:
        atol, rtol = 0.0, rcond
    if atol is None and rtol is None:
        return la.pinv(A, hermitian=hermitian)
    # through the SVD, so that the derivative is that of the truncated pseudo-inverse; the
    # tolerances broadcast against the batch of matrices, as PyTorch's
    U, S, Vh = la.svd(A, full_matrices=False)
    smax = cnp.max(S, axis=-1, keepdims=True)
    atol = np.asarray(undifferentiated(0.0 if atol is None else atol), np.float64)
    default = _eps(A) * max(A.shape[-2:])
    rtol = np.where(atol > 0, 0.0, default) if rtol is None else np.asarray(undifferentiated(rtol), np.float64)
    tol = cnp.maximum(atol[..., None], rtol[..., None] * smax)
    keep = S > tol
    inv_s = cnp.where(keep, 1.0 / cnp.where(keep, S, 1.0), 0.0)
    return cnp.matmul(cnp.conj(la.matrix_transpose(Vh)) * inv_s[..., None, :], cnp.conj(la.matrix_transpose(U)))


def _eps(A) -> float:
    return float(np.finfo(np.real(np.zeros((), A.dtype)).dtype).eps)


def _is_vector_rhs(A, B) -> bool:
    # PyTorch reads B as a (batch of) vector(s) when it is 1-d or has A's batch shape
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def solve(A, B, *, left: bool = True, out=None) -> Tensor:
    """``torch.linalg.solve``: X with A X = B (``left=False``: X A = B); B a matrix or,
    as PyTorch reads it, a vector (1-d, or A's batch shape plus one dimension)."""
    no_out(out, "solve")
    A, B = as_input(A), as_input(B)
    vector = _is_vector_rhs(A, B)
    if not left:
        if vector:
            raise TensorError("linalg.solve(left=False) needs B as a matrix (..., k, n), not a vector")
        return la.matrix_transpose(la.solve(la.matrix_transpose(A), la.matrix_transpose(B)))
    if vector:
        return la.solve(A, B[..., None])[..., 0]
    return la.solve(A, B)


_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A, B, rcond=None, *, driver: str | None = None) -> linalg_lstsq:
    """``torch.linalg.lstsq``: ``(solution, residuals, rank, singular_values)`` of
    min ‖A X − B‖, as PyTorch's CPU drivers fill them: ``rank`` for all but ``'gels'``,
    ``residuals`` (squared, per column) when m > n for ``'gels'``, and at full rank for
    ``'gelsd'``/``'gelss'``,
    ``singular_values`` for ``'gelsd'``/``'gelss'``; the others are empty. The solution
    differentiates.

    >>> import chainrule as torch
    >>> A = torch.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]); b = torch.tensor([[1.0], [2.0], [4.0]])
    >>> [round(v, 4) for v in torch.linalg.lstsq(A, b).solution.flatten().tolist()]
    [0.8333, 1.5]
    """
    driver = "gelsy" if driver is None else driver
    if driver not in _LSTSQ_DRIVERS:
        raise TensorError(f"linalg.lstsq: driver must be one of {_LSTSQ_DRIVERS}, got {driver!r}")
    A, B = matrix_input(A, "lstsq"), as_input(B)
    if A.dtype != B.dtype:
        raise TensorError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
                          f"{np.dtype(A.dtype).name} and {np.dtype(B.dtype).name}")
    if not 0 <= A.ndim - B.ndim <= 1:
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    # PyTorch's rules: B one dimension short is a batch of vectors when it has A's shape
    # less A's last dimension; otherwise B is a matrix whose dimensions but the last
    # broadcast against A's batch dimensions (an A of shape (1, m, n) and a B of (m, k)
    # give m solutions, each of A[0] against B)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if vector:
        if B.shape[-1] != A.shape[-2]:
            raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-1)")
        B = B[..., None]
    shapes = tuple(A.shape[:-2]), tuple(B.shape[:-1 if B.ndim < A.ndim else -2])
    try:
        batch = np.broadcast_shapes(*shapes)
    except ValueError as error:
        raise eager_error("linalg.lstsq", error, [np.broadcast_to(0.0, s) for s in shapes]) from None
    m, n = A.shape[-2:]
    own = tuple(A.shape[:-2])  # rank and singular values are A's own, of its batch shape
    A = cnp.broadcast_to(A, batch + (m, n))
    B = cnp.broadcast_to(B, batch + tuple(B.shape[-2:]))
    lead = len(batch) - len(own)
    mine = (0,) * lead + tuple(slice(None) if a == b else slice(0, 1) for a, b in zip(own, batch[lead:], strict=True))
    solutions, ranks = [], []
    for index in np.ndindex(*batch):
        x, _, rank, _ = la.lstsq(A[index], B[index], rcond=rcond)
        solutions.append(x)
        ranks.append(rank if isinstance(rank, Tensor) else int(rank))  # under vmap, each example's
    k = B.shape[-1]
    solution = cnp.reshape(cnp.stack(solutions), batch + (n, k)) if solutions else cnp.zeros(batch + (n, k), A.dtype)
    if vector:
        solution = solution[..., 0]
    empty = constant(np.zeros(0), like=A)
    residuals = empty
    if driver != "gelsy" and m > n and (driver == "gels" or all(r == n for r in ranks)):
        r = cnp.matmul(A, solution[..., None] if vector else solution) - B
        residuals = cnp.sum(cnp.abs(r) ** 2, axis=-2)  # a vector B keeps its one column here
    if driver == "gels":
        rank = constant(np.zeros(0, np.int64))
    elif any(isinstance(r, Tensor) for r in ranks):
        rank = cnp.astype(cnp.reshape(cnp.stack(ranks), batch), np.int64)[mine]
    else:
        rank = constant(np.asarray(ranks, dtype=np.int64).reshape(batch)[mine])
    singular = empty
    if driver in ("gelsd", "gelss"):
        singular = constant(np.linalg.svd(np.asarray(A.detach())[mine], compute_uv=False), like=A)
    return linalg_lstsq(solution, residuals, rank, singular)


def cholesky(A, *, upper: bool = False, out=None) -> Tensor:
    """``torch.linalg.cholesky``: L with A = L Lᴴ (``upper=True``: U with A = Uᴴ U)."""
    no_out(out, "cholesky")
    return la.cholesky(as_input(A), upper=upper)


def qr(A, mode: str = "reduced", *, out=None) -> linalg_qr:
    """``torch.linalg.qr``: ``(Q, R)``; ``mode`` 'reduced', 'complete' or 'r' (Q empty)."""
    no_out(out, "qr")
    A = matrix_input(A, "qr")
    if mode not in ("reduced", "complete", "r"):
        raise TensorError(f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    if mode == "r":
        return linalg_qr(constant(np.zeros(0), like=A), la.qr(A, mode="r"))
    Q, R = la.qr(A, mode=mode)
    return linalg_qr(Q, R)


def svd(A, full_matrices: bool = True, *, driver=None, out=None) -> linalg_svd:
    """``torch.linalg.svd``: ``(U, S, Vh)`` with A = U diag(S) Vh."""
    no_out(out, "svd")
    U, S, Vh = la.svd(matrix_input(A, "svd"), full_matrices=full_matrices)
    return linalg_svd(U, S, Vh)


def svdvals(A, *, driver=None, out=None) -> Tensor:
    """``torch.linalg.svdvals``: the singular values, largest first."""
    no_out(out, "svdvals")
    return la.svdvals(matrix_input(A, "svdvals"))


def eigh(A, UPLO: str = "L", *, out=None) -> linalg_eigh:
    """``torch.linalg.eigh``: ``(eigenvalues, eigenvectors)`` of a symmetric (Hermitian)
    matrix read from its ``UPLO`` triangle, eigenvalues ascending."""
    no_out(out, "eigh")
    w, v = la.eigh(as_input(A), UPLO=UPLO)
    return linalg_eigh(w, v)


def eigvalsh(A, UPLO: str = "L", *, out=None) -> Tensor:
    """``torch.linalg.eigvalsh``: the eigenvalues of a symmetric matrix, ascending."""
    no_out(out, "eigvalsh")
    return la.eigvalsh(as_input(A), UPLO=UPLO)


def eig(A, *, out=None) -> linalg_eig:
    """``torch.linalg.eig``: complex ``(eigenvalues, eigenvectors)`` of a square matrix."""
    no_out(out, "eig")
    w, v = la.eig(as_input(A))
    return linalg_eig(w, v)


def eigvals(A, *, out=None) -> Tensor:
    """``torch.linalg.eigvals``: the complex eigenvalues."""
    no_out(out, "eigvals")
    return la.eigvals(as_input(A))


def matrix_power(A, n: int, *, out=None) -> Tensor:
    """``torch.linalg.matrix_power``: A to the integer power ``n`` (negative: of A⁻¹)."""
    no_out(out, "matrix_power")
    A = as_input(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:  # PyTorch's RuntimeError (NumPy's LinAlgError)
        raise TensorError(f"linalg.matrix_power: A must be batches of square matrices (at least 2 dimensions, the "
                          f"last two equal), got shape {tuple(A.shape)}")
    result = la.matrix_power(A, n)
    if isinstance(result, Tensor):
        return result
    # n = 0: the identity, on A's graph with derivative 0, as PyTorch's
    return cnp.where(np.ones(A.shape, bool), result.astype(A.dtype), A)


def matrix_rank(A, tol=None, hermitian: bool = False, *, atol=None, rtol=None, out=None) -> Tensor:
    """``torch.linalg.matrix_rank``: the number of singular values above
    ``max(atol, rtol * largest)`` (rtol eps·max(m, n) unless atol > 0 is given), int64;
    PyTorch's deprecated positional ``tol`` is ``atol`` with ``rtol`` 0."""
    no_out(out, "matrix_rank")
    A = matrix_input(A, "matrix_rank")
    if tol is not None:
        atol, rtol = np.asarray(undifferentiated(tol)), 0.0
    a = np.asarray(A.detach())
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
    eps = _eps(A)
    if rtol is None:
        rtol = 0.0 if atol is not None and np.any(np.asarray(atol) > 0) else eps * max(a.shape[-2:])
    atol = 0.0 if atol is None else atol
    smax = s.max(axis=-1, keepdims=True, initial=0.0)
    tol = np.maximum(np.asarray(atol)[..., None], rtol * smax)
    return constant((s > tol).sum(axis=-1).astype(np.int64))


def cross(input, other, *, dim: int = -1, out=None) -> Tensor:
    """``torch.linalg.cross``: the cross product of 3-vectors along ``dim``."""
    no_out(out, "cross")
    x, y = cross_operands(as_input(input), as_input(other))
    return la.cross(x, y, axis=dim)


def multi_dot(tensors, *, out=None) -> Tensor:
    """``torch.linalg.multi_dot``: the product of the matrices, in the cheapest order."""
    no_out(out, "multi_dot")
    return la.multi_dot([as_input(t) for t in tensors])


def vecdot(x, y, *, dim: int = -1, out=None) -> Tensor:
    """``torch.linalg.vecdot``: Σ conj(x)·y along ``dim``."""
    no_out(out, "vecdot")
    x, y = as_input(x), as_input(y)
    if np.dtype(x.dtype) != np.dtype(y.dtype):
        raise TensorError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type {x.dtype} and "
                          f"y of type {y.dtype} instead; convert one with .to(other.dtype)")
    if np.dtype(x.dtype).kind not in "fc":
        raise TensorError(f"linalg.vecdot: Expected a floating point or complex tensor as input. Got {x.dtype}; "
                          "convert with .float() or .double()")
    return cnp.sum(cnp.conj(x) * y, axis=dim)


def solve_triangular(A, B, *, upper: bool, left: bool = True, unitriangular: bool = False, out=None) -> Tensor:
    """``torch.linalg.solve_triangular``: X with A X = B (``left=False``: X A = B), A read
    from its ``upper`` or lower triangle (ones on the diagonal if ``unitriangular``); the
    other triangle gets no gradient, as in PyTorch.

    >>> import chainrule as torch
    >>> torch.linalg.solve_triangular(torch.tensor([[2.0, 1.0], [0.0, 4.0]]), torch.tensor([[3.0], [4.0]]),
    ...                               upper=True).flatten().tolist()
    [1.0, 1.0]
    """
    no_out(out, "solve_triangular")
    A, B = as_input(A), as_input(B)
    at_least_2d("linalg.solve_triangular", A=A, B=B)
    T = cnp.triu(A, 1 if unitriangular else 0) if upper else cnp.tril(A, -1 if unitriangular else 0)
    if unitriangular:
        T = T + cnp.eye(A.shape[-1], dtype=A.dtype)
    if left:
        return la.solve(T, B)
    return la.matrix_transpose(la.solve(la.matrix_transpose(T), la.matrix_transpose(B)))


def _scipy_rule(name: str, user: str):
    """A differentiable rule of chainrule.scipy.linalg (SciPy is an optional extra)."""
    try:
        return getattr(importlib.import_module("chainrule.scipy.linalg"), name)
    except ImportError as error:
        raise ImportError(f"linalg.{user} uses SciPy's {name}: pip install scipy") from error


def _each_matrix(f, A: Tensor) -> list:
    """``f`` of each matrix of ``A`` (its leading dims flattened): a list of results."""
    flat = cnp.reshape(A, (-1,) + tuple(A.shape[-2:]))
    return [f(flat[i]) for i in range(flat.shape[0])]


def matrix_exp(A) -> Tensor:
    """``torch.linalg.matrix_exp``: the matrix exponential (``scipy.linalg.expm``'s
    primitive, so it needs SciPy) of each matrix."""
    expm = _scipy_rule("expm", "matrix_exp")
    A = as_input(A)
    if A.ndim < 2:
        raise TensorError(f"linalg.matrix_exp: The input tensor A must have at least 2 dimensions, got {A.ndim}")
    if A.ndim == 2:
        return expm(A)
    return cnp.reshape(cnp.stack(_each_matrix(expm, A)), tuple(A.shape))


def _lu_factor(A, pivot: bool, name: str) -> linalg_lu_factor:
    if not pivot:
        raise NotImplementedError(f"linalg.{name}(pivot=False) is not supported: LAPACK's LU pivots")
    A = as_input(A)
    if A.ndim < 2:
        where = "linalg.lu" if name == "lu" else "torch.lu_factor"
        raise RuntimeError(f"{where}: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} instead")
    if A.dtype.kind not in "fc":
        raise NotImplementedError(f'"lu_cpu" not implemented for \'{A.dtype}\': convert the input with .double()')
    with warnings.catch_warnings():  # SciPy's warning of a singular matrix: PyTorch's lu has none
        warnings.simplefilter("ignore", RuntimeWarning)
        factor = _scipy_rule("lu_factor", name)
        factors = _each_matrix(lambda m: factor(m, check_finite=False), A)  # NaN factors to NaN, as PyTorch's
    LU = cnp.reshape(cnp.stack([f[0] for f in factors]), tuple(A.shape))
    pivots = cnp.reshape(cnp.stack([f[1] for f in factors]), tuple(A.shape[:-2]) + (min(A.shape[-2:]),))
    pivots = cnp.astype(pivots + 1, np.int32)
    known = undifferentiated(pivots)  # under vmap a batch of pivots, as they are
    return linalg_lu_factor(LU, constant(known) if isinstance(known, np.ndarray) else pivots)


def lu_factor(A, *, pivot: bool = True, out=None) -> linalg_lu_factor:
    """``torch.linalg.lu_factor``: ``(LU, pivots)`` of each m × n matrix, A = P L U with L
    (unit diagonal) below the diagonal of LU and U on and above it; the pivots are LAPACK's,
    counted from 1, int32 (PyTorch's). Differentiable in LU (SciPy's LU rules). A zero on
    U's diagonal (a singular matrix) is refused, as PyTorch refuses it; ``linalg.lu`` gives it."""
    no_out(out, "lu_factor")
    factors = _lu_factor(A, pivot, "lu_factor")
    LU = undifferentiated(factors.LU)  # under vmap a batch, whose examples are not looked into
    zero = np.argwhere(np.diagonal(LU, axis1=-2, axis2=-1) == 0) if isinstance(LU, np.ndarray) else ()
    if len(zero):
        i = int(zero[0][-1]) + 1
        raise RuntimeError(f"torch.linalg.lu_factor: U[{i},{i}] is zero and using it on lu_solve would result in "
                           "a division by zero. If you still want to perform the factorization, consider "
                           "calling linalg.lu(A, pivot)")
    return factors


def lu_unpack(LU_data, LU_pivots, unpack_data: bool = True, unpack_pivots: bool = True, *,
              out=None) -> lu_unpack_result:
    """``torch.lu_unpack``: ``(P, L, U)`` from ``lu_factor``'s result, A = P L U;
    differentiable in ``LU_data``. Empty tensors for the parts not asked for (PyTorch's)."""
    no_out(out, "lu_unpack")
    for position, (what, value) in enumerate((("LU_data", LU_data), ("LU_pivots", LU_pivots)), 1):
        check_tensor_argument(value, "lu_unpack", what, position)
    for position, (what, value) in enumerate((("unpack_data", unpack_data), ("unpack_pivots", unpack_pivots)), 3):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"lu_unpack(): argument '{what}' (position {position}) must be bool, not "
                            f"{type(value).__name__}")
    LU = as_input(LU_data)
    if LU.ndim < 2:
        raise RuntimeError(f"torch.lu_unpack: Expected tensor with 2 or more dimensions. Got size: {list(LU.shape)} "
                           "instead")
    if LU_pivots.dtype != np.int32:
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype.\n"
                           "Note: this function is intended to be used with the output produced by "
                           "torch.linalg.lu_factor")
    m, n = LU.shape[-2:]
    k = min(m, n)
    empty = constant(np.zeros(0), like=LU)
    L = U = P = empty
    if unpack_data:
        # LU's entries below the diagonal as they are (-0.0 stays -0.0), ones on it
        L = cnp.where(np.tril(np.ones((m, k), bool), -1), LU[..., :, :k], cnp.eye(m, k, dtype=LU.dtype))
        U = cnp.triu(LU)[..., :k, :]
    if unpack_pivots:
        pivots = np.asarray(LU_pivots.numpy() if isinstance(LU_pivots, Tensor) else LU_pivots) - 1
        rows = np.tile(np.arange(m), (pivots.size // max(pivots.shape[-1], 1), 1))
        for order, swaps in zip(rows, pivots.reshape(len(rows), -1), strict=True):
            for i, j in enumerate(swaps):  # LAPACK's interchanges in turn: A[order] = Pᵀ A
                order[[i, j]] = order[[j, i]]
        rows = rows.reshape(pivots.shape[:-1] + (m,))
        P = constant(np.swapaxes(np.eye(m)[rows], -1, -2), like=LU)
    return lu_unpack_result(P, L, U)


def lu(A, *, pivot: bool = True, out=None) -> linalg_lu:
    """``torch.linalg.lu``: ``(P, L, U)`` with A = P L U of each m × n matrix, L m × k and
    U k × n for k = min(m, n); differentiable in L and U (of a matrix of full rank)."""
    no_out(out, "lu")
    factors = _lu_factor(A, pivot, "lu")
    if isinstance(factors.pivots, Tensor) and factors.pivots._trace is EAGER:
        return linalg_lu(*lu_unpack(*factors))
    A = as_input(A)  # under vmap, whose pivots are a batch: SciPy's (P, L, U) of each matrix, which maps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        each = _each_matrix(_scipy_rule("lu", "lu"), A)
    return linalg_lu(*(cnp.reshape(cnp.stack([f[k] for f in each]), tuple(A.shape[:-2]) + tuple(each[0][k].shape))
                       for k in range(3)))


def lu_solve(LU, pivots, B, *, left: bool = True, adjoint: bool = False, out=None) -> Tensor:
    """``torch.linalg.lu_solve``: X with A X = B (``left=False``: X A = B; ``adjoint``: Aᴴ
    for A) from ``lu_factor``'s result; differentiable in LU and B."""
    no_out(out, "lu_solve")
    for position, (what, value) in enumerate((("LU", LU), ("pivots", pivots), ("B", B)), 1):
        check_tensor_argument(value, "linalg_lu_solve", what, position)
    P, L, U = lu_unpack(LU, pivots)
    B = as_input(B)
    A = cnp.matmul(P, cnp.matmul(L, U))
    A = la.matrix_transpose(cnp.conj(A)) if adjoint else A
    if left:
        return la.solve(A, B)
    return la.matrix_transpose(la.solve(la.matrix_transpose(A), la.matrix_transpose(B)))


def diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """``torch.linalg.diagonal``: the diagonals over ``dim1``, ``dim2``, as the last dim."""
    A = as_input(A)
    n = max(A.ndim, 1)
    for d in (dim1, dim2):
        if not -n <= d < n:
            raise IndexError(f"linalg.diagonal: Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                             f"but got {d}); give a Tensor of at least 2 dimensions")
    return cnp.diagonal(A, offset=offset, axis1=dim1, axis2=dim2)


def cond(A, p=None, *, out=None) -> Tensor:
    """``torch.linalg.cond``: the condition number in the ``p``-norm (2 when None)."""
    no_out(out, "cond")
    A = matrix_input(A, "cond")
    if not any(p is q or isinstance(p, int | float) and p == q for q in _COND_ORDERS):
        raise TensorError(f"linalg.cond got an invalid norm type: {p}; give None, 2, -2, 1, -1, inf, -inf, 'fro' or "
                          "'nuc'")
    if p not in (None, 2, -2) and A.shape[-1] != A.shape[-2]:
        raise TensorError(f"linalg.cond(ord={p}): A must be batches of square matrices, but they are "
                          f"{A.shape[-2]} by {A.shape[-1]} matrices")
    return la.cond(A, p)


_COND_ORDERS = (None, 2, -2, 1, -1, math.inf, -math.inf, "fro", "nuc")


def vander(x, *, N: int | None = None) -> Tensor:
    """``torch.linalg.vander``: columns x⁰, x¹, …, x^(N−1) (increasing powers)."""
    x = as_input(x)
    if x.dtype == np.bool_:
        raise TensorError("linalg.vander supports floating point, complex, and integer tensors, but got Bool; convert "
                          "with .int() or .float()")
    N = (x.shape[-1] if x.ndim else 0) if N is None else N
    if N <= 1:
        raise TensorError(f"linalg.vander: N must be greater than 1, got {N}; give N= or more than one value in x")
    return powers(x, N)


def powers(x: Tensor, N: int) -> Tensor:
    """The columns x⁰, x¹, …, x^(N−1) of a Vandermonde matrix (torch.vander's, unchecked)."""
    if N:
        return cnp.stack([x ** k for k in range(N)], axis=-1)
    return cnp.zeros(tuple(x.shape) + (0,), np.int64 if x.dtype == np.bool_ else x.dtype)  # (bool: as x ** 0)


def tensorinv(A, ind: int = 2, *, out=None) -> Tensor:
    """``torch.linalg.tensorinv``: the inverse with respect to ``tensordot`` over ``ind`` dims."""
    no_out(out, "tensorinv")
    A = as_input(A)
    if not 0 < ind <= A.ndim:
        raise TensorError(f"linalg.tensorinv: ind must be between 1 and the number of dimensions of A ({A.ndim}), "
                          f"got {ind}")
    return la.tensorinv(A, ind=ind)


def tensorsolve(A, B, dims=None, *, out=None) -> Tensor:
    """``torch.linalg.tensorsolve``: X with ``tensordot(A, X, X.ndim) = B``."""
    no_out(out, "tensorsolve")
    return la.tensorsolve(as_input(A), as_input(B), axes=dims)
