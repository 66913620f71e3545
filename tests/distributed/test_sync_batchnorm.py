"""nn.SyncBatchNorm on 2 processes equals BatchNorm on the combined batch, gradient too."""

from mpi_jobs import needs_mpi, ok, run_mpi

pytestmark = needs_mpi


def test_sync_batchnorm_equals_batchnorm_on_the_whole_batch(tmp_path):
    out = ok(run_mpi("""
import numpy as np, chainrule as cr
from chainrule import distributed as dist, nn
dist.init()
r = dist.rank()
rng = np.random.default_rng(0)
x = rng.normal(size=(6, 3, 4, 4)) * 3 + 1
c = rng.normal(size=(6, 3, 4, 4))  # the loss: sum(out * c) over the whole batch
part = slice(3 * r, 3 * r + 3)

sync = nn.SyncBatchNorm(3, dtype=np.float64)
sync.weight._value[:] = [1.0, 2.0, -0.5]
sync.bias._value[:] = [0.1, 0.2, 0.3]
xs = cr.tensor(x[part], requires_grad=True)
ys = sync(xs)
(ys * c[part]).sum().backward()
grads = dist.all_reduce({"w": sync.weight.grad.numpy(), "b": sync.bias.grad.numpy()})
gx = np.concatenate(dist.communicator().allgather(xs.grad.numpy()))
outs = np.concatenate(dist.communicator().allgather(ys.detach().numpy()))

ref = nn.BatchNorm2d(3, dtype=np.float64)
ref.weight._value[:] = [1.0, 2.0, -0.5]
ref.bias._value[:] = [0.1, 0.2, 0.3]
xr = cr.tensor(x, requires_grad=True)
yr = ref(xr)
(yr * c).sum().backward()
assert np.allclose(outs, yr.detach().numpy(), rtol=1e-13, atol=1e-13)
assert np.allclose(gx, xr.grad.numpy(), rtol=1e-12, atol=1e-13)
assert np.allclose(grads["w"], ref.weight.grad.numpy(), rtol=1e-12, atol=1e-13)
assert np.allclose(grads["b"], ref.bias.grad.numpy(), rtol=1e-12, atol=1e-13)
for name in ("running_mean", "running_var"):
    assert np.allclose(getattr(sync, name).numpy(), getattr(ref, name).numpy(), rtol=1e-13), name
# plain BatchNorm is per process: its statistics are those of this process's half
own = nn.BatchNorm2d(3, dtype=np.float64)
own(x[part])
assert not np.allclose(own.running_mean.numpy(), ref.running_mean.numpy())
# eval mode uses the running statistics and does not communicate
sync.eval()
assert np.allclose(sync(x[part]).detach().numpy(), ref.eval()(x[part]).detach().numpy(), rtol=1e-12)
print(f"rank {r} ok", flush=True)  # one write: ranks print at once
""", tmp_path))
    assert out.count("ok") == 2
