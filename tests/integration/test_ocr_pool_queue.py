"""OCR pool under a burst: a job's time limit counts its own run, not its wait for a free
worker, and one job's timeout fails that job only (others neither fail nor get cancelled)."""

from __future__ import annotations

import asyncio
import time

from bot.ocr import OcrFailed, OcrReader
from tests.ocr_docs import make_sample

JOB_SECONDS = 0.4


def slow_qr(data: bytes) -> str | None:
    """A QR decode taking JOB_SECONDS; a photo ending in STALL hangs (a stuck decoder)."""
    time.sleep(60 if data.endswith(b"STALL") else JOB_SECONDS)
    return "ok"


async def test_jobs_queued_behind_a_busy_worker_do_not_time_out() -> None:
    card = make_sample("id_card", "mild", 0).jpeg
    reader = OcrReader(workers=1, qr_fn=slow_qr)
    try:
        assert await reader.decode_qr(card, timeout=60) == "ok"  # the worker is up and warm
        # 8 citizens at once: 3.2 s of work for one worker, each job 0.4 s against a 2 s limit.
        results = await asyncio.gather(*(reader.decode_qr(card, timeout=2) for _ in range(8)),
                                       return_exceptions=True)
        assert results == ["ok"] * 8
    finally:
        await reader.close()


async def test_a_stuck_job_fails_alone_and_the_jobs_behind_it_run() -> None:
    card = make_sample("id_card", "mild", 0).jpeg
    reader = OcrReader(workers=1, qr_fn=slow_qr)
    try:
        assert await reader.decode_qr(card, timeout=60) == "ok"
        stuck = asyncio.create_task(reader.decode_qr(card + b"STALL", timeout=1))
        await asyncio.sleep(0.1)  # the stuck one holds the worker; these wait for it
        behind = [asyncio.create_task(reader.decode_qr(card, timeout=30)) for _ in range(3)]
        results = await asyncio.gather(stuck, *behind, return_exceptions=True)
        assert isinstance(results[0], OcrFailed)
        assert results[1:] == ["ok"] * 3  # not OcrFailed, not CancelledError
    finally:
        await reader.close()
