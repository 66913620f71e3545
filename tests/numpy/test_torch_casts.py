"""Casts in the middle of a float64 graph (``x.float()``, ``.to(float32)``, ``.half()``,
``astype``) against PyTorch: the gradient flowing back through a cast to a narrower dtype
is rounded to that dtype, as PyTorch's is, even where the next operation promotes back to
float64; values and gradients agree bit for bit."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

XS = np.array([0.1, 1.0 / 3, 2.7, -1.2345678901234, 1e-8])
WS = np.array([np.pi, -np.e, 1.0 / 7, 123.456789, 0.3])


def _f32(lib):
    return torch.float32 if lib is torch else np.float32


# name: program of (lib, x, w), x and w float64 leaves; returns the output
PROGRAMS = {
    "float_then_promoting_mul": lambda lib, x, w: x.float() * w,
    "to_float32_then_add_float64": lambda lib, x, w: (x * w).to(_f32(lib)) + w,
    "float_double_round_trip": lambda lib, x, w: (x.float().double() * (1 / 3)).exp() * w,
    "float_computation_then_double": lambda lib, x, w: (x.float().sin() * 3.3).double() * w,
    "half_then_promoting": lambda lib, x, w: x.half() * w,
    "type_as_float32": lambda lib, x, w: (x.type_as(lib.zeros(1, dtype=_f32(lib))) * 2.5).double() * w,
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_gradient_through_a_narrowing_cast_matches_torch(name):
    results = []
    for lib in (cr, torch):
        x = lib.tensor(XS.copy(), requires_grad=True)
        w = lib.tensor(WS.copy(), requires_grad=True)
        out = PROGRAMS[name](lib, x, w)
        (out * out).sum().backward()
        results.append((str(out.dtype).replace("torch.", ""), np.array(out.tolist()),
                        np.array(x.grad.tolist()), np.array(w.grad.tolist())))
    ours, theirs = results
    assert ours[0] == theirs[0]
    for a, b in zip(ours[1:], theirs[1:], strict=True):
        np.testing.assert_array_equal(a, b)


def test_functional_gradient_rounds_at_the_cast_too():
    f = lambda x: np.sum(x.astype(np.float32) * WS)  # noqa: E731
    g = cr.grad(f)(XS)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g, WS.astype(np.float32).astype(np.float64))
