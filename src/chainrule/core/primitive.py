"""Primitives: the differentiable building blocks, and their rule tables.

A :class:`Primitive` wraps a plain NumPy function. Called on plain values it *is* that
function; called with a :class:`~chainrule.core.tensor.Tensor` among its arguments it
hands the call to the innermost trace that owns one of them, which records what the
backward pass (or computes what the forward pass) needs.

Rules are plain functions, one per differentiable argument:

* a vjp rule ``rule(g, ans, *args, **kwargs)`` returns the cotangent of that argument
  given the cotangent ``g`` of the output;
* a jvp rule ``rule(t, ans, *args, **kwargs)`` returns the tangent of the output given
  the tangent ``t`` of that argument.

A primitive whose cotangents come out of one computation (a backward pass through time)
may instead declare one vjp rule for all its arguments at once, :func:`def_joint_vjp`.

Rules are written with :mod:`chainrule.numpy`, so they differentiate again.
"""

from __future__ import annotations

import functools
import itertools
import types
from collections.abc import Callable

import numpy as np

from chainrule.core.tensor import NO_UFUNC_OVERRIDE, Tensor, overrides_ufuncs

__all__ = [
    "Primitive",
    "def_vjps",
    "def_jvps",
    "def_joint_vjp",
    "new_vjp_rules",
    "replaced_vjps",
    "given_jvps",
    "rule_argnums",
    "def_linear",
    "RulesByArgument",
    "OutputCotangents",
    "MissingRule",
    "keeps_only",
    "read_arguments",
    "def_batch",
    "NON_DIFFERENTIABLE",
    "real_if_real",
]

# A rule that says "this argument has no derivative" (an index, a condition, a shape).
NON_DIFFERENTIABLE = None


class Primitive:
    """A function that the engine differentiates through its rules, not its body.

    >>> import numpy as np
    >>> cube = Primitive(lambda x: x ** 3, name="cube")
    >>> def_vjps(cube, lambda g, ans, x: g * 3 * x ** 2)
    >>> float(cube(2.0))
    8.0
    """

    __slots__ = (
        "fun", "vjps", "jvps", "joint_jvp", "joint_vjp", "keeps", "multiple_outputs", "call_keywords", "partials",
        "batch", "makes_view", "eager_operands", "jvps_given", "reads", "array_operands", "eager_quiet",
        "replayable", "foreign_keywords", "__dict__",
    )

    def __init__(self, fun: Callable, name: str | None = None, multiple_outputs: bool = False):
        self.fun = fun
        self.vjps: dict[int, Callable | None] = {}
        self.jvps: dict[int, Callable | None] = {}
        # Optional: one jvp rule for all arguments at once, ``rule(tangents, ans, *args)``
        # with None for arguments without a tangent (concatenate: linear in N, not N²).
        self.joint_jvp: Callable | None = None
        # Optional: one vjp rule for all arguments at once (see def_joint_vjp); when set,
        # the backward pass asks it instead of ``vjps``.
        self.joint_vjp: Callable | None = None
        # What the tape must keep for the vjp rules: None (inputs and output), "inputs" or
        # "output". Keeping less lets an intermediate be freed during the forward pass.
        self.keeps: str | None = None
        # Optional: for each argument, the arguments whose values its vjp rule reads (see
        # reads_only); None: any of them, and the output.
        self.reads: tuple[tuple[int, ...], ...] | None = None
        # Whether an eager node of it can be gone through again once the backward pass freed
        # it: its rules read no argument that can be on the graph (see reads_only); or a
        # function of the call's arguments that says whether (getitem: not for an array index)
        self.replayable: bool | Callable = False
        self.multiple_outputs = multiple_outputs
        # Optional: ``hook(prim, args, kwargs)`` that handles a call with keyword arguments
        # (the ufuncs' out=, where=, dtype=, which the rules do not take).
        self.call_keywords: Callable | None = None
        # Keywords that NumPy's function does not take (jax.numpy's precision= of the
        # products): ``call_keywords`` handles a call with one of them on plain arrays too.
        self.foreign_keywords: frozenset = frozenset()
        # For an elementwise function: its partial derivatives, one per argument, each
        # ``d(ans, *args)``, the number 1 or -1 (the cotangent passes as it is, or
        # negated), or None (no derivative): the backward pass multiplies the cotangent by
        # each and sums away broadcasting itself, without calling the vjp rules (which
        # say just that; see chainrule.numpy.registry.elementwise_derivatives).
        self.partials: tuple | None = None
        # The batching rule for chainrule.vmap: ``batch(prim, batched, *args, **kwargs)``,
        # where ``batched[i]`` says whether argument i carries a batch axis in front (a
        # tuple of such flags for a tuple argument); it returns the result with the batch
        # axis in front. None: vmap runs the primitive once per example.
        self.batch: Callable | None = None
        # True for a shape function whose result PyTorch makes a view of its first
        # argument (indexing, reshape, transpose, ...): where NumPy's result shares the
        # argument's memory, the eager layer keeps the link, so that an in-place write
        # into either reaches the other, on a recorded graph too (chainrule.core.eager).
        # A function instead of True gives the view where NumPy gives a scalar (x[0]).
        self.makes_view: bool | Callable = False
        # Optional, for arithmetic of two arguments: ``eager_operands(a, b) -> (a, b)``,
        # which the eager layer calls first, casting the operands so that the result has
        # PyTorch's dtype (chainrule.numpy.torch_promotion); the transforms keep NumPy's.
        self.eager_operands: Callable | None = None
        # The arguments whose jvp rule a program gave (defjvp), True for all of them: a
        # program's defvjp keeps those, and drops the others (see replaced_vjps).
        self.jvps_given: set[int] | bool = set()
        # True for a function whose every argument is an array (a ufunc): a list or tuple
        # among them is that array when another argument is traced, as NumPy takes it, so
        # that the rules see arrays (np.arctan2(x, [1, 2, 3]) differentiates).
        self.array_operands = False
        # True for a function whose NumPy computation warns of some finite inputs (log(0),
        # 1/0, sqrt(-1), exp(1000)): the eager layer computes it with NumPy's floating-point
        # warnings off, as PyTorch's gives inf and nan silently (chainrule.core.eager_trace).
        self.eager_quiet = False
        functools.update_wrapper(self, fun, updated=())
        self.__name__ = name or getattr(fun, "__name__", repr(fun))
        self.__qualname__ = self.__name__

    def __call__(self, *args, **kwargs):
        # The hot path: find the innermost trace among the arguments, or run plain NumPy.
        if len(args) == 1:
            a = args[0]
            if isinstance(a, Tensor):
                if kwargs and self.call_keywords is not None:
                    return self.call_keywords(self, args, kwargs)
                if kwargs:
                    inner = _keyword_trace(kwargs, a._trace)
                    if inner is not None:  # np.mean(x, where=w): w batched inside grad of x
                        return inner.process(self, args, kwargs)
                return a._trace.unary(self, a, kwargs)
            if (a.__class__ is list or a.__class__ is tuple) and holds_tensor(a):
                return self(SEQUENCE_TO_ARRAY[0](a), **kwargs)  # np.mean([x, y])
            if kwargs and self.call_keywords is not None and self._hooks(kwargs):
                return self.call_keywords(self, args, kwargs)  # np.var(x, mean=m): m traced
            if kwargs:
                inner = _keyword_trace(kwargs, None)
                return self.fun(a, **kwargs) if inner is None else inner.process(self, args, kwargs)
            return self.fun(a)
        if len(args) == 2:  # two arguments, neither a sequence nor another library's container:
            a, b = args  # the argument scan below, spelled out (most calls of the rules)
            if isinstance(a, Tensor):
                trace = a._trace
                if isinstance(b, Tensor):
                    if b._trace.level > trace.level:
                        trace = b._trace
                elif b.__class__ not in PLAIN_OPERANDS and not (
                        b.__class__ is tuple and not kwargs and not self.array_operands
                        and FLAT_ITEMS.issuperset(map(type, b))):
                    trace = None  # (a shape or an axis tuple of numbers: the scan below says the same)
            elif a.__class__ in PLAIN_OPERANDS:
                if isinstance(b, Tensor):
                    trace = b._trace
                elif b.__class__ in PLAIN_OPERANDS and not kwargs:
                    return self.fun(a, b)
                else:
                    trace = None
            else:
                trace = None
            if trace is not None:
                if kwargs and self.call_keywords is not None:
                    return self.call_keywords(self, args, kwargs)
                return trace.process(self, args, kwargs)
        trace = None
        overrider = False
        sequences = 0  # 1: lists or tuples of numbers, slices... only; 2: one may hold a Tensor
        for a in args:
            if isinstance(a, Tensor):
                t = a._trace
                if trace is None or t.level > trace.level:
                    trace = t
            elif a.__class__ is list or a.__class__ is tuple:
                # (a shape or an axis tuple, mostly: its items' types are read in C)
                sequences = 2 if sequences == 2 or not FLAT_ITEMS.issuperset(map(type, a)) else 1
            elif a.__class__ not in NO_UFUNC_OVERRIDE and overrides_ufuncs(a):
                overrider = True
        if sequences:
            if sequences == 2:
                for a in args:
                    if (a.__class__ is list or a.__class__ is tuple) and holds_tensor(a):
                        return self(*map(as_array_if_holds_tensor, args), **kwargs)  # np.dot([x, y], z)
            if self.array_operands and trace is not None:
                args = tuple(np.asarray(a) if a.__class__ is list or a.__class__ is tuple else a for a in args)
            if sequences == 2 and RECORDING[0]:  # an index tuple may hold a value that jit or vmap traces
                inner = _trace_in_tuples(args)  # the traces of the other arguments
                if inner is not None and (trace is None or inner.level > trace.level):
                    trace = inner
        if kwargs and (self.call_keywords is None or trace is not None):
            trace = _keyword_trace(kwargs, trace) or trace
        if trace is None:
            if kwargs and self.call_keywords is not None and self._hooks(kwargs):
                return self.call_keywords(self, args, kwargs)
            return self.fun(*args, **kwargs)
        if overrider:  # another library's container (see overrides_ufuncs), as NumPy does:
            if isinstance(self.fun, np.ufunc):  # np.multiply(x, data_array): the container
                return self.fun(*args, **kwargs)  # holds x's result, by NumPy's dispatch;
            args = tuple(np.asarray(a) if overrides_ufuncs(a) else a for a in args)  # np.dot: its array
        if kwargs and self.call_keywords is not None:
            return self.call_keywords(self, args, kwargs)
        return trace.process(self, args, kwargs)

    def __get__(self, obj, objtype=None):
        """Set on Tensor's class (HIPS autograd's ``ArrayBox``, which libraries patch: tidy3d
        sets ``ArrayBox.conj = anp.conj``), a function of the mirror is a method of the value,
        as autograd's functions are; on any other class it stays unbound, as NumPy's ufuncs
        do (``class A: act = cnp.tanh``)."""
        return types.MethodType(self, obj) if isinstance(obj, Tensor) else self

    def _hooks(self, kwargs: dict) -> bool:
        """Whether ``call_keywords`` handles a call on plain arrays with ``kwargs``: a
        Tensor among them, or a keyword that NumPy's function does not take."""
        return _any_tensor(kwargs.values()) or not self.foreign_keywords.isdisjoint(kwargs)

    def __repr__(self) -> str:
        return f"<primitive {self.__name__}>"


    # Missing rules are reported with the primitive's name and the way to add one.
    def missing_rule(self, mode: str, argnum: int) -> Exception:
        kind = "vjp (reverse mode)" if mode == "rev" else "jvp (forward mode)"
        how = "chainrule.defvjp" if mode == "rev" else "chainrule.defjvp"
        return MissingRule(
            f"{self.__name__}: no {kind} rule for argument {argnum}. "
            f"Define one with {how}({self.__name__}, ...).", mode
        )


class MissingRule(NotImplementedError):
    """A primitive has no rule for this mode (``mode``: "fwd" or "rev") and none can be
    derived from the other mode's rules."""

    def __init__(self, message: str, mode: str):
        super().__init__(message)
        self.mode = mode



# The classes of arguments that Primitive.__call__ looks no further into: no sequence that
# may hold Tensors, no container that takes part in NumPy's ufunc dispatch.
PLAIN_OPERANDS = NO_UFUNC_OVERRIDE - {list, tuple}
# The types of the items of a list or tuple argument that cannot be or hold a Tensor.
FLAT_ITEMS = frozenset({int, float, bool, complex, str, type(None), slice, type(Ellipsis), np.int64, np.int32,
                        np.float64, np.float32, np.bool_})

# How many jit and vmap traces are open: while none is, nothing needs looking for them.
RECORDING = [0]

# How an array-like list or tuple that holds Tensors becomes one array (a Tensor):
# chainrule.numpy.array, set by that module (the core imports nothing above it).
SEQUENCE_TO_ARRAY: list = [None]


def _any_tensor(values) -> bool:
    """Whether a Tensor is among ``values``, or in a tuple among them (``out=``, which
    NumPy's dispatch hands over as a tuple)."""
    return any(isinstance(v, Tensor) or v.__class__ is tuple and any(isinstance(a, Tensor) for a in v)
               for v in values)


def _keyword_trace(kwargs: dict, trace):
    """The trace of a vmap that batches a Tensor among the keyword arguments (a mask
    ``where=``) and is inner to ``trace`` (to every trace, for None), or None: the call is
    that trace's, as for a positional argument. (NumPy's own call would hand it back
    through the Tensor's ``__array_ufunc__``, without end.) Only a batching trace takes
    keyword values in its ``process``; the others get them through NumPy's dispatch,
    which passes them by position where the function allows (``np.outer(a, b=t)``)."""
    inner = None
    for v in kwargs.values():
        if isinstance(v, Tensor) and v._trace.batches and (trace is None or v._trace.level > trace.level) and (
                inner is None or v._trace.level > inner.level):
            inner = v._trace
    return inner


def holds_tensor(seq) -> bool:
    """Whether the (nested) list or tuple ``seq`` holds a Tensor of floating-point or
    complex values: an array-like argument to differentiate through, as in
    ``np.sum([x, y])``. (A tuple of integer Tensors is an index, left as it is.)"""
    for v in seq:
        if isinstance(v, Tensor):
            if v.dtype.kind in "fc":
                return True
        elif (v.__class__ is list or v.__class__ is tuple) and holds_tensor(v):
            return True
    return False


def as_array_if_holds_tensor(a):
    if (a.__class__ is list or a.__class__ is tuple) and holds_tensor(a):
        return SEQUENCE_TO_ARRAY[0](a)
    return a


def _trace_in_tuples(args):
    found = None
    for a in args:
        if a.__class__ is tuple:
            for v in a:
                if isinstance(v, Tensor) and (v._trace.records or v._trace.batches):
                    if found is None or v._trace.level > found.level:
                        found = v._trace
    return found


class OutputCotangents(list):
    """The cotangents of the outputs of a multiple-output primitive (eigh, svd, ...), in
    output order, None for an output that was not used; they add up entry by entry."""

    __slots__ = ()

    def __add__(self, other):
        return OutputCotangents(
            b if a is None else a if b is None else a + b for a, b in zip(self, other, strict=True)
        )

    __radd__ = __add__


def def_vjps(prim: Primitive, *rules: Callable | None, argnums: tuple[int, ...] | None = None):
    """Register flat vjp rules ``rule(g, ans, *args, **kwargs)``, one per argument."""
    new_vjp_rules(prim)
    for argnum, rule in zip(argnums or range(len(rules)), rules, strict=True):
        prim.vjps[argnum] = rule


def def_joint_vjp(prim: Primitive, rule: Callable) -> None:
    """Register one vjp rule for all arguments: ``rule(g, ans, argnums, *args, **kwargs)``
    returns a sequence with the cotangent of each argument in ``argnums`` (the ones the
    backward pass needs) at that argument's position, None where there is none. For a
    primitive whose cotangents come out of one computation, made once per backward pass.

    >>> import chainrule as cr, numpy as np
    >>> mul = Primitive(lambda x, y: x * y, name="mul")
    >>> def_joint_vjp(mul, lambda g, ans, argnums, x, y: (g * y, g * x))
    >>> cr.grad(lambda x, y: mul(x, y).sum(), (0, 1))(np.array([2.0]), np.array([3.0]))
    (array([3.]), array([2.]))
    """
    new_vjp_rules(prim)
    prim.joint_vjp = rule


def new_vjp_rules(prim: Primitive) -> None:
    """Forget what was declared about the old vjp rules of ``prim``: the backward pass
    must call the new ones (no elementwise shortcut), and they may read the inputs and
    the output both (a user's rule for ``sqrt`` that reads ``x``, where chainrule's own
    reads only the output; ``keeps_only`` declares it again for rules that read less)."""
    prim.partials = None
    prim.keeps = None
    prim.reads = None
    prim.replayable = False


def def_jvps(prim: Primitive, *rules: Callable | None, argnums: tuple[int, ...] | None = None):
    """Register jvp rules ``rule(t, ans, *args, **kwargs)``, one per argument."""
    for argnum, rule in zip(argnums or range(len(rules)), rules, strict=True):
        prim.jvps[argnum] = rule




def rule_argnums(argnums, n: int) -> tuple[int, ...]:
    """The arguments that ``n`` rules given to defvjp/defjvp are for: ``argnums`` (any
    iterable, ``itertools.count(1)`` included, as HIPS autograd allows) up to ``n`` of
    them, or the first ``n`` arguments.

    >>> rule_argnums(itertools.count(1), 2)
    (1, 2)
    """
    return tuple(range(n)) if argnums is None else tuple(itertools.islice(argnums, n))


def replaced_vjps(prim: Primitive, argnums=None) -> None:
    """A program gave ``prim`` new vjp rules for ``argnums`` (None: every argument) with
    defvjp: the forward rules it did not give for them go, so that forward mode derives
    them from the new vjp rules (:func:`chainrule.core.backward.derive_jvp`) and both modes give one
    derivative. (A program that replaces ``sqrt``'s vjp to be finite at 0 then gets the
    same numbers from ``jacobian``, which may run forward mode, as from reverse mode;
    HIPS autograd keeps the old forward rule.)"""
    given = prim.jvps_given
    if given is True:
        return
    replaced = None if argnums is None else set(argnums)

    def dropped(k: int) -> bool:
        return k not in given and (replaced is None or k in replaced)

    old = prim.jvps
    if isinstance(old, RulesByArgument):  # rules made per argument: not for the dropped ones
        def make(k: int, make=old.make):
            if dropped(k):
                raise KeyError(k)  # the forward trace derives the rule then
            return make(k)

        new = RulesByArgument(make)
    else:
        new = {}
    new.update((k, rule) for k, rule in old.items() if not dropped(k))
    prim.jvps = new
    prim.joint_jvp = None


def given_jvps(prim: Primitive, argnums=None) -> None:
    """A program gave ``prim`` forward rules for ``argnums`` (None: every argument) with
    defjvp; a later defvjp keeps them (see :func:`replaced_vjps`)."""
    if argnums is None:
        prim.jvps_given = True
    elif prim.jvps_given is not True:
        prim.jvps_given.update(argnums)




class RulesByArgument(dict):
    """The rules of a primitive that takes any number of arrays (``concatenate(*arrays)``,
    ``einsum(*operands)``): ``make(k)`` builds the rule for argument ``k`` when first
    asked for. Assign it to ``prim.vjps`` or ``prim.jvps``."""

    def __init__(self, make: Callable[[int], Callable | None]):
        super().__init__()
        self.make = make

    def __missing__(self, k: int) -> Callable | None:
        self[k] = rule = self.make(k)
        return rule


def keeps_only(what: str, *prims: Primitive) -> None:
    """Declare that the vjp rules of ``prims`` read only their ``"inputs"`` or only their
    ``"output"``, so a reverse trace need not keep the other alive until the backward pass
    (a layer ``tanh(h @ w)`` then stores one activation, not two)."""
    if what not in ("inputs", "output"):
        raise ValueError(f"keeps_only: 'inputs' or 'output', not {what!r}")
    for prim in prims:
        prim.keeps = what


def reads_only(prim: Primitive, *reads: tuple[int, ...]) -> None:
    """Declare, for each argument of ``prim`` in turn, the arguments whose values its vjp
    rule reads (their shapes and dtypes aside; the output is read as ``keeps`` says), or,
    with no ``reads`` at all, that no rule reads any argument's values (``concatenate``,
    of any number of arguments): an in-place write into any other argument after the call
    leaves that gradient right, and the eager backward pass lets it be, as PyTorch does
    for what its functions do not save (the ``x`` of ``x + 1`` or of ``x * 2``, the ``y``
    of ``x * y`` when only ``y`` needs a gradient)."""
    prim.reads = tuple(tuple(r) for r in reads)
    prim.replayable = not any(prim.reads)


def read_arguments(prim: Primitive, parents, n: int):
    """The positions of the arguments (of ``n``) whose values the vjp rules of a call of
    ``prim`` read, for the differentiated ones in ``parents`` ((position, node) pairs):
    PyTorch's saved tensors. None where the rules read only the output, all of them where
    nothing is declared."""
    if prim.keeps == "output" or prim.reads == ():
        return ()
    if prim.reads is None:
        return range(n)
    return {i for j, _ in parents for i in prim.reads[j]}


def def_batch(rule: Callable, *prims: Primitive) -> None:
    """Declare the batching rule of ``prims`` for ``chainrule.vmap``:
    ``rule(prim, batched, *args, **kwargs)`` gets the arguments with a batch axis in front
    where ``batched`` says so and returns the result with the batch axis in front. The
    generic kinds (elementwise, reductions along ``axis``, ...) are in
    ``chainrule.numpy.batching``.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cube = cr.primitive(lambda x: x ** 3)
    >>> def_batch(lambda prim, batched, x: prim(x), cube)   # elementwise: nothing to move
    >>> cr.vmap(cube)(np.array([1.0, 2.0]))
    array([1., 8.])
    """
    for prim in prims:
        prim.batch = rule


def def_linear(prim: Primitive, *argnums: int):
    """The primitive is linear in these arguments: its jvp is the primitive of the tangent."""

    def linear_jvp(argnum):
        def rule(t, ans, *args, **kwargs):
            args = list(args)
            args[argnum] = t
            return prim(*args, **kwargs)

        return rule

    for argnum in argnums or (0,):
        prim.jvps[argnum] = linear_jvp(argnum)


def real_if_real(gi, args, argnum: int, ans):
    """The cotangent ``gi`` for the argument ``args[argnum]``, real if that is real.

    A real value beside a complex one (``concatenate([abs(z), c])``, ``outer(x, c)``)
    receives from the rules of the complex result a complex cotangent; its imaginary part
    belongs to no direction the real value can move in, and left in place it corrupts the
    rules further back (``abs``' rule is complex-linear in ``g``). Dropping it here, for
    every rule at once, is the projection of the cotangent onto the real line. (A tape
    entry that keeps only its output, ``args[argnum] is None``, keeps it for a function
    that preserves the dtype's kind, so ``ans`` tells.)
    """
    try:
        if gi.dtype.kind != "c":
            return gi
    except AttributeError:
        if not isinstance(gi, complex):
            return gi
    arg = args[argnum]
    if arg is None:
        arg = ans
    try:
        if arg.dtype.kind == "c":
            return gi
    except AttributeError:
        if isinstance(arg, complex):
            return gi
    return gi.real
