"""Reductions that end a fused chain (``chainrule.jit(f, fuse=True)``): a sum, max or
min whose input an elementwise chain produces is computed inside that chain's loop, a
generalized ufunc (Numba ``guvectorize``) that writes the reduction and, where something
else reads it, the chain's result; see :func:`reduction_kernel_source` for the order in
which it adds (NumPy's)."""

from __future__ import annotations

import operator

import numpy as np

from chainrule.transforms.fuse_code import (
    _FLOATS,
    _NUMBA_TYPES,
    _chain_lines,
    _exact_vars,
    _inputs,
    _loop_types,
    silent,
)
from chainrule.transforms.ndarray_calls import ndarray_member_call
from chainrule.transforms.program import Call, Guard, Var

__all__ = ["reduction_of", "plan_reductions", "reduction_kernel_source", "PAIRWISE_BLOCK"]


# The NumPy functions whose reduction over one axis, or over all, is computed inside the
# loop of the elementwise chain that produces their input: the binary ufunc they reduce.
_REDUCING = {np.sum: np.add, np.max: np.maximum, np.amax: np.maximum, np.min: np.minimum,
             np.amin: np.minimum}
# and the methods (x.sum(axis)) as a traced plain array records them: the same arguments
_REDUCING.update({ndarray_member_call(name, False): _REDUCING[getattr(np, name)] for name in ("sum", "max", "min")})
# NumPy sums a contiguous run pairwise: eight partial sums per block of at most this many
# elements, blocks added recursively. Runs up to this length are summed here in exactly
# that order; longer ones would need the recursion, so their sums stay NumPy calls.
PAIRWISE_BLOCK = 128


def reduction_of(op, values: list):
    """``(ufunc, axes, keepdims)`` of a sum, max or min over one axis or all of them, of
    a non-empty C-contiguous float32/float64 array, whose result has the input's dtype;
    None for any other call (those stay NumPy calls).

    >>> from chainrule.transforms.program import Call, Var
    >>> x = np.ones((4, 3), np.float32)
    >>> reduction_of(Call(np.sum, [Var(0)], {"axis": -2}, [1], False, False), [x, x.sum(0)])
    (<ufunc 'add'>, (0,), False)
    """
    if not (isinstance(op, Call) and op.effect is None and op.errstate is None and not op.unpack
            and not op.check_shape and len(op.outs) == 1 and op.args and isinstance(op.args[0], Var)
            and len(op.args) <= 2 and op.kwargs.keys() <= {"axis", "keepdims"}):
        return None
    try:
        ufunc = _REDUCING.get(op.fun)
    except TypeError:  # an unhashable callable
        return None
    x, out = values[op.args[0].id], values[op.outs[0]]
    if ufunc is None or type(x) is not np.ndarray or x.dtype not in _FLOATS or x.ndim == 0 \
            or x.size == 0 or not x.flags.c_contiguous:
        return None
    if not isinstance(out, np.ndarray | np.generic) or out.dtype != x.dtype:
        return None
    axis = op.args[1] if len(op.args) > 1 else op.kwargs.get("axis")
    keepdims = op.kwargs.get("keepdims", False)
    if type(keepdims) not in (bool, np.bool_):
        return None
    try:
        axes = range(x.ndim) if axis is None else [
            operator.index(a) for a in (axis if isinstance(axis, tuple) else (axis,))]
    except TypeError:
        return None
    if any(type(a) is bool or not -x.ndim <= a < x.ndim for a in axes):
        return None
    axes = tuple(sorted({a % x.ndim for a in axes}))
    if len(axes) not in (1, x.ndim):
        return None
    kept = tuple(1 if d in axes else n for d, n in enumerate(x.shape) if keepdims or d not in axes)
    if np.shape(out) != kept:
        return None
    if ufunc is np.add and _run_length(x.shape, axes) > PAIRWISE_BLOCK:
        return None
    return ufunc, axes, bool(keepdims)


def _run_length(shape: tuple, axes: tuple) -> int:
    """The length of the contiguous runs that NumPy reduces pairwise (0: none, each
    output element is accumulated in order along the axis)."""
    if len(axes) == len(shape):
        return int(np.prod(shape))
    (axis,) = axes
    return shape[axis] if int(np.prod(shape[axis + 1:])) == 1 else 0


def plan_reductions(ops: list, values: list, out_templates: list, groups: list) -> list:
    """The reductions that end a chain: ``(chain, position of the reduction, keep)``,
    ``chain`` the positions of the elementwise calls (a group of :func:`plan_groups`, or
    a single elementwise call) whose last result the reduction reads, ``keep`` whether
    that result is read elsewhere too (the fused loop then also writes it).

    The fused loop runs where the chain's last call was, so no call between that one and
    the reduction may write memory; a result that Python reads (a guard) is never fused.
    """
    escaped = {t.id for t in out_templates if isinstance(t, Var)}
    exact = _exact_vars(ops)
    readers: dict[int, list] = {}
    made_at: dict[int, int] = {}
    for k, op in enumerate(ops):
        for v in (op.var,) if isinstance(op, Guard) else _inputs(op):
            readers.setdefault(v, []).append(k)
        if isinstance(op, Call):
            for v in op.outs:
                made_at[v] = k
    chain_at = {g[-1]: g for g in groups}
    inner = {k for g in groups for k in g[:-1]}
    writes = [k for k, op in enumerate(ops) if isinstance(op, Call) and op.effect == "write"]
    planned, used = [], set()
    for r, op in enumerate(ops):
        if reduction_of(op, values) is None or op.outs[0] in exact:
            continue
        v = op.args[0].id
        k = made_at.get(v)
        if k is None or k in used or k in inner or v in exact or any(k < w < r for w in writes):
            continue
        chain = chain_at.get(k) or ([k] if _loop_types(ops[k], values) is not None else None)
        if (chain is None or not _contiguous_operands(ops, chain, values)
                or silent(op.errstate) != silent(ops[chain[0]].errstate)):
            continue
        used.add(k)
        keep = v in escaped or any(q != r for q in readers[v])
        planned.append((chain, r, keep))
    return planned


def _contiguous_operands(ops: list, chain: list, values: list) -> bool:
    """Whether every array the chain reads is C-contiguous (the fused loop is compiled
    for that layout; a program's values keep the layout they were traced with)."""
    inside = {ops[k].outs[0] for k in chain}
    for k in chain:
        for a in ops[k].args:
            x = values[a.id] if isinstance(a, Var) and a.id not in inside else a
            if isinstance(x, np.ndarray) and x.ndim and not x.flags.c_contiguous:
                return False
    return values[ops[chain[-1]].outs[0]].flags.c_contiguous


def _array_type(x) -> str:
    if x.ndim == 0:
        return _NUMBA_TYPES[x.dtype]
    return f"{_NUMBA_TYPES[x.dtype]}[{', '.join([':'] * (x.ndim - 1) + ['::1'])}]"


def reduction_kernel_source(ops: list, chain: list, reduction: int, keep: bool, values: list,
                            name: str) -> tuple[str, str, str, list, bool]:
    """``(signature, layout, source, inputs, quiet)`` of the generalized ufunc (a Numba
    ``guvectorize`` kernel, every dimension a core dimension) that computes ``chain``
    and its reduction ``ops[reduction]`` in one loop nest: outputs the chain's result
    (when ``keep``) and the reduction without kept dimensions.

    The reduction adds in NumPy's order, so its result is the unfused one's given the
    same elements: 0 plus, along an axis that is not the last of the elements in
    memory, each element in turn; over a contiguous run of at most
    :data:`PAIRWISE_BLOCK` elements, eight partial sums (elements ``j``, ``j + 8``, ...)
    added as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the last
    ``n % 8`` elements in turn. ``maximum`` and ``minimum`` keep the later of equal
    values and the first NaN, as NumPy's reduction does.
    """
    ufunc, axes, _keepdims = reduction_of(ops[reduction], values)
    shape = values[ops[chain[-1]].outs[0]].shape
    rank = len(shape)
    dtype = values[ops[chain[-1]].outs[0]].dtype
    T = f"np.{dtype.name}"
    _, inputs, quiet = _chain_lines(ops, chain, values, lambda i: f"a{i}")
    quiet = quiet or ufunc is not np.add
    arrays = [values[a.id] if isinstance(a, Var) else a for a in inputs]
    kept_dims = [d for d in range(rank) if d not in axes]
    # core dimensions named by their size (the loops below are compiled for these sizes,
    # which are those of the program's values on every replay)
    letters, types = [], []
    for x in arrays:
        letters.append(f"({','.join(f'n{n}' for n in np.shape(x))})")
        types.append(_array_type(x) if isinstance(x, np.ndarray) else _NUMBA_TYPES[x.dtype])
    outs = []
    if keep:
        outs.append(f"({','.join(f'n{n}' for n in shape)})")
        types.append(_array_type(values[ops[chain[-1]].outs[0]]))
    outs.append(f"({','.join(f'n{shape[d]}' for d in kept_dims)})")
    types.append(f"{_NUMBA_TYPES[dtype]}[{', '.join([':'] * max(len(kept_dims) - 1, 0) + ['::1'])}]")
    signature = f"void({', '.join(types)})"
    layout = f"{','.join(letters)}->{','.join(outs)}"

    def index(x, idx: list) -> str:
        offset = rank - np.ndim(x)
        parts = [idx[d + offset] if n == shape[d + offset] else "0"
                 for d, n in enumerate(np.shape(x))]
        return f"[{', '.join(parts)}]"

    def element(idx: list, indent: str, suffix: str = "") -> tuple[list, str]:
        def operand(i):
            x = arrays[i]
            return f"a{i}{index(x, idx)}" if isinstance(x, np.ndarray) and x.ndim else f"a{i}"
        lines, _, _ = _chain_lines(ops, chain, values, operand, indent, suffix)
        last = f"t{len(chain) - 1}{suffix}"
        if keep:
            lines.append(f"{indent}o[{', '.join(idx)}] = {last}")
        return lines, last

    def better(acc: str, t: str) -> str:  # the reduction of two values, NumPy's way
        compare = ">" if ufunc is np.maximum else "<"
        return f"{acc} if ({acc} {compare} {t} or np.isnan({acc})) else {t}"

    run = _run_length(shape, axes)
    # the output element: dimensions after a reduced run have size 1
    out_idx = ", ".join(f"i{d}" if run == 0 or d < axes[0] else "0" for d in kept_dims) or "0"
    args = [f"a{i}" for i in range(len(inputs))] + (["o"] if keep else []) + ["s"]
    src = [f"def {name}({', '.join(args)}):"]
    if run == 0:
        # each output element accumulated along the axis, in order: loops in memory order,
        # the first step along the axis assigns
        (axis,) = axes
        for d in range(axis):
            src.append(f"{'    ' * (d + 1)}for i{d} in range({shape[d]}):")
        ind = "    " * (axis + 1)
        src.append(f"{ind}for i{axis} in range({shape[axis]}):")
        for first in (True, False):
            src.append(f"{ind}    {'if' if first else 'else'}{f' i{axis} == 0' if first else ''}:")
            for d in range(axis + 1, rank):
                src.append(f"{'    ' * (d + 2)}for i{d} in range({shape[d]}):")
            inner = "    " * (rank + 2)
            lines, t = element([f"i{d}" for d in range(rank)], inner)
            src += lines
            if ufunc is np.add:
                src.append(f"{inner}s[{out_idx}] = {T}(0.0) + {t}" if first else
                           f"{inner}s[{out_idx}] = s[{out_idx}] + {t}")
            else:
                src.append(f"{inner}s[{out_idx}] = {t}" if first else
                           f"{inner}acc = s[{out_idx}]\n{inner}s[{out_idx}] = {better('acc', t)}")
    else:
        # contiguous runs of `run` elements (one per output element): loops over the
        # kept dimensions before the axis, then along the run
        if len(axes) == rank:
            outer, strides = [], [int(np.prod(shape[d + 1:])) for d in range(rank)]

            def at(p):
                return [f"(({p}) // {strides[d]}) % {shape[d]}" if rank > 1 else p
                        for d in range(rank)]
        else:
            (axis,) = axes
            outer = list(range(axis))

            def at(p):
                return [f"i{d}" if d < axis else (p if d == axis else "0") for d in range(rank)]
        for depth, d in enumerate(outer):
            src.append(f"{'    ' * (depth + 1)}for i{d} in range({shape[d]}):")
        ind = "    " * (len(outer) + 1)
        if ufunc is not np.add:
            lines, t = element(at("0"), ind)
            src += lines
            src.append(f"{ind}acc = {t}")
            src.append(f"{ind}for p in range(1, {run}):")
            lines, t = element(at("p"), ind + "    ")
            src += lines
            src.append(f"{ind}    acc = {better('acc', t)}")
            src.append(f"{ind}s[{out_idx}] = acc")
        elif run < 8:
            src.append(f"{ind}acc = {T}(0.0)")
            src.append(f"{ind}for p in range({run}):")
            lines, t = element(at("p"), ind + "    ")
            src += lines
            src.append(f"{ind}    acc = acc + {t}")
            src.append(f"{ind}s[{out_idx}] = acc")
        else:
            blocks = run - run % 8
            src.append(f"{ind}r0 = r1 = r2 = r3 = r4 = r5 = r6 = r7 = {T}(-0.0)")
            src.append(f"{ind}for p in range(0, {blocks}, 8):")
            for j in range(8):
                lines, t = element(at(f"p + {j}"), ind + "    ", f"_{j}")
                src += lines
                src.append(f"{ind}    r{j} = r{j} + {t}")
            src.append(f"{ind}acc = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))")
            if blocks < run:
                src.append(f"{ind}for p in range({blocks}, {run}):")
                lines, t = element(at("p"), ind + "    ")
                src += lines
                src.append(f"{ind}    acc = acc + {t}")
            src.append(f"{ind}s[{out_idx}] = {T}(0.0) + acc")
    return signature, layout, "\n".join(src) + "\n", inputs, quiet
