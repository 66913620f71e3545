"""The forward trace: computes each output's tangent at once from the jvp rules."""

from __future__ import annotations

from chainrule.core.backward import derive_jvp
from chainrule.core.composite import NO_TANGENT
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tensor import BOX_TYPES, NO_KWARGS, Tensor
from chainrule.core.trace_protocol import (
    Trace,
    _levels,
    keyword_tensor,
    own_leaves,
    returned_call,
    same_tuple_type,
    unbox_own,
)
from chainrule.core.values import in_dtype_of, zeros_like
from chainrule.core.views import note_transform_view

__all__ = ["ForwardTrace"]


class ForwardTrace(Trace):
    """Pushes tangents forward through each primitive call (forward mode)."""

    __slots__ = ("level", "name", "open")

    def __init__(self, name: str = "jvp"):
        self.level = next(_levels)
        self.name = name
        self.open = True

    def new_tensor(self, value, tangent) -> Tensor:
        t = BOX_TYPES.get(type(value), Tensor)(value, self)
        t._tangent = tangent
        return t

    def process(self, prim, args, kwargs):
        if not self.open:
            return returned_call(self, prim, args, kwargs)
        vals, own, lower = unbox_own(self, args)
        tangents = [(i, args[i]._tangent) for i, mine in enumerate(own) if mine]
        ans = prim(*vals, **kwargs) if lower or keyword_tensor(kwargs) else prim.fun(*vals, **kwargs)
        if prim.joint_jvp is not None:
            per_arg = [None] * len(args)
            for i, t in tangents:
                per_arg[i] = t
            return self.new_tensor(ans, in_dtype_of(prim.joint_jvp(per_arg, ans, *vals, **kwargs), ans))
        jvps = prim.jvps
        out = None
        for i, t in tangents:
            try:
                rule = jvps[i]
            except KeyError:
                rule = derive_jvp(prim, i)
            if rule is None:
                continue
            ti = rule(t, ans, *vals, **kwargs)
            if out is None:
                out = ti
            elif prim.multiple_outputs:
                out = tuple(a + b for a, b in zip(out, ti, strict=True))
            else:
                out = out + ti
        if prim.multiple_outputs:
            if out is None:
                out = tuple(zeros_like(v) for v in ans)
            outs = [self.new_tensor(v, t) for v, t in zip(ans, out, strict=True)]
            return same_tuple_type(ans, outs)
        if out is None:
            out = zeros_like(ans)
        else:  # (NumPy's promotion inside a rule, x32 ** mask, widens it: the primal's dtype)
            out = in_dtype_of(out, ans)
        out = self.new_tensor(ans, out)
        if prim.makes_view and isinstance(args[0], Tensor):
            note_transform_view(args[0], out, prim, tuple(args[1:]), kwargs)
        return out

    def composite(self, prim, args):
        if not self.open:
            return returned_call(self, prim, args, NO_KWARGS)
        leaves, values, own, in_tree = own_leaves(self, args)
        tangents = [None] * len(leaves)
        for i in own:
            tangents[i] = leaves[i]._tangent
        made = prim.tangent(values, tangents, in_tree)
        if made is None:
            return prim.fun(*args)
        out, out_tangent = made
        out_leaves, out_tree = tree_flatten(out)
        tangent_leaves = tree_flatten(out_tangent)[0]
        boxed = [  # (an output without a tangent stays unperturbed)
            v if t is NO_TANGENT else self.new_tensor(v, zeros_like(v) if t is None else t)
            for v, t in zip(out_leaves, tangent_leaves, strict=True)
        ]
        return tree_unflatten(out_tree, boxed)

    def close(self) -> None:
        self.open = False
