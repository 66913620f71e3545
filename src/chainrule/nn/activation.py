"""The activation layers. Most call their ``nn.functional`` function with PyTorch's
constructor arguments and defaults (made by :func:`_layer` on :class:`_Options`): ``ReLU``,
``LeakyReLU``, ``Tanh``, ``Sigmoid``, ``GELU``, ``SiLU``, ``Softplus``, ``Softmax``,
``LogSoftmax``, ``ELU``, ``CELU``, ``SELU``, ``ReLU6``, ``Hardtanh``, ``Hardswish``,
``Hardsigmoid``, ``Mish``, ``LogSigmoid``, ``Softsign``, ``Tanhshrink``, ``Softmin``, ``GLU``,
``Softshrink``, ``Hardshrink``, ``Threshold``, ``CosineSimilarity``, ``PairwiseDistance``; the
rest have code of their own: ``Softmax2d``, ``PReLU`` (a learnt slope), ``RReLU`` (a random
slope in training). The losses: :mod:`chainrule.nn.loss`.
"""

from __future__ import annotations

import numpy as np

from chainrule.core.dtypes import check_cpu
from chainrule.core.errors import TensorError
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn._options import _Options
from chainrule.nn.layers import param_dtype
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter

__all__ = [
    "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "SiLU", "Softplus", "Softmax", "LogSoftmax", "Softmax2d",
    "ELU", "CELU", "SELU", "ReLU6", "Hardtanh", "Hardswish", "Hardsigmoid", "Mish", "LogSigmoid", "Softsign",
    "Tanhshrink", "Softmin", "GLU", "Softshrink", "Hardshrink", "Threshold", "PReLU", "RReLU",
    "CosineSimilarity", "PairwiseDistance",
]


def _layer(name: str, fn, names: tuple = (), defaults: dict | None = None, doc: str = "", inplace: bool = False,
           shown: tuple | None = None, extra_repr=None, check=None):
    """The layer class ``name`` that calls ``fn`` with its options ``names`` (see :class:`_Options`)."""
    body = {"_fn": staticmethod(fn), "_names": names, "_defaults": defaults or {}, "_inplace": inplace,
            "_shown": shown, "_check": check,
            "__doc__": doc or f"``{fn.__name__}`` as a layer.", "__module__": __name__}
    if extra_repr is not None:
        body["extra_repr"] = extra_repr
    return type(name, (_Options,), body)


ELU = _layer("ELU", F.elu, ("alpha",), {"alpha": 1.0}, inplace=True)
CELU = _layer("CELU", F.celu, ("alpha",), {"alpha": 1.0}, inplace=True)
SELU = _layer("SELU", F.selu, inplace=True)
ReLU6 = _layer("ReLU6", F.relu6, inplace=True)


def _check_bounds(self) -> None:
    if not self.max_val > self.min_val:
        raise ValueError(f"Hardtanh: max_val ({self.max_val}) must be greater than min_val ({self.min_val})")


Hardtanh = _layer("Hardtanh", F.hardtanh, ("min_val", "max_val"), {"min_val": -1.0, "max_val": 1.0}, inplace=True,
                  check=_check_bounds)
Hardswish = _layer("Hardswish", F.hardswish, inplace=True, extra_repr=lambda self: "")  # PyTorch's show nothing
Hardsigmoid = _layer("Hardsigmoid", F.hardsigmoid, inplace=True, extra_repr=lambda self: "")
Mish = _layer("Mish", F.mish, inplace=True)
LogSigmoid = _layer("LogSigmoid", F.logsigmoid)
Softsign = _layer("Softsign", F.softsign)
Tanhshrink = _layer("Tanhshrink", F.tanhshrink)
Softmin = _layer("Softmin", F.softmin, ("dim",), {"dim": None})
GLU = _layer("GLU", F.glu, ("dim",), {"dim": -1})
Softshrink = _layer("Softshrink", F.softshrink, ("lambd",), {"lambd": 0.5}, extra_repr=lambda self: str(self.lambd))
Hardshrink = _layer("Hardshrink", F.hardshrink, ("lambd",), {"lambd": 0.5}, extra_repr=lambda self: str(self.lambd))
Threshold = _layer("Threshold", F.threshold, ("threshold", "value"), inplace=True)
CosineSimilarity = _layer("CosineSimilarity", F.cosine_similarity, ("dim", "eps"), {"dim": 1, "eps": 1e-8}, shown=())
PairwiseDistance = _layer("PairwiseDistance", F.pairwise_distance, ("p", "eps", "keepdim"),
                          {"p": 2.0, "eps": 1e-6, "keepdim": False}, shown=())


class PReLU(Module):
    """x where x ≥ 0, a·x elsewhere, the slope a learnt: one, or ``num_parameters`` (one
    per channel), starting at ``init``.

    >>> PReLU()(np.array([[-2.0, 3.0]], dtype=np.float32)).tolist()
    [[-0.5, 3.0]]
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        self.num_parameters = int(num_parameters)
        self.init = init
        self.weight = Parameter(np.full(self.num_parameters, init, dtype=param_dtype(dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every slope back to ``init``, in place (PyTorch's)."""
        init.constant_(self.weight, self.init)

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """The randomized leaky ReLU, ``F.rrelu`` (as ``torch.nn.RReLU(lower=1/8, upper=1/3,
    inplace=False)``): in training each negative element gets a slope drawn uniformly
    from [lower, upper] (from ``rng``, default the global generator), in eval mode the
    slope (lower + upper)/2.

    >>> RReLU(0.1, 0.3).eval()(np.array([-2.0, 3.0])).tolist()
    [-0.4, 3.0]
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False, rng=None):
        super().__init__()
        if not lower <= upper:
            raise TensorError(f"RReLU: the lower bound {lower} should be less than or equal to the upper bound {upper}")
        if not isinstance(inplace, bool):
            raise TypeError(f"RReLU: inplace must be True or False, got {inplace!r} (pass the generator as rng=)")
        self.lower, self.upper, self.inplace = lower, upper, inplace
        self.rng = rng if rng is None else init.get_generator(rng)

    def forward(self, x):
        return F.rrelu(x, self.lower, self.upper, self.training, self.inplace, rng=self.rng)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


# -- the common activations -------------------------------------------------------------------------------
ReLU = _layer("ReLU", F.relu, inplace=True,
              doc="max(x, 0); ``inplace=True`` writes it into an eager input, as PyTorch's.")
LeakyReLU = _layer("LeakyReLU", F.leaky_relu, ("negative_slope",), {"negative_slope": 0.01}, inplace=True,
                   doc="x for x > 0, ``negative_slope``·x otherwise.")
Tanh = _layer("Tanh", F.tanh)
Sigmoid = _layer("Sigmoid", F.sigmoid)


def _check_approximate(self) -> None:
    if self.approximate not in ("none", "tanh"):
        raise TensorError(f"GELU: approximate must be 'none' or 'tanh', not {self.approximate!r}")


GELU = _layer("GELU", F.gelu, ("approximate",), {"approximate": "none"}, check=_check_approximate,
              doc="x·Φ(x); ``approximate='tanh'`` for the tanh formula.")
SiLU = _layer("SiLU", F.silu, inplace=True, doc="x·sigmoid(x).")
Softplus = _layer("Softplus", F.softplus, ("beta", "threshold"), {"beta": 1.0, "threshold": 20.0})
Softmax = _layer("Softmax", F.softmax, ("dim",), {"dim": None},
                 doc="``F.softmax`` along ``dim``; without it, PyTorch's implicit choice (see ``F.softmax``).")
LogSoftmax = _layer("LogSoftmax", F.log_softmax, ("dim",), {"dim": None},
                    doc="``F.log_softmax`` along ``dim``; without it, PyTorch's implicit choice (see ``F.softmax``).")


class Softmax2d(Module):
    """``F.softmax`` over the channels of (N, C, H, W) or (C, H, W) inputs (axis −3)."""

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d expects a 3-d or 4-d input, got shape {tuple(x.shape)}")
        return F.softmax(x, -3)
