"""Languages of the web pages: Vietnamese (the source language of every message) and
English (a gettext catalogue).

The catalogue is kept as a `.po` file only and compiled in memory with Babel's own
reader and writer the first time a request needs it, so there is no separate compile
step to forget at build, install or CI time, and no binary `.mo` in the repository.
The language is chosen per browser session (`session["lang"]`).
"""
from __future__ import annotations

import io
import threading
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, request, session
from flask_babel import Babel, Domain, get_locale

from engine.errors import IsoflowError, Problem

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DEFAULT_LANGUAGE = "vi"
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
SESSION_KEY = "lang"


def po_path(language: str) -> Path:
    return TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po"


class PoDomain(Domain):
    """A Flask-Babel domain reading `.po` catalogues directly (compiled once per process)."""

    def __init__(self) -> None:
        super().__init__(translation_directories=[str(TRANSLATIONS_DIR)])
        self._compiled: dict[str, NullTranslations] = {}
        self._lock = threading.Lock()

    def get_translations(self):
        locale = get_locale()
        language = locale.language if locale is not None else DEFAULT_LANGUAGE
        translations = self._compiled.get(language)
        if translations is None:
            with self._lock:
                translations = self._compiled.get(language) or self._compile(language)
                self._compiled[language] = translations
        return translations

    @staticmethod
    def _compile(language: str) -> NullTranslations:
        path = po_path(language)
        if language == DEFAULT_LANGUAGE or not path.is_file():
            return NullTranslations()  # messages are written in Vietnamese
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        return Translations(buffer, domain="messages")


def current_language() -> str:
    lang = session.get(SESSION_KEY)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def init_babel(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Ho_Chi_Minh")
    babel = Babel()
    babel.init_app(app, locale_selector=_select_locale, default_domain="messages")
    babel.domain_instance = PoDomain()  # a werkzeug cached_property: assignment replaces it


def _select_locale() -> str:
    if request.path.startswith("/api"):
        return DEFAULT_LANGUAGE
    return current_language()


def message_of(error: IsoflowError | Problem) -> str:
    """The engine's own message in the page's language."""
    return error.message_en if current_language() == "en" else error.message_vi


def locale() -> Locale:
    return Locale.parse(current_language())
