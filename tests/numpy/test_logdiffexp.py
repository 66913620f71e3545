"""chainrule.numpy.logdiffexp: the one log(1 - exp(d)) that scipy.stats' log survival
functions and jax.nn.log1mexp share, against JAX (x64) and SciPy, on both sides of the
switch at -log 2, with its derivatives to second order against finite differences."""

import math

import numpy as np
import pytest
import scipy.stats

import chainrule as cr
import chainrule.jax_nn as cjn
import chainrule.numpy as cnp
import chainrule.scipy.stats as cstats
from chainrule.numpy.logdiffexp import log1m_exp, log_diff_exp

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)

X = np.array([1e-20, 1e-5, 0.5, math.log(2.0), 0.7, 5.0, 40.0, 700.0])


def test_log1mexp_is_jaxs_in_value_and_gradient():
    np.testing.assert_allclose(np.asarray(cjn.log1mexp(cr.tensor(X))), np.asarray(jax.nn.log1mexp(X)),
                               rtol=1e-14, atol=0)
    ours = cr.grad(lambda x: cnp.sum(cjn.log1mexp(x)))(X)
    theirs = jax.grad(lambda x: jax.numpy.sum(jax.nn.log1mexp(x)))(X)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-12, atol=0)


def test_gumbel_logsf_is_scipys():
    z = np.array([-30.0, -3.0, -0.36, 0.0, 2.0, 30.0])
    np.testing.assert_allclose(np.asarray(cstats.gumbel_r.logsf(z)), scipy.stats.gumbel_r.logsf(z), rtol=1e-13)


@pytest.mark.parametrize("d", [-1e-3, -0.5, -math.log(2.0) - 1e-3, -3.0])
def test_log1m_exp_derivatives(d):
    cr.gradcheck(log1m_exp, d, order=2)
    cr.gradcheck(lambda s: log_diff_exp(0.5, s), d, order=2)


def test_the_module_leaves_numpys_logspace_alone():
    """(A submodule named logspace had replaced cnp.logspace, the function, once imported.)"""
    assert cnp.logspace(0.0, 2.0, 3).tolist() == [1.0, 10.0, 100.0]
