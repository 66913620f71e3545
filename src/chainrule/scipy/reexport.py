"""SciPy's names without derivatives, re-exported by the mirror.

``chainrule.scipy`` is a drop-in for ``scipy``: a name that chainrule does not
differentiate is SciPy's own (``from chainrule.scipy.stats import dirichlet;
dirichlet.rvs(...)``, ``from chainrule.scipy.optimize import minimize``). Functions are
wrapped as the NumPy mirror wraps NumPy's (:func:`chainrule.numpy.dispatch.guarded`):
on plain arrays they are SciPy itself, handed a Tensor they raise an error naming the
function, never dropping its gradient silently. Distribution objects
(``scipy.stats.expon``) get the same guard on each method.

SciPy's submodules are imported only when first used (``scipy.stats`` and
``scipy.signal`` take about half a second each), and a SciPy submodule that chainrule
has no file for (``chainrule.scipy.optimize``, ``chainrule.scipy.sparse.linalg``) is
made on import by :class:`MirrorFinder`: a module that reads every name from SciPy's.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

import numpy as np

from chainrule.numpy.dispatch import guarded

__all__ = ["fallback", "GuardedObject", "MirrorFinder", "install_finder"]

_PREFIX = "chainrule.scipy."


def _guard(value, qualname: str):
    """``value`` as the mirror exports it: functions guarded, distributions proxied,
    SciPy's submodules as their mirrors."""
    if isinstance(value, types.ModuleType):
        if value.__name__.startswith("scipy."):
            return importlib.import_module("chainrule." + value.__name__)
        return value
    if isinstance(value, type):
        return value
    if isinstance(value, types.FunctionType | types.BuiltinFunctionType | types.MethodType
                  | np.ufunc):
        module, _, name = qualname.rpartition(".")
        return guarded(value, name, module)
    if _is_distribution(value):
        return GuardedObject(value, qualname)
    return value


def _is_distribution(value) -> bool:
    stats = sys.modules.get("scipy.stats")
    if stats is None:
        return False
    generic = (stats.rv_continuous, stats.rv_discrete)
    multi = getattr(sys.modules.get("scipy.stats._multivariate"), "multi_rv_generic", None)
    return isinstance(value, generic + ((multi,) if multi is not None else ()))


class GuardedObject:
    """A SciPy object (a distribution) whose methods refuse Tensors with a clear error.

    >>> import scipy.stats
    >>> expon = GuardedObject(scipy.stats.expon, "scipy.stats.expon")
    >>> float(expon.cdf(0.0))
    0.0
    """

    __slots__ = ("_wrapped", "_qualname")

    def __init__(self, wrapped, qualname: str):
        object.__setattr__(self, "_wrapped", wrapped)
        object.__setattr__(self, "_qualname", qualname)

    def __getattr__(self, name: str):
        return _guard(getattr(self._wrapped, name), f"{self._qualname}.{name}")

    def __call__(self, *args, **kwargs):
        return guarded(self._wrapped, self._qualname.rpartition(".")[2],
                       self._qualname.rpartition(".")[0])(*args, **kwargs)

    def __dir__(self):
        return dir(self._wrapped)

    def __repr__(self) -> str:
        return f"<{self._qualname} (SciPy's, not differentiable in chainrule)>"


def fallback(mirror_name: str, scipy_name: str, attribute: str | None = None):
    """A module ``__getattr__`` (and ``__dir__``) that reads missing names from SciPy.

    ``scipy_name`` is imported on first use; ``attribute`` names an object inside it
    whose attributes are read instead (``scipy.stats`` and ``"dirichlet"``).

    >>> getattr_, _ = fallback("chainrule.scipy.special", "scipy.special")
    >>> float(getattr_("comb")(5, 2))
    10.0
    """

    def source():
        obj = importlib.import_module(scipy_name)
        return getattr(obj, attribute) if attribute else obj

    qualname = f"{scipy_name}.{attribute}" if attribute else scipy_name
    mirror = sys.modules.get(mirror_name)
    if mirror is not None and attribute is None and not hasattr(mirror, "__path__"):
        found = importlib.util.find_spec(scipy_name)
        if found is not None and found.submodule_search_locations is not None:
            # a package in SciPy (scipy.signal.windows): the mirror's submodules are
            # made by MirrorFinder, so the mirror module is a package too
            mirror.__path__ = []

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(f"module {mirror_name!r} has no attribute {name!r}")
        try:
            value = getattr(source(), name)
        except AttributeError:
            raise AttributeError(
                f"module {mirror_name!r} has no attribute {name!r} (nor has {qualname})"
            ) from None
        value = _guard(value, f"{qualname}.{name}")
        mirror = sys.modules.get(mirror_name)
        if mirror is not None:
            setattr(mirror, name, value)  # found once, then an ordinary attribute
        return value

    def __dir__():
        mirror = sys.modules.get(mirror_name)
        own = set(vars(mirror)) if mirror is not None else set()
        return sorted(own | {n for n in dir(source()) if not n.startswith("_")})

    return __getattr__, __dir__


class _MirrorLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        scipy_name = "scipy." + module.__name__[len(_PREFIX):]
        target = importlib.import_module(scipy_name)
        module.__doc__ = (
            f"``{module.__name__}``: SciPy's ``{scipy_name}``, re-exported. Its functions "
            "work on plain arrays and raise an error naming themselves on a Tensor: none of "
            "them is differentiated by chainrule."
        )
        module.__getattr__, module.__dir__ = fallback(module.__name__, scipy_name)
        module.__all__ = list(getattr(target, "__all__", ()))


class MirrorFinder(importlib.abc.MetaPathFinder):
    """Finds ``chainrule.scipy.X`` where chainrule has no file and SciPy has ``scipy.X``.

    It sits at the end of ``sys.meta_path``, so chainrule's own modules (``special``,
    ``stats``, ``linalg``, ...) are always found first.
    """

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(_PREFIX):
            return None
        scipy_name = "scipy." + fullname[len(_PREFIX):]
        try:
            found = importlib.util.find_spec(scipy_name)
        except (ImportError, ValueError):
            return None
        if found is None:
            return None
        return importlib.machinery.ModuleSpec(
            fullname, _MirrorLoader(), is_package=found.submodule_search_locations is not None
        )


def install_finder() -> None:
    """Put one :class:`MirrorFinder` at the end of ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, MirrorFinder) for f in sys.meta_path):
        sys.meta_path.append(MirrorFinder())
