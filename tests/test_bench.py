"""The benchmark suite: its float64 references are right, and its quick mode runs and
cross-checks chainrule's gradients (timings are never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import cli, report, spellings  # noqa: E402
from bench import problems as P  # noqa: E402
from tests.finite_differences import central_differences  # noqa: E402


@pytest.mark.parametrize("shape", [(4,), ()])
def test_chain_reference_matches_finite_differences(shape):
    ops = P.chain_ops(23)
    x = np.random.default_rng(0).uniform(-0.5, 0.5, shape)
    _, g = P.chain_value_and_grad(x, ops)
    np.testing.assert_allclose(g, central_differences(lambda z: P.chain_value(z, ops), x),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_mlp_reference_matches_finite_differences(act):
    spec = {"sizes": (5, 4, 4, 3), "batch": 3, "act": act}
    params, x, _, onehot = P.mlp_problem("W3", spec, dtype=np.float64)
    _, grads = P.mlp_loss_and_grads(params, x, onehot, act)
    for k, p in enumerate(params):
        def f(q, k=k):
            ps = list(params)
            ps[k] = q
            return P.mlp_loss_and_grads(ps, x, onehot, act)[0]

        np.testing.assert_allclose(grads[k], central_differences(f, p), rtol=1e-5, atol=1e-8)


def test_rosenbrock_hvp_matches_finite_differences():
    r = np.random.default_rng(1)
    x, v, u = r.uniform(-1, 1, 6), r.standard_normal(6), r.standard_normal(6)
    e = 1e-4
    f = P.rosenbrock
    # u·H·v by a mixed central difference of f
    uhv = (f(x + e * u + e * v) - f(x + e * u - e * v) - f(x - e * u + e * v)
           + f(x - e * u - e * v)) / (4 * e * e)
    assert np.dot(u, P.rosenbrock_hvp(x, v)) == pytest.approx(uhv, rel=1e-5)


def test_deep_reference_matches_finite_differences():
    spec = {"layers": 3, "width": 4, "batch": 2, "segment": 1}
    w, h0 = (a.astype(np.float64) for a in P.deep_problem(spec))
    _, g = P.deep_value_and_grad(w, h0, 3)
    np.testing.assert_allclose(
        g, central_differences(lambda q: P.deep_value_and_grad(q, h0, 3)[0], w), rtol=1e-6)


def test_regression_warning_and_markdown(tmp_path):
    rows = {"W1": [{"lib": "chainrule", "name": "chainrule", "ratios": {"time_vs_torch": 0.8}}]}
    baseline = {"results": {"W1": [{"lib": "chainrule", "name": "chainrule",
                                    "ratios": {"time_vs_torch": 0.5}}]}}
    (line,) = report.regressions(rows, baseline)
    assert line.startswith("WARNING") and "W1" in line
    assert report.regressions(rows, {"results": rows}) == []

    md = tmp_path / "BENCHMARKS.md"
    md.write_text(f"# B\n\n{cli.RESULTS_START}\nold\n{cli.RESULTS_END}\n\n## History\n\n- kept\n")
    data = {"meta": {"cpu": "cpu", "cpus": 2, "threads": 2, "os": "os", "quick": True,
                     "date": "today", "command": "python -m bench", "blas": "",
                     "seconds": 1.0, "load_average": [0.1, 0.2], "rounds": 1,
                     "versions": {"python": "3"}},
            "results": {}, "targets": []}
    cli.update_markdown(data, md)
    text = md.read_text()
    assert "old" not in text and "## Results" in text and text.endswith("- kept\n")


def test_quick_mode_cross_checks_chainrule(tmp_path):
    out = tmp_path / "quick.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--libs", "chainrule", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        # the fused rows' compiled loops go to a directory of the test, not the user's cache
        env={**os.environ, "CHAINRULE_FUSED_CACHE": str(tmp_path / "fused")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert set(data["results"]) == set(P.WORKLOADS)
    for workload, rows in data["results"].items():
        libs = {r["lib"] for r in rows}
        assert libs == {"numpy", "chainrule"}, (workload, libs)
        for row in rows:
            assert row["status"] in ("ok", "unavailable"), (workload, row)
            if row["status"] == "ok" and row["name"] != report.GEMM_ROW:
                assert row["grad_error"] <= P.TOLERANCE[workload], (workload, row)
        assert any(r["lib"] == "chainrule" and r["status"] == "ok" for r in rows), workload


def test_each_spelling_is_compared_with_the_fastest_of_its_kind():
    def row(name, t, lib="chainrule"):
        return {"lib": lib, "name": name, "status": "ok", "time_s": t}

    rows = [row("chainrule", 2.0), row("chainrule [relu: np.maximum(h, 0.0)]", 2.4),
            row("chainrule (jit)", 1.2), row("chainrule (jit) [loss: by hand]", 1.0),
            row("chainrule (nn+optim)", 1.5), row("torch", 3.0, "torch")]
    results = {"W4": rows}
    report.add_ratios(results)
    spelling = {r["name"]: r["ratios"].get("time_vs_spelling") for r in rows}
    assert spelling == {"chainrule": 1.0, "chainrule [relu: np.maximum(h, 0.0)]": 1.2,
                        "chainrule (jit)": 1.2, "chainrule (jit) [loss: by hand]": 1.0,
                        "chainrule (nn+optim)": None, "torch": None}
    verdicts = {t["row"]: t["met"] for t in report.evaluate_targets(results)
                if "spelling" in t["target"]}
    assert verdicts == {"chainrule": True, "chainrule [relu: np.maximum(h, 0.0)]": False,
                        "chainrule (jit)": False, "chainrule (jit) [loss: by hand]": True}


def test_spelling_rows_write_the_same_model():
    spec = {"sizes": (5, 4, 4, 3), "batch": 3, "act": "relu"}
    params, x, _, onehot = P.mlp_problem("W4", spec, dtype=np.float64)
    want = P.mlp_loss_and_grads(params, x, onehot, "relu")
    labels = [label for label, _ in spellings.variants("relu")]
    assert len(labels) == len(set(labels)) == 3 + 3 + 2 + 1
    for label, spelling in spellings.variants("relu"):
        loss = spellings.mlp_loss(spelling, "relu", 3, 3)
        value, grads = cr.value_and_grad(loss)(params, x, onehot)
        assert float(value) == pytest.approx(float(want[0]), rel=1e-12), label
        for g, w in zip(grads, want[1], strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=label)


def test_deep_distinct_reference_matches_finite_differences():
    spec = {"layers": 3, "width": 4, "batch": 2, "segment": 1}
    ws, h0 = P.deep_distinct_problem(spec)
    ws = [w.astype(np.float64) for w in ws]
    h0 = h0.astype(np.float64)
    assert len(ws) == 3 and not np.array_equal(ws[0], ws[1])
    _, grads = P.deep_distinct_value_and_grad(ws, h0)
    for k in range(3):
        def f(q, k=k):
            return P.deep_distinct_value_and_grad(ws[:k] + [q] + ws[k + 1:], h0)[0]

        np.testing.assert_allclose(grads[k], central_differences(f, ws[k]), rtol=1e-6, atol=1e-8)
