"""Which of equal values PyTorch's sorting and selection on the CPU return, reproduced.

PyTorch's ``sort`` (not stable), ``topk``, ``kthvalue`` and ``mode`` order the (value,
index) pairs of a row with libstdc++'s ``std::sort`` (an introsort), ``std::partial_sort``
(a heap selection) and ``std::nth_element`` (an introselect), and ATen's own quickselect:
none keeps equal values in their order, and which of them comes first is a function of
the row alone (deterministic). chainrule computes these with NumPy's stable sort and
goes through the same algorithms, written here, only for a row whose ties make the
answer depend on them (:func:`tied_rows`), and only in a call on at most :data:`LONGEST`
elements: the algorithms run in Python, one comparison at a time (a row of 16384 float32
numbers, which holds two equal ones more often than not, took 70 ms to sort this way
against 0.3 ms), so a larger call keeps the stable order.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.numpy.nondiff import unboxing

__all__ = ["LONGEST", "tied_rows", "sort_order", "topk_order", "kth_index", "mode_index", "redo_tied_rows"]

LONGEST = 2048  # elements in one call, all rows together
_THRESHOLD = 16  # libstdc++'s _S_threshold: rows up to it are insertion-sorted (stably)


def tied_rows(rows: np.ndarray) -> np.ndarray:
    """For each row (along the last axis), whether two of its values are equal (0.0 and
    -0.0 are; so are two NaN, for PyTorch's comparators); none where ``rows`` holds more
    than :data:`LONGEST` elements."""
    if rows.shape[-1] < 2 or rows.size > LONGEST:
        return np.zeros(rows.shape[:-1], bool)
    ordered = np.sort(rows, axis=-1)  # (NaN last)
    tied = np.any(ordered[..., 1:] == ordered[..., :-1], axis=-1)
    if rows.dtype.kind in "fc":
        tied |= np.count_nonzero(np.isnan(rows), axis=-1) > 1
    return tied


def _greater(x, y) -> bool:  # PyTorch's order of the largest first: NaN before every number
    return (x[0] != x[0] and y[0] == y[0]) or x[0] > y[0]


def _less(x, y) -> bool:  # and of the smallest first: NaN after every number
    return (x[0] == x[0] and y[0] != y[0]) or x[0] < y[0]


def _plain_less(x, y) -> bool:  # mode's comparator
    return x[0] < y[0]


class _Pairs:
    """libstdc++'s sorting algorithms on a list of (value, index) pairs, step for step."""

    def __init__(self, row, comp):
        self.a = [(v, i) for i, v in enumerate(row.tolist())]
        self.comp = comp

    def _swap(self, i: int, j: int) -> None:
        a = self.a
        a[i], a[j] = a[j], a[i]

    def _linear_insert(self, last: int) -> None:  # __unguarded_linear_insert
        a, comp = self.a, self.comp
        value, before = a[last], last - 1
        while comp(value, a[before]):
            a[last] = a[before]
            last, before = before, before - 1
        a[last] = value

    def _insertion_sort(self, first: int, last: int) -> None:
        a, comp = self.a, self.comp
        for i in range(first + 1, last):
            if comp(a[i], a[first]):
                a[first:i + 1] = [a[i], *a[first:i]]
            else:
                self._linear_insert(i)

    def _partition_pivot(self, first: int, last: int) -> int:  # __unguarded_partition_pivot
        a, comp = self.a, self.comp
        x, y, z = first + 1, first + (last - first) // 2, last - 1  # the median of three to first
        if comp(a[x], a[y]):
            m = y if comp(a[y], a[z]) else z if comp(a[x], a[z]) else x
        else:
            m = x if comp(a[x], a[z]) else z if comp(a[y], a[z]) else y
        self._swap(first, m)
        lo, hi, pivot = first + 1, last, a[first]
        while True:
            while comp(a[lo], pivot):
                lo += 1
            hi -= 1
            while comp(pivot, a[hi]):
                hi -= 1
            if lo >= hi:
                return lo
            self._swap(lo, hi)
            lo += 1

    def _adjust_heap(self, first: int, hole: int, length: int, value) -> None:
        a, comp = self.a, self.comp
        top = child = hole
        while child < (length - 1) // 2:
            child = 2 * (child + 1)
            if comp(a[first + child], a[first + child - 1]):
                child -= 1
            a[first + hole] = a[first + child]
            hole = child
        if length % 2 == 0 and child == (length - 2) // 2:
            child = 2 * (child + 1)
            a[first + hole] = a[first + child - 1]
            hole = child - 1
        parent = (hole - 1) // 2  # __push_heap
        while hole > top and comp(a[first + parent], value):
            a[first + hole] = a[first + parent]
            hole, parent = parent, (parent - 1) // 2
        a[first + hole] = value

    def _pop_heap(self, first: int, last: int, result: int) -> None:
        a = self.a
        value, a[result] = a[result], a[first]
        self._adjust_heap(first, 0, last - first, value)

    def _heap_select(self, first: int, middle: int, last: int) -> None:
        n = middle - first
        for parent in range((n - 2) // 2, -1, -1) if n >= 2 else ():  # __make_heap
            self._adjust_heap(first, parent, n, self.a[first + parent])
        for i in range(middle, last):
            if self.comp(self.a[i], self.a[first]):
                self._pop_heap(first, middle, i)

    def partial_sort(self, first: int, middle: int, last: int) -> None:
        self._heap_select(first, middle, last)
        while middle - first > 1:  # __sort_heap
            middle -= 1
            self._pop_heap(first, middle, middle)

    def _introsort(self, first: int, last: int, depth: int) -> None:
        while last - first > _THRESHOLD:
            if depth == 0:
                self.partial_sort(first, last, last)
                return
            depth -= 1
            cut = self._partition_pivot(first, last)
            self._introsort(cut, last, depth)
            last = cut

    def sort(self, first: int, last: int) -> None:  # std::sort
        if last - first < 2:
            return
        self._introsort(first, last, 2 * ((last - first).bit_length() - 1))
        if last - first > _THRESHOLD:  # __final_insertion_sort
            self._insertion_sort(first, first + _THRESHOLD)
            for i in range(first + _THRESHOLD, last):
                self._linear_insert(i)
        else:
            self._insertion_sort(first, last)

    def nth_element(self, first: int, nth: int, last: int) -> None:  # std::nth_element
        depth = 2 * ((last - first).bit_length() - 1)
        while last - first > 3:
            if depth == 0:
                self._heap_select(first, nth + 1, last)
                self._swap(first, nth)
                return
            depth -= 1
            cut = self._partition_pivot(first, last)
            if cut <= nth:
                first = cut
            else:
                last = cut
        self._insertion_sort(first, last)

    def indices(self, stop: int | None = None) -> list:
        return [i for _, i in self.a[:stop]]


def sort_order(row: np.ndarray, descending: bool) -> list:
    """The positions of ``row`` in the order of PyTorch's ``sort(stable=False)``."""
    pairs = _Pairs(row, _greater if descending else _less)
    pairs.sort(0, len(pairs.a))
    return pairs.indices()


def topk_order(row: np.ndarray, k: int, largest: bool, ordered: bool) -> list:
    """The positions of PyTorch's ``topk(k, largest=largest, sorted=ordered)`` of ``row``:
    a heap selection where k is small beside the row (k · 64 ≤ n), else ``nth_element``
    with the first k − 1 sorted after it if ``ordered``."""
    n = row.shape[0]
    if k == 0:
        return []
    pairs = _Pairs(row, _greater if largest else _less)
    if k * 64 <= n:
        pairs.partial_sort(0, k, n)
    else:
        pairs.nth_element(0, k - 1, n)
        if ordered:
            pairs.sort(0, k - 1)
    return pairs.indices(k)


def kth_index(row: np.ndarray, k: int) -> int:
    """The position of the k-th smallest value (k from 0) that PyTorch's ``kthvalue``
    returns: ATen's quickselect (a median-of-three pivot, NaN the largest)."""
    a = row.tolist()
    idx = list(range(len(a)))

    def gt(x, y) -> bool:
        return (math.isnan(x) and not math.isnan(y)) or x > y

    def swap(i: int, j: int) -> None:
        a[i], a[j] = a[j], a[i]
        idx[i], idx[j] = idx[j], idx[i]

    lo, hi = 0, len(a) - 1
    while hi > lo:
        if hi == lo + 1:
            if gt(a[lo], a[hi]):
                swap(lo, hi)
            break
        swap(lo + (hi - lo) // 2, lo + 1)
        if gt(a[lo + 1], a[hi]):
            swap(lo + 1, hi)
        if gt(a[lo], a[hi]):
            swap(lo, hi)
        if gt(a[lo + 1], a[lo]):
            swap(lo + 1, lo)
        i, j, pivot = lo + 1, hi, a[lo]
        while True:
            i += 1
            while gt(pivot, a[i]):
                i += 1
            j -= 1
            while gt(a[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(lo, j)
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1
    return idx[k]


def mode_index(row: np.ndarray) -> int:
    """The position that PyTorch's ``mode`` returns of a row without NaN: the row sorted
    by ``std::sort`` with ``<``, the last element of the first longest run of equal values."""
    pairs = _Pairs(row, _plain_less)
    pairs.sort(0, len(pairs.a))
    a = pairs.a
    best, best_count, count = a[0][1], 0, 0
    for k, (value, i) in enumerate(a):
        count += 1
        if k == len(a) - 1 or value != a[k + 1][0]:
            if count > best_count:
                best, best_count = i, count
            count = 0
    return best


def _redo_tied_rows(key, result, axis: int, per_row, every_row: bool = False):
    """``result``, positions along ``axis`` of each row of ``key`` (a row's positions
    along ``axis``, or one position per row where ``result`` lacks that axis), with the
    rows that have ties (``every_row``: every row) replaced by ``per_row(row)``."""
    key, result = np.asarray(key), np.asarray(result)
    if key.ndim == 0:
        return result
    rows = np.moveaxis(key, axis, -1)
    redo = tied_rows(rows) if not every_row else np.full(rows.shape[:-1], rows.size <= LONGEST)
    if not redo.any():
        return result
    whole = result.ndim == key.ndim
    out = np.array(np.moveaxis(result, axis, -1) if whole else result)  # (a copy: a 0-d one of a scalar)
    flat_rows, flat_out = rows.reshape(-1, rows.shape[-1]), out.reshape(redo.size, -1)
    for r in np.flatnonzero(redo):
        flat_out[r] = per_row(flat_rows[r])
    return np.moveaxis(out, -1, axis) if whole else out


# on plain values; recorded by chainrule.jit, one call per example under vmap
redo_tied_rows = unboxing(_redo_tied_rows)
