"""``chainrule.scipy.misc``: where HIPS autograd kept ``logsumexp``."""

from __future__ import annotations

from chainrule.scipy.special import logsumexp

__all__ = ["logsumexp"]
