"""cr.eval_shape and cr.ShapeDtypeStruct against jax.eval_shape on the programs Flax and
Equinox users write: the shapes of a model's parameters from shapes alone, pytrees of
arguments and results, Python numbers, and the errors."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.transforms.eval_shape import ShapeDtypeStruct

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy


def _plain(tree):
    """Both libraries' results as (shape, dtype) per leaf."""
    is_struct = lambda x: hasattr(x, "shape") and hasattr(x, "dtype")  # noqa: E731
    leaves = jax.tree_util.tree_leaves(tree, is_leaf=is_struct)
    return [(tuple(x.shape), np.dtype(x.dtype)) for x in leaves]


def _init(np_, w_shape, x):
    """A Flax-style init: parameters made from the input's shape."""
    w = np_.zeros(w_shape, x.dtype) + 0.1
    h = np_.tanh(x @ w)
    return {"params": {"dense": {"kernel": w, "bias": np_.zeros(w_shape[1], x.dtype)}}, "out": h.sum(axis=0)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_models_parameter_shapes_from_shapes_alone(dtype):
    ours = cr.eval_shape(lambda x: _init(cnp, (3, 4), x), ShapeDtypeStruct((5, 3), dtype))
    theirs = jax.eval_shape(lambda x: _init(jnp, (3, 4), x), jax.ShapeDtypeStruct((5, 3), dtype))
    assert _plain(ours) == _plain(theirs)
    assert isinstance(ours["params"]["dense"]["kernel"], ShapeDtypeStruct)


def test_arrays_numbers_keywords_and_tuples():
    def f(np_, a, b, *, scale):
        return (a * scale, [np_.matmul(a, b), b.T], a.sum())

    x, y = np.ones((2, 3), np.float32), jax.ShapeDtypeStruct((3, 7), np.float32)
    ours = cr.eval_shape(lambda a, b, scale: f(cnp, a, b, scale=scale), x, y, scale=2.0)
    theirs = jax.eval_shape(lambda a, b, scale: f(jnp, a, b, scale=scale), x, y, scale=2.0)
    assert _plain(ours) == _plain(theirs)  # a JAX ShapeDtypeStruct is read as an argument too


def test_zeros_in_place_of_shapes_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cr.eval_shape(lambda x: cnp.log(x) / x, ShapeDtypeStruct((4,), np.float64))
    assert out == ShapeDtypeStruct((4,), np.float64)


def test_struct_api_as_jax():
    s, t = ShapeDtypeStruct((2, 3), np.float32), jax.ShapeDtypeStruct((2, 3), np.float32)
    assert (s.shape, s.dtype, s.ndim, s.size, len(s)) == (t.shape, t.dtype, t.ndim, t.size, len(t))
    assert s == ShapeDtypeStruct([2, 3], "float32") and hash(s) == hash(ShapeDtypeStruct((2, 3), np.float32))
    assert s != ShapeDtypeStruct((2, 3), np.float64)
    assert repr(s) == "ShapeDtypeStruct(shape=(2, 3), dtype=float32)"
    with pytest.raises(TypeError, match="unsized"):
        len(ShapeDtypeStruct((), np.float32))


def test_python_number_result_is_weakly_typed():
    ours = cr.eval_shape(lambda x: 2.0, np.ones(3))
    theirs = jax.eval_shape(lambda x: 2.0, np.ones(3))
    assert (ours.shape, ours.weak_type) == (theirs.shape, theirs.weak_type)


def test_errors_say_what_was_wrong():
    with pytest.raises(TypeError, match="has no shape and dtype"):
        cr.eval_shape(lambda x: "label", np.ones(2))
    with pytest.raises(ValueError, match="dtype must be given"):
        ShapeDtypeStruct((2,), None)
    with pytest.raises(TypeError, match="sequence of ints"):
        ShapeDtypeStruct(3, np.float32)
