"""``chainrule.numpy.fft``: differentiable discrete Fourier transforms."""

from __future__ import annotations
