"""Officer accounts: creation, passwords (argon2), the acting identity, chat links."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.transactions import in_transaction

from backend.db.models import Dossier, Officer, OfficerChannelLink
from backend.domain.text import clean_text
from backend.domain.workflow import Role
from backend.services import passwords, ratelimits, tokens
from backend.services.context import Actor, ServiceContext
from backend.services.errors import InvalidInput, NotFound

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_officer(
    *,
    username: str,
    full_name: str,
    role: Role,
    password: str,
    agency_id: int | None,
    department_id: int | None = None,
    must_change_password: bool = True,
    password_hash: str | None = None,
) -> Officer:
    """Open an account; ``password_hash`` lets a batch (the demo seed) share one hashing of
    one password, which then skips the policy: it is not one an officer chose."""
    if password_hash is None:
        passwords.check(password, username=username, full_name=full_name)
    return await Officer.create(
        username=username,
        full_name=full_name,
        role=role.value,
        agency_id=agency_id,
        department_id=department_id,
        password_hash=password_hash or hash_password(password),
        must_change_password=must_change_password,
    )


def actor_of(officer: Officer) -> Actor:
    """The acting identity of an officer, as the use cases check it."""
    return Actor(
        role=Role(officer.role),
        officer_id=officer.id,
        agency_id=officer.agency_id,  # type: ignore[attr-defined]
        department_id=officer.department_id,
        name=officer.full_name,  # type: ignore[attr-defined]
    )


async def officer_actor(officer_id: int) -> Actor:
    officer = await Officer.get_or_none(id=officer_id, active=True)
    if officer is None:
        raise NotFound("Không tìm thấy tài khoản cán bộ.")
    return actor_of(officer)


LINK_PURPOSE = "chat-link"
LINK_TTL = timedelta(minutes=15)
LINK_PREFIX = "lk_"  # a Telegram /start payload that carries a link token
LINK_SETTLE = timedelta(seconds=60)  # quick actions wait this long after a confirmation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkedChat:
    """What a chat learns when its link token was accepted."""

    link_id: int
    officer_name: str
    role: Role


@dataclass(frozen=True)
class ChatLinkView:
    """One linked chat account, as the account page lists it."""

    id: int
    channel: str
    label: str
    created_at: datetime
    confirmed_at: datetime | None


@dataclass(frozen=True)
class ChatOfficer:
    """Who acts from a chat: ``state`` is none, pending (not confirmed), settling (confirmed
    less than a minute ago) or ready; ``actor`` only when ready."""

    state: str
    actor: Actor | None = None


def deep_link_payload(token: str) -> str:
    """The Telegram ``/start`` payload for a link token (A-Za-z0-9_-, at most 64 chars)."""
    return LINK_PREFIX + token


async def new_link_code(ctx: ServiceContext, officer_id: int) -> str:
    """A single-use token the officer sends to the bot to link a chat account (15 min)."""
    return await tokens.issue(LINK_PURPOSE, now=ctx.clock.now(), ttl=LINK_TTL, officer_id=officer_id)


_last_alarm = 0.0


def _alarm() -> None:
    """Warn, at most once a minute per worker, that link attempts trip the global limit."""
    global _last_alarm
    if time.monotonic() - _last_alarm >= 60:
        _last_alarm = time.monotonic()
        log.warning("chat link attempts over the installation-wide limit: someone may be guessing tokens")


def _label(channel: str, external_id: str, display_name: str | None) -> str:
    name = clean_text(display_name or "", multiline=False, limit=80).strip()
    return name or f"{channel} …{external_id[-4:]}"


async def link_chat(ctx: ServiceContext, code: str, channel: str, external_id: str, *,
                    display_name: str | None = None, origin: str = "") -> LinkedChat:
    """Link the chat account that sent ``code`` to the officer who asked for it; the link
    waits for the officer's confirmation in the console. Attempts are rate-limited per chat,
    per client address and overall, before any lookup."""
    subjects = [f"chat:{channel}:{external_id}", f"ip:{origin}" if origin else ""]
    wait = await ratelimits.take_all(ratelimits.LINK_ATTEMPT, subjects)
    # The installation-wide count only raises the alarm: a flood of guesses (hopeless against
    # 192-bit tokens) must not stop real officers from linking.
    if not wait and await ratelimits.take(ratelimits.LINK_ATTEMPT_GLOBAL, "all"):
        _alarm()
    if wait:
        minutes = max(1, math.ceil(wait / 60))
        raise InvalidInput(f"Bạn đã thử mã liên kết quá nhiều lần. Vui lòng đợi khoảng {minutes} phút rồi thử lại.")
    used = await tokens.consume(LINK_PURPOSE, code.strip(), now=ctx.clock.now())
    if used is None or used.officer_id is None:
        raise InvalidInput("Mã liên kết không đúng hoặc đã hết hạn. Vui lòng lấy mã mới trên trang quản trị.")
    officer = await Officer.get_or_none(id=used.officer_id, active=True)
    if officer is None:
        raise InvalidInput("Mã liên kết không đúng hoặc đã hết hạn. Vui lòng lấy mã mới trên trang quản trị.")
    async with in_transaction():
        await OfficerChannelLink.filter(channel=channel, external_id=external_id).delete()
        link = await OfficerChannelLink.create(officer_id=officer.id, channel=channel, external_id=external_id,
                                               label=_label(channel, external_id, display_name),
                                               created_at=ctx.clock.now(), confirmed_at=None)
    return LinkedChat(link.id, officer.full_name, Role(officer.role))


async def chat_links(officer_id: int) -> list[ChatLinkView]:
    """Every chat account linked to the officer, oldest first."""
    links = await OfficerChannelLink.filter(officer_id=officer_id).order_by("id")
    return [ChatLinkView(k.id, k.channel, k.label, k.created_at, k.confirmed_at) for k in links]


async def confirm_link(ctx: ServiceContext, officer_id: int, link_id: int) -> None:
    """The officer confirms, in the console, a chat link of their own; tasks flow from now."""
    done = await OfficerChannelLink.filter(id=link_id, officer_id=officer_id, confirmed_at__isnull=True).update(
        confirmed_at=ctx.clock.now())
    if not done and not await OfficerChannelLink.exists(id=link_id, officer_id=officer_id):
        raise NotFound("Không tìm thấy liên kết này.")


async def unlink(officer_id: int, link_id: int) -> None:
    """Remove one of the officer's own chat links."""
    if not await OfficerChannelLink.filter(id=link_id, officer_id=officer_id).delete():
        raise NotFound("Không tìm thấy liên kết này.")


async def chat_officer(ctx: ServiceContext, channel: str, external_id: str) -> ChatOfficer:
    """Who may act from this chat, and whether the link is confirmed and settled."""
    link = await OfficerChannelLink.get_or_none(channel=channel, external_id=external_id).prefetch_related("officer")
    if link is None or not link.officer.active:
        return ChatOfficer("none")
    if link.confirmed_at is None:
        return ChatOfficer("pending")
    if ctx.clock.now() - link.confirmed_at < LINK_SETTLE:
        return ChatOfficer("settling")
    return ChatOfficer("ready", actor_of(link.officer))


@dataclass(frozen=True)
class TaskDossier:
    """The few facts of a dossier a chat task button needs."""

    id: int
    code: str
    version: int
    department_id: int | None


async def task_dossier(dossier_id: int) -> TaskDossier | None:
    d = await Dossier.get_or_none(id=dossier_id)
    return TaskDossier(d.id, d.code, d.version, d.department_id) if d else None  # type: ignore[attr-defined]
