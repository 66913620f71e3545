"""jax.numpy's keywords that chainrule.numpy's functions take as well as NumPy's
(``sort``/``argsort``'s ``descending=``, ``repeat``'s ``total_repeat_length=``, ``eigh``'s
``symmetrize_input=``, ``convolve``/``correlate``'s ``precision=``...), with JAX as oracle,
plain, under ``grad``, ``vmap`` and ``jit``."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)

X = np.array([[3.0, 1.0, 2.0, 1.0], [0.0, -0.0, 1.0, 0.0], [2.0, 2.0, -1.0, 5.0]])
TIES = np.array([1, 1, 0, 2, 1])


def same(got, want):
    """Equal values, dtypes and signs of zeros."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (got, want)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("axis", [-1, 0, None])
def test_sort_and_argsort_descending_as_jax(axis):
    same(cnp.sort(X, axis=axis, descending=True), jnp.sort(X, axis=axis, descending=True))
    for stable in (True, None):
        want = jnp.argsort(X, axis=axis, descending=True, **({} if stable is None else {"stable": stable}))
        same(cnp.argsort(X, axis=axis, descending=True, stable=stable), want)
    same(cnp.argsort(TIES, descending=True), jnp.argsort(TIES, descending=True))  # [3, 0, 1, 4, 2]
    same(cnp.argsort(TIES, descending=True, stable=False), jnp.argsort(TIES, descending=True, stable=False))
    x = cr.tensor(X)  # on a Tensor too
    same(cnp.sort(x, axis=axis, descending=True).numpy(), jnp.sort(X, axis=axis, descending=True))
    same(cnp.argsort(x, axis=axis, descending=True), jnp.argsort(X, axis=axis, descending=True))


def test_sort_descending_gradient_vmap_jit_as_jax():
    w = np.arange(12.0).reshape(3, 4)
    for axis in (-1, 0, None):
        def loss(lib, axis=axis):
            return lambda x: (lib.sort(x, axis=axis, descending=True).reshape(-1) * w.reshape(-1)).sum()
        np.testing.assert_allclose(cr.grad(loss(cnp))(X), jax.grad(loss(jnp))(X))
    for f in (lambda lib: lambda r: lib.sort(r, descending=True),
              lambda lib: lambda r: lib.argsort(r, descending=True),
              lambda lib: lambda r: lib.argsort(r, axis=None, descending=True)):
        want = np.stack([f(jnp)(row) for row in X])
        same(cr.vmap(f(cnp))(X), want)
        same(cr.jit(cr.vmap(f(cnp)))(X), want)
        same(cr.jit(f(cnp))(X), f(jnp)(X))
    same(cr.jit(lambda x: cnp.sort(x, axis=0, descending=True))(X), jnp.sort(X, axis=0, descending=True))


@pytest.mark.parametrize("repeats, axis, total", [  # cut, padded (after a last count of 0 too)
    (2, None, 4), (np.array([1, 0, 2]), 1, 2), (np.array([1, 2, 0]), 1, 6), (np.array([2, 1]), 0, 4)])
def test_repeat_total_repeat_length_as_jax(repeats, axis, total):
    a = np.arange(6.0).reshape(2, 3) - 2.5
    want = jnp.repeat(a, repeats, axis=axis, total_repeat_length=total)
    same(cnp.repeat(a, repeats, axis=axis, total_repeat_length=total), want)
    same(cr.jit(lambda x: cnp.repeat(x, repeats, axis=axis, total_repeat_length=total))(a), want)
    # d/da of sum(repeat(a)³): 3a² times how often JAX's repeat takes each element
    taken = jnp.repeat(np.arange(6).reshape(2, 3), repeats, axis=axis, total_repeat_length=total)
    times = np.bincount(np.ravel(taken), minlength=6).reshape(2, 3)
    grad = cr.grad(lambda x: cnp.sum(cnp.repeat(x, repeats, axis=axis, total_repeat_length=total) ** 3))(a)
    np.testing.assert_allclose(grad, 3 * a ** 2 * times)
    if axis == 1:  # one row at a time
        same(cr.vmap(lambda r: cnp.repeat(r, repeats, axis=-1, total_repeat_length=total))(a), want)


A = np.array([[2.0, 1.0, 0.5], [3.0, 5.0, 1.0], [0.2, -1.0, 4.0]])  # not symmetric: the keyword matters
W = np.arange(9.0).reshape(3, 3)


@pytest.mark.parametrize("symmetrize_input", [True, False])
@pytest.mark.parametrize("uplo", [None, "U"])
def test_eigh_symmetrize_input_as_jax(symmetrize_input, uplo):
    c = A + 1j * np.array([[0.0, 0.3, -0.2], [0.1, 0.0, 0.4], [0.5, -0.6, 0.0]])
    for a in (A, c):
        w, v = cnp.linalg.eigh(a, UPLO=uplo, symmetrize_input=symmetrize_input)
        jw, jv = jnp.linalg.eigh(a, UPLO=uplo, symmetrize_input=symmetrize_input)
        np.testing.assert_allclose(w, jw, atol=1e-12)
        np.testing.assert_allclose(np.abs(v), np.abs(jv), atol=1e-10)  # up to each column's phase

    def f(lib):  # a loss that does not depend on the eigenvectors' signs
        def loss(a):
            w, v = lib.linalg.eigh(a, UPLO=uplo, symmetrize_input=symmetrize_input)
            return lib.sum(w ** 2) + lib.sum((v * v) * W)
        return loss
    # JAX differentiates at (a + aᵀ)/2's eigenvectors even without symmetrising the values:
    # at a symmetric point the two agree, and the gradient (along any change, symmetric
    # or not, with symmetrize_input=False) is JAX's
    point = A if symmetrize_input else (A + A.T) / 2
    want = jax.grad(f(jnp))(point)
    np.testing.assert_allclose(cr.grad(f(cnp))(point), want, atol=1e-10)
    assert symmetrize_input == np.allclose(want, want.T)
    got = cr.jit(cr.vmap(lambda a: cnp.linalg.eigh(a, UPLO=uplo, symmetrize_input=symmetrize_input)[0]))(
        np.stack([A, A.T]))
    np.testing.assert_allclose(got, [jnp.linalg.eigh(m, UPLO=uplo, symmetrize_input=symmetrize_input)[0]
                                     for m in (A, A.T)], atol=1e-12)


def test_eigh_without_the_keyword_is_numpys():
    np.testing.assert_array_equal(cnp.linalg.eigh(A)[0], np.linalg.eigh(A)[0])
    np.testing.assert_array_equal(cnp.linalg.eigh(cr.tensor(A), "U")[0].numpy(), np.linalg.eigh(A, "U")[0])


@pytest.mark.parametrize("name, mode", [("convolve", "full"), ("convolve", "same"), ("correlate", "valid"),
                                        ("correlate", "same")])
def test_convolve_correlate_take_jax_precision_and_preferred_element_type(name, mode):
    a, v = np.array([1.0, -2.0, 0.5, 3.0]), np.array([0.25, 2.0, -1.0])

    def f(lib, **kw):
        return lambda a, v: getattr(lib, name)(a, v, mode, precision="highest", **kw)
    same(f(cnp)(a, v), f(jnp)(a, v))
    same(cr.jit(f(cnp))(a, v), f(jnp)(a, v))
    same(cr.vmap(f(cnp), (None, 0))(a, np.stack([v, -v])), np.stack([f(jnp)(a, v), f(jnp)(a, -v)]))
    loss = lambda lib: lambda a, v: (f(lib, preferred_element_type=np.float64)(a, v) ** 2).sum()  # noqa: E731
    for got, want in zip(cr.grad(loss(cnp), (0, 1))(a, v), jax.grad(loss(jnp), (0, 1))(a, v), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    ints = np.array([1, 2, 3]), np.array([1, -1])
    same(f(cnp, preferred_element_type=np.float64)(*ints), f(jnp, preferred_element_type=np.float64)(*ints))
    same(f(cnp, preferred_element_type=np.float64)(cr.tensor(ints[0]), ints[1]).numpy(),
         f(jnp, preferred_element_type=np.float64)(*ints))


@pytest.mark.usefixtures("one_torch_thread")
def test_torch_median_of_negative_zero_and_float_only_reductions_raise_as_torch():
    torch = pytest.importorskip("torch")
    for lib in (torch, cr):  # -0.0, whose sign a sum of the elements would lose
        got = lib.median(lib.tensor(-0.0))
        assert float(got) == 0 and np.signbit(float(got)), lib
    assert np.signbit(float(cr.median(cr.tensor([-0.0, 1.0, -0.0]))))
    x = [[1, 2], [3, 5]]
    calls = [lambda lib, t: lib.var(t), lambda lib, t: t.std(0), lambda lib, t: lib.nanmean(t),
             lambda lib, t: t.norm(), lambda lib, t: lib.norm(t, 1.5),
             lambda lib, t: lib.kthvalue(t.double(), 0), lambda lib, t: t.double().kthvalue(3, 0)]
    for call in calls:
        for lib in (torch, cr):
            with pytest.raises(RuntimeError):
                call(lib, lib.tensor(x))
    assert float(cr.tensor([[1.0, 2.0]]).var()) == float(torch.tensor([[1.0, 2.0]]).var())


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("row", [[np.nan, 1.0, -np.inf], [np.nan, np.nan, 1.0], [1.0, 1.0, np.nan, np.nan, np.nan],
                                 [np.nan, np.nan, 2.0, 2.0, 1.0, 1.0], [3.0, np.nan, 1.0, 3.0, 1.0, np.nan]])
def test_torch_mode_of_a_row_with_nan_as_torch(row):
    torch = pytest.importorskip("torch")
    want, got = torch.mode(torch.tensor(row)), cr.mode(cr.tensor(row))
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    assert int(got.indices) == int(want.indices)


@pytest.mark.parametrize("call", [
    lambda np_, z: np_.angle(z, True), lambda np_, z: np_.angle(z, deg=True), lambda np_, z: np_.angle(z),
    lambda np_, z: np_.nan_to_num(z, True), lambda np_, z: np_.nan_to_num(z, True, 0.0, 1.0, -1.0),
], ids=["angle-deg-positional", "angle-deg", "angle", "nan_to_num-copy", "nan_to_num-all-positional"])
def test_numpy_arguments_given_positionally_or_by_name_differentiate_as_jax(call):
    # NumPy's own arguments (angle's deg, nan_to_num's copy, nan, posinf, neginf) reach
    # the derivative rules too, which read or skip them
    z = np.array([1 + 2j, -0.5 + 0.25j, 3 - 1j])
    t = np.array([0.5 - 1j, 2 + 0.5j, -1 + 1j])
    got_out, got = cr.jvp(lambda z: call(cnp, z), (z,), (t,))
    want_out, want = jax.jvp(lambda z: call(jnp, z), (z,), (t,))
    np.testing.assert_allclose(got_out, want_out, rtol=1e-12)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    x = z.real  # reverse mode, of a real input
    g = cr.grad(lambda x: cnp.sum(cnp.real(call(cnp, x * (1 + 1j) + 0.5j))))(x)
    np.testing.assert_allclose(g, jax.grad(lambda x: jnp.sum(jnp.real(call(jnp, x * (1 + 1j) + 0.5j))))(x), rtol=1e-12)
