"""Programs written in the style of libraries built on HIPS autograd (part 5; see
autograd_library_programs.py)."""

# PennyLane's qml.math.is_independent for the autograd interface: new_box of the tuple of
# arguments on a trace from autograd.tracer.trace_stack, the function called on its items,
# the output's _trace compared with the start's; and backward_pass from such a tuple's boxes
PENNYLANE_INDEPENDENCE = r'''
import json
import warnings
import numpy as np
import autograd
import autograd.numpy as anp
from autograd.tracer import isbox, new_box, trace_stack
from autograd.core import VJPNode, backward_pass

def _autograd_is_indep_analytic(func, *args, **kwargs):
    node = VJPNode.new_root()
    with trace_stack.new_trace() as t:
        start_box = new_box(args, t, node)
        end_box = func(*start_box, **kwargs)
    if type(end_box) in [tuple, list]:
        if any(isbox(_end) and _end._trace == start_box._trace for _end in end_box):
            return False
    elif isinstance(end_box, np.ndarray):
        if end_box.ndim == 0:
            end_box = [end_box.item()]
        if any(isbox(_end) and _end._trace == start_box._trace for _end in end_box):
            return False
    else:
        if isbox(end_box) and end_box._trace == start_box._trace:
            return False
    return True

def _is_indep_numerical(func, args, kwargs, num_pos=5, seed=9123, atol=1e-6, rtol=0, bounds=(-np.pi, np.pi)):
    width = bounds[1] - bounds[0]
    rng = np.random.default_rng(seed)
    rnd_args = [tuple(rng.random(np.shape(arg)) * width + bounds[0] for arg in args) for _ in range(num_pos)]
    original_output = func(*args, **kwargs)
    is_tuple_valued = isinstance(original_output, tuple)
    for _rnd_args in rnd_args:
        new_output = func(*_rnd_args, **kwargs)
        if is_tuple_valued:
            if not all(np.allclose(new, orig, atol=atol, rtol=rtol) for new, orig in zip(new_output, original_output)):
                return False
        elif not np.allclose(new_output, original_output, atol=atol, rtol=rtol):
            return False
    return True

def is_independent(func, interface, args, kwargs=None):
    kwargs = kwargs or {}
    if interface == "autograd" and not _autograd_is_indep_analytic(func, *args, **kwargs):
        return False
    return _is_indep_numerical(func, args, kwargs)

def lin(x, weights=None):
    return anp.dot(x, weights)

def two(x, y):
    return anp.sin(x) * anp.sum(y ** 2)

def pair(x, y):
    return anp.cos(x), anp.ones(2) * 3.0

def const(x, y):
    return anp.ones(3)

def zero_times(x, y):
    return 0.0 * x

def branch(x, y):
    return y[0] * 2.0 if np.sum(np.asarray(autograd.tracer.getval(x))) > 100 else np.float64(1.5)

x = np.array([0.2, 9.1, -3.2])
weights = np.array([1.1, -0.7, 1.8])
y = np.array([[0.5, -0.25], [1.0, 2.0]])
res = {"library": autograd.__name__}
res["lin"] = is_independent(lin, "autograd", (x,), {"weights": weights})
res["jac"] = is_independent(autograd.jacobian(lin), "autograd", (x,), {"weights": weights})
res["two"] = is_independent(two, "autograd", (x, y))
res["pair"] = is_independent(pair, "autograd", (x, y))
res["const"] = is_independent(const, "autograd", (x, y))
res["zero_times"] = is_independent(zero_times, "autograd", (x, y))
res["branch"] = _autograd_is_indep_analytic(branch, x, y)
res["grad_two_y"] = _autograd_is_indep_analytic(lambda x, y: autograd.grad(two, 1)(x[0], y), x, y)

# the vjp of a function of several arguments from the boxes of the tuple, by hand
node = VJPNode.new_root()
with trace_stack.new_trace() as t:
    start = new_box((x, y), t, node)
    end = anp.sum(two(*start)) + anp.sum(start[1] * 0.5)
gx, gy = backward_pass(1.0, end._node)
res["backward"] = [gx.tolist(), gy.tolist()]
with trace_stack.new_trace() as t:
    start = new_box([x, y, 2.0], t, node)
    end = anp.sum(anp.exp(start[0]) * start[2])
g = backward_pass(1.0, end._node)
res["backward_list"] = [type(g).__name__, g[0].tolist(), np.asarray(g[1]).tolist(), float(g[2])]
print(json.dumps(res))
'''

# autograd's extension API as older libraries use it: defvjp_argnum, defjvp_argnum,
# defvjp_argnums, def_linear, notrace_primitive, the engine by hand (trace_stack, new_box,
# backward_pass), VSpace arithmetic, numpy_vjps helpers, check_grads and combo_check
AUTOGRAD_INTERNALS = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as np
from autograd.extend import (primitive, defvjp, defjvp, defvjp_argnum, defjvp_argnum, defvjp_argnums,
                             def_linear, notrace_primitive, vspace, VSpace, Box, SparseObject)
from autograd.tracer import getval, isbox, trace, new_box, Node
from autograd import make_jvp
from autograd.core import VJPNode, JVPNode, backward_pass
from autograd.numpy.numpy_vjps import match_complex, unbroadcast
from autograd.numpy.numpy_wrapper import metadata
from autograd.util import func, subval
from autograd.test_util import check_grads, combo_check
res = {"library": autograd.__name__}

# defvjp_argnum / defjvp_argnum: one maker for every argument
@primitive
def wsum(a, b, w):
    return w * a + (1 - w) * b
defvjp_argnum(wsum, lambda argnum, ans, args, kwargs: (
    lambda g: g * args[2] if argnum == 0 else g * (1 - args[2]) if argnum == 1 else np.sum(g * (args[0] - args[1]))))
defjvp_argnum(wsum, lambda argnum, g, ans, args, kwargs: (
    g * args[2] if argnum == 0 else g * (1 - args[2]) if argnum == 1 else g * (args[0] - args[1])))
a, b = onp.array([1.0, 2.0]), onp.array([0.5, -1.0])
res["argnum"] = [autograd.grad(lambda w: np.sum(wsum(a, b, w) ** 2))(0.3),
                 autograd.grad(lambda a: np.sum(wsum(a, b, 0.3) ** 2))(a).tolist(),
                 make_jvp(lambda w: wsum(a, b, w))(0.3)(1.0)[1].tolist()]

@primitive
def scale2(x, y):
    return 2.0 * x * y
defvjp_argnums(scale2, lambda argnums, ans, args, kwargs: lambda g: tuple(2.0 * g * args[1 - i] for i in argnums))
res["argnums"] = list(autograd.grad(lambda x, y: np.sum(scale2(x, y) ** 2), argnum=(0, 1))(a, b)[1].tolist())

# def_linear
@primitive
def lin(A, x):
    return np.dot(A, x)
def_linear(lin)
A = onp.arange(6.0).reshape(3, 2)
res["linear"] = make_jvp(lambda x: lin(A, x))(a)(b)[1].tolist()

# notrace_primitive: a function of the values only
@notrace_primitive
def argmax_of(x):
    return onp.argmax(x)
res["notrace"] = autograd.grad(lambda x: x[argmax_of(x)] * 3.0)(onp.array([0.1, 0.9, 0.4])).tolist()

# the engine by hand: new_box on a trace, backward_pass from the end node
start_node = VJPNode.new_root()
from autograd.tracer import trace_stack
with trace_stack.new_trace() as t:
    start_box = new_box(a, t, start_node)
    end_box = np.sum(np.sin(start_box) * start_box)
    end_value, end_node = end_box._value, end_box._node
res["by_hand"] = [float(end_value), backward_pass(1.0, end_node).tolist()]
res["isbox"] = [isbox(start_box), isbox(a), bool(isinstance(start_box, Box))]

# vspace arithmetic
vs = vspace(onp.array([[1.0, 2.0], [3.0, 4.0]]))
res["vspace"] = [vs.size, list(vs.shape), vs.ndim, str(vs.dtype), vs.iscomplex,
                 vs.ones().tolist(), vs.zeros().tolist(),
                 vs.inner_prod(onp.ones((2, 2)), onp.full((2, 2), 2.0)),
                 vs.add(onp.ones((2, 2)), onp.ones((2, 2))).tolist(),
                 vs.scalar_mul(onp.ones((2, 2)), 3.0).tolist(),
                 vs.covector(onp.ones((2, 2))).tolist(),
                 vs.mut_add(onp.zeros((2, 2)), onp.ones((2, 2))).tolist(),
                 [e.tolist() for e in vs.standard_basis()],
                 vspace(1.5).size, vspace(2.0 + 1j).iscomplex,
                 vspace((1.0, onp.ones(2))).size,
                 vspace(onp.ones(3, dtype=complex)).size,
                 vspace([onp.ones(2), 3.0]).ones()[0].tolist(),
                 vspace({"a": onp.ones(2)}).zeros()["a"].tolist(),
                 vs == vspace(onp.ones((2, 2))), vs == vspace(onp.ones(3))]
cs = vspace(onp.array([1.0 + 2.0j, 3.0]))
res["cvspace"] = [cs.size, cs.covector(onp.array([1.0 + 2.0j, 1j])).real.tolist(),
                  cs.covector(onp.array([1.0 + 2.0j, 1j])).imag.tolist(),
                  cs.inner_prod(onp.array([1.0 + 2.0j, 1j]), onp.array([2.0 - 1j, 1.0]))]

# helpers libraries import from numpy_vjps
x = onp.arange(6.0).reshape(2, 3)
res["unbroadcast"] = unbroadcast(onp.ones((4, 2, 3)), metadata(onp.ones((1, 3)))).tolist()
res["match_complex"] = [str(match_complex(onp.ones(2), onp.ones(2) * 1j).dtype),
                        str(match_complex(onp.ones(2, complex), onp.ones(2) * (1 + 1j)).dtype)]

# subval and func, as autograd's wrap_util users call them
res["subval"] = list(subval((1, 2, 3), 1, 9))

# check_grads and combo_check
check_grads(lambda x: np.sum(np.tanh(x) ** 2), modes=["fwd", "rev"], order=2)(a)
combo_check(np.linalg.norm, [0])([onp.array([1.0, -2.0, 3.0])], ord=[None, 2])
res["checked"] = True
res = json.loads(json.dumps(res, default=lambda o: o.tolist() if hasattr(o, 'tolist') else str(o)))
print(json.dumps(res))
'''

# meep's adjoint filters (python/adjoint/filters.py): kernels mirrored with flipud/fliplr,
# edge padding by tile and concatenate, convolution by fft2/ifft2, smoothed projection through
# np.gradient and double-where, length-scale constraints; the chain rule applied with
# tensor_jacobian_product as meep's OptimizationProblem does
MEEP_ADJOINT = r'''
import json
import numpy as np
import autograd
from autograd import numpy as npa
from autograd import tensor_jacobian_product, grad

def _centered(arr, newshape):
    newshape = np.asarray(newshape)
    currshape = np.array(arr.shape)
    startind = (currshape - newshape) // 2
    endind = startind + newshape
    myslice = [slice(startind[k], endind[k]) for k in range(len(endind))]
    return arr[tuple(myslice)]

def _quarter_to_full_kernel(arr, pad_to):
    pad_size = pad_to - 2 * np.array(arr.shape) + 1
    top = np.zeros((pad_size[0], arr.shape[1]))
    bottom = np.zeros((pad_size[0], arr.shape[1] - 1))
    middle = np.zeros((pad_to[0], pad_size[1]))
    top_left = arr[:, :]
    top_right = npa.flipud(arr[1:, :])
    bottom_left = npa.fliplr(arr[:, 1:])
    bottom_right = npa.flipud(npa.fliplr(arr[1:, 1:]))
    return npa.concatenate((npa.concatenate((top_left, top, top_right)), middle,
                            npa.concatenate((bottom_left, bottom, bottom_right))), axis=1)

def _edge_pad(arr, pad):
    left = npa.tile(arr[0, :], (pad[0][0], 1))
    right = npa.tile(arr[-1, :], (pad[0][1], 1))
    top = npa.tile(arr[:, 0], (pad[1][0], 1)).transpose()
    bottom = npa.tile(arr[:, -1], (pad[1][1], 1)).transpose()
    top_left = npa.tile(arr[0, 0], (pad[0][0], pad[1][0]))
    top_right = npa.tile(arr[-1, 0], (pad[0][1], pad[1][0]))
    bottom_left = npa.tile(arr[0, -1], (pad[0][0], pad[1][1]))
    bottom_right = npa.tile(arr[-1, -1], (pad[0][1], pad[1][1]))
    if pad[0][0] > 0 and pad[0][1] > 0 and pad[1][0] > 0 and pad[1][1] > 0:
        return npa.concatenate((npa.concatenate((top_left, top, top_right)),
                                npa.concatenate((left, arr, right)),
                                npa.concatenate((bottom_left, bottom, bottom_right))), axis=1)
    elif pad[0][0] == 0 and pad[0][1] == 0 and pad[1][0] > 0 and pad[1][1] > 0:
        return npa.concatenate((top, arr, bottom), axis=1)
    elif pad[0][0] > 0 and pad[0][1] > 0 and pad[1][0] == 0 and pad[1][1] == 0:
        return npa.concatenate((left, arr, right), axis=0)
    return arr

def convolve_design_weights_and_kernel(x, h, periodic_axes=None):
    (sx, sy) = x.shape
    if periodic_axes is None:
        h = _quarter_to_full_kernel(h, 3 * np.array([sx, sy]))
        x = _edge_pad(x, ((sx, sx), (sy, sy)))
    else:
        (kx, ky) = h.shape
        npx = int(np.ceil((2 * kx - 1) / sx))
        npy = int(np.ceil((2 * ky - 1) / sy))
        if npx % 2 == 0:
            npx += 1
        if npy % 2 == 0:
            npy += 1
        periodic_axes = np.array(periodic_axes)
        x = npa.tile(x, (npx if 0 in periodic_axes else 1, npy if 1 in periodic_axes else 1))
        npadx = 0 if 0 in periodic_axes else sx
        npady = 0 if 1 in periodic_axes else sy
        x = _edge_pad(x, ((npadx, npadx), (npady, npady)))
        h = _quarter_to_full_kernel(h, np.array([npx * sx if 0 in periodic_axes else 3 * sx,
                                                 npy * sy if 1 in periodic_axes else 3 * sy]))
    h = h / npa.sum(h)
    return _centered(npa.real(npa.fft.ifft2(npa.fft.fft2(x) * npa.fft.fft2(h))), (sx, sy))

def mesh_grid(radius, Lx, Ly, resolution, periodic_axes=None):
    Nx = int(round(Lx * resolution)) + 1
    Ny = int(round(Ly * resolution)) + 1
    xv = np.arange(0, Lx / 2, 1 / resolution)
    yv = np.arange(0, Ly / 2, 1 / resolution)
    if periodic_axes is not None:
        periodic_axes = np.array(periodic_axes)
        if 0 in periodic_axes:
            xv = np.arange(0, np.ceil(2 * radius / Lx) * Lx / 2, 1 / resolution)
        if 1 in periodic_axes:
            yv = np.arange(0, np.ceil(2 * radius / Ly) * Ly / 2, 1 / resolution)
    X, Y = np.meshgrid(xv, yv, sparse=True, indexing="ij")
    return Nx, Ny, X, Y

def cylindrical_filter(x, radius, Lx, Ly, resolution, periodic_axes=None):
    Nx, Ny, X, Y = mesh_grid(radius, Lx, Ly, resolution, periodic_axes)
    x = x.reshape(Nx, Ny)
    h = np.where(X**2 + Y**2 < radius**2, 1, 0)
    return convolve_design_weights_and_kernel(x, h, periodic_axes)

def conic_filter(x, radius, Lx, Ly, resolution, periodic_axes=None):
    Nx, Ny, X, Y = mesh_grid(radius, Lx, Ly, resolution, periodic_axes)
    x = x.reshape(Nx, Ny)
    h = np.where(X**2 + Y**2 < radius**2, (1 - np.sqrt(abs(X**2 + Y**2)) / radius), 0)
    return convolve_design_weights_and_kernel(x, h, periodic_axes)

def exponential_erosion(x, radius, beta, Lx, Ly, resolution, periodic_axes=None):
    x_hat = npa.exp(beta * (1 - x))
    return 1 - npa.log(cylindrical_filter(x_hat, radius, Lx, Ly, resolution, periodic_axes).flatten()) / beta

def tanh_projection(x, beta, eta):
    if beta == npa.inf:
        return npa.where(x > eta, 1.0, 0.0)
    return (npa.tanh(beta * eta) + npa.tanh(beta * (x - eta))) / (npa.tanh(beta * eta) + npa.tanh(beta * (1 - eta)))

def smoothed_projection(x_smoothed, beta, eta, resolution):
    dx = dy = 1 / resolution
    pixel_radius = dx / 2
    x_projected = tanh_projection(x_smoothed, beta=beta, eta=eta)
    x_grad = npa.gradient(x_smoothed)
    x_grad_helper = (x_grad[0] / dx) ** 2 + (x_grad[1] / dy) ** 2
    nonzero_norm = npa.abs(x_grad_helper) > 0
    x_grad_norm = npa.sqrt(npa.where(nonzero_norm, x_grad_helper, 1))
    x_grad_norm_eff = npa.where(nonzero_norm, x_grad_norm, 1)
    d = (eta - x_smoothed) / x_grad_norm_eff
    needs_smoothing = nonzero_norm & (npa.abs(d) <= pixel_radius)
    arccos_term = pixel_radius**2 * npa.arccos(npa.where(needs_smoothing, d / pixel_radius, 0.0))
    sqrt_term = d * npa.sqrt(npa.where(needs_smoothing, pixel_radius**2 - d**2, 1))
    fill_factor = npa.where(needs_smoothing, (1 / (npa.pi * pixel_radius**2)) * (arccos_term - sqrt_term), 1)
    x_minus = x_smoothed - x_grad_norm * pixel_radius
    x_plus = x_smoothed + x_grad_norm * pixel_radius
    x_minus_eff_pert = (x_smoothed * d + x_minus * (pixel_radius - d)) / pixel_radius
    x_minus_eff = npa.where((d > 0), x_minus_eff_pert, x_minus)
    x_plus_eff_pert = (-x_smoothed * d + x_plus * (pixel_radius + d)) / pixel_radius
    x_plus_eff = npa.where((d > 0), x_plus, x_plus_eff_pert)
    x_projected_smoothed = (1 - fill_factor) * x_minus_eff + (fill_factor) * x_plus_eff
    return npa.where(needs_smoothing, x_projected_smoothed, x_projected)

def heaviside_projection(x, beta, eta):
    case1 = eta * npa.exp(-beta * (eta - x) / eta) - (eta - x) * npa.exp(-beta)
    case2 = 1 - (1 - eta) * npa.exp(-beta * (x - eta) / (1 - eta)) - (eta - x) * npa.exp(-beta)
    return npa.where(x < eta, case1, case2)

def length_indicator(x, filter_f, threshold_f, resolution, periodic_axes=None):
    filtered_field = npa.squeeze(filter_f(x))
    design_field = threshold_f(filtered_field)
    if periodic_axes is None:
        gradient_filtered_field = npa.gradient(filtered_field)
    else:
        filtered_field = npa.tile(filtered_field, (3, 1))
        gradient_filtered_field = _centered(npa.array(npa.gradient(filtered_field)), (2,) + x.shape)
    grad_mag = (gradient_filtered_field[0] * resolution) ** 2 + (gradient_filtered_field[1] * resolution) ** 2
    return design_field, grad_mag

def constraint_solid(x, c, eta_e, filter_f, threshold_f, resolution, periodic_axes=None):
    filtered_field = filter_f(x)
    design_field, grad_mag = length_indicator(x.reshape(filtered_field.shape), filter_f, threshold_f,
                                              resolution, periodic_axes)
    I_s = (design_field * npa.exp(-c * grad_mag)).flatten()
    return npa.mean(I_s * npa.minimum(filtered_field.flatten() - eta_e, 0) ** 2)

Lx, Ly, res = 1.0, 0.8, 6
Nx, Ny = int(round(Lx * res)) + 1, int(round(Ly * res)) + 1
rng = np.random.RandomState(5)
x0 = rng.rand(Nx * Ny)
filt = lambda x: conic_filter(x, 0.35, Lx, Ly, res)
filt_p = lambda x: conic_filter(x, 0.35, Lx, Ly, res, periodic_axes=[0])
thresh = lambda x: tanh_projection(x, 8.0, 0.5)

def mapping(x, eta, beta):
    filtered = filt(x)
    projected = smoothed_projection(filtered, beta, eta, res)
    return projected.flatten()

def J(eps):  # the objective of an adjoint run, in eps
    return npa.sum(npa.abs(npa.fft.fft(eps * (1 + 0.5j))) ** 2) / eps.size

# the chain rule the way meep's OptimizationProblem applies it: dJ/deps then the mapping's vjp
eps = mapping(x0, 0.5, 10.0)
dJ_deps = grad(J)(eps)
dJ_dx = tensor_jacobian_product(mapping, 0)(x0, 0.5, 10.0, dJ_deps)
dJ_dx_multi = tensor_jacobian_product(lambda x: npa.stack([mapping(x, 0.5, 10.0), mapping(x, 0.45, 4.0)]), 0)(
    x0, np.stack([dJ_deps, -dJ_deps]))
g_s = constraint_solid(x0, 20.0, 0.75, filt, thresh, res)
g_s_grad = grad(constraint_solid, 0)(x0, 20.0, 0.75, filt, thresh, res)
g_p = grad(lambda x: npa.sum(filt_p(x) ** 3) + npa.sum(exponential_erosion(x, 0.3, 5.0, Lx, Ly, res)))(x0)
g_h = autograd.elementwise_grad(heaviside_projection)(np.linspace(0.05, 0.95, 7), 6.0, 0.4)
g_per = constraint_solid(x0, 20.0, 0.75, filt_p, thresh, res, periodic_axes=[0])
g_per_grad = grad(constraint_solid, 0)(x0, 20.0, 0.75, filt_p, thresh, res, periodic_axes=[0])
res = {"library": autograd.__name__, "eps": eps.tolist(), "dJ_dx": dJ_dx.tolist(), "multi": dJ_dx_multi.tolist(),
        "g_s": float(g_s), "g_s_grad": g_s_grad.tolist(), "g_p": g_p.tolist(), "g_h": g_h.tolist(),
        "g_per": float(g_per), "g_per_grad": g_per_grad.tolist()}
print(json.dumps(res))
'''

# reliability's Fitters: censored log-likelihoods of ten distributions (autograd_gamma's
# gammaincc and betainc among them) fitted with value_and_grad and scipy.optimize, covariance
# from the inverse of autograd's hessian, confidence bounds on the CDF by the delta method
RELIABILITY = r'''
import json
import numpy as np
import autograd
import autograd.numpy as anp
from autograd import value_and_grad, jacobian
from autograd import hessian
from autograd.differential_operators import hessian as hessian_do
from autograd.scipy.special import erf, gammaln, beta as abeta
from autograd.scipy.stats import norm as anorm
from autograd_gamma import gammaincc, betainc
from scipy.optimize import minimize
import scipy.stats as ss

class Fit_Weibull_2P:
    @staticmethod
    def logf(t, a, b):
        return (b - 1) * anp.log(t / a) + anp.log(b / a) - (t / a) ** b
    @staticmethod
    def logR(t, a, b):
        return -((t / a) ** b)
    @staticmethod
    def LL(params, T_f, T_rc):
        LL_f = Fit_Weibull_2P.logf(T_f, params[0], params[1]).sum()
        LL_rc = Fit_Weibull_2P.logR(T_rc, params[0], params[1]).sum()
        return -(LL_f + LL_rc)

class Fit_Weibull_3P:
    @staticmethod
    def logf(t, a, b, g):
        return (b - 1) * anp.log((t - g) / a) + anp.log(b / a) - ((t - g) / a) ** b
    @staticmethod
    def logR(t, a, b, g):
        return -(((t - g) / a) ** b)
    @staticmethod
    def LL(params, T_f, T_rc):
        LL_f = Fit_Weibull_3P.logf(T_f, params[0], params[1], params[2]).sum()
        LL_rc = Fit_Weibull_3P.logR(T_rc, params[0], params[1], params[2]).sum()
        return -(LL_f + LL_rc)

class Fit_Lognormal_2P:
    @staticmethod
    def logf(t, mu, sigma):
        return anp.log(anp.exp(-0.5 * (((anp.log(t) - mu) / sigma) ** 2)) / (t * sigma * (2 * anp.pi) ** 0.5))
    @staticmethod
    def logR(t, mu, sigma):
        return anp.log(0.5 - 0.5 * erf((anp.log(t) - mu) / (sigma * 2 ** 0.5)))
    @staticmethod
    def LL(params, T_f, T_rc):
        return -(Fit_Lognormal_2P.logf(T_f, params[0], params[1]).sum()
                 + Fit_Lognormal_2P.logR(T_rc, params[0], params[1]).sum())

class Fit_Gamma_2P:
    @staticmethod
    def logf(t, a, b):
        return anp.log(t ** (b - 1)) - anp.log((a ** b) * anp.exp(gammaln(b))) - (t / a)
    @staticmethod
    def logR(t, a, b):
        return anp.log(gammaincc(b, t / a))
    @staticmethod
    def LL(params, T_f, T_rc):
        return -(Fit_Gamma_2P.logf(T_f, params[0], params[1]).sum()
                 + Fit_Gamma_2P.logR(T_rc, params[0], params[1]).sum())

class Fit_Beta_2P:
    @staticmethod
    def logf(t, a, b):
        return anp.log(((t ** (a - 1)) * ((1 - t) ** (b - 1)))) - anp.log(abeta(a, b))
    @staticmethod
    def logR(t, a, b):
        return anp.log(1 - betainc(a, b, t))
    @staticmethod
    def LL(params, T_f, T_rc):
        return -(Fit_Beta_2P.logf(T_f, params[0], params[1]).sum()
                 + Fit_Beta_2P.logR(T_rc, params[0], params[1]).sum())

class Fit_Loglogistic_2P:
    @staticmethod
    def logf(t, a, b):
        return anp.log((b / a) * (t / a) ** (b - 1)) - 2 * anp.log(1 + (t / a) ** b)
    @staticmethod
    def logR(t, a, b):
        return -anp.log((1 + (t / a) ** b))
    @staticmethod
    def LL(params, T_f, T_rc):
        return -(Fit_Loglogistic_2P.logf(T_f, params[0], params[1]).sum()
                 + Fit_Loglogistic_2P.logR(T_rc, params[0], params[1]).sum())

class Fit_Gumbel_2P:
    @staticmethod
    def logf(t, mu, sigma):
        return -anp.log(sigma) + (t - mu) / sigma - anp.exp((t - mu) / sigma)
    @staticmethod
    def logR(t, mu, sigma):
        return -anp.exp((t - mu) / sigma)
    @staticmethod
    def LL(params, T_f, T_rc):
        return -(Fit_Gumbel_2P.logf(T_f, params[0], params[1]).sum()
                 + Fit_Gumbel_2P.logR(T_rc, params[0], params[1]).sum())

class Fit_Normal_2P:
    @staticmethod
    def LL(params, T_f, T_rc):
        return -(anorm.logpdf(T_f, params[0], params[1]).sum() + anorm.logsf(T_rc, params[0], params[1]).sum())

class Fit_Weibull_Mixture:
    @staticmethod
    def logf(t, a1, b1, a2, b2, p):
        return anp.log(p * ((b1 * t ** (b1 - 1)) / (a1 ** b1)) * anp.exp(-((t / a1) ** b1))
                       + (1 - p) * ((b2 * t ** (b2 - 1)) / (a2 ** b2)) * anp.exp(-((t / a2) ** b2)))
    @staticmethod
    def logR(t, a1, b1, a2, b2, p):
        return anp.log(p * anp.exp(-((t / a1) ** b1)) + (1 - p) * anp.exp(-((t / a2) ** b2)))
    @staticmethod
    def LL(params, T_f, T_rc):
        return -(Fit_Weibull_Mixture.logf(T_f, *params).sum() + Fit_Weibull_Mixture.logR(T_rc, *params).sum())

class Fit_Weibull_CR:
    @staticmethod
    def logf(t, a1, b1, a2, b2):
        return anp.log(-(-(b2 * (t / a2) ** b2) - (b1 * (t / a1) ** b1))
                       * anp.exp(-((t / a2) ** b2) - ((t / a1) ** b1)) / t)
    @staticmethod
    def logR(t, a1, b1, a2, b2):
        return -((t / a1) ** b1) - ((t / a2) ** b2)
    @staticmethod
    def LL(params, T_f, T_rc):
        return -(Fit_Weibull_CR.logf(T_f, *params).sum() + Fit_Weibull_CR.logR(T_rc, *params).sum())

def LL_optimisation(func, guess, failures, right_censored, bounds, method="L-BFGS-B"):
    if method == "L-BFGS-B":
        res = minimize(value_and_grad(func.LL), guess, args=(failures, right_censored), jac=True,
                       method="L-BFGS-B", bounds=bounds, options={"maxiter": 4, "maxfun": 8})
    else:
        res = minimize(func.LL, guess, args=(failures, right_censored), jac=autograd.grad(func.LL),
                       method="nelder-mead" if method == "nelder-mead" else "BFGS", options={"maxiter": 4})
    return res.x, res.fun

rng = np.random.RandomState(0)
data = ss.weibull_min.rvs(1.7, scale=30.0, size=14, random_state=rng)
failures, right_censored = np.sort(data[:10]), np.full(4, 45.0)
frac = ss.beta.rvs(2.0, 3.0, size=10, random_state=rng)
res = {"library": autograd.__name__}
cases = [
    (Fit_Weibull_2P, [25.0, 1.5], failures, right_censored, [(1e-3, None), (1e-3, None)], "L-BFGS-B"),
    (Fit_Weibull_3P, [20.0, 1.2, 2.0], failures, right_censored,
     [(1e-3, None), (1e-3, None), (0, failures.min() / 2)], "L-BFGS-B"),
    (Fit_Lognormal_2P, [3.0, 0.8], failures, right_censored, [(None, None), (1e-3, None)], "L-BFGS-B"),
    (Fit_Loglogistic_2P, [25.0, 2.0], failures, right_censored, [(1e-3, None), (1e-3, None)], "BFGS"),
    (Fit_Gumbel_2P, [30.0, 10.0], failures, right_censored, [(None, None), (1e-3, None)], "L-BFGS-B"),
    (Fit_Normal_2P, [25.0, 10.0], failures, right_censored, [(None, None), (1e-3, None)], "L-BFGS-B"),
    (Fit_Weibull_Mixture, [15.0, 2.0, 40.0, 3.0, 0.4], failures, right_censored,
     [(1e-3, None), (1e-3, None), (1e-3, None), (1e-3, None), (1e-3, 1 - 1e-3)], "L-BFGS-B"),
    (Fit_Weibull_CR, [25.0, 2.0, 50.0, 3.0], failures, right_censored, [(1e-3, None)] * 4, "L-BFGS-B"),
]
for func, guess, f, rc, bounds, method in cases:
    params, fun = LL_optimisation(func, guess, f, rc, bounds, method)
    hessian_matrix = hessian(func.LL)(np.array(tuple(params)), np.array(tuple(f)), np.array(tuple(rc)))
    covariance_matrix = np.linalg.inv(hessian_matrix)
    g = autograd.grad(func.LL)(np.array(tuple(params)), f, rc)
    res[func.__name__] = [params.tolist(), float(fun), hessian_matrix.tolist(), covariance_matrix.tolist(), g.tolist()]

# the gamma's shape derivative is a central difference inside autograd_gamma: gradient only
res["gamma"] = [v.tolist() for v in value_and_grad(Fit_Gamma_2P.LL)(np.array([12.0, 2.0]), failures, right_censored)]
res["beta"] = [v.tolist() for v in value_and_grad(Fit_Beta_2P.LL)(np.array([1.5, 2.5]), frac[:7], frac[7:])]

# confidence bounds on the CDF by the delta method, as reliability's distribution_confidence_intervals
def weibull_CI(alpha, beta, cov, t):
    u = beta * (anp.log(t) - anp.log(alpha))
    du_da = -beta / alpha
    du_db = anp.log(t) - anp.log(alpha)
    var_u = du_da ** 2 * cov[0][0] + du_db ** 2 * cov[1][1] + 2 * du_da * du_db * cov[0][1]
    Z = -ss.norm.ppf((1 - 0.95) / 2)
    u_lower = u - Z * var_u ** 0.5
    return 1 - anp.exp(-anp.exp(u_lower))
a, b = res["Fit_Weibull_2P"][0]
cov = np.array(res["Fit_Weibull_2P"][3])
t = np.linspace(5.0, 60.0, 5)
res["ci"] = weibull_CI(a, b, cov, t).tolist()
res["ci_jac"] = jacobian(lambda p: weibull_CI(p[0], p[1], cov, t))(np.array([a, b])).tolist()
res["h2"] = hessian_do(lambda p: Fit_Weibull_2P.LL(p, failures, right_censored))(np.array([a, b])).tolist()
print(json.dumps(res))
'''

# spey's simplified likelihoods (third-moment expansion, poisson.logpmf, a multivariate_normal
# constraint), value_and_grad into SLSQP and hessian of the log-density; a pyhf-like Poisson
# likelihood; more of autograd.scipy.stats in one log-likelihood
SPEY = r'''
import json
import numpy as onp
import autograd
from autograd import numpy as np
from autograd import value_and_grad, hessian, grad, jacobian
from autograd.scipy.stats.poisson import logpmf
from autograd.scipy.stats import multivariate_normal, norm, gamma as agamma, beta as abeta, t as at, dirichlet
from autograd.scipy.special import gammaln, logsumexp
from scipy.optimize import minimize

# spey's simplified likelihood with a third-moment expansion (arXiv:1809.05548)
def compute_expansion(m1, m2, m3):
    p = m1.shape[0]
    C = -np.sign(m3) * np.sqrt(2.0 * np.diag(m2)) * np.cos(
        (4.0 * np.pi / 3.0) + (1.0 / 3.0) * np.arctan(np.sqrt(((8.0 * (np.diag(m2) ** 3)) / (m3 ** 2)) - 1.0)))
    B = np.sqrt(np.diag(m2) - 2 * C ** 2)
    A = m1 - C
    rho = onp.zeros((p, p))
    for i in range(p):
        for j in range(p):
            rho[i, j] = (np.sqrt((B[i] * B[j]) ** 2 + 8 * C[i] * C[j] * m2[i, j]) - B[i] * B[j]) / (4 * C[i] * C[j])
    return A, B, C, rho

class SimplifiedLikelihoods:
    def __init__(self, signal, background, observed, covariance, third_moment):
        self.signal, self.background, self.observed = signal, background, observed
        self.covariance = covariance
        self.A, self.B, self.C, self.rho = compute_expansion(background, covariance, third_moment)
        self.cov = self.rho * np.outer(self.B, self.B)

    def lam(self, pars):
        return pars[0] * self.signal + self.A + self.B * pars[1:] + self.C * pars[1:] ** 2

    def logpdf(self, pars, data):
        lam = np.clip(self.lam(pars), 1e-10, None)
        main = np.sum(logpmf(data, lam))
        constraint = multivariate_normal.logpdf(pars[1:], mean=np.zeros(len(data)), cov=self.rho)
        return main + constraint

    def twice_nll(self, pars, data):
        return -2.0 * self.logpdf(pars, data)

    def objective_and_grad(self, data):
        return value_and_grad(lambda p: self.twice_nll(p, data))

    def hessian_logpdf(self, data):
        return hessian(lambda p: self.logpdf(p, data))

sig = onp.array([3.0, 2.0, 1.0])
bkg = onp.array([10.0, 12.0, 8.0])
obs = onp.array([14.0, 13.0, 8.0])
cov = onp.array([[4.0, 1.2, 0.3], [1.2, 5.0, 0.8], [0.3, 0.8, 3.0]])
m3 = onp.array([1.5, 2.0, 0.8])
sl = SimplifiedLikelihoods(sig, bkg, obs, cov, m3)
init = onp.array([1.0, 0.0, 0.0, 0.0])
fit = minimize(sl.objective_and_grad(obs), init, jac=True, method="SLSQP",
               bounds=[(-2.0, 10.0)] + [(-5.0, 5.0)] * 3, options={"maxiter": 8})
res = {"library": autograd.__name__}
res["vg"] = [float(v) if onp.ndim(v) == 0 else v.tolist() for v in sl.objective_and_grad(obs)(init)]
res["hess"] = sl.hessian_logpdf(obs)(onp.array([0.8, 0.1, -0.2, 0.3])).tolist()
res["fit"] = fit.x.tolist()

# pyhf-style: Poisson main term with xlogy and gammaln, Gaussian constraints through norm
def poisson_logpdf(n, lam):
    return n * np.log(lam) - lam - gammaln(n + 1.0)
def nll(pars, data, nominal, deltas):
    mu, theta = pars[0], pars[1:]
    lam = mu * nominal[0] + nominal[1] + np.dot(theta, deltas)
    return -(np.sum(poisson_logpdf(data, lam)) + np.sum(norm.logpdf(theta, 0.0, 1.0)))
nominal = onp.array([[5.0, 3.0, 1.0], [50.0, 52.0, 40.0]])
deltas = onp.array([[2.0, -1.0, 0.5], [0.5, 1.5, -2.0]])
p0 = onp.array([1.1, 0.2, -0.1])
res["pyhf"] = [grad(nll)(p0, obs * 4, nominal, deltas).tolist(), hessian(nll)(p0, obs * 4, nominal, deltas).tolist()]
# more scipy.stats in one log-likelihood
def mixed(th):
    return (np.sum(agamma.logpdf(onp.array([0.5, 1.5]), th[0] + 2.0))
            + np.sum(abeta.logpdf(onp.array([0.2, 0.7]), th[0] + 1.5, th[1] + 2.0))
            + np.sum(at.logpdf(onp.array([0.3, -1.0]), th[0] + 3.0, th[1], 1.3))
            + dirichlet.logpdf(onp.array([0.2, 0.3, 0.5]), np.exp(th[:3]))
            + norm.logcdf(th[2]) + np.sum(norm.cdf(th)) + logsumexp(th, b=onp.array([1.0, 2.0, 0.5])))
th0 = onp.array([0.4, 0.3, -0.2])
res["mixed"] = [float(mixed(th0)), grad(mixed)(th0).tolist(), hessian(mixed)(th0).tolist()]
pts, S2 = onp.array([[0.1, 0.2], [0.5, -0.3]]), onp.array([[1.0, 0.3], [0.3, 2.0]])
res["mvn_jac"] = jacobian(lambda m: multivariate_normal.logpdf(pts, m, S2))(onp.array([0.0, 0.1])).tolist()
print(json.dumps(res))
'''
