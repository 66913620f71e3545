"""The modes and conversions of :class:`~chainrule.nn.Module`: ``train``/``eval``,
``apply``, ``zero_grad``, ``requires_grad_``, and ``to`` with the dtype shorthands, all
through PyTorch's ``_apply`` step."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from chainrule.core.dtypes import as_dtype, to_arguments
from chainrule.core.eager import EAGER, count_write, zero_grad_in_place
from chainrule.core.tensor import Tensor

if TYPE_CHECKING:
    from chainrule.nn.module import Module

__all__ = ["ModuleConversions", "mark_modified"]


def mark_modified(t: Tensor) -> None:
    """Record that ``t``'s buffer was written in place, so that a backward pass through a
    graph that saved the old values (of ``t`` or of a view of it) raises instead of giving
    a wrong gradient."""
    count_write(t)


class ModuleConversions:
    """The part of :class:`~chainrule.nn.Module` that changes its mode, dtype or gradients."""

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every sub-module (children first) and on this one."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch norm uses batch statistics); returns self.
        As PyTorch's, it calls each child's ``train(mode)``, so a sub-module's override
        (one that keeps its batch norm layers in evaluation mode, say) is obeyed."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): training mode is expected to be a bool, got {mode!r}")
        self.__dict__["training"] = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: the same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the ``.grad`` of every parameter (to None, or to zeros)."""
        for p in self.parameters():
            if not isinstance(p, Tensor):
                continue
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                zero_grad_in_place(p)

    def to(self, *args, dtype=None, device=None, non_blocking: bool = False, memory_format=None) -> Module:
        """Convert the floating-point parameters and buffers to ``dtype``, keeping the
        same Parameter objects (create optimizers afterwards); returns self. PyTorch's
        forms are taken: ``to(dtype)``, ``to(tensor)`` (its dtype), ``to('cpu')`` and
        ``to(device, dtype)``; chainrule computes on the CPU, so a device other than
        'cpu' is an error. ``memory_format=cr.channels_last`` changes nothing, as for a Tensor.

        >>> import numpy as np
        >>> from chainrule import nn
        >>> nn.Linear(2, 2).to(np.float64).weight.dtype
        dtype('float64')
        >>> nn.Linear(2, 2).to("cpu").weight.dtype
        dtype('float32')
        """
        dtype, device = to_arguments(args, dtype, device)
        # 'meta' (PyTorch's storage-less device, for a model whose weights torch.func's
        # functional_call supplies) keeps the arrays: harmless, and the same recipe runs
        if device is not None and str(device).split(":")[0] not in ("cpu", "meta"):
            raise RuntimeError(f"to({str(device)!r}): chainrule computes on the CPU only; use 'cpu'")
        if dtype is None:
            return self._apply(lambda t: t)
        if dtype.kind not in "fc":
            raise TypeError(f"to(): parameters stay floating-point; {dtype} is not")

        def convert(t):
            value = np.asarray(t.primal()) if isinstance(t, Tensor) else np.asarray(t)
            if value.dtype.kind not in "fc" or value.dtype == dtype:
                return t
            return Tensor(value.astype(dtype), EAGER)

        return self._apply(convert)

    def _apply(self, fn: Callable, recurse: bool = True) -> Module:
        """PyTorch's step under :meth:`to`, :meth:`float`, :meth:`double`, :meth:`half` and
        :meth:`cpu`: ``fn`` applied to the children, then to each parameter and buffer (and
        gradient), the results written into the same Parameter objects. A module that keeps
        other Tensors overrides it, calls ``super()._apply(fn)`` and converts them with ``fn``."""
        if recurse:
            for child in self.children():
                child._apply(fn)
        for registry in ("_parameters", "_buffers"):
            for t in self.__dict__[registry].values():
                if t is None:
                    continue
                new = fn(t)
                if new is not t:
                    t._value = np.asarray(new.primal()) if isinstance(new, Tensor) else np.asarray(new)
                    mark_modified(t)
                if t.grad is not None:
                    g = fn(t.grad)
                    if g is not t.grad:
                        t.grad = g if isinstance(g, Tensor) else Tensor(np.asarray(g), EAGER)
        return self

    def _real_floats_to(self, dtype) -> Module:
        """The real floating-point parameters and buffers in ``dtype``; complex and integer
        ones stay as they are (PyTorch's ``float()``, ``double()`` and ``half()``)."""
        def convert(t):
            value = np.asarray(t.primal()) if isinstance(t, Tensor) else np.asarray(t)
            return t if value.dtype.kind != "f" or value.dtype == dtype else Tensor(value.astype(dtype), EAGER)

        return self._apply(convert)

    def float(self) -> Module:
        """Real floating-point parameters and buffers in float32 (the default of the layers)."""
        return self._real_floats_to(np.float32)

    def double(self) -> Module:
        """Real floating-point parameters and buffers in float64 (e.g. to check gradients)."""
        return self._real_floats_to(np.float64)

    def half(self) -> Module:
        """Real floating-point parameters and buffers in float16."""
        return self._real_floats_to(np.float16)

    def cpu(self) -> Module:
        """Returns self: chainrule computes on the CPU (an ``_apply`` override still runs)."""
        return self._apply(lambda t: t)

    def type(self, dst_type) -> Module:
        """Cast every parameter and buffer to ``dst_type`` (a dtype, or a name such as
        ``'torch.DoubleTensor'``), integer buffers included, in place; returns self (PyTorch's)."""
        dtype = as_dtype(dst_type)

        def convert(t):
            value = np.asarray(t.primal()) if isinstance(t, Tensor) else np.asarray(t)
            return t if value.dtype == dtype else Tensor(value.astype(dtype), EAGER)

        return self._apply(convert)

    def to_empty(self, *, device=None, recurse: bool = True) -> Module:
        """Give every parameter and buffer new, uninitialized memory of the same shape and
        dtype (PyTorch's, for a model built on the ``'meta'`` device, then initialized);
        ``device`` is ``'cpu'``, ``'meta'`` or None. ``recurse=False``: this module's own only."""
        if device is not None and str(device).split(":")[0] not in ("cpu", "meta"):
            raise RuntimeError(f"to_empty(device={str(device)!r}): chainrule computes on the CPU only; use 'cpu'")
        return self._apply(lambda t: Tensor(np.empty_like(np.asarray(t.primal() if isinstance(t, Tensor) else t)),
                                            EAGER), recurse=recurse)

    def share_memory(self) -> Module:
        """Returns self, as PyTorch's. chainrule's Tensors are NumPy arrays in this
        process's memory, and nothing is moved to shared memory: processes started by
        :mod:`chainrule.multiprocessing` run the script afresh and exchange values through
        :mod:`chainrule.distributed` (MPI), not by sharing the module's memory."""
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze (True) every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self
