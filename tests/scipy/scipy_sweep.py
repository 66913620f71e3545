"""The engine of the sweep of ``chainrule.scipy.special`` and ``chainrule.scipy.stats``
against SciPy (values) and JAX's ``jax.scipy`` (gradients; HIPS autograd's
``autograd.scipy`` where JAX lacks a name, central differences where both do).

Every function chainrule exposes is called with each argument in turn set to a vector of
ordinary and special values (signed zeros, integers at the poles of the gamma function,
1e3, 1e300, the smallest subnormal, infinities, NaN, the ends of [0, 1]) and the others at
an ordinary value of their range, on grids of special values in two arguments at once
(broadcast against each other), on scalars, 0-d, empty and integer arrays, and on
arguments of broadcasting shapes. A call agrees with SciPy's when both raise (chainrule
the class SciPy raises, or a subclass) or both give results of one kind (array or NumPy
scalar), shape and dtype, with the same NaN and infinite entries and the other values
within 1e-10 relative to SciPy's. Gradients of the sum are compared entry by entry where
SciPy's value and the arguments are finite: to the oracle library's within 1e-7, or,
where that library differs or has no answer, to central differences of SciPy's function
within 1e-5.

``python tests/scipy/scipy_sweep.py FILE`` writes every disagreement of the full table."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import scipy.special as sc_special
import scipy.stats as sc_stats

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy import special as cr_special
from chainrule.scipy import stats as cr_stats

jax = jnp = jax_special = jax_stats = None  # imported on first use (seconds): see _load_jax


def _load_jax() -> bool:
    """Import JAX (with float64) on first use; False where it is not installed (the
    oracles are optional: central differences remain)."""
    global jax, jnp, jax_special, jax_stats
    if jax is None:
        try:
            import jax as jax_module
            import jax.numpy as jnp
            import jax.scipy.special as jax_special
            import jax.scipy.stats as jax_stats
        except ImportError:
            return False
        jax_module.config.update("jax_enable_x64", True)
        jax = jax_module
    return True


try:
    import autograd
    import autograd.numpy as anp
    import autograd.scipy.special as ag_special
    import autograd.scipy.stats as ag_stats
except ImportError:
    autograd = None

nan, inf = math.nan, math.inf

# functions that are not elementwise: called on the patterns of REDUCTION_PATTERNS only
ORACLES = ["jax", "autograd"]  # the libraries whose gradients are compared, in order of preference
REDUCTIONS = {"special.logsumexp", "special.softmax", "special.log_softmax", "stats.dirichlet.logpdf",
              "stats.dirichlet.pdf", "stats.multinomial.logpmf", "stats.multinomial.pmf",
              "stats.multivariate_normal.logpdf", "stats.multivariate_normal.pdf",
              "stats.multivariate_normal.entropy"}

# ordinary values of the arguments of special functions, inside their domains
SPECIAL_BASE = {
    "gamma": (1.7,), "gammaln": (1.7,), "digamma": (1.7,), "psi": (1.7,), "rgamma": (1.7,), "gammasgn": (1.7,),
    "polygamma": (1.0, 1.7), "multigammaln": (3.1, 2), "beta": (1.7, 2.3), "betaln": (1.7, 2.3),
    "gammainc": (1.7, 0.9), "gammaincc": (1.7, 0.9), "betainc": (1.5, 2.5, 0.3), "betaincc": (1.5, 2.5, 0.3),
    "erf": (0.3,), "erfc": (0.3,), "erfinv": (0.3,), "erfcinv": (0.7,), "erfcx": (0.3,), "ndtr": (0.3,),
    "log_ndtr": (0.3,), "ndtri": (0.3,), "expit": (0.3,), "logit": (0.3,), "log_expit": (0.3,),
    "xlogy": (1.3, 0.7), "xlog1py": (1.3, 0.7), "entr": (0.7,), "rel_entr": (0.7, 1.3), "kl_div": (0.7, 1.3),
    "zeta": (2.5, 1.3), "i0": (0.7,), "i1": (0.7,), "i0e": (0.7,), "i1e": (0.7,), "iv": (1.5, 0.7),
    "ive": (1.5, 0.7), "j0": (0.7,), "j1": (0.7,), "jv": (1.5, 0.7), "jn": (2.0, 0.7), "y0": (0.7,),
    "y1": (0.7,), "yv": (1.5, 0.7), "yn": (2.0, 0.7), "k0": (0.7,), "k1": (0.7,), "kv": (1.5, 0.7),
    "stdtr": (3.5, 0.3), "pdtr": (3.0, 1.3),
}
# shape parameters of the distributions, then their first argument (x, q or k) where not 0.7, 0.3 or 2.0
SHAPES = {"beta": (1.7, 2.3), "chi2": (3.5,), "gamma": (1.7,), "gennorm": (1.5,), "pareto": (2.5,), "t": (3.5,),
          "truncnorm": (-0.5, 1.5), "vonmises": (1.3,), "wrapcauchy": (0.4,), "bernoulli": (0.3,),
          "binom": (5.0, 0.3), "nbinom": (2.5, 0.4), "geom": (0.3,), "betabinom": (5.0, 1.7, 2.3),
          "poisson": (2.5,)}
FIRST = {"pareto": 2.0, "bernoulli": 1.0, "poisson.entropy": 2.5}
DISCRETE = {"bernoulli", "binom", "nbinom", "geom", "betabinom", "poisson"}
# arguments with no derivative (integers: orders, counts, the count of trials, the shift of a
# count): name -> their positions
INTEGER_ARGUMENTS = {"special.polygamma": {0}, "special.multigammaln": {1}, "special.yn": {0}, "special.pdtr": {0},
                     **{f"stats.{d}.{f}": {0, len(SHAPES[d]) + 1} | ({1} if d in ("binom", "betabinom") else set())
                        for d in DISCRETE for f in ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf")}}
# arguments held at their ordinary value (SciPy takes only a Python integer there)
STATIC_ARGUMENTS = {"special.multigammaln": {1}}
# arguments whose values stay below 1e3 (SciPy's yn recurs n times: minutes at n = 1e300)
# (and SciPy's poisson.entropy sums its series: minutes too)
BOUNDED_ARGUMENTS = {"special.yn": {0}, "stats.poisson.entropy": {0}}

VALUES = np.array([-2.5, -1.3, -0.5, 0.2, 0.7, 1.6, 3.1,  # ordinary
                   0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, -2.0, -3.0,  # edges, and poles of the gamma function
                   1e3, -1e3, 1e300, -1e300, 40.0, -40.0, 1e-300, -1e-300, 5e-324, 1e-10,  # large and tiny
                   1e-3, 0.999, 1e-12, 1 - 1e-12, inf, -inf, nan])  # the ends of [0, 1]; not finite
GRID = np.array([-inf, -1.0, -0.0, 0.0, 1e-300, 0.5, 1.0, 2.5, 1e300, inf, nan])


def names() -> list[str]:
    """Every function of chainrule.scipy.special and of the distributions of
    chainrule.scipy.stats, as "special.NAME" and "stats.DISTRIBUTION.NAME"."""
    out = [f"special.{n}" for n in cr_special.__all__]
    return out + [f"stats.{d}.{f}" for d in cr_stats.__all__ for f in getattr(cr_stats, d).__all__]


def function(name: str, library: str):
    """``name`` in ``library`` ("chainrule", "scipy", "jax", "autograd"), None where it lacks it."""
    group, *path = name.split(".")
    module = {("chainrule", "special"): cr_special, ("chainrule", "stats"): cr_stats,
              ("scipy", "special"): sc_special, ("scipy", "stats"): sc_stats}.get((library, group))
    if library == "jax" and _load_jax():
        module = jax_special if group == "special" else jax_stats
    if library == "autograd" and autograd is not None:
        module = ag_special if group == "special" else ag_stats
    for part in path:
        module = getattr(module, part, None)
    return module


def base(name: str) -> tuple:
    """Ordinary values of the arguments of ``name``, all of them positional."""
    group, *path = name.split(".")
    if group == "special":
        return SPECIAL_BASE[path[0]]
    distribution, f = path
    shapes = SHAPES.get(distribution, ())
    if f == "entropy":
        return (FIRST[name[6:]], 0.0)
    first = 0.3 if f in ("ppf", "isf") else FIRST.get(distribution, 2.0 if distribution in DISCRETE else 0.7)
    return (first, *shapes, 0.0) if distribution in DISCRETE else (first, *shapes, 0.2, 1.3)


class Pattern:
    """A call: its arguments, a text that names it, and whether gradients are compared
    entry by entry (``elementwise``: the oracles' with the arguments broadcast to the
    result's shape; ``summed``: those summed back to the arguments' shapes, to compare
    chainrule's gradients in arguments of broadcasting shapes)."""

    def __init__(self, text, args, gradients=True, elementwise=True, summed=False):
        self.text, self.args, self.gradients = text, tuple(args), gradients
        self.elementwise, self.summed = elementwise, summed


def _replaced(args, changes):
    return tuple(changes.get(i, a) for i, a in enumerate(args))


def patterns(name: str) -> list[Pattern]:
    """The calls of ``name`` swept."""
    if name in REDUCTIONS:
        return REDUCTION_PATTERNS[name]
    args = base(name)
    static = STATIC_ARGUMENTS.get(name, set())
    free = [i for i in range(len(args)) if i not in static]
    bounded = BOUNDED_ARGUMENTS.get(name, set())
    values = {i: np.where(np.abs(VALUES) >= 1e3, 40.0, VALUES) if i in bounded else VALUES for i in free}
    grid = {i: np.where(np.abs(GRID) >= 1e3, 40.0, GRID) if i in bounded else GRID for i in free}
    out = [Pattern(f"arg {i}: VALUES", _replaced(args, {i: values[i]})) for i in free]
    out += [Pattern(f"args {i}, {j}: GRID", _replaced(args, {i: grid[i][:, None], j: grid[j][None, :]}))
            for i in free for j in free if i < j]
    out += [Pattern("scalars", args), Pattern("0-d", _replaced(args, {i: np.array(args[i]) for i in free})),
            Pattern("empty", _replaced(args, {free[0]: np.zeros(0)}), gradients=False)]
    out += [Pattern(f"arg {i}: int", _replaced(args, {i: np.array([0, 1, 2, 5])}), gradients=False) for i in free]
    shaped = {i: np.asarray(args[i]) * (np.array([[1.0], [1.1]]) if i == free[0] else np.array([1.0, 1.05, 1.1]))
              for i in free if not float(args[i]).is_integer() or i > 0}
    out.append(Pattern("broadcast (2, 1) with (3,)", _replaced(args, shaped), summed=True))
    return out


_SPD = np.array([[2.0, 0.3], [0.3, 1.0]])
REDUCTION_PATTERNS = {
    **{f"special.{n}": [
        Pattern("M", (np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -0.0]]),), elementwise=False),
        Pattern("M, axis=0", (np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -0.0]]), 0), elementwise=False),
        Pattern("V with -inf", (np.array([-inf, 1.0, 2.0]), -1), elementwise=False),
        Pattern("V all -inf", (np.array([-inf, -inf]), -1), gradients=False),
        Pattern("V with inf, nan", (np.array([inf, 1.0, nan]), -1), gradients=False),
        Pattern("large", (np.array([1e300, 1e3, -1e300]), -1), elementwise=False),
        Pattern("scalar", (0.5,), elementwise=False),
        Pattern("empty", (np.zeros(0),), gradients=False),
        Pattern("int", (np.array([1, 2, 3]),), gradients=False)]
        for n in ("logsumexp", "softmax", "log_softmax")},
    **{f"stats.dirichlet.{f}": [
        Pattern("x, alpha", (np.array([0.2, 0.3, 0.5]), np.array([1.5, 2.0, 0.7])), elementwise=False),
        Pattern("x at a vertex", (np.array([0.0, 0.5, 0.5]), np.array([1.5, 2.0, 1.0])), gradients=False),
        Pattern("x off the simplex", (np.array([0.2, 0.3, 0.6]), np.array([1.5, 2.0, 0.7])), gradients=False),
        Pattern("alpha not positive", (np.array([0.2, 0.3, 0.5]), np.array([1.5, 0.0, 0.7])), gradients=False),
        Pattern("points", (np.array([[0.2, 0.1], [0.3, 0.6], [0.5, 0.3]]), np.array([1.5, 2.0, 0.7])),
                elementwise=False)] for f in ("logpdf", "pdf")},
    **{f"stats.multinomial.{f}": [
        Pattern("x, n, p", (np.array([1.0, 2.0, 3.0]), 6.0, np.array([0.2, 0.3, 0.5])), elementwise=False),
        Pattern("sum not n", (np.array([1.0, 2.0, 3.0]), 5.0, np.array([0.2, 0.3, 0.5])), gradients=False),
        Pattern("p with 0", (np.array([0.0, 2.0, 4.0]), 6.0, np.array([0.0, 0.4, 0.6])), elementwise=False),
        Pattern("batch", (np.array([[1.0, 2.0, 3.0], [6.0, 0.0, 0.0]]), 6.0, np.array([0.2, 0.3, 0.5])),
                elementwise=False)] for f in ("logpmf", "pmf")},
    **{f"stats.multivariate_normal.{f}": [
        Pattern("x, mean, cov", (np.array([0.3, -0.2]), np.array([0.1, 0.2]), _SPD), elementwise=False),
        Pattern("points", (np.array([[0.3, -0.2], [1.0, 2.0], [inf, 0.0]]), np.array([0.1, 0.2]), _SPD),
                gradients=False),
        Pattern("scalar cov", (np.array([0.3, -0.2]), np.array([0.1, 0.2]), 2.0), elementwise=False),
        Pattern("1-d", (0.3, 0.1, 2.0), elementwise=False)] for f in ("logpdf", "pdf")},
    "stats.multivariate_normal.entropy": [Pattern("mean, cov", (np.array([0.1, 0.2]), _SPD), elementwise=False),
                                          Pattern("scalar", (0.1, 2.0), elementwise=False)],
}


def _call(f, args):
    try:
        return f(*args)
    except Exception as e:  # noqa: BLE001 (the exception is the result compared)
        return e


def _where(pattern, index, shape) -> str:
    """The arguments of the entry ``index`` of a result of ``shape``, as text."""
    out = []
    for a in pattern.args:
        a = np.asarray(a)
        if a.ndim:
            a = np.broadcast_to(a, shape)[index]
        out.append(repr(float(a)) if a.dtype.kind == "f" else repr(int(a)))
    return "(" + ", ".join(out) + ")"


def _first_bad(bad, pattern, shape) -> str:
    index = tuple(np.argwhere(bad)[0]) if np.ndim(bad) else ()
    return _where(pattern, index, shape) if not pattern.elementwise or np.ndim(bad) else ""


def compare_values(got, want, pattern) -> str | None:
    """Why chainrule's result ``got`` differs from SciPy's ``want``, or None."""
    if isinstance(want, Exception) or isinstance(got, Exception):
        if isinstance(want, Exception) and isinstance(got, type(want)):
            return None
        what = lambda r: f"raises {type(r).__name__}" if isinstance(r, Exception) else "returns"  # noqa: E731
        return f"{what(got)}, SciPy {what(want)}"
    if isinstance(got, tuple | list) or isinstance(want, tuple | list):
        return None if len(got) == len(want) else "not SciPy's number of results"
    if isinstance(got, np.ndarray) != isinstance(want, np.ndarray):
        return f"a {type(got).__name__}, SciPy's a {type(want).__name__}"
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape or got.dtype != want.dtype:
        return f"shape {got.shape} {got.dtype}, SciPy's {want.shape} {want.dtype}"
    if want.dtype.kind != "f":
        return None if np.array_equal(got, want) else "values"
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    close = same | (np.isfinite(want) & np.isfinite(got) & np.isclose(got, want, rtol=1e-10, atol=0))
    if close.all():
        return None
    bad = ~close
    i = tuple(np.argwhere(bad)[0]) if bad.ndim else ()
    return f"value at {_where(pattern, i, want.shape)}: {got[i]!r}, SciPy {want[i]!r}"


# -- gradients ------------------------------------------------------------------------------
def _sum_of(f, np_module):
    return lambda *a: np_module.sum(f(*a))


def _chainrule_grad(name, args, i):
    return np.asarray(cr.grad(_sum_of(function(name, "chainrule"), cnp), argnums=i)(*args), dtype=float)


_PADDED = 128


def _jax_grad(f, args, i, compared):
    """JAX's gradient of the sum, and where JAX was asked (the entries compared, less
    those of arguments beyond 1e6: JAX's series of gammainc loop without end there).

    JAX compiles each operation for each shape it meets, so the arguments of an
    elementwise function are flattened and padded to a multiple of 128 entries: the sweep
    then compiles each operation once; the entries not asked take the value of one that is."""
    if compared is None:
        return np.asarray(jax.grad(_sum_of(f, jnp), argnums=i)(*map(jnp.asarray, args)), dtype=float), True
    asked = compared & np.all([np.abs(a) <= 1e6 for a in args if np.ndim(a)], axis=0)
    if not asked.any():
        return np.zeros(np.shape(asked)), asked
    shape, flat_asked = asked.shape, np.ravel(asked)
    size = flat_asked.size
    padded = -(-size // _PADDED) * _PADDED
    first = np.argmax(flat_asked)
    flat = [np.where(flat_asked, np.ravel(a), np.ravel(a)[first]) if np.ndim(a) else a for a in args]
    flat = [jnp.asarray(np.concatenate([a, np.full(padded - size, a[first])])) if np.ndim(a) else a for a in flat]
    grad = np.asarray(jax.grad(_sum_of(f, jnp), argnums=i)(*flat), dtype=float)
    return grad[:size].reshape(shape), asked


def _oracle_grad(name, library, args, i, compared):
    """The gradient of the sum in the argument ``i`` by ``library`` and where it answered;
    None where it has no answer."""
    f = function(name, library)
    if f is None:
        return None
    try:
        if library == "jax":
            return _jax_grad(f, args, i, compared)
        return np.asarray(autograd.grad(_sum_of(f, anp), argnum=i)(*args), dtype=float), True
    except Exception:  # noqa: BLE001 (another signature, or no rule: the next oracle)
        return None


def _differences(name, args, i, h=1e-6):
    """Central differences of SciPy's function, entry by entry (the arguments broadcast),
    nan where the one-sided differences disagree (a kink) or leave the domain."""
    f = function(name, "scipy")
    x = np.asarray(args[i], dtype=float)
    step = h * np.maximum(np.abs(x), 1e-2)

    def at(v):
        return np.asarray(f(*_replaced(args, {i: v})), dtype=float)

    mid, up, down = at(x), at(x + step), at(x - step)
    forward, backward = (up - mid) / step, (mid - down) / step
    central = (up - down) / (2 * step)
    smooth = np.isclose(forward, backward, rtol=1e-2, atol=1e-6)
    return np.where(smooth, central, nan)


def _agree(got, want, rtol, atol):
    return (got == want) | (np.isnan(got) & np.isnan(want)) | np.isclose(got, want, rtol=rtol, atol=atol)


def _summed_to(g, shape):
    """The gradient ``g`` in broadcast arguments, summed back to an argument's ``shape``."""
    g = np.sum(g, axis=tuple(range(np.ndim(g) - len(shape))))
    return np.sum(g, axis=tuple(k for k, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)


def compare_gradients(name, pattern, value, oracles=None) -> str | None:
    """Why chainrule's gradients of the sum differ from the oracles', or None."""
    args = pattern.args
    if pattern.elementwise:  # entry by entry: every argument broadcast to the result's shape
        shape = np.shape(value)
        static = STATIC_ARGUMENTS.get(name, set())
        args = tuple(a if i in static else np.array(np.broadcast_to(a, shape), dtype=float)
                     for i, a in enumerate(args))
        compared = np.isfinite(value) & np.all([np.isfinite(a) for i, a in enumerate(args) if i not in static],
                                               axis=0)
    elif not (np.isfinite(value).all() and all(np.isfinite(a).all() for a in args)):
        return None
    else:
        compared = True
    if pattern.summed and not np.all(compared):
        return None
    skipped = INTEGER_ARGUMENTS.get(name, set()) | STATIC_ARGUMENTS.get(name, set())
    for i, a in enumerate(args):
        if i in skipped or np.asarray(a).dtype.kind != "f" or not np.any(compared):
            continue
        try:
            got = _chainrule_grad(name, pattern.args if pattern.summed else args, i)
        except NotImplementedError:
            continue  # documented: no rule in this argument (tests/scipy/test_special.py)
        except Exception as e:  # noqa: BLE001
            return f"gradient {i} raises {type(e).__name__}: {str(e)[:80]}"
        shape = np.shape(pattern.args[i] if pattern.summed else a)
        if got.shape != shape:
            return f"gradient {i} of shape {got.shape}, argument {shape}"
        want, answered = next((w for w in (_oracle_grad(name, lib, args, i, compared if pattern.elementwise else None)
                                           for lib in oracles or ORACLES) if w is not None), (None, False))
        if want is None and not pattern.elementwise:
            continue  # no oracle, and central differences only entry by entry
        if pattern.summed:
            want = None if want is None else _summed_to(want, shape)
            mask = np.ones(shape, bool)
        else:
            mask = compared
        answered = np.broadcast_to(answered if not pattern.summed else want is not None, np.shape(mask))
        bad = mask & ~(answered & (want is not None and _agree(got, want, 1e-7, 1e-10)))
        fd = None
        if np.any(bad) and pattern.elementwise:  # a second opinion where the oracle differs or has none
            fd = _differences(name, args, i)  # (no opinion where an argument is beyond 1e6: its steps vanish beside it)
            moderate = np.all([np.abs(a) <= 1e6 for a in args if np.ndim(a)], axis=0) | pattern.summed
            fd = np.where(moderate, fd, nan)
            fd = _summed_to(fd, shape) if pattern.summed else fd
            bad = bad & ~(np.isfinite(fd) & _agree(got, fd, 1e-5, 1e-7)) & ~(np.isnan(fd) & ~answered)
        if np.any(bad):
            j = tuple(np.argwhere(bad)[0]) if np.ndim(bad) else ()
            theirs = want[j] if answered[j] else fd[j]
            where = "" if pattern.summed else f" at {_where(pattern, j, np.shape(value))}"
            return f"gradient {i}{where}: {got[j]!r}, oracle {theirs!r} ({np.count_nonzero(bad)} entries)"
    return None


def check(name: str, pattern: Pattern, gradients: bool = True, oracles=None) -> str | None:
    """Why chainrule's call of ``pattern`` differs from SciPy's (values) or the oracles'
    (gradients: ``oracles``, ORACLES unless given), or None."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        want = _call(function(name, "scipy"), pattern.args)
        got = _call(function(name, "chainrule"), pattern.args)
        why = compare_values(got, want, pattern)
        if why or not (gradients and pattern.gradients) or isinstance(want, Exception):
            return why
        return compare_gradients(name, pattern, np.asarray(want, dtype=float), oracles)


def sweep(selected=None, gradients=True):
    """Every disagreement: (name, pattern text, why)."""
    return [(name, p.text, why) for name in selected or names() for p in patterns(name)
            if (why := check(name, p, gradients))]


if __name__ == "__main__":
    found = sweep(sys.argv[2:] or None)
    with open(sys.argv[1], "w") as out:
        for row in found:
            out.write(" | ".join(row) + "\n")
    print(len(found), "disagreements in", len(names()), "names")
