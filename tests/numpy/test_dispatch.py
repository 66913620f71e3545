"""NumPy's own functions on Tensors dispatch to the mirror, or fail loudly."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def test_numpy_ufuncs_and_functions_dispatch():
    x = np.array([0.2, 0.5])
    assert np.allclose(cr.grad(lambda x: np.sum(np.sin(x) * np.exp(x)))(x),
                       np.cos(x) * np.exp(x) + np.sin(x) * np.exp(x))
    assert np.allclose(cr.grad(lambda x: np.sum(np.array([1.0, 2.0]) * x))(x), [1.0, 2.0])


def test_ndarray_on_the_left_of_an_operator():
    x = np.array([0.2, 0.5])
    a = np.array([3.0, 4.0])
    assert np.array_equal(cr.grad(lambda x: cnp.sum(a * x + a / (1 / x)) - a @ x)(x), a)


def test_unsupported_numpy_function_names_itself():
    with pytest.raises(TypeError, match=r"numpy\.histogramdd is not differentiable"):
        cr.grad(lambda x: np.sum(np.histogramdd(x)[0]))(np.ones(2))
    with pytest.raises(TypeError, match="numpy.add.reduceat"):
        cr.grad(lambda x: np.sum(np.add.reduceat(x, [0])))(np.ones(2))


def test_non_differentiable_functions_read_values():
    x = np.array([0.2, 0.9, 0.5])

    def f(x):
        i = np.argmax(x)
        assert cnp.shape(x) == (3,) and np.isfinite(x).all()
        return x[i] * 2

    assert np.array_equal(cr.grad(f)(x), [0.0, 2.0, 0.0])


def test_mirror_reexports_numpy():
    assert cnp.pi == np.pi and cnp.float32 is np.float32 and cnp.newaxis is None
    assert np.array_equal(cnp.zeros(3), np.zeros(3))
    # chainrule.numpy.random is a module (importable as such) holding numpy.random's names
    import chainrule.numpy.random as npr

    assert cnp.random is npr and npr.randn is np.random.randn
    assert all(getattr(npr, n) is getattr(np.random, n) for n in dir(np.random) if not n.startswith("_"))


def test_comparisons_and_control_flow():
    def f(x):
        return x**2 if x > 0 else -x

    assert cr.grad(f)(3.0) == 6.0 and cr.grad(f)(-3.0) == -1.0


# NumPy's functions given the traced value by keyword, the arrays plain: the mirror's
# primitive saw no Tensor among its positions and called NumPy, which handed the call
# back without end (RecursionError).
KEYWORD_CALLS = {
    "dot": lambda m, t: m.dot(np.arange(3.0), b=t),
    "outer": lambda m, t: m.outer(np.arange(3.0), b=t),
    "solve": lambda m, t: m.linalg.solve(np.diag([2.0, 3.0, 4.0]), b=t),
    "kron": lambda m, t: m.kron(np.arange(2.0), b=t),
    "cross": lambda m, t: m.cross(np.arange(3.0), b=t),
    "tensordot": lambda m, t: m.tensordot(np.arange(3.0), b=t, axes=1),
}


@pytest.mark.parametrize("name", sorted(KEYWORD_CALLS))
@pytest.mark.parametrize("via", ["chainrule.numpy", "numpy"])
def test_traced_value_by_keyword(name, via):
    call = KEYWORD_CALLS[name]
    m = cnp if via == "chainrule.numpy" else np
    t = np.array([0.3, -1.2, 0.7])
    np.testing.assert_allclose(cr.vjp(lambda a: call(m, a), t)[0], call(np, t), rtol=1e-15)
    assert cr.gradcheck(lambda a: call(m, a), t, order=2)
