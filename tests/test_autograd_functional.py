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

Z, U = rng.normal(size=3) + 1j * rng.normal(size=3), rng.normal(size=3) + 1j * rng.normal(size=3)


def modulus(a):
    return (a.exp() * a).abs()


def holomorphic(a):
    return a.exp() * a.sum()


def phase(a):
    return (a * 1j).exp() * a


def complex_energy(a):
    return ((a.exp() * a).abs() ** 2).sum() + (a * a).imag.sum()


# complex gradients and cotangents are in PyTorch's convention, as .grad (the conjugates of
# chainrule's transforms'), whichever path computes them
COMPLEX = {
    "jacobian of complex inputs": ("jacobian", modulus, Z, {}),
    "vjp of complex inputs": ("vjp", holomorphic, Z, {"v": U}),
    "vjp of complex inputs, real output": ("vjp", modulus, Z, {"v": V}),
    "vjp of a complex output": ("vjp", phase, X, {"v": U}),
    "jvp of complex inputs": ("jvp", holomorphic, Z, {"v": U}),
    "hvp of complex inputs": ("hvp", complex_energy, Z, {"v": U}),
    "vhp of complex inputs": ("vhp", complex_energy, Z, {"v": U}),
}


def _as(make, tree):
    if isinstance(tree, tuple):
        return tuple(_as(make, t) for t in tree)
    return make(tree) if isinstance(tree, np.ndarray) else tree


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("name", COMPLEX)
def test_complex_derivatives_match_torch_autograd_functional(name, strict):
    test_matches_torch_autograd_functional(name, {"strict": strict})


@pytest.mark.parametrize("name", CASES)
def test_matches_torch_autograd_functional(name, ours_kwargs=None):
    fname, fn, inputs, kwargs = (CASES | COMPLEX)[name]
    ours = getattr(CF, fname)(fn, _as(cr.tensor, inputs), **{k: _as(cr.tensor, v) for k, v in kwargs.items()},
                              **(ours_kwargs or {}))
    theirs = getattr(TF, fname)(fn, _as(torch.tensor, inputs), **{k: _as(torch.tensor, v) for k, v in kwargs.items()})
    assert type(ours) is type(theirs) or (isinstance(ours, cr.Tensor) and isinstance(theirs, torch.Tensor))
    ours_leaves = cr.tree_leaves(ours)
    theirs_leaves = torch.utils._pytree.tree_leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves)
    for a, b in zip(ours_leaves, theirs_leaves, strict=True):
        assert isinstance(a, cr.Tensor) and not a.requires_grad and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)


def _leaves(tree):
    return [leaf for t in tree for leaf in _leaves(t)] if isinstance(tree, tuple) else [tree]


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("name", [n for n in CASES if "forward" not in n])
def test_create_graph_gives_results_that_differentiate_again_as_torch(name, strict):
    fname, fn, inputs, kwargs = CASES[name]
    outcome = []
    for L, M in ((cr, CF), (torch, TF)):
        args = _as(lambda a, L=L: L.tensor(a, requires_grad=True), inputs)
        try:
            result = getattr(M, fname)(fn, args, create_graph=True, strict=strict,
                                       **{k: _as(L.tensor, v) for k, v in kwargs.items()})
        except RuntimeError as e:
            outcome.append(str(e))
            continue
        leaves = _leaves(result)
        penalty = sum((leaf * leaf).sum() for leaf in leaves)
        grads = L.autograd.grad(penalty, _leaves(args), allow_unused=True)
        outcome.append(([(tuple(v.shape), v.requires_grad, v.detach().numpy()) for v in leaves],
                        [None if g is None else g.numpy() for g in grads], type(result)))
    ours, theirs = outcome
    if isinstance(theirs, str):  # strict mode: an output independent of an input
        assert ours == theirs
        return
    assert len(ours[0]) == len(theirs[0]) and (ours[2] is theirs[2] or ours[2] is cr.Tensor)
    for (shape, requires, value), (their_shape, their_requires, their_value) in zip(ours[0], theirs[0], strict=True):
        assert shape == their_shape and requires == their_requires
        np.testing.assert_allclose(value, their_value, rtol=1e-12, atol=1e-14)
    for g, their_g in zip(ours[1], theirs[1], strict=True):
        assert (g is None) == (their_g is None)
        if g is not None:
            np.testing.assert_allclose(g, their_g, rtol=1e-12, atol=1e-14)


def linear(a):
    return 2 * a


def first_only(a, b):
    return a.sin().sum()


def constant(a):
    return a.detach() * 2


STRICT = {  # name: (function name, callable, inputs, keyword arguments) for which strict mode refuses
    "jacobian of an input left out": ("jacobian", first_only, (X, Y[0]), {}),
    "jacobian of a detached output": ("jacobian", constant, X, {}),
    "hessian of a linear function": ("hessian", lambda a: linear(a).sum(), X, {}),
    "vjp of an input left out": ("vjp", first_only, (X, Y[0]), {}),
    "jvp of a detached output": ("jvp", constant, X, {"v": V}),
    "vhp of an input left out": ("vhp", first_only, (X, Y[0]), {"v": (V, W[0])}),
    "hvp of a linear function": ("hvp", lambda a: linear(a).sum(), X, {"v": V}),
}


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", STRICT)
def test_strict_mode_refuses_as_torch_and_fills_zeros_otherwise(name, create_graph):
    fname, fn, inputs, kwargs = STRICT[name]
    messages, results = [], []
    for L, M in ((cr, CF), (torch, TF)):
        args = _as(L.tensor, inputs)
        given = {k: _as(L.tensor, v) for k, v in kwargs.items()}
        with pytest.raises(RuntimeError) as caught:
            getattr(M, fname)(fn, args, strict=True, create_graph=create_graph, **given)
        messages.append(str(caught.value))
        results.append([np.asarray(v.detach().numpy()) for v in _leaves(getattr(M, fname)(fn, args, **given))])
    assert messages[0] == messages[1]
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs, error", [
    ({"create_graph": True, "strategy": "forward-mode", "vectorize": True}, NotImplementedError),
    ({"strict": True, "strategy": "forward-mode", "vectorize": True}, RuntimeError),
    ({"strict": True, "vectorize": True}, RuntimeError),
])
def test_combinations_torch_refuses_are_refused(kwargs, error):
    with pytest.raises(error):
        TF.jacobian(elementwise, torch.tensor(X), **kwargs)
    with pytest.raises(error, match="not supported together"):
        CF.jacobian(elementwise, cr.tensor(X), **kwargs)


def test_a_hessian_penalty_trains_as_in_torch():
    weights = []
    for L, M in ((cr, CF), (torch, TF)):
        w = L.tensor(X, requires_grad=True)
        opt = L.optim.SGD([w], lr=0.05)
        for _ in range(3):
            opt.zero_grad()
            h = M.hessian(lambda a: (a.sin() * a.sum()).sum(), w, create_graph=True)
            (energy(w) + (h * h).sum()).backward()
            opt.step()
        weights.append(w.detach().numpy())
    np.testing.assert_allclose(weights[0], weights[1], rtol=1e-12)


def test_refusals_say_what_to_do():
    with pytest.raises(RuntimeError, match="give v"):
        CF.vjp(elementwise, cr.tensor(X))
    with pytest.raises(RuntimeError, match="single element"):
        CF.hessian(elementwise, cr.tensor(X))
    with pytest.raises(RuntimeError, match="single element"):
        CF.vjp(elementwise, cr.tensor(X), create_graph=True)
    with pytest.raises(ValueError, match="strategy"):
        CF.jacobian(elementwise, cr.tensor(X), strategy="both")
