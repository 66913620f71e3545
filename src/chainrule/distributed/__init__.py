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

from chainrule.distributed import collectives, comm, ddp, store, tensor_collectives
from chainrule.distributed.collectives import *  # noqa: F403
from chainrule.distributed.comm import *  # noqa: F403
from chainrule.distributed.ddp import *  # noqa: F403
from chainrule.distributed.store import *  # noqa: F403
from chainrule.distributed.tensor_collectives import *  # noqa: F403

# each module's own __all__ says what it gives (PyTorch's spellings among them)
__all__ = [*comm.__all__, *collectives.__all__, *ddp.__all__, *store.__all__, *tensor_collectives.__all__]
