"""``torch.autograd.graph``'s context managers for what the graph saves, as they apply to
chainrule's eager layer, which runs on the CPU: :class:`save_on_cpu` keeps saved values
where they are (on the CPU, as PyTorch's moves them), and :class:`saved_tensors_hooks`
(pack and unpack hooks) is refused with the way out, since the eager layer saves NumPy
values without calling hooks.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

__all__ = ["save_on_cpu", "saved_tensors_hooks", "disable_saved_tensors_hooks"]


# the error message of the innermost open disable_saved_tensors_hooks block, per thread
_disabled = threading.local()


def _refuse_if_disabled() -> None:
    message = getattr(_disabled, "message", None)
    if message is not None:
        raise RuntimeError(message)


class save_on_cpu:
    """PyTorch's ``torch.autograd.graph.save_on_cpu(pin_memory=False)``: values saved for
    the backward pass stay in host memory, where chainrule's always are, so the block runs
    as it would without it.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> with cr.autograd.graph.save_on_cpu(pin_memory=True):
    ...     y = (x * x).sum()
    >>> y.backward(); x.grad.tolist()
    [2.0, 4.0]
    """

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda"):
        self.pin_memory = pin_memory

    def __enter__(self):
        _refuse_if_disabled()
        return self

    def __exit__(self, *exc) -> bool:
        return False


class saved_tensors_hooks:
    """PyTorch's ``torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook)``:
    not available (the eager layer saves NumPy values without calling hooks); refused when
    the block is entered, rather than running without the hooks."""

    def __init__(self, pack_hook: Callable, unpack_hook: Callable):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        _refuse_if_disabled()
        raise NotImplementedError(
            "torch.autograd.graph.saved_tensors_hooks: chainrule's eager layer saves values for the backward "
            "pass without pack/unpack hooks; to trade memory for computation use "
            "chainrule.utils.checkpoint.checkpoint, and save_on_cpu needs nothing on the CPU")

    def __exit__(self, *exc) -> bool:
        return False


class disable_saved_tensors_hooks:
    """PyTorch's ``torch.autograd.graph.disable_saved_tensors_hooks(error_message)`` (a
    context manager and decorator): inside it, entering :class:`save_on_cpu` or
    :class:`saved_tensors_hooks` raises RuntimeError with ``error_message``, as PyTorch's.

    >>> with disable_saved_tensors_hooks("no hooks in this block"):
    ...     with save_on_cpu():
    ...         pass
    Traceback (most recent call last):
    ...
    RuntimeError: no hooks in this block
    """

    def __init__(self, error_message: str = ""):
        self.error_message = error_message
        self._before: list = []

    def __enter__(self):
        self._before.append(getattr(_disabled, "message", None))
        _disabled.message = self.error_message
        return self

    def __exit__(self, *exc) -> bool:
        _disabled.message = self._before.pop()
        return False

    def __call__(self, fun: Callable) -> Callable:
        @functools.wraps(fun)
        def wrapped(*args, **kwargs):
            with disable_saved_tensors_hooks(self.error_message):
                return fun(*args, **kwargs)

        return wrapped
