"""The ``chainrule`` command: train a classifier, evaluate a saved one.

    chainrule train                       # MLP on scikit-learn's digits: ~98.9 % test accuracy
    chainrule train --model cnn --epochs 20
    chainrule train --data mnist --data-path ~/data/mnist --hidden 256,128 --epochs 10
    chainrule eval runs/digits-mlp/model.safetensors
    mpiexec -n 4 chainrule train          # data-parallel on 4 processes (or: --nproc 4)
    chainrule train --resume              # go on from the last epoch's checkpoint
    chainrule train --task charlm         # a character-level language model (chainrule.charlm)
    chainrule generate chainrule-charlm/model.safetensors --prompt "def " --length 300

``train`` writes ``model.safetensors`` (with the architecture in its metadata),
``metrics.json`` and ``curves.png`` (loss and accuracy per epoch) to ``--out``, and a
``checkpoint.safetensors`` after every epoch (see :mod:`chainrule.cli_parallel` for
data-parallel runs and resuming). Bad
arguments and unreadable files give one line on stderr and a non-zero exit status.
Needs the ``train`` extra: ``pip install 'chainrule[train]'``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import charlm, data, distributed, io, nn, optim
from chainrule import cli_parallel as parallel
from chainrule.cli_common import (
    CLIError,
    _fraction,
    _int_list,
    _need,
    _nonnegative_float,
    _nonnegative_int,
    _Parser,
    _positive_float,
    _positive_int,
    _probability,
    agg_figure,
    blas_thread_limit,
    not_this_kind,
    output_folder,
    progress_bar,
)
from chainrule.core.heap import keep_freed_memory
from chainrule.data import DatasetError
from chainrule.io import ModelFileError
from chainrule.nn import StateDictError
from chainrule.optim import lr_scheduler as ls

__all__ = ["main", "build_model", "build_parser"]

CONFIG_KEY = "chainrule.config"
FORMAT = "chainrule-classifier/1"
ACTIVATIONS = ("tanh", "relu", "gelu", "silu", "sigmoid", "leaky_relu")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
SCHEDULES = ("none", "cosine", "step", "exponential", "warmup-cosine")
DEFAULT_LR = {"adam": 1e-3, "adamw": 1e-3, "sgd": 0.05, "rmsprop": 1e-3, "adagrad": 1e-2}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="chainrule", description="Train and evaluate models with chainrule.")
    sub = parser.add_subparsers(dest="command", metavar="{train,eval,generate}", parser_class=_Parser)

    t = sub.add_parser("train", help="train an MLP or a small CNN and save it")
    t.add_argument("--task", choices=("classify", "charlm"), default="classify",
                   help="classify (default; the options below) or charlm, a character-level language "
                        "model with options of its own: see 'chainrule train --task charlm --help'")
    t.add_argument("--data", choices=("digits", "mnist", "fashion-mnist"), default="digits",
                   help="dataset (default: digits, bundled with scikit-learn)")
    t.add_argument("--data-path", help="MNIST/Fashion-MNIST: a directory of IDX files or an .npz")
    t.add_argument("--test-fraction", type=_fraction, default=0.2,
                   help="digits: held-out fraction for testing (default 0.2)")
    t.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    t.add_argument("--hidden", type=_int_list, default=None,
                   help="hidden layer sizes, e.g. 128,128 (default: 256,256 for mlp, 64 for cnn)")
    t.add_argument("--channels", type=_int_list, default=[16, 32],
                   help="cnn: channels of the two convolutions (default 16,32)")
    t.add_argument("--activation", choices=ACTIVATIONS, default="relu", help="(default relu)")
    t.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    t.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: 1e-3 for adam/adamw/rmsprop (3e-3 for a cnn), "
                        "0.05 for sgd, 1e-2 for adagrad)")
    t.add_argument("--momentum", type=_probability, default=0.9,
                   help="sgd momentum, Nesterov's (default 0.9; 0 for plain sgd)")
    t.add_argument("--weight-decay", type=_nonnegative_float, default=0.0,
                   help="weight decay (default 0; 0.01 for adamw)")
    t.add_argument("--schedule", choices=SCHEDULES, default="cosine",
                   help="learning-rate schedule over the epochs (default cosine)")
    t.add_argument("--warmup-epochs", type=_nonnegative_int, default=2, help="for warmup-cosine (default 2)")
    t.add_argument("--dropout", type=_probability, default=0.0, help="dropout after each hidden layer (default 0)")
    t.add_argument("--label-smoothing", type=_probability, default=0.1,
                   help="cross-entropy label smoothing (default 0.1)")
    t.add_argument("--epochs", type=_positive_int, default=60)
    t.add_argument("--batch-size", type=_positive_int, default=64)
    t.add_argument("--seed", type=_nonnegative_int, default=0)
    t.add_argument("--out", default="chainrule-run", help="output directory (default ./chainrule-run)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--no-plot", action="store_true", help="do not write curves.png")
    t.add_argument("--threads", type=_positive_int, default=None,
                   help="BLAS threads (default: 1 for small models, where threads cost more than they give)")
    t.add_argument("--nproc", type=_positive_int, default=None,
                   help="train data-parallel on this many processes (starts itself under mpiexec; "
                        "needs the mpi extra)")
    t.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint in --out (written after every epoch)")

    e = sub.add_parser("eval", help="report the accuracy of a saved model")
    e.add_argument("model", type=_model_file,
                   help="a model.safetensors written by 'chainrule train' (or the --out folder holding it)")
    e.add_argument("--data-path", help="MNIST/Fashion-MNIST location, if not the one used in training")
    e.add_argument("--split", choices=("test", "train"), default="test")
    e.add_argument("--batch-size", type=_positive_int, default=512)

    g = sub.add_parser("generate", help="sample text from a model written by 'chainrule train --task charlm'")
    g.add_argument("model", type=_model_file,
                   help="a model.safetensors of a character-level language model (or the --out folder holding it)")
    g.add_argument("--prompt", default="", help="text to start from (default: none)")
    g.add_argument("--length", type=_positive_int, default=300, help="characters to generate (default 300)")
    g.add_argument("--temperature", type=_positive_float, default=0.8, help="(default 0.8)")
    g.add_argument("--seed", type=_nonnegative_int, default=None)
    return parser


def _model_file(path: str) -> str:
    """The model file named on the command line: a folder that 'chainrule train' wrote
    (its --out) stands for the model.safetensors in it."""
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "model.safetensors")):
            raise CLIError(f"{path}: a folder without a model.safetensors (train into it first, or name the "
                           "model file)")
        return os.path.join(path, "model.safetensors")
    return path


def _task(train_argv: Sequence[str]) -> str | None:
    """The value of ``--task`` among the arguments of ``train`` (None if absent), as argparse
    reads it: the last one given, spelled out or abbreviated (``--ta``, ``--tas``: no other
    option of ``train`` starts so), with its value after ``=`` or as the next argument."""
    task = None
    for i, a in enumerate(train_argv):
        if a == "--":
            break
        name, eq, value = a.partition("=")
        if len(name) >= 4 and "--task".startswith(name):
            if eq:
                task = value
            elif i + 1 < len(train_argv):
                task = train_argv[i + 1]
    return task


# -- models ---------------------------------------------------------------------------------
def _activation(name: str):
    return {
        "tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU,
        "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU,
    }[name]()


def build_model(config: dict[str, Any], rng=None):
    """The classifier that ``config`` (as stored in a model file's metadata) describes.

    >>> m = build_model({"model": "mlp", "input_shape": [64], "classes": 10,
    ...                  "hidden": [32], "activation": "relu"})
    >>> [type(l).__name__ for l in m]
    ['Linear', 'ReLU', 'Linear']
    """
    try:
        kind = config["model"]
        shape = [int(s) for s in config["input_shape"]]
        classes = int(config["classes"])
        hidden = [int(h) for h in config["hidden"]]
        act = config["activation"]
        dropout = float(config.get("dropout", 0.0))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"incomplete model config ({e})") from None
    if act not in ACTIVATIONS:
        raise ValueError(f"unknown activation {act!r} in the model config")
    layers: list = []
    if kind == "mlp":
        width = int(np.prod(shape))
        for h in hidden:
            layers += [nn.Linear(width, h, rng=rng), _activation(act)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
    elif kind == "cnn":
        c1, c2 = (int(c) for c in config.get("channels", (16, 32)))
        channels, height, width_px = shape
        layers += [nn.Conv2d(channels, c1, 3, padding=1, rng=rng), _activation(act), nn.MaxPool2d(2),
                   nn.Conv2d(c1, c2, 3, padding=1, rng=rng), _activation(act), nn.MaxPool2d(2), nn.Flatten()]
        width = c2 * (height // 4) * (width_px // 4)
        if width == 0:
            raise ValueError(f"images of shape {shape} are too small for the cnn (two 2x2 poolings)")
        for h in hidden:
            layers += [nn.Linear(width, h, rng=rng), _activation(act)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
    else:
        raise ValueError(f"unknown model kind {kind!r} in the model config")
    layers.append(nn.Linear(width, classes, rng=rng))
    return nn.Sequential(*layers)


# -- data -------------------------------------------------------------------------------------
def _load_data(config: dict[str, Any], data_path: str | None = None):
    flatten = config["model"] == "mlp"
    name = config["data"]
    if name == "digits":
        return data.load_digits(test_fraction=config["test_fraction"], seed=config["seed"], flatten=flatten)
    path = data_path or config.get("data_path")
    if not path:
        raise CLIError(f"--data {name} needs --data-path (a directory of IDX files or an .npz)", 2)
    train_set, test_set = data.load_mnist(path, flatten=flatten)
    empty = [split for split, part in (("training", train_set), ("test", test_set)) if not len(part)]
    if empty:  # nothing to train on, or an accuracy of no images
        raise CLIError(f"{path}: the {' and the '.join(empty)} images are none: give a file with images in both "
                       "splits")
    return train_set, test_set


def _evaluate(model, dataset, batch_size: int = 1024) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over ``dataset``, in eval mode, without a graph."""
    x_all, y_all = dataset.arrays
    total_loss, correct = 0.0, 0
    was_training = model.training
    model.eval()
    with cr.no_grad():
        for start in range(0, len(y_all), batch_size):
            x, y = x_all[start : start + batch_size], y_all[start : start + batch_size]
            logits = model(x)
            total_loss += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((np.asarray(logits).argmax(axis=1) == y).sum())
    model.train(was_training)
    n = max(len(y_all), 1)
    return total_loss / n, correct / n


def _limit_threads(n: int | None, config: dict[str, Any]):
    """Cap BLAS threads (threadpoolctl, installed with scikit-learn) for small models:
    their matrices are too small to split, and idle threads spinning on a busy machine
    slow every product down."""
    if n is None:
        n = 1 if config["model"] == "mlp" or config["data"] == "digits" else None
    return None if n is None else blas_thread_limit(n)


# -- train ------------------------------------------------------------------------------------
def _learning_rate(args) -> float:
    if args.lr is not None:
        return args.lr
    if args.model == "cnn" and args.optimizer in ("adam", "adamw"):
        return 3e-3
    return DEFAULT_LR[args.optimizer]


def _make_optimizer(args, params):
    lr = _learning_rate(args)
    wd = args.weight_decay
    if args.optimizer == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if args.optimizer == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd or 1e-2)
    if args.optimizer == "sgd":
        return optim.SGD(params, lr=lr, momentum=args.momentum, nesterov=args.momentum > 0, weight_decay=wd)
    if args.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=lr, weight_decay=wd)
    return optim.Adagrad(params, lr=lr, weight_decay=wd)


def _make_schedule(args, opt, steps_per_epoch: int):
    total = args.epochs * steps_per_epoch
    if args.schedule == "none":
        return None
    if args.schedule == "cosine":
        return ls.CosineAnnealingLR(opt, T_max=total)
    if args.schedule == "step":
        return ls.StepLR(opt, step_size=max(1, total // 3), gamma=0.1)
    if args.schedule == "exponential":
        return ls.ExponentialLR(opt, gamma=0.01 ** (1 / max(total, 1)))  # down 100× by the end
    warmup = min(args.warmup_epochs, args.epochs - 1) * steps_per_epoch
    return ls.warmup_cosine(opt, warmup_steps=warmup, total_steps=total)


def _train(args) -> dict[str, Any]:
    if args.lr is not None and args.lr > 10:
        raise CLIError(f"--lr {args.lr} is far too large for any of these optimizers", 2)
    if args.data != "digits" and not args.data_path:
        raise CLIError(f"--data {args.data} needs --data-path (a directory of IDX files or an .npz)", 2)
    if len(args.channels) != 2:
        raise CLIError(f"--channels takes the sizes of the two convolutions, e.g. 16,32; got {len(args.channels)} "
                       "sizes", 2)
    if args.data == "digits" and args.data_path:
        raise CLIError("--data-path is for --data mnist or fashion-mnist; digits come with scikit-learn", 2)
    if args.data == "digits":
        _need("sklearn", "scikit-learn", "the digits dataset", "--data mnist --data-path PATH")
    tqdm = None if args.no_progress else _need("tqdm", "tqdm", "the progress bar", "--no-progress")
    if not args.no_plot:
        _need("matplotlib", "matplotlib", "the curves plot", "--no-plot")

    config = {
        "format": FORMAT,
        "data": args.data,
        "data_path": str(Path(args.data_path).resolve()) if args.data_path else None,
        "test_fraction": args.test_fraction,
        "seed": args.seed,
        "model": args.model,
        "hidden": args.hidden or ([256, 256] if args.model == "mlp" else [64]),
        "channels": args.channels,
        "activation": args.activation,
        "dropout": args.dropout,
    }

    world = parallel.setup()  # a job of one, unless started by mpiexec or srun
    if args.batch_size < world.size:
        raise CLIError(f"--batch-size {args.batch_size} is smaller than the {world.size} processes that share it", 2)
    train_set, test_set = _load_data(config)
    x_train, y_train = train_set.arrays
    config["input_shape"] = list(x_train.shape[1:])
    config["classes"] = int(max(y_train.max(), test_set.arrays[1].max())) + 1
    out = Path(args.out)
    output_folder(out)
    # what must not change between a run and its --resume
    options = {**config, **{k: getattr(args, k) for k in (
        "optimizer", "lr", "momentum", "weight_decay", "schedule", "warmup_epochs", "label_smoothing",
        "epochs", "batch_size")}}

    limits = _limit_threads(world.threads(args.threads), config)
    keep_freed_memory()
    try:
        nn.init.manual_seed(args.seed if world.rank == 0 else [args.seed, world.rank])  # dropout masks
        model = build_model(config, rng=np.random.default_rng(args.seed))
        net = world.wrap(model)  # averages the gradients over the processes
        opt = _make_optimizer(args, model.parameters())
        loader = data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=args.seed)
        sched = _make_schedule(args, opt, len(loader))
        history = []
        done = 0
        if args.resume:
            done, history = parallel.load_checkpoint(out, options, model, opt, sched, loader.generator, world)
        bar = progress_bar(tqdm if world.is_root else None, total=args.epochs * len(loader),
                           initial=done * len(loader), desc="train", unit="step", leave=True)
        start = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
        for epoch in range(done + 1, args.epochs + 1):
            model.train()
            loss_sum, correct, seen = 0.0, 0, 0
            for x, y in loader:
                x, y, weight = world.part(x, y)  # this process's share of the global batch
                n = len(y)
                opt.zero_grad()
                logits = net(x)
                # an empty share (the last batch, smaller than the job) adds 0 and zero
                # gradients, where the mean of no values would be nan
                loss = F.cross_entropy(logits, y, label_smoothing=args.label_smoothing,
                                       reduction="mean" if n else "sum")
                (loss if weight == 1.0 else loss * weight).backward()
                opt.step()
                if sched is not None:
                    sched.step()
                scores = logits.detach()
                if args.label_smoothing and n:  # report the plain cross-entropy, comparable with the test loss
                    loss = F.cross_entropy(scores, y)
                loss_value = float(loss.item())
                if not math.isfinite(loss_value):
                    raise CLIError(f"the loss diverged to {loss_value} in epoch {epoch}; try a smaller --lr")
                loss_sum += loss_value * n
                correct += int((scores.numpy().argmax(axis=1) == y.numpy()).sum())
                seen += n
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(epoch=epoch, loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}",
                                    refresh=False)
            loss_sum, correct, seen = world.sum(loss_sum, correct, seen)
            test_loss, test_acc = world.evaluate(_evaluate, model, test_set)
            history.append({
                "epoch": epoch,
                "train_loss": loss_sum / seen,
                "train_accuracy": correct / seen,
                "test_loss": test_loss,
                "test_accuracy": test_acc,
                "lr": opt.param_groups[0]["lr"],
                "seconds": time.perf_counter() - start,
            })
            parallel.save_checkpoint(out, epoch, options, model, opt, sched, loader.generator, history, world)
            if bar is not None:
                bar.set_postfix(epoch=epoch, loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}",
                                test_acc=f"{test_acc:.3f}")
        if bar is not None:
            bar.close()
        seconds = time.perf_counter() - start
        train_loss, train_acc = world.evaluate(_evaluate, model, train_set)
        test_loss, test_acc = world.evaluate(_evaluate, model, test_set)
    finally:
        if limits is not None:
            limits.unregister()

    metrics = {
        "config": config,
        "optimizer": {"name": args.optimizer, "lr": _learning_rate(args),
                      "schedule": args.schedule, "epochs": args.epochs, "batch_size": args.batch_size},
        "history": history,
        "final": {"train_loss": train_loss, "train_accuracy": train_acc,
                  "test_loss": test_loss, "test_accuracy": test_acc},
        "train_seconds": seconds,
        "processes": world.size,
    }
    if not world.is_root:  # rank 0 writes and prints for everyone
        return metrics
    io.save(model.state_dict(), out / "model.safetensors",
            metadata={"format": FORMAT, CONFIG_KEY: json.dumps(config)})
    tmp = out / "metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2))
    os.replace(tmp, out / "metrics.json")
    if not args.no_plot:
        _plot(history, out / "curves.png", f"{config['model']} on {config['data']}")
    print(f"train accuracy: {train_acc:.4f}  test accuracy: {test_acc:.4f}  ({seconds:.1f} s)")
    print(f"wrote {out / 'model.safetensors'}, {out / 'metrics.json'}"
          + ("" if args.no_plot else f", {out / 'curves.png'}"))
    return metrics


def _plot(history: list[dict], path: Path, title: str) -> None:
    epochs = [h["epoch"] for h in history]
    fig = agg_figure((9, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(epochs, [h["train_loss"] for h in history], label="train")
    ax1.plot(epochs, [h["test_loss"] for h in history], label="test")
    ax1.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax1.set_yscale("log")
    ax2.plot(epochs, [h["train_accuracy"] for h in history], label="train")
    ax2.plot(epochs, [h["test_accuracy"] for h in history], label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png", dpi=100)
    os.replace(tmp, path)


# -- eval -------------------------------------------------------------------------------------
def _eval(args) -> float:
    meta = io.load_metadata(args.model)
    if CONFIG_KEY not in meta or meta.get("format", FORMAT) != FORMAT:
        raise not_this_kind(args.model, meta, "'chainrule train'")
    try:
        config = json.loads(meta[CONFIG_KEY])
        model = build_model(config)
    except (json.JSONDecodeError, ValueError) as e:
        raise CLIError(f"{args.model}: bad model config in the metadata ({e})") from None
    model.load_state_dict(io.load(args.model))
    try:
        if config.get("data") not in ("digits", "mnist", "fashion-mnist"):
            raise ValueError(f"unknown data {config.get('data')!r}")
        if config["data"] == "digits" and args.data_path:  # as train refuses it
            raise CLIError("--data-path is for a model trained on mnist or fashion-mnist; this one was trained on "
                           "digits, which come with scikit-learn", 2)
        train_set, test_set = _load_data(config, args.data_path)
    except DatasetError:  # the data's files, not the config
        raise
    except (KeyError, TypeError, ValueError) as e:  # an edited config: a missing entry, a value of the wrong kind
        raise CLIError(f"{args.model}: bad model config in the metadata ({type(e).__name__}: {e})") from None
    dataset = test_set if args.split == "test" else train_set
    expected = tuple(config["input_shape"])
    if tuple(dataset.arrays[0].shape[1:]) != expected:
        raise CLIError(f"the data has samples of shape {dataset.arrays[0].shape[1:]}, the model expects {expected}")
    loss, acc = _evaluate(model, dataset, args.batch_size)
    n = len(dataset)
    print(f"{args.split} accuracy: {acc:.4f} ({int(round(acc * n))}/{n})  loss: {loss:.4f}")
    return acc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args_list = list(sys.argv[1:] if argv is None else argv)
        if args_list[:1] == ["train"] and _task(args_list[1:]) == "charlm":  # a parser of its own
            charlm.train_main(args_list[1:])
            return 0
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        if args.command == "train":
            if args.nproc is not None and not parallel.launched_by_mpi():
                return parallel.relaunch(args.nproc, list(sys.argv[1:] if argv is None else argv))
            _train(args)
        elif args.command == "generate":
            print(charlm.generate(args.model, args.prompt, args.length, args.temperature, args.seed))
        else:
            _eval(args)
        return 0
    except CLIError as e:
        return _fail(f"chainrule: error: {e}", e.code)
    except KeyboardInterrupt:
        return _fail("chainrule: interrupted", 130)
    except BrokenPipeError:  # the reader of the output went away ('chainrule generate ... | head'): not an error
        _stdout_to_devnull()
        return 1
    except MemoryError as e:
        return _fail(f"chainrule: error: out of memory ({e or 'the model or a batch is too large'}); try a "
                     "smaller model or --batch-size", 1)
    except Exception as e:
        if isinstance(e, DatasetError | ModelFileError | StateDictError | FileNotFoundError | ImportError):
            return _fail(f"chainrule: error: {e}", 1)
        if isinstance(e, OSError):
            where = f"{e.filename}: " if e.filename else ""
            return _fail(f"chainrule: error: {where}{e.strerror or e}", 1)
        if parallel.launched_by_mpi():  # the others would wait for this process forever
            return _fail(traceback.format_exc().rstrip(), 1)
        raise


def _stdout_to_devnull() -> None:
    """Point standard output at os.devnull, so that flushing it at exit does not raise the
    broken pipe again (Python's advice for SIGPIPE, in the signal module's documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # no file descriptor (a captured stdout)
        pass


def _fail(message: str, code: int) -> int:
    """Report an error; in a data-parallel job, end every process with it (the others may
    be waiting for this one in a collective)."""
    if parallel.launched_by_mpi() and distributed.is_initialized() and distributed.world_size() > 1:
        distributed.abort(message, code)
    print(message, file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
