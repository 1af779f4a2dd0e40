"""OCR in a process pool: results come back, bad input is refused in the caller, a crash or a
timeout fails that job only and the next job works."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from bot.ocr import ImageRejected, OcrFailed, OcrReader, OcrResult, read_document_sync
from tests.ocr_docs import make_sample


def crash_worker(data: bytes) -> OcrResult:
    """A job that kills its worker process, as a segfault in Tesseract would."""
    os._exit(3)


def crash_on_marker(data: bytes) -> OcrResult:
    """Crash for one photo, read the others."""
    if data.endswith(b"CRASH"):
        os._exit(3)
    return read_document_sync(data)


def stall(data: bytes) -> OcrResult:
    time.sleep(60)
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def card() -> bytes:
    return make_sample("id_card", "mild", 0).jpeg


async def test_read_in_pool_and_qr(card: bytes) -> None:
    reader = OcrReader(workers=1)
    try:
        res = await reader.read(card)
        assert res.doc_type == "id_card"
        assert res.qr is not None and res.fields["id_number"] == res.qr.split("|")[0]
        assert await reader.decode_qr(card) == res.qr
    finally:
        await reader.close()


async def test_bad_input_is_refused_before_the_pool() -> None:
    reader = OcrReader(workers=1, read_fn=crash_worker)
    try:
        with pytest.raises(ImageRejected):
            await reader.read(b"not an image")
    finally:
        await reader.close()


async def test_crash_fails_one_job_and_the_pool_recovers(card: bytes) -> None:
    reader = OcrReader(workers=1, read_fn=crash_on_marker)
    try:
        with pytest.raises(OcrFailed):
            await reader.read(card + b"CRASH")
        res = await reader.read(card)
        assert res.doc_type == "id_card"
    finally:
        await reader.close()


async def test_timeout_fails_the_job_and_other_chats_keep_going(card: bytes) -> None:
    reader = OcrReader(workers=1, read_fn=stall)
    try:
        ticks = 0

        async def other_chat() -> None:
            nonlocal ticks
            for _ in range(5):
                await asyncio.sleep(0.05)
                ticks += 1

        with pytest.raises(OcrFailed):
            await asyncio.gather(reader.read(card, timeout=2), other_chat())
        assert ticks == 5
    finally:
        await reader.close()
