"""chainrule: exact derivatives of NumPy code by the chain rule.

Reverse mode (backpropagation) and forward mode, to any order, on ordinary NumPy code
written with ``chainrule.numpy``; and a PyTorch-like training layer (``nn``, ``optim``,
``data``) on the same engine.

>>> import chainrule as cr, chainrule.numpy as cnp
>>> print(cr.grad(lambda x: cnp.tanh(x) ** 2)(0.0))
0.0
"""

# ruff: noqa: I001  (the core must be imported before the numpy mirror that builds on it)
import functools as _functools
import importlib as _importlib
import math as _math
import sys as _sys
import types as _types

from chainrule.core.tensor import Tensor
from chainrule.core.eager import (
    enable_grad,
    get_default_dtype,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_default_dtype,
    set_grad_enabled,
    tensor,
)
from chainrule.core.anomaly import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled
from chainrule.core.primitive import Primitive
from chainrule.core.user_primitive import defjvp, defvjp, primitive
from chainrule.core.pytree import (
    register_pytree_node,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_unflatten,
)
import chainrule.numpy as numpy
from chainrule.transforms.reverse import (
    elementwise_grad,
    grad,
    grad_and_aux,
    holomorphic_grad,
    make_vjp,
    value_and_grad,
    vjp,
)
from chainrule.transforms.forward import deriv, jvp, linearize, make_jvp
from chainrule.transforms.gradcheck import GradcheckError, gradcheck
from chainrule.transforms.jacobian import (
    hessian,
    hessian_tensor_product,
    hessian_vector_product,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    make_ggnvp,
    make_hvp,
    tensor_jacobian_product,
    vector_jacobian_product,
)
from chainrule.transforms.custom import (
    checkpoint, checkpoint_policies, custom_gradient, custom_jvp, custom_vjp, remat, stop_gradient,
)
from chainrule.transforms.eval_shape import ShapeDtypeStruct, eval_shape
from chainrule.transforms.jit import jit
from chainrule.transforms.vmap import vmap
from chainrule.differential_operators import grad_named, make_jvp_reversemode, multigrad_dict
# HIPS autograd exports these at the top level; Python's own tuple/list/dict, and an
# isinstance/type that look through a Tensor (not in __all__: a star import keeps Python's)
from chainrule.builtins import dict, isinstance, list, tuple, type  # noqa: F401, A004
from chainrule import viz
from chainrule import autograd, data, flatten_util, func, jax_nn, lax, multiprocessing, nn, optim, random
from chainrule import custom_derivatives, tree, tree_util
# PyTorch's module paths, torch.nn.parallel and torch.utils.data.distributed (imported here,
# where nn, data and distributed are all loaded: each of them imports one of the others)
from chainrule.data import distributed as _data_distributed  # noqa: F401
from chainrule.nn import parallel as _nn_parallel  # noqa: F401
from chainrule import utils
from chainrule.io import load, save
from chainrule.core.rng import manual_seed
from chainrule.numpy.shape.updates import at
from chainrule.numpy.torch_creation import (
    arange, cat, concat, empty, empty_like, eye, from_numpy, full, full_like, linspace, logspace, ones, ones_like, rand,
    normal, rand_like, randint, randn, randn_like, randperm, stack, zeros, zeros_like, memory_format,
    preserve_format, contiguous_format, channels_last, channels_last_3d, tril_indices, triu_indices,
)

from chainrule.numpy.torch_creation import DTYPES as _DTYPES, dtype, finfo, iinfo, is_tensor
from chainrule.numpy.torch_legacy import (
    BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor,
    set_default_tensor_type, spmm,
)
from chainrule.numpy import torch_functions as _torch_functions
from chainrule.numpy import torch_extra as _torch_extra
from chainrule.numpy import torch_foreach as _torch_foreach
from chainrule.numpy import torch_spectral as _torch_spectral
from chainrule.numpy.torch_runtime import (
    Generator, Size, accelerator, are_deterministic_algorithms_enabled, backends, compile, compiler, cuda, device,
    get_default_device, get_float32_matmul_precision, get_num_threads, set_default_device,
    set_printoptions,
    set_float32_matmul_precision, set_num_threads, use_deterministic_algorithms,
)
from chainrule.core.rng import get_rng_state, initial_seed, seed, set_rng_state
from chainrule.core.dtypes import bfloat16
from chainrule import amp, profiler, testing, torch_version, version
# torch.__version__: PyTorch's release that the mirror follows, chainrule's own as its local part
from chainrule.version import __version__
from chainrule.amp import autocast, is_autocast_enabled
from chainrule.numpy import torch_fft as fft, torch_linalg as linalg, torch_special_functions as special
from chainrule.numpy.torch_scripting import JIT_NAMES as _JIT_NAMES, fx, torch_assert as _assert  # noqa: F401

# torch.jit.is_scripting(), @torch.jit.unused, torch.jit.annotate(...): attributes of chainrule.jit
for _name, _value in _JIT_NAMES.items():
    setattr(jit, _name, _value)
# from torch.jit import Final, script: the import system finds chainrule.jit there
_sys.modules[__name__ + ".jit"] = jit

# torch.cuda.amp and torch.cpu.amp: the same autocast (for that device) and GradScaler
cuda.amp = _types.SimpleNamespace(autocast=_functools.partial(autocast, "cuda"), GradScaler=amp.GradScaler)
cpu = _types.SimpleNamespace(amp=_types.SimpleNamespace(autocast=_functools.partial(autocast, "cpu"),
                                                       GradScaler=amp.GradScaler))



__all__ = [
    "Tensor", "tensor", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "set_default_dtype", "get_default_dtype", "detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
    "Primitive", "primitive", "defvjp", "defjvp",
    "register_pytree_node", "tree_flatten", "tree_unflatten", "tree_map", "tree_leaves",
    "numpy",
    "grad", "value_and_grad", "grad_and_aux", "elementwise_grad", "holomorphic_grad",
    "vjp", "make_vjp", "tensor_jacobian_product",
    "jvp", "make_jvp", "linearize", "deriv",
    "jacobian", "jacrev", "jacfwd", "hessian", "hvp", "hessian_vector_product",
    "hessian_tensor_product", "make_hvp", "make_ggnvp",
    "vector_jacobian_product", "make_jvp_reversemode", "grad_named", "multigrad_dict",
    "custom_vjp", "custom_jvp", "custom_gradient", "checkpoint", "remat", "checkpoint_policies",
    "stop_gradient", "jit", "vmap", "at", "eval_shape", "ShapeDtypeStruct",
    "gradcheck", "GradcheckError",
    "viz", "autograd", "data", "flatten_util", "func", "jax_nn", "lax", "multiprocessing", "nn", "optim", "random",
    "tree", "tree_util", "utils", "custom_derivatives",
    "save", "load", "manual_seed", "inference_mode", "is_inference_mode_enabled",
    # PyTorch's creation and joining functions, making eager Tensors
    "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like",
    "arange", "linspace", "logspace", "tril_indices", "triu_indices", "eye", "randn", "normal", "rand", "randint",
    "randperm", "randn_like",
    "rand_like",
    "from_numpy", "cat", "concat", "stack", "memory_format", "preserve_format", "contiguous_format",
    "channels_last", "channels_last_3d", "dtype", "finfo", "iinfo", "is_tensor",
    # PyTorch's runtime queries: the CPU, and a seeded generator
    "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
    "ByteTensor", "BoolTensor", "set_default_tensor_type", "spmm",
    "Generator", "device", "cuda", "accelerator", "backends", "Size", "compile", "compiler",
    "set_num_threads", "get_num_threads", "set_float32_matmul_precision", "get_float32_matmul_precision",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled", "set_default_device",
    "get_default_device", "set_printoptions", "get_rng_state", "set_rng_state", "initial_seed", "seed", "amp",
    "autocast", "is_autocast_enabled",
    "testing", "cpu", "bfloat16", "fx", "profiler", "__version__", "version", "torch_version",
    # PyTorch's function namespaces: torch.linalg, torch.fft, torch.special
    "linalg", "fft", "special",
]

# PyTorch's dtype names: cr.float32, cr.int64, cr.long, cr.bool, ... (NumPy dtypes), and
# PyTorch's functions of a tensor, cr.flatten(x, 1), cr.exp(x), cr.sum(x, dim=0), ... (not
# in __all__: sum, max, abs, all, ... would hide Python's in a star import). Set last:
# ``float``, ``sum`` and the like among them are not Python's inside this module.
globals().update(_DTYPES)
globals().update({name: getattr(_torch_functions, name) for name in _torch_functions.__all__})
globals().update({name: getattr(_torch_extra, name) for name in _torch_extra.__all__})
globals().update({name: getattr(_torch_foreach, name) for name in _torch_foreach.__all__})  # torch._foreach_*
globals().update({name: getattr(_torch_spectral, name) for name in _torch_spectral.__all__})
# PyTorch's constants, torch.pi, torch.e, torch.inf, torch.nan (Python floats, as there)
pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan
cosine_similarity, pairwise_distance, dropout = nn.functional.cosine_similarity, nn.functional.pairwise_distance, \
    nn.functional.dropout


# PyTorch's names for what chainrule does not have, with the way out (an AttributeError
# still, so that hasattr() answers as it should)
_NOT_HERE = {
    name: "chainrule has no sparse tensors; build the dense matrix, e.g. torch.zeros(n, m).index_put_((row, "
          "col), values, accumulate=True), and multiply it with @ (torch.spmm takes dense matrices), or gather "
          "and scatter along the edges with index_select and index_add_"
    for name in ("sparse", "sparse_coo_tensor", "sparse_csr_tensor", "sparse_csc_tensor", "sparse_bsr_tensor",
                 "sparse_compressed_tensor", "sparse_coo", "sparse_csr")
}


def __getattr__(name: str):
    # chainrule.distributions (torch.distributions) computes with SciPy's special
    # functions: loaded on first use, so that `import chainrule` needs NumPy alone
    if name == "distributions":
        return _importlib.import_module("chainrule.distributions")
    # `import autograd` loads autograd.extend too, and libraries reach it as
    # `autograd.extend.primitive` (geomstats): so does chainrule.extend, on first use
    if name == "extend":
        return _importlib.import_module("chainrule.extend")
    if name in _NOT_HERE:
        raise AttributeError(f"module 'chainrule' has no attribute {name!r}: {_NOT_HERE[name]}")
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
