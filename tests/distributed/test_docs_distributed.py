"""docs/distributed.md: its scripts run on 2 processes and alone, its table is the model's."""

import re
import subprocess
import sys
from pathlib import Path

from mpi_jobs import needs_mpi, ok, run_mpi

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "distributed.md").read_text(encoding="utf-8")
SCRIPT = "\n".join(re.findall(r"```python\n(.*?)```", PAGE, re.S))


@needs_mpi
def test_the_guide_runs_on_two_processes(tmp_path):
    # rank 0 reports for both: two ranks' lines could interleave in the launcher's output
    finished = "\nn = dist.all_reduce(1)\nif dist.rank() == 0:\n    print(f'finished on {n} ranks', flush=True)\n"
    out = ok(run_mpi(SCRIPT + finished, tmp_path))
    assert "finished on 2 ranks" in out
    assert out.count("epoch 2: loss") == 1  # printed by rank 0 only


@needs_mpi
def test_the_guide_runs_alone(tmp_path):
    script = tmp_path / "alone.py"
    script.write_text(SCRIPT)
    from mpi_jobs import mpi_env

    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env=mpi_env(), cwd=tmp_path)
    assert "epoch 2: loss" in ok(proc)


def test_the_scaling_table_is_the_models():
    sys.path.insert(0, str(ROOT))
    try:
        from bench.distributed import W4_LAYER_BYTES, paper_model, paper_table, ring_ms
    finally:
        sys.path.remove(str(ROOT))
    assert paper_table() in PAGE
    gradient_bytes = 4 * (784 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 10 + 10)  # W4, float32
    assert sum(W4_LAYER_BYTES) == gradient_bytes
    for row in paper_model():
        n = row["processes"]
        assert abs(row["sent_mb"] * 1e6 - 2 * (n - 1) / n * gradient_bytes) < 1
    assert abs(ring_ms(1e9, 4, 1e9, 0.0) - 1e3 * 1.5) < 1e-9  # 2(N-1)/N of the bytes, at the bandwidth
