"""Reading a Python value out of a Tensor: which reads would drop a derivative (refused
inside the differentiating transforms, as HIPS autograd and JAX refuse them) and which are
Python control flow on the primal (allowed, as in both)."""

import math

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def _store_element(v):
    a = np.zeros(2)
    a[0] = v * 3  # NumPy calls float(v * 3)
    return a.sum() + v


def _store_row(x):
    a = np.zeros((2, 3))
    a[0] = x  # NumPy calls x.__array__()
    return a.sum()


def _fill(v):
    a = np.zeros(2)
    a.fill(v)
    return a.sum() + v


# f(x) -> scalar, each dropping the derivative of a value that goes through float()/complex()
DROPPING = {
    "store into ndarray element": _store_element,
    "ndarray.fill": _fill,
    "float()": lambda v: float(v) * v,
    "complex()": lambda v: complex(v).real * v,
    "math.exp": lambda v: math.exp(v) + v,
    "percent format": lambda v: len("%.3f" % v) * v,  # noqa: UP031
    "np.float64()": lambda v: np.float64(v) * v,
    "store a vector into an ndarray row": lambda v: _store_row(v * np.ones(3)) + v,
    "numpy.array of Tensors": lambda v: np.array([v, v]).sum() + v,
    "tolist()": lambda v: (v * np.ones(2)).tolist()[0] * v,
}

TRANSFORMS = {
    "grad": lambda f: cr.grad(f)(1.5),
    "elementwise_grad": lambda f: cr.elementwise_grad(f)(1.5),
    "value_and_grad": lambda f: cr.value_and_grad(f)(1.5),
    "jvp": lambda f: cr.jvp(f, (1.5,), (1.0,)),
    "make_jvp": lambda f: cr.make_jvp(f)(1.5)(1.0),
    "hessian": lambda f: cr.hessian(f)(1.5),
    "jacobian": lambda f: cr.jacobian(f)(1.5),
    "grad of jit": lambda f: cr.grad(cr.jit(f))(1.5),
    "jit of grad": lambda f: cr.jit(cr.grad(f))(1.5),
}


def _messages(err: BaseException) -> str:
    """The messages of an error and of the errors it was raised from (NumPy turns an
    error in float() into 'setting an array element with a sequence', caused by it)."""
    out = []
    while err is not None:
        out.append(str(err))
        err = err.__cause__ or err.__context__
    return "\n".join(out)


@pytest.mark.parametrize("name", DROPPING)
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_a_read_that_drops_the_derivative_is_refused(name, transform):
    with pytest.raises((TypeError, ValueError)) as info:
        TRANSFORMS[transform](DROPPING[name])
    text = _messages(info.value)
    assert "drop its derivative silently" in text
    assert "x.at[i].set(v)" in text and "np.stack" in text


# (autograd's numpy.array([box, box]) is an object array of boxes that still differentiates)
@pytest.mark.parametrize("name", [n for n in DROPPING if n != "numpy.array of Tensors"])
def test_autograd_refuses_the_same_reads(name):
    f = DROPPING[name]
    with pytest.raises((TypeError, ValueError, AttributeError)):  # ArrayBox has no tolist
        autograd.grad(f)(1.5)


@pytest.mark.parametrize("name", ["float()", "tolist()"])
def test_jax_refuses_the_same_reads(name):
    jax = pytest.importorskip("jax")
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.grad(DROPPING[name])(1.5)


def _branch(v):
    return v * 2 if v > 1 else v ** 3


# reads that are Python control flow on the primal, or explicit detaching reads: allowed,
# with the derivative of what is computed from the Tensor (d/dv at v = 1.5)
ALLOWED = {
    "if v > 1": (_branch, 2.0),
    "bool()": (lambda v: v * 2 if bool(v) else v, 2.0),
    "int()": (lambda v: int(v) * v, 1.0),
    "range(int())": (lambda v: sum(v for _ in range(int(v * 2))), 3.0),
    "index": (lambda v: np.array([1.0, 10.0])[int(v)] * v, 10.0),
    "item()": (lambda v: v.item() * v, 1.5),
    "print": (lambda v: (print("value", v), v * v)[1], 3.0),
    "f-string format": (lambda v: (f"{v:.3f}", v * v)[1], 3.0),
    "repr and str": (lambda v: (repr(v), str(v), v * v)[2], 3.0),
}


@pytest.mark.parametrize("name", ALLOWED)
@pytest.mark.parametrize("mode", ["grad", "jvp", "jit of grad"])
def test_control_flow_reads_are_allowed(name, mode, capsys):
    f, want = ALLOWED[name]
    if mode == "grad":
        got = cr.grad(f)(1.5)
    elif mode == "jvp":
        got = cr.jvp(f, (1.5,), (1.0,))[1]
    else:
        got = cr.jit(cr.grad(f))(1.5)
    assert float(got) == want


@pytest.mark.parametrize("name", ["if v > 1", "bool()"])
def test_autograd_allows_the_same_control_flow(name):
    f, want = ALLOWED[name]
    assert autograd.grad(f)(1.5) == want


@pytest.mark.parametrize("name", ["if v > 1", "bool()", "int()", "range(int())", "index", "item()"])
def test_jax_allows_the_same_reads(name):
    jax = pytest.importorskip("jax")
    f, want = ALLOWED[name]
    assert float(jax.grad(f)(1.5)) == want  # (float32 is exact here)


def test_float_under_jit_alone_is_a_guard():
    f = cr.jit(lambda x: x * 2 if float(x) > 0 else -x)
    assert f(np.array(3.0)) == 6.0
    assert f(np.array(-3.0)) == 3.0  # the guard fails, the function is traced again
    assert math.exp(cr.jit(lambda x: x)(np.array(0.0))) == 1.0


def test_float_of_an_eager_tensor_is_a_detached_read():
    x = cr.tensor(np.array(2.0), requires_grad=True)
    loss = x * x
    assert float(loss) == 4.0 and complex(loss) == 4.0 and loss.item() == 4.0
    assert "%.1f" % loss == "4.0"  # noqa: UP031
    loss.backward()
    assert float(x.grad) == 4.0


def test_the_functional_spellings_the_message_names_differentiate():
    def f(v):
        a = (v * cnp.ones(2)).at[0].set(v * 3)  # [3v, v]
        b = cnp.stack([v * 3, 0.0])
        c = cnp.where(np.arange(2) == 0, v * 3, np.zeros(2))
        return a.sum() + b.sum() + c.sum() + v

    assert cr.grad(f)(1.5) == 11.0
    assert autograd.grad(lambda v: anp.sum(anp.array([v * 3, 0.0])) + v)(1.5) == 4.0


def test_vmap_refuses_float_with_its_own_reason():
    with pytest.raises(TypeError, match="vmap"):
        cr.vmap(lambda v: float(v) * v)(np.ones(2))


def test_differentiated_by_names_the_transform():
    seen = []

    def f(v):
        trace = v.differentiated_by()
        seen.append(None if trace is None else trace.name)
        return v * v

    cr.grad(f)(1.5)
    cr.jvp(f, (1.5,), (1.0,))
    cr.jit(f)(np.array(1.5))  # a value jit traces carries no derivative
    f(cr.tensor(np.array(1.5), requires_grad=True))  # nor does an eager one, for this check
    assert seen == ["grad", "jvp", None, None]
