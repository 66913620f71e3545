"""Derivatives that HIPS autograd takes, taken the same way: each program is written once
against a namespace ``(ag, np)`` and runs with ``autograd`` and with ``chainrule``; the
numbers must agree to 1e-10 and the types of the results must be the same. Each program is
also checked against finite differences, so that the oracle is not the only witness.
"""

from __future__ import annotations

import numpy as onp
import pytest

import chainrule
import chainrule.numpy as cnp

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

LIBS = [(chainrule, cnp), (autograd, anp)]


def both(program):
    """The program's results with chainrule and with autograd."""
    return [program(ag, np) for ag, np in LIBS]


def agree(ours, theirs, rtol=1e-10):
    """Same numbers, same container and array types, leaf by leaf."""
    if isinstance(theirs, tuple | list):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            agree(a, b, rtol)
        return
    assert isinstance(ours, onp.ndarray) == isinstance(theirs, onp.ndarray), (ours, theirs)
    if isinstance(theirs, onp.ndarray):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (ours, theirs)
    else:
        assert onp.result_type(ours) == onp.result_type(theirs), (type(ours), type(theirs))
    onp.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol)


def fd(f, x, h=1e-6):
    """Central differences of a scalar function of a float array."""
    x = onp.asarray(x, float)
    g = onp.zeros_like(x)
    for i in onp.ndindex(x.shape):
        e = onp.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


# -- integer arguments are differentiated in float64 ---------------------------------------
def test_integer_argument_of_elementwise_grad():
    def program(ag, np):
        return ag.elementwise_grad(lambda p, t: (t / p) ** 1.5, 1)(2.0, onp.array([1, 2, 3]))

    ours, theirs = both(program)
    agree(ours, theirs)
    onp.testing.assert_allclose(ours, [0.5303300858899106, 0.75, 0.9185586535436918], rtol=1e-12)


def test_integer_arguments_in_both_modes():
    t = onp.array([1, 2, 3])
    g = chainrule.grad(lambda t: cnp.sum(cnp.sin(t)))(t)
    assert g.dtype == onp.float64
    onp.testing.assert_allclose(g, onp.cos(t))
    _, tangent = chainrule.jvp(lambda t: cnp.sum(t**2), (t,), (onp.ones(3),))
    assert tangent == 12.0
    assert float(chainrule.grad(lambda n: n**2)(3)) == 6.0  # a Python int too


def test_boolean_arguments_are_still_refused():
    with pytest.raises(TypeError, match="dtype bool"):
        chainrule.grad(lambda b: b * 1.0)(onp.array(True))


# -- functions of a list of Tensors ------------------------------------------------------
LIST_REDUCTIONS = {
    "mean": lambda np, a, b: np.mean([a, b]),
    "std": lambda np, a, b: np.std([a, b]),
    "var": lambda np, a, b: np.var([a, b], axis=0).sum(),
    "sum": lambda np, a, b: np.sum([a * b, b]),
    "norm": lambda np, a, b: np.linalg.norm([a, b]),
    "prod": lambda np, a, b: np.prod([a, b]),
    "nested": lambda np, a, b: np.sum(np.sin([[a, b], [b, a]])),
    "mixed": lambda np, a, b: np.mean([a, onp.ones(2), b]),
    "tuple": lambda np, a, b: np.sum(np.dot((a, b), onp.array([1.0, -2.0]))),
}

# autograd's own ufuncs cannot take a nested list of its boxes; checked against differences
BEYOND_AUTOGRAD = {"nested"}


@pytest.mark.parametrize("name", sorted(LIST_REDUCTIONS))
def test_function_of_a_list_of_tensors(name):
    a, b = onp.array([0.3, -1.2]), onp.array([0.7, 2.1])

    def program(ag, np):
        f = lambda a, b: LIST_REDUCTIONS[name](np, a, b)  # noqa: E731
        return ag.grad(f, 0)(a, b), ag.grad(f, 1)(a, b)

    ours, theirs = both(program) if name not in BEYOND_AUTOGRAD else (program(chainrule, cnp), None)
    if theirs is not None:
        agree(ours, theirs)
    f = lambda a, b: LIST_REDUCTIONS[name](onp, a, b)  # noqa: E731
    onp.testing.assert_allclose(ours[0], fd(lambda a: f(a, b), a), atol=1e-7)
    # and forward mode: the tangent along (a, b) is the gradient's inner product
    _, tangent = chainrule.jvp(lambda a, b: LIST_REDUCTIONS[name](cnp, a, b), (a, b), (a, b))
    onp.testing.assert_allclose(tangent, onp.sum(ours[0] * a) + onp.sum(ours[1] * b), rtol=1e-10)


def test_list_of_tensors_to_second_order():
    a = onp.array([0.3, -1.2, 0.5])
    h = chainrule.hessian(lambda a: cnp.std([a, a**2]))(a)
    h_ag = autograd.hessian(lambda a: anp.std(anp.array([a, a**2])))(a)
    onp.testing.assert_allclose(h, h_ag, rtol=1e-10, atol=1e-12)


# -- functions without a derivative give plain data -------------------------------------------
def test_floor_cast_to_int_indexes_a_plain_array():
    table = onp.arange(10.0) ** 2

    def program(ag, np):
        def f(t):
            i = np.floor(t).astype(int)
            return np.sum(table[i] * t) + np.sum(table[np.argmax(t)] * t)

        return ag.grad(f)(onp.array([1.5, 2.5, 7.25]))

    ours, theirs = both(program)
    agree(ours, theirs)


@pytest.mark.parametrize("name", ["floor", "ceil", "rint", "trunc", "fix", "sign", "round", "around"])
def test_rounding_gives_plain_data_with_no_derivative(name):
    seen = []

    def f(t):
        r = getattr(cnp, name)(t)
        seen.append(r)
        return cnp.sum(r * t)

    t = onp.array([1.4, -2.6, 0.2])
    g = chainrule.grad(f)(t)
    assert type(seen[0]) is onp.ndarray  # no Tensor: data, as in autograd
    onp.testing.assert_allclose(g, getattr(onp, name)(t))
    _, tangent = chainrule.jvp(f, (t,), (onp.ones(3),))
    onp.testing.assert_allclose(tangent, onp.sum(getattr(onp, name)(t)))


def test_comparisons_casts_and_floor_division_are_data():
    def f(t):
        mask = (t > 0).astype(float)  # a float cast of data stays data
        k = (t // 1.0).astype(onp.int64)
        assert type(k) is onp.ndarray and type(mask) is onp.ndarray
        return cnp.sum(t * mask) + cnp.sum(onp.arange(5.0)[k])

    g = chainrule.grad(f)(onp.array([1.5, -0.5, 3.2]))
    onp.testing.assert_allclose(g, [1.0, 0.0, 1.0])


def test_float_cast_keeps_the_derivative():
    t = onp.array([1.5, 2.5])
    g = chainrule.grad(lambda t: cnp.sum(t.astype(onp.float32) ** 2))(t)
    assert g.dtype == onp.float64
    onp.testing.assert_allclose(g, 2 * t)


# -- full, linspace, real_if_close, make_diagonal ------------------------------------------
CREATION = {
    "full": lambda np, a: np.sum(np.sin(np.full((3, 2), a))),
    "full_array": lambda np, a: np.sum(np.full((2, 3), a * onp.arange(1.0, 4.0)) ** 2),
    "linspace": lambda np, a: np.sum(np.sin(np.linspace(a, 2.0, 7))),
    "linspace_stop": lambda np, a: np.sum(np.linspace(-1.0, a, 5) ** 3),
    "linspace_open": lambda np, a: np.sum(np.linspace(a, a**2, 4, endpoint=False) ** 2),
    "make_diagonal": lambda np, a: np.sum(
        np.sin(np.make_diagonal(a * onp.arange(1.0, 4.0), axis1=-1, axis2=-2)) ** 2
    ),
}

# autograd sums the cotangent of an array fill_value to a scalar (a wrong gradient), and its
# linspace rule takes no endpoint=: checked against differences alone
CREATION_BEYOND_AUTOGRAD = {"full_array", "linspace_open"}


@pytest.mark.parametrize("name", sorted(CREATION))
def test_creation_functions_differentiate(name):
    a = 0.7

    def program(ag, np):
        f = lambda a: CREATION[name](np, a)  # noqa: E731
        return ag.grad(f)(a), ag.grad(ag.grad(f))(a)

    if name in CREATION_BEYOND_AUTOGRAD:
        ours = program(chainrule, cnp)
    else:
        ours, theirs = both(program)
        agree(ours, theirs)
    f = lambda a: CREATION[name](onp, a) if name != "make_diagonal" else CREATION[name](cnp, a)  # noqa: E731
    onp.testing.assert_allclose(ours[0], fd(f, onp.array(a)), rtol=1e-7)
    _, tangent = chainrule.jvp(lambda a: CREATION[name](cnp, a), (a,), (1.0,))
    onp.testing.assert_allclose(tangent, ours[0], rtol=1e-12)


def test_linspace_with_array_endpoints_and_axis():
    start, stop = onp.array([0.5, -1.0]), onp.array([2.0, 3.0])
    w = onp.random.default_rng(0).standard_normal((2, 6))
    for np in (cnp, onp):
        assert onp.allclose(np.linspace(start, stop, 6, axis=1), onp.linspace(start, stop, 6, axis=1))

    def f(start, stop):
        return cnp.sum(cnp.linspace(start, stop, 6, axis=1) * w)

    g0, g1 = chainrule.grad(f, (0, 1))(start, stop)
    plain = lambda s, t: onp.sum(onp.linspace(s, t, 6, axis=1) * w)  # noqa: E731
    onp.testing.assert_allclose(g0, fd(lambda s: plain(s, stop), start), atol=1e-8)
    onp.testing.assert_allclose(g1, fd(lambda t: plain(start, t), stop), atol=1e-8)


def test_real_if_close():
    for z in (onp.array([1 + 1e-17j, 2 + 0j]), onp.array([1 + 1j, 2 - 0.5j])):
        def program(ag, np, z=z):
            return ag.grad(lambda z: np.sum(np.abs(np.real_if_close(z)) ** 2))(z)

        agree(*both(program))
    _, t = chainrule.jvp(cnp.real_if_close, (onp.array([1 + 1e-17j]),), (onp.array([1 + 1j]),))
    assert t.dtype == onp.float64 and t[0] == 1.0


# -- std where every deviation is zero ----------------------------------------------------------
@pytest.mark.parametrize("x", [onp.array(1.5), onp.array([2.0, 2.0]), 0.7])
def test_std_of_a_constant_has_zero_derivative_in_both_modes(x):
    def program(ag, np):
        return ag.grad(np.std)(x)

    ours, theirs = both(program)
    if onp.size(x) == 1:  # (autograd gives nan for several equal values; 0 is a subgradient)
        onp.testing.assert_array_equal(ours, theirs)
    assert onp.all(ours == 0)
    _, tangent = chainrule.jvp(cnp.std, (x,), (onp.ones_like(x),))
    assert tangent == 0.0
    assert onp.ndim(tangent) == 0


# -- jvp of vjp of the products: shapes and types of the primal --------------------------------
PRODUCTS = {
    "dot": (lambda np, a, b: np.dot(a, b), [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 2, 3), (3, 2))]),
    "outer": (lambda np, a, b: np.outer(a, b), [((3,), (2,))]),
    "tensordot": (lambda np, a, b: np.tensordot(a, b, 1), [((2, 3), (3, 4)), ((3,), (3,))]),
    "tensordot_axes": (lambda np, a, b: np.tensordot(a, b, axes=([0], [1])), [((3, 2), (4, 3))]),
    "einsum": (lambda np, a, b: np.einsum("ij,jk->ik", a, b), [((2, 3), (3, 4))]),
    "inner": (lambda np, a, b: np.inner(a, b), [((3,), (3,)), ((2, 3), (4, 3))]),
    "matmul": (lambda np, a, b: np.matmul(a, b), [((2, 3), (3, 4)), ((5, 2, 3), (3,))]),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
@pytest.mark.parametrize("argnum", [0, 1])
def test_jvp_of_vjp_of_products(name, argnum):
    f, shapes = PRODUCTS[name]
    rng = onp.random.default_rng(5)
    for sa, sb in shapes:
        a, b = rng.standard_normal(sa), rng.standard_normal(sb)
        c = rng.standard_normal(onp.shape(f(onp, a, b)))

        def program(ag, np, a=a, b=b, c=c):
            def pull(a, b, c):
                return ag.make_vjp(lambda *ab: f(np, *ab), argnum)(a, b)[0](c)

            along_c = ag.make_jvp(lambda c_: pull(a, b, c_))(c)(c)
            along_a = ag.make_jvp(lambda a_: pull(a_, b, c))(a)(a)
            along_b = ag.make_jvp(lambda b_: pull(a, b_, c))(b)(b)
            return along_c, along_a, along_b

        ours, theirs = both(program)
        agree(ours, theirs)
        for value, tangent in ours:
            assert onp.shape(value) == onp.shape(tangent) == (sa, sb)[argnum]


def test_make_diagonal_gradcheck_and_autograd_restriction():
    d = onp.random.default_rng(2).standard_normal((2, 3))
    assert chainrule.gradcheck(lambda d: cnp.make_diagonal(d, axis1=-1, axis2=-2), d, order=2)
    assert chainrule.gradcheck(lambda d: cnp.make_diagonal(d, axis1=-1, axis2=-2), d + 1j * d, order=1)
    onp.testing.assert_array_equal(cnp.diagonal(cnp.make_diagonal(d, axis1=-1, axis2=-2), 0, -1, -2), d)
    with pytest.raises(NotImplementedError, match="offset=0, axis1=-1, axis2=-2"):
        cnp.make_diagonal(d)


@pytest.mark.parametrize("out", ["vector", "matrix", "scalar"])
def test_hessian_of_an_array_valued_function_is_autograds(out):
    x = onp.array([0.4, 1.3, -0.7])

    def program(ag, np):
        f = {
            "vector": lambda x: np.sin(x) * x[0],
            "matrix": lambda x: np.outer(x, x) ** 2,
            "scalar": lambda x: np.sum(np.tanh(x) ** 3),
        }[out]
        return ag.hessian(f)(x)

    agree(*both(program))


@pytest.mark.parametrize("transform", ["grad", "elementwise_grad", "value_and_grad"])
def test_gradient_types_follow_the_argument(transform):
    """A number's gradient is a number (of its dtype), an array's an array, 0-d included."""
    def gradient(x):
        g = getattr(chainrule, transform)(lambda x: cnp.sum(cnp.sin(x) * x))(x)
        return g[1] if transform == "value_and_grad" else g

    for x, kind, dtype in [(0.5, onp.float64, onp.float64), (onp.float64(0.5), onp.float64, onp.float64),
                           (onp.float32(0.5), onp.float32, onp.float32), (3, onp.float64, onp.float64),
                           (onp.array(0.5), onp.ndarray, onp.float64),
                           (onp.array(0.5, onp.float32), onp.ndarray, onp.float32),
                           (onp.array([0.5]), onp.ndarray, onp.float64)]:
        g = gradient(x)
        assert type(g) is kind and g.dtype == dtype and onp.shape(g) == onp.shape(x), (x, g)
        v = float(onp.asarray(x).ravel()[0])
        onp.testing.assert_allclose(g, onp.cos(v) * v + onp.sin(v), rtol=1e-6)


def test_vmap_of_the_new_functions_is_the_loop():
    x = onp.array([[1.5, 2.5], [0.2, 3.7], [-0.6, 0.1]])
    for f in (lambda r: cnp.linspace(r[0], r[1], 3), lambda r: cnp.linspace(r, 2 * r, 4, axis=-1),
              lambda r: cnp.full((2, 2), r[1]), lambda r: cnp.floor(r) * r, lambda r: r.astype(int),
              lambda r: cnp.round(r, 1), lambda r: cnp.real_if_close(r + 0j)):
        onp.testing.assert_allclose(chainrule.vmap(f)(x), onp.stack([f(r) for r in x]))


@pytest.mark.parametrize("name", ["fft.fft", "fft.rfft", "fft.fft2", "linalg.svd", "linalg.eigvalsh",
                                  "linalg.det", "linalg.inv", "linalg.cholesky", "linalg.qr",
                                  "average", "ptp", "nancumsum", "cumsum", "trace", "fliplr",
                                  "rot90", "tile", "diff", "kron", "atleast_2d", "sort",
                                  "linalg.matrix_norm", "linalg.vector_norm", "linalg.svdvals",
                                  "linalg.matrix_transpose", "linalg.trace", "linalg.diagonal"])
def test_functions_of_one_array_take_a_list_that_holds_tensors(name):
    a, b = onp.array([2.0, 0.3]), onp.array([0.4, 1.5])

    def f(*rows):
        fun = attribute(cnp, name)
        extra = {"tile": (2,), "kron": (onp.eye(2),)}.get(name, ())
        out = fun(list(rows), *extra)
        out = out[0] if isinstance(out, tuple) else out
        return cnp.sum(cnp.abs(out) ** 2)

    stacked = chainrule.grad(lambda m: f(*m))(onp.stack([a, b]))
    from_list = chainrule.grad(f, (0, 1))(a, b)
    onp.testing.assert_allclose(onp.stack(from_list), stacked, rtol=1e-12)


def attribute(module, dotted):
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def test_broadcast_arrays_takes_lists_that_hold_tensors():
    a, b = onp.array([2.0, 0.3]), onp.array([[0.4], [1.5]])

    def f(x, y):
        u, v = cnp.broadcast_arrays([x], y)
        return cnp.sum(u * u * v)

    def f_arrays(x, y):
        u, v = cnp.broadcast_arrays(cnp.reshape(x, (1, 2)), y)
        return cnp.sum(u * u * v)

    got = chainrule.grad(f, (0, 1))(a, b)
    want = chainrule.grad(f_arrays, (0, 1))(a, b)
    for g, w in zip(got, want, strict=True):
        onp.testing.assert_allclose(g, w, rtol=1e-12)
    onp.testing.assert_allclose(got[0], 2 * a * b.sum(), rtol=1e-12)


def test_integer_types_take_tensors_and_stay_numpys():
    """cnp.int64(t) reads the integers under t (no derivative), and cnp.int64 still is
    NumPy's int64 for isinstance, issubclass and dtypes (autograd's wrapper fails isinstance)."""
    t = chainrule.tensor(onp.array([1.7, -2.2]))
    got = cnp.int64(t)
    assert type(got) is onp.ndarray and got.dtype == onp.int64 and got.tolist() == [1, -2]
    assert isinstance(onp.int64(3), cnp.int64) and issubclass(onp.int32, cnp.int32)
    assert onp.dtype(cnp.intp) == onp.intp and onp.zeros(2, dtype=cnp.int8).dtype == onp.int8
    assert cnp.int64(3) == 3 and type(cnp.int64(3)) is onp.int64
