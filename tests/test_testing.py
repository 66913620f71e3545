"""chainrule.testing.assert_close against torch.testing.assert_close: the same pairs pass
and fail, with PyTorch's default tolerances per dtype."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

CASES = [
    # (actual, expected, keyword arguments)
    ([1.0, 2.0], [1.0, 2.0 + 1e-9], {}),
    ([1.0, 2.0], [1.0, 2.0 + 1e-6], {}),
    ([1.0, 2.0], [1.0, 2.1], {}),
    ([1.0, 2.0], [1.0, 2.1], {"rtol": 0.1, "atol": 0.0}),
    ([float("nan")], [float("nan")], {}),
    ([float("nan")], [float("nan")], {"equal_nan": True}),
    ([float("inf")], [float("inf")], {}),
    ([float("inf")], [-float("inf")], {}),
    ([1, 2], [1, 3], {}),
    ([1, 2], [1, 2], {}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("actual, expected, kwargs", CASES)
def test_same_verdict_as_pytorch(actual, expected, kwargs, dtype):
    if isinstance(actual[0], int):
        dtype = "int64"
    a, e = np.array(actual, dtype), np.array(expected, dtype)
    try:
        torch.testing.assert_close(torch.tensor(a), torch.tensor(e), **kwargs)
        theirs = True
    except AssertionError:
        theirs = False
    try:
        cr.testing.assert_close(cr.tensor(a), cr.tensor(e), **kwargs)
        ours = True
    except AssertionError:
        ours = False
    assert ours == theirs


def test_float32_tolerance_is_pytorchs():
    one = np.float32(1.0)
    near = np.nextafter(one, np.float32(2), dtype=np.float32) + np.float32(1e-6)
    cr.testing.assert_close(cr.tensor([one]), cr.tensor([near]))
    torch.testing.assert_close(torch.tensor([one]), torch.tensor([near]))


def test_structure_shape_and_dtype_mismatches_are_reported():
    cr.testing.assert_close({"a": [cr.ones(2)], "b": 1.0}, {"a": [cr.ones(2)], "b": 1.0 + 1e-9})
    with pytest.raises(AssertionError, match="'shape' do not match"):
        cr.testing.assert_close(cr.ones(2), cr.ones(3))
    with pytest.raises(AssertionError, match="'dtype' do not match"):
        cr.testing.assert_close(cr.ones(2), cr.ones(2, dtype=cr.float32))
    cr.testing.assert_close(cr.ones(2), cr.ones(2, dtype=cr.float32), check_dtype=False)
    with pytest.raises(AssertionError, match="keys"):
        cr.testing.assert_close({"a": 1.0}, {"b": 1.0})
    with pytest.raises(AssertionError, match=r"item \[1\]"):
        cr.testing.assert_close([cr.ones(1), cr.ones(1)], [cr.ones(1), cr.zeros(1)])
    with pytest.raises(AssertionError, match="custom"):
        cr.testing.assert_close(cr.ones(1), cr.zeros(1), msg="custom")
    with pytest.raises(ValueError, match="both rtol and atol"):
        cr.testing.assert_close(cr.ones(1), cr.ones(1), rtol=1e-3)
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 3"):
        cr.testing.assert_close(cr.tensor([1.0, 2.0, 3.0]), cr.tensor([1.0, 2.0, 4.0]))
    cr.testing.assert_allclose(cr.tensor([float("nan"), 1.0]), np.array([float("nan"), 1.0]))
