"""cr.jit against the plain function on what NumPy code does with values that the jit
cannot record: a traced value turned into a plain array (``np.asarray``, ``np.full``,
``np.random.uniform`` of traced bounds), ``x.detach()`` of a differentiated value. The
jitted call gives the plain call's result to the last bit (running without jit where a
replay would bake a value in), never an error the plain call does not raise."""

import warnings

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import run_both, same

import chainrule as cr
import chainrule.numpy as cnp

INPUTS = [np.array([1.0, 2.0, 3.0]), np.array([-0.0, np.nan, 4.0]), np.array([5.0, -1.0, 0.5])]


@pytest.mark.parametrize("fun", [
    lambda x: np.asarray(x) + 1,
    lambda x: np.full(3, x[0]),
    lambda x: np.float32(x[2]) * x,
    lambda x: np.array([x[0], x[1]]) * 2,
    lambda x: np.full_like(x, x[0]) + x,
], ids=["asarray", "full", "float32", "array-of-items", "full_like"])
def test_a_traced_value_turned_into_an_array_gives_the_plain_result(fun):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_both(fun, [(x,) for x in INPUTS])


def test_a_conversion_runs_without_jit_and_says_why():
    f = cr.jit(lambda x: np.full(3, x[0]) + x)
    with pytest.warns(UserWarning, match="plain NumPy array"):
        f(INPUTS[0])
    assert same(f(INPUTS[2]), np.full(3, 5.0) + INPUTS[2])  # not the first call's value


def test_random_draws_between_traced_bounds_follow_the_global_state():
    def draw(x):
        return np.random.uniform(x[0], x[1]) + x

    jitted = cr.jit(draw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x in INPUTS[::2]:
            np.random.seed(3)
            got = jitted(x)
            np.random.seed(3)
            assert same(got, draw(x))


@pytest.mark.parametrize(("fun", "oracle"), [
    (lambda x: (x.detach() * x).sum(), lambda x: (cr.stop_gradient(x) * x).sum()),
    (lambda x: cnp.sum(cnp.sin(x) * x.detach() ** 2),
     lambda x: cnp.sum(cnp.sin(x) * cr.stop_gradient(x) ** 2)),
    (lambda x: (x * x.detach()[::-1]).sum(), lambda x: (x * cr.stop_gradient(x)[::-1]).sum()),
], ids=["detach*x", "sin*detach^2", "detach-reversed"])
def test_detach_inside_grad_is_stop_gradient_jitted_and_plain(fun, oracle):
    g = cr.grad(fun)
    for x in INPUTS:
        want = cr.grad(oracle)(x)
        assert isinstance(want, np.ndarray)
        assert same(g(x), want)
    run_both(g, [(x,) for x in INPUTS])


def test_detach_inside_grad_matches_the_closed_form():
    # d/dx sum(sin(x) * c**2) with c = x held constant is cos(x) * x**2
    g = cr.grad(lambda x: cnp.sum(cnp.sin(x) * x.detach() ** 2))
    x = np.array([0.5, -1.25, 3.0])
    assert same(g(x), np.cos(x) * x ** 2)
    assert same(cr.jit(g)(x), np.cos(x) * x ** 2)


def test_detach_of_an_eager_tensor_stays_an_eager_tensor_without_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    d = (w * 3).detach()
    assert isinstance(d, cr.Tensor) and not d.requires_grad
    assert same(d.numpy(), np.array([3.0, 6.0]))


def test_detach_under_vmap_keeps_the_batch():
    xs = np.arange(6.0).reshape(3, 2)
    g = cr.vmap(cr.grad(lambda x: (x.detach() * x * x).sum()))
    assert same(g(xs), xs * xs * 2)


# -- what the plain call refuses, the jitted call refuses ---------------------------------
@pytest.mark.parametrize("fun", [
    lambda x: x.at[0].set(5.0),
    lambda x: x.detach() * x,
    lambda x: x.clone(),
    lambda x: x.unsqueeze(0),
    lambda x: x.numpy(),
    lambda x: x.requires_grad,
    lambda x: x.sum().backward(),
    lambda x: (x * 2).exp_(),
    lambda x: x.size(),
    lambda x: x.dim(),
], ids=["at", "detach", "clone", "unsqueeze", "numpy", "requires_grad", "backward", "exp_",
        "size()", "dim"])
def test_tensor_only_attributes_of_a_plain_array_are_refused_as_numpy_refuses_them(fun):
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises((AttributeError, TypeError)) as plain:
        fun(x)
    with pytest.raises(type(plain.value)) as jitted:
        cr.jit(fun)(x)
    assert str(plain.value) in str(jitted.value)


def test_ndarray_attributes_of_a_plain_array_keep_numpys_meaning():
    run_both(lambda x: (x.size, x.T, x.ndim, x.reshape(3, 1).shape, x.sum(0)),
             [(x,) for x in INPUTS])


def test_tensor_methods_stay_under_the_transforms_and_for_eager_tensors():
    # inside grad, values are Tensors plain and jitted alike
    g = cr.grad(lambda x: (x.unsqueeze(0) * x.clone()).sum())
    run_both(g, [(x,) for x in INPUTS[::2]])
    # an eager Tensor's call keeps PyTorch's methods (read as arrays under no_grad)
    f = cr.jit(lambda t: t.unsqueeze(0).clone() * 2)
    with cr.no_grad():
        got = f(cr.tensor([1.0, 2.0]))
    assert same(np.asarray(got), np.array([[2.0, 4.0]]))


class _Tagged(np.ndarray):
    def scaled(self):
        return self * 2


def _generator(x):
    yield x * 2


@pytest.mark.parametrize("case", ["generator", "iterator argument", "subclass method",
                                  "traced to array", "retraces"])
def test_warnings_of_jit_name_the_line_that_called_the_jitted_function(case):
    # where the warning is raised (the call, the cache, the trace) is the library's
    # business: the user's line is the one that called f
    fun = {
        "generator": _generator,
        "iterator argument": lambda it: sum(it),
        "subclass method": lambda x: x.scaled() + 1,
        "traced to array": lambda x: np.full(3, x[0]) + x,
        "retraces": lambda x, n: x * n,
    }[case]
    f = cr.jit(fun)
    args = {
        "generator": [(np.ones(2),)],
        "iterator argument": [(iter([1.0, 2.0]),)],
        "subclass method": [(np.ones(3).view(_Tagged),)],
        "traced to array": [(INPUTS[0],)],
        "retraces": [(np.ones(2), n) for n in range(12)],
    }[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for a in args:
            f(*a)
    jit_warnings = [w for w in caught if "chainrule.jit" in str(w.message)]
    assert jit_warnings, [str(w.message) for w in caught]
    assert all(w.filename == __file__ for w in jit_warnings), \
        [(w.filename, w.lineno, str(w.message)[:60]) for w in jit_warnings]
