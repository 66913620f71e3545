"""More programs built on HIPS autograd, run on chainrule unchanged (part 5).

Written in the style of the published code of tidy3d (its ``web.run``: a primitive taking and
returning dicts of fields; its autograd plugin: ``ArrayBox`` patched
in place with its own ``__array_function__``, which defers unless every type is a key of
``ArrayBox.type_mappings``; ``numpy_wrapper._astype`` given a forward rule; convolution and
grey morphology through ``autograd.scipy.signal.convolve``; ``value_and_grad`` with auxiliary
data, whose vjp is called with ``None`` for the auxiliary part), PennyLane's
``qml.math.is_independent`` (``new_box`` of a tuple of arguments on a trace from
``autograd.tracer.trace_stack``), meep's adjoint filters (FFT convolution, ``np.gradient``,
``tensor_jacobian_product``), reliability's censored fits with Hessian covariances, spey's
simplified likelihoods, and autograd's older extension API (``defvjp_argnum``, ``def_linear``,
``notrace_primitive``, VSpace arithmetic); their sources are in autograd_library_programs_5.py and _6.py.
As in test_autograd_libraries_more.py, they run in a process with autograd and in one with
autograd resolved to chainrule, and the numbers must agree to 1e-10. The small tests below
pin each piece that was missing, with autograd as the witness.
"""

import numpy as onp
import pytest

import autograd_library_programs_5
import autograd_library_programs_6
import chainrule
from chainrule.core.errors import TensorError
from test_autograd_api import assert_same, mod
from test_autograd_libraries import agree, needs
from test_autograd_libraries_more import RUNNER

# TIDY3D patches ArrayBox for the whole process: last
ORDER = ["AUTOGRAD_INTERNALS", "PENNYLANE_INDEPENDENCE", "MEEP_ADJOINT", "RELIABILITY", "SPEY", "TIDY3D_WEB_RUN",
         "TIDY3D"]


@needs("autograd", "scipy", "autograd_gamma")
def test_library_programs_agree():
    modules = (autograd_library_programs_5, autograd_library_programs_6)
    sources = {name: getattr(m, name) for m in modules for name in dir(m) if name.isupper()}
    assert sorted(sources) == sorted(ORDER)
    agree(RUNNER.format(sources=[(name, sources[name]) for name in ORDER]))


def _mod(ag, name: str):
    """autograd's submodule ``name``, or chainrule's module in its place."""
    return mod(ag, "autograd_core" if ag.__name__ == "chainrule" and name == "core" else name)


def _both(program):
    """The program's results with autograd and with chainrule."""
    return program(pytest.importorskip("autograd")), program(chainrule)


def value_grad_and_aux(ag):
    """tidy3d's value_and_grad(has_aux=True): make_vjp of autograd.builtins.tuple, then the
    vjp of (ones, None), None standing for a zero cotangent of the whole auxiliary part."""
    np, vspace = _mod(ag, "numpy"), _mod(ag, "extend").vspace
    x = onp.array([0.3, -0.8, 1.1])

    def fun(x):
        return np.sum(np.sin(x) * x), {"power": x ** 2, "itp": (np.cos(x), 2.0 * x)}

    vjp, (ans, aux) = _mod(ag, "core").make_vjp(lambda x: _mod(ag, "builtins").tuple(fun(x)), x)
    g = vjp((vspace(ans).ones(), None))
    return float(ans), g, aux["power"], g.shape


def test_a_vjp_takes_none_for_a_part_of_the_output():
    theirs, ours = _both(value_grad_and_aux)
    assert_same(theirs, ours)
    x = onp.array([0.3, -0.8, 1.1])
    onp.testing.assert_allclose(ours[1], onp.cos(x) * x + onp.sin(x), rtol=1e-14)
    # JAX's vjp, as JAX's, wants a cotangent for every part
    _, pull = chainrule.vjp(lambda x: (x ** 2, x), x)
    with pytest.raises(TensorError, match="does not match the output"):
        pull((x, None))


def astype_with_forward_rule(ag):
    """numpy_wrapper._astype, the primitive behind ndarray.astype (tidy3d gives it a
    forward rule of its own, in the program above)."""
    np, wrapper = _mod(ag, "numpy"), _mod(ag, "numpy.numpy_wrapper")
    x = onp.array([0.5, -1.5, 2.0])
    g = ag.grad(lambda x: np.sum(wrapper._astype(x * 2.0, np.float64) ** 3))(x)
    pull, out = ag.make_vjp(lambda x: wrapper._astype(x, np.float32) * 2.0)(x)
    return g, pull(onp.ones(3, np.float32)), str(out.dtype)


def test_numpy_wrapper_has_astype():
    theirs, ours = _both(astype_with_forward_rule)
    assert_same(theirs, ours)
    onp.testing.assert_allclose(ours[0], 24 * onp.array([0.5, -1.5, 2.0]) ** 2, rtol=1e-14)


def box_type_table(ag):
    """ArrayBox.type_mappings, what tidy3d's __array_function__ reads: value types and box
    types to the box type that wraps them."""
    boxes = _mod(ag, "numpy.numpy_boxes")
    table, box = boxes.ArrayBox.type_mappings, boxes.ArrayBox
    builtins = _mod(ag, "builtins")
    return ([table[t] is box for t in (onp.ndarray, box, float, complex, onp.float64, onp.float32,
                                       onp.complex128)],
            [table[list] is builtins.SequenceBox, table[tuple] is builtins.SequenceBox,
             table[dict] is builtins.DictBox],
            table is _mod(ag, "tracer").Box.type_mappings, box in _mod(ag, "tracer").Box.types,
            int in table)


def test_arraybox_has_the_type_table():
    theirs, ours = _both(box_type_table)
    assert_same(theirs, ours)
    assert ours[0] == [True] * 7


def independence(ag):
    """PennyLane's is_independent: new_box of the tuple of arguments on a trace of
    trace_stack, the function called on its items; then backward_pass from such boxes."""
    np, tracer = _mod(ag, "numpy"), _mod(ag, "tracer")
    node = _mod(ag, "core").VJPNode.new_root()
    x, y = onp.array([0.2, 9.1, -3.2]), onp.array([[0.5, -0.25], [1.0, 2.0]])
    # depths are counted from the stack's top on entry: autograd's new_trace does not undo
    # its count when the body raises, so earlier programs that raised inside a trace leave
    # its top higher
    base = tracer.trace_stack.top

    def depends(func, *args):
        with tracer.trace_stack.new_trace() as t:
            start = tracer.new_box(args, t, node)
            end = func(*start)
        return tracer.isbox(end) and end._trace == start._trace

    seen = [depends(lambda a, b: np.sin(a) * np.sum(b), x, y), depends(lambda a, b: np.ones(3), x, y),
            depends(lambda a, b: 0.0 * b, x, y), depends(ag.jacobian(lambda a, b: np.dot(a, x)), x, y)]
    with tracer.trace_stack.new_trace() as t:
        start = tracer.new_box([x, y, 2.0], t, node)
        end = np.sum(np.exp(start[0]) * start[2]) + np.sum(start[1][0] ** 2)
        depth = tracer.trace_stack.top - base
    g = _mod(ag, "core").backward_pass(1.0, end._node)
    return (seen, type(g).__name__, g[0], g[1], float(g[2]), tracer.isbox(start), depth,
            tracer.trace_stack.top - base)


def test_new_box_of_a_tuple_on_a_trace_of_trace_stack():
    theirs, ours = _both(independence)
    assert_same(theirs, ours)
    x = onp.array([0.2, 9.1, -3.2])
    assert ours[0] == [True, False, True, False]
    onp.testing.assert_allclose(ours[2], 2.0 * onp.exp(x), rtol=1e-14)
    onp.testing.assert_allclose(ours[4], onp.sum(onp.exp(x)), rtol=1e-14)


def functions_set_on_the_box_class(ag):
    """tidy3d patches ArrayBox with autograd.numpy's functions (``ArrayBox.conj =
    anp.conj``): they are methods of the value being differentiated, as functions are."""
    np, box = _mod(ag, "numpy"), _mod(ag, "numpy.numpy_boxes").ArrayBox
    box.patched_conj, box.patched_exp = np.conj, np.exp
    try:
        z = onp.array([0.5, -1.0])
        return ag.grad(lambda x: np.sum(np.imag(x.patched_conj() * (1.0 + 2.0j)) * x.patched_exp()))(z)
    finally:
        del box.patched_conj, box.patched_exp


def test_functions_set_on_the_box_class_are_its_methods():
    theirs, ours = _both(functions_set_on_the_box_class)
    assert_same(theirs, ours)
    z = onp.array([0.5, -1.0])
    onp.testing.assert_allclose(ours, 2.0 * (1.0 + z) * onp.exp(z), rtol=1e-14)  # d/dz of 2 z e^z


class _Activation:
    act = chainrule.numpy.tanh  # the mirror's function on another class: unbound, as a ufunc


def test_mirror_functions_on_other_classes_stay_unbound():
    onp.testing.assert_allclose(_Activation().act(onp.array([0.3])), onp.tanh([0.3]), rtol=1e-15)


def dict_primitive(ag):
    """tidy3d's web.run: a primitive of autograd.builtins.dict of fields returning a dict
    (here holding a list of a dict and an array); the vjp maker sees it as returned, the
    vjp its cotangent of the same structure (zeros where unused)."""
    np, ext = _mod(ag, "numpy"), _mod(ag, "extend")
    seen = []

    @ext.primitive
    def run(fields, scale):
        flux = onp.sum(fields["verts"] ** 3)
        return {"amps": fields["eps"] ** 2 * scale, "more": [{"flux": flux}, fields["eps"] * 0]}

    def run_bwd(ans, fields, scale):
        seen.append(sorted(ans))

        def vjp(g):
            seen.append(sorted(g))
            return {"eps": 2 * fields["eps"] * scale * g["amps"] + 0 * g["more"][1],
                    "verts": 3 * fields["verts"] ** 2 * g["more"][0]["flux"]}
        return vjp

    ext.defvjp(run, run_bwd)

    def objective(p):
        data = run(_mod(ag, "builtins").dict({"eps": p[:2] * 1.5, "verts": np.sin(p[2:])}), 0.5)
        return np.sum(data["amps"] ** 2) + data["more"][0]["flux"]

    p = onp.array([0.4, -1.1, 0.7, 0.2])
    return objective(p), ag.grad(objective)(p), seen, sorted(run({"eps": 1.0, "verts": onp.ones(2)}, 2.0))


def test_primitive_of_dicts():
    theirs, ours = _both(dict_primitive)
    assert_same(theirs, ours)
    p = onp.array([0.4, -1.1, 0.7, 0.2])

    def plain(p):
        eps, verts = p[:2] * 1.5, onp.sin(p[2:])
        return onp.sum((eps ** 2 * 0.5) ** 2) + onp.sum(verts ** 3)

    fd = [(plain(p + h) - plain(p - h)) / 2e-6 for h in onp.eye(4) * 1e-6]
    onp.testing.assert_allclose(ours[1], fd, rtol=1e-7)


def box_subclass_of_arraybox(ag):
    """A box class of one's own, ``class ParamBox(ArrayBox)`` registered for an ndarray
    subclass: the value is boxed in it, so its properties read the value's attributes,
    in reverse mode, forward mode and both (a Hessian)."""
    np, ext = _mod(ag, "numpy"), _mod(ag, "extend")
    vspaces = _mod(ag, "numpy.numpy_vspaces")

    class Param(onp.ndarray):
        def __new__(cls, a, fixed=False):
            obj = onp.asarray(a, float).view(cls)
            obj.fixed = fixed
            return obj

        def __array_finalize__(self, obj):
            self.fixed = getattr(obj, "fixed", False)

    class ParamBox(_mod(ag, "numpy.numpy_boxes").ArrayBox):
        @property
        def fixed(self):
            return self._value.fixed

    ParamBox.register(Param)
    ext.VSpace.register(Param, lambda x: vspaces.ArrayVSpace(x))

    def f(p):
        return np.sum(np.exp(p) * (3.0 if p.fixed else 1.0))

    p = Param([0.1, 0.2], fixed=True)
    return ag.grad(f)(p), ag.hessian(f)(p), ag.make_jvp(lambda p: np.exp(p) * p.fixed)(p)(onp.ones(2))


def test_box_subclass_of_arraybox_boxes_its_type():
    theirs, ours = _both(box_subclass_of_arraybox)
    assert_same(theirs, ours)
    e = onp.exp([0.1, 0.2])
    onp.testing.assert_allclose(ours[0], 3 * e, rtol=1e-15)
    onp.testing.assert_allclose(ours[1], onp.diag(3 * e), rtol=1e-15)
