"""Products: dot, matmul, tensordot, einsum and their kin.

All of them are linear in each argument, so every jvp is the product itself with the
tangent in place of that argument (``def_linear``), and every vjp is another product of
the cotangent with the other arguments. Complex numbers follow the JAX / HIPS autograd
convention: cotangents are pulled back through the transpose, not the conjugate
transpose, of each linear map.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

import chainrule.numpy as cnp
from chainrule.core.primitive import (
    Primitive,
    RulesByArgument,
    as_array_if_holds_tensor,
    def_batch,
    def_jvps,
    def_linear,
    def_vjps,
    holds_tensor,
    keeps_only,
)
from chainrule.core.tensor import Tensor
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import is_complex, shape_of, unbroadcast
from chainrule.numpy.einsum_subscripts import LETTERS, parse_einsum
from chainrule.numpy.elementwise import loop_inputs, out_refused, ufunc_keywords
from chainrule.numpy.registry import mirrors, optional, wrap

__all__ = [
    "matmul",
    "dot",
    "vdot",
    "inner",
    "outer",
    "tensordot",
    "einsum",
    "kron",
    "cross",
    "vecdot",
]
# matvec and vecmat came with NumPy 2.2; where NumPy has them, so does chainrule
__all__ += [name for name in ("matvec", "vecmat") if hasattr(np, name)]


def product(np_fun, name=None, public=True):
    return wrap(np_fun, "products", name, public=public)


# jax.numpy's products also take precision= (how an accelerator rounds float32 operands)
# and preferred_element_type= (the result's dtype). NumPy multiplies in the operands' own
# precision, so precision= changes nothing; the result is cast to the type asked for.
JAX_KEYWORDS = ("precision", "preferred_element_type")


def taking_jax_keywords(prim: Primitive) -> Primitive:
    """``prim`` (a product) called with jax.numpy's keywords as well as NumPy's."""

    def keywords(prim, args, kwargs):
        rest = {k: v for k, v in kwargs.items() if k not in JAX_KEYWORDS}
        traces = [a._trace for a in args if isinstance(a, Tensor)]
        if isinstance(prim.fun, np.ufunc) and kwargs.get("out") is not None and any_tensor((*args, kwargs["out"])):
            # np.matmul(a, b, out=t), as the other ufuncs: under chainrule.jit NumPy's write,
            # recorded; else refused (NumPy's own call, given a Tensor, would hand it back
            # here without end)
            return ufunc_keywords(prim, args, rest)
        if len(rest) == len(kwargs):  # NumPy's keywords alone: the primitive's own path
            return max(traces, key=lambda t: t.level).process(prim, args, kwargs) if traces else prim.fun(
                *args, **kwargs)
        out = prim(*args, **rest)
        dtype = kwargs.get("preferred_element_type")
        return out if dtype is None else cnp.astype(out, dtype)

    prim.call_keywords, prim.foreign_keywords = keywords, frozenset(JAX_KEYWORDS)
    return prim


def any_tensor(args) -> bool:
    """Whether an argument is a Tensor or a list (tuple) holding one, as [x[0], x[1]]."""
    return any(isinstance(a, Tensor) or (a.__class__ in (list, tuple) and holds_tensor(a)) for a in args)


def mT(a):
    """Swap the last two axes (the matrix transpose of a stack of matrices)."""
    return cnp.swapaxes(a, -1, -2)


def permute(x, order):
    """``transpose(x, order)``, skipped when ``order`` is the identity."""
    order = tuple(int(i) for i in order)
    if order == tuple(range(len(order))):
        return x
    return cnp.transpose(x, order)


def ravel(x):
    return cnp.reshape(x, (-1,))


# -- matmul ---------------------------------------------------------------------------------
def as_matrices(g, x, y):
    """Vectors in a matmul act as a 1×n row (left) or n×1 column (right)."""
    # the column first: for two vectors the scalar g becomes (1,) and then (1, 1)
    if len(shape_of(y)) == 1:
        y = cnp.reshape(y, (-1, 1))
        g = cnp.expand_dims(g, -1)
    if len(shape_of(x)) == 1:
        x = cnp.reshape(x, (1, -1))
        g = cnp.expand_dims(g, -2)
    return g, x, y


# A vector times one matrix (a layer applied to one example) has its own short rules:
# the matrix's cotangent is an outer product, the vector's one matrix-vector product.
def matmul_vjp_x(g, ans, x, y, **kw):
    nx, ny = len(shape_of(x)), len(shape_of(y))
    if nx > 1 and ny > 1:
        return unbroadcast(cnp.matmul(g, mT(y)), x)
    if nx == 1 and ny == 2:
        return unbroadcast(cnp.matmul(g, mT(y)), x)
    if nx == 2 and ny == 1:
        return unbroadcast(cnp.outer(g, y), x)
    g, x2, y = as_matrices(g, x, y)
    return cnp.reshape(unbroadcast(cnp.matmul(g, mT(y)), x2), shape_of(x))


def matmul_vjp_y(g, ans, x, y, **kw):
    nx, ny = len(shape_of(x)), len(shape_of(y))
    if nx > 1 and ny > 1:
        return unbroadcast(cnp.matmul(mT(x), g), y)
    if nx == 1 and ny == 2:
        return unbroadcast(cnp.outer(x, g), y)
    if nx == 2 and ny == 1:
        return unbroadcast(cnp.matmul(g, x), y)
    g, x, y2 = as_matrices(g, x, y)
    return cnp.reshape(unbroadcast(cnp.matmul(mT(x), g), y2), shape_of(y))


matmul = taking_jax_keywords(product(np.matmul))
def_vjps(matmul, matmul_vjp_x, matmul_vjp_y)
def_jvps(matmul, lambda t, ans, x, y: cnp.matmul(t, y), lambda t, ans, x, y: cnp.matmul(x, t))
keeps_only("inputs", matmul)


# -- tensordot and the products that are special cases of it -----------------------------
def tensordot_axes(axes, nda: int, ndb: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """NumPy's ``axes`` argument (an int or a pair of sequences) as two tuples of
    non-negative axes, the contracted axes of ``a`` and of ``b`` in matching order."""
    if isinstance(axes, int | np.integer):
        n = int(axes)
        return tuple(range(nda - n, nda)), tuple(range(n))
    axa, axb = axes
    axa = (axa,) if isinstance(axa, int | np.integer) else tuple(axa)
    axb = (axb,) if isinstance(axb, int | np.integer) else tuple(axb)
    return tuple(int(i) % nda for i in axa), tuple(int(i) % ndb for i in axb)


def contraction_vjp_a(g, a, b, axa, axb):
    """Cotangent of ``a`` in ``tensordot(a, b, (axa, axb))``: the output's axes are the
    free axes of ``a`` then those of ``b``; contract ``g`` with ``b`` over the latter."""
    nda, ndb = len(shape_of(a)), len(shape_of(b))
    free_a = [i for i in range(nda) if i not in axa]
    free_b = [i for i in range(ndb) if i not in axb]
    nfa = len(free_a)
    r = cnp.tensordot(g, b, axes=(list(range(nfa, nfa + len(free_b))), free_b))
    # r's axes: free axes of a, then b's contracted axes in increasing order, which stand
    # for the axes of a they were paired with
    source = free_a + [axa[j] for j in np.argsort(axb, kind="stable")]
    return permute(r, np.argsort(source))


def contraction_vjp_b(g, a, b, axa, axb):
    nda, ndb = len(shape_of(a)), len(shape_of(b))
    free_a = [i for i in range(nda) if i not in axa]
    free_b = [i for i in range(ndb) if i not in axb]
    r = cnp.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))
    source = [axb[j] for j in np.argsort(axa, kind="stable")] + free_b
    return permute(r, np.argsort(source))


tensordot = taking_jax_keywords(product(np.tensordot))
def_vjps(
    tensordot,
    lambda g, ans, a, b, axes=2: contraction_vjp_a(
        g, a, b, *tensordot_axes(axes, len(shape_of(a)), len(shape_of(b)))),
    lambda g, ans, a, b, axes=2: contraction_vjp_b(
        g, a, b, *tensordot_axes(axes, len(shape_of(a)), len(shape_of(b)))),
)
def_linear(tensordot, 0, 1)


def dot_axes(a, b):
    """``dot`` contracts the last axis of ``a`` with the second-to-last of ``b``."""
    nda, ndb = len(shape_of(a)), len(shape_of(b))
    return (nda - 1,), (max(ndb - 2, 0),)


def scalar_product_vjp(g, a, b):
    """When one factor is 0-d, dot and inner are plain products."""
    return cnp.sum(g * b) if len(shape_of(a)) == 0 else unbroadcast(g * b, a)


def dot_vjp_a(g, ans, a, b):
    nda, ndb = len(shape_of(a)), len(shape_of(b))
    if nda == 0 or ndb == 0:
        return scalar_product_vjp(g, a, b)
    if nda <= 2 and ndb <= 2:  # the common case, where dot is matmul: its faster rules
        return matmul_vjp_x(g, ans, a, b)
    return contraction_vjp_a(g, a, b, *dot_axes(a, b))


def dot_vjp_b(g, ans, a, b):
    nda, ndb = len(shape_of(a)), len(shape_of(b))
    if nda == 0 or ndb == 0:
        return scalar_product_vjp(g, b, a)
    if nda <= 2 and ndb <= 2:
        return matmul_vjp_y(g, ans, a, b)
    return contraction_vjp_b(g, a, b, *dot_axes(a, b))


dot = taking_jax_keywords(product(np.dot))
def_vjps(dot, dot_vjp_a, dot_vjp_b)
def_linear(dot, 0, 1)


def inner_axes(a, b):
    return (len(shape_of(a)) - 1,), (len(shape_of(b)) - 1,)


def inner_vjp_a(g, ans, a, b):
    if len(shape_of(a)) == 0 or len(shape_of(b)) == 0:
        return scalar_product_vjp(g, a, b)
    return contraction_vjp_a(g, a, b, *inner_axes(a, b))


def inner_vjp_b(g, ans, a, b):
    if len(shape_of(a)) == 0 or len(shape_of(b)) == 0:
        return scalar_product_vjp(g, b, a)
    return contraction_vjp_b(g, a, b, *inner_axes(a, b))


inner = taking_jax_keywords(product(np.inner))
def_vjps(inner, inner_vjp_a, inner_vjp_b)
def_linear(inner, 0, 1)

outer = product(np.outer)
def_vjps(
    outer,
    lambda g, ans, a, b: cnp.reshape(cnp.dot(g, ravel(b)), shape_of(a)),
    lambda g, ans, a, b: cnp.reshape(cnp.dot(ravel(a), g), shape_of(b)),
)
def_linear(outer, 0, 1)


def conj_if_complex(x):
    return cnp.conj(x) if is_complex(x) else x


# vdot(a, b) = Σ conj(a) b over the flattened arrays: linear in b, conjugate-linear in a.
vdot = taking_jax_keywords(product(np.vdot))
def_vjps(
    vdot,
    lambda g, ans, a, b: cnp.reshape(conj_if_complex(g * ravel(b)), shape_of(a)),
    lambda g, ans, a, b: cnp.reshape(g * conj_if_complex(ravel(a)), shape_of(b)),
)
def_jvps(vdot, lambda t, ans, a, b: vdot(t, b), lambda t, ans, a, b: vdot(a, t))


# -- einsum ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)


def einsum_vjp(k: int):
    """The cotangent of operand ``k``: the einsum of ``g`` with the other operands.

    A letter repeated in operand ``k`` (a diagonal, as in 'ii->i') gets a fresh letter
    at each later position and an identity matrix that ties it to the first; a letter
    that only operand ``k`` has was summed over, so its cotangent is spread along it.
    """

    def rule(g, ans, *operands, subscripts, optimize=False, **kw):
        ins, out = parse_einsum(subscripts, tuple(len(shape_of(x)) for x in operands))
        x = operands[k]
        shape = shape_of(x)
        sub = ins[k]
        elsewhere = set(out).union(*(s for j, s in enumerate(ins) if j != k))
        free = iter(c for c in LETTERS if c not in subscripts)
        dtype = np.result_type(getattr(x, "dtype", float), getattr(g, "dtype", float))
        target, ties, lone, seen = [], [], [], {}
        for pos, c in enumerate(sub):
            if c in seen:
                f = next(free)
                ties.append((c + f, np.eye(shape[pos], dtype=dtype)))
                target.append(f)
            else:
                seen[c] = pos
                if c in elsewhere or sub.count(c) > 1:
                    target.append(c)
                else:
                    lone.append(pos)
        ops = [g, *(y for j, y in enumerate(operands) if j != k), *(e for _, e in ties)]
        subs = [out, *(s for j, s in enumerate(ins) if j != k), *(s for s, _ in ties)]
        # an explicit contraction path was made for the forward operands, not these
        opt = optimize if isinstance(optimize, bool | str) else "greedy"
        r = _einsum(*ops, subscripts=",".join(subs) + "->" + "".join(target), optimize=opt)
        # Size-1 axes of x that broadcast against the others: sum the cotangent back.
        kept = [p for p in range(len(sub)) if p not in lone]
        rshape = shape_of(r)
        axes = tuple(i for i, p in enumerate(kept) if shape[p] == 1 and rshape[i] != 1)
        if axes:
            r = cnp.sum(r, axis=axes, keepdims=True)
        # and axes of x that the others broadcast against (their size 1): spread it along them
        full = tuple(shape[p] for p in kept)
        if shape_of(r) != full:
            r = cnp.broadcast_to(r, full)
        if lone:
            kept_shape = tuple(1 if p in lone else n for p, n in enumerate(shape))
            r = cnp.broadcast_to(cnp.reshape(r, kept_shape), shape)
        return r

    return rule


def _einsum_impl(*operands, subscripts, optimize=False, **kw):
    return np.einsum(subscripts, *operands, optimize=optimize, **kw)


_einsum = product(_einsum_impl, "einsum", public=False)
_einsum.vjps = RulesByArgument(einsum_vjp)


def _einsum_jvp(k: int):
    def rule(t, ans, *operands, **kwargs):
        ops = list(operands)
        ops[k] = t
        return _einsum(*ops, **kwargs)

    return rule


_einsum.jvps = RulesByArgument(_einsum_jvp)


def sublist_subscripts(args) -> tuple[str, list]:
    """einsum(op0, sublist0, op1, sublist1, ..., [sublistout]) in string form."""

    def letters(sub):
        return "".join("..." if s is Ellipsis else LETTERS[int(s)] for s in sub)

    ops, subs = list(args[0::2]), [letters(s) for s in args[1::2]]
    if len(args) % 2:  # an output sublist at the end
        ops = ops[:-1]
        return ",".join(subs) + "->" + letters(args[-1]), ops
    return ",".join(subs), ops


def einsum(*operands, precision=None, preferred_element_type=None, **kwargs):
    """``np.einsum``: string subscripts ('...', implicit output, repeated indices) or
    the sublist form; differentiable in every operand. jax.numpy's ``precision=`` changes
    nothing (NumPy multiplies in the operands' precision), and ``preferred_element_type=``
    is the result's dtype."""
    out = _einsum_mirror(*operands, **kwargs)
    return out if preferred_element_type is None else cnp.astype(out, preferred_element_type)


@mirrors(np.einsum, "products", "einsum")
def _einsum_mirror(*operands, out=None, optimize=False, **kwargs):
    if not any_tensor((*operands, out)):
        return np.einsum(*operands, out=out, optimize=optimize, **kwargs)
    if out is not None:
        raise TypeError("einsum: out= cannot hold a differentiated result; assign the result")
    if isinstance(operands[0], str):
        subscripts, ops = operands[0], list(operands[1:])
    else:
        subscripts, ops = sublist_subscripts(operands)
    ops = [as_array_if_holds_tensor(x) for x in ops]
    ins, res = parse_einsum(subscripts, tuple(len(shape_of(x)) for x in ops))
    return _einsum(*ops, subscripts=",".join(ins) + "->" + res, optimize=optimize, **kwargs)


# -- kron, cross, vecdot ----------------------------------------------------------------------
@mirrors(np.kron, "products")
def kron(a, b):
    """``np.kron``: the product of every pair of entries, laid out block by block."""
    if not any_tensor((a, b)):
        return np.kron(a, b)
    a, b = as_array_if_holds_tensor(a), as_array_if_holds_tensor(b)
    sa, sb = shape_of(a), shape_of(b)
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    # a's axes at even places, b's at odd ones: the product's axes pair up as in kron
    a2 = cnp.reshape(a, tuple(n for m in sa for n in (m, 1)))
    b2 = cnp.reshape(b, tuple(n for m in sb for n in (1, m)))
    return cnp.reshape(a2 * b2, tuple(m * n for m, n in zip(sa, sb, strict=True)))


_cross = product(np.cross, "cross", public=False)
def_vjps(
    _cross,
    lambda g, ans, a, b: unbroadcast(_cross(b, g), a),
    lambda g, ans, a, b: unbroadcast(_cross(g, a), b),
)
def_linear(_cross, 0, 1)

def embedding_2_in_3(x):
    """The matrix that makes a 2-vector (x, y) the 3-vector (x, y, 0), in x's precision."""
    return np.eye(2, 3, dtype=np.result_type(getattr(x, "dtype", np.float64), np.float32))


def move_to_end(x, axis):
    nd = len(shape_of(x))
    axis %= nd
    return permute(x, [i for i in range(nd) if i != axis] + [axis])


def move_from_end(x, axis):
    nd = len(shape_of(x))
    axis %= nd
    order = list(range(nd - 1))
    order.insert(axis, nd - 1)
    return permute(x, order)


@mirrors(np.cross, "products")
def cross(a, b, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None):
    """``np.cross`` of 3-vectors (or 2-vectors, taken as having a zero third component)."""
    if not any_tensor((a, b)):
        return np.cross(a, b, axisa, axisb, axisc, axis)
    a, b = as_array_if_holds_tensor(a), as_array_if_holds_tensor(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    if not (len(shape_of(a)) and len(shape_of(b))):
        raise ValueError("At least one array has zero dimension")
    # NumPy's AxisError for an axis the arrays lack (not that axis taken modulo ndim)
    axisa = normalize_axis_index(axisa, len(shape_of(a)), msg_prefix="axisa")
    axisb = normalize_axis_index(axisb, len(shape_of(b)), msg_prefix="axisb")
    a, b = move_to_end(a, axisa), move_to_end(b, axisb)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
    if na == 2:
        a = cnp.matmul(a, embedding_2_in_3(a))
    if nb == 2:
        b = cnp.matmul(b, embedding_2_in_3(b))
    c = _cross(a, b)
    if na == 2 and nb == 2:  # only the z component is returned
        return c[..., 2]
    return move_from_end(c, normalize_axis_index(axisc, len(shape_of(c)), msg_prefix="axisc"))


# NumPy's own function for plain arrays where this NumPy has it; else the same product
# built from matmul and sum, which works on plain arrays too.
_np_vecdot, _np_matvec, _np_vecmat = (optional(np, n) for n in ("vecdot", "matvec", "vecmat"))


def _core_dims(name: str, signature: str, *operands) -> None:
    """NumPy's check that each operand of a gufunc has its core dimensions (``(n),(n)``)."""
    for i, (x, need) in enumerate(operands):
        if len(shape_of(x)) < need:
            raise ValueError(
                f"{name}: Input operand {i} does not have enough dimensions (has "
                f"{len(shape_of(x))}, gufunc core with signature {signature} requires {need})")


def vecdot(x1, x2, /, *, axis: int = -1, **kwargs):
    """``np.vecdot``: Σ conj(x1) x2 along ``axis``, with broadcasting."""
    if kwargs.get("out") is not None and any_tensor((x1, x2, kwargs["out"])):
        raise out_refused("vecdot")  # (NumPy's own call would hand it back here without end)
    if _np_vecdot is not None and not any_tensor((x1, x2)):
        return _np_vecdot(x1, x2, axis=axis, **kwargs)
    x1, x2 = as_array_if_holds_tensor(x1), as_array_if_holds_tensor(x2)
    if set(kwargs) - {"dtype", "casting"}:
        raise TypeError(f"vecdot: {sorted(kwargs)} are not supported on a traced value")
    if kwargs.get("dtype") is not None and _np_vecdot is not None:  # NumPy's loop for it
        (x1, x2), _ = loop_inputs(_np_vecdot, (x1, x2), kwargs["dtype"], kwargs.get("casting", "same_kind"))
    _core_dims("vecdot", "(n),(n)->()", (x1, 1), (x2, 1))
    # as a product of a row by a column: NumPy's vecdot sums as matmul does, bit for bit
    a = cnp.moveaxis(conj_if_complex(x1), axis, -1)
    b = cnp.moveaxis(x2, axis, -1)
    r = cnp.matmul(a[..., None, :], b[..., :, None])[..., 0, 0]
    return r[()] if len(shape_of(r)) == 0 else r  # a NumPy scalar for vectors, as NumPy's


def _traced_operands(name: str, np_fun, x1, x2, kwargs: dict) -> tuple:
    """The operands of ``np.matvec``/``np.vecmat`` called on traced values, in the dtype of
    NumPy's loop for ``dtype=`` (the only keywords taken there, with ``casting=``)."""
    x1, x2 = as_array_if_holds_tensor(x1), as_array_if_holds_tensor(x2)
    if set(kwargs) - {"dtype", "casting"}:
        raise TypeError(f"{name}: {sorted(kwargs)} are not supported on a traced value")
    if kwargs.get("dtype") is not None and np_fun is not None:  # NumPy's loop for it
        (x1, x2), _ = loop_inputs(np_fun, (x1, x2), kwargs["dtype"], kwargs.get("casting", "same_kind"))
    return x1, x2


def matvec(x1, x2, /, **kwargs):
    """``np.matvec``: a stack of matrices times a stack of vectors."""
    if kwargs.get("out") is not None and any_tensor((x1, x2, kwargs["out"])):
        raise out_refused("matvec")  # (NumPy's own call would hand it back here without end)
    if _np_matvec is not None and not any_tensor((x1, x2)):
        return _np_matvec(x1, x2, **kwargs)
    x1, x2 = _traced_operands("matvec", _np_matvec, x1, x2, kwargs)
    _core_dims("matvec", "(m,n),(n)->(m)", (x1, 2), (x2, 1))
    return cnp.matmul(x1, cnp.expand_dims(x2, -1))[..., 0]


def vecmat(x1, x2, /, **kwargs):
    """``np.vecmat``: conj(a stack of vectors) times a stack of matrices."""
    if kwargs.get("out") is not None and any_tensor((x1, x2, kwargs["out"])):
        raise out_refused("vecmat")  # (NumPy's own call would hand it back here without end)
    if _np_vecmat is not None and not any_tensor((x1, x2)):
        return _np_vecmat(x1, x2, **kwargs)
    x1, x2 = _traced_operands("vecmat", _np_vecmat, x1, x2, kwargs)
    _core_dims("vecmat", "(n),(n,m)->(m)", (x1, 1), (x2, 2))
    return cnp.matmul(cnp.expand_dims(conj_if_complex(x1), -2), x2)[..., 0, :]


for _fun, _np_fun in ((vecdot, _np_vecdot), (matvec, _np_matvec), (vecmat, _np_vecmat)):
    if _np_fun is not None:  # rebound: under chainrule.jit the NumPy function is recorded
        globals()[_fun.__name__] = mirrors(_np_fun, "products")(_fun)
del _fun, _np_fun


# Batching rules for vmap: the batch axis becomes a batch dimension of matmul or einsum.
def_batch(batching.matmul, matmul)
def_batch(batching.dot, dot)
def_batch(batching.inner, inner)
def_batch(batching.outer, outer)
def_batch(batching.vdot, vdot)
def_batch(batching.tensordot, tensordot)
def_batch(batching.einsum, _einsum)
def_batch(batching.cross, _cross)
