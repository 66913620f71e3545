"""cr.jit: every replay equals the unjitted function to the last bit (on new data, not
the traced data), retraces exactly when shapes, dtypes, Python arguments or Python
control flow change, and refuses what it cannot replay."""

import queue
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.numpy.registry import SUPPORTED

rng = np.random.default_rng(0)


def same(a, b) -> bool:
    """Bitwise equality of two pytrees of arrays (NaN equal to NaN), types included."""
    la, ta = cr.tree_flatten(a)
    lb, tb = cr.tree_flatten(b)
    if ta != tb or len(la) != len(lb):
        return False
    for x, y in zip(la, lb, strict=True):
        if type(x) is not type(y):
            return False
        if isinstance(x, np.ndarray | np.generic):
            if x.dtype != y.dtype or x.shape != y.shape:
                return False
            if not np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
                return False
        elif x != y:
            return False
    return True


def check_replays(fun, make_args, calls: int = 4, traces: int | None = 1):
    """``cr.jit(fun)`` equals ``fun`` on ``calls`` fresh inputs, tracing ``traces`` times
    (None: as often as the data asks)."""
    jitted = cr.jit(fun)
    for _ in range(calls):
        args = make_args()
        assert same(jitted(*args), fun(*args))
    if traces is not None:
        assert jitted.traces == traces
    return jitted


# -- the benchmark workloads, small -------------------------------------------------------
def chain(x):
    h = x
    for i in range(40):
        op = i % 5
        h = (cnp.sin(h) if op == 0 else cnp.tanh(h) if op == 1 else cnp.exp(0.1 * h)
             if op == 2 else h * 0.5 if op == 3 else h + x)
    return cnp.sum(h)


@pytest.mark.parametrize("shape", [(16,), ()], ids=["W1", "W2"])
def test_chain_gradient(shape):
    jitted = check_replays(cr.grad(chain), lambda: (rng.normal(size=shape),))
    (program,) = jitted.programs
    assert program.n_guards == 0


def log_softmax(z):
    s = z - cnp.max(cr.stop_gradient(z), axis=1, keepdims=True)
    return s - cnp.log(cnp.sum(cnp.exp(s), axis=1, keepdims=True))


def mlp_loss(params, x, onehot, act):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i < len(params) - 2:
            h = cnp.tanh(h) if act == "tanh" else cnp.maximum(h, 0.0)
    return -cnp.sum(onehot * log_softmax(h)) / x.shape[0]


def sgd_step(params, x, onehot, act):
    loss, grads = cr.value_and_grad(mlp_loss)(params, x, onehot, act)
    return [p - 0.1 * g for p, g in zip(params, grads, strict=True)], loss


@pytest.mark.parametrize("act", ["tanh", "relu"], ids=["W3", "W4"])
def test_mlp_training_step(act):
    sizes = (6, 8, 8, 3)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        params += [rng.normal(size=(n_in, n_out)).astype(np.float32),
                   np.zeros(n_out, np.float32)]

    def batch():
        x = rng.normal(size=(5, 6)).astype(np.float32)
        onehot = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 5)]
        return params, x, onehot, act

    jitted = check_replays(sgd_step, batch)
    assert jitted.programs[0].n_guards == 0
    # a training loop: the parameters it returns go back in
    p_eager = p_jit = params
    for _ in range(3):
        _, x, onehot, _ = batch()
        p_eager, _ = sgd_step(p_eager, x, onehot, act)
        p_jit, _ = jitted(p_jit, x, onehot, act)
    assert same(p_jit, p_eager)


def rosenbrock(x):
    a, b = x[:-1], x[1:]
    return cnp.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2)


def test_hessian_vector_product():  # W5
    check_replays(lambda x, v: cr.hvp(rosenbrock, (x,), (v,)),
                  lambda: (rng.normal(size=50), rng.normal(size=50)))


@pytest.mark.parametrize("checkpointed", [False, True])
def test_deep_network_gradient(checkpointed):  # W6
    def block(w, h):
        for _ in range(3):
            h = cnp.tanh(h @ w)
        return h

    seg = cr.checkpoint(block) if checkpointed else block

    def loss(w, h):
        for _ in range(4):
            h = seg(w, h)
        return cnp.sum(h)

    check_replays(cr.grad(loss), lambda: (rng.normal(size=(4, 4)) / 2, rng.normal(size=(3, 4))))


# -- every differentiable elementwise function, both modes ---------------------------------
def _arity(fun) -> int:
    x = np.array([0.3, 0.6])
    for n in (1, 2):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = fun(*([x] * n))
            return n if np.result_type(out).kind == "f" else 0
        except (TypeError, ValueError):  # where(x, x): y missing
            continue
    return 0


ELEMENTWISE = sorted({n for n in SUPPORTED["elementwise"] if callable(getattr(cnp, n, None))})


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_function_rules(name):
    fun = getattr(cnp, name)
    n = _arity(fun)
    if n == 0:
        pytest.skip(f"{name} takes other arguments")

    def derivatives(*args):
        total = lambda *a: cnp.sum(fun(*a))  # noqa: E731
        grads = cr.grad(total, argnums=tuple(range(n)))(*args)
        tangent = cr.jvp(total, args, tuple(cnp.ones_like(a) for a in args))[1]
        return grads, tangent

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_replays(derivatives, lambda: tuple(rng.uniform(0.1, 0.9, size=3) for _ in range(n)))


# -- retracing -----------------------------------------------------------------------------
def test_new_shape_or_dtype_traces_again_and_old_programs_are_kept():
    f = cr.jit(cr.grad(lambda x: cnp.sum(cnp.sin(x) ** 2)))
    eager = cr.grad(lambda x: cnp.sum(cnp.sin(x) ** 2))
    inputs = [rng.normal(size=3), rng.normal(size=(2, 2)), rng.normal(size=3).astype(np.float32),
              rng.normal(size=3), rng.normal(size=(2, 2))]
    for x in inputs:
        assert same(f(x), eager(x))
    assert f.traces == 3


def test_python_arguments_are_part_of_the_key():
    def scaled(x, k, mode="sum"):
        return cnp.sum(x * k) if mode == "sum" else cnp.max(x * k)

    f = cr.jit(scaled)
    x = rng.normal(size=4)
    assert same(f(x, 2.0), scaled(x, 2.0))
    assert same(f(x, 3.0), scaled(x, 3.0))
    assert same(f(x, 3.0, mode="max"), scaled(x, 3.0, mode="max"))
    assert same(f(x, 2.0), scaled(x, 2.0))
    assert f.traces == 3


def test_branch_on_a_traced_value_traces_each_path_once():
    def f(x):
        if cnp.sum(x) > 0:
            return cnp.exp(x)
        return -x

    jitted = cr.jit(f)
    xs = [np.abs(rng.normal(size=3)) * s for s in (1, -1, 1, 1, -1, -1, 1)]
    for x in xs:
        assert same(jitted(x), f(x))
    assert jitted.traces == 2


def test_loop_count_read_from_data():
    def f(x, n):
        h = x
        for _ in range(int(n)):
            h = cnp.sin(h)
        return h

    jitted = cr.jit(f)
    for n in (2, 3, 2, 5):
        x = rng.normal(size=2)
        assert same(jitted(x, np.array(n)), f(x, np.array(n)))
    assert jitted.traces == 3


def test_python_number_read_from_a_traced_value_is_guarded():
    def normalise(x):
        return x / float(cnp.max(cnp.abs(x)))

    jitted = cr.jit(normalise)
    for _ in range(3):
        x = rng.normal(size=4)
        assert same(jitted(x), normalise(x))


def test_value_dependent_shapes():
    def positive_part(x):
        return cr.grad(lambda x: cnp.sum(x[x > 0] ** 2))(x), cnp.nonzero(x > 0)[0]

    jitted = cr.jit(positive_part)
    for _ in range(6):
        x = rng.normal(size=6)
        assert same(jitted(x), positive_part(x))


def test_functions_without_derivative_follow_the_data():
    def f(x, labels):
        onehot = cnp.arange(3) == labels[:, None]
        pick = cnp.argmax(x, axis=1)
        logp = log_softmax(x)
        return -cnp.sum(cnp.where(onehot, logp, 0.0)) + cnp.sum(logp[cnp.arange(4), pick])

    jitted = check_replays(cr.value_and_grad(f),
                           lambda: (rng.normal(size=(4, 3)), rng.integers(0, 3, 4)), calls=5)
    assert jitted.programs[0].n_guards == 0


def test_integer_labels_index_without_retracing():
    def nll(z, y):
        return -cnp.mean(log_softmax(z)[cnp.arange(len(y)), y])

    jitted = check_replays(cr.grad(nll), lambda: (rng.normal(size=(5, 4)), rng.integers(0, 4, 5)))
    assert jitted.programs[0].n_guards == 0


# -- results and state ---------------------------------------------------------------------
def test_results_are_never_overwritten_by_later_calls():
    f = cr.jit(lambda x: (cnp.tanh(x) * 2.0, {"g": cr.grad(lambda x: cnp.sum(x ** 3))(x)}))
    x1 = rng.normal(size=(3, 3))
    r1 = f(x1)
    kept = (r1[0].copy(), r1[1]["g"].copy())
    f(rng.normal(size=(3, 3)))
    f(rng.normal(size=(3, 3)))
    assert np.array_equal(r1[0], kept[0]) and np.array_equal(r1[1]["g"], kept[1])


def test_constant_results_are_fresh_arrays():
    f = cr.jit(cr.grad(lambda x: cnp.sum(x * 2.0)))  # the gradient does not depend on x's values
    for x in (np.zeros(3), np.ones(3)):  # traced, then replayed
        result = f(x)
        result += 5.0
    assert np.array_equal(f(np.ones(3)), np.full(3, 2.0))
    # the gradient of a sum is an array of its own, jitted as plain
    assert cr.jit(cr.grad(cnp.sum))(np.ones(3)).flags.writeable
    assert cr.grad(cnp.sum)(np.ones(3)).flags.writeable


def test_changing_a_result_does_not_change_a_guard():
    def f(x):
        y = x + 1.0
        return y, (1 if y.tolist() == [2.0, 2.0] else 0)  # a guard on all of y

    jitted = cr.jit(f)
    y, _ = jitted(np.ones(2))
    y[:] = 5.0  # the caller's array, not the guard's
    assert jitted(np.full(2, 4.0))[1] == 0


def test_inputs_are_never_written():
    x = rng.normal(size=5)
    before = x.copy()
    f = cr.jit(cr.grad(lambda x: cnp.sum(cnp.exp(x) * x)))
    f(x)
    f(x)
    assert np.array_equal(x, before)


def test_reentrant_call_uses_buffers_of_its_own():
    f = cr.jit(cr.grad(lambda x: cnp.sum(cnp.sin(x) * cnp.cos(x))))
    x = rng.normal(size=8)
    f(x)
    (program,) = f.programs
    program.busy = True  # as if a call were in progress
    assert same(f(x), cr.grad(lambda x: cnp.sum(cnp.sin(x) * cnp.cos(x)))(x))


def test_constant_outputs_and_passed_through_inputs():
    f = cr.jit(lambda x, k: (x, k, 7, cnp.sum(x)))
    x = rng.normal(size=2)
    out = f(x, "tag")
    assert out[0] is x and out[1:3] == ("tag", 7) and out[3] == np.sum(x)
    out = f(x + 1, "tag")
    assert np.array_equal(out[0], x + 1) and out[3] == np.sum(x + 1)


def test_inside_an_outer_transform_it_runs_as_python():
    inner = cr.jit(lambda x: cnp.sin(x) * x)
    g = cr.grad(lambda x: cnp.sum(inner(x)))
    x = rng.normal(size=3)
    assert np.allclose(g(x), np.cos(x) * x + np.sin(x), rtol=1e-14, atol=0)
    assert inner.traces == 0


def test_source_reads_as_numpy_calls():
    f = cr.jit(cr.grad(lambda x: cnp.sum(cnp.tanh(x))))
    f(np.ones(3))
    source = f.programs[0].source
    assert source.startswith("def replay(") and "Tensor" not in source


def test_many_retraces_warn():
    f = cr.jit(lambda x: x * float(cnp.sum(x)))
    with pytest.warns(UserWarning, match="traced"):
        for i in range(10):
            f(np.full(2, float(i)))


# -- donated arguments ---------------------------------------------------------------------
def test_donated_parameters_take_the_new_values():
    def step(params, x):
        grads = cr.grad(lambda p: cnp.sum(cnp.tanh(x @ p[0] + p[1]) ** 2))(params)
        return [p - 0.1 * g for p, g in zip(params, grads, strict=True)]

    jitted = cr.jit(step, donate_argnums=0)
    params = [rng.normal(size=(3, 4)), np.zeros(4)]
    eager = [p.copy() for p in params]
    for _ in range(4):
        x = rng.normal(size=(5, 3))
        x_before = x.copy()
        old = params
        params = jitted(params, x)
        eager = step(eager, x)
        assert same(params, eager)
        assert np.array_equal(x, x_before)  # not donated: never written
    assert all(new is o for new, o in zip(params, old, strict=True))  # written in place


def test_donated_argument_sharing_memory_is_refused():
    f = cr.jit(lambda a, b: (a * 2.0, b + 1.0), donate_argnums=0)
    x = rng.normal(size=3)
    f(x, x.copy())
    with pytest.raises(ValueError, match="shares memory"):
        f(x, x[::-1])


def test_read_only_donated_array_is_not_written():
    f = cr.jit(lambda a: a * 2.0, donate_argnums=0)
    x = rng.normal(size=3)
    x.flags.writeable = False
    for _ in range(2):
        out = f(x)
    assert out is not x and np.array_equal(out, 2.0 * x)


# -- the training layer --------------------------------------------------------------------
F = cr.nn.functional


# (class weights are data, so a weighted loss's mean no longer reads the labels either)
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1}, {"reduction": "sum"},
                                     {"weight": np.array([1.0, 2.0, 0.5])}])
def test_cross_entropy_with_new_labels_replays(options):
    def step(w, x, y):
        return cr.value_and_grad(lambda w: F.cross_entropy(x @ w, y, **options))(w)

    jitted = check_replays(
        step, lambda: (rng.normal(size=(4, 3)), rng.normal(size=(6, 4)), rng.integers(0, 3, 6))
    )
    assert jitted.programs[0].n_guards == 1  # "the labels are valid", not their values


@pytest.mark.parametrize("options", [{"ignore_index": 1}])
def test_cross_entropy_reading_labels_is_guarded(options):
    def step(w, x, y):
        return cr.value_and_grad(lambda w: F.cross_entropy(x @ w, y, **options))(w)

    jitted = check_replays(
        step, lambda: (rng.normal(size=(4, 3)), rng.normal(size=(6, 4)), rng.integers(0, 3, 6)),
        traces=None,
    )
    assert jitted.traces > 1  # read, so new labels may take another path


def test_cross_entropy_invalid_labels_still_raise():
    f = cr.jit(lambda z, y: F.cross_entropy(z, y))
    f(rng.normal(size=(2, 3)), np.array([0, 2]))
    with pytest.raises(ValueError, match="out of range"):
        f(rng.normal(size=(2, 3)), np.array([0, 3]))


def test_module_as_argument():
    from chainrule import nn

    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))

    def step(model, x, y):
        loss, grads = cr.value_and_grad(lambda m: F.cross_entropy(m(x), y))(model)
        return cr.tree_map(lambda p, g: p - 0.1 * g, model, grads), loss

    jitted = cr.jit(step)
    m_eager = m_jit = model
    for _ in range(4):
        x, y = rng.normal(size=(5, 4)), rng.integers(0, 3, 5)
        m_eager, l_eager = step(m_eager, x, y)
        with cr.no_grad():  # Parameters require grad: otherwise the eager layer records it
            m_jit, l_jit = jitted(m_jit, x, y)
        assert same(l_jit, l_eager)
        for a, b in zip(cr.tree_leaves(m_jit), cr.tree_leaves(m_eager), strict=True):
            # eager Tensors, as the plain call gives them (without grad: under no_grad)
            assert type(a) is type(b) is cr.Tensor and not a.requires_grad
            assert np.array_equal(a._value, b.detach().numpy())
    assert jitted.traces == 1  # Parameters on the first call, eager Tensors after it: one key


# -- refusals ------------------------------------------------------------------------------
def test_closed_over_eager_tensor_is_refused():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="eager Tensor"):
        cr.jit(lambda x: x * w)(np.ones(2))


def test_unhashable_constant_argument_is_refused():
    with pytest.raises(TypeError, match="neither an array nor a hashable"):
        cr.jit(lambda x, s: x)(np.ones(2), {1, 2})


def test_escaped_value_is_refused():
    kept = queue.SimpleQueue()  # a library's container: what it holds is not replaced

    def leak(x):
        kept.put(x * 2)
        return x

    f = cr.jit(leak)
    f(np.ones(2))
    with pytest.raises(RuntimeError, match="already returned"):
        cnp.sin(kept.get())


def test_a_value_appended_to_a_closed_over_list_is_its_array():
    kept = []

    def leak(x):
        kept.append(x * 2)
        return x

    f = cr.jit(leak)
    with pytest.warns(UserWarning, match="outlives the call"):
        f(np.ones(2))
    f(np.full(2, 3.0))
    assert same(kept, [np.full(2, 2.0), np.full(2, 6.0)])


def test_dropout_draws_a_new_mask_on_every_replay():
    def f(w, x):
        return cr.grad(lambda w: cnp.sum(F.dropout(x @ w, 0.5) ** 2))(w)

    w, x = rng.normal(size=(3, 6)), rng.normal(size=(4, 3))
    cr.nn.init.manual_seed(7)
    eager = [f(w, x) for _ in range(4)]
    cr.nn.init.manual_seed(7)
    jitted = cr.jit(f)
    replayed = [jitted(w, x) for _ in range(4)]
    assert jitted.traces == 1
    assert all(same(a, b) for a, b in zip(replayed, eager, strict=True))
    assert not np.array_equal(replayed[1], replayed[2])  # same input, new mask


# -- a wide table: each replays exactly on new data, traced once ---------------------------
def _normal(*shape):
    return lambda: (rng.normal(size=shape),)


def _with_nans():
    return (np.where(rng.random(6) > 0.5, np.nan, rng.normal(size=6)),)


def _square(x):
    return cnp.sum(x ** 2)


@cr.custom_vjp
def _clipped_gradient(x):
    return x * 1.0


_clipped_gradient.defvjp(lambda x: (x * 1.0, None), lambda res, g: (cnp.clip(g, -0.1, 0.1),))


@cr.custom_jvp
def _sine_with_doubled_tangent(x):
    return cnp.sin(x)


@_sine_with_doubled_tangent.defjvp
def _(primals, tangents):
    (x,), (t,) = primals, tangents
    return cnp.sin(x), cnp.cos(x) * t * 2.0


WIDE = {
    "custom_vjp": (cr.grad(lambda x: _square(_clipped_gradient(x))), _normal(4)),
    "custom_jvp": (lambda x: cr.jvp(_sine_with_doubled_tangent, (x,), (np.ones(4),)), _normal(4)),
    "hessian": (cr.hessian(lambda x: cnp.sum(cnp.sin(x) ** 2 * x[::-1])), _normal(4)),
    "jacfwd": (cr.jacfwd(lambda x: cnp.tanh(x) * x.sum()), _normal(3)),
    "jacrev": (cr.jacrev(lambda x: cnp.tanh(x) * x.sum()), _normal(3)),
    "linearize": (lambda x: cr.linearize(cnp.sin, x)[1](x), _normal(3)),
    "eigh": (cr.grad(lambda a: cnp.sum(cnp.linalg.eigh(a + a.T)[0] ** 2)), _normal(3, 3)),
    "solve": (cr.grad(lambda a, b: cnp.sum(cnp.linalg.solve(a + 4 * np.eye(3), b))),
              lambda: (rng.normal(size=(3, 3)), rng.normal(size=3))),
    "rfft": (cr.grad(lambda x: cnp.sum(cnp.abs(cnp.fft.rfft(x)) ** 2)), _normal(8)),
    "einsum": (cr.grad(lambda a: _square(cnp.einsum("ij,jk->ik", a, a.T))), _normal(2, 3)),
    "norm": (cr.grad(cnp.linalg.norm), _normal(4)),
    "sort": (cr.grad(lambda x: cnp.sum(cnp.sort(x) * cnp.arange(5.0))), _normal(5)),
    "partition": (cr.grad(lambda x: cnp.sum(cnp.partition(x, 2) * cnp.arange(5.0))), _normal(5)),
    "max": (cr.grad(lambda x: cnp.max(x, axis=0).sum()), _normal(3, 4)),
    "minimum": (cr.grad(lambda x: cnp.sum(cnp.minimum(x, 0.3))), _normal(5)),
    "abs": (cr.grad(lambda x: cnp.sum(cnp.abs(x))), _normal(5)),
    "clip": (cr.grad(lambda x: cnp.sum(cnp.clip(x, -0.5, 0.5))), _normal(5)),
    "where": (cr.grad(lambda x: cnp.sum(cnp.where(x > 0, x ** 2, -x))), _normal(5)),
    "prod": (cr.grad(cnp.prod), _normal(5)),
    "var": (cr.grad(cnp.var), _normal(5)),
    "cumsum": (cr.grad(lambda x: _square(cnp.cumsum(x))), _normal(5)),
    "nansum": (cr.grad(lambda x: cnp.nansum(x ** 2)), _with_nans),
    "nanmean": (cr.grad(lambda x: cnp.nanmean(x ** 2)), _with_nans),
    "nancumsum": (cr.grad(lambda x: _square(cnp.nancumsum(x))), _with_nans),
    "sum where=": (cr.grad(lambda x, m: cnp.sum(x ** 2, where=m)),
                   lambda: (rng.normal(size=5), rng.random(5) > 0.5)),
    "take_along_axis": (cr.grad(lambda x, i: _square(cnp.take_along_axis(x, i, 1))),
                        lambda: (rng.normal(size=(2, 3)), rng.integers(0, 3, (2, 2)))),
    "concatenate": (cr.grad(lambda x: _square(cnp.concatenate([x, x * 2]))), _normal(3)),
    "stack": (cr.grad(lambda x: _square(cnp.stack([x, cnp.sin(x)]))), _normal(3)),
    "conv2d": (cr.grad(lambda w, x: _square(F.conv2d(x, w, padding=1))),
               lambda: (rng.normal(size=(2, 1, 3, 3)), rng.normal(size=(2, 1, 5, 5)))),
    "max_pool2d": (cr.grad(lambda x: _square(F.max_pool2d(x, 2))), _normal(1, 2, 4, 4)),
    "avg_pool2d": (cr.grad(lambda x: _square(F.avg_pool2d(x, 2))), _normal(1, 2, 4, 4)),
    "embedding": (cr.grad(lambda w, i: _square(F.embedding(i, w, padding_idx=0))),
                  lambda: (rng.normal(size=(5, 2)), rng.integers(0, 5, 4))),
    "layer_norm": (cr.grad(lambda x: cnp.sum(F.layer_norm(x, (3,)) ** 3)), _normal(2, 3)),
    "batch_norm (eval)": (lambda x, m, v: F.batch_norm(x, m, v, training=False),
                          lambda: (rng.normal(size=(4, 3)), rng.normal(size=3), rng.random(3))),
    "softmax": (cr.grad(lambda x: cnp.sum(F.softmax(x, dim=-1)[:, 0])), _normal(2, 3)),
    "gelu": (cr.grad(lambda x: cnp.sum(F.gelu(x))), _normal(5)),
    "silu": (cr.grad(lambda x: cnp.sum(F.silu(x))), _normal(5)),
    "softplus": (cr.grad(lambda x: cnp.sum(F.softplus(x))), _normal(5)),
    "leaky_relu": (cr.grad(lambda x: cnp.sum(F.leaky_relu(x))), _normal(5)),
    "mse_loss": (cr.grad(F.mse_loss), lambda: (rng.normal(size=5), rng.normal(size=5))),
    "smooth_l1_loss": (cr.grad(F.smooth_l1_loss), lambda: (rng.normal(size=5), rng.normal(size=5))),
    "bce_with_logits": (cr.grad(F.binary_cross_entropy_with_logits),
                        lambda: (rng.normal(size=5), rng.random(5))),
    "binary_cross_entropy": (cr.grad(F.binary_cross_entropy),
                             lambda: (rng.random(5), rng.random(5))),
    "nll_loss": (cr.grad(lambda x, y: F.nll_loss(F.log_softmax(x, dim=1), y)),
                 lambda: (rng.normal(size=(4, 3)), rng.integers(0, 3, 4))),
}


@pytest.mark.parametrize("name", sorted(WIDE))
def test_wide_table_replays_without_retracing(name):
    fun, make_args = WIDE[name]
    check_replays(fun, make_args, calls=3)


def test_jitted_method():
    class Scaler:
        def __init__(self, k):
            self.k = k

        @cr.jit
        def apply(self, x):
            return cnp.tanh(x) * self.k

    a, b = Scaler(2.0), Scaler(3.0)
    x = rng.normal(size=3)
    assert same(a.apply(x), np.tanh(x) * 2.0)
    assert same(b.apply(x), np.tanh(x) * 3.0)  # another instance: another key
    assert same(a.apply(x + 1), np.tanh(x + 1) * 2.0)
    assert Scaler.apply.traces == 2


def test_memory_layout_is_part_of_the_key():
    def f(x):
        return cnp.ravel(x, order="K") * 1.0, cnp.reshape(x, (-1,), order="A") * 1.0

    jitted = cr.jit(f)
    c = rng.normal(size=(3, 4))
    fortran = np.asfortranarray(c)
    for x in (c, fortran, c[:, ::2], fortran):
        assert same(jitted(x), f(x))
    assert jitted.traces == 3


def test_python_floats_key_by_their_bits():
    f = cr.jit(lambda x, k: x * k)
    x = np.ones(2)
    assert np.array_equal(np.signbit(f(x, 0.0)), [False, False])
    assert np.array_equal(np.signbit(f(x, -0.0)), [True, True])
    assert np.isnan(f(x, float("nan"))).all() and np.isnan(f(x, float("nan"))).all()
    assert f.traces == 3


def test_fast_and_general_paths_share_programs():
    from chainrule import nn

    model = nn.Linear(2, 2)
    f = cr.jit(lambda m, x: m(x) * 2.0)
    x = rng.normal(size=(3, 2))
    eager = f.fun(model, x).detach().numpy()
    with cr.no_grad():  # parameters are read as arrays
        assert np.array_equal(f(model, x), eager)  # a Module: the general path
        assert np.array_equal(f(model, x), eager)
    g = cr.jit(lambda d, x: d["w"] * x)
    for _ in range(3):
        assert np.array_equal(g({"w": 2.0 * np.ones(2)}, x), 2.0 * x)  # the fast path
    assert f.traces == 1 and g.traces == 1


# -- random programs ------------------------------------------------------------------------
# Each step maps a (3, 4) array to a (3, 4) array; some branch on data, some read indices.
STEPS = {
    "sin": cnp.sin,
    "tanh": cnp.tanh,
    "exp": lambda h: cnp.exp(0.3 * h),
    "scale": lambda h: h * 0.7 - 0.1,
    "relu": lambda h: cnp.maximum(h, 0.0),
    "where": lambda h: cnp.where(h > 0.1, h * h, -h),
    "row max": lambda h: h - cnp.max(h, axis=1, keepdims=True),
    "softmax": lambda h: F.softmax(h, dim=1),
    "sort": lambda h: cnp.sort(h, axis=1),
    "argmax pick": lambda h: h * (cnp.arange(4) == cnp.argmax(h, axis=1)[:, None]),
    "transpose": lambda h: cnp.reshape(cnp.transpose(h), (3, 4)),
    "mean": lambda h: h - cnp.mean(h, axis=0),
    "branch": lambda h: h * 2.0 if cnp.sum(h) > 0 else h - 1.0,
    "index": lambda h: h[cnp.array([2, 0, 1])][:, cnp.array([3, 1, 0, 2])],
}


def random_program(steps, table=STEPS):
    def f(w, x):
        h = x @ w
        for name in steps:
            h = table[name](h)
        return cnp.sum(h * h)

    return f


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=6),
       seeds=st.lists(st.integers(0, 2**16), min_size=3, max_size=3))
def test_random_programs_replay_exactly(steps, seeds):
    f = random_program(steps)
    both = cr.value_and_grad(f)
    jitted = cr.jit(both)
    for seed in seeds:
        r = np.random.default_rng(seed)
        w, x = r.normal(size=(4, 4)), r.normal(size=(3, 4))
        assert same(jitted(w, x), both(w, x))


@settings(max_examples=20, deadline=None)
@given(steps=st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=4),
       seed=st.integers(0, 2**16))
def test_random_programs_second_order_replay_exactly(steps, seed):
    f = random_program(steps)
    def hvp(w, x, v):
        return cr.hvp(lambda w: f(w, x), (w,), (v,))

    jitted = cr.jit(hvp)
    r = np.random.default_rng(seed)
    for _ in range(2):
        args = r.normal(size=(4, 4)), r.normal(size=(3, 4)), r.normal(size=(4, 4))
        assert same(jitted(*args), hvp(*args))


def test_clear_forgets_the_programs():
    f = cr.jit(lambda x: cnp.sin(x) * 2.0)
    x = rng.normal(size=3)
    f(x)
    f(x)
    f.clear()
    assert f.programs == [] and same(f(x), np.sin(x) * 2.0) and f.traces == 2


@pytest.mark.parametrize("wrap", [cr.grad, cr.vmap, lambda f: cr.vmap(f, in_axes=1)], ids=["grad", "vmap", "vmap1"])
def test_jit_of_a_wrapper_of_jit_runs_the_wrapper(wrap):
    # a wrapper made by functools.wraps carries the inner jit's fields in its __dict__;
    # the outer jit must still run the wrapper, not the inner function
    x = rng.normal(size=(3, 4))
    if wrap is cr.grad:
        inner = cr.jit(lambda x: cnp.sum(cnp.sin(x) * x))
        want = np.sin(x) + x * np.cos(x)
    else:
        inner = cr.jit(lambda v: cnp.sum(cnp.sin(v) * v, axis=0))
        want = wrap(lambda v: cnp.sum(cnp.sin(v) * v, axis=0))(x)
    outer = cr.jit(wrap(inner))
    for _ in range(2):
        np.testing.assert_allclose(outer(x), want, rtol=1e-12)
