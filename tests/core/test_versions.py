"""In-place writes after a value was used, against PyTorch (chainrule.core.versions).

Every program computes something, writes into a Tensor in place (add_, mul_, sub_, div_,
pow_, clamp_, copy_, zero_, fill_, x[i] = v, masked_fill_, relu_, sigmoid_, exp_,
through .data or .detach(), F.relu(inplace=True), an optimizer's step), then runs the
backward pass. Where PyTorch raises ("modified by an inplace operation") chainrule must
raise the same RuntimeError, naming the operation that saved the value and the one that
wrote it; where PyTorch gives gradients chainrule must give the same ones. The known
differences (docs/engine.md) are checked at the end: chainrule refuses where PyTorch
computes, or computes the gradient of the computation as it was recorded (PyTorch's
gradient of the program without the write).
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace operation"


def T(L, values, requires_grad=False):
    return L.tensor(values, dtype=L.float64, requires_grad=requires_grad)


def leaf(L, values=(1.0, 2.0, 3.0)):
    return T(L, list(values), True)


def _nograd_write(L, t, write):
    with L.no_grad():
        write(t)


def exp_then_add_(L):  # exp saves its output
    x = leaf(L)
    a = x.exp()
    b = a.sum()
    a.add_(1)
    b.backward()
    return [x.grad]


def saved_input_add_(L):  # pow saves its input
    x = leaf(L)
    w = x * 2
    z = w ** 2
    w.add_(1)
    z.sum().backward()
    return [x.grad]


def saved_constant_mul_(L):
    x = leaf(L)
    c = T(L, [4.0, 5.0, 6.0])
    y = (x * c).sum()
    c.mul_(10)
    y.backward()
    return [x.grad]


def unread_factor_add_(L):  # x * 2 reads only the 2: the write is allowed
    x = leaf(L)
    w = x * 2
    w.add_(1)
    (w * 3).sum().backward()
    return [x.grad]


def unread_operand_mul_(L):  # u * c needs c for u's gradient, never u
    x = leaf(L)
    c = T(L, [4.0, 5.0, 6.0])
    u = x * 1
    z = u * c
    u.mul_(3)
    z.sum().backward()
    return [x.grad]


def other_factor_mul_(L):
    x, y = leaf(L), leaf(L, (4.0, 5.0, 6.0))
    w = y * 1
    z = x * w
    w.mul_(2)
    z.sum().backward()
    return [x.grad, y.grad]


def sin_then_sub_(L):
    x = leaf(L)
    u = x * 1
    z = u.sin()
    u.sub_(1)
    z.sum().backward()
    return [x.grad]


def sin_output_sub_(L):  # sin saves its input, not its output
    x = leaf(L)
    u = x.sin()
    z = u.sum()
    u.sub_(1)
    z.backward()
    return [x.grad]


def quotient_div_(L):  # x / u saves x and u, not the quotient
    x = leaf(L)
    u = x + 1
    z = x / u
    z.div_(2)
    z.sum().backward()
    return [x.grad]


def quotient_written_without_grad(L):
    x, y = leaf(L), leaf(L, (2.0, 4.0, 5.0))
    z = x / y
    _nograd_write(L, z, lambda t: t.mul_(2))
    z.sum().backward()
    return [x.grad, y.grad]


def log_then_pow_(L):
    x = leaf(L)
    u = x + 1
    z = u.log()
    u.pow_(2)
    z.sum().backward()
    return [x.grad]


def own_pow_(L):
    x = leaf(L)
    u = x + 1
    u.pow_(2)
    u.sum().backward()
    return [x.grad]


def tanh_then_clamp_(L):
    x = leaf(L)
    z = (x * 1).tanh()
    z.clamp_(0, 0.99)
    z.sum().backward()
    return [x.grad]


def cos_then_clamp_(L):
    x = leaf(L)
    u = x * 1
    z = u.cos()
    u.clamp_(0, 2)
    z.sum().backward()
    return [x.grad]


def sigmoid_then_copy_(L):
    x = leaf(L)
    u = x.sigmoid()
    s = u.sum()
    u.copy_(T(L, [0.0, 0.0, 0.0]))
    s.backward()
    return [x.grad]


def constant_copy_(L):
    x = leaf(L)
    c = T(L, [4.0, 5.0, 6.0])
    z = x * c
    c.copy_(T(L, [1.0, 1.0, 1.0]))
    z.sum().backward()
    return [x.grad]


def exp_then_zero_(L):
    x = leaf(L)
    u = x.exp()
    s = u.sum()
    u.zero_()
    s.backward()
    return [x.grad]


def unread_zero_(L):
    x = leaf(L)
    u = x * 2
    s = u.sum()
    u.zero_()
    s.backward()
    return [x.grad]


def square_then_fill_(L):
    x = leaf(L)
    u = x + 0
    z = u * u
    u.fill_(2)
    z.sum().backward()
    return [x.grad]


def square_then_setitem(L):
    x = leaf(L)
    u = x + 0
    z = u * u
    u[0] = 5.0
    z.sum().backward()
    return [x.grad]


def constant_setitem(L):
    x = leaf(L)
    c = T(L, [4.0, 5.0, 6.0])
    z = x * c
    c[1] = 0.0
    z.sum().backward()
    return [x.grad]


def unread_setitem(L):
    x = leaf(L)
    u = x + 0
    z = u * 3
    u[0] = 5.0
    (z.sum() + u.sum()).backward()
    return [x.grad]


def exp_then_masked_fill_(L):
    x = leaf(L)
    u = x.exp()
    s = u.sum()
    u.masked_fill_(L.tensor([True, False, False]), 0.0)
    s.backward()
    return [x.grad]


def square_then_relu_(L):
    x = leaf(L, (-1.0, 2.0, 3.0))
    u = x * 1
    z = u * u
    u.relu_()
    z.sum().backward()
    return [x.grad]


def relu_then_relu_(L):  # relu saves its output
    x = leaf(L, (-1.0, 2.0, 3.0))
    u = x.relu()
    u.relu_()
    u.sum().backward()
    return [x.grad]


def own_sigmoid_(L):
    x = leaf(L, (-1.0, 2.0, 3.0))
    u = x * 1
    u.sigmoid_()
    u.sum().backward()
    return [x.grad]


def sigmoid_then_sigmoid_(L):
    x = leaf(L, (-1.0, 2.0, 3.0))
    u = x.sigmoid()
    s = u.sum()
    u.sigmoid_()
    s.backward()
    return [x.grad]


def sin_then_exp_(L):
    x = leaf(L, (-1.0, 2.0, 3.0))
    u = x * 1
    z = u.sin()
    u.exp_()
    z.sum().backward()
    return [x.grad]


def exp_twice_in_place(L):  # the second exp_ writes the output the first saved
    x = leaf(L, (-1.0, 2.0, 3.0))
    u = x * 1
    u.exp_()
    u.exp_()
    u.sum().backward()
    return [x.grad]


def tanh_then_add_(L):  # a write after tanh_ that its own rule does not need... it reads the output
    x = leaf(L, (0.1, 0.2))
    u = x * 1
    u.tanh_()
    u.add_(2)
    u.sum().backward()
    return [x.grad]


def in_place_chain(L):
    x = leaf(L)
    u = x * 1
    u.add_(1)
    u.mul_(2)
    u.sin_()
    u.sum().backward()
    return [x.grad]


def written_through_data(L):  # .data: not counted, as in PyTorch (the gradient reads the new values)
    x = leaf(L)
    u = x.exp()
    s = u.sum()
    u.data.add_(1)
    s.backward()
    return [x.grad]


def input_written_through_data(L):
    x = leaf(L)
    u = x * 1
    z = u * u
    u.data.mul_(2)
    z.sum().backward()
    return [x.grad]


def written_through_detach(L):  # .detach() shares the version counter
    x = leaf(L)
    u = x.tanh()
    s = u.sum()
    u.detach().zero_()
    s.backward()
    return [x.grad]


def leaf_written_without_grad(L):
    x = leaf(L)
    z = (x * x).sum()
    _nograd_write(L, x, lambda t: t.mul_(2))
    z.backward()
    return [x.grad]


def unread_leaf_written_without_grad(L):
    x = leaf(L)
    z = (x * 2).sum()
    _nograd_write(L, x, lambda t: t.mul_(2))
    z.backward()
    return [x.grad]


def exp_then_functional_relu_inplace(L):
    x = leaf(L, (-1.0, 2.0, 3.0))
    z = (x * 1).exp()
    L.nn.functional.relu(z, inplace=True)
    z.sum().backward()
    return [x.grad]


def linear_then_relu_inplace(L):  # the usual use: the product saves its inputs, not its output
    x = T(L, [[-1.0, 2.0, 3.0]], True)
    lin = L.nn.Linear(3, 2).double()
    with L.no_grad():
        lin.weight.copy_(T(L, [[1.0, -2.0, 3.0], [0.5, 0.5, -1.0]]))
        lin.bias.fill_(0.1)
    h = lin(x)
    L.nn.functional.relu(h, inplace=True)
    h.sum().backward()
    return [x.grad, lin.weight.grad]


def conv_then_relu_module_inplace(L):
    conv = L.nn.Conv1d(1, 2, 2).double()
    with L.no_grad():
        conv.weight.copy_(T(L, [[[1.0, -2.0]], [[0.5, 0.25]]]))
        conv.bias.copy_(T(L, [0.1, -0.2]))
    x = T(L, [[[1.0, 2.0, -3.0, 4.0]]], True)
    h = conv(x)
    L.nn.ReLU(inplace=True)(h)
    (h * h).sum().backward()
    return [x.grad, conv.weight.grad]


def batchnorm_then_relu_inplace(L):
    x = T(L, [[1.0, 2.0], [3.0, -4.0], [0.5, 0.2]], True)
    bn = L.nn.BatchNorm1d(2).double()
    h = bn(x)
    L.nn.functional.relu(h, inplace=True)
    (h * T(L, [[1.0, 2.0]])).sum().backward()
    return [x.grad, bn.weight.grad]


def dropout_p0_inplace(L):  # no write at all (PyTorch returns the input as it is)
    x = leaf(L, (-1.0, 2.0, 3.0))
    u = x.exp()
    L.nn.functional.dropout(u, 0.0, True, inplace=True)
    u.sum().backward()
    return [x.grad]


def sigmoid_then_leaky_relu_inplace(L):
    x = leaf(L, (-1.0, 2.0, 3.0))
    u = x.sigmoid()
    z = u.sum()
    L.nn.functional.leaky_relu(u, 0.1, inplace=True)
    z.backward()
    return [x.grad]


def step_between_forward_and_backward(L):
    w = leaf(L)
    opt = L.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    loss = (w * w).sum()
    opt.step()
    loss.backward()
    return [w.grad]


def step_where_nothing_reads_the_parameter(L):
    w = leaf(L)
    opt = L.optim.SGD([w], lr=0.1)
    w.sum().backward()
    loss = (w * 3).sum()
    opt.step()
    loss.backward()
    return [w.grad]


def adam_step_then_second_backward(L):
    w = leaf(L)
    opt = L.optim.Adam([w], lr=0.1)
    loss = w.exp().sum()
    loss.backward(retain_graph=True)
    opt.step()
    loss.backward()
    return [w.grad]


def write_into_a_view_of_a_saved_output(L):
    x = leaf(L)
    u = x.exp()
    s = u.sum()
    u[1:].add_(1)
    s.backward()
    return [x.grad]


def base_written_view_saved(L):
    x = leaf(L)
    u = x * 1
    v = u[1:]
    z = v * v
    u.mul_(2)
    z.sum().backward()
    return [x.grad]


def other_part_of_the_base_written(L):  # the version counts writes into the memory, not which part
    x = leaf(L)
    u = x * 1
    v = u[1:]
    z = v * v
    u[0] = 9.0
    z.sum().backward()
    return [x.grad]


def narrow_of_the_base_written(L):  # a and b share u's version counter
    x = leaf(L, (1.0, 2.0, 3.0, 4.0))
    u = x * 1
    a, b = u[:2], u.narrow(0, 2, 2)
    z = a * a
    b.mul_(3)
    (z.sum() + u.sum()).backward()
    return [x.grad]


def select_of_a_saved_output_written(L):
    x = T(L, [[1.0, 2.0], [3.0, 4.0]], True)
    u = x.exp()
    u.select(0, 1).add_(1)
    u.sum().backward()
    return [x.grad]


def augmented_after_exp(L):
    x = leaf(L)
    u = x.exp()
    s = u.sum()
    u += 1
    s.backward()
    return [x.grad]


def augmented_unread(L):
    x = leaf(L)
    u = x + 1
    s = u.sum()
    u += 1
    (s + u.sum()).backward()
    return [x.grad]


def square_in_place(L):  # u *= u: mul_ saves its other operand, which it then changes
    x = leaf(L)
    u = x + 1
    u *= u
    u.sum().backward()
    return [x.grad]


def mul_by_a_leaf_in_place(L):  # mul_ keeps the old value it needs for the other's gradient
    x, y = leaf(L), leaf(L, (2.0, 2.0, 2.0))
    u = x + 1
    u.mul_(y)
    u.sum().backward()
    return [x.grad, y.grad]


def constant_plus_graph(L):  # c += x records c + x; c's old value was saved by x * c
    x = leaf(L)
    c = T(L, [4.0, 5.0, 6.0])
    z = x * c
    c += x
    z.sum().backward()
    return [x.grad]


def written_before_use(L):
    x = leaf(L)
    c = T(L, [4.0, 5.0, 6.0])
    c.mul_(2)
    z = x * c
    z.sum().backward()
    return [x.grad]


def retained_graph_then_written(L):
    x = leaf(L)
    u = x.exp()
    s = u.sum()
    s.backward(retain_graph=True)
    u.add_(1)
    s.backward()
    return [x.grad]


def tanh_then_tanh_(L):
    x = leaf(L, (0.1, 0.2, 0.3))
    u = x.tanh()
    u.tanh_()
    u.sum().backward()
    return [x.grad]


def matmul_operand_written(L):
    x = T(L, [[1.0, 2.0], [3.0, 4.0]], True)
    w = T(L, [[1.0, 0.0], [1.0, 1.0]])
    z = x @ w
    w.add_(1)
    z.sum().backward()
    return [x.grad]


def matmul_output_written(L):  # a product saves its inputs only
    x, y = T(L, [[1.0, 2.0], [3.0, 4.0]], True), T(L, [[2.0, 4.0], [5.0, 1.0]], True)
    z = x @ y
    _nograd_write(L, z, lambda t: t.mul_(2))
    z.sum().backward()
    return [x.grad, y.grad]


def divisor_written_without_grad(L):
    x = leaf(L)
    c = T(L, [4.0, 5.0, 6.0])
    z = x / c
    _nograd_write(L, c, lambda t: t.add_(1))
    z.sum().backward()
    return [x.grad]


def subtrahend_written(L):
    x = leaf(L)
    c = T(L, [1.0, 1.0, 2.0])
    z = (x - c) ** 2
    c.sub_(1)
    z.sum().backward()
    return [x.grad]


def index_put_after_exp(L):
    x = leaf(L)
    u = x.exp()
    s = u.sum()
    u.index_put_((L.tensor([0]),), T(L, [0.0]))
    s.backward()
    return [x.grad]


def exp_then_zero_without_grad(L):
    x = leaf(L)
    y = x.exp()
    _nograd_write(L, y, lambda t: t.zero_())
    y.sum().backward()
    return [x.grad]


def create_graph_after_a_recorded_write(L):  # mul saved y, which mul_ then changed
    x = leaf(L)
    y = x ** 2
    w = y * x
    y.mul_(x)
    (g,) = L.autograd.grad(w.sum() + y.sum(), x, create_graph=True)
    g.sum().backward()
    return [g, x.grad]


def cat_and_stack_then_inputs_written(L):  # cat and stack read shapes only
    x = leaf(L)
    u, v = x * 1, x * 2
    z = (L.cat([u, v]) * 3).sum() + L.stack([u, v]).sum()
    u.add_(1)
    v[0] = 0.0
    (z.sum() + u.sum() + v.sum()).backward()
    return [x.grad]


def cat_then_output_written(L):
    x = leaf(L)
    z = L.cat([x.exp(), x])
    w = z * z
    z.mul_(2)
    w.sum().backward()
    return [x.grad]


def write_after_backward(L):
    x = leaf(L)
    u = x.exp()
    u.sum().backward()
    u.add_(1)
    return [x.grad, u.detach()]


def refused_write_counts_nothing(L):  # a write that raises leaves the version as it was
    x = leaf(L)
    u = x * 1
    z = u * u
    with pytest.raises(RuntimeError):
        u.add_(x.reshape(3, 1))
    z.sum().backward()
    return [x.grad]


PROGRAMS = {f.__name__: f for f in (
    exp_then_add_, saved_input_add_, saved_constant_mul_, unread_factor_add_, unread_operand_mul_,
    other_factor_mul_, sin_then_sub_, sin_output_sub_, quotient_div_, quotient_written_without_grad,
    log_then_pow_, own_pow_, tanh_then_clamp_, cos_then_clamp_, sigmoid_then_copy_, constant_copy_,
    exp_then_zero_, unread_zero_, square_then_fill_, square_then_setitem, constant_setitem, unread_setitem,
    exp_then_masked_fill_, square_then_relu_, relu_then_relu_, own_sigmoid_, sigmoid_then_sigmoid_,
    sin_then_exp_, exp_twice_in_place, tanh_then_add_, in_place_chain, written_through_data,
    input_written_through_data, written_through_detach, leaf_written_without_grad,
    unread_leaf_written_without_grad, exp_then_functional_relu_inplace, linear_then_relu_inplace,
    conv_then_relu_module_inplace, batchnorm_then_relu_inplace, dropout_p0_inplace,
    sigmoid_then_leaky_relu_inplace, step_between_forward_and_backward, step_where_nothing_reads_the_parameter,
    adam_step_then_second_backward, write_into_a_view_of_a_saved_output, base_written_view_saved,
    other_part_of_the_base_written, narrow_of_the_base_written, select_of_a_saved_output_written,
    augmented_after_exp, augmented_unread, square_in_place, mul_by_a_leaf_in_place, constant_plus_graph,
    written_before_use, retained_graph_then_written, tanh_then_tanh_, matmul_operand_written,
    matmul_output_written, divisor_written_without_grad, subtrahend_written, index_put_after_exp,
    exp_then_zero_without_grad, create_graph_after_a_recorded_write, cat_and_stack_then_inputs_written,
    cat_then_output_written, write_after_backward,
    refused_write_counts_nothing,
)}


def _run(lib, program):
    """The gradients (float64 arrays) ``program`` gives with ``lib``, or its RuntimeError."""
    try:
        out = program(lib)
    except RuntimeError as error:
        return error
    return [None if g is None else np.asarray(g.detach().numpy() if lib is torch else g.numpy()) for g in out]


def _assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert (a is None) == (b is None)
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_a_write_after_use_is_refused_or_allowed_as_in_torch(name):
    theirs, ours = _run(torch, PROGRAMS[name]), _run(cr, PROGRAMS[name])
    if isinstance(theirs, RuntimeError):
        assert MODIFIED in str(theirs)
        assert isinstance(ours, RuntimeError), f"PyTorch refuses ({theirs}): chainrule gave {ours}"
        message = str(ours)
        assert message.startswith(MODIFIED) and "saved for the backward pass" in message and "(by " in message
    else:
        assert not isinstance(ours, Exception), f"PyTorch computes {theirs}: chainrule raised {ours}"
        _assert_same(ours, theirs)


def test_the_error_names_the_saving_and_the_writing_operations():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    u = x.exp()
    s = u.sum()
    u.masked_fill_(cr.tensor([True, False, False]), 0.0)
    with pytest.raises(RuntimeError, match=r"its output \(a float64 Tensor of shape \(3,\)\), which exp saved "
                                           r"for the backward pass, was modified in place afterwards \(by "
                                           r"masked_fill_\)"):
        s.backward()
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    loss = (w * w).sum()
    opt.step()
    with pytest.raises(RuntimeError, match=r"its input 0 .* which multiply saved .* \(by SGD.step\(\)\)"):
        loss.backward()


# -- known differences (docs/engine.md, "In-place operations") -----------------------------
def scalar_over_a_written_value(L):  # PyTorch's 2 / u is 2 * reciprocal(u), which saves its output
    x = leaf(L)
    u = x * 1
    z = 2 / u
    u.mul_(5)
    z.sum().backward()
    return [x.grad]


def create_graph_after_an_unread_input_was_written(L):  # the call is made again from its inputs
    x = leaf(L)
    u = x * 1
    z = u.exp()
    _nograd_write(L, u, lambda t: t.mul_(2))
    (g,) = L.autograd.grad(z.sum(), x, create_graph=True)
    return [g]


@pytest.mark.parametrize("program", [scalar_over_a_written_value, create_graph_after_an_unread_input_was_written])
def test_known_difference_refused_where_torch_computes(program):
    assert not isinstance(_run(torch, program), Exception)
    with pytest.raises(RuntimeError, match=MODIFIED):
        program(cr)


def _power(L, write):
    x, y = leaf(L), leaf(L, (2.0, 4.0, 5.0))
    z = x ** y
    if write:
        _nograd_write(L, z, lambda t: t.mul_(2))
    z.sum().backward()
    return [x.grad, y.grad]


def _softmax(L, write):
    x = leaf(L)
    z = L.softmax(x, 0)
    if write:
        _nograd_write(L, z, lambda t: t.mul_(2))
    (z * T(L, [1.0, 2.0, 3.0])).sum().backward()
    return [x.grad]


def _norm(L, write):
    x = leaf(L)
    z = x.norm()
    loss = z + 0
    if write:
        z.mul_(2)
    loss.backward()
    return [x.grad]


@pytest.mark.parametrize("program", [_power, _softmax, _norm], ids=["power", "softmax", "norm"])
def test_known_difference_the_gradient_of_the_recorded_computation(program):
    # PyTorch refuses (its function saves the output that was written); chainrule's rules
    # do not declare that they read only their inputs or only their output, so the value
    # they computed is kept: the gradient is PyTorch's for the program without the write
    assert isinstance(_run(torch, lambda L: program(L, True)), RuntimeError)
    _assert_same(_run(cr, lambda L: program(L, True)), _run(torch, lambda L: program(L, False)))
