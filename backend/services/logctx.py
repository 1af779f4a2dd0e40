"""Log context and output: ids bound per request/update/dossier, JSON lines for production.

``bind``/``current`` live in the domain (the dispatcher, below the services, binds too).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from backend.domain.logctx import bind, current

__all__ = ["JsonFormatter", "TextFormatter", "bind", "configure", "current", "redact"]

# Long digit runs are ID-card numbers, phone numbers or chat user ids: never written to a log.
_DIGITS = re.compile(r"\+?\d(?:[ .]?\d){8,}")


def redact(text: str) -> str:
    """The text with anything that looks like an ID or phone number blanked."""
    return _DIGITS.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the bound ids, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update(current())
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The development format, with the bound ids appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record))
        ids = current()
        return line + (" [" + " ".join(f"{k}={v}" for k, v in ids.items()) + "]" if ids else "")


def configure(fmt: str = "text", level: int = logging.INFO) -> None:
    """Send the root logger's lines to stderr in ``json`` or ``text``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
