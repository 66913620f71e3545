"""Sums over the processes of one machine, through an MPI shared-memory window.

When every process of a job runs on one machine, MPI can give them memory that all of
them see (``MPI_Win_allocate_shared``, MPI-3's shared-memory windows; the barriers are
MPI's too). A sum over the processes then needs no messages: each process writes its
buffer into its own part of the window; after a barrier, process ``r`` adds everyone's
``r``-th chunk into its own part, reading the other parts where they lie, and writes the
sum into everyone's ``r``-th chunk (nobody else reads or writes an ``r``-th chunk); after
a second barrier every process has the whole sum, and nobody touches another's part
until the next sum.

Each process reads every other process's data once, straight from its memory. MPI's own
allreduce between processes of one machine (MPICH: reduce-scatter, then allgather) first
copies each piece it receives into a buffer of its own (``process_vm_readv``), then adds;
for the W4 MLP's 7.45 MB of float32 gradients on 2 processes that is 0.93 ms, this 0.52 ms
(BENCHMARKS.md, "Data-parallel training"). Every chunk is summed by one process and
copied by the others, so every process ends with the same bits.
"""

from __future__ import annotations

import os

import numpy as np

from chainrule.distributed.comm import DistributedError, mpi, same_machine

__all__ = ["SharedSum", "shared_sum"]

_ALIGN = 64  # each buffer starts on a cache line of its own


class SharedSum:
    """Buffers of the given sizes and dtypes, one set per process of a machine, in one MPI
    shared-memory window; :meth:`allreduce` sums them over the processes in place."""

    def __init__(self, node, layout: list[tuple[int, np.dtype]]):
        MPI = mpi()
        self._node = node
        self._rank = node.Get_rank()
        size = node.Get_size()
        offsets, end = [], 0
        for count, dtype in layout:
            offsets.append(end)
            end += -(-count * np.dtype(dtype).itemsize // _ALIGN) * _ALIGN
        self.nbytes = end
        # at least one byte: a window of zero bytes has no address to share
        self._win = MPI.Win.Allocate_shared(max(end, 1), 1, comm=node)
        self._win.Lock_all(MPI.MODE_NOCHECK)  # the epoch in which Sync() orders loads and stores
        self._everyone = []  # [process][buffer]
        for q in range(size):
            memory, _ = self._win.Shared_query(q)
            self._everyone.append([
                np.frombuffer(memory, dtype=dtype, count=count, offset=offset)
                for (count, dtype), offset in zip(layout, offsets, strict=True)
            ])
        # where each process's chunk of each buffer begins and ends
        self._bounds = [[count * q // size for q in range(size + 1)] for count, _ in layout]

    @property
    def buffers(self) -> list[np.ndarray]:
        """This process's buffers (write into them, then call :meth:`allreduce`)."""
        return self._everyone[self._rank]

    def _barrier(self) -> None:
        # Sync() orders this process's loads and stores on the window around the barrier
        # (MPI's shared-memory model); the barrier says everyone got there.
        self._win.Sync()
        self._node.Barrier()
        self._win.Sync()

    def allreduce(self) -> int:
        """Replace every process's buffers with their sum over the processes. Collective:
        every process of the machine calls it. Returns the number of MPI calls made."""
        r, everyone = self._rank, self._everyone
        mine = everyone[r]
        self._barrier()  # everyone's buffers are written
        for k, bounds in enumerate(self._bounds):
            lo, hi = bounds[r], bounds[r + 1]
            chunk = mine[k][lo:hi]
            for q, theirs in enumerate(everyone):
                if q != r:
                    np.add(chunk, theirs[k][lo:hi], out=chunk)
            for q, theirs in enumerate(everyone):  # the r-th chunks are this process's alone
                if q != r:
                    theirs[k][lo:hi] = chunk
        self._barrier()  # every chunk is summed and everywhere; nobody reads another's part now
        return 2


def _room_in_dev_shm(nbytes: int) -> bool:
    """Whether /dev/shm (where MPICH and Open MPI put shared windows on Linux) has room for
    ``nbytes`` with a margin: a full /dev/shm shows only when a page is first touched, as
    SIGBUS. Elsewhere (no /dev/shm) the MPI library decides, and errors are reported."""
    try:
        stat = os.statvfs("/dev/shm")
    except (OSError, AttributeError):
        return True
    return stat.f_bavail * stat.f_frsize >= 2 * nbytes + (64 << 20)


def shared_sum(comm, layout: list[tuple[int, np.dtype]], wanted: bool | None) -> SharedSum | None:
    """A :class:`SharedSum` over the processes of ``comm`` when all of them run on one
    machine and its shared memory has room (``wanted=None``: otherwise None; ``True``:
    otherwise a :class:`DistributedError` that says why; ``False``: None). Collective:
    every process gets the same answer."""
    if wanted is False or comm.Get_size() == 1:
        return None
    node = same_machine(comm)
    one_machine = node.Get_size() == comm.Get_size()
    total = sum(-(-count * np.dtype(dtype).itemsize // _ALIGN) * _ALIGN for count, dtype in layout)
    roomy = _room_in_dev_shm(total * node.Get_size())
    everyone = comm.allgather((one_machine, roomy))
    one_machine = all(m for m, _ in everyone)
    roomy = all(r for _, r in everyone)
    if not (one_machine and roomy):
        if wanted:
            why = ("its processes run on more than one machine" if not one_machine else
                   f"/dev/shm has no room for {total * comm.Get_size():,} bytes of gradient buckets")
            raise DistributedError(
                f"DistributedDataParallel(shared_memory=True): cannot reduce through shared memory: "
                f"{why}. Pass shared_memory=None (or False) to reduce with MPI's allreduce instead."
            )
        return None
    return SharedSum(node, layout)

