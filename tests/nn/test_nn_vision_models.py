"""torchvision's models (resnet, mobilenet v2/v3, vgg, squeezenet, shufflenet v2,
densenet, convnext, vision transformer, efficientnet, swin transformer), their source trimmed to a few
channels and small images (tests/nn/vision_models_*.py), run as written with PyTorch and
with ``import torch`` read as ``import chainrule as torch``, from the same weights
(PyTorch's, copied over) on the same batch. In float64 the outputs, the loss, every
parameter's gradient, three SGD steps (momentum, Nesterov, weight decay) with BatchNorm
in training mode, the eval-mode outputs after them, the final weights and running
statistics must agree to ~1e-10; the modules' names (``named_modules``), the order
``model.apply`` visits them and the state_dict's keys, shapes and
metadata (the modules' versions) must be the same.
Nothing chainrule runs may warn."""

import re
import types
import warnings

import numpy as np
import pytest
from vision_models_a import FROZEN_BATCH_NORM, POST, PRE
from vision_models_a import PROGRAMS as _A
from vision_models_b import PROGRAMS as _B
from vision_models_c import PROGRAMS as _C
from vision_models_d import PROGRAMS as _D
from vision_models_d import SET_WEIGHT_DECAY

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROGRAMS = {**_A, **_B, **_C, **_D}
# the reference training script's parameter groups (norm layers and ViT's tokens apart)
PROGRAMS.update({f"{name}_weight_decay_groups": PROGRAMS[name] + SET_WEIGHT_DECAY
                 for name in ("resnet", "vision_transformer")})


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
    for key in ("modules", "apply", "state", "metadata"):
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


def _checkpoint_loaded(source: str, library: str, checkpoint: dict, x: np.ndarray):
    """``build_frozen()``/``build_legacy()`` of the program, given ``checkpoint`` by
    ``load_state_dict``: its output on ``x`` and the gradients of their sum."""
    namespace: dict = {"__name__": "program"}
    exec(compile(source if library == "torch" else _as_chainrule(source), f"<{library}>", "exec"), namespace)
    lib = torch if library == "torch" else cr
    model = namespace["build"]()
    report = model.load_state_dict({k: lib.tensor(v) for k, v in checkpoint.items()})
    out = model.eval()(lib.tensor(x))
    out.sum().backward()
    return out.detach().numpy(), {k: p.grad.numpy() for k, p in model.named_parameters()}, repr(report)


_FROZEN_RESNET = '''
def build():
    return ResNet(BasicBlock, [1, 1, 1, 1], num_classes=3, norm_layer=FrozenBatchNorm2d)
'''

_BATCH_NORM_RESNET = '''
def build():
    return ResNet(BasicBlock, [1, 1, 1, 1], num_classes=3)
'''

_LEGACY_VIT = '''
def build():
    return VisionTransformer(16, 4, num_layers=1, num_heads=2, hidden_dim=8, mlp_dim=12, num_classes=3)
'''


@pytest.mark.parametrize("case", ["frozen_batch_norm", "batch_norm_without_count", "legacy_mlp_block"])
def test_load_from_state_dict_overrides_rewrite_the_checkpoint(case):
    # torchvision's FrozenBatchNorm2d drops the BatchNorm2d checkpoint's num_batches_tracked,
    # and its MLPBlock renames an old checkpoint's linear_1/linear_2 keys, in
    # _load_from_state_dict overrides; BatchNorm's own takes a checkpoint saved before
    # num_batches_tracked existed (torchvision's first ResNet weights). The loaded models
    # must compute what PyTorch's do
    rng = np.random.default_rng(1)
    if case != "legacy_mlp_block":
        program = PRE + PROGRAMS["resnet"]
        source = PRE + PROGRAMS["resnet"] + FROZEN_BATCH_NORM + (
            _FROZEN_RESNET if case == "frozen_batch_norm" else _BATCH_NORM_RESNET)
        namespace: dict = {"__name__": "program"}
        exec(compile(program + "\nnet = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=3)\n", "<torch>", "exec"),
             namespace)
        trained = namespace["net"]
        trained(torch.tensor(rng.normal(size=(4, 3, 16, 16))))  # running statistics away from 0 and 1
        checkpoint = {k: v.detach().numpy().copy() for k, v in trained.state_dict().items()}
        assert any(k.endswith("num_batches_tracked") for k in checkpoint)
        if case == "batch_norm_without_count":
            checkpoint = {k: v for k, v in checkpoint.items() if not k.endswith("num_batches_tracked")}
        x = rng.normal(size=(2, 3, 16, 16))
    else:
        source = PRE + PROGRAMS["vision_transformer"].split("\nSIZE, NUM_CLASSES")[0] + _LEGACY_VIT
        namespace = {"__name__": "program"}
        exec(compile(source, "<torch>", "exec"), namespace)
        torch.manual_seed(0)
        fresh = namespace["build"]()
        torch.nn.init.normal_(fresh.heads.head.weight)  # zero as built: let the body show in the output
        checkpoint = {re.sub(r"mlp\.([03])\.", lambda m: f"mlp.linear_{int(m[1]) // 3 + 1}.", k):
                      v.detach().numpy().copy() for k, v in fresh.state_dict().items()}
        assert "encoder.layers.encoder_layer_0.mlp.linear_2.bias" in checkpoint
        x = rng.normal(size=(2, 3, 16, 16))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        expected, expected_grads, expected_report = _checkpoint_loaded(source, "torch", checkpoint, x)
    got, got_grads, got_report = _checkpoint_loaded(source, "chainrule", checkpoint, x)
    assert got_report == expected_report == "<All keys matched successfully>"
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert list(got_grads) == list(expected_grads)
    for key, grad in expected_grads.items():
        np.testing.assert_allclose(got_grads[key], grad, rtol=1e-9, atol=1e-11, err_msg=key)


def test_channels_last_model_gives_pytorchs_values():
    # the training scripts' model.to(memory_format=torch.channels_last) (a layout, the
    # values unchanged) on the trimmed MobileNetV2, inputs converted the same way
    source = PRE + PROGRAMS["mobilenet_v2"]
    outputs = {}
    for library in ("torch", "chainrule"):
        namespace: dict = {"__name__": "program"}
        exec(compile(source if library == "torch" else _as_chainrule(source), f"<{library}>", "exec"), namespace)
        lib = torch if library == "torch" else cr
        model = namespace["build"]()
        if library == "torch":
            weights = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
        else:
            model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
        assert model.to(memory_format=lib.channels_last) is model
        x = lib.tensor(np.random.default_rng(2).normal(size=(2, 3, 16, 16))).to(memory_format=lib.channels_last)
        outputs[library] = model.eval()(x).detach().numpy()
    np.testing.assert_allclose(outputs["chainrule"], outputs["torch"], rtol=1e-10, atol=1e-12)
