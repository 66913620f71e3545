"""grad and its relatives: argnums, pytrees, auxiliary outputs, and error messages."""

import inspect
import warnings
from collections import namedtuple

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

rng = np.random.default_rng(1)


def test_grad_closed_form():
    x = rng.normal(size=5)
    g = cr.grad(lambda x: cnp.sum(cnp.sin(x) ** 2))(x)
    assert np.allclose(g, 2 * np.sin(x) * np.cos(x), rtol=1e-14)


def test_argnums_tuple_and_negative():
    f = lambda x, y, z: x * y**2 * z**3  # noqa: E731
    assert cr.grad(f, (0, 2))(2.0, 3.0, 4.0) == (9.0 * 64, 2 * 9.0 * 3 * 16)
    assert cr.grad(f, -1)(2.0, 3.0, 4.0) == 2 * 9.0 * 3 * 16


@pytest.mark.parametrize("transform", [cr.grad, cr.value_and_grad, cr.jacobian, cr.hessian, cr.make_vjp, cr.make_jvp])
def test_an_argument_named_twice_is_refused(transform):
    """grad(f, (1, 1)) raised "a Tensor of a grad transform that has already returned"
    (autograd differentiates the second copy only and gives zeros for the first)."""
    f = lambda x, y: cnp.sum(x * y**2)  # noqa: E731
    with pytest.raises(ValueError, match="more than once"):
        transform(f, (1, -1))(np.ones(2), np.ones(2))


def test_pytree_arguments_and_namedtuples():
    Params = namedtuple("Params", "w b")

    def loss(p, batch):
        x, y = batch["x"], batch["y"]
        return cnp.sum((x @ p.w + p.b[0] - y) ** 2)

    x, y = rng.normal(size=(4, 3)), rng.normal(size=4)
    p = Params(rng.normal(size=3), [np.float64(0.5)])
    g = cr.grad(loss)(p, {"x": x, "y": y})
    r = x @ p.w + 0.5 - y
    assert isinstance(g, Params) and isinstance(g.b, list)
    assert np.allclose(g.w, 2 * x.T @ r) and np.isclose(g.b[0], 2 * r.sum())


def test_value_and_grad_has_aux_and_grad_and_aux():
    f = lambda x: (cnp.sum(x**2), {"norm": cnp.sqrt(cnp.sum(x**2))})  # noqa: E731
    x = np.array([3.0, 4.0])
    (v, aux), g = cr.value_and_grad(f, has_aux=True)(x)
    assert v == 25.0 and aux["norm"] == 5.0 and np.array_equal(g, 2 * x)
    g2, aux2 = cr.grad_and_aux(f)(x)
    assert np.array_equal(g2, 2 * x) and aux2["norm"] == 5.0


def test_kwargs_pass_through():
    f = lambda x, scale=1.0: scale * x**2  # noqa: E731
    assert cr.grad(f)(3.0, scale=2.0) == 12.0


def test_vjp_can_be_called_many_times():
    out, pull = cr.vjp(lambda x, y: x * y + cnp.sin(x), np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    for ct in (np.ones(2), np.array([2.0, -1.0])):
        gx, gy = pull(ct)
        assert np.allclose(gx, ct * (np.array([3.0, 4.0]) + np.cos([1.0, 2.0])))
        assert np.allclose(gy, ct * np.array([1.0, 2.0]))


def test_make_vjp_autograd_signature():
    pull, out = cr.make_vjp(lambda x: x**3)(2.0)
    assert out == 8.0 and pull(1.0) == 12.0


def test_elementwise_grad():
    x = np.linspace(-1, 1, 7)
    assert np.allclose(cr.elementwise_grad(cnp.tanh)(x), 1 - np.tanh(x) ** 2)


def test_holomorphic_grad():
    z = 0.3 + 0.4j
    assert np.isclose(cr.holomorphic_grad(lambda z: cnp.exp(z) * z)(z), np.exp(z) * (1 + z))


def test_complex_convention_for_real_valued_function():
    # f(z) = |z|^2 = x^2 + y^2: grad = df/dx - i df/dy = 2 conj(z)
    z = 1.0 + 2.0j
    assert np.isclose(cr.grad(lambda z: cnp.abs(z) ** 2)(z), 2 * np.conj(z))


def test_output_independent_of_input_gives_zeros():
    assert cr.grad(lambda x: 3.0)(np.ones(2)).tolist() == [0.0, 0.0]
    # a number's zero gradient is a number, as its other gradients are (floor: no derivative)
    for f in (lambda s: 3.0, cnp.floor, cnp.sign, cnp.sin):
        for s in (0.7, np.float64(0.7), np.float32(0.7)):
            assert type(cr.grad(f)(s)) is type(cr.grad(cnp.sin)(s)) is np.dtype(np.result_type(s)).type
    assert type(cr.grad(cnp.floor)(np.array(0.7))) is np.ndarray


def test_float32_in_float32_out():
    x = np.ones(3, dtype=np.float32)
    assert cr.grad(lambda x: cnp.sum(cnp.exp(x) * 2))(x).dtype == np.float32


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: cr.grad(lambda x: x * 2)(np.ones(3)), "elementwise_grad"),
        (lambda: cr.grad(lambda x: x)(np.array("a")), "dtype <U1"),
        (lambda: cr.grad(lambda x: x * 2)(True), "boolean"),
        (lambda: cr.grad(lambda x: x * 1j)(1.0), "holomorphic_grad"),
        (lambda: cr.grad(lambda x: x, argnums=3)(1.0), "argnums"),
        (lambda: cr.grad(lambda x: "text")(1.0), "scalar"),
    ],
)
def test_clear_errors(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


def test_tensor_jacobian_product():
    x = np.array([0.5, 1.0])
    v = np.array([2.0, 3.0])
    assert np.allclose(cr.tensor_jacobian_product(cnp.sin)(x, v), v * np.cos(x))


@pytest.mark.parametrize("name, args, expected", [
    ("sinh", (0.3,), lambda x: np.cosh(x)),
    # a function of two arguments, broadcast: the backward pass's shortcut for + - * must
    # give way to the program's rule too
    ("multiply", (np.array([0.3, 0.5]), np.array(2.0)), lambda x, y: y * np.ones_like(x)),
])
def test_redefined_rule_of_a_builtin_elementwise_function_is_used(name, args, expected):
    from chainrule.numpy import elementwise

    prim = getattr(elementwise, name)
    fun = lambda *a: cnp.sum(prim(*a))  # noqa: E731
    declared = ("jvps", "joint_jvp", "partials", "keeps", "reads", "replayable")  # what defvjp changes
    original = dict(prim.vjps), {k: getattr(prim, k) for k in declared}
    try:
        cr.defvjp(prim, *[lambda ans, *a: lambda g: g * 0.0 + 7.0] * len(args))
        assert np.all(cr.grad(fun)(*args) == 7.0)
    finally:
        prim.vjps.clear()
        prim.vjps.update(original[0])
        for k, v in original[1].items():
            setattr(prim, k, v)
    np.testing.assert_allclose(cr.grad(fun)(*args), expected(*args), rtol=1e-15)


@pytest.mark.parametrize("x", [3, np.array([1, 2]), np.int64(2)])
def test_integer_input_is_differentiated_in_float64_where_autograd_refuses(x):
    import autograd
    import autograd.numpy as anp

    g = cr.grad(lambda v: cnp.sum(v ** 2))(x)
    np.testing.assert_array_equal(g, 2.0 * np.asarray(x, float))
    assert np.asarray(g).dtype == np.float64
    with pytest.raises(TypeError, match="Can't differentiate"):
        autograd.grad(lambda v: anp.sum(v ** 2))(x)


def test_gradients_are_arrays_of_their_own():
    # g *= lr on each gradient, as optimizers written by hand do: a read-only broadcast
    # gradient (of a sum) refused it, and x + y gave both arguments one array, scaled twice
    grads = cr.grad(lambda x, y, z: ((x + y) * 2.0).sum() + cnp.sum(z), argnums=(0, 1, 2))(
        np.ones(3), np.ones(3), np.ones(2))
    for g in grads:
        g *= 0.5
    np.testing.assert_array_equal(grads[0], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(grads[1], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(grads[2], [0.5, 0.5])
    autograd = pytest.importorskip("autograd")
    theirs = autograd.grad(lambda x, y: ((x + y) * 2.0).sum(), argnum=(0, 1))(np.ones(3), np.ones(3))
    assert theirs[0] is not theirs[1] and autograd.grad(lambda z: z.sum())(np.ones(2)).flags.writeable


def test_grad_of_an_output_independent_of_the_input_warns_as_autograd():
    """A value read out of the differentiated argument (x.item()) makes the output a
    constant: the zero gradient comes with HIPS autograd's warning, not in silence."""
    import warnings

    autograd = pytest.importorskip("autograd")
    with pytest.warns(UserWarning, match="Output seems independent of input") as ours:
        assert cr.grad(lambda x: x.item() * 2)(1.5) == 0.0
    with pytest.warns(UserWarning, match="Output seems independent of input"):
        assert autograd.grad(lambda x: 3.0)(1.5) == 0.0
    assert ours[0].filename == __file__  # the warning points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cr.grad(lambda x: x * 2)(1.5) == 2.0


@pytest.mark.parametrize(("name", "x", "fun"), [("elementwise_grad", np.array([1.0, 2.0]), lambda v: np.ones(2)),
                                              ("holomorphic_grad", 1.0 + 2.0j, lambda v: 2.0 + 0j)])
def test_autograds_other_gradients_of_a_constant_warn_as_autograd(name, x, fun):
    """elementwise_grad and holomorphic_grad of an output that does not depend on the
    input gave zeros in silence; autograd's warn, as its grad does."""
    autograd = pytest.importorskip("autograd")
    for lib in (autograd, cr):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert not np.any(getattr(lib, name)(fun)(x))
        assert [str(w.message) for w in caught] == ["Output seems independent of input."], lib
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(getattr(cr, name)(lambda v: v * 2)(x) == 2)


def constant(x):
    return 3.0


@pytest.mark.parametrize("transform", ["vmap", "vmap_chunked", "vmap_of_vmap"])
def test_the_independent_output_warning_points_at_the_users_line_once_per_call(transform):
    """Under vmap the warning pointed into transforms/vmap.py; it names the line that
    called the transform, once per call (not once per example), as jax.vmap(jax.grad)
    gives one zero gradient per example and one trace."""
    calls = {"vmap": lambda x: cr.vmap(cr.grad(constant))(x),
             "vmap_chunked": lambda x: cr.vmap(cr.grad(constant), chunk_size=1)(x),
             "vmap_of_vmap": lambda x: cr.vmap(cr.vmap(cr.grad(constant)))(cnp.stack([x, x]))}
    line = inspect.getsourcelines(test_the_independent_output_warning_points_at_the_users_line_once_per_call)[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = calls[transform](np.arange(4.0))
    assert np.all(np.asarray(out) == 0.0) and np.shape(out)[-1] == 4
    said = [w for w in caught if "seems independent" in str(w.message)]
    assert len(said) == 1
    assert said[0].filename == __file__ and line < said[0].lineno < line + 12


def test_under_jit_the_independent_output_warning_stays_inside_the_function():
    """Pointing past the traced function would make jit run it without jit (its replay
    could not issue the warning again): the warning is replayed on every call instead."""
    jitted = cr.jit(cr.grad(constant))
    for _ in range(3):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert jitted(2.0) == 0.0
        assert [str(w.message) for w in caught] == ["Output seems independent of input."]
    assert jitted.traces == 1
