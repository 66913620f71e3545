"""Einsum's subscripts, parsed once for the rules (products) and the batching rule."""

from __future__ import annotations

import string

__all__ = ["LETTERS", "parse_einsum"]

LETTERS = string.ascii_letters


def parse_einsum(subscripts: str, ndims: tuple[int, ...]) -> tuple[tuple[str, ...], str]:
    """Subscripts with '...' spelled out in letters and the output made explicit.

    Broadcast dimensions under '...' are right-aligned, as in NumPy; in implicit mode
    the output is the '...' dimensions followed by the letters used once, sorted.
    """
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, out = subscripts.split("->")
    else:
        lhs, out = subscripts, None
    ins = lhs.split(",")
    if len(ins) != len(ndims):
        raise ValueError(
            f"einsum: {len(ins)} operand subscripts in {subscripts!r} for {len(ndims)} operands"
        )
    used = set(subscripts) - set(".,->")
    free = [c for c in LETTERS if c not in used]
    n_ell = []
    for sub, nd in zip(ins, ndims, strict=True):
        if "..." in sub:
            n = nd - (len(sub) - 3)
            if n < 0:
                raise ValueError(f"einsum: operand subscripts {sub!r} have too many indices")
            n_ell.append(n)
        else:
            n_ell.append(0)
    width = max(n_ell, default=0)
    if width > len(free):
        raise ValueError("einsum: too many dimensions under '...'")
    ell = "".join(free[:width])
    ins = tuple(
        sub.replace("...", ell[width - n:]) if "..." in sub else sub
        for sub, n in zip(ins, n_ell, strict=True)
    )
    if out is None:
        counts = {}
        for sub in ins:
            for c in sub:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    elif "..." in out:
        out = out.replace("...", ell)
    elif width and any(n for n in n_ell):
        raise ValueError(
            "output has more dimensions than subscripts given in einstein sum, but no "
            "'...' ellipsis provided to broadcast the extra dimensions."
        )
    for sub, nd in zip(ins, ndims, strict=True):
        if len(sub) != nd:
            raise ValueError(f"einsum: subscripts {sub!r} do not match an operand of {nd} dims")
    return ins, out
