"""The retention policy: personal data is deleted once its purpose is served (Decree 13/2023/NĐ-CP).

One pass (``purge``) deletes, each after its configured period: the files of attachments of
finished dossiers (the row and the dossier stay: they are the agency's records), attachments
never filed in a dossier, idle conversation states, old web chat mailboxes, and the
bookkeeping rows (tokens, sessions, handled events, rate buckets, throttles) that have expired.
See docs/privacy.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tortoise.expressions import Q

from backend.db.models import (
    Attachment,
    AuthThrottle,
    ConsoleSession,
    ConversationState,
    HistoryEntry,
    WebchatMessage,
    WebchatSession,
)
from backend.domain.workflow import Status
from backend.services import files, idempotency, inbox, ratelimits, tokens
from backend.services.context import ServiceContext
from backend.services.storage import FileStore
from backend.settings import RetentionSettings

log = logging.getLogger(__name__)

WEBCHAT_CHANNEL = "webchat"
BOOKKEEPING_GRACE = timedelta(days=1)  # expired tokens, ended sessions, idle buckets and throttles
EVENT_DAYS = 7  # handled webhook event ids: no channel retries one that late
SPOOLED_UPLOAD_AGE = timedelta(days=1)  # chat uploads left spooled: their turn ended long ago
_CHUNK = 500  # ids per IN (...) list, well under SQLite's and PostgreSQL's parameter limits

# Dossiers whose photos are no longer needed: the procedure is over for the citizen.
_ENDED = (Status.REJECTED.value, Status.CLOSED.value)


async def purge(ctx: ServiceContext, policy: RetentionSettings) -> dict[str, int]:
    """One retention pass; returns how many of each kind were deleted."""
    now = ctx.clock.now()
    root = Path(ctx.files_dir)
    counts: dict[str, int] = {}
    paths: set[str] = set()

    counts["closed_attachments"] = await _purge_closed_attachments(
        now, now - timedelta(days=policy.closed_attachment_days), paths)
    counts["orphan_attachments"] = await _purge_orphans(now - timedelta(days=policy.orphan_attachment_days), paths)
    counts["conversations"] = await ConversationState.filter(
        updated_at__lt=now - timedelta(days=policy.conversation_days)).delete()

    old = await WebchatMessage.filter(created_at__lt=now - timedelta(days=policy.webchat_days)).values_list(
        "id", "file_path")
    counts["webchat_messages"] = await _delete_messages(old, ctx.files)
    counts["webchat_sessions"], ended_messages = await _purge_webchat_sessions(now - BOOKKEEPING_GRACE, ctx.files)
    counts["webchat_messages"] += ended_messages

    day_ago = now - BOOKKEEPING_GRACE
    counts["console_sessions"] = await ConsoleSession.filter(
        Q(revoked_at__lt=day_ago) | Q(expires_at__lt=day_ago)).delete()
    counts["tokens"] = await tokens.purge(before=day_ago)
    counts["events"] = await inbox.purge(before=now - timedelta(days=EVENT_DAYS))
    counts["idempotency"] = await idempotency.purge(before=now - timedelta(days=EVENT_DAYS))
    counts["rate_buckets"] = await ratelimits.purge(
        older_than=BOOKKEEPING_GRACE.total_seconds(), now=now.timestamp())
    counts["auth_throttles"] = await AuthThrottle.filter(
        Q(blocked_until__isnull=True) | Q(blocked_until__lt=now), updated_at__lt=day_ago).delete()

    counts["spooled_uploads"] = await asyncio.to_thread(
        files.purge_spooled, files.spool_dir(root), older_than=SPOOLED_UPLOAD_AGE.total_seconds(),
        now=now.timestamp())
    counts["files"] = await _delete_unreferenced(paths, ctx.files)
    return counts


async def _purge_closed_attachments(now: datetime, cutoff: datetime, paths: set[str]) -> int:
    """Delete the files of finished dossiers' attachments; the rows stay, marked purged.

    The OCR readings go with the photo: what the officer accepted is in the dossier's form.
    """
    ended = Q(dossier__status__in=_ENDED) & (
        Q(dossier__closed_at__lt=cutoff) | Q(dossier__closed_at__isnull=True, dossier__finished_at__lt=cutoff))
    rows = list(await Attachment.filter(ended, purged_at__isnull=True).values_list("id", "stored_path"))
    returned = await HistoryEntry.filter(to_status=Status.RETURNED.value, at__lt=cutoff,
                                         dossier__status=Status.RETURNED.value).values_list("dossier_id", flat=True)
    for chunk in _chunks(sorted(set(returned))):
        rows += await Attachment.filter(dossier_id__in=chunk, purged_at__isnull=True).values_list("id", "stored_path")
    done = 0
    for chunk in _chunks([r[0] for r in rows]):
        done += await Attachment.filter(id__in=chunk, purged_at__isnull=True).update(
            stored_path="", purged_at=now, ocr=None)
    paths.update(p for _, p in rows if p)
    return done


async def _purge_orphans(cutoff: datetime, paths: set[str]) -> int:
    """Delete attachments never filed in a dossier, unless a recent conversation still holds them."""
    rows = await Attachment.filter(dossier_id__isnull=True, created_at__lt=cutoff).values_list("id", "stored_path")
    if not rows:
        return 0
    live: set[int] = set()
    for data in await ConversationState.filter(updated_at__gte=cutoff).values_list("data", flat=True):
        live.update(_attachment_ids(data))
    doomed = [(i, p) for i, p in rows if i not in live]
    done = 0
    for chunk in _chunks([i for i, _ in doomed]):
        done += await Attachment.filter(id__in=chunk, dossier_id__isnull=True).delete()
    paths.update(p for _, p in doomed if p)
    return done


def _attachment_ids(data: Any) -> set[int]:
    """The attachment ids a conversation keeps under ``files`` (a list, or lists per paper)."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return set()
    files = data.get("files") if isinstance(data, dict) else None
    found: set[int] = set()
    stack = [files]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            found.add(item)
    return found


async def _purge_webchat_sessions(before: datetime, store: FileStore) -> tuple[int, int]:
    """Delete web chat sessions ended or expired before ``before``, with their mailbox and state."""
    keys = await WebchatSession.filter(Q(ended_at__lt=before) | Q(expires_at__lt=before)).values_list(
        "user_key", flat=True)
    sessions = messages = 0
    for chunk in _chunks(list(keys)):
        messages += await _delete_messages(
            await WebchatMessage.filter(session__in=chunk).values_list("id", "file_path"), store)
        await ConversationState.filter(channel=WEBCHAT_CHANNEL, user_id__in=chunk).delete()
        sessions += await WebchatSession.filter(user_key__in=chunk).delete()
    return sessions, messages


async def _delete_messages(rows: Sequence[tuple[int, str]], store: FileStore) -> int:
    done = 0
    for chunk in _chunks([i for i, _ in rows]):
        done += await WebchatMessage.filter(id__in=chunk).delete()
    await _delete_files(store, [p for _, p in rows if p])  # one file per message
    return done


async def _delete_unreferenced(paths: Iterable[str], store: FileStore) -> int:
    """Delete the files no attachment row points to any more (files are shared by content hash)."""
    gone = []
    for p in sorted(set(paths)):
        if not await Attachment.filter(stored_path=p).exists():
            gone.append(p)
    return await _delete_files(store, gone)


async def _delete_files(store: FileStore, keys: Iterable[str]) -> int:
    """Delete stored files, but only keys inside the store, whatever a row says."""
    done = 0
    for key in keys:
        try:
            if not await store.exists(key):
                continue
            await store.delete(key)
        except ValueError:
            log.warning("retention: skipped a stored path outside the files directory")
            continue
        done += 1
    return done


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]
