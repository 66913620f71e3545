"""The Python blocks of the guides run as written, in order."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("page", ["training.md", "jit.md", "scipy.md", "vmap.md"])
def test_page_code_runs(page, tmp_path, monkeypatch):
    if page == "training.md":
        pytest.importorskip("sklearn")  # the guide loads the bundled digits
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, f"docs/{page} has no python blocks"
    monkeypatch.chdir(tmp_path)  # the guide writes model files
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/{page}, block {i}", "exec"), namespace)
