"""The comparison that the torch.func program tests share (test_func_api_sweep.py,
test_func_user_programs.py): a program written with ``L`` standing for the library, run
with torch and with chainrule."""

import numpy as np
import pytest

from test_torch_programs import _values


def assert_runs_as_torch(program, torch, chainrule, same_dtypes: bool = True) -> None:
    """``program(chainrule)`` gives ``program(torch)``'s values (to 1e-10, names exactly,
    dtypes too unless ``same_dtypes`` is False); where torch raises, chainrule must raise an
    exception of torch's class (code written for PyTorch catches it)."""
    try:
        theirs = program(torch)
    except Exception as error:  # noqa: BLE001
        with pytest.raises(type(error)):
            program(chainrule)
        return
    a, b = _values(program(chainrule)), _values(theirs)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert np.shape(x) == np.shape(y)
        if x.dtype.kind in "USO":  # a name
            assert x.tolist() == y.tolist()
            continue
        if same_dtypes:
            assert x.dtype == y.dtype
        else:
            x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


def registry() -> tuple[dict, object]:
    """A dict of programs by name and the decorator that adds a program to it."""
    cases: dict = {}

    def case(program):
        cases[program.__name__] = program
        return program

    return cases, case


def T(L, a):
    """``a`` as a float64 Tensor of the library ``L``."""
    return L.tensor(a, dtype=L.float64)
