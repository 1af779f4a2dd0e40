"""Bad input gives `unknown` or a clear error, never a crash; also through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.ocr import ImageRejected, read_document_sync
from bot.ocr.cli import main
from tests.ocr_docs import make_sample
from tests.ocr_docs.bad import blank_page, cat_photo, pixel_bomb, truncated


@pytest.mark.parametrize("make", [blank_page, cat_photo], ids=["blank", "cat"])
def test_no_document_is_unknown(make) -> None:  # type: ignore[no-untyped-def]
    res = read_document_sync(make(0))
    assert res.doc_type == "unknown"
    assert res.fields == {}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"GIF89a-but-not-really", "not_image"),
        (pixel_bomb(), "too_many_pixels"),
    ],
)
def test_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected) as e:
        read_document_sync(data)
    assert e.value.reason == reason


def test_truncated_photo() -> None:
    with pytest.raises(ImageRejected) as e:
        read_document_sync(truncated(make_sample("death_notice", "mild", 0).jpeg, 0.6))
    assert e.value.reason == "corrupt"


def test_cli_prints_one_json_line_per_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "card.jpg"
    sample = make_sample("id_card", "flat", 1)
    good.write_bytes(sample.jpeg)
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    status = main([str(good), str(bad), str(tmp_path / "missing.jpg")])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert status == 1
    assert [x["file"] for x in lines] == [str(good), str(bad), str(tmp_path / "missing.jpg")]
    assert lines[0]["doc_type"] == "id_card"
    assert lines[0]["fields"]["id_number"] == sample.truth["id_number"]
    assert lines[0]["qr"] == sample.qr_payload
    assert set(lines[0]) == {"file", "doc_type", "fields", "confidence", "qr"}
    assert lines[1]["doc_type"] == "unknown" and lines[1]["error"] == "not_image"
    assert lines[2]["error"] == "unreadable_file"
