"""Programs written as torch.func users write them (per-sample gradients through buffers,
tied weights and ``has_aux``; ensembles of batch-normalised and dropout models; Jacobians
and Hessians over dicts of parameters; MAML's grad of grad; a neural ODE's sensitivities;
the NTK by jvp; DP-SGD's per-sample clipping; ``vmap``'s ``in_dims``/``out_dims`` on
pytrees; in-place changes of Tensors made inside the function), run with ``L`` standing
for torch and for chainrule on the same float64 inputs and weights: values and derivatives
must agree, and where torch.func raises, chainrule must raise an exception of torch's
class. Not repeated here: what ``test_func_api_sweep``, ``test_func`` and
``test_torch_func_tutorials`` run."""

import copy

import numpy as np
import pytest

import chainrule as cr
from torch_func_cases import T, assert_runs_as_torch, registry

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

rng = np.random.default_rng(0)
A, B = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
V, W = rng.normal(size=4), rng.normal(size=(4, 2))
X8 = rng.normal(size=(5, 4))
Y8 = np.array([0, 1, 2, 1, 0])
M3 = rng.normal(size=(3, 4, 4)) + 4 * np.eye(4)
X324 = rng.normal(size=(3, 2, 4))
CASES, case = registry()


def port(L, make):
    """``make(L)``, a module, in float64 with the weights of PyTorch's draw after seed 0."""
    torch.manual_seed(0)
    theirs = make(torch).double()
    if L is torch:
        return theirs
    ours = make(cr).double()
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours


def mlp_bn(L):
    return L.nn.Sequential(L.nn.Linear(4, 6), L.nn.BatchNorm1d(6), L.nn.ReLU(), L.nn.Linear(6, 3))


# per-sample gradients of a network whose batch norm is in eval mode: its buffers unbatched
@case
def per_sample_bn_eval(L):
    net = port(L, mlp_bn)
    net.train()
    net(T(L, X8 * 2 + 1))  # move the running stats
    net.eval()
    params = {k: v.detach() for k, v in net.named_parameters()}
    buffers = {k: v.detach() for k, v in net.named_buffers()}

    def loss(p, b, x, y):
        out = L.func.functional_call(net, (p, b), (x.unsqueeze(0),))
        return L.nn.functional.cross_entropy(out, y.unsqueeze(0))
    g = L.func.vmap(L.func.grad(loss), in_dims=(None, None, 0, 0))(params, buffers, T(L, X8), L.tensor(Y8))
    return g, buffers


# an ensemble of such networks, stacked buffers included, on one minibatch: in_dims=(0, 0, None)
@case
def ensemble_bn_eval(L):
    models = []
    for k in range(3):
        torch.manual_seed(k)
        m = port(L, mlp_bn)
        m.train()
        m(T(L, X8 * (k + 1)))
        m.eval()
        models.append(m)
    params, buffers = L.func.stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def f(p, b, x):
        return L.func.functional_call(base, (p, b), (x,))
    same = L.func.vmap(f, in_dims=(0, 0, None))(params, buffers, T(L, X8))
    loop = L.stack([m(T(L, X8)) for m in models])
    return same, loop, buffers


# an ensemble with dropout: randomness 'same', 'different', 'error' (refused); in eval mode no draw
@case
def ensemble_dropout_randomness(L):
    def make(L):
        return L.nn.Sequential(L.nn.Linear(4, 8), L.nn.Dropout(0.5), L.nn.Linear(8, 2))
    models = [port(L, make) for _ in range(3)]
    params, buffers = L.func.stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def f(p, b, x):
        return L.func.functional_call(base, (p, b), (x,))
    out = []
    for r in ("same", "different"):
        y = L.func.vmap(f, in_dims=(0, 0, None), randomness=r)(params, buffers, T(L, X8))
        out.append(tuple(y.shape))
    try:
        L.func.vmap(f, in_dims=(0, 0, None))(params, buffers, T(L, X8))
        out.append("no error")
    except RuntimeError:
        out.append("RuntimeError")
    # eval: no randomness needed
    base.eval()
    out.append(L.func.vmap(f, in_dims=(0, 0, None))(params, buffers, T(L, X8)))
    return out


# per-sample gradients with tied weights (an embedding and its output layer): one name given
@case
def per_sample_tied_weights(L):
    class Tied(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = L.nn.Embedding(5, 4)
            self.out = L.nn.Linear(4, 5, bias=False)
            self.out.weight = self.emb.weight

        def forward(self, idx):
            return self.out(self.emb(idx).tanh())
    net = Tied().double()
    names = sorted(k for k, _ in net.named_parameters())  # one name for the tied pair
    params = {"emb.weight": T(L, np.linspace(-1, 1, 20).reshape(5, 4))}  # replaces both

    def loss(p, i, y):
        logits = L.func.functional_call(net, p, (i.unsqueeze(0),))
        return L.nn.functional.cross_entropy(logits, y.unsqueeze(0))
    g = L.func.vmap(L.func.grad(loss), in_dims=(None, 0, 0))(params, L.tensor([0, 3, 4, 1]), L.tensor([1, 2, 0, 4]))
    return names, g


# vmap(grad(has_aux=True)): each example's loss and prediction come back as aux
@case
def per_sample_grad_has_aux(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(4, 5), L.nn.Tanh(), L.nn.Linear(5, 3)))
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss(p, x, y):
        out = L.func.functional_call(net, p, (x,))
        l = L.nn.functional.cross_entropy(out, y)
        return l, (l.detach(), out.argmax())
    g, (losses, preds) = L.func.vmap(L.func.grad(loss, has_aux=True), in_dims=(None, 0, 0))(
        params, T(L, X8), L.tensor(Y8))
    return g, losses, preds


# DP-SGD without the noise: per-sample gradients clipped to a norm, averaged, an SGD step
@case
def dp_sgd_clipping(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(4, 5), L.nn.Tanh(), L.nn.Linear(5, 3)))
    opt = L.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(3):
        params = {k: v.detach() for k, v in net.named_parameters()}

        def loss(p, x, y):
            return L.nn.functional.cross_entropy(L.func.functional_call(net, p, (x[None],)), y[None])
        g = L.func.vmap(L.func.grad(loss), in_dims=(None, 0, 0))(params, T(L, X8), L.tensor(Y8))
        norms = L.stack([v.flatten(1).norm(dim=1) for v in g.values()], dim=1).norm(dim=1)
        factor = (1.0 / (norms / 0.5).clamp(min=1.0))
        opt.zero_grad()
        for name, p in net.named_parameters():
            clipped = g[name] * factor.view(-1, *([1] * (g[name].dim() - 1)))
            p.grad = clipped.mean(0)
        opt.step()
    return [p.detach() for p in net.parameters()]


# Jacobians in a dict of parameters and the input at once (argnums tuple, chunk_size)
@case
def jacrev_dict_argnums(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(4, 3), L.nn.Tanh(), L.nn.Linear(3, 2)))
    params = {k: v.detach() for k, v in net.named_parameters()}

    def f(p, x):
        return L.func.functional_call(net, p, (x,))
    j = L.func.jacrev(f, argnums=(0, 1))(params, T(L, V))
    jc = L.func.jacrev(f, argnums=(0, 1), chunk_size=1)(params, T(L, V))
    jf = L.func.jacfwd(f, argnums=(0, 1))(params, T(L, V))
    return j, jc, jf


# the Hessian in a dict of parameters: a dict of dicts
@case
def hessian_dict_params(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(2, 3), L.nn.Tanh(), L.nn.Linear(3, 1)))
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss(p, x):
        return L.func.functional_call(net, p, (x,)).pow(2).sum()
    h = L.func.hessian(loss)(params, T(L, A[:, :2]))
    return {k: dict(v) for k, v in h.items()}


# each example's Hessian in its input, three ways
@case
def per_sample_input_hessian(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(4, 3), L.nn.Softplus(), L.nn.Linear(3, 1)))

    def f(x):
        return net(x).squeeze()
    return (L.func.vmap(L.func.hessian(f))(T(L, X8)),
            L.func.vmap(L.func.jacfwd(L.func.jacrev(f)))(T(L, X8)),
            L.func.vmap(L.func.jacrev(L.func.jacrev(f)))(T(L, X8)))


# out_dims mixing axes and None; in_dims on nested tuples and dicts
@case
def vmap_out_dims_mixed(L):
    w = T(L, W)

    def f(x, pair):
        a, b = pair
        return x @ w, (a * b).sum(), w.sum()
    return L.func.vmap(f, in_dims=(0, (0, None)), out_dims=(1, 0, None))(T(L, A), (T(L, B), T(L, V)))


@case
def vmap_nested_pytrees(L):
    def f(d):
        return d[0][0] * d[1]["k"].sum() + d[0][1]
    data = ((T(L, A), T(L, V)), {"k": T(L, B)})
    return (L.func.vmap(f, in_dims=(((0, None), {"k": 0}),))(data),
            L.func.vmap(L.func.vmap(f, in_dims=(((0, 0), {"k": None}),)), in_dims=(((1, None), {"k": 1}),))(
                ((T(L, A), T(L, V[:3])), {"k": T(L, B)})))


# in-place changes of Tensors made inside the mapped function from its argument
@case
def vmap_inplace_fresh(L):
    def f(x):
        y = L.zeros_like(x)
        y.add_(x)
        y.mul_(2).sub_(1)
        z = x.new_zeros(x.shape)
        z.copy_(x.exp())
        w = x.clone()
        w.clamp_(min=0)
        w[0].fill_(3.0)
        return y + z + w
    return L.func.vmap(f)(T(L, A)), L.func.grad(lambda x: L.func.vmap(f)(x).sum())(T(L, A))


# a batched value written into a Tensor made unbatched: refused
@case
def vmap_inplace_unsqueeze_index(L):
    def f(x):
        out = L.empty(2, 4, dtype=L.float64)  # unbatched fresh tensor fully overwritten by batched: error in torch
        out[0] = x
        return out
    return L.func.vmap(f)(T(L, A))


# linearize in a dict of parameters, against jvp
@case
def linearize_network(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(4, 3), L.nn.Tanh(), L.nn.Linear(3, 2)))
    params = {k: v.detach() for k, v in net.named_parameters()}

    def f(p):
        return L.func.functional_call(net, p, (T(L, A),))
    out, jvp_fn = L.func.linearize(f, params)
    tang = {k: L.ones_like(v) for k, v in params.items()}
    return out, jvp_fn(tang), L.func.jvp(f, (params,), (tang,))[1]


# vjp of a function returning a dict, pulled back from a dict of cotangents
@case
def vjp_dict_out(L):
    def f(p):
        return {"y": p["a"].sin() * p["b"], "z": (p["a"] ** 2).sum()}
    p = {"a": T(L, V), "b": T(L, V[::-1].copy())}
    out, fn = L.func.vjp(f, p)
    ct = {"y": T(L, A[0]), "z": T(L, 2.0)}
    return out, fn(ct)


# a functional training loop: grad_and_value in the parameters' dict, updated out of place
@case
def functional_training_loop(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(4, 5), L.nn.GELU(), L.nn.Linear(5, 1)))
    params = {k: v.detach() for k, v in net.named_parameters()}
    x, y = T(L, X8), T(L, X8[:, :1] ** 2)

    def loss(p):
        return L.nn.functional.mse_loss(L.func.functional_call(net, p, (x,)), y)
    losses = []
    for _ in range(4):
        g, value = L.func.grad_and_value(loss)(params)
        params = {k: v - 0.1 * g[k] for k, v in params.items()}
        losses.append(value)
    return losses, params


# MAML written with torch.func only: two inner steps by grad, the meta-gradient through both
@case
def maml_grad_of_grad(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(1, 8), L.nn.Tanh(), L.nn.Linear(8, 1)))
    params = {k: v.detach() for k, v in net.named_parameters()}
    xs = T(L, np.linspace(-2, 2, 12).reshape(3, 4, 1))
    ys = xs.sin() * T(L, [1.0, 2.0, 0.5]).view(3, 1, 1)

    def inner(p, x, y):
        return L.nn.functional.mse_loss(L.func.functional_call(net, p, (x,)), y)

    def outer(p, x, y):
        g = L.func.grad(inner)(p, x, y)
        fast = {k: p[k] - 0.3 * g[k] for k in p}
        g2 = L.func.grad(inner)(fast, x, y)
        fast = {k: fast[k] - 0.3 * g2[k] for k in p}
        return inner(fast, x * 0.5, y)

    def meta_loss(p):
        return L.func.vmap(outer, in_dims=(None, 0, 0))(p, xs, ys).mean()
    return L.func.grad_and_value(meta_loss)(params)


# a neural ODE by RK4 steps: sensitivities of the end state by vjp, jacrev and jacfwd
@case
def neural_ode_sensitivity(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(2, 6), L.nn.Tanh(), L.nn.Linear(6, 2)))
    params = {k: v.detach() for k, v in net.named_parameters()}

    def rhs(p, y):
        return L.func.functional_call(net, p, (y,))

    def odeint(p, y0, h=0.1, n=5):
        y = y0
        for _ in range(n):
            k1 = rhs(p, y)
            k2 = rhs(p, y + h / 2 * k1)
            k3 = rhs(p, y + h / 2 * k2)
            k4 = rhs(p, y + h * k3)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return y
    y0 = T(L, [0.5, -0.3])
    out, fn = L.func.vjp(odeint, params, y0)
    return (L.func.jacrev(odeint, argnums=1)(params, y0), fn(L.ones_like(out)),
            L.func.jacfwd(odeint, argnums=1)(params, y0),
            L.func.vmap(odeint, in_dims=(None, 0))(params, T(L, A[:, :2])))


# the empirical NTK of an MLP by per-example jacrev, and per-example jvps in the parameters
@case
def ntk_trace_vmap_jvp(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(4, 5), L.nn.Tanh(), L.nn.Linear(5, 2)))
    params = {k: v.detach() for k, v in net.named_parameters()}

    def fnet(p, x):
        return L.func.functional_call(net, p, (x.unsqueeze(0),)).squeeze(0)
    jac = L.func.vmap(L.func.jacrev(fnet), (None, 0))(params, T(L, X8))
    ntk = sum(L.einsum("Naf,Mbf->NMab", j.flatten(2), j.flatten(2)) for j in jac.values())
    # per-sample param-space jvp with the same tangent
    tang = {k: L.ones_like(v) for k, v in params.items()}
    jvps = L.func.vmap(lambda x: L.func.jvp(lambda p: fnet(p, x), (params,), (tang,))[1])(T(L, X8))
    return ntk, jvps


# vmap of a module itself (a layer norm inside), in_dims=1 and out_dims=1
@case
def vmap_module_directly(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(3, 4), L.nn.LayerNorm(4), L.nn.GELU(approximate="tanh")))
    return L.func.vmap(net, in_dims=1, out_dims=1)(T(L, np.arange(45.).reshape(3, 5, 3) / 40))




# each example's linear solve, differentiated in the matrix and the right-hand side
@case
def vmap_linalg_solve_grad(L):
    M = T(L, M3)

    def f(m, b):
        return L.linalg.solve(m, b).pow(2).sum()
    return L.func.vmap(L.func.grad(f, argnums=(0, 1)))(M, T(L, A))




# a gradient in a buffer given to functional_call
@case
def grad_wrt_buffer(L):
    def make(L):
        class Scale(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = L.nn.Linear(4, 2)
                self.register_buffer("scale", L.ones(2))

            def forward(self, x):
                return self.lin(x) * self.scale
        return Scale()
    net = port(L, make)
    buffers = {"scale": T(L, [2.0, 3.0])}
    params = {k: v.detach() for k, v in net.named_parameters()}
    return L.func.grad(lambda b, p: L.func.functional_call(net, (p, b), (T(L, A),)).pow(2).sum(), argnums=(0, 1))(
        buffers, params)


# per-sample gradients of a Conv1d network whose forward takes a keyword argument
@case
def per_sample_conv1d_kwargs(L):
    def make(L):
        class Net(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = L.nn.Conv1d(2, 3, 3, padding=1)
                self.fc = L.nn.Linear(12, 2)

            def forward(self, x, *, temperature=1.0):
                return self.fc(self.conv(x).relu().flatten(1)) / temperature
        return Net()
    net = port(L, make)
    params = {k: v.detach() for k, v in net.named_parameters()}
    xs = T(L, X324)

    def loss(p, x, y):
        out = L.func.functional_call(net, p, (x[None],), {"temperature": 2.0})
        return L.nn.functional.cross_entropy(out, y[None])
    return L.func.vmap(L.func.grad(loss), in_dims=(None, 0, 0))(params, xs, L.tensor([0, 1, 1]))


# Hessian-vector products in a dict of parameters: jvp of grad and vjp of grad
@case
def hvp_dict_params(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(4, 3), L.nn.Tanh(), L.nn.Linear(3, 1)))
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss(p):
        return L.func.functional_call(net, p, (T(L, A),)).pow(2).mean()
    tang = {k: L.ones_like(v) * 0.1 for k, v in params.items()}
    _, hvp = L.func.jvp(L.func.grad(loss), (params,), (tang,))
    _, vjp_fn = L.func.vjp(L.func.grad(loss), params)
    return hvp, vjp_fn(tang)




# where, cat with an unbatched Tensor, indexing and gather by a batched index
@case
def vmap_mixed_ops(L):
    table = T(L, B)

    def f(x, i):
        y = L.where(x > 0, x, 0.1 * x)
        z = L.cat([y, table[i]])
        return z.softmax(0) * L.gather(x, 0, i.view(1).repeat(2))[0]
    return L.func.vmap(f)(T(L, A), L.tensor([0, 2, 1]))


# jacrev in a dict with chunk_size, and a Hessian in argument 1 of a network
@case
def jacrev_chunked_dict(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(4, 3), L.nn.Tanh(), L.nn.Linear(3, 3)))
    params = {k: v.detach() for k, v in net.named_parameters()}
    f = (lambda p, x: L.func.functional_call(net, p, (x,)))
    return (L.func.jacrev(f, chunk_size=2)(params, T(L, A)),
            L.func.hessian(lambda p, x: f(p, x).pow(2).sum(), argnums=1)(params, T(L, V)))



# a GRU cell's recurrence, per example, by grad (torch's GRUCell fails under vmap)
@case
def per_sample_gru(L):
    net = port(L, lambda L: L.nn.GRUCell(3, 4))
    params = {k: v.detach() for k, v in net.named_parameters()}
    xs = T(L, np.cos(np.arange(36.)).reshape(3, 4, 3))

    def loss(p, x):
        h = L.zeros(1, 4, dtype=L.float64)
        for t in range(x.shape[0]):
            h = L.func.functional_call(net, p, (x[t][None], h))
        return h.pow(2).sum()
    return [L.func.grad(loss)(params, x) for x in xs]


@case
def per_sample_transformer_layer(L):
    net = port(L, lambda L: L.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0, batch_first=True))
    net.eval()
    params = {k: v.detach() for k, v in net.named_parameters()}
    xs = T(L, X324.reshape(3, 2, 4))

    def loss(p, x):
        return L.func.functional_call(net, p, (x[None],)).tanh().sum()
    return L.func.vmap(L.func.grad(loss), in_dims=(None, 0))(params, xs)


@case
def ensemble_cnn_bn2d_eval(L):
    def make(L):
        return L.nn.Sequential(L.nn.Conv2d(1, 2, 3), L.nn.BatchNorm2d(2), L.nn.ReLU(), L.nn.Flatten(),
                               L.nn.Linear(12, 2))
    models = []
    for k in range(2):
        torch.manual_seed(k)
        m = port(L, make)
        m(T(L, np.arange(40.).reshape(2, 1, 4, 5) / 7 * (k + 1)))  # training step moves stats
        m.eval()
        models.append(m)
    params, buffers = L.func.stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    xs = T(L, np.cos(np.arange(60.)).reshape(3, 1, 4, 5))
    return (L.func.vmap(lambda p, b, x: L.func.functional_call(base, (p, b), (x,)), in_dims=(0, 0, None))(
        params, buffers, xs), buffers)


@case
def conv_weights_batched(L):
    ws = T(L, np.sin(np.arange(54.)).reshape(3, 2, 1, 3, 3))
    x = T(L, np.cos(np.arange(25.)).reshape(1, 1, 5, 5))
    f = (lambda w, x: L.nn.functional.conv2d(x, w, padding=1))
    return (L.func.vmap(f, in_dims=(0, None))(ws, x),
            L.func.vmap(L.func.grad(lambda w, x: f(w, x).pow(2).sum()), in_dims=(0, None))(ws, x))




@case
def vmap_linalg_family(L):
    S = T(L, M3 @ M3.transpose(0, 2, 1))
    return (L.func.vmap(L.linalg.det)(S), L.func.vmap(L.linalg.slogdet)(S), L.func.vmap(L.linalg.cholesky)(S),
            L.func.vmap(L.func.grad(lambda m: L.linalg.slogdet(m)[1]))(S),
            L.func.vmap(L.func.grad(lambda m: L.linalg.eigh(m)[0].sum() + L.linalg.eigh(m)[0][-1]))(S),
            L.func.vmap(L.trace)(S), L.func.vmap(L.outer)(T(L, A), T(L, B)),
            L.func.vmap(L.diag, in_dims=1, out_dims=2)(T(L, A)))




@case
def index_add_into_fresh(L):
    def f(x, idx):
        out = L.zeros_like(x[:2])
        out.index_add_(0, idx, x)
        acc = x.new_zeros(())
        acc += x.sum()
        return out * acc
    idx = L.tensor([0, 1, 1, 0])
    return (L.func.vmap(f, in_dims=(0, None))(T(L, A), idx),
            L.func.vmap(L.func.grad(lambda x, i: f(x, i).sum()), in_dims=(0, None))(T(L, A), idx))




@case
def jacrev_has_aux_argnums(L):
    def f(x, y):
        z = x.sin() * y
        return z, {"norm": z.norm(), "y": y * 2}
    return L.func.jacrev(f, argnums=(0, 1), has_aux=True)(T(L, V), T(L, A[0]))


@case
def vjp_cotangent_dtype_mismatch(L):
    out, fn = L.func.vjp(lambda x: x.sin(), T(L, V))
    return fn(L.ones(4, dtype=L.float32))




@case
def jvp_int_tangent(L):
    return L.func.jvp(lambda x: x * 2, (T(L, V),), (L.tensor([1, 2, 3, 4]),))








@case
def functional_call_kwargs_under_vmap(L):
    def make(L):
        class M(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = L.nn.Linear(4, 2)

            def forward(self, x, mask=None):
                y = self.lin(x)
                return y if mask is None else y * mask
        return M()
    m = port(L, make)
    params = {k: v.detach() for k, v in m.named_parameters()}
    mask = T(L, [1.0, 0.0])
    return L.func.vmap(lambda p, x: L.func.functional_call(m, p, (x,), {"mask": mask}), in_dims=(None, 0))(
        params, T(L, A))


@case
def grad_of_vmap_ensemble_loss_backward(L):
    def make(L):
        return L.nn.Sequential(L.nn.Linear(4, 3), L.nn.Tanh(), L.nn.Linear(3, 1))
    models = []
    for k in range(3):
        torch.manual_seed(k)
        models.append(port(L, make))
    params, buffers = L.func.stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    opt = L.optim.Adam(list(params.values()), lr=0.1)
    for _ in range(3):
        out = L.func.vmap(lambda p, b, x: L.func.functional_call(base, (p, b), (x,)), in_dims=(0, 0, None))(
            params, buffers, T(L, X8))
        loss = (out.squeeze(-1) - T(L, X8[:, 0])).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return params


@case
def linearize_then_vmap_jvp_fn(L):
    def f(x):
        return x.sin().cumsum(0) * x.exp()
    out, jvp_fn = L.func.linearize(f, T(L, V))
    return out, L.func.vmap(jvp_fn)(L.eye(4, dtype=L.float64)), L.func.jacfwd(f)(T(L, V))


@case
def vjp_has_aux_dict_multiple_primals(L):
    def f(a, b):
        y = a @ b
        return y.tanh(), {"pre": y, "n": y.norm()}
    out, fn, aux = L.func.vjp(f, T(L, A), T(L, W), has_aux=True)
    return out, fn(L.ones_like(out)), aux



# searchsorted and bucketize of each example's values, argmax, argsort, one_hot, a count
@case
def vmap_nondiff_ops(L):
    edges = T(L, [-1.0, 0.0, 1.0])

    def f(x):
        return (L.searchsorted(edges, x.contiguous()), L.bucketize(x, edges), x.argmax(), x.argsort(),
                L.nn.functional.one_hot(x.argmax(), 4), (x > 0).sum())
    return L.func.vmap(f)(T(L, A))

# an ensemble of training batch norms: each model's stacked running statistics updated
@case
def ensemble_bn_training_batched_buffers(L):
    def make(L):
        return L.nn.Sequential(L.nn.Linear(4, 3), L.nn.BatchNorm1d(3), L.nn.Tanh())
    models = []
    for k in range(2):
        torch.manual_seed(k)
        models.append(port(L, make))
    params, buffers = L.func.stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    out = L.func.vmap(lambda p, b, x: L.func.functional_call(base, (p, b), (x,)), in_dims=(0, 0, None))(
        params, buffers, T(L, X8))
    return out, buffers

# functional_call of a weight-normed layer: the parametrization's own names
@case
def functional_call_parametrized_weight_norm(L):
    net = port(L, lambda L: L.nn.utils.parametrizations.weight_norm(L.nn.Linear(4, 3)))
    params = {k: v.detach() for k, v in net.named_parameters()}
    names = sorted(params)
    g = L.func.grad(lambda p: L.func.functional_call(net, p, (T(L, A),)).pow(2).sum())(params)
    return names, g

# some parameters given, the others the module's own: backward() reaches both
@case
def functional_call_partial_params_backward(L):
    net = port(L, lambda L: L.nn.Sequential(L.nn.Linear(4, 3), L.nn.Tanh(), L.nn.Linear(3, 2)))
    w = T(L, np.cos(np.arange(12.)).reshape(3, 4)).requires_grad_()
    out = L.func.functional_call(net, {"0.weight": w}, (T(L, A),))
    out.pow(2).sum().backward()
    return w.grad, net[0].bias.grad, net[2].weight.grad, net[0].weight.grad is None

# out_dims as a nested dict
@case
def vmap_out_dims_nested_dict(L):
    return L.func.vmap(lambda x: {"a": (x, x.sum()), "b": {"c": x * 2}}, out_dims={"a": (1, 0), "b": {"c": -1}})(
        T(L, A))

# the Hessian in a dict and a Tensor at once: blocks in nested dicts and tuples
@case
def hessian_dict_argnums_pair(L):
    def f(p, x):
        return (p["w"] @ x).tanh().sum() * p["s"]
    p = {"w": T(L, W.T), "s": T(L, 1.3)}
    return L.func.hessian(f, argnums=(0, 1))(p, T(L, V))


# -- made inside the function, then changed in place -----------------------------------------------
# torch's factory functions of a Tensor (zeros_like(x), x.new_zeros(...)) give, under vmap,
# a Tensor batched as x is: each example may write its own values into it in place
FACTORIES = {
    "zeros_like": lambda L, x: L.zeros_like(x), "ones_like": lambda L, x: L.ones_like(x),
    "empty_like": lambda L, x: L.empty_like(x).zero_(), "full_like": lambda L, x: L.full_like(x, 2.0),
    "new_zeros": lambda L, x: x.new_zeros(x.shape), "new_ones": lambda L, x: x.new_ones(4),
    "new_full": lambda L, x: x.new_full((4,), 3.0), "new_empty": lambda L, x: x.new_empty(4).fill_(0.0),
    "zeros_like_of_a_sum": lambda L, x: L.zeros_like(x.sum()),
    "new_zeros_of_another_shape": lambda L, x: x.new_zeros(2, 4),
    "new_tensor": lambda L, x: x.new_tensor([1.0, 2, 3, 4]),  # unbatched in torch too: refused
    "zeros_like_requiring_grad": lambda L, x: L.zeros_like(x, requires_grad=True),
    "new_zeros_requiring_grad": lambda L, x: x.new_zeros(4, requires_grad=True),
}


def _factory_case(name):
    def program(L):
        def f(x):
            y = FACTORIES[name](L, x)
            y.add_(x if y.shape == x.shape else x.sum())
            return y
        return L.func.vmap(f)(T(L, A)), L.func.grad(lambda x: L.func.vmap(f)(x).pow(2).sum())(T(L, A))
    program.__name__ = f"vmap_of_{name}_changed_in_place"
    return case(program)


for _name in FACTORIES:
    _factory_case(_name)

# an in-place operation whose derivative reads the Tensor it changes (o.mul_(x): o's value
# before), on a Tensor made inside the function: a constant of grad's trace, batched under vmap
IN_PLACE = {
    "mul_": lambda o, x: o.mul_(x), "div_": lambda o, x: o.div_(x + 2), "imul": lambda o, x: o.__imul__(x),
    "pow_": lambda o, x: o.pow_(x), "addcmul_": lambda o, x: o.addcmul_(x, x), "lerp_": lambda o, x: o.lerp_(x, 0.3),
    "clamp_": lambda o, x: o.clamp_(min=x), "sub_alpha": lambda o, x: o.sub_(x, alpha=2),
    "mul_twice": lambda o, x: o.mul_(x).mul_(x),
}


def _in_place_case(name):
    def program(L):
        def f(x):
            o = L.full_like(x, 1.5)
            IN_PLACE[name](o, x)
            return (o * x.exp()).sum()
        of_vmap = () if name == "pow_" else (  # (torch's version counter refuses this one)
            L.func.grad(lambda x: L.func.vmap(f)(x).sum())(T(L, A)),)
        return (L.func.grad(f)(T(L, V)), L.func.vmap(L.func.grad(f))(T(L, A)), *of_vmap, L.func.hessian(f)(T(L, V)))
    program.__name__ = f"{name}_of_a_new_tensor_under_grad"
    return case(program)


for _name in IN_PLACE:
    _in_place_case(_name)


@case
def changed_in_place_under_every_transform(L):
    def f(x):
        y = L.zeros_like(x)
        y.add_(x.sin())
        h = x.new_zeros(2, x.shape[0])
        h[0] = x * 2
        h[1].copy_(y)
        o = L.ones_like(x[0])
        o.mul_(x.sum())
        return (h.sum(0) * o).sum()
    x = T(L, A)
    return (L.func.vmap(L.func.grad(f))(x), L.func.grad(lambda x: L.func.vmap(f)(x).sum())(x),
            L.func.vmap(L.func.jacrev(f))(x), L.func.vmap(L.func.jacfwd(f))(x),
            L.func.vmap(L.func.hessian(f))(x), L.func.jvp(L.func.vmap(f), (x,), (L.ones_like(x),)),
            L.func.vmap(L.func.vmap(f))(x[:, :, None].expand(3, 4, 4).contiguous()),
            L.zeros_like(x, requires_grad=True).requires_grad, x.new_zeros(3, requires_grad=True).requires_grad)


# -- tangents of another dtype --------------------------------------------------------------------
@case
def jvp_bool_tangent(L):
    return L.func.jvp(lambda x: x * 2, (T(L, V),), (L.ones(4, dtype=L.bool),))


@case
def linearize_tangent_of_another_dtype(L):
    return L.func.linearize(lambda x: x.sin(), T(L, V))[1](L.ones(4, dtype=L.float32))


@case
def linearize_integer_tangent(L):
    return L.func.linearize(lambda x: x.sin(), T(L, V))[1](L.tensor([1, 2, 3, 4]))


@pytest.mark.parametrize("name", list(CASES))
def test_program_as_torch_func(name):
    assert_runs_as_torch(CASES[name], torch, cr)


# -- differences kept on purpose: (what torch does, what chainrule does, why) -------------------------
def test_in_dims_given_as_a_list_is_read_as_the_tuple_it_stands_for():
    # torch.func insists on a tuple (a ValueError); a list has one meaning here, JAX's vmap
    # takes it as that tuple too, and a program written for torch runs either way
    def f(L):
        return L.func.vmap(lambda a, b: a + b, in_dims=[0, None])(T(L, A), T(L, V))
    with pytest.raises(ValueError):
        f(torch)
    np.testing.assert_allclose(np.asarray(f(cr)), A + V, rtol=0)
