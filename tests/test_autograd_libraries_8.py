"""More programs built on HIPS autograd, run on chainrule unchanged (part 8).

Written in the style of opt_einsum's contractions under autograd (its backend named from the
first operand's class, each pairwise contraction a call of that module's
``tensordot(x, y, axes=...)``), hyperparameter gradients through autograd.misc.optimizers'
sgd, adam and rmsprop (Maclaurin et al.'s hypergrad: the optimizers' flatten and unflatten run
on values being differentiated), PennyLane's differentiable Hartree-Fock (Gaussian integrals
with the Boys function behind ``anp.where``, an SCF loop through ``eigh``), GRAPE quantum
control (propagators from ``eigh`` of complex Hermitian matrices) and Duvenaud et al.'s neural
fingerprints (graph convolutions over neighbour lists); their sources are in
autograd_library_programs_8.py. As in test_autograd_libraries_more.py, they run in a process
with autograd and in one with autograd resolved to chainrule, and the numbers must agree to
1e-10. The small tests below pin each piece that was missing.
"""

import numpy as onp
import pytest

import autograd_library_programs_8
import chainrule
import chainrule.numpy as cnp
from test_autograd_libraries import agree, needs
from test_autograd_libraries_more import RUNNER

ORDER = ["OPT_EINSUM", "HYPERGRAD", "HARTREE_FOCK", "GRAPE", "NEURAL_FINGERPRINT"]


@needs("autograd", "scipy", "opt_einsum")
def test_library_programs_agree():
    m = autograd_library_programs_8
    assert sorted(name for name in dir(m) if name.isupper()) == sorted(ORDER)
    agree(RUNNER.format(sources=[(name, getattr(m, name)) for name in ORDER]))


@needs("opt_einsum")
def test_opt_einsum_contracts_chainrule_arrays():
    """opt_einsum names the backend from the first operand's class's module, ``chainrule`` for
    a Tensor, and calls that module's ``tensordot(x, y, axes=...)``: chainrule's top-level
    tensordot is PyTorch's (``dims``) and refused the keyword, so a contraction of eager
    Tensors, and any contraction inside grad, failed. Checked against NumPy's einsum and the
    closed-form gradient of a ring trace tr(A B C)."""
    oe = pytest.importorskip("opt_einsum")
    rs = onp.random.RandomState(0)
    a, b, c = rs.randn(3, 4), rs.randn(4, 5), rs.randn(5, 3)
    eager = oe.contract("ij,jk,kl->il", chainrule.tensor(a), chainrule.tensor(b), c)
    onp.testing.assert_allclose(onp.asarray(eager), a @ b @ c, rtol=1e-12)
    g = chainrule.grad(lambda x: oe.contract("ij,jk,ki->", x, b, c))(a)
    onp.testing.assert_allclose(g, (b @ c).T, rtol=1e-12)
    onp.testing.assert_allclose(onp.asarray(chainrule.tensordot(cnp.ones((2, 3)), onp.ones((3, 4)), axes=([1], [0]))),
                                onp.full((2, 4), 3.0))


@needs("autograd")
def test_a_boolean_array_is_refused_with_the_conversion_to_make():
    """autograd differentiates a boolean array as if it held 0.0 and 1.0; chainrule refuses
    it (docs/autograd.md, Integer inputs) with a TypeError naming the conversion, which
    then gives autograd's gradient."""
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    mask = onp.array([True, False, True])
    expected = autograd.grad(lambda m: anp.sum(anp.sin(m * 2.0)))(mask)
    with pytest.raises(TypeError, match=r"dtype bool.*astype\(float\)"):
        chainrule.grad(lambda m: cnp.sum(cnp.sin(m * 2.0)))(mask)
    onp.testing.assert_allclose(chainrule.grad(lambda m: cnp.sum(cnp.sin(m * 2.0)))(mask.astype(float)), expected,
                                rtol=1e-12)
