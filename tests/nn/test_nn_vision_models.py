"""torchvision's models (resnet, mobilenet v2/v3, vgg, squeezenet, shufflenet v2,
densenet, convnext, vision transformer, efficientnet), their source trimmed to a few
channels and small images (tests/nn/vision_models_*.py), run as written with PyTorch and
with ``import torch`` read as ``import chainrule as torch``, from the same weights
(PyTorch's, copied over) on the same batch. In float64 the outputs, the loss, every
parameter's gradient, three SGD steps (momentum, Nesterov, weight decay) with BatchNorm
in training mode, the eval-mode outputs after them, the final weights and running
statistics must agree to ~1e-10; the modules' names (``named_modules``), the order
``model.apply`` visits them and the state_dict's keys and shapes must be the same.
Nothing chainrule runs may warn."""

import re
import types
import warnings

import numpy as np
import pytest
from vision_models_a import POST, PRE
from vision_models_a import PROGRAMS as _A
from vision_models_b import PROGRAMS as _B
from vision_models_c import PROGRAMS as _C

import chainrule as cr

torch = pytest.importorskip("torch")

PROGRAMS = {**_A, **_B, **_C}


def _as_chainrule(source: str) -> str:
    source = re.sub(r"^(\s*)import torch$", r"\1import chainrule as torch", source, flags=re.M)
    source = re.sub(r"^(\s*)import torch\.([\w.]+) as (\w+)$", r"\1import chainrule.\2 as \3", source, flags=re.M)
    return re.sub(r"^(\s*)from torch(\.[\w.]+)? import", r"\1from chainrule\2 import", source, flags=re.M)


def _run(source: str, library: str, weights=None):
    namespace: dict = {"__name__": "program"}
    exec(compile(source if library == "torch" else _as_chainrule(source), f"<{library}>", "exec"), namespace)
    lib = torch if library == "torch" else cr
    if library != "torch":  # nothing of PyTorch's came in through an import left unread
        origins = {k: v.__name__ if isinstance(v, types.ModuleType) else getattr(v, "__module__", None) or ""
                   for k, v in namespace.items()}
        assert not [k for k, origin in origins.items() if origin.split(".")[0] == "torch"], origins
    lib.manual_seed(0)
    model = namespace["build"]()
    assert isinstance(model, lib.nn.Module)
    if weights is not None:
        model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    start = {k: np.array(v.detach().numpy()) for k, v in model.state_dict().items()}
    result = namespace["train"](model, namespace["data"](np.random.default_rng(0)))
    end = {k: np.array(v.detach().numpy()) for k, v in model.state_dict().items()}
    return start, result, end, repr(model)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_torchvision_model_gives_pytorchs_values(name):
    source = PRE + PROGRAMS[name] + POST
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)  # PyTorch's own, on its jit overloads
        weights, expected, expected_end, expected_repr = _run(source, "torch")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, got, got_end, got_repr = _run(source, "chainrule", weights)
    for key in ("modules", "apply", "state"):
        assert got[key] == expected[key], key
    assert got_repr == expected_repr
    np.testing.assert_allclose(got["output"].numpy(), expected["output"].numpy(), rtol=1e-10, atol=1e-12)
    assert list(got["grads"]) == list(expected["grads"])
    for key, grad in expected["grads"].items():
        np.testing.assert_allclose(got["grads"][key].numpy(), grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=key)
    np.testing.assert_allclose(got["losses"], expected["losses"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got["eval"].numpy(), expected["eval"].numpy(), rtol=1e-9, atol=1e-11)
    assert list(got_end) == list(expected_end)
    for key, value in expected_end.items():
        np.testing.assert_allclose(got_end[key], value, rtol=1e-9, atol=1e-11, err_msg=key)
