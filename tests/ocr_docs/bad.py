"""Inputs that are not documents: a blank page, a 'cat' (noisy natural-looking photo),
truncated and oversized files."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def _jpeg(arr: np.ndarray, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def blank_page(seed: int = 0) -> bytes:
    """A photo of an empty sheet on a table: paper, shadow, noise, no text."""
    rng = np.random.default_rng(seed)
    h, w = 1280, 960
    img = np.full((h, w, 3), (90, 70, 50), np.float32)
    cv2.fillConvexPoly(img, np.array([[120, 100], [850, 130], [830, 1180], [100, 1150]]),
                       (235, 233, 228))
    yy = np.linspace(0.7, 1.0, h)[:, None, None]
    img = img * yy + rng.normal(0, 3, img.shape)
    return _jpeg(img)


def cat_photo(seed: int = 0) -> bytes:
    """Fur-like texture, a body and a head with ears and eyes, a cushion behind: no text."""
    rng = np.random.default_rng(seed)
    h, w = 960, 1280
    bg = cv2.GaussianBlur(rng.normal(0, 1, (h // 8, w // 8)).astype(np.float32), (0, 0), 3)
    bg = cv2.resize(bg, (w, h))[..., None] * 40 + np.array([120, 140, 90], np.float32)
    fur = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.2)
    streak = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (31, 3), 0)
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (640, 600), (360, 220), 10, 0, 360, 1.0, -1)
    cv2.circle(mask, (380, 380), 150, 1.0, -1)
    cv2.fillConvexPoly(mask, np.array([[260, 300], [300, 160], [360, 260]]), 1.0)
    cv2.fillConvexPoly(mask, np.array([[400, 250], [470, 150], [500, 290]]), 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), 4)[..., None]
    cat = np.array([200, 140, 70], np.float32) + (fur * 25 + streak * 60)[..., None]
    img = bg * (1 - mask) + cat * mask
    for cx in (330, 430):
        cv2.ellipse(img, (cx, 370), (22, 14), 0, 0, 360, (40, 120, 40), -1)
        cv2.circle(img, (cx, 370), 7, (10, 10, 10), -1)
    img += rng.normal(0, 6, img.shape)
    return _jpeg(img)


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first part of a file, as when an upload is cut off."""
    return data[: int(len(data) * keep)]


def pixel_bomb() -> bytes:
    """A tiny PNG that declares 12000 × 12000 pixels (144 MP)."""
    buf = io.BytesIO()
    Image.new("1", (12000, 12000), 1).save(buf, "PNG", optimize=True)
    return buf.getvalue()
