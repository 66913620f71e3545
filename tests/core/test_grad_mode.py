"""Grad modes as PyTorch's: no_grad, enable_grad, set_grad_enabled and inference_mode as
context managers (nested), as decorators with and without parentheses, and the queries."""

import threading

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def modes(L):
    x = L.ones(1, requires_grad=True)
    out = []

    def record(tag):
        out.append((tag, (x * 2).requires_grad, L.is_grad_enabled(), L.is_inference_mode_enabled()))

    record("start")
    with L.no_grad():
        record("no_grad")
        with L.enable_grad():
            record("enable_grad in no_grad")
        with L.inference_mode(False):
            record("inference_mode(False) in no_grad")
        record("back in no_grad")
    with L.inference_mode():
        record("inference_mode")
        with L.inference_mode(False):
            record("inference_mode(False) in it")
        with L.enable_grad():  # asked for, but nothing is recorded in inference mode
            record("enable_grad in inference_mode")
            with L.no_grad():
                record("no_grad in enable_grad in inference_mode")
            with L.inference_mode(False):
                record("inference_mode(False) in enable_grad in inference_mode")
        with L.set_grad_enabled(True):
            record("set_grad_enabled(True) in inference_mode")
        record("back in inference_mode")
    with L.inference_mode(mode=True):
        record("inference_mode(mode=True)")

    @L.no_grad
    def bare_no_grad():
        record("@no_grad")

    @L.no_grad()
    def called_no_grad():
        record("@no_grad()")

    @L.inference_mode
    def bare_inference():
        record("@inference_mode")

    @L.inference_mode(False)
    def no_inference():
        record("@inference_mode(False)")

    @L.enable_grad
    def bare_enable():
        record("@enable_grad")

    @L.set_grad_enabled(False)
    def decorated_off():
        record("@set_grad_enabled(False)")

    bare_no_grad()
    called_no_grad()
    bare_inference()
    with L.no_grad():
        bare_enable()
        no_inference()
    decorated_off()
    record("after decorators")
    L.set_grad_enabled(False)
    record("set_grad_enabled(False)")
    L.set_grad_enabled(True)
    with L.set_grad_enabled(False):
        record("with set_grad_enabled(False)")
    record("end")
    return out


def test_grad_modes_nest_and_decorate_as_torch_s():
    ours, theirs = modes(cr), modes(torch)
    assert ours == theirs


def test_a_mode_belongs_to_its_thread_and_is_restored_after_an_error():
    seen = []
    with cr.inference_mode():
        thread = threading.Thread(target=lambda: seen.append((cr.is_grad_enabled(), cr.is_inference_mode_enabled())))
        thread.start()
        thread.join()
    assert seen == [(True, False)]
    with pytest.raises(ValueError), cr.inference_mode():
        raise ValueError
    assert cr.is_grad_enabled() and not cr.is_inference_mode_enabled()

    @cr.inference_mode
    def fails():
        raise KeyError

    with pytest.raises(KeyError):
        fails()
    assert cr.is_grad_enabled() and not cr.is_inference_mode_enabled()


def _generator_modes(L):
    w = L.ones(2, requires_grad=True)
    seen = []

    @L.no_grad()
    def without(n):
        for i in range(n):
            yield (w * i).requires_grad, L.is_grad_enabled()

    @L.inference_mode()
    def inferring(n):
        for i in range(n):
            yield (w * i).requires_grad, L.is_inference_mode_enabled()

    @L.set_grad_enabled(False)
    def switched():
        got = yield L.is_grad_enabled()
        yield got, L.is_grad_enabled()

    for label, gen in (("no_grad", without(2)), ("inference_mode", inferring(2))):
        for pair in gen:
            seen.append((label, pair, L.is_grad_enabled(), L.is_inference_mode_enabled()))  # the caller's mode
    gen = switched()
    seen.append(("set_grad_enabled", next(gen), L.is_grad_enabled(), gen.send("sent")))
    return seen


def test_mode_decorators_hold_over_a_generator_s_body_as_torch_s():
    assert _generator_modes(cr) == _generator_modes(torch)
