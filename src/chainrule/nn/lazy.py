"""``LazyLinear``: a ``Linear`` whose ``in_features`` is read from its first input, as
PyTorch's lazy modules: the weight is made (and initialised as ``Linear``'s) at the first
call, and the module then becomes a ``Linear``. Create the optimizer after that call.
Loading a state dict into a lazy module makes its parameters of the saved shapes first. The
same for ``LazyConv1d``/``2d``/``3d``, ``LazyConvTranspose1d``/``2d``/``3d`` (the input's
channels) and ``LazyBatchNorm1d``/``2d``/``3d``, ``LazyInstanceNorm1d``/``2d``/``3d``
(its axis 1, as PyTorch's; the lazy instance norms default to ``affine=True`` and
``track_running_stats=True``, as PyTorch's).
"""

from __future__ import annotations

import numpy as np

from chainrule.nn import conv, init, layers, spatial
from chainrule.nn._module_hooks import HOOK_STORES
from chainrule.nn.layers import Linear, _empty
from chainrule.nn.module import Module

__all__ = ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]


class LazyLinear(Linear):
    """``Linear(in_features, out_features)`` with ``in_features`` the last size of the
    first input.

    >>> import numpy as np
    >>> layer = LazyLinear(2, rng=0)
    >>> layer(np.ones((4, 3), dtype=np.float32)).shape, type(layer).__name__, layer.in_features
    (torch.Size([4, 2]), 'Linear', 3)
    """

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None, *, rng=None):
        Module.__init__(self)
        if device is not None and str(device) != "cpu":
            raise ValueError(f"LazyLinear: chainrule computes on the CPU; device={device!r} is not available")
        self.in_features, self.out_features = 0, int(out_features)
        self._lazy = (bias, dtype, rng)
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)

    def has_uninitialized_params(self) -> bool:
        """True until the first call has made the parameters (PyTorch's name)."""
        return True

    def initialize_parameters(self, input) -> None:
        """Make ``weight`` (out_features, input's last size) and ``bias`` as ``Linear``
        does, and turn into a ``Linear``."""
        if not getattr(input, "ndim", 0):
            raise ValueError("LazyLinear: the first input must have at least one dimension (the features)")
        bias, dtype, rng = self._lazy
        self.in_features = int(input.shape[-1])
        self.weight = _empty((self.out_features, self.in_features), dtype)
        if bias:
            self.bias = _empty((self.out_features,), dtype)
        init.reset_with(self, rng)
        del self._lazy
        self.__class__ = Linear

    def reset_parameters(self) -> None:
        """Nothing before the first call has made the parameters, then Linear's (PyTorch's)."""
        if self.weight is not None:
            super().reset_parameters()

    def forward(self, x):
        self.initialize_parameters(x)
        return Linear.forward(self, x)

    def _load_from_state_dict(self, state_dict, prefix, *args) -> None:
        """A state dict with the weight makes the parameters of its shape first (PyTorch's)."""
        weight = state_dict.get(prefix + "weight")
        if weight is None or np.ndim(weight) != 2:
            return _load_unmade(self, Linear(1, self.out_features, self._lazy[0]), state_dict, prefix, *args)
        self.initialize_parameters(np.zeros((1, np.shape(weight)[1])))
        return self._load_from_state_dict(state_dict, prefix, *args)

    def extra_repr(self) -> str:
        return f"in_features=0, out_features={self.out_features}, bias={self._lazy[0]}"


class _LazyModule(Module):
    """A module made at its first call, from the size of the input's channel axis and the
    constructor's arguments, which it then is (its class too)."""

    cls_to_become: type = Module
    spatial_dims: int | None = None  # a convolution's: its unbatched input has 1 + this many axes
    defaults: dict = {}

    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        kwargs = {**{k: v for k, v in self.defaults.items() if k not in kwargs}, **kwargs}
        groups = args[5] if len(args) > 5 else kwargs.get("groups", 1)
        template = self.cls_to_become(groups if self.spatial_dims else 0, *args, **kwargs)  # checks the arguments
        shown = template.extra_repr()
        self._lazy = (args, kwargs, "0" + shown[shown.index(","):] if "," in shown else "0")

    def has_uninitialized_params(self) -> bool:
        return True

    def reset_parameters(self) -> None:
        """Nothing before the first call has made the parameters, then the layer's own (PyTorch's)."""

    def _channels(self, input) -> int:
        if self.spatial_dims is None:
            return int(input.shape[1])
        if input.ndim not in (self.spatial_dims + 1, self.spatial_dims + 2):
            raise RuntimeError(f"Expected {self.spatial_dims + 1}D (unbatched) or {self.spatial_dims + 2}D (batched) "
                               f"input to {type(self).__name__}, but got input of size: {tuple(input.shape)}")
        return int(input.shape[1 if input.ndim == self.spatial_dims + 2 else 0])

    def initialize_parameters(self, input) -> None:
        args, kwargs, _ = self._lazy
        real = self.cls_to_become(self._channels(input), *args, **kwargs)
        real.train(self.training)
        kept = {k: v for k, v in self.__dict__.items() if k in HOOK_STORES or k == "_is_full_backward_hook"}
        self.__dict__.clear()
        self.__dict__.update(real.__dict__)
        self.__dict__.update(kept)
        self.__class__ = self.cls_to_become

    def forward(self, *args, **kwargs):
        self.initialize_parameters(args[0])
        return self.forward(*args, **kwargs)

    def _load_from_state_dict(self, state_dict, prefix, *args) -> None:
        """A state dict with the weight or the running mean makes the layer of their shape
        first (PyTorch's)."""
        channels = self._saved_channels(state_dict, prefix)
        if channels is None:
            made_args, kwargs, _ = self._lazy
            groups = made_args[5] if len(made_args) > 5 else kwargs.get("groups", 1)
            made = self.cls_to_become(groups if self.spatial_dims else 1, *made_args, **kwargs)
            return _load_unmade(self, made, state_dict, prefix, *args)
        self.initialize_parameters(np.zeros((1, channels) + (1,) * (self.spatial_dims or 0)))
        return self._load_from_state_dict(state_dict, prefix, *args)

    def _saved_channels(self, state_dict, prefix) -> int | None:
        """The input channels the saved values were made for, or None where they do not say."""
        weight = state_dict.get(prefix + "weight")
        if self.spatial_dims is None:  # a norm: its weight or running mean has one value per channel
            saved = weight if weight is not None else state_dict.get(prefix + "running_mean")
            return None if saved is None or np.ndim(saved) != 1 else int(np.shape(saved)[0])
        if weight is None or np.ndim(weight) != self.spatial_dims + 2:
            return None
        if self.cls_to_become.transposed:  # (in, out / groups, *kernel)
            return int(np.shape(weight)[0])
        args, kwargs, _ = self._lazy
        groups = args[5] if len(args) > 5 else kwargs.get("groups", 1)
        return int(np.shape(weight)[1]) * int(groups)  # (out, in / groups, *kernel)

    def extra_repr(self) -> str:
        return self._lazy[2]


def _load_unmade(module: Module, made: Module, state_dict, prefix, local_metadata, strict, missing_keys,
                 unexpected_keys, error_msgs):
    """Load a state dict without the values that give a lazy layer its shapes: the keys the
    layer would lack (those ``made``, a layer of its arguments, lacks) are missing, and its
    own keys are not unexpected, as PyTorch reports its uninitialised parameters."""
    unexpected: list[str] = []
    Module._load_from_state_dict(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected,
                                 error_msgs)
    own = {prefix + k for k in (*made.__dict__["_parameters"], *made.__dict__["_buffers"])}
    unexpected_keys.extend(k for k in unexpected if k not in own)
    lacking: list[str] = []
    made._load_from_state_dict({k: v for k, v in state_dict.items() if k.startswith(prefix)}, prefix,
                               local_metadata, strict, lacking, [], [])
    missing_keys.extend(lacking)


_NORM_DEFAULTS = {"affine": True, "track_running_stats": True}


def _lazy(name: str, target: type, spatial_dims: int | None = None, defaults: dict | None = None) -> type:
    return type(name, (_LazyModule,), {"cls_to_become": target, "spatial_dims": spatial_dims,
                                       "defaults": defaults or {}, "__module__": __name__,
                                       "__doc__": f"``{target.__name__}`` with its input channels read from the "
                                                  "first input."})


LazyConv1d = _lazy("LazyConv1d", conv.Conv1d, 1)
LazyConv2d = _lazy("LazyConv2d", layers.Conv2d, 2)
LazyConv3d = _lazy("LazyConv3d", conv.Conv3d, 3)
LazyConvTranspose1d = _lazy("LazyConvTranspose1d", conv.ConvTranspose1d, 1)
LazyConvTranspose2d = _lazy("LazyConvTranspose2d", conv.ConvTranspose2d, 2)
LazyConvTranspose3d = _lazy("LazyConvTranspose3d", conv.ConvTranspose3d, 3)
LazyBatchNorm1d = _lazy("LazyBatchNorm1d", layers.BatchNorm1d)
LazyBatchNorm2d = _lazy("LazyBatchNorm2d", layers.BatchNorm2d)
LazyBatchNorm3d = _lazy("LazyBatchNorm3d", layers.BatchNorm3d)
LazyInstanceNorm1d = _lazy("LazyInstanceNorm1d", spatial.InstanceNorm1d, defaults=_NORM_DEFAULTS)
LazyInstanceNorm2d = _lazy("LazyInstanceNorm2d", spatial.InstanceNorm2d, defaults=_NORM_DEFAULTS)
LazyInstanceNorm3d = _lazy("LazyInstanceNorm3d", spatial.InstanceNorm3d, defaults=_NORM_DEFAULTS)
