"""Which calls of a recorded program fuse, and the scalar source of a fused chain (for
:mod:`chainrule.transforms.fuse` and :mod:`chainrule.transforms.fuse_reduce`)."""

from __future__ import annotations

import numpy as np

from chainrule.transforms.program import Call, Guard, Seq, Var

__all__ = ["kernel_source", "LIBM_MAX_SIZE"]

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
# logical_and and logical_or are not Python's `and`/`or`: a short circuit would let the
# compiler compute the second operand (1 / 0, say) only where it is read, and drop the
# floating-point error that NumPy reports for it.
# fmax and fmin do not fuse: NumPy's fmax(0.0, -0.0) is its first argument in its scalar
# loop and its second in its SIMD one, so the sign of a zero depends on the array's
# length (fmax of 5 zeros by 5 negative zeros gives [0, 0, 0, -0, 0]), which no
# elementwise expression reproduces; a reciprocal after it would turn that into +-inf.
_EXPRESSIONS = {
    np.add: "{0} + {1}", np.subtract: "{0} - {1}", np.multiply: "{0} * {1}",
    np.true_divide: "{0} / {1}", np.negative: "-{0}", np.square: "{0} * {0}",
    np.reciprocal: "{T}(1.0) / {0}", np.power: "{0} ** {1}", np.absolute: "abs({0})",
    np.fabs: "abs({0})",
    np.maximum: "{0} if ({0} > {1} or np.isnan({0})) else {1}",
    np.minimum: "{0} if ({0} < {1} or np.isnan({0})) else {1}",
    np.sign: "{T}(1.0) if {0} > 0 else ({T}(-1.0) if {0} < 0 else ({T}(0.0) if {0} == 0 else {0}))",
    np.greater: "{0} > {1}", np.greater_equal: "{0} >= {1}", np.less: "{0} < {1}",
    np.less_equal: "{0} <= {1}", np.equal: "{0} == {1}", np.not_equal: "{0} != {1}",
    np.logical_and: "bool({0}) & bool({1})", np.logical_or: "bool({0}) | bool({1})", np.logical_not: "not {0}",
    np.arctan2: "np.arctan2({0}, {1})", np.hypot: "np.hypot({0}, {1})",
}
for _name in ("sqrt exp exp2 expm1 log log2 log10 log1p sin cos tan arcsin arccos arctan sinh "
              "cosh tanh arcsinh arccosh arctanh floor ceil trunc rint").split():
    _EXPRESSIONS[getattr(np, _name)] = f"np.{_name}({{0}})"
# Loops that compare floating-point values: a NaN compared sets the CPU's "invalid" flag
# in compiled code where NumPy's own loops stay quiet (LLVM's vectorized compares and
# selects signal on NaN; no spelling of maximum avoids it), so these run with NumPy's
# "invalid" reports off (``_QUIET``). Division by zero, overflow and underflow are flags
# that no comparison sets: they are reported as NumPy reports them.
_COMPARING = {np.maximum, np.minimum, np.sign, np.greater, np.greater_equal,
              np.less, np.less_equal, np.equal, np.not_equal}
_QUIET = {"invalid": "ignore"}
# A call recorded with every floating-point error ignored (the eager layer's calls on
# eager Tensors, as PyTorch computes them: silently) fuses with calls alike only, into a
# kernel that runs so too.
_SILENT = {"divide": "ignore", "over": "ignore", "under": "ignore", "invalid": "ignore"}


def silent(errstate: dict | None) -> bool:
    """Whether a call recorded under ``errstate`` ignores every floating-point error."""
    return errstate is not None and all(v == "ignore" for v in errstate.values())
# Functions that compile to a call of the C library per element: NumPy's own SIMD loops
# for them are 5-100x faster per element (tanh of 4096 float32: 1.2 us against 114 us
# here), so they fuse only on arrays small enough that the call they save (about 1 us)
# outweighs that. Arithmetic, comparisons and sqrt are single instructions and fuse at
# any size; so does ``power`` by a constant -1, 0, 0.5, 1 or 2, which is such an
# instruction (``_POWER_BY``).
_LIBM = {np.power, np.arctan2, np.hypot} | {
    getattr(np, n) for n in ("exp exp2 expm1 log log2 log10 log1p sin cos tan arcsin arccos "
                             "arctan sinh cosh tanh arcsinh arccosh arctanh").split()}
LIBM_MAX_SIZE = 128
# NumPy's power loop, given an exponent that is one value for the whole loop (a scalar:
# stride 0), computes 1/x, 1, sqrt(x), x or x*x for an exponent of -1, 0, 0.5, 1 or 2
# (in the loop's type) instead of pow: sqrt(-0.0) is -0.0 and sqrt(-inf) NaN where pow
# gives 0.0 and inf. A fused power by a constant does the same. One whose exponent is an
# array stays a NumPy call: whether NumPy's loop sees that exponent with stride 0 depends
# on how it iterates broadcast operands (power(x, e) of a (2, 3) x and a (2, 1) e calls pow).
_POWER_BY = {-1.0: "{T}(1.0) / {0}", 0.0: "{T}(1.0)", 0.5: "np.sqrt({0})", 1.0: "{0}", 2.0: "{0} * {0}"}


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
    if not (isinstance(op, Call) and op.effect is None and (op.errstate is None or silent(op.errstate))
            and not op.kwargs
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
    if fun is np.power and isinstance(op.args[1], Var | np.ndarray):
        return None
    if fun in _LIBM and out.size > LIBM_MAX_SIZE and not (
            fun is np.power and _power_expression(op.args[1], loop[1]) in _POWER_BY.values()):
        return None
    if any(t not in _FLOATS and t != _BOOL for t in loop):
        return None
    return loop


def _power_expression(exponent, dtype: np.dtype) -> str:
    """The scalar code of ``power`` by the constant ``exponent`` in a loop of ``dtype``:
    NumPy's fast path where the exponent, cast to that type, is one it takes.

    >>> _power_expression(0.5, np.dtype(np.float64))
    'np.sqrt({0})'
    """
    try:
        with np.errstate(all="ignore"):
            value = float(dtype.type(exponent))
    except OverflowError:  # a Python int beyond the type's range: NumPy's pow then
        return _EXPRESSIONS[np.power]
    return _POWER_BY.get(value, _EXPRESSIONS[np.power])


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


def _chain_lines(ops: list, group: list[int], values: list, operand, indent: str = "    ",
                 suffix: str = "") -> tuple[list, list, bool]:
    """``(lines, inputs, quiet)``: the statements computing each call of ``group`` (in its
    NumPy loop's types, operands cast as NumPy casts them, so a float32 chain stays
    float32) into ``t0{suffix}``, ``t1{suffix}``, ...; the templates its inputs are read
    from (variables and array constants, in order; input ``i`` is written
    ``operand(i)``); and whether it compares floating-point values."""
    # inner values are named by their place in the group, so that identical groups (the
    # layers of a deep network) have identical source and compile once
    inner = {ops[k].outs[0]: f"t{i}{suffix}" for i, k in enumerate(group)}
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
                    arg_of[key] = len(inputs)
                    inputs.append(a)
                name_ = operand(arg_of[key])
                have = values[a.id].dtype if isinstance(a, Var) else a.dtype
            else:
                operands.append(_literal(a, dtype))
                continue
            operands.append(name_ if have == dtype else f"np.{dtype.name}({name_})")
        out_type = loop[-1]
        form = _power_expression(op.args[1], loop[1]) if op.fun is np.power else _EXPRESSIONS[op.fun]
        expr = form.format(*operands, T=f"np.{out_type.name}")
        quiet = quiet or op.fun in _COMPARING
        if out_type == _FLOAT64 and all(t == _FLOAT64 for t in loop):
            # float64 in, float64 out: Numba's result already is (fewer casts compile faster)
            lines.append(f"{indent}{inner[op.outs[0]]} = {expr}")
        else:
            cast = "bool" if out_type == _BOOL else f"np.{out_type.name}"
            lines.append(f"{indent}{inner[op.outs[0]]} = {cast}({expr})")
    return lines, inputs, quiet


def kernel_source(ops: list, group: list[int], values: list, name: str) -> tuple[str, list, bool]:
    """``(source, inputs, quiet)`` of one group: the body of a scalar function ``name``,
    the templates its arguments are read from (variables and array constants, in order),
    and whether it compares floating-point values (it then runs with error reports off).

    The function computes each call of the group in its NumPy loop's types, operands
    cast as NumPy casts them, so a float32 chain stays float32.
    """
    lines, inputs, quiet = _chain_lines(ops, group, values, lambda i: f"a{i}")
    lines.append(f"    return t{len(group) - 1}")
    source = f"def {name}({', '.join(f'a{i}' for i in range(len(inputs)))}):\n" + "\n".join(lines)
    return source + "\n", inputs, quiet


def _signature(ops: list, group: list[int], values: list, inputs: list) -> str:
    def numba_type(x):
        return _NUMBA_TYPES[values[x.id].dtype if isinstance(x, Var) else x.dtype]
    out = values[ops[group[-1]].outs[0]]
    return f"{_NUMBA_TYPES[out.dtype]}({', '.join(numba_type(x) for x in inputs)})"
