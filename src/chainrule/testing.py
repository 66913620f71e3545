"""PyTorch's ``torch.testing.assert_close``, for test suites written with it: two values
(Tensors, arrays, numbers, or sequences and mappings of them) are close when their types
of container, shapes and dtypes agree and every element satisfies
``|actual - expected| <= atol + rtol * |expected|``, with PyTorch's default tolerances per
dtype (float32: rtol 1.3e-6, atol 1e-5; float64: 1e-7 and 1e-7; integers and booleans:
exact).

>>> import chainrule as cr
>>> cr.testing.assert_close(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0 + 1e-9]))
>>> cr.testing.assert_close(cr.tensor([1.0]), cr.tensor([1.1]))
Traceback (most recent call last):
...
AssertionError: Tensor-likes are not close!
<BLANKLINE>
Mismatched elements: 1 / 1 (100.0%)
Greatest absolute difference: 0.10000000000000009 at index (0,) (up to 1e-07 allowed)
Greatest relative difference: 0.09090909090909098 at index (0,) (up to 1e-07 allowed)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor

__all__ = ["assert_close", "assert_allclose"]

# PyTorch's default (rtol, atol) by dtype
_TOLERANCES = {
    np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5), np.dtype(np.float64): (1e-7, 1e-7),
    np.dtype(np.complex64): (1.3e-6, 1e-5), np.dtype(np.complex128): (1e-7, 1e-7),
}


def _array(x) -> np.ndarray:
    while isinstance(x, Tensor):
        x = x._value
    return np.asarray(x)


def _is_tensor_like(x) -> bool:
    return isinstance(x, Tensor | np.ndarray | np.generic | int | float | complex | bool)


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Raise an AssertionError saying where ``actual`` and ``expected`` differ (see the
    module's docstring); ``rtol`` and ``atol`` are given together or not at all."""
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: give both rtol and atol, or neither (then the dtype's defaults apply)")
    _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, path="")


def _fail(text: str, msg, path: str) -> None:
    if path:
        text += f"\nThe failure occurred for item {path}"
    if callable(msg):
        text = msg(text)
    elif msg is not None:
        text = msg
    raise AssertionError(text)


def _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, path) -> None:
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            _fail(f"The keys of the mappings do not match: {sorted(map(str, actual))} != "
                  f"{sorted(map(str, expected))}", msg, path)
        for k in actual:
            _compare(actual[k], expected[k], rtol, atol, equal_nan, check_dtype, msg, f"{path}[{k!r}]")
        return
    if (isinstance(actual, Sequence) and not isinstance(actual, str)
            and isinstance(expected, Sequence) and not isinstance(expected, str)):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", msg, path)
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _compare(a, e, rtol, atol, equal_nan, check_dtype, msg, f"{path}[{i}]")
        return
    if not (_is_tensor_like(actual) and _is_tensor_like(expected)):
        raise TypeError(f"assert_close: cannot compare {type(actual).__name__} with {type(expected).__name__}")
    numbers = not isinstance(actual, Tensor | np.ndarray) and not isinstance(expected, Tensor | np.ndarray)
    if not numbers and isinstance(actual, Tensor) != isinstance(expected, Tensor):
        _fail(f"The types do not match: {type(actual).__name__} != {type(expected).__name__}", msg, path)
    a, e = _array(actual), _array(expected)
    if a.shape != e.shape:
        _fail(f"The values for attribute 'shape' do not match: {a.shape} != {e.shape}.", msg, path)
    if check_dtype and not numbers and a.dtype != e.dtype:
        _fail(f"The values for attribute 'dtype' do not match: {a.dtype} != {e.dtype}.", msg, path)
    if rtol is None:
        rtol, atol = _TOLERANCES.get(np.promote_types(a.dtype, e.dtype), (0.0, 0.0))
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        a, e = a.astype(np.int64 if a.dtype != bool else bool), e.astype(np.int64 if e.dtype != bool else bool)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a.astype(np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(e) else np.float64)
                      - e.astype(np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(e) else np.float64))
        close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if close.all():
        return
    bad = ~close
    kind = "Scalars are" if a.ndim == 0 else "Tensor-likes are"
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(bad, diff / np.abs(e), 0.0)
    worst_abs = np.unravel_index(int(np.nanargmax(np.where(bad, diff, -np.inf))) if not np.isnan(diff[bad]).all()
                                 else int(np.flatnonzero(bad)[0]), a.shape)
    worst_rel = np.unravel_index(int(np.nanargmax(rel)) if not np.isnan(rel[bad]).all()
                                 else int(np.flatnonzero(bad)[0]), a.shape)
    where = (lambda idx: f" at index {tuple(int(i) for i in idx)}") if a.ndim else (lambda idx: "")
    text = (f"{kind} not close!\n\nMismatched elements: {int(bad.sum())} / {a.size} "
            f"({100.0 * bad.sum() / a.size:.1f}%)\n"
            f"Greatest absolute difference: {diff[worst_abs]}{where(worst_abs)} (up to {atol} allowed)\n"
            f"Greatest relative difference: {rel[worst_rel]}{where(worst_rel)} (up to {rtol} allowed)")
    if a.ndim == 0:
        text = (f"{kind} not close!\n\nExpected {e.item()} but got {a.item()}.\n"
                f"Absolute difference: {diff.item()} (up to {atol} allowed)\n"
                f"Relative difference: {rel.item()} (up to {rtol} allowed)")
    _fail(text, msg, path)


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None, atol: float | None = None,
                    equal_nan: bool = True, msg: str = "") -> None:
    """PyTorch's older ``torch.testing.assert_allclose``: :func:`assert_close` on the values
    as arrays (a Tensor compares with an array or a list), without the dtype check, NaNs
    equal by default."""
    actual, expected = _array(actual), _array(expected)
    if rtol is None and atol is None:
        rtol = atol = None
    elif rtol is None or atol is None:
        rtol, atol = rtol or 0.0, atol or 0.0
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False, msg=msg or None)
