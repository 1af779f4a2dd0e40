"""Cleaning what people type before it goes anywhere: one function for every input."""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls (NUL included) but tab and newline; DEL; lone surrogates; the
# bidirectional overrides and isolates (they make "abc" display as "cba" in a log or a page).
_JUNK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_text(raw: str, *, multiline: bool = True, limit: int | None = None) -> str:
    """NFC-normalised text without control characters; CR LF as LF; a tab as a space.

    ``multiline=False`` also folds newlines into spaces (a name, a code). PostgreSQL refuses
    NUL in text outright, and the rest only hides things from the person reading it.
    """
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = _JUNK.sub("", text).replace("\t", " ")
    if not multiline:
        text = " ".join(text.split())
    if limit is not None:
        text = text[:limit]
    return text
