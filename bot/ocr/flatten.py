"""Find and flatten the paper (làm phẳng giấy): locate the document, correct perspective,
even out the light, remove dotted leaders and scale the text to what Tesseract reads best."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DETECT_SIDE = 640          # long side used to find the document outline
TARGET_X_HEIGHT = 22.0     # px; capitals then come out at about 30 px (OCR_NOTES)
MAX_OUTPUT_PIXELS = 9_000_000


@dataclass(frozen=True)
class Page:
    """A flattened page: grey, light evened out, text scaled; `found` if an outline was used."""

    gray: np.ndarray
    found: bool
    quad: np.ndarray | None     # corners in the input image, TL TR BR BL
    scale: float                # output px per input px
    x_height: float = 0.0       # letter height in `gray`, 0 if no text was seen


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    pts = pts.reshape(4, 2).astype(np.float32)
    c = pts.mean(0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(ang)]            # clockwise from about -180°: TL first-ish
    s = pts.sum(1)
    start = int(np.argmin(s))
    return np.roll(pts, -start, axis=0)


def _quad_from_mask(mask: np.ndarray, min_frac: float) -> np.ndarray | None:
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    h, w = mask.shape
    c = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(c)
    if area < min_frac * h * w:
        return None
    hull = cv2.convexHull(c)
    peri = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.03, 0.04, 0.06):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            q = order_corners(approx)
            if cv2.contourArea(q) > 0.85 * area:
                return q
    box = cv2.boxPoints(cv2.minAreaRect(hull))
    return order_corners(box)


def find_document(rgb: np.ndarray) -> np.ndarray | None:
    """Outline of the paper or card in the photo (4 corners, input pixels), or None."""
    h, w = rgb.shape[:2]
    s = DETECT_SIDE / max(h, w)
    small = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    sat = hsv[..., 1].astype(np.float32)
    val = hsv[..., 2].astype(np.float32)
    # paper: bright and grey; normalise light first so a shadowed page stays bright
    paper = val - 1.2 * sat
    paper = cv2.GaussianBlur(paper, (0, 0), 3)
    lo, hi = float(paper.min()), float(paper.max())
    paper = ((paper - lo) / max(hi - lo, 1e-6) * 255).astype(np.uint8)
    _, mask = cv2.threshold(paper, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    k = np.ones((9, 9), np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, k)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, k)
    quad = _quad_from_mask(mask, 0.15)
    if quad is None or _touches_all_borders(quad, small.shape[:2]):
        quad = _canny_quad(small)
    if quad is not None and not _plausible(quad):
        quad = _canny_quad(small)
    if quad is None or not _plausible(quad):
        return None
    return quad / s


def _canny_quad(small: np.ndarray) -> np.ndarray | None:
    edges = cv2.Canny(cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0),
                      40, 120)
    edges = cv2.dilate(edges, np.ones((5, 5), np.uint8))
    filled = np.zeros_like(edges)
    cs, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, cs, -1, 255, -1)
    quad = _quad_from_mask(filled, 0.15)
    if quad is not None and _touches_all_borders(quad, small.shape[:2]):
        return None
    return quad


def skew_angle(gray: np.ndarray, xh: float) -> float:
    """Tilt of the text rows in degrees (positive: rising to the right), from the long thin
    blobs that words of a row merge into."""
    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(1.5 * xh)), 1))
    merged = cv2.dilate(bw, k)
    cs, _ = cv2.findContours(merged, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    angles: list[float] = []
    weights: list[float] = []
    for c in cs:
        (_, _), (w, h), a = cv2.minAreaRect(c)
        if w < h:
            w, h, a = h, w, a - 90
        if w < 6 * xh or h > 2.5 * xh or h < 0.4 * xh:
            continue
        a = (a + 90) % 180 - 90
        if abs(a) <= 20:
            angles.append(-a)
            weights.append(w)
    if len(angles) < 3:
        return 0.0
    order = np.argsort(angles)
    cum = np.cumsum(np.array(weights)[order])
    return float(np.array(angles)[order][np.searchsorted(cum, cum[-1] / 2)])


def deskew(gray: np.ndarray, xh: float) -> np.ndarray:
    """Rotate so text rows are level (nắn thẳng) when they tilt by more than a degree (less
    is harmless to line crops, and resampling costs tone marks)."""
    angle = skew_angle(gray, xh)
    if abs(angle) < 1.0:
        return gray
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
    return cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def _touches_all_borders(q: np.ndarray, shape: tuple[int, int]) -> bool:
    h, w = shape
    m = 4
    return bool(q[:, 0].min() < m and q[:, 1].min() < m and q[:, 0].max() > w - m
                and q[:, 1].max() > h - m)


def _plausible(q: np.ndarray) -> bool:
    """Convex, opposite sides of similar length, angles not too far from 90° (a sheet seen
    from a phone, not a sheet merged with a bright patch of the table)."""
    if not cv2.isContourConvex(q.astype(np.float32).reshape(-1, 1, 2)):
        return False
    sides = [float(np.linalg.norm(q[(i + 1) % 4] - q[i])) for i in range(4)]
    for a, b in ((sides[0], sides[2]), (sides[1], sides[3])):
        if max(a, b) > 1.3 * max(1.0, min(a, b)):
            return False
    for i in range(4):
        a, b, c = q[i - 1], q[i], q[(i + 1) % 4]
        v1, v2 = a - b, c - b
        cos = float(np.dot(v1, v2) / (np.linalg.norm(v1) * np.linalg.norm(v2) + 1e-6))
        if abs(cos) > 0.45:
            return False
    return True


def warp(rgb: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Perspective-correct the quad to a rectangle of its own mean side lengths."""
    tl, tr, br, bl = quad
    w = int(round((np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2))
    h = int(round((np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2))
    dst = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    return cv2.warpPerspective(rgb, m, (w, h), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)


def even_light(gray: np.ndarray) -> np.ndarray:
    """Divide by the background (nền) estimated with a large closing: flat white paper."""
    h, w = gray.shape
    k = max(15, (min(h, w) // 40) | 1)
    small = cv2.resize(gray, (w // 4 + 1, h // 4 + 1), interpolation=cv2.INTER_AREA)
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (k // 4 | 1, k // 4 | 1)))
    bg = cv2.GaussianBlur(bg, (0, 0), 3)
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    out = gray.astype(np.float32) / np.maximum(bg, 1) * 255
    return np.clip(out, 0, 255).astype(np.uint8)


def x_height(gray: np.ndarray) -> float:
    """Median height of letter-sized blobs: the printed text size, in pixels."""
    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    n, _, stats, _ = cv2.connectedComponentsWithStats(bw, connectivity=8)
    hs = stats[1:, cv2.CC_STAT_HEIGHT]
    ws = stats[1:, cv2.CC_STAT_WIDTH]
    keep = (hs >= 4) & (hs <= max(gray.shape) / 15) & (ws <= 4 * hs) & (ws >= 2)
    if keep.sum() < 20:
        return 0.0
    hs = hs[keep]
    hs = hs[hs >= 0.5 * np.percentile(hs, 90)]   # letters, not dots or tone marks
    return float(np.median(hs))


def remove_leaders(gray: np.ndarray, xh: float = 0.0) -> np.ndarray:
    """Erase dotted leaders (dòng chấm …), also when blur has merged the dots into dashes:
    flat blobs in a row with no letter just above or below them (tone marks have one)."""
    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    n, labels, stats, cent = cv2.connectedComponentsWithStats(bw, connectivity=8)
    if n < 6:
        return gray
    xh = xh or x_height(gray) or 20.0
    x = stats[:, cv2.CC_STAT_LEFT]
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    flat = (h <= 0.4 * xh) & (h >= 1)
    flat[0] = False
    big = (h > 0.5 * xh) & (h < 4 * xh)
    big[0] = False
    # where letters are, stretched up and down by half a letter: tone marks live there
    reach = max(3, int(0.55 * xh))
    letters = cv2.dilate(np.isin(labels, np.where(big)[0]).astype(np.uint8),
                         np.ones((2 * reach + 1, 1), np.uint8))
    cx = np.clip(cent[:, 0].astype(int), 0, gray.shape[1] - 1)
    cy = np.clip(cent[:, 1].astype(int), 0, gray.shape[0] - 1)
    cand = np.where(flat & (letters[cy, cx] == 0))[0]
    if len(cand) == 0:
        return gray
    row = np.round(cent[cand, 1] / max(2.0, xh / 3)).astype(int)
    order = cand[np.lexsort((x[cand], row))]
    erase: list[int] = []
    run = [int(order[0])]

    def flush(r: list[int]) -> None:
        extent = max(x[i] + w[i] for i in r) - min(x[i] for i in r)
        if (len(r) >= 3 and extent >= 1.5 * xh) or extent >= 2.5 * xh:
            erase.extend(r)

    for a, b in zip(order[:-1], order[1:], strict=True):
        same_row = abs(cent[a, 1] - cent[b, 1]) <= max(2.0, xh / 4)
        gap = x[b] - (x[a] + w[a])
        if same_row and -0.3 * xh <= gap <= 0.9 * xh:
            run.append(int(b))
        else:
            flush(run)
            run = [int(b)]
    flush(run)
    if not erase:
        return gray
    mask = np.isin(labels, np.array(erase))
    mask = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    out = gray.copy()
    out[mask] = 255
    return out


def flatten(rgb: np.ndarray) -> Page:
    """Photo → flat grey page with even light and text at Tesseract's preferred size."""
    quad = find_document(rgb)
    img = warp(rgb, quad) if quad is not None else rgb
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    gray = even_light(gray)
    xh = x_height(gray)
    s = TARGET_X_HEIGHT / xh if xh > 0 else 2.0
    s = float(np.clip(s, 0.5, 3.0))
    h, w = gray.shape
    if h * w * s * s > MAX_OUTPUT_PIXELS:
        s = (MAX_OUTPUT_PIXELS / (h * w)) ** 0.5
    if abs(s - 1) > 0.05:
        gray = cv2.resize(gray, (round(w * s), round(h * s)),
                          interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
    gray = remove_leaders(gray, xh * s)
    gray = deskew(gray, xh * s)
    return Page(gray, quad is not None, quad, s, xh * s)
