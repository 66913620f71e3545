"""PyTorch's runtime queries, answered for a library that computes on the CPU: the
``device = "cuda" if torch.cuda.is_available() else "cpu"`` line at the top of most
training scripts (and ``torch.accelerator``'s and ``torch.backends.mps``'s forms of it)
picks the CPU, ``torch.device(...)`` names a device (moving a Tensor or a model to
another than the CPU is refused by ``.to``), and ``torch.Generator().manual_seed(s)``
is a seeded NumPy generator that every ``generator=`` argument takes.
"""

from __future__ import annotations

import contextlib
import os
import types
from collections.abc import Callable

import numpy as np

from chainrule.core.errors import TensorError
from chainrule.core.global_state import global_setting
from chainrule.core.rng import generator_state, restore_generator
from chainrule.core.tensor import PRINT_OPTIONS, Tensor
from chainrule.numpy.torch_common import Device
from chainrule.numpy.torch_common import TorchSize as Size

__all__ = ["Generator", "device", "cuda", "accelerator", "backends", "compile", "compiler", "set_num_threads",
           "get_num_threads", "set_float32_matmul_precision", "get_float32_matmul_precision",
           "use_deterministic_algorithms", "are_deterministic_algorithms_enabled", "set_default_device",
           "get_default_device", "Size", "set_printoptions", "get_printoptions"]


class Generator(np.random.Generator):
    """A NumPy generator with PyTorch's ``manual_seed`` (which returns it),
    ``initial_seed``, and ``get_state``/``set_state`` (its state as a uint8 Tensor, to
    resume a data order from a checkpoint), for ``generator=`` arguments (``random_split``,
    ``DataLoader``, ``randn``...). Its numbers are NumPy's, not PyTorch's.

    >>> import chainrule as cr
    >>> g = cr.Generator().manual_seed(42)
    >>> cr.randn(2, generator=g).tolist() == cr.randn(2, generator=cr.Generator().manual_seed(42)).tolist()
    True
    """

    def __init__(self, device: str = "cpu"):
        if str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"Generator(device={str(device)!r}): chainrule computes on the CPU only")
        seed = int(np.random.SeedSequence().entropy % 2**63)
        super().__init__(np.random.PCG64(seed))
        self._seed = seed

    def manual_seed(self, seed: int) -> Generator:
        self.bit_generator.state = np.random.PCG64(int(seed)).state
        self._seed = int(seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def seed(self) -> int:
        return self.manual_seed(int(np.random.SeedSequence().entropy % 2**63)).initial_seed()

    def get_state(self) -> Tensor:
        """The generator's state, a uint8 Tensor that :meth:`set_state` restores."""
        return generator_state(self, self._seed)

    def set_state(self, new_state) -> Generator:
        """Restore the state and initial seed :meth:`get_state` returned; returns the
        generator, as PyTorch's."""
        seed = restore_generator(self, new_state, "Generator.set_state")
        if seed is not None:
            self._seed = seed
        return self


def device(type: str | Device = "cpu", index: int | None = None) -> Device:
    """``torch.device('cpu')`` (or ``'cuda'``, ``'cuda:0'``, ``('cuda', 0)``): the device's name
    with ``.type``; only the CPU computes here.

    >>> import chainrule as cr
    >>> cr.device("cuda" if cr.cuda.is_available() else "cpu").type
    'cpu'
    """
    name = str(type) if index is None else f"{type}:{index}"
    return Device(name)


def _false() -> bool:
    return False


def _zero() -> int:
    return 0


def _nothing(*args, **kwargs) -> None:
    return None


cuda = types.SimpleNamespace(
    is_available=_false, device_count=_zero, manual_seed=_nothing, manual_seed_all=_nothing,
    synchronize=_nothing, empty_cache=_nothing, is_bf16_supported=_false,
)
accelerator = types.SimpleNamespace(is_available=_false, current_accelerator=_nothing, device_count=_zero)
def _true() -> bool:
    return True


@contextlib.contextmanager
def _any_kernel(*args, **kwargs):
    """A choice of CUDA attention kernels (``torch.backends.cuda.sdp_kernel(enable_flash=False)``)
    or of cuDNN's settings (``torch.backends.cudnn.flags(enabled=False)``): there is one
    computation here, so the block runs as it is."""
    yield


def _as_is(fn: Callable | None = None, recursive: bool = True):
    """``torch.compiler.disable``, as a decorator with or without arguments: nothing is
    compiled here, so the function runs as it is."""
    return (lambda f: f) if fn is None else fn


_MHA_FASTPATH = {"enabled": True}


def mha_fastpath_enabled() -> bool:
    """``torch.backends.mha.get_fastpath_enabled()``: whether ``nn.MultiheadAttention`` and
    ``nn.TransformerEncoderLayer``/``TransformerEncoder`` compute as PyTorch's inference fast
    path where its conditions hold (a query whose keys are all masked gets NaN; the encoder
    skips the padding), as they do by default."""
    return _MHA_FASTPATH["enabled"]


def set_mha_fastpath_enabled(value: bool) -> None:
    """``torch.backends.mha.set_fastpath_enabled(value)``."""
    _MHA_FASTPATH["enabled"] = bool(value)


backends = types.SimpleNamespace(
    mha=types.SimpleNamespace(get_fastpath_enabled=mha_fastpath_enabled,
                              set_fastpath_enabled=set_mha_fastpath_enabled),
    mps=types.SimpleNamespace(is_available=_false, is_built=_false),
    cuda=types.SimpleNamespace(is_built=_false, matmul=types.SimpleNamespace(allow_tf32=False),
                               sdp_kernel=_any_kernel, enable_flash_sdp=_nothing, enable_mem_efficient_sdp=_nothing,
                               enable_math_sdp=_nothing, flash_sdp_enabled=_false,
                               mem_efficient_sdp_enabled=_false, math_sdp_enabled=_true),
    cudnn=types.SimpleNamespace(is_available=_false, benchmark=False, deterministic=False, enabled=False,
                                flags=_any_kernel),
)


# torch.compiler.is_compiling() (True only inside a torch.compile trace), @torch.compiler.disable
compiler = types.SimpleNamespace(is_compiling=_false, is_dynamo_compiling=_false, disable=_as_is, reset=_nothing)


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend: str | Callable = "inductor", mode: str | None = None, options: dict | None = None,
            disable: bool = False):
    """PyTorch's ``torch.compile``, so that ``model = torch.compile(model)`` runs: it returns
    the module or function as it is (also as a decorator, with or without arguments).
    chainrule's eager layer runs it as written; the compiler of functional code is
    :func:`chainrule.jit`, which replays a traced step and checks it is the same call.

    >>> import chainrule as cr
    >>> layer = cr.nn.Linear(2, 1)
    >>> cr.compile(layer) is layer, cr.compile(mode="max-autotune")(layer) is layer
    (True, True)
    """
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise TypeError(f"compile: expected a module or a function, got {type(model).__name__}")
    return model


def _threadpoolctl():
    try:
        import threadpoolctl  # optional, installed with scikit-learn (the train extra)
    except ImportError:
        return None
    return threadpoolctl


def set_num_threads(n: int) -> None:
    """Set the number of BLAS threads (PyTorch's ``torch.set_num_threads``), through
    threadpoolctl (installed with scikit-learn, the ``train`` extra); NumPy's elementwise
    work is single-threaded either way.

    >>> import chainrule as cr
    >>> cr.set_num_threads(1); cr.get_num_threads()
    1
    """
    n = int(n)
    if n < 1:
        raise TensorError(f"set_num_threads: expected a positive number of threads, got {n}")
    tpc = _threadpoolctl()
    if tpc is None:
        raise ImportError("set_num_threads sets BLAS's threads through threadpoolctl: pip install threadpoolctl "
                          "(or set OPENBLAS_NUM_THREADS before starting Python)")
    _LIMITS.append(tpc.threadpool_limits(limits=n, user_api="blas"))


_LIMITS: list = []  # threadpoolctl limits in force (kept alive: they last as long as the process)


@global_setting(on_entry=False)
def get_num_threads() -> int:
    """The number of BLAS threads (threadpoolctl's count where it is installed, else
    what ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` ask for, else one per CPU, OpenBLAS's
    default)."""
    tpc = _threadpoolctl()
    if tpc is not None:
        counts = [info["num_threads"] for info in tpc.threadpool_info() if info.get("user_api") == "blas"]
        if counts:
            return int(counts[0])
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


_MATMUL_PRECISION = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    """PyTorch's ``torch.set_float32_matmul_precision``: ``"high"`` and ``"medium"`` allow
    lower-precision (TF32, bfloat16) products on GPUs that have them. On the CPU every
    float32 product is computed in full float32 precision, as PyTorch's CPU products are,
    whatever is set; the setting is kept for :func:`get_float32_matmul_precision`.

    >>> import chainrule as cr
    >>> cr.set_float32_matmul_precision("high"); cr.get_float32_matmul_precision()
    'high'
    >>> cr.set_float32_matmul_precision("highest")
    """
    if precision not in ("highest", "high", "medium"):
        raise TensorError(f"set_float32_matmul_precision: expected 'highest', 'high' or 'medium', got {precision!r}")
    _MATMUL_PRECISION[0] = precision


@global_setting
def get_float32_matmul_precision() -> str:
    return _MATMUL_PRECISION[0]


_DETERMINISTIC = [False]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """PyTorch's ``torch.use_deterministic_algorithms``: chainrule has no nondeterministic
    algorithms to turn off (a computation on the same inputs with the same BLAS threads
    gives the same bits), so the flag is only recorded."""
    _DETERMINISTIC[0] = bool(mode)


@global_setting
def are_deterministic_algorithms_enabled() -> bool:
    return _DETERMINISTIC[0]


def set_default_device(where) -> None:
    """PyTorch's ``torch.set_default_device``: only the CPU (or None) is taken."""
    if where is not None and str(where).split(":")[0] != "cpu":
        raise RuntimeError(f"set_default_device({str(where)!r}): chainrule computes on the CPU only")


def get_default_device() -> Device:
    return Device("cpu")


_PROFILES = {"default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
             "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
             "full": {"precision": 4, "threshold": float("inf"), "edgeitems": 3, "linewidth": 80}}


def set_printoptions(precision: int | None = None, threshold: float | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None, sci_mode: bool | None = None) -> None:
    """``torch.set_printoptions``: how a Tensor's repr shows its values from now on, with
    PyTorch's arguments and defaults (``profile`` 'default', 'short' or 'full' first, then
    the options given; ``sci_mode`` is always set: None lets the values decide). Until the
    first call a Tensor shows as NumPy shows its array.

    >>> import chainrule as cr
    >>> cr.set_printoptions(precision=2); cr.tensor([1.23456, 2.0])
    Tensor([1.23, 2.00])
    >>> cr.set_printoptions(profile="default")
    """
    if profile is not None and profile not in _PROFILES:
        raise TensorError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
    options = dict(PRINT_OPTIONS or _PROFILES["default"])
    options.update(_PROFILES.get(profile, {}))
    given = {"precision": precision, "threshold": threshold, "edgeitems": edgeitems, "linewidth": linewidth}
    options.update({k: v for k, v in given.items() if v is not None})
    options["sci_mode"] = sci_mode
    PRINT_OPTIONS.clear()
    PRINT_OPTIONS.update(options)


@global_setting
def get_printoptions() -> dict:
    """``torch.get_printoptions()``: the options :func:`set_printoptions` set, as a dict
    that it takes back (PyTorch's defaults before any call).

    >>> get_printoptions()["precision"]
    4
    """
    return dict(PRINT_OPTIONS or {**_PROFILES["default"], "sci_mode": None})
