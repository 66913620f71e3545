"""chainrule.utils: PyTorch's torch.utils module paths (data, checkpoint), and activation
checkpointing of eager modules, compared with PyTorch's own torch.utils.checkpoint."""

import importlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

torch = pytest.importorskip("torch")


def test_torch_utils_data_paths_are_chainrule_data():
    import chainrule as ctorch
    from chainrule.utils.data import DataLoader, TensorDataset
    from chainrule.utils.data.distributed import DistributedSampler

    assert DataLoader is cr.data.DataLoader and TensorDataset is cr.data.TensorDataset
    assert DistributedSampler is cr.data.DistributedSampler
    assert ctorch.utils.data.random_split is cr.data.random_split
    assert importlib.import_module("chainrule.utils.data.distributed").DistributedSampler is DistributedSampler
    loader = ctorch.utils.data.DataLoader(TensorDataset(ctorch.arange(6.0)), batch_size=4)
    assert [tuple(b.shape) for (b,) in loader] == [(4,), (2,)]


class Block:
    """The same two-layer block in both libraries, with dropout, from one set of weights."""

    def __init__(self, lib, weights, p=0.0):
        nn = lib.nn
        self.net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Dropout(p), nn.Linear(5, 3))
        sd = {k: lib.tensor(v) for k, v in weights.items()}
        self.net.load_state_dict(sd)
        self.net.double() if lib is torch else None


def _weights():
    rng = np.random.default_rng(0)
    return {"0.weight": rng.normal(size=(5, 4)), "0.bias": rng.normal(size=5),
            "3.weight": rng.normal(size=(3, 5)), "3.bias": rng.normal(size=3)}


@pytest.mark.parametrize("x_requires_grad", [True, False])
@pytest.mark.parametrize("spelling", ["utils", "cr.checkpoint", "sequential"])
def test_checkpointed_module_parameters_get_pytorchs_gradients(spelling, x_requires_grad):
    from chainrule.utils.checkpoint import checkpoint, checkpoint_sequential

    w = _weights()
    ours, theirs = Block(cr, w).net.double(), Block(torch, w).net
    x_np = np.random.default_rng(1).normal(size=(6, 4))
    x = cr.tensor(x_np, requires_grad=x_requires_grad)
    tx = torch.tensor(x_np, requires_grad=x_requires_grad)
    if spelling == "utils":
        y = checkpoint(ours, x, use_reentrant=False)
    elif spelling == "cr.checkpoint":
        y = cr.checkpoint(ours)(x)
    else:
        y = checkpoint_sequential(ours, 2, x, use_reentrant=False)
    ty = torch.utils.checkpoint.checkpoint(theirs, tx, use_reentrant=False)
    (y ** 2).sum().backward()
    (ty ** 2).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, err_msg=name)
    if x_requires_grad:
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)


def test_recomputation_draws_the_same_dropout_masks():
    """The backward pass runs the block again: with the generator put back, its dropout
    masks are the forward pass's, so the gradients are those of the uncheckpointed block,
    and the generator is left where the plain run leaves it."""
    from chainrule.utils.checkpoint import checkpoint

    net = Block(cr, _weights(), p=0.5).net.double()
    x_np = np.random.default_rng(2).normal(size=(8, 4))
    grads, outs, next_draws = [], [], []
    for use_checkpoint in (True, False):
        net.zero_grad()
        x = cr.tensor(x_np, requires_grad=True)
        cr.manual_seed(5)
        y = checkpoint(net, x, use_reentrant=False) if use_checkpoint else net(x)
        (y * cr.tensor(np.arange(24.0).reshape(8, 3))).sum().backward()
        next_draws.append(cr.rand(3).numpy())
        outs.append(y.detach().numpy())
        grads.append([x.grad.numpy()] + [p.grad.numpy() for p in net.parameters()])
    np.testing.assert_array_equal(outs[0], outs[1])
    for a, b in zip(*grads, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(*next_draws)


def test_functional_checkpoint_draws_the_same_dropout_masks():
    drop = cr.nn.Dropout(0.5)
    w = np.linspace(-1.0, 1.0, 16)

    def loss(v, remat):
        block = (lambda u: drop(cnp.tanh(u * w)))
        return cnp.sum((cr.checkpoint(block) if remat else block)(v) * w)

    got = []
    for remat in (True, False):
        cr.manual_seed(3)
        got.append(cr.grad(loss)(np.ones(16), remat))
    np.testing.assert_array_equal(*got)
    assert np.count_nonzero(got[0]) not in (0, 16)  # the mask did something


def test_checkpoint_with_several_outputs_and_keyword_arguments():
    from chainrule.utils.checkpoint import checkpoint

    lin = cr.nn.Linear(3, 3).double()
    tlin = torch.nn.Linear(3, 3).double()
    tlin.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in lin.state_dict().items()})

    def f(lib, layer, x, scale=1.0):
        h = layer(x)
        return lib.tanh(h) * scale, h.sum(dim=1)

    x_np = np.random.default_rng(3).normal(size=(4, 3))
    x, tx = cr.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    a, b = checkpoint(lambda x, scale: f(cr, lin, x, scale), x, use_reentrant=False, scale=3.0)
    ta, tb = torch.utils.checkpoint.checkpoint(lambda x, scale: f(torch, tlin, x, scale), tx,
                                               use_reentrant=False, scale=3.0)
    ((a ** 2).sum() + (b ** 3).sum()).backward()
    ((ta ** 2).sum() + (tb ** 3).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(lin.weight.grad.numpy(), tlin.weight.grad.numpy(), rtol=1e-10)


def test_gradient_hooks_of_parameters_run_inside_a_checkpoint():
    """Hooks on parameters (data-parallel training registers them) fire in the
    recomputation's backward pass, once per backward."""
    lin = cr.nn.Linear(2, 2)
    seen = []
    lin.weight.register_hook(lambda g: seen.append(g.shape))
    x = cr.ones(3, 2, requires_grad=True)
    cr.checkpoint(lin)(x).sum().backward()
    assert seen == [(2, 2)]


def test_unsupported_requests_are_refused_clearly():
    from chainrule.utils.checkpoint import checkpoint

    x = cr.ones(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="context_fn"):
        checkpoint(lambda t: t * 2, x, use_reentrant=False, context_fn=lambda: None)
    with pytest.raises(TypeError, match="expected a function"):
        checkpoint(3, x)
    y = checkpoint(lambda t: (t ** 3).sum(), x, use_reentrant=False)
    (g,) = cr.autograd.grad(y, x, create_graph=False)
    np.testing.assert_array_equal(g.numpy(), [3.0, 3.0])
    y = checkpoint(lambda t: (t ** 3).sum(), x, use_reentrant=False)
    with pytest.raises(NotImplementedError, match="create_graph"):
        cr.autograd.grad(y, x, create_graph=True)


def test_autograd_grad_of_parameters_through_a_checkpoint():
    """cr.autograd.grad(loss, params) returns the gradients of parameters read inside a
    checkpointed block (as PyTorch's non-reentrant checkpoint does) and writes no .grad."""
    w = _weights()
    ours, theirs = Block(cr, w).net.double(), Block(torch, w).net
    x_np = np.random.default_rng(4).normal(size=(5, 4))
    x, tx = cr.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    loss = (cr.checkpoint(ours)(x) ** 2).sum()
    tloss = (torch.utils.checkpoint.checkpoint(theirs, tx, use_reentrant=False) ** 2).sum()
    got = cr.autograd.grad(loss, [x, *ours.parameters()])
    want = torch.autograd.grad(tloss, [tx, *theirs.parameters()])
    for g, t in zip(got, want, strict=True):
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-10)
    assert all(p.grad is None for p in ours.parameters()) and x.grad is None


def _segments(lib, lin, nested: bool, used_outside: bool, x_requires_grad: bool):
    """Three checkpointed uses of one layer (nested checkpoints, or one level), perhaps
    another use outside any checkpoint, each parameter's hooks counted."""
    fired = {"pre": 0, "post": 0}
    for p in lin.parameters():
        p.register_hook(lambda g: fired.__setitem__("pre", fired["pre"] + 1))
        p.register_post_accumulate_grad_hook(lambda p: fired.__setitem__("post", fired["post"] + 1))

    def ck(f, z):
        return lib.utils.checkpoint.checkpoint(f, z, use_reentrant=False)

    h = lib.tensor(np.linspace(-1.0, 1.0, 6).reshape(2, 3), requires_grad=x_requires_grad)
    for _ in range(3):
        h = ck(lambda z: lib.tanh(ck(lin, z)), h) if nested else ck(lambda z: lib.tanh(lin(z)), h)
    if used_outside:
        h = lin(h)
    (h ** 2).sum().backward()
    return fired, [p.grad.numpy() for p in lin.parameters()]


@pytest.mark.parametrize("x_requires_grad", [False, True])
@pytest.mark.parametrize("used_outside", [False, True])
@pytest.mark.parametrize("nested", [False, True])
def test_parameters_in_several_checkpoints_get_one_gradient_and_hooks_once(nested, used_outside, x_requires_grad):
    """A parameter read in several checkpointed segments accumulates the sum of their
    gradients once per backward, and its hooks run once, as PyTorch's (data-parallel
    training starts a parameter's reduction from that hook). Nested checkpoints dropped
    the parameters' gradients, and each segment ran the hooks again."""
    w, b = np.arange(9.0).reshape(3, 3) / 10, np.array([0.1, -0.2, 0.3])
    ours, theirs = cr.nn.Linear(3, 3).double(), torch.nn.Linear(3, 3).double()
    for layer, lib in ((ours, cr), (theirs, torch)):
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(w))
            layer.bias.copy_(lib.tensor(b))
    got_fired, got = _segments(cr, ours, nested, used_outside, x_requires_grad)
    want_fired, want = _segments(torch, theirs, nested, used_outside, x_requires_grad)
    assert got_fired == want_fired == {"pre": 2, "post": 2}
    for g, t in zip(got, want, strict=True):
        np.testing.assert_allclose(g, t, rtol=1e-12)
