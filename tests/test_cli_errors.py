"""``chainrule train`` given what it cannot use: a ``--resume`` checkpoint whose bytes are
a good model file but whose content is not what a checkpoint holds (damaged, edited, or
from another version), an ``--out`` that cannot be written, options that leave no data or
no memory: one line on stderr and a non-zero status, never a traceback."""

import tempfile

import numpy as np
import pytest

from chainrule import io
from chainrule.cli import main
from test_charlm import TINY, corpus  # noqa: F401  (the fixture: a tiny text folder)

ARGS = ["train", "--epochs", "1", "--hidden", "8", "--batch-size", "512", "--test-fraction", "0.5",
        "--no-plot", "--no-progress"]


def _damaged(capsys, argv) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_a_damaged_classifier_checkpoint_is_one_line(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "run"
    assert main([*ARGS, "--out", str(out)]) == 0
    path = out / "checkpoint.safetensors"
    good = io.load(path)
    edits = [lambda s: {"epoch": 1}, lambda s: {**s, "data_order": {"state": 1}}, lambda s: {**s, "history": 5}]
    for edit in edits:
        io.save(edit(dict(good)), path, metadata={"chainrule.checkpoint": "1"})
        err = _damaged(capsys, [*ARGS, "--out", str(out), "--resume"])
        assert err.startswith(f"chainrule: error: --resume: {path} is damaged or from another version (")
        assert "train without --resume to start over" in err


@pytest.mark.parametrize("config", ["{not json", "[1, 2]"])
def test_a_damaged_charlm_checkpoint_is_one_line(tmp_path, corpus, capsys, config):  # noqa: F811
    out = tmp_path / "lm"
    out.mkdir()
    io.save({"model": {}}, out / "checkpoint.safetensors", metadata={"chainrule.config": config})
    err = _damaged(capsys, ["train", "--task", "charlm", "--data", str(corpus), "--out", str(out), "--resume",
                            "--no-plot", *TINY])
    assert "is damaged or from another version" in err


@pytest.mark.parametrize("task", ["classify", "charlm"])
def test_an_output_directory_that_cannot_be_written_is_refused_before_training(capsys, monkeypatch, task, tmp_path):
    import chainrule.charlm
    import chainrule.cli as cli

    def no_training(*args, **kwargs):
        raise AssertionError("trained before finding that --out cannot be written")

    monkeypatch.setattr(cli if task == "classify" else chainrule.charlm, "build_model", no_training)
    if task == "classify":
        pytest.importorskip("sklearn")
        argv = ARGS
    else:
        (tmp_path / "text.txt").write_text("def f(x):\n    return x\n" * 40)
        argv = ["train", "--task", "charlm", "--data", str(tmp_path / "text.txt"), "--no-plot", *TINY]
    try:  # sysfs refuses new files even to root
        tempfile.TemporaryFile(dir="/sys").close()
        pytest.skip("needs a directory that cannot be written (/sys on Linux)")
    except OSError:
        pass
    assert main([*argv, "--out", "/sys"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write into the output directory /sys" in err and "--out" in err


@pytest.mark.parametrize("option, message, code", [
    (["--channels", "4,8,16", "--model", "cnn"], "--channels takes the sizes of the two convolutions", 2),
    (["--hidden", "99999999999"], "out of memory (", 1),
])
def test_options_the_model_cannot_take_are_one_line(tmp_path, capsys, option, message, code):
    pytest.importorskip("sklearn")
    assert main([*ARGS, "--out", str(tmp_path / "o"), *option]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_test_fraction_near_1_leaves_a_sample_to_train_on(tmp_path, capsys):
    pytest.importorskip("sklearn")
    assert main([*ARGS, "--out", str(tmp_path / "o"), "--test-fraction", "0.9999"]) == 0
    assert "train accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("edit", [{"test_fraction": 5}, {"seed": "x"}, {"test_fraction": None}, {"data": "cifar"}])
def test_eval_of_a_model_file_with_an_edited_config_is_one_line(tmp_path, capsys, edit):
    pytest.importorskip("sklearn")
    import json

    from chainrule.cli import build_model

    config = {"data": "digits", "test_fraction": 0.2, "seed": 0, "model": "mlp", "hidden": [4],
              "activation": "relu", "input_shape": [64], "classes": 10}
    config.update(edit)
    config = {k: v for k, v in config.items() if v is not None}
    path = tmp_path / "model.safetensors"
    io.save(build_model(config).state_dict(), path, metadata={"chainrule.config": json.dumps(config)})
    assert main(["eval", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: bad model config in the metadata (" in err


@pytest.mark.parametrize("config", ["{not json", '{"model": "lstm"}', '["lstm"]', '{"model": "gru", "vocab": "ab"}'])
def test_generate_from_a_model_file_with_an_edited_config_is_one_line(tmp_path, capsys, config):
    path = tmp_path / "model.safetensors"
    io.save({"w": np.zeros(1)}, path, metadata={"format": "chainrule-charlm/1", "chainrule.config": config})
    assert main(["generate", str(path), "--length", "3"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: bad model config in the metadata (" in err


@pytest.mark.parametrize("command, trained, name, says", [
    ("eval", "charlm", "model.safetensors", "it is a character-level language model: sample from it with "
                                            "'chainrule generate'"),
    ("eval", "charlm", "checkpoint.safetensors", "it is a checkpoint: name the model.safetensors beside it"),
    ("eval", "classify", "checkpoint.safetensors", "it is a checkpoint: name the model.safetensors beside it"),
    ("generate", "classify", "model.safetensors", "it is a classifier: evaluate it with 'chainrule eval'"),
    ("generate", "charlm", "checkpoint.safetensors", "it is a checkpoint: name the model.safetensors beside it"),
])
def test_a_file_of_the_other_command_says_what_it_is(tmp_path, corpus, capsys, command, trained, name, says):  # noqa: F811
    # docs/training.md: errors are one line that says what to do
    out = tmp_path / "run"
    if trained == "classify":
        pytest.importorskip("sklearn")
        assert main([*ARGS, "--out", str(out)]) == 0
    else:
        assert main(["train", "--task", "charlm", "--data", str(corpus), "--out", str(out), *TINY, "--epochs", "1",
                     "--no-plot"]) == 0
    capsys.readouterr()
    assert main([command, str(out / name)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"chainrule: error: {out / name}: not a model written by ")
    assert err.rstrip().endswith(says)


@pytest.mark.parametrize("argv", [["--ta", "charlm"], ["--tas=charlm"], ["--task", "classify", "--task", "charlm"],
                                  ["--task", "charlm", "--task", "classify"], ["--task=charlm"], []])
def test_train_runs_the_task_argparse_reads(monkeypatch, argv):
    # the oracle is argparse's reading of the arguments: the last --task, abbreviated or not
    from chainrule import charlm, cli

    ran = []
    monkeypatch.setattr(charlm, "train_main", lambda a: ran.append("charlm"))
    monkeypatch.setattr(cli, "_train", lambda a: ran.append("classify"))
    assert main(["train", *argv]) == 0
    assert ran == [cli.build_parser().parse_args(["train", *argv]).task]


def test_eval_of_a_digits_model_refuses_a_data_path_as_train_does(tmp_path, capsys):
    # the oracle is train's refusal of --data-path for digits: eval ignored it and measured the digits
    pytest.importorskip("sklearn")
    out = tmp_path / "run"
    assert main([*ARGS, "--out", str(out), "--data-path", str(tmp_path)]) == 2
    train_err = capsys.readouterr().err
    assert main([*ARGS, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--data-path", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == train_err.count("\n") == 1 and "--data-path is for" in err and "digits" in err


@pytest.mark.parametrize("trained, resumed", [("classify", "charlm"), ("charlm", "classify")])
def test_resuming_the_other_task_s_checkpoint_names_the_task_that_wrote_it(tmp_path, corpus, capsys, trained,  # noqa: F811
                                                                          resumed):
    pytest.importorskip("sklearn")
    out = tmp_path / "run"
    charlm_args = ["train", "--task", "charlm", "--data", str(corpus), "--out", str(out), *TINY, "--no-plot"]
    classify_args = [*ARGS, "--out", str(out)]
    assert main([*(classify_args if trained == "classify" else charlm_args), "--epochs", "1"]) == 0
    capsys.readouterr()
    assert main([*(classify_args if resumed == "classify" else charlm_args), "--epochs", "2", "--resume"]) == 1
    err = capsys.readouterr().err
    writer = "'chainrule train --task charlm'" if trained == "charlm" else "'chainrule train' (the classify task)"
    assert err.count("\n") == 1 and f"checkpoint.safetensors is a checkpoint of {writer}, not of " in err
    assert err.rstrip().endswith("pass the task it was trained with, or another --out")


@pytest.mark.parametrize("empty", [("train",), ("test",), ("train", "test")])
def test_a_data_file_with_a_split_of_no_images_is_one_line(tmp_path, capsys, empty):
    images = {s: np.zeros((0 if s in empty else 3, 28, 28), np.uint8) for s in ("train", "test")}
    np.savez(tmp_path / "m.npz", **{f"x_{s}": x for s, x in images.items()},
             **{f"y_{s}": np.zeros(len(x), np.uint8) for s, x in images.items()})
    err = _damaged(capsys, [*ARGS, "--data", "mnist", "--data-path", str(tmp_path / "m.npz"),
                            "--out", str(tmp_path / "o")])
    assert "images are none" in err and not (tmp_path / "o").exists()
