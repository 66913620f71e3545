"""torch._foreach_* (chainrule/numpy/torch_foreach.py) against PyTorch: polyak and EMA
updates of target networks as RL programs write them, and each operation's operand forms."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

rng = np.random.default_rng(3)
ARRAYS = [rng.normal(size=(3, 2)), rng.normal(size=4), np.abs(rng.normal(size=(2, 2))) + 0.5]


def _lists(lib, k: int = 3):
    return [[lib.tensor(a * (j + 1) + j) for a in ARRAYS] for j in range(k)]


def test_polyak_and_ema_updates_of_a_target_network_as_pytorch():
    out = []
    for lib in (torch, cr):
        target, online = (list(lib.nn.Linear(3, 2).double().parameters()) for _ in range(2))
        with lib.no_grad():
            for t, o, a in zip(target, online, (ARRAYS[0].T, ARRAYS[1][:2]), strict=True):
                t.copy_(lib.tensor(a))
                o.copy_(lib.tensor(-3 * a))
            assert lib._foreach_mul_(target, 1 - 0.05) is target
            lib._foreach_add_(target, online, alpha=0.05)
            lib._foreach_lerp_(target, online, 0.1)
            scaled = lib._foreach_mul(online, 0.5)
            lib._foreach_add_(target, scaled)
            lib._foreach_copy_(online, target)
        out.append([t.detach().numpy() for t in target + online] + [s.numpy() for s in scaled])
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-15)


@pytest.mark.parametrize("name, operands, kwargs", [
    ("add", (1.5,), {}), ("add", ("list",), {"alpha": 0.3}), ("add", ("scalars",), {}), ("sub", ("list",), {}),
    ("mul", ("tensor",), {}), ("mul", ("scalars",), {}), ("div", ("list",), {}), ("lerp", ("list", 0.25), {}),
    ("lerp", ("list", "list"), {}), ("addcmul", ("list", "list"), {"value": 0.5}),
    ("addcdiv", ("list", "list"), {"value": -2.0}), ("pow", (2.0,), {}), ("clamp_min", (0.5,), {}),
    ("clamp_max", ("list",), {}), ("neg", (), {}), ("abs", (), {}), ("sqrt", (), {}), ("exp", (), {}),
    ("maximum", ("list",), {}), ("minimum", ("list",), {}),
])
def test_each_foreach_operation_matches_pytorch(name, operands, kwargs):
    out = []
    for lib in (torch, cr):
        selves, first, second = _lists(lib)
        if name == "sqrt":
            selves = [t.abs() for t in selves]
        given = {"list": iter([first, second]), "scalars": [0.5, -1.0, 2.0], "tensor": lib.tensor(2.0)}
        args = [next(given["list"]) if op == "list" else given.get(op, op) if isinstance(op, str) else op
                for op in operands]
        results = getattr(lib, f"_foreach_{name}")(selves, *args, **kwargs)
        assert isinstance(results, tuple)
        if name not in ("maximum", "minimum"):
            getattr(lib, f"_foreach_{name}_")(selves, *args, **kwargs)
        out.append([r.numpy() for r in results] + [s.numpy() for s in selves])
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_zero_norm_and_lists_of_other_lengths_as_pytorch():
    for lib in (torch, cr):
        ts = _lists(lib, 1)[0]
        norms = lib._foreach_norm(ts)
        np.testing.assert_allclose([float(n) for n in norms], [np.linalg.norm(a) for a in ARRAYS], rtol=1e-14)
        assert lib._foreach_zero_(ts) is ts and all(not t.any() for t in ts)
        with pytest.raises(RuntimeError, match="Tensor lists must have the same number of tensors, got 3 and 2"):
            lib._foreach_add_(ts, ts[:2])
