"""Start the chat channels inside the aiohttp app and register their senders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from backend.web.app import Runtime


async def start_channels(app: web.Application, rt: Runtime) -> Callable[[], Awaitable[None]]:
    """Start every configured channel; returns the coroutine function that stops them."""

    async def stop() -> None:
        return None

    return stop
