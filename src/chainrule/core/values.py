"""Small helpers on values that every layer needs, each defined once.

* :func:`plain`: the NumPy value under a Tensor (lists and tuples looked into).
* :func:`like_input`: a cotangent as the gradient of an input (real for a real input, in
  the input's dtype).
* :func:`zeros_like`: zeros like a value, as the numpy mirror makes them (a batched value
  under ``vmap``, a recorded one under ``jit``).
* :func:`in_dtype_of`: a tangent or cotangent in the dtype of the value it belongs to.

The mirror's functions reach this module by registration (:func:`use_mirror`, called when
``chainrule.numpy`` is imported): the core imports nothing from the layers above it.
"""

from __future__ import annotations

import numpy as np

from chainrule.core.tensor import BOX_TYPES, Tensor

__all__ = ["plain", "zeros_like", "like_input", "in_dtype_of", "use_mirror"]


class _Mirror:
    """The numpy mirror's ``zeros_like``, ``real``, ``conj``, ``astype`` and ``copy``, once registered."""

    zeros_like = real = conj = astype = copy = None


MIRROR = _Mirror()


def use_mirror(**functions) -> None:
    """Register the mirror's functions that values of a trace need (see the docstring)."""
    for name, fun in functions.items():
        if not hasattr(_Mirror, name):
            raise TypeError(f"use_mirror: no slot named {name!r}")
        setattr(MIRROR, name, fun)


def plain(x):
    """The plain NumPy value under ``x`` (lists and tuples looked into); no gradient flows
    through it, and under ``chainrule.jit`` reading it guards the recorded program.

    >>> import chainrule as cr
    >>> plain([cr.tensor(1.0), 2.0])
    [array(1.), 2.0]
    """
    if isinstance(x, Tensor):
        return x.primal()
    if isinstance(x, list | tuple) and any(isinstance(v, Tensor) for v in x):
        return type(x)(plain(v) for v in x)
    return x


def zeros_like(x):
    """Zeros of ``x``'s shape and dtype, made by the numpy mirror's ``zeros_like``.

    >>> float(zeros_like(3.0))
    0.0
    """
    return MIRROR.zeros_like(x)


def in_dtype_of(v, like):
    """The tangent or cotangent ``v`` in the floating-point or complex dtype of ``like``,
    the value it belongs to, as JAX's and PyTorch's engines keep them.

    NumPy's promotion widens what a rule computes for a float32 value met by an int64 or
    float64 array (``x32 * i64``), or by a boolean one inside the rule (``x32 ** mask``
    computes ``mask - 1`` in int64). Cast back here, once for every rule, a float32
    program's derivatives stay float32 all the way, not only the input's gradient (cast
    at the end). A complex ``v`` for a real ``like`` is left to
    :func:`~chainrule.core.primitive.real_if_real`; a value without a dtype (a Python
    number, a list) or of integers is left as it is.

    >>> in_dtype_of(np.ones(2), np.zeros(2, np.float32)).dtype
    dtype('float32')
    """
    try:
        dtype, v_dtype = like.dtype, v.dtype
    except AttributeError:
        return v
    if v_dtype == dtype or dtype.kind not in "fc" or v_dtype.kind not in "fc":
        return v
    if v_dtype.kind == "c" and dtype.kind == "f":
        return v
    return MIRROR.astype(v, dtype) if isinstance(v, Tensor) else v.astype(dtype)


def like_input(g, x):
    """The gradient of a real input is real, and of its dtype; that of a number is a
    number, that of an array (0-d too) an array. (A value of a registered box type is
    its own vector space: its gradient is what its rules made.)"""
    if type(x) in BOX_TYPES:
        return g
    if x.__class__ is np.ndarray:  # (the common case: an array's gradient of its dtype already,
        v = g._value if isinstance(g, Tensor) and g._trace.batches else g  # or a batch of them)
        if v.__class__ is np.ndarray and v.dtype == x.dtype:
            return g
    if _recorded(g) and _recorded(x) and (isinstance(g, Tensor) or isinstance(x, Tensor)):
        # under chainrule.jit: the same casts, recorded (values are Tensors of its trace)
        cnp = MIRROR  # the casts are recorded: the mirror's
        dtype, g_dtype = _dtype_of(x), _dtype_of(g)
        if g_dtype.kind == "c" and dtype.kind != "c":
            g = cnp.real(g)
            g_dtype = _dtype_of(g)
        if g_dtype != dtype:
            g = cnp.astype(g, dtype)
        # the values under every trace (a vmap's Tensor holds one of jit's, which holds an
        # array): a batched gradient is an array already, and needs no copy
        x_value, g_value = x, g
        while isinstance(x_value, Tensor):
            x_value = x_value._value
        while isinstance(g_value, Tensor):
            g_value = g_value._value
        if isinstance(x_value, np.generic) and isinstance(g_value, np.ndarray) and g_value.ndim == 0:
            g = g[()]
        elif isinstance(x_value, np.ndarray) and not isinstance(g_value, np.ndarray):
            g = cnp.copy(g)  # (np.copy of a NumPy scalar is a 0-d array)
        return g
    if not isinstance(g, Tensor) and not isinstance(x, Tensor):
        g = np.asarray(g) if not isinstance(g, np.ndarray | np.generic) else g
        if g.dtype.kind == "c" and x.dtype.kind != "c":
            g = g.real
        if g.dtype != x.dtype:
            g = g.astype(x.dtype)
        if isinstance(x, np.generic) and isinstance(g, np.ndarray) and g.ndim == 0:
            g = g[()]  # a number's gradient is a number
        elif isinstance(x, np.ndarray) and not isinstance(g, np.ndarray):
            g = np.asarray(g)  # a 0-d array's gradient is a 0-d array
    return g


def _dtype_of(v) -> np.dtype:
    return v.dtype if hasattr(v, "dtype") else np.result_type(v)


def _recorded(v) -> bool:
    """Not a Tensor, or one of chainrule.jit's trace (no derivative is being taken), or an
    eager one (a cotangent computed from an eager Tensor closed over: cast as any other,
    by the eager layer's own casts)."""
    return not isinstance(v, Tensor) or v._trace.records or v._trace.batches or v._trace.level == 0
