"""PyTorch's ``torch.distributed.elastic.multiprocessing.errors``: :func:`record`.

``torchrun`` scripts decorate their entry point with ``@record`` so that an exception on
one process is reported with its rank. Here :func:`chainrule.distributed.init` already
does that (an uncaught exception prints its traceback with the rank and ends the job),
so ``record`` runs the function as it is.

>>> from chainrule.distributed.elastic.multiprocessing.errors import record
>>> @record
... def main():
...     return 3
>>> main()
3
"""

from __future__ import annotations

import functools
from collections.abc import Callable

__all__ = ["record"]


def record(fn: Callable | None = None, error_handler=None):
    """PyTorch's ``@record`` (also ``@record()``): ``fn`` unchanged in what it does and
    raises; :func:`chainrule.distributed.init` reports a failing process's error."""
    if fn is None:
        return lambda f: record(f, error_handler)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper
