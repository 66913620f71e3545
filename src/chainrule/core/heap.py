"""How much freed memory the process keeps: one setting, for every long-running job.

glibc's malloc hands memory back to the system when the free space at the top of its heap
passes a threshold that it sets by itself from the largest block freed so far. A training
step frees arrays of the same few large sizes at every step (and, on MPI, the temporary
buffers of an allreduce), so the heap shrinks at every step and grows again, and every page
of it is faulted in anew: 3,800 page faults per W4 step of data-parallel training with one
7.45 MB bucket, 15 % of the step; under virtualisation it nearly doubles a CNN step. The
values below are the largest glibc would choose by itself, fixed from the start.
"""

from __future__ import annotations

import ctypes
import os
import platform

MMAP_THRESHOLD = 32 * 2**20  # blocks at least this large get their own mapping
TRIM_THRESHOLD = 128 * 2**20  # free space kept at the top of the heap
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # malloc.h
_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_memory() -> bool:
    """Raise glibc's trim and mmap thresholds for this process, unless the environment
    already sets them (``GLIBC_TUNABLES``, ``MALLOC_TRIM_THRESHOLD_``, ...); returns
    whether it did. Elsewhere (macOS, musl, Windows) there is nothing to do.

    >>> isinstance(keep_freed_memory(), bool)
    True
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if "malloc" in os.environ.get("GLIBC_TUNABLES", "") or any(n in os.environ for n in _USER_SETTINGS):
        return False  # the user chose
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        )
    except (OSError, AttributeError):
        return False
