"""Model files: ``save(state_dict, path)`` and ``load(path)`` in the safetensors format.

The safetensors layout is simple and safe: an 8-byte little-endian header length, a
JSON header giving each array's dtype, shape and byte range (and an optional
``__metadata__`` map of strings), then the raw little-endian bytes. Loading reads bytes
and parses JSON; it never executes code, unlike a pickle. Files are interchangeable with
other frameworks (``safetensors.numpy``, ``safetensors.torch``, ...).

When the ``safetensors`` package is installed (the ``train`` extra) its NumPy API
encodes and decodes; otherwise this module does it itself, so the core needs only NumPy.
Either way the header is checked here first, so a missing, truncated or corrupt file
gives the same clear error.

>>> import numpy as np, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
>>> save({"w": np.arange(3, dtype=np.float32)}, path, metadata={"note": "demo"})
>>> load(path)["w"].tolist(), load_metadata(path)
([0.0, 1.0, 2.0], {'note': 'demo'})
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor

__all__ = ["save", "load", "load_metadata", "ModelFileError"]

# safetensors dtype names; bfloat16 and the float8 types have no NumPy equivalent
_DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "U16": np.dtype(np.uint16),
    "I16": np.dtype(np.int16),
    "F16": np.dtype(np.float16),
    "U32": np.dtype(np.uint32),
    "I32": np.dtype(np.int32),
    "F32": np.dtype(np.float32),
    "U64": np.dtype(np.uint64),
    "I64": np.dtype(np.int64),
    "F64": np.dtype(np.float64),
}
_NAMES = {v: k for k, v in _DTYPES.items()}
_MAX_HEADER = 100_000_000  # the limit the reference implementation enforces


class ModelFileError(ValueError):
    """A model file is truncated, corrupt, or not a safetensors file."""


def _safetensors_numpy():
    try:
        import safetensors.numpy as stn
    except ImportError:
        return None
    return stn


def _as_array(name: str, value) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.primal()
    a = np.asarray(value)
    if a.dtype.newbyteorder("=") not in _NAMES:
        raise TypeError(
            f"save: '{name}' has dtype {a.dtype}, which safetensors cannot store "
            f"(supported: {', '.join(sorted(str(d) for d in _NAMES))})"
        )
    # np.asarray(order="C") rather than ascontiguousarray, which turns 0-d into 1-d
    return np.asarray(a, dtype=a.dtype.newbyteorder("<") if a.dtype.itemsize > 1 else a.dtype, order="C")


def _encode(arrays: dict[str, np.ndarray], metadata: dict[str, str] | None) -> bytes:
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name, a in arrays.items():
        header[name] = {
            "dtype": _NAMES[a.dtype.newbyteorder("=")],
            "shape": list(a.shape),
            "data_offsets": [offset, offset + a.nbytes],
        }
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad so the data starts 8-byte aligned
    return b"".join([struct.pack("<Q", len(text)), text, *(a.tobytes() for a in arrays.values())])


def save(state_dict: Mapping[str, Any], path: str | os.PathLike, metadata: Mapping[str, str] | None = None) -> None:
    """Write ``state_dict`` (names → arrays or Tensors) to ``path`` as safetensors.

    ``metadata`` is a map of strings stored in the header (e.g. a JSON model config).
    The file is written to a temporary file in the same directory and moved into place,
    so ``path`` never holds a half-written model, even if the process dies.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save expects a mapping of names to arrays (a state_dict), got {type(state_dict).__name__}")
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"save: keys must be strings, got {name!r}")
        if name == "__metadata__":
            raise ValueError("save: '__metadata__' is reserved by the safetensors format")
        arrays[name] = _as_array(name, value)
    meta = None
    if metadata is not None:
        meta = {}
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("save: metadata keys and values must be strings (encode others as JSON)")
            meta[k] = v
    stn = _safetensors_numpy()
    data = stn.save(arrays, metadata=meta) if stn is not None else _encode(arrays, meta)
    _write_atomically(Path(path), data)


def _write_atomically(path: Path, data: bytes) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _read(path: str | os.PathLike) -> bytes:
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a directory, not a model file") from None


def _parse_header(data: bytes, path) -> tuple[dict[str, Any], dict[str, str], int]:
    """The tensor entries, the metadata, and where the data starts; every range checked."""
    if len(data) < 8:
        raise ModelFileError(f"{path}: truncated: {len(data)} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER:
        raise ModelFileError(f"{path}: not a safetensors file (header length {n} is implausible)")
    if 8 + n > len(data):
        raise ModelFileError(f"{path}: truncated: the header needs {n} bytes, the file has {len(data) - 8}")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{path}: corrupt safetensors header ({e})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: corrupt safetensors header (not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{path}: corrupt safetensors header (__metadata__ must map strings to strings)")
    start = 8 + n
    spans = []
    for name, entry in header.items():
        try:
            dtype = _DTYPES[entry["dtype"]]
            shape = [int(s) for s in entry["shape"]]
            begin, end = (int(o) for o in entry["data_offsets"])
        except KeyError as e:
            if isinstance(entry, dict) and entry.get("dtype") not in _DTYPES and "dtype" in entry:
                raise ModelFileError(f"{path}: '{name}' has dtype {entry['dtype']}, which NumPy cannot hold") from None
            raise ModelFileError(f"{path}: corrupt header entry for '{name}' (missing {e})") from None
        except (TypeError, ValueError):
            raise ModelFileError(f"{path}: corrupt header entry for '{name}'") from None
        if any(s < 0 for s in shape) or end - begin != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise ModelFileError(f"{path}: corrupt header: the byte range of '{name}' does not fit its shape {shape}")
        spans.append((begin, end, name))
        entry["_parsed"] = (dtype, tuple(shape), begin, end)
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise ModelFileError(f"{path}: corrupt header: the data of '{name}' does not follow the previous array")
        pos = end
    if start + pos > len(data):
        raise ModelFileError(
            f"{path}: truncated: the arrays need {pos} bytes of data, the file has {len(data) - start}"
        )
    if start + pos < len(data):
        raise ModelFileError(f"{path}: corrupt: {len(data) - start - pos} bytes after the last array")
    return header, metadata, start


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file, by name (a state_dict for
    ``Module.load_state_dict``).

    Raises ``FileNotFoundError`` for a missing file and :class:`ModelFileError` for a
    truncated or corrupt one. Values are bit-for-bit those saved.
    """
    data = _read(path)
    header, _, start = _parse_header(data, path)
    stn = _safetensors_numpy()
    if stn is not None:
        try:
            loaded = stn.load(data)
        except Exception as e:  # the header passed our checks, so this is unexpected
            raise ModelFileError(f"{path}: cannot be decoded ({e})") from None
        return {name: _writable(loaded[name]) for name in header}
    out = {}
    for name, entry in header.items():
        dtype, shape, begin, end = entry["_parsed"]
        count = int(np.prod(shape, dtype=np.int64))
        a = np.frombuffer(data, dtype=dtype.newbyteorder("<"), count=count, offset=start + begin)
        out[name] = a.astype(dtype).reshape(shape)  # native byte order, and a writable copy
    return out


def _writable(a: np.ndarray) -> np.ndarray:
    return a if a.flags.writeable else a.copy()


def load_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``__metadata__`` strings of a safetensors file ({} if it has none)."""
    data = _read(path)
    return _parse_header(data, path)[1]
