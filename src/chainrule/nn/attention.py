"""``torch.nn.attention``: the choice of the kernels behind
``F.scaled_dot_product_attention`` (``with sdpa_kernel(SDPBackend.MATH): ...``). There is
one computation here (PyTorch's math one, in the inputs' dtype), so any choice runs it."""

from __future__ import annotations

import contextlib
import enum

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    """PyTorch's names of its attention kernels."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority: bool = False):
    """The block with ``backends`` (an SDPBackend or a list of them) chosen: here, the
    one computation of ``scaled_dot_product_attention``.

    >>> import chainrule as cr
    >>> from chainrule.nn.attention import SDPBackend, sdpa_kernel
    >>> with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]):
    ...     cr.nn.functional.scaled_dot_product_attention(cr.ones(1, 2, 4), cr.ones(1, 2, 4), cr.ones(1, 2, 4)).shape
    (1, 2, 4)
    """
    for b in backends if isinstance(backends, list | tuple) else [backends]:
        if not isinstance(b, SDPBackend):
            raise TypeError(f"sdpa_kernel: expected SDPBackend values, got {b!r}")
    yield
