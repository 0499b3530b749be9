"""The citizen's public lookup (no login): dossier code + PIN -> status, appointment and
steps, without personal data. Rate limited per address and per code."""
from __future__ import annotations

from flask import current_app, request

from api.auth import source_address
from api.web.common import FormErrors, bp, render, report, rt
from engine.errors import IsoflowError
from engine.views import public


@bp.route("/lookup", methods=["GET", "POST"])
def lookup():
    errors = FormErrors()
    result = None
    code = request.values.get("code", "").strip()
    status = 200
    if request.method == "POST":
        try:
            limiter = current_app.extensions["isoflow"].public_lookup_limiter  # the same counters as the REST lookup
            limiter.hit(f"address:{source_address()}", f"code:{code.upper()}")
            result = public.lookup(rt(), code, request.form.get("pin", ""))
        except IsoflowError as error:
            errors = report(error, {"code", "pin"})
            status = 429 if error.code == "too_many_attempts" else 404 if error.code == "lookup_failed" else 422
    return render("public/lookup.html", status, result=result, code=code, errors=errors)
