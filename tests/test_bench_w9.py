"""W9 (bench/w9.py): every row's gradients agree with PyTorch's float64 gradient at the
same weights, on the small sizes of --quick (the timing itself is not tested)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import w9  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("kind", sorted(w9.QUICK))
def test_every_row_computes_the_reference_gradient(kind):
    reference, rows = w9.cases(kind, w9.QUICK[kind])
    assert [name for name, _, _ in rows] == ["torch", "chainrule (nn+optim)", "chainrule (jit)"]
    for name, step, grads in rows:
        assert w9.relative_error(grads(), reference) <= w9.TOLERANCE, name
        step()  # one training step runs
        assert all(np.all(np.isfinite(g)) for g in grads())


def test_table_formats_every_row():
    results = {"lstm": {"spec": {}, "rows": [
        {"name": "torch", "status": "ok", "ms": 2.0, "vs_torch": 1.0, "grad_error": 1e-7},
        {"name": "chainrule (jit)", "status": "FAILED", "grad_error": 0.5}]}}
    table = w9.format_table(results)
    assert "| lstm | torch | 2.0 | 1.00 | 1.0e-07 |" in table and "FAILED" in table
