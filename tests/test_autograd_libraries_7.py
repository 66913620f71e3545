"""More programs built on HIPS autograd, run on chainrule unchanged (part 7).

Written in the style of a scattering code's autograd layer (native kernels returning a value
and a context with a pullback and a pushforward, run by one primitive whatever the kernel:
an array from one, a tuple from another; second derivatives refused), grcwa's RCWA backend
(a complex non-Hermitian eig primitive with its own vjp, FFT convolution matrices, complex
square-root branches) and mattjj/svae (expected statistics as gradients of log normalisers
with digamma, multigammaln, polygamma and solve_triangular; a mean-field ELBO over nested
tuples and lists; ``autograd.misc.flatten`` and its optimizers); their sources are in
autograd_library_programs_7.py. As in test_autograd_libraries_more.py, they run in a process
with autograd and in one with autograd resolved to chainrule, and the numbers must agree to
1e-10. The small tests below pin each piece that was missing, with autograd as the witness.
"""

import numpy as onp

import autograd_library_programs_7
from test_autograd_api import assert_same
from test_autograd_libraries import agree, needs
from test_autograd_libraries_5 import _both, _mod
from test_autograd_libraries_more import RUNNER

ORDER = ["NATIVE_KERNELS", "GRCWA", "SVAE"]


@needs("autograd", "scipy")
def test_library_programs_agree():
    m = autograd_library_programs_7
    sources = {name: getattr(m, name) for name in dir(m) if name.isupper()}
    assert sorted(sources) == sorted(ORDER)
    agree(RUNNER.format(sources=[(name, sources[name]) for name in ORDER]))


def one_primitive_many_outputs(ag):
    """One primitive of one's own that returns a tuple in one call and an array in the
    next (it runs whichever kernel it is handed): each call's result is as it returned it,
    in reverse mode (a tuple call's cotangent taken after an array call), forward mode
    and both."""
    np, ext = _mod(ag, "numpy"), _mod(ag, "extend")

    @ext.primitive
    def run(kernel, x):
        return onp.sin(x) * 2.0 if kernel == "one" else (onp.sin(x), onp.cos(x) * x)

    def run_vjp(ans, kernel, x):
        if kernel == "one":
            return lambda g: g * 2.0 * onp.cos(x)
        return lambda g: g[0] * onp.cos(x) + g[1] * (onp.cos(x) - x * onp.sin(x))

    def run_jvp(g, ans, kernel, x):
        if kernel == "one":
            return g * 2.0 * onp.cos(x)
        return g * onp.cos(x), g * (onp.cos(x) - x * onp.sin(x))

    ext.defvjp(run, None, run_vjp)
    ext.defjvp(run, None, run_jvp)

    def f(x):
        s, c = run("two", x)  # a tuple first, then a matrix (2 x 2: rows would also unpack)
        m = run("one", np.reshape(x, (2, 2)))
        return np.sum(s * c) + np.sum(m ** 2)

    x = onp.array([0.3, -0.7, 1.1, 0.4])
    mat = onp.array([[0.3, -0.7], [1.1, 0.4]])
    value, tangent = ag.make_jvp(lambda m: run("one", m))(mat)(onp.ones((2, 2)))
    return (f(x), ag.grad(f)(x), ag.make_jvp(f)(x)(onp.ones(4))[1], ag.hessian(f)(x),
            type(run("one", mat)).__name__, value, tangent, type(value).__name__)


def test_one_primitive_returns_a_tuple_or_an_array_call_by_call():
    theirs, ours = _both(one_primitive_many_outputs)
    assert_same(theirs, ours)
    x = onp.array([0.3, -0.7, 1.1, 0.4])

    def plain(x):
        return onp.sum(onp.sin(x) * onp.cos(x) * x) + onp.sum((2.0 * onp.sin(x)) ** 2)

    fd = [(plain(x + h) - plain(x - h)) / 2e-6 for h in onp.eye(4) * 1e-6]
    onp.testing.assert_allclose(ours[1], fd, rtol=1e-7)
    assert ours[4] == "ndarray" and ours[7] == "ndarray"


def vjps_written_for_plain_arrays(ag):
    """A solver primitive whose vjp runs the adjoint solve, itself a primitive made with
    ``primitive`` alone (first order is all the library needs), and a vjp that asserts
    its cotangent is an array: Jacobians with as many outputs as inputs or more, which
    chainrule computes in forward mode from the transposed vjps."""
    ext = _mod(ag, "extend")
    k = onp.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])

    @ext.primitive
    def solve_adjoint(scale, g):
        return onp.linalg.solve((k * scale).T, g)

    @ext.primitive
    def solve(scale, b):
        return onp.linalg.solve(k * scale, b)

    ext.defvjp(solve, lambda ans, scale, b: lambda g: -onp.sum(solve_adjoint(scale, g) * (k @ ans)),
               lambda ans, scale, b: lambda g: solve_adjoint(scale, g))
    b0 = onp.array([1.0, -2.0, 0.5])

    @ext.primitive
    def checked(x):
        return onp.tanh(x)

    def checked_vjp(ans, x):
        def vjp(g):
            assert isinstance(g, onp.ndarray), "the cotangent must be an array"
            return g * (1 - ans ** 2)
        return vjp

    ext.defvjp(checked, checked_vjp)
    return (ag.jacobian(lambda b: solve(1.5, b) ** 2)(b0), ag.jacobian(lambda s: solve(s, b0))(1.5),
            ag.jacobian(lambda p: solve(p[0], p[1:] * b0))(onp.array([1.5, 1.0, 2.0, 0.5])),
            ag.jacobian(lambda x: checked(x) ** 2)(b0))


def test_vjps_written_for_plain_arrays_give_forward_mode_jacobians():
    theirs, ours = _both(vjps_written_for_plain_arrays)
    assert_same(theirs, ours)
    k = onp.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])
    onp.testing.assert_allclose(ours[1], -onp.linalg.solve(k, [1.0, -2.0, 0.5]) / 1.5 ** 2, rtol=1e-14)


def number_for_an_array(ag):
    """A vjp of one's own that gives a number for an array argument (``lambda g: 0.0``
    for one it does not differentiate): inside a tuple of arguments, a list or a dict, the
    gradient has the argument's shape, so that ``flatten`` and the optimizers see every
    entry."""
    np, ext = _mod(ag, "numpy"), _mod(ag, "extend")
    x = onp.array([0.3, 0.7, -1.1])

    @ext.primitive
    def ignore_second(x, y):
        return x * onp.sum(y)

    ext.defvjp(ignore_second, lambda ans, x, y: lambda g: g * onp.sum(y), lambda ans, x, y: lambda g: 0.0)

    def f(x, y):
        return np.sum(ignore_second(x, y))

    flat = _mod(ag, "misc").flatten(ag.grad(f, (0, 1))(x, x))[0]
    return (ag.grad(f, (0, 1))(x, x), ag.grad(lambda p: f(*p))([x, x]), ag.grad(lambda d: f(d["a"], d["b"]))(
        {"a": x, "b": x}), ag.value_and_grad(f, (0, 1))(x, x), flat)


def test_a_number_for_an_array_argument_takes_its_shape():
    theirs, ours = _both(number_for_an_array)
    assert_same(theirs, ours)
    assert ours[4].shape == (6,)
