"""cr.jit against programs written as real code is written, one table per hazard class:
state the function reads besides its arguments (closures, globals, defaults, partials),
NumPy's own in-place writers, lists and dicts changed inside, arguments of every kind,
and results of every kind. Each program runs jitted and plain over a sequence of calls
(with the state changed between calls where the class is about that); every call must
give the same bits, leave the arguments and the outside state the same, or raise."""

import copy
import functools
import types

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr
import chainrule.numpy as cnp


def A(*values):
    return np.array(values, dtype=float)


def run_sequence(make, calls_count=None):
    """Two fresh instances of a program (its function, its calls, a hook run before each
    call, the outside state it may change): one plain, one jitted, call by call."""
    plain, mine = make(), make()
    jitted = cr.jit(mine["fun"])
    for k in range(len(plain["calls"])):
        outcomes = []
        for inst, fun in ((plain, plain["fun"]), (mine, jitted)):
            inst.get("before", lambda k: None)(k)
            try:
                outcomes.append(("ok", fun(*inst["calls"][k])))
            except Exception as e:  # the same exception, jitted or not
                outcomes.append(("raised", type(e)))
        want, got = outcomes
        assert got[0] == want[0] and (same(got[1], want[1]) if got[0] == "ok" else got[1] is want[1]), (k, got, want)
        assert same(list(mine["calls"][k]), list(plain["calls"][k])), (k, mine["calls"][k], plain["calls"][k])
        if "state" in plain:
            assert same(mine["state"](), plain["state"]()), (k, mine["state"](), plain["state"]())
    return jitted


# -- what the function reads besides its arguments -----------------------------------
SCALE = 2.0
WEIGHTS = np.ones(3)


def _scaled(x):
    return x * WEIGHTS + SCALE


def _calls_scaled(x):
    return _scaled(x) * 1.0


def _global_program(function):
    def make():
        def before(k):
            global SCALE, WEIGHTS
            SCALE, WEIGHTS = (2.0, np.ones(3)) if k < 2 else (7.0, np.full(3, 5.0)) if k == 3 else (SCALE, WEIGHTS)
            if k == 2:
                WEIGHTS[:] = 3.0
        return dict(fun=function, calls=[(A(1, 2, 3),)] * 5, before=before)
    return make


def _closure(body, change):
    """A program closing over ``env`` (a dict of the values its body reads), changed by
    ``change(env, k)`` before call k."""
    def make():
        env = {"W": np.ones(3), "s": 1.0, "n": 2, "cfg": [1.0], "obj": types.SimpleNamespace(lr=1.0)}
        cell = env["W"]

        def fun(x):
            return body(x, cell, env)

        def before(k):
            nonlocal cell
            change(env, k)
            cell = env["W"]
        return dict(fun=fun, calls=[(A(1, 2, 3),)] * 4, before=before)
    return make


def _write_w(env, k):
    if k == 2:
        env["W"][:] = 2.0


def _rebind_w(env, k):
    if k == 2:
        env["W"] = np.full(3, 3.0)


def _loop(x, W, env):
    for _ in range(env["n"]):
        x = x * 2.0
    return x


def _partial_program():
    W = np.ones(3)

    def before(k):
        if k == 2:
            W[:] = 4.0
    return dict(fun=functools.partial(lambda W, x: x * cnp.sum(W), W), calls=[(A(1),)] * 4, before=before)


def _default_program():
    W = np.ones(3)

    def fun(x, W=W):
        return x * cnp.sum(W)

    def before(k):
        if k == 2:
            W[:] = 4.0
    return dict(fun=fun, calls=[(A(1),)] * 4, before=before)


def _counter_program():
    counter = np.zeros(1)
    log = []

    def fun(x):
        counter[0] += 1
        log.append(1)
        return x * counter[0]
    return dict(fun=fun, calls=[(A(1),)] * 4, state=lambda: (counter.copy(), len(log)))


def _bump(key):
    def change(env, k):
        if k == 2:
            if key == "obj":
                env["obj"].lr = 5.0
            elif key == "cfg":
                env["cfg"][0] = 5.0
            else:
                env[key] = {"s": 3.0, "n": 3}[key]
    return change


CAPTURED = {
    "closed-over array written in place": _closure(lambda x, W, env: x * W, _write_w),
    "closed-over array reduced while tracing": _closure(lambda x, W, env: x + cnp.sum(W), _write_w),
    "closed-over array reduced by NumPy": _closure(lambda x, W, env: x + np.sum(W), _write_w),
    "closed-over array read by Python": _closure(lambda x, W, env: x * 2 if W[0] > 1 else x, _write_w),
    "closed-over variable rebound": _closure(lambda x, W, env: x * W, _rebind_w),
    "closed-over float rebound": _closure(lambda x, W, env: x * env["s"], _bump("s")),
    "closed-over int controls a loop": _closure(_loop, _bump("n")),
    "closed-over list item changed": _closure(lambda x, W, env: x * env["cfg"][0], _bump("cfg")),
    "closed-over object attribute changed": _closure(lambda x, W, env: x * env["obj"].lr, _bump("obj")),
    "globals rebound and written": _global_program(_scaled),
    "a global read by a function called": _global_program(_calls_scaled),
    "functools.partial argument written": _partial_program,
    "default argument written": _default_program,
    "closed-over state changed by the function": _counter_program,
}


@pytest.mark.parametrize("make", CAPTURED.values(), ids=CAPTURED.keys())
def test_state_read_besides_the_arguments(make):
    run_sequence(make)


def _leak_into_closed_over_list():
    log = []

    def fun(x):
        y = x * 2.0
        log.append(y)  # a logged loss, as in an eager training loop
        return y
    return dict(fun=fun, calls=[(A(k),) for k in range(3)], state=lambda: list(log))


def _leak_into_nonlocal():
    last = None

    def fun(x):
        nonlocal last
        last = x + 1.0
        return last * 2.0
    return dict(fun=fun, calls=[(A(k),) for k in range(3)], state=lambda: last)


def _leak_into_global():
    namespace = {}  # the module globals of this instance's function
    exec("def fun(x):\n    global LAST\n    LAST = x * 3.0\n    return x + 0.0\n", namespace)
    return dict(fun=namespace["fun"], calls=[(A(k),) for k in range(3)],
                state=lambda: namespace.get("LAST"))


class _Trainer:
    def __init__(self):
        self.w, self.steps, self.history = A(1, 2), 0, []

    def __eq__(self, other):  # the sequences compare two instances' states
        return same(vars(self), vars(other))

    __hash__ = object.__hash__


def _leak_into_an_argument_object():
    trainer = _Trainer()

    def fun(t, x):
        t.steps += 1
        t.w = t.w - 0.1 * x
        t.history.append(cnp.sum(t.w))
        return t.w * 1.0
    return dict(fun=fun, calls=[(trainer, A(k, 1)) for k in range(3)],
                state=lambda: (trainer.w, trainer.steps, list(trainer.history)))


class _LoggingModule(cr.nn.Module):
    def __init__(self):
        super().__init__()
        self.log = []

    def forward(self, x):
        y = x * 2.0
        self.log.append(y)  # a list attribute, shared with the caller's module
        return y

    def __eq__(self, other):  # the sequences compare two instances' states
        return same(self.log, other.log)

    __hash__ = cr.nn.Module.__hash__


def _leak_into_a_module_list():
    module = _LoggingModule()
    return dict(fun=lambda m, x: m(x), calls=[(module, A(k)) for k in range(3)],
                state=lambda: list(module.log))


LEAKS = {
    "appended to a closed-over list": _leak_into_closed_over_list,
    "a nonlocal variable rebound": _leak_into_nonlocal,
    "a global rebound": _leak_into_global,
    "attributes of an argument object rebound and appended to": _leak_into_an_argument_object,
    "appended to a list attribute of a module among the arguments": _leak_into_a_module_list,
}


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("make", LEAKS.values(), ids=LEAKS.keys())
def test_traced_values_stored_where_they_outlive_the_call_are_their_values(make):
    """A traced value stored in state that outlives the call is there as the array the
    plain call stores (not a traced value), and such calls run without jit."""
    run_sequence(make)


def _closed_over_batch_norm():
    norm = cr.nn.BatchNorm1d(3, affine=False)  # training mode: running statistics each call

    def fun(x):
        return cnp.tanh(norm(x))
    return fun, lambda: (norm.running_mean.numpy().copy(), norm.running_var.numpy().copy(),
                         int(norm.num_batches_tracked))


def _appending_to_closed_over_list():
    log = []

    def fun(x):
        log.append(x * 2.0)
        return x + 1.0
    return fun, lambda: [np.asarray(v) for v in log]


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("make", [_closed_over_batch_norm, _appending_to_closed_over_list])
def test_a_function_storing_into_its_closed_over_state_traces_once(make):
    """Each call changes the state such a function reads, which made every call trace
    again (about 20 times the plain call's time) only to run plain: it now runs plain
    from its first refused trace on, with the plain call's results and state."""
    (fun, state), (plain, plain_state) = make(), make()
    jitted = cr.jit(fun)
    for k in range(6):
        x = np.arange(6.0).reshape(2, 3) * (k + 1) - 4.0
        assert same(jitted(x), plain(x))
    assert jitted.traces == 1
    for a, b in zip(state(), plain_state(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_class_attributes_and_the_users_module_attributes_are_watched(tmp_path, monkeypatch):
    (tmp_path / "jit_settings_for_test.py").write_text("LR = 0.1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace = {"__name__": "user_code"}
    exec("import jit_settings_for_test as settings\n"  # noqa: S102 (a module of the user's)
         "class Config:\n    scale = 2.0\n"
         "def step(x):\n    return x * Config.scale * settings.LR\n", namespace)
    step, config, settings = namespace["step"], namespace["Config"], namespace["settings"]
    jitted = cr.jit(step)
    for k in range(4):
        if k == 2:
            config.scale = 5.0
        if k == 3:
            settings.LR = 3.0
        assert same(jitted(A(1.0)), step(A(1.0)))
    assert jitted.traces == 3


def test_unchanged_state_costs_no_retrace():
    W = np.ones(3)
    jitted = cr.jit(lambda x: x * cnp.sum(W))
    for _ in range(3):
        jitted(A(1, 2, 3))
    assert jitted.traces == 1


# -- NumPy's in-place writers --------------------------------------------------------
def _writer(fun, *args):
    return lambda: dict(fun=fun, calls=[tuple(a(k) for a in args) for k in range(3)])


def _copy_then_write(x):
    y = np.copy(x)
    y[0] = 5
    return y, x


def _sort_in_place(x):
    x.sort()
    return x[0] * 1.0


def _mask_write(x):
    x[x > 1] = 0.0
    return cnp.sum(x)


def _fill(x, v):
    x.fill(v[0])
    return x + 0


def _add_out(s, x):
    np.add(s, x, out=s)
    return s * 1.0


def _multiply_out_local(x):
    y = x * 1.0
    cnp.multiply(y, 2.0, out=y)
    return y


def _copyto(s, x):
    np.copyto(s, x * 2)
    return cnp.sum(s)


def _put(s, x):
    np.put(s, [0], x[1])
    return s + 0


def _fill_diagonal(m, x):
    np.fill_diagonal(m, x[0])
    return m * 1.0


def _add_at(s, i, x):
    np.add.at(s, i, x)
    return s * 1.0


def _through_transpose(m, x):
    m.T[0] = x
    return m * 1


def _through_reshape(m, x):
    m.reshape(4)[1:3] = x
    return m * 1


def _out_of_functions(x, y, q, r):
    np.cumsum(x, out=y)
    np.clip(x, 0, 2, out=x)
    np.divmod(x, 2, out=(q, r))
    return x + y + q + r


def _astype_no_copy_then_write(x):
    y = x.astype(np.float64, copy=False)  # x itself
    y += 1.0
    return x * 2.0


def _flatten_then_write(x):
    y = x.flatten()  # a copy: x is not written
    y[0] = 5.0
    return x * 1.0, y


def _other_inplace_operators(x, n, m, a):
    x //= 0.75
    x %= 1.5
    n <<= 1
    n >>= 1
    n //= 2
    m &= x > 0.5
    m |= x > 1.0
    m ^= x > 0.25
    a @= a
    return x * 1.0, n + 0, m | False, a * 1.0


def _positive_then_write(x):
    y = +x  # a new array, as NumPy's: x is not written
    y += 1.0
    return x * 1.0, y


def _copy_copy_then_write(x):
    y = copy.copy(x)  # a new array, as for an ndarray
    y[0] = 5.0
    return x * 1.0, y


def _iadd_item(d, x):
    d["a"] += x
    return d["a"] * 1.0


vec = lambda k: A(1, k)  # noqa: E731
zeros2 = lambda k: np.zeros(2)  # noqa: E731
zeros3 = lambda k: np.zeros(3)  # noqa: E731
square = lambda k: np.zeros((2, 2))  # noqa: E731
unsorted = lambda k: [A(3, 1, 2), A(0, 5, -1), A(2, 2, 1)][k]  # noqa: E731
WRITERS = {
    "np.add(out=)": _writer(_add_out, zeros2, vec),
    "cnp.multiply(out=) on a local": _writer(_multiply_out_local, vec),
    "np.copyto": _writer(_copyto, zeros2, vec),
    "np.put": _writer(_put, zeros2, vec),
    "np.fill_diagonal": _writer(_fill_diagonal, square, vec),
    "np.add.at": _writer(_add_at, lambda k: np.zeros(3), lambda k: np.array([k % 3, 0]), lambda k: A(1, 2)),
    "x.sort()": _writer(_sort_in_place, unsorted),
    "x.fill()": _writer(_fill, vec, lambda k: A(k)),
    "boolean mask setitem": _writer(_mask_write, unsorted),
    "np.copy then setitem": _writer(_copy_then_write, vec),
    "x.T[0] = ...": _writer(_through_transpose, square, vec),
    "x.reshape(...)[...] = ...": _writer(_through_reshape, square, vec),
    "+= on a dict item": _writer(_iadd_item, lambda k: {"a": A(0, 0)}, vec),
    "x.astype(its dtype, copy=False) then +=": _writer(_astype_no_copy_then_write, vec),
    "x.flatten() then setitem": _writer(_flatten_then_write, vec),
    "//=, %=, <<=, >>=, &=, |=, ^=, @=": _writer(_other_inplace_operators, lambda k: A(1, k + 0.5),
                                                 lambda k: np.array([k, 7]), lambda k: np.array([True, k > 1]),
                                                 lambda k: np.eye(2) + k),
    "+x then +=": _writer(_positive_then_write, vec),
    "copy.copy(x) then setitem": _writer(_copy_copy_then_write, vec),
    "out= of cumsum, clip, and a ufunc with two outputs": _writer(_out_of_functions, lambda k: A(1, k, 3),
                                                                  zeros3, zeros3, zeros3),
}


@pytest.mark.parametrize("make", WRITERS.values(), ids=WRITERS.keys())
def test_numpy_writes_in_place_are_replayed(make):
    assert run_sequence(make).traces == 1


def test_an_ndarray_attribute_a_tensor_lacks_names_the_way_out():
    # with an eager Tensor argument (the plain call's value is a Tensor too), or inside
    # grad; on plain arrays it is the ndarray's (test_jit_redteam.py)
    with pytest.raises(AttributeError, match="'flat'.*Use indexing"):
        cr.jit(lambda x: x.flat)(cr.tensor(A(1, 2)))
    with pytest.raises(AttributeError, match="'flat'.*Use indexing"):
        cr.jit(cr.grad(lambda x: x.flat))(A(1, 2))


def _multiply_into_a_constant(x):
    a = np.zeros(4)
    np.multiply(x, 2, out=a[:2])
    return a


def _cumsum_into_a_constant(x):
    a = np.zeros(2)
    np.cumsum(x, out=a)
    return a * 2


def _add_at_a_constant(x):
    a = np.zeros(2)
    np.add.at(a, [0], x[0])
    return a


def _copyto_a_constant(x):
    a = np.zeros(2)
    np.copyto(a, x)
    return a + x


def _put_into_a_constant(x):
    a = np.arange(3.0)
    np.put(a, [2], x[1])
    np.fill_diagonal(a.reshape(1, 3), x[0])
    return a


def _setitem_a_constant(x):
    a = np.zeros(2)
    a[0] = x[0]
    return a * x


_OUTSIDE = np.zeros(2)


def _into_a_global(x):
    np.exp(x, out=_OUTSIDE)
    return _OUTSIDE.sum()


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("fun", [_multiply_into_a_constant, _cumsum_into_a_constant, _add_at_a_constant,
                                 _copyto_a_constant, _put_into_a_constant, _into_a_global,
                                 _setitem_a_constant])
def test_a_write_into_an_array_that_is_not_traced_runs_without_jit(fun):
    jitted = cr.jit(fun)
    for x in (A(1, 2), A(-0.0, 3), A(np.nan, 5)):
        got = jitted(x)
        mine = _OUTSIDE.copy()
        want = fun(x)
        assert same(got, want), (got, want)
        assert same(mine, _OUTSIDE)  # the global written as the plain call writes it
    # a[0] = x[0] reads the value (NumPy's float(x[0])): a guard, replayed per value
    assert not jitted.programs or fun is _setitem_a_constant


# -- lists and dicts among the arguments changed by the call --------------------------
def _append(xs, x):
    xs.append(x * 2)
    return x


def _nested_item(tree, x):
    tree["layers"][0]["w"] = x * 2
    tree["log"].append(len(tree["log"]))
    return x


def _pop(d, x):
    d.pop("b")
    return x * 1.0


CONTAINERS = {
    "append to a list argument": _writer(_append, lambda k: [A(0)], vec),
    "item assigned below the top level": _writer(_nested_item, lambda k: {"layers": [{"w": A(0, 0)}], "log": []}, vec),
    "dict item removed": _writer(_pop, lambda k: {"a": A(0), "b": A(1)}, vec),
}


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("make", CONTAINERS.values(), ids=CONTAINERS.keys())
def test_lists_and_dicts_changed_by_the_call_are_changed_for_the_caller(make):
    run_sequence(make)  # the traced call changes the caller's; later calls run plain


def test_a_list_argument_shared_across_calls_grows_as_in_the_plain_call():
    history, theirs = [], []

    def f(xs, x):
        xs.append(float(cnp.sum(x)))
        return x * 1.0

    jitted = cr.jit(f)
    with pytest.warns(UserWarning, match="changed a list or dict"):
        for k in range(3):
            assert same(jitted(history, A(k)), f(theirs, A(k)))
    assert history == theirs == [0.0, 1.0, 2.0]


# -- arguments and results of every kind ----------------------------------------------
def _kinds(fun, *calls):
    return lambda: dict(fun=fun, calls=[tuple(c) for c in calls])


KINDS = {
    "bool argument": _kinds(lambda x, b: x * 2 if b else x - 1, (A(1), True), (A(1), False), (A(1), 1)),
    "None argument": _kinds(lambda x, y=None: x if y is None else x + y, (A(1), None), (A(1), A(2)), (A(1), None)),
    "str argument": _kinds(lambda x, m: x * 2 if m == "double" else x, (A(1), "double"), (A(1), "id")),
    "float argument: NaNs of two signs": _kinds(lambda x, s: x * s, (A(1), float("nan")), (A(1), -float("nan")),
                                                (A(1), float("nan"))),
    "complex argument with signed zeros": _kinds(lambda x, c: x * c, (A(1), 1 + 2j), (A(1), complex(0.0, -0.0)),
                                                 (A(1), complex(0.0, 0.0))),
    "int, float and bool of one value": _kinds(lambda x, s: x * s, (np.array([1, 2]), 2), (np.array([1, 2]), 2.0),
                                               (np.array([1, 2]), True)),
    "NumPy scalars of two dtypes": _kinds(lambda x, s: x * s, (np.ones(2, np.float32), np.float32(2)),
                                          (np.ones(2, np.float32), np.float64(2))),
    "slice argument": _kinds(lambda x, s: x[s] * 1, (A(1, 2, 3), slice(0, 2)), (A(1, 2, 3), slice(1, 3))),
    "slice arguments of bools, ints and NumPy integers of one value": _kinds(
        lambda x, s: (x[s] * 1, type(s.start).__name__), (A(1, 2, 3), slice(True, 3)), (A(1, 2, 3), slice(1, 3)),
        (A(1, 2, 3), slice(np.int64(1), np.int64(3))), (A(1, 2, 3), slice(np.int32(1), 3))),
    "dtype argument": _kinds(lambda x, dt: x.astype(dt), (A(1.5), np.float32), (A(1.5), np.int64)),
    "layouts": _kinds(lambda x: x.ravel(order="K") * 1, (np.arange(6.0).reshape(2, 3),),
                      (np.arange(6.0).reshape(2, 3).T,), (np.arange(6.0).reshape(2, 3)[:, ::2],)),
    "integer overflow": _kinds(lambda x: x * 2**62 + x, *[(np.array([k, 3]),) for k in range(3)]),
    "int8 wraparound": _kinds(lambda x: x * np.int8(100), *[(np.array([k, 3], np.int8),) for k in range(3)]),
    "Python int beyond int64": _kinds(lambda x, n: x * n, (np.array([1, 2]), 2**40), (np.array([1, 2]), 2**70)),
    "integer division by zero": _kinds(lambda x, y: (x // y, x % y), *[(np.array([1, 2]), np.array([1, k]))
                                                                       for k in (1, 0, 2)]),
    "results: float, bool, None, str, int": _kinds(
        lambda x: (float(cnp.sum(x)), bool(x[0] > 0), None, "s", int(x[1]), x.shape, x.dtype),
        *[(A(k - 1, k),) for k in range(3)]),
    "results: NumPy scalar, float32 scalar, 0-d array": _kinds(
        lambda x: (cnp.sum(x), cnp.sum(x.astype(np.float32)), cnp.reshape(cnp.sum(x), ())),
        *[(A(1, k),) for k in range(3)]),
    "results: the argument, twice, and views of it": _kinds(lambda x: (x, x, x[1:], x.T),
                                                            *[(A(1, k),) for k in range(3)]),
    "exception raised by the function": _kinds(lambda x: x * 2 if cnp.sum(x) >= 0 else _raise(), (A(1),),
                                                      (A(-1),), (A(2),)),
    "NaN guard": _kinds(lambda x: x * 2 if x[0] == x[0] else x * 0, (A(1),), (A(np.nan),), (A(2),)),
    "x ** 2, x ** -1, x ** 0.5 (NumPy's square, reciprocal, sqrt) of complex and float arrays": _kinds(
        lambda x: (x ** 2, x ** -1, x ** 0.5, x ** 2.0, x.real ** 2, x.real ** 0.5, x.real ** True),
        *[(np.array([0.3 + 0.7j, -1.5 + 0.1j, -0.0 - 2j]) * k,) for k in (1, 3, -1)]),
    "x.item(i)": _kinds(lambda x: (x.item(1), x.item(-1)), *[(A(k, 2 * k),) for k in range(3)]),
    "dict keys that are equal but not the same (1, True, 1.0, 0.0, -0.0)": _kinds(
        lambda d: ({f"{k}": v * 2.0 for k, v in d["a"].items()}, d),
        *[({"a": {k: A(1)}},) for k in (1, True, 1.0, 0.0, -0.0, 1)]),
    "np.matrix and masked array arguments (operators of their own)": _kinds(
        lambda x: (x * x, x + 1.0, x[0]),
        (np.matrix([[1.0, 2.0], [3.0, 4.0]]),), (np.ma.array([[1.0, 2.0], [3.0, 4.0]], mask=[[0, 1], [0, 0]]),),
        (np.matrix([[2.0, 0.0], [1.0, 4.0]]),)),
    "divmod and shifts": _kinds(lambda x, n: (divmod(x, 0.7), divmod(3.0, x), n << 1, 1 << n, n >> 1),
                                *[(A(k + 0.5, -1.5), np.array([k, 3])) for k in range(3)]),
    "float cast to int of NaN and huge": _kinds(lambda x: x.astype(np.int64), (A(1.5),), (A(np.nan),), (A(1e30),)),
}


def _raise():
    raise ValueError("negative")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("make", KINDS.values(), ids=KINDS.keys())
def test_arguments_and_results_of_every_kind(make):
    run_sequence(make)


def test_results_alias_as_in_the_plain_call():
    x = A(1, 2, 3)
    same_twice = cr.jit(lambda x: (x * 2,) * 2)
    same_twice(x)
    a, b = same_twice(x)
    assert a is b
    itself, view = cr.jit(lambda x: (x, x[1:]))(x)
    assert itself is x and np.shares_memory(view, x)


TABLE = np.zeros(3)


class _Config:
    def __init__(self):
        self.table = np.arange(3.0)


def _global_table():
    TABLE[:] = 0.0
    return dict(fun=lambda x: (TABLE, x * 2.0), extra=(), array=TABLE)


def _view_of_global_table():
    TABLE[:] = 0.0
    return dict(fun=lambda x: (TABLE[1:], x * 2.0), extra=(), array=TABLE)


def _attribute_of_argument():
    config = _Config()
    return dict(fun=lambda c, x: (c.table, x * 2.0), extra=(config,), array=config.table)


FOUND = {
    "a global array": _global_table,
    "a view of a global array": _view_of_global_table,
    "an array attribute of an argument": _attribute_of_argument,
}


@pytest.mark.parametrize("make", FOUND.values(), ids=FOUND.keys())
def test_an_array_found_outside_the_function_is_handed_back_itself(make):
    """A result that holds no traced value but is an array the function did not make is
    the caller's array: writing into it writes the global, as in the plain call."""
    finals = []
    for jitted in (False, True):
        program = make()
        before = program["array"][-1]
        fun = cr.jit(program["fun"]) if jitted else program["fun"]
        results = []
        for k in range(3):
            found, doubled = fun(*program["extra"], A(k))
            assert np.shares_memory(found, program["array"])
            found += 1.0
            results.append((found.copy(), doubled))
        assert program["array"][-1] == before + 3.0  # each call's write reached it
        finals.append((results, program["array"].copy()))
    assert same(finals[1], finals[0])


@pytest.mark.filterwarnings("ignore:chainrule.jit")
def test_a_generator_argument_runs_the_plain_function():
    jitted = cr.jit(lambda x, items: x * sum(items))
    for k in range(3):
        assert same(jitted(A(1), (i for i in range(k))), A(1) * sum(range(k)))
    assert jitted.programs == []


def test_print_shows_the_value_when_traced(capsys):
    jitted = cr.jit(lambda x: print(x) or x * 2)
    jitted(A(1, 2))
    assert capsys.readouterr().out == f"{A(1, 2)}\n"
    jitted(A(1, 2))  # replayed: Python's side effects happen when tracing only
    assert capsys.readouterr().out == ""
