"""The password policy for passwords an officer chooses (or an admin issues).

At least ``MIN_LENGTH`` characters and not guessable: zxcvbn (Dropbox's estimator, with its
lists of common passwords, names, words, dates, keyboard runs and repeats) must rate it at
least ``MIN_SCORE`` of 4, with the username, the full name and the product's own words
counted as known to the attacker.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from zxcvbn import zxcvbn

from backend.services.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3  # "safely unguessable": about 10^8 guesses or more
_OWN_WORDS = ("motcua", "mot cua", "một cửa", "motcua-demo", "demo", "admin", "quantri", "canbo")

_TOO_EASY = "Mật khẩu quá dễ đoán"
_ADVICE = (
    "Gợi ý: dùng một cụm gồm 3–4 từ ít gặp nối với nhau (ví dụ bằng dấu gạch), "
    "không dùng tên, ngày sinh hay tên đăng nhập."
)
# zxcvbn's warnings, said generically in Vietnamese.
_WARNINGS = {
    "common": "Mật khẩu quá phổ biến (nằm trong danh sách mật khẩu hay dùng)",
    "similar to a commonly used": "Mật khẩu gần giống một mật khẩu hay dùng",
    "repeat": "Mật khẩu có ký tự hoặc cụm lặp lại nên dễ đoán",
    "sequence": "Mật khẩu có dãy ký tự liên tiếp (như abc, 1234) nên dễ đoán",
    "keys": "Mật khẩu là một dãy phím liền nhau nên dễ đoán",
    "keyboard": "Mật khẩu là một dãy phím liền nhau nên dễ đoán",
    "date": "Mật khẩu có ngày tháng nên dễ đoán",
    "year": "Mật khẩu có năm gần đây nên dễ đoán",
    "name": "Mật khẩu chỉ là tên người nên dễ đoán",
    "word by itself": "Mật khẩu chỉ là một từ thông dụng nên dễ đoán",
}


def _fold(text: str) -> str:
    """Vietnamese without its marks ("Nguyễn Văn An" -> "nguyen van an"): how names get typed."""
    bare = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in bare if not unicodedata.combining(c))


def problem(password: str, *, username: str = "", full_name: str = "") -> str | None:
    """Why ``password`` is refused, in Vietnamese; None when it is good enough."""
    if len(password) < MIN_LENGTH:
        return f"Mật khẩu mới phải có ít nhất {MIN_LENGTH} ký tự."
    if len(password) > MAX_LENGTH:
        return f"Mật khẩu mới dài quá {MAX_LENGTH} ký tự."
    lowered = password.lower()
    if username and username.lower() in lowered:
        return "Mật khẩu không được chứa tên đăng nhập."
    names = [full_name, _fold(full_name), _fold(full_name).replace(" ", "")]
    inputs = [*_OWN_WORDS, username, *re.split(r"[._-]", username), *names, *_fold(full_name).split()]
    result = zxcvbn(password[:72], user_inputs=[w for w in inputs if w])
    personal = any(m.get("dictionary_name") == "user_inputs" for m in result["sequence"])
    if result["score"] >= (4 if personal else MIN_SCORE):  # built on a known word: one notch more
        return None
    if personal:
        return f"Mật khẩu dựa trên tên, tên đăng nhập hoặc tên hệ thống nên dễ đoán. {_ADVICE}"
    warning = str(result["feedback"].get("warning") or "").lower()
    reason = next((vi for en, vi in _WARNINGS.items() if en in warning), _TOO_EASY)
    if reason == _TOO_EASY and any(m.get("pattern") == "dictionary" and m.get("rank", 10**9) <= 10000
                                   for m in result["sequence"]):
        reason = _WARNINGS["common"]
    return f"{reason}. {_ADVICE}"


def check(password: str, *, username: str = "", full_name: str = "") -> None:
    """Raise InvalidInput (with the reason) unless ``password`` meets the policy."""
    if (why := problem(password, username=username, full_name=full_name)) is not None:
        raise InvalidInput(why)


def temporary() -> str:
    """A strong one-time password an admin hands over (about 120 random bits)."""
    return secrets.token_urlsafe(15)
