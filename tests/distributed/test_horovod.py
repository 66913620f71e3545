"""Horovod's spellings (chainrule.distributed.horovod) on 2 processes, against one process."""

import pytest
from mpi_jobs import needs_mpi, ok, run_mpi

pytestmark = needs_mpi


def test_a_script_written_for_horovod_trains_as_one_process_on_the_combined_batch(tmp_path):
    out = ok(run_mpi("""
import numpy as np, chainrule as cr
import chainrule.distributed.horovod as hvd
from chainrule import nn, optim
from chainrule.optim import lr_scheduler

hvd.init()
r, W = hvd.rank(), hvd.size()
assert (W, hvd.local_size(), hvd.local_rank(), hvd.cross_size(), hvd.cross_rank()) == (2, 2, r, 1, 0)

def make(seed):
    return nn.Sequential(nn.Linear(3, 4, rng=np.random.default_rng(seed), dtype=np.float64), nn.Tanh(),
                         nn.Linear(4, 2, rng=np.random.default_rng(seed + 7), dtype=np.float64))

model = make(r)  # different on each process until broadcast_parameters
opt = optim.Adam(model.parameters(), lr=0.01 * W)
opt = hvd.DistributedOptimizer(opt, named_parameters=model.named_parameters(), backward_passes_per_step=2)
hvd.broadcast_parameters(model.state_dict(), root_rank=0)
hvd.broadcast_optimizer_state(opt, root_rank=0)
sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
assert isinstance(opt, optim.Adam)
ref = make(0)
ref_opt = optim.Adam(ref.parameters(), lr=0.01 * W)
ref_sched = lr_scheduler.StepLR(ref_opt, step_size=1, gamma=0.5)
X = np.random.default_rng(3).normal(size=(W, 8, 3))
for epoch in range(3):
    opt.zero_grad()
    for k in range(2):  # two micro-batches, then one averaged step
        (model(X[r][4 * k : 4 * k + 4]) ** 2).mean().backward()
    opt.step()
    sched.step()
    ref_opt.zero_grad()
    for k in range(2):
        (sum((ref(X[q][4 * k : 4 * k + 4]) ** 2).mean() for q in range(W)) / W).backward()
    ref_opt.step()
    ref_sched.step()
for p, q in zip(model.parameters(), ref.parameters()):
    assert np.max(np.abs(p.detach().numpy() - q.detach().numpy())) <= 1e-12

t = cr.tensor(np.array([1.0, 2.0]) * (r + 1))
assert hvd.allreduce(t).tolist() == [1.5, 3.0] and hvd.allreduce(t, average=False).tolist() == [3.0, 6.0]
assert hvd.allreduce(t, op=hvd.Sum, name="s").tolist() == [3.0, 6.0] and t.tolist() == [r + 1.0, 2 * r + 2.0]
assert hvd.allreduce_(t, op=hvd.Sum) is t and t.tolist() == [3.0, 6.0]
assert hvd.allgather(cr.tensor(np.arange(r + 1.0).reshape(-1, 1))).numpy().ravel().tolist() == [0.0, 0.0, 1.0]
assert hvd.broadcast(cr.tensor(np.array([r])), root_rank=1).tolist() == [1]
assert hvd.broadcast_object({"r": r}, 1) == {"r": 1} and hvd.allgather_object(r) == [0, 1]
# differentiable: the gradient of the mean is the mean of the cotangents
x = cr.tensor(np.array([1.0, 3.0]) * (r + 1), requires_grad=True)
(hvd.allreduce(x) ** 2).sum().backward()
assert x.grad.tolist() == [3.0, 9.0]
fp16 = hvd.allreduce(np.array([1.0, 1e-3]) * (r + 1), compression=hvd.Compression.fp16)
assert fp16.dtype == np.float64 and np.allclose(fp16, [1.5, 1.5e-3], rtol=1e-3)
m2 = make(r)
hvd.broadcast_parameters(m2.named_parameters(), root_rank=0)
assert np.array_equal(m2[0].weight.detach().numpy(), make(0)[0].weight.detach().numpy())
# the rest of Horovod's names that scripts call (values worked out by hand)
hvd.barrier()
assert hvd.mpi_built() and not hvd.nccl_built() and not hvd.cuda_built()
assert isinstance(hvd.mpi_threads_supported(), bool)
h = hvd.allreduce_async_(cr.tensor(np.array([r + 1.0])), op=hvd.Sum)
assert hvd.poll(h) and hvd.synchronize(h).tolist() == [3.0]
assert hvd.synchronize(hvd.allgather_async(np.array([r]))).tolist() == [0, 1]
assert [t.tolist() for t in hvd.grouped_allreduce([cr.tensor([1.0 * r]), cr.tensor([2.0, r])])] == [[0.5], [2.0, 0.5]]
out, came = hvd.alltoall(cr.tensor(np.arange(3.0) + 10 * r), splits=[1, 2] if r == 0 else [2, 1])
assert out.tolist() == ([0.0, 10.0, 11.0] if r == 0 else [1.0, 2.0, 12.0])
assert came.tolist() == ([1, 2] if r == 0 else [2, 1])
assert hvd.alltoall(np.array([r, r])).tolist() == [0, 1]
rs = hvd.reducescatter(cr.tensor(np.arange(3.0) * (r + 1)), op=hvd.Sum)  # rows 0-1 to process 0, row 2 to 1
assert rs.tolist() == ([0.0, 3.0] if r == 0 else [6.0]), rs
assert hvd.reducescatter(np.arange(4.0) * (r + 1)).tolist() == ([0.0, 1.5] if r == 0 else [3.0, 4.5])
# Horovod's mean of integers: the sum floor-divided, in their dtype (a count of correct answers)
counts = hvd.allreduce(cr.tensor(np.array([1 + r, 4 + r], np.int64)), name="correct")
assert counts.numpy().dtype == np.int64 and counts.tolist() == [1, 4], counts
assert hvd.allreduce(np.array([3, 6 * r], np.int32)).tolist() == [3, 3]
# allgather, broadcast and alltoall are differentiable, as Horovod's autograd functions:
# allgather's rows get the mean over the processes of the cotangents (uneven rows here),
# broadcast's root the mean (the others zero), alltoall's rows their cotangents back
x = cr.tensor(np.arange(2.0 * (r + 1)).reshape(r + 1, 2) + 10 * r, requires_grad=True)
c = np.random.default_rng(r).normal(size=(3, 2))
(hvd.allgather(x) * cr.tensor(c)).sum().backward()
mean = sum(hvd.allgather_object(c)) / W
assert np.abs(x.grad.numpy() - (mean[:1] if r == 0 else mean[1:])).max() <= 1e-15, (x.grad, mean)
x = cr.tensor(np.array([1.0, 2.0]) * (r + 1), requires_grad=True)
(hvd.broadcast(x, root_rank=1) * (r + 2.0)).sum().backward()
assert x.grad.tolist() == ([0.0, 0.0] if r == 0 else [2.5, 2.5]), x.grad
x = cr.tensor(np.arange(3.0) + 10 * r, requires_grad=True)
out, _ = hvd.alltoall(x, splits=[1, 2] if r == 0 else [2, 1])
(out * cr.tensor(np.arange(1.0, 4.0) * (r + 1))).sum().backward()
assert x.grad.tolist() == ([1.0, 2.0, 4.0] if r == 0 else [2.0, 3.0, 6.0]), x.grad
# reducescatter too, with Horovod's derivative: every process's cotangent of its block,
# gathered (times the number of processes for hvd.Sum); rows 0-1 go to process 0, row 2 to 1
for op, scale in ((hvd.Average, 1.0), (hvd.Sum, 2.0)):
    x = cr.tensor(np.arange(3.0) * (r + 1), requires_grad=True)
    y = hvd.reducescatter(x, op=op, prescale_factor=0.5)
    assert y.tolist() == ([0.0, 0.75] if r == 0 else [1.5]) if op == hvd.Average else ([0.0, 1.5] if r == 0 else [3.0])
    (y * cr.tensor(np.arange(1.0, y.shape[0] + 1) * (r + 1))).sum().backward()
    assert x.grad.tolist() == [0.5 * scale, 1.0 * scale, 1.0 * scale], (op, x.grad)
# under vmap each example travels as it would alone, and so do its gradients
xs = np.arange(6.0 * (r + 1)).reshape(2, r + 1, 3) + 10 * r
assert np.array_equal(cr.vmap(hvd.allgather)(xs), np.stack([hvd.allgather(e) for e in xs]))
firsts = xs[:, :1]
assert np.array_equal(cr.vmap(lambda e: hvd.broadcast(e, 1))(firsts), np.stack([hvd.broadcast(e, 1) for e in firsts]))
split = [1, 2] if r == 0 else [2, 1]
ys = np.arange(6.0).reshape(2, 3) + 10 * r
assert np.array_equal(cr.vmap(lambda e: hvd.alltoall(e, splits=split)[0])(ys),
                      np.stack([hvd.alltoall(e, splits=split)[0] for e in ys]))
zs = np.arange(12.0).reshape(2, 3, 2) * (r + 1)
assert np.array_equal(cr.vmap(lambda e: hvd.reducescatter(e, op=hvd.Sum))(zs),
                      np.stack([hvd.reducescatter(e, op=hvd.Sum) for e in zs]))
weights = np.random.default_rng(r).normal(size=(2, 3, 3))
per_example = cr.vmap(cr.grad(lambda e, w: (hvd.allgather(e) * w).sum()))(xs, weights)
alone = [cr.grad(lambda e, w: (hvd.allgather(e) * w).sum())(e, w) for e, w in zip(xs, weights)]
assert np.abs(per_example - np.stack(alone)).max() <= 1e-15
print(f"rank {r} ok", flush=True)
""", tmp_path))
    assert "rank 0 ok" in out and "rank 1 ok" in out


def test_refusals_in_a_job_of_one():
    import chainrule.distributed.horovod as hvd
    from chainrule import nn, optim

    hvd.init()
    with pytest.raises(NotImplementedError, match="Adasum"):
        hvd.allreduce(1.0, op=hvd.Adasum)
    with pytest.raises(ValueError, match="not both"):
        hvd.allreduce(1.0, average=True, op=hvd.Sum)
    with pytest.raises(ValueError, match="hvd.Average or hvd.Sum"):
        hvd.DistributedOptimizer(optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1), op=hvd.Max)


def test_join_shadows_the_allreduces_of_processes_with_more_batches(tmp_path):
    # rank 0 has 3 batches, rank 1 one; the gradient of (w * x).sum() is x, and Horovod's
    # mean divides by both processes, the joined one adding zeros
    out = ok(run_mpi("""
import numpy as np, chainrule as cr
import chainrule.distributed.horovod as hvd
from chainrule import optim
from chainrule.distributed import DistributedError

hvd.init()
r = hvd.rank()
w = cr.tensor([1.0, 2.0], requires_grad=True)
opt = hvd.DistributedOptimizer(optim.SGD([w], lr=1.0))
batches = [np.array([1.0, 2.0]) * (r + 1) * k for k in range(1, 4 if r == 0 else 2)]
for x in batches:
    opt.zero_grad()
    (w * cr.tensor(x)).sum().backward()
    opt.step()
if r == 0:  # step 1: mean of [1, 2] and [2, 4]; steps 2 and 3: [2, 4] / 2 and [3, 6] / 2
    assert w.tolist() == [1.0 - 1.5 - 1.0 - 1.5, 2.0 - 3.0 - 2.0 - 3.0], w
    try:
        hvd.broadcast(cr.tensor([1.0]), root_rank=0)
    except DistributedError as e:
        assert "rank 1 has called hvd.join()" in str(e), str(e)
    else:
        raise AssertionError("broadcast with a process that has joined")
    assert hvd.allgather(cr.tensor([[5.0]])).tolist() == [[5.0]]  # no rows from the joined process
    assert hvd.allreduce(np.array([4, 6]), op=hvd.Max).tolist() == [4, 6]
    assert hvd.allreduce(cr.tensor([2.0, 4.0])).tolist() == [1.0, 2.0]  # a Tensor: its own message
else:
    assert w.tolist() == [-0.5, -1.0], w
    try:
        hvd.join()
    except DistributedError as e:  # raised on every process
        assert "rank 1 has called hvd.join()" in str(e), str(e)
    else:
        raise AssertionError("join while the other broadcasts")
assert hvd.join() == 0  # the last to join
print(f"rank {r} ok", flush=True)
""", tmp_path))
    assert "rank 0 ok" in out and "rank 1 ok" in out
