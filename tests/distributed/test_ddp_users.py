"""Training scripts written for PyTorch's DDP, on 2 processes: what they rely on that the
other tests do not reach. Values are worked out by hand or checked against torch 2.13's
DDP on gloo."""

from mpi_jobs import needs_mpi, ok, run_mpi

pytestmark = needs_mpi

# Several checks in one job (each job costs seconds to start); each section prints its
# name when its check has passed.
SCRIPT = """
import contextlib, copy
import numpy as np, chainrule as cr
from chainrule import nn
import chainrule.distributed as dist
from chainrule.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
r = dist.get_rank()

# The forward pass decides whether backward() averages, as in PyTorch (its no_sync()
# docstring: "the forward pass should be included inside the context manager, or else
# gradients will still be synchronized"). It was decided at backward(): a forward pass
# outside no_sync() whose backward() ran inside was not averaged, and one inside whose
# backward() ran after the block was. loss = w . x with x = (1 + r, 0, 0): the local
# gradient is x, the mean over both processes (1.5, 0, 0); torch 2.13 on gloo gives these.
model = DDP(nn.Linear(3, 1, bias=False, dtype=np.float64))
x = np.array([[1.0 + r, 0.0, 0.0]])
def grad_of(before, around):
    model.module.weight.grad = None
    with before:
        loss = model(x).sum()
    with around:
        loss.backward()
    return model.module.weight.grad.numpy()[0].tolist()
nothing = contextlib.nullcontext
mean, local = [1.5, 0.0, 0.0], [1.0 + r, 0.0, 0.0]
assert grad_of(nothing(), nothing()) == mean
assert grad_of(nothing(), model.no_sync()) == mean
assert grad_of(model.no_sync(), nothing()) == local
with model.no_sync():  # a forward pass with gradients outside, after one inside: averaged
    model(x)
assert grad_of(nothing(), nothing()) == mean
model.module.weight.grad = None  # one inside after one outside: averaged too (torch's reducer)
loss = model(x).sum() + 0 * model(x).sum()
with model.no_sync():
    loss2 = model(x).sum()
(loss + loss2).backward()
assert model.module.weight.grad.numpy()[0].tolist() == [3.0, 0.0, 0.0], model.module.weight.grad
model.module.weight.grad = None  # the flag cleared between the forward pass and backward()
loss = model(x).sum()
model.require_backward_grad_sync = False
loss.backward()
model.require_backward_grad_sync = True
assert model.module.weight.grad.numpy()[0].tolist() == mean
print("no_sync decided at forward")

# A GAN freezes its discriminator for the generator's step and unfreezes it after: the
# averaging hooks on its weights were dropped on the way, and from then on each process
# trained its discriminator on its own gradients (the replicas drifted apart in silence).
model.module.weight.grad = None
model.module.requires_grad_(False)
model.module.requires_grad_(True)
model(x).sum().backward()
assert model.module.weight.grad.numpy()[0].tolist() == mean, model.module.weight.grad
print("frozen and unfrozen while wrapped")

# A layer frozen when the model was wrapped and unfrozen later (a fine-tuning schedule)
# trained on each process's own gradient: the replicas drifted apart in silence, as with
# torch's DDP. Now refused, naming the parameter; freezing after wrapping stays right.
model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
model[0].requires_grad_(False)
ddp = DDP(model)
model[0].weight.requires_grad_(True)
with cr.no_grad():
    ddp(np.ones((1, 3), np.float32))  # evaluating trains nothing: allowed
try:
    ddp(np.ones((1, 3), np.float32))
except RuntimeError as e:
    assert "parameter '0.weight' requires a gradient now but did not when the module was wrapped" in str(e), e
else:
    raise AssertionError("a parameter unfrozen after wrapping")
print("unfrozen after wrapping")

# A model converted to float64 after wrapping: the error was the engine's "attempting to
# assign a gradient of dtype float32 to a Tensor of dtype float64", about an assignment
# the script never made. Now it names the parameter and says to convert before wrapping.
ddp = DDP(nn.Linear(3, 1))
ddp.double()
try:
    ddp(np.ones((1, 3))).sum().backward()
except RuntimeError as e:
    assert "is now of dtype float64 and shape" in str(e) and "before wrapping it" in str(e), e
else:
    raise AssertionError("a model converted after wrapping")
print("converted after wrapping")

# copy.deepcopy of the wrapper (code that keeps an average of the weights copies the model
# it trains): it raised "cannot serialize 'mpi4py.MPI.Intracomm' instance". As torch's, the
# copy wraps a copy of the module and averages its gradients; the original goes on.
original = DDP(nn.Linear(3, 1, bias=False, dtype=np.float64))
twin = copy.deepcopy(original)
assert twin.module is not original.module and twin.module.weight is not original.module.weight
for wrapper in (twin, original):
    wrapper(x).sum().backward()
    assert wrapper.module.weight.grad.numpy()[0].tolist() == mean, wrapper.module.weight.grad
print("deep copy")

# Roots that differ between the processes, and a list that only the root passes, wrong
# there: scatter gave each process its own list's entry and gather waited forever, as did
# the process that was not the root when the root raised (an except around the call).
# Now every process raises.
def raises(call, error, message):
    try:
        call()
    except error as e:
        assert message in str(e), e
    else:
        raise AssertionError(message)
t = cr.tensor(np.array([float(r)]))
raises(lambda: dist.broadcast(t, src=r), dist.DistributedError, "rank 0 has 'src' (0), rank 1 has 'src' (1)")
raises(lambda: dist.scatter(t, [cr.tensor([10.0 * r + q]) for q in range(2)], src=r), dist.DistributedError,
       "rank 1 differs from rank 0 at 'src'")
raises(lambda: dist.gather(t, [cr.zeros(1) for _ in range(2)], dst=r), dist.DistributedError,
       "rank 1 differs from rank 0 at 'dst'")
raises(lambda: dist.broadcast_object_list([r], src=r), dist.DistributedError, "at 'src'")
raises(lambda: dist.scatter(cr.zeros(2), [cr.zeros(3)] * 2 if r == 0 else None, src=0), ValueError,
       "every entry of scatter_list must have the output's shape (2,)")
# outputs of another shape or dtype than the input: PyTorch refuses them (they were
# broadcast to, or cast, in silence)
raises(lambda: dist.all_gather([cr.zeros(2, 2, dtype=cr.float64) for _ in range(2)], cr.ones(2, dtype=cr.float64)),
       ValueError, "entry 0 of tensor_list has shape (2, 2) and dtype float64")
raises(lambda: dist.all_gather([cr.zeros(2, dtype=cr.float32) for _ in range(2)], cr.ones(2, dtype=cr.float64)),
       ValueError, "every entry must have the input's, (2,) and float64")
raises(lambda: dist.gather(cr.ones(2, dtype=cr.float64), [cr.zeros(2, 1, dtype=cr.float64)] * 2 if r == 0 else None),
       ValueError, "entry 0 of gather_list has shape (2, 1)") if r == 0 else dist.gather(cr.ones(2, dtype=cr.float64))
dist.barrier()
print("roots and lists")
"""


def test_scripts_written_for_torch_ddp(tmp_path):
    out = ok(run_mpi(SCRIPT, tmp_path, timeout=60))
    for section in ("no_sync decided at forward", "frozen and unfrozen while wrapped", "unfrozen after wrapping",
                    "converted after wrapping", "deep copy", "roots and lists"):
        assert out.count(section) == 2, (section, out)
