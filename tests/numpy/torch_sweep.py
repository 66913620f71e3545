"""The engine of the sweep of chainrule's PyTorch mirror against PyTorch: every name both
expose (torch.*, Tensor methods, torch.nn.functional, torch.linalg, torch.special,
torch.fft), called on a table of argument patterns with each library on equal inputs.
A call agrees when both raise (chainrule the class PyTorch raises, or a subclass of it),
or both return results of one structure (Tensor, tuple, named tuple with its field
names, list, Python number, dtype, Size) with equal dtypes, shapes and values (NaN
positions and the sign of zero included), and leave in-place arguments equal; for float
results of finite inputs, the gradients of ``sum(result * weights)`` agree too.

``python tests/numpy/torch_sweep.py FILE`` writes every disagreement of the full table."""

from __future__ import annotations

import inspect
import math
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as torch_functional

import chainrule as cr
import chainrule.nn.functional as cr_functional

NAMESPACES = {  # group: (PyTorch's namespace, chainrule's)
    "torch": (torch, cr), "F": (torch_functional, cr_functional), "linalg": (torch.linalg, cr.linalg),
    "special": (torch.special, cr.special), "fft": (torch.fft, cr.fft),
}

# names not called: they draw random numbers, change global state, read or write files,
# allocate memory without values, or take functions or hooks instead of tensors
SKIPPED = {
    "bernoulli", "bernoulli_", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout", "rrelu", "rrelu_", "gumbel_softmax", "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices", "fractional_max_pool3d", "fractional_max_pool3d_with_indices",
    "multinomial", "normal", "normal_", "rand", "rand_like", "randint", "randn", "randn_like", "randperm",
    "exponential_", "uniform_", "random_", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
    "empty", "empty_like", "new_empty", "save", "load", "compile", "vmap", "use_deterministic_algorithms",
    "set_default_device", "set_default_dtype", "set_default_tensor_type", "set_float32_matmul_precision",
    "set_num_threads", "set_printoptions", "backward", "register_hook", "register_post_accumulate_grad_hook",
    "retain_grad", "data_ptr", "storage_offset", "is_pinned", "from_numpy", "get_device", "new",
    "are_deterministic_algorithms_enabled", "get_default_device", "get_default_dtype",
    "get_float32_matmul_precision", "get_num_threads", "is_anomaly_enabled", "is_autocast_enabled",
    "is_grad_enabled", "is_inference_mode_enabled", "numpy", "cpu", "type", "requires_grad_",
}


def _public(module) -> set[str]:
    return {n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n, None))
            and not inspect.isclass(getattr(module, n)) and not inspect.ismodule(getattr(module, n))}


def names() -> list[tuple[str, str]]:
    """(group, name) of every callable both libraries expose, less SKIPPED; group "Tensor"
    for methods."""
    out = [(g, n) for g, (t, c) in NAMESPACES.items() for n in sorted(_public(t) & _public(c))]
    out += [("Tensor", n) for n in sorted(dir(torch.Tensor)) if not n.startswith("_")
            and callable(getattr(torch.Tensor, n, None)) and callable(getattr(cr.Tensor, n, None))]
    return [(g, n) for g, n in out if n not in SKIPPED]


nan, inf = math.nan, math.inf
ARRAYS = {
    "S": np.array(-0.0), "S2": np.array(2.5), "E": np.zeros(0), "V": np.array([0.5, -0.0, 0.5]),
    "VN": np.array([nan, inf, -inf]), "VH": np.array([1e308, 5e-324, 0.0]),
    "M": np.array([[0.0, -0.0, 1.5], [-2.25, 1.5, 0.5]]), "MS": np.array([[nan, 1.0, -inf], [inf, 1e308, -0.0]]),
    "Q": np.array([[2.0, 0.5], [-1.0, 3.0]]), "I": np.array([3, -2, 0]), "IM": np.array([[1, -2, 0], [3, 3, -1]]),
    "B": np.array([True, False, True]), "OUT": np.zeros(0),
}
DTYPES = {"f32": "float32", "f64": "float64", "i64": "int64"}


class A(str):
    """An argument that names an array of ARRAYS (a Tensor in each library)."""


class D(str):
    """An argument that names a dtype of DTYPES."""


# (args, kwargs): the argument patterns; the method of a Tensor takes args[0] as self
PATTERNS = [((A(n),), {}) for n in ("S", "S2", "E", "V", "VN", "VH", "M", "MS", "Q", "I", "IM", "B")] + [
    ((A("M"), A("MS")), {}), ((A("V"), A("VN")), {}), ((A("M"), A("V")), {}), ((A("M"), 2.0), {}),
    ((A("I"), A("I")), {}), ((A("I"), 2), {}), ((A("I"), 1.5), {}), ((A("V"), A("I")), {}), ((A("B"), A("B")), {}),
    ((A("S2"), A("M")), {}), ((A("IM"), A("M")), {}), ((A("Q"), A("Q")), {}), ((A("VH"), A("V")), {}),
    ((A("M"),), {"dim": 0}), ((A("M"),), {"dim": -1, "keepdim": True}), ((A("MS"),), {"dim": 1}),
    ((A("IM"),), {"dim": 0}), ((A("E"),), {"dim": 0}), ((A("S"),), {"dim": 0}), ((A("B"),), {"dim": 0}),
    ((A("M"), 0), {}), ((A("M"), 1), {}), ((A("V"), 2), {}),
    ((A("M"),), {"dtype": D("f32")}), ((A("IM"),), {"dtype": D("f64")}), ((A("V"),), {"dtype": D("i64")}),
    ((A("M"),), {"out": A("OUT")}), ((A("M"), A("MS")), {"out": A("OUT")}),
    ((A("M"), A("M"), A("MS")), {}), ((A("M"), -1.0, 1.0), {}), ((A("B"), A("V"), A("VN")), {}),
    ((A("V"), A("V"), 0.5), {}), ((A("M"),), {"min": -1.0}),
    ((3,), {}), ((2, 3), {}), ((0,), {}), (((2, 3), 1.5), {}), ((0.0, 1.0, 5), {}), ((3,), {"dtype": D("i64")}),
    (([1, 2.5, -0.0],), {}), (([[1, 2], [3, 4]],), {}), (([True, False],), {}),
]


def _convert(value, lib, grad):
    if isinstance(value, A):
        t = lib.tensor(ARRAYS[value])
        return t.requires_grad_(True) if grad and t.is_floating_point() else t
    if isinstance(value, D):
        return getattr(lib, DTYPES[value])
    return value


def _function(group, name, lib):
    if group == "Tensor":
        return lambda x, *args, **kwargs: getattr(x, name)(*args, **kwargs)
    return getattr(NAMESPACES[group][lib is cr], name)


def _exception_base(cls):
    """PyTorch's own exception classes as the builtin class they derive from."""
    return next(c for c in cls.__mro__ if c.__module__ == "builtins")


def _call(group, name, lib, pattern, grad=False):
    args, kwargs = pattern
    args = [_convert(a, lib, grad) for a in args]
    kwargs = {k: _convert(v, lib, grad) for k, v in kwargs.items()}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return _function(group, name, lib)(*args, **kwargs), args, kwargs
        except Exception as e:  # noqa: BLE001 (the exception class is the result)
            return type(e), args, kwargs


def _values(t):
    a = np.asarray(t.detach().resolve_conj().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy())
    return a


def _same_array(a, b) -> str | None:
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    if a.dtype.kind == "c":
        return _same_array(a.real, b.real) or _same_array(a.imag, b.imag)
    if a.dtype.kind == "f":
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            return "NaN positions"
        finite = ~np.isnan(b)
        if not np.array_equal(np.signbit(a[finite & (b == 0)]), np.signbit(b[finite & (b == 0)])):
            return "sign of zero"
        rtol = {8: 1e-12, 4: 2e-6}.get(b.dtype.itemsize, 1e-3)  # float64, float32, float16
        if not np.allclose(a[finite], b[finite], rtol=rtol, atol=1e-300):
            return "values"
        return None
    return None if np.array_equal(a, b) else "values"


def _dtype_name(d) -> str:
    return str(d).replace("torch.", "")


def compare(got, want, path="") -> str | None:
    """Why ``got`` (chainrule's) differs from ``want`` (PyTorch's), or None."""
    if isinstance(want, type) and issubclass(want, BaseException):
        if isinstance(got, type) and issubclass(got, BaseException):
            base = _exception_base(want)
            return None if issubclass(got, base) else f"{path}raises {got.__name__}, torch {want.__name__}"
        return f"{path}returns, torch raises {want.__name__}"
    if isinstance(got, type) and issubclass(got, BaseException):
        return f"{path}raises {got.__name__}, torch returns {type(want).__name__}"
    if isinstance(want, torch.Tensor):
        if not isinstance(got, cr.Tensor):
            return f"{path}type {type(got).__name__}, torch Tensor"
        if _dtype_name(got.dtype) != _dtype_name(want.dtype):
            return f"{path}dtype {_dtype_name(got.dtype)} != {_dtype_name(want.dtype)}"
        why = _same_array(_values(got), _values(want))
        return why and path + why
    if isinstance(want, torch.Size):
        return None if type(got).__name__ == "Size" and tuple(got) == tuple(want) else f"{path}Size {got!r}"
    if isinstance(want, torch.dtype):
        return None if _dtype_name(got) == _dtype_name(want) else f"{path}dtype {got} != {want}"
    if isinstance(want, tuple | list):
        if getattr(want, "__match_args__", None):  # torch.return_types: the same field names
            if getattr(got, "_fields", None) != want.__match_args__:
                return f"{path}fields {getattr(got, '_fields', None)} != {want.__match_args__}"
        elif type(got) is not type(want):
            return f"{path}type {type(got).__name__} != {type(want).__name__}"
        if len(got) != len(want):
            return f"{path}length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            why = compare(g, w, f"{path}[{i}] ")
            if why:
                return why
        return None
    if want is None or isinstance(want, bool | int | float | complex | str):
        if type(got) is not type(want):
            return f"{path}type {type(got).__name__} != {type(want).__name__}"
        if isinstance(want, float) and (math.isnan(want) or want == 0):
            return None if repr(got) == repr(want) else f"{path}value {got!r} != {want!r}"
        return None if got == want else f"{path}value {got!r} != {want!r}"
    return None  # other objects (storages, devices, ...): not compared


def _leaves(out):
    return [x for o in out for x in _leaves(o)] if isinstance(out, tuple | list) else [out]


def _float_leaves(out):
    return [x for x in _leaves(out) if isinstance(x, torch.Tensor | cr.Tensor) and x.is_floating_point()
            and x.requires_grad]


def _weighted_sum(out, lib):
    total = 0
    for t in _float_leaves(out):
        w = np.cos(np.arange(t.numel(), dtype=np.float64) + 1.0).reshape(tuple(t.shape))
        total = total + (t * lib.tensor(w, dtype=t.dtype)).sum()
    return total


def _finite(pattern) -> bool:
    values = [*pattern[0], *pattern[1].values()]
    return all(np.isfinite(ARRAYS[v]).all() and not (np.abs(ARRAYS[v]) > 1e300).any()
               for v in values if isinstance(v, A))


def check_gradients(group, name, pattern) -> str | None:
    want, t_args, t_kw = _call(group, name, torch, pattern, grad=True)
    got, c_args, c_kw = _call(group, name, cr, pattern, grad=True)
    if isinstance(want, type) or isinstance(got, type):
        return compare(got, want, "with requires_grad: ")
    if not _float_leaves(want):
        return None
    try:
        _weighted_sum(want, torch).backward()
    except Exception:  # noqa: BLE001 (not differentiable in PyTorch: nothing to compare)
        return None
    try:
        _weighted_sum(got, cr).backward()
    except Exception as e:  # noqa: BLE001
        return f"backward raises {type(e).__name__}"
    for i, (c, t) in enumerate(zip(_leaves(c_args) + _leaves(list(c_kw.values())),
                                   _leaves(t_args) + _leaves(list(t_kw.values())), strict=True)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            tg = np.zeros(tuple(t.shape)) if t.grad is None else t.grad.numpy(force=True)
            cg = np.zeros(tuple(c.shape)) if c.grad is None else c.grad.detach().numpy()
            tol = 1e-10 if all(t.dtype == torch.float64 for t in _float_leaves(want)) else 2e-6
            if tg.shape != cg.shape or not np.allclose(cg, tg, rtol=tol, atol=tol, equal_nan=True):
                return f"gradient of argument {i}"
    return None


def check(group, name, pattern, gradients=True) -> str | None:
    """Why chainrule's call of ``pattern`` differs from PyTorch's, or None."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _check(group, name, pattern, gradients)


def _check(group, name, pattern, gradients):
    if group == "Tensor" and not isinstance(pattern[0][0], A):  # a method: of a Tensor only
        return None
    if "out" in pattern[1]:  # out=: a Tensor of the shape and dtype of PyTorch's result
        plain = _call(group, name, torch, (pattern[0], {k: v for k, v in pattern[1].items() if k != "out"}))[0]
        if not isinstance(plain, torch.Tensor):
            return None
        ARRAYS["OUT"] = np.zeros(tuple(plain.shape), _dtype_name(plain.dtype))
    want, t_args, t_kw = _call(group, name, torch, pattern)
    got, c_args, c_kw = _call(group, name, cr, pattern)
    why = compare(got, want)
    if why:
        return why
    if not isinstance(want, type):  # in-place changes of the arguments
        why = compare(c_args + list(c_kw.values()), t_args + list(t_kw.values()), "argument ")
        if why:
            return why
    if gradients and _finite(pattern) and _float_leaves_possible(want):
        return check_gradients(group, name, pattern)
    return None


def _float_leaves_possible(out) -> bool:
    return not isinstance(out, type) and any(isinstance(x, torch.Tensor) and x.is_floating_point()
                                             for x in _leaves(out))


def check_program(program) -> str | None:
    """Why chainrule's ``program(chainrule)`` differs from PyTorch's ``program(torch)``, or
    None: for calls the table's patterns do not make (operators, other values, keywords)."""
    results, before = [], torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for lib in (torch, cr):
                try:
                    results.append(program(lib))
                except Exception as e:  # noqa: BLE001 (the exception class is the result)
                    results.append(type(e))
    finally:
        torch.set_default_dtype(before)
    return compare(results[1], results[0])


def describe(pattern) -> str:
    args, kwargs = pattern
    parts = [str(a) if isinstance(a, A | D) else repr(a) for a in args]
    parts += [f"{k}={v if isinstance(v, A | D) else repr(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def sweep(patterns=PATTERNS, selected=None):
    """Every disagreement: (group, name, pattern text, why), PyTorch's default dtype set to
    chainrule's for computed floats (float64)."""
    out, before = [], torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for group, name in selected or names():
            for pattern in patterns:
                why = check(group, name, pattern)
                if why:
                    out.append((group, name, describe(pattern), why))
    finally:
        torch.set_default_dtype(before)
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    found = sweep()
    with open(sys.argv[1], "w") as f:
        for row in found:
            f.write(" | ".join(row) + "\n")
    print(len(found), "disagreements in", len(names()), "names")
