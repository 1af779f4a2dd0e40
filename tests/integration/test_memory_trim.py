"""After a burst, freed heap memory goes back to the system (glibc keeps it otherwise)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from backend.web import memory_trim

pytestmark = pytest.mark.skipif(memory_trim._TRIM is None, reason="glibc only")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_trim_gives_back_what_a_burst_freed() -> None:
    assert sys.platform.startswith("linux")
    burst = [bytearray(64 * 1024) for _ in range(3000)]  # ~190 MB in heap-sized pieces
    keep = burst[-1]  # the heap's top stays in use: only a trim can return the rest
    del burst
    freed = rss_mb()
    assert memory_trim.trim()
    assert freed - rss_mb() > 100  # MB back to the system
    assert keep
