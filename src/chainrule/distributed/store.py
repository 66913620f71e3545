"""PyTorch's key-value stores (``dist.HashStore``, ``dist.FileStore``, ``dist.PrefixStore``),
for scripts that share small values between processes through one.

The processes of a job find each other through MPI, so :func:`init_process_group` needs
no store; these are for the scripts that use one on their own (a counter, a flag set by
one process and waited for by the others). They keep PyTorch's semantics: values are
bytes, ``add`` keeps a decimal count, ``get`` and ``wait`` wait for a key up to the
store's timeout and then raise :class:`DistStoreError`, ``compare_set`` swaps a value
that equals the expected one. ``dist.TCPStore`` would open a socket, which chainrule
never does: it raises, saying what to use instead.

>>> from chainrule import distributed as dist
>>> store = dist.HashStore()
>>> store.set("epoch", "3"); store.add("epoch", 1)
4
>>> store.get("epoch")
b'4'
"""

from __future__ import annotations

import datetime
import fcntl
import os
import pickle
import threading
import time
from collections.abc import Callable

__all__ = ["Store", "HashStore", "FileStore", "PrefixStore", "TCPStore", "DistError", "DistStoreError"]

_DEFAULT_TIMEOUT = datetime.timedelta(minutes=5)  # PyTorch's
_POLL_S = 0.01  # how often a FileStore looks again for a key it waits for


class DistError(RuntimeError):
    """PyTorch's ``dist.DistError``: an error of the distributed package."""


class DistStoreError(DistError):
    """PyTorch's ``dist.DistStoreError``: a store's ``get`` or ``wait`` ran out of time."""


def _bytes(value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytearray | memoryview | list):
        return bytes(value)
    raise TypeError(f"a store's values are str or bytes, not {type(value).__name__}")


def _seconds(timeout) -> float:
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    return float(timeout)


class Store:
    """PyTorch's ``dist.Store``: what every store does, on the table of keys that a
    subclass keeps (``_change(fn)`` runs ``fn`` on it, alone)."""

    def __init__(self, timeout=_DEFAULT_TIMEOUT):
        self._timeout = datetime.timedelta(seconds=_seconds(timeout))

    def _change(self, fn: Callable[[dict], object]):
        raise NotImplementedError

    def _await(self, ready: Callable[[dict], bool], timeout) -> None:
        raise NotImplementedError

    @property
    def timeout(self) -> datetime.timedelta:
        return self._timeout

    def set_timeout(self, timeout) -> None:
        self._timeout = datetime.timedelta(seconds=_seconds(timeout))

    def set(self, key: str, value) -> None:
        value = _bytes(value)
        self._change(lambda table: table.__setitem__(key, value))

    def get(self, key: str) -> bytes:
        """The value of ``key``, waiting for it up to the timeout."""
        self._await(lambda table: key in table, None)
        return self._change(lambda table: table[key])

    def add(self, key: str, amount: int) -> int:
        """Add ``amount`` to the count at ``key`` (0 when absent) and return it."""
        def add(table):
            try:
                count = int(table.get(key, b"0")) + int(amount)
            except ValueError:
                raise ValueError(f"store.add: the value of {key!r} is not a count: {table[key]!r}") from None
            table[key] = str(count).encode()
            return count
        return self._change(add)

    def append(self, key: str, value) -> None:
        value = _bytes(value)
        self._change(lambda table: table.__setitem__(key, table.get(key, b"") + value))

    def compare_set(self, key: str, expected_value, desired_value) -> bytes:
        """As PyTorch's: ``desired_value`` is set where ``key`` holds ``expected_value`` (or
        is absent and ``expected_value`` is empty); returns the value ``key`` then holds
        (``expected_value`` where ``key`` is absent and stays so)."""
        expected, desired = _bytes(expected_value), _bytes(desired_value)

        def swap(table):
            current = table.get(key)
            if current == expected or (current is None and not expected):
                table[key] = desired
                return desired
            return expected if current is None else current
        return self._change(swap)

    def wait(self, keys: list[str], timeout=None) -> None:
        """Wait until every key in ``keys`` is set, up to ``timeout`` (the store's by default)."""
        self._await(lambda table: all(k in table for k in keys), timeout)

    def check(self, keys: list[str]) -> bool:
        return self._change(lambda table: all(k in table for k in keys))

    def delete_key(self, key: str) -> bool:
        return self._change(lambda table: table.pop(key, None) is not None)

    def num_keys(self) -> int:
        return self._change(len)

    def multi_get(self, keys: list[str]) -> list[bytes]:
        return [self.get(k) for k in keys]

    def multi_set(self, keys: list[str], values: list) -> None:
        for k, v in zip(keys, values, strict=True):
            self.set(k, v)

    def _limit(self, timeout) -> float:
        return time.monotonic() + _seconds(self._timeout if timeout is None else timeout)


class HashStore(Store):
    """PyTorch's ``dist.HashStore``: a store in this process's memory, shared by its threads."""

    def __init__(self):
        super().__init__()
        self._table: dict[str, bytes] = {}
        self._changed = threading.Condition()

    def _change(self, fn):
        with self._changed:
            result = fn(self._table)
            self._changed.notify_all()
            return result

    def _await(self, ready, timeout) -> None:
        limit = self._limit(timeout)
        with self._changed:
            while not ready(self._table):
                left = limit - time.monotonic()
                if left <= 0:
                    raise DistStoreError("Wait timeout")
                self._changed.wait(left)


class FileStore(Store):
    """PyTorch's ``dist.FileStore(file_name, world_size=-1)``: a store in a file, shared by
    every process that opens the same path (on one machine, or on a shared file system
    with working ``flock``); each change holds the file's lock. Its file is chainrule's
    own, not one that PyTorch's FileStore can read."""

    def __init__(self, file_name: str, world_size: int = -1):
        super().__init__()
        self.path = os.fspath(file_name)
        self.world_size = world_size
        with open(self.path, "ab"):  # made if absent
            pass

    def _change(self, fn):
        with open(self.path, "r+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                data = f.read()
                table = pickle.loads(data) if data else {}
                before = dict(table)
                result = fn(table)
                if table != before:
                    f.seek(0)
                    f.truncate()
                    f.write(pickle.dumps(table))
                    f.flush()
                return result
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _await(self, ready, timeout) -> None:
        limit = self._limit(timeout)
        while not self._change(ready):
            if time.monotonic() >= limit:
                raise DistStoreError("Wait timeout")
            time.sleep(_POLL_S)


class PrefixStore(Store):
    """PyTorch's ``dist.PrefixStore(prefix, store)``: ``store`` with every key read and
    written as ``prefix/key``."""

    def __init__(self, prefix: str, store: Store):
        super().__init__(store.timeout)
        self.underlying_store, self._prefix = store, f"{prefix}/"

    def _change(self, fn):
        prefix, n = self._prefix, len(self._prefix)

        def on_mine(table):
            mine = {k[n:]: v for k, v in table.items() if k.startswith(prefix)}
            before = dict(mine)
            result = fn(mine)
            for k in before.keys() - mine.keys():
                del table[prefix + k]
            table.update({prefix + k: v for k, v in mine.items() if before.get(k) != v})
            return result
        return self.underlying_store._change(on_mine)

    def _await(self, ready, timeout) -> None:
        prefix, n = self._prefix, len(self._prefix)
        self.underlying_store._await(
            lambda table: ready({k[n:]: v for k, v in table.items() if k.startswith(prefix)}),
            self._timeout if timeout is None else timeout)


class TCPStore(Store):
    """PyTorch's ``dist.TCPStore`` would serve its keys on a TCP port; chainrule opens no
    socket of its own, so making one raises, naming what to use instead."""

    def __init__(self, host_name: str = "", port: int = 0, world_size: int | None = None, is_master: bool = False,
                 timeout=_DEFAULT_TIMEOUT, *args, **kwargs):
        raise NotImplementedError(
            "dist.TCPStore is not available: chainrule opens no socket of its own (its processes talk over "
            "MPI, and init_process_group needs no store). Share values with dist.FileStore(path) (one "
            "machine, or a shared file system), dist.HashStore() within one process, or the object "
            "collectives (dist.broadcast_object_list, dist.all_gather_object)")
