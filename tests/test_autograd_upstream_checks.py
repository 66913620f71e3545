"""Behaviour that HIPS autograd's own test suite relies on, checked here with autograd
itself as the witness: each case runs once with ``autograd`` and once with
``chainrule`` (the same program, its library passed in) and both must behave alike.
"""

import importlib

import numpy as onp
import pytest
from numpy.lib.mixins import NDArrayOperatorsMixin

import chainrule
import chainrule.numpy as cnp
import chainrule.tracer

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

from test_autograd_api import assert_same  # noqa: E402

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


def _make_vjp_by_hand(library, fun, x, cotangents):
    """autograd's own ``make_vjp``, written with its engine's parts: a trace from a
    ``VJPNode`` root, then ``backward_pass`` from the end node, once per cotangent."""
    core = importlib.import_module(f"{library}.autograd_core" if library == "chainrule" else "autograd.core")
    tracer = importlib.import_module(f"{library}.tracer")
    value, end_node = tracer.trace(core.VJPNode.new_root(), fun, x)
    return value, [core.backward_pass(g, end_node) for g in cotangents]


MAKE_VJP_BY_HAND = {
    "sum_of_sines": (lambda np: lambda x: np.sum(np.sin(x) * x), onp.array([0.3, 1.2]), [1.0, 2.0]),
    "square_of_a_number": (lambda np: lambda x: x**2, 2.0, [1.0]),
    "fan_out_fan_in": (lambda np: _fan_out_fan_in, 2.0, [1.0]),
    "vector_output": (lambda np: lambda x: np.tanh(x[::-1]), onp.array([0.1, -0.4, 0.7]),
                      [onp.array([1.0, 0.0, 2.0])]),
}


def _fan_out_fan_in(x):
    for _ in range(20):
        x = (x + x) / 2.0
    return x * 3.0


@pytest.mark.parametrize("name", MAKE_VJP_BY_HAND)
def test_make_vjp_from_the_engine_parts_agrees_with_autograd(name):
    make, x, cotangents = MAKE_VJP_BY_HAND[name]
    expected = _make_vjp_by_hand("autograd", make(anp), x, cotangents)
    got = _make_vjp_by_hand("chainrule", make(cnp), x, cotangents)
    assert_same(expected, got)


def test_trace_from_a_vjp_node_of_a_constant_warns_and_gives_no_node():
    core = importlib.import_module("chainrule.autograd_core")
    with pytest.warns(UserWarning, match="independent of input"):
        value, node = chainrule.tracer.trace(core.VJPNode.new_root(), lambda x: 3.0, _X)
    assert (value, node) == (3.0, None)


class Labelled(NDArrayOperatorsMixin):
    """An array-like container as xarray's ``DataArray`` is one: it holds an array (plain,
    or one being differentiated) and takes part in NumPy's ufunc dispatch, so a ufunc or
    an operator on it and an array gives a container holding the result."""

    def __init__(self, data):
        self.data = data

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or "out" in kwargs:
            return NotImplemented
        return Labelled(ufunc(*(v.data if isinstance(v, Labelled) else v for v in inputs), **kwargs))

    def __array__(self, dtype=None, copy=None):
        return onp.asarray(self.data, dtype=dtype)


_BASE = onp.array([1.0, 2.0, 3.0])
# x is a number being differentiated; C() is a container of plain numbers
THROUGH_A_CONTAINER = {
    "times_container": lambda np, C: lambda x: np.sum((x * C()).data),
    "container_times": lambda np, C: lambda x: np.sum((C() * x).data),
    "plus_container": lambda np, C: lambda x: np.sum((x + C()).data ** 2),
    "minus_container": lambda np, C: lambda x: np.sum((x - C()).data ** 2),
    "over_container": lambda np, C: lambda x: np.sum((x / C()).data),
    "to_the_container": lambda np, C: lambda x: np.sum((x ** C()).data),
    "multiply": lambda np, C: lambda x: np.sum(np.multiply(x, C()).data),
    "multiply_reversed": lambda np, C: lambda x: np.sum(np.multiply(C(), x).data),
    "maximum": lambda np, C: lambda x: np.sum(np.maximum(x, C()).data),
    "sin_of_container_times": lambda np, C: lambda x: np.sum(np.sin(C() * x).data),
    "times_container_holding_x": lambda np, C: lambda x: np.sum((x * (C() * x)).data),
    "vector_times_container": lambda np, C: lambda x: np.sum((np.array([x, 2 * x, x ** 2]) * C()).data),
}


@pytest.mark.parametrize("name", THROUGH_A_CONTAINER)
def test_derivative_goes_through_a_container_that_takes_part_in_ufunc_dispatch(name):
    """autograd 1.9's tests/test_ufunc_dispatch.py, on xarray's DataArray: chainrule gave
    the operators with the number on the left a derivative of zero."""
    make = THROUGH_A_CONTAINER[name]
    container = lambda: Labelled(_BASE)  # noqa: E731
    expected = autograd.grad(make(anp, container))(1.5)
    assert expected != 0
    assert_same(expected, chainrule.grad(make(cnp, container))(1.5))


def test_a_function_that_is_not_a_ufunc_reads_the_container_as_its_array():
    # np.dot([x, 2x, x²], [1, 2, 3]) = 5x + 3x²: 5 + 6x
    f = lambda x: cnp.dot(cnp.array([x, 2 * x, x**2]), Labelled(_BASE))  # noqa: E731
    assert chainrule.grad(f)(1.5) == 14.0


# jacobian of a result without derivative (a truth value, a count): zeros, floats as for
# any Jacobian, with either mode (here forward mode: as many outputs as inputs)
JACOBIAN_OF_NO_DERIVATIVE = {
    "comparison": lambda np: lambda x: x > 1.5,
    "floor_as_int": lambda np: lambda x: np.floor(x).astype(int),
    "with_a_float_output": lambda np: lambda x: (x > 1.5, np.sin(x)),
}


@pytest.mark.parametrize("name", JACOBIAN_OF_NO_DERIVATIVE)
def test_jacobian_of_a_result_without_derivative_is_float_zeros(name):
    make = JACOBIAN_OF_NO_DERIVATIVE[name]
    expected = autograd.jacobian(make(anp))(_X) if name != "with_a_float_output" else (
        autograd.jacobian(lambda x: make(anp)(x)[0])(_X), autograd.jacobian(lambda x: make(anp)(x)[1])(_X))
    got = chainrule.jacobian(make(cnp))(_X)
    assert_same(expected, got)
    for e, g in zip(expected if isinstance(expected, tuple) else (expected,),
                    got if isinstance(got, tuple) else (got,), strict=True):
        assert g.dtype == e.dtype
