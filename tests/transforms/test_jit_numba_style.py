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
import functools
import json
import operator
import warnings

import numpy as np
import pytest
from tests.transforms.test_jit_scientific_users import run_calls
from tests.transforms.test_jit_soundness import same

import chainrule as cr
from chainrule import nn


def A(*values, dtype=None):
    return np.array(values, dtype=dtype)


def _calls(*argument_tuples):
    return [lambda args=args: tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
            for args in argument_tuples]


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
], ids=["default_rng", "SeedSequence", "permutation", "json"])
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
