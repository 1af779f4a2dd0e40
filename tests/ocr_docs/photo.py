"""Turn a flat document into a phone photo (ảnh chụp điện thoại): background, perspective,
rotation, blur, uneven light, noise, JPEG at chat-app size (long side ≤ 1280 px)."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

LONG_SIDE = 1280


@dataclass(frozen=True)
class Level:
    """How hard a photo is."""

    name: str
    fill: tuple[float, float]      # document long side / frame long side
    jitter: float                  # corner jitter, fraction of document size
    rotate: float                  # max degrees
    blur: tuple[float, float]      # gaussian sigma range, in output pixels
    light: float                   # darkest light factor
    shadow: bool
    noise: float
    quality: tuple[int, int]       # JPEG quality range
    background: bool


LEVELS = {
    "flat": Level("flat", (1.0, 1.0), 0.0, 0.6, (0.0, 0.3), 1.0, False, 1.5, (88, 92), False),
    "mild": Level("mild", (0.82, 0.92), 0.03, 4.0, (0.4, 0.8), 0.8, False, 3.0, (78, 88), True),
    "hard": Level("hard", (0.72, 0.85), 0.07, 9.0, (0.8, 1.25), 0.55, True, 5.0, (65, 75),
                  True),
}


def _background(w: int, h: int, rng: random.Random) -> np.ndarray:
    """A table top: wood-ish stripes, cloth noise or a plain dark surface."""
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    base = np.array([rng.randint(40, 170), rng.randint(40, 140), rng.randint(30, 120)], np.float32)
    kind = rng.choice(("wood", "cloth", "plain"))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "wood":
        f = rng.uniform(0.01, 0.04)
        pat = 25 * np.sin(xx * f + 3 * np.sin(yy * 0.01)) [..., None]
    elif kind == "cloth":
        pat = cv2.GaussianBlur(nrng.normal(0, 30, (h, w)).astype(np.float32), (0, 0), 2)[..., None]
    else:
        pat = np.zeros((h, w, 1), np.float32)
    img = base[None, None, :] + pat + nrng.normal(0, 6, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.float32)


def photograph(doc: Image.Image, level: str, rng: random.Random,
               occlude: tuple[int, int, int, int] | None = None) -> bytes:
    """A JPEG phone photo of `doc` at `level`; `occlude` hides that box (finger/glare on a QR)."""
    lv = LEVELS[level]
    src = np.asarray(doc.convert("RGB")).astype(np.float32)
    if occlude is not None:
        src = _occlude(src, occlude, rng)
    dh, dw = src.shape[:2]
    fill = rng.uniform(*lv.fill)
    if lv.background:
        landscape = dw > dh
        fw, fh = (LONG_SIDE, 960) if landscape else (960, LONG_SIDE)
    else:
        s = LONG_SIDE / max(dw, dh)
        fw, fh = round(dw * s), round(dh * s)
    scale = min(fw / dw, fh / dh) * fill
    cw, ch = dw * scale, dh * scale
    cx = fw / 2 + rng.uniform(-1, 1) * (fw - cw) / 2 * 0.6
    cy = fh / 2 + rng.uniform(-1, 1) * (fh - ch) / 2 * 0.6
    corners = np.array([[-cw / 2, -ch / 2], [cw / 2, -ch / 2], [cw / 2, ch / 2],
                        [-cw / 2, ch / 2]], np.float32)
    j = lv.jitter * max(cw, ch)
    corners += np.array([[rng.uniform(-j, j), rng.uniform(-j, j)] for _ in range(4)], np.float32)
    a = np.deg2rad(rng.uniform(-lv.rotate, lv.rotate))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    dst = corners @ rot.T + np.array([cx, cy], np.float32)
    # shrink if the rotated document leaves the frame
    lo, hi = dst.min(0), dst.max(0)
    k = min(1.0, (fw - 8) / (hi[0] - lo[0]), (fh - 8) / (hi[1] - lo[1]))
    dst = (dst - dst.mean(0)) * k + np.array([fw / 2, fh / 2])
    lo, hi = dst.min(0), dst.max(0)
    dst += np.array([max(0, 4 - lo[0]) - max(0, hi[0] - fw + 4),
                     max(0, 4 - lo[1]) - max(0, hi[1] - fh + 4)])
    srcq = np.array([[0, 0], [dw, 0], [dw, dh], [0, dh]], np.float32)
    m = cv2.getPerspectiveTransform(srcq, dst.astype(np.float32))
    # supersample the warp to avoid aliasing on small text
    ss = 2
    m2 = np.diag([ss, ss, 1.0]).astype(np.float64) @ m
    warped = cv2.warpPerspective(src, m2, (fw * ss, fh * ss), flags=cv2.INTER_AREA,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    mask = cv2.warpPerspective(np.ones((dh, dw), np.float32), m2, (fw * ss, fh * ss),
                               flags=cv2.INTER_LINEAR)
    warped = cv2.resize(warped, (fw, fh), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask, (fw, fh), interpolation=cv2.INTER_AREA)[..., None]
    if lv.background:
        bg = _background(fw, fh, rng)
        out = warped * mask + bg * (1 - mask)
    else:
        out = warped + 255 * (1 - mask)
    out = _light(out, lv, rng)
    sigma = rng.uniform(*lv.blur)
    if sigma > 0.05:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    out = out + nrng.normal(0, lv.noise, out.shape)
    img = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(*lv.quality))
    return buf.getvalue()


def _light(img: np.ndarray, lv: Level, rng: random.Random) -> np.ndarray:
    """Uneven light: a linear gradient from one side, and a soft shadow on hard photos."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    t = (np.cos(ang) * xx / w + np.sin(ang) * yy / h)
    t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
    field = lv.light + (1 - lv.light) * t
    if lv.shadow:
        sh = np.zeros((h, w), np.float32)
        x0 = rng.randint(0, w)
        pts = np.array([[x0, 0], [x0 + rng.randint(100, 400), 0],
                        [rng.randint(0, w), h], [rng.randint(0, w) - 300, h]], np.int32)
        cv2.fillPoly(sh, [pts], 1.0)
        sh = cv2.GaussianBlur(sh, (0, 0), 40)
        field = field * (1 - 0.3 * sh)
    warm = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 1.0)], np.float32)
    return img * field[..., None] * warm[None, None, :]


def _occlude(src: np.ndarray, box: tuple[int, int, int, int], rng: random.Random) -> np.ndarray:
    """Cover most of the QR with a thumb (skin blob) or a glare spot."""
    x0, y0, x1, y1 = box
    out = src.copy()
    h, w = src.shape[:2]
    m = np.zeros((h, w), np.float32)
    cx, cy = (x0 + x1) // 2 + rng.randint(-20, 20), (y0 + y1) // 2 + rng.randint(-20, 20)
    cv2.ellipse(m, (cx, cy), ((x1 - x0) // 2, (y1 - y0) // 3 * 2), rng.randint(0, 180), 0, 360,
                1.0, -1)
    m = cv2.GaussianBlur(m, (0, 0), 6)[..., None]
    colour = np.array([224, 172, 140] if rng.random() < 0.5 else [250, 250, 250], np.float32)
    return out * (1 - m) + colour * m
