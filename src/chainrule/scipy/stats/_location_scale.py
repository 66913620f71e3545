"""Location-scale families: a distribution given once, as its standard member (``loc`` 0,
``scale`` 1) in the standardised variable ``z = (x - loc) / scale``, from which SciPy's
functions of ``x`` (``logpdf``, ``pdf``, ``cdf``, ``logcdf``, ``sf``, ``logsf``) and of
``q`` (``ppf``, ``isf``) are made, with SciPy's signatures.

>>> import numpy as np
>>> import chainrule.numpy as cnp
>>> from chainrule.scipy.special import expit, log_expit, logit
>>> standard = Standard(lambda z: -2 * cnp.logaddexp(z / 2, -z / 2), cdf=expit,
...                     logcdf=log_expit, ppf=logit, symmetric=True)
>>> logpdf, sf, isf = location_scale("example.logistic", standard, ["logpdf", "sf", "isf"])
>>> bool(np.isclose(sf(1.0, 0.5, 2.0), 1 / (1 + np.exp(0.25))))
True
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import undifferentiated
from chainrule.scipy.stats._common import NEG_INF, exported, inexact_args, on_support, standardize

__all__ = ["Standard", "location_scale"]

_OF_Q = ("ppf", "isf")
_WHAT = {"logpdf": "the log density", "pdf": "the density", "cdf": "the distribution function",
         "logcdf": "the log of the distribution function", "sf": "the survival function",
         "logsf": "the log of the survival function", "ppf": "the quantile function",
         "isf": "the inverse survival function"}


@dataclass(frozen=True)
class Standard:
    """A family's standard member: functions of ``z`` (or ``q``) and the shape parameters.

    ``logpdf`` is required; ``pdf`` is ``exp(logpdf)`` unless given (where the log density
    overflows to -inf while the density's derivative is 0: exp's 0 times the log's
    infinite derivative would be nan); ``logcdf``, ``sf``, ``logsf`` and ``isf`` follow from the
    others where not given: by reflection for a ``symmetric`` (even) density
    (``sf(z) = cdf(-z)``, ``isf(q) = -ppf(q)``), else as ``exp(logsf)`` and ``ppf(1 - q)``;
    ``logcdf`` and ``logsf`` as ``log(cdf)`` and ``log(sf)``, or, where both the cdf and
    the sf are known, as ``log1p(-sf)`` and ``log1p(-cdf)`` above 1/2. Off the ``support``
    (closed, in ``z``) the functions take their constant values there (log density -inf)
    with derivative 0: the standard functions are evaluated at ``interior``, a point of
    the support, instead. Where
    ``valid(*shapes)`` is false (a shape parameter out of its range), or ``scale`` is not
    positive, every function is nan, as SciPy's.
    """

    logpdf: Callable
    pdf: Callable | None = None
    cdf: Callable | None = None
    logcdf: Callable | None = None
    sf: Callable | None = None
    logsf: Callable | None = None
    ppf: Callable | None = None
    isf: Callable | None = None
    symmetric: bool = False
    support: tuple[float, float] = (-np.inf, np.inf)
    interior: float = 0.0
    shapes: tuple[str, ...] = ()
    valid: Callable | None = None
    example: tuple[float, ...] = (0.5,)  # (x, *shapes), for the docstrings

    def function(self, name: str) -> Callable:
        """The standard ``name``, given or made from the others."""
        given = getattr(self, name)
        if given is not None:
            return given
        if name == "isf":
            ppf = self.function("ppf")
            if self.symmetric:
                return lambda q, *shape: -ppf(q, *shape)
            return lambda q, *shape: ppf(1 - q, *shape)
        if self.symmetric and name in ("sf", "logsf"):
            mirror = self.function("cdf" if name == "sf" else "logcdf")
            return lambda z, *shape: mirror(-z, *shape)
        if name in ("logcdf", "logsf") and (self.symmetric or self.sf is not None or self.logsf is not None):
            p, complement = (self.function(n) for n in ((name[3:], "sf" if name == "logcdf" else "cdf")))
            return _log_of(p, complement, self.interior)
        source, outer = {"logcdf": ("cdf", cnp.log), "sf": ("logsf", cnp.exp),
                         "logsf": ("sf", cnp.log)}.get(name, (None, None))
        if source is None or (name in ("sf", "logsf") and self.sf is None and self.logsf is None):
            raise ValueError(f"a location-scale family needs its standard {name}")
        inner = self.function(source)
        return lambda z, *shape: outer(inner(z, *shape))

    def reflected(self) -> Standard:
        """The distribution of ``-Z`` (``gumbel_l`` of ``gumbel_r``)."""
        f = self.function
        cdf, logcdf, sf, logsf, isf = (f(n) for n in ("cdf", "logcdf", "sf", "logsf", "isf"))
        low, high = self.support
        pdf = None if self.pdf is None else lambda z, *s: self.pdf(-z, *s)
        return replace(self, logpdf=lambda z, *s: self.logpdf(-z, *s), pdf=pdf,
                       cdf=lambda z, *s: sf(-z, *s), logcdf=lambda z, *s: logsf(-z, *s),
                       sf=lambda z, *s: cdf(-z, *s), logsf=lambda z, *s: logcdf(-z, *s),
                       ppf=lambda q, *s: -isf(q, *s), isf=None, support=(-high, -low),
                       interior=-self.interior, example=(-self.example[0], *self.example[1:]))


def _log_of(p, complement, interior: float) -> Callable:
    """``log(p(z))``, as ``log1p(-complement(z))`` where ``p`` is near 1 (``log`` of a ``p``
    within 1e-16 of 1 is 0, or a rounding error, where the complement keeps the digits).

    Each branch is evaluated only at the ``z`` where it is taken, the other at ``interior``:
    at an end of the support the branch not taken may have an infinite derivative (first or
    second), which the zero cotangent of ``where`` would make nan.
    """

    def log_p(z, *shape):
        near_one = p(undifferentiated(z), *undifferentiated(shape)) > 0.5
        return cnp.where(near_one, cnp.log1p(-complement(cnp.where(near_one, z, interior), *shape)),
                         cnp.log(p(cnp.where(near_one, interior, z), *shape)))

    return log_p


def _inside(z, low: float, high: float):
    """Where ``z`` is not outside ``[low, high]`` (nan is not: its values stay nan)."""
    below = z < low if low > -np.inf else None
    above = z > high if high < np.inf else None
    outside = above if below is None else below if above is None else below | above
    return cnp.logical_not(outside)


def _of_x(standard: Standard, name: str) -> Callable:
    """``name`` of ``x``: the standard function of ``z``, its constant value off the support
    (0 or 1, their logarithms), and ``- log(scale)`` for the log density."""
    exp_of_log = name == "pdf" and standard.pdf is None  # the density as exp(logpdf)
    f = standard.function("logpdf" if exp_of_log else name)
    low, high = standard.support
    bounded = (low, high) != (-np.inf, np.inf)
    # the values below and above the support
    below, above = {"logpdf": (NEG_INF, NEG_INF), "pdf": (NEG_INF, NEG_INF) if exp_of_log else (0.0, 0.0),
                    "cdf": (0.0, 1.0), "logcdf": (NEG_INF, 0.0),
                    "sf": (1.0, 0.0), "logsf": (0.0, NEG_INF)}[name]
    density = name in ("logpdf", "pdf")

    def of_x(x, shape, loc, scale):
        z = standardize(x, loc, scale)
        inside = _inside(z, low, high) if bounded else None
        value = f(z if inside is None else on_support(inside, z, standard.interior), *shape)
        if density:
            value = value - cnp.log(scale) if name == "logpdf" or exp_of_log else value / scale
        if inside is not None:
            off = (below if high == np.inf else above if low == -np.inf
                   else cnp.where(z > high, above, below))
            value = cnp.where(inside, value, off)
        return _checked(standard, shape, scale, cnp.exp(value) if exp_of_log else value)

    return of_x


def _checked(standard: Standard, shape, scale, value):
    """``value``, nan where ``scale`` is not positive or the shape parameters are out of range."""
    valid = scale > 0
    if standard.valid is not None:
        valid = valid & standard.valid(*shape)
    return cnp.where(valid, value, np.nan)


def _of_q(standard: Standard, name: str) -> Callable:
    """``name`` of ``q``, SciPy's: the ends of the support at ``q`` 0 and 1 (``ppf(0)`` is
    the lower end, ``isf(0)`` the upper), nan outside [0, 1]. A finite end is the standard
    function's own value there, so that its one-sided derivative remains (uniform.ppf's is
    1 at 0 and 1, expon.ppf's scale at 0); an infinite end is the constant."""
    f = standard.function(name)
    low, high = standard.support if name == "ppf" else standard.support[::-1]
    closed = (0 if np.isfinite(low) else None, 1 if np.isfinite(high) else None)

    def of_q(q, shape, loc, scale):
        inside = (q > 0) & (q < 1)
        for end in closed:
            if end is not None:
                inside = inside | (q == end)
        value = cnp.where(inside, f(on_support(inside, q, 0.5), *shape), np.nan)
        value = cnp.where(q == 0, low, value) if closed[0] is None else value
        value = cnp.where(q == 1, high, value) if closed[1] is None else value
        return _checked(standard, shape, scale, loc + scale * value)

    return of_q


def _public(module: str, name: str, standard: Standard, body: Callable) -> Callable:
    """``body(first, shape, loc, scale)`` as ``name(first, *shapes, loc=0.0, scale=1.0)``.

    Positional calls take the short path; keywords are bound by the signature.
    """
    distribution = module.rsplit(".", 1)[1]
    first = "q" if name in _OF_Q else "x"
    p = inspect.Parameter
    signature = inspect.Signature(
        [p(n, p.POSITIONAL_OR_KEYWORD) for n in (first, *standard.shapes)]
        + [p("loc", p.POSITIONAL_OR_KEYWORD, default=0.0),
           p("scale", p.POSITIONAL_OR_KEYWORD, default=1.0)])
    required = 1 + len(standard.shapes)
    defaults = (0.0, 1.0)

    def function(*args, **kwargs):
        if kwargs or not required <= len(args) <= required + 2:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            args = bound.args
        else:
            args = args + defaults[len(args) - required:]
        args, _ = inexact_args(args)  # the defaults in the arguments' dtype too
        return body(args[0], args[1:required], args[required], args[required + 1])

    function.__name__ = function.__qualname__ = name
    function.__module__ = module
    function.__signature__ = signature
    example = ", ".join(map(repr, (0.25 if first == "q" else standard.example[0],
                                   *standard.example[1:])))
    function.__doc__ = (
        f"``scipy.stats.{distribution}.{name}{signature}``: {_WHAT[name]}, with SciPy's "
        f"values, differentiable in ``{first}``, {''.join(f'``{s}``, ' for s in standard.shapes)}"
        f"``loc`` and ``scale``.\n\n"
        f">>> import numpy as np, scipy.stats\n"
        f">>> from chainrule.scipy.stats import {distribution}\n"
        f">>> bool(np.isclose({distribution}.{name}({example}), "
        f"scipy.stats.{distribution}.{name}({example})))\nTrue\n")
    return exported(distribution)(function)


def location_scale(module: str, standard: Standard, names: Sequence[str]) -> tuple[Callable, ...]:
    """The functions ``names`` of the family ``standard`` (for the module ``module``, whose
    last part names the distribution), in that order."""
    return tuple(_public(module, name, standard,
                         _of_q(standard, name) if name in _OF_Q else _of_x(standard, name))
                 for name in names)
