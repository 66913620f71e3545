"""PyTorch's ``torch.distributed.elastic.multiprocessing`` path (:mod:`.errors`)."""
