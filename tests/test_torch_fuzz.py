"""A differential fuzz test of the PyTorch-like eager layer (`import chainrule as torch`)
against PyTorch itself. Hypothesis writes a small program as PyTorch users write one: a
few float64 input Tensors (0-d, empty and size-1 dimensions; signed zeros, infinities,
NaN, huge and tiny magnitudes, exact ties), then a chain of operations drawn from a broad
table (tests/torch_fuzz_ops.py: elementwise functions and operators, reductions with
`dim`/`keepdim`, scans, shape operations, indexing and assignment, matrix and vector
products and `einsum`, in-place updates). The program is text: it runs once with `T`
bound to torch and once with `T` bound to chainrule, on the same inputs. Every result
must agree in shape, dtype, value, NaN positions and sign of zero, the gradients of
`sum(result * weights)` over all results must agree, and where PyTorch raises (a shape
mismatch, an index out of range, an in-place update of a value the backward pass needs)
chainrule must raise too.

The default profile draws the same programs at every run; `HYPOTHESIS_PROFILE=explore`
draws new ones (see tests/conftest.py). A failure prints the program as runnable text."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule

torch = pytest.importorskip("torch")
from torch_fuzz_ops import FLOAT_OPS, OTHER_OPS, SCALARS  # noqa: E402  (the table of operations; tests/ is on sys.path)

inf, nan = math.inf, math.nan
SPECIAL = [0.0, -0.0, inf, -inf, nan, 1e200, -1e200, 1e-200, -1e-200, 1.0, -1.0]
TIES = [-1.0, 0.0, 0.5, 2.0]
WEIGHTS = [1.0, -0.5, 2.0, 0.25, -3.0]
KINDS = {"float64": "f", "bool": "b", "int64": "i"}


class Var:
    """A Tensor of the program, as the drawing sees it: its name and PyTorch's metadata."""

    def __init__(self, name, t):
        self.name, self.shape, self.leaf = name, tuple(t.shape), t.is_leaf
        self.kind = KINDS.get(str(t.dtype).replace("torch.", ""), "?")
        self.ndim = len(self.shape)


def _literal(arr, dtype="float64", grad=False) -> str:
    """A `T.tensor(...)` (or, where nested lists lose the shape, `T.zeros(...)`) of `arr`."""
    arr = np.asarray(arr)
    tail = f", dtype=T.{dtype}" + (", requires_grad=True" if grad else "")
    if arr.size == 0:
        return f"T.zeros({arr.shape}{tail})"
    return f"T.tensor({arr.tolist()!r}{tail})"


class Program:
    """The program drawn so far (its text) and the namespaces it runs in, one per library."""

    def __init__(self, data):
        self.data, self.lines, self.vars, self.inputs = data, [], [], []
        self.ns = {lib: {"T": lib, "inf": inf, "nan": nan} for lib in (torch, chainrule)}
        self.count = 0

    def draw(self, strategy):
        return self.data.draw(strategy)

    def name(self):
        self.count += 1
        return f"v{self.count}"

    def run(self, code):
        """Run one line in both libraries; return PyTorch's and chainrule's exceptions."""
        errors = []
        for lib in (torch, chainrule):
            try:
                exec(code, self.ns[lib])
                errors.append(None)
            except Exception as e:  # noqa: BLE001 (any error type may be the right one)
                errors.append(e)
        return errors

    def add(self, code, out):
        """Run a line assigning `out`, then name the pieces of a tuple result."""
        errors = self.run(code.replace("OUT", out))
        if errors[0] is not None:
            for lib in (torch, chainrule):
                self.ns[lib].pop(out, None)
            return errors
        result = self.ns[torch][out]
        if isinstance(result, tuple | list):
            names = [f"{out}_{i}" for i in range(len(result))]
            unpack = f"{', '.join(names)}, = {out}"
            self.lines.append(code.replace("OUT", out) + "; " + unpack)
            unpacked = self.run(unpack)
            errors = [unpacked[0], errors[1] or unpacked[1]]
            for n in names:
                self.vars.append(Var(n, self.ns[torch][n]))
        else:
            self.lines.append(code.replace("OUT", out))
            self.vars.append(Var(out, result))
        return errors

    def shape(self):
        ndim = self.draw(st.integers(0, 3))
        return tuple(self.draw(st.sampled_from([2, 3, 1, 0])) for _ in range(ndim))

    def values(self, shape, finite=False):
        flavor = self.draw(st.sampled_from(["plain", "ties"] if finite else ["plain", "ties", "special"]))
        if flavor == "plain":
            element = st.floats(-3, 3).map(lambda v: round(v, 3))
        elif flavor == "ties":
            element = st.sampled_from(TIES)
        else:
            element = st.one_of(st.sampled_from(SPECIAL), st.floats(-3, 3))
        n = math.prod(shape)
        flat = self.draw(st.lists(element, min_size=n, max_size=n))
        return np.array(flat, dtype=np.float64).reshape(shape)

    def fresh(self, shape, finite=False):
        """A new float64 leaf that requires grad, of the given shape."""
        name = self.name()
        code = f"{name} = {_literal(self.values(shape, finite), grad=True)}"
        self.run(code)
        self.lines.append(code)
        self.vars.append(Var(name, self.ns[torch][name]))
        self.inputs.append(name)
        return name

    def pick(self, kind):
        choices = [v for v in self.vars if v.kind == kind]
        return self.draw(st.sampled_from(choices)) if choices else None

    # drawing of arguments ---------------------------------------------------------------

    def dim(self, v, allow_none=False):
        """A dimension of `v`, negative sometimes, out of range rarely."""
        n = max(v.ndim, 1)
        options = list(range(-n, n)) + [n]
        if allow_none:
            options = [None] + options
        return self.draw(st.sampled_from(options))

    def dims(self, v):
        """One dimension, a tuple of distinct dimensions, or None (all)."""
        how = self.draw(st.sampled_from(["one", "tuple", "none"]))
        if how == "one":
            return self.dim(v)
        if how == "none" or v.ndim == 0:
            return None
        return tuple(self.draw(st.lists(st.integers(0, v.ndim - 1), min_size=1, max_size=v.ndim, unique=True)))

    def partner_shape(self, shape):
        """A shape that broadcasts with `shape` (rarely one that does not)."""
        how = self.draw(st.sampled_from(["same", "broadcast", "broadcast", "scalar", "other"]))
        if how == "same":
            return shape
        if how == "scalar":
            return ()
        if how == "other":
            return self.shape()
        out = [self.draw(st.sampled_from([s, 1])) for s in shape]
        out = out[self.draw(st.integers(0, len(out))):]
        return tuple([self.draw(st.sampled_from([1, 2]))] * self.draw(st.integers(0, 1)) + out)

    def partner(self, v):
        """An existing float Tensor, or a new input of a shape that broadcasts with `v`'s."""
        if self.draw(st.booleans()):
            other = self.pick("f")
            if other is not None:
                return other.name
        return self.fresh(self.partner_shape(v.shape))

    def mask(self, v):
        """A bool Tensor for `v`: an existing one, a comparison of `v`, or a literal."""
        how = self.draw(st.sampled_from(["compare", "existing", "literal"]))
        if how == "existing":
            m = self.pick("b")
            if m is not None:
                return m.name
        if how == "literal":
            shape = self.partner_shape(v.shape)
            flat = self.draw(st.lists(st.booleans(), min_size=math.prod(shape), max_size=math.prod(shape)))
            return _literal(np.array(flat, dtype=bool).reshape(shape), "bool")
        return f"({v.name} > {self.draw(st.sampled_from([0.0, 0.5, -1.0]))})"

    def index_tensor(self, shape, high):
        """An int64 index Tensor of the given shape, with values in range(high) (rarely out)."""
        n = math.prod(shape)
        top = max(high - 1, 0) if self.draw(st.integers(0, 9)) else high + 1
        flat = self.draw(st.lists(st.integers(-1 if top > high else 0, top), min_size=n, max_size=n))
        return _literal(np.array(flat, dtype=np.int64).reshape(shape), "int64")

    def huge(self, name):
        """Whether the Tensor `name` (or the number) holds a magnitude beyond 1e100."""
        value = self.ns[torch][name] if name in self.ns[torch] else float(name)
        return bool(torch.as_tensor(value).abs().nan_to_num(0.0).gt(1e100).any())

    def zero_base(self, base, exponent):
        """Whether ``base ** exponent`` has a base of 0 with an exponent that is a Tensor."""
        if exponent not in self.ns[torch]:
            return False
        value = self.ns[torch][base] if base in self.ns[torch] else float(base)
        return bool((torch.as_tensor(value) == 0).any())

    def finite(self, v, allow_nan=False):
        """`v`, or where it holds inf, NaN or magnitudes beyond 1e100 a new input of its shape
        without them. Sums in another order differ by more than rounding where huge terms
        cancel ([1e200, -1, -1e200] sums to -1 or 0), and 0 * inf inside one is not defined
        by the program."""
        x = self.ns[torch][v.name]
        if bool(((torch.isfinite(x) & (x.abs() <= 1e100)) | (allow_nan & x.isnan())).all()):
            return v.name
        return self.fresh(v.shape, finite=True)

    def scalar(self):
        return repr(self.draw(st.sampled_from(SCALARS)))


# running and comparing ------------------------------------------------------------------


def _array(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _agree(expected, actual, what, text, signed_zeros=True):
    """Same shape, dtype, values (closely), NaN positions and signs of zero (not for a
    gradient: a sum of zeros from several paths has the sign of the order they come in)."""
    e, a = _array(expected), _array(actual)
    where = f"{what} differs in\n{text}\ntorch: {e!r}\nchainrule: {a!r}"
    assert e.shape == a.shape, where
    assert str(e.dtype) == str(a.dtype), where
    if e.dtype.kind != "f":
        assert np.array_equal(e, a), where
        return
    assert np.array_equal(np.isnan(e), np.isnan(a)), where
    finite = np.isfinite(e) & np.isfinite(a)
    assert np.array_equal(e[~finite & ~np.isnan(e)], a[~finite & ~np.isnan(e)]), where
    scale = 1e-9 * (1.0 + np.max(np.abs(e[finite]), initial=0.0))
    assert np.allclose(e[finite], a[finite], rtol=1e-7, atol=scale), where
    zero = (e == 0) & signed_zeros
    assert np.array_equal(np.signbit(e[zero]), np.signbit(a[zero])), where


# PyTorch refusals that chainrule deliberately does not share, each documented:
DELIBERATE = (
    # a recorded in-place operation rebinds the Tensor to a new node and leaves the saved
    # values intact, so the backward pass is right where PyTorch's refuses (docs/engine.md)
    "modified by an inplace operation",
    # a recorded write into one of the views of one split/chunk call (docs/engine.md)
    "returns multiple views",
    # chainrule differentiates what PyTorch does not (remainder in its divisor, ...)
    "is not implemented",
    # PyTorch's clamp backward fails where Tensor bounds broadcast the result beyond x
    "doesn't match the broadcast shape",
)


def _check_error(errors, text) -> bool:
    """Both ran, or both raised; False where PyTorch refused what chainrule deliberately runs."""
    torch_error, cr_error = errors
    if torch_error is not None and cr_error is None and any(m in str(torch_error) for m in DELIBERATE):
        return False
    if torch_error is None and cr_error is not None:
        raise AssertionError(f"chainrule raised where torch did not:\n{text}") from cr_error
    if torch_error is not None and cr_error is None:
        raise AssertionError(f"chainrule did not raise where torch raised {torch_error!r}:\n{text}")
    return True


def _run_program(data):
    p = Program(data)
    for _ in range(p.draw(st.integers(1, 3))):
        p.fresh(p.shape())
    for _ in range(p.draw(st.integers(2, 6))):
        v = p.draw(st.sampled_from(p.vars))
        ops = FLOAT_OPS if v.kind == "f" else OTHER_OPS.get(v.kind, [])
        if not ops:
            continue
        code = p.draw(st.sampled_from(ops))(p, v)
        errors = p.add(code, p.name())
        if errors[0] is not None:
            p.lines.append(code.replace("OUT", "_") + f"  # raises {type(errors[0]).__name__}")
        if not _check_error(errors, "\n".join(p.lines)):
            return
        if errors[0] is not None:
            break
    text = "\n".join(p.lines)
    for v in p.vars:
        _agree(p.ns[torch][v.name], p.ns[chainrule][v.name], v.name, text)
    # the gradient of a weighted sum of every float result that requires grad
    terms = []
    for v in p.vars:
        if v.kind == "f" and p.ns[torch][v.name].requires_grad:
            w = np.array(p.draw(st.lists(st.sampled_from(WEIGHTS), min_size=math.prod(v.shape),
                                         max_size=math.prod(v.shape)))).reshape(v.shape)
            terms.append(f"({v.name} * {_literal(w)}).sum()")
    if not terms:
        return
    code = f"({' + '.join(terms)}).backward()"
    text += "\n" + code
    errors = p.run(code)
    if not _check_error(errors, text) or errors[0] is not None:
        return
    for name in p.inputs:
        g_torch, g_cr = p.ns[torch][name].grad, p.ns[chainrule][name].grad
        assert (g_torch is None) == (g_cr is None), f"grad of {name}: {g_torch} against {g_cr}\n{text}"
        if g_torch is not None:
            _agree(g_torch, g_cr, f"grad of {name}", text, signed_zeros=False)


@pytest.mark.torch
@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(st.data())
def test_programs_agree_with_torch(data):
    torch.set_default_dtype(torch.float64)  # chainrule's default floating dtype
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        _run_program(data)


# Programs the fuzzing found, each once a disagreement (fixed since): they run as the
# drawn ones do, every line in both libraries, then the gradients of a weighted sum.
REGRESSIONS = {
    "dims of a 0-d Tensor": """
x = T.tensor(1.5, dtype=T.float64, requires_grad=True)
a = x.mean(-1); b = x.var(0, unbiased=False); c = T.std(x, dim=-1, correction=0, keepdim=True)
d = x.squeeze(-1); e = T.flip(x, (0,)); f = x.transpose(0, -1); g = x.logsumexp((0,)); h = x.sum((0,))
(i, j) = x.max(0); (k, m) = T.sort(x, dim=0); (n, o) = x.median(-1); p = x.cumsum(0); q = x.repeat(())
r = T.index_select(x, 0, T.tensor([0])); s = x.gather(0, T.tensor([0, 0])); t = x.cummax(0)[0]""",
    "dim out of range, and checks of gather, index_select, flatten, mm, bmm": """
x = T.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=T.float64, requires_grad=True)
x.gather(2, T.tensor([[0]]))
x.gather(0, T.tensor([[0, -1]]))
x.gather(1, T.tensor([0]))
T.index_select(x, 0, T.tensor([-1]))
T.index_select(T.tensor(2.0), 0, T.tensor([0, 0]))
T.flatten(x, 1, 0)
T.flatten(x, 2, 2)
T.mm(x.unsqueeze(0), x)
T.bmm(x, x.unsqueeze(0))
T.bmm(x.expand(2, 2, 2), x.unsqueeze(0))
x.repeat(2)
x.clone().clamp_(min=None, max=None)
x.norm(p='fro', dim=(0, 1, 0))""",
    "empty gather index, empty flatten, logsumexp and median of nothing, cat of empties": """
x = T.zeros((3, 0), dtype=T.float64, requires_grad=True)
a = T.tensor([[0.0]], dtype=T.float64, requires_grad=True).gather(-1, T.zeros((1, 0), dtype=T.int64))
b = T.flatten(x, -1, -1); c = x.logsumexp((0, 1), keepdim=True); d = x.median()
e = T.cat([T.zeros(0, dtype=T.float64), T.zeros(0, dtype=T.float64)], 1)
x[T.zeros((0,), dtype=T.bool)]""",
    "signed zeros of relu, clamp and copy_, ties of in-place clamps": """
x = T.tensor([-0.0, 0.0, -1.0, 1.0, 2.0, nan], dtype=T.float64, requires_grad=True)
a = x.relu(); b = x.clamp(min=0.0); c = x.clamp(max=-0.0); d = T.clamp_min(x, 1.0)
e = x.clone(); e.clamp_min_(1.0); f = x.clone(); f.clamp_max_(T.tensor(2.0, dtype=T.float64))
g = x.clone(); g.copy_(-0.0); h = x.clone(); h.copy_(x.detach().neg())""",
    "p-norms of a tiny entry and of NaN; index_select's dim of a 0-d Tensor": """
x = T.tensor([[-8.05575258812596e-114]], dtype=T.float64, requires_grad=True)
a = T.norm(x, p=3); b = x.norm(p=0.5, dim=0)
y = T.tensor([[1.0, nan], [2.0, 3.0]], dtype=T.float64, requires_grad=True)
c = y.norm(p=1, dim=0)
T.index_select(T.tensor(-1.0), 1, T.tensor([0]))""",
    "median of infinities": """
x = T.tensor([-inf, 0.0, -inf], dtype=T.float64, requires_grad=True)
m = x.median()""",
    "einsum broadcasting a size-1 dim": """
a = T.tensor([[[-0.013, 0.856]]], dtype=T.float64, requires_grad=True)
b = T.tensor([[[3.0, 0.0], [-2.335, -0.762]], [[-2.797, 3.0], [-2.658, 0.185]]], dtype=T.float64, requires_grad=True)
c = T.einsum('ijk,ikm->', a, b) + 0.0
d = T.einsum('ik,ik->i', b[0], a[0]) + 0.0""",
    "writes into the results of gather and repeat, which own their memory": """
x = T.tensor(0.5, dtype=T.float64, requires_grad=True)
a = x.gather(0, T.tensor(0)); a[...] = 2.0
b = x.repeat(()); b.mul_(-2)
c = T.zeros(0, dtype=T.float64, requires_grad=True).repeat((2, 2)); c.masked_fill_(T.tensor(False), 2.0)
y = T.tensor([[-2.0, 3.0]], dtype=T.float64, requires_grad=True)
d = y.repeat((2, 1, 2, 1)); d[[1, 0], [0]] = -1.0
w = T.tensor([-0.5], dtype=T.float64, requires_grad=True); e = x.clone(); e[...] = w""",
    "a squeeze that squeezes nothing is a view all the same": """
x = T.tensor(0.0, dtype=T.float64, requires_grad=True)
T.squeeze(x).add_(2.0)
a = T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True)
y = a * 2; v = y.squeeze(); v.mul_(a)""",
    "a value with leading dimensions of size 1 written through a mask": """
x = T.tensor([[1.0, -2.0], [3.0, 0.5]], dtype=T.float64, requires_grad=True)
w = T.tensor([[[4.0]]], dtype=T.float64, requires_grad=True)
a = x.clone(); a[x > 0.7] = w
b = T.zeros((2, 0), dtype=T.float64, requires_grad=True).clone(); b[b > 0.0] = w[0]
c = x.clone(); c[[1, 0], [0]] = w; d = x.clone(); d[0] = w[0, 0]""",
    "lerp with infinite weights (in end and start, NaN from the branch not taken)": """
s = T.tensor([inf, 1.0, -2.0, 0.5, 3.0, 1.0], dtype=T.float64, requires_grad=True)
e = T.tensor([0.0, 2.0, 1.0, -1.0, 3.0, 0.0], dtype=T.float64, requires_grad=True)
w = T.tensor([inf, -inf, 0.25, 0.75, 0.5, -0.5], dtype=T.float64, requires_grad=True)
a = T.lerp(s, e, w); b = s[1:].lerp(e[1:], inf); c = T.lerp(s[1:], e[1:], -inf); d = s[1:].lerp(e[1:], 0.25)
f = s.clone(); f.lerp_(e, w); g = T.lerp(s[:1], e[:1], s[:1])""",
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_found_programs_agree_with_torch(name):
    torch.set_default_dtype(torch.float64)
    ns = {lib: {"T": lib, "inf": inf, "nan": nan} for lib in (torch, chainrule)}
    lines = REGRESSIONS[name].strip().splitlines()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for line in lines:
            errors = []
            for lib in (torch, chainrule):
                try:
                    exec(line, ns[lib])
                    errors.append(None)
                except Exception as e:  # noqa: BLE001
                    errors.append(e)
            _check_error(errors, line)
        names = [k for k, t in ns[torch].items() if isinstance(t, torch.Tensor)]
        for k in names:
            _agree(ns[torch][k], ns[chainrule][k], k, name)
        for lib in (torch, chainrule):
            rng = np.random.default_rng(0)
            loss = sum((ns[lib][k] * lib.tensor(rng.normal(size=tuple(ns[torch][k].shape)))).sum()
                       for k in names if ns[torch][k].requires_grad)
            loss.backward()
        for k in names:
            # (PyTorch's flatten that changes nothing returns the leaf itself)
            if ns[torch][k].requires_grad and ns[torch][k].is_leaf and ns[chainrule][k].is_leaf:
                _agree(ns[torch][k].grad, ns[chainrule][k].grad, f"grad of {k}", name, signed_zeros=False)
