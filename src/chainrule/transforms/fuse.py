"""Fused replay (``chainrule.jit(f, fuse=True)``): chains of elementwise calls in a
recorded program become one compiled loop each.

:func:`fuse_elementwise` is a pass over the call list of
:mod:`chainrule.transforms.passes`, run after dead code is dropped and before buffers
are assigned. It groups elementwise ufunc calls (the forward pass, the backward pass and
the update alike: the record does not tell them apart) into trees whose inner values are
read by nothing but the group, and replaces each group of two calls or more by one call
of a NumPy ufunc compiled by Numba from generated Python source. That ufunc broadcasts,
takes ``out=`` and returns NumPy scalars for 0-d inputs exactly as the calls it replaces
did, so buffers, donation and the rest of the program are built as for any ufunc call.
A sum, max or min whose input such a chain (or a single elementwise call) produces is
computed in the chain's loop (:mod:`chainrule.transforms.fuse_reduce`). Everything else
(matrix products, other reductions, indexing, linalg, fft) stays a NumPy call between
the fused loops. Which calls fuse, and the scalar code of a chain, are in
:mod:`chainrule.transforms.fuse_code`.

The steps, each a pure function but the last:

* :func:`plan_groups`: which calls fuse, and into which group;
  :func:`~chainrule.transforms.fuse_reduce.plan_reductions`: which reductions end one;
* :func:`kernel_source`: the scalar Python function of one group;
  :func:`~chainrule.transforms.fuse_reduce.reduction_kernel_source`: the loop nest of a
  group that ends in a reduction;
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
import operator
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
from chainrule.transforms.fuse_code import (
    _QUIET,
    _SILENT,
    LIBM_MAX_SIZE,
    _exact_vars,
    _inputs,
    _loop_types,
    _signature,
    kernel_source,
    silent,
)
from chainrule.transforms.fuse_reduce import plan_reductions, reduction_kernel_source, reduction_of
from chainrule.transforms.passes import COMPILED_UFUNCS
from chainrule.transforms.program import Call, Guard, Var

__all__ = ["fuse_elementwise", "plan_groups", "kernel_source", "module_source", "load_kernels",
           "available", "can_fuse", "cache_dir", "warn_unavailable", "compile_in_background",
           "orphaned", "LIBM_MAX_SIZE"]

# Whether Numba is installed, found without importing it: importing Numba takes a few
# tenths of a second, which only programs that are fused should pay.
_HAS_NUMBA = importlib.util.find_spec("numba") is not None
_numba = None  # the module, once a program has been fused


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
                segment[groups[g][0]] == segment[k] and silent(op.errstate) == silent(ops[groups[g][0]].errstate):
            groups[g].append(k)
            group_of[k] = g
        else:
            group_of[k] = len(groups)
            groups.append([k])
    return [sorted(g) for g in reversed(groups) if len(g) > 1]


def module_source(kernels: list[tuple], cache: bool) -> str:
    """The Python module of a program's kernels: ``(signature, function source)`` pairs,
    each function decorated as a Numba ufunc of that one signature, and ``(signature,
    source, layout)`` triples, decorated as generalized ufuncs (``guvectorize``).

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
    for signature, source, *layout in kernels:
        if layout:  # a chain that ends in a reduction: a generalized ufunc
            parts.append(f"\n@numba.guvectorize([\"{signature}\"], \"{layout[0]}\", cache={cache})\n"
                         f"{source}")
        else:
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
# Python's + - * / of NumPy float scalars, which the trace records as the operators (NumPy's
# scalar math gives a + b of two NaNs the NaN of b, its ufunc the NaN of a; its warnings
# name the scalar operation)
_SCALAR_MATH = {operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
                operator.truediv: np.true_divide, operator.floordiv: np.floor_divide, operator.mod: np.remainder}


def _scalar_math_as_ufuncs(ops: list, values: list) -> list:
    """``ops`` with the float sums and products that were recorded as Python's operators
    made their ufuncs, which fuse: a fused loop keeps a NaN where it is, not its sign."""
    out = []
    for op in ops:
        fun = getattr(op, "fun", None)
        if isinstance(op, Call) and fun in _SCALAR_MATH and all(
                getattr(values[v], "dtype", np.dtype(int)).kind == "f" for v in (*op.outs, *_inputs(op))):
            op = Call(_SCALAR_MATH[fun], op.args, op.kwargs, op.outs, op.unpack, op.check_shape, op.effect,
                      op.rng, op.errstate)
        out.append(op)
    return out


def fuse_elementwise(ops: list, values: list, out_templates: list) -> list:
    """``ops`` with each group of :func:`plan_groups` replaced by one call of its compiled
    ufunc, at the place of the group's last call; ``ops`` itself if nothing fuses.

    >>> import numpy as np, chainrule as cr, chainrule.numpy as cnp
    >>> f = cr.jit(lambda x: cnp.tanh(cnp.sin(x) * 2.0 + 1.0), fuse="wait")
    >>> y = f(np.zeros(3)); y = f(np.ones(3))
    >>> f.programs[0].n_calls if available() else 1
    1
    """
    given, ops = ops, _scalar_math_as_ufuncs(ops, values)
    groups = plan_groups(ops, values, out_templates)
    reductions = plan_reductions(ops, values, out_templates, groups)
    ending = {chain[-1]: (r, keep) for chain, r, keep in reductions}
    units = [(g, None, False) for g in groups if g[-1] not in ending] + reductions
    if not units:
        return given
    kernels, names, inputs, quiet, seen = [], [], [], [], {}
    for chain, r, keep in units:
        if r is None:
            body, args, is_quiet = kernel_source(ops, chain, values, "KERNEL")
            kernel = [_signature(ops, chain, values, args), body]
        else:
            signature, layout, body, args, is_quiet = reduction_kernel_source(
                ops, chain, r, keep, values, "KERNEL")
            kernel = [signature, body, layout]
        key = hashlib.sha256("\n".join(kernel).encode()).hexdigest()[:16]
        name = f"k{key}"
        if key not in seen:  # one kernel for identical groups (the layers of a deep net)
            seen[key] = True
            kernel[1] = body.replace("def KERNEL(", f"def {name}(", 1)
            kernels.append(tuple(kernel))
        names.append(name)
        inputs.append(args)
        quiet.append(is_quiet)
    ufuncs = load_kernels(kernels, names)
    fused_at = {chain[-1]: i for i, (chain, _, _) in enumerate(units)}
    dropped = {k for chain, _, _ in units for k in chain[:-1]} | {r for _, r, _ in reductions}
    out = []
    for k, op in enumerate(ops):
        if k in dropped:
            continue
        i = fused_at.get(k)
        if i is None:
            out.append(op)
            continue
        chain, r, keep = units[i]
        # (a chain is silent or not as a whole: plan_groups and plan_reductions)
        errstate = dict(_SILENT) if silent(ops[chain[0]].errstate) else dict(_QUIET) if quiet[i] else None
        if r is None:
            out.append(Call(ufuncs[i], list(inputs[i]), {}, op.outs, False, False, None, None,
                            errstate))
            continue
        # the reduction's result without kept dimensions, then (keepdims) reshaped: a
        # generalized ufunc's outputs take no dimension that its inputs do not have
        reduced = ops[r].outs[0]
        value = values[reduced]
        _, axes, keepdims = reduction_of(ops[r], values)
        if keepdims:
            flat = value.reshape([n for d, n in enumerate(value.shape) if d not in axes])
            if flat.ndim == 0:
                flat = flat[()]
            values.append(flat)
            target = len(values) - 1
        else:
            target = reduced
        outs = [op.outs[0], target] if keep else [target]
        out.append(Call(ufuncs[i], list(inputs[i]), {}, outs, keep, False, None, None, errstate))
        if keepdims:
            out.append(Call(np.reshape, [Var(target), value.shape], {}, [reduced], False, False))
    return out
