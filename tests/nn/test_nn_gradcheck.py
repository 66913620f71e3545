"""Every layer's derivatives against central finite differences (float64, both modes,
to second order), through the functional form and through the Modules as pytrees."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.nn import _ops

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape)


X = r(3, 4)
RUNNING_MEAN, RUNNING_VAR = r(3), rng.uniform(0.5, 2.0, 3)

# name: (function, arguments); every argument is differentiated
CASES = {
    "linear": (F.linear, (X, r(5, 4), r(5))),
    "linear_batched_3d": (F.linear, (r(2, 3, 4), r(5, 4), r(5))),
    "linear_vector_input": (F.linear, (r(4), r(5, 4), r(5))),
    "linear_no_bias": (lambda x, w: F.linear(x, w), (X, r(2, 4))),
    "relu": (F.relu, (X,)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), (X,)),
    "sigmoid": (F.sigmoid, (X,)),
    "tanh": (F.tanh, (X,)),
    "gelu": (F.gelu, (X,)),
    "gelu_tanh": (lambda x: F.gelu(x, "tanh"), (X,)),
    "silu": (F.silu, (X,)),
    "softplus_beta": (lambda x: F.softplus(x, beta=2.0), (X,)),
    "logsigmoid": (F.logsigmoid, (X,)),
    "softmax_axis0": (lambda x: F.softmax(x, 0), (X,)),
    "log_softmax": (lambda x: F.log_softmax(x, 1), (X,)),
    "conv2d_stride_padding": (
        lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
        (r(2, 3, 6, 5), r(4, 3, 3, 2), r(4)),
    ),
    "conv2d_dilation": (lambda x, w: F.conv2d(x, w, dilation=2, padding=2), (r(1, 2, 5, 5), r(2, 2, 3, 3))),
    "conv2d_same_unbatched": (lambda x, w: F.conv2d(x, w, padding="same"), (r(2, 4, 4), r(3, 2, 3, 3))),
    "max_pool2d_padded": (lambda x: F.max_pool2d(x, 2, 2, 1), (r(2, 2, 5, 5),)),
    "max_pool2d_overlapping": (lambda x: F.max_pool2d(x, 3, 1, 1), (r(1, 2, 4, 4),)),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1), (r(2, 2, 5, 5),)),
    "avg_pool2d_exclude_pad": (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), (r(2, 2, 5, 5),)),
    "batch_norm_train_2d": (
        lambda x, w, b: F.batch_norm(x, np.zeros(3), np.ones(3), w, b, training=True),
        (r(4, 3, 2, 2), r(3), r(3)),
    ),
    "batch_norm_eval": (
        lambda x, w, b: F.batch_norm(x, RUNNING_MEAN, RUNNING_VAR, w, b, training=False),
        (r(4, 3), r(3), r(3)),
    ),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), (X, r(4), r(4))),
    "layer_norm_2_axes": (lambda x: F.layer_norm(x, (2, 3)), (r(2, 2, 3),)),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), (r(2, 4, 3), r(4), r(4))),
    # the normalisation primitive's second output, 1/√(var + eps), alone and with the first
    "normalize_rstd": (lambda x: _ops.normalize(x, (-1,), 1e-3)[1], (X,)),
    "normalize_both": (lambda x: _ops.normalize(x, (-2, -1), 1e-3)[0] * _ops.normalize(x, (-2, -1), 1e-3)[1],
                       (r(2, 2, 3),)),
    # the padding row is a constant by definition (not the derivative), so finite differences
    # see it only when unused; its value and zero gradient are checked against PyTorch
    "embedding_padding_idx": (lambda w: F.embedding(np.array([[0, 2], [2, 0]]), w, padding_idx=1), (r(3, 4),)),
    "dropout": (lambda x: F.dropout(x, 0.5, rng=np.random.default_rng(3)), (X,)),
    "cross_entropy": (lambda x: F.cross_entropy(x, np.array([0, 3, 1])), (X,)),
    "cross_entropy_weight_ignore_smoothing": (
        lambda x: F.cross_entropy(
            x, np.array([0, -100, 1]), weight=np.array([1.0, 2.0, 0.5, 1.0]), label_smoothing=0.2
        ),
        (X,),
    ),
    "cross_entropy_probabilities": (
        lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
        (X, rng.dirichlet(np.ones(4), 3)),
    ),
    "cross_entropy_spatial_sum": (
        lambda x: F.cross_entropy(x, np.array([[0, 1], [2, 2]]), reduction="sum"),
        (r(2, 3, 2),),
    ),
    "nll_loss_none": (lambda x: F.nll_loss(x, np.array([0, 3, 1]), reduction="none"), (X,)),
    "mse_loss": (F.mse_loss, (X, r(3, 4))),
    "l1_loss": (lambda x: F.l1_loss(x, np.zeros((3, 4))), (X,)),
    "smooth_l1_loss": (lambda x: F.smooth_l1_loss(x, np.zeros((3, 4)), beta=0.7), (X,)),
    "binary_cross_entropy": (
        lambda p: F.binary_cross_entropy(p, np.array([0.0, 1.0, 0.3])),
        (rng.uniform(0.1, 0.9, 3),),
    ),
    "bce_with_logits_pos_weight": (
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=np.array([2.0, 1.0, 0.5])),
        (r(3), rng.uniform(0, 1, 3)),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_functional_gradients_match_finite_differences(name):
    f, args = CASES[name]
    assert cr.gradcheck(f, *args, order=2)


def test_gradcheck_catches_a_wrong_rule():
    # the check above is only meaningful if a wrong derivative fails it
    from chainrule.core.primitive import Primitive, def_jvps, def_vjps

    bad = Primitive(np.tanh, name="bad_tanh")
    def_vjps(bad, lambda g, ans, x: g * (1 - ans))
    def_jvps(bad, lambda t, ans, x: t * (1 - ans))
    with pytest.raises(cr.GradcheckError):
        cr.gradcheck(bad, X, order=1)


def _layers():
    f64 = np.float64
    return {
        "Linear": (nn.Linear(4, 3, dtype=f64, rng=1), r(2, 4)),
        "Conv2d": (nn.Conv2d(2, 3, 3, stride=1, padding=1, dtype=f64, rng=1), r(2, 2, 4, 4)),
        "BatchNorm1d": (nn.BatchNorm1d(4, dtype=f64), r(5, 4)),
        "BatchNorm2d": (nn.BatchNorm2d(2, dtype=f64), r(3, 2, 2, 2)),
        "LayerNorm": (nn.LayerNorm(4, dtype=f64), r(2, 4)),
        "MLP": (
            nn.Sequential(nn.Linear(4, 5, dtype=f64, rng=2), nn.GELU(), nn.Linear(5, 2, dtype=f64, rng=3)),
            r(3, 4),
        ),
        "CNN": (
            nn.Sequential(
                nn.Conv2d(1, 2, 3, padding=1, dtype=f64, rng=4), nn.SiLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(8, 2, dtype=f64, rng=5),
            ),
            r(2, 1, 4, 4),
        ),
    }


@pytest.mark.parametrize("name", ["Linear", "Conv2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "MLP", "CNN"])
def test_module_gradients_in_parameters_and_input(name):
    model, x = _layers()[name]
    # a Module is a pytree: gradcheck perturbs its parameters like any other argument
    assert cr.gradcheck(lambda m, x: m(x), model, x, order=2)


def test_batch_norm_in_eval_mode():
    # in eval mode the batch norm is affine in x: check that path as well
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    bn.running_mean._value[:] = RUNNING_MEAN
    bn.running_var._value[:] = RUNNING_VAR
    bn.eval()
    assert cr.gradcheck(lambda m, x: m(x), bn, r(4, 3), order=2)


@pytest.mark.parametrize("pick", [0, 1])
def test_normalize_batches_under_vmap(pick):
    x = r(3, 2, 4)

    def f(x):
        return _ops.normalize(x, (-1,), 1e-5)[pick]

    np.testing.assert_allclose(cr.vmap(f)(x), np.stack([f(e) for e in x]), rtol=1e-14)
    w = r(*f(x[0]).shape)
    grads = cr.vmap(cr.grad(lambda x: (f(x) * w).sum()))(x)
    np.testing.assert_allclose(grads, np.stack([cr.grad(lambda x: (f(x) * w).sum())(e) for e in x]), rtol=1e-12)
