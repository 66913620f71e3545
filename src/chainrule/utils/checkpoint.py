"""PyTorch's ``torch.utils.checkpoint``: activation checkpointing called as PyTorch calls
it, on :func:`chainrule.checkpoint`.

``checkpoint(function, *args, use_reentrant=..., **kwargs)`` runs ``function`` without
keeping its intermediate values and runs it again in the backward pass. The parameters of
modules that ``function`` calls get their gradients as without checkpointing (as
PyTorch's non-reentrant variant does; ``use_reentrant`` is taken and changes nothing), and
the recomputation draws the same dropout masks (``preserve_rng_state`` is taken: the state
is always preserved). An input that does not require grad, with none of the others
requiring it, runs ``function`` as it is, storing what it stores.

>>> import chainrule as cr
>>> from chainrule.utils.checkpoint import checkpoint
>>> layer = cr.nn.Linear(3, 2)
>>> x = cr.ones(4, 3, requires_grad=True)
>>> checkpoint(layer, x, use_reentrant=False).sum().backward()
>>> layer.weight.grad.tolist()
[[4.0, 4.0, 4.0], [4.0, 4.0, 4.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chainrule.nn.containers import Sequential
from chainrule.transforms.custom import checkpoint as _remat

__all__ = ["checkpoint", "checkpoint_sequential"]


def checkpoint(function: Callable, *args, use_reentrant: bool | None = None, context_fn: Callable | None = None,
               determinism_check: str = "default", debug: bool = False, preserve_rng_state: bool = True,
               **kwargs) -> Any:
    """``function(*args, **kwargs)``, recomputed in the backward pass instead of stored
    (PyTorch's ``torch.utils.checkpoint.checkpoint``; see the module's docstring).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> checkpoint(lambda t: (t * t).sum(), x, use_reentrant=False).backward()
    >>> x.grad.tolist()
    [2.0, 4.0]
    """
    if context_fn is not None:
        raise NotImplementedError("checkpoint(context_fn=...): selective checkpointing is not supported; "
                                  "chainrule recomputes all of the function")
    if not callable(function):
        raise TypeError(f"checkpoint: expected a function (or module) to run, got {type(function).__name__}")
    if kwargs:
        return _remat(lambda *a: function(*a, **kwargs))(*args)
    return _remat(function)(*args)


def checkpoint_sequential(functions: Sequential | Sequence[Callable], segments: int, input: Any,
                          use_reentrant: bool | None = None, preserve_rng_state: bool = True) -> Any:
    """A ``Sequential`` (or a list of functions) run in ``segments`` pieces, each but the
    last checkpointed, as PyTorch's ``checkpoint_sequential``.

    >>> import chainrule as cr
    >>> net = cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.Tanh(), cr.nn.Linear(2, 1))
    >>> x = cr.ones(3, 2, requires_grad=True)
    >>> y = checkpoint_sequential(net, 2, x, use_reentrant=False)
    >>> tuple(y.shape)
    (3, 1)
    """
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    functions = list(functions)
    segments = int(segments)
    if not 1 <= segments:
        raise ValueError(f"checkpoint_sequential: segments must be at least 1, got {segments}")

    def run(start: int, stop: int) -> Callable:
        def piece(x):
            for f in functions[start:stop]:
                x = f(x)
            return x
        return piece

    size = len(functions) // segments
    start = 0
    for _ in range(segments - 1):
        if size:
            input = checkpoint(run(start, start + size), input, use_reentrant=use_reentrant)
        start += size
    return run(start, len(functions))(input)
