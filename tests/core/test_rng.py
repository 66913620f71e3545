"""``chainrule.manual_seed`` makes every draw that is not given a generator reproducible,
as ``torch.manual_seed`` does for PyTorch's: the same seed gives the same sequence."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader, RandomSampler, TensorDataset, random_split


def _loader_epochs():
    loader = DataLoader(TensorDataset(np.arange(12.0)), batch_size=5, shuffle=True)
    return [np.concatenate([b[0].tolist() for b in loader]) for _ in range(2)]


# name: a program that draws, with no generator given, and returns what it drew
DRAWS = {
    "uniform_": lambda: cr.zeros(5).uniform_(-1, 1).tolist(),
    "normal_": lambda: cr.zeros(2, 3).normal_(2.0, 0.5).tolist(),
    "bernoulli_": lambda: cr.zeros(20).bernoulli_(0.3).tolist(),
    "exponential_": lambda: cr.zeros(4).exponential_(2.0).tolist(),
    "random_": lambda: cr.zeros(6, dtype=cr.int64).random_(3, 1000).tolist(),
    "randn": lambda: cr.randn(3, 2).tolist(),
    "rand": lambda: cr.rand(4).tolist(),
    "randint": lambda: cr.randint(0, 10, (6,)).tolist(),
    "randperm": lambda: cr.randperm(7).tolist(),
    "randn_like": lambda: cr.randn_like(cr.zeros(3)).tolist(),
    "linear_init": lambda: nn.Linear(3, 2).weight.tolist(),
    "conv_init": lambda: nn.Conv2d(1, 2, 3).weight.tolist(),
    "init_normal_": lambda: nn.init.normal_(cr.zeros(4)).tolist(),
    "dropout": lambda: nn.Dropout(0.5)(cr.ones(16)).tolist(),
    "dataloader_shuffle": lambda: [e.tolist() for e in _loader_epochs()],
    "random_split": lambda: [list(s.indices) for s in random_split(TensorDataset(np.arange(9)), [4, 5])],
    "random_sampler": lambda: list(RandomSampler(range(8))),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_manual_seed_repeats_the_draws(name):
    draw = DRAWS[name]
    cr.manual_seed(1234)
    first, second = draw(), draw()
    cr.manual_seed(1234)
    assert draw() == first
    assert draw() == second
    assert first != second  # the draws go on, they do not restart
    cr.manual_seed(99)
    assert draw() != first


def test_a_generator_given_is_used_instead():
    cr.manual_seed(0)
    a = cr.zeros(4).uniform_(generator=np.random.default_rng(5)).tolist()
    b = cr.zeros(4).uniform_(generator=5).tolist()
    assert a == b == np.random.default_rng(5).uniform(0, 1, 4).tolist()


def test_manual_seed_reseeds_the_generator_held_elsewhere():
    g = nn.init.get_generator(None)
    cr.manual_seed(3)
    a = g.random(3)
    cr.manual_seed(3)
    assert np.array_equal(g.random(3), a)
    assert cr.manual_seed(3) is g is nn.init.default_generator()


@pytest.mark.torch
def test_random_fills_with_pytorchs_ranges():
    # the TorchScript deployment tutorial traces on torch.LongTensor(3, 1).random_(3, VOCAB)
    torch = pytest.importorskip("torch")
    for lib in (torch, cr):
        draws = {"to": lib.zeros(500).random_(4), "from_to": lib.LongTensor(500, 1).random_(3, 6),
                 "int8": lib.zeros(500, dtype=lib.int8).random_(-2, 2), "bool": lib.zeros(50, dtype=lib.bool).random_(),
                 "float32": lib.zeros(500, dtype=lib.float32).random_()}
        assert sorted(set(draws["to"].tolist())) == [0, 1, 2, 3]
        assert sorted(set(draws["from_to"].flatten().tolist())) == [3, 4, 5]
        assert sorted(set(draws["int8"].tolist())) == [-2, -1, 0, 1]
        assert str(draws["bool"].dtype).endswith("bool") and str(draws["int8"].dtype).endswith("int8")
        assert 2 ** 16 < float(draws["float32"].max()) <= 2 ** 24
        with pytest.raises(RuntimeError, match="expects 'from' to be less than 'to'"):
            lib.zeros(3).random_(5, 3)
