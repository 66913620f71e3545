"""PyTorch's runtime calls that training scripts make at the top (torch.compile, threads,
matmul precision, determinism, default device, RNG state, torch.Size), answered for a
CPU library: each does what it says here, or refuses clearly."""

import pickle

import numpy as np
import pytest

import chainrule as cr


def test_compile_returns_the_module_or_function_in_every_spelling():
    net = cr.nn.Sequential(cr.nn.Linear(3, 2), cr.nn.ReLU())
    x = cr.ones(4, 3)
    for compiled in (cr.compile(net), cr.compile(net, mode="max-autotune", fullgraph=True),
                     cr.compile(mode="reduce-overhead")(net), cr.compile(backend="eager", dynamic=True)(net)):
        assert compiled is net
        np.testing.assert_array_equal(compiled(x).detach().numpy(), net(x).detach().numpy())

    @cr.compile
    def f(t):
        return t * 2

    assert f(cr.tensor(3.0)).item() == 6.0
    with pytest.raises(TypeError, match="module or a function"):
        cr.compile(3)


def test_threads_precision_determinism_and_device_settings():
    pytest.importorskip("threadpoolctl")
    before = cr.get_num_threads()
    cr.set_num_threads(1)
    assert cr.get_num_threads() == 1
    cr.set_num_threads(before)
    assert cr.get_num_threads() == before
    with pytest.raises(ValueError, match="positive"):
        cr.set_num_threads(0)
    for p in ("high", "medium", "highest"):
        cr.set_float32_matmul_precision(p)
        assert cr.get_float32_matmul_precision() == p
    with pytest.raises(ValueError, match="'highest', 'high' or 'medium'"):
        cr.set_float32_matmul_precision("low")
    cr.use_deterministic_algorithms(True, warn_only=True)
    assert cr.are_deterministic_algorithms_enabled()
    cr.use_deterministic_algorithms(False)
    assert not cr.are_deterministic_algorithms_enabled()
    cr.set_default_device("cpu")
    cr.set_default_device(None)
    assert cr.get_default_device().type == "cpu"
    with pytest.raises(RuntimeError, match="CPU only"):
        cr.set_default_device("cuda")


def test_rng_state_round_trips_and_survives_a_model_file(tmp_path):
    cr.manual_seed(123)
    assert cr.initial_seed() == 123
    state = cr.get_rng_state()
    assert state.dtype == np.uint8 and state.shape == (48,) and not state.requires_grad
    first = cr.randn(5).tolist()
    cr.save({"rng": state}, tmp_path / "ck.safetensors")
    cr.randn(7)
    cr.set_rng_state(cr.load(tmp_path / "ck.safetensors")["rng"])
    assert cr.randn(5).tolist() == first
    # a half-used 32-bit draw is part of the state
    cr.manual_seed(1).integers(0, 2**31, dtype=np.uint32)
    assert cr.manual_seed(1).bit_generator.state["has_uint32"] == 0
    cr.manual_seed(1).integers(0, 2**31, dtype=np.uint32)
    s = cr.get_rng_state()
    assert s.numpy()[32] == 1  # the buffered half of a 64-bit draw is kept
    a = cr.rand(3).tolist()
    cr.set_rng_state(s)
    assert cr.rand(3).tolist() == a
    new = cr.seed()
    assert cr.initial_seed() == new
    with pytest.raises(ValueError, match="48 bytes"):
        cr.set_rng_state(np.zeros(8, np.uint8))


@pytest.mark.parametrize("lib", ["chainrule", "torch"])
def test_restoring_a_state_restores_the_initial_seed(lib):
    """As PyTorch's: the seed a state was saved under comes back with it, for the global
    generator and a Generator; an older 40-byte state of ours restores the draws alone."""
    m = pytest.importorskip(lib)
    m.manual_seed(5)
    state = m.get_rng_state()
    a = m.rand(3).tolist()
    m.manual_seed(7)
    m.set_rng_state(state)
    assert m.initial_seed() == 5 and m.rand(3).tolist() == a
    g = m.Generator().manual_seed(3)
    saved = g.get_state()
    b = m.rand(2, generator=g).tolist()
    g.manual_seed(9)
    assert g.set_state(saved) is g and g.initial_seed() == 3 and m.rand(2, generator=g).tolist() == b
    if lib == "chainrule":
        m.manual_seed(11)
        m.set_rng_state(state.numpy()[:40])
        assert m.initial_seed() == 11 and m.rand(3).tolist() == a


def test_size_is_a_tuple_of_ints_and_shapes_count_as_one():
    torch = pytest.importorskip("torch")
    s = cr.Size([2, 3, 4])
    assert s == (2, 3, 4) and s.numel() == torch.Size([2, 3, 4]).numel() == 24
    assert isinstance(cr.zeros(2, 3).shape, cr.Size) and isinstance(cr.zeros(2).size(), cr.Size)
    assert not isinstance((2.0, 3), cr.Size) and not isinstance([2, 3], cr.Size)
    assert cr.zeros(cr.Size([2, 2])).shape == (2, 2)


@pytest.mark.parametrize("lib", ["chainrule", "torch"])
def test_shape_is_a_torch_size_as_torch_s(lib):
    # what model code does with x.shape and x.size(); torch's answers are the oracle
    torch = pytest.importorskip("torch") if lib == "torch" else cr
    x = torch.zeros(2, 3, 4)
    got = []
    for s in (x.shape, x.size()):
        assert type(s) is torch.Size and s == (2, 3, 4) and s.numel() == 24 and hash(s) == hash((2, 3, 4))
        n, c, w = s
        parts = (s[:-1], s[1:], s[::-1], s + (5,), (1,) + s, s * 2, torch.Size([n, c]), pickle.loads(pickle.dumps(s)))
        assert all(type(p) is torch.Size for p in parts) and type(s[0]) is int and type(s.index(3)) is int
        got.append([repr(p) for p in parts] + [str(s), f"{s}", w])
    assert got[0] == got[1]
    assert got[0][:4] == ["torch.Size([2, 3])", "torch.Size([3, 4])", "torch.Size([4, 3, 2])",
                          "torch.Size([2, 3, 4, 5])"]
    assert x.view(*x.shape[:-1], -1).shape == (2, 3, 4) and x.reshape(x.shape[0], -1).shape == torch.Size([2, 12])
    assert torch.zeros(x.shape).shape == x.shape and torch.zeros(x.shape[1:]).shape == (3, 4)
    assert np.zeros(x.shape).shape == (2, 3, 4) and torch.Size() == () and repr(torch.Size()) == "torch.Size([])"
    assert not isinstance((2, 3), torch.Size)
    with pytest.raises(TypeError):
        torch.Size([2.0, 3])


def test_bfloat16_is_a_name_for_autocast_and_refused_as_a_tensor_dtype():
    with pytest.raises(TypeError, match="bfloat16 has no NumPy counterpart"):
        cr.zeros(2, dtype=cr.bfloat16)
    with pytest.raises(TypeError, match="bfloat16"):
        cr.ones(2).to(cr.bfloat16)
