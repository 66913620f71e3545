"""``chainrule.scipy.signal``: ``convolve``, differentiable in both operands.

``convolve(A, B, axes=None, dot_axes=[(), ()], mode="full")`` is HIPS autograd's n-d
convolution: the axes ``axes[0]`` of ``A`` are convolved with the axes ``axes[1]`` of ``B``
(all axes by default), the axes ``dot_axes`` are summed over as in ``tensordot``, and the
result's axes are A's other axes, then B's other axes, then the convolved ones. With
neither ``axes`` nor ``dot_axes`` it is ``scipy.signal.convolve(A, B, mode)``, and SciPy's
own signature ``convolve(in1, in2, mode="full", method="auto")`` is accepted too.

The value is computed as autograd computes it (a strided view of the padded operand
contracted with ``einsum``); the derivative in each operand is a ``convolve`` of the
cotangent with the other operand flipped (valid and full modes swap), and, the
function being bilinear, the tangent is the convolution of the tangent with the other
operand. Every other name of ``scipy.signal`` is SciPy's own and refuses Tensors.
"""

from __future__ import annotations

import numpy as np
import scipy.signal as ss
from numpy.lib.stride_tricks import as_strided

import chainrule.numpy as cnp
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.products import any_tensor
from chainrule.numpy.registry import mirrors, wrap
from chainrule.scipy.reexport import fallback

__all__ = ["convolve"]

_MODES = ("full", "valid", "same")


def _einsum_tensordot(a, b, axes):
    """tensordot by einsum, which reads the strided view without copying it."""
    a_axes = list(range(a.ndim))
    b_axes = list(range(a.ndim, a.ndim + b.ndim))
    summed = a.ndim + b.ndim
    for k, (i, j) in enumerate(zip(*axes, strict=True)):
        a_axes[i] = b_axes[j] = summed + k
    return np.einsum(a, a_axes, b, b_axes)


def _pad(a, b, axes, mode):
    widths = [(0, 0)] * a.ndim
    for ax_a, ax_b in zip(*axes, strict=True):
        size = b.shape[ax_b] - 1
        widths[ax_a] = (size, size) if mode == "full" else (size - size // 2, size // 2)
    return np.pad(a, widths, mode="constant")


def _convolve_values(a, b, axes, dot_axes, mode):
    """autograd's algorithm (autograd/scipy/signal.py), on plain arrays."""
    a, b = np.asarray(a), np.asarray(b)
    if any(b.shape[j] < a.shape[i] for i, j in zip(*axes, strict=True)):
        if mode == "valid" and not all(b.shape[j] <= a.shape[i] for i, j in zip(*axes, strict=True)):
            raise ValueError(
                "convolve: in mode 'valid' one operand must be at least as large as the other "
                "along every convolved axis"
            )
        if mode == "valid" or (mode == "full" and b.size <= a.size):
            i1 = b.ndim - len(dot_axes[1]) - len(axes[1])
            i2 = i1 + a.ndim - len(dot_axes[0]) - len(axes[0])
            order = list(range(i1, i2)) + list(range(i1)) + list(range(i2, i2 + len(axes[0])))
            swapped = _convolve_values(b, a, axes[::-1], dot_axes[::-1], mode)
            return swapped.transpose(order)
    if mode == "same":  # not commutative: slide the original A over a flipped B
        a, b = b, a
        axes, dot_axes = axes[::-1], dot_axes[::-1]
    if mode != "valid":
        b = _pad(b, a, axes[::-1], mode)
    view_shape, view_strides = list(b.shape), list(b.strides)
    flipped = [slice(None)] * a.ndim
    for ax_a, ax_b in zip(*axes, strict=True):
        view_shape.append(abs(b.shape[ax_b] - a.shape[ax_a]) + 1)
        view_strides.append(b.strides[ax_b])
        view_shape[ax_b] = a.shape[ax_a]
        flipped[ax_a] = slice(None, None, -1)
    b_view = as_strided(b, view_shape, view_strides, writeable=False)
    a_view = a[tuple(flipped)]
    all_axes = [list(axes[i]) + list(dot_axes[i]) for i in (0, 1)]
    if mode == "same":
        i1 = b.ndim - len(dot_axes[1]) - len(axes[1])
        i2 = i1 + len(axes[0])
        i3 = i2 + a.ndim - len(dot_axes[0]) - len(axes[0])
        order = list(range(i1)) + list(range(i2, i3)) + list(range(i1, i2))
        return _einsum_tensordot(b_view, a_view, all_axes[::-1]).transpose(order)
    return _einsum_tensordot(a_view, b_view, all_axes)


_convolve = wrap(_convolve_values, "scipy.signal", "convolve", public=False)


def _roles(a_shape, b_shape, axes, dot_axes):
    """For each operand, its convolved, summed and remaining ("ignore") axes; and the
    result's axes that come from A's and B's remaining axes and from the convolution."""
    roles = {}
    for key, shape, conv, dot in (("A", a_shape, axes[0], dot_axes[0]),
                                  ("B", b_shape, axes[1], dot_axes[1])):
        rest = tuple(i for i in range(len(shape)) if i not in conv and i not in dot)
        roles[key] = {"conv": tuple(conv), "dot": tuple(dot), "ignore": rest}
    i1 = len(roles["A"]["ignore"])
    i2 = i1 + len(roles["B"]["ignore"])
    roles["out"] = {"ignore_A": tuple(range(i1)), "ignore_B": tuple(range(i1, i2)),
                    "conv": tuple(range(i2, i2 + len(axes[0])))}
    return roles


def _flip(y, axes):
    index = [slice(None)] * len(shape_of(y))
    for ax in axes:
        index[ax] = slice(None, None, -1)
    return y[tuple(index)]


def _convolve_vjp(argnum: int):
    """The cotangent of operand ``argnum``: the cotangent convolved with the other
    operand flipped (autograd's grad_convolve)."""

    def rule(g, ans, a, b, axes, dot_axes, mode):
        roles = _roles(shape_of(a), shape_of(b), axes, dot_axes)
        x, y = (a, b) if argnum == 0 else (b, a)
        kx, ky = ("A", "B") if argnum == 0 else ("B", "A")
        ignore_y = "ignore_B" if argnum == 0 else "ignore_A"
        x_conv = [shape_of(x)[i] for i in roles[kx]["conv"]]
        y_conv = [shape_of(y)[i] for i in roles[ky]["conv"]]
        if mode == "full":
            new_mode = "valid"
        elif mode == "valid":
            new_mode = "full" if any(p > q for p, q in zip(x_conv, y_conv, strict=True)) else "valid"
        else:  # same: pad the cotangent back to the full-size correlation, then 'valid'
            new_mode = "valid"
            widths = [(0, 0)] * len(shape_of(g))
            for ax, ax_b in zip(roles["out"]["conv"], roles["B"]["conv"], strict=True):
                left = (shape_of(b)[ax_b] - 1) // 2
                widths[ax] = (left, shape_of(b)[ax_b] - 1 - left)
            g = cnp.pad(g, widths, mode="constant")
        result = _convolve(
            g, _flip(y, roles[ky]["conv"]),
            axes=(roles["out"]["conv"], roles[ky]["conv"]),
            dot_axes=(roles["out"][ignore_y], roles[ky]["ignore"]),
            mode=new_mode,
        )
        order = np.argsort(roles[kx]["ignore"] + roles[kx]["dot"] + roles[kx]["conv"])
        return cnp.transpose(result, tuple(int(i) for i in order))

    return rule


def_vjps(_convolve, _convolve_vjp(0), _convolve_vjp(1))
# bilinear: the tangent in one operand is the convolution with the other
def_jvps(_convolve,
         lambda t, ans, a, b, **kw: _convolve(t, b, **kw),
         lambda t, ans, a, b, **kw: _convolve(a, t, **kw))


def _normalize(a, b, axes, dot_axes, mode):
    if mode not in _MODES:
        raise ValueError(f"convolve: mode must be one of {_MODES}, got {mode!r}")
    if axes is None:
        nd = len(shape_of(a))
        axes = (tuple(range(nd)), tuple(range(nd)))
    axes = (tuple(int(i) for i in axes[0]), tuple(int(i) for i in axes[1]))
    dot_axes = (tuple(int(i) for i in dot_axes[0]), tuple(int(i) for i in dot_axes[1]))
    if len(axes[0]) != len(axes[1]) or len(dot_axes[0]) != len(dot_axes[1]):
        raise ValueError(
            f"convolve: axes {axes} and dot_axes {dot_axes} must pair the axes of A with as "
            "many axes of B"
        )
    return axes, dot_axes


@mirrors(ss.convolve, "scipy.signal")
def convolve(A, B, axes=None, dot_axes=((), ()), mode: str = "full", method: str = "auto"):
    """n-d convolution of ``A`` and ``B`` (autograd's form, and SciPy's).

    >>> import numpy as np
    >>> convolve(np.array([1.0, 2.0]), np.array([1.0, 1.0, 1.0]))
    array([1., 3., 3., 2.])
    """
    if isinstance(axes, str):  # SciPy's signature: convolve(in1, in2, mode, method)
        axes, mode = None, axes
        if isinstance(dot_axes, str):
            method, dot_axes = dot_axes, ((), ())
    axes, dot_axes = _normalize(A, B, axes, dot_axes, mode)
    if not any_tensor((A, B)) and not any(dot_axes) and axes == (
        tuple(range(np.ndim(A))), tuple(range(np.ndim(B)))
    ):
        return ss.convolve(A, B, mode=mode, method=method)
    return _convolve(A, B, axes=axes, dot_axes=dot_axes, mode=mode)


# every other name of scipy.signal: SciPy's own, refusing Tensors (see reexport.py)
__getattr__, __dir__ = fallback(__name__, "scipy.signal")

# Batching rule for vmap: one convolution per example (the axes of its algorithm are
# spelled for one example's operands).
def_batch(batching.per_example, _convolve)
