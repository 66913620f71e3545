"""Vector spaces of values: HIPS autograd's ``VSpace`` and ``vspace``.

``vspace(x)`` describes the space a value lives in: its shape and dtype for arrays and
scalars, the spaces of its items for tuples, lists, dicts and namedtuples. It gives
``zeros()``, ``ones()``, ``randn()``, the ``standard_basis()``, and the vector
operations ``add``, ``scalar_mul``, ``inner_prod``, ``covector`` that autograd's
``test_util`` and extension code use. The operations are written with
``chainrule.numpy``, so they differentiate again. chainrule's engine itself does not
need vector spaces (its pytrees carry the structure); this module is the adapter for
programs written against autograd's extension API.

>>> import numpy as np
>>> vs = vspace(np.zeros((2, 3)))
>>> vs.shape, vs.size, vs.iscomplex
((2, 3), np.int64(6), False)
>>> vspace((1.0, {"a": np.ones(2)})).zeros()
(array(0.), {'a': array([0., 0.])})
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor

__all__ = [
    "VSpace",
    "vspace",
    "ArrayVSpace",
    "ComplexArrayVSpace",
    "ContainerVSpace",
    "SequenceVSpace",
    "ListVSpace",
    "TupleVSpace",
    "DictVSpace",
    "NamedTupleVSpace",
]


class VSpace:
    """The vector space of a value; subclasses give ``zeros``, ``ones``, ``randn``,
    ``standard_basis`` and ``_inner_prod``."""

    mappings: ClassVar[dict[type, Any]] = {}
    iscomplex = False

    def __init__(self, value: Any):
        pass

    def zeros(self):
        raise NotImplementedError(repr(self))

    def ones(self):
        raise NotImplementedError(repr(self))

    def standard_basis(self):
        raise NotImplementedError(repr(self))

    def randn(self):
        raise NotImplementedError(repr(self))

    def mut_add(self, x_prev, x_new):
        x_prev = x_prev if x_prev is not None else self.zeros()
        return self._mut_add(x_prev, x_new)

    def add(self, x_prev, x_new):
        return self._add(x_prev, x_new)

    def scalar_mul(self, x, a):
        return self._scalar_mul(x, a)

    def inner_prod(self, x, y):
        return self._inner_prod(x, y)

    def covector(self, x):
        return self._covector(x)

    def _add(self, x, y):
        return x + y

    def _mut_add(self, x, y):
        # autograd adds in place; a new value is the same sum and never aliases a saved one
        return x + y

    def _scalar_mul(self, x, a):
        return x * a

    def _inner_prod(self, x, y):
        raise NotImplementedError(repr(self))

    def _covector(self, x):
        return x

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}_{self.__dict__}"

    @classmethod
    def register(cls, value_type: type, vspace_maker=None) -> None:
        VSpace.mappings[value_type] = vspace_maker or cls


def _unboxed(value):
    while isinstance(value, Tensor):
        value = value._value
    return value


def vspace(value: Any) -> VSpace:
    """The vector space of ``value`` (an array, a number, or a container of them).

    >>> vspace(2.0).ones()
    array(1.)
    """
    value = _unboxed(value)
    maker = VSpace.mappings.get(type(value))
    if maker is not None:
        return maker(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # any namedtuple
        space = NamedTupleVSpace.__new__(NamedTupleVSpace)
        space.seq_type = type(value)
        space.__init__(value)
        return space
    raise TypeError(
        f"no vector space for a value of type {type(value).__name__} ({value!r}): vector "
        "spaces exist for float and complex arrays and numbers, and tuples, lists, dicts "
        "and namedtuples of them"
    )


class ArrayVSpace(VSpace):
    """Real arrays and numbers: a shape and a dtype."""

    def __init__(self, value: Any):
        value = np.asarray(value)
        self.shape = value.shape
        self.dtype = value.dtype

    @property
    def size(self):
        return np.prod(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def zeros(self):
        return np.zeros(self.shape, dtype=self.dtype)

    def ones(self):
        return np.ones(self.shape, dtype=self.dtype)

    def standard_basis(self):
        for idxs in np.ndindex(*self.shape):
            vect = np.zeros(self.shape, dtype=self.dtype)
            vect[idxs] = 1
            yield vect

    def randn(self):
        return np.array(np.random.randn(*self.shape)).astype(self.dtype)

    def _inner_prod(self, x, y):
        return cnp.dot(cnp.ravel(x), cnp.ravel(y))


class ComplexArrayVSpace(ArrayVSpace):
    """Complex arrays and numbers: twice the real dimension; the inner product is
    ``Re(x̄ · y)`` and a covector is the conjugate."""

    iscomplex = True

    @property
    def size(self):
        return np.prod(self.shape) * 2

    def ones(self):
        return np.ones(self.shape, dtype=self.dtype) + 1.0j * np.ones(self.shape, dtype=self.dtype)

    def standard_basis(self):
        for idxs in np.ndindex(*self.shape):
            for v in [1.0, 1.0j]:
                vect = np.zeros(self.shape, dtype=self.dtype)
                vect[idxs] = v
                yield vect

    def randn(self):
        real = np.array(np.random.randn(*self.shape)).astype(self.dtype)
        return real + 1.0j * np.array(np.random.randn(*self.shape)).astype(self.dtype)

    def _inner_prod(self, x, y):
        return cnp.real(cnp.dot(cnp.conj(cnp.ravel(x)), cnp.ravel(y)))

    def _covector(self, x):
        return cnp.conj(x)


VSpace.register(np.ndarray, lambda x: ComplexArrayVSpace(x) if np.iscomplexobj(x) else ArrayVSpace(x))
for _t in (float, np.longdouble, np.float64, np.float32, np.float16):
    ArrayVSpace.register(_t)
for _t in (complex, np.clongdouble, np.complex64, np.complex128):
    ComplexArrayVSpace.register(_t)


class ContainerVSpace(VSpace):
    """The product of the spaces of a container's items."""

    def __init__(self, value: Any):
        self.shape = value
        self.shape = self._map(vspace)

    @property
    def size(self):
        return sum(self._values(self._map(lambda vs: vs.size)))

    def zeros(self):
        return self._map(lambda vs: vs.zeros())

    def ones(self):
        return self._map(lambda vs: vs.ones())

    def randn(self):
        return self._map(lambda vs: vs.randn())

    def standard_basis(self):
        zero = self.zeros()
        for i, vs in self._kv_pairs(self.shape):
            for x in vs.standard_basis():
                yield self._subval(zero, i, x)

    def _add(self, xs, ys):
        return self._map(lambda vs, x, y: vs._add(x, y), xs, ys)

    def _mut_add(self, xs, ys):
        return self._map(lambda vs, x, y: vs._mut_add(x, y), xs, ys)

    def _scalar_mul(self, xs, a):
        return self._map(lambda vs, x: vs._scalar_mul(x, a), xs)

    def _inner_prod(self, xs, ys):
        return sum(self._values(self._map(lambda vs, x, y: vs._inner_prod(x, y), xs, ys)))

    def _covector(self, xs):
        return self._map(lambda vs, x: vs._covector(x), xs)


class SequenceVSpace(ContainerVSpace):
    seq_type: ClassVar[type] = tuple

    def _values(self, x):
        return x

    def _kv_pairs(self, x):
        return enumerate(x)

    def _map(self, f, *args):
        return self.seq_type(map(f, self.shape, *args))

    def _subval(self, xs, idx, x):
        items = list(xs)
        items[idx] = x
        return self.seq_type(items)


class ListVSpace(SequenceVSpace):
    seq_type = list


class TupleVSpace(SequenceVSpace):
    seq_type = tuple


class DictVSpace(ContainerVSpace):
    def _values(self, x):
        return x.values()

    def _kv_pairs(self, x):
        return x.items()

    def _map(self, f, *args):
        return {k: f(vs, *[x[k] for x in args]) for k, vs in self.shape.items()}

    def _subval(self, xs, idx, x):
        d = dict(xs.items())
        d[idx] = x
        return d


class NamedTupleVSpace(SequenceVSpace):
    def _map(self, f, *args):
        return self.seq_type(*map(f, self.shape, *args))

    def _subval(self, xs, idx, x):
        items = list(xs)
        items[idx] = x
        return self.seq_type(*items)


ListVSpace.register(list)
TupleVSpace.register(tuple)
DictVSpace.register(dict)
