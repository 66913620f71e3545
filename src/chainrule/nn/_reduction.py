"""The losses' ``reduction``, and PyTorch's deprecated ``size_average=`` / ``reduce=``
spelling of it, which older programs still pass: either given maps to a reduction as
``torch.nn._reduction.legacy_get_string`` maps it (with its warning)."""

from __future__ import annotations

import warnings

__all__ = ["legacy_get_string", "reduction_of"]


def legacy_get_string(size_average, reduce, emit_warning: bool = True) -> str:
    """``'mean'`` unless ``reduce`` is False (``'none'``) or ``size_average`` is False
    (``'sum'``); an argument left at None counts as True.

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     legacy_get_string(False, None), legacy_get_string(None, False)
    ('sum', 'none')
    """
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
                      UserWarning, stacklevel=4)
    return ret


def reduction_of(size_average, reduce, reduction: str) -> str:
    """``reduction``, unless one of the deprecated arguments is given (PyTorch's rule:
    then they decide, whatever ``reduction`` says)."""
    if size_average is not None or reduce is not None:
        return legacy_get_string(size_average, reduce)
    return reduction
