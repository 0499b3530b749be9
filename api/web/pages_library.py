"""The procedure library: versions and their status, upload of a BPMN model (the
validation report, or a stored draft), approve / publish / retire."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from api.web.common import page_unit, FormErrors, actor, bp, render, report, rt
from api.web.i18n import message_of
from engine.domain.calendar import VN_TZ
from engine.errors import InvalidInput, IsoflowError, NotFound, Problem
from engine.procedure.forms import FORM_ID_PATTERN, MAX_FORM_BYTES
from engine.services import library as library_service
from engine.services import procedures
from engine.views import worklist

MAX_FORM_FILES = 50


LIBRARY_PAGE = 200  # the library of a province: every procedure on one page


@bp.get("/library")
def library():
    who = actor()
    entries, total = library_service.list_procedures(page_unit(), who, limit=LIBRARY_PAGE)
    for entry in entries:
        entry.versions.sort(key=lambda v: v.version_no, reverse=True)
    names = worklist.user_names(page_unit(), {v.created_by_id for e in entries for v in e.versions}
                                | {v.approved_by_id for e in entries for v in e.versions})
    return render("library/list.html", entries=entries, total=total, names=names,
                  rights=worklist.library_rights(page_unit(), who),
                  today=rt().clock.now().astimezone(VN_TZ).date().isoformat())


def library_forms() -> dict:
    """The step forms kept with the library's models (bpmn/forms/*.json)."""
    forms_dir = Path(rt().settings.bpmn_dir) / "forms"
    forms = {}
    if forms_dir.is_dir():
        for path in sorted(forms_dir.glob("*.json")):
            try:
                forms[path.stem] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue  # the validator reports a form it cannot find by name
    return forms


def uploaded_forms() -> tuple[dict, list[Problem]]:
    forms: dict = {}
    problems: list[Problem] = []
    files = [f for f in request.files.getlist("forms") if f and f.filename]
    if len(files) > MAX_FORM_FILES:
        problems.append(Problem("too_many_forms", f"Tối đa {MAX_FORM_FILES} tệp biểu mẫu.",
                                f"At most {MAX_FORM_FILES} form files.", field="forms"))
        return forms, problems
    for upload in files:
        name = Path(upload.filename).name
        stem = name.removesuffix(".json")
        raw = upload.read(MAX_FORM_BYTES + 1)
        if not name.endswith(".json") or not FORM_ID_PATTERN.match(stem):
            problems.append(Problem("bad_form_name", f"Tệp biểu mẫu '{name}' phải có tên dạng <mã_biểu_mẫu>.json.",
                                    f"Form file '{name}' must be named <form_id>.json.", field="forms",
                                    hint="use lowercase letters, digits, '_' and '-'"))
            continue
        if len(raw) > MAX_FORM_BYTES:
            problems.append(Problem("form_too_large", f"Tệp biểu mẫu '{name}' quá lớn.",
                                    f"Form file '{name}' is larger than {MAX_FORM_BYTES} bytes.", field="forms"))
            continue
        try:
            forms[stem] = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(Problem("form_not_json", f"Tệp biểu mẫu '{name}' không phải JSON hợp lệ: {exc}",
                                    f"Form file '{name}' is not valid JSON: {exc}", field="forms"))
    return forms, problems


@bp.route("/library/upload", methods=["GET", "POST"])
def upload():
    who = actor()
    rights = worklist.library_rights(page_unit(), who)
    if "procedure.author" not in rights:
        return render("error.html", 403, error=None,
                      message=_("Chỉ chuyên gia tư vấn ISO mới được tải lên mô hình quy trình."))
    errors = FormErrors()
    model_problems: list[Problem] = []
    filename = ""
    change_note = request.form.get("change_note", "").strip()
    if request.method == "POST":
        model = request.files.get("model")
        forms, problems = uploaded_forms()
        for problem in problems:
            errors.add(problem, {"forms"})
        if model is None or not model.filename:
            errors.fields["model"] = [_("Hãy chọn tệp mô hình BPMN (.bpmn).")]
        elif not errors:
            filename = Path(model.filename).name[:255]
            source = model.read()
            try:
                info = procedures.submit_version(rt(), who, source, filename, forms={**library_forms(), **forms},
                                                 change_note=change_note[:1000])
            except IsoflowError as error:
                if isinstance(error, InvalidInput) and error.code == "model_invalid":
                    model_problems = error.problems  # listed in the report table, not flashed one by one
                    flash(message_of(error), "error")
                else:
                    errors = report(error, {"model", "forms"})
            else:
                if info.created:
                    flash(_("Đã lưu bản nháp %(code)s phiên bản %(no)s; chờ phê duyệt.", code=info.procedure_code,
                            no=info.version_no), "success")
                else:
                    flash(_("Nội dung này đã có trong thư viện: %(code)s phiên bản %(no)s.",
                            code=info.procedure_code, no=info.version_no), "info")
                return redirect(url_for("web.library", _anchor=f"p-{info.procedure_code}"))
        status = 422
    else:
        status = 200
    return render("library/upload.html", status, errors=errors, model_problems=model_problems, filename=filename,
                  change_note=change_note)


@bp.post("/library/versions/<int:version_id>/<any(approve, publish, retire):action>")
def version_action(version_id: int, action: str):
    who = actor()
    try:
        if action == "approve":
            info = procedures.approve_version(rt(), who, version_id)
            message = _("Đã phê duyệt %(code)s phiên bản %(no)s.", code=info.procedure_code, no=info.version_no)
        elif action == "publish":
            text = request.form.get("effective_from", "").strip()
            try:
                day = date.fromisoformat(text)
            except ValueError:
                raise InvalidInput("the effective date must be a date (YYYY-MM-DD)",
                                   "ngày hiệu lực không hợp lệ", code="bad_effective_from",
                                   problems=[Problem("bad_date", "Hãy nhập ngày có hiệu lực.",
                                                     "Enter the effective date.", field="effective_from")]) from None
            info = procedures.publish_version(rt(), who, version_id, day)
            message = _("Đã ban hành %(code)s phiên bản %(no)s, hiệu lực từ %(day)s.", code=info.procedure_code,
                        no=info.version_no, day=day.strftime("%d/%m/%Y"))
        else:
            info = procedures.retire_version(rt(), who, version_id)
            message = _("Đã bãi bỏ %(code)s phiên bản %(no)s.", code=info.procedure_code, no=info.version_no)
    except NotFound:
        raise
    except IsoflowError as error:
        report(error, set())
        return redirect(url_for("web.library"))
    flash(message, "success")
    return redirect(url_for("web.library", _anchor=f"p-{info.procedure_code}"))
