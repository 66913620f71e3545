"""Every ``>>>`` example in a docstring under ``src/chainrule`` runs, and prints what
it says it prints."""

import doctest
import functools
import importlib
import pkgutil

import numpy as np
import pytest

import chainrule
from chainrule.core.primitive import Primitive


def module_names():
    names = [chainrule.__name__]
    for info in pkgutil.walk_packages(chainrule.__path__, prefix="chainrule."):
        if info.name.endswith("__main__"):
            continue  # running it is the command line's job (tests/test_cli.py)
        names.append(info.name)
    return sorted(names)


# Extras a module needs; without them its examples cannot run (skipped, with the reason).
NEEDS = {"chainrule.scipy": "scipy", "chainrule.distributed": "mpi4py", "chainrule.utils.tensorboard": "tensorboard"}


def our_doctests(finder, module):
    """The module's examples, and those of the primitives it defines (a Primitive is an
    object, not a function, so the finder would not look inside it); not the NumPy or
    SciPy docstrings that mirrored functions carry (their source line is not ours)."""
    tests = finder.find(module, module.__name__)
    for attr, obj in vars(module).items():
        if isinstance(obj, Primitive) and getattr(obj.fun, "__module__", None) == module.__name__:
            tests += finder.find(obj.fun, f"{module.__name__}.{attr}", module=module,
                                 globs=dict(vars(module)))
    return [t for t in tests if t.examples and t.lineno is not None and t.docstring not in foreign_docs()]


@functools.cache
def foreign_docs() -> frozenset:
    """The docstrings of NumPy's (and SciPy's, where installed) functions."""
    spaces = [np, np.linalg, np.fft, np.random]
    for name in ("scipy.special", "scipy.stats", "scipy.linalg", "scipy.signal", "scipy.integrate"):
        try:
            spaces.append(importlib.import_module(name))
        except ImportError:
            pass
    docs = set()
    for space in spaces:
        for attr in dir(space):
            doc = getattr(getattr(space, attr, None), "__doc__", None)
            if isinstance(doc, str):
                docs.add(doc)
    return frozenset(docs)


@pytest.mark.parametrize("name", module_names())
def test_docstring_examples_run(name):
    for prefix, package in NEEDS.items():
        if name.startswith(prefix):
            pytest.importorskip(package)
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    state = np.random.get_state()
    try:
        np.random.seed(0)
        for test in our_doctests(finder, module):
            runner.run(test)
    finally:
        np.random.set_state(state)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {name} failed"


def test_examples_are_found():
    """The collector sees the examples (a finder that found nothing would pass everything)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    count = sum(len(t.examples) for n in module_names() if not n.startswith(tuple(NEEDS))
                for t in our_doctests(finder, importlib.import_module(n)))
    assert count > 300, count
