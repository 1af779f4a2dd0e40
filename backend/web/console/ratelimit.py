"""Per-client token buckets: the public lookup and the login form are rate-limited with them."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

from aiohttp import web

MAX_TRACKED = 50_000  # client addresses remembered; the idlest are forgotten first


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """A token bucket per client address: ``rate`` per minute, bursts up to ``rate``."""

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:  # noqa: ANN001
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0
        self.clock = clock
        self.buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """Take one token: 0 when allowed, else the seconds until one is available."""
        now = self.clock()
        b = self.buckets.get(key)
        if b is None:
            if len(self.buckets) >= MAX_TRACKED:
                for k, _ in sorted(self.buckets.items(), key=lambda kv: kv[1].at)[: MAX_TRACKED // 10]:
                    del self.buckets[k]
            b = self.buckets[key] = _Bucket(self.capacity, now)
        b.tokens = min(self.capacity, b.tokens + (now - b.at) * self.refill)
        b.at = now
        if b.tokens >= 1:
            b.tokens -= 1
            return 0.0
        return (1 - b.tokens) / self.refill


def client_address(request: web.Request) -> str:
    """The client's address; X-Forwarded-For is believed only from a proxy on this host
    (deploy/nginx.conf sets it to the real peer)."""
    peer = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    try:
        local = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        local = False
    if local and forwarded:
        return forwarded.split(",")[-1].strip()[:64]
    return peer
