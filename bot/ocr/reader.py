"""The whole reading (đọc giấy tờ): decode, flatten, QR, Tesseract, classify, extract."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from . import classify as C
from .engine import Line, OcrEngine, default_engine
from .fields import Extracted, birth_certificate, death_notice, id_card
from .flatten import Page, flatten
from .image import load_rgb
from .layout import read_lines
from .qr import decode_qr_array, parse_card_qr

log = logging.getLogger(__name__)

FIELDS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "id_card": id_card.FIELDS,
    "birth_certificate": birth_certificate.FIELDS,
    "death_notice": death_notice.FIELDS,
    "unknown": (),
}

CARD_ASPECT = (1.35, 1.85)     # ID-1 card is 85.6 × 54 mm = 1.585
MIN_TEXT_BLOBS = 40


@dataclass(frozen=True)
class OcrResult:
    """What a photo says: its type, the contract's fields, their confidence, the QR."""

    doc_type: str
    fields: dict[str, object] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    qr: str | None = None

    def to_json(self) -> dict:
        """Plain JSON-able dict (the CLI adds "file")."""
        return {"doc_type": self.doc_type, "fields": dict(self.fields),
                "confidence": dict(self.confidence), "qr": self.qr}


def is_card(page: Page) -> bool:
    """Landscape with the ID-1 aspect ratio."""
    h, w = page.gray.shape
    return CARD_ASPECT[0] <= w / h <= CARD_ASPECT[1]


def ocr_lines(page: Page, engine: OcrEngine) -> list[Line]:
    """Text segments of the page in reading order, each read as a line crop."""
    return read_lines(page.gray, engine, page.x_height)


def has_text(page: Page) -> bool:
    """Cheap guard: a blank page or a photo without letter-sized blobs is not read."""
    import cv2

    g = page.gray
    _, bw = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if bw.mean() < 0.5 or bw.mean() > 128:      # nearly blank, or mostly dark
        return False
    n, _, stats, _ = cv2.connectedComponentsWithStats(bw, connectivity=8)
    hs = stats[1:, cv2.CC_STAT_HEIGHT]
    ws = stats[1:, cv2.CC_STAT_WIDTH]
    letters = ((hs >= 8) & (hs <= 80) & (ws >= 2) & (ws <= 120)).sum()
    return bool(letters >= MIN_TEXT_BLOBS)


def read_array(rgb: np.ndarray, engine: OcrEngine | None = None) -> OcrResult:
    """Read a decoded RGB photo."""
    engine = engine or default_engine()
    page = flatten(rgb)
    # crops and upscales only where a card's QR can be: a form has none
    h, w = page.gray.shape
    payload = decode_qr_array(rgb, thorough=is_card(page) or (not page.found and w > h))
    card_qr = parse_card_qr(payload)
    if card_qr is None and payload is None and is_card(page):
        h, w = page.gray.shape
        payload = decode_qr_array(page.gray, hint=(int(0.6 * w), 0, w, int(0.55 * h)))
        card_qr = parse_card_qr(payload)
    if not has_text(page):
        if card_qr is not None:
            only_qr = id_card.extract([], card_qr)
            return OcrResult("id_card", only_qr.fields, only_qr.confidence, payload)
        return OcrResult("unknown", {}, {}, payload)
    lines = ocr_lines(page, engine)
    text = "\n".join(ln.text for ln in lines)
    doc_type, type_conf = C.classify(text, card_qr=card_qr is not None)
    log.info("ocr: type=%s conf=%.2f lines=%d qr=%s", doc_type, type_conf, len(lines),
             "card" if card_qr else ("other" if payload else "none"))
    ex: Extracted
    if doc_type == "id_card":
        ex = id_card.extract(lines, card_qr)
    elif doc_type == "birth_certificate":
        ex = birth_certificate.extract(lines)
    elif doc_type == "death_notice":
        ex = death_notice.extract(lines)
    else:
        return OcrResult("unknown", {}, {}, payload)
    order = FIELDS_BY_TYPE[doc_type]
    fields = {k: ex.fields[k] for k in order if k in ex.fields}
    conf = {k: ex.confidence[k] for k in order if k in ex.confidence}
    return OcrResult(doc_type, fields, conf, payload)


def read_document_sync(data: bytes) -> OcrResult:
    """Everything, in this process: raises ImageRejected for bad input."""
    return read_array(load_rgb(data))
