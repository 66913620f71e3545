"""The kinds of program autograd's published examples are (a neural net, a Gaussian
process, a VAE, an RNN and an LSTM, a GAN, a fluid simulation, black-box variational
inference with a mixture or natural gradients, a Bayesian neural net, a primitive with
its own derivatives), written
against autograd's API as its users write them, each run twice: as written, and with
its import lines changed mechanically from ``autograd`` to ``chainrule``. The numbers
they compute must agree to 1e-10. Sizes are small so that each runs in well under a
second.
"""

import re

import numpy as onp
import pytest

pytest.importorskip("autograd")
pytest.importorskip("scipy")

from test_autograd_api import assert_same  # noqa: E402

NEURAL_NET = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad
from autograd.misc.flatten import flatten
from autograd.misc.optimizers import adam
from autograd.scipy.special import logsumexp

def init_params(scale, sizes, rs=npr.RandomState(0)):
    return [(scale * rs.randn(m, n), scale * rs.randn(n)) for m, n in zip(sizes[:-1], sizes[1:])]

def predict(params, inputs):
    for w, b in params:
        outputs = np.dot(inputs, w) + b
        inputs = np.tanh(outputs)
    return outputs - logsumexp(outputs, axis=1, keepdims=True)

def l2(params):
    flat, _ = flatten(params)
    return np.dot(flat, flat)

def log_posterior(params, inputs, targets, l2_reg):
    return -l2_reg * l2(params) + np.sum(predict(params, inputs) * targets)

rs = npr.RandomState(1)
inputs = rs.randn(40, 6)
targets = onp.eye(3)[rs.randint(0, 3, size=40)]
params = init_params(0.1, [6, 8, 3])
batches = [slice(0, 20), slice(20, 40)]

def objective(params, i):
    idx = batches[i % 2]
    return -log_posterior(params, inputs[idx], targets[idx], 0.01)

trace = []
def callback(params, i, g):
    trace.append(objective(params, i))

trained = adam(grad(objective), params, step_size=0.05, num_iters=25, callback=callback)
result = (trained, trace, np.mean(np.argmax(predict(trained, inputs), axis=1) == np.argmax(targets, axis=1)))
'''

GAUSSIAN_PROCESS = '''
import autograd.numpy as np
import autograd.numpy.random as npr
import autograd.scipy.stats.multivariate_normal as mvn
from autograd import value_and_grad
from autograd.numpy.linalg import solve

def rbf(kernel_params, x, xp):
    scale = np.exp(kernel_params[0])
    lengths = np.exp(kernel_params[1:])
    diffs = np.expand_dims(x / lengths, 1) - np.expand_dims(xp / lengths, 0)
    return scale * np.exp(-0.5 * np.sum(diffs ** 2, axis=2))

def unpack(params):
    return params[0], params[2:], np.exp(params[1]) + 0.0001

def log_marginal_likelihood(params, x, y):
    mean, cov_params, noise = unpack(params)
    cov_y_y = rbf(cov_params, x, x) + noise * np.eye(len(y))
    return mvn.logpdf(y, mean * np.ones(len(y)), cov_y_y)

def predict(params, x, y, xstar):
    mean, cov_params, noise = unpack(params)
    cov_y_y = rbf(cov_params, x, x) + noise * np.eye(len(y))
    cov_y_f = rbf(cov_params, x, xstar)
    pred_mean = mean + np.dot(solve(cov_y_y, cov_y_f).T, y - mean)
    pred_cov = rbf(cov_params, xstar, xstar) - np.dot(solve(cov_y_y, cov_y_f).T, cov_y_f)
    return pred_mean, pred_cov

rs = npr.RandomState(0)
x = np.concatenate([np.linspace(0, 3, num=6), np.linspace(6, 8, num=6)])
y = (np.cos(x) + rs.randn(12) * 0.1) / 2.0
x = ((x - 4.0) / 2.0).reshape((12, 1))
objective = lambda params: -log_marginal_likelihood(params, x, y)
params = 0.1 * rs.randn(4)
steps = []
for _ in range(5):
    value, g = value_and_grad(objective)(params)
    steps.append((value, g))
    params = params - 0.05 * g
mean, cov = predict(params, x, y, np.reshape(np.linspace(-3, 3, 5), (5, 1)))
result = (steps, mean, np.sqrt(np.diag(cov)))
'''

VAE = '''
import autograd.numpy as np
import autograd.numpy.random as npr
import autograd.scipy.stats.norm as norm
from autograd import grad
from autograd.misc.optimizers import adam
from autograd.scipy.special import expit as sigmoid

def init_net(scale, sizes, rs):
    return [(scale * rs.randn(m, n), scale * rs.randn(n)) for m, n in zip(sizes[:-1], sizes[1:])]

def batch_normalize(a):
    return (a - np.mean(a, axis=0, keepdims=True)) / (np.std(a, axis=0, keepdims=True) + 1)

def net(params, inputs):
    for w, b in params[:-1]:
        inputs = np.maximum(0, batch_normalize(np.dot(inputs, w) + b))
    w, b = params[-1]
    return np.dot(inputs, w) + b

def diag_gaussian_log_density(x, mu, log_std):
    return np.sum(norm.logpdf(x, mu, np.exp(log_std)), axis=-1)

def lower_bound(gen, rec, data, rs):
    out = net(rec, data)
    d = np.shape(out)[-1] // 2
    q_mean, q_log_std = out[:, :d], out[:, d:]
    latents = rs.randn(*q_mean.shape) * np.exp(q_log_std) + q_mean
    q = diag_gaussian_log_density(latents, q_mean, q_log_std)
    p = diag_gaussian_log_density(latents, 0, 0)
    logits = net(gen, latents)
    like = np.sum(-np.logaddexp(0, -logits * data), axis=-1)
    return np.mean(p + like - q)

rs = npr.RandomState(0)
data = np.where(rs.rand(16, 12) > 0.5, 1.0, -1.0)
params = (init_net(0.1, [2, 8, 12], rs), init_net(0.1, [12, 8, 4], rs))
seed = npr.RandomState(3)
objective = lambda params, i: -lower_bound(params[0], params[1], data, seed) / 12
g0 = grad(objective)(params, 0)
trained = adam(grad(objective), params, step_size=0.01, num_iters=8)
samples = sigmoid(net(trained[0], npr.RandomState(5).randn(3, 2)))
result = (g0, trained, samples)
'''

RNN = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad
from autograd.misc.optimizers import adam
from autograd.scipy.special import logsumexp

def sigmoid(x):
    return 0.5 * (np.tanh(x) + 1.0)

def concat_and_multiply(weights, *args):
    cat_state = np.hstack(args + (np.ones((args[0].shape[0], 1)),))
    return np.dot(cat_state, weights)

def rnn_predict(params, inputs):
    hiddens = np.repeat(params["init hiddens"], inputs.shape[1], axis=0)
    def to_output(h):
        out = concat_and_multiply(params["predict"], h)
        return out - logsumexp(out, axis=1, keepdims=True)
    outputs = [to_output(hiddens)]
    for x in inputs:
        gate = sigmoid(concat_and_multiply(params["gate"], x, hiddens))
        hiddens = gate * np.tanh(concat_and_multiply(params["change"], x, hiddens)) + (1 - gate) * hiddens
        outputs.append(to_output(hiddens))
    return outputs

def log_likelihood(params, inputs, targets):
    logprobs = rnn_predict(params, inputs)
    total = 0.0
    for t in range(inputs.shape[0]):
        total += np.sum(logprobs[t] * targets[t])
    return total / (inputs.shape[0] * inputs.shape[1])

rs = npr.RandomState(0)
chars, state = 6, 5
params = {"init hiddens": rs.randn(1, state) * 0.1,
          "change": rs.randn(chars + state + 1, state) * 0.1,
          "gate": rs.randn(chars + state + 1, state) * 0.1,
          "predict": rs.randn(state + 1, chars) * 0.1}
seqs = onp.eye(chars)[rs.randint(0, chars, size=(7, 3))]
loss = lambda p, i: -log_likelihood(p, seqs, seqs)
trained = adam(grad(loss), params, step_size=0.1, num_iters=10)
result = (grad(loss)(params, 0), trained, np.asarray(rnn_predict(trained, seqs))[-1])
'''

FLUIDSIM = '''
import autograd.numpy as np
from autograd import value_and_grad

def project(vx, vy):
    p = np.zeros(vx.shape)
    h = 1.0 / vx.shape[0]
    div = -0.5 * h * (np.roll(vx, -1, axis=0) - np.roll(vx, 1, axis=0)
                      + np.roll(vy, -1, axis=1) - np.roll(vy, 1, axis=1))
    for k in range(5):
        p = (div + np.roll(p, 1, axis=0) + np.roll(p, -1, axis=0)
             + np.roll(p, 1, axis=1) + np.roll(p, -1, axis=1)) / 4.0
    vx = vx - 0.5 * (np.roll(p, -1, axis=0) - np.roll(p, 1, axis=0)) / h
    vy = vy - 0.5 * (np.roll(p, -1, axis=1) - np.roll(p, 1, axis=1)) / h
    return vx, vy

def advect(f, vx, vy):
    rows, cols = f.shape
    cell_ys, cell_xs = np.meshgrid(np.arange(rows), np.arange(cols))
    center_xs = (cell_xs - vx).ravel()
    center_ys = (cell_ys - vy).ravel()
    left_ix = np.floor(center_xs).astype(int)
    top_ix = np.floor(center_ys).astype(int)
    rw = center_xs - left_ix
    bw = center_ys - top_ix
    left_ix = np.mod(left_ix, rows)
    right_ix = np.mod(left_ix + 1, rows)
    top_ix = np.mod(top_ix, cols)
    bot_ix = np.mod(top_ix + 1, cols)
    flat_f = (1 - rw) * ((1 - bw) * f[left_ix, top_ix] + bw * f[left_ix, bot_ix]) \\
        + rw * ((1 - bw) * f[right_ix, top_ix] + bw * f[right_ix, bot_ix])
    return np.reshape(flat_f, (rows, cols))

def simulate(vx, vy, smoke, steps):
    for t in range(steps):
        vx_new, vy_new = advect(vx, vx, vy), advect(vy, vx, vy)
        vx, vy = project(vx_new, vy_new)
        smoke = advect(smoke, vx, vy)
    return smoke

n = 8
rs = onp.random.RandomState(0)
smoke0, target = rs.rand(n, n), rs.rand(n, n)

def objective(params):
    vx, vy = np.reshape(params[: n * n], (n, n)), np.reshape(params[n * n:], (n, n))
    return np.mean((target - simulate(vx, vy, smoke0, 3)) ** 2)

result = value_and_grad(objective)(0.3 * rs.randn(2 * n * n))
'''

BBVI = '''
import autograd.numpy as np
import autograd.numpy.random as npr
import autograd.scipy.stats.norm as norm
from autograd import grad
from autograd.misc.optimizers import adam

def black_box_variational_inference(logprob, D, num_samples):
    def unpack(params):
        return params[:D], params[D:]

    def entropy(log_std):
        return 0.5 * D * (1.0 + np.log(2 * np.pi)) + np.sum(log_std)

    rs = npr.RandomState(0)
    def objective(params, t):
        mean, log_std = unpack(params)
        samples = rs.randn(num_samples, D) * np.exp(log_std) + mean
        return -(entropy(log_std) + np.mean(logprob(samples, t)))

    return objective, grad(objective), unpack

def log_posterior(x, t):
    mu, log_sigma = x[:, 0], x[:, 1]
    return norm.logpdf(log_sigma, 0, 1.35) + norm.logpdf(mu, 0, np.exp(log_sigma))

objective, gradient, unpack = black_box_variational_inference(log_posterior, 2, num_samples=50)
bounds = []
init = np.concatenate([-1 * np.ones(2), -5 * np.ones(2)])
params = adam(gradient, init, step_size=0.1, num_iters=30,
              callback=lambda p, t, g: bounds.append(-objective(p, t)))
result = (params, bounds)
'''

HMM_EM = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import value_and_grad
from autograd.scipy.special import logsumexp

def log_partition(natural_params, sequences):
    log_pi, log_A, log_B = natural_params
    total = 0.0
    for seq in sequences:
        log_alpha = log_pi + log_B[:, seq[0]]
        for y in seq[1:]:
            log_alpha = logsumexp(log_alpha[:, None] + log_A, axis=0) + log_B[:, y]
        total = total + logsumexp(log_alpha)
    return total

def normalize(a):
    return a / np.sum(a, axis=-1, keepdims=True)

def em_step(params, sequences):
    natural = tuple(np.log(p) for p in params)
    loglik, expected = value_and_grad(log_partition)(natural, sequences)
    return tuple(normalize(e) for e in expected), loglik

rs = npr.RandomState(0)
states, symbols = 3, 4
params = (normalize(rs.rand(states)), normalize(rs.rand(states, states)), normalize(rs.rand(states, symbols)))
sequences = [rs.randint(0, symbols, size=9) for _ in range(4)]
logliks = []
for _ in range(4):
    params, loglik = em_step(params, sequences)
    logliks.append(loglik)
result = (params, logliks)
'''

ODE_NET = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad
from autograd.builtins import tuple
from autograd.scipy.integrate import odeint

def dynamics(y, t, w, b):
    return np.tanh(np.dot(w, y) + b) - 0.1 * y

rs = npr.RandomState(0)
w, b = 0.5 * rs.randn(2, 2), 0.1 * rs.randn(2)
y0, ts = np.array([1.0, -0.5]), np.linspace(0.0, 1.0, 4)
target = np.array([[1.0, -0.5], [0.8, 0.0], [0.6, 0.3], [0.5, 0.5]])

def loss(y0, w, b):
    path = odeint(dynamics, y0, ts, tuple((w, b)), rtol=1e-10, atol=1e-10)
    return np.sum((path - target) ** 2)

result = (loss(y0, w, b), grad(loss, (0, 1, 2))(y0, w, b))
'''

CONVNET = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad
from autograd.scipy.signal import convolve
from autograd.scipy.special import logsumexp

def conv_layer(inputs, filters, biases):
    # inputs (batch, in, h, w), filters (in, out, fh, fw): autograd's n-d convolve with dot axes
    conv = convolve(inputs, filters, axes=([2, 3], [2, 3]), dot_axes=([1], [0]), mode="valid")
    return np.maximum(0.0, conv + biases[None, :, None, None])

def maxpool(x):
    b, c, h, w = x.shape
    return np.max(np.max(x.reshape((b, c, h // 2, 2, w // 2, 2)), axis=3), axis=4)

def log_probs(params, images):
    filters, biases, weights = params
    hidden = maxpool(conv_layer(images, filters, biases))
    out = np.dot(hidden.reshape((images.shape[0], -1)), weights)
    return out - logsumexp(out, axis=1, keepdims=True)

rs = npr.RandomState(0)
images = rs.randn(3, 1, 6, 6)
labels = onp.eye(2)[[0, 1, 1]]
params = (0.3 * rs.randn(1, 2, 3, 3), 0.1 * rs.randn(2), 0.3 * rs.randn(8, 2))
loss = lambda params: -np.sum(log_probs(params, images) * labels)
result = (loss(params), grad(loss)(params))
'''

GMM = '''
import autograd.numpy as np
import autograd.numpy.random as npr
import autograd.scipy.stats.multivariate_normal as mvn
from autograd import grad
from autograd.misc.flatten import flatten
from autograd.misc.optimizers import adam
from autograd.scipy.special import logsumexp

def unpack(params):
    normalized_log_proportions = params["log proportions"] - logsumexp(params["log proportions"])
    return normalized_log_proportions, params["means"], params["lower triangles"]

def log_marginal_likelihood(params, data):
    log_props, means, chols = unpack(params)
    cluster_lls = []
    for log_prop, mean, chol in zip(log_props, means, chols):
        cov = np.dot(chol.T, chol) + 0.1 * np.eye(2)
        cluster_lls.append(log_prop + mvn.logpdf(data, mean, cov))
    return np.sum(logsumexp(np.vstack(cluster_lls), axis=0))

rs = npr.RandomState(0)
data = np.concatenate([rs.randn(10, 2) + 2.0, rs.randn(10, 2) - 2.0])
params = {"log proportions": rs.randn(2), "means": rs.randn(2, 2), "lower triangles": np.array([np.eye(2)] * 2)}
objective = lambda params, t: -log_marginal_likelihood(params, data)
trained = adam(grad(objective), params, step_size=0.1, num_iters=10)
result = (trained, objective(trained, 0), flatten(grad(objective)(trained, 0))[0])
'''

GAN = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad
from autograd.misc import flatten

def leaky(x):
    return np.maximum(0, x) + 0.01 * np.minimum(0, x)

def squash(x):
    return 0.5 * (np.tanh(x) + 1.0)

def log_squash(x):
    return x - np.logaddexp(0, x)

def layers(scale, sizes, rs):
    return [(scale * rs.randn(m, n), scale * rs.randn(n)) for m, n in zip(sizes[:-1], sizes[1:])]

def normalize(a):
    return (a - np.mean(a, axis=0, keepdims=True)) / (np.std(a, axis=0, keepdims=True) + 1)

def net(params, x):
    w, b = params[0]
    x = leaky(np.dot(x, w) + b)
    for w, b in params[1:-1]:
        x = leaky(normalize(np.dot(x, w) + b))
    w, b = params[-1]
    return np.dot(x, w) + b

def fake(gen, n, rs):
    return squash(net(gen, rs.rand(n, 3)))

def objective(gen, dsc, real, rs):
    return np.mean(log_squash(net(dsc, real))) - np.mean(log_squash(net(dsc, fake(gen, 6, rs))))

def minimax(grad_both, x_max, x_min, steps, rate=0.05):
    x_max, un_max = flatten(x_max)
    x_min, un_min = flatten(x_min)
    m_max, m_min = np.zeros(len(x_max)), np.zeros(len(x_min))
    trace = []
    for i in range(steps):
        g_max, g_min = grad_both(un_max(x_max), un_min(x_min), i)
        g_max, _ = flatten(g_max)
        g_min, _ = flatten(g_min)
        m_max = 0.9 * m_max + 0.1 * g_max
        m_min = 0.9 * m_min + 0.1 * g_min
        x_max = x_max + rate * m_max / (1 - 0.9 ** (i + 1))
        x_min = x_min - rate * m_min / (1 - 0.9 ** (i + 1))
        trace.append(np.sum(g_max ** 2) + np.sum(g_min ** 2))
    return un_max(x_max), un_min(x_min), trace

rs = npr.RandomState(0)
real = rs.rand(6, 5)
gen, dsc = layers(0.3, [3, 7, 7, 5], rs), layers(0.3, [5, 7, 1], rs)
seed = npr.RandomState(1)
both = grad(lambda g, d, i: objective(g, d, real, seed), argnum=(0, 1))
result = minimax(both, gen, dsc, 6)
'''

MOG_BBVI = '''
import autograd.numpy as np
import autograd.numpy.random as npr
import autograd.scipy.stats.norm as norm
from autograd.scipy.special import logsumexp
from autograd import grad
from autograd.misc.optimizers import adam

def log_diag_gauss(x, mu, log_std):
    return np.sum(norm.logpdf(x, mu, np.exp(log_std)), axis=-1)

def split(params):
    d = np.shape(params)[0] // 2
    return params[:d], params[d:]

def sample(params, n, rs):
    mean, log_std = split(params)
    return rs.randn(n, np.shape(mean)[0]) * np.exp(log_std) + mean

def build(logprob, n, k, rs):
    def unpack(mix):
        log_w = mix[:k] - logsumexp(mix[:k])
        return log_w, np.reshape(mix[k:], (k, -1))

    def log_density(mix, x):
        log_w, comps = unpack(mix)
        dens = np.vstack([log_diag_gauss(x, *split(c)) for c in comps]).T
        return logsumexp(dens + log_w, axis=1, keepdims=False)

    def elbo(mix, t):
        log_w, comps = unpack(mix)
        def bound(c):
            s = sample(c, n, rs)
            return np.mean(np.reshape(logprob(s, t), (n, -1)) - np.reshape(log_density(mix, s), (n, -1)))
        return np.sum(np.stack([bound(c) for c in comps]) * np.exp(log_w))

    return elbo, log_density

def target(x, t):
    mu, log_sigma = x[:, 0], x[:, 1]
    a = norm.logpdf(log_sigma, 0, 1.35) + norm.logpdf(mu, -0.5, np.exp(log_sigma))
    b = norm.logpdf(log_sigma, 0.1, 1.35) + norm.logpdf(mu, 0.5, np.exp(log_sigma))
    return np.logaddexp(a, b)

k = 3
elbo, log_density = build(target, 8, k, npr.RandomState(0))
rs = npr.RandomState(2)
comps = [np.concatenate([-1 + 0.1 * rs.randn(2), -2 + 0.1 * rs.randn(2)]) for _ in range(k)]
init = np.concatenate([np.ones(k)] + comps)
bounds = []
trained = adam(grad(lambda p, t: -elbo(p, t)), init, step_size=0.1, num_iters=6,
               callback=lambda p, t, g: bounds.append(elbo(p, t)))
grid = np.concatenate([np.atleast_2d(np.linspace(-2, 2, 4)), np.atleast_2d(np.linspace(-1, 1, 4))]).T
result = (trained, bounds, np.exp(log_density(trained, grid)))
'''

LSTM = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad
from autograd.scipy.special import logsumexp
from autograd.misc.optimizers import rmsprop, sgd

def sigmoid(x):
    return 0.5 * (np.tanh(x) + 1.0)

def affine(w, *args):
    x = np.concatenate(args + (np.ones((args[0].shape[0], 1)),), axis=1)
    return np.dot(x, w)

def predict(params, inputs):
    n = inputs.shape[1]
    h = np.repeat(params["h0"], n, axis=0)
    c = np.repeat(params["c0"], n, axis=0)
    outs = []
    for x in inputs:
        f = sigmoid(affine(params["forget"], x, h))
        i = sigmoid(affine(params["in"], x, h))
        o = sigmoid(affine(params["out"], x, h))
        c = c * f + i * np.tanh(affine(params["cell"], x, h))
        h = o * np.tanh(c)
        y = affine(params["predict"], h)
        outs.append(y - logsumexp(y, axis=1, keepdims=True))
    return outs

def nll(params, seqs):
    outs = predict(params, seqs[:-1])
    return -sum(np.sum(o * t) for o, t in zip(outs, seqs[1:])) / seqs.size

rs = npr.RandomState(0)
v, s = 5, 4
params = {name: 0.1 * rs.randn(v + s + 1, s) for name in ("forget", "in", "out", "cell")}
params.update({"h0": 0.1 * rs.randn(1, s), "c0": 0.1 * rs.randn(1, s), "predict": 0.1 * rs.randn(s + 1, v)})
seqs = onp.eye(v)[rs.randint(0, v, size=(6, 3))]
g = grad(lambda p, i: nll(p, seqs))
r = rmsprop(g, params, step_size=0.05, num_iters=5)
m = sgd(g, params, step_size=0.5, num_iters=5, mass=0.8)
result = (g(params, 0), r, m, predict(r, seqs)[-1])
'''

NATGRAD = '''
import autograd.numpy as np
import autograd.numpy.random as npr
import autograd.scipy.stats.norm as norm
from autograd import grad, elementwise_grad, hessian
from autograd.misc.optimizers import adam, sgd

def target(x, t):
    return np.sum(norm.logpdf(x, 0.5, 1.5), axis=-1) - 0.1 * np.sum(x ** 4, axis=-1)

def unpack(params):
    d = len(params) // 2
    return params[:d], params[d:]

def elbo(params, t, rs):
    mean, log_std = unpack(params)
    s = rs.randn(10, len(mean)) * np.exp(log_std) + mean
    return np.mean(target(s, t)) + np.sum(log_std)

def fisher_diag(params):
    mean, log_std = unpack(params)
    return np.concatenate([np.exp(-2 * log_std), 2 * np.ones(len(log_std))])

rs = npr.RandomState(0)
init = np.concatenate([rs.randn(2), -1 * np.ones(2)])
g = grad(lambda p, i: -elbo(p, i, npr.RandomState(i)))
nat = lambda p, i: g(p, i) / fisher_diag(p)
a = sgd(nat, init, step_size=0.05, num_iters=8)
b = adam(g, init, step_size=0.05, num_iters=8)
h = hessian(lambda p: elbo(p, 0, npr.RandomState(0)))(init)
eg = elementwise_grad(lambda m: target(m[None, :] + onp.zeros((3, 1)), 0))(init[:2] + onp.zeros((3, 2)))
result = (a, b, h, eg)
'''

DEFINE_GRADIENT = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad
from autograd.extend import primitive, defvjp, defjvp
from autograd.test_util import check_grads

@primitive
def lse(x):
    m = onp.max(x)
    return m + onp.log(onp.sum(onp.exp(x - m)))

def lse_vjp(ans, x):
    return lambda g: np.full(x.shape, g) * np.exp(x - np.full(x.shape, ans))

defvjp(lse, lse_vjp)
defjvp(lse, lambda g, ans, x: np.sum(g * np.exp(x - ans)))

def model(params, x):
    return lse(np.tanh(x * params))

x = npr.RandomState(0).randn(4)
p = npr.RandomState(1).randn(4)
check_grads(model, modes=["rev"], order=1)(p, x)
g = grad(model)(p, x)
gg = grad(lambda q: np.sum(grad(model)(q, x) ** 2))(p)
result = (g, gg, model(p, x))
'''

SINUSOID = '''
import autograd.numpy as np
from autograd import grad, elementwise_grad as egrad

def fun(x):
    return np.sin(x)

def taylor_sine(x):
    ans = term = x
    total = 0
    while np.abs(term) > 1e-6:
        term = -term * x ** 2 / ((2 * total + 3) * (2 * total + 2))
        ans = ans + term
        total += 1
    return ans

xs = np.linspace(-7, 7, 9)
derivs = [fun(xs)]
f = fun
for _ in range(4):
    f = egrad(f)
    derivs.append(f(xs))
t = [grad(taylor_sine)(v) for v in [0.0, 1.5, -2.25, 3.0]]
tt = grad(grad(taylor_sine))(np.pi)
result = (derivs, t, tt)
'''

BAYES_NN = '''
import autograd.numpy as np
import autograd.numpy.random as npr
import autograd.scipy.stats.norm as norm
from autograd import grad
from autograd.misc.optimizers import adam

def make_nn_funs(sizes, l2=0.1, noise=0.1, nonlin=np.tanh):
    shapes = list(zip(sizes[:-1], sizes[1:]))
    n = sum((m + 1) * k for m, k in shapes)

    def unpack(ws):
        s = len(ws)
        for m, k in shapes:
            yield ws[:, :m * k].reshape((s, m, k)), ws[:, m * k:m * k + k].reshape((s, 1, k))
            ws = ws[:, (m + 1) * k:]

    def predict(ws, x):
        x = np.expand_dims(x, 0)
        for w, b in unpack(ws):
            out = np.einsum("mnd,mdo->mno", x, w) + b
            x = nonlin(out)
        return out

    def logprob(ws, x, y):
        prior = -l2 * np.sum(ws ** 2, axis=1)
        like = norm.logpdf(predict(ws, x), y, noise)
        return prior + np.sum(like, axis=(1, 2))

    return n, predict, logprob

def bbvi(logprob, d, samples):
    def unpack(p):
        return p[:d], p[d:]
    def entropy(log_std):
        return 0.5 * d * (1.0 + np.log(2 * np.pi)) + np.sum(log_std)
    rs = npr.RandomState(0)
    def bound(p, t):
        mean, log_std = unpack(p)
        s = rs.randn(samples, d) * np.exp(log_std) + mean
        return entropy(log_std) + np.mean(logprob(s, t))
    return grad(lambda p, t: -bound(p, t)), bound

n, predict, logprob = make_nn_funs([1, 5, 1])
rs = npr.RandomState(0)
x = np.linspace(-3, 3, 8).reshape((8, 1))
y = np.cos(x) + 0.1 * rs.randn(8, 1)
g, bound = bbvi(lambda w, t: logprob(w, x, y), n, 4)
init = np.concatenate([rs.randn(n) * 0.1, -3 * np.ones(n)])
seen = []
trained = adam(g, init, step_size=0.05, num_iters=6, callback=lambda p, t, gr: seen.append(bound(p, t)))
result = (trained, seen, predict(npr.RandomState(3).randn(2, n), x))
'''

# surpyval's Gamma hazard (trimmed, with a simpler function): primitives whose vjp rules
# call primitives for the first derivatives, whose own rules give the second derivatives
# with getval (higher orders cut) and unbroadcast_f; fitted by damped Newton steps
SURPYVAL = '''
import autograd.numpy as np
from autograd import grad, hessian, elementwise_grad
from autograd.extend import defvjp, primitive
from autograd.numpy.numpy_vjps import unbroadcast_f
from autograd.tracer import getval

def _plain_float(v):
    return v if onp.ndim(v) else float(v)

@primitive
def h(a, y):
    return _plain_float(onp.log1p(a * y ** 2))

@primitive
def h_da(a, y):
    return _plain_float(y ** 2 / (1 + a * y ** 2))

@primitive
def h_dy(a, y):
    return _plain_float(2 * a * y / (1 + a * y ** 2))

def _second(a, y):
    q = 1 + a * y ** 2
    return (-(y ** 4) / q ** 2, 2 * y / q ** 2, (2 * a * q - 4 * a ** 2 * y ** 2) / q ** 2)

def _vjp(target_is_a, k):
    def make(ans, a, y):
        second = _second(getval(a), getval(y))[k]
        target = a if target_is_a else y
        return unbroadcast_f(target, lambda g: getval(g) * second)
    return make

defvjp(h, lambda ans, a, y: unbroadcast_f(a, lambda g: g * h_da(a, y)),
       lambda ans, a, y: unbroadcast_f(y, lambda g: g * h_dy(a, y)))
defvjp(h_da, _vjp(True, 0), _vjp(False, 1))
defvjp(h_dy, _vjp(True, 1), _vjp(False, 2))

x = onp.array([0.5, 1.5, 2.5, 4.0])
neg_ll = lambda p: -np.sum(np.log(p[1]) - h(np.exp(p[0]), x * p[1]))
p = onp.array([0.2, 0.7])
steps = []
for _ in range(3):
    H = hessian(neg_ll)(p)
    steps.append(H)
    p = p - onp.linalg.solve(H + 10 * onp.eye(2), grad(neg_ll)(p))
result = (steps, p, elementwise_grad(h, 1)(1.3, x), elementwise_grad(elementwise_grad(h, 1), 0)(onp.full(4, 1.3), x))
'''

# tidy3d's inverse-design helpers: SciPy functions made primitives, with rules that hand
# the cotangent to SciPy again (which takes no Tensor); Jacobians of a filtered design
SCIPY_RULES = '''
import autograd.numpy as np
from autograd import grad, jacobian
from autograd.extend import defjvp, defvjp, primitive
from scipy.ndimage import gaussian_filter

gaussian = primitive(gaussian_filter)
defvjp(gaussian, lambda ans, x, *args, **kwargs: lambda g: gaussian_filter(g, *args, **kwargs))
unwrap = primitive(onp.unwrap)
defjvp(unwrap, lambda g, ans, x, *args, **kwargs: g)
defvjp(unwrap, lambda ans, x, *args, **kwargs: lambda g: g)

def design(rho):
    return np.tanh(3 * gaussian(rho, 1.0, mode="reflect")) * unwrap(rho * 4)

rho = onp.random.RandomState(0).rand(6)
tall = lambda r: np.concatenate([design(r), design(r) ** 2])
result = (design(rho), jacobian(design)(rho), jacobian(tall)(rho), grad(lambda r: np.sum(design(r) ** 2))(rho))
'''

# tidy3d's differentiable helpers (plugins/autograd/functions.py, trimmed): add_at, a
# primitive whose forward rule is autograd.numpy.numpy_jvps.broadcast, and trapz
TIDY3D_FUNCTIONS = '''
import autograd.numpy as anp
import numpy as np
from autograd import grad, jacobian, make_jvp
from autograd.extend import defjvp, defvjp, primitive
from autograd.numpy.numpy_jvps import broadcast
from autograd.numpy.numpy_vjps import unbroadcast_f

def trapz(y, x, axis=-1):
    d = np.diff(x)
    shape = [1] * y.ndim
    shape[axis] = d.shape[0]
    d = np.reshape(d, shape)
    slice1 = [slice(None)] * y.ndim
    slice2 = [slice(None)] * y.ndim
    slice1[axis] = slice(1, None)
    slice2[axis] = slice(None, -1)
    return anp.sum((y[tuple(slice1)] + y[tuple(slice2)]) * d / 2, axis=axis)

@primitive
def add_at(x, indices_x, y):
    out = np.copy(x)
    out[tuple(indices_x)] += y
    return out

defvjp(add_at, lambda ans, x, indices_x, y: unbroadcast_f(x, lambda g: g),
       lambda ans, x, indices_x, y: lambda g: g[tuple(indices_x)], argnums=(0, 2))
defjvp(add_at, lambda g, ans, x, indices_x, y: broadcast(g, ans),
       lambda g, ans, x, indices_x, y: add_at(anp.zeros_like(ans), indices_x, g), argnums=(0, 2))

xs = np.linspace(0, 1, 7)
rows = (np.array([0, 2, 3]),)

def model(v):
    base = add_at(anp.tanh(v[:4]), rows, v[4:] ** 2)
    return trapz(anp.outer(base, xs) ** 2, xs, axis=1)

v = np.random.RandomState(0).rand(7)
at_row = lambda x: add_at(x, (np.array([0, 1]),), np.ones(3))
result = (model(v), jacobian(model)(v), grad(lambda v: anp.sum(model(v) ** 2))(v),
          make_jvp(lambda y: add_at(anp.ones((2, 3)), (np.array([0, 1]),), y))(np.ones(3))(np.arange(3.0)),
          make_jvp(at_row)(np.ones((2, 3)))(np.arange(6.0).reshape(2, 3)),
          broadcast(np.arange(2.0), np.zeros((3, 2), complex)))
'''

PROGRAMS = {
    "neural_net": NEURAL_NET,
    "gaussian_process": GAUSSIAN_PROCESS,
    "vae": VAE,
    "rnn": RNN,
    "fluidsim": FLUIDSIM,
    "bbvi": BBVI,
    "hmm_em": HMM_EM,
    "ode_net": ODE_NET,
    "convnet": CONVNET,
    "gmm": GMM,
    "generative_adversarial_net": GAN,
    "mixture_variational_inference": MOG_BBVI,
    "lstm": LSTM,
    "natural_gradient_bbvi": NATGRAD,
    "define_gradient": DEFINE_GRADIENT,
    "sinusoid": SINUSOID,
    "bayesian_neural_net": BAYES_NN,
    "surpyval_hazard": SURPYVAL,
    "scipy_functions_with_rules": SCIPY_RULES,
    "tidy3d_functions": TIDY3D_FUNCTIONS,
}


def with_library(source: str, library: str) -> str:
    """The program with its import lines (and only those) naming ``library``."""
    return re.sub(r"^(\s*(?:import|from) )autograd\b", rf"\g<1>{library}", source, flags=re.M)


def run(source: str, library: str):
    namespace = {"onp": onp}
    onp.random.seed(0)
    exec(compile(with_library(source, library), f"<{library} program>", "exec"), namespace)
    return namespace["result"]


def test_only_import_lines_change():
    for source in PROGRAMS.values():
        changed = [(a, b) for a, b in zip(source.splitlines(), with_library(source, "chainrule").splitlines(),
                                          strict=True) if a != b]
        assert changed and all(a.lstrip().startswith(("import ", "from ")) for a, _ in changed)


# Programs whose results amplify rounding: the VAE's biases before a batch normalisation
# have a gradient of exactly 0 up to rounding (1e-19), which Adam divides by sqrt(v) + eps,
# so the two libraries' sums, rounded differently, move the trained weights apart by ~1e-11.
ROUNDOFF_AMPLIFIED = {"vae": 1e-10}

# Programs that stop on a known missing piece of the NumPy mirror (named in the reason).
KNOWN_GAPS: dict[str, str] = {}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[n])) if n in KNOWN_GAPS else n
    for n in PROGRAMS
])
def test_example_program_agrees_with_autograd(name):
    source = PROGRAMS[name]
    assert_same(run(source, "autograd"), run(source, "chainrule"), atol=ROUNDOFF_AMPLIFIED.get(name, 1e-12))
