"""Console sessions: a signed cookie (HMAC-SHA256 with Settings.session_secret()).

The cookie holds the officer id, a per-session CSRF token, the issue time and a fingerprint
of the officer's password hash: a password change (or reset by the admin) ends every other
session at once, without a session table. HttpOnly, SameSite=Lax, Secure behind HTTPS.
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
MAX_AGE = 12 * 3600  # a working day and some: an officer logs in each morning


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    officer_id: int | None = None
    pw: str = ""  # fingerprint of the password hash at login
    issued: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return {"o": self.officer_id, "c": self.csrf, "p": self.pw, "i": int(self.issued)}


def pw_fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class SessionCodec:
    """Signs and reads the session cookie."""

    def __init__(self, secret: str, *, secure: bool = False) -> None:
        self._key = hashlib.sha256(("motcua-console|" + secret).encode()).digest()
        self.secure = secure

    def _sign(self, body: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, body, hashlib.sha256).digest()).decode().rstrip("=")

    def dump(self, s: Session) -> str:
        body = base64.urlsafe_b64encode(json.dumps(s.as_dict(), separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body.encode())}"

    def load(self, raw: str | None) -> Session | None:
        if not raw or "." not in raw:
            return None
        body, sig = raw.rsplit(".", 1)
        if not hmac.compare_digest(sig, self._sign(body.encode())):
            return None
        try:
            d = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            s = Session(csrf=str(d["c"]), officer_id=d["o"], pw=str(d["p"]), issued=float(d["i"]))
        except (ValueError, KeyError, TypeError):
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
