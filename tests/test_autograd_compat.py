"""Programs written for HIPS autograd's public API run unchanged with chainrule.

Each program below is written once against a module namespace ``ag`` (``autograd``
itself, or ``chainrule``) and ``np`` (``autograd.numpy`` or ``chainrule.numpy``); where
autograd is installed the two results must agree, and each is also checked against a
closed form or finite differences.
"""

import importlib

import numpy as onp
import pytest

import chainrule
import chainrule.numpy as cnp


def libraries():
    libs = [("chainrule", chainrule, cnp)]
    try:
        ag = importlib.import_module("autograd")
        libs.append(("autograd", ag, importlib.import_module("autograd.numpy")))
    except ImportError:
        pass
    return libs


def extend(ag):
    return importlib.import_module(ag.__name__ + ".extend")


def logistic_regression(ag, np):
    # from autograd's README
    def sigmoid(x):
        return 0.5 * (np.tanh(x / 2.0) + 1)

    def logistic_predictions(weights, inputs):
        return sigmoid(np.dot(inputs, weights))

    inputs = np.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15],
                       [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]])
    targets = np.array([True, True, False, True])

    def training_loss(weights):
        preds = logistic_predictions(weights, inputs)
        label_probabilities = preds * targets + (1 - preds) * (1 - targets)
        return -np.sum(np.log(label_probabilities))

    training_gradient_fun = ag.grad(training_loss)
    weights = np.array([0.0, 0.0, 0.0])
    for _ in range(100):
        weights = weights - training_gradient_fun(weights) * 0.01
    return onp.asarray(weights), float(training_loss(weights))


def tanh_derivatives(ag, np):
    # from autograd's tutorial: six derivatives of tanh by elementwise_grad
    x = np.linspace(-3, 3, 7)
    f = np.tanh
    out = []
    for _ in range(6):
        f = ag.elementwise_grad(f)
        out.append(onp.asarray(f(x)))
    return onp.stack(out)


def small_net(ag, np):
    # a one-hidden-layer network trained a few steps, parameters as a list of tuples
    rs = onp.random.RandomState(0)
    params = [(rs.randn(3, 4) * 0.1, rs.randn(4) * 0.1), (rs.randn(4, 1) * 0.1, rs.randn(1) * 0.1)]
    x, y = rs.randn(8, 3), rs.randn(8, 1)

    def predict(params, inputs):
        for w, b in params:
            outputs = np.dot(inputs, w) + b
            inputs = np.tanh(outputs)
        return outputs

    def loss(params):
        return np.mean((predict(params, x) - y) ** 2)

    g = ag.grad(loss)
    for _ in range(5):
        grads = g(params)
        params = [(w - 0.1 * dw, b - 0.1 * db) for (w, b), (dw, db) in zip(params, grads, strict=True)]
    return float(loss(params))


def hessian_and_jacobian(ag, np):
    def f(x):
        return np.sum(np.sin(x) * x ** 2)

    x = np.array([0.3, -0.5, 1.2])
    h = ag.hessian(f)(x)
    j = ag.jacobian(lambda x: np.sin(x) * x)(x)
    hvp = ag.hessian_tensor_product(f)(x, np.ones(3))
    return onp.asarray(h), onp.asarray(j), onp.asarray(hvp)


def vjp_jvp_and_extension(ag, np):
    @extend(ag).primitive
    def logsumexp(x):
        m = onp.max(x)
        return m + onp.log(onp.sum(onp.exp(x - m)))

    extend(ag).defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))
    x = np.array([0.1, 0.7, -0.4])
    g = ag.grad(logsumexp)(x)
    vjp, out = ag.make_vjp(lambda x: np.sin(x) * 2)(x)
    jvp = ag.make_jvp(lambda x: np.sin(x) * 2)(x)(np.ones(3))[1]
    value, grad = ag.value_and_grad(lambda x: np.sum(x ** 3))(x)
    return onp.asarray(g), onp.asarray(vjp(np.ones(3))), onp.asarray(jvp), float(value), onp.asarray(grad)


PROGRAMS = [logistic_regression, tanh_derivatives, small_net, hessian_and_jacobian, vjp_jvp_and_extension]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_program_runs_and_agrees_with_autograd(program):
    results = {name: program(ag, np) for name, ag, np in libraries()}
    if "autograd" in results:
        a, c = results["autograd"], results["chainrule"]
        for x, y in zip(a if isinstance(a, tuple) else (a,), c if isinstance(c, tuple) else (c,), strict=True):
            assert onp.allclose(x, y, rtol=1e-10, atol=1e-12)


def test_closed_forms_of_the_programs():
    x = onp.linspace(-3, 3, 7)
    t = onp.tanh(x)
    d = tanh_derivatives(chainrule, cnp)
    assert onp.allclose(d[0], 1 - t**2) and onp.allclose(d[1], -2 * t * (1 - t**2))
    h, j, hvp = hessian_and_jacobian(chainrule, cnp)
    xs = onp.array([0.3, -0.5, 1.2])
    assert onp.allclose(onp.diag(h), -onp.sin(xs) * xs**2 + 4 * xs * onp.cos(xs) + 2 * onp.sin(xs))
    assert onp.allclose(j, onp.diag(onp.cos(xs) * xs + onp.sin(xs)))
    assert onp.allclose(hvp, h.sum(axis=1))
    g = vjp_jvp_and_extension(chainrule, cnp)[0]
    x = onp.array([0.1, 0.7, -0.4])
    assert onp.allclose(g, onp.exp(x) / onp.exp(x).sum())


@pytest.mark.parametrize("x", [1.5, onp.float32(1.5)], ids=["python-float", "float32"])
def test_python_float_argument_as_documented(x):
    """docs/autograd.md, Python floats: a Python float is differentiated as float64 (autograd
    keeps it weakly typed, so float32 arithmetic stays float32 there); np.float32 agrees."""
    ag = pytest.importorskip("autograd")
    anp = importlib.import_module("autograd.numpy")
    seen = {}

    def f(np, key):
        def run(v):
            seen[key] = out = np.tanh(v * onp.float32(2.0))
            return out
        return run

    want = ag.grad(f(anp, "autograd"))(x)
    got = chainrule.grad(f(cnp, "chainrule"))(x)
    dtype_c, dtype_a = (onp.result_type(seen[k]._value) for k in ("chainrule", "autograd"))
    assert dtype_c == (onp.float64 if type(x) is float else onp.float32)
    assert dtype_a == onp.float32
    assert type(got) is (onp.float64 if type(x) is float else onp.float32)
    onp.testing.assert_allclose(got, want, rtol=1e-5)  # float32 rounding of either formula


# -- what autograd programs do that chainrule refused (each checked against autograd itself) --

def test_values_stored_by_an_objective_are_constants_after_it_returns():
    """An objective that keeps its losses (``hist.append(loss)``) and a program that reads
    them after optimising: autograd's boxes of the finished trace compute on (their results
    are boxes), chainrule's give plain NumPy values; both give the same numbers."""
    ag = pytest.importorskip("autograd")
    anp = importlib.import_module("autograd.numpy")
    reads = {
        "add": lambda np, h, hist: h + 1.0, "rmul": lambda np, h, hist: 2 * h,
        "array": lambda np, h, hist: np.array(hist), "mean": lambda np, h, hist: np.mean(hist),
        "sum": lambda np, h, hist: sum(hist), "sin": lambda np, h, hist: np.sin(h),
        "less": lambda np, h, hist: h < 3.0, "min": lambda np, h, hist: min(hist) * 1.0,
        "in_later_grad": lambda np, h, hist: GRAD[np](lambda x: x * h + h)(3.0),
    }
    GRAD = {anp: ag.grad, cnp: chainrule.grad}

    def history(ag, np):
        hist = []

        def objective(x):
            loss = np.sum(np.tanh(x) ** 2)
            hist.append(loss)
            return loss

        x = onp.array([0.3, -1.2])
        for _ in range(3):
            x = x - 0.5 * ag.grad(objective)(x)
        return hist

    hist_a, hist_c = history(ag, anp), history(chainrule, cnp)
    for name, read in reads.items():
        a, c = read(anp, hist_a[-1], hist_a), read(cnp, hist_c[-1], hist_c)
        assert not isinstance(c, chainrule.Tensor), name
        onp.testing.assert_allclose(getattr(a, "_value", a), c, rtol=1e-12, err_msg=name)
    # what autograd refuses (float() of a box) or makes an object array of, chainrule reads
    assert float(hist_c[0]) == pytest.approx(float(hist_a[0]._value), rel=1e-12)
    onp.testing.assert_allclose(onp.array(hist_c), [h._value for h in hist_a], rtol=1e-12)


@pytest.mark.parametrize("cotangent", [1.0, onp.array(2.0), onp.array([2.0])], ids=["float", "0d", "shape1"])
@pytest.mark.parametrize("fun", ["sin", "getitem", "cumsum_sin"])
def test_vjp_broadcasts_a_one_element_cotangent_as_autograd(fun, cotangent):
    ag = pytest.importorskip("autograd")
    anp = importlib.import_module("autograd.numpy")
    funs = {"sin": lambda np: np.sin, "getitem": lambda np: lambda x: x[1:] * 3.0,
            "cumsum_sin": lambda np: lambda x: np.sin(x) * x[0]}
    x = onp.array([0.3, -0.5, 1.2])
    want = ag.make_vjp(funs[fun](anp))(x)[0](cotangent)
    got = chainrule.make_vjp(funs[fun](cnp))(x)[0](cotangent)
    onp.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(ValueError, match=r"cotangent of shape \(2,\) for an output"):
        chainrule.make_vjp(cnp.sin)(x)[0](onp.ones(2))


@pytest.mark.parametrize("out", [lambda np, x: np.sum(x ** 2, keepdims=True), lambda np, x: np.array([np.sum(x ** 2)]),
                                 lambda np, x: np.reshape(np.sum(x ** 3), (1, 1))], ids=["keepdims", "array", "1x1"])
def test_grad_of_a_one_element_output_as_autograd(out):
    ag = pytest.importorskip("autograd")
    anp = importlib.import_module("autograd.numpy")
    x = onp.array([0.3, -0.5, 1.2])
    onp.testing.assert_allclose(chainrule.grad(lambda x: out(cnp, x))(x), ag.grad(lambda x: out(anp, x))(x), rtol=1e-12)


@pytest.mark.parametrize("wrap", [lambda v: [v], lambda v: (v,), lambda v: {"loss": v}], ids=["list", "tuple", "dict"])
def test_grad_of_a_container_of_one_scalar_names_the_fix(wrap):
    """autograd differentiates no value inside a container output: its grad is 0 with
    the warning "Output seems independent of input."; chainrule refuses it and says to
    return the scalar itself, which both differentiate alike."""
    ag = pytest.importorskip("autograd")
    anp = importlib.import_module("autograd.numpy")
    x = onp.array([0.3, -0.5, 1.2])
    with pytest.warns(UserWarning, match="Output seems independent of input"):
        assert not onp.any(ag.grad(lambda x: wrap(anp.sum(x ** 2)))(x))
    key = "'loss'" if isinstance(wrap(0), dict) else "0"
    with pytest.raises(TypeError, match=rf"got a {type(wrap(0)).__name__} of one value; return the scalar itself "
                                        rf"\(out\[{key}\] rather than out\)"):
        chainrule.grad(lambda x: wrap(cnp.sum(x ** 2)))(x)
    onp.testing.assert_array_equal(chainrule.grad(lambda x: cnp.sum(x ** 2))(x), 2 * x)


def test_a_float32_cast_inside_a_float64_computation_has_a_float32_derivative():
    """As documented: the derivative that flows back through a cast to float32 is
    rounded to float32 (JAX's and PyTorch's convention); autograd's stays float64."""
    ag = pytest.importorskip("autograd")
    anp = importlib.import_module("autograd.numpy")
    x = onp.array([0.3, -1.2, 0.1])
    rounded = x.astype(onp.float32).astype(onp.float64)
    ours = chainrule.grad(lambda x: cnp.sum(x.astype(onp.float32) * x))(x)
    theirs = ag.grad(lambda x: anp.sum(x.astype(onp.float32) * x))(x)
    onp.testing.assert_array_equal(ours, 2 * rounded)
    onp.testing.assert_array_equal(theirs, rounded + x)
    onp.testing.assert_allclose(ours, theirs, rtol=1e-7)


def test_a_vjp_of_your_own_may_write_into_its_cotangent():
    """``g *= 2`` in a vjp: autograd's sum hands it a fresh array; chainrule's handed a
    read-only view (ValueError) or the array it also gives the other operand of ``+``.
    Each vjp now gets its own copy: autograd's numbers through sum, and through ``+`` the
    true derivative (autograd's second vjp sees the first one's write)."""
    ag = pytest.importorskip("autograd")
    anp = importlib.import_module("autograd.numpy")
    x, w = onp.array([0.3, -1.2, 0.5]), onp.array([1.0, 2.0, 3.0])

    def doubled_sine(lib):
        f = extend(lib).primitive(lambda x: onp.sin(x))

        def vjp(ans, x):
            def scaled(g):
                g *= 2.0
                return g * onp.cos(x)
            return scaled
        extend(lib).defvjp(f, vjp)
        return f

    f, fa = doubled_sine(chainrule), doubled_sine(ag)
    onp.testing.assert_array_equal(chainrule.grad(lambda x: cnp.sum(f(x)))(x), ag.grad(lambda x: anp.sum(fa(x)))(x))
    onp.testing.assert_allclose(chainrule.grad(lambda x: cnp.sum((f(x) + f(2 * x)) * w))(x),
                                2 * w * onp.cos(x) + 4 * w * onp.cos(2 * x), rtol=1e-14)


def test_plain_numpy_array_of_differentiated_values_names_the_fix():
    """autograd's plain ``numpy.array([x0, x1])`` is an object array of boxes (its sums
    and products differentiate); chainrule refuses it and names chainrule.numpy's array
    and stack, which give autograd's numbers."""
    ag = pytest.importorskip("autograd")
    x = onp.array([0.3, -0.5])
    want = ag.grad(lambda x: onp.array([x[0] * 2, x[1] ** 2]).sum())(x)
    with pytest.raises(TypeError, match=r"chainrule\.numpy\.array\(\[x, y\]\) or chainrule\.numpy\.stack"):
        chainrule.grad(lambda x: onp.array([x[0] * 2, x[1] ** 2]).sum())(x)
    for build in (cnp.array, cnp.stack):
        got = chainrule.grad(lambda x, build=build: build([x[0] * 2, x[1] ** 2]).sum())(x)
        onp.testing.assert_allclose(got, want, rtol=1e-15)


@pytest.mark.parametrize("name", ["mT", "mH", "H"])
def test_hasattr_of_a_matrix_attribute_is_false_for_a_vector(name):
    """hasattr only swallows AttributeError: ``hasattr(x, "mT")`` of a 1-d value gave
    chainrule's RuntimeError; autograd's boxes have no ``mT`` (False). The attribute itself
    still refuses a 1-d value with PyTorch's message."""
    ag = pytest.importorskip("autograd")
    seen = {}

    def probe(key, np):
        def f(x):
            seen[key] = hasattr(x, name)
            return np.sum(x)
        return f

    ag.grad(probe("autograd", importlib.import_module("autograd.numpy")))(onp.ones(3))
    chainrule.grad(probe("chainrule", cnp))(onp.ones(3))
    assert seen["chainrule"] is seen["autograd"] is False
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        getattr(chainrule.tensor(onp.ones(3)), name)


STATS = {
    "norm.logpdf": lambda st, x: st.norm.logpdf(x, 0.5, 2.0), "norm.cdf": lambda st, x: st.norm.cdf(x),
    "t.logpdf": lambda st, x: st.t.logpdf(x, 3.0), "gamma.logpdf": lambda st, x: st.gamma.logpdf(x, 2.0),
    "beta.logpdf": lambda st, x: st.beta.logpdf(x, 2.0, 3.0), "chi2.logpdf": lambda st, x: st.chi2.logpdf(x, 3.0),
    "poisson.logpmf": lambda st, x: st.poisson.logpmf(onp.array([1, 2]), x),
    "multivariate_normal.logpdf": lambda st, x: st.multivariate_normal.logpdf(
        x, onp.zeros(2, onp.float32), onp.eye(2, dtype=onp.float32)),
    "dirichlet.logpdf": lambda st, x: st.dirichlet.logpdf(x, onp.array([2.0, 3.0], onp.float32)),
}


@pytest.mark.parametrize("name", sorted(STATS))
def test_stats_of_float32_input_in_autograds_dtype(name):
    """autograd.scipy.stats calls SciPy's functions: float32 data gives float64 log
    densities (SciPy's dirichlet keeps float32); chainrule's agree in dtype and value."""
    ag = pytest.importorskip("autograd")
    ast = importlib.import_module("autograd.scipy.stats")
    import chainrule.scipy.stats as cst

    x = onp.array([0.3, 0.7], onp.float32)
    want, got = STATS[name](ast, x), STATS[name](cst, x)
    assert onp.asarray(got).dtype == onp.asarray(want).dtype
    onp.testing.assert_allclose(got, want, rtol=1e-12 if onp.asarray(want).dtype == onp.float64 else 1e-6)
    g_want = ag.grad(lambda x: importlib.import_module("autograd.numpy").sum(STATS[name](ast, x)))(x)
    g_got = chainrule.grad(lambda x: cnp.sum(STATS[name](cst, x)))(x)
    assert g_got.dtype == onp.float32  # the argument's dtype (autograd's is float64 here)
    onp.testing.assert_allclose(g_got, g_want, rtol=1e-6)
