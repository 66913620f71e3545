"""The ``chainrule`` command: short training runs end to end (model file, metrics, PNG),
``eval`` of the saved model, and one-line errors for bad arguments and files."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from chainrule import io
from chainrule.cli import main
from chainrule.data import write_idx

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def check_png(path):
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 0  # not a blank canvas


def test_short_training_run_writes_model_metrics_and_plot_then_eval_agrees(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, stderr = run(["train", "--epochs", "3", "--out", str(out), "--seed", "1"], capsys)
    assert code == 0, stderr
    assert "test accuracy:" in stdout
    assert "train" in stderr  # the progress bar
    metrics = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3]
    assert metrics["history"][-1]["train_loss"] < metrics["history"][0]["train_loss"]
    acc = metrics["final"]["test_accuracy"]
    assert acc > 0.8
    check_png(out / "curves.png")
    weights = io.load(out / "model.safetensors")
    assert weights["0.weight"].shape == (256, 64) and weights["0.weight"].dtype == np.float32
    config = json.loads(io.load_metadata(out / "model.safetensors")["chainrule.config"])
    assert config["model"] == "mlp" and config["hidden"] == [256, 256]
    code, stdout, _ = run(["eval", str(out / "model.safetensors")], capsys)
    assert code == 0
    assert stdout.startswith(f"test accuracy: {acc:.4f}")


def test_cnn_with_options(tmp_path, capsys):
    out = tmp_path / "cnn"
    argv = ["train", "--model", "cnn", "--epochs", "1", "--channels", "4,8", "--hidden", "16",
            "--activation", "gelu", "--optimizer", "sgd", "--lr", "0.05", "--schedule", "warmup-cosine",
            "--batch-size", "128", "--no-progress", "--no-plot", "--out", str(out)]
    code, stdout, stderr = run(argv, capsys)
    assert code == 0, stderr
    assert not (out / "curves.png").exists() and stderr == ""
    assert io.load(out / "model.safetensors")["0.weight"].shape == (4, 1, 3, 3)
    code, stdout, _ = run(["eval", str(out / "model.safetensors"), "--split", "train"], capsys)
    assert code == 0 and stdout.startswith("train accuracy:")


@pytest.mark.parametrize("optimizer", ["adamw", "rmsprop", "adagrad"])
@pytest.mark.parametrize("schedule", ["step", "exponential", "none"])
def test_every_optimizer_and_schedule_runs(tmp_path, capsys, optimizer, schedule):
    argv = ["train", "--epochs", "1", "--hidden", "16", "--optimizer", optimizer, "--schedule", schedule,
            "--no-progress", "--no-plot", "--out", str(tmp_path)]
    code, _, stderr = run(argv, capsys)
    assert code == 0, stderr


def test_mnist_files_from_a_path(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = tmp_path / "mnist"
    data.mkdir()
    write_idx(data / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (40, 28, 28), dtype=np.uint8))
    write_idx(data / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, 40).astype(np.uint8))
    write_idx(data / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (10, 28, 28), dtype=np.uint8))
    write_idx(data / "t10k-labels-idx1-ubyte.gz", np.arange(10, dtype=np.uint8))
    out = tmp_path / "run"
    code, _, stderr = run(["train", "--data", "mnist", "--data-path", str(data), "--epochs", "1",
                           "--hidden", "8", "--no-progress", "--no-plot", "--out", str(out)], capsys)
    assert code == 0, stderr
    assert io.load(out / "model.safetensors")["0.weight"].shape == (8, 784)
    code, stdout, _ = run(["eval", str(out / "model.safetensors"), "--data-path", str(data)], capsys)
    assert code == 0 and "(" in stdout and "/10)" in stdout


BAD_ARGS = {
    "expected a number, got 'fast'": ["train", "--lr", "fast"],
    "positive integer": ["train", "--epochs", "0"],
    "comma-separated integers": ["train", "--hidden", "12,x"],
    "invalid choice": ["train", "--optimizer", "lbfgs"],
    "unrecognized arguments": ["train", "--colour", "blue"],
    "needs --data-path": ["train", "--data", "mnist"],
    "fraction": ["train", "--test-fraction", "1.5"],
    "expected a value in [0, 1)": ["train", "--dropout", "1"],
    "expected a number of at least 0": ["train", "--weight-decay", "-0.1"],
    "the following arguments are required": ["eval"],
}


@pytest.mark.parametrize("message", sorted(BAD_ARGS))
def test_bad_arguments_give_one_line_and_status_2(message, capsys, tmp_path):
    argv = BAD_ARGS[message]
    if argv[0] == "train":
        argv = argv + ["--out", str(tmp_path)]
    code, stdout, stderr = run(argv, capsys)
    assert code == 2
    assert message in stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr


def test_bad_files_give_one_line_and_status_1(tmp_path, capsys):
    missing = tmp_path / "nothing.safetensors"
    code, _, stderr = run(["eval", str(missing)], capsys)
    assert code == 1 and "no such model file" in stderr and stderr.count("\n") == 1
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    code, _, stderr = run(["eval", str(corrupt)], capsys)
    assert code == 1 and "corrupt" in stderr and stderr.count("\n") == 1
    foreign = tmp_path / "foreign.safetensors"
    io.save({"w": np.zeros(2)}, foreign)
    code, _, stderr = run(["eval", str(foreign)], capsys)
    assert code == 1 and "not a model written by 'chainrule train'" in stderr
    config = {"model": "mlp", "input_shape": [64], "classes": 10, "hidden": [4], "activation": "relu",
              "data": "digits", "test_fraction": 0.2, "seed": 0}
    io.save({"0.weight": np.zeros((4, 3), dtype=np.float32)}, foreign,
            metadata={"chainrule.config": json.dumps(config)})
    code, _, stderr = run(["eval", str(foreign)], capsys)
    assert code == 1 and "size mismatch" in stderr and stderr.count("\n") == 1
    argv = ["train", "--data", "mnist", "--data-path", str(tmp_path / "none"), "--out", str(tmp_path)]
    code, _, stderr = run(argv, capsys)
    assert code == 1 and "no such file or directory" in stderr and stderr.count("\n") == 1


MISSING = [("tqdm", "tqdm", "--no-progress"), ("matplotlib", "matplotlib", "--no-plot"),
           ("sklearn", "scikit-learn", "--data mnist")]


@pytest.mark.parametrize("module, package, alternative", MISSING)
def test_a_missing_optional_package_is_named_with_the_extra(module, package, alternative, tmp_path, capsys,
                                                            monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    code, _, stderr = run(["train", "--epochs", "1", "--out", str(tmp_path)], capsys)
    assert code == 1 and stderr.count("\n") == 1
    assert f"'{package}'" in stderr and "pip install 'chainrule[train]'" in stderr and alternative in stderr


def test_load_digits_without_scikit_learn_names_the_extra(monkeypatch):
    from chainrule.data import load_digits

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[train\]'"):
        load_digits()


def test_python_dash_m_runs_the_same_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "chainrule", "train", "--epochs", "0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("chainrule: error:") and "Traceback" not in result.stderr
    result = subprocess.run([sys.executable, "-m", "chainrule", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "train" in result.stdout


@pytest.mark.slow
def test_default_training_reaches_97_percent_within_a_minute(tmp_path, capsys):
    start = time.perf_counter()
    code, stdout, stderr = run(["train", "--out", str(tmp_path), "--no-progress"], capsys)
    elapsed = time.perf_counter() - start
    assert code == 0, stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["final"]["test_accuracy"] >= 0.97
    assert elapsed < 60
    check_png(tmp_path / "curves.png")
