"""The ``Optimizer`` base class: parameter groups, state, ``zero_grad``, ``state_dict``.

Optimizers update parameters in place with NumPy, outside any graph: each step reads
``p.grad`` and writes ``p``'s buffer directly (the same memory the model uses), with a
handful of array operations per parameter and no recorded operations.
"""

from __future__ import annotations

import copy
import functools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import Any

import numpy as np

from chainrule.core.dtypes import get_default_dtype
from chainrule.core.eager import (
    EAGER,
    HookHandle,
    count_write,
    enable_grad,
    is_grad_enabled,
    set_grad_enabled,
    zero_grad_in_place,
)
from chainrule.core.tensor import Tensor

__all__ = ["Optimizer", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook", "required", "ParamsT",
           "StateDict"]

# what an optimizer's params may be, and its state_dict, as torch.optim.optimizer's types
ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]
StateDict = dict[str, Any]


class _RequiredParameter:
    """The default of an option that every parameter group must give (PyTorch's ``required``,
    as optimizers written for it use: ``def __init__(self, params, lr=required)``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

# hooks that run around every optimizer's step, as torch.optim.optimizer's global ones:
# as an optimizer's own, dicts from the handle's id to the hook, in the order they run
_global_optimizer_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
_global_optimizer_post_hooks: OrderedDict[int, Callable] = OrderedDict()
# an optimizer's own hooks (PyTorch's attributes): not copied or pickled with it, as in PyTorch
_HOOK_STORES = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
                "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
                "_optimizer_load_state_dict_post_hooks")
_NONE: MappingProxyType = MappingProxyType({})  # the stores of an optimizer whose __init__ has not run


def _add_hook(hooks: OrderedDict, hook: Callable, prepend: bool = False) -> HookHandle:
    """``hook`` put in ``hooks`` under its handle's id (first if ``prepend``), as PyTorch's."""
    handle = HookHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook: Callable) -> HookHandle:
    """Run ``hook(optimizer, args, kwargs)`` before every optimizer's step (``args`` the
    step's, the optimizer first; it may return new ``(args, kwargs)``), as PyTorch's.

    >>> from chainrule import nn, optim
    >>> handle = optim.optimizer.register_optimizer_step_pre_hook(lambda opt, args, kwargs: None)
    >>> handle.id in optim.optimizer._global_optimizer_pre_hooks
    True
    >>> handle.remove()
    """
    return _add_hook(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable) -> HookHandle:
    """Run ``hook(optimizer, args, kwargs)`` after every optimizer's step, as PyTorch's.

    >>> from chainrule import optim
    >>> handle = optim.optimizer.register_optimizer_step_post_hook(lambda opt, args, kwargs: None)
    >>> handle.remove(); len(optim.optimizer._global_optimizer_post_hooks)
    0
    """
    return _add_hook(_global_optimizer_post_hooks, hook)


def _with_step_hooks(step: Callable) -> Callable:
    """``step`` run between the global and the optimizer's own pre and post hooks (once,
    where a subclass's step calls its base's)."""
    @functools.wraps(step)
    def hooked(self, *args, **kwargs):
        if self.__dict__.get("_in_step"):
            return step(self, *args, **kwargs)
        args = (self, *args)  # as PyTorch's hooks see them: the optimizer first
        for hook in [*_global_optimizer_pre_hooks.values(), *self._optimizer_step_pre_hooks.values()]:
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"an optimizer step pre-hook must return None or a tuple (new_args, "
                                       f"new_kwargs), got {result!r}")
                args, kwargs = result
        self._in_step = True
        try:
            out = step(*args, **kwargs)
        finally:
            self._in_step = False
        for hook in [*self._optimizer_step_post_hooks.values(), *_global_optimizer_post_hooks.values()]:
            hook(self, args, kwargs)
        return out
    hooked._with_step_hooks = True
    return hooked


_FLAG_DEFAULTS = {"foreach": None, "fused": None, "capturable": False, "differentiable": False}


def _torch_flags(cls: type, flags: dict[str, Any]) -> dict[str, Any]:
    unknown = [k for k in flags if k not in cls.torch_flags]
    if unknown:
        raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword argument {unknown[0]!r}")
    if flags.get("fused") and flags.get("foreach"):
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if flags.get("differentiable"):
        raise NotImplementedError(f"{cls.__name__}(differentiable=True): chainrule's optimizer steps update the "
                                  "parameters in place, off the graph; to differentiate through a step, write it "
                                  "as a function (chainrule.optim.functional) inside chainrule.grad")
    return {k: flags.get(k, _FLAG_DEFAULTS[k]) for k in cls.torch_flags}



def _as_real(a: np.ndarray) -> np.ndarray:
    """A complex array seen as reals, each element its real and imaginary parts (a view)."""
    return np.atleast_1d(a).view(a.real.dtype)


def _of(v, like: np.ndarray) -> bool:
    """Whether ``v`` is an array of ``like``'s shape and dtype (state kept per element)."""
    return isinstance(v, np.ndarray) and v.shape == like.shape and v.dtype == like.dtype and v.flags.c_contiguous

class Optimizer:
    """Base class: subclasses define ``defaults`` and ``_update(p, g, state, group)``.

    ``params`` is an iterable of Parameters, or of dicts ``{"params": [...], **options}``
    (parameter groups with their own learning rate, say); ``(name, parameter)`` pairs
    (``model.named_parameters()``) keep the names in the group's ``param_names``, as PyTorch's.

    >>> import numpy as np
    >>> from chainrule import nn, optim
    >>> model = nn.Linear(3, 1)
    >>> opt = optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}], lr=0.1)
    >>> [g["lr"] for g in opt.param_groups]
    [0.1, 0.5]
    """

    # chainrule.jit watches an optimizer that a jitted function reads (its param_groups' lr)
    __jit_watch__ = True
    _state_is_flat = False  # True where the state holds vectors over all parameters (L-BFGS)
    # True for the built-in optimizers, whose state holds Tensors as PyTorch's (step a float32
    # 0-d Tensor) over the arrays their updates write; a subclass's state is its own
    _torch_state = False
    # True where PyTorch's step reads every parameter's state before it updates any, and
    # makes the state of one without it afterwards (SGD's momentum buffer): a parameter
    # listed twice then finds no state at its second update either, in the first step
    _state_read_first = False
    # False where PyTorch's step refuses complex parameters (Adafactor's)
    _takes_complex = True
    # The state PyTorch's update lerps toward the gradient (Adam's exp_avg): its lerp refuses
    # a state of another dtype than the parameter's (one turned .double() after the state was
    # made), where the other updates go on in the state's dtype (SGD's momentum buffer)
    _lerped_state: tuple[str, ...] = ()

    # PyTorch's switches between its kernels (foreach, fused, capturable) and for a
    # differentiable step that a built-in optimizer takes, kept in its groups as PyTorch
    # keeps them (one NumPy step serves every kernel); a subclass of the user's has none
    torch_flags: tuple[str, ...] = ()

    def __init__(self, params: Iterable, defaults: dict[str, Any], flags: dict[str, Any] | None = None):
        cls = type(self)
        if not getattr(cls.step, "_with_step_hooks", False):  # the step hooks run around the class's step
            cls.step = _with_step_hooks(cls.step)
        defaults = dict(defaults)
        if flags is not None or type(self).torch_flags:
            defaults.update(_torch_flags(type(self), flags or {}))
        self.defaults = defaults
        for name in _HOOK_STORES:
            setattr(self, name, OrderedDict())
        self.param_groups: list[dict[str, Any]] = []
        # per parameter, made on first use as PyTorch's (self.state[p] in a custom step)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts (e.g. "
                            "model.parameters()), but got a Tensor")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (the defaults fill the rest)."""
        group = param_group
        if not isinstance(group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(group)}")
        if "params" not in group:
            raise TypeError("a parameter group is a dict with a 'params' entry")
        params = group["params"]
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        params = [params] if isinstance(params, Tensor) else list(params)
        group = dict(group)
        named = [isinstance(p, tuple) for p in params]
        if any(named):  # model.named_parameters(): the names kept in the group, as PyTorch's
            if not all(named):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        if self.param_groups and ("param_names" in group) != ("param_names" in self.param_groups[0]):
            raise ValueError("all optimizer param groups should be with/without names (pass named_parameters() to "
                             "each group, or parameters() to each)")
        earlier = {id(p) for g in self.param_groups for p in g["params"]}
        seen: set[int] = set()
        twice = False
        for p in params:
            if not isinstance(p, Tensor) or not isinstance(p._value, np.ndarray):
                raise TypeError(f"optimizers update eager Tensors (Parameters), got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (an optimizer updates leaf Tensors: parameters)")
            if np.result_type(p._value).kind not in "fc":
                raise TypeError(f"cannot optimize a Tensor of dtype {np.result_type(p._value)}")
            if id(p) in earlier:
                raise ValueError("some parameters appear in more than one parameter group (a weight tied to "
                                 "another layer's, listed in both groups?); give each parameter once")
            twice = twice or id(p) in seen
            seen.add(id(p))
        if twice:  # kept, and stepped twice, as PyTorch does
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information (a "
                          "parameter listed twice is updated twice in each step)", UserWarning, stacklevel=3)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
        full = {**self.defaults, **group, "params": params}
        self._check_group(full)
        self.param_groups.append(full)

    def _check_group(self, group: dict[str, Any]) -> None:
        # an optimizer of one's own may keep no lr, or None for one it works out (HuggingFace's Adafactor)
        lr = group.get("lr")
        if lr is not None and lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")

    # -- hooks, as PyTorch's: each returns a handle whose remove() takes the hook off ----------
    # (kept as PyTorch's: dicts from each handle's id to its hook, in the order they run)
    _optimizer_step_pre_hooks = _optimizer_step_post_hooks = _optimizer_state_dict_pre_hooks = _NONE
    _optimizer_state_dict_post_hooks = _optimizer_load_state_dict_pre_hooks = _NONE
    _optimizer_load_state_dict_post_hooks = _NONE

    def _hook(self, name: str, hook: Callable, prepend: bool = False) -> HookHandle:
        hooks = self.__dict__.get(name)
        if hooks is None:  # (an optimizer of one's own that did not call Optimizer.__init__)
            hooks = self.__dict__[name] = OrderedDict()
        return _add_hook(hooks, hook, prepend)

    def register_step_pre_hook(self, hook: Callable) -> HookHandle:
        """Run ``hook(optimizer, args, kwargs)`` before each step; it may return new
        ``(args, kwargs)`` for the step."""
        return self._hook("_optimizer_step_pre_hooks", hook)

    def register_step_post_hook(self, hook: Callable) -> HookHandle:
        """Run ``hook(optimizer, args, kwargs)`` after each step (an EMA update, say)."""
        return self._hook("_optimizer_step_post_hooks", hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> HookHandle:
        """Run ``hook(optimizer)`` before :meth:`state_dict` makes the state_dict."""
        return self._hook("_optimizer_state_dict_pre_hooks", hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> HookHandle:
        """Run ``hook(optimizer, state_dict)`` on what :meth:`state_dict` made; a dict it
        returns is returned instead."""
        return self._hook("_optimizer_state_dict_post_hooks", hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> HookHandle:
        """Run ``hook(optimizer, state_dict)`` before :meth:`load_state_dict`; a dict it
        returns is loaded instead."""
        return self._hook("_optimizer_load_state_dict_pre_hooks", hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> HookHandle:
        """Run ``hook(optimizer)`` after :meth:`load_state_dict`."""
        return self._hook("_optimizer_load_state_dict_post_hooks", hook, prepend)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters (to None, or to zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    zero_grad_in_place(p)

    def step(self, closure: Callable[[], Any] | None = None):
        """One update of every parameter that has a gradient. ``closure`` (optional)
        re-evaluates the model and returns the loss, which is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        tensors = self._torch_state
        made = set() if self._state_read_first else None  # the parameters whose state this step made
        for group_index, group in enumerate(self.param_groups):
            group = _numbers(group)
            for index, p in enumerate(group["params"]):
                grad = p.grad
                if grad is None:
                    continue
                if group.get("capturable"):
                    raise AssertionError(
                        "If capturable=True, params and state_steps must be on supported devices: ['cuda', 'xpu', "
                        "'hpu', 'privateuseone', 'xla'] (PyTorch's refusal on the CPU; capturable is for CUDA "
                        "graphs: leave it out)")
                g = grad._value
                if not isinstance(g, np.ndarray):
                    g = np.asarray(grad.primal())
                value = p._value
                kept = self.state.get(p)
                if made is not None:
                    if kept is None or not kept:
                        made.add(p)
                    elif p in made:  # listed twice: its second update finds no state either
                        kept = None
                # the update reads and writes the arrays under the state's Tensors
                raw = {} if kept is None else _arrays(kept) if tensors else kept
                state = raw
                self._check_lerped_state(raw, p, group, group_index, index)
                views = None
                if value.dtype.kind == "c" and not self._takes_complex:
                    raise RuntimeError(f"{type(self).__name__} does not support complex parameters (as PyTorch's); "
                                       "optimize the real and imaginary parts as two real parameters")
                if value.dtype.kind == "c" and value.flags.c_contiguous:
                    # as PyTorch's view_as_real: the real and imaginary parts are two reals
                    # each, and the state of their shape is kept complex, of the parameter's
                    value, g = _as_real(value), _as_real(np.ascontiguousarray(g, value.dtype))
                    views = {k: _as_real(v) for k, v in raw.items() if _of(v, p._value)}
                    state = {**raw, **views}
                self._update(value, g, state, group)
                if views is not None:
                    state = {k: raw[k] if v is views.get(k) else
                             v.view(p._value.dtype).reshape(p._value.shape) if _of(v, value) else v
                             for k, v in state.items()}
                if tensors:
                    if state:  # as PyTorch's, a parameter gets state only when it keeps some (SGD)
                        _put(self.state[p] if kept is None else kept, state, group.get("fused"))
                elif kept is None:
                    if state:
                        self.state[p] = state
                elif state is not kept:
                    kept.update(state)
                count_write(p, f"{type(self).__name__}.step()")
        return loss

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError

    def _check_lerped_state(self, state: dict, p: Tensor, group: dict, group_index: int, index: int) -> None:
        """PyTorch's refusal of a lerped state (:attr:`_lerped_state`) whose dtype is no longer
        its parameter's, in words that say which parameter and what to do."""
        for key in self._lerped_state:
            kept = state.get(key)
            if isinstance(kept, np.ndarray) and kept.dtype != p._value.dtype:
                names = group.get("param_names")
                which = repr(names[index]) if names else f"{index} of param_groups[{group_index}]"
                raise RuntimeError(
                    f"{type(self).__name__}: parameter {which} is now {p._value.dtype} but its state {key!r} is "
                    f"{kept.dtype}: the parameter changed dtype after the optimizer made its state (PyTorch's step "
                    "refuses it too); create the optimizer after .double()/.to(dtype), or load this one's "
                    "state_dict() into a new one")

    # -- saving and resuming -----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state and options, parameters referred to by their position
        (as in PyTorch); arrays are copies. A built-in optimizer's state holds Tensors
        where PyTorch's holds tensors: its arrays, and ``step`` as a 0-d Tensor of PyTorch's
        scalar dtype (float32, or float64 where that is the default dtype).

        >>> from chainrule import nn, optim
        >>> opt = optim.Adam(nn.Linear(2, 1).parameters())
        >>> sorted(opt.state_dict())
        ['param_groups', 'state']
        """
        for hook in list(self._optimizer_state_dict_pre_hooks.values()):
            hook(self)
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: copy.deepcopy(v) for k, v in group.items() if k != "params"}, "params": ids})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: self._export(k, v) for k, v in self.state[p].items()}
        out = {"state": state, "param_groups": groups}
        for hook in list(self._optimizer_state_dict_post_hooks.values()):
            out = hook(self, out) or out
        return out

    def _export(self, key: str, v):
        """A copy of the state entry ``key`` as PyTorch's optimizer holds it."""
        if isinstance(v, list | tuple):
            return type(v)(self._export(key, x) for x in v)
        if not self._torch_state:
            return _copy_value(v)
        if key == "step" and isinstance(v, int | float | np.number) and not isinstance(v, bool):
            return Tensor(np.array(v, dtype=_scalar_dtype()), EAGER)
        if isinstance(v, Tensor):
            v = v._value if isinstance(v._value, np.ndarray) else np.asarray(v.primal())
        if isinstance(v, np.ndarray | np.generic):
            return Tensor(np.array(v, copy=True), EAGER)
        return copy.deepcopy(v)

    def _import(self, p: Tensor, key: str, v, where: str):
        """The saved state entry ``key`` of ``p`` as this optimizer keeps it: floating-point
        arrays (NumPy's or PyTorch's) in ``p``'s dtype; a built-in optimizer's state holds
        Tensors, ``step`` a 0-d one, as PyTorch's; a subclass's Tensors stay Tensors."""
        if isinstance(v, list | tuple):
            return type(v)(self._import(p, key, x, where) for x in v)
        if self._torch_state and key == "step" and isinstance(v, int | float) and not isinstance(v, bool):
            return Tensor(np.array(v, dtype=_scalar_dtype()), EAGER)  # an older PyTorch's count
        if v is None or isinstance(v, str | bool | int | float | dict):
            return copy.deepcopy(v)
        if not (isinstance(v, Tensor | np.ndarray | np.generic) or hasattr(v, "__array__")):
            return copy.deepcopy(v)
        a = np.array(np.asarray(v.detach().primal() if isinstance(v, Tensor) else v), copy=True)
        if self._torch_state and key == "step":
            # kept in its floating-point dtype, as PyTorch's load_state_dict keeps it
            return Tensor(a.astype(_scalar_dtype()) if a.ndim == 0 and a.dtype.kind != "f" else a, EAGER)
        # in the parameter's dtype, as PyTorch's load casts to a floating-point parameter's; a complex
        # parameter's real numbers (ASGD's eta) stay real, as there
        if a.dtype.kind in "fc" and (p._value.dtype.kind == "f" or a.dtype.kind == "c"):
            a = a.astype(p._value.dtype)
        shape = self._state_shape(key, p._value.shape)
        # a built-in optimizer's state has known shapes; a subclass's is its own (factored moments, say)
        if a.ndim and a.shape != shape and self._torch_state and not self._state_is_flat:
            raise ValueError(f"the saved state '{key}' of parameter {where} has shape {a.shape}, "
                             f"{'the parameter has' if shape == p._value.shape else 'it must have'} shape {shape}")
        return Tensor(a, EAGER) if isinstance(v, Tensor) or self._torch_state else a

    def _state_shape(self, key: str, shape: tuple) -> tuple:
        """The shape of the state entry ``key`` of a parameter of ``shape`` (the parameter's)."""
        return shape

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict` (this optimizer's, or PyTorch's of the same
        optimizer with its tensors): the groups must hold the same numbers of parameters,
        and each saved array must have its parameter's shape."""
        for hook in list(self._optimizer_load_state_dict_pre_hooks.values()):
            state_dict = hook(self, state_dict) or state_dict
        groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        if groups is None or "state" not in state_dict:
            raise ValueError("not an optimizer state_dict: expected keys 'state' and 'param_groups'")
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups ({len(groups)} saved, "
                f"{len(self.param_groups)} in this optimizer)"
            )
        for saved, own in zip(groups, self.param_groups, strict=True):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of optimizer's group "
                    f"({len(saved['params'])} parameters saved, {len(own['params'])} in this optimizer's)"
                )
        by_index = {}
        for saved, own in zip(groups, self.param_groups, strict=True):
            for i, p in zip(saved["params"], own["params"], strict=True):
                by_index[i] = p
        new_state = defaultdict(dict)
        for key, entry in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(f"the saved state refers to parameter {key}, which no group holds")
            new_state[p] = {k: self._import(p, k, v, key) for k, v in entry.items()}
        for saved, own in zip(groups, self.param_groups, strict=True):
            for k, v in saved.items():
                if k != "params":
                    own[k] = copy.deepcopy(v)
        self.state = new_state
        for hook in list(self._optimizer_load_state_dict_post_hooks.values()):
            hook(self)

    def __getstate__(self) -> dict:
        """A copy or a pickle leaves out the wrapper a learning-rate schedule put on ``step``
        (it refers to this optimizer) and the hooks, as PyTorch's does."""
        return {k: v for k, v in self.__dict__.items() if k not in ("step", "_opt_called", "_in_step", *_HOOK_STORES)}

    def __setstate__(self, state: dict) -> None:
        """Restore a copy or a pickle (an optimizer of one's own may extend this, calling
        ``super().__setstate__(state)`` and then filling in defaults, as for PyTorch's)."""
        self.__dict__.update(state)
        for name in _HOOK_STORES:  # (a copy starts with no hooks, as PyTorch's)
            self.__dict__.setdefault(name, OrderedDict())

    def _cuda_graph_capture_health_check(self) -> None:
        """PyTorch's check before a CUDA graph capture, which steps copied from its optimizers
        call: nothing to check (chainrule computes on the CPU)."""

    _accelerator_graph_capture_health_check = _cuda_graph_capture_health_check

    def __repr__(self) -> str:
        text = f"{type(self).__name__} ("  # PyTorch's, a blank line between groups
        for i, group in enumerate(self.param_groups):
            options = "".join(f"    {k}: {group[k]}\n" for k in sorted(group) if k != "params")
            text += f"\nParameter Group {i}\n{options}"
        return text + ")"


# (tuples: isinstance with a tuple is several times faster than with an X | Y union)
_ARRAY = (np.ndarray, np.generic)
_NUMBER = (int, float, np.number, np.ndarray)


def _scalar_dtype(fused: bool | None = None) -> type:
    """PyTorch's dtype for the numbers its optimizers keep as tensors (``step``): float32,
    or float64 where that is the default dtype (but for its fused kernels')."""
    return np.float64 if get_default_dtype() == np.float64 and not fused else np.float32


def _arrays(state: dict) -> dict:
    """A built-in optimizer's state as its update reads it: each Tensor's array (written
    in place, a 0-d one too: a 0-d parameter's moments), ``step`` a count (PyTorch's
    ``step.item()``)."""
    out = {k: v._value if isinstance(v, Tensor) else v for k, v in state.items()}
    step = out.get("step")
    if isinstance(step, _ARRAY) and step.size == 1:
        out["step"] = int(step)
    return out


def _put(state: dict, arrays: dict, fused: bool | None = None) -> None:
    """Write the update's ``arrays`` back into ``state`` as PyTorch's optimizers hold them:
    Tensors on the same memory (made once), numbers into 0-d Tensors in place (``step``
    one of PyTorch's scalar dtype), so that a Tensor taken from the state follows the steps."""
    get = state.get
    for k, v in arrays.items():
        old = get(k)
        was = getattr(old, "_value", None)
        if was is v:  # the same memory: the update wrote into it
            continue
        if k == "step" and type(v) is int and type(was) is np.ndarray and was.ndim == 0:
            was[()] = v  # counted in place, as PyTorch's step_t += 1
        elif isinstance(v, np.ndarray) and v.ndim:
            state[k] = Tensor(v, EAGER)
        elif isinstance(v, _NUMBER) and not isinstance(v, bool):
            if isinstance(was, np.ndarray) and not was.ndim and was.flags.writeable:
                was[()] = v
            else:
                state[k] = Tensor(np.array(v, dtype=_scalar_dtype(fused) if k == "step" else None), EAGER)
        elif v is not old:
            state[k] = v


def _copy_value(v):
    return np.array(v, copy=True) if isinstance(v, np.ndarray) else copy.deepcopy(v)


def _number(v):
    """A hyperparameter as the update reads it: a 0-d Tensor (PyTorch takes ``lr=torch.tensor(0.01)``)
    as its number, a tuple of them (``betas``) as numbers."""
    if isinstance(v, Tensor):
        return v.item()
    if isinstance(v, tuple) and any(isinstance(x, Tensor) for x in v):
        return tuple(_number(x) for x in v)
    return v


def _numbers(group: dict) -> dict:
    """``group``, or a copy with its Tensor hyperparameters read as numbers."""
    if not any(isinstance(v, Tensor | tuple) for k, v in group.items() if k != "params"):
        return group
    return {k: v if k == "params" else _number(v) for k, v in group.items()}


# -- torch.optim.optimizer's helpers, which optimizers copied from PyTorch's source use ---------
def _use_grad_for_differentiable(step: Callable) -> Callable:
    """Run ``step`` with gradients recorded only for an optimizer made with differentiable=True."""
    @functools.wraps(step)
    def with_grad_mode(self, *args, **kwargs):
        before = is_grad_enabled()
        set_grad_enabled(bool(self.defaults.get("differentiable", False)))
        try:
            return step(self, *args, **kwargs)
        finally:
            set_grad_enabled(before)
    return with_grad_mode


def _get_value(x):
    """A number kept as a Tensor (``step``), as a Python number."""
    return x.item() if isinstance(x, Tensor) else x


def _stack_if_compiling(x):
    """``x`` as it is (PyTorch stacks it under torch.compile, which chainrule does not trace)."""
    return x


def _get_scalar_dtype(is_fused: bool | None = None):
    """The dtype of the numbers PyTorch's optimizers keep as Tensors (``step``)."""
    return np.dtype(_scalar_dtype(is_fused))


def _default_to_fused_or_foreach(params, differentiable: bool, use_fused: bool = False) -> tuple[bool, bool]:
    """(fused, foreach): neither, one NumPy step serving every kernel."""
    return False, False
