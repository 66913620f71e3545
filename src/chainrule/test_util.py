"""HIPS autograd's ``test_util``: check derivatives against finite differences.

``check_grads(f, argnum=0, modes=["fwd", "rev"], order=2)(*args)`` checks forward mode
(jvp) and reverse mode (vjp) of ``f`` along random directions against central finite
differences, and recursively the derivatives of those, to ``order``; it raises an
``AssertionError`` naming the function and the numbers when they disagree. (chainrule's
own :func:`chainrule.gradcheck` does the same with its own tolerances and messages.)

>>> import chainrule.numpy as cnp, numpy as np
>>> check_grads(cnp.sin)(np.array([0.3, 1.2]))
>>> check_grads(lambda x, y: x * cnp.exp(y), argnum=1, modes=["rev"])(2.0, 0.5)
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import product

from chainrule.numpy.numpy_vspaces import vspace
from chainrule.transforms.forward import make_jvp as _nary_make_jvp
from chainrule.transforms.reverse import make_vjp as _nary_make_vjp
from chainrule.wrap_util import get_name, unary_to_nary

__all__ = [
    "TOL",
    "RTOL",
    "EPS",
    "scalar_close",
    "make_numerical_jvp",
    "check_vjp",
    "check_jvp",
    "check_equivalent",
    "check_grads",
    "combo_check",
]

TOL = 1e-6
RTOL = 1e-6
EPS = 1e-6


def _make_vjp(f, x):
    return _nary_make_vjp(f)(x)


def _make_jvp(f, x):
    return _nary_make_jvp(f)(x)


def scalar_close(a, b) -> bool:
    """``a`` and ``b`` agree to ``TOL`` absolutely or ``RTOL`` relatively."""
    return abs(a - b) < TOL or abs(a - b) / abs(a + b) < RTOL


def make_numerical_jvp(f: Callable, x) -> Callable:
    """``v ↦ (f(x + v ε/2) − f(x − v ε/2)) / ε``, central differences along ``v``."""
    y = f(x)
    x_vs, y_vs = vspace(x), vspace(y)

    def jvp(v):
        f_x_plus = f(x_vs.add(x, x_vs.scalar_mul(v, EPS / 2)))
        f_x_minus = f(x_vs.add(x, x_vs.scalar_mul(v, -EPS / 2)))
        neg_f_x_minus = y_vs.scalar_mul(f_x_minus, -1.0)
        return y_vs.scalar_mul(y_vs.add(f_x_plus, neg_f_x_minus), 1.0 / EPS)

    return jvp


def check_vjp(f: Callable, x) -> None:
    """The reverse-mode derivative of ``f`` at ``x`` against finite differences, along
    random directions: ``⟨u, J v⟩`` computed both ways."""
    vjp, y = _make_vjp(f, x)
    jvp = make_numerical_jvp(f, x)
    x_vs, y_vs = vspace(x), vspace(y)
    x_v, y_v = x_vs.randn(), y_vs.randn()
    vjp_y = x_vs.covector(vjp(y_vs.covector(y_v)))
    assert vspace(vjp_y) == x_vs, f"VSpace mismatch:\nvjp: {vspace(vjp_y)}\nx:   {x_vs}"
    vjv_exact = x_vs.inner_prod(x_v, vjp_y)
    vjv_numeric = y_vs.inner_prod(y_v, jvp(x_v))
    assert scalar_close(vjv_numeric, vjv_exact), (
        f"Derivative (VJP) check of {get_name(f)} failed with arg {x}:\n"
        f"analytic: {vjv_exact}\nnumeric:  {vjv_numeric}"
    )


def check_jvp(f: Callable, x) -> None:
    """The forward-mode derivative of ``f`` at ``x`` against finite differences."""
    jvp = _make_jvp(f, x)
    jvp_numeric = make_numerical_jvp(f, x)
    x_v = vspace(x).randn()
    check_equivalent(jvp(x_v)[1], jvp_numeric(x_v))


def check_equivalent(x, y) -> None:
    """``x`` and ``y`` lie in the same space and agree along a random direction."""
    x_vs, y_vs = vspace(x), vspace(y)
    assert x_vs == y_vs, f"VSpace mismatch:\nx: {x_vs}\ny: {y_vs}"
    v = x_vs.randn()
    assert scalar_close(x_vs.inner_prod(x, v), x_vs.inner_prod(y, v)), (
        f"Value mismatch:\nx: {x}\ny: {y}"
    )


@unary_to_nary
def check_grads(f: Callable, x, modes=("fwd", "rev"), order: int = 2) -> None:
    """Check ``f``'s derivatives in argument ``argnum`` at ``x`` in ``modes``, to ``order``."""
    if not all(m in ("fwd", "rev") for m in modes):
        raise ValueError(f"check_grads: modes are 'fwd' and 'rev', not {list(modes)}")
    if "fwd" in modes:
        check_jvp(f, x)
        if order > 1:
            def jvp_f(x, v):
                return _make_jvp(f, x)(v)[1]

            jvp_f.__name__ = f"jvp_{get_name(f)}"
            v = vspace(x).randn()
            check_grads(jvp_f, (0, 1), modes, order=order - 1)(x, v)
    if "rev" in modes:
        check_vjp(f, x)
        if order > 1:
            def vjp_f(x, v):
                return _make_vjp(f, x)[0](v)

            vjp_f.__name__ = f"vjp_{get_name(f)}"
            v = vspace(f(x)).randn()
            check_grads(vjp_f, (0, 1), modes, order=order - 1)(x, v)


def combo_check(fun: Callable, *args, **kwargs) -> Callable:
    """``combo_check(fun, argnum, ...)(*arg_lists, **kwarg_lists)``: :func:`check_grads`
    for every combination of the given argument values."""

    def _check_grads(f):
        return check_grads(f, *args, **kwargs)

    def _combo_check(*args, **kwargs):
        kwarg_key_vals = [[(k, x) for x in xs] for k, xs in kwargs.items()]
        for _args in product(*args):
            for _kwargs in product(*kwarg_key_vals):
                _check_grads(fun)(*_args, **dict(_kwargs))

    return _combo_check
