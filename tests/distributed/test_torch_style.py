"""A training script written for torch.distributed, with chainrule in its place, on 2
processes: PyTorch's names, in-place collectives on eager Tensors, DDP's keywords and its
buffer broadcast."""

from mpi_jobs import needs_mpi, ok, run_mpi

pytestmark = needs_mpi

SCRIPT = """
import numpy as np, chainrule as cr
import chainrule.nn as nn, chainrule.nn.functional as F, chainrule.optim as optim
import chainrule.distributed as dist
from chainrule.distributed import DistributedDataParallel as DDP

import os  # torchrun's variables, read before init_process_group, as torchrun's scripts do
early = [int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")]
dist.init_process_group(backend="gloo", rank=early[0], world_size=early[1])
rank, world = dist.get_rank(), dist.get_world_size()
assert early == [rank, 2, rank, 2], early
assert dist.is_available() and dist.is_initialized() and world == 2
import os  # torchrun's variables, which scripts written for it read after init_process_group
torchrun = [os.environ[k] for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")]
assert torchrun == [str(rank), "2", str(rank), "2"], torchrun

def make():
    cr.manual_seed(rank)  # different initial weights: DDP must start from rank 0's
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))

def gathered(tensors):
    return dist.communicator().allgather([t.detach().numpy().copy() for t in tensors])

for broadcast_buffers in (True, False):
    model = make()
    ddp = DDP(model, broadcast_buffers=broadcast_buffers, gradient_as_bucket_view=False)
    assert all(k.startswith("module.") for k in ddp.state_dict())
    opt = optim.SGD(ddp.parameters(), lr=0.1)
    rng = np.random.default_rng(10 + rank)
    for step in range(3):
        x = cr.tensor(rng.normal(size=(6, 4)).astype(np.float32))
        y = cr.tensor(rng.integers(0, 2, 6))
        opt.zero_grad()
        loss = F.cross_entropy(ddp(x), y)
        loss.backward()
        kept = [p.grad for p in ddp.parameters()]
        kept_values = [g.numpy().copy() for g in kept]
        opt.step()
        total = loss.detach().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)  # in place, as torch.distributed's
        every_loss = dist.communicator().allgather(float(loss))
        assert abs(float(total) - sum(every_loss)) < 1e-6, (float(total), every_loss)
    everyone = gathered(ddp.parameters())
    assert all(np.array_equal(a, b) for a, b in zip(*everyone)), "replicas differ"
    before = gathered(model[1].buffers())
    assert not all(np.array_equal(a, b) for a, b in zip(*before)), "each process's own statistics"
    ddp.eval()
    with cr.no_grad():
        ddp(cr.tensor(np.ones((2, 4), np.float32)))  # starts with rank 0's buffers, if broadcast
    after = gathered(model[1].buffers())
    same = all(np.array_equal(a, b) for a, b in zip(*after))
    assert same == broadcast_buffers, (broadcast_buffers, after)
    # gradient_as_bucket_view=False: a gradient kept from a step is not overwritten later
    assert all(np.array_equal(g.numpy(), v) for g, v in zip(kept, kept_values))

t = cr.tensor([1.0 + rank])
work = dist.all_reduce(t, op=dist.ReduceOp.MAX, async_op=True)
work.wait()
assert t.tolist() == [2.0]
b = cr.tensor([10.0 * (rank + 1)])
dist.broadcast(b, src=1)
assert b.tolist() == [20.0]
parts = [cr.zeros(2) for _ in range(world)]
dist.all_gather(parts, cr.tensor([rank, 10.0 * rank]))
assert [p.tolist() for p in parts] == [[0.0, 0.0], [1.0, 10.0]]
objects = [None] * world
dist.all_gather_object(objects, {"rank": rank})
assert objects == [{"rank": 0}, {"rank": 1}]
config = [{"lr": 0.1}] if rank == 0 else [None]
dist.broadcast_object_list(config, src=0)
assert config == [{"lr": 0.1}]
r = cr.tensor([1.0 + rank])
dist.reduce(r, dst=0, op=dist.ReduceOp.SUM)
assert r.tolist() == ([3.0] if rank == 0 else [2.0])
converted = nn.SyncBatchNorm.convert_sync_batchnorm(make())
assert type(converted[1]).__name__ == "SyncBatchNorm"
from chainrule.nn.parallel import DistributedDataParallel
from chainrule.data.distributed import DistributedSampler
assert DistributedDataParallel is DDP and DistributedSampler is cr.data.DistributedSampler
a = np.array([1.0 + rank])
assert dist.all_reduce(a).tolist() == [3.0] and a.tolist() == [1.0 + rank]  # arrays: a new result
for bad, message in ((lambda: DDP(make(), device_ids=[rank]), "device_ids"),
                     (lambda: dist.init_process_group("nccl"), "'nccl' is not available"),
                     (lambda: dist.init_process_group(), "initialize the default process group twice!")):
    try:
        bad()
    except (ValueError, dist.DistributedError) as e:
        assert message in str(e), str(e)
    else:
        raise AssertionError(message)
finished = dist.communicator().allgather(True)
dist.destroy_process_group()
try:  # a world size that is not the launcher's
    dist.init_process_group(world_size=3)
except dist.DistributedError as e:
    assert "world_size=3 was given" in str(e), str(e)
else:
    raise AssertionError("world_size=3")
dist.destroy_process_group()
assert not dist.is_initialized()
if rank == 0:
    print("processes that finished:", sum(finished))
"""


def test_a_script_written_for_torch_distributed_runs_on_two_processes(tmp_path):
    out = ok(run_mpi(SCRIPT, tmp_path, timeout=120))
    assert "processes that finished: 2" in out


POINT_TO_POINT_AND_BLOCKS = """
import numpy as np, chainrule as cr
import chainrule.distributed as dist

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()

# gather: only dst's list is written; the others pass none
mine = cr.tensor([rank, rank + 0.5])
parts = [cr.zeros(2) for _ in range(world)] if rank == 1 else None
dist.gather(mine, parts, dst=1)
if rank == 1:
    assert [p.tolist() for p in parts] == [[0.0, 0.5], [1.0, 1.5]], parts

# scatter: entry r of src's list lands in process r's tensor (a NumPy array here)
out = np.zeros((2, 2))
dist.scatter(out, [np.full((2, 2), 10.0 * r) for r in range(world)] if rank == 0 else None, src=0)
assert (out == 10.0 * rank).all(), out

# all_gather_into_tensor: concatenated along the first axis, or stacked
cat, stacked = cr.zeros(world * 2, 3), cr.zeros(world, 2, 3)
block = cr.full((2, 3), float(rank), dtype=cr.float64)
dist.all_gather_into_tensor(cat, block)
dist.all_gather_into_tensor(stacked, block)
assert cat.numpy().tolist() == [[0.0] * 3] * 2 + [[1.0] * 3] * 2
assert stacked.numpy().reshape(-1, 3).tolist() == cat.numpy().tolist()

# reduce_scatter_tensor: process r gets block r of the sum (or the mean)
full = cr.tensor(np.arange(4.0) * (rank + 1))  # rank 0: 0 1 2 3; rank 1: 0 2 4 6
got = cr.zeros(2)
dist.reduce_scatter_tensor(got, full)
assert got.tolist() == ([0.0, 3.0] if rank == 0 else [6.0, 9.0]), got
dist.reduce_scatter_tensor(got, full, op=dist.ReduceOp.AVG)
assert got.tolist() == ([0.0, 1.5] if rank == 0 else [3.0, 4.5]), got

# send / recv, and their non-blocking forms
if rank == 0:
    dist.send(cr.tensor([1.0, 2.0, 3.0]), dst=1)
    box = cr.zeros(2, dtype=cr.int64)
    assert dist.recv(box) == 1 and box.tolist() == [7, 8]
else:
    box = cr.zeros(3)
    assert dist.recv(box, src=0) == 0 and box.tolist() == [1.0, 2.0, 3.0]
    dist.send(cr.tensor([7, 8]), dst=0)
outgoing = cr.tensor([100.0 + rank])
incoming = cr.zeros(1)
requests = [dist.isend(outgoing, dst=1 - rank), dist.irecv(incoming, src=1 - rank)]
outgoing.fill_(-1.0)  # the message keeps the values it had when isend was called
for r in requests:
    r.wait()
assert incoming.tolist() == [100.0 + (1 - rank)] and requests[1].is_completed()

def refused(cases):  # each call raises ValueError with its message
    for bad, message in cases:
        try:
            bad()
        except ValueError as e:
            assert message in str(e), str(e)
        else:
            raise AssertionError(message)

# a list that only dst may pass, wrong on one process, raises on both (the other waited)
refused(((lambda: dist.gather(mine, None, dst=0), "needs a gather_list of 2"),
         (lambda: dist.gather(mine, [mine, mine], dst=1), "only process dst"),
         (lambda: dist.send(mine, dst=2), "dst=2 is not a rank"),
         (lambda: dist.all_gather_into_tensor(cr.zeros(3, 3), block), "cannot hold 2 inputs"),
         (lambda: dist.reduce_scatter_tensor(cr.zeros(3), full), "does not split into 2 blocks")))

# groups (dist.new_group, collective): src/dst are ranks in the job, get_rank(group) the rank
# in the group; a process outside a group gets GroupMember.NON_GROUP_MEMBER, where the
# collectives do nothing and get_rank/get_world_size are -1, as in torch
both, one = dist.new_group(), dist.new_group([1])
assert dist.get_world_size(both) == 2 and dist.get_rank(both) == rank and both.size() == 2
assert dist.get_rank(one) == (0 if rank == 1 else -1) and dist.get_world_size(one) == (1 if rank else -1)
assert (one is dist.GroupMember.NON_GROUP_MEMBER) == (rank == 0)
t = cr.tensor([rank + 1.0, 5.0 * rank])
dist.all_reduce(t, op=dist.ReduceOp.MAX, group=both)
assert t.tolist() == [2.0, 5.0], t
t = cr.tensor([rank + 1.0])
dist.all_reduce(t, group=one)
dist.broadcast(t, src=1, group=one)  # src=1: process 1 of the job, rank 0 in the group
assert t.tolist() == [rank + 1.0], t
if rank == 1:
    assert dist.get_global_rank(one, 0) == 1 and dist.get_group_rank(one, 1) == 0
    assert dist.get_process_group_ranks(one) == [1]
    objs = [None]
    dist.broadcast_object_list(objs, src=1, group=one)
    try:
        dist.broadcast(t, src=0, group=one)
    except ValueError as e:
        assert "src=0 is not in <process group of ranks [1]>" in str(e), str(e)
    else:
        raise AssertionError("src outside the group")
    # PyTorch 2.6's group_dst/group_src: ranks in the group (0 here is process 1 of the job)
    w = dist.isend(cr.tensor([9.0]), group=one, group_dst=0)
    assert dist.recv(box1 := cr.zeros(1), group=one, group_src=0) == 1 and box1.tolist() == [9.0]
    w.wait()
    refused(((lambda: dist.send(t, dst=1, group=one, group_dst=0), "give dst (a rank in the job) or "),
             (lambda: dist.send(t, group=one), "give dst (a rank in the job) or group_dst"),
             (lambda: dist.irecv(t, group=one, group_src=1), "group_src=1 is not a rank of")))
# subgroups, as torch 2.13 gives them (checked on gloo): this process's group and every group
mine, groups = dist.new_subgroups_by_enumeration([[1], [0]])
assert dist.get_process_group_ranks(mine) == [rank] and len(groups) == 2
assert [dist.get_world_size(g) for g in groups] == ([-1, 1] if rank == 0 else [1, -1])
t = cr.tensor([rank + 1.0])
dist.all_reduce(t, group=mine)
assert t.tolist() == [rank + 1.0]
mine, groups = dist.new_subgroups(group_size=2)
assert dist.get_world_size(mine) == 2 and len(groups) == 1
refused(((lambda: dist.new_subgroups_by_enumeration([[0, 1], [1]]),
          "Rank 1 has appeared in both subgroup [0, 1] and [1]"),
         (lambda: dist.new_subgroups(group_size=3), "must be divisible by group_size=3")))
box = cr.zeros(1)
sent = dist.isend(cr.tensor([float(rank)]), dst=1 - rank, group=both)
assert dist.recv(box, group=both) == 1 - rank and box.tolist() == [1.0 - rank]
sent.wait()
g = cr.grad(lambda x: (dist.all_reduce(x * x, op="mean", group=both) * (rank + 1)).sum())(cr.tensor([2.0]))
assert g.tolist() == [2 * 2.0 * 1.5], g  # d/dx of the mean over the processes of (r + 1) * mean(x^2)
everyone = cr.nn.SyncBatchNorm(2, process_group=both)  # a group of every process is the job
dist.DistributedDataParallel(cr.nn.Linear(2, 1), process_group=both)
try:
    dist.DistributedDataParallel(cr.nn.Linear(2, 1), process_group=one)
except ValueError as e:
    assert "only the whole job is supported as the process group" in str(e), str(e)
else:
    raise AssertionError("DDP on part of the job")
# sys.exit in a thread ends the thread only: the job goes on and ends well
import sys, threading
worker = threading.Thread(target=sys.exit, args=(4,))
worker.start()
worker.join()
# a sys.exit that the program catches ends nothing, here or at exit
try:
    sys.exit(5)
except SystemExit as e:
    assert e.code == 5 and repr(e) == "SystemExit(5)"
    import pickle
    assert type(pickle.loads(pickle.dumps(e))) is SystemExit  # as a worker process sends it
dist.destroy_process_group(both)

# all_to_all(_single), reduce_scatter, the object collectives and point to point, and
# batch_isend_irecv (values worked out by hand)
out = cr.zeros(3)
dist.all_to_all_single(out, cr.tensor([10.0 * rank, 10.0 * rank + 1, 10.0 * rank + 2]),
                       output_split_sizes=[1, 2] if rank == 0 else [2, 1],
                       input_split_sizes=[1, 2] if rank == 0 else [2, 1])
assert out.tolist() == ([0.0, 10.0, 11.0] if rank == 0 else [1.0, 2.0, 12.0]), out
even = cr.zeros(2, 2)
dist.all_to_all_single(even, cr.tensor(np.arange(4.0).reshape(2, 2) + 10 * rank))
assert even.tolist() == ([[0.0, 1.0], [10.0, 11.0]] if rank == 0 else [[2.0, 3.0], [12.0, 13.0]]), even
outs = [cr.zeros(2, dtype=cr.int64) for _ in range(world)]
dist.all_to_all(outs, [cr.tensor([rank, q]) for q in range(world)])
assert [o.tolist() for o in outs] == [[q, rank] for q in range(world)], outs
got = cr.zeros(2)
dist.reduce_scatter(got, [cr.tensor([1.0, 2.0]) * (rank + 1), cr.tensor([3.0, 4.0]) * (rank + 1)])
assert got.tolist() == ([3.0, 6.0] if rank == 0 else [9.0, 12.0]), got
objects = [None] * world if rank == 1 else None
dist.gather_object({"r": rank}, objects, dst=1)
assert rank == 0 or objects == [{"r": 0}, {"r": 1}]
mine = [None]
dist.scatter_object_list(mine, ["zero", {"one": 1}] if rank == 0 else None, src=0)
assert mine == [["zero", {"one": 1}][rank]], mine
box = [None, None]
if rank == 0:
    dist.send_object_list(["a", {"b": 2}], dst=1)
else:
    assert dist.recv_object_list(box) == 0 and box == ["a", {"b": 2}]
there, back = cr.tensor([5.0 + rank]), cr.zeros(1)
for w in dist.batch_isend_irecv([dist.P2POp(dist.isend, there, 1 - rank), dist.P2POp(dist.irecv, back, 1 - rank)]):
    w.wait()
assert back.tolist() == [6.0 - rank] and dist.reduce_op.SUM == dist.ReduceOp.SUM
for w in dist.batch_isend_irecv([dist.P2POp(dist.isend, there, group_peer=1 - rank),
                                 dist.P2POp(dist.irecv, back, group=dist.group.WORLD, group_peer=1 - rank)]):
    w.wait()
assert back.tolist() == [6.0 - rank]
# all_to_all with blocks of different sizes: process 0 sends 1 row to itself and 2 to
# process 1, which sends 3 rows to process 0 and none to itself
blocks = [cr.zeros(1 if rank == 0 else 2, 2), cr.zeros(3 if rank == 0 else 0, 2)]
dist.all_to_all(blocks, [cr.full((1, 2), 0.0), cr.full((2, 2), 0.5)] if rank == 0 else
                [cr.full((3, 2), 1.0), cr.zeros(0, 2)])
assert [b.tolist() for b in blocks] == ([[[0.0, 0.0]], [[1.0, 1.0]] * 3] if rank == 0 else
                                        [[[0.5, 0.5]] * 2, []]), blocks
try:
    dist.all_to_all_single(cr.zeros(3), cr.zeros(3), input_split_sizes=[1, 2], output_split_sizes=[1, 2])
except ValueError as e:  # rank 0 sends 2 rows to rank 1, which expects 1 (and back): raised on both
    assert "split sizes do not match" in str(e), str(e)
else:
    raise AssertionError("a wrong split")

# as torch.distributed, a Tensor that requires grad is written in place too, outside
# autograd: a 0-d loss reduced for the log after backward(), a parameter broadcast
# without .data (the values torch gives: worked out by hand)
x = cr.tensor([1.0, 2.0 + rank], requires_grad=True)
loss = (x * x).sum()  # 5 and 10
loss.backward()
dist.all_reduce(loss, op=dist.ReduceOp.SUM)
loss /= world
assert loss.item() == 7.5 and x.grad.tolist() == [2.0, 4.0 + 2 * rank], (loss, x.grad)
y = cr.tensor([1.0, 2.0 + rank], requires_grad=True)
before = (y * 3.0).sum()
dist.all_reduce(before)  # before backward: the gradient stays this process's own
before.backward()
assert before.item() == 21.0 and y.grad.tolist() == [3.0, 3.0], (before, y.grad)
layer = cr.nn.Linear(2, 2)
with cr.no_grad():
    layer.weight.fill_(float(rank))
for p in layer.parameters():
    dist.broadcast(p, src=1)
assert layer.weight.tolist() == [[1.0, 1.0], [1.0, 1.0]] and layer.weight.requires_grad
# monitored_barrier names the process that did not come in time, as PyTorch's gloo
import datetime, time
if rank == 1:
    time.sleep(0.6)
try:
    dist.monitored_barrier(timeout=datetime.timedelta(seconds=0.2))
except RuntimeError as e:
    assert ("[Rank 0]: Rank 1 failed to pass monitoredBarrier in 200 ms" if rank == 0 else
            "[Rank 1]: monitored_barrier: rank 0 did not answer within 0.2 s") in str(e), str(e)
else:
    raise AssertionError("monitored_barrier let a late process through")
dist.monitored_barrier(timeout=5)  # the late message of the call before is dropped
dist.monitored_barrier(wait_all_ranks=True)
# a FileStore that both processes open (in the job's folder)
store = dist.PrefixStore("job", dist.FileStore("store", 2))
if rank == 1:
    store.set("ready", "yes")
assert store.get("ready") == b"yes"  # rank 0 waits for it
assert store.add("count", rank + 1) in ((1, 3) if rank == 0 else (2, 3))
dist.barrier()
assert store.get("count") == b"3"
owners = [None, None]
dist.all_gather_object(owners, store.compare_set("owner", "", str(rank)))  # the first one sets it
assert owners[0] == owners[1] in (b"0", b"1"), owners
dist.barrier()
if rank == 0:
    print("point to point and blocks: ok")
"""


def test_gather_scatter_blocks_and_point_to_point_as_torch_distributed(tmp_path):
    assert "point to point and blocks: ok" in ok(run_mpi(POINT_TO_POINT_AND_BLOCKS, tmp_path, timeout=120))


def test_a_ddp_checkpoint_loads_into_the_plain_model_with_torchs_prefix_helper():
    import numpy as np

    from chainrule import distributed as dist
    from chainrule import nn
    from chainrule.nn.modules.utils import consume_prefix_in_state_dict_if_present

    dist.init()
    ddp = dist.DistributedDataParallel(nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)))
    state = ddp.state_dict()
    assert all(k.startswith("module.") for k in state)
    consume_prefix_in_state_dict_if_present(state, "module.")
    assert list(state) == list(ddp.module.state_dict())
    plain = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    plain.load_state_dict(state)
    for a, b in zip(plain.state_dict().values(), ddp.module.state_dict().values(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy())
