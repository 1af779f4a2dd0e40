"""Workflow steps the tests take through the service layer, each by the demo officer who holds it."""

from __future__ import annotations

from datetime import timedelta

from backend.db.models import Officer, OfficerChannelLink
from backend.services import dossiers as uc
from backend.services.context import ServiceContext
from backend.services.officers import actor_of


async def process_to_result(ctx: ServiceContext, dossier_id: int, agency: str = "hoathanh") -> None:
    """From accepted to stamped: assign, appraise, approve, sign, forward, stamp."""
    o = {name: await Officer.get(username=f"{agency}.{name}") for name in
         ("truongphong", "chuyenvien", "lanhdao", "vanthu")}
    head, spec = actor_of(o["truongphong"]), actor_of(o["chuyenvien"])
    await uc.assign(ctx, head, dossier_id, o["chuyenvien"].id)
    await uc.draft_result(ctx, spec, dossier_id)
    await uc.approve(ctx, head, dossier_id)
    await uc.sign(ctx, actor_of(o["lanhdao"]), dossier_id)
    await uc.forward_result(ctx, spec, dossier_id)
    await uc.stamp(ctx, actor_of(o["vanthu"]), dossier_id)


async def confirm_chat_links(ctx: ServiceContext, officer_id: int) -> None:
    """The officer confirms every pending chat link in the console, a while ago (quick actions
    from the chat wait a minute after a confirmation)."""
    await OfficerChannelLink.filter(officer_id=officer_id, confirmed_at__isnull=True).update(
        confirmed_at=ctx.clock.now() - timedelta(minutes=2))
