"""What a jitted function reads besides its arguments (for ``chainrule.jit``).

A recorded program has the values of closed-over variables, globals, default arguments
and ``functools.partial`` arguments built in: an array among them that was reduced
while tracing (``cnp.sum(W)`` on a plain array, ``if W[0] > 1``) is a constant of the
program, and a rebound name is not read again. :class:`Captures` finds that state when
the function is traced — following the functions it names, as far as their code and
closures show — and tells on each later call whether any of it has changed: then the
programs are dropped and the function is traced again, as the plain call would read the
new values.

What is watched: the closure cells, the globals named by the code, the defaults of every
user function reachable from the jitted one (through globals, cells, partials, bound
methods (their objects, for methods bound in C too: ``pop = stack.pop``), objects'
attributes, the methods and properties of the user's classes — of the objects it reads
and of those it is given — and nested ``jit``), the items of the lists, tuples, dicts,
sets and deques among them (and other mappings and mutable sequences; ``bytearray``,
``array.array``, ``memoryview`` and ctypes' values by their bytes), the attributes of objects
(``__slots__`` too), classes and functions of the user's, the arrays, numbers and
containers that other libraries' objects hold as attributes (a sparse matrix's ``data``),
the attributes of the user's own modules that the code names (``settings.LR``), the
counts of entries and misses of ``functools.lru_cache`` functions (``cache_clear()``)
and the arrays and other mutable objects they hold,
the environment where the code names ``os.environ`` or ``os.getenv``, and arrays by
their bytes. Standard-library and installed modules and the insides of
chainrule's own objects are not, but for chainrule.nn's modules (their mode, settings,
hooks, submodules and buffers are the user's state: a layer closed over is watched as
the user's objects are).
"""

from __future__ import annotations

import collections
import collections.abc
import contextlib
import contextvars
import copyreg
import functools
import gc
import operator
import os
import random
import sys
import types
import weakref

import numpy as np

from chainrule.core.tensor import Tensor
from chainrule.transforms.arguments import (
    BUFFERS,
    buffer_bytes,
    dead_proxy,
    object_fields,
    replace_traced,
    slice_parts,
)
from chainrule.transforms.code_reads import (
    BY_MODULE_NAME,
    global_names,
    imported_modules,
    loaded_globals,
    reads_any_global,
    strings_of,
)
from chainrule.transforms.fingerprints import is_generator
from chainrule.transforms.program import bits

__all__ = ["Captures", "generators_in", "user_classes"]

_LIBRARIES = ("numpy", "chainrule", "scipy", "functools", "builtins", "collections", "typing")
_IMMUTABLE = (int, float, bool, complex, str, bytes, type(None), np.generic, range, slice)
# how deep the search goes: functions that name functions, containers of containers;
# state found deeper is not watched, and the function runs without jit
_DEPTH = 40
# how many functions the search reads the code of: past that, the function reads the code of
# an installed library (a pandas Series's methods: thousands, whose caches change on every
# call), which it would compare on every call and trace again for: it runs without jit
_MOST_FUNCTIONS = 1000
_MISSING = object()
# the type of the functions that functools.lru_cache and functools.cache make
_CACHED_FUNCTION = type(functools.lru_cache(maxsize=None)(len))
# names through which code reads the environment (os.environ, os.getenv)
_ENVIRON = {"environ", "environb", "getenv", "getenvb"}


def _legacy_random_state(_) -> bytes:
    state = np.random.get_state()
    return state[1].tobytes() + repr(state[2:]).encode()


# names through which code reads global state of NumPy's and Python's that no attribute
# holds (np.geterr(), np.random.get_state()): where the code names one, what it gives is
# compared on every call. A name that other objects' methods have too (env.get_state())
# counts where the code also names the module (random) or the name is that function.
_STATE_READERS = {
    "geterr": (lambda _: np.geterr(), None),
    "geterrcall": (lambda _: np.geterrcall(), None),
    "getbufsize": (lambda _: np.getbufsize(), None),
    "get_printoptions": (lambda _: np.get_printoptions(), None),
    "get_state": (_legacy_random_state, np.random.get_state),
    "getstate": (lambda _: random.getstate(), random.getstate),
    "getrecursionlimit": (lambda _: sys.getrecursionlimit(), None),
}


# what the watch reads of a library object (not a function, class or object of its own)
_HELD = (np.ndarray, *_IMMUTABLE, list, tuple, dict)


def _own(cls: type) -> bool:
    """A class of chainrule's own (its primitives, jitted functions, Tensors)."""
    return (getattr(cls, "__module__", None) or "").split(".", 1)[0] == "chainrule"


def _holds_users_state(cls: type) -> bool:
    """A library class whose objects hold the user's settings and state, watched as the
    user's own objects are: chainrule's modules (``__jit_state__``) and the classes that
    say so with ``__jit_watch__ = True`` (an optimizer's ``param_groups``, a scheduler's
    step, a distribution's parameters, set between calls)."""
    return hasattr(cls, "__jit_state__") or getattr(cls, "__jit_watch__", False) is True


def _library(obj) -> bool:
    module = getattr(obj, "__module__", None) or ""
    if not isinstance(module, str):  # a descriptor: Cython's metaclass of NumPy's random types
        return True
    return module.split(".", 1)[0] in _LIBRARIES


def _same_static(a, b) -> bool:
    """Equal immutable values as a program would see them: same type, floats by bits."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, float):  # by bits (-0.0 is not 0.0), a subclass's too
        return bits(float(a)) == bits(float(b))
    if isinstance(a, complex):
        return bits(complex(a)) == bits(complex(b))
    if type(a) is range:  # range(5, 5) == range(6, 6), but their start differs
        return (a.start, a.stop, a.step) == (b.start, b.stop, b.step)
    if type(a) is slice:  # slice(0.0, 1) == slice(-0.0, 1): its parts as values
        return all(map(_same_object, slice_parts(a), slice_parts(b)))
    try:
        return bool(a == b)
    except Exception:
        return False


def _same_object(now, then) -> bool:
    return now is then or (isinstance(then, _IMMUTABLE) and _same_static(now, then))


def _same_array(a: np.ndarray, layout: tuple, snapshot) -> bool:
    if (a.shape, a.dtype, a.strides) != layout:
        return False
    if isinstance(snapshot, bytes):
        return a.tobytes() == snapshot
    flat, saved = _words(a), snapshot
    return bool((flat == saved).all())


def _never_unchanged() -> bool:
    return False


def _words(a: np.ndarray) -> np.ndarray:
    """The bytes of ``a`` as an array of the widest unsigned integers that divide them
    (compared element by element: bitwise, so -0.0 is not 0.0 and NaNs match by payload)."""
    flat = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
    for width in (np.uint64, np.uint32, np.uint16):
        if flat.size % np.dtype(width).itemsize == 0:
            return flat.view(width)
    return flat


def _same_items(now: list, then: list) -> bool:
    if len(now) != len(then):
        return False
    # the same objects; or, item by item, an equal immutable value of the same type (a
    # number written again, floats by their bits: -0.0 is not 0.0); any other object put
    # in its place is a change, since what it holds is not watched
    return all(map(operator.is_, now, then)) or all(map(_same_object, now, then))


class Captures:
    """The state that ``fun`` reads besides its arguments, as it was when taken.

    >>> import numpy as np
    >>> W = np.ones(2)
    >>> scale_by = lambda W: lambda x: x * W   # a closure over W
    >>> captures = Captures(scale_by(W))
    >>> captures.unchanged()
    True
    >>> W[0] = 3.0
    >>> captures.unchanged()
    False
    """

    def __init__(self, fun, *more):
        self.checks: list = []
        # why what the function reads cannot be watched (an iterator it may advance)
        self.unwatchable: str | None = None
        self._namespaces: list = []  # (a function's globals, the names its code reads)
        # NumPy generators found (a default argument, an attribute): the trace checks that
        # every draw from them is recorded
        self.generators: list = []
        self._seen: dict = {}  # id -> object
        # the eager Tensors it reads (a global cr.tensor, a module's Tensor attribute), by
        # id: a result that is one of them is handed back itself, as the plain call does
        self.tensors: dict = {}
        self._searching = True
        self._environ = False  # whether the environment is watched
        self._readers: set = set()  # the names of _STATE_READERS watched
        self._functions = 0  # how many functions the search read the code of
        # the user's modules found (passed, or held by a module, an object, a list):
        # id -> [module, depth, the names of its attributes watched]
        self._modules: dict = {}
        for value in (fun, *more):  # the function, and functions passed to it
            self._watch_value(value, 0)
        self._watch_found_modules()
        self.found = dict(self._seen)  # the objects it reads, by id (kept alive by the checks)
        self._seen.clear()  # only needed while searching
        self._searching = False  # (the Tensors a trace made and read as constants: not found)
        self._compile()

    def watch_tensors(self, tensors) -> None:
        """Watch eager Tensors that a trace read as constants (one the function made, a
        module's Tensor attribute) as their arrays, from now on."""
        for t in tensors:
            self._watch_value(t, 0)
        self.found |= self._seen
        self._seen.clear()
        self._compile()

    def settle(self) -> None:
        """Take again, after a trace, what the trace itself changes without changing
        what later calls read: the counts of an ``lru_cache`` that the trace filled with
        numbers, strings or tuples of them (the plain call finds the entry it made
        there). One it filled with an array or another mutable object keeps its old
        counts, so the next call traces again and finds that object among what the
        function reads (where it is, watched: the caller, or the function itself, may
        write a cached table in place)."""
        if any(kind == 7 for kind, *_ in self.checks):
            self.checks = [(kind, where, name, then if kind != 7 or _filled_mutable(where, self.found)
                            else name(where)) for kind, where, name, then in self.checks]
            self._compile()

    def expire(self) -> None:
        """From now on nothing is as it was taken: the next call drops the programs."""
        self._unchanged = _never_unchanged

    def names(self) -> set[str]:
        """The names that the code of the user's functions it reads looks up outside their
        frames: globals, and attributes (``x.info``)."""
        return {name for _, used in self._namespaces for name in used}

    def arrays(self) -> list[np.ndarray]:
        """The watched arrays."""
        return [where for kind, where, _, _ in self.checks if kind == 4]

    def leaked(self, trace) -> bool:
        """Replace, by their values, the values of ``trace`` that the function stored in
        the state it reads (a global or closed-over variable rebound, an item of a list
        or dict, an attribute); whether there were any. The state then differs from
        what was taken, so the next call traces again."""
        found = False
        for kind, where, name, _ in self.checks:
            if kind == 0:
                value = where.cell_contents if _filled(where) else None
                if isinstance(value, Tensor) and value._trace is trace:
                    where.cell_contents, found = trace.stored(value), True
            elif kind == 2:  # an attribute in a slot
                value = getattr(where, name, None)
                if isinstance(value, Tensor) and value._trace is trace:
                    setattr(where, name, trace.stored(value))
                    found = True
            elif kind == 3 and isinstance(where, list | dict | set | collections.deque):
                found = replace_traced(where, trace) or found
        for names, used in self._namespaces:
            for name in used:
                value = names.get(name)
                if isinstance(value, Tensor) and value._trace is trace:
                    names[name], found = trace.stored(value), True
                elif isinstance(value, list | dict | set | collections.deque) or _users_object(value):
                    found = replace_traced(value, trace) or found
        return found

    def unchanged(self) -> bool:
        """Whether every watched cell, global, default, item, attribute and array is as
        it was (the same object, or an equal immutable value; arrays bit for bit)."""
        try:
            return self._unchanged()
        except Exception:  # a cell emptied, an object that cannot be read: not the same
            return False

    def _compile(self) -> None:
        """One generated expression for all the checks (a call pays for no loop)."""
        terms, names = [], {}
        for k, (kind, where, name, then) in enumerate(self.checks):
            names[f"w{k}"], names[f"n{k}"], names[f"t{k}"] = where, name, then
            if kind == 0:
                now = f"w{k}.cell_contents"
            elif kind == 1:
                now = f"w{k}.get(n{k}, MISSING)"
            elif kind == 2:
                now = f"getattr(w{k}, n{k}, MISSING)"
            elif kind == 8:  # what a reader gives, as a variable (a ContextVar's value)
                now = f"n{k}(w{k})"
            elif kind == 3:  # a list is compared as it is, other containers by a copy of their items
                terms.append(f"same_items({f'w{k}' if type(where) is list else f'items(w{k})'}, t{k})")
                continue
            elif kind == 5:
                terms.append(f"buffer_bytes(w{k}) == t{k}")
                continue
            elif kind == 6:  # a function's code or defaults, rebound
                terms.append(f"w{k}.{name} is t{k}")
                continue
            elif kind == 7:  # what a reader of the object gives (an lru_cache's counts)
                terms.append(f"n{k}(w{k}) == t{k}")
                continue
            else:
                terms.append(f"same_array(w{k}, n{k}, t{k})")
                continue
            if isinstance(then, _IMMUTABLE):
                terms.append(f"same_object({now}, t{k})")
            else:
                terms.append(f"{now} is t{k}")
        params = ", ".join(f"{n}={n}" for n in names)
        source = f"def unchanged({params}):\n    return {' and '.join(terms) or 'True'}\n"
        namespace = {**names, "MISSING": _MISSING, "same_items": _same_items, "items": _items,
                     "same_array": _same_array, "same_object": _same_object, "buffer_bytes": buffer_bytes}
        exec(compile(source, "<chainrule.jit captures>", "exec"), namespace)  # noqa: S102 (our own code)
        self._unchanged = namespace["unchanged"]

    # -- the search, when traced ------------------------------------------------------
    def _location(self, kind: int, where, name, value, depth: int) -> None:
        if isinstance(value, types.ModuleType):
            self._found_module(value, depth)  # not rebound; its attributes the code names
            return
        self.checks.append((kind, where, name, value))
        self._watch_value(value, depth + 1)

    def _watch_value(self, value, depth: int) -> None:
        if dead_proxy(value):  # (state that held one: nothing it refers to can change)
            return
        if isinstance(value, Tensor):
            if self._searching:
                self.tensors[id(value)] = value
            if value._trace.level == 0 and depth <= _DEPTH:
                # an eager Tensor: its array, and whether it requires grad (t.requires_grad_()
                # between calls: the plain call records a graph, which a closed-over Tensor
                # refuses). One that requires grad too: a module's parameter, which a traced
                # value refuses to meet, is still read by what the trace computes eagerly or
                # as a constant (m(cr.tensor(x)) on a guarded value, m.weight.detach().numpy()),
                # and an optimizer's step or a write under no_grad changes it between calls
                self._location(2, value, "_value", value._value, depth)
                self.checks.append((2, value, "_node", value._node))
                # and its gradient (w.grad read: backward() between calls accumulates into
                # it, zero_grad() rebinds it to None)
                self._location(2, value, "_grad", getattr(value, "_grad", _MISSING), depth)
            return
        if isinstance(value, _IMMUTABLE) and not (getattr(value, "__dict__", None) and not _library(type(value))):
            return  # (but a subclass of the user's with attributes: a float with a unit)
        if depth > _DEPTH:
            if not _inert(value):
                self.unwatchable = self.unwatchable or (
                    f"the function reads state more than {_DEPTH} references away from it (through "
                    "functions that call functions, objects holding objects), which is not watched; "
                    "pass what changes as arguments")
            return
        if id(value) in self._seen:
            return
        self._seen[id(value)] = value
        if is_generator(value):  # NumPy's, or a Python random.Random
            self.generators.append(value)
        elif isinstance(value, np.ndarray):
            snapshot = value.tobytes() if value.nbytes <= 4096 else _words(value).copy()
            self.checks.append((4, value, (value.shape, value.dtype, value.strides), snapshot))
            if value.dtype.hasobject:  # its bytes are pointers: what they point to, as items
                for item in value.ravel():
                    self._watch_value(item, depth + 1)
            if type(value) is not np.ndarray and getattr(value, "__dict__", None):
                self._watch_object(value, depth)  # a subclass's attributes (a masked array's mask)
        elif isinstance(value, list | tuple | dict | set | frozenset | collections.deque):
            self._watch_container(value, depth)
        elif isinstance(value, BUFFERS):
            # mutable buffers (x * table[0] of an array.array): by their bytes
            self.checks.append((5, value, None, buffer_bytes(value)))
        elif isinstance(value, collections.abc.Mapping | collections.abc.MutableSequence
                        | collections.abc.MutableSet):
            # the other containers (a ChainMap, a mappingproxy, UserDict, UserList)
            self._watch_container(value, depth)
        elif isinstance(value, types.FunctionType):
            self._watch_function(value, depth)
        elif isinstance(value, contextvars.ContextVar):
            # var.get(): its value in the caller's context, watched as a variable's
            self._location(8, value, _context_value, _context_value(value), depth)
        elif isinstance(value, weakref.ref):
            # ref(): its object while it lives (held by no check: it may die), then None
            referent = value()
            self.checks.append((8, value, _alive, referent is not None))
            if referent is not None:
                self._watch_value(referent, depth + 1)
        elif isinstance(value, _CACHED_FUNCTION):
            # an lru_cache's entries cannot be read, but they change only with its counts
            # of misses and entries (cache_clear() resets them): a change traces again,
            # as the plain call would compute anew
            self.checks.append((7, value, _cache_counts, _cache_counts(value)))
            self._watch_object(value, depth)
            for entry in _cache_entries(value):  # what it hands out may be written in place
                self._watch_value(entry, depth + 1)
        elif isinstance(value, functools.partial):
            self._watch_value(value.func, depth + 1)
            for item in value.args:
                self._watch_value(item, depth + 1)
            self._watch_value(value.keywords, depth + 1)
        elif isinstance(value, types.MethodType):
            self._watch_value(value.__func__, depth + 1)
            self._watch_value(value.__self__, depth + 1)
        elif isinstance(value, type):
            if not _library(value):  # a class of the user's: its attributes and methods
                self._watch_class(value, depth)
        elif isinstance(value, types.BuiltinFunctionType | types.MethodWrapperType):
            owner = getattr(value, "__self__", None)
            if owner is not None and not isinstance(owner, types.ModuleType):
                # a method of an object, bound in C (pop = stack.pop, total = W.sum,
                # draw = rng.random): what it reads is that object's state
                self._watch_value(owner, depth + 1)
        elif isinstance(value, types.ModuleType):
            self._found_module(value, depth)
        elif isinstance(value, np.ufunc):
            return
        elif isinstance(value, collections.abc.Iterator):
            # next(it) reads state that no comparison sees (a generator, itertools.count,
            # an open file): a replay would not advance it
            self.unwatchable = self.unwatchable or (
                f"the function reads an iterator ({type(value).__name__}) besides its arguments, "
                "which a replay would not advance")
        elif hasattr(type(value), "__array__") and not _library(type(value)):
            # an array of another library (a torch Tensor: its memory is in C, where no
            # attribute shows it; T.mul_(2) between calls): its values as NumPy reads them
            self.checks.append((8, value, _foreign_array_bytes, _foreign_array_bytes(value)))
            if hasattr(value, "__dict__"):
                self._watch_object(value, depth)
        elif hasattr(value, "__dict__"):
            self._watch_object(value, depth)
        elif not _library(type(value)):  # an object of the user's with __slots__ only
            self._watch_slots(value, depth)

    def _watch_container(self, value, depth: int) -> None:
        if not isinstance(value, tuple | frozenset):  # these cannot change, their items can
            self.checks.append((3, value, None, _items(value)))
        # (copies: another thread may change them while the search runs Python code)
        for item in list(value.values() if isinstance(value, dict | collections.abc.Mapping) else value):
            self._watch_value(item, depth + 1)
        if isinstance(getattr(value, "__dict__", None), dict) and not _library(type(value)):
            self._watch_object(value, depth)  # a subclass of the user's: its attributes too

    def _watch_function(self, fun: types.FunctionType, depth: int) -> None:
        self._functions += 1
        if self._functions > _MOST_FUNCTIONS:
            self.unwatchable = self.unwatchable or (
                f"the function reads the state of more than {_MOST_FUNCTIONS} functions (the methods of "
                f"another library's objects, such as {getattr(fun, '__module__', None) or '?'}."
                f"{fun.__qualname__}), which are not watched; pass the arrays it reads as arguments "
                "(df['x'].to_numpy() rather than df)")
            return
        code = fun.__code__
        for name, cell in zip(code.co_freevars, fun.__closure__ or (), strict=False):
            try:
                value = cell.cell_contents
            except ValueError:  # not assigned yet
                continue
            if isinstance(value, types.ModuleType) and _user_module(value):
                self._watch_module(value, global_names(code), depth)  # m = settings; m.LR
            self._location(0, cell, name, value, depth)
        # defaults by their contents
        self._watch_value(fun.__defaults__, depth + 1)
        self._watch_value(fun.__kwdefaults__, depth + 1)
        if _library(fun):  # a library's globals are its own business
            return
        # a user's function's code and defaults rebound (f.__defaults__ = (7.0,); IPython's
        # autoreload gives an edited function its new code so)
        for name in ("__code__", "__defaults__", "__kwdefaults__"):
            value = getattr(fun, name)
            if value is not None or name == "__code__":
                self.checks.append((6, fun, name, value))
        # attributes set on the function (fun.scale = 2.0), or set later (by the function
        # itself: fun.calls = getattr(fun, "calls", 0) + 1)
        self.checks.append((3, fun.__dict__, None, _items(fun.__dict__)))
        for value in list(fun.__dict__.values()):
            self._watch_value(value, depth + 1)
        names = fun.__globals__
        used = global_names(code)
        if not self._environ and _ENVIRON.intersection(used):
            # os.environ["SCALE"], os.getenv("SCALE"): the environment, by its items
            self._environ = True
            environ = getattr(os.environ, "_data", os.environ)  # its bytes: cheaper to read
            self.checks.append((3, environ, None, _items(environ)))
        for reader in _STATE_READERS.keys() & set(used) - self._readers:
            read, function = _STATE_READERS[reader]
            if function is None or "random" in used or names.get(reader) is function:
                self._readers.add(reader)  # np.geterr(), np.random.get_state(), ...
                self.checks.append((7, None, read, read(None)))
        if reads_any_global(code):
            # globals()[name], eval(...): any global may be read, by a name computed at run
            # time; the namespace's items are compared (their contents by the names above)
            self.checks.append((3, names, None, _items(names)))
        self._namespaces.append((names, used))
        for name in used:
            value = names.get(name, _MISSING)
            if isinstance(value, types.ModuleType) and _user_module(value):
                self._watch_module(value, used, depth)
            elif value is not _MISSING:
                self._location(1, names, name, value, depth)
        modules = imported_modules(code, names.get("__package__") or "")
        if BY_MODULE_NAME.intersection(used):  # importlib.import_module("settings").LR
            modules += [sys.modules[name] for name in strings_of(code)
                        if isinstance(sys.modules.get(name), types.ModuleType)]
        for module in modules:
            if _user_module(module):  # import settings, inside the function: settings.LR
                self._watch_module(module, used, depth)
        for name in loaded_globals(code):
            if name not in names:
                # not defined (a NameError the function catches) or a builtin: a global of
                # that name defined later is what the plain call reads
                self.checks.append((1, names, name, _MISSING))

    def _watch_class(self, cls: type, depth: int) -> None:
        """A class of the user's (a namespace of settings, the class of an object the
        function reads or is given): its attributes, and what its methods, properties,
        static and class methods read, as for any function; its bases of the user's too."""
        with contextlib.suppress(Exception):
            # the cache that copying or pickling an instance adds to the class (a result
            # copied for each replay): added now, it is no change later
            copyreg._slotnames(cls)
        fields = vars(cls)
        self.checks.append((3, fields, None, _items(fields)))
        for name, value in list(fields.items()):
            if name.startswith("__") and name.endswith("__") and not isinstance(value, types.FunctionType):
                continue  # __module__, __doc__, __dict__, ...
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            elif isinstance(value, property):
                value = (value.fget, value.fset, value.fdel)
            elif isinstance(value, functools.cached_property):
                value = value.func
            self._watch_value(value, depth + 1)
        for base in cls.__bases__:
            self._watch_value(base, depth + 1)
        self._watch_value(type(cls), depth + 1)  # its metaclass, of the user's (Cls.scale found there)

    def _watch_module(self, module: types.ModuleType, used: list, depth: int) -> None:
        """A module of the user's settings: the attributes the code names."""
        self._found_module(module, depth)
        watched = self._modules[id(module)][2]
        # (a module's __getattr__, PEP 562, gives the attributes it does not hold: what it reads)
        for attribute in (*used, "__getattr__"):
            if attribute in vars(module) and attribute not in watched:
                watched.add(attribute)
                self._location(1, vars(module), attribute, vars(module)[attribute], depth)
        # and those it does not define yet (getattr(settings, "LR", 0.1), hasattr): one
        # defined later is what the plain call reads (one check: a set operation in C)
        missing = frozenset(used) - vars(module).keys()
        if missing:
            self.checks.append((8, module, functools.partial(_defines_any, missing), False))

    def _found_module(self, module: types.ModuleType, depth: int) -> None:
        if id(module) not in self._modules and _user_module(module):
            self._modules[id(module)] = [module, depth, set()]

    def _watch_found_modules(self) -> None:
        """The attributes of the user's modules found anywhere in the search (a module of
        settings passed, ``config.training.LR`` of a package's submodule, a module an
        object holds) that the code of any function found names; again for what those
        attributes lead to, until nothing new is found."""
        while True:
            used = list(dict.fromkeys(name for _, names in self._namespaces for name in names))
            pending = [(module, depth) for module, depth, watched in list(self._modules.values())
                       if any(name not in watched and name in vars(module) for name in (*used, "__getattr__"))]
            if not pending:
                return
            for module, depth in pending:
                self._watch_module(module, used, depth)

    def _watch_object(self, obj, depth: int) -> None:
        fields = vars(obj)
        if not isinstance(fields, dict):
            return
        if _library(type(obj)) and not _holds_users_state(type(obj)):
            # a library object: the functions it wraps, which may be the user's (a
            # primitive, a jitted function, a custom rule); and, of one not chainrule's
            # own, the arrays, numbers and containers it holds, which Python may read
            # (a sparse matrix's data, np.poly1d's coefficients)
            own = _own(type(obj))
            if callable(getattr(type(obj), "__jit_user_state__", None)):
                # the attributes the user set on a wrapper of chainrule's (f.scale = 2.0 of
                # a jitted f, read by its body), and which there are
                state = obj.__jit_user_state__()
                self.checks.append((8, obj, _user_state_names, _user_state_names(obj)))
                for name, value in state.items():
                    self._location(2, obj, name, value, depth)
            # (in __slots__ too: a primitive's rules, cr.defvjp's functions in its vjps)
            for name, value in object_fields(obj) or ():
                if name == "fun" or (callable(value) and not _library(value)):
                    self._location(2, obj, name, value, depth)
                elif own and isinstance(value, dict) and any(
                        isinstance(v, types.FunctionType) for v in list(value.values())):
                    # its rules by argument (the user's functions, or chainrule's wrappers
                    # closing over them: cr.defvjp's)
                    self._location(2, obj, name, value, depth)
                elif not own and isinstance(value, _HELD):
                    self._location(2, obj, name, value, depth)
            return
        # an object of the user's, or a module (chainrule.nn's too: its mode, hooks,
        # submodules and buffers are the user's state, set between calls: m.eval())
        self.checks.append((3, fields, None, _items(fields)))
        self.checks.append((2, obj, "__class__", type(obj)))  # o.__class__ = Other: other methods
        self.checks.append((2, obj, "__dict__", fields))  # o.__dict__ = loaded (a Borg's shared state)
        for value in list(fields.values()):
            self._watch_value(value, depth + 1)
        self._watch_slot_values(obj, depth)  # (a base class's __slots__ beside the __dict__)
        self._watch_value(type(obj), depth + 1)  # what its methods read

    def _watch_slots(self, obj, depth: int) -> None:
        self.checks.append((2, obj, "__class__", type(obj)))
        self._watch_value(type(obj), depth + 1)
        self._watch_slot_values(obj, depth)

    def _watch_slot_values(self, obj, depth: int) -> None:
        """The attributes an object holds in ``__slots__`` (of its class or of a base class
        beside its ``__dict__``)."""
        for cls in type(obj).__mro__:
            slots = vars(cls).get("__slots__", ())
            for name in (slots,) if isinstance(slots, str) else slots:
                if name not in ("__dict__", "__weakref__"):
                    value = getattr(obj, name, _MISSING)
                    if value is not _MISSING:
                        self._location(2, obj, name, value, depth)


def generators_in(values: list) -> list:
    """The NumPy generators that ``values`` hold, as far as :class:`Captures` searches
    (items, attributes of the user's objects, functions' defaults and cells)."""
    return Captures(*values).generators if values else []


def user_classes(tree, leaves) -> list[type]:
    """The user's classes among a call's arguments: the pytree nodes of ``tree`` (a
    registered class, a module) and the types of its objects among ``leaves``."""
    found, stack = {}, [tree]
    while stack:
        node = stack.pop()
        if node.kind is not None:
            found[id(node.kind)] = node.kind
            stack.extend(node.subtrees)
    for leaf in leaves:
        found[id(type(leaf))] = type(leaf)
    return [cls for cls in found.values() if not _library(cls)]


def _users_object(value) -> bool:
    """An instance of a class of the user's (not a module, class, function or a library's
    object)."""
    return (hasattr(value, "__dict__") and not callable(value)
            and not isinstance(value, types.ModuleType | type) and not _library(type(value)))


def _inert(value) -> bool:
    """What the watch reads nothing of: a module, a builtin function, a ufunc, a library's
    class or function."""
    if isinstance(value, types.ModuleType | types.BuiltinFunctionType | np.ufunc):
        return True
    return isinstance(value, type | types.FunctionType) and _library(value)


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _user_module(module: types.ModuleType) -> bool:
    """A module of the user's own (not the standard library's nor an installed one)."""
    name = module.__name__.split(".", 1)[0]
    # a file, a namespace package's directory, or none (a module made in memory)
    path = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", None) or ()), "")
    return (name not in sys.stdlib_module_names and name not in _LIBRARIES
            and "site-packages" not in path and "dist-packages" not in path)


def _items(container) -> list:
    if isinstance(container, dict | collections.abc.Mapping):
        return [*container.keys(), *container.values()]
    return list(container)


def _foreign_array_bytes(value) -> bytes | None:
    """The layout and bytes of another library's array as NumPy reads it (a torch Tensor
    that requires grad, detached first); None where it cannot be read."""
    try:
        a = np.asarray(value.detach() if callable(getattr(value, "detach", None)) else value)
        return f"{a.shape}{a.dtype.str}".encode() + a.tobytes()
    except Exception:  # noqa: BLE001 (whatever the library raises)
        return None


def _defines_any(names: frozenset, module: types.ModuleType) -> bool:
    return not names.isdisjoint(vars(module).keys())


def _user_state_names(obj) -> str:
    return "\0".join(obj.__jit_user_state__())


def _context_value(var: contextvars.ContextVar):
    return var.get(_MISSING)


def _alive(ref: weakref.ref) -> bool:
    return ref() is not None


def _cache_entries(cached) -> list:
    """The keys and results that an ``lru_cache`` holds, which it does not show: the
    objects it refers to, as CPython's garbage collector lists them (its table of
    entries; or, bounded, the entries themselves), less its function and attributes."""
    own = (vars(cached), getattr(cached, "__wrapped__", None))
    entries: list = []
    for referent in gc.get_referents(cached):
        if any(referent is o for o in own) or isinstance(referent, type):
            continue
        if type(referent) is dict:  # the table: key -> result (or, bounded, -> an entry)
            entries += referent.keys()
            entries += (v for v in referent.values() if type(v).__name__ != "_lru_list_elem")
        else:
            entries.append(referent)
    return entries


def _filled_mutable(cached, found: dict) -> bool:
    """Whether ``cached`` (an lru_cache; None for another reader) holds a mutable key or
    result that ``found`` (what was watched before the trace) does not."""
    return isinstance(cached, _CACHED_FUNCTION) and any(
        id(entry) not in found and not _immutable(entry) for entry in _cache_entries(cached))


def _immutable(value) -> bool:
    # (a bare object(): the marker an lru_cache puts between a key's positions and names)
    return (isinstance(value, _IMMUTABLE) or type(value) is object
            or (type(value) is tuple and all(map(_immutable, value))))


def _cache_counts(cached) -> tuple:
    info = cached.cache_info()
    return info.misses, info.currsize
