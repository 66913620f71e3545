"""Still more programs built on HIPS autograd, run on chainrule unchanged.

Written in the style of the published code of Linderman's ssm (an HMM's marginal likelihood
as a primitive with a backward-recursion vjp, fitted with its adam and BFGS over a
flattened tuple of tuples), quimb on autoray (the installed autoray dispatching on the
array's class), Stein variational gradient descent and black-box variational inference,
Bayesian optimisation with a Gaussian process (Cholesky, solve_triangular, expected
improvement, check_grads), surpyval (a primitive whose vjps are primitives with vjps of
their own), pymoo (autograd's engine driven by hand with new_box and backward_pass),
syne-tune's GP searcher (a Cholesky primitive with Murray's backward rule, a jitter
primitive, L-BFGS-B over a dict of parameters), ceviche (complex sparse solves as
primitives with vjps and jvps), legume (a complex eigh primitive returning NumPy's
namedtuple), and autograd's less common API (containers
of autograd.builtins, grad_named, holomorphic_grad, make_ggnvp, fixed_point, a neural ODE
through odeint); their sources are in autograd_library_programs_4.py. As in
test_autograd_libraries_more.py, they run in a process with autograd and in one with
autograd resolved to chainrule, and the numbers must agree to 1e-10.
"""

import importlib.util
import os
import subprocess
import sys

import numpy as onp
import pytest

import autograd_library_programs_4
import chainrule
import chainrule.numpy as cnp
from chainrule.autograd_core import backward_pass
from chainrule.tracer import JVPNode, VJPNode, new_box
from test_autograd_api import assert_same
from test_autograd_libraries import ALIAS, SRC, agree, needs
from test_autograd_libraries_more import RUNNER

ORDER = ["SSM", "QUIMB", "SVGD", "BAYESOPT", "SURPYVAL", "PYMOO", "SYNE_TUNE", "CEVICHE", "LEGUME", "API"]


@needs("autograd", "scipy", "autoray")
def test_library_programs_agree():
    m = autograd_library_programs_4
    assert sorted(name for name in dir(m) if name.isupper()) == sorted(ORDER)
    agree(RUNNER.format(sources=[(name, getattr(m, name)) for name in ORDER]))


@pytest.mark.skipif(importlib.util.find_spec("autoray") is None, reason="not installed: autoray")
def test_autoray_sends_chainrule_arrays_to_autograd_numpy_under_the_import_hook():
    """autoray names an array's library from its class's module: chainrule's arrays gave
    ``chainrule``, whose top-level functions are PyTorch's (``tensordot(a, b, dims)``), so
    quimb's ``do("tensordot", a, b, axes=...)`` failed; under the import hook they are
    autograd's, dispatched to ``autograd.numpy`` (chainrule.numpy). In a fresh process."""
    code = ALIAS + (
        "import autoray, autograd, autograd.numpy as anp\n"
        "import numpy as onp\n"
        "seen = []\n"
        "def f(x):\n"
        "    seen.append(autoray.infer_backend(x))\n"
        "    y = autoray.do('tensordot', x, x, axes=([0], [0]))\n"
        "    return autoray.do('sum', autoray.do('linalg.svd', anp.outer(x, x[:2]))[1]) + y\n"
        "g = autograd.grad(f)(onp.array([0.3, -0.4, 1.2]))\n"
        "print(seen[0], ' '.join(repr(float(v)) for v in g))\n")
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    backend, *g = proc.stdout.split()
    x = onp.array([0.3, -0.4, 1.2])
    # sum of singular values of outer(x, x[:2]) is |x| |x[:2]|; plus x.x
    n, n2 = onp.linalg.norm(x), onp.linalg.norm(x[:2])
    expected = x / n * n2 + onp.r_[x[:2] / n2 * n, 0.0] + 2 * x
    assert backend == "autograd"
    onp.testing.assert_allclose([float(v) for v in g], expected, rtol=1e-12)


def test_new_box_and_backward_pass_run_back_to_the_box():
    """pymoo drives autograd's engine by hand: new_box, then backward_pass from an output's
    _node, once per row of the Jacobian (the graph is kept), with boxed or plain cotangents."""
    x = onp.array([[0.2, 0.4], [0.9, 0.3]])
    start = new_box(x, 0, VJPNode.new_root())
    out = cnp.column_stack([cnp.sum(start ** 3, axis=1), cnp.sin(start[:, 0]) * start[:, 1]])
    rows = []
    for j in range(2):
        m = onp.zeros((2, 2))
        m[:, j] = 1
        rows.append(backward_pass(new_box(m, 0, VJPNode.new_root()) if j else m, out._node))
    assert isinstance(rows[1], chainrule.Tensor) and isinstance(rows[0], onp.ndarray)
    onp.testing.assert_allclose(rows[0], 3 * x ** 2, rtol=1e-14)
    onp.testing.assert_allclose(rows[1]._value, onp.column_stack([onp.cos(x[:, 0]) * x[:, 1], onp.sin(x[:, 0])]),
                                rtol=1e-14)
    with pytest.raises(NotImplementedError, match="reverse mode only.*make_jvp"):
        new_box(x, 0, JVPNode.new_root())
    with pytest.raises(TypeError, match="_node of a value computed from new_box"):
        backward_pass(1.0, None)
    with pytest.raises(ValueError, match="not computed from a value that new_box made"):
        backward_pass(1.0, cnp.sum(chainrule.tensor([1.0], requires_grad=True) ** 2)._node)


def eigh_primitive(ag, np, ext):
    """A primitive returning NumPy's ``eigh`` result as it is, a namedtuple (legume's): its
    outputs are taken apart as a tuple's, and its vjp gets an ``EighResult`` of cotangents,
    zeros for the output not used, as autograd hands it."""
    seen = []

    @ext.primitive
    def eigh(m):
        return onp.linalg.eigh(m)

    def vjp_maker(ans, m):
        w, v = ans

        def vjp(g):
            seen.append(type(g).__name__)
            gw, gv = g
            return v @ onp.diag(gw) @ v.T + 0.5 * (gv @ v.T + v @ gv.T)
        return vjp

    ext.defvjp(eigh, vjp_maker)
    a = onp.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 3.0]])
    g1 = ag.grad(lambda m: np.sum(eigh(m)[0] ** 2))(a)
    g2 = ag.grad(lambda m: np.sum(eigh(m)[1][:, 0] ** 2) + eigh(m)[0][2])(a)
    w, v = eigh(a)
    return g1, g2, seen


def test_primitive_returning_a_namedtuple_agrees():
    ours = eigh_primitive(chainrule, cnp, chainrule.extend)
    assert_same(eigh_primitive(pytest.importorskip("autograd"), pytest.importorskip("autograd.numpy"),
                               pytest.importorskip("autograd.extend")), ours)
    assert ours[2] == ["EighResult"] * 3
