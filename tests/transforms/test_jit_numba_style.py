"""cr.jit against programs written as for ``numba.njit``: loops that read and write single
elements of ``np.zeros``/``np.empty`` buffers, ``while`` loops whose trip count depends on
the data, early returns, ``break`` on values, ``np.argmax``-driven indexing, NumPy integer
scalars used as Python ints (a repeat count, a seed), and the classic kernels (an ODE
integrator, root finding, Viterbi, dynamic time warping, Floyd-Warshall, union-find,
histograms and particle deposits by loop, LU with pivoting, a sparse product by CSR loops).
Each program runs plain and jitted on copies of each call's arguments, several calls in a
row with changing values (the later ones replay or trace again): results, exceptions,
warnings and the arguments afterwards must be the same, to the bit."""

import array
import collections
import copy
import decimal
import functools
import json
import operator
import warnings

import numpy as np
import pytest
from tests.transforms.test_jit_scientific_users import run_calls
from tests.transforms.test_jit_soundness import same

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import nn


def A(*values, dtype=None):
    return np.array(values, dtype=dtype)


def _calls(*argument_tuples):
    return [lambda args=args: tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
            for args in argument_tuples]


# -- the classic kernels, written element by element --------------------------------------
def _rk4(y0, h, n):
    out = np.empty((n + 1, y0.shape[0]))
    out[0] = y0
    for i in range(n):
        y = out[i]
        k1 = -y
        k2 = -(y + h / 2 * k1)
        k3 = -(y + h / 2 * k2)
        k4 = -(y + h * k3)
        out[i + 1] = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return out


def _bisect(c, lo, hi):
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if mid ** 3 - c > 0:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-12:
            break
    return mid


def _newton(x, c):
    for it in range(50):
        fx = x * x - c
        if abs(fx) < 1e-12:
            return x, it
        x = x - fx / (2 * x)
    raise RuntimeError("no convergence")


def _viterbi(obs, log_pi, log_a, log_b):
    n = log_pi.shape[0]
    delta = np.zeros((obs.shape[0], n))
    psi = np.zeros((obs.shape[0], n), dtype=np.int64)
    delta[0] = log_pi + log_b[:, obs[0]]
    for t in range(1, obs.shape[0]):
        for j in range(n):
            s = delta[t - 1] + log_a[:, j]
            k = np.argmax(s)
            psi[t, j] = k
            delta[t, j] = s[k] + log_b[j, obs[t]]
    path = np.zeros(obs.shape[0], dtype=np.int64)
    path[-1] = np.argmax(delta[-1])
    for t in range(obs.shape[0] - 2, -1, -1):
        path[t] = psi[t + 1, path[t + 1]]
    return path, delta[-1].max()


def _dtw(a, b):
    d = np.full((len(a) + 1, len(b) + 1), np.inf)
    d[0, 0] = 0.0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i, j] = abs(a[i - 1] - b[j - 1]) + min(d[i - 1, j], d[i, j - 1], d[i - 1, j - 1])
    return d[len(a), len(b)]


def _floyd_warshall(w):
    d = w.copy()
    n = d.shape[0]
    for k in range(n):
        for i in range(n):
            for j in range(n):
                if d[i, k] + d[k, j] < d[i, j]:
                    d[i, j] = d[i, k] + d[k, j]
    return d


def _mandelbrot(cs, max_iter):
    out = np.empty(cs.shape, dtype=np.int32)
    for i in range(cs.shape[0]):
        z, n = 0j, 0
        while abs(z) <= 2 and n < max_iter:
            z = z * z + cs[i]
            n += 1
        out[i] = n
    return out


def _union_find(edges, n):
    parent = np.arange(n)

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in range(edges.shape[0]):
        a, b = find(edges[e, 0]), find(edges[e, 1])
        if a != b:
            parent[a] = b
    return np.array([find(i) for i in range(n)])


def _histogram(x, lo, hi, bins):
    h = np.zeros(bins, dtype=np.int64)
    for v in x:
        k = int((v - lo) / ((hi - lo) / bins))
        if 0 <= k < bins:
            h[k] += 1
        elif v == hi:
            h[bins - 1] += 1
    return h


def _lu(a):
    a = a.copy()
    piv = np.arange(a.shape[0])
    for k in range(a.shape[0]):
        p = k + np.argmax(np.abs(a[k:, k]))
        if a[p, k] == 0:
            raise np.linalg.LinAlgError("singular")
        if p != k:
            a[[k, p]] = a[[p, k]]
            piv[[k, p]] = piv[[p, k]]
        for i in range(k + 1, a.shape[0]):
            a[i, k] /= a[k, k]
            for j in range(k + 1, a.shape[0]):
                a[i, j] -= a[i, k] * a[k, j]
    return a, piv


def _automaton(cells, rule, steps):
    for _ in range(steps):
        new = np.zeros_like(cells)
        for i in range(cells.shape[0]):
            new[i] = (rule >> (4 * cells[i - 1] + 2 * cells[i] + cells[(i + 1) % cells.shape[0]])) & 1
        cells = new
    return cells


def _deposit(xs, q, cells, length):
    rho = np.zeros(cells)
    for p in range(xs.shape[0]):
        s = xs[p] / (length / cells)
        i = int(np.floor(s))
        rho[i % cells] += q[p] * (1 - (s - i))
        rho[(i + 1) % cells] += q[p] * (s - i)
    return rho


def _csr_matvec(data, indices, indptr, x):
    y = np.zeros(indptr.shape[0] - 1, dtype=np.result_type(data, x))
    for i in range(y.shape[0]):
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k] * x[indices[k]]
        y[i] = acc
    return y


def _gillespie(rates, x, t_max, rng):
    t, times, states = 0.0, [0.0], [x]
    while True:
        a1, a0 = rates[0] * x, rates[0] * x + rates[1]
        t += rng.exponential(1.0 / a0)
        if t > t_max:
            break
        x += -1 if rng.uniform() * a0 < a1 else 1
        times.append(t)
        states.append(x)
    return np.array(times), np.array(states)


_RNG = np.random.default_rng(1)
_HMM = tuple(np.log(_RNG.dirichlet(np.ones(k), n)) for n, k in ((1, 3), (3, 3), (3, 4)))
_W = A([0, 3, np.inf], [1, 0, 7], [np.inf, 2, 0.0])
_M = _RNG.normal(size=(3, 3))
KERNELS = {
    "rk4": (_rk4, [(A(1.0, 2.0), 0.1, 4), (A(3.0, 2.0), 0.1, 4), (A(3.0, 2.0, 1.0), 0.1, 4)]),
    "bisection": (_bisect, [(np.float64(2.0), 0.0, 3.0), (np.float64(5.0), 0.0, 3.0), (np.array(2.0), 0.0, 3.0)]),
    "newton": (_newton, [(np.array(1.0), np.array(2.0)), (np.array(1.0), np.array(3.0)),
                         (np.array(0.0), np.array(2.0))]),
    "viterbi": (_viterbi, [(A(0, 1, 2, 3), _HMM[0][0], *_HMM[1:]), (A(3, 1, 2, 0), _HMM[0][0], *_HMM[1:]),
                           (A(3, 1, 2, 0), _HMM[0][0], _HMM[1].T.copy(), _HMM[2])]),
    "dtw": (_dtw, [(A(1.0, 2.0, 3.0), A(1.0, 3.0)), (A(3.0, 2.0, 1.0), A(0.0, 3.0)), (A(3.0, 2.0, 1.0), A(0.0, 3.0))]),
    "floyd-warshall": (_floyd_warshall, [(_W,), (_W.T.copy(),), (_W,)]),
    "mandelbrot": (_mandelbrot, [(A(0.1 + 0.1j, 0.5 + 0.5j, -1), 20), (A(0.2 + 0.1j, 0.5 + 0.5j, -1 + 0.2j), 20)]),
    "union-find": (_union_find, [(A(0, 1, 2, 3, 1, 3).reshape(3, 2), 5), (A(0, 4, 2, 3, 1, 3).reshape(3, 2), 5)]),
    "histogram": (_histogram, [(A(0.1, 0.5, 0.9, 1.0, 1.5), 0.0, 1.0, 4), (A(0.2, 0.2, 0.3, -1.0, 0.5), 0.0, 1.0, 4)]),
    "lu": (_lu, [(_M,), (_M.T.copy(),), (_M,), (np.zeros((3, 3)),)]),
    "automaton": (_automaton, [(A(0, 1, 0, 1, 1, dtype=np.uint8), 30, 3), (A(1, 1, 0, 0, 1, dtype=np.uint8), 110, 3)]),
    "deposit": (_deposit, [(A(0.1, 0.55, 0.9), A(1.0, 2.0, 3.0), 4, 1.0),
                           (A(0.15, 0.55, 0.9), A(1.0, 2.0, 3.0), 4, 1.0)]),
    "csr": (_csr_matvec, [(A(1.0, 2.0, 3.0), A(0, 2, 1), A(0, 2, 2, 3), A(1.0, 2.0, 3.0)),
                          (A(4.0, 5.0, 6.0, dtype=np.float32), A(0, 1, 1), A(0, 1, 2, 3),
                           A(1.0, 2.0, 3.0, dtype=np.float32))]),
}


@pytest.mark.parametrize("name", KERNELS)
def test_kernels_written_for_numba_agree_with_the_plain_call(name):
    fun, arguments = KERNELS[name]
    run_calls(fun, _calls(*arguments, arguments[0]))


def test_a_gillespie_simulation_drawing_from_its_generator_argument():
    run_calls(_gillespie, [lambda: (A(0.5, 1.0), 5, 3.0, np.random.default_rng(0))] * 3)


def _integrate(k):
    y, h = cnp.stack([k * 0 + 1.0, k * 0]), 0.1
    for _ in range(4):
        def f(y):
            return cnp.stack([y[1], -k * cnp.sin(y[0])])
        k1 = f(y)
        k2 = f(y + h / 2 * k1)
        k3 = f(y + h / 2 * k2)
        k4 = f(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if cnp.abs(y[1]) > 10:     # a branch on the state: a guard
            break
    return y[0] * y[1]


def _soft_dtw_cost(a):
    b = A(0.5, 1.5, 1.0)
    d = [[np.inf] * (len(b) + 1) for _ in range(len(a) + 1)]
    d[0][0] = 0.0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = (a[i - 1] - b[j - 1]) ** 2 + min(d[i - 1][j], d[i][j - 1], d[i - 1][j - 1])
    return d[len(a)][len(b)]


@pytest.mark.parametrize("fun, points", [
    (_integrate, [np.array(1.0), np.array(2.0), np.array(1.0)]),
    (_soft_dtw_cost, [A(1.0, 2.0, 0.3), A(0.0, 2.0, 1.3), A(1.0, 2.0, 0.3)]),
], ids=["rk4", "dtw"])
def test_gradients_through_element_loops_jitted_agree_with_plain_and_finite_differences(fun, points):
    jitted = cr.jit(cr.grad(fun))
    for x in points:
        got, want = jitted(x), cr.grad(fun)(x)
        assert same(np.asarray(got), np.asarray(want))
        eps = 1e-6
        fd = np.array([(fun(x + e) - fun(x - e)) / (2 * eps) for e in np.eye(x.size).reshape(-1, *x.shape) * eps])
        np.testing.assert_allclose(np.asarray(got), fd.reshape(x.shape), rtol=1e-6, atol=1e-8)


# -- a NumPy integer times a sequence repeats it -------------------------------------------
@pytest.mark.parametrize("fun", [
    lambda x: [0.0] * np.argmax(x),            # NumPy's integer scalars repeat a sequence
    lambda x: np.argmax(x) * (1, 2),
    lambda x: "ab" * x[0],
    lambda x: bytearray(b"a") * x[1],
    lambda x: [1] * x.astype(float)[0],        # a float scalar refuses to, as Python's float
    lambda x: (0,) * (x[0] > 1),               # and so does a bool
], ids=["list", "tuple-right", "str", "bytearray", "float", "bool"])
def test_a_sequence_times_a_numpy_integer_is_repeated_not_multiplied(fun):
    run_calls(fun, _calls((A(1, 3, 2),), (A(1, 3, 2),), (A(3, 1, 2),), (A(0, 0, 2),)))


# -- code that tells numbers by their exact types: NumPy's random module, json -------------
@pytest.mark.parametrize("fun, fixed", [
    (lambda x, n: np.random.default_rng(n).normal(size=2), lambda x, n: np.random.default_rng(int(n)).normal(size=2)),
    (lambda x, n: np.random.SeedSequence(n).generate_state(2),
     lambda x, n: np.random.SeedSequence(int(n)).generate_state(2)),
    (lambda x, n: np.random.default_rng(0).permutation(n), lambda x, n: np.random.default_rng(0).permutation(int(n))),
    (lambda x, n: json.dumps({"loss": x.sum()}), lambda x, n: json.dumps({"loss": float(x.sum())})),
    (lambda x, n: decimal.Decimal(x[0]) / 3, lambda x, n: decimal.Decimal(float(x[0])) / 3),
    (lambda x, n: float.hex(x[0]), lambda x, n: float(x[0]).hex()),
], ids=["default_rng", "SeedSequence", "permutation", "json", "Decimal", "float.hex"])
def test_code_that_tells_numbers_by_exact_type_says_what_to_write(fun, fixed):
    """NumPy's compiled random code and json tell numbers by their exact types: a traced
    ``np.int64`` or ``np.float64`` is refused there, with a note saying to pass ``int(n)``
    or ``float(x)``; written so, the program agrees with the plain call."""
    with pytest.raises((TypeError, IndexError)) as caught:
        cr.jit(fun)(np.ones(2), np.int64(3))
    assert any("int(n) or float(x)" in note for note in caught.value.__notes__)
    run_calls(fixed, _calls((np.ones(2), np.int64(3)), (np.ones(2), np.int64(3)), (np.full(2, 0.5), np.int64(4))))


# -- NumPy scalars copied and viewed -------------------------------------------------------
def _keep_best(x):
    best = {"value": x[0], "at": 0}
    history = []
    for i in range(1, x.shape[0]):
        if x[i] < best["value"]:
            best = {"value": x[i], "at": i}
        history.append(copy.deepcopy(best))
    return best, history, copy.copy(x.sum())


def _float_bits(x):
    bits = x[1].view(np.int64)   # a NumPy scalar's view: a scalar of the other type
    return bits, (bits >> 52) & 0x7FF, x.max().view(np.uint64)


@pytest.mark.parametrize("fun", [_keep_best, _float_bits])
def test_numpy_scalars_copied_or_viewed_stay_numpy_scalars(fun):
    """``copy.copy``/``copy.deepcopy`` of a NumPy scalar is that scalar (not a 0-d array),
    and its ``view`` a scalar of the other type, as in the plain call."""
    run_calls(fun, _calls((A(1.5, 2.0, 0.5),), (A(1.5, 2.0, 0.5),), (A(2.5, -1.0, 3.0),)))


# -- objects among the arguments that the call changes -------------------------------------
class _Lattice:
    def __init__(self):
        self.spins = np.ones(3)
        self.sweeps = 0
        self.order = [0, 1, 2]
        self.stats = {"flips": 0}


def _flip_spins(lattice, field):
    lattice.spins[:] = -lattice.spins      # an array the object holds, written in place
    return field * lattice.spins


def _count_parity(lattice, field):
    lattice.sweeps = 1 - lattice.sweeps    # an attribute rebound
    return field + lattice.sweeps


def _reverse_order(lattice, field):
    lattice.order.reverse()                # a list it holds
    lattice.stats["flips"] = 1 - lattice.stats["flips"]
    return field[lattice.order] * lattice.stats["flips"]


@pytest.mark.parametrize("step", [_flip_spins, _count_parity, _reverse_order])
def test_an_object_argument_changed_by_the_call_is_changed_on_every_call(step):
    """The key of an object among the arguments reads its attributes; a call that changes
    them with values computed without traced ones (``self.s[:] = -self.s``) leaves a state
    that an earlier call's key matches again two calls later, where a replay would change
    nothing: such calls run the function itself, on one object or on two."""
    jitted = cr.jit(step)
    mine, theirs = [_Lattice(), _Lattice()], [_Lattice(), _Lattice()]
    for k in (0, 0, 1, 0, 0, 1, 1):
        field = np.arange(3.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = jitted(mine[k], field)
        want = step(theirs[k], field)
        assert same(got, want)
        for a, b in zip(mine, theirs, strict=True):
            assert same(a.spins, b.spins) and a.sweeps == b.sweeps
            assert a.order == b.order and a.stats == b.stats


class _Stepper(nn.Module):
    def __init__(self):
        super().__init__()
        self.parity = 0
        self.order = [0, 1]
        self.settings = {"sign": 1.0}

    def forward(self, x):
        self.parity = 1 - self.parity          # rebound: set on the caller's module after a replay
        self.order.reverse()                   # changed in place: a replay would not
        self.settings["sign"] = -self.settings["sign"]
        return x * self.parity + x[self.order] * self.settings["sign"]


class _Tagged:
    def __init__(self, value, meta):
        self.value, self.meta = value, meta


cr.register_pytree_node(_Tagged, lambda t: ((t.value,), t.meta), lambda meta, kids: _Tagged(kids[0], meta))


def test_module_settings_and_pytree_aux_data_changed_in_place_by_the_call():
    """The same for a module's list and dict attributes and a registered class's aux data,
    which the structure of the arguments holds by value."""
    def step(model, x):
        return model(x)

    def flip(tagged):
        tagged.meta["sign"] = -tagged.meta["sign"]
        return tagged.value * tagged.meta["sign"]

    jitted = cr.jit(step)
    mine, theirs = [_Stepper(), _Stepper()], [_Stepper(), _Stepper()]
    with cr.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in (0, 0, 1, 0, 0, 1, 1):
            assert same(np.asarray(jitted(mine[k], A(1.0, 2.0))), np.asarray(step(theirs[k], A(1.0, 2.0))))
            for a, b in zip(mine, theirs, strict=True):
                assert (a.parity, a.order, a.settings) == (b.parity, b.order, b.settings)
        jitted = cr.jit(flip)
        meta_mine, meta_theirs = {"sign": 1.0}, {"sign": 1.0}
        for _ in range(4):
            assert same(jitted(_Tagged(A(1.0, 2.0), meta_mine)), flip(_Tagged(A(1.0, 2.0), meta_theirs)))
            assert meta_mine == meta_theirs


class _Buffers:
    def __init__(self):
        self.recent = collections.deque([1.0, 2.0], maxlen=3)
        self.seen = {1.0}
        self.table = array.array("d", [1.0])
        self.raw = bytearray(b"\x01")
        self.view = memoryview(bytearray(b"\x02"))


def _read_buffers(b, x):
    return x * b.recent[0] + len(b.seen) + b.table[0] + b.raw[0] + b.view[0]


@pytest.mark.parametrize("change", [
    lambda b: b.recent.appendleft(5.0), lambda b: b.seen.add(2.0), lambda b: b.table.__setitem__(0, 3.0),
    lambda b: b.raw.__setitem__(0, 7), lambda b: b.view.__setitem__(0, 9),
], ids=["deque", "set", "array.array", "bytearray", "memoryview"])
def test_deques_sets_and_buffers_held_by_an_object_argument_are_keyed_by_value(change):
    """An object among the arguments is keyed by what it holds: a deque's and a set's items
    and a buffer's bytes too, so a change in place between calls traces again."""
    jitted, buffers = cr.jit(_read_buffers), _Buffers()
    for _ in range(2):
        assert same(jitted(buffers, A(1.0, 2.0)), _read_buffers(buffers, A(1.0, 2.0)))
        change(buffers)
    assert jitted.traces == 2


# -- state the function stores NumPy scalars in ---------------------------------------------
def _memoizing():
    memo, visited, last, log = {}, set(), {}, []

    def kernel(x):
        k = x.argmin()                  # a NumPy integer, traced
        if k not in memo:
            memo[k] = x[k] * 2          # a memo keyed by it
        visited.add(x.argmax())         # a set of them
        last["step"] = (x.sum(), k)     # tuples of them, in a dict and a list
        log.append((k, x.max()))
        return x + memo[k] + len(visited)

    return kernel, (memo, visited, last, log)


def test_numpy_scalars_stored_as_keys_set_items_and_in_tuples_are_the_plain_calls():
    """A traced scalar the function stores in a global or closed-over dict (as a key too),
    set, or tuple is stored there as the NumPy scalar the plain call stores, not as a traced
    value that is dead once the call has returned (and that the next call would find)."""
    mine, mine_state = _memoizing()
    theirs, theirs_state = _memoizing()
    jitted = cr.jit(mine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for values in ((1.0, 3.0, 2.0), (1.0, 3.0, 2.0), (3.0, 1.0, 2.0), (1.0, 3.0, 2.0), (1.0, 2.0, 0.0)):
            assert same(jitted(A(*values)), theirs(A(*values)))
    memo, visited, last, log = mine_state
    assert all(type(k) is np.int64 for k in [*memo, *visited, last["step"][1], *(k for k, _ in log)])
    assert same(list(memo.items()), list(theirs_state[0].items())) and visited == theirs_state[1]
    assert same(last, theirs_state[2]) and same(log, theirs_state[3])


@pytest.mark.parametrize("fun", [
    lambda x: (slice(x.argmax(), None), x[slice(x.argmin(), None)]),
    lambda x: functools.partial(operator.add, x.argmax()),
    lambda x: [ValueError("not converged", x.argmax())],
], ids=["slice", "partial", "exception"])
def test_a_slice_partial_or_exception_made_of_traced_values_is_this_calls(fun):
    """``slice(x.argmax(), None)``, a ``functools.partial`` or an exception object among
    the results holds the values of each call: not the traced call's, replayed."""
    calls = _calls((A(1.0, 3.0, 2.0),), (A(1.0, 3.0, 2.0),), (A(1.0, 2.0, 3.0),), (A(3.0, 1.0, 2.0),))
    jitted = cr.jit(fun)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for make in calls:
            got, want = jitted(*make()), fun(*make())
            assert repr(got) == repr(want) and type(got) is type(want)


@pytest.mark.parametrize("fun", [
    lambda x: x[0].dot(x[1]), lambda x: x.sum().mT, lambda x: x[0].partition(0),
    lambda x: 1.0 in x[0], lambda x: x[0] @ x[1],
], ids=["dot", "mT", "partition", "in", "matmul"])
def test_what_numpy_scalars_lack_is_refused_as_in_the_plain_call(fun):
    """``x[0].dot(y)``, ``x.sum().mT``, ``1.0 in x[0]``, ``x[0] @ x[1]``: a NumPy scalar
    has no such method or operator, and the jitted call raises where the plain one does."""
    run_calls(fun, _calls((A(1.0, 2.0),), (A(1.0, 2.0),)))


class _Tables(nn.Module):
    def __init__(self):
        super().__init__()
        self.tables = [np.ones(2)]          # arrays in a list, a dict, a tuple: not buffers
        self.masks = {"w": np.ones(2)}
        self.pair = (np.ones(2),)

    def forward(self, x):
        return x * self.tables[0] + self.masks["w"] + self.pair[0]


@pytest.mark.parametrize("change", [
    lambda m: m.tables[0].__setitem__(0, 5.0), lambda m: m.masks["w"].__setitem__(1, 7.0),
    lambda m: m.pair[0].__setitem__(0, 3.0), lambda m: setattr(m, "tables", [np.zeros(2)]),
], ids=["list", "dict", "tuple", "rebound"])
def test_arrays_a_module_holds_in_containers_are_read_as_they_are_at_each_call(change):
    """A module's lookup tables kept in a list, dict or tuple attribute are keyed by their
    bytes and identity: changed in place (or replaced by arrays of the same shape) between
    calls, the call traces again rather than replaying the old values."""
    jitted, model = cr.jit(lambda m, x: m(x)), _Tables()
    with cr.no_grad():
        for k in range(3):
            assert same(np.asarray(jitted(model, A(1.0, 2.0))), np.asarray(model(A(1.0, 2.0))))
            if k == 1:
                change(model)
    assert jitted.traces == 2


def test_a_module_updating_its_buffers_in_place_replays():
    """Buffers are program inputs, not part of the key: a running average updated in
    place by every call replays (one trace), as the plain call updates it."""
    class Average(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("avg", np.zeros(2))
            self.lookup = [np.ones(2)]

        def forward(self, x):
            self.avg *= 0.9
            self.avg += 0.1 * x.mean(0) * self.lookup[0]
            return x - self.avg

    jitted, mine, theirs = cr.jit(lambda m, x: m(x)), Average(), Average()
    with cr.no_grad():
        for k in range(4):
            x = np.full((3, 2), float(k))
            assert same(np.asarray(jitted(mine, x)), np.asarray(theirs(x)))
    assert same(np.asarray(mine.avg), np.asarray(theirs.avg)) and jitted.traces == 1
