"""chainrule.amp against torch.amp: GradScaler's scaling, skipping and scale updates give
PyTorch's parameters and scales step by step; autocast runs its block in full precision
(and says so once)."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _pair(init):
    w = cr.nn.Parameter(cr.tensor(init))
    tw = torch.nn.Parameter(torch.tensor(init))
    return w, tw


@pytest.mark.parametrize("enabled", [True, False])
def test_grad_scaler_steps_skips_and_rescales_as_pytorch(enabled):
    w, tw = _pair(np.array([1.0, -2.0, 0.5]))
    opt, topt = cr.optim.SGD([w], lr=0.1, momentum=0.9), torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    kw = dict(init_scale=2.0 ** 10, growth_factor=2.0, backoff_factor=0.5, growth_interval=2, enabled=enabled)
    scaler, tscaler = cr.amp.GradScaler("cpu", **kw), torch.amp.GradScaler("cpu", **kw)
    # a loss that overflows at steps 2 and 5 (inf in the gradients): those steps are skipped
    factors = [1.0, 1.0, float("inf"), 1.0, 1.0, float("inf"), 1.0, 1.0]
    for f in factors:
        for lib, p, o, s in ((cr, w, opt, scaler), (torch, tw, topt, tscaler)):
            o.zero_grad()
            loss = ((p * f) ** 2).sum() if f != 1.0 else (p ** 2 * lib.tensor(np.array([1.0, 2.0, 3.0]))).sum()
            s.scale(loss).backward()
            s.unscale_(o)
            s.step(o)
            s.update()
        np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-12, atol=1e-15)
        assert scaler.get_scale() == tscaler.get_scale()
        if f == 1.0:
            np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert scaler.state_dict() == tscaler.state_dict()
    restored = cr.amp.GradScaler("cpu", enabled=enabled)
    restored.load_state_dict(scaler.state_dict())
    assert restored.get_scale() == scaler.get_scale()


def test_grad_scaler_refuses_a_second_unscale_and_scales_pytrees():
    w = cr.nn.Parameter(cr.ones(2))
    opt = cr.optim.SGD([w], lr=0.1)
    s = cr.amp.GradScaler("cpu")
    a, b = s.scale([w.sum(), (w * 2).sum()])
    assert a.item() == 2.0 * 65536 and b.item() == 4.0 * 65536
    (a + b).backward()
    s.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])
    with pytest.raises(ValueError, match="growth_factor"):
        cr.amp.GradScaler(growth_factor=0.5)


@pytest.mark.parametrize("make", [lambda lib: lib.cuda.amp.GradScaler(enabled=True), lambda lib: lib.amp.GradScaler(),
                                  lambda lib: lib.amp.GradScaler("cuda", init_scale=8.0)])
def test_a_grad_scaler_for_cuda_is_disabled_without_cuda_as_pytorchs(make):
    # nanoGPT on a machine without CUDA: GradScaler(enabled=(dtype == 'float16')) with dtype float16
    with pytest.warns(UserWarning, match="CUDA is not available"):
        s = make(cr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = make(torch)
    assert s.is_enabled() == t.is_enabled() and s.get_scale() == t.get_scale()
    assert s.state_dict() == t.state_dict()
    loss = cr.tensor(3.0)
    assert s.scale(loss) is loss


@pytest.mark.parametrize("make", [
    lambda: cr.autocast("cpu", dtype=cr.bfloat16),
    lambda: cr.amp.autocast(device_type="cuda", dtype=cr.float16),
    lambda: cr.cuda.amp.autocast(),
    lambda: cr.cpu.amp.autocast(dtype=cr.bfloat16),
])
def test_autocast_runs_the_block_in_the_inputs_precision(make):
    lin = cr.nn.Linear(3, 2).double()
    x = cr.ones(4, 3, dtype=cr.float64)
    want = lin(x).detach().numpy()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with make():
            got = lin(x)
        decorated = make()(lambda t: lin(t))
        np.testing.assert_array_equal(decorated(x).detach().numpy(), want)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got.detach().numpy(), want)
    with cr.autocast("cpu", enabled=False):
        assert lin(x).dtype == np.float64
    with pytest.raises(TypeError, match="device_type"):
        cr.autocast(None)


def test_grad_scaler_unscales_each_gradient_once_when_a_sum_feeds_several_parameters():
    # x + b1 + b2 hands one cotangent array to both biases: unscaling one .grad in place
    # divided the other's too (by the scale squared), and the step barely moved them
    seen = []
    for lib in (torch, cr):
        b1 = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        b2 = lib.tensor([0.5, 0.5], dtype=lib.float64, requires_grad=True)
        opt = lib.optim.SGD([b1, b2], lr=0.1)
        scaler = lib.amp.GradScaler("cpu")
        x = lib.tensor([3.0, 4.0], dtype=lib.float64)
        scaler.scale(((x + b1 + b2) * x).sum()).backward()
        scaler.step(opt)
        scaler.update()
        seen.append([b1.detach().numpy().copy(), b2.detach().numpy().copy()])
    for ours, theirs in zip(seen[1], seen[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-14)


def test_grad_scaler_stages_are_checked_as_pytorchs():
    """Each misuse raises PyTorch's error, with its message, at the same call: an update
    without any step or unscale, a second step, an unscale after the step, a closure, and
    the scaling of something that is not a Tensor; step, skip and scale otherwise agree."""
    def script(lib):
        w = lib.nn.Parameter(lib.tensor(np.array([1.0, 2.0])))
        v = lib.nn.Parameter(lib.tensor(np.array([3.0])))
        opt, opt2 = lib.optim.SGD([w], lr=0.1), lib.optim.SGD([v], lr=0.1)
        s = lib.amp.GradScaler("cpu", init_scale=4.0, growth_interval=2, backoff_factor=0.25, growth_factor=3.0)
        seen = []

        def call(f, *a, **k):
            try:
                f(*a, **k)
                seen.append("ok")
            except (AssertionError, RuntimeError, ValueError) as e:
                seen.append(f"{type(e).__name__}: {e}")

        loss = s.scale((w * 3).sum())
        call(s.update)  # no inf check recorded yet
        loss.backward()
        call(s.step, opt)
        call(s.step, opt)
        call(s.unscale_, opt)
        call(s.update)
        call(s.step, opt, closure=lambda: 0.0)
        call(s.scale, 3.0)
        for i in range(4):
            opt.zero_grad()
            opt2.zero_grad()
            a, b = s.scale([(w * 3).sum(), (v * (float("inf") if i == 1 else 2.0)).sum()])
            (a + b).backward()
            call(s.step, opt)
            call(s.step, opt2)
            call(s.update)
            seen.append((s.get_scale(), *(np.round(p.detach().numpy(), 6).tolist() for p in (w, v))))
        seen.append(s.state_dict())
        return seen

    assert script(cr) == script(torch)
