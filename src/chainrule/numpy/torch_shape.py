"""PyTorch's shape and indexing methods on chainrule's Tensor (``view``, ``permute``,
``unsqueeze``, ``expand``, ``split``, ``gather``, ``scatter``, ``masked_fill``, ...), written with
the mirror so that each differentiates and traces under the transforms.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.eager import EAGER, restride, to_c_order
from chainrule.core.errors import TensorError, TensorTypeError
from chainrule.core.tensor import Tensor, stands_for_array, undifferentiated
from chainrule.core.trace import named_as_torch, note_pieces
from chainrule.core.values import plain
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.nondiff import anywhere
from chainrule.numpy.shape.updates import at
from chainrule.numpy.torch_common import (
    as_axes,
    as_shape,
    at_least_one_dim,
    axis_or_dim,
    boolean_condition,
    index_operand,
    index_values,
    is_eager,
    nonnegative_dim,
    pytorchs,
    same_dtype,
    scalar_dims,
)
from chainrule.numpy.torch_promotion import promoted_operands

__all__ = ["TorchShapeMethods", "fill_where"]


def one_value(name: str, value) -> None:
    if isinstance(value, Tensor) and value.ndim:
        raise TensorError(f"{name} only supports a 0-dimensional value tensor, but got tensor with {value.ndim} "
                          "dimension(s).")


def _matrices(name: str, x) -> None:
    if x.ndim < 2:
        raise TensorError(f"{name}: input tensor must have at least 2 dimensions")


def checked_dim(x, dim: int) -> int:
    """``dim`` counted from the front, after PyTorch's range check (a 0-d Tensor has the
    dims -1 and 0, as one of shape (1,))."""
    n = max(np.ndim(x), 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def _checked_index(x, dim: int, index, name: str) -> np.ndarray:
    """PyTorch's checks of a gather/scatter ``index`` along ``dim`` of an eager ``x``: as many
    dims as ``x`` (unless empty), no larger than ``x`` off ``dim``, entries in range
    (NumPy would count negative ones from the end, or pass over an out-of-range ``dim``)."""
    index = index_operand(index)
    if not is_eager(x):
        return index
    dim = checked_dim(x, dim)
    values = index_values(index)
    if values.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {values.dtype}")
    if values.size == 0:
        return index
    shape, ishape = np.shape(x) or (1,), tuple(shape_of(index)) or (1,)
    if len(ishape) != len(shape):
        raise RuntimeError(f"{name}(): Index tensor must have the same number of dimensions as input tensor "
                           f"({len(ishape)} and {len(shape)})")
    if any(i > n for d, (i, n) in enumerate(zip(ishape, shape, strict=True)) if d != dim):
        raise RuntimeError(f"{name}(): Size does not match: index {tuple(ishape)} must be no larger than self "
                           f"{tuple(shape)} apart from dimension {dim}")
    if values.min() < 0 or values.max() >= shape[dim]:
        bad = values.min() if values.min() < 0 else values.max()
        raise RuntimeError(f"{name}(): index {bad} is out of bounds for dimension {dim} with size {shape[dim]}")
    return index


def _along(x, dim: int, index, name: str = "gather") -> tuple:
    """The full index that puts ``index`` (PyTorch's gather/scatter index) along ``dim``."""
    index = _checked_index(x, dim, index, name)
    nd = index.ndim
    dim = nonnegative_dim(x, dim)
    return tuple(index if d == dim else np.arange(n).reshape((1,) * d + (-1,) + (1,) * (nd - d - 1))
                 for d, n in enumerate(index.shape))



def fill_where(x, mask, value):
    """``x`` with ``value`` (cast to ``x``'s dtype) where ``mask`` holds: PyTorch's masked_fill."""
    if not isinstance(value, Tensor):
        value = np.asarray(value, dtype=x.dtype)
    elif value.dtype != x.dtype:
        value = cnp.astype(value, x.dtype)
    return cnp.where(mask, value, x)



def _pytorch_layout(t: Tensor) -> np.ndarray:
    """A stand-in of ``t``'s shape with the strides PyTorch's tensor would have: a view is
    made again by the same calls from a C-ordered base, a Tensor of its own is C-ordered
    (chainrule leaves some results in another order, a convolution's channels first)."""
    root, steps, _ = getattr(t, "_view", None) or (t, (), False)
    x = np.empty(root.shape, np.int8)
    for prim, rest, kwargs in steps:
        x = prim(x, *rest, **kwargs)
    return x


def _numpy_view(t: Tensor):
    """NumPy's ``view`` method of ``t``'s value: a NumPy scalar's (``x[0].view(np.int64)``
    is a scalar of the other type) or an ndarray's."""
    return np.generic.view if isinstance(t._value, np.generic) else np.ndarray.view


def _bits_view(t: Tensor, dtype: np.dtype) -> Tensor:
    """PyTorch's ``t.view(dtype)`` of an eager Tensor: its bits read as ``dtype``, sharing
    its memory, without a derivative; of another element size, the last dimension, which
    must be contiguous, shrinks or grows by the ratio of the sizes."""
    v, old = np.asarray(t._value), np.dtype(t.dtype)
    what = f"to view {old} as {dtype} (different element sizes)"
    if dtype.itemsize != old.itemsize:
        if v.ndim == 0:
            raise TensorError(f"self.dim() cannot be 0 {what}; view a Tensor of at least one dimension")
        if v.shape[-1] != 1 and v.strides[-1] != old.itemsize:
            raise TensorError(f"self.stride(-1) must be 1 {what}, but got {v.strides[-1] // old.itemsize}; "
                              "call .contiguous() first")
        if v.shape[-1] * old.itemsize % dtype.itemsize:
            raise TensorError(f"self.size(-1) must be divisible by {dtype.itemsize // old.itemsize} {what}, but "
                              f"got {v.shape[-1]}")
    return Tensor(v.view(dtype), EAGER)


class TorchShapeMethods:
    """PyTorch's shape and indexing methods, set on Tensor by
    :func:`chainrule.numpy.bindings.bind_to_core`."""

    # -- shape ----------------------------------------------------------------------------------
    def view(self, *shape, dtype=None, type=None):  # noqa: A002 (NumPy's names)
        if dtype is not None or type is not None:  # NumPy's keywords: x.view(dtype=np.int64)
            if type not in (None, np.ndarray) and stands_for_array(self):
                kwargs = {"type": type} if dtype is None else {"dtype": dtype, "type": type}
                return self._trace.record(_numpy_view(self), (self, *shape), kwargs)  # NumPy's
            if type not in (None, np.ndarray) or len(shape) + (dtype is not None) > 1:
                raise TypeError("view() takes a dtype, by position or as dtype=, and type=np.ndarray only")
            return TorchShapeMethods.view(self, *shape, *(() if dtype is None else (dtype,)))
        if not shape:  # NumPy's x.view(): the same values, a new view
            return cnp.reshape(self, self.shape)
        if len(shape) == 1 and not isinstance(shape[0], int | list | tuple):
            if np.dtype(shape[0]) == self.dtype:
                return self
            if stands_for_array(self):  # chainrule.jit on plain arrays
                return self._trace.record(_numpy_view(self), (self, shape[0]), {})  # NumPy's
            if self._trace is EAGER:
                return _bits_view(self, np.dtype(shape[0]))
            raise TypeError(f"view({np.dtype(shape[0])}) reinterprets the bits of a {self.dtype} Tensor, which "
                            "has no derivative; convert with .to(dtype), or use x.numpy().view(dtype)")
        shape = as_shape(shape)
        v = self._value
        if v.__class__ is np.ndarray and not v.flags.c_contiguous and is_eager(self):
            try:  # a view of PyTorch's strides, or its refusal (a copy would not share the writes)
                np.reshape(_pytorch_layout(self), shape, copy=False)
            except ValueError as e:
                if "copy" in str(e):  # (another size: the reshape below says so)
                        raise TensorError(f"view size is not compatible with input tensor's size and stride "
                                      f"({self.shape} to {shape}: a view of these strides is impossible). Use "
                                      ".reshape(...) instead.") from None
            else:
                try:
                    np.reshape(v, shape, copy=False)
                except ValueError:  # PyTorch's strides allow it, chainrule's order not: C order,
                    to_c_order(self)  # so that the view shares the memory as PyTorch's does
        return cnp.reshape(self, shape)

    def view_as(self, other):
        return cnp.reshape(self, other.shape)

    def reshape_as(self, other):
        return cnp.reshape(self, other.shape)

    def permute(self, *dims):
        return cnp.transpose(self, as_shape(dims))

    @scalar_dims()
    def transpose(self, *axes):
        if len(axes) == 2 and all(isinstance(a, int) for a in axes):  # PyTorch's swap
            return cnp.swapaxes(self, *axes)
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return cnp.transpose(self, axes or None)

    @scalar_dims()
    def swapdims(self, dim0: int, dim1: int):
        return cnp.swapaxes(self, dim0, dim1)

    swapaxes = swapdims  # (of an eager 0-d Tensor, dims 0 and -1 as PyTorch's)

    @scalar_dims()
    def movedim(self, source, destination):
        return cnp.moveaxis(self, source, destination)

    def t(self):
        if self.ndim > 2:
            raise TensorError(f"t() expects a Tensor of at most 2 dimensions, got {self.ndim}; use transpose(d0, d1)")
        return named_as_torch(cnp.transpose(self), "TBackward0")

    def unsqueeze(self, dim=None, *, axis=None):
        dim = axis_or_dim(axis, dim, "unsqueeze")
        return cnp.expand_dims(self, dim if dim >= 0 else dim + self.ndim + 1)

    @scalar_dims()
    def squeeze(self, axis=None, dim=None):
        """NumPy's squeeze; a given axis that is not of size 1 is left alone (PyTorch)."""
        axis = axis_or_dim(axis, dim, "squeeze")
        if axis is None:
            return cnp.squeeze(self)
        axes = axis if isinstance(axis, tuple) else (axis,)
        keep = tuple(a for a in axes if self.shape[a] == 1)
        return cnp.squeeze(self, keep) if keep else self

    # PyTorch's in-place view operations: the Tensor itself gets the new dimensions
    def unsqueeze_(self, dim=None, *, axis=None):
        return restride(self, self.unsqueeze(dim, axis=axis), "unsqueeze_")

    def squeeze_(self, dim=None, *, axis=None):
        return restride(self, self.squeeze(axis=axis, dim=dim), "squeeze_")

    def t_(self):
        return restride(self, self.t(), "t_")

    def transpose_(self, dim0: int, dim1: int):
        return restride(self, self.transpose(dim0, dim1), "transpose_")

    def swapdims_(self, dim0: int, dim1: int):
        return restride(self, self.swapdims(dim0, dim1), "swapdims_")

    swapaxes_ = swapdims_

    def flatten(self, start_dim=0, end_dim: int = -1):
        if isinstance(start_dim, str):  # NumPy's flatten(order): a copy, never a view
            return cnp.copy(cnp.ravel(self, order=start_dim))
        if start_dim == 0 and end_dim == -1 and not pytorchs(self):  # NumPy's flatten()
            return cnp.copy(cnp.ravel(self))
        s, e = checked_dim(self, start_dim), checked_dim(self, end_dim)
        if s > e:
            raise RuntimeError(f"flatten() has invalid args: start_dim ({start_dim}) cannot come after end_dim "
                               f"({end_dim})")
        if self.ndim == 0:
            return cnp.reshape(self, (1,))
        # the size itself, not -1, which an empty Tensor leaves undetermined
        return cnp.reshape(self, (*self.shape[:s], math.prod(self.shape[s:e + 1]), *self.shape[e + 1:]))

    def unflatten(self, dim: int, sizes):
        d = nonnegative_dim(self, dim)
        return cnp.reshape(self, (*self.shape[:d], *sizes, *self.shape[d + 1:]))

    def expand(self, *sizes):
        sizes = as_shape(sizes)
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        return cnp.broadcast_to(self, shape)

    def expand_as(self, other):
        return cnp.broadcast_to(self, other.shape)

    def repeat(self, *args, axis=None):
        """PyTorch's ``repeat(*sizes)`` (tiling) on an eager Tensor or with more sizes than
        NumPy's (repeats, axis); NumPy's element repetition otherwise."""
        sizes = as_shape(args)
        if axis is None and pytorchs(self):
            if len(sizes) < self.ndim:  # NumPy would repeat the elements; PyTorch refuses
                raise RuntimeError(f"repeat: the number of sizes ({len(sizes)}) can not be smaller than the "
                                   f"number of dimensions of the Tensor ({self.ndim})")
            tiled = cnp.tile(self, sizes)
            # tile reshapes a broadcast, which may stay a view of self (repeats of 1, or of
            # size-1 dims); PyTorch's repeat copies, and a write into it must not be refused
            shared = is_eager(self) and (tiled.size == 0 or np.may_share_memory(plain(tiled), plain(self)))
            return cnp.copy(tiled) if shared else tiled
        if axis is None and len(sizes) > 2 and len(sizes) >= max(self.ndim, 1):
            return cnp.tile(self, sizes)
        if len(args) == 2 and axis is None:
            args, axis = args[:1], args[1]
        return cnp.repeat(self, *args, axis=axis)

    def tile(self, *reps):
        return cnp.tile(self, as_shape(reps))

    def chunk(self, chunks: int, dim: int = 0):
        at_least_one_dim(self, "chunk")
        if chunks <= 0:
            raise TensorError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        n = self.shape[dim]
        size = -(-n // chunks)
        return self.split(size, dim) if n else tuple(cnp.array_split(self, chunks, axis=dim))

    def split(self, split_size_or_sections, dim: int = 0):
        at_least_one_dim(self, "split")
        n = self.shape[dim]
        if isinstance(split_size_or_sections, int):
            if split_size_or_sections < 0 or split_size_or_sections == 0 and n:  # PyTorch's RuntimeError
                raise TensorError(f"split: split_size must be positive (or 0 of a dimension of size 0), got "
                                  f"{split_size_or_sections} for a dimension of size {n}")
            bounds = list(range(split_size_or_sections, n, split_size_or_sections))
        else:
            sections = list(split_size_or_sections)
            if sum(sections) != n:
                raise TensorError(f"split: sections {sections} do not add up to the size {n} of dim {dim}")
            bounds = list(np.cumsum(sections)[:-1])
        pieces = tuple(cnp.split(self, bounds, axis=dim))
        if is_eager(self) or not self._trace.records:  # views of self, as PyTorch's: a write reaches it
            lead = (slice(None),) * nonnegative_dim(self, dim)
            note_pieces(self, pieces, cnp.getitem, [(*lead, slice(int(start), int(stop)))
                                                    for start, stop in zip([0, *bounds], [*bounds, n], strict=True)])
        return pieces

    def unbind(self, dim: int = 0):
        return tuple(cnp.moveaxis(self, dim, 0)[i] for i in range(self.shape[dim]))

    def narrow(self, dim: int, start: int, length: int):
        """``length`` entries along ``dim`` from ``start`` (negative: from the end), as
        PyTorch's: a range that does not fit is an error, not a shorter slice."""
        at_least_one_dim(self, "narrow")
        if not -self.ndim <= dim < max(self.ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-self.ndim}, {self.ndim - 1}], "
                             f"but got {dim})")
        dim = nonnegative_dim(self, dim)
        size, start, length = self.shape[dim], int(start), int(length)
        if not -size <= start <= size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
        start += size if start < 0 else 0
        if length < 0:
            raise TensorError("narrow(): length must be non-negative.")
        if start + length > size:
            raise TensorError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
        index = [slice(None)] * self.ndim
        index[dim] = slice(start, start + length)
        return self[tuple(index)]

    def select(self, dim: int, index: int):
        return self[(slice(None),) * nonnegative_dim(self, dim) + (index,)]

    @scalar_dims()
    def flip(self, *dims, **kw):
        dims = as_shape(dims) if dims else kw.pop("dims", None)
        if kw:
            raise TypeError(f"flip() got unexpected arguments {sorted(kw)}")
        flipped = cnp.flip(self, tuple(dims) if isinstance(dims, list | tuple) else dims)
        return cnp.copy(flipped) if is_eager(self) else flipped  # PyTorch's flip copies

    def fliplr(self):
        if self.ndim < 2:
            raise TensorError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self):
        if self.ndim < 1:
            raise TensorError("Input must be >= 1-d.")
        return self.flip(0)

    def roll(self, shifts, dims=None):
        return cnp.roll(self, shifts, axis=as_axes(dims))

    def tril(self, diagonal: int = 0):
        _matrices("tril", self)
        return cnp.tril(self, diagonal)

    def triu(self, diagonal: int = 0):
        _matrices("triu", self)
        return cnp.triu(self, diagonal)

    # -- indexing -------------------------------------------------------------------------------
    def index_select(self, dim: int, index):
        index = index_operand(index)
        if is_eager(self):  # PyTorch's checks: NumPy's take counts negative indices from the end
            d = checked_dim(self, dim)
            size = self.shape[d] if self.ndim else 1
            values = index_values(index)
            if index.ndim > 1 or (self.ndim == 0 and index.size != 1):
                raise IndexError(f"index_select(): index must be a vector (or one value for a 0-d Tensor), got "
                                 f"shape {index.shape}")
            if values.size and (values.min() < 0 or values.max() >= size):
                raise IndexError(f"index_select(): index out of range in self (size {size}): {values.tolist()}")
            if self.ndim == 0:
                return cnp.reshape(self, (1,))[index.reshape(())]
        return cnp.take(self, index, axis=dim)

    def gather(self, dim: int, index):
        if is_eager(self) and 0 in (math.prod(shape_of(index)), len(shape_of(index)), self.ndim):
            # an empty index gives an empty result of its shape; with a 0-d index or self, the
            # elements of the flat self (basic indexing with () would give a view of self)
            index = _checked_index(self, dim, index, "gather")
            return cnp.reshape(cnp.reshape(self, (-1,))[index.reshape(-1)], index.shape)
        return self[_along(self, dim, index)]

    def take_along_dim(self, indices, dim=None):
        """The entries at ``indices`` along ``dim`` (of the flattened Tensor without one), the
        two broadcast off ``dim``; integer indices in range, as PyTorch requires (NumPy would
        count negative ones from the end)."""
        index = index_operand(indices)
        if is_eager(self):
            values = index_values(index)
            if values.dtype.kind not in "iu":
                raise TensorTypeError(f"take_along_dim(): Expected dtype int32/int64 for index, got {values.dtype}")
            if dim is not None and index.ndim != self.ndim:
                raise TensorError(f"torch.take_along_dim(): input and indices should have the same number of "
                                  f"dimensions, but got {self.ndim} dimensions for input, and {index.ndim} "
                                  "dimensions for indices")
            n = self.size if dim is None else (self.shape[checked_dim(self, dim)] if self.ndim else 1)
            if values.size and (values.min() < 0 or values.max() >= n):
                bad = values.min() if values.min() < 0 else values.max()
                raise TensorError(f"take_along_dim(): index {bad} is out of bounds for dimension "
                                  f"{0 if dim is None else dim} with size {n}")
        return cnp.take_along_axis(self, index, axis=dim)

    def scatter(self, dim: int, index, src=None, value=None, reduce=None):
        """A copy with ``src`` (or ``value``) written at ``index`` along ``dim``;
        ``reduce='add'``/``'multiply'`` combine instead."""
        src = value if src is None else src
        same_dtype("scatter", self, src)  # a float written into an integer Tensor is refused, not truncated
        where = _along(self, dim, index, "scatter")
        if np.ndim(src):  # PyTorch reads the leading part of src, of the index's shape
            src = src[tuple(slice(0, n) for n in shape_of(index))]
        if reduce in ("add", "sum"):
            return self.at[where].add(src)
        if reduce in ("multiply", "prod"):
            return self.at[where].multiply(src)
        if reduce is not None:
            raise TensorError(f"scatter: reduce must be None, 'add' or 'multiply', not {reduce!r}")
        return self.at[where].set(src)

    def scatter_add(self, dim: int, index, src):
        return self.scatter(dim, index, src, reduce="add")

    def scatter_reduce(self, dim: int, index, src, reduce: str, *, include_self: bool = True):
        """A copy with ``src`` combined at ``index`` along ``dim`` by ``reduce`` ('sum',
        'prod', 'mean', 'amax', 'amin'), ``self``'s values among them unless
        ``include_self=False``; positions no index names keep ``self``'s (PyTorch's)."""
        same_dtype("scatter_reduce", self, src)
        where = _along(self, dim, index, "scatter")
        src = src[tuple(slice(0, n) for n in shape_of(index))]
        start = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}.get(reduce)
        if start is None:
            raise TensorError(f"scatter_reduce: reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin', not {reduce!r}")
        if self.dtype.kind in "iub" and reduce in ("amax", "amin"):
            info = np.iinfo(self.dtype) if self.dtype.kind != "b" else None
            start = (info.min if reduce == "amax" else info.max) if info else reduce == "amin"
        base = self if include_self else self.at[where].set(start)
        if reduce in ("sum", "mean"):
            out = base.at[where].add(src)
        elif reduce == "prod":
            out = base.at[where].multiply(src)
        else:
            out = base.at[where].max(src) if reduce == "amax" else base.at[where].min(src)
            if not include_self and self.dtype.kind == "f":
                # PyTorch's backward counts an excluded self value equal to the result among the
                # ties it shares the gradient with (self itself gets none): joining the scatter
                # there changes no value and gives the same shares
                kept = at(undifferentiated(self))[where].get()  # (a plain array, or a batch)
                tied = kept == at(undifferentiated(out))[where].get()
                if anywhere(tied):
                    base = self.at[where].set(cnp.where(tied, kept, start))
                    out = base.at[where].max(src) if reduce == "amax" else base.at[where].min(src)
        if reduce != "mean":
            return out
        # (under vmap, with an index that differs between examples, each example's own counts)
        counts = at(np.zeros(self.shape, dtype=np.int64))[where].add(1)
        counts = cnp.maximum(counts + (1 if include_self else 0), 1)
        return out // counts if self.dtype.kind in "iu" else out / counts.astype(self.dtype)

    def put(self, index, source, accumulate: bool = False, *, mode=None):
        """PyTorch's ``put`` on an eager Tensor: a copy with ``source`` written (or added,
        ``accumulate=True``) at the flat positions ``index`` (negative: from the end);
        NumPy's ``put(indices, values, mode)``, in place, inside transforms or with ``mode=``."""
        if mode is not None or not pytorchs(self):
            cnp.put(self, index, source, mode=mode or "raise")
            return None
        index = np.asarray(plain(index)).reshape(-1)
        if index.dtype.kind not in "iu":
            raise TensorError(f"put_(): Expected a long tensor for index, but got {index.dtype}; convert with .long()")
        if isinstance(source, Tensor) and source.dtype != self.dtype:
            raise TensorError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                              f"{self.dtype} and source.dtype = {source.dtype}; convert with .to(self.dtype)")
        if np.size(plain(source)) != index.size:
            raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                             f"source.numel() = {np.size(plain(source))}, index.numel() = {index.size}")
        bad = index[(index >= self.size) | (index < -self.size)]
        if bad.size:
            raise IndexError(f"out of range: tried to access index {bad[0]} on a tensor of {self.size} elements.")
        flat, source = cnp.reshape(self, (-1,)), cnp.reshape(source, (-1,))
        flat = flat.at[index].add(source) if accumulate else flat.at[index].set(source)
        return cnp.reshape(flat, self.shape)

    def index_reduce(self, dim: int, index, source, reduce: str, *, include_self: bool = True):
        """A copy with the slices of ``source`` along ``dim`` combined by ``reduce`` ('prod',
        'mean', 'amax', 'amin') into the slices ``index`` names: ``scatter_reduce`` of the
        index spread along the other dims (PyTorch's, gradients included)."""
        if reduce not in ("prod", "mean", "amax", "amin"):
            raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin, got {reduce}")
        dim = nonnegative_dim(self, dim)
        index = index_operand(index)
        if index.ndim != 1 or len(index) != shape_of(source)[dim]:
            raise IndexError(f"index_reduce(): index must be a vector of source.shape[{dim}] = "
                             f"{shape_of(source)[dim]} entries, got shape {index.shape}")
        along = cnp.reshape(index, (1,) * dim + (-1,) + (1,) * (len(shape_of(source)) - dim - 1))
        return self.scatter_reduce(dim, cnp.broadcast_to(along, shape_of(source)), source, reduce,
                                   include_self=include_self)

    def index_add(self, dim: int, index, source, alpha=1):
        same_dtype("index_add", self, source)
        where = (slice(None),) * nonnegative_dim(self, dim) + (index_operand(index),)
        return self.at[where].add(source if alpha == 1 else source * alpha)

    def index_copy(self, dim: int, index, source):
        """A copy with the slices at ``index`` along ``dim`` replaced by ``source``'s (HF's
        static KV cache writes ``k_out.index_copy_(2, cache_position, key_states)``)."""
        same_dtype("index_copy", self, source)
        where = (slice(None),) * nonnegative_dim(self, dim) + (index_operand(index),)
        return self.at[where].set(source)

    def index_fill(self, dim: int, index, value):
        where = (slice(None),) * nonnegative_dim(self, dim) + (index_operand(index),)
        return self.at[where].set(value)

    def masked_fill(self, mask, value):
        """``value`` (a number or a 0-d Tensor) where ``mask`` holds."""
        one_value("masked_fill", value)
        boolean_condition("masked_fill", mask, uint8=False)
        return fill_where(self, undifferentiated(mask), value)

    def masked_scatter(self, mask, source):
        """``self`` with the elements where ``mask`` holds taken in turn from ``source``
        (differentiable in both), as PyTorch's."""
        mask = np.broadcast_to(plain(mask), np.broadcast_shapes(np.shape(plain(mask)), self.shape))
        count = int(mask.sum())
        if count > int(np.size(plain(source))):
            raise TensorError(f"masked_scatter: the mask selects {count} elements but source has only "
                              f"{int(np.size(plain(source)))}")
        order = np.where(mask, np.cumsum(mask.ravel()).reshape(mask.shape) - 1, 0)
        return cnp.where(mask, cnp.take(cnp.ravel(source), order), self)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1, *, dim1: int | None = None,
                 dim2: int | None = None):
        """The diagonal over ``axis1``/``axis2`` (PyTorch's ``dim1``/``dim2``), as the last dim."""
        axis1, axis2 = axis1 if dim1 is None else dim1, axis2 if dim2 is None else dim2
        if is_eager(self):  # PyTorch's IndexError for a dim out of range (of a 1-d Tensor: dim 1)
            checked_dim(self, axis1), checked_dim(self, axis2)
        return cnp.diagonal(self, offset, axis1, axis2)

    def masked_select(self, mask):
        boolean_condition("masked_select", mask, uint8=False)
        mask = np.broadcast_to(plain(mask), np.broadcast_shapes(np.shape(plain(mask)), self.shape))
        return cnp.broadcast_to(self, mask.shape)[mask]

    def where(self, condition, other):
        boolean_condition("where", condition)
        if is_eager(self):  # (cnp.where promotes as NumPy)
            self, other = promoted_operands(self, other)
        return cnp.where(undifferentiated(condition), self, other)

