"""The ISO dialect's vocabulary: property names, allowed values and how values are read.

Consultants author in SpiffWorkflow's modeler (`spiffworkflow:properties`) or in Camunda
Modeler (`camunda:properties`, `camunda:candidateGroups`); both spell the same names.
Everything here is data about the vocabulary; reading XML lives in `parser`, judging a
model lives in `validator`.
"""
from __future__ import annotations

import re
from datetime import timedelta

from engine.domain import calendar, lifecycle
from engine.domain.lifecycle import Outcome, Status, StepClock, status_label  # noqa: F401 (status_label: re-exported)
from engine.errors import InvalidInput

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS, "camunda": CAMUNDA_NS}

# --- process properties -------------------------------------------------------------
PROCEDURE_CODE = "procedure_code"
FIELD = "field"
TIME_LIMIT = "time_limit"
TIME_BASIS = "time_basis"
LEGAL_BASIS = "legal_basis"
FEE = "fee"
ISO_DOCUMENT_CODE = "iso_document_code"
REVISION = "revision"
NAME_EN = "name_en"
# Structured procedure facts (engine/procedure/table_facts.py): JSON lists/maps, or text.
COMPONENTS = "components"  # thành phần hồ sơ: [{"name", "kind", "count", "note"}]
RESULT = "result"  # kết quả thực hiện
CONDITIONAL_LIMITS = "conditional_limits"  # [{"condition", "limit", "basis"}]
PROVENANCE = "provenance"  # {fact: source, or "unconfirmed: why"}
LEGAL_FORMS = "legal_forms"  # the procedure's own legal forms: [{"code", "name", "issued_by", "evidence"}]
PROCESS_PROPERTIES = frozenset(
    {PROCEDURE_CODE, FIELD, TIME_LIMIT, TIME_BASIS, LEGAL_BASIS, FEE, ISO_DOCUMENT_CODE, REVISION, NAME_EN,
     COMPONENTS, RESULT, CONDITIONAL_LIMITS, PROVENANCE, LEGAL_FORMS}
)
# `time_limit.<category>`: a limit for communes of that category (docs/domain.md §2).
CATEGORY_LIMIT_PREFIX = TIME_LIMIT + "."
COMMUNE_CATEGORIES = {
    "normal": ("xã thường", "normal commune"),
    "mountainous": ("xã miền núi, vùng sâu, vùng xa", "mountainous or remote commune"),
}
PROCEDURE_CODE_PATTERN = re.compile(r"^\d+\.\d{6}$")

BASIS_WORKING = "working"
BASIS_CALENDAR = "calendar"
TIME_BASES = (BASIS_WORKING, BASIS_CALENDAR)

# --- task properties ----------------------------------------------------------------
ROLE = "role"
DURATION = "duration"
CLOCK = "clock"
FORM = "form"
RECORD = "record"
STATUS = "status"
TASK_PROPERTIES = frozenset({ROLE, DURATION, CLOCK, FORM, RECORD, STATUS, NAME_EN})

CLOCK_RUNNING = StepClock.RUNNING
CLOCK_PAUSED = StepClock.PAUSED
CLOCKS = tuple(StepClock)

# National status codes (docs/domain.md §3): one table, `engine.domain.lifecycle.Status`,
# which the web pages, the API views, the public lookup and the documents all read.
STATUS_PROCESSING = Status.PROCESSING
STATUS_SUPPLEMENTATION = Status.SUPPLEMENTATION
STATUS_FINANCIAL_OBLIGATION = Status.FINANCIAL_OBLIGATION
STATUS_PROCESSED = Status.PROCESSED
NATIONAL_STATUSES: dict[int, tuple[str, str]] = {int(status): (status.vi, status.en) for status in Status}

DEFAULT_STATUS = lifecycle.DEFAULT_STATUS

# --- gateways and forms -------------------------------------------------------------
OUTCOME = "outcome"
RESERVED_OUTCOMES = tuple(Outcome)

# --- time ---------------------------------------------------------------------------
WORKING_DAY = calendar.WORKING_DAY
# Same-day limits: a dossier received just before the 15:00 cutoff is due at the 17:00
# close, so the steps that run on the clock must fit in those two working hours.
SAME_DAY_BUDGET = timedelta(hours=2)
# Calendar-day limits are turned into working time conservatively: N calendar days hold
# at least floor(N * 5 / 7) working days (holidays aside, which only shorten the count).
CALENDAR_WORKING_RATIO = (5, 7)


class DurationError(ValueError):
    """A duration or limit text that cannot be read; the message says what is allowed."""


def parse_working_duration(text: str) -> timedelta:
    """`P3D`, `P0.5D`, `PT4H`, `P1DT2H`, `PT30M` -> working time (1 day = 8 working hours).

    The rule itself lives in `engine.domain.calendar` (one place for it); this adapts its error.
    """
    try:
        return calendar.parse_working_duration(text, field=DURATION)
    except InvalidInput as exc:
        raise DurationError(exc.message_en) from None


def limit_budget(text: str, basis: str) -> timedelta:
    """The working time the running steps of a procedure may use under a statutory limit.

    `same-day` -> 2 working hours (15:00 cutoff to 17:00 close); a working-basis limit ->
    itself; a calendar-basis `PnD` -> floor(n * 5 / 7) working days.
    """
    try:
        limit = calendar.parse_limit(text, basis if basis in TIME_BASES else BASIS_WORKING, field=TIME_LIMIT)
    except InvalidInput as exc:
        raise DurationError(exc.message_en) from None
    if isinstance(limit, calendar.SameDayLimit):
        return SAME_DAY_BUDGET
    if isinstance(limit, calendar.CalendarDaysLimit):
        num, den = CALENDAR_WORKING_RATIO
        return WORKING_DAY * (limit.days * num // den)
    return limit.amount


def format_working(delta: timedelta) -> str:
    """Working time for people: `1d 2h 30m` with 8-hour days."""
    seconds = int(delta.total_seconds())
    day = int(WORKING_DAY.total_seconds())
    days, rest = divmod(seconds, day)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    return " ".join(p for p in parts if p) or "0h"
