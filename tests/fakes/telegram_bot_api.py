"""A local Telegram Bot API server for tests and benchmarks, good enough for the real PTB v22.

Point python-telegram-bot at it with
``ApplicationBuilder().token(api.token).base_url(f"{api.url}/bot").base_file_url(f"{api.url}/file/bot")``.
Protocol facts it keeps (docs/channels.md): calls are ``POST /bot<token>/<method>``, form-encoded or
multipart, objects as JSON strings; HTTP status equals ``error_code``; unknown methods answer 400
because a 401/404 makes PTB raise ``InvalidToken`` and stop polling for good.

Every well-formed token (``<digits>:<anything>``) is a bot of its own, created on first use, so
one server can stand in for many bots in a benchmark; ``api.token`` is the default one.

Test side: ``async with FakeBotApi() as api`` (``.url``, ``.token``); ``add_file(data, mime,
file_name=None) -> file_id``; ``push_text / push_photo / push_document / push_sticker / push_voice /
push_location / push_contact / push_callback / push_message / push_update`` queue an Update for
getUpdates and return its dict (``await api.deliver(update)`` POSTs it to the webhook set by
setWebhook, with the secret header); ``sent``, ``sent_to(chat)``, ``texts_to(chat)``,
``await wait_for(pred, timeout, chat_id=, new_only=)``; ``calls[method]``; ``fail_next(method,
status=429, retry_after=1, times=1)``; ``block(chat)`` / ``unblock(chat)`` (403);
``file_bytes(file_id)``; ``pending()``. All push_* take ``token=`` for another bot.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import ClientSession, ClientTimeout, web

from tests.fakes.serving import FakeServer, serve

JSON = dict[str, Any]
Predicate = Callable[["SentMessage"], bool]

_SIMPLE_TRUE = {
    "sendChatAction",
    "answerCallbackQuery",
    "deleteMessage",
    "setMyCommands",
    "deleteMyCommands",
    "setChatMenuButton",
    "logOut",
    "close",
}
_MAX_UPLOAD = 60 * 1024 * 1024  # Bot API allows 50 MB uploads; leave room for multipart overhead


class ApiError(Exception):
    """A Bot API error answer: HTTP status == error_code, as the real server does."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    mime_type: str
    file_name: str | None
    file_path: str


@dataclass
class SentMessage:
    """One bot→user call the fake recorded (sends and edits)."""

    method: str
    chat_id: int | str
    message_id: int
    text: str | None = None
    caption: str | None = None
    reply_markup: JSON | None = None
    parse_mode: str | None = None
    photo: bytes | None = None
    document: bytes | None = None
    file_name: str | None = None
    mime_type: str | None = None
    token: str = ""
    time: float = field(default_factory=time.monotonic)

    @property
    def buttons(self) -> list[list[JSON]]:
        """Inline keyboard rows, or [] when the message has none."""
        return (self.reply_markup or {}).get("inline_keyboard", [])

    @property
    def button_data(self) -> list[str]:
        """callback_data of every inline button, row by row."""
        return [b["callback_data"] for row in self.buttons for b in row if "callback_data" in b]


@dataclass
class _Bot:
    """Per-token state: pending updates, webhook, message ids per chat."""

    token: str
    user: JSON
    updates: deque[JSON] = field(default_factory=deque)
    pollers: list[asyncio.Future[None]] = field(default_factory=list)  # long polls waiting for updates
    next_update_id: int = 1
    webhook: JSON = field(default_factory=lambda: {"url": ""})
    message_ids: Counter[str] = field(default_factory=Counter)
    messages: dict[tuple[str, int], JSON] = field(default_factory=dict)  # (chat, id) -> Message


class FakeBotApi(FakeServer):
    """Local aiohttp server speaking the Telegram Bot API; records what bots send."""

    def __init__(self, token: str = "123456:TEST-token_abc", *, host: str = "127.0.0.1", port: int = 0):
        self.token = token
        self.host = host
        self.port = port
        self.url = ""
        self.sent: list[SentMessage] = []
        self.calls: Counter[str] = Counter()
        self.blocked: set[str] = set()
        self._by_chat: dict[str, list[SentMessage]] = defaultdict(list)
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        self._bots: dict[str, _Bot] = {}
        self._faults: dict[str, deque[ApiError]] = defaultdict(deque)
        # Waiters indexed by chat (None: any chat), so recording a message only looks at its own chat's.
        self._waiters: dict[str | None, list[tuple[Predicate, asyncio.Future[SentMessage]]]] = defaultdict(list)
        self._ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one) and set ``url``."""
        app = web.Application(client_max_size=_MAX_UPLOAD)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner, self.port, self.url = await serve(app, self.host, self.port)

    async def close(self) -> None:
        """Release long polls at once, then stop the server."""
        self._closing.set()
        for bot in self._bots.values():
            _wake(bot)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- test-side API: files and incoming updates ---------------------------------------

    def add_file(self, data: bytes, mime: str, file_name: str | None = None) -> str:
        """Store bytes the user 'uploaded'; returns a file_id usable in push_* and getFile."""
        n = next(self._ids)
        folder = "photos" if mime.startswith("image/") else "documents"
        ext = _extension(mime, file_name)
        # A unique, relative path that will not exist on disk: PTB reads local paths directly.
        path = f"{folder}/fake-{secrets.token_hex(6)}-{n}{ext}"
        stored = StoredFile(f"FILE{n}-{secrets.token_hex(8)}", f"U{n}", data, mime, file_name, path)
        self._files[stored.file_id] = stored
        self._paths[path] = stored
        return stored.file_id

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes behind a file_id (including files the bot uploaded)."""
        return self._files[file_id].data

    def push_text(self, chat_id: int, text: str, user: JSON | None = None, *, token: str | None = None) -> JSON:
        """Queue a text message from the user; a leading /command gets its bot_command entity."""
        fields: JSON = {"text": text}
        if text.startswith("/"):
            length = len(text.split()[0])
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(text[:length])}]
        return self.push_message(chat_id, fields, user=user, token=token)

    def push_photo(
        self,
        chat_id: int,
        file_id: str,
        caption: str | None = None,
        user: JSON | None = None,
        *,
        token: str | None = None,
    ) -> JSON:
        """Queue a photo message; sizes are [thumbnail, original] like Telegram's (largest last)."""
        fields: JSON = {"photo": self._photo_sizes(self._files[file_id])}
        if caption is not None:
            fields["caption"] = caption
        return self.push_message(chat_id, fields, user=user, token=token)

    def push_document(
        self,
        chat_id: int,
        file_id: str,
        file_name: str | None = None,
        mime: str | None = None,
        caption: str | None = None,
        user: JSON | None = None,
        *,
        token: str | None = None,
    ) -> JSON:
        """Queue a document (file) message."""
        f = self._files[file_id]
        doc = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
            "file_name": file_name or f.file_name or "file",
            "mime_type": mime or f.mime_type,
        }
        fields: JSON = {"document": doc}
        if caption is not None:
            fields["caption"] = caption
        return self.push_message(chat_id, fields, user=user, token=token)

    def push_sticker(
        self, chat_id: int, emoji: str = "👍", user: JSON | None = None, *, token: str | None = None
    ) -> JSON:
        """Queue a sticker message (a small WebP file behind it)."""
        file_id = self.add_file(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp")
        f = self._files[file_id]
        sticker = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(f.data),
        }
        return self.push_message(chat_id, {"sticker": sticker}, user=user, token=token)

    def push_voice(
        self,
        chat_id: int,
        file_id: str | None = None,
        duration: int = 3,
        user: JSON | None = None,
        *,
        token: str | None = None,
    ) -> JSON:
        """Queue a voice note (OGG/Opus)."""
        file_id = file_id or self.add_file(b"OggS\x00fake-voice", "audio/ogg")
        f = self._files[file_id]
        voice = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "duration": duration,
            "mime_type": f.mime_type,
            "file_size": len(f.data),
        }
        return self.push_message(chat_id, {"voice": voice}, user=user, token=token)

    def push_location(
        self,
        chat_id: int,
        latitude: float,
        longitude: float,
        user: JSON | None = None,
        *,
        token: str | None = None,
    ) -> JSON:
        """Queue a shared location."""
        return self.push_message(
            chat_id, {"location": {"latitude": latitude, "longitude": longitude}}, user=user, token=token
        )

    def push_contact(
        self,
        chat_id: int,
        phone_number: str,
        first_name: str = "Người dùng",
        user: JSON | None = None,
        *,
        token: str | None = None,
    ) -> JSON:
        """Queue a shared contact (the 'share my phone number' button sends one)."""
        user = user or _user(chat_id)
        contact = {"phone_number": phone_number, "first_name": first_name, "user_id": user["id"]}
        return self.push_message(chat_id, {"contact": contact}, user=user, token=token)

    def push_message(self, chat_id: int, fields: JSON, user: JSON | None = None, *, token: str | None = None) -> JSON:
        """Queue a message update with arbitrary Message fields (text, photo, ...)."""
        bot = self._bot(token or self.token)
        user = user or _user(chat_id)
        message_id = self._next_message_id(bot, chat_id)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat(chat_id, user),
            "from": user,
            **fields,
        }
        bot.messages[(str(chat_id), message_id)] = message
        return self._queue(bot, {"message": message})

    def push_callback(
        self,
        chat_id: int,
        data: str,
        message_id: int | None = None,
        user: JSON | None = None,
        *,
        token: str | None = None,
    ) -> JSON:
        """Queue a button press on the bot's message ``message_id`` (default: its latest to the chat)."""
        bot = self._bot(token or self.token)
        user = user or _user(chat_id)
        if message_id is None:
            mine = [m for m in self._by_chat.get(str(chat_id), []) if m.token == bot.token]
            message_id = mine[-1].message_id if mine else 1
        message = bot.messages.get((str(chat_id), message_id)) or {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat(chat_id, user),
            "from": bot.user,
            "text": "…",
        }
        query = {
            "id": str(next(self._callback_ids)),
            "from": user,
            "chat_instance": f"ci{chat_id}",
            "message": message,
            "data": data,
        }
        return self._queue(bot, {"callback_query": query})

    def push_update(self, update: JSON, *, token: str | None = None) -> JSON:
        """Queue any update body; update_id is assigned here."""
        return self._queue(self._bot(token or self.token), dict(update))

    def pending(self, token: str | None = None) -> int:
        """Updates queued and not yet confirmed by an offset."""
        return len(self._bot(token or self.token).updates)

    async def deliver(self, update: JSON, *, token: str | None = None, url: str | None = None) -> int:
        """POST an update to the bot's webhook (as set by setWebhook) the way Telegram does; returns the status."""
        bot = self._bot(token or self.token)
        target = url or bot.webhook.get("url")
        if not target:
            raise RuntimeError("no webhook set for this bot")
        headers = {"Content-Type": "application/json"}
        if bot.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = bot.webhook["secret_token"]
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            async with session.post(target, data=json.dumps(update), headers=headers) as resp:
                await resp.read()
                return resp.status

    def block(self, chat_id: int | str) -> None:
        """The user blocked the bot: sends to the chat answer 403 Forbidden."""
        self.blocked.add(str(chat_id))

    def unblock(self, chat_id: int | str) -> None:
        """The user unblocked the bot."""
        self.blocked.discard(str(chat_id))

    # ---- test-side API: faults and observations -------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls to ``method`` answer ``status`` (429 carries retry_after)."""
        default = {
            429: f"Too Many Requests: retry after {retry_after}",
            400: "Bad Request: injected fault",
            403: "Forbidden: bot was blocked by the user",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }.get(status, "Injected fault")
        params = {"retry_after": retry_after} if status == 429 else None
        for _ in range(times):
            self._faults[method].append(ApiError(status, description or default, params))

    def sent_to(self, chat_id: int | str) -> list[SentMessage]:
        """Everything recorded for one chat, oldest first."""
        return list(self._by_chat.get(str(chat_id), []))

    def texts_to(self, chat_id: int | str) -> list[str]:
        """Text or caption of every message recorded for one chat."""
        return [m.text or m.caption or "" for m in self._by_chat.get(str(chat_id), [])]

    async def wait_for(
        self,
        predicate: Predicate | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the test-side API asked for wait_for(predicate, timeout)
        *,
        chat_id: int | str | None = None,
        new_only: bool = False,
    ) -> SentMessage:
        """Return the first recorded message matching (already sent, unless new_only); else wait for one.

        With ``chat_id`` only that chat's messages are looked at, which keeps many waiters cheap.
        """
        predicate = predicate or (lambda _m: True)
        key = None if chat_id is None else str(chat_id)
        if not new_only:
            pool = self.sent if key is None else self._by_chat.get(key, [])
            for message in pool:
                if predicate(message):
                    return message
        future: asyncio.Future[SentMessage] = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._waiters[key].append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            recent = [(m.method, m.chat_id, m.text or m.caption) for m in (self.sent[-5:])]
            raise TimeoutError(f"no matching message within {timeout}s; last sent: {recent}") from None
        finally:
            waiting = self._waiters.get(key)
            if waiting is not None and entry in waiting:
                waiting.remove(entry)
                if not waiting:
                    del self._waiters[key]

    # ---- server side -----------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = unquote(request.path)  # the token's ':' may arrive as %3A
        try:
            if path.startswith("/file/bot"):
                return self._download(path[len("/file/bot") :])
            if not path.startswith("/bot") or path.count("/") < 2:
                raise ApiError(404, "Not Found")
            token, _, method = path[len("/bot") :].partition("/")
            if not _token_ok(token):
                raise ApiError(401, "Unauthorized")
            self.calls[method] += 1
            if self._faults.get(method):
                raise self._faults[method].popleft()
            params = await _params(request)
            result = await self._call(self._bot(token), method, params)
            return web.json_response({"ok": True, "result": result})
        except ApiError as exc:
            body: JSON = {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
            return web.json_response(body, status=exc.status)

    def _download(self, rest: str) -> web.Response:
        token, _, file_path = rest.partition("/")
        stored = self._paths.get(file_path)
        if not _token_ok(token) or stored is None:
            raise ApiError(404, "Not Found")
        return web.Response(body=stored.data, content_type=stored.mime_type)

    async def _call(self, bot: _Bot, method: str, p: JSON) -> Any:
        if method == "getMe":
            return bot.user
        if method == "getUpdates":
            return await self._get_updates(bot, p)
        if method in ("deleteWebhook", "setWebhook"):
            if _flag(p.get("drop_pending_updates")):
                bot.updates.clear()
            bot.webhook = {"url": p.get("url", "") if method == "setWebhook" else ""}
            if method == "setWebhook" and p.get("secret_token"):
                bot.webhook["secret_token"] = p["secret_token"]
            return True
        if method == "getWebhookInfo":
            return {
                "url": bot.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(bot.updates),
            }
        if method == "getFile":
            stored = self._files.get(str(p.get("file_id")))
            if stored is None:
                raise ApiError(400, "Bad Request: invalid file_id")
            return {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
                "file_path": stored.file_path,
            }
        if method == "getChat":
            chat_id = self._check_chat(p.get("chat_id"))
            return {**_chat(chat_id, _user(int(chat_id))), "accent_color_id": 0, "max_reaction_count": 11}
        if method in _SIMPLE_TRUE:
            if "chat_id" in p:
                self._check_chat(p["chat_id"])
            return True
        if method in ("sendMessage", "sendPhoto", "sendDocument"):
            return self._send(bot, method, p)
        if method in ("editMessageText", "editMessageReplyMarkup", "editMessageCaption"):
            return self._edit(bot, method, p)
        raise ApiError(400, f"Bad Request: method {method} is not supported by the fake")

    async def _get_updates(self, bot: _Bot, p: JSON) -> list[JSON]:
        if bot.webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(p.get("offset") or 0)
        limit = min(int(p.get("limit") or 100), 100)
        timeout = float(p.get("timeout") or 0)
        if offset < 0:  # keep only the last -offset updates, as the Bot API does
            while len(bot.updates) > -offset:
                bot.updates.popleft()
        else:
            while bot.updates and bot.updates[0]["update_id"] < offset:
                bot.updates.popleft()
        if not bot.updates and timeout > 0 and not self._closing.is_set():
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            bot.pollers.append(waiter)
            try:
                await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                pass
            finally:
                if waiter in bot.pollers:
                    bot.pollers.remove(waiter)
        return list(itertools.islice(bot.updates, limit))

    def _send(self, bot: _Bot, method: str, p: JSON) -> JSON:
        chat_id = self._check_chat(p.get("chat_id"))
        markup = _json_field(p.get("reply_markup"))
        record = SentMessage(
            method=method,
            chat_id=chat_id,
            message_id=0,
            token=bot.token,
            parse_mode=p.get("parse_mode"),
            reply_markup=markup,
        )
        fields: JSON = {}
        if method == "sendMessage":
            text = p.get("text")
            if not text:
                raise ApiError(400, "Bad Request: message text is empty")
            if len(text) > 4096:
                raise ApiError(400, "Bad Request: message is too long")
            record.text = fields["text"] = text
        else:
            kind = "photo" if method == "sendPhoto" else "document"
            stored = self._input_file(p, kind)
            record.mime_type, record.file_name = stored.mime_type, stored.file_name
            if kind == "photo":
                record.photo = stored.data
                fields["photo"] = self._photo_sizes(stored)
            else:
                record.document = stored.data
                fields["document"] = {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_name": stored.file_name or "file",
                    "mime_type": stored.mime_type,
                    "file_size": len(stored.data),
                }
            if p.get("caption"):
                if len(p["caption"]) > 1024:
                    raise ApiError(400, "Bad Request: message caption is too long")
                record.caption = fields["caption"] = p["caption"]
        record.message_id = self._next_message_id(bot, chat_id)
        message = {
            "message_id": record.message_id,
            "date": int(time.time()),
            "chat": _chat(chat_id, _user(chat_id)),
            "from": bot.user,
            **fields,
        }
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        bot.messages[(str(chat_id), record.message_id)] = message
        self._record(record)
        return message

    def _edit(self, bot: _Bot, method: str, p: JSON) -> JSON:
        if "inline_message_id" in p:
            return True  # type: ignore[return-value]
        chat_id = self._check_chat(p.get("chat_id"))
        message_id = int(p.get("message_id") or 0)
        message = bot.messages.get((str(chat_id), message_id))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = _json_field(p.get("reply_markup"))
        new = dict(message, edit_date=int(time.time()))
        if method == "editMessageText":
            new["text"] = p.get("text")
        elif method == "editMessageCaption":
            new["caption"] = p.get("caption")
        new.pop("reply_markup", None)
        if markup and markup.get("inline_keyboard"):
            new["reply_markup"] = markup
        if new == dict(message, edit_date=new["edit_date"]):
            raise ApiError(400, "Bad Request: message is not modified")
        bot.messages[(str(chat_id), message_id)] = new
        self._record(
            SentMessage(
                method=method,
                chat_id=chat_id,
                message_id=message_id,
                text=new.get("text"),
                caption=new.get("caption"),
                reply_markup=markup,
                parse_mode=p.get("parse_mode"),
                token=bot.token,
            )
        )
        return new

    def _input_file(self, p: JSON, kind: str) -> StoredFile:
        """An uploaded file (multipart), an attach:// reference, or an existing file_id."""
        value = p.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.get(value[len("attach://") :])
        if isinstance(value, web.FileField):
            data = value.file.read()
            mime = value.content_type or "application/octet-stream"
            file_id = self.add_file(data, mime, value.filename)
            return self._files[file_id]
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        raise ApiError(400, f"Bad Request: wrong {kind} identifier or no file uploaded")

    def _photo_sizes(self, stored: StoredFile) -> list[JSON]:
        width, height = _image_size(stored.data)
        full = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": width,
            "height": height,
            "file_size": len(stored.data),
        }
        scale = 90 / max(width, height, 1)
        if scale >= 1:
            return [full]
        # Telegram lists several sizes, largest last; a handler must take photo[-1].
        thumb_id = stored.file_id + "-s"
        if thumb_id not in self._files:
            thumb = StoredFile(
                thumb_id,
                stored.file_unique_id + "s",
                _thumbnail(stored.data),
                "image/jpeg",
                None,
                stored.file_path + ".thumb.jpg",
            )
            self._files[thumb_id] = thumb
            self._paths[thumb.file_path] = thumb
        small = self._files[thumb_id]
        return [
            {
                "file_id": thumb_id,
                "file_unique_id": small.file_unique_id,
                "width": max(1, int(width * scale)),
                "height": max(1, int(height * scale)),
                "file_size": len(small.data),
            },
            full,
        ]

    # ---- helpers ---------------------------------------------------------------------------

    def _bot(self, token: str) -> _Bot:
        bot = self._bots.get(token)
        if bot is None:
            bot_id = int(token.split(":", 1)[0])
            user = {
                "id": bot_id,
                "is_bot": True,
                "first_name": "Một cửa",
                "username": f"motcua{bot_id}_bot",
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
            bot = self._bots[token] = _Bot(token=token, user=user)
        return bot

    def _queue(self, bot: _Bot, update: JSON) -> JSON:
        update["update_id"] = bot.next_update_id
        bot.next_update_id += 1
        bot.updates.append(update)
        _wake(bot)
        return update

    @staticmethod
    def _next_message_id(bot: _Bot, chat_id: int | str) -> int:
        bot.message_ids[str(chat_id)] += 1  # private chats number messages from both sides in one sequence
        return bot.message_ids[str(chat_id)]

    def _check_chat(self, chat_id: Any) -> int | str:
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if str(chat_id) in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        try:
            return int(chat_id)
        except (TypeError, ValueError):
            return str(chat_id)

    def _record(self, record: SentMessage) -> None:
        self.sent.append(record)
        key = str(record.chat_id)
        self._by_chat[key].append(record)
        for predicate, future in [*self._waiters.get(key, ()), *self._waiters.get(None, ())]:
            if future.done():
                continue
            try:
                if predicate(record):
                    future.set_result(record)
            except Exception as exc:  # a broken predicate should fail the test, not the server
                future.set_exception(exc)


def _wake(bot: _Bot) -> None:
    """Answer every long poll waiting on this bot."""
    for waiter in bot.pollers:
        if not waiter.done():
            waiter.set_result(None)
    bot.pollers.clear()


async def _params(request: web.Request) -> JSON:
    """Form, multipart or JSON parameters as one dict (multipart files stay FileField)."""
    if request.content_type == "application/json":
        body = await request.read()
        return json.loads(body) if body else {}
    params: JSON = dict(request.query)
    if request.method == "POST" and request.body_exists:
        params.update(await request.post())
    return params


def _json_field(value: Any) -> JSON | None:
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object") from None


def _flag(value: Any) -> bool:
    return str(value).lower() in ("true", "1")


def _token_ok(token: str) -> bool:
    head, sep, tail = token.partition(":")
    return bool(sep and head.isdigit() and tail)


def _user(chat_id: int) -> JSON:
    return {"id": int(chat_id), "is_bot": False, "first_name": "Người dùng", "language_code": "vi"}


def _chat(chat_id: int | str, user: JSON) -> JSON:
    return {"id": int(chat_id), "type": "private", "first_name": user.get("first_name", "Người dùng")}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # entity offsets count UTF-16 code units


def _extension(mime: str, file_name: str | None) -> str:
    if file_name and "." in file_name:
        return "." + file_name.rsplit(".", 1)[1]
    return {
        "image/jpeg": ".jpg",
        "image/png": ".png",
        "image/webp": ".webp",
        "application/pdf": ".pdf",
        "audio/ogg": ".oga",
    }.get(mime, ".bin")


def _image_size(data: bytes) -> tuple[int, int]:
    try:
        from io import BytesIO

        from PIL import Image

        with Image.open(BytesIO(data)) as img:
            return img.size
    except Exception:  # not an image Pillow knows: sizes are informative only
        return (1280, 960)


def _thumbnail(data: bytes) -> bytes:
    try:
        from io import BytesIO

        from PIL import Image

        with Image.open(BytesIO(data)) as img:
            img = img.convert("RGB")
            img.thumbnail((90, 90))
            out = BytesIO()
            img.save(out, "JPEG", quality=70)
            return out.getvalue()
    except Exception:
        return data
