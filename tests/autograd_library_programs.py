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
