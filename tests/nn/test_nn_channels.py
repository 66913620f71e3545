"""local_response_norm, channel_shuffle, max_unpool1d/2d/3d (and their layers) and
nn.DataParallel against torch: values, gradients (per example under vmap too), reprs and
state-dict keys."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(2, 5, 4), (2, 7, 3, 3), (1, 4, 2, 2, 2)])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_local_response_norm_is_torch_s(shape, size):
    x = rng.standard_normal(shape)
    w = rng.standard_normal(shape)
    out = []
    for lib in (cr, torch):
        a = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.local_response_norm(a, size, alpha=0.1, beta=0.6, k=2.0)
        (y * lib.tensor(w)).sum().backward()
        layer = lib.nn.LocalResponseNorm(size, alpha=0.1, beta=0.6, k=2.0)
        out.append((y.detach().numpy(), a.grad.numpy(), layer(lib.tensor(x)).detach().numpy(), repr(layer)))
    for a, b in zip(out[0][:3], out[1][:3], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert out[0][3] == out[1][3]


def test_channel_shuffle_is_torch_s():
    x = rng.standard_normal((2, 6, 3, 2))
    for groups in (1, 2, 3, 6):
        got = F.channel_shuffle(cr.tensor(x), groups).numpy()
        assert np.array_equal(got, torch.nn.functional.channel_shuffle(torch.tensor(x), groups).numpy())
        assert np.array_equal(cr.nn.ChannelShuffle(groups)(x), torch.nn.ChannelShuffle(groups)(torch.tensor(x)))
    assert repr(cr.nn.ChannelShuffle(3)) == repr(torch.nn.ChannelShuffle(3))
    with pytest.raises(ValueError, match="divisible"):
        F.channel_shuffle(x, 4)


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(2, None, 0), (3, 2, 1), ((2, 4), (2, 2), 0)])
def test_max_unpool2d_inverts_max_pool_as_torch_s(kernel, stride, padding):
    x = rng.standard_normal((2, 3, 6, 8))
    pooled, idx = torch.nn.functional.max_pool2d(torch.tensor(x), kernel, stride, padding, return_indices=True)
    w = rng.standard_normal(x.shape)
    out = []
    for lib in (cr, torch):
        v = lib.tensor(pooled.numpy(), requires_grad=True)
        y = lib.nn.functional.max_unpool2d(v, lib.tensor(idx.numpy()), kernel, stride, padding,
                                           output_size=x.shape[-2:])
        (y * lib.tensor(w)).sum().backward()  # overlapping windows: each gets its position's gradient
        layer = lib.nn.MaxUnpool2d(kernel, stride, padding)
        out.append((y.detach().numpy(), v.grad.numpy(), layer(lib.tensor(pooled.numpy()), lib.tensor(idx.numpy()),
                                                               output_size=x.shape).numpy(), repr(layer)))
    for a, b in zip(out[0][:3], out[1][:3], strict=True):
        np.testing.assert_array_equal(a, b)
    assert out[0][3] == out[1][3]
    # with our own pooling's indices
    ours_pooled, ours_idx = F.max_pool2d(cr.tensor(x), kernel, stride, padding, return_indices=True)
    np.testing.assert_array_equal(F.max_unpool2d(ours_pooled, ours_idx, kernel, stride, padding,
                                                 output_size=x.shape[-2:]).numpy(), out[1][0])


def test_max_unpool1d_and_bad_indices():
    x = rng.standard_normal((2, 3, 9))
    pooled, idx = torch.nn.functional.max_pool1d(torch.tensor(x), 3, 2, return_indices=True)
    got = F.max_unpool1d(cr.tensor(pooled.numpy()), cr.tensor(idx.numpy()), 3, 2, output_size=(9,))
    np.testing.assert_array_equal(got.numpy(), torch.nn.functional.max_unpool1d(pooled, idx, 3, 2, output_size=(9,)))
    assert repr(cr.nn.MaxUnpool1d(3, stride=2, padding=1)) == repr(torch.nn.MaxUnpool1d(3, stride=2, padding=1))
    with pytest.raises(IndexError, match="outside the output"):
        F.max_unpool2d(np.ones((1, 1, 1, 1)), np.array([[[[9]]]]), 2)



@pytest.mark.parametrize("dims", [1, 2, 3])
def test_max_unpool_under_vmap_with_indices_per_example(dims):
    # pool-then-unpool of each example (the pooling's indices differ between examples):
    # the stacked loop's values and torch.func's per-example gradients
    x = rng.standard_normal((3, 2, 2) + (4,) * dims)  # 3 examples (3, 2 channels, ...) each
    w = rng.standard_normal(x.shape[1:])
    for lib in (cr, torch):
        functional = lib.nn.functional
        pool, unpool = (getattr(functional, f"max_pool{dims}d"), getattr(functional, f"max_unpool{dims}d"))

        def f(v, pool=pool, unpool=unpool):
            return unpool(*pool(v, 2, return_indices=True), 2)

        vmap, grad = (cr.vmap, cr.grad) if lib is cr else (torch.func.vmap, torch.func.grad)
        got = vmap(f)(lib.tensor(x))
        grads = vmap(grad(lambda v, f=f, lib=lib: (f(v) * lib.tensor(w)).sum()))(lib.tensor(x))
        if lib is cr:
            ours = got, grads
            np.testing.assert_array_equal(got, np.stack([f(v) for v in x]))
    np.testing.assert_array_equal(ours[0], got.numpy())
    np.testing.assert_array_equal(ours[1], grads.numpy())
    if dims == 2:  # given indices batched alone, and one out of range in one example
        pooled, idx = F.max_pool2d(x[0, 0], 2, return_indices=True)
        idxs = np.stack([idx, np.roll(idx, 1, axis=-1)])
        np.testing.assert_array_equal(cr.vmap(lambda i: F.max_unpool2d(pooled, i, 2), in_axes=0)(idxs),
                                      np.stack([F.max_unpool2d(pooled, i, 2) for i in idxs]))
        with pytest.raises(IndexError, match="outside the output"):
            cr.vmap(lambda i: F.max_unpool2d(pooled, i, 2))(np.stack([idx, idx + 16]))


def test_data_parallel_wraps_a_model_as_torch_s_does_without_gpus():
    results = []
    for lib in (cr, torch):
        lib.manual_seed(0)
        inner = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.ReLU())
        model = lib.nn.DataParallel(inner, device_ids=[0, 1])
        x = lib.ones(4, 3)
        results.append((repr(model), list(model.state_dict()), model.module is inner,
                        model(x).shape == inner(x).shape))
    assert results[0] == results[1]
    model = cr.nn.DataParallel(cr.nn.Linear(3, 1, rng=0))
    assert np.array_equal(model(np.ones((2, 3), np.float32)).detach().numpy(),
                          model.module(np.ones((2, 3), np.float32)).detach().numpy())
    assert cr.nn.parallel.DataParallel is cr.nn.DataParallel
