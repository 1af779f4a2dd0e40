"""Load the procedure catalogue: one YAML file per procedure, read at start and on reload."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import date
from pathlib import Path

import yaml

from backend.domain.catalogue import CatalogueError, Procedure, procedure_from_dict
from backend.services import wakeups
from backend.services.keyvalue import get_value, set_value

log = logging.getLogger(__name__)

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "catalogue"
CALENDAR_FILE = "calendar.yaml"
VERSION_KEY = "catalogue.version"  # the stamp of the last reload asked for, by any worker
CHECK_INTERVAL = 60.0  # seconds between stamp checks (a worker that missed the notice)


class Catalogue:
    """The procedures by slug; ``reload`` swaps them all or none."""

    def __init__(self, directory: Path = DEFAULT_DIR):
        self.directory = Path(directory)
        self.procedures: dict[str, Procedure] = {}
        self.version = ""  # the reload stamp these procedures answer to ("" = as started)
        self.reload()

    def reload(self) -> int:
        loaded: dict[str, Procedure] = {}
        for path in sorted(self.directory.glob("*.yaml")):
            if path.name == CALENDAR_FILE:
                continue
            with path.open(encoding="utf-8") as fh:
                proc = procedure_from_dict(yaml.safe_load(fh))
            if proc.slug in loaded:
                raise CatalogueError(f"{path.name}: slug {proc.slug} defined twice")
            loaded[proc.slug] = proc
        if not loaded:
            raise CatalogueError(f"no procedures in {self.directory}")
        self.procedures = loaded
        return len(loaded)

    def get(self, slug: str) -> Procedure:
        try:
            return self.procedures[slug]
        except KeyError:
            raise CatalogueError(f"Không có thủ tục «{slug}»") from None

    def all(self) -> list[Procedure]:
        return sorted(self.procedures.values(), key=lambda p: (p.order, p.name))

    def calendar_data(self) -> tuple[frozenset[date], frozenset[date]]:
        """The yearly swapped working days and extra days off kept beside the procedures."""
        path = self.directory / CALENDAR_FILE
        if not path.exists():
            return frozenset(), frozenset()
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

        def dates(key: str) -> frozenset[date]:
            return frozenset(date.fromisoformat(str(x)) for x in data.get(key) or ())

        return dates("extra_working_days"), dates("extra_days_off")


async def reload_everywhere(catalogue: Catalogue) -> int:
    """Reload here, then have every worker reload (notice now, stamp for those who miss it)."""
    count = catalogue.reload()  # a broken file raises here: nothing is published
    stamp = uuid.uuid4().hex
    catalogue.version = stamp
    await set_value(VERSION_KEY, {"stamp": stamp})
    await wakeups.publish(wakeups.CATALOGUE, stamp)
    return count


async def follow(catalogue: Catalogue, stamp: str = "") -> bool:
    """Reload if another worker asked for a reload we have not done; whether we reloaded."""
    stamp = stamp or await _stored_stamp()
    if not stamp or stamp == catalogue.version:
        return False
    try:
        await asyncio.to_thread(catalogue.reload)
    except (CatalogueError, OSError, yaml.YAMLError) as exc:  # keep what is loaded; the admin saw the error
        log.error("catalogue reload asked by another worker failed: %s", exc)
        return False
    catalogue.version = stamp
    log.info("catalogue reloaded (asked by another worker)")
    return True


async def adopt_stamp(catalogue: Catalogue) -> None:
    """At start: the files just read are current, whatever reloads happened before."""
    catalogue.version = await _stored_stamp()


async def _stored_stamp() -> str:
    value = await get_value(VERSION_KEY)
    return str(value.get("stamp") or "") if isinstance(value, dict) else ""


async def follow_forever(catalogue: Catalogue, interval: float = CHECK_INTERVAL) -> None:
    """The periodic check behind the notices."""
    while True:
        await asyncio.sleep(interval)
        try:
            await follow(catalogue)
        except Exception:  # long-running loop: log, then continue
            log.exception("catalogue stamp check failed")
