"""Module methods PyTorch programs call beyond the core ones (share_memory, set_submodule,
to_empty, type, compile) and Tensor.is_inference, each against PyTorch's answer."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LIBS = [pytest.param((cr, nn), id="chainrule"), pytest.param((torch, torch.nn), id="torch")]


def _tree(lnn):
    inner = lnn.Sequential(lnn.Linear(2, 2), lnn.ReLU())
    return lnn.Sequential(inner, lnn.Linear(2, 1))


@pytest.mark.parametrize("lib", LIBS)
def test_share_memory_returns_the_module(lib):
    _, lnn = lib
    m = _tree(lnn)
    assert m.share_memory() is m


@pytest.mark.parametrize("lib", LIBS)
def test_set_submodule_replaces_and_adds_as_torch(lib):
    _, lnn = lib
    m = _tree(lnn)
    assert m.set_submodule("0.1", lnn.Tanh()) is None
    assert type(m[0][1]).__name__ == "Tanh"
    m.set_submodule("0.extra", lnn.Identity())  # a new name under an existing parent
    assert [n for n, _ in m.named_children()] == ["0", "1"] and "extra" in dict(m[0].named_children())
    m.set_submodule("0.extra", lnn.ReLU(), strict=True)
    assert type(m.get_submodule("0.extra")).__name__ == "ReLU"


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize(("target", "module", "strict", "error"), [
    ("", "relu", False, ValueError),  # no target
    ("0.1", "not a module", False, ValueError),
    ("0.nope", "relu", True, AttributeError),  # strict: the name must exist
    ("missing.child", "relu", False, AttributeError),  # the parent must exist
    ("0.0.weight", "relu", False, AttributeError),  # a parameter is not a Module
])
def test_set_submodule_errors_as_torch(lib, target, module, strict, error):
    _, lnn = lib
    m = _tree(lnn)
    with pytest.raises(error):
        m.set_submodule(target, lnn.ReLU() if module == "relu" else module, strict=strict)


@pytest.mark.parametrize("lib", LIBS)
def test_to_empty_keeps_shapes_dtypes_and_parameter_objects(lib):
    _, lnn = lib
    m = _tree(lnn)
    m.append(lnn.BatchNorm1d(1))
    params = list(m.parameters())
    before = {n: (tuple(p.shape), str(p.dtype)) for n, p in m.state_dict(keep_vars=True).items()}
    assert m.to_empty(device="cpu") is m
    after = m.state_dict(keep_vars=True)
    assert list(after) == list(before)
    for n, (shape, dtype) in before.items():
        assert tuple(after[n].shape) == shape and str(after[n].dtype) == dtype
    assert all(a is b for a, b in zip(params, m.parameters(), strict=True))  # the optimizer's stay valid


@pytest.mark.parametrize("lib", LIBS)
def test_to_empty_without_recursion_leaves_the_children(lib):
    lt, lnn = lib
    m = lnn.Linear(2, 2)
    m.child = lnn.Linear(2, 2)
    kept = m.child.weight.detach().clone()
    m.to_empty(device="cpu", recurse=False)
    assert lt.equal(m.child.weight.detach(), kept)


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("spelling", ["dtype", "torch.DoubleTensor"])
def test_type_casts_parameters_and_buffers(lib, spelling):
    lt, lnn = lib
    m = lnn.Sequential(lnn.Linear(2, 2), lnn.BatchNorm1d(2))
    params = list(m.parameters())
    assert m.type(lt.float64 if spelling == "dtype" else spelling) is m
    dtypes = {n: str(t.dtype).removeprefix("torch.") for n, t in m.state_dict().items()}
    assert set(dtypes.values()) == {"float64"}  # num_batches_tracked too, as PyTorch's
    assert all(a is b for a, b in zip(m.parameters(), params, strict=True))
    out = m(lt.ones(3, 2, dtype=lt.float64))
    assert str(out.dtype).removeprefix("torch.") == "float64"


def test_compile_returns_none_and_the_module_runs_as_before():
    m = nn.Linear(2, 1, dtype=np.float64)
    x = cr.ones(3, 2, dtype=np.float64)
    before = m(x).detach().numpy()
    assert m.compile() is None and m.compile(mode="max-autotune", fullgraph=True) is None
    np.testing.assert_array_equal(m(x).detach().numpy(), before)
    with pytest.raises(TypeError):
        m.compile(no_such_option=1)


@pytest.mark.parametrize("lib", LIBS)
def test_is_inference_of_ordinary_tensors(lib):
    lt, lnn = lib
    x = lt.ones(2)
    with lt.no_grad():
        y = x * 2
    assert (x.is_inference(), y.is_inference(), lnn.Linear(2, 2).weight.is_inference()) == (False, False, False)
