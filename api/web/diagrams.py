"""Diagram data for the pages: the model's XML and the marks on its elements, with their
labels in the page's language, as the JSON the bpmn-js bundles read
(`frontend/src/marks.js`: {id, cls, title, badge})."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api.web.common import RESULT_LABELS, fmt_instant
from engine.views.diagrams import ElementMark

BUILD_DIR = Path(__file__).parent / "static" / "build"

MARK_LABELS = {
    **RESULT_LABELS,
    "current": _l("Đang xử lý"), "overdue": _l("Quá hạn"), "paused": _l("Tạm dừng (chờ công dân)"),
}


def diagram_assets_built() -> bool:
    """True when `npm run build` has produced the bundles (the pages draw no diagram otherwise)."""
    return (BUILD_DIR / "viewer.js").is_file()


def payload(source: str, marks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"xml": source, "marks": marks or [], **extra}


def dossier_marks(marks: list[ElementMark], open_tasks) -> list[dict[str, Any]]:
    """One mark per element: the open step's classes together (current + overdue)."""
    due = {t.id: t.due_at for t in open_tasks}
    by_element: dict[str, dict[str, Any]] = {}
    for mark in marks:
        entry = by_element.setdefault(mark.element_id, {"id": mark.element_id, "cls": "", "badge": "", "title": ""})
        entry["cls"] = (entry["cls"] + " " + mark.kind).strip()
        label = str(MARK_LABELS.get(mark.kind, mark.kind))
        entry["badge"] = label if not entry["badge"] else f'{entry["badge"]} · {label}'
        if mark.task_id in due and due[mark.task_id] is not None:
            entry["title"] = _("Hạn bước: %(due)s", due=fmt_instant(due[mark.task_id]))
    return list(by_element.values())


def working_time(amount) -> str:
    """A step's working-time duration as the documents write it, in the page's language."""
    from api.web.i18n import current_language
    from engine.adapters.documents.text import format_duration

    return format_duration(amount, current_language()) if amount is not None else ""


def field_name(code: str | None) -> str:
    from api.web.i18n import current_language
    from engine.domain.fields import field_label

    return field_label(code, current_language()) if code else ""


def problem_marks(problems) -> list[dict[str, Any]]:
    """Validation problems on their elements: a red border, a tooltip with every message in
    Vietnamese and English and its hint, a badge with the count."""
    by_element: dict[str, list] = {}
    for problem in problems:
        if problem.element_id:
            by_element.setdefault(problem.element_id, []).append(problem)
    marks = []
    for element_id, found in by_element.items():
        lines = []
        for problem in found:
            lines.append(f"• {problem.message_vi}")
            lines.append(f"  {problem.message_en}")
            hint_vi = getattr(problem, "hint_vi", None)
            if hint_vi:
                lines.append(f"  Gợi ý: {hint_vi}")
            if problem.hint:
                lines.append(f"  Hint: {problem.hint}")
        marks.append({"id": element_id, "cls": "problem", "title": "\n".join(lines),
                      "badge": _("%(n)s lỗi", n=len(found))})
    return marks


DIFF_LABELS = {"added": _l("Thêm mới"), "removed": _l("Bỏ đi"), "changed": _l("Thay đổi")}
PROPERTY_LABELS = {
    "name": _l("Tên"), "role": _l("Vai trò"), "duration": _l("Thời gian thực hiện"), "clock": _l("Đồng hồ thời hạn"),
    "status": _l("Trạng thái hồ sơ"), "form": _l("Biểu mẫu"), "record": _l("Hồ sơ, kết quả"), "name_en": _l("Tên tiếng Anh"),
    "field": _l("Lĩnh vực"), "time_limit": _l("Thời hạn giải quyết"), "time_basis": _l("Cách tính thời hạn"),
    "limits_by_category": _l("Thời hạn theo loại xã"), "legal_basis": _l("Căn cứ pháp lý"), "fee": _l("Phí, lệ phí"),
    "iso_document_code": _l("Mã tài liệu ISO"), "revision": _l("Lần ban hành"),
}


def diff_marks(diff, side: str) -> list[dict[str, Any]]:
    """Marks of a diff on one side's diagram: `before` shows what was removed, `after` what
    was added; both show what changed."""
    shown = (("removed", diff.removed),) if side == "before" else (("added", diff.added),)
    marks = []
    for kind, elements in shown + (("changed", diff.changed),):
        for element in elements:
            marks.append({"id": element.element_id, "cls": kind, "badge": str(DIFF_LABELS[kind]),
                          "title": f"{DIFF_LABELS[kind]}: {element.name or element.element_id}"})
    return marks


def property_value(prop: str, value: Any) -> str:
    """A changed property's value as people read it, in the page's language."""
    from datetime import timedelta

    from api.web.common import STATUS_LABELS, role_name

    if value is None or value == "" or value == {}:
        return "—"
    if isinstance(value, timedelta):
        return working_time(value)
    if prop == "role":
        return f"{role_name(value)} ({value})"
    if prop == "status":
        return f"{value} · {STATUS_LABELS.get(value, value)}"
    if prop == "field":
        return field_name(value)
    if prop == "clock":
        return str(_l("Tạm dừng") if value == "paused" else _l("Tính vào thời hạn"))
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in sorted(value.items()))
    return str(value)


def heat_marks(steps) -> list[dict[str, Any]]:
    """A heat map on the diagram: fill by median against plan, the slowest steps outlined,
    a badge with the median and the share late."""
    marks = []
    for row in steps:
        if not row.passed:
            marks.append({"id": row.bpmn_id, "cls": "heat-0", "title": _("Chưa có hồ sơ qua bước này trong kỳ.")})
            continue
        late = f"{round((row.late_share or 0) * 100)}%"
        badge = _("trung vị %(median)s · %(late)s trễ", median=working_time(row.median), late=late)
        title = _("%(n)s hồ sơ; trung vị %(median)s, p90 %(p90)s; kế hoạch %(planned)s; %(late)s quá hạn",
                  n=row.passed, median=working_time(row.median), p90=working_time(row.p90),
                  planned=working_time(row.planned), late=late)
        marks.append({"id": row.bpmn_id, "cls": f"heat-{row.level}" + (" slowest" if row.slowest else ""),
                      "badge": badge, "title": title})
    return marks
