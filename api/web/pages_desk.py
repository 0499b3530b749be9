"""The one-stop desk: receive a dossier (receipt with code, appointment and PIN), take in
the papers a citizen brings for a supplementation, hand results back."""
from __future__ import annotations

from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _

from api.web import schema_form
from api.web.common import page_unit, PAGE_SIZE, FormErrors, actor, bp, render, report, rt
from engine.errors import IsoflowError
from engine.services import dossiers
from engine.views import dossiers as views, worklist
from engine.services.dossiers import Applicant

RECEIPT_PINS = "receipt_pins"  # session key: PINs not yet shown, by dossier code
APPLICANT_FIELDS = ("applicant_name", "applicant_id_number", "applicant_address", "applicant_phone", "applicant_email")
RECEIVE_FIELDS = {"unit", "procedure_code", "channel", *APPLICANT_FIELDS}


@bp.route("/desk/receive", methods=["GET", "POST"])
def receive():
    who = actor()
    units = worklist.units_where(page_unit(), who, "dossier.receive")
    if not units:
        return render("error.html", 403, error=None, message=_("Chỉ công chức tiếp nhận và trả kết quả mới tiếp nhận hồ sơ."))
    procedures = worklist.receivable_procedures(page_unit())
    values = {"channel": "1", "unit": units[0].code if units else ""}
    errors = FormErrors()
    status = 200
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in RECEIVE_FIELDS}
        if not values["procedure_code"]:
            errors.fields["procedure_code"] = [_("Hãy chọn thủ tục hành chính.")]
        try:
            channel = int(values["channel"] or 0)
        except ValueError:
            channel = 0
        if not errors:
            try:
                receipt = dossiers.receive(
                    rt(), who, unit_code=values["unit"], procedure_code=values["procedure_code"], channel=channel,
                    applicant=Applicant(values["applicant_name"], values["applicant_id_number"],
                                        values["applicant_address"], values["applicant_phone"],
                                        values["applicant_email"]))
            except IsoflowError as error:
                errors = report(error, RECEIVE_FIELDS, field_map={"applicant.name": "applicant_name"})
            else:
                pins = dict(session.get(RECEIPT_PINS) or {})
                pins[receipt.code] = receipt.pin
                session[RECEIPT_PINS] = pins
                return redirect(url_for("web.receipt", code=receipt.code))
        status = 422
    return render("desk/receive.html", status, units=units, procedures=procedures, values=values, errors=errors)


@bp.get("/dossiers/<code>/receipt")
def receipt(code: str):
    dossier = views.dossier_view(page_unit(), actor(), code)
    pins = dict(session.get(RECEIPT_PINS) or {})
    pin = pins.pop(code, None)  # shown once: a reload no longer has it
    session[RECEIPT_PINS] = pins
    return render("desk/receipt.html", dossier=dossier, pin=pin)


@bp.get("/desk/returns")
def returns():
    return _desk_list(9, "desk/returns.html")


@bp.get("/desk/supplements")
def supplements():
    return _desk_list(5, "desk/supplements.html")


def _desk_list(status_code: int, template: str):
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = views.search_dossiers(page_unit(), actor(), views.DossierFilter(status_code=status_code, state="open"),
                                        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(template, rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)))


@bp.route("/dossiers/<code>/supplement", methods=["GET", "POST"])
def supplement(code: str):
    who = actor()
    dossier = views.dossier_view(page_unit(), who, code)
    step = worklist.waiting_step(page_unit(), who, code)
    if step is None:
        flash(_("Hồ sơ %(code)s không ở trạng thái chờ công dân bổ sung.", code=code), "error")
        return redirect(url_for("web.dossier", code=code))
    return _desk_step_form(dossier, step, "desk/supplement.html",
                           lambda data: dossiers.supplement(rt(), who, code, data),
                           _("Đã tiếp nhận hồ sơ bổ sung; thời hạn giải quyết được tính tiếp."))


@bp.route("/dossiers/<code>/return", methods=["GET", "POST"])
def return_result(code: str):
    who = actor()
    dossier = views.dossier_view(page_unit(), who, code)
    step = worklist.ready_step(page_unit(), who, code)
    if step is None and dossier.result != "refused":
        flash(_("Hồ sơ %(code)s chưa có kết quả để trả.", code=code), "error")
        return redirect(url_for("web.dossier", code=code))
    return _desk_step_form(dossier, step, "desk/return.html",
                           lambda data: dossiers.return_result(rt(), who, code, data),
                           _("Đã trả kết quả cho công dân."),
                           schema=None if step is not None else worklist.refusal_return_schema(rt(), who, code),
                           then=url_for("web.rate_at_desk", code=dossier.code))  # offer the citizen a rating


def _desk_step_form(dossier, step, template, perform, done_message, schema=None, then: str | None = None):
    schema = step.schema if step is not None else schema
    fields = schema_form.fields_of(schema)
    values: dict = {}
    errors = FormErrors()
    if request.method == "POST":
        data, problems = schema_form.parse(schema, request.form)
        values = schema_form.display_values(schema, request.form)
        names = {f.name for f in fields}
        if problems:
            for problem in problems:
                errors.add(problem, names)
        else:
            try:
                perform(data)
            except IsoflowError as error:
                errors = report(error, names)
            else:
                flash(done_message, "success")
                return redirect(then or url_for("web.dossier", code=dossier.code))
        return render(template, 422, dossier=dossier, step=step, fields=fields, values=values, errors=errors)
    return render(template, dossier=dossier, step=step, fields=fields, values=values, errors=errors)
