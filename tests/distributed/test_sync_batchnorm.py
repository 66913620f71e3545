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


def test_uneven_and_empty_shares_momentum_none_and_ddp(tmp_path):
    # per-process batches of different sizes (one of them empty), 2-, 3- and 4-d inputs,
    # momentum=None (the cumulative average), two steps, then eval mode; and a model
    # converted with convert_sync_batchnorm inside DDP: one process on the combined batch
    out = ok(run_mpi("""
import numpy as np, chainrule as cr
from chainrule import distributed as dist, nn, optim
dist.init()
r = dist.rank()
comm = dist.communicator()
for shape, sizes, momentum, Norm in [((3,), (3, 5), 0.1, nn.BatchNorm1d), ((3, 4), (1, 4), None, nn.BatchNorm1d),
                                     ((3, 2, 2), (2, 3), 0.3, nn.BatchNorm2d), ((3,), (0, 4), 0.1, nn.BatchNorm1d)]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(sum(sizes),) + shape) * 3 + 1
    c = rng.normal(size=x.shape)
    part = slice(sum(sizes[:r]), sum(sizes[: r + 1]))
    sync, ref = nn.SyncBatchNorm(3, momentum=momentum, dtype=np.float64), Norm(3, momentum=momentum, dtype=np.float64)
    for m in (sync, ref):
        m.weight._value[:] = [1.0, 2.0, -0.5]
        m.bias._value[:] = [0.1, 0.2, 0.3]
    for _ in range(2):
        xs = cr.tensor(x[part], requires_grad=True)
        ys = sync(xs)
        (ys * c[part]).sum().backward()
        xr = cr.tensor(x, requires_grad=True)
        yr = ref(xr)
        (yr * c).sum().backward()
    close = lambda a, b: np.max(np.abs(a - b), initial=0.0) <= 1e-12
    assert close(np.concatenate(comm.allgather(ys.detach().numpy())), yr.detach().numpy()), shape
    assert close(np.concatenate(comm.allgather(xs.grad.numpy())), xr.grad.numpy()), shape
    assert close(dist.all_reduce(sync.weight.grad.numpy()), ref.weight.grad.numpy()), shape
    assert close(dist.all_reduce(sync.bias.grad.numpy()), ref.bias.grad.numpy()), shape
    assert close(sync.running_mean.numpy(), ref.running_mean.numpy()), shape
    assert close(sync.running_var.numpy(), ref.running_var.numpy()), shape
    sync.eval()
    ref.eval()
    assert close(sync(x[part]).detach().numpy(), ref(x[part]).detach().numpy()), shape

def net():
    rng = np.random.default_rng(3)
    return nn.Sequential(nn.Linear(4, 5, rng=rng, dtype=np.float64), nn.BatchNorm1d(5, dtype=np.float64), nn.Tanh(),
                         nn.Linear(5, 1, rng=rng, dtype=np.float64))
rng = np.random.default_rng(5)
X, Y = rng.normal(size=(10, 4)), rng.normal(size=(10, 1))
part = slice(0, 4) if r == 0 else slice(4, 10)
model = dist.DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(net()))
ref = net()
opt, ref_opt = optim.SGD(model.parameters(), lr=0.1), optim.SGD(ref.parameters(), lr=0.1)
for _ in range(3):
    opt.zero_grad()
    (((model(X[part]) - Y[part]) ** 2).sum() * (2 / 10)).backward()  # the DDP mean of the rows' share
    opt.step()
    ref_opt.zero_grad()
    (((ref(X) - Y) ** 2).sum() / 10).backward()
    ref_opt.step()
for a, b in zip(model.module.state_dict().values(), ref.state_dict().values()):
    assert np.max(np.abs(np.asarray(a.numpy(), float) - np.asarray(b.numpy(), float))) <= 1e-12
print(f"rank {r} ok", flush=True)
""", tmp_path))
    assert out.count("ok") == 2
