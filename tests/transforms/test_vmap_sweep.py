"""``cr.vmap`` of every function that chainrule.numpy and jax.numpy (chainrule.scipy.special
and jax.scipy.special) both expose, table-driven (the engine is
tests/transforms/vmap_sweep.py): batch axes 0, 1, -1 and None, batches of 1 and 3, 0-d
examples, ``out_axes`` 1 and -1, float64 values that flip branches (signed zeros, ties,
NaN, infinities). The batched result must be chainrule's unbatched one, example by
example (bit for bit, sign of zero and NaN positions included), or the error JAX's
``vmap`` raises; vmap of grad and of jacfwd must be the per-example derivatives. The
differences kept on purpose are listed below with their reasons."""

import zlib

import numpy as np
import pytest
import scipy.special as sc
from tests.finite_differences import central_differences

pytest.importorskip("jax")

import vmap_sweep as sweep  # noqa: E402  (tests/transforms is on sys.path)

import chainrule as cr  # noqa: E402
import chainrule.scipy.special as csp  # noqa: E402


def _blas_zero(group, name, pattern, why):
    return name in ("dot", "inner") and why in ("vs loop: NaN positions", "vs loop: sign of zero")


def _batched_static(group, name, pattern, why):
    return why.startswith("vs JAX: raises BatchedValueError")


def _static_by_jit(group, name, pattern, why):
    return why.endswith("oracle ValueError") and why.startswith(("vs JAX: raises TypeError",
                                                                   "vs JAX: raises TensorTypeError"))


# Families of differences kept on purpose: name -> (reason, test of a disagreement)
KNOWN_FAMILIES = {
    "BLAS scaling by zero": ("NumPy's dot and inner of an array and a 0-d one scale by BLAS, which writes +0.0 "
                             "where the product is -0.0 or NaN (0 * inf); batched, they are products (JAX's "
                             "answer)", _blas_zero),
    "batched static argument": ("an axis, count, shape or order that is batched raises chainrule's BatchedValueError "
                                "(a TypeError, as JAX's ConcretizationTypeError) where JAX's jit refuses it as an "
                                "unhashable static argument (ValueError)", _batched_static),
    "value-dependent shape": ("a function whose output shape depends on the values (unique, nonzero, the set "
                              "operations) raises a TypeError asking for size=, as JAX's ConcretizationTypeError (and "
                              "a RuntimeError, as torch.func's); "
                              "JAX raises ValueError for some of them first", _static_by_jit),
}

# (group, name, pattern text) -> why chainrule's answer differs on purpose
KNOWN = {
    ("np", "median", "S@0 | n=3 special"): "NumPy's median of one element -0.0 is +0.0 (a mean); vmap keeps -0.0",
    ("np", "nanmedian", "S@0 | n=3 special"): "NumPy's median of one element -0.0 is +0.0 (a mean); vmap keeps -0.0",
}

# (group, name, pattern text): calls that disagreed and agree now
FIXED = [
    ("special", "zeta", "V@0 | n=3 special"), ("special", "zeta", "M@0 | n=3 smooth out_axes=1"),
    ("np", "tensordot", "M@0, V@None | n=3 special"), ("np", "tensordot", "Q@0, W@None | n=3 smooth"),
    ("np", "vdot", "M@0, 1 | n=3 special"), ("np", "vdot", "S@0, V@0 | n=3 special"),
    ("np", "convolve", "S@0, V@0 | n=3 special"), ("np", "poly", "V@0 | n=3 special"),
    ("np", "polymul", "S@0, V@0 | n=3 special"), ("np", "trapezoid", "V@None, M@1 | n=3 special"),
    ("np", "unwrap", "M@0, axis=0 | n=3 special"), ("np", "gradient", "V@0, V@0 | n=3 smooth out_axes=-1"),
    ("special", "exp1", "V@0 | n=3 special"), ("special", "sici", "M@0 | n=3 smooth out_axes=1"),
    ("special", "fresnel", "M@-1 | n=1 special out_axes=-1"), ("special", "comb", "M@0, V@None | n=3 special"),
    ("special", "wofz", "S@0 | n=3 special"), ("special", "poch", "V@-1, S@0 | n=3 special"),
    ("np", "histogram2d", "V@0, V@0 | n=3 smooth out_axes=-1"), ("np", "histogramdd", "M@-1 | n=1 special out_axes=-1"),
    ("np", "histogramdd", "Q@None, Q@0 | n=3 smooth"), ("np", "ix_", "V@0 | n=3 smooth"),
    ("np", "average", "B@0, V@None, S@0 | n=3 special"), ("np", "average", "M@1, V@None, V@0 | n=3 special"),
    ("np", "bincount", "V@None, M@1 | n=3 special"), ("np", "choose", "V@-1, S@0 | n=3 special"),
    ("np", "choose", "S@0, S@0 | n=1 smooth"), ("np", "full_like", "V@0, V@0, V@0 | n=3 smooth"),
    ("np", "isneginf", "S@0, S@0 | n=1 smooth"), ("np", "isposinf", "S@0, S@0 | n=1 smooth"),
    ("np", "nan_to_num", "V@-1, S@0 | n=3 special"), ("np", "poly", "Q@0 | n=3 smooth"),
    ("np", "polyder", "S@0 | n=3 special"), ("np", "polyder", "S@0 | n=1 smooth"),
    ("np", "polydiv", "Q@0, W@None | n=3 smooth"),
    ("np", "polyint", "S@0 | n=3 special"), ("np", "polyint", "S@0 | n=1 smooth"),
    ("np", "roll", "V@None, M@1 | n=3 special"),
    ("np", "roll", "S@0, V@0 | n=3 special"), ("np", "roll", "V@-1, S@0 | n=3 special"),
    ("np", "roll", "V@0, V@0 | n=3 smooth out_axes=-1"), ("np", "roll", "S@0, S@0 | n=1 smooth"),
    ("np", "roots", "S@0 | n=3 special"), ("np", "roots", "S@0 | n=1 smooth"),
    ("np", "tensordot", "B@0, V@None, S@0 | n=3 special"), ("np", "tensordot", "V@0, S@None, S@0 | n=3 smooth"),
    ("np", "vander", "V@0, S@None, S@0 | n=3 smooth"), ("special", "multigammaln", "M@0, -1 | n=3 smooth"),
]

# (group, name, pattern text): calls with disagreements not yet worked off, all of them on arguments
# that NumPy refuses (a float shift or index, a 0-d polynomial, out= given positionally, a dtype
# that is an array) where vmap raises another class than the loop or JAX, or answers
# (python tests/transforms/vmap_sweep.py FILE --values lists every disagreement of the table)
UNFIXED = {
    # SciPy's log_ndtr takes out= second (JAX's series_order): a Tensor there is written into
    ('special', 'log_ndtr', 'V@-1, S@0 | n=3 special'), ('special', 'log_ndtr', 'S@0, S@0 | n=1 smooth'),
}


def _known(row) -> bool:
    return tuple(row[:3]) in KNOWN or tuple(row[:3]) in UNFIXED or any(
        test(*row) for _, test in KNOWN_FAMILIES.values())


def _pattern(group, name, text):
    return next(p for p in sweep.patterns(group, name) if str(p) == text)


@pytest.mark.parametrize("case", FIXED, ids=[f"{g}.{n}:{t}" for g, n, t in FIXED])
def test_fixed_calls_agree(case):
    group, name, text = case
    assert sweep.check(group, name, _pattern(group, name, text), with_jax="all") is None


def _quarter(name: str, table: list) -> list:
    """Every fourth pattern of the table, which quarter depending on the name (the whole
    table takes four times as long: python tests/transforms/vmap_sweep.py FILE runs it)."""
    return table[zlib.crc32(name.encode()) % 4::4]


@pytest.mark.parametrize("group", sorted(sweep.NAMESPACES))
def test_sweep_agrees(group):
    """The calls of the table on the names of ``group`` agree, or differ as listed."""
    rows = sweep.sweep([(g, n) for g, n in sweep.names() if g == group], pick=_quarter, with_jax="values")
    assert [row for row in rows if not _known(row)] == []


def test_the_lists_name_what_both_libraries_have():
    for group, name, text in [*FIXED, *KNOWN, *UNFIXED]:
        assert _pattern(group, name, text)


def test_riemann_zeta_below_one_under_transforms():
    """zeta(x) without q is Riemann's, continued below x = 1 (SciPy's values), under vmap
    and grad too, not the Hurwitz form ζ(x, 1), which is NaN there."""
    x = np.array([-2.5, -0.5, 0.5, 2.0, 3.5])
    np.testing.assert_allclose(cr.vmap(csp.zeta)(x), sc.zeta(x), rtol=1e-14)
    slopes = cr.vmap(cr.grad(csp.zeta))(x)
    np.testing.assert_allclose(slopes, central_differences(lambda v: float(sc.zeta(v).sum()), x), rtol=1e-7)
