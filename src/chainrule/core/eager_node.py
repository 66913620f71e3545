"""The eager graph's nodes, and PyTorch's names for them.

An :class:`EagerNode` is one recorded call of the eager layer, linked to its parents'
nodes, so a graph nobody holds is freed by reference counting. ``grad_fn.name()`` and
``type(grad_fn).__name__`` give PyTorch's names of the nodes (``AddBackward0``).
"""

from __future__ import annotations

import itertools

import numpy as np

from chainrule.core.tape import PROJECT

__all__ = ["EagerNode", "named_as_torch", "index_replayable"]

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
        "overwritten",  # set where a write reached the output its rules read (chainrule.core.versions)
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
