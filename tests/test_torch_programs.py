"""Programs from pytorch/examples and PyTorch's tutorials, trimmed (small random data in
place of the datasets, a few steps, dropout at 0 where its masks would differ), run twice:
as written, with PyTorch, and with ``import torch`` read as ``import chainrule as torch``
(``torch.nn``, ``torch.optim``, ... as chainrule's). Both start from the same weights
(PyTorch's, copied over) and see the same batches; the losses, outputs and final weights
must agree, in float64 to ~1e-10."""

import linecache
import re
import types

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _as_chainrule(source: str) -> str:
    """The program with its imports of torch read as imports of chainrule."""
    source = re.sub(r"^(\s*)import torch$", r"\1import chainrule as torch", source, flags=re.M)
    source = re.sub(r"^(\s*)import torch as (\w+)$", r"\1import chainrule as \2", source, flags=re.M)
    source = re.sub(r"^(\s*)import torch\.([\w.]+) as (\w+)$", r"\1import chainrule.\2 as \3", source, flags=re.M)
    # import torch.utils.data binds the name torch: chainrule's, its submodule loaded
    source = re.sub(r"^(\s*)import torch\.([\w.]+)$", r"\1import chainrule.\2\n\1import chainrule as torch", source,
                    flags=re.M)
    return re.sub(r"^(\s*)from torch(\.[\w.]+)? import", r"\1from chainrule\2 import", source, flags=re.M)


def _run(source: str, library: str, weights=None):
    """Execute the program (``build()``, ``data(rng)`` and ``train(model, data)`` are its
    trimmed entry points) with ``library``; returns (the weights it started from, what
    ``train`` returned, the final weights)."""
    namespace: dict = {"__name__": "program"}
    text = source if library == "torch" else _as_chainrule(source)
    # the source where inspect finds it, as for a file (TorchScript compiles from it)
    linecache.cache[f"<{library}>"] = (len(text), None, text.splitlines(True), f"<{library}>")
    exec(compile(text, f"<{library}>", "exec"), namespace)
    lib = torch if library == "torch" else cr
    if library != "torch":  # nothing of PyTorch's came in through an import left unread
        origins = {k: v.__name__ if isinstance(v, types.ModuleType) else getattr(v, "__module__", None) or ""
                   for k, v in namespace.items()}
        assert not [k for k, origin in origins.items() if origin.split(".")[0] == "torch"], origins
    lib.manual_seed(0)
    model = namespace["build"]()
    assert isinstance(model, lib.nn.Module)  # the program did run on the library it was given
    if weights is not None:
        model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    start = {k: np.array(v.detach().numpy()) for k, v in model.state_dict().items()}
    result = namespace["train"](model, namespace["data"](np.random.default_rng(0)))
    end = {k: np.array(v.detach().numpy()) for k, v in model.state_dict().items()}
    return start, result, end


def _values(result):
    if isinstance(result, dict):
        return [v for k in sorted(result) for v in _values(result[k])]
    if isinstance(result, list | tuple):
        return [v for r in result for v in _values(r)]
    if hasattr(result, "detach"):
        return [np.asarray(result.detach().numpy())]
    return [np.asarray(result)]


PROGRAMS: dict[str, str] = {}


# pytorch/examples mnist/main.py: the Net, train() and test() loops, Adadelta with StepLR
PROGRAMS["mnist"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR

torch.set_default_dtype(torch.float64)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.0)
        self.dropout2 = nn.Dropout(0.0)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def build():
    return Net()


def data(rng):
    images = torch.tensor(rng.normal(size=(8, 1, 28, 28)))
    labels = torch.tensor(rng.integers(0, 10, size=8))
    dataset = torch.utils.data.TensorDataset(images, labels)
    return torch.utils.data.DataLoader(dataset, batch_size=4)


def train(model, loader):
    device = torch.device("cpu")
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    losses = []
    for epoch in range(1, 3):
        model.train()
        for batch_idx, (data, target) in enumerate(loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            'Train Epoch: {} [{}/{} ({:.0f}%)]\\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(loader.dataset), 100. * batch_idx / len(loader), loss.item())
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in loader:
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction='sum').item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(loader.dataset)
        losses += [test_loss, correct]
        scheduler.step()
    return losses
'''

# pytorch/examples word_language_model: model.py's RNNModel and main.py's train loop
# (repackage_hidden, clip_grad_norm_, the hand-written SGD step), evaluate()
_WORD_LM = '''
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class RNNModel(nn.Module):
    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super(RNNModel, self).__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ['LSTM', 'GRU']:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            try:
                nonlinearity = {'RNN_TANH': 'tanh', 'RNN_RELU': 'relu'}[rnn_type]
            except KeyError as e:
                raise ValueError("An invalid option for `--model` was supplied") from e
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError('When using the tied flag, nhid must be equal to emsize')
            self.decoder.weight = self.encoder.weight
        self.init_weights()
        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == 'LSTM':
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        else:
            return weight.new_zeros(self.nlayers, bsz, self.nhid)


NTOKENS, BPTT, BATCH = 13, 5, 4


def build():
    return RNNModel(RNN_TYPE, NTOKENS, 8, 8, 2, 0.0, TIED)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    data = data.view(bsz, -1).t().contiguous()
    return data


def data(rng):
    return batchify(torch.tensor(rng.integers(0, NTOKENS, size=90)), BATCH)


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    else:
        return tuple(repackage_hidden(v) for v in h)


def get_batch(source, i):
    seq_len = min(BPTT, len(source) - 1 - i)
    data = source[i:i+seq_len]
    target = source[i+1:i+1+seq_len].view(-1)
    return data, target


def train(model, train_data):
    criterion = nn.NLLLoss()
    lr, losses = 5.0, []
    model.train()
    hidden = model.init_hidden(BATCH)
    for batch, i in enumerate(range(0, train_data.size(0) - 1, BPTT)):
        data, targets = get_batch(train_data, i)
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        losses.append(loss.item())
    model.eval()
    total_loss = 0.
    hidden = model.init_hidden(BATCH)
    with torch.no_grad():
        for i in range(0, train_data.size(0) - 1, BPTT):
            data, targets = get_batch(train_data, i)
            output, hidden = model(data, hidden)
            hidden = repackage_hidden(hidden)
            total_loss += len(data) * criterion(output, targets).item()
    losses.append(total_loss / (len(train_data) - 1))
    losses.append(math.exp(losses[-1]))
    return losses
'''
for _kind, _tied in (("LSTM", False), ("GRU", False), ("RNN_TANH", False), ("RNN_RELU", False), ("LSTM", True)):
    PROGRAMS[f"word_language_model_{_kind}{'_tied' if _tied else ''}"] = (
        f"RNN_TYPE, TIED = {_kind!r}, {_tied}\n" + _WORD_LM)

# pytorch/examples word_language_model/model.py's TransformerModel (a subclass of
# nn.Transformer that uses only its encoder) with the same training loop
PROGRAMS["word_language_model_transformer"] = '''
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super(PositionalEncoding, self).__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer('pe', pe)

    def forward(self, x):
        x = x + self.pe[:x.size(0), :]
        return self.dropout(x)


class TransformerModel(nn.Transformer):
    def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
        super(TransformerModel, self).__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                                               num_encoder_layers=nlayers, dropout=dropout)
        self.model_type = 'Transformer'
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)
        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)
        self.init_weights()

    def _generate_square_subsequent_mask(self, sz):
        mask = (torch.triu(torch.ones(sz, sz)) == 1).transpose(0, 1)
        mask = mask.float().masked_fill(mask == 0, float('-inf')).masked_fill(mask == 1, float(0.0))
        return mask

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, src, has_mask=True):
        if has_mask:
            device = src.device
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                mask = self._generate_square_subsequent_mask(len(src)).to(device)
                self.src_mask = mask
        else:
            self.src_mask = None
        src = self.input_emb(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.encoder(src, mask=self.src_mask)
        output = self.decoder(output)
        return F.log_softmax(output, dim=-1)


NTOKENS, BPTT, BATCH = 11, 6, 3


def build():
    return TransformerModel(NTOKENS, 8, 2, 16, 2, 0.0)


def data(rng):
    return torch.tensor(rng.integers(0, NTOKENS, size=(19, BATCH)))


def train(model, train_data):
    criterion = nn.NLLLoss()
    losses = []
    model.train()
    for i in range(0, train_data.size(0) - 1, BPTT):
        seq_len = min(BPTT, len(train_data) - 1 - i)
        data, targets = train_data[i:i+seq_len], train_data[i+1:i+1+seq_len].reshape(-1)
        model.zero_grad()
        output = model(data)
        output = output.view(-1, NTOKENS)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-5.0)
        losses.append(loss.item())
    return losses
'''

# pytorch/examples time_sequence_prediction/train.py: two LSTMCells in float64, LBFGS
PROGRAMS["time_sequence_prediction"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


class Sequence(nn.Module):
    def __init__(self):
        super(Sequence, self).__init__()
        self.lstm1 = nn.LSTMCell(1, 51)
        self.lstm2 = nn.LSTMCell(51, 51)
        self.linear = nn.Linear(51, 1)
        self.dummy_param = nn.Parameter(torch.empty(0))

    def forward(self, input, future = 0):
        outputs = []
        device = self.dummy_param.device
        h_t = torch.zeros(input.size(0), 51, dtype=torch.double).to(device)
        c_t = torch.zeros(input.size(0), 51, dtype=torch.double).to(device)
        h_t2 = torch.zeros(input.size(0), 51, dtype=torch.double).to(device)
        c_t2 = torch.zeros(input.size(0), 51, dtype=torch.double).to(device)

        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


def build():
    return Sequence().to(torch.device("cpu")).double()


def data(rng):
    # generate_sine_wave.py's data, shorter
    T, L, N = 20, 30, 6
    x = np.empty((N, L), 'int64')
    x[:] = np.array(range(L)) + rng.integers(-4 * T, 4 * T, N).reshape(N, 1)
    return torch.from_numpy(np.sin(x / 1.0 / T).astype('float64'))


def train(seq, data):
    input = data[3:, :-1]
    target = data[3:, 1:]
    test_input = data[:3, :-1]
    test_target = data[:3, 1:]
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    losses = []
    for i in range(2):
        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            losses.append(loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
        with torch.no_grad():
            future = 7
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            losses.append(loss.item())
            y = pred.cpu().detach().numpy()
    return losses, y
'''

# pytorch/examples regression/main.py: a polynomial fit by a Linear layer, hand-written SGD
PROGRAMS["regression"] = '''
from itertools import count

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
POLY_DEGREE = 4


def make_features(x):
    """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE+1)], 1)


def poly_desc(W, b):
    """Creates a string description of a polynomial."""
    result = 'y = '
    for i, w in enumerate(W):
        result += '{:+.2f} x^{} '.format(w, i + 1)
    result += '{:+.2f}'.format(b[0])
    return result


def build():
    return torch.nn.Linear(POLY_DEGREE, 1)


def data(rng):
    W_target = torch.tensor(rng.normal(size=(POLY_DEGREE, 1))) * 5
    b_target = torch.tensor(rng.normal(size=1)) * 5
    return W_target, b_target, [torch.tensor(rng.normal(size=32) * 0.5) for _ in range(30)]


def train(fc, data):
    W_target, b_target, randoms = data

    def f(x):
        return x.mm(W_target) + b_target.item()

    losses = []
    for batch_idx in count(1):
        batch_x = make_features(randoms[batch_idx - 1])
        batch_y = f(batch_x)
        fc.zero_grad()
        output = F.smooth_l1_loss(fc(batch_x), batch_y)
        loss = output.item()
        output.backward()
        with torch.no_grad():
            for param in fc.parameters():
                param.add_(-0.1 * param.grad)
        losses.append(loss)
        if loss < 1e-3 or batch_idx == len(randoms):
            break
    return losses, poly_desc(fc.weight.view(-1), fc.bias) == poly_desc(fc.weight.view(-1).tolist(),
                                                                        fc.bias.tolist())
'''


# pytorch/examples dcgan/main.py (its current form): the generator and discriminator,
# weights_init by class name, BCELoss, Adam with betas, the two-step update; small images,
# and the noise drawn once here (each library's randn draws its own numbers)
PROGRAMS["dcgan"] = '''
import torch
import torch.nn as nn
import torch.optim as optim
import torch.utils.data

torch.set_default_dtype(torch.float64)
nz, ngf, ndf, nc = 4, 3, 3, 3


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, ngpu):
        super(Generator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False),
            nn.Tanh()
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, ngpu):
        super(Discriminator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


class Both(nn.Module):
    def __init__(self):
        super(Both, self).__init__()
        self.netG = Generator(0)
        self.netG.apply(weights_init)
        self.netD = Discriminator(0)
        self.netD.apply(weights_init)


def build():
    return Both()


def data(rng):
    images = torch.tensor(rng.uniform(-1, 1, size=(8, nc, 16, 16)))
    noises = [torch.tensor(rng.normal(size=(4, nz, 1, 1))) for _ in range(4)]
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images), batch_size=4), noises


def train(both, data):
    dataloader, noises = data
    netG, netD = both.netG, both.netD
    device = torch.device("cpu")
    criterion = nn.BCELoss()
    real_label, fake_label = 1, 0
    optimizerD = optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
    results = []
    for epoch in range(2):
        for i, data in enumerate(dataloader, 0):
            netD.zero_grad()
            real_cpu = data[0].to(device)
            batch_size = real_cpu.size(0)
            label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=device)
            output = netD(real_cpu)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()
            noise = noises[2 * epoch + i]
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            optimizerD.step()
            netG.zero_grad()
            label.fill_(real_label)
            output = netD(fake)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            optimizerG.step()
            results += [errD.item(), errG.item(), D_x, D_G_z1, D_G_z2]
    return results
'''

# pytorch/examples vae/main.py: the VAE, its continuous-Bernoulli loss, Adam; the
# reparameterisation's normal draws given (each library draws its own)
PROGRAMS["vae"] = '''
import torch
import torch.utils.data
from torch import nn, optim
from torch.nn import functional as F

torch.set_default_dtype(torch.float64)
EPS = []


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(784, 40)
        self.fc21 = nn.Linear(40, 20)
        self.fc22 = nn.Linear(40, 20)
        self.fc3 = nn.Linear(20, 40)
        self.fc4 = nn.Linear(40, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5*logvar)
        eps = EPS.pop(0) if EPS else torch.randn_like(std)
        return mu + eps*std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.clamp(torch.sigmoid(self.fc4(h3)), min=1e-4, max=1.0 - 1e-4)

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def atanh(x):
    return 0.5 * (torch.log(1.0 + x) - torch.log(1.0 - x))


def cont_bern_log_norm(lam, l_lim=0.49, u_lim=0.51):
    cut_lam = torch.where(torch.max(torch.le(lam, l_lim), torch.gt(lam, u_lim)), lam, l_lim * torch.ones_like(lam))
    log_norm = torch.log(torch.abs(2.0 * atanh(1 - 2.0 * cut_lam))) - torch.log(torch.abs(1 - 2.0 * cut_lam))
    taylor = torch.log(torch.tensor(2.0)) + 4.0 / 3.0 * torch.pow(lam - 0.5, 2) + 104.0 / 45.0 * torch.pow(lam - 0.5, 4)
    return torch.where(torch.max(torch.le(lam, l_lim), torch.gt(lam, u_lim)), log_norm, taylor)


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')
    NLNC = -torch.sum(cont_bern_log_norm(recon_x))
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + NLNC + KLD


def build():
    return VAE()


def data(rng):
    images = torch.tensor(rng.uniform(0, 1, size=(12, 1, 28, 28)))
    EPS.extend(torch.tensor(rng.normal(size=(4, 20))) for _ in range(6))
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, torch.zeros(12)), batch_size=4)


def train(model, train_loader):
    device = torch.device("cpu")
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    train_loss, losses = 0, []
    for batch_idx, (data, _) in enumerate(train_loader):
        data = data.to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
        losses.append(loss.item() / len(data))
    losses.append(train_loss / len(train_loader.dataset))
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for i, (data, _) in enumerate(train_loader):
            recon_batch, mu, logvar = model(data)
            test_loss += loss_function(recon_batch, data, mu, logvar).item()
            if i == 0:
                n = min(data.size(0), 8)
                comparison = torch.cat([data[:n], recon_batch.view(4, 1, 28, 28)[:n]])
    losses.append(test_loss / len(train_loader.dataset))
    return losses, comparison
'''

# pytorch/examples reinforcement_learning/actor_critic.py: the Policy, select_action with
# Categorical, finish_episode; a scripted environment, and the sampled actions given
# (each library draws its own)
PROGRAMS["actor_critic"] = '''
import numpy as np
from collections import namedtuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

torch.set_default_dtype(torch.float64)
SavedAction = namedtuple('SavedAction', ['log_prob', 'value'])
GAMMA = 0.99
ACTIONS = []


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(4, 128)
        self.action_head = nn.Linear(128, 2)
        self.value_head = nn.Linear(128, 1)
        self.saved_actions = []
        self.rewards = []

    def forward(self, x):
        x = F.relu(self.affine1(x))
        action_prob = F.softmax(self.action_head(x), dim=-1)
        state_values = self.value_head(x)
        return action_prob, state_values


def build():
    return Policy()


def data(rng):
    ACTIONS.extend(torch.tensor(a) for a in rng.integers(0, 2, size=30))
    return rng.normal(size=(30, 4)), rng.uniform(0, 1, size=30)


def train(model, data):
    states, rewards = data
    optimizer = optim.Adam(model.parameters(), lr=3e-2)
    eps = np.finfo(np.float32).eps.item()

    def select_action(state):
        state = torch.from_numpy(state).double()
        probs, state_value = model(state)
        m = Categorical(probs)
        action = ACTIONS.pop(0)
        model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
        return action.item()

    def finish_episode():
        R = 0
        saved_actions = model.saved_actions
        policy_losses = []
        value_losses = []
        returns = []
        for r in model.rewards[::-1]:
            R = r + GAMMA * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for (log_prob, value), R in zip(saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage)
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
        optimizer.zero_grad()
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
        loss.backward()
        optimizer.step()
        del model.rewards[:]
        del model.saved_actions[:]
        return loss.item()

    losses = []
    for episode in range(3):
        for t in range(10):
            state = states[10 * episode + t]
            action = select_action(state)
            model.rewards.append(float(rewards[10 * episode + t]) + action)
        losses.append(finish_episode())
    return losses
'''


# an acoustic model as older PyTorch code writes it: a weight-normed convolution (the hook
# form), a spectrally normalised projection (the parametrization), CTC, and a loss given the
# deprecated size_average=False
PROGRAMS["ctc_acoustic_model"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import weight_norm
from torch.nn.utils.parametrizations import spectral_norm

torch.set_default_dtype(torch.float64)


class Model(nn.Module):
    def __init__(self):
        super(Model, self).__init__()
        self.conv = weight_norm(nn.Conv1d(4, 8, 3, padding=1))
        self.proj = spectral_norm(nn.Linear(8, 6))
        self.ctc = nn.CTCLoss(blank=0, zero_infinity=True)
        self.aux = nn.MSELoss(size_average=False)

    def forward(self, x):
        h = torch.tanh(self.conv(x))
        return F.log_softmax(self.proj(h.transpose(1, 2)), dim=2)


def build():
    return Model()


def data(rng):
    xs = [torch.tensor(rng.normal(size=(3, 4, 12))) for _ in range(4)]
    return xs, torch.tensor(rng.integers(1, 6, size=(3, 4))), torch.tensor([12, 10, 9]), torch.tensor([4, 3, 2])


def train(model, data):
    xs, y, input_lengths, target_lengths = data
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for x in xs:
        opt.zero_grad()
        lp = model(x)
        loss = model.ctc(lp.transpose(0, 1), y, input_lengths, target_lengths) \\
            + 0.01 * model.aux(lp.exp().sum(2), torch.ones(3, 12))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses, model(xs[0])
'''


# Model code written with TorchScript in mind: a @torch.jit.script activation (as older
# transformer code fuses its GELU), timm's `Final` class annotations, an exported method,
# and the model traced and frozen for inference
PROGRAMS["torchscript_decorated"] = '''
import math

import torch
import torch.nn as nn
from torch.jit import Final

torch.set_default_dtype(torch.float64)


@torch.jit.script
def bias_gelu(bias, y):
    x = bias + y
    return x * 0.5 * (1.0 + torch.tanh(0.79788456 * x * (1 + 0.044715 * x * x)))


@torch.jit.script
def scaled(x: torch.Tensor, scale: float = 2.0) -> torch.Tensor:
    return x * scale


class Attention(nn.Module):
    fused_attn: Final[bool]

    def __init__(self, dim, num_heads=2):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.fused_attn = False
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim, bias=False)
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, N, C)
        return scaled(bias_gelu(self.bias, self.proj(x)), 0.5)

    @torch.jit.export
    def flops(self, n: int) -> int:
        return 2 * n * self.qkv.in_features * self.qkv.out_features


def build():
    return Attention(8)


def data(rng):
    return [torch.tensor(rng.normal(size=(2, 5, 8))) for _ in range(4)]


def train(model, batches):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for x in batches[:3]:
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    traced = torch.jit.trace(model, (batches[3],))
    frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model)))
    with torch.no_grad():
        return losses, traced(batches[3]), frozen(batches[0]), model.flops(5)
'''


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_gives_pytorchs_values(name):
    source = PROGRAMS[name]
    start, theirs, their_end = _run(source, "torch")
    _, ours, our_end = _run(source, "chainrule", weights=start)
    a, b = _values(ours), _values(theirs)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-10)
    assert list(our_end) == list(their_end)
    for k in their_end:
        np.testing.assert_allclose(our_end[k], their_end[k], rtol=1e-9, atol=1e-10, err_msg=k)
