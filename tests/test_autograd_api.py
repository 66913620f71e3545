"""autograd's public API, name by name: each program is written against autograd's API
(``ag`` is the package, ``mod(ag, "misc.optimizers")`` a submodule) and runs once with
``autograd`` and once with ``chainrule``; the results must agree to 1e-10. Each program
is also checked against a closed form or finite differences where autograd is absent.
"""

import importlib
from collections import OrderedDict

import numpy as onp
import pytest

import chainrule

autograd = pytest.importorskip("autograd")


def mod(ag, name: str):
    return importlib.import_module(f"{ag.__name__}.{name}")


def assert_same(a, c, path="result", atol=1e-12):
    """Same structure (containers, dicts with their keys in the same order), same numbers
    to 1e-10 (and ``atol``)."""
    if isinstance(a, dict):
        assert type(c) is type(a) and list(a) == list(c), f"{path}: {a!r} vs {c!r}"
        for k in a:
            assert_same(a[k], c[k], f"{path}[{k!r}]", atol)
    elif isinstance(a, list | tuple):
        assert isinstance(c, list | tuple) and len(a) == len(c), f"{path}: {a!r} vs {c!r}"
        for i, (x, y) in enumerate(zip(a, c, strict=True)):
            assert_same(x, y, f"{path}[{i}]", atol)
    elif isinstance(a, str | bool | type(None)):
        assert a == c, f"{path}: {a!r} vs {c!r}"
    else:
        a_arr, c_arr = onp.asarray(a), onp.asarray(c)
        assert a_arr.shape == c_arr.shape, f"{path}: shape {a_arr.shape} vs {c_arr.shape}"
        assert onp.allclose(a_arr, c_arr, rtol=1e-10, atol=atol), f"{path}: {a_arr} vs {c_arr}"


X = onp.array([0.3, -0.5, 1.2])
Y = onp.array([[0.4, 1.1], [-0.7, 0.2]])


def f_xy(np):
    return lambda x, y: np.sum(np.sin(x) * y[0, 0] + np.cos(x) * y[1, 1] ** 2)


# -- differential operators -------------------------------------------------------------

def p_grad(ag, np):
    f = f_xy(np)
    return (ag.grad(f)(X, Y), ag.grad(f, 1)(X, Y), ag.grad(f, argnum=1)(X, Y),
            ag.grad(f, (0, 1))(X, Y), ag.grad(lambda x, *a: np.sum(x ** 3))(X, 1, 2))


def p_value_and_grad(ag, np):
    f = f_xy(np)
    return ag.value_and_grad(f)(X, Y), ag.value_and_grad(f, argnum=1)(X, Y)


def p_elementwise_grad(ag, np):
    return (ag.elementwise_grad(np.tanh)(X),
            ag.elementwise_grad(lambda p, t: (t / p) ** 1.5, argnum=0)(2.0, onp.array([1.0, 2.0, 3.0])))


def p_jacobian(ag, np):
    return (ag.jacobian(lambda x: np.outer(x, np.sin(x)))(X),
            ag.jacobian(lambda x, w: np.dot(w, x), argnum=1)(X, onp.ones((2, 3))))


def p_hessian(ag, np):
    return ag.hessian(lambda x: np.sum(np.sin(x) * x ** 2))(X), ag.hessian(f_xy(np), argnum=0)(X, Y)


def p_make_vjp(ag, np):
    vjp, out = ag.make_vjp(lambda x: np.sin(x) * 2)(X)
    vjp1, out1 = ag.make_vjp(f_xy(np), argnum=1)(X, Y)
    return vjp(onp.array([1.0, 2.0, 3.0])), out, vjp1(1.0), out1


def p_make_jvp(ag, np):
    return ag.make_jvp(lambda x: np.sin(x) * 2)(X)(onp.ones(3)), ag.make_jvp(f_xy(np), 1)(X, Y)(onp.ones((2, 2)))


def p_holomorphic_grad(ag, np):
    return ag.holomorphic_grad(lambda z: np.sin(z) * z ** 2)(1.0 + 0.5j)


def p_grad_and_aux(ag, np):
    return ag.grad_and_aux(lambda x: (np.sum(x ** 2), np.sin(x)))(X)


def p_deriv(ag, np):
    return ag.deriv(np.tanh)(X), ag.deriv(lambda a, b: a * np.exp(b), 1)(2.0, 0.5)


def p_hessian_tensor_product(ag, np):
    f = lambda x: np.sum(np.sin(x) * x ** 2)  # noqa: E731
    return ag.hessian_tensor_product(f)(X, onp.array([1.0, 0.0, 2.0])), ag.hessian_vector_product(f)(X, onp.ones(3))


def p_make_hvp(ag, np):
    hvp, g = ag.make_hvp(lambda x: np.sum(np.sin(x) * x ** 2))(X)
    return hvp(onp.array([1.0, 0.0, 2.0])), g


def p_make_ggnvp(ag, np):
    ggnvp = ag.make_ggnvp(lambda w: np.tanh(np.dot(Y, w)))(onp.array([0.2, -0.3]))
    return ggnvp(onp.array([1.0, 2.0]))


def p_tensor_jacobian_product(ag, np):
    f = lambda x: np.outer(x, np.sin(x))  # noqa: E731
    return (ag.tensor_jacobian_product(f)(X, onp.ones((3, 3))),
            ag.tensor_jacobian_product(f)(X, onp.array([1.0, 2.0, 3.0])),
            ag.vector_jacobian_product(np.sin)(X, onp.array([1.0, 2.0, 3.0])))


def p_checkpoint(ag, np):
    body = ag.checkpoint(lambda x: np.sin(np.cos(x)) * x)
    return ag.grad(lambda x: np.sum(body(body(x))))(X)


def p_grad_named(ag, np):
    return ag.grad_named(f_xy(np), "y")(X, Y)


def p_make_jvp_reversemode(ag, np):
    return mod(ag, "differential_operators").make_jvp_reversemode(lambda x: np.sin(x) * x)(X)(onp.ones(3))


# -- builtins, extend, tracer -----------------------------------------------------------

def p_builtins(ag, np):
    b = mod(ag, "builtins")

    def f(x):
        kinds = (b.isinstance(x, onp.ndarray), b.type(x) is onp.ndarray, ag.isinstance(x, onp.ndarray))
        pair = b.tuple((x, 2 * x))
        items = b.list([pair[0], pair[1] ** 2])
        d = b.dict(a=items[0], b=items[1])
        return np.sum(d["a"] * d["b"]) * all(kinds)

    return ag.grad(f)(X), b.isinstance(X, b.SequenceBox), b.isinstance({}, b.DictBox)


def p_extend(ag, np):
    e = mod(ag, "extend")

    @e.primitive
    def mul(x, y):
        return x * y

    e.defvjp(mul, lambda ans, x, y: lambda g: g * y, lambda ans, x, y: lambda g: g * x)
    e.defjvp(mul, lambda g, ans, x, y: g * y, lambda g, ans, x, y: x * g)

    @e.primitive
    def scale(x, a):
        return a * x

    e.defvjp_argnum(scale, lambda argnum, ans, args, kwargs: (
        (lambda g: g * args[1]) if argnum == 0 else (lambda g: np.sum(g * args[0]))))
    e.defjvp_argnum(scale, lambda argnum, g, ans, args, kwargs: g * args[1] if argnum == 0 else g * args[0])

    @e.primitive
    def double(x):
        return 2 * x

    e.defvjp(double, lambda ans, x: lambda g: 2 * g)
    e.def_linear(double)
    shape_of = e.notrace_primitive(onp.shape)

    def f(x, a):
        return np.sum(mul(double(x), scale(x, a)) * len(shape_of(x)))

    return (ag.grad(f, (0, 1))(X, 1.5), ag.make_jvp(f, 0)(X, 1.5)(onp.ones(3)),
            ag.make_jvp(f, 1)(X, 1.5)(2.0), e.vspace(X).size, e.vspace((X, 1.0)).zeros())


def p_extend_same(ag, np):
    e = mod(ag, "extend")

    @e.primitive
    def triple(x):
        return 3 * x

    e.defjvp(triple, "same")
    e.defvjp(triple, lambda ans, x: lambda g: 3 * g)
    return ag.make_jvp(triple)(X)(onp.ones(3)), ag.grad(lambda x: np.sum(triple(x) ** 2))(X)


def p_register_notrace(ag, np):
    e = mod(ag, "extend")

    @e.primitive
    def snap(x):
        return onp.round(x)

    e.defvjp(snap, lambda ans, x: lambda g: g * 100.0)  # would be wrong if used
    e.register_notrace(e.VJPNode, snap)
    return ag.grad(lambda x: np.sum(snap(x) * x))(X)


def p_vspace(ag, np):
    e = mod(ag, "extend")
    vs, cs = e.vspace(onp.zeros((2, 3))), e.vspace(onp.zeros(2, dtype=complex))
    return (vs.size, vs.ones(), list(vs.standard_basis())[4], cs.size, cs.iscomplex, cs.ones(),
            list(cs.standard_basis())[1], vs.inner_prod(onp.ones((2, 3)), onp.full((2, 3), 2.0)),
            cs.inner_prod(onp.array([1j, 2]), onp.array([1j, 1])), cs.covector(onp.array([1j, 2])),
            e.vspace({"a": 1.0, "b": [onp.ones(2)]}).ones(), e.vspace(X) == e.vspace(onp.ones(3)))


def print_trace_lines(ag, np):
    # autograd's examples/print_trace.py, its printout collected instead of printed
    from itertools import count

    t = mod(ag, "tracer")
    lines = []

    class PrintNode(t.Node):
        def __init__(self, value, fun, args, kwargs, parent_argnums, parents):
            self.varname_generator = parents[0].varname_generator
            self.varname = next(self.varname_generator)
            args_or_vars = list(args)
            for argnum, parent in zip(parent_argnums, parents, strict=True):
                args_or_vars[argnum] = parent.varname
            lines.append((self.varname, fun.__name__, [str(a) for a in args_or_vars], float(value)))

        def initialize_root(self, x):
            self.varname_generator = (f"x{i}" for i in count())
            self.varname = next(self.varname_generator)
            lines.append((self.varname, None, [], float(x)))

    def print_trace(f, x):
        start_node = PrintNode.new_root(x)
        t.trace(start_node, f, x)

    def avg(x, y):
        return (x + y) / 2

    def fun(x):
        y = np.sin(x + x)
        return avg(y, y)

    print_trace(fun, 1.23)
    print_trace(ag.grad(fun), 1.0)
    return lines


def p_print_trace(ag, np):
    lines = print_trace_lines(ag, np)
    # autograd adds cotangents with a primitive that also takes their VSpace; chainrule adds them
    return [(name, [a for a in args if "VSpace" not in a], value) for name, _, args, value in lines]


def p_tracer_helpers(ag, np):
    t = mod(ag, "tracer")
    seen = []

    def f(x):
        seen.append((t.isbox(x), float(onp.sum(t.getval(x))), isinstance(x, t.Box)))
        return np.sum(x ** 2)

    return ag.grad(f)(X), seen, t.isbox(X)


# -- misc, test_util, wrap_util, numpy internals -------------------------------------------

def p_flatten(ag, np):
    fl = mod(ag, "misc.flatten")
    value = {"w": [onp.ones((2, 2)), (1.5, onp.arange(3.0))], "b": onp.array([7.0])}
    flat, unflatten = fl.flatten(value)
    f, unflatten2, x0 = fl.flatten_func(lambda d, k: {"y": d["w"][0] * k}, value)
    return flat, unflatten(flat * 2), f(x0, 3.0), unflatten2(x0), ag.misc.flatten(value)[0]


def optimizer_problem(np):
    target = {"a": onp.array([1.0, -2.0]), "b": (0.5, onp.array([[3.0]]))}

    def loss(p):
        return (np.sum((p["a"] - target["a"]) ** 2) + (p["b"][0] - target["b"][0]) ** 2
                + np.sum((p["b"][1] - target["b"][1]) ** 2))

    x0 = {"a": onp.zeros(2), "b": (0.0, onp.zeros((1, 1)))}
    return loss, x0


@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adam"])
def test_optimizers_agree_with_autograd(name):
    def run(ag, np):
        loss, x0 = optimizer_problem(np)
        g = ag.grad(loss)
        seen = []
        opt = getattr(mod(ag, "misc.optimizers"), name)
        x = opt(lambda p, i: g(p), x0, callback=lambda p, i, gr: seen.append((i, loss(p), gr)),
                num_iters=30, step_size=0.05)
        return x, seen

    results = [run(autograd, mod(autograd, "numpy")), run(chainrule, chainrule.numpy)]
    assert_same(*results)
    x, seen = results[1]
    assert [i for i, *_ in seen] == list(range(30)) and seen[-1][1] < seen[0][1]


def p_fixed_point(ag, np):
    fp = mod(ag, "misc.fixed_points")

    def newton_sqrt(a):
        return fp.fixed_point(lambda a: lambda x: 0.5 * (x + a / x), a, 1.0, lambda x, y: abs(x - y), 1e-12)

    return newton_sqrt(2.0), ag.grad(newton_sqrt)(2.0), ag.grad(lambda a: newton_sqrt(a) ** 3)(3.0)


def p_const_graph(ag, np):
    tr = mod(ag, "misc.tracers")
    f = tr.const_graph(lambda x, y: np.sin(x) * y + np.exp(x))
    return f(X, 2.0), f(X + 1, 3.0), f(X * 2, 0.5)


def p_full_graph(ag, np):
    tr = mod(ag, "misc.tracers")
    node = tr.full_graph(lambda x: np.sin(x) * 2.0 + x, 0.7)
    return node.value


def p_check_grads(ag, np):
    tu = mod(ag, "test_util")
    e = mod(ag, "extend")
    tu.check_grads(lambda x, y: np.sum(np.tanh(x) * y ** 2), modes=["fwd", "rev"], order=2)(X, 1.3)
    tu.check_grads(lambda x, y: np.sum(np.tanh(x) * y ** 2), argnum=1, order=1)(X, 1.3)
    tu.check_vjp(np.sin, X)
    tu.check_jvp(np.sin, X)
    tu.check_equivalent(X, X.copy())

    bad = e.primitive(lambda x: x ** 2)
    e.defvjp(bad, lambda ans, x: lambda g: g * x)  # half the derivative
    e.defjvp(bad, lambda g, ans, x: g * x)
    caught = []
    for modes in (["rev"], ["fwd"]):
        try:
            tu.check_grads(bad, modes=modes, order=1)(X)
        except AssertionError:
            caught.append(modes[0])
    return caught, tu.scalar_close(1.0, 1.0 + 1e-9), tu.scalar_close(1.0, 1.1)


def p_unary_to_nary(ag, np):
    w = mod(ag, "wrap_util")

    @w.unary_to_nary
    def second_deriv(fun, x):
        return ag.deriv(ag.deriv(fun))(x)

    return second_deriv(lambda a, b: a * b ** 3, 1)(2.0, 1.5), second_deriv.__name__


def p_unbroadcast_f(ag, np):
    vjps = mod(ag, "numpy.numpy_vjps")
    boxes = mod(ag, "numpy.numpy_boxes")
    e = mod(ag, "extend")

    @e.primitive
    def add_row(a, b):
        return a + b

    e.defvjp(add_row, lambda ans, a, b: vjps.unbroadcast_f(a, lambda g: g),
             lambda ans, a, b: vjps.unbroadcast_f(b, lambda g: g))
    seen = []
    g = ag.grad(lambda a, b: seen.append(isinstance(b, boxes.ArrayBox)) or np.sum(add_row(a, b) ** 2), (0, 1))
    return g(onp.ones((3, 2)), onp.array([0.5, -1.0])), seen


class MarkedArray(onp.ndarray):
    """An ndarray subclass, as PennyLane's ``tensor``, registered with autograd's boxes."""


def p_registered_ndarray_subclass(ag, np):
    """ArrayBox.register(T) and ArrayVSpace.register(T) for an ndarray subclass T (PennyLane
    registers its tensor type so): ArrayBox had no register in chainrule."""
    mod(ag, "numpy.numpy_boxes").ArrayBox.register(MarkedArray)
    mod(ag, "numpy.numpy_vspaces").ArrayVSpace.register(MarkedArray)
    # scarlet's spelling: the ndarray vspace maker, read from the mappings
    vspace_class = mod(ag, "extend").VSpace
    vspace_class.register(MarkedArray, vspace_maker=vspace_class.mappings[onp.ndarray])
    for number_type in (float, onp.float64, complex):
        mod(ag, "numpy.numpy_boxes").ArrayBox.register(number_type)
    x = onp.array([0.7, -0.3, 1.1]).view(MarkedArray)
    f = lambda x: np.sum(np.sin(x) * x ** 2)  # noqa: E731
    return ag.grad(f)(x), ag.hessian(f)(x), ag.elementwise_grad(np.tanh)(x), mod(ag, "extend").vspace(x).size


def p_numpy_boxes_names(ag, np):
    """autograd's numpy_boxes holds Box, SequenceBox and primitive beside ArrayBox, and
    libraries import them from there (ssm: from autograd.numpy.numpy_boxes import
    ArrayBox, SequenceBox); chainrule's module had ArrayBox alone."""
    nb = mod(ag, "numpy.numpy_boxes")
    from_elsewhere = (mod(ag, "builtins").SequenceBox, mod(ag, "extend").Box, mod(ag, "extend").primitive)
    seen = []

    def f(x, pair):
        seen.append((isinstance(x, (nb.ArrayBox, nb.SequenceBox)), isinstance(x, nb.Box),
                     isinstance(pair, nb.SequenceBox)))
        return np.sum(x * pair[0])

    return ([a is b for a, b in zip((nb.SequenceBox, nb.Box, nb.primitive), from_elsewhere, strict=True)],
            ag.grad(f)(X, (1.5, 2.0)), seen, nb.primitive(lambda v: v * 2.0)(X))


def p_numpy_wrapper(ag, np):
    """autograd.numpy.numpy_wrapper: NumPy's names and wrap_namespace, which copies of
    autograd's own modules use to make primitives of scipy.linalg; chainrule had no such
    module (ModuleNotFoundError under the import hook)."""
    import scipy.linalg

    npw = mod(ag, "numpy.numpy_wrapper")
    space = {}
    npw.wrap_namespace(scipy.linalg.__dict__, space)
    mod(ag, "extend").defvjp(space["sqrtm"], lambda ans, a, disp=True, blocksize=64: lambda g: space[
        "solve_sylvester"](ans, ans, g))
    a = npw.array([[2.0, 0.3], [0.3, 1.5]])
    f = lambda a: np.sum(space["sqrtm"](a) * npw.array([[1.0, 2.0], [3.0, 4.0]]))  # noqa: E731
    return f(a), ag.grad(f)(a), npw.dot(a, a), space["LinAlgError"] is scipy.linalg.LinAlgError


def test_array_box_register_refuses_other_types():
    from chainrule.numpy.numpy_boxes import ArrayBox

    with pytest.raises(TypeError, match="subclass chainrule.extend.Box"):
        ArrayBox.register(dict)


def p_util(ag, np):
    u = mod(ag, "util")
    return u.subvals((1, 2, 3), [(0, 9)]), u.subval((1, 2), 1, 5), u.func(len)((1, 2))


def p_random_module(ag, np):
    npr = importlib.import_module(f"{ag.__name__}.numpy.random")
    rs = npr.RandomState(0)
    return rs.randn(3), npr.RandomState(1).normal(size=2)


def p_graph_walk(ag, np):
    # a graph recorder in the style of autograd's dot_graph example: walk back from the end
    t = mod(ag, "tracer")

    class GraphNode(t.Node):
        def __init__(self, value, fun, args, kwargs, parent_argnums, parents):
            self.fun_name, self.args = fun.__name__, args
            self.parents, self.isroot = dict(zip(parent_argnums, parents, strict=True)), False

        def initialize_root(self, x):
            self.isroot = True

    def fun(x):
        y = np.sin(x)
        return (y + np.exp(x) - 0.5) * y / np.cosh(x) ** 2

    _, end = t.trace(GraphNode.new_root(1.0), fun, 1.0)
    seen, order, stack = set(), [], [end]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append("input" if node.isroot else (node.fun_name, sorted(node.parents),
                     [str(a) for i, a in enumerate(node.args) if i not in node.parents]))
        stack.extend(node.parents.values() if not node.isroot else ())
    return order


def p_extend_argnums(ag, np):
    e = mod(ag, "extend")

    @e.primitive
    def weighted(x, y, w):
        return w * x * y

    def vjps(argnums, ans, args, kwargs):
        x, y, w = args
        table = {0: lambda g: g * w * y, 1: lambda g: g * w * x, 2: lambda g: np.sum(g * x * y)}
        return lambda g: tuple(table[i](g) for i in argnums)

    def jvps(argnums, gs, ans, args, kwargs):
        x, y, w = args
        table = {0: lambda g: g * w * y, 1: lambda g: g * w * x, 2: lambda g: g * x * y}
        return sum(table[i](g) for i, g in zip(argnums, gs, strict=True))

    e.defvjp_argnums(weighted, vjps)
    e.defjvp_argnums(weighted, jvps)
    f = lambda x, y, w: np.sum(weighted(x, y, w) ** 2)  # noqa: E731
    return (ag.grad(f, (0, 1, 2))(X, X[::-1], 1.5), ag.make_jvp(f, 2)(X, X[::-1], 1.5)(1.0),
            ag.make_jvp(f, 0)(X, X[::-1], 1.5)(onp.ones(3)))


def p_sparse_object(ag, np):
    e = mod(ag, "extend")

    @e.primitive
    def pick(x, i):
        return x[i]

    def scatter(g, i, vs):
        def mut_add(a):
            a[i] += g
            return a

        return e.SparseObject(vs, mut_add)

    e.defvjp(pick, lambda ans, x, i: lambda g: scatter(g, i, e.vspace(x)))
    return ag.grad(lambda x: pick(x, 1) ** 2 + 3 * pick(x, 1) + pick(x, 2))(X)


def p_numpy_vjps_helpers(ag, np):
    v = mod(ag, "numpy.numpy_vjps")
    meta = (mod(ag, "numpy").metadata if ag.__name__ == "autograd" else v.metadata)(onp.zeros((1, 3)))
    g = onp.arange(6.0).reshape(2, 3) + 1j
    return (v.unbroadcast(g, meta), v.unbroadcast_einsum(g, meta, [Ellipsis, 0]),
            v.match_complex(onp.ones(2), onp.array([1 + 2j, 3j])), v.match_complex(onp.ones(2, complex), X),
            v.balanced_eq(onp.array([1.0, 2.0, 3.0]), onp.array([1.0, 2.0, 2.0]), onp.array([1.0, 0.0, 3.0])),
            v.replace_zero(onp.array([0.0, 2.0]), 7.0))


def p_combo_and_quick_check(ag, np):
    import warnings

    tu, u = mod(ag, "test_util"), mod(ag, "util")
    tu.combo_check(lambda x, p: np.sum(np.abs(x) ** p), [0], modes=["rev"], order=1)([X, X + 2], [2.0, 3.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        u.quick_grad_check(lambda x, k: np.sum(np.sin(x) * k), X, extra_args=(2.0,), verbose=False)
    return len(caught) > 0


def p_toposort(ag, np):
    u = mod(ag, "util")

    class N:
        def __init__(self, name, *parents):
            self.name, self.parents = name, list(parents)

    a = N("a")
    b, c = N("b", a), N("c", a)
    d = N("d", b, c, b)
    return [n.name for n in u.toposort(d)]


def p_int_argument(ag, np):
    return ag.elementwise_grad(lambda p, t: (t / p) ** 1.5, 1)(2.0, onp.array([1, 2, 3]))


def p_reduce_list_of_arrays(ag, np):
    def f(x):
        y = np.sin(x)
        return np.mean([x, y]) + np.std([x, y]) + np.var([x, y]) + np.linalg.norm([x, y]) + np.sum([x, y])

    return ag.grad(f)(X)


def p_nondiff_result_as_index(ag, np):
    table = onp.arange(10.0) ** 2

    def f(x):
        i = np.floor(x * 3).astype(int)
        return np.sum(table[i] * x)

    return ag.grad(f)(onp.array([0.5, 1.2, 2.9]))


def p_full_linspace_diagonal(ag, np):
    def f(a):
        return (np.sum(np.full((3,), a)) + np.sum(np.linspace(0.0, a, 5) ** 2)
                + np.sum(np.make_diagonal(a * X, axis1=-1, axis2=-2) ** 2) + np.real_if_close(a + 0j))

    return ag.grad(f)(2.0)


def p_user_vector_space_box(ag, np):
    """A value type of one's own (a weighted sum of bumps, a function in a Hilbert space)
    differentiated through a Box subclass and a VSpace, as autograd's RKHS example does."""
    ext = mod(ag, "extend")

    class Bumps:
        def __init__(self, weights=None):
            self.weights = dict(weights or {})
            self.vs = BumpsVSpace(self)

        @ext.primitive
        def __call__(self, x):
            return sum([w * np.exp(-((x - c) ** 2)) for c, w in self.weights.items()], 0.0)

        def __add__(self, other):
            return self.vs.add(self, other)

        def __mul__(self, a):
            return self.vs.scalar_mul(self, a)

    ext.defvjp(Bumps.__call__, lambda ans, f, x: lambda g: Bumps({x: 1.0}) * g,
               lambda ans, f, x: lambda g: g * sum([-2 * w * (x - c) * np.exp(-((x - c) ** 2))
                                                    for c, w in f.weights.items()], 0.0))

    class BumpsBox(ext.Box, Bumps):
        pass

    BumpsBox.register(Bumps)

    class BumpsVSpace(ext.VSpace):
        def __init__(self, value):
            pass

        def zeros(self):
            return Bumps()

        def _add(self, f, g):
            out = dict(f.weights)
            for c, w in g.weights.items():
                out[c] = out[c] + w if c in out else w
            return Bumps(out)

        def _scalar_mul(self, f, a):
            return Bumps({c: a * w for c, w in f.weights.items()})

    BumpsVSpace.register(Bumps)
    xs, ys = [0.0, 1.0, 2.5], [1.0, 2.0, 0.5]

    def loss(f, scale):
        return sum((f(x) * scale - y) ** 2 for x, y in zip(xs, ys, strict=True))

    f, seen = Bumps(), []
    for _ in range(20):
        gf = ag.grad(lambda f: seen.append(isinstance(f, ext.Box)) or loss(f, 1.0))(f)
        f = f + gf * -0.1
    d_scale = ag.grad(loss, 1)(f, 1.5)
    d_x = ag.grad(lambda x: f(x) * 2.0)(0.7)
    return [float(f(x)) for x in xs], sorted(f.weights.items()), d_scale, d_x, seen[:2]


def p_primitive_as_method(ag, np):
    ext = mod(ag, "extend")

    class Scaled:
        def __init__(self, k):
            self.k = k

        @ext.primitive
        def apply(self, x):
            return self.k * x ** 2

    ext.defvjp(Scaled.apply, None, lambda ans, s, x: lambda g: g * 2 * s.k * x)
    s = Scaled(3.0)
    return s.apply(2.0), ag.grad(lambda x: np.sum(s.apply(x)))(X), ag.grad(Scaled.apply, 1)(s, 0.5)


def p_where_of_python_values(ag, np):
    """autograd's where keeps Python values Python (a list for lists, a number for numbers)."""
    out = [np.where(True, 1, 2), np.where(False, 1, 2.0), np.where([True, False], [1, 2], [3, 4]),
           np.where(onp.array([True, False]), 1.0, 2.0), np.where(True, onp.float32(1.0), 2.0)]
    return [(type(v).__name__, onp.asarray(v).tolist()) for v in out]


def p_integer_type_of_a_tensor(ag, np):
    """np.int64(t) is the integers under t, plain data usable as indices."""
    table = onp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])

    def f(w):
        rows = np.int64(w[:, -1] * 2.2)
        kinds = [rows.dtype == np.int32, np.int32(rows).dtype.name]
        return np.sum(table[rows] * w[:, :1]) + np.sum(np.int8(w) * 0.0), kinds

    w = onp.array([[0.5, 0.2], [1.5, 0.9], [2.0, 0.4]])
    return ag.grad(lambda w: f(w)[0])(w), f(w)[1], onp.arange(4.0).astype(np.int16).dtype.name


def p_dict_gradient_key_order(ag, np):
    """A gradient with respect to a dict has the dict's key order (not sorted), nested too,
    and the function sees the dict it was given: list(d.values()) in its order."""
    d = {"b": onp.array([1.0, 2.0]), "a": 0.5, "c": {"z": 3.0, "y": onp.array([1.0, -2.0])}, 3: 1.5, 1: 2.0}

    def f(d):
        flat = np.concatenate([np.ravel(v) for k, v in d.items() if k != "c"])
        return np.sum(flat * onp.arange(1.0, 6.0)) * d["c"]["z"] + np.sum(np.sin(d["c"]["y"])) * d["a"]

    nested = [{"q": 1.0, "b": (2.0, 3.0)}, (4.0, {"y": 1.0, "x": 2.0})]
    g = ag.grad(lambda n: n[0]["q"] * n[0]["b"][1] + n[1][0] ** 2 * n[1][1]["x"])(nested)
    return f(d), ag.grad(f)(d), g, ag.value_and_grad(f)(d), ag.elementwise_grad(lambda d: d["b"] * d["a"])(d)


def p_flatten_key_order(ag, np):
    """flatten reads dicts in sorted key order; unflatten rebuilds them in their own."""
    flatten = mod(ag, "misc.flatten").flatten
    d = {"b": onp.array([1.0, 2.0]), "a": 0.5, "c": [{"z": 3.0, "y": onp.array([[1.0, -2.0]])}, (4.0,)]}
    v, unflatten = flatten(d)
    return v, unflatten(v * 2), unflatten(v)["c"][0], flatten([])[0]


def test_flatten_gives_back_autograd_dtypes_and_adam_of_float32_agrees():
    """A float32 leaf in a container comes back float32 from unflatten, a bare float32 array
    in the vector's dtype (float64 after an optimizer's first step), as autograd's; adam on a
    bare float32 array gave float32 numbers where autograd's run in float64."""
    def run(ag):
        np = mod(ag, "numpy")
        flatten = mod(ag, "misc.flatten").flatten
        out = []
        for value in [onp.ones(2, onp.float32), [onp.ones(2, onp.float32)], {"a": onp.ones(2, onp.float32)},
                      [onp.ones(2, onp.float32), onp.ones(3)], onp.float32(2.0), 0.5]:
            v, unflatten = flatten(value)
            back = unflatten(v.astype(onp.float64) * 2)
            leaves = back if isinstance(back, list) else list(back.values()) if isinstance(back, dict) else [back]
            out.append([(onp.asarray(leaf).dtype, onp.shape(leaf), onp.asarray(leaf).tolist()) for leaf in leaves])
        x32 = onp.array([0.7, -0.3, 2.0], onp.float32)
        adam = mod(ag, "misc.optimizers").adam
        for x0 in (x32, [x32]):
            loss = ag.grad(lambda p, i: np.sum(np.sin(p if not isinstance(p, list) else p[0]) ** 2))
            r = adam(loss, x0, num_iters=20)
            r = r if not isinstance(r, list) else r[0]
            out.append((r.dtype, r.tolist()))
        return out

    a, c = run(autograd), run(chainrule)
    assert [[leaf[:2] for leaf in v] if isinstance(v, list) else v[0] for v in a] == \
           [[leaf[:2] for leaf in v] if isinstance(v, list) else v[0] for v in c]
    for x, y in zip(a, c, strict=True):
        assert_same([leaf[2] for leaf in x] if isinstance(x, list) else x[1],
                    [leaf[2] for leaf in y] if isinstance(y, list) else y[1])


def test_unflatten_refuses_a_vector_of_another_size():
    from chainrule.misc import flatten

    _, unflatten = flatten([onp.ones(2), 1.0])
    with pytest.raises(ValueError, match="vector of 3 entries"):
        unflatten(onp.ones(4))


PROGRAMS = [v for k, v in sorted(globals().items()) if k.startswith("p_")]
# What the NumPy mirror does not do yet; each xfail names the missing piece.
KNOWN_GAPS: dict = {}
PROGRAM_PARAMS = [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[p])) if p in KNOWN_GAPS else p
    for p in PROGRAMS
]


@pytest.mark.parametrize("program", PROGRAM_PARAMS, ids=lambda p: p.__name__[2:])
def test_autograd_program_agrees(program):
    onp.random.seed(0)
    a = program(autograd, mod(autograd, "numpy"))
    onp.random.seed(0)
    c = program(chainrule, chainrule.numpy)
    assert_same(a, c)


# -- closed forms (what the programs compute is right, not only the same) -------------------

def test_closed_forms():
    cnp = chainrule.numpy
    g, g1, g1k, (ga, gb), _ = p_grad(chainrule, cnp)
    assert onp.allclose(g, onp.cos(X) * Y[0, 0] - onp.sin(X) * Y[1, 1] ** 2)
    assert onp.allclose(g1, [[onp.sin(X).sum(), 0], [0, 2 * Y[1, 1] * onp.cos(X).sum()]])
    assert onp.allclose(g1k, g1) and onp.allclose(ga, g) and onp.allclose(gb, g1)
    assert onp.allclose(p_make_jvp_reversemode(chainrule, cnp), onp.cos(X) * X + onp.sin(X))
    root, d_root, d_cube = p_fixed_point(chainrule, cnp)
    assert onp.isclose(root, onp.sqrt(2)) and onp.isclose(d_root, 0.5 / onp.sqrt(2))
    assert onp.isclose(d_cube, 1.5 * onp.sqrt(3.0))
    tjp_full, tjp_row, vjp = p_tensor_jacobian_product(chainrule, cnp)
    assert onp.allclose(vjp, onp.array([1.0, 2.0, 3.0]) * onp.cos(X))
    caught, *_ = p_check_grads(chainrule, cnp)
    assert caught == ["rev", "fwd"]
    assert onp.allclose(p_register_notrace(chainrule, cnp), onp.round(X))


def test_multigrad_dict():
    # autograd's own multigrad_dict needs the `funcsigs` package, so: a closed form
    def f(x, y=2.0, *rest, **named):
        return x * y + sum(rest) * x + named.get("z", 0.0) * y

    g = chainrule.multigrad_dict(f)(3.0, 4.0, 1.0, 2.0, z=5.0)
    assert isinstance(g, OrderedDict) and list(g) == ["x", "y", "rest", "named"]
    assert g["x"] == 4.0 + 3.0 and g["y"] == 3.0 + 5.0
    assert onp.allclose(g["rest"], [3.0, 3.0]) and onp.isclose(g["named"]["z"], 4.0)
    assert chainrule.multigrad_dict(lambda x, y=2.0: x * y)(3.0) == OrderedDict(x=2.0, y=3.0)


def test_argnum_spellings_agree_and_conflicts_are_refused():
    f = lambda x, y: x * y ** 2  # noqa: E731
    ops = [chainrule.grad, chainrule.value_and_grad, chainrule.elementwise_grad, chainrule.jacobian,
           chainrule.jacrev, chainrule.jacfwd, chainrule.hessian, chainrule.make_vjp, chainrule.make_jvp,
           chainrule.deriv, chainrule.make_hvp]
    for op in ops:
        a = op(f, argnum=1)(2.0, 3.0)
        b = op(f, argnums=1)(2.0, 3.0)
        c = op(f, 1)(2.0, 3.0)
        if callable(a) or (isinstance(a, tuple) and callable(a[0])):
            continue  # make_* return functions: compare what they give below
        assert_same(a, b) and assert_same(a, c)
        with pytest.raises(TypeError, match="disagree"):
            op(f, argnums=(0, 1), argnum=1)
    assert chainrule.make_vjp(f, argnums=1)(2.0, 3.0)[0](1.0) == 12.0
    assert chainrule.make_jvp(f, argnums=1)(2.0, 3.0)(1.0)[1] == 12.0
    assert chainrule.make_hvp(f, argnums=1)(2.0, 3.0)[0](1.0) == 4.0
    assert chainrule.holomorphic_grad(lambda a, z: a * z ** 2, argnums=1)(1.0, 1j) == 2j
    assert chainrule.grad_and_aux(lambda a, x: (a * x, None), argnums=1)(2.0, 3.0)[0] == 2.0


def test_print_trace_example_names():
    """autograd's print_trace example: the same graph, with primitive names that say the
    same operation (autograd's NumPy names and chainrule's differ only in spelling)."""
    a = print_trace_lines(autograd, mod(autograd, "numpy"))
    c = print_trace_lines(chainrule, chainrule.numpy)
    same = {"true_divide": "divide"}
    assert [(n, same.get(f, f)) for n, f, *_ in a] == [(n, same.get(f, f)) for n, f, *_ in c]

