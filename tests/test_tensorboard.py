"""chainrule.utils.tensorboard: the event files SummaryWriter writes are PyTorch's, record for
record (wall times aside), where the tensorboard package is installed; without it the import
fails as PyTorch's does."""

import struct

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _records(log_dir) -> list[bytes]:
    """The serialized events of every event file under ``log_dir``, by file path (relative)."""
    out = {}
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        data, records = path.read_bytes(), []
        while data:
            (n,) = struct.unpack("<Q", data[:8])
            records.append(data[12:12 + n])
            data = data[12 + n + 4:]
        out[str(path.parent.relative_to(log_dir))] = records
    return out


def test_summary_writer_writes_pytorchs_events(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto.event_pb2 import Event
    from torch.utils.tensorboard import SummaryWriter as Theirs

    from chainrule.utils.tensorboard import SummaryWriter as Ours

    values = np.random.default_rng(0).normal(size=50)
    written = {}
    for name, writer_class, lib in (("theirs", Theirs, torch), ("ours", Ours, cr)):
        with writer_class(tmp_path / name) as writer:
            writer.add_text("hyperparameters", "|param|value|\n|-|-|\n|lr|0.001|")
            for step in range(3):
                writer.add_scalar("losses/value_loss", lib.tensor(0.5 / (step + 1)), step)
                writer.add_scalar("charts/learning_rate", np.float64(1e-3 * step), global_step=step, walltime=5.0)
                writer.add_scalar("charts/sps", 7, step, new_style=True, double_precision=step == 1)
            writer.add_scalars("run", {"a": 1.0, "b": 2.5}, 4)
            writer.add_histogram("weights", lib.tensor(values), 5)
            writer.add_histogram("bias", values, 6, bins=10, max_bins=3)
        written[name] = _records(tmp_path / name)
    assert list(written["ours"]) == list(written["theirs"]) == [".", "run_a", "run_b"]
    for where in written["theirs"]:
        ours, theirs = (
            [Event.FromString(r) for r in written[name][where]] for name in ("ours", "theirs"))
        assert len(ours) == len(theirs) > 1
        for a, b in zip(ours, theirs, strict=True):
            a.wall_time = b.wall_time = 0
            assert a == b


def test_without_tensorboard_the_import_says_what_to_install():
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="requires TensorBoard.*pip install tensorboard"):
            import chainrule.utils.tensorboard  # noqa: F401
    else:
        pytest.skip("tensorboard is installed")
