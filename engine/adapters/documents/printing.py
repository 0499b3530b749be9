"""Documents from the database as bytes, for the API, the web pages and the CLI.

Procedure documents and posting sheets are public information (they hang on the
commune's notice board), so they need no actor; dossier forms do
(`dossier_forms.render_dossier_form`).
"""
from __future__ import annotations

from datetime import date

from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.errors import InvalidInput

from .posting import commune_by_code, effective_metadata, posting_sheet
from .procedure import latest_version, procedure_document, version_records
from .render import to_pdf

PRINTING = Actor.system("documents")  # public documents: procedures and posting sheets

FORMATS = ("html", "pdf")


def _as(fmt: str, html: str) -> bytes:
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}", f"định dạng {fmt!r} không hỗ trợ", code="bad_format",
                           hint="use html or pdf")
    return to_pdf(html) if fmt == "pdf" else html.encode("utf-8")


def render_procedure(rt, procedure_code: str, fmt: str = "html", *, unit_name: str | None = None) -> bytes:
    """The procedure document of a stored procedure's newest version, with its version history."""
    with rt.read(PRINTING) as reading:
        session = reading.session
        version = latest_version(session, procedure_code)
        records = version_records(session, procedure_code)
        model = rt.model(version)
    return _as(fmt, procedure_document(model, records, unit_name=unit_name))


def render_version(rt, version_id: int, fmt: str = "html", *, unit_name: str | None = None) -> bytes:
    """The procedure document of one stored version (a draft prints as a draft), with the
    procedure's version history: what the chair reads before approving it."""
    from engine.adapters.db.models import ProcedureVersion
    from engine.errors import NotFound

    with rt.read(PRINTING) as unit:
        session = unit.session
        version = session.get(ProcedureVersion, version_id)
        if version is None:
            raise NotFound(f"procedure version {version_id} not found", f"không tìm thấy phiên bản {version_id}",
                           code="not_found")
        records = version_records(session, version.procedure.code)
        model = rt.model(version)
    return _as(fmt, procedure_document(model, records, unit_name=unit_name))


def render_posting_sheet(rt, unit_code: str, fmt: str = "html", *, lookup_url: str | None = None,
                         on: date | None = None) -> bytes:
    """A commune's posting sheet: the procedures in effect on `on` (default today)."""
    day = on or rt.clock.now().astimezone(VN_TZ).date()
    with rt.read(PRINTING) as reading:
        session = reading.session
        unit = commune_by_code(session, unit_code)
        procedures = effective_metadata(session, day)
        session.expunge(unit)
    return _as(fmt, posting_sheet(unit, procedures, lookup_url or rt.settings.public_lookup_url or "", posted_on=day))
