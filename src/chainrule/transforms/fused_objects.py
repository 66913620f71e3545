"""The machine code of fused loops on disk, loaded without importing Numba.

Numba's own disk cache keeps a compiled kernel, but loading it imports Numba and sets up
its compiler (a few tenths of a second), and the loop that makes a kernel a NumPy ufunc
is compiled anew by LLVM in every process. So once Numba has compiled a program's
kernels (:mod:`chainrule.transforms.fuse`), :func:`store` writes each kernel's complete
ufunc loop (kernel and loop, linked) as a native object file into one file beside the
kernels' source, and :func:`load` makes the ufuncs again in a later process from that
file alone: llvmlite links the object into memory and Numba's small C extension
``numba.np.ufunc._internal`` (loaded by its path, without the ``numba`` package) turns
the loop into a ``np.ufunc``: the same machine code that the process which compiled it
ran.

A file is only written for loops whose machine code needs nothing from outside but the
C math library (``tanhf``, ``exp``, ...), and for loops whose kernel provably never
reports an error (each of its returns is "no error") but which keep the loop wrapper's
error path all the same (LLVM does not fold it away in large kernels): that dead path
names the Python API and two helpers of Numba's run time (taken from its C extension
``numba._helperlib``, again without the package). No state of the compiling process is
baked in. It is named by the host (CPU name and
features, llvmlite's and Numba's installations, ``NUMBA_*`` settings): a cache directory
shared with another machine or another Numba compiles anew. Anything unexpected while
loading (another file format, a symbol that does not resolve) makes :func:`load` return
None, and the caller compiles with Numba as before.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import json
import os
import platform
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["path_for", "store", "load", "undefined_symbols"]

FORMAT = b"chainrule fused loops 1\n"
_NUMBA_SPEC = importlib.util.find_spec("numba")
_host: list = []  # the host key, computed once
_C_MEMORY = {"memcpy", "memmove", "memset"}  # what LLVM may call for a copy loop


def _host_key() -> str:
    """What machine code compiled here depends on besides its source."""
    if not _host:
        import llvmlite
        import llvmlite.binding as llvm

        origin = Path(_NUMBA_SPEC.origin) if _NUMBA_SPEC and _NUMBA_SPEC.origin else None
        parts = [
            FORMAT.decode(), sys.platform, platform.machine(), llvm.get_host_cpu_name(),
            llvm.get_host_cpu_features().flatten(), llvmlite.__version__,
            str(origin), str(origin.stat().st_mtime_ns) if origin else "",
            *sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith("NUMBA_")),
        ]
        _host.append(hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16])
    return _host[0]


def path_for(directory: Path, digest: str) -> Path:
    """The file of a program's loops (``digest``: its kernels' source) on this host."""
    return directory / f"{digest}-{_host_key()}.loops"


# -- writing: in the process that compiled the kernels with Numba ------------------------
def undefined_symbols(obj: bytes) -> list[str] | None:
    """The names an ELF64 little-endian object file needs from outside (its undefined
    symbols); None for any other format.

    >>> undefined_symbols(b"MZ") is None
    True
    """
    if obj[:4] != b"\x7fELF" or obj[4:6] != b"\x02\x01":
        return None
    (section_offset,) = struct.unpack_from("<Q", obj, 0x28)
    entry_size, count = struct.unpack_from("<HH", obj, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", obj, section_offset + i * entry_size)
                for i in range(count)]
    names = []
    for _name, kind, _f, _a, offset, size, link, _i, _al, _e in sections:
        if kind != 2:  # SHT_SYMTAB
            continue
        strings = sections[link][4]
        for k in range(size // 24):
            name_at, _info, _other, section, _value, _size = struct.unpack_from(
                "<IBBHQQ", obj, offset + 24 * k)
            if section == 0 and name_at:  # SHN_UNDEF
                start = strings + name_at
                names.append(obj[start:obj.index(b"\0", start)].decode())
    return names


def _from_math_library(names: list[str]) -> bool:
    import ctypes
    import ctypes.util

    found = ctypes.util.find_library("m")
    if found is None:
        return False
    libm = ctypes.CDLL(found)
    return all(n in _C_MEMORY or hasattr(libm, n) for n in names)


# what the loop wrapper's error path names: dead code where the kernel never fails
_ERROR_PATH = {"numba_gil_ensure", "numba_gil_release"}
_HELPERS = "numba_"


def _error_path_only(names: list[str]) -> bool:
    return all(n in _ERROR_PATH or n.startswith(("PyErr_", "PyExc_")) for n in names)


def _never_fails(cres) -> bool:
    """Whether the kernel's compiled function returns "no error" (status 0) on every
    path: read from its LLVM IR, which Numba has only for code it compiled in this
    process (code loaded from Numba's cache cannot be inspected: False)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ir = cres.library.get_llvm_str()
    name = cres.fndesc.llvm_func_name
    at = ir.find(f'@"{name}"(')
    if at < 0:
        at = ir.find(f"@{name}(")
    start = ir.rfind("\n", 0, at) + 1
    if at < 0 or not ir.startswith("define", start):
        return False
    body = ir[start:ir.find("\n}", at)]
    returns = [line.strip() for line in body.splitlines() if line.strip().startswith("ret ")]
    return bool(returns) and all(r == "ret i32 0" for r in returns)


def _native_loop(kernel) -> tuple[str, list, int, bytes, list, int, str | None] | None:
    """``(symbol, type numbers, nin, object code, undefined symbols, nout, layout)`` of the
    ufunc loop of a Numba ``vectorize`` kernel of one signature, or of the generalized
    ufunc loop of a ``guvectorize`` kernel (``layout`` its core dimensions, else None),
    compiled again with its object code kept; None where that code needs more than the C
    math library, unless what else it needs is only the error path of a kernel that
    never fails."""
    from numba.core import types as nb_types
    from numba.core.compiler_lock import global_compiler_lock
    from numba.np.numpy_support import as_dtype
    from numba.np.ufunc.wrappers import _GufuncWrapper, build_ufunc_wrapper

    (cres,) = kernel._dispatcher.overloads.values()
    signature = cres.signature
    builder = getattr(kernel, "gufunc_builder", None)
    with global_compiler_lock:
        if builder is None:
            info = build_ufunc_wrapper(cres.library, cres.target_context,
                                       cres.fndesc.llvm_func_name, signature, cres.objectmode,
                                       cres)
            library, symbol = info.library, info.name
            library.enable_object_caching()
        else:
            # the wrapper Numba builds for it, in a library of its own (not Numba's cache)
            wrapper = _GufuncWrapper(builder.py_func, cres, builder.sin, builder.sout,
                                     cache=False, is_parfors=True)
            library = cres.target_context.codegen().create_library(str(wrapper))
            library.enable_object_caching()
            symbol = "__gufunc__." + cres.fndesc.mangled_name
            wrapper._build_wrapper(library, symbol)
        library.finalize()
        obj = library._get_compiled_object()
    needs = undefined_symbols(obj)
    if cres.objectmode or needs is None:
        return None
    outside = [n for n in needs if not _from_math_library([n])]
    if outside and not (_error_path_only(outside) and _never_fails(cres)):
        return None
    if builder is None:
        types = [as_dtype(a).num for a in signature.args] + [as_dtype(signature.return_type).num]
        return symbol, types, len(signature.args), obj, needs, 1, None
    types = [as_dtype(a.dtype if isinstance(a, nb_types.Array) else a).num for a in signature.args]
    return symbol, types, len(builder.sin), obj, needs, len(builder.sout), builder.signature


def store(path: Path, module, names: list[str]) -> bool:
    """Write the loops of ``names`` (kernels of the Numba-compiled ``module``: ufuncs and
    generalized ufuncs) to ``path``;
    False, writing nothing, where one of them cannot be kept so."""
    entries, blobs = [], []
    for name in dict.fromkeys(names):
        loop = _native_loop(getattr(module, name))
        if loop is None:
            return False
        symbol, types, nin, obj, needs, nout, layout = loop
        entries.append({"name": name, "symbol": symbol, "types": types, "nin": nin, "nout": nout,
                        "layout": layout, "needs": needs, "size": len(obj),
                        "sha256": hashlib.sha256(obj).hexdigest()})
        blobs.append(obj)
    header = json.dumps({"loops": entries}).encode()
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(FORMAT + struct.pack("<Q", len(header)) + header + b"".join(blobs))
        os.replace(tmp, path)  # atomic: another process may write the same file
    except OSError:
        return False
    return True


# -- reading: in any later process, without Numba ---------------------------------------
_loader: dict = {}


def _extension(name: str):
    """A C extension module of Numba's (``numba.np.ufunc._internal``, ``numba._helperlib``),
    loaded by its path without importing the ``numba`` package, and left in
    ``sys.modules`` so that Numba's own import of it, if it comes, finds this one."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    *package, leaf = name.split(".")
    directory = Path(_NUMBA_SPEC.submodule_search_locations[0]).joinpath(*package[1:])
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = directory / f"{leaf}{suffix}"
        if candidate.exists():
            spec = importlib.util.spec_from_file_location(name, candidate)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[name] = module
            return module
    raise ImportError(f"{name} not found")


def _read(path: Path):
    data = path.read_bytes()
    if not data.startswith(FORMAT):
        return None
    start = len(FORMAT) + 8
    (length,) = struct.unpack_from("<Q", data, len(FORMAT))
    header = json.loads(data[start:start + length])
    loops, at = {}, start + length
    for entry in header["loops"]:
        obj = data[at:at + entry["size"]]
        if hashlib.sha256(obj).hexdigest() != entry["sha256"]:
            return None  # a file cut short or damaged: never hand LLVM a broken object
        loops[entry["name"]] = (entry, obj)
        at += entry["size"]
    return loops


def load(path: Path, names: list[str]) -> list[np.ufunc] | None:
    """The ufuncs of ``names`` from the file that :func:`store` wrote, in order; None if
    there is none, or it cannot be used here (the caller then compiles with Numba)."""
    if _NUMBA_SPEC is None or not path.exists():
        return None
    try:
        loops = _read(path)
        if loops is None or any(n not in loops for n in names):
            return None
        import llvmlite.binding as llvm

        maker = _extension("numba.np.ufunc._internal")
        if not _loader:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            _loader["target"] = llvm.Target.from_default_triple()
        helpers = {n for entry, _ in loops.values() for n in entry["needs"] if n.startswith(_HELPERS)}
        if helpers:
            # registered as Numba registers them: its run time's C helpers, by name
            addresses = _extension("numba._helperlib").c_helpers
            for name in helpers:
                llvm.add_symbol(name, addresses[name[len(_HELPERS):]])
        made: dict = {}
        for name in dict.fromkeys(names):
            entry, obj = loops[name]
            # an engine of its own per loop, so no two objects' symbols can meet; it owns
            # (and disposes of) its target machine, and the ufunc keeps it alive
            machine = _loader["target"].create_target_machine(codemodel="jitdefault", jit=True)
            engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), machine)
            if undefined_symbols(obj) != entry["needs"] or any(
                    llvm.address_of_symbol(n) is None for n in entry["needs"]):
                return None  # resolved by the process (the C math library), or not at all
            engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
            engine.finalize_object()
            address = engine.get_function_address(entry["symbol"])
            if not address:
                return None
            layout = entry.get("layout")
            made[name] = maker.fromfunc(name, None, [address], [entry["types"]], entry["nin"],
                                        entry.get("nout", 1), [None], [engine], maker.PyUFunc_None,
                                        *((layout, ()) if layout else ()))
    except (OSError, ValueError, KeyError, TypeError, ImportError, RuntimeError, struct.error):
        return None
    return [made[n] for n in names]
