"""Model files: ``save(state_dict, path)`` and ``load(path)`` in the safetensors format.

A flat mapping of names to arrays is written as a plain safetensors file. A nested
checkpoint, PyTorch's ``{"model": model.state_dict(), "optimizer": opt.state_dict(),
"epoch": 3}``, is written too: its arrays under dotted names (``model.0.weight``,
``optimizer.state.0.exp_avg``), and its shape (dicts with string or integer keys, lists,
tuples) and its Python leaves (numbers, strings, booleans, None) as JSON in the
``chainrule.tree`` entry of the metadata, from which ``load`` rebuilds it. Still no code
runs on load. What was saved as a Tensor (or a Parameter) loads as one, with its
``requires_grad``, as from ``torch.load``; a NumPy array loads as a NumPy array; a flat
mapping loads in the order it was saved (the ``chainrule.tensors`` metadata entry of a
flat file lists its names in order, with what each was).

The safetensors layout is simple and safe: an 8-byte little-endian header length, a
JSON header giving each array's dtype, shape and byte range (and an optional
``__metadata__`` map of strings), then the raw little-endian bytes. Loading reads bytes
and parses JSON; it never executes code, unlike a pickle. Files are interchangeable with
other frameworks (``safetensors.numpy``, ``safetensors.torch``, ...).

This module writes the bytes itself, so that the same values give the same file (the
``safetensors`` package writes its metadata in a random order). When the package is
installed (the ``train`` extra) its NumPy API decodes; otherwise this module does, so the
core needs only NumPy. Either way the header is checked here first, so a missing,
truncated or corrupt file gives the same clear error.

>>> import numpy as np, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
>>> save({"w": np.arange(3, dtype=np.float32)}, path, metadata={"note": "demo"})
>>> load(path)["w"].tolist(), load_metadata(path)
([0.0, 1.0, 2.0], {'note': 'demo'})
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import stat
import struct
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from chainrule.core.eager import EAGER, set_requires_grad
from chainrule.core.tensor import Tensor
from chainrule.nn.parameter import Parameter

__all__ = ["save", "load", "load_metadata", "ModelFileError"]

_TREE = "chainrule.tree"  # the metadata entry that holds a nested checkpoint's shape
# a flat file's names in the order saved, each with what it was: {name: "array" | "scalar" | "tensor" |
# "requires_grad" | "parameter" | "parameter_frozen"} (the safetensors header has its own order)
_TENSORS = "chainrule.tensors"

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
    "C64": np.dtype(np.complex64),  # (the format has no complex128)
    "U64": np.dtype(np.uint64),
    "I64": np.dtype(np.int64),
    "F64": np.dtype(np.float64),
}
_NAMES = {v: k for k, v in _DTYPES.items()}
_MAX_HEADER = 100_000_000  # the limit the reference implementation enforces
_CHUNK = 1 << 24  # a stream is read this many bytes at a time


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
    """The file's bytes: the same values and metadata give the same bytes (the safetensors
    package writes its metadata in a random order), the header in the order given, the data
    of the widest dtypes first, so that every array is aligned to its item size, as the
    package lays it out."""
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = metadata
    header.update((name, None) for name in arrays)
    offset = 0
    layout = sorted(arrays, key=lambda name: -arrays[name].dtype.itemsize)  # stable: the given order within
    for name in layout:
        a = arrays[name]
        header[name] = {
            "dtype": _NAMES[a.dtype.newbyteorder("=")],
            "shape": list(a.shape),
            "data_offsets": [offset, offset + a.nbytes],
        }
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad so the data starts 8-byte aligned
    return b"".join([struct.pack("<Q", len(text)), text, *(arrays[name].tobytes() for name in layout)])


def save(state_dict: Any, path: str | os.PathLike | BinaryIO, metadata: Mapping[str, str] | None = None) -> None:
    """Write ``state_dict`` (names → arrays or Tensors) to ``path`` as safetensors; or a
    nested checkpoint (dicts, lists and tuples of arrays, Tensors, numbers, strings,
    booleans and None, or one of those alone, as ``torch.save`` takes), which
    :func:`load` gives back as it was.

    ``metadata`` is a map of strings stored in the header (e.g. a JSON model config).
    The file is written to a temporary file in the same directory and moved into place,
    so ``path`` never holds a half-written model, even if the process dies (a device or a
    named pipe, ``/dev/null`` say, is written into, as ``open()`` writes it). ``path`` may
    also be a binary file object (``io.BytesIO``, an open file), as for ``torch.save``:
    the bytes are written to it at its position.

    >>> import numpy as np, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "checkpoint.safetensors")
    >>> save({"model": {"w": np.ones(2)}, "epoch": 3, "betas": (0.9, 0.999)}, path)
    >>> load(path)
    {'model': {'w': array([1., 1.])}, 'epoch': 3, 'betas': (0.9, 0.999)}
    """
    meta = {}
    if metadata is not None:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("save: metadata keys and values must be strings (encode others as JSON)")
            if k in (_TREE, _TENSORS):
                raise ValueError(f"save: the metadata key {k!r} is reserved for the shape of a checkpoint")
            meta[k] = v
    if isinstance(state_dict, Mapping) and all(
        isinstance(name, str) and _is_array(value) for name, value in state_dict.items()
    ):
        arrays = {}
        for name, value in state_dict.items():
            if name == "__metadata__":
                raise ValueError("save: '__metadata__' is reserved by the safetensors format")
            arrays[name] = _as_array(name, value)
        kinds = {name: _kind(value) if isinstance(value, Tensor) else "scalar" if isinstance(value, np.generic)
                 else "array" for name, value in state_dict.items()}
        if len(kinds) > 1 or "array" not in kinds.values():
            meta[_TENSORS] = json.dumps(kinds, separators=(",", ":"))
    else:
        arrays = {}
        meta[_TREE] = json.dumps(_encode_tree(state_dict, "", arrays), separators=(",", ":"))
    data = _encode(arrays, meta or None)
    if hasattr(path, "write"):
        if isinstance(path, io.TextIOBase):  # (it would raise "write() argument must be str")
            raise TypeError(f"save: {path!r} is a text file; open the file in binary mode ('wb')")
        path.write(data)
    else:
        _write_atomically(os.fspath(path), data)


def _is_array(value) -> bool:
    return isinstance(value, Tensor | np.ndarray | np.generic)


def _kind(t: Tensor) -> str:
    """How a saved Tensor comes back: a Parameter, a Tensor that requires grad, or a Tensor."""
    if isinstance(t, Parameter):
        return "parameter" if t.requires_grad else "parameter_frozen"
    return "requires_grad" if t._trace is EAGER and t.requires_grad else "tensor"


def _as_saved(a: np.ndarray, kind: str | None):
    """The loaded array ``a`` as it was saved: an array, or a Tensor of ``kind``."""
    if kind is None or kind == "array":
        return a
    if kind == "scalar":  # a NumPy scalar (np.float32(0.5)), not a 0-d array
        return a[()]
    if kind in ("parameter", "parameter_frozen"):
        return Parameter(a, requires_grad=kind == "parameter")
    if kind not in ("tensor", "requires_grad"):
        raise ValueError(kind)
    t = Tensor(a, EAGER)
    if kind == "requires_grad":
        set_requires_grad(t, True)
    return t


# A nested checkpoint's shape, as JSON: {"dict": [[key, node], ...]} (an integer key stays
# an integer: JSON keeps its type in the pair), {"list": [...]}, {"tuple": [...]},
# {"array": name} (with "scalar": true for a NumPy scalar), {"float": hex} (every float
# bit for bit, NaN and -0.0 too) and {"value": v} for ints, strings, booleans and None.
def _encode_tree(node, prefix: str, arrays: dict) -> dict:
    where = prefix or "the checkpoint"
    if _is_array(node):
        name = prefix or "value"
        while name in arrays or name == "__metadata__":
            name += "_"
        arrays[name] = _as_array(name, node)
        if isinstance(node, Tensor):
            return {"array": name, "tensor": _kind(node)}
        return {"array": name, "scalar": True} if isinstance(node, np.generic) else {"array": name}
    if isinstance(node, Mapping):
        items = []
        for key, value in node.items():
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise TypeError(f"save: {where} has the key {key!r}; a checkpoint's keys are strings or integers")
            items.append([key, _encode_tree(value, f"{prefix}.{key}" if prefix else str(key), arrays)])
        return {"dict": items}
    if isinstance(node, list | tuple):
        kind = "tuple" if isinstance(node, tuple) else "list"
        return {kind: [_encode_tree(v, f"{prefix}.{i}" if prefix else str(i), arrays) for i, v in enumerate(node)]}
    if isinstance(node, float):
        return {"float": node.hex()}
    if node is None or isinstance(node, bool | int | str):
        return {"value": node}
    name = type(node).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    # a model, an optimizer or a schedule (which torch.save pickles whole): its state is what saves
    hint = ("; save its .state_dict() instead, and restore it with .load_state_dict()"
            if callable(getattr(node, "state_dict", None)) else "")
    raise TypeError(
        f"save: {where} is {article} {name}; a checkpoint holds arrays, Tensors, numbers, "
        f"strings, booleans, None, and dicts, lists and tuples of them{hint}"
    )


def _decode_tree(node, arrays: dict, path) -> Any:
    try:
        (kind, value), *rest = node.items()
        if kind == "array":
            a = arrays[value]
            return a[()] if node.get("scalar") else _as_saved(a, node.get("tensor"))
        if kind == "dict":
            return {key: _decode_tree(v, arrays, path) for key, v in value}
        if kind in ("list", "tuple"):
            items = [_decode_tree(v, arrays, path) for v in value]
            return items if kind == "list" else tuple(items)
        if kind == "float":
            return float.fromhex(value)
        if kind == "value":
            return value
    except (AttributeError, KeyError, TypeError, ValueError, RecursionError):
        pass
    raise ModelFileError(f"{path}: corrupt {_TREE} metadata (the shape of a nested checkpoint)")


def _write_atomically(name: str | bytes, data: bytes) -> None:
    path = Path(os.fsdecode(name))
    # Path drops a final separator, which makes the name a folder's for open() (and torch.save)
    folder = os.fsdecode(name).endswith((os.sep, os.altsep or os.sep))
    if path.is_symlink() and not folder:  # write the file it points to, as open() does, not a file in its place
        path = Path(os.path.realpath(path))
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or (folder and directory.is_dir()):
        what = "is a directory" if path.is_dir() else f"names a folder (it ends with {os.fsdecode(name)[-1]!r})"
        raise IsADirectoryError(errno.EISDIR, f"{what}: save to a file in it (such as "
                                f"{path / 'model.safetensors'})", os.fsdecode(name))
    if path.exists() and not path.is_file():
        # a device or a named pipe (/dev/null, a FIFO a reader waits on): written into, as open()
        # writes it; moving a file into its place would replace the device itself
        with open(path, "wb") as f:
            f.write(data)
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as e:  # name the file asked for, not the temporary one
        hint = " (create it first)" if isinstance(e, FileNotFoundError) else ""
        raise type(e)(e.errno, f"cannot write into the directory {directory}{hint}: {e.strerror}",
                      os.fsdecode(name)) from None
    try:
        # the mode of the file it replaces, or the umask's, as open() gives (mkstemp's is 0o600)
        os.fchmod(fd, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _read(path: str | os.PathLike | BinaryIO, arrays: bool = True) -> tuple[bytes, dict[str, Any], dict[str, str], int]:
    """The file's bytes (the whole file if ``arrays``, else only up to its header), its tensor
    entries, its metadata and where its data starts. It is read in stages, each checked
    before the next is read, as the safetensors package reads: the header length (an absurd
    one refused), the header, the size of the data it claims against the file's size; so a
    file that is not a safetensors file is refused after its first bytes, and a pipe or a
    device (/dev/zero) is never read without end."""
    if hasattr(path, "read"):
        return _read_stages(path, _size_of(path), path, arrays)
    path = Path(path)
    try:
        f = open(path, "rb")  # noqa: SIM115  (closed below)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a directory, not a model file") from None
    with f:
        st = os.fstat(f.fileno())
        return _read_stages(f, st.st_size if stat.S_ISREG(st.st_mode) else None, path, arrays)


def _size_of(f) -> int | None:
    """The bytes from the position of the file object ``f`` to its end; None for a stream
    (a pipe, a device, a socket, a compressed file), which is read only as far as needed."""
    try:
        raw = getattr(f, "raw", f)
        if isinstance(raw, io.FileIO):  # an open file: its size, unless it is a device or a pipe
            st = os.fstat(raw.fileno())
            return max(st.st_size - f.tell(), 0) if stat.S_ISREG(st.st_mode) else None
        if not f.seekable():
            return None
        here = f.tell()
        end = f.seek(0, io.SEEK_END)
        f.seek(here)
        return max(end - here, 0)
    except (AttributeError, OSError, ValueError):
        return None


def _take(f, n: int, chunk: int = _CHUNK) -> bytes:
    """Up to ``n`` bytes of ``f`` (fewer at its end), read ``chunk`` bytes at a time, so that a
    length a stream claims is never allocated before its bytes arrive."""
    parts = []
    while n > 0:
        try:
            part = f.read(min(n, chunk))
        except UnicodeDecodeError:  # a file opened in text mode
            part = ""
        if not isinstance(part, bytes):
            raise TypeError(f"load: {f!r} gives {type(part).__name__}, not bytes; open the file in binary mode")
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _read_stages(f, size: int | None, path, arrays: bool) -> tuple[bytes, dict[str, Any], dict[str, str], int]:
    """:func:`_read` of the open file ``f``, ``size`` bytes from its position (None for a stream)."""
    origin = f.tell() if size is not None else None
    head = _take(f, 8)
    if len(head) < 8:
        raise ModelFileError(f"{path}: truncated: {len(head)} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", head)
    if n > _MAX_HEADER and head[:4] == b"PK\x03\x04" and not _holds_a_pickle(f, head, origin):
        raise ModelFileError(f"{path}: a zip archive (an .npz?), not a safetensors file: numpy.load reads an .npz, "
                             "and cr.save(dict(numpy.load(path)), 'model.safetensors') converts it")
    if head[:6] == b"\x93NUMPY":
        raise ModelFileError(f"{path}: a NumPy .npy file, not a safetensors file: numpy.load reads it, and "
                             "cr.save({'name': numpy.load(path)}, 'model.safetensors') converts it")
    if n > _MAX_HEADER and (head[:4] == b"PK\x03\x04" or head[:1] == b"\x80"):  # torch.save's zip, a pickle
        raise ModelFileError(
            f"{path}: a pickle file (PyTorch's torch.save writes one), which chainrule does not read: "
            "loading a pickle can run code. Write it as safetensors from PyTorch instead: "
            "safetensors.torch.save_file(model.state_dict(), 'model.safetensors')"
        )
    if n > _MAX_HEADER:
        raise ModelFileError(f"{path}: not a safetensors file (header length {n} is implausible)")
    if size is not None and 8 + n > size:
        raise ModelFileError(f"{path}: truncated: the header needs {n} bytes, the file has {size - 8}")
    text = _take(f, n)
    if len(text) < n:
        raise ModelFileError(f"{path}: truncated: the header needs {n} bytes, the file has {len(text)}")
    header, metadata, need = _parse_header(text, path)
    start = 8 + n
    if size is not None:
        have = size - start
    else:  # a stream: its data, then whatever follows, counted up to a bound
        body = _take(f, need)
        have = len(body) + (_count_rest(f) if len(body) == need else 0)
    if need > have:
        raise ModelFileError(f"{path}: truncated: the arrays need {need} bytes of data, the file has {have}")
    if need < have:
        more = "more than " if size is None and have - need > _MAX_HEADER else ""
        raise ModelFileError(f"{path}: corrupt: {more}{have - need} bytes after the last array")
    if size is None:
        return b"".join([head, text, body]), header, metadata, start
    if not arrays:
        return head + text, header, metadata, start
    f.seek(origin)  # the file in one read, header and all, as the decoder takes it
    data = _take(f, start + need, chunk=start + need)
    if len(data) < start + need:  # (it shrank while being read)
        raise ModelFileError(f"{path}: truncated: the arrays need {need} bytes of data, "
                             f"the file has {len(data) - start}")
    return data, header, metadata, start


def _count_rest(f) -> int:
    """How many bytes a stream has left, counted to just past ``_MAX_HEADER``."""
    count = 0
    while count <= _MAX_HEADER and (part := _take(f, _CHUNK)):
        count += len(part)
    return count


def _parse_header(text: bytes, path) -> tuple[dict[str, Any], dict[str, str], int]:
    """The tensor entries, the metadata, and the bytes of data they need; every range checked."""
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:  # (JSON nested too deep)
        raise ModelFileError(f"{path}: corrupt safetensors header ({e})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: corrupt safetensors header (not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{path}: corrupt safetensors header (__metadata__ must map strings to strings)")
    spans = []
    for name, entry in header.items():
        try:
            dtype = _DTYPES[entry["dtype"]]
            shape = _ints(entry["shape"])
            begin, end = _ints(entry["data_offsets"])
        except KeyError as e:
            if isinstance(entry, dict) and entry.get("dtype") not in _DTYPES and "dtype" in entry:
                raise ModelFileError(
                    f"{path}: '{name}' has dtype {entry['dtype']}, which NumPy cannot hold; save the model in "
                    "float32 instead (in PyTorch: model.float() before safetensors.torch.save_file)") from None
            raise ModelFileError(f"{path}: corrupt header entry for '{name}' (missing {e})") from None
        except (TypeError, ValueError):
            raise ModelFileError(f"{path}: corrupt header entry for '{name}'") from None
        # Python's integers: a product that wraps around in int64 must not pass for a small one
        if any(not 0 <= s < 2**63 for s in shape) or end - begin != math.prod(shape) * dtype.itemsize:
            raise ModelFileError(f"{path}: corrupt header: the byte range of '{name}' does not fit its shape {shape}")
        spans.append((begin, end, name))
        entry["_parsed"] = (dtype, tuple(shape), begin, end)
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise ModelFileError(f"{path}: corrupt header: the data of '{name}' does not follow the previous array")
        pos = end
    return header, metadata, pos


def _holds_a_pickle(f, head: bytes, origin: int | None) -> bool:
    """Whether the zip archive in ``f`` (``head`` its first bytes, read from ``origin``; None for a
    stream) holds a pickle (``torch.save``'s ``data.pkl``), unlike NumPy's .npz."""
    try:
        if origin is None:
            rest = _take(f, _MAX_HEADER + 1)
            if len(rest) > _MAX_HEADER:
                return True  # too big to hold here: say what torch.save's would need
            f = io.BytesIO(head + rest)
        else:
            f.seek(origin)
        with zipfile.ZipFile(f) as archive:
            return any(name.endswith(".pkl") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return True  # a damaged archive: say what torch.save's would need


def _ints(values) -> list[int]:
    """A header's list of whole numbers (a shape, a byte range); anything else (2.0, "2",
    true) is corrupt, as the safetensors package reads it."""
    if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise TypeError(values)
    return values


def load(path: str | os.PathLike | BinaryIO, map_location: Any = None, weights_only: bool = True) -> Any:
    """The arrays of a safetensors file, by name (a state_dict for
    ``Module.load_state_dict``); a nested checkpoint written by :func:`save` as it was saved.
    What was saved as a Tensor comes back as a Tensor (a Parameter as a Parameter, with
    its ``requires_grad``), as ``torch.load`` gives it; NumPy arrays, and the arrays of a
    file written elsewhere, come back as NumPy arrays.

    >>> import chainrule as cr, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "t.pt")
    >>> cr.save(cr.tensor([1.0, 2.0], requires_grad=True), path)
    >>> t = cr.load(path); type(t).__name__, t.requires_grad, t.tolist()
    ('Tensor', True, [1.0, 2.0])

    ``path`` may be a binary file object, read from its position. Raises
    ``FileNotFoundError`` for a missing file and :class:`ModelFileError` for a
    truncated or corrupt one, or a pickle (PyTorch's own format, never read here).
    Values are bit-for-bit those saved. ``map_location`` and ``weights_only`` are
    ``torch.load``'s: arrays load into CPU memory, where every array of a file is, so
    ``map_location`` may be None, ``"cpu"``, a dict of locations that leaves ``"cpu"`` as it
    is (``{"cuda:0": "cuda:1"}`` maps nothing here), or a function ``f(array, "cpu")``
    returning the array (or None to keep it); a file holds only data (no code ever runs
    on load), so ``weights_only=False`` changes nothing.
    """
    data, header, metadata, start = _read(path)
    arrays = _mapped(_load_arrays(data, header, start, path), map_location)
    if _TREE not in metadata:
        return _as_tensors(arrays, metadata.get(_TENSORS), path)
    try:
        tree = json.loads(metadata[_TREE])
    except (json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{path}: corrupt {_TREE} metadata (not JSON, or nested too deep)") from None
    try:
        return _decode_tree(tree, arrays, path)
    except RecursionError:  # deeper than Python's recursion limit
        raise ModelFileError(f"{path}: corrupt {_TREE} metadata (nested too deep)") from None


def _as_tensors(arrays: dict[str, np.ndarray], kinds: str | None, path) -> dict:
    """A flat file's arrays in the order they were saved, those saved as Tensors made
    Tensors again."""
    if kinds is None:
        return arrays
    try:
        kinds = json.loads(kinds)
        order = [name for name in kinds if name in arrays] + [name for name in arrays if name not in kinds]
        return {name: _as_saved(arrays[name], kinds.get(name)) for name in order}
    except (AttributeError, TypeError, ValueError, RecursionError):
        raise ModelFileError(f"{path}: corrupt {_TENSORS} metadata (the names and what they were)") from None


def _mapped(arrays: dict[str, np.ndarray], map_location) -> dict[str, np.ndarray]:
    """``arrays`` after ``torch.load``'s ``map_location``, which can only leave them in CPU
    memory; any other destination is refused."""
    if map_location is None or str(map_location) == "cpu":
        return arrays
    if isinstance(map_location, dict):
        target = map_location.get("cpu", "cpu")
        if str(target) != "cpu":
            raise ValueError(f"load: map_location={map_location!r} sends the arrays, which are in CPU memory, "
                             f"to {target!r}; arrays load into CPU memory only")
        return arrays
    if callable(map_location):
        out = {}
        for name, a in arrays.items():
            moved = map_location(a, "cpu")
            if moved is None:
                moved = a
            elif not isinstance(moved, np.ndarray):
                raise ValueError(f"load: map_location returned a {type(moved).__name__} for '{name}'; "
                                 "arrays load into CPU memory: return the array given (or None)")
            out[name] = moved
        return out
    raise ValueError(f"load: map_location={map_location!r}: arrays load into CPU memory; pass None or 'cpu'")


def _load_arrays(data: bytes, header: dict, start: int, path) -> dict[str, np.ndarray]:
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
    """The ``__metadata__`` strings of a safetensors file ({} if it has none), less the
    shape of a nested checkpoint, which :func:`load` reads."""
    return {k: v for k, v in _read(path, arrays=False)[2].items() if k not in (_TREE, _TENSORS)}
