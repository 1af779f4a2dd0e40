"""Rating the service (đánh giá) once the result is returned: buttons ``rate:<code>:<n>``."""

from __future__ import annotations

from backend.domain.messages import Conversation, Inbound
from backend.domain.workflow import Role
from backend.services import dossiers, idempotency
from backend.services.context import Actor
from backend.services.lookup import find_dossier
from bot import texts
from bot.handlers.base import ChatError, Result, Services, button_parts, text


async def rate_button(inbound: Inbound, conv: Conversation, svc: Services) -> Result:
    """Works from any step: the buttons come with the «đã trả kết quả» notification."""
    parts = button_parts(inbound)
    if len(parts) != 3 or parts[2] not in ("1", "2", "3", "4", "5"):
        raise ChatError(texts.STALE_BUTTON)
    d = await find_dossier(parts[1])
    actor = Actor(Role.CITIZEN, citizen_id=svc.citizen_id)
    await idempotency.once_dossier(svc.event_key, svc.ctx.clock.now(),
                                   lambda: dossiers.rate(svc.ctx, actor, d.id, int(parts[2])))
    svc.changed()
    return [text(texts.RATED.format(stars="★" * int(parts[2]), code=d.code))], conv.step


BUTTONS = {"rate": rate_button}
