"""The eager trace: the PyTorch-like layer, and its grad and inference modes.

The eager trace is level 0 and always open; its graph is kept as links between nodes
(:class:`~chainrule.core.eager_node.EagerNode`) so unused parts are freed by Python.
Whether it records is the calling thread's grad mode.
"""

from __future__ import annotations

import contextvars
import functools
import threading

import numpy as np

from chainrule.core.dtypes import default_float_dtype, wrapped_int
from chainrule.core.eager_node import EagerNode
from chainrule.core.errors import eager_error
from chainrule.core.primitive import read_arguments
from chainrule.core.pytree import tree_flatten
from chainrule.core.tensor import NO_KWARGS, Tensor
from chainrule.core.trace_protocol import (
    Trace,
    _new_tensor,
    own_leaves,
    project_outputs,
    record_composite,
    same_tuple_type,
)
from chainrule.core.views import note_transform_view, register_view

__all__ = [
    "EagerTrace",
    "EAGER",
    "eager_quiet",
    "is_eager",
    "GRAD_MODE",
    "grad_enabled",
    "set_grad_mode",
    "set_inference_mode",
    "INFERENCE_MODE",
    "INFERENCE_MADE",
    "note_view",
    "note_pieces",
    "quiet_numpy",
    "restore_numpy",
]


class GradMode(threading.local):
    """Whether the eager layer records graphs, per thread (as PyTorch's grad mode is):
    one thread inside ``no_grad()`` does not stop another from training."""

    enabled = True  # the class attribute is every new thread's starting value


GRAD_MODE = GradMode()
# How many threads have grad mode off. While none has (the common case), the hot paths
# need not read the thread-local mode, which costs several times a global's read.
_threads_without_grad = 0
_mode_lock = threading.Lock()


def grad_enabled() -> bool:
    """The calling thread's grad mode."""
    return not _threads_without_grad or GRAD_MODE.enabled


class InferenceMode(threading.local):
    """Whether the calling thread is inside ``inference_mode()``: the eager Tensors it makes
    there are PyTorch's inference Tensors (:func:`mark_inference`)."""

    enabled = False


INFERENCE_MODE = InferenceMode()
# How many threads are in inference mode (while none is, the hot paths read no thread-local
# to learn whether a new Tensor is an inference one), and whether an inference Tensor was
# ever made (while none was, a recorded call looks at no input to refuse one)
_threads_in_inference = 0
INFERENCE_MADE = [False]


def set_inference_mode(flag: bool) -> bool:
    """Set whether the calling thread is in inference mode; returns the previous setting."""
    global _threads_in_inference
    flag = bool(flag)
    with _mode_lock:
        old = INFERENCE_MODE.enabled
        if old != flag:
            INFERENCE_MODE.enabled = flag
            _threads_in_inference += 1 if flag else -1
    return old


def mark_inference(t: Tensor) -> None:
    """``t``, an eager Tensor just made: PyTorch's inference Tensor if the calling thread is
    in inference mode (``t.is_inference()``; autograd refuses to save it, and a write into it
    outside inference mode is refused, see :func:`refuse_saved_inference`). Called only while
    some thread is in inference mode (``_threads_in_inference``)."""
    if INFERENCE_MODE.enabled:
        t._inference = True
        INFERENCE_MADE[0] = True


def refuse_saved_inference(prim, parents, inputs) -> None:
    """PyTorch's refusal of a call recorded for the backward pass that saves an inference
    Tensor among its ``inputs`` (one its rules read: ``w * a`` saves ``a``, ``w + a`` nothing)."""
    for i in read_arguments(prim, parents, len(inputs)):
        if getattr(inputs[i], "_inference", False):
            raise RuntimeError(
                "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
                f"inference mode in computation tracked by autograd ({prim.__name__} saves one for the "
                "backward pass). To work around this, you can make a clone to get a normal tensor and use "
                "it in autograd (x.clone()), or make it outside inference_mode()."
            )


def set_grad_mode(flag: bool) -> bool:
    """Set the calling thread's grad mode; returns the previous one."""
    global _threads_without_grad
    flag = bool(flag)
    with _mode_lock:
        old = GRAD_MODE.enabled
        if old != flag:
            GRAD_MODE.enabled = flag
            _threads_without_grad += -1 if flag else 1
    return old


# PyTorch's eager operations give inf and nan without a word, where NumPy warns ("divide by
# zero encountered in log", "invalid value encountered in add" of inf - inf): the eager
# trace computes its primitives, and runs its backward pass, with NumPy's floating-point
# errors ignored (NumPy's own functions and the transforms, HIPS autograd's and JAX's kind
# of code, keep NumPy's warnings). NumPy 2 keeps that state in a context variable: a NumPy
# ufunc (add, multiply, matmul, sin, ...: the hot path) runs in a context made once that
# holds it (run_quietly, nearly free), the other primitives that warn of finite inputs
# (Primitive.eager_quiet: reductions, ...) with the state set and reset around them (a
# tenth of the hot path's time, too dear for every operation). NumPy 1 keeps the state in
# its thread's np.seterr.
try:
    from numpy._core._multiarray_umath import _extobj_contextvar as _numpy_errors
except ImportError:
    _numpy_errors = None
if _numpy_errors is not None:
    with np.errstate(all="ignore"):
        quiet_numpy = functools.partial(_numpy_errors.set, _numpy_errors.get())
    restore_numpy = _numpy_errors.reset
else:
    def quiet_numpy():
        """Ignore NumPy's floating-point errors; returns what :func:`restore_numpy` takes."""
        return np.seterr(all="ignore")

    def restore_numpy(token) -> None:
        """Put back the NumPy error state that :func:`quiet_numpy` replaced."""
        np.seterr(**token)


# run_quietly(ufunc, *args): the ufunc computed in a context that holds NumPy's error state
# "ignore" (a ufunc of numbers reads no other context variable). A context is entered by one thread
# at a time: where another thread (or a ufunc's own Python code) is in it, Context.run
# refuses before computing anything (_elsewhere), and the state is set around the call.
_UFUNC = np.ufunc
if _numpy_errors is not None:
    with np.errstate(all="ignore"):
        run_quietly = contextvars.copy_context().run
else:
    def run_quietly(fun, *args, **kwargs):
        """``fun(*args, **kwargs)`` with NumPy's floating-point errors ignored."""
        with np.errstate(all="ignore"):
            return fun(*args, **kwargs)


def _elsewhere(error: RuntimeError) -> bool:
    """Whether ``error`` is Context.run's refusal of a context already entered."""
    return str(error).startswith("cannot enter context")


class EagerTrace(Trace):
    """The eager layer: level 0, nodes linked to their parents, no tape.

    Tensors with ``requires_grad`` carry a node; the graph of a result is kept alive by
    the result alone, so what is never differentiated is freed by reference counting.
    Whether calls are recorded is the calling thread's :data:`GRAD_MODE`.
    """

    __slots__ = ("level", "name", "clock")

    def __init__(self):
        self.level = 0
        self.name = "eager"
        self.clock = 0  # counts in-place writes, to detect those after a node was recorded

    # One eager layer: a copied or unpickled Tensor belongs to it too (a copy of the trace
    # would make the Tensor a stranger to it: in-place writes lost, backward refused).
    def __reduce__(self):
        return (eager_trace, ())

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    @property
    def grad_enabled(self) -> bool:
        """The calling thread's grad mode."""
        return not _threads_without_grad or GRAD_MODE.enabled

    @grad_enabled.setter
    def grad_enabled(self, flag: bool) -> None:
        set_grad_mode(flag)

    def maker(self, node):
        return node.prim

    def unary(self, prim, a, kwargs=NO_KWARGS):
        v = a._value
        integers = v.dtype.kind in "biu" and not kwargs  # perhaps computed again below, in floating point
        fun = prim.fun
        quiet = None
        try:
            if fun.__class__ is _UFUNC:
                try:
                    ans = run_quietly(fun, v, **kwargs) if kwargs else run_quietly(fun, v)
                except RuntimeError as e:
                    if not _elsewhere(e):
                        raise
                    quiet = quiet_numpy()
                    ans = fun(v, **kwargs)
            elif prim.eager_quiet or integers:
                quiet = quiet_numpy()
                ans = fun(v, **kwargs)
            else:
                ans = fun(v, **kwargs) if kwargs else fun(v)
        except (ValueError, TypeError) as e:  # as PyTorch raises (a RuntimeError), naming the operation
            raise eager_error(prim.__name__, e, (v,)) from e
        finally:
            if quiet is not None:
                restore_numpy(quiet)
        if integers and getattr(ans, "dtype", v.dtype).kind == "f":
            # exp, sin, sqrt... of integers: of the default floating dtype, as PyTorch's
            # (NumPy's float16 for int8, float32 for int16)
            default = default_float_dtype()
            if ans.dtype != default:
                cast = _new_tensor(Tensor)  # integers carry no derivative
                cast._value, cast._trace, cast._node = v.astype(default), self, None
                return self.unary(prim, cast)
        node = a._node
        if node is not None and (not _threads_without_grad or GRAD_MODE.enabled):
            node = EagerNode(prim, ((0, node),), (v,), kwargs, ans, (a,), self.clock)
        else:
            node = None
        if prim.multiple_outputs:
            return self.output(prim, ans, node)
        out = _new_tensor(Tensor)
        out._value, out._trace, out._node = ans, self, node
        if prim.makes_view:
            note_view(a, out, prim, (), kwargs)
        elif _threads_in_inference:
            mark_inference(out)
        return out

    def binary(self, prim, a, b, kwargs=NO_KWARGS):
        parents = []
        if isinstance(a, Tensor):
            if a._node is not None:
                parents.append((0, a._node))
            va = a._value
        else:
            va = a
        if isinstance(b, Tensor):
            if b._node is not None:
                parents.append((1, b._node))
            vb = b._value
        else:
            vb = b
        fun = prim.fun
        quiet = None
        try:
            if fun.__class__ is _UFUNC:
                try:
                    ans = run_quietly(fun, va, vb, **kwargs) if kwargs else run_quietly(fun, va, vb)
                except RuntimeError as e:
                    if not _elsewhere(e):
                        raise
                    quiet = quiet_numpy()
                    ans = fun(va, vb, **kwargs)
            elif prim.eager_quiet:
                quiet = quiet_numpy()
                ans = fun(va, vb, **kwargs)
            else:
                ans = fun(va, vb, **kwargs) if kwargs else fun(va, vb)
        except (ValueError, TypeError) as e:
            raise eager_error(prim.__name__, e, (va, vb)) from e
        except OverflowError:  # a Python int out of an integer Tensor's range: wrapped, as PyTorch
            wa, wb = wrapped_int(va, getattr(vb, "dtype", None)), wrapped_int(vb, getattr(va, "dtype", None))
            if wa is None and wb is None:
                raise
            return self.binary(prim, a if wa is None else wa, b if wb is None else wb, kwargs)
        finally:
            if quiet is not None:
                restore_numpy(quiet)
        if prim.eager_operands is not None:  # arithmetic: PyTorch's result dtype
            dt = getattr(ans, "dtype", None)
            if getattr(va, "dtype", dt) is not dt or getattr(vb, "dtype", dt) is not dt:
                cast = prim.eager_operands(a, b, dt)  # None where NumPy's dtype is PyTorch's
                if cast is not None:
                    return self.binary(prim, *cast, kwargs)
        node = None
        if parents and (not _threads_without_grad or GRAD_MODE.enabled):
            if INFERENCE_MADE[0]:
                refuse_saved_inference(prim, parents, (a, b))
            node = EagerNode(prim, parents, (va, vb), kwargs, ans, (a, b), self.clock)
        if prim.multiple_outputs:
            return self.output(prim, ans, node)
        out = _new_tensor(Tensor)
        out._value, out._trace, out._node = ans, self, node
        if prim.makes_view and isinstance(a, Tensor):
            note_view(a, out, prim, (b,), kwargs)
        elif _threads_in_inference:
            mark_inference(out)
        return out

    def process(self, prim, args, kwargs):
        if prim.eager_operands is not None and len(args) == 2 and not kwargs:
            return self.binary(prim, *args)
        if len(args) == 1:  # the argument is an eager Tensor
            a = args[0]
            vals = (a._value,)
            parents = ((0, a._node),) if a._node is not None else ()
        else:
            vals = list(args)
            parents = []
            for i, a in enumerate(args):
                if isinstance(a, Tensor):
                    vals[i] = a._value
                    if a._node is not None:
                        parents.append((i, a._node))
        quiet = quiet_numpy() if prim.eager_quiet or prim.fun.__class__ is _UFUNC else None
        try:
            ans = prim.fun(*vals, **kwargs)
        except (ValueError, TypeError) as e:
            raise eager_error(prim.__name__, e, vals) from e
        finally:
            if quiet is not None:
                restore_numpy(quiet)
        node = None
        if parents and (not _threads_without_grad or GRAD_MODE.enabled):
            if INFERENCE_MADE[0]:
                refuse_saved_inference(prim, parents, args)
            node = EagerNode(prim, parents, vals, kwargs, ans, args, self.clock)
        out = self.output(prim, ans, node)
        if prim.makes_view and isinstance(args[0], Tensor):
            note_view(args[0], out, prim, tuple(args[1:]), kwargs)
        return out

    def composite(self, prim, args):
        leaves, values, own, in_tree = own_leaves(self, args)
        parents = [(i, leaves[i]._node) for i in own if leaves[i]._node is not None]
        if not parents or not grad_enabled():
            return prim.fun(*args)  # nothing to differentiate: the body, on these Tensors
        out = prim.eager(args)
        if out is not None:
            return out
        made = prim.reverse(values, in_tree)
        if made is None:
            return prim.fun(*args)
        out, rules = made
        if any(isinstance(v, Tensor) and v._trace is self and v._node is not None
               for v in tree_flatten(out)[0]):
            return prim.closed_over(self, args)  # a Tensor that requires grad, read from a closure
        return record_composite(self, rules, parents, values, out, inputs=leaves)

    def output(self, prim, ans, node) -> Tensor | tuple:
        """The Tensor(s) of a call's result, with its node (None: not differentiated)."""
        if prim.multiple_outputs:
            if node is None:
                return same_tuple_type(ans, [Tensor(v, self) for v in ans])
            return project_outputs(self, node, ans, None)
        return Tensor(ans, self, node)


EAGER = EagerTrace()


def is_eager(x: Tensor) -> bool:
    """Whether ``x`` is an eager Tensor, not a transform's, or, while ``chainrule.jit``
    traces, a value that stands for one (computed from eager Tensors read as arrays,
    which the plain call computes as eager Tensors): where PyTorch's meaning applies."""
    trace = x._trace
    return trace is EAGER or (trace.records and x._node in trace.eager)


def eager_trace() -> EagerTrace:
    """The eager trace (what an unpickled eager Tensor belongs to)."""
    return EAGER


def eager_quiet(fun):
    """``fun``, a composition of primitives (a loss, a normalisation, attention), computed
    on eager Tensors with NumPy's floating-point warnings off, as the eager layer computes
    one primitive with ``Primitive.eager_quiet``: PyTorch's layers give inf and nan of inf,
    NaN and huge inputs silently (and so does ``chainrule.jit``'s replay of a call on
    eager Tensors). Where a transform traces an argument (``grad``, ``vmap``, ``jit`` of
    an array), or no argument is a Tensor, NumPy's warnings stay, as for every primitive.

    >>> import warnings, chainrule as cr
    >>> centred = eager_quiet(lambda x: x - x.mean())
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error")  # inf - inf: nan, without NumPy's warning
    ...     centred(cr.tensor([float("inf"), 1.0]))
    Tensor([ nan, -inf])
    """
    @functools.wraps(fun)
    def quietly(*args, **kwargs):
        eager = False
        for a in (*args, *kwargs.values()) if kwargs else args:
            if isinstance(a, Tensor):
                if not is_eager(a):
                    return fun(*args, **kwargs)
                eager = True
        if not eager:
            return fun(*args, **kwargs)
        quiet = quiet_numpy()
        try:
            return fun(*args, **kwargs)
        finally:
            restore_numpy(quiet)
    return quietly


def note_view(base: Tensor, out: Tensor, prim, rest: tuple, kwargs) -> None:
    """Link ``out = prim(base, *rest, **kwargs)`` to ``base``'s memory when NumPy made it a
    view (as PyTorch makes indexing, reshape, transpose... views): ``out._view`` holds the
    first Tensor of that memory (the base), the calls that make ``out`` from it, and
    whether the link is one of values only (a view of :meth:`Tensor.detach`'s result)."""
    ans = out._value
    if ans.__class__ is not np.ndarray:
        make = prim.makes_view
        if make is True or not isinstance(ans, np.generic) or base._value.__class__ is not np.ndarray:
            return
        out._value = ans = make(base._value, *rest, **kwargs)  # a 0-d view, not a scalar copy
    v = base._value
    if ans is v:  # NumPy hands back the argument itself (a squeeze with nothing to squeeze): PyTorch's is a view
        out._value = ans = v.view()
    owner = ans.base  # NumPy's base: the array that owns the memory
    if owner is None:
        return
    if owner is not v and owner is not getattr(v, "base", None):
        return
    if INFERENCE_MADE[0]:  # a view of an inference Tensor is one, of a normal Tensor not (PyTorch's)
        out._inference = getattr(base, "_inference", False)
    link = getattr(base, "_view", None)
    if link is None:
        out._view = (base, ((prim, rest, kwargs),), False)
        register_view(base, out)
    else:
        root = link[0]
        out._view = (root, (*link[1], (prim, rest, kwargs)), link[2])
        register_view(root, out)


def note_pieces(base: Tensor, pieces, getitem, indices) -> None:
    """Link each of ``pieces``, the views ``getitem(base, index)`` for each of ``indices``
    that one call returned (split, chunk, unbind), to ``base``'s memory, as PyTorch's views."""
    trace = base._trace
    note = note_view if trace is EAGER or trace.records else note_transform_view
    for piece, index in zip(pieces, indices, strict=True):
        if getattr(piece, "_view", None) is None:  # (unbind's are views of base already)
            note(base, piece, getitem, (index,), NO_KWARGS)
