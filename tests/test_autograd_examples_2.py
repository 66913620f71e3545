"""More programs as autograd's users write them (its README, tutorial and examples: a
logistic regression that keeps its losses, tanh's derivatives, Hessian-vector products,
`flatten`, the optimizers with callbacks, `grad_named`, `holomorphic_grad`, Jacobians
and Hessians, primitives with their own rules, `ArrayBox` checks, containers,
Bayesian optimisation, a convolution), each run as written and with its import lines
changed from ``autograd`` to ``chainrule``; the numbers must agree to 1e-10. The runner
is ``tests/test_autograd_examples.py``'s.
"""

import pytest

pytest.importorskip("autograd")
pytest.importorskip("scipy")

from test_autograd_api import assert_same  # noqa: E402
from test_autograd_examples import run, with_library  # noqa: E402

# autograd's README, with the losses kept by the objective and read after training
LOGISTIC_HISTORY = '''
import autograd.numpy as np
from autograd import grad, value_and_grad

def sigmoid(x):
    return 0.5 * (np.tanh(x / 2.) + 1)

inputs = np.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]])
targets = np.array([True, True, False, True])
history = []

def training_loss(weights):
    preds = sigmoid(np.dot(inputs, weights))
    label_probabilities = preds * targets + (1 - preds) * (1 - targets)
    loss = -np.sum(np.log(label_probabilities))
    history.append(loss)
    return loss

weights = np.array([0.0, 0.0, 0.0])
for i in range(30):
    value, g = value_and_grad(training_loss)(weights)
    weights = weights - g * 0.05
improvement = history[0] - history[-1]
scaled = [2 * h for h in history[-3:]]
result = (weights, value, improvement, np.mean(history), np.array(history[-5:]), scaled, history[-1] < history[0])
'''

TANH = '''
import autograd.numpy as np
from autograd import elementwise_grad as egrad

def tanh(x):
    return (1.0 - np.exp(-2 * x)) / (1.0 + np.exp(-2 * x))

x = np.linspace(-4, 4, 9)
derivs = [tanh(x)]
f = tanh
for _ in range(5):
    f = egrad(f)
    derivs.append(f(x))
result = derivs
'''

HVP = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad, hessian, make_hvp, hessian_tensor_product, hessian_vector_product

def f(x):
    return np.sum(np.sin(x) * np.outer(x, x)) + np.sum(np.exp(0.1 * x) ** 2)

rs = npr.RandomState(0)
x, v = rs.randn(4), rs.randn(4)
H = hessian(f)(x)
hvp, g = make_hvp(f)(x)
direct = grad(lambda x: np.dot(grad(f)(x), v))(x)
result = (H, np.dot(H, v), hvp(v), g, hessian_tensor_product(f)(x, v), hessian_vector_product(f)(x, v), direct)
'''

FLATTEN = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad
from autograd.misc.flatten import flatten, flatten_func

rs = npr.RandomState(1)
params = {"layers": [(rs.randn(3, 2), rs.randn(2)), (rs.randn(2, 1), rs.randn(1))], "log_noise": np.array(-1.0),
          "scale": 0.5}
x = rs.randn(5, 3)

def loss(p):
    h = x
    for w, b in p["layers"]:
        h = np.tanh(np.dot(h, w) + b)
    return np.sum(h ** 2) * np.exp(p["log_noise"]) + p["scale"] ** 2

flat, unflatten = flatten(params)
g = grad(loss)(params)
flat_loss, unflatten2, flat0 = flatten_func(loss, params)
flat_g = grad(flat_loss)(flat0)
result = (flat, flatten(g)[0], flat_g, unflatten(flat * 2)["layers"][1][0], unflatten2(flat_g)["scale"],
          loss(unflatten(flat)))
'''

OPTIMIZERS = '''
import autograd.numpy as np
from autograd import grad
from autograd.misc.optimizers import adam, sgd, rmsprop

target = {"a": np.array([1.0, -2.0]), "b": (np.array([[0.5]]), 3.0)}

def objective(p, i):
    return (np.sum((p["a"] - target["a"]) ** 2) + np.sum((p["b"][0] - target["b"][0]) ** 2)
            + (p["b"][1] - target["b"][1]) ** 2 + 0.01 * i * np.sum(p["a"]))

seen = []
def callback(p, i, g):
    if i % 5 == 0:
        seen.append((i, objective(p, i), g["a"]))

start = {"a": np.zeros(2), "b": (np.zeros((1, 1)), 0.0)}
out_adam = adam(grad(objective), start, step_size=0.1, num_iters=20, callback=callback)
out_sgd = sgd(grad(objective), start, step_size=0.05, num_iters=20, mass=0.8)
out_rms = rmsprop(grad(objective), start, step_size=0.05, num_iters=20, gamma=0.8)
result = (out_adam, out_sgd, out_rms, seen)
'''

NAMED_AND_COMPLEX = '''
import autograd.numpy as np
from autograd import grad, grad_named, holomorphic_grad, deriv, make_jvp

def energy(position, velocity, mass=2.0):
    return 0.5 * mass * np.sum(velocity ** 2) + np.sum(np.cos(position))

pos, vel = np.array([0.1, 0.4]), np.array([1.0, -0.5])
by_name = grad_named(energy, "velocity")(pos, vel)
by_mass = grad_named(energy, "mass")(pos, vel, 3.0)
f = lambda z: z ** 3 + np.exp(1j * z) * z
z = 0.3 + 0.8j
hg = holomorphic_grad(f)(z)
zs = np.array([0.1 + 0.2j, -0.4 + 1.0j])
hg_vec = holomorphic_grad(lambda z: np.sum(np.sin(z) * z))(zs)
real_part = grad(lambda x: np.real(f(x + 0.8j)))(0.3)
d = deriv(lambda t: np.sin(t) * t ** 2)(0.7)
jv = make_jvp(lambda x: np.cumsum(x ** 2))(np.array([1.0, 2.0, 3.0]))(np.array([1.0, 0.0, -1.0]))
result = (by_name, by_mass, hg, hg_vec, real_part, d, jv)
'''

JACOBIANS = '''
import autograd.numpy as np
from autograd import jacobian, hessian, tensor_jacobian_product, vector_jacobian_product

def rotate(theta, v):
    c, s = np.cos(theta), np.sin(theta)
    R = np.array([[c, -s], [s, c]])
    return np.dot(R, v)

def matrix_out(x):
    return np.outer(np.tanh(x), x) + np.diag(x ** 2)

v = np.array([1.0, 2.0])
x = np.array([0.3, -0.7, 1.1])
J_theta = jacobian(rotate)(0.4, v)
J_v = jacobian(rotate, 1)(0.4, v)
J_mat = jacobian(matrix_out)(x)
H_mat = hessian(lambda x: np.sum(matrix_out(x) ** 2))(x)
H_two = hessian(lambda a, b: np.sum(a * b ** 3), 1)(x, x + 1)
tjp = tensor_jacobian_product(matrix_out)(x, np.ones((3, 3)))
vjp = vector_jacobian_product(lambda x: np.sin(x) * x)(x, np.array([1.0, -1.0, 2.0]))
result = (J_theta, J_v, J_mat, H_mat, H_two, tjp, vjp)
'''

PRIMITIVES = '''
import autograd.numpy as np
from autograd import grad, hessian, jacobian, make_jvp
from autograd.extend import primitive, defvjp, defjvp
from autograd.test_util import check_grads

@primitive
def softplus(x):
    return onp.logaddexp(0.0, x)

@primitive
def sigmoid(x):
    return 1.0 / (1.0 + onp.exp(-x))

defvjp(softplus, lambda ans, x: lambda g: g * sigmoid(x))
defjvp(softplus, lambda g, ans, x: g * sigmoid(x))
defvjp(sigmoid, lambda ans, x: lambda g: g * ans * (1 - ans))
defjvp(sigmoid, lambda g, ans, x: g * ans * (1 - ans))

@primitive
def scaled_norm(x, scale):
    return scale * onp.sqrt(onp.sum(x ** 2))

defvjp(scaled_norm, lambda ans, x, scale: lambda g: g * scale * x / onp.sqrt(onp.sum(x ** 2)),
       lambda ans, x, scale: lambda g: g * ans / scale)

x = np.array([-1.0, 0.2, 2.5])
check_grads(softplus, modes=["fwd", "rev"], order=2)(x)
f = lambda x: np.sum(softplus(x) * x) + scaled_norm(x, 2.0)
result = (grad(f)(x), hessian(lambda x: np.sum(softplus(x) ** 2))(x), jacobian(softplus)(x),
          make_jvp(softplus)(x)(np.ones(3)), grad(scaled_norm, 1)(x, 3.0))
'''

BOXES_AND_CONTAINERS = '''
import autograd.numpy as np
from autograd import grad, value_and_grad, elementwise_grad
from autograd.numpy.numpy_boxes import ArrayBox
from autograd.tracer import getval

seen = []
def f(params):
    w, (b, extra) = params["w"], params["rest"]
    seen.append(isinstance(w, ArrayBox))
    raw = getval(w)
    seen.append(isinstance(raw, ArrayBox))
    clipped = np.clip(w, -1.0, 1.0)
    return np.sum(clipped * raw) + np.dot(b, b) * extra[0] + extra[1] ** 2

params = {"w": np.array([0.5, -2.0, 1.5]), "rest": (np.array([1.0, 2.0]), [3.0, np.array(0.5)])}
v, g = value_and_grad(f)(params)
lst = grad(lambda xs: xs[0] * xs[1] + np.sum(xs[2]))([2.0, 3.0, np.ones(2)])
tup = grad(lambda t, s: np.sum(t[0] ** 2) * s)((np.array([1.0, 2.0]),), 3.0)
eg = elementwise_grad(lambda x: np.where(x > 0, x ** 2, -x))(np.array([-1.0, 2.0]))
result = (v, g, lst, tup, eg, seen[0], seen[1], isinstance(np.ones(2), ArrayBox))
'''

BAYES_OPT = '''
import autograd.numpy as np
import autograd.numpy.random as npr
import autograd.scipy.stats.norm as norm
from autograd import value_and_grad
from scipy.optimize import minimize

def kernel(x, y, ell=0.6):
    return np.exp(-0.5 * (x[:, None] - y[None, :]) ** 2 / ell ** 2)

def objective(x):
    return np.sin(3 * x) + 0.3 * x ** 2

X = np.array([-1.5, -0.3, 0.8, 1.7])
Y = objective(X)

def posterior(xs):
    K = kernel(X, X) + 1e-6 * np.eye(len(X))
    ks = kernel(X, xs)
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, Y))
    v = np.linalg.solve(L, ks)
    mean = np.dot(ks.T, alpha)
    var = 1.0 - np.sum(v ** 2, axis=0)
    return mean, np.sqrt(np.maximum(var, 1e-12))

def neg_expected_improvement(x):
    mean, std = posterior(np.reshape(x, (1,)))
    best = np.min(Y)
    z = (best - mean) / std
    return -np.sum(std * (z * norm.cdf(z) + norm.pdf(z)))

starts = npr.RandomState(0).uniform(-2, 2, size=3)
found = []
for s in starts:
    res = minimize(value_and_grad(neg_expected_improvement), np.array([s]), jac=True, method="L-BFGS-B",
                   bounds=[(-2, 2)], options={"maxiter": 5})
    found.append((res.x, res.fun))
result = (found, value_and_grad(neg_expected_improvement)(np.array([0.1])))
'''

CONVNET = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad
from autograd.scipy.signal import convolve
from autograd.scipy.special import logsumexp

def conv_layer(inputs, filters, bias):
    out = convolve(inputs, filters, axes=([2, 3], [2, 3]), dot_axes=([1], [0]), mode="valid")
    return np.maximum(out + bias[None, :, None, None], 0.0)

def predict(params, images):
    filters, bias, w = params
    h = conv_layer(images, filters, bias)
    h = np.reshape(h, (images.shape[0], -1))
    logits = np.dot(h, w)
    return logits - logsumexp(logits, axis=1, keepdims=True)

rs = npr.RandomState(0)
images = rs.randn(4, 1, 6, 6)
labels = np.eye(3)[[0, 2, 1, 0]]
params = (0.3 * rs.randn(1, 2, 3, 3), 0.1 * rs.randn(2), 0.1 * rs.randn(2 * 4 * 4, 3))
loss = lambda p: -np.sum(predict(p, images) * labels)
g = grad(loss)
for _ in range(3):
    params = tuple(p - 0.05 * d for p, d in zip(params, g(params)))
result = (params, loss(params))
'''

RNN_SCAN = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad, value_and_grad
from autograd.misc.optimizers import adam

def step(params, h, x):
    return np.tanh(np.dot(np.concatenate([h, x]), params["W"]) + params["b"])

def loss(params, seqs, targets):
    total = 0.0
    for seq, target in zip(seqs, targets):
        h = np.zeros(3)
        hs = []
        for x in seq:
            h = step(params, h, x)
            hs.append(h)
        out = np.dot(np.stack(hs)[-1], params["out"])
        total = total + (out - target) ** 2
    return total / len(seqs)

rs = npr.RandomState(2)
params = {"W": 0.3 * rs.randn(5, 3), "b": np.zeros(3), "out": rs.randn(3)}
seqs = [rs.randn(4, 2), rs.randn(3, 2)]
targets = [0.5, -0.2]
objective = lambda p, i: loss(p, seqs, targets)
losses = []
trained = adam(grad(objective), params, step_size=0.05, num_iters=8,
               callback=lambda p, i, g: losses.append(objective(p, i)))
result = (trained, losses, value_and_grad(objective)(trained, 0))
'''

FIXED_POINT_AND_ODE = '''
import autograd.numpy as np
from autograd import grad, jacobian
from autograd.builtins import tuple as atuple
from autograd.misc.fixed_points import fixed_point
from autograd.scipy.integrate import odeint

def newton_sqrt_iter(a):
    return lambda x: 0.5 * (x + a / x)

def distance(x, y):
    return np.abs(x - y)

sqrt = lambda a: fixed_point(newton_sqrt_iter, a, 1.0, distance, 1e-10)

def decay(y, t, k):
    return -k * y + np.sin(t)

def final_state(k):
    ys = odeint(decay, np.array([1.0, 0.5]), np.array([0.0, 0.5, 1.0]), atuple((k,)), rtol=1e-10, atol=1e-10)
    return np.sum(ys[-1] ** 2)

result = (sqrt(2.0), grad(sqrt)(2.0), final_state(0.7), grad(final_state)(0.7),
          jacobian(lambda a: np.array([sqrt(a), sqrt(a) ** 3]))(3.0))
'''

CHECKPOINT_AND_GGN = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad, make_ggnvp, checkpoint, make_vjp

rs = npr.RandomState(3)
W1, W2 = rs.randn(3, 4), rs.randn(4, 2)
x = rs.randn(5, 3)

@checkpoint
def block(h, W):
    return np.tanh(np.dot(h, W))

def net(params):
    return block(block(x, params[0]), params[1])

loss = lambda out: 0.5 * np.sum(out ** 2)
g = grad(lambda p: loss(net(p)))([W1, W2])
flat_net = lambda w: np.tanh(np.dot(np.tanh(np.dot(x, w.reshape(3, 4))), W2))
ggnvp = make_ggnvp(flat_net, loss)(W1.ravel())
vjp, out = make_vjp(net)([W1, W2])
result = (g, ggnvp(np.ones(12)), vjp(1.0), vjp(np.ones((5, 2)) * 0.5), out)
'''

SCIPY_SPECIAL = '''
import autograd.numpy as np
import autograd.scipy.special as sp
import autograd.scipy.stats as stats
from autograd import grad, elementwise_grad

x = np.array([0.3, 1.7, 4.2])
fs = [sp.gammaln, sp.digamma, sp.erf, sp.expit, lambda v: sp.logsumexp(v * np.array([1.0, -2.0, 0.5])),
      lambda v: stats.t.logpdf(v, 3.0, 0.5, 2.0), lambda v: stats.gamma.logpdf(v, 2.5),
      lambda v: stats.beta.logpdf(v / 5.0, 2.0, 3.0), lambda v: stats.poisson.logpmf(np.array([1, 2, 3]), v)]
result = [(f(x), elementwise_grad(f)(x)) for f in fs]
cov = np.array([[2.0, 0.3], [0.3, 1.0]])
result.append(grad(lambda m: np.sum(stats.multivariate_normal.logpdf(np.eye(2), m, cov)))(np.zeros(2)))
result.append(grad(lambda a: stats.dirichlet.logpdf(np.array([0.2, 0.3, 0.5]), a))(np.array([1.5, 2.0, 3.0])))
'''

PROGRAMS = {
    "logistic_regression_history": LOGISTIC_HISTORY,
    "tanh": TANH,
    "hessian_vector_products": HVP,
    "flatten": FLATTEN,
    "optimizers_with_callbacks": OPTIMIZERS,
    "grad_named_and_holomorphic": NAMED_AND_COMPLEX,
    "jacobians_and_hessians": JACOBIANS,
    "primitives": PRIMITIVES,
    "boxes_and_containers": BOXES_AND_CONTAINERS,
    "bayesian_optimization": BAYES_OPT,
    "convnet": CONVNET,
    "rnn": RNN_SCAN,
    "fixed_point_and_odeint": FIXED_POINT_AND_ODE,
    "checkpoint_and_ggnvp": CHECKPOINT_AND_GGN,
    "scipy_special_and_stats": SCIPY_SPECIAL,
}


def test_only_import_lines_change():
    for source in PROGRAMS.values():
        changed = [(a, b) for a, b in zip(source.splitlines(), with_library(source, "chainrule").splitlines(),
                                          strict=True) if a != b]
        assert changed and all(a.lstrip().startswith(("import ", "from ")) for a, _ in changed)


def unboxed(value):
    """autograd's result with its boxes of finished traces (values the program kept from
    inside an objective) opened: chainrule gives those as plain values."""
    if isinstance(value, dict):
        return {k: unboxed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(unboxed(v) for v in value)
    return getattr(value, "_value", value)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_program_agrees_with_autograd(name):
    source = PROGRAMS[name]
    assert_same(unboxed(run(source, "autograd")), run(source, "chainrule"))
