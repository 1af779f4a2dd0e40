"""Logging in and out, the forced password change, lockout."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp import web

from backend.db.models import Officer
from backend.domain.calendar import VN_TZ
from backend.domain.workflow import Role
from backend.services import ratelimits
from backend.services.officers import check_password, hash_password
from backend.services.seed import DEMO_PASSWORD
from backend.web.app import RUNTIME, SETTINGS
from backend.web.console.common import form_of, me, page, render, save_session, see_other
from backend.web.console.sessions import Session, pw_fingerprint
from backend.web.netaddr import client_address

MAX_FAILURES = 5  # failed logins in a row before the account locks
LOCK_MINUTES = 15
MIN_PASSWORD = 10
# Verified when the username is unknown, so both answers take as long (no user enumeration).
_DUMMY_HASH = hash_password("motcua-no-such-officer")


def home_of(officer: Officer) -> str:
    return "/console/admin" if officer.role == Role.ADMIN else "/console"


@page(public=True)
async def login_form(request: web.Request) -> web.StreamResponse:
    return render(request, "login.html", {"error": "", "username": ""})


@page(public=True)
async def login(request: web.Request) -> web.StreamResponse:
    form = form_of(request)
    source = client_address(request, request.app[SETTINGS].trusted_proxies)
    if wait := await ratelimits.take(ratelimits.LOGIN, "ip:" + source):
        message = f"Quá nhiều lần đăng nhập từ máy này. Vui lòng thử lại sau {int(wait) + 1} giây."
        return render(request, "login.html", {"error": message, "username": ""}, status=429)
    username = str(form.get("username", "")).strip().lower()[:64]
    password = str(form.get("password", ""))
    now = request.app[RUNTIME].ctx.clock.now()
    officer = await Officer.get_or_none(username=username, active=True) if username else None

    def refuse(message: str) -> web.Response:
        return render(request, "login.html", {"error": message, "username": username}, status=401)

    if officer is not None and officer.locked_until and officer.locked_until > now:
        until = officer.locked_until.astimezone(VN_TZ).strftime("%H:%M")
        return refuse(f"Tài khoản tạm khóa do nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau {until}.")
    ok = await asyncio.to_thread(check_password, officer.password_hash if officer else _DUMMY_HASH, password)
    if officer is None or not ok:
        if officer is not None:
            officer.failed_logins += 1
            if officer.failed_logins >= MAX_FAILURES:
                officer.failed_logins = 0
                officer.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                await officer.save(update_fields=["failed_logins", "locked_until"])
                return refuse(f"Nhập sai mật khẩu {MAX_FAILURES} lần: tài khoản bị tạm khóa {LOCK_MINUTES} phút.")
            await officer.save(update_fields=["failed_logins"])
        return refuse("Tên đăng nhập hoặc mật khẩu không đúng.")
    officer.failed_logins = 0
    officer.locked_until = None
    await officer.save(update_fields=["failed_logins", "locked_until"])
    # A new session (and CSRF token) at login: a token seen before login is worth nothing after.
    save_session(request, Session(officer_id=officer.id, pw=pw_fingerprint(officer.password_hash)))
    return see_other("/console/password" if officer.must_change_password else home_of(officer))


@page(public=True)
async def logout(request: web.Request) -> web.StreamResponse:
    save_session(request, Session())
    return see_other("/console/login")


@page(allow_password_change=True)
async def password_form(request: web.Request) -> web.StreamResponse:
    return render(request, "password.html", {"error": ""})


@page(allow_password_change=True)
async def change_password(request: web.Request) -> web.StreamResponse:
    """Change one's password; forced at the first login (demo and admin-issued passwords)."""
    officer: Officer = me(request)
    form = form_of(request)
    current, new, again = (str(form.get(k, "")) for k in ("current", "new", "again"))

    def refuse(message: str) -> web.Response:
        return render(request, "password.html", {"error": message}, status=400)

    if not await asyncio.to_thread(check_password, officer.password_hash, current):
        return refuse("Mật khẩu hiện tại không đúng.")
    if len(new) < MIN_PASSWORD:
        return refuse(f"Mật khẩu mới phải có ít nhất {MIN_PASSWORD} ký tự.")
    if new != again:
        return refuse("Hai lần nhập mật khẩu mới không khớp.")
    if new == current or new == DEMO_PASSWORD or new.lower() == officer.username:
        return refuse("Vui lòng chọn mật khẩu khác mật khẩu cũ, mật khẩu mẫu và tên đăng nhập.")
    officer.password_hash = await asyncio.to_thread(hash_password, new)
    officer.must_change_password = False
    await officer.save(update_fields=["password_hash", "must_change_password"])
    # Other sessions carry the old fingerprint and end; this one continues with the new one.
    save_session(request, Session(officer_id=officer.id, pw=pw_fingerprint(officer.password_hash)))
    return see_other(home_of(officer) + "?msg=password")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/console/login", login_form),
        web.post("/console/login", login),
        web.post("/console/logout", logout),
        web.get("/console/password", password_form),
        web.post("/console/password", change_password),
    ]
