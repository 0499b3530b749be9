"""Printable documents as API routes, the same renderers as the web's print pages
(`engine.adapters.documents`): the dossier forms 01-06 of the one-stop circulars, the
ISO procedure document of a procedure or of one version, a commune's posting sheet and
its dossier register, each as HTML or PDF."""
from __future__ import annotations

from flask import Response, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate
from werkzeug.routing import BuildError

from api.auth import current_actor, runtime
from api.resources.dossiers import DOSSIER_REF, _ref
from api.schemas import Day, Schema
from engine.adapters.documents.dossier_forms import DEFAULT_EDITION, FORM_EDITIONS, render_dossier_form, render_register
from engine.adapters.documents.printing import render_posting_sheet, render_procedure, render_version
from engine.domain.calendar import VN_TZ
from engine.views import library

blp = Blueprint("documents", __name__, url_prefix="/api",
                description="Printable documents: dossier forms 01-06, ISO procedure documents, posting sheets, register")

MIMETYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
DOCUMENT_RESPONSES = {"200": {"description": "the document as HTML (format=html) or A4 PDF (format=pdf)", "content": {
    "text/html": {"schema": {"type": "string"}},
    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}
FORM_NUMBERS = ("01", "02", "03", "04", "05", "06")


class FormatArgs(Schema):
    format = fields.String(load_default="html", validate=validate.OneOf(sorted(MIMETYPES)))


class DossierFormArgs(FormatArgs):
    edition = fields.String(load_default=DEFAULT_EDITION, validate=validate.OneOf(sorted(FORM_EDITIONS)), metadata={
        "description": "the circular whose numbering and layout to print (06, the control sheet, is 03/2025's; "
                       "in 01/2018 the control sheet is 05)"})


class RegisterArgs(FormatArgs):
    received_from = Day(metadata={"description": "local date, inclusive; default the first day of this month"})
    received_to = Day(metadata={"description": "local date, inclusive; default today"})


def _document(body: bytes, fmt: str, filename: str) -> Response:
    response = Response(body, mimetype=MIMETYPES[fmt].split(";")[0])
    response.headers["Content-Type"] = MIMETYPES[fmt]
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}.{fmt}"'
    return response


def _lookup_url() -> str | None:
    configured = runtime().settings.public_lookup_url
    if configured:
        return configured
    try:
        return url_for("web.lookup", _external=True)
    except BuildError:  # the API mounted without the web pages
        return None


@blp.get(f"/dossiers/{DOSSIER_REF}/forms/<any({', '.join(repr(n) for n in FORM_NUMBERS)}):form>")
@blp.arguments(DossierFormArgs, location="query", unknown=RAISE)
@blp.doc(responses=DOCUMENT_RESPONSES)
def dossier_form(args, ref: str, form: str):
    """A dossier form by its printed number: 01 receipt and appointment slip (without the
    PIN, which only the desk prints at receipt), 02 supplementation request, 03 refusal,
    04 apology letter, 05 stop notice, 06 process control sheet (03/2025 numbering).
    409 when the form does not apply to the dossier yet (no refusal, no apology...)."""
    body = render_dossier_form(runtime(), current_actor(), _ref(ref), form=form, fmt=args["format"],
                               lookup_url=_lookup_url(), edition=args["edition"])
    return _document(body, args["format"], f"{ref}-mau-{form}")


@blp.get("/procedures/<string(maxlength=32):code>/document")
@blp.arguments(FormatArgs, location="query", unknown=RAISE)
@blp.doc(responses=DOCUMENT_RESPONSES)
def procedure_document(args, code: str):
    """The ISO procedure document of a procedure's newest version, with its version history."""
    library.list_procedures(runtime(), current_actor(), limit=1)  # the caller may read the library
    return _document(render_procedure(runtime(), code, args["format"]), args["format"], f"quy-trinh-{code}")


@blp.get("/procedure-versions/<int(min=1, max=2147483647):version_id>/document")
@blp.arguments(FormatArgs, location="query", unknown=RAISE)
@blp.doc(responses=DOCUMENT_RESPONSES)
def version_document(args, version_id: int):
    """The ISO procedure document of one version (a draft prints as a draft)."""
    library.get_version(runtime(), current_actor(), version_id)
    return _document(render_version(runtime(), version_id, args["format"]), args["format"],
                     f"phien-ban-{version_id}")


@blp.get("/org-units/<string(maxlength=32):code>/posting-sheet")
@blp.arguments(FormatArgs, location="query", unknown=RAISE)
@blp.doc(responses=DOCUMENT_RESPONSES)
def posting_sheet(args, code: str):
    """The commune's posting sheet: the procedures in effect today (public information)."""
    current_actor()
    return _document(render_posting_sheet(runtime(), code, args["format"], lookup_url=_lookup_url()),
                     args["format"], f"niem-yet-{code}")


@blp.get("/org-units/<string(maxlength=32):code>/register")
@blp.arguments(RegisterArgs, location="query", unknown=RAISE)
@blp.doc(responses=DOCUMENT_RESPONSES)
def register(args, code: str):
    """The commune's dossier register for the days received (commune staff)."""
    today = runtime().clock.now().astimezone(VN_TZ).date()
    body = render_register(runtime(), current_actor(), code, args.get("received_from") or today.replace(day=1),
                           args.get("received_to") or today, args["format"])
    return _document(body, args["format"], f"so-theo-doi-{code}")
