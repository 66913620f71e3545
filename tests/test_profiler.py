"""chainrule.profiler against torch.profiler: the schedule's actions, the steps at which
a trace is handed to on_trace_ready, record_function spans, and the trace files
(nanoGPT's bench.py profiles its steps so)."""

import json
import os

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("kw", [dict(wait=1, warmup=1, active=2, repeat=2, skip_first=1),
                                dict(wait=0, warmup=0, active=1), dict(wait=2, warmup=0, active=3, repeat=1)])
def test_schedule_and_trace_ready_follow_pytorch(kw):
    assert [cr.profiler.schedule(**kw)(i).name for i in range(14)] == \
        [torch.profiler.schedule(**kw)(i).name for i in range(14)]
    seen = {}
    for lib in (cr, torch):
        calls = []
        with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU],
                                  schedule=lib.profiler.schedule(**kw),
                                  on_trace_ready=lambda p, calls=calls: calls.append(p.step_num)) as prof:
            for _ in range(9):
                with lib.profiler.record_function("forward"):
                    (lib.ones(3) * 2).sum()
                prof.step()
        seen[lib.__name__] = calls
    assert seen["chainrule"] == seen["torch"]


def test_record_function_spans_and_trace_files(tmp_path):
    with cr.profiler.profile(schedule=cr.profiler.schedule(wait=1, warmup=1, active=2, repeat=1),
                             on_trace_ready=cr.profiler.tensorboard_trace_handler(str(tmp_path / "bench_log")),
                             record_shapes=False, profile_memory=False, with_stack=False, with_flops=True,
                             with_modules=False) as prof:
        for _ in range(5):
            with cr.profiler.record_function("step_body"):
                cr.ones(4).sum()
            prof.step()
    (trace,) = os.listdir(tmp_path / "bench_log")
    assert trace.endswith(".pt.trace.json")
    names = [e["name"] for e in json.loads((tmp_path / "bench_log" / trace).read_text())["traceEvents"]]
    assert names == ["step_body", "ProfilerStep#2", "step_body", "ProfilerStep#3"]
    with cr.profiler.profile() as prof:
        for _ in range(3):
            with cr.profiler.record_function("a"):
                pass
    (avg,) = prof.key_averages()
    assert (avg.key, avg.count) == ("a", 3) and "a" in prof.key_averages().table(sort_by="cpu_time_total")
    prof.export_chrome_trace(str(tmp_path / "t.json"))
    assert len(json.loads((tmp_path / "t.json").read_text())["traceEvents"]) == 3
