"""The arguments of a ``chainrule.jit`` call, and what the call does to them.

How a call is keyed (:func:`describe` for the common case of lists, tuples, dicts, arrays
and numbers; :func:`static_key` and :func:`attributes_key` for constants), which objects
among the arguments carry array state (:func:`stateful_objects`), and what a traced call
changed that the caller must see: attributes rebound on a module (:func:`rebound_attributes`,
:func:`write_back`), lists and dicts among the arguments (:func:`containers`,
:func:`write_containers_back`), traced values left in a result that is not a pytree
(:func:`replace_traced`).
"""

from __future__ import annotations

import array
import collections
import collections.abc
import ctypes
import functools
import types
import weakref
from collections.abc import Callable

import numpy as np

from chainrule.core.pytree import _node_kind, _registry, sorted_keys, tree_flatten
from chainrule.core.tensor import Tensor
from chainrule.transforms.program import bits, hashable, root_array


def stateful_objects(tree, into: list) -> list:
    """The objects with array state (``__jit_state__``, say a Module) in a pytree, in
    pytree order."""
    if hasattr(type(tree), "__jit_state__"):
        into.append(tree)
    kind = pytree_kind(tree)
    if kind is not None:
        for child in kind[0](tree)[0]:
            stateful_objects(child, into)
    return into


def flatten_noting_state(tree) -> tuple:
    """``(leaves, treedef, stateful)``: ``tree_flatten(tree)`` and, found on the way (one
    pass, so each module describes its attributes once), :func:`stateful_objects`."""
    stateful: list = []

    def note(node) -> bool:
        if hasattr(type(node), "__jit_state__"):
            stateful.append(node)
        return False

    leaves, treedef = tree_flatten(tree, is_leaf=note)
    return leaves, treedef, stateful


def containers(tree, into: list) -> list:
    """The lists and dicts of a pytree, with what they hold now (to see them changed)."""
    if type(tree) is list:
        into.append((tree, list(tree)))
    elif type(tree) is dict:
        into.append((tree, list(tree.items())))
    kind = pytree_kind(tree)
    if kind is not None:
        for child in kind[0](tree)[0]:
            containers(child, into)
    return into


def changed(containers) -> bool:
    for container, items in containers:
        now = [v for item in container.items() for v in item] if isinstance(container, dict) else container
        was = [v for item in items for v in item] if isinstance(container, dict) else items
        if len(now) != len(was) or any(a is not b for a, b in zip(now, was, strict=True)):
            return True
    return False


def write_containers_back(traced: list, callers: list, boxed: list, leaves: list, trace) -> None:
    """The traced call changed lists or dicts among its arguments (copies that hold
    traced values): the same changes made to the caller's, with the caller's own objects
    where the copies hold them and, where they hold traced values, what the plain call
    holds there (an array, or an eager Tensor: ``best["w"] = p.clone()`` of a parameter)."""
    back = {id(b): leaf for b, leaf in zip(boxed, leaves, strict=True) if isinstance(b, Tensor)}
    for (copy, _), (caller, _) in zip(traced, callers, strict=True):
        back[id(copy)] = caller

    def plain(v, depth=0):
        if id(v) in back:
            return back[id(v)]
        if isinstance(v, Tensor):  # (one computed from eager Tensors stays an eager Tensor)
            return trace.stored(v) if v._trace is trace else v
        if depth < 16 and type(v) in (list, tuple, dict):
            if type(v) is dict:
                return {k: plain(i, depth + 1) for k, i in v.items()}
            return type(v)(plain(i, depth + 1) for i in v)
        return v

    for (copy, _), (caller, _) in zip(traced, callers, strict=True):
        if caller is copy:
            continue
        if isinstance(caller, dict):
            items = [(k, plain(v)) for k, v in copy.items()]
            caller.clear()
            caller.update(items)
        else:
            caller[:] = [plain(v) for v in copy]


def rebound_attributes(rebuilt: list, before: list, trace) -> list:
    """``(object number, name, new value)`` of each attribute that the function rebound
    on an object with state (``self.stat = ...``, ``self.calls += 1``); an error for
    what cannot be set again on the caller's object."""
    out = []
    for k, (obj, old) in enumerate(zip(rebuilt, before, strict=True)):
        now = vars(obj)
        registries = {n for n in now if n.startswith("_") and isinstance(now[n], dict | set)}
        for name in sorted(set(old) - set(now)):
            raise TypeError(f"chainrule.jit: the function deleted attribute {name!r} of its "
                            f"argument {type(obj).__name__}; do that outside the jitted call")
        for name, value in now.items():
            if name in registries or old.get(name, MISSING) is value:
                continue
            children = now.get("_parameters", {}), now.get("_modules", {})
            if any(name in c for c in children) or isinstance(value, Tensor) and value._trace is not trace:
                raise TypeError(
                    f"chainrule.jit: the function replaced {name!r} of its argument "
                    f"{type(obj).__name__} with a parameter, a module or an eager Tensor; "
                    "do that outside the jitted call"
                )
            if not isinstance(value, Tensor) and holds_traced(value, trace):
                raise TypeError(
                    f"chainrule.jit: the function stored traced values inside {name!r} of its "
                    f"argument {type(obj).__name__}; store arrays, or return the values"
                )
            out.append((k, name, value))
    return out


def holds_traced(x, trace, depth: int = 0) -> bool:
    if isinstance(x, Tensor):
        return x._trace is trace
    if depth < 8 and isinstance(x, list | tuple | set | frozenset):
        return any(holds_traced(v, trace, depth + 1) for v in x)
    if depth < 8 and isinstance(x, dict):
        return any(holds_traced(v, trace, depth + 1) for v in x.values())
    return False


def write_back(stateful: list, writebacks, values) -> None:
    for (k, name), value in zip(writebacks, values, strict=True):
        setattr(stateful[k], name, value)


MISSING = object()


def dict_orders(tree, into: list) -> tuple:
    """The insertion orders of the dicts in a structure (which structures do not compare,
    but which a function iterating over a dict sees), and the aux data of the registered
    pytree classes in it by value, as they are now (floats by their bits, the items of a
    list or dict): structures compare aux data with ``==``, which equates -0.0 and 0.0,
    and a structure kept from an earlier call holds the same list or dict as the caller's
    object, changes in place and all."""
    aux = tree.aux
    order = getattr(aux, "order", None)
    if order is not None:
        into.append(typed_keys(order))
    elif aux is not None and tree.kind is not dict:
        into.append(_aux_value(aux, 0))
    for child in tree.subtrees:
        if child.kind is not None:
            dict_orders(child, into)
    return tuple(into)


def _aux_value(aux, depth: int):
    """A hashable description of pytree aux data by value (chainrule's own objects are
    left to the structure's own comparison)."""
    t = type(aux)
    if t in STATIC_TYPES:
        return (t, static_key(aux))
    if isinstance(aux, np.ndarray | np.generic):
        return (t, aux.shape, dtype_key(aux.dtype), aux.tobytes())
    if depth > 3:
        return t
    if t is tuple or t is list:  # (strings are themselves: the names of a module's parameters)
        return (t, tuple([a if type(a) is str else _aux_value(a, depth + 1) for a in aux]))
    if t is dict:
        return (t, tuple([(_aux_value(k, depth + 1), _aux_value(v, depth + 1)) for k, v in aux.items()]))
    if t is set or t is frozenset:
        return (t, tuple(sorted(map(repr, aux))))
    arrays = getattr(aux, "__jit_arrays__", None)
    if arrays is not None:  # the arrays a module holds in its lists and dicts: where they are, as they are
        return (t, tuple((ByIdentity(a), a.shape, a.dtype.str, a.strides, a.tobytes()) for a in arrays()))
    if not (getattr(t, "__module__", None) or "").startswith("chainrule."):
        # an object of the user's (its attributes by value: a config changed in place since),
        # a library's value that == equates with another (Decimal("-0") and Decimal("0"))
        return value_key(aux, depth)
    return t  # chainrule's own (a module's): compared by the structure


def replace_traced(x, trace, depth: int = 0, seen: set | None = None) -> bool:
    """Replace the traced values inside a result that is not a pytree (a dataclass, a
    SimpleNamespace) or inside state the function stored them in (a memo dict keyed by
    ``x.argmin()``, a set of visited indices, a log of tuples) by their values, in place;
    whether there were any. Each object once (``seen``: their ids; an object that refers
    back to itself is searched once)."""
    if depth > 8:
        return False
    seen = set() if seen is None else seen
    if id(x) in seen:
        return False
    seen.add(id(x))
    found = False
    if isinstance(x, list | collections.deque):
        for i, v in enumerate(x):
            new, changed = _plain_of(v, trace, depth, seen)
            if new is not v:
                x[i] = new
            found = changed or found
    elif isinstance(x, dict):
        # (a copy: another thread may change it while this runs Python code)
        pairs = list(x.items())
        items = [(_plain_of(k, trace, depth, seen), _plain_of(v, trace, depth, seen)) for k, v in pairs]
        if any(k is not old for ((k, _), _), (old, _) in zip(items, pairs, strict=True)):
            x.clear()  # a key was traced: the dict rebuilt in its order
        for (k, k_changed), (v, v_changed) in items:
            if k not in x or x[k] is not v:
                x[k] = v
            found = k_changed or v_changed or found
    elif isinstance(x, set):
        items = [_plain_of(v, trace, depth, seen) for v in list(x)]
        if any(changed for _, changed in items):
            x.clear()
            x.update(v for v, _ in items)
            found = True
    elif isinstance(x, BaseException):  # made, not raised: ValueError(k)
        args, found = _plain_of(x.args, trace, depth, seen)
        if found:
            x.args = args
        found = replace_traced(vars(x), trace, depth + 1, seen) or found
    elif isinstance(x, types.FunctionType) and x.__closure__:  # lambda: x * 2
        for cell in x.__closure__:
            try:
                v = cell.cell_contents
            except ValueError:  # not assigned yet
                continue
            new, changed = _plain_of(v, trace, depth, seen)
            if new is not v:
                cell.cell_contents = new
            found = changed or found
    elif not isinstance(x, type | Callable | Tensor | types.ModuleType) and (fields := object_fields(x)):
        for k, v in fields:  # its __dict__ and __slots__
            new, changed = _plain_of(v, trace, depth, seen)
            if new is not v:
                object.__setattr__(x, k, new)
            found = changed or found
    return found


def dead_proxy(value) -> bool:
    """Whether ``value`` is a ``weakref.proxy`` whose object is gone: any read of it raises
    ReferenceError, and it refers to nothing a function could read."""
    if type(value) not in weakref.ProxyTypes:
        return False
    try:
        value.__class__  # noqa: B018 (read through the proxy)
    except ReferenceError:
        return True
    return False


def _plain_of(v, trace, depth: int, seen: set) -> tuple:
    """``(v without the values of trace, whether it held any)``: a traced value is its
    value, a tuple or frozenset holding some is made anew (a namedtuple as its class),
    and the containers and objects that can change are changed in place."""
    if dead_proxy(v):
        return v, False
    if isinstance(v, Tensor):
        return (trace.stored(v), True) if v._trace is trace else (v, False)
    if isinstance(v, slice):  # slice(x.argmax(), None)
        parts = [_plain_of(p, trace, depth + 1, seen) for p in (v.start, v.stop, v.step)]
        return (slice(*(p for p, _ in parts)), True) if any(c for _, c in parts) else (v, False)
    if type(v) is functools.partial:  # functools.partial(f, x.argmax())
        args, held = _plain_of(v.args, trace, depth, seen)
        keywords, held_keywords = _plain_of(v.keywords, trace, depth, seen)
        if held or held_keywords:
            return functools.partial(v.func, *args, **keywords), True
        return v, False
    if isinstance(v, tuple | frozenset):
        if depth > 8:
            return v, False
        items = [_plain_of(i, trace, depth + 1, seen) for i in v]
        if not any(changed for _, changed in items):
            return v, False
        values = [i for i, _ in items]
        if isinstance(v, frozenset):
            return frozenset(values), True
        return (type(v)(*values) if hasattr(v, "_fields") else tuple(values)), True
    return v, replace_traced(v, trace, depth + 1, seen)


def untrace_exception(error: BaseException, trace) -> bool:
    """The traced values that an exception the function raised carries (in its args, its
    attributes, and those of the exceptions it was raised from or while handling) replaced
    by their values, which the plain call's exception holds: ``raise ValueError("diverged",
    x)`` gives the caller x's array, not a traced value that is dead once the call is over.
    Whether there were any."""
    seen: set = set()
    found = False
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        args = tuple(_untraced(a, trace) for a in error.args)
        found = any(a is not b for a, b in zip(args, error.args, strict=True)) or found
        error.args = args
        found = replace_traced(error, trace) or found
        error = error.__cause__ or error.__context__
    return found


def note_compiled_type_checks(error: BaseException) -> None:
    """Add to a TypeError or IndexError that code telling numbers by their exact types
    raised while ``jit`` traced what to write instead: NumPy's random module
    (``SeedSequence(n)``, ``default_rng(n)``, ``rng.permutation(n)``), ``json``
    (``json.dumps(x.sum())``) and Python's C code that names the traced value's class
    (``Decimal(x[0])``, ``float.hex(x[0])``) refuse a traced NumPy scalar, where the plain
    call's ``np.int64`` or ``np.float64`` is one they take."""
    if not isinstance(error, TypeError | IndexError):
        return
    what = "this code" if "RecordedScalar" in str(error) else None
    tb = error.__traceback__
    while tb is not None and what is None:
        parts = tb.tb_frame.f_code.co_filename.replace("\\", "/").split("/")
        what = next((name for (package, module), name in _EXACT_TYPES.items()
                     if package in parts and module in parts), None)
        tb = tb.tb_next
    if what is not None:
        error.add_note(
            f"chainrule.jit: {what} tells numbers by their exact types, and a traced "
            "NumPy scalar (x[0], x.sum(), np.argmax(x), an np.int64 argument) is not "
            "one while the function is traced: pass int(n) or float(x) there (a "
            "guard: each value traces once), or make it a static argument "
            "(static_argnums).")


# what :func:`note_compiled_type_checks` recognises, by the folders of its source file
_EXACT_TYPES = {("numpy", "random"): "NumPy's random module", ("json", "encoder.py"): "json"}


# NumPy's ways to read an array's memory that a traced value has not (they are not
# attributes that a Tensor can stand in for cheaply: NumPy looks them up on every np.asarray)
_MEMORY_ATTRIBUTES = ("__array_interface__", "__array_struct__")


def note_memory_reads(error: BaseException, trace) -> None:
    """Add to the error of a read of a traced value's memory while ``jit`` traced
    (``memoryview(x)``, ``np.frombuffer(x)``, ``x.__array_interface__``) what is
    unsupported and what to write instead: a traced value has no memory of its own."""
    if isinstance(error, TypeError) and "a bytes-like object is required, not 'Tensor'" in str(error):
        what = "memoryview(x) or np.frombuffer(x) (Python's buffer protocol)"
    elif (isinstance(error, AttributeError) and getattr(error, "name", None) in _MEMORY_ATTRIBUTES
          and isinstance(getattr(error, "obj", None), Tensor) and error.obj._trace is trace):
        what = f"x.{error.name}"
    else:
        return
    error.add_note(
        f"chainrule.jit: the function read a traced value's memory with {what}, which a traced "
        "value has not (it stands for arrays of every later call). Convert it first: "
        "memoryview(np.asarray(x)) reads the array (the call then runs without jit, as the "
        "plain call); x.tobytes() and bytes(x) do that by themselves. Or read the memory "
        "outside the jitted function.")


def untraced(x, trace) -> tuple:
    """``(x without the values of trace, whether it held any)``: a traced value is its
    value, immutable holders of some (a tuple, a frozenset, a slice) are made anew, and
    the containers and objects that can change are changed in place."""
    return _plain_of(x, trace, 0, set())


def _untraced(x, trace):
    return untraced(x, trace)[0]


def check_donations(dynamic: list, positions) -> None:
    """A donated array must not share memory with another argument: the program would
    read what it has written."""
    roots = [id(root_array(v)) for v in dynamic]
    for j in positions:
        if roots.count(roots[j]) > 1:
            raise ValueError(
                "chainrule.jit: a donated argument shares memory with another argument "
                "(the same array passed twice, or views of one array); pass a copy, or do "
                "not donate it"
            )


STATIC_TYPES = (int, float, bool, complex, str, type(None))
# NumPy's scalars that are strings (np.str_("ab").upper()): constants, not traced values
TEXT_SCALARS = (np.str_, np.bytes_)


def traced_scalar(x) -> bool:
    """Whether ``x`` is a NumPy scalar that a trace takes as a traced value (not a string)."""
    return isinstance(x, np.generic) and not isinstance(x, TEXT_SCALARS)


class Static:
    """An argument that ``static_argnums``/``static_argnames`` name: part of the key by its
    value (its type, hash and equality; floats by their bits, a mutable object's attributes
    by value), handed to the function as it is, never traced."""

    __slots__ = ("value", "key")

    def __init__(self, value, key):
        self.value, self.key = value, key

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other) -> bool:
        return type(other) is Static and self.key == other.key


# mutable buffers, read by their bytes: ctypes' numbers, arrays and structures too (a
# value shared with C code, ``c_double(...)``, whose ``.value`` is that memory)
BUFFERS = (bytearray, array.array, memoryview, ctypes._SimpleCData, ctypes.Array, ctypes.Structure, ctypes.Union)


def buffer_bytes(buffer) -> bytes:
    """The bytes of a mutable buffer (one of :data:`BUFFERS`)."""
    return buffer.tobytes() if isinstance(buffer, memoryview | array.array) else bytes(buffer)


def strict_key(x):
    """A hashable constant as a key that tells apart what ``==`` equates but a program
    may not: ``1``, ``True`` and ``1.0`` (by type), ``0.0`` and ``-0.0``, NaNs (by bits),
    inside tuples and frozensets too."""
    t = type(x)
    if t is tuple or t is frozenset or (isinstance(x, tuple) and hasattr(x, "_fields")):
        items = sorted(map(strict_key, x), key=repr) if t is frozenset else map(strict_key, x)
        return (t, tuple(items))
    if isinstance(x, np.generic):  # np.float64(-0.0) == 0.0, and hashes alike
        return (t, x.dtype, x.tobytes())
    if isinstance(x, np.dtype):  # dtypes with other metadata are equal
        return (t, dtype_key(x))
    if t is range:  # range(0) == range(5, 5), but their start differs
        return (t, x.start, x.stop, x.step)
    fields = attributes_key(x, 0)
    if fields is None and t not in STATIC_TYPES and not isinstance(x, (*OPAQUE, float, complex)):
        # a value of a library's type that == equates with another it is not: Decimal("0")
        # and Decimal("-0"), Decimal("1.0") and Decimal("1.00"), one time in two time zones
        try:
            return (t, x, repr(x))
        except Exception:  # noqa: BLE001 (a repr that fails: the value alone)
            return (t, x, None)
    return (t, static_key(x), fields)


def dtype_key(dtype: np.dtype) -> tuple:
    """A dtype as a key: by its character code too (``int64 == longlong`` on Linux, but
    ``(x * 2).dtype.char`` is ``'l'`` or ``'q'``), and by its metadata, which ``==``
    ignores (``np.dtype("f8", metadata={"unit": "cm"}) == np.dtype("f8")``) and a
    function may read (``x.dtype.metadata``), in the fields of a structured dtype too."""
    if dtype.metadata is None and dtype.fields is None and dtype.subdtype is None:
        return dtype, dtype.char
    return dtype, dtype.char, _metadata(dtype)


def _metadata(dtype: np.dtype):
    fields = dtype.fields
    return (repr(dtype.metadata), dtype.subdtype and _metadata(dtype.subdtype[0]),
            fields and tuple((name, _metadata(field[0])) for name, field in fields.items()))


def slice_parts(s: slice) -> tuple:
    return s.start, s.stop, s.step


def typed_keys(keys) -> tuple:
    """A dict's keys in order, each with its type and floats by their bits: ``{1: x}``,
    ``{True: x}`` and ``{1.0: x}`` are equal dicts, but not to ``f"{k}"``; other keys as
    :func:`strict_key` tells them apart (``(-0.0,)`` is not ``(0.0,)``)."""
    return tuple((type(k), static_key(k)) if type(k) in STATIC_TYPES else strict_key(k) for k in keys)


def static_key(x):
    """A constant argument as a key: floats by their bits, so that -0.0 and 0.0 (equal,
    but not the same number to a program) and NaNs (unequal to themselves, and of two
    signs and many payloads) key correctly."""
    if type(x) is float or type(x) is complex:
        return bits(x)
    if isinstance(x, float):  # a subclass of float: its bits too
        return bits(float(x))
    if isinstance(x, complex):
        return bits(complex(x))
    return x


# how deep the key of an object among the arguments reads its attributes, their items and
# attributes (cfg.model.layers[0].size): six references from the argument
KEY_DEPTH = 5
# functions whose code reads state besides their arguments
FUNCTIONS = (types.FunctionType, types.MethodType, functools.partial)
OPAQUE = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType,
           functools.partial, np.random.Generator, np.random.RandomState, np.dtype)


def object_fields(x) -> list | None:
    """The attributes of an object of the user's classes, ``(name, value)`` in order: its
    ``__dict__`` and ``__slots__`` (a dataclass made with ``slots=True``); None for an
    object without them and for functions, classes, modules and generators."""
    if isinstance(x, OPAQUE):
        return None
    fields = getattr(x, "__dict__", None)
    found = list(fields.items()) if isinstance(fields, dict) else []
    for cls in type(x).__mro__:
        slots = vars(cls).get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(x, name):
                found.append((name, getattr(x, name)))
    return found if found or isinstance(fields, dict) else None


def attributes_key(x, depth: int, seen: dict | None = None):
    """What an object among the arguments holds now (a config object, the instance of a
    jitted method, a dataclass): its attributes by value, arrays by their bytes and floats
    by their bits, so that a field changed between calls makes a new key rather than a
    stale replay, and so that what its ``==`` equates (a frozen dataclass's fields 0.0 and
    -0.0, or an ``__eq__`` of its own that compares fewer fields) is told apart. ``seen``:
    the depth at which each object was keyed so far in this key (an object met again, by
    a reference back or another path, as deep or deeper, is there already)."""
    fields = object_fields(x) if depth <= KEY_DEPTH else None
    if fields is None:
        return None
    if seen is None:
        seen = {}
    if seen.get(id(x), KEY_DEPTH + 1) <= depth:
        return "again"  # its attributes are in this key already (held by ByIdentity there)
    seen[id(x)] = depth
    key = tuple((name, value_key(v, depth + 1, seen)) for name, v in fields)
    if isinstance(x, list | tuple | dict | set | frozenset):  # a subclass's items too
        key += (value_key(dict(x) if isinstance(x, dict) else list(x), depth + 1, seen),)
    elif isinstance(x, BUFFERS):  # ctypes' memory (a c_double's value): its bytes
        key += (buffer_bytes(x),)
    return key


class ByIdentity:
    """An unhashable object among the arguments (a dataclass, to which ``eq=True`` gives
    no hash) as part of a key: the object itself, by identity, beside its attributes."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other) -> bool:
        return type(other) is ByIdentity and other.obj is self.obj


def found_arrays(x, into: list, depth: int = 0) -> list:
    """The arrays among the attributes of a mutable object among the arguments (those
    :func:`attributes_key` keys by their bytes), at any depth it reads."""
    return found_in_objects(x, np.ndarray, into, depth)


def found_in_objects(x, kinds, into: list, depth: int = 0, seen: set | None = None) -> list:
    """The values of the types ``kinds`` among the attributes of a mutable object among
    the arguments (and their items and attributes), as deep as :func:`attributes_key`
    reads them; each object once (``seen``: their ids)."""
    seen = set() if seen is None else seen
    if id(x) in seen:
        return into
    seen.add(id(x))
    for _, v in (object_fields(x) or ()) if depth <= KEY_DEPTH else ():
        _found_in_value(v, kinds, into, depth + 1, seen)
    return into


def _found_in_value(v, kinds, into: list, depth: int, seen: set) -> None:
    if isinstance(v, kinds):
        into.append(v)
    if isinstance(v, list | tuple) and depth <= KEY_DEPTH:
        for i in v:
            _found_in_value(i, kinds, into, depth + 1, seen)
    elif isinstance(v, dict) and depth <= KEY_DEPTH:
        for i in v.values():
            _found_in_value(i, kinds, into, depth + 1, seen)
    elif type(v) not in STATIC_TYPES and not isinstance(v, np.ndarray | np.generic | Tensor):
        found_in_objects(v, kinds, into, depth, seen)


def deeper_than_key(x, depth: int = 0, seen: set | None = None) -> bool:
    """Whether an object among the arguments holds state deeper than :func:`attributes_key`
    reads it (an attribute, item or attribute of an item more than six references from the
    argument: ``a.b.c.d.e.f.g``), which a change between calls would not make a new key."""
    seen = set() if seen is None else seen
    if id(x) in seen:
        return False
    seen.add(id(x))
    fields = object_fields(x)
    if not fields:
        return False
    if depth > KEY_DEPTH:
        return True
    return any(_deeper_value(v, depth + 1, seen) for _, v in fields)


def _deeper_value(v, depth: int, seen: set) -> bool:
    if type(v) in STATIC_TYPES or isinstance(v, np.ndarray | np.generic | Tensor):
        return False  # (an array is keyed by its bytes at any depth)
    if isinstance(v, list | tuple | dict):
        items = v.values() if isinstance(v, dict) else v
        if depth > KEY_DEPTH:  # held by identity: a list or dict may change
            return not isinstance(v, tuple) or any(type(i) not in STATIC_TYPES for i in v)
        return any(_deeper_value(i, depth + 1, seen) for i in items)
    return deeper_than_key(v, depth, seen)


def code_in_objects(leaves) -> list:
    """The functions (bound methods, partials) and modules that objects among the arguments hold, and
    the classes of the objects they hold: what they run reads state too (globals,
    defaults, closed-over variables, the bound instance), watched as the function's own."""
    found: list = []
    for leaf in leaves:
        if object_fields(leaf) is not None:
            found_in_objects(leaf, (*FUNCTIONS, types.ModuleType), found)
            found.extend(type(v) for v in found_in_objects(leaf, object, []) if object_fields(v) is not None)
    return found


def code_in_structure(tree) -> list:
    """:func:`code_in_objects` of what the pytree nodes among the arguments hold besides
    their children, in their aux data: a module's hooks (``register_forward_hook(h)``) and
    attributes (``self.act = lambda x: x * SCALE``), whose code the module's call runs."""
    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        stack.extend(node.subtrees)
        if node.kind is None or node.aux is None or node.kind in (list, tuple, dict):
            continue
        _found_in_value(node.aux, (*FUNCTIONS, types.ModuleType), found, 0, set())
        held: list = []
        _found_in_value(node.aux, object, held, 0, set())
        found.extend(type(v) for v in held if object_fields(v) is not None)
    return found


def value_key(v, depth: int, seen: dict | None = None):
    """An attribute's value as a key. An object is held by the key (by identity, beside
    its attributes), not named by its ``id``, which an object made after it was freed may
    take: ``cfg.act = lambda x: x * 3`` replacing ``lambda x: x * 2`` is a new key."""
    if type(v) in STATIC_TYPES:
        return (type(v), static_key(v))
    if isinstance(v, np.ndarray | np.generic):
        if v.dtype.hasobject and depth <= KEY_DEPTH:  # its bytes are pointers: its items by value
            return (type(v), v.shape, v.dtype, ByIdentity(v), tuple(value_key(i, depth + 1, seen) for i in np.ravel(v)))
        return (type(v), v.shape, *dtype_key(v.dtype), getattr(v, "strides", None), ByIdentity(v),
                v.tobytes(), attributes_key(v, depth, seen) if getattr(v, "__dict__", None) else None)
    if isinstance(v, list | tuple) and depth <= KEY_DEPTH:
        return (type(v), tuple(value_key(i, depth + 1, seen) for i in v))
    if isinstance(v, dict) and depth <= KEY_DEPTH:
        return (dict, tuple((repr(k), value_key(i, depth + 1, seen)) for k, i in v.items()))
    if isinstance(v, BUFFERS):  # mutable buffers: by their bytes
        return (type(v), getattr(v, "typecode", None) or getattr(v, "format", None), buffer_bytes(v))
    if isinstance(v, collections.abc.MutableSet) and depth <= KEY_DEPTH:  # a set: its items
        return (type(v), tuple(sorted((value_key(i, depth + 1, seen) for i in v), key=repr)))
    if isinstance(v, collections.abc.Mapping) and depth <= KEY_DEPTH:  # a ChainMap, a mappingproxy
        return (type(v), tuple((repr(k), value_key(i, depth + 1, seen)) for k, i in v.items()))
    if isinstance(v, collections.abc.MutableSequence) and depth <= KEY_DEPTH:  # a deque, a UserList
        return (type(v), getattr(v, "maxlen", None), tuple(value_key(i, depth + 1, seen) for i in v))
    if isinstance(v, Tensor):
        if v._trace.level == 0 and v._node is None:  # a constant where a function reads it
            return (Tensor, ByIdentity(v), value_key(v._value, depth, seen))
        return (Tensor, ByIdentity(v), np.shape(v._value))
    if object_fields(v) is None and hashable(v):  # Decimal("-0"), a frozenset, a function
        return strict_key(v)
    return (ByIdentity(v), attributes_key(v, depth, seen))


def describe(x, dynamic: list, description: list) -> bool:
    """Append ``x``'s arrays to ``dynamic`` (in pytree order) and a hashable description
    of everything else to ``description``; False for anything but lists, tuples, dicts,
    arrays and Python scalars (the general path handles those)."""
    t = type(x)
    if t is np.ndarray:
        dynamic.append(x)
        description.append((x.shape, dtype_key(x.dtype), x.strides))
        return True
    if t is list or t is tuple:
        description.append((t, len(x)))
        for item in x:
            if not describe(item, dynamic, description):
                return False
        return True
    if t is dict:
        description.append((dict, typed_keys(x)))  # the insertion order: iteration sees it
        for k in sorted_keys(x):  # the pytree order
            if not describe(x[k], dynamic, description):
                return False
        return True
    if t in STATIC_TYPES:
        description.append((t, static_key(x)))
        return True
    if isinstance(x, np.generic):
        if t in TEXT_SCALARS:  # a string: a constant, by value
            description.append((t, x.dtype, x.tobytes()))
            return True
        dynamic.append(x)
        description.append((t, x.dtype))
        return True
    if t is Static:
        description.append(x)
        return True
    return False



def pytree_kind(x):
    return _registry.get(type(x)) or _node_kind(x)


def traced_in_structure(tree, trace) -> list:
    """The values of ``trace`` in the aux data of the nodes of a pytree structure."""
    found: list = []
    stack = [tree]
    while stack:
        node = stack.pop()
        _traced_values(node.aux, trace, found, 0)
        stack.extend(node.subtrees)
    return found


def _traced_values(x, trace, into: list, depth: int) -> None:
    if isinstance(x, Tensor):
        if x._trace is trace:
            into.append(x)
    elif depth > 8 or isinstance(x, (np.ndarray, np.generic, *STATIC_TYPES)):
        return
    elif isinstance(x, list | tuple | set | frozenset):
        for v in x:
            _traced_values(v, trace, into, depth + 1)
    elif isinstance(x, dict):
        for v in x.values():
            _traced_values(v, trace, into, depth + 1)
    elif isinstance(getattr(x, "__dict__", None), dict) and not isinstance(x, type | Callable):
        for v in vars(x).values():
            _traced_values(v, trace, into, depth + 1)
