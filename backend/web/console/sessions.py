"""Console cookies, signed with HMAC-SHA256 (key from Settings.session_secret()).

The session cookie holds a random session id (its SHA-256 row in ``console_session`` says
who is logged in: logout and a password change end it on the server), the session's CSRF
token and the issue time. Before login it holds only the CSRF token. The device cookie
marks a browser that logged in before as a username, so the login throttle can tell the
officer's own computer from a guesser (OWASP "device cookies").
HttpOnly, SameSite=Lax, Secure behind HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

COOKIE = "motcua_console"
DEVICE_COOKIE = "motcua_device"
MAX_AGE = 12 * 3600  # the session's row decides; the cookie just does not outlive it
DEVICE_MAX_AGE = 365 * 86400


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    sid: str | None = None  # the server-side session's id; None before login
    issued: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return {"s": self.sid, "c": self.csrf, "i": int(self.issued)}


@dataclass(frozen=True)
class Device:
    username: str
    nonce: str  # names this browser in the throttle's counters
    issued: float


class _Signer:
    def __init__(self, secret: str, purpose: str) -> None:
        self._key = hashlib.sha256(f"motcua-{purpose}|{secret}".encode()).digest()

    def _sign(self, body: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, body, hashlib.sha256).digest()).decode().rstrip("=")

    def dump(self, d: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(d, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body.encode())}"

    def load(self, raw: str | None) -> dict[str, Any] | None:
        if not raw or "." not in raw or len(raw) > 4096:
            return None
        body, sig = raw.rsplit(".", 1)
        if not hmac.compare_digest(sig, self._sign(body.encode())):
            return None
        try:
            d = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        return d if isinstance(d, dict) else None


class SessionCodec:
    """Signs and reads the session and device cookies."""

    def __init__(self, secret: str, *, secure: bool = False) -> None:
        self._session = _Signer(secret, "console")
        self._device = _Signer(secret, "device")
        self.secure = secure

    def dump(self, s: Session) -> str:
        return self._session.dump(s.as_dict())

    def load(self, raw: str | None) -> Session | None:
        d = self._session.load(raw)
        try:
            s = Session(csrf=str(d["c"]), sid=d["s"] if isinstance(d["s"], str) else None, issued=float(d["i"]))  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            return None
        if time.time() - s.issued > MAX_AGE or s.issued > time.time() + 60:
            return None
        return s

    def set(self, resp: web.StreamResponse, s: Session) -> None:
        resp.set_cookie(
            COOKIE, self.dump(s), max_age=MAX_AGE, httponly=True, samesite="Lax", secure=self.secure, path="/"
        )

    def clear(self, resp: web.StreamResponse) -> None:
        resp.del_cookie(COOKIE, path="/")

    def load_device(self, raw: str | None) -> Device | None:
        d = self._device.load(raw)
        try:
            dev = Device(username=str(d["u"]), nonce=str(d["n"]), issued=float(d["i"]))  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            return None
        return dev if 0 <= time.time() - dev.issued <= DEVICE_MAX_AGE else None

    def set_device(self, resp: web.StreamResponse, username: str) -> None:
        """Mark this browser as one ``username`` logged in from (a new nonce each login)."""
        value = self._device.dump({"u": username, "n": secrets.token_urlsafe(16), "i": int(time.time())})
        resp.set_cookie(
            DEVICE_COOKIE, value, max_age=DEVICE_MAX_AGE, httponly=True, samesite="Strict", secure=self.secure,
            path="/console/login",
        )
