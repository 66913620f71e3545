"""cr.jit against the plain call on programs that read what earlier tests did not vary:
the Python type of a traced NumPy scalar, state many references away, chainrule's global
settings and random state read in the body, NumPy's and Python's global state read
through a function, and NumPy's own keywords of a ufunc."""

import functools
import numbers

import numpy as np
import pytest
from tests.transforms.test_jit_guards import each_call_as_plain
from tests.transforms.test_jit_soundness import run_both, same

import chainrule as cr
import chainrule.numpy as cnp


# -- the Python type of a traced NumPy scalar ----------------------------------------------
def _by_scalar_type(x, i):
    s, k = cnp.sum(x), i[0]
    flags = (isinstance(s, float), isinstance(s, numbers.Real), isinstance(s, np.floating),
             isinstance(k, numbers.Integral), isinstance(k, int), isinstance(x.astype(np.float32)[0], float))
    return (x * 2.0 if isinstance(s, float) else x * 3.0), np.array(flags)


def test_isinstance_of_a_traced_scalar_is_the_plain_calls():
    run_both(_by_scalar_type, [(np.ones(3), np.arange(3))] * 3)


@functools.singledispatch
def _factor(v):
    return 1.0


@_factor.register
def _(v: float):
    return 2.0


@pytest.mark.parametrize("fun", [
    lambda x: x * _factor(cnp.sum(x)),  # dispatched on the scalar's class
    lambda x: x * cnp.sum(x).__class__(3),  # np.float64(3), not a Tensor of nothing
    lambda x: x * (1.0 if isinstance(x[0], (np.floating, int)) else 2.0),
    lambda x: x * (1.0 if isinstance(cnp.sum(x > 1), numbers.Integral) else 2.0),
    lambda x: x * (1.0 if isinstance(cnp.sum(x + 1j), complex) else 2.0),
    lambda x: cr.vmap(lambda r: r * (2.0 if isinstance(cnp.sum(x), float) else 3.0))(x),
], ids=["singledispatch", "class", "tuple", "integral", "complex", "vmap"])
def test_the_class_of_a_traced_scalar_is_the_plain_calls(fun):
    run_both(fun, [(np.array([1.0, 2.0, 3.0]),), (np.array([0.5, -1.0, 4.0]),)])


def test_a_scalar_argument_is_its_class_to_isinstance():
    run_both(lambda s: s * 2.0 if isinstance(s, float) else s,
             [(np.float64(2.0),), (np.float64(3.0),), (np.float32(2.0),)])


def test_isinstance_of_a_scalar_under_grad_is_the_plain_grads():
    def loss(x):
        return cnp.sum(x) * (2.0 if isinstance(cnp.sum(x), float) else 3.0)

    run_both(cr.grad(loss), [(np.ones(3),)] * 2)


# -- state many references away -----------------------------------------------------------
SCALE = 1.0


def _h8(x):
    return x * SCALE


def _h7(x):
    return _h8(x)


def _h6(x):
    return _h7(x)


def _h5(x):
    return _h6(x)


def _h4(x):
    return _h5(x)


def _h3(x):
    return _h4(x)


def _h2(x):
    return _h3(x)


def _through_eight_functions(x):
    return _h2(x) + 1.0


def test_a_global_read_eight_calls_down_is_watched():
    global SCALE

    def before(k):
        global SCALE
        SCALE = 1.0 + k

    try:
        each_call_as_plain(_through_eight_functions, [(np.ones(2),)] * 3, before)
    finally:
        SCALE = 1.0


class _Node:
    pass


def _chain(n):
    root = node = _Node()
    for _ in range(n):
        node.next = _Node()
        node = node.next
    node.value = 1.0
    return root, node


def _last_value(root):
    def f(x):
        node = root
        while hasattr(node, "next"):
            node = node.next
        return x * node.value

    return f


@pytest.mark.parametrize("n", [9, 60])
def test_an_attribute_deep_in_a_chain_of_objects_is_not_replayed_stale(n):
    root, leaf = _chain(n)

    def before(k):
        leaf.value = 1.0 + k

    with pytest.warns(UserWarning, match="runs without jit") if n > 40 else _nothing():
        each_call_as_plain(_last_value(root), [(np.ones(2),)] * 3, before)


def _last_of(root, x):
    node = root
    while hasattr(node, "next"):
        node = node.next
    return x * node.value


@pytest.mark.parametrize("n", [5, 6, 8])
def test_an_attribute_deep_in_an_object_argument_is_not_replayed_stale(n):
    root, leaf = _chain(n)

    def before(k):
        leaf.value = 1.0 + k

    with pytest.warns(UserWarning, match="six references deep") if n > 5 else _nothing():
        each_call_as_plain(_last_of, [(root, np.ones(2))] * 3, before)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# -- chainrule's settings and random state read in the body -------------------------------
def test_get_num_threads_read_in_the_body_is_checked_on_entry():
    before = cr.get_num_threads()
    try:
        each_call_as_plain(lambda x: x * cr.get_num_threads(), [(np.ones(2),)] * 3,
                           lambda k: cr.set_num_threads(1 + k))
    finally:
        cr.set_num_threads(before)


def test_the_global_seed_and_rng_state_read_in_the_body_are_checked_on_entry():
    each_call_as_plain(lambda x: x * (cr.initial_seed() % 97), [(np.ones(2),)] * 3,
                       lambda k: cr.manual_seed(k))
    each_call_as_plain(lambda x: x * float(cr.get_rng_state()[:8].sum()), [(np.ones(2),)] * 3,
                       lambda k: cr.manual_seed(k))


# -- a ufunc's keywords ----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{"order": "F"}, {"order": "C"}, {"subok": False}, {"casting": "unsafe"},
                                    {"dtype": np.float32}, {"signature": (None, np.float32)}])
def test_ufunc_keywords_replay_as_numpy(kwargs):
    x = np.arange(6.0).reshape(2, 3) / 7
    jitted = run_both(lambda x: cnp.exp(x, **kwargs), [(x,), (x + 1,), (x * 2,)])
    assert jitted(x).flags.f_contiguous == np.exp(x, **kwargs).flags.f_contiguous


def test_ufunc_where_into_a_traced_out_replays_as_numpy():
    def f(x, m):
        out = cnp.zeros_like(x)
        cnp.exp(x, out=out, where=m)
        return out

    m = np.array([True, False, True])
    run_both(f, [(np.ones(3), m), (np.zeros(3), m), (np.ones(3), ~m)])


def test_frexp_out_as_numpy():
    x = np.array([1.0, 3.0, -0.5])
    got = (np.empty(3), np.empty(3, np.int32))
    want = (np.empty(3), np.empty(3, np.int32))
    assert same(cnp.frexp(x, out=got), np.frexp(x, out=want))
    assert same(got, want)
    with pytest.raises(TypeError, match="frexp: out="):
        cr.grad(lambda x: cnp.sum(cnp.frexp(x, out=got)[0]))(x)


# -- NumPy's and Python's global state read through a function --------------------------
def test_numpy_error_state_read_in_the_body_is_watched():
    before = np.geterr()
    try:
        each_call_as_plain(lambda x: x * (np.geterr()["divide"] == "raise"), [(np.ones(2),)] * 3,
                           lambda k: np.seterr(divide=["warn", "raise", "ignore"][k]))
    finally:
        np.seterr(**before)


def test_numpy_legacy_random_state_read_in_the_body_is_watched():
    each_call_as_plain(lambda x: x * float(np.random.get_state()[1][0] % 97), [(np.ones(2),)] * 3,
                       lambda k: np.random.seed(k))


class _Env:
    def __init__(self):
        self.state = 1.0

    def get_state(self):
        return self.state


def test_a_method_named_as_a_state_reader_does_not_retrace_each_call():
    env = _Env()
    jitted = cr.jit(lambda x: x * env.get_state())
    for k in range(3):
        np.random.seed(k)  # the caller draws between calls: not what the function reads
        assert same(jitted(np.ones(2)), np.ones(2))
    assert jitted.traces == 1


# -- Python numbers taken out of an object array ----------------------------------------------
@pytest.mark.parametrize("fun", [lambda o: o[0] * 2, lambda o: o[0] + 0.5, lambda o: o.sum() * 2],
                         ids=["item*2", "item+0.5", "sum*2"])
def test_arithmetic_on_a_python_number_from_an_object_array_is_pythons(fun):
    calls = [(np.array([1.0, 2.0], dtype=object),), (np.array([2.0, 5.0], dtype=object),)]
    with pytest.warns(UserWarning, match="runs without jit"):
        run_both(fun, calls, copy=False)


# -- where arguments are, not their values --------------------------------------------------
@pytest.mark.parametrize("relation", [np.shares_memory, np.may_share_memory])
def test_a_memory_relation_of_the_arguments_is_checked_on_replay(relation):
    def f(a, c):
        return a * (2.0 if relation(a, c) else 3.0)

    base = np.arange(4.0)
    jitted = run_both(f, [(np.ones(3), np.ones(3)), (base[:3], base[1:]), (np.zeros(3), np.ones(3))], copy=False)
    assert jitted.traces == 2  # a new pair of values is no new trace
