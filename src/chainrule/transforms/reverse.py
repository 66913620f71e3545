"""Reverse mode: vjp and the transforms built on it (grad and its relatives)."""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from chainrule.core.anomaly import user_stacklevel
from chainrule.core.backward import backward_pass
from chainrule.core.errors import TensorError, TensorTypeError
from chainrule.core.pytree import tree_children, tree_flatten, tree_unflatten
from chainrule.core.tensor import BOX_TYPES, Tensor
from chainrule.core.trace import OPEN_REVERSE, ReverseTrace
from chainrule.core.values import like_input
from chainrule.numpy import astype, broadcast_to, reshape, zeros_like
from chainrule.transforms.branches import backward_in_branches

__all__ = [
    "vjp",
    "make_vjp",
    "grad",
    "value_and_grad",
    "grad_and_aux",
    "elementwise_grad",
    "holomorphic_grad",
    "differentiable_value",
    "on_eager_graph",
    "normalize_argnums",
    "either_argnums",
]


def normalize_argnums(argnums, nargs: int) -> tuple[int, ...]:
    single = isinstance(argnums, int)
    try:
        nums = (argnums,) if single else tuple(argnums)
    except TypeError:
        raise TensorTypeError(f"argnums must be an int or a tuple of ints, not {argnums!r}") from None
    for a in nums:
        if not isinstance(a, int) or not -nargs <= a < nargs:
            raise TensorError(
                f"argnums={argnums!r} does not fit a call with {nargs} positional argument(s)"
            )
    nums = tuple(a % nargs for a in nums)
    if len(set(nums)) < len(nums):
        raise TensorError(f"argnums={argnums!r} names an argument more than once; name each "
                         "argument once (a repeat would be differentiated as one variable)")
    return nums


def either_argnums(argnums, argnum):
    """The argument number(s) a transform differentiates in: HIPS autograd spells the
    keyword ``argnum``, JAX ``argnums``; every transform takes both (one of them)."""
    if argnum is None:
        return argnums
    if argnums is not None and argnums != 0 and argnums != argnum:
        raise TypeError(
            f"argnum={argnum!r} and argnums={argnums!r} disagree; give one of them "
            "(they are two spellings of the same thing)"
        )
    return argnum


class _OnEagerGraph(threading.local):
    depth = 0


_ON_EAGER_GRAPH = _OnEagerGraph()


@contextlib.contextmanager
def on_eager_graph() -> Iterator[None]:
    """Within it, the transforms differentiate an eager Tensor that requires grad on the
    eager graph, as torch.func's do: what they return (a gradient, a Jacobian, a tangent)
    is a function of that Tensor on its graph, so that ``backward()`` of a loss made of it
    reaches the Tensor through the derivative too (MAML's meta-gradient). Outside it, as
    in JAX, an eager Tensor is differentiated at its value and the result is data."""
    _ON_EAGER_GRAPH.depth += 1
    try:
        yield
    finally:
        _ON_EAGER_GRAPH.depth -= 1


def differentiable_value(x, where: str = "argument"):
    """The value to differentiate at: Python numbers and integer arrays become float64
    (Python complex numbers complex128); boolean and non-numeric values are refused with
    an explanation."""
    if x.__class__ is np.ndarray and x.dtype.kind in "fc":  # (the common case)
        return x
    if isinstance(x, Tensor):
        if x._trace.level == 0:  # an eager tensor: differentiate at its value
            if _ON_EAGER_GRAPH.depth and x._node is not None and x._trace.grad_enabled \
                    and np.dtype(x.dtype).kind in "fc":
                return x  # torch.func's rule: the derivative is on the eager graph too
            return differentiable_value(x._value, where)
        # a traced value (under jit, vmap): what its value would be, plain (jit's value of
        # an eager Tensor: its array, as above)
        if x._trace.records:
            x = x._trace.as_array(x)
        kind = np.dtype(x.dtype).kind
        if kind in "iu":
            return astype(x, np.float64)
        if kind == "b":
            raise _no_derivative_error(where, x.dtype)
        return x
    if type(x) in BOX_TYPES:  # a user's vector space, with its own box (Box.register)
        return x
    if isinstance(x, bool | np.bool_):
        raise TypeError(f"cannot differentiate with respect to a boolean {where} ({x!r})")
    if isinstance(x, int):
        return np.float64(x)
    if isinstance(x, float):
        return np.float64(x)
    if isinstance(x, complex):
        return np.complex128(x)
    if isinstance(x, np.ndarray | np.generic):
        if x.dtype.kind in "fc":
            return x
        if x.dtype.kind in "iu":
            # a program computes with integers in floating point: differentiate at the
            # same values in float64 (HIPS autograd 1.9 and JAX refuse integers)
            return x.astype(np.float64)
        raise _no_derivative_error(where, x.dtype)
    if isinstance(x, list | tuple):
        raise TypeError(f"internal: {where} should have been flattened")
    raise TypeError(
        f"cannot differentiate with respect to an {where} of type {type(x).__name__}; "
        "pass NumPy arrays, Python numbers, or tuples/lists/dicts of them"
    )


def _no_derivative_error(where: str, dtype) -> TypeError:
    return TypeError(
        f"cannot differentiate with respect to an {where} of dtype {dtype}: derivatives "
        "need floating-point or complex values. Convert it first, e.g. x.astype(float)."
    )


class VJP:
    """The recorded tape of one function evaluation, ready to pull cotangents back."""

    def __init__(
        self, tape, in_nodes, in_values, in_trees, out_nodes, out_tree, out_values, trace=None
    ):
        self.tape = tape
        self.trace = trace  # its call sites (detect_anomaly), the unboxing of aux data
        self.in_nodes = in_nodes
        self.in_values = in_values
        self.in_trees = in_trees
        self.out_nodes = out_nodes
        self.out_tree = out_tree
        self.out_values = out_values

    def pull(self, cotangent, free: bool = False, none_is_zero: bool = False, broadcast: bool = False) -> list:
        """Cotangents of every input leaf, given the output's cotangent (a pytree); with
        ``none_is_zero``, None in its place stands for zeros of a whole part of the output;
        with ``broadcast``, a cotangent that broadcasts to its output's shape (a number for
        a vector) stands for its broadcast, as HIPS autograd's vjp reads it."""
        ct_leaves, ct_tree = tree_flatten(cotangent)
        if ct_tree != self.out_tree:
            ct_leaves = _leaves_none_as_zero(self.out_tree, cotangent) if none_is_zero else None
            if ct_leaves is None:
                raise TensorError(
                    f"the cotangent's structure {ct_tree} does not match the output's {self.out_tree}"
                )
        tape = self.tape
        if tape is None:
            raise RuntimeError("this vjp was used once and freed; make a new one")
        cots = [None] * len(tape)
        for pos, ct, value in zip(self.out_nodes, ct_leaves, self.out_values, strict=True):
            if pos is None or ct is None:
                continue
            if shape_of(ct) != shape_of(value):
                if broadcast and broadcasts_to(shape_of(ct), shape_of(value)):
                    ct = broadcast_to(reshape(ct, ()) if np.size(ct) == 1 else ct, shape_of(value))
                else:
                    raise TensorError(
                        f"cotangent of shape {shape_of(ct)} for an output of shape {shape_of(value)}"
                    )
            cots[pos] = ct if cots[pos] is None else cots[pos] + ct
        # The inputs' entries open the tape; the pass stops there and leaves their slots.
        if free:
            self.tape = None
        origins = self.trace.origins if self.trace is not None else None
        branches = self.trace.branches if self.trace is not None else None
        if branches and OPEN_REVERSE.traces:  # a pass that an outer grad differentiates
            backward_in_branches(tape if free else list(tape), cots, len(self.in_nodes), origins, branches)
        else:
            backward_pass(tape if free else list(tape), cots, stop=len(self.in_nodes), origins=origins)
        grads = []
        roots: dict[int, list] = {}
        for pos, value in zip(self.in_nodes, self.in_values, strict=True):
            g = cots[pos]
            if g is None:  # (a number's zero gradient is a number too, as any other gradient of it)
                g = zeros_like(value)
            elif value.__class__ is np.ndarray and value.ndim and not isinstance(g, Tensor) and np.ndim(g) == 0:
                # a vjp of the program's gave a number for an array argument (``lambda g:
                # 0.0``, or a sum's cotangent left unbroadcast): the gradient has the
                # argument's shape, as HIPS autograd's has inside a tuple, list or dict
                g = np.full(value.shape, g)
            grads.append(own_array(like_input(g, value), roots))
        return grads


def _leaves_none_as_zero(treedef, cotangent) -> list | None:
    """The cotangent's leaves, one per leaf of the output's structure ``treedef``, where
    ``None`` stands for a zero cotangent of a whole part of the output, as in HIPS
    autograd (``vjp((ones, None))`` for a value and its auxiliary data); None where the
    structures differ otherwise."""
    if cotangent is None:
        return [None] * treedef.num_leaves
    if treedef.kind is None:
        return [cotangent]
    node = tree_children(cotangent)
    if (node is None or node[0] is not treedef.kind or len(node[2]) != len(treedef.subtrees)
            or treedef.kind is dict and list(node[1]) != list(treedef.aux)):
        return None
    leaves = []
    for sub, child in zip(treedef.subtrees, node[2], strict=True):
        part = _leaves_none_as_zero(sub, child)
        if part is None:
            return None
        leaves += part
    return leaves


def own_array(g, roots: dict):
    """``g``, copied where the caller could not change it as its own: a read-only array
    (the broadcast gradient of a sum) or one sharing memory with a gradient already
    handed out (both arguments of ``x + y`` get the same cotangent), so that ``g *= lr``
    works and changes no other gradient, as with HIPS autograd's and PyTorch's."""
    if not isinstance(g, np.ndarray):
        return g
    root = g
    while isinstance(root.base, np.ndarray):
        root = root.base
    kin = roots.setdefault(id(root), [])
    if not g.flags.writeable or any(np.may_share_memory(g, other) for other in kin):
        g = g.copy()
    kin.append(g)
    return g


def broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of ``shape`` stands for one of ``target``: it broadcasts to it,
    or it has one element (a ``(1,)`` cotangent of a number).

    >>> broadcasts_to((), (3,)), broadcasts_to((1,), ()), broadcasts_to((2,), (3,))
    (True, True, False)
    """
    if math.prod(shape) == 1:
        return True
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def shape_of(x):
    return x.shape if hasattr(x, "shape") else np.shape(x)


def trace_vjp(
    fun: Callable, args: Sequence, argnums: tuple[int, ...], name: str = "grad", lean: bool = True
):
    """Run ``fun(*args)`` with the ``argnums`` arguments boxed on a new reverse trace.

    Returns the output (unboxed at this trace) and a :class:`VJP`. With ``lean=False``
    the tape keeps every input and output of every call (for inspecting it).
    """
    trace = ReverseTrace(name, lean)
    tape = trace.tape
    args = list(args)
    in_nodes, in_values, in_trees = [], [], []
    try:  # (closed whatever happens: an open trace is one the grad modes act on)
        for i in argnums:
            leaves, tree = tree_flatten(args[i])
            boxed = []
            for leaf in leaves:
                value = differentiable_value(leaf, f"argument {i}")
                t = trace.new_tensor(value)
                in_nodes.append(t._node)
                in_values.append(value)
                boxed.append(t)
            in_trees.append((tree, len(leaves)))
            args[i] = tree_unflatten(tree, boxed)
        out = fun(*args)
    finally:
        trace.close()
    out_leaves, out_tree = tree_flatten(out)
    out_nodes, out_values = [], []
    for leaf in out_leaves:
        if isinstance(leaf, Tensor) and leaf._trace is trace:
            out_nodes.append(leaf._node)
            out_values.append(leaf._value)
        else:
            out_nodes.append(None)
            out_values.append(leaf)
    record = VJP(tape, in_nodes, in_values, in_trees, out_nodes, out_tree, out_values, trace)
    return tree_unflatten(out_tree, out_values), record


def unboxed_at(tree, trace):
    """``tree`` with the Tensors of ``trace`` replaced by their values (auxiliary data
    returned beside a differentiated output is data, as the output itself is)."""
    leaves, structure = tree_flatten(tree)
    return tree_unflatten(
        structure, [v._value if isinstance(v, Tensor) and v._trace is trace else v for v in leaves]
    )


def split_by_argument(record: VJP, grads: list) -> list:
    """Per-argument pytrees of the flat list of input-leaf gradients."""
    out, k = [], 0
    for tree, n in record.in_trees:
        out.append(tree_unflatten(tree, grads[k : k + n]))
        k += n
    return out


def _with_kwargs(fun, kwargs):
    return functools.partial(fun, **kwargs) if kwargs else fun


def check_holomorphic_inputs(name: str, args: Sequence, nums: tuple[int, ...]) -> None:
    """JAX's rule for ``holomorphic=True``: every differentiated input is complex."""
    for i in nums:
        for leaf in tree_flatten(args[i])[0]:
            dtype = np.dtype(leaf.dtype) if isinstance(leaf, Tensor) else np.result_type(leaf)  # (batched too)
            if dtype.kind != "c":
                raise TypeError(
                    f"{name} with holomorphic=True needs complex inputs, but argument {i} has "
                    f"dtype {dtype}; convert it (x.astype(complex)) or leave holomorphic False"
                )


def check_real(name: str, leaves, what: str) -> None:
    """JAX's rule for ``jacrev`` (``what`` "outputs") and ``jacfwd`` ("inputs") without
    ``holomorphic=True``: those values are real, where a complex one would give the
    derivative along real directions alone (half of a Jacobian that is not holomorphic)."""
    for leaf in leaves:
        dtype = np.dtype(leaf.dtype) if hasattr(leaf, "dtype") else np.result_type(leaf)
        if dtype.kind == "c":
            other = "chainrule.vjp" if what == "outputs" else "chainrule.jvp"
            raise TypeError(
                f"{name} needs real-valued {what} (a floating or integer dtype), but got {dtype}, as JAX's "
                f"{name}. For the Jacobian of a holomorphic function pass holomorphic=True; for a "
                f"function that is not holomorphic, differentiate its real and imaginary parts, or use "
                f"{other} directly"
            )


def _scalar_seed(value, fun, holomorphic: bool = False) -> Any:
    if not isinstance(value, Tensor | np.ndarray | np.generic | int | float | complex):
        raise TypeError(
            f"grad needs {getattr(fun, '__name__', 'the function')} to return a scalar "
            f"(a number or an array of one element), not a {type(value).__name__}"
        )
    shape = shape_of(value)
    dtype = value.dtype if hasattr(value, "dtype") else np.result_type(value)
    if math.prod(shape) != 1:
        raise TensorTypeError(
            f"grad of {getattr(fun, '__name__', 'the function')} needs a scalar output, but it "
            f"returned shape {shape}. For the gradient of each output use "
            "chainrule.elementwise_grad (sum of the rows) or chainrule.jacobian (all of them); "
            "or reduce the output to a scalar (e.g. .sum())."
        )
    if holomorphic:
        if dtype.kind != "c":
            raise TypeError(f"grad with holomorphic=True needs a complex output, got {dtype}")
        return np.ones(shape, dtype=dtype)
    if dtype.kind == "c":
        raise TypeError(
            "grad needs a real-valued output, but the output is complex. Use "
            "chainrule.holomorphic_grad for a holomorphic function, or differentiate "
            "a real quantity such as cnp.abs(out) ** 2."
        )
    if dtype.kind not in "fc":
        # a count, an index or a truth value has no derivative: zeros would hide the
        # mistake (autograd and JAX raise a TypeError too)
        raise TypeError(
            f"grad needs {getattr(fun, '__name__', 'the function')} to return a float, but it "
            f"returned a {dtype} value, which has no derivative. Return the "
            "float quantity itself (not a comparison, argmax or count of it)."
        )
    return np.ones(shape, dtype=dtype)


def unwrap_aux(out, has_aux: bool, fun):
    if not has_aux:
        return out, None
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise TensorTypeError(  # a TypeError, and torch.func's RuntimeError
            f"with has_aux=True, {getattr(fun, '__name__', 'the function')} must return a pair "
            "(output, auxiliary data)"
        )
    return out[0], out[1]


def warn_if_independent(record) -> None:
    """A zero gradient, as from a value read out (x.item()) or a constant output: said,
    as HIPS autograd says it, at the user's line (under vmap, jit or jacobian too: not
    inside the transform)."""
    if record.out_nodes and all(pos is None for pos in record.out_nodes):
        warnings.warn("Output seems independent of input.", stacklevel=user_stacklevel())


def _grad_impl(fun, argnums, has_aux, args, kwargs, name="grad", holomorphic=False):
    nums = normalize_argnums(argnums, len(args))
    if holomorphic:
        check_holomorphic_inputs(name, args, nums)
    f = _with_kwargs(fun, kwargs)
    aux_box = []

    def run(*a):
        out, aux = unwrap_aux(f(*a), has_aux, fun)
        aux_box.append(aux)
        return out

    out, record = trace_vjp(run, args, nums, name)
    if isinstance(out, list | tuple | dict):
        # a container of one scalar too: autograd differentiates none and gives zeros
        kind = type(out).__name__
        if not out:
            raise TypeError(f"{name} needs a single scalar output, got an empty {kind}")
        first = next(iter(out)) if isinstance(out, dict) else 0
        count = "one value" if len(out) == 1 else f"{len(out)} values"
        raise TypeError(
            f"{name} needs a single scalar output, got a {kind} of {count}; return the scalar "
            f"itself (out[{first!r}] rather than out), use has_aux=True to return extra values "
            "after it, or chainrule.jacobian for the derivative of each value"
        )
    warn_if_independent(record)
    seed = _scalar_seed(out, fun, holomorphic)
    grads = split_by_argument(record, record.pull(seed, free=True))
    aux = unboxed_at(aux_box[0], record.trace) if has_aux else None
    return out, (grads[0] if isinstance(argnums, int) else tuple(grads)), aux


def grad(
    fun: Callable,
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
    *,
    argnum: int | Sequence[int] | None = None,
) -> Callable:
    """The gradient of a scalar-valued ``fun`` with respect to argument(s) ``argnums``
    (``argnum=``, autograd's spelling, is the same).

    JAX's keywords: ``holomorphic=True`` gives f'(z) of a holomorphic function of complex
    inputs (as :func:`holomorphic_grad`); ``allow_int`` is taken and changes nothing, since
    integer arguments are differentiated as real numbers (HIPS autograd's rule).

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> df = cr.grad(lambda x: cnp.sin(x) * x)
    >>> round(float(df(0.5)), 6)  # cos(0.5) * 0.5 + sin(0.5)
    0.918217
    >>> cr.grad(lambda x, y: x * y, argnum=1)(2.0, 5.0)
    np.float64(2.0)
    """
    argnums = either_argnums(argnums, argnum)

    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        _, g, aux = _grad_impl(fun, argnums, has_aux, args, kwargs, holomorphic=holomorphic)
        return (g, aux) if has_aux else g

    return grad_fun


def value_and_grad(
    fun: Callable,
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
    *,
    argnum: int | Sequence[int] | None = None,
) -> Callable:
    """``fun``'s value and gradient from one evaluation (keywords as :func:`grad`'s).

    >>> import chainrule as cr
    >>> cr.value_and_grad(lambda x: x ** 2)(3.0)
    (np.float64(9.0), np.float64(6.0))
    """
    argnums = either_argnums(argnums, argnum)

    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        out, g, aux = _grad_impl(fun, argnums, has_aux, args, kwargs, "value_and_grad", holomorphic)
        return ((out, aux), g) if has_aux else (out, g)

    return value_and_grad_fun


def grad_and_aux(
    fun: Callable, argnum: int | Sequence[int] = 0, *, argnums: int | Sequence[int] | None = None
) -> Callable:
    """For ``fun`` returning ``(output, aux)``: ``(gradient, aux)`` (HIPS autograd name).

    >>> import chainrule as cr
    >>> cr.grad_and_aux(lambda x: (x ** 2, "note"))(3.0)
    (np.float64(6.0), 'note')
    """
    return grad(fun, either_argnums(argnum, argnums), has_aux=True)


def elementwise_grad(
    fun: Callable, argnums: int | Sequence[int] = 0, *, argnum: int | Sequence[int] | None = None
) -> Callable:
    """The vjp with a cotangent of ones: for an elementwise function, its derivative at
    every point at once.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.elementwise_grad(cnp.tanh)(np.zeros(3))
    array([1., 1., 1.])
    """
    argnums = either_argnums(argnums, argnum)

    @functools.wraps(fun)
    def elementwise_grad_fun(*args, **kwargs):
        nums = normalize_argnums(argnums, len(args))
        out, record = trace_vjp(_with_kwargs(fun, kwargs), args, nums, "elementwise_grad")
        warn_if_independent(record)
        seed = _ones_like_tree(out)
        grads = split_by_argument(record, record.pull(seed, free=True))
        return grads[0] if isinstance(argnums, int) else tuple(grads)

    return elementwise_grad_fun


def holomorphic_grad(
    fun: Callable, argnum: int = 0, *, argnums: int | None = None
) -> Callable:
    """f'(z) of a holomorphic scalar function of a complex argument.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> complex(cr.holomorphic_grad(lambda z: z ** 2)(1 + 2j))
    (2+4j)
    """
    argnum = either_argnums(argnum, argnums)

    @functools.wraps(fun)
    def holomorphic_grad_fun(*args, **kwargs):
        nums = normalize_argnums(argnum, len(args))
        x = args[nums[0]]
        if not np.iscomplexobj(x.primal() if isinstance(x, Tensor) else x):
            raise TypeError("holomorphic_grad needs a complex argument; use grad for real ones")
        out, record = trace_vjp(_with_kwargs(fun, kwargs), args, nums, "holomorphic_grad")
        warn_if_independent(record)
        seed = np.ones(shape_of(out), dtype=np.result_type(getattr(out, "dtype", complex)))
        return split_by_argument(record, record.pull(seed, free=True))[0]

    return holomorphic_grad_fun


def _ones_like_tree(out):
    leaves, tree = tree_flatten(out)
    ones = []
    for v in leaves:
        dtype = v.dtype if hasattr(v, "dtype") else np.result_type(v)
        ones.append(np.ones(shape_of(v), dtype=dtype if dtype.kind in "fc" else np.float64))
    return tree_unflatten(tree, ones)


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """JAX's ``vjp``: ``(out, vjp_fn)``; ``vjp_fn(cotangent)`` gives a tuple with one
    cotangent per primal, and may be called many times.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> out, pull = cr.vjp(lambda x, y: x * y, 2.0, 3.0)
    >>> pull(1.0)
    (np.float64(3.0), np.float64(2.0))
    """
    aux_box = []

    def run(*a):
        out, aux = unwrap_aux(fun(*a), has_aux, fun)
        aux_box.append(aux)
        return out

    out, record = trace_vjp(run, primals, tuple(range(len(primals))), "vjp")

    def vjp_fn(cotangent):
        return tuple(split_by_argument(record, record.pull(cotangent)))

    return (out, vjp_fn, unboxed_at(aux_box[0], record.trace)) if has_aux else (out, vjp_fn)


def make_vjp(
    fun: Callable, argnum: int | Sequence[int] = 0, *, argnums: int | Sequence[int] | None = None
) -> Callable:
    """HIPS autograd's ``make_vjp``: ``make_vjp(f, argnum)(*args) -> (vjp_fn, out)``.

    With a tuple ``argnum``, ``vjp_fn`` returns a tuple of cotangents, one per argument.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> pull, out = cr.make_vjp(cnp.sin)(0.0)
    >>> float(pull(2.0))
    2.0
    """
    argnum = either_argnums(argnum, argnums)

    def make(*args, **kwargs):
        nums = normalize_argnums(argnum, len(args))
        out, record = trace_vjp(_with_kwargs(fun, kwargs), args, nums, "make_vjp")

        def vjp_fn(cotangent):
            # (autograd's vjp takes None for a part of the output: vjp((ones, None)))
            # (and broadcasts a cotangent to its output's shape: vjp(1.0) of a vector output)
            grads = split_by_argument(record, record.pull(cotangent, none_is_zero=True, broadcast=True))
            return grads[0] if isinstance(argnum, int) else tuple(grads)

        return vjp_fn, out

    return make
