"""NumPy's own functions called on Tensors: ``np.sin(t)`` runs ``cnp.sin(t)``.

Tensor's ``__array_ufunc__`` and ``__array_function__`` land here. A function that
chainrule does not differentiate raises an error naming it; none returns an ndarray
that has quietly lost the gradient. On values that ``chainrule.jit`` traces and nothing
differentiates, such a function is recorded as it is (``RecordTrace.foreign``), and a
write into an array that is not traced is done on the values (``RecordTrace.write_untraced``).
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from chainrule.core.eager import recorded_only, recording_trace
from chainrule.core.tensor import NO_UFUNC_OVERRIDE, Tensor, overrides_ufuncs
from chainrule.numpy.nondiff import NONDIFF_OF
from chainrule.numpy.registry import MIRROR_OF


def not_supported(name: str, module: str = "numpy") -> TypeError:
    if name.endswith(".at"):  # ufunc.at: in place, into an array a derivative cannot follow
        method = _AT_METHODS.get(name[:-3])
        new = (f"a = chainrule.at(a)[indices].{method}(values) (JAX's a.at[indices].{method}(values))"
               if method else f"a = chainrule.at(a)[indices].apply(chainrule.numpy.{name[:-3]}) for a "
               f"function of one argument, or chainrule.at(a)[indices].set(new_values)")
        return TypeError(
            f"{module}.{name} writes into its first argument in place, which a derivative cannot "
            f"follow, so it cannot take a Tensor. Make the new array instead: {new}."
        )
    return TypeError(
        f"{module}.{name} is not differentiable in chainrule, so it cannot take a Tensor. "
        f"Use a chainrule.{module} function that is (see the README's list), or define the "
        f"derivative yourself: f = chainrule.primitive({module}.{name}); chainrule.defvjp(f, ...)."
    )


# ufunc.at and its out-of-place form, chainrule.at(a)[i].<method>(v)
_AT_METHODS = {"add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide",
               "true_divide": "divide", "maximum": "max", "minimum": "min", "power": "power"}

# NumPy functions that write into their first argument (and return None): on a value
# traced by chainrule.jit they are done and recorded; elsewhere they are not supported
_WRITERS = {np.copyto, np.put, np.place, np.putmask, np.fill_diagonal, np.put_along_axis}


def handed_over(inputs) -> bool:
    """Whether a ufunc's inputs hold another library's container that takes part in
    NumPy's dispatch (``np.multiply(x, data_array)``, see overrides_ufuncs): then a
    Tensor's ``__array_ufunc__`` returns NotImplemented, and the container handles it."""
    return any(v.__class__ not in NO_UFUNC_OVERRIDE and overrides_ufuncs(v) for v in inputs)


def dispatch_ufunc(ufunc, method, inputs, kwargs):
    if handed_over(inputs):
        return NotImplemented
    if not kwargs and method == "__call__":  # np.exp(t): the common case, first
        fun = MIRROR_OF.get(ufunc)
        if fun is not None:
            return fun(*inputs)
    out = kwargs.get("out")
    if (method == "__call__" and out is not None
            and (trace := recording_trace(out, (*inputs, *kwargs.values()))) is not None):
        trace.write(ufunc, inputs, kwargs)
        return out[0] if isinstance(out, tuple) and len(out) == 1 else out
    if method == "at" and (trace := recording_trace(inputs[0], (*inputs, *kwargs.values()))) is not None:
        trace.write(ufunc.at, inputs, kwargs)
        return None
    if (out is not None or method == "at") and (trace := recorded_only((*inputs, *kwargs.values()))):
        # into an array that is not traced (np.zeros(4)): done on the values, not replayed
        return trace.write_untraced(ufunc if method == "__call__" else getattr(ufunc, method), inputs, kwargs)
    if method == "__call__":
        fun = MIRROR_OF.get(ufunc) or NONDIFF_OF.get(ufunc)
        if fun is not None:
            return fun(*inputs, **kwargs)
        if (trace := recorded_only((*inputs, *kwargs.values()))) is not None:
            return trace.foreign(ufunc, inputs, kwargs)
        raise not_supported(ufunc.__name__)
    bound = getattr(MIRROR_OF.get(ufunc), method, None)  # outer, reduce, accumulate
    if bound is not None:
        return bound(*inputs, **kwargs)
    if (trace := recorded_only((*inputs, *kwargs.values()))) is not None:
        return trace.foreign(getattr(ufunc, method), inputs, kwargs)
    raise not_supported(f"{ufunc.__name__}.{method}")


@functools.cache
def _signature(func) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def _tensor_keywords_as_positions(func, args, kwargs):
    """``np.dot(x, b=t)``: the keyword arguments holding Tensors moved to their positions
    where NumPy's signature allows it, so that the mirror's primitive sees them (with the
    arrays plain, it would call NumPy, which hands the call back here without end)."""
    sig = _signature(func)
    if sig is None:
        return args, kwargs
    args, kwargs, last = list(args), dict(kwargs), len(args)
    for p in list(sig.parameters.values())[len(args):]:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            break
        if p.name in kwargs:
            args.append(kwargs.pop(p.name))
            last = len(args)
        elif p.default is not p.empty and p.default is not np._NoValue:
            args.append(p.default)
        else:
            break
    return tuple(args[:last]), kwargs


def dispatch_function(func, args, kwargs):
    if kwargs and not any(isinstance(a, Tensor) for a in args) and any(
            isinstance(v, Tensor) for v in kwargs.values()):
        args, kwargs = _tensor_keywords_as_positions(func, args, kwargs)
    fun = MIRROR_OF.get(func)
    if fun is not None and func not in _WRITERS:  # np.sum(t): the common case, first
        return fun(*args, **kwargs)
    if func in _WRITERS and args and (trace := recording_trace(args[0], (*args, *kwargs.values()))) is not None:
        trace.write(func, args, kwargs)
        return None
    if func in _WRITERS and (trace := recorded_only((*args, *kwargs.values()))) is not None:
        return trace.write_untraced(func, args, kwargs)  # into an array that is not traced
    fun = MIRROR_OF.get(func) or NONDIFF_OF.get(func)
    if fun is None and (trace := recorded_only((*args, *kwargs.values()))) is not None:
        return trace.foreign(func, args, kwargs)
    if fun is None and func not in _WRITERS and (trace := batched_only((*args, *kwargs.values()))) is not None:
        return trace.foreign(func, args, kwargs)  # under vmap alone: each example's, stacked
    if fun is None:
        module = getattr(func, "__module__", "numpy") or "numpy"
        name = func.__name__
        if module.startswith("numpy.") and module.split(".")[1] in ("linalg", "fft"):
            name = f"{module.split('.')[1]}.{name}"
        raise not_supported(name)
    return fun(*args, **kwargs)


def batched_only(values):
    """The trace of the innermost ``chainrule.vmap`` when it holds the innermost Tensor
    among ``values`` (and in lists and tuples among them) and nothing differentiates any
    of them (every Tensor, and every Tensor inside one, is batched by vmap or traced by
    ``chainrule.jit``), else None: a function without a derivative can then run on
    them, each example as on plain arrays."""
    top = None
    for v in values:
        for t in v if isinstance(v, list | tuple) else (v,):
            if not isinstance(t, Tensor):
                continue
            if top is None or t._trace.level > top.level:
                top = t._trace
            while isinstance(t, Tensor):
                if not (t._trace.batches or t._trace.records):
                    return None
                t = t._value
    return top if top is not None and top.batches else None


_UFUNC_ATTRIBUTES = ("nin", "nout", "nargs", "identity", "ntypes", "types", "signature")
_UFUNC_METHODS = ("outer", "reduce", "accumulate", "reduceat", "at")


def give_ufunc_interface(fun, ufunc: np.ufunc, wrap) -> None:
    """Give ``fun``, the mirror's function for NumPy's ``ufunc``, the ufunc's attributes
    (``nin``, ``identity``, ...) and each of its methods that ``fun`` lacks as
    ``wrap(method, name)`` (``np.add.at``, ``np.logical_or.reduce``: code written for NumPy
    calls them on the mirror's ``add``)."""
    for attribute in _UFUNC_ATTRIBUTES:
        setattr(fun, attribute, getattr(ufunc, attribute))
    for method in _UFUNC_METHODS:
        if method not in vars(fun):
            setattr(fun, method, wrap(getattr(ufunc, method), f"{ufunc.__name__}.{method}"))


def guarded(np_fun, name: str | None = None, module: str = "numpy"):
    """NumPy's ``np_fun`` for plain arrays; an error naming it when handed a Tensor.

    The mirrors re-export NumPy's (and SciPy's, ``module="scipy.stats"``) functions
    without derivatives this way, so none of them can turn a Tensor into a plain array
    and drop its gradient.
    """
    name = name or np_fun.__name__

    def call(*args, **kwargs):
        for a in (*args, *kwargs.values()):
            if isinstance(a, Tensor) or (
                isinstance(a, list | tuple) and any(isinstance(v, Tensor) for v in a)
            ):
                if (trace := recorded_only((*args, *kwargs.values()))) is not None:
                    return trace.foreign(np_fun, args, kwargs)  # under jit alone: recorded
                if (trace := batched_only((*args, *kwargs.values()))) is not None:
                    return trace.foreign(np_fun, args, kwargs)  # under vmap alone: each example's
                raise not_supported(name, module)
        return np_fun(*args, **kwargs)

    call.__name__ = call.__qualname__ = getattr(np_fun, "__name__", name)
    call.__doc__ = np_fun.__doc__
    call.__wrapped__ = np_fun
    if isinstance(np_fun, np.ufunc):
        give_ufunc_interface(call, np_fun, functools.partial(guarded, module=module))
    return call
