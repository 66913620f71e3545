"""Fused replay (``chainrule.jit(f, fuse=True)``): chains of elementwise calls in a
recorded program become one compiled loop each.

:func:`fuse_elementwise` is a pass over the call list of
:mod:`chainrule.transforms.program`, run after dead code is dropped and before buffers
are assigned. It groups elementwise ufunc calls (the forward pass, the backward pass and
the update alike: the record does not tell them apart) into trees whose inner values are
read by nothing but the group, and replaces each group of two calls or more by one call
of a NumPy ufunc compiled by Numba from generated Python source. That ufunc broadcasts,
takes ``out=`` and returns NumPy scalars for 0-d inputs exactly as the calls it replaces
did, so buffers, donation and the rest of the program are built as for any ufunc call.
Everything else (matrix products, reductions, indexing, linalg, fft) stays a NumPy call
between the fused loops.

The steps, each a pure function but the last:

* :func:`plan_groups`: which calls fuse, and into which group;
* :func:`kernel_source`: the scalar Python function of one group;
* :func:`module_source`: the module of all kernels of a program (one ``@vectorize`` each);
* :func:`load_kernels`: the compiled ufuncs: from the machine code that an earlier
  process left in the cache directory (``CHAINRULE_FUSED_CACHE``, else
  ``$XDG_CACHE_HOME/chainrule/fused``; :mod:`chainrule.transforms.fused_objects`), without
  importing Numba, else compiled by Numba through a source file there (whose own cache
  serves as a second level), and the machine code written for the next process.

:func:`compile_in_background` runs such a build on one worker thread: ``jit(f,
fuse=True)`` replays the unfused program until the fused one is ready.

Numba is an optional dependency (the ``[fast]`` extra); :func:`available` says whether it
can be imported, and ``jit`` replays without fusion (warning once) where it cannot.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from chainrule.transforms import fused_objects
from chainrule.transforms.program import COMPILED_UFUNCS, Call, Guard, Seq, Var

__all__ = ["fuse_elementwise", "plan_groups", "kernel_source", "module_source", "load_kernels",
           "available", "can_fuse", "cache_dir", "warn_unavailable", "compile_in_background",
           "orphaned"]

# Whether Numba is installed, found without importing it: importing Numba takes a few
# tenths of a second, which only programs that are fused should pay.
_HAS_NUMBA = importlib.util.find_spec("numba") is not None
_numba = None  # the module, once a program has been fused

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_FLOAT64 = np.dtype(np.float64)
_BOOL = np.dtype(bool)
_NUMBA_TYPES = {
    np.dtype(t): n for t, n in [
        (np.float64, "float64"), (np.float32, "float32"), (bool, "boolean"), (np.int64, "int64"),
        (np.int32, "int32"), (np.int16, "int16"), (np.int8, "int8"), (np.uint64, "uint64"),
        (np.uint32, "uint32"), (np.uint16, "uint16"), (np.uint8, "uint8"),
    ]
}

# The scalar code of each ufunc that fuses, on operands already cast to its loop's input
# types (``{0}``, ``{1}``); ``{T}`` is the loop's output type. Ties, signed zeros and NaNs
# follow NumPy's loops: maximum(-0.0, 0.0) is its second argument, NaN wins in maximum.
_EXPRESSIONS = {
    np.add: "{0} + {1}", np.subtract: "{0} - {1}", np.multiply: "{0} * {1}",
    np.true_divide: "{0} / {1}", np.negative: "-{0}", np.square: "{0} * {0}",
    np.reciprocal: "{T}(1.0) / {0}", np.power: "{0} ** {1}", np.absolute: "abs({0})",
    np.fabs: "abs({0})",
    np.maximum: "{0} if ({0} > {1} or np.isnan({0})) else {1}",
    np.minimum: "{0} if ({0} < {1} or np.isnan({0})) else {1}",
    np.fmax: "{0} if ({0} > {1} or np.isnan({1})) else {1}",
    np.fmin: "{0} if ({0} < {1} or np.isnan({1})) else {1}",
    np.sign: "{T}(1.0) if {0} > 0 else ({T}(-1.0) if {0} < 0 else ({T}(0.0) if {0} == 0 else {0}))",
    np.greater: "{0} > {1}", np.greater_equal: "{0} >= {1}", np.less: "{0} < {1}",
    np.less_equal: "{0} <= {1}", np.equal: "{0} == {1}", np.not_equal: "{0} != {1}",
    np.logical_and: "{0} and {1}", np.logical_or: "{0} or {1}", np.logical_not: "not {0}",
    np.arctan2: "np.arctan2({0}, {1})", np.hypot: "np.hypot({0}, {1})",
}
for _name in ("sqrt exp exp2 expm1 log log2 log10 log1p sin cos tan arcsin arccos arctan sinh "
              "cosh tanh arcsinh arccosh arctanh floor ceil trunc rint").split():
    _EXPRESSIONS[getattr(np, _name)] = f"np.{_name}({{0}})"
# Loops that compare floating-point values: a NaN compared sets the CPU's "invalid" flag
# in compiled code where NumPy's own loops stay quiet, so these run with NumPy's
# floating-point error reports off (see ``_QUIET``).
_COMPARING = {np.maximum, np.minimum, np.fmax, np.fmin, np.sign, np.greater, np.greater_equal,
              np.less, np.less_equal, np.equal, np.not_equal}
_QUIET = {"divide": "ignore", "over": "ignore", "under": "ignore", "invalid": "ignore"}
# Functions that compile to a call of the C library per element: NumPy's own SIMD loops
# for them are 5-100x faster per element (tanh of 4096 float32: 1.2 us against 114 us
# here), so they fuse only on arrays small enough that the call they save (about 1 us)
# outweighs that. Arithmetic, comparisons and sqrt are single instructions and fuse at
# any size; so does ``power`` by a constant 0, 1 or 2, which the compiler turns into
# multiplications.
_LIBM = {np.power, np.arctan2, np.hypot} | {
    getattr(np, n) for n in ("exp exp2 expm1 log log2 log10 log1p sin cos tan arcsin arccos "
                             "arctan sinh cosh tanh arcsinh arccosh arctanh").split()}
LIBM_MAX_SIZE = 128


def available() -> bool:
    """Whether Numba can be imported, so that ``jit(f, fuse=True)`` fuses.

    >>> isinstance(available(), bool)
    True
    """
    return _HAS_NUMBA


_warned = [False]


def warn_unavailable() -> None:
    """Warn, once per process, that ``fuse=True`` replays without fusion."""
    if not _warned[0]:
        _warned[0] = True
        warnings.warn(
            "chainrule.jit(fuse=True) needs Numba to compile fused loops; it is not installed, "
            "so programs are replayed one NumPy call per line (pip install 'chainrule[fast]').",
            stacklevel=3,
        )


def can_fuse(errstate: dict) -> bool:
    """Whether a program traced under NumPy error state ``errstate`` may be fused: not
    when floating-point errors raise or call a function, which every NumPy call of the
    unfused replay does exactly where the plain function would.

    >>> can_fuse({"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"})
    True
    """
    return not any(v in ("raise", "call", "log") for v in errstate.values())


def cache_dir() -> Path:
    """Where fused kernels' source files (and Numba's compiled code beside them) live:
    ``$CHAINRULE_FUSED_CACHE`` if set, else ``$XDG_CACHE_HOME/chainrule/fused`` (by
    default ``~/.cache/chainrule/fused``).

    >>> cache_dir().name
    'fused'
    """
    explicit = os.environ.get("CHAINRULE_FUSED_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "chainrule" / "fused"


# -- which calls fuse ------------------------------------------------------------------
def _dtype_of(x):
    """The dtype NumPy's type resolution sees for an operand (Python scalars stay weak)."""
    if isinstance(x, bool):
        return _BOOL
    if type(x) in (int, float):
        return type(x)
    return getattr(x, "dtype", None)


def _loop_types(op: Call, values: list):
    """The dtypes of the loop NumPy runs for ``op`` (inputs..., output), or None when
    ``op`` is not an elementwise call that fuses."""
    if not (isinstance(op, Call) and op.effect is None and op.errstate is None and not op.kwargs
            and not op.unpack and not op.check_shape and len(op.outs) == 1):
        return None
    fun = op.fun
    try:
        if fun not in _EXPRESSIONS or len(op.args) != fun.nin:
            return None
    except TypeError:  # an unhashable callable
        return None
    operands = []
    for a in op.args:
        if isinstance(a, Var):
            a = values[a.id]
            if not isinstance(a, np.ndarray | np.generic):
                return None
        elif not isinstance(a, bool | int | float | np.generic | np.ndarray):
            return None
        dtype = _dtype_of(a)
        if dtype is None or (isinstance(dtype, np.dtype) and dtype not in _NUMBA_TYPES):
            return None
        operands.append(dtype)
    try:
        loop = fun.resolve_dtypes((*operands, None))
    except (TypeError, ValueError):
        return None
    out = values[op.outs[0]]
    if not isinstance(out, np.ndarray | np.generic) or out.dtype != loop[-1]:
        return None
    if fun in _LIBM and out.size > LIBM_MAX_SIZE and not (
            fun is np.power and isinstance(op.args[1], int | float | np.generic)
            and float(op.args[1]) in (0.0, 1.0, 2.0)):
        return None
    if any(t not in _FLOATS and t != _BOOL for t in loop):
        return None
    return loop


def _exact_vars(ops: list) -> set:
    """The variables whose values Python reads (guards), or that decide a shape checked
    on replay, and everything they are computed from: these must be NumPy's own bits, or
    a replay would fail a guard that the traced call passed."""
    exact: set = set()
    writes = any(isinstance(op, Call) and op.effect == "write" for op in ops)
    for op in reversed(ops):
        if isinstance(op, Guard):
            exact.add(op.var)
        elif op.check_shape or (writes and op.effect == "write") or any(v in exact for v in op.outs):
            exact.update(_inputs(op))
    return exact


def _inputs(op) -> list:
    found: list = []
    for t in (*op.args, *op.kwargs.values()):
        _collect(t, found)
    return found


def _collect(t, into: list) -> None:
    if isinstance(t, Var):
        into.append(t.id)
    elif isinstance(t, Seq):
        for i in t.items:
            _collect(i, into)


def plan_groups(ops: list, values: list, out_templates: list) -> list[list[int]]:
    """The groups of calls that fuse, as lists of positions in ``ops`` (in order; the
    last is the group's one result that is read elsewhere).

    A call joins the group of its readers when every reader is in that one group, only
    elementwise calls lie between them (no write into memory, no call that would
    otherwise see the group's inputs die before it), and its result is neither returned
    nor read by Python (guards): each group's values other than its last live only in
    registers.
    Groups of one call are not listed (a NumPy call is as fast).
    """
    escaped = {t.id for t in out_templates if isinstance(t, Var)}
    readers: dict[int, list] = {}
    for k, op in enumerate(ops):
        for v in (op.var,) if isinstance(op, Guard) else _inputs(op):
            readers.setdefault(v, []).append(k)
    exact = _exact_vars(ops)
    # Groups stay within runs of elementwise calls. A write into memory (x += y,
    # x[i] = v) ends a run: a group across it would read an input after the write that
    # the traced call read before it. So does any other call (a matrix product, a
    # reduction): a group across it would keep its inputs alive until its last call,
    # and a sum of per-layer gradients fused across the layers would hold all of them.
    fusable = [_loop_types(op, values) is not None for op in ops]
    segment, barrier = [], 0
    for op, elementwise in zip(ops, fusable, strict=True):
        if isinstance(op, Call) and not elementwise:
            barrier += 1
        segment.append(barrier)
    group_of: dict[int, int] = {}
    groups: list[list[int]] = []
    for k in range(len(ops) - 1, -1, -1):
        op = ops[k]
        if not fusable[k] or op.outs[0] in exact:
            continue
        out = op.outs[0]
        reading = {group_of.get(r, -1) for r in readers.get(out, ())}
        if out not in escaped and len(reading) == 1 and (g := reading.pop()) >= 0 and \
                segment[groups[g][0]] == segment[k]:
            groups[g].append(k)
            group_of[k] = g
        else:
            group_of[k] = len(groups)
            groups.append([k])
    return [sorted(g) for g in reversed(groups) if len(g) > 1]


# -- the code of a group ---------------------------------------------------------------
def _literal(x, dtype: np.dtype) -> str:
    """A constant as Numba source of the loop's type (a Python float is a float64)."""
    if dtype == _BOOL:
        return "True" if bool(x) else "False"
    value = float(x)
    if value != value:
        text = "np.nan"
    elif value in (float("inf"), float("-inf")):
        text = "np.inf" if value > 0 else "-np.inf"
    else:
        text = repr(value)
    return text if dtype == _FLOAT64 else f"np.{dtype.name}({text})"


def kernel_source(ops: list, group: list[int], values: list, name: str) -> tuple[str, list, bool]:
    """``(source, inputs, quiet)`` of one group: the body of a scalar function ``name``,
    the templates its arguments are read from (variables and array constants, in order),
    and whether it compares floating-point values (it then runs with error reports off).

    The function computes each call of the group in its NumPy loop's types, operands
    cast as NumPy casts them, so a float32 chain stays float32.
    """
    # inner values are named by their place in the group, so that identical groups (the
    # layers of a deep network) have identical source and compile once
    inner = {ops[k].outs[0]: f"t{i}" for i, k in enumerate(group)}
    inputs: list = []
    arg_of: dict = {}
    lines = []
    quiet = False
    for k in group:
        op = ops[k]
        loop = _loop_types(op, values)
        operands = []
        for a, dtype in zip(op.args, loop[:-1], strict=False):
            if isinstance(a, Var) and a.id in inner:
                name_, have = inner[a.id], values[a.id].dtype
            elif isinstance(a, Var) or isinstance(a, np.ndarray):
                key = ("v", a.id) if isinstance(a, Var) else ("c", id(a))
                if key not in arg_of:
                    arg_of[key] = f"a{len(inputs)}"
                    inputs.append(a)
                name_ = arg_of[key]
                have = values[a.id].dtype if isinstance(a, Var) else a.dtype
            else:
                operands.append(_literal(a, dtype))
                continue
            operands.append(name_ if have == dtype else f"np.{dtype.name}({name_})")
        out_type = loop[-1]
        expr = _EXPRESSIONS[op.fun].format(*operands, T=f"np.{out_type.name}")
        quiet = quiet or op.fun in _COMPARING
        if out_type == _FLOAT64 and all(t == _FLOAT64 for t in loop):
            # float64 in, float64 out: Numba's result already is (fewer casts compile faster)
            lines.append(f"    {inner[op.outs[0]]} = {expr}")
        else:
            cast = "bool" if out_type == _BOOL else f"np.{out_type.name}"
            lines.append(f"    {inner[op.outs[0]]} = {cast}({expr})")
    lines.append(f"    return {inner[ops[group[-1]].outs[0]]}")
    source = f"def {name}({', '.join(f'a{i}' for i in range(len(inputs)))}):\n" + "\n".join(lines)
    return source + "\n", inputs, quiet


def _signature(ops: list, group: list[int], values: list, inputs: list) -> str:
    def numba_type(x):
        return _NUMBA_TYPES[values[x.id].dtype if isinstance(x, Var) else x.dtype]
    out = values[ops[group[-1]].outs[0]]
    return f"{_NUMBA_TYPES[out.dtype]}({', '.join(numba_type(x) for x in inputs)})"


def module_source(kernels: list[tuple[str, str]], cache: bool) -> str:
    """The Python module of a program's kernels: ``(signature, function source)`` pairs,
    each function decorated as a Numba ufunc of that one signature.

    >>> print(module_source([("float64(float64)", "def k(a0):\\n    return a0\\n")], True))
    ... # doctest: +NORMALIZE_WHITESPACE
    # generated by chainrule.jit(fuse=True)
    import numba
    import numpy as np
    <BLANKLINE>
    @numba.vectorize(["float64(float64)"], cache=True)
    def k(a0):
        return a0
    """
    parts = ["# generated by chainrule.jit(fuse=True)\nimport numba\nimport numpy as np\n"]
    for signature, source in kernels:
        parts.append(f"\n@numba.vectorize([\"{signature}\"], cache={cache})\n{source}")
    return "".join(parts)


# -- compiling, through the disk cache -------------------------------------------------
# One compilation at a time (Numba compiles under a lock of its own anyway), and one
# import of each cached module even when the worker thread and a caller load at once.
_LOAD_LOCK = threading.RLock()
_worker: list = []
_made: dict = {}  # the ufuncs of each kernel module loaded in this process, by digest


def _after_fork_in_child() -> None:
    # a forked process has no compiling thread, and a lock that thread held stays held
    global _LOAD_LOCK
    _worker.clear()
    _LOAD_LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def orphaned(future: Future) -> bool:
    """Whether ``future`` is a build that a parent process started before this one
    was forked from it: no thread here will finish it."""
    return getattr(future, "pid", None) not in (None, os.getpid())


def compile_in_background(job: Callable[[], object]) -> Future:
    """Run ``job`` (the build of a fused program) on chainrule's one compiling thread and
    return its future. The thread is not a daemon: a process that exits while a build is
    queued finishes it first (and so leaves the compiled code in the disk cache).

    >>> compile_in_background(lambda: 6 * 7).result()
    42
    """
    if not _worker:
        _worker.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="chainrule-fuse"))
    future = _worker[0].submit(job)
    future.pid = os.getpid()
    return future


def load_kernels(kernels: list[tuple[str, str]], names: list[str]) -> list:
    """The compiled ufuncs of ``kernels`` (see :func:`module_source`), in order.

    A process that fused the same program before left the machine code of its loops in
    ``cache_dir()`` (:mod:`chainrule.transforms.fused_objects`): they are loaded from there,
    without Numba. Otherwise the module is written to ``cache_dir()/<hash of its
    source>.py`` (once: a file that exists is only imported), compiled with Numba's
    ``cache=True``, and its loops' machine code is written beside it. Where the cache
    directory cannot be written, the module is compiled in memory.
    """
    with _LOAD_LOCK:
        return _load_kernels(kernels, names)


def _load_kernels(kernels: list[tuple[str, str]], names: list[str]) -> list:
    global _numba
    source = module_source(kernels, cache=True)
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    module_name = f"chainrule_fused_{digest}"
    made = _made.get(digest)
    if made is None:
        # the machine code a process left on disk: no Numba import, nothing compiled
        ufuncs = fused_objects.load(fused_objects.path_for(cache_dir(), digest), names)
        if ufuncs is not None:
            made = dict(zip(names, ufuncs, strict=True))
    if made is None:
        if _numba is None:
            _numba = importlib.import_module("numba")
        module = sys.modules.get(module_name)
        if module is None:
            module = _import_cached(source, digest, module_name)
            if module is not None:  # a cache directory that can be written
                fused_objects.store(fused_objects.path_for(cache_dir(), digest), module, names)
            else:
                module = _compile_in_memory(kernels)
            sys.modules[module_name] = module
        made = {n: getattr(module, n).ufunc for n in names}
    _made[digest] = made
    ufuncs = [made[n] for n in names]
    COMPILED_UFUNCS.update(ufuncs)
    return ufuncs


def _import_cached(source: str, digest: str, module_name: str):
    directory = cache_dir()
    path = directory / f"{digest}.py"
    try:
        if not path.exists():
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                f.write(source)
            os.replace(tmp, path)  # atomic: another process may write the same file
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
    except OSError:
        return None
    # in sys.modules while it runs: Numba's cached code finds its globals by module name
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:  # a cache entry that does not load (another Numba): compile anew
        del sys.modules[module_name]
        return None
    return module


def _compile_in_memory(kernels):
    namespace: dict = {}
    source = module_source(kernels, cache=False)
    exec(compile(source, "<chainrule.fused>", "exec"), namespace)  # noqa: S102 (our own code)
    return _Namespace(namespace)


class _Namespace:
    def __init__(self, names: dict):
        self.__dict__.update(names)


# -- the pass --------------------------------------------------------------------------
def fuse_elementwise(ops: list, values: list, out_templates: list) -> list:
    """``ops`` with each group of :func:`plan_groups` replaced by one call of its compiled
    ufunc, at the place of the group's last call; ``ops`` itself if nothing fuses.

    >>> import numpy as np, chainrule as cr, chainrule.numpy as cnp
    >>> f = cr.jit(lambda x: cnp.tanh(cnp.sin(x) * 2.0 + 1.0), fuse="wait")
    >>> y = f(np.zeros(3)); y = f(np.ones(3))
    >>> f.programs[0].n_calls if available() else 1
    1
    """
    groups = plan_groups(ops, values, out_templates)
    if not groups:
        return ops
    kernels, names, inputs, quiet, seen = [], [], [], [], {}
    for group in groups:
        body, args, is_quiet = kernel_source(ops, group, values, "KERNEL")
        signature = _signature(ops, group, values, args)
        key = hashlib.sha256((signature + body).encode()).hexdigest()[:16]
        name = f"k{key}"
        if key not in seen:  # one kernel for identical groups (the layers of a deep net)
            seen[key] = True
            kernels.append((signature, body.replace("def KERNEL(", f"def {name}(", 1)))
        names.append(name)
        inputs.append(args)
        quiet.append(is_quiet)
    ufuncs = load_kernels(kernels, names)
    fused_at = {group[-1]: i for i, group in enumerate(groups)}
    dropped = {k for group in groups for k in group[:-1]}
    out = []
    for k, op in enumerate(ops):
        if k in dropped:
            continue
        i = fused_at.get(k)
        if i is None:
            out.append(op)
            continue
        out.append(Call(ufuncs[i], list(inputs[i]), {}, op.outs, False, False, None, None,
                        dict(_QUIET) if quiet[i] else None))
    return out
