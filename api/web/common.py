"""Helpers shared by the page modules: the blueprint, who is logged in, engine errors
as flash and field messages, and display of instants and codes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Blueprint, flash, g, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from api.auth import current_actor, optional_actor, request_unit, runtime, serve_reads_in_one_unit
from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.errors import IsoflowError, Problem
from engine.domain.vocabulary import NATIONAL_STATUSES, status_label
from engine.domain.roles import role_label
from engine.services import people

from api.web.i18n import current_language, message_of
from api.web.schema_form import field_of

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")

PAGE_SIZE = 25


class _StatusLabels(Mapping[int, str]):
    """National status code -> label in the page's language, from the engine's one
    table (`engine.domain.vocabulary.NATIONAL_STATUSES`)."""

    def __getitem__(self, code: int) -> str:
        if code not in NATIONAL_STATUSES:
            raise KeyError(code)
        return status_label(code, current_language())

    def __iter__(self) -> Iterator[int]:
        return iter(NATIONAL_STATUSES)

    def __len__(self) -> int:
        return len(NATIONAL_STATUSES)


STATUS_LABELS = _StatusLabels()

URGENCY_LABELS = {
    "overdue": _l("Quá hạn"), "due_today": _l("Đến hạn hôm nay"), "due_soon": _l("Sắp đến hạn"),
    "normal": _l("Trong hạn"), "paused": _l("Tạm dừng"), "done": _l("Đã xong"),
}
RESULT_LABELS = {"early": _l("Trước hạn"), "on_time": _l("Đúng hạn"), "late": _l("Quá hạn")}
CHANNEL_LABELS = {1: _l("Trực tiếp"), 2: _l("Trực tuyến"), 3: _l("Bưu chính")}
VERSION_STATUS_LABELS = {"draft": _l("Bản nháp"), "approved": _l("Đã phê duyệt"), "retired": _l("Đã bãi bỏ")}
OUTCOME_LABELS = {"approve": _l("Đồng ý"), "supplement": _l("Yêu cầu bổ sung"), "refuse": _l("Từ chối")}
ATTACHMENT_KINDS = {"document": _l("Giấy tờ (bản quét)"), "photo": _l("Ảnh chụp"), "result": _l("Văn bản kết quả")}
END_LABELS = {"refused": _l("Từ chối giải quyết"), "withdrawn": _l("Công dân rút hồ sơ"),
              "stopped": _l("Dừng xử lý"), "granted": _l("Giải quyết xong")}


@bp.before_request
def _one_connection_per_page() -> None:
    serve_reads_in_one_unit()


def rt():
    return runtime()


def page_unit():
    """The page's read-only unit: the login check, the views and the layout read from it,
    so a page is served from one connection (use cases still open their own unit of work)."""
    return request_unit()


def actor() -> Actor:
    return current_actor()


def me() -> people.Me | None:
    if "isoflow_me" not in g:
        a = optional_actor()
        g.isoflow_me = people.whoami(page_unit(), a) if a is not None else None
    return g.isoflow_me


def my_roles() -> set[str]:
    person = me()
    return {r.role for r in person.roles} if person else set()


def fmt_instant(instant: datetime | None) -> str:
    """Instants as a Vietnamese office writes them, in Hanoi time: 14:30 05/03/2026."""
    if instant is None:
        return ""
    return instant.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def fmt_day(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = day.astimezone(VN_TZ).date()
    return day.strftime("%d/%m/%Y")


def period_name(period) -> str:
    """A period (engine.domain.periods.Period, or its text such as 2026-Q1) named in the
    reader's language: "Tháng 03/2026" or "Month 03/2026"."""
    from engine.domain.periods import Period, parse_period, period_label

    if period is None or period == "":
        return ""
    return period_label(period if isinstance(period, Period) else parse_period(str(period)), current_language())


def role_name(code: str | None) -> str:
    return role_label(code, current_language()) if code else ""


@dataclass
class FormErrors:
    """An engine error split for a form: messages by field and the rest."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, problem: Problem, known_fields: set[str] | None = None) -> None:
        name = field_of(problem)
        text = message_of(problem)
        if name and (known_fields is None or name in known_fields):
            self.fields.setdefault(name, []).append(text)
        else:
            self.general.append(text)


def report(error: IsoflowError, known_fields: set[str] | None = None, *, field_map: dict[str, str] | None = None) -> FormErrors:
    """Flash the engine's message (in the page's language) and sort its problems by field.

    `field_map` renames engine field names to the form's input names
    (e.g. `applicant.name` -> `applicant_name`)."""
    errors = FormErrors()
    flash(message_of(error), "error")
    for problem in error.problems:
        if field_map and problem.field in field_map:
            problem = Problem(problem.code, problem.message_vi, problem.message_en, problem.hint,
                              problem.element_id, problem.line, field_map[problem.field])
        errors.add(problem, known_fields)
    for text in errors.general:
        flash(text, "error")
    if error.hint and current_language() == "en":
        flash(_("Hint: %(hint)s", hint=error.hint), "hint")
    return errors


def render(template: str, status: int = 200, **context: Any):
    return render_template(template, **context), status


@dataclass(frozen=True)
class AttachmentLimits:
    max_mb: str
    max_count: int


def attachment_limits() -> AttachmentLimits:
    settings = rt().settings
    return AttachmentLimits(f"{settings.attachment_max_bytes / (1024 * 1024):.1f}".rstrip("0").rstrip("."),
                            settings.attachment_max_count)
