"""Checks from HIPS autograd's own test suite (its ``tests/`` folder), in autograd's
spelling, each run twice: as written, and with its import lines changed mechanically
from ``autograd`` to ``chainrule``. The numbers must agree to 1e-10. Where a check sits
on a point where the two libraries could disagree (a value exactly on a bound, ties), it
is also checked against a closed form, so that autograd is not the only witness.
"""

import numpy as onp
import pytest

import chainrule
import chainrule.numpy as cnp

scipy_linalg = pytest.importorskip("scipy.linalg")
scipy_stats = pytest.importorskip("scipy.stats")
csla = pytest.importorskip("chainrule.scipy.linalg")
cstats = pytest.importorskip("chainrule.scipy.stats")

pytest.importorskip("autograd")

from test_autograd_api import assert_same  # noqa: E402
from test_autograd_examples import run  # noqa: E402

CHECKS = {
    # test_numpy.py's test_clip, with values on the bounds and beyond them: autograd's rule
    # gives the derivative to the bound wherever the result equals it
    "clip_at_bounds": """
import autograd.numpy as np
from autograd import grad, make_jvp
x = np.array([0.1, 0.5, 1.1, 2.0, -1.0, 0.1 + 1e-12])
fun = lambda x, lo, hi: np.sum(np.clip(x, a_min=lo, a_max=hi) * np.arange(1.0, 7.0))
result = (grad(fun)(x, 0.1, 1.1), grad(fun)(x, 1.1, 1.1), grad(fun)(x, 1.5, 0.1),
          grad(lambda x: np.sum(x.clip(0.1, 1.1)))(x), grad(lambda x: np.sum(np.clip(x, 0.1, None)))(x),
          grad(lambda x: np.sum(np.clip(x, None, 1.1)))(x),
          make_jvp(lambda x: np.clip(x, 0.1, 1.1))(x)(np.ones(6))[1])
""",
    # test_binary_ops.py's true_divide, at a divisor 0 given as a Python number: NumPy's inf
    # (with its warning), where Python's own division would raise ZeroDivisionError
    "divide_by_zero": """
import warnings
import autograd.numpy as np
from autograd import grad, make_jvp
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)
    result = (grad(lambda a: a / 0.0)(2.0), grad(lambda a: np.true_divide(a, -0.0))(2.0),
              grad(lambda a: np.divide(a, 0))(2.0), make_jvp(lambda a: a / 0.0)(2.0)(1.0)[1],
              grad(lambda a, b: a / b, 1)(2.0, 0.5))
""",
    # test_numpy.py's test_array_creation: "will take ages if the complexity of array
    # creation is O(N)" (per element, that is: quadratic in all)
    "array_creation": """
import autograd.numpy as np
from autograd import grad
N = 300
def fun(x):
    arr = [x for i in range(N)]
    return np.sum(np.array(arr))
result = grad(fun)(1.0)
""",
    "concatenate_many": """
import autograd.numpy as np
from autograd import grad
N = 300
x = np.linspace(0.0, 1.0, N)
result = grad(lambda x: np.sum(np.concatenate([x[i:i + 1] * i for i in range(N)]) ** 2))(x)
""",
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_autograd_check_agrees(name):
    assert_same(run(CHECKS[name], "autograd"), run(CHECKS[name], "chainrule"))


@pytest.mark.parametrize("name, n, expected", [
    ("array_creation", 100000, lambda n: n),
    ("concatenate_many", 5000, lambda n: 2 * onp.linspace(0.0, 1.0, n) * onp.arange(n) ** 2),
])
def test_joining_many_values_takes_linear_time(name, n, expected):
    """autograd's N = 100000 (with chainrule alone: autograd takes seconds there). Each
    array's derivative is taken in one rule call for all of them; a rule call per array
    that handles all of them costs N² (minutes at this size)."""
    result = run(CHECKS[name].replace("N = 300", f"N = {n}"), "chainrule")
    onp.testing.assert_allclose(result, expected(n), rtol=1e-12)


def test_clip_derivative_goes_to_exactly_one_of_value_and_bounds():
    """Moving ``a`` and both bounds together by t moves clip's result by t (a line on which
    it is smooth): the three partial derivatives sum to 1 everywhere, bounds touched, crossed
    or equal, as central differences along that line say."""
    x = onp.array([0.1, 0.5, 1.1, 2.0, -1.0, 0.1 + 1e-12])
    w = onp.arange(1.0, 7.0)
    inside = chainrule.grad(lambda x: cnp.sum(cnp.clip(x, 0.1, 1.1) * w))(x)
    onp.testing.assert_array_equal(inside, [0, 2, 0, 0, 0, 6])  # strictly inside only
    for lo, hi in [(0.1, 1.1), (1.1, 1.1), (1.5, 0.1)]:
        parts = chainrule.grad(lambda x, lo, hi: cnp.sum(cnp.clip(x, lo, hi) * w), (0, 1, 2))(x, lo, hi)
        h = 1e-6
        line = [onp.sum(onp.clip(x + s, lo + s, hi + s) * w) for s in (h, -h)]
        onp.testing.assert_allclose(parts[0].sum() + parts[1] + parts[2], (line[0] - line[1]) / (2 * h))


def test_torch_clamp_keeps_the_derivative_on_a_bound():
    torch = pytest.importorskip("torch")
    x = onp.array([0.1, 0.5, 1.1, 2.0, -1.0])
    for bounds in [(0.1, 1.1), (0.1, None), (None, 1.1)]:
        t = torch.tensor(x, requires_grad=True)
        t.clamp(*bounds).sum().backward()
        c = chainrule.tensor(x, requires_grad=True)
        c.clamp(*bounds).sum().backward()
        onp.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("spelling", ["clamp", "clamp_min", "clamp_max"])
def test_torch_clamp_with_tensor_bounds_matches_torch(spelling):
    # bounds that cross (min > max: the result is max), that meet (min == max), and values
    # on a bound, each with its own gradient for the bounds
    torch = pytest.importorskip("torch")
    rng = onp.random.default_rng(3)
    x, lo, hi = rng.normal(size=(3, 60)).round(1)
    lo[:6], hi[:6], x[:3] = 0.2, 0.2, 0.2
    x[6:9], lo[6:9] = lo[6:9], hi[6:9] - 0.5
    assert (lo > hi).any() and (lo < hi).any() and (x == hi).any()
    args = {"clamp": (lo, hi), "clamp_min": (lo,), "clamp_max": (hi,)}[spelling]
    w = onp.arange(1.0, 61.0)
    got = [chainrule.tensor(v, requires_grad=True) for v in (x, *args)]
    (getattr(got[0], spelling)(*got[1:]) * chainrule.tensor(w)).sum().backward()
    want = [torch.tensor(v, requires_grad=True) for v in (x, *args)]
    (getattr(want[0], spelling)(*want[1:]) * torch.tensor(w)).sum().backward()
    for c, t in zip(got, want, strict=True):
        onp.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())


# Where autograd 1.9's derivative is wrong, chainrule's agrees with central differences
# (docs/autograd.md lists these). Each: a function of (numpy-like, scipy.linalg-like, x).
_R = onp.random.default_rng(5)
_A = onp.tril(_R.standard_normal((4, 4))) + 4 * onp.eye(4)
_B = _R.standard_normal(4)
_B2 = _R.standard_normal((3, 2))
AUTOGRAD_WRONG = {
    # autograd's rule ignores unit_diagonal: it differentiates the diagonal, which is not read
    "solve_triangular_unit_diagonal": (
        lambda np, sla, a: np.sum(np.sin(sla.solve_triangular(a, _B, lower=True, unit_diagonal=True))), _A),
    "solve_triangular_unit_diagonal_trans": (
        lambda np, sla, a: np.sum(np.sin(sla.solve_triangular(a.T, _B, trans="T", unit_diagonal=True))), _A),
    # autograd's rfft rule assumes an even length n and the "backward" normalisation
    "rfft_odd_n": (lambda np, sla, x: np.sum(np.abs(np.fft.rfft(x, n=9)) ** 2), _R.standard_normal((2, 6))),
    "rfft_norm_forward": (lambda np, sla, x: np.sum(np.sin(np.fft.rfft(x, norm="forward").real)),
                          _R.standard_normal((2, 6))),
    # autograd's gradient of norm(..., keepdims=True) has the wrong shape
    "norm_keepdims": (lambda np, sla, x: np.sum(np.sin(np.linalg.norm(x, axis=1, keepdims=True))),
                      _R.standard_normal((2, 3))),
    # autograd gives NaN: its inf-norm rule divides by |x| ** (ord - 1)
    "vector_inf_norm": (lambda np, sla, x: np.linalg.norm(x, ord=onp.inf), onp.array([1.0, -3.0, 0.5])),
    # autograd gives NaN where an entry is zero: its rule divides the product by x
    "prod_with_a_zero": (lambda np, sla, x: np.prod(x * onp.array([0.0, 1.0, 1.0])), onp.array([0.5, 2.0, -3.0])),
    # autograd raises LinAlgError: its rule inverts the matrix, which a singular one is not
    "det_of_a_singular_matrix": (lambda np, sla, x: np.linalg.det(x),
                                 onp.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])),
    # autograd's tile rule splits the cotangent along the leading axes when reps has fewer
    # entries than x has axes, where NumPy tiles the trailing ones
    "tile_with_fewer_reps_than_axes": (lambda np, sla, x: np.sum(np.tile(x, 2) ** 2 * onp.arange(12.0).reshape(2, 6)),
                                       _R.standard_normal((2, 3))),
    # autograd gives NaN (0/0): no entry attains the maximum, which the initial value is
    "max_below_its_initial_value": (lambda np, sla, x: np.sum(np.max(x, axis=0, initial=5.0) + np.min(x, initial=-5.0)),
                                    _R.standard_normal((2, 3))),
    # autograd's gradient for the banded matrix has the wrong shape when b is a matrix
    "solve_banded_matrix_b": (lambda np, sla, ab: np.sum(np.sin(sla.solve_banded((1, 1), ab, _B2))),
                              onp.array([[0, 1.0, 0.5], [3.0, 3.5, 4.0], [0.2, 0.3, 0]])),
    # autograd's rule is 0 wherever df is not an integer
    "chi2_logpdf_fractional_df": (lambda np, sla, x: np.sum(_stats(np).chi2.logpdf(x, onp.array([2.5, 3.7]))
                                                            + _stats(np).chi2.pdf(x, 4.5)),
                                  onp.array([[1.5, 2.0], [2.5, 1.7], [3.0, 0.5]])),
    # autograd's sum and mean rules ignore where=: every entry gets the derivative
    "sum_where": (lambda np, sla, x: np.sum(np.sin(np.sum(x, where=_MASK) * x)), _R.standard_normal((3, 4))),
    "mean_where": (lambda np, sla, x: np.sum(np.sin(3 * np.mean(x, axis=1, where=_MASK))), _R.standard_normal((3, 4))),
    # autograd's gradients have the wrong shapes: diag(x, k) of a matrix that is not square
    # (it builds a square one), outer of a matrix (NumPy flattens it; autograd leaves it flat)
    "diag_offset_of_a_nonsquare_matrix": (lambda np, sla, x: np.sum(np.sin(np.diag(x, k=1)) * onp.arange(1.0, 4.0)),
                                          _R.standard_normal((3, 4))),
    "outer_of_a_matrix": (lambda np, sla, x: np.sum(np.sin(np.outer(x, onp.arange(1.0, 3.0)))),
                          _R.standard_normal((3, 4))),
    # autograd gives NaN at 0: its rule divides by x
    "sinc_at_zero": (lambda np, sla, x: np.sum(np.sinc(x) * onp.arange(1.0, 4.0)), onp.array([0.0, 0.5, -1.3])),
    # autograd's full_like passes no derivative to the fill value (full's does)
    "full_like_of_a_value_being_differentiated": (
        lambda np, sla, x: np.sum(np.sin(np.full_like(_B, x[0] * x[1]) * onp.arange(1.0, 5.0))),
        onp.array([0.7, -1.2])),
    # autograd differentiates a cast to integers as the identity; it is piecewise constant
    "astype_to_integers": (lambda np, sla, x: np.sum(x * x.astype(int) + np.sin(x.astype(onp.int32))),
                           onp.array([0.3, 1.6, -2.4, 3.5])),
}
_MASK = onp.array([True, False, True, True])


def _stats(np):
    return scipy_stats if np is onp else cstats


def test_complex_cholesky_agrees_with_differences_where_autograd_does_not():
    """autograd's cholesky rule is the real one: on a complex Hermitian matrix its gradient
    is off along Hermitian directions (NumPy reads the lower triangle); chainrule's agrees
    with central differences along them (the gradient pairs with a direction d by
    Re(sum(g * d)))."""
    rng = onp.random.default_rng(3)
    a = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    a = a @ a.conj().T + 3 * onp.eye(3)
    w = onp.cos(onp.arange(9.0) + 1).reshape(3, 3)

    def f(np, a):
        chol = np.linalg.cholesky(a)
        return np.sum(np.real(chol) * w) + np.sum(np.imag(chol) * w[::-1])

    g = chainrule.grad(lambda a: f(cnp, a))(a)
    for _ in range(3):
        d = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
        d = d + d.conj().T
        h = 1e-6
        expected = (f(onp, a + h * d) - f(onp, a - h * d)) / (2 * h)
        assert onp.real(onp.sum(g * d)) == pytest.approx(expected, rel=1e-7, abs=1e-9)


# Of a complex matrix: autograd's pinv rule leaves out conjugates (the matrix is not square,
# so not an inverse); its slogdet rule passes no derivative to the sign, e^(i arg det a),
# which varies with a
COMPLEX_AUTOGRAD_WRONG = {
    "pinv": (lambda np, a: np.real(np.sum(np.linalg.pinv(a) * onp.cos(onp.arange(6.0) + 1).reshape(2, 3)))
             + np.sum(np.imag(np.linalg.pinv(a))), (3, 2)),
    "slogdet_sign": (lambda np, a: np.sum(np.real(np.linalg.slogdet(a)[0] * (0.3 + 0.8j)))
                     + np.linalg.slogdet(a)[1], (3, 3)),
}


@pytest.mark.parametrize("name", sorted(COMPLEX_AUTOGRAD_WRONG))
def test_complex_matrix_functions_agree_with_differences_where_autograd_does_not(name):
    """chainrule's gradient of a real function of a complex matrix agrees with central
    differences along real and imaginary directions (``grad``'s convention: ∂/∂x − i ∂/∂y)."""
    f, shape = COMPLEX_AUTOGRAD_WRONG[name]
    rng = onp.random.default_rng(4)
    a = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    g = chainrule.grad(lambda a: f(cnp, a))(a)
    h, expected = 1e-6, onp.zeros_like(a)
    for i in onp.ndindex(a.shape):
        e = onp.zeros(a.shape)
        e[i] = h
        expected[i] = ((f(onp, a + e) - f(onp, a - e)) - 1j * (f(onp, a + 1j * e) - f(onp, a - 1j * e))) / (2 * h)
    onp.testing.assert_allclose(g, expected, atol=1e-7)


def test_diff_with_prepend_and_append_in_forward_mode():
    """autograd's forward rule for np.diff(x, prepend=p, append=q) runs diff on the tangent
    with the same p and q, as if they varied with x: jvp at tangent t gives t[0] - p first.
    chainrule's is the diff of the tangent with zeros prepended and appended."""
    x, t = onp.array([0.3, -0.5, 1.1]), onp.array([1.0, 2.0, 4.0])
    _, tangent = chainrule.jvp(lambda x: cnp.diff(x, n=2, prepend=2.0, append=5.0), (x,), (t,))
    onp.testing.assert_allclose(tangent, onp.diff(t, n=2, prepend=0.0, append=0.0), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(AUTOGRAD_WRONG))
def test_where_autograd_is_wrong_chainrule_agrees_with_differences(name):
    f, x = AUTOGRAD_WRONG[name]
    g = chainrule.grad(lambda x: f(cnp, csla, x))(x)
    h, expected = 1e-6, onp.zeros_like(x)
    for i in onp.ndindex(x.shape):
        e = onp.zeros_like(x)
        e[i] = h
        expected[i] = (f(onp, scipy_linalg, x + e) - f(onp, scipy_linalg, x - e)) / (2 * h)
    assert g.shape == x.shape
    onp.testing.assert_allclose(g, expected, atol=1e-6)


@pytest.mark.parametrize("name", ["iv", "ive", "jn"])
def test_bessel_order_is_refused_where_autograd_gives_zero(name):
    autograd_special = pytest.importorskip("autograd.scipy.special")
    autograd = pytest.importorskip("autograd")
    csp = pytest.importorskip("chainrule.scipy.special")
    x = onp.array([1.0, 2.0])
    assert autograd.grad(lambda v: onp.sum(getattr(autograd_special, name)(v, x)))(1.5) == 0.0
    with pytest.raises(NotImplementedError, match="no derivative in 'v'"):
        chainrule.grad(lambda v: cnp.sum(getattr(csp, name)(v, x)))(1.5)


@pytest.mark.parametrize("case", ["std", "std_axis", "norm", "norm_fro", "norm_axis", "hypot"])
def test_cone_tips_have_derivative_zero_where_autograd_gives_nan(case):
    """docs/autograd.md ("At the tip of a cone"): chainrule's 0 (PyTorch's for std and
    norm), autograd's NaN."""
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    f, x = {"std": (lambda np: lambda x: np.std(x), onp.ones(3)),
            "std_axis": (lambda np: lambda x: np.sum(np.std(x, axis=0)), onp.full((2, 3), 2.5)),
            "norm": (lambda np: lambda x: np.linalg.norm(x), onp.zeros(3)),
            "norm_fro": (lambda np: lambda x: np.linalg.norm(x, "fro"), onp.zeros((2, 2))),
            "norm_axis": (lambda np: lambda x: np.sum(np.linalg.norm(x, axis=1)), onp.zeros((2, 2))),
            "hypot": (lambda np: lambda x: np.hypot(x, 0.0), 0.0)}[case]
    with onp.errstate(all="ignore"):
        assert onp.isnan(autograd.grad(f(anp))(x)).all()
    g = chainrule.grad(f(cnp))(x)
    assert onp.shape(g) == onp.shape(x) and not onp.any(g)


def test_odeint_jacobian_modes_agree_with_autograd_to_the_solver_tolerance():
    """docs/autograd.md ("Modes"): reverse mode through odeint is autograd's adjoint solve
    (the same numbers); forward mode solves the sensitivity equations instead, which agree
    to the solver's tolerance."""
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    aint = pytest.importorskip("autograd.scipy.integrate")
    atuple = pytest.importorskip("autograd.builtins").tuple
    cint = pytest.importorskip("chainrule.scipy.integrate")
    y0, t = onp.array([0.7, -0.3]), onp.linspace(0.0, 1.0, 5)

    def rhs(np):
        return lambda y, t, a, b: -a * y + b * np.sin(t) * y[::-1]

    want = autograd.jacobian(lambda y: aint.odeint(rhs(anp), y, t, atuple((0.7, 0.4)))[-1])(y0)
    last = lambda y: cint.odeint(rhs(cnp), y, t, (0.7, 0.4))[-1]  # noqa: E731
    onp.testing.assert_allclose(chainrule.jacrev(last)(y0), want, rtol=1e-12, atol=1e-14)
    onp.testing.assert_allclose(chainrule.jacobian(last)(y0), want, rtol=1e-6)
