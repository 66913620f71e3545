"""The engine of the sweep of ``cr.vmap`` over every function that ``chainrule.numpy`` and
``jax.numpy`` (and ``chainrule.scipy.special`` and ``jax.scipy.special``) both expose:
each is called under vmap on a table of argument patterns (batch axes 0, 1, -1 and
``None``, batches of 1 and 3 examples, 0-d examples, ``out_axes`` 1 and -1) in float64,
with values that flip branches (signed zeros, ties, NaN, infinities).

Oracles: chainrule's own unbatched call run once per example and stacked (the batched
result must equal it bit for bit, sign of zero and NaN positions included, with its
dtype and shape, or raise what the loop raises), and ``jax.vmap`` of the JAX function on
the same data (where chainrule's loop gives JAX's answer, so does vmap; where JAX raises,
chainrule raises the same class). On smooth data, ``vmap(grad(sum of f * weights))`` and
``vmap(jacfwd(f))`` agree with JAX's.

``python tests/transforms/vmap_sweep.py FILE [NAME ...]`` writes every disagreement of the
full table (``--values``: JAX only where the loop disagrees, not for the derivatives;
``--loop``: the loop the only oracle; ``-p0/2``: every second name, from the first)."""

from __future__ import annotations

import inspect
import math
import sys
import warnings

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import jax.scipy.special as jss  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402
import chainrule.scipy.special as css  # noqa: E402

NAMESPACES = {"np": (jnp, cnp), "special": (jss, css)}  # group: (JAX's namespace, chainrule's)

# names not called: they take no arrays to map over, or functions, dtypes, or strings
SKIPPED = {
    "apply_along_axis", "apply_over_axes", "piecewise", "can_cast", "promote_types", "result_type",
    "issubdtype", "isscalar", "iscomplexobj", "isrealobj", "ndim", "shape", "size", "full", "linspace",
    "logspace", "geomspace", "empty_like", "array", "asarray", "einsum", "bernoulli", "astype", "vectorize",
    "printoptions",
}


def _public(module) -> set[str]:
    return {n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n, None))
            and not inspect.isclass(getattr(module, n)) and not inspect.ismodule(getattr(module, n))}


def names() -> list[tuple[str, str]]:
    """(group, name) of every function both libraries expose, less SKIPPED. chainrule's
    names are asked for one by one (``hasattr``), not read from ``dir``: a module that
    hands NumPy's other functions out on first use lists them only once some program has
    used them, and the table would depend on the tests run before."""
    return [(g, n) for g, (j, c) in NAMESPACES.items() for n in sorted(_public(j))
            if n not in SKIPPED and _public_function(c, n)]


def _public_function(module, name: str) -> bool:
    value = getattr(module, name, None)
    return callable(value) and not inspect.isclass(value) and not inspect.ismodule(value)


nan, inf = math.nan, math.inf
# values that flip branches: signed zeros, ties, NaN, infinities, and small integers as floats
SPECIAL = np.array([0.5, -0.0, 1.5, 0.0, -2.25, 0.5, nan, 3.0, -1.0, 1.5, inf, 2.0, -0.0, -inf, 1.0, 0.25])
EXAMPLES = {"S": (), "V": (4,), "M": (2, 4), "Q": (3, 3), "W": (3,), "I": (4,), "B": (4,)}


class A(str):
    """An array argument: an example shape of EXAMPLES, batched along an axis of the pattern."""


def data(spec: str, size: int, kind: str, seed: int) -> np.ndarray:
    """A batch of ``size`` examples of ``spec`` (batch axis first): ``kind`` "special" takes
    values of SPECIAL, "smooth" finite values away from ties and zeros."""
    shape = (size, *EXAMPLES[spec])
    n = math.prod(shape)
    if spec == "I":
        return ((np.arange(n) * 7 + seed) % 4).reshape(shape)
    if spec == "B":
        return ((np.arange(n) * 5 + seed) % 3 == 0).reshape(shape)
    if kind == "special":
        return np.roll(np.resize(SPECIAL, n), seed).reshape(shape)
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.2, 0.9, n) * rng.choice([-1.0, 1.0], n) + rng.uniform(0, 0.05, n)).reshape(shape)


class Pattern:
    """Arguments (A for arrays, other values passed as they are), keyword arguments, the
    batch axis of each array argument (None: one example for every member of the batch),
    ``out_axes``, the batch size and the kind of data."""

    def __init__(self, args, kwargs=None, in_axes=0, out_axes=0, size=3, kind="special"):
        self.args, self.kwargs, self.out_axes, self.size, self.kind = tuple(args), kwargs or {}, out_axes, size, kind
        arrays = [a for a in self.args if isinstance(a, A)]
        self.in_axes = tuple(in_axes) if isinstance(in_axes, tuple) else (in_axes,) * len(arrays)

    def __str__(self):
        arrays = iter(self.in_axes)
        parts = [f"{a}@{next(arrays)}" if isinstance(a, A) else repr(a) for a in self.args]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        extra = [f"n={self.size}", self.kind] + ([f"out_axes={self.out_axes}"] if self.out_axes else [])
        return ", ".join(parts) + " | " + " ".join(extra)

    def arrays(self):
        """The array arguments as given to vmap (each batch axis where in_axes says), and
        as the examples of the loop see them (batch first, or one shared example)."""
        given, batches = [], []
        for k, (a, ax) in enumerate(zip([a for a in self.args if isinstance(a, A)], self.in_axes, strict=True)):
            b = data(a, self.size, self.kind, 3 * k + 1)
            if ax is None:
                given.append(b[0])
                batches.append(None)
                continue
            given.append(np.moveaxis(b, 0, ax))
            batches.append(b)
        return given, batches

    def bind(self, fun):
        """``fun`` as a function of the array arguments only."""
        def bound(*arrays):
            it = iter(arrays)
            return fun(*[next(it) if isinstance(a, A) else a for a in self.args], **self.kwargs)
        return bound

    @property
    def arity(self) -> int:
        return len(self.args)


def _p(*args, in_axes=0, out_axes=0, size=3, kind="special", **kwargs):
    return Pattern(args, kwargs, in_axes, out_axes, size, kind)


S, V, M, Q, W, I, B = (A(n) for n in "SVMQWIB")
UNARY = [
    _p(V), _p(S), _p(M, in_axes=1), _p(M, in_axes=-1, size=1, out_axes=-1), _p(Q, kind="smooth"),
    _p(M, kind="smooth", out_axes=1), _p(V, kind="smooth"), _p(S, kind="smooth", size=1),
]
AXIS = [  # for functions with an axis parameter
    _p(M, axis=0), _p(M, axis=-1, in_axes=1), _p(M, axis=1, kind="smooth"), _p(M, axis=None, in_axes=-1),
]
KEEPDIMS = [_p(M, axis=0, keepdims=True, in_axes=1, kind="smooth"), _p(M, axis=None, keepdims=True)]
BINARY = [
    _p(M, V, in_axes=(0, None)), _p(V, M, in_axes=(None, 1)), _p(S, V, in_axes=(0, 0)), _p(V, S, in_axes=(-1, 0)),
    _p(M, M, in_axes=(1, 0), kind="smooth"), _p(V, V, kind="smooth", out_axes=-1),
    _p(Q, W, in_axes=(0, None), kind="smooth"), _p(Q, Q, in_axes=(None, 0), kind="smooth"), _p(V, I), _p(M, 1),
    _p(V, 2, size=1), _p(M, -1, kind="smooth"), _p(S, S, size=1, kind="smooth"),
]
TERNARY = [_p(B, V, S, in_axes=(0, None, 0)), _p(V, S, S, in_axes=(0, None, 0), kind="smooth"),
           _p(M, V, V, in_axes=(1, None, 0)), _p(V, V, V, kind="smooth")]


def _kwargs_of(fn) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def arities(fn) -> set[int]:
    """How many positional arguments ``fn`` takes."""
    nin = getattr(fn, "nin", None)
    if isinstance(nin, int):
        return {nin}
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return {1, 2}
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return {1, 2, 3}
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(p.default is p.empty for p in pos)
    return set(range(max(required, 1), min(len(pos), 3) + 1))


def patterns(group: str, name: str) -> list[Pattern]:
    jfun = getattr(NAMESPACES[group][0], name)
    n = arities(jfun)
    keywords = _kwargs_of(jfun)
    out = [p for table, k in ((UNARY, 1), (BINARY, 2), (TERNARY, 3)) if k in n for p in table]
    if "axis" in keywords:
        out += AXIS + (KEEPDIMS if "keepdims" in keywords else [])
    return out


# -- calling and comparing --------------------------------------------------------------------
def _exception_base(cls):
    return next(c for c in cls.__mro__ if c.__module__ == "builtins")


_TRACING = tuple(getattr(jax.errors, n) for n in (
    "ConcretizationTypeError", "TracerBoolConversionError", "TracerIntegerConversionError",
    "NonConcreteBooleanIndexError", "TracerArrayConversionError"))


def _quiet(call):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return call()
        except Exception as e:  # noqa: BLE001 (the exception is the result)
            return e


def _leaves(x) -> list:
    if isinstance(x, tuple | list):
        return [v for item in x for v in _leaves(item)]
    return [x]


def _plain(x):
    if isinstance(x, cr.Tensor):
        x = x.numpy()
    return np.asarray(x)


def _structure(x):
    if isinstance(x, tuple | list):
        return tuple(_structure(v) for v in x)
    return "leaf"


def _same_array(a, b, strict: bool) -> str | None:
    """Why array ``a`` differs from ``b``: shape, dtype, NaN positions, the sign of zero
    (``strict``), values (bit for bit if ``strict``, else to 1e-9)."""
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    if strict and a.dtype != b.dtype or not strict and a.dtype.kind != b.dtype.kind and not (
            {a.dtype.kind, b.dtype.kind} <= {"i", "u"}):
        return f"dtype {a.dtype} != {b.dtype}"
    if a.dtype.kind == "c":
        return _same_array(a.real, b.real, strict) or _same_array(a.imag, b.imag, strict)
    if a.dtype.kind == "f":
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            return "NaN positions"
        ok = ~np.isnan(b)
        if strict and not np.array_equal(np.signbit(a[ok]), np.signbit(b[ok])):
            return "sign of zero" if np.array_equal(a[ok], b[ok]) else "values"
        tol = 1e-13 if strict else 1e-9
        with np.errstate(all="ignore"):
            if not np.allclose(a[ok], b[ok], rtol=tol, atol=tol * 1e-3):
                return "values"
        return None
    return None if np.array_equal(a, b) else "values"


def compare(got, want, strict: bool) -> str | None:
    """Why ``got`` differs from ``want`` (results or exceptions), or None."""
    if isinstance(want, Exception):
        if isinstance(got, Exception):
            base = _exception_base(type(want))
            return None if isinstance(got, base) else f"raises {type(got).__name__}, oracle {type(want).__name__}"
        return f"returns, oracle raises {type(want).__name__}"
    if isinstance(got, Exception):
        return f"raises {type(got).__name__}: {str(got)[:80]}"
    if want is None or got is None:
        return None if got is want else f"{got!r} != {want!r}"
    if _structure(got) != _structure(want):
        return f"structure {_structure(got)} != {_structure(want)}"
    for k, (g, w) in enumerate(zip(_leaves(got), _leaves(want), strict=True)):
        why = _same_array(_plain(g), _plain(w), strict)
        if why:
            return (f"[{k}] " if isinstance(want, tuple | list) else "") + why
    return None


def _stack(results, out_axes):
    if isinstance(results[0], tuple | list):
        return type(results[0])(_stack([r[k] for r in results], out_axes) for k in range(len(results[0])))
    return np.moveaxis(np.stack([_plain(r) for r in results]), 0, out_axes)


def loop(fun, pattern: Pattern, batches, given):
    """chainrule's unbatched call once per example, stacked along ``out_axes``."""
    results = []
    for b in range(pattern.size):
        args = [g if batch is None else batch[b] for g, batch in zip(given, batches, strict=True)]
        results.append(fun(*args))
    return None if all(r is None for r in results) else _stack(results, pattern.out_axes)


def _weights(out):
    return [np.cos(np.arange(math.prod(np.shape(o)), dtype=float) + 1.0).reshape(np.shape(o)) for o in _leaves(out)]


def _scalar(lib, fun, weights):
    def total(*args):
        out = _leaves(fun(*args))
        return sum(lib.sum(o * w) for o, w in zip(out, weights, strict=True))
    return total


def _stack_loop(fun, pattern: Pattern, batches, given):
    """``fun`` once per example, results stacked along axis 0."""
    results = []
    for b in range(pattern.size):
        results.append(fun(*[g if batch is None else batch[b] for g, batch in zip(given, batches, strict=True)]))
    return _stack(results, 0)


def check_gradients(pattern: Pattern, jfun, cfun, given, batches, example, with_jax) -> str | None:
    """vmap(grad(sum of f * weights)) and vmap(jacfwd(f)) in the float array arguments:
    chainrule's unbatched derivatives once per example (and JAX's, ``with_jax``) the oracle."""
    floats = tuple(k for k, g in enumerate(given) if np.asarray(g).dtype.kind == "f")
    if not floats:
        return None
    weights = _weights(example)
    transforms = [("grad", cr.grad(_scalar(cnp, cfun, weights), argnums=floats),
                   jax.grad(_scalar(jnp, jfun, weights), argnums=floats))]
    if not isinstance(example, tuple | list) and len(floats) == len(given):
        transforms.append(("jacfwd", cr.jacfwd(cfun), jax.jacfwd(jfun)))
    first = [g if b is None else b[0] for g, b in zip(given, batches, strict=True)]
    for what, mine, theirs in transforms:
        got = _quiet(lambda mine=mine: cr.vmap(mine, in_axes=pattern.in_axes)(*given))
        looped = _quiet(lambda mine=mine: _stack_loop(mine, pattern, batches, given))
        if isinstance(looped, Exception):
            continue
        why = compare(got, looped, strict=False)
        if why:
            return f"{what} vs loop: {why}"
        if with_jax == "all" and what == "grad":
            want = _quiet(lambda theirs=theirs: jax.vmap(theirs, in_axes=pattern.in_axes)(*given))
            if not isinstance(want, Exception) and compare(got, want, strict=False) and compare(
                    _quiet(lambda mine=mine: mine(*first)), _quiet(lambda theirs=theirs: theirs(*first)), strict=False
            ) is None:  # (where the derivative of one example differs already, not vmap's)
                return f"{what} vs JAX: {compare(got, want, strict=False)}"
    return None


def check(group: str, name: str, pattern: Pattern, with_jax: bool = True) -> str | None:
    """Why ``cr.vmap`` of ``name`` on ``pattern`` disagrees with its oracles, or None
    (``with_jax`` False: chainrule's loop the only oracle)."""
    jmod, cmod = NAMESPACES[group]
    jfun, cfun = pattern.bind(getattr(jmod, name)), pattern.bind(getattr(cmod, name))
    given, batches = pattern.arrays()
    first = [g if b is None else b[0] for g, b in zip(given, batches, strict=True)]
    got = _quiet(lambda: cr.vmap(cfun, in_axes=pattern.in_axes, out_axes=pattern.out_axes)(*given))
    mine = _quiet(lambda: loop(cfun, pattern, batches, given))
    why = compare(got, mine, strict=True)
    if why and isinstance(mine, Exception) != isinstance(got, Exception):
        traced = _quiet(lambda: cr.jit(cfun)(*first))
        if isinstance(traced, Exception) == isinstance(got, Exception) and (
                not isinstance(got, Exception) or type(traced) is type(got)):
            return None  # NumPy on plain arrays and chainrule's traced path differ, with or without vmap
    if why:
        if not with_jax:
            return "vs loop: " + why
        want = _quiet(lambda: jax.vmap(jfun, in_axes=pattern.in_axes, out_axes=pattern.out_axes)(*given))
        if isinstance(got, Exception) and isinstance(want, Exception):
            # vmap refuses as JAX does (a value-dependent shape, a batched axis), with its class
            if not isinstance(mine, Exception) or compare(got, want, strict=False) is None or compare(
                    mine, want, strict=False):  # (or the unbatched call raises another class already)
                return None
            return "vs JAX: " + compare(got, want, strict=False)
        if isinstance(mine, Exception) and compare(got, want, strict=False) is None:
            return None  # NumPy refuses plain arrays (the loop) where JAX and chainrule's Tensors accept
        return "vs loop: " + why
    if pattern.kind == "smooth" and not isinstance(got, Exception):
        example = _quiet(lambda: cfun(*first))
        if not isinstance(example, Exception) and all(_plain(o).dtype.kind == "f" for o in _leaves(example)):
            return check_gradients(pattern, jfun, cfun, given, batches, example, with_jax)
    return None


def sweep(selected=None, pick=None, with_jax=True):
    """Every disagreement: (group, name, pattern text, why); ``pick(name, patterns)`` chooses
    which patterns of a name to call (all of them by default)."""
    out = []
    for group, name in selected or names():
        table = patterns(group, name)
        for pattern in (pick(name, table) if pick else table):
            why = check(group, name, pattern, with_jax)
            if why:
                out.append((group, name, str(pattern), why))
    return out


if __name__ == "__main__":
    count, selected = 0, [a for a in sys.argv[2:] if not a.startswith("-")]
    part, parts = map(int, next((a[2:] for a in sys.argv if a.startswith("-p")), "0/1").split("/"))
    with open(sys.argv[1], "w") as f:
        for group, name in names()[part::parts]:
            if not selected or name in selected:
                for row in sweep([(group, name)], with_jax="--loop" not in sys.argv and (
                        "values" if "--values" in sys.argv else "all")):
                    f.write(" | ".join(row) + "\n")
                    f.flush()
                    count += 1
                jax.clear_caches()
    print(count, "disagreements in", len(names()), "names")
