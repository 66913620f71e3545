"""F.affine_grid and F.grid_sample (PyTorch's spatial transformer) against torch: values
and gradients in the input, the grid and theta, for each mode, padding mode and
align_corners, float64 and float32, and points on pixel edges and outside the image."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
X = rng.standard_normal((2, 3, 5, 6))
GRID = rng.uniform(-1.3, 1.3, (2, 4, 7, 2))
GRID[0, 0, :4] = [[0.0, 0.0], [-1.0, 1.0], [1 / 6, 0.2], [1.0, -1.0]]  # pixel edges and corners


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_is_torch_s(mode, padding_mode, align_corners):
    out = []
    for lib in (cr, torch):
        x, g = lib.tensor(X, requires_grad=True), lib.tensor(GRID, requires_grad=True)
        y = lib.nn.functional.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
        (y * lib.tensor(np.arange(y.numel(), dtype=np.float64).reshape(tuple(y.shape)) % 7)).sum().backward()
        gg = np.zeros_like(GRID) if g.grad is None else g.grad.numpy()  # nearest: no gradient in the grid
        out.append((y.detach().numpy(), x.grad.numpy(), gg))
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_a_spatial_transformer_trains_as_torch_s():
    theta0 = np.array([[[0.9, 0.1, 0.05], [-0.2, 1.1, 0.0]], [[1.0, 0.0, 0.3], [0.0, 0.7, -0.1]]])
    img = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    results = []
    for lib in (cr, torch):
        theta = lib.tensor(theta0.astype(np.float32), requires_grad=True)
        opt = lib.optim.SGD([theta], lr=0.05)
        for _ in range(3):
            opt.zero_grad()
            grid = lib.nn.functional.affine_grid(theta, (2, 1, 6, 7), align_corners=False)
            warped = lib.nn.functional.grid_sample(lib.tensor(img), grid, align_corners=False)
            loss = (warped ** 2).mean()
            loss.backward()
            opt.step()
        results.append((str(warped.dtype).removeprefix("torch."), grid.detach().numpy(), theta.detach().numpy()))
    assert results[0][0] == results[1][0] == "float32"
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_and_its_gradient_are_torch_s(align_corners):
    theta = rng.standard_normal((2, 2, 3))
    out = []
    for lib in (cr, torch):
        t = lib.tensor(theta, requires_grad=True)
        grid = lib.nn.functional.affine_grid(t, (2, 3, 4, 5), align_corners=align_corners)
        (grid * lib.tensor(np.linspace(-1, 1, grid.numel()).reshape(tuple(grid.shape)))).sum().backward()
        out.append((grid.detach().numpy(), t.grad.numpy()))
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    identity = F.affine_grid(np.array([[[1.0, 0, 0], [0, 1.0, 0]]]), (1, 1, 3, 4), align_corners=align_corners)
    np.testing.assert_allclose(F.grid_sample(x, identity, align_corners=align_corners), x, atol=1e-12)


def test_defaults_warn_and_bad_arguments_are_refused_as_torch():
    for lib in (cr, torch):
        with pytest.warns(UserWarning, match="align_corners"):
            lib.nn.functional.affine_grid(lib.zeros(1, 2, 3), (1, 1, 2, 2))
        with pytest.warns(UserWarning, match="align_corners"):
            lib.nn.functional.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2))
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 1, 2)), padding_mode="wrap", align_corners=False)
    with pytest.raises(ValueError, match="theta"):
        F.affine_grid(np.zeros((1, 3, 3)), (1, 1, 2, 2), align_corners=False)
