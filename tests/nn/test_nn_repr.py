"""A printed model reads as PyTorch's: the repr of each layer (its extra_repr: the
arguments shown, their order, spelling and defaults left out) against torch.nn's."""

import inspect

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

LAYERS = [
    "Linear(4, 3)", "Linear(4, 3, bias=False)", "Bilinear(2, 3, 4)",
    "Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2)", "Conv1d(2, 4, 3, padding=1, padding_mode='reflect')",
    "Conv2d(3, 6, 5)", "Conv2d(3, 6, 5, padding='same', bias=False)", "Conv2d(3, 6, 5, padding='valid')",
    "Conv2d(3, 6, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2, groups=3)", "Conv3d(1, 2, 2)",
    "ConvTranspose2d(4, 2, 3)", "ConvTranspose2d(4, 2, 3, stride=2, output_padding=1, bias=False)",
    "ConvTranspose1d(4, 2, 3, dilation=2)",
    "MaxPool2d(2, 2)", "MaxPool2d((2, 3))", "MaxPool2d(3, stride=1, padding=1, ceil_mode=True)", "MaxPool1d(2)",
    "MaxPool3d(2, padding=1)", "AvgPool2d(3)", "AvgPool2d(2, stride=1, padding=1, ceil_mode=True)", "AvgPool1d(2)",
    "AvgPool3d(2, stride=1)", "AdaptiveAvgPool2d((1, 1))", "AdaptiveMaxPool1d(3)",
    "BatchNorm1d(10)", "BatchNorm2d(3, momentum=0.2, affine=False)", "BatchNorm1d(4, bias=False)",
    "LayerNorm(10)", "LayerNorm((2, 3), elementwise_affine=False)", "LayerNorm(4, bias=False)",
    "GroupNorm(2, 4)", "GroupNorm(2, 4, affine=False)", "InstanceNorm2d(3)", "InstanceNorm1d(3, affine=True)",
    "Embedding(10, 3, padding_idx=0)", "Embedding(5, 2, max_norm=1.0)", "EmbeddingBag(10, 3, mode='sum')",
    "LSTM(4, 8, num_layers=2, batch_first=True)", "GRU(3, 3)", "RNN(2, 3, nonlinearity='relu', bidirectional=True)",
    "LSTMCell(2, 3)", "GRUCell(2, 3, bias=False)",
    "Dropout(0.2)", "Dropout2d(0.5, inplace=True)", "AlphaDropout(0.1)", "Flatten()", "Flatten(0, 1)",
    "Unflatten(1, (2, 5))", "Identity()", "ReLU()", "ReLU(inplace=True)", "LeakyReLU(0.2)", "ELU(alpha=0.5)",
    "GELU()", "GELU(approximate='tanh')", "Softmax(dim=1)", "LogSoftmax(dim=-1)", "Softplus(beta=2)", "PReLU()",
    "PReLU(3, init=0.1)", "Hardtanh(-2.0, 2.0)", "Threshold(0.1, 20.0)", "SiLU()", "Tanh()", "Sigmoid()",
    "Upsample(scale_factor=2)", "Upsample(size=(4, 4), mode='bilinear')",
    "Upsample(scale_factor=(2, 3), mode='nearest')", "ZeroPad2d(1)", "ZeroPad2d((1, 0, 2, 0))", "ConstantPad1d(2, 3.5)",
    "ReflectionPad2d(2)", "ReplicationPad1d((1, 2))",
    "PixelShuffle(2)", "CrossEntropyLoss()", "MSELoss(reduction='sum')", "BCEWithLogitsLoss()",
    "MultiheadAttention(8, 2)", "TransformerEncoderLayer(8, 2, 16)", "CosineSimilarity()",
    "ModuleList([Linear(2, 2), Linear(2, 2), ReLU(), Linear(2, 2)])", "ModuleList([])",
    "TransformerEncoder(TransformerEncoderLayer(8, 2, 16), 3, enable_nested_tensor=False)",
]


@pytest.mark.parametrize("spec", LAYERS)
def test_repr_is_torch_s(spec):
    ours = eval(f"cr.nn.{spec}", {**vars(cr.nn), "cr": cr})
    theirs = eval(f"torch.nn.{spec}", {**vars(torch.nn), "torch": torch})
    assert repr(ours) == repr(theirs)


def test_every_layer_made_with_its_defaults_prints_as_torch_s():
    from chainrule.nn.module import Module

    differ = []
    for name in dir(cr.nn):
        cls = getattr(cr.nn, name)
        if not (isinstance(cls, type) and issubclass(cls, Module)) or not hasattr(torch.nn, name):
            continue
        for kwargs in ({}, {"inplace": True}):
            for args in ((), (2,), (2, 3), (0.5,)):
                try:
                    ours, theirs = cls(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
                except Exception:  # noqa: BLE001 (arguments this layer does not take, in either library)
                    continue
                if repr(ours) != repr(theirs):
                    differ.append((name, args, kwargs, repr(ours), repr(theirs)))
                break
    assert not differ


def test_a_printed_model_is_torch_s():
    for lib in (cr, torch):
        nn = lib.nn
        model = nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                              nn.Linear(6 * 14 * 14, 10), nn.BatchNorm1d(10), nn.Dropout(0.5))
        if lib is cr:
            ours = repr(model)
        else:
            assert ours == repr(model)


@pytest.mark.parametrize("spec", [
    "ELU(alpha=np.float64(0.5))", "Softplus(beta=np.float32(2.0))", "LeakyReLU(np.float64(0.2), True)",
    "Hardtanh(np.float64(-2.0), np.float64(2.0))", "ReLU(inplace=1)", "ELU(inplace=1)", "SiLU(np.True_)",
])
def test_options_given_as_numpy_scalars_or_integers_print_as_torch_s(spec):
    """The layers that call one function with their options show them as PyTorch's (its
    str of a number, not NumPy's repr), and take 1 and 0 for inplace, as PyTorch's."""
    ours = eval(f"cr.nn.{spec}", {**vars(cr.nn), "cr": cr, "np": np})
    theirs = eval(f"torch.nn.{spec}", {**vars(torch.nn), "torch": torch, "np": np})
    assert repr(ours) == repr(theirs)


def test_activation_constructors_take_torch_s_arguments():
    """Each activation layer's constructor has PyTorch's parameters (names, order, defaults),
    and one without inplace refuses it when made, as PyTorch's."""
    differ = []
    for name in cr.nn.activation.__all__:
        theirs = inspect.signature(getattr(torch.nn, name)).parameters
        if any(p.kind is p.VAR_POSITIONAL for p in theirs.values()):  # PyTorch's takes no options
            theirs = {}
        ours = inspect.signature(getattr(cr.nn, name)).parameters
        ours = {k: p for k, p in ours.items() if k not in ("rng", "device", "dtype")}  # chainrule's extras
        theirs = {k: p for k, p in theirs.items()
                  if k not in ("device", "dtype", "min_value", "max_value")}  # (Hardtanh's deprecated names)
        if [(k, p.default) for k, p in ours.items()] != [(k, p.default) for k, p in theirs.items()]:
            differ.append((name, list(ours), list(theirs)))
    assert not differ
    for lib in (cr, torch):
        with pytest.raises(TypeError):
            lib.nn.LogSigmoid(inplace=True)
        with pytest.raises(TypeError):
            lib.nn.Tanh(inplace=True)
