"""PyTorch's runtime queries as a training script's first lines use them, ported by
replacing ``torch`` with ``cr``: they pick the CPU, and ``cr.Generator().manual_seed(s)``
seeds what takes a generator."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import data, nn


def test_the_device_line_picks_the_cpu():
    device = "cuda" if cr.cuda.is_available() else "cpu"
    assert device == "cpu" and cr.cuda.device_count() == 0
    assert not cr.backends.mps.is_available() and not cr.accelerator.is_available()
    dev = cr.device("cuda" if cr.cuda.is_available() else "cpu")
    assert dev.type == "cpu" and dev == "cpu"
    model = nn.Linear(2, 1).to(dev)
    assert model(cr.ones(3, 2, dtype=cr.float32).to(dev)).shape == (3, 1)
    cr.backends.cudnn.benchmark = True  # accepted, as scripts set it
    cr.cuda.manual_seed_all(0)


def test_cudnn_flags_and_the_constants_of_speech_code():
    torch = pytest.importorskip("torch")
    # HF's CTC loss runs in `with torch.backends.cudnn.flags(enabled=False):`
    with cr.backends.cudnn.flags(enabled=False, deterministic=True):
        y = F.ctc_loss(F.log_softmax(cr.zeros(3, 1, 2), -1), cr.tensor([[1]]), [3], [1])
    assert y.item() == pytest.approx(-np.log(6 / 8))  # 6 of the 8 paths read "1"
    assert (cr.pi, cr.e, cr.inf) == (torch.pi, torch.e, torch.inf) and np.isnan(cr.nan)


@pytest.mark.parametrize("move", [lambda d: cr.ones(2).to(d), lambda d: nn.Linear(2, 1).to(d)])
def test_another_device_is_refused_by_to(move):
    with pytest.raises(RuntimeError, match="CPU only"):
        move(cr.device("cuda", 0))
    with pytest.raises(RuntimeError, match="CPU only"):
        cr.Generator(device="cuda")


def test_a_seeded_generator_replays_splits_loaders_and_draws():
    def run(seed):
        ds = data.TensorDataset(np.arange(20.0))
        train, _ = data.random_split(ds, [0.8, 0.2], generator=cr.Generator().manual_seed(seed))
        order = [x.tolist() for (x,) in data.DataLoader(train, batch_size=4, shuffle=True,
                                                         generator=cr.Generator().manual_seed(seed))]
        return order, cr.randn(3, generator=cr.Generator().manual_seed(seed)).tolist()
    assert run(42) == run(42) and run(42) != run(7)
    g = cr.Generator().manual_seed(5)
    assert g.initial_seed() == 5 and isinstance(g, np.random.Generator)


def test_one_hot_of_an_eager_tensor_is_an_eager_tensor():
    torch = pytest.importorskip("torch")
    ours = F.one_hot(cr.tensor([0, 2, 1]), 3).float()
    theirs = torch.nn.functional.one_hot(torch.tensor([0, 2, 1]), 3).float()
    assert cr.is_tensor(ours) and ours.dtype == np.float32 and ours.tolist() == theirs.tolist()
    assert isinstance(F.one_hot(np.array([1]), 2), np.ndarray)


CREATORS = {
    "tensor": lambda d: cr.tensor([1.0], device=d), "zeros": lambda d: cr.zeros(2, device=d),
    "ones": lambda d: cr.ones(2, device=d), "empty": lambda d: cr.empty(2, device=d),
    "full": lambda d: cr.full((2,), 3.0, device=d), "zeros_like": lambda d: cr.zeros_like(cr.ones(2), device=d),
    "ones_like": lambda d: cr.ones_like(cr.ones(2), device=d),
    "empty_like": lambda d: cr.empty_like(cr.ones(2), device=d),
    "full_like": lambda d: cr.full_like(cr.ones(2), 1.0, device=d), "arange": lambda d: cr.arange(3, device=d),
    "linspace": lambda d: cr.linspace(0, 1, 3, device=d), "eye": lambda d: cr.eye(2, device=d),
    "randn": lambda d: cr.randn(2, device=d), "rand": lambda d: cr.rand(2, device=d),
    "randint": lambda d: cr.randint(0, 3, (2,), device=d), "randperm": lambda d: cr.randperm(3, device=d),
    "randn_like": lambda d: cr.randn_like(cr.ones(2), device=d),
    "rand_like": lambda d: cr.rand_like(cr.ones(2), device=d),
    "as_tensor": lambda d: cr.as_tensor([1.0], device=d), "new_zeros": lambda d: cr.ones(2).new_zeros(2, device=d),
    "new_ones": lambda d: cr.ones(2).new_ones((2,), device=d), "new_empty": lambda d: cr.ones(2).new_empty(2, device=d),
    "new_full": lambda d: cr.ones(2).new_full((2,), 1.0, device=d),
    "new_tensor": lambda d: cr.ones(2).new_tensor([1.0], device=d),
}


@pytest.mark.parametrize("name", sorted(CREATORS))
def test_creation_takes_pytorchs_device_argument(name):
    for device in (None, "cpu", "cpu:0", cr.device("cpu")):
        assert cr.is_tensor(CREATORS[name](device))
    with pytest.raises(RuntimeError, match=f"{name}.*CPU only"):
        CREATORS[name]("cuda")


def test_the_compiler_attention_kernel_and_autocast_queries_of_transformer_code():
    torch = pytest.importorskip("torch")
    from chainrule.nn.attention import SDPBackend, sdpa_kernel

    assert not cr.compiler.is_compiling() and not cr.is_autocast_enabled() and not cr.is_autocast_enabled("cpu")
    assert cr.compiler.disable(F.relu) is F.relu and cr.compiler.disable(recursive=False)(F.relu) is F.relu
    assert [int(getattr(torch.nn.attention.SDPBackend, b.name)) for b in SDPBackend] == [int(b) for b in SDPBackend]
    q = np.random.default_rng(0).standard_normal((1, 2, 3, 4))
    want = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]), \
            cr.backends.cuda.sdp_kernel(enable_flash=False, enable_math=True):
        np.testing.assert_array_equal(cr.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True), want)
    with pytest.raises(TypeError, match="SDPBackend"), sdpa_kernel("math"):
        pass
    assert cr.nn.attention.sdpa_kernel is sdpa_kernel and cr.backends.cuda.math_sdp_enabled()
    assert nn.ReLU()._get_name() == torch.nn.ReLU()._get_name() == "ReLU"
