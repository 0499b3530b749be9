"""The procedure library: versions and their status, upload of a BPMN model (the
validation report, or a stored draft), approve / publish / retire."""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from flask import Response, flash, redirect, request, url_for
from flask_babel import gettext as _

from api.web import diagrams
from api.web.common import page_unit, FormErrors, actor, bp, render, report, rt
from api.web.i18n import current_language, message_of
from engine.domain.fields import FIELDS, field_label
from engine.domain.roles import STEP_ROLES, role_label
from engine.domain import vocabulary
from engine.domain.vocabulary import COMMUNE_CATEGORIES, status_label
from engine.domain.calendar import VN_TZ
from engine.errors import InvalidInput, IsoflowError, NotFound, Problem
from engine.procedure.forms import FORM_ID_PATTERN, MAX_FORM_BYTES
from engine.views import library as library_service
from engine.services import people, procedures
from engine.adapters.documents.printing import render_version
from engine.views import diagrams as diagram_views
from engine.views import step_heatmap
from engine.views import worklist

MAX_FORM_FILES = 50
# the national status codes a step may show while open (docs/authoring.md §3)
STEP_STATUSES = (vocabulary.STATUS_PROCESSING, vocabulary.STATUS_SUPPLEMENTATION,
                 vocabulary.STATUS_FINANCIAL_OBLIGATION, vocabulary.STATUS_PROCESSED)


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
                  rights=worklist.library_rights(page_unit(), who), control=procedures.control_of(page_unit(), who),
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
            problems.append(Problem("form_not_json", f"Tệp biểu mẫu '{name}' không phải JSON hợp lệ.",
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
    diagram = None
    filename = ""
    change_note = request.form.get("change_note", "").strip()
    scope_unit_code = request.form.get("scope_unit_code", "").strip()[:32]
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
                                                 change_note=change_note[:1000], scope_unit_code=scope_unit_code or None)
            except IsoflowError as error:
                if isinstance(error, InvalidInput) and error.code == "model_invalid":
                    model_problems = error.problems  # listed in the report table, not flashed one by one
                    flash(message_of(error), "error")
                    if b"BPMNShape" in source:  # drawn with its problems when the file has a diagram
                        diagram = diagrams.payload(source.decode("utf-8", "replace"),
                                                   diagrams.problem_marks(model_problems))
                else:
                    errors = report(error, {"model", "forms", "scope_unit_code"})
            else:
                _flash_saved(info)
                return redirect(url_for("web.library", _anchor=f"p-{info.procedure_code}"))
        status = 422
    else:
        status = 200
    communes = [u for u in people.list_units(rt(), who) if u.kind == "commune"]
    return render("library/upload.html", status, errors=errors, model_problems=model_problems, filename=filename,
                  change_note=change_note, communes=communes, scope_unit_code=scope_unit_code, diagram=diagram)


@bp.post("/library/versions/<int:version_id>/<any(approve, publish, retire):action>")
def version_action(version_id: int, action: str):
    who = actor()
    if action in ("approve", "retire") and request.form.get("confirm") != "yes":
        # approving and retiring are confirmed on their own pages (the diff and the document first)
        flash(_("Hãy xem lại và xác nhận trước khi phê duyệt hoặc bãi bỏ."), "info")
        page = "web.review_page" if action == "approve" else "web.retire_page"
        return redirect(url_for(page, version_id=version_id))
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
                        no=info.version_no, day=info.effective_from.strftime("%d/%m/%Y"))
            if info.legal_effective_from != info.effective_from:
                message += " " + _("Ngày hiệu lực theo văn bản (%(legal)s) đã qua: hồ sơ tiếp nhận từ hôm nay mới "
                                   "áp dụng phiên bản này.", legal=day.strftime("%d/%m/%Y"))
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


@bp.get("/library/versions/<int(min=1, max=2147483647):version_id>")
def version_page(version_id: int):
    """A stored version: its diagram, metadata and steps table, and what may be done with it."""
    who = actor()
    detail = diagram_views.version_detail(rt(), who, version_id)
    marks = [{"id": step.bpmn_id, "cls": "paused", "badge": _("Tạm dừng (chờ công dân)")}
             for step in detail.steps if step.pauses_clock]
    return render("library/version.html", detail=detail, v=detail.version,
                  diagram=diagrams.payload(detail.source, marks), rights=worklist.library_rights(rt(), who),
                  heatmap=step_heatmap.may_view(rt(), who),
                  today=rt().clock.now().astimezone(VN_TZ).date().isoformat())


@bp.get("/library/versions/<int(min=1, max=2147483647):version_id>/model.bpmn")
def version_model(version_id: int):
    """The BPMN file exactly as submitted, as a download (never rendered by the browser)."""
    filename, source, _forms = library_service.version_source(rt(), actor(), version_id)
    response = Response(source, mimetype="application/octet-stream")
    safe = "".join(c for c in filename if c.isalnum() or c in "._-") or f"version-{version_id}.bpmn"
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/library/versions/<int(min=1, max=2147483647):version_id>/document")
def version_document(version_id: int):
    """The ISO procedure document of a version (HTML, or `?format=pdf`)."""
    library_service.get_version(rt(), actor(), version_id)  # the library's view permission
    fmt = "pdf" if request.args.get("format") == "pdf" else "html"
    body = render_version(rt(), version_id, fmt)
    response = Response(body, mimetype="application/pdf" if fmt == "pdf" else "text/html")
    if fmt == "html":
        response.headers["Content-Type"] = "text/html; charset=utf-8"
    else:
        response.headers["Content-Disposition"] = f'inline; filename="quy-trinh-{version_id}.pdf"'
    return response


# --- the modeler ---------------------------------------------------------------------------

BLANK_MODEL = Path(__file__).parent / "templates" / "library" / "blank.bpmn"
MAX_MODEL_CHARS = 5_000_000  # the upload limit of the validator's XML loader is smaller still
CODE_PROPERTY = re.compile(r'name="procedure_code"\s+value="(\d+\.\d{6})"')


def modeler_registries(forms: dict) -> dict:
    """What the ISO panel offers: the registries' codes with labels in the page's language,
    and the panel's own labels (translated here, with every other message)."""
    lang = current_language()
    labels = {
        "process": _("Thủ tục (quy trình)"), "process_name": _("Tên thủ tục"),
        "procedure_code": _("Mã thủ tục (quốc gia)"), "field": _("Lĩnh vực"),
        "time_limit": _("Thời hạn giải quyết"),
        "time_limit_help": _("Giờ làm việc theo ISO 8601: P3D = 3 ngày làm việc, PT4H = 4 giờ; same-day = trong ngày."),
        "time_basis": _("Cách tính thời hạn"), "default_working": _("Ngày làm việc (mặc định)"),
        "legal_basis": _("Căn cứ pháp lý"), "legal_basis_help": _("Số, ký hiệu và ngày của văn bản; ngăn cách bằng dấu chấm phẩy."),
        "fee": _("Phí, lệ phí"), "name_en": _("Tên tiếng Anh"), "iso_document_code": _("Mã tài liệu ISO"),
        "revision": _("Lần ban hành"), "lane": _("Làn (vai trò)"), "lane_role": _("Vai trò thực hiện"),
        "step": _("Bước xử lý"), "step_name": _("Nội dung công việc"), "duration": _("Thời gian thực hiện"),
        "duration_help": _("Giờ làm việc: PT15M, PT4H, P0.5D, P2D (1 ngày = 8 giờ làm việc)."),
        "role": _("Vai trò (khác với làn)"), "role_from_lane": _("Theo làn"),
        "clock": _("Đồng hồ thời hạn"), "clock_running": _("Tính vào thời hạn (mặc định)"),
        "status": _("Trạng thái hồ sơ khi ở bước này"), "status_default": _("Mặc định (4 hoặc 5)"),
        "form": _("Biểu mẫu của bước"), "no_form": _("Không có biểu mẫu"), "record": _("Hồ sơ, kết quả của bước"),
        "flow": _("Luồng"), "name": _("Tên"), "condition": _("Điều kiện"),
        "condition_help": _("Theo kết quả biểu mẫu của bước trước, ví dụ outcome == 'approve'."),
        "element": _("Phần tử"),
    }
    return {
        "labels": labels,
        "roles": [[code, role_label(code, lang)] for code in sorted(STEP_ROLES, key=lambda c: role_label(c, "vi"))],
        "fields": [[code, field_label(code, lang)] for code in FIELDS],
        "forms": [[form_id, schema.get("title", form_id) if isinstance(schema, dict) else form_id]
                  for form_id, schema in sorted(forms.items())],
        "statuses": [[str(code), status_label(code, lang)] for code in STEP_STATUSES],
        "clocks": [["paused", _("Tạm dừng (chờ công dân bổ sung, nộp nghĩa vụ tài chính)")]],
        "time_bases": [["working", _("Ngày làm việc")], ["calendar", _("Ngày theo lịch (khiếu nại, hòa giải đất đai)")]],
        "categories": [[category, names[0] if lang == "vi" else names[1]] for category, names in COMMUNE_CATEGORIES.items()],
    }


def _modeler_page(status: int, *, xml: str, based_on: int | None, change_note: str, problems: list[Problem],
                  forms: dict, title: str):
    data = modeler_registries(forms)
    data["marks"] = diagrams.problem_marks(problems)
    return render("library/modeler.html", status, xml=xml, based_on=based_on, change_note=change_note,
                  problems=problems, modeler=data, title=title, filename=_("mô hình đang soạn"))


def _require_author():
    who = actor()
    if "procedure.author" not in worklist.library_rights(rt(), who):
        return who, render("error.html", 403, error=None,
                           message=_("Chỉ chuyên gia tư vấn ISO mới được soạn mô hình quy trình."))
    return who, None


@bp.get("/library/new")
def new_procedure():
    """The modeler on a blank procedure: one pool, the desk's lane, receive → end."""
    who, refused = _require_author()
    if refused:
        return refused
    return _modeler_page(200, xml=BLANK_MODEL.read_text(encoding="utf-8"), based_on=None, change_note="",
                         problems=[], forms=library_forms(), title=_("Soạn quy trình mới"))


@bp.get("/library/versions/<int(min=1, max=2147483647):version_id>/edit")
def edit_version(version_id: int):
    """The modeler on a copy of a stored version: saving makes a new draft version."""
    who, refused = _require_author()
    if refused:
        return refused
    _filename, source, forms = library_service.version_source(rt(), who, version_id)
    summary = library_service.get_version(rt(), who, version_id)
    return _modeler_page(200, xml=source.decode("utf-8", "replace"), based_on=version_id, change_note="",
                         problems=[], forms={**library_forms(), **forms},
                         title=_("Sửa bản sao của %(code)s phiên bản %(no)s", code=summary.procedure_code,
                                 no=summary.version_no))


@bp.post("/library/modeler")
def save_model():
    """Validate the modeler's XML exactly as an upload is validated, and store a draft."""
    who, refused = _require_author()
    if refused:
        return refused
    xml = request.form.get("model_xml", "")[:MAX_MODEL_CHARS]
    change_note = request.form.get("change_note", "").strip()[:1000]
    based_on = request.form.get("based_on", type=int)
    forms = library_forms()
    if based_on:
        forms.update(library_service.version_source(rt(), who, based_on)[2])
    found = CODE_PROPERTY.search(xml)
    filename = f"{found.group(1)}.bpmn" if found else "mo-hinh.bpmn"
    title = _("Soạn quy trình mới") if not based_on else _("Sửa bản sao")
    problems: list[Problem] = []
    try:
        info = procedures.submit_version(rt(), who, xml.encode("utf-8"), filename, forms=forms,
                                         change_note=change_note)
    except IsoflowError as error:
        if isinstance(error, InvalidInput) and error.code == "model_invalid":
            problems = error.problems
            flash(message_of(error), "error")
        else:
            report(error, set())
        return _modeler_page(422, xml=xml, based_on=based_on, change_note=change_note, problems=problems,
                             forms=forms, title=title)
    _flash_saved(info)
    return redirect(url_for("web.version_page", version_id=info.version_id))


def _flash_saved(info) -> None:
    """What an upload or the modeler tells the author: a new draft, or the same content already stored."""
    if info.created:
        flash(_("Đã lưu bản nháp %(code)s phiên bản %(no)s; chờ phê duyệt.", code=info.procedure_code,
                no=info.version_no), "success")
    else:
        flash(_("Nội dung này đã có trong thư viện: %(code)s phiên bản %(no)s.",
                code=info.procedure_code, no=info.version_no), "info")


# --- comparing versions, the chair's review, confirmations --------------------------------


def _comparison(who, version_id: int, other_id: int | None):
    """The comparison of a version with `other_id`, else with the version in effect, else
    with the one before it; None for the first version of a procedure."""
    detail = diagram_views.version_detail(rt(), who, version_id)
    base = other_id or (detail.in_effect_version_id if detail.in_effect_version_id != version_id else None) \
        or detail.previous_version_id
    if base is None or base == version_id:
        return detail, None
    return detail, diagram_views.compare_versions(rt(), who, base, version_id)


def _comparison_context(comparison) -> dict:
    if comparison is None:
        return {"comparison": None}
    return {"comparison": comparison,
            "before_diagram": diagrams.payload(comparison.before.source, diagrams.diff_marks(comparison.diff, "before")),
            "after_diagram": diagrams.payload(comparison.after.source, diagrams.diff_marks(comparison.diff, "after"))}


@bp.get("/library/versions/<int(min=1, max=2147483647):version_id>/compare")
def compare_page(version_id: int):
    """What changed from another version (`?with=ID`, default: the one in effect or the previous)."""
    who = actor()
    detail, comparison = _comparison(who, version_id, request.args.get("with", type=int))
    return render("library/compare.html", detail=detail, v=detail.version, **_comparison_context(comparison))


@bp.get("/library/versions/<int(min=1, max=2147483647):version_id>/review")
def review_page(version_id: int):
    """The chair's approval page: what changed, the ISO document as it will be issued,
    then the approve button."""
    who = actor()
    detail, comparison = _comparison(who, version_id, None)
    return render("library/review.html", detail=detail, v=detail.version, rights=worklist.library_rights(rt(), who),
                  **_comparison_context(comparison))


@bp.get("/library/versions/<int(min=1, max=2147483647):version_id>/retire")
def retire_page(version_id: int):
    """Retiring is final: this page asks first (it works without JavaScript)."""
    who = actor()
    detail = diagram_views.version_detail(rt(), who, version_id)
    return render("library/retire.html", detail=detail, v=detail.version, rights=worklist.library_rights(rt(), who))


@bp.get("/library/procedures/<code>/heatmap")
def heatmap_page(code: str):
    """Per step over a period: dossiers passed, median and p90 working time against the
    plan, share late, drawn on the procedure's diagram (chair, vice chair, province)."""
    who = actor()
    period = request.args.get("period", "").strip() or str(rt().clock.now().astimezone(VN_TZ).year)
    try:
        heat = step_heatmap.procedure_heatmap(rt(), who, code, period)
    except InvalidInput as error:
        report(error, set())
        period = str(rt().clock.now().astimezone(VN_TZ).year)
        heat = step_heatmap.procedure_heatmap(rt(), who, code, period)
    return render("library/heatmap.html", heat=heat, period=period,
                  diagram=diagrams.payload(heat.source, diagrams.heat_marks(heat.steps)))
