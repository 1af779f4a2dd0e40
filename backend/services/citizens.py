"""Citizens and their chat identities; the files they send."""

from __future__ import annotations

import hashlib
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.db.models import Attachment, ChannelIdentity, Citizen, Dossier, OutboxMessage
from backend.services.context import ServiceContext


async def identify(ctx: ServiceContext, channel: str, external_id: str, display_name: str = "") -> ChannelIdentity:
    """The identity for a chat user, created with a new citizen on first contact.

    A citizen writing again also releases notifications held while they were unreachable
    (e.g. outside Zalo's reply window).
    """
    now = ctx.clock.now()
    ident = await ChannelIdentity.get_or_none(channel=channel, external_id=external_id)
    if ident is None:
        try:
            async with in_transaction() as conn:
                citizen = await Citizen.create(full_name=display_name, using_db=conn)
                ident = await ChannelIdentity.create(
                    citizen=citizen,
                    channel=channel,
                    external_id=external_id,
                    display_name=display_name,
                    last_inbound_at=now,
                    using_db=conn,
                )
            return ident
        except IntegrityError:  # two first messages at once: the other one won
            ident = await ChannelIdentity.get(channel=channel, external_id=external_id)
    ident.last_inbound_at = now
    if display_name and not ident.display_name:
        ident.display_name = display_name
    await ident.save(update_fields=["last_inbound_at", "display_name"])
    await OutboxMessage.filter(identity_id=ident.id, status="held").update(status="pending", next_attempt_at=None)
    return ident


def _key_for(digest: str) -> str:
    return f"attachments/{digest[:2]}/{digest}"


async def store_attachment(
    ctx: ServiceContext,
    *,
    citizen_id: int,
    data: bytes,
    mime_type: str,
    filename: str = "",
    component: str = "",
    ocr: dict[str, Any] | None = None,
) -> Attachment:
    """Keep a file the citizen sent (content-addressed, so a resend is stored once)."""
    digest = hashlib.sha256(data).hexdigest()
    key = _key_for(digest)
    if not await ctx.files.exists(key):
        await ctx.files.put(key, data, mime_type)
    return await Attachment.create(
        citizen_id=citizen_id,
        component=component,
        content_hash=digest,
        mime_type=mime_type,
        size=len(data),
        filename=filename[:200],
        stored_path=key,
        ocr=ocr,
    )


async def read_attachment(ctx: ServiceContext, att: Attachment) -> bytes | None:
    """The file's bytes, None when it is gone (purged, or an unreadable key)."""
    if not att.stored_path:
        return None
    try:
        return await ctx.files.get(att.stored_path)
    except ValueError:
        return None


async def dossiers_of(citizen_id: int, limit: int = 20) -> list[Dossier]:
    """A citizen's own dossiers, newest first."""
    return await Dossier.filter(citizen_id=citizen_id).order_by("-id").limit(limit)
