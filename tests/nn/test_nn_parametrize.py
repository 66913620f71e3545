"""Weight and spectral normalisation, old (hooks) and new (parametrizations), and
``nn.utils.parametrize`` against PyTorch: state-dict keys and values, the forward
values, every gradient, the power method's vectors in training and evaluation mode,
removal, and PyTorch's errors."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from torch_parity import compare, copy_weights, load_from_torch

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import parametrizations as P
from chainrule.nn.utils import parametrize

LAYERS = {
    "linear": (lambda: nn.Linear(3, 4, dtype=np.float64), lambda: torch.nn.Linear(3, 4).double(), (5, 3)),
    "conv1d": (lambda: nn.Conv1d(2, 3, 3, dtype=np.float64), lambda: torch.nn.Conv1d(2, 3, 3).double(), (2, 2, 6)),
    "convT2d": (lambda: nn.ConvTranspose2d(2, 3, 2, dtype=np.float64),
                lambda: torch.nn.ConvTranspose2d(2, 3, 2).double(), (1, 2, 3, 3)),
}


def _pair(kind):
    make_ours, make_theirs, shape = LAYERS[kind]
    ours, theirs = make_ours(), make_theirs()
    copy_weights(ours, theirs)
    return ours, theirs, np.random.default_rng(3).standard_normal(shape)


def _same_state(ours, theirs):
    mine, their = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(their)
    for k in mine:
        np.testing.assert_allclose(mine[k].numpy(), their[k].numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("kind, dim", [("linear", 0), ("linear", None), ("linear", 1), ("conv1d", 0),
                                       ("conv1d", 2), ("conv1d", -1), ("convT2d", 1)])
@pytest.mark.parametrize("api", ["hook", "parametrization"])
def test_weight_norm_as_torch(kind, dim, api):
    ours, theirs, x = _pair(kind)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn = nn.utils.weight_norm if api == "hook" else P.weight_norm
        fn(ours, dim=dim)
    with warnings.catch_warnings(record=True) as their_caught:
        warnings.simplefilter("always")
        (torch.nn.utils.weight_norm if api == "hook" else torch.nn.utils.parametrizations.weight_norm)(theirs, dim=dim)
    assert [(w.category, str(w.message)) for w in caught if "weight_norm" in str(w.message)] == \
        [(w.category, str(w.message)) for w in their_caught if "weight_norm" in str(w.message)]
    _same_state(ours, theirs)
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, [x])
    if api == "hook":
        nn.utils.remove_weight_norm(ours)
        torch.nn.utils.remove_weight_norm(theirs)
        with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
            nn.utils.remove_weight_norm(ours)
    else:
        w = np.random.default_rng(4).standard_normal(tuple(ours.weight.shape))
        ours.weight = cr.tensor(w)
        theirs.weight = torch.tensor(w)
        _same_state(ours, theirs)
        parametrize.remove_parametrizations(ours, "weight")
        torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
        assert type(ours).__name__ == type(theirs).__name__
    _same_state(ours, theirs)
    compare(ours, theirs, [x])


@pytest.mark.parametrize("kind", ["linear", "conv1d", "convT2d"])
@pytest.mark.parametrize("api", ["hook", "parametrization"])
def test_spectral_norm_power_method_and_gradients_as_torch(kind, api):
    ours, theirs, x = _pair(kind)
    (nn.utils.spectral_norm if api == "hook" else P.spectral_norm)(ours, n_power_iterations=2)
    (torch.nn.utils.spectral_norm if api == "hook" else torch.nn.utils.parametrizations.spectral_norm)(
        theirs, n_power_iterations=2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    load_from_torch(ours, theirs)  # the same random starting vectors
    for training in (True, True, False):
        ours.train(training)
        theirs.train(training)
        ours.zero_grad()
        theirs.zero_grad()
        compare(ours, theirs, [x])
        _same_state(ours, theirs)  # the vectors moved (training) or stayed (evaluation) alike
    if api == "hook":
        nn.utils.remove_spectral_norm(ours)
        torch.nn.utils.remove_spectral_norm(theirs)
        with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
            nn.utils.spectral_norm(nn.utils.spectral_norm(nn.Linear(2, 2)))
    else:
        parametrize.remove_parametrizations(ours, "weight")
        torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    _same_state(ours, theirs)


class Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).mT

    def right_inverse(self, a):
        return a.triu()


class TorchSymmetric(torch.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).mT

    def right_inverse(self, a):
        return a.triu()


def test_parametrize_register_assign_cache_remove_as_torch():
    ours, theirs = nn.Linear(3, 3, dtype=np.float64), torch.nn.Linear(3, 3).double()
    copy_weights(ours, theirs)
    for lib, m, sym in ((parametrize, ours, Symmetric), (torch.nn.utils.parametrize, theirs, TorchSymmetric)):
        lib.register_parametrization(m, "weight", sym())
    assert parametrize.is_parametrized(ours) and parametrize.is_parametrized(ours, "weight")
    assert not parametrize.is_parametrized(ours, "bias")
    assert parametrize.type_before_parametrizations(ours) is nn.Linear
    _same_state(ours, theirs)
    assert repr(ours) == repr(theirs).replace("TorchSymmetric", "Symmetric")
    compare(ours, theirs, [np.random.default_rng(5).standard_normal((4, 3))])
    with parametrize.cached():
        assert ours.weight is ours.weight
    assert ours.weight is not ours.weight
    a = np.arange(9.0).reshape(3, 3)
    ours.weight, theirs.weight = cr.tensor(a), torch.tensor(a)
    _same_state(ours, theirs)
    parametrize.remove_parametrizations(ours, "weight", leave_parametrized=False)
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight", leave_parametrized=False)
    assert type(ours) is nn.Linear and not hasattr(ours, "parametrizations")
    _same_state(ours, theirs)
    for call in (lambda lib, m: lib.register_parametrization(m, "foo", nn.Identity()),
                 lambda lib, m: lib.remove_parametrizations(m, "weight")):
        with pytest.raises(ValueError) as ours_error:
            call(parametrize, nn.Linear(2, 2))
        with pytest.raises(ValueError) as their_error:
            call(torch.nn.utils.parametrize, torch.nn.Linear(2, 2))
        assert str(ours_error.value) == str(their_error.value)


@pytest.mark.parametrize("shape, kwargs", [
    ((3, 3), {}), ((3, 5), {}), ((5, 3), {}), ((3, 3), {"orthogonal_map": "cayley"}),
    ((5, 3), {"orthogonal_map": "matrix_exp"}), ((3, 5), {"orthogonal_map": "cayley"}),
    ((4, 4), {"orthogonal_map": "householder", "use_trivialization": False}),
    ((5, 3), {"use_trivialization": False}), ((3, 5), {"use_trivialization": False})])
def test_orthogonal_as_torch(shape, kwargs):
    ours, theirs = nn.Linear(*shape, dtype=np.float64), torch.nn.Linear(*shape).double()
    copy_weights(ours, theirs)
    P.orthogonal(ours, **kwargs)
    torch.nn.utils.parametrizations.orthogonal(theirs, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if shape[0] == shape[1] or kwargs.get("use_trivialization") is False:
        _same_state(ours, theirs)  # no random completion: the same originals and base
    load_from_torch(ours, theirs)
    w = ours.weight.detach().numpy()
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-12)
    compare(ours, theirs, [np.random.default_rng(6).standard_normal((2, shape[0]))])
    with pytest.raises(ValueError, match="orthogonal_map has to be one of"):
        P.orthogonal(nn.Linear(3, 3), orthogonal_map="qr")


def test_new_weight_norm_loads_a_state_dict_of_the_old_one_as_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = torch.nn.Sequential(torch.nn.utils.weight_norm(torch.nn.Linear(3, 4).double()), torch.nn.Tanh())
    sd = {k: v.detach() for k, v in old.state_dict().items()}
    ours = nn.Sequential(P.weight_norm(nn.Linear(3, 4, dtype=np.float64)), nn.Tanh())
    theirs = torch.nn.Sequential(torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(3, 4).double()),
                                 torch.nn.Tanh())
    ours.load_state_dict({k: v.numpy() for k, v in sd.items()})
    theirs.load_state_dict(sd)
    assert sorted(sd) == ["0.bias", "0.weight_g", "0.weight_v"]
    _same_state(ours, theirs)


def test_a_parametrized_module_keeps_its_own_setattr():
    class Tagged(nn.Linear):
        def __setattr__(self, name, value):
            super().__setattr__(name, value.upper() if name == "tag" else value)

    m = P.weight_norm(Tagged(2, 3))
    m.tag = "abc"
    assert m.tag == "ABC" and type(m).__name__ == "ParametrizedTagged"


def test_a_deep_copy_has_its_own_class_so_unparametrizing_it_leaves_the_original_working():
    # a copy (for export, an EMA model) whose parametrization is removed, or which gets
    # another: PyTorch's copy shares the original's class and its properties, so the
    # original then fails ('no attribute weight', KeyError 'bias'); here it is unchanged
    ours, theirs, x = _pair("linear")
    P.weight_norm(ours)
    torch.nn.utils.parametrizations.weight_norm(theirs)
    copy_weights(ours, theirs)
    clone = copy.deepcopy(ours)
    parametrize.remove_parametrizations(clone, "weight")
    parametrize.register_parametrization(clone, "bias", nn.Identity())
    assert type(clone).__name__ == "ParametrizedLinear" and parametrize.is_parametrized(ours, "weight")
    assert not parametrize.is_parametrized(ours, "bias")
    for model in (ours, clone):
        np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-12)
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        pickle.dumps(ours)


def _transfer_run(lib, case):
    class Scale(lib.nn.Module):  # one tensor, with a right inverse
        def forward(self, x):
            return 2 * x

        def right_inverse(self, x):
            return x / 2

    class Split(lib.nn.Module):  # two tensors
        def forward(self, a, b):
            return a + b

        def right_inverse(self, x):
            return x * 0.25, x * 0.75

    src = lib.nn.Linear(3, 2).double()
    dst = lib.nn.Linear(3, 2).double() if case != "missing tensor" else lib.nn.Identity()
    with lib.no_grad():
        src.weight.copy_(lib.tensor(np.arange(6.0).reshape(2, 3)))
        src.bias.copy_(lib.tensor([1.0, -1.0]))
    PZ = lib.nn.utils.parametrize
    PZ.register_parametrization(src, "weight", Split() if case == "two tensors" else Scale())
    if case == "two parametrized":
        PZ.register_parametrization(src, "bias", Scale())
    out = PZ.transfer_parametrizations_and_params(src, dst, None if case == "two parametrized" else "weight")
    originals = [p for n, p in src.named_parameters() if "original" in n]
    return (out is dst, list(dst.state_dict()), [any(p is o for o in originals) for _, p in dst.named_parameters()],
            dst.weight.detach().numpy().tolist(), type(dst).__name__.replace("Parametrized", ""))


@pytest.mark.parametrize("case", ["one tensor", "two tensors", "two parametrized", "missing tensor"])
def test_transfer_parametrizations_and_params_shares_the_originals_as_torch(case):
    ours, theirs = _transfer_run(cr, case), _transfer_run(torch, case)
    assert ours[:3] == theirs[:3] and ours[4] == theirs[4]
    np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-12)
