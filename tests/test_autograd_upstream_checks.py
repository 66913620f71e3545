"""Behaviour that HIPS autograd's own test suite relies on, checked here with autograd
itself as the witness: each case runs once with ``autograd`` and once with
``chainrule`` (the same program, its library passed in) and both must behave alike.
"""

import numpy as onp
import pytest

import chainrule
import chainrule.numpy as cnp

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

LIBRARIES = {"autograd": (autograd, anp), "chainrule": (chainrule, cnp)}
_X = onp.array([1.0, 2.0, 3.0])

# A function whose result is a truth value, an index or a count has no derivative:
# autograd's grad raises a TypeError (so does JAX's) rather than giving zeros.
NO_DERIVATIVE = {
    "allclose": (lambda np: lambda x: np.allclose(x, x * 3.0 / 3.0), _X),
    "comparison": (lambda np: lambda x: np.sum(x) > 0, _X),
    "any_isnan": (lambda np: lambda x: np.any(np.isnan(x)), _X),
    "argmax": (lambda np: lambda x: np.argmax(x), _X),
    "count_nonzero": (lambda np: lambda x: np.count_nonzero(x > 1.5), _X),
    "python_bool": (lambda np: lambda x: True, 1.0),
    "python_int": (lambda np: lambda x: 3, 1.0),
}


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("name", NO_DERIVATIVE)
def test_grad_of_a_result_without_derivative_is_a_type_error(name, library):
    ag, np = LIBRARIES[library]
    make, x = NO_DERIVATIVE[name]
    with pytest.raises(TypeError):
        ag.grad(make(np))(x)
    with pytest.raises(TypeError):
        ag.value_and_grad(make(np))(x)


@pytest.mark.parametrize("library", LIBRARIES)
def test_grad_of_a_float_constant_is_zero(library):
    ag, _ = LIBRARIES[library]
    assert float(ag.grad(lambda x: 3.0)(1.0)) == 0.0
