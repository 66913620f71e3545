"""``chainrule train --task charlm`` and ``chainrule generate``: tiny runs on tiny text."""

import gzip
import json

import numpy as np
import pytest

from chainrule import charlm, io
from chainrule.cli import main

pytest.importorskip("matplotlib")

TINY = ["--seq-len", "12", "--d-model", "16", "--layers", "1", "--heads", "2", "--ff", "24", "--hidden", "16",
        "--steps", "6", "--batch-size", "4", "--eval-windows", "8", "--no-progress", "--lr", "1e-2"]


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "text"
    folder.mkdir()
    lines = "".join(f"def f{i % 7}(x):\n    return x + {i % 5}\n" for i in range(60))
    for i in range(10):  # ten files: the tenth is held out
        (folder / f"part{i:02d}.txt").write_text(lines)
    return folder


def _train(tmp_path, corpus, out, *extra):
    code = main(["train", "--task", "charlm", "--data", str(corpus), "--out", str(tmp_path / out), *TINY, *extra])
    assert code == 0
    return json.loads((tmp_path / out / "metrics.json").read_text())


@pytest.mark.parametrize("model", ["transformer", "lstm"])
def test_train_writes_model_metrics_curves_and_learns(tmp_path, corpus, model, capsys):
    metrics = _train(tmp_path, corpus, model, "--model", model, "--epochs", "3")
    history = metrics["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert all(np.isfinite(h["heldout_bpc"]) and h["tokens_per_second"] > 0 for h in history)
    assert history[-1]["heldout_bpc"] < history[0]["heldout_bpc"] < np.log2(metrics["vocab_size"]) + 0.5
    assert metrics["final"]["tokens"] == 3 * 6 * 4 * 12
    for name in ("model.safetensors", "checkpoint.safetensors", "curves.png"):
        assert (tmp_path / model / name).stat().st_size > 0
    assert "bits per character" in capsys.readouterr().out
    text = charlm.generate(str(tmp_path / model / "model.safetensors"), prompt="def ", length=40, seed=1)
    assert text.startswith("def ") and len(text) == 44
    assert len(charlm.generate(str(tmp_path / model / "model.safetensors"), length=40, seed=1)) == 40
    assert set(text) <= set(json.loads(io.load_metadata(tmp_path / model / "model.safetensors")
                                       ["chainrule.config"])["vocab"])


@pytest.mark.parametrize("options", [[], ["--dropout", "0.3"],
                                     ["--model", "lstm", "--layers", "2", "--dropout", "0.3"]])
def test_resume_continues_exactly_where_a_straight_run_would_be(tmp_path, corpus, options):
    # the oracle is the uninterrupted run: the same numbers and the same weights, dropout's masks included
    straight = _train(tmp_path, corpus, "a", "--epochs", "3", *options)
    _train(tmp_path, corpus, "b", "--epochs", "2", *options)
    resumed = _train(tmp_path, corpus, "b", "--epochs", "3", "--resume", *options)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    for a, b in zip(straight["history"], resumed["history"], strict=True):
        assert a["heldout_bpc"] == b["heldout_bpc"] and a["train_bpc"] == b["train_bpc"]
    a, b = io.load(tmp_path / "a" / "model.safetensors"), io.load(tmp_path / "b" / "model.safetensors")
    assert list(a) == list(b) and all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()


def test_generate_command_prints_the_sample(tmp_path, corpus, capsys):
    _train(tmp_path, corpus, "g", "--model", "lstm", "--epochs", "1")
    capsys.readouterr()
    assert main(["generate", str(tmp_path / "g" / "model.safetensors"), "--prompt", "def ", "--length", "30",
                 "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("def ") and len(out.rstrip("\n")) >= 30
    # the --out folder stands for the model file in it
    assert main(["generate", str(tmp_path / "g"), "--prompt", "def ", "--length", "30", "--seed", "0"]) == 0
    assert capsys.readouterr().out == out


def test_errors_are_one_line_and_say_what_to_do(tmp_path, corpus, capsys):
    assert main(["train", "--task", "charlm", "--data", str(corpus), "--out", str(tmp_path / "r"), "--resume",
                 *TINY]) == 1
    assert "does not exist" in capsys.readouterr().err
    _train(tmp_path, corpus, "r", "--epochs", "1")
    assert main(["train", "--task", "charlm", "--data", str(corpus), "--out", str(tmp_path / "r"), "--resume",
                 *TINY, "--d-model", "8"]) == 1
    assert "d_model" in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "r" / "model.safetensors"), "--prompt", "\u00e9"]) == 1
    assert "never saw" in capsys.readouterr().err
    io.save({"w": np.zeros(2)}, tmp_path / "other.safetensors")
    assert main(["generate", str(tmp_path / "other.safetensors")]) == 1
    assert "not a model written by" in capsys.readouterr().err
    assert main(["generate", str(tmp_path)]) == 1
    assert "a folder without a model.safetensors" in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "other.safetensors")]) == 1
    assert "not a model written by" in capsys.readouterr().err
    assert main(["train", "--task", "charlm", "--data", str(tmp_path / "missing")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["train", "--task", "charlm", "--heads", "3", "--no-progress"]) == 2
    assert main(["train", "--task", "charlm", "--data", str(corpus), "--out", str(tmp_path / "r"), "--resume",
                 *TINY, "--epochs", "1"]) == 1
    assert "trained 1 epoch already; pass --epochs above 1" in capsys.readouterr().err
    for argv in (["train", "--task", "charlm", "--seed", "-1"], ["train", "--seed", "-1"],
                 ["generate", str(tmp_path / "r"), "--seed", "-1"]):
        assert main(argv) == 2
        assert "--seed: expected an integer of at least 0, got '-1'" in capsys.readouterr().err


def test_held_out_text_shorter_than_a_window_is_refused_before_training(tmp_path, capsys):
    text = tmp_path / "short.txt"
    text.write_text("abcdefghij" * 30)  # 300 characters: the last 30 held out
    out = tmp_path / "never"
    assert main(["train", "--task", "charlm", "--data", str(text), "--out", str(out), *TINY,
                 "--seq-len", "40"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "held-out text has 30 characters: too short for --seq-len 40" in err
    assert not out.exists()


def test_default_corpus_is_the_standard_library_split_by_file():
    train, held, what = charlm.load_corpus(None, 300_000)
    assert "standard library" in what
    assert len(train) + len(held) >= 300_000 - 10  # joined with newlines
    again = charlm.load_corpus(None, 300_000)
    assert again == (train, held, what)  # a fixed selection
    assert held and held not in train


def test_generate_into_a_pipe_closed_early_ends_quietly(tmp_path, corpus, capsys, monkeypatch):
    # Python's advice for SIGPIPE (the signal module's documentation): the reader went away, as
    # 'chainrule generate ... | head -c 10' does; no error message, no traceback
    import sys

    _train(tmp_path, corpus, "p", "--model", "lstm", "--epochs", "1")
    capsys.readouterr()

    class ClosedPipe:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["generate", str(tmp_path / "p"), "--length", "20", "--seed", "0"]) == 1
    assert capsys.readouterr().err == ""


TEXTS = ["alpha beta gamma\n" * 20, "delta epsilon\n" * 30]


@pytest.mark.parametrize("layout", ["one gzipped file", "gzipped files in a folder", "an empty last file",
                                    "empty files between"])
def test_corpus_files_are_read_gzipped_and_empty_ones_skipped(tmp_path, layout):
    # the oracle: the texts themselves, split as the documentation says (one file: its last
    # tenth held out; a folder of fewer than ten files: the last text file held out)
    folder = tmp_path / "corpus"
    folder.mkdir()
    if layout == "one gzipped file":
        (folder / "a.txt.gz").write_bytes(gzip.compress(TEXTS[0].encode()))
        cut = int(len(TEXTS[0]) * 0.9)
        expected = (TEXTS[0][:cut], TEXTS[0][cut:])
        path = folder / "a.txt.gz"
    else:
        for i, text in enumerate(TEXTS):
            name = f"{i}.txt"
            if layout == "gzipped files in a folder":
                (folder / (name + ".gz")).write_bytes(gzip.compress(text.encode()))
            else:
                (folder / name).write_text(text)
        if layout == "an empty last file":
            (folder / "9.txt").write_text("")
        if layout == "empty files between":
            (folder / "0a.txt").write_text("")
            (folder / "1a.txt").write_bytes(gzip.compress(b""))
        expected = (TEXTS[0], TEXTS[1])
        path = folder
    train, held, _ = charlm.load_corpus(str(path), 10_000)
    assert (train, held) == expected
