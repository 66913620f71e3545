"""Andrej Karpathy's makemore lectures (neural networks: zero to hero, parts 1 to 5),
trimmed: a few dozen names for the dataset, small layers, a few steps. Each runs twice, as
written with PyTorch and with ``import torch`` read as ``import chainrule as torch``, and
must give PyTorch's values: in float64 to ~1e-10 where the lecture lets the default dtype
be set, at float32's precision where it hard-codes ``.float()``.

chainrule's random streams are not PyTorch's, so the draws are injected: the PyTorch run
records what ``torch.randn``, ``torch.multinomial``, ... return (and the indices a
``RandomSampler`` yields); the chainrule run makes each call as written (its arguments,
shape and dtype checked) and is handed PyTorch's draw in its place."""

import contextlib
import types

import numpy as np
import pytest
from tests.test_torch_programs import _as_chainrule

import chainrule as cr
import chainrule.utils.data

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


_RANDOM = ("randn", "rand", "randint", "multinomial", "randperm")


@contextlib.contextmanager
def recorded_draws(draws: list):
    """PyTorch, its draws appended to ``draws`` (the sampler's as its indices, not as the
    ``torch.randint`` calls it makes inside)."""
    inside_sampler = []

    def recording(real):
        def draw(*args, **kwargs):
            out = real(*args, **kwargs)
            if not inside_sampler:
                draws.append(out.detach().numpy().copy())
            return out
        return draw

    sampler_iter = torch.utils.data.RandomSampler.__iter__

    def recorded_iter(self):
        inside_sampler.append(True)
        try:
            for i in sampler_iter(self):
                inside_sampler.pop()
                draws.append(i)
                yield i
                inside_sampler.append(True)
        finally:
            inside_sampler.clear()

    with pytest.MonkeyPatch.context() as mp:
        for name in _RANDOM:
            mp.setattr(torch, name, recording(getattr(torch, name)))
        mp.setattr(torch.utils.data.RandomSampler, "__iter__", recorded_iter)
        yield


@contextlib.contextmanager
def replayed_draws(draws: list):
    """chainrule, each draw of the program's (checked as made) replaced by PyTorch's."""
    queue = iter(draws)

    def replaying(real):
        def draw(*args, **kwargs):
            ours, theirs = real(*args, **kwargs), next(queue)
            assert ours.shape == theirs.shape, (real.__name__, ours.shape, theirs.shape)
            return cr.tensor(theirs, dtype=ours.dtype, requires_grad=ours.requires_grad)
        return draw

    sampler_iter = cr.utils.data.RandomSampler.__iter__

    def replayed_iter(self):
        assert 0 <= next(iter(sampler_iter(self))) < len(self.data_source)
        for i in queue:
            assert isinstance(i, int)
            yield i

    with pytest.MonkeyPatch.context() as mp:
        for name in _RANDOM:
            mp.setattr(cr, name, replaying(getattr(cr, name)))
        mp.setattr(cr.utils.data.RandomSampler, "__iter__", replayed_iter)
        yield


def run_program(source: str, library: str, draws: list):
    """``main()`` of the program, run with ``library`` (PyTorch recording its draws into
    ``draws``, chainrule replaying them)."""
    namespace: dict = {"__name__": "program", "NAMES": list(NAMES)}
    exec(compile(source if library == "torch" else _as_chainrule(source), f"<{library}>", "exec"), namespace)
    if library != "torch":
        assert not [k for k, v in namespace.items() if isinstance(v, types.ModuleType)
                    and v.__name__.split(".")[0] == "torch"]
    lib = torch if library == "torch" else cr
    with recorded_draws(draws) if library == "torch" else replayed_draws(draws):
        lib.manual_seed(0)
        return namespace["main"]()


def flat(result) -> list:
    """The numbers (as arrays) and strings in a nest of dicts, lists and tensors."""
    if isinstance(result, dict):
        return [v for k in sorted(result) for v in flat(result[k])]
    if isinstance(result, list | tuple):
        return [v for r in result for v in flat(r)]
    if hasattr(result, "detach"):
        return [np.asarray(result.detach().numpy())]
    return [result if isinstance(result, str) else np.asarray(result)]


def assert_same(ours, theirs, rtol, atol):
    a, b = flat(ours), flat(theirs)
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if isinstance(y, str):
            assert x == y, i
        else:
            assert x.shape == y.shape, i
            np.testing.assert_allclose(x.astype(np.float64), y.astype(np.float64), rtol=rtol, atol=atol,
                                       err_msg=str(i))


NAMES = ("emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily elizabeth mila ella "
         "avery sofia camila aria scarlett victoria madison luna grace chloe penelope layla riley zoey nora "
         "quinn jaxon wyatt xavier kai").split()


PROGRAMS: dict[str, str] = {}

# part 1: the bigram counts, sampling from them, and the one-layer network on one-hot inputs
# (float32: the lecture's .float() and torch.int32 counts)
PROGRAMS["bigram"] = '''
import random
import torch
import torch.nn.functional as F

def main():
    words = list(NAMES)
    out = {}
    N = torch.zeros((27, 27), dtype=torch.int32)
    chars = sorted(list(set(''.join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi['.'] = 0
    itos = {i: s for s, i in stoi.items()}
    for w in words:
        chs = ['.'] + list(w) + ['.']
        for ch1, ch2 in zip(chs, chs[1:]):
            ix1 = stoi[ch1]
            ix2 = stoi[ch2]
            N[ix1, ix2] += 1
    out['N'] = N
    p = N[0].float()
    p = p / p.sum()
    g = torch.Generator().manual_seed(2147483647)
    p3 = torch.rand(3, generator=g)
    p3 = p3 / p3.sum()
    out['m'] = torch.multinomial(p3, num_samples=100, replacement=True, generator=g)
    ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
    out['first'] = itos[ix]
    P = (N + 1).float()
    P /= P.sum(1, keepdims=True)
    out['P'] = P
    g = torch.Generator().manual_seed(2147483647)
    samples = []
    for i in range(5):
        o = []
        ix = 0
        while True:
            p = P[ix]
            ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
            o.append(itos[ix])
            if ix == 0:
                break
        samples.append(''.join(o))
    out['samples'] = samples
    log_likelihood = 0.0
    n = 0
    for w in words:
        chs = ['.'] + list(w) + ['.']
        for ch1, ch2 in zip(chs, chs[1:]):
            ix1 = stoi[ch1]
            ix2 = stoi[ch2]
            prob = P[ix1, ix2]
            logprob = torch.log(prob)
            log_likelihood += logprob
            n += 1
    nll = -log_likelihood
    out['nll'] = nll / n
    f'{log_likelihood=}'
    f'{nll/n}'
    xs, ys = [], []
    for w in words:
        chs = ['.'] + list(w) + ['.']
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs = torch.tensor(xs)
    ys = torch.tensor(ys)
    num = xs.nelement()
    g = torch.Generator().manual_seed(2147483647)
    W = torch.randn((27, 27), generator=g, requires_grad=True)
    xenc = F.one_hot(xs, num_classes=27).float()
    out['shape'] = list(xenc.shape)
    losses = []
    for k in range(5):
        xenc = F.one_hot(xs, num_classes=27).float()
        logits = xenc @ W
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdims=True)
        loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W ** 2).mean()
        losses.append(loss.item())
        W.grad = None
        loss.backward()
        W.data += -50 * W.grad
    out['losses'] = losses
    out['W'] = W
    return out
'''

# part 2: the MLP of Bengio et al. with the embedding table C[X]; part 3: the layers as
# classes, BatchNorm by hand, the activation and gradient statistics (retain_grad, histogram)
PROGRAMS["mlp"] = '''
import random
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

def main():
    out = {}
    words = list(NAMES)
    chars = sorted(list(set(''.join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi['.'] = 0
    itos = {i: s for s, i in stoi.items()}
    vocab_size = len(itos)
    block_size = 3

    def build_dataset(words):
        X, Y = [], []
        for w in words:
            context = [0] * block_size
            for ch in w + '.':
                ix = stoi[ch]
                X.append(context)
                Y.append(ix)
                context = context[1:] + [ix]
        X = torch.tensor(X)
        Y = torch.tensor(Y)
        return X, Y

    random.seed(42)
    random.shuffle(words)
    n1 = int(0.8 * len(words))
    Xtr, Ytr = build_dataset(words[:n1])
    Xdev, Ydev = build_dataset(words[n1:])
    # part 2: the MLP
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((27, 10), generator=g)
    W1 = torch.randn((30, 200), generator=g)
    b1 = torch.randn(200, generator=g)
    W2 = torch.randn((200, 27), generator=g)
    b2 = torch.randn(27, generator=g)
    parameters = [C, W1, b1, W2, b2]
    out['nparams'] = sum(p.nelement() for p in parameters)
    for p in parameters:
        p.requires_grad = True
    lre = torch.linspace(-3, 0, 1000)
    lrs = 10 ** lre
    lri, lossi, stepi = [], [], []
    for i in range(5):
        ix = torch.randint(0, Xtr.shape[0], (32,))
        emb = C[Xtr[ix]]
        h = torch.tanh(emb.view(-1, 30) @ W1 + b1)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = lrs[i * 100]
        for p in parameters:
            p.data += -lr * p.grad
        lri.append(lre[i * 100])
        stepi.append(i)
        lossi.append(loss.log10().item())
    out['lossi'] = lossi
    emb = C[Xdev]
    h = torch.tanh(emb.view(-1, 30) @ W1 + b1)
    logits = h @ W2 + b2
    out['dev'] = F.cross_entropy(logits, Ydev)
    g = torch.Generator().manual_seed(2147483647 + 10)
    samples = []
    for _ in range(3):
        o = []
        context = [0] * block_size
        while True:
            emb = C[torch.tensor([context])]
            h = torch.tanh(emb.view(1, -1) @ W1 + b1)
            logits = h @ W2 + b2
            probs = F.softmax(logits, dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            context = context[1:] + [ix]
            o.append(ix)
            if ix == 0 or len(o) > 15:
                break
        samples.append(''.join(itos[i] for i in o))
    out['samples'] = samples

    # part 3: the layers as classes, with the activation statistics
    class Linear:
        def __init__(self, fan_in, fan_out, bias=True):
            self.weight = torch.randn((fan_in, fan_out), generator=g) / fan_in ** 0.5
            self.bias = torch.zeros(fan_out) if bias else None

        def __call__(self, x):
            self.out = x @ self.weight
            if self.bias is not None:
                self.out += self.bias
            return self.out

        def parameters(self):
            return [self.weight] + ([] if self.bias is None else [self.bias])

    class BatchNorm1d:
        def __init__(self, dim, eps=1e-5, momentum=0.1):
            self.eps = eps
            self.momentum = momentum
            self.training = True
            self.gamma = torch.ones(dim)
            self.beta = torch.zeros(dim)
            self.running_mean = torch.zeros(dim)
            self.running_var = torch.ones(dim)

        def __call__(self, x):
            if self.training:
                xmean = x.mean(0, keepdim=True)
                xvar = x.var(0, keepdim=True)
            else:
                xmean = self.running_mean
                xvar = self.running_var
            xhat = (x - xmean) / torch.sqrt(xvar + self.eps)
            self.out = self.gamma * xhat + self.beta
            if self.training:
                with torch.no_grad():
                    self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                    self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
            return self.out

        def parameters(self):
            return [self.gamma, self.beta]

    class Tanh:
        def __call__(self, x):
            self.out = torch.tanh(x)
            return self.out

        def parameters(self):
            return []

    n_embd, n_hidden = 10, 32
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((vocab_size, n_embd), generator=g)
    layers = [
        Linear(n_embd * block_size, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
        Linear(n_hidden, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
        Linear(n_hidden, vocab_size, bias=False), BatchNorm1d(vocab_size),
    ]
    with torch.no_grad():
        layers[-1].gamma *= 0.1
        for layer in layers[:-1]:
            if isinstance(layer, Linear):
                layer.weight *= 5 / 3
    parameters = [C] + [p for layer in layers for p in layer.parameters()]
    for p in parameters:
        p.requires_grad = True
    lossi, ud, stats = [], [], []
    for i in range(4):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        emb = C[Xb]
        x = emb.view(emb.shape[0], -1)
        for layer in layers:
            x = layer(x)
        loss = F.cross_entropy(x, Yb)
        for layer in layers:
            layer.out.retain_grad()
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < 150000 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        lossi.append(loss.log10().item())
        with torch.no_grad():
            ud.append([((lr * p.grad).std() / p.data.std()).log10().item() for p in parameters])
    for i, layer in enumerate(layers[:-1]):
        if isinstance(layer, Tanh):
            t = layer.out
            'layer %d (%10s): mean %+.2f, std %.2f, saturated: %.2f%%' % (
                i, layer.__class__.__name__, t.mean(), t.std(), (t.abs() > 0.97).float().mean() * 100)
            stats.append([t.mean(), t.std(), (t.abs() > 0.97).float().mean()])
            hy, hx = torch.histogram(t, density=True)
            stats.append(hy)
            t = layer.out.grad
            'layer %d (%10s): mean %+f, std %e' % (i, layer.__class__.__name__, t.mean(), t.std())
            hy, hx = torch.histogram(t, density=True)
            stats.append(hx)
    for i, p in enumerate(parameters):
        t = p.grad
        if p.ndim == 2:
            'weight %10s | mean %+f | std %e | grad:data ratio %e' % (
                tuple(t.shape), t.mean(), t.std(), t.std() / p.std())
            stats.append(t.std() / p.std())
    out['lossi'] = lossi
    out['ud'] = [u for u, p in zip(ud[-1], parameters) if p.ndim == 2]  # gamma's std: ill-conditioned
    out['stats'] = stats

    @torch.no_grad()
    def split_loss(split):
        x, y = {'train': (Xtr, Ytr), 'val': (Xdev, Ydev)}[split]
        emb = C[x]
        x = emb.view(emb.shape[0], -1)
        for layer in layers:
            x = layer(x)
        loss = F.cross_entropy(x, y)
        return split, loss.item()

    for layer in layers:
        layer.training = False
    out['split'] = [split_loss('train'), split_loss('val')]
    out['params'] = parameters
    return out
'''

# part 4: the backward pass written out by hand, checked with cmp() against autograd's
PROGRAMS["backprop_ninja"] = '''
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

def main():
    out = {}
    words = list(NAMES)
    chars = sorted(list(set(''.join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi['.'] = 0
    itos = {i: s for s, i in stoi.items()}
    vocab_size = len(itos)
    block_size = 3
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    Xtr, Ytr = torch.tensor(X), torch.tensor(Y)

    cmps = []

    def cmp(s, dt, t):
        ex = torch.all(dt == t.grad).item()
        app = torch.allclose(dt, t.grad)
        maxdiff = (dt - t.grad).abs().max().item()
        f'{s:15s} | exact: {str(ex):5s} | approximate: {str(app):5s} | maxdiff: {maxdiff}'
        cmps.append((app, maxdiff < 1e-12))

    n_embd, n_hidden = 10, 64
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((vocab_size, n_embd), generator=g)
    W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / ((n_embd * block_size) ** 0.5)
    b1 = torch.randn(n_hidden, generator=g) * 0.1
    W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.1
    b2 = torch.randn(vocab_size, generator=g) * 0.1
    bngain = torch.randn((1, n_hidden)) * 0.1 + 1.0
    bnbias = torch.randn((1, n_hidden)) * 0.1
    parameters = [C, W1, b1, W2, b2, bngain, bnbias]
    out['nparams'] = sum(p.nelement() for p in parameters)
    for p in parameters:
        p.requires_grad = True
    batch_size = 32
    n = batch_size
    ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
    Xb, Yb = Xtr[ix], Ytr[ix]

    emb = C[Xb]
    embcat = emb.view(emb.shape[0], -1)
    hprebn = embcat @ W1 + b1
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff ** 2
    bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)
    bnvar_inv = (bnvar + 1e-5) ** -0.5
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    h = torch.tanh(hpreact)
    logits = h @ W2 + b2
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum ** -1
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()
    for p in parameters:
        p.grad = None
    for t in [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes, logits, h, hpreact,
              bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani, embcat, emb]:
        t.retain_grad()
    loss.backward()
    out['loss'] = loss

    dlogprobs = torch.zeros_like(logprobs)
    dlogprobs[range(n), Yb] = -1.0 / n
    dprobs = (1.0 / probs) * dlogprobs
    dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
    dcounts = counts_sum_inv * dprobs
    dcounts_sum = (-counts_sum ** -2) * dcounts_sum_inv
    dcounts += torch.ones_like(counts) * dcounts_sum
    dnorm_logits = counts * dcounts
    dlogits = dnorm_logits.clone()
    dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
    dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = (1.0 - h ** 2) * dh
    dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    dbnraw = bngain * dhpreact
    dbnbias = dhpreact.sum(0, keepdim=True)
    dbndiff = bnvar_inv * dbnraw
    dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
    dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv
    dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar
    dbndiff += (2 * bndiff) * dbndiff2
    dhprebn = dbndiff.clone()
    dbnmeani = (-dbndiff).sum(0)
    dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)
    dembcat = dhprebn @ W1.T
    dW1 = embcat.T @ dhprebn
    db1 = dhprebn.sum(0)
    demb = dembcat.view(emb.shape)
    dC = torch.zeros_like(C)
    for k in range(Xb.shape[0]):
        for j in range(Xb.shape[1]):
            ix = Xb[k, j]
            dC[ix] += demb[k, j]

    for name, dt, t in [('logprobs', dlogprobs, logprobs), ('probs', dprobs, probs),
                        ('counts_sum_inv', dcounts_sum_inv, counts_sum_inv), ('counts_sum', dcounts_sum, counts_sum),
                        ('counts', dcounts, counts), ('norm_logits', dnorm_logits, norm_logits),
                        ('logit_maxes', dlogit_maxes, logit_maxes), ('logits', dlogits, logits), ('h', dh, h),
                        ('W2', dW2, W2), ('b2', db2, b2), ('hpreact', dhpreact, hpreact),
                        ('bngain', dbngain, bngain), ('bnbias', dbnbias, bnbias), ('bnraw', dbnraw, bnraw),
                        ('bnvar_inv', dbnvar_inv, bnvar_inv), ('bnvar', dbnvar, bnvar),
                        ('bndiff2', dbndiff2, bndiff2), ('bndiff', dbndiff, bndiff), ('bnmeani', dbnmeani, bnmeani),
                        ('hprebn', dhprebn, hprebn), ('embcat', dembcat, embcat), ('W1', dW1, W1), ('b1', db1, b1),
                        ('emb', demb, emb), ('C', dC, C)]:
        cmp(name, dt, t)
    out['cmps'] = cmps
    out['grads'] = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]

    loss_fast = F.cross_entropy(logits, Yb)
    out['fast'] = (loss_fast - loss).item()
    dlogits = F.softmax(logits, 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    cmp('logits', dlogits, logits)
    hpreact_fast = bngain * (hprebn - hprebn.mean(0, keepdim=True)) / torch.sqrt(
        hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) + bnbias
    out['bn_fast'] = (hpreact_fast - hpreact).abs().max()
    dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0)
                                        - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))
    cmp('hprebn', dhprebn, hprebn)

    # exercise 4: training with the hand-written backward pass
    lossi = []
    with torch.no_grad():
        for i in range(3):
            ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
            Xb, Yb = Xtr[ix], Ytr[ix]
            emb = C[Xb]
            embcat = emb.view(emb.shape[0], -1)
            hprebn = embcat @ W1 + b1
            bnmean = hprebn.mean(0, keepdim=True)
            bnvar = hprebn.var(0, keepdim=True, unbiased=True)
            bnvar_inv = (bnvar + 1e-5) ** -0.5
            bnraw = (hprebn - bnmean) * bnvar_inv
            hpreact = bngain * bnraw + bnbias
            h = torch.tanh(hpreact)
            logits = h @ W2 + b2
            loss = F.cross_entropy(logits, Yb)
            for p in parameters:
                p.grad = None
            dlogits = F.softmax(logits, 1)
            dlogits[range(n), Yb] -= 1
            dlogits /= n
            dh = dlogits @ W2.T
            dW2 = h.T @ dlogits
            db2 = dlogits.sum(0)
            dhpreact = (1.0 - h ** 2) * dh
            dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
            dbnbias = dhpreact.sum(0, keepdim=True)
            dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0)
                                        - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))
            dembcat = dhprebn @ W1.T
            dW1 = embcat.T @ dhprebn
            db1 = dhprebn.sum(0)
            demb = dembcat.view(emb.shape)
            dC = torch.zeros_like(C)
            for k in range(Xb.shape[0]):
                for j in range(Xb.shape[1]):
                    ix = Xb[k, j]
                    dC[ix] += demb[k, j]
            grads = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]
            lr = 0.1 if i < 100000 else 0.01
            for p, grad in zip(parameters, grads):
                p.data += -lr * grad
            lossi.append(loss.log10().item())
    out['lossi'] = lossi
    out['params'] = parameters
    return out
'''

# part 5: the WaveNet-like hierarchy (FlattenConsecutive), the layer classes with __call__
PROGRAMS["wavenet"] = '''
import random
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

class Linear:
    def __init__(self, fan_in, fan_out, bias=True):
        self.weight = torch.randn((fan_in, fan_out)) / fan_in ** 0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps = eps
        self.momentum = momentum
        self.training = True
        self.gamma = torch.ones(dim)
        self.beta = torch.zeros(dim)
        self.running_mean = torch.zeros(dim)
        self.running_var = torch.ones(dim)

    def __call__(self, x):
        if self.training:
            if x.ndim == 2:
                dim = 0
            elif x.ndim == 3:
                dim = (0, 1)
            xmean = x.mean(dim, keepdim=True)
            xvar = x.var(dim, keepdim=True)
        else:
            xmean = self.running_mean
            xvar = self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)
        self.out = self.gamma * xhat + self.beta
        if self.training:
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:
    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []


class Embedding:
    def __init__(self, num_embeddings, embedding_dim):
        self.weight = torch.randn((num_embeddings, embedding_dim))

    def __call__(self, IX):
        self.out = self.weight[IX]
        return self.out

    def parameters(self):
        return [self.weight]


class FlattenConsecutive:
    def __init__(self, n):
        self.n = n

    def __call__(self, x):
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)
        self.out = x
        return self.out

    def parameters(self):
        return []


class Sequential:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


def main():
    out = {}
    words = list(NAMES)
    random.seed(42)
    random.shuffle(words)
    chars = sorted(list(set(''.join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi['.'] = 0
    itos = {i: s for s, i in stoi.items()}
    vocab_size = len(itos)
    block_size = 8

    def build_dataset(words):
        X, Y = [], []
        for w in words:
            context = [0] * block_size
            for ch in w + '.':
                ix = stoi[ch]
                X.append(context)
                Y.append(ix)
                context = context[1:] + [ix]
        return torch.tensor(X), torch.tensor(Y)

    n1 = int(0.8 * len(words))
    Xtr, Ytr = build_dataset(words[:n1])
    Xdev, Ydev = build_dataset(words[n1:])
    torch.manual_seed(42)
    n_embd, n_hidden = 10, 32
    model = Sequential([
        Embedding(vocab_size, n_embd),
        FlattenConsecutive(2), Linear(n_embd * 2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
        FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
        FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
        Linear(n_hidden, vocab_size),
    ])
    with torch.no_grad():
        model.layers[-1].weight *= 0.1
    parameters = model.parameters()
    out['nparams'] = sum(p.nelement() for p in parameters)
    for p in parameters:
        p.requires_grad = True
    lossi = []
    for i in range(4):
        ix = torch.randint(0, Xtr.shape[0], (32,))
        Xb, Yb = Xtr[ix], Ytr[ix]
        logits = model(Xb)
        loss = F.cross_entropy(logits, Yb)
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < 150000 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        lossi.append(loss.log10().item())
    out['shapes'] = [tuple(layer.out.shape) for layer in model.layers]
    out['lossi'] = torch.tensor(lossi).view(-1, 2).mean(1)
    for layer in model.layers:
        layer.training = False

    @torch.no_grad()
    def split_loss(split):
        x, y = {'train': (Xtr, Ytr), 'val': (Xdev, Ydev)}[split]
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        return loss.item()

    out['split'] = [split_loss('train'), split_loss('val')]
    samples = []
    for _ in range(3):
        o = []
        context = [0] * block_size
        while True:
            logits = model(torch.tensor([context]))
            probs = F.softmax(logits, dim=1)
            ix = torch.multinomial(probs, num_samples=1).item()
            context = context[1:] + [ix]
            o.append(ix)
            if ix == 0 or len(o) > 12:
                break
        samples.append(''.join(itos[i] for i in o))
    out['samples'] = samples
    out['params'] = parameters
    out['running'] = [model.layers[3].running_mean, model.layers[3].running_var]
    return out
'''


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_lecture_gives_pytorchs_values(name):
    draws: list = []
    theirs = run_program(PROGRAMS[name], "torch", draws)
    ours = run_program(PROGRAMS[name], "chainrule", draws)
    # chainrule's creation functions make float64 where the lecture's torch.randn is float32
    assert_same(ours, theirs, *((2e-5, 1e-6) if name == "bigram" else (1e-9, 1e-10)))
