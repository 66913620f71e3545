"""Horovod's spellings (``horovod.torch``), for training scripts written for it.

``import chainrule.distributed.horovod as hvd`` in place of ``import horovod.torch as
hvd``; the script is launched the same way (``mpiexec -n N python train.py``, or
``horovodrun``'s ``mpirun``): Horovod's transport is MPI too. The collectives are
:mod:`chainrule.distributed`'s; :func:`DistributedOptimizer` averages every gradient over
the processes when ``step()`` is called, with one message per dtype.

>>> import numpy as np
>>> import chainrule.distributed.horovod as hvd
>>> from chainrule import nn, optim
>>> hvd.init()
>>> model = nn.Linear(3, 1)
>>> opt = hvd.DistributedOptimizer(optim.SGD(model.parameters(), lr=0.1 * hvd.size()))
>>> hvd.broadcast_parameters(model.state_dict(), root_rank=0)
>>> model(np.ones((2, 3), np.float32)).sum().backward()
>>> opt.step()
>>> hvd.size(), hvd.rank(), hvd.local_rank()
(1, 0, 0)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule.core.primitive import Primitive, def_batch, def_vjps
from chainrule.core.tensor import Tensor
from chainrule.core.trace import EAGER
from chainrule.distributed import collectives, comm
from chainrule.numpy import batching, moveaxis

__all__ = [
    "init", "shutdown", "is_initialized", "size", "rank", "local_size", "local_rank", "cross_size",
    "cross_rank", "Average", "Sum", "Adasum", "Min", "Max", "Product", "Compression", "allreduce",
    "allreduce_", "allgather", "broadcast", "broadcast_", "broadcast_object", "allgather_object",
    "broadcast_parameters", "broadcast_optimizer_state", "DistributedOptimizer",
    "barrier", "allreduce_async", "allreduce_async_", "allgather_async", "broadcast_async",
    "broadcast_async_", "grouped_allreduce", "grouped_allreduce_", "synchronize", "poll", "alltoall",
    "reducescatter", "join", "mpi_built", "mpi_enabled", "mpi_threads_supported", "gloo_built", "gloo_enabled",
    "nccl_built", "cuda_built", "rocm_built", "ddl_built", "ccl_built",
]

Average, Sum, Min, Max, Product = "mean", "sum", "min", "max", "product"
Adasum = "adasum"


def init(comm_=None) -> None:
    """Horovod's ``hvd.init()``: :func:`chainrule.distributed.init`."""
    comm.init(comm_)


def shutdown() -> None:
    """Horovod's ``hvd.shutdown()``: this process leaves the job's collectives."""
    comm.destroy_process_group()


is_initialized = comm.is_initialized


def size() -> int:
    """The number of processes."""
    return comm.world_size()


def rank() -> int:
    """This process's number, from 0 to ``size() - 1``."""
    return comm.rank()


def local_size() -> int:
    """The number of processes on this machine."""
    return comm.same_machine(comm.communicator()).Get_size()


def local_rank() -> int:
    """This process's number among those on its machine."""
    return comm.same_machine(comm.communicator()).Get_rank()


def cross_size() -> int:
    """The number of machines (as Horovod counts them: processes with this local rank)."""
    return comm.communicator().allreduce(int(local_rank() == 0))


def cross_rank() -> int:
    """This machine's number among the machines."""
    world = comm.communicator()
    leaders = world.allgather(local_rank() == 0)  # the first process of each machine
    first = comm.same_machine(world).bcast(world.Get_rank(), root=0)
    return sum(leaders[:first])


class _Identity:
    @staticmethod
    def compress(value: np.ndarray) -> tuple[np.ndarray, Any]:
        return value, None

    @staticmethod
    def decompress(value: np.ndarray, ctx) -> np.ndarray:
        return value


class _FP16(_Identity):
    @staticmethod
    def compress(value: np.ndarray) -> tuple[np.ndarray, Any]:
        if value.dtype.kind == "f" and value.dtype != np.float16:
            return value.astype(np.float16), value.dtype
        return value, None

    @staticmethod
    def decompress(value: np.ndarray, ctx) -> np.ndarray:
        return value if ctx is None else value.astype(ctx)


class Compression:
    """Horovod's gradient compression: ``none``, or ``fp16`` (floats travel as float16)."""

    none = _Identity
    fp16 = _FP16


def _op(op: str | None, average: bool | None) -> str:
    if op is not None and average is not None:
        raise ValueError("allreduce: give op= or the older average=, not both")
    op = (Average if average or average is None else Sum) if op is None else op
    if op == Adasum:
        raise NotImplementedError("allreduce: op=hvd.Adasum is not available here; use hvd.Average or hvd.Sum")
    return collectives.check_op(op)


def _value(tensor) -> np.ndarray:
    return np.asarray(tensor.primal() if isinstance(tensor, Tensor) else tensor)


def allreduce(tensor, average: bool | None = None, name: str | None = None, compression=Compression.none,
              op: str | None = None, prescale_factor: float = 1.0, postscale_factor: float = 1.0,
              process_set=None):
    """The mean (``op=hvd.Average``, the default) or sum of ``tensor`` over the processes,
    as a new Tensor (differentiable for a Tensor; ``tensor`` is not modified). As in
    Horovod, the mean of integers is their sum floor-divided by the number of processes."""
    op = _op(op, average)
    comm.check_group(process_set)
    value = _value(tensor)
    if op == Average and value.dtype.kind in "iu" and prescale_factor == postscale_factor == 1.0:
        # Horovod's mean of integers: the sum, floor-divided, in the same dtype
        out = collectives.all_reduce(np.array(value), op=Sum) // comm.world_size()
        return Tensor(out, EAGER) if isinstance(tensor, Tensor) else out
    if isinstance(tensor, Tensor) and compression is Compression.none:
        out = tensor * prescale_factor if prescale_factor != 1.0 else tensor
        out = collectives.all_reduce_p(out, op)
        return out * postscale_factor if postscale_factor != 1.0 else out
    value, ctx = compression.compress(_value(tensor) * prescale_factor if prescale_factor != 1.0 else _value(tensor))
    out = compression.decompress(collectives.all_reduce(np.array(value), op=op), ctx)
    if postscale_factor != 1.0:
        out = out * postscale_factor
    return Tensor(out, EAGER) if isinstance(tensor, Tensor) else out


def allreduce_(tensor, average: bool | None = None, name: str | None = None, op: str | None = None,
               prescale_factor: float = 1.0, postscale_factor: float = 1.0, process_set=None):
    """:func:`allreduce`, written into ``tensor`` (an eager Tensor or array), returned."""
    out = allreduce(_value(tensor), average, name, op=op, prescale_factor=prescale_factor,
                    postscale_factor=postscale_factor, process_set=process_set)
    collectives.write_into(tensor, out)
    return tensor


def _gather_rows(value) -> np.ndarray:
    """Every process's rows, concatenated in rank order (the first axis may differ)."""
    value = np.asarray(value)
    world = comm.communicator()
    comm.check_same(world, [("tensor", (value.shape[1:], value.dtype.str))], "allgather")
    return np.concatenate(world.allgather(value))


def _own_rows(g, x):
    """Horovod's derivative of ``allgather``: this process's rows of the mean over the
    processes of the cotangents."""
    rows = comm.communicator().allgather(int(np.shape(x)[0]))
    start = sum(rows[: comm.rank()])
    return collectives.all_reduce_p(g, "mean")[start : start + rows[comm.rank()]]


def _broadcast_value(value, root_rank: int) -> np.ndarray:
    return collectives.broadcast(np.array(value), root=root_rank)


def _onto_root(g, root_rank: int):
    """Horovod's derivative of ``broadcast``: the mean of the cotangents on the root, zero elsewhere."""
    mean = collectives.all_reduce_p(g, "mean")
    return mean if comm.rank() == root_rank else 0 * mean


def _exchange_rows(value, rows: tuple) -> np.ndarray:
    """Block ``q`` of ``value``'s first axis (``rows[q]`` rows) to process ``q``; the blocks
    received, concatenated in rank order."""
    value = np.asarray(value)
    world = comm.communicator()
    comm.check_same(world, [("rows", (value.shape[1:], value.dtype.str))], "alltoall")
    bounds = np.cumsum([0, *rows])
    return np.concatenate(world.alltoall([value[bounds[q] : bounds[q + 1]] for q in range(len(rows))]))


# Differentiable as Horovod's autograd functions: the cotangents travel back the way the
# values came (alltoall), or their mean does (allgather, broadcast).
allgather_p = Primitive(_gather_rows, name="hvd_allgather")
def_vjps(allgather_p, lambda g, ans, x: _own_rows(g, x))
broadcast_p = Primitive(_broadcast_value, name="hvd_broadcast")
def_vjps(broadcast_p, lambda g, ans, x, root_rank: _onto_root(g, root_rank), None)
alltoall_p = Primitive(_exchange_rows, name="hvd_alltoall")
def_vjps(alltoall_p, lambda g, ans, x, rows: alltoall_p(g, tuple(comm.communicator().alltoall(list(rows)))), None)


def _own_block(value, op: str) -> np.ndarray:
    """This process's block of the first axis of ``value`` reduced over the processes (the
    first ``rows % size`` processes get one row more, as Horovod splits)."""
    reduced = collectives.all_reduce(np.array(value), op=op)
    n, r = comm.world_size(), comm.rank()
    rows = [reduced.shape[0] // n + (q < reduced.shape[0] % n) for q in range(n)]
    start = sum(rows[:r])
    return reduced[start : start + rows[r]]


def _from_blocks(g, op: str):
    """Horovod's derivative of ``reducescatter``: every process's cotangent of its block,
    gathered in rank order, times the number of processes for ``hvd.Sum``."""
    return allgather_p(g * comm.world_size() if op == Sum else g)


reducescatter_p = Primitive(_own_block, name="hvd_reducescatter")
def_vjps(reducescatter_p, lambda g, ans, x, op: _from_blocks(g, op), None)


def _rows_batched(prim, batched, x, *rest):
    """Under vmap: every example's rows at once, the batch axis moved behind the rows."""
    if batching.any_batched(batched[1:]):
        return NotImplemented
    return moveaxis(prim(moveaxis(x, 0, 1), *rest), 1, 0)


def_batch(_rows_batched, allgather_p)
def_batch(_rows_batched, alltoall_p)
def_batch(_rows_batched, reducescatter_p)  # the reduction is elementwise: rows stay rows
def_batch(batching.stacked, broadcast_p)  # every example broadcast at once


def allgather(tensor, name: str | None = None, process_set=None):
    """Every process's ``tensor`` concatenated along the first axis, in rank order (the
    first axis may differ between processes, the others must not). Differentiable for a
    Tensor, as Horovod's: a process's ``tensor`` gets its rows of the mean over the
    processes of the gradients."""
    comm.check_group(process_set)
    if isinstance(tensor, Tensor):
        return allgather_p(tensor.reshape(1) if tensor.ndim == 0 else tensor)
    value = _value(tensor)
    return _gather_rows(value.reshape(1) if value.ndim == 0 else value)


def broadcast(tensor, root_rank: int, name: str | None = None, process_set=None):
    """Process ``root_rank``'s ``tensor`` on every process, as a new Tensor or array.
    Differentiable for a Tensor, as Horovod's: the root's ``tensor`` gets the mean over
    the processes of the gradients, the others' get zeros."""
    comm.check_group(process_set)
    if isinstance(tensor, Tensor):
        return broadcast_p(tensor, root_rank)
    return _broadcast_value(_value(tensor), root_rank)


def broadcast_(tensor, root_rank: int, name: str | None = None, process_set=None):
    """:func:`broadcast`, written into ``tensor`` (an eager Tensor or array), returned."""
    collectives.write_into(tensor, broadcast(_value(tensor), root_rank, name, process_set))
    return tensor


def broadcast_object(obj, root_rank: int = 0, name: str | None = None, process_set=None):
    """Process ``root_rank``'s picklable ``obj``, on every process."""
    comm.check_group(process_set)
    comm.check_same(comm.communicator(), [], "broadcast_object")
    return comm.communicator().bcast(obj, root=root_rank)


def allgather_object(obj, name: str | None = None, process_set=None) -> list:
    """Every process's picklable ``obj``, in rank order."""
    comm.check_group(process_set)
    comm.check_same(comm.communicator(), [], "allgather_object")
    return comm.communicator().allgather(obj)


def broadcast_parameters(params, root_rank: int) -> None:
    """Write process ``root_rank``'s values into ``params``: a ``state_dict()`` (its
    Tensors share the model's memory) or ``named_parameters()``."""
    items = sorted(params.items()) if isinstance(params, dict) else list(params)
    tensors = [t for _, t in items]
    values = collectives.broadcast([np.array(_value(t)) for t in tensors], root=root_rank)
    for t, v in zip(tensors, values, strict=True):
        collectives.write_into(t.detach() if isinstance(t, Tensor) and t.requires_grad else t, v)


def broadcast_optimizer_state(optimizer, root_rank: int) -> None:
    """Load process ``root_rank``'s optimizer state (``state_dict()``) on every process."""
    optimizer.load_state_dict(broadcast_object(optimizer.state_dict(), root_rank))


class _DistributedOptimizer:
    """The methods that :func:`DistributedOptimizer` adds to an optimizer's class."""

    def synchronize(self) -> None:
        """Average every parameter's gradient over the processes now (a parameter without
        a gradient counts as zeros, and gets the mean, as in Horovod)."""
        params = [p for g in self.param_groups for p in g["params"] if p.requires_grad]
        grads = []
        for p in params:
            grad = np.asarray(p.grad.primal()) if p.grad is not None else np.zeros_like(_value(p))
            grads.append(grad * (1.0 / self._hvd_predivide) if self._hvd_predivide != 1.0 else grad)
        packed = [self._hvd_compression.compress(g) for g in grads]
        reduced = collectives.all_reduce([v for v, _ in packed], op=self._hvd_op)
        for p, r, (_, ctx) in zip(params, reduced, packed, strict=True):
            r = self._hvd_compression.decompress(r, ctx)
            p.grad = Tensor(r * self._hvd_predivide if self._hvd_predivide != 1.0 else r, EAGER)
        self._hvd_synchronized = True

    @contextlib.contextmanager
    def skip_synchronize(self) -> Iterator[None]:
        """Inside, ``step()`` does not average (after an explicit :meth:`synchronize`)."""
        self._hvd_skip = True
        try:
            yield
        finally:
            self._hvd_skip = False

    def step(self, closure=None):
        if not self._hvd_skip:
            self.synchronize()
        self._hvd_synchronized = False
        return super(self._hvd_class, self).step(closure)


def DistributedOptimizer(optimizer, named_parameters=None, compression=Compression.none,  # noqa: N802
                         backward_passes_per_step: int = 1, op: str = Average,
                         gradient_predivide_factor: float = 1.0, num_groups: int = 0, groups=None,
                         sparse_as_dense: bool = False, process_set=None):
    """Horovod's ``DistributedOptimizer``: ``optimizer`` (an instance of its own class
    still, sharing its state) whose ``step()`` first averages every gradient over the
    processes (``op=hvd.Sum`` sums). Gradients accumulated over several backward passes
    (``backward_passes_per_step``) are averaged as they stand, as in Horovod."""
    comm.check_group(process_set)
    if backward_passes_per_step < 1:
        raise ValueError(f"backward_passes_per_step must be at least 1, got {backward_passes_per_step}")
    op = _op(op, None)
    if op not in (Average, Sum):
        raise ValueError(f"DistributedOptimizer: op must be hvd.Average or hvd.Sum, got {op!r}")
    cls = type(optimizer.__class__.__name__, (optimizer.__class__,),
               {k: v for k, v in vars(_DistributedOptimizer).items() if not k.startswith("__")})
    wrapped = object.__new__(cls)
    wrapped.__dict__ = optimizer.__dict__  # the same parameters, groups and state
    wrapped._hvd_class, wrapped._hvd_op, wrapped._hvd_compression = cls, op, compression
    wrapped._hvd_predivide = float(gradient_predivide_factor)
    wrapped._hvd_skip = wrapped._hvd_synchronized = False
    return wrapped


# -- what Horovod's scripts ask besides ------------------------------------------------------
def join(device: int = -1) -> int:
    """Horovod's ``join()``, for processes with different numbers of batches: this process
    has no more to train on. Until every process has called it, it takes part in the
    others' allreduces (the averaging of :func:`DistributedOptimizer` included) with zeros,
    so the mean still divides by every process, as in Horovod, and in their allgathers
    with no rows. Returns the rank of the process that joined last. Any other collective
    while a process has joined raises on every process."""
    world = comm.communicator()
    rounds = 0
    while (described := comm.joined_round(world)) is not None:
        rounds += 1
        if described[0][1] == "all_reduce":
            collectives.shadow_all_reduce(world, described)
        else:  # an allgather: no rows from here
            rows, dtype = described[1][1]
            world.allgather(np.empty((0, *rows), dtype))
    # the last to join shadowed the fewest collectives (the highest rank among equals)
    _, last = world.allreduce((-rounds, world.Get_rank()), op=comm.mpi().MAX)
    return last


def barrier(process_set=None) -> None:
    """Wait until every process has reached this call."""
    comm.check_group(process_set)
    collectives.barrier()


def mpi_built() -> bool:
    """True: the transport is MPI."""
    return True


mpi_enabled = mpi_built


def mpi_threads_supported() -> bool:
    """Whether the MPI library runs with ``MPI_THREAD_MULTIPLE``."""
    MPI = comm.mpi()
    return MPI.Query_thread() == MPI.THREAD_MULTIPLE


def nccl_built() -> bool:
    """False, as are ``gloo_built``, ``cuda_built``, ``rocm_built``, ``ddl_built`` and
    ``ccl_built``: the processes run on CPUs over MPI (scripts then scale the learning rate
    by ``size()`` rather than ``local_size()``)."""
    return False


gloo_built = gloo_enabled = cuda_built = rocm_built = ddl_built = ccl_built = nccl_built

# Asynchronous forms: the collective completes when called; the handle holds its result,
# which synchronize(handle) returns (and poll(handle) says is there).
_HANDLES: dict[int, Any] = {}
_NEXT_HANDLE = [0]


def _handle(result) -> int:
    _NEXT_HANDLE[0] += 1
    _HANDLES[_NEXT_HANDLE[0]] = result
    return _NEXT_HANDLE[0]


def allreduce_async(tensor, average=None, name=None, op=None, prescale_factor=1.0, postscale_factor=1.0,
                    process_set=None) -> int:
    """:func:`allreduce`, returning a handle for :func:`synchronize`."""
    return _handle(allreduce(tensor, average, name, op=op, prescale_factor=prescale_factor,
                             postscale_factor=postscale_factor, process_set=process_set))


def allreduce_async_(tensor, average=None, name=None, op=None, prescale_factor=1.0, postscale_factor=1.0,
                     process_set=None) -> int:
    """:func:`allreduce_`, returning a handle for :func:`synchronize`."""
    return _handle(allreduce_(tensor, average, name, op=op, prescale_factor=prescale_factor,
                              postscale_factor=postscale_factor, process_set=process_set))


def allgather_async(tensor, name=None, process_set=None) -> int:
    """:func:`allgather`, returning a handle for :func:`synchronize`."""
    return _handle(allgather(tensor, name, process_set))


def broadcast_async(tensor, root_rank: int, name=None, process_set=None) -> int:
    """:func:`broadcast`, returning a handle for :func:`synchronize`."""
    return _handle(broadcast(tensor, root_rank, name, process_set))


def broadcast_async_(tensor, root_rank: int, name=None, process_set=None) -> int:
    """:func:`broadcast_`, returning a handle for :func:`synchronize`."""
    return _handle(broadcast_(tensor, root_rank, name, process_set))


def synchronize(handle: int):
    """The result of the asynchronous collective ``handle`` (which is then forgotten)."""
    if handle not in _HANDLES:
        raise ValueError(f"synchronize: {handle!r} is not the handle of a pending collective (each is "
                         "synchronized once)")
    return _HANDLES.pop(handle)


def poll(handle: int) -> bool:
    """Whether the collective ``handle`` has completed: always, here."""
    return True


def grouped_allreduce(tensors: list, average=None, name=None, compression=Compression.none, op=None,
                      prescale_factor=1.0, postscale_factor=1.0, process_set=None) -> list:
    """:func:`allreduce` of each of ``tensors``, as a list."""
    return [allreduce(t, average, name, compression, op, prescale_factor, postscale_factor, process_set)
            for t in tensors]


def grouped_allreduce_(tensors: list, average=None, name=None, op=None, prescale_factor=1.0,
                       postscale_factor=1.0, process_set=None) -> list:
    """:func:`allreduce_` of each of ``tensors`` (written in place), as a list."""
    return [allreduce_(t, average, name, op, prescale_factor, postscale_factor, process_set) for t in tensors]


def alltoall(tensor, splits=None, name=None, process_set=None):
    """Horovod's ``alltoall``: ``tensor``'s first axis split into one block per process
    (``splits`` rows each, or equal blocks), block ``q`` sent to process ``q``; returns
    the blocks received, concatenated in rank order (and, given ``splits``, how many
    rows came from each process, as Horovod does). Differentiable for a Tensor: the
    gradients go back to the processes the rows came from."""
    comm.check_group(process_set)
    value = tensor if isinstance(tensor, Tensor) else _value(tensor)  # (a Tensor may be batched by vmap)
    world = comm.communicator()
    n = world.Get_size()
    if splits is None:
        if value.shape[0] % n:
            raise ValueError(f"alltoall: the first axis ({value.shape[0]}) does not split evenly into {n} "
                             "processes: give splits")
        rows = [value.shape[0] // n] * n
    else:
        rows = [int(k) for k in np.asarray(_value(splits)).ravel()]
        if len(rows) != n or sum(rows) != value.shape[0]:
            raise ValueError(f"alltoall: splits {rows} must be {n} counts adding up to {value.shape[0]}")
    out = alltoall_p(tensor, tuple(rows)) if isinstance(tensor, Tensor) else _exchange_rows(value, tuple(rows))
    if splits is None:
        return out
    came = np.array(world.alltoall(rows), np.int32)
    return out, (Tensor(came, EAGER) if isinstance(tensor, Tensor) else came)


def reducescatter(tensor, op=Average, name=None, compression=Compression.none, process_set=None,
                  prescale_factor=1.0, postscale_factor=1.0):
    """Horovod's ``reducescatter``: ``tensor`` reduced over the processes (the mean, or
    ``op=hvd.Sum``), and process ``r`` gets the ``r``-th block of its first axis (the
    first ``rows % size`` processes one row more, as Horovod splits). Differentiable for a
    Tensor with Horovod's derivative: the gradients of every process's block, gathered
    (times the number of processes for ``hvd.Sum``)."""
    op = _op(op, None)
    comm.check_group(process_set)
    if isinstance(tensor, Tensor) and compression is Compression.none and op in (Average, Sum):
        out = tensor * prescale_factor if prescale_factor != 1.0 else tensor
        out = reducescatter_p(out, op)
        return out * postscale_factor if postscale_factor != 1.0 else out
    value = _value(tensor) * prescale_factor if prescale_factor != 1.0 else _value(tensor)
    value, ctx = compression.compress(value)
    out = compression.decompress(_own_block(value, op), ctx)
    if postscale_factor != 1.0:
        out = out * postscale_factor
    return Tensor(out, EAGER) if isinstance(tensor, Tensor) else out
