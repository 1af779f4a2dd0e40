"""The engine's storage on SQLite and PostgreSQL: saves are version-guarded, and on SQLite the
statements of concurrent turns (here the inbox's ``put``, through ``backend.services.sql``) —
run together under one hold of the connection — never land inside someone else's
transaction."""

from __future__ import annotations

import asyncio
import contextvars
from datetime import UTC, datetime

import pytest
from tortoise.transactions import in_transaction

from backend.db.models import Citizen, ConversationState, InboundUpdate
from backend.domain.messages import Inbound
from backend.services import conversations, inbox

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def _put(user: str, event: str, channel: str = "telegram") -> int | None:
    return await inbox.put(Inbound(channel, user, event, text="xin chào"), NOW)


async def test_load_save_round_trip(db: str) -> None:
    first = await conversations.load("telegram", "u1")
    assert (first.id, first.step, first.data, first.version) == (None, "menu", {}, 0)

    data = {"proc": "birth_registration", "form": {"declarant_name": "Nguyễn Văn An"}}
    assert await conversations.save(first, "submit.field", data, NOW)
    again = await conversations.load("telegram", "u1")
    assert (again.step, again.data, again.version) == ("submit.field", data, 1)
    row = await ConversationState.get(channel="telegram", user_id="u1")
    assert (row.step, row.data, row.version) == ("submit.field", data, 1)  # what the ORM reads too

    assert await conversations.save(again, "submit.review", {}, NOW)
    assert not await conversations.save(again, "menu", {}, NOW)  # stale version: refused
    assert not await conversations.save(first, "menu", {}, NOW)  # a second first row: refused
    assert (await conversations.load("telegram", "u1")).step == "submit.review"
    # Another channel's same user id is someone else.
    assert (await conversations.load("zalo", "u1")).id is None


async def test_concurrent_turns_stay_out_of_a_transaction_that_rolls_back(db: str) -> None:
    """Fifty turns claim while a use case's transaction is open and then fails: every claim
    survives the rollback, and the rolled-back row stays gone."""
    began = asyncio.Event()

    async def failing_use_case() -> None:
        with pytest.raises(RuntimeError):
            async with in_transaction():
                await Citizen.create(full_name="Sẽ bị hoàn tác")
                began.set()
                await asyncio.sleep(0.2)  # the turns queue up meanwhile
                raise RuntimeError("use case failed")

    async def turn(i: int) -> int | None:
        await began.wait()
        return await _put(f"u{i}", f"ev{i}")

    results = await asyncio.gather(failing_use_case(), *(turn(i) for i in range(50)))
    assert all(r is not None for r in results[1:])
    assert await InboundUpdate.filter(event_id__startswith="ev").count() == 50
    assert not await Citizen.filter(full_name="Sẽ bị hoàn tác").exists()


async def test_inside_a_transaction_a_statement_is_part_of_it(db: str) -> None:
    """Called within a transaction, the store's statements belong to it (and roll back with
    it) instead of waiting for the connection the transaction holds."""
    with pytest.raises(RuntimeError):
        async with in_transaction():
            assert await asyncio.wait_for(_put("t1", "tx1"), 5)
            raise RuntimeError("roll back")
    assert not await InboundUpdate.filter(event_id="tx1").exists()


async def test_a_cancelled_turn_does_not_strand_the_others(db: str) -> None:
    async def claim(i: int) -> int | None:
        return await _put(f"c{i}", f"cancel{i}")

    ctx = contextvars.copy_context()  # taken before the transaction: the claims are not part of it
    async with in_transaction():  # on SQLite it holds the connection: the claims queue up
        tasks = [asyncio.create_task(claim(i), context=ctx.copy()) for i in range(10)]
        await asyncio.sleep(0.05)
        tasks[0].cancel()
    done = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    if db.startswith("sqlite"):  # PostgreSQL's pool may have answered before the cancel
        assert isinstance(done[0], asyncio.CancelledError)
    assert all(r is not None and not isinstance(r, BaseException) for r in done[1:])
