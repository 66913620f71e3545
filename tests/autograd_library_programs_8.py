"""Programs written in the style of libraries built on HIPS autograd (part 8; see
autograd_library_programs.py)."""

# opt_einsum under autograd (quimb's and PennyLane's contractions go through it): the backend is
# named from the first operand's class unless given ("autograd" for a box, mapped to
# autograd.numpy), and each pairwise contraction calls that module's tensordot(x, y, axes=...)
OPT_EINSUM = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as anp
import opt_einsum as oe
from autograd import grad, hessian, make_jvp

rs = onp.random.RandomState(19)
A, B, C = rs.randn(3, 4), rs.randn(4, 5), rs.randn(5, 3)
ring = lambda a: oe.contract("ij,jk,ki->", a, B, C)
expr = oe.contract_expression("ij,jk,kl->il", (3, 4), (4, 5), (5, 3))
res = {"library": autograd.__name__}
res["inferred"] = [float(ring(A)), grad(ring)(A).tolist()]
res["named"] = grad(lambda a: oe.contract("ij,jk,ki->", a, B, C, backend="autograd") ** 2)(A).tolist()
res["expression"] = grad(lambda a: anp.sum(expr(a, B, C) ** 2))(A).tolist()
res["hessian"] = hessian(lambda a: anp.sum(anp.tanh(oe.contract("ij,jk->ik", a, B))))(A)[0, 0].tolist()
res["jvp"] = make_jvp(lambda a: oe.contract("ij,jk->ik", a, B))(A)(onp.ones((3, 4)))[1].tolist()
five = lambda a: oe.contract("ab,bc,cd,de,ea->", a[:, :3], a[:, :3] * 2, a[:, :3] ** 2, a[:, 1:4], a[:, :3])
res["five"] = grad(five)(A).tolist()
print(json.dumps(res))
'''

# Hyperparameter gradients through training (Maclaurin et al.'s hypergrad): the validation loss
# after autograd.misc.optimizers' sgd, adam and rmsprop ran on a dict of parameters, differentiated
# with respect to the log step size and log L2 penalty -- the optimizers' flatten/unflatten (a
# make_vjp) run on values being differentiated; forward mode too, and flatten of a traced tree
HYPERGRAD = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as np
from autograd import grad, hessian, make_jvp, value_and_grad
from autograd.misc import flatten
from autograd.misc.optimizers import adam, rmsprop, sgd

rs = onp.random.RandomState(7)
Xtr, ytr, Xva, yva = rs.randn(12, 3), rs.randn(12), rs.randn(6, 3), rs.randn(6)

def train_loss(params, log_l2):
    pred = np.dot(Xtr, params["w"]) + params["b"][0]
    return np.mean((pred - ytr) ** 2) + np.exp(log_l2) * np.sum(params["w"] ** 2)

def validation_loss(hyper, optimizer, **kwargs):
    init = {"w": onp.zeros(3) + 0.1, "b": [onp.array([0.2])]}
    trained = optimizer(lambda p, i: grad(train_loss)(p, hyper[0]), init, num_iters=6, step_size=np.exp(hyper[1]),
                        **kwargs)
    return np.mean((np.dot(Xva, trained["w"]) + trained["b"][0] - yva) ** 2)

def through_flatten(h):
    flat, unflatten = flatten({"a": h * 2, "b": (h[0], [h ** 2])})
    tree = unflatten(flat * h[1])
    return np.sum(tree["b"][1][0]) + tree["a"][0] * tree["b"][0]

h0 = onp.array([-1.0, -2.0])
res = {"library": autograd.__name__}
for name, opt, kw in [("sgd", sgd, {"mass": 0.5}), ("adam", adam, {}), ("rmsprop", rmsprop, {"gamma": 0.7})]:
    value, g = value_and_grad(validation_loss)(h0, opt, **kw)
    res[name] = [value, g.tolist()]
res["forward"] = make_jvp(lambda h: validation_loss(h, sgd, mass=0.5))(h0)(onp.array([1.0, 0.5]))[1]
res["flatten"] = [through_flatten(h0), grad(through_flatten)(h0).tolist(), hessian(through_flatten)(h0).tolist()]
print(json.dumps(res))
'''

# PennyLane's differentiable Hartree-Fock (qml.qchem), s orbitals: contracted Gaussian integrals
# (the Boys function from gammainc and gamma behind anp.where), matrices built with anp.array of
# nested lists of boxes, symmetric orthogonalisation and the SCF loop through anp.linalg.eigh;
# the energy's gradient with respect to the nuclear coordinates, exponents and contraction
# coefficients
HARTREE_FOCK = r'''
import json
from itertools import product
import numpy as onp
import autograd
import autograd.numpy as anp
import autograd.scipy as asp
import autograd.scipy.special
from autograd import grad

def boys(n, t):
    small = t < 1e-8  # (the series' first terms there: gammainc's form loses every digit near 0)
    return anp.where(small, 1 / (2 * n + 1) - t / (2 * n + 3),
                     asp.special.gammainc(n + 0.5, t + small) * asp.special.gamma(n + 0.5)
                     / (2 * (t + small) ** (n + 0.5)))

def norm_s(alpha):
    return (2 * alpha / anp.pi) ** 0.75

def overlap(a, b, ra, rb):
    p = a + b
    return (anp.pi / p) ** 1.5 * anp.exp(-a * b / p * anp.sum((ra - rb) ** 2))

def kinetic(a, b, ra, rb):
    mu = a * b / (a + b)
    return mu * (3 - 2 * mu * anp.sum((ra - rb) ** 2)) * overlap(a, b, ra, rb)

def nuclear(a, b, ra, rb, rc):
    p = a + b
    rp = (a * ra + b * rb) / p
    return -2 * anp.pi / p * anp.exp(-a * b / p * anp.sum((ra - rb) ** 2)) * boys(0, p * anp.sum((rp - rc) ** 2))

def repulsion(a, b, c, d, ra, rb, rc, rd):
    p, q = a + b, c + d
    rp, rq = (a * ra + b * rb) / p, (c * rc + d * rd) / q
    return (2 * anp.pi ** 2.5 / (p * q * anp.sqrt(p + q))
            * anp.exp(-a * b / p * anp.sum((ra - rb) ** 2) - c * d / q * anp.sum((rc - rd) ** 2))
            * boys(0, p * q / (p + q) * anp.sum((rp - rq) ** 2)))

def contracted(integral, alpha, coeff, idx, centers, *extra):
    total = 0.0
    for combo in product(*[range(alpha.shape[1])] * len(idx)):
        weight = 1.0
        for i, k in zip(idx, combo):
            weight = weight * coeff[i, k] * norm_s(alpha[i, k])
        total = total + weight * integral(*[alpha[i, k] for i, k in zip(idx, combo)], *[centers[i] for i in idx],
                                          *extra)
    return total

def energy(geometry, alpha, coeff):
    n = geometry.shape[0]
    r = [geometry[i] for i in range(n)]
    S = anp.array([[contracted(overlap, alpha, coeff, (i, j), r) for j in range(n)] for i in range(n)])
    T = anp.array([[contracted(kinetic, alpha, coeff, (i, j), r) for j in range(n)] for i in range(n)])
    V = anp.array([[sum(contracted(nuclear, alpha, coeff, (i, j), r, r[c]) for c in range(n)) for j in range(n)]
                   for i in range(n)])
    def canonical(i, j, k, l):  # (ij|kl) = (ji|kl) = (kl|ij): each integral is computed once
        ij, kl = (max(i, j), min(i, j)), (max(k, l), min(k, l))
        return max(ij, kl) + min(ij, kl)
    unique = {}
    for idx in product(range(n), repeat=4):
        if canonical(*idx) not in unique:
            unique[canonical(*idx)] = contracted(repulsion, alpha, coeff, canonical(*idx), r)
    eri = anp.reshape(anp.array([unique[canonical(*idx)] for idx in product(range(n), repeat=4)]), (n, n, n, n))
    h = T + V
    w, v = anp.linalg.eigh(S)
    X = v @ anp.diag(1 / anp.sqrt(w)) @ v.T
    P = anp.zeros((n, n))
    for _ in range(4):
        F = h + 2 * anp.einsum("pqrs,rs->pq", eri, P) - anp.einsum("prqs,rs->pq", eri, P)
        C = X @ anp.linalg.eigh(X.T @ F @ X)[1]
        P = anp.einsum("pi,qi->pq", C[:, :1], C[:, :1])
    electronic = anp.sum(P * (2 * h + 2 * anp.einsum("pqrs,rs->pq", eri, P) - anp.einsum("prqs,rs->pq", eri, P)))
    return electronic + 1.0 / anp.sqrt(anp.sum((geometry[0] - geometry[1]) ** 2))

geometry = onp.array([[0.0, 0.0, -0.69], [0.0, 0.1, 0.71]])
alpha = onp.array([[1.30975, 0.233136]] * 2)  # STO-2G
coeff = onp.array([[0.430129, 0.678914]] * 2)
res = {"library": autograd.__name__}
res["energy"] = energy(geometry, alpha, coeff)
res["gradients"] = [g.tolist() for g in grad(energy, (0, 1, 2))(geometry, alpha, coeff)]
print(json.dumps(res))
'''

# GRAPE-style quantum optimal control: piecewise-constant controls, each step's propagator
# exp(-i H dt) from eigh of a complex Hermitian H (v * exp(-1j w dt) @ conj(v).T), the gate
# fidelity |tr(U_target^H U)|^2 differentiated with respect to the real controls
GRAPE = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as np
from autograd import grad, value_and_grad

sx = onp.array([[0, 1], [1, 0]], complex)
sy = onp.array([[0, -1j], [1j, 0]])
sz = onp.diag([1.0 + 0j, -1.0])
H0 = 0.5 * onp.kron(sz, onp.eye(2)) + 0.3 * onp.kron(sx, sx)
Hc = [onp.kron(sx, onp.eye(2)), onp.kron(onp.eye(2), sy)]
target = onp.kron(sx, onp.eye(2))

def propagator(H, dt):
    w, v = np.linalg.eigh(H)
    return np.dot(v * np.exp(-1j * w * dt), np.conj(v).T)

def fidelity(ctrl):
    U = onp.eye(4, dtype=complex)
    for k in range(ctrl.shape[0]):
        U = np.dot(propagator(H0 + ctrl[k, 0] * Hc[0] + ctrl[k, 1] * Hc[1], 0.3), U)
    overlap = np.trace(np.dot(np.conj(target).T, U)) / 4
    return np.real(overlap * np.conj(overlap))

def population(c):
    psi = np.dot(propagator(H0 + c[0] * Hc[0] + c[1] * Hc[1], 1.1), onp.array([1, 0, 0, 0j]))
    return np.sum(np.abs(psi[1:]) ** 2)

c0 = onp.random.RandomState(7).randn(4, 2) * 0.5
value, g = value_and_grad(fidelity)(c0)
res = {"library": autograd.__name__}
res["fidelity"] = [value, g.tolist()]
res["population"] = grad(population)(c0[0]).tolist()
print(json.dumps(res))
'''

# Duvenaud et al.'s neural fingerprints: a weights vector parsed into named matrices, graph
# convolutions summing neighbours' features (fancy indexing with a list of neighbour lists,
# atoms grouped by degree and put back in order), batch normalisation, a softened max and
# per-molecule sums stacked with np.concatenate of expand_dims
NEURAL_FINGERPRINT = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as np
from autograd import grad, jacobian

rs = onp.random.RandomState(7)
atom_features = rs.randn(7, 3)
neighbors = [[1, 2], [0], [0, 3, 4], [2], [2, 5, 6], [4], [4]]
atoms_by_degree = {1: [1, 3, 5, 6], 2: [0], 3: [2, 4]}
molecules = [[0, 1, 2, 3], [4, 5, 6]]

class WeightsParser(object):
    def __init__(self):
        self.idxs_and_shapes, self.N = {}, 0
    def add_weights(self, name, shape):
        start = self.N
        self.N += onp.prod(shape)
        self.idxs_and_shapes[name] = (slice(start, self.N), shape)
    def get(self, vect, name):
        idxs, shape = self.idxs_and_shapes[name]
        return np.reshape(vect[idxs], shape)

parser = WeightsParser()
for layer in range(2):
    parser.add_weights(("self", layer), (3, 3))
    for degree in (1, 2, 3):
        parser.add_weights(("neighbors", layer, degree), (3, 3))
parser.add_weights("output", (3, 2))

def fast_array_from_list(xs):
    return np.concatenate([np.expand_dims(x, axis=0) for x in xs], axis=0)

def softened_max(X, axis=0):
    exp_X = np.exp(X - np.max(X, axis, keepdims=True))
    return exp_X / np.sum(exp_X, axis, keepdims=True)

def batch_normalize(activations):
    mbmean = np.mean(activations, axis=0, keepdims=True)
    return (activations - mbmean) / (np.std(activations, axis=0, keepdims=True) + 1)

def matmult_neighbors(features, weights, layer):
    by_degree, order = [], []
    for degree, atoms in sorted(atoms_by_degree.items()):
        summed = np.sum(features[onp.array([neighbors[a] for a in atoms]), :], axis=1)
        by_degree.append(np.dot(summed, parser.get(weights, ("neighbors", layer, degree))))
        order.extend(atoms)
    return np.concatenate(by_degree, axis=0)[onp.argsort(order), :]

def fingerprints(weights):
    features, out = atom_features, []
    for layer in range(2):
        total = matmult_neighbors(features, weights, layer) + np.dot(features, parser.get(weights, ("self", layer)))
        features = np.tanh(batch_normalize(total))
        atom_out = softened_max(np.dot(features, parser.get(weights, "output")), axis=1)
        out.append(fast_array_from_list([np.sum(atom_out[idx], axis=0) for idx in molecules]))
    return sum(out)

w0 = rs.randn(parser.N) * 0.4
res = {"library": autograd.__name__}
res["fingerprints"] = fingerprints(w0).tolist()
res["grad"] = grad(lambda w: np.sum(fingerprints(w)[:, 0] * onp.array([1.0, -2.0])))(w0).tolist()
res["jacobian"] = jacobian(fingerprints)(w0)[:, :, :6].tolist()
print(json.dumps(res))
'''
