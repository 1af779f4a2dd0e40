"""Parsing ids and parameters from a request: malformed or out-of-range values are 4xx, never
a database error (PostgreSQL refuses an int4 above 2,147,483,647; SQLite one above 2**63)."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from backend.domain.text import clean_text

INT4_MAX = 2_147_483_647  # the largest id of an IntField primary key
INT8_MAX = 9_223_372_036_854_775_807  # of a BigIntField one


def as_id(raw: Any, *, big: bool = False) -> int | None:
    """A positive id from text (None when it is not one, or too large for the column)."""
    text = str(raw if raw is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= (INT8_MAX if big else INT4_MAX) else None


def optional_id(raw: Any) -> int | None:
    """An optional id from a form field: None when empty, ValueError when not a valid id."""
    if str(raw if raw is not None else "").strip() == "":
        return None
    value = as_id(raw)
    if value is None:
        raise ValueError(f"not an id: {str(raw)[:20]!r}")
    return value


def path_id(request: web.Request, name: str = "id", *, big: bool = False) -> int:
    """The id in the path; a malformed one is a 404 like an unknown one."""
    value = as_id(request.match_info.get(name), big=big)
    if value is None:
        raise web.HTTPNotFound(text="Không tìm thấy.")
    return value


def query_text(request: web.Request, name: str, *, limit: int = 200) -> str:
    """A query parameter as clean single-line text (control characters and NUL removed)."""
    return clean_text(request.query.get(name, ""), multiline=False, limit=limit).strip()


def query_id(request: web.Request, name: str) -> int | None:
    """An optional id in the query; absent or malformed is None (the filter is not applied)."""
    return as_id(request.query.get(name))


def as_date(raw: Any) -> date | None:
    """An ISO date (YYYY-MM-DD), None when absent or malformed."""
    text = str(raw or "").strip()
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
