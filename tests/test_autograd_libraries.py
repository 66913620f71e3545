"""Libraries built on autograd run on chainrule with ``autograd`` resolved to it.

Each script runs in its own process twice: with the real autograd, and with an import
hook that makes every ``autograd`` / ``autograd.X`` import give ``chainrule`` /
``chainrule.X`` (the library's code is untouched). The printed numbers must agree.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from test_autograd_api import assert_same

SRC = str(Path(__file__).resolve().parent.parent / "src")

# The import hook as docs/autograd.md gives it (its second code block), run as written.
DOC = (Path(__file__).resolve().parent.parent / "docs" / "autograd.md").read_text(encoding="utf-8")
ALIAS = re.findall(r"```python\n(.*?)```", DOC, re.S)[1]
assert "AutogradIsChainrule" in ALIAS

LIFELINES = '''
import json
import numpy as np
import autograd
from lifelines import LogNormalFitter, WeibullAFTFitter, WeibullFitter
from lifelines.datasets import load_rossi, load_waltons

w = load_waltons()
wf = WeibullFitter().fit(w["T"], w["E"])
ln = LogNormalFitter().fit(w["T"], w["E"])
aft = WeibullAFTFitter().fit(load_rossi(), "week", "arrest")
print(json.dumps({
    "library": autograd.__name__,
    "weibull": [wf.lambda_, wf.rho_, wf.log_likelihood_, wf.variance_matrix_.values.ravel().tolist()],
    "weibull_band": wf.confidence_interval_survival_function_.values[:5].ravel().tolist(),
    "lognormal": [ln.mu_, ln.sigma_, ln.log_likelihood_],
    "aft": [aft.params_.values.tolist(), aft.log_likelihood_, aft.variance_matrix_.values.ravel().tolist()],
}))
'''

PYMANOPT_SETUP = '''
import json
import numpy as np
import autograd
import autograd.numpy as anp
import pymanopt
from pymanopt.manifolds import Euclidean, Product, Sphere, Stiefel

rs = np.random.RandomState(0)
A = rs.randn(5, 5)
A = A + A.T
sphere = Sphere(5)

@pymanopt.function.autograd(sphere)
def rayleigh(x):
    return anp.dot(x, anp.dot(A, x))

on_sphere = pymanopt.Problem(sphere, rayleigh)
x = rs.randn(5)
x /= np.linalg.norm(x)
v = rs.randn(5)
v -= np.dot(v, x) * x
product = Product([Stiefel(4, 2), Euclidean(3)])
B = rs.randn(4, 3)

@pymanopt.function.autograd(product)
def tanh_cost(X, y):
    return anp.sum(anp.tanh(anp.dot(X.T, anp.dot(B, y))) ** 2) + anp.sum(y ** 4)

on_product = pymanopt.Problem(product, tanh_cost)
X, _ = np.linalg.qr(rs.randn(4, 2))
point = [X, rs.randn(3)]
tangent = product.projection(point, [rs.randn(4, 2), rs.randn(3)])
'''

PYMANOPT_GRADIENT = PYMANOPT_SETUP + '''
print(json.dumps({"library": autograd.__name__,
                  "sphere": on_sphere.riemannian_gradient(x).tolist(),
                  "product": [g.tolist() for g in on_product.riemannian_gradient(point)]}))
'''

PYMANOPT_HESSIAN = PYMANOPT_SETUP + '''
print(json.dumps({"library": autograd.__name__,
                  "sphere": on_sphere.riemannian_hessian(x, v).tolist(),
                  "product": [h.tolist() for h in on_product.riemannian_hessian(point, tangent)]}))
'''


def run_script(script: str, alias: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    code = (ALIAS if alias else "") + script
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def needs(*packages):
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)} (the test extra has it)")


def agree(script):
    real, ours = run_script(script, alias=False), run_script(script, alias=True)
    assert (real.pop("library"), ours.pop("library")) == ("autograd", "chainrule")
    assert_same(real, ours)


@pytest.mark.slow
@needs("lifelines", "autograd")
def test_lifelines_fits_agree():
    """lifelines imports make_jvp_reversemode, unbroadcast_f, ArrayBox, DictBox; its
    fitters differentiate log-likelihoods and their variance matrices come from Hessians."""
    agree(LIFELINES)


@pytest.mark.slow
@needs("pymanopt", "autograd")
def test_pymanopt_gradients_agree():
    agree(PYMANOPT_GRADIENT)


@pytest.mark.slow
@needs("pymanopt", "autograd")
def test_pymanopt_hessians_agree():
    agree(PYMANOPT_HESSIAN)


# Code written against autograd.core (older programs and libraries import from there).
AUTOGRAD_CORE = '''
import json
import numpy as np
import autograd
import autograd.numpy as anp
from autograd import grad
from autograd.core import primitive, defvjp, defjvp, getval, isbox, make_vjp, make_jvp, vspace

@primitive
def logistic(x):
    return 1 / (1 + np.exp(-x))

defvjp(logistic, lambda ans, x: lambda g: g * ans * (1 - ans))
defjvp(logistic, lambda g, ans, x: g * ans * (1 - ans))
x = np.array([0.3, -1.2, 2.0])
seen = []

def loss(w):
    seen.append((isbox(w), float(np.sum(getval(w)))))
    return anp.sum(logistic(w * x) ** 2)

vjp, value = make_vjp(lambda w: logistic(w * x), 0.7)
value2, tangent = make_jvp(lambda w: logistic(w * x), 0.7)(1.0)
print(json.dumps({"library": autograd.__name__, "grad": float(grad(loss)(0.7)), "seen": seen,
                  "vjp": vjp(np.ones(3)).tolist(), "value": value.tolist(), "jvp": tangent.tolist(),
                  "jvp_value": value2.tolist(), "size": int(vspace(x).size)}))
'''


@needs("autograd")
def test_programs_importing_from_autograd_core_agree():
    """from autograd.core import primitive, defvjp, getval, make_vjp (its (fun, x) form):
    the import hook resolves autograd.core to chainrule.autograd_core (chainrule.core is
    chainrule's engine, which has none of these names)."""
    agree(AUTOGRAD_CORE)


# PyWake's py_wake/utils/gradients.py (trimmed): it replaces autograd.numpy's own sqrt vjp
# with one that is finite at 0 (a turbine's distance to itself), replaces asarray and
# minimum, makes primitives of methods with defvjp(..., argnums=itertools.count(1)), and
# differentiates a wake model with jacobian and elementwise_grad.
PYWAKE = '''
import inspect
import json
from itertools import count
import numpy as np
import numpy
import autograd
import autograd.numpy as anp
from autograd.numpy.numpy_boxes import ArrayBox
from autograd.core import defvjp, primitive
from autograd.differential_operators import grad, jacobian, elementwise_grad, make_jvp
from scipy.interpolate import PchipInterpolator as scipy_PchipInterpolator


def asarray(x, dtype=None, order=None):
    if isinstance(x, (ArrayBox)):
        return x
    return np.asarray(x, dtype, order)


def minimum(x1, x2, out=None, where=True, **kwargs):
    if isinstance(x1, ArrayBox) or isinstance(x2, ArrayBox):
        return anp.where((x2 < x1) & where, x2, x1)
    else:
        return numpy.minimum(x1, x2, out=out, where=where, **kwargs)


anp.asarray = asarray
anp.minimum = minimum
eps = 2 * np.finfo(float).eps ** 2
defvjp(anp.sqrt, lambda ans, x: lambda g: g * 0.5 * np.where(x == 0, eps, x)**-0.5)


def set_vjp(df):
    def get_func(f, df_lst=df):
        if not isinstance(df, (list, tuple)):
            df_lst = [df_lst]
        pf = primitive(f)
        first_arg = int(len(inspect.getfullargspec(f).args) > 0 and inspect.getfullargspec(f).args[0] == 'self')
        defvjp(pf, *[lambda ans, *args, df=df, **kwargs: lambda g: g * df(*args, **kwargs)
                     for df in df_lst], argnums=count(first_arg))
        return pf
    return get_func


class PchipInterpolator(scipy_PchipInterpolator):
    def df(self, x, extrapolate=None):
        return scipy_PchipInterpolator.__call__(self, x, nu=1, extrapolate=extrapolate)

    @set_vjp(df)
    def __call__(self, x, extrapolate=None):
        return scipy_PchipInterpolator.__call__(self, np.real(x), extrapolate=extrapolate)


def modf(i):
    if isinstance(i, ArrayBox):
        i0 = i._value.astype(int)
    else:
        i0 = np.real(i).astype(int)
    i_f = i - i0
    return i_f, i0


ct = PchipInterpolator(np.array([0.0, 0.5, 1.0, 2.0, 3.0]), np.array([0.8, 0.78, 0.6, 0.3, 0.15]))


def deficit(x, y):
    d = anp.sqrt(anp.asarray(x) ** 2 + y ** 2)
    frac, whole = modf(2.5 * d)
    return anp.exp(-d) * (1 + anp.where(x > 0, x, 0.0)) + d * ct(d) + anp.minimum(d, 1.0) + frac * whole


x, y = np.array([0.0, 0.5, -1.2, 2.0]), np.array([0.0, 1.0, 0.3, -0.4])
tall = lambda x: anp.concatenate([deficit(x, y[:2]), deficit(x, y[:2]) ** 2])
distance = lambda x: anp.sqrt(x ** 2 + y ** 2) * anp.exp(-x)
with np.errstate(all="ignore"):
    jvp = make_jvp(distance)(x)(np.ones(4))[1]
print(json.dumps({"library": autograd.__name__,
                  "dx": elementwise_grad(deficit)(x, y).tolist(), "dy": elementwise_grad(deficit, 1)(x, y).tolist(),
                  "jacobian": jacobian(deficit)(x, y).tolist(), "tall": jacobian(tall)(x[:2]).tolist(),
                  "grad": grad(lambda x: anp.sum(deficit(x, y)))(x).tolist(),
                  "jvp": [None if v != v else v for v in jvp.tolist()],
                  "jvp_by_jacobian": jacobian(distance)(x).sum(axis=1).tolist()}))
'''


@needs("autograd")
def test_pywakes_sqrt_vjp_replacement_agrees():
    """defvjp(anp.sqrt, ...) on the mirror's own sqrt: the new rule reads x, which the tape
    did not keep for sqrt's rule (it reads the output) - a TypeError; and jacobian, which
    runs forward mode here, used sqrt's old forward rule (NaN at 0) where autograd's, in
    reverse mode, uses the new one. Forward mode now derives its rule from the new vjp.
    defvjp(f, *makers, argnums=count(1)) ran out of memory (an endless tuple)."""
    real, ours = run_script(PYWAKE, alias=False), run_script(PYWAKE, alias=True)
    assert (real.pop("library"), ours.pop("library")) == ("autograd", "chainrule")
    # autograd's make_jvp keeps sqrt's old forward rule: NaN at 0; chainrule's gives the
    # reverse-mode numbers (the jacobian's row sums)
    jvp_real, jvp_ours = real.pop("jvp"), ours.pop("jvp")
    assert jvp_real[0] is None and jvp_real[1:] == pytest.approx(jvp_ours[1:], rel=1e-12)
    assert jvp_ours == pytest.approx(ours["jvp_by_jacobian"], rel=1e-12)
    assert_same(real, ours)
