"""Start a fake server's aiohttp app on loopback (port 0 picks a free one)."""

from __future__ import annotations

from aiohttp import web


async def serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int, str]:
    """Run ``app``; returns its runner (to clean up), the port it got, and its base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port, f"http://{host}:{port}"
