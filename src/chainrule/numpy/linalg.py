"""``chainrule.numpy.linalg``: differentiable linear algebra."""

from __future__ import annotations
