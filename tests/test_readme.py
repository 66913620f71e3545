"""The README's list of differentiable functions is the one the rule tables generate."""

import importlib.util
import pathlib

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
