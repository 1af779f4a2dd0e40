"""Start a fake server's aiohttp app on loopback (port 0 picks a free one)."""

from __future__ import annotations

from typing import Self

from aiohttp import web


class FakeServer:
    """A local protocol server used as ``async with Fake() as fake``: ``start`` and ``close``."""

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int, str]:
    """Run ``app``; returns its runner (to clean up), the port it got, and its base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port, f"http://{host}:{port}"
