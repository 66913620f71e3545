"""The README's list of differentiable functions is the one the rule tables generate."""

import importlib.util
import pathlib
import shlex

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_supported_list_is_current():
    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "tools" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (ROOT / "README.md").read_text()
    assert module.updated(text) == text, "run: python tools/update_readme.py"


def test_readme_opens_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[3].startswith('pip install -e ".[train]" && chainrule train')
    assert lines[4].startswith('pip install -e ".[test]" && python -m pytest')


def test_first_python_example_runs():
    import re

    text = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    exec(compile(block, "README.md", "exec"), {})


def test_a_fresh_clone_runs_the_readme_test_command():
    """CI runs the README's command, and the test extra installs the plugins that the
    pytest options in pyproject.toml need (pytest-xdist for -n), so that it works on a
    fresh clone."""
    tomllib = pytest.importorskip("tomllib")
    command = (ROOT / "README.md").read_text().splitlines()[4].split("#")[0].split("&&")[1].strip()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert ci[-2:] == ['python -m pip install -e ".[test]"', command]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    addopts = shlex.split(project["tool"]["pytest"]["ini_options"]["addopts"])
    test_extra = project["project"]["optional-dependencies"]["test"]
    if any(option.startswith(("-n", "--numprocesses", "--dist")) for option in addopts):
        assert any(requirement.startswith("pytest-xdist") for requirement in test_extra)
