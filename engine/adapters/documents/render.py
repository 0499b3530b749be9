"""Templates to HTML, HTML to A4 PDF, URLs to QR codes: the machinery every document shares.

HTML documents are self-contained (styles and QR codes inline), so the same string
serves a web page, a download and WeasyPrint, and nothing is fetched at run time.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from engine.errors import InvalidInput
from engine.domain.fields import field_label
from engine.domain.roles import role_label

from .text import (
    format_date, format_datetime, format_duration, format_long_date, format_time, place_name, revision_label,
)

# Serif faces with complete Vietnamese coverage, Times New Roman's metrics first (Decree
# 30/2020 prescribes Times New Roman for administrative documents). Debian ships
# Liberation Serif in fonts-liberation2 and DejaVu Serif in fonts-dejavu-core.
FONT_STACK = '"Times New Roman", "Liberation Serif", "Tinos", "Noto Serif", "DejaVu Serif", serif'


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("engine.adapters.documents", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a misspelt variable fails loudly instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        date=format_date, time=format_time, datetime=format_datetime, duration=format_duration,
        role=role_label, field=field_label, revision=revision_label, vn_long_date=format_long_date,
        place=place_name,
    )
    env.globals["font_stack"] = Markup(FONT_STACK)  # CSS, not text: entities would break it
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def qr_svg(data: str, *, scale: int = 3) -> Markup:
    """An inline SVG QR code (segno, error correction M), drawn without any network."""
    import segno

    if not data:
        raise InvalidInput("a QR code needs a non-empty text", "mã QR cần một nội dung không rỗng", code="qr_empty")
    code = segno.make(data, error="m", micro=False)
    return Markup(code.svg_inline(scale=scale, border=2, omitsize=False))


def to_pdf(html: str) -> bytes:
    """Render a self-contained HTML document to PDF (page size and margins come from its CSS)."""
    from weasyprint import HTML  # imported late: loading pango takes a moment
    from weasyprint.urls import URLFetcher

    # Documents carry everything inline; anything else referenced is a bug, never a download.
    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
