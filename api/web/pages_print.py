"""Printable dossier forms (01-06 of the edition in force), rendered by `engine.adapters.documents.render_dossier_form`.

Form 01 (the appointment slip) carries the PIN only when printed from the receipt page
right after receipt: the PIN is posted from that page, never put in a URL, and only
its hash is stored."""
from __future__ import annotations

from flask import Response, abort, request, url_for
from flask_babel import gettext as _
from markupsafe import escape

from api.web.common import actor, bp, rt
from engine.adapters.documents.dossier_forms import DEFAULT_EDITION, FORM_EDITIONS, render_dossier_form

FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@bp.route("/dossiers/<code>/print/<form>", methods=["GET", "POST"])
def print_form(code: str, form: str):
    """Form `form` by its printed number in the edition in force (06 = process control sheet)."""
    if all(spec.number != form for spec in FORM_EDITIONS[DEFAULT_EDITION].values()):
        abort(404)
    fmt = request.values.get("format", "html")
    if fmt not in FORMATS:
        fmt = "html"
    pin = request.form.get("pin", "").strip() or None if request.method == "POST" and form == "01" else None
    body = render_dossier_form(rt(), actor(), code, form=form, fmt=fmt, pin=pin,
                               lookup_url=rt().settings.public_lookup_url or url_for("web.lookup", _external=True))
    if fmt == "html":
        body = _with_print_button(body, autoprint=bool(request.values.get("print")))
    response = Response(body, mimetype=FORMATS[fmt].split(";")[0])
    response.headers["Content-Type"] = FORMATS[fmt]
    response.headers["Cache-Control"] = "no-store"  # a slip with a PIN must not linger in caches
    if fmt == "pdf":
        response.headers["Content-Disposition"] = f'inline; filename="{code}-mau-{form}.pdf"'
    return response


def _with_print_button(body: str | bytes, *, autoprint: bool) -> str:
    """The form with a print button (hidden on paper) and the static script behind it;
    no inline script (CSP script-src 'self')."""
    html = body.decode("utf-8") if isinstance(body, bytes) else body
    toolbar = (f'<div class="print-toolbar" style="margin:8px 0;text-align:center">'
               f'<button type="button" data-print style="min-height:44px;padding:8px 20px;font-size:16px">'
               f'{escape(_("In"))}</button></div>'
               f'<style>@media print {{ .print-toolbar {{ display: none; }} }}</style>'
               f'<script src="{url_for("web.static", filename="print.js")}" defer></script>')
    if autoprint:
        html = html.replace("<body", "<body data-autoprint", 1)
    return html.replace("</body>", toolbar + "</body>", 1) if "</body>" in html else html + toolbar
