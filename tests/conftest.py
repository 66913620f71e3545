import os
import sys

import numpy as np
import pytest

import chainrule as cr

try:
    from hypothesis import settings
except ImportError:  # installed by the test extra; without it, only its tests fail
    settings = None
if settings is not None:
    # By default every run draws the same examples, so a failing run points at a change in
    # the code, not at the programs chance drew. HYPOTHESIS_PROFILE=explore draws new ones
    # at each run: the way to hunt for new failures.
    settings.register_profile("repeatable", derandomize=True, database=None)
    settings.register_profile("explore", derandomize=False)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture
def one_torch_thread():
    """PyTorch on one thread for the test: its intra-op threads only spin and wait on
    programs as small as the tests' (several times slower on a busy machine)."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
