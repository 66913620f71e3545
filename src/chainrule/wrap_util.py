"""HIPS autograd's ``wrap_util``: turn an operator on one-argument functions into one
on many-argument functions (``argnum`` picks the argument), and copy names.

>>> import chainrule as cr
>>> @unary_to_nary
... def twice_deriv(fun, x):
...     return cr.deriv(cr.deriv(fun))(x)
>>> float(twice_deriv(lambda a, b: a * b ** 3, 1)(2.0, 1.0))
12.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["unary_to_nary", "wraps", "wrap_nary_f", "get_name", "get_doc", "subvals"]


def subvals(x: Iterable, ivs: Iterable[tuple[int, Any]]) -> tuple:
    """``x`` as a tuple with the items at the given indices replaced."""
    x_ = list(x)
    for i, v in ivs:
        x_[i] = v
    return tuple(x_)


def unary_to_nary(unary_operator: Callable) -> Callable:
    """``unary_operator(fun, x, ...)`` acts on functions of one argument; the result,
    ``nary_operator(fun, argnum=0, ...)``, acts on ``fun(*args)`` in argument(s) ``argnum``
    (an int, or a tuple of ints: then ``x`` is the tuple of those arguments)."""

    @wraps(unary_operator)
    def nary_operator(
        fun: Callable, argnum: int | tuple | list = 0, *nary_op_args: Any, **nary_op_kwargs: Any
    ) -> Callable:
        if type(argnum) not in (int, tuple, list):
            raise TypeError(f"argnum must be an int or a tuple of ints, not {argnum!r}")

        @wrap_nary_f(fun, unary_operator, argnum)
        def nary_f(*args, **kwargs):
            @wraps(fun)
            def unary_f(x):
                if isinstance(argnum, int):
                    subargs = subvals(args, [(argnum, x)])
                else:
                    subargs = subvals(args, zip(argnum, x, strict=True))
                return fun(*subargs, **kwargs)

            if isinstance(argnum, int):
                x = args[argnum]
            else:
                x = tuple(args[i] for i in argnum)
            return unary_operator(unary_f, x, *nary_op_args, **nary_op_kwargs)

        return nary_f

    return nary_operator


def wraps(fun: Callable, namestr: str = "{fun}", docstr: str = "{doc}", **kwargs) -> Callable:
    """A decorator that names ``f`` and writes its docstring from ``fun``'s."""

    def _wraps(f):
        try:
            f.__name__ = namestr.format(fun=get_name(fun), **kwargs)
            f.__doc__ = docstr.format(fun=get_name(fun), doc=get_doc(fun), **kwargs)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError):
            pass  # a name or docstring that cannot be set or formatted stays as it was
        return f

    return _wraps


def wrap_nary_f(fun: Callable, op: Callable, argnum) -> Callable:
    namestr = "{op}_of_{fun}_wrt_argnum_{argnum}"
    docstr = """\
    {op} of function {fun} with respect to argument number {argnum}. Takes the
    same arguments as {fun} but returns the {op}.
    """
    return wraps(fun, namestr, docstr, op=get_name(op), argnum=argnum)


def get_name(f) -> str:
    return getattr(f, "__name__", "[unknown name]")


def get_doc(f) -> str:
    return getattr(f, "__doc__", "")
