"""``chainrule.jit`` on every layer of chainrule.nn (the classes of the layer table,
tests/nn/module_sweep_table.py, each with its first arguments and input set) and on
training steps: a jitted call gives what the plain call gives, to the last bit, over
calls with new input values, a batch of another size and train()/eval() switched between
calls, with the same random draws (dropout masks) from the same seed, the same buffers
(running statistics) left behind; and a jitted training step (value_and_grad with
``chainrule.optim.functional``'s SGD with momentum or Adam) gives the plain step's
parameters, buffers, gradients and optimizer state, which are the eager optimizers'
(``loss.backward(); opt.step()``). Changes made between calls (hooks, frozen parameters,
a loaded state_dict, a replaced submodule, ``.data`` written) reach the next call."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim import functional as fopt

torch = pytest.importorskip("torch")  # the table's engine imports it

from tests.nn import module_sweep as sweep  # noqa: E402
from tests.nn import module_sweep_table as table  # noqa: E402

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.filterwarnings("ignore")]


def _first_cases() -> dict:
    """Each class of the table with an input set: its first entry's arguments and inputs."""
    cases: dict = {}
    for case in table.CASES:
        if case.name not in cases and sweep._variant(case, case.variants[0])[1]:
            cases[case.name] = case
    return cases


CASES = _first_cases()
# the eager optimizers skip a parameter without a gradient (its .grad is None), the
# functional ones see zeros: Adam's step count and moments differ from then on
_SPARSE_GRADIENTS = {"AdaptiveLogSoftmaxWithLoss"}


def _draw(structure, rng, more=False) -> list:
    """Arrays for the input set; ``more``: one more example in the batch (each array whose
    first axis is the first array's batch, grown by a new row)."""
    arrays = [d.draw(rng) for d in sweep._flat_descriptors(structure)]
    if not more or np.ndim(arrays[0]) < 2:
        return arrays
    batch = arrays[0].shape[0]
    extra = [d.draw(rng) for d in sweep._flat_descriptors(structure)]
    return [np.concatenate([a, e[:1]]) if np.ndim(a) and a.shape[0] == batch and a.shape == e.shape else a
            for a, e in zip(arrays, extra, strict=True)]


def _attempt(call):
    try:
        return call()
    except Exception as e:  # noqa: BLE001 (the exception is the result)
        return e


def _arrays(x) -> list:
    """The arrays of a result (a Tensor's, or the array jit gives for it), in order."""
    if isinstance(x, tuple | list):
        return [a for v in x for a in _arrays(v)]
    if isinstance(x, dict):
        return [a for k in x for a in _arrays(x[k])]
    if isinstance(x, cr.Tensor):
        return [np.asarray(x.detach().numpy())]
    if isinstance(x, nn.Module):
        return _arrays([*cr.tree_leaves(x), *(b for _, b in x.named_buffers())])
    return [np.asarray(x)]


def _steps_agree(jitted, step, model, state, plain, plain_state, batch, seed: int, label: str):
    """One jitted and one plain training step, each from the same seed under cr.no_grad():
    their models, optimizer states and losses must be the same; both steps' results."""
    with cr.no_grad():
        cr.manual_seed(seed)
        model, state, loss = jitted(model, state, *batch)
        cr.manual_seed(seed)
        plain, plain_state, plain_loss = step(plain, plain_state, *batch)
    _assert_same([model, state, loss], [plain, plain_state, plain_loss], label)
    return model, state, loss, plain, plain_state


def _assert_same(got, want, what: str) -> None:
    got, want = _arrays(got), _arrays(want)
    assert len(got) == len(want), what
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert (g.shape, g.dtype) == (w.shape, w.dtype), f"{what} [{i}]"
        assert np.array_equal(g, w, equal_nan=g.dtype.kind in "fc"), f"{what} [{i}]"


def _state(module) -> dict:
    return {k: np.array(v.detach().numpy()) for k, v in module.state_dict().items()}


def _built(case, rng):
    """The layer (float64), a lazy one given its shapes by a first call."""
    kwargs, inputs = sweep._variant(case, case.variants[0])
    layer = sweep._build(cr, case.name, case.args, kwargs)
    with cr.no_grad():
        sweep._attempt(lambda: layer(*sweep._nest([cr.tensor(a) for a in _draw(inputs[0], rng)], inputs[0])))
    return layer, inputs[0]


def _check_call(got, want, what: str) -> bool:
    """Whether to compare the state after the call: the plain call returned (and so did
    the jitted one, the same values), or both raised the same."""
    if isinstance(want, Exception):
        assert isinstance(got, type(want)), f"{what}: {got!r} where the plain call raises {want!r}"
        return False
    assert not isinstance(got, Exception), f"{what}: {got!r}"
    _assert_same(got, want, what)
    return True


def _refused(result, module) -> bool:
    """The documented refusal of parameters closed over (pass the module instead)."""
    return isinstance(result, TypeError) and "an eager Tensor" in str(result) and bool(list(module.parameters()))


def _seeded(step: int, call):
    cr.manual_seed(step)  # dropout masks: the same draws from the same seed
    return _attempt(call)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_jitted_layer_call_is_the_plain_call(name):
    cr.set_default_dtype(np.float64)
    rng = np.random.default_rng(0)
    layer, structure = _built(CASES[name], rng)
    plain, closed, plain_on_arrays = copy.deepcopy(layer), copy.deepcopy(layer), copy.deepcopy(layer)
    jitted = cr.jit(lambda m, *a: m(*a))
    closure = cr.jit(lambda *a: closed(*a))  # the layer closed over, not an argument
    refused = False
    for step, mode in enumerate((True, False, True)):  # the last with a larger batch
        for m in (layer, plain, closed, plain_on_arrays):
            m.train(mode)
        arrays = _draw(structure, rng, more=step == 2)
        tensors = sweep._nest([cr.tensor(a) for a in arrays], structure)
        what = f"{name}, call {step}, {'train' if mode else 'eval'}()"
        with cr.no_grad():
            want = _seeded(step, lambda: plain(*tensors))  # noqa: B023 (called at once)
            got = _seeded(step, lambda: jitted(layer, *tensors))  # noqa: B023
            held = None if refused else _seeded(step, lambda: closure(*sweep._nest(arrays, structure)))  # noqa: B023
            refused = refused or _refused(held, closed)
            if not refused:
                want_held = _seeded(step, lambda: plain_on_arrays(*sweep._nest(arrays, structure)))  # noqa: B023
        if _check_call(got, want, what):
            _assert_same(_state(layer), _state(plain), what + ": state after the call")
        if not refused and _check_call(held, want_held, what + ", closed over"):
            _assert_same(_state(closed), _state(plain_on_arrays), what + ", closed over: state after the call")


def _in_place_cases() -> dict:
    """Each class of the table with an ``inplace=True`` variant: (case, that variant)."""
    found: dict = {}
    for case in table.CASES:
        for variant in case.variants:
            if isinstance(variant, dict) and variant.get("inplace") and case.name not in found:
                found[case.name] = (case, variant)
    return found


IN_PLACE = _in_place_cases()


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_a_jitted_in_place_layer_writes_the_callers_tensor_as_the_plain_call(name):
    case, kwargs = IN_PLACE[name]
    cr.set_default_dtype(np.float64)
    layer = sweep._build(cr, case.name, case.args, kwargs)
    jitted = cr.jit(lambda m, x: m(x))
    rng = np.random.default_rng(0)
    for k in range(3):
        x = rng.normal(size=sweep._flat_descriptors(sweep._variant(case, kwargs)[1][0])[0])
        mine, theirs = cr.tensor(x), cr.tensor(x)
        with cr.no_grad():
            got = _seeded(k, lambda: jitted(layer, mine))  # noqa: B023 (called at once)
            want = _seeded(k, lambda: layer(theirs))  # noqa: B023
        _check_call(got, want, f"{name}, call {k}")
        _assert_same(mine, theirs, f"{name}, call {k}: the input after the call")


def _weighted(out):
    """A scalar loss of a layer's float results (fixed weights)."""
    total = 0.0
    for t in cr.tree_leaves(out):
        if isinstance(t, cr.Tensor) and np.dtype(t.dtype).kind == "f":
            w = np.cos(np.arange(int(np.prod(t.shape)), dtype=np.float64) + 1.0).reshape(tuple(t.shape))
            total = total + (t * w).sum()
    return total


_OPTIMIZERS = {
    "sgd": (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda: fopt.sgd(lr=0.1, momentum=0.9)),
    "adam": (lambda ps: optim.Adam(ps, lr=0.01), lambda: fopt.adam(lr=0.01)),
}


def _grads_and_step(make):
    opt = make()

    def step(model, state, *inputs):
        loss, grads = cr.value_and_grad(lambda m: _weighted(m(*inputs)))(model)
        model, state = opt.update(model, grads, state)
        return model, state, loss, grads

    return opt, step


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_jitted_training_step_is_the_plain_and_the_eager_step(name):
    cr.set_default_dtype(np.float64)
    rng = np.random.default_rng(1)
    layer, structure = _built(CASES[name], rng)
    if not any(np.dtype(p.dtype).kind == "f" for p in layer.parameters()):
        return
    kind = sorted(CASES).index(name) % 2 and "adam" or "sgd"  # each layer one of them, in turn
    eager_opt, functional = _OPTIMIZERS[kind]
    plain, eager = copy.deepcopy(layer), copy.deepcopy(layer)
    opt, step = _grads_and_step(functional)
    jitted = cr.jit(step)
    opt_eager = eager_opt(list(eager.parameters()))
    state, plain_state = opt.init(layer), opt.init(plain)
    model = layer
    for k in range(3):
        arrays = _draw(structure, rng)
        cr.manual_seed(k)
        loss = _weighted(eager(*sweep._nest([cr.tensor(a) for a in arrays], structure)))
        if not isinstance(loss, cr.Tensor):
            return  # no float result to train on
        loss.backward()
        eager_grads = [p.grad if p.grad is not None else np.zeros(p.shape, p.dtype) for p in eager.parameters()]
        opt_eager.step()
        opt_eager.zero_grad()
        with cr.no_grad():
            cr.manual_seed(k)
            got = jitted(model, state, *sweep._nest(arrays, structure))
            cr.manual_seed(k)
            want = step(plain, plain_state, *sweep._nest(arrays, structure))
        _assert_same(got, want, f"{name}, {kind} step {k}")
        model, state, _, grads = got
        plain, plain_state = want[:2]
        if name in _SPARSE_GRADIENTS:
            continue
        moments = [opt_eager.state[p][k] for p in eager.parameters() for k in sorted(opt_eager.state[p])
                   if k != "step"]
        ours = [s[k] for s in state["leaves"] for k in sorted(s)]
        for g, w in zip(_arrays([*cr.tree_leaves(model), got[2], *cr.tree_leaves(grads), *ours]),
                        _arrays([*eager.parameters(), loss, *eager_grads, *moments]), strict=True):
            # (the eager forward of some layers rounds otherwise than the functional one)
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"{name}, {kind} step {k}")
        _assert_same(dict(model.named_buffers()), dict(eager.named_buffers()), f"{name}: buffers")


# -- dropout: fresh masks from the eager stream -----------------------------------------------
@pytest.mark.parametrize("layer", [nn.Dropout(0.5), nn.Dropout2d(0.5), nn.AlphaDropout(0.5), nn.RReLU()],
                         ids=lambda m: type(m).__name__)
def test_jitted_dropout_draws_a_new_mask_each_call_from_the_eager_stream(layer):
    x = -np.ones((4, 3, 2, 2))  # (negative: where RReLU draws its slopes)
    jitted = cr.jit(lambda m, x: m(x))
    cr.manual_seed(3)
    with cr.no_grad():
        got = [np.asarray(jitted(layer, x)) for _ in range(3)]
    cr.manual_seed(3)
    with cr.no_grad():
        want = [layer(cr.tensor(x)).numpy() for _ in range(3)]
    _assert_same(got, want, type(layer).__name__)
    assert not np.array_equal(got[1], got[2]) and jitted.traces == 1


# -- what changes between calls reaches the next call -----------------------------------------
SCALE = 2.0


class _Scaled(nn.Module):
    """A module that holds its activation, a function reading a global."""

    def __init__(self, act):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.act = act

    def forward(self, x):
        return self.act(self.fc(x))


def _changes():
    """(name, model, change made between two calls)."""
    factor = [2.0]

    def hooked(model, kind):
        register = getattr(model[0], f"register_forward_{kind}")
        register(lambda m, i, o: o * factor[0]) if kind == "hook" else register(lambda m, i: (i[0] * factor[0],))
        return model

    def set_global(value):
        global SCALE
        SCALE = value

    def seq():
        return nn.Sequential(nn.Linear(3, 2), nn.Tanh())

    return [
        # a hook's closed-over list changed in place, a module's function reading a global
        ("forward hook reads a list", lambda: hooked(seq(), "hook"), lambda m: factor.__setitem__(0, 3.0)),
        ("forward pre-hook reads a list", lambda: hooked(seq(), "pre_hook"), lambda m: factor.__setitem__(0, 5.0)),
        ("forward hook added", seq, lambda m: m[0].register_forward_hook(lambda mod, i, o: o + 1.0)),
        ("a module's function reads a global", lambda: _Scaled(lambda t: t * SCALE), lambda m: set_global(3.0)),
        ("activation of a transformer layer", lambda: nn.TransformerEncoderLayer(
            3, 1, 4, dropout=0.0, activation=lambda t: nn.functional.relu(t) * SCALE), lambda m: set_global(4.0)),
        ("requires_grad_(False)", seq, lambda m: m[0].weight.requires_grad_(False)),
        ("load_state_dict", seq, lambda m: m.load_state_dict({k: v.numpy() + 1.0 for k, v in m.state_dict().items()})),
        ("submodule replaced", seq, lambda m: m.__setitem__(1, nn.ReLU())),
        ("parameter .data written", seq, lambda m: m[0].weight.data.__setitem__((0, 0), 7.0)),
        ("parameter .data rebound", seq, lambda m: setattr(m[0].weight, "data", m[0].weight.data * 2.0)),
        ("eval() of a submodule", lambda: nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5)), lambda m: m[1].eval()),
        ("running statistics loaded", lambda: nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)),
         lambda m: m[1].running_mean.__setitem__(0, 5.0) if m.eval() else None),
        # without parameters: closed over too
        ("p of a dropout", lambda: nn.Dropout(0.5), lambda m: setattr(m, "p", 0.1)),
        ("eval() of a dropout", lambda: nn.Dropout(0.5), lambda m: m.eval()),
        ("running variance written", lambda: nn.BatchNorm1d(3, affine=False).eval(), lambda m: m.running_var.mul_(4.0)),
        ("layer appended", lambda: nn.Sequential(nn.Tanh()), lambda m: m.append(nn.Sigmoid())),
        ("forward hook of a layer without parameters", nn.Tanh,
         lambda m: m.register_forward_hook(lambda *a: a[2] * 2.0)),
    ]


@pytest.mark.parametrize("change", _changes(), ids=lambda c: c[0])
@pytest.mark.parametrize("closed_over", [False, True], ids=["argument", "closed over"])
def test_a_change_between_calls_reaches_the_next_jitted_call(change, closed_over):
    _, make, apply = change
    cr.set_default_dtype(np.float64)
    cr.manual_seed(0)
    model = make()
    x = np.random.default_rng(0).normal(size=(4, 1, 3) if isinstance(model, nn.TransformerEncoderLayer) else (4, 3))
    jitted = cr.jit(lambda *a: model(*a)) if closed_over else cr.jit(lambda m, *a: m(*a))
    for k in range(3):
        with cr.no_grad():
            cr.manual_seed(k)
            want = _attempt(lambda: model(x))
            cr.manual_seed(k)
            got = _attempt(lambda: jitted(x) if closed_over else jitted(model, x))
        if closed_over and _refused(got, model):
            return
        _check_call(got, want, f"call {k}")
        if k == 0:
            apply(model)


def test_a_function_in_the_aux_data_of_a_pytree_node_is_watched():
    class Node:
        def __init__(self, w, fn):
            self.w, self.fn = w, fn

    cr.register_pytree_node(Node, lambda n: ((n.w,), (n.fn,)), lambda aux, children: Node(children[0], aux[0]))
    jitted = cr.jit(lambda n, x: n.fn(n.w * x))
    factor = [2.0]
    node = Node(np.ones(3), lambda v: v * factor[0])
    assert jitted(node, np.ones(3)).tolist() == [2.0] * 3
    factor[0] = 5.0
    assert jitted(node, np.ones(3)).tolist() == [5.0] * 3


# -- whole models: a GPT block, an LSTM on packed sequences, a CNN with batch normalisation ----
class _GPT(nn.Module):
    """A one-block character GPT (nanoGPT's shape): embeddings, causal self-attention, MLP."""

    def __init__(self, vocab=7, n=8, heads=2, block=5):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, n), nn.Embedding(block, n)
        self.ln1, self.ln2, self.ln_f = nn.LayerNorm(n), nn.LayerNorm(n), nn.LayerNorm(n)
        self.attn = nn.MultiheadAttention(n, heads, dropout=0.1, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(n, 4 * n), nn.GELU(), nn.Linear(4 * n, n), nn.Dropout(0.1))
        self.head = nn.Linear(n, vocab, bias=False)
        self.register_buffer("mask", np.triu(np.ones((block, block), bool), 1))

    def forward(self, idx, targets):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(np.arange(t))
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=self.mask[:t, :t], need_weights=False)[0]
        x = x + self.mlp(self.ln2(x))
        logits = self.head(self.ln_f(x))
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


class _Tagger(nn.Module):
    """An LSTM over padded sequences of several lengths, packed."""

    def __init__(self):
        super().__init__()
        self.emb, self.lstm, self.out = nn.Embedding(6, 4), nn.LSTM(4, 5, batch_first=True), nn.Linear(5, 3)

    def forward(self, idx, lengths, targets):
        packed = nn.utils.rnn.pack_padded_sequence(self.emb(idx), lengths, batch_first=True, enforce_sorted=False)
        h, _ = nn.utils.rnn.pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=idx.shape[1])
        return nn.functional.cross_entropy(self.out(h).reshape(-1, 3), targets.reshape(-1), ignore_index=-1)


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.2), nn.Linear(12, 3))


def _model_batch(kind, rng):
    if kind == "gpt":
        return rng.integers(0, 7, (2, 5)), rng.integers(0, 7, (2, 5))
    if kind == "lstm":
        lengths = rng.permutation([4, 2, 3])
        targets = np.where(np.arange(4) < lengths[:, None], rng.integers(0, 3, (3, 4)), -1)
        return rng.integers(0, 6, (3, 4)), lengths, targets
    return rng.normal(size=(4, 1, 4, 4)), rng.integers(0, 3, 4)


_MODELS = {"gpt": _GPT, "lstm": _Tagger, "cnn": lambda: _Loss(_cnn())}


class _Loss(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, y):
        return nn.functional.cross_entropy(self.net(x), y)


@pytest.mark.parametrize("kind", sorted(_MODELS))
def test_a_jitted_training_step_of_a_model_is_the_plain_and_the_eager_step(kind):
    cr.set_default_dtype(np.float64)
    cr.manual_seed(0)
    model = _MODELS[kind]()
    plain, eager = copy.deepcopy(model), copy.deepcopy(model)
    opt = fopt.adam(lr=0.01)

    def step(model, state, *batch):
        loss, grads = cr.value_and_grad(lambda m: m(*batch))(model)
        model, state = opt.update(model, grads, state)
        return model, state, loss

    jitted = cr.jit(step)
    state, plain_state = opt.init(model), opt.init(plain)
    opt_eager = optim.Adam(eager.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    for k in range(3):
        batch = _model_batch(kind, rng)
        model, state, loss, plain, plain_state = _steps_agree(jitted, step, model, state, plain, plain_state, batch,
                                                              k, f"{kind} step {k}")
        cr.manual_seed(k)
        eager_loss = eager(*[cr.tensor(b) for b in batch])
        eager_loss.backward()
        opt_eager.step()
        opt_eager.zero_grad()
        for g, w in zip(_arrays([loss, model]), _arrays([eager_loss, eager]), strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"{kind} step {k}")
    # the step returns eager Tensors, as the plain call does, so the first call's key is
    # the next calls' (the lstm's packing reads the lengths: a new order of lengths traces
    # again; the gpt's trace is not replayed, and the optimizer state it gives back holds
    # eager Tensors where opt.init's holds arrays)
    assert jitted.traces == {"lstm": 3, "gpt": 2}.get(kind, 1)
    model.eval()
    plain.eval()
    forward = cr.jit(lambda m, *batch: m(*batch))
    for _ in range(2):
        batch = _model_batch(kind, rng)
        _assert_same(forward(model, *batch), plain(*batch), f"{kind} eval()")


def test_an_eager_training_step_under_jit_runs_as_the_plain_step():
    """``loss.backward()`` and an optimizer that updates in place are eager-layer tools: a
    step on a module among the arguments runs without jit (its parameters require grad),
    one on a module closed over is refused; neither gives another answer."""
    cr.set_default_dtype(np.float64)
    cr.manual_seed(0)
    model = _Loss(_cnn())
    twin = copy.deepcopy(model)

    def make_step(m):
        opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)

        def step(m, x, y):
            loss = m(x, y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss
        return step

    jitted, plain = cr.jit(make_step(model)), make_step(twin)
    rng = np.random.default_rng(0)
    for k in range(3):
        x, y = _model_batch("cnn", rng)
        cr.manual_seed(k)
        got = jitted(model, cr.tensor(x), cr.tensor(y))
        cr.manual_seed(k)
        want = plain(twin, cr.tensor(x), cr.tensor(y))
        _assert_same([got, model], [want, twin], f"step {k}")
    closed = cr.jit(lambda x, y: make_step(model)(model, x, y))
    with pytest.raises(TypeError, match="an eager Tensor"):
        closed(cr.tensor(x), cr.tensor(y))


def test_gradients_of_float32_parameters_from_float64_eager_inputs_are_float32_jitted_and_plain():
    """A float64 eager Tensor (the data) into a model of float32 parameters: the forward
    computes in float64 (the eager layer's promotion), and the gradient of each parameter
    is of its dtype, float32, as with a float64 array, jitted and plain."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    step = cr.value_and_grad(lambda m, x: m(x).sum())
    x = np.random.default_rng(0).normal(size=(5, 3))
    jitted = cr.jit(step)
    with cr.no_grad():
        want = step(model, x)
        got = [jitted(model, cr.tensor(x)) for _ in range(2)]
        _assert_same(step(model, cr.tensor(x)), want, "plain, eager data")
    _assert_same(got, [want, want], "jitted, eager data")
    assert {a.dtype for a in _arrays(want[1])} == {np.dtype(np.float32)}


def test_a_training_step_that_donates_the_model_and_its_state_replays_as_the_plain_step():
    """The model a step returns holds its parameters as eager Tensors, as the plain step's:
    they are its pytree children, not also array state beside its buffers (which made them
    two arguments of one memory, refused as donated)."""
    cr.set_default_dtype(np.float64)
    cr.manual_seed(0)
    model = _Loss(_cnn())
    plain = copy.deepcopy(model)
    opt = fopt.sgd(lr=0.1, momentum=0.9)

    def step(model, state, x, y):
        loss, grads = cr.value_and_grad(lambda m: m(x, y))(model)
        model, state = opt.update(model, grads, state)
        return model, state, loss

    jitted = cr.jit(step, donate_argnums=(0, 1))
    state, plain_state = opt.init(model), opt.init(plain)
    rng = np.random.default_rng(0)
    for k in range(4):
        model, state, _, plain, plain_state = _steps_agree(jitted, step, model, state, plain, plain_state,
                                                           _model_batch("cnn", rng), k, f"step {k}")
    assert jitted.traces == 1  # Parameters, then the eager Tensors the step returns: one key


class _Counted(nn.Module):
    """A module computing with its buffers: a 0-d int64 count and a 0-d float64 scale."""

    def __init__(self):
        super().__init__()
        self.register_buffer("count", np.array(3, np.int64))
        self.register_buffer("scale", np.array(2.0))

    def forward(self, x):
        return x * self.count + x * self.scale


def test_buffers_under_jit_compute_and_raise_as_the_eager_layer():
    """A module's buffers are eager Tensors in the plain call: jitted, their arithmetic has
    the eager layer's dtypes (a float32 input times a 0-d int64 or float64 buffer stays
    float32, where NumPy's arrays would give float64) and its errors (a TensorError)."""
    jitted = cr.jit(lambda m, x: m(x))
    model = _Counted()
    for x in (np.ones(3, np.float32), np.arange(3.0, dtype=np.float32)):
        with cr.no_grad():
            _check_call(jitted(model, cr.tensor(x)), model(cr.tensor(x)), "buffers")
    norm = nn.InstanceNorm1d(3, track_running_stats=True)
    x = np.random.default_rng(0).normal(size=(4, 5))  # 4 channels, not 3
    with cr.no_grad():
        _check_call(_attempt(lambda: jitted(norm, cr.tensor(x))), _attempt(lambda: norm(cr.tensor(x))), "4 channels")
