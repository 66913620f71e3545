"""Every keyword of torch.func's API, in programs written as torch.func users write them,
run with ``L`` standing for torch and for chainrule on the same float64 inputs: the values
and derivatives must agree, and where torch.func raises, chainrule must raise an exception
of torch's class (code written for PyTorch catches it). Random draws are compared by what
``randomness`` promises (the same draw for every example or each its own), not by value.
The differences chainrule keeps on purpose are listed at the end, with their reasons."""

import copy

import numpy as np
import pytest

import chainrule as cr
from torch_func_cases import T, assert_runs_as_torch, registry

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

rng = np.random.default_rng(0)
A, B = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
V, W = rng.normal(size=4), rng.normal(size=(4, 2))
CASES, case = registry()


def sin_times(x, y):
    return (x.sin() * y).sum()


def outer_sin(x, y):
    return (x[:, None] * y[None, :2]).sin()


# -- vmap: in_dims, out_dims, chunk_size, nesting ----------------------------------------------
@case
def vmap_nested_in_dims(L):
    d = {"a": T(L, A), "b": (T(L, V), [T(L, B.T)])}
    return L.func.vmap(lambda d: d["a"] * d["b"][0] + d["b"][1][0].sum(),
                       in_dims=({"a": 0, "b": (None, [1])},))(d)


@case
def vmap_out_dims(L):
    return (L.func.vmap(lambda x: (x.sum(), x * 2, x[None]), out_dims=(0, 1, 2))(T(L, A)),
            L.func.vmap(lambda x: (x * 2, T(L, V)), out_dims=(0, None))(T(L, A)),
            L.func.vmap(lambda x: x[:, None] * x, out_dims=-1)(T(L, A)),
            L.func.vmap(lambda x: {"s": x * 1, "m": [x.max()]}, out_dims={"s": 0, "m": 0})(T(L, A)),
            L.func.vmap(lambda x: (x, 1.0), out_dims=(0, None))(T(L, A)),  # a number is fine where unbatched
            L.func.vmap(lambda x: x * 2, in_dims=-1)(T(L, A)))


@case
def vmap_chunk_size(L):
    return (L.func.vmap(lambda x: x.sin().sum(), chunk_size=1)(T(L, A)),
            L.func.vmap(lambda x, y: (x * y).sum(), in_dims=(0, None), chunk_size=2)(T(L, A), T(L, V)),
            L.func.vmap(lambda x: (x, x.sum()), chunk_size=2, out_dims=(1, 0))(T(L, A)),
            L.func.vmap(L.func.vmap(lambda a: a.exp(), chunk_size=2), chunk_size=None)(T(L, A)))


@case
def vmap_nested(L):
    return (L.func.vmap(L.func.vmap(lambda a, b: a * b, in_dims=(0, None)), in_dims=(None, 0))(T(L, V), T(L, V)),
            L.func.vmap(L.dot)(T(L, A), T(L, B)),
            L.func.vmap(lambda x, *, y: x * y)(T(L, A), y=T(L, V)))


@case
def vmap_of_grad_and_grad_of_vmap(L):
    return (L.func.vmap(L.func.grad(lambda x, y: (x * y).sin().sum()), in_dims=(0, None))(T(L, A), T(L, V)),
            L.func.grad(lambda x: L.func.vmap(lambda r: r.sin().sum())(x).prod())(T(L, A)),
            L.func.vmap(L.func.jacrev(lambda x: x.sin() * x.sum()))(T(L, A)),
            L.func.vmap(L.func.jacfwd(lambda x: x.sin() * x.sum()))(T(L, A)))


# -- vmap's refusals ---------------------------------------------------------------------------
@case
def vmap_in_dims_not_an_axis(L):
    return L.func.vmap(lambda a: a, in_dims="x")(T(L, A))


@case
def vmap_in_dims_of_another_structure(L):
    return L.func.vmap(lambda d: d["a"], in_dims=({"b": 0},))({"a": T(L, A)})


@case
def vmap_out_dims_of_another_length(L):
    return L.func.vmap(lambda a: (a, a), out_dims=(0, 0, 0))(T(L, A))


@case
def vmap_out_dims_none_for_a_batched_output(L):
    return L.func.vmap(lambda x: x * 2, out_dims=None)(T(L, A))


@case
def vmap_out_dims_out_of_range(L):
    return L.func.vmap(lambda a: a, out_dims=3)(T(L, A))


@case
def vmap_batch_sizes_differ(L):
    return L.func.vmap(lambda a, b: a + b)(T(L, A), T(L, W))


@case
def vmap_nothing_batched(L):
    return L.func.vmap(lambda a: a, in_dims=None)(T(L, A))


@case
def vmap_returns_a_number(L):
    return L.func.vmap(lambda x: 1.0)(T(L, A))


@case
def vmap_returns_none(L):
    return L.func.vmap(lambda x: None)(T(L, A))


@case
def vmap_add_into_a_captured_tensor(L):
    y = T(L, V)

    def f(x):
        y.add_(x)
        return y
    return L.func.vmap(f)(T(L, A))


@case
def vmap_write_into_a_new_unbatched_tensor(L):
    def f(x):
        z = L.zeros(4, dtype=L.float64)
        z[1] = x[0]
        return z
    return L.func.vmap(f)(T(L, A))


@case
def vmap_in_place_on_its_own_values(L):
    def f(x):
        y = x.clone()
        y.mul_(2)
        y[0] = x[1]
        return y
    return L.func.vmap(f)(T(L, A))


@case
def vmap_changes_its_arguments_in_place(L):
    # written back to the caller's Tensors, batch axis where in_dims put it
    x, d = T(L, A), {"a": T(L, B), "b": T(L, V)}

    def f(x, d):
        x.add_(1.0)
        d["a"][0] = x[1]
        return x * d["b"].sum()
    out = L.func.vmap(f, in_dims=(1, {"a": 1, "b": None}))(x, d)
    y = T(L, A)
    L.func.vmap(lambda r: r.mul_(2))(y)
    return out, x, d, y


@case
def vmap_item(L):
    return L.func.vmap(lambda x: x.sum().item())(T(L, A))


@case
def vmap_float(L):
    return L.func.vmap(lambda x: float(x.sum()))(T(L, A))


@case
def vmap_branch_on_a_value(L):
    return L.func.vmap(lambda x: x if x.sum() > 0 else -x)(T(L, A))


@case
def vmap_tolist(L):
    return L.func.vmap(lambda x: L.tensor(x.tolist()))(T(L, A))


@case
def vmap_nonzero(L):
    return L.func.vmap(lambda x: x.nonzero())(T(L, A))


@case
def vmap_boolean_mask(L):
    return L.func.vmap(lambda x: x[x > 0])(T(L, A))


# -- randomness ----------------------------------------------------------------------------------
def _same(out):
    return bool((out == out[:1]).all())


def _distinct(out):
    return len(set(out.flatten().tolist()))


@case
def randomness_same_and_different(L):
    ones = L.ones(5, 30, dtype=L.float64)
    dropped = L.func.vmap(lambda x: L.nn.functional.dropout(x, 0.5), randomness="same")(ones)
    module = L.func.vmap(L.nn.Dropout(0.5), randomness="same")(ones)
    drawn = L.func.vmap(lambda x: x + L.rand(3, dtype=L.float64), randomness="different")(L.zeros(5, 3))
    chunked = L.func.vmap(lambda x: x + L.rand(()), randomness="different", chunk_size=2)(L.zeros(5))
    chunked_same = L.func.vmap(lambda x: x + L.rand(()), randomness="same", chunk_size=2)(L.zeros(5))
    return [_same(dropped), bool(((dropped == 0) | (dropped == 2)).all()), _same(module), drawn.shape,
            _distinct(drawn), _distinct(chunked), _same(chunked_same),
            L.func.vmap(lambda x: L.nn.functional.dropout(x, 0.5, training=False))(T(L, A)),  # no draw
            L.func.vmap(lambda x: L.nn.functional.dropout(x, 0.0))(T(L, A))]


@case
def randomness_of_nested_maps(L):
    def draw(x):
        return x + L.rand(())
    zeros = L.zeros(3, 4)
    inner_same = L.func.vmap(L.func.vmap(draw, randomness="same"), randomness="different")(zeros)
    inner_different = L.func.vmap(L.func.vmap(draw, randomness="different"), randomness="same")(zeros)
    both = L.func.vmap(L.func.vmap(draw, randomness="different"), randomness="different")(zeros)
    return [_same(inner_same.T), _distinct(inner_same[:, 0]), _same(inner_different), _distinct(inner_different[0]),
            _distinct(both)]


@case
def randomness_of_in_place_fills(L):
    zeros = L.zeros(3, 4, dtype=L.float64)
    fills = {"uniform_": lambda x: x.clone().uniform_(), "normal_": lambda x: x.clone().normal_(),
             "exponential_": lambda x: x.clone().exponential_(), "random_": lambda x: x.clone().random_(1000),
             "bernoulli_": lambda x: (x + 1).bernoulli_(0.5)}
    out = []
    for name, fill in fills.items():
        different = L.func.vmap(fill, randomness="different")(zeros)
        same = L.func.vmap(fill, randomness="same")(zeros)
        out += [name, not _same(different) or name == "bernoulli_", _same(same)]
    p = L.full((4, 50), 0.5, dtype=L.float64)
    out.append(not _same(L.func.vmap(L.bernoulli, randomness="different")(p)))
    out.append(L.func.vmap(lambda q: q.bernoulli(), randomness="different")(p).shape)
    return out


@case
def randomness_of_multinomial(L):
    w = T(L, [[1.0, 0, 0, 0, 1], [0, 0, 1, 0, 0], [0, 1, 0, 1, 0]])
    one = L.func.vmap(lambda p: L.multinomial(p, 1), randomness="different")(w)
    both = L.func.vmap(lambda p: p.multinomial(2), randomness="different")(w[[0, 2]]).sort(dim=1).values
    many = L.func.vmap(lambda p: L.multinomial(p, 3, replacement=True), randomness="different")(L.ones(40, 10))
    return [one[1], both, many.shape, len({tuple(r) for r in many.tolist()}) > 30]


@case
def randomness_same_of_a_batch_of_probabilities(L):
    return L.func.vmap(lambda p: L.multinomial(p, 1), randomness="same")(L.ones(3, 4, dtype=L.float64))


@case
def randomness_same_of_a_batch_for_bernoulli(L):
    return L.func.vmap(L.bernoulli, randomness="same")(L.full((4, 5), 0.5, dtype=L.float64))


@case
def randomness_error_mode(L):
    return L.func.vmap(lambda x: x.clone().uniform_())(L.zeros(5, 3))


@case
def randomness_error_mode_for_bernoulli(L):
    return L.func.vmap(L.bernoulli)(L.full((4, 5), 0.5, dtype=L.float64))


@case
def jacfwd_randomness(L):
    j = L.func.jacfwd(lambda x: L.nn.functional.dropout(x, 0.5), randomness="same")(L.ones(6, dtype=L.float64))
    k = L.func.jacfwd(lambda x: x * 2 + 0 * L.rand(4, dtype=L.float64), randomness="different")(T(L, V))
    return [bool(((j == 0) | (j == 2)).all()), k]


# -- grad and grad_and_value ------------------------------------------------------------------------
@case
def grad_argnums(L):
    x, y = T(L, V), T(L, V[::-1].copy())
    return (L.func.grad(sin_times, argnums=(0, 1))(x, y), L.func.grad(sin_times, argnums=-1)(x, y),
            L.func.grad(sin_times, argnums=(1,))(x, y),
            L.func.grad(lambda p: (p["w"] @ p["b"][0]).sum())({"w": T(L, W), "b": [T(L, V[:2].copy())]}),
            L.func.grad(L.func.grad(lambda x: x.sin() * x ** 3))(T(L, 0.7)),
            L.func.grad(lambda x, y: (y ** 2).sum())(x, y),
            L.func.grad(lambda x, scale=1.0: (x * scale).sum())(x, scale=T(L, 3.0)))


@case
def grad_has_aux(L):
    def f(x):
        return (x ** 2).sum(), {"a": [x.sin(), (x.cos(), x.sum())]}

    def g(x, y):
        return (x * y).sum(), (x.exp(), [y.sum()])
    return (L.func.grad(f, has_aux=True)(T(L, V)),
            L.func.grad_and_value(g, argnums=(0, 1), has_aux=True)(T(L, V), T(L, A[0])),
            L.func.grad_and_value(lambda x: (x ** 3).sum())(T(L, V)))


@case
def grad_argnums_repeated(L):
    return L.func.grad(sin_times, argnums=(0, 0))(T(L, V), T(L, V))


@case
def grad_argnums_empty(L):
    return L.func.grad(sin_times, argnums=())(T(L, V), T(L, V))


@case
def grad_argnums_out_of_range(L):
    return L.func.grad(sin_times, argnums=(0, 2))(T(L, V), T(L, V))


@case
def grad_has_aux_without_a_pair(L):
    return L.func.grad(lambda x: ((x ** 2).sum(), x, x), has_aux=True)(T(L, V))


@case
def grad_of_a_one_element_vector(L):
    return L.func.grad(lambda x: x.sum(0, keepdim=True))(T(L, V))


@case
def grad_and_value_has_aux_without_a_pair(L):
    return L.func.grad_and_value(lambda x: (x ** 2).sum(), has_aux=True)(T(L, V))


@case
def grad_in_place_on_a_captured_tensor_under_bn(L):
    net = L.nn.Sequential(L.nn.Linear(4, 3), L.nn.Tanh()).double()
    params = {k: v.detach() for k, v in net.named_parameters()}
    return L.func.grad(lambda p: L.func.functional_call(net, p, (T(L, A),)).sum(), argnums=0)(params)["0.bias"].shape


# -- vjp, jvp, linearize ------------------------------------------------------------------------------
@case
def vjp_keywords(L):
    out, fn = L.func.vjp(lambda x, y: x * y.exp(), T(L, V), T(L, V[::-1].copy()))
    tree, tree_fn = L.func.vjp(lambda x: (x.sin(), {"c": x.cos().sum()}), T(L, V))
    aux_out, aux_fn, aux = L.func.vjp(lambda x: (x.sin(), {"a": (x.sum(), [x * 2])}), T(L, V), has_aux=True)
    _, pytree_fn = L.func.vjp(lambda p: p["a"] * p["b"], {"a": T(L, V), "b": T(L, A[1])})
    cotangent = (T(L, V), {"c": T(L, 1.5)})
    return (out, fn(T(L, V)), fn(T(L, 2 * V)), fn(T(L, V)),  # the vjp_fn called again
            tree, tree_fn(cotangent), tree_fn(cotangent), aux_out, aux_fn(T(L, V)), aux, pytree_fn(T(L, V)),
            L.func.vmap(L.func.vjp(lambda x: x.sin() * 2, T(L, V))[1])(L.eye(4, dtype=L.float64)))


@case
def vjp_of_vjp(L):
    def g(x):
        return L.func.vjp(lambda y: y ** 3, x)[1](x)[0]
    return L.func.vjp(g, T(L, V))[1](T(L, V))


@case
def vjp_has_aux_without_a_pair(L):
    return L.func.vjp(lambda x: x * 2, T(L, V), has_aux=True)


@case
def vjp_of_an_integer_output(L):
    return L.func.vjp(lambda x: x.argmax(), T(L, V))


@case
def vjp_cotangent_of_another_structure(L):
    return L.func.vjp(lambda x: (x.sin(), x.cos()), T(L, V))[1](T(L, V))


@case
def jvp_keywords(L):
    x, one = T(L, V), L.ones(4, dtype=L.float64)
    return (L.func.jvp(lambda x, y: (x * y, {"a": [x.sum()]}), (x, x), (x, one), has_aux=True),
            L.func.jvp(lambda x: (x.sin(), x.cos()), (x,), (x,)),
            L.func.jvp(lambda d: d["a"] * d["b"], ({"a": x, "b": x},), ({"a": x, "b": one},)),
            L.func.jvp(L.func.grad(lambda x: (x.sin() * x).sum()), (x,), (x,)),
            L.func.vmap(lambda t: L.func.jvp(lambda x: x.sin(), (T(L, V),), (t,))[1])(L.eye(4, dtype=L.float64)))


@case
def jvp_has_aux_without_a_pair(L):
    return L.func.jvp(lambda x: x.sin(), (T(L, V),), (T(L, V),), has_aux=True)


@case
def jvp_tangent_of_another_dtype(L):
    return L.func.jvp(lambda x: x.sin(), (T(L, V),), (L.ones(4, dtype=L.float32),))


@case
def linearize_keywords(L):
    out, fn = L.func.linearize(lambda x, y: x.sin() * y, T(L, V), T(L, A[0]))
    tree, tree_fn = L.func.linearize(lambda x: (x.sin(), {"a": x.exp()}), T(L, V))
    return (out, fn(T(L, V), T(L, V)), fn(L.ones(4, dtype=L.float64), L.zeros(4, dtype=L.float64)), tree,
            tree_fn(T(L, V)), L.func.vmap(tree_fn)(L.eye(4, dtype=L.float64)))


@case
def linearize_tangents_of_another_number(L):
    return L.func.linearize(lambda x, y: x.sin() * y, T(L, V), T(L, V))[1](T(L, V))


@case
def linearize_tangent_of_another_shape(L):
    return L.func.linearize(lambda x: x.sin(), T(L, V))[1](L.ones(3, dtype=L.float64))


# -- jacrev, jacfwd, hessian ------------------------------------------------------------------------
@case
def jacobians(L):
    x, y = T(L, V), T(L, A[2])
    with_aux = (lambda x: (x.sin(), {"a": x.sum()}))
    tree_out = (lambda x: {"a": x.sin(), "b": (x.sum(), x[:2])})
    tree_in = (lambda d: d["a"] * d["b"].sum())
    d = {"a": x, "b": T(L, A)}
    return (L.func.jacrev(outer_sin, argnums=(0, 1))(x, y), L.func.jacfwd(outer_sin, argnums=(0, 1))(x, y),
            L.func.jacrev(with_aux, has_aux=True)(x), L.func.jacfwd(with_aux, has_aux=True)(x),
            L.func.jacrev(lambda x: x.sin() @ T(L, W), chunk_size=1)(T(L, A)),
            L.func.jacrev(lambda x: x.sin() @ T(L, W), chunk_size=2, argnums=0)(T(L, A)),
            L.func.jacrev(tree_out)(x), L.func.jacfwd(tree_out)(x),
            L.func.jacrev(tree_in)(d), L.func.jacfwd(tree_in)(d),
            L.func.jacrev(lambda x: (x ** 2).sum())(x), L.func.jacrev(lambda s: s * x)(T(L, 2.0)),
            L.func.jacfwd(L.func.jacrev(lambda x: (x.sin() * x).sum()))(x))


@case
def hessians(L):
    x, y = T(L, V), T(L, A[0])
    return (L.func.hessian(lambda x, y: (x.sin() * y.exp()).sum(), argnums=(0, 1))(x, y),
            L.func.hessian(lambda x, y: (x.sin() * y.exp() ** 2).sum(), argnums=1)(x, y),
            L.func.hessian(lambda x: x.sin() * x)(x), L.func.hessian(lambda x: (x.sin() ** 2).sum())(T(L, A[:2, :2])))


@case
def jacrev_of_an_integer_output(L):
    return L.func.jacrev(lambda x: x.argmax())(T(L, V))


@case
def jacrev_has_aux_without_a_pair(L):
    return L.func.jacrev(lambda x: x.sin(), has_aux=True)(T(L, V))


@case
def jacfwd_argnums_out_of_range(L):
    return L.func.jacfwd(lambda x: x.sin(), argnums=1)(T(L, V))


@case
def hessian_argnums_out_of_range(L):
    return L.func.hessian(lambda x: x.sin().sum(), argnums=1)(T(L, V))


@case
def hessian_of_an_integer_tensor(L):
    return L.func.hessian(lambda x: x.sin().sum())(L.tensor([1, 2]))


@case
def jacrev_draws_in_error_mode(L):
    return L.func.jacrev(lambda x: x + L.rand(4, dtype=L.float64))(T(L, V))


# -- functional_call, stack_module_state, batch norms ------------------------------------------------
def _network(L):
    """A small network with a batch norm, with the weights of one PyTorch draw in both libraries."""
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Tanh(),
                                 torch.nn.Linear(3, 2)).double()
    if L is torch:
        return theirs
    ours = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.BatchNorm1d(3), cr.nn.Tanh(), cr.nn.Linear(3, 2)).double()
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours


@case
def functional_call_keywords(L):
    net = _network(L)
    params = {k: v.detach() * 1.5 for k, v in net.named_parameters()}
    buffers = {k: v.detach().clone() for k, v in net.named_buffers()}
    out = L.func.functional_call(net, (params, buffers), (T(L, A),))  # training: the given buffers are updated

    class Scaled(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = L.nn.Linear(4, 2).double()

        def forward(self, x, *, scale=1.0):
            return self.lin(x) * scale

    weights = {"lin.weight": T(L, W.T), "lin.bias": T(L, V[:2])}
    lin = L.nn.Linear(4, 2).double()
    return (out, buffers, dict(net.named_buffers()),  # the module's own buffers as they were
            L.func.functional_call(Scaled(), weights, (T(L, A),), {"scale": 3.0}),
            L.func.functional_call(lin, [{"weight": T(L, W.T)}, {"bias": T(L, V[:2])}], T(L, A)),  # args not a tuple
            L.func.grad(lambda p: L.func.functional_call(net.eval(), p, (T(L, A),)).pow(2).sum())(params))


@case
def functional_call_restores_the_module_after_an_error(L):
    lin = L.nn.Linear(4, 2).double()
    weight = lin.weight
    try:
        L.func.functional_call(lin, {"weight": T(L, W.T)}, (T(L, A[:, :3]),))
    except RuntimeError:
        pass
    return [lin.weight is weight, dict(lin.named_parameters())["weight"] is weight]


@case
def functional_call_strict_with_an_unexpected_key(L):
    lin = L.nn.Linear(4, 2).double()
    return L.func.functional_call(lin, {"weight": T(L, W.T), "bias": T(L, V[:2]), "extra": T(L, V)}, (T(L, A),),
                                  strict=True)


@case
def ensemble_of_models(L):
    torch.manual_seed(1)
    theirs = [torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2)).double()
              for _ in range(3)]
    models = theirs
    if L is cr:
        models = [cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.ReLU(), cr.nn.Linear(3, 2)).double() for _ in range(3)]
        for ours, their in zip(models, theirs, strict=True):
            ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in their.state_dict().items()})
    params, buffers = L.func.stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def fmodel(p, b, x):
        return L.func.functional_call(base, (p, b), (x,))

    same_batch = L.func.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, T(L, A))
    own_batches = L.func.vmap(fmodel)(params, buffers, T(L, np.stack([A, B, 2 * A])))
    same_batch.pow(2).sum().backward()  # the stacked parameters are leaves that train the ensemble
    return (same_batch, own_batches, [(v.is_leaf, v.requires_grad) for v in params.values()],
            [v.grad for v in params.values()], list(params), buffers)


@case
def stack_module_state_of_frozen_parameters(L):
    models = [L.nn.Linear(2, 2) for _ in range(2)]
    for m in models:
        m.weight.requires_grad_(False)
    params, _ = L.func.stack_module_state(models)
    return [params["weight"].requires_grad, params["bias"].requires_grad, params["weight"].shape]


@case
def stack_module_state_of_different_shapes(L):
    return L.func.stack_module_state([L.nn.Linear(2, 2), L.nn.Linear(2, 3)])


@case
def stack_module_state_of_no_models(L):
    return L.func.stack_module_state([])


@case
def vmap_of_a_network_after_replace_all_batch_norm_modules_(L):
    net = _network(L)
    L.func.replace_all_batch_norm_modules_(net)
    return L.func.vmap(net)(T(L, np.stack([A, B])))


# -- functionalize, debug_unwrap -------------------------------------------------------------------
@case
def functionalize(L):
    def mutating(x):
        y = x.clone()
        y.add_(1)
        y.mul_(x)
        return y

    def viewing(x):
        y = x.clone()
        y.view(-1).add_(1)
        return y
    return (L.func.functionalize(mutating)(T(L, V)), L.func.grad(lambda x: L.func.functionalize(mutating)(x).sum())(
        T(L, V)), L.func.functionalize(viewing, remove="mutations_and_views")(T(L, A)),
        L.func.vmap(L.func.functionalize(mutating))(T(L, A)))


@case
def functionalize_remove_unknown(L):
    return L.func.functionalize(lambda x: x, remove="views")(T(L, A))


@case
def debug_unwrap(L):
    seen = []

    def f(x):
        seen.append(tuple(L.func.debug_unwrap(x).shape))
        seen.append(tuple(L.func.debug_unwrap(x, recurse=False).shape))
        return x

    L.func.vmap(L.func.vmap(f))(T(L, np.stack([A, B])))
    unwrapped = []
    L.func.grad(lambda x: unwrapped.append(L.func.debug_unwrap(x).detach()) or (x ** 2).sum())(T(L, V))
    return seen, unwrapped, L.func.debug_unwrap(T(L, V))


@pytest.mark.parametrize("name", list(CASES))
def test_program_as_torch_func(name):
    assert_runs_as_torch(CASES[name], torch, cr, same_dtypes=False)


# -- differences kept on purpose: (what torch does, what chainrule does, why) -------------------------
def _grad_of_a_count(L):
    return L.func.grad(lambda x: (x > 0).sum())(T(L, V))


def _aux_of_numbers_and_none(L):
    return L.func.grad(lambda x: ((x ** 2).sum(), {"n": 3, "none": None}), has_aux=True)(T(L, V))[1]


def _primals_in_a_list(L):
    return L.func.jvp(lambda x: x.sin(), [T(L, V)], [T(L, V)])[1]


def _vjp_of_a_python_number(L):
    return L.func.vjp(lambda x: x * 2, 3.0)[1](T(L, 1.0))[0]


def _batch_norm_training_under_grad(L):
    net = _network(L)
    params = {k: v.detach() for k, v in net.named_parameters()}
    buffers = {k: v.detach().clone() for k, v in net.named_buffers()}
    L.func.grad(lambda p: L.func.functional_call(net, (p, buffers), (T(L, A),)).sum())(params)
    return buffers["1.running_mean"]


KEPT = {
    # a count, an argmax or a comparison has no derivative: chainrule says so (DESIGN: never silent zeros)
    "grad of an integer output": (_grad_of_a_count, lambda r: np.array_equal(r, np.zeros(4)), TypeError),
    # aux is handed back as it is (numbers, None), as JAX's has_aux does; torch refuses non-Tensors
    "aux of numbers and None": (_aux_of_numbers_and_none, None, lambda r: r == {"n": 3, "none": None}),
    # a list is read as the tuple it stands for (torch insists on a tuple)
    "jvp primals in a list": (_primals_in_a_list, None, lambda r: np.allclose(r, np.cos(V) * V)),
    # Python numbers are differentiated, as by cr.grad (chainrule's functional API takes them)
    "vjp of a Python number": (_vjp_of_a_python_number, None, lambda r: float(r) == 2.0),
    # a training batch norm inside grad updates the running statistics it was given with plain
    # values (torch refuses the in-place update of a Tensor captured from outside the transform)
    "batch norm training under grad": (_batch_norm_training_under_grad, None,
                                       lambda r: np.allclose(r, 0.1 * (A @ _network(torch)[0].weight.detach().numpy().T
                                                                       + _network(torch)[0].bias.detach().numpy()
                                                                       ).mean(0))),
}


@pytest.mark.parametrize("name", list(KEPT))
def test_difference_kept_on_purpose(name):
    program, torch_gives, ours = KEPT[name]
    if torch_gives is None:  # refused there
        with pytest.raises((RuntimeError, ValueError)):
            program(torch)
    else:
        assert torch_gives(program(torch).numpy())
    if isinstance(ours, type):
        with pytest.raises(ours):
            program(cr)
    else:
        assert ours(program(cr))
