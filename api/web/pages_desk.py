"""The one-stop desk: receive a dossier (receipt with code, appointment and PIN), take in
the papers a citizen brings for a supplementation, hand results back."""
from __future__ import annotations

from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _

from api.web import schema_form
from api.web.common import page_unit, PAGE_SIZE, FormErrors, actor, bp, render, report, rt
from api.web.pages_attachments import FILES_FIELD, uploads_of
from engine.domain.textmatch import fold
from engine.errors import IsoflowError, NotFound
from engine.services import attachments, dossiers
from engine.views import desk as desk_views, dossiers as views, worklist
from engine.services.dossiers import Applicant, ReceivedComponent

RECEIPT_PINS = "receipt_pins"  # session key: PINs not yet shown, by dossier code
APPLICANT_FIELDS = ("applicant_name", "applicant_id_number", "applicant_address", "applicant_phone", "applicant_email")
RECEIVE_FIELDS = {"unit", "procedure_code", "channel", *APPLICANT_FIELDS, "components", "other_papers", FILES_FIELD}
CHECK_ACTION = "check"  # the form's first (hidden) button: Enter in a text box lands here, nothing is received


@bp.route("/desk/receive", methods=["GET", "POST"])
def receive():
    """Choose the procedure, tick the papers received, type the applicant and the desk
    step's own fields once, attach the scans: one POST receives the dossier, completes
    the desk's first step with the same data and leads to the slip."""
    who = actor()
    units = worklist.units_where(page_unit(), who, "dossier.receive")
    if not units:
        return render("error.html", 403, error=None, message=_("Chỉ công chức tiếp nhận và trả kết quả mới tiếp nhận hồ sơ."))
    procedures = worklist.receivable_procedures(page_unit())
    search = {p.code: fold(f"{p.code} {p.name}") for p in procedures}
    query = fold(request.args.get("q", "")) if request.method == "GET" else ""
    if query:  # typed part of the name (with or without accents) or of the code, without script
        procedures = [p for p in procedures if query in search[p.code]]
    source = request.form if request.method == "POST" else request.args
    values = {"channel": "1", "unit": units[0].code}
    values.update({name: source.get(name, "").strip() for name in RECEIVE_FIELDS - {FILES_FIELD} if source.get(name)})
    errors = FormErrors()
    form = None
    if values.get("procedure_code"):
        unit_code = values["unit"] if any(u.code == values["unit"] for u in units) else units[0].code
        try:
            form = desk_views.receipt_form(page_unit(), who, unit_code=unit_code, procedure_code=values["procedure_code"])
        except NotFound:
            errors.fields["procedure_code"] = [_("Thủ tục này không có phiên bản đang có hiệu lực hôm nay.")]
    step_schema = _typed_step_schema(form.step_schema) if form is not None else None
    step_fields = schema_form.fields_of(step_schema)
    step_values = schema_form.display_values(step_schema, request.form) if request.method == "POST" else {}
    ticked = set(request.form.getlist("component")) if request.method == "POST" else set()
    counts = {key: request.form.get(key, "") for key in request.form if key.startswith("count-")} \
        if request.method == "POST" else {}
    if query and len(procedures) == 1 and not values.get("procedure_code"):
        values["procedure_code"] = procedures[0].code  # preselected; the clerk still confirms it
    context = dict(units=units, procedures=procedures, form=form, step_fields=step_fields, step_values=step_values,
                   ticked=ticked, counts=counts, search=search, query=request.args.get("q", "").strip())
    if request.method == "GET":
        return render("desk/receive.html", 422 if errors else 200, values=values, errors=errors, **context)
    if request.form.get("action") == CHECK_ACTION:  # Enter pressed in a box: show the form again, receive nothing
        flash(_("Hồ sơ chưa được tiếp nhận: kiểm tra lại rồi bấm “Tiếp nhận và in giấy hẹn”."), "hint")
        return render("desk/receive.html", 200, values=values, errors=errors, **context)
    if not values.get("procedure_code"):
        errors.fields["procedure_code"] = [_("Hãy chọn thủ tục hành chính.")]
    step_data, problems = schema_form.parse(step_schema, request.form)
    step_names = {f.name for f in step_fields}
    for problem in problems:
        errors.add(problem, step_names)
    components = _received_components(form, ticked, request.form, errors)
    uploads = uploads_of(request.files, rt().settings)
    if uploads:
        try:
            attachments.check_uploads(rt().settings, uploads)
        except IsoflowError as error:
            for problem in error.problems:
                errors.add(problem, {FILES_FIELD})
    try:
        channel = int(values.get("channel") or 0)
    except ValueError:
        channel = 0
    if not errors:
        try:
            receipt = dossiers.receive(
                rt(), who, unit_code=values["unit"], procedure_code=values["procedure_code"], channel=channel,
                applicant=Applicant(values.get("applicant_name", ""), values.get("applicant_id_number", ""),
                                    values.get("applicant_address", ""), values.get("applicant_phone", ""),
                                    values.get("applicant_email", "")),
                components=components, first_step=step_data if form is not None and form.step_name else None)
        except IsoflowError as error:
            errors = report(error, RECEIVE_FIELDS | step_names, field_map={"applicant.name": "applicant_name"})
        else:
            _attach_at_receipt(who, receipt.code, uploads)
            pins = dict(session.get(RECEIPT_PINS) or {})
            pins[receipt.code] = receipt.pin
            session[RECEIPT_PINS] = pins
            return redirect(url_for("web.receipt", code=receipt.code))
    return render("desk/receive.html", 422, values=values, errors=errors, **context)


def _typed_step_schema(schema):
    """The desk step's form without what the receipt already asks (applicant, channel,
    papers): those are filled from the receipt (`dossiers.receipt_step_data`)."""
    return dossiers.desk_step_schema(schema)


def _received_components(form, ticked: set[str], posted, errors: FormErrors) -> list[ReceivedComponent]:
    """The ticked papers of the checklist with their number of copies, and the other
    papers typed one per line."""
    out = []
    for index, item in enumerate(form.components if form is not None else []):
        if str(index) not in ticked:
            continue
        raw = (posted.get(f"count-{index}") or str(item.count)).strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 99:
            errors.fields.setdefault("components", []).append(
                _("“%(name)s”: số bản phải là số từ 1 đến 99.", name=item.name))
            continue
        out.append(ReceivedComponent(item.name, item.kind, int(raw)))
    for line in (posted.get("other_papers") or "").splitlines():
        if line.strip():
            out.append(ReceivedComponent(line.strip()[:500], "original", 1))
    return out


def _attach_at_receipt(who, code: str, uploads) -> None:
    if not uploads:
        return
    try:
        attachments.attach(rt(), who, code, uploads, at_receipt=True)
    except IsoflowError as error:  # checked before receiving; a failure here leaves the dossier received
        report(error, set())
        flash(_("Hồ sơ đã được tiếp nhận nhưng chưa lưu được tệp đính kèm; hãy tải lên lại ở trang hồ sơ."), "error")


@bp.get("/dossiers/<code>/receipt")
def receipt(code: str):
    dossier = views.dossier_view(page_unit(), actor(), code)
    pins = dict(session.get(RECEIPT_PINS) or {})
    pin = pins.pop(code, None)  # shown once: a reload no longer has it
    session[RECEIPT_PINS] = pins
    may_reissue = desk_views.may_reissue_pin(page_unit(), actor(), dossier.id)
    return render("desk/receipt.html", dossier=dossier, pin=pin, may_reissue=may_reissue,
                  errors=FormErrors(), reason="")


@bp.post("/dossiers/<code>/reissue-pin")
def reissue_pin(code: str):
    """A new PIN for a lost or exposed slip (the old one stops working); the slip is
    printed again with it from the receipt page."""
    who = actor()
    reason = request.form.get("reason", "")
    try:
        issued = dossiers.reissue_pin(rt(), who, code, reason)
    except NotFound:
        raise
    except IsoflowError as error:
        errors = report(error, {"reason"})
        dossier = views.dossier_view(page_unit(), who, code)
        return render("desk/receipt.html", 422, dossier=dossier, pin=None, may_reissue=True, errors=errors,
                      reason=reason)
    pins = dict(session.get(RECEIPT_PINS) or {})
    pins[issued.dossier_code] = issued.pin
    session[RECEIPT_PINS] = pins
    flash(_("Đã cấp mã PIN mới; mã cũ không còn dùng được. Hãy in lại giấy hẹn."), "success")
    return redirect(url_for("web.receipt", code=issued.dossier_code))


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
                           _("Đã tiếp nhận hồ sơ bổ sung; thời hạn giải quyết được tính tiếp."),
                           after={"slip": "new"})  # the pause moved the appointment: offer the new slip


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


def _desk_step_form(dossier, step, template, perform, done_message, schema=None, then: str | None = None,
                    after=None):
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
                return redirect(then or url_for("web.dossier", code=dossier.code, **(after or {})))
        return render(template, 422, dossier=dossier, step=step, fields=fields, values=values, errors=errors)
    return render(template, dossier=dossier, step=step, fields=fields, values=values, errors=errors)
