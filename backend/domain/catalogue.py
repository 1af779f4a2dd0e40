"""The procedure catalogue (danh mục thủ tục hành chính) as data: the model and its checks.

One file per procedure under ``backend/catalogue/``; this module defines what a file holds
and validates it. Loading files is done by ``backend.services.catalogue``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend.domain.calendar import TimeLimit

DOC_TYPES = ("id_card", "birth_certificate", "death_notice", "unknown")
FIELD_TYPES = ("text", "date", "datetime", "choice", "number", "id_number", "phone", "bool")


class CatalogueError(ValueError):
    """A procedure file that does not hold what a procedure needs."""


@dataclass(frozen=True)
class DocumentComponent:
    """A document component (thành phần hồ sơ) the citizen photographs."""

    key: str
    name: str
    purpose: str  # what it is for, told to the citizen
    mandatory: bool
    doc_type: str  # the OCR document type expected
    copies: int = 1
    condition: str | None = None  # e.g. "if the parents are married"


@dataclass(frozen=True)
class FormField:
    """One field of the e-form (tờ khai điện tử)."""

    key: str
    label: str
    type: str
    required: bool
    source: str | None = None  # "<component>.<ocr field>" when OCR can fill it
    question: str | None = None  # asked when still missing
    choices: tuple[str, ...] = ()
    required_if: dict[str, Any] | None = None  # {field: value}: required only then


@dataclass(frozen=True)
class Procedure:
    code: str
    slug: str
    name: str
    field: str  # lĩnh vực
    agency_level: str  # "commune" | "province"
    department: str  # department key within the competent agency that processes it
    time_limit: TimeLimit
    time_limit_note: str
    fee: str
    fee_vnd: int
    result: str
    result_delivery: tuple[str, ...]
    legal_basis: tuple[str, ...]
    components: tuple[DocumentComponent, ...]
    form: tuple[FormField, ...]
    verification_time_limit: TimeLimit | None = None
    order: int = 100  # place in the citizen's menu: birth and death registration first
    extras: dict[str, Any] = field(default_factory=dict)

    def component(self, key: str) -> DocumentComponent:
        for c in self.components:
            if c.key == key:
                return c
        raise KeyError(key)

    def missing_fields(self, data: dict[str, Any]) -> list[FormField]:
        """Required fields (including conditional ones) still empty in ``data``."""
        out = []
        for f in self.form:
            needed = f.required or (
                f.required_if is not None and all(data.get(k) == v for k, v in f.required_if.items())
            )
            if needed and data.get(f.key) in (None, ""):
                out.append(f)
        return out


_COMPONENT_KEYS = {"key", "name", "purpose", "mandatory", "doc_type", "copies", "condition"}
_FIELD_KEYS = {"key", "label", "type", "required", "source", "question", "choices", "required_if"}


def _no_stray_keys(kind: str, items: list[dict[str, Any]], allowed: set[str]) -> None:
    """Refuse keys we do not know: an unquoted comma in a YAML flow mapping makes new ones."""
    for item in items:
        stray = set(item) - allowed
        if stray:
            raise CatalogueError(f"{kind} {item.get('key', '?')}: unknown keys {sorted(map(str, stray))}")


def procedure_from_dict(d: dict[str, Any]) -> Procedure:
    """Build and validate a procedure from its data file's contents."""
    try:
        _no_stray_keys("component", d["components"], _COMPONENT_KEYS)
        _no_stray_keys("field", d["form"], _FIELD_KEYS)
        tl = d["time_limit"]
        components = tuple(
            DocumentComponent(
                key=c["key"],
                name=c["name"],
                purpose=c.get("purpose", ""),
                mandatory=bool(c["mandatory"]),
                doc_type=c.get("doc_type", "unknown"),
                copies=int(c.get("copies", 1)),
                condition=c.get("condition"),
            )
            for c in d["components"]
        )
        form = tuple(
            FormField(
                key=f["key"],
                label=f["label"],
                type=f.get("type", "text"),
                required=bool(f.get("required", False)),
                source=f.get("source"),
                question=f.get("question"),
                choices=tuple(f.get("choices", ())),
                required_if=f.get("required_if"),
            )
            for f in d["form"]
        )
        vtl = d.get("verification_time_limit")
        proc = Procedure(
            code=str(d["code"]),
            slug=d["slug"],
            name=d["name"],
            field=d["field"],
            agency_level=d["agency_level"],
            department=d["department"],
            time_limit=TimeLimit(int(tl["value"]), tl["unit"]),
            time_limit_note=d.get("time_limit_note", ""),
            fee=d.get("fee", "Không"),
            fee_vnd=int(d.get("fee_vnd", 0)),
            result=d["result"],
            result_delivery=tuple(d.get("result_delivery", ())),
            legal_basis=tuple(d.get("legal_basis", ())),
            components=components,
            form=form,
            verification_time_limit=TimeLimit(int(vtl["value"]), vtl["unit"]) if vtl else None,
            order=int(d.get("order", 100)),
            extras=d.get("extras", {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogueError(f"procedure {d.get('slug', '?')}: {exc!r}") from exc
    _check(proc)
    return proc


def _check(p: Procedure) -> None:
    if p.agency_level not in ("commune", "province"):
        raise CatalogueError(f"{p.slug}: agency_level must be commune or province")
    keys = [c.key for c in p.components]
    if len(set(keys)) != len(keys) or not any(c.mandatory for c in p.components):
        raise CatalogueError(f"{p.slug}: component keys must be unique and one mandatory")
    for c in p.components:
        if c.doc_type not in DOC_TYPES:
            raise CatalogueError(f"{p.slug}: component {c.key} has unknown doc_type {c.doc_type}")
    fkeys = [f.key for f in p.form]
    if len(set(fkeys)) != len(fkeys):
        raise CatalogueError(f"{p.slug}: duplicate form field keys")
    for f in p.form:
        if f.type not in FIELD_TYPES:
            raise CatalogueError(f"{p.slug}: field {f.key} has unknown type {f.type}")
        if f.type == "choice" and not f.choices:
            raise CatalogueError(f"{p.slug}: choice field {f.key} lists no choices")
        if f.source:
            comp = f.source.split(".", 1)[0]
            if comp not in keys:
                raise CatalogueError(f"{p.slug}: field {f.key} reads unknown component {comp}")
        if f.required and not f.source and not f.question:
            raise CatalogueError(f"{p.slug}: required field {f.key} has neither source nor question")
