"""A correctly signed Zalo webhook far from now (a replay, or a forged clock) is refused and not handled."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from backend.domain.messages import Inbound
from backend.settings import ZaloSettings
from bot.channels.zalo import WEBHOOK_PATH, ZaloChannel
from tests.fakes.zalo_oa_api import FakeZaloOa

USER = "1357924680135792468"
NOW = 1_795_000_000.0  # epoch seconds, the channel's clock in these tests
MINUTE = 60 * 1000  # in Zalo's milliseconds


@pytest.fixture
def oa() -> FakeZaloOa:
    fake = FakeZaloOa(oa_secret_key="fake-oa-secret-key")  # only its body and signature builders are used
    fake.url = "http://zalo.test"
    return fake


@pytest.fixture
async def webhook(oa: FakeZaloOa):  # noqa: ANN201
    """A running webhook endpoint; yields (client, handled inbounds)."""
    handled: list[Inbound] = []

    async def handle(inbound: Inbound) -> None:
        handled.append(inbound)

    channel = ZaloChannel(ZaloSettings(oa.app_id, oa.app_secret, oa.oa_secret_key), handle, token_store=None,
                          now=lambda: NOW)
    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, channel.webhook)
    async with TestClient(TestServer(app)) as client:
        yield client, handled
    await channel.stop()


async def _post(client: TestClient, raw: bytes, headers: dict[str, str]) -> int:
    resp = await client.post(WEBHOOK_PATH, data=raw, headers=headers)
    await resp.read()
    await asyncio.sleep(0.05)  # the turn runs in the background
    return resp.status


@pytest.mark.parametrize(
    ("offset_ms", "status", "taken"),
    [
        (-8 * 24 * 60 * MINUTE, 401, False),  # 8 days old: a replay
        (-11 * MINUTE, 401, False),
        (-30 * 1000, 200, True),  # 30 s old: a normal delivery
        (9 * MINUTE, 200, True),  # a little clock skew is fine
        (11 * MINUTE, 401, False),  # 11 minutes in the future
    ],
)
async def test_signed_webhook_outside_the_tolerance_is_refused(webhook, oa: FakeZaloOa, offset_ms: int,  # noqa: ANN001
                                                               status: int, taken: bool) -> None:
    client, handled = webhook
    raw, headers = oa.make_webhook("user_send_text", USER, text="1", timestamp=int(NOW * 1000) + offset_ms)
    assert await _post(client, raw, headers) == status
    assert [i.text for i in handled] == (["1"] if taken else [])


@pytest.mark.parametrize("stamp", ["soon", "", None, "1.5e12"])
async def test_signed_webhook_without_a_usable_timestamp_is_refused(webhook, oa: FakeZaloOa,  # noqa: ANN001
                                                                    stamp: str | None) -> None:
    client, handled = webhook
    body = oa.webhook_body("user_send_text", USER, text="1")
    body["timestamp"] = stamp
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-ZEvent-Signature": oa.sign(raw)}
    assert await _post(client, raw, headers) in (400, 401)
    assert handled == []
