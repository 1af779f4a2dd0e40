"""Synthetic document photos with known values (ảnh giấy tờ mẫu), for OCR tests and bench."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from .photo import LEVELS, photograph
from .render import Rendered, render_birth_certificate, render_death_notice, render_id_card

DOC_TYPES = ("id_card", "birth_certificate", "death_notice")
LAYOUTS = {
    "id_card": ("chip2021", "chip2021", "cccd2016"),
    "birth_certificate": ("old", "new2025", "plain"),
    "death_notice": ("commune", "hospital", "plain"),
}
_RENDER = {"id_card": render_id_card, "birth_certificate": render_birth_certificate,
           "death_notice": render_death_notice}


@dataclass(frozen=True)
class Sample:
    """One generated photo and what is printed on it."""

    doc_type: str
    level: str
    seed: int
    layout: str
    jpeg: bytes
    truth: dict[str, object]
    qr_payload: str | None     # what the QR encodes, if the document has one
    qr_obscured: bool


def make_sample(doc_type: str, level: str, seed: int) -> Sample:
    """Render and photograph one document; same arguments, same bytes."""
    rng = random.Random(f"{doc_type}/{level}/{seed}")
    layout = LAYOUTS[doc_type][seed % len(LAYOUTS[doc_type])]
    doc: Rendered = _RENDER[doc_type](rng, layout)
    obscure = doc.qr_box is not None and seed % 6 == 4
    jpeg = photograph(doc.image, level, rng, doc.qr_box if obscure else None)
    return Sample(doc_type, level, seed, layout, jpeg, doc.truth, doc.qr_payload, obscure)


def flat_png(doc_type: str, seed: int) -> bytes:
    """The flat rendered document as PNG (no photo effects)."""
    rng = random.Random(f"{doc_type}/png/{seed}")
    layout = LAYOUTS[doc_type][seed % len(LAYOUTS[doc_type])]
    buf = io.BytesIO()
    _RENDER[doc_type](rng, layout).image.save(buf, "PNG")
    return buf.getvalue()


__all__ = ["DOC_TYPES", "LEVELS", "LAYOUTS", "Sample", "make_sample", "flat_png"]
