"""What each operation reads for its backward pass, against PyTorch's saved tensors
(chainrule.core.versions, Primitive.reads): an in-place write after the call, into an
input, an index, a mask, a target or the output, then the backward pass.

Where PyTorch computes, chainrule must compute the same gradients. Where PyTorch refuses
("modified by an inplace operation"), chainrule must refuse too, or give the gradient of
the computation as it was recorded (PyTorch's gradient of the program without the write:
docs/engine.md, "Known differences"); a gradient read from the written values is never
right. Every program takes ``write``: False gives that program without the write.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.numpy.registry import SUPPORTED

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace operation"
WEIGHTS = [1.0, 2.0, 3.0]


def T(L, values, requires_grad=False):
    return L.tensor(values, dtype=L.float64, requires_grad=requires_grad)


def _outside_the_graph(L, write):
    with L.no_grad():
        write()


def _run(L, program, write=True):
    """The gradients (float64 arrays) of ``program``, or its RuntimeError (None: it raised another error)."""
    try:
        out = program(L, write)
    except RuntimeError as error:
        return error if MODIFIED in str(error) else None
    except (TypeError, ValueError, NotImplementedError):
        return None
    return [None if g is None else np.asarray(g.detach().numpy(force=True) if L is torch else g.numpy())
            for g in out]


def _same(ours, theirs) -> bool:
    # (rtol 1e-9: SciPy's trigamma, the derivative of digamma, differs from PyTorch's in the 10th digit)
    return len(ours) == len(theirs) and all(
        (a is None) == (b is None) and (a is None or np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))
        for a, b in zip(ours, theirs, strict=True))


def _check(program, must_refuse=False):
    theirs, ours = _run(torch, program), _run(cr, program)
    if theirs is None:  # PyTorch has no derivative there (heaviside)
        return
    if isinstance(theirs, RuntimeError):
        if isinstance(ours, RuntimeError):
            message = str(ours)
            assert message.startswith(MODIFIED) and "saved for the backward pass" in message and "(by " in message
            return
        assert not must_refuse, f"PyTorch refuses ({theirs}): chainrule gave {ours}"
        recorded = _run(torch, program, write=False)
        assert ours is not None and _same(ours, recorded), \
            f"PyTorch refuses; chainrule's gradient {ours} is not that of the recorded computation {recorded}"
    else:
        assert not isinstance(ours, Exception) and ours is not None, f"PyTorch computes {theirs}: chainrule {ours}"
        assert _same(ours, theirs), f"{ours} != PyTorch's {theirs}"


# -- every elementwise operation of the table, each operand or the output written ---------------
def _elementwise_names():
    table = [n for n in SUPPORTED["elementwise"]
             if isinstance(getattr(np, n, None), np.ufunc) and getattr(np, n).nin in (1, 2) and hasattr(torch, n)]
    # PyTorch's elementwise functions beside NumPy's: piecewise constant ones (derivative 0), and others
    table += ["floor", "ceil", "trunc", "round", "sign", "sgn", "frac", "pow", "rsqrt", "sigmoid", "relu", "erf",
              "erfc", "erfinv", "lgamma", "digamma", "logit", "sinc", "i0", "nan_to_num", "xlogy", "atan2", "abs"]
    return [(n, 1 if n not in ("pow", "xlogy", "atan2") and getattr(getattr(np, n, None), "nin", 1) == 1 else 2)
            for n in table if n != "frexp" and hasattr(cr, n)]


ELEMENTWISE = _elementwise_names()
A, B = [0.3, 0.6, 0.9], [1.5, 2.5, 0.5]


def _unary(name, written):
    def program(L, write):
        x = T(L, A, True)
        u = x * 1
        y = getattr(L, name)(u)
        loss = (y * T(L, WEIGHTS)).sum()
        if write:
            if written == "input":
                u.mul_(1.1)
            else:
                _outside_the_graph(L, lambda: y.mul_(1.1))
        loss.backward()
        return [x.grad]
    return program


def _binary(name, differentiated, written):
    def program(L, write):
        xs = [T(L, A, 0 in differentiated), T(L, B, 1 in differentiated)]
        us = [x * 1 for x in xs]
        y = getattr(L, name)(*us)
        loss = (y * T(L, WEIGHTS)).sum()
        if write:
            if written == "output":
                _outside_the_graph(L, lambda: y.mul_(1.1))
            else:
                us[written].mul_(1.1)
        loss.backward()
        return [x.grad for x in xs if x.requires_grad]
    return program


CASES = {}
for _name, _arity in ELEMENTWISE:
    if _arity == 1:
        for _written in ("input", "output"):
            CASES[f"{_name}-{_written}"] = _unary(_name, _written)
    else:
        for _diff in ((0,), (1,), (0, 1)):
            for _written in (0, 1, "output"):
                CASES[f"{_name}-d{''.join(map(str, _diff))}-w{_written}"] = _binary(_name, _diff, _written)


@pytest.mark.parametrize("case", sorted(CASES))
def test_elementwise_table_write_after_use(case):
    _check(CASES[case])


# -- indices, masks and targets, read as their arrays --------------------------------------
def _index(L):
    return L.tensor([0, 0, 2])


def _weighted(L, y):
    return (y * T(L, WEIGHTS[:len(y)] if y.ndim == 1 else [WEIGHTS[:y.shape[-1]]])).sum()


def _after(L, write, written, loss_of):
    """``loss_of()`` (the forward pass), then ``written`` (a write in place), then backward."""
    loss = loss_of()
    if write:
        written()
    loss.backward()


def gather_index_filled(L, write):
    x, i = T(L, A, True), _index(L)
    _after(L, write, lambda: i.fill_(1), lambda: _weighted(L, L.gather(x, 0, i)))
    return [x.grad]


def gather_index_setitem(L, write):
    x, i = T(L, A, True), _index(L)
    _after(L, write, lambda: i.__setitem__(0, 1), lambda: _weighted(L, x.gather(0, i)))
    return [x.grad]


def index_select_index(L, write):
    x, i = T(L, A, True), _index(L)
    _after(L, write, lambda: i.fill_(1), lambda: _weighted(L, L.index_select(x, 0, i)))
    return [x.grad]


def getitem_index(L, write):
    x, i = T(L, A, True), _index(L)
    _after(L, write, lambda: i.fill_(1), lambda: _weighted(L, x[i]))
    return [x.grad]


def getitem_index_view_written(L, write):
    x, i = T(L, A, True), _index(L)
    _after(L, write, lambda: i[1:].fill_(1), lambda: _weighted(L, x[i]))
    return [x.grad]


def scatter_index(L, write):
    x, i = T(L, A, True), L.tensor([0, 1, 2])
    _after(L, write, lambda: i.fill_(3), lambda: (L.zeros(4, dtype=L.float64).scatter(0, i, x)
                                                  * T(L, [1.0, 2.0, 3.0, 4.0])).sum())
    return [x.grad]


def index_add_index(L, write):
    x, i = T(L, A, True), L.tensor([0, 1, 2])
    _after(L, write, lambda: i.fill_(3), lambda: (L.zeros(4, dtype=L.float64).index_add(0, i, x)
                                                  * T(L, [1.0, 2.0, 3.0, 4.0])).sum())
    return [x.grad]


def embedding_index(L, write):
    w, i = T(L, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], True), L.tensor([0, 2])
    _after(L, write, lambda: i.fill_(1),
           lambda: (L.nn.functional.embedding(i, w) * T(L, [[1.0, 2.0], [3.0, 4.0]])).sum())
    return [w.grad]


def masked_fill_mask(L, write):
    x, m = T(L, A, True), L.tensor([True, False, True])
    _after(L, write, lambda: m.fill_(False), lambda: _weighted(L, x.masked_fill(m, 0.0)))
    return [x.grad]


def where_condition(L, write):
    x, c = T(L, A, True), L.tensor([True, False, True])
    _after(L, write, lambda: c.logical_not_(), lambda: _weighted(L, L.where(c, x, x * 2)))
    return [x.grad]


def cross_entropy_target(L, write):
    x, t = T(L, [[1.0, 2.0, 3.0]], True), L.tensor([1])
    _after(L, write, lambda: t.fill_(2), lambda: L.nn.functional.cross_entropy(x, t))
    return [x.grad]


def nll_loss_target(L, write):
    x, t = T(L, [[1.0, 2.0, 3.0]], True), L.tensor([1])
    _after(L, write, lambda: t.fill_(2), lambda: L.nn.functional.nll_loss(x, t))
    return [x.grad]


def sort_indices(L, write):  # the values' node read the indices that sort returned
    x = T(L, [3.0, 1.0, 2.0], True)
    values, indices = x.sort()
    _after(L, write, lambda: indices.fill_(0), lambda: _weighted(L, values))
    return [x.grad]


def topk_indices(L, write):
    x = T(L, [3.0, 1.0, 2.0, 5.0], True)
    values, indices = x.topk(2)
    _after(L, write, lambda: indices.fill_(0), lambda: _weighted(L, values))
    return [x.grad]


def max_dim_indices(L, write):
    x = T(L, [3.0, 1.0, 2.0, 5.0], True)
    values, indices = x.reshape(2, 2).max(1)
    _after(L, write, lambda: indices.fill_(0), lambda: _weighted(L, values))
    return [x.grad]


def kthvalue_indices(L, write):
    x = T(L, [3.0, 1.0, 2.0, 5.0], True)
    values, indices = x.kthvalue(2)
    _after(L, write, lambda: indices.fill_(0), lambda: values * 3)
    return [x.grad]


SAVED_INDICES = [gather_index_filled, gather_index_setitem, index_select_index, getitem_index,
                 getitem_index_view_written, scatter_index, index_add_index, embedding_index, masked_fill_mask,
                 where_condition, cross_entropy_target, nll_loss_target, sort_indices, topk_indices,
                 max_dim_indices, kthvalue_indices]


@pytest.mark.parametrize("program", SAVED_INDICES, ids=lambda f: f.__name__)
def test_a_saved_index_written_in_place_is_refused_as_in_torch(program):
    # (chainrule's node held the index's memory: the gradient was read from the new indices)
    assert isinstance(_run(torch, program), RuntimeError)
    _check(program, must_refuse=True)


def test_a_write_through_data_into_a_saved_index_is_not_counted_as_in_torch():
    # PyTorch's .data skips the version counter: its backward pass reads the new index
    def program(L, write):
        x, i = T(L, A, True), _index(L)
        _after(L, write, lambda: i.data.fill_(1), lambda: _weighted(L, x[i]))
        return [x.grad]
    theirs, ours = _run(torch, program), _run(cr, program)
    assert not isinstance(theirs, Exception) and _same(ours, theirs)


# -- other operations: an input or the output written --------------------------------------
def _in(L, write, make, values=A, weights=None):
    """``make(u)`` of ``u = x * 1``; ``u`` written in place before the backward pass."""
    x = T(L, values, True)
    u = x * 1
    y = make(u)
    loss = (y * T(L, weights or WEIGHTS[:y.numel()]).reshape(y.shape)).sum()
    if write:
        u.mul_(-1.5)
    loss.backward()
    return [x.grad]


def _out(L, write, make, values=A, recorded=False):
    """``make(x)``; its output written in place (under no_grad(), or ``recorded``) before the backward pass."""
    x = T(L, values, True)
    y = make(x)
    loss = (y * T(L, WEIGHTS[:y.numel()]).reshape(y.shape)).sum()
    if write:
        if recorded:
            y.mul_(2)
        else:
            _outside_the_graph(L, lambda: y.mul_(2))
    loss.backward()
    return [x.grad]


OTHER = {
    "pow-tensor-exponent-written": lambda L, w: _in(L, w, lambda u: T(L, A, True) ** u),
    "norm": lambda L, w: _in(L, w, lambda u: u.norm()),
    "norm-output": lambda L, w: _out(L, w, lambda x: x.norm(), recorded=True),
    "vector_norm-3": lambda L, w: _in(L, w, lambda u: L.linalg.vector_norm(u, 3)),
    "dist": lambda L, w: _in(L, w, lambda u: L.dist(u, T(L, [0.5, 0.5, 0.5]))),
    "pow-2": lambda L, w: _in(L, w, lambda u: u.pow(2)),
    "lerp-weight": lambda L, w: _in(L, w, lambda u: L.lerp(T(L, A, True), T(L, B), u)),
    "lerp-end": lambda L, w: _in(L, w, lambda u: L.lerp(T(L, A, True), u, T(L, [0.1, 0.5, 0.9]))),
    "addcmul": lambda L, w: _in(L, w, lambda u: L.addcmul(T(L, A, True), u, T(L, B))),
    "addcdiv": lambda L, w: _in(L, w, lambda u: L.addcdiv(T(L, A, True), T(L, B), u)),
    "clamp-tensor-min": lambda L, w: _in(L, w, lambda u: L.clamp(T(L, B, True), min=u)),
    "clamp": lambda L, w: _in(L, w, lambda u: u.clamp(0.4, 0.8)),
    "softmax-input": lambda L, w: _in(L, w, lambda u: L.nn.functional.softmax(u, 0)),
    "softmax-output": lambda L, w: _out(L, w, lambda x: L.nn.functional.softmax(x, 0), recorded=True),
    "log_softmax-output": lambda L, w: _out(L, w, lambda x: L.nn.functional.log_softmax(x, 0), recorded=True),
    "exp-output": lambda L, w: _out(L, w, lambda x: x.exp(), recorded=True),
    "sigmoid_-output": lambda L, w: _out(L, w, lambda x: x.sigmoid()),
    "sort-values-input": lambda L, w: _in(L, w, lambda u: u.sort()[0]),
    "sort-values-output": lambda L, w: _out(L, w, lambda x: x.sort()[0], recorded=True),
    "cumsum": lambda L, w: _in(L, w, lambda u: u.cumsum(0)),
    "cumsum-output": lambda L, w: _out(L, w, lambda x: x.cumsum(0), recorded=True),
    "cumprod": lambda L, w: _in(L, w, lambda u: u.cumprod(0)),
    "cumprod-output": lambda L, w: _out(L, w, lambda x: x.cumprod(0)),
    "max-dim": lambda L, w: _in(L, w, lambda u: u.reshape(1, 3).max(1)[0]),
    "max": lambda L, w: _in(L, w, lambda u: u.max()),
    "max-output": lambda L, w: _out(L, w, lambda x: x.max(), recorded=True),
    "amax-output": lambda L, w: _out(L, w, lambda x: x.amax(0), recorded=True),
    "median": lambda L, w: _in(L, w, lambda u: u.median()),
    "prod": lambda L, w: _in(L, w, lambda u: u.prod()),
    "prod-output": lambda L, w: _out(L, w, lambda x: x.prod()),
    "logsumexp-output": lambda L, w: _out(L, w, lambda x: x.logsumexp(0)),
    "std-output": lambda L, w: _out(L, w, lambda x: x.std()),
    "mean": lambda L, w: _in(L, w, lambda u: u.mean()),
    "mse_loss-target": lambda L, w: _in(L, w, lambda u: L.nn.functional.mse_loss(T(L, A, True), u)),
    "layer_norm": lambda L, w: _in(L, w, lambda u: L.nn.functional.layer_norm(u.reshape(1, 3), (3,))),
    "gelu": lambda L, w: _in(L, w, lambda u: L.nn.functional.gelu(u)),
    "silu-output": lambda L, w: _out(L, w, lambda x: L.nn.functional.silu(x), recorded=True),
    "matmul": lambda L, w: _in(L, w, lambda u: T(L, [A, B], True) @ u),
    "dot": lambda L, w: _in(L, w, lambda u: L.dot(T(L, A, True), u)),
    "einsum": lambda L, w: _in(L, w, lambda u: L.einsum("i,i->", T(L, A, True), u)),
}


@pytest.mark.parametrize("case", sorted(OTHER))
def test_other_operations_write_after_use(case):
    _check(OTHER[case])
