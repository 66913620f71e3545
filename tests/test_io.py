"""Model files: bit-exact round trips, interoperability with the safetensors package,
the NumPy-only code path, and the errors for missing, truncated, corrupt and mismatched
files."""

import io
import json
import os
import pickle
import struct

import numpy as np
import pytest

import chainrule as cr
import chainrule.io as cio
from chainrule import nn, optim
from chainrule.io import ModelFileError, load, load_metadata, save

rng = np.random.default_rng(0)


def tricky_arrays():
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38], dtype=np.float32)
    payload_nan = np.array([0x7FC00001, 0xFFF00002], dtype=np.uint32).view(np.float32)
    return {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f64": rng.standard_normal(5),
        "f16": rng.standard_normal(3).astype(np.float16),
        "special": special,
        "nan_payloads": payload_nan,
        "i64": np.array([-(2**63), 2**63 - 1], dtype=np.int64),
        "i32": np.arange(-3, 3, dtype=np.int32),
        "i16": np.array([-5, 7], dtype=np.int16),
        "i8": np.array([-128, 127], dtype=np.int8),
        "u8": np.arange(256, dtype=np.uint8),
        "u16": np.array([65535], dtype=np.uint16),
        "u32": np.array([2**32 - 1], dtype=np.uint32),
        "u64": np.array([2**64 - 1], dtype=np.uint64),
        "bool": np.array([True, False, True]),
        "scalar": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "transposed": rng.standard_normal((3, 2)).T,  # not contiguous
        "big_endian": np.arange(4, dtype=">f8"),
    }


@pytest.fixture(params=["package", "numpy-only"])
def backend(request, monkeypatch):
    if request.param == "package":
        pytest.importorskip("safetensors")
    else:
        monkeypatch.setattr(cio, "_safetensors_numpy", lambda: None)
    return request.param


def assert_bit_exact(a, b):
    assert a.dtype.newbyteorder("=") == b.dtype.newbyteorder("=") and a.shape == b.shape
    assert np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("=")).tobytes() == b.tobytes()


def test_round_trip_is_bit_exact(tmp_path, backend):
    arrays = tricky_arrays()
    path = tmp_path / "all.safetensors"
    save(arrays, path, metadata={"kind": "test", "json": json.dumps({"a": [1, 2]})})
    loaded = load(path)
    assert set(loaded) == set(arrays)
    for name, a in arrays.items():
        assert_bit_exact(a, loaded[name])
        assert loaded[name].flags.writeable
    assert load_metadata(path) == {"kind": "test", "json": '{"a": [1, 2]}'}
    assert [p.name for p in tmp_path.iterdir()] == ["all.safetensors"]  # no temporary left


def test_written_files_follow_the_published_layout(tmp_path, backend):
    path = tmp_path / "m.safetensors"
    save({"b": np.array([1.0, 2.0], dtype=np.float32), "a": np.array([7], dtype=np.int64)}, path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    assert header["b"]["dtype"] == "F32" and header["b"]["shape"] == [2]
    begin, end = header["b"]["data_offsets"]
    assert np.frombuffer(data[begin:end], dtype="<f4").tolist() == [1.0, 2.0]
    begin, end = header["a"]["data_offsets"]
    assert np.frombuffer(data[begin:end], dtype="<i8").tolist() == [7]
    assert len(data) == 16


def test_interoperates_with_the_safetensors_package(tmp_path, monkeypatch):
    stn = pytest.importorskip("safetensors.numpy")
    arrays = {k: v for k, v in tricky_arrays().items() if k not in ("transposed", "big_endian")}
    # files written without the package are read by it, and the other way round
    monkeypatch.setattr(cio, "_safetensors_numpy", lambda: None)
    save(arrays, tmp_path / "ours.safetensors", metadata={"x": "y"})
    theirs = stn.load_file(str(tmp_path / "ours.safetensors"))
    for k, a in arrays.items():
        assert_bit_exact(a, theirs[k])
    stn.save_file(arrays, str(tmp_path / "theirs.safetensors"), metadata={"x": "z"})
    ours = load(tmp_path / "theirs.safetensors")
    for k, a in arrays.items():
        assert_bit_exact(a, ours[k])
    assert load_metadata(tmp_path / "theirs.safetensors") == {"x": "z"}


def test_torch_reads_a_saved_model(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    save(model.state_dict(), tmp_path / "m.safetensors")
    tm = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    tm.load_state_dict(st_torch.load_file(str(tmp_path / "m.safetensors")))
    x = rng.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(model(x).detach().numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_model_round_trip_through_a_file(tmp_path, backend):
    a = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    a(rng.standard_normal((4, 1, 6, 6)).astype(np.float32))  # running statistics move
    save(a.state_dict(), tmp_path / "m.safetensors")
    b = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    b.load_state_dict(load(tmp_path / "m.safetensors"))
    for va, vb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert_bit_exact(va.numpy(), vb.numpy())
    x = rng.standard_normal((2, 1, 6, 6)).astype(np.float32)
    a.eval()
    b.eval()
    assert np.array_equal(a(x).detach().numpy(), b(x).detach().numpy())


def test_mismatched_file_for_a_model_raises_state_dict_error(tmp_path, backend):
    save(nn.Linear(4, 3).state_dict(), tmp_path / "small.safetensors")
    with pytest.raises(nn.StateDictError, match="size mismatch for weight"):
        nn.Linear(5, 3).load_state_dict(load(tmp_path / "small.safetensors"))
    with pytest.raises(nn.StateDictError, match="missing keys: 0.weight"):
        nn.Sequential(nn.Linear(4, 3)).load_state_dict(load(tmp_path / "small.safetensors"))


def _good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    save({"w": np.arange(6, dtype=np.float32), "b": np.ones(2)}, path)
    return path.read_bytes()


def test_missing_truncated_and_corrupt_files(tmp_path, backend):
    raw = _good_file(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such model file"):
        load(tmp_path / "absent.safetensors")
    bad = tmp_path / "bad.safetensors"
    cases = {
        "truncated: 3 bytes": raw[:3],
        "truncated: the header needs": raw[:20],
        "truncated: the arrays need": raw[:-5],
        "bytes after the last array": raw + b"\0\0",
        "implausible": struct.pack("<Q", 2**62) + raw[8:],
        "corrupt safetensors header": raw[:8] + b"{" * (len(raw) - 8),
        "byte range of": raw.replace(b'"shape":[6]', b'"shape":[7]'),
        "which NumPy cannot hold": raw.replace(b'"F32"', b'"BF16"'),
    }
    for message, content in cases.items():
        bad.write_bytes(content)
        with pytest.raises(ModelFileError, match=message):
            load(bad)
    with pytest.raises(ModelFileError, match="is a directory"):
        load(tmp_path)
    bad.write_bytes(b"")
    with pytest.raises(ModelFileError, match="truncated"):
        load_metadata(bad)


def test_save_refuses_bad_input_and_never_leaves_a_partial_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": np.zeros(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="complex128"):
        save({"w": np.zeros(2, dtype=complex)}, path)
    with pytest.raises(TypeError, match="metadata keys and values must be strings"):
        save({"w": np.zeros(2)}, path, metadata={"epochs": 3})
    with pytest.raises(TypeError, match="keys are strings or integers"):
        save({(1, 2): np.zeros(2)}, path)
    with pytest.raises(TypeError, match=r"model\.w is an object; a checkpoint holds arrays"):
        save({"model": {"w": object()}}, path)
    with pytest.raises(ValueError, match="reserved"):
        save({"w": np.zeros(2)}, path, metadata={"chainrule.tree": "{}"})
    with pytest.raises(TypeError, match=r"0 is an object; a checkpoint holds arrays"):
        save([object()], path)
    assert path.read_bytes() == before
    with pytest.raises(OSError):
        save({"w": np.zeros(2)}, tmp_path / "no" / "such" / "dir" / "m.safetensors")
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]


@pytest.mark.parametrize("make", [
    lambda m, o: m, lambda m, o: o, lambda m, o: optim.lr_scheduler.StepLR(o, 2), lambda m, o: {"model": m, "epoch": 3},
], ids=["module", "optimizer", "schedule", "nested"])
def test_saving_a_model_or_optimizer_itself_says_to_save_its_state_dict(tmp_path, make):
    # torch.save pickles these whole; a safetensors file holds their state_dict(), which they load back
    model = nn.Linear(2, 1)
    opt = optim.Adam(model.parameters())
    with pytest.raises(TypeError, match=r"save its \.state_dict\(\) instead, and restore it with \.load_state_dict"):
        save(make(model, opt), tmp_path / "m.safetensors")
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("kind", ["file", "stringio"])
def test_saving_to_a_text_file_says_to_open_it_in_binary_mode_as_load_does(tmp_path, kind):
    target = open(tmp_path / "m.safetensors", "w") if kind == "file" else io.StringIO()  # noqa: SIM115
    with target, pytest.raises(TypeError, match=r"save: .* is a text file; open the file in binary mode"):
        save({"w": np.zeros(2)}, target)
    reader = io.StringIO("text") if kind == "stringio" else open(tmp_path / "m.safetensors")  # noqa: SIM115
    with reader, pytest.raises(TypeError, match="open the file in binary mode"):
        load(reader)


def test_atomic_replace_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    save({"w": np.zeros(2)}, path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(cio.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save({"w": np.ones(3)}, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]


def test_nested_checkpoint_round_trip_resumes_training(tmp_path, backend):
    # PyTorch's checkpoint idiom: model and optimizer state, an epoch, loose Python values
    from chainrule import optim

    def model_and_optimizer():
        nn.init.manual_seed(3)
        m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        return m, optim.Adam(m.parameters(), lr=0.01, betas=(0.8, 0.99))

    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))

    def steps(m, opt, n):
        for _ in range(n):
            opt.zero_grad()
            ((m(x) - y) ** 2).mean().backward()
            opt.step()

    model, opt = model_and_optimizer()
    steps(model, opt, 3)
    checkpoint = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
                  "loss": float("nan"), "zero": -0.0, "note": "warm", "best": None, "done": False,
                  "lr": np.float32(0.5), "history": [1.5, 2], "pair": (1, "a")}
    path = tmp_path / "checkpoint.safetensors"
    save(checkpoint, path, metadata={"run": "7"})
    back = load(path)
    assert back.keys() == checkpoint.keys() and back["epoch"] == 3 and back["note"] == "warm"
    assert np.isnan(back["loss"]) and str(back["zero"]) == "-0.0" and back["best"] is None and back["done"] is False
    assert type(back["lr"]) is np.float32 and back["lr"] == 0.5
    assert back["history"] == [1.5, 2] and back["pair"] == (1, "a")
    assert sorted(back["optimizer"]["state"]) == sorted(opt.state_dict()["state"])  # integer keys stay integers
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.8, 0.99)
    assert load_metadata(path) == {"run": "7"}

    resumed, resumed_opt = model_and_optimizer()
    resumed.load_state_dict(back["model"])
    resumed_opt.load_state_dict(back["optimizer"])
    steps(model, opt, 4)
    steps(resumed, resumed_opt, 4)
    for (name, a), (_, b) in zip(model.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b)), name


def test_nested_checkpoint_is_a_safetensors_file_with_dotted_names(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "c.safetensors"
    # a key with a dot beside the same path spelled as nesting: both arrays kept apart
    save({"a.b": np.ones(2), "a": {"b": np.zeros(2)}, "model": {"0.weight": np.eye(2)}}, path)
    assert sorted(st.load_file(str(path))) == ["a.b", "a.b_", "model.0.weight"]
    back = load(path)
    assert back["a.b"].tolist() == [1.0, 1.0] and back["a"]["b"].tolist() == [0.0, 0.0]
    assert back["model"]["0.weight"].tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_corrupt_checkpoint_shape_is_a_model_file_error(tmp_path):
    path = tmp_path / "c.safetensors"
    for tree in ["{not json", '{"dict": [["w", {"array": "missing"}]]}', '{"set": []}', "[1]"]:
        data = cio._encode({"w": np.ones(2)}, {"chainrule.tree": tree})
        path.write_bytes(data)
        with pytest.raises(ModelFileError, match="chainrule.tree"):
            load(path)


def test_load_takes_torch_loads_keywords(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": np.arange(3.0)}, path)
    for kwargs in ({"map_location": "cpu"}, {"weights_only": True}, {"weights_only": False, "map_location": None}):
        assert load(path, **kwargs)["w"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="map_location='cuda:0'"):
        load(path, map_location="cuda:0")
    # PyTorch's DDP tutorial maps one GPU to another; an identity function maps to CPU
    for where in ({"cuda:0": "cuda:1"}, {"cpu": "cpu"}, cr.device("cpu"), lambda storage, loc: storage,
                  lambda storage, loc: None):
        assert load(path, map_location=where)["w"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="to 'cuda:0'"):
        load(path, map_location={"cpu": "cuda:0"})
    with pytest.raises(ValueError, match="returned a str for 'w'"):
        load(path, map_location=lambda storage, loc: "cuda")


@pytest.mark.parametrize("obj", [
    np.arange(3.0), cr.tensor([1.0, 2.0]), [np.ones(2), np.zeros((2, 2), np.float32)], (np.ones(1), 3, "x"),
    3.5, None,
], ids=["array", "tensor", "list", "tuple", "float", "none"])
def test_any_checkpoint_value_saves_alone_as_torch_save_takes(tmp_path, obj):
    path = tmp_path / "x.pt"
    save(obj, path)
    back = load(path)
    want_leaves, want_tree = cr.tree_flatten(obj)
    got_leaves, got_tree = cr.tree_flatten(back)
    assert got_tree == want_tree
    for g, w in zip(got_leaves, want_leaves, strict=True):
        assert type(g) is type(w)  # a Tensor comes back a Tensor, as from torch.load
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


def test_tensors_load_as_tensors_as_torch_load_gives_them(tmp_path, backend):
    torch = pytest.importorskip("torch")

    def as_torch(v):
        if not isinstance(v, cr.Tensor):
            return v
        t = torch.tensor(v.detach().numpy())
        if isinstance(v, nn.Parameter):
            return torch.nn.Parameter(t, requires_grad=v.requires_grad)
        return t.requires_grad_(v.requires_grad)

    w = nn.Parameter(np.arange(3.0, dtype=np.float32))
    frozen = nn.Parameter(np.ones(2), requires_grad=False)
    t, leaf = cr.tensor([[1.0, -0.0]]), cr.tensor(2.5, requires_grad=True)
    computed = leaf * 2  # not a leaf: saved as data, loaded as a leaf that requires grad
    a = np.arange(4, dtype=np.int64)
    ours, theirs = tmp_path / "ours.pt", tmp_path / "theirs.pt"
    for value in (t, leaf, computed, w, frozen, [t, {"w": w, "a": a}]):
        save(value, ours)
        torch.save(cr.tree_map(as_torch, value), theirs)
        got, want = cr.tree_flatten(load(ours))[0], cr.tree_flatten(torch.load(theirs, weights_only=False))[0]
        for g, x in zip(got, want, strict=True):
            if isinstance(x, torch.Tensor):
                assert isinstance(g, cr.Tensor) and g.requires_grad == x.requires_grad and g.is_leaf
                assert isinstance(g, nn.Parameter) == isinstance(x, torch.nn.Parameter)
                assert_bit_exact(g.detach().numpy(), x.detach().numpy())
            else:
                assert type(g) is np.ndarray and type(x) is np.ndarray
    loaded = load(ours)[1]["w"]
    loaded.sum().backward()  # a loaded Parameter trains
    assert loaded.grad.tolist() == [1.0, 1.0, 1.0]
    # a flat state_dict of Tensors (a model's) loads as Tensors, a flat dict of arrays as arrays
    model = nn.Linear(2, 1)
    save(model.state_dict(), ours)
    back = load(ours)
    assert all(type(v) is cr.Tensor and not v.requires_grad for v in back.values())
    assert load_metadata(ours) == {}
    save({"t": t, "a": a}, ours)
    back = load(ours)
    assert type(back["a"]) is np.ndarray and type(back["t"]) is cr.Tensor
    with pytest.raises(ValueError, match="reserved"):
        save({"a": a}, ours, metadata={"chainrule.tensors": "{}"})


def test_a_flat_state_dict_loads_in_the_order_saved_as_torch_s(tmp_path, backend):
    torch = pytest.importorskip("torch")
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.Linear(2, 1, dtype=np.float64))
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2), torch.nn.Linear(2, 1).double())
    save(model.state_dict(), tmp_path / "m.pt")
    torch.save(tmodel.state_dict(), tmp_path / "t.pt")
    assert list(load(tmp_path / "m.pt")) == list(model.state_dict()) == list(torch.load(tmp_path / "t.pt"))
    arrays = {"z": np.ones(2, np.float32), "b": np.arange(3), "a": np.zeros(1)}  # NumPy arrays too
    save(arrays, tmp_path / "a.safetensors")
    back = load(tmp_path / "a.safetensors")
    assert list(back) == ["z", "b", "a"] and all(type(v) is np.ndarray for v in back.values())
    assert load_metadata(tmp_path / "a.safetensors") == {}


def test_corrupt_tensor_list_is_a_model_file_error(tmp_path):
    path = tmp_path / "m.safetensors"
    for bad in ["[1", '{"w": "rope"}', "[]", '"w"']:
        save({"w": np.ones(2)}, path)
        header = json.loads(path.read_bytes()[8:8 + struct.unpack("<Q", path.read_bytes()[:8])[0]])
        header["__metadata__"] = {"chainrule.tensors": bad}
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        path.write_bytes(struct.pack("<Q", len(text)) + text + np.ones(2).tobytes())
        with pytest.raises(ModelFileError, match="chainrule.tensors"):
            load(path)


def test_file_objects_as_torch_save_and_load_take(tmp_path):
    buffer = io.BytesIO()
    save({"model": {"w": np.arange(3.0)}, "epoch": 2}, buffer)
    buffer.seek(0)
    assert load(buffer)["epoch"] == 2
    with open(tmp_path / "m.safetensors", "wb") as f:
        save({"w": np.ones(2)}, f)
    with open(tmp_path / "m.safetensors", "rb") as f:
        assert load(f)["w"].tolist() == [1.0, 1.0]
    with open(tmp_path / "m.safetensors") as f, pytest.raises(TypeError, match="binary mode"):
        load(f)


def test_a_pytorch_pickle_is_refused_with_the_way_to_convert_it(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save(torch.nn.Linear(2, 1).state_dict(), tmp_path / "m.pt")
    with pytest.raises(ModelFileError, match="pickle file .*safetensors.torch.save_file"):
        load(tmp_path / "m.pt")
    (tmp_path / "old.pt").write_bytes(pickle.dumps({"w": 1}, protocol=2))
    with pytest.raises(ModelFileError, match="pickle file"):
        load(tmp_path / "old.pt")


@pytest.mark.parametrize("write, says", [
    (lambda path: np.savez(path, w=np.ones(2)), "a zip archive (an .npz?), not a safetensors file: numpy.load"),
    (lambda path: np.save(path, np.ones(2)), "a NumPy .npy file, not a safetensors file: numpy.load"),
], ids=["npz", "npy"])
def test_a_numpy_file_is_named_as_one_not_as_a_pytorch_pickle(tmp_path, write, says):
    # numpy.load reads these files without a pickle (allow_pickle=False): the oracle for what they are
    path = tmp_path / "weights"
    with open(path, "wb") as f:
        write(f)
    assert np.load(path, allow_pickle=False) is not None
    with pytest.raises(ModelFileError) as e:
        load(path)
    assert says in str(e.value) and "torch.save" not in str(e.value)


@pytest.mark.parametrize("scalar", [np.float32(0.5), np.float64(-0.0), np.int64(7), np.bool_(True), np.float16(2)],
                         ids=["float32", "float64", "int64", "bool", "float16"])
def test_a_numpy_scalar_in_a_flat_dict_loads_as_the_scalar_as_from_torch_load(tmp_path, backend, scalar):
    torch = pytest.importorskip("torch")
    state = {"w": np.arange(3.0), "lr": scalar}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    theirs = torch.load(buffer, weights_only=False)
    save(state, tmp_path / "s.safetensors")
    ours = load(tmp_path / "s.safetensors")
    assert list(ours) == list(theirs)
    for k in theirs:
        assert type(ours[k]) is type(theirs[k]) and ours[k].dtype == theirs[k].dtype
        assert np.asarray(ours[k]).tobytes() == np.asarray(theirs[k]).tobytes()
