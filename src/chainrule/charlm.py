"""A character-level language model from the command line.

    chainrule train --task charlm                    # a small Transformer on the stdlib's source
    chainrule train --task charlm --model lstm --data corpus.txt --epochs 20
    chainrule train --task charlm --resume --out chainrule-charlm   # go on from the last epoch
    chainrule generate chainrule-charlm/model.safetensors --prompt "def " --length 300

The default data needs no download: the Python source files at the top of the standard
library of the interpreter that runs the command, in sorted order up to ``--max-chars``
characters, split into training and held-out text by file (every tenth file held out).
``--data PATH`` takes any text file, or a folder whose text files (sorted) are read the
same way. An epoch is ``--steps`` steps on random windows of the training text; after
each, the held-out loss in bits per character is measured on fixed windows, and
``model.safetensors`` (weights, architecture and vocabulary), ``checkpoint.safetensors``
(with the optimizer's state and the dropout generator's), ``metrics.json`` and ``curves.png`` are written to
``--out``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import io, nn, optim
from chainrule.cli_common import (
    CHECKPOINT_ERRORS,
    CLIError,
    _need,
    _nonnegative_int,
    _Parser,
    _positive_float,
    _positive_int,
    _probability,
    agg_figure,
    blas_thread_limit,
    damaged_checkpoint,
    not_a_checkpoint,
    not_this_kind,
    output_folder,
    progress_bar,
)
from chainrule.cli_parallel import launched_by_mpi
from chainrule.core.heap import keep_freed_memory
from chainrule.data.datasets import read_bytes
from chainrule.io import ModelFileError

__all__ = ["CharTransformer", "CharLSTM", "build_model", "load_corpus", "train_main", "generate"]

FORMAT = "chainrule-charlm/1"
CONFIG_KEY = "chainrule.config"
ARCH_KEYS = ("model", "vocab", "seq_len", "d_model", "layers", "heads", "ff", "hidden", "dropout")


# -- models ---------------------------------------------------------------------------------
def build_model(config: dict[str, Any], rng=None):
    """The network that ``config`` (as stored in a model file) describes.

    >>> m = build_model({"model": "lstm", "vocab": "ab", "seq_len": 8, "hidden": 16, "layers": 1,
    ...                  "d_model": 8, "dropout": 0.0})
    >>> type(m).__name__
    'CharLSTM'
    """
    kind = config.get("model")
    if kind == "transformer":
        return CharTransformer(len(config["vocab"]), config["seq_len"], config["d_model"], config["layers"],
                               config["heads"], config["ff"], config["dropout"], rng=rng)
    if kind == "lstm":
        return CharLSTM(len(config["vocab"]), config["d_model"], config["hidden"], config["layers"],
                        config["dropout"], rng=rng)
    raise ValueError(f"unknown language model kind {kind!r}")


class CharTransformer(nn.Module):
    """A decoder-only Transformer: token and learned position embeddings, pre-norm
    encoder layers under a causal mask, a final LayerNorm and a linear read-out."""

    def __init__(self, vocab: int, seq_len: int, d_model: int, layers: int, heads: int, ff: int,
                 dropout: float, rng=None):
        super().__init__()
        gen = self.generator = np.random.default_rng(rng)  # the initial values, then the dropout masks
        self.seq_len = seq_len
        self.tokens = nn.Embedding(vocab, d_model, rng=gen)
        self.positions = nn.Embedding(seq_len, d_model, rng=gen)
        for emb in (self.tokens, self.positions):
            emb.weight._value *= 0.02  # GPT-2's N(0, 0.02) start
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, activation="gelu", batch_first=True,
                                           norm_first=True, rng=gen)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab, rng=gen)

    def forward(self, idx, state=None):
        x = self.tokens(idx) + self.positions(np.arange(idx.shape[1]))
        return self.head(self.norm(self.encoder(x, is_causal=True))), None


class CharLSTM(nn.Module):
    """Embedding, a stacked LSTM and a linear read-out; carries its state in generation."""

    def __init__(self, vocab: int, d_model: int, hidden: int, layers: int, dropout: float, rng=None):
        super().__init__()
        gen = self.generator = np.random.default_rng(rng)  # the initial values, then the dropout masks
        self.tokens = nn.Embedding(vocab, d_model, rng=gen)
        self.lstm = nn.LSTM(d_model, hidden, layers, batch_first=True, dropout=dropout, rng=gen)
        self.head = nn.Linear(hidden, vocab, rng=gen)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.tokens(idx), state)
        return self.head(out), state


# -- data -------------------------------------------------------------------------------------
def _text_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise ValueError(f"{path}: the folder holds no files")
    return files


def load_corpus(data: str | None, max_chars: int) -> tuple[str, str, str]:
    """(training text, held-out text, description). Files are split by position: every
    tenth file (and, for one file, its last tenth) is held out.

    >>> train, held, what = load_corpus(None, 200_000)
    >>> len(train) > len(held) > 0
    True
    """
    if data is None:
        root = Path(sysconfig.get_paths()["stdlib"])
        files = sorted(root.glob("*.py"))
        what = f"the Python {sys.version_info.major}.{sys.version_info.minor} standard library ({root})"
    else:
        files = _text_files(Path(data))
        what = str(data)
    texts, total = [], 0
    for f in files:
        if total >= max_chars:
            break
        raw = read_bytes(f)  # a gzipped text too
        if b"\0" in raw[:4096]:
            continue  # a binary file in the folder
        text = raw.decode("utf-8", errors="replace")[: max_chars - total]
        if text:  # an empty file is no text to hold out
            texts.append(text)
        total += len(text)
    if total < 2:
        raise ValueError(f"{what}: no text to train on")
    if len(texts) < 2:
        cut = int(len(texts[0]) * 0.9) if texts else 0
        return texts[0][:cut], texts[0][cut:], what
    held = [t for i, t in enumerate(texts) if i % 10 == 9] or [texts[-1]]
    train = [t for i, t in enumerate(texts) if i % 10 != 9] if len(texts) >= 10 else texts[:-1]
    return "\n".join(train), "\n".join(held), what


def _encode(text: str, vocab: str) -> np.ndarray:
    table = {c: i for i, c in enumerate(vocab)}
    unknown = table.get("?", 0)
    return np.fromiter((table.get(c, unknown) for c in text), dtype=np.int64, count=len(text))


def _windows(ids: np.ndarray, starts: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    idx = starts[:, None] + np.arange(length + 1)
    chunk = ids[idx]
    return chunk[:, :-1], chunk[:, 1:]


# -- training ---------------------------------------------------------------------------------
def build_parser() -> _Parser:
    p = _Parser(prog="chainrule train --task charlm", description="Train a character-level language model.")
    p.add_argument("--task", choices=("charlm",), default="charlm")
    p.add_argument("--model", choices=("transformer", "lstm"), default="transformer")
    p.add_argument("--data", default=None,
                   help="a text file or a folder of text files (default: the standard library's .py files)")
    p.add_argument("--max-chars", type=_positive_int, default=3_000_000,
                   help="read at most this many characters (default 3,000,000)")
    p.add_argument("--seq-len", type=_positive_int, default=64, help="characters per window (default 64)")
    p.add_argument("--d-model", type=_positive_int, default=64, help="embedding width (default 64)")
    p.add_argument("--layers", type=_positive_int, default=2, help="(default 2)")
    p.add_argument("--heads", type=_positive_int, default=4, help="transformer: attention heads (default 4)")
    p.add_argument("--ff", type=_positive_int, default=256, help="transformer: feed-forward width (default 256)")
    p.add_argument("--hidden", type=_positive_int, default=128, help="lstm: hidden size (default 128)")
    p.add_argument("--dropout", type=_probability, default=0.0, help="(default 0)")
    p.add_argument("--lr", type=_positive_float, default=2e-3, help="Adam's learning rate (default 2e-3)")
    p.add_argument("--clip", type=_positive_float, default=1.0, help="gradient-norm clipping (default 1)")
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument("--steps", type=_positive_int, default=200, help="steps per epoch (default 200)")
    p.add_argument("--epochs", type=_positive_int, default=10)
    p.add_argument("--eval-windows", type=_positive_int, default=128,
                   help="held-out windows measured after each epoch (default 128)")
    p.add_argument("--max-minutes", type=_positive_float, default=None,
                   help="stop after this much training time (the epoch under way is cut short and saved)")
    p.add_argument("--seed", type=_nonnegative_int, default=0)
    p.add_argument("--out", default="chainrule-charlm", help="output directory (default ./chainrule-charlm)")
    p.add_argument("--resume", action="store_true", help="continue from --out's checkpoint.safetensors")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--threads", type=_positive_int, default=1,
                   help="BLAS threads (default 1: on a small machine shared with other work, threads that "
                        "wait for a core cost more than they give)")
    return p


def _config(args, vocab: str) -> dict[str, Any]:
    return {"format": FORMAT, "model": args.model, "vocab": vocab, "seq_len": args.seq_len,
            "d_model": args.d_model, "layers": args.layers, "heads": args.heads, "ff": args.ff,
            "hidden": args.hidden, "dropout": args.dropout, "data": args.data, "max_chars": args.max_chars,
            "seed": args.seed, "lr": args.lr, "batch_size": args.batch_size, "steps": args.steps}


def _loss(model, x, y):
    logits, _ = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def _heldout_bpc(model, ids: np.ndarray, seq_len: int, n_windows: int, batch: int) -> float:
    room = len(ids) - seq_len - 1
    if room < 0:
        raise ValueError(f"the held-out text ({len(ids)} characters) is shorter than one window of {seq_len + 1}")
    starts = np.linspace(0, room, min(n_windows, room + 1)).astype(np.int64)
    total = 0.0
    model.eval()
    with cr.no_grad():
        for i in range(0, len(starts), batch):
            x, y = _windows(ids, starts[i : i + batch], seq_len)
            total += float(_loss(model, x, y).item()) * len(x)
    model.train()
    return total / len(starts) / math.log(2)


def _save_checkpoint(path: Path, model, opt, config, history) -> None:
    meta = {"format": FORMAT + "-checkpoint", CONFIG_KEY: json.dumps(config)}
    # the model's generator too, so that a resumed run draws the dropout masks a straight run would
    io.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "history": history,
             "dropout": model.generator.bit_generator.state}, path, metadata=meta)


def _load_checkpoint(path: Path, model, opt) -> list[dict]:
    """Restore the model, the optimizer and the dropout generator; returns the history so far."""
    checkpoint = io.load(path)
    model.load_state_dict(checkpoint["model"])
    opt.load_state_dict(checkpoint["optimizer"])
    if "dropout" in checkpoint:  # (absent from the checkpoints of earlier versions)
        model.generator.bit_generator.state = checkpoint["dropout"]
    return list(checkpoint["history"])


def train_main(argv: list[str]) -> dict[str, Any]:
    """``chainrule train --task charlm ...``: train, write the files, return the metrics."""
    args = build_parser().parse_args(argv)
    if launched_by_mpi():  # each process would train a model of its own and write the same files
        raise CLIError("--task charlm trains in one process: run it without mpiexec or srun "
                       "(data-parallel training is for the classify task)", 2)
    tqdm = None if args.no_progress else _need("tqdm", "tqdm", "the progress bar", "--no-progress")
    if not args.no_plot:
        _need("matplotlib", "matplotlib", "the curves plot", "--no-plot")
    if args.model == "transformer" and args.d_model % args.heads:
        raise CLIError(f"--d-model {args.d_model} must be divisible by --heads {args.heads}", 2)
    out = Path(args.out)
    ckpt = out / "checkpoint.safetensors"
    if args.resume and not ckpt.exists():
        raise CLIError(f"--resume: {ckpt} does not exist (train without --resume first)")
    try:
        train_text, held_text, what = load_corpus(args.data, args.max_chars)
    except ValueError as e:
        raise CLIError(str(e)) from None
    vocab = "".join(sorted(set(train_text) | set(held_text)))
    config = _config(args, vocab)
    train_ids, held_ids = _encode(train_text, vocab), _encode(held_text, vocab)
    if len(train_ids) <= args.seq_len + 1:
        raise CLIError(f"the training text has {len(train_ids)} characters: too short for --seq-len {args.seq_len}")
    if len(held_ids) < args.seq_len + 1:  # one window: seq_len characters and the next one
        raise CLIError(f"the held-out text has {len(held_ids)} characters: too short for --seq-len {args.seq_len} "
                       f"(it needs {args.seq_len + 1}); give more text or a shorter --seq-len")
    output_folder(out)
    nn.init.manual_seed(args.seed)
    model = build_model(config, rng=args.seed)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    history: list[dict] = []
    if args.resume:
        metadata = io.load_metadata(ckpt)
        ours = FORMAT + "-checkpoint"
        if metadata.get("format", ours) != ours or "chainrule.checkpoint" in metadata:  # another task's
            raise not_a_checkpoint(ckpt, metadata, "'chainrule train --task charlm'")
        try:
            saved = json.loads(metadata.get(CONFIG_KEY, "{}"))
            changed = [k for k in ARCH_KEYS if saved.get(k) != config.get(k)]
            if not changed:
                history = _load_checkpoint(ckpt, model, opt)
        except ModelFileError:  # says what is wrong with the file's bytes itself
            raise
        except CHECKPOINT_ERRORS as e:
            raise damaged_checkpoint(ckpt, e) from None
        if changed:
            raise CLIError(f"--resume: the checkpoint was trained with other {', '.join(changed)}; "
                           "pass the same options (or a new --out)")
        if len(history) >= args.epochs:
            done = f"{len(history)} epoch{'s' * (len(history) != 1)}"
            raise CLIError(f"--resume: {ckpt} has trained {done} already; pass --epochs above {len(history)} "
                           "to train more")
    keep_freed_memory()
    limits = blas_thread_limit(args.threads)
    try:
        return _train_loop(args, model, opt, config, history, train_ids, held_ids, what, out, ckpt, tqdm)
    finally:
        if limits is not None:
            limits.unregister()


def _train_loop(args, model, opt, config, history, train_ids, held_ids, what, out, ckpt, tqdm) -> dict:
    first = len(history) + 1
    tokens_per_step = args.batch_size * args.seq_len
    budget = None if args.max_minutes is None else args.max_minutes * 60.0
    bar = progress_bar(tqdm, total=(args.epochs - first + 1) * args.steps, desc="charlm", unit="step")
    start = time.perf_counter()
    spent_before = history[-1]["seconds"] if history else 0.0
    stopped = False
    for epoch in range(first, args.epochs + 1):
        rng = np.random.default_rng([args.seed, epoch])  # the same batches after --resume
        loss_sum, steps = 0.0, 0
        epoch_start = time.perf_counter()
        for _ in range(args.steps):
            starts = rng.integers(0, len(train_ids) - args.seq_len - 1, args.batch_size)
            x, y = _windows(train_ids, starts, args.seq_len)
            opt.zero_grad()
            loss = _loss(model, x, y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            value = float(loss.item())
            if not math.isfinite(value):
                raise CLIError(f"the loss diverged to {value} in epoch {epoch}; try a smaller --lr")
            loss_sum += value
            steps += 1
            elapsed = time.perf_counter() - start
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch, bpc=f"{loss_sum / steps / math.log(2):.3f}",
                                tok_s=f"{tokens_per_step * bar.n / max(elapsed, 1e-9):,.0f}", refresh=False)
            if budget is not None and elapsed >= budget:
                stopped = True
                break
        epoch_seconds = time.perf_counter() - epoch_start
        held = _heldout_bpc(model, held_ids, args.seq_len, args.eval_windows, args.batch_size)
        seconds = spent_before + time.perf_counter() - start
        prev_tokens = history[-1]["tokens"] if history else 0
        history.append({"epoch": epoch, "steps": steps, "tokens": prev_tokens + steps * tokens_per_step,
                        "train_bpc": loss_sum / steps / math.log(2), "heldout_bpc": held, "seconds": seconds,
                        "tokens_per_second": steps * tokens_per_step / max(epoch_seconds, 1e-9)})
        if bar is not None:
            bar.set_postfix(epoch=epoch, heldout_bpc=f"{held:.3f}")
        io.save(model.state_dict(), out / "model.safetensors",
                metadata={"format": FORMAT, CONFIG_KEY: json.dumps(config)})
        _save_checkpoint(ckpt, model, opt, config, history)
        _write_metrics(out, config, what, history, args.no_plot)
        if stopped:
            break
    if bar is not None:
        bar.close()
    total = time.perf_counter() - start
    tokens = (history[-1]["tokens"] - (history[first - 2]["tokens"] if first > 1 else 0)) if history else 0
    print(f"held-out: {history[-1]['heldout_bpc']:.3f} bits per character after {history[-1]['tokens']:,} "
          f"training characters ({tokens / max(total, 1e-9):,.0f} characters/s)")
    print(f"wrote {out / 'model.safetensors'}, {ckpt}, {out / 'metrics.json'}"
          + ("" if args.no_plot else f", {out / 'curves.png'}"))
    return json.loads((out / "metrics.json").read_text())


def _write_metrics(out: Path, config, what: str, history: list[dict], no_plot: bool) -> None:
    last = history[-1]
    metrics = {"config": {k: v for k, v in config.items() if k != "vocab"}, "vocab_size": len(config["vocab"]),
               "data": what, "history": history,
               "final": {"heldout_bpc": last["heldout_bpc"], "train_bpc": last["train_bpc"],
                         "tokens": last["tokens"], "seconds": last["seconds"]}}
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2))
    os.replace(tmp, out / "metrics.json")
    if not no_plot:
        _plot(history, out / "curves.png", f"character-level {config['model']}")


def _plot(history: list[dict], path: Path, title: str) -> None:
    fig = agg_figure((6, 3.6))
    ax = fig.subplots()
    tokens = [h["tokens"] for h in history]
    ax.plot(tokens, [h["train_bpc"] for h in history], marker="o", label="train")
    ax.plot(tokens, [h["heldout_bpc"] for h in history], marker="o", label="held-out")
    ax.set(xlabel="training characters", ylabel="bits per character", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png", dpi=100)
    os.replace(tmp, path)


# -- generation -------------------------------------------------------------------------------
def generate(model_path: str, prompt: str = "", length: int = 300, temperature: float = 0.8, seed=None) -> str:
    """``prompt`` followed by ``length`` sampled characters (without a prompt, the first
    is drawn uniformly from the vocabulary)."""
    meta = io.load_metadata(model_path)
    if meta.get("format") != FORMAT or CONFIG_KEY not in meta:
        raise not_this_kind(model_path, meta, "'chainrule train --task charlm'")
    try:
        config = json.loads(meta[CONFIG_KEY])
        model = build_model(config)
        vocab, seq_len, kind = str(config["vocab"]), int(config.get("seq_len", 0)), config["model"]
    except (AttributeError, KeyError, TypeError, ValueError) as e:  # an edited config
        raise CLIError(f"{model_path}: bad model config in the metadata ({type(e).__name__}: {e})") from None
    model.load_state_dict(io.load(model_path))
    model.eval()
    missing = sorted(set(prompt) - set(vocab))
    if missing:
        raise CLIError(f"the prompt has characters the model never saw: {''.join(missing)!r}")
    rng = np.random.default_rng(seed)
    ids = list(_encode(prompt, vocab)) or [int(rng.integers(len(vocab)))]
    text = prompt or vocab[ids[0]]
    state, fed = None, 0
    with cr.no_grad():
        for _ in range(length - (not prompt)):
            if kind == "lstm":  # carry the state: feed only what is new
                logits, state = model(np.array([ids[fed:]]), state)
                fed = len(ids)
            else:
                logits, _ = model(np.array([ids[-seq_len:]]))
            z = np.asarray(logits.detach().numpy()[0, -1], dtype=np.float64) / temperature
            p = np.exp(z - z.max())
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            ids.append(nxt)
            text += vocab[nxt]
    return text
