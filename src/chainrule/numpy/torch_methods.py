"""PyTorch's Tensor methods on chainrule's Tensor, written with the mirror (so each
differentiates, to any order, and traces under the transforms).

A Tensor keeps NumPy's ndarray methods with NumPy's meaning (code written for HIPS
autograd's boxes runs unchanged). Where PyTorch gives the same name another meaning,
PyTorch's meaning is taken when the call says so: a PyTorch keyword (``dim=``,
``keepdim=``, ``unbiased=``, ``correction=``, ``descending=``), a call NumPy would
reject (``x.transpose(0, 2)`` on a 3-d Tensor, ``x.flatten(1)``) or, for the calls both
accept with different results (``x.max(1)``, ``x.std()``, ``x.var(0)``, ``x.repeat(2, 1)``,
``x.sort()``, ``x.nonzero()``, ``x.put(index, source)``), an eager Tensor (one of
``chainrule.tensor``, a layer's parameters, or computed from them): the eager layer is
PyTorch's. Inside a transform (``grad``, ``jit``, ``vmap``) those calls keep NumPy's
meaning, except under ``jit`` on values computed from eager Tensor arguments, which the
plain call computes as eager Tensors.

The methods are kept by job: size, type and new Tensors here; shape and indexing in
:mod:`~chainrule.numpy.torch_shape`; reductions and sorting in
:mod:`~chainrule.numpy.torch_reductions`; elementwise, comparison and in-place methods in
:mod:`~chainrule.numpy.torch_elementwise`; other names and short compositions in
:mod:`~chainrule.numpy.torch_aliases`. :class:`TorchTensorMethods` gathers them all.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import as_dtype, check_cpu, to_arguments, type_name
from chainrule.core.eager import EAGER
from chainrule.core.errors import stands_for_jit_argument
from chainrule.core.tensor import Tensor, read_by_chainrule, stands_for_array
from chainrule.core.trace import named_as_torch
from chainrule.core.values import plain
from chainrule.numpy.torch_aliases import TorchAliasMethods
from chainrule.numpy.torch_common import (
    CPU,
    Device,
    Size,
    as_eager,
    as_shape,
    filled_like,
    legacy_value,
    values_indices,
)
from chainrule.numpy.torch_elementwise import TorchElementwiseMethods
from chainrule.numpy.torch_math import TorchMathMethods
from chainrule.numpy.torch_order import TorchOrderMethods
from chainrule.numpy.torch_reductions import TorchReductionMethods
from chainrule.numpy.torch_select import TorchSelectMethods
from chainrule.numpy.torch_shape import TorchShapeMethods
from chainrule.numpy.torch_special import TorchSpecialMethods

__all__ = ["TorchTensorMethods", "torch_members", "values_indices"]


def _new(x, value, dtype=None):
    """A new eager Tensor without gradient, of ``x``'s dtype unless ``dtype`` is given."""
    return Tensor(np.asarray(value, dtype=x.dtype if dtype is None else as_dtype(dtype)), EAGER)



def _new_filled(x, shape, fill_value, dtype, requires_grad):
    """``x.new_full(shape, fill_value)``: of ``x``'s dtype unless ``dtype`` is given."""
    made = filled_like(x, fill_value, None if dtype is None else as_dtype(dtype), shape)
    return made.requires_grad_(requires_grad) if made._trace is EAGER else made


def _cast(x, dtype):
    return x if x.dtype == dtype else as_eager(x, cnp.astype(x, dtype))


# PyTorch's channels-last layouts: the dims from the fastest-varying to the slowest
_CHANNELS_LAST = {"channels_last": (1, 3, 2, 0), "channels_last_3d": (1, 4, 3, 2, 0)}


def _in_layout(x, memory_format):
    """A copy of ``x`` whose values lie in the channels-last layout ``memory_format``, as
    PyTorch's ``x.contiguous(memory_format=...)`` (its strides say so; NumPy's elementwise
    operations keep the layout, as PyTorch's do)."""
    layout = _CHANNELS_LAST[memory_format.name]
    if x.ndim != len(layout):
        raise RuntimeError(f"required rank {len(layout)} tensor to use {memory_format.name} format")
    slowest_first = layout[::-1]
    copied = cnp.copy(cnp.transpose(x, slowest_first), order="C")
    return named_as_torch(cnp.transpose(copied, tuple(np.argsort(slowest_first))), "CloneBackward0")


class TorchTypeMethods:
    """PyTorch's size, type and new-Tensor methods."""

    # -- size and type ---------------------------------------------------------------------
    @property
    def size(self) -> Size | int:
        if stands_for_array(self) and not read_by_chainrule():  # under jit, for a plain array: NumPy's count
            return int(math.prod(self.shape))
        return Size(self.shape)

    def dim(self) -> int:
        return self.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(math.prod(self.shape))

    nelement = numel

    def element_size(self) -> int:
        return self.dtype.itemsize

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def is_complex(self) -> bool:
        return self.dtype.kind == "c"

    def stride(self, dim: int | None = None):
        """PyTorch's strides, counted in elements (NumPy's in bytes), of all dims or of ``dim``."""
        v = np.asarray(self._value) if not isinstance(self._value, Tensor) else np.asarray(self.primal())
        strides = tuple(s // v.itemsize for s in v.strides)
        return strides if dim is None else strides[dim]

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the values lie in C order (a transpose's do not), or, with
        ``memory_format=chainrule.channels_last`` (``channels_last_3d``), in the order of
        PyTorch's channels-last layout of a 4-d (5-d) Tensor: channels fastest, then width,
        height (depth) and batch; read from the strides, as PyTorch's."""
        layout = _CHANNELS_LAST.get(getattr(memory_format, "name", None))
        if layout is None:
            v = self._value
            return not isinstance(v, np.ndarray) or v.flags.c_contiguous
        if self.ndim != len(layout):
            return False
        expected, shape, strides = 1, self.shape, self.stride()
        for d in layout:
            if shape[d] != 1:
                if strides[d] != expected:
                    return False
                expected *= shape[d]
        return True

    @property
    def device(self) -> Device:
        if stands_for_array(self) and not read_by_chainrule():
            return self._value.device  # under jit, for a plain array: NumPy's (the str 'cpu')
        return CPU

    @property
    def grad_fn(self):
        """The graph node that made this Tensor (None for a leaf or without gradient)."""
        if stands_for_jit_argument(self):
            return self._trace.caller_attribute(self, "grad_fn")  # jit's value of an eager Tensor argument
        node = self._node  # (the functional transforms' graphs are tapes, without PyTorch's nodes)
        return node.torch_named() if self._trace is EAGER and node is not None and node.prim is not None else None

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self, device=None) -> bool:
        """False: chainrule's memory is never pinned (there is no accelerator to copy to)."""
        return False

    def is_inference(self) -> bool:
        """Whether this is one of PyTorch's inference Tensors: made inside
        ``inference_mode()`` (a view of one too, but not a view of an ordinary Tensor made
        there). Autograd refuses to save one for the backward pass, and a write into one
        outside inference mode is refused, as in PyTorch."""
        return getattr(self, "_inference", False)

    def data_ptr(self) -> int:
        """The address of the first element (PyTorch's): a view and its base share memory
        where their pointers say so."""
        return np.asarray(plain(self)).__array_interface__["data"][0]

    def storage_offset(self) -> int:
        """PyTorch's offset of the first element in the memory the Tensor shares with its
        base (0 for a Tensor of its own), counted in elements: ``x[1:].storage_offset()``
        of a (3, 4) ``x`` is 4."""
        v = np.asarray(plain(self))
        base = v
        while isinstance(base.base, np.ndarray):
            base = base.base
        start = base.__array_interface__["data"][0]
        return (v.__array_interface__["data"][0] - start) // v.itemsize if v.itemsize else 0

    def contiguous(self, memory_format=None):
        """Itself when C-ordered; otherwise a C-ordered copy, as PyTorch's (so a write into
        ``x.t().contiguous()`` does not reach ``x``); with ``memory_format=channels_last``
        (``channels_last_3d``), the same in that layout (:meth:`is_contiguous`)."""
        if self.is_contiguous(memory_format):
            return self
        return _in_layout(self, memory_format) if _CHANNELS_LAST.get(getattr(memory_format, "name", None)) \
            else cnp.copy(self, order="C")

    def cpu(self):
        return self

    def clone(self, memory_format=None):
        """A copy, its values in the same layout (PyTorch's ``preserve_format``), or in
        that of ``memory_format`` (``contiguous_format``, ``channels_last``...)."""
        name = getattr(memory_format, "name", "preserve_format")
        if name == "preserve_format":
            return cnp.copy(self)
        return _in_layout(self, memory_format) if name in _CHANNELS_LAST else cnp.copy(self, order="C")

    # x.float() of a float32 x is x itself (a leaf stays a leaf), as PyTorch's
    def float(self):
        return _cast(self, np.float32)

    def double(self):
        return _cast(self, np.float64)

    def half(self):
        return _cast(self, np.float16)

    def long(self):
        return _cast(self, np.int64)

    def int(self):
        return _cast(self, np.int32)

    def short(self):
        return _cast(self, np.int16)

    def bool(self):
        return _cast(self, np.bool_)

    def byte(self):
        return _cast(self, np.uint8)

    def char(self):
        return _cast(self, np.int8)

    def cfloat(self):
        return _cast(self, np.complex64)

    def cdouble(self):
        return _cast(self, np.complex128)

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
        """``x.to(dtype)``, ``x.to(other)`` (its dtype), ``x.to('cpu')`` (no change)."""
        dtype, device = to_arguments(args, dtype, device)
        if device is not None and str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"to({device!r}): chainrule computes on the CPU only")
        if memory_format is not None and getattr(memory_format, "name", None) != "preserve_format":
            self = self.contiguous(memory_format)
        if dtype is None or dtype == self.dtype:
            return cnp.copy(self) if copy else self
        return as_eager(self, cnp.astype(self, dtype))

    def type(self, dtype=None):
        """``x.type()`` names the type as PyTorch does, under chainrule's name
        (``'chainrule.FloatTensor'`` for float32, ``'chainrule.LongTensor'`` for int64);
        ``x.type(dtype)`` converts, given a dtype or such a name (``'torch.DoubleTensor'``
        too), and returns ``x`` itself where the dtype is already that."""
        if dtype is None:
            return type_name(self.dtype)
        dtype = as_dtype(dtype)
        return self if dtype == self.dtype else as_eager(self, cnp.astype(self, dtype))

    def type_as(self, other):
        return as_eager(self, cnp.astype(self, other.dtype)) if other.dtype != self.dtype else self

    def new(self, *args, device=None):
        """PyTorch's legacy ``x.new(2, 3)`` (zeros of that size) or ``x.new(data)``, of ``x``'s dtype."""
        check_cpu(device, "new")
        return Tensor(legacy_value(args, self.dtype, "new"), EAGER)

    # (under vmap, batched as self is, as torch.func's: an example may write into them in place)
    def new_zeros(self, *size, dtype=None, requires_grad=False, device=None):
        check_cpu(device, "new_zeros")
        return _new_filled(self, as_shape(size), 0, dtype, requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False, device=None):
        check_cpu(device, "new_ones")
        return _new_filled(self, as_shape(size), 1, dtype, requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False, device=None):
        check_cpu(device, "new_empty")
        return _new_filled(self, as_shape(size), 0, dtype, requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False, device=None):
        check_cpu(device, "new_full")
        return _new_filled(self, tuple(size), plain(fill_value), dtype, requires_grad)

    def new_tensor(self, data, dtype=None, requires_grad=False, device=None):
        check_cpu(device, "new_tensor")
        return _new(self, plain(data), dtype).requires_grad_(requires_grad)



class TorchTensorMethods(TorchTypeMethods, TorchShapeMethods, TorchReductionMethods, TorchElementwiseMethods,
                         TorchMathMethods, TorchSelectMethods, TorchSpecialMethods, TorchOrderMethods,
                         TorchAliasMethods):
    """The methods that :func:`chainrule.numpy.bindings.bind_to_core` also sets on Tensor."""


def torch_members() -> dict:
    """Every PyTorch method of :class:`TorchTensorMethods`, by name, as the classes hold them."""
    return {name: member for cls in reversed(TorchTensorMethods.__mro__[:-1]) for name, member in vars(cls).items()}
