"""PyTorch's runtime queries, answered for a library that computes on the CPU: the
``device = "cuda" if torch.cuda.is_available() else "cpu"`` line at the top of most
training scripts (and ``torch.accelerator``'s and ``torch.backends.mps``'s forms of it)
picks the CPU, ``torch.device(...)`` names a device (moving a Tensor or a model to
another than the CPU is refused by ``.to``), and ``torch.Generator().manual_seed(s)``
is a seeded NumPy generator that every ``generator=`` argument takes.
"""

from __future__ import annotations

import types

import numpy as np

from chainrule.numpy.torch_common import Device

__all__ = ["Generator", "device", "cuda", "accelerator", "backends"]


class Generator(np.random.Generator):
    """A NumPy generator with PyTorch's ``manual_seed`` (which returns it) and
    ``initial_seed``, for ``generator=`` arguments (``random_split``, ``DataLoader``,
    ``randn``...). Its numbers are NumPy's, not PyTorch's.

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
backends = types.SimpleNamespace(
    mps=types.SimpleNamespace(is_available=_false, is_built=_false),
    cuda=types.SimpleNamespace(is_built=_false, matmul=types.SimpleNamespace(allow_tf32=False)),
    cudnn=types.SimpleNamespace(is_available=_false, benchmark=False, deterministic=False, enabled=False),
)
