"""Random draws that the transforms see: the door through which the creation functions
(``chainrule.randn``, ``rand``, ``randint``, ``randperm``, ``randn_like``, ``rand_like``,
``normal``) and the distributions' ``sample``/``rsample`` draw.

A draw inside a function that ``chainrule.jit`` traces is a recorded call: each replay draws
anew from the generator, the numbers the plain call draws from the same state. Under
``chainrule.vmap`` each example whose parameters are batched draws its own (under torch.func's
``vmap``, as its ``randomness`` says).
"""

from __future__ import annotations

import numpy as np

from chainrule.core.eager import EAGER
from chainrule.core.primitive import RECORDING
from chainrule.core.rng import drawing_maps, get_generator, open_recorder, randomness_of
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain
from chainrule.numpy import batching

__all__ = ["DRAW_AXES", "SAMPLERS", "noise"]

# samplers that are no method of NumPy's Generator: kind -> sampler(generator, *args, size=shape)
SAMPLERS: dict = {}
# how many trailing axes of each argument of a sampler belong to one draw (multinomial's
# probabilities: the categories), where not 0
DRAW_AXES: dict = {"multinomial": (0, 1)}


def _draw(kind: str, generator, shape: tuple, dtype, *args) -> np.ndarray:
    rng = get_generator(generator)
    sampler = SAMPLERS.get(kind)
    draws = sampler(rng, *args, size=shape) if sampler else getattr(rng, kind)(*args, size=shape)
    return np.asarray(draws, dtype=dtype)


def _batch_draw(trace, fun, batched, kind, generator, shape, dtype, *args):
    """Under vmap each example draws its own: one draw of the batch's shape, each
    batched argument lifted to line its examples up with the draw's (one draw shared by
    the examples under torch.func's ``randomness="same"`` where no argument is batched).
    A draw that no argument batches is drawn by the next map out whose examples draw
    apart, so that nested maps give each example of each its own."""
    batched = batched[4:]
    if not batching.any_batched(batched):
        if randomness_of(trace) == "same":
            return batching.with_batch(trace.call_below(fun, kind, generator, shape, dtype, *args),
                                       False, trace.size)
        maps = drawing_maps()
        if trace in maps and maps.index(trace) > 0:
            return maps[maps.index(trace) - 1].record(fun, (kind, generator, (trace.size, *shape), dtype, *args),
                                                      {}, effect="draw", rng=lambda: get_generator(generator))
    axes = DRAW_AXES.get(kind, (0,) * len(args))
    args = [batching.lift(a, len(shape) + k + 1 - len(batching.shape_of(a))) if b is True else a
            for a, b, k in zip(args, batched, axes, strict=True)]
    return trace.call_below(fun, kind, generator, (trace.size, *shape), dtype, *args)


batching.NONDIFF_BATCH[_draw] = _batch_draw


def _permutation(rng, n, size):
    """A random order of the integers 0 to n − 1 for each index of ``size``, one after another."""
    return np.array([rng.permutation(n) for _ in np.ndindex(*size)], dtype=np.int64).reshape(*size, n)


SAMPLERS["permutation"] = _permutation


def _drawing_trace(values) -> tuple:
    """The innermost trace of jit or vmap among the Tensors ``values``, of a torch.func
    map whose examples draw apart, or of an open jit (which records even a draw that
    depends on no traced value); and whether one of ``values`` is traced."""
    top = None
    for v in values:
        v = undifferentiated(v)
        if isinstance(v, Tensor) and (v._trace.records or v._trace.batches):
            top = v._trace if top is None or v._trace.level > top.level else top
    traced = top is not None
    maps = drawing_maps()
    for trace in (maps[-1] if maps else None, open_recorder()):
        if trace is not None and (top is None or trace.level > top.level):
            top = trace
    return top, traced


def noise(kind: str, shape, dtype, *args, like=(), generator=None, eager: bool = False,
          record: bool = True) -> Tensor:
    """A Tensor of draws of ``shape`` and ``dtype`` from ``generator`` (a NumPy Generator, an
    int seed, or None: the global generator that ``chainrule.manual_seed`` seeds): ``kind``
    is the method of NumPy's Generator (``standard_normal``, ``random``, ``integers``...) or
    a name in ``SAMPLERS``, and ``args`` its parameters (broadcast against ``shape``).

    Each call draws anew, also each replay of a chainrule.jit program, and each example of
    a chainrule.vmap draws its own: the draws are recorded by the trace of jit or vmap of
    the arguments or of ``like`` (the Tensors the draws are for), else by the innermost
    open jit. Under jit the draws stand for the eager Tensor that the plain call gives (what
    is computed from them computes as the eager layer's Tensors) where they depend on no
    traced value or ``eager`` says so. ``record=False``: drawn at once, an eager Tensor (a
    jitted function that draws so runs without jit)."""
    shape = tuple(shape)
    trace, traced = _drawing_trace((*args, *like)) if RECORDING[0] and record else (None, False)
    if trace is None:
        return Tensor(_draw(kind, generator, shape, dtype, *map(plain, args)), EAGER)
    out = trace.record(_draw, (kind, generator, shape, dtype, *map(undifferentiated, args)), {}, effect="draw",
                       rng=lambda: get_generator(generator))
    if (eager or not traced) and isinstance(out, Tensor) and out._trace.records:
        out._trace.eager.add(out._node)
    return out
