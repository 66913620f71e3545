"""chainrule.func (torch.func's API): the per-sample-gradient and model-ensembling
recipes of PyTorch's torch.func tutorials, written as there with ``func`` standing for
chainrule.func or torch.func, and compared (float64, the same weights); the other
transforms against torch.func; functional_call's errors and restoring of the module."""

import copy
import functools

import numpy as np
import pytest

import chainrule as cr
import chainrule.func as cfunc
from chainrule import nn
from chainrule.core.trace import OPEN_REVERSE

torch = pytest.importorskip("torch")
tfunc = torch.func
rng = np.random.default_rng(12)
X, Y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)


def make_models(count=1):
    """``count`` small classifiers in each library, with the same float64 weights."""
    pairs = []
    for k in range(count):
        torch.manual_seed(k)
        theirs = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)).double()
        ours = nn.Sequential(nn.Linear(4, 5, dtype=np.float64), nn.Tanh(), nn.Linear(5, 3, dtype=np.float64))
        ours.load_state_dict({n: v.detach().numpy() for n, v in theirs.state_dict().items()})
        pairs.append((ours, theirs))
    return pairs


def per_sample_grads(func, F, model, data, targets, unsqueeze):
    # the torch.func tutorial's recipe, with the library's own names passed in
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        batch, targets = unsqueeze(sample), unsqueeze(target)
        predictions = func.functional_call(model, (params, buffers), (batch,))
        return F.cross_entropy(predictions, targets)

    return func.vmap(func.grad(compute_loss), in_dims=(None, None, 0, 0))(params, buffers, data, targets)


def test_per_sample_gradients_recipe_matches_torch_func():
    ours, theirs = make_models()[0]
    got = per_sample_grads(cfunc, nn.functional, ours, X, Y, lambda t: t[None])
    want = per_sample_grads(tfunc, torch.nn.functional, theirs, torch.tensor(X), torch.tensor(Y),
                            lambda t: t.unsqueeze(0))
    assert got.keys() == want.keys()
    for k in want:
        np.testing.assert_allclose(np.asarray(got[k]), want[k].numpy(), rtol=1e-11, atol=1e-13, err_msg=k)


def ensemble_predictions(func, models, minibatch):
    params, buffers = func.stack_module_state(models)
    base_model = copy.deepcopy(models[0]).to("meta")

    def fmodel(params, buffers, x):
        return func.functional_call(base_model, (params, buffers), (x,))

    return func.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)


def test_model_ensembling_recipe_matches_torch_func():
    pairs = make_models(3)
    got = ensemble_predictions(cfunc, [o for o, _ in pairs], X)
    want = ensemble_predictions(tfunc, [t for _, t in pairs], torch.tensor(X))
    assert got.shape == tuple(want.shape) == (3, 6, 3)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)


def f(x, y):
    return (x.sin() * y).sum() + (x * x * y[0]).sum(), x.cos().sum()


@pytest.mark.parametrize("name", ["grad", "grad_and_value", "jacrev", "jacfwd", "hessian"])
def test_transforms_match_torch_func(name):
    x, y = rng.normal(size=3), rng.normal(size=3)
    scalar = (lambda a, b: f(a, b)[0])
    # written for torch (methods on tensors): the arguments are Tensors in both libraries
    args = {"grad": (scalar, (0, 1)), "grad_and_value": (f, 0), "jacrev": (scalar, 1), "jacfwd": (scalar, 0),
            "hessian": (scalar, 0)}[name]
    kwargs = {"has_aux": True} if name == "grad_and_value" else {}
    got = getattr(cfunc, name)(args[0], args[1], **kwargs)(cr.tensor(x), cr.tensor(y))
    want = getattr(tfunc, name)(args[0], args[1], **kwargs)(torch.tensor(x), torch.tensor(y))
    got_leaves, want_leaves = cr.tree_leaves(got), [w for w in torch.utils._pytree.tree_leaves(want)]
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves, strict=True):
        np.testing.assert_allclose(np.asarray(g), w.numpy(), rtol=1e-12, atol=1e-14)


def test_vjp_and_jvp_with_aux_match_torch_func():
    x, y, v = rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)
    out, tangent, aux = cfunc.jvp(lambda a: f(a, y), (x,), (v,), has_aux=True)
    tout, ttangent, taux = tfunc.jvp(lambda a: f(a, torch.tensor(y)), (torch.tensor(x),), (torch.tensor(v),),
                                     has_aux=True)
    np.testing.assert_allclose([out, tangent, aux], [tout.item(), ttangent.item(), taux.item()], rtol=1e-13)
    out, pull, aux = cfunc.vjp(lambda a: f(a, y), x, has_aux=True)
    tout, tpull, taux = tfunc.vjp(lambda a: f(a, torch.tensor(y)), torch.tensor(x), has_aux=True)
    np.testing.assert_allclose(pull(2.0)[0], tpull(torch.tensor(2.0))[0].numpy(), rtol=1e-13)


def test_functional_call_leaves_the_module_as_it_was():
    model = nn.BatchNorm1d(4, dtype=np.float64)
    before = {k: np.asarray(v).copy() for k, v in model.state_dict().items()}
    shifted = {"bias": np.full(4, 10.0), "running_mean": np.ones(4)}
    out = cfunc.functional_call(model.eval(), shifted, X)
    np.testing.assert_allclose(out.detach().numpy(), (X - 1) / np.sqrt(1 + 1e-5) + 10.0)
    with pytest.raises(ValueError, match="no parameter or buffer 'weights'"):
        cfunc.functional_call(model, {"weights": np.ones(4)}, X)
    with pytest.raises(RuntimeError, match="Missing key"):  # as torch.func's
        cfunc.functional_call(model, {"bias": np.ones(4)}, X, strict=True)
    with pytest.raises(ValueError, match="more than one dict"):
        cfunc.functional_call(model, ({"bias": np.ones(4)}, {"bias": np.ones(4)}), X)
    with pytest.raises(TypeError):
        cfunc.functional_call(model, {"bias": np.ones(4)}, ("not", "an", "array"))
    assert all(np.array_equal(np.asarray(v), before[k]) for k, v in model.state_dict().items())
    assert model.bias is model._parameters["bias"]


@pytest.mark.parametrize("lib", ["chainrule", "torch"])
def test_randomness_options_as_torch(lib):
    L, func = (cr, cfunc) if lib == "chainrule" else (torch, tfunc)
    x = L.ones(6, 40, dtype=L.float64)
    draws = {"dropout": lambda v: L.nn.functional.dropout(v, 0.5), "rand": lambda v: v + L.rand(40),
             "randn_like": lambda v: v * L.randn_like(v), "randint": lambda v: v + L.randint(0, 9, (40,))}
    for name, draw in draws.items():
        same = func.vmap(draw, randomness="same")(x)
        different = func.vmap(draw, randomness="different")(x)
        assert (same == same[0]).all() and not (same == same[1:2] * 0).all(), name
        assert (different != different[0]).any(dim=1)[1:].all(), name  # every example its own draw
        with pytest.raises(RuntimeError, match="randomness error mode"):
            func.vmap(draw)(x)
        with pytest.raises(RuntimeError, match="randomness error mode"):  # torch.vmap, PyTorch's spelling
            L.vmap(draw, in_dims=0)(x)
    nested = func.vmap(func.vmap(lambda v: L.rand(()), randomness="different"), randomness="different")(x[:, :5])
    assert len(set(nested.flatten().tolist())) == 30
    with pytest.raises(RuntimeError, match="randomness error mode"):
        func.jacfwd(lambda v: L.nn.functional.dropout(v, 0.5))(x[0])
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        func.vmap(draws["rand"], randomness="sometimes")(x)
    with pytest.raises(ValueError, match="chunk_size should be None or greater than 0"):
        func.vmap(draws["rand"], randomness="same", chunk_size=0)(x)
    with pytest.raises(ValueError, match="chunk_size` should be greater than 0"):
        func.jacrev(L.sin, chunk_size=0)(x[0])


def test_linearize_and_vmap_keywords_match_torch_func():
    x, v = rng.normal(size=3), rng.normal(size=3)
    out, jvp_fn = cfunc.linearize(lambda a: a.sin() * a, cr.tensor(x))
    tout, tjvp_fn = tfunc.linearize(lambda a: a.sin() * a, torch.tensor(x))
    np.testing.assert_allclose(np.asarray(out), tout.numpy(), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(jvp_fn(cr.tensor(v))), tjvp_fn(torch.tensor(v)).detach().numpy(),
                               rtol=1e-13)
    # keyword arguments reach every example unbatched, as in torch.func (JAX would batch them)
    xs = rng.normal(size=(4, 3))
    scaled = lambda a, scale=1.0, shift=None: a * scale + (0.0 if shift is None else shift)  # noqa: E731
    got = cfunc.vmap(scaled)(cr.tensor(xs), scale=2.0, shift=cr.tensor(np.ones(3)))
    want = tfunc.vmap(scaled)(torch.tensor(xs), scale=2.0, shift=torch.ones(3, dtype=torch.float64))
    np.testing.assert_allclose(np.asarray(got), want.numpy(), rtol=1e-14)


@pytest.mark.parametrize("name", ["grad", "grad_and_value", "vjp", "jacrev", "jacfwd", "hessian"])
def test_a_loss_made_of_a_derivative_backpropagates_through_it_as_torch(name):
    # MAML's meta-gradient: the adapted parameters p - lr * grad(f)(p) depend on p through
    # the gradient too; backward() must follow both paths, as in torch.func
    p0, x0 = rng.normal(size=3), rng.normal(size=3)

    def run(lib, func):
        p, x = lib.tensor(p0, requires_grad=True), lib.tensor(x0)
        f = (lambda q: ((q * x).sin() * q).sum())
        derivative = {"grad": lambda: func.grad(f)(p), "grad_and_value": lambda: func.grad_and_value(f)(p)[0],
                      "vjp": lambda: func.vjp(lambda q: (q * x).sin() * q, p)[1](x)[0],
                      "jacrev": lambda: func.jacrev(lambda q: (q * x).sin() * q)(p).sum(0),
                      "jacfwd": lambda: func.jacfwd(lambda q: (q * x).sin() * q)(p).sum(0),
                      "hessian": lambda: func.hessian(f)(p).sum(0)}[name]()
        assert derivative.requires_grad
        (((p - 0.1 * derivative) * x) ** 2).sum().backward()
        return p.grad.numpy()

    np.testing.assert_allclose(run(cr, cfunc), run(torch, tfunc), rtol=1e-12)
    # chainrule's own transforms differentiate an eager Tensor at its value, as JAX does
    g = cr.grad(lambda q: (q ** 2).sum())(cr.tensor(p0, requires_grad=True))
    assert not getattr(g, "requires_grad", False)


def _complex_program(lib, func, name, w0, x0):
    """One of torch.func's transforms of a complex weight ``w``: its result and, through
    MAML's adapted weight ``w - 0.1 * derivative``, ``w.grad``."""
    w, xs = lib.tensor(w0, requires_grad=True), lib.tensor(x0)

    def loss(w, x):
        return ((w @ x).abs() ** 2).sum() + (w * x[:2, None]).imag.sum()

    derivative = {
        "grad": lambda: func.grad(loss)(w, xs[0]),
        "grad, has_aux": lambda: func.grad(lambda w: (loss(w, xs[0]), w.real), has_aux=True)(w)[0],
        "grad_and_value": lambda: func.grad_and_value(loss)(w, xs[0])[0],
        "vmap of grad": lambda: func.vmap(func.grad(loss), in_dims=(None, 0))(w, xs).sum(0),
        "vjp, holomorphic": lambda: func.vjp(lambda w: w.exp() * w, w)[1](w.detach().flip(0))[0],
        "vjp, real output": lambda: func.vjp(lambda w: (w @ xs[0]).abs(), w)[1](lib.ones(2, dtype=lib.float64))[0],
        "jacrev, real output": lambda: func.jacrev(lambda w: (w @ xs[0]).abs())(w).sum(0),
    }[name]()
    (((w - 0.1 * derivative) @ xs[1]).abs() ** 2).sum().backward()
    return derivative.detach().numpy(), w.grad.numpy()


@pytest.mark.parametrize("name", ["grad", "grad, has_aux", "grad_and_value", "vmap of grad", "vjp, holomorphic",
                                  "vjp, real output", "jacrev, real output"])
def test_complex_gradients_are_in_pytorch_convention_as_torch_func(name):
    # torch.func's gradient of a complex argument is .grad's, ∂L/∂x + i ∂L/∂y (a descent
    # step subtracts it), the conjugate of chainrule's own transforms' (JAX's); a vjp takes
    # and gives cotangents so (jacrev, which torch.func refuses for complex inputs, follows grad)
    w0 = rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3))
    x0 = rng.normal(size=(4, 3)) + 1j * rng.normal(size=(4, 3))
    ours = _complex_program(cr, cfunc, name, w0, x0)
    if name == "jacrev, real output":  # torch.func refuses it; its rows' sum is the vjp of ones
        with pytest.raises(RuntimeError, match="real"):
            _complex_program(torch, tfunc, name, w0, x0)
        name = "vjp, real output"
    theirs = _complex_program(torch, tfunc, name, w0, x0)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_backward_through_vmap_of_a_convolution_reaches_its_shared_weights_as_torch():
    # under vmap the examples' columns go into one product with the shared weight; the
    # eager graph's rules then see those columns with a leading batch axis
    images = rng.normal(size=(3, 2, 5, 5))

    def run(lib, func):
        lib.manual_seed(0)
        conv = lib.nn.Conv2d(2, 3, 3).double()
        if lib is cr:
            conv.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        out = func.vmap(lambda x: conv(x[None]).tanh().sum())(lib.tensor(images))
        (out * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        return conv, [conv.weight.grad.numpy(), conv.bias.grad.numpy()]

    theirs, want = run(torch, tfunc)
    _, got = run(cr, cfunc)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_functional_call_ties_weights_and_is_strict_as_torch():
    def run(lib, func):
        lib.manual_seed(0)
        enc, dec = lib.nn.Linear(3, 3, bias=False).double(), lib.nn.Linear(3, 3).double()
        if lib is cr:
            enc.weight.data, dec.bias.data = (cr.tensor(t.detach().numpy()) for t in (their_enc.weight, their_dec.bias))
        dec.weight = enc.weight
        model = lib.nn.Sequential(enc, lib.nn.Tanh(), dec)
        x, w = lib.tensor(X[:, :3]), lib.tensor(np.eye(3) + 0.1)
        outs = [func.functional_call(model, {"0.weight": w}, (x,)),
                func.functional_call(model, {"2.weight": w}, (x,)),  # either name of the tied pair
                func.functional_call(model, {"0.weight": w}, (x,), tie_weights=False),
                func.functional_call(model, {"0.weight": w, "2.weight": 2 * w}, (x,), tie_weights=False),
                func.functional_call(model, {"0.weight": w, "2.bias": w[0]}, (x,), strict=True)]
        errors = []
        for call in (lambda: func.functional_call(model, {"0.weight": w, "2.weight": 2 * w}, (x,)),
                     lambda: func.functional_call(model, {"0.weight": w}, (x,), strict=True),
                     lambda: func.functional_call(model, {"0.weight": w, "2.bias": w[0]}, (x,), strict=True,
                                                  tie_weights=False)):
            try:
                call()
                errors.append(None)
            except (ValueError, RuntimeError) as e:
                errors.append((type(e), str(e)))
        return model, [o.detach().numpy() for o in outs], errors

    theirs = run(torch, tfunc)  # then chainrule's model with the same weights
    their_enc, their_dec = theirs[0][0], theirs[0][2]
    _, ours, our_errors = run(cr, cfunc)
    for a, b in zip(ours, theirs[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert [e and e[0] for e in our_errors] == [e and e[0] for e in theirs[2]] == [ValueError, RuntimeError,
                                                                                  RuntimeError]
    assert [e[1] for e in our_errors] == [e[1] for e in theirs[2]]


def test_replace_all_batch_norm_modules_stops_tracking_running_statistics_as_torch():
    def run(lib, func):
        net = lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.BatchNorm2d(2), lib.nn.Sequential(lib.nn.BatchNorm1d(2)))
        assert func.replace_all_batch_norm_modules_(net) is net
        bns = [net[1], net[2][0]]
        return [(m.track_running_stats, m.running_mean, m.running_var, m.num_batches_tracked) for m in bns], \
            sorted(k for k, _ in net.named_buffers())

    assert run(cr, cfunc) == run(torch, tfunc) == ([(False, None, None, None)] * 2, [])


@pytest.mark.parametrize("lib", ["chainrule", "torch"])
def test_vmap_of_a_training_batch_norm_with_shared_running_statistics_is_refused_as_torch(lib):
    # each example would write its own statistics into the one running_mean; PyTorch refuses,
    # and chainrule did write a batched value into the module's buffer (left broken)
    L = cr if lib == "chainrule" else torch
    norm = L.nn.BatchNorm1d(2).double()
    with pytest.raises(RuntimeError, match="running_mean or running_var, which will be updated in place"):
        L.func.vmap(norm)(L.tensor(rng.normal(size=(3, 4, 2))))
    assert isinstance(norm.running_mean, L.Tensor) and norm.running_mean.shape == (2,)
    params, buffers = L.func.stack_module_state([L.nn.BatchNorm1d(2).double() for _ in range(3)])
    # buffers batched with the examples (an ensemble's own statistics) are updated
    L.func.vmap(lambda p, b, x: L.func.functional_call(norm, (p, b), (x,)))(params, buffers,
                                                                            L.tensor(rng.normal(size=(3, 4, 2))))
    L.func.replace_all_batch_norm_modules_(norm)
    assert L.func.vmap(norm)(L.tensor(rng.normal(size=(3, 4, 2)))).shape == (3, 4, 2)


def test_torch_vmap_documentation_examples_as_torch():
    # torch.vmap's own examples: a Jacobian by vmap over torch.autograd.grad with batched
    # grad_outputs (its cotangents were made plain arrays: refused), keyword arguments
    # given as Python numbers (were batched, as JAX's rule would, and refused)
    def run(lib):
        x = lib.tensor(X[0], requires_grad=True)
        y = x ** 2 * x.sin()
        jacobian = lib.vmap(lambda v: lib.autograd.grad(y, x, v, retain_graph=True))(lib.eye(4, dtype=lib.float64))
        scaled = lib.vmap(lambda a, scale=4.0: a * scale)(lib.tensor(X), scale=2.0)
        second = lib.func.vmap(lambda v: lib.autograd.grad(y, x, v, create_graph=True)[0].sum())(lib.tensor(X[:, :4]))
        return [jacobian[0], scaled, second]

    for ours, theirs in zip(run(cr), run(torch), strict=True):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-13)


def _minus_square_without_grad(lib, x):
    with lib.no_grad():
        c = x ** 2
    return x - c


def _no_grad_cases(lib):
    """What torch.func's transforms make of grad modes inside (and around) the function,
    as ``name: thunk``; ``lib`` is chainrule or torch, the point a float64 Tensor."""
    func, F = lib.func, lib.nn.functional
    x = lib.tensor(0.5, dtype=lib.float64)
    v = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64)
    f = functools.partial(_minus_square_without_grad, lib)

    def reenabled(x):  # enable_grad inside no_grad records again
        with lib.no_grad():
            c = x ** 3
            with lib.enable_grad():
                d = x ** 3
        return c + d

    def constant_factor(x):  # in grad(grad(.)): a constant for both levels
        with lib.no_grad():
            c = x ** 3
        return x ** 2 * c

    def of_inner_grad(x):  # an inner grad taken under no_grad: a constant for the outer one
        with lib.no_grad():
            g = func.grad(lambda y: y ** 3 * x)(x)
        return g + x ** 2

    def closure(a):
        def inner(b):
            with lib.no_grad():
                c = a * b
            return c * b + a * b
        return func.grad(inner)(a)

    def several_outputs(v):  # a multiple-output call, a softmax and a setter, paused
        with lib.set_grad_enabled(False):
            e = lib.linalg.eigh(lib.outer(v, v)).eigenvalues
            s = F.softmax(v, 0)
        return (e * v).sum() + (s * v).sum() + (v ** 2).sum()

    def under_inference_mode(x):
        with lib.inference_mode():
            c = x ** 2
        return x - c  # (x * c: PyTorch refuses to save an inference tensor for backward)

    def outer_no_grad():  # around the transform: ignored, the no_grad inside is not
        with lib.no_grad():
            return func.grad(f)(x), func.grad(lambda y: y ** 2)(x)

    one = lib.tensor(1.0, dtype=lib.float64)
    return {
        "grad": lambda: func.grad(f)(x),
        "grad_and_value": lambda: func.grad_and_value(f)(x),
        "vjp": lambda: func.vjp(f, x)[1](one),
        "jacrev": lambda: func.jacrev(f)(x),
        "jvp": lambda: func.jvp(f, (x,), (one,)),  # forward mode ignores no_grad
        "jacfwd": lambda: func.jacfwd(f)(x),
        "hessian": lambda: func.hessian(f)(x),
        "vmap": lambda: func.vmap(f)(v),
        "enable_grad": lambda: func.grad(reenabled)(x),
        "grad_of_grad": lambda: func.grad(func.grad(constant_factor))(x),
        "no_grad_around_inner_grad": lambda: func.grad(of_inner_grad)(x),
        "closure": lambda: func.grad(closure)(x),
        "several_outputs": lambda: func.grad(several_outputs)(v),
        "inference_mode": lambda: func.grad(under_inference_mode)(x),
        "outer_no_grad": outer_no_grad,
        "vmap_of_grad": lambda: func.vmap(func.grad(f))(v),
    }


@pytest.mark.parametrize("name", list(_no_grad_cases(cr)))
def test_no_grad_inside_a_transformed_function_as_torch_func(name):
    ours = cr.tree_util.tree_leaves(_no_grad_cases(cr)[name]())
    theirs = torch.utils._pytree.tree_leaves(_no_grad_cases(torch)[name]())
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(np.asarray(a.detach()), b.detach().numpy(), rtol=1e-12)
    assert cr.is_grad_enabled()


def test_no_grad_inside_the_jax_style_transforms():
    # the same engine: cr.grad, cr.jacobian and cr.value_and_grad read no_grad as torch.func
    def f(x):
        with cr.no_grad():
            c = cr.numpy.sin(x)
        return x * c

    x = 0.3
    assert float(cr.grad(f)(x)) == pytest.approx(np.sin(x), rel=1e-12)
    assert float(cr.grad(cr.grad(f))(x)) == 0.0
    assert float(cr.value_and_grad(f)(x)[1]) == pytest.approx(np.sin(x), rel=1e-12)
    assert float(cr.grad(f)(x)) == float(cr.grad(lambda y: y * np.sin(x))(x))


def test_a_transform_refusing_its_argument_leaves_no_trace_open():
    # (grad modes act on the open reverse traces; one left open by an error was kept for good)
    for bad in ("text", None, {"a": "b"}):
        with pytest.raises(TypeError):
            cr.grad(lambda x: x)(bad)
    with pytest.raises(TypeError):
        cr.vjp(lambda x: x, "text")
    assert OPEN_REVERSE.traces == () and OPEN_REVERSE.mode is True


def _sum_of_squares(x):
    return (x * x).sum()


# (call with `lib` standing for torch or chainrule, what chainrule's message says)
FUNC_ERRORS = {
    "non-scalar output": (lambda lib: lib.func.grad(lib.sin)(lib.ones(3)), "scalar output"),
    "argnums out of range": (lambda lib: lib.func.grad(_sum_of_squares, argnums=3)(lib.ones(3)), "argnums=3"),
    "argnums not ints": (lambda lib: lib.func.grad(_sum_of_squares, argnums=1.0)(lib.ones(3)), "argnums must be"),
    "primals not a tuple": (lambda lib: lib.func.jvp(lib.sin, lib.ones(3), lib.ones(3)), "must be tuples"),
    "tangents of another length": (lambda lib: lib.func.jvp(lib.sin, (lib.ones(3),), (lib.ones(3),) * 2),
                                   "1 primal.* but 2 tangent"),
    "tangent of another shape": (lambda lib: lib.func.jvp(lib.sin, (lib.ones(3),), (lib.ones(2),)), "shape"),
    "integer input to grad": (lambda lib: lib.func.grad(_sum_of_squares)(lib.tensor([1, 2])), "floating point"),
    "integer input to jacrev": (lambda lib: lib.func.jacrev(lib.sin)(lib.tensor([1, 2])), "floating point"),
    "integer primal to vjp": (lambda lib: lib.func.vjp(lib.sin, lib.tensor([1, 2])), "floating point"),
    "integer primal to jvp": (lambda lib: lib.func.jvp(lib.sin, (lib.tensor([1, 2]),), (lib.tensor([1, 2]),)),
                              "floating point"),
    "cotangent of another shape": (lambda lib: lib.func.vjp(lib.sin, lib.ones(3))[1](lib.ones(2)), "shape"),
    "cotangent of another structure": (lambda lib: lib.func.vjp(lib.sin, lib.ones(3))[1]((lib.ones(3),) * 2),
                                       "structure"),
    "grad of a Python number": (lambda lib: lib.func.grad(lambda x: 1.0)(lib.ones(())), "only Tensors"),
    "jacrev of a Python number": (lambda lib: lib.func.jacrev(lambda x: 1.0)(lib.ones(3)), "only Tensors"),
    "jacfwd of a Python number": (lambda lib: lib.func.jacfwd(lambda x: 1.0)(lib.ones(3)), "only Tensors"),
    "vmap in_dims out of range": (lambda lib: lib.func.vmap(lib.sin, in_dims=1)(lib.ones(3)), "in_axes=1"),
    "vmap in_dims of another length": (lambda lib: lib.func.vmap(lib.add, in_dims=(0, 0, 0))(lib.ones(3),
                                                                                              lib.ones(3)), "entries"),
    "vmap batch sizes differ": (lambda lib: lib.func.vmap(lib.add)(lib.ones(3), lib.ones(4)), "different sizes"),
    "functional_call missing key": (lambda lib: lib.func.functional_call(
        lib.nn.Linear(2, 2), {"weight": lib.ones(2, 2)}, (lib.ones(2),), strict=True), "Missing key"),
}


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("case", FUNC_ERRORS)
def test_func_errors_of_torch_func_class(case):
    """Each mistake is refused with the exception class torch.func raises (code written for
    torch catches it), and chainrule's own promises (a ValueError, a TypeError) hold too."""
    call, says = FUNC_ERRORS[case]
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(theirs.type, match=says):
        call(cr)


def _doubling_sin(x, *, aux=False):
    x.mul_(2)
    return (x.sin(), x.sum()) if aux else x.sin()


@pytest.mark.parametrize("transform", ["jvp", "jvp_aux", "jacfwd", "jacfwd_aux", "vmap"])
def test_forward_transforms_write_arguments_changed_in_place_back_as_torch(transform):
    """torch.func's jvp, jacfwd and vmap leave an argument that the function changed in
    place (x.mul_(2)) changed for the caller; the reverse-mode ones refuse the change."""
    results = []
    for lib, make in ((tfunc, lambda v: torch.tensor(v, dtype=torch.float64)), (cfunc, cr.tensor)):
        x, t = make([1.0, -2.0]), make([1.0, 0.5])
        aux = transform.endswith("_aux")
        f = functools.partial(_doubling_sin, aux=aux)
        if transform.startswith("jvp"):
            out = lib.jvp(f, (x,), (t,), has_aux=aux)
        elif transform.startswith("jacfwd"):
            out = lib.jacfwd(f, has_aux=aux)(x)
        else:
            out = lib.vmap(f)(x)
        out = out if isinstance(out, tuple) else (out,)
        results.append(([np.asarray(o) for o in out], np.asarray(x)))
    (theirs, their_x), (ours, our_x) = results
    np.testing.assert_array_equal(our_x, their_x)
    np.testing.assert_array_equal(our_x, [2.0, -4.0])
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)
