"""``chainrule.distributed``: data-parallel training across processes and machines, on MPI.

Launch N copies of a training script with ``mpiexec -n N`` (or ``srun``), call
:func:`init`, wrap the model in :class:`DistributedDataParallel`, and give each process
its part of the data with :class:`chainrule.data.DistributedSampler`. Needs the ``mpi``
extra (``pip install 'chainrule[mpi]'``: mpi4py and MPICH, both wheels); see
``docs/distributed.md``.

>>> from chainrule import distributed as dist
>>> dist.init()
>>> dist.world_size()
1
"""

from chainrule.distributed.collectives import (
    Future,
    ReduceOp,
    Work,
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
    gather,
    irecv,
    isend,
    monitored_barrier,
    recv,
    reduce,
    reduce_scatter_tensor,
    scatter,
    send,
)
from chainrule.distributed.comm import (
    DistributedError,
    GroupMember,
    ProcessGroup,
    abort,
    communicator,
    destroy_process_group,
    get_backend,
    get_global_rank,
    get_group_rank,
    get_node_local_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    init,
    init_process_group,
    is_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    new_group,
    rank,
    world_size,
)
from chainrule.distributed.ddp import DistributedDataParallel, GradBucket

__all__ = [
    "init",
    "is_initialized",
    "rank",
    "world_size",
    "barrier",
    "all_reduce",
    "broadcast",
    "abort",
    "communicator",
    "DistributedError",
    "DistributedDataParallel",
    "GradBucket",
    "Future",
    # PyTorch's spellings
    "init_process_group",
    "destroy_process_group",
    "is_available",
    "get_rank",
    "get_world_size",
    "get_backend",
    "get_node_local_rank",
    "group",
    "GroupMember",
    "ProcessGroup",
    "new_group",
    "get_process_group_ranks",
    "get_global_rank",
    "get_group_rank",
    "is_gloo_available",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "monitored_barrier",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_object",
    "broadcast_object_list",
    "reduce",
    "gather",
    "scatter",
    "all_gather_into_tensor",
    "reduce_scatter_tensor",
    "send",
    "recv",
    "isend",
    "irecv",
]
