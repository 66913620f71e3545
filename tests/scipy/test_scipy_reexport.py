"""chainrule.scipy is a drop-in for scipy: every SciPy name and submodule imports, the
ones without rules are SciPy's own on plain arrays and refuse Tensors by name."""

import importlib
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy
import scipy.stats as st

import chainrule as cr
import chainrule.scipy as csp

SUBMODULES = ["cluster", "constants", "datasets", "differentiate", "fft", "fftpack",
              "integrate", "interpolate", "io", "linalg", "ndimage", "odr", "optimize",
              "signal", "sparse", "spatial", "special", "stats"]
NESTED = ["sparse.linalg", "sparse.csgraph", "spatial.distance", "spatial.transform",
          "stats.qmc", "stats.contingency", "io.wavfile", "signal.windows", "linalg.blas"]


def public_names(module):
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    return [n for n in names if not n.startswith("_")]


@pytest.mark.parametrize("name", SUBMODULES)
def test_every_scipy_name_of_a_submodule_imports(name):
    with warnings.catch_warnings():  # scipy.odr, scipy.fftpack warn that they are old
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            theirs = importlib.import_module(f"scipy.{name}")
        except ImportError:  # pragma: no cover - a SciPy without it
            pytest.skip(f"scipy.{name} is not installed")
        ours = importlib.import_module(f"chainrule.scipy.{name}")
        assert getattr(csp, name) is ours
        missing = [n for n in public_names(theirs) if not hasattr(ours, n)]
    assert not missing, f"chainrule.scipy.{name} lacks {missing}"


@pytest.mark.parametrize("name", NESTED)
def test_nested_submodules_import(name):
    theirs = importlib.import_module(f"scipy.{name}")
    ours = importlib.import_module(f"chainrule.scipy.{name}")
    for n in public_names(theirs)[:20]:
        assert hasattr(ours, n), n


def test_unknown_names_fail_as_python_does():
    with pytest.raises(ImportError):
        importlib.import_module("chainrule.scipy.not_a_scipy_module")
    with pytest.raises(AttributeError, match="no attribute 'not_a_function'"):
        csp.special.not_a_function  # noqa: B018
    with pytest.raises(ImportError):
        exec("from chainrule.scipy.stats import not_a_distribution", {})


def test_dirichlet_rvs_and_other_sampling_is_scipys():
    from chainrule.scipy.stats import dirichlet, multivariate_normal, norm

    alpha = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(dirichlet.rvs(alpha, size=4, random_state=0),
                                  st.dirichlet.rvs(alpha, size=4, random_state=0))
    np.testing.assert_array_equal(norm.rvs(size=3, random_state=1),
                                  st.norm.rvs(size=3, random_state=1))
    np.testing.assert_allclose(dirichlet.mean(alpha), st.dirichlet.mean(alpha))
    sample = multivariate_normal.rvs(np.zeros(2), np.eye(2), random_state=2)
    np.testing.assert_array_equal(sample, st.multivariate_normal.rvs(np.zeros(2), np.eye(2),
                                                                     random_state=2))


def test_distributions_without_rules_are_scipys_and_refuse_tensors():
    from chainrule.scipy.stats import norm, weibull_min

    x = np.array([0.5, 1.5])
    np.testing.assert_array_equal(weibull_min.logpdf(x, 1.5, scale=2.0),
                                  st.weibull_min.logpdf(x, 1.5, scale=2.0))
    np.testing.assert_array_equal(weibull_min(1.5, scale=2.0).cdf(x),
                                  st.weibull_min(1.5, scale=2.0).cdf(x))
    with pytest.raises(TypeError, match=r"scipy\.stats\.weibull_min\.logpdf is not differentiable"):
        cr.grad(lambda a: weibull_min.logpdf(a, 1.5).sum())(x)
    with pytest.raises(TypeError, match=r"scipy\.stats\.weibull_min is not differentiable"):
        cr.grad(lambda s: weibull_min(1.5, scale=s).mean())(2.0)
    with pytest.raises(TypeError, match=r"scipy\.stats\.norm\.rvs is not differentiable"):
        cr.grad(lambda m: norm.rvs(m, random_state=0))(0.0)
    # the functions with rules stay chainrule's
    assert cr.grad(lambda m: norm.logpdf(1.0, m))(0.25) == pytest.approx(0.75)


def test_functions_without_rules_refuse_tensors_by_name():
    from chainrule.scipy.optimize import rosen
    from chainrule.scipy.special import comb

    assert comb(5, 2) == 10.0
    with pytest.raises(TypeError, match=r"scipy\.special\.comb is not differentiable"):
        cr.grad(lambda n: comb(n, 2))(5.0)
    with pytest.raises(TypeError, match=r"scipy\.optimize\.rosen is not differentiable"):
        cr.grad(rosen)(np.ones(3))
    # and a plain-array call of the re-export is SciPy's result, unchanged
    assert rosen(np.array([1.0, 2.0])) == scipy.optimize.rosen(np.array([1.0, 2.0]))


def test_scipy_optimize_minimize_with_chainrule_gradients():
    from chainrule.scipy.optimize import minimize

    def f(x):
        return ((x - np.arange(3.0)) ** 2).sum() + (x[0] * x[1]) ** 2

    res = minimize(f, np.ones(3), jac=cr.grad(f), method="BFGS")
    assert res.success
    np.testing.assert_allclose(cr.grad(f)(res.x), np.zeros(3), atol=1e-5)


def test_heavy_submodules_import_on_first_use():
    code = ("import sys, chainrule.scipy as s\n"
            "print(sorted(m for m in ('scipy.signal', 'scipy.integrate', 'scipy.optimize')"
            " if m in sys.modules))\n"
            "s.signal\nprint('scipy.signal' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "True"


def test_dir_lists_scipys_names_too():
    assert "comb" in dir(csp.special) and "gammaln" in dir(csp.special)
    assert "expon" in dir(csp.stats) and "rvs" in dir(csp.stats.dirichlet)


def test_plain_calls_are_scipys_own_result():
    """docs/scipy.md: on plain arrays the differentiable functions are SciPy's call."""
    import scipy.integrate as si
    import scipy.linalg as sla
    import scipy.signal as ss
    import scipy.special as sc

    x = np.random.default_rng(0).uniform(0.5, 2.0, size=(3, 3))
    tri, b = np.triu(x) + 2 * np.eye(3), x[:, 0]
    pairs = [
        (csp.special.gammaln(x), sc.gammaln(x)),
        (csp.special.logsumexp(x, axis=0), sc.logsumexp(x, axis=0)),
        (csp.special.softmax(x), sc.softmax(x)),
        (csp.linalg.expm(x), sla.expm(x)),
        (csp.linalg.sqrtm(x @ x.T), sla.sqrtm(x @ x.T)),
        (csp.linalg.solve_triangular(tri, b), sla.solve_triangular(tri, b)),
        (csp.linalg.cho_solve(sla.cho_factor(x @ x.T), b),
         sla.cho_solve(sla.cho_factor(x @ x.T), b)),
        (csp.signal.convolve(x, x[:2, :2]), ss.convolve(x, x[:2, :2])),
        (csp.integrate.odeint(lambda y, t: -y, b, [0.0, 1.0]),
         si.odeint(lambda y, t: -y, b, [0.0, 1.0])),
    ]
    for ours, theirs in pairs:
        assert np.asarray(ours).tobytes() == np.asarray(theirs).tobytes()


def test_readme_scipy_example_runs():
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("## SciPy", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile("import numpy as np\nimport chainrule as cr\n" + block, "README.md", "exec"), {})
