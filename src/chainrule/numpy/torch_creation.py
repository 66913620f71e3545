"""PyTorch's creation and joining functions, for the eager layer: ``chainrule.zeros(2, 3)``,
``chainrule.randn(4, requires_grad=True)``, ``chainrule.cat([a, b], dim=1)``, ... with
PyTorch's arguments (sizes as ``*args`` or one sequence, ``dim=``, ``requires_grad=``,
``generator=``), returning eager Tensors.

Floating-point results are float64 (NumPy's default, as ``chainrule.tensor(1.5)``) unless
``chainrule.set_default_dtype`` set another; integer ones (``arange(5)``, ``randint``)
int64. Random ones draw from the global generator, which ``chainrule.manual_seed`` seeds
(NumPy's numbers: the same seed gives other values than PyTorch's), or from
``generator=`` (a NumPy Generator or an int seed). The joining functions differentiate.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import as_dtype, check_cpu, default_complex_dtype
from chainrule.core.eager import EAGER, default_float_dtype, set_requires_grad
from chainrule.core.rng import drawing_maps
from chainrule.core.tensor import Tensor
from chainrule.core.values import plain
from chainrule.numpy import draws
from chainrule.numpy.nondiff import anywhere
from chainrule.numpy.torch_common import as_shape, axis_or_dim, filled_like, held_as_tensor, sharing_tensor
from chainrule.numpy.torch_promotion import result_type

__all__ = [
    "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like",
    "arange", "linspace", "logspace", "tril_indices", "triu_indices", "eye", "randn", "normal", "rand", "randint",
    "randperm", "randn_like",
    "rand_like",
    "from_numpy", "cat", "concat", "stack", "memory_format", "preserve_format", "contiguous_format",
    "channels_last", "channels_last_3d", "DTYPES", "dtype", "finfo", "iinfo", "is_tensor",
]


# PyTorch's dtype names (``torch.float32``, ``torch.long``, ...) as the NumPy dtypes they
# are here: ``cr.tensor(x, dtype=cr.float32)``, ``x.to(cr.int64)``, ``x.dtype == cr.float64``.
DTYPES = {
    **{name: np.dtype(name) for name in (
        "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "complex64", "complex128")},
    "half": np.dtype("float16"), "float": np.dtype("float32"), "double": np.dtype("float64"),
    "short": np.dtype("int16"), "int": np.dtype("int32"), "long": np.dtype("int64"), "bool": np.dtype(bool),
    "cfloat": np.dtype("complex64"), "cdouble": np.dtype("complex128"),
}

# torch.dtype, the class of those: HF's signatures annotate ``dtype: torch.dtype`` (read
# when the function is defined) and check ``isinstance(torch_dtype, torch.dtype)``
dtype = np.dtype


iinfo = np.iinfo  # torch.iinfo(dtype).max, .min, .bits: Python ints, as PyTorch's


class finfo:  # noqa: N801 (PyTorch's name)
    """The limits of a floating dtype, as ``torch.finfo``: ``bits``, ``eps``, ``max``,
    ``min``, ``tiny`` (= ``smallest_normal``) and ``resolution`` as Python numbers, so that
    ``cr.tensor(cr.finfo(cr.float32).min)`` takes the default dtype as PyTorch's does (NumPy's
    finfo gives float32 scalars, which would keep float32); no dtype: the default one.

    >>> import chainrule as cr
    >>> cr.finfo(cr.float16).max, cr.tensor(cr.finfo(cr.float32).min).dtype
    (65504.0, dtype('float64'))
    """

    def __init__(self, type=None):  # noqa: A002 (PyTorch's keyword)
        info = np.finfo(_float(type))
        self.bits = int(info.bits)
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = info.dtype.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, eps={self.eps}, "
                f"smallest_normal={self.smallest_normal}, tiny={self.tiny}, dtype={self.dtype})")


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a Tensor, as ``torch.is_tensor``.

    >>> import chainrule as cr
    >>> cr.is_tensor(cr.zeros(2)), cr.is_tensor([0.0])
    (True, False)
    """
    return isinstance(obj, Tensor)


def _float(dtype) -> np.dtype:
    return default_float_dtype() if dtype is None else as_dtype(dtype)


def _made(value, requires_grad: bool) -> Tensor:
    t = Tensor(np.asarray(value), EAGER)
    if requires_grad:
        set_requires_grad(t, True)
    return t


def zeros(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Zeros of the given size (``zeros(2, 3)`` or ``zeros((2, 3))``).

    >>> import chainrule as cr
    >>> cr.zeros(2, 3).shape, cr.zeros(2).dtype
    (torch.Size([2, 3]), dtype('float64'))
    """
    check_cpu(device, "zeros")
    return _made(np.zeros(as_shape(size), _float(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Ones of the given size.

    >>> import chainrule as cr
    >>> cr.ones(2).tolist()
    [1.0, 1.0]
    """
    check_cpu(device, "ones")
    return _made(np.ones(as_shape(size), _float(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A Tensor of the given size to be filled (its values are zeros here).

    >>> import chainrule as cr
    >>> cr.empty(3).shape
    torch.Size([3])
    """
    check_cpu(device, "empty")
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """``fill_value`` everywhere; the dtype follows it (a bool, an int, a float or a complex
    number), as in PyTorch.

    >>> import chainrule as cr
    >>> cr.full((2,), 7).tolist(), cr.full((1,), 0.5).dtype, cr.full((1,), 2j).dtype
    ([7, 7], dtype('float64'), dtype('complex128'))
    """
    check_cpu(device, "full")
    if dtype is None:
        dtype = np.bool_ if isinstance(fill_value, bool | np.bool_) else (
            np.int64 if isinstance(fill_value, int | np.integer) else
            default_complex_dtype() if isinstance(fill_value, complex | np.complexfloating) else _float(None))
    shape = tuple(size) if isinstance(size, list | tuple) else (int(size),)
    return _made(np.full(shape, plain(fill_value), as_dtype(dtype)), requires_grad)


class memory_format:
    """PyTorch's memory layouts (``chainrule.preserve_format``, ``contiguous_format``,
    ``channels_last``, ``channels_last_3d``): accepted where PyTorch takes
    ``memory_format=`` (``zeros_like``, ``clone``, ``contiguous``, ``to``), and changing
    nothing, an array's layout being NumPy's."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"chainrule.{self.name}"

    def __reduce__(self):
        return self.name


preserve_format = memory_format("preserve_format")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def zeros_like(t, dtype=None, requires_grad: bool = False, device=None, memory_format=None) -> Tensor:
    """Zeros of ``t``'s shape and dtype.

    >>> import chainrule as cr
    >>> cr.zeros_like(cr.ones(2, dtype="float32")).dtype
    dtype('float32')
    """
    check_cpu(device, "zeros_like")
    return _like(t, 0, dtype, requires_grad)


def ones_like(t, dtype=None, requires_grad: bool = False, device=None, memory_format=None) -> Tensor:
    """Ones of ``t``'s shape and dtype.

    >>> import chainrule as cr
    >>> cr.ones_like(cr.zeros(2)).tolist()
    [1.0, 1.0]
    """
    check_cpu(device, "ones_like")
    return _like(t, 1, dtype, requires_grad)


def empty_like(t, dtype=None, requires_grad: bool = False, device=None, memory_format=None) -> Tensor:
    """A Tensor of ``t``'s shape and dtype to be filled (zeros here).

    >>> import chainrule as cr
    >>> cr.empty_like(cr.zeros(2, 2)).shape
    torch.Size([2, 2])
    """
    check_cpu(device, "empty_like")
    return zeros_like(t, dtype, requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad: bool = False, device=None, memory_format=None) -> Tensor:
    """``fill_value`` in ``t``'s shape and dtype.

    >>> import chainrule as cr
    >>> cr.full_like(cr.zeros(2), 3).tolist()
    [3.0, 3.0]
    """
    check_cpu(device, "full_like")
    return _like(t, fill_value, dtype, requires_grad)


def _like(t, fill_value, dtype, requires_grad: bool) -> Tensor:
    """``fill_value`` in ``t``'s shape and dtype (``dtype`` if given); under vmap, batched as
    ``t`` is (:func:`~chainrule.numpy.torch_common.filled_like`)."""
    made = filled_like(t, plain(fill_value), as_dtype(dtype))
    if requires_grad and made._trace is EAGER:  # (a batched one is a value of the map, not a leaf)
        set_requires_grad(made, True)
    return made


def _shape(t) -> tuple:
    """``t``'s shape (an example's, under vmap)."""
    return tuple(t.shape) if isinstance(t, Tensor) else np.shape(t)


def _dtype(t) -> np.dtype:
    return t.dtype if isinstance(t, Tensor | np.ndarray) else np.result_type(t)


def arange(start, end=None, step=1, *, out=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """``start, start + step, ...`` below ``end`` (``arange(n)``: 0 to n − 1); int64 when
    every bound is an integer, floating point otherwise, as in PyTorch. With ``out=`` (a
    Tensor of the result's size, as in ``torch.arange(n, out=torch.LongTensor(n))``) the
    values are written into it, in its dtype, and it is returned.

    >>> import chainrule as cr
    >>> cr.arange(3).tolist(), cr.arange(0, 1, 0.5).tolist()
    ([0, 1, 2], [0.0, 0.5])
    """
    check_cpu(device, "arange")
    if end is None:
        start, end = 0, start
    bounds = (plain(start), plain(end), plain(step))
    if dtype is None and out is not None:
        dtype = out.dtype
    if dtype is None:
        exact = all(isinstance(b, int | np.integer) or (isinstance(b, np.ndarray) and b.dtype.kind in "iu")
                    for b in bounds)
        dtype = np.int64 if exact else _float(None)
    result = _made(np.arange(*bounds, dtype=as_dtype(dtype)), requires_grad)
    if out is None:
        return result
    if not isinstance(out, Tensor) or tuple(out.shape) != tuple(result.shape) or out.dtype != result.dtype:
        raise TypeError(f"arange(..., out=...): out must be a Tensor of the result's size {tuple(result.shape)} "
                        f"and dtype {result.dtype}; got {type(out).__name__} {tuple(getattr(out, 'shape', ()))}. "
                        f"Assign the result instead: x = torch.arange(...)")
    return out.copy_(result)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included.

    >>> import chainrule as cr
    >>> cr.linspace(0, 1, 3).tolist()
    [0.0, 0.5, 1.0]
    """
    check_cpu(device, "linspace")
    return _made(np.linspace(plain(start), plain(end), int(steps), dtype=_float(dtype)), requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, dtype=None, requires_grad: bool = False,
             device=None) -> Tensor:
    """``steps`` values from ``base ** start`` to ``base ** end``, evenly spaced in the exponent.

    >>> import chainrule as cr
    >>> cr.logspace(0, 2, 3).tolist()
    [1.0, 10.0, 100.0]
    """
    check_cpu(device, "logspace")
    return _made(np.logspace(plain(start), plain(end), int(steps), base=base, dtype=_float(dtype)), requires_grad)


def tril_indices(row: int, col: int, offset: int = 0, dtype=None, device=None) -> Tensor:
    """The (2, N) row and column indices of the lower triangle of a ``row`` × ``col`` matrix
    (``offset`` diagonals above or below the main one), as PyTorch's.

    >>> import chainrule as cr
    >>> cr.tril_indices(2, 2).tolist()
    [[0, 1, 1], [0, 0, 1]]
    """
    check_cpu(device, "tril_indices")
    return _made(np.array(np.tril_indices(int(row), int(offset), int(col)), dtype=as_dtype(dtype) or np.int64),
                 False)


def triu_indices(row: int, col: int, offset: int = 0, dtype=None, device=None) -> Tensor:
    """The (2, N) row and column indices of the upper triangle (as :func:`tril_indices`).

    >>> import chainrule as cr
    >>> cr.triu_indices(2, 2).tolist()
    [[0, 0, 1], [0, 1, 1]]
    """
    check_cpu(device, "triu_indices")
    return _made(np.array(np.triu_indices(int(row), int(offset), int(col)), dtype=as_dtype(dtype) or np.int64),
                 False)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """The n × m identity (m = n by default).

    >>> import chainrule as cr
    >>> cr.eye(2).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    check_cpu(device, "eye")
    return _made(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def _through_noise(kind: str, generator, shape, dtype, requires_grad: bool, *params) -> Tensor:
    """Draws through the one door of every draw (:func:`chainrule.numpy.draws.noise`):
    recorded under chainrule.jit (each replay draws anew from ``generator``, the numbers
    the plain call draws) and per example under torch.func's ``vmap(...,
    randomness="different")``. A draw that requires grad outside such a map is the plain
    call's leaf: drawn as it is."""
    t = draws.noise(kind, shape, dtype, *params, generator=generator, eager=True,
                    record=not requires_grad or bool(drawing_maps()))
    if requires_grad and t._trace is EAGER:
        set_requires_grad(t, True)
    return t


def _loc_scale_normal(rng, mean, std, size):
    return mean + std * rng.standard_normal(size)


draws.SAMPLERS["loc_scale_normal"] = _loc_scale_normal


def randn(*size, generator=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Standard normal draws of the given size.

    >>> import chainrule as cr
    >>> _ = cr.manual_seed(0); a = cr.randn(2, 3)
    >>> _ = cr.manual_seed(0); b = cr.randn(2, 3)
    >>> a.shape, a.equal(b)
    (torch.Size([2, 3]), True)
    """
    check_cpu(device, "randn")
    return _through_noise("standard_normal", generator, as_shape(size), _float(dtype), requires_grad)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, requires_grad: bool = False,
           device=None) -> Tensor:
    """``torch.normal``: draws of N(mean, std²), ``mean`` and ``std`` Tensors (broadcast
    together, their dtype) or numbers (then ``size`` gives the shape, of the default floating
    dtype). The draws are not differentiated (PyTorch's derivative in ``mean`` and ``std`` is 0).

    >>> import chainrule as cr
    >>> cr.normal(cr.zeros(3), 1.0).shape, cr.normal(2.0, 3.0, size=(2, 2)).shape
    (torch.Size([3]), torch.Size([2, 2]))
    """
    check_cpu(device, "normal")
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if size is not None:
        if tensors:
            raise RuntimeError("normal(mean, std, size): size is for a mean and std given as numbers")
        shape, kind = as_shape((size,)), _float(dtype)
    elif not tensors:
        raise TypeError("normal(mean, std) of two numbers needs size=, the shape to draw")
    else:
        shape = np.broadcast_shapes(np.shape(mean), np.shape(std))
        kind = np.result_type(*(t.dtype for t in tensors)) if dtype is None else as_dtype(dtype)
    if anywhere(cnp.less(std, 0)):
        raise RuntimeError(f"normal expects all elements of std >= 0.0, got {plain(std)}")
    return _through_noise("loc_scale_normal", generator, shape, kind, requires_grad, mean, std)


def rand(*size, generator=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Uniform draws on [0, 1) of the given size.

    >>> import chainrule as cr
    >>> bool(((cr.rand(100) >= 0) & (cr.rand(100) < 1)).all())
    True
    """
    check_cpu(device, "rand")
    return _through_noise("random", generator, as_shape(size), _float(dtype), requires_grad)


def randint(low, high=None, size=(), generator=None, dtype=np.int64, requires_grad: bool = False,
            device=None) -> Tensor:
    """Integers drawn uniformly from [low, high) (``randint(high, size)``: from 0).

    >>> import chainrule as cr
    >>> cr.randint(0, 3, (4,)).shape
    torch.Size([4])
    """
    check_cpu(device, "randint")
    if high is None:
        low, high = 0, low
    if isinstance(high, tuple | list):  # randint(high, size)
        low, high, size = 0, low, high
    return _through_noise("integers", generator, tuple(size), as_dtype(dtype), requires_grad, low, high)


def randperm(n: int, generator=None, dtype=np.int64, device=None) -> Tensor:
    """The integers 0 to n − 1 in a random order.

    >>> import chainrule as cr
    >>> sorted(cr.randperm(4).tolist())
    [0, 1, 2, 3]
    """
    check_cpu(device, "randperm")
    return _through_noise("permutation", generator, (), as_dtype(dtype), False, int(n))


def randn_like(t, generator=None, dtype=None, requires_grad: bool = False, device=None, memory_format=None) -> Tensor:
    """Standard normal draws of ``t``'s shape and dtype.

    >>> import chainrule as cr
    >>> cr.randn_like(cr.zeros(2, dtype="float32")).dtype
    dtype('float32')
    """
    check_cpu(device, "randn_like")
    return randn(*_shape(t), generator=generator, dtype=as_dtype(dtype) or _dtype(t),
                 requires_grad=requires_grad)


def rand_like(t, generator=None, dtype=None, requires_grad: bool = False, device=None, memory_format=None) -> Tensor:
    """Uniform draws on [0, 1) of ``t``'s shape and dtype.

    >>> import chainrule as cr
    >>> cr.rand_like(cr.zeros(3)).shape
    torch.Size([3])
    """
    check_cpu(device, "rand_like")
    return rand(*_shape(t), generator=generator, dtype=as_dtype(dtype) or _dtype(t),
                requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """An eager Tensor that shares ``array``'s memory (a write into one shows in the other;
    inside ``chainrule.jit``, of an array argument, on every replay too).

    >>> import chainrule as cr, numpy as np
    >>> a = np.zeros(2); t = cr.from_numpy(a); _ = t.add_(1); a.tolist()
    [1.0, 1.0]
    """
    shared = sharing_tensor(array)
    if shared is None:
        kind = type(array._value if isinstance(array, Tensor) and not held_as_tensor(array) else array).__name__
        raise TypeError(f"from_numpy expects a numpy.ndarray, not {kind}; use chainrule.tensor")
    return shared


def _joined(result) -> Tensor:
    return result if isinstance(result, Tensor) else Tensor(np.asarray(result), EAGER)


def cat(tensors, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """The Tensors joined along the existing dimension ``dim`` (differentiable; ``axis=``
    is PyTorch's NumPy-style alias of ``dim``, as in ``torch.cat([a, b], axis=-1)``).

    >>> import chainrule as cr
    >>> cr.cat([cr.zeros(1, 2), cr.ones(2, 2)]).shape
    torch.Size([3, 2])

    As PyTorch's, an empty 1-d Tensor among them is passed over (``out = cr.tensor([])``,
    then ``out = cr.cat([out, batch])`` in a loop), its dtype still taking part in the result's.
    """
    dim = axis_or_dim(axis, dim, "cat") or 0
    tensors = list(tensors)
    empty = [np.ndim(t) == 1 and np.shape(t)[0] == 0 for t in tensors]
    kept = tensors
    if any(empty) and not all(empty) and any(np.ndim(t) != 1 for t in tensors):
        kept = [t for t, e in zip(tensors, empty, strict=True) if not e]
    elif tensors and all(empty):  # all passed over: any dim goes, as in PyTorch
        dim = 0
    return _promoted(cnp.concatenate(kept, axis=dim), tensors)


def _promoted(joined, tensors) -> Tensor:
    """``joined`` in the dtype PyTorch gives the joining of ``tensors`` (float32 with int64 is
    float32, where NumPy's is float64)."""
    dtype = result_type(*tensors) or joined.dtype
    return _joined(joined if joined.dtype == dtype else cnp.astype(joined, dtype))


concat = cat


def stack(tensors, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """The Tensors (all of one shape) stacked along a new dimension ``dim`` (differentiable;
    ``axis=`` its alias, as in PyTorch).

    >>> import chainrule as cr
    >>> cr.stack([cr.zeros(2), cr.ones(2)], dim=1).shape
    torch.Size([2, 2])
    """
    tensors = list(tensors)
    return _promoted(cnp.stack(tensors, axis=axis_or_dim(axis, dim, "stack") or 0), tensors)
