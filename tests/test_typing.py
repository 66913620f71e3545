"""The package ships its type hints (PEP 561), and the public API has them."""

import importlib
import inspect
from pathlib import Path

import pytest
import tomllib

import chainrule

ROOT = Path(__file__).resolve().parent.parent

PUBLIC_MODULES = [
    "chainrule", "chainrule.extend", "chainrule.tracer", "chainrule.builtins", "chainrule.test_util",
    "chainrule.differential_operators", "chainrule.wrap_util", "chainrule.util", "chainrule.misc.flatten",
    "chainrule.misc.optimizers", "chainrule.misc.fixed_points", "chainrule.misc.tracers",
    "chainrule.numpy.numpy_vjps", "chainrule.numpy.numpy_vspaces",
]


def test_py_typed_is_shipped():
    assert (ROOT / "src" / "chainrule" / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["chainrule"]


def public_functions():
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            fun = obj.fun if isinstance(obj, chainrule.Primitive) else obj
            if inspect.isfunction(fun):
                yield f"{name}.{attr}", fun


@pytest.mark.parametrize("qualname, fun", list(public_functions()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_function_has_type_hints(qualname, fun):
    sig = inspect.signature(fun)
    hinted = [p for p in sig.parameters.values() if p.annotation is not p.empty]
    assert hinted or sig.return_annotation is not sig.empty, f"{qualname}{sig} has no type hints"
