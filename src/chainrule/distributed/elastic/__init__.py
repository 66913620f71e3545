"""PyTorch's ``torch.distributed.elastic`` path, for the ``@record`` decorator of
:mod:`.multiprocessing.errors` that scripts written for ``torchrun`` put on ``main``."""
