"""PyTorch's ``torch.futures`` path: :class:`Future` (what DDP communication hooks return),
:func:`wait_all` and :func:`collect_all`. chainrule's collectives complete when called,
so a Future from one is done at once."""

from chainrule.distributed.collectives import Future

__all__ = ["Future", "collect_all", "wait_all"]


def collect_all(futures: list) -> Future:
    """A Future of the list of ``futures``, done when all of them are."""
    out = Future()

    def check(_=None) -> None:
        if not out.done() and all(f.done() for f in futures):
            out.set_result(list(futures))

    for f in futures:
        f.add_done_callback(check)
    check()
    return out


def wait_all(futures: list) -> list:
    """The values of ``futures``, in order."""
    return [f.wait() for f in futures]
