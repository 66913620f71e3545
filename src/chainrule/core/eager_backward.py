"""The eager graph's side of ``backward()``: hooks on Tensors, and the backward pass over
the graph of nodes that eager Tensors record (``backward``, ``torch.autograd.grad``'s
:func:`grad`, and the nested passes of checkpoints' recomputations), on the engine's one
:func:`~chainrule.core.backward.backward_pass`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np

from chainrule.core.anomaly import ANOMALY
from chainrule.core.backward import backward_pass, toposort
from chainrule.core.errors import not_eager_error, stands_for_jit_argument
from chainrule.core.primitive import OutputCotangents
from chainrule.core.tensor import Tensor
from chainrule.core.trace import EAGER, EagerNode, quiet_numpy, restore_numpy, set_grad_mode
from chainrule.core.values import MIRROR, plain
from chainrule.core.versions import check_saved

__all__ = ["HookHandle", "register_hook", "register_post_accumulate_grad_hook", "queue_callback", "retain_grad",
           "retains_grad", "backward", "grad", "nested_backward", "node_backward", "eager_backward_pass"]

# -- hooks ----------------------------------------------------------------------------
class HookHandle:
    """What registering a hook returns (PyTorch's ``RemovableHandle``): ``remove()`` takes
    this registration off, once (a second call, or one after the same function was
    registered again, removes nothing more); a ``with`` block removes it at its end; ``id``
    numbers the registrations in their order. Hooks kept in a dict (a Module's, keyed by
    ``id`` as PyTorch's) are removed by key, from ``hooks`` and from each of ``extra``
    (the dicts of the hook's flags)."""

    _count = 0

    def __init__(self, hooks: list | dict, hook: Callable | None = None, extra: tuple = ()):
        self._hooks: list | dict | None = hooks
        self._hook = hook
        self._extra = extra
        self.id = HookHandle._count
        HookHandle._count += 1

    def remove(self) -> None:
        if isinstance(self._hooks, dict):
            for d in (self._hooks, *self._extra):
                d.pop(self.id, None)
            return
        hooks, self._hooks = self._hooks, None
        for i, h in enumerate(hooks or ()):
            if h is self._hook:
                del hooks[i]
                return

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()


def _require_graph(t: Tensor, what: str) -> EagerNode:
    if stands_for_jit_argument(t):
        raise not_eager_error(t, what, "")
    if t._trace is not EAGER or t._node is None:
        raise RuntimeError(f"{what} needs an eager Tensor that requires grad")
    return t._node


def register_hook(t: Tensor, hook: Callable) -> HookHandle:
    node = _require_graph(t, "register_hook")
    if node.hooks is None:
        node.hooks = []
    node.hooks.append(hook)
    return HookHandle(node.hooks, hook)


class _AfterAccumulate:
    """A hook kept in a leaf's ``hooks`` list that runs after its ``.grad`` is updated
    (the others run before, on the incoming gradient)."""

    __slots__ = ("fun",)

    def __init__(self, fun: Callable):
        self.fun = fun


def register_post_accumulate_grad_hook(t: Tensor, hook: Callable) -> HookHandle:
    node = _require_graph(t, "register_post_accumulate_grad_hook")
    if node.prim is not None:
        raise RuntimeError(
            "register_post_accumulate_grad_hook: only a leaf Tensor accumulates a .grad; "
            "use register_hook on a computed Tensor"
        )
    if node.tensor_ref is None:
        node.tensor_ref = weakref.ref(t)
    if node.hooks is None:
        node.hooks = []
    entry = _AfterAccumulate(hook)
    node.hooks.append(entry)
    return HookHandle(node.hooks, entry)


# Callbacks queued by hooks during a backward pass, one list per running backward().
_queued: list[list[Callable]] = []


def queue_callback(callback: Callable[[], None]) -> None:
    """Run ``callback()`` when the backward pass now running has finished, just before its
    ``backward()`` returns (callbacks run in the order queued). Call it from a hook:
    data-parallel training waits for its gradient reductions this way.

    >>> import chainrule as cr
    >>> from chainrule.core.eager import queue_callback
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> h = w.register_hook(lambda g: queue_callback(lambda: print("done")))
    >>> (w * w).sum().backward()
    done
    """
    if not _queued:
        raise RuntimeError("queue_callback() is for hooks that run during backward()")
    _queued[-1].append(callback)


def retain_grad(t: Tensor) -> None:
    node = _require_graph(t, "retain_grad")
    if node.tensor_ref is None:
        node.tensor_ref = weakref.ref(t)


def retains_grad(t: Tensor) -> bool:
    node = t._node
    return (t._trace is EAGER and node is not None and node.prim is not None
            and getattr(node, "tensor_ref", None) is not None and node.tensor_ref() is t)


# -- the backward pass ------------------------------------------------------------------
def backward(t: Tensor, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
             inputs=None) -> None:
    """``t.backward()``: the gradient into ``.grad`` of the leaves ``t`` came from, or only
    of ``inputs`` (leaves or not), as PyTorch's ``inputs=``."""
    if inputs is None:
        _run_backward(t, gradient, bool(retain_graph), create_graph, None)
        return
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:
        raise RuntimeError("backward: inputs= is an empty sequence; leave it out to fill the .grad of every leaf")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or x._trace is not EAGER or x._node is None:
            raise RuntimeError(f"backward: inputs[{i}] is not an eager Tensor that requires grad")
    collect = {x._node: None for x in inputs}
    _run_backward(t, gradient, bool(retain_graph), create_graph, collect)
    for x in inputs:
        g = collect[x._node]
        if g is not None:
            g = _in_dtype(torch_convention(g), x.dtype)
            old = getattr(x, "_grad", None)  # (a non-leaf input: no warning for reading it here)
            x._grad = _as_tensor(g) if old is None else _added(old, g)


def _primal_of_dual(t):
    """A dual Tensor of forward_ad's open level stands for its primal on the eager graph in a
    backward pass, as PyTorch's (the primal it was made of, or computed from it); anything
    else is itself."""
    while isinstance(t, Tensor) and t._trace is not EAGER and getattr(t._trace, "name", None) == "forward_ad":
        t = t._value if isinstance(t._value, Tensor) else Tensor(t._value, EAGER)
    return t


def _run_backward(t: Tensor, gradient, retain_graph: bool, create_graph: bool, collect, index: int = 0) -> None:
    t = _primal_of_dual(t)
    if t._trace is not EAGER:
        raise RuntimeError(
            "backward() is for eager Tensors; inside chainrule.grad and the other "
            "transforms, return the value and let the transform differentiate it"
        )
    root = t._node
    if root is None:
        raise RuntimeError(
            "this Tensor does not require grad, so there is nothing to differentiate: make "
            "its inputs with chainrule.tensor(..., requires_grad=True) (outside no_grad())"
        )
    value = t._value
    if gradient is None:
        if np.size(value) != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a one-element Tensor, this one has shape "
                f"{np.shape(value)}; call .sum() first or pass gradient= of that shape"
            )
        gradient = np.ones_like(value)
    else:
        traced = isinstance(gradient, Tensor) and gradient._trace.level > 0  # batched by vmap, say
        gradient = gradient if (create_graph or traced) and isinstance(gradient, Tensor) else plain(gradient)
        if tuple(np.shape(gradient)) != np.shape(value):  # (PyTorch's error, not broadcast)
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{index}] has a shape of {_size(np.shape(gradient))} and "
                f"output[{index}] has a shape of {_size(np.shape(value))}."
            )
        gradient = torch_convention(gradient)
    _backward_from(root, gradient, retain_graph or create_graph, create_graph, collect)


def _size(shape: tuple) -> str:
    """A shape as PyTorch writes it in its messages: ``torch.Size([2, 3])``."""
    return f"torch.Size({list(shape)})"


def _backward_from(root: EagerNode, gradient, retain_graph: bool, create_graph: bool, collect) -> None:
    """The backward pass from the node ``root`` seeded with ``gradient``, with the running
    pass's bookkeeping (where leaf gradients go, callbacks queued during it)."""
    order = toposort(root)
    saved = set_grad_mode(create_graph)
    _queued.append(callbacks := [])
    _owned.append({_memory(gradient)})  # the seed may be the caller's array
    _collecting.append(collect)
    _reached_by_recomputation.append((len(_running_cotangents), pending := {} if collect is None else None))
    quiet = quiet_numpy()  # (PyTorch's backward pass gives inf and nan without a warning)
    try:
        try:
            eager_backward_pass(order, gradient, retain_graph, create_graph, collect)
        finally:
            restore_numpy(quiet)
            set_grad_mode(saved)
            _collecting.pop()
            _reached_by_recomputation.pop()
        for node, g in (pending or {}).items():  # once each, as if the pass had reached them
            _to_grad(node, _hooked(node, g, False))
        for callback in callbacks:  # a callback may queue more: the loop reaches them
            callback()
    finally:
        _queued.pop()
        _owned.pop()


def node_backward(root: EagerNode, gradient, inputs: list) -> list:
    """autograd's ``backward_pass(g, end_node)`` on the eager graph: the gradients,
    weighted by ``gradient``, of the value whose node is ``root`` with respect to the
    leaves ``inputs`` (eager Tensors), in chainrule's convention for complex values (not
    PyTorch's conjugate). The graph is kept, so it may run again (a Jacobian row by row).
    None for a leaf the pass does not reach."""
    collect = {x._node: None for x in inputs}
    _backward_from(root, plain(gradient), True, False, collect)
    return [collect[x._node] for x in inputs]


# What each running backward pass collects into (None: the .grad of leaves), innermost last
_collecting: list = []
# For each running backward(): the memory (ids of base arrays) its .grad writes took
_owned: list[set] = []
# The cotangents of each running pass over a graph (the nodes it has still to reach),
# innermost last
_running_cotangents: list[dict] = []
# For each running backward() or grad(): where its passes begin in _running_cotangents,
# and the gradients of leaves that only checkpoints' recomputations reached (a module's
# parameters read inside a checkpointed function), summed and written to .grad once the
# pass is done, so that their hooks run once, as for any leaf (None for grad(), which
# writes no .grad)
_reached_by_recomputation: list[tuple[int, dict | None]] = []


def nested_backward(roots: list, gradients: list, inputs: list) -> list:
    """From inside a vjp rule of a running backward pass (a checkpoint's recomputation):
    the backward pass of the eager Tensors ``roots`` weighted by ``gradients``, whose leaf
    gradients go where the running pass puts its own (``.grad``, or what :func:`grad`
    collects), and whose callbacks run when the running pass ends. Returns the gradients
    of the leaves ``inputs`` (None where there is none), which it does not write."""
    if not _collecting:
        raise RuntimeError("nested_backward is for vjp rules that run during backward()")
    outer = _collecting[-1]
    collect = {t._node: None for t in inputs}
    if outer is not None:
        collect.update((node, None) for node in outer)
    others: dict = {}
    saved = set_grad_mode(False)
    _collecting.append(collect)
    try:
        for k, (root, g) in enumerate(zip(roots, gradients, strict=True)):
            eager_backward_pass(toposort(root._node), plain(g), k < len(roots) - 1, False, collect, others)
    finally:
        _collecting.pop()
        set_grad_mode(saved)
    if outer is not None:
        for node in outer:
            g = collect[node]
            if g is not None:
                outer[node] = g if outer[node] is None else outer[node] + g
    # the other leaves' gradients go to the innermost pass of this backward() that reaches
    # the leaf too (it has not yet: a leaf is older than the calls that read it), else to
    # what backward() writes to .grad when it is done
    first, pending = _reached_by_recomputation[-1]
    passes = _running_cotangents[first:][::-1]
    for node, g in others.items():
        into = next((cots for cots in passes if node in cots), pending)
        if into is not None:
            into[node] = g if into.get(node) is None else into[node] + g
    return [collect[t._node] for t in inputs]


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` (weighted by ``grad_outputs``) with respect to
    ``inputs``, returned rather than added to ``.grad`` (PyTorch's ``torch.autograd.grad``).
    With ``create_graph=True`` they are on the graph, so a gradient penalty differentiates.
    PyTorch's arguments in its order (``only_inputs`` is accepted and, as there, ignored).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> (g,) = cr.autograd.grad((x ** 3).sum(), x, create_graph=True)
    >>> (g * g).sum().backward(); x.grad.tolist()
    [36.0, 288.0]
    """
    if is_grads_batched:
        raise NotImplementedError("grad(is_grads_batched=True): use chainrule.vmap over the grad_outputs")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    allow_unused = bool(allow_unused) or materialize_grads
    outputs = [_primal_of_dual(o) for o in ([outputs] if isinstance(outputs, Tensor) else outputs)]
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:  # as PyTorch: an empty list (an exhausted generator of parameters) is a mistake
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if grad_outputs is None or isinstance(grad_outputs, Tensor | np.ndarray):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grad_outputs)} gradients")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or x._trace is not EAGER or x._node is None:
            raise RuntimeError(f"grad: input {i} is not an eager Tensor that requires grad")
    collect = {x._node: None for x in inputs}
    kept = retain_graph if retain_graph is not None else create_graph
    for k, (out, go) in enumerate(zip(outputs, grad_outputs, strict=True)):
        if not isinstance(out, Tensor) or out._node is None:
            raise RuntimeError(f"grad: output {k} does not require grad (it does not depend on the inputs)")
        _run_backward(out, go, kept or k < len(outputs) - 1, create_graph, collect, k)
    result = []
    for i, x in enumerate(inputs):
        g = collect[x._node]
        if g is None:
            if not (allow_unused or materialize_grads):
                raise RuntimeError(f"grad: input {i} was not used to compute the outputs; pass allow_unused=True "
                                   "to get None for it")
            g = np.zeros_like(x._value) if materialize_grads else None
        result.append(None if g is None else _as_tensor(torch_convention(g)))
    return tuple(result)


def _as_tensor(g) -> Tensor:
    return g if isinstance(g, Tensor) else Tensor(g, EAGER)


def torch_convention(g):
    """A complex gradient as PyTorch's ``.grad``, ``autograd.grad``, hooks and
    ``grad_outputs`` have it, from chainrule's (JAX's) or back: its conjugate. PyTorch's
    gradient of a real loss is ∂L/∂x + i ∂L/∂y (so a descent step subtracts it);
    chainrule's cotangents are pulled back by the Jacobian's transpose, ∂L/∂x − i ∂L/∂y."""
    if g is None:
        return g
    dtype = g.dtype if isinstance(g, Tensor) else np.result_type(g)
    if dtype.kind != "c":
        return g
    return MIRROR.conj(g) if isinstance(g, Tensor) else np.conj(g)


def eager_backward_pass(order, gradient, retain_graph: bool, create_graph: bool, collect=None,
                        others: dict | None = None) -> None:
    """The backward pass over an eager graph: ``core.backward.backward_pass`` with the
    nodes (``order``, the root first) as keys, and the eager layer's own work at the
    nodes that need it (``visit``): hooks, ``.grad`` of leaves and retained Tensors,
    checks of in-place writes, recomputation for ``create_graph``.

    Most nodes need none of that (an interior node without hooks, recorded after the
    last in-place write): their entries are handed to the pass as they are and, unless
    the graph is retained, taken off the nodes at once, so the pass frees each node's
    saved values as soon as its rules have run, as it does on a tape. A leaf without
    hooks has no rules to run: its ``.grad`` is written once the pass is done.

    ``collect`` (for :func:`grad`): a dict whose nodes get their gradient added there,
    and no ``.grad`` is written (unless ``others``: then the gradients of the other
    leaves are added there, for :func:`nested_backward` to hand on).
    """
    tape = {}
    watched = set()
    replayed = set()  # nodes freed by an earlier pass whose rules read no saved array
    leaves = []
    clock = EAGER.clock
    free = not retain_graph
    for node in order:
        prim = node.prim
        if prim is None and not node.hooks:
            leaves.append(node)
            continue
        entry = node.entry
        if entry is None and node.parents is not None:  # freed, but its rules read no saved array
            entry = node.replayed()
            if entry is not None:
                replayed.add(node)
        tape[node] = entry
        if (node.hooks or node.tensor_ref is not None or node.stamp < clock or create_graph
                or prim is None or entry is None or (collect is not None and node in collect)):
            watched.add(node)
        elif free:
            node.free()
    cots = dict.fromkeys(order)
    cots[order[0]] = gradient
    origins = {node: getattr(node, "origin", None) for node in order} if ANOMALY[0] else None

    def visit(node, g, entry):
        # a leaf's gradient handed on (see nested_backward) meets its hooks where it lands
        if node.hooks and (others is None or node.prim is not None or node in collect):
            g = _hooked(node, g, create_graph)
        if collect is not None and node in collect:
            collect[node] = g if collect[node] is None else collect[node] + g
        elif node.tensor_ref is not None:
            if others is not None:
                others[node] = g if others.get(node) is None else others[node] + g
            elif collect is None:
                _to_grad(node, g)
        prim = node.prim
        if prim is None:
            return g, entry
        if entry is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                f"tensors after they have already been freed): what {prim.__name__} saved for the "
                "backward pass was freed by the first backward(). Pass retain_graph=True to the "
                "first call to keep it."
            )
        if node in replayed:  # nothing saved to check or recompute: the rules are linear in g
            pass
        elif EAGER.clock > node.stamp:  # something was written in place since: look closer
            check_saved(node, create_graph)
        if create_graph and node not in replayed:
            kwargs = entry[3]
            inputs = _as_recorded(node.inputs, entry[2], entry[1])
            entry = (prim, entry[1], inputs, kwargs, prim(*inputs, **kwargs))
        if free:
            node.free()
        return g, entry

    _running_cotangents.append(cots)
    try:
        backward_pass(tape, cots, origins=origins, order=tape, visit=visit, watched=watched)
    finally:
        _running_cotangents.pop()
    for node in leaves:
        g = cots[node]
        if g is None:
            continue
        if collect is not None and node in collect:
            collect[node] = g if collect[node] is None else collect[node] + g
        elif others is not None:
            others[node] = g if others.get(node) is None else others[node] + g
        elif collect is None:
            _accumulate(node, g)


def _hooked(node: EagerNode, g, create_graph: bool):
    """``g`` after the hooks of ``node`` that see the incoming gradient (register_hook)."""
    for hook in list(node.hooks or ()):
        if type(hook) is _AfterAccumulate:
            continue
        if isinstance(g, OutputCotangents):  # a node of several outputs: a tuple
            r = hook(tuple(None if c is None else _as_tensor(torch_convention(c)) for c in g))
            if r is not None:
                g = OutputCotangents(torch_convention(c if c is None or create_graph else plain(c)) for c in r)
            continue
        r = hook(_as_tensor(torch_convention(g)))
        if r is not None:
            new = torch_convention(r if create_graph else plain(r))
            if np.shape(new) != np.shape(g):
                raise RuntimeError(f"the hook {getattr(hook, '__name__', hook)!r} of a Tensor changed the shape of "
                                   f"its gradient from {np.shape(g)} to {np.shape(new)}; a hook returns a "
                                   "gradient of the Tensor's shape, or None")
            g = new
    return g


def _to_grad(node: EagerNode, g) -> None:
    """``g`` added to the ``.grad`` of the Tensor of ``node``, then its post-accumulate hooks."""
    owner = _accumulate(node, g)
    if owner is not None and node.hooks:
        for hook in list(node.hooks):
            if type(hook) is _AfterAccumulate and hook.fun(owner) is not None:
                raise RuntimeError("a post-accumulate-grad hook must return None (it changes "
                                   "tensor.grad in place), as in PyTorch")


def _as_recorded(inputs, args, parents) -> tuple:
    """The argument Tensors of a recorded call as they were then: one that an in-place
    operation has since rebound to a new value (``y.mul_(x)`` on a graph) is stood in for by
    a Tensor of the value and node the call saw, so that recomputing the call for
    ``create_graph`` differentiates what was computed."""
    fixed = None
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t._value is not args[i]:
            if fixed is None:
                fixed = list(inputs)
            fixed[i] = Tensor(args[i], EAGER, dict(parents).get(i))
    return inputs if fixed is None else tuple(fixed)


def _accumulate(node: EagerNode, g) -> Tensor | None:
    """Add ``g`` to the ``.grad`` of the Tensor of ``node`` (if it is still alive); that
    Tensor, or None."""
    owner = node.tensor_ref()
    if owner is not None:
        g = _in_dtype(torch_convention(g), owner.dtype)
        old = owner.grad
        owner._grad = _as_tensor(_own(g)) if old is None else _added(old, g)
    return owner


def _added(old: Tensor, g) -> Tensor:
    """``old + g`` as the new ``.grad``: written into ``old``, as PyTorch accumulates (a
    reference to ``.grad`` sees the sum, and a ``.grad`` that is a view of a flat bucket of
    gradients fills the bucket); a new Tensor where the sum is on a graph (create_graph),
    ``old`` is, or their shapes differ."""
    if isinstance(g, Tensor) or old._node is not None or old._trace is not EAGER or tuple(old.shape) != np.shape(g):
        return _as_tensor(_plain_sum(old, g))
    return old.add_(g)


def _memory(a) -> int | None:
    """The id of the array whose memory ``a`` (an array or a view of one) uses, if it is
    writable; None otherwise (a Tensor on a graph, a scalar, a read-only broadcast, which
    in-place writes replace rather than write into)."""
    if not isinstance(a, np.ndarray) or not a.flags.writeable:
        return None
    while isinstance(a.base, np.ndarray):
        a = a.base
    return id(a)


def _own(g):
    """``g`` as a new ``.grad``, or a copy of it where its memory is already another
    ``.grad``'s or the seed's in this backward(): the rules pass one cotangent on to
    several inputs (x + y), and each ``.grad`` must own its memory, as PyTorch's, so that
    an in-place write into one (``p.grad.mul_(c)``, clipping) does not reach another. A
    gradient on the graph (create_graph) is always a copy, on the graph, as PyTorch's clone
    there: it may be the ``gradient`` given to backward() or a Tensor of the graph."""
    if isinstance(g, Tensor) and g._trace is EAGER:
        return MIRROR.copy(g)
    memory = _memory(g)
    if memory is None or not _owned:
        return g
    if memory in _owned[-1]:
        return g.copy()
    _owned[-1].add(memory)
    return g


def _in_dtype(g, dtype: np.dtype):
    """A gradient in the dtype of its Tensor, as PyTorch's ``.grad`` (a float32 leaf used
    in float64 arithmetic downstream gets a float32 gradient); on the graph with
    create_graph."""
    gd = g.dtype if isinstance(g, Tensor) else np.result_type(g)
    if gd == dtype or dtype.kind not in "fc":
        return g
    if gd.kind == "c" and dtype.kind != "c":
        g = MIRROR.real(g) if isinstance(g, Tensor) else np.real(g)
    return MIRROR.astype(g, dtype) if isinstance(g, Tensor) else np.asarray(g).astype(dtype)


def _plain_sum(old: Tensor, g):
    # .grad accumulates; with create_graph the sum stays on the graph
    return old + g if isinstance(g, Tensor) else old._value + g
