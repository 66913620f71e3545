"""chainrule.distributed's collectives: in this process (a job of one) and on 2 processes."""

import numpy as np
import pytest
from mpi_jobs import needs_mpi, ok, run_mpi

import chainrule as cr
import chainrule.numpy as cnp

pytestmark = needs_mpi


@pytest.fixture
def dist():
    from chainrule import distributed

    distributed.init()
    yield distributed
    if distributed.is_initialized():  # the next init_process_group in this process is a first one
        distributed.destroy_process_group()


def test_job_of_one(dist):
    assert dist.is_initialized() and dist.rank() == 0 and dist.world_size() == 1
    dist.barrier()
    tree = {"w": np.arange(6.0).reshape(2, 3), "n": 3, "x": 2.5, "c": np.array([1 + 2j])}
    out = dist.all_reduce(tree, op="mean")
    assert out["n"] == 3.0 and out["x"] == 2.5 and isinstance(out["x"], float)
    np.testing.assert_array_equal(out["w"], tree["w"])
    np.testing.assert_array_equal(out["c"], tree["c"])
    assert out["w"] is not tree["w"]  # inputs are never written
    got = dist.broadcast((np.ones(2), [np.int32(4)]))
    np.testing.assert_array_equal(got[0], np.ones(2))
    assert got[1][0].dtype == np.int32


def test_errors(dist):
    with pytest.raises(ValueError, match="op must be one of 'sum', 'mean', 'max'"):
        dist.all_reduce(np.ones(2), op="maximum")
    with pytest.raises(NotImplementedError, match="op='max' has no derivative"):
        cr.grad(lambda x: cnp.sum(dist.all_reduce(x, op="max")))(np.ones(2))
    with pytest.raises(ValueError, match="root 3 is not a rank"):
        dist.broadcast(np.ones(2), root=3)
    with pytest.raises(TypeError, match="cannot be added"):
        dist.all_reduce(np.array(["a"]))


def test_torch_distributed_names_in_a_job_of_one(dist):
    # what scripts written for torch.distributed call besides the collectives
    from chainrule import nn

    dist.init_process_group(backend="gloo")
    assert dist.get_backend() == "gloo" and dist.get_backend(dist.group.WORLD) == "gloo"
    assert not dist.is_nccl_available() and dist.is_gloo_available() and dist.is_mpi_available()
    assert not dist.is_torchelastic_launched()
    # dist.Backend as torch's (a script picks `dist.Backend.GLOO` without GPUs), and
    # PyTorch's map of devices to backends, whose CPU backend is gloo
    assert (dist.Backend.GLOO, dist.Backend.NCCL, dist.Backend("MPI"), dist.Backend("Other")) == (
        "gloo", "nccl", "mpi", "other")
    # a second call is PyTorch's ValueError (the first one's backend stays); after
    # destroy_process_group it may be called again
    with pytest.raises(ValueError, match="trying to initialize the default process group twice!.*"
                                         "destroy_process_group"):
        dist.init_process_group(backend="mpi")
    assert dist.get_backend() == "gloo"
    for backend in (dist.Backend.GLOO, "cpu:gloo,cuda:nccl"):
        dist.destroy_process_group()
        dist.init_process_group(backend=backend)
    assert dist.get_backend() == "gloo"
    for bad in ("nccl", "cuda:nccl", "cpu:gloo,nccl"):
        with pytest.raises(ValueError, match="is not available: chainrule runs on CPUs over MPI"):
            dist.init_process_group(backend=bad)
    assert dist.get_rank(dist.group.WORLD) == 0 and dist.get_world_size(group=None) == 1
    assert dist.get_node_local_rank() == 0
    world = dist.group.WORLD
    assert dist.all_reduce(np.ones(2), group=world).tolist() == [1.0, 1.0]
    assert isinstance(dist.barrier(group=world, async_op=True), dist.Work) and dist.barrier(device_ids=[0]) is None
    dist.monitored_barrier()
    from chainrule.distributed.elastic.multiprocessing.errors import record  # torchrun scripts' @record

    @record()
    def main(x):
        if x < 0:
            raise KeyError(x)
        return 2 * x

    assert main(3) == 6 and main.__name__ == "main"
    with pytest.raises(KeyError):
        main(-1)
    dist.DistributedDataParallel(nn.Linear(2, 1), process_group=world)
    nn.SyncBatchNorm(3, process_group=world)
    with pytest.raises(ValueError, match=r"group must be None, dist.group.WORLD or a group made by dist.new_group"):
        dist.get_rank(group="subgroup")
    with pytest.raises(ValueError, match="process_group=None"):
        nn.SyncBatchNorm(3, process_group=object())


def test_differentiable_and_jit_in_a_job_of_one(dist):
    f = lambda x: cnp.sum(dist.all_reduce(cnp.sin(x), op="mean") ** 2)
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(cr.grad(f)(x), 2 * np.sin(x) * np.cos(x), rtol=1e-14)
    cr.gradcheck(f, x, order=2)
    step = cr.jit(cr.grad(f))
    np.testing.assert_allclose(step(x), 2 * np.sin(x) * np.cos(x), rtol=1e-14)
    np.testing.assert_allclose(step(x + 1), 2 * np.sin(x + 1) * np.cos(x + 1), rtol=1e-14)
    assert step.traces == 1


def test_not_initialised_error_is_clear():
    from chainrule.distributed import comm

    saved = comm._STATE.comm
    comm._STATE.comm = None
    try:
        with pytest.raises(comm.DistributedError, match=r"call chainrule.distributed.init\(\) first"):
            comm.rank()
        with pytest.raises(ValueError, match="not initialised"):  # PyTorch raises a ValueError
            comm.get_world_size()
    finally:
        comm._STATE.comm = saved


def test_collectives_on_two_processes(tmp_path):
    out = ok(run_mpi("""
        import numpy as np, chainrule as cr, chainrule.numpy as cnp
        from chainrule import distributed as dist
        dist.init()
        r, n = dist.rank(), dist.world_size()
        assert n == 2
        tree = {"a": np.full((2, 3), r + 1.0), "i": np.array([r, 10 * r]), "f": np.float32(r), "s": r + 0.5}
        s = dist.all_reduce(tree)
        assert np.array_equal(s["a"], np.full((2, 3), 3.0)) and np.array_equal(s["i"], [1, 10])
        assert s["f"].dtype == np.float32 and s["f"] == 1 and s["s"] == 2.0
        m = dist.all_reduce(tree, op="mean")
        assert np.array_equal(m["a"], np.full((2, 3), 1.5)) and np.array_equal(m["i"], [0.5, 5.0])
        b = dist.broadcast([np.full(3, 7.0 * r), np.arange(2) + r], root=1)
        assert np.array_equal(b[0], np.full(3, 7.0)) and np.array_equal(b[1], [1, 2])
        # a mismatch raises the same error on every process
        raised = 0
        try:
            dist.broadcast([np.zeros(2 + r)])
        except dist.DistributedError as e:
            raised = 1
            if r == 0:
                print("mismatch:", e)
        # grad through the collective: the objective is the sum of both processes' losses
        # L = sum_r sum((S x_1 + S x_2) * c_r) with S the allreduce, so dL/dx_r = c_1 + c_2
        c = np.array([1.0, 2.0]) * (r + 1)
        x = np.array([0.5, -0.5]) * (r + 3)
        g = cr.grad(lambda x: cnp.sum(dist.all_reduce(x) * c))(x)
        assert np.array_equal(g, np.array([3.0, 6.0])), g
        gm = cr.grad(lambda x: cnp.sum(dist.all_reduce(x, op="mean") * c))(x)
        assert np.array_equal(gm, np.array([1.5, 3.0])), gm
        # under cr.jit: recorded as an operation, performed again by every replay
        step = cr.jit(lambda x: dist.all_reduce(x * 2.0, op="mean"))
        for k in range(3):
            got = step(np.full(4, float(r + k)))
            assert np.array_equal(got, np.full(4, 2.0 * (0.5 + k))), (k, got)
        assert step.traces == 1
        gstep = cr.jit(cr.grad(lambda w, x: cnp.sum(dist.all_reduce(cnp.tanh(x @ w), op="mean"))))
        for k in range(2):
            w, xb = np.full((3, 2), 0.1 * (k + 1)), np.full((4, 3), float(r + k))
            want = cr.grad(lambda w, x: cnp.sum(dist.all_reduce(cnp.tanh(x @ w), op="mean")))(w, xb)
            assert np.array_equal(gstep(w, xb), want)
        assert gstep.traces == 1
        # torch.distributed.nn's differentiable collectives (a CLIP-style gathered loss):
        # the objective sums every process's loss, L = sum_q sum(F**2 * c_q) with F the
        # gathered features, so dL/df_r = 2 f_r * sum_q (rows of c_q that hold f_r)
        from chainrule.distributed.nn import functional as dnn
        f = cr.tensor(np.arange(6.0).reshape(2, 3) + r, requires_grad=True)
        c = np.random.default_rng(r).normal(size=(4, 3))
        (cr.cat(dnn.all_gather(f)) ** 2 * c).sum().backward()
        cs = dist.communicator().allgather(c)
        want = 2 * (np.arange(6.0).reshape(2, 3) + r) * sum(cq[2 * r : 2 * r + 2] for cq in cs)
        assert np.abs(f.grad.numpy() - want).max() <= 1e-12, (f.grad, want)
        gb = cr.grad(lambda x: cnp.sum(dnn.broadcast(x, src=1) * (r + 2)))(np.ones(2))
        assert gb.tolist() == ([0.0, 0.0] if r == 0 else [5.0, 5.0]), gb  # sum onto src: 2 + 3
        # under vmap, each example is gathered (broadcast) as the loop over examples gathers it
        xs = np.arange(6.0).reshape(3, 2) + 10 * r
        loop = np.stack([np.stack([np.asarray(t) for t in dnn.all_gather(x)]) for x in xs])
        assert np.array_equal(cr.vmap(lambda x: cnp.stack(dnn.all_gather(x)))(xs), loop)
        assert np.array_equal(cr.vmap(lambda x: dnn.broadcast(x, src=1))(xs), np.arange(6.0).reshape(3, 2) + 10)
        # the rest of torch.distributed.nn: values and gradients as torch 2.13 gives them on gloo
        def grad_of(fn, x):
            x = cr.tensor(np.array(x), requires_grad=True)
            out = fn(x * 1)
            parts = out if isinstance(out, tuple) else (out,)
            sum(((o * (i + 2 + r)) ** 2).sum() for i, o in enumerate(parts)).backward()
            return [np.asarray(o.detach()).tolist() for o in parts], x.grad.numpy().tolist()
        x4 = [1.0 + r, 2.0, 3.0, 4.0 * r]
        got = grad_of(lambda x: dnn.reduce_scatter(cr.zeros(2), list(x.chunk(2))), x4)
        assert got == ([[3.0, 4.0] if r == 0 else [6.0, 4.0]], [24.0, 32.0, 108.0, 72.0]), got
        got = grad_of(lambda x: dnn.reduce(x, dst=0), [1.0 + r, 2.0])
        assert got == ([[3.0, 4.0] if r == 0 else [2.0, 2.0]], [24.0, 32.0]), got  # dst's gradient everywhere
        got = grad_of(lambda x: dnn.all_to_all([cr.zeros(2), cr.zeros(2)], list(x.chunk(2))), x4)
        assert got == (([[1.0, 2.0], [2.0, 2.0]], [8.0, 16.0, 54.0, 0.0]) if r == 0 else
                       ([[3.0, 0.0], [3.0, 4.0]], [36.0, 36.0, 96.0, 128.0])), got
        assert got == grad_of(lambda x: tuple(dnn.all_to_all_single(cr.zeros(4), x).chunk(2)), x4)
        got = grad_of(lambda x: dnn.gather(x, dst=0), [1.0 + r, 2.0])
        assert got == (([[1.0, 2.0], [2.0, 2.0]], [8.0, 16.0]) if r == 0 else
                       ([[0.0, 0.0], [0.0, 0.0]], [36.0, 36.0])), got
        got = grad_of(lambda x: dnn.scatter(list(x.chunk(2)), src=1), x4)
        assert got == (([[2.0, 2.0]], [0.0] * 4) if r == 0 else ([[3.0, 4.0]], [16.0, 16.0, 54.0, 72.0])), got
        dist.barrier()
        if r == 0:
            print("raised on", dist.all_reduce(raised), "processes; done on", dist.all_reduce(1))
        else:
            dist.all_reduce(raised), dist.all_reduce(1)
    """, tmp_path))
    assert "raised on 2 processes; done on 2" in out
    assert "rank 1 differs from rank 0 at 'leaf 0': rank 0 has 'leaf 0' of shape (2,)" in out, out


def test_ops_dtypes_and_mismatches_as_torch_distributed(tmp_path):
    # bool leaves (torch's rule: sum and max are or, min and product and), int64, float32,
    # 0-d and empty arrays in one tree; op names in any case and ReduceOp; arrays that
    # differ between the processes raise the same error everywhere instead of MPI's
    # "message truncated" on one and wrong numbers on the other
    out = ok(run_mpi("""
        import numpy as np, chainrule as cr
        import chainrule.distributed as dist
        dist.init_process_group("gloo")
        r = dist.get_rank()
        tree = {"b": np.array([True, r == 1, False]), "i": np.array([3, r], np.int64),
                "f": np.array([1.5, r], np.float32), "z": np.array(r + 2, np.int64),
                "e": np.zeros((0, 3), np.float32), "n": r + 1}
        want = {"sum": ([True, True, False], [6, 1], [3.0, 1.0], 5, 3),
                "max": ([True, True, False], [3, 1], [1.5, 1.0], 3, 2),
                "min": ([True, False, False], [3, 0], [1.5, 0.0], 2, 1),
                "product": ([True, False, False], [9, 0], [2.25, 0.0], 6, 2)}
        for op in ["sum", "SUM", dist.ReduceOp.SUM, "max", dist.ReduceOp.MAX, "min", dist.ReduceOp.MIN,
                   "product", "prod", dist.ReduceOp.PRODUCT]:
            got = dist.all_reduce(tree, op=op)
            name = {"SUM": "sum", "prod": "product"}.get(op, op)
            b, i, f, z, n = want[name]
            assert got["b"].dtype == bool and got["b"].tolist() == b, (op, got)
            assert got["i"].dtype == np.int64 and got["i"].tolist() == i, (op, got)
            assert got["f"].dtype == np.float32 and got["f"].tolist() == f, (op, got)
            assert got["z"].shape == () and got["z"] == z and got["e"].shape == (0, 3) and got["n"] == n, (op, got)
        t = cr.tensor(np.array([True, r == 0]))
        dist.all_reduce(t, op=dist.ReduceOp.MIN)  # in place, as torch
        assert t.numpy().tolist() == [True, False]
        assert dist.all_reduce(np.array([1.0, 3.0]) * r, op="avg").tolist() == [0.5, 1.5]
        assert dist.all_reduce(np.array(r + 1, np.int64), op=dist.ReduceOp.AVG) == 1.5
        # the bitwise ops, as torch.distributed's: integers bit by bit, booleans as logic
        i, b = np.array([1 + r, 6 + 3 * r]), np.array([r == 0, False, True])
        bitwise = ("band", "BOR", dist.ReduceOp.BXOR)
        assert [dist.all_reduce(i, op=o).tolist() for o in bitwise] == [[0, 0], [3, 15], [3, 15]]
        assert [dist.all_reduce(b, op=o).tolist() for o in bitwise] == [
            [False, False, True], [True, False, True], [True, False, False]]
        t = cr.tensor(np.array([5, 12], np.int32) + r)
        dist.all_reduce(t, op=dist.ReduceOp.BAND)  # in place, as torch
        assert t.numpy().dtype == np.int32 and t.numpy().tolist() == [4, 12]
        errors = []
        for bad in ({"x": np.ones(2 + r)}, {"x": np.ones(2, np.float32 if r else np.float64)},
                    cr.tensor(np.ones(3 - r)), {"x": np.ones(2), "op": "sum" if r else "max"}):
            op = bad.pop("op") if isinstance(bad, dict) and "op" in bad else "sum"
            try:
                dist.all_reduce(bad, op=op)
            except dist.DistributedError as e:
                errors.append(str(e))
        try:
            dist.all_reduce(np.array([True]), op="mean")
        except TypeError as e:
            errors.append(str(e))
        try:
            dist.all_reduce(cr.tensor(np.ones(2)), op=dist.ReduceOp.BOR)
        except TypeError as e:
            errors.append(str(e))
        try:  # torch raises too: the mean cannot be written into an integer Tensor
            dist.all_reduce(cr.tensor(np.array([1, 2 + r])), op=dist.ReduceOp.AVG)
        except TypeError as e:
            errors.append(str(e))
        # trees that differ only in their dict keys, and processes in different collectives
        key = "a" if r == 0 else "b"
        for call in (lambda: dist.all_reduce({key: np.ones(2)}), lambda: dist.broadcast({"k": {key: 1.0}}),
                     lambda: dist.all_reduce({key: cr.tensor(np.ones(2)), "c": np.ones(2)}),
                     lambda: dist.all_reduce(np.ones(2)) if r == 0 else dist.broadcast(np.ones(2)),
                     lambda: dist.all_reduce(cr.tensor(np.ones(2))) if r == 0 else dist.barrier(),
                     lambda: dist.all_gather_object([0, 0], r) if r == 0 else dist.all_reduce(np.ones(2))):
            try:
                call()
            except dist.DistributedError as e:
                errors.append(str(e))
        assert dist.all_reduce(len(errors)) == 26  # every process raised every time, and nobody hangs
        if r == 0:
            print("\\n".join(errors))
    """, tmp_path, timeout=30))
    assert "rank 1 has 'leaf 0' of shape (3,) and dtype float64" in out
    assert "dtype float64, rank 1 has 'leaf 0' of shape (2,) and dtype float32" in out
    assert "rank 1 differs from rank 0 at 'the array'" in out
    assert "rank 0 has 'op' (max), rank 1 has 'op' (sum)" in out
    assert "boolean, which has no mean" in out
    assert "cannot use ReduceOp.BOR with non-integral dtype" in out
    assert "the mean (ReduceOp.AVG) of an integer Tensor (int64) cannot be written into it" in out
    assert ("all_reduce: rank 1 differs from rank 0 at 'tree': rank 0 has the tree {'a': *}, "
            "rank 1 has the tree {'b': *}") in out
    assert "rank 0 has the tree {'k': {'a': *}}, rank 1 has the tree {'k': {'b': *}}" in out
    assert "rank 0 has the tree {'a': *, 'c': *}, rank 1 has the tree {'b': *, 'c': *}" in out
    assert "the processes called different collectives: rank 0 called all_reduce, rank 1 called broadcast" in out
    assert "rank 0 called all_reduce, rank 1 called barrier" in out
    assert "rank 0 called all_gather_object, rank 1 called all_reduce" in out
