"""NumPy's own calls on the values that :func:`~chainrule.jit` traces for plain arrays:
their methods that PyTorch's Tensor has with another meaning (:class:`RecordedArray`,
recorded as the ndarray's bound methods by :func:`ndarray_member_call`), and ``out`` given
by position, read as the ``out=`` the record sees as a write (:func:`out_by_keyword`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import numpy as np

from chainrule.core.tensor import Tensor, read_by_chainrule, stands_for_array
from chainrule.transforms.program import hashable

__all__ = ["CONVERTING_MEMBERS", "WRITING_MEMBERS", "RecordedArray", "RecordedSubclassArgument", "ndarray_member_call",
           "out_by_keyword"]


@functools.cache
def ndarray_member_call(name: str, attribute: bool) -> Callable:
    """The recorded call of NumPy's method ``name`` (``x.squeeze(0)`` of a traced array:
    ``call(x, 0)``), or read of its ``attribute`` (``x.mT``), on the replay's ndarray or
    NumPy scalar ``x``: by its bound method, which words its errors as the plain call's
    does (``transpose() takes no keyword arguments``, where the unbound
    ``np.ndarray.transpose`` names its class).

    >>> ndarray_member_call("squeeze", False)(np.ones((1, 2)), 0).shape
    (2,)
    """
    if attribute:
        def call(x):
            return getattr(x, name)
    else:
        def call(x, *args, **kwargs):
            return getattr(x, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.numpy_method = name
    return call


_BY_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _positional_names(fun) -> tuple:
    """The names of ``fun``'s positional parameters, each with whether it may be given by
    keyword too."""
    try:
        parameters = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return ()
    names = []
    for p in parameters:
        if p.kind not in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            break
        names.append((p.name, p.kind in _BY_KEYWORD))
    return tuple(names)


@functools.cache
def _positional_parameters(fun) -> tuple:
    """:func:`_positional_names` of ``fun``; of a recorded ndarray method, the method's
    (``self`` first, as the recorded call's arguments), which takes further ones by
    position as NumPy's function of that name does (``x.sum(0, None, o, True)``: keepdims)."""
    if not hasattr(fun, "numpy_method"):
        # NumPy's functions only: a function of the user's may name an input ``out``
        numpys = (getattr(fun, "__module__", None) or "").startswith("numpy")
        return _positional_names(fun) if numpys else ()
    names = _positional_names(getattr(np.ndarray, fun.numpy_method))
    function_names = _positional_names(getattr(np, fun.numpy_method, None))
    same = [n for n, _ in names[1:]] == [n for n, _ in function_names[1:len(names)]]
    return names[:1] + function_names[1:] if same else names


def out_by_keyword(fun, args: tuple, kwargs: dict) -> tuple:
    """``(args, kwargs)`` of a call that gives ``out`` by position (``np.isneginf(x, o)``,
    ``np.sin(x, o)``, ``x.sum(0, None, o)``) with ``out=`` (and what follows it) by
    keyword, the form that the record reads as a write into ``o``.

    >>> out_by_keyword(np.isneginf, ("x", "o"), {})
    (('x',), {'out': 'o'})
    >>> out_by_keyword(np.modf, ("x", "o"), {})
    (('x',), {'out': ('o', None)})
    """
    if isinstance(fun, np.ufunc):
        outs = args[fun.nin:]
        if not outs:
            return args, kwargs
        out = outs[0] if fun.nout == 1 else (*outs, *(None,) * (fun.nout - len(outs)))
        return args[:fun.nin], {**kwargs, "out": out}
    names = _positional_parameters(fun) if hashable(fun) else ()
    at = next((k for k, (name, _) in enumerate(names) if name == "out"), None)
    if (at is None or not at < len(args) <= len(names)
            or not all(keyword for _, keyword in names[at:len(args)])):
        return args, kwargs
    return args[:at], {**kwargs, **{name: a for (name, _), a in zip(names[at:], args[at:], strict=False)}}


class _NdarrayMember:
    """A method (or property) that NumPy's ndarray and PyTorch's Tensor both have, with
    meanings that differ (``x.squeeze(0)`` of a dim that is not of size 1, ``x.sum(dim=0)``,
    ``x.transpose(1, 0)`` of a 3-d array, ``x.mT`` of a 1-d one). Where the plain call
    holds a traced value as a NumPy array (an array argument, or a value NumPy computes
    from one, not an eager Tensor), the function's code reading it gets NumPy's own, recorded (see
    :meth:`RecordTrace.ndarray_member`), so that the jitted call returns, warns and raises
    what the plain call does; chainrule's own code gets the Tensor's."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __get__(self, obj, objtype=None):
        member = getattr(Tensor, self.name)
        if obj is None:
            return member
        if stands_for_array(obj) and not read_by_chainrule():
            return obj._trace.ndarray_member(obj, self.name, isinstance(member, property))
        return member.__get__(obj, objtype)


# NumPy's ndarray methods (and one property) that PyTorch's Tensor has too with other
# arguments or results (fill and tolist have the same, and keep the Tensor's handling)
_NDARRAY_MEMBERS = ("all", "any", "argmax", "argmin", "argsort", "astype", "choose", "clip", "compress", "conj",
                    "conjugate", "copy", "cumprod", "cumsum", "diagonal", "dot", "flatten", "max", "mean", "min",
                    "mT", "nonzero", "prod", "put", "ravel", "repeat", "reshape", "round", "searchsorted", "sort",
                    "squeeze", "std", "sum", "swapaxes", "take", "trace", "transpose", "var", "view")
# those of them that write the array in place (and return None)
WRITING_MEMBERS = frozenset({"put", "sort"})
# those that NumPy computes in C on its own arrays, converting array arguments with
# __array__ (not handing them to a Tensor's __array_ufunc__ or __array_function__)
CONVERTING_MEMBERS = frozenset({"choose", "compress", "dot", "put", "repeat", "searchsorted", "take"})


class RecordedArray(Tensor):
    """A value traced by :func:`jit`: where the plain call holds it as a NumPy array (or
    scalar), not as an eager Tensor, its methods that PyTorch's Tensor has with another
    meaning are NumPy's (:class:`_NdarrayMember`). A class of its own, so that eager
    Tensors do not pay for the check.

    >>> import chainrule as cr
    >>> cr.jit(lambda x: (x * 2).max(0))(np.ones((2, 3))).shape  # NumPy's, not (values, indices)
    (3,)
    """

    __slots__ = ()

    def __getattr__(self, name: str):  # (an attribute that neither has)
        if name.startswith("_") or not stands_for_array(self):
            # an eager Tensor's: the Tensor's own lookup, whose error this call hides (an
            # ndarray attribute's names the way out, x.flat)
            return Tensor.__getattribute__(self, name)
        raise AttributeError(f"'numpy.{type(self._value).__name__}' object has no attribute {name!r}")

    def item(self, *index):
        if stands_for_array(self):
            # NumPy's, with its error for an array of more than one element
            return self.primal("a Python number").item(*index)
        return Tensor.item(self, *index)


class RecordedSubclassArgument(RecordedArray):
    """The value :func:`jit` traces for an eager Tensor argument of a subclass of Tensor
    (a module's ``nn.Parameter``, a Tensor subclass of the user's). To the function's code
    its class is the argument's, as in the plain call (``isinstance(p, nn.Parameter)`` is
    True); to chainrule's own code it is the traced Tensor it is.

    >>> import chainrule as cr
    >>> with cr.no_grad():
    ...     cr.jit(lambda m: isinstance(m.weight, cr.nn.Parameter))(cr.nn.Linear(2, 2))
    True
    """

    __slots__ = ()

    @property
    def __class__(self):
        caller = self._trace.callers.get(id(self)) if self._trace.records else None
        if caller is None or read_by_chainrule():
            return type(self)
        return type(caller)

    @__class__.setter
    def __class__(self, cls) -> None:  # (made an eager Tensor where the trace stores it)
        _OBJECT_CLASS.__set__(self, cls)


_OBJECT_CLASS = object.__dict__["__class__"]
for _name in _NDARRAY_MEMBERS:
    setattr(RecordedArray, _name, _NdarrayMember(_name))
# named as the Tensor it is where messages name a value's type (a distribution's check
# of its parameters): the same words as when the function runs without jit
RecordedArray.__name__ = RecordedArray.__qualname__ = "Tensor"
RecordedSubclassArgument.__name__ = RecordedSubclassArgument.__qualname__ = "Tensor"
