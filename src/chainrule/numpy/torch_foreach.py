"""PyTorch's ``torch._foreach_*`` functions: one operation over lists of tensors, as
programs write a target network's polyak update or an EMA of weights,

    torch._foreach_mul_(target_params, 1 - tau)
    torch._foreach_add_(target_params, online_params, alpha=tau)
    torch._foreach_lerp_(ema_params, params, 1 - decay)

Each is the Tensor method of its name applied to each element in turn (``_foreach_add_``
is ``add_``, ``_foreach_add`` is ``add``), with the other operands as PyTorch takes them: a
number (or one Tensor) for every element, or a list with one per element (tensors, or
numbers for the scalar operands).

>>> import chainrule as cr
>>> ts = [cr.ones(2), cr.zeros(1)]
>>> _ = _foreach_add_(ts, [cr.ones(2), cr.ones(1)], alpha=0.5)
>>> [t.tolist() for t in ts]
[[1.5, 1.5], [0.5]]
"""

from __future__ import annotations

from chainrule.core.tensor import Tensor

__all__: list[str] = []


def _each(name: str, operands, n: int) -> list[tuple]:
    """The operands of each of the ``n`` calls: a list (or tuple) is one per element, anything
    else (a number, a Tensor) the same for all."""
    per_element = []
    for operand in operands:
        if isinstance(operand, list | tuple):
            if len(operand) != n:
                raise RuntimeError(f"_foreach_{name}: Tensor lists must have the same number of tensors, got {n} "
                                   f"and {len(operand)}")
            per_element.append(list(operand))
        else:
            per_element.append([operand] * n)
    return list(zip(*per_element, strict=True)) if per_element else [()] * n


# PyTorch's keyword names of the operands after the list, by position (timm's EMA calls
# torch._foreach_lerp_(ema, params, weight=1 - decay) and torch._foreach_mul_(ema, scalar=decay))
_ONE_OPERAND = ("other", "scalar", "scalars", "exponent", "src")
_OPERAND_KEYWORDS = {"lerp": (("tensors1",), ("weight", "weights")), "addcmul": (("tensor1",), ("tensor2",)),
                     "addcdiv": (("tensor1",), ("tensor2",))}


def _operands_by_keyword(name: str, operands: tuple, kwargs: dict) -> tuple:
    """``operands`` with those given by PyTorch's keyword names (taken out of ``kwargs``) put
    in their places."""
    slots = _OPERAND_KEYWORDS.get(name.rstrip("_"), (_ONE_OPERAND,))
    operands = list(operands)
    for names in slots[len(operands):]:
        given = [k for k in names if k in kwargs]
        if len(given) != 1:
            break
        operands.append(kwargs.pop(given[0]))
    return tuple(operands)


def _foreach(name: str, method: str, n_operands: int, in_place: bool):
    def function(self, *operands, **kwargs):
        tensors = list(self)
        if not all(isinstance(t, Tensor) for t in tensors):
            raise TypeError(f"_foreach_{name}(): the first argument must be a list of Tensors")
        if kwargs and n_operands:
            operands = _operands_by_keyword(name, operands, kwargs)
        if len(operands) != n_operands:
            raise TypeError(f"_foreach_{name}() takes a list of Tensors and {n_operands} more operand(s), got "
                            f"{len(operands)}")
        results = [getattr(t, method)(*args, **kwargs) for t, args in zip(tensors, _each(name, operands, len(tensors)),
                                                                        strict=True)]
        return self if in_place else tuple(results)  # PyTorch's: the list itself, or a tuple

    function.__name__ = function.__qualname__ = f"_foreach_{name}"
    function.__doc__ = (f"``torch._foreach_{name}(tensors, ...)``: ``t.{method}(...)`` for each ``t`` of "
                        f"``tensors``{' (in place)' if in_place else ''}.")
    return function


# name: (the Tensor method, the number of operands after the list)
_OPERATIONS = {
    "add": ("add", 1), "sub": ("sub", 1), "mul": ("mul", 1), "div": ("div", 1), "lerp": ("lerp", 2),
    "addcmul": ("addcmul", 2), "addcdiv": ("addcdiv", 2), "maximum": ("maximum", 1), "minimum": ("minimum", 1),
    "pow": ("pow", 1), "clamp_min": ("clamp_min", 1), "clamp_max": ("clamp_max", 1),
    "neg": ("neg", 0), "abs": ("abs", 0), "sqrt": ("sqrt", 0), "exp": ("exp", 0), "log": ("log", 0),
    "sign": ("sign", 0), "reciprocal": ("reciprocal", 0),
}
for _name, (_method, _n) in _OPERATIONS.items():
    _fn = _foreach(_name, _method, _n, in_place=False)
    globals()[_fn.__name__] = _fn
    __all__.append(_fn.__name__)
    if _name not in ("maximum", "minimum"):  # PyTorch has no _foreach_maximum_
        _fn = _foreach(_name + "_", _method + "_", _n, in_place=True)
        globals()[_fn.__name__] = _fn
        __all__.append(_fn.__name__)
_fn = _foreach("copy_", "copy_", 1, in_place=True)
globals()[_fn.__name__] = _fn
__all__.append(_fn.__name__)


def _foreach_zero_(self):
    """``torch._foreach_zero_(tensors)``: each set to zeros, in place."""
    for t in self:
        t.zero_()
    return self


def _foreach_norm(self, ord=2) -> tuple:
    """``torch._foreach_norm(tensors, ord=2)``: the ``ord``-norm of each, as a 0-d Tensor."""
    return tuple(t.norm(ord) for t in self)


__all__ += ["_foreach_zero_", "_foreach_norm"]
