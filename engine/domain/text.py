"""Vietnamese text at the edges: one normal form for what is stored, one folded key for search.

Vietnamese letters can arrive precomposed (NFC, what Vietnamese keyboards on Windows
send) or decomposed (NFD, what macOS file names and some phones send): "Ánh" is one
code point or three. Everything stored is NFC (`nfc`, `nfc_deep`), and search compares
`fold(name)` with `fold(query)`: no diacritics, no case, đ as d, so "anh duong",
"ÁNH DƯƠNG" and an NFD "Ánh Dương" all find "Ánh Dương" on every database.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

# Letters whose base is not recovered by removing combining marks.
_BASE_LETTERS = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})


def nfc(text: str) -> str:
    """`text` in Unicode normal form C (precomposed), as isoflow stores text."""
    return unicodedata.normalize("NFC", text)


def nfc_deep(value: Any) -> Any:
    """`value` with every string in it (mapping keys included) in NFC; other values unchanged."""
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, Mapping):
        return {nfc_deep(key): nfc_deep(item) for key, item in value.items()}
    if isinstance(value, list):
        return [nfc_deep(item) for item in value]
    if isinstance(value, tuple):
        return tuple(nfc_deep(item) for item in value)
    return value


def fold(text: str) -> str:
    """The search key of `text`: lower case, without diacritics, đ as d, spaces collapsed.

    fold("Ánh  Dương") == fold("anh duong") == "anh duong"."""
    decomposed = unicodedata.normalize("NFD", text.translate(_BASE_LETTERS))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(unicodedata.normalize("NFC", bare).casefold().translate(_BASE_LETTERS).split())


def has_lone_surrogate(text: str) -> bool:
    """True when `text` holds an unpaired UTF-16 surrogate (e.g. JSON "\\ud800"), which
    no UTF-8 database or page can store."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)
