"""A small Zalo Official Account client on aiohttp: send text, images and PDFs, read names, fetch files.

Facts it relies on are in docs/channels.md. Those that could not be checked against the live
service (unconfirmed), and how this client keeps each one configurable:

1. Button payload shape for ``oa.query.show``: a plain string is what public integrations send;
   some send ``{"content": ...}``. Set by ``button_payload`` (a function of the Button); buttons
   can be switched off entirely with ``buttons_enabled=False`` — the numbered text menu
   ("Gõ 1 = …") is always in the text, so the choice works either way.
2. Whether a button template needs ``template_type`` (e.g. "button"): ``button_template_type``.
3. How many buttons one message may carry: ``max_buttons`` (5); above it only the text menu.
4. Button title ≤ 100 and payload ≤ 1,000 characters (from one copy of the docs): titles are cut.
5. Whether an image message carries a caption in ``message.text``: ``caption_inline`` (off: the
   caption goes as a separate text message, which certainly works).
6. Upload error codes for too large / wrong type are unknown: we check 1 MB / 5 MB ourselves first.
7. ``expires_in`` of the token answer arrives as a string of seconds (≈ 90,000); parsed either way.
8. Error codes of the OAuth endpoint (e.g. -14014 bad refresh token): any non-zero ``error`` there
   is a ZaloTokenError.
9. -100 means an uploaded id expired: we upload again once and resend.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from PIL import Image, ImageOps

from backend.domain.messages import Button
from backend.services import metrics

log = logging.getLogger(__name__)

TEXT_LIMIT = 2000
IMAGE_LIMIT = 1024 * 1024
FILE_LIMIT = 5 * 1024 * 1024
DOWNLOAD_LIMIT = 25 * 1024 * 1024

TOKEN_CODES = frozenset({-216, -220})
RATE_LIMIT_CODES = frozenset({-32})
UNREACHABLE_CODES = frozenset({-213, -217, -227, -230, -232, -234, -244})
UPLOAD_EXPIRED_CODES = frozenset({-100})


# ---- errors ------------------------------------------------------------------------------------


class ZaloError(Exception):
    """Zalo refused or could not be reached; ``code`` is Zalo's error number when it gave one."""

    retryable = False

    def __init__(self, message: str, code: int | None = None, retry_after: float | None = None):
        super().__init__(f"{message} (error {code})" if code is not None else message)
        self.code = code
        self.retry_after = retry_after


class ZaloTransportError(ZaloError):
    """Network failure, timeout, non-JSON or 5xx answer: trying later may work."""

    retryable = True


class ZaloTokenError(ZaloError):
    """No usable token: refresh failed or the new token was refused too. Needs an operator."""


class ZaloRateLimited(ZaloError):
    """-32: too many calls; back off and retry later."""

    retryable = True


class ZaloUnreachableUser(ZaloError):
    """The user cannot be reached now (outside the reply window, unfollowed, blocked): do not loop."""


class ZaloUploadExpired(ZaloError):
    """-100: an uploaded attachment id / file token expired; upload again."""


def error_for(code: int, message: str) -> ZaloError:
    """Map a Zalo error number to our small tree."""
    if code in TOKEN_CODES:
        return ZaloTokenError(message, code)
    if code in RATE_LIMIT_CODES:
        return ZaloRateLimited(message, code)
    if code in UNREACHABLE_CODES:
        return ZaloUnreachableUser(message, code)
    if code in UPLOAD_EXPIRED_CODES:
        return ZaloUploadExpired(message, code)
    return ZaloError(message, code)


# ---- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPair:
    """An OA access token and its single-use refresh token."""

    access_token: str
    refresh_token: str
    expires_at: datetime | None = None  # timezone-aware; None when unknown

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["expires_at"] = self.expires_at.isoformat() if self.expires_at else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenPair:
        expires = data.get("expires_at")
        return cls(data["access_token"], data["refresh_token"], datetime.fromisoformat(expires) if expires else None)


class TokenStore(Protocol):
    """Where the current pair lives; a refresh must be saved before the new token is used."""

    async def load(self) -> TokenPair | None: ...

    async def save(self, pair: TokenPair) -> None: ...


class MemoryTokenStore:
    """Keeps the pair in memory (tests, single short-lived process)."""

    def __init__(self, pair: TokenPair | None = None):
        self.pair = pair

    async def load(self) -> TokenPair | None:
        return self.pair

    async def save(self, pair: TokenPair) -> None:
        self.pair = pair


class FileTokenStore:
    """Keeps the pair in a JSON file, written atomically (temp file, fsync, rename) and private (0600)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    async def load(self) -> TokenPair | None:
        return await asyncio.to_thread(self._read)

    async def save(self, pair: TokenPair) -> None:
        await asyncio.to_thread(self._write, pair)

    def _read(self) -> TokenPair | None:
        try:
            return TokenPair.from_json(json.loads(self.path.read_text("utf-8")))
        except FileNotFoundError:
            return None

    def _write(self, pair: TokenPair) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(pair.to_json(), out)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)  # a crash leaves either the old pair or the new one, never half
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# ---- text helpers ------------------------------------------------------------------------------


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut text into pieces ≤ limit, preferring paragraph, line, sentence, then word boundaries."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for sep in ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " "):
            at = window.rfind(sep, 0, limit)
            if at >= limit // 3:  # a boundary too early would leave a tiny piece
                cut = at + (len(sep) if sep.strip() else 0)
                break
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def flatten_buttons(buttons: Sequence[Button] | Sequence[Sequence[Button]] | None) -> list[Button]:
    """Rows of buttons (as in messages.Text) or a flat list, as one list."""
    flat: list[Button] = []
    for item in buttons or ():
        if isinstance(item, Button):
            flat.append(item)
        else:
            flat.extend(item)
    return flat


def text_menu(buttons: Sequence[Button]) -> str:
    """The numbered fallback: 'Gõ 1 = Khai sinh, 2 = Khai tử'; link buttons listed as label: URL."""
    choices = [b for b in buttons if not b.url]
    lines = []
    if choices:
        lines.append("Gõ " + ", ".join(f"{i} = {b.label}" for i, b in enumerate(choices, 1)))
    lines.extend(f"{b.label}: {b.url}" for b in buttons if b.url)
    return "\n".join(lines)


def menu_choice(text: str, buttons: Sequence[Button]) -> Button | None:
    """The button a typed number (or exact label or data) picks from a menu made by text_menu."""
    typed = text.strip()
    choices = [b for b in buttons if not b.url]
    if typed.isdigit() and 1 <= int(typed) <= len(choices):
        return choices[int(typed) - 1]
    return echoed_button(typed, choices)


def echoed_button(text: str, buttons: Sequence[Button]) -> Button | None:
    """The button whose label or data came back as text (an ``oa.query.show`` press)."""
    folded = text.strip().casefold()
    return next((b for b in buttons if not b.url and folded in (b.label.casefold(), b.data.casefold())), None)


# ---- the client --------------------------------------------------------------------------------


RefreshLock = Callable[[Callable[[], Awaitable[TokenPair]]], Awaitable[TokenPair]]


class ZaloOaClient:
    """Calls the Zalo OA Open API with an auto-refreshed token; raises the ZaloError tree."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        app_id: str,
        app_secret: str,
        token_store: TokenStore,
        api_base: str = "https://openapi.zalo.me",
        oauth_base: str = "https://oauth.zaloapp.com",
        buttons_enabled: bool = True,
        button_payload: Callable[[Button], Any] = lambda b: b.data,
        button_template_type: str | None = None,
        max_buttons: int = 5,
        caption_inline: bool = False,
        rate_limit_retries: int = 2,
        rate_limit_backoff: float = 1.0,
        refresh_margin: timedelta = timedelta(minutes=5),
        download_limit: int = DOWNLOAD_LIMIT,
        timeout: float = 20.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        refresh_lock: RefreshLock | None = None,
    ):
        self.session = session
        self.app_id = app_id
        self._app_secret = app_secret
        self.store = token_store
        self.api_base = api_base.rstrip("/")
        self.oauth_base = oauth_base.rstrip("/")
        self.buttons_enabled = buttons_enabled
        self.button_payload = button_payload
        self.button_template_type = button_template_type
        self.max_buttons = max_buttons
        self.caption_inline = caption_inline
        self.rate_limit_retries = rate_limit_retries
        self.rate_limit_backoff = rate_limit_backoff
        self.refresh_margin = refresh_margin
        self.download_limit = download_limit
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.clock = clock
        self._pair: TokenPair | None = None
        self._lock = asyncio.Lock()
        self._refresh_lock = refresh_lock  # across workers: only one spends the refresh token

    # ---- sending -----------------------------------------------------------------------------

    async def send_text(
        self, user_id: str, text: str, buttons: Sequence[Button] | Sequence[Sequence[Button]] | None = None
    ) -> list[str]:
        """Send text (split at 2,000 characters); buttons go on the last piece. Returns message ids."""
        flat = flatten_buttons(buttons)
        menu = text_menu(flat) if flat else ""
        pieces = split_text(text)
        if menu:
            # The menu stays whole with the last piece, so the choices are readable without buttons.
            last = pieces.pop() if pieces else ""
            joined = f"{last}\n\n{menu}" if last else menu
            pieces.extend(split_text(joined) if len(joined) > TEXT_LIMIT else [joined])
        ids = []
        for i, piece in enumerate(pieces):
            message: dict[str, Any] = {"text": piece}
            if flat and i == len(pieces) - 1 and self.buttons_enabled and len(flat) <= self.max_buttons:
                message["attachment"] = self._button_template(flat)
            ids.append(await self._send_message(user_id, message))
        return ids

    async def send_image(self, user_id: str, data: bytes, caption: str | None = None) -> str:
        """Upload an image (recompressed as JPEG when over 1 MB) and send it; returns the message id."""
        data, mime = await asyncio.to_thread(fit_image, data, IMAGE_LIMIT)  # Pillow work off the event loop
        name = "image.jpg" if mime == "image/jpeg" else "image.png"

        def message(attachment_id: str) -> dict[str, Any]:
            element = {"media_type": "image", "attachment_id": attachment_id}
            msg: dict[str, Any] = {
                "attachment": {"type": "template", "payload": {"template_type": "media", "elements": [element]}}
            }
            if caption and self.caption_inline:
                msg["text"] = caption[:TEXT_LIMIT]
            return msg

        message_id = await self._send_upload(
            user_id, "/v2.0/oa/upload/image", "attachment_id", data, name, mime, message
        )
        if caption and not self.caption_inline:
            await self.send_text(user_id, caption)
        return message_id

    async def send_file(self, user_id: str, data: bytes, filename: str) -> str:
        """Upload a PDF (≤ 5 MB) and send it; returns the message id."""
        if len(data) > FILE_LIMIT:
            raise ZaloError(f"file of {len(data)} bytes is over Zalo's 5 MB limit")
        if not data.startswith(b"%PDF"):
            raise ZaloError("Zalo OA file messages take PDF documents only here")

        def message(token: str) -> dict[str, Any]:
            return {"attachment": {"type": "file", "payload": {"token": token}}}

        return await self._send_upload(
            user_id, "/v2.0/oa/upload/file", "token", data, filename, "application/pdf", message
        )

    async def get_display_name(self, user_id: str) -> str | None:
        """The user's Zalo display name (the webhook never carries it)."""
        body = await self._api("GET", "/v3.0/oa/user/detail", params={"data": json.dumps({"user_id": str(user_id)})})
        return (body.get("data") or {}).get("display_name") or None

    async def download(self, url: str) -> bytes:
        """Fetch an attachment URL from a webhook (plain GET, no token), refusing more than download_limit."""
        try:
            async with self.session.get(url, timeout=self.timeout) as resp:
                if resp.status != 200:
                    raise ZaloTransportError(f"attachment download answered HTTP {resp.status}")
                if (resp.content_length or 0) > self.download_limit:
                    raise ZaloError(f"attachment of {resp.content_length} bytes is over the limit")
                chunks, size = [], 0
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > self.download_limit:
                        raise ZaloError("attachment is over the download limit")
                    chunks.append(chunk)
                return b"".join(chunks)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ZaloTransportError(f"attachment download failed: {type(exc).__name__}") from exc

    # ---- plumbing ----------------------------------------------------------------------------

    def _button_template(self, buttons: Sequence[Button]) -> dict[str, Any]:
        items = []
        for b in buttons:
            title = b.label[:100]
            if b.url:
                items.append({"title": title, "type": "oa.open.url", "payload": {"url": b.url}})
            else:
                items.append({"title": title, "type": "oa.query.show", "payload": self.button_payload(b)})
        payload: dict[str, Any] = {"buttons": items}
        if self.button_template_type:
            payload["template_type"] = self.button_template_type
        return {"type": "template", "payload": payload}

    async def _send_message(self, user_id: str, message: dict[str, Any]) -> str:
        body = await self._api(
            "POST", "/v3.0/oa/message/cs", json_body={"recipient": {"user_id": str(user_id)}, "message": message}
        )
        return str((body.get("data") or {}).get("message_id", ""))

    async def _send_upload(
        self,
        user_id: str,
        path: str,
        key: str,
        data: bytes,
        filename: str,
        mime: str,
        message: Callable[[str], dict[str, Any]],
    ) -> str:
        """Upload, then send the message built around the upload's id; upload again once if it expired (-100)."""
        for attempt in range(2):
            upload_id = await self._upload(path, key, data, filename, mime)
            try:
                return await self._send_message(user_id, message(upload_id))
            except ZaloUploadExpired:
                if attempt:
                    raise
                log.info("zalo upload expired before use; uploading again")
        raise AssertionError("unreachable")

    async def _upload(self, path: str, key: str, data: bytes, filename: str, mime: str) -> str:
        def form() -> aiohttp.FormData:  # a FormData is spent once sent, so each attempt builds its own
            fd = aiohttp.FormData()
            fd.add_field("file", data, filename=filename, content_type=mime)
            return fd

        body = await self._api("POST", path, form=form)
        upload_id = (body.get("data") or {}).get(key)
        if not upload_id:
            raise ZaloError(f"upload answered without data.{key}")
        return str(upload_id)

    async def _api(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One API call: refresh once on -216/-220 and retry once; back off on -32; map errors."""
        refreshed = False
        rate_limited = 0
        while True:
            pair = await self._current_pair()
            body = await self._request(method, self.api_base + path, pair.access_token, json_body, form, params)
            code = int(body.get("error") or 0)
            if code == 0:
                return body
            message = str(body.get("message") or "Zalo error")
            if code in TOKEN_CODES and not refreshed:
                log.info("zalo access token refused (%s); refreshing once", code)
                await self._refresh(stale=pair.access_token)
                refreshed = True
                continue
            if code in RATE_LIMIT_CODES:
                metrics.rate_limited("zalo")
                wait = self.rate_limit_backoff * 2**rate_limited
                if rate_limited < self.rate_limit_retries:
                    rate_limited += 1
                    log.warning("zalo rate limit on %s; retrying in %.1fs", path, wait)
                    await asyncio.sleep(wait)
                    continue
                raise ZaloRateLimited(message, code, retry_after=wait)
            raise error_for(code, message)

    async def _request(
        self,
        method: str,
        url: str,
        access_token: str,
        json_body: dict[str, Any] | None,
        form: Callable[[], aiohttp.FormData] | None,
        params: dict[str, str] | None,
    ) -> dict[str, Any]:
        # The token goes in a bare `access_token` header, not Authorization (CHANNELS.md).
        headers = {"access_token": access_token}
        try:
            async with self.session.request(
                method,
                url,
                headers=headers,
                json=json_body,
                data=form() if form else None,
                params=params,
                timeout=self.timeout,
            ) as resp:
                if resp.status >= 500 or resp.status == 429:
                    raise ZaloTransportError(f"Zalo answered HTTP {resp.status}")
                try:
                    body = await resp.json(content_type=None)
                except ValueError as exc:
                    raise ZaloTransportError(f"Zalo answered HTTP {resp.status} without JSON") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ZaloTransportError(f"Zalo unreachable: {type(exc).__name__}") from exc
        if not isinstance(body, dict):
            raise ZaloTransportError("Zalo answered an unexpected JSON shape")
        return body

    async def _current_pair(self) -> TokenPair:
        pair = self._pair
        if pair is None:
            pair = self._pair = await self.store.load()
        if pair is None:
            raise ZaloTokenError("no Zalo OA token stored; authorise the OA and store the first pair")
        if pair.expires_at and self.clock() >= pair.expires_at - self.refresh_margin:
            pair = await self._refresh(stale=pair.access_token)
        return pair

    async def _refresh(self, *, stale: str) -> TokenPair:
        """Exchange the refresh token once for everyone waiting; save the new pair before it is used."""
        async with self._lock:
            if self._refresh_lock is None:
                return await self._refresh_locked(stale)
            return await self._refresh_lock(lambda: self._refresh_locked(stale))

    async def _refresh_locked(self, stale: str) -> TokenPair:
        """Under the lock: re-read the stored pair, and exchange only if it is still the stale one."""
        stored = await self.store.load()
        if stored is not None and stored.access_token != stale:
            self._pair = stored  # someone refreshed while we waited for the lock
            return stored
        current = stored or self._pair
        if current is None:
            raise ZaloTokenError("no Zalo OA refresh token stored")
        new = await self._exchange(current.refresh_token)
        # The old refresh token is spent now: losing the new pair would lock us out for good.
        await self.store.save(new)
        self._pair = new
        log.info("zalo token refreshed; access token valid until %s", new.expires_at)
        return new

    async def _exchange(self, refresh_token: str) -> TokenPair:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "app_id": self.app_id}
        try:
            async with self.session.post(
                self.oauth_base + "/v4/oa/access_token",
                data=form,
                headers={"secret_key": self._app_secret},
                timeout=self.timeout,
            ) as resp:
                if resp.status >= 500:
                    raise ZaloTransportError(f"Zalo OAuth answered HTTP {resp.status}")
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ZaloTransportError(f"Zalo OAuth unreachable: {type(exc).__name__}") from exc
        if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
            code = body.get("error") if isinstance(body, dict) else None
            name = (body.get("error_name") or body.get("message")) if isinstance(body, dict) else None
            raise ZaloTokenError(f"token refresh refused: {name or 'no token in answer'}", code)
        expires_at = None
        try:  # a string of seconds in the answers seen so far (unconfirmed); a number works too
            expires_at = self.clock() + timedelta(seconds=float(str(body.get("expires_in"))))
        except ValueError:
            pass
        return TokenPair(str(body["access_token"]), str(body["refresh_token"]), expires_at)


# ---- images ------------------------------------------------------------------------------------


def fit_image(data: bytes, limit: int = IMAGE_LIMIT) -> tuple[bytes, str]:
    """Return (bytes, mime) Zalo accepts: JPEG/PNG ≤ limit, recompressing (and if needed shrinking) as JPEG."""
    is_jpeg, is_png = data.startswith(b"\xff\xd8\xff"), data.startswith(b"\x89PNG")
    if len(data) <= limit and (is_jpeg or is_png):
        return data, "image/jpeg" if is_jpeg else "image/png"
    try:
        with Image.open(io.BytesIO(data)) as src:
            img = ImageOps.exif_transpose(src).convert("RGB")  # JPEG re-encoding drops EXIF: keep phones upright
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ZaloError(f"not an image Zalo can take: {type(exc).__name__}") from exc
    for scale in (1.0, 0.85, 0.7, 0.55, 0.4, 0.3, 0.2):
        size = (max(1, int(img.width * scale)), max(1, int(img.height * scale)))
        frame = img if scale == 1.0 else img.resize(size, Image.Resampling.LANCZOS)
        for quality in (85, 70, 55):
            out = io.BytesIO()
            frame.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= limit:
                return out.getvalue(), "image/jpeg"
    raise ZaloError("image cannot be compressed under Zalo's 1 MB limit")
