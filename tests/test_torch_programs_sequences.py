"""Sequence programs written by PyTorch users, trimmed (tiny vocabularies and layers, a few
steps): pytorch/examples word_language_model's generate.py, the "NLP From Scratch"
tutorials (names classified by a character RNN, seq2seq translation with Bahdanau
attention and teacher forcing), packed variable-length batches through recurrent layers,
and encoder-decoder Transformers with their masks. Each runs twice, as written with
PyTorch and with ``import torch`` read as ``import chainrule as torch``, from PyTorch's
initial weights and random draws, and must give PyTorch's outputs, losses, gradients and
final weights in float64 to ~1e-10."""

import pytest
from tests.test_torch_programs_gpt import compare_with_pytorch

pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


PROGRAMS: dict[str, str] = {}

# pytorch/examples word_language_model: model.py (RNNModel, TransformerModel with its
# log-of-tril mask) trained for a few steps as main.py does, then generate.py's sampling
# with the temperature (the Transformer re-reads the growing prompt, the RNN carries hidden)
_WORD_LM_GENERATE = '''
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
            nonlinearity = {'RNN_TANH': 'tanh', 'RNN_RELU': 'relu'}[rnn_type]
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
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
        return torch.log(torch.tril(torch.ones(sz, sz)))

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


NTOKENS, BPTT, BATCH = 11, 5, 3
IDX2WORD = [f"w{i}" for i in range(NTOKENS)]


def build():
    if MODEL == 'Transformer':
        return TransformerModel(NTOKENS, 8, 2, 16, 2, 0.0)
    return RNNModel(MODEL, NTOKENS, 8, 8, 2, 0.0, TIED)


def data(rng):
    data = torch.tensor(rng.integers(0, NTOKENS, size=31))
    nbatch = data.size(0) // BATCH
    data = data.narrow(0, 0, nbatch * BATCH)
    return data.view(BATCH, -1).t().contiguous()


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    else:
        return tuple(repackage_hidden(v) for v in h)


def train(model, train_data):
    criterion = nn.NLLLoss()
    losses, grads = [], []
    lr = 2.0
    model.train()
    is_transformer_model = hasattr(model, 'model_type') and model.model_type == 'Transformer'
    if not is_transformer_model:
        hidden = model.init_hidden(BATCH)
    for batch, i in enumerate(range(0, train_data.size(0) - 1, BPTT)):
        seq_len = min(BPTT, len(train_data) - 1 - i)
        data, targets = train_data[i:i+seq_len], train_data[i+1:i+1+seq_len].view(-1)
        model.zero_grad()
        if is_transformer_model:
            output = model(data)
            output = output.view(-1, NTOKENS)
        else:
            hidden = repackage_hidden(hidden)
            output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        grads.append([p.grad.clone() for p in model.parameters()])
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        losses.append(loss.item())

    # generate.py
    model.eval()
    words, weights = [], []
    if not is_transformer_model:
        hidden = model.init_hidden(1)
    input = torch.randint(NTOKENS, (1, 1), dtype=torch.long).to('cpu')
    with torch.no_grad():
        for i in range(6):
            if is_transformer_model:
                output = model(input, False)
                word_weights = output[-1].squeeze().div(0.7).exp().cpu()
                word_idx = torch.multinomial(word_weights, 1)[0]
                word_tensor = torch.Tensor([[word_idx]]).long().to('cpu')
                input = torch.cat([input, word_tensor], 0)
            else:
                output, hidden = model(input, hidden)
                word_weights = output.squeeze().div(0.7).exp().cpu()
                word_idx = torch.multinomial(word_weights, 1)[0]
                input.fill_(word_idx)
            weights.append(word_weights)
            words.append(IDX2WORD[word_idx])
    return losses, grads, weights, words, input
'''
for _kind, _tied in (("LSTM", False), ("GRU", True), ("RNN_TANH", False), ("RNN_RELU", False),
                     ("Transformer", False)):
    PROGRAMS[f"word_language_model_generate_{_kind}{'_tied' if _tied else ''}"] = (
        f"MODEL, TIED = {_kind!r}, {_tied}\n" + _WORD_LM_GENERATE)


# "NLP From Scratch: Classifying Names with a Character-Level RNN": unicodeToAscii,
# lineToTensor's one-hot letters, CharRNN (nn.RNN, its last hidden state through
# LogSoftmax), the minibatches of summed losses with clip_grad_norm_ and SGD, topk labels,
# and the confusion matrix normalised row by row
PROGRAMS["char_rnn_classification"] = """
import random
import string
import unicodedata

import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)

allowed_characters = string.ascii_letters + " .,;'" + "_"
n_letters = len(allowed_characters)


def unicodeToAscii(s):
    return ''.join(
        c for c in unicodedata.normalize('NFD', s)
        if unicodedata.category(c) != 'Mn'
        and c in allowed_characters
    )


def letterToIndex(letter):
    if letter not in allowed_characters:
        return allowed_characters.find("_")
    else:
        return allowed_characters.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


class NamesDataset(torch.utils.data.Dataset):
    def __init__(self, pairs):
        self.data, self.data_tensors, self.labels, self.labels_tensors = [], [], [], []
        labels_set = set()
        for label, name in pairs:
            self.data.append(unicodeToAscii(name))
            self.data_tensors.append(lineToTensor(unicodeToAscii(name)))
            self.labels.append(label)
            labels_set.add(label)
        self.labels_uniq = sorted(labels_set)
        for idx in range(len(self.labels)):
            temp_tensor = torch.tensor([self.labels_uniq.index(self.labels[idx])], dtype=torch.long)
            self.labels_tensors.append(temp_tensor)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        return self.labels_tensors[idx], self.data_tensors[idx], self.labels[idx], self.data[idx]


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(CharRNN, self).__init__()
        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)
        return output


def label_from_output(output, output_labels):
    top_n, top_i = output.topk(1)
    label_i = top_i[0].item()
    return output_labels[label_i], label_i


def build():
    return CharRNN(n_letters, 12, 3)


def data(rng):
    names = {"Czech": ["Novák", "Dvořák", "Černý"], "Irish": ["O'Brien", "Kelly", "Ó Súilleabháin"],
             "Japanese": ["Abe", "Satō", "Kōno", "Yamada"]}
    return NamesDataset([(label, name) for label in names for name in names[label]])


def train(rnn, training_data, n_epoch=3, n_batch_size=3, learning_rate=0.2, criterion=nn.NLLLoss()):
    random.seed(0)
    current_loss = 0
    all_losses, grads = [], []
    rnn.train()
    optimizer = torch.optim.SGD(rnn.parameters(), lr=learning_rate)
    for iter in range(1, n_epoch + 1):
        rnn.zero_grad()
        batches = list(range(len(training_data)))
        random.shuffle(batches)
        batches = np.array_split(batches, len(batches) // n_batch_size)
        for idx, batch in enumerate(batches):
            batch_loss = 0
            for i in batch:
                (label_tensor, text_tensor, label, text) = training_data[i]
                output = rnn.forward(text_tensor)
                loss = criterion(output, label_tensor)
                batch_loss += loss
            batch_loss.backward()
            nn.utils.clip_grad_norm_(rnn.parameters(), 3)
            grads.append([p.grad.clone() for p in rnn.parameters()])
            optimizer.step()
            optimizer.zero_grad()
            current_loss += batch_loss.item() / len(batch)
        all_losses.append(current_loss / len(batches))
        current_loss = 0

    classes = training_data.labels_uniq
    confusion = torch.zeros(len(classes), len(classes))
    rnn.eval()
    guesses = []
    with torch.no_grad():
        for i in range(len(training_data)):
            (label_tensor, text_tensor, label, text) = training_data[i]
            output = rnn(text_tensor)
            guess, guess_i = label_from_output(output, classes)
            guesses.append(guess)
            label_i = classes.index(label)
            confusion[label_i][guess_i] += 1
    for i in range(len(classes)):
        denom = confusion[i].sum()
        if denom > 0:
            confusion[i] = confusion[i] / denom
    return all_losses, grads, confusion, guesses, training_data.data
"""

# the same tutorial's first edition: the RNN written out (i2h and i2o on the concatenated
# input and hidden state), trained one name at a time with the manual update
# p.data.add_(p.grad.data, alpha=-learning_rate)
PROGRAMS["char_rnn_classification_handwritten"] = """
import string
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][all_letters.find(letter)] = 1
    return tensor


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        combined = torch.cat((input, hidden), 1)
        hidden = self.i2h(combined)
        output = self.i2o(combined)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


def build():
    return RNN(n_letters, 10, 2)


def data(rng):
    return [("Albert", 0), ("Nakamura", 1), ("Heinz", 0), ("Sato", 1)]


def categoryFromOutput(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return category_i


def train(rnn, pairs):
    criterion = nn.NLLLoss()
    learning_rate = 0.005
    losses, outputs = [], []
    for line, category in pairs * 2:
        category_tensor = torch.tensor([category], dtype=torch.long)
        line_tensor = lineToTensor(line)
        hidden = rnn.initHidden()
        rnn.zero_grad()
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        loss = criterion(output, category_tensor)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        losses.append(loss.item())
        outputs.append(output)
    with torch.no_grad():
        hidden = rnn.initHidden()
        line_tensor = lineToTensor("Heinz")
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        topv, topi = output.topk(2, 1, True)
    return losses, outputs, topv, topi, categoryFromOutput(output)
"""


# "NLP From Scratch: Translation with a Sequence to Sequence Network and Attention": Lang,
# the padded id arrays in a TensorDataset, EncoderRNN and AttnDecoderRNN (batch-first
# GRUs, BahdanauAttention with bmm, teacher forcing, greedy topk decoding), train_epoch
# with two Adam optimizers and NLLLoss, and evaluate()'s decoded words and attentions
PROGRAMS["seq2seq_translation"] = """
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.utils.data import TensorDataset, DataLoader, SequentialSampler

torch.set_default_dtype(torch.float64)
device = torch.device("cpu")
SOS_token, EOS_token, MAX_LENGTH = 0, 1, 5


class Lang:
    def __init__(self, name):
        self.name = name
        self.word2index = {}
        self.word2count = {}
        self.index2word = {0: "SOS", 1: "EOS"}
        self.n_words = 2

    def addSentence(self, sentence):
        for word in sentence.split(' '):
            self.addWord(word)

    def addWord(self, word):
        if word not in self.word2index:
            self.word2index[word] = self.n_words
            self.word2count[word] = 1
            self.index2word[self.n_words] = word
            self.n_words += 1
        else:
            self.word2count[word] += 1


PAIRS = [["je suis grand", "i am tall"], ["il est petit", "he is small"], ["je suis petit", "i am small"],
         ["elle est grande", "she is tall"]]
input_lang, output_lang = Lang("fra"), Lang("eng")
for pair in PAIRS:
    input_lang.addSentence(pair[0])
    output_lang.addSentence(pair[1])


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.1):
        super(EncoderRNN, self).__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input):
        embedded = self.dropout(self.embedding(input))
        output, hidden = self.gru(embedded)
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super(BahdanauAttention, self).__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1):
        super(AttnDecoderRNN, self).__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long, device=device).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs = []
        attentions = []
        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs
            )
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)
            if target_tensor is not None:
                decoder_input = target_tensor[:, i].unsqueeze(1)
            else:
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()
        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        attentions = torch.cat(attentions, dim=1)
        return decoder_outputs, decoder_hidden, attentions

    def forward_step(self, input, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(input))
        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs)
        input_gru = torch.cat((embedded, context), dim=2)
        output, hidden = self.gru(input_gru, hidden)
        output = self.out(output)
        return output, hidden, attn_weights


class Both(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = EncoderRNN(input_lang.n_words, 8, dropout_p=0.0)
        self.decoder = AttnDecoderRNN(8, output_lang.n_words, dropout_p=0.0)


def build():
    return Both()


def indexesFromSentence(lang, sentence):
    return [lang.word2index[word] for word in sentence.split(' ')]


def tensorFromSentence(lang, sentence):
    indexes = indexesFromSentence(lang, sentence)
    indexes.append(EOS_token)
    return torch.tensor(indexes, dtype=torch.long, device=device).view(1, -1)


def data(rng):
    n = len(PAIRS)
    input_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
    target_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
    for idx, (inp, tgt) in enumerate(PAIRS):
        inp_ids = indexesFromSentence(input_lang, inp)
        tgt_ids = indexesFromSentence(output_lang, tgt)
        inp_ids.append(EOS_token)
        tgt_ids.append(EOS_token)
        input_ids[idx, :len(inp_ids)] = inp_ids
        target_ids[idx, :len(tgt_ids)] = tgt_ids
    train_data = TensorDataset(torch.LongTensor(input_ids).to(device), torch.LongTensor(target_ids).to(device))
    train_sampler = SequentialSampler(train_data)
    return DataLoader(train_data, sampler=train_sampler, batch_size=2)


def train_epoch(dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion):
    total_loss = 0
    for data in dataloader:
        input_tensor, target_tensor = data
        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()
        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
        loss = criterion(
            decoder_outputs.view(-1, decoder_outputs.size(-1)),
            target_tensor.view(-1)
        )
        loss.backward()
        encoder_optimizer.step()
        decoder_optimizer.step()
        total_loss += loss.item()
    return total_loss / len(dataloader)


def evaluate(encoder, decoder, sentence, input_lang, output_lang):
    with torch.no_grad():
        input_tensor = tensorFromSentence(input_lang, sentence)
        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, decoder_hidden, decoder_attn = decoder(encoder_outputs, encoder_hidden)
        _, topi = decoder_outputs.topk(1)
        decoded_ids = topi.squeeze()
        decoded_words = []
        for idx in decoded_ids:
            if idx.item() == EOS_token:
                decoded_words.append('<EOS>')
                break
            decoded_words.append(output_lang.index2word[idx.item()])
    return decoded_words, decoder_attn


def train(both, train_dataloader, n_epochs=3, learning_rate=0.01):
    encoder, decoder = both.encoder, both.decoder
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=learning_rate)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=learning_rate)
    criterion = nn.NLLLoss()
    losses = []
    for epoch in range(1, n_epochs + 1):
        losses.append(train_epoch(train_dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer,
                                  criterion))
    encoder.eval()
    decoder.eval()
    results = [evaluate(encoder, decoder, pair[0], input_lang, output_lang) for pair in PAIRS[:2]]
    return losses, [' '.join(words) for words, _ in results], [attn for _, attn in results]
"""

# the tutorial's first edition: one sentence at a time, EncoderRNN's initHidden, the
# decoder's attention over MAX_LENGTH slots (encoder_outputs filled in place), teacher
# forcing decided by random.random(), the loss summed step by step, an early stop at EOS
PROGRAMS["seq2seq_translation_first_edition"] = """
import random
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim

torch.set_default_dtype(torch.float64)
device = torch.device("cpu")
SOS_token, EOS_token, MAX_LENGTH = 0, 1, 6
teacher_forcing_ratio = 0.5


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size):
        super(EncoderRNN, self).__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size)

    def forward(self, input, hidden):
        embedded = self.embedding(input).view(1, 1, -1)
        output = embedded
        output, hidden = self.gru(output, hidden)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, 1, self.hidden_size, device=device)


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1, max_length=MAX_LENGTH):
        super(AttnDecoderRNN, self).__init__()
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.dropout_p = dropout_p
        self.max_length = max_length
        self.embedding = nn.Embedding(self.output_size, self.hidden_size)
        self.attn = nn.Linear(self.hidden_size * 2, self.max_length)
        self.attn_combine = nn.Linear(self.hidden_size * 2, self.hidden_size)
        self.dropout = nn.Dropout(self.dropout_p)
        self.gru = nn.GRU(self.hidden_size, self.hidden_size)
        self.out = nn.Linear(self.hidden_size, self.output_size)

    def forward(self, input, hidden, encoder_outputs):
        embedded = self.embedding(input).view(1, 1, -1)
        embedded = self.dropout(embedded)
        attn_weights = F.softmax(self.attn(torch.cat((embedded[0], hidden[0]), 1)), dim=1)
        attn_applied = torch.bmm(attn_weights.unsqueeze(0), encoder_outputs.unsqueeze(0))
        output = torch.cat((embedded[0], attn_applied[0]), 1)
        output = self.attn_combine(output).unsqueeze(0)
        output = F.relu(output)
        output, hidden = self.gru(output, hidden)
        output = F.log_softmax(self.out(output[0]), dim=1)
        return output, hidden, attn_weights

    def initHidden(self):
        return torch.zeros(1, 1, self.hidden_size, device=device)


class Both(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = EncoderRNN(7, 6)
        self.decoder = AttnDecoderRNN(6, 8, dropout_p=0.0)


def build():
    return Both()


def data(rng):
    return [(torch.tensor([[2], [3], [4], [EOS_token]]), torch.tensor([[5], [2], [EOS_token]])),
            (torch.tensor([[6], [5], [EOS_token]]), torch.tensor([[3], [7], [6], [4], [EOS_token]]))]


def train_one(input_tensor, target_tensor, encoder, decoder, encoder_optimizer, decoder_optimizer, criterion,
              max_length=MAX_LENGTH):
    encoder_hidden = encoder.initHidden()
    encoder_optimizer.zero_grad()
    decoder_optimizer.zero_grad()
    input_length = input_tensor.size(0)
    target_length = target_tensor.size(0)
    encoder_outputs = torch.zeros(max_length, encoder.hidden_size, device=device)
    loss = 0
    for ei in range(input_length):
        encoder_output, encoder_hidden = encoder(input_tensor[ei], encoder_hidden)
        encoder_outputs[ei] = encoder_output[0, 0]
    decoder_input = torch.tensor([[SOS_token]], device=device)
    decoder_hidden = encoder_hidden
    use_teacher_forcing = True if random.random() < teacher_forcing_ratio else False
    if use_teacher_forcing:
        for di in range(target_length):
            decoder_output, decoder_hidden, decoder_attention = decoder(
                decoder_input, decoder_hidden, encoder_outputs)
            loss += criterion(decoder_output, target_tensor[di])
            decoder_input = target_tensor[di]
    else:
        for di in range(target_length):
            decoder_output, decoder_hidden, decoder_attention = decoder(
                decoder_input, decoder_hidden, encoder_outputs)
            topv, topi = decoder_output.topk(1)
            decoder_input = topi.squeeze().detach()
            loss += criterion(decoder_output, target_tensor[di])
            if decoder_input.item() == EOS_token:
                break
    loss.backward()
    encoder_optimizer.step()
    decoder_optimizer.step()
    return loss.item() / target_length


def train(both, pairs):
    random.seed(3)
    encoder, decoder = both.encoder, both.decoder
    encoder_optimizer = optim.SGD(encoder.parameters(), lr=0.05)
    decoder_optimizer = optim.SGD(decoder.parameters(), lr=0.05)
    criterion = nn.NLLLoss()
    losses = []
    for it in range(6):
        input_tensor, target_tensor = pairs[it % len(pairs)]
        losses.append(train_one(input_tensor, target_tensor, encoder, decoder, encoder_optimizer,
                                decoder_optimizer, criterion))
    with torch.no_grad():
        input_tensor = pairs[0][0]
        encoder_hidden = encoder.initHidden()
        encoder_outputs = torch.zeros(MAX_LENGTH, encoder.hidden_size, device=device)
        for ei in range(input_tensor.size()[0]):
            encoder_output, encoder_hidden = encoder(input_tensor[ei], encoder_hidden)
            encoder_outputs[ei] += encoder_output[0, 0]
        decoder_input = torch.tensor([[SOS_token]], device=device)
        decoder_hidden = encoder_hidden
        decoded_words = []
        decoder_attentions = torch.zeros(MAX_LENGTH, MAX_LENGTH)
        for di in range(MAX_LENGTH):
            decoder_output, decoder_hidden, decoder_attention = decoder(
                decoder_input, decoder_hidden, encoder_outputs)
            decoder_attentions[di] = decoder_attention.data
            topv, topi = decoder_output.data.topk(1)
            if topi.item() == EOS_token:
                decoded_words.append('<EOS>')
                break
            else:
                decoded_words.append(str(topi.item()))
            decoder_input = topi.squeeze().detach()
    return losses, decoded_words, decoder_attentions[:di + 1]
"""


# "Language Translation with nn.Transformer": PositionalEncoding, TokenEmbedding,
# Seq2SeqTransformer (encode and decode through nn.Transformer's encoder and decoder),
# create_mask (a bool source mask, float target mask, bool padding masks), the collate_fn
# with pad_sequence, Adam with CrossEntropyLoss(ignore_index=PAD_IDX), evaluate() and
# greedy_decode with the float mask cast to bool
PROGRAMS["transformer_translation"] = """
import math
import torch
import torch.nn as nn
from torch import Tensor
from torch.nn import Transformer
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

torch.set_default_dtype(torch.float64)
DEVICE = torch.device('cpu')
UNK_IDX, PAD_IDX, BOS_IDX, EOS_IDX = 0, 1, 2, 3
SRC_VOCAB_SIZE, TGT_VOCAB_SIZE = 9, 10


class PositionalEncoding(nn.Module):
    def __init__(self, emb_size: int, dropout: float, maxlen: int = 5000):
        super(PositionalEncoding, self).__init__()
        den = torch.exp(- torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
        pos = torch.arange(0, maxlen).reshape(maxlen, 1)
        pos_embedding = torch.zeros((maxlen, emb_size))
        pos_embedding[:, 0::2] = torch.sin(pos * den)
        pos_embedding[:, 1::2] = torch.cos(pos * den)
        pos_embedding = pos_embedding.unsqueeze(-2)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer('pos_embedding', pos_embedding)

    def forward(self, token_embedding: Tensor):
        return self.dropout(token_embedding + self.pos_embedding[:token_embedding.size(0), :])


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size: int, emb_size):
        super(TokenEmbedding, self).__init__()
        self.embedding = nn.Embedding(vocab_size, emb_size)
        self.emb_size = emb_size

    def forward(self, tokens: Tensor):
        return self.embedding(tokens.long()) * math.sqrt(self.emb_size)


class Seq2SeqTransformer(nn.Module):
    def __init__(self, num_encoder_layers: int, num_decoder_layers: int, emb_size: int, nhead: int,
                 src_vocab_size: int, tgt_vocab_size: int, dim_feedforward: int = 512, dropout: float = 0.1):
        super(Seq2SeqTransformer, self).__init__()
        self.transformer = Transformer(d_model=emb_size, nhead=nhead, num_encoder_layers=num_encoder_layers,
                                       num_decoder_layers=num_decoder_layers, dim_feedforward=dim_feedforward,
                                       dropout=dropout)
        self.generator = nn.Linear(emb_size, tgt_vocab_size)
        self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
        self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
        self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

    def forward(self, src: Tensor, trg: Tensor, src_mask: Tensor, tgt_mask: Tensor, src_padding_mask: Tensor,
                tgt_padding_mask: Tensor, memory_key_padding_mask: Tensor):
        src_emb = self.positional_encoding(self.src_tok_emb(src))
        tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
        outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
        return self.generator(outs)

    def encode(self, src: Tensor, src_mask: Tensor):
        return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)), src_mask)

    def decode(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor):
        return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)), memory, tgt_mask)


def generate_square_subsequent_mask(sz):
    mask = (torch.triu(torch.ones((sz, sz), device=DEVICE)) == 1).transpose(0, 1)
    mask = mask.float().masked_fill(mask == 0, float('-inf')).masked_fill(mask == 1, float(0.0))
    return mask


def create_mask(src, tgt):
    src_seq_len = src.shape[0]
    tgt_seq_len = tgt.shape[0]
    tgt_mask = generate_square_subsequent_mask(tgt_seq_len)
    src_mask = torch.zeros((src_seq_len, src_seq_len), device=DEVICE).type(torch.bool)
    src_padding_mask = (src == PAD_IDX).transpose(0, 1)
    tgt_padding_mask = (tgt == PAD_IDX).transpose(0, 1)
    return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask


def build():
    transformer = Seq2SeqTransformer(2, 2, 8, 2, SRC_VOCAB_SIZE, TGT_VOCAB_SIZE, 16, dropout=0.0)
    for p in transformer.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    return transformer


def tensor_transform(token_ids):
    return torch.cat((torch.tensor([BOS_IDX]), torch.tensor(token_ids), torch.tensor([EOS_IDX])))


def collate_fn(batch):
    src_batch, tgt_batch = [], []
    for src_sample, tgt_sample in batch:
        src_batch.append(tensor_transform(src_sample))
        tgt_batch.append(tensor_transform(tgt_sample))
    src_batch = pad_sequence(src_batch, padding_value=PAD_IDX)
    tgt_batch = pad_sequence(tgt_batch, padding_value=PAD_IDX)
    return src_batch, tgt_batch


def data(rng):
    pairs = [([4, 5, 6], [4, 9]), ([7, 8], [5, 6, 7, 8]), ([5, 5, 4, 8], [6]), ([6], [9, 8, 7])]
    return DataLoader(pairs, batch_size=2, collate_fn=collate_fn)


def greedy_decode(model, src, src_mask, max_len, start_symbol):
    src = src.to(DEVICE)
    src_mask = src_mask.to(DEVICE)
    memory = model.encode(src, src_mask)
    ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long).to(DEVICE)
    for i in range(max_len-1):
        memory = memory.to(DEVICE)
        tgt_mask = (generate_square_subsequent_mask(ys.size(0)).type(torch.bool)).to(DEVICE)
        out = model.decode(ys, memory, tgt_mask)
        out = out.transpose(0, 1)
        prob = model.generator(out[:, -1])
        _, next_word = torch.max(prob, dim=1)
        next_word = next_word.item()
        ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
        if next_word == EOS_IDX:
            break
    return ys


def train(model, train_dataloader):
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD_IDX)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.98), eps=1e-9)
    train_losses, logits_seen = [], []
    for epoch in range(2):
        model.train()
        losses = 0
        for src, tgt in train_dataloader:
            tgt_input = tgt[:-1, :]
            src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
            logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                           src_padding_mask)
            optimizer.zero_grad()
            tgt_out = tgt[1:, :]
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
            loss.backward()
            optimizer.step()
            losses += loss.item()
            logits_seen.append(logits)
        train_losses.append(losses / len(list(train_dataloader)))
    model.eval()
    losses = 0
    for src, tgt in train_dataloader:
        tgt_input = tgt[:-1, :]
        src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
        logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, src_padding_mask)
        tgt_out = tgt[1:, :]
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        losses += loss.item()
    src = torch.tensor([BOS_IDX, 4, 5, 6, EOS_IDX]).view(-1, 1)
    num_tokens = src.shape[0]
    src_mask = (torch.zeros(num_tokens, num_tokens)).type(torch.bool)
    tgt_tokens = greedy_decode(model, src, src_mask, max_len=num_tokens + 5, start_symbol=BOS_IDX).flatten()
    return train_losses, logits_seen, losses, tgt_tokens
"""


# bentrevett/pytorch-sentiment-analysis "Upgraded Sentiment Analysis": packed padded
# sequences (lengths sorted by the iterator) through a 2-layer bidirectional LSTM with
# dropout between the layers, the final hidden states of both directions concatenated,
# pretrained embeddings copied in with the <unk> and <pad> rows zeroed, BCEWithLogitsLoss
# and binary_accuracy; the forget gates' biases set to 1 through _all_weights (a common
# initialisation); evaluate() in eval mode (dropout off) before and after training, which
# runs with the dropout probabilities set to 0 (their masks are drawn differently)
PROGRAMS["packed_sentiment_lstm"] = """
import torch
import torch.nn as nn
import torch.optim as optim

torch.set_default_dtype(torch.float64)
UNK_IDX, PAD_IDX, VOCAB = 0, 1, 12


class RNN(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers, bidirectional, dropout, pad_idx):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
        self.rnn = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers, bidirectional=bidirectional,
                           dropout=dropout)
        self.fc = nn.Linear(hidden_dim * 2, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text, text_lengths):
        embedded = self.dropout(self.embedding(text))
        packed_embedded = nn.utils.rnn.pack_padded_sequence(embedded, text_lengths.to('cpu'))
        packed_output, (hidden, cell) = self.rnn(packed_embedded)
        output, output_lengths = nn.utils.rnn.pad_packed_sequence(packed_output)
        hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
        return self.fc(hidden)


def build():
    model = RNN(VOCAB, 6, 5, 1, 2, True, 0.5, PAD_IDX)
    for names in model.rnn._all_weights:
        for name in filter(lambda n: "bias" in n, names):
            bias = getattr(model.rnn, name)
            n = bias.size(0)
            start, end = n // 4, n // 2
            bias.data[start:end].fill_(1.)
    return model


def data(rng):
    pretrained = torch.tensor(rng.normal(size=(VOCAB, 6)))
    batches = []
    for lengths in ([5, 4, 2], [3, 3, 1, 1]):
        text = torch.full((max(lengths), len(lengths)), PAD_IDX, dtype=torch.long)
        for i, n in enumerate(lengths):
            text[:n, i] = torch.tensor(rng.integers(2, VOCAB, size=n))
        batches.append((text, torch.tensor(lengths), torch.tensor(rng.integers(0, 2, size=len(lengths)) * 1.0)))
    return pretrained, batches


def binary_accuracy(preds, y):
    rounded_preds = torch.round(torch.sigmoid(preds))
    correct = (rounded_preds == y).float()
    acc = correct.sum() / len(correct)
    return acc


def evaluate(model, iterator, criterion):
    epoch_loss, epoch_acc = 0, 0
    model.eval()
    with torch.no_grad():
        for text, text_lengths, label in iterator:
            predictions = model(text, text_lengths).squeeze(1)
            loss = criterion(predictions, label)
            acc = binary_accuracy(predictions, label)
            epoch_loss += loss.item()
            epoch_acc += acc.item()
    return epoch_loss / len(iterator), epoch_acc / len(iterator)


def train(model, data):
    pretrained_embeddings, iterator = data
    model.embedding.weight.data.copy_(pretrained_embeddings)
    model.embedding.weight.data[UNK_IDX] = torch.zeros(6)
    model.embedding.weight.data[PAD_IDX] = torch.zeros(6)
    optimizer = optim.Adam(model.parameters())
    criterion = nn.BCEWithLogitsLoss()
    results = [evaluate(model, iterator, criterion)]
    model.rnn.dropout = model.dropout.p = 0.0
    for epoch in range(2):
        model.train()
        for text, text_lengths, label in iterator:
            optimizer.zero_grad()
            predictions = model(text, text_lengths).squeeze(1)
            loss = criterion(predictions, label)
            loss.backward()
            results.append((loss, binary_accuracy(predictions, label), model.rnn.weight_hh_l1_reverse.grad.clone()))
            optimizer.step()
    results.append(evaluate(model, iterator, criterion))
    return results
"""

# bentrevett/pytorch-seq2seq "Packed Padded Sequences, Masking, Inference": a bidirectional
# GRU encoder over packed source sentences, additive attention with the padding masked by
# masked_fill(mask == 0, -1e10), a GRU decoder fed the attention-weighted encoder outputs,
# teacher forcing by random.random(), outputs written into a zeros tensor step by step,
# init_weights with normal_/constant_, clip_grad_norm_, and translate_sentence's attentions
PROGRAMS["packed_seq2seq_attention"] = """
import random
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.set_default_dtype(torch.float64)
device = torch.device('cpu')
SRC_PAD_IDX, TRG_PAD_IDX, SOS, EOS = 1, 1, 2, 3
INPUT_DIM, OUTPUT_DIM = 9, 10


class Encoder(nn.Module):
    def __init__(self, input_dim, emb_dim, enc_hid_dim, dec_hid_dim, dropout):
        super().__init__()
        self.embedding = nn.Embedding(input_dim, emb_dim)
        self.rnn = nn.GRU(emb_dim, enc_hid_dim, bidirectional=True)
        self.fc = nn.Linear(enc_hid_dim * 2, dec_hid_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src, src_len):
        embedded = self.dropout(self.embedding(src))
        packed_embedded = nn.utils.rnn.pack_padded_sequence(embedded, src_len.to('cpu'))
        packed_outputs, hidden = self.rnn(packed_embedded)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(packed_outputs)
        hidden = torch.tanh(self.fc(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1)))
        return outputs, hidden


class Attention(nn.Module):
    def __init__(self, enc_hid_dim, dec_hid_dim):
        super().__init__()
        self.attn = nn.Linear((enc_hid_dim * 2) + dec_hid_dim, dec_hid_dim)
        self.v = nn.Linear(dec_hid_dim, 1, bias=False)

    def forward(self, hidden, encoder_outputs, mask):
        batch_size = encoder_outputs.shape[1]
        src_len = encoder_outputs.shape[0]
        hidden = hidden.unsqueeze(1).repeat(1, src_len, 1)
        encoder_outputs = encoder_outputs.permute(1, 0, 2)
        energy = torch.tanh(self.attn(torch.cat((hidden, encoder_outputs), dim=2)))
        attention = self.v(energy).squeeze(2)
        attention = attention.masked_fill(mask == 0, -1e10)
        return F.softmax(attention, dim=1)


class Decoder(nn.Module):
    def __init__(self, output_dim, emb_dim, enc_hid_dim, dec_hid_dim, dropout, attention):
        super().__init__()
        self.output_dim = output_dim
        self.attention = attention
        self.embedding = nn.Embedding(output_dim, emb_dim)
        self.rnn = nn.GRU((enc_hid_dim * 2) + emb_dim, dec_hid_dim)
        self.fc_out = nn.Linear((enc_hid_dim * 2) + dec_hid_dim + emb_dim, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input, hidden, encoder_outputs, mask):
        input = input.unsqueeze(0)
        embedded = self.dropout(self.embedding(input))
        a = self.attention(hidden, encoder_outputs, mask)
        a = a.unsqueeze(1)
        encoder_outputs = encoder_outputs.permute(1, 0, 2)
        weighted = torch.bmm(a, encoder_outputs)
        weighted = weighted.permute(1, 0, 2)
        rnn_input = torch.cat((embedded, weighted), dim=2)
        output, hidden = self.rnn(rnn_input, hidden.unsqueeze(0))
        assert (output == hidden).all()
        embedded = embedded.squeeze(0)
        output = output.squeeze(0)
        weighted = weighted.squeeze(0)
        prediction = self.fc_out(torch.cat((output, weighted, embedded), dim=1))
        return prediction, hidden.squeeze(0), a.squeeze(1)


class Seq2Seq(nn.Module):
    def __init__(self, encoder, decoder, src_pad_idx, device):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.src_pad_idx = src_pad_idx
        self.device = device

    def create_mask(self, src):
        mask = (src != self.src_pad_idx).permute(1, 0)
        return mask

    def forward(self, src, src_len, trg, teacher_forcing_ratio=0.5):
        batch_size = src.shape[1]
        trg_len = trg.shape[0]
        trg_vocab_size = self.decoder.output_dim
        outputs = torch.zeros(trg_len, batch_size, trg_vocab_size).to(self.device)
        encoder_outputs, hidden = self.encoder(src, src_len)
        input = trg[0, :]
        mask = self.create_mask(src)
        for t in range(1, trg_len):
            output, hidden, _ = self.decoder(input, hidden, encoder_outputs, mask)
            outputs[t] = output
            teacher_force = random.random() < teacher_forcing_ratio
            top1 = output.argmax(1)
            input = trg[t] if teacher_force else top1
        return outputs


def init_weights(m):
    for name, param in m.named_parameters():
        if 'weight' in name:
            nn.init.normal_(param.data, mean=0, std=0.5)
        else:
            nn.init.constant_(param.data, 0)


def build():
    attn = Attention(5, 6)
    enc = Encoder(INPUT_DIM, 4, 5, 6, 0.0)
    dec = Decoder(OUTPUT_DIM, 4, 5, 6, 0.0, attn)
    model = Seq2Seq(enc, dec, SRC_PAD_IDX, device).to(device)
    model.apply(init_weights)
    return model


def data(rng):
    batches = []
    for lengths, trg_len in (([5, 3, 2], 4), ([4, 4], 5)):
        src = torch.full((max(lengths), len(lengths)), SRC_PAD_IDX, dtype=torch.long)
        for i, n in enumerate(lengths):
            src[:n, i] = torch.tensor(rng.integers(4, INPUT_DIM, size=n))
        trg = torch.tensor(rng.integers(4, OUTPUT_DIM, size=(trg_len, len(lengths))))
        trg[0] = SOS
        batches.append((src, torch.tensor(lengths), trg))
    return batches


def translate_sentence(src_indexes, model, max_len=6):
    model.eval()
    src_tensor = torch.LongTensor(src_indexes).unsqueeze(1).to(device)
    src_len = torch.LongTensor([len(src_indexes)])
    with torch.no_grad():
        encoder_outputs, hidden = model.encoder(src_tensor, src_len)
    mask = model.create_mask(src_tensor)
    trg_indexes = [SOS]
    attentions = torch.zeros(max_len, 1, len(src_indexes)).to(device)
    for i in range(max_len):
        trg_tensor = torch.LongTensor([trg_indexes[-1]]).to(device)
        with torch.no_grad():
            output, hidden, attention = model.decoder(trg_tensor, hidden, encoder_outputs, mask)
        attentions[i] = attention
        pred_token = output.argmax(1).item()
        trg_indexes.append(pred_token)
        if pred_token == EOS:
            break
    return trg_indexes, attentions[:len(trg_indexes) - 1]


def train(model, iterator, clip=1.0):
    random.seed(1)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss(ignore_index=TRG_PAD_IDX)
    losses = []
    for epoch in range(2):
        model.train()
        for src, src_len, trg in iterator:
            optimizer.zero_grad()
            output = model(src, src_len, trg)
            output_dim = output.shape[-1]
            output = output[1:].view(-1, output_dim)
            trg = trg[1:].view(-1)
            loss = criterion(output, trg)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            losses.append(loss.item())
    return losses, translate_sentence([5, 6, 7, EOS], model)
"""


# "NLP From Scratch: Generating Names with a Character-Level RNN": the category one-hot
# concatenated to each letter, i2h/i2o/o2o with LogSoftmax (dropout at 0), the loss summed
# letter by letter and the manual update, sample() with topk; then the same generator
# written with the cells (an LSTMCell, a GRUCell and a ReLU RNNCell on unbatched inputs)
PROGRAMS["char_rnn_generation"] = """
import string
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
all_letters = string.ascii_letters + " .,;'-"
n_letters = len(all_letters) + 1
all_categories = ['Czech', 'Irish', 'Japanese']
n_categories = len(all_categories)


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
        self.o2o = nn.Linear(hidden_size + output_size, output_size)
        self.dropout = nn.Dropout(0.0)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, category, input, hidden):
        input_combined = torch.cat((category, input, hidden), 1)
        hidden = self.i2h(input_combined)
        output = self.i2o(input_combined)
        output_combined = torch.cat((hidden, output), 1)
        output = self.o2o(output_combined)
        output = self.dropout(output)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


class Cells(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.lstm = nn.LSTMCell(n_categories + n_letters, hidden_size)
        self.gru = nn.GRUCell(hidden_size, hidden_size)
        self.rnn = nn.RNNCell(hidden_size, hidden_size, nonlinearity='relu')
        self.out = nn.Linear(hidden_size, n_letters)

    def forward(self, category, input, state):
        h, c, g = state
        h, c = self.lstm(torch.cat((category, input)), (h, c))
        g = self.gru(h, g)
        return torch.log_softmax(self.out(self.rnn(g)), dim=0), (h, c, g)


class Both(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = RNN(n_letters, 8, n_letters)
        self.cells = Cells(6)


def build():
    return Both()


def categoryTensor(category):
    li = all_categories.index(category)
    tensor = torch.zeros(1, n_categories)
    tensor[0][li] = 1
    return tensor


def inputTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li in range(len(line)):
        letter = line[li]
        tensor[li][0][all_letters.find(letter)] = 1
    return tensor


def targetTensor(line):
    letter_indexes = [all_letters.find(line[li]) for li in range(1, len(line))]
    letter_indexes.append(n_letters - 1)
    return torch.LongTensor(letter_indexes)


def data(rng):
    return [("Irish", "Kelly"), ("Japanese", "Abe"), ("Czech", "Novak")]


def train_one(rnn, criterion, category_tensor, input_line_tensor, target_line_tensor, learning_rate=0.05):
    target_line_tensor.unsqueeze_(-1)
    hidden = rnn.initHidden()
    rnn.zero_grad()
    loss = torch.Tensor([0])
    for i in range(input_line_tensor.size(0)):
        output, hidden = rnn(category_tensor, input_line_tensor[i], hidden)
        l = criterion(output, target_line_tensor[i])
        loss += l
    loss.backward()
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-learning_rate)
    return output, loss.item() / input_line_tensor.size(0)


def sample(rnn, category, start_letter='A', max_length=6):
    with torch.no_grad():
        category_tensor = categoryTensor(category)
        input = inputTensor(start_letter)
        hidden = rnn.initHidden()
        output_name = start_letter
        for i in range(max_length):
            output, hidden = rnn(category_tensor, input[0], hidden)
            topv, topi = output.topk(1)
            topi = topi[0][0]
            if topi == n_letters - 1:
                break
            else:
                letter = all_letters[topi]
                output_name += letter
            input = inputTensor(letter)
        return output_name


def train(both, pairs):
    criterion = nn.NLLLoss()
    losses = []
    for category, line in pairs * 2:
        output, loss = train_one(both.rnn, criterion, categoryTensor(category), inputTensor(line), targetTensor(line))
        losses.append((output, loss))
    names = [sample(both.rnn, c, s) for c, s in (("Irish", "O"), ("Japanese", "K"))]

    cells = both.cells
    optimizer = torch.optim.RMSprop(cells.parameters(), lr=0.01)
    for category, line in pairs:
        category_tensor, target = categoryTensor(category)[0], targetTensor(line)
        state = (torch.zeros(6), torch.zeros(6), None)
        loss = 0
        for i, x in enumerate(inputTensor(line)):
            output, state = cells(category_tensor, x[0], state)
            loss = loss + nn.functional.nll_loss(output.unsqueeze(0), target[i:i + 1])
        optimizer.zero_grad()
        loss.backward()
        losses.append((loss, cells.gru.weight_hh.grad.clone(), cells.lstm.bias_ih.grad.clone()))
        optimizer.step()
    return losses, names, repr(cells)
"""

# a caption decoder over image features: nn.TransformerDecoder alone (pre-norm layers with
# GELU, batch-first, a final LayerNorm), the causal mask from
# nn.Transformer.generate_square_subsequent_mask with tgt_is_causal, a bool padding mask
# for the captions and a float one for the image regions; the regions attended first by
# an nn.MultiheadAttention whose keys and values have their own widths (kdim, vdim),
# add_bias_kv and add_zero_attn, its per-head weights returned; AdamW with a warmup
# LambdaLR; greedy decoding in eval mode under no_grad
PROGRAMS["caption_transformer_decoder"] = """
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
VOCAB, D, PAD, BOS, EOS = 11, 8, 0, 1, 2


class Captioner(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D, padding_idx=PAD)
        self.pos = nn.Parameter(torch.zeros(1, 16, D))
        self.region_attn = nn.MultiheadAttention(D, 2, kdim=5, vdim=3, add_bias_kv=True, add_zero_attn=True,
                                                 batch_first=True)
        layer = nn.TransformerDecoderLayer(D, 2, dim_feedforward=16, dropout=0.0, activation='gelu',
                                           batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, num_layers=2, norm=nn.LayerNorm(D))
        self.head = nn.Linear(D, VOCAB)

    def encode(self, keys, values, region_pad):
        query = self.pos[:, :keys.size(1)].expand(keys.size(0), -1, -1)
        memory, weights = self.region_attn(query, keys, values, key_padding_mask=region_pad,
                                           average_attn_weights=False)
        return memory, weights

    def forward(self, tokens, keys, values, region_pad):
        memory, weights = self.encode(keys, values, region_pad)
        T = tokens.size(1)
        tgt = self.embed(tokens) * math.sqrt(D) + self.pos[:, :T]
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        out = self.decoder(tgt, memory, tgt_mask=mask, tgt_is_causal=True, tgt_key_padding_mask=tokens == PAD,
                           memory_key_padding_mask=region_pad)
        return self.head(out), weights


def build():
    return Captioner()


def data(rng):
    keys = torch.tensor(rng.normal(size=(3, 4, 5)))
    values = torch.tensor(rng.normal(size=(3, 4, 3)))
    region_pad = torch.zeros(3, 4)
    region_pad[1, 3:] = float('-inf')
    region_pad[2, 2:] = float('-inf')
    captions = torch.tensor([[BOS, 5, 6, 7, EOS], [BOS, 4, EOS, PAD, PAD], [BOS, 9, 3, EOS, PAD]])
    return keys, values, region_pad, captions


def greedy(model, keys, values, region_pad, max_len=5):
    tokens = torch.full((keys.size(0), 1), BOS, dtype=torch.long)
    for _ in range(max_len):
        logits, _ = model(tokens, keys, values, region_pad)
        tokens = torch.cat([tokens, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return tokens


def train(model, data):
    keys, values, region_pad, captions = data
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 2))
    results = []
    model.train()
    for step in range(3):
        logits, weights = model(captions[:, :-1], keys, values, region_pad)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), captions[:, 1:].reshape(-1), ignore_index=PAD,
                               label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        results.append((loss, weights, model.region_attn.bias_k.grad.clone(),
                        model.region_attn.k_proj_weight.grad.clone()))
        optimizer.step()
        scheduler.step()
    model.eval()
    with torch.no_grad():
        results.append(greedy(model, keys, values, region_pad))
    return results
"""

# a toy sequence-reversal task with nn.Transformer as written in many blog posts, here with
# a callable activation, post-norm, bool source and float target key padding masks, an
# explicit memory_mask, and the encoder and decoder run apart at inference
PROGRAMS["transformer_reverse_task"] = """
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
VOCAB, D, PAD, SOS = 8, 8, 0, 1


def swish(x):
    return x * torch.sigmoid(x)


class Reverser(nn.Module):
    def __init__(self):
        super().__init__()
        self.src_emb = nn.Embedding(VOCAB, D)
        self.tgt_emb = nn.Embedding(VOCAB, D)
        self.transformer = nn.Transformer(d_model=D, nhead=2, num_encoder_layers=1, num_decoder_layers=2,
                                          dim_feedforward=12, dropout=0.0, activation=swish)
        self.out = nn.Linear(D, VOCAB)

    def forward(self, src, tgt):
        S, T = src.size(0), tgt.size(0)
        src_pad = (src == PAD).t()
        tgt_pad = torch.zeros(tgt.size(1), T).masked_fill((tgt == PAD).t(), float('-inf'))
        tgt_mask = self.transformer.generate_square_subsequent_mask(T)
        memory_mask = torch.zeros(T, S, dtype=torch.bool)
        memory_mask[0, -1] = True
        out = self.transformer(self.src_emb(src), self.tgt_emb(tgt), tgt_mask=tgt_mask, memory_mask=memory_mask,
                               src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                               memory_key_padding_mask=src_pad)
        return self.out(out)


def build():
    return Reverser()


def data(rng):
    src = torch.tensor(rng.integers(2, VOCAB, size=(5, 3)))
    src[3:, 1] = PAD
    tgt = torch.cat([torch.full((1, 3), SOS), src.flip(0)])
    tgt[1:3, 1] = tgt[3:5, 1].clone()
    tgt[3:, 1] = PAD
    return src, tgt


def train(model, data):
    src, tgt = data
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    losses = []
    for step in range(3):
        logits = model(src, tgt[:-1])
        loss = F.cross_entropy(logits.view(-1, VOCAB), tgt[1:].reshape(-1), ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        losses.append((loss, logits))
        optimizer.step()
    model.eval()
    with torch.no_grad():
        memory = model.transformer.encoder(model.src_emb(src), src_key_padding_mask=(src == PAD).t())
        ys = torch.full((1, 3), SOS)
        for _ in range(4):
            mask = nn.Transformer.generate_square_subsequent_mask(ys.size(0))
            out = model.transformer.decoder(model.tgt_emb(ys), memory, tgt_mask=mask,
                                            memory_key_padding_mask=(src == PAD).t())
            ys = torch.cat([ys, model.out(out[-1]).argmax(-1).unsqueeze(0)])
    return losses, memory, ys
"""


# "Sequence Models and Long Short-Term Memory Networks": the LSTMTagger for part-of-speech
# tagging (prepare_sequence, embeds.view(len(sentence), 1, -1), log_softmax over the
# tags), trained with SGD and NLLLoss, its tag scores before and after
PROGRAMS["lstm_pos_tagger"] = """
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.set_default_dtype(torch.float64)
training_data = [
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
]
word_to_ix = {}
for sent, tags in training_data:
    for word in sent:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
tag_to_ix = {"DET": 0, "NN": 1, "V": 2}


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


class LSTMTagger(nn.Module):
    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
        super(LSTMTagger, self).__init__()
        self.hidden_dim = hidden_dim
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores


def build():
    return LSTMTagger(6, 6, len(word_to_ix), len(tag_to_ix))


def data(rng):
    return training_data


def train(model, training_data):
    loss_function = nn.NLLLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scores = []
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        scores.append(model(inputs))
    for epoch in range(3):
        for sentence, tags in training_data:
            model.zero_grad()
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = prepare_sequence(tags, tag_to_ix)
            tag_scores = model(sentence_in)
            loss = loss_function(tag_scores, targets)
            loss.backward()
            optimizer.step()
            scores.append(loss)
    with torch.no_grad():
        inputs = prepare_sequence(training_data[0][0], word_to_ix)
        tag_scores = model(inputs)
        scores.append(tag_scores)
        scores.append(tag_scores.argmax(dim=1))
    return scores
"""

# "Advanced: Making Dynamic Decisions and the Bi-LSTM CRF": the bidirectional LSTM's
# emissions, the CRF's transitions (START and STOP rows set through .data), the forward
# algorithm with log_sum_exp, the gold path's score, Viterbi decoding with back-pointers;
# init_hidden draws torch.randn (PyTorch's draws replayed), SGD with weight decay
PROGRAMS["bilstm_crf"] = """
import torch
import torch.autograd as autograd
import torch.nn as nn
import torch.optim as optim

torch.set_default_dtype(torch.float64)
START_TAG, STOP_TAG = "<START>", "<STOP>"


def argmax(vec):
    _, idx = torch.max(vec, 1)
    return idx.item()


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


def log_sum_exp(vec):
    max_score = vec[0, argmax(vec)]
    max_score_broadcast = max_score.view(1, -1).expand(1, vec.size()[1])
    return max_score + torch.log(torch.sum(torch.exp(vec - max_score_broadcast)))


class BiLSTM_CRF(nn.Module):
    def __init__(self, vocab_size, tag_to_ix, embedding_dim, hidden_dim):
        super(BiLSTM_CRF, self).__init__()
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.vocab_size = vocab_size
        self.tag_to_ix = tag_to_ix
        self.tagset_size = len(tag_to_ix)
        self.word_embeds = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2, num_layers=1, bidirectional=True)
        self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)
        self.transitions = nn.Parameter(torch.randn(self.tagset_size, self.tagset_size))
        self.transitions.data[tag_to_ix[START_TAG], :] = -10000
        self.transitions.data[:, tag_to_ix[STOP_TAG]] = -10000
        self.hidden = self.init_hidden()

    def init_hidden(self):
        return (torch.randn(2, 1, self.hidden_dim // 2), torch.randn(2, 1, self.hidden_dim // 2))

    def _forward_alg(self, feats):
        init_alphas = torch.full((1, self.tagset_size), -10000.)
        init_alphas[0][self.tag_to_ix[START_TAG]] = 0.
        forward_var = init_alphas
        for feat in feats:
            alphas_t = []
            for next_tag in range(self.tagset_size):
                emit_score = feat[next_tag].view(1, -1).expand(1, self.tagset_size)
                trans_score = self.transitions[next_tag].view(1, -1)
                next_tag_var = forward_var + trans_score + emit_score
                alphas_t.append(log_sum_exp(next_tag_var).view(1))
            forward_var = torch.cat(alphas_t).view(1, -1)
        terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
        alpha = log_sum_exp(terminal_var)
        return alpha

    def _get_lstm_features(self, sentence):
        self.hidden = self.init_hidden()
        embeds = self.word_embeds(sentence).view(len(sentence), 1, -1)
        lstm_out, self.hidden = self.lstm(embeds, self.hidden)
        lstm_out = lstm_out.view(len(sentence), self.hidden_dim)
        lstm_feats = self.hidden2tag(lstm_out)
        return lstm_feats

    def _score_sentence(self, feats, tags):
        score = torch.zeros(1)
        tags = torch.cat([torch.tensor([self.tag_to_ix[START_TAG]], dtype=torch.long), tags])
        for i, feat in enumerate(feats):
            score = score + self.transitions[tags[i + 1], tags[i]] + feat[tags[i + 1]]
        score = score + self.transitions[self.tag_to_ix[STOP_TAG], tags[-1]]
        return score

    def _viterbi_decode(self, feats):
        backpointers = []
        init_vvars = torch.full((1, self.tagset_size), -10000.)
        init_vvars[0][self.tag_to_ix[START_TAG]] = 0
        forward_var = init_vvars
        for feat in feats:
            bptrs_t = []
            viterbivars_t = []
            for next_tag in range(self.tagset_size):
                next_tag_var = forward_var + self.transitions[next_tag]
                best_tag_id = argmax(next_tag_var)
                bptrs_t.append(best_tag_id)
                viterbivars_t.append(next_tag_var[0][best_tag_id].view(1))
            forward_var = (torch.cat(viterbivars_t) + feat).view(1, -1)
            backpointers.append(bptrs_t)
        terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
        best_tag_id = argmax(terminal_var)
        path_score = terminal_var[0][best_tag_id]
        best_path = [best_tag_id]
        for bptrs_t in reversed(backpointers):
            best_tag_id = bptrs_t[best_tag_id]
            best_path.append(best_tag_id)
        start = best_path.pop()
        assert start == self.tag_to_ix[START_TAG]
        best_path.reverse()
        return path_score, best_path

    def neg_log_likelihood(self, sentence, tags):
        feats = self._get_lstm_features(sentence)
        forward_score = self._forward_alg(feats)
        gold_score = self._score_sentence(feats, tags)
        return forward_score - gold_score

    def forward(self, sentence):
        lstm_feats = self._get_lstm_features(sentence)
        score, tag_seq = self._viterbi_decode(lstm_feats)
        return score, tag_seq


training_data = [(
    "the wall street journal reported today that apple corporation made money".split(),
    "B I I I O O O B I O O".split()
), (
    "georgia tech is a university in georgia".split(),
    "B I O O O O B".split()
)]
word_to_ix = {}
for sentence, tags in training_data:
    for word in sentence:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
tag_to_ix = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}


def build():
    return BiLSTM_CRF(len(word_to_ix), tag_to_ix, 5, 4)


def data(rng):
    return training_data


def train(model, training_data):
    optimizer = optim.SGD(model.parameters(), lr=0.01, weight_decay=1e-4)
    results = []
    with torch.no_grad():
        precheck_sent = prepare_sequence(training_data[0][0], word_to_ix)
        results.append(model(precheck_sent))
    for epoch in range(2):
        for sentence, tags in training_data:
            model.zero_grad()
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = torch.tensor([tag_to_ix[t] for t in tags], dtype=torch.long)
            loss = model.neg_log_likelihood(sentence_in, targets)
            loss.backward()
            optimizer.step()
            results.append((loss, model.transitions.grad.clone()))
    with torch.no_grad():
        precheck_sent = prepare_sequence(training_data[0][0], word_to_ix)
        results.append(model(precheck_sent))
    return results
"""


# "Chatbot Tutorial": batches padded with itertools.zip_longest into LongTensor and
# BoolTensor masks, an EncoderRNN over packed sequences (bidirectional GRU, the two
# directions' outputs summed), Luong attention ('dot', 'general', 'concat'), the
# LuongAttnDecoderRNN, maskNLLLoss (gather, masked_select), teacher forcing decided by
# random.random(), two Adam optimizers with clip_grad_norm_, and GreedySearchDecoder (all in
# float64: the 'concat' score's v made with torch.Tensor, not the tutorial's torch.FloatTensor);
# then, as "Deploying a Seq2Seq Model with TorchScript" does, the encoder and decoder traced
# on random_ inputs and the search scripted
_CHATBOT = """
import itertools
import random
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim

torch.set_default_dtype(torch.float64)
device = torch.device("cpu")
PAD_token, SOS_token, EOS_token = 0, 1, 2
VOCAB = 12


class EncoderRNN(nn.Module):
    def __init__(self, hidden_size, embedding, n_layers=1, dropout=0):
        super(EncoderRNN, self).__init__()
        self.n_layers = n_layers
        self.hidden_size = hidden_size
        self.embedding = embedding
        self.gru = nn.GRU(hidden_size, hidden_size, n_layers,
                          dropout=(0 if n_layers == 1 else dropout), bidirectional=True)

    def forward(self, input_seq, input_lengths, hidden=None):
        embedded = self.embedding(input_seq)
        packed = nn.utils.rnn.pack_padded_sequence(embedded, input_lengths)
        outputs, hidden = self.gru(packed, hidden)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs)
        outputs = outputs[:, :, :self.hidden_size] + outputs[:, :, self.hidden_size:]
        return outputs, hidden


class Attn(nn.Module):
    def __init__(self, method, hidden_size):
        super(Attn, self).__init__()
        self.method = method
        if self.method not in ['dot', 'general', 'concat']:
            raise ValueError(self.method, "is not an appropriate attention method.")
        self.hidden_size = hidden_size
        if self.method == 'general':
            self.attn = nn.Linear(self.hidden_size, hidden_size)
        elif self.method == 'concat':
            self.attn = nn.Linear(self.hidden_size * 2, hidden_size)
            self.v = nn.Parameter(torch.Tensor(hidden_size))  # FloatTensor in the tutorial (float32)

    def dot_score(self, hidden, encoder_output):
        return torch.sum(hidden * encoder_output, dim=2)

    def general_score(self, hidden, encoder_output):
        energy = self.attn(encoder_output)
        return torch.sum(hidden * energy, dim=2)

    def concat_score(self, hidden, encoder_output):
        energy = self.attn(torch.cat((hidden.expand(encoder_output.size(0), -1, -1), encoder_output), 2)).tanh()
        return torch.sum(self.v * energy, dim=2)

    def forward(self, hidden, encoder_outputs):
        if self.method == 'general':
            attn_energies = self.general_score(hidden, encoder_outputs)
        elif self.method == 'concat':
            attn_energies = self.concat_score(hidden, encoder_outputs)
        elif self.method == 'dot':
            attn_energies = self.dot_score(hidden, encoder_outputs)
        attn_energies = attn_energies.t()
        return F.softmax(attn_energies, dim=1).unsqueeze(1)


class LuongAttnDecoderRNN(nn.Module):
    def __init__(self, attn_model, embedding, hidden_size, output_size, n_layers=1, dropout=0.1):
        super(LuongAttnDecoderRNN, self).__init__()
        self.attn_model = attn_model
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.n_layers = n_layers
        self.dropout = dropout
        self.embedding = embedding
        self.embedding_dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(hidden_size, hidden_size, n_layers, dropout=(0 if n_layers == 1 else dropout))
        self.concat = nn.Linear(hidden_size * 2, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)
        self.attn = Attn(attn_model, hidden_size)

    def forward(self, input_step, last_hidden, encoder_outputs):
        embedded = self.embedding(input_step)
        embedded = self.embedding_dropout(embedded)
        rnn_output, hidden = self.gru(embedded, last_hidden)
        attn_weights = self.attn(rnn_output, encoder_outputs)
        context = attn_weights.bmm(encoder_outputs.transpose(0, 1))
        rnn_output = rnn_output.squeeze(0)
        context = context.squeeze(1)
        concat_input = torch.cat((rnn_output, context), 1)
        concat_output = torch.tanh(self.concat(concat_input))
        output = self.out(concat_output)
        output = F.softmax(output, dim=1)
        return output, hidden


class Chatbot(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 6)
        self.encoder = EncoderRNN(6, self.embedding, 2, 0.0)
        self.decoder = LuongAttnDecoderRNN(ATTN, self.embedding, 6, VOCAB, 2, 0.0)


def build():
    model = Chatbot()
    if ATTN == 'concat':
        nn.init.normal_(model.decoder.attn.v)
    return model


def zeroPadding(l, fillvalue=PAD_token):
    return list(itertools.zip_longest(*l, fillvalue=fillvalue))


def binaryMatrix(l, value=PAD_token):
    m = []
    for i, seq in enumerate(l):
        m.append([])
        for token in seq:
            if token == PAD_token:
                m[i].append(0)
            else:
                m[i].append(1)
    return m


def inputVar(indexes_batch):
    lengths = torch.tensor([len(indexes) for indexes in indexes_batch])
    padList = zeroPadding(indexes_batch)
    padVar = torch.LongTensor(padList)
    return padVar, lengths


def outputVar(indexes_batch):
    max_target_len = max([len(indexes) for indexes in indexes_batch])
    padList = zeroPadding(indexes_batch)
    mask = binaryMatrix(padList)
    mask = torch.BoolTensor(mask)
    padVar = torch.LongTensor(padList)
    return padVar, mask, max_target_len


def batch2TrainData(pair_batch):
    pair_batch.sort(key=lambda x: len(x[0]), reverse=True)
    input_batch, output_batch = [], []
    for pair in pair_batch:
        input_batch.append(pair[0] + [EOS_token])
        output_batch.append(pair[1] + [EOS_token])
    inp, lengths = inputVar(input_batch)
    output, mask, max_target_len = outputVar(output_batch)
    return inp, lengths, output, mask, max_target_len


def maskNLLLoss(inp, target, mask):
    nTotal = mask.sum()
    crossEntropy = -torch.log(torch.gather(inp, 1, target.view(-1, 1)).squeeze(1))
    loss = crossEntropy.masked_select(mask).mean()
    loss = loss.to(device)
    return loss, nTotal.item()


def train_step(input_variable, lengths, target_variable, mask, max_target_len, encoder, decoder,
               encoder_optimizer, decoder_optimizer, batch_size, clip, teacher_forcing_ratio=0.5):
    encoder_optimizer.zero_grad()
    decoder_optimizer.zero_grad()
    lengths = lengths.to("cpu")
    loss = 0
    print_losses = []
    n_totals = 0
    encoder_outputs, encoder_hidden = encoder(input_variable, lengths)
    decoder_input = torch.LongTensor([[SOS_token for _ in range(batch_size)]])
    decoder_hidden = encoder_hidden[:decoder.n_layers]
    use_teacher_forcing = True if random.random() < teacher_forcing_ratio else False
    for t in range(max_target_len):
        decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden, encoder_outputs)
        if use_teacher_forcing:
            decoder_input = target_variable[t].view(1, -1)
        else:
            _, topi = decoder_output.topk(1)
            decoder_input = torch.LongTensor([[topi[i][0] for i in range(batch_size)]])
        mask_loss, nTotal = maskNLLLoss(decoder_output, target_variable[t], mask[t])
        loss += mask_loss
        print_losses.append(mask_loss.item() * nTotal)
        n_totals += nTotal
    loss.backward()
    _ = nn.utils.clip_grad_norm_(encoder.parameters(), clip)
    _ = nn.utils.clip_grad_norm_(decoder.parameters(), clip)
    encoder_optimizer.step()
    decoder_optimizer.step()
    return sum(print_losses) / n_totals


class GreedySearchDecoder(nn.Module):
    def __init__(self, encoder, decoder, decoder_n_layers):
        super(GreedySearchDecoder, self).__init__()
        self.encoder = encoder
        self.decoder = decoder
        self._device = device
        self._SOS_token = SOS_token
        self._decoder_n_layers = decoder_n_layers

    __constants__ = ['_device']

    def forward(self, input_seq: torch.Tensor, input_length: torch.Tensor, max_length: int):
        encoder_outputs, encoder_hidden = self.encoder(input_seq, input_length)
        decoder_hidden = encoder_hidden[:self._decoder_n_layers]
        decoder_input = torch.ones(1, 1, device=self._device, dtype=torch.long) * self._SOS_token
        all_tokens = torch.zeros([0], device=self._device, dtype=torch.long)
        all_scores = torch.zeros([0], device=self._device)
        for _ in range(max_length):
            decoder_output, decoder_hidden = self.decoder(decoder_input, decoder_hidden, encoder_outputs)
            decoder_scores, decoder_input = torch.max(decoder_output, dim=1)
            all_tokens = torch.cat((all_tokens, decoder_input), dim=0)
            all_scores = torch.cat((all_scores, decoder_scores), dim=0)
            decoder_input = torch.unsqueeze(decoder_input, 0)
        return all_tokens, all_scores


def data(rng):
    return [[[3, 4, 5], [6, 7]], [[8, 9], [10, 11, 3]], [[4, 4, 6, 7], [5]]]


def train(model, pairs):
    random.seed(2)
    encoder, decoder = model.encoder, model.decoder
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=0.01)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=0.01 * 5.0)
    losses = []
    for iteration in range(3):
        training_batch = batch2TrainData([list(map(list, p)) for p in pairs])
        input_variable, lengths, target_variable, mask, max_target_len = training_batch
        losses.append(train_step(input_variable, lengths, target_variable, mask, max_target_len, encoder,
                                 decoder, encoder_optimizer, decoder_optimizer, len(pairs), 50.0))
    encoder.eval()
    decoder.eval()
    searcher = GreedySearchDecoder(encoder, decoder, decoder.n_layers)
    indexes_batch = [[3, 4, EOS_token]]
    lengths = torch.tensor([len(indexes) for indexes in indexes_batch])
    input_batch = torch.LongTensor(indexes_batch).transpose(0, 1)
    with torch.no_grad():
        results = [searcher(input_batch, lengths, 4)]
    if ATTN == 'dot':  # "Deploying a Seq2Seq Model with TorchScript": traced halves, scripted search
        test_seq = torch.LongTensor(3, 1).random_(3, VOCAB)
        test_seq_length = torch.LongTensor([test_seq.size()[0]])
        traced_encoder = torch.jit.trace(encoder, (test_seq, test_seq_length))
        test_encoder_outputs, test_encoder_hidden = traced_encoder(test_seq, test_seq_length)
        test_decoder_hidden = test_encoder_hidden[:decoder.n_layers]
        test_decoder_input = torch.LongTensor(1, 1).random_(3, VOCAB)
        traced_decoder = torch.jit.trace(decoder, (test_decoder_input, test_decoder_hidden, test_encoder_outputs))
        scripted_searcher = torch.jit.script(GreedySearchDecoder(traced_encoder, traced_decoder, decoder.n_layers))
        with torch.no_grad():
            results.append(scripted_searcher(input_batch, lengths, 4))
    return losses, results
"""
for _attn in ("dot", "general", "concat"):
    PROGRAMS[f"chatbot_{_attn}"] = f"ATTN = {_attn!r}\n" + _CHATBOT


# a variable-length sequence classifier as users write one: pack_sequence of unsorted
# sequences, a learned initial state (h0/c0 parameters expanded to the batch) through a
# 2-layer bidirectional batch-first LSTM with proj_size and dropout between the layers,
# pad_packed_sequence with total_length and padding_value, a masked mean over time; a GRU
# over left-padded pad_sequence batches; the model in eval mode (dropout off) on one
# unbatched (2-D) sequence
PROGRAMS["packed_sequence_classifier"] = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_sequence, pad_packed_sequence, pad_sequence

torch.set_default_dtype(torch.float64)


class Classifier(nn.Module):
    def __init__(self, n_in=3, hidden=5, proj=3, n_classes=4, dropout=0.3):
        super().__init__()
        self.lstm = nn.LSTM(n_in, hidden, num_layers=2, batch_first=True, bidirectional=True,
                            proj_size=proj, dropout=dropout)
        self.h0 = nn.Parameter(torch.zeros(4, 1, proj))
        self.c0 = nn.Parameter(torch.zeros(4, 1, hidden))
        self.gru = nn.GRU(n_in, 4, num_layers=2, dropout=dropout)
        self.head = nn.Linear(2 * proj + 4, n_classes)

    def forward(self, seqs):
        batch = len(seqs)
        packed = pack_sequence(seqs, enforce_sorted=False)
        h0 = self.h0.expand(-1, batch, -1).contiguous()
        c0 = self.c0.expand(-1, batch, -1).contiguous()
        out, (hn, cn) = self.lstm(packed, (h0, c0))
        padded, lengths = pad_packed_sequence(out, batch_first=True, total_length=6, padding_value=-7.0)
        mask = torch.arange(padded.size(1))[None, :] < lengths[:, None]
        pooled = (padded * mask.unsqueeze(-1)).sum(1) / lengths.unsqueeze(-1)
        left = pad_sequence(seqs, padding_side='left')
        g_out, g_h = self.gru(left)
        features = torch.cat([pooled, g_out[-1]], dim=-1)
        return self.head(features), padded, hn, cn


def build():
    return Classifier()


def data(rng):
    seqs = [torch.tensor(rng.normal(size=(n, 3))) for n in (3, 5, 2, 4)]
    return seqs, torch.tensor([0, 3, 1, 1])


def train(model, data):
    seqs, labels = data
    results = []
    model.eval()
    with torch.no_grad():
        results.append(model(seqs))
        out, (hn, cn) = model.lstm(seqs[1])
        results.append((out, hn, cn, model.gru(seqs[2])))
    model.train()
    model.lstm.dropout = model.gru.dropout = 0.0
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for step in range(3):
        logits, padded, hn, cn = model(seqs)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        results.append((loss, padded, hn, cn, model.h0.grad.clone(), model.lstm.weight_hr_l1_reverse.grad.clone()))
        optimizer.step()
    return results
"""


# "Language Modeling with nn.Transformer and torchtext": TransformerModel over
# nn.TransformerEncoder with the causal mask of nn.Transformer.generate_square_subsequent_mask,
# batchify/get_batch, SGD with StepLR and clip_grad_norm_, evaluate() in eval mode under
# no_grad, the best model kept with copy.deepcopy and its state_dict saved and loaded
# again; also batch-first (whose eval-mode layers PyTorch runs on its fast path)
_TRANSFORMER_LM = """
import copy
import math
import os
import tempfile
import torch
from torch import nn, Tensor
from torch.nn import TransformerEncoder, TransformerEncoderLayer

torch.set_default_dtype(torch.float64)
device = torch.device('cpu')


class PositionalEncoding(nn.Module):
    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer('pe', pe)

    def forward(self, x: Tensor) -> Tensor:
        if BATCH_FIRST:
            x = x + self.pe[:x.size(1)].transpose(0, 1)
        else:
            x = x + self.pe[:x.size(0)]
        return self.dropout(x)


class TransformerModel(nn.Module):
    def __init__(self, ntoken: int, d_model: int, nhead: int, d_hid: int, nlayers: int, dropout: float = 0.5):
        super().__init__()
        self.model_type = 'Transformer'
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        encoder_layers = TransformerEncoderLayer(d_model, nhead, d_hid, dropout, batch_first=BATCH_FIRST)
        self.transformer_encoder = TransformerEncoder(encoder_layers, nlayers)
        self.embedding = nn.Embedding(ntoken, d_model)
        self.d_model = d_model
        self.linear = nn.Linear(d_model, ntoken)
        self.init_weights()

    def init_weights(self) -> None:
        initrange = 0.1
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.linear.bias.data.zero_()
        self.linear.weight.data.uniform_(-initrange, initrange)

    def forward(self, src: Tensor, src_mask: Tensor = None) -> Tensor:
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        if src_mask is None:
            src_mask = nn.Transformer.generate_square_subsequent_mask(src.size(1 if BATCH_FIRST else 0)).to(device)
        output = self.transformer_encoder(src, src_mask)
        output = self.linear(output)
        return output


NTOKENS, BPTT = 11, 4


def build():
    return TransformerModel(NTOKENS, 8, 2, 12, 2, 0.0)


def batchify(data: Tensor, bsz: int) -> Tensor:
    seq_len = data.size(0) // bsz
    data = data[:seq_len * bsz]
    data = data.view(bsz, seq_len).t().contiguous()
    return data.to(device)


def data(rng):
    return batchify(torch.tensor(rng.integers(0, NTOKENS, size=39)), 3)


def get_batch(source: Tensor, i: int):
    seq_len = min(BPTT, len(source) - 1 - i)
    data = source[i:i+seq_len]
    target = source[i+1:i+1+seq_len].reshape(-1)
    if BATCH_FIRST:
        return data.t(), source[i+1:i+1+seq_len].t().reshape(-1)
    return data, target


def evaluate(model: nn.Module, eval_data: Tensor, criterion) -> float:
    model.eval()
    total_loss = 0.
    with torch.no_grad():
        for i in range(0, eval_data.size(0) - 1, BPTT):
            data, targets = get_batch(eval_data, i)
            seq_len = data.size(1 if BATCH_FIRST else 0)
            output = model(data)
            output_flat = output.view(-1, NTOKENS)
            total_loss += seq_len * criterion(output_flat, targets).item()
    return total_loss / (len(eval_data) - 1)


def train(model, train_data):
    criterion = nn.CrossEntropyLoss()
    lr = 5.0
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
    best_val_loss = float('inf')
    results = []
    with tempfile.TemporaryDirectory() as tempdir:
        best_model_params_path = os.path.join(tempdir, "best_model_params.pt")
        for epoch in range(1, 3):
            model.train()
            for batch, i in enumerate(range(0, train_data.size(0) - 1, BPTT)):
                data, targets = get_batch(train_data, i)
                output = model(data)
                output_flat = output.view(-1, NTOKENS)
                loss = criterion(output_flat, targets)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                optimizer.step()
                results.append((loss, scheduler.get_last_lr()[0]))
            val_loss = evaluate(model, train_data, criterion)
            results.append(val_loss)
            if val_loss < best_val_loss:
                best_val_loss = val_loss
                best_model = copy.deepcopy(model)
                torch.save(model.state_dict(), best_model_params_path)
            scheduler.step()
        model.load_state_dict(torch.load(best_model_params_path))
    results.append(evaluate(best_model, train_data, criterion))
    return results
"""
for _batch_first in (False, True):
    PROGRAMS[f"transformer_language_model{'_batch_first' if _batch_first else ''}"] = (
        f"BATCH_FIRST = {_batch_first}\n" + _TRANSFORMER_LM)


# Alibaba's ML-Decoder (multi-label classification head): TransformerDecoderLayerOptimal
# built with torch.nn.modules.transformer's _get_activation_fn and a __setstate__ for old
# pickles (its forward taking the is_causal flags, and an unused self_attn, which newer
# TransformerDecoders pass and read), cloned
# by nn.TransformerDecoder; a frozen query embedding expanded over the batch, relu in
# place, GroupFC writing each group's product into a zeros tensor, the bias added in place
# to a sliced view; AdamW and BCEWithLogitsLoss
PROGRAMS["ml_decoder"] = """
from typing import Optional

import torch
from torch import nn, Tensor
from torch.nn.modules.transformer import _get_activation_fn

torch.set_default_dtype(torch.float64)


class TransformerDecoderLayerOptimal(nn.Module):
    def __init__(self, d_model, nhead=8, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5) -> None:
        super(TransformerDecoderLayerOptimal, self).__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)  # unused; newer decoders read it
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.multihead_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.activation = _get_activation_fn(activation)

    def __setstate__(self, state):
        if 'activation' not in state:
            state['activation'] = torch.nn.functional.relu
        super(TransformerDecoderLayerOptimal, self).__setstate__(state)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Optional[Tensor] = None,
                memory_mask: Optional[Tensor] = None, tgt_key_padding_mask: Optional[Tensor] = None,
                memory_key_padding_mask: Optional[Tensor] = None, tgt_is_causal: Optional[bool] = None,
                memory_is_causal: bool = False) -> Tensor:
        tgt = tgt + self.dropout1(tgt)
        tgt = self.norm1(tgt)
        tgt2 = self.multihead_attn(tgt, memory, memory)[0]
        tgt = tgt + self.dropout2(tgt2)
        tgt = self.norm2(tgt)
        tgt2 = self.linear2(self.dropout(self.activation(self.linear1(tgt))))
        tgt = tgt + self.dropout3(tgt2)
        tgt = self.norm3(tgt)
        return tgt


class GroupFC(object):
    def __init__(self, embed_len_decoder: int):
        self.embed_len_decoder = embed_len_decoder

    def __call__(self, h: torch.Tensor, duplicate_pooling: torch.Tensor, out_extrap: torch.Tensor):
        for i in range(h.shape[1]):
            h_i = h[:, i, :]
            if len(duplicate_pooling.shape) == 3:
                w_i = duplicate_pooling[i, :, :]
            else:
                w_i = duplicate_pooling
            out_extrap[:, i, :] = torch.matmul(h_i, w_i)


class MLDecoder(nn.Module):
    def __init__(self, num_classes, num_of_groups=-1, decoder_embedding=768, initial_num_features=2048):
        super(MLDecoder, self).__init__()
        embed_len_decoder = 100 if num_of_groups < 0 else num_of_groups
        if embed_len_decoder > num_classes:
            embed_len_decoder = num_classes
        embed_standart = nn.Linear(initial_num_features, decoder_embedding)
        query_embed = nn.Embedding(embed_len_decoder, decoder_embedding)
        query_embed.requires_grad_(False)
        decoder_dropout = 0.0
        num_layers_decoder = 1
        dim_feedforward = 16
        layer_decode = TransformerDecoderLayerOptimal(d_model=decoder_embedding, dim_feedforward=dim_feedforward,
                                                      dropout=decoder_dropout, nhead=2)
        self.decoder = nn.TransformerDecoder(layer_decode, num_layers=num_layers_decoder)
        self.decoder.embed_standart = embed_standart
        self.decoder.query_embed = query_embed
        self.decoder.num_classes = num_classes
        self.decoder.duplicate_factor = int(num_classes / embed_len_decoder + 0.999)
        self.decoder.duplicate_pooling = torch.nn.Parameter(
            torch.Tensor(embed_len_decoder, decoder_embedding, self.decoder.duplicate_factor))
        self.decoder.duplicate_pooling_bias = torch.nn.Parameter(torch.Tensor(num_classes))
        torch.nn.init.xavier_normal_(self.decoder.duplicate_pooling)
        torch.nn.init.constant_(self.decoder.duplicate_pooling_bias, 0)
        self.decoder.group_fc = GroupFC(embed_len_decoder)

    def forward(self, x):
        if len(x.shape) == 4:
            embedding_spatial = x.flatten(2).transpose(1, 2)
        else:
            embedding_spatial = x
        embedding_spatial_786 = self.decoder.embed_standart(embedding_spatial)
        embedding_spatial_786 = torch.nn.functional.relu(embedding_spatial_786, inplace=True)
        bs = embedding_spatial_786.shape[0]
        query_embed = self.decoder.query_embed.weight
        tgt = query_embed.unsqueeze(1).expand(-1, bs, -1)
        h = self.decoder(tgt, embedding_spatial_786.transpose(0, 1))
        h = h.transpose(0, 1)
        out_extrap = torch.zeros(h.shape[0], h.shape[1], self.decoder.duplicate_factor, device=h.device,
                                 dtype=h.dtype)
        self.decoder.group_fc(h, self.decoder.duplicate_pooling, out_extrap)
        h_out = out_extrap.flatten(1)[:, :self.decoder.num_classes]
        h_out += self.decoder.duplicate_pooling_bias
        logits = h_out
        return logits


def build():
    return MLDecoder(num_classes=7, num_of_groups=3, decoder_embedding=8, initial_num_features=5)


def data(rng):
    return torch.tensor(rng.normal(size=(2, 5, 3, 3))), torch.tensor((rng.uniform(size=(2, 7)) > 0.5) * 1.0)


def train(model, data):
    x, y = data
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.01)
    criterion = nn.BCEWithLogitsLoss()
    results = []
    for step in range(3):
        logits = model(x)
        loss = criterion(logits, y)
        optimizer.zero_grad()
        loss.backward()
        results.append((logits, loss, model.decoder.duplicate_pooling.grad.clone(),
                        model.decoder.layers[0].multihead_attn.in_proj_weight.grad.clone()))
        optimizer.step()
    return results
"""


# bentrevett/pytorch-seq2seq "Attention is All You Need": the Transformer written out
# (MultiHeadAttentionLayer with masked_fill(mask == 0, -1e10) and the scale a FloatTensor,
# PositionwiseFeedforwardLayer, learned positional embeddings, the padding and subsequent
# masks combined with &), xavier_uniform_ initialisation through apply, Adam with
# clip_grad_norm_, and translate_sentence's greedy decoding with its attention maps
PROGRAMS["transformer_from_scratch"] = """
import torch
import torch.nn as nn
import torch.optim as optim

torch.set_default_dtype(torch.float64)
device = torch.device('cpu')
SRC_PAD_IDX, TRG_PAD_IDX, SOS, EOS = 1, 1, 2, 3
INPUT_DIM, OUTPUT_DIM = 9, 10


class Encoder(nn.Module):
    def __init__(self, input_dim, hid_dim, n_layers, n_heads, pf_dim, dropout, device, max_length=100):
        super().__init__()
        self.device = device
        self.tok_embedding = nn.Embedding(input_dim, hid_dim)
        self.pos_embedding = nn.Embedding(max_length, hid_dim)
        self.layers = nn.ModuleList([EncoderLayer(hid_dim, n_heads, pf_dim, dropout, device)
                                     for _ in range(n_layers)])
        self.dropout = nn.Dropout(dropout)
        self.scale = torch.sqrt(torch.FloatTensor([hid_dim])).to(device)

    def forward(self, src, src_mask):
        batch_size = src.shape[0]
        src_len = src.shape[1]
        pos = torch.arange(0, src_len).unsqueeze(0).repeat(batch_size, 1).to(self.device)
        src = self.dropout((self.tok_embedding(src) * self.scale) + self.pos_embedding(pos))
        for layer in self.layers:
            src = layer(src, src_mask)
        return src


class EncoderLayer(nn.Module):
    def __init__(self, hid_dim, n_heads, pf_dim, dropout, device):
        super().__init__()
        self.self_attn_layer_norm = nn.LayerNorm(hid_dim)
        self.ff_layer_norm = nn.LayerNorm(hid_dim)
        self.self_attention = MultiHeadAttentionLayer(hid_dim, n_heads, dropout, device)
        self.positionwise_feedforward = PositionwiseFeedforwardLayer(hid_dim, pf_dim, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src, src_mask):
        _src, _ = self.self_attention(src, src, src, src_mask)
        src = self.self_attn_layer_norm(src + self.dropout(_src))
        _src = self.positionwise_feedforward(src)
        src = self.ff_layer_norm(src + self.dropout(_src))
        return src


class MultiHeadAttentionLayer(nn.Module):
    def __init__(self, hid_dim, n_heads, dropout, device):
        super().__init__()
        assert hid_dim % n_heads == 0
        self.hid_dim = hid_dim
        self.n_heads = n_heads
        self.head_dim = hid_dim // n_heads
        self.fc_q = nn.Linear(hid_dim, hid_dim)
        self.fc_k = nn.Linear(hid_dim, hid_dim)
        self.fc_v = nn.Linear(hid_dim, hid_dim)
        self.fc_o = nn.Linear(hid_dim, hid_dim)
        self.dropout = nn.Dropout(dropout)
        self.scale = torch.sqrt(torch.FloatTensor([self.head_dim])).to(device)

    def forward(self, query, key, value, mask=None):
        batch_size = query.shape[0]
        Q = self.fc_q(query)
        K = self.fc_k(key)
        V = self.fc_v(value)
        Q = Q.view(batch_size, -1, self.n_heads, self.head_dim).permute(0, 2, 1, 3)
        K = K.view(batch_size, -1, self.n_heads, self.head_dim).permute(0, 2, 1, 3)
        V = V.view(batch_size, -1, self.n_heads, self.head_dim).permute(0, 2, 1, 3)
        energy = torch.matmul(Q, K.permute(0, 1, 3, 2)) / self.scale
        if mask is not None:
            energy = energy.masked_fill(mask == 0, -1e10)
        attention = torch.softmax(energy, dim=-1)
        x = torch.matmul(self.dropout(attention), V)
        x = x.permute(0, 2, 1, 3).contiguous()
        x = x.view(batch_size, -1, self.hid_dim)
        x = self.fc_o(x)
        return x, attention


class PositionwiseFeedforwardLayer(nn.Module):
    def __init__(self, hid_dim, pf_dim, dropout):
        super().__init__()
        self.fc_1 = nn.Linear(hid_dim, pf_dim)
        self.fc_2 = nn.Linear(pf_dim, hid_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = self.dropout(torch.relu(self.fc_1(x)))
        x = self.fc_2(x)
        return x


class Decoder(nn.Module):
    def __init__(self, output_dim, hid_dim, n_layers, n_heads, pf_dim, dropout, device, max_length=100):
        super().__init__()
        self.device = device
        self.tok_embedding = nn.Embedding(output_dim, hid_dim)
        self.pos_embedding = nn.Embedding(max_length, hid_dim)
        self.layers = nn.ModuleList([DecoderLayer(hid_dim, n_heads, pf_dim, dropout, device)
                                     for _ in range(n_layers)])
        self.fc_out = nn.Linear(hid_dim, output_dim)
        self.dropout = nn.Dropout(dropout)
        self.scale = torch.sqrt(torch.FloatTensor([hid_dim])).to(device)

    def forward(self, trg, enc_src, trg_mask, src_mask):
        batch_size = trg.shape[0]
        trg_len = trg.shape[1]
        pos = torch.arange(0, trg_len).unsqueeze(0).repeat(batch_size, 1).to(self.device)
        trg = self.dropout((self.tok_embedding(trg) * self.scale) + self.pos_embedding(pos))
        for layer in self.layers:
            trg, attention = layer(trg, enc_src, trg_mask, src_mask)
        output = self.fc_out(trg)
        return output, attention


class DecoderLayer(nn.Module):
    def __init__(self, hid_dim, n_heads, pf_dim, dropout, device):
        super().__init__()
        self.self_attn_layer_norm = nn.LayerNorm(hid_dim)
        self.enc_attn_layer_norm = nn.LayerNorm(hid_dim)
        self.ff_layer_norm = nn.LayerNorm(hid_dim)
        self.self_attention = MultiHeadAttentionLayer(hid_dim, n_heads, dropout, device)
        self.encoder_attention = MultiHeadAttentionLayer(hid_dim, n_heads, dropout, device)
        self.positionwise_feedforward = PositionwiseFeedforwardLayer(hid_dim, pf_dim, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, trg, enc_src, trg_mask, src_mask):
        _trg, _ = self.self_attention(trg, trg, trg, trg_mask)
        trg = self.self_attn_layer_norm(trg + self.dropout(_trg))
        _trg, attention = self.encoder_attention(trg, enc_src, enc_src, src_mask)
        trg = self.enc_attn_layer_norm(trg + self.dropout(_trg))
        _trg = self.positionwise_feedforward(trg)
        trg = self.ff_layer_norm(trg + self.dropout(_trg))
        return trg, attention


class Seq2Seq(nn.Module):
    def __init__(self, encoder, decoder, src_pad_idx, trg_pad_idx, device):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.src_pad_idx = src_pad_idx
        self.trg_pad_idx = trg_pad_idx
        self.device = device

    def make_src_mask(self, src):
        src_mask = (src != self.src_pad_idx).unsqueeze(1).unsqueeze(2)
        return src_mask

    def make_trg_mask(self, trg):
        trg_pad_mask = (trg != self.trg_pad_idx).unsqueeze(1).unsqueeze(2)
        trg_len = trg.shape[1]
        trg_sub_mask = torch.tril(torch.ones((trg_len, trg_len), device=self.device)).bool()
        trg_mask = trg_pad_mask & trg_sub_mask
        return trg_mask

    def forward(self, src, trg):
        src_mask = self.make_src_mask(src)
        trg_mask = self.make_trg_mask(trg)
        enc_src = self.encoder(src, src_mask)
        output, attention = self.decoder(trg, enc_src, trg_mask, src_mask)
        return output, attention


def initialize_weights(m):
    if hasattr(m, 'weight') and m.weight.dim() > 1:
        nn.init.xavier_uniform_(m.weight.data)


def build():
    enc = Encoder(INPUT_DIM, 8, 2, 2, 12, 0.0, device)
    dec = Decoder(OUTPUT_DIM, 8, 2, 2, 12, 0.0, device)
    model = Seq2Seq(enc, dec, SRC_PAD_IDX, TRG_PAD_IDX, device).to(device)
    model.apply(initialize_weights)
    return model


def data(rng):
    src = torch.tensor([[SOS, 4, 5, 6, EOS], [SOS, 7, EOS, SRC_PAD_IDX, SRC_PAD_IDX]])
    trg = torch.tensor([[SOS, 5, 6, 7, 8, EOS], [SOS, 9, 4, EOS, TRG_PAD_IDX, TRG_PAD_IDX]])
    return src, trg


def translate_sentence(src_indexes, model, max_len=6):
    model.eval()
    src_tensor = torch.LongTensor(src_indexes).unsqueeze(0).to(device)
    src_mask = model.make_src_mask(src_tensor)
    with torch.no_grad():
        enc_src = model.encoder(src_tensor, src_mask)
    trg_indexes = [SOS]
    for i in range(max_len):
        trg_tensor = torch.LongTensor(trg_indexes).unsqueeze(0).to(device)
        trg_mask = model.make_trg_mask(trg_tensor)
        with torch.no_grad():
            output, attention = model.decoder(trg_tensor, enc_src, trg_mask, src_mask)
        pred_token = output.argmax(2)[:, -1].item()
        trg_indexes.append(pred_token)
        if pred_token == EOS:
            break
    return trg_indexes, attention


def train(model, data):
    src, trg = data
    optimizer = optim.Adam(model.parameters(), lr=0.0005)
    criterion = nn.CrossEntropyLoss(ignore_index=TRG_PAD_IDX)
    results = []
    model.train()
    for step in range(3):
        optimizer.zero_grad()
        output, _ = model(src, trg[:, :-1])
        output_dim = output.shape[-1]
        output = output.contiguous().view(-1, output_dim)
        loss = criterion(output, trg[:, 1:].contiguous().view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1)
        optimizer.step()
        results.append((loss, output))
    results.append(translate_sentence([SOS, 4, 5, 6, EOS], model))
    return results
"""


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_sequence_program_gives_pytorchs_values(name):
    compare_with_pytorch(PROGRAMS[name])
