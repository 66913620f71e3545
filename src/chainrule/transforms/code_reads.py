"""What a function's code reads besides its arguments, from its code object alone: the
names it looks up as globals (by name, or by a string it spells), the modules it imports,
its string constants. ``chainrule.jit`` watches what these name (see
:mod:`chainrule.transforms.captures`).

>>> SCALE = 2.0
>>> "SCALE" in global_names((lambda x: x * SCALE).__code__)
True
"""

from __future__ import annotations

import dis
import functools
import re
import sys
import types

__all__ = ["BY_MODULE_NAME", "global_names", "imported_modules", "imports_of", "loaded_globals", "reads_any_global",
           "strings_of"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# builtins through which code reads any global by a name it computes
_BY_ANY_NAME = {"globals", "eval", "exec"}
# names through which code looks a module up by a name it spells as a string
BY_MODULE_NAME = {"import_module", "__import__", "modules"}
# and those through which it reads a global or an attribute by a name it spells as a string
_BY_STRING = _BY_ANY_NAME | {"getattr", "vars", "__dict__", "modules", "attrgetter"}


def global_names(code: types.CodeType) -> list:
    """The names a code object (and the functions, lambdas and comprehensions defined
    in it) looks up outside its frame, and the names its strings spell, which it may look
    up by string (``getattr(settings, "LR")``, ``globals()["SCALE"]``, ``eval("SCALE")``)."""
    names = list(code.co_names)
    by_string = _BY_STRING.intersection(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += global_names(const)
        elif by_string and isinstance(const, str):
            if const.isidentifier():
                names.append(const)
            elif by_string & _BY_ANY_NAME and len(const) < 1000:  # eval("SCALE * 2")
                names += _IDENTIFIER.findall(const)
    return list(dict.fromkeys(names))


def reads_any_global(code: types.CodeType) -> bool:
    """Whether a code object (or one defined in it) calls ``globals``, ``eval`` or
    ``exec``: the builtins loaded as globals (or taken from ``builtins``), not a method
    of that name (``model.eval()``, which reads no global)."""
    if _BY_ANY_NAME.intersection(loaded_globals(code)):
        return True
    names = set(global_names(code))
    return bool(_BY_ANY_NAME & names and {"builtins", "__builtins__"} & names)


@functools.lru_cache(maxsize=1024)
def loaded_globals(code: types.CodeType) -> tuple:
    """The names that a code object (and the functions, lambdas and comprehensions defined
    in it) loads as globals."""
    names = [ins.argval for ins in dis.get_instructions(code) if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += loaded_globals(const)
    return tuple(dict.fromkeys(names))


def imported_modules(code: types.CodeType, package: str) -> list:
    """The modules that a code object (and those defined in it) imports, loaded now (the
    packages on the way too, and the submodules it takes from them: ``from pkg import
    settings``)."""
    found: dict = {}
    for level, names, name in imports_of(code):
        if level:  # from .settings import LR: relative to the function's package
            base = package.rsplit(".", level - 1)[0] if level > 1 else package
            name = f"{base}.{name}" if name else base
        parts = name.split(".")
        dotted = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        dotted += [f"{name}.{n}" for n in names or () if n != "*"]
        for full in dotted:
            module = sys.modules.get(full)
            if isinstance(module, types.ModuleType):
                found[id(module)] = module
    return list(found.values())


@functools.lru_cache(maxsize=1024)
def strings_of(code: types.CodeType) -> tuple:
    """The string constants of a code object and of those defined in it."""
    found = []
    for const in code.co_consts:
        if isinstance(const, str):
            found.append(const)
        elif isinstance(const, types.CodeType):
            found += strings_of(const)
    return tuple(dict.fromkeys(found))


@functools.lru_cache(maxsize=1024)
def imports_of(code: types.CodeType) -> tuple:
    """``(level, names, module)`` of each import statement of a code object (and of those
    defined in it)."""
    instructions = list(dis.get_instructions(code))
    found = [(instructions[i - 2].argval, instructions[i - 1].argval, ins.argval)
             for i, ins in enumerate(instructions)
             if ins.opname == "IMPORT_NAME" and i >= 2 and instructions[i - 2].opname == "LOAD_CONST"
             and isinstance(instructions[i - 2].argval, int)]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found += imports_of(const)
    return tuple(found)
