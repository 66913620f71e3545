"""``torch.torch_version``: :class:`TorchVersion`, the version string that compares as a version.

``chainrule.__version__`` (``torch.__version__`` under ``import chainrule as torch``) is
the PyTorch release whose API chainrule mirrors, with chainrule's own release as its
local part (``'2.13.0+chainrule0.1.0'``), so that a program's ``torch.__version__ >=
'1.9'`` or ``version.parse(torch.__version__) >= version.parse('2.0')`` takes the branch
written for the PyTorch it imitates. Comparisons follow PEP 440, as PyTorch's
``TorchVersion`` (which uses ``packaging``); this module needs only the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["TorchVersion", "parse_version"]

# PEP 440's version pattern (packaging.version.VERSION_PATTERN), without the spaces
_PATTERN = re.compile(
    r"v?(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)"
    r"(?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?"
    r"(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?"
    r"(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?",
    re.IGNORECASE)
_PRE = {"alpha": 0, "a": 0, "beta": 1, "b": 1, "c": 2, "pre": 2, "preview": 2, "rc": 2}  # a < b < rc
_INF, _NEG_INF = (float("inf"),), (float("-inf"),)  # packaging's Infinity and NegativeInfinity


def parse_version(text: str) -> tuple:
    """A sort key of the PEP 440 version ``text`` (``packaging.version.Version``'s order);
    ValueError when ``text`` is not a version.

    >>> parse_version("2.0") == parse_version("2.0.0") < parse_version("2.13.0+cpu")
    True
    """
    match = _PATTERN.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a PEP 440 version (such as '2.1' or '2.1.0+cpu')")
    release = [int(i) for i in match["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()  # 2.0.0 == 2.0 == 2
    pre = (_PRE[match["pre_l"].lower()], int(match["pre_n"] or 0)) if match["pre"] else None
    post = int(match["post_n1"] or match["post_n2"] or 0) if match["post"] else None
    dev = int(match["dev_n"] or 0) if match["dev"] else None
    local = [(0, int(p)) if p.isdigit() else (-1, p.lower()) for p in re.split(r"[-_.]", match["local"] or "") if p]
    # a dev release sorts before its pre-releases, these before the release, which sorts before its
    # post-releases; a local version after the public one it extends
    return (int(match["epoch"] or 0), tuple(release),
            _NEG_INF if pre is None and post is None and dev is not None else _INF if pre is None else pre,
            _NEG_INF if post is None else (post,), _INF if dev is None else (dev,),
            tuple(local))


class TorchVersion(str):
    """A version string (``str``) whose comparisons with a string, a
    ``packaging.version.Version`` or a tuple such as ``(2, 1)`` compare versions, as
    PyTorch's ``torch.torch_version.TorchVersion``; a text that is no version compares as
    a string.

    >>> v = TorchVersion("2.13.0+chainrule0.1.0")
    >>> v >= "1.9", v > "2.2", v > (2, 0), v < "2.14", v == "2.13.0"
    (True, True, True, True, False)
    """

    __slots__ = ()

    def _compare(self, other, method: str) -> bool:
        if not isinstance(other, str) and isinstance(other, Iterable):
            other = ".".join(str(item) for item in other)  # (2, 1) is 2.1
        try:
            mine, theirs = parse_version(self), parse_version(str(other))
        except ValueError:
            return getattr(str, method)(self, other)
        return getattr(tuple, method)(mine, theirs)

    def __eq__(self, other) -> bool:
        return self._compare(other, "__eq__")

    def __ne__(self, other) -> bool:
        return not self._compare(other, "__eq__")

    def __lt__(self, other) -> bool:
        return self._compare(other, "__lt__")

    def __le__(self, other) -> bool:
        return self._compare(other, "__le__")

    def __gt__(self, other) -> bool:
        return self._compare(other, "__gt__")

    def __ge__(self, other) -> bool:
        return self._compare(other, "__ge__")

    __hash__ = str.__hash__
