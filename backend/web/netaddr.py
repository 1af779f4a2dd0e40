"""The client's address as the rate limits see it.

``X-Forwarded-For`` is believed only when the request comes from a configured trusted proxy
(``MOTCUA_TRUSTED_PROXIES``); then the address is the right-most one in the chain that is not
itself a trusted proxy. Anyone else can write that header, so from anyone else it is ignored.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    """Parse ``10.0.0.1``, ``10.0.0.0/8``, ``::1``; a bad entry is a configuration error."""
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def within(address: str, nets: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in nets)


def client_address(request: web.Request, trusted: tuple[str, ...] = ()) -> str:
    peer = request.remote or ""
    nets = networks(trusted)
    if not nets or not within(peer, nets):
        return peer
    chain = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
    for hop in reversed(chain):
        if not within(hop, nets):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: fall back to the proxy itself
    return peer
