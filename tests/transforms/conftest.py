import pytest


@pytest.fixture(autouse=True, scope="module")
def kernel_cache(tmp_path_factory):
    """Fused kernels compiled by a test module go to a directory of its own, not to the
    user's cache (a test may ask for the directory by this name)."""
    mp = pytest.MonkeyPatch()
    directory = tmp_path_factory.mktemp("fused")
    mp.setenv("CHAINRULE_FUSED_CACHE", str(directory))
    yield directory
    mp.undo()
