"""The table of operations of the PyTorch fuzzer (tests/test_torch_fuzz.py): each entry
draws its arguments from the program `p` drawn so far (a `Program` there) for one of its
Tensors `v` (a `Var`), and returns one line of PyTorch code that assigns OUT, e.g.
``unary(p, v)`` gives ``"OUT = T.tanh(v1)"``. Where PyTorch and chainrule differ on
purpose, or PyTorch's kernels round in a way of their own, the entry steers around it and
says why."""

import math

import torch
from hypothesis import strategies as st

inf, nan = math.inf, math.nan
SCALARS = [2.0, 0.5, -1.0, 0.0, -0.0, 3, -2, inf, nan, 1e200]

UNARY = ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "abs", "neg", "sign", "floor", "ceil",
         "round", "trunc", "log1p", "expm1", "rsqrt", "reciprocal", "erf", "relu", "square", "asin",
         "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "log2", "log10", "frac", "exp2",
         "sgn", "nan_to_num", "isnan", "isinf", "isfinite", "signbit", "deg2rad", "tan", "sinc", "erfc",
         "erfinv", "lgamma", "digamma", "i0", "rad2deg", "positive", "fix", "logit"]
# Left out, where chainrule's derivative differs from PyTorch's on purpose: hypot at (0, 0),
# 0 for chainrule (docs/autograd.md, "At the tip of a cone"), NaN for PyTorch; atan2 at
# (0, 0), NaN for chainrule ("no finite choice", docs/engine.md), 0 for PyTorch. And xlogy:
# PyTorch's derivative in x is 0 wherever x is 0 (it differentiates xlogy(x != 0, y)), not log(y).
BINARY = ["add", "sub", "mul", "div", "pow", "remainder", "fmod", "maximum", "minimum", "fmax",
          "fmin", "copysign", "logaddexp", "lt", "le", "gt", "ge", "eq", "ne"]
OPERATORS = ["+", "-", "*", "/", "**", "%", "<", "<=", ">", ">=", "==", "!="]


def unary(p, v):
    f = p.draw(st.sampled_from(UNARY))
    if p.draw(st.booleans()):
        return f"OUT = T.{f}({v.name})"
    if f == "neg" and p.draw(st.booleans()):
        return f"OUT = -{v.name}"
    if f == "abs" and p.draw(st.booleans()):
        return f"OUT = abs({v.name})"
    return f"OUT = {v.name}.{f}()"


def binary(p, v):
    f = p.draw(st.sampled_from(BINARY))
    other = p.partner(v) if p.draw(st.integers(0, 3)) else p.scalar()
    if f == "div" and p.draw(st.booleans()):
        mode = p.draw(st.sampled_from(["floor", "trunc"]))
        return f"OUT = T.div({v.name}, {other}, rounding_mode={mode!r})"
    if f == "pow" and p.zero_base(v.name, other):
        f = "mul"
    if other[0] != "v" and f in ("logaddexp", "copysign", "fmax", "fmin", "maximum", "minimum"):
        other = p.partner(v)  # these take Tensors only in PyTorch
    if f == "logaddexp" and (p.huge(v.name) or p.huge(other)):
        f = "add"  # PyTorch's logaddexp gives inf for finite arguments near 1e200 when one broadcasts
    # PyTorch's maximum and minimum of -0.0 and 0.0 give either, by the length of the Tensor
    # (its vector path); `+ 0.0` makes the zeros positive in both libraries
    tie = " + 0.0" if f in ("maximum", "minimum", "fmax", "fmin") else ""
    if p.draw(st.booleans()):
        return f"OUT = T.{f}({v.name}, {other}){tie}"
    return f"OUT = {v.name}.{f}({other}){tie}"


def operator(p, v):
    op = p.draw(st.sampled_from(OPERATORS))
    other = p.partner(v) if p.draw(st.booleans()) else p.scalar()
    if p.draw(st.booleans()):
        if op == "**" and p.zero_base(v.name, other):
            op = "*"
        return f"OUT = {v.name} {op} {other}"
    if op == "**" and p.zero_base(other, v.name):
        op = "*"  # see power: the derivative of 0 ** y in y
    return f"OUT = {other} {op} {v.name}"


def power(p, v):
    # no exponent 0: PyTorch's derivative of x ** 0 is 0 even for an infinite cotangent,
    # chainrule's 0 times it (NaN); the constant 1 is no program worth drawing anyway
    e = p.draw(st.sampled_from([2, 3, 0.5, -1, 2.5, -0.5, 1, -2]))
    x = p.ns[torch][v.name]
    if e in (0.5, -0.5) and bool(((x == -inf) | ((x == 0) & x.signbit())).any()):
        e = 2  # PyTorch takes x ** ±0.5 as (1 /) sqrt(x): NaN at -inf, ±0 at -0.0, unlike C's pow
    # a base of 0 left out: PyTorch's derivative of 0 ** y in y is -inf for y < 0 (inf * log 0),
    # chainrule's NaN (docs/engine.md takes log of the base as 0 there, for y > 0)
    base = p.draw(st.sampled_from([s for s in SCALARS if s != 0]))
    return p.draw(st.sampled_from([f"OUT = {v.name} ** {e}", f"OUT = {v.name}.pow({e})",
                                   f"OUT = T.pow({base!r}, {v.name})"]))


def clamp(p, v):
    bound = st.sampled_from([None, -1.0, 0.0, 0.5, 2.0, -inf, nan])
    lo, hi = p.draw(bound), p.draw(bound)
    if p.draw(st.integers(0, 3)) == 0:
        # Tensor bounds both (or one and None): PyTorch refuses a number with a Tensor, which
        # chainrule accepts
        lo, hi = p.partner(v), p.draw(st.sampled_from([None, p.partner(v)]))
    # With Tensor bounds PyTorch's result at a tie of 0.0 and -0.0 is the bound's zero (with
    # number bounds, x's, as chainrule's): `+ 0.0` makes the zeros positive in both
    tie = " + 0.0" if isinstance(lo, str) else ""
    how = p.draw(st.sampled_from(["method", "function", "min", "max"]))
    if how == "min":
        return f"OUT = {v.name}.clamp_min({lo if lo is not None else 0.0}){tie}"
    if how == "max":
        return f"OUT = T.clamp_max({v.name}, {hi if hi is not None else 0.0}){tie}"
    if how == "function":
        return f"OUT = T.clamp({v.name}, {lo}, {hi}){tie}"
    return f"OUT = {v.name}.clamp(min={lo}, max={hi}){tie}"


def where(p, v):
    other = p.partner(v) if p.draw(st.booleans()) else p.scalar()
    return f"OUT = T.where({p.mask(v)}, {v.name}, {other})"


def masked_fill(p, v):
    return f"OUT = {v.name}.masked_fill({p.mask(v)}, {p.scalar()})"


def reduction(p, v):
    f = p.draw(st.sampled_from(["sum", "mean", "amax", "amin", "logsumexp", "nansum"]))
    d, keep = p.dims(v), p.draw(st.booleans())
    # PyTorch's extreme of -0.0 and 0.0 is either, by its reduction order: `+ 0.0` (see binary)
    tie = " + 0.0" if f in ("amax", "amin") else ""
    if f in ("sum", "mean", "nansum"):  # PyTorch sums in an order of its own
        v = next(u for u in p.vars if u.name == p.finite(v, allow_nan=True))
    if f == "logsumexp" and p.huge(v.name):
        # PyTorch's derivative where a slice holds inf is 0 at its finite entries; chainrule's,
        # NaN over the slice (it shifts by the maximum, which is inf there). And where the
        # maximum is so large that adding log(count) leaves it as it is, PyTorch's derivative,
        # exp(x - result), is 1 at every tie of the maximum; chainrule's shares 1 among them
        p.fresh(v.shape, finite=True)
        v = p.vars[-1]
    if d is None and f != "logsumexp":
        return p.draw(st.sampled_from([f"OUT = {v.name}.{f}(){tie}", f"OUT = T.{f}({v.name}){tie}"]))
    if d is None:
        d = tuple(range(v.ndim))
    return f"OUT = T.{f}({v.name}, {d}, keepdim={keep}){tie}" if p.draw(st.booleans()) else \
        f"OUT = {v.name}.{f}(dim={d}, keepdim={keep}){tie}"


def one_dim_reduction(p, v):
    f = p.draw(st.sampled_from(["prod", "max", "min", "argmax", "argmin", "cumsum", "cumprod", "softmax",
                                "log_softmax", "sort", "median"]))
    d = p.dim(v, allow_none=f in ("prod", "max", "min", "argmax", "argmin", "median"))
    if f == "prod":
        # PyTorch's derivative of a product divides it by the entry (inf / inf = NaN, and
        # inf / 1e200 = inf where the product overflows); chainrule's is the product of the others
        v = next(u for u in p.vars if u.name == p.finite(v))
    if d is None:
        return f"OUT = {v.name}.{f}()" + (" + 0.0" if f in ("max", "min") else "")
    if f in ("cumsum", "cumprod", "softmax", "log_softmax"):
        return p.draw(st.sampled_from([f"OUT = T.{f}({v.name}, {d})", f"OUT = {v.name}.{f}(dim={d})"]))
    if f == "sort":
        return f"OUT = T.sort({v.name}, dim={d}, descending={p.draw(st.booleans())}, stable=True)"
    return f"OUT = {v.name}.{f}({d}, keepdim={p.draw(st.booleans())})"


def statistics(p, v):
    f = p.draw(st.sampled_from(["std", "var"]))
    d, keep = p.dims(v), p.draw(st.booleans())
    c = p.draw(st.sampled_from([0, 1, 2]))
    dims = range(v.ndim) if d is None else d if isinstance(d, tuple) else (d,)
    if c >= math.prod(v.shape[k] for k in dims if -v.ndim <= k < v.ndim):
        # no more elements than the correction: PyTorch's value divides by 0 (NaN), its
        # derivative by the count less the correction (±inf or a number, by sign); chainrule's
        # derivative is NaN there
        c = 0
    if p.draw(st.booleans()):
        return f"OUT = T.{f}({v.name}, dim={d}, correction={c}, keepdim={keep})"
    if d is None:
        return f"OUT = {v.name}.{f}()" if c == 1 else f"OUT = T.{f}({v.name}, correction={c})"
    return f"OUT = {v.name}.{f}({d}, unbiased={bool(c)}, keepdim={keep})"


def norm(p, v):
    order = p.draw(st.sampled_from([2, 1, inf, 0.5, 3, "'fro'"]))
    x = p.ns[torch][v.name].abs()
    if bool((x > 1e100).any() or ((x > 0) & (x < 1e-100)).any() or x.isnan().any()):
        # PyTorch's norms square (cube...) the entries as they are: 1e200 gives inf and
        # [1e-170, 3e-170] gives 0 (derivative 0); chainrule scales by the largest entry.
        # And PyTorch's derivative at a NaN entry is 0 or NaN, by the weights of the sum.
        p.fresh(v.shape, finite=True)
        v = p.vars[-1]
    d, keep = p.dims(v), p.draw(st.booleans())
    if d is None:
        return f"OUT = {v.name}.norm()" if order == 2 else f"OUT = T.norm({v.name}, p={order})"
    return f"OUT = {v.name}.norm(p={order}, dim={d}, keepdim={keep})"


def reshape(p, v):
    n = math.prod(v.shape)
    factors = [d for d in range(1, n + 1) if n % d == 0] or [0, 1]
    out, left = [], n
    for _ in range(p.draw(st.integers(0, 3))):
        f = p.draw(st.sampled_from(factors))
        if f and left % f == 0:
            out.append(f)
            left //= f
        else:
            out.append(f)
    out.append(left if p.draw(st.integers(0, 5)) else left + 1)
    if p.draw(st.booleans()):
        out[p.draw(st.integers(0, len(out) - 1))] = -1
    f = p.draw(st.sampled_from(["reshape", "view"]))
    return f"OUT = {v.name}.{f}({tuple(out)})" if out != [1] or n == 1 else f"OUT = {v.name}.{f}(-1)"


def transpose(p, v):
    how = p.draw(st.sampled_from(["transpose", "permute", "t", "mT", "flatten"]))
    if how == "transpose":
        return f"OUT = {v.name}.transpose({p.dim(v)}, {p.dim(v)})"
    if how == "permute":
        perm = p.draw(st.permutations(range(v.ndim)))
        return f"OUT = {v.name}.permute({tuple(perm)})" if perm else f"OUT = {v.name}.permute(())"
    if how in ("t", "mT"):
        return f"OUT = {v.name}.t()"
    if how == "mT" and v.ndim >= 2:  # PyTorch deprecates mT of fewer dimensions (the identity on 0-d)
        return f"OUT = {v.name}.mT"
    return f"OUT = T.flatten({v.name}, {p.dim(v)}, {p.dim(v)})"


def squeeze(p, v):
    how = p.draw(st.sampled_from(["unsqueeze", "squeeze", "squeeze_all"]))
    if how == "unsqueeze":
        return f"OUT = {v.name}.unsqueeze({p.draw(st.integers(-v.ndim - 1, v.ndim))})"
    if how == "squeeze":
        return f"OUT = {v.name}.squeeze({p.dim(v)})"
    return f"OUT = T.squeeze({v.name})"


def expand(p, v):
    lead = [p.draw(st.sampled_from([2, 1, 0])) for _ in range(p.draw(st.integers(0, 2)))]
    if p.draw(st.booleans()):
        rest = [p.draw(st.sampled_from([s, -1] if s != 1 else [1, 2, 3, -1])) for s in v.shape]
        return f"OUT = {v.name}.expand({tuple(lead + rest)})"
    reps = lead + [p.draw(st.sampled_from([1, 2, 0])) for _ in v.shape]
    return f"OUT = {v.name}.repeat({tuple(reps)})"


def flip_roll(p, v):
    how = p.draw(st.sampled_from(["flip", "roll", "roll_flat", "narrow"]))
    if how == "flip":
        dims = tuple(p.draw(st.lists(st.integers(-v.ndim, max(v.ndim - 1, 0)), max_size=2)))
        return f"OUT = T.flip({v.name}, {dims})"
    if how == "roll" and math.prod(v.shape):  # PyTorch checks no dim when it rolls an empty Tensor
        return f"OUT = {v.name}.roll({p.draw(st.integers(-3, 3))}, {p.dim(v)})"
    if how == "roll_flat":
        return f"OUT = T.roll({v.name}, {p.draw(st.integers(-3, 3))})"
    d = p.dim(v)
    return f"OUT = {v.name}.narrow({d}, {p.draw(st.integers(-2, 2))}, {p.draw(st.integers(0, 2))})"


def split(p, v):
    d = p.dim(v)
    if p.draw(st.booleans()):
        return f"OUT = {v.name}.chunk({p.draw(st.integers(1, 3))}, {d})"
    return f"OUT = T.split({v.name}, {p.draw(st.integers(1, 2))}, {d})"


def cat_stack(p, v):
    f = p.draw(st.sampled_from(["cat", "stack", "concat"]))
    d = p.dim(v) if f != "stack" else p.draw(st.integers(-v.ndim - 1, v.ndim + 1))
    shape = list(v.shape)
    if f != "stack" and v.ndim and p.draw(st.booleans()):
        shape[d % v.ndim if -v.ndim <= d < v.ndim else 0] = p.draw(st.sampled_from([0, 1, 2]))
    other = p.fresh(tuple(shape) if p.draw(st.integers(0, 5)) else p.shape())
    return f"OUT = T.{f}([{v.name}, {other}], {d})" if p.draw(st.booleans()) else \
        f"OUT = T.{f}(({other}, {v.name}), dim={d})"


def gather(p, v):
    d = p.dim(v)
    size = v.shape[d] if -v.ndim <= d < v.ndim else 1
    if p.draw(st.booleans()):
        index = p.index_tensor((p.draw(st.integers(0, 3)),), size)
        return f"OUT = T.index_select({v.name}, {d}, {index})"
    shape = tuple(p.draw(st.integers(0, s)) if i != (d % max(v.ndim, 1)) else p.draw(st.integers(0, 3))
                  for i, s in enumerate(v.shape))
    return f"OUT = {v.name}.gather({d}, {p.index_tensor(shape, size)})"


def index_item(p, s, write=False, empty=False):
    if empty:  # PyTorch checks no list or Tensor index against an empty Tensor's sizes
        how = p.draw(st.sampled_from(["int", "slice", "none"]))
    elif write:  # no None: it would shift the later items onto other dimensions
        how = p.draw(st.sampled_from(["int", "slice", "slice", "unique"]))
    else:
        how = p.draw(st.sampled_from(["int", "slice", "slice", "list", "none", "tensor"]))
    if how == "int":
        return str(p.draw(st.integers(-s - 1, s)))
    if how == "slice":
        # negative steps are left out: PyTorch refuses them ("step must be greater than zero")
        # where chainrule accepts them as NumPy does
        start, stop = p.draw(st.sampled_from([None, 0, 1, -1, -2])), p.draw(st.sampled_from([None, 1, 2, -1, 5]))
        step = p.draw(st.sampled_from([None, 1, 2]))
        return f"{'' if start is None else start}:{'' if stop is None else stop}" + \
            ("" if step is None else f":{step}")
    if how == "list":
        return repr(p.draw(st.lists(st.integers(-s, max(s - 1, 0)), min_size=1, max_size=3)))
    if how == "unique":
        # an assignment through a list that names one element twice: PyTorch's derivative in
        # the value counts it twice, though only one of the writes is kept; chainrule's, once
        return repr(p.draw(st.lists(st.integers(0, max(s - 1, 0)), min_size=1, max_size=3, unique=True)))
    if how == "tensor":
        return p.index_tensor((p.draw(st.integers(0, 2)),), s)
    return "None"


def indexing(p, v):
    if p.draw(st.integers(0, 4)) == 0:
        return f"OUT = {v.name}[{p.mask(v)}]"
    empty = math.prod(v.shape) == 0
    items = [index_item(p, s, empty=empty) for s in v.shape[:p.draw(st.integers(0, v.ndim))]]
    if p.draw(st.integers(0, 3)) == 0:
        items.insert(p.draw(st.integers(0, len(items))), "...")
    return f"OUT = {v.name}[{', '.join(items) or '...'}]"


def setitem(p, v):
    empty = math.prod(v.shape) == 0
    items = [index_item(p, s, write=True, empty=empty) for s in v.shape[:p.draw(st.integers(0, v.ndim))]]
    key = ", ".join(items) or "..."
    if p.draw(st.integers(0, 3)) == 0:
        key = p.mask(v)
    value = p.scalar() if p.draw(st.booleans()) else p.fresh(p.shape() if p.draw(st.booleans()) else ())
    target = v.name if v.kind == "f" and not v.leaf and p.draw(st.integers(0, 3)) == 0 else f"{v.name}.clone()"
    return f"OUT = {target}; OUT[{key}] = {value}"


def inplace(p, v):
    f = p.draw(st.sampled_from(["add_", "mul_", "sub_", "div_", "clamp_", "exp_", "masked_fill_", "pow_",
                                "neg_", "zero_", "copy_", "tanh_"]))
    if f in ("exp_", "neg_", "zero_", "tanh_"):
        arg = ""
    elif f == "clamp_":
        arg = f"min={p.draw(st.sampled_from([None, -1.0, 0.0]))}, max={p.draw(st.sampled_from([None, 1.0, 0.0]))}"
    elif f == "masked_fill_":
        arg = f"{p.mask(v)}, {p.scalar()}"
    else:
        arg = p.partner(v) if p.draw(st.booleans()) else p.scalar()
        if f == "pow_" and p.zero_base(v.name, arg):
            f = "mul_"  # see power: the derivative of 0 ** y in y
    # mostly on a clone; sometimes on the Tensor itself, where PyTorch refuses a leaf that
    # requires grad and the backward pass refuses a value it saved and then saw modified
    target = v.name if p.draw(st.integers(0, 3)) == 0 else f"{v.name}.clone()"
    return f"OUT = {target}; OUT.{f}({arg})"


def matmul(p, v):
    # Contractions sum in an order of the library's own (BLAS, einsum paths): the sign of a
    # zero sum and 0 * inf inside it are not defined by the program, so operands are finite
    # and `+ 0.0` makes every zero positive in both libraries.
    f = p.draw(st.sampled_from(["@", "matmul", "mm", "bmm", "einsum"]))
    a = p.finite(v)
    if f == "einsum":
        letters = "ijkl"[:v.ndim]
        other = [c for c in letters if p.draw(st.booleans())] + ["m"] * p.draw(st.integers(0, 1))
        shape = tuple(v.shape[letters.index(c)] if c in letters else 2 for c in other)
        if shape and not p.draw(st.integers(0, 7)):
            shape = (shape[0] + 1,) + shape[1:]
        out = [c for c in letters + "m" if c in letters + "".join(other) and p.draw(st.booleans())]
        spec = f"{letters},{''.join(other)}->{''.join(out)}"
        return f"OUT = T.einsum('{spec}', {a}, {p.fresh(shape, finite=True)}) + 0.0"
    k = v.shape[-1] if v.ndim else 2
    if not p.draw(st.integers(0, 7)):
        k += 1
    n = p.draw(st.sampled_from([1, 2, 3]))
    if f == "mm":
        shape = (k, n)
    elif f == "bmm":
        shape = (v.shape[0] if v.ndim == 3 else 2, k, n)
    else:
        shape = p.draw(st.sampled_from([(k,), (k, n), (2, k, n), (1, k, n)]))
    b = p.fresh(shape, finite=True)
    if p.draw(st.integers(0, 3)) == 0:
        a, b = b, a
    return f"OUT = {a} @ {b} + 0.0" if f == "@" else f"OUT = T.{f}({a}, {b}) + 0.0"


def bool_op(p, v):
    how = p.draw(st.sampled_from(["not", "and", "any", "sum", "float"]))
    if how == "not":
        return f"OUT = ~{v.name}"
    if how == "and":
        return f"OUT = T.logical_and({v.name}, {p.mask(v)})" if p.draw(st.booleans()) else \
            f"OUT = {v.name} | {p.mask(v)}"
    if how == "any":
        return f"OUT = {v.name}.{p.draw(st.sampled_from(['any', 'all']))}()"
    if how == "sum":
        return f"OUT = {v.name}.sum({p.dim(v, allow_none=True)})"
    return f"OUT = {v.name}.double() * {p.partner(v)}"


def triangle(p, v):
    how = p.draw(st.sampled_from(["tril", "triu", "diagonal", "trace", "diag_embed"]))
    k = p.draw(st.integers(-2, 2))
    if how in ("tril", "triu"):
        return f"OUT = {v.name}.{how}({k})" if p.draw(st.booleans()) else f"OUT = T.{how}({v.name}, diagonal={k})"
    if how == "diagonal":
        return f"OUT = {v.name}.diagonal({k}, {p.dim(v)}, {p.dim(v)})"
    if how == "trace":
        return f"OUT = {v.name}.trace()"
    return f"OUT = T.diag_embed({v.name}, {k})"


def rearrange(p, v):
    how = p.draw(st.sampled_from(["movedim", "rot90", "fliplr", "flipud", "tile", "repeat_interleave", "unbind",
                                  "take_along_dim", "swapaxes"]))
    if how == "movedim":
        return f"OUT = {v.name}.movedim({p.dim(v)}, {p.dim(v)})"
    if how == "rot90":
        dims = (p.dim(v), p.dim(v))
        return f"OUT = T.rot90({v.name}, {p.draw(st.integers(-2, 3))}, {dims})"
    if how in ("fliplr", "flipud"):
        return f"OUT = T.{how}({v.name})"
    if how == "tile":
        reps = tuple(p.draw(st.lists(st.sampled_from([1, 2, 0]), max_size=3)))
        return f"OUT = {v.name}.tile({reps})"
    if how == "repeat_interleave":
        return f"OUT = {v.name}.repeat_interleave({p.draw(st.integers(0, 2))}, {p.dim(v, allow_none=True)})"
    if how == "unbind":
        return f"OUT = {v.name}.unbind({p.dim(v)})"
    if how == "swapaxes":
        return f"OUT = {v.name}.swapaxes({p.dim(v)}, {p.dim(v)})"
    d = p.dim(v)
    size = v.shape[d] if -v.ndim <= d < v.ndim else 1
    shape = tuple(s if i != d % max(v.ndim, 1) else p.draw(st.integers(0, 2)) for i, s in enumerate(v.shape))
    return f"OUT = T.take_along_dim({v.name}, {p.index_tensor(shape, size)}, {d})"


def scan(p, v):
    f = p.draw(st.sampled_from(["cummax", "cummin", "logcumsumexp", "nanmean", "aminmax", "argsort"]))
    if f == "nanmean":
        v = next(u for u in p.vars if u.name == p.finite(v, allow_nan=True))
        return f"OUT = T.nanmean({v.name}, {p.dims(v)}, keepdim={p.draw(st.booleans())})"
    if f == "aminmax":
        # (see reduction: `+ 0.0` for the extremes of -0.0 and 0.0)
        return f"OUT = T.stack(T.aminmax({v.name}, dim={p.dim(v, allow_none=True)})) + 0.0"
    if f == "argsort":
        # (with `stable`, PyTorch takes `dim` by keyword only)
        return f"OUT = {v.name}.argsort(dim={p.dim(v)}, descending={p.draw(st.booleans())}, stable=True)"
    if f == "logcumsumexp":
        v = next(u for u in p.vars if u.name == p.finite(v, allow_nan=True))
    if f in ("cummax", "cummin") and not math.prod(v.shape):
        return f"OUT = T.{f}({v.name}, -1)"  # PyTorch checks no dim of an empty Tensor here (as roll)
    return f"OUT = T.{f}({v.name}, {p.dim(v)})"


def _moderate(p, name):
    """`name`, or where it holds inf, NaN or a magnitude beyond 1e100 or below 1e-100 (but
    not 0) a new input of its shape without them."""
    x = p.ns[torch][name].abs()
    if bool((x.isfinite() & (x <= 1e100) & ((x == 0) | (x >= 1e-100))).all()):
        return name
    return p.fresh(tuple(x.shape), finite=True)


def ternary(p, v):
    f = p.draw(st.sampled_from(["lerp", "addcmul", "addcdiv"]))
    a, b = p.partner(v), p.partner(v)
    if f == "lerp":
        return f"OUT = T.lerp({v.name}, {a}, {p.draw(st.sampled_from([0.25, 0.5, 1.5, b]))})"
    # PyTorch's kernels fuse the multiply-add (addcmul of a product that underflows is -0.0
    # where rounding each step gives 0.0) and square the divisor for addcdiv's derivative
    # (-inf where that underflows): rounding of their own. And where t1 and t2 broadcast,
    # PyTorch's derivative sums inf * weight over the copies (NaN for weights of both signs),
    # chainrule's multiplies the sum of the weights: the order, not the program, decides
    a, b = _moderate(p, a), _moderate(p, b)
    if f == "addcdiv" and bool((p.ns[torch][b] == 0).any()):
        # a divisor of 0 makes the quotient's derivative 1/0: the same order of sums over
        # copies decides (and over none, an empty result, PyTorch's 0 is chainrule's 0 * inf)
        f = "addcmul"
    return f"OUT = {v.name}.{f}({a}, {b}, value={p.draw(st.sampled_from([1.0, -0.5, 2.0]))})"


def vector_product(p, v):
    f = p.draw(st.sampled_from(["outer", "dot", "inner", "kron", "cross"]))
    a = p.finite(v)
    shape = v.shape if p.draw(st.integers(0, 3)) else p.shape()
    b = p.fresh(shape, finite=True)
    if f == "cross":
        return f"OUT = T.linalg.cross({a}, {b}) + 0.0"
    return f"OUT = T.{f}({a}, {b}) + 0.0"


def int_op(p, v):
    how = p.draw(st.sampled_from(["float", "scale", "mix"]))
    if how == "float":
        return f"OUT = {v.name}.to(T.float64)"
    if how == "scale":
        return f"OUT = {v.name} * {p.scalar()}"
    return f"OUT = {p.partner(v)} + {v.name}"


FLOAT_OPS = [unary, unary, binary, binary, operator, power, clamp, where, masked_fill, reduction,
             one_dim_reduction, statistics, norm, reshape, transpose, squeeze, expand, flip_roll, split,
             cat_stack, gather, indexing, indexing, setitem, inplace, inplace, matmul, matmul, triangle, rearrange,
             scan, ternary, vector_product]
OTHER_OPS = {"b": [bool_op, indexing], "i": [int_op]}
