"""OCR off the event loop (xử lý nền): a process pool, so a slow photo never stalls other
chats and a crash fails only its own job; the pool is rebuilt when it breaks."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .image import check_image
from .qr import decode_qr_sync
from .reader import OcrResult, read_document_sync

log = logging.getLogger(__name__)


class OcrFailed(Exception):
    """The OCR job crashed or timed out (không đọc được); the photo itself may be fine."""


def _warm_up() -> None:
    """Load Tesseract and the unit lists once per worker, not in the first citizen's job;
    one thread per worker (Tesseract's OpenMP would fight the other workers for cores)."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    import cv2

    cv2.setNumThreads(1)
    from .engine import default_engine
    from .vocab import admin_units, health_facilities, syllable_lexicon

    admin_units()
    syllable_lexicon()
    health_facilities()
    default_engine()._get()


class OcrReader:
    """Process-pool wrapper: `await reader.read(photo_bytes)` → OcrResult."""

    def __init__(self, workers: int = 1, *,
                 read_fn: Callable[[bytes], OcrResult] = read_document_sync,
                 qr_fn: Callable[[bytes], str | None] = decode_qr_sync) -> None:
        self._workers = workers
        self._read_fn = read_fn
        self._qr_fn = qr_fn
        self._pool: ProcessPoolExecutor | None = None
        self._lock = asyncio.Lock()
        # Jobs wait here, not in the pool: a job's time limit then counts its own run, not its
        # wait behind a burst (500 photos at once timed out, and each timeout killed the pool).
        self._free = asyncio.Semaphore(workers)

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: no fork of a process that runs an event loop and threads
        return ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_warm_up)

    async def _run(self, fn: Callable[..., Any], data: bytes,
                   timeout: float) -> Any:  # noqa: ASYNC109 - the job's own limit, see read()
        async with self._free:
            return await self._submit(fn, data, timeout)

    async def _submit(self, fn: Callable[..., Any], data: bytes, timeout: float) -> Any:  # noqa: ASYNC109
        async with self._lock:
            if self._pool is None:
                self._pool = self._new_pool()
            pool = self._pool
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(pool, fn, data), timeout)
        except BrokenProcessPool as e:
            log.warning("ocr worker died; rebuilding the pool")
            await self._discard(pool)
            raise OcrFailed("worker crashed") from e
        except TimeoutError as e:
            log.warning("ocr job timed out after %.0f s; rebuilding the pool", timeout)
            await self._discard(pool, kill=True)
            raise OcrFailed("timed out") from e
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # our caller was cancelled
            raise OcrFailed("pool shut down") from None  # the job was cancelled with its pool
        except RuntimeError as e:  # submitted to a pool shut down meanwhile
            await self._discard(pool)
            raise OcrFailed("pool shut down") from e

    async def _discard(self, pool: ProcessPoolExecutor, *, kill: bool = False) -> None:
        async with self._lock:
            if self._pool is pool:
                self._pool = None
        if kill:
            # a stuck Tesseract call cannot be cancelled: end that worker. ProcessPoolExecutor
            # has no public API for it, hence the private attribute.
            for p in list(getattr(pool, "_processes", {}).values()):
                p.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    async def read(self, data: bytes, *,
                   timeout: float = 30) -> OcrResult:  # noqa: ASYNC109 - public API
        """Check the image here (cheap), then read it in the pool; a job over `timeout`
        seconds is killed with its worker (asyncio.timeout would leave Tesseract running)."""
        check_image(data)
        result: OcrResult = await self._run(self._read_fn, data, timeout)
        return result

    async def decode_qr(self, data: bytes, *,
                        timeout: float = 10) -> str | None:  # noqa: ASYNC109 - public API
        """Any QR code in the photo (receipt lookups): the payload text or None."""
        check_image(data)
        payload: str | None = await self._run(self._qr_fn, data, timeout)
        return payload

    async def close(self) -> None:
        """Stop the workers."""
        async with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown, True)
