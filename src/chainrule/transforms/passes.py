"""From a recorded call list to a :class:`~chainrule.transforms.program.Program`.

:func:`build_program` drops the calls nothing needs, elides broadcasts that elementwise
calls would do anyway, gives elementwise results reusable buffers (``out=``), and writes
one Python function: one NumPy call per line, ``del`` after each value's last use, guards
as ``if ... : raise GuardFailure``. Each pass is a pure function of the call list.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor
from chainrule.core.trace import EAGER
from chainrule.transforms.fingerprints import GENERATED
from chainrule.transforms.program import (
    RAISING,
    Call,
    Fresh,
    Guard,
    GuardFailure,
    Program,
    Seq,
    Shared,
    Var,
    alias,
    copy_made,
    donation_safe,
    hashable,
    in_order,
    insertion_order,
    root_array,
    same_value,
)

__all__ = ["build_program", "may_stop", "writable_like_output", "writes_out", "COMPILED_UFUNCS"]


def build_program(
    ops: list, values: list, n_inputs: int, out_templates: list, out_tree, donated=frozenset(),
    entry_errstate=None, rewrite: Callable | None = None, entry_checks=(), keep=None,
    eager=None, eager_given=None, found=(),
) -> Program:
    """The program of a recorded call list: ``values`` holds each variable's traced value
    (variables ``0 .. n_inputs - 1`` are the inputs), ``out_templates`` the results'
    variables or constants, ``out_tree`` their structure, ``donated`` the inputs whose
    memory may be written. ``rewrite(ops, values, out_templates)``, if given, replaces
    calls by others of the same results once dead code is gone (the fusion of
    :mod:`chainrule.transforms.fuse`); buffers are assigned to what it returns.
    ``entry_checks``: ``(read, expected)`` pairs of state the traced call read (NumPy's
    print options of a call that made text): a replay whose ``read()`` differs on entry
    traces again. ``keep``: what results made by the function hold themselves rather than
    copies (see :func:`~chainrule.transforms.program.copy_made`). ``eager``: the results
    that are eager Tensors in the plain call (position -> number: one Tensor per number);
    ``eager_given``: those that are the caller's eager Tensor arguments (position -> input),
    which the replay then takes after its arrays (``Program.gives_back``). ``found``: the
    memory (root arrays) of the arrays the function found rather than was given (globals,
    attributes of arguments), whose values the program may hold computed (``sqrt(W)``,
    ``float(W[0])``): a replay whose inputs written in place, or donated, are that memory
    would write it under those values (the plain call computes them after its writes)."""
    ops = _live_ops(_without_broadcasts(ops, values, out_templates), out_templates)
    if rewrite is not None:
        ops = rewrite(ops, values, out_templates)
    out_vars = {t.id for t in out_templates if isinstance(t, Var)}
    buffer_of, shapes = _assign_buffers(ops, values, out_vars, n_inputs, donated)
    if not any(isinstance(op, Call) and op.errstate is not None for op in ops):
        entry_errstate = None
    # what a replay writes in place, and must put back if it stops early
    written = written_inputs(ops, values, n_inputs)
    program = _generate(ops, values, n_inputs, out_templates, out_tree, buffer_of, shapes,
                        entry_errstate, entry_checks, keep, eager or {}, eager_given or {},
                        written, found)
    generators: list = []
    for op in ops:
        if isinstance(op, Call) and op.effect == "draw" and op.rng not in generators:
            generators.append(op.rng)
    program.written = written
    program.generators = tuple(generators)
    program.donates = any(b[0] == "d" for b in buffer_of.values())
    program.undoable = bool(written or generators)
    program.quiet = any(isinstance(op, Call) and op.fun in COMPILED_UFUNCS and op.errstate is not None
                        for op in ops)
    return program


def written_inputs(ops, values, n_inputs: int) -> tuple:
    """The inputs (variables ``0 .. n_inputs - 1``) whose memory the calls ``ops`` write:
    in place, through a view, or as ``out=``."""
    input_of_root: dict[int, list] = {}
    for v in range(n_inputs):
        input_of_root.setdefault(id(root_array(values[v])), []).append(v)
    written: set = set()
    for op in ops:
        if isinstance(op, Call) and op.effect == "write":
            for target in _written(op):
                written.update(input_of_root.get(id(root_array(values[target])), ()))
    return tuple(sorted(written))


def _written(op: Call) -> list:
    """The variables a write writes into: its ``out=``, else its first argument."""
    target = op.kwargs.get("out", op.args[0] if op.args else None)
    return _vars_in(target, [])


def _vars_in(template, into: list) -> list:
    if isinstance(template, Var):
        into.append(template.id)
    elif isinstance(template, Seq):
        for t in template.items:
            _vars_in(t, into)
    return into


def _op_inputs(op) -> list:
    if isinstance(op, Guard):
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
        if not (isinstance(op, Call) and op.fun is np.broadcast_to and op.args
                and isinstance(op.args[0], Var) and not op.unpack):
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
    if not (isinstance(op, Call) and isinstance(op.fun, np.ufunc) and op.fun.signature is None
            and not op.kwargs and not op.unpack):
        return False
    shapes = [np.shape(values[t.id] if isinstance(t, Var) else t) for t in op.args
              if not (isinstance(t, Var) and t.id == big)]
    if any(isinstance(t, Seq) for t in op.args):
        return False
    try:
        return np.broadcast_shapes(np.shape(values[small]), *shapes) == np.shape(values[op.outs[0]])
    except ValueError:
        return False


def _renamed(op, rename: dict):
    if isinstance(op, Guard) or not any(isinstance(t, Var) and t.id in rename for t in op.args):
        return op
    args = [Var(rename[t.id]) if isinstance(t, Var) and t.id in rename else t for t in op.args]
    return Call(op.fun, args, op.kwargs, op.outs, op.unpack, op.check_shape, op.effect, op.rng,
                op.errstate, op.place)


def _live_ops(ops: list, out_templates: list) -> list:
    """The ops that an output, a guard or an effect needs, in order (the other calls are
    pure: they go). A call whose result's shape or type is checked stays too: Python may
    have read that shape (``len(x[x > 0])``), which its check guards."""
    live = set()
    for t in out_templates:
        live.update(_vars_in(t, []))
    kept = []
    for op in reversed(ops):
        if (isinstance(op, Call) and op.effect is None and not op.check_shape
                and not any(v in live for v in op.outs)):
            continue
        kept.append(op)
        live.update(_op_inputs(op))
    kept.reverse()
    return kept


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
    parent: dict[int, int] = {}  # variable -> a variable of its group (the first: itself)

    def find(v: int) -> int:
        while parent.get(v, v) != v:
            v = parent[v]
        return v

    for v in range(n_inputs):
        parent[v] = owner.setdefault(id(root_array(values[v])), v)
    for op in ops:
        if isinstance(op, Call):
            for v in op.outs:
                parent[v] = find(owner.setdefault(id(root_array(values[v])), v))
                if op.check_shape == "full":
                    # a function of the user's (a custom primitive) or one chainrule does
                    # not know: on other values its result may be an argument or view its
                    # memory (``return x if ok else fix(x)``), which no trace shows; so
                    # its array arguments live as long as it does, and are handed back
                    # with it
                    for a in _op_inputs(op):
                        if isinstance(values[a], np.ndarray) and find(a) != find(v):
                            first, last = sorted((find(a), find(v)))
                            parent[last] = first
    group = {v: find(v) for v in parent}
    last_use: dict[int, int] = {}
    for k, op in enumerate(ops):
        for v in _op_inputs(op):
            g = group.get(v, v)
            last_use[g] = k
    escaped = {group.get(v, v) for v in out_vars}
    key_of: dict[str, tuple] = {}  # buffer name -> (shape, dtype)
    free: dict[tuple, list] = {}  # (shape, dtype) -> names of the buffers free now
    release_at: dict[int, list] = {}  # op number -> buffers free after it
    checked_at: dict[int, list] = {}  # op number -> donated memory free after it (not for it)

    def release(name: str) -> None:
        free.setdefault(key_of[name], []).append(name)

    # donated memory is written only after the last operation that may stop the replay
    # (a guard that fails, a call that raises): the retrace or the plain call that
    # follows must find the inputs intact
    last_check = max((k for k, op in enumerate(ops) if may_stop(op, values)), default=-1)
    for v in sorted(donated):
        value = values[v]
        if group[v] == v and v not in escaped and writable_like_output(value):
            name = f"d{v}"
            key_of[name] = (value.shape, value.dtype)
            if last_check < 0 and last_use.get(v, -1) < 0:
                release(name)
            elif last_check >= last_use.get(v, -1):
                # free only once the call that may stop has returned, never as its output
                checked_at.setdefault(last_check, []).append(name)
            else:
                release_at.setdefault(last_use[v], []).append(name)
    buffer_of: dict[int, str] = {}
    shapes: list = []
    for k, op in enumerate(ops):
        if isinstance(op, Call) and _bufferable(op, values) and group[op.outs[0]] == op.outs[0]:
            if _elementwise(op.fun, values[op.outs[0]]):
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
        for name in [*release_at.pop(k, ()), *checked_at.pop(k, ())]:
            release(name)
    return buffer_of, shapes


# NumPy functions that, on the shapes and dtypes they were traced with, raise only as
# their ufuncs do: for a floating-point error that NumPy's error state or the warnings
# filters turn into an exception (which donating replays rule out on entry).
_RAISE_AS_UFUNCS = {
    getattr(np, name)
    for name in (
        "sum mean prod max min amax amin reshape transpose swapaxes moveaxis broadcast_to "
        "expand_dims squeeze ravel concatenate stack dot vdot outer tensordot where clip "
        "copy negative"
    ).split()
    if hasattr(np, name)
} | {operator.iadd, operator.isub, operator.imul, operator.itruediv, alias}
# ufuncs compiled by the fusion pass (chainrule.transforms.fuse): they raise only as
# NumPy's own ufuncs do, on floating-point errors that the error state makes exceptions
COMPILED_UFUNCS: set = set()


def may_stop(op, values: list) -> bool:
    """Whether ``op`` may stop a replay where the traced call went on: a guard, a check
    of a result's shape, a draw (its parameters are validated), a call under an error
    state that raises, or any call other than NumPy's ufuncs and the functions that raise
    only as they do (those are safe once the replay has checked, on entry, that no
    floating-point error can become an exception: see :func:`donation_safe`)."""
    if isinstance(op, Guard) or op.check_shape or op.effect == "draw":
        return True
    if op.errstate is not None and any(v in RAISING for v in op.errstate.values()):
        return True
    fun = op.fun
    numpy_ufunc = isinstance(fun, np.ufunc) and (getattr(np, fun.__name__, None) is fun
                                                 or fun in COMPILED_UFUNCS)
    if not (numpy_ufunc or (hashable(fun) and fun in _RAISE_AS_UFUNCS)):
        return True
    dtypes = [getattr(values[v], "dtype", None) for v in _op_inputs(op)]
    dtypes += [getattr(values[v], "dtype", None) for v in op.outs]
    if any(d is None or d.kind == "O" for d in dtypes):
        return True  # Python objects: their operators may raise anything
    # NumPy refuses integers to negative integer powers
    return fun in (np.power, operator.ipow) and any(d.kind in "iu" for d in dtypes)


def writable_like_output(value) -> bool:
    """Whether a ufunc's result could be written into ``value`` as into its own buffer."""
    flags = getattr(value, "flags", None)
    return isinstance(value, np.ndarray) and value.ndim > 0 and flags.c_contiguous and flags.writeable


def _kind(value) -> tuple:
    """What a replay checks of a result whose shape or dtype may depend on values."""
    return type(value), np.shape(value), getattr(value, "dtype", None)


def writes_out(fun) -> bool:
    """Whether ``fun``, not a ufunc, writes its one array result into an ``out=`` it is
    given, as a ufunc does, with the same values as without: NumPy's ``dot`` (C-contiguous
    ``out`` of the result's dtype, which the program's buffers are), and a primitive's
    forward that says so: ``fun.writes_out = True``, or ``"elementwise"`` where each
    element is read before it is written, so that ``out`` may be one of its arguments
    (ReLU's ``maximum(x, 0, out=)``)."""
    return fun is np.dot or getattr(fun, "writes_out", False) in (True, "elementwise")


def _elementwise(fun, result) -> bool:
    """Whether ``fun`` may write its result over its own arguments (see writes_out).

    An output that is one of its inputs makes NumPy take another loop, which gives other
    bits in a few cases, kept out: fmax and fmin (the sign of fmax(0.0, -0.0)), power of
    one element (power(-inf, 0.5) is inf, or NaN over its input), and the NaNs' signs of
    float16 and complex results (arcsin(inf), inf * nan)."""
    if isinstance(fun, np.ufunc):
        dtype = getattr(result, "dtype", None)
        return (fun.signature is None and fun not in _NOT_OVER_INPUTS and dtype is not None
                and (dtype.kind in "biu" or dtype in _FLOATS_OVER_INPUTS))
    return getattr(fun, "writes_out", False) == "elementwise"


_NOT_OVER_INPUTS = {np.fmax, np.fmin, np.power}
_FLOATS_OVER_INPUTS = (np.dtype(np.float32), np.dtype(np.float64))


def _arrays_in(x, into: list) -> list:
    """The arrays among constants of the generated code (in lists and tuples too)."""
    if isinstance(x, np.ndarray):
        into.append(x)
    elif isinstance(x, list | tuple):
        for item in x:
            _arrays_in(item, into)
    return into


def _apart(arrays: tuple, roots: frozenset) -> bool:
    """Whether none of ``arrays`` shares memory with the arrays whose roots are ``roots``."""
    return not any(id(root_array(a)) in roots for a in arrays)


def _bufferable(op: Call, values: list) -> bool:
    """Whether ``op``'s (first) result may be written into a buffer: a ufunc's one result,
    the first of a fused loop that also computes a reduction (its second), or the result
    of a function that :func:`writes_out`."""
    fun = op.fun
    if not isinstance(fun, np.ufunc):
        if op.kwargs or op.unpack or not writes_out(fun) or type(values[op.outs[0]]) is not np.ndarray:
            return False
    elif op.kwargs or (
            (fun.nout, op.unpack) != (1, False)
            and not (fun.nout == 2 and op.unpack and fun in COMPILED_UFUNCS)):
        return False
    value = values[op.outs[0]]
    # 0-d results stay NumPy scalars, as without out=; an ndarray subclass's result keeps
    # its class (and what its __array_finalize__ sets), which an ndarray buffer would lose
    return type(value) is np.ndarray and value.ndim > 0 and value.flags.c_contiguous


# NumPy's Python-level wrappers and the C-level calls they end in, for ndarrays; the
# replay calls the latter (same results: it is what the wrapper would call).
_REDUCTIONS = {np.sum: np.add.reduce, np.max: np.maximum.reduce, np.min: np.minimum.reduce}
_METHODS = {
    np.reshape: (np.ndarray.reshape, {"order"}),
    np.swapaxes: (np.ndarray.swapaxes, set()),
    np.transpose: (np.ndarray.transpose, set()),
}


def _direct_call(op: Call, values: list):
    """``(function, extra keyword arguments)`` that does ``op`` without NumPy's wrapper."""
    fun = op.fun
    if not (hashable(fun) and op.args and isinstance(op.args[0], Var)):
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
    items = [_render_tree(c, leaves, names) for c in treedef.subtrees]
    if kind is list:
        return f"[{', '.join(items)}]"
    if kind is tuple:
        return f"({''.join(i + ', ' for i in items)})"
    order = insertion_order(treedef)
    if kind is dict:
        by_key = dict(zip(treedef.aux, items, strict=True))
        return "{" + ", ".join(f"{names.of(k)}: {by_key[k]}" for k in order or treedef.aux) + "}"
    if kind is type(None):
        return "None"
    rebuild, aux = names.of(treedef.rebuild, "r"), names.of(treedef.aux)
    expr = f"{rebuild}({aux}, [{', '.join(items)}])"
    return expr if order is None else f"in_order({expr}, {names.of(order)})"


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
    if isinstance(template, Var):
        return f"v{template.id}"
    if isinstance(template, Seq):
        inner = ", ".join(_render(t, names) for t in template.items)
        if template.kind is list:
            return f"[{inner}]"
        if template.kind is tuple:
            return f"({inner},)"
        return f"{names.of(template.kind, 'k')}(*[{inner}])"
    if template is None or type(template) in (bool, int, str):
        return repr(template)
    return names.of(template)


def _generate(ops, values, n_inputs, out_templates, out_tree, buffer_of, shapes,
              entry_errstate=None, entry_checks=(), keep=None, eager=None, eager_given=None,
              written=(), found=()) -> Program:
    names = _Names()
    params = [f"v{i}" for i in range(n_inputs)]
    if eager_given:
        params.append("_given")
    lines = [f"def replay({', '.join([*params, '_buffers'])}):"]
    if entry_errstate is not None:
        # calls in an np.errstate block replay under the state they ran under, which
        # includes what the caller had set: the caller's state must be the same
        lines.append(f"    if geterr() != {names.of(entry_errstate)}: raise GuardFailure")
    for read, expected in entry_checks:  # state the traced call read as it was on entry
        lines.append(f"    if {names.of(read, 'f')}() != {names.of(expected)}: raise GuardFailure")
    if written and found:
        # an argument written in place that is the memory of an array the function finds
        # (a global passed as the argument): the program may hold values computed from
        # that array before the write, which the plain call computes after it; traced again
        lines.append(f"    if not apart(({''.join(f'v{i}, ' for i in written)}), _found_roots): "
                     "raise GuardFailure")
    if shapes:
        lines.append(f"    {', '.join(f'b{i}' for i in range(len(shapes)))}, = _buffers")
    donated_names = sorted({b for b in buffer_of.values() if b[0] == "d"})
    if donated_names:
        # donated memory is written only where no floating-point error can raise after
        # the write, and where it is not the memory of an array the program reads besides
        # its inputs, or of one the function found (a global array passed as the donated
        # argument, whose values the program may hold computed); elsewhere its results are
        # allocated (out=None)
        donated_args = "".join(f"v{n[1:]}, " for n in donated_names)
        lines.append(f"    donating = donation_safe() and apart(({donated_args}), _constant_roots)")
        lines.append("    if donating:")
        lines.append(f"        {', '.join(donated_names)}, = {', '.join(f'v{n[1:]}' for n in donated_names)},")
        lines.append("    else:")
        lines.append(f"        {' = '.join(donated_names)} = None")
    last_use: dict[int, int] = {}
    for k, op in enumerate(ops):
        for v in _op_inputs(op):
            last_use[v] = k
    results = set()  # the variables handed back: never deleted
    for t in out_templates:
        results.update(_vars_in(t, []))
    n_guards = n_calls = 0
    places: dict = {}  # line of the source -> where the user's code made its call
    donation_seen = False
    donated_flag = [False]
    for k, op in enumerate(ops):
        if isinstance(op, Guard):
            n_guards += 1
            lines.append(f"    if not same_value(v{op.var}, {names.of(op.expected)}): raise GuardFailure")
        else:
            n_calls += 1
            direct, extra = _direct_call(op, values)
            args = [_render(t, names) for t in op.args]
            args += [f"{key}={_render(t, names)}" for key, t in {**op.kwargs, **extra}.items()]
            (first,) = op.outs[:1] or (None,)
            if first in buffer_of:
                out = buffer_of[first]
                args.append(f"out={out}" if len(op.outs) == 1 else f"out=({out}, None)")
                if buffer_of[first][0] == "d" and not donation_seen:
                    donation_seen = True
                    lines.append("    _donated[0] = donating")
            fun = names.of(direct, "f")
            if op.unpack:
                target = "".join(f"v{v}, " for v in op.outs) or "_"
            else:
                target = f"v{first}"
            call = f"{target} = {fun}({', '.join(args)})"
            if op.errstate is not None:
                lines.append(f"    with errstate(**{names.of(op.errstate)}):")
                lines.append(f"        {call}")
            else:
                lines.append(f"    {call}")
            if op.place is not None:
                places[len(lines)] = op.place  # (the source's lines count from 1)
            if op.check_shape == "full":
                for v in op.outs:
                    kind = names.of((type(values[v]), np.shape(values[v]), getattr(values[v], "dtype", None)))
                    lines.append(f"    if kind(v{v}) != {kind}: raise GuardFailure")
            elif op.check_shape:
                for v in op.outs:
                    shape = names.of(np.shape(values[v]))
                    lines.append(f"    if shape(v{v}) != {shape}: raise GuardFailure")
        dead = sorted(v for v in _op_inputs(op) if last_use[v] == k and v not in results)
        if dead:
            lines.append(f"    del {', '.join(f'v{v}' for v in dict.fromkeys(dead))}")
    # an array (or a changeable object) made inside the function is copied, so no
    # caller's change reaches the next call, all together, so that results that share
    # memory in the plain call share it; an array found outside it is the caller's,
    # changes and all
    made = [t.value if isinstance(t, Fresh) else t for t in out_templates
            if isinstance(t, np.ndarray | Fresh)]
    if made:
        lines.append(f"    _made = copy_made({names.of(made)}, {names.of(keep)})")
    for name in dict.fromkeys(names.of(t.array) for t in out_templates if isinstance(t, Shared) and t.view):
        lines.append(f"    _view{name} = {name}.view()")  # one view per array, as the function made
    outs, k = [], 0
    for t in out_templates:
        if isinstance(t, np.ndarray | Fresh):
            outs.append(f"_made[{k}]")
            k += 1
        else:
            outs.append(_render(t, names) if not isinstance(t, Shared)
                        else f"_view{names.of(t.array)}" if t.view else names.of(t.array))
    # results that are eager Tensors in the plain call: their arrays made Tensors (without
    # grad), one per Tensor of the traced call, or the caller's own Tensor arguments
    wrapped: dict = {}
    for position, number in eager.items():
        if number not in wrapped:
            wrapped[number] = f"_eager{number}"
            lines.append(f"    _eager{number} = Tensor({outs[position]}, EAGER)")
        outs[position] = wrapped[number]
    for position, i in eager_given.items():
        outs[position] = f"_given[{i}]"
    lines.append(f"    return {_render_tree(out_tree, iter(outs), names)}")
    source = "\n".join(lines) + "\n"
    namespace = {
        **names.objects,
        "same_value": same_value,
        "GuardFailure": GuardFailure,
        "shape": np.shape,
        "kind": _kind,
        "in_order": in_order,
        "errstate": np.errstate,
        "copy_made": copy_made,
        "geterr": np.geterr,
        "_donated": donated_flag,
        "Tensor": Tensor,
        "EAGER": EAGER,
        "donation_safe": donation_safe,
        "apart": _apart,
        "_constant_roots": frozenset(id(root_array(a)) for a in _arrays_in(list(names.objects.values()), []))
        | frozenset(map(id, found)),
        "_found_roots": frozenset(map(id, found)),
        "_found": found,  # (kept alive while their ids are compared)
    }
    if places:  # the module of the user's code, which warnings filters by module see
        namespace["__name__"] = next(iter(places.values()))[2].get("__name__", "<string>")
    exec(compile(source, GENERATED, "exec"), namespace)  # noqa: S102 (our own code)
    buffers = [np.empty(shape, dtype) for shape, dtype in shapes]
    program = Program(source, namespace["replay"], buffers, n_guards, n_calls)
    program.gives_back = bool(eager_given)
    program.donated_flag = donated_flag
    program.places = places
    return program
