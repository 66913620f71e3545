"""The hooks of :class:`~chainrule.nn.Module`: ``__call__`` with its forward and backward
hooks, and the registration of those and of the ``state_dict``/``load_state_dict`` hooks
(which :mod:`chainrule.nn._state_dict` runs)."""

from __future__ import annotations

import warnings
from collections import OrderedDict
from types import MappingProxyType

from chainrule.core.eager import HookHandle
from chainrule.nn._backward_hooks import (
    GLOBAL_BACKWARD_HOOKS,
    GLOBAL_BACKWARD_PRE_HOOKS,
    call_with_backward_hooks,
    hook_kind,
)
from chainrule.nn._state_dict import PublicHook
from chainrule.numpy.torch_runtime import compile as compile_model

__all__ = ["ModuleHooks", "HOOK_STORES", "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_hook", "register_module_full_backward_pre_hook"]

# the hooks of every module, run before each module's own, as PyTorch's global hooks: as a
# module's, dicts from the handle's id to the hook, and the ids of the hooks with each flag
GLOBAL_FORWARD_PRE_HOOKS: OrderedDict = OrderedDict()
GLOBAL_FORWARD_HOOKS: OrderedDict = OrderedDict()
GLOBAL_FORWARD_HOOKS_WITH_KWARGS: OrderedDict = OrderedDict()
GLOBAL_FORWARD_HOOKS_ALWAYS_CALLED: OrderedDict = OrderedDict()

# a module's stores of hooks, PyTorch's: each maps a handle's id to its hook (or, for the
# ``_with_kwargs`` and ``_always_called`` ones, to True), in the order the hooks run
HOOK_STORES = ("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks", "_forward_hooks_with_kwargs",
               "_forward_hooks_always_called", "_backward_hooks", "_backward_pre_hooks", "_state_dict_pre_hooks",
               "_state_dict_hooks", "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks")

_NONE: MappingProxyType = MappingProxyType({})  # the stores of a module whose Module.__init__ has not run


def add_hook(hooks: OrderedDict, hook, prepend: bool = False, flags: tuple = ()) -> HookHandle:
    """Put ``hook`` in ``hooks`` under its handle's id (first if ``prepend``), with that id
    in each of the dicts ``flags``, as PyTorch's registrations do."""
    handle = HookHandle(hooks, extra=flags)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    for flag in flags:
        flag[handle.id] = True
    return handle


def register_module_forward_pre_hook(hook) -> HookHandle:
    """Call ``hook(module, args)`` before the ``forward`` of every module, ahead of the
    module's own pre-hooks (PyTorch's ``torch.nn.modules.module`` global hook, as profilers
    and FLOP counters use); a value it returns replaces the positional arguments.

    >>> import numpy as np
    >>> from chainrule import nn
    >>> seen = []
    >>> handle = register_module_forward_pre_hook(lambda m, args: seen.append(type(m).__name__))
    >>> _ = nn.Sequential(nn.Linear(2, 2), nn.Tanh())(np.ones((1, 2), np.float32)); handle.remove()
    >>> seen
    ['Sequential', 'Linear', 'Tanh']
    """
    return add_hook(GLOBAL_FORWARD_PRE_HOOKS, hook)


def register_module_forward_hook(hook, *, with_kwargs: bool = False, always_call: bool = False) -> HookHandle:
    """Call ``hook(module, args, output)`` after the ``forward`` of every module, ahead of
    the module's own forward hooks (``with_kwargs=True``: ``hook(module, args, kwargs,
    output)``); a value it returns replaces the output, as PyTorch's global hook.
    ``always_call=True``: also when the call raises (see :meth:`ModuleHooks.register_forward_hook`).

    >>> import numpy as np
    >>> from chainrule import nn
    >>> shapes = []
    >>> handle = register_module_forward_hook(lambda m, args, out: shapes.append(tuple(out.shape)))
    >>> _ = nn.Linear(2, 3)(np.ones((4, 2), np.float32)); handle.remove()
    >>> shapes
    [(4, 3)]
    """
    flags = (GLOBAL_FORWARD_HOOKS_WITH_KWARGS,) * with_kwargs + (GLOBAL_FORWARD_HOOKS_ALWAYS_CALLED,) * always_call
    return add_hook(GLOBAL_FORWARD_HOOKS, hook, flags=flags)


def register_module_full_backward_hook(hook) -> HookHandle:
    """Call ``hook(module, grad_input, grad_output)`` in the backward pass of every module
    (see :meth:`ModuleHooks.register_full_backward_hook`), ahead of the module's own.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> handle = register_module_full_backward_hook(lambda m, gi, go: print(type(m).__name__))
    >>> nn.Linear(2, 1, dtype="float64")(cr.ones(1, 2, requires_grad=True)).sum().backward(); handle.remove()
    Linear
    """
    return add_hook(GLOBAL_BACKWARD_HOOKS, hook)


def register_module_full_backward_pre_hook(hook) -> HookHandle:
    """Call ``hook(module, grad_output)`` in the backward pass of every module before the
    gradients flow into it, ahead of the module's own pre-hooks, as PyTorch's global hook.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> handle = register_module_full_backward_pre_hook(lambda m, go: print(go[0].tolist()))
    >>> nn.Linear(2, 1, dtype="float64")(cr.ones(1, 2)).sum().backward(); handle.remove()
    [[1.0]]
    """
    return add_hook(GLOBAL_BACKWARD_PRE_HOOKS, hook)


class _Call:
    """One hooked call of a module: its arguments as the pre-hooks left them, its output
    so far, and the forward hooks that ran (for those with ``always_call=True``)."""

    __slots__ = ("args", "kwargs", "result", "ran")

    def __init__(self, args: tuple, kwargs: dict):
        self.args, self.kwargs, self.result, self.ran = args, kwargs, None, set()


class ModuleHooks:
    """The part of :class:`~chainrule.nn.Module` that calls ``forward`` and its hooks."""

    # (Module.__init__ gives each module its own stores, see HOOK_STORES)
    _forward_pre_hooks = _forward_pre_hooks_with_kwargs = _forward_hooks = _NONE
    _forward_hooks_with_kwargs = _forward_hooks_always_called = _backward_hooks = _backward_pre_hooks = _NONE

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks
                or GLOBAL_FORWARD_PRE_HOOKS or GLOBAL_FORWARD_HOOKS or GLOBAL_BACKWARD_HOOKS
                or GLOBAL_BACKWARD_PRE_HOOKS):
            return self.forward(*args, **kwargs)
        call = _Call(args, kwargs)
        try:
            return self._hooked_call(call)
        except Exception:
            self._run_always_called_hooks(call)
            raise

    # PyTorch's names of the call with hooks (``nn.Module._call_impl(self, x)`` in code
    # that overrides ``__call__`` and still wants the hooks)
    _call_impl = __call__
    _wrapped_call_impl = __call__

    def _hooked_call(self, call: _Call):
        with_kwargs = self._forward_pre_hooks_with_kwargs
        for hook_id, hook in (*GLOBAL_FORWARD_PRE_HOOKS.items(), *self._forward_pre_hooks.items()):
            if hook_id in with_kwargs:  # hook(module, args, kwargs) -> (args, kwargs)
                new = hook(self, call.args, call.kwargs)
                if new is not None:
                    if not (isinstance(new, tuple) and len(new) == 2):
                        raise RuntimeError("a forward pre-hook registered with with_kwargs=True must return None or "
                                           f"a tuple (new_args, new_kwargs), but returned {new!r}")
                    call.args, call.kwargs = new
                continue
            new = hook(self, call.args)
            if new is not None:
                call.args = new if isinstance(new, tuple) else (new,)
        if self._backward_hooks or self._backward_pre_hooks or GLOBAL_BACKWARD_HOOKS or GLOBAL_BACKWARD_PRE_HOOKS:
            return call_with_backward_hooks(self, call.args, call.kwargs,
                                            lambda args, kwargs: self._forward_and_hooks(args, kwargs, call))
        return self._forward_and_hooks(call.args, call.kwargs, call)

    def _forward_and_hooks(self, args: tuple, kwargs: dict, call: _Call):
        call.args, call.kwargs = args, kwargs
        out = call.result = self.forward(*args, **kwargs)
        for hook_id, hook in (*GLOBAL_FORWARD_HOOKS.items(), *self._forward_hooks.items()):
            call.ran.add(hook_id)
            new = hook(self, args, kwargs, out) if self._with_kwargs(hook_id) else hook(self, args, out)
            if new is not None:
                out = call.result = new
        return out

    def _run_always_called_hooks(self, call: _Call) -> None:
        """After the call raised: the forward hooks registered with ``always_call=True`` that
        have not run yet, with the output so far (None if ``forward`` raised); an exception
        one of them raises becomes a warning, and the call's own exception goes on, as PyTorch's."""
        for hook_id, hook in (*GLOBAL_FORWARD_HOOKS.items(), *self._forward_hooks.items()):
            if hook_id in call.ran or not (hook_id in self._forward_hooks_always_called
                                           or hook_id in GLOBAL_FORWARD_HOOKS_ALWAYS_CALLED):
                continue
            try:
                new = (hook(self, call.args, call.kwargs, call.result) if self._with_kwargs(hook_id)
                       else hook(self, call.args, call.result))
            except Exception as e:
                warnings.warn(f"a forward hook with always_call=True of {type(self).__name__} raised an exception "
                              f"that was silenced, as the call had raised another: {e}", stacklevel=3)
                continue
            if new is not None:
                call.result = new

    def _with_kwargs(self, hook_id: int) -> bool:
        """Whether the forward hook of ``hook_id`` takes the keyword arguments too."""
        return hook_id in self._forward_hooks_with_kwargs or hook_id in GLOBAL_FORWARD_HOOKS_WITH_KWARGS

    def compile(self, *args, **kwargs) -> None:
        """PyTorch's ``module.compile(...)``, which compiles the module's ``__call__`` in
        place and returns None: here the module runs as written (the arguments are those of
        :func:`chainrule.compile`, and checked as it checks them); :func:`chainrule.jit`
        is chainrule's compiler of functional code."""
        compile_model(self, *args, **kwargs)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> HookHandle:
        """Call ``hook(module, grad_input, grad_output)`` in the backward pass, once the
        gradients of this call's positional inputs are known (None for an input that is
        not on the graph); a tuple it returns replaces ``grad_input`` (PyTorch's).

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> layer = nn.Linear(2, 1, dtype="float64")
        >>> h = layer.register_full_backward_hook(lambda m, gi, go: print(go[0].tolist()))
        >>> layer(cr.ones(3, 2, requires_grad=True)).sum().backward()
        [[1.0], [1.0], [1.0]]
        """
        hook_kind(self, True)
        return self._add_hook("_backward_hooks", hook, prepend)

    def register_backward_hook(self, hook) -> HookHandle:
        """PyTorch's deprecated backward hook (with its FutureWarning at each call):
        ``grad_input`` holds the gradients of the module's positional inputs, as the full
        hook's; PyTorch's, of the last operation's inputs, are the same for a module of one
        operation (guided backpropagation's hook on ``ReLU`` layers works as in PyTorch)."""
        hook_kind(self, False)
        return self._add_hook("_backward_hooks", hook)

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> HookHandle:
        """Call ``hook(module, grad_output)`` in the backward pass before the gradients flow
        into the module; a tuple it returns replaces ``grad_output`` (PyTorch's)."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def _store(self, kind: str) -> OrderedDict:
        """The module's dict of hooks ``kind`` (made here for a module whose
        ``Module.__init__`` has not run)."""
        hooks = self.__dict__.get(kind)
        if hooks is None:
            hooks = self.__dict__[kind] = OrderedDict()
        return hooks

    def _add_hook(self, kind: str, hook, prepend: bool = False, with_kwargs: bool = False,
                  always_call: bool = False) -> HookHandle:
        # PyTorch's flags: the hook also takes the keyword arguments, or runs also when the call raises
        flags = ((self._store(kind + "_with_kwargs"),) * with_kwargs
                 + (self._store(kind + "_always_called"),) * always_call)
        return add_hook(self._store(kind), hook, prepend, flags)

    def register_forward_pre_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False) -> HookHandle:
        """Call ``hook(module, args)`` before each ``forward``; a value it returns (a tuple,
        or one argument) replaces the positional arguments. ``handle.remove()`` takes it off.
        As PyTorch's, ``prepend=True`` puts it first and ``with_kwargs=True`` calls
        ``hook(module, args, kwargs)``, whose ``(args, kwargs)`` replaces them.

        >>> import numpy as np
        >>> from chainrule import nn
        >>> layer = nn.Linear(2, 2)
        >>> handle = layer.register_forward_pre_hook(lambda m, args: args[0] * 0)
        >>> float(abs(layer(np.ones((1, 2), np.float32)) - layer.bias).sum()); handle.remove()
        0.0
        """
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_load_state_dict_pre_hook(self, hook) -> HookHandle:
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs)`` may rewrite (a copy of) the state dict ``load_state_dict`` reads, as PyTorch's."""
        return self._add_hook("_load_state_dict_pre_hooks", hook)

    def _register_load_state_dict_pre_hook(self, hook, with_module: bool = False) -> HookHandle:
        """PyTorch's private spelling: ``hook`` without the module unless ``with_module``."""
        return self.register_load_state_dict_pre_hook(hook if with_module else (lambda m, *args: hook(*args)))

    def register_load_state_dict_post_hook(self, hook) -> HookHandle:
        """``hook(module, incompatible_keys)`` after this module and its children are loaded;
        it may edit ``incompatible_keys.missing_keys``/``unexpected_keys`` in place (before
        ``strict`` judges them) and returns None, as PyTorch's."""
        return self._add_hook("_load_state_dict_post_hooks", hook)

    def register_state_dict_pre_hook(self, hook) -> HookHandle:
        """``hook(module, prefix, keep_vars)`` before ``state_dict`` saves this module."""
        return self._add_hook("_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook) -> HookHandle:
        """``hook(module, state_dict, prefix, local_metadata)`` after ``state_dict`` saved this
        module and its children; it edits ``state_dict`` in place and returns None."""
        return self._add_hook("_state_dict_hooks", PublicHook(hook))

    def _register_state_dict_hook(self, hook) -> HookHandle:
        """PyTorch's private post-hook: as :meth:`register_state_dict_post_hook`, and a dict
        it returns replaces the state dict."""
        return self._add_hook("_state_dict_hooks", hook)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> HookHandle:
        """Call ``hook(module, args, output)`` after each ``forward``; a value it returns
        replaces the output (PyTorch's forward hook, e.g. to keep a layer's features);
        ``prepend`` and ``with_kwargs`` (``hook(module, args, kwargs, output)``) as PyTorch's.
        ``always_call=True`` runs it also when the call raises (in a pre-hook, ``forward``
        or a later hook), with the output so far (None if ``forward`` raised), before the
        exception goes on; an exception of its own then is only warned of, as in PyTorch.

        >>> import numpy as np
        >>> from chainrule import nn
        >>> seen = []
        >>> layer = nn.Linear(3, 2)
        >>> handle = layer.register_forward_hook(lambda m, args, out: seen.append(out.shape))
        >>> _ = layer(np.ones((4, 3), np.float32)); handle.remove(); _ = layer(np.ones((1, 3), np.float32))
        >>> seen
        [torch.Size([4, 2])]
        """
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs, always_call)
