"""Gradients of composite functions against PyTorch, where torch is installed."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

torch = pytest.importorskip("torch")

rng = np.random.default_rng(7)
A = rng.normal(size=(4, 3))
B = rng.normal(size=(3, 5))
S = rng.normal(size=(4, 4))
SPD = S @ S.T + 4 * np.eye(4)
V = rng.uniform(0.5, 1.5, size=(4, 3))

# name: (chainrule function, torch function, input); both take one float64 array
CASES = {
    "tanh_mlp": (lambda x: cnp.sum(cnp.tanh(x @ B) ** 2), lambda x: (torch.tanh(x @ torch.tensor(B)) ** 2).sum(), A),
    "softmax_xent": (
        lambda x: -cnp.sum(x[:, 0] - cnp.log(cnp.sum(cnp.exp(x), axis=1))),
        lambda x: -(x[:, 0] - torch.logsumexp(x, 1)).sum(), A),
    "logsumexp_stable": (
        lambda x: cnp.sum(
            cnp.max(x, axis=1) + cnp.log(cnp.sum(cnp.exp(x - cnp.max(x, axis=1, keepdims=True)), axis=1))
        ),
        lambda x: torch.logsumexp(x, 1).sum(), A),
    "norms": (lambda x: cnp.linalg.norm(x) + cnp.sum(cnp.sqrt(cnp.sum(x**2, axis=0))),
              lambda x: torch.linalg.norm(x) + torch.sqrt((x**2).sum(0)).sum(), A),
    "broadcast_ops": (lambda x: cnp.sum((x - cnp.mean(x, axis=0)) / (cnp.std(x, axis=0) + 1.0)),
                      lambda x: ((x - x.mean(0)) / (x.std(0, unbiased=False) + 1.0)).sum(), V),
    "power_and_log": (lambda x: cnp.sum(x**2.5 * cnp.log1p(x) - cnp.sqrt(x)),
                      lambda x: (x**2.5 * torch.log1p(x) - torch.sqrt(x)).sum(), V),
    "trig_mix": (lambda x: cnp.sum(cnp.sin(x) * cnp.cos(2 * x) + cnp.arctan(x) * cnp.sinh(x / 3)),
                 lambda x: (torch.sin(x) * torch.cos(2 * x) + torch.atan(x) * torch.sinh(x / 3)).sum(), A),
    "maximum_relu": (lambda x: cnp.sum(cnp.maximum(x, 0) ** 2 + cnp.abs(x)),
                     lambda x: (torch.clamp(x, min=0) ** 2 + x.abs()).sum(), A),
    "where_clip": (lambda x: cnp.sum(cnp.where(x > 0, x**3, cnp.clip(x, -0.5, 0.5))),
                   lambda x: torch.where(x > 0, x**3, torch.clamp(x, -0.5, 0.5)).sum(), A),
    "indexing": (lambda x: cnp.sum(x[1:, ::2] ** 2) + x[0, 1] * x[2, 2] + cnp.sum(x[[0, 0, 3]]),
                 lambda x: (x[1:, ::2] ** 2).sum() + x[0, 1] * x[2, 2] + x[[0, 0, 3]].sum(), A),
    "reshape_transpose": (lambda x: cnp.sum(cnp.reshape(x, (3, 4)).T @ cnp.reshape(x, (3, 4))),
                          lambda x: (x.reshape(3, 4).T @ x.reshape(3, 4)).sum(), A),
    "cumsum_prod": (lambda x: cnp.sum(cnp.cumsum(x, axis=1) * cnp.prod(x, axis=0)),
                    lambda x: (torch.cumsum(x, 1) * torch.prod(x, 0)).sum(), V),
    "var_mean": (lambda x: cnp.var(x) + cnp.sum(cnp.mean(x, axis=1) ** 2),
                 lambda x: x.var(unbiased=False) + (x.mean(1) ** 2).sum(), A),
    "concat_stack": (lambda x: cnp.sum(cnp.concatenate([x, x**2], axis=1) ** 2) + cnp.sum(cnp.stack([x, -x])[1] * x),
                     lambda x: (torch.cat([x, x**2], 1) ** 2).sum() + (torch.stack([x, -x])[1] * x).sum(), A),
    "einsum": (lambda x: cnp.einsum("ij,jk,ik->", x, B, x @ B),
               lambda x: torch.einsum("ij,jk,ik->", x, torch.tensor(B), x @ torch.tensor(B)), A),
    "solve_det": (lambda m: cnp.sum(cnp.linalg.solve(m, np.ones(4))) + cnp.linalg.det(m),
                  lambda m: torch.linalg.solve(m, torch.ones(4, dtype=torch.float64)).sum() + torch.linalg.det(m), SPD),
    "inv_slogdet": (lambda m: cnp.sum(cnp.linalg.inv(m)) + cnp.linalg.slogdet(m)[1],
                    lambda m: torch.linalg.inv(m).sum() + torch.linalg.slogdet(m)[1], SPD),
    "cholesky": (lambda m: cnp.sum(cnp.linalg.cholesky(m) ** 2 * np.tril(np.ones((4, 4)))),
                 lambda m: (torch.linalg.cholesky(m) ** 2).sum(), SPD),
    # torch takes the gradient of eigh as a function of the symmetrised input; chainrule,
    # of the triangle it reads (as autograd): symmetrise explicitly to compare
    "eigh_values": (lambda m: cnp.sum(cnp.linalg.eigh((m + m.T) / 2)[0] ** 2),
                    lambda m: (torch.linalg.eigvalsh(m) ** 2).sum(), SPD),
    "svd_values": (lambda m: cnp.sum(cnp.linalg.svd(m, compute_uv=False)),
                   lambda m: torch.linalg.svdvals(m).sum(), A),
    "kron_outer": (lambda x: cnp.sum(cnp.kron(x[:2, :2], x[2:, 1:]) * 3) + cnp.sum(cnp.outer(x[0], x[1])),
                   lambda x: (torch.kron(x[:2, :2], x[2:, 1:]) * 3).sum() + torch.outer(x[0], x[1]).sum(), A),
    "pad_roll_flip": (lambda x: cnp.sum(cnp.pad(x, 1) ** 2 * 2) + cnp.sum(cnp.roll(x, 1, axis=0) * cnp.flip(x, axis=1)),
                      lambda x: (torch.nn.functional.pad(x, (1, 1, 1, 1)) ** 2 * 2).sum()
                      + (torch.roll(x, 1, 0) * torch.flip(x, (1,))).sum(), A),
    "sort_values": (lambda x: cnp.sum(cnp.sort(x, axis=1) * np.arange(3.0)),
                    lambda x: (torch.sort(x, 1).values * torch.arange(3.0, dtype=torch.float64)).sum(), A),
    "fft_power": (lambda x: cnp.sum(cnp.abs(cnp.fft.rfft(x, axis=1)) ** 2),
                  lambda x: (torch.fft.rfft(x, dim=1).abs() ** 2).sum(), A),
    "tensordot_trace": (lambda x: cnp.tensordot(x, x, axes=([0], [0])).trace() + cnp.sum(cnp.diag(x @ x.T)),
                        lambda x: torch.tensordot(x, x, dims=([0], [0])).trace() + torch.diag(x @ x.T).sum(), A),
    "logaddexp_hypot": (lambda x: cnp.sum(cnp.logaddexp(x, 2 * x) + cnp.hypot(x, 1.0)),
                        lambda x: (torch.logaddexp(x, 2 * x) + torch.hypot(x, torch.ones_like(x))).sum(), A),
    "expm1_log": (lambda x: cnp.sum(cnp.expm1(x) * cnp.log(x) / x),
                  lambda x: (torch.expm1(x) * torch.log(x) / x).sum(), V),
    "matrix_power_pinv": (lambda m: cnp.sum(cnp.linalg.matrix_power(m, 3)) + cnp.sum(cnp.linalg.pinv(m)),
                          lambda m: torch.linalg.matrix_power(m, 3).sum() + torch.linalg.pinv(m).sum(), SPD / 4),
    "qr_r": (lambda m: cnp.sum(cnp.abs(cnp.linalg.qr(m)[1]) ** 2),
             lambda m: (torch.linalg.qr(m)[1].abs() ** 2).sum(), A),
    "cross_product": (lambda x: cnp.sum(cnp.cross(x[:2], x[2:]) ** 2),
                      lambda x: (torch.linalg.cross(x[:2], x[2:]) ** 2).sum(), A),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_torch(name):
    f_cr, f_torch, x = CASES[name]
    g_cr = cr.grad(f_cr)(x)
    xt = torch.tensor(x, requires_grad=True)
    f_torch(xt).backward()
    assert np.allclose(g_cr, xt.grad.numpy(), rtol=1e-9, atol=1e-11), name
