"""``chainrule.scipy``: SciPy, differentiable where chainrule has rules, SciPy's own elsewhere.

``import chainrule.scipy.special as special``, ``from chainrule.scipy.stats import norm``,
``from chainrule.scipy.linalg import expm``, ``from chainrule.scipy.integrate import
odeint``, ``from chainrule.scipy.signal import convolve``: use them as SciPy's own,
inside ``chainrule.grad`` and the other transforms. Every other SciPy name and submodule
is re-exported (see :mod:`chainrule.scipy.reexport`); it works on plain arrays and raises
an error naming itself if handed a Tensor. ``special`` and ``stats`` are imported with
the package (so that ``scipy.special.erf(tensor)`` finds its rules); the other
submodules on first use, since ``scipy.signal`` alone takes half a second to import.
SciPy is an optional dependency: ``pip install chainrule[scipy]``.
"""

from __future__ import annotations

try:
    import scipy as _scipy
except ImportError as error:  # keep the core importable without SciPy
    raise ImportError(
        "chainrule.scipy needs SciPy, which is not installed; "
        "install the extra with: pip install chainrule[scipy]"
    ) from error

import importlib as _importlib
import importlib.util as _util

from chainrule.scipy.reexport import fallback as _fallback
from chainrule.scipy.reexport import install_finder as _install_finder

__all__ = ["integrate", "linalg", "misc", "signal", "special", "stats"]

_install_finder()
from chainrule.scipy import misc, special, stats  # noqa: E402  (after the finder)

_scipy_getattr, _scipy_dir = _fallback(__name__, "scipy")


def __getattr__(name: str):
    """Submodules on first use (``chainrule.scipy.stats``), else SciPy's top-level names."""
    if not name.startswith("_") and (
        name in __all__ or _util.find_spec(f"scipy.{name}") is not None
    ):
        module = _importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    return _scipy_getattr(name)


def __dir__():
    return sorted(set(_scipy_dir()) | set(__all__))


del _scipy
