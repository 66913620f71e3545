"""JAX's ``jax.random``: counter-based random numbers from explicit keys, so that code
written for JAX runs here, and draws the same numbers.

A key is two uint32 words (``PRNGKey(seed)``, JAX's raw key arrays); ``split`` and
``fold_in`` derive new keys, and every sampler is a pure function of its key. The bits
are JAX's: the Threefry-2×32 hash of the key and a counter, laid out as JAX (0.5 and
later, ``jax_threefry_partitionable``) lays them out, so keys, ``split``, ``fold_in``,
``bits``, ``uniform``, ``randint``, ``bernoulli``, ``permutation`` and ``choice`` give
JAX's values bit for bit. The samplers that go through the inverse error function
(``normal`` and those built on it) use the same approximation as XLA (Giles, 2010) and
agree with JAX's to a few units in the last place: XLA fuses its multiply-adds and has a
``log1p`` of its own. Defaults are those of JAX with ``jax_enable_x64``: float64 and
int64.

PyTorch's ``torch.random`` names are here too, for code that seeds through that module
(``torch.random.manual_seed(0)``): ``manual_seed``, ``seed``, ``initial_seed``,
``get_rng_state``, ``set_rng_state`` (chainrule's global generator) and ``fork_rng``.

Keys work under every transform: ``vmap`` over a batch of keys (``split(key, n)``), ``jit``
(the draws are recorded calls of the key), and ``grad`` through the parameters of a
sampler (``uniform``'s bounds, ``mean + std * normal(key)``).

>>> from chainrule import random
>>> key = random.PRNGKey(0)
>>> key.tolist(), random.split(key).tolist()
([0, 0], [[1797259609, 2579123966], [928981903, 3453687069]])
>>> float(random.uniform(random.PRNGKey(42)))
0.4267275666499091
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import Sequence

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import Primitive, def_batch, def_jvps, def_vjps
from chainrule.core.rng import get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import broadcast_like, unbroadcast
from chainrule.transforms.custom import stop_gradient

__all__ = [
    "PRNGKey", "key", "key_data", "wrap_key_data", "split", "fold_in", "bits", "uniform", "normal", "randint",
    "bernoulli", "categorical", "gumbel", "exponential", "laplace", "logistic", "cauchy", "truncated_normal",
    "rademacher", "choice", "permutation", "multivariate_normal", "erfinv",
    # torch.random's
    "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "fork_rng",
]


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng", _devices_kw: str = "devices",
             device_type: str = "cuda"):
    """PyTorch's ``torch.random.fork_rng()``: the draws made inside leave the global
    generator as it was before.

    >>> import chainrule as cr
    >>> _ = cr.manual_seed(0)
    >>> with fork_rng():
    ...     inside = cr.rand(2).tolist()
    >>> cr.rand(2).tolist() == inside
    True
    """
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


_U32 = np.uint32
_U64 = np.uint64


# -- Threefry-2x32 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", 2011) ---
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _rotate_left(v: np.ndarray, d: int) -> np.ndarray:
    return (v << _U32(d)) | (v >> _U32(32 - d))


def threefry2x32(k1, k2, x1, x2) -> tuple[np.ndarray, np.ndarray]:
    """The 20-round Threefry-2×32 hash of the counter words ``(x1, x2)`` under the key
    ``(k1, k2)`` (uint32 arrays that broadcast together), with JAX's round structure."""
    k1, k2, x1, x2 = np.broadcast_arrays(*(np.asarray(a, _U32) for a in (k1, k2, x1, x2)))
    ks = (k1, k2, k1 ^ k2 ^ _U32(0x1BD11BDA))
    with np.errstate(over="ignore"):  # additions are modulo 2**32 by design
        x1, x2 = x1 + ks[0], x2 + ks[1]
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x1 = x1 + x2
                x2 = _rotate_left(x2, r) ^ x1
            x1 = x1 + ks[(i + 1) % 3]
            x2 = x2 + ks[(i + 2) % 3] + _U32(i + 1)
    return x1, x2


def _counters(shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The high and low words of a uint64 count 0, 1, 2, ... laid out in ``shape``."""
    n = np.arange(math.prod(shape), dtype=_U64).reshape(shape)
    return (n >> _U64(32)).astype(_U32), (n & _U64(0xFFFFFFFF)).astype(_U32)


def _key_words(key, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """The two words of ``key`` (leading axes: a batch of keys), each with ``ndim`` unit
    axes after the batch's, to broadcast against counters of that rank."""
    key = np.asarray(key)
    if key.dtype != _U32 or key.shape[-1:] != (2,):
        raise TypeError(f"a random key is a uint32 array of shape (2,) (from random.PRNGKey or split), "
                        f"got dtype {key.dtype} and shape {key.shape}")
    lead = key.shape[:-1] + (1,) * ndim
    return key[..., 0].reshape(lead), key[..., 1].reshape(lead)


def _hash_counters(key, shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    k1, k2 = _key_words(key, len(shape))
    return threefry2x32(k1, k2, *_counters(shape))


def _seed_words(seed) -> np.ndarray:
    s = np.asarray(seed)
    if not np.issubdtype(s.dtype, np.integer):
        raise TypeError(f"PRNGKey: the seed must be an integer, got {s.dtype}")
    if s.dtype.itemsize <= 4:  # JAX shifts a 32-bit seed right by 32: the high word is 0
        hi, lo = np.zeros(s.shape, _U32), s.astype(_U32)
    else:
        u = s.astype(_U64)
        hi, lo = (u >> _U64(32)).astype(_U32), (u & _U64(0xFFFFFFFF)).astype(_U32)
    return np.stack([hi, lo], axis=-1)


def _split_keys(key, *, shape: tuple) -> np.ndarray:
    b1, b2 = _hash_counters(key, shape)
    return np.stack([b1, b2], axis=-1)


def _fold_words(key, data) -> np.ndarray:
    k1, k2 = _key_words(key, 0)
    data = np.asarray(data).astype(_U32)
    y1, y2 = threefry2x32(k1, k2, np.zeros_like(data), data)
    return np.stack([y1, y2], axis=-1)


def _random_bits(key, *, width: int, shape: tuple) -> np.ndarray:
    b1, b2 = _hash_counters(key, shape)
    if width == 64:
        return (b1.astype(_U64) << _U64(32)) | b2.astype(_U64)
    if width == 32:
        return b1 ^ b2
    return (b1 ^ b2).astype(np.dtype(f"uint{width}"))


def _unit_floats(key, *, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Floats in [0, 1): random mantissa bits under the exponent of 1.0, minus 1."""
    info = np.finfo(dtype)
    nbits = info.bits
    raw = _random_bits(key, width=nbits if info.nmant >= 8 else 8, shape=shape)
    uint = np.dtype(f"uint{nbits}")
    raw = raw.astype(uint)
    one = np.array(1.0, dtype).view(uint)
    return ((raw >> uint.type(nbits - info.nmant)) | one).view(dtype) - dtype.type(1.0)


# -- a multiply-add rounded once, as XLA's fused one: NumPy has none, and long double's
# 64-bit mantissa rounds twice; error-free products and sums, the low part rounded to odd
# (Boldo and Melquiond, "Emulation of FMA and correctly rounded sums", 2008) ---------
_SPLITTER = np.float64(2.0 ** 27 + 1)


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_product(a, b):
    def halves(x):
        t = _SPLITTER * x
        hi = t - (t - x)
        return hi, x - hi
    p = a * b
    (ah, al), (bh, bl) = halves(a), halves(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _to_odd(v, err):
    """``v``, the float64 nearest ``v + err``, rounded to odd instead: the neighbour
    towards ``err`` where ``v`` is even and the sum inexact."""
    even = (v.view(np.int64) & 1) == 0
    return np.where((err != 0) & even, np.nextafter(v, np.where(err > 0, np.inf, -np.inf)), v)


def _fma(a, b, c, dtype: np.dtype) -> np.ndarray:
    """``a * b + c`` in ``dtype`` (float32 or float64) with one rounding."""
    a, b, c = np.broadcast_arrays(*(np.asarray(x, np.float64) for x in (a, b, c)))
    with np.errstate(all="ignore"):
        plain = a * b + c
        if dtype == np.float32:  # the product is exact in float64; the sum rounded to odd, then to float32
            s, t = _two_sum(a * b, c)
            out = _to_odd(s, t)
        else:
            uh, ul = _two_product(a, b)
            th, tl = _two_sum(c, uh)
            v, w = _two_sum(tl, ul)
            out = th + _to_odd(v, w)
        # where the splitting would overflow, or the result is not finite: the plain value
        exact = np.isfinite(out) & np.isfinite(plain) & (np.abs(a) < 2.0 ** 995) & (np.abs(b) < 2.0 ** 995)
        return np.where(exact, out, plain).astype(dtype)


def _key_batched(prim, batched, *args, **kwargs):
    """The batching rule of the key primitives: their NumPy bodies take leading axes of
    keys (and of ``fold_in``'s data, aligned with them) as a batch."""
    if len(args) == 2 and any(batched):
        size = batching.batch_size(args, batched)
        key, data = (batching.with_batch(a, b, size) for a, b in zip(args, batched, strict=True))
        return prim(key, data, **kwargs)
    return prim(*args, **kwargs)


_seed_p = Primitive(_seed_words, name="PRNGKey")
_split_p = Primitive(_split_keys, name="split")
_fold_in_p = Primitive(_fold_words, name="fold_in")
_bits_p = Primitive(_random_bits, name="random_bits")
_unit_p = Primitive(_unit_floats, name="random_unit")
def_batch(_key_batched, _seed_p, _split_p, _fold_in_p, _bits_p, _unit_p)
_fma_p = Primitive(_fma, name="fused_multiply_add")
def_batch(batching.elementwise, _fma_p)
def_vjps(_fma_p, lambda g, ans, a, b, c, dtype: unbroadcast(g * b, a),
         lambda g, ans, a, b, c, dtype: unbroadcast(g * a, b), lambda g, ans, a, b, c, dtype: unbroadcast(g, c))
def_jvps(_fma_p, lambda t, ans, a, b, c, dtype: broadcast_like(t * b, ans),
         lambda t, ans, a, b, c, dtype: broadcast_like(t * a, ans),
         lambda t, ans, a, b, c, dtype: broadcast_like(t, ans))


# -- the inverse error function as XLA computes it (Giles, "Approximating the erfinv
# function", GPU Computing Gems, 2011): a polynomial in w = -log1p(-x²), per range of w ---
_ERFINV_64 = (  # (upper end of w's range, shift, whether the polynomial is in sqrt(w), coefficients)
    (6.25, 3.125, False, (
        -3.6444120640178196996e-21, -1.685059138182016589e-19, 1.2858480715256400167e-18,
        1.115787767802518096e-17, -1.333171662854620906e-16, 2.0972767875968561637e-17,
        6.6376381343583238325e-15, -4.0545662729752068639e-14, -8.1519341976054721522e-14,
        2.6335093153082322977e-12, -1.2975133253453532498e-11, -5.4154120542946279317e-11,
        1.051212273321532285e-09, -4.1126339803469836976e-09, -2.9070369957882005086e-08,
        4.2347877827932403518e-07, -1.3654692000834678645e-06, -1.3882523362786468719e-05,
        0.0001867342080340571352, -0.00074070253416626697512, -0.0060336708714301490533,
        0.24015818242558961693, 1.6536545626831027356)),
    (16.0, 3.25, True, (
        2.2137376921775787049e-09, 9.0756561938885390979e-08, -2.7517406297064545428e-07,
        1.8239629214389227755e-08, 1.5027403968909827627e-06, -4.013867526981545969e-06,
        2.9234449089955446044e-06, 1.2475304481671778723e-05, -4.7318229009055733981e-05,
        6.8284851459573175448e-05, 2.4031110387097893999e-05, -0.0003550375203628474796,
        0.00095328937973738049703, -0.0016882755560235047313, 0.0024914420961078508066,
        -0.0037512085075692412107, 0.005370914553590063617, 1.0052589676941592334, 3.0838856104922207635)),
    (np.inf, 5.0, True, (
        -2.7109920616438573243e-11, -2.5556418169965252055e-10, 1.5076572693500548083e-09,
        -3.7894654401267369937e-09, 7.6157012080783393804e-09, -1.4960026627149240478e-08,
        2.9147953450901080826e-08, -6.7711997758452339498e-08, 2.2900482228026654717e-07,
        -9.9298272942317002539e-07, 4.5260625972231537039e-06, -1.9681778105531670567e-05,
        7.5995277030017761139e-05, -0.00021503011930044477347, -0.00013871931833623122026,
        1.0103004648645343977, 4.8499064014085844221)),
)
_ERFINV_32 = (
    (5.0, 2.5, False, (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                       -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)),
    (np.inf, 3.0, True, (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                         -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)),
)


def _erfinv_values(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    dt = x.dtype
    table = _ERFINV_64 if dt == np.float64 else _ERFINV_32
    work = x.astype(np.float32) if dt.itemsize < 4 else x  # half precision is computed in float32
    wt = work.dtype.type
    # each step of the polynomial rounds once, as XLA's fused multiply-add
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log1p(-work * work)
        out = np.zeros_like(work)
        lower = -np.inf
        for upper, shift, in_root, coefficients in table:
            where = (w >= lower) & (w < upper)
            t = (np.sqrt(w[where]) if in_root else w[where]) - wt(shift)
            p = np.full_like(t, coefficients[0])
            for c in coefficients[1:]:
                p = _fma(p, t, wt(c), work.dtype)
            out[where] = p * work[where]
            lower = upper
        ends = np.abs(work) == 1  # erfinv(±1) = ±inf
        out[ends] = work[ends] * np.inf
        out[np.isnan(work)] = np.nan
    return out.astype(dt)


erfinv = Primitive(_erfinv_values, name="erfinv")
"""The inverse error function, as XLA computes it (see the module's docstring); its
derivative is √π/2 · exp(erfinv(x)²)."""
_HALF_SQRT_PI = math.sqrt(math.pi) / 2
def_vjps(erfinv, lambda g, ans, x: g * _HALF_SQRT_PI * cnp.exp(ans * ans))
def_jvps(erfinv, lambda t, ans, x: t * _HALF_SQRT_PI * cnp.exp(ans * ans))
def_batch(batching.elementwise, erfinv)


# -- keys ------------------------------------------------------------------------------
def PRNGKey(seed) -> np.ndarray:
    """A key from an integer seed: its high and low 32-bit words (JAX's raw uint32 key).

    >>> PRNGKey(3).tolist()
    [0, 3]
    """
    if np.ndim(seed):
        raise TypeError(f"PRNGKey takes a scalar seed, got an array of shape {np.shape(seed)}; "
                        "use chainrule.vmap for a batch of keys")
    return _seed_p(seed)


def key(seed, *, impl=None, dtype=None) -> np.ndarray:
    """JAX's ``jax.random.key``: here the same raw key as :func:`PRNGKey` (chainrule has
    no key dtype; :func:`key_data` returns the key itself)."""
    _only_threefry(impl if dtype is None else dtype)
    return PRNGKey(seed)


def _only_threefry(impl) -> None:
    if impl is not None and str(impl) not in ("threefry2x32", "threefry"):
        raise ValueError(f"chainrule.random implements the threefry2x32 generator only, not {impl!r}")


def key_data(keys):
    """The uint32 words of ``keys`` (the keys themselves here)."""
    return keys


def wrap_key_data(key_bits_array, *, impl=None):
    """Keys from their uint32 words (the words themselves here)."""
    _only_threefry(impl)
    return key_bits_array


def _shape(shape, name: str) -> tuple:
    if isinstance(shape, int | np.integer):
        return (int(shape),)
    try:
        return tuple(int(n) for n in shape)
    except TypeError:
        raise TypeError(f"{name}: shape must be a tuple of integers, got {shape!r}") from None


def _single(k, name: str):
    if np.shape(k)[-1:] != (2,):  # not a key at all: JAX's TypeError
        raise TypeError(f"{name}: a key is a uint32 array of shape (2,) (from PRNGKey or split), got "
                        f"shape {np.shape(k)}")
    if np.shape(k) != (2,):
        raise ValueError(f"{name} takes a single key of shape (2,), got shape {np.shape(k)}; "
                         "use chainrule.vmap to map over a batch of keys")
    return k


def split(key, num: int | Sequence[int] = 2):
    """``num`` new keys (or an array of keys of shape ``num``) from ``key``.

    >>> split(PRNGKey(0), 3).shape
    (3, 2)
    """
    return _split_p(_single(key, "split"), shape=_shape(num, "split"))


def fold_in(key, data):
    """A new key from ``key`` and a 32-bit integer ``data`` (a step number, an index)."""
    if np.ndim(data):
        raise TypeError(f"fold_in takes a scalar, got an array of shape {np.shape(data)}; use chainrule.vmap")
    return _fold_in_p(_single(key, "fold_in"), data)


def bits(key, shape: Sequence[int] = (), dtype=None):
    """Random unsigned integers of ``dtype`` (uint64 by default, as in JAX's x64 mode)."""
    dtype = np.dtype(np.uint64 if dtype is None else dtype)
    if dtype.kind != "u":
        raise ValueError(f"bits: dtype must be an unsigned integer dtype, got {dtype}")
    return _bits_p(_single(key, "bits"), width=dtype.itemsize * 8, shape=_shape(shape, "bits"))


# -- samplers --------------------------------------------------------------------------
def _float_dtype(dtype, name: str) -> np.dtype:
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    if dtype.kind != "f":
        raise ValueError(f"{name}: dtype must be a floating-point dtype, got {dtype}")
    return dtype


def _check_shape(name: str, shape: tuple, *param_shapes) -> None:
    try:
        fits = np.broadcast_shapes(shape, *param_shapes) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{name}: the shapes of its parameters {list(param_shapes)} must broadcast to the "
                         f"shape argument {shape}")


def _in_dtype(v, dtype: np.dtype):
    """A parameter in the sampler's dtype (a Tensor stays on its trace, differentiable)."""
    if hasattr(v, "_trace") or isinstance(v, np.ndarray):
        return v if v.dtype == dtype else cnp.astype(v, dtype)
    return np.asarray(v, dtype)


def uniform(key, shape: Sequence[int] = (), dtype=None, minval=0.0, maxval=1.0):
    """Floats in ``[minval, maxval)``, JAX's bit for bit; differentiable in the bounds.

    >>> uniform(PRNGKey(0), (2,)).tolist()
    [0.41845711171638644, 0.21629545460551136]
    """
    dtype = _float_dtype(dtype, "uniform")
    shape = _shape(shape, "uniform")
    _check_shape("uniform", shape, np.shape(minval), np.shape(maxval))
    lo, hi = _in_dtype(minval, dtype), _in_dtype(maxval, dtype)
    floats = _unit_p(_single(key, "uniform"), shape=shape, dtype=dtype)
    if dtype.itemsize >= 4:
        # XLA fuses the multiply and the add in float32 and float64 (one rounding; float16
        # rounds after each): the same rounding here gives its values bit for bit
        return cnp.maximum(lo, _fma_p(floats, hi - lo, lo, dtype=dtype))
    return cnp.maximum(lo, floats * (hi - lo) + lo)


def normal(key, shape: Sequence[int] = (), dtype=None):
    """Standard normal values: √2 · erfinv of a uniform in (−1, 1), as JAX draws them.

    >>> round(float(normal(PRNGKey(0))), 12)
    -0.20584213948
    """
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    shape = _shape(shape, "normal")
    if dtype.kind == "c":
        real = np.dtype(np.finfo(dtype).dtype)
        k_re, k_im = split(key)
        return (cnp.astype(normal(k_re, shape, real), dtype) + 1j * cnp.astype(normal(k_im, shape, real), dtype)) \
            / dtype.type(math.sqrt(2))
    dtype = _float_dtype(dtype, "normal")
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    return dtype.type(math.sqrt(2)) * erfinv(uniform(key, shape, dtype, lo, np.array(1.0, dtype)))


def truncated_normal(key, lower, upper, shape: Sequence[int] | None = None, dtype=None):
    """Standard normal values conditioned on ``lower < x < upper`` (inverse-CDF sampling
    with ``erf`` of the bounds, as JAX's; SciPy's ``erf`` computes them)."""
    special = importlib.import_module("chainrule.scipy.special")  # SciPy is optional: loaded here only

    dtype = _float_dtype(dtype, "truncated_normal")
    if shape is None:
        shape = np.broadcast_shapes(np.shape(lower), np.shape(upper))
    shape = _shape(shape, "truncated_normal")
    _check_shape("truncated_normal", shape, np.shape(lower), np.shape(upper))
    sqrt2 = dtype.type(math.sqrt(2))
    lower, upper = _in_dtype(lower, dtype), _in_dtype(upper, dtype)
    a, b = special.erf(lower / sqrt2), special.erf(upper / sqrt2)
    out = sqrt2 * erfinv(uniform(key, shape, dtype, a, b))
    inf = np.array(np.inf, dtype)
    # kept strictly inside the bounds (rounding may reach them); the bounds' values only
    return cnp.clip(out, cnp.nextafter(stop_gradient(lower), inf), cnp.nextafter(stop_gradient(upper), -inf))


def _int_dtype(dtype) -> np.dtype:
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"randint: dtype must be an integer dtype, got {dtype}")
    return dtype


def _clip_to(v: np.ndarray, dtype: np.dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.clip(v, info.min, info.max).astype(dtype)


def _randint_values(key, minval, maxval, *, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """JAX's randint: two draws of the dtype's width per value, reduced modulo the span."""
    minval, maxval = np.asarray(minval), np.asarray(maxval)
    if minval.dtype.kind not in "iu":
        minval = minval.astype(np.int64)
    if maxval.dtype.kind not in "iu":
        maxval = maxval.astype(np.int64)
    info = np.iinfo(dtype)
    too_high = maxval > info.max
    lo, hi = _clip_to(minval, dtype), _clip_to(maxval, dtype)
    nbits = info.bits
    uint = np.dtype(f"uint{nbits}")
    halves = _split_keys(key, shape=(2,))
    higher = _random_bits(halves[0], width=nbits, shape=shape)
    lower = _random_bits(halves[1], width=nbits, shape=shape)
    with np.errstate(over="ignore"):
        span = hi.astype(uint) - lo.astype(uint)  # the difference, modulo 2**nbits
        span = np.where(hi <= lo, uint.type(1), span).astype(uint)
        # a span of 2**nbits wraps to 0, where XLA's remainder leaves its dividend as it is
        span = np.where(too_high & (hi > lo), span + uint.type(1), span).astype(uint)
        multiplier = _rem(uint.type(2 ** (nbits // 2)), span)
        multiplier = _rem(multiplier * multiplier, span)
        offset = _rem(_rem(higher, span) * multiplier + _rem(lower, span), span)
        return np.broadcast_to(lo + offset.astype(dtype), shape).astype(dtype)


def _rem(x, n):
    """``x % n`` for unsigned integers as XLA computes it: ``x`` where ``n`` is 0."""
    x, n = np.broadcast_arrays(x, n)
    return np.where(n == 0, x, x % np.where(n == 0, n.dtype.type(1), n)).astype(x.dtype)


_randint_p = Primitive(_randint_values, name="randint")
def_batch(batching.per_example, _randint_p)


def randint(key, shape: Sequence[int], minval, maxval, dtype=None):
    """Integers in ``[minval, maxval)`` (int64 by default), JAX's bit for bit.

    >>> randint(PRNGKey(0), (4,), 0, 10).tolist()
    [5, 1, 5, 7]
    """
    dtype = _int_dtype(dtype)
    shape = _shape(shape, "randint")
    _check_shape("randint", shape, np.shape(minval), np.shape(maxval))
    if np.iinfo(dtype).bits < 32:  # drawn in 32 bits, as JAX does, then cast
        info = np.iinfo(dtype)
        lo = np.clip(np.asarray(minval).astype(np.int32), info.min, info.max)
        hi = np.clip(np.asarray(maxval).astype(np.int32), info.min, info.max + 1)
        return cnp.astype(_randint_p(_single(key, "randint"), lo, hi, shape=shape, dtype=np.dtype(np.int32)), dtype)
    return _randint_p(_single(key, "randint"), minval, maxval, shape=shape, dtype=dtype)


def bernoulli(key, p=0.5, shape: Sequence[int] | None = None, mode: str = "low"):
    """Booleans that are True with probability ``p`` (a uniform draw below ``p``)."""
    if mode not in ("low", "high"):
        raise ValueError(f"bernoulli: mode must be 'high' or 'low', got {mode!r}")
    dtype = np.result_type(getattr(p, "dtype", np.float64))
    dtype = dtype if dtype.kind == "f" else np.dtype(np.float64)
    shape = np.shape(p) if shape is None else _shape(shape, "bernoulli")
    _check_shape("bernoulli", shape, np.shape(p))
    p = _in_dtype(p, dtype)
    if mode == "high":
        u = uniform(key, (2, *shape), dtype)
        u1, u2 = u[0], u[1] * dtype.type(2.0 ** -np.finfo(dtype).nmant)
        return u2 < p - u1
    return uniform(key, shape, dtype) < p


def rademacher(key, shape: Sequence[int], dtype=None):
    """−1 or +1 with equal probability (int64 by default)."""
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    b = cnp.astype(bernoulli(key, 0.5, _shape(shape, "rademacher")), dtype)
    return cnp.astype(2 * b - 1, dtype)


def gumbel(key, shape: Sequence[int] = (), dtype=None, mode: str | None = None):
    """Standard Gumbel values, −log(−log(u)) (``mode="high"``: JAX's two-draw form that
    resolves the tail)."""
    dtype = _float_dtype(dtype, "gumbel")
    shape = _shape(shape, "gumbel")
    mode = "low" if mode is None else mode
    info = np.finfo(dtype)
    if mode in ("high", "highest"):
        u = uniform(key, (2, *shape), dtype)
        high, low = u[0], u[1]
        x = cnp.where(high >= 0.5, high, high + dtype.type(2.0 ** -info.nmant) * low + info.tiny)
        return -cnp.log(-cnp.log1p(-x))
    if mode != "low":
        raise ValueError(f"gumbel: mode must be 'low', 'high' or 'highest', got {mode!r}")
    return -cnp.log(-cnp.log(uniform(key, shape, dtype, info.tiny, 1.0)))


def categorical(key, logits, axis: int = -1, shape: Sequence[int] | None = None, replace: bool = True,
                mode: str | None = None):
    """Category indices drawn with probabilities softmax(``logits``) along ``axis`` (the
    Gumbel-max trick, as JAX draws them)."""
    ndim = cnp.ndim(logits)
    logits_shape = cnp.shape(logits)
    axis = axis % ndim
    batch_shape = logits_shape[:axis] + logits_shape[axis + 1:]
    shape = batch_shape if shape is None else _shape(shape, "categorical")
    _check_shape("categorical", shape, batch_shape)
    dtype = np.result_type(getattr(logits, "dtype", np.float64))
    prefix = shape[:len(shape) - len(batch_shape)]
    if replace:
        neg_axis = axis - ndim
        draw_shape = list(shape[len(shape) - len(batch_shape):])
        draw_shape.insert(axis, logits_shape[axis])
        noise = gumbel(key, (*prefix, *draw_shape), dtype, mode)
        return cnp.argmax(noise + cnp.reshape(logits, (1,) * len(prefix) + tuple(logits_shape)), axis=neg_axis)
    k = math.prod(prefix)
    if k > logits_shape[axis]:
        raise ValueError(f"categorical: {k} samples without replacement exceed the {logits_shape[axis]} categories")
    scores = cnp.moveaxis(logits + gumbel(key, logits_shape, dtype, mode), axis, -1)
    top = cnp.argsort(-scores, axis=-1, kind="stable")[..., :k]
    return cnp.astype(cnp.reshape(cnp.moveaxis(top, -1, 0), shape), np.int32)  # JAX's top_k indices


def exponential(key, shape: Sequence[int] = (), dtype=None):
    """Exponential values with rate 1, −log(1 − u)."""
    return -cnp.log1p(-uniform(key, shape, _float_dtype(dtype, "exponential")))


def laplace(key, shape: Sequence[int] = (), dtype=None):
    """Laplace values with scale 1."""
    dtype = _float_dtype(dtype, "laplace")
    u = uniform(key, shape, dtype, -1.0 + np.finfo(dtype).epsneg, 1.0)
    return cnp.sign(u) * cnp.log1p(-cnp.abs(u))


def logistic(key, shape: Sequence[int] = (), dtype=None):
    """Standard logistic values, log(u) − log(1 − u)."""
    dtype = _float_dtype(dtype, "logistic")
    x = uniform(key, shape, dtype, np.finfo(dtype).tiny, 1.0)
    return cnp.log(x) - cnp.log1p(-x)


def cauchy(key, shape: Sequence[int] = (), dtype=None):
    """Standard Cauchy values, tan(π(u − ½))."""
    dtype = _float_dtype(dtype, "cauchy")
    u = uniform(key, shape, dtype, np.finfo(dtype).eps, 1.0)
    return cnp.tan(dtype.type(np.pi) * (u - dtype.type(0.5)))


def multivariate_normal(key, mean, cov, shape: Sequence[int] | None = None, dtype=None, method: str = "cholesky"):
    """Draws from N(``mean``, ``cov``): ``mean + L z`` with ``L`` a factor of ``cov``
    (``method`` ``"cholesky"``, ``"eigh"`` or ``"svd"``); differentiable in both."""
    dtype = _float_dtype(dtype if dtype is not None else getattr(mean, "dtype", None), "multivariate_normal")
    if cnp.ndim(mean) < 1 or cnp.ndim(cov) < 2:
        raise ValueError("multivariate_normal: mean needs at least 1 axis and cov at least 2")
    n = cnp.shape(mean)[-1]
    if tuple(cnp.shape(cov)[-2:]) != (n, n):
        raise ValueError(f"multivariate_normal: cov must have shape (..., {n}, {n}), got {cnp.shape(cov)}")
    batch = np.broadcast_shapes(cnp.shape(mean)[:-1], cnp.shape(cov)[:-2])
    shape = batch if shape is None else _shape(shape, "multivariate_normal")
    _check_shape("multivariate_normal", shape, cnp.shape(mean)[:-1], cnp.shape(cov)[:-2])
    if method == "cholesky":
        factor = cnp.linalg.cholesky(cov)
    elif method == "eigh":
        w, v = cnp.linalg.eigh(cov)
        factor = v * cnp.sqrt(w[..., None, :])
    elif method == "svd":
        u, s, _ = cnp.linalg.svd(cov)
        factor = u * cnp.sqrt(s[..., None, :])
    else:
        raise ValueError(f"multivariate_normal: method must be 'cholesky', 'eigh' or 'svd', got {method!r}")
    z = normal(key, (*shape, n), dtype)
    return mean + cnp.einsum("...ij,...j->...i", factor, z)


def _shuffled(key, x, axis: int):
    """JAX's shuffle: sorts by fresh 32-bit random keys, rounds enough that ties are
    negligible (one round below about 1,600 elements)."""
    size = math.prod(cnp.shape(x))
    rounds = int(np.ceil(3 * np.log(max(1, size)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        keys = split(key)
        key, sub = keys[0], keys[1]
        order = cnp.argsort(bits(sub, cnp.shape(x), np.uint32), axis=axis, kind="stable")
        x = cnp.take_along_axis(x, order, axis=axis)
    return x


def permutation(key, x, axis: int = 0, independent: bool = False):
    """A random permutation of ``arange(x)`` (an int) or of ``x`` along ``axis``
    (each slice on its own with ``independent=True``)."""
    if cnp.ndim(x) == 0:
        return _shuffled(key, cnp.arange(int(x)), 0)
    axis = axis % cnp.ndim(x)
    if independent or cnp.ndim(x) == 1:
        return _shuffled(key, x, axis)
    order = _shuffled(key, cnp.arange(cnp.shape(x)[axis]), 0)
    return cnp.take(x, order, axis=axis)


def choice(key, a, shape: Sequence[int] = (), replace: bool = True, p=None, axis: int = 0):
    """Draws from ``a`` (an array along ``axis``, or ``arange(a)``), with or without
    replacement, uniformly or with probabilities ``p``."""
    if not isinstance(shape, Sequence):
        raise TypeError(f"choice: shape must be a sequence, got {shape!r}")
    shape = tuple(shape)
    scalar = cnp.ndim(a) == 0
    n = int(a) if scalar else cnp.shape(a)[axis % cnp.ndim(a)]
    axis = 0 if scalar else axis % cnp.ndim(a)
    draws = math.prod(shape)
    if draws == 0:
        return cnp.zeros(shape, dtype=np.result_type(getattr(a, "dtype", np.int64)))
    if n <= 0:
        raise ValueError("choice: a must be greater than 0 unless no samples are taken")
    if not replace and draws > n:
        raise ValueError(f"choice: cannot take a larger sample (size {draws}) than the population "
                         f"(size {n}) with replace=False")
    if p is None:
        if replace:
            ind = randint(key, shape, 0, n)
        else:
            ind = cnp.reshape(permutation(key, n)[:draws], shape)
    else:
        if tuple(cnp.shape(p)) != (n,):
            raise ValueError(f"choice: p must be None or a 1-d vector of length {n}, got shape {cnp.shape(p)}")
        pdt = np.result_type(getattr(p, "dtype", np.float64), np.float16)
        if replace:
            cdf = cnp.cumsum(p)
            r = cdf[-1] * (1 - uniform(key, shape, dtype=pdt))
            ind = cnp.searchsorted(cdf, r)
        else:
            g = gumbel(key, (n,), dtype=pdt) + cnp.log(p)
            ind = cnp.reshape(cnp.argsort(-g, kind="stable")[:draws], shape)
    if scalar:
        return ind
    out = cnp.take(a, cnp.ravel(ind), axis=axis)
    a_shape = cnp.shape(a)
    return cnp.reshape(out, a_shape[:axis] + shape + a_shape[axis + 1:])


_NOT_PROVIDED = ("gamma", "loggamma", "beta", "dirichlet", "poisson", "t", "chisquare", "f", "binomial",
                 "geometric", "pareto", "weibull_min", "maxwell", "double_sided_maxwell", "generalized_normal",
                 "orthogonal", "ball", "triangular", "lognormal", "wald", "rayleigh", "multinomial")


def __getattr__(name: str):
    if name in _NOT_PROVIDED:
        raise AttributeError(
            f"chainrule.random has no {name}: JAX draws it by rejection sampling or from other samplers whose "
            "numbers chainrule does not reproduce; use numpy.random or scipy.stats for it")
    raise AttributeError(f"module 'chainrule.random' has no attribute {name!r}")
