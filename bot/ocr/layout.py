"""Text lines of a flattened page (dòng chữ): found with morphology, each read as one cropped
line — Tesseract's own page layout drops lines on blurred forms; crops do not."""

from __future__ import annotations

import cv2
import numpy as np

from .engine import Line, OcrEngine, Word
from .flatten import x_height

Box = tuple[int, int, int, int]   # x0, y0, x1, y1
MAX_SEGMENTS = 80                 # our documents have fewer; a noisy photo has hundreds


def enhance(gray: np.ndarray) -> np.ndarray:
    """Unsharp mask against blur, then stretch ink to black and paper to white."""
    blur = cv2.GaussianBlur(gray, (0, 0), 1.5)
    sharp = cv2.addWeighted(gray, 2.0, blur, -1.0, 0)
    lo, hi = np.percentile(sharp[::4, ::4], (1, 60))   # a sample is plenty
    if hi - lo < 10:
        return sharp
    out = (sharp.astype(np.float32) - lo) / (hi - lo) * 255
    return np.clip(out, 0, 255).astype(np.uint8)


def segment(gray: np.ndarray, xh: float) -> list[Box]:
    """Boxes of text segments: letters joined across word gaps, not across wide gaps."""
    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(1.2 * xh)),
                                                   max(1, int(0.25 * xh))))
    merged = cv2.dilate(bw, k)
    n, _, stats, _ = cv2.connectedComponentsWithStats(merged, connectivity=8)
    boxes: list[Box] = []
    for x, y, w, h, _ in stats[1:]:
        if h < 0.5 * xh or w < 0.8 * xh or h > 12 * xh:
            continue
        ink = bw[y:y + h, x:x + w].mean() / 255
        if not 0.04 <= ink <= 0.6:        # not a photo, a QR or a smudge
            continue
        parts = [(int(x), int(y), int(x + w), int(y + h))]
        if h > 2.2 * xh:                  # close rows merged: cut at the gaps between them
            parts = split_rows(bw, parts[0], xh)
        boxes.extend(b for b in parts if 0.5 * xh <= b[3] - b[1] <= 3.2 * xh
                     and b[2] - b[0] >= 0.8 * xh)
    return reading_order(boxes, xh)


def split_rows(bw: np.ndarray, box: Box, xh: float) -> list[Box]:
    """Cut a box into text rows at the emptiest scan lines; tone-mark bands join the row below."""
    x0, y0, x1, y1 = box
    sub = bw[y0:y1, x0:x1] > 0
    prof = sub.sum(1)
    if prof.max() == 0:
        return []
    ink = prof > 0.03 * prof.max()
    bands: list[list[int]] = []
    start = None
    for i, v in enumerate(ink):
        if v and start is None:
            start = i
        if not v and start is not None:
            bands.append([start, i])
            start = None
    if start is not None:
        bands.append([start, len(ink)])
    merged: list[list[int]] = []
    for b in bands:   # a thin band (tone marks) belongs to the row under it
        if merged and merged[-1][1] - merged[-1][0] < 0.35 * xh:
            merged[-1][1] = b[1]
        else:
            merged.append(b)
    out: list[Box] = []
    for top, bottom in merged:
        cols = np.where(sub[top:bottom].any(0))[0]
        if len(cols):
            out.append((x0 + int(cols[0]), y0 + top, x0 + int(cols[-1]) + 1, y0 + bottom))
    return out


def reading_order(boxes: list[Box], xh: float) -> list[Box]:
    """Rows top to bottom (centres within half a letter), left to right inside a row."""
    boxes = sorted(boxes, key=lambda b: (b[1] + b[3]) / 2)
    rows: list[list[Box]] = []
    for b in boxes:
        cy = (b[1] + b[3]) / 2
        if rows and abs(cy - np.mean([(r[1] + r[3]) / 2 for r in rows[-1]])) <= 0.6 * xh:
            rows[-1].append(b)
        else:
            rows.append([b])
    return [b for r in rows for b in sorted(r)]


def read_lines(gray: np.ndarray, engine: OcrEngine, xh: float = 0.0) -> list[Line]:
    """Every text segment of the page, read as a line, with page coordinates."""
    xh = xh or x_height(gray) or 20.0
    img = enhance(gray)
    h, w = img.shape
    lines: list[Line] = []
    pad = max(2, int(0.2 * xh))
    for x0, y0, x1, y1 in segment(img, xh)[:MAX_SEGMENTS]:
        cx0, cy0 = max(0, x0 - pad), max(0, y0 - pad)
        crop = img[cy0:min(h, y1 + pad), cx0:min(w, x1 + pad)]
        crop = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
        words = engine.read_words(crop)
        if not words:
            continue
        dx, dy = cx0 - pad, cy0 - pad
        lines.append(Line(tuple(Word(wd.text, wd.conf, (wd.box[0] + dx, wd.box[1] + dy,
                                                        wd.box[2] + dx, wd.box[3] + dy))
                                for wd in words)))
    return lines
