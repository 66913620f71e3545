"""PyTorch's counting, sampling and in-place indexed-write methods on chainrule's Tensor:
``unique``, ``bincount``, ``multinomial``, ``bernoulli``, and ``scatter_``,
``scatter_add_``, ``index_add_``, ``index_copy_``, ``index_fill_``, ``index_put_``,
``clip_``, each the in-place form of the out-of-place method (written through
:func:`chainrule.core.eager.inplace`, which keeps the graph honest).
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core import eager
from chainrule.core.eager import EAGER
from chainrule.core.errors import TensorError
from chainrule.core.rng import get_generator, randomness_of
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain
from chainrule.numpy.draws import noise
from chainrule.numpy.selection import clamp
from chainrule.numpy.torch_common import index_operand, same_dtype

__all__ = ["TorchSelectMethods", "torch_index", "torch_split"]


def _is_int(entry) -> bool:
    return isinstance(entry, int | np.integer) and not isinstance(entry, bool | np.bool_)


def _as_int(entry):
    """A 0-d integer Tensor or array as the int it holds (PyTorch reads it as one in an
    index); any other entry as it is."""
    if isinstance(entry, Tensor | np.ndarray) and entry.ndim == 0 and entry.dtype.kind in "iu" \
            and not _traced(entry):
        return int(plain(entry))
    return entry


def torch_split(index: tuple):
    """PyTorch's reading of an index that mixes integers (and 0-d integer Tensors) with
    advanced indices (lists, arrays, Tensors): a select by the integers first, then the
    rest, as ``(first, rest)``; None where PyTorch and NumPy read it alike. An index that
    a transform traces (batched under vmap) counts as advanced, as it has no int value."""
    index = tuple(_as_int(e) for e in index)
    ints = advanced = False
    for entry in index:
        if _is_int(entry):
            ints = True
        elif entry is not None and entry is not Ellipsis and not isinstance(entry, slice):
            advanced = True
    if not (ints and advanced):
        return None
    first = tuple(e if _is_int(e) else Ellipsis if e is Ellipsis else slice(None) for e in index if e is not None)
    return first, tuple(e for e in index if not _is_int(e))


def torch_index(shape: tuple, index):
    """PyTorch's meaning of ``x[index]`` for an index that mixes integers with advanced
    indices: PyTorch takes the integers (and 0-d integer Tensors) as basic indexing, a
    select, before the advanced indices, where NumPy counts them among the advanced ones
    and may move the broadcast axes to the front (``x[1, :, [0, 2]]`` of a (2, 3, 4)
    Tensor is (3, 2) in PyTorch, (2, 3) in NumPy). Returns the same selection as a tuple
    of integer arrays in PyTorch's layout (for reading and writing alike), or None where
    there is nothing to change (and for an index that a transform traces: see
    :func:`torch_split`)."""
    if type(index) is not tuple or any(_traced(e) for e in index):
        return None
    split = torch_split(index)
    if split is None:  # a 0-d integer Tensor alone selects, as an int (a view)
        given, index = index, tuple(_as_int(e) for e in index)
        return None if all(a is b for a, b in zip(index, given, strict=True)) else index
    first, rest = split
    rest = tuple(plain(e) if isinstance(e, Tensor) else e for e in rest)
    explicit = sum(1 for e in first if e is not Ellipsis)
    entries: list = []
    for e in first:  # one entry per axis: the Ellipsis spelled out, the axes after it too
        entries += [slice(None)] * (len(shape) - explicit) if e is Ellipsis else [e]
    if len(entries) > len(shape):
        raise IndexError(f"too many indices for a Tensor of dimension {len(shape)}")
    entries += [slice(None)] * (len(shape) - len(entries))
    kept = [d for d, e in enumerate(entries) if not _is_int(e)]
    sub = tuple(shape[d] for d in kept)
    # each axis's coordinates at the selected elements, read from a broadcast (not
    # allocated) grid of the axes the integers leave, in PyTorch's layout
    coords = []
    for d, e in enumerate(entries):
        if _is_int(e):
            coords.append(e)
        else:
            k = kept.index(d)
            grid = np.arange(shape[d]).reshape([-1 if j == k else 1 for j in range(len(sub))])
            coords.append(np.broadcast_to(grid, sub)[rest])
    return tuple(coords)


def _traced(entry) -> bool:
    return isinstance(entry, Tensor) and entry._trace is not EAGER


def _multinomial(weights, num_samples: int, replacement: bool, generator) -> np.ndarray:
    """``multinomial``'s draws from plain ``weights`` (1-d or 2-d)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim not in (1, 2) or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise RuntimeError("multinomial: the weights must be a 1-d or 2-d Tensor of finite, non-negative "
                           "numbers")
    rows = w.reshape(-1, w.shape[-1])
    if np.any(rows.sum(axis=1) <= 0):
        raise RuntimeError("multinomial: each row of weights needs a positive sum")
    if not replacement and num_samples > w.shape[-1]:
        raise RuntimeError(f"multinomial: cannot draw {num_samples} samples of {w.shape[-1]} categories "
                           "without replacement")
    rng = get_generator(generator)
    if replacement:
        samples = [rng.choice(len(r), size=num_samples, p=r / r.sum()) for r in rows]
    else:  # one after another: the smallest of exponential draws scaled by 1/weight (zeros last)
        with np.errstate(divide="ignore"):
            keys = rng.exponential(size=rows.shape) / rows
        samples = [np.lexsort((rng.random(len(k)), k))[:num_samples] for k in keys]
    return np.reshape(samples, w.shape[:-1] + (num_samples,)).astype(np.int64)


def _refuse_same_draws(probabilities) -> None:
    """Draws from probabilities that differ between the examples of a vmap with
    ``randomness="same"``, which cannot share one draw: refused, as PyTorch refuses them."""
    if isinstance(probabilities, Tensor) and probabilities._trace.batches \
            and randomness_of(probabilities._trace) == "same":
        raise RuntimeError("Vmap does not currently support same randomness with a batched tensor input. Use "
                           "randomness='different', or draw outside vmap")


def _int64(values) -> Tensor:
    return Tensor(np.asarray(values).astype(np.int64), EAGER)


def _written(method):
    """The in-place form's operation: ``method(tensor, other)`` on the values being
    written, which :func:`~chainrule.core.eager.inplace` hands over as a plain array where
    no graph is recorded (and takes back as one)."""
    def op(a, other):
        if isinstance(a, Tensor):
            return method(a, other)
        return plain(method(Tensor(a, EAGER), other))
    return op


class TorchSelectMethods:
    """Set on Tensor with the other PyTorch methods (:mod:`chainrule.numpy.torch_methods`)."""

    # -- counting (no derivative) -----------------------------------------------------------
    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
               dim: int | None = None):
        """The distinct values, sorted, as PyTorch's ``unique`` (with ``return_inverse``,
        the index of each element's value; with ``return_counts``, how often each occurs).

        >>> import chainrule as cr
        >>> values, counts = cr.tensor([3, 1, 3]).unique(return_counts=True)
        >>> values.tolist(), counts.tolist()
        ([1, 3], [1, 2])
        """
        out = np.unique(plain(self), return_inverse=return_inverse, return_counts=return_counts, axis=dim)
        if not (return_inverse or return_counts):
            return Tensor(out, EAGER)
        values, *rest = out
        if return_inverse:
            rest[0] = rest[0].reshape(np.shape(plain(self)) if dim is None else -1)
        return (Tensor(values, EAGER), *(_int64(r) for r in rest))

    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None):
        """The values with each run of equal consecutive ones (elements, or slices along
        ``dim``) kept once, as PyTorch's ``unique_consecutive`` (``return_inverse``: the run
        each element belongs to; ``return_counts``: the length of each run).

        >>> import chainrule as cr
        >>> values, counts = cr.tensor([1, 1, 2, 1]).unique_consecutive(return_counts=True)
        >>> values.tolist(), counts.tolist()
        ([1, 2, 1], [2, 1, 1])
        """
        a = np.asarray(plain(self))
        if dim is None:
            runs, shape = a.reshape(-1), a.shape
            starts = np.ones(runs.shape[0], bool)
            starts[1:] = runs[1:] != runs[:-1]
            values = runs[starts]
        else:
            axis = dim % max(a.ndim, 1)
            runs = np.moveaxis(a, axis, 0)
            shape = (runs.shape[0],)
            starts = np.ones(runs.shape[0], bool)
            slice_size = int(np.prod(runs.shape[1:]))  # (-1 cannot be read off an empty array)
            starts[1:] = (runs[1:] != runs[:-1]).reshape(max(runs.shape[0] - 1, 0), slice_size).any(axis=1)
            values = np.moveaxis(runs[starts], 0, axis)
        out = [Tensor(values, EAGER)]
        if return_inverse:
            out.append(_int64((np.cumsum(starts) - 1).reshape(shape)))
        if return_counts:
            out.append(_int64(np.diff(np.append(np.flatnonzero(starts), starts.shape[0]))))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights=None, minlength: int = 0):
        """How often each value 0, 1, ... occurs in this 1-d integer Tensor (summed
        ``weights`` instead, given them: float32 ones in float32, others in float64, as
        PyTorch's); anything else is refused with PyTorch's RuntimeError."""
        x = np.asarray(plain(self))
        if x.ndim != 1 or x.dtype.kind not in "iu" or (x.size and x.min() < 0):
            raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got a {x.ndim}-d "
                               f"{x.dtype} Tensor" + (" with negative values" if x.dtype.kind in "iu" and x.ndim == 1
                                                      else ""))
        if minlength < 0:
            raise RuntimeError(f"bincount: minlength should be >= 0, got {minlength}")
        w = None if weights is None else np.asarray(plain(weights))
        if w is not None and w.shape != x.shape:
            raise RuntimeError(f"bincount: weights should be 1-d and have the same length as input, got shapes "
                               f"{w.shape} and {x.shape}")
        counts = np.bincount(x, w, minlength)
        if w is None:
            return Tensor(counts.astype(np.int64), EAGER)
        return Tensor(counts.astype(np.float32 if w.dtype == np.float32 else np.float64), EAGER)

    # -- sampling ---------------------------------------------------------------------------
    def multinomial(self, num_samples: int, replacement: bool = False, *, generator=None):
        """Category indices drawn with probabilities proportional to this Tensor's
        (non-negative) entries, ``num_samples`` per row, as PyTorch's ``multinomial``;
        from ``generator`` or the global generator that ``chainrule.manual_seed`` seeds.

        >>> import chainrule as cr
        >>> cr.tensor([0.0, 1.0, 0.0]).multinomial(2, replacement=True).tolist()
        [1, 1]
        """
        weights = undifferentiated(self)
        if isinstance(weights, Tensor) and weights._trace.batches:  # under vmap: each example draws its own
            _refuse_same_draws(weights)
            return weights._trace.record(_multinomial, (weights, num_samples, replacement, generator), {},
                                         effect="draw", rng=lambda: get_generator(generator))
        return _int64(_multinomial(plain(self), num_samples, replacement, generator))

    def bernoulli(self, p=None, *, generator=None):
        """1 with probability given by this Tensor's entries (or ``p``), else 0, in its dtype."""
        prob = self if p is None else p
        _refuse_same_draws(undifferentiated(prob))
        # (recorded under jit; each example's own under torch.func's vmap)
        draws = noise("random", tuple(self.shape), None, generator=generator) < prob
        draws = cnp.astype(cnp.broadcast_to(draws, self.shape), self.dtype if np.dtype(self.dtype).kind == "f"
                           else np.float64)
        return draws if isinstance(draws, Tensor) else Tensor(draws, EAGER)

    # -- in-place indexed writes: the out-of-place method, written back ----------------------
    # a source of another kind is refused, as PyTorch's, before the write would cast it (1.7 into an int: 1)
    def scatter_(self, dim: int, index, src=None, value=None, reduce=None):
        same_dtype("scatter_", self, src)
        return eager.inplace(self, _written(lambda a, s: a.scatter(dim, index, s, value, reduce)), src, "scatter_")

    def scatter_add_(self, dim: int, index, src):
        same_dtype("scatter_add_", self, src)
        return eager.inplace(self, _written(lambda a, s: a.scatter(dim, index, s, reduce="add")), src, "scatter_add_")

    def scatter_reduce_(self, dim: int, index, src, reduce: str, *, include_self: bool = True):
        same_dtype("scatter_reduce_", self, src)
        return eager.inplace(self, _written(lambda a, s: a.scatter_reduce(dim, index, s, reduce,
                                                                          include_self=include_self)),
                             src, "scatter_reduce_")

    def put_(self, index, source, accumulate: bool = False):
        return eager.inplace(self, _written(lambda a, s: a.put(index, s, accumulate)), source, "put_")

    def index_reduce_(self, dim: int, index, source, reduce: str, *, include_self: bool = True):
        return eager.inplace(self, _written(lambda a, s: a.index_reduce(dim, index, s, reduce,
                                                                        include_self=include_self)),
                             source, "index_reduce_")

    def index_add_(self, dim: int, index, source, alpha=1):
        same_dtype("index_add_", self, source)
        return eager.inplace(self, _written(lambda a, s: a.index_add(dim, index, s, alpha)), source, "index_add_")

    def index_copy_(self, dim: int, index, source):
        same_dtype("index_copy_", self, source)
        return eager.inplace(self, _written(lambda a, s: a.index_copy(dim, index, s)), source, "index_copy_")

    def index_fill_(self, dim: int, index, value):
        return eager.inplace(self, _written(lambda a, v: a.index_fill(dim, index, v)), value, "index_fill_")

    def index_put_(self, indices, values, accumulate: bool = False):
        where = tuple(index_operand(i) for i in indices)
        if accumulate:
            return eager.inplace(self, _written(lambda a, v: a.at[where].add(v)), values, "index_put_")
        return eager.inplace(self, _written(lambda a, v: a.at[where].set(v)), values, "index_put_")

    def index_put(self, indices, values, accumulate: bool = False):
        where = tuple(index_operand(i) for i in indices)
        return self.at[where].add(values) if accumulate else self.at[where].set(values)

    def clip_(self, min=None, max=None):
        if min is None and max is None:
            raise TensorError("clip_: give at least one of min and max")
        return eager.inplace(self, lambda a, b: clamp(a, *b), (min, max), "clip_")


