"""PyTorch's Tensor methods on chainrule's Tensor, written with the mirror (so each
differentiates, to any order, and traces under the transforms).

A Tensor keeps NumPy's ndarray methods with NumPy's meaning (code written for HIPS
autograd's boxes runs unchanged). Where PyTorch gives the same name another meaning,
PyTorch's meaning is taken when the call says so: a PyTorch keyword (``dim=``,
``keepdim=``, ``unbiased=``, ``correction=``, ``descending=``), a call NumPy would
reject (``x.transpose(0, 2)`` on a 3-d Tensor, ``x.flatten(1)``) or, for the calls both
accept with different results (``x.max(1)``, ``x.std()``, ``x.var(0)``, ``x.repeat(2, 1)``,
``x.sort()``, ``x.nonzero()``), an eager Tensor (one of ``chainrule.tensor``, a layer's
parameters, or computed from them): the eager layer is PyTorch's. Inside a transform
(``grad``, ``jit``, ``vmap``) those calls keep NumPy's meaning.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

import chainrule.numpy as cnp
from chainrule.core import eager
from chainrule.core.eager import EAGER
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain
from chainrule.numpy import activations

__all__ = ["TorchTensorMethods", "values_indices"]

values_indices = namedtuple("values_indices", ["values", "indices"])
"""What ``max(dim)``, ``min(dim)``, ``sort``, ``topk`` and ``median(dim)`` return, as
PyTorch's ``torch.return_types``: a pair with ``.values`` and ``.indices``."""


class Size(int):
    """A Tensor's ``size``: NumPy's element count (an int), and callable as PyTorch's
    ``x.size()`` (the shape) or ``x.size(dim)``."""

    def __new__(cls, shape):
        obj = super().__new__(cls, math.prod(shape))
        obj.shape = tuple(shape)
        return obj

    def __call__(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]


def _eager(x) -> bool:
    return x._trace is EAGER


class Device(str):
    """``x.device``: the string 'cpu', with PyTorch's ``.type`` and ``.index``."""

    type = property(lambda self: str.__str__(self))
    index = None


CPU = Device("cpu")


def _as_eager(x, result):
    """A non-differentiable result (a mask, indices) of an eager Tensor's method as an
    eager Tensor (without gradient), so that PyTorch's chains (``(a == b).float()``)
    go on; a transform's results stay as they are."""
    if isinstance(result, np.ndarray | np.generic) and _eager(x):
        return Tensor(np.asarray(result), EAGER)
    return result


def _compare(fun):
    def method(self, other):
        return _as_eager(self, fun(self, other))
    return method


def _dims(dim):
    return tuple(dim) if isinstance(dim, list | tuple) else dim


def _sizes(args) -> tuple:
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], list | tuple) else tuple(args)


def _axis_kw(axis, dim, name: str):
    if dim is not None and axis is not None:
        raise TypeError(f"{name}() got both axis= and dim=; give one")
    return _dims(axis if dim is None else dim)


def _new(x, value, dtype=None):
    """A new eager Tensor without gradient, of ``x``'s dtype unless ``dtype`` is given."""
    return Tensor(np.asarray(value, dtype=x.dtype if dtype is None else np.dtype(dtype)), EAGER)


def _unary_(fun, name: str):
    def method(self):
        return eager.inplace(self, lambda a, _: fun(a), None, name)
    method.__name__ = name
    return method


def _unflatten_dim(x, dim: int) -> int:
    return dim + x.ndim if dim < 0 else dim


def _along(x, dim: int, index) -> tuple:
    """The full index that puts ``index`` (PyTorch's gather/scatter index) along ``dim``."""
    index = np.asarray(plain(index))
    nd = index.ndim
    dim = _unflatten_dim(x, dim)
    return tuple(index if d == dim else np.arange(n).reshape((1,) * d + (-1,) + (1,) * (nd - d - 1))
                 for d, n in enumerate(index.shape))


def _softmax(x, dim):
    shifted = x - undifferentiated(cnp.max(x, axis=dim, keepdims=True))
    e = cnp.exp(shifted)
    return e / cnp.sum(e, axis=dim, keepdims=True)


def _log_softmax(x, dim):
    shifted = x - undifferentiated(cnp.max(x, axis=dim, keepdims=True))
    return shifted - cnp.log(cnp.sum(cnp.exp(shifted), axis=dim, keepdims=True))


def _masked_fill(x, mask, value):
    if not isinstance(value, Tensor):
        value = np.asarray(value, dtype=x.dtype)
    elif value.dtype != x.dtype:
        value = cnp.astype(value, x.dtype)
    return cnp.where(mask, value, x)


def _pick(x, dim, keepdim, arg):
    """(values, indices) of the reduction whose indices ``arg`` gives, the gradient going
    to the picked element only (as PyTorch)."""
    idx = _as_eager(x, cnp.expand_dims(arg(undifferentiated(x), axis=dim), dim))
    vals = cnp.take_along_axis(x, idx, axis=dim)
    if not keepdim:
        vals, idx = cnp.squeeze(vals, dim), cnp.squeeze(idx, dim)
    return values_indices(vals, idx)


def _moments(x, name, pos, axis, dtype, ddof, keepdims, dim, unbiased, keepdim, correction):
    """var/std: NumPy's with its keywords (axis=, ddof=, dtype=, keepdims=) or inside the
    transforms; PyTorch's (unbiased by default) with its keywords or on an eager Tensor."""
    fun = cnp.var if name == "var" else cnp.std
    if isinstance(dtype, bool):  # x.std(0, False): PyTorch's positional unbiased
        dtype, unbiased = None, dtype
    numpy_kw = axis is not None or ddof is not None or dtype is not None or keepdims
    torch_kw = dim is not None or unbiased is not None or keepdim is not None or correction is not None
    if torch_kw or (_eager(x) and not numpy_kw):
        if correction is None:
            correction = 1 if unbiased is None else int(bool(unbiased))
        where = _dims(pos if dim is None else dim)
        return fun(x, axis=where, ddof=correction, keepdims=bool(keepdim or keepdims))
    return fun(x, axis=_dims(pos if axis is None else axis), dtype=dtype, ddof=ddof or 0, keepdims=keepdims)


def _extreme(x, pos, keepdims, axis, dim, keepdim, elementwise, arg, reduce):
    """max/min: of two Tensors; PyTorch's (values, indices) with dim= or a positional dim
    on an eager Tensor; NumPy's reduction with axis= or inside the transforms."""
    if isinstance(pos, Tensor) or isinstance(pos, np.ndarray) and pos.ndim > 0:
        return elementwise(x, pos)
    if axis is None and (dim is not None or keepdim is not None or (pos is not None and _eager(x))):
        return _pick(x, pos if dim is None else dim, bool(keepdim or keepdims), arg)
    return reduce(x, axis=_dims(pos if axis is None else axis), keepdims=keepdims)


class TorchTensorMethods:
    """The methods that :func:`chainrule.numpy.bindings.bind_to_core` also sets on Tensor."""

    # -- size and type ---------------------------------------------------------------------
    @property
    def size(self) -> Size:
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

    def is_contiguous(self, memory_format=None) -> bool:
        return True

    @property
    def device(self) -> Device:
        return CPU

    @property
    def grad_fn(self):
        """The graph node that made this Tensor (None for a leaf or without gradient)."""
        node = self._node
        return node if node is not None and node.prim is not None else None

    __eq__ = _compare(cnp.equal)
    __ne__ = _compare(cnp.not_equal)
    __lt__ = _compare(cnp.less)
    __le__ = _compare(cnp.less_equal)
    __gt__ = _compare(cnp.greater)
    __ge__ = _compare(cnp.greater_equal)
    __and__ = _compare(cnp.bitwise_and)
    __or__ = _compare(cnp.bitwise_or)
    __xor__ = _compare(cnp.bitwise_xor)

    def __invert__(self):
        return _as_eager(self, cnp.invert(self))

    @property
    def is_cuda(self) -> bool:
        return False

    def contiguous(self, memory_format=None):
        return self

    def cpu(self):
        return self

    def clone(self, memory_format=None):
        return cnp.copy(self)

    def float(self):
        return _as_eager(self, cnp.astype(self, np.float32))

    def double(self):
        return _as_eager(self, cnp.astype(self, np.float64))

    def half(self):
        return _as_eager(self, cnp.astype(self, np.float16))

    def long(self):
        return _as_eager(self, cnp.astype(self, np.int64))

    def int(self):
        return _as_eager(self, cnp.astype(self, np.int32))

    def short(self):
        return _as_eager(self, cnp.astype(self, np.int16))

    def bool(self):
        return _as_eager(self, cnp.astype(self, np.bool_))

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
        """``x.to(dtype)``, ``x.to(other)`` (its dtype), ``x.to('cpu')`` (no change)."""
        for a in args:
            if isinstance(a, Tensor | np.ndarray):
                dtype = a.dtype
            elif isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda", "mps"):
                device = a
            else:
                dtype = a
        if device is not None and str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"to({device!r}): chainrule computes on the CPU only")
        if dtype is None or np.dtype(dtype) == self.dtype:
            return cnp.copy(self) if copy else self
        return _as_eager(self, cnp.astype(self, dtype))

    def type(self, dtype=None):
        """``x.type(dtype)`` converts; ``x.type()`` names the dtype."""
        return str(self.dtype) if dtype is None else cnp.astype(self, dtype)

    def type_as(self, other):
        return cnp.astype(self, other.dtype) if other.dtype != self.dtype else self

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        return _new(self, np.zeros(_sizes(size)), dtype).requires_grad_(requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        return _new(self, np.ones(_sizes(size)), dtype).requires_grad_(requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False):
        return _new(self, np.zeros(_sizes(size)), dtype).requires_grad_(requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False):
        return _new(self, np.full(tuple(size), fill_value), dtype).requires_grad_(requires_grad)

    def new_tensor(self, data, dtype=None, requires_grad=False):
        return _new(self, plain(data), dtype).requires_grad_(requires_grad)

    # -- shape ----------------------------------------------------------------------------------
    def view(self, *shape):
        if len(shape) == 1 and not isinstance(shape[0], int | list | tuple):
            if np.dtype(shape[0]) == self.dtype:
                return self
            raise TypeError(f"view({np.dtype(shape[0])}) reinterprets the bits of a {self.dtype} Tensor, which "
                            "has no derivative; convert with .to(dtype), or use x.numpy().view(dtype)")
        return cnp.reshape(self, _sizes(shape))

    def view_as(self, other):
        return cnp.reshape(self, other.shape)

    def reshape_as(self, other):
        return cnp.reshape(self, other.shape)

    def permute(self, *dims):
        return cnp.transpose(self, _sizes(dims))

    def transpose(self, *axes):
        if len(axes) == 2 and all(isinstance(a, int) for a in axes):  # PyTorch's swap
            return cnp.swapaxes(self, *axes)
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return cnp.transpose(self, axes or None)

    def swapdims(self, dim0: int, dim1: int):
        return cnp.swapaxes(self, dim0, dim1)

    def movedim(self, source, destination):
        return cnp.moveaxis(self, source, destination)

    def t(self):
        if self.ndim > 2:
            raise ValueError(f"t() expects a Tensor of at most 2 dimensions, got {self.ndim}; use transpose(d0, d1)")
        return cnp.transpose(self)

    def unsqueeze(self, dim: int):
        return cnp.expand_dims(self, dim if dim >= 0 else dim + self.ndim + 1)

    def squeeze(self, axis=None, dim=None):
        """NumPy's squeeze; a given axis that is not of size 1 is left alone (PyTorch)."""
        axis = _axis_kw(axis, dim, "squeeze")
        if axis is None:
            return cnp.squeeze(self)
        axes = axis if isinstance(axis, tuple) else (axis,)
        keep = tuple(a for a in axes if self.shape[a] == 1)
        return cnp.squeeze(self, keep) if keep else self

    def flatten(self, start_dim=0, end_dim: int = -1):
        if isinstance(start_dim, str):  # NumPy's flatten(order): a copy, never a view
            return cnp.copy(cnp.ravel(self, order=start_dim))
        if start_dim == 0 and end_dim == -1 and not _eager(self):  # NumPy's flatten()
            return cnp.copy(cnp.ravel(self))
        if self.ndim == 0:
            return cnp.reshape(self, (1,))
        s, e = _unflatten_dim(self, start_dim), _unflatten_dim(self, end_dim)
        return cnp.reshape(self, (*self.shape[:s], -1, *self.shape[e + 1:]))

    def unflatten(self, dim: int, sizes):
        d = _unflatten_dim(self, dim)
        return cnp.reshape(self, (*self.shape[:d], *sizes, *self.shape[d + 1:]))

    def expand(self, *sizes):
        sizes = _sizes(sizes)
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        return cnp.broadcast_to(self, shape)

    def expand_as(self, other):
        return cnp.broadcast_to(self, other.shape)

    def repeat(self, *args, axis=None):
        """PyTorch's ``repeat(*sizes)`` (tiling) on an eager Tensor or with more sizes than
        NumPy's (repeats, axis); NumPy's element repetition otherwise."""
        sizes = _sizes(args)
        if axis is None and (_eager(self) or len(sizes) > 2) and len(sizes) >= max(self.ndim, 1):
            return cnp.tile(self, sizes)
        if len(args) == 2 and axis is None:
            args, axis = args[:1], args[1]
        return cnp.repeat(self, *args, axis=axis)

    def tile(self, *reps):
        return cnp.tile(self, _sizes(reps))

    def chunk(self, chunks: int, dim: int = 0):
        n = self.shape[dim]
        size = -(-n // chunks)
        return self.split(size, dim) if n else tuple(cnp.array_split(self, chunks, axis=dim))

    def split(self, split_size_or_sections, dim: int = 0):
        n = self.shape[dim]
        if isinstance(split_size_or_sections, int):
            bounds = list(range(split_size_or_sections, n, split_size_or_sections))
        else:
            sections = list(split_size_or_sections)
            if sum(sections) != n:
                raise ValueError(f"split: sections {sections} do not add up to the size {n} of dim {dim}")
            bounds = list(np.cumsum(sections)[:-1])
        return tuple(cnp.split(self, bounds, axis=dim))

    def unbind(self, dim: int = 0):
        return tuple(cnp.moveaxis(self, dim, 0)[i] for i in range(self.shape[dim]))

    def narrow(self, dim: int, start: int, length: int):
        index = [slice(None)] * self.ndim
        index[dim] = slice(start, start + length)
        return self[tuple(index)]

    def select(self, dim: int, index: int):
        return cnp.take(self, index, axis=dim)

    def flip(self, *dims, **kw):
        dims = _sizes(dims) if dims else kw.pop("dims", None)
        if kw:
            raise TypeError(f"flip() got unexpected arguments {sorted(kw)}")
        return cnp.flip(self, tuple(dims) if isinstance(dims, list | tuple) else dims)

    def roll(self, shifts, dims=None):
        return cnp.roll(self, shifts, axis=_dims(dims))

    def tril(self, diagonal: int = 0):
        return cnp.tril(self, diagonal)

    def triu(self, diagonal: int = 0):
        return cnp.triu(self, diagonal)

    # -- indexing -------------------------------------------------------------------------------
    def index_select(self, dim: int, index):
        return cnp.take(self, np.asarray(plain(index)), axis=dim)

    def gather(self, dim: int, index):
        return self[_along(self, dim, index)]

    def take_along_dim(self, indices, dim=None):
        return cnp.take_along_axis(self, np.asarray(plain(indices)), axis=dim)

    def scatter(self, dim: int, index, src=None, value=None, reduce=None):
        """A copy with ``src`` (or ``value``) written at ``index`` along ``dim``;
        ``reduce='add'``/``'multiply'`` combine instead."""
        src = value if src is None else src
        where = _along(self, dim, index)
        if np.ndim(src):  # PyTorch reads the leading part of src, of the index's shape
            src = src[tuple(slice(0, n) for n in np.shape(plain(index)))]
        if reduce in ("add", "sum"):
            return self.at[where].add(src)
        if reduce in ("multiply", "prod"):
            return self.at[where].multiply(src)
        if reduce is not None:
            raise ValueError(f"scatter: reduce must be None, 'add' or 'multiply', not {reduce!r}")
        return self.at[where].set(src)

    def scatter_add(self, dim: int, index, src):
        return self.scatter(dim, index, src, reduce="add")

    def index_add(self, dim: int, index, source, alpha=1):
        where = (slice(None),) * _unflatten_dim(self, dim) + (np.asarray(plain(index)),)
        return self.at[where].add(source if alpha == 1 else source * alpha)

    def index_fill(self, dim: int, index, value):
        where = (slice(None),) * _unflatten_dim(self, dim) + (np.asarray(plain(index)),)
        return self.at[where].set(value)

    def masked_fill(self, mask, value):
        return _masked_fill(self, plain(mask), value)

    def masked_select(self, mask):
        mask = np.broadcast_to(plain(mask), np.broadcast_shapes(np.shape(plain(mask)), self.shape))
        return cnp.broadcast_to(self, mask.shape)[mask]

    def where(self, condition, other):
        return cnp.where(plain(condition), self, other)

    # -- reductions -----------------------------------------------------------------------------
    def sum(self, axis=None, dtype=None, keepdims=False, *, dim=None, keepdim=None):
        if isinstance(dtype, bool):  # x.sum(1, True): PyTorch's keepdim
            dtype, keepdims = None, dtype
        return cnp.sum(self, axis=_axis_kw(axis, dim, "sum"), dtype=dtype, keepdims=bool(keepdim or keepdims))

    def mean(self, axis=None, dtype=None, keepdims=False, *, dim=None, keepdim=None):
        if isinstance(dtype, bool):
            dtype, keepdims = None, dtype
        return cnp.mean(self, axis=_axis_kw(axis, dim, "mean"), dtype=dtype, keepdims=bool(keepdim or keepdims))

    def nansum(self, dim=None, keepdim=False):
        return cnp.nansum(self, axis=_dims(dim), keepdims=keepdim)

    def prod(self, axis=None, dtype=None, keepdims=False, *, dim=None, keepdim=None):
        if isinstance(dtype, bool):
            dtype, keepdims = None, dtype
        return cnp.prod(self, axis=_axis_kw(axis, dim, "prod"), dtype=dtype, keepdims=bool(keepdim or keepdims))

    def all(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _as_eager(self, cnp.all(self, axis=_axis_kw(axis, dim, "all"), keepdims=bool(keepdim or keepdims)))

    def any(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _as_eager(self, cnp.any(self, axis=_axis_kw(axis, dim, "any"), keepdims=bool(keepdim or keepdims)))

    def max(self, pos=None, /, keepdims=False, *, axis=None, dim=None, keepdim=None):
        """No axis: the maximum. ``max(dim)`` on an eager Tensor, or with ``dim=``: PyTorch's
        (values, indices); ``max(other)``: the elementwise maximum; ``axis=``: NumPy's."""
        return _extreme(self, pos, keepdims, axis, dim, keepdim, cnp.maximum, cnp.argmax, cnp.max)

    def min(self, pos=None, /, keepdims=False, *, axis=None, dim=None, keepdim=None):
        """As :meth:`max`, for the minimum."""
        return _extreme(self, pos, keepdims, axis, dim, keepdim, cnp.minimum, cnp.argmin, cnp.min)

    def amax(self, dim=None, keepdim=False):
        return cnp.max(self, axis=_dims(dim) if dim != () else None, keepdims=keepdim)

    def amin(self, dim=None, keepdim=False):
        return cnp.min(self, axis=_dims(dim) if dim != () else None, keepdims=keepdim)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _as_eager(self, cnp.argmax(self, axis=_axis_kw(axis, dim, "argmax"), keepdims=bool(keepdim or keepdims)))

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _as_eager(self, cnp.argmin(self, axis=_axis_kw(axis, dim, "argmin"), keepdims=bool(keepdim or keepdims)))

    def median(self, dim=None, keepdim=False):
        """PyTorch's median: the lower of the two middle values; with ``dim``, (values,
        indices)."""
        if dim is None:
            flat = cnp.ravel(self)
            k = (flat.shape[0] - 1) // 2
            return flat[int(np.argsort(plain(flat), kind="stable")[k])]
        k = (self.shape[dim] - 1) // 2
        return _pick(self, dim, keepdim, lambda v, axis: np.take(np.argsort(v, axis=axis, kind="stable"), k, axis))

    def var(self, pos=None, /, dtype=None, ddof=None, keepdims=False, *, axis=None, dim=None, unbiased=None,
            keepdim=None, correction=None):
        """NumPy's var (ddof 0) with its keywords or inside transforms; PyTorch's (unbiased
        unless ``unbiased=False`` or ``correction=0``) with its keywords or on an eager Tensor."""
        return _moments(self, "var", pos, axis, dtype, ddof, keepdims, dim, unbiased, keepdim, correction)

    def std(self, pos=None, /, dtype=None, ddof=None, keepdims=False, *, axis=None, dim=None, unbiased=None,
            keepdim=None, correction=None):
        """As :meth:`var`, the square root."""
        return _moments(self, "std", pos, axis, dtype, ddof, keepdims, dim, unbiased, keepdim, correction)

    def cumsum(self, axis=None, dtype=None, *, dim=None):
        return cnp.cumsum(self, axis=_axis_kw(axis, dim, "cumsum"), dtype=dtype)

    def cumprod(self, axis=None, dtype=None, *, dim=None):
        return cnp.cumprod(self, axis=_axis_kw(axis, dim, "cumprod"), dtype=dtype)

    def logsumexp(self, dim, keepdim: bool = False):
        m = undifferentiated(cnp.max(self, axis=_dims(dim), keepdims=True))
        m = cnp.where(cnp.isfinite(m), m, 0)
        out = cnp.log(cnp.sum(cnp.exp(self - m), axis=_dims(dim), keepdims=True)) + m
        return out if keepdim else cnp.squeeze(out, _dims(dim))

    def norm(self, p="fro", dim=None, keepdim: bool = False, dtype=None):
        """PyTorch's ``Tensor.norm``: the vector p-norm over ``dim`` (all elements by
        default; 'fro' is 2), ``inf`` the largest magnitude."""
        dim = _dims(dim)
        x = self if dtype is None else cnp.astype(self, dtype)
        if p == "fro" or p == 2:
            return cnp.sqrt(cnp.sum(cnp.abs(x) ** 2 if x.dtype.kind == "c" else x * x, axis=dim, keepdims=keepdim))
        if p == "nuc":
            return cnp.linalg.norm(x, "nuc", axis=dim, keepdims=keepdim)
        a = cnp.abs(x)
        if p == float("inf"):
            return cnp.max(a, axis=dim, keepdims=keepdim)
        if p == float("-inf"):
            return cnp.min(a, axis=dim, keepdims=keepdim)
        if p == 0:
            return cnp.sum(cnp.astype(a != 0, x.dtype), axis=dim, keepdims=keepdim)
        if p == 1:
            return cnp.sum(a, axis=dim, keepdims=keepdim)
        return cnp.sum(a ** p, axis=dim, keepdims=keepdim) ** (1.0 / p)

    def softmax(self, dim: int):
        return _softmax(self, dim)

    def log_softmax(self, dim: int):
        return _log_softmax(self, dim)

    # -- sorting --------------------------------------------------------------------------------
    def sort(self, pos=None, /, kind=None, *, axis=None, dim=None, descending: bool | None = None,
             stable: bool = False):
        """PyTorch's sort, (values, indices), with its keywords or on an eager Tensor;
        NumPy's in-place ``ndarray.sort`` with ``axis=``/``kind=`` or inside the transforms."""
        torch_kw = dim is not None or descending is not None or stable
        if not torch_kw and (axis is not None or kind is not None or not _eager(self)):
            where = -1 if pos is None and axis is None else (pos if axis is None else axis)
            eager.inplace(self, lambda a, how: cnp.sort(a, axis=how[0], kind=how[1]), (where, kind), "sort")
            return None
        d = -1 if dim is None and pos is None else (pos if dim is None else dim)
        key = undifferentiated(self)
        order = _as_eager(self, cnp.argsort(-key if descending else key, axis=d, kind="stable"))
        return values_indices(cnp.take_along_axis(self, order, axis=d), order)

    def argsort(self, axis=-1, kind=None, order=None, *, dim=None, descending: bool = False, stable: bool = False):
        d = _axis_kw(None if axis == -1 and dim is not None else axis, dim, "argsort")
        key = undifferentiated(self)
        return _as_eager(self, cnp.argsort(-key if descending else key, axis=d,
                                           kind="stable" if (stable or descending) else kind))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
        key = undifferentiated(self)
        order = cnp.argsort(-key if largest else key, axis=dim, kind="stable")
        idx = _as_eager(self, cnp.take(order, np.arange(k), axis=dim))
        return values_indices(cnp.take_along_axis(self, idx, axis=dim), idx)

    def nonzero(self, as_tuple: bool = False):
        """NumPy's tuple of index arrays inside transforms or with ``as_tuple=True``;
        PyTorch's (n, ndim) int64 Tensor on an eager Tensor."""
        if as_tuple or not _eager(self):
            return cnp.nonzero(self)
        return Tensor(np.argwhere(plain(self)).astype(np.int64), EAGER)

    # -- elementwise ----------------------------------------------------------------------------
    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: give at least one of min and max")
        return cnp.clip(self, min, max)

    def clamp_min(self, min):
        return cnp.maximum(self, min)

    def clamp_max(self, max):
        return cnp.minimum(self, max)

    def add(self, other, alpha=1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return self - (other if alpha == 1 else other * alpha)

    subtract = sub

    def mul(self, other):
        return self * other

    multiply = mul

    def div(self, other, rounding_mode=None):
        if rounding_mode == "floor":
            return _as_eager(self, cnp.floor_divide(self, other))
        if rounding_mode == "trunc":
            return cnp.trunc(self / other)
        return self / other

    divide = true_divide = div

    def pow(self, exponent):
        return self ** exponent

    def square(self):
        return self * self

    def rsqrt(self):
        return 1.0 / cnp.sqrt(self)

    def reciprocal(self):
        return 1.0 / self

    def neg(self):
        return -self

    negative = neg

    def sign(self):
        return cnp.sign(self)

    def floor(self):
        return cnp.floor(self)

    def ceil(self):
        return cnp.ceil(self)

    def trunc(self):
        return cnp.trunc(self)

    def frac(self):
        return self - cnp.trunc(self)

    def log1p(self):
        return cnp.log1p(self)

    def expm1(self):
        return cnp.expm1(self)

    def log2(self):
        return cnp.log2(self)

    def log10(self):
        return cnp.log10(self)

    def tan(self):
        return cnp.tan(self)

    def sinh(self):
        return cnp.sinh(self)

    def cosh(self):
        return cnp.cosh(self)

    def asin(self):
        return cnp.arcsin(self)

    def acos(self):
        return cnp.arccos(self)

    def atan(self):
        return cnp.arctan(self)

    def absolute(self):
        return cnp.abs(self)

    def maximum(self, other):
        return cnp.maximum(self, other)

    def minimum(self, other):
        return cnp.minimum(self, other)

    def lerp(self, end, weight):
        return self + weight * (end - self)

    def matmul(self, other):
        return cnp.matmul(self, other)

    mm = bmm = matmul

    def mv(self, vec):
        return cnp.matmul(self, vec)

    def outer(self, other):
        return cnp.outer(self, other)

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def logical_not(self):
        return _as_eager(self, cnp.logical_not(self))

    def logical_and(self, other):
        return _as_eager(self, cnp.logical_and(self, other))

    def logical_or(self, other):
        return _as_eager(self, cnp.logical_or(self, other))

    def isnan(self):
        return _as_eager(self, cnp.isnan(self))

    def isinf(self):
        return _as_eager(self, cnp.isinf(self))

    def isfinite(self):
        return _as_eager(self, cnp.isfinite(self))

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return cnp.nan_to_num(self, nan=nan, posinf=posinf, neginf=neginf)

    def allclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
        return bool(np.allclose(plain(self), plain(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    def equal(self, other) -> bool:
        return bool(np.shape(plain(self)) == np.shape(plain(other)) and np.array_equal(plain(self), plain(other)))

    # -- in place -------------------------------------------------------------------------------
    def clamp_(self, min=None, max=None):
        return eager.inplace(self, lambda a, b: cnp.clip(a, *b), (min, max), "clamp_")

    def clamp_min_(self, min):
        return eager.inplace(self, cnp.maximum, min, "clamp_min_")

    def clamp_max_(self, max):
        return eager.inplace(self, cnp.minimum, max, "clamp_max_")

    def masked_fill_(self, mask, value):
        mask = plain(mask)
        return eager.inplace(self, lambda a, v: _masked_fill(a, mask, v), value, "masked_fill_")

    def pow_(self, exponent):
        return eager.inplace(self, lambda a, e: a ** e, exponent, "pow_")

    def lerp_(self, end, weight):
        return eager.inplace(self, lambda a, e: a + weight * (e - a), end, "lerp_")

    def addcmul_(self, tensor1, tensor2, value=1):
        return eager.inplace(self, lambda a, b: a + value * b, tensor1 * tensor2, "addcmul_")

    def addcdiv_(self, tensor1, tensor2, value=1):
        return eager.inplace(self, lambda a, b: a + value * b, tensor1 / tensor2, "addcdiv_")

    def uniform_(self, a=0.0, b=1.0, generator=None):
        rng = np.random.default_rng(generator) if not isinstance(generator, np.random.Generator) else generator
        return eager.inplace(self, lambda x, _: rng.uniform(a, b, np.shape(x)).astype(x.dtype), None, "uniform_")

    def normal_(self, mean=0.0, std=1.0, generator=None):
        rng = np.random.default_rng(generator) if not isinstance(generator, np.random.Generator) else generator
        return eager.inplace(self, lambda x, _: rng.normal(mean, std, np.shape(x)).astype(x.dtype), None,
                             "normal_")

    exp_ = _unary_(cnp.exp, "exp_")
    log_ = _unary_(cnp.log, "log_")
    sqrt_ = _unary_(cnp.sqrt, "sqrt_")
    abs_ = _unary_(cnp.abs, "abs_")
    neg_ = _unary_(cnp.negative, "neg_")
    tanh_ = _unary_(cnp.tanh, "tanh_")
    sigmoid_ = _unary_(activations.sigmoid, "sigmoid_")
    relu_ = _unary_(activations.relu, "relu_")
    floor_ = _unary_(cnp.floor, "floor_")
    round_ = _unary_(cnp.round, "round_")
    reciprocal_ = _unary_(lambda a: 1.0 / a, "reciprocal_")
    sign_ = _unary_(cnp.sign, "sign_")
    square_ = _unary_(lambda a: a * a, "square_")
