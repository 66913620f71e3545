"""Shared by the PyTorch-parity tests of layers: same weights, same inputs, compare the
outputs, the input gradients and every parameter gradient."""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr

TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}


def copy_weights(ours, theirs) -> None:
    """Load our state dict into the torch module, after checking that both have the same
    keys and shapes (the promise that lets weights move through safetensors files)."""
    mine = {k: v.numpy() for k, v in ours.state_dict().items()}
    their = theirs.state_dict()
    assert sorted(mine) == sorted(their), (sorted(mine), sorted(their))
    for k, v in mine.items():
        assert tuple(v.shape) == tuple(their[k].shape), k
    theirs.load_state_dict({k: torch.tensor(v) for k, v in mine.items()})


def _flat(out):
    if out is None:
        return []
    if isinstance(out, tuple | list):
        return [a for o in out for a in _flat(o)]
    return [out]


def _np(a):
    if isinstance(a, torch.Tensor):
        return a.detach().numpy()
    return a.detach().numpy() if isinstance(a, cr.Tensor) else np.asarray(a)


def compare(ours, theirs, inputs, dtype=np.float64, kwargs=None, torch_kwargs=None, seed=0, grad_inputs=None):
    """Run both modules on ``inputs`` (arrays; float ones get gradients), backpropagate
    the same random weighting of every output, and compare everything."""
    kwargs = kwargs or {}
    torch_kwargs = kwargs if torch_kwargs is None else torch_kwargs
    rng = np.random.default_rng(seed)
    if grad_inputs is None:
        grad_inputs = [isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in inputs]
    ours_in = [cr.tensor(a, requires_grad=True) if g else a for a, g in zip(inputs, grad_inputs, strict=True)]
    theirs_in = [torch.tensor(a).requires_grad_(bool(g)) if isinstance(a, np.ndarray) else a
                 for a, g in zip(inputs, grad_inputs, strict=True)]
    out_ours = _flat(ours(*ours_in, **kwargs))
    out_theirs = _flat(theirs(*theirs_in, **torch_kwargs))
    assert len(out_ours) == len(out_theirs)
    tol = TOL[dtype]
    loss_o, loss_t = 0.0, 0.0
    for a, b in zip(out_ours, out_theirs, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(_np(a), _np(b), **tol)
        w = rng.standard_normal(tuple(b.shape)).astype(dtype)
        loss_o = loss_o + (a * w).sum()
        loss_t = loss_t + (b * torch.tensor(w)).sum()
    loss_o.backward()
    loss_t.backward()
    for a, b, g in zip(ours_in, theirs_in, grad_inputs, strict=True):
        if g:
            np.testing.assert_allclose(_np(a.grad), _np(b.grad), **tol)
    theirs_params = dict(theirs.named_parameters())
    ours_params = dict(ours.named_parameters())
    assert sorted(ours_params) == sorted(theirs_params)
    for name, p in ours_params.items():
        tp = theirs_params[name]
        if tp.grad is None:
            assert p.grad is None or not np.any(_np(p.grad)), name
            continue
        assert p.grad is not None, name
        assert p.grad.dtype == dtype, name
        np.testing.assert_allclose(_np(p.grad), _np(tp.grad), err_msg=name, **tol)
    return out_ours, out_theirs


def load_from_torch(ours, theirs) -> None:
    """Load the torch module's state dict, converted to NumPy arrays, into ours by name
    (the direction a user takes weights in), after checking that the keys and shapes agree."""
    their = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    mine = ours.state_dict()
    assert sorted(mine) == sorted(their), (sorted(mine), sorted(their))
    for k, v in mine.items():
        assert tuple(v.shape) == tuple(their[k].shape), k
    ours.load_state_dict(their)


class Call:
    """Wrap a module (ours or torch's) so that ``forward(*arrays)`` calls it as
    ``build(inner, *arrays)``: how the parity tests pass states pairs and keyword masks."""

    @staticmethod
    def wrap(base, inner, build):
        class Wrapped(base):
            def __init__(self):
                super().__init__()
                self.inner = inner

            def forward(self, *args):
                return build(self.inner, *args)

        return Wrapped()
