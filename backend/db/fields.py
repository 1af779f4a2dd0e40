"""Field types of our own."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise import fields


class UtcDatetimeField(fields.DatetimeField):
    """A datetime stored in UTC, whatever zone it came in.

    SQLite keeps datetimes as text and compares them as text: "17:00+07:00" and "10:00+00:00"
    are the same instant but do not sort as one. Storing (and filtering with) UTC only keeps
    ``appointment_at__lte=now`` right on SQLite as on PostgreSQL.
    """

    def to_db_value(self, value: Any, instance: Any) -> Any:
        value = super().to_db_value(value, instance)
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC)
        return value
