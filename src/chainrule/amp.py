"""PyTorch's automatic mixed precision, ``torch.amp``: ``autocast`` and ``GradScaler``, so
that training scripts written with them run.

chainrule computes in the dtypes of the inputs: there is no lower-precision autocasting.
An enabled ``autocast`` block runs as it is, in the inputs' precision (a warning says so
once), so results are at least as precise as PyTorch's under autocast, not bit for bit
the same. ``GradScaler`` does what PyTorch's does: multiplies the loss by a power-of-two
scale, divides the gradients by it before the step (exact in float32, short of overflow),
skips steps whose gradients hold inf or NaN and adapts the scale, so a script that uses it
trains as without it.

>>> import chainrule as cr
>>> w = cr.nn.Parameter(cr.ones(2)); opt = cr.optim.SGD([w], lr=0.1)
>>> scaler = cr.amp.GradScaler("cpu")
>>> scaler.scale((w * 3).sum()).backward(); scaler.step(opt); scaler.update()
>>> w.tolist(), scaler.get_scale()
([0.7, 0.7], 65536.0)
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from chainrule.core.dtypes import DtypeWithoutNumPy, as_dtype
from chainrule.core.eager import tensor
from chainrule.core.global_state import warn_once
from chainrule.core.tensor import Tensor

__all__ = ["autocast", "is_autocast_enabled", "GradScaler"]

class autocast:
    """PyTorch's ``torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``
    as a context manager or decorator: the block runs in its inputs' precision (see the
    module's docstring); an enabled one warns once that nothing is cast."""

    def __init__(self, device_type: str = "cpu", dtype=None, enabled: bool = True, cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise TypeError(f"autocast: device_type must be a string such as 'cpu' or 'cuda', got {device_type!r}")
        if dtype is not None and not isinstance(dtype, DtypeWithoutNumPy):
            as_dtype(dtype)  # a dtype it names (bfloat16, which NumPy lacks, is fine here: nothing is cast)
        self.device_type, self.dtype, self.enabled = device_type, dtype, bool(enabled)

    def __enter__(self) -> autocast:
        if self.enabled:
            warn_once("autocast", "autocast: chainrule computes in the dtypes of the inputs; the block runs "
                      "without casting to lower precision", stacklevel=2)
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __call__(self, fun: Callable) -> Callable:
        @functools.wraps(fun)
        def wrapped(*args, **kwargs):
            with self:
                return fun(*args, **kwargs)
        return wrapped


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """``torch.is_autocast_enabled()``: False, as nothing is ever cast to a lower precision
    here (code that asks, to pick the dtype autocast would compute in, keeps the inputs')."""
    return False


class GradScaler:
    """PyTorch's ``torch.amp.GradScaler(device="cuda", init_scale=2.**16, growth_factor=2.0,
    backoff_factor=0.5, growth_interval=2000, enabled=True)``: ``scale(loss)``,
    ``unscale_(optimizer)``, ``step(optimizer)`` (skipped when a gradient is not finite),
    ``update(new_scale=None)``, ``get_scale()``, ``get_``/``set_growth_factor``,
    ``_backoff_factor`` and ``_growth_interval``, ``state_dict()``/``load_state_dict()``. One
    for ``"cuda"`` is disabled with a warning, as PyTorch's without CUDA. As PyTorch's,
    ``_scale`` is None until the first ``scale()``, then a float32 0-d Tensor (and
    ``_growth_tracker`` an int32 one), ``_init_scale`` the scale to start from."""

    # chainrule.jit watches a scaler that a jitted function reads (get_scale())
    __jit_watch__ = True

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        if growth_factor <= 1.0 or not 0.0 < backoff_factor < 1.0:
            raise ValueError("GradScaler: growth_factor must be > 1 and backoff_factor between 0 and 1")
        if enabled and str(device).startswith("cuda"):
            # chainrule has no CUDA (torch.cuda.is_available() is False): PyTorch's scaler for
            # "cuda" (its default, and torch.cuda.amp.GradScaler's) turns itself off there
            warnings.warn("GradScaler is enabled for 'cuda', but CUDA is not available (chainrule computes on "
                          "the CPU); disabling it, as PyTorch does. Give device='cpu' to scale on the CPU",
                          UserWarning, stacklevel=2)
            enabled = False
        self._enabled = bool(enabled)
        self._init_scale, self._init_growth_tracker = float(init_scale), 0
        self._scale: Tensor | None = None  # made by the first scale(), as PyTorch's
        self._growth_tracker: Tensor | None = None
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._found_inf: dict[int, bool] = {}  # per optimizer (id) since the last update
        self._stepped: set[int] = set()  # the optimizers (ids) stepped since the last update

    def is_enabled(self) -> bool:
        return self._enabled

    def _made(self, name: str) -> tuple[float, int]:
        """The scale and the growth tracker, as numbers; PyTorch's AssertionError before the
        first ``scale()``."""
        if self._scale is None or self._growth_tracker is None:
            raise AssertionError(f"Attempted {name} but _scale is None.  This may indicate your script did not "
                                 "use scaler.scale(loss or outputs) earlier in the iteration.")
        return float(self._scale.item()), int(self._growth_tracker.item())

    def get_scale(self) -> float:
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.item())

    def _get_growth_tracker(self) -> int:
        return self._init_growth_tracker if self._growth_tracker is None else int(self._growth_tracker.item())

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def scale(self, outputs: Any) -> Any:
        """``outputs`` times the scale: a Tensor, or (as PyTorch's) a list or tuple of them, or
        another iterable of them (a lazy map); anything else is PyTorch's ValueError."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale = tensor(self._init_scale, dtype=np.float32)
            self._growth_tracker = tensor(self._init_growth_tracker, dtype=np.int32)
        return self._scaled(outputs)

    def _scaled(self, value: Any) -> Any:
        if isinstance(value, Tensor):
            return value * self._scale
        if isinstance(value, Iterable):
            scaled = map(self._scaled, value)
            if isinstance(value, tuple) and hasattr(value, "_fields"):
                return type(value)(*scaled)
            return type(value)(scaled) if isinstance(value, list | tuple) else scaled
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def unscale_(self, optimizer) -> None:
        """Divide the gradients of ``optimizer``'s parameters by the scale (once per step,
        before ``step``: PyTorch's RuntimeError otherwise), noting whether any is inf or NaN."""
        if not self._enabled:
            return
        scale, _ = self._made("unscale_")
        if id(optimizer) in self._stepped:
            raise RuntimeError("unscale_() is being called after step().")
        if id(optimizer) in self._found_inf:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        inv = 1.0 / scale
        found = False
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.grad.mul_(inv)
                found = found or not bool(np.isfinite(p.grad.numpy()).all())
        self._found_inf[id(optimizer)] = found

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)`` on the unscaled gradients, unless one of them
        is not finite (then the step is skipped and None returned); once per ``update``."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._made("step")
        if id(optimizer) in self._stepped:
            raise RuntimeError("step() has already been called since the last update().")
        if id(optimizer) not in self._found_inf:
            self.unscale_(optimizer)
        self._stepped.add(id(optimizer))
        if self._found_inf[id(optimizer)]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Shrink the scale after a step with non-finite gradients, grow it after
        ``growth_interval`` steps without; or set it to ``new_scale``."""
        if not self._enabled:
            return
        scale, tracker = self._made("update")
        if new_scale is None and not self._found_inf:
            raise AssertionError("No inf checks were recorded prior to update.")
        if new_scale is not None:
            scale = float(new_scale.item() if isinstance(new_scale, Tensor) else new_scale)
        elif any(self._found_inf.values()):
            scale, tracker = scale * self._backoff_factor, 0
        else:
            tracker += 1
            if tracker == self._growth_interval:
                scale, tracker = scale * self._growth_factor, 0
        self._scale.fill_(scale)  # in place, as PyTorch's (a reference to _scale sees it)
        self._growth_tracker.fill_(tracker)
        self._found_inf, self._stepped = {}, set()

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state: dict) -> None:
        if not self._enabled:
            return
        if not state:
            raise RuntimeError("GradScaler.load_state_dict: the state is empty (saved from a disabled scaler)")
        self._init_scale = float(state["scale"])
        self._growth_factor = float(state["growth_factor"])
        self._backoff_factor = float(state["backoff_factor"])
        self._growth_interval = int(state["growth_interval"])
        self._init_growth_tracker = int(state["_growth_tracker"])
        if self._scale is not None:
            self._scale.fill_(self._init_scale)
            self._growth_tracker.fill_(self._init_growth_tracker)
