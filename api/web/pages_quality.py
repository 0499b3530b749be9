"""The quality system's pages (docs/iso.md): the commune's registers on one page
(objectives with their measured values, nonconformities, corrective actions,
complaints, risks, audit programmes, management reviews), a nonconformity with its
corrective actions, an audit with its checklist and sample, and a management review
with its pack. Another commune's records are 404 like every page."""
from __future__ import annotations

from datetime import date

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api.web.common import actor, bp, render, report, rt
from engine.adapters.documents import quality as quality_documents
from engine.domain import quality as rules
from engine.domain.calendar import VN_TZ
from engine.errors import InvalidInput, IsoflowError, NotFound, Problem
from engine.services import quality, quality_audit
from engine.services import quality_review as review_service
from engine.views import quality as views

NC_STATE_LABELS = {"open": _l("Mới ghi nhận"), "action_planned": _l("Đang khắc phục"),
                   "verifying": _l("Chờ đánh giá hiệu lực"), "closed": _l("Đã đóng")}
SOURCE_LABELS = {"late_dossier": _l("Hồ sơ quá hạn"), "apology": _l("Phiếu xin lỗi, hẹn lại"),
                 "complaint": _l("Phản ánh, kiến nghị"), "audit_finding": _l("Đánh giá nội bộ"),
                 "manual": _l("Cán bộ ghi nhận")}
FINDING_LABELS = {"conformity": _l("Phù hợp"), "observation": _l("Khuyến nghị"), "nonconformity": _l("Không phù hợp")}
VERDICT_LABELS = {"met": _l("Đạt"), "not_met": _l("Không đạt"), "no_data": _l("Chưa có số liệu")}
AUDIT_STATE_LABELS = {"planned": _l("Đã lập kế hoạch"), "in_progress": _l("Đang đánh giá"), "reported": _l("Đã báo cáo")}
RISK_KIND_LABELS = {"risk": _l("Rủi ro"), "opportunity": _l("Cơ hội")}
RISK_LEVEL_LABELS = {"high": _l("Cao"), "medium": _l("Trung bình"), "low": _l("Thấp")}
MEASURE_LABELS = {
    "on_time_percent": _l("Tỷ lệ hồ sơ giải quyết đúng hạn và trước hạn (chỉ số 2.1)"),
    "late_percent": _l("Tỷ lệ hồ sơ giải quyết quá hạn"),
    "avg_processing_days": _l("Thời gian giải quyết trung bình (ngày làm việc, chỉ số 2.2)"),
    "late_without_apology": _l("Số hồ sơ quá hạn không có phiếu xin lỗi"),
    "satisfaction_percent": _l("Mức độ hài lòng của người dân"),
}
LABELS = {"NC_STATE_LABELS": NC_STATE_LABELS, "SOURCE_LABELS": SOURCE_LABELS, "FINDING_LABELS": FINDING_LABELS,
          "VERDICT_LABELS": VERDICT_LABELS, "AUDIT_STATE_LABELS": AUDIT_STATE_LABELS,
          "RISK_KIND_LABELS": RISK_KIND_LABELS, "RISK_LEVEL_LABELS": RISK_LEVEL_LABELS,
          "MEASURE_LABELS": MEASURE_LABELS}


@bp.app_context_processor
def _quality_labels():
    return LABELS  # also for the chair's dashboard panel


def _page(template: str, status: int = 200, **context):
    return render(template, status, **context)


def _back(default: str) -> str:
    target = request.form.get("back") or default
    return target if target.startswith("/") and not target.startswith("//") else default


def _attempt(done_message: str, call, back: str):
    """Run one use case for a form: a flash either way, then back to the page."""
    try:
        call()
    except NotFound:
        raise  # another commune's record: 404 like every page
    except IsoflowError as error:
        report(error)
    else:
        flash(done_message, "success")
    return redirect(back)


def _form(name: str) -> str:
    return request.form.get(name, "").strip()


def _int(name: str, label: str) -> int:
    try:
        return int(_form(name))
    except ValueError:
        raise InvalidInput(f"{name} must be a number", f"{name} phải là số", code="not_a_number",
                           problems=[Problem("not_a_number", f"{label}: hãy nhập một số.", f"{name}: enter a number.",
                                             field=name)]) from None


def _float(name: str) -> float:
    try:
        return float(_form(name).replace(",", "."))
    except ValueError:
        raise InvalidInput(f"{name} must be a number", f"{name} phải là số", code="not_a_number",
                           problems=[Problem("not_a_number", "Hãy nhập một số.", "Enter a number.", field=name)]) from None


def _day(name: str) -> date:
    try:
        return date.fromisoformat(_form(name))
    except ValueError:
        raise InvalidInput(f"{name} must be a date (YYYY-MM-DD)", f"{name} phải là ngày (YYYY-MM-DD)", code="bad_date",
                           problems=[Problem("bad_date", "Hãy chọn ngày.", "Choose a date.", field=name)]) from None


# --- the commune's quality system ----------------------------------------------------------


@bp.get("/quality")
def quality_home():
    who = actor()
    units = views.communes_for(rt(), who)
    if not units:
        return _page("error.html", 403, error=None, message=_("Bạn không có vai trò tại xã nào."))
    unit_code = request.args.get("unit") or units[0].code
    may = views.permissions(rt(), who, unit_code)  # another commune's code answers NotFound
    unit = next(u for u in units if u.code == unit_code)
    now = rt().clock.now()
    year = now.astimezone(VN_TZ).year
    quarter = views.current_quarter(now)
    return _page(
        "quality/home.html", units=units, unit=unit, unit_code=unit_code, may=may, year=year,
        quarter=views.measure_objectives(rt(), who, unit_code=unit_code, period=quarter),
        year_values=views.measure_objectives(rt(), who, unit_code=unit_code, period=str(year)),
        ncs=views.list_nonconformities(rt(), who, unit_code=unit_code),
        actions=views.list_actions(rt(), who, unit_code=unit_code, open_only=True),
        complaints=views.list_complaints(rt(), who, unit_code=unit_code),
        risks=views.list_risks(rt(), who, unit_code=unit_code),
        programmes=views.list_programmes(rt(), who, unit_code=unit_code),
        reviews=views.list_reviews(rt(), who, unit_code=unit_code),
        measures=rules.MEASURES, today=now.astimezone(VN_TZ).date())


def _home(unit_code: str) -> str:
    return url_for("web.quality_home", unit=unit_code)


@bp.post("/quality/objectives")
def quality_objective_new():
    unit_code = _form("unit_code")
    return _attempt(_("Đã đặt mục tiêu chất lượng."), lambda: quality.set_objective(
        rt(), actor(), unit_code=unit_code, year=_int("year", "Năm"), title=_form("title"), measure=_form("measure"),
        target=_float("target")), _home(unit_code))


@bp.post("/quality/nonconformities")
def quality_nc_new():
    unit_code = _form("unit_code")
    return _attempt(_("Đã ghi nhận sự không phù hợp."), lambda: quality.open_nonconformity(
        rt(), actor(), unit_code=unit_code, description=_form("description"),
        dossier_code=_form("dossier_code").upper() or None, procedure_code=_form("procedure_code") or None),
        _home(unit_code))


@bp.post("/quality/complaints")
def quality_complaint_new():
    unit_code = _form("unit_code")
    return _attempt(_("Đã ghi nhận phản ánh và mở sự không phù hợp."), lambda: quality.record_complaint(
        rt(), actor(), dossier_code=_form("dossier_code").upper(), complainant=_form("complainant"),
        content=_form("content")), _home(unit_code))


@bp.post("/quality/complaints/<int:complaint_id>/answer")
def quality_complaint_answer(complaint_id: int):
    return _attempt(_("Đã ghi câu trả lời."), lambda: quality.answer_complaint(rt(), actor(), complaint_id,
                                                                              _form("answer")),
                    _back(url_for("web.quality_home")))


@bp.post("/quality/risks")
def quality_risk_new():
    unit_code = _form("unit_code")
    return _attempt(_("Đã ghi nhận rủi ro, cơ hội."), lambda: quality.add_risk(
        rt(), actor(), unit_code=unit_code, kind=_form("kind"), description=_form("description"),
        likelihood=_int("likelihood", "Khả năng xảy ra"), impact=_int("impact", "Mức độ ảnh hưởng"),
        treatment=_form("treatment"), procedure_code=_form("procedure_code") or None), _home(unit_code))


@bp.post("/quality/risks/<int:risk_id>/review")
def quality_risk_review(risk_id: int):
    """Re-assess a risk, typically at a management review (6.1 reviewed in 9.3)."""
    return _attempt(_("Đã đánh giá lại rủi ro, cơ hội."), lambda: quality.review_risk(
        rt(), actor(), risk_id, likelihood=_int("likelihood", "Khả năng xảy ra"), impact=_int("impact", "Mức độ ảnh hưởng"),
        note=_form("note"), close=_form("close") == "yes"), _back(url_for("web.quality_home")))


@bp.post("/quality/programmes")
def quality_programme_new():
    unit_code = _form("unit_code")
    return _attempt(_("Đã lập chương trình đánh giá nội bộ."), lambda: quality_audit.create_programme(
        rt(), actor(), unit_code=unit_code, year=_int("year", "Năm"), scope=_form("scope")), _home(unit_code))


@bp.post("/quality/reviews")
def quality_review_new():
    unit_code = _form("unit_code")
    created: list[int] = []

    def create():
        created.append(review_service.create_review(rt(), actor(), unit_code=unit_code, period=_form("period"),
                                                    held_on=_day("held_on"), chaired_by=_form("chaired_by")))
    response = _attempt(_("Đã tạo cuộc xem xét của lãnh đạo."), create, _home(unit_code))
    return redirect(url_for("web.quality_review", review_id=created[0])) if created else response


# --- a nonconformity ---------------------------------------------------------------------------


@bp.get("/quality/nonconformities/<int:nc_id>")
def quality_nc(nc_id: int):
    who = actor()
    nc = views.get_nonconformity(rt(), who, nc_id)
    may = views.permissions(rt(), who, nc.unit_code)
    colleagues = _colleagues(nc.unit_code)
    return _page("quality/nonconformity.html", nc=nc, may=may, colleagues=colleagues,
                 today=rt().clock.now().astimezone(VN_TZ).date(), me_id=who.user_id)


def _colleagues(unit_code: str) -> list[views.Person]:
    return views.people_of(rt(), actor(), unit_code)


def _nc_back(nc_id: int) -> str:
    return url_for("web.quality_nc", nc_id=nc_id)


@bp.post("/quality/nonconformities/<int:nc_id>/correction")
def quality_nc_correction(nc_id: int):
    return _attempt(_("Đã ghi khắc phục tức thời."),
                    lambda: quality.record_correction(rt(), actor(), nc_id, _form("correction")), _nc_back(nc_id))


@bp.post("/quality/nonconformities/<int:nc_id>/actions")
def quality_nc_action(nc_id: int):
    return _attempt(_("Đã thêm hành động khắc phục."), lambda: quality.add_action(
        rt(), actor(), nonconformity_id=nc_id, description=_form("description"), owner_id=_int("owner_id", "Người thực hiện"),
        due_on=_day("due_on")), _nc_back(nc_id))


@bp.post("/quality/nonconformities/<int:nc_id>/analysis")
def quality_nc_analysis(nc_id: int):
    return _attempt(_("Đã ghi nguyên nhân gốc."), lambda: quality.analyse(rt(), actor(), nc_id, _form("root_cause")),
                    _nc_back(nc_id))


@bp.post("/quality/nonconformities/<int:nc_id>/verification")
def quality_nc_verification(nc_id: int):
    return _attempt(_("Đã ghi đánh giá hiệu lực."), lambda: quality.verify(
        rt(), actor(), nc_id, _form("verification"), _form("effective") == "yes"), _nc_back(nc_id))


@bp.post("/quality/nonconformities/<int:nc_id>/close")
def quality_nc_close(nc_id: int):
    return _attempt(_("Đã đóng sự không phù hợp."), lambda: quality.close(rt(), actor(), nc_id), _nc_back(nc_id))


@bp.post("/quality/actions/<int:action_id>/done")
def quality_action_done(action_id: int):
    return _attempt(_("Đã ghi nhận hành động hoàn thành."),
                    lambda: quality.complete_action(rt(), actor(), action_id, _form("note")),
                    _back(url_for("web.quality_home")))


# --- internal audits ---------------------------------------------------------------------------


@bp.get("/quality/programmes/<int:programme_id>")
def quality_programme(programme_id: int):
    who = actor()
    programme = views.get_programme(rt(), who, programme_id)
    may = views.permissions(rt(), who, programme.unit_code)
    return _page("quality/programme.html", programme=programme, may=may, auditors=_colleagues(programme.unit_code),
                 procedures=_procedures())


def _procedures():
    from engine.views import worklist

    return worklist.receivable_procedures(rt())


@bp.post("/quality/programmes/<int:programme_id>/audits")
def quality_audit_new(programme_id: int):
    back = url_for("web.quality_programme", programme_id=programme_id)
    return _attempt(_("Đã lập kế hoạch cuộc đánh giá."), lambda: quality_audit.plan_audit(
        rt(), actor(), programme_id=programme_id, procedure_code=_form("procedure_code"),
        auditor_id=_int("auditor_id", "Người đánh giá"), planned_on=_day("planned_on"),
        period_start=_day("period_start"), period_end=_day("period_end"),
        sample_size=_int("sample_size", "Cỡ mẫu")), back)


@bp.get("/quality/audits/<int:audit_id>")
def quality_audit_page(audit_id: int):
    who = actor()
    audit = views.get_audit(rt(), who, audit_id)
    return _page("quality/audit.html", a=audit, is_auditor=who.user_id == audit.auditor_id)


def _audit_back(audit_id: int) -> str:
    return url_for("web.quality_audit_page", audit_id=audit_id)


@bp.post("/quality/audits/<int:audit_id>/generate")
def quality_audit_generate(audit_id: int):
    return _attempt(_("Đã chọn mẫu hồ sơ và lập danh mục kiểm tra."),
                    lambda: quality_audit.generate(rt(), actor(), audit_id), _audit_back(audit_id))


@bp.post("/quality/audits/<int:audit_id>/findings")
def quality_audit_finding(audit_id: int):
    return _attempt(_("Đã ghi phát hiện."), lambda: quality_audit.add_finding(
        rt(), actor(), audit_id, kind=_form("kind"), text=_form("text"), step=_form("step") or None,
        dossier_code=_form("dossier_code").upper() or None), _audit_back(audit_id))


@bp.post("/quality/audits/<int:audit_id>/report")
def quality_audit_report(audit_id: int):
    return _attempt(_("Đã lập báo cáo đánh giá."), lambda: quality_audit.report(rt(), actor(), audit_id,
                                                                               _form("conclusion")),
                    _audit_back(audit_id))


@bp.get("/quality/audits/<int:audit_id>/report.pdf")
def quality_audit_pdf(audit_id: int):
    return _pdf(quality_documents.audit_report(rt(), actor(), audit_id, "pdf"), f"danh-gia-noi-bo-{audit_id}.pdf")


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# --- management reviews --------------------------------------------------------------------------


@bp.get("/quality/reviews/<int:review_id>")
def quality_review(review_id: int):
    who = actor()
    pack = views.review_pack(rt(), who, review_id)
    may = views.permissions(rt(), who, pack.review.unit_code)
    return _page("quality/review.html", p=pack, may=may, colleagues=_colleagues(pack.review.unit_code),
                 today=rt().clock.now().astimezone(VN_TZ).date(), me_id=who.user_id)


@bp.get("/quality/reviews/<int:review_id>/pack.<fmt>")
def quality_review_document(review_id: int, fmt: str):
    if fmt not in ("pdf", "html"):
        abort(404)
    document = quality_documents.review_document(rt(), actor(), review_id, fmt)
    if fmt == "html":
        return Response(document, mimetype="text/html")
    return _pdf(document, f"xem-xet-lanh-dao-{review_id}.pdf")


@bp.post("/quality/reviews/<int:review_id>/decisions")
def quality_review_decision(review_id: int):
    return _attempt(_("Đã ghi quyết định."), lambda: review_service.record_decision(rt(), actor(), review_id,
                                                                                   _form("text")),
                    url_for("web.quality_review", review_id=review_id))


@bp.post("/quality/reviews/<int:review_id>/actions")
def quality_review_action(review_id: int):
    return _attempt(_("Đã thêm hành động."), lambda: quality.add_action(
        rt(), actor(), review_id=review_id, description=_form("description"),
        owner_id=_int("owner_id", "Người thực hiện"), due_on=_day("due_on")),
        url_for("web.quality_review", review_id=review_id))

