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
    return distributed


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
        dist.barrier()
        if r == 0:
            print("raised on", dist.all_reduce(raised), "processes; done on", dist.all_reduce(1))
        else:
            dist.all_reduce(raised), dist.all_reduce(1)
    """, tmp_path))
    assert "raised on 2 processes; done on 2" in out
    assert "rank 1 differs from rank 0 at 'leaf 0': rank 0 has 'leaf 0' of shape (2,)" in out, out
