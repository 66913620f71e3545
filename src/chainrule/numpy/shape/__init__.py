"""Shape changes and indexing: the functions that move values without changing them.

Most are linear, so their jvp is the function itself applied to the tangent, and their
vjp moves the cotangent back to where each value came from: a slice of the cotangent for
``concatenate``, a scatter (``np.add.at``, so repeated indices add up) for indexing.

A few primitives carry the rest: ``reshape``, ``transpose``, ``broadcast_to``,
indexing (``getitem`` and its adjoint ``scatter_add``), ``concatenate``/``stack`` and
``split``, ``flip``, ``roll``, ``diagonal``, ``pad``. The other functions (``moveaxis``,
``tile``, ``repeat``, ``rot90``, ``diff``, ``sort``, ``take_along_axis``, ...) are written
with them, so they differentiate to any order without rules of their own. Called on
plain values (no Tensor anywhere in the arguments), each public function is NumPy's own.

The functions are grouped by job: :mod:`.primitives` (the primitives and their rules, the
one place to read a shape rule), :mod:`.reshaping`, :mod:`.indexing`, :mod:`.joining`,
:mod:`.diagonals`, :mod:`.differences`, :mod:`.building`.
"""

# ruff: noqa: F401, F405  (this package's namespace is the functions of its modules)
from chainrule.numpy.shape.building import *  # noqa: F403
from chainrule.numpy.shape.diagonals import *  # noqa: F403
from chainrule.numpy.shape.differences import *  # noqa: F403
from chainrule.numpy.shape.indexing import *  # noqa: F403
from chainrule.numpy.shape.joining import *  # noqa: F403
from chainrule.numpy.shape.primitives import *  # noqa: F403
from chainrule.numpy.shape.primitives import AxisError, scatter_add, shape_op
from chainrule.numpy.shape.reshaping import *  # noqa: F403
from chainrule.numpy.shape.updates import *  # noqa: F403

__all__ = [
    "reshape", "ravel", "transpose", "permute_dims", "matrix_transpose", "moveaxis",
    "swapaxes", "rollaxis", "expand_dims", "squeeze", "broadcast_to", "broadcast_arrays",
    "atleast_1d", "atleast_2d", "atleast_3d",
    "concatenate", "concat", "stack", "hstack", "vstack", "dstack", "column_stack",
    "row_stack", "append", "insert", "block", "split", "array_split", "hsplit", "vsplit", "dsplit", "unstack",
    "tile", "repeat", "flip", "fliplr", "flipud", "roll", "rot90", "pad",
    "diag", "diagonal", "diagflat", "trace", "tril", "triu", "select", "diff", "ediff1d", "gradient", "unwrap",
    "getitem", "take", "take_along_axis", "compress", "extract", "delete",
    "sort", "sort_complex", "partition", "resize", "choose", "meshgrid",
    "put", "place", "putmask", "fill_diagonal",
    "array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray", "r_", "c_",
]
