"""cr.jit(f, fuse=...): chains of elementwise calls compiled into one loop each. Every
fused program is replayed beside the unfused one over many calls: same shapes, dtypes,
retraces and guards, values within the ulp bounds that docs/jit.md documents. Most tests
use fuse="wait" (compiled at the first call); those of fuse=True (compiled in the
background) hold the compilation back until they release it."""

import os
import re
import subprocess
import sys
import warnings
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.numpy.test_elementwise import BINARY, UNARY

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.transforms import fuse as fusion
from chainrule.transforms.passes import COMPILED_UFUNCS

pytestmark = pytest.mark.skipif(not fusion.available(), reason="fuse=True needs Numba (the [fast] extra)")

ROOT = Path(__file__).resolve().parents[2]
rng = np.random.default_rng(0)


def ulps(a, b, dtype) -> float:
    """The largest distance, in units in the last place of ``dtype``, between ``a`` and
    ``b`` (both rounded to ``dtype``); NaN against NaN is 0, NaN against a number inf."""
    a, b = np.asarray(a).astype(dtype), np.asarray(b).astype(dtype)
    if a.dtype.kind != "f":
        return 0.0 if np.array_equal(a, b) else np.inf
    ints = {4: np.int32, 8: np.int64}[a.itemsize]

    def ordered(x):  # the float's position on the number line, -0.0 and 0.0 at 0
        i = np.atleast_1d(x).ravel().view(ints)
        return np.where(i < 0, np.iinfo(ints).min - i, i).tolist()  # Python ints: exact

    distances = [float(abs(p - q)) for p, q in zip(ordered(a), ordered(b), strict=True)]
    nan_a, nan_b = np.atleast_1d(np.isnan(a)).ravel(), np.atleast_1d(np.isnan(b)).ravel()
    d = np.where(nan_a & nan_b, 0, np.where(nan_a | nan_b, np.inf, distances))
    return float(d.max()) if d.size else 0.0


def documented_bounds() -> dict:
    """The table of docs/jit.md: function -> (float64 bound, float32 bound)."""
    text = (ROOT / "docs" / "jit.md").read_text()
    section = text.split("<!-- ulp table -->")[1].split("<!-- end of ulp table -->")[0]
    bounds = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"\d+", cells[1] or ""):
            for name in cells[0].replace("`", "").split(", "):
                bounds[name] = (int(cells[1]), int(cells[2]))
    return bounds


def same_kind(a, b):
    la, lb = cr.tree_flatten(a)[0], cr.tree_flatten(b)[0]
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        assert type(x) is type(y)
        assert np.shape(x) == np.shape(y) and np.result_type(x) == np.result_type(y)
    return la, lb


def close(a, b, dtype) -> bool:
    """Equal kinds, and values within a few rounding errors of ``dtype`` relative to the
    largest value (differences of an ulp upstream of a matrix product or a sum are
    magnified in its small results); non-finite values alike."""
    la, lb = same_kind(a, b)
    eps = np.finfo(dtype).eps
    for x, y in zip(la, lb, strict=True):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        finite = np.isfinite(x) & np.isfinite(y)
        if not np.array_equal(np.where(finite, 0, x), np.where(finite, 0, y), equal_nan=True):
            return False
        scale = max(1.0, float(np.max(np.abs(np.where(finite, x, 0)), initial=0)))
        if np.any(np.abs(np.where(finite, x - y, 0)) > 64 * eps * scale):
            return False
    return True


def max_ulps(a, b, dtype) -> float:
    la, lb = same_kind(a, b)
    return max([0.0] + [ulps(x, y, dtype) for x, y in zip(la, lb, strict=True)])


# -- every elementwise rule of the spec tables, grad and jvp --------------------------
SPEC = {**{n: (1, d) for n, d in UNARY.items()}, **{n: (2, d) for n, d in BINARY.items()}}


def rule_program(name):
    fun = getattr(cnp, name)
    n = SPEC[name][0]

    def derivatives(*args):
        grads = cr.grad(lambda *a: cnp.sum(fun(*a)), argnums=tuple(range(n)))(*args)
        return grads, cr.jvp(fun, args, tuple(cnp.ones_like(a) for a in args))[1]

    return derivatives


def spec_inputs(name, dtype, size=64):
    n, (low, high) = SPEC[name]
    args = tuple(rng.uniform(low, high, size=size).astype(dtype) for _ in range(n))
    if name in ("mod", "remainder", "fmod"):  # away from the jumps of x mod y
        args = (args[0], args[1] + dtype(2.5))
    return args


def test_ulp_table_covers_every_elementwise_rule():
    assert set(documented_bounds()) == set(SPEC)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_elementwise_rule_fused_within_documented_ulps(name):
    bounds = documented_bounds()[name]
    plain, fused = cr.jit(rule_program(name)), cr.jit(rule_program(name), fuse="wait")
    for dtype, bound in zip((np.float64, np.float32), bounds, strict=True):
        for _ in range(3):
            args = spec_inputs(name, dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a, b = plain(*args), fused(*args)
            assert max_ulps(a, b, dtype) <= bound, (name, dtype)
    assert fused.traces == plain.traces


# -- what fuses, and what stays -------------------------------------------------------
def chain(x):
    h = x
    for _ in range(3):
        h = cnp.exp(cnp.tanh(cnp.sin(h)) * 0.5) + x
    return cnp.sum(h)


def test_a_chain_and_its_gradient_become_one_loop():
    f = cr.jit(cr.grad(chain), fuse="wait")
    x = rng.normal(size=16)
    f(x)
    (program,) = f.programs
    assert program.n_calls == 1
    for _ in range(5):
        x = rng.normal(size=16)
        assert ulps(f(x), cr.grad(chain)(x), np.float64) <= 4


def test_scalar_program_is_one_compiled_call_returning_a_numpy_scalar():
    f = cr.jit(cr.grad(chain), fuse="wait")
    x = np.float64(0.3)
    f(x)
    out = f(np.float64(-0.7))
    assert type(out) is np.float64
    assert f.programs[0].n_calls == 1


def test_matmul_and_reductions_stay_numpy_calls_between_fused_loops():
    def loss(w, x):
        h = cnp.tanh(x @ w + 1.0) * 2.0 - 1.0
        return cnp.sum(h * h)

    plain, fused = cr.jit(cr.grad(loss)), cr.jit(cr.grad(loss), fuse="wait")
    for _ in range(4):
        w, x = rng.normal(size=(5, 3)), rng.normal(size=(4, 5))
        assert close(plain(w, x), fused(w, x), np.float64)
    source = fused.programs[0].source
    assert fused.programs[0].n_calls < plain.programs[0].n_calls
    assert source.count("f") and "out=" in source


def test_transcendentals_of_large_arrays_stay_numpy_calls():
    def f(x):
        return cnp.tanh(x * 2.0 + 1.0) * 3.0 - 1.0

    fused = cr.jit(f, fuse="wait")
    small, large = np.ones(fusion.LIBM_MAX_SIZE), np.ones(fusion.LIBM_MAX_SIZE + 1)
    fused(small)
    fused(large)
    # small: one loop; large: the arithmetic before tanh, tanh itself, the arithmetic after
    assert sorted(p.n_calls for p in fused.programs) == [1, 3]


def test_identical_groups_share_one_compiled_loop():
    def deep(w, x):
        for _ in range(6):
            x = (x @ w) * 0.5 + 0.25  # one group per layer, between the products
        return cnp.sum(x)

    f = cr.jit(cr.grad(deep), fuse="wait")
    f(np.eye(3), np.ones((2, 3)))
    source = f.programs[0].source
    kernels = {name for name, fun in f.programs[0].replay.__globals__.items()
               if isinstance(fun, np.ufunc) and fun in COMPILED_UFUNCS}
    # the forward groups of the five layers whose results the backward pass reads
    assert max(source.count(f"= {name}(") for name in kernels) == 5


def test_float32_broadcasting_and_buffers_as_unfused():
    def f(x, b):
        return cnp.tanh(x * 2.0 + b) - cnp.sin(b)

    plain, fused = cr.jit(f), cr.jit(f, fuse="wait")
    for shapes in [((3, 4), (4,)), ((3, 1), (1, 4)), ((), (2, 2)), ((5,), ())]:
        for _ in range(3):
            x = rng.normal(size=shapes[0]).astype(np.float32)
            b = rng.normal(size=shapes[1]).astype(np.float32)
            a, c = plain(x, b), fused(x, b)
            assert close(a, c, np.float32)
            assert np.result_type(c) == np.float32
    assert plain.traces == fused.traces


def test_intermediate_read_elsewhere_stays_materialised():
    def f(x):
        t = cnp.sin(x) * 3.0
        return cnp.exp(t) + 1.0, t[::2], cnp.sum(t)

    plain, fused = cr.jit(f), cr.jit(f, fuse="wait")
    for _ in range(3):
        x = rng.normal(size=6)
        assert close(plain(x), fused(x), np.float64)


def test_results_are_never_reused_buffers():
    f = cr.jit(lambda x: cnp.exp(cnp.sin(x) * 2.0) + x, fuse="wait")
    x = rng.normal(size=5)
    first = f(x)
    kept = first.copy()
    f(x + 1.0)
    assert np.array_equal(first, kept)


# -- the soundness contract ------------------------------------------------------------
def test_writes_into_arguments_are_not_moved_across():
    def f(x, s):
        t = cnp.sin(s) * 2.0
        s += 1.0
        return t + s * 3.0

    plain, fused = cr.jit(f), cr.jit(f, fuse="wait")
    s1, s2 = np.linspace(-1, 1, 5), np.linspace(-1, 1, 5)
    for _ in range(4):
        x = rng.normal(size=5)
        a, b = plain(x, s1), fused(x, s2)
        assert close(a, b, np.float64)
        assert np.array_equal(s1, s2)


def test_donated_parameters_are_written_as_unfused():
    def step(params, x):
        g = cr.grad(lambda p: cnp.sum(cnp.tanh(x @ p[0] + p[1]) ** 2))(params)
        return [p - 0.1 * gi for p, gi in zip(params, g, strict=True)]

    plain, fused = cr.jit(step, donate_argnums=0), cr.jit(step, donate_argnums=0, fuse="wait")
    start = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    pa, pb = [p.copy() for p in start], [p.copy() for p in start]
    x = rng.normal(size=(4, 3))
    for _ in range(6):
        old_a, old_b = pa, pb
        pa, pb = plain(pa, x), fused(pb, x)
        for a, b, oa, ob in zip(pa, pb, old_a, old_b, strict=True):
            assert close(a, b, np.float64)
            # the donated memory is written as by the unfused replay
            assert np.shares_memory(a, oa) == np.shares_memory(b, ob)
    assert any(np.shares_memory(a, oa) for a, oa in zip(pa, old_a, strict=True))
    assert plain.traces == fused.traces == 1


def test_guards_read_numpy_bits_so_retraces_are_identical():
    def f(x):
        y = cnp.tanh(x) * 2.0 + 0.1
        if cnp.sum(y) > 0:
            return cnp.exp(y) * 3.0
        return cnp.sin(y) - 1.0

    plain, fused = cr.jit(f), cr.jit(f, fuse="wait")
    for k in range(10):
        x = rng.normal(size=4) + (1.0 if k % 3 else -2.0)
        assert close(plain(x), fused(x), np.float64)
    assert plain.traces == fused.traces


def test_errstate_raise_behaves_as_the_plain_call():
    f = cr.jit(lambda x: cnp.log(cnp.sin(x) * 0.0) + 1.0, fuse="wait")
    f(np.ones(3))
    with pytest.raises(FloatingPointError), np.errstate(divide="raise"):
        f(np.ones(3))
    with np.errstate(divide="ignore"):
        assert np.all(np.isneginf(f(np.ones(3))))


def test_a_fused_nan_is_at_the_same_place_with_a_sign_that_may_differ():
    def f(x):
        return -x * 0.0 + x * 1.0

    fused = cr.jit(f, fuse="wait")
    x = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fused(x)
        got, want = fused(x), f(x)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    finite = ~np.isnan(want)
    assert got[finite].tobytes() == want[finite].tobytes()


def test_nan_inputs_to_fused_comparisons_warn_no_more_than_numpy():
    f = cr.jit(lambda x: cnp.maximum(x * 2.0, 0.0) + 1.0, fuse="wait")
    x = np.array([np.nan, -0.0, 1.0, -np.inf])
    f(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = f(x)
    assert np.array_equal(out, np.maximum(x * 2.0, 0.0) + 1.0, equal_nan=True)


def warning_texts(fun, x) -> set:
    """The categories and the kinds of NumPy's floating-point error that a call warns of."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fun(x)
    return {(w.category, str(w.message).split(" encountered")[0]) for w in caught}


def test_fused_loops_that_compare_still_warn_of_division_by_zero():
    """A loop that compares (maximum) runs with "invalid" reports off, the flag its compiled
    compares of NaN set; it dropped NumPy's division-by-zero warning with them."""
    def f(x):
        return np.maximum(np.log(x) * 2.0 + 1.0 / (x + 1.0), 0.0) * 2.0

    fused = cr.jit(f, fuse="wait")
    x = np.array([0.0, 2.0, 3.0])
    assert warning_texts(f, x) == {(RuntimeWarning, "divide by zero")}
    for _ in range(3):  # the trace, then two replays of the fused loops
        assert warning_texts(fused, x) == {(RuntimeWarning, "divide by zero")}
    assert fused.programs[0].quiet  # a fused loop that compares
    # "invalid value" in such a loop is the documented difference (docs/jit.md)
    assert warning_texts(fused, np.array([-1.0, 2.0])) <= warning_texts(f, np.array([-1.0, 2.0]))


SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, -3.0, np.nan, np.inf, -np.inf, 1e-300, 0.5, 40.0]
OPS = {
    "sin": cnp.sin, "tanh": cnp.tanh, "exp": cnp.exp, "sqrt": lambda h: cnp.sqrt(cnp.abs(h)),
    "half": lambda h: h * 0.5, "square": lambda h: h * h, "relu": lambda h: cnp.maximum(h, 0.0),
    "where": lambda h: cnp.where(h > 0, h, 0.1 * h), "log1p": lambda h: cnp.log1p(cnp.abs(h)),
    "div": lambda h: h / (1.0 + h * h), "min": lambda h: cnp.minimum(h, 1.0),
}


@settings(max_examples=12, deadline=None)
@given(st.lists(st.sampled_from(sorted(OPS)), min_size=2, max_size=6),
       st.sampled_from([np.float64, np.float32]),
       st.lists(st.lists(st.sampled_from(SPECIAL), min_size=5, max_size=5), min_size=3, max_size=3))
def test_random_programs_fused_and_unfused_agree(names, dtype, calls):
    def loss(x):
        h = x
        for name in names:
            h = OPS[name](h) + x * 0.25
        return cnp.sum(h * h)

    def program(x):
        return cr.value_and_grad(loss)(x)

    plain, fused = cr.jit(program), cr.jit(program, fuse="wait")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for values in calls:
            x = np.array(values, dtype=dtype)
            a, b = plain(x), fused(x)
            la, lb = same_kind(a, b)
            for u, v in zip(la, lb, strict=True):
                # where both are finite numbers, within rounding; the same non-finite class
                finite = np.isfinite(u) & np.isfinite(v)
                assert np.array_equal(np.isnan(u), np.isnan(v))
                assert np.array_equal(np.where(finite, 0, u), np.where(finite, 0, v), equal_nan=True)
                scale = np.maximum(np.abs(np.where(finite, u, 0)), 1.0)
                tol = 1e-3 if dtype == np.float32 else 1e-9
                assert np.all(np.abs(np.where(finite, u - v, 0)) <= tol * scale)
    assert plain.traces == fused.traces


# -- without Numba, and the disk cache --------------------------------------------------
def test_without_numba_fuse_warns_once_and_replays_unfused(monkeypatch):
    monkeypatch.setattr(fusion, "_HAS_NUMBA", False)
    monkeypatch.setattr(fusion, "_warned", [False])
    with pytest.warns(UserWarning, match="needs Numba"):
        f = cr.jit(lambda x: cnp.sin(x) * 2.0 + 1.0, fuse="wait")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = cr.jit(lambda x: cnp.sin(x) * 2.0 + 1.0, fuse=True)
    x = rng.normal(size=3)
    assert np.array_equal(f(x), np.sin(x) * 2.0 + 1.0) and np.array_equal(g(x), f(x))
    assert f.programs[0].n_calls == 3


SCRIPT = """
import sys
import numpy as np, chainrule as cr, chainrule.numpy as cnp
f = cr.jit(lambda x: cnp.cos(cnp.exp(x) * 0.25) - x, fuse="wait")
x = np.linspace(0, 1, 7)
print(repr(float(f(x)[3])), f.programs[0].n_calls, "numba" in sys.modules)
print(f(x).tobytes().hex(), f(x[:3]).tobytes().hex(), f(x[0]).tobytes().hex())
"""


def test_a_second_process_loads_the_machine_code_from_the_cache_without_numba(tmp_path):
    env = {"CHAINRULE_FUSED_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT / "src"),
           "PATH": "/usr/bin:/bin", "NUMBA_DEBUG_CACHE": "1"}
    runs = [subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                           check=True).stdout.splitlines() for _ in range(3)]
    assert len(list(tmp_path.glob("*.py"))) == 1 and len(list(tmp_path.glob("*.loops"))) == 1
    assert "data saved" in "\n".join(runs[0])
    value, calls, imported = runs[0][-2].split()
    assert calls == "1" and imported == "True"  # compiled by Numba
    for later in runs[1:]:  # loaded: one fused call, Numba never imported, the same bits
        assert later[-2] == f"{value} 1 False" and later[-1] == runs[0][-1]
        assert not any("data loaded" in line for line in later)


def test_a_loops_file_that_does_not_fit_is_compiled_anew(tmp_path):
    env = {"CHAINRULE_FUSED_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT / "src"),
           "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    (loops,) = tmp_path.glob("*.loops")
    data = loops.read_bytes()
    cut = data[:-100]
    for damaged in (b"", data[:40], cut, cut + b"\0" * 100, data.replace(b"cos", b"xyz"),
                    b"chainrule fused loops 1\n" + b"\xff" * 8):
        loops.write_bytes(damaged)
        again = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                               text=True, check=True).stdout.splitlines()
        assert again[-1] == first[-1] and again[-2].split()[:2] == first[-2].split()[:2]
    assert fusion.fused_objects.load(tmp_path / "absent.loops", ["k"]) is None


LONG_CHAIN = """
import sys
import numpy as np, chainrule as cr, chainrule.numpy as cnp
def chain(x):
    h = x
    for _ in range(30):
        h = cnp.exp(cnp.tanh(cnp.sin(h))) * 0.5 + x
    return cnp.sum(h)
f = cr.jit(cr.grad(chain), fuse="wait")
x = np.linspace(-1, 1, 16)
print(f(x).tobytes().hex(), f.programs[0].n_calls, "numba" in sys.modules)
"""


def test_a_large_kernel_whose_loop_keeps_an_error_path_loads_without_numba(tmp_path):
    # the loop wrapper of a kernel this large keeps Numba's (dead) error path, which
    # names the Python API and Numba's GIL helpers: kept, since the kernel never fails
    env = {"CHAINRULE_FUSED_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT / "src"),
           "PATH": "/usr/bin:/bin"}
    runs = [subprocess.run([sys.executable, "-c", LONG_CHAIN], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    (loops,) = tmp_path.glob("*.loops")
    needs = {n for entry, _ in fusion.fused_objects._read(loops).values() for n in entry["needs"]}
    assert "numba_gil_ensure" in needs
    assert runs[0][:2] == runs[1][:2] and runs[0][2] == "True" and runs[1][2] == "False"


def test_only_kernels_that_never_fail_keep_an_error_path():
    import numba

    quiet = numba.vectorize(["float64(float64)"])(lambda a: a * 2.0 + 1.0)
    def checked(a):
        if a < 0.0:
            raise ValueError("negative")
        return a

    failing = numba.vectorize(["float64(float64)"])(checked)
    (ok,) = quiet._dispatcher.overloads.values()
    (bad,) = failing._dispatcher.overloads.values()
    assert fusion.fused_objects._never_fails(ok) and not fusion.fused_objects._never_fails(bad)
    assert fusion.fused_objects._error_path_only(["numba_gil_ensure", "PyErr_Clear"])
    assert not fusion.fused_objects._error_path_only(["NRT_MemInfo_alloc"])


def test_loops_kept_only_when_they_need_nothing_but_the_math_library():
    assert fusion.fused_objects.undefined_symbols(b"not an object") is None
    assert fusion.fused_objects._from_math_library(["tanhf", "exp", "memcpy"])
    assert not fusion.fused_objects._from_math_library(["PyErr_SetString"])
    assert not fusion.fused_objects._from_math_library(["numba_gil_ensure", "exp"])


def test_fuse_must_be_a_known_mode():
    with pytest.raises(ValueError, match="fuse='fast'"):
        cr.jit(lambda x: x, fuse="fast")


# -- fuse=True: unfused replay until the fused loops are compiled in the background ----
class HeldBack:
    """Stands in for the compiling thread: builds wait until ``release`` runs them."""

    def __init__(self, monkeypatch):
        self.jobs: list = []
        monkeypatch.setattr(fusion, "compile_in_background", self.submit)

    def submit(self, job):
        future = Future()
        self.jobs.append((future, job))
        return future

    def release(self):
        for future, job in self.jobs:
            try:
                future.set_result(job())
            except Exception as e:  # noqa: BLE001 (the future carries it, as the thread's does)
                future.set_exception(e)
        self.jobs.clear()


def test_background_replays_unfused_to_the_last_bit_then_switches(monkeypatch):
    held = HeldBack(monkeypatch)
    plain, fused = cr.jit(cr.grad(chain)), cr.jit(cr.grad(chain), fuse=True)
    xs = [rng.normal(size=16) for _ in range(8)]
    for x in xs[:4]:  # compiling: the unfused program, bit for bit
        assert np.array_equal(plain(x), fused(x))
    assert fused.programs[0].n_calls == plain.programs[0].n_calls > 1
    assert fused.wait_compiled(timeout=0) is False
    assert len(held.jobs) == 1
    held.release()
    for x in xs[4:]:  # compiled: one loop, within the bounds
        assert ulps(fused(x), plain(x), np.float64) <= 4
    assert fused.programs[0].n_calls == 1
    assert fused.wait_compiled(timeout=0) is True
    assert fused.traces == plain.traces == 1


def test_background_each_path_switches_and_retraces_stay_identical(monkeypatch):
    held = HeldBack(monkeypatch)

    def f(x):
        y = cnp.tanh(x) * 2.0 + 0.1
        if cnp.sum(y) > 0:
            return cnp.exp(y) * 3.0 + y
        return cnp.sin(y) - 1.0 * y

    plain, fused = cr.jit(f), cr.jit(f, fuse=True)
    for k in range(12):
        if k == 6:
            held.release()
        x = rng.normal(size=4) + (1.0 if k % 3 else -2.0)
        a, b = plain(x), fused(x)
        assert np.array_equal(a, b) if k < 6 else close(a, b, np.float64)
    assert plain.traces == fused.traces == 2
    calls = sorted(zip(*(sorted(p.n_calls for p in g.programs) for g in (fused, plain)), strict=True))
    assert len(calls) == 2 and all(a < b for a, b in calls)


def test_background_training_step_with_donation_and_rebound_attributes(monkeypatch):
    held = HeldBack(monkeypatch)

    class Counter:
        def __init__(self):
            self.calls = 0

    def step(params, x, counter):
        g = cr.grad(lambda p: cnp.sum(cnp.tanh(x @ p[0] + p[1]) ** 2))(params)
        return [p - 0.1 * (gi * 0.5 + p * 1e-3) for p, gi in zip(params, g, strict=True)]

    plain = cr.jit(step, donate_argnums=0)
    fused = cr.jit(step, donate_argnums=0, fuse=True)
    start = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    pa, pb = [p.copy() for p in start], [p.copy() for p in start]
    x = rng.normal(size=(4, 3))
    for k in range(8):
        if k == 4:
            held.release()
        old_b = pb
        pa, pb = plain(pa, x, None), fused(pb, x, None)
        for a, b in zip(pa, pb, strict=True):
            assert np.array_equal(a, b) if k < 4 else close(a, b, np.float64)
        if k:
            assert any(np.shares_memory(b, ob) for b, ob in zip(pb, old_b, strict=True))
    assert fused.programs[0].n_calls < plain.programs[0].n_calls
    assert plain.traces == fused.traces == 1


def test_background_rebound_attributes_survive_the_switch(monkeypatch):
    held = HeldBack(monkeypatch)
    nn = cr.nn

    class Smoother(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("state", np.zeros(2))

        def forward(self, x):
            self.state = cnp.exp(self.state * 0.5) * 0.1 + x
            return self.state * 1.0

    mine, theirs = Smoother(), Smoother()
    jitted = cr.jit(lambda m, x: m(x), fuse=True)
    with cr.no_grad():
        for k in range(6):
            if k == 3:
                held.release()
            got, want = jitted(mine, np.ones(2) * k), theirs(np.ones(2) * k)
            assert close(got, want, np.float64)  # eager Tensors, as the plain call gives
            assert close(mine.state, theirs.state, np.float64)
    assert jitted.traces == 1 and jitted.programs[0].n_calls == 2


def test_background_compile_error_warns_and_keeps_the_unfused_program(monkeypatch):
    held = HeldBack(monkeypatch)

    def broken(ops, values, out_templates):
        raise RuntimeError("no compiler today")

    monkeypatch.setattr(fusion, "fuse_elementwise", broken)
    f = cr.jit(lambda x: cnp.sin(x) * 2.0 + 1.0, fuse=True)
    x = rng.normal(size=3)
    f(x)
    held.release()
    with pytest.warns(UserWarning, match="no compiler today"):
        assert np.array_equal(f(x), np.sin(x) * 2.0 + 1.0)
    assert f.programs[0].n_calls == 3 and f.programs[0].upgrade is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(f(x), np.sin(x) * 2.0 + 1.0)


def test_background_build_finishing_after_clear_is_dropped(monkeypatch):
    held = HeldBack(monkeypatch)
    f = cr.jit(lambda x: cnp.sin(x) * 2.0 + 1.0, fuse=True)
    x = rng.normal(size=3)
    f(x)
    f.clear()
    held.release()
    assert f.programs == [] and f.wait_compiled(timeout=0)
    assert np.array_equal(f(x), np.sin(x) * 2.0 + 1.0) and f.traces == 2


def test_background_program_with_nothing_to_fuse_stays_as_it_is(monkeypatch):
    held = HeldBack(monkeypatch)
    f = cr.jit(lambda x: cnp.sum(x) * 2.0, fuse=True)
    f(np.ones(3))
    (program,) = f.programs
    held.release()
    f(np.ones(3))
    assert f.programs == [program]


def test_background_compiles_on_a_real_thread():
    f = cr.jit(cr.grad(chain), fuse=True)
    x = rng.normal(size=16)
    first = f(x)
    assert np.array_equal(first, cr.jit(cr.grad(chain))(x))  # the unfused program, exactly
    assert f.wait_compiled(timeout=120)
    assert f.programs[0].n_calls == 1
    assert ulps(f(x), first, np.float64) <= 4


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_background_a_process_forked_while_compiling_replays_unfused(monkeypatch):
    held = HeldBack(monkeypatch)
    f = cr.jit(lambda x: cnp.sin(x) * 2.0 + 1.0, fuse=True)
    x = rng.normal(size=3)
    f(x)
    (future, _job), = held.jobs
    future.pid = os.getpid() + 1  # as if a parent process had started the build
    assert fusion.orphaned(future)
    assert f.wait_compiled(timeout=None)  # does not wait for a thread that is not here
    assert np.array_equal(f(x), np.sin(x) * 2.0 + 1.0)
    assert f.programs[0].n_calls == 3 and f.programs[0].upgrade is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_background_compiling_works_in_a_forked_child():
    f = cr.jit(lambda x: cnp.sin(x) * 2.0 + 1.0, fuse=True)
    x = rng.normal(size=3)
    f(x)
    assert f.wait_compiled(timeout=120)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a new build on a new thread of its own
        ok = False
        try:
            g = cr.jit(lambda x: cnp.cos(x) * 3.0 - 1.0, fuse=True)
            g(x)
            ok = g.wait_compiled(timeout=120) and g.programs[0].n_calls == 1
        finally:
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.close(read)
    os.waitpid(pid, 0)


def test_background_switch_seen_by_two_callers_at_once(monkeypatch):
    held = HeldBack(monkeypatch)
    f = cr.jit(lambda x: cnp.sin(x) * 2.0 + 1.0, fuse=True)
    x = rng.normal(size=3)
    f(x)
    held.release()
    (programs,) = [progs for entries in f._cache.values() for _, progs in entries]
    unfused = programs[0]
    fused = f._upgrade(programs, 0)  # one caller switches ...
    assert f._upgrade([unfused], 0) is unfused  # ... the other finds nothing left to do
    assert programs == [fused] and fused.n_calls == 1


def _edge_values(char: str, n: int):
    if char == "?":
        return rng.integers(0, 2, n).astype(bool)
    dtype = np.dtype(char)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, 1e-30, 1e30], dtype)
    normal = (rng.normal(size=n) * 10.0 ** rng.integers(-3, 3, n)).astype(dtype)
    return np.concatenate([special, normal])[:n]


def test_zz_every_kernel_compiled_here_loads_from_its_file_to_the_same_bits(kernel_cache):
    """Runs last in this module: each kernel module that the tests above compiled with
    Numba is loaded again from the machine code written beside it, as a new process
    does, and both ufuncs run on the same inputs (NaN, infinities, signed zeros, random
    values) with the same bits out."""
    checked = 0
    for digest, made in fusion._made.items():
        path = fusion.fused_objects.path_for(kernel_cache, digest)
        if not path.exists():
            continue
        names = list(made)
        loaded = fusion.fused_objects.load(path, names)
        assert loaded is not None, path
        for name, again in zip(names, loaded, strict=True):
            compiled = made[name]
            assert again is not compiled and again.types == compiled.types
            assert again.signature == compiled.signature
            (types,) = compiled.types
            if compiled.signature is None:
                inputs = [_edge_values(c, 40) for c in types.split("->")[0]]
            else:  # a chain ending in a reduction: core dimensions named n<size>
                shapes = [[int(n[1:]) for n in core.split(",") if n]
                          for core in compiled.signature.split("->")[0][1:-1].split("),(")]
                inputs = [_edge_values(c, int(np.prod(shape))).reshape(shape)
                          for c, shape in zip(types.split("->")[0], shapes, strict=True)]
            with np.errstate(all="ignore"):
                a, b = compiled(*inputs), again(*inputs)
            for x, y in zip(*((a, b) if isinstance(a, tuple) else ((a,), (b,))), strict=True):
                assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name
            checked += 1
    assert checked >= 20
