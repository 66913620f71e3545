"""``Parameter``: a Tensor that a Module registers and an optimizer updates; ``Buffer``:
one that a Module registers as a buffer (PyTorch's ``nn.Buffer``)."""

from __future__ import annotations

import numpy as np

from chainrule.core.eager import EAGER, set_requires_grad
from chainrule.core.tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    """A leaf Tensor that requires grad; assigning one to a Module attribute registers it.

    The data is shared with ``data`` when that is already a NumPy array (no copy), as
    ``torch.nn.Parameter`` shares its tensor's storage.

    >>> import numpy as np
    >>> from chainrule.nn import Parameter
    >>> w = Parameter(np.zeros((2, 3), dtype=np.float32))
    >>> w.requires_grad, w.shape, w.dtype
    (True, torch.Size([2, 3]), dtype('float32'))
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.zeros(0, dtype=np.float32)
        inference = getattr(data, "_inference", False)  # (made in inference_mode(): so is the Parameter)
        if isinstance(data, Tensor):
            data = data.primal()
        value = data if isinstance(data, np.ndarray) else np.array(data)
        if value.dtype.kind not in "fc":
            raise TypeError(
                f"a Parameter holds floating-point values, not {value.dtype}; "
                "convert with .astype(np.float32) first"
            )
        if not value.flags.writeable:
            value = value.copy()  # optimizers write parameters in place
        super().__init__(value, EAGER)
        if inference:
            self._inference = True
        if requires_grad:
            set_requires_grad(self, True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo) -> Parameter:
        # a fresh leaf: the graph record of the original must not be shared
        new = Parameter(np.array(self._value, copy=True), requires_grad=self.requires_grad)
        memo[id(self)] = new
        return new


class Buffer(Tensor):
    """A Tensor that, assigned to a Module attribute, is registered as a buffer
    (``persistent=False``: kept out of ``state_dict()``), as PyTorch's ``nn.Buffer``.

    >>> import numpy as np
    >>> from chainrule import nn
    >>> m = nn.Module(); m.count = nn.Buffer(np.zeros(2)); m.cache = nn.Buffer(np.ones(2), persistent=False)
    >>> list(m.state_dict()), [name for name, _ in m.named_buffers()]
    (['count'], ['count', 'cache'])
    """

    __slots__ = ("persistent",)

    def __init__(self, data=None, *, persistent: bool = True):
        if data is None:
            data = np.zeros(0, dtype=np.float32)
        value = data.primal() if isinstance(data, Tensor) else data
        super().__init__(value if isinstance(value, np.ndarray) else np.array(value), EAGER)
        self.persistent = persistent
