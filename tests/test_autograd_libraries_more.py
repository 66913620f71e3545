"""More libraries and programs built on HIPS autograd, run on chainrule unchanged.

Trimmed from their published code, in its style: PennyLane's autograd interface (its
``numpy.tensor`` ndarray subclass, ``tensor_wrapper`` over every ``autograd.numpy``
function, ``qml.grad`` built on ``autograd.core.make_vjp`` and ``unary_to_nary``, and
circuits executed by one primitive whose first argument is
``autograd.builtins.tuple([autograd.builtins.list(params), ...])`` and whose vjp is the
parameter-shift rule), paragami's patterns (a primitive filling a matrix by assignment,
with its own vjp and jvp; ``np.make_diagonal``; forward rules it adds for ``solve``,
``inv`` and ``slogdet``), and viabel's variational objectives (a Stan-like log density as
a primitive, control variates from ``hessian`` and ``make_hvp``, ``getval`` for the
path derivative, Student-t families), mici's differential operators (Hessians and
third derivatives from ``make_vjp`` of ``autograd.builtins.tuple`` results) and momi2's
(convolutions as primitives whose vjps are primitives, masks and concatenation), with
autograd-gamma, geomstats' autograd backend, autoptim, google-research's
neural-structural-optimization, a Gaussian process fitted with scipy.optimize, and
autograd.extend as libraries use it; their sources are in
autograd_library_programs*.py. They run in a process with autograd and in one with
autograd resolved to chainrule (the import hook of docs/autograd.md); the numbers must
agree to 1e-10. The small tests below pin each piece that was missing.
"""

import os
import pickle
import subprocess
import sys

import numpy as onp
import pytest

import autograd_library_programs
import autograd_library_programs_2
import autograd_library_programs_3
import chainrule
import chainrule.numpy as cnp
from chainrule.extend import defvjp, primitive
from test_autograd_api import assert_same
from test_autograd_libraries import SRC, agree, needs

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")
aextend = pytest.importorskip("autograd.extend")


# Every program, each in a namespace of its own, in one process per library
# (STICKING_THE_LANDING first: it reaches autograd.core as an attribute of the package
# before anything imports it; PARAGAMI last: it gives autograd.numpy's solve, inv and
# slogdet forward rules of its own).
ORDER = ["STICKING_THE_LANDING", "GEOMSTATS", "PENNYLANE", "VIABEL", "MICI", "MOMI", "AUTOGRAD_GAMMA",
         "GAUSSIAN_PROCESS", "EXTEND", "AUTOPTIM", "STRUCTURAL_OPTIMIZATION", "PARAGAMI"]
RUNNER = """
import json
results = {{}}
for name, source in {sources!r}:
    namespace = {{"__name__": "__main__"}}
    exec(compile(source.replace("print(json.dumps(res))", ""), name, "exec"), namespace)
    results["library"] = namespace["res"].pop("library")
    results[name] = namespace["res"]
print(json.dumps(results))
"""


@needs("autograd", "scipy")
def test_library_programs_agree():
    modules = (autograd_library_programs, autograd_library_programs_2, autograd_library_programs_3)
    sources = {name: getattr(m, name) for m in modules for name in dir(m) if name.isupper()}
    assert sorted(sources) == sorted(ORDER)
    agree(RUNNER.format(sources=[(name, sources[name]) for name in ORDER]))


def sum_of_groups(ag, np, ext):
    """A primitive of one's own taking a tuple of lists of values, as PennyLane's
    ``_execute(parameters, ...)``; its vjp gives a tuple of arrays, one per list. The
    Hessian runs forward over reverse in chainrule (the forward rule is the vjp's
    transpose), reverse over reverse in autograd."""

    @ext.primitive
    def weighted(groups, scale):
        return scale * onp.array([onp.sum(onp.sin(g)) for g in groups])

    ext.defvjp(weighted, lambda ans, groups, scale: lambda g: tuple(
        g[i] * scale * np.cos(np.array(grp)) for i, grp in enumerate(groups)),
        lambda ans, groups, scale: lambda g: np.sum(g * ans) / scale)

    def f(x):
        groups = ag.builtins.tuple([ag.builtins.list([x[0], x[1] * 2.0]), ag.builtins.list([x[2]])])
        return np.sum(weighted(groups, x[3]) ** 2)

    x = onp.array([0.3, -0.4, 1.1, 1.5])
    return ag.grad(f)(x), ag.hessian(f)(x)


def ragged_outputs(ag, np, ext):
    """A primitive of one's own returning a tuple of arrays of different shapes; its vjp
    receives zeros for the output that is not used. Forward mode cannot transpose a vjp
    of several outputs: jacobian, hessian and the Hessian-vector products run reverse mode
    there, as autograd's do."""

    @ext.primitive
    def split(x):
        return onp.sin(x[:2]), onp.cos(x[2:]) * 3.0

    ext.defvjp(split, lambda ans, x: lambda g: np.concatenate([g[0] * np.cos(x[:2]), -3.0 * g[1] * np.sin(x[2:])]))
    x = onp.array([0.3, -0.4, 1.1])
    first, second = ag.grad(lambda x: np.sum(split(x)[0] ** 2))(x), ag.grad(lambda x: np.sum(split(x)[1]))(x)
    a, b = ag.jacobian(lambda x: split(x)[1])(x), ag.jacobian(lambda x: np.concatenate(split(x)))(x)
    f = lambda x: np.sum(split(x)[0] ** 2) + np.sum(split(x)[1] ** 3)  # noqa: E731
    v = onp.array([1.0, -2.0, 0.5])
    return first, second, a, b, ag.hessian(f)(x), ag.make_hvp(f)(x)[0](v), ag.hessian_tensor_product(f)(x, v)


def plain_numpy_vjp(ag, np, ext):
    """A vjp written with plain NumPy (``onp.array`` of the cotangent's entries): chainrule's
    jacobian, which maps the backward pass over all rows at once, computes row by row
    there, as autograd's does."""

    @ext.primitive
    def scaled(x):
        return x * onp.array([1.0, 2.0, 3.0])

    ext.defvjp(scaled, lambda ans, x: lambda g: onp.array([g[0] * 1.0, g[1] * 2.0, g[2] * 3.0]))
    x = onp.array([0.3, -0.4, 1.1])
    return ag.jacobian(lambda x: scaled(x)[:2] ** 2)(x), ag.jacobian(lambda x: np.sin(scaled(x)))(x)


@pytest.mark.parametrize("program", [sum_of_groups, ragged_outputs, plain_numpy_vjp])
def test_primitive_of_ones_own_agrees(program):
    ours = program(chainrule, cnp, chainrule.extend)
    assert_same(program(autograd, anp, aextend), ours)


def test_container_argument_reaches_the_function_as_plain_values():
    seen = []

    @primitive
    def total(pair):
        seen.append((type(pair), [type(v) for v in pair[1]]))
        return pair[0] + sum(pair[1])

    defvjp(total, lambda ans, pair: lambda g: (g, [g, 2 * g]))
    g = chainrule.grad(lambda x: total((x, [x * x, 3.0])) ** 2)(1.5)
    assert seen[-1] == (tuple, [onp.float64, float])
    x = 1.5
    assert g == pytest.approx(2 * (x + x * x + 3.0) * (1 + 2 * x))


def test_box_tables_take_registrations():
    """PennyLane writes ``Box.type_mappings[tensor] = maker``; chainrule boxes every
    ndarray subclass itself."""
    from chainrule.tracer import Box

    class Marked(onp.ndarray):
        pass

    Box.type_mappings[Marked] = lambda x, *args: None
    try:
        x = onp.array([0.5, 1.0]).view(Marked)
        assert onp.allclose(chainrule.grad(lambda x: cnp.sum(cnp.sin(x)))(x), onp.cos([0.5, 1.0]))
    finally:
        del Box.type_mappings[Marked]
    assert isinstance(Box.types, set)


def test_differential_operators_has_the_names_libraries_reach_through_it():
    """geomstats calls autograd.differential_operators._make_vjp(fun, x) and .vspace."""
    ado = pytest.importorskip("autograd.differential_operators")
    from chainrule import differential_operators as cdo

    x = onp.array([0.3, -0.4])
    (vjp_a, ans_a), (vjp_c, ans_c) = (m._make_vjp(lambda v: v ** 3, x) for m in (ado, cdo))
    assert_same((vjp_a(onp.ones(2)), ans_a), (vjp_c(onp.ones(2)), ans_c))
    assert_same(ado._make_jvp(cnp.sin, x)(x)[1], cdo._make_jvp(cnp.sin, x)(x)[1])
    assert cdo.vspace(x).shape == ado.vspace(x).shape and callable(cdo.primitive)
    assert cdo.defvjp_argnum is chainrule.extend.defvjp_argnum and cdo.atuple is tuple


def test_extend_is_an_attribute_of_the_package():
    """`import autograd` makes autograd.extend an attribute (geomstats calls
    autograd.extend.primitive without importing it); in a fresh process."""
    code = "import chainrule; print(chainrule.extend.primitive.__module__)"
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _cube(x):
    return x ** 3


def test_primitive_of_ones_own_pickles_with_its_function():
    """A primitive made from a module-level function pickles (it did before tuple
    results were told apart; a closure there broke it)."""
    again = pickle.loads(pickle.dumps(primitive(_cube)))
    assert again(2.0) == 8.0 and again.fun(3.0) == 27.0


def test_primitive_returning_a_dict_is_differentiated():
    """autograd boxes a dict result as a DictBox (tidy3d's web.run returns one): the caller
    gets a dict, and the vjp a dict of cotangents, zeros for the entries not used."""

    @primitive
    def stats(v):
        return {"mean": onp.mean(v), "sq": v ** 2}

    seen = []

    def vjp_maker(ans, v):
        seen.append(sorted(ans))

        def vjp(g):
            seen.append(sorted(g))
            return g["mean"] * onp.ones_like(v) / v.size + 2 * g["sq"] * v
        return vjp

    defvjp(stats, vjp_maker)
    assert stats(onp.array([1.0, 3.0]))["mean"] == 2.0  # called on plain values: the function
    v = onp.array([1.0, 3.0])
    onp.testing.assert_allclose(chainrule.grad(lambda v: stats(v)["mean"])(v), [0.5, 0.5], rtol=1e-15)
    onp.testing.assert_allclose(chainrule.grad(lambda v: onp.sum(stats(v)["sq"]) * 3.0)(v), 6 * v, rtol=1e-15)
    assert seen == [["mean", "sq"]] * 4
