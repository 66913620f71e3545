"""chainrule.set_printoptions against torch.set_printoptions: the same options give a
Tensor's repr the same values text."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.tensor import PRINT_OPTIONS
from chainrule.numpy.torch_runtime import get_printoptions

torch = pytest.importorskip("torch")

OPTIONS = [{"precision": 2}, {"precision": 6}, {"sci_mode": True}, {"sci_mode": False},
           {"precision": 3, "sci_mode": False}, {"threshold": 5}, {"threshold": 5, "edgeitems": 1},
           {"linewidth": 30}, {"profile": "short"}, {"profile": "full"}, {"profile": "default"},
           {"precision": 1, "sci_mode": True}]
VALUES = {"mixed": [1.123456789, 2.0, 3.5], "wide": [1e-5, 1.0, 3e5], "whole": [1.0, 2.0],
          "long": [float(i) for i in range(10)], "nonfinite": [float("nan"), 1.5, float("inf")],
          "0-d": 3.14159, "matrix": [[1.5, 2.25], [3.0, 4.125]], "repeated": [0.1] * 12,
          "negative": [-1.25, 0.5], "empty": [], "huge": [1e9, 2.0]}


@pytest.fixture(autouse=True)
def _default_options():
    yield
    PRINT_OPTIONS.clear()
    torch.set_printoptions(profile="default", sci_mode=None)


def _text(L, values, dtype):
    # PyTorch's summary puts two spaces before its "..."; NumPy's one. chainrule's repr has no dtype
    text = repr(L.tensor(values, dtype=getattr(L, dtype))).replace("tensor(", "Tensor(").replace(",  ...", ", ...")
    return re.sub(r", dtype=torch\.\w+", "", text)


@pytest.mark.parametrize("values", sorted(VALUES))
@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_repr_follows_the_print_options_as_pytorch(options, values, dtype):
    if dtype == "int64" and values not in ("long", "whole", "matrix", "empty"):
        pytest.skip("integer data only")
    data = VALUES[values] if dtype == "float32" else np.floor(VALUES[values]).astype(int).tolist()
    torch.set_printoptions(**options)
    cr.set_printoptions(**options)
    assert _text(cr, data, dtype) == _text(torch, data, dtype)
    assert get_printoptions() == torch._tensor_str.get_printoptions()


def test_options_accumulate_and_sci_mode_is_always_set():
    cr.set_printoptions(precision=2, sci_mode=True)
    cr.set_printoptions(threshold=10)
    assert get_printoptions() == {"precision": 2, "threshold": 10, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def test_an_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="profile"):
        cr.set_printoptions(profile="long")
