"""torch.autograd's smaller spellings: Variable, set_detect_anomaly, gradcheck (against
PyTorch's verdicts on correct and wrong backward passes)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def test_variable_is_a_tensor_that_may_require_grad():
    base = cr.ones(3)
    assert cr.autograd.Variable(base) is base
    v = cr.autograd.Variable(base, requires_grad=True)
    assert v.requires_grad and v.is_leaf
    (v * 2).sum().backward()
    assert v.grad.tolist() == [2.0, 2.0, 2.0]
    assert cr.autograd.Variable([1.0, 2.0]).tolist() == [1.0, 2.0]


def test_set_detect_anomaly_globally_and_as_a_context():
    assert not cr.is_anomaly_enabled()
    cr.autograd.set_detect_anomaly(True)
    try:
        assert cr.is_anomaly_enabled()
        x = cr.tensor([0.0], requires_grad=True)
        with pytest.raises(FloatingPointError, match="sqrt"):
            cr.sqrt(x).sum().backward()
        with cr.autograd.set_detect_anomaly(False):
            assert not cr.is_anomaly_enabled()
        assert cr.is_anomaly_enabled()
    finally:
        cr.autograd.set_detect_anomaly(False)
    assert not cr.is_anomaly_enabled()
    with cr.autograd.set_detect_anomaly(True):
        assert cr.is_anomaly_enabled()
    assert not cr.is_anomaly_enabled()


def _functions(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x

    class WrongSquare(Square):
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x

    return {
        "square": Square.apply,
        "wrong square": WrongSquare.apply,
        "two outputs": lambda x, y: (x.tanh() * y, (x * y).sum()),
        "matmul": lambda a, b: a @ b,
    }


@pytest.mark.parametrize("name", ["square", "wrong square", "two outputs", "matmul"])
def test_gradcheck_gives_pytorchs_verdict(name):
    rng = np.random.default_rng(0)
    shapes = {"square": [(3,)], "wrong square": [(3,)], "two outputs": [(2, 2), (2, 2)], "matmul": [(2, 3), (3, 2)]}
    arrays = [rng.normal(size=s) for s in shapes[name]]
    ours = cr.autograd.gradcheck(_functions(cr)[name], tuple(cr.tensor(a, requires_grad=True) for a in arrays),
                                 raise_exception=False)
    theirs = torch.autograd.gradcheck(_functions(torch)[name],
                                      tuple(torch.tensor(a, requires_grad=True) for a in arrays),
                                      raise_exception=False)
    assert ours == theirs == (name != "wrong square")
    if name == "wrong square":
        with pytest.raises(cr.autograd.GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"):
            cr.autograd.gradcheck(_functions(cr)[name], (cr.tensor(arrays[0], requires_grad=True),))


def test_gradcheck_warns_on_float32_and_refuses_nothing_to_check():
    with pytest.warns(UserWarning, match="not a double precision"):
        cr.autograd.gradcheck(lambda t: t * 2, (cr.ones(2, dtype=cr.float32, requires_grad=True),), atol=0.1)
    with pytest.raises(ValueError, match="none of the inputs requires grad"):
        cr.autograd.gradcheck(lambda t: t * 2, (cr.ones(2),))


@pytest.mark.parametrize("call, error, words", [
    (lambda lib, x: lib.autograd.grad(x * 2, x, grad_outputs=lib.ones(3, dtype=lib.float64)), RuntimeError,
     r"Mismatch in shape: grad_output\[0\] has a shape of torch.Size\(\[3\]\) and output\[0\] has a shape of "
     r"torch.Size\(\[2\]\)"),
    (lambda lib, x: (x * 2).backward(lib.tensor(1.0, dtype=lib.float64)), RuntimeError, "Mismatch in shape"),
    (lambda lib, x: lib.autograd.grad([x * 2, x * 3], x, [lib.ones(2, dtype=lib.float64)]), RuntimeError,
     "got 2 tensors and 1 gradients"),
    (lambda lib, x: lib.autograd.grad(x.sum(), x, materialize_grads=True, allow_unused=False), ValueError,
     "Expected allow_unused to be True or not passed when materialize_grads=True"),
])
def test_grad_outputs_that_do_not_fit_are_refused_with_torch_s_class_and_words(call, error, words):
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        with pytest.raises(error, match=words):
            call(lib, x)


def test_disable_saved_tensors_hooks_refuses_save_on_cpu_and_hooks_inside_as_torch():
    for lib in (cr, torch):
        graph = lib.autograd.graph
        with graph.disable_saved_tensors_hooks("outer"):
            with graph.disable_saved_tensors_hooks("inner"):
                with pytest.raises(RuntimeError, match="^inner$"), graph.save_on_cpu():
                    pass
            with pytest.raises(RuntimeError, match="^outer$"), graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass
        with graph.save_on_cpu():  # open again once the block ends
            pass

        @graph.disable_saved_tensors_hooks("decorated")
        def saving(graph=graph):
            with graph.save_on_cpu():
                pass

        with pytest.raises(RuntimeError, match="decorated"):
            saving()
