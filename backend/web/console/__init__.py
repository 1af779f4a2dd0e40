"""The officers' web console (trang quản trị): queue, dossiers, forms, reports, admin."""

from __future__ import annotations

from aiohttp import web

from backend.web.app import SETTINGS
from backend.web.console import account, admin, auth, reports, views
from backend.web.console.common import CODEC, HERE, setup_templates
from backend.web.console.sessions import SessionCodec


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    setup_templates(app)
    app[CODEC] = SessionCodec(settings.session_secret(), secure=settings.base_url.startswith("https://"))
    app.router.add_routes(auth.routes() + account.routes() + views.routes() + reports.routes() + admin.routes())
    app.router.add_static("/console/static", HERE / "static")
