"""PyTorch's creation and joining functions (chainrule.zeros, arange, cat, stack, ...)
against torch: shapes, values, dtypes (float64 where torch's default is float32), and the
gradient through cat and stack."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

# name: a call written the same way for both libraries
CALLS = {
    "zeros_args": lambda lib: lib.zeros(2, 3),
    "zeros_tuple": lambda lib: lib.zeros((2, 3)),
    "zeros_empty": lambda lib: lib.zeros(0, 4),
    "ones_list": lambda lib: lib.ones([3]),
    "full_int": lambda lib: lib.full((2,), 7),
    "full_float": lambda lib: lib.full((2, 2), 0.25),
    "full_bool": lambda lib: lib.full((3,), True),
    "arange_int": lambda lib: lib.arange(5),
    "arange_start_stop": lambda lib: lib.arange(2, 9, 3),
    "arange_float": lambda lib: lib.arange(0, 1, 0.25),
    "arange_negative_step": lambda lib: lib.arange(5, 0, -2),
    "linspace": lambda lib: lib.linspace(-1, 1, 5),
    "logspace": lambda lib: lib.logspace(0, 2, 3),
    "logspace_base": lambda lib: lib.logspace(-1, 1, 3, base=2),
    "tril_indices": lambda lib: lib.tril_indices(3, 4, -1),
    "triu_indices": lambda lib: lib.triu_indices(4, 3, 1),
    "eye": lambda lib: lib.eye(3),
    "eye_rect": lambda lib: lib.eye(2, 4),
    "zeros_like_int": lambda lib: lib.zeros_like(lib.arange(3)),
    "ones_like": lambda lib: lib.ones_like(lib.zeros(2, 2)),
    "full_like": lambda lib: lib.full_like(lib.zeros(3), 2.5),
    "cat_dim1": lambda lib: lib.cat([lib.zeros(2, 1), lib.ones(2, 3)], dim=1),
    "cat_tuple": lambda lib: lib.cat((lib.arange(2), lib.arange(3))),
    "stack_dim_neg": lambda lib: lib.stack([lib.arange(3), lib.arange(3) * 2], dim=-1),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_creation_matches_torch(name):
    ours, theirs = CALLS[name](cr), CALLS[name](torch)
    assert isinstance(ours, cr.Tensor)
    expected = theirs.numpy()
    if expected.dtype == np.float32:  # torch's float default; ours is NumPy's float64
        expected = expected.astype(np.float64)
    assert ours.dtype == expected.dtype
    assert ours.shape == expected.shape
    np.testing.assert_array_equal(ours.numpy(), expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_set_default_dtype_applies(dtype):
    cr.set_default_dtype(dtype)
    try:
        assert cr.zeros(2).dtype == cr.randn(2).dtype == cr.arange(0.0, 1.0).dtype == np.dtype(dtype)
        assert cr.arange(3).dtype == np.int64
    finally:
        cr.set_default_dtype(None)


def test_requires_grad_and_gradient_through_cat_and_stack():
    results = []
    for lib in (cr, torch):
        a = lib.ones(2, 3, dtype=lib.float64, requires_grad=True)
        b = lib.full((1, 3), 2.0, dtype=lib.float64, requires_grad=True)
        y = lib.stack([lib.cat([a, b]) * lib.arange(3.0), lib.cat([b, a])], dim=1)
        (y ** 2).sum().backward()
        results.append((a.grad.tolist(), b.grad.tolist()))
    assert results[0] == results[1]


def test_from_numpy_shares_memory_and_cat_refuses_nothing_silently():
    a = np.zeros(3)
    t = cr.from_numpy(a)
    t[1] = 5.0
    assert a.tolist() == [0.0, 5.0, 0.0]
    with pytest.raises(TypeError, match="from_numpy expects a numpy.ndarray"):
        cr.from_numpy([1.0, 2.0])
    with pytest.raises(ValueError):
        cr.cat([cr.zeros(2, 2), cr.zeros(3)])


DTYPE_NAMES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "complex64",
               "complex128", "half", "float", "double", "short", "int", "long", "bool", "cfloat", "cdouble"]


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_dtype_names_are_torch_s(name):
    ours, theirs = getattr(cr, name), getattr(torch, name)
    assert str(ours) == str(theirs).removeprefix("torch.")
    data = [0, 1, 2]
    made = [cr.tensor(data, dtype=ours), cr.zeros(3, dtype=ours), cr.tensor([0.0, 1.5, 2.0]).to(ours),
            cr.tensor([0.0, 1.5, 2.0]).to(dtype=ours)]
    expected = [torch.tensor(data, dtype=theirs), torch.zeros(3, dtype=theirs),
                torch.tensor([0.0, 1.5, 2.0]).to(theirs), torch.tensor([0.0, 1.5, 2.0]).to(dtype=theirs)]
    for a, b in zip(made, expected, strict=True):
        assert a.dtype == ours and a.dtype is np.dtype(str(theirs).removeprefix("torch."))
        assert a.tolist() == b.tolist()


def test_dtype_names_work_in_the_layers_and_with_finfo():
    assert cr.nn.Linear(2, 3, dtype=cr.float64).weight.dtype == cr.float64
    assert cr.nn.Linear(2, 3).to(cr.float64).bias.dtype is cr.float64
    assert cr.finfo(cr.float32).eps == torch.finfo(torch.float32).eps
    assert cr.iinfo(cr.int32).max == torch.iinfo(torch.int32).max
    assert cr.is_tensor(cr.zeros(1)) and not cr.is_tensor(np.zeros(1))


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_gives_pythons_numbers_as_torchs(name):
    # HF's masks: torch.tensor(torch.finfo(dtype).min) takes the default dtype, not float32
    ours, theirs = cr.finfo(getattr(cr, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, attr) == getattr(theirs, attr) and type(getattr(ours, attr)) is type(getattr(theirs, attr))
    assert cr.tensor(ours.min).dtype == np.float64 == cr.full((2,), ours.min).dtype
    assert cr.finfo().dtype == "float64"  # no dtype: the default one
    # torch.dtype: the class of the dtypes (HF's annotations dtype: torch.dtype, isinstance checks)
    assert isinstance(cr.float32, cr.dtype) and isinstance(cr.tensor([1]).dtype, cr.dtype)
    assert cr.finfo(cr.complex64).eps == cr.finfo(cr.float32).eps


def test_arange_into_out_as_tacotron_builds_its_mask():
    # NVIDIA/tacotron2's get_mask_from_lengths
    for lib in (cr, torch):
        ids = lib.arange(0, 4, out=lib.LongTensor(4))
        assert ids.tolist() == [0, 1, 2, 3] and ids.dtype == lib.int64
        out = lib.zeros(3)
        assert lib.arange(3, out=out) is out and out.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(TypeError, match=r"out must be a Tensor of the result's size \(3,\)"):
        cr.arange(3, out=cr.zeros(2))


@pytest.mark.parametrize("make", [
    lambda lib, t: lib.zeros_like(t), lambda lib, t: lib.ones_like(t), lambda lib, t: lib.full_like(t, 2.5),
    lambda lib, t: lib.zeros_like(t, dtype=lib.float32),
], ids=["zeros_like", "ones_like", "full_like", "zeros_like_dtype"])
def test_the_like_constructors_under_vmap_are_torch_funcs(make):
    """Under vmap they read an example's shape, as torch.func.vmap's (a standard-normal
    prior of the encoder's shape in a VAE loss vmapped over batches)."""
    x = np.arange(6.0).reshape(2, 3)
    ours = cr.vmap(lambda t: t * 0 + make(cr, t))(cr.tensor(x))
    theirs = torch.func.vmap(lambda t: t * 0 + make(torch, t))(torch.tensor(x))
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())
    assert ours.dtype == theirs.numpy().dtype
