"""Checks from HIPS autograd's own test suite (its ``tests/`` folder), in autograd's
spelling, each run twice: as written, and with its import lines changed mechanically
from ``autograd`` to ``chainrule``. The numbers must agree to 1e-10. Where a check sits
on a point where the two libraries could disagree (a value exactly on a bound, ties), it
is also checked against a closed form, so that autograd is not the only witness.
"""

import numpy as onp
import pytest

import chainrule

pytest.importorskip("autograd")

from test_autograd_api import assert_same  # noqa: E402
from test_autograd_examples import run  # noqa: E402

CHECKS = {
    # test_numpy.py's test_array_creation: "will take ages if the complexity of array
    # creation is O(N)" (per element, that is: quadratic in all)
    "array_creation": """
import autograd.numpy as np
from autograd import grad
N = 300
def fun(x):
    arr = [x for i in range(N)]
    return np.sum(np.array(arr))
result = grad(fun)(1.0)
""",
    "concatenate_many": """
import autograd.numpy as np
from autograd import grad
N = 300
x = np.linspace(0.0, 1.0, N)
result = grad(lambda x: np.sum(np.concatenate([x[i:i + 1] * i for i in range(N)]) ** 2))(x)
""",
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_autograd_check_agrees(name):
    assert_same(run(CHECKS[name], "autograd"), run(CHECKS[name], "chainrule"))


@pytest.mark.parametrize("name, n, expected", [
    ("array_creation", 100000, lambda n: n),
    ("concatenate_many", 5000, lambda n: 2 * onp.linspace(0.0, 1.0, n) * onp.arange(n) ** 2),
])
def test_joining_many_values_takes_linear_time(name, n, expected):
    """autograd's N = 100000 (with chainrule alone: autograd takes seconds there). Each
    array's derivative is taken in one rule call for all of them; a rule call per array
    that handles all of them costs N² (minutes at this size)."""
    result = run(CHECKS[name].replace("N = 300", f"N = {n}"), "chainrule")
    onp.testing.assert_allclose(result, expected(n), rtol=1e-12)
