"""How the NumPy mirror is put together: primitives, their families, and dispatch.

Each family module (``elementwise``, ``reductions``, ``shape``, ``products``, ``linalg``,
``fft``) declares its functions with :func:`wrap` or :func:`mirrors`; that records which
NumPy function each one stands for, so ``np.sin(tensor)`` finds ``cnp.sin`` and the
README's list of supported functions is generated from here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from numpy.linalg import LinAlgError

from chainrule.core.errors import eager_error
from chainrule.core.primitive import RECORDING, Primitive, as_array_if_holds_tensor, def_jvps, def_vjps
from chainrule.core.tensor import Tensor
from chainrule.core.trace import EagerTrace
from chainrule.numpy.broadcasting import broadcast_like, unbroadcast

__all__ = [
    "wrap",
    "mirrors",
    "recording_as_numpy",
    "elementwise_derivatives",
    "SUPPORTED",
    "MIRROR_OF",
]

# numpy callable (function or ufunc) -> the mirror's differentiable version
MIRROR_OF: dict[object, Callable] = {}
# family -> names of the differentiable functions it defines (for docs and tests)
SUPPORTED: dict[str, list[str]] = {}


def _record(np_fun, mirror, family: str, name: str) -> None:
    if np_fun is not None:
        MIRROR_OF[np_fun] = mirror
    SUPPORTED.setdefault(family, []).append(name)


def wrap(
    np_fun,
    family: str,
    name: str | None = None,
    multiple_outputs: bool = False,
    public: bool = True,
) -> Primitive:
    """A primitive that runs ``np_fun``; if ``public``, it stands for it in the mirror.

    A primitive that a public function builds on (say ``where`` on three arguments) is
    not public itself: the function that calls it is registered with :func:`mirrors`.
    """
    name = name or np_fun.__name__
    prim = Primitive(np_fun, name=name, multiple_outputs=multiple_outputs)
    if public:
        _record(np_fun, prim, family, name)
    return prim


# The functions whose first argument is a sequence of arrays, not one array-like value
# (every other mirror function takes a list that holds Tensors as the array it stands for)
SEQUENCE_FIRST = set("""
multi_dot concatenate stack hstack vstack dstack column_stack row_stack block select
broadcast_arrays meshgrid array asarray asanyarray ascontiguousarray asfortranarray
cho_solve lu_solve
""".split())


def mirrors(np_fun, family: str, name: str | None = None):
    """Decorator: this Python function (built from primitives) stands for ``np_fun``.

    While ``chainrule.jit`` records, a call on its values alone (nothing differentiated)
    is recorded as one call of ``np_fun``: the replay calls exactly what the plain
    function calls, not the composition that carries the derivative.
    """

    def deco(f: Callable) -> Callable:
        if np_fun is not None and getattr(np_fun, "__doc__", None) and not f.__doc__:
            f.__doc__ = np_fun.__doc__
        if np_fun is None:
            _record(np_fun, f, family, name or f.__name__)
            return f

        # A function of an array given a list that holds Tensors (np.fft.fft([x, y]),
        # np.linalg.svd([[a, b], [c, d]]), np.fliplr([x, y])) takes it as that array.
        array_first = getattr(np_fun, "__name__", None) not in SEQUENCE_FIRST

        @functools.wraps(f)
        def mirror(*args, **kwargs):
            if RECORDING[0] and (trace := recording_as_numpy((*args, *kwargs.values()))) is not None:
                return trace.record(np_fun, args, kwargs)
            # (a list only: a tuple may be a structure, as scipy's cho_solve((c, lower), b))
            if array_first and args and args[0].__class__ is list:
                args = (as_array_if_holds_tensor(args[0]), *args[1:])
            try:
                return f(*args, **kwargs)
            except (ValueError, TypeError) as e:  # on eager Tensors, as PyTorch raises it (a RuntimeError)
                if isinstance(e, RuntimeError | IndexError | LinAlgError) or not _eager_among_values(
                        (*args, *kwargs.values())):
                    raise
                raise eager_error(name or f.__name__, e, ()) from e

        _record(np_fun, mirror, family, name or f.__name__)
        return mirror

    return deco


def stands_for(np_fun, mirror, family: str, name: str | None = None) -> None:
    """Record that ``mirror`` (a class, or a function that does its own recording under
    ``chainrule.jit``) stands for ``np_fun``, without :func:`mirrors`' wrapper."""
    _record(np_fun, mirror, family, name or np_fun.__name__)


def _eager_among_values(values) -> bool:
    """Whether an eager Tensor is among ``values`` (lists and tuples looked into), or,
    under ``chainrule.jit``, a value that stands for one of the plain call."""
    return any(a._trace.__class__ is EagerTrace or a._trace.records and a._node in a._trace.eager
               if isinstance(a, Tensor) else isinstance(a, list | tuple) and _eager_among_values(a) for a in values)


def recording_as_numpy(values):
    """The jit trace that records a call on ``values`` as the NumPy call itself: the one
    every Tensor among them belongs to, where none is an eager Tensor of the plain call
    (whose composition, PyTorch's, the record takes too); else None."""
    trace = _only_recorded(values)
    # an eager Tensor of the plain call takes the composition there (its sort is a take
    # of argsort's order, not np.sort's): so does the record
    if trace is not None and not (trace.eager and _eager_among(values, trace.eager)):
        return trace
    return None


def _only_recorded(values):
    """The jit trace that every Tensor among ``values`` (lists and tuples looked into)
    belongs to; None if there is none, or if one belongs to another trace."""
    found: list = []
    return found[0] if _scan(values, found) and found else None


def _scan(values, found: list) -> bool:
    for a in values:
        if isinstance(a, Tensor):
            if not a._trace.records or (found and a._trace is not found[0]):
                return False
            if not found:
                found.append(a._trace)
        elif isinstance(a, list | tuple) and not _scan(a, found):
            return False
    return True


def _eager_among(values, eager: set) -> bool:
    """Whether a Tensor among ``values`` (lists and tuples looked into) is a variable of
    ``eager``: an eager Tensor in the plain call of a jitted function."""
    for a in values:
        if isinstance(a, Tensor):
            if a._node in eager:
                return True
        elif isinstance(a, list | tuple) and _eager_among(a, eager):
            return True
    return False


def optional(module, name: str):
    """``module.name`` when this NumPy version has it, else None (import never breaks)."""
    return getattr(module, name, None)


def elementwise_derivatives(prim: Primitive, *partials: Callable | int | None) -> None:
    """Rules for an elementwise function from its partial derivatives.

    ``partial(ans, *args)`` is ∂ans/∂arg; the number 1 or -1 stands for a constant one (the
    cotangent passes as it is, or negated: ``derivs(subtract, 1, -1)``); None for none. The
    vjp multiplies the cotangent by it and sums away broadcasting; the jvp multiplies the
    tangent by it. Both rules come from the same line, so the two modes cannot disagree;
    the backward pass reads the partials themselves (``prim.partials``) and skips the
    rules' calls. (Multiplication without conjugation: the JAX and HIPS autograd
    convention for complex numbers.)
    """
    if len(partials) == 1:
        (d,) = partials
        # One argument: the output has its shape, so there is no broadcasting to undo.
        def_vjps(prim, lambda g, ans, x: g * d(ans, x))
        def_jvps(prim, lambda t, ans, x: t * d(ans, x))
    else:
        def_vjps(prim, *(_vjp_from_partial(i, d) for i, d in enumerate(partials)))
        def_jvps(prim, *(_jvp_from_partial(d) for d in partials))
    prim.partials = partials  # (after def_vjps, which forgets the old rules' partials)


def _vjp_from_partial(i: int, d: Callable | int | None):
    if d is None:
        return None
    if d.__class__ is int:
        return (lambda g, ans, *args: unbroadcast(g, args[i])) if d == 1 else \
            (lambda g, ans, *args: unbroadcast(-g, args[i]))
    return lambda g, ans, *args: unbroadcast(g * d(ans, *args), args[i])


def _jvp_from_partial(d: Callable | int | None):
    if d is None:
        return None
    if d.__class__ is int:
        return (lambda t, ans, *args: broadcast_like(t, ans)) if d == 1 else \
            (lambda t, ans, *args: broadcast_like(-t, ans))
    return lambda t, ans, *args: broadcast_like(t * d(ans, *args), ans)


FAMILY_TITLES = {
    "elementwise": "Elementwise (`chainrule.numpy`)",
    "reductions": "Reductions (`chainrule.numpy`)",
    "statistics": "Order statistics and covariance (`chainrule.numpy`)",
    "shape": "Shape and indexing (`chainrule.numpy`)",
    "products": "Products (`chainrule.numpy`)",
    "convolution": "Convolution (`chainrule.numpy`)",
    "polynomials": "Polynomials (`chainrule.numpy`)",
    "sampled": "Sampled data: interpolation and integration (`chainrule.numpy`)",
    "sets": "Set functions, as selections of their inputs (`chainrule.numpy`)",
    "functional": "Functional programming (`chainrule.numpy`)",
    "linalg": "Linear algebra (`chainrule.numpy.linalg`)",
    "fft": "Fourier transforms (`chainrule.numpy.fft`)",
    "scipy.special": "Special functions (`chainrule.scipy.special`)",
    "scipy.stats": "Distributions (`chainrule.scipy.stats`)",
    "scipy.linalg": "Linear algebra (`chainrule.scipy.linalg`)",
    "scipy.signal": "Signal processing (`chainrule.scipy.signal`)",
    "scipy.integrate": "Integration (`chainrule.scipy.integrate`)",
}


def supported_markdown() -> str:
    """The list of differentiable functions, by family, as Markdown (for the README)."""
    lines = []
    order = list(FAMILY_TITLES) + sorted(set(SUPPORTED) - set(FAMILY_TITLES))
    for family in (f for f in order if f in SUPPORTED):
        names = SUPPORTED[family]
        title = FAMILY_TITLES.get(family, family)
        unique = sorted(set(names))
        lines.append(f"- **{title}**, {len(unique)}: " + ", ".join(f"`{n}`" for n in unique))
    return "\n".join(lines)
