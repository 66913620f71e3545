"""PyTorch's special functions as Tensor methods, ``x.erf()``, ``x.erfc()``,
``x.erfinv()``, ``x.lgamma()``, ``x.digamma()`` (and ``chainrule.erf(x)``, ...): each is
:mod:`chainrule.scipy.special`'s primitive of that function (``lgamma`` is its
``gammaln``), with its derivative rules, so nothing here has a rule of its own.

SciPy is an optional dependency and takes a tenth of a second to import, so the mirror
is imported when one of these is first called, not with chainrule.
"""

from __future__ import annotations

import importlib

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import default_float_dtype
from chainrule.core.tensor import undifferentiated

__all__ = ["TorchSpecialMethods", "scipy_special", "as_pytorch"]

_SCIPY_NAME = {"erf": "erf", "erfc": "erfc", "erfinv": "erfinv", "lgamma": "gammaln", "digamma": "digamma"}


def scipy_special(name: str):
    """``chainrule.scipy.special``'s function ``name``, looked up when first called."""
    try:
        module = importlib.import_module("chainrule.scipy.special")
    except ImportError as error:
        raise ImportError(f"{name} needs SciPy's special functions: pip install 'chainrule[scipy]'") from error
    return getattr(module, name)


# where PyTorch's value differs from SciPy's: erfinv(-0.0) is -0.0 (x·erfinv'(0) at zero,
# of the same derivative), lgamma(-inf) is +inf
_AS_PYTORCH = {
    "erfinv": lambda x, y: cnp.where(undifferentiated(x) == 0, x * (np.sqrt(np.pi) / 2), y),
    "gammaln": lambda x, y: cnp.where(cnp.isneginf(undifferentiated(x)), np.inf, y),
}


def as_pytorch(scipy_name: str, x, result):
    """SciPy's ``result`` of the function ``scipy_name`` at ``x``, with PyTorch's values
    where they differ (the derivative stays SciPy's)."""
    fix = _AS_PYTORCH.get(scipy_name)
    return result if fix is None else fix(x, result)


def floating(x):
    """The Tensor ``x`` as PyTorch's floating functions read it: integers and booleans in
    the default floating dtype."""
    return x.to(default_float_dtype()) if x.dtype.kind in "biu" else x


def in_dtype(result, dtype: np.dtype):
    """``result`` in ``dtype``, its input's: SciPy computes float16 in float32 or float64,
    PyTorch's functions keep it."""
    return result if result.dtype == dtype else result.to(dtype)


def _method(name: str):
    def method(self):
        x = floating(self)
        return in_dtype(as_pytorch(_SCIPY_NAME[name], x, scipy_special(_SCIPY_NAME[name])(x)), x.dtype)

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
