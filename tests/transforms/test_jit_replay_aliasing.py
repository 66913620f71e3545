"""cr.jit against the plain call on what results and arguments share: results kept from
earlier calls, results the caller changes and then calls again, results that view other
results or are the same object, arrays made inside the function without traced values
(their layout, strides and read-only flag), and objects the function made that hold such
arrays. Each program runs jitted and plain over several calls; every result, kept until
the end, must be the same to the bit, and a change the caller makes to one must reach
the same places."""

import os
import random
import threading

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr
import chainrule.numpy as cnp

rng = np.random.default_rng(0)


class Holder:
    def __init__(self, z):
        self.z = z


def _layout(a: np.ndarray) -> tuple:
    return a.shape, a.strides, a.flags.writeable, a.flags.c_contiguous, a.flags.f_contiguous


def _calls_kept_and_changed(f, change, n=3):
    """``f`` jitted and plain on the same inputs ``n`` times; after each call ``change``
    is applied to both results; every result is compared after each call and at the end."""
    jitted = cr.jit(f)
    kept = []
    for _ in range(n):
        x = rng.normal(size=3)
        got, want = jitted(x.copy()), f(x.copy())
        assert same(got, want)
        change(got)
        change(want)
        assert same(got, want)
        kept.append((got, want))
    assert all(same(got, want) for got, want in kept)
    return jitted


@pytest.mark.parametrize("f, made", [
    (lambda x: ((z := np.zeros(4)), z[1:], x * 2), lambda r: r[0]),
    (lambda x: ((z := np.zeros(4)), z, x * 2), lambda r: r[0]),
    (lambda x: ((z := np.arange(6.0).reshape(2, 3)), {"t": z.T}, x + 1), lambda r: r[0]),
    (lambda x: (x * 2, [(z := np.zeros(3)), z[::2], z.reshape(3, 1)]), lambda r: r[1][0]),
], ids=["view", "same-array", "transposed-in-dict", "views-in-list"])
def test_arrays_made_inside_share_memory_as_the_plain_results_do(f, made):
    def change(result):
        made(result)[...] += 5.0

    _calls_kept_and_changed(f, change)


def test_results_that_are_one_object_stay_one_object():
    def f(x):
        s = {1}
        return x * 2, s, [s]

    jitted = cr.jit(f)
    for _ in range(3):
        got = jitted(np.ones(2))
        assert got[1] is got[2][0]


def test_an_object_made_inside_does_not_hand_the_caller_a_constant_of_the_program():
    # the caller changing the array inside the result of the traced call changed the
    # replays after it: x + z read the caller's array
    def f(x):
        z = np.zeros(3)
        return x + z, Holder(z)

    jitted = cr.jit(f)
    _, holder = jitted(np.ones(3))
    holder.z[:] = 5.0
    assert same(jitted(np.ones(3))[0], np.ones(3))
    again = jitted(np.ones(3))[1]
    assert same(again.z, np.zeros(3)) and again is not holder


@pytest.mark.parametrize("make", [
    lambda: np.zeros((2, 3), order="F"),
    lambda: np.broadcast_to(np.zeros(1), (3,)),
    lambda: np.zeros(6)[::2],
    lambda: np.zeros(6)[::-2],
    lambda: (z := np.zeros(3), z.setflags(write=False))[0],
], ids=["fortran", "broadcast", "strided", "reversed", "read-only"])
def test_arrays_made_inside_keep_their_layout_and_read_only_flag(make):
    def f(x):
        return make(), x * 2

    jitted = cr.jit(f)
    for _ in range(3):
        got, want = jitted(np.ones(2)), f(np.ones(2))
        assert same(got, want)
        assert _layout(got[0]) == _layout(want[0])


GLOBAL_W = np.ones(3)


@pytest.mark.parametrize("passed", [lambda: GLOBAL_W, lambda: GLOBAL_W[:]], ids=["itself", "view"])
def test_a_donated_argument_that_the_function_also_reads_as_a_global_is_not_written(passed):
    # the replay wrote x * 2 into the donated memory, then added the global it had just
    # overwritten: 4 where the plain call gives 3
    def f(x):
        return x * 2 + GLOBAL_W

    jitted = cr.jit(f, donate_argnums=0)
    for _ in range(3):
        GLOBAL_W[:] = 1.0
        assert same(jitted(passed()), np.full(3, 3.0))
    assert same(GLOBAL_W, np.ones(3)) and jitted.traces == 1
    other = np.ones(3)
    jitted(other)
    assert same(other, np.full(3, 3.0))  # any other argument is donated


@cr.primitive
def finite_or_zero(x):
    # the argument itself where nothing needs replacing: a common fast path
    return x if np.all(np.isfinite(x)) else np.where(np.isfinite(x), x, 0.0)


cr.defvjp(finite_or_zero, lambda ans, x: lambda g: g * cnp.isfinite(x))


@cr.primitive
def positives(x):
    return x[x > 0]


cr.defvjp(positives, lambda ans, x: lambda g: cnp.zeros_like(x))


def test_a_primitive_that_returns_its_argument_on_some_values_keeps_it_alive():
    # traced where it made a new array, the replay reused its argument's buffer for
    # cos(x) * 3 while the primitive's result (that very buffer) was still to be read,
    # and handed that buffer back, rewritten by the next call
    def f(x):
        b = finite_or_zero(x * 2.0)
        return b + cnp.cos(x) * 3.0, b

    jitted = cr.jit(f)
    kept = []
    with np.errstate(invalid="ignore"):
        for x in ([np.inf, 1.0, 2.0], [0.5, 1.0, 2.0], [1.5, -1.0, 2.0], [0.25, 3.0, 1.0]):
            got, want = jitted(np.array(x)), f(np.array(x))
            assert same(got, want)
            kept.append((got, want))
    assert all(same(got, want) for got, want in kept)


def test_the_shape_of_a_primitives_result_is_checked():
    # len() of a primitive's result whose length depends on the values was built in
    def mean_of_positives(x):
        y = positives(x)
        return y.sum() / len(y)

    jitted = cr.jit(mean_of_positives)
    for x in ([1.0, 2.0, -1.0], [1.0, 2.0, 3.0], [-1.0, 2.0, -3.0]):
        assert same(jitted(np.array(x)), mean_of_positives(np.array(x)))


@pytest.mark.parametrize("write", [
    lambda x: np.nan_to_num(x, copy=False),
    lambda x: cnp.nan_to_num(x, False),
    lambda x: np.nan_to_num(x[1:], copy=False, nan=-1.0),
], ids=["keyword", "positional", "view"])
def test_nan_to_num_without_a_copy_writes_its_argument_on_every_call(write):
    # replays did not write x: the call's own result was not used, and it was dropped
    def f(x):
        write(x)
        return x * 1.0

    jitted = cr.jit(f)
    for k in range(3):
        x = rng.normal(size=4)
        x[k] = np.nan
        mine, theirs = x.copy(), x.copy()
        assert same(jitted(mine), f(theirs))
        assert same(mine, theirs)


def _one_hot_sum(x):
    z = np.zeros(3)
    total = x * 0.0
    for i in range(3):
        z[i] = 1.0  # changed in place between the calls that read it
        total = total + x * z
        z[i] = 0.0
    return total


@pytest.mark.parametrize("f", [
    lambda x: ((z := np.zeros(3)), (y := x + z), z.__setitem__(0, 5.0), (y, x * z))[-1],
    lambda x: ((z := np.eye(3)), (a := x @ z), z.__setitem__((0, 1), 3.0), (a, x @ z))[-1],
    lambda x: ((z := np.zeros(3)), (y := x[1:] * z[1:]), z.__setitem__(Ellipsis, 2.0), (y, z))[-1],
    _one_hot_sum,
], ids=["set-after-use", "matrix", "view-then-base", "one-hot-loop"])
def test_an_array_made_inside_and_changed_after_a_call_read_it(f):
    # the program held the array itself, so every call that read it read its last value
    jitted = cr.jit(f)
    for _ in range(3):
        x = rng.normal(size=3)
        assert same(jitted(x.copy()), f(x.copy()))
    assert jitted.traces == 1


SCRATCH = np.zeros(3)


def test_a_global_the_function_changes_is_not_replayed_when_the_caller_puts_it_back():
    # the caller zeroing the global before each call made it equal to what the trace
    # found, so replays ran without the function's own change to it
    def f(x):
        y = x + SCRATCH
        SCRATCH[0] += 1.0
        return y, x * SCRATCH

    jitted = cr.jit(f)
    for _ in range(3):
        x = rng.normal(size=3)
        SCRATCH[:] = 0.0
        got, after = jitted(x.copy()), SCRATCH.copy()
        SCRATCH[:] = 0.0
        assert same(got, f(x.copy())) and same(after, SCRATCH)


TABLE = np.arange(4.0)


def test_a_view_of_a_global_is_a_new_view_on_every_call():
    # every call handed back the one view object made when traced, so the caller setting
    # its shape or flags set them on the results of the calls that followed
    def f(x):
        v = TABLE[:2]
        return x * 2, TABLE[1:], TABLE, v, v

    jitted = cr.jit(f)
    for _ in range(3):
        got, want = jitted(np.ones(2)), f(np.ones(2))
        assert same(got, want) and _layout(got[1]) == _layout(want[1])
        assert got[2] is TABLE and got[3] is got[4] and np.shares_memory(got[1], TABLE)
        got[1].shape = (3, 1)
        got[1].flags.writeable = False


class Box:
    pass


def test_an_object_made_inside_holds_the_global_array_it_was_given():
    # each call's copy of the object held a copy of the global array, so the caller
    # writing through it did not reach the global, as it does in the plain call
    def f(x):
        box = Box()
        box.ref, box.items = TABLE, [1]
        return x * 2, box

    jitted = cr.jit(f)
    for _ in range(3):
        got = jitted(np.ones(2))[1]
        assert got.ref is TABLE and got.items == [1]
        got.items.append(5)


RATE = 1.0
PIPES = (os.pipe(), os.pipe())  # (entered, resume): file descriptors, which no trace watches


def _pause_the_first_thread():
    if threading.current_thread().name == "first":
        os.write(PIPES[0][1], b"x")
        os.read(PIPES[1][0], 1)


def test_a_trace_that_another_thread_outdates_is_not_kept():
    # thread "first" traces with RATE = 1.0; meanwhile RATE changes and another call
    # drops the programs and traces anew; the first trace then finished and put its
    # program (RATE = 1.0 built in) back, and later calls replayed it
    global RATE
    RATE = 1.0

    def f(x):
        y = x * RATE
        _pause_the_first_thread()
        return y + 1.0

    jitted = cr.jit(f)
    first = threading.Thread(target=jitted, args=(np.ones(2),), name="first")
    first.start()
    os.read(PIPES[0][0], 1)
    RATE = 2.0
    assert same(jitted(np.ones(2)), np.full(2, 3.0))
    os.write(PIPES[1][1], b"x")
    first.join()
    assert same(jitted(np.ones(2)), np.full(2, 3.0))


def test_a_program_with_traced_and_made_results_replays_itself():
    # the generated replay passed the set of its result variables where copy_made takes
    # what the function found, and raised there: each call ran the plain function instead
    def f(x):
        box = Box()
        box.ref = TABLE
        return x * 2, np.zeros(2), box

    jitted = cr.jit(f)
    jitted(np.ones(2))
    (program,) = jitted.programs
    for _ in range(2):
        doubled, zeros, box = program.run([np.full(2, 3.0)])
        assert same(doubled, np.full(2, 6.0)) and same(zeros, np.zeros(2)) and box.ref is TABLE


FOUND = np.arange(1.0, 4.0)
SETTINGS = Box()
SETTINGS.scale = np.arange(1.0, 4.0)


def _written_then_derived(x):
    x += 1.0
    return x + np.sqrt(FOUND)  # computed from the global alone: a constant of the program


def _written_then_read_by_python(x):
    x *= 2.0
    return x * float(FOUND[0])


def _attribute_written_then_derived(settings, x):
    x -= 1.0
    return x * np.exp(settings.scale)


@pytest.mark.parametrize("f, passed", [
    (_written_then_derived, lambda: (FOUND,)),
    (_written_then_derived, lambda: (FOUND[:],)),
    (_written_then_derived, lambda: (np.concatenate([[0.0, 0.0], FOUND])[:3],)),  # not FOUND: replayed
    (_written_then_read_by_python, lambda: (FOUND,)),
    (_attribute_written_then_derived, lambda: (SETTINGS, SETTINGS.scale)),
], ids=["the-global", "a-view-of-it", "another-array", "read-by-python", "an-attribute"])
@pytest.mark.filterwarnings("ignore:chainrule.jit")  # (a written attribute: then it runs plain)
def test_an_argument_written_that_is_memory_the_function_finds_is_not_replayed_with_old_values(f, passed):
    # traced on another array, the program held values computed from the global (sqrt of
    # it, a float read from it) as constants; a replay on the global itself wrote it and
    # then used those constants, where the plain call computes them from what it wrote
    jitted = cr.jit(f)
    for _ in range(2):
        FOUND[:], SETTINGS.scale[:] = np.arange(1.0, 4.0), np.arange(1.0, 4.0)
        other = [a if a is SETTINGS else a.copy() + 1.0 for a in passed()]
        assert same(jitted(*other), f(*[a if a is SETTINGS else a.copy() + 1.0 for a in passed()]))
        got, after = jitted(*passed()), (FOUND.copy(), SETTINGS.scale.copy())
        FOUND[:], SETTINGS.scale[:] = np.arange(1.0, 4.0), np.arange(1.0, 4.0)
        want = f(*passed())
        assert same(got, want) and same(after, (FOUND, SETTINGS.scale))


def test_a_donated_argument_that_is_a_global_a_constant_was_computed_from_is_not_written():
    # the program read sqrt(FOUND), not FOUND: the replay took FOUND's memory for its
    # result, and the global that the function reads was the result from then on
    def f(p, x):
        return p * 2.0 + x * np.sqrt(FOUND)

    FOUND[:] = np.arange(1.0, 4.0)
    jitted = cr.jit(f, donate_argnums=0)
    for _ in range(2):
        assert same(jitted(np.ones(3), np.ones(3)), f(np.ones(3), np.ones(3)))
        assert same(jitted(FOUND, np.ones(3)), f(FOUND, np.ones(3)))
        assert same(FOUND, np.arange(1.0, 4.0))


# Programs that write their arguments in place, read them through views, branch on them
# and read a global array, each called jitted and plain on arguments that alias in
# several ways (fresh arrays, one array twice, overlapping or reversed views of one
# array, the global itself): the same results, arguments and global after every call.
_STATEMENTS = (
    "{a} += {b} * {c}", "{a}[...] = {b} - {c}", "{a} *= 1.5", "t = {a} + {b}", "t = np.tanh({a}) * {b}",
    "{a}[1:] += {b}[:-1]", "np.multiply({a}, {b}, out={c})", "t = {a}.sum() * {b}", "{a}[::-1] -= {b}",
    "t = {a}[::-1] * 2.0", "{a}[:] = {a}[::-1]", "{a} /= {b} * {b} + 1.0", "np.add({a}[::-1], {b}, out={c})",
    "t = np.maximum({a}, {b})", "{a}[{b} > 0] = 0.0", "if {a}.sum() > 0:\n        {b} += 1.0",
    "t = {a} + np.sqrt(np.abs(G))", "t = {a} * float(G[0])", "t = {a} * G", "{a} += G * 2.0",
    "t = np.where({a} > {b}, {a}, {c})", "{a}[0] = float({b}[1])", "{a}.sort()", "np.copyto({a}, {b}[::-1])",
    "np.cumsum({a}, out={c})", "t = {a}[np.argmax({b})] * {c}", "{a}[::2] = {b}[1::2]",
)
_ALIASINGS = {
    "apart": lambda r, g: [r.normal(size=4) for _ in range(3)],
    "one array twice": lambda r, g: [x := r.normal(size=4), x, r.normal(size=4)],
    "one array thrice": lambda r, g: [r.normal(size=4)] * 3,
    "overlapping views": lambda r, g: [(x := r.normal(size=9))[:4], x[1:5], x[5:]],
    "reversed view": lambda r, g: [(x := r.normal(size=8))[:4], x[:4][::-1], x[4:]],
    "the global": lambda r, g: [g, r.normal(size=4), r.normal(size=4)],
    "a view of the global": lambda r, g: [g[:], r.normal(size=4), g[::-1]],
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("seed", range(40))
def test_programs_that_write_their_arguments_on_arguments_that_alias(seed):
    pick = random.Random(seed)
    lines = ["t = a * 1.0"]
    for _ in range(pick.randint(2, 6)):
        a, b, c = (pick.choice("abc") for _ in range(3))
        lines.append(pick.choice(_STATEMENTS).format(a=a, b=b, c=c))
    source = "def f(a, b, c):\n" + "".join(f"    {line}\n" for line in lines) + "    return t, a + 0.0, b.sum()\n"
    namespace = {"np": np, "G": np.zeros(4)}
    exec(source, namespace)  # noqa: S102 (the test's own program)
    f = namespace["f"]
    jitted = cr.jit(f)
    for k in range(8):
        aliasing = _ALIASINGS[pick.choice(list(_ALIASINGS))]
        outcomes = []
        for fun in (jitted, f):
            namespace["G"][:] = np.arange(1.0, 5.0)  # as when traced: replays read it
            args = aliasing(np.random.default_rng(k), namespace["G"])
            try:
                result = fun(*args)
            except Exception as error:  # noqa: BLE001 (the plain call's exception is the oracle)
                result = type(error)
            outcomes.append((result, [x.copy() for x in args], namespace["G"].copy()))
        assert same(*outcomes), source
