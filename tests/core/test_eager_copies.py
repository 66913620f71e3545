"""copy.copy, copy.deepcopy and pickle of eager Tensors, as PyTorch users rely on them
(best_state = copy.deepcopy(...), an EMA copy of the weights): the copy is an eager
Tensor of its own, a new leaf where the original required grad."""

import copy
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.eager import EAGER

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_deepcopy_of_a_leaf_is_a_new_leaf(lib):
    w = lib.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * w).sum().backward()
    w2 = copy.deepcopy(w)
    assert w2.requires_grad and w2.is_leaf and w2.grad.tolist() == [2.0, 4.0]
    with lib.no_grad():
        w2.mul_(0.5)
    w2.grad = None
    (w2 * 3).sum().backward()
    assert w2.tolist() == [0.5, 1.0] and w.tolist() == [1.0, 2.0]
    assert w2.grad.tolist() == [3.0, 3.0] and w.grad.tolist() == [2.0, 4.0]


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_deepcopy_of_a_computed_tensor_is_refused(lib):
    w = lib.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError):
        copy.deepcopy(w * 2)


def test_copies_and_pickles_stay_in_the_eager_layer():
    x = cr.tensor(np.arange(3.0))
    shallow = copy.copy(x)  # shares the values, as PyTorch's copy.copy
    assert shallow._trace is EAGER
    shallow.add_(1)
    assert x.tolist() == [1.0, 2.0, 3.0]
    x.sub_(1)
    for other in (copy.deepcopy(x), pickle.loads(pickle.dumps(x)), copy.deepcopy({"w": x})["w"]):
        assert other._trace is EAGER
        other.add_(1)  # an in-place write reaches the copy, not the original
        assert other.tolist() == [1.0, 2.0, 3.0]
    assert x.tolist() == [0.0, 1.0, 2.0]


def test_a_copy_of_a_base_does_not_count_writes_into_the_original_s_views():
    w = cr.tensor(np.ones((3, 2)), requires_grad=True)
    v = w.T  # a live view of w, saved by the product below
    loss = (v @ np.ones((3, 4))).sum()
    w2 = copy.deepcopy(w)
    with cr.no_grad():
        w2.mul_(0.5)
    loss.backward()  # w and v were not written
    assert w.grad.tolist() == [[4.0, 4.0]] * 3


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
@pytest.mark.parametrize("computed", [False, True], ids=["leaf", "computed"])
def test_pickle_gives_a_new_leaf_that_requires_grad(lib, computed):
    w = lib.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * w).sum().backward()
    t = w * 2 if computed else w
    u = pickle.loads(pickle.dumps(t))
    assert u.requires_grad and u.is_leaf and u.grad is None  # no graph, no .grad
    assert u.tolist() == t.tolist()
    (u * 3).sum().backward()
    assert u.grad.tolist() == [3.0, 3.0] and w.grad.tolist() == [2.0, 4.0]


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_a_pickled_model_is_a_model_of_parameters(lib):
    m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))
    m2 = pickle.loads(pickle.dumps(m))
    assert type(m2[0].weight) is lib.nn.Parameter
    assert [n for n, _ in m2.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = lib.ones(4, 2)
    assert np.array_equal(m(x).detach().numpy(), m2(x).detach().numpy())
    m2(x).sum().backward()
    assert m2[0].weight.grad is not None and m[0].weight.grad is None


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
@pytest.mark.filterwarnings("ignore:__array__ implementation")  # torch's, without copy=
def test_np_array_of_a_tensor_is_a_copy(lib):
    # np.array asks __array__ for a copy; np.asarray shares the memory
    t = lib.tensor(np.array([1.0, 2.0]))
    a, b = np.array(t), np.asarray(t)
    a[0] = 5.0
    assert t.tolist() == [1.0, 2.0]
    b[1] = 7.0
    assert t.tolist() == [1.0, 7.0]


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_attributes_set_on_a_tensor_stay_with_it_and_its_copies(lib):
    # Informer's fixed embedding sets w.require_grad = False (a typo PyTorch lets pass)
    w = lib.zeros(3)
    w.require_grad = False
    assert w.require_grad is False and w.requires_grad is False
    assert copy.deepcopy(w).require_grad is False
    assert pickle.loads(pickle.dumps(w)).require_grad is False
    assert not hasattr(lib.zeros(3), "require_grad")
    p = lib.nn.Parameter(lib.ones(2))
    p.sequence_parallel = True
    assert p.sequence_parallel and pickle.loads(pickle.dumps(p)).sequence_parallel
