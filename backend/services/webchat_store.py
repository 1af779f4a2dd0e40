"""The web chat's mailbox in the database: what the bot sent waits there until the page reads
it, across restarts and workers (Telegram and Zalo keep their own copies; the web chat has
only us)."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.functions import Max

from backend.db.models import WebchatMessage
from backend.domain.messages import DELIVERY_KEY
from backend.services import wakeups
from backend.services.storage import FileStore, LocalFileStore

log = logging.getLogger(__name__)

KEEP = 200  # messages returned to a page that starts over
PREFIX = "webchat"  # file keys: webchat/<file id>

# The process's file store, for ``forget`` called where no store is at hand (ending a session).
_files: FileStore | None = None


class DbWebchatStore:
    def __init__(self, files: FileStore | Path) -> None:
        global _files
        self.files: FileStore = LocalFileStore(files) if isinstance(files, Path) else files
        _files = self.files

    async def last(self, session: str) -> int:
        row = await WebchatMessage.filter(session=session).annotate(m=Max("seq")).values_list("m", flat=True)
        return int(row[0] or 0) if row else 0

    async def append(self, session: str, item: dict[str, Any], file: tuple[bytes, str, str] | None) -> int:
        """Store one message (and its file); returns its sequence number in the session.

        A message sent again under the same delivery key (a reply or notice the dispatcher
        resends because a crash came between storing it and marking it sent) is stored once."""
        key = DELIVERY_KEY.get()
        file_id, path, mime, name = None, "", "", ""
        if file is not None:
            data, mime, name = file
            file_id = secrets.token_urlsafe(12)
            path = f"{PREFIX}/{file_id}"
            await self.files.put(path, data, mime)
            item = item | {"file": f"/chat/api/file/{file_id}"}
        for _ in range(5):  # two senders at once: the unique (session, seq) decides
            seq = await self.last(session) + 1
            try:
                await WebchatMessage.create(session=session, seq=seq, item=item | {"seq": seq}, file_id=file_id,
                                            file_path=path, mime_type=mime, filename=name, delivery_key=key)
            except IntegrityError:
                # The unique key decides, without a read first: a resend of the same delivery
                # keeps the first copy (and drops the file it just wrote).
                if key and (done := await WebchatMessage.get_or_none(delivery_key=key)) is not None:
                    if file_id is not None:
                        await self.files.delete(path)
                    return done.seq
                continue
            await wakeups.publish(wakeups.WEBCHAT, session)  # a long poll held by another worker
            return seq
        raise RuntimeError("could not number a web chat message")

    async def forget(self, session: str) -> None:
        await forget(session, self.files)

    async def since(self, session: str, after: int) -> list[dict[str, Any]]:
        rows = await WebchatMessage.filter(session=session, seq__gt=after).order_by("-seq").limit(KEEP)
        return [r.item for r in reversed(rows)]

    async def file(self, session: str, file_id: str) -> tuple[bytes, str, str] | None:
        row = await WebchatMessage.get_or_none(session=session, file_id=file_id)
        if row is None or not row.file_path:
            return None
        try:
            data = await self.files.get(row.file_path)
        except ValueError:  # a key no store accepts
            return None
        if data is None:
            return None
        return data, row.mime_type, row.filename


async def forget(session: str, files: FileStore | None = None) -> None:
    """Delete a session's messages and the files they carried."""
    files = files or _files
    paths = await WebchatMessage.filter(session=session).exclude(file_path="").values_list("file_path", flat=True)
    await WebchatMessage.filter(session=session).delete()
    for path in paths:
        await delete_quietly(files, str(path))


async def delete_quietly(files: FileStore | None, key: str) -> bool:
    """Delete one stored file; False (and a warning) when the key is refused or no store is known."""
    if files is None:
        log.warning("web chat: no file store to delete a message's file from")
        return False
    try:
        await files.delete(key)
    except ValueError:
        log.warning("web chat: skipped a stored file key outside the store")
        return False
    return True
