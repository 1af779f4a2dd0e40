"""Logging in and out, the forced password change, the login throttle."""

from __future__ import annotations

import asyncio

from aiohttp import web

from backend.db.models import Officer
from backend.domain.text import clean_text
from backend.domain.workflow import Role
from backend.services import console_sessions, passwords, ratelimits, throttle
from backend.services.officers import check_password, hash_password
from backend.services.seed import DEMO_PASSWORD
from backend.web.app import SETTINGS
from backend.web.console.common import (
    CODEC,
    end_session,
    form_of,
    me,
    now_of,
    page,
    render,
    see_other,
    start_session,
)
from backend.web.console.sessions import DEVICE_COOKIE
from backend.web.netaddr import client_address

# Verified when the username is unknown or throttled, so every answer takes as long.
_DUMMY_HASH = hash_password("motcua-no-such-officer")
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."
# The same for known and unknown usernames: nothing here says which accounts exist.
THROTTLED = WRONG + " Đã nhập sai nhiều lần: vui lòng thử lại sau ít phút."


def home_of(officer: Officer) -> str:
    return "/console/admin" if officer.role == Role.ADMIN else "/console"


def normalised(username: str) -> str:
    return clean_text(username, multiline=False).strip().lower()[:64]


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
    username = normalised(str(form.get("username", "")))
    password = str(form.get("password", ""))
    now = now_of(request)
    device = request.app[CODEC].load_device(request.cookies.get(DEVICE_COOKIE))
    if device is not None and device.username == username:
        # The officer's own browser: only its own failures count against it.
        counted = [(throttle.DEVICE, throttle.key(throttle.DEVICE, device.nonce))]
    else:
        counted = [
            (throttle.PAIR, throttle.key(throttle.PAIR, username, source)),
            (throttle.ACCOUNT, throttle.key(throttle.ACCOUNT, username)),
        ]
    keys = [k for _, k in counted]

    def refuse(message: str) -> web.Response:
        return render(request, "login.html", {"error": message, "username": username}, status=401)

    if await throttle.blocked(keys, now=now):
        await asyncio.to_thread(check_password, _DUMMY_HASH, password)  # as slow as a real try
        return refuse(THROTTLED)
    officer = await Officer.get_or_none(username=username, active=True) if username else None
    ok = await asyncio.to_thread(check_password, officer.password_hash if officer else _DUMMY_HASH, password)
    if officer is None or not ok:
        for rule, k in counted:
            await throttle.fail(rule, k, now=now)
        return refuse(WRONG)
    # The per-account key is left to lapse: a guesser elsewhere keeps waiting.
    await throttle.clear([k for rule, k in counted if rule is not throttle.ACCOUNT])
    await start_session(request, officer)
    resp = see_other("/console/password" if officer.must_change_password else home_of(officer))
    request.app[CODEC].set_device(resp, username)
    return resp


@page(public=True)
async def logout(request: web.Request) -> web.StreamResponse:
    await end_session(request)
    return see_other("/console/login")


@page(allow_password_change=True)
async def password_form(request: web.Request) -> web.StreamResponse:
    return render(request, "password.html", {"error": "", "min_length": passwords.MIN_LENGTH})


@page(allow_password_change=True)
async def change_password(request: web.Request) -> web.StreamResponse:
    """Change one's password; forced at the first login (demo and admin-issued passwords)."""
    officer: Officer = me(request)
    form = form_of(request)
    current, new, again = (str(form.get(k, "")) for k in ("current", "new", "again"))

    def refuse(message: str) -> web.Response:
        return render(request, "password.html", {"error": message, "min_length": passwords.MIN_LENGTH}, status=400)

    if not await asyncio.to_thread(check_password, officer.password_hash, current):
        return refuse("Mật khẩu hiện tại không đúng.")
    if new != again:
        return refuse("Hai lần nhập mật khẩu mới không khớp.")
    if new == current or new == DEMO_PASSWORD:
        return refuse("Vui lòng chọn mật khẩu khác mật khẩu cũ và mật khẩu mẫu.")
    if why := passwords.problem(new, username=officer.username, full_name=officer.full_name):
        return refuse(why)
    officer.password_hash = await asyncio.to_thread(hash_password, new)
    officer.must_change_password = False
    await officer.save(update_fields=["password_hash", "must_change_password"])
    # Every session of the officer ends (a stolen cookie too); this browser gets a fresh one.
    await console_sessions.revoke_all(officer.id, now=now_of(request))
    await start_session(request, officer)
    return see_other(home_of(officer) + "?msg=password")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/console/login", login_form),
        web.post("/console/login", login),
        web.post("/console/logout", logout),
        web.get("/console/password", password_form),
        web.post("/console/password", change_password),
    ]
