"""L-BFGS, as ``torch.optim.LBFGS``: the limited-memory quasi-Newton method, optionally
with a line search satisfying the strong Wolfe conditions.

Each ``step(closure)`` runs up to ``max_iter`` iterations, re-evaluating the model through
``closure`` (which zeroes the gradients, computes the loss, calls ``backward()`` and
returns the loss). All parameters are one flat vector to the method; the search
direction comes from the two-loop recursion over the last ``history_size`` curvature
pairs (s, y). The iteration, its tolerances, the cubic interpolation and the bracketing
phase of the line search follow PyTorch's (after minFunc), so the iterates agree with
``torch.optim.LBFGS``'s.

>>> import numpy as np, chainrule as cr
>>> w = cr.tensor(np.array([-1.5, 2.0]), requires_grad=True)
>>> opt = LBFGS([w], line_search_fn="strong_wolfe")
>>> def closure():
...     opt.zero_grad()
...     loss = (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2   # Rosenbrock
...     loss.backward()
...     return loss
>>> for _ in range(5):
...     _ = opt.step(closure)
>>> np.round(w.detach().numpy(), 4).tolist()
[1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from chainrule.core.eager import EAGER, count_write, enable_grad
from chainrule.core.tensor import Tensor
from chainrule.optim.optimizer import Optimizer, _numbers

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to
    ``bounds`` (default: the interval between x1 and x2); its midpoint if the cubic has none."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, lo), hi)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step length t along d meeting the strong Wolfe conditions: a bracketing phase
    that grows t by cubic extrapolation, then a zoom phase that shrinks the bracket by
    cubic interpolation (safeguarded against steps too near its ends). ``evaluate(t)``
    gives (loss, flat gradient) at x + t d. Returns (loss, gradient, t, evaluations)."""
    d_norm = np.abs(d).max()
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = g_new @ d
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev,
                                                                                                       gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g, bracket_gtd = [t], [f_new], [g_new], [gtd_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev,
                                                                                                       gtd_new]
            break
        step = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                  bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = step
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new @ d
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g, bracket_gtd = [0, t], [f, f_new], [g, g_new], [gtd, gtd_new]

    # zoom: shrink the bracket until a point meets the conditions
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # a point within 10% of an end of the bracket makes slow progress: move it inwards
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = g_new @ d
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low] = t, f_new, g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals



def _reals(a: np.ndarray) -> np.ndarray:
    """``a`` flattened, a complex array as its real and imaginary parts, interleaved."""
    a = np.ascontiguousarray(a).reshape(-1)
    return a.view(a.real.dtype) if a.dtype.kind == "c" else a

def _plain(v):
    """A state entry as the iteration reads it: a Tensor's array (a 0-d one's number)."""
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, Tensor):
        a = np.asarray(v.primal())
        return a if a.ndim else a[()]
    return v


def _tensor(v):
    """A state entry as PyTorch's L-BFGS holds it: arrays and NumPy numbers as Tensors."""
    if isinstance(v, list):
        return [_tensor(x) for x in v]
    return Tensor(np.asarray(v), EAGER) if isinstance(v, np.ndarray | np.generic) else v


class LBFGS(Optimizer):
    """L-BFGS over all parameters as one vector (one parameter group), as
    ``torch.optim.LBFGS``: ``lr`` scales each step, ``max_iter`` iterations and
    ``max_eval`` closure evaluations (default ``max_iter * 5 // 4``) per ``step``, stopping
    early when the largest gradient entry is at most ``tolerance_grad`` or a step or the
    loss changes by less than ``tolerance_change``; ``history_size`` curvature pairs;
    ``line_search_fn`` None (fixed steps) or ``"strong_wolfe"``. ``step(closure)`` needs
    the closure and returns the loss of its first evaluation.
    """

    _state_is_flat = True
    _torch_state = True

    def __init__(
        self,
        params: Iterable,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"line_search_fn must be None or 'strong_wolfe', not {line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                                  "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                                  "history_size": history_size, "line_search_fn": line_search_fn})
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): give it one group")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group: dict) -> None:
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups): give it one group")
        super().add_param_group(param_group)

    # -- the parameters as one flat vector -------------------------------------------------
    # (a complex parameter is its real and imaginary parts, two reals each, as PyTorch's
    # view_as_real makes it)
    def _flat_grad(self) -> np.ndarray:
        return np.concatenate([_reals(np.zeros(p._value.size, p._value.dtype) if p.grad is None
                                      else np.asarray(p.grad.primal(), dtype=p._value.dtype))
                               for p in self._params])

    def _add(self, step: float, direction: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            dtype = p._value.dtype
            n = p._value.size * (2 if dtype.kind == "c" else 1)
            change = step * direction[offset : offset + n]
            if dtype.kind == "c":
                change = np.ascontiguousarray(change, dtype.type(0).real.dtype).view(dtype)
            p._value += change.reshape(p._value.shape).astype(dtype, copy=False)
            count_write(p)
            offset += n

    def _set(self, values: list[np.ndarray]) -> None:
        for p, v in zip(self._params, values, strict=True):
            p._value[...] = v
            count_write(p)

    def _evaluate_along(self, evaluate, d):
        """``f(t)``: (loss, flat gradient) at the parameters moved by t·d, which are put back."""
        start = [p._value.copy() for p in self._params]

        def along(step):
            self._add(step, d)
            value = float(evaluate())
            grad = self._flat_grad()
            self._set(start)
            return value, grad

        return along

    def step(self, closure: Callable | None = None):  # type: ignore[override]
        """Up to ``max_iter`` iterations; ``closure`` re-evaluates the model and returns the loss."""
        if closure is None:
            raise TypeError("LBFGS.step needs a closure that zeroes the gradients, computes the loss, "
                            "calls backward() and returns the loss")

        def evaluate():
            with enable_grad():
                value = closure()
            return value

        group = self.param_groups[0]
        kept = self.state.setdefault(self._params[0], {})
        state = {k: _plain(v) for k, v in kept.items()}  # the arrays under its Tensors
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        try:
            return self._iterate(evaluate, group, state)
        finally:  # as PyTorch's: arrays as Tensors, counts and losses as numbers
            kept.update({k: _tensor(v) for k, v in state.items()})

    def _iterate(self, evaluate, group: dict, state: dict):
        group = _numbers(group)  # a Tensor lr as its number, as PyTorch's takes it
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, h_diag = [], [], [], 1
            else:
                # a new curvature pair, kept when it is positive enough for a positive definite update
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y @ s
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / (y @ y)
                # the two-loop recursion: d = −H ∇ with H the L-BFGS inverse Hessian
                al = state.setdefault("al", [None] * history_size)  # kept in the state, as PyTorch's
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = (old_stps[i] @ q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                d = r = q * h_diag
                for i in range(len(old_dirs)):
                    be_i = (old_dirs[i] @ r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad @ d
            if gtd > -tolerance_change:  # not a descent direction
                break

            evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                along = self._evaluate_along(evaluate, d)
                loss, flat_grad, t, evals = _strong_wolfe(along, t, d, loss, flat_grad, gtd,
                                                          max_ls=max_eval - current_evals)
                self._add(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add(t, d)
                opt_cond = False
                if n_iter != max_iter:  # the last iteration's loss is the next step's first
                    loss = float(evaluate())
                    flat_grad = self._flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    evals = 1
            current_evals += evals
            state["func_evals"] += evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss
