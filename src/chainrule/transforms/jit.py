"""Trace once, replay many times: :func:`jit`.

The first call of a jitted function runs it on Tensors of a :class:`RecordTrace`, the
lowest trace of all, so every NumPy call that the function, its derivatives (the backward
pass too) and its updates make lands on one flat list. That list becomes straight-line
Python source, one NumPy call per line: no Tensors, no tape, no rules, no broadcasting
checks. Later calls with arrays of the same shapes and dtypes run that code.

What keeps a replay exact:

* Shapes, dtypes and Python values (numbers, strings, the structure of the arguments)
  are the key of a recorded program; a call that differs in any of them is traced anew.
* Every value that Python reads from a traced array (``bool(x)``, ``float(x)``, ``if x >
  0:``, an index made of one, ``.primal()``) becomes a *guard*: the replay checks that it
  reads the same, and traces again if not. Python control flow can therefore depend on
  data; it is never replayed wrong, only traced once per path taken.
* Comparisons, ``argmax`` and the other functions without a derivative are recorded like
  any other call, so their results follow the data; operations whose output shape
  depends on values (boolean masks, ``nonzero``, ``unique``) have their shapes checked.
* A result handed back to the caller is never a buffer that a later call writes into.

Arrays that are not arguments (closed-over globals) are constants of the program, as in
JAX: pass what changes between calls as an argument.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.primitive import RECORDING
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tensor import Tensor
from chainrule.core.trace import Trace, _levels, same_tuple_type

__all__ = ["jit", "Jitted", "RecordTrace"]


class GuardFailure(Exception):
    """A replay read a value that differs from the one its program was traced with."""


class _Var:
    """A reference to a value of the program (argument or result of a recorded call)."""

    __slots__ = ("id",)

    def __init__(self, id: int):
        self.id = id


class _Seq:
    """A list or tuple argument that holds traced values."""

    __slots__ = ("kind", "items")

    def __init__(self, kind: type, items: list):
        self.kind = kind
        self.items = items


class _Call:
    __slots__ = ("fun", "args", "kwargs", "outs", "unpack", "check_shape")

    def __init__(self, fun, args, kwargs, outs, unpack, check_shape):
        self.fun = fun
        self.args = args
        self.kwargs = kwargs
        self.outs = outs
        self.unpack = unpack
        self.check_shape = check_shape


class _Guard:
    __slots__ = ("var",)

    def __init__(self, var: int):
        self.var = var


# Functions whose output shape depends on the values of their inputs, not only on their
# shapes: a replay checks the shapes they give (the rest follows by induction).
_VALUE_SHAPED = {
    getattr(np, name)
    for name in (
        "nonzero argwhere flatnonzero unique unique_values unique_counts unique_inverse "
        "unique_all bincount histogram histogram_bin_edges extract compress trim_zeros "
        "repeat delete insert resize"
    ).split()
    if hasattr(np, name)
}


class RecordTrace(Trace):
    """The trace of :func:`jit`: runs each call on plain values and records it.

    Its level is below every transform opened inside the jitted function, so a ``grad``
    there records its forward and backward computations here too.
    """

    __slots__ = ("level", "name", "ops", "values", "open")
    records = True

    def __init__(self):
        self.level = next(_levels)
        self.name = "jit"
        self.ops: list = []
        self.values: list = []  # the value of every program variable, while tracing
        self.open = True
        RECORDING[0] += 1

    def new_tensor(self, value) -> Tensor:
        self.values.append(value)
        return Tensor(value, self, len(self.values) - 1)

    def process(self, prim, args, kwargs):
        return self.record(prim.fun, args, kwargs)

    def record(self, fun: Callable, args, kwargs):
        """Run ``fun`` on the values of ``args`` and record the call; Tensors come back."""
        if not self.open:
            raise RuntimeError(
                f"{getattr(fun, '__name__', fun)} was called on a value traced by a "
                "chainrule.jit function that has already returned; return it instead of "
                "storing it."
            )
        found = []
        vals, targs = [], []
        for a in args:
            v, t = self._encode(a, found)
            vals.append(v)
            targs.append(t)
        kvals, tkwargs = {}, {}
        for k, v in kwargs.items():
            kvals[k], tkwargs[k] = self._encode(v, found)
        ans = fun(*vals, **kvals)
        unpack = isinstance(ans, tuple | list)
        outs = []
        results = []
        for value in ans if unpack else (ans,):
            t = self.new_tensor(value)
            outs.append(t._node)
            results.append(t)
        check_shape = fun in _VALUE_SHAPED if _hashable(fun) else False
        if not check_shape and not isinstance(fun, np.ufunc):
            # an integer or boolean traced argument may be an index or a count
            check_shape = any(np.result_type(self.values[i]).kind in "biu" for i in found)
        self.ops.append(_Call(fun, targs, tkwargs, outs, unpack, check_shape))
        if not unpack:
            return results[0]
        return list(results) if isinstance(ans, list) else same_tuple_type(ans, results)

    def _encode(self, x, found: list):
        """(value, template) of an argument: traced Tensors become program variables."""
        if isinstance(x, Tensor):
            if x._trace is not self:
                raise foreign_tensor_error(x)
            found.append(x._node)
            return x._value, _Var(x._node)
        if isinstance(x, list | tuple) and _holds_tensor(x):
            pairs = [self._encode(v, found) for v in x]
            vals = [p[0] for p in pairs]
            value = vals if isinstance(x, list) else same_tuple_type(x, vals)
            return value, _Seq(type(x), [p[1] for p in pairs])
        return x, x

    def guard(self, t: Tensor) -> None:
        """Python read ``t``'s value: a replay must read the same, or trace again."""
        if self.open:
            self.ops.append(_Guard(t._node))

    def close(self) -> None:
        if self.open:
            RECORDING[0] -= 1
        self.open = False


def _hashable(x) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


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
    return TypeError(
        f"a value being differentiated by an outer {x._trace.name} transform was used inside a "
        "chainrule.jit function without being passed to it; pass it as an argument."
    )


def same_value(a, b) -> bool:
    """Whether a replayed value equals the traced one: type, shape, dtype and every element
    (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray | np.generic):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:
        return a is b


# -- from a recorded trace to a program --------------------------------------------------
class Program:
    """One traced path of a jitted function, as generated Python code."""

    def __init__(self, source: str, replay: Callable, buffers: list, n_guards: int, n_calls: int):
        self.source = source
        self.replay = replay
        self.buffers = buffers
        self.n_guards = n_guards
        self.n_calls = n_calls
        self.busy = False

    def run(self, inputs: list):
        if self.busy:  # re-entered (recursion, threads): buffers of its own
            return self.replay(*inputs, [np.empty_like(b) for b in self.buffers])
        self.busy = True
        try:
            return self.replay(*inputs, self.buffers)
        finally:
            self.busy = False


def build_program(
    trace: RecordTrace, n_inputs: int, out_templates: list, out_tree, donated: set = frozenset()
) -> Program:
    ops = _live_ops(_without_broadcasts(trace.ops, trace.values, out_templates), out_templates)
    out_vars = {t.id for t in out_templates if isinstance(t, _Var)}
    buffer_of, shapes = _assign_buffers(ops, trace.values, out_vars, n_inputs, donated)
    return _generate(ops, trace.values, n_inputs, out_templates, out_tree, buffer_of, shapes)


def _vars_in(template, into: list) -> list:
    if isinstance(template, _Var):
        into.append(template.id)
    elif isinstance(template, _Seq):
        for t in template.items:
            _vars_in(t, into)
    return into


def _op_inputs(op) -> list:
    if isinstance(op, _Guard):
        return [op.var]
    found: list = []
    for t in op.args:
        _vars_in(t, found)
    for t in op.kwargs.values():
        _vars_in(t, found)
    return found


def _without_broadcasts(ops: list, values: list, out_templates: list) -> list:
    """Drop ``broadcast_to`` calls whose results only feed elementwise ufuncs that would
    broadcast the same way: the ufunc reads the smaller array instead (same values, same
    result shape), and the unused call goes with the dead code."""
    uses: dict[int, list] = {}
    for op in ops:
        for v in _op_inputs(op):
            uses.setdefault(v, []).append(op)
    kept_vars = {v for t in out_templates for v in _vars_in(t, [])}
    rename: dict[int, int] = {}
    for op in ops:
        if not (isinstance(op, _Call) and op.fun is np.broadcast_to and op.args
                and isinstance(op.args[0], _Var) and not op.unpack):
            continue
        (out,) = op.outs
        small = op.args[0].id
        if out in kept_vars or not all(_broadcasts_alike(u, out, small, values) for u in uses.get(out, ())):
            continue
        rename[out] = small
    if not rename:
        return ops
    return [_renamed(op, rename) for op in ops]


def _broadcasts_alike(op, big: int, small: int, values: list) -> bool:
    """Whether ``op`` gives the same result with ``small`` in place of its broadcast ``big``."""
    if not (isinstance(op, _Call) and isinstance(op.fun, np.ufunc) and op.fun.signature is None
            and not op.kwargs and not op.unpack):
        return False
    shapes = [np.shape(values[t.id] if isinstance(t, _Var) else t) for t in op.args
              if not (isinstance(t, _Var) and t.id == big)]
    if any(isinstance(t, _Seq) for t in op.args):
        return False
    try:
        return np.broadcast_shapes(np.shape(values[small]), *shapes) == np.shape(values[op.outs[0]])
    except ValueError:
        return False


def _renamed(op, rename: dict):
    if isinstance(op, _Guard) or not any(isinstance(t, _Var) and t.id in rename for t in op.args):
        return op
    args = [_Var(rename[t.id]) if isinstance(t, _Var) and t.id in rename else t for t in op.args]
    return _Call(op.fun, args, op.kwargs, op.outs, op.unpack, op.check_shape)


def _live_ops(ops: list, out_templates: list) -> list:
    """The ops that an output or a guard needs, in order (calls are pure: the rest go)."""
    live = set()
    for t in out_templates:
        live.update(_vars_in(t, []))
    kept = []
    for op in reversed(ops):
        if isinstance(op, _Call) and not any(v in live for v in op.outs):
            continue
        kept.append(op)
        live.update(_op_inputs(op))
    kept.reverse()
    return kept


def _root(a):
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return a


def _assign_buffers(
    ops: list, values: list, out_vars: set, n_inputs: int, donated: set
) -> tuple[dict, list]:
    """Preallocated outputs (``out=``) for ufunc calls, reused once their value is dead.

    A buffer is free once neither its value nor any view of it is read again; results
    handed back to the caller, and anything that shares memory with them, get none —
    except a donated input's memory, which a result may take once the input is dead.
    Returns the buffer name of each variable that gets one (``b3`` for the program's own
    buffers, ``d5`` for donated input 5) and the (shape, dtype) of each own buffer.
    """
    # which variables share memory with which (views of views of one array)
    owner: dict[int, int] = {}  # id(root array) -> first variable holding it
    group: dict[int, int] = {}  # variable -> the variable whose array it views
    for v in range(n_inputs):
        owner.setdefault(id(_root(values[v])), v)
        group[v] = owner[id(_root(values[v]))]
    for op in ops:
        if isinstance(op, _Call):
            for v in op.outs:
                r = id(_root(values[v]))
                group[v] = owner.setdefault(r, v)
    last_use: dict[int, int] = {}
    for k, op in enumerate(ops):
        for v in _op_inputs(op):
            g = group.get(v, v)
            last_use[g] = k
    escaped = {group.get(v, v) for v in out_vars}
    key_of: dict[str, tuple] = {}  # buffer name -> (shape, dtype)
    free: dict[tuple, list] = {}  # (shape, dtype) -> names of the buffers free now
    release_at: dict[int, list] = {}  # op number -> buffers free after it

    def release(name: str) -> None:
        free.setdefault(key_of[name], []).append(name)

    for v in sorted(donated):
        value = values[v]
        if group[v] == v and v not in escaped and _writable_like_output(value):
            name = f"d{v}"
            key_of[name] = (value.shape, value.dtype)
            if v in last_use:
                release_at.setdefault(last_use[v], []).append(name)
            else:
                release(name)
    buffer_of: dict[int, str] = {}
    shapes: list = []
    for k, op in enumerate(ops):
        if isinstance(op, _Call) and _bufferable(op, values) and group[op.outs[0]] == op.outs[0]:
            if op.fun.signature is None:
                # an elementwise call may write over its own arguments (each element is
                # read before it is written), so what is last read here is free for it
                for name in release_at.pop(k, ()):
                    release(name)
            v = op.outs[0]
            key = (values[v].shape, values[v].dtype)
            pool = free.setdefault(key, [])
            own = [n for n in pool if n[0] == "b"]
            if v in escaped:  # handed back: only donated memory may be
                donated_free = [n for n in pool if n[0] == "d"]
                if donated_free:
                    pool.remove(donated_free[-1])
                    buffer_of[v] = donated_free[-1]
            elif v in last_use:
                if pool:
                    name = own[-1] if own else pool[-1]
                    pool.remove(name)
                else:
                    name = f"b{len(shapes)}"
                    shapes.append(key)
                    key_of[name] = key
                buffer_of[v] = name
                release_at.setdefault(last_use[v], []).append(name)
        for name in release_at.pop(k, ()):
            release(name)
    return buffer_of, shapes


def _check_donations(dynamic: list, positions) -> None:
    """A donated array must not share memory with another argument: the program would
    read what it has written."""
    roots = [id(_root(v)) for v in dynamic]
    for j in positions:
        if roots.count(roots[j]) > 1:
            raise ValueError(
                "chainrule.jit: a donated argument shares memory with another argument "
                "(the same array passed twice, or views of one array); pass a copy, or do "
                "not donate it"
            )


_STATIC_TYPES = (int, float, bool, complex, str, type(None))


def _static_key(x):
    """A constant argument as a key: floats by their bits, so that -0.0 and 0.0 (equal,
    but not the same number to a program) and NaN (unequal to itself) key correctly."""
    if type(x) is float:
        return x.hex()
    if type(x) is complex:
        return (x.real.hex(), x.imag.hex())
    return x


def _describe(x, dynamic: list, description: list) -> bool:
    """Append ``x``'s arrays to ``dynamic`` (in pytree order) and a hashable description
    of everything else to ``description``; False for anything but lists, tuples, dicts,
    arrays and Python scalars (the general path handles those)."""
    t = type(x)
    if t is np.ndarray:
        dynamic.append(x)
        description.append((x.shape, x.dtype, x.strides))
        return True
    if t is list or t is tuple:
        description.append((t, len(x)))
        for item in x:
            if not _describe(item, dynamic, description):
                return False
        return True
    if t is dict:
        keys = sorted(x, key=repr)  # the pytree order
        description.append((dict, tuple(keys)))
        for k in keys:
            if not _describe(x[k], dynamic, description):
                return False
        return True
    if t in _STATIC_TYPES:
        description.append((t, _static_key(x)))
        return True
    if isinstance(x, np.generic):
        dynamic.append(x)
        description.append((t, x.dtype))
        return True
    return False


def _writable_like_output(value) -> bool:
    """Whether a ufunc's result could be written into ``value`` as into its own buffer."""
    flags = getattr(value, "flags", None)
    return isinstance(value, np.ndarray) and value.ndim > 0 and flags.c_contiguous and flags.writeable


def _bufferable(op: _Call, values: list) -> bool:
    fun = op.fun
    if not isinstance(fun, np.ufunc) or fun.nout != 1 or op.unpack or op.kwargs:
        return False
    value = values[op.outs[0]]
    # 0-d results stay NumPy scalars, as without out=
    return isinstance(value, np.ndarray) and value.ndim > 0 and value.flags.c_contiguous


# NumPy's Python-level wrappers and the C-level calls they end in, for ndarrays; the
# replay calls the latter (same results: it is what the wrapper would call).
_REDUCTIONS = {np.sum: np.add.reduce, np.max: np.maximum.reduce, np.min: np.minimum.reduce}
_METHODS = {
    np.reshape: (np.ndarray.reshape, {"order"}),
    np.swapaxes: (np.ndarray.swapaxes, set()),
    np.transpose: (np.ndarray.transpose, set()),
}


def _direct_call(op: _Call, values: list):
    """``(function, extra keyword arguments)`` that does ``op`` without NumPy's wrapper."""
    fun = op.fun
    if not (_hashable(fun) and op.args and isinstance(op.args[0], _Var)):
        return fun, {}
    if type(values[op.args[0].id]) is not np.ndarray:
        return fun, {}
    if fun in _REDUCTIONS and not {"out", "where", "initial"} & op.kwargs.keys():
        # reduce's axis defaults to 0, sum's to None
        extra = {} if len(op.args) > 1 or "axis" in op.kwargs else {"axis": None}
        return _REDUCTIONS[fun], extra
    if fun in _METHODS:
        method, allowed = _METHODS[fun]
        if op.kwargs.keys() <= allowed:
            return method, {}
    return fun, {}


def _render_tree(treedef, leaves, names) -> str:
    """The expression that builds the result: lists, tuples, dicts and None spelled out,
    other containers rebuilt by their pytree registration."""
    kind = treedef.kind
    if kind is None:
        return next(leaves)
    items = [_render_tree(c, leaves, names) for c in treedef.children]
    if kind is list:
        return f"[{', '.join(items)}]"
    if kind is tuple:
        return f"({''.join(i + ', ' for i in items)})"
    if kind is dict:
        return "{" + ", ".join(f"{names.of(k)}: {i}" for k, i in zip(treedef.aux, items, strict=True)) + "}"
    if kind is type(None):
        return "None"
    rebuild, aux = names.of(treedef.rebuild, "r"), names.of(treedef.aux)
    return f"{rebuild}({aux}, [{', '.join(items)}])"


class _Names:
    """Names of the constants and functions that the generated code refers to."""

    def __init__(self):
        self.by_id: dict[int, str] = {}
        self.objects: dict[str, Any] = {}

    def of(self, obj, prefix: str = "c") -> str:
        name = self.by_id.get(id(obj))
        if name is None:
            name = f"{prefix}{len(self.objects)}"
            self.by_id[id(obj)] = name
            self.objects[name] = obj
        return name


def _render(template, names: _Names) -> str:
    if isinstance(template, _Var):
        return f"v{template.id}"
    if isinstance(template, _Seq):
        inner = ", ".join(_render(t, names) for t in template.items)
        if template.kind is list:
            return f"[{inner}]"
        if template.kind is tuple:
            return f"({inner},)"
        return f"{names.of(template.kind, 'k')}(*[{inner}])"
    if template is None or type(template) in (bool, int, str):
        return repr(template)
    return names.of(template)


def _generate(ops, values, n_inputs, out_templates, out_tree, buffer_of, shapes) -> Program:
    names = _Names()
    params = [f"v{i}" for i in range(n_inputs)]
    lines = [f"def replay({', '.join([*params, '_buffers'])}):"]
    if shapes:
        lines.append(f"    {', '.join(f'b{i}' for i in range(len(shapes)))}, = _buffers")
    for name in sorted({b for b in buffer_of.values() if b[0] == "d"}):
        lines.append(f"    {name} = v{name[1:]}  # donated: its memory may be written")
    last_use: dict[int, int] = {}
    for k, op in enumerate(ops):
        for v in _op_inputs(op):
            last_use[v] = k
    keep = set()
    for t in out_templates:
        keep.update(_vars_in(t, []))
    n_guards = n_calls = 0
    for k, op in enumerate(ops):
        if isinstance(op, _Guard):
            n_guards += 1
            value = values[op.var]
            # a private copy: the traced call's results may be this very array
            expected = names.of(value.copy() if isinstance(value, np.ndarray) else value)
            lines.append(f"    if not same_value(v{op.var}, {expected}): raise GuardFailure")
        else:
            n_calls += 1
            direct, extra = _direct_call(op, values)
            args = [_render(t, names) for t in op.args]
            args += [f"{key}={_render(t, names)}" for key, t in {**op.kwargs, **extra}.items()]
            (first,) = op.outs[:1] or (None,)
            if first in buffer_of:
                args.append(f"out={buffer_of[first]}")
            fun = names.of(direct, "f")
            if op.unpack:
                target = "".join(f"v{v}, " for v in op.outs) or "_"
            else:
                target = f"v{first}"
            lines.append(f"    {target} = {fun}({', '.join(args)})")
            if op.check_shape:
                for v in op.outs:
                    shape = names.of(np.shape(values[v]))
                    lines.append(f"    if shape(v{v}) != {shape}: raise GuardFailure")
        dead = sorted(v for v in _op_inputs(op) if last_use[v] == k and v not in keep)
        if dead:
            lines.append(f"    del {', '.join(f'v{v}' for v in dict.fromkeys(dead))}")
    # a constant array handed back is copied, so no caller's change reaches the next call
    outs = [
        f"{names.of(t)}.copy()" if isinstance(t, np.ndarray) else _render(t, names)
        for t in out_templates
    ]
    lines.append(f"    return {_render_tree(out_tree, iter(outs), names)}")
    source = "\n".join(lines) + "\n"
    namespace = {
        **names.objects,
        "same_value": same_value,
        "GuardFailure": GuardFailure,
        "shape": np.shape,
    }
    exec(compile(source, "<chainrule.jit>", "exec"), namespace)  # noqa: S102 (our own code)
    buffers = [np.empty(shape, dtype) for shape, dtype in shapes]
    return Program(source, namespace["replay"], buffers, n_guards, n_calls)


# -- the transform ------------------------------------------------------------------------
_RETRACE_WARNING = 8


class Jitted:
    """A function that is traced once per kind of input and replayed after that.

    ``traces`` counts the traces made; ``programs`` lists the recorded programs (their
    generated ``source`` can be read); ``clear()`` forgets them.
    """

    def __init__(self, fun: Callable, max_programs: int = 8, donate_argnums=()):
        self.fun = fun
        self.max_programs = max_programs
        self.donate_argnums = (
            (donate_argnums,) if isinstance(donate_argnums, int) else tuple(donate_argnums)
        )
        self.traces = 0
        self._cache: dict[tuple, list] = {}  # key -> [(structure, programs)]
        self._by_description: dict[tuple, list] = {}  # the same programs, found faster
        self._warned = False
        functools.update_wrapper(self, fun)

    def __get__(self, instance, owner=None):
        # as a method: the instance is the first argument (a Module: a pytree of arrays)
        return self if instance is None else functools.partial(self, instance)

    def clear(self) -> None:
        """Forget the recorded programs (and free their buffers); the next call traces."""
        self._cache.clear()
        self._by_description.clear()

    @property
    def programs(self) -> list[Program]:
        return [p for entries in self._cache.values() for _, progs in entries for p in progs]

    def __call__(self, *args, **kwargs):
        # The common case first: arguments of lists, tuples, dicts, arrays and numbers,
        # looked up by a hashable description without building the pytree structure.
        dynamic: list = []
        description: list = []
        donated_positions: list = []
        plain = True
        for i, arg in enumerate(args):
            start = len(dynamic)
            if not _describe(arg, dynamic, description):
                plain = False
                break
            if i in self.donate_argnums or i - len(args) in self.donate_argnums:
                donated_positions.extend(range(start, len(dynamic)))
        if plain and kwargs:
            plain = _describe(kwargs, dynamic, description)
        if plain:
            for j in donated_positions:
                description.append(_writable_like_output(dynamic[j]))
            programs = self._by_description.get(key := tuple(description))
            if programs is not None:
                for i in range(len(programs)):
                    try:
                        return self._replay(programs, i, dynamic, donated_positions)
                    except GuardFailure:
                        continue
        result, programs = self._call(args, kwargs)
        if plain and programs is not None:
            self._by_description[key] = programs
        return result

    def _replay(self, programs: list, i: int, dynamic: list, donated_positions=()):
        program = programs[i]
        if donated_positions:
            _check_donations(dynamic, donated_positions)
        result = program.run(dynamic)
        if i:  # the path taken last is tried first next time
            programs.insert(0, programs.pop(i))
        return result

    def _call(self, args, kwargs):
        """The general path: any pytree; traces when no recorded program fits. Returns the
        result and the list of programs for these arguments' key."""
        leaves, tree = tree_flatten((args, kwargs))
        signature = []
        dynamic = []
        donated_leaves = self._donated_leaves(args) if self.donate_argnums else ()
        for i, leaf in enumerate(leaves):
            if i in donated_leaves:  # memory the program may write: only if it can
                signature.append(_writable_like_output(getattr(leaf, "_value", leaf)))
            if isinstance(leaf, Tensor):
                if leaf._trace.level > 0:  # under an outer transform: run as plain Python
                    return self.fun(*args, **kwargs), None
                # an eager Tensor (a module's parameter): its value is the argument
                value = leaf._value
                signature.append((Tensor, np.shape(value), np.result_type(value),
                                  getattr(value, "strides", None)))
                dynamic.append(value)
            elif isinstance(leaf, np.ndarray):
                # the layout too: ravel(order='K') and friends read it
                signature.append((type(leaf), leaf.shape, leaf.dtype, leaf.strides))
                dynamic.append(leaf)
            elif isinstance(leaf, np.generic):
                signature.append((type(leaf), leaf.dtype))
                dynamic.append(leaf)
            else:
                if not _hashable(leaf):
                    raise TypeError(
                        f"chainrule.jit: an argument of type {type(leaf).__name__} is neither "
                        "an array nor a hashable constant; pass arrays, numbers, strings, or "
                        "tuples/lists/dicts of them"
                    )
                signature.append((type(leaf), _static_key(leaf)))
        key = tuple(signature)
        donated = self._donated_inputs(leaves, dynamic, donated_leaves) if donated_leaves else set()
        entries = self._cache.setdefault(key, [])
        programs = None
        for treedef, progs in entries:
            if treedef == tree:
                programs = progs
                break
        if programs is None:
            programs = []
            entries.append((tree, programs))
        for i in range(len(programs)):
            try:
                return self._replay(programs, i, dynamic), programs
            except GuardFailure:
                continue
        out, program = self._trace(args, kwargs, leaves, tree, donated)
        programs.insert(0, program)
        del programs[self.max_programs :]
        return out, programs

    def _donated_leaves(self, args) -> set:
        """Positions, among the flattened arguments, of the leaves of donated arguments."""
        out, start = set(), 0
        for i, arg in enumerate(args):
            n = len(tree_flatten(arg)[0])
            if i in self.donate_argnums or i - len(args) in self.donate_argnums:
                out.update(range(start, start + n))
            start += n
        return out

    @staticmethod
    def _donated_inputs(leaves, dynamic, donated_leaves) -> set:
        """The program inputs whose memory may be written, after checking that none shares
        memory with another input (the program would read what it wrote)."""
        positions, j = [], 0
        for i, leaf in enumerate(leaves):
            if isinstance(leaf, Tensor | np.ndarray | np.generic):
                if i in donated_leaves and _writable_like_output(dynamic[j]):
                    positions.append(j)
                j += 1
        _check_donations(dynamic, positions)
        return set(positions)

    def _trace(self, args, kwargs, leaves, tree, donated=frozenset()):
        self.traces += 1
        if self.traces > _RETRACE_WARNING and not self._warned:
            self._warned = True
            warnings.warn(
                f"chainrule.jit has traced {getattr(self.fun, '__name__', 'a function')} "
                f"{self.traces} times: new shapes, dtypes or Python arguments, or Python "
                "reading traced values (float(x), if x > 0, an index made of one) whose "
                "values keep changing. Each retrace is correct but slow; return arrays "
                "rather than Python numbers, and pass changing numbers as 0-d arrays.",
                stacklevel=3,
            )
        trace = RecordTrace()
        boxed = []
        n_inputs = 0
        for leaf in leaves:
            if isinstance(leaf, Tensor):
                leaf = leaf._value
            if isinstance(leaf, np.ndarray | np.generic):
                boxed.append(trace.new_tensor(leaf))
                n_inputs += 1
            else:
                boxed.append(leaf)
        in_args, in_kwargs = tree_unflatten(tree, boxed)
        try:
            out = self.fun(*in_args, **in_kwargs)
        finally:
            trace.close()
        out_leaves, out_tree = tree_flatten(out)
        templates, values = [], []
        for leaf in out_leaves:
            if isinstance(leaf, Tensor):
                if leaf._trace is not trace:
                    raise foreign_tensor_error(leaf)
                templates.append(_Var(leaf._node))
                values.append(leaf._value)
            else:
                templates.append(leaf)
                values.append(leaf.copy() if isinstance(leaf, np.ndarray) else leaf)
        program = build_program(trace, n_inputs, templates, out_tree, donated)
        return tree_unflatten(out_tree, values), program


def jit(fun: Callable | None = None, *, max_programs: int = 8, donate_argnums=()) -> Any:
    """Trace ``fun`` once per kind of input, then replay the recorded NumPy calls.

    The replay runs the same NumPy calls as the first, traced, call, in the same order,
    so its results are the same to the last bit; the Python around them (Tensors,
    tracing, rule lookups, broadcasting checks) is gone. Use it for a function called
    many times with same-shaped arrays, such as a training step. ``max_programs`` caps the
    paths kept per input signature when Python branches on traced values.
    ``donate_argnums`` names positional arguments whose arrays the caller gives up: a
    replay may write results into them (say, new parameters into the old ones).

    >>> import numpy as np, chainrule as cr, chainrule.numpy as cnp
    >>> step = cr.jit(cr.grad(lambda x: cnp.sum(cnp.tanh(x) ** 2)))
    >>> g = step(np.zeros(3))          # traced
    >>> g = step(np.ones(3))           # replayed
    >>> step.traces
    1
    """
    if fun is None:
        return functools.partial(jit, max_programs=max_programs, donate_argnums=donate_argnums)
    return Jitted(fun, max_programs, donate_argnums)

