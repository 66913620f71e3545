"""What cr.jit watches besides the arguments: the methods of the user's classes — of
objects given as arguments (plain, static, registered pytree nodes, modules) and of
objects the function reads — read globals too; a change of one retraces, as the plain
call reads the new value."""

import functools

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr
from chainrule import nn
from chainrule.transforms.captures import Captures

SCALE = 2.0


class Scaler:
    def __init__(self):
        self.k = 1.5

    def apply(self, x):
        return x * SCALE * self.k


class Base:
    def shift(self, x):
        return x + SCALE


class Derived(Base):
    def apply(self, x):
        return self.shift(x) * 2


class Props:
    @property
    def factor(self):
        return SCALE

    @staticmethod
    def double(x):
        return x * SCALE

    @classmethod
    def triple(cls, x):
        return x * (SCALE + 1)

    @functools.cached_property
    def cached(self):  # computed once per object, plain and jitted alike
        return 7.0

    def apply(self, x):
        return self.double(x) + self.triple(x) + self.factor + self.cached


class Slotted:
    __slots__ = ("k",)

    def __init__(self):
        self.k = 3.0

    def apply(self, x):
        return x * self.k - SCALE


class Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b

    def total(self):
        return (self.a + self.b) * SCALE


cr.register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda aux, children: Pair(*children))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        return self.lin(x) * SCALE


OBJECTS = {name: make() for name, make in
           [("plain", Scaler), ("inherited", Derived), ("props", Props), ("slots", Slotted)]}


def _calls(fun, make_args, **options):
    """``fun`` jitted and plain while SCALE changes between calls (and back)."""
    global SCALE
    jitted = cr.jit(fun, **options)
    try:
        for value in (2.0, 3.0, -0.0, 0.0, 3.0):
            SCALE = value
            args = make_args()
            got, want = jitted(*args), fun(*args)  # (eager Tensors of a module's output: both)
            assert same(got, want), (value, got, want)
    finally:
        SCALE = 2.0
    return jitted


@pytest.mark.parametrize("name", list(OBJECTS))
def test_a_method_of_an_argument_reading_a_global_retraces_when_it_changes(name):
    obj = OBJECTS[name]
    jitted = _calls(lambda o, x: o.apply(x), lambda: (obj, np.array([1.0, -2.0])))
    assert jitted.traces == 5  # each change drops the programs: 3.0 again traces again


@pytest.mark.parametrize("name", list(OBJECTS))
def test_a_method_of_a_static_argument_is_watched(name):
    obj = OBJECTS[name]
    _calls(lambda o, x: o.apply(x), lambda: (obj, np.array([1.0, -2.0])), static_argnums=0)


@pytest.mark.parametrize("name", list(OBJECTS))
def test_a_method_of_a_closed_over_object_is_watched(name):
    obj = OBJECTS[name]
    _calls(lambda x: obj.apply(x), lambda: (np.array([1.0, -2.0]),))


def test_a_method_of_a_registered_pytree_class_is_watched():
    _calls(lambda p: p.total(), lambda: (Pair(np.ones(2), np.array([0.5, -0.0])),))


def test_the_forward_of_a_module_subclass_is_watched():
    net = Net()
    with cr.no_grad():
        _calls(lambda m, x: m(x), lambda: (net, np.array([1.0, -2.0])))


def test_a_method_replaced_on_the_class_retraces():
    obj = Scaler()
    jitted = cr.jit(lambda o, x: o.apply(x))
    x = np.array([1.0, 2.0])
    assert same(jitted(obj, x), x * 3.0)
    original = Scaler.apply
    try:
        Scaler.apply = lambda self, x: x - 1.0
        assert same(jitted(obj, x), x - 1.0)
    finally:
        Scaler.apply = original


def test_captures_of_an_object_see_its_class_methods_globals():
    captures = Captures(Scaler())
    global SCALE
    assert captures.unchanged()
    SCALE = 4.0
    try:
        assert not captures.unchanged()
    finally:
        SCALE = 2.0
    assert captures.unchanged()


# -- NumPy generators the function draws from directly: never a frozen first draw ---------
class _Sampler:
    def __init__(self):
        self.rng = np.random.default_rng(0)

    def noisy(self, x):
        return x + self.rng.normal(size=x.shape)


def _generator_cases():
    """(name, make) where make() gives (function, extra arguments), with a generator of
    its own seeded alike each time."""
    def default():
        def f(x, rng=np.random.default_rng(0)):  # noqa: B008 (the case under test)
            return x + rng.normal(size=x.shape)
        return f, ()

    def partial_keyword():
        return functools.partial(lambda x, rng: x * rng.random(), rng=np.random.default_rng(0)), ()

    def object_read():
        sampler = _Sampler()
        return (lambda x: sampler.noisy(x)), ()

    def dict_item():
        state = {"rng": np.random.RandomState(0)}
        return (lambda x: x + state["rng"].randn(*x.shape)), ()

    def object_argument():
        return (lambda x, s: s.noisy(x)), (_Sampler(),)

    def method():
        return _Sampler.noisy, (_Sampler(),)

    return [("default", default), ("partial keyword", partial_keyword), ("object read", object_read),
            ("dict item", dict_item), ("object argument", object_argument), ("method", method)]


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("name, make", _generator_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_draws_from_a_generator_the_function_holds_are_not_replayed(name, make):
    fun, their_extra = make()
    mine, my_extra = make()
    jitted = cr.jit(mine)
    draws = []
    for _ in range(3):
        x = np.array([1.0, 2.0])
        args = (*my_extra, x) if name == "method" else (x, *my_extra)
        their_args = (*their_extra, x) if name == "method" else (x, *their_extra)
        got, want = jitted(*args), fun(*their_args)
        assert same(got, want), (got, want)
        draws.append(got)
    assert not same(draws[0], draws[1])  # a new draw on each call
