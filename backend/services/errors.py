"""Errors the use cases raise; each message is Vietnamese, readable by the person acting."""

from __future__ import annotations

from backend.domain.workflow import WorkflowError


class ServiceError(Exception):
    """Base of use-case errors. ``str(err)`` is shown to the user as is."""


class NotFound(ServiceError):
    pass


class Forbidden(ServiceError):
    pass


class Conflict(ServiceError):
    """The dossier changed since the actor looked at it (double tap, stale button)."""


class InvalidInput(ServiceError):
    pass


__all__ = ["ServiceError", "NotFound", "Forbidden", "Conflict", "InvalidInput", "WorkflowError"]
