"""Programs trimmed from libraries built on HIPS autograd (part 3; see
autograd_library_programs.py)."""

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


# an importance-weighted bound with the path derivative ("sticking the landing"): autograd.core.getval
# and autograd.core.make_vjp reached from `import autograd` alone
STICKING_THE_LANDING = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd.scipy.special import logsumexp

# "sticking the landing" and IWAE-style estimators: the variational parameters are
# stopped with autograd.core.getval, reached from `import autograd` alone
D = 2
def unpack(params):
    return params[:D], params[D:]

def sample_q(params, shape, rs):
    mean, log_std = unpack(params)
    return mean + np.exp(log_std) * rs.randn(*shape, D)

def log_q(params, z):
    mean, log_std = unpack(params)
    return np.sum(-0.5 * ((z - mean) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi), axis=-1)

def log_p(z):
    return -0.5 * np.sum(z ** 2 * np.array([1.0, 4.0]), axis=-1) + np.sin(z[..., 0])

def iwae_stl(params, M_training, num_copies_training, seed):
    rs = npr.RandomState(seed)
    samples_shape = (num_copies_training, M_training)
    params_stopped = autograd.core.getval(params)
    z = sample_q(params, samples_shape, rs)
    lp = log_p(z)
    lq = log_q(params, z)
    lq_stopped = log_q(params_stopped, z)
    log_w = lp - lq_stopped
    return np.mean(logsumexp(log_w, axis=1) - np.log(M_training)) + 0 * np.sum(lq)

params = onp.array([0.3, -0.2, -0.5, 0.1])
res = {"library": autograd.__name__}
g = autograd.grad(iwae_stl)(params, 4, 3, 0)
trace = []
for i in range(5):
    params = params + 0.05 * autograd.grad(iwae_stl)(params, 4, 3, i)
    trace.append(float(iwae_stl(params, 4, 3, 100 + i)))
vjp, ans = autograd.core.make_vjp(lambda p: log_q(p, onp.array([[0.1, 0.2], [0.3, -0.1]])), params)
res["stl"] = [g.tolist(), params.tolist(), trace, ans.tolist(), vjp(onp.array([1.0, -1.0])).tolist()]
print(json.dumps(res))
'''


# google-research's neural_structural_optimization (autograd_lib.py, topo_physics.py): a sparse
# solve, cone and Gaussian filters and a bisection root as primitives (the root's vjp calls autograd.grad),
# optimality-criteria steps differentiated end to end
STRUCTURAL_OPTIMIZATION = r'''
import json
import numpy as onp
import scipy.ndimage
import scipy.sparse
import scipy.sparse.linalg
import autograd
import autograd.core
import autograd.extend
import autograd.numpy as anp

# neural_structural_optimization/autograd_lib.py
def _grad_undefined(_, *args):
    raise TypeError('gradient undefined for this input argument')

def _zero_grad(_, *args, **kwargs):
    def jvp(grad_ans):
        return 0.0 * grad_ans
    return jvp

@autograd.extend.primitive
def gaussian_filter(x, width):
    return scipy.ndimage.gaussian_filter(x, width, mode='reflect')

def _gaussian_filter_vjp(ans, x, width):
    del ans, x
    return lambda g: gaussian_filter(g, width)
autograd.extend.defvjp(gaussian_filter, _gaussian_filter_vjp)

def _cone_filter_matrix(nelx, nely, radius, mask):
    x, y = onp.meshgrid(onp.arange(nelx), onp.arange(nely), indexing='ij')
    rows, cols, values = [], [], []
    r_bound = int(onp.ceil(radius))
    for dx in range(-r_bound, r_bound + 1):
        for dy in range(-r_bound, r_bound + 1):
            weight = onp.maximum(0, radius - onp.sqrt(dx ** 2 + dy ** 2))
            row = x + nelx * y
            column = x + dx + nelx * (y + dy)
            value = onp.broadcast_to(weight, x.shape)
            valid = ((mask > 0) & ((x + dx) >= 0) & ((x + dx) < nelx) & ((y + dy) >= 0) & ((y + dy) < nely))
            rows.append(row[valid])
            cols.append(column[valid])
            values.append(value[valid])
    data = onp.concatenate(values)
    i = onp.concatenate(rows)
    j = onp.concatenate(cols)
    return scipy.sparse.coo_matrix((data, (i, j)), (nelx * nely,) * 2)

def normalized_cone_filter_matrix(nx, ny, radius, mask):
    raw_filters = _cone_filter_matrix(nx, ny, radius, mask).tocsr()
    weights = 1 / onp.asarray(raw_filters.sum(axis=0)).squeeze()
    diag_weights = scipy.sparse.spdiags(weights, 0, nx * ny, nx * ny)
    return (diag_weights @ raw_filters).tocsr()

@autograd.extend.primitive
def cone_filter(inputs, radius, mask=1, transpose=False):
    inputs = onp.asarray(inputs)
    filters = normalized_cone_filter_matrix(*inputs.shape, radius=radius, mask=mask)
    if transpose:
        filters = filters.T
    outputs = filters @ inputs.ravel(order='F')
    return outputs.reshape(inputs.shape, order='F')

def _cone_filter_vjp(ans, inputs, radius, mask=1, transpose=False):
    del ans, inputs
    return lambda g: cone_filter(g, radius, mask, transpose=not transpose)
autograd.extend.defvjp(cone_filter, _cone_filter_vjp)

def inverse_permutation(indices):
    inverse_perm = onp.zeros(len(indices), dtype=anp.int64)
    inverse_perm[indices] = onp.arange(len(indices), dtype=anp.int64)
    return inverse_perm

def scatter1d(nonzero_values, nonzero_indices, array_len):
    all_indices = onp.arange(array_len, dtype=anp.int64)
    zero_indices = anp.setdiff1d(all_indices, nonzero_indices, assume_unique=True)
    index_map = inverse_permutation(anp.concatenate([nonzero_indices, zero_indices]))
    u_values = anp.concatenate([nonzero_values, anp.zeros(len(zero_indices))])
    return u_values[index_map]

def _get_solver(a_entries, a_indices, size, sym_pos):
    a = scipy.sparse.coo_matrix((a_entries, a_indices), shape=(size,) * 2).tocsc()
    return scipy.sparse.linalg.splu(a).solve

@autograd.primitive
def solve_coo(a_entries, a_indices, b, sym_pos=False):
    solver = _get_solver(a_entries, a_indices, b.size, sym_pos)
    return solver(b)

def solve_coo_adjoint(a_entries, a_indices, b, sym_pos=False):
    if sym_pos:
        return solve_coo(a_entries, a_indices, b, sym_pos)
    else:
        return solve_coo(a_entries, a_indices[::-1], b, sym_pos)

def grad_solve_coo_entries(ans, a_entries, a_indices, b, sym_pos=False):
    def jvp(grad_ans):
        lambda_ = solve_coo_adjoint(a_entries, a_indices, grad_ans, sym_pos)
        i, j = a_indices
        return -lambda_[i] * ans[j]
    return jvp

def grad_solve_coo_b(ans, a_entries, a_indices, b, sym_pos=False):
    def jvp(grad_ans):
        return solve_coo_adjoint(a_entries, a_indices, grad_ans, sym_pos)
    return jvp

autograd.extend.defvjp(solve_coo, grad_solve_coo_entries, _grad_undefined, grad_solve_coo_b)

@autograd.primitive
def find_root(f, x, lower_bound, upper_bound, tolerance=1e-12, max_iterations=64):
    for _ in range(max_iterations):
        y = 0.5 * (lower_bound + upper_bound)
        if upper_bound - lower_bound < tolerance:
            break
        if f(x, y) > 0:
            upper_bound = y
        else:
            lower_bound = y
    return y

def grad_find_root(y, f, x, lower_bound, upper_bound, tolerance=None):
    def jvp(grad_y):
        g = lambda x: f(x, y)
        h = lambda y: f(x, y)
        return -autograd.grad(g)(x) / autograd.grad(h)(y) * grad_y
    return jvp

autograd.extend.defvjp(find_root, _grad_undefined, grad_find_root, _zero_grad, _zero_grad, _zero_grad)

# neural_structural_optimization/topo_physics.py
np = anp

def default_args(nely=3, nelx=6):
    left_wall = list(range(0, 2 * (nely + 1), 2))
    right_corner = [2 * (nelx + 1) * (nely + 1) - 1]
    fixdofs = onp.asarray(left_wall + right_corner)
    alldofs = onp.arange(2 * (nely + 1) * (nelx + 1))
    freedofs = onp.asarray(sorted(set(alldofs) - set(fixdofs)))
    forces = onp.zeros(2 * (nely + 1) * (nelx + 1))
    forces[1] = -1.0
    return {'young': 1, 'young_min': 1e-9, 'poisson': 0.3, 'g': 0, 'volfrac': 0.4, 'nelx': nelx, 'nely': nely,
            'freedofs': freedofs, 'fixdofs': fixdofs, 'forces': forces, 'mask': 1, 'penal': 3.0, 'rmin': 1.5,
            'opt_steps': 3, 'filter_width': 2, 'step_size': 0.5, 'name': 'truss'}

def physical_density(x, args, volume_contraint=False, cone_filter=True):
    shape = (args['nely'], args['nelx'])
    assert x.shape == shape or x.ndim == 1
    x = x.reshape(shape)
    if volume_contraint:
        mask = np.broadcast_to(args['mask'], x.shape) > 0
        x_designed = sigmoid_with_constrained_mean(x[mask], args['volfrac'])
        x_flat = scatter1d(x_designed, np.flatnonzero(mask), x.size)
        x = x_flat.reshape(x.shape)
    else:
        x = x * args['mask']
    if cone_filter:
        x = globals()['cone_filter'](x, args['filter_width'], args['mask'])
    return x

def mean_density(x, args, volume_contraint=False, cone_filter=True):
    return np.mean(physical_density(x, args, volume_contraint, cone_filter)) / np.mean(args['mask'])

def get_stiffness_matrix(young, poisson):
    e, nu = young, poisson
    k = np.array([1/2-nu/6, 1/8+nu/8, -1/4-nu/12, -1/8+3*nu/8, -1/4+nu/12, -1/8-nu/8, nu/6, 1/8-3*nu/8])
    return e/(1-nu**2)*np.array([[k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]],
                                 [k[1], k[0], k[7], k[6], k[5], k[4], k[3], k[2]],
                                 [k[2], k[7], k[0], k[5], k[6], k[3], k[4], k[1]],
                                 [k[3], k[6], k[5], k[0], k[7], k[2], k[1], k[4]],
                                 [k[4], k[5], k[6], k[7], k[0], k[1], k[2], k[3]],
                                 [k[5], k[4], k[3], k[2], k[1], k[0], k[7], k[6]],
                                 [k[6], k[3], k[4], k[1], k[2], k[7], k[0], k[5]],
                                 [k[7], k[2], k[1], k[4], k[3], k[6], k[5], k[0]]])

def _get_dof_indices(freedofs, fixdofs, k_xlist, k_ylist):
    index_map = inverse_permutation(np.concatenate([freedofs, fixdofs]))
    keep = np.isin(k_xlist, freedofs) & np.isin(k_ylist, freedofs)
    i = index_map[k_ylist][keep]
    j = index_map[k_xlist][keep]
    return index_map, keep, np.stack([i, j])

def displace(x_phys, ke, forces, freedofs, fixdofs, *, penal=3, e_min=1e-9, e_0=1):
    stiffness = young_modulus(x_phys, e_0, e_min, p=penal)
    k_entries, k_ylist, k_xlist = get_k(stiffness, ke)
    index_map, keep, indices = _get_dof_indices(freedofs, fixdofs, k_ylist, k_xlist)
    u_nonzero = solve_coo(k_entries[keep], indices, forces[freedofs], sym_pos=True)
    u_values = np.concatenate([u_nonzero, np.zeros(len(fixdofs))])
    return u_values[index_map]

def get_k(stiffness, ke):
    nely, nelx = stiffness.shape
    ely, elx = np.meshgrid(range(nely), range(nelx))
    ely, elx = ely.reshape(-1, 1), elx.reshape(-1, 1)
    n1 = (nely+1)*(elx+0) + (ely+0)
    n2 = (nely+1)*(elx+1) + (ely+0)
    n3 = (nely+1)*(elx+1) + (ely+1)
    n4 = (nely+1)*(elx+0) + (ely+1)
    edof = np.array([2*n1, 2*n1+1, 2*n2, 2*n2+1, 2*n3, 2*n3+1, 2*n4, 2*n4+1])
    edof = edof.T[0]
    x_list = np.repeat(edof, 8)
    y_list = np.tile(edof, 8).flatten()
    kd = stiffness.T.reshape(nelx*nely, 1, 1)
    value_list = (kd * np.tile(ke, kd.shape)).flatten()
    return value_list, y_list, x_list

def young_modulus(x, e_0, e_min, p=3):
    return e_min + x ** p * (e_0 - e_min)

def compliance(x_phys, u, ke, *, penal=3, e_min=1e-9, e_0=1):
    nely, nelx = x_phys.shape
    ely, elx = np.meshgrid(range(nely), range(nelx))
    n1 = (nely+1)*(elx+0) + (ely+0)
    n2 = (nely+1)*(elx+1) + (ely+0)
    n3 = (nely+1)*(elx+1) + (ely+1)
    n4 = (nely+1)*(elx+0) + (ely+1)
    all_ixs = np.array([2*n1, 2*n1+1, 2*n2, 2*n2+1, 2*n3, 2*n3+1, 2*n4, 2*n4+1])
    u_selected = u[all_ixs]
    ke_u = np.einsum('ij,jkl->ikl', ke, u_selected)
    ce = np.einsum('ijk,ijk->jk', u_selected, ke_u)
    C = young_modulus(x_phys, e_0, e_min, p=penal) * ce.T
    return np.sum(C)

def optimality_criteria_combine(x, dc, dv, args, max_move=0.2, eta=0.5):
    volfrac = args['volfrac']
    def pack(x, dc, dv):
        return np.concatenate([x.ravel(), dc.ravel(), dv.ravel()])
    def unpack(inputs):
        x_flat, dc_flat, dv_flat = np.split(inputs, [x.size, x.size + dc.size])
        return (x_flat.reshape(x.shape), dc_flat.reshape(dc.shape), dv_flat.reshape(dv.shape))
    def compute_xnew(inputs, lambda_):
        x, dc, dv = unpack(inputs)
        dv = np.where(np.ravel(args['mask']) > 0, dv, 1)
        xnew = x * np.maximum(-dc / (lambda_ * dv), 0) ** eta
        lower = np.maximum(0.0, x - max_move)
        upper = np.minimum(1.0, x + max_move)
        return np.minimum(np.maximum(xnew, lower), upper)
    def f(inputs, lambda_):
        xnew = compute_xnew(inputs, lambda_)
        return volfrac - mean_density(xnew, args)
    inputs = pack(x, dc, dv)
    lambda_ = find_root(f, inputs, lower_bound=1e-9, upper_bound=1e9)
    return compute_xnew(inputs, lambda_)

def sigmoid(x):
    return np.tanh(0.5*x)*.5 + 0.5

def logit(p):
    p = np.clip(p, 0, 1)
    return np.log(p) - np.log1p(-p)

def sigmoid_with_constrained_mean(x, average):
    f = lambda x, y: sigmoid(x + y).mean() - average
    lower_bound = logit(average) - np.max(x)
    upper_bound = logit(average) - np.min(x)
    b = find_root(f, x, lower_bound, upper_bound)
    return sigmoid(x + b)

def objective(x, ke, args, volume_contraint=False, cone_filter=True):
    kwargs = dict(penal=args['penal'], e_min=args['young_min'], e_0=args['young'])
    x_phys = physical_density(x, args, volume_contraint=volume_contraint, cone_filter=cone_filter)
    u = displace(x_phys, ke, args['forces'], args['freedofs'], args['fixdofs'], **kwargs)
    return compliance(x_phys, u, ke, **kwargs)

def optimality_criteria_step(x, ke, args):
    c, dc = autograd.value_and_grad(objective)(x, ke, args)
    dv = autograd.grad(mean_density)(x, args)
    x = optimality_criteria_combine(x, dc, dv, args)
    return c, x

args = default_args()
ke = get_stiffness_matrix(args['young'], args['poisson'])
x = onp.ones((args['nely'], args['nelx'])) * args['volfrac']
losses = []
for step in range(args['opt_steps']):
    c, x = optimality_criteria_step(x, ke, args)
    losses.append(float(c))
res = {"library": autograd.__name__, "oc": [losses, onp.asarray(x).tolist()]}
rs = onp.random.RandomState(0)
z = rs.randn(args['nely'], args['nelx']) * 0.5
val, g = autograd.value_and_grad(lambda z: objective(z, ke, args, volume_contraint=True))(z)
res["volume_constrained"] = [float(val), g.tolist()]
# models.py: convert_autograd_to_tensorflow's use of autograd.core.make_vjp
f = lambda x: anp.stack([objective(x[i], ke, args, volume_contraint=True) for i in range(x.shape[0])])
vjp, ans = autograd.core.make_vjp(f, onp.stack([z, 0.5 * z]))
res["make_vjp"] = [ans.tolist(), vjp(onp.array([1.0, 0.5])).tolist()]
res["blur"] = autograd.grad(lambda z: anp.sum(gaussian_filter(z, 1.0) ** 2))(z).tolist()
res["oc_grad"] = autograd.grad(lambda d: anp.sum(optimality_criteria_combine(
    onp.full(z.shape, 0.4), -onp.exp(z), d, args) ** 2))(onp.full(z.shape, 1.0 / z.size)).tolist()
print(json.dumps(res))
'''
