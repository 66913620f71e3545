"""What the command-line tools share: their error, argument parsing, and one helper per
optional dependency (tqdm, matplotlib, threadpoolctl) with the message that says how to
install it."""

from __future__ import annotations

import argparse
import math
import sys
import tempfile

__all__ = ["CLIError", "agg_figure", "blas_thread_limit", "damaged_checkpoint", "not_a_checkpoint", "not_this_kind",
           "output_folder", "progress_bar"]


class CLIError(Exception):
    """A problem to report in one line, with exit status ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


# what reading a checkpoint that parses but does not hold what --resume expects raises
CHECKPOINT_ERRORS = (AttributeError, IndexError, KeyError, TypeError, ValueError)


def damaged_checkpoint(path, error: Exception) -> CLIError:
    """The one-line error for a checkpoint file that parses (its bytes are a model file)
    but does not hold what ``--resume`` reads: damaged, or written by another version."""
    return CLIError(f"--resume: {path} is damaged or from another version ({type(error).__name__}: {error}); "
                    "train without --resume to start over")


# what each command's files say they are (the "format" metadata), and what to do with them
_KINDS = {
    "chainrule-classifier/1": "a classifier: evaluate it with 'chainrule eval'",
    "chainrule-charlm/1": "a character-level language model: sample from it with 'chainrule generate'",
    "chainrule-charlm/1-checkpoint": "a checkpoint: name the model.safetensors beside it",
}


def not_this_kind(path, metadata: dict, wanted: str) -> CLIError:
    """The one-line error for a model file that is not what the command reads (``wanted``:
    what it reads), saying what the file is and which command takes it, where it says."""
    kind = _KINDS.get(metadata.get("format", ""))
    if kind is None and "chainrule.checkpoint" in metadata:
        kind = _KINDS["chainrule-charlm/1-checkpoint"]
    return CLIError(f"{path}: not a model written by {wanted}" + (f"; it is {kind}" if kind else ""))


def not_a_checkpoint(path, metadata: dict, wanted: str) -> CLIError:
    """The one-line error for a ``--resume`` file that is not a checkpoint of ``wanted`` (the
    command line that reads it), naming the task that wrote it, where it says."""
    if metadata.get("format") == "chainrule-charlm/1-checkpoint":
        writer = "'chainrule train --task charlm'"
    elif "chainrule.checkpoint" in metadata:
        writer = "'chainrule train' (the classify task)"
    else:
        return CLIError(f"--resume: {path} is not a checkpoint written by {wanted}")
    return CLIError(f"--resume: {path} is a checkpoint of {writer}, not of {wanted}: pass the task it was "
                    "trained with, or another --out")


def output_folder(out) -> None:
    """Make the ``--out`` folder and try writing into it, before any training (not at
    the first checkpoint, an epoch later)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CLIError(f"cannot create the output directory {out}: {e.strerror or e}") from None
    try:
        tempfile.TemporaryFile(dir=out).close()
    except OSError as e:
        raise CLIError(f"cannot write into the output directory {out}: {e.strerror or e} (pass another --out)"
                       ) from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not the usage block
        raise CLIError(f"{message} (see '{self.prog} --help')", 2)


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _number(convert, accept, kind: str, what: str):
    """An argparse type: ``text`` read by ``convert`` (else "expected {kind}") and kept
    where ``accept`` holds (else "expected {what}")."""

    def parse(text: str):
        try:
            v = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if not accept(v):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v

    return parse


_positive_int = _number(int, lambda v: v >= 1, "a positive integer", "a positive integer")
_nonnegative_int = _number(int, lambda v: v >= 0, "an integer", "an integer of at least 0")
_positive_float = _number(float, lambda v: v > 0 and math.isfinite(v), "a number", "a positive number")
_nonnegative_float = _number(float, lambda v: v >= 0 and math.isfinite(v), "a number",
                             "a number of at least 0")


def _probability(text: str) -> float:
    v = _nonnegative_float(text)
    if v >= 1:
        raise argparse.ArgumentTypeError(f"expected a value in [0, 1), got {text!r}")
    return v


def _fraction(text: str) -> float:
    v = _positive_float(text)
    if v >= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}")
    return v


# -- optional dependencies: one helper each -----------------------------------------------------
def blas_thread_limit(n: int):
    """A threadpoolctl limit of ``n`` BLAS threads (``.unregister()`` lifts it), or None
    where threadpoolctl (installed with scikit-learn) is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=n, user_api="blas")


def progress_bar(tqdm, **options):
    """A tqdm progress bar on stderr, or None without tqdm (``tqdm`` is the module that
    :func:`_need` returned, or None for ``--no-progress``)."""
    return None if tqdm is None else tqdm.tqdm(file=sys.stderr, **options)


def agg_figure(figsize: tuple[float, float]):
    """A matplotlib Figure drawn by the Agg backend, set on this figure only (no display
    needed); :func:`_need` has checked that matplotlib is installed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _need(module: str, package: str, what: str, alternative: str):
    try:
        return __import__(module)
    except ImportError:
        raise CLIError(
            f"{what} needs the '{package}' package: pip install 'chainrule[train]' (or pass {alternative})"
        ) from None
