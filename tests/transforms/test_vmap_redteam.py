"""Regressions found by writing JAX- and functorch-style programs around ``cr.vmap``: each
test is the smallest program that disagreed with JAX (x64) or torch.func, checked against
a closed form or the oracle's rule."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.scipy.special as csp_special
from chainrule.core import global_state

XS = np.array([0.3, -0.2, 1.1])


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus_with_tripled_rule():
    """softplus whose custom derivative is 3 sigmoid(x), not sigmoid(x): a rule that differs
    from the body's derivative shows which one a transform used."""

    @cr.custom_jvp
    def f(x):
        return cnp.log1p(cnp.exp(x))

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), 3.0 * t / (1.0 + cnp.exp(-x))

    return f


def _second_derivative_of_square(x):
    """d2/dx2 f(x)^2 = 2 f'(x)^2 + 2 f(x) f''(x) with f' = 3 sigmoid (the rule, at both
    orders, as JAX differentiates it: the rule's primal output f(x) is f again)."""
    s = _sigmoid(x)
    return 2 * (3 * s) ** 2 + 2 * np.log1p(np.exp(x)) * 3 * s * (1 - s)


@pytest.mark.parametrize("nesting", ["grad of grad", "vmap of hessian", "jacrev of grad", "jvp of grad"])
def test_custom_jvp_primal_output_is_differentiated_by_the_rule_under_nested_reverse_mode(nesting):
    # The reverse trace computed the primal output with the body, so an outer derivative of
    # the inner one (which multiplies by f(x)) took softplus' own derivative for f'
    f = _softplus_with_tripled_rule()
    square = lambda x: f(x) ** 2  # noqa: E731
    if nesting == "grad of grad":
        got = np.array([cr.grad(cr.grad(square))(x) for x in XS])
    elif nesting == "vmap of hessian":
        got = cr.vmap(cr.hessian(square))(XS)
    elif nesting == "jacrev of grad":
        got = np.diag(cr.jacrev(cr.grad(lambda x: cnp.sum(square(x))))(XS))
    else:
        got = cr.vmap(lambda x: cr.jvp(cr.grad(square), (x,), (1.0,))[1])(XS)
    np.testing.assert_allclose(got, _second_derivative_of_square(XS), rtol=1e-12)


@pytest.mark.parametrize("size, error", [(2.5, TypeError), ("3", TypeError), (None, ValueError), (-1, ValueError)])
def test_axis_size_that_is_not_a_count_is_refused_with_a_clear_error(size, error):
    # 2.5 was truncated to 2 and -1 reached NumPy's broadcast ("all elements of broadcast
    # shape must be non-negative")
    with pytest.raises(error, match="axis_size"):
        cr.vmap(lambda: cnp.ones(2), axis_size=size)()


def test_axis_size_takes_numpy_integers_and_zero_as_jax_does():
    assert cr.vmap(lambda: cnp.ones(2), axis_size=np.int64(3))().shape == (3, 2)
    assert cr.vmap(lambda: cnp.ones(2), axis_size=0)().shape == (0, 2)
    assert cr.vmap(lambda x: x, axis_size=np.int32(3))(np.ones((3, 2))).shape == (3, 2)


# PyTorch's gathers and scatters with an index that differs between the examples (a label
# per example, a token id per sequence): the index was read as one NumPy array, so vmap
# raised BatchedValueError where torch.func gathers or scatters over the batch
TORCH_INDEXED = {
    "gather": lambda L, t, i, s: L.gather(t, 0, i[:, None].expand(-1, 4)),
    "Tensor.gather": lambda L, t, i, s: t.gather(1, i[:2, None]),
    "index_select": lambda L, t, i, s: t.index_select(0, i),
    "take_along_dim": lambda L, t, i, s: L.take_along_dim(t, i[:, None], 0),
    "index_add": lambda L, t, i, s: t.index_add(0, i, s),
    "index_copy": lambda L, t, i, s: t.index_copy(0, i[:1], s[:1]),
    "index_fill": lambda L, t, i, s: t.index_fill(0, i, 0.5),
    "scatter": lambda L, t, i, s: t.scatter(0, i[:1, None].expand(-1, 4), s),
    "scatter_add": lambda L, t, i, s: t.scatter_add(0, i[:, None].expand(-1, 4), s),
    "scatter_reduce mean": lambda L, t, i, s: t.scatter_reduce(0, i[:, None].expand(-1, 4), s, "mean"),
    "scatter_reduce amax": lambda L, t, i, s: t.scatter_reduce(0, i[:, None].expand(-1, 4), s, "amax",
                                                              include_self=False),
    "index_reduce": lambda L, t, i, s: t.index_reduce(0, i, s, "prod"),
    "index_put": lambda L, t, i, s: t.index_put((i,), s, accumulate=True),
    "grad": lambda L, t, i, s: L.func.grad(lambda t, s: (t.gather(0, i[:, None].expand(-1, 4)) ** 2).sum()
                                           + t.index_add(0, i, s).sin().sum(), argnums=(0, 1))(t, s),
}


@pytest.mark.parametrize("in_dims", [(0, 0, 0), (None, 0, None), (None, 0, 0)])
@pytest.mark.parametrize("name", TORCH_INDEXED)
@pytest.mark.filterwarnings("ignore::UserWarning")  # torch: index_reduce is in beta, no batching rule
def test_torch_gathers_and_scatters_with_a_batched_index_as_torch_func(name, in_dims, one_torch_thread):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    arrays = (rng.normal(size=(2, 6, 4)), np.array([[0, 2, 5], [1, 1, 3]]), rng.normal(size=(2, 3, 4)))
    args = [a if d == 0 else a[0] for a, d in zip(arrays, in_dims, strict=True)]
    results = []
    for L in (torch, cr):
        out = L.vmap(lambda t, i, s, L=L: TORCH_INDEXED[name](L, t, i, s), in_dims=in_dims)(
            *(L.tensor(a) for a in args))
        results.append([o.detach().numpy() for o in (out if isinstance(out, tuple) else (out,))])
    for want, got in zip(*results, strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_torch_gather_checks_every_example_index_against_the_bounds():
    with pytest.raises(RuntimeError, match="index 7 is out of bounds"):
        cr.vmap(lambda t, i: t.gather(0, i), in_dims=(None, 0))(
            cr.tensor(np.ones((6, 4))), cr.tensor(np.array([[[0, 0, 0, 0]], [[7, 0, 0, 0]]])))


SORTING_MISUSES = {
    "sort axis 5": lambda v: cnp.sort(v, axis=5),
    "sort axis -3": lambda v: cnp.sort(v, axis=-3),
    "sort kind": lambda v: cnp.sort(v, kind="bogus"),
    "argsort axis 5": lambda v: cnp.argsort(v, axis=5),
    "partition kth": lambda v: cnp.partition(v, 10),
    "partition kth float": lambda v: cnp.partition(v, 1.5),
    "partition axis": lambda v: cnp.partition(v, 1, axis=3),
    "argpartition kth": lambda v: cnp.argpartition(v, -10),
    "argpartition axis": lambda v: cnp.argpartition(v, 1, axis=3),
    "Tensor.sort dim": lambda v: v.sort(dim=5),
    "Tensor.argsort dim": lambda v: v.argsort(dim=3),
}


@pytest.mark.parametrize("name", sorted(SORTING_MISUSES))
def test_vmap_of_sorting_with_bad_arguments_raises_what_one_example_raises(name):
    """As jax.vmap raises the unbatched function's exception: an axis out of bounds came with
    "(in example 0 of the 3 that vmap maps over)", as if it depended on the values."""
    f = SORTING_MISUSES[name]
    x = np.array([[4.0, 1.0, 3.0, 2.0], [0.5, 2.5, 1.5, 3.5], [9.0, 8.0, 7.0, 6.0]])
    batch, one = (cr.tensor(x), cr.tensor(x[0])) if name.startswith("Tensor") else (x, x[0])
    with pytest.raises(Exception) as plain:
        f(one)
    with pytest.raises(type(plain.value)) as mapped:
        cr.vmap(f)(batch)
    assert str(mapped.value) == str(plain.value)


@pytest.mark.parametrize("fun", [cnp.argsort, lambda v: cnp.argsort(v, axis=0), lambda v: cnp.argpartition(v, 0)])
def test_vmap_of_argsort_of_scalar_examples_is_numpys_one_entry(fun):
    """NumPy takes a 0-d array as one entry along any axis (argsort(3.0) is [0]); vmap over a
    vector raised AxisError instead of stacking those."""
    x = np.array([3.0, -1.0, 2.0])
    np.testing.assert_array_equal(cr.vmap(fun)(x), np.stack([fun(v) for v in x]))
    with pytest.raises(np.exceptions.AxisError, match="axis 1 is out of bounds for array of dimension 1"):
        cr.vmap(lambda v: cnp.argsort(v, axis=1))(x)



# NumPy functions whose arguments are sizes, given a batched one, ran once per example with a
# warning asking for a batching rule (and answered where the sizes agreed); JAX refuses them
BATCHED_SIZES = {
    "zeros": lambda L, n: L.zeros(n), "ones (2, n)": lambda L, n: L.ones((2, n)),
    "arange": lambda L, n: L.arange(n), "arange step": lambda L, n: L.arange(0.0, 3.0, n),
    "eye": lambda L, n: L.eye(n), "eye M": lambda L, n: L.eye(3, M=n), "tri": lambda L, n: L.tri(n),
    "identity": lambda L, n: L.identity(n), "tril_indices": lambda L, n: L.tril_indices(n),
    "hanning": lambda L, n: L.hanning(n), "reshape": lambda L, n: L.reshape(L.ones(4), (n, -1)),
}


@pytest.mark.parametrize("name", sorted(BATCHED_SIZES))
def test_a_batched_size_is_refused_by_name_as_jax_refuses_it(name, monkeypatch):
    jax = pytest.importorskip("jax")
    monkeypatch.setattr(global_state, "_SHOWN_ONCE", set())  # warned once per process: forget it
    f, sizes = BATCHED_SIZES[name], np.array([2, 2, 2])
    with pytest.raises(TypeError):
        jax.vmap(lambda n: f(jax.numpy, n))(sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no loop over the examples
        with pytest.raises(TypeError, match="batched"):
            cr.vmap(lambda n: f(cnp, n))(sizes)


@pytest.mark.parametrize("call", [lambda k: cnp.eye(3, k=k), lambda k: cnp.eye(2, 5, k, dtype=np.int32),
                                  lambda k: cnp.tri(3, 4, k=k), lambda k: cnp.tri(4, None, k, np.float32)])
def test_eye_and_tri_with_a_batched_diagonal_are_one_call(call, monkeypatch):
    """JAX takes a diagonal k that differs between examples; vmap ran once per example."""
    monkeypatch.setattr(global_state, "_SHOWN_ONCE", set())
    k = np.array([0, 1, -2, 5])
    want = np.stack([call(int(d)) for d in k])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for got in (cr.vmap(call)(k), cr.jit(cr.vmap(call))(k), cr.vmap(cr.vmap(call))(np.stack([k, k]))[1]):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
        slopes = cr.vmap(cr.grad(lambda x, d: cnp.sum(cnp.eye(3, k=d) * x ** 2)))(np.arange(4.0), k)
    np.testing.assert_array_equal(slopes, 2 * np.arange(4.0) * [3, 2, 1, 0])  # d/dx of x^2 times the count of ones


@pytest.mark.parametrize("call", [lambda n: csp_special.factorial(n), lambda n: csp_special.factorial(n, exact=True),
                                  lambda n: csp_special.comb(n, 2), lambda n: csp_special.perm(n + 3, 2),
                                  lambda n: csp_special.factorial2(n), lambda n: cnp.packbits(n > 2),
                                  lambda n: cnp.unpackbits(n.astype(np.uint8), axis=-1, count=3)])
def test_scipys_counting_functions_and_packbits_are_one_call(call, monkeypatch):
    """SciPy's factorial, comb, perm (elementwise, though not ufuncs) and NumPy's packbits ran
    once per example with a warning asking for a batching rule."""
    monkeypatch.setattr(global_state, "_SHOWN_ONCE", set())
    n = np.array([[1, 2], [3, 4], [0, 5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = cr.vmap(call)(n)
    want = np.stack([call(v) for v in n])
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


PADS = {
    "a value per example": (lambda L, a, v: L.np.pad(a, 1, constant_values=v[0, 0]), (0, 0)),
    "shared array": (lambda L, a, v: L.np.pad(a, ((1, 0), (0, 2)), constant_values=v[0, 0]), (None, 0)),
    "pairs per axis": (lambda L, a, v: L.np.pad(a, ((2, 1), (0, 1)), constant_values=v), (0, 0)),
    "one pair per example": (lambda L, a, v: L.np.pad(a, 1, constant_values=v[1]), (None, 0)),
    "the same pairs": (lambda L, a, v: L.np.pad(a, 1, constant_values=((1.0, -0.0), (3.0, 4.0))), (0, None)),
}


@pytest.mark.parametrize("name", sorted(PADS))
def test_pad_with_constant_values_that_differ_between_examples_is_one_call(name, monkeypatch):
    """pad's constant_values batched (or given per axis and side) ran once per example."""
    namespaces = pytest.importorskip("jax_namespaces")  # (jax, x64)
    monkeypatch.setattr(global_state, "_SHOWN_ONCE", set())
    pad, in_axes = PADS[name]
    rng = np.random.default_rng(7)
    x, v = rng.normal(size=(3, 2, 4)), rng.normal(size=(3, 2, 2))
    args = [a if ax == 0 else a[0] for a, ax in zip((x, v), in_axes, strict=True)]

    def mapped(L):
        return L.vmap(lambda a, c: pad(L, a, c), in_axes=in_axes)(*args), L.vmap(
            L.grad(lambda a, c: L.np.sum(L.np.sin(pad(L, a, c))), argnums=(0, 1)), in_axes=in_axes)(*args)

    want, slopes = mapped(namespaces.JAX)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, got_slopes = mapped(namespaces.CR)
    np.testing.assert_array_equal(got, want)
    for g, w in zip(got_slopes, slopes, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


# torch.func's per-example losses: class weights that differ between the examples (an ensemble's)
# and batched labels holding ignore_index (padding) raised BatchedValueError (read as one array)
LOSSES = {
    "weight per example": (lambda L, x, y, w: L.cross_entropy(x, y, weight=w), (0, 0, 0)),
    "shared weight, ignored labels": (lambda L, x, y, w: L.cross_entropy(x, y, weight=w), (0, 0, None)),
    "ignored labels": (lambda L, x, y, w: L.cross_entropy(x, y), (0, 0, None)),
    "smoothing and weights": (lambda L, x, y, w: L.cross_entropy(x, y, weight=w, label_smoothing=0.1), (0, 0, 0)),
    "probabilities, weights": (lambda L, x, y, w: L.cross_entropy(x, L.softmax(x * 2, 1), weight=w), (0, 0, 0)),
    "nll sum": (lambda L, x, y, w: L.nll_loss(x, y, weight=w, reduction="sum"), (0, 0, 0)),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_torch_losses_with_batched_weights_and_ignored_labels_as_torch_func(name, one_torch_thread):
    torch = pytest.importorskip("torch")
    loss, in_dims = LOSSES[name]
    rng = np.random.default_rng(3)
    labels = np.array([[0, -100, 3, 4], [-100, -100, -100, -100], [1, 2, 3, 1]])  # example 1: all ignored
    arrays = (rng.normal(size=(3, 4, 5)), labels if "ignored" in name else np.abs(labels) % 5, rng.uniform(size=(3, 5)))
    args = [a if d == 0 else a[0] for a, d in zip(arrays, in_dims, strict=True)]
    results = []
    for lib, F in ((torch, torch.nn.functional), (cr, cr.nn.functional)):
        f = lambda x, y, w, F=F: loss(F, x, y, w)  # noqa: E731
        tensors = [lib.tensor(a) for a in args]
        results.append([np.asarray(r) for r in (lib.vmap(f, in_dims=in_dims)(*tensors),
                                                lib.func.vmap(lib.func.grad(f), in_dims=in_dims)(*tensors))])
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, equal_nan=True)


@pytest.mark.parametrize("pool", ["max_pool1d", "max_pool2d", "max_pool3d", "adaptive_max_pool2d"])
def test_max_pools_return_their_indices_under_vmap_as_torch_func(pool, one_torch_thread):
    """The indices of a batch raised BatchedValueError (read as one NumPy array)."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).normal(size={"max_pool1d": (3, 2, 2, 6), "max_pool3d": (3, 2, 2, 4, 6, 6)}.get(
        pool, (3, 2, 2, 6, 6)))
    results = [lib.vmap(lambda v, F=F: getattr(F, pool)(v, 2, return_indices=True))(lib.tensor(x))
               for lib, F in ((torch, torch.nn.functional), (cr, cr.nn.functional))]
    for got, want in zip(results[1], results[0], strict=True):
        assert np.asarray(got).dtype == want.numpy().dtype
        np.testing.assert_array_equal(np.asarray(got), want.numpy())


@pytest.mark.parametrize("mode, padding_mode", [("bilinear", "zeros"), ("bilinear", "reflection"),
                                               ("nearest", "border")])
@pytest.mark.parametrize("in_dims", [(0, 0), (None, 0), (0, None)])
def test_grid_sample_under_vmap_as_torch_func(mode, padding_mode, in_dims, one_torch_thread):
    """A spatial transformer per example: the sampling points were read as one NumPy array
    (BatchedValueError); values and gradients are now torch.func's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    arrays = (rng.normal(size=(3, 2, 3, 5, 6)), rng.uniform(-1.2, 1.2, size=(3, 2, 4, 4, 2)))
    args = [a if d == 0 else a[0] for a, d in zip(arrays, in_dims, strict=True)]
    results = []
    for lib in (torch, cr):
        def f(x, g, F=lib.nn.functional):
            return F.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=False)

        tensors = [lib.tensor(a) for a in args]
        slopes = lib.func.vmap(lib.func.grad(lambda x, g: (f(x, g) ** 2).sum(), argnums=(0, 1)), in_dims=in_dims)
        results.append([np.asarray(r) for r in (lib.vmap(f, in_dims=in_dims)(*tensors), *slopes(*tensors))])
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("in_dims", [(None, None, 0), (0, None, 0), (None, 0, 0), (0, 0, None)])
def test_linear_with_the_bias_alone_batched_as_torch_func(in_dims, one_torch_thread):
    """Biases of an ensemble over one shared weight: the product, which has no batch axis
    then, was added to the batch of biases as if it had one (a broadcasting ValueError)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    arrays = (rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 2, 5)), rng.normal(size=(3, 2)))
    args = [a if d == 0 else a[0] for a, d in zip(arrays, in_dims, strict=True)]
    results = []
    for lib in (torch, cr):
        def f(x, w, b, F=lib.nn.functional):
            return F.linear(x, w, b)

        tensors = [lib.tensor(a) for a in args]
        slopes = lib.func.vmap(lib.func.grad(lambda *a: (f(*a) ** 2).sum(), argnums=(0, 1, 2)), in_dims=in_dims)
        results.append([np.asarray(r) for r in (lib.vmap(f, in_dims=in_dims)(*tensors), *slopes(*tensors))])
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


# a padding mask per example and each example's own bags of indices were read as one
# NumPy array (BatchedValueError). name: (call of (F, lib, *arrays), arrays, in_dims, gradients of)
PER_EXAMPLE_MASKS_AND_BAGS = {
    "sdpa, bool mask": (lambda F, lib, q, k, m: F.scaled_dot_product_attention(q, k, k, m),
                        ((3, 2, 4, 5), (3, 2, 6, 5), "mask"), (0, 0, 0), (0, 1)),
    "sdpa, the mask alone": (lambda F, lib, q, k, m: F.scaled_dot_product_attention(q, k, k, m),
                             ((3, 2, 4, 5), (3, 2, 6, 5), "mask"), (None, None, 0), (0, 1)),
    "embedding_bag mean, padding_idx": (lambda F, lib, w, i: F.embedding_bag(i, w, mode="mean", padding_idx=1),
                                        ((3, 7, 3), "bags"), (None, 0), (0,)),
    "embedding_bag max": (lambda F, lib, w, i: F.embedding_bag(i, w, mode="max"), ((3, 7, 3), "bags"), (None, 0), (0,)),
    "embedding_bag offsets": (lambda F, lib, w, i: F.embedding_bag(i.reshape(-1), w, lib.tensor([0, 3]), mode="sum"),
                              ((3, 7, 3), "bags"), (0, 0), (0,)),
}


@pytest.mark.parametrize("name", sorted(PER_EXAMPLE_MASKS_AND_BAGS))
def test_masks_and_bags_per_example_as_torch_func(name, one_torch_thread):
    torch = pytest.importorskip("torch")
    call, shapes, in_dims, argnums = PER_EXAMPLE_MASKS_AND_BAGS[name]
    rng = np.random.default_rng(8)
    draws = {"mask": lambda: rng.random((3, 4, 6)) > 0.3, "bags": lambda: rng.integers(0, 7, size=(3, 2, 3))}
    arrays = [draws[s]() if isinstance(s, str) else rng.normal(size=s) for s in shapes]
    args = [a if d == 0 else a[0] for a, d in zip(arrays, in_dims, strict=True)]
    results = []
    for lib in (torch, cr):
        def f(*a, lib=lib):
            return call(lib.nn.functional, lib, *a)

        tensors = [lib.tensor(a) for a in args]
        slopes = lib.func.vmap(lib.func.grad(lambda *a, f=f: (f(*a) ** 2).sum(), argnums=argnums), in_dims=in_dims)
        results.append([np.asarray(r) for r in (lib.vmap(f, in_dims=in_dims)(*tensors), *slopes(*tensors))])
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def test_max_norm_with_indices_per_example_is_refused_by_name():
    """It writes each example's looked-up rows into the one shared weight."""
    w = np.random.default_rng(9).normal(size=(7, 3)) * 3
    idx = np.array([[[0, 1]], [[2, 3]]])
    with pytest.raises(NotImplementedError, match="max_norm=.... with indices batched by vmap"):
        cr.vmap(lambda i: cr.nn.functional.embedding_bag(i, w, max_norm=1.0))(idx)
    with pytest.raises(NotImplementedError, match="max_norm=.... with indices batched by vmap"):
        cr.vmap(lambda i: cr.nn.functional.embedding(i, w, max_norm=1.0))(idx[:, 0])


def _example(a, axis, i):
    """Example ``i`` of ``a`` along ``axis`` as NumPy's indexing gives it: a view, with its strides."""
    return a[(slice(None),) * axis + (i,)]


_LAYOUTS = {"C": np.arange(60.0).reshape(3, 4, 5), "F": np.asfortranarray(np.arange(60.0).reshape(3, 4, 5)),
            "permuted": np.arange(60.0).reshape(4, 5, 3).transpose(2, 0, 1),
            "strided": np.arange(240.0).reshape(6, 4, 10)[::2, :, ::-2]}


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
@pytest.mark.parametrize("order", ["K", "A"])
def test_ravel_and_reshape_in_memory_order_read_each_examples_layout(layout, order):
    """ravel(order='K'/'A') (and reshape(order='A')) under vmap: each example's own layout,
    as NumPy reads the example (they raised BatchedValueError: the layout was read from a
    single plain value). The gradient is the same permutation, backwards."""
    a = _LAYOUTS[layout]
    for axis in range(3):
        for name, f, g in [("id", lambda v: v, lambda v: v), ("T", lambda v: cnp.transpose(v), lambda v: v.T),
                           ("flip", lambda v: v[::-1], lambda v: v[::-1])]:
            want = np.stack([np.ravel(g(_example(a, axis, i)), order=order) for i in range(a.shape[axis])])
            got = cr.vmap(lambda v: cnp.ravel(f(v), order=order), in_axes=axis)(a)  # noqa: B023
            np.testing.assert_array_equal(got, want, err_msg=f"{name} along {axis}")
            want = np.stack([np.reshape(g(_example(a, axis, i)), -1, order="A") for i in range(a.shape[axis])])
            got = cr.vmap(lambda v: cnp.reshape(f(v), (-1,), order="A"), in_axes=axis)(a)  # noqa: B023
            np.testing.assert_array_equal(got, want, err_msg=f"reshape, {name} along {axis}")
            # the values are a's own (distinct): the gradient puts each weight back where it came from
            w = np.random.default_rng(axis).normal(size=want.shape)
            grad = cr.grad(lambda b: cnp.sum(w * cr.vmap(lambda v: cnp.ravel(f(v), order=order), in_axes=axis)(b)))(a)  # noqa: B023
            ravelled = np.stack([np.ravel(g(_example(a, axis, i)), order=order) for i in range(a.shape[axis])])
            where = np.argsort(a, axis=None)[np.searchsorted(np.sort(a, axis=None), ravelled)]
            expected = np.zeros(a.shape)
            np.add.at(expected, np.unravel_index(where, a.shape), w)
            np.testing.assert_array_equal(grad, expected)


@pytest.mark.parametrize("dtype", [bool, np.int64, np.int8, np.float32])
@pytest.mark.parametrize("kwargs", [{}, {"period": 1}, {"period": 4}, {"period": 5}, {"discont": 0.5},
                                    {"period": 6.0, "discont": 4}])
def test_unwrap_of_booleans_and_integers_under_vmap_is_numpys_per_example(dtype, kwargs):
    """Booleans raised NumPy's boolean-subtract TypeError, and integers with an integer
    period came back as floats (NumPy's unwrap keeps them integers)."""
    rng = np.random.default_rng(3)
    p = (rng.random((3, 7)) > 0.5) if dtype is bool else (rng.normal(size=(3, 7)) * 4).astype(dtype)
    want = np.stack([np.unwrap(row, **kwargs) for row in p])
    got = cr.vmap(lambda v: cnp.unwrap(v, **kwargs))(p)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(cr.vmap(lambda v: cnp.unwrap(v, axis=0, **kwargs), in_axes=1, out_axes=1)(p),
                                  np.stack([np.unwrap(p[:, j], axis=0, **kwargs) for j in range(7)], axis=1))
