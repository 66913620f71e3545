"""The engine of the sweep of chainrule.nn's layers against torch.nn's (the table is
tests/nn/module_sweep_table.py): each class both expose, made with the same arguments in
each library (PyTorch's default dtype and chainrule's set to float64), PyTorch's
parameters and buffers, drawn at random, loaded into chainrule's by name, then run in
train() and eval() mode on the same inputs. A case agrees when the state_dict keys, their
order, shapes and dtypes, the order of named_parameters and named_buffers and the repr
are equal, and each call either raises in both (chainrule the class PyTorch raises, or a
subclass of the builtin class it derives from) or returns results of one structure with
equal dtypes, shapes and values, leaves equal inputs (in-place layers) and equal buffers
behind (running statistics, num_batches_tracked), and gives equal gradients of a random
weighting of its float results in every float input and every parameter.

``python tests/nn/module_sweep.py`` prints every disagreement of the table."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import torch
from tests.numpy.torch_sweep import _exception_base, _float_leaves, _weighted_sum

import chainrule as cr
from chainrule import nn as cr_nn

RTOL, ATOL = 1e-9, 1e-11


class X(tuple):
    """A float input of this shape, standard normal, differentiated."""

    def __new__(cls, *shape):
        return super().__new__(cls, shape)

    grad = True

    def draw(self, rng):
        return rng.standard_normal(self)


class P(X):
    """A float input in (0.05, 0.95): probabilities."""

    def draw(self, rng):
        return rng.uniform(0.05, 0.95, self)


class Pos(X):
    """A positive float input in (0.5, 2)."""

    def draw(self, rng):
        return rng.uniform(0.5, 2.0, self)


class F32(X):
    """A float32 input of this shape, standard normal, differentiated."""

    def draw(self, rng):
        return rng.standard_normal(self).astype(np.float32)

    def __repr__(self):
        return f"F32{tuple(self)}"


class Sign(X):
    """A float input of ±1, not differentiated (targets)."""

    grad = False

    def draw(self, rng):
        return np.where(rng.random(self) < 0.5, -1.0, 1.0)


class Bit(Sign):
    """A float input of 0 and 1, not differentiated (targets)."""

    def draw(self, rng):
        return (rng.random(self) < 0.5).astype(np.float64)


class Ix:
    """An int64 input of this shape in [low, high)."""

    grad = False

    def __init__(self, shape, high, low=0):
        self.shape, self.high, self.low = shape, high, low

    def draw(self, rng):
        return rng.integers(self.low, self.high, self.shape).astype(np.int64)

    def __repr__(self):
        return f"Ix({self.shape}, {self.high})"


class Arr:
    """This array as an input (differentiated if ``grad``) or a constructor argument."""

    def __init__(self, value, grad=False):
        self.value, self.grad = np.asarray(value), grad

    def draw(self, rng):
        return self.value

    def __repr__(self):
        return f"Arr({self.value.tolist()})"


class M:
    """A layer as a constructor argument: ``M("Linear", 3, 2)`` is each library's."""

    def __init__(self, name, *args, **kwargs):
        self.name, self.args, self.kwargs = name, args, kwargs

    def __repr__(self):
        return f"{self.name}({', '.join([*map(repr, self.args), *(f'{k}={v!r}' for k, v in self.kwargs.items())])})"


class Case:
    """A class of the table: constructor arguments, keyword variants (the first is usually
    ``{}``: the defaults), input sets, bad input sets and bad (args, kwargs) for the
    constructor. ``modal``: its train() and eval() differ, so eval() runs every input set;
    ``random``: its train() mode draws random numbers, so only structure is compared there.
    A variant may be ``(kwargs, inputs)`` where it takes inputs of its own."""

    def __init__(self, name, args=(), variants=({},), inputs=(), bad_inputs=(), bad_args=(), modal=False,
                 random=False, lazy=False):
        self.name, self.args, self.variants, self.inputs = name, args, variants, inputs
        self.bad_inputs, self.bad_args, self.modal, self.random, self.lazy = bad_inputs, bad_args, modal, random, lazy


def _convert(value, lib, rng_state):
    """A table value as ``lib``'s: arrays as Tensors, M as a layer, containers recursively."""
    if isinstance(value, M):
        return _build(lib, value.name, value.args, value.kwargs)
    if isinstance(value, Arr):
        return lib.tensor(value.value)
    if isinstance(value, list):
        return [_convert(v, lib, rng_state) for v in value]
    if isinstance(value, dict):
        return {k: _convert(v, lib, rng_state) for k, v in value.items()}
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(_convert(v, lib, rng_state) for v in value)
    return value


def _build(lib, name, args, kwargs):
    return getattr(lib.nn, name)(*_convert(list(args), lib, None), **_convert(dict(kwargs), lib, None))


def _attempt(fn):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 (the exception class is the result)
            return e


def _failed(x) -> bool:
    return isinstance(x, Exception)


def _why_exceptions(got, want) -> str | None:
    if _failed(want):
        if _failed(got):
            base = _exception_base(type(want))
            return None if isinstance(got, base) else f"raises {type(got).__name__}, torch {type(want).__name__}"
        return f"returns, torch raises {type(want).__name__}: {str(want)[:80]}"
    if _failed(got):
        return f"raises {type(got).__name__}: {str(got)[:80]}, torch returns"
    return None


def _numpy(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.detach().numpy() if isinstance(t, cr.Tensor) else np.asarray(t)


def _dtype(t) -> str:
    return str(t.dtype).replace("torch.", "")


def _same(got, want, path="") -> str | None:
    """Why ``got`` (chainrule's result) differs from ``want`` (PyTorch's), or None."""
    if isinstance(want, torch.Tensor):
        if not isinstance(got, cr.Tensor):
            return f"{path}type {type(got).__name__}, torch Tensor"
        if _dtype(got) != _dtype(want):
            return f"{path}dtype {_dtype(got)} != {_dtype(want)}"
        a, b = _numpy(got), _numpy(want)
        if a.shape != b.shape:
            return f"{path}shape {a.shape} != {b.shape}"
        if a.dtype.kind in "fc":
            ok = np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)
        else:
            ok = np.array_equal(a, b)
        return None if ok else f"{path}values (largest difference {np.nanmax(np.abs(a - b), initial=0):.3g})"
    if isinstance(want, tuple | list):
        fields = getattr(want, "_fields", None)
        if fields is not None and getattr(got, "_fields", None) != fields:
            return f"{path}fields {getattr(got, '_fields', None)} != {fields}"
        if not isinstance(got, tuple | list) or len(got) != len(want):
            return f"{path}{type(got).__name__} of {len(got) if isinstance(got, tuple | list) else '-'}, " \
                   f"torch {type(want).__name__} of {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            why = _same(g, w, f"{path}[{i}] ")
            if why:
                return why
        return None
    if want is None or isinstance(want, bool | int | float | str):
        return None if type(got) is type(want) and got == want else f"{path}{got!r} != {want!r}"
    return None


def _inputs(arrays, grads, lib):
    """(leaves, arguments): the leaves are differentiated; the arguments passed are copies
    of them (in-place layers may change them; what they become is compared)."""
    leaves = [lib.tensor(a, requires_grad=bool(g)) for a, g in zip(arrays, grads, strict=True)]
    args = [t * 1.0 if g else t for t, g in zip(leaves, grads, strict=True)]
    return leaves, args


def _nest(args, structure):
    """Arguments regrouped as the input set's tuples (an LSTM cell's (h, c) state)."""
    it = iter(args)
    return [tuple(next(it) for _ in s) if isinstance(s, tuple) and type(s) is tuple else next(it)
            for s in structure]


def _flat_descriptors(inputs):
    return [d for s in inputs for d in (s if type(s) is tuple else (s,))]


def run(module, lib, arrays, grads, structure):
    """Call ``module`` on the arrays; return what is compared: the result (or the exception),
    then the arguments after the call, the gradients of the leaves and of the parameters, the
    buffers."""
    for p in module.parameters():
        p.grad = None
    leaves, args = _inputs(arrays, grads, lib)
    out = _attempt(lambda: module(*_nest(args, structure)))
    if _failed(out):
        return out, None, None, None, None
    state = {"args": list(args), "grads": None, "params": None}
    if _float_leaves(out):
        backward = _attempt(lambda: _weighted_sum(out, lib).backward())
        if _failed(backward):
            state["grads"] = backward
        else:
            state["grads"] = [leaf.grad if g else None for leaf, g in zip(leaves, grads, strict=True)]
            state["params"] = {k: p.grad for k, p in module.named_parameters()}
    buffers = {k: b for k, b in module.named_buffers()}
    return out, state["args"], state["grads"], state["params"], buffers


def _why_run(got, want, random: bool) -> str | None:
    why = _why_exceptions(got[0], want[0])
    if why or _failed(want[0]):
        return why
    if random:  # values drawn at random: the structure, shapes and dtypes only
        why = _same(_shapes(got[0]), _shapes(want[0]))
        return why and "shapes: " + why
    why = _same(got[0], want[0], "result ")
    if why:
        return why
    why = _same(got[1], want[1], "input after the call ")
    if why:
        return why
    if _failed(want[2]) or _failed(got[2]):
        return _why_exceptions(got[2], want[2]) and "backward " + _why_exceptions(got[2], want[2])
    if want[2] is not None:
        if got[2] is None:
            return "no gradient"
        for i, (g, w) in enumerate(zip(got[2], want[2], strict=True)):
            why = _same(_zero_none(g, w), _zero_none(w, g), f"gradient of input {i} ")
            if why:
                return why
        for k, w in want[3].items():
            g = got[3].get(k)
            why = _same(_zero_none(g, w), _zero_none(w, g), f"gradient of {k} ")
            if why:
                return why
    if sorted(got[4]) != sorted(want[4]):
        return f"buffers {sorted(got[4])} != {sorted(want[4])}"
    for k, w in want[4].items():
        why = _same(got[4][k], w, f"buffer {k} after the call ")
        if why:
            return why
    return None


def _zero_none(t, other):
    """A missing gradient as zeros of the other's shape (PyTorch leaves None where nothing flowed)."""
    if t is not None or other is None:
        return t
    return (cr if isinstance(other, torch.Tensor) else torch).zeros(tuple(other.shape), dtype=_lib_dtype(other))


def _lib_dtype(t):
    return getattr(cr if isinstance(t, torch.Tensor) else torch, _dtype(t))


def _shapes(out):
    if isinstance(out, tuple | list):
        return [_shapes(o) for o in out]
    return (tuple(out.shape), _dtype(out)) if isinstance(out, torch.Tensor | cr.Tensor) else out


def _why_structure(ours, theirs) -> str | None:
    """state_dict keys/order/shapes/dtypes, named_parameters, named_buffers and repr."""
    mine, their = ours.state_dict(), theirs.state_dict()
    if list(mine) != list(their):
        return f"state_dict keys {list(mine)} != {list(their)}"
    for k, w in their.items():
        g = mine[k]
        if tuple(g.shape) != tuple(w.shape) or _dtype(g) != _dtype(w):
            return f"state_dict[{k!r}] {tuple(g.shape)} {_dtype(g)} != {tuple(w.shape)} {_dtype(w)}"
    for what in ("named_parameters", "named_buffers"):
        g = [k for k, _ in getattr(ours, what)()]
        w = [k for k, _ in getattr(theirs, what)()]
        if g != w:
            return f"{what} {g} != {w}"
    if repr(ours) != repr(theirs):
        return f"repr {repr(ours)!r} != {repr(theirs)!r}"
    return None


def _randomise(theirs, rng):
    with torch.no_grad():
        for _, p in theirs.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * 0.5))
        for k, b in theirs.named_buffers():
            if b.is_floating_point():
                draw = rng.uniform(0.5, 1.5, tuple(b.shape)) if "var" in k else rng.standard_normal(tuple(b.shape))
                b.copy_(torch.tensor(draw))


def _load(ours, theirs):
    state = {k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


def _text(args, kwargs):
    return ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])


def _variant(case, variant):
    kwargs, inputs = variant if isinstance(variant, tuple) else (variant, case.inputs)
    return kwargs, inputs


def _pair(case: Case, kwargs: dict):
    """(chainrule's layer, PyTorch's), or the exception each raises."""
    return (_attempt(lambda: _build(cr, case.name, case.args, kwargs)),
            _attempt(lambda: _build(torch, case.name, case.args, kwargs)))


def sweep_case(case: Case, seed=0) -> list[tuple[str, str, str]]:
    """Every disagreement of one table entry: (class name, call, why)."""
    out = []
    rng = np.random.default_rng(seed)
    for variant in case.variants:
        kwargs, inputs = _variant(case, variant)
        label = f"{case.name}({_text(case.args, kwargs)})"
        ours, theirs = _pair(case, kwargs)
        why = _why_exceptions(ours, theirs)
        if why or _failed(theirs):
            out += [(case.name, label, why)] if why else []
            continue
        if case.lazy and inputs:  # PyTorch's shapes come from a first call, chainrule's from its state dict
            plan = [d.draw(np.random.default_rng(0)) for d in _flat_descriptors(inputs[0])]
            theirs.eval()
            _attempt(lambda m=theirs, p=plan, s=inputs[0]: m(*_nest([torch.tensor(a) for a in p], s)))
        _randomise(theirs, rng)
        why = _attempt(lambda o=ours, t=theirs: _load(o, t))
        why = f"load_state_dict raises {type(why).__name__}: {str(why)[:100]}" if _failed(why) else None
        why = why or _why_structure(ours, theirs)
        if why:
            out.append((case.name, label, why))
            continue
        for mode in ("train", "eval"):
            for i, structure in enumerate(inputs):
                if mode == "eval" and i and not case.modal:
                    continue
                descriptors = _flat_descriptors(structure)
                arrays = [d.draw(rng) for d in descriptors]
                grads = [d.grad for d in descriptors]
                results = []
                for module, lib in ((ours, cr), (theirs, torch)):
                    module.train(mode == "train")
                    with warnings.catch_warnings(), np.errstate(all="ignore"):
                        warnings.simplefilter("ignore")
                        results.append(run(module, lib, arrays, grads, structure))
                why = _why_run(*results, random=case.random and mode == "train")
                if why:
                    out.append((case.name, f"{label}.{mode}()({_text(structure, {})})", why))
                _load(ours, theirs)  # the next call starts from equal state
    defaults = _variant(case, case.variants[0])[0]
    for structure in case.bad_inputs:
        descriptors = _flat_descriptors(structure)
        arrays = [d.draw(rng) for d in descriptors]
        results = [run(_build(lib, case.name, case.args, defaults), lib, arrays, [d.grad for d in descriptors],
                       structure)[0] for lib in (cr, torch)]
        why = _why_exceptions(*results)
        if why or not _failed(results[1]):
            out.append((case.name, f"{case.name}({_text(case.args, defaults)})({_text(structure, {})})",
                        why or "bad input: both return"))
    for args, kwargs in case.bad_args:
        first = [d.draw(rng) for d in _flat_descriptors(case.inputs[0])] if case.inputs else []
        results = []
        for lib in (cr, torch):
            module = _attempt(lambda lib=lib, a=args, k=kwargs: _build(lib, case.name, a, k))
            if not _failed(module) and case.inputs:
                module = _attempt(lambda m=module, lib=lib, f=first: m(*_nest([lib.tensor(a) for a in f],
                                                                             case.inputs[0])))
            results.append(module)
        why = _why_exceptions(*results)
        if why or not _failed(results[1]):
            out.append((case.name, f"{case.name}({_text(args, kwargs)})", why or "bad arguments: both accept"))
    return out


def sweep(cases) -> list[tuple[str, str, str]]:
    """Every disagreement of the cases, with both libraries' default dtype float64."""
    before_t, before_c = torch.get_default_dtype(), cr.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    cr.set_default_dtype(cr.float64)
    try:
        found = []
        for i, case in enumerate(cases):
            found += sweep_case(case, seed=i)
        return found
    finally:
        torch.set_default_dtype(before_t)
        cr.set_default_dtype(before_c)


def sweep_default_dtypes(cases) -> list[tuple[str, str, str]]:
    """Every disagreement of the state_dict, parameters, buffers and repr of the layers made
    with their defaults and the libraries' default dtypes (float32), before any call."""
    found = []
    for case in cases:
        kwargs = _variant(case, case.variants[0])[0]
        ours, theirs = _pair(case, kwargs)
        why = _why_exceptions(ours, theirs) or (None if _failed(theirs) else _why_structure(ours, theirs))
        if why:
            found.append((case.name, f"{case.name}({_text(case.args, kwargs)}) in float32", why))
    return found


def common_classes() -> set[str]:
    """Every Module class both torch.nn and chainrule.nn expose."""
    def classes(ns, base):
        return {k for k in dir(ns) if inspect.isclass(getattr(ns, k)) and issubclass(getattr(ns, k), base)}
    return classes(torch.nn, torch.nn.Module) & classes(cr_nn, cr_nn.Module)


if __name__ == "__main__":
    import sys

    from tests.nn import module_sweep
    from tests.nn.module_sweep_table import CASES

    torch.set_num_threads(1)
    chosen = [c for c in CASES if len(sys.argv) < 2 or c.name in sys.argv[1:]]
    for row in module_sweep.sweep(chosen):
        print(" | ".join(row))
