"""HTTP hardening over every route: security headers, junk in paths, queries and forms, bad
bytes typed in a chat, names and addresses validated as what they are.

The routes and the parameter names are found, not listed: ``app.router.routes()`` after
start-up (the channels add theirs then) and a scan of the source for ``query.get("…")`` and
``form.get("…")``, so a new route or parameter is covered without editing this file.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from backend.db.models import Officer
from backend.domain.calendar import VN_TZ
from backend.services.clock import SetClock
from backend.services.seed import seed_demo
from backend.settings import Settings
from backend.web.app import RUNTIME, create_app

PASSWORD = "hardening-test-pass"
ROOT = Path(__file__).resolve().parents[2]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
HTML_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")
ROLES = ("admin", "hoathanh.motcua", "hoathanh.chuyenvien")
# Values of path parameters that are fine as far as the route's pattern goes.
VALID = {"id": "1", "kind": "tong-hop", "action": "accept", "form": "to-khai", "op": "activate", "file_id": "1"}
JUNK_PATH = ("99999999999999999999999", "2147483648", "-1", "0", "%C3%B1%E2%80%AE", "%00", "..%2f..%2fetc", "9" * 5000)
JUNK_VALUE = ("99999999999999999999999", "-1", "\x00", "2026-13-45", "ñ\u202e<script>", "x" * 300, "1e9999")
SKIP_FUZZ_POST = {"/console/logout"}  # would end the session the fuzzing rides on (tested alone)


def _param_names() -> set[str]:
    """Every query and form parameter name the web code reads."""
    pattern = re.compile(
        r"""(?:(?:query|form|post\(\))\s*(?:\.get\(|\.getall\(|\[)|query_\w+\(\s*request\s*,|_text\(\s*form\s*,)"""
        r"""\s*["']([A-Za-z_][\w-]*)["']"""
    )
    names: set[str] = set()
    for base in (ROOT / "backend", ROOT / "bot" / "channels"):
        for path in base.rglob("*.py"):
            names.update(pattern.findall(path.read_text(encoding="utf-8")))
    return names - {"csrf"}


def _fill(canonical: str, junk: dict[str, str] | None = None) -> str:
    """A route's canonical path with each ``{name}`` replaced (valid-looking unless junk given)."""

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        return (junk or {}).get(name, VALID.get(name, "1"))

    return re.sub(r"\{(\w+)(?::[^}]*)?\}", value, canonical)


def _routes(client: TestClient) -> list[tuple[str, str, list[str]]]:
    """(method, canonical path, path parameter names) of every route but HEAD."""
    out = []
    for route in client.app.router.routes():  # type: ignore[union-attr]
        if route.method == "HEAD" or route.resource is None:
            continue
        if hasattr(getattr(route.handler, "__self__", None), "poll_timeout"):
            route.handler.__self__.poll_timeout = 0.05  # the web chat's long poll: answer at once
        canonical = route.resource.canonical
        if "directory" in route.resource.get_info():
            canonical += "/app.js" if "chat" in canonical else "/console.css"
        out.append((route.method, canonical, re.findall(r"\{(\w+)", canonical)))
    return sorted(set((m, c, tuple(p)) for m, c, p in out))  # type: ignore[misc]


class Browser:
    """One browser: its own cookie jar, and the CSRF token the last page gave."""

    def __init__(self, client: TestClient) -> None:
        self.base, self.csrf = client.make_url(""), ""
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def request(self, method: str, path: str, **kw):  # noqa: ANN003, ANN201
        url = self.base.join(URL(path, encoded=True)) if "%" in path else self.base.join(URL(path))
        resp = await self.session.request(method, url, allow_redirects=False, **kw)
        body = await resp.read()
        if m := CSRF.search(body.decode("utf-8", "replace")):
            self.csrf = m.group(1)
        return resp

    async def login(self, username: str) -> None:
        await Officer.filter(username=username).update(must_change_password=False)
        await self.request("GET", "/console/login")
        resp = await self.request(
            "POST", "/console/login", data={"username": username, "password": PASSWORD, "csrf": self.csrf}
        )
        assert resp.status == 303, f"login of {username} failed: {resp.status}"
        await self.request("GET", "/console")  # a page with the logged-in session's token


def _settings(url: str, tmp_path: Path, **kw) -> Settings:  # noqa: ANN003
    return Settings(database_url=url, data_dir=tmp_path / "var", ocr_workers=0, exchange_token="s3cret", **kw)


@pytest.fixture
def clock() -> SetClock:
    return SetClock(datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ))


@contextlib.asynccontextmanager
async def _browsers(client: TestClient, *who: str | None) -> AsyncIterator[dict[str | None, Browser]]:
    """A logged-in browser per username (None: anonymous), all logged in before any fuzzing."""
    browsers = {w: Browser(client) for w in who}
    try:
        for w, b in browsers.items():
            if w:
                await b.login(w)
            else:
                await b.request("GET", "/console/login")
        yield browsers
    finally:
        for b in browsers.values():
            await b.session.close()


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8080", "https://motcua.example.vn"])
async def test_security_headers_on_every_route(
    fresh_db_url: str, tmp_path: Path, clock: SetClock, base_url: str
) -> None:
    app = create_app(_settings(fresh_db_url, tmp_path, public_url=base_url), clock=clock)
    async with TestClient(TestServer(app)) as client:
        await seed_demo(password=PASSWORD)
        routes = _routes(client)
        assert len(routes) >= 20 and any(c == "/chat" for _, c, _ in routes)
        seen_html = 0
        https = base_url.startswith("https://")
        who_all = (None,) if https else (None, *ROLES)  # secure cookies do not travel over plain http
        async with _browsers(client, *who_all) as browsers:
            for who, b in browsers.items():
                for method, canonical, _ in routes:
                    data = {"csrf": b.csrf} if method == "POST" else None
                    resp = await b.request(method, _fill(canonical), data=data)
                    where = f"{method} {canonical} as {who}: {resp.status}"
                    assert resp.headers.get("X-Content-Type-Options") == "nosniff", where
                    if resp.content_type == "text/html":
                        seen_html += 1
                        for h in HTML_HEADERS:
                            assert h in resp.headers, f"{h} missing on {where}"
                        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"], where
                        assert "script-src 'self'" in resp.headers["Content-Security-Policy"], where
                        assert resp.headers["X-Frame-Options"] == "DENY", where
                    assert ("Strict-Transport-Security" in resp.headers) == https, where
        assert seen_html > (5 if https else 20)


async def test_junk_in_every_path_query_and_form_is_never_5xx(
    fresh_db_url: str, tmp_path: Path, clock: SetClock
) -> None:
    names = _param_names()
    assert {"ma", "since", "tu", "co_quan", "version", "username"} <= names, names
    app = create_app(_settings(fresh_db_url, tmp_path), clock=clock)
    failures: list[str] = []
    async with TestClient(TestServer(app)) as client:
        await seed_demo(password=PASSWORD)
        routes = _routes(client)
        async with _browsers(client, None, "admin", "hoathanh.motcua") as browsers:
            for who, b in browsers.items():
                headers = {"Authorization": "Bearer s3cret"}
                for method, canonical, params in routes:
                    if method == "POST" and canonical in SKIP_FUZZ_POST and who:
                        continue
                    requests: list[tuple[str, dict[str, str]]] = []
                    for p in params:
                        requests += [(_fill(canonical, {p: j}), {}) for j in JUNK_PATH]
                    for j in JUNK_VALUE:
                        requests.append((_fill(canonical), dict.fromkeys(names, j)))
                    if who == "admin" and method == "GET":  # one name at a time: no early refusal hides another
                        requests += [(_fill(canonical), {n: j}) for n in sorted(names) for j in JUNK_VALUE[:4]]
                    for path, values in requests:
                        if method == "POST":
                            resp = await b.request("POST", path, data={**values, "csrf": b.csrf}, headers=headers)
                        else:
                            resp = await b.request(method, path, params=values, headers=headers)
                        if resp.status >= 500:
                            failures.append(f"{resp.status} {method} {path[:120]} {sorted(values)[:3]} as {who}")
    assert not failures, "\n".join(failures[:40])


# -- bad bytes and validation in the chat ----------------------------------------------------
def _junk_names() -> list[str]:
    """Junk made here, from pieces no validator list holds: markup, controls, emoji, digits."""
    tags = [f"<{t}>" for t in ("script", "b", "img src=x onerror=alert(1)", "/div", "svg")]
    controls = [chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 127, 0x85, 0x202E, 0x2066)]
    emoji = [chr(c) for c in range(0x1F600, 0x1F650, 7)]
    junk = [f"Nguyễn {t}An" for t in tags] + [f"{t}alert(1)</script>" for t in tags]
    junk += [f"Lê{c}Văn{c}Tám" for c in controls[::3]]  # cleaned by the engine, refused by the check
    junk += ["".join(emoji[i : i + 3]) for i in range(0, len(emoji), 3)] + [f"{e} {e}" for e in emoji]
    junk += [str(n) for n in (0, 7, 12345, 2026)] + ["Nguyễn Văn 2", "Trần 3 Bích", "A", "ễ", ".", "- '", "  "]
    junk += ["Nguyễn " * 50, "a" * 300, "x@y.vn", "Tâm; DROP TABLE", "Lan & Hoa", "Bình {{7*7}}", "An\u202eBình"]
    return junk


REAL_NAMES = [
    "Nguyễn Thị Ánh Tuyết",
    "Lê Văn Tám",
    "Châu Sóc Khêm",
    "Néang Sóc Phal",
    "Mary-Jane O'Neil",
    "សុខ ចាន់",
    "Thạch Thị Sa Rên",
    "José Ñúñez",
    "Đặng Thu Hà",
    "Ông Ích Khiêm",
    "K'Bông",
]


def test_names_addresses_and_ids_are_checked_as_what_they_are() -> None:
    from backend.domain import validation

    refused = 0
    for raw in _junk_names():
        with pytest.raises(validation.InvalidValue):
            validation.person_name(raw)  # the check alone, without the engine's cleaning
        refused += 1
    assert refused >= 50
    for name in REAL_NAMES:
        assert validation.person_name(f"  {name}  ") == name
    assert validation.person_name("Lê   Văn\tTám") == "Lê Văn Tám"
    for junk in ("<b>Ấp 1</b>", "12345", "😀 😀", "a" * 256, "Ấp {x}"):
        with pytest.raises(validation.InvalidValue):
            validation.address(junk)
    for place in ("Ấp Long Bình, phường Hòa Thành, tỉnh Tây Ninh", "Số 12/3 đường 30/4 (tổ 5), P.1", "Bệnh viện Từ Dũ"):
        assert validation.address(place) == place
    assert validation.id_number("072 090.001-234") == "072090001234"
    for bad in ("07209000123", "٠٧٢٠٩٠٠٠١٢٣٤", "07209000123x"):
        with pytest.raises(validation.InvalidValue):
            validation.id_number(bad)


async def _at_name_question(ctx):  # noqa: ANN001, ANN202
    from tests.integration.test_engine import User, _to_fields, new_engine

    await seed_demo(password=PASSWORD)
    engine, channel = new_engine(ctx)
    user = User(engine, channel)
    await _to_fields(user)
    return user


async def test_nul_and_controls_at_a_question_get_a_normal_reply(db: str, ctx) -> None:  # noqa: ANN001
    from backend.db.models import ChannelIdentity, ConversationState
    from backend.domain.messages import Inbound, Text
    from bot import texts

    user = await _at_name_question(ctx)
    n = len(user.channel.sent)
    await user.engine.handle(
        Inbound("mem", user.user_id, "nul-1", text="Nguyễn\x00 Văn\x1b An\u202e", display_name="An\x00\x07 <b>")
    )
    replies = [m for _, m in user.channel.sent[n:]]
    assert replies and all(isinstance(m, Text) for m in replies)
    assert texts.BUSY not in "".join(m.text for m in replies)
    state = await ConversationState.get(channel="mem", user_id=user.user_id)
    assert state.data["form"]["declarant_name"] == "Nguyễn Văn An"
    ident = await ChannelIdentity.get(channel="mem", external_id=user.user_id)
    assert "\x00" not in (ident.display_name or "") and "\x07" not in (ident.display_name or "")


async def test_junk_names_are_refused_with_the_reason_and_real_ones_accepted(db: str, ctx) -> None:  # noqa: ANN001
    from backend.db.models import ConversationState
    from bot import texts
    from tests.integration.test_engine import body

    user = await _at_name_question(ctx)
    for raw, reason in (
        ("<script>alert(1)</script>", "symbols"),
        ("😀😀😀", "symbols"),
        ("Nguyễn Văn 2", "digits"),
        ("A", "too_short"),
        ("a" * 300, "too_long"),
    ):
        assert texts.BAD_NAME[reason] in body(await user.send(raw)), raw
    state = await ConversationState.get(channel="mem", user_id=user.user_id)
    assert "declarant_name" not in state.data["form"]
    await user.send("Châu Sóc Khêm")
    state = await ConversationState.get(channel="mem", user_id=user.user_id)
    assert state.data["form"]["declarant_name"] == "Châu Sóc Khêm"


# -- malformed webhook bodies (with the right secret or signature) --------------------------
TELEGRAM_JUNK: list[bytes] = [
    b"not json at all",
    b"\xff\xfe\x00 binary",
    b"[1, 2, 3]",
    b'"just a string"',
    b"null",
    b"{}",
    b'{"update_id": "abc"}',
    b'{"update_id": 5, "message": "hello"}',
    b'{"update_id": 6, "message": {"message_id": "x", "chat": 5, "date": "yesterday", "text": 7}}',
    b'{"update_id": 7, "message": {"message_id": 1, "date": 1764000000, "chat": {"id": 1, "type": "private"},'
    b' "from": {"id": 1, "is_bot": false, "first_name": "A"}, "text": ["a", "b"]}}',
    b'{"update_id": 8, "callback_query": {"id": 3, "data": {"x": 1}}}',
    b'{"update_id": 9, "edited_message": []}',
    b'{"update_id": 10}',
    b'{"update_id": 11, "message": {"message_id": 1, "date": 1764000000, "chat": {"id": "x", "type": "private"},'
    b' "text": "\\u0000<script>"}}',
    b"{" + b'"a": "' + b"x" * 2_000_000 + b'"}',
]


async def test_malformed_telegram_webhook_bodies_are_never_5xx(
    fresh_db_url: str, tmp_path: Path, clock: SetClock
) -> None:
    from backend.settings import TelegramSettings
    from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH
    from tests.fakes.telegram_bot_api import FakeBotApi

    async with FakeBotApi() as api:
        tg = TelegramSettings(
            token=api.token,
            api_base_url=f"{api.url}/bot",
            file_base_url=f"{api.url}/file/bot",
            mode="webhook",
            webhook_secret="s3cret-hook",
        )
        app = create_app(_settings(fresh_db_url, tmp_path, public_url="http://127.0.0.1:9", telegram=tg), clock=clock)
        app[RUNTIME].extras["telegram_options"] = {"per_chat_rate": 0}
        async with TestClient(TestServer(app)) as client:
            statuses = []
            for raw in TELEGRAM_JUNK:
                resp = await client.post(
                    WEBHOOK_PATH,
                    data=io.BytesIO(raw),
                    headers={SECRET_HEADER: "s3cret-hook", "Content-Type": "application/json"},
                )
                statuses.append(resp.status)
            assert all(s in (200, 400, 413) for s in statuses), list(
                zip(statuses, [r[:60] for r in TELEGRAM_JUNK], strict=True)
            )
            resp = await client.post(WEBHOOK_PATH, data=b"{}", headers={SECRET_HEADER: "wrong"})
            assert resp.status == 403


async def test_malformed_zalo_webhook_bodies_are_never_5xx(fresh_db_url: str, tmp_path: Path) -> None:
    import json
    import time

    from backend.settings import ZaloSettings
    from bot.channels.zalo import WEBHOOK_PATH
    from tests.fakes.zalo_oa_api import FakeZaloOa

    async with FakeZaloOa() as oa:
        access, refresh = oa.pair
        zs = ZaloSettings(
            app_id=oa.app_id,
            app_secret=oa.app_secret,
            oa_secret_key=oa.oa_secret_key,
            refresh_token=refresh,
            access_token=access,
            api_base=oa.url,
            oauth_base=oa.url,
        )
        app = create_app(_settings(fresh_db_url, tmp_path, zalo=zs))
        good = oa.webhook_body(
            "user_send_text", "1357924680135792468", "xin chào", None, "m1", timestamp=int(time.time() * 1000)
        )
        variants = [
            {"sender": "1357"},
            {"sender": ["x"]},
            {"message": "text"},
            {"message": ["a"]},
            {"message": {"text": 5, "msg_id": "m2"}},
            {"message": {"text": "a", "attachments": "x"}},
            {"message": {"text": "a", "attachments": [5, None, {"type": 3, "payload": "p"}]}},
            {"recipient": 7},
            {"event_name": ["user_send_text"]},
            {"follower": "x", "event_name": "follow"},
            {"message": {"text": "\x00\x1b<b>", "msg_id": "m3"}},
            {"oa_id": {"a": 1}},
        ]
        async with TestClient(TestServer(app)) as client:
            statuses = []
            for change in variants:
                raw = json.dumps({**good, **change}).encode()
                headers = {"Content-Type": "application/json", "X-ZEvent-Signature": oa.sign(raw, None)}
                resp = await client.post(WEBHOOK_PATH, data=raw, headers=headers)
                statuses.append(resp.status)
            assert all(s in (200, 400) for s in statuses), list(zip(statuses, variants, strict=True))


async def test_ocr_readings_that_fail_the_check_are_asked_not_filed(db: str, ctx) -> None:  # noqa: ANN001
    from backend.db.models import ConversationState
    from tests.integration.test_engine import FakeOcr, User, jpeg, new_engine

    await seed_demo(password=PASSWORD)
    card = jpeg(21)
    fields = {"full_name": "<b>NGUYEN</b> 1", "id_number": "0720-9000", "place_of_residence": "Ấp Long Bình"}
    ocr = FakeOcr(
        {card: {"doc_type": "id_card", "qr": None, "fields": fields, "confidence": dict.fromkeys(fields, 0.99)}}, {}
    )
    engine, channel = new_engine(ctx, ocr)
    user = User(engine, channel)
    await user.send(button="menu:submit")
    await user.send(button="proc:birth_registration")
    await user.send(photo=jpeg(22))
    await user.send(button="doc:next")
    await user.send(photo=card)
    await user.send(button="doc:next")
    await user.send(button="doc:skip")
    state = await ConversationState.get(channel="mem", user_id=user.user_id)
    form = state.data["form"]
    assert "declarant_name" not in form and "declarant_id_number" not in form
    assert form["declarant_residence"] == "Ấp Long Bình"
    assert state.data["asking"] == "declarant_name"


async def test_an_unexpected_error_is_a_plain_logged_500(
    fresh_db_url: str, tmp_path: Path, clock: SetClock, caplog: pytest.LogCaptureFixture
) -> None:
    from aiohttp import web

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail in a traceback")

    app = create_app(_settings(fresh_db_url, tmp_path), clock=clock)
    app.router.add_get("/boom-for-test", boom)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/boom-for-test")
        text = await resp.text()
    assert resp.status == 500 and "secret detail" not in text and "Traceback" not in text
    assert resp.headers["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" in resp.headers
    assert any("secret detail" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
