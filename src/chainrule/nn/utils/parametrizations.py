"""``nn.utils.parametrizations``, PyTorch's: ``weight_norm``, ``spectral_norm`` and
``orthogonal`` as parametrizations (:mod:`chainrule.nn.utils.parametrize`), with PyTorch's
state-dict keys (``parametrizations.weight.original0`` the magnitude and ``original1`` the
direction of weight norm; ``parametrizations.weight.original`` and the power method's
vectors ``parametrizations.weight.0._u`` and ``._v`` of spectral norm; the trivialisation's
``parametrizations.weight.0.base`` of orthogonal).

>>> from chainrule import nn
>>> m = weight_norm(nn.Linear(20, 40))
>>> sorted(m.state_dict()), type(m).__name__
(['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1'], 'ParametrizedLinear')
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.eager import EAGER
from chainrule.core.grad_mode import no_grad
from chainrule.core.rng import get_generator
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain
from chainrule.nn._composed import normalize
from chainrule.nn.module import Module
from chainrule.nn.utils import parametrize
from chainrule.nn.utils.spectral_norm import default_dim, random_unit, weight_matrix, write
from chainrule.nn.utils.weight_norm import norm_except_dim, weight_from_norm
from chainrule.numpy.torch_linalg import matrix_exp

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


class _WeightNorm(Module):
    """g · v / ‖v‖, the norm over every axis but ``dim`` (-1: the whole tensor)."""

    def __init__(self, dim: int | None = 0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_from_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight-normalise ``module.<name>`` as a parametrization, as PyTorch's
    ``torch.nn.utils.parametrizations.weight_norm``; ``parametrize.remove_parametrizations``
    undoes it. Returns ``module``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def old_keys(m, state_dict, prefix, *_):  # a state dict of the older nn.utils.weight_norm loads too
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module.register_load_state_dict_pre_hook(old_keys)
    return module


class _SpectralNorm(Module):
    """``weight`` / σ, σ the power method's estimate of its largest singular value (a
    vector: divided by its norm); in training mode each call runs ``n_power_iterations``
    steps of the method on the buffers ``_u`` and ``_v`` first."""

    def __init__(self, weight, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            h, w = weight_matrix(weight.detach(), self.dim).shape
            self.register_buffer("_u", random_unit(h, weight.dtype, eps))
            self.register_buffer("_v", random_unit(w, weight.dtype, eps))
            self._power_method(weight_matrix(weight.detach(), self.dim), 15)

    def _power_method(self, weight_mat, n_power_iterations: int) -> None:
        w = undifferentiated(weight_mat)
        with no_grad():
            u, v = self._u, self._v
            for _ in range(n_power_iterations):
                u = normalize(cnp.matmul(w, v), dim=0, eps=self.eps)
                v = normalize(cnp.matmul(cnp.conj(w).T, u), dim=0, eps=self.eps)
            write(self._u, u)
            write(self._v, v)

    def forward(self, weight):
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        weight_mat = weight_matrix(weight, self.dim)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u, v = undifferentiated(self._u), undifferentiated(self._v)
        sigma = cnp.vdot(u, cnp.matmul(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Spectrally normalise ``module.<name>`` as a parametrization, as PyTorch's
    ``torch.nn.utils.parametrizations.spectral_norm`` (``dim``: by default 0, 1 for a
    transposed convolution). Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = default_dim(module)
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# -- orthogonal ---------------------------------------------------------------------------------
_MAPS = ("matrix_exp", "cayley", "householder")


def _householder_product(a, tau):
    """H₀ H₁ … H_{k−1} of the (..., n, k) reflectors ``a`` (strictly below the diagonal;
    the unit diagonal implied) with factors ``tau``, its first k columns (LAPACK's orgqr,
    PyTorch's ``linalg.householder_product``), composed so that it differentiates."""
    n, k = a.shape[-2], a.shape[-1]
    q = np.eye(n, k, dtype=a.dtype)
    for i in reversed(range(k)):
        v = a[..., :, i:i + 1] + np.eye(n, 1, -i, dtype=a.dtype)  # (..., n, 1)
        q = q - (tau[..., i:i + 1, None] * v) * cnp.matmul(cnp.swapaxes(v, -1, -2), q)
    return q


def _is_orthogonal(q) -> bool:
    n, k = q.shape[-2], q.shape[-1]
    eps = 10.0 * n * np.finfo(q.dtype).eps
    return bool(np.allclose(np.swapaxes(q, -1, -2).conj() @ q, np.eye(k, dtype=q.dtype), rtol=1e-5, atol=eps))


def _make_orthogonal(a):
    """The Q of a = QR with diag(R) ≥ 0."""
    q, r = np.linalg.qr(a)
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


class _Orthogonal(Module):
    """A matrix (or a batch) with orthonormal columns (rows, if wide): the matrix
    exponential or the Cayley transform of a skew-symmetric matrix, or a product of
    Householder reflections, of the original; with the trivialisation, times ``base``."""

    def __init__(self, weight, orthogonal_map: str, *, use_trivialization: bool = True):
        super().__init__()
        if np.iscomplexobj(plain(weight)) and orthogonal_map == "householder":
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = cnp.swapaxes(X, -1, -2)
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = cnp.tril(X)
            if n != k:
                X = cnp.concatenate([X, cnp.zeros((*X.shape[:-2], n, n - k), dtype=X.dtype)], axis=-1)
            A = X - cnp.conj(cnp.swapaxes(X, -1, -2))
            if self.orthogonal_map == "matrix_exp":
                Q = matrix_exp(A)
            else:
                eye = np.eye(n, dtype=A.dtype)
                Q = cnp.linalg.solve(eye - 0.5 * A, eye + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = cnp.tril(X, -1)
            tau = 2.0 / (1.0 + cnp.sum(A * A, axis=-2))
            Q = _householder_product(A, tau)
            # the diagonal's signs, as integers (PyTorch's .int(): no gradient)
            Q = Q * cnp.trunc(undifferentiated(cnp.diagonal(X, axis1=-2, axis2=-1)))[..., None, :]
        if "base" in self._buffers:
            Q = cnp.matmul(self.base, Q)
        return cnp.swapaxes(Q, -1, -2) if transposed else Q

    def right_inverse(self, Q):
        if tuple(Q.shape) != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {tuple(Q.shape)}.")
        q = np.array(plain(undifferentiated(Q)))
        init = q
        n, k = q.shape[-2], q.shape[-1]
        transpose = n < k
        if transpose:
            q = np.swapaxes(q, -1, -2)
            n, k = k, n
        if "base" not in self._buffers:
            if self.orthogonal_map in ("matrix_exp", "cayley"):
                raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                          "parametrizations when use_trivialization=False.")
            flat = q.reshape(-1, n, k)
            out = np.empty_like(flat)
            for i, m in enumerate(flat):
                h, tau = np.linalg.qr(m, mode="raw")  # LAPACK's geqrf, transposed
                a = h.T.copy()
                d = np.sign(np.diagonal(a)).copy()
                d[tau == 0.0] *= -1
                np.fill_diagonal(a, d)
                out[i] = a
            a = out.reshape(q.shape)
            return Tensor(np.swapaxes(a, -1, -2).copy() if transpose else a, EAGER)
        if n == k:
            q = q.copy() if _is_orthogonal(q) else _make_orthogonal(q)
        else:
            fill = get_generator(None).standard_normal((*q.shape[:-2], n, n - k)).astype(q.dtype)
            q = _make_orthogonal(np.concatenate([q, fill], axis=-1))
        self.base = Tensor(q, EAGER)
        neg_id = np.zeros_like(init)
        idx = np.arange(min(init.shape[-2:]))
        neg_id[..., idx, idx] = -1.0
        return Tensor(neg_id, EAGER)


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Make ``module.<name>`` a matrix (or a batch) with orthonormal columns, or rows where
    it is wide, as PyTorch's ``torch.nn.utils.parametrizations.orthogonal``:
    ``orthogonal_map`` 'matrix_exp' (the default for a square matrix), 'cayley' or
    'householder' (the default otherwise); with ``use_trivialization`` the map's value
    multiplies ``base``, the initial weight made orthogonal (completed by random columns
    where it is not square). Returns ``module``.

    >>> from chainrule import nn
    >>> m = orthogonal(nn.Linear(3, 3))
    >>> w = m.weight.detach().numpy(); bool(np.allclose(w.T @ w, np.eye(3), atol=1e-5))
    True
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square or np.iscomplexobj(plain(weight)) else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module
