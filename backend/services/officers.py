"""Officer accounts: creation, passwords (argon2), the acting identity, chat links."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.db.models import Officer, OfficerChannelLink
from backend.domain.workflow import Role
from backend.services import tokens
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
    """Open an account; ``password_hash`` lets a batch share one hashing of one password."""
    if len(password) < 8:
        raise InvalidInput("Mật khẩu phải có ít nhất 8 ký tự.")
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


async def new_link_code(ctx: ServiceContext, officer_id: int) -> str:
    """A single-use token the officer sends to the bot to link a chat account (15 min)."""
    return await tokens.issue(LINK_PURPOSE, now=ctx.clock.now(), ttl=LINK_TTL, officer_id=officer_id)


async def link_chat(ctx: ServiceContext, code: str, channel: str, external_id: str) -> Officer:
    """Link the chat account that sent ``code`` to the officer who asked for it."""
    used = await tokens.consume(LINK_PURPOSE, code.strip(), now=ctx.clock.now())
    if used is None or used.officer_id is None:
        raise InvalidInput("Mã liên kết không đúng hoặc đã hết hạn. Vui lòng lấy mã mới trên trang quản trị.")
    await OfficerChannelLink.filter(channel=channel, external_id=external_id).delete()
    await OfficerChannelLink.create(officer_id=used.officer_id, channel=channel, external_id=external_id)
    return await Officer.get(id=used.officer_id)


async def officer_by_chat(channel: str, external_id: str) -> Officer | None:
    link = await OfficerChannelLink.get_or_none(channel=channel, external_id=external_id).prefetch_related("officer")
    return link.officer if link and link.officer.active else None
