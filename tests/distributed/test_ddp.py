"""DistributedDataParallel on 2 processes, checked against one process."""

import time

import numpy as np
import pytest
from mpi_jobs import needs_mpi, ok, run_mpi

pytestmark = needs_mpi

CNN = """
import numpy as np, chainrule as cr
import chainrule.nn.functional as F
from chainrule import distributed as dist, nn, optim

def cnn(seed):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, rng=rng, dtype=np.float64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1, rng=rng, dtype=np.float64), nn.Tanh(), nn.Flatten(),
        nn.Linear(64, 16, rng=rng, dtype=np.float64), nn.ReLU(), nn.Linear(16, 3, rng=rng, dtype=np.float64),
    )

def batches(steps, size):
    rng = np.random.default_rng(123)
    for _ in range(steps):
        yield rng.normal(size=(size, 1, 8, 8)), rng.integers(0, 3, size)
"""


@pytest.mark.parametrize("shared_memory", [True, False])
def test_twenty_adam_steps_equal_one_process_on_the_combined_batch(tmp_path, shared_memory):
    out = ok(run_mpi(CNN + f"""
shared_memory = {shared_memory}
""" + """
dist.init()
r, n = dist.rank(), dist.world_size()
model = dist.DistributedDataParallel(cnn(seed=r), bucket_cap_mb=0.004, shared_memory=shared_memory)
assert len(model.bucket_sizes) > 2, model.bucket_sizes  # several buckets
assert model.shared_memory is shared_memory
opt = optim.Adam(model.parameters(), lr=1e-2)
for x, y in batches(20, 8):
    part = slice(r * 4, (r + 1) * 4)
    opt.zero_grad()
    F.cross_entropy(model(x[part]), y[part]).backward()
    opt.step()
mine = [p.detach().numpy() for p in model.module.parameters()]
everyone = dist.communicator().allgather(mine)
if r == 0:
    ref = cnn(seed=0)  # rank 0's initial values, which the wrapper broadcast
    ref_opt = optim.Adam(ref.parameters(), lr=1e-2)
    for x, y in batches(20, 8):
        ref_opt.zero_grad()
        F.cross_entropy(ref(x), y).backward()
        ref_opt.step()
    start = [p.detach().numpy() for p in cnn(seed=0).parameters()]
    for k, p in enumerate(ref.parameters()):
        want = p.detach().numpy()
        assert not np.allclose(want, start[k])  # it trained
        for got in everyone:
            err = np.max(np.abs(got[k] - want))
            assert err <= 1e-12, (k, err)
        assert np.array_equal(everyone[0][k], everyone[1][k])  # replicas stay identical
    print("equal to 1e-12 over", len(start), "parameters")
""", tmp_path))
    assert "equal to 1e-12 over 8 parameters" in out


@pytest.mark.parametrize("shared_memory", [True, False])
def test_no_sync_unused_parameters_and_mismatches(tmp_path, shared_memory):
    out = ok(run_mpi(f"""
shared_memory = {shared_memory}
""" + """
import numpy as np, chainrule as cr
from chainrule import distributed as dist, nn

dist.init()
r = dist.rank()

class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(r)
        self.body = nn.Linear(3, 4, rng=rng, dtype=np.float64)
        self.a = nn.Linear(4, 1, rng=rng, dtype=np.float64)
        self.b = nn.Linear(4, 1, rng=rng, dtype=np.float64)
    def forward(self, x, use_b):
        h = self.body(x).tanh()
        return self.a(h).sum() + (self.b(h).sum() if use_b else 0.0)

def local_grads(model, *calls):
    plain = TwoHeads()
    plain.load_state_dict(model.module.state_dict())
    for x, use_b in calls:
        plain(x, use_b).backward()
    return {k: (np.zeros_like(p.detach().numpy()) if p.grad is None else p.grad.numpy())
            for k, p in plain.named_parameters()}

model = dist.DistributedDataParallel(TwoHeads(), shared_memory=shared_memory)
assert model.shared_memory is shared_memory
x1, x2 = np.random.default_rng(10 + r).normal(size=(2, 5, 3))
# no_sync: the first micro-batch stays local, the second backward averages the sum
with model.no_sync():
    model(x1, True).backward()
local = {k: p.grad.numpy().copy() for k, p in model.module.named_parameters()}
other = dist.communicator().allgather(local["body.weight"])
assert not np.allclose(other[0], other[1])  # not averaged yet
model(x2, True).backward()
want = dist.all_reduce(local_grads(model, (x1, True), (x2, True)), op="mean")
for k, p in model.module.named_parameters():
    assert np.allclose(p.grad.numpy(), want[k], rtol=1e-13, atol=1e-15), k
model.zero_grad()
# head b is used on rank 1 only: rank 0 counts zero for it, and nobody hangs
model(x1, use_b=(r == 1)).backward()
want = dist.all_reduce(local_grads(model, (x1, r == 1)), op="mean")
for k, p in model.module.named_parameters():
    assert np.allclose(p.grad.numpy(), want[k], rtol=1e-13, atol=1e-15), k
assert model.gradient_bytes == model.last_bytes_reduced == sum(p.detach().numpy().nbytes for p in model.parameters())
# each gradient this process computed was written into its bucket once; head b's only on rank 1
b_bytes = sum(p.detach().numpy().nbytes for p in model.module.b.parameters())
assert model.last_bytes_copied == model.gradient_bytes - (0 if r == 1 else b_bytes), model.last_bytes_copied
# one Iallreduce per bucket, at most one Wait each, and the Tests made in between; or the
# two barriers of the sum in shared memory
if shared_memory:
    assert model.last_mpi_calls == 2, model.last_mpi_calls
else:
    assert len(model.bucket_sizes) + 1 <= model.last_mpi_calls, model.last_mpi_calls
assert 0 < model.last_mpi_seconds < 10 and 0 <= model.last_mpi_cpu_seconds < 10
# the next step is a normal one again
model.zero_grad()
model(x2, True).backward()
want = dist.all_reduce(local_grads(model, (x2, True)), op="mean")
for k, p in model.module.named_parameters():
    assert np.allclose(p.grad.numpy(), want[k], rtol=1e-13, atol=1e-15), k
# .grad is a view of the bucket: the next synchronised backward() overwrites it
kept = model.module.body.weight.grad.numpy()
copied = kept.copy()
model.zero_grad()
model(x1, False).backward()  # head b unused on every process: its .grad stays None (PyTorch's)
assert not np.array_equal(kept, copied) and np.array_equal(kept, model.module.body.weight.grad.numpy())
assert model.module.b.weight.grad is None and model.module.b.bias.grad is None
# different models on different ranks: the same error everywhere, naming the parameter
try:
    dist.DistributedDataParallel(nn.Sequential(nn.Linear(3, 4 + r), nn.Linear(4 + r, 1)))
except dist.DistributedError as e:
    if r == 0:
        print(e)
print(f"rank {r} ok", flush=True)  # one write: ranks print at once
""", tmp_path))
    assert "rank 1 differs from rank 0 at 'parameter 0.weight': rank 0 has 'parameter 0.weight' of shape (4, 3)" in out
    assert "rank 0 ok" in out and "rank 1 ok" in out


def test_wrap_broadcasts_parameters_and_buffers(tmp_path):
    out = ok(run_mpi("""
import numpy as np
from chainrule import distributed as dist, nn
dist.init()
r = dist.rank()
net = nn.Sequential(nn.Linear(2, 3, rng=r), nn.BatchNorm1d(3))
net[1].running_mean._value[:] = r + 1.0
dist.DistributedDataParallel(net)
state = {k: v.numpy() for k, v in net.state_dict().items()}
everyone = dist.communicator().allgather(state)
assert all(np.array_equal(everyone[0][k], everyone[1][k]) for k in state)
assert np.array_equal(state["1.running_mean"], np.ones(3))
print(f"rank {r} ok", flush=True)  # one write: ranks print at once
""", tmp_path))
    assert out.count("ok") == 2


@pytest.mark.parametrize("how", ["raise", "signal", "finally", "exit", "SystemExit", "os._exit"])
def test_a_failing_rank_ends_the_job(tmp_path, how):
    # "finally": PyTorch's tutorials leave the process group in a `finally:` on the way
    # out, so the failing process has left it when its error reaches the top.
    # "SystemExit": Python tells nobody the status of a SystemExit raised as it is; the
    # process that waits for the one that has gone ends the job.
    fail = {"signal": "os.kill(os.getpid(), signal.SIGKILL)", "exit": "sys.exit(3)",
            "SystemExit": "raise SystemExit(1)", "os._exit": "os._exit(2)"}.get(
        how, 'raise ValueError("rank 1 cannot go on")')
    start = time.monotonic()
    proc = run_mpi(f"""
import os, signal, sys, time
import numpy as np
from chainrule import distributed as dist
dist.init()
try:
    if dist.rank() == 1:
        time.sleep(0.5)
        {fail}
    dist.all_reduce(np.ones(3))  # rank 0 waits here for a partner that is gone
    print("should not get here")
finally:
    if {how == "finally"}:
        dist.destroy_process_group()
""", tmp_path, timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    assert elapsed < 30
    assert "should not get here" not in proc.stdout
    if how == "exit":
        assert proc.returncode == 3 and "[rank 1] exited with status 3 (sys.exit)" in proc.stderr, proc.stderr
    elif how == "os._exit":
        assert proc.returncode == 2 and "[rank 1] exited with status 2 (os._exit)" in proc.stderr, proc.stderr
    elif how == "SystemExit":
        assert "[rank 0] rank 1 has ended while this process waits for it in all_reduce (called at job.py:" in (
            proc.stderr), proc.stderr
    elif how != "signal":
        assert "[rank 1] ValueError: rank 1 cannot go on" in proc.stderr, proc.stderr


def test_training_steps_do_not_fault_the_heap_in_again(tmp_path):
    # One 7.45 MB bucket (the W4 MLP): without init()'s malloc thresholds, glibc shrinks
    # the heap after each allreduce and faults ~3,800 pages in again every step.
    out = ok(run_mpi("""
import platform, resource
import numpy as np
from chainrule import distributed as dist, nn, optim
from chainrule.distributed import comm
dist.init()
r = dist.rank()
model = nn.Sequential(nn.Linear(784, 1024, rng=0), nn.ReLU(), nn.Linear(1024, 1024, rng=1), nn.ReLU(),
                      nn.Linear(1024, 10, rng=2))
net = dist.DistributedDataParallel(model)
assert len(net.bucket_sizes) == 1
opt = optim.SGD(model.parameters(), lr=0.01)
x = np.random.default_rng(r).normal(size=(256, 784)).astype(np.float32)
y = np.arange(256) % 10
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for step in range(10):
    if step == 4:
        start = faults()
    opt.zero_grad()
    nn.CrossEntropyLoss()(net(x), y).backward()
    opt.step()
per_step = (faults() - start) / 6
glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
assert comm._STATE.kept_heap == glibc
if glibc:
    assert per_step < 100, per_step
print(f"rank {r} ok {per_step:.0f}", flush=True)
""", tmp_path))
    assert out.count("ok") == 2


def test_gradient_arrays_shared_between_parameters_and_retained_gradients_stay_right(tmp_path):
    # The rule of + hands the very same cotangent array to a and b, and c's gradient is
    # the array h.grad holds: dividing and reducing must never write into those arrays.
    out = ok(run_mpi("""
import numpy as np, chainrule as cr
from chainrule import distributed as dist, nn
dist.init()
r = dist.rank()

class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(np.ones(3))
        self.b = nn.Parameter(np.full(3, 2.0))
        self.c = nn.Parameter(np.full(3, 3.0))
        self.w = nn.Parameter(np.arange(6.0).reshape(2, 3))
    def forward(self, x):
        self.h = self.c + x
        self.h.retain_grad()
        return ((self.a + self.b) * x).sum() + self.h.sum() + (self.w @ x).sum()

x = np.random.default_rng(r).normal(size=3)
for cap in (1e-6, 25):  # one parameter per bucket, and all in one
    model = dist.DistributedDataParallel(Shared(), bucket_cap_mb=cap)
    model(x).backward()
    xs = dist.communicator().allgather(x)
    mean_x = np.mean(xs, axis=0)
    np.testing.assert_array_equal(model.module.a.grad.numpy(), mean_x)
    np.testing.assert_array_equal(model.module.b.grad.numpy(), mean_x)
    np.testing.assert_array_equal(model.module.c.grad.numpy(), np.ones(3))
    np.testing.assert_array_equal(model.module.h.grad.numpy(), np.ones(3))  # this process's own
    np.testing.assert_array_equal(model.module.w.grad.numpy(), np.tile(mean_x, (2, 1)))
    assert model.last_bytes_copied == model.gradient_bytes == 9 * 8 + 6 * 8
print(f"rank {r} ok", flush=True)
""", tmp_path))
    assert out.count("ok") == 2


def test_three_processes_average_to_the_last_bit(tmp_path):
    # with 3 processes each gradient is divided by 3 before the sum: the mean up to
    # rounding, never more than a few units in the last place from sum-then-divide
    out = ok(run_mpi("""
import numpy as np
from chainrule import distributed as dist, nn
dist.init()
r = dist.rank()
model = dist.DistributedDataParallel(nn.Linear(5, 3, rng=0, dtype=np.float64), bucket_cap_mb=1e-6)
x = np.random.default_rng(r).normal(size=(4, 5))
model(x).tanh().sum().backward()
local = nn.Linear(5, 3, rng=0, dtype=np.float64)
local.load_state_dict(model.module.state_dict())
local(x).tanh().sum().backward()
for name, p in local.named_parameters():
    want = dist.all_reduce(p.grad.numpy(), op="sum") / 3
    got = dict(model.module.named_parameters())[name].grad.numpy()
    np.testing.assert_allclose(got, want, rtol=4e-16 * 4, atol=1e-300)
    assert not np.array_equal(p.grad.numpy(), got)

# communication hooks (PyTorch's register_comm_hook), one parameter per bucket
from chainrule.distributed.algorithms.ddp_comm_hooks import default_hooks
from chainrule.futures import Future
seen = []
def keep_local(state, bucket):  # PyTorch's no-op hook: each process keeps its own gradients
    state.append((bucket.index(), bucket.is_last(), [tuple(g.shape) for g in bucket.gradients()],
                  [tuple(p.shape) for p in bucket.parameters()]))
    fut = Future()
    fut.set_result(bucket.buffer())
    return fut
from chainrule.distributed.algorithms import ddp_comm_hooks
from chainrule.distributed.algorithms.ddp_comm_hooks import debugging_hooks, powerSGD_hook

def bf16(a):  # rounded to bfloat16, to nearest even, the way torch.tensor(a).bfloat16() rounds
    bits = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).astype(np.uint32).view(np.float32)

fp16_wrapped = default_hooks.fp16_compress_wrapper(default_hooks.allreduce_hook)
bf16_wrapped = default_hooks.bf16_compress_wrapper(default_hooks.allreduce_hook)
for state, hook in ((None, default_hooks.allreduce_hook), (None, default_hooks.fp16_compress_hook),
                    (seen, keep_local), (None, debugging_hooks.noop_hook), (None, fp16_wrapped),
                    (None, default_hooks.bf16_compress_hook), (None, bf16_wrapped), (None, "BF16_COMPRESS")):
    hooked = dist.DistributedDataParallel(nn.Linear(5, 3, rng=0, dtype=np.float64), bucket_cap_mb=1e-6)
    if isinstance(hook, str):
        ddp_comm_hooks.register_ddp_comm_hook(ddp_comm_hooks.DDPCommHookType[hook], hooked)
    else:
        hooked.register_comm_hook(state, hook)
    hooked(x).tanh().sum().backward()
    for name, p in local.named_parameters():
        got = dict(hooked.module.named_parameters())[name].grad.numpy()
        parts = dist.all_reduce({k: p.grad.numpy() * (k == r) for k in range(3)})
        if hook in (keep_local, debugging_hooks.noop_hook):
            assert np.array_equal(got, p.grad.numpy())
        elif hook is default_hooks.allreduce_hook:  # the mean, as without a hook
            np.testing.assert_allclose(got, dist.all_reduce(p.grad.numpy()) / 3, rtol=4e-16 * 4, atol=1e-300)
        elif hook in (default_hooks.fp16_compress_hook, fp16_wrapped):
            # float16: each gradient cast and divided by 3 in float16, summed in float16
            third = [(parts[k].astype(np.float16) / np.float16(3)).astype(np.float16) for k in range(3)]
            want = (third[0] + third[1] + third[2]).astype(np.float64)  # the sum's order: within a unit
            np.testing.assert_allclose(got, want, rtol=2.0 ** -10, atol=0)
            assert not np.array_equal(got, dist.all_reduce(p.grad.numpy()) / 3)
        else:  # bfloat16 likewise, with its 8 bits
            third = [bf16(bf16(parts[k]) / np.float32(3)) for k in range(3)]
            want = bf16(third[0] + third[1] + third[2]).astype(np.float64)
            np.testing.assert_allclose(got, want, rtol=2.0 ** -7, atol=0)
            assert np.array_equal(bf16(got), got) and not np.array_equal(got, dist.all_reduce(p.grad.numpy()) / 3)
for refused in (lambda: ddp_comm_hooks.register_ddp_comm_hook(ddp_comm_hooks.DDPCommHookType.POWER_SGD, hooked),
                lambda: powerSGD_hook.PowerSGDState(process_group=None)):
    try:
        refused()
    except NotImplementedError as e:
        assert "is not available in chainrule: register default_hooks.allreduce_hook" in str(e), str(e)
    else:
        raise AssertionError("PowerSGD")
assert seen == [(0, False, [(3,)], [(3,)]), (1, True, [(3, 5)], [(3, 5)])], seen
try:
    hooked.register_comm_hook(None, default_hooks.allreduce_hook)
except RuntimeError as e:
    assert "can only be called once" in str(e)
else:
    raise AssertionError("a second hook")
print(f"rank {r} ok", flush=True)
""", tmp_path, n=3))
    assert out.count("ok") == 3


def test_the_sum_in_shared_memory_is_the_sum_and_the_same_bits_everywhere(tmp_path):
    # Odd sizes (chunks of unequal length, a buffer shorter than the number of processes,
    # an empty one), two dtypes, NaN, inf and signed zeros; three processes; twice, so the
    # second sum reads buffers the first one wrote.
    out = ok(run_mpi("""
import numpy as np
from chainrule import distributed as dist
from chainrule.distributed.shared import shared_sum
dist.init()
comm = dist.communicator()
r, n = comm.Get_rank(), comm.Get_size()
layout = [(0, np.float64), (1, np.float32), (2, np.float64), (7, np.float64), (1001, np.float32)]
summed = shared_sum(comm, layout, wanted=True)
for round_ in range(2):
    rng = np.random.default_rng(10 * round_ + r)
    mine = [rng.normal(size=count).astype(dtype) for count, dtype in layout]
    mine[3][:4] = [np.nan if r == 1 else 1.0, np.inf, -0.0, np.inf if r == 0 else -np.inf if r == 2 else 2.0]
    for buffer, values in zip(summed.buffers, mine):
        buffer[:] = values
    assert summed.allreduce() == 2
    everyone = comm.allgather(mine)
    for k, (count, dtype) in enumerate(layout):
        got = summed.buffers[k]
        assert got.dtype == dtype and got.shape == (count,)
        parts = np.array([e[k].astype(np.float64) for e in everyone]).reshape(n, count)
        want = parts.sum(axis=0)
        bound = 2 * np.finfo(dtype).eps * np.abs(parts).sum(axis=0)  # two roundings per sum
        finite = np.isfinite(want)
        assert np.all(np.abs(got[finite] - want[finite]) <= bound[finite])
        assert all(np.array_equal(g, got, equal_nan=True) for g in comm.allgather(got))
    assert np.isnan(summed.buffers[3][0]) and summed.buffers[3][1] == np.inf
    assert np.isnan(summed.buffers[3][3])  # inf + (-inf)
    assert summed.buffers[3][2] == 0 and np.signbit(summed.buffers[3][2])  # -0 + -0 + -0
print(f"rank {r} ok", flush=True)
""", tmp_path, n=3))
    assert out.count("ok") == 3


def test_shared_memory_is_used_only_where_every_process_can(tmp_path):
    # One process finds no room in /dev/shm: every process falls back to MPI's allreduce
    # (the same collectives everywhere), and shared_memory=True says why, on every process.
    out = ok(run_mpi("""
import numpy as np
from chainrule import distributed as dist, nn
from chainrule.distributed import shared
dist.init()
r = dist.rank()
assert dist.DistributedDataParallel(nn.Linear(3, 2)).shared_memory  # all on this machine
if r == 1:
    shared._room_in_dev_shm = lambda nbytes: False
model = dist.DistributedDataParallel(nn.Linear(3, 2, rng=0))
assert not model.shared_memory
x = np.full((2, 3), r + 1.0, dtype=np.float32)
model(x).sum().backward()
assert np.array_equal(model.module.weight.grad.numpy(), np.full((2, 3), 3.0))  # (2 + 4) / 2
try:
    dist.DistributedDataParallel(nn.Linear(3, 2), shared_memory=True)
except dist.DistributedError as e:
    assert "/dev/shm has no room" in str(e) and "shared_memory=None" in str(e), e
else:
    raise AssertionError("shared_memory=True without room did not raise")
print(f"rank {r} ok", flush=True)
""", tmp_path))
    assert out.count("ok") == 2


@pytest.mark.parametrize("shared_memory", [True, False])
def test_gradients_accumulate_over_synchronised_backward_calls(tmp_path, shared_memory):
    # Two backward() calls through one retained graph without zero_grad(): .grad holds the
    # sum of both means (as PyTorch's DDP: the accumulated .grad is what gets averaged).
    # A reference to .grad is a view of the bucket: the next step's mean shows through it.
    out = ok(run_mpi(f"""
shared_memory = {shared_memory}
""" + """
import numpy as np
from chainrule import distributed as dist, nn
dist.init()
r = dist.rank()
model = dist.DistributedDataParallel(nn.Linear(3, 2, rng=0, dtype=np.float64), shared_memory=shared_memory)
assert model.shared_memory is shared_memory
x = np.random.default_rng(r).normal(size=(4, 3))
local = nn.Linear(3, 2, rng=0, dtype=np.float64)
local(x).tanh().sum().backward()
want = dist.all_reduce(local.weight.grad.numpy(), op="mean")
loss = model(x).tanh().sum()
loss.backward(retain_graph=True)
assert np.allclose(model.module.weight.grad.numpy(), want, rtol=1e-14, atol=0)
loss.backward()
assert np.allclose(model.module.weight.grad.numpy(), 2 * want, rtol=1e-14, atol=0)
held = model.module.weight.grad
model.zero_grad()
assert model.module.weight.grad is None
model(x).tanh().sum().backward()
assert np.allclose(model.module.weight.grad.numpy(), want, rtol=1e-14, atol=0)
assert np.allclose(held.numpy(), want, rtol=1e-14, atol=0)
everyone = dist.communicator().allgather(model.module.weight.grad.numpy())
assert np.array_equal(everyone[0], everyone[1])
# PyTorch's flag that no_sync() clears, set by hand (as Accelerate does): this process's
# own gradient, then the mean of the accumulated ones
model.zero_grad()
model.require_backward_grad_sync = False
model(x).tanh().sum().backward()
assert np.allclose(model.module.weight.grad.numpy(), local.weight.grad.numpy(), rtol=1e-14, atol=0)
model.require_backward_grad_sync = True
model(x).tanh().sum().backward()
assert np.allclose(model.module.weight.grad.numpy(), 2 * want, rtol=1e-14, atol=0)
print(f"rank {r} ok", flush=True)
""", tmp_path))
    assert out.count("ok") == 2


def test_a_job_of_one_has_nothing_to_share_and_bad_options_are_named():
    import numpy as np

    from chainrule import distributed as dist
    from chainrule import nn

    dist.init()
    if dist.world_size() != 1:
        pytest.skip("the test process itself must be a job of one")
    model = dist.DistributedDataParallel(nn.Linear(2, 1), shared_memory=True)
    assert not model.shared_memory  # one process: no hooks, nothing to sum
    calls = []  # but a communication hook runs, as in PyTorch
    model.register_comm_hook(calls, lambda state, bucket: state.append(bucket.index()) or
                             dist.all_reduce(bucket.buffer() * 2.0, async_op=True).get_future())
    model(np.ones((1, 2), np.float32)).sum().backward()
    assert calls == [0] and model.module.bias.grad.tolist() == [2.0]
    with pytest.raises(TypeError, match="shared_memory must be None"):
        dist.DistributedDataParallel(nn.Linear(2, 1), shared_memory="yes")
    # the options that scripts written for PyTorch pass
    model = dist.DistributedDataParallel(nn.Linear(2, 1), find_unused_parameters=True, static_graph=True,
                                         gradient_as_bucket_view=False, broadcast_buffers=False)
    model._set_static_graph()
    model(np.ones((1, 2), np.float32)).sum().backward()
    assert model.module.bias.grad.tolist() == [1.0]
    for nothing_to_train in (nn.ReLU(), nn.Linear(2, 1).requires_grad_(False)):  # PyTorch refuses them too
        with pytest.raises(RuntimeError, match="not needed when a module doesn't have any parameter"):
            dist.DistributedDataParallel(nothing_to_train)


def test_unused_parameters_as_torch_ddp(tmp_path):
    # a head no process uses keeps .grad None (so AdamW's decay skips it, as in PyTorch); a
    # head used on one rank while the other still holds an accumulated .grad adds that
    # .grad (PyTorch's reducer): both equal one process on the combined batch
    out = ok(run_mpi("""
import numpy as np, chainrule as cr
from chainrule import nn, optim
import chainrule.distributed as dist
from chainrule.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
r = dist.get_rank()

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.a = nn.Linear(3, 4, rng=rng, dtype=np.float64)
        self.c = nn.Linear(4, 2, rng=rng, dtype=np.float64)
        self.head = nn.Linear(4, 2, rng=rng, dtype=np.float64)  # never used
        self.frozen = nn.Linear(3, 4, rng=rng, dtype=np.float64).requires_grad_(False)
    def forward(self, x, use_c=True):
        h = cr.tanh(self.a(x) + self.frozen(x))
        return h.sum(1, keepdim=True) + (self.c(h) if use_c else 0.0)

X, Y = np.random.default_rng(1).normal(size=(2, 8, 3))
Y = Y[:, :2]
mine = slice(4 * r, 4 * r + 4)
for shared in (True, False):
    model, ref = DDP(Net(), find_unused_parameters=True, shared_memory=shared), Net()
    opt, ref_opt = optim.AdamW(model.parameters(), lr=0.1), optim.AdamW(ref.parameters(), lr=0.1)
    for step in range(3):
        opt.zero_grad()
        ((model(X[mine]) - Y[mine]) ** 2).sum().backward()
        opt.step()
        ref_opt.zero_grad()
        (((ref(X) - Y) ** 2).sum() / 2).backward()
        ref_opt.step()
    assert model.module.head.weight.grad is None and model.module.frozen.weight.grad is None
    for (k, p), q in zip(model.module.named_parameters(), ref.parameters()):
        assert np.max(np.abs(p.detach().numpy() - q.detach().numpy())) <= 1e-12, k
    # no zero_grad between two steps; head c used on rank 0 only in the second
    ref.load_state_dict(model.module.state_dict())
    model.zero_grad()
    ref.zero_grad()
    ((model(X[mine]) - Y[mine]) ** 2).sum().backward()
    ((model(X[mine], use_c=r == 0) - Y[mine]) ** 2).sum().backward()
    (((ref(X) - Y) ** 2).sum() / 2).backward()
    (((ref(X[:4]) - Y[:4]) ** 2).sum() / 2 + ((ref(X[4:], use_c=False) - Y[4:]) ** 2).sum() / 2).backward()
    for (k, p), q in zip(model.module.named_parameters(), ref.parameters()):
        if q.grad is None:
            assert p.grad is None, k
        else:
            assert np.max(np.abs(p.grad.numpy() - q.grad.numpy())) <= 1e-12, k
    # head c used in a micro-batch under no_sync() only: averaged by the synchronised pass
    model.zero_grad()
    ref.zero_grad()
    with model.no_sync():
        ((model(X[mine][:2]) - Y[mine][:2]) ** 2).sum().backward()
    ((model(X[mine][2:], use_c=False) - Y[mine][2:]) ** 2).sum().backward()
    for q in (0, 1):
        rows = slice(4 * q, 4 * q + 2)
        (((ref(X[rows]) - Y[rows]) ** 2).sum() / 2).backward()
        rows = slice(4 * q + 2, 4 * q + 4)
        (((ref(X[rows], use_c=False) - Y[rows]) ** 2).sum() / 2).backward()
    for (k, p), q in zip(model.module.named_parameters(), ref.parameters()):
        if q.grad is None:
            assert p.grad is None, k
        else:
            assert np.max(np.abs(p.grad.numpy() - q.grad.numpy())) <= 1e-12, k
print(f"rank {r} ok", flush=True)
""", tmp_path))
    assert "rank 0 ok" in out and "rank 1 ok" in out


def test_join_with_uneven_inputs_as_torch(tmp_path):
    # rank 0 has 5 batches, rank 1 has 3: inside model.join() rank 1 shadows the last two
    # steps with zero gradients (each still divided by 2, PyTorch's default), so the
    # parameters equal one process's steps on the combined batches; then
    # throw_on_early_termination raises on both processes and the wrapper trains on
    out = ok(run_mpi("""
import numpy as np, chainrule as cr
from chainrule import nn, optim
import chainrule.distributed as dist
from chainrule.distributed.algorithms.join import Join, Joinable, JoinHook

dist.init_process_group("gloo")
r = dist.get_rank()

def make():
    return nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(0), dtype=np.float64),
                         nn.BatchNorm1d(4, dtype=np.float64), nn.Tanh(),
                         nn.Linear(4, 1, rng=np.random.default_rng(1), dtype=np.float64))

X = np.random.default_rng(5).normal(size=(20, 3))
count = [5, 3]
batches = [[X[7 * q + k : 7 * q + k + 2] for k in range(count[q])] for q in range(2)]
for shared in (True, False):
    model = dist.DistributedDataParallel(make(), shared_memory=shared)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    # PyTorch's generic Join([model]) does what model.join() does
    with model.join() if shared else Join([model], divide_by_initial_world_size=True):
        for xb in batches[r]:
            opt.zero_grad()
            (model(xb) ** 2).sum().backward()
            opt.step()
    ref = make()
    ref_opt = optim.SGD(ref.parameters(), lr=0.1, momentum=0.5)
    for k in range(5):
        ref_opt.zero_grad()
        (sum((ref(batches[q][k]) ** 2).sum() for q in range(2) if k < count[q]) / 2).backward()
        ref_opt.step()
    for p, q in zip(model.module.parameters(), ref.parameters()):
        assert np.max(np.abs(p.detach().numpy() - q.detach().numpy())) <= 1e-12
    raised = 0
    try:
        with model.join(throw_on_early_termination=True):
            for xb in batches[r]:
                opt.zero_grad()
                (model(xb) ** 2).sum().backward()
                opt.step()
    except RuntimeError as e:
        raised = 1
        assert ("another process has run out" if r == 0 else "this process has run out") in str(e)
    assert raised
    opt.zero_grad()
    (model(X[:2]) ** 2).sum().backward()

# a Joinable of one's own, as PyTorch's tutorial's: a count of every process's iterations
class CounterHook(JoinHook):
    def __init__(self, counter):
        self.counter = counter
    def main_hook(self):
        dist.all_reduce(np.zeros(1))  # shadow the others' count
    def post_hook(self, is_last_joiner):
        self.counter.last = is_last_joiner

class Counter(Joinable):
    def __init__(self):
        super().__init__()
        self.count, self.last = 0.0, None
    def __call__(self):
        Join.notify_join_context(self)
        self.count += dist.all_reduce(np.ones(1))[0]
    def join_hook(self, **kwargs):
        return CounterHook(self)

counter = Counter()
with Join([counter]):
    for _ in range(count[r]):
        counter()
assert counter.count == (8.0 if r == 0 else 6.0) and counter.last == (r == 0), (counter.count, counter.last)
try:
    with Join([Counter()], throw_on_early_termination=True) as j:
        for _ in range(count[r]):
            j._joinables[0]()
except RuntimeError as e:
    assert ("exhausted inputs" if r == 0 else "Rank 1 exhausted all inputs") in str(e), str(e)
else:
    raise AssertionError("throw_on_early_termination")
print(f"rank {r} ok", flush=True)
""", tmp_path))
    assert "rank 0 ok" in out and "rank 1 ok" in out


@pytest.mark.usefixtures("one_torch_thread")
def test_bfloat16_rounding_of_the_compressing_hooks_is_torchs():
    torch = pytest.importorskip("torch")
    from chainrule.distributed.algorithms.ddp_comm_hooks.default_hooks import to_bfloat16

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=200).astype(np.float32) * 10.0 ** rng.integers(-30, 30, 200),
                        np.float32([0.0, -0.0, np.inf, -np.inf, 3.4e38, 1.00390625, 1.01171875, 1e-40])])
    want = torch.tensor(x).bfloat16().float().numpy()
    assert np.array_equal(to_bfloat16(x), want)
    assert np.isnan(to_bfloat16(np.float32([np.nan])))[0]
