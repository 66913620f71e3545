"""``torch.nn.functional``'s classification and regression losses (``cross_entropy``,
``nll_loss``, ``mse_loss``, ``l1_loss``, ``smooth_l1_loss``, ``binary_cross_entropy``,
``binary_cross_entropy_with_logits``) with PyTorch's arguments in PyTorch's order,
the deprecated ``size_average=`` / ``reduce=`` included (:mod:`chainrule.nn._reduction`)."""

from __future__ import annotations

import warnings

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import BatchedValueError, TensorError, TensorTypeError
from chainrule.core.primitive import Primitive, def_batch, def_jvps, def_vjps
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.trace import eager_quiet, named_as_torch
from chainrule.nn import _ops
from chainrule.nn._pooling import _dtype
from chainrule.nn._reduction import reduction_of
from chainrule.numpy import batching
from chainrule.numpy.nondiff import every
from chainrule.numpy.torch_common import floating_only

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]


def _channel_shape(x) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


class TargetClassError(TensorError, IndexError):
    """A target class outside ``[0, classes)`` (and not ``ignore_index``): PyTorch's
    IndexError ("Target 3 is out of bounds."), and a TensorError (a ValueError) as chainrule's
    other refusals of a value."""


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise TensorError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def _reduction(size_average, reduce, reduction: str) -> str:
    reduction = reduction_of(size_average, reduce, reduction)
    _check_reduction(reduction)
    return reduction


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return cnp.mean(loss)
    if reduction == "sum":
        return cnp.sum(loss)
    return loss


def _int_target(target, input_shape, name: str) -> np.ndarray:
    y = undifferentiated(target)
    if not isinstance(y, Tensor):
        y = np.asarray(y)
    expected = (input_shape[0], *input_shape[2:])
    if y.shape != expected:
        raise TensorError(
            f"{name}: for input of shape {tuple(input_shape)} the class-index target must have "
            f"shape {expected}, got {y.shape}"
        )
    return y


def _class_index_target(input, y, weight):
    """PyTorch's checks, in its order, of class indices ``y`` for ``input`` (N, C, ...) or
    (C,), and of the class ``weight``: wrong input or batch sizes a ValueError, a target
    of too many dimensions, of another dtype or a weight of another size a RuntimeError."""
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if input.ndim != 1 and np.ndim(y) >= 1 and input.shape[0] != np.shape(y)[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({np.shape(y)[0]}).")
    if input.ndim <= 2 and np.ndim(y) > 1:
        raise TensorError("0D or 1D target tensor expected, multi-target not supported")
    if _dtype(y).kind not in "iu":
        raise TensorTypeError(f"expected target dtype to be Long or Byte (class indices), but got {_dtype(y)}")
    _class_weight(weight, input)


def _class_weight(weight, input):
    n_classes = input.shape[0 if input.ndim == 1 else 1]
    if weight is not None and tuple(np.shape(weight)) != (n_classes,):
        raise TensorError(f"weight tensor should be defined either for all {n_classes} classes or no classes but "
                          f"got weight tensor of shape: {list(np.shape(weight))}")


def _class_weights(weight, dtype, shape=None):
    """``weight`` without a derivative (PyTorch gives it none), in the loss's dtype and
    ``shape``; a batch of vmap stays one (an ensemble's weights, one set per member)."""
    w = undifferentiated(weight)
    w = cnp.astype(w, dtype) if isinstance(w, Tensor) else np.asarray(w, dtype=dtype)
    return w if shape is None else cnp.reshape(w, shape)


def _nll(logp, y, weight, ignore_index: int, reduction: str, name: str, label_smoothing: float = 0.0):
    """Negative log-likelihood of the integer classes ``y`` under log-probabilities
    ``logp`` (class axis 1), PyTorch's weighting, ignoring and smoothing rules."""
    n_classes = logp.shape[1]
    if isinstance(y, Tensor):
        # Traced by chainrule.jit: one guarded predicate settles the common case, so new
        # labels replay without tracing again; anything else reads the labels themselves.
        if y.size and every(_valid_labels(y, n_classes, ignore_index)):
            return _nll_picked(logp, y, weight, None, reduction, label_smoothing, n_classes)
        try:
            y = np.asarray(y.primal())
        except BatchedValueError:  # labels that differ between the examples of a vmap
            ignored = y == ignore_index
            safe = cnp.where(ignored, 0, y)
            if not every(cnp.logical_and(safe >= 0, safe < n_classes)):
                raise TargetClassError(f"{name}: a target class is out of range for {n_classes} classes") from None
            return _nll_picked(logp, safe, weight, ignored, reduction, label_smoothing, n_classes)
    lo, hi = (int(y.min()), int(y.max())) if y.size else (0, 0)
    if 0 <= lo and hi < n_classes and not lo <= ignore_index <= hi:
        any_ignored = False  # the common case, settled by the two reductions above
        safe = y
    else:
        ignored = y == ignore_index
        any_ignored = bool(ignored.any())
        safe = np.where(ignored, 0, y) if any_ignored else y
        if safe.size and (safe.min() < 0 or safe.max() >= n_classes):
            bad = int(safe.min()) if safe.min() < 0 else int(safe.max())
            raise TargetClassError(f"{name}: target class {bad} is out of range for {n_classes} classes")
    return _nll_picked(logp, safe, weight, ignored if any_ignored else None, reduction,
                       label_smoothing, n_classes)


def _valid_labels(y, n_classes: int, ignore_index: int):
    in_range = cnp.logical_and(cnp.min(y) >= 0, cnp.max(y) < n_classes)
    return cnp.logical_and(in_range, cnp.logical_not(cnp.any(y == ignore_index)))


def _nll_picked(logp, safe, weight, ignored, reduction, label_smoothing, n_classes):
    """The loss from the valid class indices ``safe`` (``ignored``: the mask of ignored
    targets, or None when there are none)."""
    any_ignored = ignored is not None
    picked = _ops.take_class(logp, safe)
    dtype = _dtype(logp)
    if weight is None and not any_ignored:
        w_y = None
        loss = -picked
        denom = float(picked.size)
    else:
        w = np.ones(n_classes, dtype) if weight is None else _class_weights(weight, dtype)
        w_y = cnp.getitem(w, safe)  # safe is traced under chainrule.jit
        if any_ignored:
            w_y = w_y * ~ignored
        loss = -(picked * w_y)
        denom = cnp.sum(w_y)
    if label_smoothing > 0.0:
        if weight is None:
            smooth = -cnp.sum(logp, axis=1)
        else:
            wb = _class_weights(weight, dtype, _channel_shape(logp))
            smooth = -cnp.sum(logp * wb, axis=1)
        if any_ignored:
            smooth = smooth * ~ignored
        loss = (1.0 - label_smoothing) * loss + (label_smoothing / n_classes) * smooth
    if reduction == "mean":
        if not picked.size or (any_ignored and every(ignored)):
            return cnp.sum(loss) * 0.0 + np.nan  # PyTorch's NaN of 0 / 0, but a zero gradient (no NaN into weights)
        if w_y is None and label_smoothing == 0.0:
            return cnp.sum(picked) * (-1.0 / denom)  # the common case: two small nodes
        if any_ignored:  # so for an example of a vmap whose targets are all ignored too
            empty = denom == 0
            return cnp.where(empty, np.nan, cnp.sum(loss) / cnp.where(empty, 1, denom))
        return cnp.sum(loss) / denom
    if reduction == "sum":
        return cnp.sum(loss)
    return loss


@eager_quiet
def cross_entropy(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
):
    """Cross-entropy between the logits ``input`` (N, C) or (N, C, d1, ...) and a
    ``target`` of class indices (N,) / (N, d1, ...) or of class probabilities (the
    input's shape), as ``torch.nn.functional.cross_entropy``.

    ``weight`` rescales each class, ``ignore_index`` drops targets of that class (index
    targets), ``label_smoothing`` ε mixes the target with the uniform distribution:
    (1 − ε)·target + ε/C. With ``reduction='mean'`` the weighted losses are divided by
    the sum of the targets' weights (index targets) or by N (probability targets).

    >>> logits = np.array([[1000.0, 0.0]])
    >>> float(cross_entropy(logits, np.array([1])))  # finite, not inf
    1000.0
    """
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise TensorError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim == 0:  # PyTorch's: its class dim 1 is out of range
        raise IndexError("cross_entropy: Dimension out of range (expected to be in range of [-1, 0], but got 1); "
                         "the input must have a class dimension")
    tval = undifferentiated(target)  # a Tensor only while chainrule.jit traces
    indices = _dtype(tval).kind in "iub"
    if indices and tuple(np.shape(tval)) == tuple(input.shape):  # PyTorch reads it as probabilities
        raise TensorTypeError(f"Expected floating point type for target with class probabilities, got "
                              f"{_dtype(tval)}; class indices have no class dimension")
    unbatched = input.ndim == 1
    if indices:
        _class_index_target(input, tval, weight)
    else:
        _class_weight(weight, input)
    if unbatched:
        input = cnp.reshape(input, (1, input.shape[0]))
    logp = _ops.log_softmax(input, axis=1)
    if indices:
        y = tval if isinstance(tval, Tensor) else np.asarray(tval)
        if unbatched:
            y = y.reshape(1)
        y = _int_target(y, input.shape, "cross_entropy")
        out = _nll(logp, y, weight, ignore_index, reduction, "cross_entropy", label_smoothing)
    else:
        if ignore_index != -100:
            raise TensorError("cross_entropy: ignore_index is not supported for a probability (float) target, "
                              "as in PyTorch; leave it at -100 or give class indices")
        if tuple(np.shape(tval)) != tuple(input.shape) and not unbatched:
            raise TensorError(
                f"cross_entropy: a probability target must have the input's shape "
                f"{tuple(input.shape)}, got {np.shape(tval)}"
            )
        target = _as_dtype_of(target, logp)
        if unbatched:
            target = cnp.reshape(target, (1, -1))
        n_classes = input.shape[1]
        if label_smoothing > 0.0:
            target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
        prod = logp * target
        if weight is not None:
            dtype = _dtype(logp)
            prod = prod * _class_weights(weight, dtype, _channel_shape(logp))
        loss = -cnp.sum(prod, axis=1)
        out = _reduce(loss, reduction)
    if unbatched and reduction == "none":
        out = cnp.reshape(out, ())
    # of class indices, without smoothing, PyTorch's is an nll_loss of the log_softmax
    return named_as_torch(out, "NllLossBackward0") if indices and not label_smoothing else out


@eager_quiet
def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean"):
    """Negative log-likelihood of class indices given log-probabilities ``input``
    (N, C) or (N, C, d1, ...), e.g. the output of ``log_softmax``."""
    reduction = _reduction(size_average, reduce, reduction)
    unbatched = input.ndim == 1
    y = undifferentiated(target)  # a Tensor only while chainrule.jit traces
    if not isinstance(y, Tensor):
        y = np.asarray(y)
    _class_index_target(input, y, weight)
    if unbatched:
        input, y = cnp.reshape(input, (1, input.shape[0])), y.reshape(1)
    y = _int_target(y, input.shape, "nll_loss")
    out = _nll(input, y, weight, ignore_index, reduction, "nll_loss")
    return named_as_torch(cnp.reshape(out, ()) if unbatched and reduction == "none" else out, "NllLossBackward0")


def _check_same_shape(input, target, name: str):
    """Warn about a broadcast target (as PyTorch does), and give a constant target the
    input's float dtype: a float64 array must not promote float32 work to float64."""
    ts = tuple(np.shape(target))
    if ts != tuple(input.shape):
        warnings.warn(
            f"{name}: the target's shape {ts} differs from the input's {tuple(input.shape)}; "
            "they will be broadcast, which is probably not what you want",
            stacklevel=3,
        )
    return _as_dtype_of(target, input)


def _same_size(input, target, message: str) -> None:
    """PyTorch's ValueError for a target whose shape is not the input's."""
    if tuple(np.shape(target)) != tuple(np.shape(input)):
        raise ValueError(message)


def _size(x) -> str:
    return f"torch.Size({list(np.shape(x))})"


def _as_dtype_of(target, input):
    if isinstance(target, Tensor):
        return target
    dtype = _dtype(input)
    t = np.asarray(target)
    if dtype.kind == "f" and t.dtype != dtype:
        t = t.astype(dtype)
    return t


@eager_quiet
def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None):
    """Mean squared error (input − target)²; with ``weight`` (the input's shape), the
    weighted mean Σ w·d² / Σ w."""
    reduction = _reduction(size_average, reduce, reduction)
    target = _check_same_shape(input, target, "mse_loss")
    d = input - target
    if weight is not None:
        return _weighted(cnp.square(d), weight, input, reduction)
    # one node: its rule is one product, d·d has two
    return named_as_torch(_reduce(cnp.square(d), reduction), "MseLossBackward0")


@eager_quiet
def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None):
    """Mean absolute error |input − target|; with ``weight`` (the input's shape), the
    weighted mean Σ w·|d| / Σ w."""
    reduction = _reduction(size_average, reduce, reduction)
    target = _check_same_shape(input, target, "l1_loss")
    d = input - target
    a = d.abs() if isinstance(d, Tensor) else cnp.abs(d)  # PyTorch's derivative at NaN too
    if reduction == "mean" and isinstance(a, Tensor):
        floating_only(a, None, "l1_loss: the mean of integer losses is not defined")
    return _reduce(a, reduction) if weight is None else _weighted(a, weight, input, reduction)


def _weighted(loss, weight, input, reduction: str):
    """PyTorch's weighted ``mse_loss`` and ``l1_loss``: the mean is Σ w·loss / Σ w."""
    if tuple(np.shape(weight)) != tuple(input.shape):
        raise TensorError(f"Weights and input must have the same size: the weight's shape is "
                          f"{tuple(np.shape(weight))}, the input's {tuple(input.shape)}")
    loss = loss * weight
    return cnp.sum(loss) / cnp.sum(weight) if reduction == "mean" else _reduce(loss, reduction)


@eager_quiet
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0):
    """0.5 d²/β where |d| < β, |d| − 0.5 β elsewhere (d = input − target)."""
    reduction = _reduction(size_average, reduce, reduction)
    target = _check_same_shape(input, target, "smooth_l1_loss")
    d = input - target
    a = cnp.abs(d)
    if beta == 0:
        return _reduce(a, reduction)
    small = undifferentiated(a) < beta
    near = cnp.where(small, d, 0.0)  # the square of an infinite d is in neither branch's derivative
    return named_as_torch(_reduce(cnp.where(small, (0.5 / beta) * (near * near), a - 0.5 * beta), reduction),
                          "SmoothL1LossBackward0")




def _bce(p, t):
    with np.errstate(divide="ignore"):  # log 0 = -inf, clamped to PyTorch's -100
        return -(t * np.maximum(np.log(p), -100.0) + (1 - t) * np.maximum(np.log1p(-p), -100.0))


_BCE_EPSILON = float(np.float32(1e-12))  # PyTorch's EPSILON, a float constant even for float64


def _bce_slope(p, t):
    """PyTorch's derivative in p: (p − t) / max(p (1 − p), 1e-12), finite at p = 0 and 1
    (0 where p = t there), where the clamped logs' own would be 1 or 1/p."""
    return (p - t) / cnp.maximum(p * (1 - p), _BCE_EPSILON)


def _bce_target_slope(p):
    """PyTorch's derivative in t: -logit(p), unclamped (inf at p = 0)."""
    return cnp.log1p(-p) - cnp.log(p)


_bce_elementwise = Primitive(_bce, name="binary_cross_entropy")
_bce_elementwise.eager_quiet = True  # log 0, silently as PyTorch's
def_vjps(_bce_elementwise, lambda g, ans, p, t: g * _bce_slope(p, t),
         lambda g, ans, p, t: g * _bce_target_slope(p))
def_jvps(_bce_elementwise, lambda d, ans, p, t: d * _bce_slope(p, t),
         lambda d, ans, p, t: d * _bce_target_slope(p))
def_batch(batching.elementwise, _bce_elementwise)


@eager_quiet
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
    """−[t log p + (1 − t) log(1 − p)] for probabilities ``input``; the logs are clamped
    at −100, as in PyTorch. Prefer :func:`binary_cross_entropy_with_logits`."""
    reduction = _reduction(size_average, reduce, reduction)
    _same_size(input, target, f"Using a target size ({_size(target)}) that is different to the input size "
                              f"({_size(input)}) is deprecated. Please ensure they have the same size.")
    if isinstance(input, Tensor) and isinstance(target, Tensor) and input.dtype != target.dtype:
        raise TensorError(f"binary_cross_entropy: Found dtype {target.dtype} but expected {input.dtype} (the "
                          "target's dtype must be the input's)")
    target = _as_dtype_of(target, input)
    # one guarded predicate each under chainrule.jit; NaN is out of range, as in PyTorch
    for name, v in (("input", undifferentiated(input)), ("target", undifferentiated(target))):
        if np.size(v) and not every(cnp.all(cnp.logical_and(v >= 0, v <= 1))):
            raise TensorError(f"binary_cross_entropy: all elements of {name} should be between 0 and 1")
    loss = _bce_elementwise(input, target)
    if weight is not None:
        loss = loss * weight
    return named_as_torch(_reduce(loss, reduction), "BinaryCrossEntropyBackward0")


@eager_quiet
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None):
    """Binary cross-entropy of sigmoid(input) and ``target``, computed from the logits
    stably: (1 − t)·x + (1 + (w₊ − 1)·t)·softplus(−x).

    >>> float(binary_cross_entropy_with_logits(np.array([-1000.0]), np.array([1.0])))
    1000.0
    """
    reduction = _reduction(size_average, reduce, reduction)
    _same_size(input, target, f"Target size ({_size(target)}) must be the same as input size ({_size(input)})")
    if _dtype(target).kind in "biu" and isinstance(target, Tensor):
        raise TensorError(f"binary_cross_entropy_with_logits: result type {_dtype(input).name} can't be cast to the "
                          f"desired output type {_dtype(target).name}; give a floating-point target")
    target = _as_dtype_of(target, input)
    if pos_weight is not None:  # softplus(−x) = −log sigmoid(x)
        loss = (1 - target) * input + _ops.softplus(-input, threshold=None) * ((pos_weight - 1) * target + 1)
    else:
        # the same value as softplus(x) − t·x, whose derivative sigmoid(x) − t is exact
        # where sigmoid(x) is tiny (1 − sigmoid(−x) cancels there); each branch of only its
        # own elements, so that the other's 0 · ∓inf (∂/∂t at x = ±inf) is no NaN
        positive = undifferentiated(input) > 0
        above, below = cnp.where(positive, input, 0.0), cnp.where(positive, 0.0, input)
        loss = cnp.where(positive, (1 - target) * above + _ops.softplus(-above, threshold=None),
                         _ops.softplus(below, threshold=None) - target * below)
    if weight is not None:
        loss = loss * weight
    if _dtype(target).kind == "f" and _dtype(loss) != _dtype(target):
        # PyTorch computes the loss in place in (1 − target): float32 targets give a float32
        # loss even of float64 logits
        loss = cnp.astype(loss, _dtype(target))
    return named_as_torch(_reduce(loss, reduction), "BinaryCrossEntropyWithLogitsBackward0")

