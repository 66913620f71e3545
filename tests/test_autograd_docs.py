"""docs/autograd.md says exactly what exists: its tables name every public name of
autograd 1.9's modules, every chainrule name in them exists, and its code runs."""

import importlib
import inspect
import re
from pathlib import Path

import pytest

autograd = pytest.importorskip("autograd")

DOC = (Path(__file__).resolve().parent.parent / "docs" / "autograd.md").read_text(encoding="utf-8")

NUMPY_INTERNALS = "`autograd.numpy.numpy_boxes`, `numpy_vspaces`, `numpy_vjps`, `numpy_jvps`, `numpy_wrapper`"
# The doc's section for each autograd module (the section's tables name its public names).
SECTIONS = {
    "autograd": "`autograd`",
    "autograd.builtins": "`autograd.builtins`",
    "autograd.differential_operators": "`autograd.differential_operators`",
    "autograd.extend": "`autograd.extend`",
    "autograd.tracer": "`autograd.tracer`",
    "autograd.core": "`autograd.core`",
    "autograd.util": "`autograd.util`, `autograd.wrap_util`",
    "autograd.wrap_util": "`autograd.util`, `autograd.wrap_util`",
    "autograd.test_util": "`autograd.test_util`",
    "autograd.misc": "`autograd.misc`",
    "autograd.misc.flatten": "`autograd.misc`",
    "autograd.misc.optimizers": "`autograd.misc`",
    "autograd.misc.fixed_points": "`autograd.misc`",
    "autograd.misc.tracers": "`autograd.misc`",
    "autograd.numpy.numpy_boxes": NUMPY_INTERNALS,
    "autograd.numpy.numpy_vspaces": NUMPY_INTERNALS,
    "autograd.numpy.numpy_vjps": NUMPY_INTERNALS,
    "autograd.numpy.numpy_jvps": NUMPY_INTERNALS,
}
# Namespaces that mirror NumPy/SciPy: every name exists in chainrule, but for the listed ones.
MIRRORS = ["autograd.numpy", "autograd.numpy.linalg", "autograd.numpy.fft", "autograd.numpy.random",
           "autograd.scipy.special", "autograd.scipy.linalg", "autograd.scipy.signal",
           "autograd.scipy.integrate", "autograd.scipy.stats"]


def sections() -> dict[str, str]:
    parts = re.split(r"^### (.+)$", DOC, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def table_rows(text: str):
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] != "autograd":
                yield cells


def names_in(cell: str) -> set[str]:
    cell = re.sub(r"\(`[^)]*\)", "", cell)  # "(`misc.flatten`)" says where, it is not a name
    return set(re.findall(r"`([^`]+)`", cell))


def public_names(module_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    return {
        n for n, v in vars(module).items()
        if not n.startswith("_") and not inspect.ismodule(v)
        and (getattr(v, "__module__", None) or "autograd").startswith("autograd")
    }


def resolve(dotted: str):
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        for attr in parts[k:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


@pytest.mark.parametrize("module_name", list(SECTIONS))
def test_every_public_name_has_a_row(module_name):
    text = sections()[SECTIONS[module_name]]
    documented = set().union(*(names_in(cells[0]) for cells in table_rows(text)))
    missing = public_names(module_name) - documented
    assert not missing, f"docs/autograd.md, section {SECTIONS[module_name]}: no row for {sorted(missing)}"


def test_every_chainrule_name_in_the_tables_exists():
    names = set()
    for text in sections().values():
        for cells in table_rows(text):
            if len(cells) > 1:
                names |= {n for n in names_in(cells[1]) if n.startswith("chainrule.")}
    assert len(names) > 120
    for name in sorted(names):
        resolve(name)  # raises if the doc names something that does not exist


def mirror_exceptions() -> dict[str, set[str]]:
    text = sections()["`autograd.numpy`, `.linalg`, `.fft`, `.random`, and `autograd.scipy.*`"]
    return {names_in(cells[0]).pop(): names_in(cells[1]) for cells in table_rows(text)}


@pytest.mark.parametrize("module_name", MIRRORS)
def test_mirror_namespaces_have_every_name_but_the_listed_ones(module_name):
    ours = importlib.import_module("chainrule" + module_name[len("autograd"):])
    theirs = importlib.import_module(module_name)
    listed = mirror_exceptions().get(module_name, set())
    names = {n for n, v in vars(theirs).items() if not n.startswith("_") and not inspect.ismodule(v)}
    absent = {n for n in names if not hasattr(ours, n)}
    assert absent <= listed, f"{module_name}: not in chainrule and not listed in the doc: {sorted(absent - listed)}"
    assert listed <= absent, f"{module_name}: the doc lists as absent names that exist: {sorted(listed - absent)}"


def test_stats_distribution_modules_all_exist():
    import pkgutil

    import autograd.scipy.stats as stats

    for info in pkgutil.iter_modules(stats.__path__):
        importlib.import_module(f"chainrule.scipy.stats.{info.name}")


def python_blocks():
    return re.findall(r"```python\n(.*?)```", DOC, re.S)


def test_the_import_lines_run():
    exec(compile(python_blocks()[0], "docs/autograd.md, block 0", "exec"), {})
