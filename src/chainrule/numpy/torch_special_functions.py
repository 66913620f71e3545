"""``torch.special`` (``import chainrule as torch; torch.special.erfcx(x)``): PyTorch's
special functions, each :mod:`chainrule.scipy.special`'s differentiable primitive (so
SciPy is needed, imported at the first call) or a :mod:`chainrule.numpy` function, with
PyTorch's argument names and result dtypes: float32 stays float32 (a Python number does
not promote it), integers become the default floating dtype.

>>> import chainrule as torch
>>> x = torch.tensor([0.5, 1.0], requires_grad=True)
>>> torch.special.xlogy(x, x).sum().backward()
>>> [f"{v:.4f}" for v in x.grad.tolist()]      # log x + 1
['0.3069', '1.0000']
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.eager import default_float_dtype
from chainrule.core.errors import TensorError
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy.torch_linalg import as_input, no_out
from chainrule.numpy.torch_promotion import result_type
from chainrule.numpy.torch_special import as_pytorch, floating, in_dtype, scipy_special

__all__ = [
    "expit", "logit", "erf", "erfc", "erfcx", "erfinv", "gammaln", "digamma", "psi", "polygamma", "multigammaln",
    "i0", "i0e", "i1", "i1e", "ndtr", "ndtri", "log_ndtr", "log1p", "expm1", "exp2", "logsumexp", "softmax",
    "log_softmax", "xlogy", "xlog1py", "sinc", "entr", "zeta", "round", "bessel_j0", "bessel_j1",
]


def _float_dtype(*operands) -> np.dtype:
    """PyTorch's result dtype of a floating function of ``operands``."""
    dtype = result_type(*operands)
    return default_float_dtype() if dtype is None or dtype.kind in "biu" else dtype


def _floating(x) -> Tensor:
    return floating(as_input(x))


def _unary(name: str, scipy_name: str | None = None, numpy_name: str | None = None):
    def function(input, *, out=None) -> Tensor:
        no_out(out, name)
        x = _floating(input)
        if numpy_name:
            return in_dtype(getattr(cnp, numpy_name)(x), x.dtype)
        return in_dtype(as_pytorch(scipy_name or name, x, scipy_special(scipy_name or name)(x)), x.dtype)

    function.__name__ = function.__qualname__ = name
    source = f"``numpy.{numpy_name}``" if numpy_name else f"``scipy.special.{scipy_name or name}``"
    function.__doc__ = f"``torch.special.{name}(input)``: {source} of the values, differentiable."
    return function


def _binary(name: str, scipy_name: str | None = None, log_pole: float | None = None):
    """``log_pole``: for x·log(y − pole) (xlogy, xlog1py), x's derivative is 0 where x is 0
    and y ≤ pole, as PyTorch's (SciPy's and JAX's are log(y − pole) there, −inf or NaN)."""
    def function(input, other, *, out=None) -> Tensor:
        no_out(out, name)
        dtype = _float_dtype(input, other)
        x = input if isinstance(input, int | float) else as_input(input)
        y = other if isinstance(other, int | float) else as_input(other)
        if log_pole is not None and isinstance(x, Tensor):
            x = cnp.where((undifferentiated(x) == 0) & (undifferentiated(y) <= log_pole), undifferentiated(x), x)
        return in_dtype(as_input(scipy_special(scipy_name or name)(x, y)), dtype)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"``torch.special.{name}(input, other)``: ``scipy.special.{scipy_name or name}``, "
                        "either argument a number or a Tensor, broadcast.")
    return function


expit = _unary("expit")
erf, erfc, erfcx, erfinv = _unary("erf"), _unary("erfc"), _unary("erfcx"), _unary("erfinv")
gammaln, digamma, psi = _unary("gammaln"), _unary("digamma"), _unary("psi", "digamma")
i0, i0e, i1, i1e = _unary("i0"), _unary("i0e"), _unary("i1"), _unary("i1e")
ndtr, ndtri, log_ndtr = _unary("ndtr"), _unary("ndtri"), _unary("log_ndtr")
bessel_j0, bessel_j1 = _unary("bessel_j0", "j0"), _unary("bessel_j1", "j1")
log1p, expm1, exp2 = _unary("log1p", numpy_name="log1p"), _unary("expm1", numpy_name="expm1"), _unary(
    "exp2", numpy_name="exp2")
sinc = _unary("sinc", numpy_name="sinc")
entr = _unary("entr")
xlogy, xlog1py, zeta = _binary("xlogy", log_pole=0.0), _binary("xlog1py", log_pole=-1.0), _binary("zeta")


def logit(input, eps: float | None = None, *, out=None) -> Tensor:
    """``torch.special.logit``: log(p / (1 − p)), p first clamped to [eps, 1 − eps] when
    ``eps`` is given (derivative 0 where it was clamped).

    >>> import chainrule as torch
    >>> [f"{v:.6f}" for v in torch.special.logit(torch.tensor([0.0, 0.5]), eps=0.25).tolist()]
    ['-1.098612', '0.000000']
    """
    no_out(out, "logit")
    x = _floating(input)
    dtype, v = x.dtype, undifferentiated(x)
    x = x + 0.0  # -0.0 as 0.0: the derivative at either zero is +inf, as PyTorch's
    if eps is None:  # PyTorch's derivative: NaN outside [0, 1]
        x = x * cnp.astype(cnp.where((v < 0) | (v > 1), np.nan, 1.0), dtype)
    else:  # clamped to [eps, 1 - eps] as PyTorch's kernel (eps first), derivative 0 outside
        x = cnp.where(v < eps, eps, cnp.where(v > 1.0 - eps, 1.0 - eps, x))
    return in_dtype(cnp.log(x) - cnp.log1p(-x), dtype)  # derivative 1/x + 1/(1 - x)


def polygamma(n: int, input, *, out=None) -> Tensor:
    """``torch.special.polygamma(n, input)``: the ``n``-th derivative of digamma."""
    no_out(out, "polygamma")
    x = _floating(input)
    return in_dtype(as_input(scipy_special("polygamma")(n, x)), x.dtype)


def multigammaln(input, p: int, *, out=None) -> Tensor:
    """``torch.special.multigammaln(input, p)``: the log of the multivariate gamma
    function of dimension ``p``, Σⱼ log|Γ(x − j/2)| + p(p − 1)/4 log π: outside its domain
    (x ≤ (p − 1)/2) the same sum, as PyTorch computes it (inf at the poles)."""
    no_out(out, "multigammaln")
    if p < 1:
        raise TensorError(f"multigammaln: p has to be greater than or equal to 1, got {p}")
    x = _floating(input)
    offsets = np.arange(p, dtype=x.dtype) / -2 + 0.0  # x + 0.0 as PyTorch's: -0.0 becomes 0.0, where ψ is -inf
    terms = scipy_special("gammaln")(x[..., None] + offsets)
    return in_dtype(p * (p - 1) / 4 * np.log(np.pi) + cnp.sum(terms, axis=-1), x.dtype)


def logsumexp(input, dim, keepdim: bool = False, *, out=None) -> Tensor:
    """``torch.special.logsumexp``: log Σ exp over ``dim``, computed stably."""
    no_out(out, "logsumexp")
    return _floating(input).logsumexp(dim, keepdim)


def softmax(input, dim: int, *, dtype=None) -> Tensor:
    """``torch.special.softmax``: the softmax along ``dim`` (cast to ``dtype`` first)."""
    return _floating(input).softmax(dim, dtype=dtype)


def log_softmax(input, dim: int, *, dtype=None) -> Tensor:
    """``torch.special.log_softmax``: the log of the softmax along ``dim``."""
    return _floating(input).log_softmax(dim, dtype=dtype)


def round(input, *, decimals: int = 0, out=None) -> Tensor:  # noqa: A001
    """``torch.special.round``: ``torch.round`` (half to even; derivative 0)."""
    no_out(out, "round")
    return as_input(input).round(decimals=decimals)
