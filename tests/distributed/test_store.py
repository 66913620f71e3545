"""PyTorch's key-value stores (dist.HashStore, FileStore, PrefixStore), against torch's own."""

import datetime

import pytest
from mpi_jobs import needs_mpi

from chainrule import distributed as dist

pytestmark = [needs_mpi, pytest.mark.usefixtures("one_torch_thread")]


def _script(store) -> list:
    """Every operation of a store, with what it returns and raises."""
    out = []
    store.set("a", "1")
    out += [store.get("a"), store.add("a", 2), store.get("a"), store.add("n", 5)]
    out += [store.compare_set("a", "3", "x"), store.compare_set("a", "zz", "y"), store.get("a")]
    out += [store.compare_set("m", "", "new"), store.compare_set("q", "e", "new2"), store.check(["q"])]
    out += [store.num_keys(), store.delete_key("a"), store.delete_key("a"), store.num_keys(), store.check(["m", "n"])]
    store.append("m", "+")
    store.append("z", b"t")
    store.multi_set(["k1", "k2"], ["v1", b"v2"])
    out += [store.multi_get(["m", "z"]), store.get("k2"), store.add("k9", 0), store.timeout]
    store.set_timeout(datetime.timedelta(seconds=0.05))
    for call in (lambda: store.get("missing"), lambda: store.wait(["missing"]), lambda: store.add("k1", 1)):
        try:
            call()
        except (RuntimeError, ValueError) as e:
            out.append(type(e).__name__)
    return out


def test_stores_do_what_torchs_do(tmp_path):
    torch_dist = pytest.importorskip("torch.distributed")
    expected = _script(torch_dist.HashStore())
    assert _script(dist.HashStore()) == expected
    assert _script(dist.FileStore(str(tmp_path / "store"))) == expected
    assert _script(dist.PrefixStore("run", dist.HashStore())) == _script(
        torch_dist.PrefixStore("run", torch_dist.HashStore())) == expected
    assert issubclass(dist.DistStoreError, dist.DistError) and issubclass(dist.DistError, RuntimeError)


def test_refusals():
    with pytest.raises(NotImplementedError, match="TCPStore is not available: chainrule opens no socket"):
        dist.TCPStore("localhost", 29500, 2, True)
    dist.init()
    with pytest.raises(ValueError, match="PREMUL_SUM is NCCL's"):
        dist.all_reduce(1.0, op=dist.ReduceOp.PREMUL_SUM)

