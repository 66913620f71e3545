"""Model files on disk as users meet them: the permissions of a saved file, saving into
a folder or a missing one, an interrupted save, a header whose numbers are not whole,
weights tied or cast on loading (the real PyTorch as the oracle), and a file or a stream
read in stages, refused at the first bad one (the safetensors package as the oracle)."""

import io
import json
import os
import struct
from unittest import mock

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.io import ModelFileError, load, load_metadata, save
from test_io import backend  # noqa: F401  (the fixture: with and without the safetensors package)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_saved_file_has_the_umask_s_mode_or_the_mode_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "m.safetensors"
    old = os.umask(0o022)
    try:
        save({"w": np.zeros(2)}, path)
        assert path.stat().st_mode & 0o777 == 0o644  # readable by others, as open() and torch.save make it
        os.umask(0o077)
        save({"w": np.zeros(2)}, tmp_path / "private.safetensors")
        assert (tmp_path / "private.safetensors").stat().st_mode & 0o777 == 0o600
        path.chmod(0o640)
        save({"w": np.ones(2)}, path)  # replacing a file keeps its mode
        assert path.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_saving_into_a_folder_or_a_missing_one_names_the_path_asked_for(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"is a directory: save to a file in it .*model\.safetensors") as e:
        save({"w": np.zeros(2)}, folder)
    assert e.value.filename == str(folder)
    missing = tmp_path / "no" / "m.safetensors"
    with pytest.raises(FileNotFoundError, match="create it first") as e:
        save({"w": np.zeros(2)}, missing)
    assert e.value.filename == str(missing) and ".tmp" not in str(e.value)
    assert sorted(os.listdir(tmp_path)) == ["run"] and not os.listdir(folder)


@pytest.mark.parametrize("name", ["new/", "file/", "run/", "missing/new/"])
def test_a_path_that_ends_with_a_separator_names_a_folder_as_for_open(tmp_path, name):
    # open() (so torch.save) refuses a file name ending in '/'; saving must not write a file named
    # like the folder meant, nor into the folder's place
    (tmp_path / "file").write_bytes(b"old")
    (tmp_path / "run").mkdir()
    path = os.path.join(tmp_path, name)  # (a Path would drop the final '/')
    with pytest.raises(OSError) as theirs:
        open(path, "wb")  # noqa: SIM115
    with pytest.raises(OSError) as ours:
        save({"w": np.zeros(2)}, path)
    assert type(ours.value) is type(theirs.value) and ours.value.filename == path
    assert sorted(os.listdir(tmp_path)) == ["file", "run"] and (tmp_path / "file").read_bytes() == b"old"
    assert not os.listdir(tmp_path / "run")


def test_an_interrupted_save_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": np.arange(3.0)}, path)
    with mock.patch("os.fsync", side_effect=KeyboardInterrupt), pytest.raises(KeyboardInterrupt):
        save({"w": np.zeros(5)}, path)
    assert load(path)["w"].tolist() == [0.0, 1.0, 2.0] and os.listdir(tmp_path) == ["m.safetensors"]


def _file(tmp_path, field, value, data=bytes(16)):  # two float64 zeros
    header = {"w": {"dtype": "F64", "shape": [2], "data_offsets": [0, len(data)]}}
    header["w"][field] = value
    text = json.dumps(header).encode()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


@pytest.mark.parametrize("field, value", [("shape", [2.0]), ("shape", ["2"]), ("shape", [True, 2]),
                                          ("data_offsets", [0, 16.0]), ("shape", 2)])
def test_a_header_number_that_is_not_whole_is_corrupt(tmp_path, backend, field, value):  # noqa: F811
    with pytest.raises(ModelFileError, match="corrupt header entry for 'w'"):
        load(_file(tmp_path, field, value))


@pytest.mark.parametrize("shape", [[2**62, 4], [2**61, 2**3], [0, 2**70], [2**64], [3, -1]])
def test_a_shape_whose_size_overflows_is_corrupt(tmp_path, backend, shape):  # noqa: F811
    # 2**62 * 4 elements wrap around to 0 in int64: as many bytes as an empty array has
    with pytest.raises(ModelFileError, match="does not fit its shape"):
        load(_file(tmp_path, "shape", shape, data=b""))


def test_tied_and_cast_weights_load_as_in_pytorch(tmp_path):
    torch = pytest.importorskip("torch")

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.out = nn.Embedding(4, 3), nn.Linear(3, 4, bias=False)
            self.out.weight = self.emb.weight

    model, fresh = Tied(), Tied()
    save(model.state_dict(), tmp_path / "tied.safetensors")
    fresh.load_state_dict(load(tmp_path / "tied.safetensors"))
    assert fresh.out.weight is fresh.emb.weight
    assert np.array_equal(fresh.out.weight.detach().numpy(), model.emb.weight.detach().numpy())
    # a float64 file into a float32 model: the parameters keep their dtype, as PyTorch's
    wide = {"weight": np.arange(6.0).reshape(2, 3) / 7, "bias": np.array([0.1, 1e-40])}
    save(wide, tmp_path / "wide.safetensors")
    ours = nn.Linear(3, 2, dtype=cr.float32)
    ours.load_state_dict(load(tmp_path / "wide.safetensors"))
    theirs = torch.nn.Linear(3, 2)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in wide.items()})
    for name in wide:
        a, b = getattr(ours, name).detach(), getattr(theirs, name).detach()
        assert a.dtype == np.float32 and np.array_equal(a.numpy(), b.numpy())


def test_saving_to_a_symlink_writes_the_file_it_points_to_as_open_does(tmp_path):
    (tmp_path / "runs").mkdir()
    target, link = tmp_path / "runs" / "model.safetensors", tmp_path / "latest.safetensors"
    link.symlink_to(target)  # dangling until the first save, as open() would create it
    for value in (1.0, 2.0):
        save({"w": np.full(2, value)}, link)
        assert link.is_symlink() and load(target)["w"].tolist() == [value, value]
    assert sorted(os.listdir(tmp_path / "runs")) == ["model.safetensors"]


def test_a_bfloat16_file_says_how_to_save_it_readably(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    st.save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, str(tmp_path / "bf16.safetensors"))
    with pytest.raises(ModelFileError, match=r"'w' has dtype BF16, .*save the model in float32 .*model\.float\(\)"):
        load(tmp_path / "bf16.safetensors")


@pytest.mark.parametrize("state", [
    {"h": np.ones(3, np.float16), "d": np.arange(3.0), "b": np.array([True]), "f": np.ones((2, 3), np.float32)},
    {"model": {"w": np.ones(1, np.int8), "v": np.zeros(2)}, "epoch": 3, "betas": (0.9, 0.999)},
], ids=["flat", "nested"])
def test_the_same_values_write_the_same_bytes_each_array_aligned(tmp_path, state):
    # a straight and a resumed run's model files are the same file; the data of each array starts at a
    # multiple of its item size, as the safetensors package lays it out, and the package reads it
    stn = pytest.importorskip("safetensors.numpy")
    metadata = {f"key{i}": str(i) for i in range(8)}
    files = []
    for i in range(3):
        save(state, tmp_path / f"{i}.safetensors", metadata=metadata)
        files.append((tmp_path / f"{i}.safetensors").read_bytes())
    assert files[0] == files[1] == files[2]
    (n,) = struct.unpack("<Q", files[0][:8])
    header = json.loads(files[0][8 : 8 + n])
    assert list(header)[0] == "__metadata__"
    sizes = {"F16": 2, "F64": 8, "BOOL": 1, "F32": 4, "I8": 1}
    assert all(entry["data_offsets"][0] % sizes[entry["dtype"]] == 0 for k, entry in header.items() if k[0] != "_")
    theirs = stn.load_file(str(tmp_path / "0.safetensors"))
    ours = load(tmp_path / "0.safetensors")
    flat = ours if "model" not in ours else {f"model.{k}": v for k, v in ours["model"].items()}
    assert set(theirs) == set(flat) and all(np.array_equal(theirs[k], np.asarray(flat[k])) for k in theirs)


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("header", [
    '{"__metadata__": {"x": ' + DEEP + "}}",
    '{"a": ' + DEEP + "}",
    '{"__metadata__": {"chainrule.tree": ' + json.dumps(DEEP) + "}}",
    '{"__metadata__": {"chainrule.tree": ' + json.dumps('{"list": [' * 5000 + "]}" * 5000) + "}}",
    '{"__metadata__": {"chainrule.tensors": ' + json.dumps(DEEP) + "}}",
], ids=["metadata", "entry", "tree", "deep-tree", "tensors"])
def test_a_header_nested_too_deep_is_a_model_file_error(tmp_path, backend, header):  # noqa: F811
    # the safetensors package refuses a header nested too deep; the nested checkpoint's shape, JSON in
    # a metadata string, must not raise a RecursionError either
    path = tmp_path / "deep.safetensors"
    text = header.encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text)
    with pytest.raises(ModelFileError, match="deep.safetensors: corrupt"):
        load(path)


def test_complex64_round_trips_and_interoperates_as_the_safetensors_package_stores_it(tmp_path, backend):  # noqa: F811
    # safetensors stores complex64 as C64 (and has no complex128): the package and PyTorch read and write it
    stn = pytest.importorskip("safetensors.numpy")
    st_torch = pytest.importorskip("safetensors.torch")
    torch = pytest.importorskip("torch")
    z = np.array([1 + 2j, -0.0 + 0j, complex(np.inf, np.nan), 3.0e38 - 1e-45j], dtype=np.complex64)
    state = {"z": z, "w": np.ones(3, np.float16)}
    save(state, tmp_path / "ours.safetensors")
    assert stn.load_file(str(tmp_path / "ours.safetensors"))["z"].tobytes() == z.tobytes()
    assert st_torch.load_file(str(tmp_path / "ours.safetensors"))["z"].numpy().tobytes() == z.tobytes()
    assert load(tmp_path / "ours.safetensors")["z"].tobytes() == z.tobytes()
    st_torch.save_file({"z": torch.from_numpy(z)}, str(tmp_path / "theirs.safetensors"))
    back = load(tmp_path / "theirs.safetensors")["z"]
    assert back.dtype == np.complex64 and back.tobytes() == z.tobytes()
    with pytest.raises(TypeError, match="complex128, which safetensors cannot store.*complex64"):
        save({"z": z.astype(np.complex128)}, tmp_path / "c128.safetensors")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_saving_to_a_named_pipe_writes_into_it_as_open_does(tmp_path):
    # open() (so torch.save) writes into a FIFO, or a device such as /dev/null; moving a file into its
    # place would replace the pipe (or, as root, /dev/null itself) with a regular file
    import stat

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader waits, so that a writer can open
    try:
        save({"w": np.arange(3.0)}, fifo)
        got = os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and sorted(os.listdir(tmp_path)) == ["pipe"]
    assert load(io.BytesIO(got))["w"].tolist() == [0.0, 1.0, 2.0]


class _Reader:
    """A binary file of ``content``, then zeros without end if ``endless`` (as /dev/zero, or a
    pipe that is never closed, gives); a stream unless ``seekable``. Asking for more than
    ``limit`` bytes in all fails the test: a model file is read a stage at a time, and a
    stage that cannot be a safetensors file's is refused before the next is read."""

    def __init__(self, content, seekable, endless=False, limit=1 << 20):
        self.content, self._seekable, self.endless, self.limit, self.pos = content, seekable, endless, limit, 0

    def read(self, n=-1):
        if n is None or n < 0:
            n = float("inf") if self.endless else len(self.content) - self.pos
        if not self.endless:
            n = min(n, len(self.content) - self.pos)
        assert self.pos + n <= self.limit, f"asked for {self.pos + n} bytes of a file read in stages"
        got = self.content[self.pos:self.pos + n]
        got += bytes(n - len(got))
        self.pos += n
        return got

    def seekable(self):
        return self._seekable

    def tell(self):
        return self.pos

    def seek(self, offset, whence=io.SEEK_SET):
        assert self._seekable
        self.pos = offset + (len(self.content) if whence == io.SEEK_END else 0)
        return self.pos


def _header(entries):
    text = json.dumps(entries).encode()
    return struct.pack("<Q", len(text)) + text


_BIG = bytes(2 << 20)  # more than _Reader's limit
_ONE = _header({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}) + bytes(8)


@pytest.mark.parametrize("content, seekable, endless, message", [
    (b"", False, True, r"corrupt safetensors header"),  # /dev/zero
    (struct.pack("<Q", 2**40), False, True, r"header length 1099511627776 is implausible"),
    (struct.pack("<Q", 2**40) + _BIG, True, False, r"header length 1099511627776 is implausible"),
    (struct.pack("<Q", 50_000_000) + _BIG, True, False, r"the header needs 50000000 bytes, the file has 2097152"),
    (struct.pack("<Q", 50_000_000) + b"{}", False, False, r"the header needs 50000000 bytes, the file has 2$"),
    (_header({"w": {"dtype": "F64", "shape": [10**8], "data_offsets": [0, 8 * 10**8]}}) + _BIG, True, False,
     r"the arrays need 800000000 bytes of data, the file has 2097152"),
    (_ONE + _BIG, True, False, r"corrupt: 2097152 bytes after the last array"),
    (_ONE + b"\0\0", False, False, r"corrupt: 2 bytes after the last array"),
], ids=["dev-zero", "huge-header-stream", "huge-header", "header-past-the-end", "header-past-the-end-stream",
        "data-past-the-end", "bytes-after", "bytes-after-stream"])
def test_a_file_is_read_in_stages_and_refused_at_the_first_bad_one(backend, content, seekable, endless,  # noqa: F811
                                                                  message):
    stn = pytest.importorskip("safetensors.numpy") if backend == "package" else None
    if stn is not None:  # the oracle: the safetensors package refuses the same bytes
        with pytest.raises(Exception, match="Error while deserializing"):
            stn.load(content + (bytes(64) if endless else b""))
    with pytest.raises(ModelFileError, match=r"<.*_Reader.*>: .*" + message):
        load(_Reader(content, seekable, endless))
    with pytest.raises(ModelFileError, match=message):
        load_metadata(_Reader(content, seekable, endless))
    if content == b"" and os.path.exists("/dev/zero"):  # (after the check above, which fails without hanging)
        with pytest.raises(ModelFileError, match="/dev/zero: corrupt safetensors header"):
            load("/dev/zero")


def test_a_stream_of_a_valid_file_loads_as_the_file_does(tmp_path, backend):  # noqa: F811
    save({"w": np.arange(3.0), "b": np.ones(2, np.float32)}, tmp_path / "m.safetensors", metadata={"k": "v"})
    raw = (tmp_path / "m.safetensors").read_bytes()
    for seekable in (True, False):
        got = load(_Reader(raw, seekable))
        assert list(got) == ["w", "b"] and got["w"].tolist() == [0.0, 1.0, 2.0] and got["b"].dtype == np.float32
        assert load_metadata(_Reader(raw, seekable)) == {"k": "v"}
