"""``ctc_loss``, PyTorch's connectionist temporal classification loss (Graves et al.,
2006): the negative log-probability of each target sequence summed over every alignment
of it to the input frames (blanks between and around the labels, a label repeated only
across a blank), by the forward (α) recursion in log space over the T frames, each step
vectorised over the batch and the 2S + 1 extended-label states.

The gradient is PyTorch's: of the log-probabilities ``lp``, exp(lp) − exp(log Σ α·β − lp + nll)
(the derivative through a ``log_softmax`` in front of the loss, where the first term
cancels; on log-probabilities that do not sum to one, PyTorch's value, not the plain
derivative), zero past each input's length; infinite losses (no alignment fits) and their
gradients are zeroed with ``zero_infinity``.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import TensorError
from chainrule.core.values import plain
from chainrule.transforms.custom import custom_vjp

__all__ = ["ctc_loss"]


def _lengths(lengths, n: int, name: str) -> np.ndarray:
    out = np.asarray(plain(lengths)).reshape(-1).astype(np.int64)
    if out.shape != (n,):
        raise RuntimeError(f"{name} must be of size batch_size")
    return out


def _shift(a, k: int):
    """``a`` moved ``k`` states along the last axis (right for k > 0), −inf let in."""
    out = np.full_like(a, -np.inf)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


def _logsumexp3(a, b, c):
    m = np.maximum(np.maximum(a, b), c)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - safe) + np.exp(b - safe) + np.exp(c - safe)) + safe


class _Alignment:
    """The extended labels of a batch and their α recursion."""

    def __init__(self, lp, targets, in_len, tgt_len, blank):
        self.t, self.n, self.c = lp.shape
        self.in_len, self.tgt_len, self.blank = in_len, tgt_len, blank
        s = int(tgt_len.max()) if tgt_len.size else 0
        ext = np.full((self.n, 2 * s + 1), blank, dtype=np.int64)
        ext[:, 1::2] = targets[:, :s] if s else ext[:, 1::2]
        self.ext, self.ext_len = ext, 2 * tgt_len + 1
        states = np.arange(2 * s + 1)
        self.valid = states < self.ext_len[:, None]
        prev2 = np.concatenate([np.full((self.n, 2), -1), ext[:, :-2]], axis=1)[:, :2 * s + 1]
        self.skip = (states >= 2) & (ext != blank) & (ext != prev2)  # s−2 → s allowed
        self.lpe = np.take_along_axis(lp, ext[None], axis=2)  # (T, N, 2S+1)

    def alpha(self):
        a = np.full(self.lpe.shape, -np.inf, dtype=self.lpe.dtype)
        a[0, :, 0] = self.lpe[0, :, 0]
        a[0, :, 1:2] = np.where(self.ext_len[:, None] > 1, self.lpe[0, :, 1:2], -np.inf)
        for t in range(1, self.t):
            prev = a[t - 1]
            step = _logsumexp3(prev, _shift(prev, 1), np.where(self.skip, _shift(prev, 2), -np.inf)) + self.lpe[t]
            a[t] = np.where(self.valid, step, -np.inf)
        rows = np.arange(self.n)
        last = a[np.maximum(self.in_len - 1, 0), rows]
        end = last[rows, self.ext_len - 1]
        before = np.where(self.ext_len > 1, last[rows, np.maximum(self.ext_len - 2, 0)], -np.inf)
        return a, -np.logaddexp(end, before)

    def beta(self):
        b = np.full(self.lpe.shape, -np.inf, dtype=self.lpe.dtype)
        skip_next = _shift(self.skip.astype(float), -2) > 0  # s → s+2 allowed
        end = self.ext_len[:, None] - 1
        states = np.arange(self.lpe.shape[2])
        final = (states == end) | (states == end - 1)
        nxt = np.full(self.lpe.shape[1:], -np.inf, dtype=self.lpe.dtype)
        for t in range(self.t - 1, -1, -1):
            step = _logsumexp3(nxt, _shift(nxt, -1), np.where(skip_next, _shift(nxt, -2), -np.inf)) + self.lpe[t]
            here = np.where((t == self.in_len - 1)[:, None], np.where(final, self.lpe[t], -np.inf),
                            np.where((t < self.in_len - 1)[:, None], step, -np.inf))
            b[t] = nxt = np.where(self.valid, here, -np.inf)
        return b


def _ctc_gradient(lp, al: _Alignment, alpha, nll, zero_infinity: bool):
    ab = alpha + al.beta()
    lcab = np.full(lp.shape, -np.inf, dtype=lp.dtype)
    rows = np.arange(al.n)
    for s in range(al.ext.shape[1]):
        idx = al.ext[:, s]
        lcab[:, rows, idx] = np.logaddexp(lcab[:, rows, idx], ab[:, :, s])
    with np.errstate(invalid="ignore", over="ignore"):
        grad = np.exp(lp) - np.exp(lcab + nll[None, :, None] - lp)
    grad[np.arange(al.t)[:, None] >= al.in_len[None, :]] = 0.0
    if zero_infinity:
        grad[:, np.isinf(nll)] = 0.0
    return grad


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False):
    """The CTC loss of ``log_probs`` (T, N, C) (or (T, C), one sequence), log-probabilities
    over C classes of which ``blank`` is the blank, against ``targets``: (N, S) padded or
    the batch's sequences concatenated (1-d), with ``input_lengths`` and
    ``target_lengths`` (N,). ``reduction='mean'`` divides each loss by its target length
    before the batch mean, as PyTorch's.

    >>> import numpy as np
    >>> lp = np.log(np.full((2, 1, 2), 0.5))   # two frames, a blank and one label
    >>> round(float(ctc_loss(lp, np.array([[1]]), [2], [1], reduction="sum")), 6)  # 3 alignments of 4
    0.287682
    """
    if reduction not in ("mean", "sum", "none"):
        raise TensorError(f"{reduction} is not a valid value for reduction")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = cnp.reshape(log_probs, (log_probs.shape[0], 1, log_probs.shape[1]))
    if log_probs.ndim != 3:
        raise RuntimeError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape {tuple(log_probs.shape)}")
    t_max, n, c = log_probs.shape
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    in_len = _lengths(input_lengths, n, "input_lengths")
    tgt_len = _lengths(target_lengths, n, "target_lengths")
    tg = np.asarray(plain(targets)).astype(np.int64)
    if unbatched:
        tg = tg.reshape(1, -1)
    if in_len.size and in_len.max() > t_max:
        raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got value {in_len.max()} "
                           "(while checking arguments for ctc_loss)")
    if tg.ndim == 1:  # the sequences concatenated
        if tg.size < tgt_len.sum():
            raise RuntimeError(f"Expected tensor to have size at least {tgt_len.sum()} at dimension 0, but got "
                               f"size {tg.size} for argument #2 'targets' (while checking arguments for ctc_loss)")
        s = int(tgt_len.max()) if n else 0
        padded = np.full((n, s), blank, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(tgt_len)[:-1]])
        for i in range(n):
            padded[i, :tgt_len[i]] = tg[starts[i]:starts[i] + tgt_len[i]]
        tg = padded
    elif tgt_len.size and tgt_len.max() > tg.shape[1]:
        raise RuntimeError(f"Expected tensor to have size at least {tgt_len.max()} at dimension 1, but got size "
                           f"{tg.shape[1]} for argument #2 'targets' (while checking arguments for ctc_loss)")
    # the labels past each target's length are padding, never read (any value, as in PyTorch)
    within = np.arange(tg.shape[1])[None, :] < tgt_len[:, None]
    tg = np.where(within, tg, blank)
    if tg.size and (tg.min() < 0 or tg.max() >= c):
        bad = int(tg.min()) if tg.min() < 0 else int(tg.max())
        raise RuntimeError(f"ctc_loss: target label {bad} is out of range for {c} classes (0 to {c - 1}); labels "
                           f"past a target's length are padding and may hold any value")

    def forward(lp):
        lp = np.asarray(plain(lp))
        al = _Alignment(lp, tg, in_len, tgt_len, blank)
        alpha, nll = al.alpha()
        out = np.where(np.isinf(nll), 0.0, nll).astype(lp.dtype) if zero_infinity else nll.astype(lp.dtype)
        return out, (lp, al, alpha, nll)

    @custom_vjp
    def nll_of(lp):
        return forward(lp)[0]

    nll_of.defvjp(forward, lambda res, g: (
        (_ctc_gradient(res[0], res[1], res[2], res[3], zero_infinity) * np.asarray(plain(g))[None, :, None])
        .astype(res[0].dtype),))
    loss = nll_of(log_probs)
    if reduction == "mean":
        return cnp.mean(loss / np.maximum(tgt_len, 1).astype(loss.dtype))
    if reduction == "sum":
        return cnp.sum(loss)
    return cnp.reshape(loss, ()) if unbatched else loss


