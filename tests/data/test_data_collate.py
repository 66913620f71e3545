"""default_collate against PyTorch's on the samples datasets give: Python numbers of
each kind, numbers mixed with other things, strings inside tuples, lists and dicts, and
NumPy arrays that no Tensor can hold."""

import collections

import numpy as np
import pytest

import chainrule as cr
from chainrule import data
from chainrule.data import DataLoader, default_collate

torch = pytest.importorskip("torch")
tdata = torch.utils.data
pytestmark = pytest.mark.usefixtures("one_torch_thread")
Pair = collections.namedtuple("Pair", "name value")


def same(ours, theirs):
    """The same containers, strings and numbers, Tensors of the same dtype and values."""
    if isinstance(theirs, torch.Tensor):
        return (isinstance(ours, cr.Tensor) and str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
                and np.array_equal(ours.numpy(), theirs.numpy()))
    if isinstance(theirs, dict):
        return type(ours) is type(theirs) and ours.keys() == theirs.keys() and all(
            same(ours[k], theirs[k]) for k in theirs)
    if isinstance(theirs, list | tuple):
        return (type(ours) is type(theirs) and len(ours) == len(theirs)
                and all(same(a, b) for a, b in zip(ours, theirs, strict=True)))
    return ours == theirs


@pytest.mark.parametrize("samples", [
    [1, 2, 3], [True, False], [True, 2], [1.5, 2.0], [-(2**63), 2**63 - 1], [np.int8(3), np.int8(4)],
    [("a", 1), ("b", 2)], [["a", "b"], ["c", "d"]], [Pair("a", 1.0), Pair("b", 2.0)],
    [{"id": "a", "x": (np.float32(1), "p")}, {"id": "b", "x": (np.float32(2), "q")}],
    [("a", ("p", 1)), ("b", ("q", 2))], ["a", "b"],
])
def test_collated_as_pytorch_collates(samples):
    assert same(default_collate(samples), tdata.default_collate(samples))


def test_a_loader_gives_a_tuple_of_strings_for_a_string_field_as_pytorchs():
    samples = [("cat", 0), ("dog", 1), ("eel", 2)]
    (names, labels), = DataLoader(samples, batch_size=3)
    (tnames, tlabels), = tdata.DataLoader(samples, batch_size=3)
    assert names == tnames == ("cat", "dog", "eel") and labels.tolist() == tlabels.tolist()


@pytest.mark.parametrize("samples, error", [
    ([1, None], TypeError), ([1, "a"], TypeError), ([2.5, "a"], TypeError), ([1, [2]], TypeError),
    ([2**63, 1], ValueError), ([2**70, 0], ValueError),
])
def test_numbers_mixed_with_other_things_or_too_large_are_refused_as_by_pytorch(samples, error):
    with pytest.raises(RuntimeError if samples[1] is None else error):
        tdata.default_collate(samples)
    with pytest.raises(error, match="default_collate: .*(holds a|do not fit in int64)"):
        default_collate(samples)  # not a Tensor of objects or strings, nor rounded to a float


@pytest.mark.parametrize("samples", [
    [np.array(["2020-01-01"], "datetime64[D]")] * 2, [np.array([5], "timedelta64[s]")] * 2,
    [np.float32(1), "a"],
])
def test_arrays_no_tensor_holds_are_refused_as_by_pytorch(samples):
    with pytest.raises(TypeError):
        tdata.default_collate(samples)
    with pytest.raises(TypeError, match="default_collate"):
        default_collate(samples)


@pytest.mark.parametrize("sample", [np.array(["2020-01-01"], "datetime64[D]"), np.timedelta64(5, "s"),
                                    np.array([(1, 2.0)], dtype="i4,f8")])
def test_default_convert_refuses_what_no_tensor_holds_as_pytorchs(sample):
    with pytest.raises(TypeError):
        tdata.default_convert(sample)
    with pytest.raises(TypeError, match="default_convert: a Tensor cannot hold"):
        data.default_convert(sample)
    assert data.default_convert(np.array(["a"])).tolist() == tdata.default_convert(np.array(["a"])).tolist()


class Row(list):
    """A list subclass with an attribute of its own, as a dataset may give per sample."""

    source = "disk"


@pytest.mark.parametrize("default", [None, "float32"])
@pytest.mark.parametrize("samples", [
    [1, 2.5], [True, 2.5], [1, np.float32(2.5)], [1, np.float16(2)], [True, np.int8(3)], [1, np.int8(2)],
    [Row([1, 2]), Row([3, 4])], [[Row([1, "a"])], [Row([2, "b"])]], [{"x": Row([1.5])}, {"x": Row([2.5])}],
    [np.ones(2, np.int32), np.ones(2, np.float32)], [np.float32(1), 2], [np.int32(1), 2.5],
    [np.array(1, np.int32), 2.5], [np.ones(2, np.int64), np.ones(2, np.float16)], [np.uint8(1), np.int8(-1)],
    [np.ones(2, bool), np.ones(2, np.uint8)], [(np.int16(1), np.float32(2)), (np.int16(3), 4)],
])
def test_numbers_arrays_and_list_subclasses_collate_as_pytorchs(samples, default):
    # a float among Python integers is torch.tensor's: the default dtype (float64 by
    # default in chainrule, float32 after set_default_dtype, PyTorch's default); NumPy
    # scalars promoted by kind; a list subclass keeps its class, as PyTorch's clone of it
    if default is None:
        cr_default = cr.tensor([0.5]).dtype
        torch.set_default_dtype(getattr(torch, str(cr_default)))
    else:
        cr.set_default_dtype(cr.float32)
    assert same(default_collate(samples), tdata.default_collate(samples))
    assert same(data.default_convert(samples[0]), tdata.default_convert(samples[0]))
    (batch,) = DataLoader(samples, batch_size=len(samples))
    (tbatch,) = tdata.DataLoader(samples, batch_size=len(samples))
    assert same(batch, tbatch)
    if isinstance(samples[0], Row):
        assert type(batch) is Row and batch.source == "disk"
