"""A QR reader that fails (a timeout, a crashed worker) is not "no QR in the photo": the
citizen is asked to send it again, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from backend.services.context import ServiceContext
from bot import texts
from bot.ocr.pool import OcrFailed
from tests.integration.test_engine import User, body, jpeg, new_engine


class BrokenQr:
    async def read(self, data: bytes) -> dict[str, Any]:
        raise OcrFailed("timed out")

    async def decode_qr(self, data: bytes) -> str | None:
        raise OcrFailed("timed out")


async def test_a_failed_qr_read_asks_to_send_again(db: str, ctx: ServiceContext) -> None:
    engine, channel = new_engine(ctx, ocr=BrokenQr())
    user = User(engine, channel)
    await user.send("/start")
    said = body(await user.send(photo=jpeg(3)))
    assert texts.QR_RETRY in said and texts.QR_NONE not in said
