"""Reports: placeholder until the reports view lands."""

from __future__ import annotations

from aiohttp import web


def routes() -> list[web.RouteDef]:
    return []
