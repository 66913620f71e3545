"""Programs trimmed from libraries built on HIPS autograd, in their style, for
tests/test_autograd_libraries_more.py: each prints one JSON line of its numbers, and runs
once with autograd and once with autograd resolved to chainrule."""

# PennyLane's autograd interface: tensor, tensor_wrapper, qml.grad/jacobian, parameter shift
PENNYLANE = r'''
import json
import functools
from collections.abc import Sequence
import numpy as onp
import autograd
from autograd import numpy as _np
from autograd import jacobian as _jacobian
from autograd.core import VSpace
from autograd.core import make_vjp as _make_vjp
from autograd.extend import defvjp, primitive, vspace
from autograd.numpy.numpy_boxes import ArrayBox
from autograd.numpy.numpy_vspaces import ArrayVSpace, ComplexArrayVSpace
from autograd.tracer import Box
from autograd.wrap_util import unary_to_nary

# --- pennylane/numpy/tensor.py
@primitive
def asarray(vals, *args, **kwargs):
    if isinstance(vals, (onp.ndarray, _np.ndarray)):
        return _np.asarray(vals, *args, **kwargs)
    return _np.array(vals, *args, **kwargs)

def asarray_gradmaker(ans, *args, **kwargs):
    del ans, args, kwargs
    return lambda g: g

defvjp(asarray, asarray_gradmaker, argnums=(0,))

class NonDifferentiableError(Exception):
    pass

class tensor(_np.ndarray):
    def __new__(cls, input_array, *args, requires_grad=True, **kwargs):
        obj = asarray(input_array, *args, **kwargs)
        if isinstance(obj, onp.ndarray):
            obj = obj.view(cls)
            obj.requires_grad = requires_grad
        return obj

    def __array_finalize__(self, obj):
        if obj is None:
            return
        self.requires_grad = getattr(obj, "requires_grad", None)

    def __array_wrap__(self, obj):
        out_arr = tensor(obj, requires_grad=self.requires_grad)
        return super().__array_wrap__(out_arr)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        outputs = [i.view(onp.ndarray) for i in kwargs.get("out", ())]
        if outputs:
            outputs = tuple(outputs)
            kwargs["out"] = outputs
        else:
            outputs = (None,) * ufunc.nout
        args = [i.unwrap() if hasattr(i, "unwrap") else i for i in inputs]
        res = super().__array_ufunc__(ufunc, method, *args, **kwargs)
        if ufunc.nout == 1:
            res = (res,)
        ufunc_output = [(onp.asarray(result) if output is None else output) for result, output in zip(res, outputs)]
        requires_grad = any(isinstance(x, onp.ndarray) and getattr(x, "requires_grad", True) for x in inputs)
        for i in range(len(ufunc_output)):
            ufunc_output[i] = tensor(ufunc_output[i], requires_grad=requires_grad)
        if len(ufunc_output) == 1:
            return ufunc_output[0]
        return tuple(ufunc_output)

    def __getitem__(self, *args, **kwargs):
        item = super().__getitem__(*args, **kwargs)
        if not isinstance(item, tensor):
            item = tensor(item, requires_grad=self.requires_grad)
        return item

    def __hash__(self):
        if self.ndim == 0:
            return hash((self.item(), self.requires_grad))
        raise TypeError("unhashable type: 'numpy.tensor'")

    def unwrap(self):
        if self.ndim == 0:
            return self.view(onp.ndarray).item()
        return self.view(onp.ndarray)

    def numpy(self):
        return self.unwrap()

def tensor_to_arraybox(x, *args):
    if isinstance(x, tensor):
        if x.requires_grad:
            return ArrayBox(x, *args)
        raise NonDifferentiableError(f"{x} is non-differentiable. Set the requires_grad attribute to True.")
    return ArrayBox(x, *args)

Box.type_mappings[tensor] = tensor_to_arraybox
VSpace.mappings[tensor] = lambda x: ComplexArrayVSpace(x) if onp.iscomplexobj(x) else ArrayVSpace(x)

# --- pennylane/numpy/wrapper.py
def extract_tensors(x):
    if isinstance(x, tensor):
        yield x
    elif isinstance(x, Sequence) and not isinstance(x, (str, bytes)):
        for item in x:
            yield from extract_tensors(item)

def tensor_wrapper(obj):
    @functools.wraps(obj)
    def _wrapped(*args, **kwargs):
        tensor_kwargs = {}
        if "requires_grad" in kwargs:
            tensor_kwargs["requires_grad"] = kwargs.pop("requires_grad")
        else:
            tensor_args = list(extract_tensors(args))
            if tensor_args:
                tensor_kwargs["requires_grad"] = _np.any([i.requires_grad for i in tensor_args])
        res = obj(*args, **kwargs)
        if isinstance(res, _np.ndarray):
            res = tensor(res, **tensor_kwargs)
        return res
    return _wrapped

class pnp:  # pennylane.numpy: autograd.numpy with every function wrapped
    pass

for name, obj in _np.__dict__.items():
    if callable(obj) and not isinstance(obj, type):
        setattr(pnp, name, staticmethod(tensor_wrapper(obj)))
pnp.tensor = tensor
pnp.asarray = staticmethod(tensor_wrapper(asarray))

# --- pennylane/_grad.py
make_vjp = unary_to_nary(_make_vjp)

class grad:
    def __init__(self, func, argnum=None):
        self._forward = None
        self._grad_fn = None
        self._fun = func
        self._argnum = argnum
        if self._argnum is not None:
            self._grad_fn = self._grad_with_forward(func, argnum=argnum)

    def _get_grad_fn(self, args):
        if self._grad_fn is not None:
            return self._grad_fn, self._argnum
        argnum = []
        for idx, arg in enumerate(args):
            trainable = getattr(arg, "requires_grad", None) or isinstance(arg, ArrayBox)
            if trainable:
                if arg.dtype.name[:3] == "int":
                    raise ValueError("Autograd does not support differentiation of ints.")
                argnum.append(idx)
        if len(argnum) == 1:
            argnum = argnum[0]
        return self._grad_with_forward(self._fun, argnum=argnum), argnum

    def __call__(self, *args, **kwargs):
        grad_fn, argnum = self._get_grad_fn(args)
        grad_value, ans = grad_fn(*args, **kwargs)
        self._forward = ans
        return grad_value

    @property
    def forward(self):
        return self._forward

    @staticmethod
    @unary_to_nary
    def _grad_with_forward(fun, x):
        vjp, ans = _make_vjp(fun, x)
        if vspace(ans).size != 1:
            raise TypeError("Grad only applies to real scalar-output functions.")
        grad_value = vjp(vspace(ans).ones())
        return grad_value, ans

def jacobian(func, argnum=None):
    def _get_argnum(args):
        return [i for i, arg in enumerate(args)
                if getattr(arg, "requires_grad", True) or isinstance(arg, ArrayBox)]
    def _jacobian_function(*args, **kwargs):
        _argnum = argnum if argnum is not None else _get_argnum(args)
        if len(_argnum) == 1 if isinstance(_argnum, list) else False:
            _argnum = _argnum[0]
        if isinstance(_argnum, int):
            return _jacobian(func, _argnum)(*args, **kwargs)
        jac = tuple(_jacobian(func, arg)(*args, **kwargs) for arg in _argnum)
        return jac
    return _jacobian_function

# --- a statevector simulator and the autograd interface (workflow/interfaces/autograd.py)
I2 = onp.eye(2)
Zm = onp.diag([1.0, -1.0])
def rot(name, t):
    c, s = onp.cos(t / 2), onp.sin(t / 2)
    if name == "RX":
        return onp.array([[c, -1j * s], [-1j * s, c]])
    if name == "RY":
        return onp.array([[c, -s], [s, c]], dtype=complex)
    return onp.array([[onp.exp(-0.5j * t), 0], [0, onp.exp(0.5j * t)]])

def on_wire(m, w):
    return onp.kron(m, I2) if w == 0 else onp.kron(I2, m)

CNOT = onp.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=complex)

class Tape:
    def __init__(self, ops, observables):
        self.ops, self.observables = ops, observables
        self.trainable_params = None
    def get_parameters(self, trainable_only=True):
        params = [p for name, w, p in self.ops if name != "CNOT"]
        if trainable_only and self.trainable_params is not None:
            return [params[i] for i in self.trainable_params]
        return params
    def with_parameters(self, values):
        it = iter(values)
        return Tape([(n, w, (None if n == "CNOT" else next(it))) for n, w, p in self.ops], self.observables)

def to_numpy(x):
    while isinstance(x, ArrayBox):
        x = x._value
    return onp.asarray(x).item() if onp.ndim(x) == 0 else onp.asarray(x)

def run_tape(tape):
    state = onp.zeros(4, dtype=complex)
    state[0] = 1
    for name, w, p in tape.ops:
        state = (CNOT if name == "CNOT" else on_wire(rot(name, to_numpy(p)), w)) @ state
    return onp.array([onp.real(onp.conj(state) @ on_wire(Zm, w) @ state) for w in tape.observables])

def execute_fn(tapes):
    return tuple(run_tape(t) for t in tapes)

class ParamShift:
    def compute_vjp(self, tapes, dy):
        vjps = []
        for tape, d in zip(tapes, dy):
            values = [to_numpy(p) for p in tape.get_parameters(trainable_only=False)]
            jac = []
            for i in tape.trainable_params:
                plus, minus = list(values), list(values)
                plus[i] += onp.pi / 2
                minus[i] -= onp.pi / 2
                jac.append((run_tape(tape.with_parameters(plus)) - run_tape(tape.with_parameters(minus))) / 2)
            vjps.append(onp.array([onp.dot(d, j) for j in jac]))
        return tuple(vjps)

def get_trainable_indices(params):
    return {i for i, p in enumerate(params) if getattr(p, "requires_grad", True) or isinstance(p, ArrayBox)}

def autograd_execute(tapes, execute_fn, jpc):
    tapes = tuple(tapes)
    for tape in tapes:
        params = tape.get_parameters(trainable_only=False)
        tape.trainable_params = sorted(get_trainable_indices(params))
    parameters = autograd.builtins.tuple([autograd.builtins.list(t.get_parameters()) for t in tapes])
    return _execute(parameters, tuple(tapes), execute_fn, jpc)

def _to_autograd(result):
    if isinstance(result, dict):
        return result
    if isinstance(result, (list, tuple, autograd.builtins.tuple, autograd.builtins.list)):
        return tuple(_to_autograd(r) for r in result)
    return autograd.numpy.array(result)

@autograd.extend.primitive
def _execute(parameters, tapes, execute_fn, jpc):
    return _to_autograd(execute_fn(tapes))

def vjp(ans, parameters, tapes, execute_fn, jpc):
    def grad_fn(dy):
        vjps = jpc.compute_vjp(tapes, dy)
        return tuple(to_numpy(v) if isinstance(v, ArrayBox) else v for v in vjps)
    return grad_fn

autograd.extend.defvjp(_execute, vjp, argnums=[0])

def circuit(weights, data):
    tape1 = Tape([("RX", 0, data[0]), ("RY", 0, weights[0]), ("RY", 1, weights[1]), ("CNOT", (0, 1), None),
                  ("RZ", 0, weights[2] * 2.0), ("RX", 1, weights[0] * weights[1])], [0, 1])
    tape2 = Tape([("RY", 1, data[1]), ("RX", 0, _np.sin(weights[2])), ("CNOT", (0, 1), None)], [1])
    r1, r2 = autograd_execute((tape1, tape2), execute_fn, ParamShift())
    return _np.concatenate([r1, r2])

W = pnp.array(onp.array([[0.3, -0.6], [0.8, 0.1], [-0.4, 0.5]]), requires_grad=True)

def cost(weights, data, W):
    hidden = pnp.tanh(pnp.dot(W, data))
    out = circuit(weights * hidden, data)
    return pnp.sum((out - 0.2) ** 2) + 0.1 * pnp.sum(weights ** 2)

weights = pnp.array([0.1, -0.7, 0.5], requires_grad=True)
data = pnp.array([0.4, 1.2], requires_grad=False)
res = {"library": autograd.__name__}
g = grad(cost)
dw = g(weights, data, W)
res["tensor_repr"] = [type(weights).__name__, bool(weights.requires_grad), bool(data.requires_grad),
                      type(pnp.sin(data)).__name__, bool(pnp.sin(data).requires_grad)]
res["grad_auto"] = [onp.asarray(d).tolist() for d in dw] if isinstance(dw, tuple) else onp.asarray(dw).tolist()
res["forward"] = float(g.forward)
res["grad_argnum0"] = onp.asarray(grad(cost, argnum=0)(weights, data, W)).tolist()
res["grad_argnum02"] = [onp.asarray(d).tolist() for d in grad(cost, argnum=[0, 2])(weights, data, W)]
res["jac"] = onp.asarray(jacobian(lambda w: circuit(w, data)[:2])(weights)).tolist()
jac_two = jacobian(lambda w, d: circuit(w, d)[1:], argnum=[0, 1])(weights, pnp.array([0.4, 1.2]))
res["jac_two"] = [onp.asarray(j).tolist() for j in jac_two]
w = weights
trace = []
for step in range(4):  # GradientDescentOptimizer.step
    gw = grad(cost, argnum=0)(w, data, W)
    w = w - 0.3 * gw
    trace.append(float(cost(w, data, W)))
res["descent"] = [onp.asarray(w).tolist(), trace]
print(json.dumps(res))
'''


# paragami's patterns: PSD matrices by a primitive with its own rules, bounded arrays, simplexes
PARAGAMI = r'''
import json, math
import numpy as onp
import autograd
import autograd.numpy as np
from autograd.core import primitive, defvjp, defjvp
from autograd import grad, jacobian, hessian, make_jvp, make_hvp
from autograd.test_util import check_grads

from functools import partial
def jvp_solve(argnum, g, ans, a, b):
    dot = np.dot if a.ndim == 2 else partial(np.einsum, '...ij,...jk->...ik')
    if argnum == 0:
        return -dot(np.linalg.solve(a, g), ans)
    else:
        return np.linalg.solve(a, g)
defjvp(np.linalg.solve, partial(jvp_solve, 0), partial(jvp_solve, 1))
def inv_jvp(g, ans, x):
    dot = np.dot if ans.ndim == 2 else partial(np.einsum, '...ij,...jk->...ik')
    return -dot(dot(ans, g), ans)
defjvp(np.linalg.inv, inv_jvp)
def slogdet_jvp(g, ans, x):
    return 0, np.trace(np.linalg.solve(x.T, g.T))
defjvp(np.linalg.slogdet, slogdet_jvp)

def _sym_index(k1, k2):
    def ld_ind(k1, k2):
        return int(k2 + k1 * (k1 + 1) / 2)
    return ld_ind(k1, k2) if k2 <= k1 else ld_ind(k2, k1)

def _vectorize_ld_matrix(mat):
    nrow, ncol = np.shape(mat)
    return mat[np.tril_indices(nrow)]

@primitive
def _unvectorize_ld_matrix(vec):
    mat_size = int(0.5 * (math.sqrt(1 + 8 * vec.size) - 1))
    mat = np.zeros((mat_size, mat_size))
    for k1 in range(mat_size):
        for k2 in range(k1 + 1):
            mat[k1, k2] = vec[_sym_index(k1, k2)]
    return mat

def _unvectorize_ld_matrix_vjp(g):
    assert g.shape[0] == g.shape[1]
    return _vectorize_ld_matrix(g)

defvjp(_unvectorize_ld_matrix, lambda ans, vec: lambda g: _unvectorize_ld_matrix_vjp(g))
defjvp(_unvectorize_ld_matrix, lambda g, ans, x: _unvectorize_ld_matrix(g))

def _exp_matrix_diagonal(mat):
    mat_exp_diag = np.make_diagonal(np.exp(np.diag(mat)), offset=0, axis1=-1, axis2=-2)
    mat_diag = np.make_diagonal(np.diag(mat), offset=0, axis1=-1, axis2=-2)
    return mat_exp_diag + mat - mat_diag

def _log_matrix_diagonal(mat):
    mat_log_diag = np.make_diagonal(np.log(np.diag(mat)), offset=0, axis1=-1, axis2=-2)
    mat_diag = np.make_diagonal(np.diag(mat), offset=0, axis1=-1, axis2=-2)
    return mat_log_diag + mat - mat_diag

def _pack_posdef_matrix(mat, diag_lb=0.0):
    k = mat.shape[0]
    mat_lb = mat - np.make_diagonal(np.full(k, diag_lb), offset=0, axis1=-1, axis2=-2)
    return _vectorize_ld_matrix(_log_matrix_diagonal(np.linalg.cholesky(mat_lb)))

def _unpack_posdef_matrix(free_vec, diag_lb=0.0):
    mat_chol = _exp_matrix_diagonal(_unvectorize_ld_matrix(free_vec))
    mat = np.matmul(mat_chol, mat_chol.T)
    k = mat.shape[0]
    return mat + np.make_diagonal(np.full(k, diag_lb), offset=0, axis1=-1, axis2=-2)

# numeric array pattern with bounds (paragami: _constrain_array / _unconstrain_array)
def _unconstrain_array(array, lb, ub):
    if ub == float("inf"):
        if lb == -float("inf"):
            return array
        return np.log(array - lb)
    if lb == -float("inf"):
        return -1 * np.log(ub - array)
    return np.log(array - lb) - np.log(ub - array)

def _constrain_array(free_array, lb, ub):
    if ub == float("inf"):
        if lb == -float("inf"):
            return free_array
        return np.exp(free_array) + lb
    if lb == -float("inf"):
        return ub - np.exp(-1 * free_array)
    exp_vec = np.exp(free_array)
    return (ub - lb) * exp_vec / (1 + exp_vec) + lb

def _constrain_simplex_matrix(free_mat):
    reference_col = np.expand_dims(np.full(free_mat.shape[0:-1], 0), axis=-1)
    free_mat_aug = np.concatenate([reference_col, free_mat], axis=-1)
    log_norm = np.log(np.sum(np.exp(free_mat_aug), axis=-1, keepdims=True))
    return np.exp(free_mat_aug - log_norm)

def fold(free):
    mat = _unpack_posdef_matrix(free[:6], diag_lb=0.1)
    arr = np.reshape(_constrain_array(free[6:10], -1.0, 2.0), (2, 2))
    pos = _constrain_array(free[10:12], 0.5, float("inf"))
    simplex = _constrain_simplex_matrix(np.reshape(free[12:16], (2, 2)))
    return dict(mat=mat, arr=arr, pos=pos, simplex=simplex)

def flatten(par):
    return np.hstack([_pack_posdef_matrix(par["mat"], diag_lb=0.1),
                      _unconstrain_array(par["arr"], -1.0, 2.0).flatten(),
                      _unconstrain_array(par["pos"], 0.5, float("inf")),
                      (np.log(par["simplex"][..., 1:])
                       - np.expand_dims(np.log(par["simplex"][..., 0]), axis=-1)).flatten()])

rs = onp.random.RandomState(3)
free = rs.randn(16) * 0.5
y = rs.randn(3)
def objective(free):
    p = fold(free)
    return (np.dot(y, np.linalg.solve(p["mat"], y)) + np.linalg.slogdet(p["mat"])[1]
            + np.sum(p["arr"] ** 3) + np.sum(np.log(p["pos"])) + np.sum(p["simplex"][:, 1] * p["arr"][0]))
check_grads(objective, modes=["rev", "fwd"], order=2)(free)
v = rs.randn(16)
res = {"library": autograd.__name__,
       "roundtrip": flatten(fold(free)).tolist(),
       "jac_fold_mat": jacobian(lambda f: fold(f)["mat"])(free).tolist(),
       "jac_flatten": jacobian(lambda f: flatten(fold(f)))(free).tolist(),
       "grad": grad(objective)(free).tolist(),
       "hess": hessian(objective)(free).tolist(),
       "hvp": make_hvp(objective)(free)[0](v).tolist(),
       "jvp": make_jvp(lambda f: fold(f)["mat"])(free)(v)[1].tolist()}
print(json.dumps(res))
'''


# viabel's objectives: ExclusiveKL with control variates, path derivatives, alpha divergence
VIABEL = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as np
import autograd.numpy.random as npr
import autograd.scipy.stats.norm as norm
import autograd.scipy.stats.t as t_dist
from autograd import value_and_grad, vector_jacobian_product, make_hvp, elementwise_grad, grad, hessian
from autograd.core import getval
from autograd.extend import primitive, defvjp
from autograd.numpy import linalg
from autograd.scipy import special, stats
from autograd.scipy.special import logsumexp

def multivariate_t_logpdf(x, m, S, df=np.inf):
    d = m.shape[-1]
    if df == np.inf:
        return stats.multivariate_normal.logpdf(x, m, S)
    s, u = linalg.eigh(S)
    eps = 1e-10
    s_pinv = np.array([0 if abs(x) <= eps else 1 / x for x in s], dtype=float)
    U = np.multiply(u, np.sqrt(s_pinv))
    log_pdet = np.sum(np.log(s))
    log_pdf = (special.gammaln(.5 * (df + d)) - special.gammaln(.5 * df) - .5 * d * np.log(np.pi * df))
    log_pdf += -.5 * log_pdet
    dev = x - m
    maha = np.sum(np.square(np.dot(dev, U)), axis=-1)
    log_pdf += -.5 * (df + d) * np.log(1 + maha / df)
    return log_pdf

def _vectorize_if_needed(f, a, axis=-1):
    if a.ndim > 1:
        return np.apply_along_axis(f, axis, a)
    else:
        return f(a)

def _ensure_2d(a):
    if a.ndim == 0:
        return a
    while a.ndim < 2:
        a = a[:, np.newaxis]
    return a

class FakeFit:  # stands in for a Stan fit: log_prob and grad_log_prob on plain arrays
    A = onp.array([[2.0, 0.4, 0.1], [0.4, 1.5, -0.2], [0.1, -0.2, 1.0]])
    def log_prob(self, x):
        return -0.5 * x @ self.A @ x - onp.sum(onp.log1p(x ** 2))
    def grad_log_prob(self, x):
        return -self.A @ x - 2 * x / (1 + x ** 2)

def make_stan_log_density(fitobj):
    @primitive
    def log_density(x):
        return _vectorize_if_needed(fitobj.log_prob, x)
    def log_density_vjp(ans, x):
        return lambda g: _ensure_2d(g) * _vectorize_if_needed(fitobj.grad_log_prob, x)
    defvjp(log_density, log_density_vjp)
    return log_density

def model_ad(x):  # the same model written with autograd.numpy
    A = FakeFit.A
    x = np.atleast_2d(x)
    return -0.5 * np.einsum('ni,ij,nj->n', x, A, x) - np.sum(np.log1p(x ** 2), axis=-1)

D = 3
class MFGaussian:
    def __init__(self, dim, seed=1):
        self.dim = dim
        self._rs = npr.RandomState(seed)
        self.supports_entropy = True
    def unpack(self, p):
        return dict(mu=p[:self.dim], log_sigma=p[self.dim:])
    def sample(self, var_param, n_samples, seed=None):
        my_rs = self._rs if seed is None else npr.RandomState(seed)
        param_dict = self.unpack(var_param)
        return param_dict['mu'] + np.exp(param_dict['log_sigma']) * my_rs.randn(n_samples, self.dim)
    def entropy(self, var_param):
        param_dict = self.unpack(var_param)
        return 0.5 * self.dim * (1.0 + np.log(2 * np.pi)) + np.sum(param_dict['log_sigma'])
    def log_density(self, var_param, x):
        if x.ndim == 1:
            x = x[np.newaxis, :]
        param_dict = self.unpack(var_param)
        return np.sum(norm.logpdf(x, param_dict['mu'], np.exp(param_dict['log_sigma'])), axis=-1)
    def mean_and_cov(self, var_param):
        param_dict = self.unpack(var_param)
        return param_dict['mu'], np.diag(np.exp(2 * param_dict['log_sigma']))

class MFStudentT(MFGaussian):
    df = 5.0
    def log_density(self, var_param, x):
        if x.ndim == 1:
            x = x[np.newaxis, :]
        param_dict = self.unpack(var_param)
        return np.sum(t_dist.logpdf(x, self.df, param_dict['mu'], np.exp(param_dict['log_sigma'])), axis=-1)

def exclusive_kl(approx, model, num_mc_samples, method, use_path_deriv=False):
    def variational_objective(var_param):
        z_samples = approx.sample(var_param, num_mc_samples)
        m_mean, cov = approx.mean_and_cov(var_param)
        s_scale = np.sqrt(np.diag(cov))
        epsilon_sample = (z_samples - m_mean) / s_scale
        if use_path_deriv:
            var_param_stopped = getval(var_param)
            lower_bound = np.mean(model(z_samples) - approx.log_density(var_param_stopped, z_samples))
        else:
            lower_bound = np.mean(model(z_samples)) + approx.entropy(var_param)
        def f_model(x):
            x = np.atleast_2d(x)
            return model(x)
        grad_f = elementwise_grad(model)
        grad_f_single = grad(f_model)
        dLdm = grad_f(z_samples)
        dLdlns = dLdm * epsilon_sample * s_scale + 1
        g_hat_rprm_grad = np.column_stack([dLdm, dLdlns])
        if method == "full":
            hessian_f = hessian(f_model)
            gmu = grad_f(m_mean)
            H = hessian_f(m_mean).squeeze()
            Hdiag = np.diag(H)
            dLdz = gmu + np.dot(H, (s_scale * epsilon_sample).T).T
            dLds = dLdz * epsilon_sample * s_scale + 1.
            elbo_gsamps_tilde = np.column_stack([dLdz, dLds])
            dLds_mu = (Hdiag * s_scale + 1 / s_scale) * s_scale
            gsamps_tilde_mean = np.concatenate([gmu, dLds_mu])
            elbo_gsamps_cv = g_hat_rprm_grad - (elbo_gsamps_tilde - gsamps_tilde_mean)
            g_hat_rv = np.mean(elbo_gsamps_cv, axis=0)
        elif method == "mean_only":
            scaled_samples = np.multiply(s_scale, epsilon_sample)
            a = grad_f(m_mean * np.ones_like(z_samples))
            hvp = make_hvp(f_model)(m_mean)
            b = np.array([hvp[0](s) for s in scaled_samples])
            g_tilde_mean_approx = a + b
            g_tilde_scale_approx_ln = np.zeros_like(g_tilde_mean_approx)
            E_g_tilde_mean = grad_f_single(m_mean)
            E_g_tilde_scale_ln = np.zeros_like(E_g_tilde_mean)
            g_tilde = np.column_stack([g_tilde_mean_approx, g_tilde_scale_approx_ln])
            E_g_tilde = np.concatenate([E_g_tilde_mean, E_g_tilde_scale_ln])
            E_g_tilde = np.multiply(E_g_tilde, np.ones_like(g_tilde))
            g_hat_rv = np.mean(g_hat_rprm_grad - (g_tilde - E_g_tilde), axis=0)
        else:  # loo_diag_approx
            hvp_lam = make_hvp(f_model)(m_mean)[0]
            hvps = np.array([hvp_lam(s_scale * e) for e in epsilon_sample])
            gmu = grad_f(m_mean * np.ones_like(z_samples))
            dLdz = gmu + hvps
            dLds = dLdz * (epsilon_sample * s_scale) + 1
            Hdiag_sum = np.sum(epsilon_sample * hvps, axis=0)
            Hdiag_s = (Hdiag_sum[None, :] - epsilon_sample * hvps) / float(np.shape(z_samples)[0] - 1)
            dLds_mu = (Hdiag_s + 1 / s_scale[None, :]) * s_scale
            Dh = int(0.5 * np.shape(g_hat_rprm_grad)[1])
            g_hat_rv = g_hat_rprm_grad.copy()
            g_hat_rv[:, :Dh] -= hvps
            g_hat_rv[:, Dh:] -= (dLds - dLds_mu)
            g_hat_rv = np.mean(g_hat_rv, axis=0)
        return -lower_bound, -g_hat_rv
    return variational_objective

def elbo_value_and_grad(approx, model, num_mc_samples, use_path_deriv):
    def objective(var_param):
        z = approx.sample(var_param, num_mc_samples)
        if use_path_deriv:
            return -np.mean(model(z) - approx.log_density(getval(var_param), z))
        return -np.mean(model(z) - approx.log_density(var_param, z))
    return value_and_grad(objective)

def alpha_divergence(approx, model, num_mc_samples, alpha=2.0):
    def objective(var_param):
        z = approx.sample(var_param, num_mc_samples)
        log_weights = model(z) - approx.log_density(var_param, z)
        log_norm = np.max(log_weights)
        scaled = logsumexp(alpha * (log_weights - log_norm)) - np.log(num_mc_samples)
        return np.exp(scaled) * np.exp(alpha * log_norm) / alpha
    return value_and_grad(objective)

def rmsprop(objective_and_grad, init_param, n_iters, learning_rate=0.05, beta=0.9):
    var_param = init_param.copy()
    avg_grad_sq = None
    trace = []
    for t in range(n_iters):
        obj, obj_grad = objective_and_grad(var_param)
        if avg_grad_sq is None:
            avg_grad_sq = obj_grad ** 2
        else:
            avg_grad_sq = beta * avg_grad_sq + (1 - beta) * obj_grad ** 2
        var_param = var_param - learning_rate * obj_grad / np.sqrt(avg_grad_sq + 1e-8)
        trace.append(float(obj))
    return var_param, trace

stan_like = make_stan_log_density(FakeFit())
res = {"library": autograd.__name__}
init = np.concatenate([np.array([0.3, -0.2, 0.1]), np.zeros(3)])
for name, model in [("autograd", model_ad)]:
    for method in ["full", "mean_only", "loo"]:
        p, tr = rmsprop(exclusive_kl(MFGaussian(D), model, 8, method), init, 5)
        res[f"{name}_{method}"] = [p.tolist(), tr]
for family in [MFGaussian, MFStudentT]:
    for pd in [False, True]:
        for mname, model in [("primitive", stan_like), ("autograd", model_ad)]:
            p, tr = rmsprop(elbo_value_and_grad(family(D), model, 8, pd), init, 5)
            res[f"elbo_{family.__name__}_{pd}_{mname}"] = [p.tolist(), tr]
p, tr = rmsprop(alpha_divergence(MFGaussian(D), model_ad, 16), init, 5)
res["alpha"] = [p.tolist(), tr]
rs = onp.random.RandomState(1)
X = rs.randn(4, D)
S = onp.array([[1.5, 0.2, 0.0], [0.2, 1.0, 0.3], [0.0, 0.3, 0.8]])
m = rs.randn(D)
res["mvt"] = multivariate_t_logpdf(X, m, S, 4.0).tolist()
res["mvt_grad_m"] = grad(lambda m: np.sum(multivariate_t_logpdf(X, m, S, 4.0)))(m).tolist()
g = grad(lambda S: np.sum(multivariate_t_logpdf(X, m, S, 4.0)))(S)
res["mvt_grad_S"] = ((g + g.T) / 2).tolist()  # eigh reads one triangle in autograd
res["mvn_grad_S"] = grad(lambda S: np.sum(multivariate_t_logpdf(X, m, S)))(S).tolist()
res["vjp"] = vector_jacobian_product(lambda m: multivariate_t_logpdf(X, m, S, 4.0))(m, np.arange(4.0)).tolist()
res["stan_grad"] = grad(lambda x: np.sum(stan_like(x) ** 2))(X).tolist()
print(json.dumps(res))
'''


# mici's autograd_wrapper: derivatives to third order from make_vjp of autograd.builtins.tuple
MICI = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as np
from autograd.builtins import tuple as atuple
from autograd.core import make_vjp
from autograd.extend import vspace

def grad_and_value(func):
    def grad_and_value_func(x):
        vjp, val = make_vjp(func, x)
        if vspace(val).size != 1:
            raise TypeError("grad_and_value only applies to real scalar-output functions.")
        return vjp(vspace(val).ones()), val
    return grad_and_value_func

def vjp_and_value(func):
    def vjp_and_value_func(x):
        return make_vjp(func, x)
    return vjp_and_value_func

def jacobian_and_value(func):
    def jacobian_and_value_func(x):
        vjp, val = make_vjp(func, x)
        val_vspace = vspace(val)
        jacobian_shape = val_vspace.shape + vspace(x).shape
        jacobian_rows = map(vjp, val_vspace.standard_basis())
        return np.reshape(np.stack(jacobian_rows), jacobian_shape), val
    return jacobian_and_value_func

def mhp_jacobian_and_value(func):
    def mhp_jacobian_and_value_func(x):
        mhp, (jacob, val) = make_vjp(lambda x: atuple(jacobian_and_value(func)(x)), x)
        return lambda m: mhp((m, vspace(val).zeros())), jacob, val
    return mhp_jacobian_and_value_func

def hessian_grad_and_value(func):
    def grad_func(x):
        vjp, val = make_vjp(func, x)
        return vjp(vspace(val).ones()), val
    def hessian_grad_and_value_func(x):
        x_vspace = vspace(x)
        vjp_grad, (grad, val) = make_vjp(lambda x: atuple(grad_func(x)), x)
        hessian_shape = x_vspace.shape + x_vspace.shape
        zeros = vspace(val).zeros()
        hessian_rows = (vjp_grad((v, zeros)) for v in x_vspace.standard_basis())
        return np.reshape(np.stack(hessian_rows), hessian_shape), grad, val
    return hessian_grad_and_value_func

def mtp_hessian_grad_and_value(func):
    def mtp_hessian_grad_and_value_func(x):
        mtp, (hessian, grad, val) = make_vjp(lambda x: atuple(hessian_grad_and_value(func)(x)), x)
        return (lambda m: mtp((m, vspace(grad).zeros(), vspace(val).zeros())), hessian, grad, val)
    return mtp_hessian_grad_and_value_func

# mici's examples: a banana-shaped log density and a constraint on a torus-like manifold
def neg_log_dens(q):
    return (q[0] ** 2 / 2 + (q[1] - q[0] ** 2) ** 2 / 0.5 + np.sum(np.log1p(q[2:] ** 2))
            + 0.1 * np.dot(q, np.tanh(q)))

def constr(q):
    return np.stack([np.sum(q ** 2) - 2.0, q[0] * q[1] - np.sin(q[2]) * q[3]])

q = onp.array([0.4, -0.3, 1.1, 0.7])
m = onp.arange(8.0).reshape(2, 4) / 7
m4 = onp.arange(16.0).reshape(4, 4) / 11
res = {"library": autograd.__name__}
g, v = grad_and_value(neg_log_dens)(q)
res["grad"] = [g.tolist(), float(v)]
vjp, val = vjp_and_value(constr)(q)
res["vjp"] = [vjp(onp.array([1.0, -2.0])).tolist(), val.tolist()]
j, val = jacobian_and_value(constr)(q)
res["jac"] = j.tolist()
mhp, j2, val2 = mhp_jacobian_and_value(constr)(q)
res["mhp"] = [mhp(m).tolist(), j2.tolist()]
h, g2, v2 = hessian_grad_and_value(neg_log_dens)(q)
res["hess"] = [h.tolist(), g2.tolist(), float(v2)]
mtp, h3, g3, v3 = mtp_hessian_grad_and_value(neg_log_dens)(q)
res["mtp"] = [mtp(m4).tolist(), h3.tolist()]
print(json.dumps(res))
'''


# momi2's math_functions: convolutions as primitives whose vjps are primitives, expm1d and
# transformed_expi by masks and concatenation, a symmetric matrix filled by assignment
MOMI = r'''
import json
import numpy as onp
import scipy.special
import scipy.linalg
import autograd
import autograd.numpy as np
from autograd.extend import primitive, defvjp
from autograd import grad, hessian, jacobian
from autograd.test_util import check_grads

def _convolve_sum_axes(A, B):
    n, i, k = A.shape
    _, j, l = B.shape
    C = onp.zeros((n, i, j, k + l - 1))
    for a in range(k):
        for b in range(l):
            C[:, :, :, a + b] += A[:, :, a][:, :, None] * B[:, :, b][:, None, :]
    return C

def _transposed_convolve_sum_axes(C, B):
    l = B.shape[2]
    k = C.shape[3] - l + 1
    return onp.stack([onp.einsum('nijl,njl->ni', C[:, :, :, a:a + l], B) for a in range(k)], axis=-1)

def convolve_trailing_axes(A, B):
    A = np.reshape(A, list(A.shape) + [1])
    B = np.reshape(B, list(B.shape) + [1])
    return convolve_sum_axes(np.transpose(A, (0, 2, 1)), np.transpose(B, (0, 2, 1)))

convolve_sum_axes = primitive(_convolve_sum_axes)
transposed_convolve_sum_axes = primitive(_transposed_convolve_sum_axes)
defvjp(convolve_sum_axes,
       lambda ans, A, B: lambda g: transposed_convolve_sum_axes(g, B),
       lambda ans, A, B: lambda g: transposed_convolve_sum_axes(np.transpose(g, (0, 2, 1, 3)), A))
defvjp(transposed_convolve_sum_axes,
       lambda ans, C, B: lambda g: convolve_sum_axes(g, B),
       lambda ans, C, B: lambda g: transposed_convolve_sum_axes(np.transpose(C, (0, 2, 1, 3)), g))

@primitive
def expi(x):
    return scipy.special.expi(x)
defvjp(expi, lambda ans, x: lambda g: g * np.exp(x) / x)

def transformed_expi(x):
    abs_x = np.abs(x)
    ser = abs_x < 1. / 45.
    nser = np.logical_not(ser)
    assert np.all(abs_x[:-1] >= abs_x[1:])
    return np.concatenate((transformed_expi_naive(x[nser]), transformed_expi_series(x[ser])))

def transformed_expi_series(x):
    c_n, ret = 1., 1.
    for n in range(1, 11):
        c_n = -c_n * x * n
        ret = ret + c_n
    return ret

def transformed_expi_naive(x):
    return -expi(-1.0 / x) * np.exp(1.0 / x) / x

def expm1d(x, eps=1e-6):
    x = np.array(x)
    abs_x = np.abs(x)
    if x.shape:
        assert np.all(abs_x[1:] >= abs_x[:-1])
        small = abs_x < eps
        big = ~small
        return np.concatenate([expm1d_taylor(x[small]), expm1d_naive(x[big])])
    elif abs_x < eps:
        return expm1d_taylor(x)
    else:
        return expm1d_naive(x)

def expm1d_naive(x):
    return np.expm1(x) / x

def expm1d_taylor(x):
    c_n, ret = 1., 1.
    for n in range(2, 11):
        c_n = c_n * x / (1.0 * n)
        ret = ret + c_n
    return ret

@primitive
def symmetric_matrix(arr, n):
    if len(arr) != n * (n + 1) / 2:
        raise Exception("Array must have dimensions n*(n+1)/2")
    ret = onp.zeros((n, n))
    idx = onp.triu_indices(n)
    ret[idx] = arr
    ret[tuple(reversed(idx))] = arr
    return ret
# (momi's vjp reads one triangle of g; both libraries compute the same numbers with it)
defvjp(symmetric_matrix, lambda ans, arr, n: lambda g: g[np.triu_indices(n)])

def slogdet_pos(X):
    sgn, slogdet = np.linalg.slogdet(X)
    if sgn <= 0:
        raise Exception("X determinant is nonpositive")
    return slogdet

def log_wishart_pdf(X, V, n, p):
    return (n - p - 1) / 2 * slogdet_pos(X) - n / 2 * slogdet_pos(V) - 0.5 * np.trace(np.dot(np.linalg.inv(V), X))

@primitive
def inv_psd(x):
    return scipy.linalg.pinvh(x)
defvjp(inv_psd, lambda ans, x: lambda g: -np.dot(np.dot(ans, g), ans))

rs = onp.random.RandomState(0)
A0, B0 = rs.rand(2, 3, 4), rs.rand(2, 2, 3)
V = onp.array([[2.0, 0.3, 0.1], [0.3, 1.5, 0.2], [0.1, 0.2, 1.0]])

def model(params):
    A = A0 * np.exp(params[0])
    B = B0 * (1 + params[1] ** 2)
    C = convolve_sum_axes(A, B)
    t = np.sort(np.abs(params[2:5]))[::-1] * 0.1
    e = transformed_expi(np.concatenate([t, np.array([0.01, 0.005])]))
    m = expm1d(np.sort(np.abs(params[2:6]) * np.array([1e-7, 1.0, 1.0, 1.0])))
    s = expm1d(params[0] * 1e-8) + expm1d(params[1])
    X = symmetric_matrix(np.exp(params[:6] * 0.1) * np.array([2.0, 0.1, 0.05, 1.8, 0.1, 1.5]), 3)
    W = log_wishart_pdf(X, V, 5.0, 3)
    Q = inv_psd(X)
    return (np.sum(C ** 2) + np.sum(e) + np.sum(m) + s + W + np.sum(Q * V)
            + np.sum(convolve_trailing_axes(A[:, 0, :], B[:, 0, :]) ** 3))

p = onp.array([0.2, -0.5, 0.3, 0.9, -0.4, 0.7])
check_grads(lambda a: np.sum(convolve_sum_axes(a, B0) ** 2), modes=["rev"], order=2)(A0)
g = rs.rand(2, 3, 2, 6)
res = {"library": autograd.__name__,
       "value": float(model(p)), "grad": grad(model)(p).tolist(), "hess": hessian(model)(p).tolist(),
       "jac_conv": jacobian(lambda a: convolve_sum_axes(a, B0))(A0).tolist(),
       "second": grad(lambda b: np.sum(transposed_convolve_sum_axes(g, b) ** 2))(B0).tolist(),
       "expm1d_scalar": [float(grad(expm1d)(0.0)), float(grad(expm1d)(0.7)), float(grad(expm1d)(1e-8))]}
print(json.dumps(res))
'''


# autograd-gamma's incomplete gamma and beta functions, and a survival likelihood built on them
AUTOGRAD_GAMMA = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as np
from autograd import grad, elementwise_grad, jacobian, hessian, value_and_grad
from autograd_gamma import (gammainc, gammaincc, gammaincln, gammainccln, betainc, betaincln,
                            gammaincinv, gammainccinv, betaincinv)

a = onp.array([0.7, 2.5, 4.0])
x = onp.array([0.3, 1.9, 5.5])
b = onp.array([1.5, 0.8, 3.0])
u = onp.array([0.2, 0.5, 0.9])
res = {"library": autograd.__name__}
for name, f in [("gammainc", gammainc), ("gammaincc", gammaincc), ("gammaincln", gammaincln),
                ("gammainccln", gammainccln)]:
    res[name] = [elementwise_grad(f, 0)(a, x).tolist(), elementwise_grad(f, 1)(a, x).tolist(),
                 jacobian(lambda a: f(a, x))(a).tolist()]
res["inv"] = [elementwise_grad(gammaincinv, 0)(a, u).tolist(), elementwise_grad(gammaincinv, 1)(a, u).tolist(),
              elementwise_grad(gammainccinv, 1)(a, u).tolist()]
s = onp.array([0.2, 0.4, 0.7])
res["beta"] = [elementwise_grad(betainc, k)(a, b, s).tolist() for k in range(3)] + \
    [elementwise_grad(betaincln, k)(a, b, s).tolist() for k in range(3)] + \
    [elementwise_grad(betaincinv, 2)(a, b, u).tolist()]
# a lifelines-style survival log-likelihood: gamma AFT with censoring
T = onp.array([1.2, 0.4, 3.1, 2.2, 0.9])
E = onp.array([1, 0, 1, 1, 0])
def loglik(params):
    k, lam = np.exp(params[0]), np.exp(params[1])
    logsf = gammainccln(k, T / lam)
    logpdf = (k - 1) * np.log(T / lam) - T / lam - autograd.scipy.special.gammaln(k) - np.log(lam)
    return np.sum(E * logpdf + (1 - E) * logsf)
import autograd.scipy.special
p = onp.array([0.3, 0.2])
v, g = value_and_grad(loglik)(p)
res["loglik"] = [float(v), g.tolist(), hessian(loglik)(p).tolist()]
print(json.dumps(res))
'''


# a Gaussian process fitted with scipy.optimize (L-BFGS-B, trust-exact with hessian, trust-ncg with
# make_hvp), kernel derivatives by elementwise_grad and expected improvement
GAUSSIAN_PROCESS = r'''
import json
import numpy as onp
import scipy.optimize
import autograd
import autograd.numpy as np
import autograd.numpy.random as npr
import autograd.scipy.linalg as spla
from autograd.scipy.stats import norm, multivariate_normal as mvn
from autograd.scipy.special import logsumexp, expit
from autograd import grad, hessian, value_and_grad, elementwise_grad, jacobian, make_hvp

rs = npr.RandomState(2)
X = rs.randn(12, 2)
y = onp.sin(X[:, 0]) + 0.3 * X[:, 1] ** 2 + 0.05 * rs.randn(12)

def kernel(params, A, B):
    ls, var = np.exp(params[0:2]), np.exp(params[2])
    d = (A[:, None, :] - B[None, :, :]) / ls
    return var * np.exp(-0.5 * np.sum(d ** 2, axis=-1))

def nll(params):
    K = kernel(params, X, X) + (np.exp(params[3]) + 1e-6) * np.eye(len(X))
    L = np.linalg.cholesky(K)
    alpha = spla.solve_triangular(L, y, lower=True)
    return 0.5 * np.dot(alpha, alpha) + np.sum(np.log(np.diag(L))) + 0.5 * len(X) * np.log(2 * np.pi)

p0 = onp.array([0.1, 0.2, 0.0, -2.0])
res = {"library": autograd.__name__, "g0": grad(nll)(p0).tolist(), "h0": hessian(nll)(p0).tolist()}
r1 = scipy.optimize.minimize(value_and_grad(nll), p0, jac=True, method="L-BFGS-B", options={"maxiter": 4})
r2 = scipy.optimize.minimize(nll, p0, jac=grad(nll), hess=hessian(nll), method="trust-exact", options={"maxiter": 4})
hvp = lambda p, v: make_hvp(nll)(p)[0](v)
r3 = scipy.optimize.minimize(nll, p0, jac=grad(nll), hessp=hvp, method="trust-ncg", options={"maxiter": 4})
res["opt"] = [r1.x.tolist(), float(r1.fun), r2.x.tolist(), r3.x.tolist()]

# predictive mean and its gradient wrt test inputs (kgof-style kernel derivatives)
def predict(xs, params=r1.x):
    K = kernel(params, X, X) + (np.exp(params[3]) + 1e-6) * np.eye(len(X))
    return np.dot(kernel(params, xs, X), np.linalg.solve(K, y))
xs = rs.randn(4, 2)
res["pred"] = [predict(xs).tolist(), elementwise_grad(lambda xs: predict(xs))(xs).tolist(),
               jacobian(predict)(xs).tolist()]
def ksd_kernel_grad(A, B, params):
    return elementwise_grad(lambda A: np.sum(kernel(params, A, B)))(A)
res["kgrad"] = ksd_kernel_grad(xs, X, p0).tolist()

# expected improvement (bayesian optimisation) and its gradient
def ei(xs, best=0.0):
    mu = predict(xs)
    sigma = 0.3 + 0.1 * np.sum(xs ** 2, axis=1)
    z = (best - mu) / sigma
    return (best - mu) * norm.cdf(z) + sigma * norm.pdf(z)
res["ei"] = [ei(xs).tolist(), elementwise_grad(lambda xs: np.sum(ei(xs)))(xs).tolist()]
S = kernel(p0, xs, xs) + 0.1 * np.eye(4)
res["mvn"] = grad(lambda m: mvn.logpdf(xs[:, 0], m, S))(xs[:, 1]).tolist()
lse = lambda w: logsumexp(np.dot(X, w)) + np.sum(np.log(expit(np.dot(X, w))))
res["lse"] = grad(lse)(onp.array([0.2, -0.1])).tolist()
print(json.dumps(res))
'''


# autograd.extend used as libraries use it: defvjp_argnum/defjvp_argnum with keywords,
# def_linear, notrace_primitive, a SparseObject cotangent, vspace, a dict argument
EXTEND = r'''
import json
from collections import namedtuple
import numpy as onp
import autograd
import autograd.numpy as np
from autograd import grad, jacobian, hessian, make_jvp, elementwise_grad
from autograd.extend import (primitive, defvjp, defjvp, defvjp_argnum, defjvp_argnum, def_linear,
                             notrace_primitive, vspace, SparseObject)
from autograd.builtins import dict as adict, list as alist, tuple as atuple

res = {"library": autograd.__name__}
x = onp.array([0.3, -0.7, 1.2])

@primitive
def weighted(d):
    return d["w"] * onp.sum(d["v"] ** 2)
defvjp(weighted, lambda ans, d: lambda g: {"w": g * onp.sum(d["v"] ** 2), "v": 2 * g * d["w"] * d["v"]})
res["dict_in"] = grad(lambda v: weighted(adict(w=v[0], v=v[1:] * 2.0)))(x).tolist()

@primitive
def axpy(a, x, y, scale=1.0):
    return scale * (a * x + y)
defvjp_argnum(axpy, lambda argnum, ans, args, kwargs: (
    lambda g: kwargs.get("scale", 1.0) * (np.sum(g * args[1]) if argnum == 0 else g * args[0] if argnum == 1 else g)))
defjvp_argnum(axpy, lambda argnum, g, ans, args, kwargs: kwargs.get("scale", 1.0) * (
    g * args[1] if argnum == 0 else g * args[0] if argnum == 1 else g))
f = lambda v: np.sum(np.sin(axpy(v[0], v, v ** 2, scale=0.5)))
res["argnum"] = [grad(f)(x).tolist(), hessian(f)(x).tolist(),
                 make_jvp(lambda v: axpy(v[0], v, v ** 2, scale=0.5))(x)(onp.ones(3))[1].tolist()]

@primitive
def flip(v):
    return v[::-1] * 2.0
def_linear(flip)
res["linear"] = [make_jvp(flip)(x)(onp.arange(3.0))[1].tolist()]

@notrace_primitive
def count_positive(v):
    return onp.sum(v > 0)
res["notrace"] = grad(lambda v: count_positive(v) * np.sum(v ** 2))(x).tolist()

@primitive
def pick(v, i):
    return v[i]
def pick_vjp(ans, v, i):
    def vjp(g):
        vs = vspace(v)
        return SparseObject(vs, lambda A: A + onp.eye(v.size)[i] * g)
    return vjp
defvjp(pick, pick_vjp)
res["sparse"] = grad(lambda v: pick(v, 1) * pick(v, 2) + pick(v, 1))(x).tolist()

vs = vspace(x)
res["vspace"] = [int(vs.size), int(vs.ndim), [int(k) for k in vs.shape], [b.tolist() for b in vs.standard_basis()],
                 float(vs.inner_prod(x, x)), vs.covector(x).tolist(), vs.zeros().tolist(), vs.ones().tolist()]
Pair = namedtuple("Pair", ["a", "b"])
res["vspace_tuple"] = [int(vspace((x, 2.0)).size), int(vspace([x, x]).size), int(vspace({"k": x}).size)]

res["list_args"] = grad(lambda v: np.sum(np.stack(alist([v, v ** 2]))) + np.sum(atuple((v, v))[1]))(x).tolist()
print(json.dumps(res))
'''


# geomstats' autograd backend (autodiff.py): custom_gradient through autograd.extend reached as an
# attribute, value_and_jacobian from autograd.differential_operators._make_vjp and .vspace
GEOMSTATS = r'''
import json
import numpy as onp
import autograd
import autograd as _autograd
import autograd.numpy as _np
from autograd import jacobian

def custom_gradient(*grad_funcs):
    def decorator(func):
        wrapped_function = _autograd.extend.primitive(func)
        def wrapped_grad_func(i, ans, *args, **kwargs):
            grads = grad_funcs[i](*args, **kwargs)
            if isinstance(grads, float):
                return lambda g: g * grads
            if grads.ndim == 2:
                return lambda g: g[..., None] * grads
            if grads.ndim == 3:
                return lambda g: g[..., None, None] * grads
            return lambda g: g * grads
        if len(grad_funcs) == 1:
            _autograd.extend.defvjp(wrapped_function,
                                    lambda ans, *args, **kwargs: wrapped_grad_func(0, ans, *args, **kwargs))
        elif len(grad_funcs) == 2:
            _autograd.extend.defvjp(wrapped_function,
                                    lambda ans, *args, **kwargs: wrapped_grad_func(0, ans, *args, **kwargs),
                                    lambda ans, *args, **kwargs: wrapped_grad_func(1, ans, *args, **kwargs))
        return wrapped_function
    return decorator

@_autograd.differential_operators.unary_to_nary
def _elementwise_value_and_grad(fun, x):
    vjp, ans = _autograd.differential_operators._make_vjp(fun, x)
    if _autograd.differential_operators.vspace(ans).iscomplex:
        raise TypeError("Elementwise_grad only applies to real-output functions.")
    return ans, vjp(_autograd.differential_operators.vspace(ans).ones())

def value_and_grad(func, argnums=0, to_numpy=False):
    def _value_and_grad(*x, **kwargs):
        if not hasattr(x[0], "ndim") or x[0].ndim < 2:
            return _autograd.value_and_grad(func, argnum=argnums)(*x, **kwargs)
        return _elementwise_value_and_grad(func, argnum=argnums)(*x, **kwargs)
    return _value_and_grad

@_autograd.differential_operators.unary_to_nary
def _value_and_jacobian_op(fun, x):
    vjp, ans = _autograd.differential_operators._make_vjp(fun, x)
    ans_vspace = _autograd.differential_operators.vspace(ans)
    jacobian_shape = ans_vspace.shape + _autograd.differential_operators.vspace(x).shape
    grads = map(vjp, ans_vspace.standard_basis())
    return ans, _np.reshape(_np.stack(grads), jacobian_shape)

def _value_and_jacobian(fun, point_ndim=1):
    def _value_and_jacobian_vec(x):
        if x.ndim == point_ndim:
            return _value_and_jacobian_op(fun)(x)
        ans = []
        jac = []
        for one_x in x:
            ans_, jac_ = _value_and_jacobian_op(fun)(one_x)
            ans.append(ans_)
            jac.append(jac_)
        return _np.stack(ans), _np.stack(jac)
    return _value_and_jacobian_vec

def jacobian_vec(fun, point_ndim=1):
    def _jac(x):
        if x.ndim == point_ndim:
            return jacobian(fun)(x)
        return _np.stack([jacobian(fun)(one_x) for one_x in x])
    return _jac

def hessian_vec(func, point_ndim=1, func_out_ndim=None):
    hessian_func = lambda x: _autograd.hessian(func)(x)
    def _hess(x):
        if x.ndim == point_ndim:
            return hessian_func(x)
        return _np.stack([hessian_func(one_x) for one_x in x])
    return _hess

def value_jacobian_and_hessian(func, func_out_ndim=None):
    cache = []
    def _cached_value_and_jacobian(fun, return_cached=False):
        def _jac(x):
            ans, jac = _value_and_jacobian(fun)(x)
            if not return_cached:
                cache.append(ans)
                return jac
            value = _np.stack(cache)._value if len(cache) > 1 else cache[0]._value
            cache.clear()
            return value, ans, jac
        return _jac
    return _cached_value_and_jacobian(_cached_value_and_jacobian(func), return_cached=True)

# geomstats-style functions: the hypersphere's squared distance via arccos with a custom gradient
def _arccos_grad(x):
    return -1.0 / _np.sqrt(1 - x ** 2)

@custom_gradient(_arccos_grad)
def safe_arccos(x):
    return onp.arccos(onp.clip(x, -1.0, 1.0))

def sq_dist(point, base=onp.array([0.0, 0.6, 0.8])):
    return safe_arccos(_np.sum(point * base, axis=-1)) ** 2

def exp_map(v, base=onp.array([0.0, 0.6, 0.8])):
    n = _np.linalg.norm(v)
    return _np.cos(n) * base + _np.sin(n) * v / n

x = onp.array([0.6, 0.0, 0.8])
xs = onp.array([[0.6, 0.0, 0.8], [0.0, 0.8, 0.6], [0.48, 0.6, 0.64]])
v = onp.array([0.3, 0.2, -0.15])
res = {"library": autograd.__name__}
val, g = value_and_grad(sq_dist)(x)
vals, gs = value_and_grad(sq_dist)(xs)
res["vg"] = [float(val), g.tolist(), vals.tolist(), gs.tolist()]
a, j = _value_and_jacobian(exp_map)(v)
res["vj"] = [a.tolist(), j.tolist()]
a2, j2 = _value_and_jacobian(lambda p: p * sq_dist(p))(xs)
res["vj_vec"] = [a2.tolist(), j2.tolist()]
res["jac_vec"] = jacobian_vec(exp_map)(onp.stack([v, 2 * v])).tolist()
res["hess_vec"] = hessian_vec(sq_dist)(xs).tolist()
value, jac, hess = value_jacobian_and_hessian(lambda p: _np.sum(exp_map(p) ** 3))(v)
res["vjh"] = [float(value), onp.asarray(jac).tolist(), onp.asarray(hess).tolist()]
print(json.dumps(res))
'''


# autoptim: scipy.optimize.minimize on lists of arrays with autograd's grad, bounds and
# preconditioning, and its tutorials
AUTOPTIM = r'''
import json
import numpy as np_
import autograd
import autograd.numpy as np
from autograd import grad
from scipy.optimize import minimize as minimize_

def _scipy_func(objective_function, gradient, x, shapes, args=()):
    optim_vars = _split(x, shapes)
    obj = objective_function(optim_vars, *args)
    gradients = gradient(optim_vars, *args)
    g_vectorized, _ = _vectorize(gradients)
    return obj, g_vectorized

def _convert_to_tuple(optim_vars):
    if type(optim_vars) not in (list, tuple):
        return (optim_vars,)
    return optim_vars

def minimize(objective_function, optim_vars, args=(), precon_fwd=None, precon_bwd=None, **kwargs):
    precondition = precon_fwd is not None
    if precondition:
        optim_vars = _convert_to_tuple(optim_vars)
        precon_optim_vars = precon_fwd(*optim_vars, *args)
        n_args = len(args)
        def precon_objective(*precon_optim_vars_and_args):
            args = precon_optim_vars_and_args[-n_args:]
            optim_vars = precon_bwd(*precon_optim_vars_and_args)
            optim_vars = _convert_to_tuple(optim_vars)
            return objective_function(*optim_vars, *args)
        precon_result, res = minimize(precon_objective, precon_optim_vars, args=args, precon_fwd=None,
                                      precon_bwd=None, **kwargs)
        precon_result = _convert_to_tuple(precon_result)
        return precon_bwd(*precon_result, *args), res
    bounds = kwargs.get('bounds')
    bounds_in_kwargs = bounds is not None
    if type(optim_vars) is np.ndarray:
        input_is_array = True
        optim_vars = (optim_vars,)
        if bounds_in_kwargs:
            bounds = (bounds,)
    else:
        input_is_array = False
    def objective_converted(optim_vars, *args):
        return objective_function(*optim_vars, *args)
    gradient = grad(objective_converted)
    x0, shapes = _vectorize(optim_vars)
    if bounds_in_kwargs:
        bounds = _convert_bounds(bounds, shapes)
        kwargs['bounds'] = bounds
    def func(x):
        return _scipy_func(objective_converted, gradient, x, shapes, args)
    res = minimize_(func, x0, jac=True, **kwargs)
    output = _split(res['x'], shapes)
    if input_is_array:
        output = output[0]
    return output, res

def _convert_bounds(bounds, shapes):
    output_bounds = []
    for shape, bound in zip(shapes, bounds):
        b = bound[0]
        if isinstance(b, (list, tuple, np.ndarray)):
            output_bounds += bound
        else:
            output_bounds += [bound, ] * np.prod(shape)
    return output_bounds

def _vectorize(optim_vars):
    shapes = [var.shape for var in optim_vars]
    x = np.concatenate([var.ravel() for var in optim_vars])
    return x, shapes

def _split(x, shapes):
    x_split = np.split(x, np.cumsum([np.prod(shape) for shape in shapes[:-1]]))
    optim_vars = [var.reshape(*shape) for (var, shape) in zip(x_split, shapes)]
    return optim_vars

res = {"library": autograd.__name__}
np.random.seed(0)
# tutorials/gaussian_mixture.py
n, n_components = 100, 3
x = np.concatenate((np.random.randn(n) - 1, 3 * np.random.randn(n), np.random.randn(n) + 2))
def loss(means, variances, x):
    tmp = np.zeros(n_components * n)
    for m, v in zip(means, variances):
        tmp = tmp + np.exp(-(x - m) ** 2 / (2 * v ** 2)) / v
    return -np.sum(np.log(tmp))
means0 = np.random.randn(n_components)
variances0 = np.random.rand(n_components) + 0.5
(means, variances), r = minimize(loss, [means0, variances0], args=(x,), bounds=[(None, None), (0.1, None)],
                                 options={"maxiter": 6})
res["mixture"] = [means.tolist(), variances.tolist(), float(r.fun)]
# tutorials/preconditioning.py and ridge regression
n, p = 200, 5
X = np.random.randn(n, p) * np.arange(1, p + 1)
y = np.random.randn(n)
lbda = 0.1
def ridge(beta, X, y, lbda):
    return np.sum((np.dot(X, beta) - y) ** 2) + lbda * np.sum(beta ** 2)
hessian_approx = 2 * lbda * np.ones(p)
for i in range(p):
    hessian_approx[i] += 2 * np.dot(X[:, i], X[:, i])
diag_precon = np.sqrt(hessian_approx)
def precon_fwd(beta, X, y, lbda):
    return beta * diag_precon
def precon_bwd(beta_precon, X, y, lbda):
    return beta_precon / diag_precon
beta0 = np.random.randn(p)
b1, r1 = minimize(ridge, beta0, args=(X, y, lbda), precon_fwd=precon_fwd, precon_bwd=precon_bwd,
                  options={"maxiter": 4})
b2, r2 = minimize(ridge, beta0, args=(X, y, lbda), options={"maxiter": 4})
res["ridge"] = [b1.tolist(), b2.tolist()]
# tutorials/whitening.py: a matrix variable
A = np.random.randn(3, 3)
C = np.dot(A, A.T) + np.eye(3)
def whiten(W, C):
    WC = np.dot(W, np.dot(C, W.T))
    return np.sum((WC - np.eye(3)) ** 2) - 0 * np.linalg.slogdet(W)[1]
W, r3 = minimize(whiten, np.eye(3), args=(C,), options={"maxiter": 5})
res["whiten"] = [W.tolist(), float(r3.fun)]
print(json.dumps(res))
'''
