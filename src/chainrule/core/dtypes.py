"""dtypes: the default floating dtype, and PyTorch's spellings of a dtype read as NumPy's.

A dtype argument anywhere in the eager layer may be a NumPy dtype or its name
(``cr.float32`` is ``np.dtype('float32')``), one of PyTorch's ``torch.float32`` objects
(read by name, without importing PyTorch), or a legacy type name such as
``'torch.FloatTensor'``; :func:`as_dtype` reads them all.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_dtype", "wrapped_int",
           "check_cpu", "to_arguments", "type_name", "set_default_dtype", "get_default_dtype",
           "default_float_dtype", "default_complex_dtype", "sequence_dtype"]

# PyTorch's legacy tensor type names (``x.type()``, ``x.type('torch.LongTensor')``)
_TYPE_NAMES = {
    "Float": "float32", "Double": "float64", "Half": "float16", "Long": "int64", "Int": "int32",
    "Short": "int16", "Char": "int8", "Byte": "uint8", "Bool": "bool", "ComplexFloat": "complex64",
    "ComplexDouble": "complex128",
}
_NAME_OF_TYPE = {np.dtype(v): k for k, v in _TYPE_NAMES.items()}


class DtypeWithoutNumPy:
    """A PyTorch dtype that NumPy has no counterpart of (``bfloat16``): a name that
    ``autocast(dtype=...)`` takes; as the dtype of a Tensor it is refused by name."""

    is_floating_point, is_complex, is_signed, itemsize = True, False, True, 2  # (PyTorch's, of bfloat16)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"chainrule.{self.name}"


bfloat16 = DtypeWithoutNumPy("bfloat16")


def as_dtype(dtype) -> np.dtype | None:
    """The NumPy dtype that ``dtype`` names (None stays None): a NumPy dtype, a name, a
    PyTorch dtype object, or a legacy type name such as ``'torch.FloatTensor'``.

    >>> as_dtype("chainrule.LongTensor"), as_dtype(np.float32)
    (dtype('int64'), dtype('float32'))
    """
    if dtype is None or isinstance(dtype, np.dtype):
        return dtype
    if isinstance(dtype, DtypeWithoutNumPy):
        raise TypeError(f"{dtype.name} has no NumPy counterpart, so chainrule has no Tensors of it; use float32 "
                        "or float64")
    if type(dtype).__module__ == "torch" and type(dtype).__name__ == "dtype":  # torch.float32
        name = str(dtype).rpartition(".")[2]
        try:
            return np.dtype(name)
        except TypeError:
            raise TypeError(f"{dtype} has no NumPy counterpart; use one of chainrule's dtypes "
                            "(cr.float32, cr.float64, cr.int64, ...)") from None
    if isinstance(dtype, str) and dtype.endswith("Tensor"):
        name = dtype.rpartition(".")[2][:-len("Tensor")]
        if name not in _TYPE_NAMES:
            raise TypeError(f"unknown tensor type {dtype!r}; known: "
                            + ", ".join(f"'{k}Tensor'" for k in _TYPE_NAMES))
        return np.dtype(_TYPE_NAMES[name])
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{dtype!r} is not a dtype; give one of chainrule's (cr.float32, cr.float64, "
                        "cr.int64, ...), a NumPy dtype or its name") from None


def check_cpu(device, what: str) -> None:
    """Refuse a ``device=`` other than the CPU (None, ``'cpu'``, ``'cpu:0'`` or a device
    object naming it pass), naming ``what`` took it.

    >>> check_cpu("cpu", "zeros")
    """
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"{what}(device={str(device)!r}): chainrule computes on the CPU only; "
                           "use device='cpu' (or leave it out)")


_DEVICE_TYPES = ("cpu", "cuda", "mps", "meta", "xpu")


def to_arguments(args: tuple, dtype=None, device=None) -> tuple:
    """``(dtype, device)`` of PyTorch's ``.to(...)`` call, whose positional arguments may
    be a dtype, a device (a name such as ``'cuda:0'``, or an integer: a GPU's index) or
    a Tensor or array (its dtype); the dtype as NumPy's (or None).

    >>> to_arguments(("cpu", "float64"))
    (dtype('float64'), 'cpu')
    >>> to_arguments((0,))
    (None, 'cuda:0')
    """
    for a in args:
        if hasattr(a, "dtype") and hasattr(a, "shape") and not isinstance(a, type):  # np.float32 is a dtype
            dtype = a.dtype
        elif isinstance(a, str) and a.split(":")[0] in _DEVICE_TYPES:
            device = a
        elif isinstance(a, int | np.integer) and not isinstance(a, bool | np.bool_):
            device = f"cuda:{int(a)}"
        else:
            dtype = a
    return as_dtype(dtype), device


def type_name(dtype: np.dtype) -> str:
    """PyTorch's legacy name of a dtype's Tensors, under chainrule's name (``x.type()``).

    >>> type_name(np.dtype("float32")), type_name(np.dtype("int64"))
    ('chainrule.FloatTensor', 'chainrule.LongTensor')
    """
    name = _NAME_OF_TYPE.get(np.dtype(dtype))
    return f"chainrule.{name}Tensor" if name is not None else f"chainrule.{np.dtype(dtype).name}"


# The dtype set by set_default_dtype, or None: then new layer parameters are float32 (as
# in PyTorch) and Tensors made from Python floats float64 (as in NumPy).
_DEFAULT_DTYPE: list = [None]


def set_default_dtype(dtype) -> None:
    """Set the floating-point dtype of new layer parameters and of Tensors made from
    Python floats (PyTorch's ``torch.set_default_dtype``). NumPy arrays keep their own.
    ``None`` restores the initial defaults (float32 parameters, float64 Python floats).

    >>> import chainrule as cr, numpy as np
    >>> cr.set_default_dtype(np.float64)
    >>> cr.nn.Linear(2, 1).weight.dtype, cr.tensor([1.5]).dtype
    (dtype('float64'), dtype('float64'))
    >>> cr.set_default_dtype(np.float32)
    >>> cr.tensor(1.5).dtype, cr.get_default_dtype()
    (dtype('float32'), dtype('float32'))
    >>> cr.set_default_dtype(None)
    """
    if dtype is None:
        _DEFAULT_DTYPE[0] = None
        return
    try:
        dt = as_dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise TypeError(
            f"set_default_dtype: the default must be a floating-point dtype (np.float32, "
            f"np.float64, ...), not {dtype!r}"
        )
    _DEFAULT_DTYPE[0] = dt


def get_default_dtype() -> np.dtype:
    """The dtype of new layer parameters: float32 until :func:`set_default_dtype` is called.

    >>> import chainrule as cr
    >>> cr.get_default_dtype() in ("float32", "float64")
    True
    """
    dt = _DEFAULT_DTYPE[0]
    return np.dtype(np.float32) if dt is None else dt


def default_float_dtype() -> np.dtype:
    """The dtype of new floating-point Tensors made from Python numbers or by the creation
    functions (``chainrule.zeros``, ``randn``...): float64, or the one set with
    :func:`set_default_dtype`.

    >>> default_float_dtype()
    dtype('float64')
    """
    dt = _DEFAULT_DTYPE[0]
    return np.dtype(np.float64) if dt is None else dt


def default_complex_dtype() -> np.dtype:
    """The dtype of new complex Tensors made from Python complex numbers: complex128, or
    complex64 after ``set_default_dtype(float32)`` (the complex of the default float), as
    in PyTorch.

    >>> default_complex_dtype()
    dtype('complex128')
    """
    return np.result_type(default_float_dtype(), np.complex64)


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _leaf_types(data, types: set, arrays: list) -> None:
    """The types of the numbers in the nested lists and tuples ``data`` into ``types``,
    its ndarrays into ``arrays`` (read a list at a time, in C: a million floats take
    milliseconds)."""
    kinds = set(map(type, data))
    if list in kinds or tuple in kinds or any(issubclass(k, np.ndarray) for k in kinds):
        for item in data:
            if item.__class__ is list or item.__class__ is tuple:
                _leaf_types(item, types, arrays)
            elif isinstance(item, np.ndarray):
                arrays.append(item)
        kinds = {k for k in kinds if k is not list and k is not tuple and not issubclass(k, np.ndarray)}
    types |= kinds


def _dtype_of_type(kind: type) -> np.dtype | None:
    """The dtype PyTorch gives a number of type ``kind`` in a list (None: not a number)."""
    if issubclass(kind, np.generic):  # (first: np.float64 is a float, np.bool_ no bool)
        return np.dtype(kind)
    if issubclass(kind, bool):  # (before int: a bool is one)
        return np.dtype(bool)
    if issubclass(kind, int):
        return np.dtype(np.int64)
    if issubclass(kind, float):
        return default_float_dtype()
    if issubclass(kind, complex):
        return default_complex_dtype()
    return None  # a Tensor, a string, another library's array: NumPy's conversion decides


def sequence_dtype(data) -> np.dtype | None:
    """PyTorch's dtype for ``tensor(data)``, ``data`` a list or tuple holding NumPy scalars
    or arrays: theirs and the Python numbers' (the default float for a float) promoted by
    kind first, as ``torch.tensor`` does, where NumPy would widen by value (an int64 with a
    float32 is float64 in NumPy, float32 in PyTorch; ``[1.0, np.float64(2)]`` under a
    float32 default is float64 in PyTorch). None where NumPy's inference stands: no NumPy
    value inside, or something other than numbers.

    >>> sequence_dtype([1, np.float32(2)]), sequence_dtype([np.float16(1), 2]), sequence_dtype([1.0, 2.0])
    (dtype('float32'), dtype('float16'), None)
    """
    if not isinstance(data, list | tuple):
        return None
    types: set = set()
    arrays: list = []
    _leaf_types(data, types, arrays)
    if not arrays and not any(issubclass(k, np.generic) for k in types):
        return None
    dtypes = [_dtype_of_type(k) for k in types] + [a.dtype for a in arrays]
    if any(d is None or d.kind not in _KIND_RANK for d in dtypes):
        return None
    top = max(_KIND_RANK[d.kind] for d in dtypes)
    # the widest of the highest kind; a complex one also as wide as the floats
    floor = min(top, 2)
    kept = [d for d in dtypes if _KIND_RANK[d.kind] >= floor]
    result = kept[0]
    for d in kept[1:]:
        result = np.promote_types(result, d)
    return result


def wrapped_int(value, dtype) -> int | None:
    """A Python int out of an integer ``dtype``'s range, wrapped into it (two's complement)
    as PyTorch converts a Python number to an integer Tensor's dtype in arithmetic
    (uint8 + 300 is uint8 + 44); None where ``value`` is no such int (NumPy's rules stand:
    in range, or beyond int64, where PyTorch fails too).

    >>> wrapped_int(300, np.dtype(np.uint8)), wrapped_int(-1, np.dtype(np.uint8)), wrapped_int(7, np.dtype(np.int8))
    (44, 255, None)
    """
    if value.__class__ is not int or getattr(dtype, "kind", None) not in ("i", "u") or not -2**63 <= value < 2**64:
        return None
    info = np.iinfo(dtype)
    if info.min <= value <= info.max:
        return None
    bits = 8 * dtype.itemsize
    value %= 1 << bits
    return value - (1 << bits) if dtype.kind == "i" and value > info.max else value
