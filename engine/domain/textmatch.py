"""Matching Vietnamese labels the way people type them: accents, case, punctuation and
spacing do not matter ("Hộ tịch", "HO TICH", "hộ  tịch" are one name). Used to read
fields, posts and column headings from provinces' tables."""
from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """`Công chức Tư pháp - Hộ tịch` -> `cong chuc tu phap ho tich`."""
    decomposed = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return _NON_WORD.sub(" ", bare).strip()
