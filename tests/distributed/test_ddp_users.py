"""Training scripts written for PyTorch's DDP, on 2 processes: what they rely on that the
other tests do not reach. Values are worked out by hand or checked against torch 2.13's
DDP on gloo."""

from mpi_jobs import needs_mpi, ok, run_mpi

pytestmark = needs_mpi

# Several checks in one job (each job costs seconds to start); each section prints its
# name when its check has passed.
SCRIPT = """
import contextlib
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
"""


def test_scripts_written_for_torch_ddp(tmp_path):
    out = ok(run_mpi(SCRIPT, tmp_path, timeout=60))
    for section in ("no_sync decided at forward",):
        assert out.count(section) == 2, (section, out)
