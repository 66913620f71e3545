import os
import random
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.tensor import PRINT_OPTIONS

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # installed by the test extra; without it, only its tests fail
    settings = None
if settings is not None:
    # By default every run draws the same examples, so a failing run points at a change in
    # the code, not at the programs chance drew. HYPOTHESIS_PROFILE=explore draws new ones
    # at each run: the way to hunt for new failures.
    # No deadline nor too_slow health check: the tests run on as many processes as there are
    # cores (pytest-xdist), where an example's time measures the machine's load, not the code.
    unhurried = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
    settings.register_profile("repeatable", derandomize=True, database=None, **unhurried)
    settings.register_profile("explore", derandomize=False, **unhurried)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture
def one_torch_thread():
    """PyTorch on one thread for the test: its intra-op threads only spin and wait on
    programs as small as the tests' (several times slower on a busy machine)."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _initial_default_dtypes():
    """Tests set the default dtype as scripts do; the next test starts from the initial
    defaults again (float32 parameters, float64 Python floats), whatever the order."""
    yield
    cr.set_default_dtype(None)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_default_dtype(torch.float32)


def _global_settings():
    return (cr.is_grad_enabled(), cr.autograd.is_anomaly_enabled(), cr.autograd.is_anomaly_check_nan_enabled(),
            cr.get_float32_matmul_precision(), cr.are_deterministic_algorithms_enabled(), dict(PRINT_OPTIONS),
            np.get_printoptions())


@pytest.fixture(autouse=True)
def _global_settings_restored():
    """A test that leaves a global setting changed (grad mode, anomaly detection, matmul
    precision, deterministic algorithms, Tensor's or NumPy's print options; doctests set
    print options) would change what the tests after it in its process see, and which
    tests those are depends on pytest-xdist's placement: each setting is put back."""
    saved = _global_settings()
    yield
    if _global_settings() != saved:
        grad, anomaly, check_nan, precision, deterministic, print_options, numpy_print_options = saved
        cr.set_grad_enabled(grad)
        cr.autograd.set_anomaly_mode(anomaly, check_nan)
        cr.set_float32_matmul_precision(precision)
        cr.use_deterministic_algorithms(deterministic)
        PRINT_OPTIONS.clear()
        PRINT_OPTIONS.update(print_options)
        np.set_printoptions(**numpy_print_options)


TESTS = Path(__file__).resolve().parent
# The salt of every test's seeds: CHAINRULE_TEST_SEED=7 python -m pytest draws other data
# for every test, the way to find a test that passes only for the numbers it happens to get
SEED_SALT = int(os.environ.get("CHAINRULE_TEST_SEED", "0")) % 2**32
_UNGROUPED_NODEID = pytest.StashKey[str]()
_HELPERS = {"count": -1, "modules": ()}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """The tests that launch ``mpiexec -n 2`` run one at a time, on one worker of
    pytest-xdist (``--dist loadgroup``): two jobs at once would oversubscribe the cores, and
    their timeouts would measure the load. tryfirst: before xdist adds the group's name to
    the node ids, whose ids the seeds are made from (the same with and without xdist)."""
    for item in items:
        item.stash[_UNGROUPED_NODEID] = item.nodeid
        if (TESTS / "distributed") in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("mpi"))


def pytest_configure(config):
    """Under pytest-xdist, each worker's BLAS, PyTorch and XLA (JAX) use one thread: the
    workers already fill the cores, and more threads only wait on each other (XLA's pool
    ignores OMP_NUM_THREADS). Set here, in the process that starts the workers, so that
    they inherit it before importing NumPy."""
    if getattr(config.option, "numprocesses", 0) and not hasattr(config, "workerinput"):
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, "1")
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


def _helper_modules():
    """The modules under tests/ other than test modules (finite_differences, the program
    collections...): they hold generators that tests of many modules draw from."""
    if _HELPERS["count"] != len(sys.modules):
        _HELPERS["count"] = len(sys.modules)
        found = []
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None)
            if path and Path(path).name != "conftest.py" and not Path(path).name.startswith("test_") \
                    and Path(path).resolve().is_relative_to(TESTS):
                found.append((name, module))
        _HELPERS["modules"] = tuple(sorted(found, key=lambda pair: pair[0]))
    return _HELPERS["modules"]


def _generators(namespaces):
    """(name, generator) for each NumPy Generator, RandomState and random.Random bound in
    the namespaces, each object once, under the first name met (a deterministic order)."""
    seen = set()
    for prefix, namespace in namespaces:
        for name, value in list(namespace.items()):
            if isinstance(value, (np.random.Generator, np.random.RandomState, random.Random)) \
                    and id(value) not in seen:
                seen.add(id(value))
                yield prefix + name, value


def reseed(nodeid, module=None, cls=None):
    """Reseed, from the test's id and the salt, every generator the test may draw from
    without being given one: those bound at the top of its module (and of its class), of
    the helper modules under tests/, NumPy's and Python's global ones, chainrule's global
    generator and PyTorch's. A test then gets the same data whichever tests ran before it
    in its process, so pytest-xdist's placement of tests on workers changes nothing."""
    test_key = zlib.crc32(nodeid.encode())
    namespaces = [(name + ".", vars(helper)) for name, helper in _helper_modules()]
    if cls is not None:
        namespaces.insert(0, ("class.", vars(cls)))
    if module is not None:
        namespaces.insert(0, ("", vars(module)))
    for name, generator in _generators(namespaces):
        seeds = np.random.SeedSequence([SEED_SALT, test_key, zlib.crc32(name.encode())])
        if isinstance(generator, np.random.Generator):
            bit_generator = generator.bit_generator
            bit_generator.state = type(bit_generator)(seeds).state
        else:  # RandomState and random.Random take a 32-bit seed
            generator.seed(int(seeds.generate_state(1)[0]))
    seed = int(np.random.SeedSequence([SEED_SALT, test_key]).generate_state(1)[0])
    np.random.seed(seed)
    random.seed(seed)
    cr.manual_seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:  # the CPU generator alone: torch.manual_seed also queues CUDA's, with a traceback
        torch.default_generator.manual_seed(seed)


@pytest.fixture(autouse=True)
def _reseeded_generators(request):
    """Every test starts from generators seeded from its own id (see :func:`reseed`)."""
    node = request.node
    module = getattr(node, "module", None)
    cls = getattr(node, "cls", None)
    reseed(node.stash.get(_UNGROUPED_NODEID, node.nodeid), module, cls)
