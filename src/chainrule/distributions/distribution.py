"""The base class of ``chainrule.distributions``, PyTorch's ``torch.distributions.Distribution``:
shapes (``batch_shape``, ``event_shape``, ``sample(sample_shape)``), argument validation
with PyTorch's ``ValueError`` messages, ``expand``, and the helpers the families share.

Draws come from the global generator that ``chainrule.manual_seed`` seeds: they are
NumPy's numbers, so the same seed gives other values than PyTorch's.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import get_default_dtype
from chainrule.core.eager import EAGER
from chainrule.core.global_state import global_setting
from chainrule.core.grad_mode import no_grad
from chainrule.core.tensor import Tensor
from chainrule.distributions import constraints
from chainrule.numpy import draws
from chainrule.numpy.draws import SAMPLERS
from chainrule.numpy.nondiff import batched as batching_of
from chainrule.numpy.nondiff import every, whole_batch
from chainrule.numpy.torch_common import TorchSize as Size

__all__ = ["SAMPLERS", "Distribution", "broadcast_all", "lazy_property", "noise", "sum_rightmost"]


class lazy_property:
    """A parameter computed from another on first use (``logits`` from ``probs``): cached
    in the instance, and not validated unless it was given."""

    def __init__(self, fn):
        self.fn, self.__doc__, self.__name__ = fn, fn.__doc__, fn.__name__

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.fn.__name__] = value
        return value


def _dtype_of(values):
    for v in values:
        if isinstance(v, Tensor) and np.issubdtype(v.dtype, np.floating):
            return v.dtype
    for v in values:
        if isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.floating):
            return v.dtype
    return get_default_dtype()


def as_tensor(x, dtype=None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x, dtype=dtype if dtype is not None else _dtype_of([x])), EAGER)


def broadcast_all(*values) -> list[Tensor]:
    """The parameters as Tensors of one shape: numbers take the first Tensor's floating
    dtype (the default dtype without one), as PyTorch's ``broadcast_all``."""
    dtype = _dtype_of(values)
    ts = [as_tensor(v, dtype) for v in values]
    shape = np.broadcast_shapes(*(t.shape for t in ts))
    return [t if t.shape == shape else cnp.broadcast_to(t, shape) for t in ts]


def sum_rightmost(value, dim: int):
    return value if dim == 0 else value.reshape(tuple(value.shape[:value.ndim - dim]) + (-1,)).sum(-1)


def _parameters(like) -> list:
    """The Tensors that ``like`` (Tensors, or a distribution) stands for: a distribution's
    parameters, and those of the distributions it holds."""
    todo, found = (list(like) if isinstance(like, list | tuple) else [like]), []
    while todo:
        v = todo.pop()
        if isinstance(v, Distribution):
            todo.extend(w for w in vars(v).values() if isinstance(w, Tensor | Distribution))
        else:
            found.append(v)
    return found


def noise(kind: str, shape, dtype, *args, like=()) -> Tensor:
    """A Tensor of draws of ``shape`` from the global generator (see
    :func:`chainrule.numpy.draws.noise`, the one door of every draw): recorded by the trace
    of jit or vmap of ``args`` or of ``like`` (the Tensors or the distribution the draws
    are for), so that each replay draws anew and each example of a vmap its own."""
    return draws.noise(kind, shape, dtype, *args, like=_parameters(like))


def _satisfied(constraint, value) -> bool:
    """Whether ``value`` (every example of a vmap) lies in ``constraint``; under jit a
    guard on the answer (a replay with a value outside runs the function, which raises)."""
    try:
        return every(constraint.check(value))
    except TypeError:  # a bound batched under chainrule.vmap: no single bound to check against
        return True


def _sample_shape(sample_shape) -> tuple:
    return (int(sample_shape),) if isinstance(sample_shape, (int, np.integer)) else tuple(sample_shape)


class Distribution:
    """What every distribution has, as in PyTorch: ``batch_shape`` (independent,
    differently parametrised distributions), ``event_shape`` (the shape of one draw),
    ``sample``/``rsample(sample_shape)`` of shape ``sample_shape + batch_shape +
    event_shape``, ``log_prob``, ``entropy``, ``mean``, ``variance``, ``stddev``, ``mode``,
    ``expand``, and validation of parameters and values (on unless
    ``validate_args=False`` or ``Distribution.set_default_validate_args(False)``)."""

    # chainrule.jit watches a distribution that a jitted function reads (d.loc = ...)
    __jit_watch__ = True
    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__
    arg_constraints: dict = {}
    support = None

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args takes True or False, not {value!r}")
        Distribution._validate_args = value

    def _validating(self) -> bool:
        """Whether this distribution validates: its own ``validate_args``, or the default
        (read as a global setting, which chainrule.jit keys a traced call on)."""
        given = self.__dict__.get("_validate_args")
        return default_validate_args() if given is None else given

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = Size(tuple(batch_shape)), Size(tuple(event_shape))
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validating():
            for param, constraint in self.arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and isinstance(getattr(type(self), param), lazy_property):
                    continue
                value = getattr(self, param)
                if not _satisfied(constraint, value):
                    raise ValueError(
                        f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) "
                        f"of distribution {self!r} to satisfy the constraint {constraint!r}, "
                        f"but found invalid values:\n{whole_batch(value)}")

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    def _extended_shape(self, sample_shape=()) -> Size:
        return Size(_sample_shape(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def expand(self, batch_shape, _instance=None):
        """The distribution with its parameters broadcast to ``batch_shape`` (a view)."""
        batch_shape = tuple(batch_shape)
        new = self.__new__(type(self)) if _instance is None else _instance
        old = tuple(self._batch_shape)
        for k, v in self.__dict__.items():
            if isinstance(v, Tensor) and tuple(v.shape[:len(old)]) == old and k not in self._unexpanded:
                v = cnp.broadcast_to(v, batch_shape + tuple(v.shape[len(old):]))
            new.__dict__[k] = v
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    _unexpanded: tuple = ()

    def _expand_parameters(self, cls, batch_shape, *names: str, _instance=None, event_shape: tuple = ()):
        """``expand`` for a family whose constructor builds state of its own from its
        parameters (a base distribution, transforms): ``cls`` made again from the parameters
        ``names``, each broadcast to ``batch_shape`` + ``event_shape``."""
        shape = tuple(batch_shape) + tuple(event_shape)
        new = self._get_checked_instance(cls, _instance)
        cls.__init__(new, *(cnp.broadcast_to(getattr(self, n), shape) for n in names),
                     validate_args=self._validate_args)
        return new

    def _get_checked_instance(self, cls, _instance=None):
        """The blank instance a custom ``expand`` fills in, as PyTorch's: ``_instance`` if
        given, else a new one of this type (a subclass of ``cls`` with its own ``__init__``
        must define its own ``expand``, which passes ``_instance`` on)."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {type(self).__name__} of {cls.__name__} that defines a custom __init__ method "
                "must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__} has no mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self).__name__} has no mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__} has no variance")

    @property
    def stddev(self):
        return cnp.sqrt(self.variance)

    def sample(self, sample_shape=()) -> Tensor:
        """A draw without gradient, of shape ``sample_shape + batch_shape + event_shape``."""
        with no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()) -> Tensor:
        raise NotImplementedError(
            f"{type(self).__name__} has no reparameterised draw (rsample) in chainrule; use sample(), "
            "which does not differentiate in the parameters, or a score-function (REINFORCE) estimator")

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    def log_prob(self, value):
        raise NotImplementedError(f"{type(self).__name__} has no log_prob")

    def cdf(self, value):
        raise NotImplementedError(f"{type(self).__name__} has no cdf")

    def icdf(self, value):
        raise NotImplementedError(f"{type(self).__name__} has no icdf")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__} has no entropy")

    def enumerate_support(self, expand=True):
        raise NotImplementedError(f"{type(self).__name__} has no enumerable support")

    def perplexity(self):
        return cnp.exp(self.entropy())

    def _validate_sample(self, value) -> None:
        if not isinstance(value, Tensor | np.ndarray | np.generic):
            raise ValueError("The value argument to log_prob must be a Tensor")
        shape, event = tuple(value.shape), tuple(self._event_shape)
        if shape[len(shape) - len(event):] != event:
            raise ValueError(f"The right-most size of value must match event_shape: {Size(shape)} vs {Size(event)}.")
        expected = tuple(self._batch_shape) + event
        for i, j in zip(reversed(shape), reversed(expected), strict=False):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {Size(shape)} vs "
                                 f"{Size(expected)}.")
        support = self.support
        if not _satisfied(support, value):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape {shape}) to be within the support "
                f"({support!r}) of the distribution {self!r}, but found invalid values:\n{whole_batch(value)}")

    def _checked(self, value) -> Tensor:
        if self._validating():
            self._validate_sample(value)
        return as_tensor(value)

    def __repr__(self) -> str:
        def shown(v):
            if batching_of(v):  # (the examples of a vmap: their shape, as for a batch)
                return v.size()
            return v.item() if v.ndim == 0 else v if v.numel() == 1 else v.size()

        names = [k for k in self.arg_constraints if k in self.__dict__]
        args = ", ".join(f"{p}: {shown(self.__dict__[p])}" for p in names)
        return f"{type(self).__name__}({args})"


@global_setting
def default_validate_args() -> bool:
    """The default of ``validate_args`` that ``Distribution.set_default_validate_args`` sets,
    read as a global setting: a call that ``chainrule.jit`` traces is keyed on it.

    >>> from chainrule.distributions.distribution import default_validate_args
    >>> default_validate_args() in (True, False)
    True
    """
    return Distribution._validate_args
