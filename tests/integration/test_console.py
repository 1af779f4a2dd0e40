"""The officers' console over HTTP: create_app on an empty database, aiohttp's TestClient.

Boundaries first: another agency's dossier is invisible, a specialist cannot sign, CSRF,
lockout, the forced password change, the public lookup's masking and rate limit, the
exchange API's token. Then the whole walk through the console, and the printed forms.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pypdf import PdfReader

from backend.db.models import ChannelIdentity, Dossier, HistoryEntry, Officer, OutboxMessage
from backend.domain.calendar import VN_TZ
from backend.domain.workflow import Status
from backend.services import citizens
from backend.services import dossiers as uc
from backend.services.clock import SetClock
from backend.services.context import ServiceContext
from backend.services.officers import actor_of
from backend.settings import Settings
from backend.web.app import RUNTIME, create_app
from tests.integration.conftest import BIRTH_FORM

PASSWORD = "motcua-demo"  # the demo seed's password
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Console:
    """One browser-like client of the console: a cookie jar and the CSRF token it was given."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    @property
    def ctx(self) -> ServiceContext:
        return self.client.app[RUNTIME].ctx  # type: ignore[index]

    async def get(self, path: str, **kw):  # noqa: ANN003, ANN201
        resp = await self.client.get(path, **kw)
        text = await resp.text() if resp.content_type.startswith("text/") else ""
        if m := CSRF.search(text):
            self.csrf = m.group(1)
        return resp, text

    async def post(  # noqa: ANN201
        self, path: str, data: dict | list | None = None, *, csrf: bool = True, headers: dict | None = None
    ):
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            fields.append(("csrf", self.csrf))
        resp = await self.client.post(path, data=fields, headers=headers)
        text = await resp.text() if resp.content_type.startswith("text/") else ""
        if m := CSRF.search(text):
            self.csrf = m.group(1)
        return resp, text

    async def login(self, username: str, password: str = PASSWORD, *, ready: bool = True):  # noqa: ANN201
        """Log in; ``ready`` skips the first-login password change (tested on its own)."""
        if ready:
            await Officer.filter(username=username).update(must_change_password=False)
        self.client.session.cookie_jar.clear()
        await self.get("/console/login")
        return await self.post("/console/login", {"username": username, "password": password})

    async def act(self, dossier_id: int, action: str, data: dict | list | None = None):  # noqa: ANN201
        """Open the dossier page (for its version and token) and post the action's form."""
        _, page = await self.get(f"/console/dossiers/{dossier_id}")
        version = re.search(r'name="version" value="(\d+)"', page)
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        fields.append(("version", version.group(1) if version else "0"))
        return await self.post(f"/console/dossiers/{dossier_id}/act/{action}", fields)


@pytest.fixture
def clock() -> SetClock:
    return SetClock(datetime(2026, 11, 23, 8, 0, tzinfo=VN_TZ))  # Monday 08:00 in Tây Ninh


@pytest.fixture
async def client(fresh_db_url: str, tmp_path: Path, clock: SetClock):  # noqa: ANN201
    settings = Settings(
        seed_demo=True, database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0,
        exchange_token="s3cret-token",
    )
    async with TestClient(TestServer(create_app(settings, clock=clock))) as c:
        yield c


@pytest.fixture
def console(client: TestClient) -> Console:
    return Console(client)


async def submit_birth(ctx: ServiceContext, *, commune_code: str = "000.31.57.H57", user: str = "5550001") -> Dossier:
    """A citizen's submission through the service layer, with two OCR-read photos."""
    from backend.db.models import Agency

    ident = await citizens.identify(ctx, "telegram", user, "An Nguyễn")
    ids = []
    for comp, ocr in (
        (
            "birth_certificate",
            {
                "doc_type": "birth_certificate",
                "fields": {"mother_name": "Trần Thị Bích"},
                "confidence": {"mother_name": 0.93},
            },
        ),
        (
            "declarant_id",
            {
                "doc_type": "id_card",
                "fields": {"id_number": "072090001234", "full_name": "Nguyễn Văn An"},
                "confidence": {"id_number": 0.99, "full_name": 0.62},
            },
        ),
    ):
        att = await citizens.store_attachment(
            ctx,
            citizen_id=ident.citizen_id,
            data=f"jpeg {comp} {user}".encode(),
            mime_type="image/jpeg",  # type: ignore[attr-defined]
            component=comp,
            ocr=ocr,
        )
        ids.append(att.id)
    agency = await Agency.get(code=commune_code)
    return await uc.submit(
        ctx,
        identity_id=ident.id,
        procedure_slug="birth_registration",
        agency_id=agency.id,
        form_data=dict(BIRTH_FORM),
        attachment_ids=ids,
    )


async def status_of(d: Dossier) -> Status:
    return Status((await Dossier.get(id=d.id)).status)


# -- boundaries -----------------------------------------------------------------------
async def test_another_agency_cannot_see_or_act(console: Console) -> None:
    d = await submit_birth(console.ctx)
    att = await d.attachments.all().first()  # type: ignore[attr-defined]
    await console.login("tinh.motcua")  # the provincial centre's one-stop officer
    for path in (
        f"/console/dossiers/{d.id}",
        f"/console/files/{att.id}",
        f"/console/dossiers/{d.id}/forms/process_control",
    ):
        resp, text = await console.get(path)
        assert resp.status == 404, path
        assert "Nguyễn Văn An" not in text and d.code not in text
    resp, _ = await console.post(f"/console/dossiers/{d.id}/act/accept", {"version": "1"})
    assert resp.status == 404
    resp, text = await console.get("/console", params={"q": d.code})
    assert f'/console/dossiers/{d.id}"' not in text and "Không tìm thấy hồ sơ nào" in text  # nor in the search
    assert await status_of(d) is Status.SUBMITTED
    # … while the commune's own officer sees it, its photo, and its OCR with confidence.
    await console.login("hoathanh.motcua")
    resp, text = await console.get(f"/console/dossiers/{d.id}")
    assert resp.status == 200 and "Nguyễn Văn An" in text and "072090001234" in text
    assert "62%" in text and "Giấy chứng sinh" in text and "Họ tên mẹ" in text
    resp, _ = await console.get(f"/console/files/{att.id}")
    assert resp.status == 200 and resp.content_type == "image/jpeg"


async def test_specialist_cannot_sign(console: Console) -> None:
    ctx = console.ctx
    d = await submit_birth(ctx)
    officers = {o.username: o for o in await Officer.all()}
    a = lambda name: actor_of(officers[f"hoathanh.{name}"])  # noqa: E731
    await uc.accept(ctx, a("motcua"), d.id)
    await uc.assign(ctx, a("truongphong"), d.id, officers["hoathanh.chuyenvien"].id)
    await uc.draft_result(ctx, a("chuyenvien"), d.id)
    await uc.approve(ctx, a("truongphong"), d.id)
    assert await status_of(d) is Status.AWAITING_SIGNATURE
    await console.login("hoathanh.chuyenvien")
    resp, page = await console.get(f"/console/dossiers/{d.id}")
    assert resp.status == 200 and "/act/sign" not in page
    resp, text = await console.act(d.id, "sign")
    assert resp.status == 403 and "không được «Ký duyệt»" in text
    assert await status_of(d) is Status.AWAITING_SIGNATURE
    await console.login("hoathanh.lanhdao")
    resp, text = await console.act(d.id, "sign")
    assert resp.status == 200 and "Đã thực hiện: Ký duyệt" in text
    assert await status_of(d) is Status.SIGNED


async def test_csrf_is_refused(console: Console) -> None:
    d = await submit_birth(console.ctx)
    await console.login("hoathanh.motcua")
    resp, text = await console.post(f"/console/dossiers/{d.id}/act/accept", {"version": "1"}, csrf=False)
    assert resp.status == 403 and "không hợp lệ" in text
    resp = await console.client.post(f"/console/dossiers/{d.id}/act/accept", data={"version": "1", "csrf": "forged"})
    assert resp.status == 403
    # A token from another session is worth nothing in this one.
    other = Console(console.client)
    stolen = console.csrf
    await other.login("hoathanh.motcua")
    assert other.csrf != stolen
    resp = await console.client.post(f"/console/dossiers/{d.id}/act/accept", data={"version": "1", "csrf": stolen})
    assert resp.status == 403
    assert await status_of(d) is Status.SUBMITTED
    # Logging in needs the token too (login CSRF).
    console.client.session.cookie_jar.clear()
    resp, _ = await console.post("/console/login", {"username": "hoathanh.motcua", "password": PASSWORD}, csrf=False)
    assert resp.status == 403
    # The cookie is HttpOnly and SameSite=Lax.
    console.client.session.cookie_jar.clear()
    resp = await console.client.get("/console/login")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_failures_slow_down_then_let_the_officer_in(console: Console, clock: SetClock) -> None:
    await Officer.filter(username="hoathanh.motcua").update(must_change_password=False)
    for _i in range(5):
        resp, text = await console.login("hoathanh.motcua", "wrong-password", ready=False)
        assert resp.status == 401 and "không đúng" in text
    resp, text = await console.login("hoathanh.motcua", PASSWORD, ready=False)
    assert resp.status == 401 and "thử lại sau ít phút" in text  # the right password waits too
    resp, _ = await console.get("/console")
    assert str(resp.url).endswith("/console/login")
    clock.advance(seconds=31)  # the first wait is 30 s, not a 15-minute lock
    resp, text = await console.login("hoathanh.motcua", PASSWORD, ready=False)
    assert resp.status == 200 and str(resp.url).endswith("/console") and "Việc của tôi" in text


async def test_forced_password_change(console: Console, client: TestClient) -> None:
    resp, text = await console.login("hoathanh.motcua", ready=False)
    assert str(resp.url).endswith("/console/password") and "lần đăng nhập đầu tiên" in text
    resp, _ = await console.get("/console")
    assert str(resp.url).endswith("/console/password")  # nothing else until it is changed
    early = Console(client)  # a second session, opened before the change
    early_cookies = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    for bad, why in (("ngắn", "ít nhất 12"), (PASSWORD, "khác mật khẩu"), ("password1234", "quá phổ biến")):
        resp, text = await console.post("/console/password", {"current": PASSWORD, "new": bad, "again": bad})
        assert resp.status == 400 and why in text
    new = "Hoa-Thanh-2026!"
    resp, text = await console.post("/console/password", {"current": PASSWORD, "new": new, "again": new})
    assert str(resp.url).endswith("/console?msg=password") and "Đã đổi mật khẩu" in text
    assert not (await Officer.get(username="hoathanh.motcua")).must_change_password
    # The session from before the change has ended.
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies(early_cookies)
    resp, _ = await early.get("/console")
    assert str(resp.url).endswith("/console/login")
    resp, _ = await console.login("hoathanh.motcua", PASSWORD, ready=False)
    assert resp.status == 401
    resp, _ = await console.login("hoathanh.motcua", new, ready=False)
    assert str(resp.url).endswith("/console")
    # Logging out ends the session.
    resp, _ = await console.post("/console/logout")
    resp, _ = await console.get("/console")
    assert str(resp.url).endswith("/console/login")


# -- the public lookup ------------------------------------------------------------------
async def test_stranger_lookup_shows_no_personal_data(console: Console) -> None:
    d = await submit_birth(console.ctx)
    resp, text = await console.get("/tra-cuu", params={"ma": d.code})
    assert resp.status == 200
    assert d.code in text and "UBND phường Hòa Thành" in text and "Đăng ký khai sinh" in text
    assert "Nguyễn V. A." in text  # masked, as a paper receipt's holder may see
    for secret in ("Nguyễn Văn An", "072090001234", "0912345678", "Ấp Long Bình", "Trần Thị Bích"):
        assert secret not in text
    assert "data:image/png;base64," in text  # its QR
    resp, text = await console.get("/tra-cuu", params={"ma": "000.31.57.H57-261123-9999"})
    assert resp.status == 404 and "Không tìm thấy" in text


async def test_lookup_is_rate_limited(console: Console) -> None:
    d = await submit_birth(console.ctx)
    for i in range(20):
        resp, _ = await console.get("/tra-cuu", params={"ma": f"000.31.57.H57-261123-{i:04d}"})
        assert resp.status in (200, 404)
    resp, text = await console.get("/tra-cuu", params={"ma": d.code})
    assert resp.status == 429 and "quá nhiều lần" in text and int(resp.headers["Retry-After"]) >= 1
    # A forwarded-for header from an untrusted peer is no new client (test_shared_limits has the proxy case).
    resp, _ = await console.get("/tra-cuu", params={"ma": d.code}, headers={"X-Forwarded-For": "203.0.113.9"})
    assert resp.status == 429
    resp, _ = await console.get("/tra-cuu")  # the empty form costs nothing
    assert resp.status == 200


# -- the exchange API -------------------------------------------------------------------
async def test_exchange_api_needs_the_token(console: Console, client: TestClient) -> None:
    d = await submit_birth(console.ctx)
    since = "2026-11-01T00:00:00+07:00"
    resp = await client.get("/api/exchange", params={"since": since})
    assert resp.status == 401
    resp = await client.get("/api/exchange", params={"since": since}, headers={"Authorization": "Bearer wrong"})
    assert resp.status == 403
    resp = await client.get(
        "/api/exchange", params={"since": "hôm qua"}, headers={"Authorization": "Bearer s3cret-token"}
    )
    assert resp.status == 400
    resp = await client.get("/api/exchange", params={"since": since}, headers={"Authorization": "Bearer s3cret-token"})
    assert resp.status == 200
    body = await resp.json()
    assert body["count"] == 1
    record = body["records"][0]
    assert record["HoSo"]["MaHsTTHC"] == d.code and record["TrangThai"]["TrangThaiXuLy"] == "00"


async def test_exchange_api_closed_without_a_configured_token(fresh_db_url: str, tmp_path: Path) -> None:
    settings = Settings(seed_demo=True, database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0)
    async with TestClient(TestServer(create_app(settings))) as client:
        for header in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
            resp = await client.get("/api/exchange", headers=header)
            assert resp.status == 403


# -- the walk, the forms -------------------------------------------------------------
async def test_whole_walk_through_the_console(console: Console) -> None:
    d = await submit_birth(console.ctx)
    await console.login("hoathanh.motcua")
    resp, text = await console.get("/console")
    assert "Hồ sơ mới cần kiểm tra" in text and d.code in text
    resp, text = await console.act(d.id, "accept")
    assert resp.status == 200 and "Đã thực hiện: Tiếp nhận" in text

    await console.login("hoathanh.truongphong")
    _, text = await console.get("/console")
    assert "Hồ sơ chờ phân công" in text and d.code in text
    specialist = await Officer.get(username="hoathanh.chuyenvien2")
    resp, text = await console.act(d.id, "assign", {"specialist": str(specialist.id)})
    assert resp.status == 200, text

    await console.login("hoathanh.chuyenvien2")
    _, text = await console.get("/console")
    assert "Hồ sơ cần thẩm định" in text and d.code in text
    resp, _ = await console.act(d.id, "draft_result", {"text": "Đủ điều kiện."})
    assert resp.status == 200

    await console.login("hoathanh.truongphong")
    resp, _ = await console.act(d.id, "approve")
    assert resp.status == 200
    await console.login("hoathanh.lanhdao")
    resp, _ = await console.act(d.id, "sign")
    assert resp.status == 200
    await console.login("hoathanh.chuyenvien2")
    resp, _ = await console.act(d.id, "forward_result")
    assert resp.status == 200
    await console.login("hoathanh.vanthu")
    _, text = await console.get("/console")
    assert "Kết quả chờ đóng dấu" in text
    resp, _ = await console.act(d.id, "stamp")
    assert resp.status == 200
    await console.login("hoathanh.motcua")
    resp, _ = await console.act(d.id, "return_result")
    assert resp.status == 200
    resp, text = await console.act(d.id, "close")
    assert resp.status == 200 and "không có thao tác nào" in text

    assert await status_of(d) is Status.CLOSED
    history = await HistoryEntry.filter(dossier_id=d.id).order_by("id").prefetch_related("actor_officer")
    assert [(h.action, h.actor_officer.username if h.actor_officer else None) for h in history] == [
        ("submit", None),
        ("accept", "hoathanh.motcua"),
        ("assign", "hoathanh.truongphong"),
        ("draft_result", "hoathanh.chuyenvien2"),
        ("approve", "hoathanh.truongphong"),
        ("sign", "hoathanh.lanhdao"),
        ("forward_result", "hoathanh.chuyenvien2"),
        ("stamp", "hoathanh.vanthu"),
        ("return_result", "hoathanh.motcua"),
        ("close", "hoathanh.motcua"),
    ]
    kinds = await OutboxMessage.filter(dossier_id=d.id, recipient="citizen").values_list("kind", flat=True)
    assert kinds == ["accepted", "result_ready", "returned"]
    _, text = await console.get(f"/console/dossiers/{d.id}")
    assert "Võ Minh Tâm (Chuyên viên thụ lý)" in text and "Bùi Thị Lan (Văn thư)" in text


async def test_double_submit_is_refused(console: Console) -> None:
    d = await submit_birth(console.ctx)
    await console.login("hoathanh.motcua")
    _, page = await console.get(f"/console/dossiers/{d.id}")
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    resp, _ = await console.post(f"/console/dossiers/{d.id}/act/accept", {"version": version})
    assert resp.status == 200
    resp, text = await console.post(f"/console/dossiers/{d.id}/act/accept", {"version": version})
    assert resp.status == 409 and "vừa được cập nhật" in text
    assert await HistoryEntry.filter(dossier_id=d.id, action="accept").count() == 1


async def test_supplement_checklist_is_one_message(console: Console) -> None:
    d = await submit_birth(console.ctx)
    await console.login("hoathanh.motcua")
    _, page = await console.get(f"/console/dossiers/{d.id}")
    assert 'value="Giấy chứng nhận kết hôn của cha mẹ"' in page and 'value="Quê quán"' in page
    resp, text = await console.act(
        d.id,
        "request_supplement",
        [
            ("item", "Giấy chứng nhận kết hôn của cha mẹ"),
            ("item", "Quê quán"),
            ("other", "Ảnh căn cước bị mờ, chụp lại mặt trước\n"),
            ("note", "Gửi trong tuần này"),
        ],
    )
    assert resp.status == 200, text
    fresh = await Dossier.get(id=d.id)
    assert fresh.status == Status.AWAITING_SUPPLEMENT
    assert fresh.supplement_items == [
        "Giấy chứng nhận kết hôn của cha mẹ",
        "Quê quán",
        "Ảnh căn cước bị mờ, chụp lại mặt trước",
    ]
    rows = await OutboxMessage.filter(dossier_id=d.id, recipient="citizen")
    assert [r.kind for r in rows] == ["supplement_requested"]
    # An empty checklist is refused with the service's message.
    d2 = await submit_birth(console.ctx, user="5550002")
    resp, text = await console.act(d2.id, "request_supplement", {"other": "  "})
    assert resp.status == 400 and "nêu đầy đủ" in text


async def pdf_text(resp) -> str:  # noqa: ANN001
    data = await resp.read()
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


async def test_forms_are_served_with_the_code(console: Console) -> None:
    d = await submit_birth(console.ctx)
    await console.login("hoathanh.motcua")
    resp, _ = await console.get(f"/console/dossiers/{d.id}/forms/receipt")
    assert resp.status == 404  # not accepted yet: no receipt
    await console.act(d.id, "accept")
    _, page = await console.get(f"/console/dossiers/{d.id}")
    assert f"/console/dossiers/{d.id}/forms/receipt" in page
    for form, title in (("receipt", "TIẾP NHẬN"), ("process_control", "KIỂM SOÁT")):
        resp = await console.client.get(f"/console/dossiers/{d.id}/forms/{form}")
        assert resp.status == 200 and resp.content_type == "application/pdf"
        text = await pdf_text(resp)
        assert d.code in text and title in text.upper(), form
    d2 = await submit_birth(console.ctx, user="5550003")
    await console.act(d2.id, "reject", {"text": "Giấy chứng sinh không phải bản chính."})
    resp = await console.client.get(f"/console/dossiers/{d2.id}/forms/refusal")
    text = await pdf_text(resp)
    assert d2.code in text and "bản chính" in text


async def test_link_code_for_the_chat(console: Console) -> None:
    await console.login("hoathanh.truongphong")
    _, text = await console.get("/console/account")
    resp, text = await console.post("/console/account/link-code")
    code = re.search(r'id="link-code">([A-Za-z0-9_-]{32})<', text)
    assert resp.status == 200 and code
    from backend.db.models import OneTimeToken
    from backend.services.tokens import token_hash

    assert await OneTimeToken.filter(token_hash=token_hash(code.group(1)), used_at__isnull=True).exists()
    assert await ChannelIdentity.all().count() == 0  # nothing else was touched


# -- reports and administration -------------------------------------------------------
async def test_reports_page_and_csv(console: Console) -> None:
    d = await submit_birth(console.ctx)
    await console.login("hoathanh.motcua")
    await console.act(d.id, "reject", {"text": "Thiếu bản chính."})
    resp, text = await console.get("/console/reports")
    assert resp.status == 200 and "Đăng ký khai sinh" in text and "Tổng cộng" in text
    resp = await console.client.get("/console/reports/tong-hop.csv")
    assert resp.status == 200 and resp.content_type == "text/csv"
    body = (await resp.read()).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("Tháng,Cơ quan,Thủ tục") and "UBND phường Hòa Thành" in body
    # A specialist has no reports; the provincial centre sees none of the commune's dossiers.
    await console.login("hoathanh.chuyenvien")
    resp, _ = await console.get("/console/reports")
    assert resp.status == 403
    await console.login("tinh.lanhdao")
    _, text = await console.get("/console/reports")
    assert "Đăng ký khai sinh" not in text


async def test_admin_creates_and_deactivates_an_officer(console: Console) -> None:
    await console.login("admin")
    resp, text = await console.get("/console/admin")
    assert resp.status == 200 and "hoathanh.motcua" in text
    from backend.db.models import Agency, Department

    agency = await Agency.get(code="000.31.57.H57")
    dept = await Department.get(agency=agency, key="civil_status")
    resp, text = await console.post(
        "/console/admin/officers",
        {"username": "hoathanh.cv4", "full_name": "Lý Thị Hồng", "role": "specialist",
         "agency": str(agency.id), "department": str(dept.id)},
    )  # fmt: skip
    secret = re.search(r"hoathanh\.cv4: ([^<]+)</b>", text)
    assert resp.status == 200 and secret, text
    new = await Officer.get(username="hoathanh.cv4")
    assert new.must_change_password and new.role == "specialist" and new.department_id == dept.id  # type: ignore[attr-defined]
    # The new officer logs in with the temporary password and must change it.
    officer = Console(console.client)
    resp, _ = await officer.login("hoathanh.cv4", secret.group(1), ready=False)
    assert str(resp.url).endswith("/console/password")
    await console.login("admin")
    resp, _ = await console.post(f"/console/admin/officers/{new.id}/deactivate")
    assert resp.status == 200 and not (await Officer.get(id=new.id)).active
    resp, _ = await console.login("hoathanh.cv4", secret.group(1), ready=False)
    assert resp.status == 401
    # Not for officers.
    await console.login("hoathanh.motcua")
    resp, _ = await console.get("/console/admin")
    assert resp.status == 403


async def test_catalogue_reload_shows_a_broken_file(fresh_db_url: str, tmp_path: Path) -> None:
    import shutil

    from backend.services.catalogue import DEFAULT_DIR, Catalogue

    folder = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_DIR, folder)
    settings = Settings(seed_demo=True, database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0)
    async with TestClient(TestServer(create_app(settings, catalogue=Catalogue(folder)))) as client:
        console = Console(client)
        await console.login("admin")
        resp, text = await console.post("/console/admin/catalogue/reload")
        assert resp.status == 200 and "Đã nạp lại danh mục: 5 thủ tục" in text
        (folder / "broken.yaml").write_text("slug: broken\nname: [unclosed\n", encoding="utf-8")
        resp, text = await console.post("/console/admin/catalogue/reload")
        assert resp.status == 400 and "Không nạp được danh mục thủ tục" in text
        assert len(console.ctx.catalogue.all()) == 5  # the loaded catalogue stays
        (folder / "broken.yaml").write_text("slug: broken\nname: Thiếu trường\n", encoding="utf-8")
        resp, text = await console.post("/console/admin/catalogue/reload")
        assert resp.status == 400 and "broken" in text


DEATH_FORM = {
    "declarant_name": "Lê Thị Hoa",
    "declarant_id_number": "072185004321",
    "declarant_residence": "Ấp Trường Lưu, phường Hòa Thành, tỉnh Tây Ninh",
    "declarant_relationship": "Con",
    "deceased_name": "Lê Văn Tư",
    "deceased_sex": "Nam",
    "deceased_birth_date": "1940-03-02",
    "deceased_ethnicity": "Kinh",
    "deceased_nationality": "Việt Nam",
    "deceased_residence": "Ấp Trường Lưu, phường Hòa Thành, tỉnh Tây Ninh",
    "death_datetime": "2026-11-20T14:00",
    "death_place": "Tại nhà",
}


async def test_verification_extension_once_and_apology(console: Console) -> None:
    from backend.db.models import Agency

    ctx = console.ctx
    ident = await citizens.identify(ctx, "telegram", "5550099", "Hoa")
    ids = [
        (await citizens.store_attachment(ctx, citizen_id=ident.citizen_id, data=f"p{c}".encode(),  # type: ignore[attr-defined]
                                         mime_type="image/jpeg", component=c)).id
        for c in ("death_notice", "declarant_id")
    ]  # fmt: skip
    agency = await Agency.get(code="000.31.57.H57")
    d = await uc.submit(ctx, identity_id=ident.id, procedure_slug="death_registration", agency_id=agency.id,
                        form_data=DEATH_FORM, attachment_ids=ids)  # fmt: skip
    await console.login("hoathanh.motcua")
    _, page = await console.get(f"/console/dossiers/{d.id}")
    assert "02/03/1940" in page and "14:00 20/11/2026" in page  # dates as officers read them
    await console.act(d.id, "accept", {"needs_verification": "1"})
    accepted = await Dossier.get(id=d.id)
    assert accepted.needs_verification and accepted.appointment_at == datetime(2026, 11, 27, 17, 0, tzinfo=VN_TZ)

    # Queue filters: the head sees it due later, not overdue; search by the declarant's name.
    await console.login("hoathanh.truongphong")
    _, text = await console.get("/console", params={"loc": "overdue"})
    assert d.code not in text and "Không có việc nào khớp" in text
    _, text = await console.get("/console", params={"q": "lê thị hoa"})
    assert f'href="/console/dossiers/{d.id}"' in text
    specialist = await Officer.get(username="hoathanh.chuyenvien")
    await console.act(d.id, "assign", {"specialist": str(specialist.id)})

    await console.login("hoathanh.chuyenvien")
    resp, text = await console.act(
        d.id, "extend", {"date": "2026-12-02", "time": "10:00", "text": "Chờ kết quả xác minh của công an."}
    )
    assert resp.status == 200 and "Đã thực hiện: Gia hạn" in text
    assert "/act/extend" not in text and "đã gia hạn" in text  # once only
    extended = await Dossier.get(id=d.id)
    assert extended.extension_used and extended.appointment_at == datetime(2026, 12, 2, 10, 0, tzinfo=VN_TZ)
    resp, text = await console.post(f"/console/dossiers/{d.id}/act/extend", {"version": str(extended.version),
                                    "date": "2026-12-09", "text": "Lần nữa"})  # fmt: skip
    assert resp.status == 403
    assert [r.kind for r in await OutboxMessage.filter(dossier_id=d.id, recipient="citizen")] == [
        "accepted",
        "extended",
    ]
    resp = await console.client.get(f"/console/dossiers/{d.id}/forms/apology")
    text = await pdf_text(resp)
    assert resp.status == 200 and d.code in text and "ngày 02 tháng 12 năm 2026" in text and "công an" in text


async def test_login_attempts_are_rate_limited_per_address(fresh_db_url: str, tmp_path: Path) -> None:
    from backend.services import ratelimits

    settings = Settings(seed_demo=True, database_url=fresh_db_url, data_dir=tmp_path / "var", ocr_workers=0,
                        trusted_proxies=("127.0.0.1",))  # fmt: skip
    async with TestClient(TestServer(create_app(settings))) as client:
        console = Console(client)
        await console.get("/console/login")
        for _ in range(int(ratelimits.LOGIN.burst)):  # this address's minute, without 30 argon2 runs
            await ratelimits.take(ratelimits.LOGIN, "ip:203.0.113.5")
        via = {"X-Forwarded-For": "203.0.113.5"}
        resp, text = await console.post("/console/login", {"username": "hoathanh.motcua", "password": PASSWORD},
                                        headers=via)  # fmt: skip
        assert resp.status == 429 and "Quá nhiều lần đăng nhập" in text
        # Another address, told by the trusted proxy, is served.
        resp, _ = await console.post("/console/login", {"username": "hoathanh.motcua", "password": PASSWORD},
                                     headers={"X-Forwarded-For": "198.51.100.7"})  # fmt: skip
        assert resp.status == 200 and str(resp.url).endswith("/console/password")
