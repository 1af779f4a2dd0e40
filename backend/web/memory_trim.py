"""Give freed heap memory back to the system after a burst (glibc keeps it otherwise).

Measured (bench/uploads.py, 500 web chat uploads on SQLite): RSS after the burst 293 MB,
after ``malloc_trim(0)`` 208 MB (185 MB before it); the Python objects alive afterwards are
what start-up left, so the rest was freed memory glibc held, not objects we keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import sys
from collections.abc import AsyncIterator, Callable

from aiohttp import web

log = logging.getLogger(__name__)

TRIM_INTERVAL = 30.0  # seconds between trims


def _load_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None elsewhere (macOS, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return fn  # type: ignore[no-any-return]


_TRIM = _load_trim()


def trim() -> bool:
    """Return freed heap pages to the system now; False where glibc is not there."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


async def trimming(app: web.Application) -> AsyncIterator[None]:
    """A cleanup context: trim every TRIM_INTERVAL seconds while the app runs."""
    if _TRIM is None:
        yield
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(TRIM_INTERVAL)
            try:
                await asyncio.to_thread(trim)  # can take a few ms on a large heap
            except Exception:  # long-running loop: log, then continue
                log.warning("malloc_trim failed", exc_info=True)

    task = asyncio.create_task(loop(), name="memory-trim")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
