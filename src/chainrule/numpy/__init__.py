"""``chainrule.numpy``: NumPy, differentiable.

``import chainrule.numpy as np`` and write NumPy code as usual. The functions defined in
the family modules (``elementwise``, ``reductions``, ``shape``, ``products``, ``linalg``,
``fft``) differentiate; the non-differentiable ones (``argmax``, comparisons, ``zeros``,
``random``, dtypes, constants) are NumPy's own, reading plain values from Tensors; any
other NumPy function works on plain arrays and raises an error naming itself if handed
a Tensor.
"""

# ruff: noqa: I001  (the families import in dependency order: elementwise first)
from __future__ import annotations

import types as _types

import numpy as _np

from chainrule.numpy.elementwise import *  # noqa: F403
from chainrule.numpy.selection import *  # noqa: F403
from chainrule.numpy.reductions import *  # noqa: F403
from chainrule.numpy import exact_products as _exact_products  # noqa: F401  (prod's, cumprod's rules)
from chainrule.numpy.shape import *  # noqa: F403
from chainrule.numpy.products import *  # noqa: F403
from chainrule.numpy.creation import *  # noqa: F403
from chainrule.numpy.statistics import *  # noqa: F403
from chainrule.numpy.convolution import *  # noqa: F403
from chainrule.numpy.polynomials import *  # noqa: F403
from chainrule.numpy.sampled import *  # noqa: F403
from chainrule.numpy.sets import *  # noqa: F403
from chainrule.numpy.functional import *  # noqa: F403
from chainrule.numpy import ufunc_methods as _ufunc_methods  # noqa: F401  (add.outer, ...)
from chainrule.numpy.nondiff import *  # noqa: F403
from chainrule.numpy import fft as fft, linalg as linalg, random as random
from chainrule.numpy.dispatch import guarded as _guarded
from chainrule.numpy.nondiff import NONDIFF_OF as _NONDIFF_OF
from chainrule.numpy.registry import MIRROR_OF as _MIRROR_OF
from chainrule.numpy.bindings import bind_to_core as _bind_to_core

_bind_to_core()  # a Tensor's operators and methods are this mirror's functions


def __getattr__(name: str):
    try:
        value = getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy' has no attribute {name!r}") from None
    if isinstance(value, _types.FunctionType | _types.BuiltinFunctionType | _np.ufunc):
        # another name of a function the mirror has (NumPy 2's acos, atan2, pow, ...) is
        # that function; anything else is NumPy's, guarded
        value = _MIRROR_OF.get(value) or _NONDIFF_OF.get(value) or _guarded(value)
    globals()[name] = value
    return value
