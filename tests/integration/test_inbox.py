"""The inbox on SQLite and PostgreSQL: stored once per event id, claimed oldest-first per chat
(never two of one chat at once), finished in one transaction or not at all, picked up again
when a lease runs out; and a reply stored once in the web chat mailbox however often it is sent."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from backend.db.models import ConversationState, InboundUpdate, OutboxMessage, WebchatMessage
from backend.domain.messages import DELIVERY_KEY, Inbound, Text
from backend.services import inbox
from backend.services.context import ServiceContext
from backend.services.webchat_store import DbWebchatStore


def _in(event: str, user: str = "u1", text: str = "xin chào") -> Inbound:
    return Inbound("webchat", user, event, text=text)


async def test_an_event_is_stored_once(db: str, ctx: ServiceContext) -> None:
    now = ctx.clock.now()
    assert await inbox.put(_in("e1"), now) is not None
    assert await inbox.put(_in("e1"), now) is None  # a retried webhook
    assert await InboundUpdate.all().count() == 1


async def test_claims_go_oldest_first_and_one_at_a_time_per_chat(db: str, ctx: ServiceContext) -> None:
    now = ctx.clock.now()
    for e in ("a", "b", "c"):
        await inbox.put(_in(e), now)
    await inbox.put(_in("other", user="u2"), now)
    first = await inbox.claim("webchat", "u1", now)
    assert first is not None and first.inbound.event_id == "a" and first.later == 2
    # While "a" is held, nobody gets "b" (on any worker): the chat's order holds.
    assert await inbox.claim("webchat", "u1", now) is None
    assert (await inbox.claim("webchat", "u2", now)).inbound.event_id == "other"  # type: ignore[union-attr]
    await inbox.finish(first, "menu", {"n": 1}, [Text("chào")], now)
    second = await inbox.claim("webchat", "u1", now)
    assert second is not None and second.inbound.event_id == "b" and second.state.data == {"n": 1}


async def test_many_claimers_at_once_get_each_update_once(db: str, ctx: ServiceContext) -> None:
    now = ctx.clock.now()
    await inbox.put(_in("only"), now)
    got = await asyncio.gather(*(inbox.claim("webchat", "u1", now) for _ in range(20)))
    assert sum(1 for c in got if c is not None) == 1


async def test_a_finish_that_lost_the_state_race_writes_nothing(db: str, ctx: ServiceContext) -> None:
    now = ctx.clock.now()
    await inbox.put(_in("a"), now)
    claimed = await inbox.claim("webchat", "u1", now)
    assert claimed is not None
    await ConversationState.create(channel="webchat", user_id="u1", step="menu", data={}, version=1)  # someone else
    try:
        await inbox.finish(claimed, "submit.pick", {"x": 1}, [Text("?")], now)
    except inbox.StateMoved:
        pass
    else:
        raise AssertionError("the stale turn was kept")
    assert not await OutboxMessage.filter(recipient="chat").exists()  # no reply queued
    assert await InboundUpdate.filter(handled_at__isnull=True).count() == 1  # still to handle


async def test_an_update_left_by_a_crash_is_found_after_its_lease(db: str, ctx: ServiceContext) -> None:
    now = ctx.clock.now()
    await inbox.put(_in("a"), now)
    assert await inbox.claim("webchat", "u1", now, timedelta(seconds=3)) is not None  # then the worker died
    assert await inbox.stale_chats(now + timedelta(seconds=1)) == []
    assert await inbox.stale_chats(now + timedelta(seconds=10)) == [("webchat", "u1")]
    again = await inbox.claim("webchat", "u1", now + timedelta(seconds=10))
    assert again is not None and again.attempts == 2


async def test_a_reply_sent_twice_is_stored_once_in_the_mailbox(db: str, tmp_path: Path) -> None:
    """The turn's worker stored the reply and died before marking it sent; the dispatcher
    sends it again under the same delivery key."""
    store = DbWebchatStore(tmp_path / "files")
    for _ in range(2):
        token = DELIVERY_KEY.set("41:webchat:k1#0")
        try:
            await store.append("k1", {"kind": "text", "text": "Đã nộp hồ sơ"}, None)
        finally:
            DELIVERY_KEY.reset(token)
    await store.append("k1", {"kind": "text", "text": "khác"}, None)  # no key: a message of its own
    assert await WebchatMessage.filter(session="k1").count() == 2
