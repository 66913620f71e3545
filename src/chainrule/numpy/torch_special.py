"""PyTorch's special functions as Tensor methods, ``x.erf()``, ``x.erfc()``,
``x.erfinv()``, ``x.lgamma()``, ``x.digamma()`` (and ``chainrule.erf(x)``, ...): each is
:mod:`chainrule.scipy.special`'s primitive of that function (``lgamma`` is its
``gammaln``), with its derivative rules, so nothing here has a rule of its own.

SciPy is an optional dependency and takes a tenth of a second to import, so the mirror
is imported when one of these is first called, not with chainrule.
"""

from __future__ import annotations

import importlib

__all__ = ["TorchSpecialMethods", "scipy_special"]

_SCIPY_NAME = {"erf": "erf", "erfc": "erfc", "erfinv": "erfinv", "lgamma": "gammaln", "digamma": "digamma"}


def scipy_special(name: str):
    """``chainrule.scipy.special``'s function ``name``, looked up when first called."""
    try:
        module = importlib.import_module("chainrule.scipy.special")
    except ImportError as error:
        raise ImportError(f"{name} needs SciPy's special functions: pip install 'chainrule[scipy]'") from error
    return getattr(module, name)


def _method(name: str):
    def method(self):
        return scipy_special(_SCIPY_NAME[name])(self)

    method.__name__ = name
    method.__doc__ = f"PyTorch's ``{name}``: ``scipy.special.{_SCIPY_NAME[name]}`` of the values, differentiable."
    return method


class TorchSpecialMethods:
    """Set on Tensor with the other PyTorch methods (:mod:`chainrule.numpy.torch_methods`).

    >>> import chainrule as cr
    >>> x = cr.tensor([0.5, 2.0], requires_grad=True)
    >>> x.lgamma().sum().backward()
    >>> [round(v, 4) for v in x.grad.tolist()]        # digamma(x)
    [-1.9635, 0.4228]
    """

    erf = _method("erf")
    erfc = _method("erfc")
    erfinv = _method("erfinv")
    lgamma = _method("lgamma")
    digamma = _method("digamma")
