"""Load the procedure catalogue: one YAML file per procedure, read at start and on reload."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from backend.domain.catalogue import CatalogueError, Procedure, procedure_from_dict

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "catalogue"
CALENDAR_FILE = "calendar.yaml"


class Catalogue:
    """The procedures by slug; ``reload`` swaps them all or none."""

    def __init__(self, directory: Path = DEFAULT_DIR):
        self.directory = Path(directory)
        self.procedures: dict[str, Procedure] = {}
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
