"""Tensor: a value being differentiated.

Inside ``chainrule.grad(f)`` the arguments of ``f`` are Tensors that belong to that
transform's trace; in the eager layer, ``chainrule.tensor(..., requires_grad=True)``
makes one that belongs to the eager trace. Either way a Tensor behaves like the NumPy
array it wraps: operators, methods and ``np.*`` functions all differentiate.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Tensor"]


class Tensor:
    """A NumPy value carried through a trace.

    ``_value`` is the wrapped value (an ndarray, a NumPy scalar, or a Tensor of an outer
    trace when transforms nest), ``_trace`` the trace it belongs to, ``_node`` its record
    for the backward pass (reverse mode) and ``_tangent`` its tangent (forward mode).
    """

    # _tangent, _grad and _version are set only where used (forward mode, eager .grad,
    # in-place writes), so that creating a Tensor on the hot path stores three fields.
    __slots__ = ("_value", "_trace", "_node", "_tangent", "_grad", "_version", "__weakref__")
    __array_priority__ = 100.0

    def __init__(self, value, trace, node=None):
        self._value = value
        self._trace = trace
        self._node = node

    # -- array attributes -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self._value) if not isinstance(self._value, Tensor) else self._value.shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def dtype(self) -> np.dtype:
        v = self._value
        return v.dtype if isinstance(v, Tensor) else np.result_type(v)

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d Tensor")
        return shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    @property
    def T(self) -> Tensor:
        return cnp.transpose(self)

    @property
    def mT(self) -> Tensor:
        return cnp.swapaxes(self, -1, -2)

    @property
    def real(self) -> Tensor:
        return cnp.real(self)

    @property
    def imag(self) -> Tensor:
        return cnp.imag(self)

    def primal(self, what: str = "a plain NumPy value"):
        """The plain NumPy value under all traces (no gradient flows through it).

        Under ``chainrule.jit`` the value read here becomes a guard of the recorded
        program: a later call whose value differs is traced again, never replayed wrong.
        Under ``chainrule.vmap`` a batched value has no single plain value: refused.
        """
        t = self
        v = t._value
        while True:
            if t._trace.batches:
                raise TypeError(
                    f"inside chainrule.vmap a batched value cannot become {what}: each "
                    "example has its own. Use chainrule.numpy functions on it (for a branch, "
                    "chainrule.numpy.where(cond, a, b)), or pass the value unbatched "
                    "(in_axes=None)."
                )
            if not isinstance(v, Tensor):
                break
            t = v
            v = v._value
        if t._trace.records:
            t._trace.guard(t)
        return v

    # -- conversions ------------------------------------------------------------------
    def __float__(self) -> float:
        return float(self.primal("a float"))

    def __int__(self) -> int:
        return int(self.primal("an int"))

    def __complex__(self) -> complex:
        return complex(self.primal("a complex"))

    def __bool__(self) -> bool:
        return bool(self.primal("a bool (an if or while on it)"))

    def __index__(self) -> int:
        return int(np.asarray(self.primal("an index")).__index__())

    def __array__(self, dtype=None, copy=None):
        if self._trace.batches:
            self.primal("a plain NumPy array")  # refused, with the reason
        if self._trace.records:
            raise TypeError(
                "inside chainrule.jit a traced value cannot become a plain NumPy array: its "
                "value would be baked into the recorded program. Use chainrule.numpy "
                "functions on it (np.* functions on Tensors dispatch to them)."
            )
        if self._trace.level > 0 or self._node is not None:
            raise TypeError(
                "a Tensor that is being differentiated cannot become a plain NumPy array: "
                "the gradient would be dropped silently. Use chainrule.numpy functions on it "
                "(for a list of Tensors: chainrule.numpy.array or .stack, not numpy.array), "
                "or take .detach() / chainrule.stop_gradient(x) if you mean to drop it."
            )
        return np.asarray(self.primal(), dtype=dtype)

    def item(self):
        """The value of a one-element Tensor as a Python number."""
        return np.asarray(self.primal("a Python number")).item()

    def tolist(self):
        return np.asarray(self.primal("a list")).tolist()

    def __repr__(self) -> str:
        value = self
        while isinstance(value, Tensor):
            if value._trace.batches:  # a batch under vmap: shown whole, with its trace
                value = value._value
                while isinstance(value, Tensor):
                    value = value._value
                body = np.array2string(np.asarray(value), separator=", ", prefix="Tensor(")
                return f"Tensor({body}, batched along axis 0, trace=vmap)"
            value = value._value
        body = np.array2string(np.asarray(self.primal()), separator=", ", prefix="Tensor(")
        if self._trace.level == 0:
            return f"Tensor({body}{', requires_grad=True' if self._node is not None else ''})"
        return f"Tensor({body}, trace={self._trace.name})"

    def __hash__(self) -> int:
        # a value chainrule.jit traces hashes as the NumPy value it stands for (a NumPy
        # scalar by value, a read that guards; an array is unhashable, as in NumPy)
        if self._trace.records:
            return hash(self.primal())
        return object.__hash__(self)

    def __format__(self, spec: str) -> str:
        return format(self.primal(), spec) if spec or self._trace.records else repr(self)

    def __getattr__(self, name: str):
        # reached only for a missing attribute: name the way out for ndarray's
        if not name.startswith("__") and hasattr(np.ndarray, name):
            raise AttributeError(
                f"'Tensor' object has no attribute {name!r}: inside chainrule's transforms "
                "(jit, grad, vmap) arrays are Tensors, which have the ndarray methods that "
                f"chainrule.numpy mirrors but not {name!r}. Use indexing (x[i] = v), "
                "x.reshape, or a chainrule.numpy function instead."
            )
        raise AttributeError(f"'Tensor' object has no attribute {name!r}")

    def __str__(self) -> str:
        # under chainrule.jit, print(x) shows what the plain call prints (a read that guards)
        return str(self.primal()) if self._trace.records else repr(self)

    def __round__(self, ndigits=None):
        if ndigits is None:
            return round(self.primal())
        return cnp.round(self, ndigits)

    # -- NumPy interoperability ---------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from chainrule.numpy.dispatch import dispatch_ufunc

        return dispatch_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from chainrule.numpy.dispatch import dispatch_function

        return dispatch_function(func, args, kwargs)

    def __array_namespace__(self, api_version=None):
        return cnp

    # -- operators ----------------------------------------------------------------------
    # + - * / ** (and their reflections) are set below the class by _operator.
    def __floordiv__(self, other):
        return cnp.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return cnp.floor_divide(other, self)

    def __mod__(self, other):
        return cnp.mod(self, other)

    def __rmod__(self, other):
        return cnp.mod(other, self)

    def __matmul__(self, other):
        return cnp.matmul(self, other)

    def __rmatmul__(self, other):
        return cnp.matmul(other, self)

    def __neg__(self):
        return self._trace.unary(negative, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return cnp.abs(self)

    # Comparisons are not differentiable: they give plain boolean arrays.
    def __eq__(self, other):
        return cnp.equal(self, other)

    def __ne__(self, other):
        return cnp.not_equal(self, other)

    def __lt__(self, other):
        return cnp.less(self, other)

    def __le__(self, other):
        return cnp.less_equal(self, other)

    def __gt__(self, other):
        return cnp.greater(self, other)

    def __ge__(self, other):
        return cnp.greater_equal(self, other)

    # Logical operators: not differentiable either (they meet Tensors of masks while
    # chainrule.jit records, where comparisons give Tensors).
    def __and__(self, other):
        return cnp.bitwise_and(self, other)

    def __rand__(self, other):
        return cnp.bitwise_and(other, self)

    def __or__(self, other):
        return cnp.bitwise_or(self, other)

    def __ror__(self, other):
        return cnp.bitwise_or(other, self)

    def __xor__(self, other):
        return cnp.bitwise_xor(self, other)

    def __rxor__(self, other):
        return cnp.bitwise_xor(other, self)

    def __invert__(self):
        return cnp.invert(self)

    def __getitem__(self, index):
        return cnp.getitem(self, index)

    # -- methods, as on ndarray ---------------------------------------------------------
    def sum(self, axis=None, dtype=None, keepdims=False):
        return cnp.sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, keepdims=False):
        return cnp.mean(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, keepdims=False):
        return cnp.prod(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return cnp.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return cnp.min(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, dtype=None, ddof=0, keepdims=False):
        return cnp.var(self, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, dtype=None, ddof=0, keepdims=False):
        return cnp.std(self, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis=None):
        return cnp.cumsum(self, axis=axis)

    def cumprod(self, axis=None):
        return cnp.cumprod(self, axis=axis)

    def argmax(self, axis=None, keepdims=False):
        return cnp.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return cnp.argmin(self, axis=axis, keepdims=keepdims)

    def argsort(self, axis=-1, kind=None, order=None):
        return cnp.argsort(self, axis=axis, kind=kind, order=order)

    def any(self, axis=None, keepdims=False):
        return cnp.any(self, axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        return cnp.all(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return cnp.reshape(self, shape, order=order)

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return cnp.transpose(self, axes or None)

    def swapaxes(self, axis1, axis2):
        return cnp.swapaxes(self, axis1, axis2)

    def flatten(self, order="C"):
        return cnp.ravel(self, order=order)

    def ravel(self, order="C"):
        return cnp.ravel(self, order=order)

    def squeeze(self, axis=None):
        return cnp.squeeze(self, axis=axis)

    def dot(self, other):
        return cnp.dot(self, other)

    def clip(self, min=None, max=None):
        return cnp.clip(self, min, max)

    def round(self, decimals=0):
        return cnp.round(self, decimals=decimals)

    def conj(self):
        return cnp.conj(self)

    conjugate = conj

    def astype(self, dtype, copy=True):
        return cnp.astype(self, dtype)

    def repeat(self, repeats, axis=None):
        return cnp.repeat(self, repeats, axis=axis)

    def take(self, indices, axis=None):
        return cnp.take(self, indices, axis=axis)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return cnp.diagonal(self, offset, axis1, axis2)

    def trace(self, offset=0, axis1=0, axis2=1):
        return cnp.trace(self, offset, axis1, axis2)

    def nonzero(self):
        return cnp.nonzero(self)

    def copy(self):
        return cnp.copy(self)

    # PyTorch-style elementwise methods, so that (x @ w).tanh().sum() reads naturally.
    def exp(self):
        return cnp.exp(self)

    def log(self):
        return cnp.log(self)

    def sqrt(self):
        return cnp.sqrt(self)

    def tanh(self):
        return cnp.tanh(self)

    def sin(self):
        return cnp.sin(self)

    def cos(self):
        return cnp.cos(self)

    def abs(self):
        return cnp.abs(self)

    def sigmoid(self):
        return activations.sigmoid(self)

    def relu(self):
        return activations.relu(self)

    # -- the eager layer (PyTorch-like); see chainrule.core.eager ------------------------
    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by ``backward()`` (eager Tensors)."""
        try:
            return self._grad
        except AttributeError:
            return None

    @grad.setter
    def grad(self, value) -> None:
        self._grad = value

    @property
    def requires_grad(self) -> bool:
        return self._node is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        eager.set_requires_grad(self, flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        eager.set_requires_grad(self, flag)
        return self

    @property
    def is_leaf(self) -> bool:
        return self._node is None or self._node.prim is None

    @property
    def data(self) -> Tensor:
        """The same values, detached from the graph (shares memory)."""
        return self.detach()

    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False):
        """Accumulate the gradient of this Tensor into ``.grad`` of the leaves it came from.

        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        Tensor([2., 4.])
        """
        eager.backward(self, gradient, retain_graph, create_graph)

    def detach(self) -> Tensor:
        return Tensor(self.primal(), eager.EAGER)

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shared, not copied). Refuses if it needs a grad."""
        if self._node is not None or self._trace.level > 0:
            raise RuntimeError(
                "numpy() of a Tensor that requires grad would drop its gradient; "
                "use .detach().numpy()"
            )
        return np.asarray(self._value)

    def register_hook(self, hook):
        """Call ``hook(grad)`` with this Tensor's gradient in ``backward()``; a returned
        value replaces the gradient. Returns a handle with ``.remove()``."""
        return eager.register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` in ``backward()`` right after this leaf's ``.grad`` has been
        updated (as PyTorch's hook of that name). Returns a handle with ``.remove()``.

        >>> import chainrule as cr
        >>> w = cr.tensor([3.0], requires_grad=True)
        >>> h = w.register_post_accumulate_grad_hook(lambda t: print(t.grad))
        >>> (w * w).sum().backward()
        Tensor([6.])
        """
        return eager.register_post_accumulate_grad_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf Tensor too."""
        eager.retain_grad(self)

    # In-place operations: see chainrule.core.eager.inplace for the rules.
    def __iadd__(self, other):
        return eager.inplace(self, add, other, "add_")

    def __isub__(self, other):
        return eager.inplace(self, subtract, other, "sub_")

    def __imul__(self, other):
        return eager.inplace(self, multiply, other, "mul_")

    def __itruediv__(self, other):
        return eager.inplace(self, true_divide, other, "div_")

    def __ipow__(self, other):
        return eager.inplace(self, power, other, "pow_")

    def add_(self, other, alpha=1):
        return eager.inplace(self, add, other if alpha == 1 else other * alpha, "add_")

    def sub_(self, other, alpha=1):
        return eager.inplace(self, subtract, other if alpha == 1 else other * alpha, "sub_")

    def mul_(self, other):
        return eager.inplace(self, multiply, other, "mul_")

    def div_(self, other):
        return eager.inplace(self, true_divide, other, "div_")

    def zero_(self):
        return eager.inplace(self, _filled, 0, "zero_")

    def fill_(self, value):
        return eager.inplace(self, _filled, value, "fill_")

    def copy_(self, other):
        return eager.inplace(self, _filled, other, "copy_")

    def fill(self, value) -> None:
        """``ndarray.fill``: every element set to ``value``, in place."""
        eager.inplace(self, _filled, value, "fill")

    def sort(self, axis: int = -1, kind: str | None = None) -> None:
        """``ndarray.sort``: sorted along ``axis``, in place."""
        eager.inplace(self, _sorted, (axis, kind), "sort")

    def __setitem__(self, index, value):
        eager.setitem(self, index, value)


NO_KWARGS: dict = {}  # shared by operator calls; never mutated


def _filled(a, v):
    """An array of ``a``'s shape and dtype holding ``v``: written, not computed from ``a``
    (``a * 0 + v`` would keep a NaN or inf of ``a``); differentiable in ``v`` only."""
    out = cnp.zeros_like(a) + v
    dtype = a.dtype if hasattr(a, "dtype") else np.result_type(a)
    return out if out.dtype == dtype else cnp.astype(out, dtype)


def _sorted(a, how):
    axis, kind = how
    return cnp.sort(a, axis=axis, kind=kind)


def undifferentiated(x):
    """``x`` with every differentiating trace taken off: its plain value, or, while
    ``chainrule.jit`` traces, the jit's Tensor (so what is computed from it is recorded
    rather than frozen). A batch of ``chainrule.vmap`` stays a batch (of undifferentiated
    values). Lists and tuples are looked into."""
    if isinstance(x, Tensor):
        while not x._trace.records:
            if x._trace.batches:
                inner = undifferentiated(x._value)
                return x if inner is x._value else x._trace.box(inner)
            x = x._value
            if not isinstance(x, Tensor):
                break
        return x
    if isinstance(x, list | tuple) and any(isinstance(v, Tensor) for v in x):
        return type(x)(undifferentiated(v) for v in x)
    return x


def _operator(prim, reflected: bool):
    """The operator method for ``prim``: straight to the innermost trace, skipping the
    argument scan of ``Primitive.__call__`` (operators are the hot path)."""
    if reflected:
        def method(self, other):
            trace = self._trace
            if isinstance(other, Tensor) and other._trace.level > trace.level:
                trace = other._trace
            return trace.binary(prim, other, self)
    else:
        def method(self, other):
            trace = self._trace
            if isinstance(other, Tensor) and other._trace.level > trace.level:
                trace = other._trace
            return trace.binary(prim, self, other)
    return method


# Bound at the end to break the import cycle: the mirror's functions need this class.
import chainrule.numpy as cnp  # noqa: E402
from chainrule.core import eager  # noqa: E402
from chainrule.numpy import activations  # noqa: E402
from chainrule.numpy.elementwise import (  # noqa: E402
    add,
    multiply,
    negative,
    power,
    subtract,
    true_divide,
)

for _name, _prim in (("add", add), ("sub", subtract), ("mul", multiply), ("truediv", true_divide),
                     ("pow", power)):
    for _method_name, _reflected in ((f"__{_name}__", False), (f"__r{_name}__", True)):
        _method = _operator(_prim, _reflected)
        _method.__name__ = _method_name
        _method.__qualname__ = f"Tensor.{_method_name}"
        setattr(Tensor, _method_name, _method)
del _name, _prim, _method_name, _reflected, _method
