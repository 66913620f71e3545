"""``Size``: a Tensor's shape, PyTorch's ``torch.Size``.

A tuple of ints (so ``x.shape == (2, 3)``, unpacking, ``np.zeros(x.shape)`` and hashing
are a tuple's), with what PyTorch adds: ``numel()``, the repr ``torch.Size([2, 3])``, and
slices, ``+`` and ``*`` that give a Size again.
"""

from __future__ import annotations

import operator

__all__ = ["Size", "as_size"]


class Size(tuple):
    """PyTorch's ``torch.Size``: a Tensor's ``.shape`` and ``.size()``.

    >>> s = Size([2, 3]); s, s.numel(), s[1:], s + (4,)
    (torch.Size([2, 3]), 6, torch.Size([3]), torch.Size([2, 3, 4]))
    """

    __slots__ = ()

    def __new__(cls, sizes=()):
        try:
            return super().__new__(cls, [operator.index(n) for n in sizes])
        except TypeError:
            bad = next((n for n in sizes if not hasattr(n, "__index__")), None)
            raise TypeError(f"torch.Size() takes an iterable of 'int', got {type(bad).__name__} {bad!r}") from None

    def numel(self) -> int:
        """The number of elements of a Tensor of this shape (1 for ``Size([])``)."""
        n = 1
        for d in self:
            n *= d
        return n

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return as_size(item) if isinstance(index, slice) else item

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return as_size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return as_size(tuple.__add__(other, self))

    def __mul__(self, n):
        return as_size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __reduce__(self):
        return Size, (tuple(self),)


def as_size(shape: tuple) -> Size:
    """``shape`` (a tuple of Python ints, as ``np.shape`` gives) as a Size, unchecked."""
    return tuple.__new__(Size, shape)
