"""A local Zalo OA Open API server (v3 messages, v2 uploads, v4 OAuth) for tests and benchmarks.

Speaks what /work/shared/CHANNELS.md and docs/channels.md describe: the token in a bare
``access_token`` header, errors as HTTP 200 with ``{"error": <int ≠ 0>, "message"}``, uploads
as multipart ``file``, single-use refresh tokens. Serve both bases from it:
``ZaloOaClient(api_base=oa.url, oauth_base=oa.url, ...)``.

Error codes the fake answers where the real one is unconfirmed (docs/channels.md lists them):
-201 invalid parameters, -210 upload too large or of the wrong type, -14014 bad refresh token,
-14002 bad app secret.

Test side: ``async with FakeZaloOa() as oa`` (``.url``, ``.app_id``, ``.app_secret``,
``.oa_secret_key``, ``.oa_id``, ``.pair`` = current (access, refresh)); ``sent``,
``sent_to(user)``, ``await wait_for(pred, timeout, user_id=, new_only=)``; ``refresh_count``,
``calls[path]``, ``token_uses[token]``; ``add_user(user_id, name)``; ``add_attachment(data, mime,
name) -> url``; faults ``expire_access_token()`` (-216), ``rate_limit(times, path=None)`` (-32),
``outside_window(user, code=-230)`` / ``reachable(user)``, ``expire_uploads()`` /
``expire_next_uploads(n)`` (-100), ``fail_next(code, message, times=, path=)``; webhooks
``make_webhook(event, user, text=None, attachments=None, msg_id=None, forged=False,
timestamp=None) -> (raw, headers)``, ``webhook_body(...)``, ``sign(raw)``, ``await deliver(url,
raw, headers)``; helpers ``image_attachment(url)``, ``file_attachment(url, name, size)``.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import secrets
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from tests.fakes.serving import FakeServer, serve

JSON = dict[str, Any]
Predicate = Callable[["ZaloSent"], bool]

IMAGE_LIMIT = 1024 * 1024  # JPEG/PNG ≤ 1 MB
FILE_LIMIT = 5 * 1024 * 1024  # PDF ≤ 5 MB
TEXT_LIMIT = 2000
BUTTON_TYPES = {"oa.query.show", "oa.query.hide", "oa.open.url", "oa.open.phone", "oa.open.sms"}


@dataclass
class Upload:
    kind: str  # "image" | "file"
    data: bytes
    filename: str | None
    mime_type: str
    expired: bool = False


@dataclass
class ZaloSent:
    """One message the OA sent, as the fake understood it."""

    recipient: str
    message_id: str
    text: str | None = None
    buttons: list[JSON] = field(default_factory=list)  # raw button objects of a template
    image: bytes | None = None
    file: bytes | None = None
    filename: str | None = None
    raw: JSON = field(default_factory=dict)  # the whole "message" object
    time: float = field(default_factory=time.monotonic)

    @property
    def button_payloads(self) -> list[Any]:
        return [b.get("payload") for b in self.buttons]


class FakeZaloOa(FakeServer):
    """Local aiohttp server speaking the Zalo OA Open API; records what the OA sends."""

    def __init__(
        self,
        *,
        app_id: str = "3141592653589793238",
        app_secret: str = "fake-app-secret",
        oa_secret_key: str = "fake-oa-secret-key",
        oa_id: str = "579745863508352884",
        access_token_ttl: int = 90000,
        button_payload: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        """``button_payload`` "string" or "object" makes the fake refuse the other oa.query.* payload shape."""
        self.app_id = app_id
        self.app_secret = app_secret
        self.oa_secret_key = oa_secret_key
        self.oa_id = oa_id
        self.access_token_ttl = access_token_ttl
        self.button_payload = button_payload
        self.host, self.port = host, port
        self.url = ""
        self.sent: list[ZaloSent] = []
        self.calls: Counter[str] = Counter()  # per path
        self.token_uses: Counter[str] = Counter()  # API calls per access token presented
        self.refresh_count = 0
        self.users: dict[str, str] = {}  # user_id -> display_name
        self.uploads: dict[str, Upload] = {}
        self.access_token = ""
        self.refresh_token = ""
        self._valid_access: set[str] = set()
        self._by_user: dict[str, list[ZaloSent]] = defaultdict(list)
        self._unreachable: dict[str, int] = {}
        self._faults: dict[str | None, deque[tuple[int, str]]] = defaultdict(deque)
        self._expire_next_uploads = 0
        self._files: dict[str, tuple[bytes, str]] = {}
        self._waiters: dict[str | None, list[tuple[Predicate, asyncio.Future[ZaloSent]]]] = defaultdict(list)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._issue_pair()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)  # refuse big uploads the Zalo way, not with 413
        app.router.add_post("/v3.0/oa/message/cs", self._send)
        app.router.add_post("/v2.0/oa/upload/image", self._upload_image)
        app.router.add_post("/v2.0/oa/upload/file", self._upload_file)
        app.router.add_get("/v3.0/oa/user/detail", self._user_detail)
        app.router.add_post("/v4/oa/access_token", self._token)
        app.router.add_get("/files/{file_id}/{name}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner, self.port, self.url = await serve(app, self.host, self.port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- test-side API ---------------------------------------------------------------------

    @property
    def pair(self) -> tuple[str, str]:
        """The currently valid (access_token, refresh_token), to seed a client's token store."""
        return self.access_token, self.refresh_token

    def add_user(self, user_id: str, display_name: str) -> None:
        self.users[str(user_id)] = display_name

    def add_attachment(self, data: bytes, mime: str, name: str = "file") -> str:
        """Serve bytes a user 'sent'; returns the URL a webhook's attachment payload carries."""
        file_id = secrets.token_hex(8)
        self._files[file_id] = (data, mime)
        return f"{self.url}/files/{file_id}/{name}"

    def expire_access_token(self) -> None:
        """Every access token issued so far is now invalid: the next call answers -216."""
        self._valid_access.clear()

    def rate_limit(self, times: int = 1, path: str | None = None) -> None:
        """The next ``times`` API calls (to ``path``, or any) answer -32."""
        self.fail_next(-32, "Rate limit exceeded", times=times, path=path)

    def fail_next(self, code: int, message: str = "Injected error", *, times: int = 1, path: str | None = None) -> None:
        """The next ``times`` authorised API calls (to ``path``, or any) answer ``code``."""
        for _ in range(times):
            self._faults[path].append((code, message))

    def outside_window(self, user_id: str, code: int = -230) -> None:
        """Sends to this user answer ``code`` (-230 outside the reply window, -213 unfollowed, ...)."""
        self._unreachable[str(user_id)] = code

    def reachable(self, user_id: str) -> None:
        """The user wrote again: sends go through."""
        self._unreachable.pop(str(user_id), None)

    def expire_uploads(self) -> None:
        """Every attachment id / file token uploaded so far has expired (-100 when sent)."""
        for upload in self.uploads.values():
            upload.expired = True

    def expire_next_uploads(self, times: int = 1) -> None:
        """The next ``times`` uploads return ids that have already expired (-100 when sent)."""
        self._expire_next_uploads += times

    def sent_to(self, user_id: str) -> list[ZaloSent]:
        return list(self._by_user.get(str(user_id), []))

    async def wait_for(
        self,
        predicate: Predicate | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the test-side API asked for wait_for(predicate, timeout)
        *,
        user_id: str | None = None,
        new_only: bool = False,
    ) -> ZaloSent:
        """Return the first recorded message matching (already sent, unless new_only); else wait for one."""
        predicate = predicate or (lambda _m: True)
        key = None if user_id is None else str(user_id)
        if not new_only:
            for message in self.sent if key is None else self._by_user.get(key, []):
                if predicate(message):
                    return message
        future: asyncio.Future[ZaloSent] = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._waiters[key].append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            recent = [(m.recipient, m.text) for m in self.sent[-5:]]
            raise TimeoutError(f"no matching Zalo message within {timeout}s; last sent: {recent}") from None
        finally:
            waiting = self._waiters.get(key)
            if waiting is not None and entry in waiting:
                waiting.remove(entry)
                if not waiting:
                    del self._waiters[key]

    def sign(self, raw_body: bytes, secret: str | None = None) -> str:
        """The X-ZEvent-Signature value: mac=sha256(app_id + body + timestamp + OA secret key)."""
        body = json.loads(raw_body)
        material = str(body["app_id"]).encode() + raw_body + str(body["timestamp"]).encode()
        return "mac=" + hashlib.sha256(material + (secret or self.oa_secret_key).encode()).hexdigest()

    def make_webhook(
        self,
        event_name: str,
        user_id: str,
        text: str | None = None,
        attachments: list[JSON] | None = None,
        msg_id: str | None = None,
        *,
        forged: bool = False,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook call as Zalo would make it: (raw body, headers), signed — or forged with a wrong key."""
        body = self.webhook_body(event_name, user_id, text, attachments, msg_id, timestamp=timestamp)
        raw = json.dumps(body, ensure_ascii=False).encode()
        signature = self.sign(raw, "forged-" + secrets.token_hex(4) if forged else None)
        return raw, {"Content-Type": "application/json", "X-ZEvent-Signature": signature}

    async def deliver(self, url: str, raw_body: bytes, headers: dict[str, str]) -> int:
        """POST a webhook call (from make_webhook) to our endpoint like Zalo does; returns the HTTP status."""
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            async with session.post(url, data=raw_body, headers=headers) as resp:
                await resp.read()
                return resp.status

    def webhook_body(
        self,
        event_name: str,
        user_id: str,
        text: str | None = None,
        attachments: list[JSON] | None = None,
        msg_id: str | None = None,
        *,
        timestamp: int | None = None,
    ) -> JSON:
        """The parsed webhook body (see make_webhook for the signed bytes)."""
        ts = str(timestamp if timestamp is not None else int(time.time() * 1000))
        body: JSON = {
            "app_id": self.app_id,
            "user_id_by_app": f"app{user_id}",
            "event_name": event_name,
            "timestamp": ts,
        }
        if event_name in ("follow", "unfollow"):
            body.update(oa_id=self.oa_id, follower={"id": str(user_id)}, source="oa_follow_button")
            return body
        user, oa = {"id": str(user_id)}, {"id": self.oa_id}
        echo = event_name.startswith("oa_send")
        body.update(sender=oa if echo else user, recipient=user if echo else oa)
        message: JSON = {"msg_id": msg_id or secrets.token_hex(16)}
        if text is not None:
            message["text"] = text
        if attachments:
            message["attachments"] = attachments
        body["message"] = message
        return body

    # ---- server side -----------------------------------------------------------------------

    def _issue_pair(self) -> None:
        self.access_token = "AT-" + secrets.token_urlsafe(24)
        self.refresh_token = "RT-" + secrets.token_urlsafe(24)
        self._valid_access = {self.access_token}  # the previous access token dies with the refresh

    def _authorise(self, request: web.Request) -> JSON | None:
        """None when the call may proceed, else the error body; counts the call."""
        self.calls[request.path] += 1
        token = request.headers.get("access_token", "")
        self.token_uses[token] += 1
        if token not in self._valid_access:
            return _error(-216, "Access token is invalid")
        for key in (request.path, None):
            if self._faults.get(key):
                code, message = self._faults[key].popleft()
                return _error(code, message)
        return None

    async def _send(self, request: web.Request) -> web.Response:
        if (err := self._authorise(request)) is not None:
            return web.json_response(err)
        try:
            body = await request.json()
            user_id = str(body["recipient"]["user_id"])
            message = body["message"]
        except (ValueError, KeyError, TypeError):
            return web.json_response(_error(-201, "Parameters invalid: recipient.user_id and message required"))
        if user_id in self._unreachable:
            return web.json_response(_error(self._unreachable[user_id], "User is not reachable now"))
        record = ZaloSent(recipient=user_id, message_id=secrets.token_hex(16), raw=message)
        text = message.get("text")
        if text is not None:
            if not isinstance(text, str) or not text or len(text) > TEXT_LIMIT:
                return web.json_response(_error(-201, f"Parameters invalid: text must be 1..{TEXT_LIMIT} chars"))
            record.text = text
        attachment = message.get("attachment")
        if attachment is not None:
            problem = self._read_attachment(attachment, record)
            if problem is not None:
                return web.json_response(problem)
        elif text is None:
            return web.json_response(_error(-201, "Parameters invalid: empty message"))
        self._record(record)
        return web.json_response(
            {"error": 0, "message": "Success", "data": {"message_id": record.message_id, "user_id": user_id}}
        )

    def _read_attachment(self, attachment: JSON, record: ZaloSent) -> JSON | None:
        kind = attachment.get("type")
        payload = attachment.get("payload") or {}
        if kind == "file":
            upload = self.uploads.get(str(payload.get("token")))
            if upload is None or upload.kind != "file":
                return _error(-201, "Parameters invalid: unknown file token")
            if upload.expired:
                return _error(-100, "Attachment has expired, upload it again")
            record.file, record.filename = upload.data, upload.filename
            return None
        if kind != "template":
            return _error(-201, f"Parameters invalid: attachment type {kind!r}")
        if payload.get("template_type") == "media":
            elements = payload.get("elements") or []
            if len(elements) != 1 or elements[0].get("media_type") != "image":
                return _error(-201, "Parameters invalid: media template needs one image element")
            upload = self.uploads.get(str(elements[0].get("attachment_id")))
            if upload is None or upload.kind != "image":
                return _error(-201, "Parameters invalid: unknown attachment_id")
            if upload.expired:
                return _error(-100, "Attachment has expired, upload it again")
            record.image = upload.data
            return None
        buttons = payload.get("buttons")
        if not isinstance(buttons, list) or not buttons:
            return _error(-201, "Parameters invalid: template without buttons")
        for button in buttons:
            problem = self._check_button(button)
            if problem is not None:
                return _error(-201, f"Parameters invalid: {problem}")
        record.buttons = buttons
        return None

    def _check_button(self, button: JSON) -> str | None:
        title, kind, payload = button.get("title"), button.get("type"), button.get("payload")
        if not isinstance(title, str) or not 0 < len(title) <= 100:
            return "button title must be 1..100 chars"
        if kind not in BUTTON_TYPES:
            return f"button type {kind!r}"
        if kind.startswith("oa.query."):
            shape = "string" if isinstance(payload, str) else "object" if isinstance(payload, dict) else None
            if shape is None or (self.button_payload and shape != self.button_payload):
                return f"{kind} payload must be a {self.button_payload or 'string or object'}"
            if len(json.dumps(payload, ensure_ascii=False)) > 1000:
                return "button payload over 1000 chars"
        elif kind == "oa.open.url" and not (isinstance(payload, dict) and payload.get("url")):
            return "oa.open.url needs payload.url"
        return None

    async def _upload(self, request: web.Request, kind: str) -> web.Response:
        if (err := self._authorise(request)) is not None:
            return web.json_response(err)
        try:
            form = await request.post()
        except ValueError:
            return web.json_response(_error(-201, "Parameters invalid: multipart body expected"))
        part = form.get("file")
        if not isinstance(part, web.FileField):
            return web.json_response(_error(-201, "Parameters invalid: file is required"))
        data = part.file.read()
        if kind == "image":
            if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG")):
                return web.json_response(_error(-210, "Image must be JPEG or PNG"))
            if len(data) > IMAGE_LIMIT:
                return web.json_response(_error(-210, "Image exceeds 1 MB"))
        else:
            if not data.startswith(b"%PDF"):
                return web.json_response(_error(-210, "File must be a PDF"))
            if len(data) > FILE_LIMIT:
                return web.json_response(_error(-210, "File exceeds 5 MB"))
        upload_id = secrets.token_hex(12)
        expired = self._expire_next_uploads > 0
        self._expire_next_uploads -= int(expired)
        self.uploads[upload_id] = Upload(kind, data, part.filename, part.content_type, expired=expired)
        key = "attachment_id" if kind == "image" else "token"
        return web.json_response({"error": 0, "message": "Success", "data": {key: upload_id}})

    async def _upload_image(self, request: web.Request) -> web.Response:
        return await self._upload(request, "image")

    async def _upload_file(self, request: web.Request) -> web.Response:
        return await self._upload(request, "file")

    async def _user_detail(self, request: web.Request) -> web.Response:
        if (err := self._authorise(request)) is not None:
            return web.json_response(err)
        try:
            user_id = str(json.loads(request.query["data"])["user_id"])
        except (KeyError, ValueError, TypeError):
            return web.json_response(_error(-201, 'Parameters invalid: data={"user_id": ...} required'))
        name = self.users.get(user_id, f"Người dùng {user_id[-4:]}")
        data = {
            "user_id": user_id,
            "user_id_by_app": f"app{user_id}",
            "display_name": name,
            "user_alias": "",
            "avatar": f"{self.url}/files/avatar/{user_id}.jpg",
            "user_is_follower": True,
            "shared_info": None,
        }
        return web.json_response({"error": 0, "message": "Success", "data": data})

    async def _token(self, request: web.Request) -> web.Response:
        self.calls[request.path] += 1
        form = await request.post()
        if request.headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
            return web.json_response(
                {
                    "error": -14002,
                    "error_name": "Invalid app id or secret key",
                    "error_description": "app_id / secret_key do not match",
                }
            )
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            # Single use: a spent refresh token is refused like an unknown one.
            return web.json_response(
                {
                    "error": -14014,
                    "error_name": "Invalid refresh token",
                    "error_description": "refresh_token is invalid or already used",
                }
            )
        self._issue_pair()
        self.refresh_count += 1
        return web.json_response(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": str(self.access_token_ttl),
            }
        )

    async def _download(self, request: web.Request) -> web.Response:
        stored = self._files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        return web.Response(body=stored[0], content_type=stored[1])

    async def _unknown(self, request: web.Request) -> web.Response:
        self.calls[request.path] += 1
        return web.json_response(_error(-201, f"Unknown endpoint {request.path}"), status=404)

    def _record(self, record: ZaloSent) -> None:
        self.sent.append(record)
        self._by_user[record.recipient].append(record)
        for predicate, future in [*self._waiters.get(record.recipient, ()), *self._waiters.get(None, ())]:
            if future.done():
                continue
            try:
                if predicate(record):
                    future.set_result(record)
            except Exception as exc:  # a broken predicate should fail the test, not the server
                future.set_exception(exc)


def _error(code: int, message: str) -> JSON:
    return {"error": code, "message": message}


def image_attachment(url: str, thumbnail: str | None = None) -> JSON:
    """A user_send_image attachment entry for make_webhook."""
    return {"type": "image", "payload": {"url": url, "thumbnail": thumbnail or url}}


def file_attachment(url: str, name: str, size: int, file_type: str = "pdf") -> JSON:
    """A user_send_file attachment entry for make_webhook (size is a string on the wire)."""
    return {
        "type": "file",
        "payload": {"url": url, "name": name, "size": str(size), "type": file_type, "checksum": secrets.token_hex(16)},
    }
