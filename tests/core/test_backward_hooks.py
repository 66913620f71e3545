"""Hooks after a leaf's gradient is accumulated, and callbacks at the end of backward()."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.eager import queue_callback


def test_post_accumulate_hook_sees_the_accumulated_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (w * w).sum().backward()
    (3 * w).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, 4.0])
    np.testing.assert_array_equal(seen[1], [5.0, 7.0])  # after accumulation
    handle.remove()
    w.sum().backward()
    assert len(seen) == 2


def test_post_accumulate_hook_runs_after_gradient_hooks_and_once_per_pass():
    w = cr.tensor([1.0], requires_grad=True)
    order = []
    w.register_post_accumulate_grad_hook(lambda t: order.append(("post", float(t.grad.numpy()[0]))))
    w.register_hook(lambda g: order.append("pre") or g * 10)
    (w * w + w).sum().backward()  # w used twice: its gradient arrives once, summed
    assert order == ["pre", ("post", 30.0)]


def test_hooks_of_a_leaf_outlive_switching_requires_grad_off_and_on():
    # a GAN freezes its discriminator for the generator's step: the hooks on its weights
    # (DistributedDataParallel's averaging among them) were dropped with the leaf's node,
    # and came back silently missing; PyTorch keeps them (checked on torch 2.13)
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    order = []
    w.register_hook(lambda g: order.append("pre") or g * 10)
    handle = w.register_post_accumulate_grad_hook(lambda t: order.append(("post", t.grad.tolist())))
    for _ in range(2):
        w.requires_grad_(False)
        w.requires_grad_(True)
    (w * w).sum().backward()
    assert order == ["pre", ("post", [20.0, 40.0])]
    handle.remove()  # a handle taken before the switch still removes its hook
    w.requires_grad_(False)
    w.requires_grad_(True)
    w.grad = None
    order.clear()
    w.sum().backward()
    assert order == ["pre"] and w.grad.tolist() == [10.0, 10.0]


def test_post_accumulate_hook_only_on_leaves():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="only a leaf Tensor"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="requires grad"):
        cr.tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)


def test_queue_callback_runs_after_the_pass_before_backward_returns():
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([2.0], requires_grad=True)
    log = []

    def hook(t):
        log.append(("hook", t is a))
        if len(log) == 1:
            queue_callback(lambda: log.append(("end", a.grad is not None and b.grad is not None)))
            queue_callback(lambda: queue_callback(lambda: log.append("queued by a callback")))

    a.register_post_accumulate_grad_hook(hook)
    b.register_post_accumulate_grad_hook(hook)
    (a * b).sum().backward()
    assert log[-2:] == [("end", True), "queued by a callback"]
    assert len(log) == 4
    (a * b).sum().backward()  # callbacks of one pass do not carry over to the next
    assert len(log) == 6  # two hooks, no callback left over from the first pass


def test_queue_callback_outside_backward_is_an_error():
    with pytest.raises(RuntimeError, match="during backward"):
        queue_callback(lambda: None)


def test_callbacks_are_dropped_when_the_pass_fails():
    w = cr.tensor([1.0], requires_grad=True)
    ran = []

    def bad(g):
        queue_callback(lambda: ran.append(1))
        raise ValueError("boom")

    y = w * 2
    y.register_hook(bad)
    with pytest.raises(ValueError, match="boom"):
        y.sum().backward()
    assert ran == []
    w.sum().backward()  # and the next pass starts clean
    assert ran == []


@pytest.mark.parametrize("returned", [(3,), (1,), (2, 1), ()])
@pytest.mark.parametrize("on", ["leaf", "computed"])
def test_a_hook_that_changes_the_gradient_s_shape_is_refused_as_torch(returned, on):
    torch = pytest.importorskip("torch")
    for lib in (cr, torch):
        w = lib.ones(2, requires_grad=True)
        t = w if on == "leaf" else w * 2
        t.register_hook(lambda g, lib=lib: lib.ones(returned))
        with pytest.raises(RuntimeError, match="(changed the size|changed the shape)"):
            (t * 3).sum().backward()
