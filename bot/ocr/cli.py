"""`motcua ocr IMAGE...` / `python -m bot.ocr IMAGE...`: one JSON line per image."""

from __future__ import annotations

import argparse
import json
import sys

from .image import ImageRejected, check_image
from .reader import read_document_sync


def read_file(path: str) -> dict:
    """The JSON object for one file; bad input gives doc_type unknown and an error code."""
    out: dict = {"file": path, "doc_type": "unknown", "fields": {}, "confidence": {}, "qr": None}
    try:
        with open(path, "rb") as f:
            data = f.read()
        check_image(data)
        res = read_document_sync(data)
    except ImageRejected as e:
        out["error"] = e.reason
        return out
    except OSError as e:
        out["error"] = "unreadable_file"
        out["message"] = e.strerror or str(e)
        return out
    return {"file": path, **res.to_json()}


def main(argv: list[str]) -> int:
    """Print one JSON line per image; exit 1 if any file could not be read as an image."""
    parser = argparse.ArgumentParser(prog="motcua ocr", description=__doc__)
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    args = parser.parse_args(argv)
    status = 0
    for path in args.images:
        obj = read_file(path)
        if "error" in obj:
            status = 1
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return status
