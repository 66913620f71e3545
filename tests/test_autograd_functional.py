"""chainrule.autograd.functional against torch.autograd.functional: the same functions
of Tensors, the same structure of results (a Tensor, or tuples per output and input)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.autograd.functional as CF

torch = pytest.importorskip("torch")
TF = torch.autograd.functional

rng = np.random.default_rng(0)
X, V = rng.normal(size=3), rng.normal(size=3)
Y, W = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))


def elementwise(a):
    return a.sin() * a.sum()


def product(a, b):
    return (a * b).sum(0)


def two_outputs(a, b):
    return (a * b).sum(0), (a**2).sum()


def energy(a):
    return (a.sin() * a).sum()


def energy2(a, b):
    return (a.sin() * b).sum() + (a * a * b).sum()


CASES = {  # name: (function name, callable, inputs, keyword arguments); arrays become each library's tensors
    "jacobian": ("jacobian", elementwise, X, {}),
    "jacobian of two inputs": ("jacobian", product, (X, Y), {}),
    "jacobian of two outputs": ("jacobian", two_outputs, (X, Y), {}),
    "jacobian, forward mode": ("jacobian", elementwise, X, {"strategy": "forward-mode", "vectorize": True}),
    "hessian": ("hessian", energy, X, {}),
    "hessian of two inputs": ("hessian", energy2, (X, Y[0]), {}),
    "vjp": ("vjp", elementwise, X, {"v": V}),
    "vjp of a scalar, v left out": ("vjp", energy, X, {}),
    "vjp of two inputs": ("vjp", product, (X, Y), {"v": V}),
    "jvp": ("jvp", elementwise, X, {"v": V}),
    "jvp of two inputs": ("jvp", product, (X, Y), {"v": (V, W)}),
    "hvp": ("hvp", energy, X, {"v": V}),
    "vhp": ("vhp", energy, X, {"v": V}),
    "hvp of two inputs": ("hvp", energy2, (X, Y[0]), {"v": (V, W[0])}),
    "vhp of two inputs": ("vhp", energy2, (X, Y[0]), {"v": (V, W[0])}),
}


def _as(make, tree):
    if isinstance(tree, tuple):
        return tuple(_as(make, t) for t in tree)
    return make(tree) if isinstance(tree, np.ndarray) else tree


@pytest.mark.parametrize("name", CASES)
def test_matches_torch_autograd_functional(name):
    fname, fn, inputs, kwargs = CASES[name]
    ours = getattr(CF, fname)(fn, _as(cr.tensor, inputs), **{k: _as(cr.tensor, v) for k, v in kwargs.items()})
    theirs = getattr(TF, fname)(fn, _as(torch.tensor, inputs), **{k: _as(torch.tensor, v) for k, v in kwargs.items()})
    assert type(ours) is type(theirs) or (isinstance(ours, cr.Tensor) and isinstance(theirs, torch.Tensor))
    ours_leaves = cr.tree_leaves(ours)
    theirs_leaves = torch.utils._pytree.tree_leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves)
    for a, b in zip(ours_leaves, theirs_leaves, strict=True):
        assert isinstance(a, cr.Tensor) and not a.requires_grad and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)


def test_refusals_say_what_to_do():
    with pytest.raises(NotImplementedError, match="nest the transforms"):
        CF.jacobian(elementwise, cr.tensor(X), create_graph=True)
    with pytest.raises(NotImplementedError, match="strict=True"):
        CF.hessian(energy, cr.tensor(X), strict=True)
    with pytest.raises(RuntimeError, match="give v"):
        CF.vjp(elementwise, cr.tensor(X))
    with pytest.raises(RuntimeError, match="single element"):
        CF.hessian(elementwise, cr.tensor(X))
    with pytest.raises(ValueError, match="strategy"):
        CF.jacobian(elementwise, cr.tensor(X), strategy="both")
