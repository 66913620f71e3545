"""Elementwise functions and their derivatives.

Most lines give the partial derivative ``d(ans, *args)`` of a function; the vjp and the
jvp both follow from it (see :func:`elementwise_derivatives`). Functions whose rules are
not a plain product (abs of a complex number, real/imag) spell out both; the selections
(where, clip, clamp, nan_to_num) are in :mod:`chainrule.numpy.selection`.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.core.eager import recorded_only, recording_trace
from chainrule.core.primitive import (
    as_array_if_holds_tensor,
    def_batch,
    def_jvps,
    def_linear,
    def_vjps,
    keeps_only,
    reads_only,
)
from chainrule.core.tensor import Tensor
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import broadcast_like, is_complex, unbroadcast
from chainrule.numpy.nondiff import (  # plain values
    anywhere,
    floor_divide,
    isnan,
    sign,
    signbit,
    trunc,
    unboxing,
)
from chainrule.numpy.registry import elementwise_derivatives as derivs
from chainrule.numpy.registry import mirrors, optional, recording_as_numpy, wrap
from chainrule.numpy.selection import where

__all__ = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "negative",
    "positive",
    "power",
    "float_power",
    "reciprocal",
    "square",
    "sqrt",
    "cbrt",
    "mod",
    "remainder",
    "fmod",
    "heaviside",
    "copysign",
    "nextafter",
    "i0",
    "ldexp",
    "frexp",
    "modf",
    "divmod",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "logaddexp",
    "logaddexp2",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "arctan2",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "hypot",
    "deg2rad",
    "radians",
    "rad2deg",
    "degrees",
    "sinc",
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "absolute",
    "abs",
    "fabs",
    "real",
    "imag",
    "conj",
    "conjugate",
    "angle",
    "real_if_close",
    "astype",
    "copy",
]


_UFUNCS: list = []


def ufunc(np_fun, name=None, public: bool = True):
    prim = wrap(np_fun, "elementwise", name, public=public)
    prim.array_operands = True
    _UFUNCS.append(prim)
    return prim


def ufunc_keywords(prim, args, kwargs):
    """A ufunc called with keyword arguments. On plain arrays: NumPy itself. On Tensors:
    ``dtype=`` and ``casting=`` convert the inputs first, which is what NumPy's loop
    does; ``out=`` and ``where=`` cannot hold a Tensor's result (eager or being
    differentiated), so they are refused with the composition that does the same."""
    # (out= looked into: NumPy hands it over as a tuple, and its call with a Tensor there
    # would hand it back here, without end)
    if not any(isinstance(a, Tensor) for v in (*args, *kwargs.values()) for a in (v if isinstance(v, tuple) else (v,))):
        return prim.fun(*args, **kwargs)
    # (a traced where= about plain arrays, a mask that vmap batches: refused below as on
    # Tensors; NumPy's own call would hand it back here through the mask, without end)
    kw = dict(kwargs)
    out, where = kw.pop("out", None), kw.pop("where", True)
    dtype, casting = kw.pop("dtype", None), kw.pop("casting", "same_kind")
    name = prim.__name__
    if out is not None and (trace := recording_trace(out, (*args, *kwargs.values()))) is not None:
        # under chainrule.jit: NumPy's write into a traced array, done and recorded
        trace.write(prim.fun, args, kwargs)
        return out[0] if isinstance(out, tuple) and len(out) == 1 else out
    if out is not None and (trace := recorded_only((*args, *kwargs.values()))) is not None:
        return trace.write_untraced(prim.fun, args, kwargs)  # into an array that is not traced
    if out is None and (trace := recording_as_numpy((*args, *kwargs.values()))) is not None:
        # under chainrule.jit, nothing differentiated: NumPy's call itself (order="F",
        # casting=, where= without out=), recorded, as the plain call makes it
        return trace.record(prim.fun, args, kwargs)
    if out is not None or where is not True:
        raise out_refused(name)
    if kw:
        raise TypeError(f"{name}: keyword arguments {sorted(kw)} are not supported on Tensors")
    if dtype is None and casting == "same_kind":
        return prim(*args)
    args, loop = loop_inputs(prim.fun, args, dtype, casting)
    ans = prim(*args)
    out = loop[-1]
    return ans if prim.fun.nout > 1 or np.result_type(ans) == out else astype(ans, out)


def out_refused(name: str) -> TypeError:
    """The error for ``out=`` (or ``where=``) of the ufunc ``name`` given a chainrule Tensor,
    an operand or the output: NumPy's write cannot hold a Tensor's result.

    >>> out_refused("matmul").args[0][:46]
    'matmul: out= and where= cannot hold the result'
    """
    return TypeError(
        f"{name}: out= and where= cannot hold the result of a chainrule Tensor (an eager one, or one being "
        f"differentiated). Use the returned value (y = y + t, not y += t into an array); for where=, "
        f"chainrule.numpy.where(mask, {name}(...), other); for NumPy's own write, give t.numpy()."
    )


def loop_inputs(np_ufunc, args, dtype, casting="same_kind"):
    """``args`` cast to the inputs of NumPy's loop of ``np_ufunc`` for outputs of ``dtype``
    (None: the loop NumPy picks for the inputs), NumPy's casting errors too, and that
    loop's dtypes: abs of complex numbers with dtype=float64 keeps the complex input;
    sin(x, dtype=float32) computes in float32."""
    if casting == "equiv" and any(map(_is_python_number, args)):
        # NumPy's resolve_dtypes crashes the process on a Python number under 'equiv':
        # NumPy's own call on empty operands checks the casting (its error, if any)
        np_ufunc(*(a if _is_python_number(a) else np.empty(0, _operand_dtype(a)) for a in args),
                 casting=casting, **({} if dtype is None else {"dtype": dtype}))
        casting = "unsafe"  # (checked: the loop does not depend on it)
    loop = np_ufunc.resolve_dtypes(
        tuple(_operand_dtype(a) for a in args) + (None,) * np_ufunc.nout,
        signature=(None,) * np_ufunc.nin + (None if dtype is None else np.dtype(dtype),) * np_ufunc.nout,
        casting=casting)
    # (resolve_dtypes checked the casting: np.astype, which jit records, takes no casting=)
    args = [a if _is_python_number(a) or _operand_dtype(a) == d else astype(a, d)
            for a, d in zip(args, loop, strict=False)]
    return args, loop


def _operand_dtype(a):
    """A ufunc operand's dtype, or the Python type of a number (NEP 50's weak scalars)."""
    if isinstance(a, bool):
        return np.dtype(bool)
    if _is_python_number(a):
        return type(a)
    return a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype


def _is_python_number(x) -> bool:
    return isinstance(x, int | float | complex) and not isinstance(x, Tensor)


# Python floats, not NumPy float64 scalars: they take the dtype of the array they meet
# (NEP 50), so the derivatives of float32 values stay float32.
LN2 = math.log(2.0)
LN10 = math.log(10.0)


def log_of_base(x):
    """log x for ∂(xʸ)/∂y; a positive Python number stays a Python number (see LN2)."""
    if isinstance(x, int | float) and not isinstance(x, bool) and x > 0:
        return math.log(x)
    return log(_nonzero(x))


def power_dx(x, y, pow=None):
    """y x^(y-1), written so that y = 0 gives 0 rather than 0 * x^-1 = nan at x = 0 (and
    0 * x = nan at x = ±inf, where PyTorch and JAX give 0 too). Only
    there is the exponent replaced: elsewhere it stays y - 1, so that the derivative of
    this in y (a mixed second derivative of x^y) is x^(y-1) + y x^(y-1) log x at y = 0 too."""
    pow = pow or power
    if isinstance(y, int | float):
        return y * pow(x, y - 1) if y != 0 else 0.0
    return y * pow(x, where((y == 0) & (x == 0), 1, y - 1))


def _nonzero(x):
    return where(x == 0, 1, x)


# -- arithmetic ------------------------------------------------------------------------
add = ufunc(np.add)
subtract = ufunc(np.subtract)
multiply = ufunc(np.multiply)
divide = true_divide = ufunc(np.divide, "divide")
negative = ufunc(np.negative)
positive = ufunc(np.positive)
power = ufunc(np.power)
float_power = ufunc(np.float_power)
reciprocal = ufunc(np.reciprocal)
square = ufunc(np.square)
sqrt = ufunc(np.sqrt)
cbrt = ufunc(np.cbrt)
mod = remainder = ufunc(np.remainder, "remainder")
fmod = ufunc(np.fmod)
heaviside = ufunc(np.heaviside)
copysign = ufunc(np.copysign)
nextafter = ufunc(np.nextafter)

derivs(add, 1, 1)
derivs(subtract, 1, -1)
def_vjps(negative, lambda g, ans, x: -g)
def_vjps(positive, lambda g, ans, x: g)
def_linear(negative)
def_linear(positive)
derivs(multiply, lambda ans, x, y: y, lambda ans, x, y: x)


def _inverse(y):
    """``1 / y``; of a Python number, NumPy's quotient as a Python number (so ``x / 0.0``
    has the derivative inf, with NumPy's warning, where Python would raise)."""
    return np.divide(1, y).item() if y.__class__ in (bool, int, float, complex) else 1 / y


derivs(divide, lambda ans, x, y: _inverse(y), lambda ans, x, y: -ans / y)
derivs(power, lambda ans, x, y: power_dx(x, y), lambda ans, x, y: ans * log_of_base(x))
# PyTorch's pow of a Tensor exponent (eager Tensors, torch.func: chainrule.numpy.bindings)
# differs from the mirror's (JAX's and autograd's) only at x = ±0 for y < 0, where its partial
# in y is x^y log x = ∓inf (the mirror's NaN, from log 0 taken as 0), and at a NaN x for y = 0,
# where its partial in x is 0
torch_power = ufunc(np.power, "power", public=False)
derivs(torch_power, lambda ans, x, y: power_dx(where(isnan(x) & (y == 0), 0.0, x), y),
       lambda ans, x, y: where((x == 0) & (y >= 0), 0.0, ans * log(x)))
derivs(float_power, lambda ans, x, y: power_dx(x, y, float_power),
                    lambda ans, x, y: ans * log(_nonzero(x)))
derivs(reciprocal, lambda ans, x: -ans * ans)
derivs(square, lambda ans, x: 2 * x)
derivs(sqrt, lambda ans, x: 0.5 / ans)
# ans ** -2 rather than 1 / ans²: its own derivative at 0 is ∓inf, where the product's is 0·inf
derivs(cbrt, lambda ans, x: power(ans, -2) / 3)
derivs(mod, lambda ans, x, y: 1, lambda ans, x, y: -floor_divide(x, y))
derivs(fmod, lambda ans, x, y: 1, lambda ans, x, y: -trunc(x / y))
# a step: no derivative in x; the value at 0 is x2 itself (JAX's derivatives)
derivs(heaviside, lambda ans, x, y: 0.0, lambda ans, x, y: astype(x == 0, _real_dtype(ans)))
# |x| with y's sign: the sign of x times that of y (0 at x = 0, as |x|'s); none in y
# (read from x and the result, as PyTorch's rule reads them: a write into y afterwards
# leaves the gradient right)
derivs(copysign, lambda ans, x, y: sign(x) * sign(ans), lambda ans, x, y: 0.0)
# x moved by one ulp towards y: the step is piecewise constant, so x's derivative is 1 and
# y's 0 (JAX defines none)
derivs(nextafter, lambda ans, x, y: 1.0, lambda ans, x, y: 0.0)

# -- exponentials and logarithms ---------------------------------------------------------
exp = ufunc(np.exp)
exp2 = ufunc(np.exp2)
expm1 = ufunc(np.expm1)
log = ufunc(np.log)
log2 = ufunc(np.log2)
log10 = ufunc(np.log10)
log1p = ufunc(np.log1p)
logaddexp = ufunc(np.logaddexp)
logaddexp2 = ufunc(np.logaddexp2)

derivs(exp, lambda ans, x: ans)
derivs(exp2, lambda ans, x: ans * LN2)
derivs(expm1, lambda ans, x: ans + 1)
derivs(log, lambda ans, x: _inverse_of(x))
derivs(log2, lambda ans, x: _inverse_of(x * LN2))
derivs(log10, lambda ans, x: _inverse_of(x * LN10))
derivs(log1p, lambda ans, x: _inverse_of(1 + x))
# exp(x - ans) written as 1 / (1 + exp(y - x)) through logaddexp itself: it has the limits
# (1 and 0) where one operand is infinite and the other is not, where x - ans is inf - inf
derivs(logaddexp, lambda ans, x, y: exp(-logaddexp(0.0, y - x)),
                  lambda ans, x, y: exp(-logaddexp(0.0, x - y)))
derivs(logaddexp2, lambda ans, x, y: exp2(-logaddexp2(0.0, y - x)),
                   lambda ans, x, y: exp2(-logaddexp2(0.0, x - y)))


def exp_neg_square(x, c: float = 1.0):
    """exp(-c x²), the Gaussian in the derivatives of erf and ndtr. For a real x it is
    0 beyond √c |x| = 28 (where it underflows to 0 already, past 27.3) with x kept out of
    that branch, so that a derivative of any order is 0 there, not x^k · 0 with x^k = inf
    (erf's fourth derivative at 1e300 was NaN).

    >>> float(exp_neg_square(1e300)), float(exp_neg_square(1.0))
    (0.0, 0.36787944117144233)
    """
    if is_complex(x):
        return exp(-c * x * x)
    far = absolute(x) > 28.0 / math.sqrt(c)
    near = where(far, 0.0, x)
    return where(far, 0.0, exp(-c * near * near))


# -- trigonometric and hyperbolic ------------------------------------------------------
sin = ufunc(np.sin)
cos = ufunc(np.cos)
tan = ufunc(np.tan)
arcsin = ufunc(np.arcsin)
arccos = ufunc(np.arccos)
arctan = ufunc(np.arctan)
arctan2 = ufunc(np.arctan2)
sinh = ufunc(np.sinh)
cosh = ufunc(np.cosh)
tanh = ufunc(np.tanh)
arcsinh = ufunc(np.arcsinh)
arccosh = ufunc(np.arccosh)
arctanh = ufunc(np.arctanh)
hypot = ufunc(np.hypot)
deg2rad = radians = ufunc(np.deg2rad, "deg2rad")
rad2deg = degrees = ufunc(np.rad2deg, "rad2deg")
sinc = wrap(np.sinc, "elementwise")

derivs(sin, lambda ans, x: cos(x))
derivs(cos, lambda ans, x: -sin(x))
derivs(tan, lambda ans, x: 1 + ans * ans)
# 1 / √(1 - x²) as 1 / (√(1 - x) √(1 + x)): no x² to overflow for a complex x (nor to
# lose digits near ±1), and the same principal branch off the cuts
derivs(arcsin, lambda ans, x: 1 / (sqrt(1 - x) * sqrt(1 + x)))
derivs(arccos, lambda ans, x: -1 / (sqrt(1 - x) * sqrt(1 + x)))
derivs(arctan, lambda ans, x: _arctan_derivative(x))
derivs(arctan2, lambda ans, x, y: y / (x * x + y * y), lambda ans, x, y: -x / (x * x + y * y))
derivs(sinh, lambda ans, x: cosh(x))
derivs(cosh, lambda ans, x: sinh(x))
derivs(tanh, lambda ans, x: 1 - ans * ans)
derivs(arcsinh, lambda ans, x: _arcsinh_derivative(x))
derivs(arccosh, lambda ans, x: _arccosh_derivative(x))
# 1 / (1 - x²) as 1 / (1 - x) times 1 / (1 + x): nothing overflows, at any order
derivs(arctanh, lambda ans, x: _inverse_of(1 - x, 1 + x))
# 0 at (0, 0), as the 2-norm's at 0 (hypot(x, 0) is |x|, whose derivative at 0 is 0)
derivs(hypot, lambda ans, x, y: x / _nonzero(ans), lambda ans, x, y: y / _nonzero(ans))
derivs(deg2rad, lambda ans, x: np.pi / 180)
derivs(rad2deg, lambda ans, x: 180 / np.pi)
derivs(sinc, lambda ans, x: _sinc_derivative(x))


# The complex infinity of a derivative at a pole, as inf+0j: a cotangent g times it is
# NumPy's g / 0 (each part of g divided by zero: inf+nanj for g = 1), what PyTorch's rules,
# which divide, give; 1 / 0 itself is inf+nanj, and any product with it nan+nanj.
_POLE = complex(math.inf, 0.0)


def _inverse_of(*factors):
    """1 / (the product of ``factors``), each one inverted alone (so that no product
    overflows, in any derivative either); complex, inf+0j where a factor is 0 (see _POLE)."""
    d = 1 / factors[0]
    for f in factors[1:]:
        d = d * (1 / f)
    if not any(is_complex(f) for f in factors):
        return d
    pole = factors[0] == 0
    for f in factors[1:]:
        pole = pole | (f == 0)
    return where(pole, _POLE, d)


def _arctan_derivative(x):
    """1 / (1 + x²). Complex: 1 / ((1 + ix)(1 - ix)), poles at ±i. Real: beyond |x| = 1
    as t² / (1 + t²) with t = 1/x, so that x² overflows in no derivative (the fourth at
    1e300 is 0, not inf · 0); each branch sees only its own points."""
    if is_complex(x):
        return _inverse_of(1 + 1j * x, 1 - 1j * x)
    far = absolute(x) > 1
    xn, t = where(far, 0.0, x), 1 / where(far, x, 1.0)
    return where(far, t * t / (1 + t * t), 1 / (1 + xn * xn))


def _arcsinh_derivative(x):
    """1 / √(x² + 1), as 1 / hypot(x, 1) (real) and 1 / (√(1 + ix) √(1 - ix)) (complex):
    no x² to overflow (1e-200 at 1e200, not 0)."""
    if is_complex(x):
        return 1 / (sqrt(1 + 1j * x) * sqrt(1 - 1j * x))
    return 1 / hypot(x, 1.0)


def _arccosh_derivative(x):
    """1 / (√(x - 1) √(x + 1)), the derivative of the principal branch (1 / √(x² - 1) has
    the wrong sign where Re x < 0) with no x² to overflow. Real: of |x|, so that x < -1
    gives PyTorch's and JAX's 1 / √(x² - 1) there too (where the value is NaN)."""
    if not is_complex(x):
        x = absolute(x)
    return 1 / (sqrt(x - 1) * sqrt(x + 1))


# What the tape keeps for these rules: the output alone, or the inputs alone.
keeps_only("output", tanh, exp, exp2, expm1, sqrt, cbrt, tan, reciprocal)
keeps_only("inputs", add, subtract, multiply, negative, square, sin, cos, sinh, cosh, log, log1p,
           log2, log10, arcsin, arccos, arctan, arcsinh, arccosh, arctanh)
# The arguments whose values each rule reads (the eager layer lets an in-place write into
# the others pass, as PyTorch does: x + 1, x * 2)
for _prim in (add, subtract):
    reads_only(_prim, (), ())
for _prim in (negative, positive):
    reads_only(_prim, ())
reads_only(multiply, (1,), (0,))
reads_only(divide, (1,), (1,))
reads_only(hypot, (0,), (1,))  # (and the result)
reads_only(copysign, (0,), ())
for _prim in (mod, fmod):
    reads_only(_prim, (), (0, 1))
for _prim in (deg2rad, rad2deg):
    reads_only(_prim, ())
reads_only(heaviside, (), (0,))
reads_only(nextafter, (), ())

# sinc'(x) = (cos πx - sinc x) / x loses its digits to cancellation near 0 (relative error
# about ε / x², all of them below |x| ≈ 1e-8, and more in each derivative of it), so below
# |x| = 1/2 sinc' is its Maclaurin series, Σ c_n x^(2n-1): 12 terms reach double precision
# there and stay accurate through about the 20th derivative. Each branch sees only the
# points it serves, so the other one's derivatives cannot turn the zeros of `where` into NaN.
_SINC_SERIES = [(-1) ** n * np.pi ** (2 * n) * 2 * n / math.factorial(2 * n + 1) for n in range(1, 13)]


def _sinc_derivative(x):
    near = absolute(x) < 0.5
    xn, xf = where(near, x, 0), where(near, 1, x)
    x2, series = xn * xn, _SINC_SERIES[-1]
    for c in _SINC_SERIES[-2::-1]:
        series = series * x2 + c
    return where(near, series * xn, (cos(np.pi * xf) - sinc(xf)) / xf)


# -- the modified Bessel function of order 0 ------------------------------------------------
def _cos_moment_impl(x, k: int = 1):
    """(1/π)∫₀^π exp(x cos t) cosᵏ t dt: I₁(x) for k = 1, and the k-th derivative of I₀.
    The trapezoidal rule over a whole period of a smooth periodic integrand converges
    geometrically; ~12√|x| points reach double precision (the integrand's width about
    t = 0 is 1/√|x|). Scaled by exp(|x|) so that only the result can overflow; beyond
    |x| = 710 it does (and at ±inf it is ±inf, at NaN NaN), so no more points are needed."""
    x = np.asarray(x)
    dtype = np.result_type(x, np.float64) if x.dtype.kind not in "fc" else x.dtype
    ax = np.minimum(np.abs(x).astype(np.float64), 800.0)  # NaN stays NaN
    n = int(40 + np.ceil(12 * np.sqrt(np.max(ax, initial=0.0, where=~np.isnan(ax)))))
    c = np.cos(2 * np.pi * np.arange(n) / n)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.mean(np.exp(ax[..., None] * (c - 1)) * c ** k, axis=-1)
        out = np.exp(ax) * mean * (np.sign(x) if k % 2 else 1)
    return out.astype(dtype)


_cos_moment = wrap(_cos_moment_impl, "elementwise", "cos_moment", public=False)
def_vjps(_cos_moment, lambda g, ans, x, k=1: g * _cos_moment(x, k=k + 1))
def_jvps(_cos_moment, lambda t, ans, x, k=1: t * _cos_moment(x, k=k + 1))
i0 = wrap(np.i0, "elementwise")
derivs(i0, lambda ans, x: _cos_moment(x, k=1))  # I₀' = I₁


# -- a float's parts ---------------------------------------------------------------------------
ldexp = ufunc(np.ldexp)  # x1 * 2**x2, x2 an integer: exact, and linear in x1
# the derivative scaled by ldexp too, not multiplied by a 2**x2 that over- or underflows
def_vjps(ldexp, lambda g, ans, x, i: unbroadcast(times_power_of_two(g, i), x), None)
def_jvps(ldexp, lambda t, ans, x, i: broadcast_like(times_power_of_two(t, i), ans), None)


def times_power_of_two(z, e):
    """``z * 2**e`` for integers ``e``, exact (``ldexp``), complex ``z`` part by part."""
    if is_complex(z):
        return complex_from_parts(ldexp(real(z), e), ldexp(imag(z), e))
    return ldexp(z, e)


@mirrors(np.frexp, "elementwise")
def frexp(x, /, *args, **kwargs):
    """``np.frexp``: (mantissa, exponent); the mantissa is ``ldexp(x, -exponent)``, so its
    derivative is 2**-exponent; the exponent is plain data."""
    if not isinstance(x, Tensor):
        return np.frexp(x, *args, **kwargs)
    if args or set(kwargs) - {"dtype", "casting"}:
        raise TypeError("frexp: out=, where= and the other keywords of a ufunc are not supported "
                        "on a traced value; use the returned values")
    if kwargs:
        (x,), _ = loop_inputs(np.frexp, (x,), kwargs.get("dtype"), kwargs.get("casting", "same_kind"))
    exponent = _frexp_exponent(x)
    return ldexp(x, -exponent), exponent


_frexp_exponent = unboxing(lambda x: np.frexp(x)[1])


@mirrors(np.modf, "elementwise")
def modf(x, /, *args, **kwargs):
    """``np.modf``: (fractional part, integral part); the fractional part has derivative
    1, the integral part none."""
    if not isinstance(x, Tensor):
        return np.modf(x, *args, **kwargs)
    if args or set(kwargs) - {"dtype", "casting"}:
        raise TypeError("modf: out= and where= are not supported on a traced value")
    if kwargs:
        (x,), _ = loop_inputs(np.modf, (x,), kwargs.get("dtype"), kwargs.get("casting", "same_kind"))
    whole = trunc(x)
    infinite = unboxing(np.isinf)(x)
    # x's sign on a zero fraction too (-3.0 gives -0.0), with derivative 1 on both sides
    frac = where(signbit(x), -(whole - x), x - whole)
    if anywhere(infinite):  # NumPy: a signed zero beside an infinity
        frac = where(infinite, unboxing(lambda v: np.modf(v)[0])(x), frac)
    return (frac[()], whole) if frac.ndim == 0 else (frac, whole)  # a scalar, as a ufunc's


@mirrors(np.divmod, "elementwise")
def divmod(x1, x2, /, *args, **kwargs):
    """``np.divmod``: (floor_divide(x1, x2), mod(x1, x2)); the remainder differentiates."""
    x1, x2 = as_array_if_holds_tensor(x1), as_array_if_holds_tensor(x2)
    if not isinstance(x1, Tensor) and not isinstance(x2, Tensor):
        return np.divmod(x1, x2, *args, **kwargs)
    if args or set(kwargs) - {"dtype", "casting"}:
        raise TypeError("divmod: out= and where= are not supported on a traced value")
    if kwargs:
        (x1, x2), _ = loop_inputs(np.divmod, (x1, x2), kwargs.get("dtype"), kwargs.get("casting", "same_kind"))
    return floor_divide(x1, x2), mod(x1, x2)


# -- comparisons that select a value ---------------------------------------------------
maximum = ufunc(np.maximum)
minimum = ufunc(np.minimum)
fmax = ufunc(np.fmax)
fmin = ufunc(np.fmin)


def balanced_eq(x, ans, other):
    """1 where ``x`` is the selected value, ½ where it ties with ``other`` (as JAX does),
    in the output's dtype (float32 stays float32).

    A tie is a hit too, so the weight is hit − ½·tie. The two masks enter the arithmetic
    as booleans, which NumPy's loops cast as they go: two passes over the data besides
    the comparisons, no float copies of the masks, no float64 temporaries, no division
    (ReLU written as ``maximum(h, 0)`` runs this on every activation)."""
    dtype = ans.dtype if hasattr(ans, "dtype") else np.result_type(ans)
    if dtype.kind not in "fc":
        dtype = np.dtype(np.float64)
    # (the tie's half added with its sign: an eager Tensor among the values, a constant
    # inside grad, follows PyTorch, which refuses a bool Tensor on either side of `-`)
    return (x == ans) + (x == other) * dtype.type(-0.5)


for _select in (maximum, minimum, fmax, fmin):
    derivs(_select, lambda ans, x, y: balanced_eq(x, ans, y), lambda ans, x, y: balanced_eq(y, ans, x))

# -- absolute value and complex parts ----------------------------------------------------
absolute = ufunc(np.absolute)
abs = absolute
fabs = ufunc(np.fabs)
real = wrap(np.real, "elementwise")
imag = wrap(np.imag, "elementwise")
conj = conjugate = ufunc(np.conjugate, "conjugate")
angle = wrap(np.angle, "elementwise")
# the real part where NumPy drops a negligible imaginary one, the value itself otherwise
real_if_close = wrap(np.real_if_close, "elementwise")


def as_complex_like(g, x):
    """A real cotangent becomes complex when its input is complex."""
    return g * (1 + 0j) if is_complex(x) and not is_complex(g) else g


def_vjps(absolute, lambda g, ans, x: g * conj(x) / _nonzero(ans) if is_complex(x) else g * sign(x))
def_jvps(absolute, lambda t, ans, x: real(conj(x) * t) / _nonzero(ans) if is_complex(x) else t * sign(x))
derivs(fabs, lambda ans, x: sign(x))
def_vjps(real, lambda g, ans, x: as_complex_like(g, x))
def_jvps(real, lambda t, ans, x: real(t))
def_vjps(imag, lambda g, ans, x: as_complex_like(-1j * g, x) if is_complex(x) else 0 * g)
def_jvps(imag, lambda t, ans, x: imag(t))
def_vjps(conj, lambda g, ans, x: conj(g))
def_linear(conj)
def_vjps(real_if_close, lambda g, ans, x, tol=100: _cast_back(g, x))
def_jvps(real_if_close, lambda t, ans, x, tol=100: t if is_complex(ans) else real(t))
# ∂angle/∂a - i ∂angle/∂b = (-b - ia) / |z|² = -i / z, divided by z itself: |z|² underflows to
# 0 (|z| < 1e-154, or 1e-19 in complex64) where the angle still has its derivative; 0 at z = 0
def_vjps(angle, lambda g, ans, x, deg=False:
         _in_degrees(g * where(x == 0, 0, -1j / _nonzero(x)), deg) if is_complex(x) else 0 * g)
def_jvps(angle, lambda t, ans, x, deg=False:
         _in_degrees(where(x == 0, 0, imag(t / _nonzero(x))), deg) if is_complex(x) else 0 * t)


def _in_degrees(v, deg):
    """A derivative of an angle in radians, in degrees where ``deg`` asks (``angle(z, deg=True)``)."""
    return v * (180 / np.pi) if deg else v


def _np_complex_from_parts(re, im):
    """``re + i·im`` set part by part, with no arithmetic: a real part of -0.0 stays -0.0
    (its angle π) and an infinite imaginary part leaves the real part as it is."""
    out = np.empty(np.broadcast_shapes(np.shape(re), np.shape(im)), np.result_type(re, im, np.complex64))
    out.real, out.imag = re, im
    return out


complex_from_parts = wrap(_np_complex_from_parts, "elementwise", "complex_from_parts", public=False)
def_vjps(complex_from_parts,
         lambda g, ans, re, im: unbroadcast(_cast_back(g, re), re),
         lambda g, ans, re, im: unbroadcast(_cast_back(1j * g, im), im))
def_jvps(complex_from_parts,
         lambda t, ans, re, im: broadcast_like(as_complex_like(t, ans), ans),
         lambda t, ans, re, im: broadcast_like(1j * t, ans))

# z.real and z.imag of a complex array are views of its memory, as PyTorch's: a change in
# place of either writes that part of z (chainrule.core.eager)
real.makes_view = imag.makes_view = True
reads_only(real, ())  # (the rules read dtypes and shapes only: PyTorch's views save no tensor)
reads_only(imag, ())
reads_only(complex_from_parts, (), ())
real.view_scatter = lambda z, new: complex_from_parts(new, imag(z)) if is_complex(z) else new
imag.view_scatter = lambda z, new: complex_from_parts(real(z), new)

# -- dtype changes and copies ------------------------------------------------------------
def _np_astype(x, dtype, **kw):
    # a NumPy scalar stays a scalar, as np.astype gives it
    return x.astype(dtype, **kw) if isinstance(x, np.generic) else np.asarray(x).astype(dtype, **kw)


_astype = wrap(_np_astype, "elementwise", "astype", public=False)
_astype_plain = unboxing(_np_astype)


@mirrors(optional(np, "astype"), "elementwise")
def astype(x, dtype, /, *, copy: bool = True, device=None):
    """``np.astype(x, dtype)`` (its arguments: ``dtype`` positional, ``copy`` and
    ``device`` by keyword); a cast to integers or booleans carries no derivative and gives
    plain data (``x[t.astype(int)]`` indexes), as in HIPS autograd.

    >>> import numpy as np
    >>> astype(np.array([1.5, -2.5]), np.int64)
    array([ 1, -2])
    """
    if device is not None and device != "cpu":
        raise ValueError(f'Device not understood. Only "cpu" is allowed, but received: {device}')
    kw = {} if copy else {"copy": False}
    if np.dtype(dtype).kind not in "fc":
        return _astype_plain(x, dtype, **kw)
    return _astype(x, dtype, **kw)


def _real_dtype(x) -> np.dtype:
    dtype = np.result_type(x.dtype if hasattr(x, "dtype") else x)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def _cast_back(g, x):
    dtype = np.result_type(x.dtype if hasattr(x, "dtype") else x)
    if is_complex(g) and dtype.kind != "c":
        g = real(g)
    return astype(g, dtype) if getattr(g, "dtype", None) != dtype else g


def _through_cast(g, dtype, x):
    """The cotangent of a cast's input: rounded to the cast's own dtype first where that
    is narrower (the gradient through ``x.astype(np.float32)`` has float32's precision, as
    PyTorch's through ``x.float()``), then cast back to ``x``'s dtype."""
    to, have = np.dtype(dtype), getattr(g, "dtype", None)
    if have is not None and to.kind == have.kind and to.kind in "fc" and to.itemsize < have.itemsize:
        g = astype(g, to)
    return _cast_back(g, x)


def_vjps(_astype, lambda g, ans, x, dtype, **kw: _through_cast(g, dtype, x))
def_linear(_astype)
copy = wrap(np.copy, "elementwise")
def_vjps(copy, lambda g, ans, x, **kw: g)
def_linear(copy)
reads_only(copy, ())


del _select
for _prim in _UFUNCS:
    _prim.call_keywords = ufunc_keywords
# NumPy warns of some finite inputs of these (log(0), 1/0, sqrt(-1), exp(1000)); PyTorch's
# eager operations give inf and nan silently, and so does the eager layer (Primitive.eager_quiet;
# the eager layer computes every NumPy ufunc quietly, sinc is NumPy's Python function)
for _prim in (divide, power, torch_power, float_power, reciprocal, sqrt, fmod, mod, exp, exp2, expm1, log, log2,
              log10, log1p, arcsin, arccos, arccosh, arctanh, sinh, cosh, tan, logaddexp, logaddexp2, sinc):
    _prim.eager_quiet = True
del _prim

# Under vmap every function here is elementwise: broadcast the batch axis.
def_batch(batching.elementwise, *_UFUNCS, sinc, i0, _cos_moment, real, imag, angle, _astype, copy,
          real_if_close, complex_from_parts)


batching.NONDIFF_BATCH[_np_astype] = batching.nondiff_elementwise  # a cast to integers


def _part_of_each(prim, batched, z):
    """``z.real`` or ``z.imag`` of a batch: elementwise, by vmap's general path, which links
    the view to ``z`` (its fast path for elementwise calls does not look for views)."""
    return batching.elementwise(prim, batched, z)


real.batch = imag.batch = _part_of_each
