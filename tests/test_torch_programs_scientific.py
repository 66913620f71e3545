"""Scientific programs written for PyTorch (physics-informed networks after
maziarraissi/PINNs' PyTorch ports, and the ``torch.func`` tutorials: per-sample
gradients, Jacobians and Hessians, ensembling, neural tangent kernels), trimmed, run
with PyTorch and with ``import torch`` read as ``import chainrule as torch``, from the
same weights and the same collocation points; everything they return must agree in
float64 (see ``test_torch_programs``)."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from test_torch_programs import _run, _values

torch = pytest.importorskip("torch")

PROGRAMS: dict[str, str] = {}

# Burgers' equation, u_t + u u_x - nu u_xx = 0, after the PyTorch ports of
# maziarraissi/PINNs: an OrderedDict Tanh MLP, derivatives by autograd.grad with
# create_graph, a few L-BFGS (strong Wolfe) iterations and then Adam.
PROGRAMS["pinn_burgers"] = '''
from collections import OrderedDict

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


class DNN(torch.nn.Module):
    def __init__(self, layers):
        super(DNN, self).__init__()
        self.depth = len(layers) - 1
        self.activation = torch.nn.Tanh
        layer_list = list()
        for i in range(self.depth - 1):
            layer_list.append(("layer_%d" % i, torch.nn.Linear(layers[i], layers[i + 1])))
            layer_list.append(("activation_%d" % i, self.activation()))
        layer_list.append(("layer_%d" % (self.depth - 1), torch.nn.Linear(layers[-2], layers[-1])))
        layerDict = OrderedDict(layer_list)
        self.layers = torch.nn.Sequential(layerDict)

    def forward(self, x):
        out = self.layers(x)
        return out


def build():
    model = DNN([2, 16, 16, 1])
    for m in model.modules():
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_normal_(m.weight)
            torch.nn.init.zeros_(m.bias)
    return model


def data(rng):
    X_u = rng.uniform(-1, 1, (20, 2))
    u = -np.sin(np.pi * X_u[:, 0:1])
    X_f = rng.uniform(-1, 1, (40, 2))
    return X_u, u, X_f


def train(dnn, batch):
    X_u, u_np, X_f = batch
    x_u = torch.tensor(X_u[:, 0:1], requires_grad=True).double()
    t_u = torch.tensor(X_u[:, 1:2], requires_grad=True).double()
    x_f = torch.tensor(X_f[:, 0:1], requires_grad=True).double()
    t_f = torch.tensor(X_f[:, 1:2], requires_grad=True).double()
    u = torch.tensor(u_np).double()
    nu = 0.01 / np.pi

    def net_u(x, t):
        return dnn(torch.cat([x, t], dim=1))

    def net_f(x, t):
        u = net_u(x, t)
        u_t = torch.autograd.grad(u, t, grad_outputs=torch.ones_like(u), retain_graph=True, create_graph=True)[0]
        u_x = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), retain_graph=True, create_graph=True)[0]
        u_xx = torch.autograd.grad(u_x, x, grad_outputs=torch.ones_like(u_x), retain_graph=True,
                                   create_graph=True)[0]
        f = u_t + u * u_x - nu * u_xx
        return f

    losses = []
    optimizer = torch.optim.LBFGS(dnn.parameters(), lr=1.0, max_iter=4, max_eval=50, history_size=50,
                                  tolerance_grad=1e-5, tolerance_change=1.0 * np.finfo(float).eps,
                                  line_search_fn="strong_wolfe")

    def loss_func():
        optimizer.zero_grad()
        u_pred = net_u(x_u, t_u)
        f_pred = net_f(x_f, t_f)
        loss_u = torch.mean((u - u_pred) ** 2)
        loss_f = torch.mean(f_pred ** 2)
        loss = loss_u + loss_f
        loss.backward()
        losses.append(loss.item())
        return loss

    dnn.train()
    optimizer.step(loss_func)
    adam = torch.optim.Adam(dnn.parameters(), lr=1e-3)
    for epoch in range(3):
        u_pred = net_u(x_u, t_u)
        f_pred = net_f(x_f, t_f)
        loss = torch.mean((u - u_pred) ** 2) + torch.mean(f_pred ** 2)
        adam.zero_grad()
        loss.backward()
        adam.step()
        losses.append(loss.item())
    dnn.eval()
    u_star = net_u(x_f, t_f).detach()
    return {"losses": losses, "u": u_star}
'''

# Poisson, -u_xx - u_yy = f on a grid from linspace/meshgrid(indexing="ij"); the
# network's Jacobian and Hessian at a point by torch.autograd.functional.
PROGRAMS["pinn_poisson"] = '''
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


def build():
    model = nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(2, 12)), ("tanh1", nn.Tanh()),
        ("fc2", nn.Linear(12, 12)), ("tanh2", nn.Tanh()),
        ("out", nn.Linear(12, 1)),
    ]))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight, gain=1.0)
            nn.init.constant_(m.bias, 0.0)
    return model


def data(rng):
    return rng.uniform(0, 1, (2,))


def train(model, point):
    n = 8
    x = torch.linspace(0, 1, n)
    y = torch.linspace(0, 1, n)
    X, Y = torch.meshgrid(x, y, indexing="ij")
    xy = torch.stack([X.flatten(), Y.flatten()], dim=1)
    xy.requires_grad_(True)
    f = 2 * np.pi ** 2 * torch.sin(np.pi * xy[:, 0:1].detach()) * torch.sin(np.pi * xy[:, 1:2].detach())
    boundary = (xy[:, 0] == 0) | (xy[:, 0] == 1) | (xy[:, 1] == 0) | (xy[:, 1] == 1)

    def residual():
        u = model(xy)
        du = torch.autograd.grad(u, xy, grad_outputs=torch.ones_like(u), create_graph=True)[0]
        u_x, u_y = du[:, 0:1], du[:, 1:2]
        u_xx = torch.autograd.grad(u_x, xy, torch.ones_like(u_x), create_graph=True)[0][:, 0:1]
        u_yy = torch.autograd.grad(u_y, xy, torch.ones_like(u_y), create_graph=True)[0][:, 1:2]
        r = -(u_xx + u_yy) - f
        return torch.mean(r ** 2) + torch.mean(u[boundary] ** 2)

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for it in range(4):
        optimizer.zero_grad()
        loss = residual()
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    p = torch.tensor(point)
    J = torch.autograd.functional.jacobian(model, p)
    H = torch.autograd.functional.hessian(lambda z: model(z).squeeze(), p)
    Jc = torch.autograd.functional.jacobian(model, p, create_graph=True, vectorize=True)
    return {"losses": losses, "J": J, "H": H, "Jc": Jc.detach()}
'''

# Heat equation u_t = alpha u_xx with an L-BFGS closure over the whole residual.
PROGRAMS["pinn_heat_lbfgs"] = '''
import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


class PINN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 10), nn.Tanh(), nn.Linear(10, 10), nn.Tanh(), nn.Linear(10, 1))

    def forward(self, x, t):
        return self.net(torch.cat([x, t], 1))


def build():
    return PINN()


def data(rng):
    return rng.uniform(0, 1, (30, 1)), rng.uniform(0, 1, (30, 1))


def train(model, batch):
    x = torch.from_numpy(batch[0]).requires_grad_(True)
    t = torch.from_numpy(batch[1]).requires_grad_(True)
    x0 = torch.linspace(0, 1, 10).view(-1, 1)
    t0 = torch.zeros_like(x0)
    u0 = torch.sin(np.pi * x0)
    alpha = 0.1
    optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=20, history_size=50,
                                  tolerance_grad=1e-9, line_search_fn="strong_wolfe")
    mse = nn.MSELoss()
    seen = []

    def closure():
        optimizer.zero_grad()
        u = model(x, t)
        u_t = torch.autograd.grad(u, t, grad_outputs=torch.ones_like(u), create_graph=True, retain_graph=True)[0]
        u_x = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), create_graph=True, retain_graph=True)[0]
        u_xx = torch.autograd.grad(u_x, x, grad_outputs=torch.ones_like(u_x), create_graph=True)[0]
        loss = mse(u_t, alpha * u_xx) + mse(model(x0, t0), u0)
        loss.backward()
        seen.append(loss.item())
        return loss

    first = optimizer.step(closure)
    state = optimizer.state[optimizer.param_groups[0]["params"][0]]
    return {"first": first.detach(), "seen": seen[:8], "n_iter": state["n_iter"],
            "func_evals": state["func_evals"]}
'''

# The inverse Burgers problem of the PyTorch port of maziarraissi/PINNs, as written
# there: Variable, set_default_tensor_type, .to(device), the PDE's coefficients as
# Parameters registered on the network, Adam and then L-BFGS on a bound method.
PROGRAMS["pinn_inverse_burgers"] = '''
import warnings
from collections import OrderedDict

import numpy as np
import torch
from torch.autograd import Variable

if torch.cuda.is_available():
    device = torch.device('cuda')
else:
    device = torch.device('cpu')
with warnings.catch_warnings():  # deprecated in PyTorch 2.1, and still in such programs
    warnings.simplefilter("ignore", UserWarning)
    torch.set_default_tensor_type(torch.DoubleTensor)

class DNN(torch.nn.Module):
    def __init__(self, layers):
        super(DNN, self).__init__()
        self.depth = len(layers) - 1
        self.activation = torch.nn.Tanh
        layer_list = list()
        for i in range(self.depth - 1):
            layer_list.append(('layer_%d' % i, torch.nn.Linear(layers[i], layers[i+1])))
            layer_list.append(('activation_%d' % i, self.activation()))
        layer_list.append(('layer_%d' % (self.depth - 1), torch.nn.Linear(layers[-2], layers[-1])))
        self.layers = torch.nn.Sequential(OrderedDict(layer_list))
    def forward(self, x):
        return self.layers(x)

class PhysicsInformedNN():
    def __init__(self, X, u, layers, lb, ub):
        self.lb = torch.tensor(lb).float().to(device).double()
        self.ub = torch.tensor(ub).double().to(device)
        self.x = torch.tensor(X[:, 0:1], requires_grad=True).double().to(device)
        self.t = Variable(torch.from_numpy(X[:, 1:2]), requires_grad=True).to(device)
        self.u = torch.tensor(u).double().to(device)
        self.lambda_1 = torch.tensor([0.0], requires_grad=True).to(device)
        self.lambda_2 = torch.tensor([-6.0], requires_grad=True).to(device)
        self.lambda_1 = torch.nn.Parameter(self.lambda_1)
        self.lambda_2 = torch.nn.Parameter(self.lambda_2)
        self.dnn = DNN(layers).to(device)
        self.dnn.register_parameter('lambda_1', self.lambda_1)
        self.dnn.register_parameter('lambda_2', self.lambda_2)
        self.optimizer = torch.optim.LBFGS(self.dnn.parameters(), lr=1.0, max_iter=5, max_eval=50000,
            history_size=50, tolerance_grad=1e-5, tolerance_change=1.0 * np.finfo(float).eps,
            line_search_fn="strong_wolfe")
        self.optimizer_Adam = torch.optim.Adam(self.dnn.parameters())
        self.iter = 0
        self.log = []
    def net_u(self, x, t):
        u = self.dnn(2.0 * (torch.cat([x, t], dim=1) - self.lb) / (self.ub - self.lb) - 1.0)
        return u
    def net_f(self, x, t):
        lambda_1 = self.lambda_1
        lambda_2 = torch.exp(self.lambda_2)
        u = self.net_u(x, t)
        u_t = torch.autograd.grad(u, t, grad_outputs=torch.ones_like(u), retain_graph=True, create_graph=True)[0]
        u_x = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), retain_graph=True, create_graph=True)[0]
        u_xx = torch.autograd.grad(u_x, x, grad_outputs=torch.ones_like(u_x), retain_graph=True, create_graph=True)[0]
        return u_t + lambda_1 * u * u_x - lambda_2 * u_xx
    def loss_func(self):
        u_pred = self.net_u(self.x, self.t)
        f_pred = self.net_f(self.x, self.t)
        loss = torch.mean((self.u - u_pred) ** 2) + torch.mean(f_pred ** 2)
        self.optimizer.zero_grad()
        loss.backward()
        self.iter += 1
        self.log.append((loss.item(), self.lambda_1.item(), torch.exp(self.lambda_2.detach()).item()))
        return loss
    def train(self, nIter):
        self.dnn.train()
        for epoch in range(nIter):
            u_pred = self.net_u(self.x, self.t)
            f_pred = self.net_f(self.x, self.t)
            loss = torch.mean((self.u - u_pred) ** 2) + torch.mean(f_pred ** 2)
            self.optimizer_Adam.zero_grad()
            loss.backward()
            self.optimizer_Adam.step()
            self.log.append(loss.item())
        self.optimizer.step(self.loss_func)
    def predict(self, X):
        x = torch.tensor(X[:, 0:1], requires_grad=True).double().to(device)
        t = torch.tensor(X[:, 1:2], requires_grad=True).double().to(device)
        self.dnn.eval()
        u = self.net_u(x, t)
        f = self.net_f(x, t)
        return u.detach().cpu().numpy(), f.detach().cpu().numpy()

def build():
    return DNN([2, 8, 8, 1])


def data(rng):
    return rng.uniform(-1, 1, (20, 2))

def train(model, pts):
    X = pts
    u = -np.sin(np.pi * X[:, 0:1])
    pinn = PhysicsInformedNN(X, u, [2, 8, 8, 1], X.min(0), X.max(0))
    pinn.dnn.load_state_dict(model.state_dict(), strict=False)
    pinn.train(3)
    up, fp = pinn.predict(X)
    return {"log": pinn.log, "u": up, "f": fp, "iter": pinn.iter,
            "state": {k: v.detach() for k, v in pinn.dnn.state_dict().items()}}
'''

# Adaptive activations (a trainable slope per layer) and self-adaptive residual weights
# trained by gradient ascent (Adam with maximize in their own group), then L-BFGS, its
# state saved and loaded into a new optimizer halfway, as checkpointing code does.
PROGRAMS["pinn_adaptive"] = '''
import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


class AdaptiveTanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(0.1))

    def forward(self, x):
        return torch.tanh(10 * self.a * x)


def build():
    return nn.Sequential(nn.Linear(2, 6), AdaptiveTanh(), nn.Linear(6, 6), AdaptiveTanh(), nn.Linear(6, 1))


def data(rng):
    return rng.uniform(-1, 1, (7, 2))


def train(net, pts):
    x = torch.tensor(pts, requires_grad=True)
    lam = nn.Parameter(torch.ones(7, 1))
    opt = torch.optim.Adam([{"params": net.parameters()}, {"params": [lam], "maximize": True, "lr": 0.1}], lr=1e-2)
    losses = []
    for i in range(3):
        opt.zero_grad()
        u = net(x)
        du = torch.autograd.grad(u, x, torch.ones_like(u), create_graph=True)[0]
        loss = (lam * (du[:, :1] - 1) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    lbfgs = torch.optim.LBFGS(net.parameters(), max_iter=4, history_size=5, line_search_fn="strong_wolfe")

    def closure():
        lbfgs.zero_grad()
        u = net(x)
        du = torch.autograd.grad(u, x, torch.ones_like(u), create_graph=True)[0]
        loss = ((du[:, :1] - 1) ** 2).mean()
        loss.backward()
        return loss

    losses.append(lbfgs.step(closure).item())
    checkpoint = lbfgs.state_dict()
    lbfgs = torch.optim.LBFGS(net.parameters(), max_iter=4, history_size=5, line_search_fn="strong_wolfe")
    lbfgs.load_state_dict(checkpoint)
    losses.append(lbfgs.step(closure).item())
    state = lbfgs.state_dict()["state"][0]
    return {"losses": losses, "lam": lam.detach(), "n_state": len(state), "al": state["al"][:2],
            "n_iter": state["n_iter"], "func_evals": state["func_evals"]}
'''

# torch.func tutorials "per-sample-grads" and "jacobians_hessians": functional_call,
# vmap(grad(...), in_dims=(None, None, 0, 0)), jacrev/jacfwd/hessian, argnums, has_aux,
# chunk_size, vjp/jvp/linearize.
PROGRAMS["func_per_sample_jacobians"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, hessian, jacfwd, jacrev, jvp, linearize, vjp, vmap

torch.set_default_dtype(torch.float64)


class SimpleMLP(nn.Module):
    def __init__(self):
        super(SimpleMLP, self).__init__()
        self.fc1 = nn.Linear(3, 8)
        self.fc2 = nn.Linear(8, 4)

    def forward(self, x):
        x = torch.tanh(self.fc1(x))
        return self.fc2(x)


def build():
    return SimpleMLP()


def data(rng):
    return torch.tensor(rng.normal(size=(5, 3))), torch.tensor(rng.integers(0, 4, 5))


def train(model, batch):
    data, targets = batch
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        batch = sample.unsqueeze(0)
        targets = target.unsqueeze(0)
        predictions = functional_call(model, (params, buffers), (batch,))
        loss = F.cross_entropy(predictions, targets)
        return loss

    ft_compute_grad = grad(compute_loss)
    ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
    ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)

    # the loop the tutorial checks against
    looped = []
    for i in range(data.shape[0]):
        model.zero_grad()
        loss = F.cross_entropy(model(data[i].unsqueeze(0)), targets[i].unsqueeze(0))
        loss.backward()
        looped.append(model.fc1.weight.grad.clone())

    def with_aux(params, x):
        out = functional_call(model, params, (x,))
        return out.sum(), out

    g_aux, aux = grad(with_aux, has_aux=True)(params, data)

    weight, bias = model.fc1.weight.detach(), model.fc1.bias.detach()

    def predict(weight, bias, x):
        return F.linear(x, weight, bias).tanh()

    x = data[0]
    jac_x = jacrev(predict, argnums=2)(weight, bias, x)
    jac_wb = jacrev(predict, argnums=(0, 1))(weight, bias, x)
    jac_fwd = jacfwd(predict, argnums=2)(weight, bias, x)
    batch_jac = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))(weight, bias, data)
    chunked = jacrev(predict, argnums=2, chunk_size=3)(weight, bias, x)
    hess = hessian(predict, argnums=2)(weight, bias, x)
    hess2 = jacfwd(jacrev(predict, argnums=2), argnums=2)(weight, bias, x)

    def f(x):
        return functional_call(model, params, (x,)).sin()

    out, vjp_fn = vjp(f, data)
    (cot,) = vjp_fn(torch.ones_like(out))
    _, tangent = jvp(f, (data,), (torch.ones_like(data),))
    _, jvp_fn = linearize(f, data)
    lin = jvp_fn(torch.ones_like(data))
    return {"per_sample": ft_per_sample_grads, "looped": torch.stack(looped), "g_aux": g_aux, "aux": aux,
            "jac_x": jac_x, "jac_wb": jac_wb, "jac_fwd": jac_fwd, "batch_jac": batch_jac, "chunked": chunked,
            "hess": hess, "hess2": hess2, "vjp": cot, "jvp": tangent, "linearize": lin}
'''

# torch.func tutorials "model_ensembling" and "neural_tangent_kernels": vmap over
# stack_module_state's stacked parameters, and the empirical NTK by jacrev and einsum.
PROGRAMS["func_ensemble_ntk"] = '''
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, jacrev, stack_module_state, vmap

torch.set_default_dtype(torch.float64)


class MLP(nn.Module):
    def __init__(self):
        super(MLP, self).__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        return x


class Ensemble(nn.Module):
    def __init__(self):
        super().__init__()
        self.members = nn.ModuleList([MLP() for _ in range(3)])


def build():
    return Ensemble()


def data(rng):
    return torch.tensor(rng.normal(size=(3, 6, 4))), torch.tensor(rng.normal(size=(5, 4)))


def train(ensemble, batch):
    minibatches, x_test = batch
    models = list(ensemble.members)
    params, buffers = stack_module_state(models)
    base_model = copy.deepcopy(models[0]).to("meta")

    def fmodel(params, buffers, x):
        return functional_call(base_model, (params, buffers), (x,))

    predictions1_vmap = vmap(fmodel)(params, buffers, minibatches)
    predictions2_vmap = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatches[0])
    loop = torch.stack([model(minibatches[0]) for model in models])

    net = models[0]
    net_params = {k: v.detach() for k, v in net.named_parameters()}

    def fnet_single(params, x):
        return functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)

    def empirical_ntk_jacobian_contraction(fnet_single, params, x1, x2):
        jac1 = vmap(jacrev(fnet_single), (None, 0))(params, x1)
        jac1 = jac1.values()
        jac1 = [j.flatten(2) for j in jac1]
        jac2 = vmap(jacrev(fnet_single), (None, 0))(params, x2)
        jac2 = jac2.values()
        jac2 = [j.flatten(2) for j in jac2]
        result = torch.stack([torch.einsum("Naf,Mbf->NMab", j1, j2) for j1, j2 in zip(jac1, jac2)])
        result = result.sum(0)
        return result

    ntk = empirical_ntk_jacobian_contraction(fnet_single, net_params, x_test, x_test[:3])

    # the stacked parameters are leaves: train the whole ensemble at once
    optimizer = torch.optim.SGD(list(params.values()), lr=0.1, momentum=0.9)
    losses = []
    for step in range(3):
        optimizer.zero_grad()
        loss = F.mse_loss(vmap(fmodel)(params, buffers, minibatches), minibatches[..., :3].cos())
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {"pred1": predictions1_vmap.detach(), "pred2": predictions2_vmap.detach(), "loop": loop, "ntk": ntk,
            "losses": losses, "trained": {k: v.detach() for k, v in params.items()}}
'''


# PINN residuals the torch.func way: u(x, t) a scalar function of scalars, its derivatives
# by vmap(grad(grad(...))) or forward over forward (jvp of jvp), the Laplacian from vmap
# of hessian, the loss differentiated both by grad and by backward() into the module.
PROGRAMS["func_pinn_residuals"] = '''
import numpy as np
import torch
import torch.nn as nn
from torch.func import functional_call, grad, hessian, jvp, vmap

torch.set_default_dtype(torch.float64)


def build():
    return nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 1))


def data(rng):
    return rng.uniform(-1, 1, (7, 2))


def train_residual(model, pts):
    params = dict(model.named_parameters())
    def f(x, t, params):
        return functional_call(model, params, (torch.stack([x, t]).unsqueeze(0),)).squeeze()
    x = torch.tensor(pts[:, 0]); t = torch.tensor(pts[:, 1])
    u_x = vmap(grad(f, argnums=0), in_dims=(0, 0, None))(x, t, params)
    u_xx = vmap(grad(grad(f, argnums=0), argnums=0), in_dims=(0, 0, None))(x, t, params)
    u_t = vmap(grad(f, argnums=1), in_dims=(0, 0, None))(x, t, params)
    def loss_fn(params):
        r = vmap(grad(f, 1), (0, 0, None))(x, t, params) - 0.1 * vmap(grad(grad(f)), (0, 0, None))(x, t, params)
        return (r ** 2).mean()
    g = grad(loss_fn)(params)
    loss = loss_fn(params)
    loss.backward()
    return {"u_x": u_x.detach(), "u_xx": u_xx.detach(), "u_t": u_t.detach(), "g": {k: v.detach() for k, v in g.items()},
            "pg": [p.grad for p in model.parameters() if p.grad is not None],
            "pg_none": [p.grad is None for p in model.parameters()]}


def train_forward(model, pts):
    params = {k: v.detach() for k, v in model.named_parameters()}
    def u(z):
        return functional_call(model, params, (z,)).squeeze()
    def u_x(z):
        return jvp(u, (z,), (torch.tensor([1.0, 0.0]),))[1]
    def u_xx(z):
        return jvp(u_x, (z,), (torch.tensor([1.0, 0.0]),))[1]
    x = torch.tensor(pts)
    a = vmap(u_xx)(x)
    b = vmap(hessian(u))(x)[:, 0, 0]
    lap = vmap(lambda z: torch.trace(hessian(u)(z)))(x)
    return {"a": a, "b": b, "lap": lap}


def train(model, pts):
    return [train_forward(model, pts), train_residual(model, pts)]
'''

# torch.autograd.functional on a network: vjp, jvp, hvp, vhp, jacobian and hessian of
# several inputs, vectorized and forward-mode strategies, create_graph and backward().
PROGRAMS["autograd_functional"] = '''
import numpy as np
import torch
import torch.nn as nn
from torch.func import functional_call, grad, hessian, jvp, vmap

torch.set_default_dtype(torch.float64)


def build():
    return nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 1))


def data(rng):
    return rng.uniform(-1, 1, (7, 2))


def train_functional(model, pts):
    x = torch.tensor(pts[0])
    f = lambda z: model(z).squeeze(-1)
    out = {}
    out["vjp"] = torch.autograd.functional.vjp(model, x, torch.ones(1))[1]
    out["jvp"] = torch.autograd.functional.jvp(model, x, torch.ones(2))[1]
    out["hvp"] = torch.autograd.functional.hvp(f, x, torch.ones(2))[1]
    out["vhp"] = torch.autograd.functional.vhp(f, x, torch.ones(2))[1]
    out["jac_tuple"] = torch.autograd.functional.jacobian(lambda a, b: model(torch.cat([a, b])), (x[:1], x[1:]))
    out["hess_tuple"] = torch.autograd.functional.hessian(lambda a, b: model(torch.cat([a, b])).sum(), (x[:1], x[1:]))
    out["jac_fwd"] = torch.autograd.functional.jacobian(model, torch.tensor(pts), vectorize=True,
                                                        strategy="forward-mode")
    out["hess_vec"] = torch.autograd.functional.hessian(f, x, vectorize=True)
    out["hess_outer"] = torch.autograd.functional.hessian(f, x, vectorize=True, outer_jacobian_strategy="forward-mode")
    return out


def train_create_graph(model, pts):
    x = torch.tensor(pts)
    J = torch.autograd.functional.jacobian(lambda z: model(z).sum(0), x, create_graph=True)
    H = torch.autograd.functional.hessian(lambda z: model(z).sum(), x[0], create_graph=True)
    loss = J.pow(2).sum() + H.pow(2).sum()
    loss.backward()
    hv = torch.autograd.functional.hvp(lambda z: model(z).sum(), x[0], torch.ones(2), create_graph=True)[1]
    return {"J": J.detach(), "H": H.detach(), "g": [p.grad for p in model.parameters() if p.grad is not None],
            "g_none": [p.grad is None for p in model.parameters()], "hv": hv.detach()}


def train(model, pts):
    return [train_functional(model, pts), train_create_graph(model, pts)]
'''

# torch.autograd.grad as PINN code calls it: several inputs, allow_unused, no
# grad_outputs for a scalar, is_grads_batched, derivatives of slices of the input.
PROGRAMS["autograd_grad_variants"] = '''
import numpy as np
import torch
import torch.nn as nn
from torch.func import functional_call, grad, hessian, jvp, vmap

torch.set_default_dtype(torch.float64)


def build():
    return nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 1))


def data(rng):
    return rng.uniform(-1, 1, (7, 2))


def train(model, pts):
    X = torch.tensor(pts, requires_grad=True)
    x, t = X[:, 0:1], X[:, 1:2]
    xx = torch.tensor(pts[:, 0:1], requires_grad=True)
    tt = torch.tensor(pts[:, 1:2], requires_grad=True)
    u = model(torch.cat([xx, tt], 1))
    gx, gt = torch.autograd.grad(u, [xx, tt], torch.ones_like(u), create_graph=True)
    gxx, gunused = torch.autograd.grad(gx.sum(), [xx, tt], create_graph=True, allow_unused=True)
    gsum = torch.autograd.grad(outputs=u.sum(), inputs=xx, create_graph=True)[0]
    uX = model(X)
    dX = torch.autograd.grad(uX, X, torch.ones_like(uX), create_graph=True)[0]
    batched = torch.autograd.grad(uX, X, torch.eye(7).unsqueeze(-1), is_grads_batched=True, retain_graph=True)[0]
    d2 = torch.autograd.grad(dX[:, 0:1], X, grad_outputs=torch.ones_like(dX[:, 0:1]), create_graph=True)[0]
    loss = (gxx - gt).pow(2).mean() + d2.pow(2).mean()
    loss.backward()
    return {"gx": gx.detach(), "gt": gt.detach(), "gxx": gxx.detach(), "none": gunused is None, "gsum": gsum.detach(),
            "dX": dX.detach(), "batched": batched, "d2": d2.detach(), "Xg": X.grad,
            "pg": [p.grad for p in model.parameters() if p.grad is not None],
            "pg_none": [p.grad is None for p in model.parameters()]}
'''

# An ensemble of networks with BatchNorm (eval, after two training batches) and
# LayerNorm, each member's weights its own under vmap: predictions, input Hessians,
# per-member gradients by vmap(grad), and backward() into the stacked parameters.
PROGRAMS["func_ensemble_layer_norm"] = '''
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, hessian, jacrev, stack_module_state, vmap

torch.set_default_dtype(torch.float64)


def data(rng):
    return rng.uniform(-1, 1, (7, 2))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 5)
        self.bn = nn.BatchNorm1d(5)
        self.ln = nn.LayerNorm(5)
        self.out = nn.Linear(5, 1)
    def forward(self, x):
        return self.out(F.gelu(self.ln(self.bn(self.fc(x))), approximate="tanh"))
class Ens(nn.Module):
    def __init__(self):
        super().__init__()
        self.m = nn.ModuleList([Net() for _ in range(3)])
def build():
    return Ens()
def train(ens, pts):
    x = torch.tensor(pts)
    for m in ens.m:
        m.train()
        m(x)
        m(x * 2)
        m.eval()
    params, buffers = stack_module_state(list(ens.m))
    base = copy.deepcopy(ens.m[0]).to("meta")
    def f(p, b, x):
        return functional_call(base, (p, b), (x,))
    pred = vmap(f, in_dims=(0, 0, None))(params, buffers, x)
    loop = torch.stack([m(x) for m in ens.m])
    def scalar(p, b, z):
        return f(p, b, z.unsqueeze(0)).squeeze()
    H = vmap(vmap(hessian(scalar, argnums=2), in_dims=(None, None, 0)), in_dims=(0, 0, None))(params, buffers, x)
    J = vmap(jacrev(scalar), in_dims=(0, 0, None))(params, buffers, x[0])
    def loss(p, b, z):
        return (f(p, b, z) ** 2).mean()
    g = vmap(grad(loss), in_dims=(0, 0, None))(params, buffers, x)
    gl = [grad(loss)({k: v[i] for k, v in params.items()}, {k: v[i] for k, v in buffers.items()}, x) for i in range(3)]
    total = vmap(loss, in_dims=(0, 0, None))(params, buffers, x).sum()
    total.backward()
    return {"pred": pred.detach(), "loop": loop.detach(), "H": H, "J": J, "g": g, "gl": gl,
            "pg": {k: v.grad for k, v in params.items()},
            "bufs": {k: v for k, v in buffers.items() if v.dtype != torch.int64}}
'''

# The 1-d Fourier neural operator of neuraloperator's fourier_1d.py, trimmed: complex
# spectral weights (torch.cdouble Parameters) through rfft/einsum/irfft, Adam with weight
# decay and StepLR. PyTorch's gradient of a complex parameter is ∂L/∂x + i ∂L/∂y, and its
# optimizers treat the real and imaginary parts as two reals (view_as_real).
PROGRAMS["fno_1d"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class SpectralConv1d(nn.Module):
    def __init__(self, in_channels, out_channels, modes1):
        super(SpectralConv1d, self).__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.modes1 = modes1
        self.scale = (1 / (in_channels*out_channels))
        self.weights1 = nn.Parameter(
            self.scale * torch.rand(in_channels, out_channels, self.modes1, dtype=torch.cdouble))
    def compl_mul1d(self, input, weights):
        return torch.einsum("bix,iox->box", input, weights)
    def forward(self, x):
        batchsize = x.shape[0]
        x_ft = torch.fft.rfft(x)
        out_ft = torch.zeros(batchsize, self.out_channels, x.size(-1)//2 + 1, device=x.device, dtype=torch.cdouble)
        out_ft[:, :, :self.modes1] = self.compl_mul1d(x_ft[:, :, :self.modes1], self.weights1)
        x = torch.fft.irfft(out_ft, n=x.size(-1))
        return x
class FNO1d(nn.Module):
    def __init__(self, modes, width):
        super(FNO1d, self).__init__()
        self.modes1 = modes
        self.width = width
        self.p = nn.Linear(2, self.width)
        self.conv0 = SpectralConv1d(self.width, self.width, self.modes1)
        self.w0 = nn.Conv1d(self.width, self.width, 1)
        self.q = nn.Linear(self.width, 1)
    def forward(self, x):
        grid = self.get_grid(x.shape, x.device)
        x = torch.cat((x, grid), dim=-1)
        x = self.p(x)
        x = x.permute(0, 2, 1)
        x1 = self.conv0(x)
        x2 = self.w0(x)
        x = x1 + x2
        x = F.gelu(x)
        x = x.permute(0, 2, 1)
        x = self.q(x)
        return x
    def get_grid(self, shape, device):
        batchsize, size_x = shape[0], shape[1]
        gridx = torch.tensor(np.linspace(0, 1, size_x), dtype=torch.float)
        gridx = gridx.reshape(1, size_x, 1).repeat([batchsize, 1, 1])
        return gridx.to(device).double()
def build():
    return FNO1d(4, 8)
def data(rng):
    return rng.normal(size=(3, 16, 1)), rng.normal(size=(3, 16, 1))
def train(model, batch):
    x, y = torch.tensor(batch[0]), torch.tensor(batch[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    myloss = nn.MSELoss()
    losses = []
    for ep in range(3):
        optimizer.zero_grad()
        out = model(x)
        l2 = torch.norm(out.reshape(3, -1) - y.reshape(3, -1), 2, 1) / torch.norm(y.reshape(3, -1), 2, 1)
        loss = l2.sum() + myloss(out, y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return {"losses": losses, "w": torch.view_as_real(model.conv0.weights1.detach())}
'''

# Burgers by L-BFGS over 40 iterations (two steps of 20), the parameters after each step.
# L-BFGS amplifies rounding: PyTorch itself, started from weights one ulp apart, ends the
# first step ~1e-14 apart and the second ~1e-10 (and 1e-5 after the third); chainrule,
# summing in another order, must stay within that spread of PyTorch's own.
LBFGS_BURGERS = '''
import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


def build():
    return nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 1))


def data(rng):
    return rng.uniform(-1, 1, (7, 2))


def train(model, pts):
    x = torch.tensor(pts[:, :1], requires_grad=True)
    t = torch.tensor(pts[:, 1:], requires_grad=True)
    optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=20, history_size=50, tolerance_grad=1e-12,
                                  tolerance_change=0, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        u = model(torch.cat([x, t], 1))
        u_t = torch.autograd.grad(u, t, torch.ones_like(u), create_graph=True)[0]
        u_x = torch.autograd.grad(u, x, torch.ones_like(u), create_graph=True)[0]
        u_xx = torch.autograd.grad(u_x, x, torch.ones_like(u_x), create_graph=True)[0]
        loss = (u_t + u * u_x - 0.01 * u_xx).pow(2).mean() + (u + torch.sin(np.pi * x.detach())).pow(2).mean()
        loss.backward()
        return loss

    out = []
    for epoch in range(2):
        optimizer.step(closure)
        out.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    return out
'''


def test_lbfgs_trajectory_stays_within_pytorchs_own_rounding_spread():
    start, theirs, _ = _run(LBFGS_BURGERS, "torch")
    _, nudged, _ = _run(LBFGS_BURGERS, "torch", weights={k: np.nextafter(v, np.inf) for k, v in start.items()})
    _, ours, _ = _run(LBFGS_BURGERS, "chainrule", weights=start)
    for our, their, other in zip(_values(ours), _values(theirs), _values(nudged), strict=True):
        spread = np.max(np.abs(other - their))
        assert np.max(np.abs(our - their)) <= 10 * spread + 1e-13

@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_scientific_program_gives_pytorchs_values(name):
    source = PROGRAMS[name]
    start, theirs, their_end = _run(source, "torch")
    with warnings.catch_warnings(record=True) as caught:  # and warns of nothing PyTorch does not
        warnings.simplefilter("always")
        _, ours, our_end = _run(source, "chainrule", weights=start)
    assert not [str(w.message) for w in caught if "chainrule" in w.filename], name
    a, b = _values(ours), _values(theirs)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-10)
    assert list(our_end) == list(their_end)
    for k in their_end:
        np.testing.assert_allclose(our_end[k], their_end[k], rtol=1e-9, atol=1e-10, err_msg=k)


@pytest.mark.parametrize("bad, error", [("torch.LongTensor", TypeError), ("torch.cuda.DoubleTensor", RuntimeError),
                                        (3, TypeError)])
def test_set_default_tensor_type_refuses_what_is_not_a_floating_cpu_type(bad, error):
    with pytest.warns(UserWarning, match="deprecated"), pytest.raises(error, match="set_default_tensor_type"):
        cr.set_default_tensor_type(bad)


def test_complex_gradients_hooks_and_grad_outputs_are_pytorchs():
    rng = np.random.default_rng(3)
    w0, x0, v0 = (rng.normal(size=3) + 1j * rng.normal(size=3) for _ in range(3))

    def run(lib):
        w = lib.tensor(w0, requires_grad=True)
        seen = []
        w.register_hook(lambda g: seen.append(g.detach().clone()))
        y = w * lib.tensor(x0)
        (g_y,) = lib.autograd.grad(y, w, grad_outputs=lib.tensor(v0), retain_graph=True)
        ((y.abs() ** 2).sum() + y.real.sum()).backward()
        return [g_y, w.grad, *seen]

    for ours, theirs in zip(run(cr), run(torch), strict=True):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)


def test_lbfgs_steps_a_complex_parameter_as_pytorch():
    rng = np.random.default_rng(4)
    w0, x0 = (rng.normal(size=3) + 1j * rng.normal(size=3) for _ in range(2))

    def run(lib):
        w, b = lib.nn.Parameter(lib.tensor(w0)), lib.nn.Parameter(lib.tensor(x0.real))
        x = lib.tensor(x0)
        optimizer = lib.optim.LBFGS([w, b], max_iter=5, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = ((w * x - 1).abs() ** 2).sum() + 0.1 * (w ** 2).real.sum() + ((b - w.imag) ** 2).sum()
            loss.backward()
            return loss

        for _ in range(2):
            optimizer.step(closure)
        return [w.detach(), b.detach()]

    for ours, theirs in zip(run(cr), run(torch), strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name, options", [("Adam", {"lr": 0.1, "amsgrad": True}), ("RMSprop", {"lr": 0.01}),
                                           ("SGD", {"lr": 0.1, "momentum": 0.9})])
def test_optimizer_state_of_a_complex_parameter_is_pytorchs(name, options):
    rng = np.random.default_rng(5)
    w0, x0 = (rng.normal(size=3) + 1j * rng.normal(size=3) for _ in range(2))

    def run(lib):
        w = lib.nn.Parameter(lib.tensor(w0))
        optimizer = getattr(lib.optim, name)([w], **options)
        for _ in range(3):
            optimizer.zero_grad()
            ((w * lib.tensor(x0) - 1).abs() ** 2).sum().backward()
            optimizer.step()
        state = optimizer.state_dict()["state"][0]
        return [w.detach(), *(state[k] for k in sorted(state) if k != "step")]

    for ours, theirs in zip(run(cr), run(torch), strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
