"""Dossier codes (002 Điều 20) and the procedure catalogue files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from backend.domain.catalogue import CatalogueError
from backend.domain.codes import CodeError, find_code, format_code, parse_code
from backend.services.catalogue import DEFAULT_DIR, Catalogue


def test_code_format_and_parse() -> None:
    code = format_code("000.00.21.H57", date(2026, 11, 23), 7)
    assert code == "000.00.21.H57-261123-0007"
    parsed = parse_code(code)
    assert (parsed.agency_id, parsed.day, parsed.sequence) == ("000.00.21.H57", date(2026, 11, 23), 7)


@pytest.mark.parametrize("bad", ["", "000.00.21.H57-261323-0001", "00.00.21.H57-261123-0001", "hello"])
def test_bad_codes(bad: str) -> None:
    with pytest.raises(CodeError):
        parse_code(bad)


def test_sequence_bounds() -> None:
    with pytest.raises(CodeError):
        format_code("000.00.21.H57", date(2026, 11, 23), 10000)
    with pytest.raises(CodeError):
        format_code("H57", date(2026, 11, 23), 1)


def test_find_code_in_what_citizens_type() -> None:
    assert find_code("tra cứu 000.00.21.h57 - 261123 - 0042 giúp em") == "000.00.21.H57-261123-0042"
    assert find_code("https://x/tra-cuu?ma=000.00.21.H57-261123-0042") == "000.00.21.H57-261123-0042"
    assert find_code("000.00.21.H57-261399-0042") is None
    assert find_code("xin chào") is None


def test_catalogue_loads_the_five_procedures() -> None:
    cat = Catalogue()
    assert set(cat.procedures) == {
        "birth_registration",
        "death_registration",
        "business_household",
        "tax_registration_change",
        "judicial_record",
    }
    assert [p.slug for p in cat.all()][:2] == ["birth_registration", "death_registration"]
    birth = cat.get("birth_registration")
    assert birth.time_limit.value == 0 and birth.time_limit.unit == "working_days"
    assert [c.key for c in birth.components if c.mandatory] == ["birth_certificate", "declarant_id"]
    assert birth.component("birth_certificate").doc_type == "birth_certificate"
    death = cat.get("death_registration")
    assert death.verification_time_limit is not None and death.verification_time_limit.value == 3


def test_conditional_required_fields() -> None:
    birth = Catalogue().get("birth_registration")
    missing = {f.key for f in birth.missing_fields({"parents_married": "Có"})}
    assert {"father_name", "father_birth_year"} <= missing
    missing = {f.key for f in birth.missing_fields({"parents_married": "Không"})}
    assert "father_name" not in missing


def test_adding_a_procedure_is_adding_a_file(tmp_path: Path) -> None:
    for f in DEFAULT_DIR.glob("*.yaml"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    data = yaml.safe_load((DEFAULT_DIR / "business_household.yaml").read_text(encoding="utf-8"))
    data |= {"slug": "new_thing", "code": "9.999999", "name": "Thủ tục mới"}
    (tmp_path / "new_thing.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cat = Catalogue(tmp_path)
    assert cat.get("new_thing").name == "Thủ tục mới"


def test_a_broken_file_is_refused_and_the_old_catalogue_kept(tmp_path: Path) -> None:
    for f in DEFAULT_DIR.glob("*.yaml"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    cat = Catalogue(tmp_path)
    bad = yaml.safe_load((DEFAULT_DIR / "judicial_record.yaml").read_text(encoding="utf-8"))
    bad["components"][0]["doc_type"] = "passport"
    (tmp_path / "judicial_record.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError):
        cat.reload()
    assert cat.get("judicial_record").components[0].doc_type == "id_card"


def test_an_unquoted_comma_in_a_label_is_caught(tmp_path: Path) -> None:
    for f in DEFAULT_DIR.glob("*.yaml"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    path = tmp_path / "birth_registration.yaml"
    quoted, unquoted = 'label: "Họ, chữ đệm, tên của trẻ"', "label: Họ, chữ đệm, tên của trẻ"
    text = path.read_text(encoding="utf-8").replace(quoted, unquoted)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError, match="unknown keys"):
        Catalogue(tmp_path)
    assert Catalogue().get("birth_registration").form[5].label == "Họ, chữ đệm, tên của trẻ"
