"""What a person's name, an address, an ID number and a phone number may look like.

Pure checks over Unicode character classes (any script's letters, so Vietnamese, Khmer and
foreign names pass), returning the normalised value or raising ``InvalidValue`` with the
reason (a key the chat turns into a Vietnamese sentence).
"""

from __future__ import annotations

import re
import unicodedata

NAME_MAX = 100
ADDRESS_MAX = 255
_NAME_PUNCT = set(" '’-.")
_ADDRESS_PUNCT = set(" ,./-()'’#")


class InvalidValue(ValueError):
    """A value that is not what the field holds; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_SPACES = re.compile(r"[ \t\n\u00a0\u3000]+")  # spacing only: other separators stay and are refused


def _normal(raw: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", raw)).strip()


def _letter(c: str) -> bool:
    return unicodedata.category(c).startswith("L")


def _mark(c: str) -> bool:
    return unicodedata.category(c).startswith("M")  # combining marks (Khmer vowels, diacritics)


def person_name(raw: str) -> str:
    """A person's name: letters of any script with their marks, spaces, ' - . only."""
    name = _normal(raw)
    if len(name) > NAME_MAX:
        raise InvalidValue("too_long")
    if any(not (_letter(c) or _mark(c) or c.isdigit() or c in _NAME_PUNCT) for c in name):
        raise InvalidValue("symbols")
    if any(c.isdigit() for c in name):
        raise InvalidValue("digits")
    if sum(_letter(c) for c in name) < 2:
        raise InvalidValue("too_short")
    return name


def address(raw: str) -> str:
    """An address or place: letters (required), digits, spaces and , . / - ( ) ' # only."""
    text = _normal(raw)
    if len(text) > ADDRESS_MAX:
        raise InvalidValue("too_long")
    if any(not (_letter(c) or _mark(c) or c.isdecimal() or c in _ADDRESS_PUNCT) for c in text):
        raise InvalidValue("symbols")
    if sum(_letter(c) for c in text) < 2:
        raise InvalidValue("no_letters")
    return text


def id_number(raw: str) -> str:
    """A citizen identity (CCCD) number: 12 ASCII digits; spaces, dots and dashes dropped."""
    digits = re.sub(r"[\s.\-]", "", raw)
    if not re.fullmatch(r"[0-9]{12}", digits):
        raise InvalidValue("id_number")
    return digits


def phone(raw: str) -> str:
    """A Vietnamese phone number as 0 and 9 digits; +84 and 84 prefixes accepted."""
    digits = re.sub(r"[\s.\-()]", "", raw)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not re.fullmatch(r"0[0-9]{9}", digits):
        raise InvalidValue("phone")
    return digits
