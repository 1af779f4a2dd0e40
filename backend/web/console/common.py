"""What every console view shares: the session, the logged-in officer, CSRF, rendering."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from multidict import MultiDict

from backend.db.models import Officer
from backend.domain.calendar import VN_TZ
from backend.domain.text import clean_text
from backend.domain.workflow import ROLE_NAMES_VI, STATUS_NAMES_VI, Role
from backend.services import console_sessions
from backend.web.app import RUNTIME
from backend.web.console.sessions import COOKIE, Session, SessionCodec

HERE = Path(__file__).resolve().parent
SHARED_TEMPLATES = HERE.parent / "templates"
JINJA = web.AppKey("motcua_jinja", jinja2.Environment)
CODEC = web.AppKey("motcua_session_codec", SessionCodec)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class RequestState:
    """What a console view learns about its request: session, officer, posted form."""

    session: Session | None = None
    dirty: bool = False  # the session changed: send the cookie again
    officer: Officer | None = None
    form: dict[str, Any] = field(default_factory=dict)
    multi: Any = None  # the posted form with repeated fields (checklists)


STATE = web.RequestKey("motcua_console_state", RequestState)


def state(request: web.Request) -> RequestState:
    if STATE not in request:
        request[STATE] = RequestState()
    return request[STATE]


def me(request: web.Request) -> Officer:
    """The logged-in officer (views behind ``page`` only)."""
    officer = state(request).officer
    assert officer is not None
    return officer


# -- templates --------------------------------------------------------------------------
def vn_time(moment: datetime | None, fmt: str = "%H:%M %d/%m/%Y") -> str:
    return moment.astimezone(VN_TZ).strftime(fmt) if moment else "—"


def vn_date(moment: datetime | None) -> str:
    return vn_time(moment, "%d/%m/%Y")


def setup_templates(app: web.Application) -> None:
    """One Jinja environment for the console and the public pages (set up once)."""
    if JINJA in app:
        return
    env = aiohttp_jinja2.setup(
        app,
        app_key=JINJA,
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(str(HERE / "templates")), jinja2.FileSystemLoader(str(SHARED_TEMPLATES))]
        ),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["vntime"] = vn_time
    env.filters["vndate"] = vn_date
    env.globals["STATUS_NAMES_VI"] = {s.value: n for s, n in STATUS_NAMES_VI.items()}
    env.globals["ROLE_NAMES_VI"] = {r.value: n for r, n in ROLE_NAMES_VI.items()}


def render(request: web.Request, template: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    st = state(request)
    base = {"me": st.officer, "csrf": st.session.csrf if st.session else ""}
    resp = aiohttp_jinja2.render_template(template, request, base | context, app_key=JINJA, status=status)
    resp.headers["Cache-Control"] = "no-store"  # security headers: backend.web.hardening
    return resp


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "error.html", {"status": status, "message": message}, status=status)


# -- sessions ---------------------------------------------------------------------------
def session_of(request: web.Request) -> Session:
    """The request's session (an anonymous one, with its CSRF token, if none yet)."""
    st = state(request)
    if st.session is None:
        st.session = request.app[CODEC].load(request.cookies.get(COOKIE))
        if st.session is None:
            st.session, st.dirty = Session(), True
    return st.session


def save_session(request: web.Request, s: Session) -> None:
    st = state(request)
    st.session, st.dirty = s, True


def now_of(request: web.Request) -> datetime:
    return request.app[RUNTIME].ctx.clock.now()


async def officer_of(request: web.Request) -> Officer | None:
    """The logged-in officer; None when the session is anonymous, ended or the account is off."""
    s = session_of(request)
    if s.sid is None:
        return None
    officer_id = await console_sessions.officer_of(s.sid, now=now_of(request))
    officer = await Officer.get_or_none(id=officer_id, active=True) if officer_id is not None else None
    if officer is None:
        save_session(request, Session())  # logged out, expired, revoked, or deactivated
        return None
    return officer


async def start_session(request: web.Request, officer: Officer) -> None:
    """Log ``officer`` in: a fresh session id and CSRF token (nothing from before carries over)."""
    old = session_of(request).sid
    await console_sessions.revoke(old, now=now_of(request))
    sid = await console_sessions.open_session(officer.id, now=now_of(request))
    save_session(request, Session(sid=sid))


async def end_session(request: web.Request) -> None:
    """Log out: the session ends on the server, so a copied cookie opens nothing."""
    await console_sessions.revoke(session_of(request).sid, now=now_of(request))
    save_session(request, Session())


def _cleaned(multi: Any) -> MultiDict:
    """The posted form without NUL and control characters (newlines kept); files as they are."""
    return MultiDict((k, clean_text(v) if isinstance(v, str) else v) for k, v in multi.items())


def csrf_ok(request: web.Request, form: dict[str, Any]) -> bool:
    token = str(form.get("csrf", "")) or request.headers.get("X-CSRF-Token", "")
    return bool(token) and hmac.compare_digest(token, session_of(request).csrf)


def _finish(request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
    st = state(request)
    if st.dirty and st.session is not None:
        request.app[CODEC].set(resp, st.session)
    return resp


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def page(
    roles: Iterable[Role] | None = None, *, allow_password_change: bool = False, public: bool = False
) -> Callable[[Handler], Handler]:
    """Wrap a console view: session, CSRF on POST, login, forced password change, role."""
    allowed = frozenset(roles) if roles is not None else None

    def wrap(fn: Handler) -> Handler:
        @functools.wraps(fn)
        async def view(request: web.Request) -> web.StreamResponse:
            session_of(request)
            if request.method == "POST":
                multi = _cleaned(await request.post())
                form = dict(multi)
                state(request).multi, state(request).form = multi, form
                if not csrf_ok(request, form):
                    return _finish(
                        request,
                        error_page(
                            request, 403, "Phiên làm việc đã hết hạn hoặc yêu cầu không hợp lệ. Vui lòng tải lại trang."
                        ),
                    )
            if not public:
                officer = await officer_of(request)
                if officer is None:
                    return _finish(request, see_other("/console/login"))
                state(request).officer = officer
                # A page the role may not see is refused outright, even before the forced change.
                if allowed is not None and Role(officer.role) not in allowed:
                    message = "Tài khoản của anh/chị không có quyền vào trang này."
                    return _finish(request, error_page(request, 403, message))
                if officer.must_change_password and not allow_password_change:
                    return _finish(request, see_other("/console/password"))
            return _finish(request, await fn(request))

        return view

    return wrap


def form_of(request: web.Request) -> dict[str, Any]:
    return state(request).form
