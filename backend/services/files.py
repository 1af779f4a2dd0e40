"""Owner-only files and directories under the data dir, whatever the process umask.

Photos of ID cards, PDFs and chat files are personal data: no other local user may read them.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o600
DIR_MODE = 0o700
UPLOADS = "uploads"  # files_dir/uploads: chat uploads spooled until their turn is handled


def private_dir(path: Path, root: Path | None = None) -> Path:
    """Create ``path`` (and parents) as 0700: every directory it creates, and every one up to ``root``."""
    path = Path(path)
    created = []
    p = path
    while not p.exists():
        created.append(p)
        if p.parent == p:
            break
        p = p.parent
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    for d in created:  # mkdir's mode applies to the leaf only, and after the umask
        os.chmod(d, DIR_MODE)
    if root is not None:
        root = Path(root)
        p = path
        while p == root or root in p.parents:
            os.chmod(p, DIR_MODE)
            if p == root:
                break
            p = p.parent
    return path


def write_private(path: Path, data: bytes, root: Path | None = None) -> Path:
    """Write ``data`` to ``path`` as 0600, atomically: a reader sees the old file or the whole new one."""
    path = Path(path)
    private_dir(path.parent, root)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), FILE_MODE)  # exactly 0600, even under an odd umask
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def open_private(path: Path, root: Path | None = None) -> BinaryIO:
    """A new file at ``path`` opened for writing as 0600 (it must not exist yet): for streaming writes."""
    path = Path(path)
    private_dir(path.parent, root)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # exactly 0600, even under an odd umask
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def spool_dir(files_dir: Path) -> Path:
    """Where chat uploads wait for their turn: shared by every worker on the host."""
    return Path(files_dir) / UPLOADS


def purge_spooled(directory: Path, *, older_than: float, now: float) -> int:
    """Delete spooled uploads (and partial ones) last written more than ``older_than`` s before ``now``."""
    done = 0
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > older_than:
                os.unlink(entry.path)
                done += 1
        except FileNotFoundError:  # released meanwhile
            continue
    return done


def tighten(root: Path) -> int:
    """Make everything under ``root`` owner-only (files an older version left 0644); returns how many changed."""
    changed = 0
    for dirpath, _dirs, filenames in os.walk(root):
        for name, mode in [(dirpath, DIR_MODE)] + [(os.path.join(dirpath, f), FILE_MODE) for f in filenames]:
            try:
                st = os.lstat(name)
            except FileNotFoundError:
                continue
            if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) != mode:
                os.chmod(name, mode)
                changed += 1
    return changed
