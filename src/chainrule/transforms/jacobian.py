"""Jacobians and Hessians, and the products that avoid building them.

``jacobian`` picks the mode by shape: reverse mode costs one backward pass per output
element, forward mode one forward pass per input element (each mapped over those
elements at once with ``vmap``), so it uses reverse mode when the output has fewer
elements than the input and forward mode otherwise, the latter through the transpose of
the recorded backward pass, so that the function runs once either way.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.backward import pullback
from chainrule.core.errors import BatchedValueError
from chainrule.core.linearity import generic_point
from chainrule.core.primitive import MissingRule
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tensor import Tensor
from chainrule.transforms.batch_trace import unit_basis
from chainrule.transforms.forward import jvp, trace_jvp
from chainrule.transforms.reverse import (
    check_holomorphic_inputs,
    check_real,
    differentiable_value,
    either_argnums,
    grad,
    make_vjp,
    normalize_argnums,
    shape_of,
    split_by_argument,
    trace_vjp,
    unboxed_at,
    unwrap_aux,
)
from chainrule.transforms.vmap import call_batched

__all__ = [
    "jacobian",
    "jacrev",
    "jacfwd",
    "hessian",
    "hvp",
    "hessian_vector_product",
    "hessian_tensor_product",
    "make_hvp",
    "make_ggnvp",
    "tensor_jacobian_product",
    "vector_jacobian_product",
]


def _dtype(x):
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


def _size(shape) -> int:
    return math.prod(shape)


def _basis_dtype(dtype):
    """The dtype of directions for an array of ``dtype``: float64 for integers."""
    return dtype if np.dtype(dtype).kind in "fc" else np.dtype(np.float64)


def _basis(shape, dtype):
    """The unit vectors of an array of ``shape``, stacked: shape ``(size, *shape)``, marked
    as such for vmap (which then multiplies them by matrices without a matrix product).
    Integer arrays get float64 directions."""
    return unit_basis(shape, _basis_dtype(dtype))


def _to_lead(rows, lead_shape, tail_shape):
    """Results stacked per basis vector, ``(size, *tail)``, as ``lead_shape + tail_shape``."""

    shape = tuple(lead_shape) + tuple(tail_shape)
    return cnp.reshape(rows, shape) if isinstance(rows, Tensor) else np.reshape(rows, shape)


def _move_lead_to_tail(arr, lead_ndim):
    """(in..., out...) -> (out..., in...)."""

    ndim = len(shape_of(arr))
    order = tuple(range(lead_ndim, ndim)) + tuple(range(lead_ndim))
    return cnp.transpose(arr, order) if isinstance(arr, Tensor) else np.transpose(arr, order)


def jacrev(
    fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
    holomorphic: bool = False, allow_int: bool = False, *,
    argnum: int | Sequence[int] | None = None,
) -> Callable:
    """The Jacobian by reverse mode: one forward pass, then the backward pass mapped with
    :func:`~chainrule.vmap` over the unit cotangents of each output (one batched pass).

    The result has shape ``out.shape + in.shape`` (for pytrees: the output's structure of
    the inputs' structures). With ``has_aux=True``, ``fun`` returns ``(output, aux)`` and
    the result is ``(jacobian, aux)``, as in JAX. Complex inputs of a real function give
    rows in ``grad``'s convention (``∂/∂x − i ∂/∂y``); complex outputs need
    ``holomorphic=True`` (complex inputs, the holomorphic Jacobian), as in JAX, and are
    refused without it. ``allow_int`` changes nothing (integers are differentiated as reals).

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.jacrev(lambda x: x[:2] * 3)(np.ones(3))
    array([[3., 0., 0.],
           [0., 3., 0.]])
    """
    argnums = either_argnums(argnums, argnum)

    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        nums = normalize_argnums(argnums, len(args))
        if holomorphic:
            check_holomorphic_inputs("jacrev", args, nums)
        f = functools.partial(fun, **kwargs) if kwargs else fun
        aux_box = []
        if has_aux:
            def f(*a, f=f):
                out, aux = unwrap_aux(f(*a), True, fun)
                aux_box.append(aux)
                return out
        out, record = trace_vjp(f, args, nums, "jacrev")
        out_leaves = tree_flatten(out)[0]
        if not holomorphic:
            check_real("jacrev", out_leaves, "outputs")
        jac = _rows_of(record, out, argnums)
        return (jac, unboxed_at(aux_box[0], record.trace)) if has_aux else jac

    return jac_fun


def _rows_of(record, out, argnums, looped: bool = False):
    """The Jacobian of a recorded evaluation, one backward pass per output element (all
    mapped at once: jacrev's; ``looped``, one after another on plain arrays, as HIPS
    autograd's ``jacobian``)."""
    out_leaves, out_tree = tree_flatten(out)
    in_values = record.in_values
    per_out = []
    for j, o in enumerate(out_leaves):
        oshape, odtype = shape_of(o), _dtype(o)

        def pull(e, j=j):  # every input leaf's gradient for one output cotangent
            ct = [e if k == j else np.zeros(shape_of(v), _dtype(v))
                  for k, v in enumerate(out_leaves)]
            return record.pull(tree_unflatten(out_tree, ct))

        if _size(oshape):
            rows = _batched_or_looped(pull, 0, _basis(oshape, odtype), looped)
        else:
            rows = [np.zeros((0, *shape_of(v)), _dtype(v)) for v in in_values]
        leaf_jacs = [
            _to_lead(r, oshape, shape_of(v)) for r, v in zip(rows, in_values, strict=True)
        ]
        per_arg = split_by_argument(record, leaf_jacs)
        per_out.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
    return tree_unflatten(out_tree, per_out)


def _columns_of(record, out, argnums):
    """The Jacobian of a recorded evaluation, one pass per input element (all mapped at
    once), as forward mode gives it, without running the function again: the backward
    pass ``ȳ ↦ Jᵀȳ`` is linear and written with chainrule.numpy, so reverse mode through
    it gives its transpose, ``t ↦ J t``. It is recorded at a generic cotangent, as
    ``transpose`` records a rule: a rule may treat a zero cotangent as the constant 0
    (``prod``'s, where the product of the others overflows), which recorded at ȳ = 0
    left a map without ȳ in it (the second derivative of ``jacobian(f)`` was 0)."""
    out_leaves, out_tree = tree_flatten(out)
    in_values = record.in_values
    out_zeros = tuple(np.zeros(shape_of(o), _basis_dtype(_dtype(o))) for o in out_leaves)

    def backward(*cts):
        return tuple(record.pull(tree_unflatten(out_tree, list(cts))))

    _, transposed = pullback(backward, tuple(generic_point(z) for z in out_zeros), "jacobian")
    in_zeros = [np.zeros(shape_of(v), _dtype(v)) for v in in_values]
    leaf_jacs = [[] for _ in out_leaves]  # [output leaf][input leaf]
    for i, x in enumerate(in_values):
        xshape = shape_of(x)

        def push(e, i=i):  # every output leaf's tangent for one input direction
            t = list(in_zeros)
            t[i] = e
            return [np.zeros(shape_of(z), z.dtype) if c is None else c
                    for c, z in zip(transposed(tuple(t)), out_zeros, strict=True)]

        if _size(xshape):
            columns = _batched_or_looped(push, 0, _basis(xshape, _dtype(x)))
        else:
            columns = [np.zeros((0, *shape_of(o)), _basis_dtype(_dtype(o))) for o in out_leaves]
        for j, o in enumerate(out_leaves):
            stacked = _to_lead(columns[j], xshape, shape_of(o))
            if np.dtype(_dtype(o)).kind not in "fc":  # a truth value or a count: zeros
                stacked = np.zeros(shape_of(stacked), _basis_dtype(_dtype(x)))
            leaf_jacs[j].append(_move_lead_to_tail(stacked, len(xshape)))
    per_out = []
    for jacs in leaf_jacs:
        per_arg = split_by_argument(record, jacs)
        per_out.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
    return tree_unflatten(out_tree, per_out)


def jacfwd(
    fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
    holomorphic: bool = False, allow_int: bool = False, *,
    argnum: int | Sequence[int] | None = None,
) -> Callable:
    """The Jacobian by forward mode: the forward pass mapped with :func:`~chainrule.vmap`
    over the unit tangents of each input (one batched pass). With ``has_aux=True``,
    ``fun`` returns ``(output, aux)`` and the result is ``(jacobian, aux)``. Complex
    inputs need ``holomorphic=True`` (the holomorphic Jacobian), as in JAX: forward mode
    pushes real directions only, which is half of the derivative of a function that is not
    holomorphic. ``allow_int`` as in :func:`jacrev`.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.jacfwd(cnp.sin)(np.zeros(2))
    array([[1., 0.],
           [0., 1.]])
    """
    argnums = either_argnums(argnums, argnum)

    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        nums = normalize_argnums(argnums, len(args))
        if holomorphic:
            check_holomorphic_inputs("jacfwd", args, nums)
        f = functools.partial(fun, **kwargs) if kwargs else fun
        diff = [args[i] for i in nums]

        def of_diff(*d):
            full = list(args)
            for i, v in zip(nums, d, strict=True):
                full[i] = v
            out = f(*full)
            return unwrap_aux(out, True, fun) if has_aux else (out, None)

        leaves, tree = tree_flatten(tuple(diff))
        leaves = [differentiable_value(x) for x in leaves]
        if not holomorphic:
            check_real("jacfwd", leaves, "inputs")
        primals = tree_unflatten(tree, leaves)
        zero = [np.zeros(shape_of(x), _dtype(x)) for x in leaves]
        # The output comes from the mapped forward pass itself (unbatched there): calling
        # ``f`` on the plain inputs instead would cost a pass, and fails where ``f``
        # indexes an input with a value batched by an enclosing vmap (``W[i, 1:]``).
        out_leaves, columns_of, out_tree = None, [], []
        for i, x in enumerate(leaves):

            def push(e, i=i):  # the output (and aux), and its tangent for one input direction
                t = list(zero)
                t[i] = e
                (out, aux), (tout, _) = trace_jvp(of_diff, primals, tree_unflatten(tree, t), "jacfwd")
                flat_out, structure = tree_flatten(out)
                out_tree[:] = [structure]
                return (flat_out, aux), tree_flatten(tout)[0]

            if _size(shape_of(x)):
                basis = _basis(shape_of(x), _dtype(x))
                (out_leaves, aux), columns = _batched_or_looped(push, (None, 0), basis)
                columns_of.append(columns)
            else:
                columns_of.append(None)
        if out_leaves is None:  # every input is empty: one pass for the output's structure
            out, aux = trace_jvp(of_diff, primals, tree_unflatten(tree, zero), "jacfwd")[0]
            out_leaves, structure = tree_flatten(out)
            out_tree[:] = [structure]
        out_tree = out_tree[0]
        leaf_jacs = [[] for _ in out_leaves]  # [output leaf][input leaf]
        for x, columns in zip(leaves, columns_of, strict=True):
            xshape = shape_of(x)
            if columns is None:
                columns = [np.zeros((0, *shape_of(o)), _dtype(o)) for o in out_leaves]
            for j, o in enumerate(out_leaves):
                stacked = _to_lead(columns[j], xshape, shape_of(o))
                if np.dtype(_dtype(o)).kind not in "fc":  # a truth value or a count: zeros in
                    stacked = np.zeros(shape_of(stacked), _basis_dtype(_dtype(x)))  # x's float dtype, as jacrev's
                leaf_jacs[j].append(_move_lead_to_tail(stacked, len(xshape)))
        per_out = []
        for jacs in leaf_jacs:
            per_arg = tree_unflatten(tree, jacs)
            per_out.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        jac = tree_unflatten(out_tree, per_out)
        return (jac, aux) if has_aux else jac

    return jac_fun


def _batched_or_looped(fun: Callable, out_axes, basis, looped: bool = False):
    """``vmap(fun, out_axes=out_axes)(basis)``; where ``fun`` reads a batched value as one
    plain array (the rule of a primitive of your own written with plain NumPy, as HIPS
    autograd's may be: ``onp.array([onp.dot(g, j) ...])``), or with ``looped``, one call
    per basis vector, stacked, as HIPS autograd's ``jacobian`` computes its rows."""
    if not looped:
        try:
            return call_batched(fun, 0, out_axes, None, (basis,), {})
        except BatchedValueError:
            pass
    outs = [fun(e) for e in np.asarray(basis)]
    if out_axes == 0:
        return _stack_trees(outs)
    return outs[0][0], _stack_trees([o[1] for o in outs])


def _stack_trees(trees: list):
    flat = [tree_flatten(t) for t in trees]
    stacked = [cnp.stack(leaves) for leaves in zip(*(f[0] for f in flat), strict=True)]
    return tree_unflatten(flat[0][1], stacked)


def jacobian(
    fun: Callable, argnums: int | Sequence[int] = 0, *, argnum: int | Sequence[int] | None = None
) -> Callable:
    """The Jacobian, by reverse mode if the output has fewer elements than the input or
    an input is complex, else (or if an output is complex) by forward mode, as the
    transpose of the recorded backward pass (rows again where a vjp rule is written with
    plain NumPy): ``fun`` runs once, as in HIPS autograd. Of complex inputs and outputs,
    the holomorphic Jacobian (``jacrev(fun, holomorphic=True)``). Shape ``out.shape + in.shape``. (Of a
    complex input, reverse mode gives each row in ``grad``'s convention, ``∂/∂x − i ∂/∂y``,
    as HIPS autograd's ``jacobian`` does; forward mode would push only real directions.)

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.jacobian(lambda x: cnp.sum(x ** 2))(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    argnums = either_argnums(argnums, argnum)

    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        nums = normalize_argnums(argnums, len(args))
        f = functools.partial(fun, **kwargs) if kwargs else fun
        # fun runs once, as in HIPS autograd: a second run would draw other random numbers
        # (and differentiate those) and repeat the side effects
        out, record = trace_vjp(f, args, nums, "jacobian")
        n_in = sum(_size(shape_of(x)) for x in record.in_values)
        out_leaves = tree_flatten(out)[0]
        n_out = sum(_size(shape_of(o)) for o in out_leaves)
        complex_in = any(np.dtype(_dtype(x)).kind == "c" for x in record.in_values)
        complex_out = any(np.dtype(_dtype(o)).kind == "c" for o in out_leaves)
        if complex_in or (n_out < n_in and not complex_out):
            return _rows_of(record, out, argnums)  # (holomorphic where both are complex)
        try:
            return _columns_of(record, out, argnums)
        except Exception:
            # a vjp rule that reverse mode cannot go through (written with SciPy or plain
            # NumPy, or checking it was given an array, as HIPS autograd's may be): a
            # backward pass per output element on plain arrays, as autograd's
            if complex_out:
                raise
        return _rows_of(record, out, argnums, looped=True)

    return jac_fun


def hessian(
    fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
    holomorphic: bool = False, allow_int: bool = False, *,
    argnum: int | Sequence[int] | None = None,
) -> Callable:
    """The Hessian: forward mode over reverse mode (reverse over reverse, HIPS autograd's
    order, where a primitive has reverse-mode rules only). For a function with an array output,
    the Hessian of each output element, shape ``out.shape + in.shape + in.shape`` (HIPS
    autograd's ``jacobian(jacobian(fun))``). With ``has_aux=True``, ``fun`` returns
    ``(output, aux)`` and the result is ``(hessian, aux)``.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 2.0]))
    array([[4., 2.],
           [2., 0.]])
    """
    argnums = either_argnums(argnums, argnum)
    over_reverse = jacrev(fun, argnums, has_aux, holomorphic)
    forward = jacfwd(over_reverse, argnums, has_aux, holomorphic)

    @functools.wraps(fun)
    def hessian_fun(*args, **kwargs):
        try:
            return forward(*args, **kwargs)
        except MissingRule as missing:  # a primitive with reverse-mode rules only
            if missing.mode != "fwd":
                raise
        return jacrev(over_reverse, argnums, has_aux, holomorphic)(*args, **kwargs)

    return hessian_fun


def hvp(fun: Callable, primals: Sequence, tangents: Sequence):
    """The Hessian-vector product H·v, by forward mode over reverse mode (JAX idiom
    ``jvp(grad(f), primals, tangents)[1]``). ``primals``/``tangents`` are tuples.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.hvp(lambda x: cnp.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    array([6., 0.])
    """
    argnums = tuple(range(len(primals)))
    g = grad(fun, argnums if len(primals) != 1 else 0)
    return jvp(g, tuple(primals), tuple(tangents))[1]


def hessian_tensor_product(
    fun: Callable, argnum: int = 0, *, argnums: int | None = None
) -> Callable:
    """HIPS autograd's name: ``f(*args, vector)`` gives the Hessian (at ``args``, in
    argument ``argnum``) contracted with ``vector``; forward over reverse (reverse over
    reverse where a primitive has reverse-mode rules only).

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> hvp = cr.hessian_vector_product(lambda x: cnp.sum(x ** 3))
    >>> hvp(np.array([1.0, 2.0]), np.array([0.0, 1.0]))
    array([ 0., 12.])
    """
    argnum = either_argnums(argnum, argnums)

    def product(*args, **kwargs):
        *args, vector = args
        (num,) = normalize_argnums(argnum, len(args))
        g = grad(functools.partial(fun, **kwargs) if kwargs else fun, num)

        def grad_in_arg(x):
            full = list(args)
            full[num] = x
            return g(*full)

        try:
            return jvp(grad_in_arg, (args[num],), (vector,))[1]
        except MissingRule as missing:  # a primitive with reverse-mode rules only
            if missing.mode != "fwd":
                raise
        return grad(lambda x: cnp.sum(grad_in_arg(x) * vector))(args[num])  # autograd's order

    return product


hessian_vector_product = hessian_tensor_product


def make_hvp(fun: Callable, argnum: int = 0, *, argnums: int | None = None) -> Callable:
    """HIPS autograd's ``make_hvp``: ``make_hvp(f, argnum)(*args) -> (hvp_fn, grad)``,
    with ``hvp_fn(v)`` the Hessian-vector product at ``args``.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> hvp_fn, g = cr.make_hvp(lambda x: cnp.sum(x ** 3))(np.array([1.0, 2.0]))
    >>> hvp_fn(np.array([1.0, 1.0]))
    array([ 6., 12.])
    """
    argnum = either_argnums(argnum, argnums)

    def at(*args, **kwargs):
        (num,) = normalize_argnums(argnum, len(args))
        g = grad(functools.partial(fun, **kwargs) if kwargs else fun, num)
        grad_value = g(*args)

        def hvp_fn(v):
            return hessian_tensor_product(fun, num)(*args, v, **kwargs)

        return hvp_fn, grad_value

    return at


def make_ggnvp(f: Callable, g: Callable | None = None, f_argnum: int = 0) -> Callable:
    """Generalised Gauss-Newton products ``Jᵀ H_g J v`` for a loss ``g(f(x))``
    (HIPS autograd's ``make_ggnvp``); ``g`` defaults to ``½‖y‖²`` over the last axis.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> ggnvp = cr.make_ggnvp(lambda x: 2 * x)(np.ones(2))
    >>> ggnvp(np.array([1.0, 0.0]))
    array([4., 0.])
    """

    if g is None:
        def g(y):
            return 0.5 * cnp.sum(y ** 2, axis=-1)

    def at(*args, **kwargs):
        (num,) = normalize_argnums(f_argnum, len(args))

        def f_of_x(x):
            full = list(args)
            full[num] = x
            return f(*full, **kwargs)

        f_vjp, f_x = make_vjp(f_of_x)(args[num])
        g_hvp = hessian_tensor_product(lambda y: cnp.sum(g(y)))

        def ggnvp(v):
            jv = jvp(f_of_x, (args[num],), (v,))[1]
            return f_vjp(g_hvp(f_x, jv))

        return ggnvp

    return at


def tensor_jacobian_product(
    fun: Callable, argnum: int = 0, *, argnums: int | None = None
) -> Callable:
    """HIPS autograd's ``tensor_jacobian_product(fun, argnum)(*args, tensor)``: the
    Jacobian of ``fun`` in argument ``argnum`` left-multiplied by ``tensor``, contracting
    ``tensor``'s dimensions with the leading dimensions of ``fun``'s output (so a tensor
    of the output's shape gives the vector-Jacobian product, of the input's shape).

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.tensor_jacobian_product(cnp.sin)(np.zeros(2), np.array([1.0, 2.0]))
    array([1., 2.])
    >>> cr.tensor_jacobian_product(lambda x: cnp.outer(x, x))(np.ones(2), np.array([1.0, 0.0]))
    array([[2., 0.],
           [1., 1.]])
    """

    argnum = either_argnums(argnum, argnums)

    def vector_dot_fun(*args, **kwargs):
        *args, tensor = args
        return cnp.tensordot(tensor, fun(*args, **kwargs), axes=np.ndim(tensor))

    return jacobian(vector_dot_fun, argnum)


vector_jacobian_product = tensor_jacobian_product
