"""Tensor: a value being differentiated.

Inside ``chainrule.grad(f)`` the arguments of ``f`` are Tensors that belong to that
transform's trace; in the eager layer, ``chainrule.tensor(..., requires_grad=True)``
makes one that belongs to the eager trace. Either way a Tensor behaves like the NumPy
array it wraps: operators, methods and ``np.*`` functions all differentiate. Those are
the numpy mirror's functions: ``chainrule.numpy`` sets them on the class when it is
imported (:mod:`chainrule.numpy.bindings`), since the core imports nothing from above.
"""

from __future__ import annotations

import copy
import math
import sys
import warnings
import weakref

import numpy as np

from chainrule.core.errors import (
    BatchedValueError,
    TensorError,
    escaped_tensor_error,
    stands_for_jit_argument,
)
from chainrule.core.size import Size, as_size

__all__ = ["Tensor", "BOX_TYPES", "PRINT_OPTIONS", "TEXTS_MADE", "TRACE_TYPES", "deepcopy_eager", "overrides_ufuncs",
           "NO_UFUNC_OVERRIDE", "read_by_chainrule", "stands_for_array"]

# A value type that is not an array -> the Tensor subclass that boxes it when it is an
# argument being differentiated (HIPS autograd's ``Box.register``, for a user's own vector
# space such as a function in an RKHS); filled by ``chainrule.tracer.Box.register``.
BOX_TYPES: dict[type, type] = {}

# The trace classes (filled by chainrule.core.trace_protocol.Trace.__init_subclass__): a Tensor made
# with another second argument is PyTorch's legacy constructor, torch.Tensor(2, 3).
TRACE_TYPES: set[type] = set()
_NOTHING = object()

_NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be "
    "populated during backward(). If you want the gradient of a non-leaf Tensor, call .retain_grad() on it "
    "before backward(); if you meant a leaf, make sure you are reading the right Tensor.")

# PyTorch's print options, set by chainrule.set_printoptions (empty: NumPy's formatting)
PRINT_OPTIONS: dict = {}
# how many Tensors' texts were made (chainrule.jit: text made while tracing, which the print
# options shape, makes a replay check them on entry)
TEXTS_MADE = [0]


# What to write instead of a read that would drop a derivative
_FUNCTIONAL = (
    "Build arrays with chainrule.numpy (np.stack, np.concatenate, np.array([x, y])), "
    "update them out of place (x.at[i].set(v) on a Tensor, np.where(mask, v, a)), use "
    "chainrule.numpy functions instead of math.*, and read a number for printing or "
    "logging with x.item(), f'{x:.3f}' or chainrule.stop_gradient(x)."
)
_DROPS_DERIVATIVE = (
    "a Tensor that is being differentiated cannot become a plain NumPy array: "
    "that would drop its derivative silently (a NumPy function that chainrule "
    "does not mirror, numpy.array([x, y]), a[i] = x into a plain ndarray, or a "
    "plain ndarray's method given it, a.dot(x)). For numpy.array([x, y]) or "
    "numpy.stack of such values, call chainrule.numpy.array([x, y]) or "
    "chainrule.numpy.stack([x, y]); for a.dot(x), chainrule.numpy.dot(a, x) or "
    "a @ x (HIPS autograd's NumPy makes object arrays of its boxes there). "
    f"{_FUNCTIONAL} Take .detach() / chainrule.stop_gradient(x) if you mean to "
    "drop it."
)
_NUMPY_DROPS_GRADIENT = "numpy() of a Tensor that requires grad would drop its gradient; use .detach().numpy()"


# what primal() is read as by str(), repr() and format(): text that NumPy's print options
# shape (chainrule.jit checks them on replay)
AS_TEXT = "a string"

# the Tensor that len() was last taken of (a weak reference): NumPy's shuffle of an object
# that is not its ndarray measures it, then warns so, before it swaps the rows
MEASURED: list = [None]


class Tensor:
    """A NumPy value carried through a trace.

    ``_value`` is the wrapped value (an ndarray, a NumPy scalar, or a Tensor of an outer
    trace when transforms nest), ``_trace`` the trace it belongs to, ``_node`` its record
    for the backward pass (reverse mode) and ``_tangent`` its tangent (forward mode).
    """

    # _tangent, _grad, _version and _writer are set only where used (forward mode, eager
    # .grad, in-place writes, see chainrule.core.versions; _inference: PyTorch's inference
    # Tensors, made in inference_mode()), so that creating a Tensor on the hot path stores three fields;
    # so are _view (an eager view's base and how it was made from it) and _views (weak
    # references to a base's live views), see chainrule.core.eager. A __dict__ for the
    # attributes programs set on a Tensor, as on PyTorch's (Informer's
    # ``w.require_grad = False``, ``param.sequence_parallel = True``): made on the first one.
    __slots__ = ("_value", "_trace", "_node", "_tangent", "_grad", "_version", "_writer", "_view", "_views",
                 "_inference", "__weakref__", "__dict__")
    __array_priority__ = 100.0

    def __init__(self, value=_NOTHING, trace=None, node=None, *sizes, device=None):
        if trace.__class__ not in TRACE_TYPES:  # torch.Tensor(2, 3), torch.Tensor([1, 2])
            args = (*(a for a in (value, trace, node) if a is not None and a is not _NOTHING), *sizes)
            return self._construct(args, device)
        self._value = value
        self._trace = trace
        self._node = node
        if eager_trace._threads_in_inference and trace is eager.EAGER:  # PyTorch's inference Tensor
            eager_trace.mark_inference(self)

    def _construct(self, args: tuple, device) -> None:
        # PyTorch's legacy constructor; chainrule.numpy.torch_legacy sets the real one
        raise TypeError("chainrule.Tensor(...) as a constructor needs chainrule.numpy imported")

    # -- array attributes -------------------------------------------------------------
    @property
    def shape(self) -> Size | tuple[int, ...]:
        v = self._value
        trace = self._trace
        if trace is eager.EAGER:  # PyTorch's torch.Size
            return as_size(np.shape(v))
        shape = np.shape(v) if not isinstance(v, Tensor) else tuple(v.shape)
        # inside a transform, a tuple as NumPy's; under jit, what the plain call has: a
        # torch.Size of a value that stands for an eager Tensor there
        return as_size(shape) if trace.records and self._node in trace.eager else shape

    @shape.setter
    def shape(self, shape) -> None:
        self._set_in_place("shape", shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def dtype(self) -> np.dtype:
        v = self._value
        if v.__class__ is np.ndarray:  # the common case, without result_type's call
            return v.dtype
        return v.dtype if isinstance(v, Tensor) else np.result_type(v)

    @dtype.setter
    def dtype(self, dtype) -> None:
        self._set_in_place("dtype", dtype)

    def _set_in_place(self, name: str, value) -> None:
        """``x.shape = (2, 3)``, ``x.dtype = np.int64``: NumPy changes the array in place
        (the caller's, for an argument). A chainrule.jit trace of plain arrays does it as
        NumPy does, and the call runs without jit; other Tensors have no setter (PyTorch's
        have none either)."""
        trace = self._trace
        if not (stands_for_array(self) and isinstance(self._value, np.ndarray)):
            raise AttributeError(f"property '{name}' of 'Tensor' object has no setter")
        setattr(self._value, name, value)
        trace.refuse(f"the function set an array's {name} in place (x.{name} = ...), which a replay would not")

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d Tensor")
        MEASURED[0] = weakref.ref(self)  # NumPy's shuffle measures x first (see RecordTrace.warned)
        return shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def primal(self, what: str = "a plain NumPy value"):
        """The plain NumPy value under all traces (no gradient flows through it).

        Under ``chainrule.jit`` the value read here becomes a guard of the recorded
        program: a later call whose value differs is traced again, never replayed wrong.
        Under ``chainrule.vmap`` a batched value has no single plain value: refused.
        """
        t = self
        v = t._value
        while True:
            if t._trace.batches:
                if not getattr(t._trace, "open", True):
                    raise escaped_tensor_error(t._trace, what=what)
                raise BatchedValueError(
                    f"inside chainrule.vmap a batched value cannot become {what}: each "
                    "example has its own. Use chainrule.numpy functions on it (for a branch, "
                    "chainrule.numpy.where(cond, a, b); to index a NumPy array with it, "
                    "chainrule.numpy.take(array, index, axis=0)), or pass the value "
                    "unbatched (in_axes=None)."
                )
            if not isinstance(v, Tensor):
                break
            t = v
            v = v._value
        if t._trace.records:
            t._trace.guard(t, what)
        return v

    def differentiated_by(self):
        """The innermost-first transform (a reverse- or forward-mode trace) that this value
        carries a derivative for, or None (a plain jit or vmap value, or an eager one)."""
        t = self
        while isinstance(t, Tensor):
            trace = t._trace
            if trace.level > 0 and trace.open and not trace.records and not trace.batches:
                return trace
            t = t._value
        return None

    def _dropping(self, what: str) -> None:
        # float(), complex() and tolist() (of floats) are the identity on the value, so a
        # derivative carried through them would be lost: refused inside grad/jvp/... as
        # HIPS autograd and JAX do. int(), bool() and indexing are piecewise constant (their
        # derivative is zero) and stay Python control flow on the primal; so does item(),
        # which JAX allows.
        trace = self.differentiated_by()
        if trace is not None:
            raise TypeError(
                f"{what} of a value that chainrule.{trace.name} is differentiating would drop "
                "its derivative silently (NumPy calls float() when a value is stored into an "
                "element of a plain ndarray, a[i] = x, and so do math.* functions and "
                f"'%f' % x). {_FUNCTIONAL}"
            )

    # -- conversions ------------------------------------------------------------------
    def __float__(self) -> float:
        self._dropping("float()")
        return float(self._scalar("a float"))

    def __int__(self) -> int:
        return int(self._scalar("an int"))

    def _scalar(self, what: str):
        """The value for float(), int() or complex(): of an eager Tensor, its one element
        whatever its shape (float(loss) of a (1,) loss), as PyTorch's."""
        v = self.primal(what)
        if self._trace is eager.EAGER and np.ndim(v):
            if np.size(v) != 1:
                raise TensorError(f"only one element tensors can be converted to Python scalars; this one has "
                                  f"shape {np.shape(v)} (reduce it first, or use .tolist())")
            v = np.reshape(v, ())
        return v

    def __trunc__(self) -> int:
        if not stands_for_array(self):  # PyTorch's Tensor has no __trunc__ either
            raise TypeError("type Tensor doesn't define __trunc__ method (use int(x) or "
                            "chainrule.numpy.trunc(x))")
        # chainrule.jit on plain arrays: NumPy's value's (np.float64 is a float; np.float32
        # and arrays have no __trunc__)
        return math.trunc(self.primal("an int"))

    def __complex__(self) -> complex:
        self._dropping("complex()")
        return complex(self._scalar("a complex"))

    def __bool__(self) -> bool:
        try:
            return bool(self.primal("a bool (an if or while on it)"))
        except ValueError as e:  # a RuntimeError too, as PyTorch's
            raise TensorError(f"Boolean value of Tensor with more than one value is ambiguous ({e})") from e

    def __index__(self) -> int:
        return int(np.asarray(self.primal("an index")).__index__())

    def __array__(self, dtype=None, copy=None):
        if self._trace.batches:
            self.primal("a plain NumPy array")  # refused, with the reason
        if self._trace.records:
            if not self._trace.open:
                raise TypeError(
                    "a value traced by a chainrule.jit function that has already returned "
                    "was used; return it instead of storing it."
                )
            if stands_for_jit_argument(self) and self.requires_grad:
                # the caller's Tensor requires grad (read under no_grad): refused, as plain
                raise TypeError(_DROPS_DERIVATIVE)
            return self._jit_array(dtype, copy)
        if self.differentiated_by() is not None or (self._trace.level == 0 and self._node is not None):
            raise TypeError(_DROPS_DERIVATIVE)
        return np.asarray(self.primal(), dtype=dtype, copy=copy)

    def _jit_array(self, dtype=None, copy=None) -> np.ndarray:
        # np.asarray(x), np.full(3, x[0]), np.random.uniform(lo, hi) of a value chainrule.jit
        # traces: the value would be baked into a replay, so the call that reads it runs
        # without jit
        self._trace.refuse("a traced value became a plain NumPy array (np.asarray(x), or a "
                           "NumPy function that converts its argument)")
        return np.asarray(self._value, dtype=dtype, copy=copy)  # np.array(x) copies

    def item(self, *index):
        """The value of a one-element Tensor (or of the element ``index`` names) as a
        Python number."""
        value = np.asarray(self.primal("a Python number"))
        if not index and value.size != 1:  # a RuntimeError too, as PyTorch's
            raise TensorError(f"a Tensor with {value.size} elements cannot be converted to a Python number "
                              "with item(); reduce it first (x.sum().item()) or use x.tolist()")
        return value.item(*index)

    def tolist(self):
        value = np.asarray(self.primal("a list"))
        if value.dtype.kind in "fc":  # an int's or a bool's derivative is zero: nothing lost
            self._dropping("tolist()")
        return value.tolist()

    def __repr__(self) -> str:
        if self._trace.records:  # under chainrule.jit: the plain call's repr (a read that guards)
            if self._node in self._trace.eager:  # of an eager Tensor, a Tensor's
                text = f"Tensor({_array_text(np.asarray(self.primal(AS_TEXT)))})"
                if stands_for_jit_argument(self) and (self.requires_grad  # (read: a key from then on)
                                                      or type(self._trace.callers[id(self)]) is not Tensor):
                    # the caller's own (a Parameter's, requires_grad=True), of the same memory
                    return repr(self._trace.callers[id(self)])
                return text
            return repr(self.primal(AS_TEXT))
        value = self
        while isinstance(value, Tensor):
            if value._trace.batches:  # a batch under vmap: shown whole, with its trace
                value = value._value
                while isinstance(value, Tensor):
                    value = value._value
                return f"Tensor({_array_text(np.asarray(value))}, batched along axis 0, trace=vmap)"
            value = value._value
        body = _array_text(np.asarray(self.primal()))
        if self._trace.level == 0:
            return f"Tensor({body}{', requires_grad=True' if self._node is not None else ''})"
        return f"Tensor({body}, trace={self._trace.name})"

    def __hash__(self) -> int:
        # a value chainrule.jit traces hashes as the NumPy value it stands for (a NumPy
        # scalar by value, a read that guards; an array is unhashable, as in NumPy)
        if self._trace.records:
            return hash(self.primal())
        return object.__hash__(self)

    def __format__(self, spec: str) -> str:
        if spec or (self._trace.records and self._node not in self._trace.eager):
            return format(self.primal(AS_TEXT), spec)
        return repr(self)

    def __str__(self) -> str:
        # under chainrule.jit, print(x) shows what the plain call prints (a read that guards)
        if self._trace.records and self._node not in self._trace.eager:
            return str(self.primal(AS_TEXT))
        return repr(self)

    def __pos__(self):
        return self

    # -- the eager layer (PyTorch-like); see chainrule.core.eager ------------------------
    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by ``backward()`` (eager Tensors). Reading it on a
        Tensor that is not a leaf (and does not retain its gradient) warns, as PyTorch's:
        backward() does not fill it there."""
        if stands_for_jit_argument(self):
            return self._trace.caller_attribute(self, "grad")  # jit's value of an eager Tensor argument
        try:
            return self._grad
        except AttributeError:
            if self._trace is eager.EAGER and not self.is_leaf and not eager.retains_grad(self):
                warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
            return None

    @grad.setter
    def grad(self, value) -> None:
        if value is not None and self._trace is eager.EAGER:
            if isinstance(value, np.ndarray):
                value = Tensor(value, self._trace)
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if tuple(value.shape) != tuple(self.shape):
                raise TensorError(f"attempting to assign a gradient of shape {tuple(value.shape)} to a Tensor of "
                                  f"shape {tuple(self.shape)}; the gradient and the Tensor must have the same shape")
            if value.dtype != self.dtype:
                raise TensorError(f"attempting to assign a gradient of dtype {value.dtype} to a Tensor of dtype "
                                  f"{self.dtype}; convert it first (g.to({self.dtype}))")
        if stands_for_jit_argument(self):
            self._trace.set_caller_grad(self, value)  # jit's value of an eager Tensor argument
            return
        self._grad = value

    @property
    def requires_grad(self) -> bool:
        # a value chainrule.jit records stands for one of the plain call, which has no graph;
        # or for the caller's eager Tensor argument, which has its own (keyed by it)
        if self._trace.records:
            caller = self._trace.callers.get(id(self))
            if caller is None:
                return False
            self._trace.flags_read = True
            return caller.requires_grad
        return self._node is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        eager.set_requires_grad(self, flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        eager.set_requires_grad(self, flag)
        return self

    @property
    def is_leaf(self) -> bool:
        if stands_for_jit_argument(self):
            self._trace.flags_read = True
            return self._trace.callers[id(self)].is_leaf  # the caller's (keyed by it), as the plain call reads
        return self._node is None or self._trace.maker(self._node) is None

    @property
    def data(self) -> Tensor:
        """The same values, detached from the graph (shares memory). Unlike
        :meth:`detach`, writes into it are not counted as writes into this Tensor (as
        PyTorch's ``.data``: a backward pass does not check them)."""
        if stands_for_array(self) and not read_by_chainrule():
            # chainrule.jit on plain arrays, read by the function's code: NumPy's x.data, the
            # memoryview of the value (bytes(x.data), x.data[0] a Python float), as the plain
            # call reads it; that call runs without jit, as np.asarray(x) does
            value = self._value
            self.__array__()
            return value.data
        if self._trace.records and self._node in self._trace.eager:
            # jit's value of an eager Tensor: itself, so that a write through .data is
            # recorded as a write into that memory (t.data.add_(1)), replayed as it is done
            # (and not counted as a write into the caller's Tensor, as the plain call's)
            self._trace.data_taken.add(self._node)
            if stands_for_jit_argument(self):  # a new Tensor without grad, as the plain call's
                return self._trace.detached(self)
            return self
        try:
            alias = Tensor(self.primal(), eager.EAGER)
        except BatchedValueError:  # under vmap: each example's own values, without derivative
            return self.detach()
        alias._uncounted = True  # (chainrule.core.versions notes no write through it)
        return alias

    @data.setter
    def data(self, value) -> None:
        """``p.data = v``: the Tensor holds ``v``'s values from now on (PyTorch's way to
        swap a parameter's values outside the graph; a graph that saved the old values
        keeps them)."""
        if self._trace.records:
            # the caller's Tensor (an argument's) would keep its old memory, and a replay
            # would compute with the old values
            raise TypeError("t.data = v inside chainrule.jit: a replay cannot rebind a Tensor's memory. Write "
                            "the values into it, t.data.copy_(v) (into the memory it shares, the caller's array "
                            "of a cr.from_numpy too), or use v itself (t = v) and return it")
        value = value.primal() if isinstance(value, Tensor) else value
        self._value = np.array(value, dtype=np.result_type(value))

    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None):
        """Accumulate the gradient of this Tensor into ``.grad`` of the leaves it came from
        (only of ``inputs``, leaves or not, where given, as PyTorch's).

        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        Tensor([2., 4.])
        """
        eager.backward(self, gradient, retain_graph, create_graph, inputs)

    def __reduce_ex__(self, protocol):
        """``pickle``: an eager Tensor as its values and whether it requires grad, as
        PyTorch's (it comes back as a new leaf, without graph or ``.grad``; a Parameter as
        a Parameter); other traces' values as any object."""
        if self._trace is eager.EAGER:  # (with the attributes a program set on it, as PyTorch's)
            return (_unpickle_eager, (type(self), self.primal(), self.requires_grad), vars(self) or None)
        if stands_for_array(self):
            # chainrule.jit on plain arrays: the plain call pickles the array; read, as
            # np.asarray(x) reads it (that call runs without jit)
            self.__array__()
            return self._value.__reduce_ex__(protocol)
        return object.__reduce_ex__(self, protocol)

    def __sizeof__(self) -> int:
        if stands_for_array(self):
            # chainrule.jit on plain arrays: sys.getsizeof(x) of the plain call's array, which
            # counts its memory if it owns it (a view's does not): read, as np.asarray(x)
            # reads it (that call runs without jit). getsizeof adds to this the headers of
            # an instance of a Python class, which the array does not have.
            self.__array__()
            return sys.getsizeof(self._value) - _HEADERS
        return object.__sizeof__(self)

    def __bytes__(self) -> bytes:
        if stands_for_array(self):
            self.__array__()  # the plain call's bytes(x): the array's memory, read
            return bytes(self._value)
        try:  # what Python's bytes() makes of an object without a buffer
            return bytes(self.__index__())
        except TypeError:
            return bytes(iter(self))

    def detach(self) -> Tensor | np.ndarray:
        """The same values without the graph. An eager Tensor (or one computed from an
        eager Tensor) gives an eager Tensor sharing memory with it: an in-place write into
        either is seen by both, and a backward pass through a graph that saved the old
        values raises (PyTorch's shared version counter). Inside a transform over arrays
        it is ``chainrule.stop_gradient(x)`` (an array under ``grad``, a traced value
        under ``jit`` and ``vmap``), so the transform's results stay arrays; inside
        ``chainrule.func``'s transforms a Tensor without derivative that shares ``x``'s
        memory, as torch.func's.

        >>> import numpy as np, chainrule as cr
        >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> y = x * 2
        >>> d = y.detach(); _ = d.zero_(); y.tolist()
        [0.0, 0.0]
        >>> cr.grad(lambda x: (x.detach() * x).sum())(np.array([1.0, 2.0]))
        array([1., 2.])
        """
        if self._trace is eager.EAGER:
            return eager.detach(self)
        if eager.pytorch_meaning_on() and not self._trace.records:  # torch.func's: a Tensor sharing the memory
            return eager.detach_in_transform(self)
        value = undifferentiated(self)
        if isinstance(value, Tensor) and value._trace.level > 0:
            if stands_for_jit_argument(value):  # not the argument (whose requires_grad is the caller's)
                return value._trace.detached(value)
            return value  # jit's or vmap's
        x = self
        while isinstance(x, Tensor):
            if x._trace is eager.EAGER:
                return eager.detach(x)
            x = x._value
        return value

    def detach_(self) -> Tensor:
        """Take this eager Tensor off its graph in place: it becomes a leaf without
        gradient, as PyTorch's ``detach_`` (RNN code's ``hidden.detach_()``).

        >>> import chainrule as cr
        >>> h = cr.tensor([1.0], requires_grad=True) * 2
        >>> h.detach_() is h, h.requires_grad, h.is_leaf
        (True, False, True)
        """
        return eager.detach_(self)

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The values as a NumPy array (shared, not copied). Refuses if it needs a grad,
        unless ``force=True`` (PyTorch's: the values without their gradient)."""
        if self._trace.records and not self._trace.batches:  # (jit: run unjitted)
            if not force and stands_for_jit_argument(self) and self.requires_grad:
                raise RuntimeError(_NUMPY_DROPS_GRADIENT)  # the caller's Tensor, read under no_grad
            return self._jit_array()
        if self._trace.batches:  # (vmap: refused)
            return self.__array__()
        if force and self._trace is eager.EAGER:
            return np.asarray(self._value)
        if self._node is not None or self._trace.level > 0:
            raise RuntimeError(_NUMPY_DROPS_GRADIENT)
        return np.asarray(self._value)

    def register_hook(self, hook):
        """Call ``hook(grad)`` with this Tensor's gradient in ``backward()``; a returned
        value replaces the gradient. Returns a handle with ``.remove()``."""
        return eager.register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` in ``backward()`` right after this leaf's ``.grad`` has been
        updated (as PyTorch's hook of that name). Returns a handle with ``.remove()``.

        >>> import chainrule as cr
        >>> w = cr.tensor([3.0], requires_grad=True)
        >>> h = w.register_post_accumulate_grad_hook(lambda t: print(t.grad))
        >>> (w * w).sum().backward()
        Tensor([6.])
        """
        return eager.register_post_accumulate_grad_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf Tensor too."""
        eager.retain_grad(self)

    @property
    def retains_grad(self) -> bool:
        """Whether :meth:`retain_grad` was called on this non-leaf Tensor (PyTorch's flag)."""
        return eager.retains_grad(self)


NO_KWARGS: dict = {}  # shared by operator calls; never mutated


class _Instance:  # of a Python class, as a Tensor is
    pass


_HEADERS = sys.getsizeof(_Instance()) - _Instance().__sizeof__()  # sys.getsizeof's for a Tensor


def stands_for_array(t: Tensor) -> bool:
    """Whether ``t`` is a value that ``chainrule.jit`` traces for a NumPy array or scalar of
    the plain call (an array argument, beside eager Tensors too, or what NumPy computes from
    one), whose attributes and methods are NumPy's there; not for an eager Tensor, given,
    made or computed from one (``t``, ``cr.from_numpy(x)``, ``cr.tensor(2.0) * x``), whose
    are PyTorch's, as in the plain call."""
    trace = t._trace
    return trace.plain_arrays and t._node not in trace.eager


def read_by_chainrule() -> bool:
    """Whether the attribute being read (in a property or descriptor that calls this) is
    read by chainrule's own code, which takes a traced value for the Tensor it is, rather
    than by the user's, whose values stand for NumPy arrays in a ``chainrule.jit`` call on
    plain arrays (``x.size`` an int there, PyTorch's method in chainrule's code)."""
    return (sys._getframe(2).f_globals.get("__name__") or "").startswith("chainrule.")


def _array_text(a: np.ndarray) -> str:
    """``a`` as a Tensor's repr shows it: with PyTorch's print options where
    ``set_printoptions`` gave them (floats with ``precision`` decimals, ``1.`` where all are
    whole numbers; ``sci_mode`` True, False or None for PyTorch's choice)."""
    TEXTS_MADE[0] += 1
    opts = PRINT_OPTIONS
    if not opts:
        return np.array2string(a, separator=", ", prefix="Tensor(")
    p, threshold = opts["precision"], min(opts["threshold"], sys.maxsize)
    kw = {"precision": p, "threshold": threshold, "edgeitems": opts["edgeitems"],
          "max_line_width": opts["linewidth"]}
    if a.dtype.kind == "f":
        finite = np.abs(a[np.isfinite(a)])
        nonzero = finite[finite != 0]
        whole = np.array_equal(finite, np.round(finite))
        sci = opts["sci_mode"]
        if sci is None and nonzero.size:  # PyTorch's choice
            big, small = nonzero.max(), nonzero.min()
            sci = bool(big / small > 1000 or big > 1e8 or (not whole and small < 1e-4))
        form = f"{{:.{p}e}}" if sci else "{:.0f}." if whole else f"{{:.{p}f}}"

        def text(v):
            return form.format(v) if np.isfinite(v) else str(v)

        width = max((len(text(v)) for v in a.ravel()[:threshold]), default=0)  # all as wide, as PyTorch's
        kw["formatter"] = {"float_kind": lambda v: text(v).rjust(width)}
    return np.array2string(a, separator=", ", prefix="Tensor(", **kw)


# Values that never take part in NumPy's ufunc dispatch themselves
NO_UFUNC_OVERRIDE = frozenset({np.ndarray, float, int, complex, bool, str, type(None), np.float64, np.float32,
                                np.int64, np.int32, np.bool_, np.complex128, list, tuple, dict, slice})


def overrides_ufuncs(value) -> bool:
    """Whether ``value`` is another library's array-like container that takes part in
    NumPy's ufunc dispatch (xarray's ``DataArray``, a pandas ``Series``): its class has an
    ``__array_ufunc__`` of its own, and it is neither an ndarray nor a Tensor. NumPy's
    operators and ufuncs let such a container handle a call with an ndarray (it holds the
    ndarray's result); a Tensor's give way to it likewise, so that the container holds the
    Tensor, whose derivative goes on through it, as in autograd and PyTorch."""
    kind = value.__class__
    if kind in NO_UFUNC_OVERRIDE or isinstance(value, np.ndarray | Tensor):
        return False
    return getattr(kind, "__array_ufunc__", None) is not None


def undifferentiated(x):
    """``x`` with every differentiating trace taken off: its plain value, or, while
    ``chainrule.jit`` traces, the jit's Tensor (so what is computed from it is recorded
    rather than frozen). A batch of ``chainrule.vmap`` stays a batch (of undifferentiated
    values). Lists and tuples are looked into."""
    if isinstance(x, Tensor):
        while not x._trace.records:
            if x._trace.batches:
                inner = undifferentiated(x._value)
                return x if inner is x._value else x._trace.box(inner)
            x = x._value
            if not isinstance(x, Tensor):
                break
        return x
    if isinstance(x, list | tuple) and any(isinstance(v, Tensor) for v in x):
        return type(x)(undifferentiated(v) for v in x)
    return x


# The eager layer's functions take Tensors; the class needs them for its eager methods.
from chainrule.core import eager, eager_trace  # noqa: E402


def deepcopy_eager(t: Tensor, memo: dict) -> Tensor:
    """``copy.deepcopy`` of an eager Tensor: a new one with copied values, a new leaf if
    ``t`` required grad (its gradient copied too); a computed Tensor on a graph is
    refused, as in PyTorch. (The mirror binds it as ``Tensor.__deepcopy__``.)

    >>> import copy, chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> w2 = copy.deepcopy(w); w2.requires_grad, w2 is w
    (True, False)
    """
    if t._node is not None and t._node.prim is not None:
        raise RuntimeError("deepcopy of a Tensor computed on a graph: only leaves can be copied; take "
                           "x.detach().clone() (and requires_grad_() if it should be a new leaf)")
    new = Tensor(copy.deepcopy(t._value, memo), eager.EAGER)
    memo[id(t)] = new
    if t._node is not None:
        eager.set_requires_grad(new, True)
    if t.grad is not None:
        new._grad = copy.deepcopy(t.grad, memo)
    if vars(t):  # the attributes a program set on it, as PyTorch copies them
        vars(new).update(copy.deepcopy(vars(t), memo))
    return new


def _unpickle_eager(cls: type, value, requires_grad: bool) -> Tensor:
    """An eager Tensor (or a subclass made as ``cls(value, requires_grad=...)``, as
    Parameter) from what :meth:`Tensor.__reduce_ex__` pickled."""
    if cls is not Tensor:
        return cls(value, requires_grad=requires_grad)
    t = Tensor(value, eager.EAGER)
    if requires_grad:
        eager.set_requires_grad(t, True)
    return t
