"""Programs written in the style of tidy3d's use of HIPS autograd (part 6; see
autograd_library_programs.py): its web.run primitive of dicts and its autograd plugin."""

# tidy3d's web.run under autograd (tidy3d/web/api/autograd/autograd.py): a primitive taking the
# simulation's traced fields as autograd.builtins.dict (keys are paths, tuples) and returning a
# dict of data fields, its vjp maker (_run_bwd) reading the dict it returned and its vjp taking
# and returning dicts of cotangents (zeros for a field the objective does not use); run_async's
# primitive returns a dict of such dicts, one per task
TIDY3D_WEB_RUN = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as anp
from autograd.builtins import dict as dict_ag
from autograd.extend import primitive, defvjp

seen = []

@primitive
def _run_primitive(sim_fields, sim_original, task_name, aux_data, local_gradient, **run_kwargs):
    # a stand-in "solver": each output field is a smooth function of the traced inputs
    eps = sim_fields[("structures", 0, "medium", "permittivity")]
    verts = sim_fields[("structures", 1, "geometry", "vertices")]
    aux_data["fwd"] = (eps, verts)
    return {("data", 0, "amps"): onp.array([eps ** 2, onp.sin(eps) * onp.sum(verts)]),
            ("data", 1, "flux"): onp.float64(onp.sum(verts ** 2) * eps),
            ("data", 2, "unused"): onp.ones(3) * eps}

def _run_bwd(data_fields_original, sim_fields_original, sim_original, task_name, aux_data, local_gradient,
             **run_kwargs):
    eps, verts = aux_data["fwd"]
    seen.append(sorted(str(k) for k in data_fields_original))
    def vjp(data_fields_vjp):
        seen.append([type(data_fields_vjp).__name__, sorted(str(k) for k in data_fields_vjp)])
        g_amps = data_fields_vjp[("data", 0, "amps")]
        g_flux = data_fields_vjp[("data", 1, "flux")]
        g_unused = data_fields_vjp[("data", 2, "unused")]
        d_eps = (2 * eps * g_amps[0] + onp.cos(eps) * onp.sum(verts) * g_amps[1] + onp.sum(verts ** 2) * g_flux
                 + onp.sum(g_unused))
        d_verts = onp.sin(eps) * g_amps[1] * onp.ones_like(verts) + 2 * verts * eps * g_flux
        return {("structures", 0, "medium", "permittivity"): d_eps, ("structures", 1, "geometry", "vertices"): d_verts}
    return vjp

defvjp(_run_primitive, _run_bwd, argnums=[0])

def objective(params):
    eps, verts = params[0], params[1:]
    traced = dict_ag({("structures", 0, "medium", "permittivity"): eps ** 1.5,
                      ("structures", 1, "geometry", "vertices"): anp.tanh(verts)})
    aux_data = {}
    data = _run_primitive(traced, "sim", "task", aux_data, False, verbose=False)
    amps = data[("data", 0, "amps")]
    return anp.sum(anp.abs(amps) ** 2) + 0.5 * data[("data", 1, "flux")]

p0 = onp.array([2.0, 0.3, -0.4, 0.8])
val, g = autograd.value_and_grad(objective)(p0)
plain = _run_primitive({("structures", 0, "medium", "permittivity"): 2.0,
                        ("structures", 1, "geometry", "vertices"): onp.ones(2)}, "s", "t", {}, False)
res = {"library": autograd.__name__, "val": float(val), "g": g.tolist(), "seen": seen,
       "plain": sorted(str(k) for k in plain), "plain_type": type(plain).__name__}
# run_async: a dict of simulations' fields in, a dict per task of data fields out
@primitive
def _run_async_primitive(sim_fields_dict, scale):
    return {task: {("data", 0): f[("eps",)] ** 2 * scale, ("data", 1): onp.sum(f[("v",)] ** 3)}
            for task, f in sim_fields_dict.items()}

def _run_async_bwd(data_fields_dict, sim_fields_dict, scale):
    def vjp(g):
        return {task: {("eps",): 2 * f[("eps",)] * scale * g[task][("data", 0)],
                       ("v",): 3 * f[("v",)] ** 2 * g[task][("data", 1)]}
                for task, f in sim_fields_dict.items()}
    return vjp

defvjp(_run_async_primitive, _run_async_bwd)

def objective_async(p):
    fields = dict_ag({"t1": dict_ag({("eps",): p[0] * 2.0, ("v",): p[1:3]}),
                      "t2": dict_ag({("eps",): p[3], ("v",): anp.sin(p[1:3])})})
    out = _run_async_primitive(fields, 0.5)
    return anp.sum(out["t1"][("data", 0)] ** 2) + out["t2"][("data", 1)] + out["t2"][("data", 0)]

res["async"] = [v.tolist() for v in autograd.value_and_grad(objective_async)(p0)]
print(json.dumps(res))
'''

# tidy3d's autograd plugin: ArrayBox patched in place (its __array_function__ defers unless
# every type is a key of ArrayBox.type_mappings; numpy_wrapper._astype given a jvp), padding
# by index arithmetic, convolution and grey morphology through autograd.scipy.signal.convolve
# with axes, interpn on SciPy's RegularGridInterpolator internals, add_at with unbroadcast_f
# and numpy_jvps.broadcast, and value_and_grad with has_aux (make_vjp of autograd.builtins.tuple,
# the aux part's cotangent None). It patches ArrayBox for the whole process: run it last.
TIDY3D = r'''
import json
import importlib
import itertools
import numpy as onp
import autograd
import autograd.tracer
import autograd.numpy as anp
from autograd import jacobian, make_jvp, value_and_grad as value_and_grad_ag
from autograd.builtins import tuple as atuple
from autograd.core import make_vjp
from autograd.extend import defjvp, defvjp, primitive, vspace
from autograd.numpy.numpy_boxes import ArrayBox
from autograd.numpy.numpy_jvps import broadcast
from autograd.numpy.numpy_vjps import unbroadcast_f
from autograd.numpy.numpy_wrapper import _astype
from autograd.scipy.signal import convolve as convolve_ag
from autograd.scipy.special import logsumexp
from autograd.wrap_util import unary_to_nary
from scipy.interpolate import RegularGridInterpolator

# --- tidy3d/components/autograd/boxes.py: ArrayBox patched in place
TidyArrayBox = ArrayBox
_autograd_module_cache = {}
defjvp(_astype, lambda g, ans, A, dtype, order="K", casting="unsafe", subok=True, copy=True: _astype(g, dtype))
anp.astype = _astype

@classmethod
def from_arraybox(cls, box):
    return cls(box._value, box._trace, box._node)

def __array_function__(self, func, types, args, kwargs):
    if not all(t in TidyArrayBox.type_mappings for t in types):
        return NotImplemented
    module_name = func.__module__
    if module_name.startswith("numpy"):
        anp_module_name = "autograd." + module_name
    else:
        return NotImplemented
    anp_module = _autograd_module_cache.get(anp_module_name)
    if anp_module is None:
        try:
            anp_module = importlib.import_module(anp_module_name)
            _autograd_module_cache[anp_module_name] = anp_module
        except ImportError:
            return NotImplemented
    f = getattr(anp_module, func.__name__, None)
    if f is None:
        return NotImplemented
    if f.__name__ == "nanmean":
        f = anp.mean
        kwargs.pop("dtype", None)
    return f(*args, **kwargs)

def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
    if method != "__call__":
        return NotImplemented
    anp_ufunc = getattr(anp, ufunc.__name__, None)
    if anp_ufunc is not None:
        return anp_ufunc(*inputs, **kwargs)
    return NotImplemented

def item(self):
    if self.size != 1:
        raise ValueError("Can only convert an array of size 1 to a scalar")
    return anp.ravel(self)[0]

TidyArrayBox._tidy = True
TidyArrayBox.from_arraybox = from_arraybox
TidyArrayBox.__array_namespace__ = lambda self, *, api_version=None: anp
TidyArrayBox.__array_ufunc__ = __array_ufunc__
TidyArrayBox.__array_function__ = __array_function__
TidyArrayBox.__repr__ = str
TidyArrayBox.real = property(anp.real)
TidyArrayBox.imag = property(anp.imag)
TidyArrayBox.conj = anp.conj
TidyArrayBox.item = item

# --- tidy3d/components/autograd/functions.py
def _evaluate_linear(indices, norm_distances, values):
    _slice = (slice(None),) + (None,) * (values.ndim - len(indices))
    ix = zip(indices, (1 - yi for yi in norm_distances))
    iy = zip((i + 1 for i in indices), norm_distances)
    value = anp.zeros(1)
    for h in itertools.product(*zip(ix, iy)):
        edge_indices, weights = zip(*h)
        weight = anp.ones(1)
        for w in weights:
            weight = weight * w
        term = values[edge_indices] * weight[_slice]
        value = value + term
    return value

def interpn(points, values, xi, method="linear"):
    dummy_values = onp.zeros(onp.shape(values), dtype=float)
    itrp = RegularGridInterpolator(points, dummy_values, method=method)
    xi, shape, ndim, nans, _ = itrp._prepare_xi(xi)
    indices, norm_distances = itrp._find_indices(xi.T)
    result = _evaluate_linear(indices, norm_distances, values)
    nans = anp.reshape(nans, (-1,) + (1,) * (result.ndim - 1))
    result = anp.where(nans, onp.nan, result)
    return anp.reshape(result, shape[:-1] + values.shape[ndim:])

def trapz(y, x=None, dx=1.0, axis=-1):
    if x is None:
        d = dx
    elif x.ndim == 1:
        d = onp.diff(x)
        shape = [1] * y.ndim
        shape[axis] = d.shape[0]
        d = onp.reshape(d, shape)
    else:
        d = onp.diff(x, axis=axis)
    slice1 = [slice(None)] * y.ndim
    slice2 = [slice(None)] * y.ndim
    slice1[axis] = slice(1, None)
    slice2[axis] = slice(None, -1)
    return anp.sum((y[tuple(slice1)] + y[tuple(slice2)]) * d / 2, axis=axis)

@primitive
def _add_at(x, indices_x, y):
    out = onp.copy(x)
    out[tuple(indices_x)] += y
    return out

defvjp(_add_at,
       lambda ans, x, indices_x, y: unbroadcast_f(x, lambda g: g),
       lambda ans, x, indices_x, y: lambda g: g[tuple(indices_x)],
       argnums=(0, 2))
defjvp(_add_at,
       lambda g, ans, x, indices_x, y: broadcast(g, ans),
       lambda g, ans, x, indices_x, y: _add_at(anp.zeros_like(ans), indices_x, g),
       argnums=(0, 2))

def add_at(x, indices_x, y):
    return _add_at(x, indices_x, y)

@primitive
def _straight_through_clip(x, a_min, a_max):
    return anp.clip(x, a_min=a_min, a_max=a_max)

def _straight_through_clip_vjp(ans, x, a_min, a_max):
    mask = (x >= a_min - 1e-5) & (x <= a_max + 1e-5)
    return lambda g: g * mask

defvjp(_straight_through_clip, _straight_through_clip_vjp)

# --- tidy3d/plugins/autograd/functions.py
def _pad_indices(n, pad_width, *, mode):
    total_pad = sum(pad_width)
    if n == 0:
        return anp.zeros(total_pad, dtype=int)
    idx = anp.arange(-pad_width[0], n + pad_width[1])
    if mode == "constant":
        return idx
    if mode == "edge":
        return anp.clip(idx, 0, n - 1)
    if mode == "reflect":
        period = 2 * n - 2 if n > 1 else 1
        idx = anp.mod(idx, period)
        return anp.where(idx >= n, period - idx, idx)
    if mode == "symmetric":
        period = 2 * n if n > 1 else 1
        idx = anp.mod(idx, period)
        return anp.where(idx >= n, period - idx - 1, idx)
    if mode == "wrap":
        return anp.mod(idx, n)
    raise ValueError(f"Unsupported padding mode: {mode}")

def _pad_axis(array, pad_width, axis, *, mode="constant", constant_value=0.0):
    if mode == "constant":
        padding = [(0, 0)] * array.ndim
        padding[axis] = pad_width
        return anp.pad(array, padding, mode="constant", constant_values=constant_value)
    idx = _pad_indices(array.shape[axis], pad_width, mode=mode)
    indexer = [slice(None)] * array.ndim
    indexer[axis] = idx
    return array[tuple(indexer)]

def pad(array, pad_width, *, mode="constant", axis=None, constant_value=0.0):
    pad_width = anp.atleast_1d(pad_width)
    if pad_width.size > 2:
        raise ValueError("Padding width must have one or two elements")
    pad_tuple = (pad_width[0], pad_width[0]) if pad_width.size == 1 else tuple(pad_width)
    if any(p < 0 for p in pad_tuple):
        raise ValueError("Padding must be non-negative.")
    if all(p == 0 for p in pad_tuple):
        return array
    axes = range(array.ndim) if axis is None else [axis] if isinstance(axis, int) else axis
    axes = [ax + array.ndim if ax < 0 else ax for ax in axes]
    result = array
    for ax in axes:
        result = _pad_axis(result, pad_tuple, axis=ax, mode=mode, constant_value=constant_value)
    return result

def convolve(array, kernel, *, padding="constant", axes=None, mode="same"):
    if any(k % 2 == 0 for k in kernel.shape):
        raise ValueError(f"All kernel dimensions must be odd, got {kernel.shape}.")
    if mode in ("same", "full"):
        kernel_dims = kernel.shape if axes is None else [kernel.shape[d] for d in axes[1]]
        pad_widths = [(ks // 2, ks // 2) for ks in kernel_dims]
        for axis, pad_width in enumerate(pad_widths):
            array = pad(array, pad_width, mode=padding, axis=axis)
        mode = "valid" if mode == "same" else mode
    return convolve_ag(array, kernel, axes=axes, mode=mode)

def grey_dilation(array, size=None, structure=None, *, mode="reflect", maxval=1e4):
    if size is not None:
        size = anp.atleast_1d(size)
        nb = anp.zeros((size[0], size[-1]))
    else:
        nb = anp.copy(structure)
        nb[structure == 0] = -maxval
    h, w = nb.shape
    bias = anp.reshape(nb, (-1, 1, 1))
    kernel = anp.reshape(anp.eye(h * w), (h * w, h, w))
    array = convolve(array, kernel, axes=((0, 1), (1, 2)), padding=mode) + bias
    return anp.max(array, axis=0)

def grey_erosion(array, size=None, structure=None, *, mode="reflect", maxval=1e4):
    if size is not None:
        size = anp.atleast_1d(size)
        nb = anp.zeros((size[0], size[-1]))
    else:
        nb = anp.copy(structure)
        nb[structure == 0] = -maxval
    h, w = nb.shape
    bias = anp.reshape(nb, (-1, 1, 1))
    kernel = anp.reshape(anp.eye(h * w), (h * w, h, w))
    array = convolve(array, kernel, axes=((0, 1), (1, 2)), padding=mode) - bias
    return anp.min(array, axis=0)

def morphological_gradient(array, size=None, structure=None, *, mode="reflect"):
    return grey_dilation(array, size, structure, mode=mode) - grey_erosion(array, size, structure, mode=mode)

def smooth_max(x, tau=1.0, axis=None):
    return tau * logsumexp(x / tau, axis=axis)

def smooth_min(x, tau=1.0, axis=None):
    return -smooth_max(-x, tau, axis=axis)

def rescale(array, out_min, out_max, in_min=0.0, in_max=1.0):
    scaled = (array - in_min) / (in_max - in_min)
    return scaled * (out_max - out_min) + out_min

def threshold(array, vmin=0.0, vmax=1.0, level=None):
    if level is None:
        level = (vmin + vmax) / 2
    return anp.where(array < level, vmin, vmax)

def make_kernel(kernel_type, size):
    grids = onp.ogrid[tuple(slice(-1, 1, 1j * s) for s in size)]
    if kernel_type == "circular":
        return (anp.sum([g ** 2 for g in grids], axis=0) <= 1).astype(float) / 1.0
    dists = anp.sqrt(sum(g ** 2 for g in grids))
    kernel = anp.maximum(0, 1 - dists)
    return kernel / anp.sum(kernel)

def tanh_projection(array, beta=1.0, eta=0.5):
    if beta == 0:
        return array
    if beta == anp.inf:
        return anp.where(array > eta, 1.0, 0.0)
    num = anp.tanh(beta * eta) + anp.tanh(beta * (array - eta))
    denom = anp.tanh(beta * eta) + anp.tanh(beta * (1 - eta))
    return num / denom

def make_filter_and_project(filter_size, beta=1.0, eta=0.5, padding="reflect"):
    kernel = make_kernel("conic", filter_size)
    def _filter_and_project(array, beta=beta, eta=eta):
        array = convolve(array, kernel, padding=padding)
        return tanh_projection(array, beta, eta)
    return _filter_and_project

def make_erosion_dilation_penalty(filter_size, beta=100.0, eta=0.5, delta_eta=0.01):
    filtproj = make_filter_and_project(filter_size, beta, eta)
    eta_dilate, eta_eroded = 0.0 + delta_eta, 1.0 - delta_eta
    def _dilate(array, beta):
        return filtproj(array, beta=beta, eta=eta_dilate)
    def _erode(array, beta):
        return filtproj(array, beta=beta, eta=eta_eroded)
    def _erosion_dilation_penalty(array, beta=beta):
        diff = _erode(_dilate(array, beta), beta) - _dilate(_erode(array, beta), beta)
        if not anp.any(diff):
            return 0.0
        return anp.linalg.norm(diff) / anp.sqrt(diff.size)
    return _erosion_dilation_penalty

def curvature(dp, ddp):
    return (dp[0] * ddp[1] - dp[1] * ddp[0]) / anp.power(dp[0] ** 2 + dp[1] ** 2, 1.5)

def bezier_with_grads(t, p0, pc, p2):
    p1 = 2 * pc - p0 / 2 - p2 / 2
    b = p0 * t**2 + p1 * 2 * t * (1 - t) + p2 * (1 - t) ** 2
    dbdt = 2 * (p1 + p2 * (t - 1) + p0 * t - 2 * p1 * t)
    dbd2t = 2 * (p0 - 2 * p1 + p2)
    return b, dbdt, dbd2t

def make_curvature_penalty(min_radius, alpha=1.0, kappa=10.0):
    def _curvature_penalty(points):
        xs, ys = anp.array(points).T
        p = anp.stack((xs, ys), axis=1)
        _, dbdt, dbd2t = bezier_with_grads(0.5, p[:-2], p[1:-1], p[2:])
        crv = curvature(dbdt.T, dbd2t.T)
        curvature_radius = anp.abs(1 / (crv + 1e-3))
        exp_arg = anp.exp(-kappa * (curvature_radius - min_radius))
        return anp.mean(alpha * (exp_arg / (1 + exp_arg)))
    return _curvature_penalty

# --- tidy3d/plugins/autograd/differential_operators.py
@unary_to_nary
def value_and_grad(fun, x, *, has_aux=False):
    if not has_aux:
        return value_and_grad_ag(fun)(x)
    vjp, (ans, aux) = make_vjp(lambda x: atuple(fun(x)), x)
    if not vspace(ans).size == 1:
        raise TypeError("value_and_grad only applies to real scalar-output functions.")
    return (ans, vjp((vspace(ans).ones(), None))), aux

anp.unwrap = primitive(anp.unwrap)
defjvp(anp.unwrap, lambda g, ans, x, *args, **kwargs: g)
defvjp(anp.unwrap, lambda ans, x, *args, **kwargs: lambda g: g)

# --- a design loop in the style of tidy3d's inverse-design notebooks
rng = onp.random.RandomState(3)
params0 = rng.uniform(0.2, 0.8, (7, 6))
filter_project = make_filter_and_project((3, 3), beta=4.0)
penalty = make_erosion_dilation_penalty((3, 3), beta=8.0)
curv = make_curvature_penalty(0.4)
pts = rng.randn(6, 2)
grid = (onp.linspace(0, 1, 7), onp.linspace(0, 2, 6))
probe = (onp.array([0.15, 0.5, 0.93]), onp.array([0.3, 1.1, 1.7]))

def objective(params):
    density = filter_project(params)
    eps = rescale(density, 1.0, 12.0)
    field = anp.exp(1j * anp.cumsum(eps, axis=0) * 0.1)
    phase = anp.unwrap(anp.angle(field), axis=0)
    power = trapz(anp.abs(field[:, :3]) ** 2 * eps[:, :3], x=onp.linspace(0, 1, 7), axis=0)
    itp = interpn(grid, eps, probe)
    shifted = add_at(eps, (slice(1, 3), [0, 2]), anp.ones((2, 2)) * anp.mean(density))
    morph = morphological_gradient(density, size=3)
    clipped = _straight_through_clip(params * 1.3 - 0.1, 0.0, 1.0)
    val = (anp.sum(power) + anp.sum(itp ** 2) + 0.1 * anp.sum(shifted * morph)
           + smooth_min(anp.ravel(phase[-1]), tau=0.5) + anp.mean(clipped)
           + penalty(params) + smooth_max(eps, tau=2.0))
    return val, {"power": power, "itp": itp}

(val, g), aux = value_and_grad(objective, has_aux=True)(params0)
val2, g2 = value_and_grad(lambda p: objective(p)[0])(params0)
jac_itp = jacobian(lambda p: interpn(grid, filter_project(p), probe))(params0)
gc = autograd.grad(curv)(pts)
# forward mode through add_at and _astype
jv = make_jvp(lambda y: add_at(onp.zeros((4, 3)), ([1, 3], [0, 2]), y) * anp.astype(y, float).sum())(
    onp.array([0.5, -1.5]))(onp.array([1.0, 2.0]))
# NumPy's own functions on the patched box
seen = []
def spy(x):
    seen.append(type(x).__name__ == "ArrayBox" or hasattr(x, "_node"))
    y = onp.sin(x) * onp.sum(x)
    z = onp.concatenate([y, onp.real(x * (1 + 2j))])
    return anp.sum(z ** 2) + x[:1].item() * x.imag.sum()
gs = autograd.grad(spy)(onp.array([0.3, 0.7]))
gi = autograd.grad(lambda x: x.item() * x.conj().real[0] * 3.0)(onp.array([0.5]))
res = {"library": autograd.__name__, "val": float(val), "g": g.tolist(), "val2": float(val2), "g2": g2.tolist(),
       "aux": {k: onp.asarray(autograd.tracer.getval(v)).tolist() for k, v in aux.items()},
       "jac": jac_itp.tolist(), "gc": gc.tolist(), "jv": [jv[0].tolist(), jv[1].tolist()], "gs": gs.tolist(),
       "gi": gi.tolist(), "seen": seen, "pen": float(penalty(onp.ones((5, 5))))}
print(json.dumps(res))
'''
