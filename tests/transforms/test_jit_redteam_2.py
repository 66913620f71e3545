"""cr.jit on programs written as users of other libraries write them (PyTorch's
``model.train()``/``model.eval()`` inside a step, a lookup table cached with
``functools.lru_cache``, ...): each is called jitted and plain over several calls whose
inputs or surroundings change, and must give the plain call's bits, leave the same state
behind, and trace no more often than what it reads requires."""

import contextlib
import copy
import ctypes
import dataclasses
import decimal
import functools
import importlib
import random
import sys
import types
import warnings

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr
from chainrule import nn
from chainrule.numpy.torch_common import pytorch_meaning

# a global of the test module that changes between calls, as a script's loop counter does
step_number = 0


def _arrays(tree):
    return cr.tree_map(lambda v: v._value if isinstance(v, cr.Tensor) else v, tree)


# -- a method named eval or exec reads no global -----------------------------------------
class _Polynomial:
    """An object of the user's with an ``eval`` method (as SymPy's and pandas' have)."""

    def __init__(self, coefficients):
        self.coefficients = coefficients

    def eval(self, x):
        return sum(c * x ** k for k, c in enumerate(self.coefficients))


def _train_then_eval(model, x):
    model.train()
    y = model(x)
    model.eval()
    return y, model(x)


def _polynomial_at(x):
    return _POLYNOMIAL.eval(x)


_POLYNOMIAL = _Polynomial([1.0, -2.0, 0.5])


@pytest.mark.parametrize("fun, make, traces", [
    (_train_then_eval, lambda: nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.Tanh()), 2),
    (lambda poly, x: poly.eval(x), lambda: _Polynomial([1.0, -2.0, 0.5]), 1),
    (lambda _, x: _polynomial_at(x), lambda: None, 1),
], ids=["model.eval()", "poly.eval(x) of an argument", "poly.eval(x) of a global"])
def test_a_method_named_eval_does_not_watch_every_global(fun, make, traces):
    global step_number
    jitted = cr.jit(fun)
    mine = make()
    theirs = copy.deepcopy(mine)
    rng = np.random.default_rng(0)
    with cr.no_grad():
        for step_number in range(4):  # noqa: B007 (the global the script's loop rebinds)
            x = rng.normal(size=(4, 3))
            # (a module's parameters are eager Tensors: the plain call's results are too)
            assert same(_arrays(jitted(mine, x)), _arrays(fun(theirs, x)))
            if isinstance(mine, nn.Module):
                assert all(same(np.asarray(a), np.asarray(b))
                           for a, b in zip(mine.buffers(), theirs.buffers(), strict=True))
                assert mine.training is theirs.training is False
    assert jitted.traces == traces


# -- a table cached with functools.lru_cache, written in place --------------------------------
def _cached_table_cases(maxsize):
    @functools.lru_cache(maxsize=maxsize)
    def table(n):  # a lookup table built once, as scientific code caches one
        return np.linspace(0.0, 1.0, n)

    def scaled(x):
        return x * table(3)

    def accumulated(x):  # the function itself writes the cached array: each call adds one
        counts = table(3)
        counts += 1.0
        return x * counts

    def written_by_caller(k):
        table(3)[0] = float(k)  # the caller changes the table it got before

    return [(scaled, written_by_caller), (accumulated, lambda k: None)]


@pytest.mark.parametrize("maxsize", [None, 4], ids=["cache", "lru_cache(4)"])
@pytest.mark.parametrize("case", [0, 1], ids=["written by the caller", "written by the function"])
def test_a_cached_table_written_in_place_is_read_anew(maxsize, case):
    def run(jit):
        fun, change = _cached_table_cases(maxsize)[case]  # a cache of its own for each run
        call = cr.jit(fun) if jit else fun
        results = []
        for k in range(4):
            results.append(call(np.array([1.0, -0.0, 2.0]) * (k + 1)))
            change(k)
        return results

    assert all(same(a, b) for a, b in zip(run(True), run(False), strict=True))


# -- Python's random.Random, seeded by the user and drawn from inside ------------------------
class _Jitter:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def __call__(self, x):
        return x + self.rng.uniform(-1.0, 1.0)


@pytest.mark.parametrize("where", ["closed over", "argument", "attribute of an argument"])
def test_draws_from_a_python_random_generator_are_drawn_on_every_call(where):
    def run(jit):
        rng = random.Random(7)  # a stream of the user's, as simulation code keeps one
        if where == "closed over":
            fun, extra = (lambda x: x * rng.random()), ()
        elif where == "argument":
            fun, extra = (lambda x, r: x * r.random()), (rng,)
        else:
            fun, extra = (lambda x, j: j(x)), (_Jitter(7),)
        call = cr.jit(fun) if jit else fun
        return [call(np.array([1.0, -2.0]), *extra) for _ in range(3)]

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "chainrule.jit")  # it runs without jit, as documented
        assert all(same(a, b) for a, b in zip(run(True), run(False), strict=True))


# -- methods bound in C, closed over: what they read is their object's state ------------------
def _bound_in_c_cases():
    """(make() -> (function, change(k) made before call k)): each make gives fresh state."""
    def popped():  # a work list consumed through its bound methods
        stack = [1.0, 2.0, 3.0]
        pop, push = stack.pop, stack.append

        def step(x):
            v = pop()
            push(v + 10.0)
            return x * v
        return step, lambda k: None

    def summed():  # W.sum of an array the caller writes between calls
        weights = np.ones(2)
        total = weights.sum
        return (lambda x: x * total()), lambda k: weights.__setitem__(0, float(k))

    def item_of():  # settings[0] through a bound __getitem__
        settings = [1.0]
        first = settings.__getitem__
        return (lambda x: x * first(0)), lambda k: settings.__setitem__(0, -float(k))

    def drawn():  # a Python generator's bound random
        draw = random.Random(3).random
        return (lambda x: x * draw()), lambda k: None

    return {"list.pop": popped, "ndarray.sum": summed, "list.__getitem__": item_of, "Random.random": drawn}


@pytest.mark.parametrize("name", list(_bound_in_c_cases()))
def test_a_method_bound_in_c_is_watched_through_its_object(name):
    def run(jit):
        fun, change = _bound_in_c_cases()[name]()
        call = cr.jit(fun) if jit else fun
        results = []
        for k in range(4):
            change(k)
            results.append(call(np.array([1.0, -0.0])))
        return results

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "chainrule.jit")  # a draw: it runs without jit
        assert all(same(a, b) for a, b in zip(run(True), run(False), strict=True))


# -- ctypes values shared with C code, closed over or passed -------------------------------
@pytest.mark.parametrize("make, write", [
    (lambda: ctypes.c_double(1.5), lambda c, k: setattr(c, "value", -float(k))),
    (lambda: (ctypes.c_double * 2)(1.0, 2.0), lambda c, k: c.__setitem__(0, float(k))),
], ids=["c_double", "c_double * 2"])
@pytest.mark.parametrize("passed", [False, True], ids=["closed over", "argument"])
def test_a_ctypes_value_changed_between_calls_is_read_anew(make, write, passed):
    shared = make()

    def scaled(x, c):  # a gain that C code (or the caller) sets in the shared memory
        return x * (c.value if isinstance(c, ctypes.c_double) else np.array(c[:]))

    fun = scaled if passed else (lambda x: scaled(x, shared))
    jitted = cr.jit(fun)
    for k in range(4):
        write(shared, k)
        extra = (shared,) if passed else ()
        assert same(jitted(np.array([1.0, 2.0]), *extra), fun(np.array([1.0, 2.0]), *extra))


# -- a class attribute found on the metaclass -------------------------------------------------
class _Registry(type):
    scale = 1.0  # a setting every class of the registry shares, as a metaclass holds it


class _Registered(metaclass=_Registry):
    pass


def test_a_setting_of_a_metaclass_changed_between_calls_is_read_anew():
    def fun(x):
        return x * _Registered.scale

    jitted = cr.jit(fun)
    try:
        for k in range(3):
            _Registry.scale = [2.0, -0.0, 3.0][k]
            assert same(jitted(np.array([1.0, 2.0])), fun(np.array([1.0, 2.0])))
    finally:
        _Registry.scale = 1.0


# -- an object's __dict__ replaced as a whole ----------------------------------------------
class _Settings:
    """Settings loaded by replacing the instance's dictionary (``__setstate__``-style, or
    the Borg pattern's shared state)."""

    def __init__(self):
        self.gain = 1.0

    def load(self, fields: dict):
        self.__dict__ = dict(fields)


def test_an_object_whose_dict_is_replaced_between_calls_is_read_anew():
    settings = _Settings()

    def fun(x):
        return x * settings.gain

    jitted = cr.jit(fun)
    for gain in (2.0, -0.0, 3.0):
        settings.load({"gain": gain})
        assert same(jitted(np.array([1.0, 2.0])), fun(np.array([1.0, 2.0])))


# -- an optimizer, a scheduler, a distribution of chainrule's read by the function ---------
def _training_objects():
    cr.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    return {"opt": opt, "sched": cr.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5),
            "normal": cr.distributions.Normal(0.0, 1.0)}


@pytest.mark.parametrize("read, change", [
    (lambda o, x: x * o["opt"].param_groups[0]["lr"],
     lambda o, k: o["opt"].param_groups[0].__setitem__("lr", 0.1 / (k + 2))),
    (lambda o, x: x * len(o["opt"].param_groups),
     lambda o, k: o["opt"].add_param_group({"params": [nn.Parameter(cr.tensor(np.ones(2)))]})),
    (lambda o, x: x * o["sched"].get_last_lr()[0], lambda o, k: (o["opt"].step(), o["sched"].step())),
    (lambda o, x: o["normal"].log_prob(x), lambda o, k: setattr(o["normal"], "loc", float(k + 1))),
], ids=["param_groups lr", "add_param_group", "scheduler stepped", "distribution loc rebound"])
def test_an_optimizer_scheduler_or_distribution_changed_between_calls_is_read_anew(read, change):
    objects = _training_objects()

    def fun(x):  # a jitted update reading the rate the eager optimizer has now, say
        return _arrays(read(objects, x))

    jitted = cr.jit(fun)
    for k in range(3):
        assert same(jitted(np.array([1.0, 2.0])), fun(np.array([1.0, 2.0])))
        change(objects, k)


# -- lists and dicts of more than 16 items, ranges and slices --------------------------------
_LONG = {"list": [0.0] * 20, "dict": dict.fromkeys(range(20), 0.0)}
_A_RANGE, _A_SLICE = range(5, 5), slice(0.0, 1)  # globals the caller rebinds


@pytest.mark.parametrize("read, change", [
    (lambda: np.copysign(1.0, _LONG["list"][3]), lambda k: _LONG["list"].__setitem__(3, [-0.0, 0.0][k % 2])),
    (lambda: np.copysign(1.0, _LONG["dict"][3]), lambda k: _LONG["dict"].__setitem__(3, [-0.0, 0.0][k % 2])),
    (lambda: float(str(_LONG["list"][0]).startswith("-")),
     lambda k: _LONG["list"].__setitem__(0, [decimal.Decimal("-0"), decimal.Decimal("0")][k % 2])),
    (lambda: _A_RANGE.start, lambda k: globals().__setitem__("_A_RANGE", range(k, k))),
    (lambda: np.copysign(1.0, _A_SLICE.start),
     lambda k: globals().__setitem__("_A_SLICE", slice([-0.0, 0.0][k % 2], 1))),
], ids=["long list -0.0", "long dict -0.0", "long list Decimal('-0')",
        "range(5, 5) by range(6, 6)", "slice(0.0, 1) by slice(-0.0, 1)"])
def test_an_item_of_a_long_container_or_a_range_changed_to_an_equal_value_is_read_anew(read, change):
    def fun(x):
        return x * read()

    saved = copy.deepcopy(_LONG), _A_RANGE, _A_SLICE
    jitted = cr.jit(fun)
    try:
        for k in range(4):
            assert same(jitted(np.array([1.0, 2.0])), fun(np.array([1.0, 2.0])))
            change(k)
    finally:
        _LONG.update(saved[0])
        globals().update(_A_RANGE=saved[1], _A_SLICE=saved[2])


# -- a closed-over Tensor that comes to require grad ----------------------------------------
def test_a_closed_over_tensor_set_to_require_grad_between_calls_is_refused():
    gain = cr.tensor([1.0, 2.0])  # without grad: a constant of the program

    def fun(x):
        return x * gain

    jitted = cr.jit(fun)
    assert same(jitted(np.ones(2)), fun(np.ones(2)))  # an eager Tensor, as the plain call gives
    gain.requires_grad_(True)  # the plain call now records a graph for gain.grad
    assert fun(np.ones(2)).requires_grad
    with pytest.raises(TypeError, match="eager Tensor"):
        jitted(np.ones(2))
    gain.requires_grad_(False)
    gain.add_(1.0)
    assert same(jitted(np.ones(2)), fun(np.ones(2)))


# -- eager Tensors made inside, called with grad mode on and off ------------------------------
def _eager_gradient(x):
    t = cr.tensor(x, requires_grad=True)  # the eager layer inside the function
    (t ** 3).sum().backward()  # under no_grad() there is no graph: RuntimeError
    return t.grad


def _records_a_graph(x):
    t = cr.tensor(x, requires_grad=True)
    return (t * 2).requires_grad, (t * 2).grad_fn is None


@pytest.mark.parametrize("fun", [_eager_gradient, _records_a_graph], ids=["backward", "requires_grad"])
def test_eager_tensors_made_inside_follow_the_callers_grad_mode(fun):
    def outcome(f, x):
        try:
            return _arrays(f(x))
        except RuntimeError as e:
            return str(e)

    jitted = cr.jit(fun)
    for enabled in (True, False, True, False):
        with cr.set_grad_enabled(enabled):
            cr.manual_seed(0)
            got = outcome(jitted, np.array([1.0, -2.0]))
            cr.manual_seed(0)
            want = outcome(fun, np.array([1.0, -2.0]))
        assert same(got, want), (enabled, got, want)


# -- an object with __slots__ among the arguments, given a traced value -------------------
class _Slotted:
    __slots__ = ("state", "log")

    def __init__(self):
        self.state, self.log = np.zeros(2), types.SimpleNamespace(last=None)


def _store_in_slots(o, x):
    o.state = o.state + x  # rebound to a traced value
    o.log.last = x * 2  # inside an object the slot holds
    return o.state.sum()


@pytest.mark.filterwarnings("ignore:chainrule.jit")  # the object changed: it runs without jit
def test_traced_values_stored_in_slots_of_an_argument_are_its_arrays():
    jitted, mine, theirs = cr.jit(_store_in_slots), _Slotted(), _Slotted()
    for k in range(3):
        x = np.array([1.0, -2.0]) * k
        assert same(jitted(mine, x), _store_in_slots(theirs, x))
        assert same(mine.state, theirs.state) and same(mine.log.last, theirs.log.last)


@dataclasses.dataclass(slots=True)
class _SlottedResult:
    value: object


@pytest.mark.filterwarnings("ignore:chainrule.jit")  # not a pytree: it runs without jit
def test_a_result_with_slots_holds_arrays():
    fun = lambda x: _SlottedResult(x * 2)  # noqa: E731
    jitted = cr.jit(fun)
    for k in range(3):
        got = jitted(np.array([1.0, -2.0]) * k)
        assert same(got.value, fun(np.array([1.0, -2.0]) * k).value)


# -- the attributes and methods of an ndarray subclass argument -------------------------------
class _InfoArray(np.ndarray):
    """NumPy's subclassing example: an array with an ``info`` attribute, and a method."""

    def __array_finalize__(self, obj):
        self.info = getattr(obj, "info", None)

    def centered(self):
        return self - self.mean()


def _info_array(values, info):
    a = np.asarray(values, dtype=float).view(_InfoArray)
    a.info = info
    return a


@pytest.mark.filterwarnings("ignore:chainrule.jit")  # the subclass's own names: runs without jit
@pytest.mark.parametrize("fun", [
    lambda x: x * x.info,
    lambda x: x.centered() * 2.0,
    lambda x: x * 2.0,  # names nothing of the subclass: replayed, the class kept by NumPy
], ids=["attribute", "method", "neither"])
def test_an_ndarray_subclass_argument_has_its_attributes_and_methods(fun):
    jitted = cr.jit(fun)
    for k in range(3):
        got, want = jitted(_info_array([1.0, -2.0], k + 0.5)), fun(_info_array([1.0, -2.0], k + 0.5))
        assert type(got) is type(want) and same(np.asarray(got), np.asarray(want))
        assert got.info == want.info


# -- settings in a submodule of the user's package, reached through the package ---------------
_CONFIG = types.ModuleType("jit_redteam_config")  # a package of settings made in memory
_CONFIG.training = types.ModuleType("jit_redteam_config.training")
_CONFIG.training.LR = 0.1
_TRAINER = types.SimpleNamespace(config=_CONFIG)  # an object holding the package


@pytest.mark.parametrize("fun", [
    lambda x: x * _CONFIG.training.LR,
    lambda x: x * _TRAINER.config.training.LR,
], ids=["config.training.LR", "trainer.config.training.LR"])
def test_a_setting_of_a_submodule_reached_through_its_package_is_read_anew(fun):
    jitted = cr.jit(fun)
    try:
        for lr in (0.5, -0.0, 0.25):
            assert same(jitted(np.array([1.0, 2.0])), fun(np.array([1.0, 2.0])))
            _CONFIG.training.LR = lr
    finally:
        _CONFIG.training.LR = 0.1


def _settings_lookup(name):  # a module's __getattr__ (PEP 562): settings it does not hold
    try:
        return _LOOKED_UP[name]
    except KeyError:
        raise AttributeError(name) from None


_LOOKED_UP = {"LR": 0.1}
_CONFIG.lazy = types.ModuleType("jit_redteam_config.lazy")
_CONFIG.lazy.__getattr__ = _settings_lookup


def test_a_setting_that_a_modules_getattr_gives_is_read_anew():
    def fun(x):
        return x * _CONFIG.lazy.LR

    jitted = cr.jit(fun)
    for lr in (0.5, -0.0, 0.25):
        assert same(jitted(np.array([1.0, 2.0])), fun(np.array([1.0, 2.0])))
        _LOOKED_UP["LR"] = lr


# -- a module of settings looked up by its name --------------------------------------------
@pytest.mark.parametrize("fun", [
    lambda x: x * importlib.import_module("jit_redteam_settings").LR,
    lambda x: x * __import__("jit_redteam_settings").LR,
    lambda x: x * sys.modules["jit_redteam_settings"].LR,
], ids=["importlib.import_module", "__import__", "sys.modules"])
def test_a_setting_of_a_module_looked_up_by_name_is_read_anew(fun, monkeypatch):
    settings = types.ModuleType("jit_redteam_settings")  # a plugin's settings, not a global here
    settings.LR = 0.1
    monkeypatch.setitem(sys.modules, "jit_redteam_settings", settings)
    jitted = cr.jit(fun)
    for lr in (0.5, -0.0, 0.25):
        assert same(jitted(np.array([1.0, 2.0])), fun(np.array([1.0, 2.0])))
        settings.LR = lr


# -- a distribution made inside, its validation switched between calls -----------------------
@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_a_distribution_validates_as_the_default_set_between_calls():
    def fun(loc, scale, x):
        return cr.distributions.Normal(loc, scale).log_prob(x)

    def outcome(f):
        try:
            return f(np.zeros(2), np.array([-1.0, 1.0]), np.ones(2))  # a negative scale
        except ValueError as e:
            return str(e)

    jitted = cr.jit(fun)
    try:
        for validate in (True, False, True, False):
            cr.distributions.Distribution.set_default_validate_args(validate)
            got, want = outcome(jitted), outcome(fun)
            assert same(got, _arrays(want)), (validate, got, want)
    finally:
        cr.distributions.Distribution.set_default_validate_args(True)


# -- a global list or dict returned, then changed by the caller --------------------------------
_HISTORY: list = []
_COUNTS: dict = {}


@pytest.mark.parametrize("found, grow", [
    (_HISTORY, lambda h, k: h.append(float(k))),
    (_COUNTS, lambda d, k: d.__setitem__(k, 1.0)),
], ids=["list", "dict"])
def test_a_global_list_or_dict_returned_is_the_global_itself(found, grow):
    def fun(x):
        return x * len(found), found  # the plain call hands back the global

    jitted = cr.jit(fun)
    outs = []
    for f in (jitted, fun):
        found.clear()
        for k in range(3):
            y, held = f(np.array([1.0, 2.0]))
            assert held is found
            grow(held, k)  # reaches the global, which the next call reads
            outs.append(y)
    assert all(same(a, b) for a, b in zip(outs[:3], outs[3:], strict=True))


# -- an object with __slots__ in a base class and a __dict__ of its own -----------------------
class _SlottedBase:
    __slots__ = ("scale",)


class _Loose(_SlottedBase):  # no __slots__ of its own: it has a __dict__ too
    pass


class _SlotsAndDict:
    __slots__ = ("scale", "__dict__")


@pytest.mark.parametrize("make", [_Loose, _SlotsAndDict], ids=["slots of a base", "slots and __dict__"])
def test_a_slot_of_an_object_that_also_has_a_dict_is_watched(make):
    settings = make()
    settings.scale, settings.name = 1.0, "run"

    def fun(x):
        return x * settings.scale

    jitted = cr.jit(fun)
    for scale in (3.0, -0.0, 0.5):
        assert same(jitted(np.array([1.0, 2.0])), fun(np.array([1.0, 2.0])))
        settings.scale = scale


# -- called inside and outside PyTorch's meaning of the methods (torch.func's transforms) ---------
@pytest.mark.parametrize("fun, x", [
    (cr.grad(lambda x: x.var()), np.array([3.0, 1.0, 2.0, 5.0])),  # unbiased in PyTorch's
    (cr.vmap(lambda x: x.var()), np.array([[3.0, 1.0, 2.0, 5.0]])),
    (lambda x: x.var(), np.array([3.0, 1.0, 2.0, 5.0])),  # an ndarray's var, in both
], ids=["grad", "vmap", "plain array"])
def test_methods_follow_pytorchs_meaning_as_the_plain_call_does(fun, x):
    jitted = cr.jit(fun)
    for meaning in (contextlib.nullcontext, pytorch_meaning, contextlib.nullcontext, pytorch_meaning):
        with meaning():
            assert same(jitted(x), fun(x))


# -- a subclass of float of the user's, with attributes ---------------------------------------
class _Quantity(float):
    """A number with a unit, as small unit libraries make them."""


_GAIN = _Quantity(0.0)
_GAIN.scale = 1.0


def test_a_number_of_a_float_subclass_is_read_by_its_bits_and_attributes():
    def fun(x):
        return x * np.copysign(1.0, _GAIN) * _GAIN.scale

    jitted = cr.jit(fun)
    try:
        for k in range(4):
            assert same(jitted(np.array([1.0, 2.0])), fun(np.array([1.0, 2.0])))
            if k % 2:
                _GAIN.scale = k + 0.5  # an attribute set
            else:  # an equal number of the other sign
                globals()["_GAIN"] = _Quantity(-0.0 if k == 0 else 0.0)
                _GAIN.scale = 1.0
    finally:
        globals()["_GAIN"] = _Quantity(0.0)
        _GAIN.scale = 1.0


# -- a registry that changes while the function is traced (another thread's work) ---------------
class _Registering:
    """Adds an entry to the registry whenever its attributes are looked up: what another
    thread may do to a global dict while a trace searches it."""

    def __getattribute__(self, name):
        if name == "__dict__":
            _REGISTRY[len(_REGISTRY)] = 0.0
        return object.__getattribute__(self, name)


_REGISTRY: dict = {"watcher": _Registering(), "gain": 2.0}


def test_a_global_dict_changed_while_the_call_is_traced_does_not_break_it():
    def fun(x):
        return x * _REGISTRY["gain"]

    jitted = cr.jit(fun)
    for _ in range(3):  # (the registry grows each time: each call traces again)
        assert same(jitted(np.array([1.0, 2.0])), fun(np.array([1.0, 2.0])))
