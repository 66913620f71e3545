"""Comparing a chainrule function with PyTorch's of the same name: the values, dtypes,
shapes and named-tuple fields of the results, and the gradients of a weighted sum of
them (``.backward()`` on both sides)."""

import numpy as np
import torch

import chainrule as cr


def leaves(out):
    return list(out) if isinstance(out, tuple | list) else [out]


def as_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().resolve_conj().numpy()
    return np.asarray(value.detach() if isinstance(value, cr.Tensor) else value)


def check_values(ours, theirs, rtol=1e-7, atol=1e-9):
    # PyTorch's torch.return_types name their fields in __match_args__
    assert getattr(ours, "_fields", None) == getattr(theirs, "__match_args__", None)
    if isinstance(theirs, tuple | list):
        assert isinstance(ours, tuple | list) and len(ours) == len(theirs)
    for a, b in zip(leaves(ours), leaves(theirs), strict=True):
        assert isinstance(a, cr.Tensor), type(a)
        a, b = as_numpy(a), as_numpy(b)
        assert a.shape == b.shape, (a.shape, b.shape)
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def weighted_sum(outs, weights, module):
    total = 0.0
    for out, w in zip(outs, weights, strict=True):
        if w is None:
            continue
        if w.ndim > out.ndim:  # a complex result: weights for its real and imaginary parts
            total = total + (out.real * module.tensor(w[..., 0]) + out.imag * module.tensor(w[..., 1])).sum()
        else:
            total = total + (out * module.tensor(w)).sum()
    return total


def compare(our_fn, torch_fn, arrays, *, loss=None, grad=True, rtol=1e-7, atol=1e-9, seed=0):
    """Run both on float64 copies of ``arrays``, compare results, then the gradients of
    ``loss(out, module)`` (default: the results times fixed random weights, summed)."""
    ours_in = [cr.tensor(a, requires_grad=grad and np.asarray(a).dtype.kind in "fc") for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=grad and np.asarray(a).dtype.kind in "fc") for a in arrays]
    ours, theirs = our_fn(*ours_in), torch_fn(*theirs_in)
    if loss is None:
        check_values(ours, theirs, rtol, atol)
    if not grad:
        return ours, theirs
    if loss is None:
        rng = np.random.default_rng(seed)
        weights = [rng.normal(size=tuple(t.shape) + ((2,) if t.dtype.is_complex else ()))
                   if (t.dtype.is_floating_point or t.dtype.is_complex) and t.requires_grad else None
                   for t in leaves(theirs)]
        our_loss, their_loss = weighted_sum(leaves(ours), weights, cr), weighted_sum(leaves(theirs), weights, torch)
    else:
        our_loss, their_loss = loss(ours, cr), loss(theirs, torch)
    if not isinstance(their_loss, torch.Tensor):
        return ours, theirs  # no differentiable result
    np.testing.assert_allclose(as_numpy(our_loss), as_numpy(their_loss), rtol=rtol, atol=atol)
    our_loss.backward()
    their_loss.backward()
    for a, b in zip(ours_in, theirs_in, strict=True):
        if b.requires_grad:
            # (a complex input's: dL/dx + i dL/dy in both, the eager layer giving PyTorch's
            # convention, the conjugate of chainrule.grad's)
            expected = np.zeros(b.shape) if b.grad is None else b.grad.resolve_conj().numpy(force=True)
            got = np.zeros(b.shape) if a.grad is None else as_numpy(a.grad)
            np.testing.assert_allclose(got, expected, rtol=rtol * 100, atol=atol * 100)
    return ours, theirs


def single(a):
    a = np.asarray(a)
    return a.astype(np.complex64 if a.dtype.kind == "c" else np.float32 if a.dtype.kind == "f" else a.dtype)


def check_float32(our_fn, torch_fn, arrays):
    """float32 inputs give results of PyTorch's dtypes (float32 stays float32)."""
    ours = our_fn(*[cr.tensor(single(a)) for a in arrays])
    theirs = torch_fn(*[torch.tensor(single(a)) for a in arrays])
    for a, b in zip(leaves(ours), leaves(theirs), strict=True):
        assert as_numpy(a).dtype == as_numpy(b).dtype, (as_numpy(a).dtype, as_numpy(b).dtype)
        assert tuple(a.shape) == tuple(b.shape)
