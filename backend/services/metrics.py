"""Prometheus metrics kept in the process (turns, OCR, 429s); the database figures are read
at scrape time by backend.web.observability.

With several worker processes set PROMETHEUS_MULTIPROC_DIR (an empty directory, wiped before
start) so the exposition sums every worker (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TURNS = Counter("motcua_turns", "Chat turns handled", ["channel", "outcome"])
TURN_SECONDS = Histogram("motcua_turn_seconds", "Time to handle one chat turn", ["channel"],
                         buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
OCR_SECONDS = Histogram("motcua_ocr_seconds", "Time to read one photo (OCR or QR)", ["kind"],
                        buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60))
RATE_LIMITED = Counter("motcua_rate_limited", "429s (rate limits) received from a chat platform", ["channel"])


def observe_turn(channel: str, seconds: float, outcome: str) -> None:
    """Count one turn (outcome: ok, error, duplicate, ...) and its latency."""
    TURNS.labels(channel=channel, outcome=outcome).inc()
    TURN_SECONDS.labels(channel=channel).observe(seconds)


def observe_ocr(kind: str, seconds: float) -> None:
    """One OCR read (kind: read or qr) and how long it took."""
    OCR_SECONDS.labels(kind=kind).observe(seconds)


def rate_limited(channel: str) -> None:
    """A platform answered 429 / its rate-limit error."""
    RATE_LIMITED.labels(channel=channel).inc()
