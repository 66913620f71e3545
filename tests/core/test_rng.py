"""``chainrule.manual_seed`` makes every draw that is not given a generator reproducible,
as ``torch.manual_seed`` does for PyTorch's: the same seed gives the same sequence."""

import warnings

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


# name: a function of a float64 array that draws with a creation function (or fill) and
# computes with its argument, each draw from the global generator or the generator given
JITTED_DRAWS = {
    "randn": lambda x: x + cr.randn(2, dtype=cr.float64),
    "randn_default_dtype": lambda x: x * cr.randn(1, 2),
    "rand": lambda x: x - cr.rand(2, dtype=cr.float32),
    "randint": lambda x: x + cr.randint(0, 1000, (2,)),
    "randint_high": lambda x: x + cr.randint(1000, (2,)),
    "randperm": lambda x: x + cr.randperm(2),
    "randn_like": lambda x: x + cr.randn_like(cr.zeros(2, dtype=cr.float32)),
    "rand_like": lambda x: x + cr.rand_like(cr.zeros(2)),
    "normal": lambda x: x + cr.normal(cr.zeros(2, dtype=cr.float32), 2.0),
    "normal_size": lambda x: x + cr.normal(1.0, 2.0, size=(2,)),
    "int_seed": lambda x: x + cr.randn(2, generator=5),
    "two_draws": lambda x: (cr.rand(2) * x + cr.randn(2), cr.randint(0, 9, (3,))),
    "uniform_": lambda x: x + cr.zeros(2).uniform_(-1, 1),
    "normal_": lambda x: x * cr.empty(2, dtype=cr.float32).normal_(2.0, 0.5),
    "bernoulli_": lambda x: x + cr.zeros(20, 2).bernoulli_(0.5),
    "exponential_": lambda x: x + cr.zeros(2).exponential_(2.0),
    "random_": lambda x: x + cr.zeros(2, dtype=cr.int64).random_(3, 1000),
    "bernoulli": lambda x: x + cr.full((20, 2), 0.5).bernoulli(),
    "fill_int_seed": lambda x: x + cr.zeros(2).normal_(generator=5),
}


def _leaves(out):
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("name", sorted(JITTED_DRAWS))
def test_jit_records_the_draws_of_creation_functions(name):
    # each replay draws anew, the numbers the plain call draws from the same state
    f = JITTED_DRAWS[name]
    j = cr.jit(f)
    x = np.arange(1.0, 3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "runs without jit"
        for seed in (0, 1, 0):
            cr.manual_seed(seed)
            plain = _leaves(f(x))
            cr.manual_seed(seed)
            jitted = _leaves(j(x))
            for p, q in zip(plain, jitted, strict=True):
                # eager Tensors (without grad), jitted as plain (docs/jit.md)
                assert type(p) is type(q) is cr.Tensor and not q.requires_grad
                assert q.dtype == p.dtype and np.array_equal(q.numpy(), p.numpy())
            assert not np.array_equal(jitted[0], j(x)[0])  # the draws go on
    assert j.traces == 1


def test_jit_draws_from_the_generator_given():
    def f(x, g):
        return x + cr.randn(3, generator=g, dtype=cr.float64) + cr.rand(3, generator=g)

    j = cr.jit(f)
    x = np.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for seed in (3, 4, 3):
            expected = f(x, np.random.default_rng(seed))
            assert np.array_equal(j(x, np.random.default_rng(seed)), expected.numpy())
        g, h = np.random.default_rng(7), np.random.default_rng(7)
        assert np.array_equal(j(x, g), f(x, h).numpy())
        assert np.array_equal(j(x, g), f(x, h).numpy())  # the generator goes on
