"""The primitives behind ``chainrule.nn.functional``.

Layers are built from ``chainrule.numpy`` where that is fast enough. The operations here
are primitives of their own because one fused NumPy kernel with a short rule is much
cheaper than the chain of small operations it replaces (a linear layer is one node
instead of three, a log-softmax one instead of six). Every rule is written with
``chainrule.numpy`` and the primitives of this module, so it differentiates again:
second derivatives and forward mode work through every layer.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import TensorError
from chainrule.core.primitive import Primitive, def_batch, def_jvps, def_linear, def_vjps, keeps_only
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain
from chainrule.numpy import batching
from chainrule.numpy.activations import _sigmoid, relu, sigmoid
from chainrule.numpy.nondiff import unboxing

__all__ = [
    "plain",
    "linear",
    "conv_product",
    "channels_first",
    "relu",
    "leaky_relu",
    "sigmoid",
    "softplus",
    "silu",
    "elu",
    "erf",
    "gelu",
    "gelu_tanh",
    "softmax",
    "safe_softmax",
    "log_softmax",
    "take_class",
    "merge_batch",
    "split_batch",
    "put_class",
    "unfold",
    "fold",
    "max_pool",
    "take_windows",
    "put_windows",
    "pool_geometry",
    "normalize",
]


def _ndim(x) -> int:
    return x.ndim if hasattr(x, "ndim") else np.ndim(x)


# -- linear: x @ w.T + b ---------------------------------------------------------------
def _linear(x, w, b=None):
    if x.ndim > 2:  # one product of all rows: NumPy would loop over the leading axes,
        # one small product each, at half BLAS's speed on the whole matrix
        return _linear(x.reshape(-1, x.shape[-1]), w, b).reshape(*x.shape[:-1], *w.shape[:-1])
    out = np.matmul(x, w.T)  # BLAS reads the transposed view as is: no copy of w
    if b is not None:
        out += b  # the product is a fresh array: add in place, no second allocation
    return out


linear = Primitive(_linear, name="linear")


def _as_rows(a):
    """``a`` as a matrix of rows (leading axes merged), for the weight's gradient."""
    if _ndim(a) == 2:
        return a
    return cnp.reshape(a, (-1, a.shape[-1]))


def _rows_times(g, w):
    """``g @ w`` as one product of rows (see ``_linear``); ``g``'s outer product with a
    weight vector (a result without the last axis)."""
    if _ndim(w) == 1:
        return cnp.expand_dims(g, -1) * w
    if _ndim(g) <= 2:
        return cnp.matmul(g, w)
    return cnp.reshape(cnp.matmul(_as_rows(g), w), (*g.shape[:-1], w.shape[-1]))


def_vjps(
    linear,
    lambda g, ans, x, w, b=None: _rows_times(g, w),
    lambda g, ans, x, w, b=None: cnp.matmul(cnp.reshape(g, (-1,)), _as_rows(x)) if _ndim(w) == 1
    else cnp.matmul(cnp.transpose(_as_rows(g)), _as_rows(x)),
    lambda g, ans, x, w, b=None: g if _ndim(g) == 1 else cnp.sum(g, axis=tuple(range(_ndim(g) - 1))),
)
def_jvps(
    linear,
    lambda t, ans, x, w, b=None: linear(t, w),
    lambda t, ans, x, w, b=None: linear(x, t),
    lambda t, ans, x, w, b=None: cnp.broadcast_to(t, ans.shape),
)


# -- the product of a convolution: w @ cols + b[:, None] ------------------------------------
def _conv_product(w, cols, b=None):
    out = np.matmul(w, cols)
    if b is not None:
        out += b[:, None]  # in place: one large allocation per convolution, not two
    return out


def _leading_summed(a, ndim: int):
    """``a`` summed over the leading axes that an argument of ``ndim`` axes lacks."""
    return cnp.sum(a, axis=tuple(range(_ndim(a) - ndim))) if _ndim(a) > ndim else a


# cols may carry leading axes (the examples of vmap, merged into the call by the batching
# rule when w is the same for all): the rules sum them out of w's and b's cotangents
conv_product = Primitive(_conv_product, name="conv_product")
def_vjps(
    conv_product,
    lambda g, ans, w, cols, b=None: _leading_summed(cnp.matmul(g, cnp.swapaxes(cols, -1, -2)), _ndim(w)),
    lambda g, ans, w, cols, b=None: _leading_summed(cnp.matmul(cnp.swapaxes(w, -1, -2), g), _ndim(cols)),
    lambda g, ans, w, cols, b=None: cnp.sum(_leading_summed(g, 2), axis=1),
)
def_jvps(
    conv_product,
    lambda t, ans, w, cols, b=None: cnp.matmul(t, cols),
    lambda t, ans, w, cols, b=None: cnp.matmul(w, t),
    lambda t, ans, w, cols, b=None: cnp.broadcast_to(cnp.reshape(t, (-1, 1)), ans.shape),
)


# -- the product's (O, N·OH·OW) read as (N, O, OH, OW) without a copy: a result of its own,
# not a view the program made, so that .view() accepts it as PyTorch's contiguous output
channels_first = Primitive(lambda out, shape: np.swapaxes(out.reshape(out.shape[0], *shape), 0, 1),
                           name="channels_first")
def_vjps(channels_first, lambda g, ans, out, shape: cnp.reshape(cnp.swapaxes(g, 0, 1), (g.shape[1], -1)))
def_linear(channels_first)


# -- activations (relu and sigmoid are the mirror's, shared with Tensor's methods) -----
def _slope(x, negative_slope):
    x = undifferentiated(x)  # under chainrule.jit: recorded, so it follows the data
    return cnp.astype(cnp.where(x > 0, 1, negative_slope), x.dtype, copy=False)


leaky_relu = Primitive(
    lambda x, negative_slope=0.01: np.where(x > 0, x, x * negative_slope), name="leaky_relu"
)
def_vjps(leaky_relu, lambda g, ans, x, negative_slope=0.01: g * _slope(x, negative_slope))
def_jvps(leaky_relu, lambda t, ans, x, negative_slope=0.01: t * _slope(x, negative_slope))


def _softplus(x, beta=1.0, threshold=20.0):
    bx = x * beta if beta != 1 else x
    out = np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))
    if beta != 1:
        out /= beta
    if threshold is not None:  # PyTorch returns x itself above the threshold
        out = np.where(bx > threshold, x, out)
    return out


def _softplus_slope(x, beta, threshold):
    s = sigmoid(x * beta if beta != 1 else x)
    if threshold is not None:
        s = cnp.where(undifferentiated(x) * beta > threshold, 1, s)
    return s


softplus = Primitive(_softplus, name="softplus")
def_vjps(softplus, lambda g, ans, x, beta=1.0, threshold=20.0: g * _softplus_slope(x, beta, threshold))
def_jvps(softplus, lambda t, ans, x, beta=1.0, threshold=20.0: t * _softplus_slope(x, beta, threshold))


def _silu_slope(x):
    s = sigmoid(x)
    return s * (1 + x * (1 - s))


silu = Primitive(lambda x: x * _sigmoid(x), name="silu")
def_vjps(silu, lambda g, ans, x: g * _silu_slope(x))
def_jvps(silu, lambda t, ans, x: t * _silu_slope(x))


def _elu(x, alpha=1.0, scale=1.0, input_scale=1.0):
    # the exponential only of x <= 0 (no overflow); NaN takes the right branch, as PyTorch's
    left = x <= 0
    return np.where(left, (alpha * scale) * np.expm1(np.where(left, x, 0) * input_scale), scale * x)


def _elu_slope(x, alpha, scale, input_scale):
    # PyTorch's: the left branch's derivative at 0, exp(x) itself (not expm1(x) + 1: full
    # relative precision far left); its argument is x only where taken, so NaN reaches neither
    left = undifferentiated(x) <= 0
    return cnp.where(left, (alpha * scale * input_scale) * cnp.exp(cnp.where(left, x, 0.0) * input_scale), scale)


elu = Primitive(_elu, name="elu")
def_vjps(elu, lambda g, ans, x, alpha=1.0, scale=1.0, input_scale=1.0: g * _elu_slope(x, alpha, scale, input_scale))
def_jvps(elu, lambda t, ans, x, alpha=1.0, scale=1.0, input_scale=1.0: t * _elu_slope(x, alpha, scale, input_scale))


# -- erf and GELU ----------------------------------------------------------------------
# erf without SciPy: a Maclaurin series below |x| = 0.75 and, above it, Chebyshev
# coefficients of (1 + 2x)·exp(x²)·erfc(x) in t = (x − 3)/(x + 3), fitted at 300 points
# to values computed in 40-digit arithmetic. Both parts are accurate to 3e-16.
_ERF_TAYLOR = tuple(
    2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(14)
)
_ERFCX_T0 = -0.6
_ERFCX_CHEB = np.array([
    1.2155454789817663, -0.08250088949378007, -0.01334625502971993, 0.012047108685193212,
    -0.004191454073462831, 0.0009603190450447376, -0.00014696039247370963,
    1.1293517936417916e-05, 8.204784031677752e-07, -3.1639951907736296e-07,
    1.7234608506625086e-08, 5.4112202378834935e-09, -8.096308231943596e-10,
    -8.623209989536022e-11, 2.5447115467986636e-11, 1.4958561000512384e-12,
    -7.746687329177968e-13, -3.51752474782127e-14, 2.4507226751805977e-14,
    1.3030358216340914e-15, -8.407242367605152e-16,
])


def erf_numpy(x) -> np.ndarray:
    """The error function in NumPy alone (float64 inside, accurate to about 3e-16)."""
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    z = x * x
    p = np.zeros_like(x)
    for c in reversed(_ERF_TAYLOR):
        p = p * z + c
    small = x * p
    u = (2 * (a - 3) / (a + 3) - _ERFCX_T0 - 1) / (1 - _ERFCX_T0)
    big = np.sign(x) * (1 - np.exp(-z) * np.polynomial.chebyshev.chebval(u, _ERFCX_CHEB) / (1 + 2 * a))
    return np.where(a < 0.75, small, big)


def _erf(x):
    dtype = np.result_type(x)
    dtype = dtype if dtype.kind == "f" else np.dtype(np.float64)  # (float16 too, which SciPy widens)
    try:  # SciPy's erf is the faster one; both are accurate to the last bits
        from scipy.special import erf as scipy_erf
    except ImportError:
        return erf_numpy(x).astype(dtype, copy=False)
    return scipy_erf(x).astype(dtype, copy=False)


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_INV_SQRT2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)

erf = Primitive(_erf, name="erf")
def_vjps(erf, lambda g, ans, x: g * (_TWO_OVER_SQRT_PI * cnp.exp(-(x * x))))
def_jvps(erf, lambda t, ans, x: t * (_TWO_OVER_SQRT_PI * cnp.exp(-(x * x))))


def _gelu(x):
    return x * (0.5 * (1 + _erf(x * _INV_SQRT2)))


def _gelu_slope(x):
    cdf = 0.5 * (1 + erf(x * _INV_SQRT2))
    return cdf + x * (_INV_SQRT_2PI * cnp.exp(-0.5 * (x * x)))


gelu = Primitive(_gelu, name="gelu")
def_vjps(gelu, lambda g, ans, x: g * _gelu_slope(x))
def_jvps(gelu, lambda t, ans, x: t * _gelu_slope(x))

_K = math.sqrt(2 / math.pi)
_C = 0.044715


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(_K * (x + _C * x * x * x)))


def _gelu_tanh_slope(x):
    x2 = x * x
    th = cnp.tanh(_K * (x + _C * x2 * x))
    return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * (_K * (1 + 3 * _C * x2))


gelu_tanh = Primitive(_gelu_tanh, name="gelu_tanh")
def_vjps(gelu_tanh, lambda g, ans, x: g * _gelu_tanh_slope(x))
def_jvps(gelu_tanh, lambda t, ans, x: t * _gelu_tanh_slope(x))


# -- softmax and log-softmax -------------------------------------------------------------
def _softmax(x, axis=-1):
    # (initial: the maximum of no entries, so that a softmax over an empty axis is empty)
    e = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    if isinstance(e, np.ndarray) and e.dtype.kind in "fc":
        np.exp(e, out=e)  # a fresh array: exponentiate it in place, one allocation fewer
    else:
        e = np.exp(e)
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _safe_softmax(x, axis=-1):
    """softmax, with 0 over every row that is all −inf (attention with every key masked),
    as PyTorch's attention computes it: such a row (or one without entries) is shifted by 0
    and divided by 1."""
    top = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    e = np.exp(x - np.where(top == -np.inf, 0, top))
    total = np.sum(e, axis=axis, keepdims=True)
    e /= np.where(total == 0, 1, total)
    return e


def _log_softmax(x, axis=-1):
    s = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)  # shifted: exp cannot overflow
    s -= np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
    return s


softmax = Primitive(_softmax, name="softmax")
def_vjps(softmax, lambda g, ans, x, axis=-1: ans * (g - cnp.sum(g * ans, axis=axis, keepdims=True)))
def_jvps(softmax, lambda t, ans, x, axis=-1: ans * (t - cnp.sum(t * ans, axis=axis, keepdims=True)))
safe_softmax = Primitive(_safe_softmax, name="safe_softmax")  # the same rules: they read the output
def_vjps(safe_softmax, lambda g, ans, x, axis=-1: ans * (g - cnp.sum(g * ans, axis=axis, keepdims=True)))
def_jvps(safe_softmax, lambda t, ans, x, axis=-1: ans * (t - cnp.sum(t * ans, axis=axis, keepdims=True)))

log_softmax = Primitive(_log_softmax, name="log_softmax")
def_vjps(log_softmax,
         lambda g, ans, x, axis=-1: g - cnp.exp(ans) * cnp.sum(g, axis=axis, keepdims=True))
def_jvps(log_softmax,
         lambda t, ans, x, axis=-1: t - cnp.sum(cnp.exp(ans) * t, axis=axis, keepdims=True))
keeps_only("output", softmax, safe_softmax, log_softmax)  # (as PyTorch's, which saves the result)


# -- normalisation: (x − mean) / √(var + eps) over some axes, one node --------------------------
# Composed, a layer norm is nine nodes forward and about twenty passes backward; as one
# primitive with the reciprocal standard deviation as a second output, the backward pass
# is one formula: ∂x = r·(g − mean(g) − x̂·mean(g·x̂)), r = 1/√(var + eps).
def _normalize(x, axis, eps):
    xc = x - np.mean(x, axis=axis, keepdims=True)
    rstd = np.mean(xc * xc, axis=axis, keepdims=True)
    rstd += eps
    np.sqrt(rstd, out=rstd)
    np.divide(1, rstd, out=rstd)
    xc *= rstd  # xc is a fresh array: normalise it in place
    return xc, rstd


def _normalize_vjp(g, ans, x, axis, eps):
    g_hat, g_rstd = g
    xhat, rstd = ans
    out = 0
    if g_hat is not None:
        out = rstd * (g_hat - cnp.mean(g_hat, axis=axis, keepdims=True)
                      - xhat * cnp.mean(g_hat * xhat, axis=axis, keepdims=True))
    if g_rstd is not None:  # ∂r/∂x = −r²·x̂ / n
        out = out - (g_rstd * rstd * rstd) * xhat * (rstd.size / xhat.size)
    return out


def _normalize_jvp(t, ans, x, axis, eps):
    xhat, rstd = ans
    along = cnp.mean(xhat * t, axis=axis, keepdims=True)
    return rstd * (t - cnp.mean(t, axis=axis, keepdims=True) - xhat * along), -(rstd * rstd) * along


normalize = Primitive(_normalize, name="normalize", multiple_outputs=True)
"""normalize(x, axis, eps) -> (x̂, r): x centred and scaled to unit variance over ``axis``
(a tuple of negative axes), and r = 1/√(var + eps) with those axes kept."""
def_vjps(normalize, _normalize_vjp)
def_jvps(normalize, _normalize_jvp)


# -- picking the target class (cross-entropy) ----------------------------------------------
def _take_class(x, target):
    """``x[n, target[n, ...], ...]``: the entry of each sample's class along axis 1."""
    if x.ndim == 2:  # the usual (N, C) case: one fancy index, cheaper than take_along_axis
        return x[np.arange(len(target)), target]
    return np.take_along_axis(x, np.expand_dims(target, 1), axis=1).squeeze(1)


def _put_class(g, target, shape):
    """The adjoint of ``take_class``: ``g`` placed at each sample's class, zeros elsewhere.
    Each position is written once, so a plain put does (no scatter-add)."""
    out = np.zeros(shape, dtype=np.result_type(g))
    if len(shape) == 2:
        out[np.arange(len(target)), target] = g
    else:
        np.put_along_axis(out, np.expand_dims(target, 1), np.expand_dims(g, 1), axis=1)
    return out


take_class = Primitive(_take_class, name="take_class")
put_class = Primitive(_put_class, name="put_class")
def_vjps(take_class, lambda g, ans, x, target: put_class(g, target, x.shape))
def_linear(take_class)
def_vjps(put_class, lambda g, ans, gi, target, shape: take_class(g, target))
def_linear(put_class)


def _batch_traces(x) -> set[int]:
    """The vmaps (their traces' ids) whose examples ``x`` holds."""
    traces = set()
    while isinstance(x, Tensor):
        if x._trace.batches:
            traces.add(id(x._trace))
        x = x._value
    return traces


def update_running(stat, batch_value, momentum) -> None:
    """``stat`` (an array, an eager buffer, or the value chainrule.jit traces for one,
    where the writes are recorded) moved towards ``batch_value`` in place by ``momentum``
    (a float, or a 0-d value: batch norm's ``1 / num_batches_tracked``). Under vmap, a
    statistic that is the same for all examples cannot take each example's own value:
    refused, as PyTorch refuses it."""
    if _batch_traces(batch_value) - _batch_traces(stat):
        raise RuntimeError(
            "Batch norm got a batched tensor as input while the running_mean or running_var, which will be updated "
            "in place, were not batched. If you are using a module and do not need eval mode, please set "
            "`track_running_stats` to be False (torch.func.replace_all_batch_norm_modules_(model) does it for every "
            "batch norm of a model); or batch the buffers with the input (in_dims), or call the model in eval mode")
    keep = 1.0 - momentum
    if isinstance(momentum, np.generic | np.ndarray | Tensor):
        # a value (1 / the batches counted, a NumPy float): rounded to the statistic's
        # dtype, as a Python float is, so that float32 statistics move as by a float
        keep, momentum = keep.astype(stat.dtype), momentum.astype(stat.dtype)
    stat *= keep
    stat += momentum * batch_value.astype(stat.dtype, copy=False)


# -- sliding windows (convolution and pooling) ------------------------------------------------
# A window geometry is the tuple (kernel, stride, padding, dilation), each a pair (h, w).
# Every window operation loops over the kh·kw kernel offsets, each step one strided slice
# of the whole batch: the inner loops of NumPy then run along image rows, and no Python
# loop ever visits a pixel.


def pool_geometry(in_hw, kernel, stride, padding, dilation):
    """The output height and width of a 2-d window operation, with a clear error when the
    windows do not fit."""
    out = []
    for n, k, s, p, d in zip(in_hw, kernel, stride, padding, dilation, strict=True):
        span = d * (k - 1) + 1
        size = (n + 2 * p - span) // s + 1
        if size < 1:
            raise TensorError(
                f"a window of {k} (dilation {d}) does not fit an input of size {n} with "
                f"padding {p}: the input is too small for this kernel"
            )
        out.append(size)
    return tuple(out)


def _pad(x, padding, value=0.0):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _offsets(geom, out_hw):
    """(k, row slice, column slice) for each kernel offset k of the padded input."""
    (kh, kw), (sh, sw), _, (dh, dw) = geom
    oh, ow = out_hw
    for i in range(kh):
        for j in range(kw):
            r, q = i * dh, j * dw
            yield i * kw + j, slice(r, r + sh * (oh - 1) + 1, sh), slice(q, q + sw * (ow - 1) + 1, sw)


def _unfold(x, geom, layout="pool"):
    """The kh·kw shifted copies of the input that the windows are made of, stacked:
    ``layout='pool'`` gives (kh·kw, N, C, OH, OW); ``layout='conv'`` gives
    (C, kh·kw, N, OH, OW), which reshapes for free to the (C·kh·kw, N·OH·OW) matrix of a
    convolution (im2col)."""
    n, c = x.shape[:2]
    out_hw = pool_geometry(x.shape[2:], *geom)
    xp = _pad(x, geom[2])
    kk = geom[0][0] * geom[0][1]
    if layout == "conv":
        out = np.empty((c, kk, n, *out_hw), dtype=xp.dtype)
        src = xp.transpose(1, 0, 2, 3)
        for k, rows, cols in _offsets(geom, out_hw):
            out[:, k] = src[:, :, rows, cols]
    else:
        out = np.empty((kk, n, c, *out_hw), dtype=xp.dtype)
        for k, rows, cols in _offsets(geom, out_hw):
            out[k] = xp[:, :, rows, cols]
    return out


def _fold(cols, shape, geom, layout="pool"):
    """The adjoint of ``unfold``: add each shifted copy back where it came from."""
    n, c, h, w = shape
    ph, pw = geom[2]
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=np.result_type(cols))
    out_hw = cols.shape[-2:]
    if layout == "conv":
        dst = out.transpose(1, 0, 2, 3)  # a view: adding into it fills ``out``
        for k, rows, cols_ in _offsets(geom, out_hw):
            dst[:, :, rows, cols_] += cols[:, k]
    else:
        for k, rows, cols_ in _offsets(geom, out_hw):
            out[:, :, rows, cols_] += cols[k]
    return out[:, :, ph : ph + h, pw : pw + w] if ph or pw else out


unfold = Primitive(_unfold, name="unfold")
"""unfold(x, geom, layout): the shifted copies of an NCHW input that make its windows."""
fold = Primitive(_fold, name="fold")
"""fold(cols, shape, geom, layout): the adjoint of ``unfold``."""
def_vjps(unfold, lambda g, ans, x, geom, layout="pool": fold(g, x.shape, geom, layout))
def_linear(unfold)
def_vjps(fold, lambda g, ans, cols, shape, geom, layout="pool": unfold(g, geom, layout))
def_linear(fold)


# -- max pooling: the gradient goes to the first maximum of each window (its last NaN) ------------
def _argmax_windows_of(x, ans, geom):
    """The index (kernel offset) of the first maximum ``ans`` in each window, or of its last
    NaN, PyTorch's (its scan takes a NaN as a new maximum)."""
    xp = _pad(x, geom[2], -np.inf)
    idx = np.zeros(ans.shape, dtype=np.int16 if geom[0][0] * geom[0][1] < 2**15 else np.intp)
    # from the last offset to the first, so that the first maximum is the one kept
    offsets = list(_offsets(geom, ans.shape[2:]))
    for k, rows, cols in reversed(offsets):
        idx = np.where(xp[:, :, rows, cols] == ans, k, idx)
    if np.isnan(ans).any():
        for k, rows, cols in offsets:
            idx = np.where(np.isnan(xp[:, :, rows, cols]), k, idx)
    return idx


# no derivative; under chainrule.jit the call is recorded, so the indices follow the data
_argmax_windows = unboxing(_argmax_windows_of)


def _max_pool(x, geom):
    out_hw = pool_geometry(x.shape[2:], *geom)
    xp = _pad(x, geom[2], -np.inf)
    best = None
    for _, rows, cols in _offsets(geom, out_hw):
        v = xp[:, :, rows, cols]
        best = v.copy() if best is None else np.maximum(best, v, out=best)
    return best


def _take_windows(x, idx, geom):
    """The element of each window at offset ``idx`` (zero padding)."""
    out_hw = idx.shape[2:]
    xp = _pad(x, geom[2])
    out = np.zeros(idx.shape, dtype=np.result_type(x))
    for k, rows, cols in _offsets(geom, out_hw):
        np.copyto(out, xp[:, :, rows, cols], where=idx == k)
    return out


def _put_windows(g, idx, shape, geom):
    """The adjoint of ``take_windows``: ``g`` added at each window's offset ``idx``."""
    n, c, h, w = shape
    ph, pw = geom[2]
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=np.result_type(g))
    for k, rows, cols in _offsets(geom, idx.shape[2:]):
        out[:, :, rows, cols] += np.where(idx == k, g, 0)
    return out[:, :, ph : ph + h, pw : pw + w] if ph or pw else out


take_windows = Primitive(_take_windows, name="take_windows")
put_windows = Primitive(_put_windows, name="put_windows")
def_vjps(take_windows, lambda g, ans, x, idx, geom: put_windows(g, idx, x.shape, geom))
def_linear(take_windows)
def_vjps(put_windows, lambda g, ans, gi, idx, shape, geom: take_windows(g, idx, geom))
def_linear(put_windows)

max_pool = Primitive(_max_pool, name="max_pool2d")
def_vjps(max_pool, lambda g, ans, x, geom: put_windows(g, _argmax_windows(x, ans, geom), x.shape, geom))
def_jvps(max_pool, lambda t, ans, x, geom: take_windows(t, _argmax_windows(x, ans, geom), geom))


# -- batching rules for vmap ---------------------------------------------------------------------
# The window and class operations take a leading sample axis N already: the batch of vmap is
# merged into it, (B, N, ...) -> (B·N, ...), and split off the result again.
def merge_batch(x, b, size: int, axis: int = 0):
    """``x`` with the batch of vmap (``b``: whether it has one; broadcast along it if not)
    merged into an example's ``axis``: more samples of a function that takes a batch."""
    x = batching.with_batch(x, b, size)
    if axis:
        x = cnp.moveaxis(x, 0, axis)
    shape = x.shape
    return cnp.reshape(x, (*shape[:axis], -1, *shape[axis + 2:]))


def split_batch(y, size: int, axis: int = 0):
    """The inverse of :func:`merge_batch`: the batch of ``size`` split off ``axis``, in front."""
    shape = y.shape
    y = cnp.reshape(y, (*shape[:axis], size, shape[axis] // size, *shape[axis + 1:]))
    return cnp.moveaxis(y, axis, 0) if axis else y


def _batch_linear(prim, batched, x, w, b=None):
    if not batching.any_batched(batched[1:]):
        return prim(x, w, b)  # the usual case: examples are more leading axes of x
    product_batched = batched[0] or batched[1]
    if product_batched:
        out = batching.matmul(cnp.matmul, batched[:2], x, cnp.swapaxes(w, -1, -2))
    else:  # the bias alone differs between the examples: the product has no batch axis
        out = prim(x, w)
    if b is None:
        return out
    return out + (batching.lift(b, len(out.shape) - 1 - product_batched) if batched[2] else b)


def _batch_conv_product(prim, batched, w, cols, b=None):
    if not batched[0] and not (len(batched) > 2 and batched[2]):
        return prim(w, cols, b)
    out = batching.matmul(cnp.matmul, batched[:2], w, cols)
    if b is None:
        return out
    return out + cnp.expand_dims(b, -1)


def _batch_channels_first(prim, batched, out, shape):
    return cnp.swapaxes(cnp.reshape(out, (out.shape[0], out.shape[1], *shape)), 1, 2)


def _batch_class(prim, batched, x, target):
    size = batching.batch_size((x, target), batched)
    return split_batch(prim(merge_batch(x, batched[0], size), merge_batch(target, batched[1], size)), size)


def _batch_put_class(prim, batched, g, target, shape):
    size = batching.batch_size((g, target), batched)
    merged = (size * shape[0], *shape[1:])
    return split_batch(prim(merge_batch(g, batched[0], size), merge_batch(target, batched[1], size), merged),
                      size)


def _batch_windows(prim, batched, x, geom, layout="pool"):
    size = x.shape[0]
    ans = prim(merge_batch(x, True, size), geom, layout)
    return split_batch(ans, size, 1 if layout == "pool" else 2)


def _batch_fold(prim, batched, cols, shape, geom, layout="pool"):
    size = cols.shape[0]
    axis = 1 if layout == "pool" else 2
    cols = cnp.moveaxis(cols, 0, axis)
    cols = cnp.reshape(cols, (*cols.shape[:axis], -1, *cols.shape[axis + 2:]))
    return split_batch(prim(cols, (size * shape[0], *shape[1:]), geom, layout), size)


def _batch_max_pool(prim, batched, x, geom):
    return split_batch(prim(merge_batch(x, True, x.shape[0]), geom), x.shape[0])


def _batch_take_windows(prim, batched, x, idx, geom):
    size = batching.batch_size((x, idx), batched)
    return split_batch(prim(merge_batch(x, batched[0], size), merge_batch(idx, batched[1], size), geom), size)


def _batch_put_windows(prim, batched, g, idx, shape, geom):
    size = batching.batch_size((g, idx), batched)
    merged = (size * shape[0], *shape[1:])
    return split_batch(
        prim(merge_batch(g, batched[0], size), merge_batch(idx, batched[1], size), merged, geom), size)


def _batch_argmax_windows(trace, fun, batched, x, ans, geom):
    size = trace.size
    idx = trace.call_below(fun, merge_batch(x, batched[0], size), merge_batch(ans, batched[1], size), geom)
    return split_batch(idx, size)


def_batch(batching.elementwise, leaky_relu, softplus, silu, elu, erf, gelu, gelu_tanh)
def_batch(batching.reduction, softmax, safe_softmax, log_softmax, normalize)
def_batch(_batch_linear, linear)
def_batch(_batch_conv_product, conv_product)
def_batch(_batch_channels_first, channels_first)
def_batch(_batch_class, take_class)
def_batch(_batch_put_class, put_class)
def_batch(_batch_windows, unfold)
def_batch(_batch_fold, fold)
def_batch(_batch_max_pool, max_pool)
def_batch(_batch_take_windows, take_windows)
def_batch(_batch_put_windows, put_windows)
batching.NONDIFF_BATCH[_argmax_windows_of] = _batch_argmax_windows


# NumPy warns where these meet inf, NaN or huge values (inf·0, inf − inf, an overflowing
# product); PyTorch's layers give inf and nan silently, and so does the eager layer
for _prim in (linear, conv_product, leaky_relu, softplus, silu, elu, erf, gelu, gelu_tanh, softmax, safe_softmax,
              log_softmax, normalize):
    _prim.eager_quiet = True
del _prim
