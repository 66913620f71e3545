"""``F.ctc_loss`` / ``nn.CTCLoss`` against PyTorch in float64: values and the gradient of
the log-probabilities (PyTorch's, also for inputs that are not normalised), padded and
concatenated targets, repeated labels, lengths shorter than the input, an impossible
alignment (inf, and nan gradients, or zeros with ``zero_infinity``), empty targets, an
unbatched call, forward mode, and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

TOL = dict(rtol=1e-10, atol=1e-12)


def _both(lp, targets, il, tl, ours_fn, theirs_fn, seed=1):
    a = cr.tensor(lp, requires_grad=True)
    b = torch.tensor(lp, requires_grad=True)
    out_o = ours_fn(a, targets, il, tl)
    out_t = theirs_fn(b, torch.tensor(targets), torch.tensor(il), torch.tensor(tl))
    w = np.random.default_rng(seed).standard_normal(tuple(out_t.shape))
    (out_o * w).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), equal_nan=True, **TOL)


CASES = {  # targets, input lengths, target lengths
    "padded": (np.array([[1, 1, 2], [3, 4, 0], [2, 0, 0]]), [6, 5, 4], [3, 2, 1]),
    "concatenated": (np.array([1, 1, 2, 3, 4, 2]), [6, 5, 4], [3, 2, 1]),
    "impossible": (np.array([[1, 1, 1], [3, 4, 0], [2, 0, 0]]), [2, 5, 4], [3, 2, 1]),
    "empty_target": (np.array([[1, 2], [3, 4], [2, 0]]), [6, 6, 3], [2, 2, 0]),
    # a batch of silences (every target empty), padded or concatenated
    "all_empty": (np.array([[1, 2], [3, 4], [2, 0]]), [6, 4, 3], [0, 0, 0]),
    "all_empty_concatenated": (np.zeros(0, dtype=np.int64), [6, 4, 3], [0, 0, 0]),
    # padding past the target lengths of any value, never read: a pad id of the vocabulary's size, -1
    "padded_with_out_of_range_ids": (np.array([[1, 1, 2], [3, 5, 5], [2, -1, -1]]), [6, 5, 4], [3, 1, 1]),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_ctc_loss_values_and_gradients_as_torch(case, reduction):
    x = np.random.default_rng(0).standard_normal((6, 3, 5))
    targets, il, tl = CASES[case]
    il, tl = np.array(il), np.array(tl)
    # the layer on log-probabilities, the function on scores that are not normalised
    if case != "impossible" or reduction == "none":  # else a nan gradient everywhere
        _both(x - np.log(np.exp(x).sum(2, keepdims=True)), targets, il, tl,
              lambda *a: nn.CTCLoss(0, reduction)(*a), lambda *a: torch.nn.CTCLoss(0, reduction)(*a))
    _both(x, targets, il, tl, lambda *a: F.ctc_loss(*a, blank=0, reduction=reduction, zero_infinity=True),
          lambda *a: torch.nn.functional.ctc_loss(*a, blank=0, reduction=reduction, zero_infinity=True))


def test_ctc_loss_unbatched_other_blank_and_errors_as_torch():
    x = np.random.default_rng(2).standard_normal((7, 4))
    lp = x - np.log(np.exp(x).sum(1, keepdims=True))
    for reduction in ("none", "mean"):
        _both(lp, np.array([0, 1, 1]), np.array(7), np.array(3),
              lambda *a, r=reduction: F.ctc_loss(*a, blank=3, reduction=r),
              lambda *a, r=reduction: torch.nn.functional.ctc_loss(*a, blank=3, reduction=r))
    lp3 = lp[:, None, :]
    for kwargs, their_kwargs in [
        (dict(input_lengths=[8], target_lengths=[3]), dict(input_lengths=(8,), target_lengths=(3,))),
        (dict(input_lengths=[7], target_lengths=[4]), dict(input_lengths=(7,), target_lengths=(4,))),
        (dict(input_lengths=[7, 7], target_lengths=[3]), dict(input_lengths=(7, 7), target_lengths=(3,))),
        (dict(input_lengths=[7], target_lengths=[3], blank=4), dict(input_lengths=(7,), target_lengths=(3,), blank=4)),
    ]:
        with pytest.raises(RuntimeError) as theirs:
            torch.nn.functional.ctc_loss(torch.tensor(lp3), torch.tensor([[0, 1, 1]]), **their_kwargs)
        with pytest.raises(RuntimeError) as ours:
            F.ctc_loss(lp3, np.array([[0, 1, 1]]), **kwargs)
        assert str(ours.value).split(" (while")[0] == str(theirs.value).split(" (while")[0]


def test_a_target_label_out_of_range_is_refused_by_name():
    # PyTorch reads past the log-probabilities' class axis (undefined); chainrule says what is wrong
    with pytest.raises(RuntimeError, match="target label 9 is out of range for 6 classes"):
        F.ctc_loss(np.zeros((4, 1, 6)), np.array([[2, 9]]), [4], [2])
    with pytest.raises(RuntimeError, match="target label -2 is out of range"):
        F.ctc_loss(np.zeros((4, 2, 6)), np.array([1, -2, 3]), [4, 4], [1, 2])
    with pytest.raises(RuntimeError, match="target label 9 is out of range for 6 classes"):  # in one example
        cr.vmap(lambda t: F.ctc_loss(np.zeros((4, 1, 6)), t, [4], [2]))(np.array([[[2, 3]], [[2, 9]]]))
    with pytest.raises(RuntimeError, match="input_lengths to have value at most 4, but got value 5"):
        cr.vmap(lambda il: F.ctc_loss(np.zeros((4, 1, 6)), np.array([[2, 3]]), il, [2]))(np.array([[4], [5]]))


def _example(case: str, order):
    """CASES[case] with its sequences in another ``order`` (the concatenated targets too)."""
    targets, il, tl = CASES[case]
    il, tl = np.array(il)[order], np.array(tl)[order]
    if targets.ndim == 2:
        return targets[order], il, tl
    pieces = np.split(targets, np.cumsum(CASES[case][2])[:-1])
    return np.concatenate([pieces[k] for k in order]), il, tl


@pytest.mark.parametrize("case", ["padded", "concatenated", "impossible", "empty_target"])
@pytest.mark.parametrize("in_axes", [(0, 0, 0, 0), (0, None, None, None), (None, 0, 0, 0)])
def test_ctc_loss_under_vmap_is_the_loop_with_torch_s_gradients(case, in_axes):
    """Examples of a vmap, each a batch of sequences with its own targets and lengths (which
    raised BatchedValueError): the losses of the stacked loop, the per-example gradients
    torch's (torch.func.vmap itself refuses lengths that differ between the examples)."""
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((3, 6, 3, 5))
    labels = [np.stack(a) for a in zip(*(_example(case, o) for o in ([0, 1, 2], [2, 0, 1], [1, 2, 0])), strict=True)]
    args = [a if d == 0 else a[0] for a, d in zip((xs, *labels), in_axes, strict=True)]
    examples = [[a[b] if d == 0 else a for a, d in zip(args, in_axes, strict=True)] for b in range(3)]

    def ours(x, t, il, tl):
        return F.ctc_loss(F.log_softmax(x, -1), t, il, tl, reduction="mean", zero_infinity=True)

    def theirs(x, t, il, tl):
        return torch.nn.functional.ctc_loss(x.log_softmax(-1), t, il, tl, reduction="mean", zero_infinity=True)

    want = [theirs(*map(torch.tensor, e)) for e in examples]
    np.testing.assert_allclose(cr.vmap(ours, in_axes)(*args), np.stack([ours(*e) for e in examples]), rtol=1e-13)
    np.testing.assert_allclose(cr.vmap(ours, in_axes)(*args), torch.stack(want).numpy(), **TOL)
    slopes = np.stack([torch.func.grad(theirs)(*map(torch.tensor, e)).numpy() for e in examples])
    np.testing.assert_allclose(cr.vmap(cr.grad(ours), in_axes)(*args), slopes, **TOL)
    np.testing.assert_allclose(cr.jit(cr.vmap(cr.grad(ours), in_axes))(*args), slopes, **TOL)


def test_ctc_loss_differentiates_in_forward_mode():
    """jvp and jacfwd (forward mode had no rule): the directional derivative of the losses is
    central differences', the Jacobian torch's, per example under vmap too."""
    rng = np.random.default_rng(5)
    x, v = rng.standard_normal((2, 6, 3, 5))
    targets, il, tl = CASES["padded"]

    def losses(a):
        return F.ctc_loss(F.log_softmax(a, -1), targets, il, tl, reduction="none")

    h = 1e-6
    np.testing.assert_allclose(cr.jvp(losses, (x,), (v,))[1], (losses(x + h * v) - losses(x - h * v)) / (2 * h),
                               rtol=1e-7, atol=1e-9)

    def theirs(a):
        return torch.nn.functional.ctc_loss(a.log_softmax(-1), torch.tensor(targets), torch.tensor(il),
                                            torch.tensor(tl), reduction="none")

    xs = np.stack([x, v])
    want = np.stack([torch.autograd.functional.jacobian(theirs, torch.tensor(a)).numpy() for a in xs])
    np.testing.assert_allclose(cr.jacfwd(losses)(x), want[0], **TOL)
    np.testing.assert_allclose(cr.vmap(cr.jacfwd(losses))(xs), want, **TOL)
