"""Traces: where a primitive call on Tensors is recorded (reverse) or pushed forward.

Every transform opens a trace with a fresh, higher ``level``. A primitive called on
Tensors goes to the trace with the highest level among its arguments; that trace unboxes
only its own Tensors and calls the primitive again on the rest, so outer traces see the
call too. Because each trace only unboxes what is its own, nested transforms cannot
confuse their perturbations (Siskind and Pearlmutter's example stays correct).

* :class:`ReverseTrace` appends an entry per call to its tape, so the backward pass
  runs over the tape in reverse without sorting anything, with the cotangents in a flat
  list indexed by tape position.
* :class:`ForwardTrace` computes each output's tangent at once from the jvp rules.
* :class:`EagerTrace` is the PyTorch-like layer: level 0, always open, with the graph
  kept as links between nodes so unused parts are freed by Python.
"""

from __future__ import annotations

import functools
import itertools
import threading
import weakref

import numpy as np

from chainrule.core.dtypes import default_float_dtype, wrapped_int
from chainrule.core.primitive import NO_TANGENT, RECORDING, OutputCotangents, Primitive, RulesByArgument
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tensor import BOX_TYPES, NO_KWARGS, TRACE_TYPES, Tensor, eager_error
from chainrule.core.values import zeros_like

__all__ = [
    "EagerNode",
    "ReverseTrace",
    "OPEN_REVERSE",
    "ForwardTrace",
    "EagerTrace",
    "EAGER",
    "PROJECT",
    "LEAF",
    "CONSTANT",
    "tape_entry",
    "RANDOM_SOURCES",
    "GRAD_MODE",
    "grad_enabled",
    "set_grad_mode",
    "set_inference_mode",
    "INFERENCE_MODE",
    "INFERENCE_MADE",
    "note_view",
    "note_transform_view",
    "note_pieces",
    "register_view",
    "named_as_torch",
    "index_replayable",
    "quiet_numpy",
    "restore_numpy",
]

_ndarray = np.ndarray
# Arrays up to this size stay in an outline as they are: outlining them would cost the
# backward pass more time than the memory it frees is worth.
_KEPT_BYTES = 1 << 12


def _outline(entry: tuple, reads: tuple) -> tuple | None:
    """What the backward pass needs of ``entry``, whose rules read no argument that can
    be on the graph, where some of its arrays are large: the entry with each large array
    that no rule reads (``reads``, Primitive.reads) left out and noted (its position,
    shape, dtype and whether it is laid out in Fortran order alone: a reshape with
    ``order='A'`` reads that). None where a rule reads a large array (an index), or
    where the call had several outputs."""
    prim, parents, args, kwargs, ans = entry
    if ans.__class__ is tuple:
        return None
    read = () if reads is None else {i for r in reads for i in r}
    args = list(args)
    arrays = []
    for i, a in enumerate(args):
        if a.__class__ is _ndarray and a.nbytes > _KEPT_BYTES:
            if i in read:
                return None
            fortran = a.ndim > 1 and not a.flags.c_contiguous and a.flags.f_contiguous
            arrays.append((i, a.shape, a.dtype, fortran))
            args[i] = None
    if ans.__class__ is _ndarray and ans.nbytes > _KEPT_BYTES:
        arrays.append((-1, ans.shape, ans.dtype, False))
        ans = None
    return prim, parents, args, kwargs, ans, arrays


def _stand_in(shape: tuple, dtype, fortran: bool) -> np.ndarray:
    """An array of that shape and dtype for rules that read no value: zeros, which take
    no memory unless laid out in Fortran order."""
    return np.zeros(shape, dtype, order="F") if fortran else np.broadcast_to(np.zeros((), dtype), shape)


_levels = itertools.count(1)
_new_tensor = object.__new__  # the hot paths make Tensors without calling __init__
_node_count = itertools.count()


class EagerNode:
    """One recorded primitive call of the eager graph, linked to its parents' nodes.

    ``parents`` pairs each differentiated argument position with that argument's node;
    ``entry`` is the call as the backward pass reads it, ``(prim, parents, args, kwargs,
    ans)`` (a tape entry; None once the graph is freed); ``inputs`` are the argument
    Tensors themselves (for ``create_graph=True``), ``tensor_ref`` a weak reference to a
    leaf's Tensor (where its ``.grad`` goes) and ``hooks`` the functions registered on the
    Tensor.
    """

    __slots__ = (
        "prim", "parents", "entry", "inputs", "tensor_ref", "hooks", "stamp", "outline",
        "seq", "origin",  # origin: where the call was made, set only by detect_anomaly
        "torch_name",  # PyTorch's name of the composite operation that ends here (named_as_torch)
    )

    def __init__(self, prim, parents, args, kwargs, ans, inputs=None, stamp=0):
        self.prim = prim
        self.parents = parents
        self.entry = (prim, parents, args, kwargs, ans)
        self.inputs = inputs
        self.tensor_ref = None
        self.hooks = None
        self.stamp = stamp  # the eager clock when recorded; later in-place writes are newer
        self.seq = next(_node_count)  # creation order, a topological order of the graph

    # the parts of the entry, for code that inspects a graph (chainrule.viz)
    @property
    def args(self):
        return None if self.entry is None else self.entry[2]

    @property
    def kwargs(self):
        return None if self.entry is None else self.entry[3]

    @property
    def ans(self):
        return None if self.entry is None else self.entry[4]

    def free(self) -> None:
        """Drop what the node keeps for the backward pass (the graph below it goes too).

        A node whose rules read no saved array (``x + y``, ``x.sum()``, a reshape, a
        clone: PyTorch's nodes that save no tensor) keeps its place in the graph and an
        outline of its entry (the shapes and dtypes of its large arrays; small ones are
        kept), so that a later backward pass can go through it again, as PyTorch's can
        (:meth:`replayed`)."""
        entry = self.entry
        self.entry = self.inputs = None
        if entry is None:  # (freed before: an outline stays)
            if getattr(self, "outline", None) is None:
                self.parents = None
            return
        prim = self.prim
        replayable = prim.replayable
        if replayable and (replayable is True or replayable(entry[2])):
            for a in entry[2]:
                if a.__class__ is _ndarray and a.nbytes > _KEPT_BYTES:
                    break
            else:
                ans = entry[4]
                if ans.__class__ is not _ndarray or ans.nbytes <= _KEPT_BYTES:
                    self.outline = entry  # small arrays: kept as they are
                    return
            self.outline = _outline(entry, prim.reads)
            if self.outline is not None:
                return
        self.parents = None

    def replayed(self) -> tuple | None:
        """The entry of a node freed by :meth:`free` whose rules read no saved array:
        stand-ins of its arrays (of their shapes and dtypes, no values), which is all its
        rules read; None where the entry was freed for good."""
        outline = getattr(self, "outline", None)
        if outline is None:
            return None
        if len(outline) == 5:  # the entry itself, its arrays small
            return outline
        prim, parents, args, kwargs, ans, arrays = outline
        args = list(args)
        for i, shape, dtype, fortran in arrays:
            if i < 0:
                ans = _stand_in(shape, dtype, fortran)
            else:
                args[i] = _stand_in(shape, dtype, fortran)
        return prim, parents, args, kwargs, ans

    def __repr__(self) -> str:
        name = "leaf" if self.prim is None else self.prim.__name__
        return f"<EagerNode {name}>"

    def name(self) -> str:
        """PyTorch's ``grad_fn.name()``: PyTorch's name of the node of the primitive
        (``AddBackward0``, ``SumBackward1`` for a sum along dims, ``MmBackward0``), as far
        as one primitive stands for one PyTorch operation; else the primitive's name and
        ``Backward`` (``whereBackward``); ``AccumulateGrad`` for a leaf's node. The last
        node of a composite operation has the name of the operation (``AbsBackward0`` for
        ``x.abs()``, :func:`named_as_torch`)."""
        if self.prim is None:
            return "AccumulateGrad"
        composite = getattr(self, "torch_name", None)  # (unset unless a composite operation named it)
        if composite is not None:
            return composite
        name = self.prim.__name__
        torch_name = _TORCH_NAMES.get(name)
        if torch_name is None:
            return f"{name}Backward"
        if not isinstance(torch_name, str):  # (args, kwargs, positions on the graph), None once freed
            entry = self.entry
            torch_name = torch_name(*(() if entry is None else (entry[2], entry[3] or {}, dict(entry[1]))))
        return torch_name if "Backward" in torch_name else f"{torch_name}Backward0"

    def torch_named(self) -> EagerNode:
        """The node itself, its class named as :meth:`name` (``type(y.grad_fn).__name__``
        is ``'AddBackward0'``, as PyTorch's); done when the node is looked at, not when made."""
        name = self.name()
        cls = _NAMED_NODES.get(name)
        if cls is None:
            cls = _NAMED_NODES[name] = type(name, (EagerNode,), {"__slots__": ()})
        if self.__class__ is not cls:
            self.__class__ = cls
        return self

    @property
    def next_functions(self) -> tuple:
        """PyTorch's ``grad_fn.next_functions``: for each argument of the call, ``(node, 0)``
        where it is on the graph (a leaf's node stands for PyTorch's AccumulateGrad), else
        ``(None, 0)``; empty for a leaf, or once the backward pass freed the graph."""
        if self.prim is PROJECT:  # output k of a multiple-output call: that call's
            return self.parents[0][1].next_functions if self.parents else ()
        if not self.parents:
            return ()
        nodes = dict(self.parents)
        n = len(self.inputs) if isinstance(self.inputs, tuple | list) else max(nodes) + 1
        return tuple((None if nodes.get(i) is None else nodes[i].torch_named(), 0) for i in range(n))


def _ndim(x) -> int:
    return len(getattr(x, "shape", ()))


def _by_dims(args=None, kwargs=None, on_graph=None) -> str:
    """PyTorch's node of a matrix product, by the operands' dimensions."""
    dims = (_ndim(args[0]), _ndim(args[1])) if args is not None else (2, 2)
    return {(2, 2): "Mm", (1, 1): "Dot", (2, 1): "Mv", (3, 3): "Bmm"}.get(dims, "matmulBackward")


def _with_dims(zero: str, one: str):
    """PyTorch's node of a reduction (or squeeze): ``zero`` over all the elements, ``one``
    along given dims."""
    def name(args=None, kwargs=None, on_graph=None) -> str:
        if args is None:
            return zero
        return zero if kwargs.get("axis", args[1] if len(args) > 1 else None) is None else one
    return name


def _saves_no_index(index) -> bool:
    """Whether PyTorch's node of ``x[index]`` saves no Tensor: an index of integers (a 0-d
    integer array too), slices, None and Ellipsis (SelectBackward0, SliceBackward0); an
    array, a list or a bool in it makes the node IndexBackward0, which saves the index."""
    for e in index if type(index) is tuple else (index,):
        if e is None or e is Ellipsis or e.__class__ is slice:
            continue
        if isinstance(e, bool | np.bool_) or not (
                isinstance(e, int | np.integer) or e.__class__ is _ndarray and e.ndim == 0 and e.dtype.kind in "iu"):
            return False
    return True


def index_replayable(args) -> bool:
    """Whether a freed node of ``x[index]`` (``args``: the arguments ``x, index``) can be gone
    through again: where PyTorch's node saves no index (:func:`_saves_no_index`); a second
    backward pass through ``x[[0, 2]]`` or ``x[mask]`` is refused, as PyTorch refuses it."""
    return _saves_no_index(args[1])


def _of_index(args=None, kwargs=None, on_graph=None) -> str:
    """PyTorch's node of ``x[index]``: Select for integers, Slice for slices, Index for arrays."""
    index = args[1] if args is not None and len(args) > 1 else None
    if not _saves_no_index(index):
        return "Index"
    entries = index if type(index) is tuple else (index,)
    return "Slice" if any(isinstance(e, slice) for e in entries) else "Select"


def _of_clamp(args=None, kwargs=None, on_graph=None) -> str:
    """PyTorch's node of clamp: ClampBackward1 between numbers, ClampBackward0 between Tensors."""
    return "ClampBackward0" if args is not None and any(isinstance(b, np.ndarray) for b in args[1:3]) \
        else "ClampBackward1"


def _of_linear(args=None, kwargs=None, on_graph=None) -> str:
    """PyTorch's node of ``F.linear``: Addmm (Mm without a bias) for a matrix input, else
    the View of the result of its flattened input's product."""
    biased = args is None or len(args) > 2 and args[2] is not None
    dims = 2 if args is None else _ndim(args[0])
    if dims == 2:
        return "Addmm" if biased else "Mm"
    return "View" if biased else "SqueezeBackward4" if dims == 1 else "UnsafeView"


# PyTorch's names of the nodes of the operations that one primitive carries out (see
# EagerNode.name): a name, or a function of the call for those PyTorch names by overload
_TORCH_NAMES = {
    "add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div", "true_divide": "Div",
    "negative": "Neg", "square": "Pow", "sqrt": "Sqrt", "exp": "Exp", "log": "Log", "log1p": "Log1P",
    "reciprocal": "Reciprocal", "expm1": "Expm1", "sin": "Sin", "cos": "Cos", "tan": "Tan", "sinh": "Sinh",
    "cosh": "Cosh",
    "tanh": "Tanh", "arctan": "Atan", "arcsin": "Asin", "arccos": "Acos", "sigmoid": "Sigmoid",
    "relu": "Relu", "reshape": "View", "transpose": "Permute", "swapaxes": "Transpose",
    "expand_dims": "Unsqueeze", "concatenate": "Cat", "stack": "Stack", "copy": "Clone",
    "astype": "ToCopy", "where": "Where", "broadcast_to": "Expand", "logsumexp": "Logsumexp",
    "clamp": _of_clamp, "prod": "Prod", "cumsum": "Cumsum", "var": "Var", "std": "Std",
    "power": lambda args=None, kwargs=None, on_graph=None: "PowBackward1" if on_graph and 1 in on_graph else "Pow",
    "sum": _with_dims("Sum", "SumBackward1"), "mean": _with_dims("Mean", "MeanBackward1"),
    "max": _with_dims("MaxBackward1", "Amax"), "min": _with_dims("MinBackward1", "Amin"),
    "squeeze": _with_dims("Squeeze", "SqueezeBackward1"), "matmul": _by_dims, "getitem": _of_index,
    # torch.nn.functional's
    "linear": _of_linear, "softmax": "Softmax", "safe_softmax": "Softmax", "log_softmax": "LogSoftmax",
    "gelu": "Gelu", "gelu_tanh": "Gelu", "silu": "Silu", "leaky_relu": "LeakyRelu", "elu": "Elu",
    "softplus": "Softplus", "channels_first": "Convolution", "max_pool2d": "MaxPool2DWithIndices",
}
_NAMED_NODES: dict[str, type] = {}


def named_as_torch(result, name: str):
    """``result`` of an operation composed of several primitives (``x.abs()`` of a
    ``where``), its eager node named as PyTorch names the operation's (``'AbsBackward0'``),
    for ``grad_fn.name()`` and ``type(grad_fn).__name__``; a result off the eager graph is
    left as it is. The result must be a Tensor the operation made, not one of its inputs.
    """
    node = getattr(result, "_node", None)  # (an index on a tape, under chainrule.jit)
    if isinstance(node, EagerNode) and node.prim is not None:
        node.torch_name = name
    return result


def _project_rule(k: int):
    def rule(g, ans, n_outputs):
        cots = OutputCotangents([None] * n_outputs)
        cots[k] = g
        return cots

    return rule


# The record of output k of a multiple-output primitive: a one-parent primitive whose
# "argument number" is k and whose vjp puts the cotangent in place k of the outputs' list.
PROJECT = Primitive(lambda *args: None, name="project")
PROJECT.vjps = RulesByArgument(_project_rule)


# A tape entry of a reverse trace is a plain tuple (cheaper to make than an object):
#   (prim, parents, args, kwargs, ans), parents = ((argnum, tape position), ...).
# A Tensor of a reverse trace holds its tape position in ``_node``; an input's entry is
# LEAF, and one output of a multiple-output primitive has prim PROJECT. A value computed
# under no_grad() is a CONSTANT: an entry like LEAF's, but of nothing the transform
# differentiates (PyTorch lets it be changed in place).
LEAF = (None, (), None, None, None)
CONSTANT = tuple(list(LEAF))  # (a tuple of its own: the two are told apart by identity)


def tape_entry(prim, parents, args, kwargs, ans) -> tuple:
    """A tape entry, for code outside the hot paths (which build the same tuple inline)."""
    return (prim, parents, args, kwargs, ans)


def _keyword_tensor(kwargs) -> bool:
    """Whether a keyword argument holds a Tensor of a trace below (a mask ``where=`` that a
    vmap batches): the call then goes through ``Primitive.__call__``'s door to that trace,
    as a positional one does (NumPy's own call would hand it back through the mask's
    ``__array_ufunc__``, without end)."""
    return any(isinstance(v, Tensor) for v in kwargs.values())


class Trace:
    """What every trace offers: ``process(prim, args, kwargs)``, and the one- and
    two-argument calls (operators, ufuncs) that a trace may spell out for speed."""

    __slots__ = ()
    records = False  # only chainrule.jit's trace records a program
    batches = False  # only chainrule.vmap's trace: its values hold a batch of examples
    # only chainrule.jit's trace of a call on plain arrays: its values have only NumPy's
    # methods, as the plain call's have
    plain_arrays = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        TRACE_TYPES.add(cls)  # what Tensor(value, trace) tells from torch.Tensor(2, 3)

    def unary(self, prim, a, kwargs=NO_KWARGS):
        return self.process(prim, (a,), kwargs)

    def binary(self, prim, a, b, kwargs=NO_KWARGS):
        return self.process(prim, (a, b), kwargs)

    def composite(self, prim, args):
        """A :class:`~chainrule.core.primitive.CompositePrimitive` called on this trace's
        Tensors. A trace without rules for it runs its body, whose calls come back here."""
        return prim.fun(*args)


def own_leaves(trace, args):
    """The leaves of the pytree ``args`` with this trace's Tensors unboxed, the positions
    of those, and the tree: what a trace's ``composite`` method starts from."""
    leaves, in_tree = tree_flatten(args)
    values = list(leaves)
    own = []
    for i, v in enumerate(leaves):
        if isinstance(v, Tensor) and v._trace is trace:
            values[i] = v._value
            own.append(i)
    return leaves, values, own, in_tree


def record_composite(trace, rules, parents, values, out, inputs=None):
    """Box a composite call's ``out`` pytree on a reverse or eager trace: one record (a
    tape entry or an EagerNode) of ``rules`` for the call, one more per output leaf if
    there are several (as for any multiple-output primitive)."""
    out_leaves, out_tree = tree_flatten(out)
    ans = tuple(out_leaves) if rules.multiple_outputs else out_leaves[0]
    record = tape_entry(rules, parents, values, NO_KWARGS, ans)
    tape = getattr(trace, "tape", None)
    if tape is not None:
        tape.append(record)
        node = len(tape) - 1
    else:
        node = EagerNode(*record, inputs=inputs)
        node.stamp = trace.clock
    if rules.multiple_outputs:
        boxed = project_outputs(trace, node, ans, tape)
    else:
        boxed = (Tensor(ans, trace, node),)
    return tree_unflatten(out_tree, list(boxed))


class ReverseTrace(Trace):
    """Records primitive calls on a tape for one reverse-mode transform.

    A ``lean`` trace keeps of each call only what its vjp rules read (``Primitive.keeps``);
    a trace that is to be inspected (``chainrule.viz``) keeps everything.
    """

    __slots__ = ("level", "tape", "name", "lean", "origins", "outer_mode", "branches")

    def __init__(self, name: str = "grad", lean: bool = True):
        self.level = next(_levels)
        self.tape: list[tuple] | None = []
        self.name = name
        self.lean = lean
        self.origins: dict | None = None  # tape position -> call site, under detect_anomaly
        # the branches of a chainrule.lax.cond batched by a vmap below, recorded on the tape:
        # (start, end, predicate) each, for a backward pass that is itself differentiated
        # (chainrule.transforms.branches)
        self.branches: list | None = None
        # The transforms' grad mode where this trace was opened (False inside no_grad()): a
        # trace opened there records, and the traces below it stay paused (see OPEN_REVERSE)
        self.outer_mode = OPEN_REVERSE.mode
        OPEN_REVERSE.mode = True
        OPEN_REVERSE.traces += (self,)

    def new_tensor(self, value) -> Tensor:
        tape = self.tape
        tape.append(LEAF)
        box = BOX_TYPES.get(type(value))
        if box is not None:
            return box(value, self, len(tape) - 1)
        t = _new_tensor(Tensor)
        t._value, t._trace, t._node = value, self, len(tape) - 1
        return t

    def process(self, prim, args, kwargs):
        n = len(args)
        if n == 1:  # one argument: it is this trace's Tensor
            return self.unary(prim, args[0], kwargs)
        if n == 2:
            return self.binary(prim, args[0], args[1], kwargs)
        tape = self.tape
        if tape is None:
            raise escaped_tensor_error(self, prim)
        vals = list(args)
        parents = []
        lower = False
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                if a._trace is self:
                    v = vals[i] = a._value
                    parents.append((i, a._node))
                    lower = lower or isinstance(v, Tensor)
                else:
                    lower = True
            elif a.__class__ is tuple and RECORDING[0]:
                lower = True  # an index may hold a value that vmap batches below
        ans = prim(*vals, **kwargs) if lower or _keyword_tensor(kwargs) else prim.fun(*vals, **kwargs)
        if prim.keeps is None or not self.lean:
            tape.append((prim, parents, vals, kwargs, ans))
        else:
            tape.append(lean_entry(prim, parents, vals, kwargs, ans))
        if prim.multiple_outputs:
            return project_outputs(self, len(tape) - 1, ans, tape)
        out = Tensor(ans, self, len(tape) - 1)
        if prim.makes_view and isinstance(args[0], Tensor):
            note_transform_view(args[0], out, prim, tuple(args[1:]), kwargs)
        return out

    # One and two arguments are the hot path: spelled out, with lean_entry inlined.
    def unary(self, prim, a, kwargs=NO_KWARGS):
        tape = self.tape
        if tape is None:
            raise escaped_tensor_error(self, prim)
        v = a._value
        if isinstance(v, Tensor):  # a value of a trace below: Primitive.__call__'s door to it
            ans = v._trace.unary(prim, v) if not kwargs and prim.__class__ is Primitive else prim(v, **kwargs)
        elif kwargs:
            ans = prim(v, **kwargs) if _keyword_tensor(kwargs) else prim.fun(v, **kwargs)
        else:
            ans = prim.fun(v)
        keeps = prim.keeps if self.lean else None
        if keeps is None:
            tape.append((prim, ((0, a._node),), (v,), kwargs, ans))
        elif keeps == "output":
            tape.append((prim, ((0, a._node),), (None,), kwargs, ans))
        else:
            tape.append((prim, ((0, a._node),), (v,), kwargs, None))
        if prim.multiple_outputs:
            return project_outputs(self, len(tape) - 1, ans, tape)
        out = _new_tensor(Tensor)  # Tensor(ans, self, node) without the __init__ call
        out._value, out._trace, out._node = ans, self, len(tape) - 1
        if prim.makes_view:
            note_transform_view(a, out, prim, (), kwargs)
        return out

    def binary(self, prim, a, b, kwargs=NO_KWARGS):
        tape = self.tape
        if tape is None:
            raise escaped_tensor_error(self, prim)
        first = a
        if isinstance(a, Tensor) and a._trace is self:
            if isinstance(b, Tensor) and b._trace is self:
                parents = ((0, a._node), (1, b._node))
                b = b._value
            else:
                parents = ((0, a._node),)
            a = a._value
        else:
            parents = ((1, b._node),)
            b = b._value
        if isinstance(a, Tensor) or isinstance(b, Tensor) or (b.__class__ is tuple and RECORDING[0]) \
                or (kwargs and _keyword_tensor(kwargs)):
            ans = prim(a, b, **kwargs)  # (a tuple: an index that may hold a batched value)
        else:
            ans = prim.fun(a, b, **kwargs) if kwargs else prim.fun(a, b)
        keeps = prim.keeps if self.lean else None
        if keeps is None:
            tape.append((prim, parents, (a, b), kwargs, ans))
        elif keeps == "output":
            tape.append((prim, parents, (None, None), kwargs, ans))
        else:
            tape.append((prim, parents, (a, b), kwargs, None))
        if prim.multiple_outputs:
            return project_outputs(self, len(tape) - 1, ans, tape)
        out = _new_tensor(Tensor)
        out._value, out._trace, out._node = ans, self, len(tape) - 1
        if prim.makes_view:
            note_transform_view(first, out, prim, (b,), kwargs)
        return out

    def composite(self, prim, args):
        if self.tape is None:
            raise escaped_tensor_error(self, prim)
        leaves, values, own, in_tree = own_leaves(self, args)
        made = prim.reverse(values, in_tree)
        if made is None:
            return prim.fun(*args)
        out, rules = made
        if any(isinstance(v, Tensor) and v._trace is self for v in tree_flatten(out)[0]):
            # the body read one of this trace's values that is not an argument (a closure):
            # rules made from the arguments cannot give it its cotangent
            return prim.closed_over(self, args)
        parents = [(i, leaves[i]._node) for i in own]
        return record_composite(self, rules, parents, values, out)

    def close(self) -> None:
        self.tape = None
        self.__class__ = ReverseTrace  # (if paused) the escaped-Tensor errors are ReverseTrace's
        traces = OPEN_REVERSE.traces
        if traces and traces[-1] is self:
            OPEN_REVERSE.traces = traces[:-1]
            OPEN_REVERSE.mode = self.outer_mode
        elif self in traces:  # closed out of order: the others keep their states
            OPEN_REVERSE.traces = tuple(t for t in traces if t is not self)


class OpenReverse(threading.local):
    """The reverse traces open in this thread, innermost last, and the transforms' grad
    mode: True when a trace opens, set by ``no_grad()``/``enable_grad()`` inside it.
    Where the mode is off, the innermost trace is paused, and so is each trace below one
    opened where the mode was off (PyTorch's rule for ``torch.func.grad``):
    ``chainrule.core.paused`` switches the traces' classes when the mode changes, so that
    recording costs nothing more per call."""

    traces: tuple = ()
    mode = True


OPEN_REVERSE = OpenReverse()


def lean_entry(prim, parents, args, kwargs, ans):
    """A tape entry without what the primitive's vjp rules do not read."""
    if prim.keeps == "output":
        return (prim, parents, (None,) * len(args), kwargs, ans)
    return (prim, parents, args, kwargs, None)


def project_outputs(trace, node, ans, tape):
    """One Tensor per output of a multiple-output primitive, each with its own record:
    a tape entry (reverse trace, ``node`` a tape position) or an EagerNode (eager)."""
    outs = []
    for k, value in enumerate(ans):
        record = tape_entry(PROJECT, ((k, node),), (len(ans),), {}, value)
        if tape is not None:
            tape.append(record)
            proj = len(tape) - 1
        else:
            proj = EagerNode(*record, inputs=(len(ans),), stamp=trace.clock)
        outs.append(Tensor(value, trace, proj))
    return same_tuple_type(ans, outs)


def same_tuple_type(like, items):
    """A tuple of ``items`` of the same kind as ``like`` (NumPy returns namedtuples)."""
    return type(like)(*items) if hasattr(like, "_fields") else tuple(items)


class ForwardTrace(Trace):
    """Pushes tangents forward through each primitive call (forward mode)."""

    __slots__ = ("level", "name", "open")

    def __init__(self, name: str = "jvp"):
        self.level = next(_levels)
        self.name = name
        self.open = True

    def new_tensor(self, value, tangent) -> Tensor:
        t = BOX_TYPES.get(type(value), Tensor)(value, self)
        t._tangent = tangent
        return t

    def process(self, prim, args, kwargs):
        if not self.open:
            raise escaped_tensor_error(self, prim)
        vals = list(args)
        tangents = []
        lower = False
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                if a._trace is self:
                    v = vals[i] = a._value
                    tangents.append((i, a._tangent))
                    lower = lower or isinstance(v, Tensor)
                else:
                    lower = True
            elif a.__class__ is tuple and RECORDING[0]:
                lower = True  # an index may hold a value that vmap batches below
        ans = prim(*vals, **kwargs) if lower or _keyword_tensor(kwargs) else prim.fun(*vals, **kwargs)
        if prim.joint_jvp is not None:
            per_arg = [None] * len(args)
            for i, t in tangents:
                per_arg[i] = t
            return self.new_tensor(ans, prim.joint_jvp(per_arg, ans, *vals, **kwargs))
        jvps = prim.jvps
        out = None
        for i, t in tangents:
            try:
                rule = jvps[i]
            except KeyError:
                rule = prim.derive_jvp(i)
            if rule is None:
                continue
            ti = rule(t, ans, *vals, **kwargs)
            if out is None:
                out = ti
            elif prim.multiple_outputs:
                out = tuple(a + b for a, b in zip(out, ti, strict=True))
            else:
                out = out + ti
        if prim.multiple_outputs:
            if out is None:
                out = tuple(zeros_like(v) for v in ans)
            outs = [self.new_tensor(v, t) for v, t in zip(ans, out, strict=True)]
            return same_tuple_type(ans, outs)
        if out is None:
            out = zeros_like(ans)
        out = self.new_tensor(ans, out)
        if prim.makes_view and isinstance(args[0], Tensor):
            note_transform_view(args[0], out, prim, tuple(args[1:]), kwargs)
        return out

    def composite(self, prim, args):
        if not self.open:
            raise escaped_tensor_error(self, prim)
        leaves, values, own, in_tree = own_leaves(self, args)
        tangents = [None] * len(leaves)
        for i in own:
            tangents[i] = leaves[i]._tangent
        made = prim.tangent(values, tangents, in_tree)
        if made is None:
            return prim.fun(*args)
        out, out_tangent = made
        out_leaves, out_tree = tree_flatten(out)
        tangent_leaves = tree_flatten(out_tangent)[0]
        boxed = [  # (an output without a tangent stays unperturbed)
            v if t is NO_TANGENT else self.new_tensor(v, zeros_like(v) if t is None else t)
            for v, t in zip(out_leaves, tangent_leaves, strict=True)
        ]
        return tree_unflatten(out_tree, boxed)

    def close(self) -> None:
        self.open = False


def escaped_tensor_error(trace, prim) -> Exception:
    return RuntimeError(
        f"{prim.__name__} was called on a Tensor of a {trace.name} transform that has already "
        "returned. A value that was being differentiated escaped its transform (stored in "
        "a global, a closure or an attribute); return it from the function instead."
    )


class GradMode(threading.local):
    """Whether the eager layer records graphs, per thread (as PyTorch's grad mode is):
    one thread inside ``no_grad()`` does not stop another from training."""

    enabled = True  # the class attribute is every new thread's starting value


GRAD_MODE = GradMode()
# How many threads have grad mode off. While none has (the common case), the hot paths
# need not read the thread-local mode, which costs several times a global's read.
_threads_without_grad = 0
_mode_lock = threading.Lock()


def grad_enabled() -> bool:
    """The calling thread's grad mode."""
    return not _threads_without_grad or GRAD_MODE.enabled


class InferenceMode(threading.local):
    """Whether the calling thread is inside ``inference_mode()``: the eager Tensors it makes
    there are PyTorch's inference Tensors (:func:`mark_inference`)."""

    enabled = False


INFERENCE_MODE = InferenceMode()
# How many threads are in inference mode (while none is, the hot paths read no thread-local
# to learn whether a new Tensor is an inference one), and whether an inference Tensor was
# ever made (while none was, a recorded call looks at no input to refuse one)
_threads_in_inference = 0
INFERENCE_MADE = [False]


def set_inference_mode(flag: bool) -> bool:
    """Set whether the calling thread is in inference mode; returns the previous setting."""
    global _threads_in_inference
    flag = bool(flag)
    with _mode_lock:
        old = INFERENCE_MODE.enabled
        if old != flag:
            INFERENCE_MODE.enabled = flag
            _threads_in_inference += 1 if flag else -1
    return old


def mark_inference(t: Tensor) -> None:
    """``t``, an eager Tensor just made: PyTorch's inference Tensor if the calling thread is
    in inference mode (``t.is_inference()``; autograd refuses to save it, and a write into it
    outside inference mode is refused, see :func:`refuse_saved_inference`). Called only while
    some thread is in inference mode (``_threads_in_inference``)."""
    if INFERENCE_MODE.enabled:
        t._inference = True
        INFERENCE_MADE[0] = True


def refuse_saved_inference(prim, parents, inputs) -> None:
    """PyTorch's refusal of a call recorded for the backward pass that saves an inference
    Tensor among its ``inputs`` (one its rules read: ``w * a`` saves ``a``, ``w + a`` nothing)."""
    if prim.keeps == "output":
        return
    read = range(len(inputs)) if prim.reads is None else {i for j, _ in parents for i in prim.reads[j]}
    for i in read:
        if getattr(inputs[i], "_inference", False):
            raise RuntimeError(
                "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
                f"inference mode in computation tracked by autograd ({prim.__name__} saves one for the "
                "backward pass). To work around this, you can make a clone to get a normal tensor and use "
                "it in autograd (x.clone()), or make it outside inference_mode()."
            )


def set_grad_mode(flag: bool) -> bool:
    """Set the calling thread's grad mode; returns the previous one."""
    global _threads_without_grad
    flag = bool(flag)
    with _mode_lock:
        old = GRAD_MODE.enabled
        if old != flag:
            GRAD_MODE.enabled = flag
            _threads_without_grad += -1 if flag else 1
    return old


# PyTorch's eager operations give inf and nan without a word, where NumPy warns ("divide by
# zero encountered in log"): the eager trace computes the primitives that warn of finite
# inputs (Primitive.eager_quiet: log, divide, sqrt, exp, ...), and runs its backward pass,
# with NumPy's floating-point errors ignored (NumPy's own functions and the transforms,
# HIPS autograd's and JAX's kind of code, keep NumPy's warnings). NumPy 2 keeps that state
# in a context variable, cheap to set; NumPy 1 in its thread's np.seterr. (Not around every
# primitive: that costs the hot path a tenth of its time.)
try:
    from numpy._core._multiarray_umath import _extobj_contextvar as _numpy_errors
except ImportError:
    _numpy_errors = None
if _numpy_errors is not None:
    with np.errstate(all="ignore"):
        quiet_numpy = functools.partial(_numpy_errors.set, _numpy_errors.get())
    restore_numpy = _numpy_errors.reset
else:
    def quiet_numpy():
        """Ignore NumPy's floating-point errors; returns what :func:`restore_numpy` takes."""
        return np.seterr(all="ignore")

    def restore_numpy(token) -> None:
        """Put back the NumPy error state that :func:`quiet_numpy` replaced."""
        np.seterr(**token)


class EagerTrace(Trace):
    """The eager layer: level 0, nodes linked to their parents, no tape.

    Tensors with ``requires_grad`` carry a node; the graph of a result is kept alive by
    the result alone, so what is never differentiated is freed by reference counting.
    Whether calls are recorded is the calling thread's :data:`GRAD_MODE`.
    """

    __slots__ = ("level", "name", "clock")

    def __init__(self):
        self.level = 0
        self.name = "eager"
        self.clock = 0  # counts in-place writes, to detect those after a node was recorded

    # One eager layer: a copied or unpickled Tensor belongs to it too (a copy of the trace
    # would make the Tensor a stranger to it: in-place writes lost, backward refused).
    def __reduce__(self):
        return (eager_trace, ())

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    @property
    def grad_enabled(self) -> bool:
        """The calling thread's grad mode."""
        return not _threads_without_grad or GRAD_MODE.enabled

    @grad_enabled.setter
    def grad_enabled(self, flag: bool) -> None:
        set_grad_mode(flag)

    def unary(self, prim, a, kwargs=NO_KWARGS):
        v = a._value
        integers = v.dtype.kind in "biu" and not kwargs  # perhaps computed again below, in floating point
        quiet = quiet_numpy() if prim.eager_quiet or integers else None
        try:
            ans = prim.fun(v, **kwargs) if kwargs else prim.fun(v)
        except (ValueError, TypeError) as e:  # as PyTorch raises (a RuntimeError), naming the operation
            raise eager_error(prim.__name__, e, (v,)) from e
        finally:
            if quiet is not None:
                restore_numpy(quiet)
        if integers and getattr(ans, "dtype", v.dtype).kind == "f":
            # exp, sin, sqrt... of integers: of the default floating dtype, as PyTorch's
            # (NumPy's float16 for int8, float32 for int16)
            default = default_float_dtype()
            if ans.dtype != default:
                cast = _new_tensor(Tensor)  # integers carry no derivative
                cast._value, cast._trace, cast._node = v.astype(default), self, None
                return self.unary(prim, cast)
        node = a._node
        if node is not None and (not _threads_without_grad or GRAD_MODE.enabled):
            node = EagerNode(prim, ((0, node),), (v,), kwargs, ans, (a,), self.clock)
        else:
            node = None
        if prim.multiple_outputs:
            return self.output(prim, ans, node)
        out = _new_tensor(Tensor)
        out._value, out._trace, out._node = ans, self, node
        if prim.makes_view:
            note_view(a, out, prim, (), kwargs)
        elif _threads_in_inference:
            mark_inference(out)
        return out

    def binary(self, prim, a, b, kwargs=NO_KWARGS):
        parents = []
        if isinstance(a, Tensor):
            if a._node is not None:
                parents.append((0, a._node))
            va = a._value
        else:
            va = a
        if isinstance(b, Tensor):
            if b._node is not None:
                parents.append((1, b._node))
            vb = b._value
        else:
            vb = b
        quiet = quiet_numpy() if prim.eager_quiet else None
        try:
            ans = prim.fun(va, vb, **kwargs) if kwargs else prim.fun(va, vb)
        except (ValueError, TypeError) as e:
            raise eager_error(prim.__name__, e, (va, vb)) from e
        except OverflowError:  # a Python int out of an integer Tensor's range: wrapped, as PyTorch
            wa, wb = wrapped_int(va, getattr(vb, "dtype", None)), wrapped_int(vb, getattr(va, "dtype", None))
            if wa is None and wb is None:
                raise
            return self.binary(prim, a if wa is None else wa, b if wb is None else wb, kwargs)
        finally:
            if quiet is not None:
                restore_numpy(quiet)
        if prim.eager_operands is not None:  # arithmetic: PyTorch's result dtype
            dt = getattr(ans, "dtype", None)
            if getattr(va, "dtype", dt) is not dt or getattr(vb, "dtype", dt) is not dt:
                cast = prim.eager_operands(a, b, dt)  # None where NumPy's dtype is PyTorch's
                if cast is not None:
                    return self.binary(prim, *cast, kwargs)
        node = None
        if parents and (not _threads_without_grad or GRAD_MODE.enabled):
            if INFERENCE_MADE[0]:
                refuse_saved_inference(prim, parents, (a, b))
            node = EagerNode(prim, parents, (va, vb), kwargs, ans, (a, b), self.clock)
        if prim.multiple_outputs:
            return self.output(prim, ans, node)
        out = _new_tensor(Tensor)
        out._value, out._trace, out._node = ans, self, node
        if prim.makes_view and isinstance(a, Tensor):
            note_view(a, out, prim, (b,), kwargs)
        elif _threads_in_inference:
            mark_inference(out)
        return out

    def process(self, prim, args, kwargs):
        if prim.eager_operands is not None and len(args) == 2 and not kwargs:
            return self.binary(prim, *args)
        if len(args) == 1:  # the argument is an eager Tensor
            a = args[0]
            vals = (a._value,)
            parents = ((0, a._node),) if a._node is not None else ()
        else:
            vals = list(args)
            parents = []
            for i, a in enumerate(args):
                if isinstance(a, Tensor):
                    vals[i] = a._value
                    if a._node is not None:
                        parents.append((i, a._node))
        quiet = quiet_numpy() if prim.eager_quiet else None
        try:
            ans = prim.fun(*vals, **kwargs)
        except (ValueError, TypeError) as e:
            raise eager_error(prim.__name__, e, vals) from e
        finally:
            if quiet is not None:
                restore_numpy(quiet)
        node = None
        if parents and (not _threads_without_grad or GRAD_MODE.enabled):
            if INFERENCE_MADE[0]:
                refuse_saved_inference(prim, parents, args)
            node = EagerNode(prim, parents, vals, kwargs, ans, args, self.clock)
        out = self.output(prim, ans, node)
        if prim.makes_view and isinstance(args[0], Tensor):
            note_view(args[0], out, prim, tuple(args[1:]), kwargs)
        return out

    def composite(self, prim, args):
        leaves, values, own, in_tree = own_leaves(self, args)
        parents = [(i, leaves[i]._node) for i in own if leaves[i]._node is not None]
        if not parents or not grad_enabled():
            return prim.fun(*args)  # nothing to differentiate: the body, on these Tensors
        out = prim.eager(args)
        if out is not None:
            return out
        made = prim.reverse(values, in_tree)
        if made is None:
            return prim.fun(*args)
        out, rules = made
        if any(isinstance(v, Tensor) and v._trace is self and v._node is not None
               for v in tree_flatten(out)[0]):
            return prim.closed_over(self, args)  # a Tensor that requires grad, read from a closure
        return record_composite(self, rules, parents, values, out, inputs=leaves)

    def output(self, prim, ans, node) -> Tensor | tuple:
        """The Tensor(s) of a call's result, with its node (None: not differentiated)."""
        if prim.multiple_outputs:
            if node is None:
                return same_tuple_type(ans, [Tensor(v, self) for v in ans])
            return project_outputs(self, node, ans, None)
        return Tensor(ans, self, node)


EAGER = EagerTrace()


def eager_trace() -> EagerTrace:
    """The eager trace (what an unpickled eager Tensor belongs to)."""
    return EAGER


def note_view(base: Tensor, out: Tensor, prim, rest: tuple, kwargs) -> None:
    """Link ``out = prim(base, *rest, **kwargs)`` to ``base``'s memory when NumPy made it a
    view (as PyTorch makes indexing, reshape, transpose... views): ``out._view`` holds the
    first Tensor of that memory (the base), the calls that make ``out`` from it, and
    whether the link is one of values only (a view of :meth:`Tensor.detach`'s result)."""
    ans = out._value
    if ans.__class__ is not np.ndarray:
        make = prim.makes_view
        if make is True or not isinstance(ans, np.generic) or base._value.__class__ is not np.ndarray:
            return
        out._value = ans = make(base._value, *rest, **kwargs)  # a 0-d view, not a scalar copy
    owner = ans.base  # NumPy's base: the array that owns the memory
    if owner is None:
        return
    v = base._value
    if owner is not v and owner is not getattr(v, "base", None):
        return
    if INFERENCE_MADE[0]:  # a view of an inference Tensor is one, of a normal Tensor not (PyTorch's)
        out._inference = getattr(base, "_inference", False)
    link = getattr(base, "_view", None)
    if link is None:
        out._view = (base, ((prim, rest, kwargs),), False)
        register_view(base, out)
    else:
        root = link[0]
        out._view = (root, (*link[1], (prim, rest, kwargs)), link[2])
        register_view(root, out)


def register_view(root: Tensor, view: Tensor) -> None:
    """Remember ``view`` (weakly) among the live views of ``root``."""
    views = getattr(root, "_views", None)
    if views is None:
        root._views = [weakref.ref(view)]
        return
    views.append(weakref.ref(view))
    n = len(views)
    if n >= 16 and not n & (n - 1):  # now and then, forget the views that died
        views[:] = [r for r in views if r() is not None]


def note_transform_view(base: Tensor, out: Tensor, prim, rest: tuple, kwargs) -> None:
    """Inside a transform (grad, jvp, vmap): link ``out = prim(base, *rest, **kwargs)`` to
    ``base`` as a view where NumPy would make one of a C-ordered base (PyTorch's views: basic
    indexing, reshape where the layout allows, transpose, diagonal...), so that a change of
    either in place reaches the other (``chainrule.core.eager``). The transform's values
    carry no memory of their own to compare, so the steps from the base are made again on
    a stand-in of its shape."""
    if out._trace is not base._trace:
        return
    for r in rest:  # an index computed in the transform: advanced indexing, which copies
        if r.__class__ is tuple:
            for i in r:
                if isinstance(i, Tensor):
                    return
        elif isinstance(r, Tensor):
            return
    link = getattr(base, "_view", None)
    if link is None:
        root, steps, alias = base, ((prim, rest, kwargs),), False
    else:
        root, steps, alias = link[0], (*link[1], (prim, rest, kwargs)), link[2]
    if not shares_memory_of(root, steps):  # (a reshape of a transposed view copies, as in NumPy)
        return
    out._view = (root, steps, alias)
    register_view(root, out)


def note_pieces(base: Tensor, pieces, getitem, indices) -> None:
    """Link each of ``pieces``, the views ``getitem(base, index)`` for each of ``indices``
    that one call returned (split, chunk, unbind), to ``base``'s memory, as PyTorch's views."""
    trace = base._trace
    note = note_view if trace is EAGER or trace.records else note_transform_view
    for piece, index in zip(pieces, indices, strict=True):
        if getattr(piece, "_view", None) is None:  # (unbind's are views of base already)
            note(base, piece, getitem, (index,), NO_KWARGS)


def shares_memory_of(root: Tensor, steps) -> bool:
    """Whether the calls ``steps`` give a view of a C-ordered array of ``root``'s shape (and
    kind: complex or not)."""
    key = root.shape, root.dtype.kind == "c"  # (of a complex one: z.imag is a view too)
    memory = _STAND_INS.get(key)
    if memory is None:
        if len(_STAND_INS) > 64:
            _STAND_INS.clear()
        memory = _STAND_INS[key] = np.empty(key[0], np.complex64 if key[1] else np.int8)  # (never written)
    x = memory
    for prim, rest, kwargs in steps:
        y = getattr(prim, "fun", prim)(x, *rest, **kwargs)
        if y.__class__ is not np.ndarray:
            make = getattr(prim, "makes_view", None)
            if not callable(make):
                return False
            y = make(x, *rest, **kwargs)  # a 0-d view where NumPy gives a scalar (x[0, 1])
        x = y
    return x is memory or x.base is memory  # (NumPy's base of a view of a view: the array owning the memory)


_STAND_INS: dict = {}  # (shape, complex) -> an array of that shape, C-ordered, whose views shares_memory_of follows


# Functions returning the NumPy generators that library code draws from by default
# (chainrule.nn.init registers its global one): chainrule.jit checks that a traced call
# draws from them only through recorded calls.
RANDOM_SOURCES: list = []
