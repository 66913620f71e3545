"""``DistributedDataParallel``: one model per process, gradients averaged in ``backward()``.

As in PyTorch's DDP, the parameters are grouped into buckets of about ``bucket_cap_mb``
in reverse order of ``parameters()`` (roughly the order in which the backward pass
produces their gradients). A hook that runs when a parameter's ``.grad`` has been updated
writes it, divided by the number of processes, into its bucket (one pass over the
gradient: the copy and the division of the mean are the same loop); when a bucket is
full, a non-blocking allreduce (a sum) of the bucket starts in place, and the rest of
the backward pass runs while it travels. A callback queued for the end of the backward
pass waits for every bucket and points each ``.grad`` at its slice of the bucket before
``backward()`` returns. When every process runs on one machine, the buckets live in an
MPI shared-memory window instead and that callback sums them there (``shared.py``):
the processes read each other's buckets directly rather than copying them through MPI's
messages first.

Buckets start strictly in bucket order on every process, so the collectives match even
when gradients arrive in different orders. A parameter that got no gradient in this
backward pass on some process counts as its ``.grad`` as it stands there (zero where it
has none): its bucket is sent at the end of the pass, and no process waits for a gradient
that will not come. One flag per parameter travels in each bucket; a parameter that no
process used keeps its ``.grad`` (``None`` stays ``None``), as in PyTorch.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from time import perf_counter, process_time

import numpy as np

from chainrule.core.eager import EAGER, is_grad_enabled, queue_callback
from chainrule.core.tensor import Tensor
from chainrule.distributed.collectives import Future
from chainrule.distributed.comm import check_same, communicator, mpi, spans_job
from chainrule.distributed.shared import shared_sum
from chainrule.nn.module import Module, mark_modified

__all__ = ["DistributedDataParallel", "GradBucket"]


class _Bucket:
    """Gradients of a few parameters of one dtype, packed in one flat buffer, followed by
    one slot per parameter that says whether this process's backward pass gave it a
    gradient (1) or not (0): summed with the gradients, it says which parameters no
    process used, whose ``.grad`` is then left as it was (PyTorch's rule)."""

    __slots__ = ("params", "offsets", "sizes", "size", "buffer", "ready", "pending", "request")

    def __init__(self, params: list, dtype):
        self.params = params
        self.offsets = []
        self.sizes = [p._value.size for p in params]
        start = 0
        for size in self.sizes:
            self.offsets.append(start)
            start += size
        self.size = start  # the gradients' elements; the used flags follow
        self.buffer = np.empty(start + len(params), dtype=dtype)
        self.ready = [False] * len(params)
        self.pending = len(params)
        self.request = None

    @property
    def nbytes(self) -> int:
        """The bytes of gradient (the used flags not counted)."""
        return self.size * self.buffer.itemsize


def _make_buckets(params: list, cap_bytes: int) -> list[_Bucket]:
    """Buckets of at most ``cap_bytes`` (or one parameter, if larger), filled in reverse
    parameter order, one dtype per bucket."""
    buckets: list[_Bucket] = []
    open_by_dtype: dict = {}
    for p in reversed(params):
        dtype = p._value.dtype
        group, size = open_by_dtype.get(dtype, ([], 0))
        if group and size + p._value.nbytes > cap_bytes:
            buckets.append(_Bucket(group, dtype))
            group, size = [], 0
        group.append(p)
        open_by_dtype[dtype] = (group, size + p._value.nbytes)
    for dtype, (group, _) in open_by_dtype.items():
        if group:
            buckets.append(_Bucket(group, dtype))
    return buckets


class GradBucket:
    """PyTorch's ``dist.GradBucket``: what a communication hook (see
    :meth:`DistributedDataParallel.register_comm_hook`) gets, one bucket of this process's
    gradients, flattened into one Tensor (``buffer()``) in the order of ``parameters()``."""

    def __init__(self, index: int, bucket: _Bucket, last: bool):
        self._index, self._bucket, self._last = index, bucket, last
        self._buffer = Tensor(bucket.buffer[: bucket.size], EAGER)

    def index(self) -> int:
        return self._index

    def is_last(self) -> bool:
        return self._last

    def buffer(self) -> Tensor:
        """The gradients of the bucket's parameters, one after the other (writing into it
        writes into the bucket)."""
        return self._buffer

    def set_buffer(self, tensor) -> None:
        """Put ``tensor`` in place of :meth:`buffer` (PyTorch's: a compressing wrapper hands
        the hook it wraps a buffer of another dtype); the gradients become what the hook's
        Future holds."""
        self._buffer = tensor if isinstance(tensor, Tensor) else Tensor(np.asarray(tensor), EAGER)

    def parameters(self) -> list:
        return list(self._bucket.params)

    def gradients(self) -> list[Tensor]:
        """Each parameter's gradient, a view of :meth:`buffer` of the parameter's shape."""
        b = self._bucket
        return [Tensor(b.buffer[n : n + p._value.size].reshape(np.shape(p._value)), EAGER)
                for p, n in zip(b.params, b.offsets, strict=True)]


def _broadcast_from_rank_0(comm, tensors: list, root: int = 0) -> None:
    """Rank 0's (or ``root``'s) values of ``tensors`` everywhere, written into the same buffers."""
    for t in tensors:
        value = t._value
        if not (isinstance(value, np.ndarray) and value.flags.c_contiguous and value.flags.writeable):
            value = t._value = np.array(value, order="C")
        comm.Bcast(value, root=root)
        mark_modified(t)


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training: every process holds a replica, feeds it
    its part of the batch, and after ``loss.backward()`` every replica's ``.grad`` is the
    mean of all processes' gradients, so identical optimizer steps keep them identical.

    PyTorch's signature. At wrap time rank 0's parameters and buffers are copied to every
    process, after checking that all processes have the same parameter and buffer names,
    shapes and dtypes, and the same parameters that require a gradient (the error names the
    first difference; ``init_sync=False`` skips both). As in PyTorch, the buffers
    (BatchNorm's running statistics) are broadcast from rank 0 again at the start of each
    forward pass that follows a synchronised training pass (``broadcast_buffers=False`` or
    ``forward_sync_buffers=False``: never; then each process keeps its own); use
    ``nn.SyncBatchNorm`` for batch statistics over all processes.
    ``device_ids``/``output_device`` (GPUs) and ``process_group`` (the whole job only, here)
    must be left out; ``dim``, ``find_unused_parameters``, ``check_reduction`` and
    ``static_graph`` change nothing (a parameter without a gradient never holds the others
    up).

    ``shared_memory``: ``None`` (the default) sums the buckets in an MPI shared-memory
    window when every process runs on one machine and ``/dev/shm`` has room for them, and
    by ``MPI_Iallreduce`` otherwise; ``True`` insists on the shared window (an error says
    why it cannot be had); ``False`` always uses ``MPI_Iallreduce``. The
    :attr:`shared_memory` property says which one this wrapper uses.

    After ``backward()`` each ``.grad`` is a view of its bucket's buffer
    (``gradient_as_bucket_view=True``, the default here, where PyTorch's is False): no
    copy and no new memory per step, but the next synchronised ``backward()`` overwrites
    it, so copy a gradient you want to keep, or pass ``gradient_as_bucket_view=False``
    for a copy of its own in each ``.grad``.

    What the last synchronised ``backward()`` did, for measuring it:
    ``last_exposed_seconds`` (the time spent after the pass waiting for communication it
    did not hide), ``last_bytes_reduced`` (the bytes handed to MPI: the gradient bytes),
    ``last_bytes_copied`` (the bytes of gradient written into the buckets: the gradient
    bytes this process computed, each once), ``last_mpi_calls``, ``last_mpi_seconds`` and
    ``last_mpi_cpu_seconds`` (how many MPI calls it made to start, test and wait for the
    allreduces, the time spent inside them, and the CPU time this process used there:
    MPICH polls while it waits, so on a core of its own that is close to the time).

    >>> import numpy as np
    >>> from chainrule import distributed as dist, nn
    >>> dist.init()
    >>> model = dist.DistributedDataParallel(nn.Linear(3, 1))
    >>> model(np.ones((2, 3), dtype=np.float32)).sum().backward()
    >>> model.module.weight.grad.shape
    torch.Size([1, 3])
    """

    def __init__(
        self, module: Module, device_ids: list | None = None, output_device=None, dim: int = 0,
        broadcast_buffers: bool | None = None, init_sync: bool = True, process_group=None,
        bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
        check_reduction: bool = False, gradient_as_bucket_view: bool = True,
        static_graph: bool = False, *, forward_sync_buffers: bool | None = None,
        shared_memory: bool | None = None,
    ):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, not {type(module).__name__}")
        if device_ids is not None or output_device is not None:
            raise ValueError(
                "DistributedDataParallel: device_ids and output_device are for modules on GPUs; "
                f"chainrule's run on the CPU: leave them out (got device_ids={device_ids!r}, "
                f"output_device={output_device!r})"
            )
        if not spans_job(process_group):
            raise ValueError("DistributedDataParallel: only the whole job is supported as the process group: "
                             "pass process_group=None (or dist.group.WORLD, or a group of every process), "
                             f"not {process_group!r}")
        bucket_cap_mb = 25 if bucket_cap_mb is None else bucket_cap_mb
        if not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        if shared_memory is not None and not isinstance(shared_memory, bool):
            raise TypeError(f"shared_memory must be None (choose), True or False, not {shared_memory!r}")
        self.module = module
        comm = communicator()
        self.__dict__["_comm"] = comm
        self.__dict__["_size"] = comm.Get_size()
        self.bucket_cap_mb = bucket_cap_mb
        buffers = [b for _, b in module.named_buffers()]
        # PyTorch's rule: buffers are broadcast from rank 0 at the start of a forward pass
        # that follows a synchronised training pass (see forward); broadcast_buffers=False
        # also keeps them out of the broadcast at wrap time
        sync = forward_sync_buffers if forward_sync_buffers is not None else broadcast_buffers
        self.__dict__["_synced_buffers"] = buffers if sync is not False else []
        self.__dict__["_sync_buffers_next"] = True
        self.__dict__["_as_bucket_view"] = bool(gradient_as_bucket_view)
        if init_sync:
            # which parameters require a gradient decides the buckets: a difference would sum
            # unrelated gradients, so it is named as a difference of the model too
            named = [(f"parameter {n}" + ("" if p.requires_grad else " (requires_grad=False)"), p)
                     for n, p in module.named_parameters()]
            if broadcast_buffers is not False:
                named += [(f"buffer {n}", b) for n, b in module.named_buffers()]
            check_same(comm, [(n, (tuple(np.shape(t._value)), np.asarray(t._value).dtype.str))
                              for n, t in named], "DistributedDataParallel")
            _broadcast_from_rank_0(comm, [t for _, t in named])
        params = [p for _, p in module.named_parameters() if p.requires_grad]
        # parameters left out of the buckets: one made to require a gradient later would
        # train on this process's gradient alone (forward refuses it)
        self.__dict__["_frozen_at_wrap"] = [(n, p) for n, p in module.named_parameters() if not p.requires_grad]
        if not params:  # PyTorch's error and words
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any "
                               "parameter that requires a gradient.")
        self.__dict__["_buckets"] = _make_buckets(params, int(bucket_cap_mb * 2**20))
        # every process on one machine: the buckets live in an MPI shared-memory window and
        # are summed there (shared.py); otherwise by MPI_Iallreduce as each bucket fills
        shared = shared_sum(comm, [(b.buffer.size, b.buffer.dtype) for b in self._buckets], shared_memory)
        if shared is not None:
            for b, buffer in zip(self._buckets, shared.buffers, strict=True):
                b.buffer = buffer
        self.__dict__["_shared"] = shared
        slot = {}
        for b in self._buckets:
            for k, p in enumerate(b.params):
                slot[id(p)] = (b, k)
        self.__dict__["_slot"] = slot
        self.__dict__["_sync"] = True
        # PyTorch decides at the forward pass whether the backward pass averages: it does
        # if the last forward pass with gradients was synchronised (not under no_sync()),
        # or if any was since the last synchronised backward pass
        self.__dict__["_forward_synced"] = True
        self.__dict__["_synced_forward_pending"] = False
        self.__dict__["_join"] = None  # inside join(): whether to raise when a process has joined
        self.__dict__["_join_steps"] = 0  # training passes inside join()
        self.__dict__["_used_unsynced"] = set()  # ids of parameters given a gradient under no_sync()
        self.__dict__["_active"] = False  # a backward pass is filling the buckets
        self.__dict__["_next"] = 0  # the next bucket to send
        self.__dict__["_inverse"] = 1.0 / self._size
        self.__dict__["_comm_hook"] = None  # (state, hook) of register_comm_hook
        # what the last synchronised backward() did (counted while it runs)
        self.__dict__["last_exposed_seconds"] = 0.0
        self.__dict__["last_bytes_reduced"] = 0
        self.__dict__["last_bytes_copied"] = 0
        self.__dict__["last_mpi_calls"] = 0
        self.__dict__["last_mpi_seconds"] = self.__dict__["last_mpi_cpu_seconds"] = 0.0
        for name in ("_sent", "_copied", "_mpi_calls"):
            self.__dict__[name] = 0
        self.__dict__["_mpi_seconds"] = self.__dict__["_mpi_cpu_seconds"] = 0.0
        # a job of one has nothing to average: no hooks, the backward pass is the module's
        hooks = params if self._size > 1 else []
        self.__dict__["_handles"] = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in hooks]

    def __deepcopy__(self, memo):
        """A wrapper of a deep copy of the module, on the same processes (PyTorch's DDP can
        be deep-copied, as code that keeps an average of the weights does): collective,
        every process copies. The copy's gradients are averaged in its own buckets; a
        communication hook is not carried over, as in PyTorch.

        >>> import copy
        >>> from chainrule import distributed as dist, nn
        >>> dist.init()
        >>> ema = copy.deepcopy(dist.DistributedDataParallel(nn.Linear(3, 1)))
        """
        clone = DistributedDataParallel(
            copy.deepcopy(self.module, memo), broadcast_buffers=bool(self._synced_buffers), init_sync=False,
            bucket_cap_mb=self.bucket_cap_mb, gradient_as_bucket_view=self._as_bucket_view,
            shared_memory=self.shared_memory)
        clone.require_backward_grad_sync = self._sync
        memo[id(self)] = clone
        return clone

    def register_comm_hook(self, state, hook) -> None:
        """PyTorch's ``register_comm_hook``: ``hook(state, bucket)`` reduces each bucket
        (a :class:`GradBucket` of this process's gradients, not divided) and returns a
        :class:`~chainrule.distributed.Future` of the result, a Tensor (or a list of one)
        of ``bucket.buffer()``'s size, which becomes the gradients; e.g.
        ``default_hooks.allreduce_hook`` (the mean, as without a hook) or
        ``fp16_compress_hook`` from ``chainrule.distributed.algorithms.ddp_comm_hooks``.
        The hooks run at the end of ``backward()``, bucket by bucket, in the same order on
        every process (the buckets are not reduced while the backward pass runs). Once per
        wrapper, as in PyTorch."""
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be called once.")
        if not callable(hook):
            raise TypeError(f"register_comm_hook: hook must be callable as hook(state, bucket), got {hook!r}")
        self.__dict__["_comm_hook"] = (state, hook)
        self.__dict__["_inverse"] = 1.0  # the hook gets the gradients as they are, and divides
        if not self._handles:  # a job of one runs the hook too, as PyTorch does
            params = [p for b in self._buckets for p in b.params]
            self.__dict__["_handles"] = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]

    def _run_comm_hook(self) -> None:
        """Each bucket reduced by the registered hook, in bucket order; then the flags that
        say which parameters any process used, summed."""
        state, hook = self._comm_hook
        last = len(self._buckets) - 1
        for i, bucket in enumerate(self._buckets):
            fut = hook(state, GradBucket(i, bucket, i == last))
            if not isinstance(fut, Future):
                raise TypeError(f"DistributedDataParallel: the communication hook {hook!r} returned "
                                f"{type(fut).__name__}; it must return a Future of the bucket's reduced "
                                "gradients (e.g. dist.all_reduce(t, async_op=True).get_future())")
            value = fut.wait()
            if isinstance(value, list | tuple) and len(value) == 1:  # a collective's future, as PyTorch takes it
                value = value[0]
            value = np.asarray(value.primal() if isinstance(value, Tensor) else value)
            if value.size != bucket.size:
                raise ValueError(f"DistributedDataParallel: the communication hook's result has {value.size} "
                                 f"elements for a bucket of {bucket.size}")
            np.copyto(bucket.buffer[: bucket.size], value.reshape(-1), casting="same_kind")
            if self._size > 1:
                self._comm.Allreduce(mpi().IN_PLACE, bucket.buffer[bucket.size :], op=mpi().SUM)

    @property
    def gradient_bytes(self) -> int:
        """Bytes of gradient in the buckets: what each process hands to the allreduces of
        one step (``last_bytes_reduced`` says what the last step handed over)."""
        return sum(b.nbytes for b in self._buckets)

    @property
    def shared_memory(self) -> bool:
        """Whether the gradients are summed in an MPI shared-memory window (every process
        on one machine) rather than by ``MPI_Iallreduce``."""
        return self._shared is not None

    @property
    def bucket_sizes(self) -> list[int]:
        """The bytes of each bucket, in the order they are sent."""
        return [b.nbytes for b in self._buckets]

    def forward(self, *args, **kwargs):
        if self._active:  # a previous backward pass failed half-way: start clean
            self._reset()
        if self._join is not None and self._size > 1:  # tell the processes that joined what comes
            sync = self._sync and is_grad_enabled()
            counts = np.array([1, int(sync)], np.int64)
            self._comm.Allreduce(mpi().IN_PLACE, counts, op=mpi().SUM)
            if self._join and counts[0] < self._size:
                raise RuntimeError("DistributedDataParallel.join(throw_on_early_termination=True): "
                                   "another process has run out of inputs")
            self.__dict__["_join_steps"] = self._join_steps + sync
        if self._sync_buffers_next and self._synced_buffers and self._size > 1:
            _broadcast_from_rank_0(self._comm, self._synced_buffers)
        if is_grad_enabled():
            self._refuse_unfrozen()
        out = self.module(*args, **kwargs)
        if is_grad_enabled():
            self.__dict__["_forward_synced"] = self._sync
            if self._sync:
                self.__dict__["_synced_forward_pending"] = True
        self.__dict__["_sync_buffers_next"] = self._sync and is_grad_enabled()
        return out

    def _refuse_changed(self, param: Tensor) -> None:
        name = next((n for n, p in self.module.named_parameters() if p is param), "?")
        raise RuntimeError(
            f"DistributedDataParallel: parameter {name!r} is now of dtype {np.asarray(param._value).dtype} and "
            f"shape {tuple(np.shape(param._value))}, not what it was when the module was wrapped; convert "
            "the module (model.double(), model.to(dtype)) before wrapping it")

    def _refuse_unfrozen(self) -> None:
        for name, p in self._frozen_at_wrap:
            if p.requires_grad:
                raise RuntimeError(
                    f"DistributedDataParallel: parameter {name!r} requires a gradient now but did not "
                    "when the module was wrapped, so its gradient would not be averaged and the "
                    "replicas would drift apart (PyTorch's DDP lets them, in silence). Wrap the "
                    "module with every parameter that will train requiring a gradient, and freeze "
                    "with requires_grad_(False) after wrapping (a parameter without a gradient is "
                    "left out of a step)")

    @property
    def require_backward_grad_sync(self) -> bool:
        """PyTorch's flag that :meth:`no_sync` clears: whether ``backward()`` averages the
        gradients over the processes (libraries such as Accelerate set it themselves)."""
        return self._sync

    @require_backward_grad_sync.setter
    def require_backward_grad_sync(self, value: bool) -> None:
        self.__dict__["_sync"] = bool(value)

    def _set_static_graph(self) -> None:
        """PyTorch's ``model._set_static_graph()`` (what ``static_graph=True`` asks for, used
        with activation checkpointing): changes nothing here, where a parameter that gets its
        gradient late or never holds nothing up."""

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, ``backward()`` only accumulates local gradients in ``.grad``; the first
        synchronised ``backward()`` after it averages the accumulated gradients (gradient
        accumulation over several micro-batches, one allreduce). As in PyTorch, the
        forward pass decides: run it inside the block.

        >>> import numpy as np
        >>> from chainrule import distributed as dist, nn
        >>> dist.init()
        >>> model = dist.DistributedDataParallel(nn.Linear(3, 1))
        >>> with model.no_sync():
        ...     model(np.ones((2, 3), dtype=np.float32)).sum().backward()
        >>> model(np.ones((2, 3), dtype=np.float32)).sum().backward()  # averages both
        """
        saved = self._sync
        self.__dict__["_sync"] = False
        try:
            yield
        finally:
            self.__dict__["_sync"] = saved

    @contextlib.contextmanager
    def join(self, divide_by_initial_world_size: bool = True, enable: bool = True,
             throw_on_early_termination: bool = False) -> Iterator[None]:
        """PyTorch's ``with model.join():`` for processes with different numbers of
        batches. A process that leaves the block early takes part in the others'
        collectives (their buffer broadcasts, and their gradient sums with zeros) until
        every process has left it; each gradient is still divided by the number of
        processes (``divide_by_initial_world_size=True``, PyTorch's default). Then every
        process gets the parameters and buffers of a process that trained to the end.
        Every forward pass inside the block that trains must be followed by one
        ``backward()``, as in PyTorch. ``throw_on_early_termination=True`` raises on
        every process instead, as soon as one has run out."""
        if not divide_by_initial_world_size:
            raise ValueError("DistributedDataParallel.join: only divide_by_initial_world_size=True "
                             "(each gradient divided by the number of processes) is available")
        if not enable or self._size == 1:
            yield
            return
        self.__dict__["_join"], self.__dict__["_join_steps"] = bool(throw_on_early_termination), 0
        try:
            yield
        finally:
            self.__dict__["_join"] = None
        MPI = mpi()
        while True:  # shadow the others' steps until nobody trains
            counts = np.zeros(2, np.int64)
            self._comm.Allreduce(MPI.IN_PLACE, counts, op=MPI.SUM)
            if counts[0] == 0:
                break
            if throw_on_early_termination:
                raise RuntimeError("DistributedDataParallel.join(throw_on_early_termination=True): "
                                   "this process has run out of inputs before the others")
            if self._sync_buffers_next and self._synced_buffers:
                _broadcast_from_rank_0(self._comm, self._synced_buffers)
            if counts[1]:
                self._shadow_backward()
            self.__dict__["_sync_buffers_next"] = bool(counts[1])
        # the process that trained the most steps (the highest rank among equals) has the model
        _, root = self._comm.allreduce((self._join_steps, self._comm.Get_rank()), op=MPI.MAX)
        state = [t for _, t in self.module.named_parameters()] + self._synced_buffers
        _broadcast_from_rank_0(self._comm, state, root=root)

    def _shadow_backward(self) -> None:
        """The collectives of a synchronised backward pass, with zeros for every gradient."""
        for bucket in self._buckets:
            bucket.buffer[...] = 0
        if self._comm_hook is not None:
            self._run_comm_hook()
        elif self._shared is not None:
            self._shared.allreduce()
        else:
            for bucket in self._buckets:
                self._comm.Iallreduce(mpi().IN_PLACE, bucket.buffer).Wait()
        self._reset()

    # -- the backward pass ------------------------------------------------------------------
    def _grad_ready(self, param: Tensor) -> None:
        if not (self._forward_synced or self._synced_forward_pending):
            # a forward pass under no_sync(): used in this micro-batch, averaged by the next
            # synchronised pass
            self._used_unsynced.add(id(param))
            return
        if not self._active:
            self.__dict__["_active"] = True
            queue_callback(self._finish)
        bucket, k = self._slot[id(param)]
        if bucket.ready[k]:
            raise RuntimeError(
                "DistributedDataParallel: a parameter received its gradient twice in one "
                "backward pass of the wrapped module; this is not supported"
            )
        n = bucket.offsets[k]
        value = np.asarray(param.grad.primal())
        if value.dtype != bucket.buffer.dtype or value.size != bucket.sizes[k]:
            self._refuse_changed(param)  # converted after wrapping: its slot no longer fits
        # the mean's division and the copy into the bucket in one pass (the sum of the
        # scaled gradients is the mean: the allreduce then adds, and nothing reads the
        # bucket again before the optimizer)
        np.multiply(value, self._inverse, out=bucket.buffer[n : n + value.size].reshape(value.shape))
        self.__dict__["_copied"] = self._copied + value.nbytes
        bucket.buffer[bucket.size + k] = 1
        bucket.ready[k] = True
        bucket.pending -= 1
        if bucket.pending == 0 and self._shared is None and self._comm_hook is None:
            self._send_ready()
        elif self._next:
            self._progress()

    def _progress(self) -> None:
        # MPI moves a non-blocking collective along only inside MPI calls: test the ones
        # in flight now and then, so they travel while the backward pass computes.
        for bucket in self._buckets[: self._next]:
            if bucket.request is not None:
                start = perf_counter(), process_time()
                done = bucket.request.Test()
                self._count_mpi(start)
                if done:
                    bucket.request = None

    def _count_mpi(self, start: tuple[float, float], calls: int = 1) -> None:
        self.__dict__["_mpi_calls"] = self._mpi_calls + calls
        self.__dict__["_mpi_seconds"] = self._mpi_seconds + (perf_counter() - start[0])
        self.__dict__["_mpi_cpu_seconds"] = self._mpi_cpu_seconds + (process_time() - start[1])

    def _send_ready(self) -> None:
        buckets = self._buckets
        while self._next < len(buckets) and buckets[self._next].pending == 0:
            self._send(buckets[self._next])
            self.__dict__["_next"] = self._next + 1

    def _send(self, bucket: _Bucket) -> None:
        start = perf_counter(), process_time()
        bucket.request = self._comm.Iallreduce(mpi().IN_PLACE, bucket.buffer)
        self._count_mpi(start)
        self.__dict__["_sent"] = self._sent + bucket.nbytes

    def _finish(self) -> None:
        """At the end of backward(): send what is left (zeros for the gradients this
        process did not get), wait for every bucket, write the means to ``.grad``.
        ``last_exposed_seconds`` is the time this takes: the communication that the
        backward pass did not hide."""
        start = perf_counter()
        try:
            for bucket in self._buckets:
                if bucket.pending:
                    for k, ready in enumerate(bucket.ready):
                        if not ready:
                            self._unused(bucket, k)
                    bucket.pending = 0
            if self._comm_hook is not None:
                self._run_comm_hook()
                self.__dict__["_sent"] = self.gradient_bytes
            elif self._shared is not None:  # every bucket at once, in the shared window
                waited = perf_counter(), process_time()
                calls = self._shared.allreduce()
                self._count_mpi(waited, calls)
                self.__dict__["_sent"] = self.gradient_bytes
            else:
                self._send_ready()
            for bucket in self._buckets:
                if bucket.request is not None:
                    waited = perf_counter(), process_time()
                    bucket.request.Wait()
                    self._count_mpi(waited)
                    bucket.request = None
                mean = bucket.buffer  # the scaled gradients were summed: the mean
                used = mean[bucket.size :]
                for k, (p, n) in enumerate(zip(bucket.params, bucket.offsets, strict=True)):
                    if not used[k]:  # no process's pass reached it: .grad stays as it was
                        continue
                    shape = np.shape(p._value)
                    grad = mean[n : n + int(np.prod(shape, dtype=np.int64))].reshape(shape)
                    p.grad = Tensor(grad if self._as_bucket_view else grad.copy(), EAGER)
        finally:
            self._reset()
            self._used_unsynced.clear()
            self.__dict__["_synced_forward_pending"] = False
            self.__dict__["last_exposed_seconds"] = perf_counter() - start
            self.__dict__["last_bytes_reduced"] = self._sent
            self.__dict__["last_bytes_copied"] = self._copied
            self.__dict__["last_mpi_calls"] = self._mpi_calls
            self.__dict__["last_mpi_seconds"] = self._mpi_seconds
            self.__dict__["last_mpi_cpu_seconds"] = self._mpi_cpu_seconds
            for name in ("_sent", "_copied", "_mpi_calls"):
                self.__dict__[name] = 0
            self.__dict__["_mpi_seconds"] = self.__dict__["_mpi_cpu_seconds"] = 0.0

    def _unused(self, bucket: _Bucket, k: int) -> None:
        """What this process adds for a parameter its backward pass did not reach: its
        ``.grad`` as it stands, divided (zeros where it has none), as PyTorch's DDP; it
        counts as used if a backward pass under ``no_sync()`` since the last synchronised
        one reached it."""
        p, n = bucket.params[k], bucket.offsets[k]
        part = bucket.buffer[n : n + p._value.size]
        grad = p.grad
        if grad is None:
            part[...] = 0
        else:
            value = np.asarray(grad.primal())
            if np.shares_memory(value, bucket.buffer):  # a view of the bucket: keep its own copy
                value = value.copy()
                p.grad = Tensor(value, EAGER)
            np.multiply(value, self._inverse, out=part.reshape(value.shape))
        bucket.buffer[bucket.size + k] = id(p) in self._used_unsynced  # used under no_sync() counts

    def _reset(self) -> None:
        for bucket in self._buckets:
            bucket.ready = [False] * len(bucket.params)
            bucket.pending = len(bucket.params)
            if bucket.request is not None:
                bucket.request.Wait()  # never leave a request in flight on a buffer we reuse
                bucket.request = None
        self.__dict__["_active"] = False
        self.__dict__["_next"] = 0

    def extra_repr(self) -> str:
        return f"world_size={self._size}, buckets={len(self._buckets)}, bucket_cap_mb={self.bucket_cap_mb}"
