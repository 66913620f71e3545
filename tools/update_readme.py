"""Regenerate the README's list of differentiable functions from the rule tables."""

import pathlib
import re

import chainrule  # noqa: F401  (registers the numpy mirror)
import chainrule.scipy.integrate  # noqa: F401
import chainrule.scipy.linalg  # noqa: F401
import chainrule.scipy.signal  # noqa: F401
import chainrule.scipy.special  # noqa: F401
import chainrule.scipy.stats  # noqa: F401
from chainrule.numpy.registry import supported_markdown

START, END = "<!-- supported:start -->", "<!-- supported:end -->"
README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def updated(text: str) -> str:
    block = f"{START}\n{supported_markdown()}\n{END}"
    return re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)


if __name__ == "__main__":
    README.write_text(updated(README.read_text()))
