"""Speech, audio and time-series programs written for PyTorch, trimmed (tiny sizes, a few
steps): torchaudio's front ends in plain torch (``torch.stft`` and ``torch.istft``, a mel
filterbank, log-mel, MFCC by a DCT matrix, SpecAugment masks), a mask-based enhancer, WaveNet,
locuslab's TCN with weight norm, the wav2vec 2.0 feature encoder with a CTC head, a Conformer
layer after torchaudio's, bidirectional GRU/LSTM over packed sequences with CTC and greedy
decoding, and forecasters (N-BEATS, an LSTM seq2seq with teacher forcing, DLinear with
RevIN). Each runs with PyTorch and with ``import torch`` read as ``import chainrule as
torch``, from PyTorch's initial weights, PyTorch's random draws replayed; losses, outputs and
final weights must agree in float64 (see ``test_torch_programs``)."""

import pytest

from test_torch_programs_generative import _compare_with_pytorch

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROGRAMS: dict[str, str] = {}

# torchaudio.functional in plain torch: spectrogram (torch.stft, centred, reflect-padded,
# Hann window shorter than n_fft), melscale_fbanks, amplitude_to_DB, create_dct (MFCC),
# mask_along_axis_iid (SpecAugment); a small classifier on the MFCCs behind a learnt
# pre-emphasis filter, trained through the STFT; torch.istft's round trip
FRONTEND = '''
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def spectrogram(waveform, pad, window, n_fft, hop_length, win_length, power, normalized, center=True,
                pad_mode="reflect", onesided=True):
    if pad > 0:
        waveform = torch.nn.functional.pad(waveform, (pad, pad), "constant")
    shape = waveform.size()
    waveform = waveform.reshape(-1, shape[-1])
    spec_f = torch.stft(input=waveform, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                        center=center, pad_mode=pad_mode, normalized=False, onesided=onesided, return_complex=True)
    spec_f = spec_f.reshape(shape[:-1] + spec_f.shape[-2:])
    if normalized:
        spec_f /= window.pow(2.0).sum().sqrt()
    if power is not None:
        if power == 1.0:
            return spec_f.abs()
        return spec_f.abs().pow(power)
    return spec_f


def _hz_to_mel(freq):
    return 2595.0 * math.log10(1.0 + (freq / 700.0))


def _mel_to_hz(mels):
    return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)


def melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm=None):
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_pts = torch.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2)
    f_pts = _mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    zero = torch.zeros(1)
    down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up_slopes = slopes[:, 2:] / f_diff[1:]
    fb = torch.max(zero, torch.min(down_slopes, up_slopes))
    if norm is not None and norm == "slaney":
        enorm = 2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels])
        fb *= enorm.unsqueeze(0)
    return fb


def create_dct(n_mfcc, n_mels, norm):
    n = torch.arange(float(n_mels))
    k = torch.arange(float(n_mfcc)).unsqueeze(1)
    dct = torch.cos(math.pi / float(n_mels) * (n + 0.5) * k)
    if norm is None:
        dct *= 2.0
    else:
        dct[0] *= 1.0 / math.sqrt(2.0)
        dct *= math.sqrt(2.0 / float(n_mels))
    return dct.t()


def amplitude_to_DB(x, multiplier, amin, db_multiplier, top_db=None):
    x_db = multiplier * torch.log10(torch.clamp(x, min=amin))
    x_db -= multiplier * db_multiplier
    if top_db is not None:
        shape = x_db.size()
        packed_channels = shape[-3] if x_db.dim() > 2 else 1
        x_db = x_db.reshape(-1, packed_channels, shape[-2], shape[-1])
        x_db = torch.max(x_db, (x_db.amax(dim=(-3, -2, -1)) - top_db).view(-1, 1, 1, 1))
        x_db = x_db.reshape(shape)
    return x_db


def mask_along_axis_iid(specgrams, mask_param, mask_value, axis):
    value = torch.rand(specgrams.shape[:2], device=specgrams.device, dtype=specgrams.dtype) * mask_param
    min_value = torch.rand(specgrams.shape[:2], device=specgrams.device, dtype=specgrams.dtype) * (
        specgrams.size(axis) - value)
    mask_start = min_value.long()[..., None, None]
    mask_end = (min_value.long() + value.long())[..., None, None]
    mask = torch.arange(0, specgrams.size(axis), device=specgrams.device, dtype=specgrams.dtype)
    specgrams = specgrams.transpose(axis, -1)
    specgrams = specgrams.masked_fill((mask >= mask_start) & (mask < mask_end), mask_value)
    return specgrams.transpose(axis, -1)


class MFCCNet(nn.Module):
    def __init__(self, n_fft=32, hop=8, n_mels=8, n_mfcc=6, classes=3, sample_rate=800):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.emphasis = nn.Conv1d(1, 1, 2, bias=False)
        self.register_buffer("window", torch.hann_window(24))
        self.register_buffer("fb", melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, n_mels, sample_rate,
                                                   norm="slaney"))
        self.register_buffer("dct", create_dct(n_mfcc, n_mels, "ortho"))
        self.head = nn.Linear(n_mfcc, classes)

    def features(self, wave, augment=False):
        x = self.emphasis(F.pad(wave.unsqueeze(1), (1, 0))).squeeze(1)
        spec = spectrogram(x, 0, self.window, self.n_fft, self.hop, 24, 2.0, False)
        mel = torch.matmul(spec.transpose(-1, -2), self.fb).transpose(-1, -2)
        log_mel = mel.clamp(min=1e-10).log10()
        if augment:
            log_mel = mask_along_axis_iid(log_mel.unsqueeze(1), 3, 0.0, 2).squeeze(1)
            log_mel = mask_along_axis_iid(log_mel.unsqueeze(1), 2, 0.0, 3).squeeze(1)
        return torch.matmul(log_mel.transpose(-1, -2), self.dct).transpose(-1, -2), log_mel

    def forward(self, wave, augment=False):
        mfcc, _ = self.features(wave, augment)
        return self.head(mfcc.mean(-1))


def build():
    return MFCCNet()


def data(rng):
    t = torch.arange(96) / 800.0
    f = torch.tensor(rng.uniform(50, 350, size=(3, 4, 1)))
    waves = torch.sin(2 * math.pi * f * t) + 0.1 * torch.tensor(rng.normal(size=(3, 4, 96)))
    return waves, torch.tensor(rng.integers(0, 3, size=(3, 4)))


def train(model, data):
    waves, labels = data
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for wave, label in zip(waves, labels):
        loss = F.cross_entropy(model(wave, augment=True), label)
        opt.zero_grad()
        loss.backward()
        out.append([loss.item(), model.emphasis.weight.grad.clone()])
        opt.step()
    window = torch.hann_window(32, periodic=True)
    spec = torch.stft(waves[0], 32, hop_length=8, window=window, return_complex=True)
    back = torch.istft(spec, 32, hop_length=8, window=window, length=96)
    plain = torch.stft(waves[1, 0], 16, hop_length=4, window=torch.hamming_window(16), center=False,
                       return_complex=True)
    mfcc, log_mel = model.features(waves[2])
    phase = torch.view_as_real(torch.polar(spec.abs(), spec.angle()))
    return out, spec.abs(), phase, back, (back - waves[0]).abs().max(), plain.real, plain.imag, mfcc, log_mel
'''
PROGRAMS["frontend"] = FRONTEND

# a mask-based speech enhancer: a GRU over the magnitude predicts a sigmoid mask, the masked
# complex spectrum goes back by torch.istft, trained on the waveform's MSE and an SI-SNR term
PROGRAMS["enhancer"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class MaskNet(nn.Module):
    def __init__(self, n_fft=16, hop=4, hidden=8):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft))
        self.rnn = nn.GRU(n_fft // 2 + 1, hidden, batch_first=True)
        self.mask = nn.Linear(hidden, n_fft // 2 + 1)

    def forward(self, noisy):
        spec = torch.stft(noisy, self.n_fft, self.hop, window=self.window, return_complex=True)
        mag = spec.abs()
        h, _ = self.rnn(torch.log1p(mag).transpose(1, 2))
        mask = torch.sigmoid(self.mask(h)).transpose(1, 2)
        return torch.istft(spec * mask, self.n_fft, self.hop, window=self.window, length=noisy.shape[-1])


def si_snr(est, ref, eps=1e-8):
    est = est - est.mean(-1, keepdim=True)
    ref = ref - ref.mean(-1, keepdim=True)
    proj = (est * ref).sum(-1, keepdim=True) * ref / (ref.pow(2).sum(-1, keepdim=True) + eps)
    noise = est - proj
    return 10 * torch.log10(proj.pow(2).sum(-1) / (noise.pow(2).sum(-1) + eps) + eps)


def build():
    return MaskNet()


def data(rng):
    clean = torch.tensor(rng.normal(size=(3, 2, 40))).cumsum(-1) * 0.1
    return clean, clean + 0.3 * torch.tensor(rng.normal(size=(3, 2, 40)))


def train(model, data):
    clean, noisy = data
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for c, n in zip(clean, noisy):
        est = model(n)
        loss = F.mse_loss(est, c) - 0.01 * si_snr(est, c).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    return out, model(noisy[0]).detach()
'''

# WaveNet: mu-law classes, one-hot input, dilated causal Conv1d (left padding by F.pad),
# gated tanh * sigmoid units with residual and skip 1x1 convolutions, greedy generation
PROGRAMS["wavenet"] = '''
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def mu_law_encoding(x, quantization_channels):
    mu = quantization_channels - 1.0
    x_mu = torch.sign(x) * torch.log1p(mu * torch.abs(x)) / math.log1p(mu)
    return ((x_mu + 1) / 2 * mu + 0.5).to(torch.int64)


class CausalConv1d(nn.Module):
    def __init__(self, cin, cout, kernel_size, dilation=1):
        super().__init__()
        self.pad = (kernel_size - 1) * dilation
        self.conv = nn.Conv1d(cin, cout, kernel_size, dilation=dilation)

    def forward(self, x):
        return self.conv(F.pad(x, (self.pad, 0)))


class ResidualBlock(nn.Module):
    def __init__(self, res, skip, dilation):
        super().__init__()
        self.dilated = CausalConv1d(res, 2 * res, 2, dilation)
        self.res = nn.Conv1d(res, res, 1)
        self.skip = nn.Conv1d(res, skip, 1)

    def forward(self, x):
        a, b = self.dilated(x).chunk(2, dim=1)
        z = torch.tanh(a) * torch.sigmoid(b)
        return (x + self.res(z)) * math.sqrt(0.5), self.skip(z)


class WaveNet(nn.Module):
    def __init__(self, classes=16, res=6, skip=8, layers=4):
        super().__init__()
        self.classes = classes
        self.causal = CausalConv1d(classes, res, 2)
        self.blocks = nn.ModuleList([ResidualBlock(res, skip, 2 ** i) for i in range(layers)])
        self.out = nn.Sequential(nn.ReLU(), nn.Conv1d(skip, skip, 1), nn.ReLU(), nn.Conv1d(skip, classes, 1))

    def forward(self, x):
        h = self.causal(F.one_hot(x, self.classes).to(torch.get_default_dtype()).transpose(1, 2))
        skips = 0
        for block in self.blocks:
            h, s = block(h)
            skips = skips + s
        return self.out(skips)

    @torch.no_grad()
    def generate(self, prime, steps):
        x = prime
        for _ in range(steps):
            nxt = self(x)[:, :, -1].argmax(dim=1, keepdim=True)
            x = torch.cat([x, nxt], dim=1)
        return x


def build():
    return WaveNet()


def data(rng):
    t = torch.linspace(0, 1, 33)
    return torch.sin(2 * torch.pi * torch.tensor(rng.uniform(1, 4, size=(3, 2, 1))) * t) * 0.9


def train(model, waves):
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    out = []
    for wave in waves:
        q = mu_law_encoding(wave, 16)
        logits = model(q[:, :-1])
        loss = F.cross_entropy(logits, q[:, 1:])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        out.append(loss.item())
    return out, model.generate(mu_law_encoding(waves[0], 16)[:, :8], 4)
'''

# locuslab/TCN: TemporalBlock with weight-normed dilated convolutions (the old
# torch.nn.utils.weight_norm hook and the parametrization), Chomp1d, a 1x1 downsample
PROGRAMS["tcn"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import weight_norm

torch.set_default_dtype(torch.float64)


class Chomp1d(nn.Module):
    def __init__(self, chomp_size):
        super(Chomp1d, self).__init__()
        self.chomp_size = chomp_size

    def forward(self, x):
        return x[:, :, :-self.chomp_size].contiguous()


class TemporalBlock(nn.Module):
    def __init__(self, n_inputs, n_outputs, kernel_size, stride, dilation, padding, dropout=0.0):
        super(TemporalBlock, self).__init__()
        self.conv1 = weight_norm(nn.Conv1d(n_inputs, n_outputs, kernel_size, stride=stride, padding=padding,
                                           dilation=dilation))
        self.chomp1 = Chomp1d(padding)
        self.relu1 = nn.ReLU()
        self.dropout1 = nn.Dropout(dropout)
        self.conv2 = nn.utils.parametrizations.weight_norm(
            nn.Conv1d(n_outputs, n_outputs, kernel_size, stride=stride, padding=padding, dilation=dilation))
        self.chomp2 = Chomp1d(padding)
        self.relu2 = nn.ReLU()
        self.dropout2 = nn.Dropout(dropout)
        self.net = nn.Sequential(self.conv1, self.chomp1, self.relu1, self.dropout1,
                                 self.conv2, self.chomp2, self.relu2, self.dropout2)
        self.downsample = nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs else None
        self.relu = nn.ReLU()
        self.init_weights()

    def init_weights(self):
        self.conv1.weight.data.normal_(0, 0.01)
        self.conv2.weight.data.normal_(0, 0.01)
        if self.downsample is not None:
            self.downsample.weight.data.normal_(0, 0.01)

    def forward(self, x):
        out = self.net(x)
        res = x if self.downsample is None else self.downsample(x)
        return self.relu(out + res)


class TemporalConvNet(nn.Module):
    def __init__(self, num_inputs, num_channels, kernel_size=2, dropout=0.0):
        super(TemporalConvNet, self).__init__()
        layers = []
        for i in range(len(num_channels)):
            dilation_size = 2 ** i
            in_channels = num_inputs if i == 0 else num_channels[i - 1]
            layers += [TemporalBlock(in_channels, num_channels[i], kernel_size, stride=1, dilation=dilation_size,
                                     padding=(kernel_size - 1) * dilation_size, dropout=dropout)]
        self.network = nn.Sequential(*layers)

    def forward(self, x):
        return self.network(x)


class TCN(nn.Module):
    def __init__(self, input_size, output_size, num_channels, kernel_size, dropout):
        super(TCN, self).__init__()
        self.tcn = TemporalConvNet(input_size, num_channels, kernel_size=kernel_size, dropout=dropout)
        self.linear = nn.Linear(num_channels[-1], output_size)
        self.init_weights()

    def init_weights(self):
        self.linear.weight.data.normal_(0, 0.01)

    def forward(self, x):
        y1 = self.tcn(x)
        return self.linear(y1[:, :, -1])


def build():
    return TCN(2, 1, [5, 5, 4], kernel_size=3, dropout=0.0)


def data(rng):
    # the adding problem
    x = torch.tensor(rng.uniform(size=(3, 4, 2, 20)))
    x[:, :, 1] = 0.0
    for b in range(3):
        for i in range(4):
            a, c = rng.choice(20, size=2, replace=False)
            x[b, i, 1, a] = 1.0
            x[b, i, 1, c] = 1.0
    return x, torch.sum(x[:, :, 0] * x[:, :, 1], dim=-1, keepdim=True)


def train(model, data):
    x, y = data
    opt = torch.optim.Adam(model.parameters(), lr=4e-3)
    out = []
    for xb, yb in zip(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.2)
        opt.step()
        out.append([loss.item(), model.tcn.network[0].conv1.weight_g.grad.clone()])
    return out, model.tcn.network[1].conv2.weight.detach()
'''

# wav2vec 2.0's feature encoder (HF transformers: a Conv1d stack, GroupNorm(num_groups=C) on
# the first layer, LayerNorm over the transposed features on the others, GELU), the feature
# projection, a CTC head with -100-padded labels flattened by masked_select, greedy decoding
PROGRAMS["wav2vec2"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class GroupNormConvLayer(nn.Module):
    def __init__(self, cin, cout, k, s):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel_size=k, stride=s, bias=False)
        self.activation = nn.GELU()
        self.layer_norm = nn.GroupNorm(num_groups=cout, num_channels=cout, affine=True)

    def forward(self, hidden_states):
        return self.activation(self.layer_norm(self.conv(hidden_states)))


class LayerNormConvLayer(nn.Module):
    def __init__(self, cin, cout, k, s):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel_size=k, stride=s, bias=True)
        self.layer_norm = nn.LayerNorm(cout, elementwise_affine=True)
        self.activation = nn.GELU()

    def forward(self, hidden_states):
        hidden_states = self.conv(hidden_states)
        hidden_states = hidden_states.transpose(-2, -1)
        hidden_states = self.layer_norm(hidden_states)
        hidden_states = hidden_states.transpose(-2, -1)
        return self.activation(hidden_states)


class Wav2Vec2ForCTC(nn.Module):
    conv_kernel, conv_stride = (5, 3, 2), (3, 2, 2)

    def __init__(self, dims=(6, 6, 8), hidden=8, vocab=5, pad_token_id=0):
        super().__init__()
        self.pad_token_id = pad_token_id
        layers = [GroupNormConvLayer(1, dims[0], self.conv_kernel[0], self.conv_stride[0])]
        layers += [LayerNormConvLayer(dims[i - 1], dims[i], self.conv_kernel[i], self.conv_stride[i])
                   for i in range(1, len(dims))]
        self.conv_layers = nn.ModuleList(layers)
        self.projection_norm = nn.LayerNorm(dims[-1], eps=1e-5)
        self.projection = nn.Linear(dims[-1], hidden)
        self.lm_head = nn.Linear(hidden, vocab)

    def _get_feat_extract_output_lengths(self, input_lengths):
        for kernel_size, stride in zip(self.conv_kernel, self.conv_stride):
            input_lengths = torch.div(input_lengths - kernel_size, stride, rounding_mode="floor") + 1
        return input_lengths

    def forward(self, input_values, attention_mask, labels=None):
        hidden_states = input_values[:, None]
        for conv_layer in self.conv_layers:
            hidden_states = conv_layer(hidden_states)
        extract_features = hidden_states.transpose(1, 2)
        logits = self.lm_head(self.projection(self.projection_norm(extract_features)))
        if labels is None:
            return logits, None
        input_lengths = self._get_feat_extract_output_lengths(attention_mask.sum(-1)).to(torch.long)
        labels_mask = labels >= 0
        target_lengths = labels_mask.sum(-1)
        flattened_targets = labels.masked_select(labels_mask)
        log_probs = nn.functional.log_softmax(logits, dim=-1, dtype=torch.float64).transpose(0, 1)
        with torch.backends.cudnn.flags(enabled=False):
            loss = nn.functional.ctc_loss(log_probs, flattened_targets, input_lengths, target_lengths,
                                          blank=self.pad_token_id, reduction="sum", zero_infinity=True)
        return logits, loss


def greedy_decode(logits, blank=0):
    out = []
    for ids in logits.argmax(dim=-1):
        ids = torch.unique_consecutive(ids)
        out.append(ids[ids != blank].tolist())
    return out


def build():
    return Wav2Vec2ForCTC()


def data(rng):
    waves = torch.tensor(rng.normal(size=(3, 2, 64)))
    attention_mask = torch.ones(3, 2, 64, dtype=torch.long)
    attention_mask[:, 1, 50:] = 0
    waves = waves * attention_mask
    labels = torch.tensor(rng.integers(1, 5, size=(3, 2, 3)))
    labels[:, 1, 2] = -100
    return waves, attention_mask, labels


def train(model, data):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    out = []
    for waves, mask, labels in zip(*data):
        logits, loss = model(waves, mask, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append([loss.item(), logits.detach()])
    return out, greedy_decode(model(data[0][0], data[1][0])[0])
'''

# a Conformer layer after torchaudio.models.conformer (feed-forward halves with SiLU, MHA
# with key_padding_mask from lengths, the convolution module: pointwise Conv1d, GLU,
# depthwise Conv1d with groups=C, BatchNorm1d, SiLU), a linear front end and a CTC loss on
# padded targets
PROGRAMS["conformer"] = '''
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class _ConvolutionModule(torch.nn.Module):
    def __init__(self, input_dim, num_channels, depthwise_kernel_size, dropout=0.0, bias=False):
        super().__init__()
        self.layer_norm = torch.nn.LayerNorm(input_dim)
        self.sequential = torch.nn.Sequential(
            torch.nn.Conv1d(input_dim, 2 * num_channels, 1, stride=1, padding=0, bias=bias),
            torch.nn.GLU(dim=1),
            torch.nn.Conv1d(num_channels, num_channels, depthwise_kernel_size, stride=1,
                            padding=(depthwise_kernel_size - 1) // 2, groups=num_channels, bias=bias),
            torch.nn.BatchNorm1d(num_channels),
            torch.nn.SiLU(),
            torch.nn.Conv1d(num_channels, input_dim, kernel_size=1, stride=1, padding=0, bias=bias),
            torch.nn.Dropout(dropout),
        )

    def forward(self, input):
        x = self.layer_norm(input)
        x = x.transpose(1, 2)
        x = self.sequential(x)
        return x.transpose(1, 2)


class _FeedForwardModule(torch.nn.Module):
    def __init__(self, input_dim, hidden_dim, dropout=0.0):
        super().__init__()
        self.sequential = torch.nn.Sequential(
            torch.nn.LayerNorm(input_dim), torch.nn.Linear(input_dim, hidden_dim, bias=True), torch.nn.SiLU(),
            torch.nn.Dropout(dropout), torch.nn.Linear(hidden_dim, input_dim, bias=True), torch.nn.Dropout(dropout))

    def forward(self, input):
        return self.sequential(input)


class ConformerLayer(torch.nn.Module):
    def __init__(self, input_dim, ffn_dim, num_attention_heads, depthwise_conv_kernel_size, dropout=0.0):
        super().__init__()
        self.ffn1 = _FeedForwardModule(input_dim, ffn_dim, dropout=dropout)
        self.self_attn_layer_norm = torch.nn.LayerNorm(input_dim)
        self.self_attn = torch.nn.MultiheadAttention(input_dim, num_attention_heads, dropout=dropout)
        self.self_attn_dropout = torch.nn.Dropout(dropout)
        self.conv_module = _ConvolutionModule(input_dim, input_dim, depthwise_conv_kernel_size, dropout=dropout)
        self.ffn2 = _FeedForwardModule(input_dim, ffn_dim, dropout=dropout)
        self.final_layer_norm = torch.nn.LayerNorm(input_dim)

    def forward(self, input, key_padding_mask):
        residual = input
        x = self.ffn1(input)
        x = x * 0.5 + residual
        residual = x
        x = self.self_attn_layer_norm(x)
        x, _ = self.self_attn(query=x, key=x, value=x, key_padding_mask=key_padding_mask, need_weights=False)
        x = self.self_attn_dropout(x)
        x = x + residual
        residual = x
        x = x.transpose(0, 1)
        x = self.conv_module(x)
        x = x.transpose(0, 1)
        x = residual + x
        residual = x
        x = self.ffn2(x)
        x = x * 0.5 + residual
        return self.final_layer_norm(x)


def _lengths_to_padding_mask(lengths):
    batch_size = lengths.shape[0]
    max_length = int(torch.max(lengths).item())
    return torch.arange(max_length, device=lengths.device, dtype=lengths.dtype).expand(
        batch_size, max_length) >= lengths.unsqueeze(1)


class Conformer(torch.nn.Module):
    def __init__(self, n_feats=5, dim=8, classes=6):
        super().__init__()
        self.input_linear = torch.nn.Linear(n_feats, dim)
        self.layers = torch.nn.ModuleList([ConformerLayer(dim, 12, 2, 3) for _ in range(2)])
        self.output = torch.nn.Linear(dim, classes)

    def forward(self, input, lengths):
        encoder_padding_mask = _lengths_to_padding_mask(lengths)
        x = self.input_linear(input).transpose(0, 1)
        for layer in self.layers:
            x = layer(x, encoder_padding_mask)
        return self.output(x.transpose(0, 1)), lengths


def build():
    return Conformer()


def data(rng):
    return (torch.tensor(rng.normal(size=(3, 3, 7, 5))), torch.tensor([7, 5, 4]),
            torch.tensor(rng.integers(1, 6, size=(3, 3, 3))), torch.tensor([3, 2, 3]))


def train(model, data):
    feats, lengths, targets, target_lengths = data
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for x, y in zip(feats, targets):
        logits, out_lengths = model(x, lengths)
        log_probs = logits.log_softmax(-1).transpose(0, 1)
        loss = F.ctc_loss(log_probs, y, out_lengths, target_lengths, reduction="mean", zero_infinity=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits, _ = model(feats[0], lengths)
    return out, logits
'''

# DeepSpeech-style recurrent acoustic model: a bidirectional GRU over a batch-first packed
# sequence (enforce_sorted=False), a bidirectional LSTM over the time-major repacked one,
# CTC with zero_infinity (one utterance too short for its target), greedy decoding
PROGRAMS["birnn"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.set_default_dtype(torch.float64)


class BiRNN(nn.Module):
    def __init__(self, n_feats=4, hidden=5, classes=5):
        super().__init__()
        self.gru = nn.GRU(n_feats, hidden, num_layers=1, batch_first=True, bidirectional=True)
        self.lstm = nn.LSTM(2 * hidden, hidden, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, x, lengths):
        total = x.size(1)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h = self.gru(packed)
        out, out_lengths = pad_packed_sequence(out, batch_first=True)
        packed = pack_padded_sequence(out.transpose(0, 1), out_lengths, enforce_sorted=False)
        out, (h, c) = self.lstm(packed)
        out, _ = pad_packed_sequence(out, total_length=total)
        return self.fc(out), h


def greedy(log_probs, lengths, blank=0):
    best = log_probs.argmax(-1).t()
    hyps = []
    for ids, n in zip(best, lengths):
        ids = torch.unique_consecutive(ids[:n])
        hyps.append([i for i in ids.tolist() if i != blank])
    return hyps


def build():
    return BiRNN()


def data(rng):
    x = torch.tensor(rng.normal(size=(3, 4, 6, 4)))
    lengths = torch.tensor([4, 6, 2, 5])
    targets = torch.tensor(rng.integers(1, 5, size=(3, 4, 3)))
    return x, lengths, targets, torch.tensor([2, 3, 3, 1])


def train(model, data):
    x, lengths, targets, target_lengths = data
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    out = []
    for xb, yb in zip(x, targets):
        logits, h = model(xb, lengths)
        log_probs = F.log_softmax(logits, dim=2)
        loss = F.ctc_loss(log_probs, yb, lengths, target_lengths, blank=0, reduction="mean", zero_infinity=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append([loss.item(), h])
    logits, _ = model(x[0], lengths)
    return out, greedy(F.log_softmax(logits, 2), lengths)
'''

# ElementAI's N-BEATS: generic, trend and seasonality blocks over a flipped, masked input,
# smape_2 loss with divide_no_nan's in-place masked writes
PROGRAMS["nbeats"] = '''
import numpy as np
import torch
import torch as t

torch.set_default_dtype(torch.float64)


def divide_no_nan(a, b):
    result = a / b
    result[result != result] = .0
    result[result == np.inf] = .0
    return result


def smape_2_loss(forecast, target, mask):
    return 200 * t.mean(divide_no_nan(t.abs(forecast - target), t.abs(forecast.data) + t.abs(target.data)) * mask)


class NBeatsBlock(t.nn.Module):
    def __init__(self, input_size, theta_size, basis_function, layers, layer_size):
        super().__init__()
        self.layers = t.nn.ModuleList([t.nn.Linear(in_features=input_size, out_features=layer_size)] +
                                      [t.nn.Linear(in_features=layer_size, out_features=layer_size)
                                       for _ in range(layers - 1)])
        self.basis_parameters = t.nn.Linear(in_features=layer_size, out_features=theta_size)
        self.basis_function = basis_function

    def forward(self, x):
        block_input = x
        for layer in self.layers:
            block_input = t.relu(layer(block_input))
        return self.basis_function(self.basis_parameters(block_input))


class NBeats(t.nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = blocks

    def forward(self, x, input_mask):
        residuals = x.flip(dims=(1,))
        input_mask = input_mask.flip(dims=(1,))
        forecast = x[:, -1:]
        for i, block in enumerate(self.blocks):
            backcast, block_forecast = block(residuals)
            residuals = (residuals - backcast) * input_mask
            forecast = forecast + block_forecast
        return forecast


class GenericBasis(t.nn.Module):
    def __init__(self, backcast_size, forecast_size):
        super().__init__()
        self.backcast_size, self.forecast_size = backcast_size, forecast_size

    def forward(self, theta):
        return theta[:, :self.backcast_size], theta[:, -self.forecast_size:]


class TrendBasis(t.nn.Module):
    def __init__(self, degree_of_polynomial, backcast_size, forecast_size):
        super().__init__()
        self.polynomial_size = degree_of_polynomial + 1
        self.backcast_time = t.nn.Parameter(t.tensor(np.concatenate(
            [np.power(np.arange(backcast_size, dtype=np.float64) / backcast_size, i)[None, :]
             for i in range(self.polynomial_size)]), dtype=t.float64), requires_grad=False)
        self.forecast_time = t.nn.Parameter(t.tensor(np.concatenate(
            [np.power(np.arange(forecast_size, dtype=np.float64) / forecast_size, i)[None, :]
             for i in range(self.polynomial_size)]), dtype=t.float64), requires_grad=False)

    def forward(self, theta):
        backcast = t.einsum('bp,pt->bt', theta[:, self.polynomial_size:], self.backcast_time)
        forecast = t.einsum('bp,pt->bt', theta[:, :self.polynomial_size], self.forecast_time)
        return backcast, forecast


class SeasonalityBasis(t.nn.Module):
    def __init__(self, harmonics, backcast_size, forecast_size):
        super().__init__()
        self.frequency = np.append(np.zeros(1, dtype=np.float64),
                                   np.arange(harmonics, harmonics / 2 * forecast_size, dtype=np.float64) / harmonics
                                   )[None, :]
        backcast_grid = -2 * np.pi * (np.arange(backcast_size, dtype=np.float64)[:, None] / forecast_size) * \\
            self.frequency
        forecast_grid = 2 * np.pi * (np.arange(forecast_size, dtype=np.float64)[:, None] / forecast_size) * \\
            self.frequency
        self.backcast_cos_template = t.nn.Parameter(t.tensor(np.transpose(np.cos(backcast_grid)), dtype=t.float64),
                                                    requires_grad=False)
        self.backcast_sin_template = t.nn.Parameter(t.tensor(np.transpose(np.sin(backcast_grid)), dtype=t.float64),
                                                    requires_grad=False)
        self.forecast_cos_template = t.nn.Parameter(t.tensor(np.transpose(np.cos(forecast_grid)), dtype=t.float64),
                                                    requires_grad=False)
        self.forecast_sin_template = t.nn.Parameter(t.tensor(np.transpose(np.sin(forecast_grid)), dtype=t.float64),
                                                    requires_grad=False)

    def forward(self, theta):
        params_per_harmonic = theta.shape[1] // 4
        backcast_harmonics_cos = t.einsum('bp,pt->bt', theta[:, 2 * params_per_harmonic:3 * params_per_harmonic],
                                          self.backcast_cos_template)
        backcast_harmonics_sin = t.einsum('bp,pt->bt', theta[:, 3 * params_per_harmonic:],
                                          self.backcast_sin_template)
        backcast = backcast_harmonics_sin + backcast_harmonics_cos
        forecast_harmonics_cos = t.einsum('bp,pt->bt', theta[:, :params_per_harmonic], self.forecast_cos_template)
        forecast_harmonics_sin = t.einsum('bp,pt->bt', theta[:, params_per_harmonic:2 * params_per_harmonic],
                                          self.forecast_sin_template)
        return backcast, forecast_harmonics_sin + forecast_harmonics_cos


def build(input_size=8, output_size=3):
    trend = TrendBasis(2, input_size, output_size)
    season = SeasonalityBasis(1, input_size, output_size)
    blocks = [NBeatsBlock(input_size, 2 * 3, trend, 2, 10),
              NBeatsBlock(input_size, 4 * season.frequency.shape[1], season, 2, 10),
              NBeatsBlock(input_size, input_size + output_size, GenericBasis(input_size, output_size), 2, 10)]
    return NBeats(t.nn.ModuleList(blocks))


def data(rng):
    series = np.sin(np.arange(3 * 4 * 11).reshape(3, 4, 11) * 0.7) + rng.uniform(1, 2, size=(3, 4, 1))
    series[0, 0, 9] = 0.0
    x = t.tensor(series[..., :8])
    mask = t.ones_like(x)
    mask[:, 1, :2] = 0.0
    return x, mask, t.tensor(series[..., 8:])


def train(model, data):
    opt = t.optim.Adam(model.parameters(), lr=1e-3)
    out = []
    for x, mask, y in zip(*data):
        forecast = model(x, mask)
        target = y.clone()
        target[0] = -forecast.detach()[0]
        loss = smape_2_loss(forecast, target, t.ones_like(y))
        opt.zero_grad()
        loss.backward()
        t.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        out.append([loss.item(), forecast])
    return out
'''

# an LSTM encoder-decoder forecaster: the decoder fed its own output or the target (teacher
# forcing drawn by torch.rand), outputs written into a preallocated tensor step by step
PROGRAMS["seq2seq"] = '''
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


class Encoder(nn.Module):
    def __init__(self, hidden, layers):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, layers, batch_first=True)

    def forward(self, src):
        _, (hidden, cell) = self.lstm(src)
        return hidden, cell


class Decoder(nn.Module):
    def __init__(self, hidden, layers):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, layers, batch_first=True)
        self.fc = nn.Linear(hidden, 1)

    def forward(self, x, hidden, cell):
        out, (hidden, cell) = self.lstm(x.unsqueeze(1), (hidden, cell))
        return self.fc(out.squeeze(1)), hidden, cell


class Seq2Seq(nn.Module):
    def __init__(self, hidden=6, layers=2):
        super().__init__()
        self.encoder = Encoder(hidden, layers)
        self.decoder = Decoder(hidden, layers)

    def forward(self, src, trg, teacher_forcing_ratio=0.5):
        batch_size, horizon = trg.shape[0], trg.shape[1]
        outputs = torch.zeros(batch_size, horizon, 1)
        hidden, cell = self.encoder(src)
        x = src[:, -1, :]
        for t in range(horizon):
            out, hidden, cell = self.decoder(x, hidden, cell)
            outputs[:, t] = out
            teacher_force = torch.rand(1).item() < teacher_forcing_ratio
            x = trg[:, t] if teacher_force else out
        return outputs


def build():
    return Seq2Seq()


def data(rng):
    s = torch.sin(torch.arange(14) * 0.5 + torch.tensor(rng.uniform(0, 3, size=(3, 4, 1)))).unsqueeze(-1)
    return s[:, :, :10], s[:, :, 10:]


def train(model, data):
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    out = []
    for src, trg in zip(*data):
        pred = model(src, trg)
        loss = nn.functional.smooth_l1_loss(pred, trg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step(loss.item())
        out.append([loss.item(), opt.param_groups[0]["lr"]])
    model.eval()
    with torch.no_grad():
        out.append(model(data[0][0], data[1][0], teacher_forcing_ratio=0.0))
    return out
'''

# DLinear (cure-lab/LTSF-Linear): moving-average decomposition by AvgPool1d over a
# replicate-padded series (repeat-and-cat as written, and F.pad's replicate mode), per-channel
# Linear layers, behind RevIN's learnable reversible instance normalisation
PROGRAMS["dlinear"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class RevIN(nn.Module):
    def __init__(self, num_features, eps=1e-5, affine=True):
        super(RevIN, self).__init__()
        self.num_features, self.eps, self.affine = num_features, eps, affine
        if self.affine:
            self.affine_weight = nn.Parameter(torch.ones(self.num_features))
            self.affine_bias = nn.Parameter(torch.zeros(self.num_features))

    def forward(self, x, mode):
        if mode == 'norm':
            self._get_statistics(x)
            x = self._normalize(x)
        elif mode == 'denorm':
            x = self._denormalize(x)
        else:
            raise NotImplementedError
        return x

    def _get_statistics(self, x):
        dim2reduce = tuple(range(1, x.ndim - 1))
        self.mean = torch.mean(x, dim=dim2reduce, keepdim=True).detach()
        self.stdev = torch.sqrt(torch.var(x, dim=dim2reduce, keepdim=True, unbiased=False) + self.eps).detach()

    def _normalize(self, x):
        x = x - self.mean
        x = x / self.stdev
        if self.affine:
            x = x * self.affine_weight
            x = x + self.affine_bias
        return x

    def _denormalize(self, x):
        if self.affine:
            x = x - self.affine_bias
            x = x / (self.affine_weight + self.eps * self.eps)
        x = x * self.stdev
        return x + self.mean


class moving_avg(nn.Module):
    def __init__(self, kernel_size, stride, use_pad=False):
        super(moving_avg, self).__init__()
        self.kernel_size, self.use_pad = kernel_size, use_pad
        self.avg = nn.AvgPool1d(kernel_size=kernel_size, stride=stride, padding=0)

    def forward(self, x):
        if self.use_pad:
            x = F.pad(x.permute(0, 2, 1), ((self.kernel_size - 1) // 2, (self.kernel_size - 1) // 2),
                      mode='replicate')
            return self.avg(x).permute(0, 2, 1)
        front = x[:, 0:1, :].repeat(1, (self.kernel_size - 1) // 2, 1)
        end = x[:, -1:, :].repeat(1, (self.kernel_size - 1) // 2, 1)
        x = torch.cat([front, x, end], dim=1)
        x = self.avg(x.permute(0, 2, 1))
        return x.permute(0, 2, 1)


class series_decomp(nn.Module):
    def __init__(self, kernel_size, use_pad=False):
        super(series_decomp, self).__init__()
        self.moving_avg = moving_avg(kernel_size, stride=1, use_pad=use_pad)

    def forward(self, x):
        moving_mean = self.moving_avg(x)
        return x - moving_mean, moving_mean


class DLinear(nn.Module):
    def __init__(self, seq_len=12, pred_len=4, channels=3, individual=True, use_pad=False):
        super(DLinear, self).__init__()
        self.seq_len, self.pred_len, self.channels, self.individual = seq_len, pred_len, channels, individual
        self.decompsition = series_decomp(5, use_pad)
        self.revin = RevIN(channels)
        if self.individual:
            self.Linear_Seasonal = nn.ModuleList([nn.Linear(seq_len, pred_len) for _ in range(channels)])
            self.Linear_Trend = nn.ModuleList([nn.Linear(seq_len, pred_len) for _ in range(channels)])
        else:
            self.Linear_Seasonal = nn.Linear(seq_len, pred_len)
            self.Linear_Trend = nn.Linear(seq_len, pred_len)

    def forward(self, x):
        x = self.revin(x, 'norm')
        seasonal_init, trend_init = self.decompsition(x)
        seasonal_init, trend_init = seasonal_init.permute(0, 2, 1), trend_init.permute(0, 2, 1)
        if self.individual:
            seasonal_output = torch.zeros([seasonal_init.size(0), seasonal_init.size(1), self.pred_len],
                                          dtype=seasonal_init.dtype).to(seasonal_init.device)
            trend_output = torch.zeros([trend_init.size(0), trend_init.size(1), self.pred_len],
                                       dtype=trend_init.dtype).to(trend_init.device)
            for i in range(self.channels):
                seasonal_output[:, i, :] = self.Linear_Seasonal[i](seasonal_init[:, i, :])
                trend_output[:, i, :] = self.Linear_Trend[i](trend_init[:, i, :])
        else:
            seasonal_output = self.Linear_Seasonal(seasonal_init)
            trend_output = self.Linear_Trend(trend_init)
        x = (seasonal_output + trend_output).permute(0, 2, 1)
        return self.revin(x, 'denorm')


class Both(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = DLinear(individual=True)
        self.b = DLinear(individual=False, use_pad=True)

    def forward(self, x):
        return self.a(x), self.b(x)


def build():
    return Both()


def data(rng):
    t = torch.arange(16.0)
    series = torch.sin(t[:, None] * 0.6 + torch.tensor(rng.uniform(0, 3, size=(3, 4, 1, 3)))) + 0.05 * t[:, None]
    return series + 0.1 * torch.tensor(rng.normal(size=(3, 4, 16, 3)))


def train(model, series):
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    out = []
    for batch in series:
        x, y = batch[:, :12], batch[:, 12:]
        a, b = model(x)
        loss = F.mse_loss(a, y) + F.l1_loss(b, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append([loss.item(), a, b])
    return out, model.b.decompsition(series[0])
'''


# HiFi-GAN (jik876/hifi-gan, trimmed): a generator of weight-normed ConvTranspose1d
# upsamplers and dilated ResBlock1s (LeakyReLU, get_padding), a multi-period discriminator
# (reflect padding, the series folded to 2-d, Conv2d with (k, 1) kernels) and a multi-scale one
# (spectral_norm, AvgPool1d with padding), the LSGAN, feature-matching and mel-L1 losses,
# remove_weight_norm for inference
PROGRAMS["hifigan"] = FRONTEND.split("class MFCCNet")[0] + '''
from torch.nn import Conv1d, ConvTranspose1d, Conv2d, AvgPool1d
from torch.nn.utils import weight_norm, remove_weight_norm, spectral_norm

LRELU_SLOPE = 0.1


def init_weights(m, mean=0.0, std=0.01):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        m.weight.data.normal_(mean, std)


def get_padding(kernel_size, dilation=1):
    return int((kernel_size * dilation - dilation) / 2)


class ResBlock1(torch.nn.Module):
    def __init__(self, channels, kernel_size=3, dilation=(1, 3)):
        super(ResBlock1, self).__init__()
        self.convs1 = nn.ModuleList([
            weight_norm(Conv1d(channels, channels, kernel_size, 1, dilation=d, padding=get_padding(kernel_size, d)))
            for d in dilation])
        self.convs1.apply(init_weights)
        self.convs2 = nn.ModuleList([
            weight_norm(Conv1d(channels, channels, kernel_size, 1, dilation=1, padding=get_padding(kernel_size, 1)))
            for _ in dilation])
        self.convs2.apply(init_weights)

    def forward(self, x):
        for c1, c2 in zip(self.convs1, self.convs2):
            xt = F.leaky_relu(x, LRELU_SLOPE)
            xt = c1(xt)
            xt = F.leaky_relu(xt, LRELU_SLOPE)
            xt = c2(xt)
            x = xt + x
        return x

    def remove_weight_norm(self):
        for l in self.convs1:
            remove_weight_norm(l)
        for l in self.convs2:
            remove_weight_norm(l)


class Generator(torch.nn.Module):
    def __init__(self, n_mels=8, ch=8, rates=(2, 2), kernels=(4, 4)):
        super(Generator, self).__init__()
        self.num_upsamples = len(rates)
        self.conv_pre = weight_norm(Conv1d(n_mels, ch, 7, 1, padding=3))
        self.ups = nn.ModuleList()
        for i, (u, k) in enumerate(zip(rates, kernels)):
            self.ups.append(weight_norm(ConvTranspose1d(ch // (2 ** i), ch // (2 ** (i + 1)), k, u,
                                                        padding=(k - u) // 2)))
        self.resblocks = nn.ModuleList()
        for i in range(len(self.ups)):
            self.resblocks.append(ResBlock1(ch // (2 ** (i + 1))))
        self.conv_post = weight_norm(Conv1d(ch // (2 ** len(rates)), 1, 7, 1, padding=3))
        self.ups.apply(init_weights)
        self.conv_post.apply(init_weights)

    def forward(self, x):
        x = self.conv_pre(x)
        for i in range(self.num_upsamples):
            x = F.leaky_relu(x, LRELU_SLOPE)
            x = self.ups[i](x)
            x = self.resblocks[i](x)
        x = F.leaky_relu(x)
        x = self.conv_post(x)
        return torch.tanh(x)

    def remove_weight_norm(self):
        for l in self.ups:
            remove_weight_norm(l)
        for l in self.resblocks:
            l.remove_weight_norm()
        remove_weight_norm(self.conv_pre)
        remove_weight_norm(self.conv_post)


class DiscriminatorP(torch.nn.Module):
    def __init__(self, period, kernel_size=5, stride=3):
        super(DiscriminatorP, self).__init__()
        self.period = period
        self.convs = nn.ModuleList([
            weight_norm(Conv2d(1, 4, (kernel_size, 1), (stride, 1), padding=(get_padding(5, 1), 0))),
            weight_norm(Conv2d(4, 8, (kernel_size, 1), 1, padding=(2, 0))),
        ])
        self.conv_post = weight_norm(Conv2d(8, 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x):
        fmap = []
        b, c, t = x.shape
        if t % self.period != 0:
            n_pad = self.period - (t % self.period)
            x = F.pad(x, (0, n_pad), "reflect")
            t = t + n_pad
        x = x.view(b, c, t // self.period, self.period)
        for l in self.convs:
            x = l(x)
            x = F.leaky_relu(x, LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1, -1), fmap


class DiscriminatorS(torch.nn.Module):
    def __init__(self, use_spectral_norm=False):
        super(DiscriminatorS, self).__init__()
        norm_f = weight_norm if use_spectral_norm == False else spectral_norm
        self.convs = nn.ModuleList([
            norm_f(Conv1d(1, 4, 15, 1, padding=7)),
            norm_f(Conv1d(4, 8, 41, 4, groups=4, padding=20)),
        ])
        self.conv_post = norm_f(Conv1d(8, 1, 3, 1, padding=1))

    def forward(self, x):
        fmap = []
        for l in self.convs:
            x = l(x)
            x = F.leaky_relu(x, LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1, -1), fmap


class MultiDiscriminator(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.discriminators = nn.ModuleList([DiscriminatorP(2), DiscriminatorP(3),
                                             DiscriminatorS(use_spectral_norm=True), DiscriminatorS()])
        self.meanpools = nn.ModuleList([AvgPool1d(4, 2, padding=2)])

    def forward(self, y, y_hat):
        y_d_rs, y_d_gs, fmap_rs, fmap_gs = [], [], [], []
        for i, d in enumerate(self.discriminators):
            if i == 3:
                y = self.meanpools[0](y)
                y_hat = self.meanpools[0](y_hat)
            y_d_r, fmap_r = d(y)
            y_d_g, fmap_g = d(y_hat)
            y_d_rs.append(y_d_r)
            fmap_rs.append(fmap_r)
            y_d_gs.append(y_d_g)
            fmap_gs.append(fmap_g)
        return y_d_rs, y_d_gs, fmap_rs, fmap_gs


def feature_loss(fmap_r, fmap_g):
    loss = 0
    for dr, dg in zip(fmap_r, fmap_g):
        for rl, gl in zip(dr, dg):
            loss += torch.mean(torch.abs(rl - gl))
    return loss * 2


def discriminator_loss(disc_real_outputs, disc_generated_outputs):
    loss = 0
    for dr, dg in zip(disc_real_outputs, disc_generated_outputs):
        loss += torch.mean((1 - dr) ** 2) + torch.mean(dg ** 2)
    return loss


def generator_loss(disc_outputs):
    loss = 0
    for dg in disc_outputs:
        loss += torch.mean((1 - dg) ** 2)
    return loss


class HiFiGAN(nn.Module):
    def __init__(self):
        super().__init__()
        self.generator = Generator()
        self.discriminator = MultiDiscriminator()
        self.register_buffer("window", torch.hann_window(16))
        self.register_buffer("fb", melscale_fbanks(9, 0.0, 400.0, 8, 800, norm="slaney"))

    def mel(self, y):
        y = F.pad(y.unsqueeze(1), (6, 6), mode="reflect").squeeze(1)
        spec = torch.stft(y, 16, hop_length=4, win_length=16, window=self.window, center=False, pad_mode="reflect",
                          normalized=False, onesided=True, return_complex=True)
        spec = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-9)
        return torch.log(torch.clamp(torch.matmul(self.fb.T, spec), min=1e-5))


def build():
    return HiFiGAN()


def data(rng):
    t = torch.arange(32) / 800.0
    return torch.sin(2 * math.pi * torch.tensor(rng.uniform(60, 300, size=(3, 2, 1))) * t) * 0.5


def train(model, waves):
    optim_g = torch.optim.AdamW(model.generator.parameters(), 2e-3, betas=(0.8, 0.99))
    optim_d = torch.optim.AdamW(model.discriminator.parameters(), 2e-3, betas=(0.8, 0.99))
    scheduler_g = torch.optim.lr_scheduler.ExponentialLR(optim_g, gamma=0.999)
    out = []
    for y in waves:
        y_mel = model.mel(y)
        y_g_hat = model.generator(y_mel)
        y_g_hat_mel = model.mel(y_g_hat.squeeze(1))
        y = y.unsqueeze(1)
        optim_d.zero_grad()
        y_d_rs, y_d_gs, _, _ = model.discriminator(y, y_g_hat.detach())
        loss_disc_all = discriminator_loss(y_d_rs, y_d_gs)
        loss_disc_all.backward()
        optim_d.step()
        optim_g.zero_grad()
        loss_mel = F.l1_loss(y_mel, y_g_hat_mel) * 45
        y_d_rs, y_d_gs, fmap_rs, fmap_gs = model.discriminator(y, y_g_hat)
        loss_gen_all = generator_loss(y_d_gs) + feature_loss(fmap_rs, fmap_gs) + loss_mel
        loss_gen_all.backward()
        optim_g.step()
        scheduler_g.step()
        out.append([loss_disc_all.item(), loss_gen_all.item(), loss_mel.item()])
    model.generator.eval()
    model.generator.remove_weight_norm()
    with torch.no_grad():
        audio = model.generator(model.mel(waves[0]))
    return out, audio
'''

# Conv-TasNet (kaituoxu/Conv-TasNet, trimmed): a Conv1d encoder, a TCN separator of
# depthwise-separable blocks with PReLU and global layer norm, sigmoid masks, overlap-add
# decoding, trained on permutation-invariant SI-SNR
PROGRAMS["convtasnet"] = '''
from itertools import permutations

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
EPS = 1e-8


class GlobalLayerNorm(nn.Module):
    def __init__(self, channel_size):
        super(GlobalLayerNorm, self).__init__()
        self.gamma = nn.Parameter(torch.Tensor(1, channel_size, 1))
        self.beta = nn.Parameter(torch.Tensor(1, channel_size, 1))
        self.reset_parameters()

    def reset_parameters(self):
        self.gamma.data.fill_(1)
        self.beta.data.zero_()

    def forward(self, y):
        mean = y.mean(dim=1, keepdim=True).mean(dim=2, keepdim=True)
        var = (torch.pow(y - mean, 2)).mean(dim=1, keepdim=True).mean(dim=2, keepdim=True)
        return self.gamma * (y - mean) / torch.pow(var + EPS, 0.5) + self.beta


class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation):
        super(DepthwiseSeparableConv, self).__init__()
        depthwise_conv = nn.Conv1d(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                                   dilation=dilation, groups=in_channels, bias=False)
        self.net = nn.Sequential(depthwise_conv, nn.PReLU(), GlobalLayerNorm(in_channels),
                                 nn.Conv1d(in_channels, out_channels, 1, bias=False))

    def forward(self, x):
        return self.net(x)


class TemporalBlock(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation):
        super(TemporalBlock, self).__init__()
        self.net = nn.Sequential(nn.Conv1d(in_channels, out_channels, 1, bias=False), nn.PReLU(),
                                 GlobalLayerNorm(out_channels),
                                 DepthwiseSeparableConv(out_channels, in_channels, kernel_size, stride, padding,
                                                        dilation))

    def forward(self, x):
        return self.net(x) + x


class ConvTasNet(nn.Module):
    def __init__(self, N=6, L=4, B=5, H=6, P=3, X=2, C=2):
        super(ConvTasNet, self).__init__()
        self.N, self.L, self.C = N, L, C
        self.encoder = nn.Conv1d(1, N, kernel_size=L, stride=L // 2, bias=False)
        blocks = [TemporalBlock(B, H, P, stride=1, padding=(P - 1) * 2 ** x // 2, dilation=2 ** x)
                  for x in range(X)]
        self.separator = nn.Sequential(GlobalLayerNorm(N), nn.Conv1d(N, B, 1, bias=False), *blocks,
                                       nn.Conv1d(B, C * N, 1, bias=False))
        self.basis_signals = nn.Linear(N, L, bias=False)

    def forward(self, mixture):
        mixture_w = F.relu(self.encoder(mixture.unsqueeze(1)))
        M, N, K = mixture_w.size()
        est_mask = torch.sigmoid(self.separator(mixture_w).view(M, self.C, N, K))
        source_w = torch.unsqueeze(mixture_w, 1) * est_mask
        source_w = torch.transpose(source_w, 2, 3)
        est_source = self.basis_signals(source_w)
        est_source = overlap_and_add(est_source, self.L // 2)
        T_origin, T_conv = mixture.size(-1), est_source.size(-1)
        return F.pad(est_source, (0, T_origin - T_conv))


def overlap_and_add(signal, frame_step):
    outer_dimensions = signal.size()[:-2]
    frames, frame_length = signal.size()[-2:]
    subframe_length = frame_length // frame_step
    subframe_step = frame_step // subframe_length
    subframes_per_frame = frame_length // subframe_length
    output_size = frame_step * (frames - 1) + frame_length
    output_subframes = output_size // subframe_length
    subframe_signal = signal.view(*outer_dimensions, -1, subframe_length)
    frame = torch.arange(0, output_subframes).unfold(0, subframes_per_frame, subframe_step)
    frame = signal.new_tensor(frame).long()
    frame = frame.contiguous().view(-1)
    result = signal.new_zeros(*outer_dimensions, output_subframes, subframe_length)
    result.index_add_(-2, frame, subframe_signal)
    return result.view(*outer_dimensions, -1)


def cal_si_snr_with_pit(source, estimate_source, source_lengths):
    B, C, T = source.size()
    mask = get_mask(source, source_lengths)
    estimate_source = estimate_source * mask
    num_samples = source_lengths.view(-1, 1, 1).to(source.dtype)
    mean_target = torch.sum(source, dim=2, keepdim=True) / num_samples
    mean_estimate = torch.sum(estimate_source, dim=2, keepdim=True) / num_samples
    zero_mean_target = (source - mean_target) * mask
    zero_mean_estimate = (estimate_source - mean_estimate) * mask
    s_target = torch.unsqueeze(zero_mean_target, dim=1)
    s_estimate = torch.unsqueeze(zero_mean_estimate, dim=2)
    pair_wise_dot = torch.sum(s_estimate * s_target, dim=3, keepdim=True)
    s_target_energy = torch.sum(s_target ** 2, dim=3, keepdim=True) + EPS
    pair_wise_proj = pair_wise_dot * s_target / s_target_energy
    e_noise = s_estimate - pair_wise_proj
    pair_wise_si_snr = torch.sum(pair_wise_proj ** 2, dim=3) / (torch.sum(e_noise ** 2, dim=3) + EPS)
    pair_wise_si_snr = 10 * torch.log10(pair_wise_si_snr + EPS)
    perms = source.new_tensor(list(permutations(range(C))), dtype=torch.long)
    index = torch.unsqueeze(perms, 2)
    perms_one_hot = source.new_zeros((*perms.size(), C)).scatter_(2, index, 1)
    snr_set = torch.einsum('bij,pij->bp', [pair_wise_si_snr, perms_one_hot])
    max_snr_idx = torch.argmax(snr_set, dim=1)
    max_snr, _ = torch.max(snr_set, dim=1, keepdim=True)
    max_snr /= C
    return max_snr, perms, max_snr_idx


def get_mask(source, source_lengths):
    B, _, T = source.size()
    mask = source.new_ones((B, 1, T))
    for i in range(B):
        mask[i, :, source_lengths[i]:] = 0
    return mask


def build():
    return ConvTasNet()


def data(rng):
    sources = torch.tensor(rng.normal(size=(3, 2, 2, 24))).cumsum(-1) * 0.2
    return sources.sum(2), sources, torch.tensor([24, 20])


def train(model, data):
    mixtures, sources, lengths = data
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for mixture, source in zip(mixtures, sources):
        est = model(mixture)
        max_snr, perms, max_snr_idx = cal_si_snr_with_pit(source, est, lengths)
        loss = 0 - torch.mean(max_snr)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5)
        opt.step()
        out.append([loss.item(), max_snr_idx])
    return out
'''

# Autoformer's auto-correlation (period-based dependencies by rfft/irfft, top-k delays,
# time-delay aggregation by torch.roll) and PatchTST's patching (ReplicationPad1d, unfold),
# with a series decomposition by AvgPool1d
PROGRAMS["autoformer"] = '''
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class AutoCorrelation(nn.Module):
    def __init__(self, factor=1):
        super(AutoCorrelation, self).__init__()
        self.factor = factor

    def time_delay_agg_training(self, values, corr):
        head = values.shape[1]
        channel = values.shape[2]
        length = values.shape[3]
        top_k = int(self.factor * math.log(length))
        mean_value = torch.mean(torch.mean(corr, dim=1), dim=1)
        index = torch.topk(torch.mean(mean_value, dim=0), top_k, dim=-1)[1]
        weights = torch.stack([mean_value[:, index[i]] for i in range(top_k)], dim=-1)
        tmp_corr = torch.softmax(weights, dim=-1)
        tmp_values = values
        delays_agg = torch.zeros_like(values).float().to(values.dtype)
        for i in range(top_k):
            pattern = torch.roll(tmp_values, -int(index[i]), -1)
            delays_agg = delays_agg + pattern * \\
                (tmp_corr[:, i].unsqueeze(1).unsqueeze(1).unsqueeze(1).repeat(1, head, channel, length))
        return delays_agg

    def time_delay_agg_inference(self, values, corr):
        batch = values.shape[0]
        head = values.shape[1]
        channel = values.shape[2]
        length = values.shape[3]
        init_index = torch.arange(length).unsqueeze(0).unsqueeze(0).unsqueeze(0).repeat(batch, head, channel, 1)
        top_k = int(self.factor * math.log(length))
        mean_value = torch.mean(torch.mean(corr, dim=1), dim=1)
        weights, delay = torch.topk(mean_value, top_k, dim=-1)
        tmp_corr = torch.softmax(weights, dim=-1)
        tmp_values = values.repeat(1, 1, 1, 2)
        delays_agg = torch.zeros_like(values)
        for i in range(top_k):
            tmp_delay = init_index + delay[:, i].unsqueeze(1).unsqueeze(1).unsqueeze(1).repeat(1, head, channel, length)
            pattern = torch.gather(tmp_values, dim=-1, index=tmp_delay)
            delays_agg = delays_agg + pattern * \\
                (tmp_corr[:, i].unsqueeze(1).unsqueeze(1).unsqueeze(1).repeat(1, head, channel, length))
        return delays_agg

    def forward(self, queries, keys, values):
        B, L, H, E = queries.shape
        _, S, _, D = values.shape
        if L > S:
            zeros = torch.zeros_like(queries[:, :(L - S), :]).float().to(queries.dtype)
            values = torch.cat([values, zeros], dim=1)
            keys = torch.cat([keys, zeros], dim=1)
        else:
            values = values[:, :L, :, :]
            keys = keys[:, :L, :, :]
        q_fft = torch.fft.rfft(queries.permute(0, 2, 3, 1).contiguous(), dim=-1)
        k_fft = torch.fft.rfft(keys.permute(0, 2, 3, 1).contiguous(), dim=-1)
        res = q_fft * torch.conj(k_fft)
        corr = torch.fft.irfft(res, n=L, dim=-1)
        if self.training:
            V = self.time_delay_agg_training(values.permute(0, 2, 3, 1).contiguous(), corr).permute(0, 3, 1, 2)
        else:
            V = self.time_delay_agg_inference(values.permute(0, 2, 3, 1).contiguous(), corr).permute(0, 3, 1, 2)
        return V.contiguous(), corr.permute(0, 3, 1, 2)


class AutoCorrelationLayer(nn.Module):
    def __init__(self, correlation, d_model, n_heads):
        super(AutoCorrelationLayer, self).__init__()
        d_keys = d_model // n_heads
        self.inner_correlation = correlation
        self.query_projection = nn.Linear(d_model, d_keys * n_heads)
        self.key_projection = nn.Linear(d_model, d_keys * n_heads)
        self.value_projection = nn.Linear(d_model, d_keys * n_heads)
        self.out_projection = nn.Linear(d_keys * n_heads, d_model)
        self.n_heads = n_heads

    def forward(self, queries, keys, values):
        B, L, _ = queries.shape
        _, S, _ = keys.shape
        H = self.n_heads
        queries = self.query_projection(queries).view(B, L, H, -1)
        keys = self.key_projection(keys).view(B, S, H, -1)
        values = self.value_projection(values).view(B, S, H, -1)
        out, attn = self.inner_correlation(queries, keys, values)
        return self.out_projection(out.view(B, L, -1)), attn


class my_Layernorm(nn.Module):
    def __init__(self, channels):
        super(my_Layernorm, self).__init__()
        self.layernorm = nn.LayerNorm(channels)

    def forward(self, x):
        x_hat = self.layernorm(x)
        bias = torch.mean(x_hat, dim=1).unsqueeze(1).repeat(1, x.shape[1], 1)
        return x_hat - bias


class PatchEmbedding(nn.Module):
    def __init__(self, d_model, patch_len, stride):
        super(PatchEmbedding, self).__init__()
        self.patch_len = patch_len
        self.stride = stride
        self.padding_patch_layer = nn.ReplicationPad1d((0, stride))
        self.value_embedding = nn.Linear(patch_len, d_model, bias=False)
        position = torch.arange(0, 16).float().unsqueeze(1).to(torch.get_default_dtype())
        div_term = (torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()
        pe = torch.zeros(16, d_model).float()
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe.to(torch.get_default_dtype()).unsqueeze(0))

    def forward(self, x):
        n_vars = x.shape[1]
        x = self.padding_patch_layer(x)
        x = x.unfold(dimension=-1, size=self.patch_len, step=self.stride)
        x = torch.reshape(x, (x.shape[0] * x.shape[1], x.shape[2], x.shape[3]))
        x = self.value_embedding(x) + self.pe[:, :x.size(1)]
        return x, n_vars


class Model(nn.Module):
    def __init__(self, seq_len=12, pred_len=4, d_model=8, n_heads=2, patch_len=4, stride=2):
        super().__init__()
        self.pred_len = pred_len
        self.patch = PatchEmbedding(d_model, patch_len, stride)
        self.attn = AutoCorrelationLayer(AutoCorrelation(factor=1), d_model, n_heads)
        self.norm = my_Layernorm(d_model)
        patches = (seq_len - patch_len) // stride + 2
        self.head = nn.Sequential(nn.Flatten(start_dim=-2), nn.Linear(d_model * patches, pred_len))

    def forward(self, x_enc):
        means = x_enc.mean(1, keepdim=True).detach()
        x_enc = x_enc - means
        stdev = torch.sqrt(torch.var(x_enc, dim=1, keepdim=True, unbiased=False) + 1e-5)
        x_enc /= stdev
        enc_out, n_vars = self.patch(x_enc.permute(0, 2, 1))
        h, corr = self.attn(enc_out, enc_out, enc_out)
        enc_out = self.norm(enc_out + h)
        enc_out = torch.reshape(enc_out, (-1, n_vars, enc_out.shape[-2], enc_out.shape[-1]))
        dec_out = self.head(enc_out).permute(0, 2, 1)
        dec_out = dec_out * (stdev[:, 0, :].unsqueeze(1).repeat(1, self.pred_len, 1))
        return dec_out + (means[:, 0, :].unsqueeze(1).repeat(1, self.pred_len, 1))


def build():
    return Model()


def data(rng):
    t = torch.arange(16.0)[:, None]
    return torch.sin(t * 0.8 + torch.tensor(rng.uniform(0, 3, size=(3, 3, 1, 2)))) + 0.1 * torch.tensor(
        rng.normal(size=(3, 3, 16, 2)))


def train(model, series):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for batch in series:
        pred = model(batch[:, :12])
        loss = F.mse_loss(pred, batch[:, 12:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    model.eval()
    with torch.no_grad():
        out.append(model(series[0, :, :12]))
    return out
'''

# Tacotron 2's decoder pieces (NVIDIA/tacotron2, trimmed): get_mask_from_lengths, a prenet,
# location-sensitive attention (a Conv1d over the cumulative weights, masked_fill with
# -inf), LSTMCell steps, teacher-forced mel frames and a gate BCE loss
PROGRAMS["tacotron"] = '''
import torch
from torch import nn
from torch.nn import functional as F

torch.set_default_dtype(torch.float64)


def get_mask_from_lengths(lengths):
    max_len = torch.max(lengths).item()
    ids = torch.arange(0, max_len, out=torch.LongTensor(max_len))
    return (ids < lengths.unsqueeze(1)).bool()


class LinearNorm(torch.nn.Module):
    def __init__(self, in_dim, out_dim, bias=True, w_init_gain='linear'):
        super(LinearNorm, self).__init__()
        self.linear_layer = torch.nn.Linear(in_dim, out_dim, bias=bias)
        torch.nn.init.xavier_uniform_(self.linear_layer.weight, gain=torch.nn.init.calculate_gain(w_init_gain))

    def forward(self, x):
        return self.linear_layer(x)


class ConvNorm(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size=1, stride=1, padding=None, dilation=1, bias=True,
                 w_init_gain='linear'):
        super(ConvNorm, self).__init__()
        if padding is None:
            assert (kernel_size % 2 == 1)
            padding = int(dilation * (kernel_size - 1) / 2)
        self.conv = torch.nn.Conv1d(in_channels, out_channels, kernel_size=kernel_size, stride=stride,
                                    padding=padding, dilation=dilation, bias=bias)
        torch.nn.init.xavier_uniform_(self.conv.weight, gain=torch.nn.init.calculate_gain(w_init_gain))

    def forward(self, signal):
        return self.conv(signal)


class LocationLayer(nn.Module):
    def __init__(self, attention_n_filters, attention_kernel_size, attention_dim):
        super(LocationLayer, self).__init__()
        padding = int((attention_kernel_size - 1) / 2)
        self.location_conv = ConvNorm(2, attention_n_filters, kernel_size=attention_kernel_size, padding=padding,
                                      bias=False, stride=1, dilation=1)
        self.location_dense = LinearNorm(attention_n_filters, attention_dim, bias=False, w_init_gain='tanh')

    def forward(self, attention_weights_cat):
        processed_attention = self.location_conv(attention_weights_cat)
        processed_attention = processed_attention.transpose(1, 2)
        return self.location_dense(processed_attention)


class Attention(nn.Module):
    def __init__(self, attention_rnn_dim, embedding_dim, attention_dim, attention_location_n_filters,
                 attention_location_kernel_size):
        super(Attention, self).__init__()
        self.query_layer = LinearNorm(attention_rnn_dim, attention_dim, bias=False, w_init_gain='tanh')
        self.memory_layer = LinearNorm(embedding_dim, attention_dim, bias=False, w_init_gain='tanh')
        self.v = LinearNorm(attention_dim, 1, bias=False)
        self.location_layer = LocationLayer(attention_location_n_filters, attention_location_kernel_size,
                                            attention_dim)
        self.score_mask_value = -float("inf")

    def get_alignment_energies(self, query, processed_memory, attention_weights_cat):
        processed_query = self.query_layer(query.unsqueeze(1))
        processed_attention_weights = self.location_layer(attention_weights_cat)
        energies = self.v(torch.tanh(processed_query + processed_attention_weights + processed_memory))
        return energies.squeeze(-1)

    def forward(self, attention_hidden_state, memory, processed_memory, attention_weights_cat, mask):
        alignment = self.get_alignment_energies(attention_hidden_state, processed_memory, attention_weights_cat)
        if mask is not None:
            alignment.data.masked_fill_(mask, self.score_mask_value)
        attention_weights = F.softmax(alignment, dim=1)
        attention_context = torch.bmm(attention_weights.unsqueeze(1), memory)
        return attention_context.squeeze(1), attention_weights


class Prenet(nn.Module):
    def __init__(self, in_dim, sizes):
        super(Prenet, self).__init__()
        in_sizes = [in_dim] + sizes[:-1]
        self.layers = nn.ModuleList([LinearNorm(in_size, out_size, bias=False)
                                     for (in_size, out_size) in zip(in_sizes, sizes)])

    def forward(self, x):
        for linear in self.layers:
            x = F.dropout(F.relu(linear(x)), p=0.0, training=True)
        return x


class Decoder(nn.Module):
    def __init__(self, n_mel=4, enc=6, prenet=5, rnn=7, attn=5):
        super(Decoder, self).__init__()
        self.n_mel_channels, self.encoder_embedding_dim, self.attention_rnn_dim, self.decoder_rnn_dim = \\
            n_mel, enc, rnn, rnn
        self.embedding = nn.Embedding(10, enc)
        self.prenet = Prenet(n_mel, [prenet, prenet])
        self.attention_rnn = nn.LSTMCell(prenet + enc, rnn)
        self.attention_layer = Attention(rnn, enc, attn, 3, 3)
        self.decoder_rnn = nn.LSTMCell(rnn + enc, rnn, 1)
        self.linear_projection = LinearNorm(rnn + enc, n_mel)
        self.gate_layer = LinearNorm(rnn + enc, 1, bias=True, w_init_gain='sigmoid')

    def initialize_decoder_states(self, memory, mask):
        B, MAX_TIME = memory.size(0), memory.size(1)
        self.attention_hidden = memory.new_zeros(B, self.attention_rnn_dim)
        self.attention_cell = memory.new_zeros(B, self.attention_rnn_dim)
        self.decoder_hidden = memory.new_zeros(B, self.decoder_rnn_dim)
        self.decoder_cell = memory.new_zeros(B, self.decoder_rnn_dim)
        self.attention_weights = memory.new_zeros(B, MAX_TIME)
        self.attention_weights_cum = memory.new_zeros(B, MAX_TIME)
        self.attention_context = memory.new_zeros(B, self.encoder_embedding_dim)
        self.memory = memory
        self.processed_memory = self.attention_layer.memory_layer(memory)
        self.mask = mask

    def decode(self, decoder_input):
        cell_input = torch.cat((decoder_input, self.attention_context), -1)
        self.attention_hidden, self.attention_cell = self.attention_rnn(
            cell_input, (self.attention_hidden, self.attention_cell))
        attention_weights_cat = torch.cat((self.attention_weights.unsqueeze(1),
                                           self.attention_weights_cum.unsqueeze(1)), dim=1)
        self.attention_context, self.attention_weights = self.attention_layer(
            self.attention_hidden, self.memory, self.processed_memory, attention_weights_cat, self.mask)
        self.attention_weights_cum += self.attention_weights
        decoder_input = torch.cat((self.attention_hidden, self.attention_context), -1)
        self.decoder_hidden, self.decoder_cell = self.decoder_rnn(decoder_input,
                                                                  (self.decoder_hidden, self.decoder_cell))
        decoder_hidden_attention_context = torch.cat((self.decoder_hidden, self.attention_context), dim=1)
        decoder_output = self.linear_projection(decoder_hidden_attention_context)
        gate_prediction = self.gate_layer(decoder_hidden_attention_context)
        return decoder_output, gate_prediction, self.attention_weights

    def forward(self, text, memory_lengths, decoder_inputs):
        memory = self.embedding(text)
        decoder_input = decoder_inputs.new_zeros(decoder_inputs.size(0), self.n_mel_channels).unsqueeze(0)
        decoder_inputs = decoder_inputs.transpose(1, 2).transpose(0, 1)
        decoder_inputs = torch.cat((decoder_input, decoder_inputs), dim=0)
        decoder_inputs = self.prenet(decoder_inputs)
        self.initialize_decoder_states(memory, mask=~get_mask_from_lengths(memory_lengths))
        mel_outputs, gate_outputs, alignments = [], [], []
        while len(mel_outputs) < decoder_inputs.size(0) - 1:
            decoder_input = decoder_inputs[len(mel_outputs)]
            mel_output, gate_output, attention_weights = self.decode(decoder_input)
            mel_outputs += [mel_output.squeeze(1)]
            gate_outputs += [gate_output.squeeze(1)]
            alignments += [attention_weights]
        alignments = torch.stack(alignments).transpose(0, 1)
        gate_outputs = torch.stack(gate_outputs).transpose(0, 1).contiguous()
        mel_outputs = torch.stack(mel_outputs).transpose(0, 1).contiguous()
        mel_outputs = mel_outputs.view(mel_outputs.size(0), -1, self.n_mel_channels).transpose(1, 2)
        return mel_outputs, gate_outputs, alignments


def build():
    return Decoder()


def data(rng):
    text = torch.tensor(rng.integers(0, 10, size=(3, 2, 5)))
    mels = torch.tensor(rng.normal(size=(3, 2, 4, 6)))
    gates = torch.zeros(3, 2, 6)
    gates[:, 0, 5] = 1.0
    gates[:, 1, 3:] = 1.0
    return text, torch.tensor([5, 3]), mels, gates


def train(model, data):
    text, lengths, mels, gates = data
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-6)
    out = []
    for x, mel, gate in zip(text, mels, gates):
        mel_out, gate_out, alignments = model(x, lengths, mel)
        loss = nn.MSELoss()(mel_out, mel) + nn.BCEWithLogitsLoss()(gate_out, gate)
        model.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        out.append([loss.item(), grad_norm, alignments])
    return out
'''


# ECAPA-TDNN (TaoRuijie/ECAPA-TDNN, trimmed): pre-emphasis by a flipped-filter conv1d after
# reflect padding, a log-mel front end under no_grad with mean normalisation, SE-Res2Blocks
# (torch.split widths, dilated convs, BatchNorm1d, squeeze-excitation), attentive statistical
# pooling, and the AAM-softmax (ArcFace) head with scatter_ one-hots and torch.where margins
PROGRAMS["ecapa"] = FRONTEND.split("class MFCCNet")[0] + '''

class PreEmphasis(torch.nn.Module):
    def __init__(self, coef: float = 0.97):
        super().__init__()
        self.coef = coef
        self.register_buffer('flipped_filter', torch.tensor([-self.coef, 1.]).unsqueeze(0).unsqueeze(0))

    def forward(self, input):
        input = input.unsqueeze(1)
        input = F.pad(input, (1, 0), 'reflect')
        return F.conv1d(input, self.flipped_filter).squeeze(1)


class SEModule(nn.Module):
    def __init__(self, channels, bottleneck=4):
        super(SEModule, self).__init__()
        self.se = nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Conv1d(channels, bottleneck, kernel_size=1, padding=0),
                                nn.ReLU(), nn.Conv1d(bottleneck, channels, kernel_size=1, padding=0), nn.Sigmoid())

    def forward(self, input):
        x = self.se(input)
        return input * x


class Bottle2neck(nn.Module):
    def __init__(self, inplanes, planes, kernel_size=None, dilation=None, scale=4):
        super(Bottle2neck, self).__init__()
        width = int(math.floor(planes / scale))
        self.conv1 = nn.Conv1d(inplanes, width * scale, kernel_size=1)
        self.bn1 = nn.BatchNorm1d(width * scale)
        self.nums = scale - 1
        convs, bns = [], []
        num_pad = math.floor(kernel_size / 2) * dilation
        for i in range(self.nums):
            convs.append(nn.Conv1d(width, width, kernel_size=kernel_size, dilation=dilation, padding=num_pad))
            bns.append(nn.BatchNorm1d(width))
        self.convs = nn.ModuleList(convs)
        self.bns = nn.ModuleList(bns)
        self.conv3 = nn.Conv1d(width * scale, planes, kernel_size=1)
        self.bn3 = nn.BatchNorm1d(planes)
        self.relu = nn.ReLU()
        self.width = width
        self.se = SEModule(planes)

    def forward(self, x):
        residual = x
        out = self.conv1(x)
        out = self.relu(out)
        out = self.bn1(out)
        spx = torch.split(out, self.width, 1)
        for i in range(self.nums):
            if i == 0:
                sp = spx[i]
            else:
                sp = sp + spx[i]
            sp = self.convs[i](sp)
            sp = self.relu(sp)
            sp = self.bns[i](sp)
            if i == 0:
                out = sp
            else:
                out = torch.cat((out, sp), 1)
        out = torch.cat((out, spx[self.nums]), 1)
        out = self.conv3(out)
        out = self.relu(out)
        out = self.bn3(out)
        out = self.se(out)
        out += residual
        return out


class ECAPA_TDNN(nn.Module):
    def __init__(self, C=8, n_mels=8, emb=6):
        super(ECAPA_TDNN, self).__init__()
        self.preemphasis = PreEmphasis()
        self.register_buffer("window", torch.hamming_window(24))
        self.register_buffer("fb", melscale_fbanks(17, 20.0, 380.0, n_mels, 800))
        self.conv1 = nn.Conv1d(n_mels, C, kernel_size=5, stride=1, padding=2)
        self.relu = nn.ReLU()
        self.bn1 = nn.BatchNorm1d(C)
        self.layer1 = Bottle2neck(C, C, kernel_size=3, dilation=2, scale=4)
        self.layer2 = Bottle2neck(C, C, kernel_size=3, dilation=3, scale=4)
        self.layer4 = nn.Conv1d(2 * C, 12, kernel_size=1)
        self.attention = nn.Sequential(nn.Conv1d(36, 4, kernel_size=1), nn.ReLU(), nn.BatchNorm1d(4), nn.Tanh(),
                                       nn.Conv1d(4, 12, kernel_size=1), nn.Softmax(dim=2))
        self.bn5 = nn.BatchNorm1d(24)
        self.fc6 = nn.Linear(24, emb)  # (no bn6: behind it bn5's bias would get a zero gradient, Adam's noise)

    def forward(self, x, aug):
        with torch.no_grad():
            x = self.preemphasis(x)
            x = spectrogram(x, 0, self.window, 32, 8, 24, 2.0, False)
            x = torch.matmul(self.fb.T, x) + 1e-6
            x = x.log()
            x = x - torch.mean(x, dim=-1, keepdim=True)
            if aug == True:
                x = mask_along_axis_iid(x.unsqueeze(1), 2, 0.0, 3).squeeze(1)
        x = self.conv1(x)
        x = self.relu(x)
        x = self.bn1(x)
        x1 = self.layer1(x)
        x2 = self.layer2(x + x1)
        x = self.layer4(torch.cat((x1, x2), dim=1))
        x = self.relu(x)
        t = x.size()[-1]
        global_x = torch.cat((x, torch.mean(x, dim=2, keepdim=True).repeat(1, 1, t),
                              torch.sqrt(torch.var(x, dim=2, keepdim=True).clamp(min=1e-4)).repeat(1, 1, t)), dim=1)
        w = self.attention(global_x)
        mu = torch.sum(x * w, dim=2)
        sg = torch.sqrt((torch.sum((x ** 2) * w, dim=2) - mu ** 2).clamp(min=1e-4))
        x = torch.cat((mu, sg), 1)
        x = self.bn5(x)
        return self.fc6(x)


class AAMsoftmax(nn.Module):
    def __init__(self, n_class, m, s, emb=6):
        super(AAMsoftmax, self).__init__()
        self.m = m
        self.s = s
        self.weight = torch.nn.Parameter(torch.FloatTensor(n_class, emb).to(torch.float64), requires_grad=True)
        self.ce = nn.CrossEntropyLoss()
        nn.init.xavier_normal_(self.weight, gain=1)
        self.cos_m = math.cos(self.m)
        self.sin_m = math.sin(self.m)
        self.th = math.cos(math.pi - self.m)
        self.mm = math.sin(math.pi - self.m) * self.m

    def forward(self, x, label=None):
        cosine = F.linear(F.normalize(x), F.normalize(self.weight))
        sine = torch.sqrt((1.0 - torch.mul(cosine, cosine)).clamp(0, 1))
        phi = cosine * self.cos_m - sine * self.sin_m
        phi = torch.where((cosine - self.th) > 0, phi, cosine - self.mm)
        one_hot = torch.zeros_like(cosine)
        one_hot.scatter_(1, label.view(-1, 1), 1)
        output = (one_hot * phi) + ((1.0 - one_hot) * cosine)
        output = output * self.s
        loss = self.ce(output, label)
        prec1 = (output.detach().argmax(dim=1) == label).float().mean() * 100
        return loss, prec1


class ECAPAModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.speaker_encoder = ECAPA_TDNN()
        self.speaker_loss = AAMsoftmax(n_class=3, m=0.2, s=30)


def build():
    return ECAPAModel()


def data(rng):
    t = torch.arange(120) / 800.0
    f0 = torch.tensor([110.0, 170.0, 250.0])
    labels = torch.tensor(rng.integers(0, 3, size=(3, 4)))
    waves = torch.sin(2 * math.pi * f0[labels][..., None] * t) + 0.2 * torch.tensor(rng.normal(size=(3, 4, 120)))
    return waves, labels


def train(model, data):
    waves, labels = data
    optim = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=2e-5)
    scheduler = torch.optim.lr_scheduler.StepLR(optim, step_size=1, gamma=0.97)
    out = []
    model.train()
    for data, label in zip(waves, labels):
        model.zero_grad()
        speaker_embedding = model.speaker_encoder.forward(data, aug=True)
        nloss, prec = model.speaker_loss.forward(speaker_embedding, label)
        nloss.backward()
        optim.step()
        scheduler.step()
        out.append([nloss.item(), prec.item(), optim.param_groups[0]["lr"]])
    model.eval()
    with torch.no_grad():
        emb = F.normalize(model.speaker_encoder.forward(waves[0], aug=False), p=2, dim=1)
    score = torch.matmul(emb, emb.T)
    return out, score
'''

# DCCRN's convolutional STFT (Conv1d with a Fourier kernel from NumPy, reflect padding),
# magnitude and phase by atan2, complex masking by a Python complex scalar and torch.exp,
# the inverse by conv_transpose1d with the window's overlap-add (an eye kernel) divided out
PROGRAMS["convstft"] = '''
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def init_kernels(win_len, win_inc, fft_len, win_type=None, invers=False):
    window = np.hanning(win_len + 1)[:-1] if win_type == 'hanning' else np.ones(win_len)
    N = fft_len
    fourier_basis = np.fft.rfft(np.eye(N))[:win_len]
    real_kernel = np.real(fourier_basis)
    imag_kernel = np.imag(fourier_basis)
    kernel = np.concatenate([real_kernel, imag_kernel], 1).T
    if invers:
        kernel = np.linalg.pinv(kernel).T
    kernel = kernel * window
    kernel = kernel[:, None, :]
    return torch.from_numpy(kernel.astype(np.float64)), torch.from_numpy(window[None, :, None].astype(np.float64))


class ConvSTFT(nn.Module):
    def __init__(self, win_len, win_inc, fft_len=None, win_type='hanning', feature_type='real'):
        super(ConvSTFT, self).__init__()
        self.fft_len = fft_len
        kernel, _ = init_kernels(win_len, win_inc, self.fft_len, win_type)
        self.register_buffer('weight', kernel)
        self.feature_type = feature_type
        self.stride = win_inc
        self.win_len = win_len
        self.dim = self.fft_len

    def forward(self, inputs):
        if inputs.dim() == 2:
            inputs = torch.unsqueeze(inputs, 1)
        inputs = F.pad(inputs, [self.win_len - self.stride, self.win_len - self.stride])
        outputs = F.conv1d(inputs, self.weight, stride=self.stride)
        if self.feature_type == 'complex':
            return outputs
        dim = self.dim // 2 + 1
        real = outputs[:, :dim, :]
        imag = outputs[:, dim:, :]
        mags = torch.sqrt(real ** 2 + imag ** 2 + 1e-12)
        phase = torch.atan2(imag, real)
        return mags, phase


class ConviSTFT(nn.Module):
    def __init__(self, win_len, win_inc, fft_len=None, win_type='hanning', feature_type='real'):
        super(ConviSTFT, self).__init__()
        self.fft_len = fft_len
        kernel, window = init_kernels(win_len, win_inc, self.fft_len, win_type, invers=True)
        self.register_buffer('weight', kernel)
        self.feature_type = feature_type
        self.win_type = win_type
        self.win_len = win_len
        self.stride = win_inc
        self.dim = self.fft_len
        self.register_buffer('window', window)
        self.register_buffer('enframe', torch.eye(win_len)[:, None, :])

    def forward(self, inputs, phase=None):
        if phase is not None:
            real = inputs * torch.cos(phase)
            imag = inputs * torch.sin(phase)
            inputs = torch.cat([real, imag], 1)
        outputs = F.conv_transpose1d(inputs, self.weight, stride=self.stride)
        t = self.window.repeat(1, 1, inputs.size(-1)) ** 2
        coff = F.conv_transpose1d(t, self.enframe, stride=self.stride)
        outputs = outputs / (coff + 1e-8)
        return outputs[..., self.win_len - self.stride:-(self.win_len - self.stride)]


class MaskNet(nn.Module):
    def __init__(self, win_len=8, win_inc=4, fft_len=8):
        super().__init__()
        self.stft = ConvSTFT(win_len, win_inc, fft_len, 'hanning', 'real')
        self.istft = ConviSTFT(win_len, win_inc, fft_len, 'hanning', 'complex')
        self.mask = nn.Conv1d(2 * (fft_len // 2 + 1), 2 * (fft_len // 2 + 1), 3, padding=1)

    def forward(self, noisy):
        mags, phase = self.stft(noisy)
        spec = torch.polar(mags, phase)
        m = self.mask(torch.cat([mags, phase], 1))
        mask_mag, mask_phase = torch.chunk(m, 2, 1)
        est = spec * torch.tanh(mask_mag) * torch.exp(1j * mask_phase)
        wav = self.istft(torch.cat([est.real, est.imag], 1)).squeeze(1)
        return torch.clamp_(wav, -1, 1), torch.view_as_real(est)


def build():
    return MaskNet()


def data(rng):
    clean = torch.tensor(rng.normal(size=(3, 2, 32))).cumsum(-1) * 0.05
    return clean, clean + 0.1 * torch.tensor(rng.normal(size=(3, 2, 32)))


def train(model, data):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for c, n in zip(*data):
        est, spec = model(n)
        loss = F.mse_loss(est, c) + 1e-3 * spec.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append([loss.item(), spec])
    return out
'''


# Informer (zhouhaoyi/Informer2020, trimmed, full attention): token embedding by a circular
# Conv1d with kaiming init, fixed sinusoidal positional and temporal embeddings (their
# ``w.require_grad = False`` attribute as written), the triangular causal mask filled with
# -np.inf, distilling ConvLayers (BatchNorm1d, ELU, MaxPool1d with padding), a decoder with
# masked self-attention and cross-attention over a start token plus zero placeholders
PROGRAMS["informer"] = '''
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class TriangularCausalMask():
    def __init__(self, B, L, device="cpu"):
        mask_shape = [B, 1, L, L]
        with torch.no_grad():
            self._mask = torch.triu(torch.ones(mask_shape, dtype=torch.bool), diagonal=1).to(device)

    @property
    def mask(self):
        return self._mask


class FullAttention(nn.Module):
    def __init__(self, mask_flag=True, scale=None, attention_dropout=0.0, output_attention=False):
        super(FullAttention, self).__init__()
        self.scale = scale
        self.mask_flag = mask_flag
        self.output_attention = output_attention
        self.dropout = nn.Dropout(attention_dropout)

    def forward(self, queries, keys, values, attn_mask):
        B, L, H, E = queries.shape
        _, S, _, D = values.shape
        scale = self.scale or 1. / math.sqrt(E)
        scores = torch.einsum("blhe,bshe->bhls", queries, keys)
        if self.mask_flag:
            if attn_mask is None:
                attn_mask = TriangularCausalMask(B, L, device=queries.device)
            scores.masked_fill_(attn_mask.mask, -np.inf)
        A = self.dropout(torch.softmax(scale * scores, dim=-1))
        V = torch.einsum("bhls,bshd->blhd", A, values)
        if self.output_attention:
            return (V.contiguous(), A)
        return (V.contiguous(), None)


class AttentionLayer(nn.Module):
    def __init__(self, attention, d_model, n_heads, mix=False):
        super(AttentionLayer, self).__init__()
        d_keys = d_model // n_heads
        d_values = d_model // n_heads
        self.inner_attention = attention
        self.query_projection = nn.Linear(d_model, d_keys * n_heads)
        self.key_projection = nn.Linear(d_model, d_keys * n_heads)
        self.value_projection = nn.Linear(d_model, d_values * n_heads)
        self.out_projection = nn.Linear(d_values * n_heads, d_model)
        self.n_heads = n_heads
        self.mix = mix

    def forward(self, queries, keys, values, attn_mask):
        B, L, _ = queries.shape
        _, S, _ = keys.shape
        H = self.n_heads
        queries = self.query_projection(queries).view(B, L, H, -1)
        keys = self.key_projection(keys).view(B, S, H, -1)
        values = self.value_projection(values).view(B, S, H, -1)
        out, attn = self.inner_attention(queries, keys, values, attn_mask)
        if self.mix:
            out = out.transpose(2, 1).contiguous()
        out = out.view(B, L, -1)
        return self.out_projection(out), attn


class PositionalEmbedding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super(PositionalEmbedding, self).__init__()
        pe = torch.zeros(max_len, d_model).float()
        pe.require_grad = False
        position = torch.arange(0, max_len).float().unsqueeze(1)
        div_term = (torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        pe = pe.unsqueeze(0).to(torch.get_default_dtype())
        self.register_buffer('pe', pe)

    def forward(self, x):
        return self.pe[:, :x.size(1)]


class TokenEmbedding(nn.Module):
    def __init__(self, c_in, d_model):
        super(TokenEmbedding, self).__init__()
        padding = 1 if torch.__version__ >= '1.5.0' else 2
        self.tokenConv = nn.Conv1d(in_channels=c_in, out_channels=d_model, kernel_size=3, padding=padding,
                                   padding_mode='circular')
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode='fan_in', nonlinearity='leaky_relu')

    def forward(self, x):
        return self.tokenConv(x.permute(0, 2, 1)).transpose(1, 2)


class FixedEmbedding(nn.Module):
    def __init__(self, c_in, d_model):
        super(FixedEmbedding, self).__init__()
        w = torch.zeros(c_in, d_model).float()
        w.require_grad = False
        position = torch.arange(0, c_in).float().unsqueeze(1)
        div_term = (torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()
        w[:, 0::2] = torch.sin(position * div_term)
        w[:, 1::2] = torch.cos(position * div_term)
        self.emb = nn.Embedding(c_in, d_model)
        self.emb.weight = nn.Parameter(w.to(torch.get_default_dtype()), requires_grad=False)

    def forward(self, x):
        return self.emb(x).detach()


class TemporalEmbedding(nn.Module):
    def __init__(self, d_model):
        super(TemporalEmbedding, self).__init__()
        self.hour_embed = FixedEmbedding(24, d_model)
        self.weekday_embed = FixedEmbedding(7, d_model)
        self.day_embed = FixedEmbedding(32, d_model)
        self.month_embed = FixedEmbedding(13, d_model)

    def forward(self, x):
        x = x.long()
        hour_x = self.hour_embed(x[:, :, 3])
        weekday_x = self.weekday_embed(x[:, :, 2])
        day_x = self.day_embed(x[:, :, 1])
        month_x = self.month_embed(x[:, :, 0])
        return hour_x + weekday_x + day_x + month_x


class DataEmbedding(nn.Module):
    def __init__(self, c_in, d_model, dropout=0.0):
        super(DataEmbedding, self).__init__()
        self.value_embedding = TokenEmbedding(c_in=c_in, d_model=d_model)
        self.position_embedding = PositionalEmbedding(d_model=d_model)
        self.temporal_embedding = TemporalEmbedding(d_model=d_model)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x, x_mark):
        x = self.value_embedding(x) + self.position_embedding(x) + self.temporal_embedding(x_mark)
        return self.dropout(x)


class ConvLayer(nn.Module):
    def __init__(self, c_in):
        super(ConvLayer, self).__init__()
        self.downConv = nn.Conv1d(in_channels=c_in, out_channels=c_in, kernel_size=3, padding=1,
                                  padding_mode='circular')
        self.norm = nn.BatchNorm1d(c_in)
        self.activation = nn.ELU()
        self.maxPool = nn.MaxPool1d(kernel_size=3, stride=2, padding=1)

    def forward(self, x):
        x = self.downConv(x.permute(0, 2, 1))
        x = self.norm(x)
        x = self.activation(x)
        x = self.maxPool(x)
        return x.transpose(1, 2)


class EncoderLayer(nn.Module):
    def __init__(self, attention, d_model, d_ff=None, dropout=0.0, activation="relu"):
        super(EncoderLayer, self).__init__()
        d_ff = d_ff or 4 * d_model
        self.attention = attention
        self.conv1 = nn.Conv1d(in_channels=d_model, out_channels=d_ff, kernel_size=1)
        self.conv2 = nn.Conv1d(in_channels=d_ff, out_channels=d_model, kernel_size=1)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = F.relu if activation == "relu" else F.gelu

    def forward(self, x, attn_mask=None):
        new_x, attn = self.attention(x, x, x, attn_mask=attn_mask)
        x = x + self.dropout(new_x)
        y = x = self.norm1(x)
        y = self.dropout(self.activation(self.conv1(y.transpose(-1, 1))))
        y = self.dropout(self.conv2(y).transpose(-1, 1))
        return self.norm2(x + y), attn


class DecoderLayer(nn.Module):
    def __init__(self, self_attention, cross_attention, d_model, d_ff=None, dropout=0.0, activation="gelu"):
        super(DecoderLayer, self).__init__()
        d_ff = d_ff or 4 * d_model
        self.self_attention = self_attention
        self.cross_attention = cross_attention
        self.conv1 = nn.Conv1d(in_channels=d_model, out_channels=d_ff, kernel_size=1)
        self.conv2 = nn.Conv1d(in_channels=d_ff, out_channels=d_model, kernel_size=1)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = F.relu if activation == "relu" else F.gelu

    def forward(self, x, cross, x_mask=None, cross_mask=None):
        x = x + self.dropout(self.self_attention(x, x, x, attn_mask=x_mask)[0])
        x = self.norm1(x)
        x = x + self.dropout(self.cross_attention(x, cross, cross, attn_mask=cross_mask)[0])
        y = x = self.norm2(x)
        y = self.dropout(self.activation(self.conv1(y.transpose(-1, 1))))
        y = self.dropout(self.conv2(y).transpose(-1, 1))
        return self.norm3(x + y)


class Informer(nn.Module):
    def __init__(self, enc_in=2, dec_in=2, c_out=2, out_len=3, d_model=8, n_heads=2, d_ff=12):
        super(Informer, self).__init__()
        self.pred_len = out_len
        self.enc_embedding = DataEmbedding(enc_in, d_model)
        self.dec_embedding = DataEmbedding(dec_in, d_model)
        self.attn_layers = nn.ModuleList([
            EncoderLayer(AttentionLayer(FullAttention(False), d_model, n_heads), d_model, d_ff) for _ in range(2)])
        self.conv_layers = nn.ModuleList([ConvLayer(d_model)])
        self.enc_norm = nn.LayerNorm(d_model)
        self.decoder = DecoderLayer(AttentionLayer(FullAttention(True), d_model, n_heads, mix=True),
                                    AttentionLayer(FullAttention(False), d_model, n_heads), d_model, d_ff)
        self.dec_norm = nn.LayerNorm(d_model)
        self.projection = nn.Linear(d_model, c_out, bias=True)

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        x = self.enc_embedding(x_enc, x_mark_enc)
        for attn_layer, conv_layer in zip(self.attn_layers, self.conv_layers):
            x, attn = attn_layer(x)
            x = conv_layer(x)
        x, attn = self.attn_layers[-1](x)
        enc_out = self.enc_norm(x)
        dec_out = self.dec_embedding(x_dec, x_mark_dec)
        dec_out = self.dec_norm(self.decoder(dec_out, enc_out))
        dec_out = self.projection(dec_out)
        return dec_out[:, -self.pred_len:, :]


def build():
    return Informer()


def data(rng):
    t = np.arange(14)
    series = np.sin(t[:, None] * 0.5 + rng.uniform(0, 3, size=(3, 2, 1, 2))) + 0.1 * rng.normal(size=(3, 2, 14, 2))
    marks = np.stack([(t // 24) % 12 + 1, (t // 8) % 28 + 1, (t // 4) % 7, t % 24], -1)
    return torch.tensor(series), torch.tensor(np.broadcast_to(marks, (2, 14, 4)).copy()).double()


def train(model, data):
    series, marks = data
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.MSELoss()
    out = []
    label_len, pred_len = 3, 3
    for batch_x in series:
        batch_y = batch_x[:, 8:]
        dec_inp = torch.zeros([batch_y.shape[0], pred_len, batch_y.shape[-1]]).double()
        dec_inp = torch.cat([batch_y[:, :label_len, :], dec_inp], dim=1).double()
        pred = model(batch_x[:, :8], marks[:, :8], dec_inp, marks[:, 8:])
        loss = criterion(pred, batch_y[:, -pred_len:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append([loss.item(), pred])
    return out
'''


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_audio_program_gives_pytorchs_values(name):
    _compare_with_pytorch(PROGRAMS[name])
