"""A traced program of ``chainrule.jit``: its parts, and how a replay runs.

:class:`~chainrule.transforms.record.RecordTrace` records :class:`Call` and :class:`Guard`
entries, which refer to values by :class:`Var`; :func:`~chainrule.transforms.passes.build_program`
turns them into a :class:`Program`: generated Python, one NumPy call per line, guards as
``if ... : raise GuardFailure``. Here are those parts, the bitwise comparison the guards
make, and the running of a replay (which puts back what it wrote if it stops early).
"""

from __future__ import annotations

import copy
import struct
import warnings
from collections.abc import Callable

import numpy as np
from numpy.lib.array_utils import byte_bounds

from chainrule.core.pytree import DictKeys
from chainrule.transforms.fingerprints import hold_warnings, release_warnings

__all__ = ["alias", "Var", "Seq", "Shared", "Fresh", "Call", "Guard", "GuardFailure", "ReplayError", "Program",
           "same_value", "bits", "hashable", "copy_made", "same_memory", "root_array", "donation_safe",
           "insertion_order", "in_order", "unflatten_in_order", "RAISING"]


def hashable(x) -> bool:
    try:
        hash(x)
    except (TypeError, ValueError):  # ValueError: a writable memoryview
        return False
    return True


class GuardFailure(Exception):
    """A replay read a value that differs from the one its program was traced with."""


class ReplayError(Exception):
    """A NumPy call of a replay raised: the traced call did not, so the plain function
    must run instead (the arguments are as they were: written inputs are restored)."""

    def __init__(self, cause: Exception, donated: bool):
        super().__init__(cause)
        self.cause = cause
        self.donated = donated


class Var:
    """A reference to a value of the program (argument or result of a recorded call)."""

    __slots__ = ("id",)

    def __init__(self, id: int):
        self.id = id


class Seq:
    """A list or tuple argument that holds traced values."""

    __slots__ = ("kind", "items")

    def __init__(self, kind: type, items: list):
        self.kind = kind
        self.items = items


class Shared:
    """A result that is an array the function found rather than made (a global or
    closed-over array, an array attribute of an argument): handed back itself on every
    call, as the plain call hands it back; or a view of one that the function made
    (``G[1:]``): a new view of the same memory on every call, as the plain call makes
    one (``view``), so that the caller setting its shape or flags changes no other's."""

    __slots__ = ("array", "view")

    def __init__(self, array: np.ndarray, view: bool = False):
        self.array = array
        self.view = view


class Fresh:
    """A result the function made that is neither an array nor immutable (a set, a
    Counter, an object of the user's holding a list): the program keeps it as it was
    made, and each call, the traced one too, hands back a copy (see :func:`copy_made`),
    as the plain call makes a new one (the caller may change the one it got)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class Call:
    """One recorded NumPy call: ``outs`` are the variables of its result (several when it
    returns a tuple, ``unpack``); ``check_shape`` when its result's shape may depend on
    values (``"full"``: its type, shape and dtype, for functions chainrule does not know).

    ``effect`` marks a call that is not pure, so it is replayed even if nothing reads its
    result: ``"write"`` writes the memory of its first argument (``x += y``,
    ``x[i] = v``), ``"draw"`` consumes the state of the generator that ``rng()`` returns,
    ``"warn"`` issues a warning again (which a warnings filter may make an exception).
    ``errstate`` is NumPy's error state the call ran under when it differed from the
    state the jitted function was entered with (an ``np.errstate`` block inside it).
    ``place``: (file name, line, module globals, function name) of the user's code that
    made the call,
    where a replay issues its NumPy warnings.
    """

    __slots__ = ("fun", "args", "kwargs", "outs", "unpack", "check_shape", "effect", "rng", "errstate", "place")

    def __init__(self, fun, args, kwargs, outs, unpack, check_shape, effect=None, rng=None, errstate=None,
                 place=None):
        self.fun = fun
        self.args = args
        self.kwargs = kwargs
        self.outs = outs
        self.unpack = unpack
        self.check_shape = check_shape
        self.effect = effect
        self.rng = rng
        self.errstate = errstate
        self.place = place


class Guard:
    """Python read variable ``var``'s value, ``expected``: a replay must read the same
    (a copy taken when it was read, since the array may be written in place later)."""

    __slots__ = ("var", "expected")

    def __init__(self, var: int, expected):
        self.var = var
        self.expected = expected


_DOUBLE, _COMPLEX = struct.Struct("<d").pack, struct.Struct("<dd").pack


def bits(x: float | complex) -> bytes:
    """A Python float's (or complex's) bits: -0.0 is not 0.0, NaNs differ by sign and
    payload, as they do to the NumPy calls that take them."""
    return _DOUBLE(x) if type(x) is float else _COMPLEX(x.real, x.imag)


def alias(value):
    """``value`` itself: recorded where a value of the program is read as another variable
    (an eager Tensor of the plain call that a transform reads as its array)."""
    return value


def same_value(a, b) -> bool:
    """Whether a replayed value is the traced one to the bit: type, shape, dtype and the
    bytes of every element (so -0.0 is not 0.0, and NaNs match by their payload)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray | np.generic):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return a.tobytes() == b.tobytes()
    if type(a) is float or type(a) is complex:
        return bits(a) == bits(b)
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:
        return a is b


class Program:
    """One traced path of a jitted function, as generated Python code.

    ``written`` are the inputs whose memory the program writes (in-place updates of
    arguments), ``generators`` the functions that return the generators it draws from:
    both are saved before a replay and restored if it stops early (a guard that fails,
    a call that raises), so that the retrace or the plain call starts from the same
    state as the replay did. ``donates``: whether results go into donated inputs (only
    after the last guard; a call that raises after that cannot be undone).
    """

    def __init__(self, source: str, replay: Callable, buffers: list, n_guards: int, n_calls: int,
                 written=(), generators=(), donates: bool = False):
        self.source = source
        self.replay = replay
        self.buffers = buffers
        self.n_guards = n_guards
        self.n_calls = n_calls
        self.busy = False
        self.written = tuple(written)
        self.generators = tuple(generators)
        self.donates = donates
        # whether the replay takes the caller's eager Tensor arguments after its arrays
        # (it returns some of them, as the plain call does)
        self.gives_back = False
        self.writebacks: list = []  # (object number, attribute): set from the last results
        self.result_state: list = []  # (module of the result, buffer): set from the results
        # the inputs that stand for the caller's eager Tensors whose writes count as the
        # eager layer's in-place operations do (not those written through t.data)
        self.counted: tuple = ()
        self.undoable = bool(self.written or self.generators)
        self.donated_flag = [False]
        # the future of the same program with fused loops, built in the background
        # (``jit(f, fuse=True)``): replaces this one once it is ready
        self.upgrade = None
        # whether fused loops run with NumPy's "invalid" reports off (they compare values),
        # and then the same program unfused, replayed instead wherever a warnings filter
        # makes those reports exceptions (the plain call would raise)
        self.quiet = False
        self.unfused: Program | None = None
        # line of the source -> (file name, line, module globals, function name) of the
        # user's code that made the call it replays: where its NumPy warnings are issued again
        self.places: dict = {}

    def run(self, inputs: list):
        """The replay's results; its warnings are shown once it has finished (one that
        stops is followed by a retrace or the plain call, which issue them)."""
        if self.unfused is not None and not donation_safe():
            return self.unfused.run(inputs)
        held = hold_warnings()
        try:
            result = self._run_stoppable(inputs)
        except BaseException:
            release_warnings(held, False)
            raise
        release_warnings(held, True, self.places)
        return result

    def _run_stoppable(self, inputs: list):
        if self.donates:
            self.donated_flag[0] = False  # set by the replay before it writes donated memory
        if self.undoable:
            return self._run_undoable(inputs)
        try:
            return self._run(inputs)
        except GuardFailure:
            raise
        except Exception as e:
            raise ReplayError(e, self.donates and self.donated_flag[0]) from e

    def _run(self, inputs: list):
        if self.busy:  # re-entered (recursion, threads): buffers of its own
            return self.replay(*inputs, [np.empty_like(b) for b in self.buffers])
        self.busy = True
        try:
            return self.replay(*inputs, self.buffers)
        finally:
            self.busy = False

    def _run_undoable(self, inputs: list):
        saved = [(inputs[i], inputs[i].copy()) for i in self.written]
        generators = [g() for g in self.generators]
        states = [g.bit_generator.state for g in generators]
        try:
            return self._run(inputs)
        except Exception as e:
            for array, copy in saved:
                if array.flags.writeable:
                    np.copyto(array, copy)
            for g, state in zip(generators, states, strict=True):
                g.bit_generator.state = state
            if isinstance(e, GuardFailure):
                raise
            raise ReplayError(e, self.donates and self.donated_flag[0]) from e


def copy_made(made: list, keep: dict | None = None) -> list:
    """Copies of the results a function made that hold no traced value (arrays, and the
    values of :class:`Fresh` results), taken together so that what they share in the
    function's own results they share in the copies: ``z, z[1:]`` stay a view of one
    array, ``s, [s]`` one object. Each array keeps its layout (``order="F"``, strides)
    and whether it is writeable (``np.broadcast_to``'s result is not). ``keep`` (id ->
    object): what the function found rather than made (a global array, an argument),
    which the copies hold themselves, as the function's results do."""
    memo: dict = dict(keep) if keep else {}
    groups: dict[int, list] = {}
    for x in made:
        if isinstance(x, np.ndarray) and id(x) not in memo:
            memo[id(x)] = None
            groups.setdefault(id(root_array(x)), []).append(x)
    for arrays in groups.values():
        for a, c in zip(arrays, _copy_sharing(arrays), strict=True):
            memo[id(a)] = c
    return [memo[id(x)] if isinstance(x, np.ndarray) else copy.deepcopy(x, memo) for x in made]


def _copy_sharing(arrays: list) -> list:
    """Copies of arrays that view one block of memory, viewing one new block alike."""
    (first, *others) = arrays
    if not others and (first.flags.c_contiguous or first.flags.f_contiguous) or any(
            type(a) is not np.ndarray or a.dtype.hasobject or a.size == 0 for a in arrays):
        copies = [a.copy(order="K") for a in arrays]  # nothing to share, or not plain bytes
    else:
        bounds = [byte_bounds(a) for a in arrays]
        low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
        block = np.array(_Memory(low, high - low), copy=True)
        copies = [np.ndarray(a.shape, a.dtype, buffer=block, offset=a.ctypes.data - low, strides=a.strides)
                  for a in arrays]
    for a, c in zip(arrays, copies, strict=True):
        if not a.flags.writeable:
            c.flags.writeable = False
    return copies


def same_memory(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``b``, a copy that :func:`copy_made` made of ``a``, still holds ``a``'s bits:
    the same layout, and the same bytes across the memory each spans (for a broadcast
    or strided view, that memory and not its elements: no more is read than is held)."""
    if (a.shape, a.dtype, a.strides) != (b.shape, b.dtype, b.strides):
        return False
    (low_a, high_a), (low_b, high_b) = byte_bounds(a), byte_bounds(b)
    if high_a - low_a != high_b - low_b:
        return False
    return bool(np.array_equal(np.asarray(_Memory(low_a, high_a - low_a)),
                               np.asarray(_Memory(low_b, high_b - low_b))))


class _Memory:
    """Bytes at an address, as NumPy reads them (``np.array`` of one copies them)."""

    def __init__(self, address: int, size: int):
        self.__array_interface__ = {"data": (address, True), "shape": (size,), "typestr": "|u1",
                                    "version": 3}


def root_array(a):
    """The object that owns ``a``'s memory: bases followed through views, including
    those NumPy makes through other objects (``as_strided``, ``sliding_window_view``)."""
    while True:
        base = getattr(a, "base", None)
        if base is None or isinstance(a, np.generic):
            return a
        a = base


# error-state actions that make a floating-point error stop a call
RAISING = ("raise", "call", "log")


def _errstate_key():
    return _errstate_object(), id(warnings.filters), len(warnings.filters)


try:  # the object that holds NumPy's error state: compared by identity, it is cheap
    from numpy._core.umath import _extobj_contextvar

    _errstate_object = _extobj_contextvar.get
except ImportError:  # pragma: no cover (another NumPy): a fresh dict each time, never cached
    _errstate_object = np.geterr

_safe_errstate: list = [None]


def donation_safe() -> bool:
    """Whether no floating-point error of a ufunc can raise now: NumPy's error state
    has no ``raise``/``call``/``log`` and no warnings filter turns a RuntimeWarning into
    an error. Only then does a replay write into donated memory (the calls after that
    write must not fail). The last safe state is remembered by identity."""
    key = _errstate_key()
    last = _safe_errstate[0]
    if last is not None and key[0] is last[0] and key[1:] == last[1:]:
        return True
    safe = not any(v in RAISING for v in np.geterr().values()) and not any(
        action == "error" and issubclass(RuntimeWarning, category)
        for action, _message, category, *_ in warnings.filters
    )
    if safe:
        _safe_errstate[0] = key
    return safe


def insertion_order(treedef):
    """The insertion order of a dict (or defaultdict) node, which pytrees rebuild sorted."""
    if not (isinstance(treedef.kind, type) and issubclass(treedef.kind, dict)):
        return None
    aux = treedef.aux
    if isinstance(aux, tuple) and len(aux) == 2 and not isinstance(aux, DictKeys):
        aux = aux[1]  # a defaultdict: (default_factory, keys)
    return getattr(aux, "order", None)


def in_order(d: dict, order) -> dict:
    """``d`` with its keys in ``order``, in place."""
    items = [(k, d[k]) for k in order]
    d.clear()
    d.update(items)
    return d


def unflatten_in_order(treedef, leaves: list):
    """``tree_unflatten``, with dicts in their own insertion order (as the function that
    made them had them)."""
    return _unflatten_in_order(treedef, iter(leaves))


def _unflatten_in_order(treedef, it):
    if treedef.kind is None:
        return next(it)
    node = treedef.rebuild(treedef.aux, [_unflatten_in_order(c, it) for c in treedef.subtrees])
    order = insertion_order(treedef)
    return node if order is None else in_order(node, order)
