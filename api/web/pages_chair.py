"""The chair's dashboard: the commune's open steps by role (overdue, due today), the
overdue dossiers, and reassignment of a step to another holder of its role; the
statistics page (figures, charts, trends, indicators, reasons for lateness), the
dossiers behind each figure and the Excel report."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api.web.common import page_unit, actor, bp, render, report, rt
from engine.errors import IsoflowError, NotFound
from engine.services import dossiers
from engine.views import dossiers as views, worklist
from engine.views import quality as quality_views

OVERDUE_LIST = 50


@bp.get("/dashboard")
def dashboard():
    who = actor()
    units = worklist.units_where(page_unit(), who, "task.view_queue")
    if not units:
        return render("error.html", 403, error=None, message=_("Bạn không có vai trò tại xã nào."))
    unit_code = request.args.get("unit") or units[0].code
    role = request.args.get("role") or None
    loads = worklist.queue_summary(page_unit(), who, unit_code)  # another commune's code answers NotFound
    unit = next((u for u in units if u.code == unit_code), None)
    queue = views.queue(page_unit(), who, unit_code=unit_code, role=role, limit=100)
    overdue, overdue_total = views.search_dossiers(page_unit(), who, views.DossierFilter(unit_code=unit_code,
                                                                                 overdue_only=True),
                                                   limit=OVERDUE_LIST)
    may_reassign = worklist.may_reassign(page_unit(), who, unit_code)
    holders = {}
    if may_reassign:
        for r in {t.role for t in queue}:
            holders[r] = worklist.role_holders(page_unit(), who, unit_code, r)
    return render("chair/dashboard.html", units=units, unit=unit, unit_code=unit_code, role=role, loads=loads,
                  queue=queue, overdue=overdue, overdue_total=overdue_total, may_reassign=may_reassign,
                  holders=holders, objectives=quality_views.objectives_panel(page_unit(), who, unit_code))


MAX_ID = 2**31 - 1


@bp.post("/tasks/<int:task_id>/reassign")
def reassign(task_id: int):
    back = request.form.get("back") or url_for("web.dashboard")
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("web.dashboard")
    try:
        user_id = int(request.form.get("user_id", ""))
        if not 1 <= user_id <= MAX_ID:  # no user has such an id (and no database column holds it)
            raise ValueError(user_id)
    except ValueError:
        flash(_("Hãy chọn người nhận công việc."), "error")
        return redirect(back)
    try:
        dossiers.reassign(rt(), actor(), task_id, user_id, request.form.get("reason", "").strip())
    except NotFound:
        raise  # another commune's task: 404 like every page
    except IsoflowError as error:
        report(error)
    else:
        flash(_("Đã giao lại công việc."), "success")
    return redirect(back)


# --- statistics (ISO 9001 clause 9.1; docs/statistics.md) ----------------------------------

PERIOD_KINDS = [("month", _l("Tháng")), ("quarter", _l("Quý")), ("six_months", _l("6 tháng")),
                ("nine_months", _l("9 tháng")), ("year", _l("Năm")), ("custom", _l("Khoảng ngày"))]
GROUPING_LABELS = {"commune": _l("Theo xã"), "field": _l("Theo lĩnh vực"), "procedure": _l("Theo thủ tục"),
                   "officer": _l("Theo cán bộ (bước xử lý)")}
CELL_LABELS = {
    "received_total": _l("Tổng số nhận"), "carried_over": _l("Kỳ trước chuyển sang"), "received_new": _l("Mới tiếp nhận"),
    "received_channel_1": _l("Trực tiếp"), "received_channel_2": _l("Trực tuyến"), "received_channel_3": _l("Bưu chính"),
    "finished_total": _l("Đã giải quyết"), "finished_early": _l("Trước hạn"), "finished_on_time": _l("Đúng hạn"),
    "finished_late": _l("Quá hạn"), "ended_without_result": _l("Rút, dừng"), "pending_total": _l("Đang giải quyết"),
    "pending_within_limit": _l("Trong hạn"), "pending_overdue": _l("Quá hạn (đang giải quyết)"),
    "received_digitised": _l("Mới tiếp nhận, được số hóa"),
}
TREND_LENGTH = 12


def _period_from_form(args, today) -> str:
    """The period text (engine.views.statistics.parse_period) from the picker's fields,
    or `period` as given; the current month by default."""
    if args.get("period"):
        return args["period"].strip()
    kind = args.get("kind") or "month"
    year = (args.get("year") or str(today.year)).strip()
    if kind == "month":
        return f"{year}-{(args.get('month') or str(today.month)).strip().zfill(2)}"
    if kind == "quarter":
        return f"{year}-Q{(args.get('quarter') or str((today.month + 2) // 3)).strip()}"
    if kind == "custom":
        return f"{(args.get('from') or '').strip()}..{(args.get('to') or '').strip()}"
    return {"six_months": f"{year}-6M", "nine_months": f"{year}-9M"}.get(kind, year)


def _statistics_context():
    from engine.domain.calendar import VN_TZ

    who = actor()
    units = worklist.units_where(rt(), who, "stats.view")
    if not units:
        return None
    today = rt().clock.now().astimezone(VN_TZ).date()
    period_text = _period_from_form(request.args, today)
    unit_code = request.args.get("unit") or None
    group_by = request.args.get("by") or ("commune" if len(units) > 1 and not unit_code else "field")
    return who, units, today, period_text, unit_code, group_by


@bp.get("/statistics")
def statistics_page():
    from api.web.charts import Segment, stacked_bars, trend_chart
    from engine.domain.feedback import LATENESS_NOT_GIVEN, LATENESS_NOT_GIVEN_LABEL, LATENESS_REASONS
    from engine.views import statistics as stats

    context = _statistics_context()
    if context is None:
        return render("error.html", 403, error=None, message=_("Bạn không có quyền xem thống kê."))
    who, units, today, period_text, unit_code, group_by = context
    picker = {"kind": request.args.get("kind") or "month", "year": request.args.get("year") or today.year,
              "month": request.args.get("month") or today.month,
              "quarter": request.args.get("quarter") or (today.month + 2) // 3,
              "from": request.args.get("from") or "", "to": request.args.get("to") or ""}
    try:
        report_ = stats.compute_statistics(rt(), who, period=period_text, group_by=group_by, unit_code=unit_code)
    except NotFound:
        raise
    except IsoflowError as error:
        errors = report(error, {"period", "group_by", "unit_code"})
        return render("chair/statistics.html", 422, report=None, errors=errors, units=units, unit_code=unit_code,
                      group_by=group_by, picker=picker, period_text=period_text, kinds=PERIOD_KINDS,
                      groupings=GROUPING_LABELS, cells=CELL_LABELS)
    period = report_.period
    text = stats.period_text(period)
    points = stats.trend(rt(), who, period=text, unit_code=unit_code, count=TREND_LENGTH)
    finished_chart = stacked_bars(
        _("Kết quả giải quyết và hồ sơ đang giải quyết"),
        [(_row_label(r, group_by), [Segment(r.finished_early, "c-early", _("Trước hạn")),
                    Segment(r.finished_on_time, "c-on_time", _("Đúng hạn")),
                    Segment(r.finished_late, "c-late", _("Quá hạn")),
                    Segment(r.pending_within_limit, "c-within", _("Đang giải quyết, trong hạn")),
                    Segment(r.pending_overdue, "c-overdue", _("Đang giải quyết, quá hạn"))]) for r in report_.rows])
    trend_svg = trend_chart(_("Xu hướng %(n)s kỳ gần nhất", n=len(points)),
                            [(_short_label(p.period), p.total.received_new, p.total.indicator_2_1) for p in points],
                            _("Hồ sơ mới tiếp nhận"), _("Tỷ lệ đúng hạn (2.1)"))
    late = stats.lateness_breakdown(rt(), who, period=text, unit_code=unit_code)
    reason_labels = {**{k: v for k, v in LATENESS_REASONS.items()}, LATENESS_NOT_GIVEN: LATENESS_NOT_GIVEN_LABEL}
    return render("chair/statistics.html", report=report_, errors=None, units=units, unit_code=unit_code,
                  group_by=group_by, picker=picker, period_text=text, kinds=PERIOD_KINDS, groupings=GROUPING_LABELS,
                  cells=CELL_LABELS, finished_chart=finished_chart, trend_svg=trend_svg,
                  trend_rows=[(p, stats.period_text(p.period)) for p in points],
                  indicators=stats.indicators(report_), late=late, reason_labels=reason_labels)


def _row_label(row, group_by: str) -> str:
    """A row's name in the reader's language (fields have both; communes, procedures and
    people are names)."""
    from api.web.diagrams import field_name

    return field_name(row.key) if group_by == "field" else row.label


def _short_label(period) -> str:
    if period.kind == "month":
        return f"{period.start:%m/%Y}"
    if period.kind == "quarter":
        return f"Q{(period.start.month + 2) // 3}/{period.start.year}"
    if period.kind == "custom":
        return f"{period.start:%d/%m}-{period.end:%d/%m}"
    return str(period.start.year)


@bp.get("/statistics/items")
def statistics_items():
    from engine.views import statistics as stats

    context = _statistics_context()
    if context is None:
        return render("error.html", 403, error=None, message=_("Bạn không có quyền xem thống kê."))
    who, units, today, period_text, unit_code, group_by = context
    key, cell = request.args.get("key", "total"), request.args.get("cell", "")
    try:
        page = max(int(request.args.get("page", "1")), 1)
    except ValueError:
        page = 1
    size = 100
    items, total = stats.cell_items(rt(), who, period=period_text, group_by=group_by, key=key, cell=cell,
                                    unit_code=unit_code, limit=size, offset=(page - 1) * size)
    period = stats.parse_period(period_text)
    return render("chair/statistics_items.html", items=items, total=total, period=period, period_text=period_text,
                  group_by=group_by, key=key, cell=cell, cell_label=CELL_LABELS.get(cell, cell), unit_code=unit_code,
                  page=page, pages=max((total + size - 1) // size, 1), groupings=GROUPING_LABELS)


@bp.get("/statistics.xlsx")
def statistics_workbook():
    from flask import Response

    from engine.views.statistics_workbook import MEDIA_TYPE, build_workbook

    context = _statistics_context()
    if context is None:
        return render("error.html", 403, error=None, message=_("Bạn không có quyền xem thống kê."))
    who, units, today, period_text, unit_code, group_by = context
    data = build_workbook(rt(), who, period=period_text, unit_code=unit_code)
    safe = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in period_text)
    response = Response(data, mimetype=MEDIA_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="bao-cao-tthc-{safe}.xlsx"'
    return response


# --- printable registers (form 06 "sổ theo dõi hồ sơ", the posting sheet) -----------------

PRINT_FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


def _print_response(body, fmt: str, filename: str):
    from flask import Response

    response = Response(body, mimetype=PRINT_FORMATS[fmt].split(";")[0])
    response.headers["Content-Type"] = PRINT_FORMATS[fmt]
    if fmt == "pdf":
        response.headers["Content-Disposition"] = f'inline; filename="{filename}.pdf"'
    return response


def _print_unit(action: str) -> str:
    """The commune to print for: `unit`, or the user's only commune; another commune's
    code answers 404 like every page."""
    units = worklist.units_where(rt(), actor(), action)
    code = request.args.get("unit") or (units[0].code if units else "")
    if not any(u.code == code for u in units):
        raise NotFound(f"org unit {code} not found", f"không tìm thấy đơn vị {code}", code="not_found")
    return code


@bp.get("/print/register")
def print_register():
    """The dossier register (sổ theo dõi hồ sơ) for the days of receipt `from`..`to`
    (default: the current month), HTML to print or PDF."""
    from datetime import date

    from engine.adapters.documents.dossier_forms import render_register
    from engine.domain.calendar import VN_TZ
    from engine.errors import InvalidInput, Problem

    fmt = request.args.get("format", "html") if request.args.get("format") in PRINT_FORMATS else "html"
    unit_code = _print_unit("dossier.view")
    today = rt().clock.now().astimezone(VN_TZ).date()
    try:
        first = date.fromisoformat(request.args.get("from") or today.replace(day=1).isoformat())
        last = date.fromisoformat(request.args.get("to") or today.isoformat())
    except ValueError:
        raise InvalidInput("from/to: dates are written YYYY-MM-DD", "từ ngày/đến ngày: ngày viết dạng YYYY-MM-DD",
                           code="bad_date", problems=[Problem("bad_date", "Ngày không hợp lệ.", "Not a date.",
                                                              field="from")]) from None
    body = render_register(rt(), actor(), unit_code, first, last, fmt)
    return _print_response(body, fmt, f"so-theo-doi-{unit_code}-{first:%Y%m%d}-{last:%Y%m%d}")


@bp.get("/print/posting-sheet")
def print_posting_sheet():
    """The commune's posting sheet (procedures in effect, time limits, fees, QR code of
    the public lookup), HTML to print or PDF."""
    from engine.adapters.documents import render_posting_sheet

    fmt = request.args.get("format", "html") if request.args.get("format") in PRINT_FORMATS else "html"
    unit_code = _print_unit("dossier.view")
    body = render_posting_sheet(rt(), unit_code, fmt,
                                lookup_url=rt().settings.public_lookup_url or url_for("web.lookup", _external=True))
    return _print_response(body, fmt, f"niem-yet-{unit_code}")


# --- signing that sees: what the approving leader reads before deciding -------------------

SIGNING_ROLES = frozenset({"chair", "vice_chair"})


@bp.app_context_processor
def _signing_context():
    def signing_context(task):
        """For an open step of the chair or vice chair: the dossier (applicant, its data),
        the process control sheet (form 05) and the data entered at each finished step,
        so the leader signs knowing what was done. None for other steps."""
        from api.web import schema_form

        if task is None or task.role not in SIGNING_ROLES or task.state != "open":
            return None
        who = actor()
        dossier, sheet = views.dossier_page(rt(), who, task.dossier_code)
        steps = []
        for row in sheet:
            if row.completed_at is None or row.task_id == task.id:
                continue
            detail = worklist.task_detail(rt(), who, row.task_id)
            values = schema_form.display_values(detail.schema, detail.data)
            shown = []
            for f in schema_form.fields_of(detail.schema):
                value = values.get(f.name)
                if value in (None, "", []):
                    continue
                shown.append((f.title, dict(f.options).get(value, value) if f.options else value))
            steps.append((row, shown))
        return {"dossier": dossier, "sheet": sheet, "steps": steps}
    return {"signing_context": signing_context}
