"""cr.jit on what plain NumPy code asks of an array besides its values (its size in
memory, its device, its array namespace) and on the warnings NumPy issues: each is
called jitted and plain over several calls, and must give the plain call's results and
show the plain call's warnings, at the plain call's line."""

import sys
import warnings

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import nn
from chainrule.core import global_state

# sys.getsizeof(x) reads the array as np.asarray(x) does: that call runs without jit
pytestmark = pytest.mark.filterwarnings("ignore:chainrule.jit")


@pytest.mark.parametrize("fun", [
    lambda x: (sys.getsizeof(x), x * 2.0),          # an array owns its memory, a view does not
    lambda x: sys.getsizeof(x[0]) + sys.getsizeof(x.sum()),
    lambda x: (type(x.device), x.device, x[0].device),
    lambda x: (x.__array_namespace__(), x.sum().__array_namespace__()),
    lambda x: x.__array_namespace__().sum(x.__array_namespace__().sin(x)) * 2.0,  # Array API style code
])
def test_what_plain_code_asks_of_an_array_is_the_arrays(fun):
    jitted = cr.jit(fun)
    base = np.arange(1.0, 9.0)
    for x in [base, base[:4], np.arange(1.0, 5.0), base]:
        assert same(jitted(x), fun(x))


def test_the_array_namespace_of_a_differentiated_value_is_still_chainrules():
    # inside grad, plain and jitted, values are Tensors and Array API code differentiates
    def loss(w):
        xp = w.__array_namespace__()
        return xp.sum(xp.sin(w) ** 2)

    x = np.array([0.3, -1.2])
    want = 2 * np.sin(x) * np.cos(x)
    assert np.allclose(cr.jit(cr.grad(loss))(x), want, rtol=1e-14)
    assert np.allclose(cr.grad(loss)(x), want, rtol=1e-14)


def _mean_and_spread(x):
    return x.mean(), x.std()


def _messages(fun, x):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fun(x)
    return result, [(w.category, str(w.message)) for w in caught]


def test_the_mean_of_nothing_warns_as_numpys():
    # ndarray.mean of an empty array warns "Mean of empty slice" (PyTorch's is silent)
    jitted = cr.jit(_mean_and_spread)
    for x in [np.ones(0), np.ones(3), np.ones(0)]:
        got, want = _messages(jitted, x), _messages(_mean_and_spread, x)
        assert same(got[0], want[0]) and got[1] == want[1], (got, want)
    assert jitted.traces == 2


def _logs(x):
    y = np.log(x)
    z = cnp.sqrt(x - 2.0)
    return y, z


_LOG_LINE = _logs.__code__.co_firstlineno + 1


def _places(fun, x, action):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter(action)
        fun(x)
    return [(w.filename, w.lineno, str(w.message)) for w in caught]


@pytest.mark.parametrize("action", ["always", "default"])
def test_numpys_warnings_point_at_the_users_line_when_traced_and_replayed(action):
    jitted = cr.jit(_logs)
    x = np.array([-1.0, 0.5])
    want = [(__file__, _LOG_LINE, "invalid value encountered in log"),
            (__file__, _LOG_LINE + 1, "invalid value encountered in sqrt")]
    assert _places(_logs, x, action)[:1] == want[:1]  # (the plain cnp.sqrt's is chainrule's line)
    assert _places(jitted, x, action) == want   # traced
    assert _places(jitted, x, action) == want   # replayed
    assert jitted.traces == 1


def test_numpys_warnings_of_a_replay_pass_the_filters_of_the_users_module():
    jitted = cr.jit(_logs)
    x = np.array([-1.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jitted(x)
    for fun in (_logs, jitted):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.filterwarnings("ignore", module=__name__)
            fun(x)
        assert not [w for w in caught if "in log" in str(w.message)]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("ignore")
            warnings.filterwarnings("always", module=__name__)
            fun(x)
        assert [(w.filename, w.lineno) for w in caught if "in log" in str(w.message)] == [(__file__, _LOG_LINE)]
    assert jitted.traces == 1


_CENTIMETRES = np.dtype(np.float64, metadata={"unit": "cm"})


def _in_metres(x):
    metadata = x.dtype.metadata or {}
    return x / 100.0 if metadata.get("unit") == "cm" else x * 1.0


@pytest.mark.parametrize("passed", ["argument", "in a dict", "in a structured array"])
def test_dtypes_that_differ_only_by_their_metadata_trace_apart(passed):
    # np.dtype("f8", metadata={"unit": "cm"}) == np.dtype("f8"), and hashes alike
    metres, centimetres = np.full(2, 250.0), np.full(2, 250.0, dtype=_CENTIMETRES)
    if passed == "argument":
        fun, calls = _in_metres, [metres, centimetres, metres]
    elif passed == "in a dict":
        fun, calls = (lambda d: _in_metres(d["x"])), [{"x": metres}, {"x": centimetres}, {"x": metres}]
    else:
        def fun(r):
            return _in_metres(r["x"])
        plain, marked = np.dtype([("x", np.float64)]), np.dtype([("x", _CENTIMETRES)])
        calls = [np.full(2, 250.0).astype(plain), np.full(2, 250.0).astype(marked), np.full(2, 250.0).astype(plain)]
    jitted = cr.jit(fun)
    for x in calls:
        assert same(jitted(x), fun(x))
    assert jitted.traces == 2



def test_scipy_special_error_state_set_inside_the_function_is_followed():
    # gamma(-1) raises under scipy.special.errstate(all="raise"); a replay that ran it under
    # the caller's state would give nan and skip the except branch
    special = pytest.importorskip("scipy.special")

    def gamma_or_zero(x):
        with special.errstate(all="raise"):
            try:
                return special.gamma(x)
            except special.SpecialFunctionError:
                return np.zeros_like(x)

    jitted = cr.jit(gamma_or_zero)
    for x in [np.array([1.0, 2.5]), np.array([-1.0, 2.5]), np.array([3.0, 2.5])]:
        assert same(jitted(x), gamma_or_zero(x))


class _Table:
    """An object of a library with many methods, which fills a cache when read (as a
    pandas DataFrame does): what jit watches of it changes on every call."""

    def __init__(self, values):
        self._values = values
        self._cache = {}

    def column(self):
        self._cache[len(self._cache)] = None
        return self._values


# (the methods of such a library: more functions than the watch reads the code of)
for _k in range(1200):
    setattr(_Table, f"method_{_k}", eval(f"lambda self: self._values * {_k}"))  # noqa: S307 (a literal)
_TABLE = _Table(np.array([1.0, 2.0, 3.0]))


def test_a_function_reading_more_code_than_the_watch_follows_runs_plain_without_tracing_again():
    def fun(x):
        return x * _TABLE.column()

    jitted = cr.jit(fun)
    with pytest.warns(UserWarning, match="more than 1000 functions"):
        assert same(jitted(np.ones(3)), fun(np.ones(3)))
    for k in range(3):
        _TABLE._values[0] = k
        assert same(jitted(np.ones(3)), fun(np.ones(3)))
    assert jitted.traces == 1  # (each call traced again, searching all that code)


def _batch_norm_after_two_calls(jitted):
    cr.manual_seed(0)
    norm = nn.BatchNorm1d(2)
    norm.requires_grad_(False)  # (a closed-over module's parameters are constants then)
    forward = cr.jit(norm.forward) if jitted else norm.forward
    x = np.random.default_rng(0).normal(size=(4, 2))
    outputs = [np.asarray(forward(x)) for _ in range(2)]
    return outputs, dict(norm.named_buffers())


@pytest.mark.filterwarnings("ignore:chainrule.jit")
def test_the_running_statistics_a_closed_over_module_rebinds_stay_eager_tensors():
    # a PyTorch user's cr.jit(model.forward): the plain call rebinds running_mean to an
    # eager Tensor, as the jitted one must (not to an array, which has no .numpy())
    (got, got_buffers), (want, want_buffers) = _batch_norm_after_two_calls(True), _batch_norm_after_two_calls(False)
    assert same(got, want)
    assert {k: type(v) for k, v in got_buffers.items()} == {k: type(v) for k, v in want_buffers.items()}
    assert same({k: v.numpy() for k, v in got_buffers.items()}, {k: v.numpy() for k, v in want_buffers.items()})


def _autocast_step(x):
    with cr.autocast("cpu"):  # warns, once per process, that nothing is cast
        return x * 2.0


def _masked_rows(x):
    # a batched boolean mask: vmap warns, once per process, that it loops over the examples
    return cr.vmap(lambda v: cnp.sum(v[v > 0]))(x)


@pytest.mark.parametrize("fun", [_autocast_step, _masked_rows])
def test_a_warning_chainrule_shows_once_per_process_is_not_replayed(fun, monkeypatch):
    # the traced call shows it; the plain call never shows it again, and the replays
    # issued it again on every call
    monkeypatch.setattr(global_state, "_SHOWN_ONCE", set())
    jitted, x = cr.jit(fun), np.array([[1.0, -2.0], [-3.0, 4.0]])
    for k, f in enumerate([jitted, fun, jitted, jitted, fun]):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = f(x)
        assert [str(w.message)[:9] for w in caught] == (["autocast:" if fun is _autocast_step else "chainrule"]
                                                        if k == 0 else []), k
        assert same(got, _masked_rows(x) if fun is _masked_rows else x * 2.0)
