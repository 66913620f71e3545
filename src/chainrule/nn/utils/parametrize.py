"""``nn.utils.parametrize``, PyTorch's: a module's parameter (or buffer) computed by a
small module from the tensors it replaced.

``register_parametrization(module, "weight", P)`` keeps the original values in
``module.parametrizations.weight.original`` (``original0``, ``original1``, ... where
``P.right_inverse`` splits them, as weight norm's magnitude and direction), and reading
``module.weight`` computes ``P(original)``; the state-dict keys are PyTorch's
(``parametrizations.weight.original``), so either library's file loads into the other's
model. Assigning ``module.weight = X`` stores ``right_inverse(X)``. The module's class
becomes ``Parametrized<Class>``, as in PyTorch, until the last parametrization is removed.

>>> import numpy as np
>>> from chainrule import nn
>>> class Symmetric(nn.Module):
...     def forward(self, X):
...         return X.triu() + X.triu(1).mT
>>> layer = register_parametrization(nn.Linear(3, 3), "weight", Symmetric())
>>> w = layer.weight.detach().numpy(); bool(np.allclose(w, w.T)), type(layer).__name__
(True, 'ParametrizedLinear')
>>> sorted(layer.state_dict())
['bias', 'parametrizations.weight.original']
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

from chainrule.core.grad_mode import no_grad
from chainrule.core.tensor import Tensor
from chainrule.nn.containers import ModuleDict, ModuleList
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "ParametrizationList", "type_before_parametrizations", "transfer_parametrizations_and_params"]

_cache_enabled = 0
_cache: dict = {}


@contextmanager
def cached():
    """Within this context each parametrized tensor is computed once, at its first read,
    and that value is given back at later reads (as PyTorch's ``parametrize.cached``)."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _register_parameter_or_buffer(module: Module, name: str, x) -> None:
    if isinstance(x, Parameter):
        module.register_parameter(name, x)
    else:
        module.register_buffer(name, x)


def _set_values(original: Tensor, new) -> None:
    """``original.set_(new)``, PyTorch's in-place swap: the same Tensor object (an
    optimizer that holds it keeps working) holds the new values."""
    new_shape, new_dtype = tuple(new.shape), new.dtype
    if new_dtype != original.dtype:
        raise ValueError(f"When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                         f"original.dtype: {original.dtype}\nright_inverse(original).dtype: {new_dtype}")
    if new_shape != tuple(original.shape):
        raise ValueError(f"When `right_inverse` outputs one tensor, it may not change the shape.\n"
                         f"original.shape: {tuple(original.shape)}\nright_inverse(original).shape: {new_shape}")
    original.data = new


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the original tensors
    (``original``, or ``original0``, ``original1``, ... when the first one's
    ``right_inverse`` gives several)."""

    def __init__(self, modules: Sequence[Module], original, unsafe: bool = False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        original_shape, original_dtype = tuple(original.shape), original.dtype
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    new = module.right_inverse(new)
        if not isinstance(new, Tensor) and not isinstance(new, Sequence):
            raise ValueError(f"'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                             f"Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new is not original:
                _set_values(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, x in enumerate(new):
                if not isinstance(x, Tensor):
                    raise ValueError(f"'right_inverse' must return a Tensor or a Sequence of tensors "
                                     f"(list, tuple...). Got element {i} of the sequence with type {type(x).__name__}.")
                if isinstance(original, Parameter):
                    x = Parameter(x.detach().numpy().copy(), original.requires_grad)
                else:
                    x = x.detach()
                _register_parameter_or_buffer(self, f"original{i}", x)
        if not unsafe:
            z = self()
            if not isinstance(z, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(z).__name__}.")
            if z.dtype != original_dtype:
                raise ValueError(f"Registering a parametrization may not change the dtype of the tensor, unless "
                                 f"`unsafe` flag is enabled.\nunparametrized dtype: {original_dtype}\n"
                                 f"parametrized dtype: {z.dtype}")
            if tuple(z.shape) != original_shape:
                raise ValueError(f"Registering a parametrization may not change the shape of the tensor, unless "
                                 f"`unsafe` flag is enabled.\nunparametrized shape: {original_shape}\n"
                                 f"parametrized shape: {tuple(z.shape)}")

    def right_inverse(self, value) -> None:
        """Store ``value`` as the originals: each parametrization's ``right_inverse``, the
        last first."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                _set_values(self.original, value)
            else:
                if not isinstance(value, Sequence) or len(value) != self.ntensors:
                    raise ValueError(f"'right_inverse' must return a sequence of {self.ntensors} tensors. "
                                     f"Got {type(value).__name__}")
                for i, x in enumerate(value):
                    original_i = getattr(self, f"original{i}")
                    if not isinstance(x, Tensor):
                        raise ValueError(f"`right_inverse` must return a sequence of tensors. "
                                         f"Got element {i} of type {type(x).__name__}")
                    _set_values(original_i, x)

    def forward(self):
        mods = list(self)
        if self.is_tensor:
            x = mods[0](self.original)
        else:
            x = mods[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in mods[1:]:
            x = m(x)
        return x


def _parametrized_setattr(self, name, value):
    if name in type(self)._parametrized_names:
        if isinstance(value, Parameter):
            raise KeyError(f"attribute '{name}' already exists")
        type(self).__dict__[name].fset(self, value)
        return
    type(self).__mro__[1].__setattr__(self, name, value)  # the class it was before


def _parametrized_deepcopy(self, memo):
    # the copy gets a class of its own too: PyTorch's shares the original's, so that
    # removing (or adding) a parametrization of the copy changes the original's properties
    # (the original then fails: no attribute 'weight'); the properties read only `self`
    new = Module.__deepcopy__(self, memo)
    new.__class__ = _parametrized_class(type(self).__bases__[0])
    for name in type(self)._parametrized_names:
        setattr(new.__class__, name, type(self).__dict__[name])
        new.__class__._parametrized_names.add(name)
    return new


def _parametrized_getstate(self):
    raise RuntimeError("Serialization of parametrized modules is only supported through state_dict(): save "
                       "model.state_dict() (cr.save) and load it into a model built and parametrized again")


def _parametrized_class(cls: type) -> type:
    """A new class ``Parametrized<Class>`` derived from ``cls``, to hold the properties."""
    body = {"_parametrized_names": set(), "__setattr__": _parametrized_setattr, "__module__": cls.__module__,
            "__deepcopy__": _parametrized_deepcopy, "__getstate__": _parametrized_getstate}
    return type(f"Parametrized{cls.__name__}", (cls,), body)


def _inject_new_class(module: Module) -> None:
    """Give ``module`` a class of its own, ``Parametrized<Class>``, to hold the properties."""
    module.__class__ = _parametrized_class(module.__class__)


def _inject_property(module: Module, tensor_name: str) -> None:
    def get_parametrized(self):
        parametrization = self.parametrizations[tensor_name]
        if _cache_enabled:
            key = (id(self), tensor_name)
            tensor = _cache.get(key)
            if tensor is None:
                tensor = _cache[key] = parametrization()
            return tensor
        return parametrization()

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    cls = type(module)
    setattr(cls, tensor_name, property(get_parametrized, set_original))
    cls._parametrized_names.add(tensor_name)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Parametrize ``module.<tensor_name>`` by ``parametrization`` (a Module whose
    ``forward`` maps the originals to the tensor, with an optional ``right_inverse``);
    a second one on the same tensor is applied after the first. Returns ``module``."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            if not isinstance(x, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(x).__name__}.")
            if x.dtype != y.dtype or tuple(x.shape) != tuple(y.shape):
                raise ValueError(f"Registering a parametrization may not change the shape or dtype of the tensor, "
                                 f"unless the `unsafe` flag is enabled.\nunparametrized: {tuple(y.shape)} {y.dtype}\n"
                                 f"parametrized: {tuple(x.shape)} {x.dtype}")
            if hasattr(parametrization, "right_inverse"):
                z = parametrization.right_inverse(x)
                if not isinstance(z, Tensor) or z.dtype != y.dtype or tuple(z.shape) != tuple(y.shape):
                    raise ValueError("parametrization.right_inverse must return a tensor of the shape and dtype "
                                     "of the tensor it is given")
        module.parametrizations[tensor_name].append(parametrization)
        module.parametrizations[tensor_name].unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        module.parametrizations[tensor_name] = parametrizations
        _inject_property(module, tensor_name)
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element "
                         f"with name '{tensor_name}'")
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has a parametrization (on ``tensor_name``, where given)."""
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if parametrizations is None or not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Take the parametrizations off ``module.<tensor_name>``: the tensor becomes a
    parameter again, holding the parametrized values (``leave_parametrized=True``) or the
    original ones. The module's class is its own again once none is left."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                t = getattr(module, tensor_name)
            _set_values(original, t)
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                             "parametrized in terms of a sequence of tensors.")
        with no_grad():
            t = getattr(module, tensor_name)
        requires_grad = parametrizations.original0.requires_grad
        original = Parameter(t.detach().numpy().copy(), requires_grad) if isinstance(
            parametrizations.original0, Parameter) else t.detach()
    cls = type(module)
    delattr(cls, tensor_name)
    cls._parametrized_names.discard(tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = cls.__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """The class of ``module`` as it was before it was parametrized."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: str | None = None) -> Module:
    """Give ``to_module`` the parametrizations of ``from_module`` (on ``tensor_name``, or on
    all its parametrized tensors), sharing its original Parameters, as PyTorch's (model
    pruning and quantisation swap a layer so); a tensor ``to_module`` lacks is made a
    Parameter of ``from_module``'s values first. Returns ``to_module``.

    >>> from chainrule import nn
    >>> from chainrule.nn.utils import parametrize
    >>> class Double(nn.Module):
    ...     def forward(self, x):
    ...         return 2 * x
    >>> a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    >>> _ = parametrize.register_parametrization(a, "weight", Double())
    >>> b = parametrize.transfer_parametrizations_and_params(a, b)
    >>> b.parametrizations.weight.original is a.parametrizations.weight.original
    True
    """
    if not is_parametrized(from_module, tensor_name):
        return to_module
    for name in list(from_module.parametrizations) if tensor_name is None else [tensor_name]:
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name)))
        source = from_module.parametrizations[name]
        for parametrization in source:
            register_parametrization(to_module, name, parametrization)
        target = to_module.parametrizations[name]
        originals = ["original"] if source.is_tensor else [f"original{i}" for i in range(source.ntensors)]
        for original in originals:
            setattr(target, original, getattr(source, original))
    return to_module
