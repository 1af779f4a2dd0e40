"""python-telegram-bot's network layer on aiohttp (PTB's ``BaseRequest`` interface).

PTB's default ``HTTPXRequest`` runs httpx → httpcore → anyio; under load its per-request
cost (cancel scopes, a readability check of every pooled connection before each request)
was about half the CPU of a chat turn in ``bench/chat.py``. aiohttp, the project's HTTP
client anyway, does the same requests with its C HTTP parser for much less. PTB still
builds every request and parses every answer; only the bytes travel differently.

Timeouts map onto aiohttp's: ``pool`` + ``connect`` → ``connect`` (aiohttp counts waiting
for a pooled connection there), ``connect`` → ``sock_connect``, ``read`` → ``sock_read``.
aiohttp has no write timeout; a stalled upload ends at the read timeout instead.
"""

from __future__ import annotations

import functools
import urllib.parse
import urllib.request
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """One aiohttp session with its own connection pool; give PTB one for its calls and
    another for ``getUpdates`` (a long poll must not take a sender's connection)."""

    def __init__(self, *, pool_size: int = 256, read_timeout: float | None = 15.0,
                 connect_timeout: float | None = 10.0, pool_timeout: float | None = 30.0,
                 media_read_timeout: float | None = 60.0) -> None:
        self.pool_size = pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_read_timeout = media_read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.pool_size, limit_per_host=self.pool_size),
                headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data is not None else None
        read = _given(read_timeout, self._media_read_timeout if files else self._read_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_read=read, sock_connect=connect,
            connect=None if pool is None or connect is None else pool + connect)
        body: Any = None
        if files:
            form = aiohttp.FormData(quote_fields=False)
            for name, value in (request_data.json_parameters if request_data else {}).items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            body = form
        elif request_data is not None and request_data.json_parameters:
            body = request_data.json_parameters  # form-encoded, as PTB's httpx request sends it
        try:
            async with self._session.request(method, url, data=body, timeout=timeout,
                                             proxy=_proxy_for(url)) as res:
                return res.status, await res.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


@functools.lru_cache(maxsize=16)
def _origin_proxy(scheme: str, host: str) -> str | None:
    proxies = urllib.request.getproxies()
    if scheme not in proxies or urllib.request.proxy_bypass(host):
        return None
    return proxies[scheme]


def _proxy_for(url: str) -> str | None:
    """HTTPS_PROXY / NO_PROXY from the environment, as PTB's httpx default honours them;
    read once per origin (aiohttp's ``trust_env`` looks them and ~/.netrc up in a thread on
    every request, which cost more than the request itself)."""
    parts = urllib.parse.urlsplit(url)
    return _origin_proxy(parts.scheme, parts.hostname or "")


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value  # BaseRequest.DEFAULT_NONE is one
