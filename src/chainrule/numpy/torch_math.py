"""More of PyTorch's Tensor methods, each a mirror function under PyTorch's name and
argument names: ``atan2``, ``hypot``, ``logaddexp``, ``remainder``, ``fmod``,
``floor_divide``, ``fmax``/``fmin``, ``exp2``, ``asinh``/``acosh``/``atanh``, ``sinc``,
``deg2rad``/``rad2deg``, ``heaviside``, ``angle``, ``diag``, ``kron``,
``cross``, ``diff``, ``cummax``/``cummin``, ``repeat_interleave``, ``broadcast_to``,
``moveaxis``, ``addmm``, ``dist``, ``nanmean``, ``isclose``, ``logical_xor`` and
``count_nonzero``. Being the mirror's functions, each differentiates and batches.

>>> import chainrule as cr
>>> x = cr.tensor([3.0, -7.5], requires_grad=True)
>>> x.remainder(2.0).tolist(), x.fmod(2.0).tolist()   # sign of the divisor / of x
([1.0, 0.5], [1.0, -1.5])
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import default_float_dtype
from chainrule.core.errors import TensorError
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.trace import named_as_torch
from chainrule.numpy.nondiff import anywhere
from chainrule.numpy.torch_common import (
    as_eager,
    check_ndims,
    checked_divisor,
    floating_only,
    is_eager,
    pytorchs,
    reduced_axes,
    same_dtype,
    scalar_dims,
    values_indices,
)
from chainrule.numpy.torch_common import remainder as torch_remainder
from chainrule.numpy.torch_linalg import cross_operands, pytorch_vector_norm
from chainrule.numpy.torch_promotion import promoted_operands

__all__ = ["TorchMathMethods"]


def _binary(fun):
    def method(self, other):
        return fun(self, other)
    return method


def _unary(fun):
    def method(self):
        return fun(self)
    return method


def _fminmax(prefer):
    """fmax/fmin, PyTorch's way: NaN loses to a number, and at a tie all of the
    derivative goes to ``self`` (NumPy's rule splits it)."""
    def method(self, other):
        if is_eager(self):  # (cnp.where promotes as NumPy)
            self, other = promoted_operands(self, other)
        a, b = undifferentiated(self), undifferentiated(other)
        return cnp.where(cnp.logical_or(prefer(a, b), cnp.isnan(b)), self, other)
    return method


def _cumulative(ufunc):
    """cummax/cummin: the running extreme along ``dim`` and the index where it was
    reached (the latest of equal values, as PyTorch), the gradient to that element; from a
    NaN on, NaN, its index the latest NaN's (PyTorch's)."""
    def method(self, dim: int):
        key = cnp.moveaxis(undifferentiated(self), dim, -1)
        # where the running extreme is (re)reached, or a NaN takes over
        hit = cnp.logical_or(cnp.equal(key, ufunc.accumulate(key, axis=-1)), cnp.isnan(key))
        positions = cnp.where(hit, np.arange(key.shape[-1]), 0)
        idx = as_eager(self, cnp.moveaxis(cnp.maximum.accumulate(positions, axis=-1), -1, dim))
        return values_indices(cnp.take_along_axis(self, idx, axis=dim), idx)
    return scalar_dims()(method)


def _same_dtype_as(x, other) -> None:
    """PyTorch's refusal of isclose/allclose of Tensors of two dtypes."""
    if isinstance(other, Tensor) and other.dtype != x.dtype:
        raise TensorError(f"{np.dtype(x.dtype).name} did not match {np.dtype(other.dtype).name}: isclose and allclose "
                          "compare Tensors of one dtype; convert one with .to()")


def _at_origin(x, other):
    """Where both ``x`` and ``other`` are 0 (a mask, of their broadcast shape)."""
    return (undifferentiated(x) == 0) & (undifferentiated(other) == 0)  # (batched under vmap too)


class TorchMathMethods:
    """Set on Tensor with the other PyTorch methods (:mod:`chainrule.numpy.torch_methods`)."""

    def atan2(self, other):
        """atan2(self, other), the angle of (other, self); on an eager Tensor its derivatives
        at (0, 0) are 0, PyTorch's (NumPy's mirror gives NaN there, as JAX's and autograd's)."""
        if not pytorchs(self):
            return cnp.arctan2(self, other)
        origin = _at_origin(self, other)
        if not anywhere(origin):
            return cnp.arctan2(self, other)
        # the angle at the origin (±0 or ±π, by the zeros' signs) as a constant
        return cnp.where(origin, cnp.arctan2(undifferentiated(self), undifferentiated(other)),
                         cnp.arctan2(cnp.where(origin, 1.0, self), other))
    arctan2 = atan2

    def hypot(self, other):
        """sqrt(self² + other²) without overflow; on an eager Tensor its derivatives at (0, 0)
        are NaN, PyTorch's (NumPy's mirror gives 0 there, the 2-norm's at 0)."""
        if not pytorchs(self):
            return cnp.hypot(self, other)
        origin = _at_origin(self, other)
        if not anywhere(origin):
            return cnp.hypot(self, other)
        # sqrt(x² + y²) at the origin: its derivative there is 2x / (2 sqrt(0)) = 0 / 0
        squares = cnp.where(origin, self, 0.0) ** 2
        if isinstance(other, Tensor):
            squares = squares + cnp.where(origin, other, 0.0) ** 2
        return cnp.where(origin, cnp.sqrt(squares), cnp.hypot(self, other))
    logaddexp = _binary(cnp.logaddexp)
    def remainder(self, other):
        return torch_remainder(self, other)

    def fmod(self, other):
        return cnp.fmod(self, checked_divisor(self, other, "fmod"))

    def floor_divide(self, other):
        return self // other  # an eager Tensor, as the operator's
    fmax = _fminmax(cnp.greater_equal)
    fmin = _fminmax(cnp.less_equal)
    kron = _binary(cnp.kron)
    exp2 = _unary(cnp.exp2)
    asinh = arcsinh = _unary(cnp.arcsinh)
    acosh = arccosh = _unary(cnp.arccosh)
    atanh = arctanh = _unary(cnp.arctanh)
    sinc = _unary(cnp.sinc)
    deg2rad = _unary(cnp.deg2rad)
    rad2deg = _unary(cnp.rad2deg)
    cummax = _cumulative(cnp.maximum)
    cummin = _cumulative(cnp.minimum)

    def angle(self):
        """The argument of each complex value; of a real one π below 0 (not at -0.0), NaN at
        NaN and 0 elsewhere, with derivative 0, as PyTorch's (NumPy's is π at -0.0)."""
        if self.dtype.kind == "c":
            return cnp.angle(self)
        x = self if self.dtype.kind == "f" else cnp.astype(self, default_float_dtype())
        v = undifferentiated(x)
        value = cnp.astype(cnp.where(cnp.isnan(v), v, cnp.where(v < 0, np.pi, 0.0)), x.dtype)
        return cnp.where(True, value, x)  # on x's graph, derivative 0

    def heaviside(self, values):
        """In the Tensor's dtype (NumPy's is floating), ``values`` of that dtype, as PyTorch requires."""
        if isinstance(values, Tensor) and values.dtype != self.dtype:
            raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
        return as_eager(self, cnp.astype(cnp.heaviside(undifferentiated(self), values), self.dtype))

    def diag(self, diagonal: int = 0):
        return cnp.diag(self, diagonal)

    def cross(self, other, dim: int | None = None):
        """The cross product along ``dim`` (PyTorch's default: the first axis of length 3)."""
        if is_eager(self) and isinstance(other, Tensor):
            cross_operands(self, other)
        if dim is None:
            dim = next((k for k, n in enumerate(np.broadcast_shapes(self.shape, np.shape(other))) if n == 3), None)
            if dim is None:
                raise TensorError("cross: no axis of length 3; pass dim=")
        return cnp.cross(self, other, axis=dim)

    def diff(self, n: int = 1, dim: int = -1, prepend=None, append=None):
        kwargs = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not None}
        return cnp.diff(self, n, axis=dim, **kwargs)

    def repeat_interleave(self, repeats, dim: int | None = None, *, output_size: int | None = None):
        if dim is not None and self.ndim == 0:  # (NumPy's repeat reads a 0-d array as 1-d)
            raise IndexError(f"repeat_interleave: dim {dim} given but the Tensor is 0-d and has no dimensions; "
                             f"leave dim out to repeat its one element")
        return cnp.repeat(self, undifferentiated(repeats), axis=dim)

    def broadcast_to(self, size):
        size = (size,) if isinstance(size, int) else tuple(size)
        if is_eager(self):  # PyTorch's RuntimeError (NumPy's ValueError)
            try:
                np.broadcast_shapes(tuple(self.shape), size)
            except ValueError:
                raise TensorError(f"broadcast_to: the shape {tuple(self.shape)} cannot be expanded to {size}") from None
            if len(size) < self.ndim or np.broadcast_shapes(tuple(self.shape), size) != size:
                raise TensorError(f"broadcast_to: the shape {tuple(self.shape)} cannot be expanded to {size}")
        return cnp.broadcast_to(self, size)

    def moveaxis(self, source, destination):
        return cnp.moveaxis(self, source, destination)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        """beta · self + alpha · (mat1 @ mat2); with beta 0, self is ignored (its NaN and
        inf do not reach the result), as PyTorch's."""
        same_dtype("addmm", self, mat1, mat2)
        product = cnp.matmul(mat1, mat2)
        product = product if alpha == 1 else alpha * product
        out = product if beta == 0 else (self if beta == 1 else beta * self) + product
        return named_as_torch(out, "AddmmBackward0" if self.ndim < 3 and mat1.ndim == 2 else "BaddbmmBackward0")

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        """beta · self + alpha · (batch1 @ batch2), batch by batch (Bloom's and Falcon's
        ``alibi.baddbmm(batch1=q, batch2=k, beta=..., alpha=...)``); self ignored with beta 0."""
        check_ndims("baddbmm", (batch1, "batch1", 3), (batch2, "batch2", 3))
        return TorchMathMethods.addmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def dist(self, other, p: float = 2):
        difference = self - other
        floating_only(difference, None, "dist: norm(): input dtype should be either floating point or complex")
        return pytorch_vector_norm(difference, p, axis=None)

    def isclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
        _same_dtype_as(self, other)
        return as_eager(self, cnp.isclose(undifferentiated(self), undifferentiated(other), rtol=rtol, atol=atol,
                                          equal_nan=equal_nan))

    def logical_xor(self, other):
        return as_eager(self, cnp.logical_xor(undifferentiated(self), undifferentiated(other)))

    def count_nonzero(self, dim=None):
        axis = reduced_axes(self, None, dim, "count_nonzero")
        return as_eager(self, cnp.count_nonzero(undifferentiated(self), axis=axis))
