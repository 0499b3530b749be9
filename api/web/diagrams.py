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
