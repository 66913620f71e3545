"""``chainrule.scipy.misc``: where HIPS autograd kept ``logsumexp``."""

from __future__ import annotations

from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import logsumexp

__all__ = ["logsumexp"]
__getattr__, __dir__ = fallback(__name__, "scipy.misc")
