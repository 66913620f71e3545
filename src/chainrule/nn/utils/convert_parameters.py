"""Parameters as one flat vector and back, as ``torch.nn.utils``."""

from __future__ import annotations

import math

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.eager import no_grad
from chainrule.core.errors import TensorError

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """The parameters, flattened and joined in order (differentiable).

    >>> from chainrule import nn
    >>> nn.utils.parameters_to_vector(nn.Linear(3, 2).parameters()).shape
    torch.Size([8])
    """
    return cnp.concatenate([cnp.reshape(p, (-1,)) for p in parameters])


def vector_to_parameters(vec, parameters) -> None:
    """Write the consecutive pieces of ``vec`` into the parameters, in place. As PyTorch's,
    a longer vector gives its first values and leaves the rest unread; a shorter one is
    an error.

    >>> import numpy as np
    >>> from chainrule import nn
    >>> layer = nn.Linear(3, 2)
    >>> nn.utils.vector_to_parameters(np.arange(8.0), layer.parameters())
    >>> layer.bias.tolist()
    [6.0, 7.0]
    """
    parameters = list(parameters)
    total = sum(math.prod(p.shape) for p in parameters)
    if np.ndim(vec) != 1 or np.shape(vec)[0] < total:
        raise TensorError(f"vector_to_parameters: expected a vector of (at least) {total} values, "
                          f"got shape {np.shape(vec)}")
    start = 0
    with no_grad():
        for p in parameters:
            n = math.prod(p.shape)
            p.copy_(cnp.reshape(vec[start:start + n], p.shape))
            start += n
