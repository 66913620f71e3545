"""PyTorch's ``torch.profiler``, so that scripts which profile (nanoGPT's bench.py) run:
``profile`` with its ``schedule`` (PyTorch's wait / warmup / active / repeat / skip_first
cycle, ``on_trace_ready`` called at the same steps as PyTorch's), ``record_function``,
``tensorboard_trace_handler``, ``export_chrome_trace`` and ``key_averages().table()``.

chainrule's operations are not hooked: a trace holds the wall-clock spans of the
``record_function`` blocks and, with a schedule, of each step (``ProfilerStep#N``), not one event per
operation. Time a program's operations with :mod:`chainrule.viz` or Python's profilers.

>>> import chainrule as cr
>>> with cr.profiler.profile() as prof:
...     with cr.profiler.record_function("forward"):
...         y = cr.ones(3).sum()
>>> [e.key for e in prof.key_averages()]
['forward']
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ProfilerActivity", "ProfilerAction", "schedule", "profile", "record_function",
           "tensorboard_trace_handler"]

_RECORDING: list[profile] = []  # the profilers recording now


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 2


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0) -> Callable:
    """The action at each step: ``skip_first`` steps, then cycles of ``wait`` steps idle,
    ``warmup`` warming up and ``active`` recording (the last saves), ``repeat`` times (0:
    without end), as PyTorch's."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError("schedule: wait, warmup, repeat and skip_first must be >= 0 and active > 0")

    def action(step: int) -> ProfilerAction:
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        cycle = wait + warmup + active
        if repeat > 0 and step / cycle >= repeat:
            return ProfilerAction.NONE
        at = step % cycle
        if at < wait:
            return ProfilerAction.NONE
        if at < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if at < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action


@dataclass
class _Event:
    name: str
    start_ns: int
    end_ns: int
    thread: int


@dataclass
class FunctionEventAvg:
    """One name's events: ``count`` and the CPU time in microseconds."""
    key: str
    count: int
    cpu_time_total: float

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count


class EventList(list):
    def table(self, sort_by: str | None = None, row_limit: int = 100, **_) -> str:
        """The events as a text table (sorted by total time, the largest first, when
        ``sort_by`` names a time)."""
        rows = sorted(self, key=lambda e: -e.cpu_time_total) if sort_by and "time" in sort_by else list(self)
        rows = rows[:row_limit] if row_limit >= 0 else rows
        width = max([len("Name"), *(len(e.key) for e in rows)])
        lines = [f"{'Name':<{width}}  {'# of Calls':>10}  {'CPU total (us)':>14}  {'CPU avg (us)':>12}"]
        lines += [f"{e.key:<{width}}  {e.count:>10}  {e.cpu_time_total:>14.1f}  {e.cpu_time:>12.1f}" for e in rows]
        return "\n".join(lines)


class profile:
    """``torch.profiler.profile(activities=None, schedule=None, on_trace_ready=None, ...)``:
    records while entered (or, with a ``schedule``, in its recording steps; ``step()``
    moves on a step) and hands itself to ``on_trace_ready`` when a recording ends."""

    def __init__(self, activities=None, schedule: Callable | None = None, on_trace_ready: Callable | None = None,
                 record_shapes: bool = False, profile_memory: bool = False, with_stack: bool = False,
                 with_flops: bool = False, with_modules: bool = False, **_):
        self.activities = set(activities or (ProfilerActivity.CPU,))
        self.schedule = schedule or (lambda step: ProfilerAction.RECORD)
        self._record_steps = schedule is not None  # ProfilerStep#N spans, as PyTorch's, with a schedule
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.events: list[_Event] = []
        self._action = ProfilerAction.NONE
        self._step_start = 0

    def _set(self, action: ProfilerAction) -> None:
        was = self._action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        now = action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        if now and not was:
            self.events = []
            _RECORDING.append(self)
        if was and not now or was and self._action is ProfilerAction.RECORD_AND_SAVE:
            _RECORDING.remove(self)
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
            if now:
                self.events = []
                _RECORDING.append(self)
        self._action = action

    def start(self) -> None:
        self._step_start = time.perf_counter_ns()
        self._set(self.schedule(self.step_num))

    def stop(self) -> None:
        self._record_step()
        self._set(ProfilerAction.NONE)

    def step(self) -> None:
        """The next step: the schedule's action for it (a recording that ends is handed
        to ``on_trace_ready``)."""
        self._record_step()
        self.step_num += 1
        self._set(self.schedule(self.step_num))

    def _record_step(self) -> None:
        now = time.perf_counter_ns()
        if self._record_steps and self in _RECORDING:
            self.events.append(_Event(f"ProfilerStep#{self.step_num}", self._step_start, now, threading.get_ident()))
        self._step_start = now

    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def key_averages(self, **_) -> EventList:
        """The ``record_function`` blocks by name (steps left out): count and time."""
        by_name: dict[str, FunctionEventAvg] = {}
        for e in self.events:
            if e.name.startswith("ProfilerStep#"):
                continue
            avg = by_name.setdefault(e.name, FunctionEventAvg(e.name, 0, 0.0))
            avg.count += 1
            avg.cpu_time_total += (e.end_ns - e.start_ns) / 1e3
        return EventList(by_name.values())

    def export_chrome_trace(self, path: str | os.PathLike) -> None:
        """The recorded spans as a Chrome trace (chrome://tracing, Perfetto, TensorBoard)."""
        pid = os.getpid()
        events = [{"name": e.name, "ph": "X", "cat": "user_annotation", "ts": e.start_ns / 1e3,
                   "dur": (e.end_ns - e.start_ns) / 1e3, "pid": pid, "tid": e.thread} for e in self.events]
        with open(path, "w") as f:
            json.dump({"traceEvents": events, "displayTimeUnit": "ms"}, f)


class record_function(contextlib.ContextDecorator):
    """A named span (context manager or decorator) in the traces of the profilers
    recording."""

    def __init__(self, name: str, args: str | None = None):
        self.name = name

    def __enter__(self) -> record_function:
        self._start = time.perf_counter_ns()
        return self

    def __exit__(self, *exc) -> None:
        end = time.perf_counter_ns()
        for prof in _RECORDING:
            prof.events.append(_Event(self.name, self._start, end, threading.get_ident()))


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None, use_gzip: bool = False) -> Callable:
    """An ``on_trace_ready`` that writes each trace into ``dir_name`` as
    ``{worker_name}.{time}.pt.trace.json``, where TensorBoard's profiler plugin reads it."""
    if use_gzip:
        raise NotImplementedError("tensorboard_trace_handler: use_gzip=True is not supported; leave it False")

    def handler(prof: profile) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        prof.export_chrome_trace(os.path.join(dir_name, f"{worker}.{time.time_ns() // 1_000_000}.pt.trace.json"))
    return handler
