"""Datasets read from disk: scikit-learn's bundled digits, and MNIST / Fashion-MNIST
from the files you have. Nothing is ever downloaded.

MNIST and Fashion-MNIST come as four IDX files (optionally gzipped)::

    train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
    t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]

or as one ``.npz`` with the arrays ``x_train``, ``y_train``, ``x_test``, ``y_test`` (the
layout of ``keras.datasets``); ``.npz`` files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zipfile
from pathlib import Path

import numpy as np

from chainrule.data.dataset import TensorDataset

__all__ = [
    "DatasetError",
    "read_idx",
    "write_idx",
    "load_digits",
    "load_mnist",
    "load_fashion_mnist",
    "train_test_split",
    "FASHION_MNIST_CLASSES",
]

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

# IDX type codes (LeCun's format description): data is stored big-endian
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32, 0x0D: np.float32, 0x0E: np.float64}
_IDX_CODES = {np.dtype(v): k for k, v in _IDX_TYPES.items()}


class DatasetError(ValueError):
    """A dataset file is missing, truncated, or not in the expected format."""


def read_bytes(path: Path) -> bytes:
    """The bytes of the file at ``path``, decompressed where it is gzipped (by its magic
    number, whatever its name); a missing, unreadable or damaged file raises DatasetError."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot be read ({e.strerror or e})") from None
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise DatasetError(f"{path}: a damaged or truncated gzip file ({e})") from None
    return raw


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not) into an array of its shape and type.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x-idx2-ubyte")
    >>> write_idx(p, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> read_idx(p).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    path = Path(path)
    raw = read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DatasetError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise DatasetError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:head])
    dtype = np.dtype(_IDX_TYPES[raw[2]]).newbyteorder(">")
    expected = math.prod(dims) * dtype.itemsize  # Python ints: a header of huge sizes does not wrap around
    got = len(raw) - head
    if got != expected:
        what = "truncated" if got < expected else "longer than its header says"
        raise DatasetError(
            f"{path}: {what}: the header gives shape {dims} ({expected} bytes of data), the file has {got}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=head).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in ``.gz``)."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")  # an array of either byte order is written big-endian
    if native not in _IDX_CODES:
        raise TypeError(f"IDX files hold uint8, int8, int16, int32, float32 or float64, not {array.dtype}")
    head = bytes([0, 0, _IDX_CODES[native], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(head + body)


def train_test_split(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, seed: int = 0):
    """A reproducible random split of ``(x, y)`` into ``(x_train, y_train, x_test, y_test)``.

    >>> xtr, ytr, xte, yte = train_test_split(np.arange(10), np.arange(10), 0.3)
    >>> len(xtr), len(xte)
    (7, 3)
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    n = len(x)
    if len(y) != n:  # rows are paired by position: none may be left over
        raise ValueError(f"train_test_split: x and y must have the same number of samples, got {n} and {len(y)} "
                         "(found input variables with inconsistent numbers of samples)")
    if n < 2:
        raise ValueError(f"train_test_split: {n} sample{'s' * (n != 1)} cannot be split into a training and a "
                         "test part")
    perm = np.random.default_rng(seed).permutation(n)
    n_test = min(max(1, int(round(n * test_fraction))), n - 1)  # a sample or more in each part
    test, train = perm[:n_test], perm[n_test:]
    return x[train], y[train], x[test], y[test]


def _pixel_type(dtype) -> type:
    """The NumPy type of the scaled pixels: a floating one (in an integer type every pixel
    of [0, 1) would be 0)."""
    kind = np.dtype(dtype)
    if kind.kind != "f":
        raise TypeError(f"the images' dtype must be a floating-point type (float32, float64, float16), not {kind}: "
                        "pixels are scaled to [0, 1]")
    return kind.type


def _prepare(images: np.ndarray, labels: np.ndarray, scale: float, flatten: bool, dtype) -> TensorDataset:
    x = images.astype(dtype) * dtype(1.0 / scale)
    x = x.reshape(len(x), math.prod(x.shape[1:])) if flatten else x.reshape(len(x), 1, *x.shape[1:])
    return TensorDataset(x, labels.astype(np.int64))


def load_digits(test_fraction: float = 0.2, seed: int = 0, flatten: bool = True, dtype=np.float32):
    """scikit-learn's bundled 8×8 handwritten digits (1797 images, 10 classes), split at
    random (fixed ``seed``) into ``(train, test)`` TensorDatasets of ``(image, label)``.

    Pixels are scaled from 0…16 to [0, 1]; images are flat 64-vectors, or (1, 8, 8)
    with ``flatten=False`` (for a CNN). Needs scikit-learn (the ``train`` extra).

    >>> train, test = load_digits()              # doctest: +SKIP
    >>> len(train), len(test), train.arrays[0].shape[1:]  # doctest: +SKIP
    (1438, 359, (64,))
    """
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise ImportError(
            "load_digits needs scikit-learn, which ships the digits data: "
            "pip install 'chainrule[train]'"
        ) from None
    digits = sk_load_digits()
    images = digits.images.astype(np.float64)
    labels = digits.target.astype(np.int64)
    xtr, ytr, xte, yte = train_test_split(images, labels, test_fraction, seed)
    dtype = _pixel_type(dtype)
    return _prepare(xtr, ytr, 16.0, flatten, dtype), _prepare(xte, yte, 16.0, flatten, dtype)


_MNIST_FILES = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def _find(directory: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        for candidate in (directory / name, directory / (name + ".gz")):
            if candidate.is_file():
                return candidate
    raise DatasetError(f"{directory}: no file {names[0]} (or {names[0]}.gz) in this directory")


def _not_npz(magic: bytes) -> str | None:
    """What a file is instead of an .npz (a zip archive), by its first four bytes; None for a zip."""
    if magic == b"PK\x03\x04":
        return None
    if not magic:
        return "it is empty"
    if magic[:2] == b"\x1f\x8b":
        return "it is gzipped"
    if len(magic) == 4 and magic[:2] == b"\0\0" and magic[2] in _IDX_TYPES:
        return "it is an IDX file"
    return f"it starts with the bytes {magic.hex()}, not a zip archive's"


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, "rb") as f:
            other = _not_npz(f.read(4))
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot be read ({e.strerror or e})") from None
    if other is not None:  # NumPy would call it pickled data, and advise allow_pickle
        raise DatasetError(f"{path}: not an .npz file ({other}): give load_mnist a folder of the four IDX files, "
                           "or an .npz of x_train, y_train, x_test and y_test")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in _MNIST_FILES if k not in f.files]
            if missing:
                raise DatasetError(f"{path}: the .npz lacks the arrays {missing} (it has {f.files})")
            return {k: f[k] for k in _MNIST_FILES}
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except DatasetError:
        raise
    except ValueError as e:  # object arrays refused by allow_pickle=False, bad headers
        raise DatasetError(f"{path}: not a usable .npz file ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise DatasetError(f"{path}: a damaged or truncated .npz file ({e})") from None


def load_mnist(path: str | os.PathLike, flatten: bool = True, dtype=np.float32):
    """MNIST (or Fashion-MNIST, same format) from ``path``: a directory of the four IDX
    files, or an ``.npz``. Returns ``(train, test)`` TensorDatasets of ``(image, label)``,
    pixels scaled to [0, 1] (uint8 pixels divided by 255, each split by its own dtype; float
    pixels taken as they are), images flat (784,) or (1, 28, 28) with ``flatten=False``.

    Raises :class:`DatasetError` for a missing, truncated or malformed file.
    """
    path = Path(path)
    if path.is_dir():
        arrays = {k: read_idx(_find(path, names)) for k, names in _MNIST_FILES.items()}
    elif path.suffix == ".npz" or path.is_file():
        arrays = _read_npz(path)
    else:
        raise DatasetError(f"{path}: no such file or directory")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DatasetError(
                f"{path}: expected {split} images of shape (N, H, W) and N labels, got "
                f"{x.shape} and {y.shape}"
            )
        if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() > 9)):
            raise DatasetError(f"{path}: {split} labels must be integers 0…9")
    dtype = _pixel_type(dtype)
    return tuple(_prepare(arrays[f"x_{split}"], arrays[f"y_{split}"],
                          255.0 if arrays[f"x_{split}"].dtype == np.uint8 else 1.0, flatten, dtype)
                 for split in ("train", "test"))


def load_fashion_mnist(path: str | os.PathLike, flatten: bool = True, dtype=np.float32):
    """Fashion-MNIST from ``path`` (the same files and layout as MNIST; class names in
    :data:`FASHION_MNIST_CLASSES`)."""
    return load_mnist(path, flatten=flatten, dtype=dtype)
