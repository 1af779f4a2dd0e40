"""Tesseract 5 with the `vie` model (nhận dạng chữ): interface `OcrEngine`, implementation
`TesseractOcr` on tesserocr (in-process, ~20 ms a line; pytesseract forks a process per call)."""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"


@dataclass(frozen=True)
class Word:
    """A recognised word with its box (x0, y0, x1, y1) and confidence 0..1."""

    text: str
    conf: float
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Line:
    """A text line: its words in reading order."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> tuple[int, int, int, int]:
        xs0, ys0, xs1, ys1 = zip(*(w.box for w in self.words), strict=True)
        return min(xs0), min(ys0), max(xs1), max(ys1)

    @property
    def conf(self) -> float:
        """Mean confidence of the words with letters or digits (stray dots score 0)."""
        confs = [w.conf for w in self.words if any(c.isalnum() for c in w.text)]
        return sum(confs) / len(confs) if confs else 0.0


class OcrEngine(Protocol):
    """What the pipeline needs from an OCR engine."""

    def read_page(self, gray: np.ndarray) -> list[Line]:
        """Lines of a page (block of rows read straight across)."""
        ...

    def read_line(self, gray: np.ndarray) -> tuple[str, float]:
        """Text and confidence of one cropped line."""
        ...

    def read_words(self, gray: np.ndarray) -> list[Word]:
        """Words of one cropped line, boxes in crop coordinates."""
        ...


class TesseractOcr:
    """tesserocr bound to one lazily created API per process (the API is not thread-safe)."""

    def __init__(self, lang: str = "vie", tessdata: str = TESSDATA) -> None:
        self._lang, self._path = lang, tessdata
        self._api: object | None = None
        self._lock = threading.Lock()

    def _get(self):  # type: ignore[no-untyped-def]
        import tesserocr

        if self._api is None:
            self._api = tesserocr.PyTessBaseAPI(path=self._path, lang=self._lang,
                                                psm=tesserocr.PSM.SINGLE_BLOCK)
        return self._api

    def read_page(self, gray: np.ndarray) -> list[Line]:
        import tesserocr

        with self._lock:
            api = self._get()
            api.SetPageSegMode(tesserocr.PSM.SINGLE_BLOCK)
            api.SetImage(Image.fromarray(gray))
            return self._lines(api)

    def read_words(self, gray: np.ndarray) -> list[Word]:
        import tesserocr

        with self._lock:
            api = self._get()
            # raw line mode: single-line mode returns nothing on some tight crops
            api.SetPageSegMode(tesserocr.PSM.RAW_LINE)
            api.SetImage(Image.fromarray(gray))
            return [w for ln in self._lines(api) for w in ln.words]

    def read_line(self, gray: np.ndarray) -> tuple[str, float]:
        words = self.read_words(gray)
        if not words:
            return "", 0.0
        return " ".join(w.text for w in words), sum(w.conf for w in words) / len(words)

    @staticmethod
    def _lines(api) -> list[Line]:  # type: ignore[no-untyped-def]
        import tesserocr

        api.Recognize()
        it = api.GetIterator()
        if it is None:
            return []
        lines: list[Line] = []
        cur: list[Word] = []
        level = tesserocr.RIL.WORD
        while True:
            if it.IsAtBeginningOf(tesserocr.RIL.TEXTLINE) and cur:
                lines.append(Line(tuple(cur)))
                cur = []
            try:
                text = it.GetUTF8Text(level)
            except RuntimeError:       # an empty word in a noisy crop
                text = ""
            if text and text.strip():
                cur.append(Word(unicodedata.normalize("NFC", text.strip()),
                                it.Confidence(level) / 100.0, it.BoundingBox(level)))
            if not it.Next(level):
                break
        if cur:
            lines.append(Line(tuple(cur)))
        return lines


_default: TesseractOcr | None = None


def default_engine() -> TesseractOcr:
    """The process-wide engine (one per pool worker)."""
    global _default
    if _default is None:
        _default = TesseractOcr()
    return _default
