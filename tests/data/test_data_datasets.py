"""Dataset files: IDX (plain and gzipped) and .npz readers on small files written here,
their errors for missing, truncated and malformed files, and the bundled digits."""

import gzip
import struct

import numpy as np
import pytest

from chainrule.data import DatasetError, load_digits, load_fashion_mnist, load_mnist, read_idx, write_idx

rng = np.random.default_rng(0)
TRAIN_X = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
TRAIN_Y = rng.integers(0, 10, 12).astype(np.uint8)
TEST_X = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
TEST_Y = rng.integers(0, 10, 5).astype(np.uint8)


def write_mnist_dir(directory, gz=False):
    suffix = ".gz" if gz else ""
    write_idx(directory / f"train-images-idx3-ubyte{suffix}", TRAIN_X)
    write_idx(directory / f"train-labels-idx1-ubyte{suffix}", TRAIN_Y)
    write_idx(directory / f"t10k-images-idx3-ubyte{suffix}", TEST_X)
    write_idx(directory / f"t10k-labels-idx1-ubyte{suffix}", TEST_Y)
    return directory


def test_idx_header_layout_is_the_standard_one(tmp_path):
    # written by hand, byte by byte, as the format's description gives it
    raw = bytes([0, 0, 0x08, 2]) + struct.pack(">II", 2, 3) + bytes(range(6))
    (tmp_path / "a").write_bytes(raw)
    assert read_idx(tmp_path / "a").tolist() == [[0, 1, 2], [3, 4, 5]]
    (tmp_path / "b.gz").write_bytes(gzip.compress(raw))
    assert read_idx(tmp_path / "b.gz").tolist() == [[0, 1, 2], [3, 4, 5]]
    ints = bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 2) + struct.pack(">ii", -7, 70000)
    (tmp_path / "c").write_bytes(ints)
    assert read_idx(tmp_path / "c").tolist() == [-7, 70000]


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, dtype):
    a = (rng.standard_normal((3, 4, 2)) * 50).astype(dtype)
    write_idx(tmp_path / "x.gz", a)
    b = read_idx(tmp_path / "x.gz")
    assert b.dtype == dtype and np.array_equal(a, b) and b.flags.writeable


def test_idx_errors(tmp_path):
    write_idx(tmp_path / "ok", TRAIN_X[:2])
    raw = (tmp_path / "ok").read_bytes()
    (tmp_path / "short").write_bytes(raw[:-10])
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(tmp_path / "short")
    (tmp_path / "long").write_bytes(raw + b"xx")
    with pytest.raises(DatasetError, match="longer than its header"):
        read_idx(tmp_path / "long")
    (tmp_path / "magic").write_bytes(b"\x01\x02\x03\x04" + raw[4:])
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(tmp_path / "magic")
    (tmp_path / "header").write_bytes(raw[:6])
    with pytest.raises(DatasetError, match="truncated IDX header"):
        read_idx(tmp_path / "header")
    (tmp_path / "bad.gz").write_bytes(gzip.compress(raw)[:-20])
    with pytest.raises(DatasetError, match="gzip"):
        read_idx(tmp_path / "bad.gz")
    with pytest.raises(DatasetError, match="no such file"):
        read_idx(tmp_path / "missing")


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_from_idx_directory(tmp_path, gz):
    train, test = load_mnist(write_mnist_dir(tmp_path, gz))
    x, y = train.arrays
    assert x.shape == (12, 784) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x, TRAIN_X.reshape(12, -1) / 255.0, rtol=1e-6)
    assert np.array_equal(y, TRAIN_Y)
    assert len(test) == 5
    images, _ = load_fashion_mnist(tmp_path, flatten=False)[1].arrays
    assert images.shape == (5, 1, 28, 28)


def test_load_mnist_from_npz(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=TRAIN_X, y_train=TRAIN_Y, x_test=TEST_X, y_test=TEST_Y)
    train, test = load_mnist(tmp_path / "mnist.npz", dtype=np.float64)
    assert train.arrays[0].dtype == np.float64 and np.array_equal(test.arrays[1], TEST_Y)


def test_mnist_errors(tmp_path):
    with pytest.raises(DatasetError, match="no such file or directory"):
        load_mnist(tmp_path / "nowhere")
    write_mnist_dir(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match="no file t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", TEST_Y[:3])
    with pytest.raises(DatasetError, match="N labels"):
        load_mnist(tmp_path)
    np.savez(tmp_path / "partial.npz", x_train=TRAIN_X, y_train=TRAIN_Y)
    with pytest.raises(DatasetError, match="lacks the arrays"):
        load_mnist(tmp_path / "partial.npz")
    np.savez(tmp_path / "labels.npz", x_train=TRAIN_X, y_train=TRAIN_Y + 10, x_test=TEST_X, y_test=TEST_Y)
    with pytest.raises(DatasetError, match="labels must be integers 0"):
        load_mnist(tmp_path / "labels.npz")
    good = (tmp_path / "labels.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError, match="npz"):
        load_mnist(tmp_path / "cut.npz")
    # object arrays would need pickle, which is refused
    np.savez(tmp_path / "pickled.npz", x_train=np.array([{"a": 1}], dtype=object), y_train=TRAIN_Y,
             x_test=TEST_X, y_test=TEST_Y)
    with pytest.raises(DatasetError, match="not a usable .npz"):
        load_mnist(tmp_path / "pickled.npz")


def test_load_digits_split_is_reproducible_and_scaled():
    pytest.importorskip("sklearn")
    train, test = load_digits(test_fraction=0.25, seed=3)
    assert len(train) + len(test) == 1797 and len(test) == 449
    x, y = train.arrays
    assert x.shape[1] == 64 and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    again, _ = load_digits(test_fraction=0.25, seed=3)
    assert np.array_equal(again.arrays[1], y)
    images, _ = load_digits(flatten=False)[0].arrays
    assert images.shape[1:] == (1, 8, 8)
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=1.5)


def test_train_test_split_keeps_a_sample_in_each_part():
    from chainrule.data import train_test_split

    for fraction, sizes in [(0.9999, (1, 9)), (0.0001, (9, 1)), (0.5, (5, 5))]:
        xtr, ytr, xte, yte = train_test_split(np.arange(10), np.arange(10), fraction)
        assert (len(xtr), len(xte)) == sizes and sorted([*xtr, *xte]) == list(range(10))
    with pytest.raises(ValueError, match="1 sample cannot be split"):
        train_test_split(np.arange(1), np.arange(1), 0.5)


@pytest.mark.parametrize("nx, ny", [(10, 5), (5, 10), (2, 3)])
def test_train_test_split_refuses_x_and_y_of_different_lengths_as_scikit_learns(nx, ny):
    from chainrule.data import train_test_split

    sklearn_split = pytest.importorskip("sklearn.model_selection").train_test_split
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        sklearn_split(np.arange(nx), np.arange(ny), test_size=0.2)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):  # not y's rows left out silently
        train_test_split(np.arange(nx), np.arange(ny), 0.2)


@pytest.mark.parametrize("dims", [(2**32 - 1,) * 4, (2**31, 2**31, 4), (65536, 65536, 65536)])
def test_an_idx_header_of_huge_sizes_is_called_truncated_with_its_true_size(tmp_path, dims):
    (tmp_path / "huge").write_bytes(bytes([0, 0, 0x08, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + b"\x05")
    expected = 1
    for d in dims:
        expected *= d
    with pytest.raises(DatasetError, match=f"truncated: .*\\({expected} bytes of data\\), the file has 1$"):
        read_idx(tmp_path / "huge")


@pytest.mark.parametrize("dtype, code", [(">i4", 0x0C), ("<i4", 0x0C), (">f8", 0x0E), ("<i2", 0x0B), ("<f4", 0x0D)])
def test_write_idx_takes_either_byte_order_and_writes_big_endian(tmp_path, dtype, code):
    a = np.array([[1, -2, 3], [4, 5, -6]], dtype=dtype)
    write_idx(tmp_path / "x", a)
    # LeCun's layout: 0, 0, the type code, the rank, each size as a big-endian uint32, the data big-endian
    spec = bytes([0, 0, code, 2]) + struct.pack(">2I", 2, 3) + a.astype(a.dtype.newbyteorder(">")).tobytes()
    assert (tmp_path / "x").read_bytes() == spec
    assert np.array_equal(read_idx(tmp_path / "x"), a)


@pytest.mark.parametrize("flatten, shape", [(True, (0, 784)), (False, (0, 1, 28, 28))])
def test_a_split_of_no_images_is_an_empty_dataset(tmp_path, flatten, shape):
    np.savez(tmp_path / "m.npz", x_train=TRAIN_X, y_train=TRAIN_Y, x_test=TEST_X[:0], y_test=TEST_Y[:0])
    train, test = load_mnist(tmp_path / "m.npz", flatten=flatten)
    assert len(train) == 12 and len(test) == 0 and test.arrays[0].shape == shape


def test_each_split_is_scaled_by_its_own_pixel_type(tmp_path):
    floats = TRAIN_X.astype(np.float32) / 255
    np.savez(tmp_path / "m.npz", x_train=floats, y_train=TRAIN_Y, x_test=TEST_X, y_test=TEST_Y)
    train, test = load_mnist(tmp_path / "m.npz")
    np.testing.assert_allclose(train.arrays[0], floats.reshape(12, -1), rtol=1e-6)
    np.testing.assert_allclose(test.arrays[0], TEST_X.reshape(5, -1) / 255.0, rtol=1e-6)


@pytest.mark.parametrize("content, what", [
    (None, "an IDX file"), (b"", "empty"), (gzip.compress(b"PK\x03\x04"), "gzipped"), (b"\x93NUMPY\x01\x00", "bytes"),
], ids=["idx", "empty", "gzip", "npy"])
def test_a_file_that_is_no_npz_is_named_for_what_it_is(tmp_path, content, what):
    # an .npz is a zip archive (its first bytes PK\x03\x04); NumPy's reader calls anything
    # else pickled data and advises allow_pickle, which would not read it either
    path = tmp_path / "train-images-idx3-ubyte"
    if content is None:
        write_idx(path, TRAIN_X)
    else:
        path.write_bytes(content)
    with pytest.raises(DatasetError, match=f"not an .npz file \\(it .*{what}.*folder of the four IDX files") as e:
        load_mnist(path)
    assert "pickle" not in str(e.value)


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, "int64", bool])
def test_images_scaled_to_an_integer_type_are_refused_not_zeroed(tmp_path, dtype):
    # pixels / 255 lie in [0, 1]: an integer type would hold 0 for all but white pixels
    assert not np.all((TRAIN_X / 255.0).astype(dtype) == TRAIN_X / 255.0)
    np.savez(tmp_path / "m.npz", x_train=TRAIN_X, y_train=TRAIN_Y, x_test=TEST_X, y_test=TEST_Y)
    with pytest.raises(TypeError, match="floating-point type"):
        load_mnist(tmp_path / "m.npz", dtype=dtype)
    assert load_mnist(tmp_path / "m.npz", dtype=np.float16)[0].arrays[0].dtype == np.float16
