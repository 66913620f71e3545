"""Parameter initialisation: uniform and normal, Xavier (Glorot) and Kaiming (He).

Every function fills a Tensor (or an ndarray) in place and returns it. Randomness comes
from the NumPy ``Generator`` passed as ``rng=``, or else from the global generator
(:mod:`chainrule.core.rng`), which :func:`manual_seed` (also ``chainrule.manual_seed``)
reseeds; so a seeded program builds the same model every time.

>>> import numpy as np
>>> from chainrule import nn
>>> _ = nn.init.manual_seed(0)
>>> a = nn.Linear(3, 2).weight.detach().numpy().copy()
>>> _ = nn.init.manual_seed(0)
>>> bool(np.array_equal(a, nn.Linear(3, 2).weight.detach().numpy()))
True
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from chainrule.core.rng import default_generator, get_generator, manual_seed
from chainrule.core.tensor import Tensor
from chainrule.nn.module import mark_modified

__all__ = [
    "manual_seed",
    "default_generator",
    "get_generator",
    "calculate_gain",
    "uniform_",
    "normal_",
    "constant_",
    "zeros_",
    "ones_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
    "trunc_normal_",
    "eye_",
    "dirac_",
    "sparse_",
    "uniform",
    "normal",
    "constant",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "eye",
    "dirac",
    "sparse",
]

def _fill(t, values: np.ndarray):
    """Write ``values`` into ``t``'s buffer in place (a Parameter keeps its identity)."""
    if isinstance(t, Tensor):
        buf = t._value
        if not isinstance(buf, np.ndarray):
            raise TypeError("init functions fill eager Tensors or NumPy arrays")
        np.copyto(buf, values, casting="unsafe")
        mark_modified(t)
    elif isinstance(t, np.ndarray):
        np.copyto(t, values, casting="unsafe")
    else:
        raise TypeError(f"cannot initialise a {type(t).__name__} in place; pass a Tensor or array")
    return t


def _shape(t) -> tuple[int, ...]:
    return tuple(t.shape)


def reset_with(module, rng, method: str = "reset_parameters") -> None:
    """Call ``module.<method>()`` with :func:`generator_of` giving ``rng`` (a layer's
    ``rng=`` argument) while it runs. Layers do it at the end of ``__init__``, as PyTorch's
    do, so that an override of ``reset_parameters`` in a subclass sets the starting
    weights, and the weights drawn for a given ``rng`` stay the same; a later call of
    ``reset_parameters()`` draws from the global generator, as in PyTorch."""
    module.__dict__["_reset_rng"] = None if rng is None else get_generator(rng)
    try:
        getattr(module, method)()
    finally:
        module.__dict__.pop("_reset_rng", None)


def generator_of(module) -> np.random.Generator:
    """The generator ``module.reset_parameters()`` draws from: the constructor's ``rng=``
    while :func:`reset_with` runs it, the global generator otherwise."""
    return get_generator(module.__dict__.get("_reset_rng"))


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an activation (PyTorch's table).

    >>> round(calculate_gain("tanh"), 4)
    1.6667
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "identity")
    if nonlinearity in linear or nonlinearity.startswith("conv_transpose"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is not None and (isinstance(param, bool) or not isinstance(param, int | float)):
            raise ValueError(f"calculate_gain('leaky_relu', param): the negative slope must be a number, got {param!r}")
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """Fan-in and fan-out of a weight of ``shape`` = (out, in, *kernel)."""
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight of at least 2 dimensions, got {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """PyTorch's private helper that layers' own ``reset_parameters`` call (as PyTorch's
    ``Linear`` does, for its bias bound): the fan-in and fan-out of ``tensor``'s shape.

    >>> from chainrule import nn
    >>> nn.init._calculate_fan_in_and_fan_out(nn.Conv2d(3, 8, 5).weight)
    (75, 200)
    """
    return fan_in_and_fan_out(_shape(tensor))


def _calculate_correct_fan(tensor, mode: str) -> int:
    """PyTorch's private helper: the fan-in or fan-out (``mode``, either case) of ``tensor``."""
    return _fan(_shape(tensor), mode)


def _fan(shape, mode: str) -> int:
    mode = mode.lower() if isinstance(mode, str) else mode
    fan_in, fan_out = fan_in_and_fan_out(shape)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"mode must be 'fan_in' or 'fan_out', not {mode!r}")


def uniform_(t, a: float = 0.0, b: float = 1.0, rng=None, *, generator=None):
    """Fill with values drawn uniformly from [a, b)."""
    rng = generator if rng is None else rng  # PyTorch's generator= or rng=
    if a > b:
        raise RuntimeError(f"uniform_: the range [a, b) needs a <= b, got a={a}, b={b}")
    return _fill(t, get_generator(rng).uniform(a, b, size=_shape(t)))


def normal_(t, mean: float = 0.0, std: float = 1.0, rng=None, *, generator=None):
    """Fill with values drawn from N(mean, std²)."""
    rng = generator if rng is None else rng  # PyTorch's generator= or rng=
    return _fill(t, get_generator(rng).normal(mean, std, size=_shape(t)))


def constant_(t, value: float):
    return _fill(t, np.full(_shape(t), value))


def zeros_(t):
    return constant_(t, 0.0)


def ones_(t):
    return constant_(t, 1.0)


def xavier_uniform_(t, gain: float = 1.0, rng=None, *, generator=None):
    """Glorot & Bengio (2010): U(−a, a) with a = gain·√(6 / (fan_in + fan_out))."""
    rng = generator if rng is None else rng  # PyTorch's generator= or rng=
    fan_in, fan_out = fan_in_and_fan_out(_shape(t))
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a, rng)


def xavier_normal_(t, gain: float = 1.0, rng=None, *, generator=None):
    """Glorot & Bengio (2010): N(0, std²) with std = gain·√(2 / (fan_in + fan_out))."""
    rng = generator if rng is None else rng  # PyTorch's generator= or rng=
    fan_in, fan_out = fan_in_and_fan_out(_shape(t))
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def _no_op(t):
    """A tensor without elements, left as it is (with PyTorch's warning)."""
    warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
    return t


def kaiming_uniform_(t, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", rng=None, *,
                     generator=None):
    """He et al. (2015): U(−b, b) with b = gain·√(3 / fan)."""
    if 0 in _shape(t):
        return _no_op(t)
    rng = generator if rng is None else rng  # PyTorch's generator= or rng=
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(_shape(t), mode))
    return uniform_(t, -bound, bound, rng)


def kaiming_normal_(t, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", rng=None, *,
                    generator=None):
    """He et al. (2015): N(0, std²) with std = gain / √fan."""
    if 0 in _shape(t):
        return _no_op(t)
    rng = generator if rng is None else rng  # PyTorch's generator= or rng=
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(_shape(t), mode))
    return normal_(t, 0.0, std, rng)


def orthogonal_(t, gain: float = 1.0, rng=None, *, generator=None):
    """A (semi-)orthogonal matrix, scaled by ``gain`` (Saxe et al., 2013)."""
    rng = generator if rng is None else rng  # PyTorch's generator= or rng=
    shape = _shape(t)
    if len(shape) < 2:
        raise ValueError("orthogonal_ needs a weight of at least 2 dimensions")
    rows, cols = shape[0], int(np.prod(shape[1:]))
    flat = get_generator(rng).normal(size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # makes the distribution uniform over orthogonal matrices
    if rows < cols:
        q = q.T
    return _fill(t, gain * q.reshape(shape))


def trunc_normal_(t, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, rng=None, *, generator=None):
    """N(mean, std²) restricted to [a, b] (the bounds are absolute, as PyTorch's), by
    redrawing the values that fall outside.

    >>> from chainrule import nn
    >>> w = nn.init.trunc_normal_(nn.Linear(50, 40).weight, std=0.02, a=-0.04, b=0.04)
    >>> bool(abs(w.detach().numpy()).max() <= 0.04)
    True
    """
    rng = generator if rng is None else rng  # PyTorch's generator= or rng=
    if not a < b:
        raise ValueError(f"trunc_normal_: the bounds must satisfy a < b, got a={a}, b={b}")
    g = get_generator(rng)
    values = g.normal(mean, std, size=_shape(t))
    outside = (values < a) | (values > b)
    while outside.any():
        values[outside] = g.normal(mean, std, size=int(outside.sum()))
        outside = (values < a) | (values > b)
    return _fill(t, values)


def eye_(t):
    """The identity matrix (of a 2-d weight): ones on the diagonal, zeros elsewhere.

    >>> from chainrule import nn
    >>> nn.init.eye_(nn.Linear(3, 2).weight).detach().numpy().tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    shape = _shape(t)
    if len(shape) != 2:
        raise ValueError(f"eye_ needs a 2-d weight, got shape {shape}")
    return _fill(t, np.eye(*shape))


def dirac_(t, groups: int = 1):
    """The Dirac delta of a 3-, 4- or 5-d convolution weight (out, in, k...): a
    convolution that passes as many input channels through unchanged as it can (each of
    ``groups`` groups its own), as PyTorch's.

    >>> from chainrule import nn
    >>> nn.init.dirac_(nn.Conv1d(2, 2, 3).weight).detach().numpy()[:, :, 1].tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    shape = _shape(t)
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"dirac_ needs a 3-, 4- or 5-d weight, got shape {shape}")
    if shape[0] % groups:
        raise ValueError(f"dirac_: the first axis ({shape[0]}) must be divisible by groups ({groups})")
    per_group = shape[0] // groups
    values = np.zeros(shape)
    centre = tuple(n // 2 for n in shape[2:])
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            values[(g * per_group + d, d, *centre)] = 1.0
    return _fill(t, values)


def sparse_(t, sparsity: float, std: float = 0.01, rng=None, *, generator=None):
    """A sparse 2-d weight (Martens, 2010): N(0, std²) values, with ``ceil(sparsity ·
    rows)`` of each column set to zero at random, as PyTorch's.

    >>> from chainrule import nn
    >>> w = nn.init.sparse_(nn.Linear(10, 4).weight, 0.5)
    >>> (w.detach().numpy() == 0).sum(axis=0).tolist()
    [2, 2, 2, 2, 2, 2, 2, 2, 2, 2]
    """
    rng = get_generator(generator if rng is None else rng)
    shape = _shape(t)
    if len(shape) != 2:
        raise ValueError(f"sparse_ needs a 2-d weight, got shape {shape}")
    rows, cols = shape
    values = rng.normal(0.0, std, size=shape)
    zeros = math.ceil(sparsity * rows)
    for c in range(cols):
        values[rng.permutation(rows)[:zeros], c] = 0.0
    return _fill(t, values)



def _deprecated(new):
    """PyTorch's deprecated name without the trailing underscore, which warns and calls ``new``."""
    old = new.__name__[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new.__name__}`.", FutureWarning,
                      stacklevel=2)
        return new(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old
    deprecated_init.__doc__ = f"Deprecated: :func:`{new.__name__}`, with a FutureWarning (PyTorch's old name)."
    return deprecated_init


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
sparse = _deprecated(sparse_)
