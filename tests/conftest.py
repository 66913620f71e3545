import sys

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _initial_default_dtypes():
    """Tests set the default dtype as scripts do; the next test starts from the initial
    defaults again (float32 parameters, float64 Python floats), whatever the order."""
    yield
    cr.set_default_dtype(None)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_default_dtype(torch.float32)
