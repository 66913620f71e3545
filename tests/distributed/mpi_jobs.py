"""Launching small jobs with ``mpiexec -n 2`` from the tests."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _mpiexec() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None,
    reason="MPI is not installed here (mpi4py and an mpiexec): pip install 'chainrule[mpi]'",
)


def mpi_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


def run_mpi(code: str, tmp_path: Path, n: int = 2, timeout: float = 60, args=()) -> subprocess.CompletedProcess:
    """Run ``code`` (dedented) as a script on ``n`` processes; returns the finished process."""
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run(
        [MPIEXEC, "-n", str(n), sys.executable, str(script), *args],
        capture_output=True, text=True, timeout=timeout, env=mpi_env(), cwd=tmp_path,
    )


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout
