"""``chainrule.numpy.linalg``: differentiable linear algebra.

Every function takes stacks of matrices (leading batch axes), as NumPy's do, and
differentiates in both modes, to any order: the rules are written with
:mod:`chainrule.numpy` itself. The formulas are the standard ones (M. Giles, "An
extended collection of matrix derivative results", 2008; I. Murray's note on the
Cholesky factor, arXiv:1602.07527; J. Townsend's notes on the SVD and the QR
decomposition), arranged as in JAX and HIPS autograd.

Conventions, the same as JAX's:

* ``eigh``, ``eigvalsh`` and ``cholesky`` read one triangle of their input (``UPLO``),
  as NumPy's do; their derivatives are those of the function of the *symmetrised* input
  ``(a + aᴴ) / 2`` (as JAX's, which symmetrises the input it computes with): symmetric,
  and right along every symmetric (Hermitian) change. Along a change of one triangle
  alone they differ from finite differences of the values, which see only the triangle
  read.
* The derivatives of eigenvectors and singular vectors exist where eigenvalues
  (singular values) are distinct; at repeated ones they are infinite or NaN, without an
  error. ``eig`` differentiates where the matrix is diagonalisable with distinct
  eigenvalues; eigenvectors keep NumPy's normalisation (unit norm, largest component
  real).
* ``svd(a, full_matrices=True)`` of a non-square ``a`` has an arbitrary basis for the
  complement of the singular vectors: forward mode refuses it (as JAX does), reverse
  mode accepts it when no gradient flows into those extra columns. Use
  ``full_matrices=False`` or ``compute_uv=False``. Likewise ``qr(a, mode="complete")``
  of a tall matrix.
* ``norm`` at zero, and ``inf``/``1``-norms at ties, take a subgradient: zero, or the
  average of the tied entries.
* Complex inputs: cotangents go through the transpose of the Jacobian (JAX's rule).
  Where no explicit complex formula is written, the vjp is obtained by transposing the
  jvp with reverse mode, which is exact.

The functions are grouped by job: :mod:`.solving` (inverses, solves, determinants),
:mod:`.decompositions`, :mod:`.norms`, :mod:`.least_squares` (pseudo-inverse, least squares) and
:mod:`.derived` (functions built from those); :mod:`.common` holds their shared helpers.
"""

# ruff: noqa: F401, F405  (this package's namespace is the functions of its modules)
from chainrule.numpy.dispatch import guarded
from chainrule.numpy.linalg import decompositions, derived, least_squares, norms, solving
from chainrule.numpy.linalg.common import LinAlgError, _la, linalg_op
from chainrule.numpy.linalg.decompositions import *  # noqa: F403

# the rules, by the names they had in one module (HIPS autograd's linalg has norm_vjp too)
from chainrule.numpy.linalg.decompositions import (
    cholesky_jvp,
    cholesky_vjp,
    eig_jvp,
    eigh_jvp,
    eigh_vjp,
    qr_jvp,
    qr_r_jvp,
    qr_r_vjp,
    qr_vjp,
    svd_jvp,
    svd_vjp,
    svdvals_jvp,
    svdvals_vjp,
)
from chainrule.numpy.linalg.derived import *  # noqa: F403
from chainrule.numpy.linalg.least_squares import *  # noqa: F403
from chainrule.numpy.linalg.least_squares import pinv_jvp, pinv_vjp
from chainrule.numpy.linalg.norms import *  # noqa: F403
from chainrule.numpy.linalg.norms import norm_jvp, norm_vjp
from chainrule.numpy.linalg.solving import *  # noqa: F403
from chainrule.numpy.linalg.solving import (
    slogdet_jvp,
    slogdet_vjp,
    solve_jvp_a,
    solve_jvp_b,
    solve_vjp_a,
    solve_vjp_b,
)
from chainrule.numpy.products import matmul
from chainrule.numpy.registry import MIRROR_OF

# NumPy's array-API linalg functions are their mirrors' wrappers (registered in .derived),
# which take a list that holds Tensors as the array it stands for
for _name in ("svdvals", "vector_norm", "matrix_norm", "matrix_transpose", "outer", "tensordot",
              "cross", "vecdot", "diagonal", "trace"):
    if getattr(_la, _name, None) in MIRROR_OF:
        globals()[_name] = MIRROR_OF[getattr(_la, _name)]
del _name

__all__ = [
    "LinAlgError", "matmul", *solving.__all__, *decompositions.__all__, *norms.__all__,
    *least_squares.__all__, *derived.__all__,
]


def __getattr__(name: str):
    try:
        value = getattr(_la, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy.linalg' has no attribute {name!r}") from None
    if callable(value) and not isinstance(value, type):
        value = guarded(value, f"linalg.{name}")
    globals()[name] = value
    return value
