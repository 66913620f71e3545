"""The recording trace of :func:`chainrule.jit`: :class:`RecordTrace`.

The first call of a jitted function runs it on Tensors of a :class:`RecordTrace`, the
lowest trace of all, so every NumPy call that the function, its derivatives (the backward
pass too) and its updates make lands on one flat list of :class:`~chainrule.transforms.program.Call`
and :class:`~chainrule.transforms.program.Guard` records, with the value of every program
variable. In-place writes (``x += y``, ``x[i] = v``, ``out=``) are done on the traced
arrays and recorded as writes; a value Python reads becomes a guard; random draws keep
their generator's state; what a replay could not repeat marks the record unreplayable
(:meth:`RecordTrace.refuse`). Its NumPy scalars and their operators are
:mod:`chainrule.transforms.record_scalars`'s, its in-place writes
:mod:`chainrule.transforms.record_writes`'s. Turning the record into code is
:mod:`chainrule.transforms.passes`'s job, caching and replaying it
:mod:`chainrule.transforms.jitted`'s.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import numpy as np

from chainrule.core.dtypes import default_float_dtype
from chainrule.core.errors import eager_error, escaped_tensor_error
from chainrule.core.global_state import SETTINGS, SETTINGS_READ
from chainrule.core.primitive import RECORDING
from chainrule.core.rng import recorder_closed, recorder_opened
from chainrule.core.tensor import AS_TEXT, MEASURED, PRINT_OPTIONS, TEXTS_MADE, Tensor
from chainrule.core.trace import EAGER, Trace, _levels, same_tuple_type
from chainrule.core.user_primitive import user_function
from chainrule.transforms.arguments import untrace_exception
from chainrule.transforms.fingerprints import (
    PACKAGE,
    SHUFFLE_NOTICE,
    call_from,
    filters_fingerprint,
    place_outside,
    rng_state,
    same_state,
    special_errstate,
    warn_again,
)
from chainrule.transforms.ndarray_calls import (
    CONVERTING_MEMBERS,
    WRITING_MEMBERS,
    RecordedArray,
    RecordedSubclassArgument,
    ndarray_member_call,
    out_by_keyword,
)
from chainrule.transforms.program import Call, Guard, Seq, Var, alias, copy_made, hashable, root_array, same_memory
from chainrule.transforms.record_scalars import SCALAR_MATH, RecordedScalar, ScalarOperators
from chainrule.transforms.record_writes import InplaceWrites

__all__ = ["RecordTrace", "foreign_tensor_error", "own_names", "own_operators"]

# Functions whose output shape depends on the values of their inputs, not only on their
# shapes: a replay checks the shapes they give (the rest follows by induction).
_VALUE_SHAPED = {
    getattr(np, name)
    for name in (
        "nonzero argwhere flatnonzero unique unique_values unique_counts unique_inverse "
        "unique_all intersect1d union1d setdiff1d setxor1d bincount histogram "
        "histogram_bin_edges extract compress trim_zeros repeat delete insert resize polydiv polymul"
    ).split()
    if hasattr(np, name)
}


_VALUE_TYPED = {"eig", "eigvals", "real_if_close", "roots"}


def _copies(args, kwargs) -> bool:
    """Whether ``np.nan_to_num(*args, **kwargs)`` works on a copy (``copy=False``: in place)."""
    return bool(kwargs.get("copy", args[1] if len(args) > 1 else True))


def _checks(fun) -> bool | str:
    """What a replay checks of ``fun``'s results: ``"full"`` (type, shape and dtype) for a
    function whose result type may depend on values (NumPy's eig, scimath's sqrt of a
    negative number) or that chainrule does not know (a custom primitive), the shape
    for NumPy's value-shaped functions, nothing for the rest."""
    if isinstance(fun, np.ufunc) or fun in SCALAR_MATH:  # (a NumPy scalar's type is its operands')
        return False
    if hasattr(fun, "numpy_method"):  # x.nonzero() of the user's code: as np.nonzero(x)
        return getattr(np, fun.numpy_method, None) in _VALUE_SHAPED
    # a primitive of the user's is recorded as chainrule's wrapper of their function
    module = getattr(user_function(fun), "__module__", None) or ""
    if module.startswith("numpy"):
        if "scimath" in module or getattr(fun, "__name__", None) in _VALUE_TYPED:
            return "full"
        return fun in _VALUE_SHAPED if hashable(fun) else False
    if module.startswith("chainrule"):
        return False
    return "full"


def print_options() -> tuple:
    """What text made of values depends on: NumPy's print options, and chainrule's
    (``cr.set_printoptions``) for a Tensor's."""
    return np.get_printoptions(), dict(PRINT_OPTIONS)


class RecordTrace(ScalarOperators, InplaceWrites, Trace):
    """The trace of :func:`jit`: runs each call on plain values and records it.

    Its level is below every transform opened inside the jitted function, so a ``grad``
    there records its forward and backward computations here too.
    """

    __slots__ = ("level", "name", "ops", "values", "open", "unreplayable", "entry_errstate",
                 "data_taken", "callers", "flags_read",
                 "entry_filters", "generators", "eager", "constants", "calling",
                 "entry_printoptions", "formatted", "texts_made", "entry_settings", "settings_read", "measured",
                 "swap_reads", "found_roots", "_snapshots", "entry_special_errstate")
    records = True
    # its values that are not eager Tensors in the plain call (self.eager) are NumPy's
    # arrays and scalars there, beside eager Tensors and modules too: their methods are
    # NumPy's, and PyTorch's are refused as NumPy refuses them
    plain_arrays = True

    def __init__(self, generators=()):
        self.level = next(_levels)
        self.name = "jit"
        self.ops: list = []
        self.values: list = []  # the value of every program variable, while tracing
        self.open = True
        # why the record must not be replayed (None: it may be), see refuse()
        self.unreplayable: str | None = None
        self.entry_errstate = np.geterr()
        self.entry_special_errstate = special_errstate()
        self.entry_filters = filters_fingerprint()
        self.entry_printoptions = print_options()
        # whether Python turned traced values into text (str(x), f"{x}", np.array2string),
        # which NumPy's print options shape: a replay checks them on entry
        self.formatted = False
        self.texts_made = TEXTS_MADE[0]  # and eager Tensors' text (repr(cr.tensor(x)))
        # id -> [generator, its state after the last recorded draw (or at the start)]
        self.generators: dict[int, list] = {}
        # the variables computed from eager Tensors among the arguments (eager Tensors in
        # the plain call): their arithmetic has PyTorch's result dtypes
        self.eager: set = set()
        # the eager values whose .data the function took: writes through it are not
        # counted (PyTorch's .data), so writes into them are not counted at all
        self.data_taken: set = set()
        # id of the value that stands for a caller's eager Tensor -> that Tensor, whose
        # requires_grad, is_leaf and grad the plain call reads
        self.callers: dict = {}
        # whether the function read requires_grad or is_leaf of one (a key from then on)
        self.flags_read = False
        # eager Tensors read as constants: watched as their arrays from now on
        self.constants: dict[int, Tensor] = {}
        self.calling = False  # inside a recorded call (whose warnings its replay issues again)
        self.measured: Tensor | None = None  # the traced value that NumPy's shuffle swaps rows of
        self.swap_reads = 0  # reads of rows that NumPy's shuffle makes next (see warned)
        # the memory (by root array) of the arrays the function finds rather than makes (a
        # global array, an attribute of an argument): watched between calls, read where
        # they are; see constant()
        self.found_roots: dict = {}  # id -> that root
        self._snapshots: dict[int, tuple] = {}  # id -> (array, its copy as a recorded call read it)
        for g in generators:
            self.watch(g)
        RECORDING[0] += 1
        recorder_opened(self)
        # the global settings the call reads (cr.is_grad_enabled()), checked on entry
        # against their values then
        self.entry_settings = {read: read.unwatched() for read in SETTINGS}
        self.settings_read: set = set()
        SETTINGS_READ.append(self.settings_read)

    def ndarray_member(self, x: Tensor, name: str, attribute: bool):
        """NumPy's method ``name`` of the traced ``x`` (the ndarray's, or a NumPy scalar's),
        where the plain call holds ``x`` as a NumPy array; or the value of its
        ``attribute``. Each call (read) is recorded as it is, so that it returns, warns and
        raises what the plain call's does (``x.squeeze(0)`` of a dim not of size 1 raises
        NumPy's ValueError, ``x.sum(dim=0)`` its TypeError)."""
        call = ndarray_member_call(name, attribute)
        if attribute:
            return self.record(call, (x,), {})

        def numpy_method(*args, **kwargs):
            if any(map(self._outside, args)) or any(map(self._outside, kwargs.values())):
                if name in CONVERTING_MEMBERS:
                    # NumPy's method converts its array arguments itself (np.sin(x).dot(w)):
                    # a value being differentiated raises there as in the plain call, an
                    # eager Tensor gives its array, and the result is NumPy's
                    for a in (*args, *kwargs.values()):
                        for v in a if isinstance(a, list | tuple) else (a,):
                            if self._foreign(v):
                                v.__array__()
                    out = (self.write if name in WRITING_MEMBERS else self.record)(call, (x, *args), kwargs)
                    for t in out if isinstance(out, list | tuple) else (out,):
                        if isinstance(t, Tensor):
                            self.eager.discard(t._node)
                    return out
                # a value of a transform inside the function (a grad's) given to a method
                # that NumPy computes with ufuncs (x.clip(0, w)), or an eager Tensor:
                # chainrule's method, which differentiates and traces it
                return getattr(Tensor, name)(x, *args, **kwargs)
            if name in WRITING_MEMBERS:  # x.sort(), x.put(i, v): in place, as NumPy's
                return self.write(call, (x, *args), kwargs)
            return self.record(call, (x, *args), kwargs)

        numpy_method.__name__ = numpy_method.__qualname__ = name
        return numpy_method

    def _outside(self, a) -> bool:
        """Whether the argument ``a`` holds a Tensor that is not one of this trace's NumPy
        arrays (another trace's, an eager Tensor's), at its top or in a list or tuple."""
        if isinstance(a, Tensor):
            return a._trace is not self or a._node in self.eager
        return isinstance(a, list | tuple) and any(map(self._outside, a))

    def caller_attribute(self, t: Tensor, name: str):
        """``t.grad`` (or ``t.grad_fn``) of the value ``t`` that stands for a caller's
        eager Tensor (a parameter's gradient, read by a step under no_grad): the caller's,
        as the plain call reads it; the call is not replayed (a replay would not read it
        again)."""
        self.refuse(f"the function read .{name} of an eager Tensor argument (a parameter's "
                    "gradient, or its graph), which a replay would not read again")
        return getattr(self.callers[id(t)], name)

    def set_caller_grad(self, t: Tensor, value) -> None:
        """``t.grad = value`` of the value ``t`` that stands for a caller's eager Tensor:
        set on the caller's, as the plain call does; the call is not replayed."""
        if isinstance(value, Tensor) and value._trace is self:
            raise TypeError("chainrule.jit: the function assigned a traced value to .grad of an "
                            "eager Tensor argument; assign it outside the jitted call, or return it")
        self.refuse("the function assigned .grad of an eager Tensor argument, which a replay "
                    "would not assign again")
        self.callers[id(t)].grad = value

    def refuse(self, reason: str) -> None:
        """The call being traced does something a replay would not repeat: its result
        stands (it was computed by running the function), but it is not replayed."""
        if self.unreplayable is None:
            self.unreplayable = reason

    def watch(self, generator) -> None:
        if id(generator) not in self.generators:
            self.generators[id(generator)] = [generator, rng_state(generator)]

    def new_tensor(self, value, subclassed: bool = False) -> Tensor:
        """The traced value of the program's next input ``value``; ``subclassed``: of an
        eager Tensor argument of a subclass of Tensor (a Parameter), whose class the
        function's code sees."""
        self.values.append(value)
        if isinstance(value, np.generic):
            return RecordedScalar(value, self, len(self.values) - 1)
        return (RecordedSubclassArgument if subclassed else RecordedArray)(value, self, len(self.values) - 1)

    def process(self, prim, args, kwargs):
        # quiet where the eager layer computes the call quietly (see EagerTrace.unary and
        # binary): the replay then runs it under the same error state
        quiet = (prim.eager_quiet or prim.fun.__class__ is np.ufunc
                 or len(args) == 1 and not kwargs and self._eager_integers(args[0])) and any(map(self._is_eager, args))
        if quiet:
            with np.errstate(all="ignore"):
                return self._process(prim, args, kwargs)
        return self._process(prim, args, kwargs)

    def _process(self, prim, args, kwargs):
        numbers = ()
        if (prim.eager_operands is not None and len(args) == 2 and not kwargs
                and (self.eager or any(isinstance(a, Tensor) and a._trace.level == 0 for a in args))):
            args, numbers = self._eager_operands(prim, *args)
        elif len(args) == 1 and not kwargs and self._eager_integers(args[0]):
            args = self._eager_float(prim, args[0])
        # a forward that stands for a NumPy function (a direct reduction) is recorded as it
        fun = getattr(prim.fun, "numpy_function", prim.fun)
        if numbers:
            fun = _numbers_at(fun, numbers)
        if (callable(prim.makes_view) and args and isinstance(args[0], Tensor) and args[0]._trace is self
                and args[0]._node in self.eager and type(args[0]._value) is np.ndarray):
            fun = _view_not_scalar(fun, prim.makes_view)  # an eager Tensor's t[0]: a 0-d view
        try:
            return self.record(fun, args, kwargs)
        except (ValueError, TypeError) as e:
            if any(map(self._is_eager, args)):
                # on eager Tensors the plain call raises it as PyTorch does, a TensorError
                raise eager_error(prim.__name__, e, [getattr(a, "_value", a) for a in args]) from e
            raise

    def record(self, fun: Callable, args, kwargs, effect: str | None = None, rng: Callable | None = None,
               check: str | None = None):
        """Run ``fun`` on the values of ``args`` and record the call; Tensors come back.

        ``effect="write"``: the call writes into its first argument (kept, and undone
        when a replay stops early); ``effect="draw"``: it draws from the generator that
        ``rng()`` returns (kept, its state restored when a replay stops early).
        ``check="full"``: a replay checks the results' types, shapes and dtypes.
        """
        if fun in _IDENTITY_COMPARISONS and len(args) == 2 and (args[0] is None or args[1] is None):
            t = args[0] if args[1] is None else args[1]
            if isinstance(t, Tensor) and t._trace is self and isinstance(t._value, np.generic):
                # a NumPy scalar does not compare with None: Python's identity does (False)
                return fun is np.not_equal
        if not self.open:
            raise RuntimeError(
                f"{getattr(fun, '__name__', fun)} was called on a value traced by a "
                "chainrule.jit function that has already returned; return it instead of "
                "storing it."
            )
        if len(args) > 1 and "out" not in kwargs:
            args, kwargs = out_by_keyword(fun, args, kwargs)
        found: list = []
        vals, targs = [], []
        for a in args:
            v, t = self._encode(a, found)
            vals.append(v)
            targs.append(t)
        kvals, tkwargs = {}, {}
        for k, v in kwargs.items():
            kvals[k], tkwargs[k] = self._encode(v, found)
        if kwargs.get("out") is not None:
            if not isinstance(tkwargs["out"], Var | Seq):  # into an array that is not traced
                return self.write_untraced(fun, args, kwargs)
            effect = effect or "write"  # NumPy writes the result into out= (np.cumsum, np.clip, ...)
        elif fun is np.nan_to_num and not _copies(args, kwargs):
            # nan_to_num(x, copy=False) writes x in place (and returns it)
            if not isinstance(targs[0], Var):  # into an array that is not traced
                return self.write_untraced(fun, args, kwargs)
            effect = effect or "write"
        generator = None
        if rng is not None:
            generator = rng()
            self._check_generator(generator)
        calling, self.calling = self.calling, True
        place = place_outside(sys._getframe(1))  # the user's line, where NumPy's warnings point
        try:
            ans = call_from(place, fun, vals, kvals)
        except Exception as e:
            # caught inside the function, the exception is a branch that no guard sees
            self.refuse(f"{getattr(fun, '__name__', fun)} raised {type(e).__name__} while traced")
            raise
        finally:
            self.calling = calling
        if generator is not None:
            self.generators[id(generator)][1] = rng_state(generator)
        errstate = np.geterr()
        if errstate == self.entry_errstate:
            errstate = None
        if filters_fingerprint() != self.entry_filters:
            self.refuse("the warnings filters were changed inside the function")
        if special_errstate() != self.entry_special_errstate:
            # a replay's call would run under the caller's state (gamma(-1): nan, not an error)
            self.refuse("scipy.special's error state was changed (scipy.special.errstate) inside the function")
        unpack = isinstance(ans, tuple | list)
        if effect is not None and ans is None:  # a writer's None (x[i] = v, np.copyto)
            unpack, ans = True, ()
        objects = any(isinstance(v, np.ndarray) and v.dtype.hasobject for v in vals)
        if (any(map(_untraceable, ans if unpack else (ans,))) and (check != "full" or objects)
                or objects and any(type(v) in _PYTHON_NUMBERS for v in (ans if unpack else (ans,)))):
            # what the plain call gets is not a number nor a plain array: an object taken
            # out of an object array (x[0].name), what an object's __array_ufunc__ made of
            # x * q, an ndarray subclass with operators of its own (x.view(Units)); or a
            # Python number taken out of one (x[0] * 2 is Python's float, not NumPy's): the
            # function gets it as it is, and what Python does with it is not recorded
            self.refuse(f"{getattr(fun, '__name__', 'a call')} gave a {type(ans).__name__} (an "
                        "object of Python's, not a NumPy scalar or array: an item of an object array, "
                        "what an object's own operators made), which a replay could not follow")
            return ans
        outs = []
        results = []
        for value in ans if unpack else (ans,):
            t = self.new_tensor(value)
            outs.append(t._node)
            results.append(t)
        eager = _EAGER_CONSTANT in found
        if eager:
            found = [n for n in found if n is not _EAGER_CONSTANT]
        if eager or (self.eager and any(n in self.eager for n in found)):
            self.eager.update(outs)
        check_shape = check or _checks(fun)
        if not check_shape and not isinstance(fun, np.ufunc) and effect is None:
            # an integer or boolean traced argument may be an index or a count
            check_shape = any(np.result_type(self.values[i]).kind in "biu" for i in found)
        self.ops.append(Call(fun, targs, tkwargs, outs, unpack, check_shape, effect, rng, errstate, place))
        if not unpack:
            return results[0]
        return list(results) if isinstance(ans, list) else same_tuple_type(ans, results)

    def foreign(self, fun: Callable, args, kwargs):
        """A NumPy function without a derivative (``np.char.upper(x)``) on this trace's
        values: recorded as it is, its results' types, shapes and dtypes checked on replay
        (they may depend on the values). A result that is not arrays (a string, a list,
        None) is the plain call's, from values that Python read (guards)."""
        out = self.record(fun, args, kwargs, check="full")
        results = out if isinstance(out, list | tuple) else (out,)
        if all(isinstance(t._value, np.ndarray | np.generic) for t in results):
            return out
        if fun in _MEMORY_RELATIONS:
            # np.shares_memory(a, b): not of the values but of where they are (arguments
            # passed as views of one array), so the replay computes it again and checks it
            self.guard(out)
            return out._value
        self.ops.pop()
        self.formatted = True  # np.array2string(x): text, which the print options shape
        for a in (*args, *kwargs.values()):
            for t in a if isinstance(a, list | tuple) else (a,):
                if isinstance(t, Tensor):
                    t.primal()
        if not isinstance(out, list | tuple):
            return out._value
        values = [t._value for t in results]
        return values if isinstance(out, list) else same_tuple_type(out, values)

    def stored(self, t: Tensor):
        """What the plain call holds where the function stored the traced ``t`` (a global,
        an attribute of a module it closes over), once the trace is over: ``t``'s array;
        or, where the plain call computed it from eager Tensors, ``t`` itself made an eager
        Tensor (without grad) again, in place: a closed-over batch norm's running
        statistics, an eager buffer that took on the traced values of ``stat *= keep``,
        stay the module's buffer object wherever it is held (its ``_buffers``, the
        caller's names for it), as in the plain call."""
        if not self._is_eager(t):
            return t._value
        t._trace, t._node = EAGER, None
        if type(t) is RecordedArray or type(t) is RecordedSubclassArgument:
            t.__class__ = Tensor  # (an eager Tensor's methods are PyTorch's)
        return t

    def as_array(self, t: Tensor) -> Tensor:
        """``t`` as the plain call reads an eager Tensor where it takes its array (a
        transform differentiates it at its value, ``stop_gradient`` gives its array): a
        variable of the same value that is not an eager Tensor there; ``t`` itself where
        it is not one."""
        if t._node not in self.eager or not self.open:
            return t
        out = self.record(alias, (t,), {})
        self.eager.discard(out._node)
        return out

    def detached(self, t: Tensor) -> Tensor:
        """``t.detach()`` of the value that stands for the caller's eager Tensor argument:
        another variable of the same memory (a write into it is a write into the argument),
        which is not the argument, so its ``requires_grad`` is False, as the plain call's
        detached Tensor's, where the argument's is the caller's."""
        out = self.record(alias, (t,), {})
        if t._node in self.eager:
            self.eager.add(out._node)
        return out

    def as_eager(self, t: Tensor) -> Tensor:
        """``t``, a result that the plain call makes an eager Tensor of (the mask or the
        indices of an eager Tensor's method, chainrule.numpy.torch_common.as_eager): a
        variable of the same value that is one there; ``t`` itself where it is one."""
        if t._node in self.eager or not self.open:
            return t
        # of a NumPy scalar: a 0-d array, as the plain call's Tensor(np.asarray(result))
        out = self.record(np.asarray if isinstance(t._value, np.generic) else alias, (t,), {})
        self.eager.add(out._node)
        return out

    def unboxed(self, fun: Callable, args, kwargs):
        """A NumPy function without a derivative (a mask, indices: ``np.any``, ``np.argmax``),
        recorded. The plain call runs it on the arrays of eager Tensors, so that its results
        are NumPy's arrays and scalars there, which an eager Tensor's method makes eager
        Tensors (``(t > 5).any()``: a 0-d array, see :meth:`as_eager`)."""
        out = self.record(fun, args, kwargs)
        for t in out if isinstance(out, list | tuple) else (out,):
            if isinstance(t, Tensor):
                self.eager.discard(t._node)
        return out

    def _is_eager(self, x) -> bool:
        """Whether ``x`` is an eager Tensor in the plain call."""
        return isinstance(x, Tensor) and (x._trace.level == 0 or x._trace is self and x._node in self.eager)

    def _eager_integers(self, x) -> bool:
        return self._is_eager(x) and getattr(x._value, "dtype", None) is not None and x._value.dtype.kind in "biu"

    def _eager_float(self, prim, a) -> tuple:
        """The operand of a one-argument call on an eager integer Tensor, cast as the eager
        layer casts it where the call's result is floating point (exp of a uint8 Tensor is
        of the default floating dtype, not NumPy's float16): see ``EagerTrace.unary``."""
        with np.errstate(all="ignore"):
            dtype = getattr(prim.fun(a._value), "dtype", None)  # only its dtype is read
        default = default_float_dtype()
        if dtype is None or dtype.kind != "f" or dtype == default:
            return (a,)
        return (self.record(np.ndarray.astype, (a, default), {}),)

    def _eager_operands(self, prim, a, b) -> tuple:
        """The operands of an arithmetic call, cast as the eager layer casts them where one
        of them is an eager Tensor in the plain call (float32 * a 0-d float64 is float32,
        as in PyTorch); each is as the plain call holds it: an eager value as a Tensor, any
        other traced value as its array or NumPy scalar. With them, the positions of the
        traced NumPy scalars that the call takes as Python numbers (see :func:`_numbers_at`)."""
        eager = [self._is_eager(x) for x in (a, b)]
        if not any(eager):
            return (a, b), ()
        plain = [x if e or not (isinstance(x, Tensor) and x._trace is self) else x._value
                 for x, e in zip((a, b), eager, strict=True)]
        samples = [np.zeros((), x.dtype) if isinstance(x, Tensor | np.ndarray | np.generic) else x
                   for x in plain]
        with np.errstate(all="ignore"):
            numpy_dtype = np.result_type(prim.fun(*samples))
        cast = prim.eager_operands(*plain, numpy_dtype)
        if cast is None:
            return (a, b), ()
        out, numbers = [], []
        for x, p, c, e in zip((a, b), plain, cast, eager, strict=True):
            if c is p:
                out.append(x)
            elif e or not (isinstance(x, Tensor) and x._trace is self):
                out.append(c)
            elif isinstance(c, np.ndarray):  # a traced array, cast by a recorded call
                out.append(self.record(np.ndarray.astype, (x, c.dtype), {}))
            else:  # a traced NumPy scalar taken as a Python number, by the recorded call
                numbers.append(len(out))
                out.append(x)
        return tuple(out), tuple(numbers)

    def _check_generator(self, generator) -> None:
        """Before a recorded draw: the generator must be where the last recorded draw left
        it, or something drew from it that no replay would."""
        entry = self.generators.get(id(generator))
        if entry is None:
            self.watch(generator)
        elif not same_state(entry[1], rng_state(generator)):
            self.refuse("random numbers were drawn outside chainrule's recorded calls")

    def check_generators(self) -> None:
        """At the end of the trace: no generator may have moved since its last recorded draw."""
        for generator, state in self.generators.values():
            if not same_state(state, rng_state(generator)):
                self.refuse(
                    "random numbers were drawn with a generator directly (NumPy's or "
                    f"Python's: a {type(generator).__name__}), which a replay would not draw again"
                )

    def _encode(self, x, found: list):
        """(value, template) of an argument: traced Tensors become program variables."""
        if isinstance(x, Tensor):
            if x._trace is not self:
                if x._trace.level == 0 and x._node is None:
                    # an eager Tensor without grad that the function made (cr.tensor(2.0)) or
                    # reads (watched as its array): a constant, with its value when used here
                    found.append(_EAGER_CONSTANT)
                    self.constants[id(x)] = x
                    value = x._value
                    return value, value.copy() if isinstance(value, np.ndarray) else value
                raise foreign_tensor_error(x)
            found.append(x._node)
            return x._value, Var(x._node)
        if isinstance(x, list | tuple) and _holds_tensor(x):
            pairs = [self._encode(v, found) for v in x]
            vals = [p[0] for p in pairs]
            value = vals if isinstance(x, list) else same_tuple_type(x, vals)
            return value, Seq(type(x), [p[1] for p in pairs])
        if type(x) is np.ndarray:
            return x, self.constant(x)
        return x, x

    def constant(self, array: np.ndarray) -> np.ndarray:
        """What the program holds for an array that a recorded call reads and no traced
        value holds: a copy of it as it is now, for an array the function made (it may
        change it before a later call reads it: ``z[i] = 1`` in a loop), taken anew only
        when it has changed; an array found outside the function (watched between calls)
        itself."""
        if array.dtype.hasobject or id(root_array(array)) in self.found_roots:
            return array
        held = self._snapshots.get(id(array))
        if held is not None and held[0] is array and same_memory(array, held[1]):
            return held[1]
        snapshot = copy_made([array])[0]
        self._snapshots[id(array)] = (array, snapshot)
        return snapshot

    def warned(self, message, category, stacklevel: int, source, frame, more: dict, boundary) -> bool | None:
        """Python code of the function issued a warning (``warnings.warn``, heard after it
        returned): recorded, so that each replay issues it again as the plain call does —
        shown or not by the filters of the moment (once per place by default), raised under
        an ``error`` filter (the replay stops, and the plain call raises). A warning that a
        recorded call issued is issued again by its replay; one attributed to a frame
        outside the function (a ``stacklevel`` past it), or issued with arguments this
        Python's ``warn`` adds, is not replayed: the function runs without jit."""
        measured = MEASURED[0]() if MEASURED[0] is not None else None  # the x that shuffle measured
        if (category is UserWarning and isinstance(message, str) and message.startswith(SHUFFLE_NOTICE)
                and isinstance(measured, Tensor) and measured._trace is self and not self._is_eager(measured)):
            # NumPy's shuffle of a traced value (rng.shuffle(x)), which it does not take for
            # its ndarray: it swaps as x[i], x[j] = x[j], x[i] for i = n-1 .. 1, which with
            # the views of rows duplicates them; its shuffle of the array swaps them. The
            # 2 (n - 1) reads of rows that follow are copies, as that swap's (the draw makes
            # the function run without jit from then on; this call's result is the plain one)
            self.measured = measured
            self.swap_reads = 2 * (len(measured._value) - 1) if np.ndim(measured._value) > 1 else 0
            return True  # heard: the notice is not shown
        if self.calling or not self.open:
            return
        if isinstance(message, Warning) and untrace_exception(message, self):
            # warnings.warn(W("diverged", x)): the warning holds the plain call's arrays, and
            # a replay would issue it with this call's values
            self.refuse("the function issued a warning that holds traced values, which a replay "
                        "would issue with this call's values")
            return
        target = frame
        for _ in range(max(stacklevel, 1) - 1):
            if target is None or target is boundary:
                break
            target = target.f_back
        if more or target is None or target is boundary:
            self.refuse("the function issued a warning attributed outside it (warnings.warn with "
                        "a stacklevel past the function), which a replay would not issue again")
            return
        if isinstance(message, Warning):
            category = type(message)
        elif category is None:
            category = UserWarning
        args = [message, category, target.f_code.co_filename, target.f_lineno, target.f_globals, source]
        self.ops.append(Call(warn_again, args, {}, [], True, False, "warn"))

    def shown(self, message) -> None:
        """A warning was shown while the function ran. One of NumPy's floating-point
        warnings that no recorded call issued, attributed to the user's code, came from
        a computation on values the trace does not see (``np.log(0.0)``, ``np.int64(2**62)
        * 4``), whose result the program holds as a constant: recorded, so that each
        replay issues it again where it was, as the plain call does."""
        if (self.calling or not self.open or not issubclass(message.category, RuntimeWarning)
                or " encountered in " not in str(message.message) or message.filename.startswith(PACKAGE)):
            return
        frame = sys._getframe(1)
        while frame is not None and (frame.f_code.co_filename != message.filename
                                     or frame.f_lineno != message.lineno):
            frame = frame.f_back
        module_globals = frame.f_globals if frame is not None else {}
        args = [message.message, message.category, message.filename, message.lineno, module_globals, message.source]
        self.ops.append(Call(warn_again, args, {}, [], True, False, "warn"))

    def guard(self, t: Tensor, what: str = "") -> None:
        """Python read ``t``'s value (as ``what``): a replay must read the same, or trace again."""
        if what == AS_TEXT:
            self.formatted = True
        if self.open:
            value = t._value
            self.ops.append(Guard(t._node, value.copy() if isinstance(value, np.ndarray) else value))

    def close(self) -> None:
        self._snapshots = {}
        if self.open:
            RECORDING[0] -= 1
            recorder_closed(self)
            del SETTINGS_READ[[s is self.settings_read for s in SETTINGS_READ].index(True)]
            if TEXTS_MADE[0] != self.texts_made:  # a Tensor's text, which the print options shape
                self.formatted = True
        self.open = False



# the values a traced Tensor may hold
_TRACEABLE = (np.ndarray, np.generic, bool, int, float, complex)
_PYTHON_NUMBERS = (bool, int, float, complex)


def _untraceable(value) -> bool:
    return not isinstance(value, _TRACEABLE) or (
        type(value) is not np.ndarray and isinstance(value, np.ndarray) and own_operators(type(value)))


_OPERATORS = {f"__{name}__" for name in (
    "add radd iadd sub rsub isub mul rmul imul truediv rtruediv itruediv floordiv rfloordiv "
    "ifloordiv mod rmod imod pow rpow ipow matmul rmatmul imatmul neg pos abs getitem setitem "
    "and rand iand or ror ior xor rxor ixor invert lt le gt ge eq ne").split()}


@functools.cache
def own_operators(cls: type) -> bool:
    """Whether an ndarray subclass defines operators or indexing of its own."""
    return any(name in vars(c) for c in cls.__mro__
               if c is not np.ndarray and issubclass(c, np.ndarray) for name in _OPERATORS)


@functools.cache
def _names_of_class(cls: type) -> frozenset:
    return frozenset(name for c in cls.__mro__ if c is not np.ndarray and issubclass(c, np.ndarray)
                     for name in vars(c) if not (name.startswith("__") and name.endswith("__")))


def own_names(value: np.ndarray) -> frozenset:
    """The attributes and methods that an array of an ndarray subclass has beyond what
    ndarray gives it (the ``x.info`` of NumPy's ``InfoArray`` example, a method of the
    subclass, one that overrides ndarray's): a traced value, a Tensor, has none of them."""
    fields = getattr(value, "__dict__", None)
    return _names_of_class(type(value)) | frozenset(fields or ())


_IDENTITY_COMPARISONS = {np.equal, np.not_equal}
_MEMORY_RELATIONS = {np.shares_memory, np.may_share_memory}
# in the inputs found by _encode: an eager Tensor read as a constant (its results are eager)
_EAGER_CONSTANT = object()


@functools.cache
def _view_not_scalar(fun: Callable, view: Callable) -> Callable:
    """``fun`` (indexing) as the eager layer computes it on an array: where NumPy gives a
    scalar (``t[0]``), ``view``'s 0-d view of the same memory, as PyTorch's, so that a
    write into it (``t[0].add_(1)``) reaches the array (see ``note_view`` of the eager trace)."""

    def indexed(x, *rest, **kwargs):
        out = fun(x, *rest, **kwargs)
        return view(x, *rest, **kwargs) if isinstance(out, np.generic) else out

    indexed.__name__ = indexed.__qualname__ = getattr(fun, "__name__", "indexed")
    return indexed


def _numbers_at(fun: Callable, positions: tuple) -> Callable:
    """``fun`` taking its arguments at ``positions`` (NumPy scalars) as Python numbers, as
    the eager layer takes a NumPy scalar beside an eager Tensor (``x.sum() * t`` of a float32
    ``t`` is float32): a replay converts the scalar it computed, where reading the traced
    value would make every new value trace again."""

    def call(*args, **kwargs):
        return fun(*(a.item() if k in positions else a for k, a in enumerate(args)), **kwargs)

    call.__name__ = call.__qualname__ = getattr(fun, "__name__", "call")
    return call


def _holds_tensor(x) -> bool:
    return any(isinstance(v, Tensor) or (isinstance(v, list | tuple) and _holds_tensor(v)) for v in x)


def foreign_tensor_error(x: Tensor) -> Exception:
    if x._trace.level == 0:
        return TypeError(
            "chainrule.jit traces functions of their arguments, but an eager Tensor (a "
            "module's parameter, or a cr.tensor) that is not an argument was used inside "
            "one. Pass it (or the module holding it) as an argument and return the new "
            "value, as in model = cr.jit(step)(model, x, y)."
        )
    if x._trace.batches and not getattr(x._trace, "open", True):
        return escaped_tensor_error(x._trace, what="an input of a chainrule.jit function")
    return TypeError(
        f"a value being {'mapped over' if x._trace.batches else 'differentiated'} by an outer "
        f"{x._trace.name} transform was used inside a chainrule.jit function without being "
        "passed to it; pass it as an argument."
    )
