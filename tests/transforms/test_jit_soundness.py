"""cr.jit is sound: a call gives what the plain call gives (values, dtypes, container
types, writes into its arguments), or it runs the plain function, or it raises an error
naming what to change. One test per reproduction of issue 10, numbered as there."""

import math
import random

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

F = cr.nn.functional


def same(a, b) -> bool:
    """Bitwise equality of two pytrees (signed zeros and NaN payloads included), with
    container and leaf types (an eager Tensor's value, and whether it requires grad)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, cr.Tensor):
        return a.requires_grad == b.requires_grad and same(a._value, b._value)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray | np.generic):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return a.hex() == b.hex() if a == a else b != b
    return a == b


def run_both(fun, calls, copy=True, **jit_options):
    """``fun`` jitted and plain on the same sequence of argument tuples (copies, so that
    writes into arguments are compared too); returns the jitted function."""
    jitted = cr.jit(fun, **jit_options)
    for args in calls:
        mine = [a.copy() if copy and isinstance(a, np.ndarray) else a for a in args]
        theirs = [a.copy() if copy and isinstance(a, np.ndarray) else a for a in args]
        got, want = jitted(*mine), fun(*theirs)
        assert same(got, want), (got, want)
        assert all(same(m, t) for m, t in zip(mine, theirs, strict=True)), (mine, theirs)
    return jitted


# -- 1. in-place writes ----------------------------------------------------------------
def test_1_inplace_updates_of_an_argument_are_replayed():
    def ema(s, x):
        s *= 0.9
        s += x
        return cnp.sum(s)

    jitted = cr.jit(ema)
    mine, theirs = np.zeros(3), np.zeros(3)
    results = []
    for _ in range(3):
        got, want = jitted(mine, np.ones(3)), ema(theirs, np.ones(3))
        assert same(got, want) and same(mine, theirs)
        results.append(float(got))
    assert results == [3.0, 5.699999999999999, 8.129999999999999]
    assert jitted.traces == 1


def test_1_slice_assignment_into_an_argument_is_replayed():
    def write(out, x):
        out[:] = x * 2
        out[0] += 1
        return out

    run_both(write, [(np.zeros(3), np.full(3, k)) for k in range(3)])


def test_1_write_through_a_view_of_a_local_reaches_the_array():
    def through_view(y):
        z = y * 1
        v = z[:2]
        v[0] = 100
        w = z            # an alias sees the write too
        w += 1
        return z, v

    jitted = run_both(through_view, [(np.arange(3.0) + k,) for k in range(3)])
    assert jitted.traces == 1


def test_1_write_through_a_view_of_an_argument():
    def f(y, i):
        v = y[1:]
        v[i] = -v[i]
        return cnp.sum(y)

    run_both(f, [(np.arange(4.0) + k, np.int64(k % 3)) for k in range(4)])


def test_1_inplace_with_a_traced_index_array():
    def f(y, idx):
        y[idx] = 0.0
        return y * 2

    run_both(f, [(np.arange(5.0), np.array([k % 5, (k + 2) % 5])) for k in range(4)])


def test_1_inplace_on_a_numpy_scalar_rebinds_it():
    def f(x):
        s = cnp.sum(x)
        t = s
        s += 1.0
        return s, t

    run_both(f, [(np.arange(3.0) * k,) for k in range(3)])


def test_1_a_write_that_numpy_refuses_is_refused():
    def f(x):
        x += 0.5  # an int array: NumPy refuses the cast
        return x

    with pytest.raises(TypeError):  # NumPy: cannot cast float64 output to int64
        f(np.arange(3))
    jitted = cr.jit(f)
    with pytest.raises(TypeError):
        jitted(np.arange(3))


# -- 2. exceptions are branches --------------------------------------------------------
def _cholesky_or_zeros(a):
    try:
        return cnp.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return a * 0


@pytest.mark.parametrize("first", ["good", "bad"])
def test_2_caught_linalg_error(first):
    good, bad = 2 * np.eye(2), -np.eye(2)
    order = [good, bad] * 2 if first == "good" else [bad, good] * 2
    run_both(_cholesky_or_zeros, [(a,) for a in order])


def test_2_errstate_inside_the_function():
    def f(x):
        with np.errstate(divide="raise"):
            try:
                return 1.0 / x
            except FloatingPointError:
                return x * 0 - 1

    run_both(f, [(np.ones(2),), (np.zeros(2),), (np.ones(2) * 3,), (np.zeros(2),)])


def test_2_errstate_of_the_caller_is_honoured():
    f = cr.jit(lambda x: 1.0 / x)
    f(np.ones(2))
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        f(np.zeros(2))
    with np.errstate(divide="ignore"):
        assert np.isinf(f(np.zeros(2))).all()


def test_2_caught_index_error():
    def f(x, i):
        try:
            return x[i] * 2
        except IndexError:
            return cnp.sum(x)

    run_both(f, [(np.arange(3.0), np.array(k)) for k in (0, 5, 1, 7, 2)])


def test_2_exception_in_a_replay_falls_back_after_restoring_written_arguments():
    def f(s, a):
        s += 1.0
        try:
            return s, cnp.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            return s, a * 0

    good, bad = 2 * np.eye(2), -np.eye(2)
    run_both(f, [(np.zeros(2), good), (np.ones(2), bad), (np.ones(2), good)])


def test_2_warnings_as_errors_inside_the_function():
    import warnings

    def f(x):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                return cnp.log(x)
            except RuntimeWarning:
                return x * 0

    run_both(f, [(np.ones(2),), (np.zeros(2),), (np.ones(2),)])


# -- 4. donation and failed guards -----------------------------------------------------
def test_4_donated_memory_is_written_only_after_every_guard():
    def f(x):
        y = cnp.sin(x) * 0.8
        if float(cnp.sum(y)) > 0:
            return y * 1.0
        return cnp.cos(x) * 0.8

    jitted = cr.jit(f, donate_argnums=0)
    for values in ([1.0, 1.0], [-1.0, -1.0], [1.0, 2.0], [-2.0, -1.0]):
        x = np.array(values)
        assert same(jitted(x.copy()), f(x.copy()))


def _cholesky_then_dropout(x):
    try:
        h = x + cnp.sum(cnp.linalg.cholesky(cnp.diag(x[:2] + 0.0)))
    except np.linalg.LinAlgError:
        h = x * 0.25
    F.dropout(h, 0.3)
    return h


def _divide_under_raise(x):
    h = cnp.tanh(x) * 1.0
    with np.errstate(divide="raise", invalid="ignore"):
        try:
            return h / x
        except FloatingPointError:
            return h + 1.0


def _draw_after_result(x):
    y = x * 2.0
    F.dropout(x, 0.5)
    return y


@pytest.mark.filterwarnings("ignore:chainrule.jit")
@pytest.mark.parametrize("fun, calls", [
    (_cholesky_then_dropout, [([0.0] * 4, np.float64), ([1, 1, 0, 0], np.float32),
                              ([1, 1, 0, 0], np.float32), ([0.0] * 4, np.float32)]),
    (_divide_under_raise, [([0.0] * 4, np.float64), ([0, 0, 0, 1], np.float64),
                           ([1.0] * 4, np.float64), ([0.0] * 4, np.float64)]),
    (_draw_after_result, [([1.0] * 4, np.float64)] * 3),
], ids=["raises-before-a-draw", "raises-as-the-last-call", "draw-last"])
def test_4_no_call_that_may_raise_follows_a_write_into_donated_memory(fun, calls):
    jitted = cr.jit(fun, donate_argnums=0)
    for values, dtype in calls:
        x = np.array(values, dtype=dtype)
        cr.nn.init.manual_seed(0)
        got = jitted(x.copy())
        cr.nn.init.manual_seed(0)
        assert same(got, fun(x.copy()))


@pytest.mark.parametrize("strict", ["errstate", "warnings"])
def test_4_a_donating_replay_under_errors_that_raise_writes_no_donated_memory(strict):
    import warnings

    jitted = cr.jit(lambda x: cnp.log(x * 1.0), donate_argnums=0)
    x = np.ones(3)
    jitted(x.copy())
    assert "out=d0" in jitted.programs[0].source  # donated when nothing can raise
    zeros = np.zeros(3)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        if strict == "errstate":
            np.seterr(divide="raise")
            error = FloatingPointError
        else:
            warnings.simplefilter("error", RuntimeWarning)
            np.seterr(divide="warn")
            error = RuntimeWarning
        with pytest.raises(error):
            jitted(zeros)
        assert same(zeros, np.zeros(3))  # as the plain call leaves it
        assert same(jitted(np.full(3, 2.0)), np.log(np.full(3, 2.0)))


# -- 5. guards compare bitwise ---------------------------------------------------------
def test_5_signed_zero_is_a_different_value():
    f = lambda v: math.atan2(0.0, float(v))  # noqa: E731
    run_both(f, [(np.array(0.0),), (np.array(-0.0),), (np.array(0.0),)])


def test_5_nan_payloads_differ():
    f = lambda v: float(v).hex()  # noqa: E731
    quiet = np.array(np.nan)
    other = np.frombuffer(np.uint64(0x7FF8000000000001).tobytes(), np.float64).reshape(())
    jitted = run_both(f, [(quiet,), (other,), (quiet,)])
    assert jitted.traces == 2


# -- 7. randomness ---------------------------------------------------------------------
def _same_draws(fun, make_args, calls=4, seed=3):
    cr.nn.init.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    want = [fun(*make_args(k)) for k in range(calls)]
    cr.nn.init.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    jitted = cr.jit(fun)
    got = [jitted(*make_args(k)) for k in range(calls)]
    assert all(same(g, w) for g, w in zip(got, want, strict=True)), (got, want)
    return jitted


def test_7_an_unused_dropout_mask_is_still_drawn():
    def f(x):
        F.dropout(x, 0.5)
        return F.dropout(x, 0.5)

    _same_draws(f, lambda k: (np.ones(8),))


def test_7_a_guard_failing_after_a_draw_does_not_draw_twice():
    def f(x):
        m = F.dropout(x, 0.5)
        if float(cnp.sum(x)) > 0:
            return m
        return -m

    _same_draws(f, lambda k: (np.ones(8) * (-1) ** k,), calls=6)


def test_7_numpy_global_random_draws_run_the_plain_function():
    def f(x):
        return x + np.random.normal(size=x.shape)

    jitted = _same_draws(f, lambda k: (np.ones(3),))
    assert jitted.programs == []


@pytest.mark.filterwarnings("ignore:chainrule.jit")
def test_7_python_random_module_draws_run_the_plain_function():
    def f(x):
        return x * random.random() if random.random() < 0.5 else x - random.gauss(0.0, 1.0)

    jitted = _same_draws(f, lambda k: (np.ones(3),), calls=6)
    assert jitted.programs == []


def test_7_generator_argument_draws_run_the_plain_function():
    def f(x, g):
        return x * g.random(3)

    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    jitted = cr.jit(f)
    for _ in range(3):
        assert same(jitted(np.ones(3), g1), f(np.ones(3), g2))


def test_7_closed_over_generator_draws_run_the_plain_function():
    g = np.random.default_rng(1)

    def f(x):
        return x + g.standard_normal(3)

    jitted = cr.jit(f)
    first, second = jitted(np.zeros(3)), jitted(np.zeros(3))
    assert not np.array_equal(first, second)


# -- 5. keys: positional dicts and keyword arguments; value-dependent dtypes ------------
def test_5_positional_dict_and_keywords_are_different_calls():
    f = lambda d=None, **kw: (d, kw)  # noqa: E731
    jitted = cr.jit(f)
    x = np.ones(2)
    assert same(jitted({"a": x}), f({"a": x}))
    assert same(jitted(a=x), f(a=x))


def test_5_value_dependent_result_dtype():
    def f(a):
        w = cnp.linalg.eigvals(a)
        return w * 2, cnp.sum(w)

    rotation = np.array([[0.0, -1.0], [1.0, 0.0]])
    jitted = run_both(f, [(np.eye(2),), (rotation,), (np.eye(2) * 3,), (rotation * 2,)])
    assert jitted.traces == 2


# -- 6. results in containers ----------------------------------------------------------
def test_6_dict_results_keep_their_insertion_order():
    run_both(lambda x: {"b": x * 2, "a": x, "c": {"z": x, "y": x + 1}}, [(np.ones(2) * k,) for k in range(3)])


def test_6_dict_argument_order_is_part_of_the_key():
    f = lambda d: cnp.concatenate(list(d.values()))  # noqa: E731
    x, y = np.zeros(1), np.ones(1)
    run_both(f, [({"a": x, "b": y},), ({"b": y, "a": x},), ({"a": x, "b": y},)])


def test_6_ordered_dict_and_defaultdict_results_are_pytrees():
    from collections import OrderedDict, defaultdict

    def f(x):
        d = defaultdict(list)
        d["k"].append(x * 2)
        return OrderedDict(b=x * 2, a=x), d

    jitted = run_both(f, [(np.ones(2) * k,) for k in range(3)])
    assert jitted.traces == 1
    assert jitted(np.ones(1))[1].default_factory is list


@pytest.mark.filterwarnings("ignore:chainrule.jit")
def test_6_containers_that_are_not_pytrees_run_the_plain_function():
    from dataclasses import dataclass
    from types import SimpleNamespace

    @dataclass(frozen=True)
    class Result:
        value: object
        pair: tuple

    def f(x):
        return Result(x * 2, (x, 1)), SimpleNamespace(a=[x + 1])

    jitted = cr.jit(f)
    for k in range(3):
        (r, ns), (r0, ns0) = jitted(np.ones(2) * k), f(np.ones(2) * k)
        assert same(r.value, r0.value) and same(r.pair, r0.pair) and same(ns.a, ns0.a)


# -- 8. custom primitives --------------------------------------------------------------
def test_8_custom_primitive_returning_a_strided_view():
    windows = cr.primitive(lambda x: np.lib.stride_tricks.sliding_window_view(x, 2))
    jitted = cr.jit(lambda x: windows(cnp.tanh(x) * 2.0))
    first = jitted(np.arange(4.0))
    kept = first.copy()
    jitted(np.arange(4.0) + 10)
    assert np.array_equal(first, kept)


def test_8_custom_primitive_with_value_dependent_shapes_and_lengths():
    positive = cr.primitive(lambda x: x[x > 0])
    pieces = cr.primitive(lambda x: [v for v in x if v > 0])

    def f(x):
        return positive(x) * 2, [p + 1 for p in pieces(x)]

    run_both(f, [(np.array(v),) for v in ([1.0, -1.0, 2.0], [1.0, 2.0, 3.0], [-1.0, -2.0, 0.0])])


# -- 9. eager Tensors that require grad ------------------------------------------------
@pytest.mark.filterwarnings("ignore:chainrule.jit")
def test_9_eager_tensors_requiring_grad_keep_their_gradient():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    jitted = cr.jit(lambda w: cnp.sum(w ** 2))
    (jitted(w) + w.sum()).backward()
    assert np.array_equal(w.grad.numpy(), 2 * np.array([1.0, 2.0]) + 1)
    with cr.no_grad():  # read as arrays: replayed
        for _ in range(3):
            assert jitted(w) == 5.0
    assert jitted.traces == 1


# -- 10. Python reads ------------------------------------------------------------------
@pytest.mark.parametrize("read", [
    lambda x: f"{x[0]:.3f}",
    lambda x: round(x[0]),
    lambda x: round(x[0], 1),
    lambda x: bool(x.any()),
    lambda x: x.all(),
    lambda x: x.argsort(),
    lambda x: {np.int64(1): "one", np.int64(0): "zero"}[x.astype(np.int64)[1]],
    lambda x: x.astype(np.int64)[0] in {1, 2},
    lambda x: x.any(axis=0, keepdims=True),
], ids=["format", "round", "round2", "any", "all", "argsort", "dict-key", "set", "any-axis"])
def test_10_python_reads(read):
    run_both(read, [(np.array(v),) for v in ([1.25, 0.0], [2.5, 1.0], [1.25, 0.0], [0.0, 0.0])])


@pytest.mark.parametrize("read", [
    lambda x: len(x[x > 0]),
    lambda x: cnp.nonzero(x)[0].shape,
    lambda x: cnp.unique(x).size * x,
    lambda x: [r * 2.0 for r in x[x > 0]],
    lambda x: cnp.linalg.eigvals(cnp.reshape(x, (2, 2))).dtype,
], ids=["len of a mask", "shape of nonzero", "size of unique", "rows of a mask", "dtype of eigvals"])
def test_10_python_reads_the_shape_of_a_result_nothing_else_uses(read):
    """The shape (or type) of a value-shaped result that only Python reads is checked on
    replay: the call is not dropped as dead code with its check."""
    run_both(read, [(np.array(v),) for v in ([1.0, -1.0, 0.0, 1.0], [1.0, 1.0, 2.0, 1.0],
                                             [0.0, 1.0, -1.0, 0.0], [1.0, -1.0, 0.0, 1.0])])


def _tanh_loss(x):
    return cnp.sum(cnp.tanh(x * 2.0) ** 2)


@pytest.mark.parametrize("transform, calls", [
    (cr.grad(_tanh_loss), [(np.array([1, 0, 2]),), (np.array([3, -1, 0], np.int32),), (np.array([1, 0, 2]),)]),
    (cr.grad(lambda x: x * 2.5), [(np.int64(3),), (np.uint8(4),), (np.bool_(True),)]),
    (lambda x, v: cr.jvp(_tanh_loss, (x,), (v,)),
     [(np.array([1, 0, 2]), np.ones(3)), (np.array([2, 1, 0]), np.ones(3))]),
    (cr.hessian(_tanh_loss), [(np.array([1, 0]),), (np.array([2, 1]),)]),
    (cr.grad(_tanh_loss), [(np.array([True, False]),)]),
], ids=["grad of int arrays", "grad of NumPy integer and bool scalars", "jvp at ints", "hessian at ints",
        "grad of bools"])
def test_10_derivatives_at_integer_and_boolean_arguments(transform, calls):
    """Inside jit, a derivative at integer values is taken in float64, as the plain call
    takes it, and one at booleans is refused as the plain call refuses it."""
    jitted = cr.jit(transform)
    for args in calls:
        try:
            want = ("ok", transform(*args))
        except TypeError:
            want = ("raised", None)
        try:
            got = ("ok", jitted(*args))
        except TypeError as e:
            assert "differentiate" in str(e)
            got = ("raised", None)
        assert got[0] == want[0] and same(got[1], want[1]), (got, want)


# -- 11. custom_vjp and checkpoint outside grad ----------------------------------------
def test_11_custom_vjp_and_checkpoint_outside_grad():
    @cr.custom_vjp
    def square(x):
        return x ** 2

    square.defvjp(lambda x: (x ** 2, x), lambda x, g: (2 * x * g,))
    block = cr.checkpoint(lambda x: cnp.sin(cnp.tanh(x)))
    run_both(lambda x: (square(x), block(x)), [(np.ones(2) * k,) for k in range(3)])
    run_both(cr.grad(lambda x: cnp.sum(square(block(x)))), [(np.ones(2) * k,) for k in range(3)])


# -- 12. the replay calls what the plain call calls ------------------------------------
@pytest.mark.parametrize("fun", [
    lambda a: np.linalg.matrix_power(a, 5),
    lambda a: cnp.linalg.matrix_power(a, 3),
    lambda a: np.linalg.eigvalsh(a + a.T),
    lambda a: cnp.linalg.eigvalsh(a + a.T),
    lambda a: np.vecdot(a, a),
    lambda a: cnp.linalg.vecdot(a, a),
    lambda a: np.linalg.lstsq(a, a[:, 0]),
    lambda a: cnp.linalg.lstsq(a, a[:, :2]),
], ids=["matrix_power", "cnp.matrix_power", "eigvalsh", "cnp.eigvalsh", "vecdot", "cnp.vecdot",
        "lstsq", "cnp.lstsq"])
def test_12_linear_algebra_is_bitwise(fun):
    rng = np.random.default_rng(0)
    run_both(fun, [(rng.normal(size=(5, 5)),) for _ in range(3)])


# -- 3. state outside the key ----------------------------------------------------------
def _module_state(m):
    return {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}


def test_3_two_models_in_eval_mode_use_their_own_statistics():
    nn = cr.nn
    a, b = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    a.eval(), b.eval()
    with cr.no_grad():
        b.running_mean += 5.0
        jitted = cr.jit(lambda m, x: m(x))
        x = np.random.default_rng(0).normal(size=(4, 3))
        for m in (a, b, a):
            assert same(jitted(m, x), m(x))  # eager Tensors, as the plain call gives
    assert jitted.traces == 1


def test_3_batch_norm_training_updates_its_statistics_on_every_replay():
    nn = cr.nn
    mine, theirs = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    jitted = cr.jit(lambda m, x: m(x))
    x = np.random.default_rng(1).normal(size=(5, 3)) + 1.0
    with cr.no_grad():
        for _ in range(4):  # the same batch: every guard passes
            assert same(jitted(mine, x), theirs(x))  # eager Tensors, as the plain call gives
    assert jitted.traces == 1
    assert int(mine.num_batches_tracked) == 4
    state, want = _module_state(mine), _module_state(theirs)
    assert all(same(state[k], want[k]) for k in want)


def test_3_buffers_and_array_attributes_are_inputs():
    nn = cr.nn

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", np.ones(3))
            self.offset = np.zeros(3)

        def forward(self, x):
            return x * self.scale + self.offset

    m = Scaled()
    jitted = cr.jit(lambda m, x: m(x))
    with cr.no_grad():
        for k in range(3):
            m.scale += 1.0          # written in place
            m.offset = np.full(3, float(k))  # rebound
            assert same(jitted(m, np.ones(3)), m(np.ones(3)))  # eager Tensors, as the plain call gives
    assert jitted.traces == 1


def test_3_attributes_rebound_inside_are_set_on_the_callers_module():
    nn = cr.nn

    class Smoother(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("state", np.zeros(2))
            self.calls = 0

        def forward(self, x):
            self.state = self.state * 0.5 + x
            self.calls += 1
            return self.state * 1.0

    mine, theirs = Smoother(), Smoother()
    jitted = cr.jit(lambda m, x: m(x))
    with cr.no_grad():
        for k in range(3):
            got, want = jitted(mine, np.ones(2) * k), theirs(np.ones(2) * k)
            assert same(got, want)  # eager Tensors, as the plain call gives
            assert same(mine.state, theirs.state)
            assert mine.calls == theirs.calls == k + 1


def test_3_a_mutable_config_object_is_read_on_every_call():
    class Config:
        scale = 1.0

    config = Config()
    config.scale = 2.0
    config.shift = np.zeros(2)
    f = lambda x, c: x * c.scale + (1.0 if c.shift[0] > 0 else 0.0)  # noqa: E731
    jitted = cr.jit(f)
    for scale, shift in ((2.0, 0.0), (3.0, 0.0), (3.0, 1.0), (2.0, 0.0)):
        config.scale = scale
        config.shift[:] = shift
        assert same(jitted(np.ones(2), config), f(np.ones(2), config))


@pytest.mark.filterwarnings("ignore:chainrule.jit")
def test_3_changing_a_list_argument_changes_the_callers_list():
    def f(xs, x):
        xs.append(x * 2)
        return x

    mine, theirs = [], []
    cr.jit(f)(mine, np.ones(2))
    f(theirs, np.ones(2))
    assert same(mine, theirs)
