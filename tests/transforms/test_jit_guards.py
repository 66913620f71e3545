"""What a recorded program of cr.jit is keyed and guarded on, against state that changes
between calls: each program runs jitted and plain over a sequence of calls, with the
state changed before each, and every call must give the same bits (values, dtypes,
types of the results) as the plain call."""

import contextvars
import decimal
import functools
import gc
import sys
import time
import types
import weakref

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr
from chainrule.core.tensor import PRINT_OPTIONS


def A(*values):
    return np.array(values, dtype=float)


def each_call_as_plain(fun, calls, before=lambda k: None):
    """``fun`` jitted and plain, call by call; ``before(k)`` changes the state first."""
    jitted = cr.jit(fun)
    for k, args in enumerate(calls):
        before(k)
        got, want = jitted(*args), fun(*args)
        assert same(got, want), (k, got, want)
    return jitted


# -- functions that objects among the arguments hold -----------------------------------
class Config:
    def __init__(self, act):
        self.act = act


def _apply(cfg, x):
    return cfg.act(x) + 1.0


def _times(k):
    return lambda x: x * k


def test_a_function_attribute_replaced_by_another_is_a_new_key():
    # the old function is freed, and the new one may be made where it was (the same id)
    cfg = Config(_times(1.0))

    def before(k):
        cfg.act = None
        gc.collect()
        cfg.act = _times(float(k))

    each_call_as_plain(_apply, [(cfg, A(1.0))] * 6, before)


SCALE = 1.0


def _by_scale(x):
    return x * SCALE


def test_what_a_function_attribute_reads_is_watched():
    global SCALE
    cfg = Config(_by_scale)

    def before(k):
        global SCALE
        SCALE = float(k)

    try:
        each_call_as_plain(_apply, [(cfg, A(1.0))] * 3, before)
    finally:
        SCALE = 1.0


def test_the_defaults_and_partial_arguments_of_a_function_attribute_are_watched():
    defaults = Config(lambda x, k=[1.0]: x * k[0])  # noqa: B006 (the state under test)
    each_call_as_plain(_apply, [(defaults, A(1.0))] * 3,
                       lambda k: defaults.act.__defaults__[0].__setitem__(0, float(k)))
    scale = [1.0]
    partial = Config(functools.partial(lambda s, x: x * s[0], scale))
    each_call_as_plain(_apply, [(partial, A(1.0))] * 3, lambda k: scale.__setitem__(0, float(k)))


class _Scaler:
    def __init__(self):
        self.k = 1.0

    def scale(self, x):
        return x * self.k


def test_the_instance_of_a_bound_method_attribute_is_watched():
    scaler = _Scaler()
    cfg = Config(scaler.scale)
    each_call_as_plain(_apply, [(cfg, A(1.0))] * 3, lambda k: setattr(scaler, "k", float(k)))


class _Holder:
    def __init__(self, inner):
        self.inner = inner


def test_state_six_references_from_an_argument_is_keyed():
    leaf = _Holder(1.0)
    deep = _Holder(_Holder(_Holder(_Holder(leaf))))
    each_call_as_plain(lambda o, x: x * o.inner.inner.inner.inner.inner, [(deep, A(1.0))] * 3,
                       lambda k: setattr(leaf, "inner", float(k)))
    table = _Holder({"a": {"b": {"c": {"d": 1.0}}}})
    each_call_as_plain(lambda o, x: x * o.inner["a"]["b"]["c"]["d"], [(table, A(1.0))] * 3,
                       lambda k: table.inner["a"]["b"]["c"].__setitem__("d", float(k)))


# -- arguments that == equates but a program does not ----------------------------------
class _Float(float):
    pass


@pytest.mark.parametrize(("fun", "values"), [
    (lambda x, s: x * next(iter(s)), [frozenset({0.0}), frozenset({-0.0})]),
    (lambda x, r: x * r.start, [range(0), range(5, 5)]),
    (lambda x, d: x * float(d), [decimal.Decimal("0"), decimal.Decimal("-0")]),
    (lambda x, d: (x, str(d)), [decimal.Decimal("1.0"), decimal.Decimal("1.00")]),
    (lambda x, s: x * s, [_Float(0.0), _Float(-0.0)]),
], ids=["frozenset", "range", "decimal-sign", "decimal-digits", "float-subclass"])
def test_equal_constants_that_differ_are_different_keys(fun, values):
    each_call_as_plain(fun, [(A(1.0), v) for v in values])
    cfg = Config(values[0])  # an attribute of an object among the arguments, set anew
    each_call_as_plain(lambda x, c: fun(x, c.act), [(A(1.0), cfg)] * len(values),
                       lambda k: setattr(cfg, "act", values[k]))


def test_numpy_strings_are_constants():
    def fun(x, s):
        return x * len(s), s.upper(), s + s[:1]

    each_call_as_plain(fun, [(A(1.0), np.str_("ab")), (A(1.0), np.str_("abc")),
                             (A(2.0), np.bytes_(b"xy")), (A(2.0), np.str_("ab"))])


# -- global settings that text depends on ----------------------------------------------
def test_text_of_a_tensor_made_inside_follows_chainrule_print_options():
    saved = dict(PRINT_OPTIONS)
    try:
        each_call_as_plain(lambda x: str(cr.tensor(x)), [(A(1.123456, 1.0),)] * 3,
                           lambda k: cr.set_printoptions(precision=2 + k))
    finally:
        PRINT_OPTIONS.clear()
        PRINT_OPTIONS.update(saved)


# -- a global that is not defined when traced ------------------------------------------
def _late_scaled(x):
    try:
        scale = LATE_SCALE  # noqa: F821 (defined between calls)
    except NameError:
        scale = 1.0
    return x * scale


def test_a_global_defined_after_the_trace_is_read():
    def before(k):
        if k == 1:
            globals()["LATE_SCALE"] = 3.0
        elif k == 2:
            del globals()["LATE_SCALE"]

    each_call_as_plain(_late_scaled, [(A(1.0),)] * 4, before)


def test_the_attributes_of_a_module_among_the_arguments_are_watched():
    settings = types.ModuleType("settings")  # a module of the user's, made in memory
    settings.LR = 1.0
    each_call_as_plain(lambda s, x: x * s.LR, [(settings, A(1.0))] * 3,
                       lambda k: setattr(settings, "LR", float(k)))
    cfg = Config(settings)  # held by an object among the arguments
    each_call_as_plain(lambda c, x: x * c.act.LR, [(cfg, A(1.0))] * 3,
                       lambda k: setattr(settings, "LR", float(k) + 1))


# -- object arrays: their bytes are pointers -------------------------------------------
class _Particle:
    def __init__(self):
        self.mass = 1.0


def test_the_items_of_an_object_array_are_watched():
    particles = np.array([_Particle(), _Particle()], dtype=object)
    each_call_as_plain(lambda x: x * particles[0].mass, [(A(1.0),)] * 3,
                       lambda k: setattr(particles[0], "mass", float(k)))
    holder = Config(np.array([_Particle()], dtype=object))
    each_call_as_plain(lambda c, x: x * c.act[0].mass, [(holder, A(1.0))] * 3,
                       lambda k: setattr(holder.act[0], "mass", float(k)))


@pytest.mark.parametrize("keys", [(decimal.Decimal("0"), decimal.Decimal("-0")), ((0.0,), (-0.0,))],
                         ids=["decimal", "tuple"])
def test_dict_keys_that_equal_without_being_the_same_are_different_keys(keys):
    def fun(d):
        return [np.float64(float(k if type(k) is decimal.Decimal else k[0])) * v for k, v in d.items()]

    each_call_as_plain(fun, [({k: A(1.0)},) for k in keys])


# -- the aux data of registered pytree classes -----------------------------------------
class _Node:
    def __init__(self, w, aux):
        self.w, self.aux = w, aux


cr.register_pytree_node(_Node, lambda n: ((n.w,), n.aux), lambda aux, children: _Node(children[0], aux))


def test_pytree_aux_data_is_keyed_by_value():
    cfg = Config(1.0)  # an object of the user's, changed in place
    node = _Node(A(1.0), cfg)
    each_call_as_plain(lambda n: n.w * n.aux.act, [(node,)] * 3, lambda k: setattr(cfg, "act", float(k)))
    each_call_as_plain(lambda n: n.w * float(n.aux),
                       [(_Node(A(1.0), decimal.Decimal(v)),) for v in ("0", "-0", "0")])


# -- chainrule's global settings -------------------------------------------------------
@pytest.mark.parametrize(("read", "change"), [
    (cr.is_grad_enabled, lambda k: cr.set_grad_enabled(k % 2 == 0)),
    (cr.is_anomaly_enabled, lambda k: cr.autograd.set_detect_anomaly(k == 1)),
    (cr.get_float32_matmul_precision, lambda k: cr.set_float32_matmul_precision(("highest", "high", "highest")[k])),
    (cr.are_deterministic_algorithms_enabled, lambda k: cr.use_deterministic_algorithms(k == 1)),
], ids=["grad", "anomaly", "matmul-precision", "deterministic"])
def test_global_settings_read_inside_are_checked_on_entry(read, change):
    try:
        jitted = each_call_as_plain(lambda x: (x * 2, read()), [(A(1.0),)] * 3, change)
    finally:
        change(2)
        cr.set_grad_enabled(True)
        cr.autograd.set_detect_anomaly(False)
        cr.use_deterministic_algorithms(False)
    assert jitted.traces == 2


def test_a_setting_changed_inside_is_checked_as_it_was_on_entry():
    def fun(x):
        with cr.no_grad():
            return x * 2, cr.is_grad_enabled()

    assert each_call_as_plain(fun, [(A(1.0),)] * 3).traces == 1


# -- state read through a context variable or a weak reference -------------------------
SCALE_VAR = contextvars.ContextVar("SCALE_VAR", default=1.0)


class _Box:
    def __init__(self):
        self.v = 1.0


def test_a_context_variable_and_the_object_of_a_weak_reference_are_watched():
    each_call_as_plain(lambda x: x * SCALE_VAR.get(), [(A(1.0),)] * 3, lambda k: SCALE_VAR.set(float(k)))
    box = _Box()
    ref = weakref.ref(box)
    each_call_as_plain(lambda x: x * ref().v, [(A(1.0),)] * 3, lambda k: setattr(box, "v", float(k)))


# -- a module imported inside the function ---------------------------------------------
def test_a_module_imported_inside_the_function_is_watched(monkeypatch):
    settings = types.ModuleType("jit_guards_settings")  # a module of the user's, made in memory
    settings.LR = 1.0
    monkeypatch.setitem(sys.modules, "jit_guards_settings", settings)

    def imported(x):
        import jit_guards_settings as s

        return x * s.LR

    def taken_from(x):
        from jit_guards_settings import LR

        return x * LR

    for fun in (imported, taken_from):
        each_call_as_plain(fun, [(A(1.0),)] * 3, lambda k: setattr(settings, "LR", float(k)))


class _Units(np.ndarray):
    """An ndarray subclass with an attribute of its own."""


def test_the_attributes_of_an_ndarray_subclass_are_watched():
    table = np.arange(3.0).view(_Units)
    table.scale = 1.0
    each_call_as_plain(lambda x: x * table.scale, [(A(1.0),)] * 3, lambda k: setattr(table, "scale", float(k)))
    holder = Config(np.arange(2.0).view(_Units))
    holder.act.scale = 1.0
    each_call_as_plain(lambda c, x: x * c.act.scale, [(holder, A(1.0))] * 3,
                       lambda k: setattr(holder.act, "scale", float(k)))


# -- subclasses of list and dict -------------------------------------------------------
class _Settings(dict):
    """A dict of settings with attributes of its own."""


def test_the_items_and_attributes_of_a_dict_subclass_are_watched_and_keyed():
    settings = _Settings(a=1.0)
    settings.extra = 1.0

    def fun(x):
        return x * settings.extra * settings["a"]

    each_call_as_plain(fun, [(A(1.0),)] * 3, lambda k: setattr(settings, "extra", float(k)))
    each_call_as_plain(lambda s, x: x * s.extra * s["a"], [(settings, A(1.0))] * 3,
                       lambda k: settings.__setitem__("a", float(k) + 3))


class _Once:
    def scale(self, x):
        return x * 1.0


class _Twice(_Once):
    def scale(self, x):
        return x * 2.0


def test_the_class_of_an_object_the_function_reads_is_watched():
    obj = _Once()
    each_call_as_plain(lambda x: obj.scale(x), [(A(1.0),)] * 3,
                       lambda k: setattr(obj, "__class__", (_Once, _Twice, _Once)[k]))


def test_an_object_met_again_in_an_argument_is_keyed_once():
    # twelve references back to itself: walked path by path, its key would take 12**6 steps
    hub = Config(1.0)
    for k in range(12):
        setattr(hub, f"back{k}", hub)
    start = time.perf_counter()
    each_call_as_plain(lambda c, x: x * c.act, [(hub, A(1.0))] * 3, lambda k: setattr(hub, "act", float(k)))
    assert time.perf_counter() - start < 5.0
