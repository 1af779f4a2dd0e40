"""Console sessions, the login throttle, the password policy and refusals, over HTTP.

Issue 9: a cookie replayed after logout opens nothing, a guesser cannot lock the officer out
nor learn which usernames exist, weak passwords are refused, forbidden pages answer 403.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from backend.db.models import ConsoleSession, HistoryEntry, Officer
from backend.domain.calendar import VN_TZ
from backend.domain.workflow import Role
from backend.services.clock import SetClock
from backend.services.errors import InvalidInput
from backend.services.officers import create_officer
from backend.settings import Settings
from backend.web.app import create_app
from tests.integration.test_console import CSRF, PASSWORD, Console, submit_birth

COOKIE, DEVICE_COOKIE = "motcua_console", "motcua_device"
ATTACKER = "203.0.113.66"
OFFICE = "198.51.100.20"
STRONG = "Mây-trắng-bay-qua-đồi-chè"


@pytest.fixture
def clock() -> SetClock:
    return SetClock(datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ))


@pytest.fixture
async def console(fresh_db_url: str, tmp_path: Path, clock: SetClock):  # noqa: ANN201
    settings = Settings(seed_demo=True, database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0,
                        trusted_proxies=("127.0.0.1",))  # fmt: skip
    async with TestClient(TestServer(create_app(settings, clock=clock))) as c:
        await Officer.all().update(must_change_password=False)
        yield Console(c)


def cookies(console: Console) -> dict[str, str]:
    return {m.key: m.value for m in console.client.session.cookie_jar}


def use(console: Console, jar: dict[str, str]) -> None:
    console.client.session.cookie_jar.clear()
    console.client.session.cookie_jar.update_cookies(jar)


async def attempt(console: Console, username: str, password: str, *, via: str, device: str = ""):  # noqa: ANN201
    """One login from a browser with no cookies but, maybe, a device cookie."""
    use(console, {DEVICE_COOKIE: device} if device else {})
    await console.get("/console/login")
    return await console.post("/console/login", {"username": username, "password": password},
                              headers={"X-Forwarded-For": via})  # fmt: skip


async def opens_console(console: Console, jar: dict[str, str]) -> bool:
    use(console, jar)
    resp, text = await console.get("/console")
    return resp.status == 200 and str(resp.url).endswith("/console") and "Việc của tôi" in text


# -- sessions ----------------------------------------------------------------------------
async def test_cookie_replayed_after_logout_opens_nothing(console: Console) -> None:
    await console.login("hoathanh.motcua")
    stolen = cookies(console)
    assert await opens_console(console, stolen)
    await console.get("/console")
    await console.post("/console/logout")
    assert not await opens_console(console, stolen)
    resp, text = await console.get("/console")
    assert str(resp.url).endswith("/console/login") and "Việc của tôi" not in text
    assert await ConsoleSession.filter(revoked_at__isnull=True).count() == 0


async def test_sessions_end_when_idle_or_old(console: Console, clock: SetClock) -> None:
    await console.login("hoathanh.motcua")
    jar = cookies(console)
    clock.advance(hours=1, minutes=50)
    assert await opens_console(console, jar)  # in use: the idle clock restarts
    clock.advance(hours=2, minutes=1)
    assert not await opens_console(console, jar)  # two hours untouched
    await console.login("hoathanh.motcua")
    jar = cookies(console)
    for _ in range(7):  # used every 1 h 45 min, still over at 12 h
        clock.advance(hours=1, minutes=45)
        alive = await opens_console(console, jar)
    assert not alive


async def test_password_change_and_admin_reset_end_other_sessions(console: Console) -> None:
    await console.login("hoathanh.motcua")
    other = cookies(console)  # a second browser (or a thief) logged in as the same officer
    await console.login("hoathanh.motcua")
    mine = cookies(console)
    await console.get("/console/password")
    resp, _ = await console.post("/console/password", {"current": PASSWORD, "new": STRONG, "again": STRONG})
    assert str(resp.url).endswith("/console?msg=password")
    fresh = cookies(console)
    assert fresh[COOKIE] != mine[COOKIE]
    assert not await opens_console(console, other) and not await opens_console(console, mine)
    assert await opens_console(console, fresh)  # this browser goes on with a fresh session
    # An admin reset and a deactivation end the officer's sessions too.
    await console.login("hoathanh.motcua", STRONG)
    victim = cookies(console)
    assert await opens_console(console, victim)
    target = await Officer.get(username="hoathanh.motcua")
    await console.login("admin")
    await console.get("/console/admin")
    resp, text = await console.post(f"/console/admin/officers/{target.id}/reset")
    temporary = re.search(r"hoathanh\.motcua: ([^<]+)</b>", text)
    assert resp.status == 200 and temporary and len(temporary.group(1)) >= 16
    assert not await opens_console(console, victim)
    await console.login("hoathanh.motcua", temporary.group(1))
    victim = cookies(console)
    assert await opens_console(console, victim)
    await console.login("admin")
    await console.get("/console/admin")
    await console.post(f"/console/admin/officers/{target.id}/deactivate")
    assert not await opens_console(console, victim)


async def test_login_rotates_the_session(console: Console) -> None:
    await console.get("/console/login")
    before = cookies(console)[COOKIE]
    planted_csrf = console.csrf
    await console.post("/console/login", {"username": "hoathanh.motcua", "password": PASSWORD})
    after = cookies(console)[COOKIE]
    assert after != before
    assert not await opens_console(console, {COOKIE: before})  # the pre-login cookie stays anonymous
    assert await opens_console(console, {COOKIE: after})
    _, page = await console.get("/console")
    assert CSRF.search(page).group(1) != planted_csrf  # type: ignore[union-attr]
    # A second login gets yet another id; the first one ends.
    await console.post("/console/login", {"username": "hoathanh.motcua", "password": PASSWORD})
    assert not await opens_console(console, {COOKIE: after})


# -- the login throttle -----------------------------------------------------------------
async def test_a_guesser_cannot_lock_the_officer_out(console: Console, clock: SetClock) -> None:
    from backend.services import throttle  # imported here: the test must run (and fail) without it

    # The officer's own browser logged in before: it carries a device cookie.
    resp, _ = await attempt(console, "hoathanh.motcua", PASSWORD, via=OFFICE)
    assert str(resp.url).endswith("/console")
    device = cookies(console)[DEVICE_COOKIE]
    await console.post("/console/logout")
    # One address guesses 6 times at each of 90 usernames (88 counted straight into the
    # throttle, to spare 528 argon2 runs; the officer's and an unknown one over HTTP).
    now = clock.now()
    for i in range(88):
        for _ in range(6):
            for rule, k in ((throttle.PAIR, throttle.key(throttle.PAIR, f"user{i}", ATTACKER)),
                            (throttle.ACCOUNT, throttle.key(throttle.ACCOUNT, f"user{i}"))):  # fmt: skip
                await throttle.fail(rule, k, now=now)
    answers = {}
    for name in ("hoathanh.motcua", "khong.co.ai"):
        for _ in range(5):
            resp, text = await attempt(console, name, "doan-mo-123", via=ATTACKER)
            assert resp.status == 401 and "không đúng" in text and "ít phút" not in text
        resp, text = await attempt(console, name, PASSWORD, via=ATTACKER)
        assert resp.status == 401 and "thử lại sau ít phút" in text  # even the right password waits
        answers[name] = CSRF.sub("", text).replace(name, "NAME")
    assert answers["hoathanh.motcua"] == answers["khong.co.ai"]  # nothing tells which exists
    # More addresses (a botnet) make the account itself wait for unknown browsers …
    for k in range(2):
        for _ in range(5):
            await attempt(console, "hoathanh.motcua", "doan-mo-456", via=f"203.0.113.{100 + k}")
    resp, text = await attempt(console, "hoathanh.motcua", PASSWORD, via=OFFICE)
    assert resp.status == 401 and "ít phút" in text
    # … but the officer's own browser, from the office, still gets in,
    resp, _ = await attempt(console, "hoathanh.motcua", PASSWORD, via=OFFICE, device=device)
    assert str(resp.url).endswith("/console") and await opens_console(console, cookies(console))
    # and so does a fresh browser once the short backoff has passed: no 15-minute lockout.
    clock.advance(seconds=31)
    resp, _ = await attempt(console, "hoathanh.motcua", PASSWORD, via="198.51.100.77")
    assert str(resp.url).endswith("/console")
    assert await Officer.filter(locked_until__isnull=False).count() == 0


async def test_the_device_cookie_has_its_own_count(console: Console) -> None:
    resp, _ = await attempt(console, "hoathanh.motcua", PASSWORD, via=OFFICE)
    device = cookies(console)[DEVICE_COOKIE]
    for _ in range(5):
        resp, text = await attempt(console, "hoathanh.motcua", "sai-mat-khau", via=OFFICE, device=device)
        assert resp.status == 401
    resp, text = await attempt(console, "hoathanh.motcua", PASSWORD, via=OFFICE, device=device)
    assert resp.status == 401 and "ít phút" in text  # a stolen device cookie is no free pass
    # A device cookie for another username does not help that username.
    resp, _ = await attempt(console, "hoathanh.truongphong", PASSWORD, via=OFFICE, device=device)
    assert str(resp.url).endswith("/console")


# -- the password policy -----------------------------------------------------------------
@pytest.mark.parametrize("weak", ["aaaaaaaaaa", "motcua2026!", "password1234", "hoathanh.motcua1",
                                  "aaaaaaaaaaaa", "motcua2026!!", "nguyenvanan1990", "qwertyuiop12"])  # fmt: skip
def test_weak_passwords_are_refused(weak: str) -> None:
    from backend.services import passwords  # imported here: the test must run (and fail) without it

    why = passwords.problem(weak, username="hoathanh.motcua", full_name="Nguyễn Văn An")
    assert why and ("ký tự" in why or "dễ đoán" in why or "phổ biến" in why or "tên đăng nhập" in why)


def test_strong_passwords_are_accepted() -> None:
    from backend.services import passwords  # imported here: the test must run (and fail) without it

    for good in (STRONG, "correct horse battery staple", passwords.temporary(), passwords.temporary()):
        assert passwords.problem(good, username="hoathanh.motcua", full_name="Nguyễn Văn An") is None


async def test_policy_on_own_change_and_account_creation(console: Console) -> None:
    await console.login("hoathanh.motcua")
    await console.get("/console/password")
    refusals = (("aaaaaaaaaa", "ít nhất 12"), ("password1234", "phổ biến"), ("hoathanh.motcua1", "tên đăng nhập"))
    for weak, why in refusals:
        resp, text = await console.post("/console/password", {"current": PASSWORD, "new": weak, "again": weak})
        assert resp.status == 400 and why in text, weak
    assert not await ConsoleSession.filter(revoked_at__isnull=False).exists()  # nothing changed
    for weak in ("password", "password1234"):
        with pytest.raises(InvalidInput):
            await create_officer(username="x.y", full_name="X Y", role=Role.CLERK, password=weak, agency_id=None)


# -- refusals and bad bytes -----------------------------------------------------------------
async def test_forbidden_pages_answer_403(console: Console) -> None:
    target = await Officer.get(username="hoathanh.chuyenvien")
    admin_paths = []
    for resource in console.client.app.router.resources():  # type: ignore[union-attr]
        info = resource.get_info()
        path = info.get("path") or info.get("formatter", "")
        if path.startswith("/console/admin"):
            admin_paths.append(path.replace("{id}", str(target.id)).replace("{op}", "reset"))
    assert "/console/admin" in admin_paths and len(admin_paths) >= 5
    # A one-stop officer (even one who has not yet changed the first password) gets a refusal.
    for must_change in (False, True):
        await Officer.filter(username="hoathanh.motcua").update(must_change_password=must_change)
        await console.login("hoathanh.motcua", ready=False)
        await console.get("/console/password")
        for path in admin_paths:
            for method in ("GET", "POST"):
                resp, text = await (console.get(path) if method == "GET" else console.post(path))
                if resp.status == 405:
                    continue
                assert resp.status == 403 and not resp.history and "không có quyền" in text, (method, path)
    assert (await Officer.get(id=target.id)).must_change_password is False  # no reset happened
    # A specialist's stamp (the clerk's step) is refused too; not logged in is a redirect.
    d = await submit_birth(console.ctx)
    await console.login("hoathanh.chuyenvien")
    resp, _ = await console.act(d.id, "stamp")
    assert resp.status == 403
    console.client.session.cookie_jar.clear()
    resp = await console.client.get("/console/admin", allow_redirects=False)
    assert resp.status in (302, 303) and resp.headers["Location"] == "/console/login"


async def test_nul_and_control_characters_in_forms_are_cleaned(console: Console) -> None:
    resp, text = await attempt(console, "hoathanh\x00.motcua", "x\x00y", via=OFFICE)
    assert resp.status == 401 and "không đúng" in text
    d = await submit_birth(console.ctx)
    await console.login("hoathanh.motcua")
    resp, text = await console.act(d.id, "reject", {"text": "Thiếu\x00 bản\x1b chính\u202e.\nXin bổ sung."})
    assert resp.status == 200, text
    notes = [h.note for h in await HistoryEntry.filter(dossier_id=d.id)]  # type: ignore[attr-defined]
    assert any("Thiếu bản chính.\nXin bổ sung." in (n or "") for n in notes), notes
