"""Places where a program written for PyTorch, run with ``import chainrule as torch``,
met a difference from PyTorch 2.13 (the oracle here): each test checks that chainrule
now behaves as PyTorch does."""

import itertools

import pytest

import chainrule as cr
from chainrule.torch_version import TorchVersion

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

VERSIONS = ["1.0", "1.0.0", "1.0a1", "1.0b2", "1.0rc1", "1.0.dev1", "1.0a1.dev2", "1.0.post1", "1.0.post1.dev3",
            "1.0+abc", "1.0+5", "1.0+abc.5", "1.0+5.abc", "1!0.1", "v1.2", "2.13", "2.13.0+cpu", "parrot"]


def test_version_compares_as_pytorchs_torchversion():
    v = cr.__version__
    assert isinstance(v, str) and v == "2.13.0+chainrule0.1.0" and cr.version.__version__ == v
    assert v >= "1.9" and v > (2, 0) and v < "2.14" and v > "2.13" and not v < "1.10"
    assert cr.version.chainrule == "0.1.0" and cr.version.cuda is None
    packaging = pytest.importorskip("packaging.version")
    assert packaging.parse(v) >= packaging.parse("2.0") and v > packaging.Version("2.1")
    theirs = type(torch.__version__)
    for a, b in itertools.product(VERSIONS, VERSIONS):
        for method in ("__eq__", "__lt__", "__le__", "__gt__", "__ge__"):
            assert getattr(TorchVersion(a), method)(b) == getattr(theirs(a), method)(b), (a, method, b)
    assert {TorchVersion("1.0"): 1}["1.0"] == 1
