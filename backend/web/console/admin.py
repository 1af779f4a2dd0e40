"""Administration (quản trị): agencies, departments, officer accounts and roles, the catalogue."""

from __future__ import annotations

import asyncio

import yaml  # type: ignore[import-untyped]
from aiohttp import web
from tortoise.exceptions import IntegrityError

from backend.db.models import Agency, Department, Officer
from backend.domain.catalogue import CatalogueError
from backend.domain.codes import validate_agency_id
from backend.domain.workflow import ROLE_NAMES_VI, Role
from backend.services import catalogue as catalogue_service
from backend.services import console_sessions, passwords, throttle
from backend.services.errors import InvalidInput
from backend.services.officers import create_officer, hash_password
from backend.web.app import RUNTIME
from backend.web.console.common import form_of, me, now_of, page, render, see_other
from backend.web.params import as_id, optional_id

STAFF_ROLES = [Role.ONE_STOP, Role.DEPARTMENT_HEAD, Role.SPECIALIST, Role.AGENCY_HEAD, Role.CLERK, Role.ADMIN]
NEEDS_DEPARTMENT = {Role.DEPARTMENT_HEAD, Role.SPECIALIST}


def temporary_password() -> str:
    """A one-time password the admin hands over; the officer must change it at first login."""
    return passwords.temporary()


async def _page(request: web.Request, *, error: str = "", ok: str = "", secret: str = "", status: int = 200):  # noqa: ANN202
    agencies = await Agency.all().order_by("level", "name").prefetch_related("departments")
    officers = await Officer.all().order_by("agency_id", "role", "username").prefetch_related("agency", "department")
    ctx = request.app[RUNTIME].ctx
    return render(
        request,
        "admin.html",
        {
            "agencies": agencies,
            "officers": officers,
            "roles": [(r.value, ROLE_NAMES_VI[r]) for r in STAFF_ROLES],
            "procedures": ctx.catalogue.all(),
            "now": ctx.clock.now(),
            "error": error,
            "ok": ok or request.query.get("ok", ""),
            "secret": secret,
        },
        status=status,
    )


@page([Role.ADMIN])
async def admin_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _text(form: dict, key: str, *, limit: int = 200) -> str:
    return str(form.get(key, "")).strip()[:limit]


@page([Role.ADMIN])
async def create_agency(request: web.Request) -> web.StreamResponse:
    form = form_of(request)
    try:
        code = validate_agency_id(_text(form, "code"))
    except ValueError as exc:
        return await _page(request, error=str(exc), status=400)
    level = _text(form, "level")
    if level not in ("commune", "province") or not _text(form, "name"):
        return await _page(request, error="Vui lòng nhập tên cơ quan và chọn cấp.", status=400)
    try:
        await Agency.create(code=code, name=_text(form, "name"), parent_name=_text(form, "parent_name"), level=level)
    except IntegrityError:
        return await _page(request, error=f"Đã có cơ quan mã {code}.", status=400)
    return see_other("/console/admin?ok=agency")


@page([Role.ADMIN])
async def create_department(request: web.Request) -> web.StreamResponse:
    form = form_of(request)
    agency_id = _text(form, "agency")
    agency = await Agency.get_or_none(id=as_id(agency_id)) if as_id(agency_id) else None
    key, name = _text(form, "key", limit=40), _text(form, "name")
    if agency is None or not key or not name:
        return await _page(request, error="Vui lòng chọn cơ quan, nhập mã và tên phòng.", status=400)
    try:
        await Department.create(agency=agency, key=key, name=name)
    except IntegrityError:
        return await _page(request, error=f"{agency.name} đã có phòng mã «{key}».", status=400)
    return see_other("/console/admin?ok=department")


@page([Role.ADMIN])
async def new_officer(request: web.Request) -> web.StreamResponse:
    """Open an account with a temporary password, shown once to the admin."""
    form = form_of(request)
    try:
        role = Role(_text(form, "role"))
        agency_id = optional_id(_text(form, "agency"))
        department_id = optional_id(_text(form, "department"))
    except ValueError:
        return await _page(request, error="Vai trò, cơ quan hoặc phòng không hợp lệ.", status=400)
    username, full_name = _text(form, "username", limit=64).lower(), _text(form, "full_name", limit=120)
    if not username or not full_name:
        return await _page(request, error="Vui lòng nhập tên đăng nhập và họ tên.", status=400)
    if role is not Role.ADMIN and agency_id is None:
        return await _page(request, error="Cán bộ phải thuộc một cơ quan.", status=400)
    if department_id is not None:
        dept = await Department.get_or_none(id=department_id)
        if dept is None or dept.agency_id != agency_id:  # type: ignore[attr-defined]
            return await _page(request, error="Phòng không thuộc cơ quan đã chọn.", status=400)
    elif role in NEEDS_DEPARTMENT:
        return await _page(request, error=f"{ROLE_NAMES_VI[role]} phải thuộc một phòng.", status=400)
    if await Officer.exists(username=username):
        return await _page(request, error=f"Tên đăng nhập «{username}» đã có.", status=400)
    password = temporary_password()
    try:
        await create_officer(
            username=username,
            full_name=full_name,
            role=role,
            password=password,
            agency_id=agency_id if role is not Role.ADMIN else None,
            department_id=department_id,
            must_change_password=True,
        )
    except (InvalidInput, IntegrityError) as exc:
        return await _page(request, error=str(exc), status=400)
    return await _page(request, ok="officer", secret=f"{username}: {password}")


@page([Role.ADMIN])
async def officer_op(request: web.Request) -> web.StreamResponse:
    """Deactivate, reactivate, or reset the password of (and unlock) an account."""
    raw_id = request.match_info["id"]
    officer = await Officer.get_or_none(id=int(raw_id)) if len(raw_id) <= 9 else None  # no int overflow
    op = request.match_info["op"]
    if officer is None:
        return await _page(request, error="Không tìm thấy tài khoản.", status=404)
    if officer.id == me(request).id and op == "deactivate":
        return await _page(request, error="Không thể tự khóa tài khoản của mình.", status=400)
    if op == "deactivate":
        officer.active = False
    elif op == "activate":
        officer.active = True
    else:  # reset: a new temporary password, every session ended, the login throttle forgotten
        password = temporary_password()
        officer.password_hash = await asyncio.to_thread(hash_password, password)
        officer.must_change_password = True
        officer.failed_logins, officer.locked_until = 0, None
        await officer.save()
        await console_sessions.revoke_all(officer.id, now=now_of(request))
        await throttle.clear([throttle.key(throttle.ACCOUNT, officer.username)])
        return await _page(request, ok="reset", secret=f"{officer.username}: {password}")
    await officer.save(update_fields=["active"])
    if not officer.active:
        await console_sessions.revoke_all(officer.id, now=now_of(request))
    return see_other(f"/console/admin?ok={op}")


@page([Role.ADMIN])
async def reload_catalogue(request: web.Request) -> web.StreamResponse:
    """Reload the procedure files; a broken file leaves the loaded catalogue as it was."""
    try:
        count = await catalogue_service.reload_everywhere(request.app[RUNTIME].ctx.catalogue)
    except (CatalogueError, OSError, yaml.YAMLError) as exc:
        return await _page(request, error=f"Không nạp được danh mục thủ tục: {exc}", status=400)
    return await _page(request, ok=f"catalogue:{count}")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/console/admin", admin_page),
        web.post("/console/admin/agencies", create_agency),
        web.post("/console/admin/departments", create_department),
        web.post("/console/admin/officers", new_officer),
        web.post(r"/console/admin/officers/{id:\d+}/{op:deactivate|activate|reset}", officer_op),
        web.post("/console/admin/catalogue/reload", reload_catalogue),
    ]
