"""keep_freed_memory: raises glibc's thresholds once, and leaves a user's own settings."""

import platform

from chainrule.core.heap import keep_freed_memory


def test_keep_freed_memory_leaves_the_users_malloc_settings(monkeypatch):
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        assert keep_freed_memory() is False
        return
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_"):
        monkeypatch.delenv(name, raising=False)
    assert keep_freed_memory() is True
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1000000")
    assert keep_freed_memory() is False
    monkeypatch.delenv("GLIBC_TUNABLES")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    assert keep_freed_memory() is False
