"""``torch.version``: the PyTorch release whose API chainrule mirrors, and chainrule's own.

``__version__`` (also ``chainrule.__version__``, so ``torch.__version__`` under ``import
chainrule as torch``) is ``'2.13.0+chainrule0.1.0'``: PyTorch 2.13's API, implemented by
chainrule 0.1.0; ``chainrule`` is chainrule's own release (``'0.1.0'``, as
``importlib.metadata.version('chainrule')``). ``cuda``, ``hip``, ``rocm`` and ``xpu`` are
None, as in a CPU build of PyTorch.
"""

from chainrule.torch_version import TorchVersion

__all__ = ["__version__", "chainrule", "torch", "cuda", "hip", "rocm", "xpu", "debug", "git_version"]

chainrule = "0.1.0"  # this package's release (pyproject.toml's version)
torch = "2.13.0"  # the PyTorch release whose API the mirror follows
__version__ = TorchVersion(f"{torch}+chainrule{chainrule}")
cuda = hip = rocm = xpu = None
debug = False
git_version = "Unknown"
