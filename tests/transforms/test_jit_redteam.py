"""cr.jit on programs written the way other libraries' users write them: each case is
called jitted and plain on several inputs that change between calls, and the results
must agree to the last bit (signed zeros, NaN positions, dtypes, Python types)."""

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import run_both

import chainrule as cr
import chainrule.numpy as cnp

SIGNED = [np.array([0.0, 1.0]), np.array([-0.0, 1.0]), np.array([-1.0, -0.0]),
          np.array([2.0, -3.0]), np.array([0.0, 1.0])]


# -- jacobians: the unit basis takes the same path jitted and plain -----------------------
@pytest.mark.parametrize("transform", [cr.jacfwd, cr.jacrev, cr.hessian])
@pytest.mark.parametrize("fun", [
    lambda a: a * a[0],
    lambda a: a[0] * a,
    lambda a: a * -cnp.abs(a),
    lambda a: a * np.array([-1.0, 2.0]),
    lambda a: a @ cnp.diag(a),
    lambda a: a @ cr.stop_gradient(cnp.outer(a, -a)),
    lambda a: cnp.reshape(a, (2, 1)) * a[1],
], ids=["a*a0", "a0*a", "a*-abs", "a*const", "a@diag", "a@outer", "reshape*a1"])
def test_jacobians_with_signed_zeros_match_the_plain_call(transform, fun):
    run_both(transform(fun), [(x,) for x in SIGNED])
