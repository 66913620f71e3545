"""``chainrule.scipy``: SciPy's special functions and distributions, differentiable.

``import chainrule.scipy.special as special`` or ``from chainrule.scipy.stats import
norm`` and use them as SciPy's own, inside ``chainrule.grad`` and the other transforms.
SciPy is an optional dependency: ``pip install chainrule[scipy]``.
"""

from __future__ import annotations

try:
    import scipy  # noqa: F401
except ImportError as error:  # keep the core importable without SciPy
    raise ImportError(
        "chainrule.scipy needs SciPy, which is not installed; "
        "install the extra with: pip install chainrule[scipy]"
    ) from error

from chainrule.scipy import misc, special, stats

__all__ = ["misc", "special", "stats"]
