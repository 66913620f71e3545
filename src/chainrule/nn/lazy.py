"""``LazyLinear``: a ``Linear`` whose ``in_features`` is read from its first input, as
PyTorch's lazy modules: the weight is made (and initialised as ``Linear``'s) at the first
call, and the module then becomes a ``Linear``. Create the optimizer after that call.
"""

from __future__ import annotations

import math

from chainrule.nn import init
from chainrule.nn.layers import Linear, _empty
from chainrule.nn.module import Module

__all__ = ["LazyLinear"]


class LazyLinear(Linear):
    """``Linear(in_features, out_features)`` with ``in_features`` the last size of the
    first input.

    >>> import numpy as np
    >>> layer = LazyLinear(2, rng=0)
    >>> layer(np.ones((4, 3), dtype=np.float32)).shape, type(layer).__name__, layer.in_features
    ((4, 2), 'Linear', 3)
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
        n = int(input.shape[-1])
        rng = init.get_generator(rng)
        self.in_features = n
        self.weight = _empty((self.out_features, n), dtype)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if bias:
            self.bias = _empty((self.out_features,), dtype)
            bound = 1 / math.sqrt(n) if n > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, rng=rng)
        del self._lazy
        self.__class__ = Linear

    def forward(self, x):
        self.initialize_parameters(x)
        return Linear.forward(self, x)

    def extra_repr(self) -> str:
        return f"in_features=0, out_features={self.out_features}, bias={self._lazy[0]}"
