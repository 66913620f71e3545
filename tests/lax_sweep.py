"""The engine of the sweep of every name that ``jax.lax`` and ``chainrule.lax`` both expose:
each is called on a table of argument patterns (signed zeros, NaN, infinities, huge and
subnormal values, ties, integer and boolean dtypes, empty and 0-d arrays) and checked
against JAX's, the oracle:

- the value: its structure, shapes, dtypes, NaN and infinity positions, signs of zeros,
  and finite entries to ``RTOL``; or, where JAX raises, an exception of the same class;
- ``jvp`` along fixed tangents and ``grad`` of a weighted sum of the float results, in the
  float arguments (where the result is float and JAX differentiates);
- ``vmap`` over axis 0 and over axis 1 (0-d arguments over axis 0), of a batch of two
  examples: the arguments and a second example made of them (rolled, negated, flipped);
- ``cr.jit`` of the call: chainrule's own unjitted answer, bit for bit.

Arrays (``np.ndarray``) in a pattern are the operands (batched, differentiated where float);
every other argument is static. ``Lax("add")`` stands for the library's own ``lax.add``, and
``Fn(lambda lax, np: ...)`` for a function written over the library's ``lax`` and NumPy.

``python -m tests.lax_sweep [NAME ...]`` (from the repository's root) prints every disagreement
of the table."""

from __future__ import annotations

import math
import sys

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)
import jax.lax as jlax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from tests.transforms.vmap_sweep import _exception_base, _quiet  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402
from chainrule import lax as clax  # noqa: E402

RTOL = 1e-12  # XLA's and NumPy's transcendental functions differ in the last bits
DERIVATIVE_ATOL = 1e-13  # derivatives that cancel to zero in one library and to 1e-16 in the other
SPECIAL_RTOL = 1e-9  # the special functions (lgamma, digamma, erf_inv) of XLA and SciPy

# names not called: classes and enums, and the collectives, which need a named vmap (tests/test_lax.py)
SKIPPED = {"ConvDimensionNumbers", "Precision", "RoundingMethod", "all_gather", "all_to_all", "axis_index",
           "axis_size", "pbroadcast", "pmax", "pmean", "pmin", "ppermute", "pshuffle", "psum", "psum_scatter"}


def names() -> list[str]:
    """Every function both libraries expose, less SKIPPED (chainrule's asked for one by one)."""
    return sorted(n for n in dir(jlax) if not n.startswith("_") and n not in SKIPPED
                  and callable(getattr(jlax, n)) and callable(getattr(clax, n, None)))


class Lax(str):
    """The library's own ``lax.<name>`` (a computation passed to reduce, associative_scan...)."""


class Fn:
    """A function written over ``(lax, np)`` of the library, such as a branch of ``cond``."""

    def __init__(self, make, text: str = "fn"):
        self.make, self.text = make, text

    def __repr__(self):
        return self.text


nan, inf = math.nan, math.inf
F = np.array([0.5, -0.0, 1.5, 0.0, -2.25, nan, inf, -inf])  # signed zeros, NaN, infinities
# huge and tiny values, ties; none whose results or derivatives are subnormal: XLA on CPU flushes
# them to zero, NumPy does not
H = np.array([1e300, -1e300, 1e-150, -1e-150, 2.5, -0.5, 0.5, -1.5])
G = np.array([0.3, -0.7, 0.45, 0.8, -0.25, 0.6, -0.55, 0.35])  # smooth: away from ties and zeros
M = np.array([[0.5, -0.0, 1.5, nan], [-2.25, 0.0, 0.5, -1.0]])
GM = np.array([[0.3, -0.7, 0.45, 0.8], [-0.25, 0.6, -0.55, 0.35]])
I64 = np.array([-3, 0, 2, 7, -1, 5, 2, -8])
I32 = I64.astype(np.int32)
U8 = np.array([0, 1, 255, 7, 128, 3, 2, 9], np.uint8)
BOOL = np.array([True, False, True, True, False, False, True, False])
E = np.zeros((0,))
S = np.array(-0.0)
SG = np.array(0.4)
NF = -F  # 0.0 before -0.0
ARRAYS = {"F": F, "NF": NF, "H": H, "G": G, "M": M, "GM": GM, "I64": I64, "I32": I32, "U8": U8, "B": BOOL, "E": E,
          "S": S, "SG": SG}
_NAMES = {id(v): k for k, v in ARRAYS.items()}


def _text(v) -> str:
    if isinstance(v, np.ndarray):
        return _NAMES.get(id(v), f"{v.dtype}{list(v.shape)}")
    if isinstance(v, Lax):
        return f"lax.{v}"
    if isinstance(v, type):
        return v.__name__
    if isinstance(v, tuple | list) and any(isinstance(w, np.ndarray) for w in v):
        inner = ", ".join(map(_text, v))
        return f"[{inner}]" if isinstance(v, list) else f"({inner})"
    return repr(v)


class Pattern:
    """Arguments (arrays: operands; the rest static) and keyword arguments of one call."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __str__(self):
        return ", ".join([*map(_text, self.args), *(f"{k}={_text(v)}" for k, v in self.kwargs.items())])

    def _places(self) -> list[tuple]:
        """Where the operands are: an argument's position, and within a tuple or list its own."""
        places = []
        for k, a in enumerate(self.args):
            if isinstance(a, np.ndarray):
                places.append((k,))
            elif isinstance(a, tuple | list):
                places.extend((k, j) for j, v in enumerate(a) if isinstance(v, np.ndarray))
        return places

    def operands(self) -> list[np.ndarray]:
        return [self.args[p[0]] if len(p) == 1 else self.args[p[0]][p[1]] for p in self._places()]

    def bind(self, lax, npm):
        """The call as a function of the operands, for the library of ``lax`` and ``npm``."""
        def resolve(v):
            if isinstance(v, Lax):
                return getattr(lax, v)
            if isinstance(v, Fn):
                return v.make(lax, npm)
            if isinstance(v, tuple | list) and any(isinstance(w, Lax | Fn) for w in v):
                return type(v)(resolve(w) for w in v)
            return v

        fun = getattr(lax, self.name)
        kwargs = {k: resolve(v) for k, v in self.kwargs.items()}
        places = self._places()
        static = [resolve(a) for a in self.args]

        def call(*operands):
            args = [list(a) if isinstance(a, tuple | list) else a for a in static]
            for place, x in zip(places, operands, strict=True):
                if len(place) == 1:
                    args[place[0]] = x
                else:
                    args[place[0]][place[1]] = x
            args = [type(s)(a) if isinstance(s, tuple | list) else a for a, s in zip(args, static, strict=True)]
            return fun(*args, **kwargs)

        return call


def _unary(*kinds: str) -> list[Pattern]:
    return [Pattern(ARRAYS[k]) for k in ("F", "H", "G", "S", "E", *kinds)]


def _binary(*kinds: str) -> list[Pattern]:
    pairs = [("F", "F"), ("F", "H"), ("H", "F"), ("G", "G"), ("S", "F"), ("E", "E"), ("F", "I64"), *kinds]
    return [Pattern(ARRAYS[a], ARRAYS[b]) for a, b in pairs]


def _integer_binary() -> list[Pattern]:
    return [Pattern(ARRAYS[a], ARRAYS[b]) for a, b in (("I64", "I64"), ("I32", "I32"), ("U8", "U8"), ("B", "B"),
                                                       ("I64", "I32"))]


UNARY = ["abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "cbrt", "ceil", "conj", "cos", "cosh",
         "digamma", "erf", "erf_inv", "erfc", "exp", "exp2", "expm1", "floor", "imag", "is_finite", "lgamma",
         "log", "log1p", "logistic", "neg", "real", "round", "rsqrt", "sign", "sin", "sinh", "sqrt", "square",
         "tan", "tanh", "stop_gradient"]
BINARY = ["add", "atan2", "div", "eq", "ge", "gt", "le", "lt", "max", "min", "mul", "ne", "nextafter", "pow",
          "rem", "sub"]
INTEGER = {"abs", "neg", "sign", "square", "add", "sub", "mul", "div", "rem", "max", "min", "eq", "ne", "lt",
           "le", "gt", "ge", "stop_gradient", "pow"}

X3 = np.array([[0.5, -1.0, 2.0, 0.25], [1.5, 0.0, -0.5, 3.0], [-2.0, 1.0, 0.75, -0.25]])
BODY_SIN = Fn(lambda lax, np: lambda x: np.sin(x) * x, "sin(x)*x")
BODY_CUBE = Fn(lambda lax, np: lambda x: -(x ** 3), "-x**3")


def _table() -> dict[str, list[Pattern]]:
    t: dict[str, list[Pattern]] = {}
    for n in UNARY:
        t[n] = _unary(*(("I64", "I32", "B") if n in INTEGER else ("I64",)))
    for n in BINARY:
        t[n] = _binary() + (_integer_binary() if n in INTEGER else [])
    t["round"] += [Pattern(H, 1), Pattern(F, clax.RoundingMethod.TO_NEAREST_EVEN)]
    for n in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        t[n] = _integer_binary() + [Pattern(F, F)]
    t["bitwise_not"] = [Pattern(I64), Pattern(U8), Pattern(BOOL), Pattern(F)]
    t["integer_pow"] = [Pattern(F, 2), Pattern(H, 3), Pattern(F, -1), Pattern(F, 0), Pattern(G, -2), Pattern(I64, 3),
                        Pattern(I64, -1), Pattern(S, -3), Pattern(E, 2)]
    t["clamp"] = [Pattern(-1.0, F, 1.0), Pattern(np.array(-1.0), G, np.array(0.5)),
                  Pattern(G * 0 - 0.5, G, G * 0 + 0.4), Pattern(0, I64, 3), Pattern(1.0, H, -1.0),
                  Pattern(-0.0, F, 0.0), Pattern(0.0, F, 1.0), Pattern(-1.0, F, -0.0), Pattern(G[:2], G, 1.0)]
    t["convert_element_type"] = [Pattern(F, t) for t in (np.int32, np.uint8, np.int64, np.float32, bool)] + [
        Pattern(H, np.float32), Pattern(H, np.int64), Pattern(I64, np.float64), Pattern(I64, np.uint8),
        Pattern(I64, bool), Pattern(BOOL, np.float64), Pattern(G, np.float32), Pattern(E, np.int32)]
    t["select_n"] = [Pattern(BOOL, F, H), Pattern(I64 % 3, F, H, G), Pattern(BOOL, G, -G),
                     Pattern(np.array(True), G, -G), Pattern(I64 % 2 == 0, I64, -I64), Pattern(BOOL, F),
                     Pattern(I64 % 2, F, H), Pattern(I64, F, H, G), Pattern(BOOL, F, H, G), Pattern(G, F, H),
                     Pattern(I32, F, G.astype(np.float32))]
    t["select"] = [Pattern(BOOL, F, H), Pattern(BOOL, G, -G), Pattern(np.array(False), G, H),
                   Pattern(BOOL, F, G.astype(np.float32))]
    # shapes
    t["broadcast"] = [Pattern(F, (2,)), Pattern(S, (2, 3)), Pattern(GM, ()), Pattern(E, (2,))]
    t["broadcast_in_dim"] = [Pattern(F, (3, 8), (1,)), Pattern(S, (2,), ()), Pattern(GM, (2, 3, 4), (0, 2)),
                             Pattern(G, (8, 2), (0,))]
    t["reshape"] = [Pattern(GM, (4, 2)), Pattern(GM, (4, 2), (1, 0)), Pattern(S, (1, 1)), Pattern(E, (0, 3)),
                    Pattern(G, (3, 3))]
    t["squeeze"] = [Pattern(GM[None], (0,)), Pattern(GM, (0,)), Pattern(GM[:, :1], (-1,))]
    t["expand_dims"] = [Pattern(GM, (0,)), Pattern(GM, (-1, 1)), Pattern(S, (0,))]
    t["transpose"] = [Pattern(GM, (1, 0)), Pattern(M, (0, 1)), Pattern(GM, (0,))]
    t["rev"] = [Pattern(GM, (0,)), Pattern(M, (0, 1)), Pattern(GM, ()), Pattern(G, (1,))]
    t["collapse"] = [Pattern(GM, 0), Pattern(GM, 0, 1), Pattern(GM[None], 1, 3), Pattern(GM, 1, 2)]
    t["concatenate"] = [Pattern([F, H], 0), Pattern([F, I64], 0), Pattern([GM, M], 1), Pattern([E, E], 0),
                        Pattern([S, S], 0)]
    t["slice"] = [Pattern(GM, (0, 1), (2, 4)), Pattern(GM, (0, 1), (2, 4), (1, 2)), Pattern(F, (2,), (9,)),
                  Pattern(F, (-1,), (3,)), Pattern(F, (5,), (3,))]
    t["slice_in_dim"] = [Pattern(GM, 1, 3, 1, 1), Pattern(F, -3, None), Pattern(F, 1, None, 3), Pattern(F, 0, 20)]
    t["index_in_dim"] = [Pattern(GM, 1, 1), Pattern(GM, -1, 0, False), Pattern(F, 8), Pattern(F, -9)]
    t["pad"] = [Pattern(G, 0.0, [(1, 2, 1)]), Pattern(F, -1.5, [(-1, 1, 2)]), Pattern(GM, SG, [(1, 0, 1), (0, -1, 2)]),
                Pattern(I64, 0, [(1, 1, 0)]), Pattern(E, 1.0, [(1, 1, 3)]), Pattern(G, 0.0, [(-5, -4, 0)]),
                Pattern(G, 0.0, [(1, 1, -1)]), Pattern(G, np.float32(0.0), [(1, 1, 0)])]
    t["iota"] = [Pattern(np.float64, 4), Pattern(np.int32, 3), Pattern(np.int64, 0)]
    t["full"] = [Pattern((2, 3), SG), Pattern((2,), 1.5, np.int32), Pattern((), SG), Pattern((3,), S, np.float32),
                 Pattern((2,), True)]
    t["full_like"] = [Pattern(G, SG), Pattern(I64, 2.7), Pattern(GM, SG, np.float32, (3,)), Pattern(BOOL, 1)]
    # reductions, scans, sorting, products
    t["argmax"] = [Pattern(F, 0, np.int32), Pattern(M, 1, np.int64), Pattern(H, 0, np.int32),
                   Pattern(I64, 0, np.int32), Pattern(BOOL, 0, np.int32)]
    t["argmin"] = list(t["argmax"])
    for n in ("cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"):
        t[n] = [Pattern(F), Pattern(G), Pattern(GM, 1), Pattern(GM, 0, True), Pattern(H), Pattern(E), Pattern(I64),
                Pattern(M, axis=1, reverse=True), Pattern(BOOL)] + ([Pattern(U8), Pattern(I32)] if n in (
                    "cumsum", "cumprod") else [])
    t["associative_scan"] = [Pattern(Lax("add"), G), Pattern(Lax("max"), F), Pattern(Lax("mul"), GM, axis=1),
                             Pattern(Lax("add"), GM, reverse=True), Pattern(Lax("add"), E), Pattern(Lax("min"), I64)]
    t["sort"] = [Pattern(F), Pattern(NF), Pattern(H), Pattern(M, 0), Pattern(G), Pattern(I64), Pattern(BOOL),
                 Pattern(E),                 Pattern((I64 % 2, G), num_keys=1), Pattern((I64 % 2, F, G), num_keys=2),
                 Pattern(G, is_stable=False)]
    t["sort_key_val"] = [Pattern(F, G), Pattern(I64 % 3, G), Pattern(M, GM, 0), Pattern(G, I64)]
    t["top_k"] = [Pattern(F, 3), Pattern(NF, 8), Pattern(G, 8), Pattern(M, 2), Pattern(I64, 4),
                  Pattern(H, 1), Pattern(F, 0), Pattern(U8, 3), Pattern(np.array([-2**63, 0, 5, -1]), 2), Pattern(G, 9),
                  Pattern(G, -1)]
    t["dot"] = [Pattern(G, G), Pattern(GM, G[:4]), Pattern(F, H), Pattern(GM, GM.T), Pattern(I64, I64),
                Pattern(G, G, preferred_element_type=np.float32), Pattern(E, E)]
    t["dot_general"] = [Pattern(GM, GM, (((1,), (1,)), ((), ()))),
                        Pattern(X3[None], X3[None], (((2,), (2,)), ((0,), (0,)))),
                        Pattern(M, GM, (((1,), (1,)), ((0,), (0,)))), Pattern(GM, G[:4], (((1,), (0,)), ((), ()))),
                        Pattern(I64[:4], GM, (((0,), (1,)), ((), ()))), Pattern(G, G, (((), ()), ((), ())))]
    t["batch_matmul"] = [Pattern(X3[None], X3.T[None]), Pattern(GM[None], GM.T[None]), Pattern(M[None], GM.T[None])]
    conv_x, conv_w = np.arange(32.0).reshape(1, 2, 4, 4) / 7 - 2, np.cos(np.arange(24.0)).reshape(3, 2, 2, 2)
    t["conv_general_dilated"] = [
        Pattern(conv_x, conv_w, (1, 1), "VALID"), Pattern(conv_x, conv_w, (2, 1), "SAME", rhs_dilation=(1, 2)),
        Pattern(conv_x, conv_w, (1, 1), [(1, 0), (-1, 1)], lhs_dilation=(2, 1)),
        Pattern(conv_x, conv_w[:2, :1], (1, 1), "VALID", feature_group_count=2),
        Pattern(conv_x.transpose(0, 2, 3, 1), conv_w.transpose(2, 3, 1, 0), (1, 1), "SAME",
                dimension_numbers=("NHWC", "HWIO", "NHWC")),
        Pattern(conv_x[:, :, 0], conv_w[:, :, 0], (1,), "SAME_LOWER"),
        Pattern(conv_x * np.inf, conv_w, (1, 1), "VALID")]
    t["conv"] = [Pattern(conv_x, conv_w, (1, 1), "VALID"), Pattern(conv_x, conv_w, (2, 2), "SAME")]
    t["conv_transpose"] = [
        Pattern(conv_x.transpose(0, 2, 3, 1), conv_w.transpose(2, 3, 1, 0)[..., :2], (2, 2), "SAME"),
        Pattern(conv_x.transpose(0, 2, 3, 1), conv_w.transpose(2, 3, 1, 0)[..., :2], (1, 2), "VALID"),
        Pattern(conv_x, conv_w.transpose(1, 0, 2, 3), (1, 1), [(1, 1), (0, 1)],
                dimension_numbers=("NCHW", "OIHW", "NCHW"), transpose_kernel=True)]
    t["conv_dimension_numbers"] = [Pattern((1, 2, 3, 3), (4, 2, 2, 2), ("NHWC", "HWIO", "NHWC")),
                                   Pattern((1, 2, 3), (4, 2, 2), None), Pattern((1, 2, 3), (4, 2, 2, 2), None)]
    t["padtype_to_pads"] = [Pattern((5, 4), (3, 2), (2, 1), "SAME"), Pattern((5,), (2,), (3,), "SAME_LOWER"),
                            Pattern((5,), (2,), (1,), "VALID"), Pattern((5,), (2,), (1,), "FULL")]
    t["reduce_window"] = [
        Pattern(GM, 0.0, Lax("add"), (1, 2), (1, 1), "VALID"), Pattern(M, -inf, Lax("max"), (2, 2), (1, 1), "SAME"),
        Pattern(F, inf, Lax("min"), (3,), (2,), "VALID"),
        Pattern(GM, 1.0, Lax("mul"), (1, 3), (1, 1), [(0, 0), (1, 1)]),
        Pattern(GM, 0.0, Lax("add"), (1, 2), (1, 1), "VALID", (1, 2), (1, 1)),
        Pattern(G, 0.0, Lax("add"), (2,), (1,), "VALID", None, (3,)), Pattern(I64, 0, Lax("add"), (2,), (2,), "VALID"),
        Pattern(np.round(G * 2) / 2, -inf, Lax("max"), (3,), (1,), "SAME")]
    t["reduce"] = [Pattern(GM, 0.0, Lax("add"), (1,)), Pattern(M, -inf, Lax("max"), (0, 1)),
                   Pattern(F, 1.0, Lax("mul"), (0,)), Pattern(I64, 0, Lax("add"), (0,)),
                   Pattern(GM, 0.0, Fn(lambda lax, np: lambda a, b: a + b, "a+b"), (1,)),
                   Pattern(E, 0.0, Lax("add"), (0,))]
    for n, arrays in {"reduce_sum": (F, GM, I64, E), "reduce_max": (F, M, I64, H), "reduce_min": (F, M, I64, H),
                      "reduce_prod": (F, GM, I64, E), "reduce_and": (BOOL, I64), "reduce_or": (BOOL, I64)}.items():
        t[n] = [Pattern(a, tuple(range(a.ndim))) for a in arrays] + [Pattern(GM, (1,)), Pattern(GM, ())]
    # dynamic indexing: starts out of range are clamped, negative ones count from the end
    t["dynamic_slice"] = [Pattern(GM, (np.array(1), np.array(1)), (1, 2)), Pattern(F, (np.array(6),), (3,)),
                          Pattern(F, (np.array(-2),), (3,)), Pattern(GM, (0, 5), (2, 2)),
                          Pattern(F, (np.array(0),), (9,))]
    t["dynamic_slice_in_dim"] = [Pattern(GM, np.array(3), 2, 1), Pattern(F, np.array(-1), 2), Pattern(F, 20, 8)]
    t["dynamic_index_in_dim"] = [Pattern(GM, np.array(1), 1), Pattern(F, np.array(-10)), Pattern(GM, 1, 0, False)]
    t["dynamic_update_slice"] = [Pattern(G, G[:2], (np.array(7),)), Pattern(GM, M[:1, :2], (np.array(0), np.array(-1))),
                                 Pattern(F, G[:3], (np.array(-9),)), Pattern(I64, I64[:2], (np.array(1),)),
                                 Pattern(G, I64[:2], (0,)), Pattern(G, G[:2, None], (0,))]
    t["dynamic_update_slice_in_dim"] = [Pattern(GM, G[:4].reshape(1, 4), np.array(5), 0),
                                        Pattern(G, -G[:3], np.array(-1), 0)]
    t["dynamic_update_index_in_dim"] = [Pattern(GM, G[:4], np.array(1), 0), Pattern(GM, G[:2, None], np.array(-1), 1)]
    # control flow
    t["cond"] = [Pattern(np.array(True), BODY_SIN, BODY_CUBE, G), Pattern(np.array(False), BODY_SIN, BODY_CUBE, F),
                 Pattern(np.array(2), BODY_SIN, BODY_CUBE, SG), Pattern(np.array(0.0), BODY_SIN, BODY_CUBE, SG),
                 Pattern(np.array(nan), BODY_SIN, BODY_CUBE, SG),
                 Pattern(np.array(True), BODY_SIN, Fn(lambda lax, np: lambda x: x.astype(np.float32)), G),
                 Pattern(BOOL[:1], BODY_SIN, BODY_CUBE, G)]
    t["switch"] = [Pattern(np.array(1), [BODY_SIN, BODY_CUBE], G), Pattern(np.array(5), [BODY_SIN, BODY_CUBE], F),
                   Pattern(np.array(-3), [BODY_SIN, BODY_CUBE, BODY_SIN], SG), Pattern(np.array(True), [BODY_SIN], G),
                   Pattern(np.array(1.0), [BODY_SIN, BODY_CUBE], G), Pattern(np.int32(1), [BODY_SIN, BODY_CUBE], G)]
    halve = Fn(lambda lax, np: lambda v: v * 0.5, "v*0.5")
    t["while_loop"] = [Pattern(Fn(lambda lax, np: lambda v: np.sum(np.abs(v)) > 0.1, "|v|>0.1"), halve, G),
                       Pattern(Fn(lambda lax, np: lambda v: v > 1.0, "v>1"), halve, np.array(37.0)),
                       Pattern(Fn(lambda lax, np: lambda v: v[0] < 10, "v0<10"),
                               Fn(lambda lax, np: lambda v: v * 2, "v*2"), I64[2:4]),
                       Pattern(Fn(lambda lax, np: lambda v: 1, "1"), halve, SG)]
    t["fori_loop"] = [Pattern(0, 3, Fn(lambda lax, np: lambda i, v: v * np.sin(v) + i, "v*sin(v)+i"), G),
                      Pattern(np.array(1), np.array(4), Fn(lambda lax, np: lambda i, v: v + i, "v+i"), SG),
                      Pattern(2, 0, Fn(lambda lax, np: lambda i, v: v + i, "v+i"), G),
                      Pattern(0, np.int32(2), Fn(lambda lax, np: lambda i, v: v + i, "v+i"), I32)]
    step = Fn(lambda lax, np: lambda c, x: (c * x + 1.0, np.sin(c) * x), "c*x+1, sin(c)*x")
    t["scan"] = [Pattern(step, SG, G), Pattern(step, np.array(1.0), GM), Pattern(step, SG, G, reverse=True),
                 Pattern(step, SG, E), Pattern(Fn(lambda lax, np: lambda c, x: (c + 1.0, c), "c+1, c"), SG, None, 3),
                 Pattern(Fn(lambda lax, np: lambda c, x: (c + x, c), "c+x, c"), SG, I64)]
    t["map"] = [Pattern(Fn(lambda lax, np: lambda x: np.sum(x * x), "sum(x*x)"), GM),
                Pattern(Fn(lambda lax, np: lambda x: x * 2, "x*2"), F),
                Pattern(Fn(lambda lax, np: lambda x: x + 1, "x+1"), E),
                Pattern(Fn(lambda lax, np: lambda x: x * 2, "x*2"), GM, batch_size=1)]
    t["custom_root"] = [Pattern(Fn(lambda lax, np: lambda x: x ** 2 - 2.0, "x**2-2"), SG,
                                Fn(lambda lax, np: _newton, "newton"),
                                Fn(lambda lax, np: lambda g, y: y / g(1.0), "y/g(1)"))]
    t["custom_linear_solve"] = [Pattern(Fn(lambda lax, np: lambda x: np.array(SPD) @ x, "A@x"), G[:2],
                                        Fn(lambda lax, np: lambda mv, b: np.linalg.solve(np.array(SPD), b), "solve"),
                                        symmetric=True)]
    return t


SPD = [[2.0, 1.0], [1.0, 3.0]]


def _newton(f, x0):
    x = x0
    for _ in range(30):
        x = x - f(x) / (2 * x)
    return x


_TABLE: dict[str, list[Pattern]] | None = None


def patterns(name: str) -> list[Pattern]:
    global _TABLE
    if _TABLE is None:
        _TABLE = _table()
        for n, ps in _TABLE.items():
            for p in ps:
                p.name = n
    return _TABLE.get(name, [])


# -- comparison -------------------------------------------------------------------------------------
def _leaves(x):
    return jax.tree_util.tree_leaves(x, is_leaf=lambda v: isinstance(v, cr.Tensor))


def _plain(x) -> np.ndarray:
    return np.asarray(getattr(x, "value", x) if isinstance(x, cr.Tensor) else x)


def _structure(x):
    """The pytree structure, a named tuple's as a tuple's (each library has its own class)."""
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        x = tuple(x)
    return jax.tree_util.tree_structure(jax.tree_util.tree_map(lambda _: 0, x, is_leaf=lambda v: isinstance(
        v, cr.Tensor)))


def _same_array(a: np.ndarray, b: np.ndarray, strict, rtol: float, atol: float) -> str | None:
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    if a.dtype != b.dtype:
        return f"dtype {a.dtype} != {b.dtype}"
    if a.dtype.kind not in "fc":
        return None if np.array_equal(a, b) else "values"
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return "NaN positions"
    finite = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(a[~finite & ~np.isnan(a)], b[~finite & ~np.isnan(b)]) or not np.array_equal(
            np.isfinite(a), np.isfinite(b)):
        return "infinities"
    x, y = a[finite].astype(np.float64), b[finite].astype(np.float64)
    if strict and not np.array_equal(np.signbit(x[x == 0]), np.signbit(y[x == 0])):
        return "sign of zero"
    if strict == "exact":
        return None if np.array_equal(x, y) else "values (not bit for bit)"
    if a.dtype == np.float32 or b.dtype == np.float32:
        rtol = max(rtol, 1e-6)
    bad = np.abs(x - y) > rtol * np.maximum(np.abs(x), np.abs(y)) + atol
    return f"values {x[bad][:3]} != {y[bad][:3]}" if bad.any() else None


def compare(got, want, strict=True, rtol: float = RTOL, atol: float = 1e-300) -> str | None:
    """Why ``got`` (chainrule's) differs from ``want`` (the oracle's), or None: ``strict``
    True compares the signs of zeros too, "exact" every bit; float32 to 1e-6."""
    if isinstance(want, Exception) or isinstance(got, Exception):
        if isinstance(want, Exception) and isinstance(got, Exception):
            g, w = _exception_base(type(got)), _exception_base(type(want))  # (ConcretizationTypeError: TypeError)
            return None if g is w else f"raises {g.__name__}, oracle {w.__name__}"
        if isinstance(got, Exception):
            return f"raises {type(got).__name__}: {str(got)[:100]}"
        return f"answers, oracle raises {type(want).__name__}: {str(want)[:100]}"
    if _structure(got) != _structure(want):
        return f"structure {_structure(got)} != {_structure(want)}"
    for k, (g, w) in enumerate(zip(_leaves(got), _leaves(want), strict=True)):
        why = _same_array(_plain(g), np.asarray(w), strict, rtol, atol)
        if why:
            return f"[{k}] {why}" if len(_leaves(want)) > 1 else why
    return None


# -- the checks -------------------------------------------------------------------------------------
def _second(x: np.ndarray) -> np.ndarray:
    """A second example made of ``x``: rolled by one (0-d: negated, flipped, one more)."""
    if x.ndim:
        return np.roll(x.ravel(), 1).reshape(x.shape)
    if x.dtype.kind == "b":
        return ~x
    return x + 1 if x.dtype.kind in "iu" else -x


def _weights(out) -> list[np.ndarray]:
    return [np.cos(np.arange(np.size(o), dtype=float) + 1.0).reshape(np.shape(o)) for o in out]


def _float_leaves(out) -> list:
    return [o for o in _leaves(out) if np.dtype(o.dtype).kind == "f"]


def _weighted(npm, fun, weights):
    def total(*xs):
        return sum(npm.sum(o * w) for o, w in zip(_float_leaves(fun(*xs)), weights, strict=True))
    return total


def _in(fun, operands, floats):
    """``fun`` as a function of its float operands only, the others fixed."""
    def partial(*xs):
        full = list(operands)
        for k, x in zip(floats, xs, strict=True):
            full[k] = x
        return fun(*full)
    return partial


ASPECTS = ("value", "jit", "vmap0", "vmap1", "jvp", "vjp")


def check(name: str, pattern: Pattern, aspects=ASPECTS) -> list[str]:
    """Every way chainrule's call of ``name`` on ``pattern`` differs from JAX's, among
    ``aspects``: "value", "jit", "vmap0", "vmap1", "jvp", "vjp", each with the reason."""
    rtol = SPECIAL_RTOL if name in ("lgamma", "digamma", "erf_inv", "erf", "erfc") else RTOL
    jfun, cfun = pattern.bind(jlax, jnp), pattern.bind(clax, cnp)
    ops = pattern.operands()
    out = []
    got, want = _quiet(lambda: cfun(*ops)), _quiet(lambda: jfun(*ops))
    why = compare(got, want, rtol=rtol)
    if why and "value" in aspects:
        out.append(f"value: {why}")
    why = "jit" in aspects and compare(_quiet(lambda: cr.jit(cfun)(*ops)), got, strict="exact")
    if why:
        out.append(f"jit: {why}")
    for axis in [a for a in (0, 1) if f"vmap{a}" in aspects] if ops else ():
        axes = [axis if axis < x.ndim + 1 else 0 for x in ops]
        if axis and not any(axes):
            continue
        batched = [np.stack([x, _second(x)], axis=a) for x, a in zip(ops, axes, strict=True)]
        why = compare(_quiet(lambda axes=axes, b=batched: cr.vmap(cfun, in_axes=axes)(*b)),
                      _quiet(lambda axes=axes, b=batched: jax.vmap(jfun, in_axes=axes)(*b)), rtol=rtol)
        if why:
            out.append(f"vmap{axis}: {why}")
    floats = [k for k, x in enumerate(ops) if x.dtype.kind == "f"]
    differentiable = floats and not isinstance(want, Exception) and not isinstance(got, Exception)
    if {"jvp", "vjp"} & set(aspects) and differentiable and _float_leaves(want):
        if any(np.dtype(o.dtype) == np.float32 for o in _float_leaves(want)):
            rtol = max(rtol, 1e-6)  # (JAX's cotangent rounded to float32 on its way back, chainrule's not)
        primals = [ops[k] for k in floats]
        tangents = [np.sin(np.arange(x.size, dtype=float) + 2.0).reshape(x.shape) for x in primals]
        why = "jvp" in aspects and compare(
            _quiet(lambda: _float_leaves(cr.jvp(_in(cfun, ops, floats), primals, tangents)[1])),
            _quiet(lambda: _float_leaves(jax.jvp(_in(jfun, ops, floats), primals, tangents)[1])),
            strict=False, rtol=rtol, atol=DERIVATIVE_ATOL)
        if why and "jvp" in aspects:
            out.append(f"jvp: {why}")
        if "vjp" not in aspects:
            return out
        weights = _weights(_float_leaves(want))
        argnums = tuple(range(len(floats)))
        why = compare(_quiet(lambda: cr.grad(_weighted(cnp, _in(cfun, ops, floats), weights), argnums)(*primals)),
                      _quiet(lambda: jax.grad(_weighted(jnp, _in(jfun, ops, floats), weights), argnums)(*primals)),
                      strict=False, rtol=rtol, atol=DERIVATIVE_ATOL)
        if why:
            out.append(f"vjp: {why}")
    return out


def sweep(selected=None) -> list[tuple[str, str, str]]:
    """Every disagreement: (name, pattern text, what and why)."""
    rows = []
    for name in selected or names():
        for pattern in patterns(name):
            rows.extend((name, str(pattern), why) for why in check(name, pattern))
    return rows


if __name__ == "__main__":
    for chosen in sys.argv[1:] or names():
        for row in sweep([chosen]):
            print(" | ".join(row), flush=True)
