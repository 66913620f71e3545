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

The recursion is one primitive, ``ctc_forward`` (the losses and α), its gradient another,
``ctc_gradient``, which gives the derivative in both modes (``jvp`` and ``jacfwd`` too);
under ``vmap`` the examples' sequences are more sequences of the batch (N), so a batch of
examples is one recursion, whose targets and lengths may differ between the examples.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import TensorError
from chainrule.core.primitive import Primitive, def_batch, def_joint_vjp, def_jvps
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain
from chainrule.nn._ops import merge_batch, split_batch
from chainrule.numpy import batching
from chainrule.numpy.nondiff import every, whole_batch

__all__ = ["ctc_loss"]


def _labels(v):
    """Integer arguments (targets, lengths) as int64, a batch of vmap kept as one."""
    v = undifferentiated(v)
    return cnp.astype(v, np.int64) if isinstance(v, Tensor) else np.asarray(v).astype(np.int64)


def _values(v) -> np.ndarray:
    """Every example's values of ``v`` (under vmap, the whole batch), for checks and sizes."""
    return np.asarray(plain(whole_batch(v)))


def _lengths(lengths, n: int, name: str):
    out = cnp.reshape(_labels(lengths), (-1,))
    if tuple(out.shape) != (n,):
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
    """The extended labels of a batch and their α recursion; ``targets`` (N, S) padded
    (S, not the lengths, sets the number of states: the same for every example of a vmap)."""

    def __init__(self, lp, targets, in_len, tgt_len, blank):
        self.t, self.n, self.c = lp.shape
        self.in_len, self.tgt_len, self.blank = in_len, tgt_len, blank
        s = targets.shape[1]
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
        return a

    def nll(self, a):
        """Each sequence's loss from its α: −log of the paths that end in the last label or
        the blank after it at its last frame."""
        rows = np.arange(self.n)
        last = a[np.maximum(self.in_len - 1, 0), rows]
        end = last[rows, self.ext_len - 1]
        before = np.where(self.ext_len > 1, last[rows, np.maximum(self.ext_len - 2, 0)], -np.inf)
        return -np.logaddexp(end, before)

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


def _forward(lp, targets, in_len, tgt_len, blank: int = 0, zero_infinity: bool = False):
    al = _Alignment(lp, targets, in_len, tgt_len, blank)
    alpha = al.alpha()
    nll = al.nll(alpha)
    return (np.where(np.isinf(nll), 0.0, nll) if zero_infinity else nll).astype(lp.dtype), alpha


def _gradient(lp, targets, in_len, tgt_len, alpha, blank: int = 0, zero_infinity: bool = False):
    al = _Alignment(lp, targets, in_len, tgt_len, blank)
    nll = al.nll(alpha)
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
    return grad.astype(lp.dtype, copy=False)


ctc_forward = Primitive(_forward, name="ctc_forward", multiple_outputs=True)
"""ctc_forward(lp (T, N, C), targets (N, S) padded, input_lengths (N,), target_lengths (N,),
blank=0, zero_infinity=False) -> (losses (N,), α (T, N, 2S + 1))."""
ctc_gradient = Primitive(_gradient, name="ctc_gradient")
"""ctc_gradient(lp, targets, input_lengths, target_lengths, α, blank, zero_infinity): the
gradient (T, N, C) of the losses' sum with respect to ``lp`` (PyTorch's; see above)."""


def _forward_vjp(g, ans, argnums, lp, targets, in_len, tgt_len, blank=0, zero_infinity=False):
    # α is the backward pass's residual, no result of the loss: it takes no cotangent
    if g[0] is None:
        return None, None, None, None
    grad = ctc_gradient(lp, targets, in_len, tgt_len, ans[1], blank=blank, zero_infinity=zero_infinity)
    return grad * cnp.reshape(g[0], (1, -1, 1)), None, None, None


def _forward_jvp(t, ans, lp, targets, in_len, tgt_len, blank=0, zero_infinity=False):
    grad = ctc_gradient(lp, targets, in_len, tgt_len, ans[1], blank=blank, zero_infinity=zero_infinity)
    return cnp.sum(grad * t, axis=(0, 2)), cnp.zeros_like(ans[1])  # (α, again, takes none)


def_joint_vjp(ctc_forward, _forward_vjp)
def_jvps(ctc_forward, _forward_jvp)


# -- batching for vmap: the examples' sequences are more sequences of the batch ---------------
def _batch_forward(prim, batched, lp, targets, in_len, tgt_len, **kwargs):
    size = batching.batch_size((lp, targets, in_len, tgt_len), batched)
    losses, alpha = prim(merge_batch(lp, batched[0], size, 1), merge_batch(targets, batched[1], size),
                         merge_batch(in_len, batched[2], size), merge_batch(tgt_len, batched[3], size), **kwargs)
    return split_batch(losses, size), split_batch(alpha, size, 1)


def _batch_gradient(prim, batched, lp, targets, in_len, tgt_len, alpha, **kwargs):
    size = batching.batch_size((lp, targets, in_len, tgt_len, alpha), batched)
    grad = prim(merge_batch(lp, batched[0], size, 1), merge_batch(targets, batched[1], size),
                merge_batch(in_len, batched[2], size), merge_batch(tgt_len, batched[3], size),
                merge_batch(alpha, batched[4], size, 1), **kwargs)
    return split_batch(grad, size, 1)


def_batch(_batch_forward, ctc_forward)
def_batch(_batch_gradient, ctc_gradient)


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
    tg = _labels(targets)
    if unbatched:
        tg = cnp.reshape(tg, (1, -1))
    # under vmap, the lengths and targets of every example: the padded width is the longest
    # target of them all, one number of states for the whole batch
    lengths, target_lengths = _values(in_len), _values(tgt_len)
    if lengths.size and lengths.max() > t_max:
        raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got value {lengths.max()} "
                           "(while checking arguments for ctc_loss)")
    s = int(target_lengths.max()) if target_lengths.size else 0
    if tg.ndim == 1:  # the sequences concatenated
        total = int(np.max(np.sum(target_lengths.reshape(-1, n), axis=1), initial=0))
        if tg.size < total:
            raise RuntimeError(f"Expected tensor to have size at least {total} at dimension 0, but got "
                               f"size {tg.size} for argument #2 'targets' (while checking arguments for ctc_loss)")
        starts = cnp.cumsum(tgt_len) - tgt_len
        within = np.arange(s) < cnp.reshape(tgt_len, (-1, 1))
        tg = cnp.take(tg, cnp.where(within, cnp.reshape(starts, (-1, 1)) + np.arange(s), 0)) if tg.size else \
            cnp.zeros((n, s), np.int64)
    else:
        if s > tg.shape[1]:
            raise RuntimeError(f"Expected tensor to have size at least {s} at dimension 1, but got size "
                               f"{tg.shape[1]} for argument #2 'targets' (while checking arguments for ctc_loss)")
        tg = tg[:, :s]
        within = np.arange(s) < cnp.reshape(tgt_len, (-1, 1))
    # the labels past each target's length are padding, never read (any value, as in PyTorch)
    tg = cnp.where(within, tg, blank)
    if tg.size and not every(cnp.logical_and(tg >= 0, tg < c)):
        labels = _values(tg)
        bad = int(labels.min()) if labels.min() < 0 else int(labels.max())
        raise RuntimeError(f"ctc_loss: target label {bad} is out of range for {c} classes (0 to {c - 1}); labels "
                           f"past a target's length are padding and may hold any value")
    loss = ctc_forward(log_probs, tg, in_len, tgt_len, blank=blank, zero_infinity=zero_infinity)[0]
    if reduction == "mean":
        return cnp.mean(loss / cnp.astype(cnp.maximum(tgt_len, 1), loss.dtype))
    if reduction == "sum":
        return cnp.sum(loss)
    return cnp.reshape(loss, ()) if unbatched else loss


