"""ISO 9001 clause 9.1 monitoring: the Decision 766/QĐ-TTg counts and indicators
(docs/domain.md §7) per period, grouped by commune, field, procedure or officer.

Counting happens in SQL (one GROUP BY query with conditional sums), so a report over
100,000s of dossiers reads each row once. Indicator 2.2 (average processing time in
working days) is summed in SQL too, per key, commune and local day; Python only adds
each day's running total of working time from the calendar (`WorkingTimeline`).

What each column means per grouping is documented in docs/statistics.md.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    false,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from engine.audit import Actor
from engine.domain.calendar.timeline import WorkingTimeline, time_of_day_us
from engine.domain.calendar import VN_TZ, WORKING_DAY, WorkingCalendar
from engine.adapters.db.models import (Dossier, DossierPause, LatenessReason, OrgUnit, Procedure, ProcedureVersion, SatisfactionRating,
                                       Task, User)
from engine.adapters.db.types import UTCDateTime
from engine.errors import InvalidInput, NotFound, PermissionDenied, Problem
from engine.domain.feedback import LATENESS_NOT_GIVEN, SATISFIED_RATINGS
from engine.domain.fields import field_label
from engine.domain.periods import Period, parse_period, period_text, previous_periods
from engine.permissions import load_principal, require, require_visible
from engine.unit_calendars import calendar_for, load_overrides
from engine.views.attachments import digitised
from engine.views.reading import reading, today

GroupBy = Literal["commune", "field", "procedure", "officer"]
GROUPINGS: tuple[str, ...] = ("commune", "field", "procedure", "officer")
CHANNEL_KEYS = ("1", "2", "3")  # 1 in person, 2 online, 3 postal (docs/domain.md §3)
UNKNOWN_OFFICER_KEY = "-"
UNKNOWN_OFFICER_LABEL = "(chưa có người nhận xử lý)"
_MICROSECOND = timedelta(microseconds=1)
SATISFACTION_NOTE = (
    "Tỷ lệ hài lòng = số đánh giá \"rất hài lòng\" hoặc \"hài lòng\" / số đánh giá của người dân trong kỳ. Công thức "
    "100% - (% quá hạn + % có phản ánh, kiến nghị) cần số phản ánh, kiến nghị, chưa được ghi nhận. / Satisfaction = "
    "ratings \"very satisfied\" or \"satisfied\" / citizen ratings given in the period. The formula 100% - (% late + "
    "% with complaint) needs complaints, which are not recorded yet."
)

DIGITISED_UNCONFIRMED = (
    "; cách tính của isoflow, chưa đối chiếu với phụ lục Quyết định 766/QĐ-TTg / isoflow's rule, not confirmed "
    "against the annex of Decision 766/QĐ-TTg"
)

# --- report -------------------------------------------------------------------------


@dataclass
class StatisticsRow:
    """One line of the report. For the officer grouping the counts are steps, not dossiers."""

    key: str
    label: str
    carried_over: int = 0
    received_new: int = 0
    received_by_channel: dict[str, int] = field(default_factory=lambda: {k: 0 for k in CHANNEL_KEYS})
    received_total: int = 0
    # of the new ones, dossiers with papers taken in at the desk on receipt (for the officer
    # grouping: new steps of such dossiers); engine.views.attachments.digitised is the rule
    received_digitised: int = 0
    finished_early: int = 0
    finished_on_time: int = 0
    finished_late: int = 0
    finished_total: int = 0
    ended_without_result: int = 0  # withdrawn or stopped within the period (no classification)
    pending_within_limit: int = 0
    pending_overdue: int = 0
    pending_total: int = 0
    indicator_2_1: float | None = None  # % finished early or on time
    indicator_2_2_days: float | None = None  # average processing time, working days
    late_percent: float | None = None
    ratings_total: int = 0  # citizen ratings given within the period (dossier groupings only)
    ratings_satisfied: int = 0  # of which "very satisfied" or "satisfied"
    satisfaction_percent: float | None = None  # satisfied / rated (ISO 9001 clause 9.1.2)
    digitised_percent: float | None = None  # received_digitised / received_new (Decision 766 digitisation)
    # working microseconds summed for 2.2 (kept to aggregate the total exactly; not shown)
    _processing_us: int = field(default=0, repr=False)

    def finish(self) -> None:
        """Derive the totals and indicators from the counts."""
        self.received_total = self.carried_over + self.received_new
        self.finished_total = self.finished_early + self.finished_on_time + self.finished_late
        self.pending_total = self.pending_within_limit + self.pending_overdue
        done = self.finished_total
        self.indicator_2_1 = _percent(self.finished_early + self.finished_on_time, done)
        self.late_percent = _percent(self.finished_late, done)
        self.indicator_2_2_days = _ratio(self._processing_us, done * (WORKING_DAY // _MICROSECOND), "0.01")
        self.satisfaction_percent = _percent(self.ratings_satisfied, self.ratings_total)
        self.digitised_percent = _percent(self.received_digitised, self.received_new)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("_processing_us")
        return out


def _percent(part: int, whole: int) -> float | None:
    return _ratio(100 * part, whole, "0.1")


def _ratio(part: int, whole: int, places: str) -> float | None:
    """part / whole rounded half up from exact integers (no binary rounding surprises:
    2.475 days shows as 2.48, as a person rounding by hand would write it)."""
    if not whole:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal(places), rounding=ROUND_HALF_UP))


@dataclass
class StatisticsReport:
    period: Period
    group_by: str
    unit_code: str | None
    # when open items were judged: the close of the period's last day, or now while the
    # period runs (the latest such instant when communes keep different hours)
    as_of: datetime
    rows: list[StatisticsRow]
    total: StatisticsRow
    notes: tuple[str, ...] = (SATISFACTION_NOTE,)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "group_by": self.group_by,
            "unit_code": self.unit_code,
            "as_of": self.as_of.isoformat(),
            "rows": [r.to_dict() for r in self.rows],
            "total": self.total.to_dict(),
            "notes": list(self.notes),
        }


# --- computing ----------------------------------------------------------------------


def compute_statistics(rt, actor: Actor, *, period: str, group_by: str, unit_code: str | None = None
                       ) -> StatisticsReport:
    """The §7 report of `period` grouped by `group_by`, over the communes `actor` may
    see statistics of (or only `unit_code`)."""
    the_period = parse_period(period)
    _check_group_by(group_by)
    unit_code = (unit_code or "").strip() or None
    with reading(rt, actor, replica=True) as unit:  # a replica when configured (ISOFLOW_READ_DATABASE_URL)
        session = unit.session
        scope = _scope(unit, the_period, unit_code)
        if group_by == "officer":
            rows = _officer_rows(session, scope.window, scope.calendars)
        else:
            rows = _dossier_rows(session, scope.window, scope.calendars, group_by, scope.units)
    judge_at, now = scope.window.judge_at, scope.now
    rows.sort(key=lambda r: r.key)
    total = StatisticsRow("total", "Tổng cộng")
    for row in rows:
        _add_into(total, row)
        row.finish()
    total.finish()
    as_of = max(judge_at.values(), default=min(now, the_period.end_instant))
    return StatisticsReport(the_period, group_by, unit_code, as_of, rows, total)


def _check_group_by(group_by: str) -> None:
    if group_by not in GROUPINGS:
        raise InvalidInput(
            f"group_by: {group_by!r} is not a grouping",
            f"group_by: {group_by!r} không phải cách nhóm hợp lệ",
            code="bad_group_by",
            hint=f"use one of: {', '.join(GROUPINGS)}",
            problems=[Problem("bad_group_by", "Cách nhóm phải là commune, field, procedure hoặc officer.",
                              f"group_by must be one of {', '.join(GROUPINGS)}.", field="group_by")],
        )


@dataclass(frozen=True)
class _Scope:
    units: dict[int, OrgUnit]
    calendars: dict[int, WorkingCalendar]
    window: "_Window"
    now: datetime


def _scope(unit, period: Period, unit_code: str | None) -> _Scope:
    """The communes the report covers, their calendars and the period's window."""
    session = unit.session
    if session.get_bind().dialect.name == "postgresql":
        # These few aggregate queries cost more to JIT-compile than to run (measured:
        # 1.1 s of compilation for a 0.4 s year report); SET LOCAL ends with the transaction.
        session.execute(text("SET LOCAL jit = off"))
        # Sorting and hashing the period's rows in memory, not in temporary files (the
        # backlog month sorted 135,000 rows on disk at 1,000,000 dossiers with the 4 MB default).
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    now = unit.now
    units = _visible_communes(unit, unit_code)
    overrides = load_overrides(unit)
    calendars = {u.id: calendar_for(unit, u, overrides) for u in units.values()}
    judge_at = {uid: min(now, cal.close_of(period.end)) for uid, cal in calendars.items()}
    window = _Window(period.start_instant, period.end_instant, judge_at, session.get_bind().dialect.name)
    return _Scope(units, calendars, window, now)


def _add_into(total: StatisticsRow, row: StatisticsRow) -> None:
    for name in ("carried_over", "received_new", "received_digitised", "finished_early", "finished_on_time", "finished_late",
                 "ended_without_result", "pending_within_limit", "pending_overdue", "_processing_us",
                 "ratings_total", "ratings_satisfied"):
        setattr(total, name, getattr(total, name) + getattr(row, name))
    for k in CHANNEL_KEYS:
        total.received_by_channel[k] += row.received_by_channel[k]


def _visible_communes(unit, unit_code: str | None) -> dict[int, OrgUnit]:
    """Communes whose statistics the actor may see, by the one policy ("stats.view")."""
    session, actor = unit.session, unit.actor
    communes = {u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.kind == "commune"))}
    principal = None
    if actor.user_id is not None:  # system actors (CLI, scheduler) see every commune
        principal = load_principal(unit, actor.user_id, today(unit))
        if not principal.can_anywhere("stats.view"):
            raise PermissionDenied(
                "your roles do not include viewing statistics",
                "vai trò của bạn không được xem số liệu thống kê",
                code="permission_denied",
                hint="statistics are for the commune chair or vice chair and the province administrator",
            )
    if unit_code is not None:
        found = session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
        if found is None:
            raise NotFound(f"org unit {unit_code} not found", f"không tìm thấy đơn vị {unit_code}",
                           code="not_found", hint="check the commune code (--unit)")
        require_visible(principal, found.id, f"org unit {unit_code}")
        if principal is not None:
            require(principal, "stats.view", found.id, what=f"org unit {unit_code}")
        if found.kind != "commune":
            raise InvalidInput(
                f"unit: {unit_code} is a {found.kind}, not a commune",
                f"unit: {unit_code} không phải là xã",
                code="not_a_commune",
                hint="give a commune code, or leave the unit out to report on every commune you may see",
                problems=[Problem("not_a_commune", "Đơn vị phải là xã.", "The unit must be a commune.", field="unit_code")],
            )
        return {found.id: found}
    if principal is None:
        return communes
    return {uid: u for uid, u in communes.items() if principal.can("stats.view", uid)}


@dataclass(frozen=True)
class _Window:
    start: datetime  # first instant of the period
    end: datetime  # exclusive
    judge_at: dict[int, datetime]  # per commune: when pending items are judged
    dialect: str = "sqlite"

    def overlapping(self, begun, ended) -> list[ColumnElement]:
        """On PostgreSQL, the same test as `begun < end and (ended is null or ended >= start)`
        written as a range overlap, which the GiST indexes of migration 0007 answer
        (ix_dossiers_span, ix_tasks_span: same expressions) instead of reading all the history
        begun before the end. Elsewhere nothing (the plain conditions do the work)."""
        if self.dialect != "postgresql":
            return []
        period = func.tstzrange(literal(self.start, UTCDateTime()), literal(self.end, UTCDateTime()), "[)")
        # as in migration 0007's `span` (the bounds are a literal, not a parameter, so the
        # expression is the index's)
        span = func.tstzrange(begun, case((ended < begun, begun), else_=ended), literal_column("'[]'"))
        return [span.op("&&")(period)]

    def not_ended_before_start(self, ended) -> ColumnElement:
        """`ended is null or ended >= start`. On PostgreSQL written so that no index of
        `ended` answers it: with the range overlap beside it, the planner would otherwise
        OR together the index ranges of every open row and every row finished since the
        period began (the whole backlog and the history after the period) and AND them
        with the overlap's bitmap; as a filter on the rows the overlap found, it costs
        nothing (docs/performance.md)."""
        if self.dialect != "postgresql":
            return or_(ended.is_(None), ended >= self.start)
        start = literal(self.start, UTCDateTime())
        return func.coalesce(ended, start) >= start

    def judge_expr(self, unit_column) -> ColumnElement:
        """The judging instant of each row's commune, as a SQL expression (communes
        with their own sessions close at another hour)."""
        by_instant: dict[datetime, list[int]] = {}
        for uid, at in self.judge_at.items():
            by_instant.setdefault(at, []).append(uid)
        instants = sorted(by_instant, key=lambda t: -len(by_instant[t]))
        common = literal(instants[0] if instants else self.end, UTCDateTime())
        if len(instants) <= 1:
            return common
        return case(*((unit_column.in_(by_instant[t]), literal(t, UTCDateTime())) for t in instants[1:]),
                    else_=common)


def _count_if(condition) -> ColumnElement:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _paused_at_judging(w: "_Window", dossier_id_col, due_col, judge, created_col=None) -> ColumnElement:
    """A pause open at the judging instant that began before the due instant: the clock
    was stopped, so the item is not overdue even though its stored due instant (which
    moves only when the pause ends) lies before the judging instant.

    Written as two tests, the first implied by the second: the dossier is among those
    with a pause open at some commune's judging instant (one uncorrelated set, hashed
    once per query), and then the exact per-row test. A backlog of 100,000s of pending
    dossiers is thus not probed row by row for pauses that almost none of them have."""
    pause = aliased(DossierPause)
    conditions = [pause.dossier_id == dossier_id_col, pause.started_at <= judge, pause.started_at < due_col,
                  or_(pause.ended_at.is_(None), pause.ended_at > judge)]
    if created_col is not None:  # a step is moved only by pauses that began while it was open
        conditions.append(pause.started_at >= created_col)
    instants = list(w.judge_at.values()) or [w.end]
    earliest, latest = literal(min(instants), UTCDateTime()), literal(max(instants), UTCDateTime())
    maybe = aliased(DossierPause)
    open_then = select(maybe.dossier_id).where(maybe.started_at <= latest,
                                               or_(maybe.ended_at.is_(None), maybe.ended_at > earliest))
    return and_(dossier_id_col.in_(open_then), exists().where(*conditions))


# The cells of the report: one predicate per counted figure, used both by the counting
# query (as conditional sums) and by `cell_items` (the dossiers or steps behind a figure),
# so a figure and the list it opens can never disagree.
DOSSIER_CELLS = ("carried_over", "received_new", "received_channel_1", "received_channel_2", "received_channel_3",
                 "received_digitised", "finished_early", "finished_on_time", "finished_late", "ended_without_result",
                 "pending_within_limit", "pending_overdue")
# figures that are sums of cells, and the cells they sum
COMPOSITE_CELLS = {"received_total": ("carried_over", "received_new"),
                   "finished_total": ("finished_early", "finished_on_time", "finished_late"),
                   "pending_total": ("pending_within_limit", "pending_overdue")}
CELLS = (*DOSSIER_CELLS, *COMPOSITE_CELLS)


def _dossier_cells(w: _Window) -> tuple[list[ColumnElement], dict[str, ColumnElement]]:
    """(conditions making a dossier relevant to the period, predicate of each cell)."""
    d = Dossier
    S, E = w.start, w.end
    judge = w.judge_expr(d.org_unit_id)
    classification = case((d.supplement_count > 1, "late"), else_=d.classification)  # docs/domain.md §7
    finished_in = and_(d.finished_at >= S, d.finished_at < E)
    received_in = d.received_at >= S
    pending = or_(d.finished_at.is_(None), d.finished_at >= E)
    overdue = and_(pending, d.due_at < judge, not_(_paused_at_judging(w, d.id, d.due_at, judge)))
    relevant = [d.org_unit_id.in_(list(w.judge_at)), d.received_at < E,
                w.not_ended_before_start(d.finished_at), *w.overlapping(d.received_at, d.finished_at)]
    cells = {
        "carried_over": d.received_at < S,
        "received_new": received_in,
        **{f"received_channel_{k}": and_(received_in, d.channel == int(k)) for k in CHANNEL_KEYS},
        "received_digitised": and_(received_in, digitised(d.id)),
        "finished_early": and_(finished_in, classification == "early"),
        "finished_on_time": and_(finished_in, classification == "on_time"),
        "finished_late": and_(finished_in, classification == "late"),
        "ended_without_result": and_(finished_in, d.classification.is_(None)),
        "pending_within_limit": and_(pending, not_(overdue)),
        "pending_overdue": overdue,
    }
    return relevant, cells


def _step_cells(w: _Window) -> tuple[list[ColumnElement], dict[str, ColumnElement]]:
    """The same for steps (the officer grouping); `Dossier` must be joined (channel)."""
    t = Task
    S, E = w.start, w.end
    judge = w.judge_expr(t.org_unit_id)
    finished_in = and_(t.completed_at >= S, t.completed_at < E)
    received_in = t.created_at >= S
    pending = or_(t.completed_at.is_(None), t.completed_at >= E)
    overdue = and_(pending, t.due_at < judge, not_(_paused_at_judging(w, t.dossier_id, t.due_at, judge, t.created_at)))
    relevant = [*_officer_steps(w), t.created_at < E, w.not_ended_before_start(t.completed_at),
                *w.overlapping(t.created_at, t.completed_at)]
    cells = {
        "carried_over": t.created_at < S,
        "received_new": received_in,
        **{f"received_channel_{k}": and_(received_in, Dossier.channel == int(k)) for k in CHANNEL_KEYS},
        "received_digitised": and_(received_in, digitised(t.dossier_id)),
        "finished_early": and_(finished_in, t.classification == "early"),
        "finished_on_time": and_(finished_in, t.classification == "on_time"),
        "finished_late": and_(finished_in, t.classification == "late"),
        "ended_without_result": false(),
        "pending_within_limit": and_(pending, not_(overdue)),
        "pending_overdue": overdue,
    }
    return relevant, cells


def _officer_steps(w: _Window) -> list[ColumnElement]:
    # steps that wait on the citizen are not an officer's work; cancelled steps left no trace in time
    return [Task.org_unit_id.in_(list(w.judge_at)), Task.clock != "paused", Task.state != "cancelled"]


# completed steps belong to whoever completed them; open ones to their current assignee
def _officer_column() -> ColumnElement:
    return case((Task.state == "completed", Task.completed_by_id), else_=Task.assignee_id)


def _key_column(group_by: str) -> ColumnElement:
    return {"commune": Dossier.org_unit_id, "field": Procedure.field, "procedure": Procedure.id}[group_by]


def _with_procedure(query, group_by: str):
    if group_by == "commune":
        return query
    return query.join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id).join(
        Procedure, Procedure.id == ProcedureVersion.procedure_id)


def _row_from_counts(code: str, label: str, counts) -> StatisticsRow:
    c = dict(zip(DOSSIER_CELLS, (int(x) for x in counts)))
    return StatisticsRow(code, label, carried_over=c["carried_over"], received_new=c["received_new"],
                         received_by_channel={k: c[f"received_channel_{k}"] for k in CHANNEL_KEYS},
                         received_digitised=c["received_digitised"],
                         finished_early=c["finished_early"], finished_on_time=c["finished_on_time"],
                         finished_late=c["finished_late"], ended_without_result=c["ended_without_result"],
                         pending_within_limit=c["pending_within_limit"], pending_overdue=c["pending_overdue"])


def _dossier_rows(session: Session, w: _Window, calendars: dict[int, WorkingCalendar], group_by: str,
                  units: dict[int, OrgUnit]) -> list[StatisticsRow]:
    d = Dossier
    key_col = _key_column(group_by)
    relevant, cells = _dossier_cells(w)
    query = _with_procedure(
        select(key_col, *(_count_if(cells[name]) for name in DOSSIER_CELLS)).select_from(d).where(*relevant)
        .group_by(key_col), group_by)
    labels = _labels(session, group_by, units)
    rows: dict[Any, StatisticsRow] = {}
    for key, *counts in session.connection().execute(query):
        code, label = labels(key)
        rows[key] = _row_from_counts(code, label, counts)
    if group_by == "commune":  # every visible commune appears, even with nothing to report
        for uid in units:
            if uid not in rows:
                code, label = labels(uid)
                rows[uid] = StatisticsRow(code, label)
    # indicator 2.2: finished dossiers, measured with their commune's calendar
    finished_in = and_(d.finished_at >= w.start, d.finished_at < w.end)
    finished = _with_procedure(
        select(key_col.label("key"), d.id.label("dossier_id"), d.org_unit_id.label("unit_id"),
               d.received_at.label("started"), d.finished_at.label("ended"))
        .select_from(d)
        .where(d.org_unit_id.in_(list(units)), finished_in, d.classification.isnot(None)), group_by)
    for key, spent in _processing_time(session, finished, calendars).items():
        rows[key]._processing_us += spent
    # citizen satisfaction: ratings given within the period, under the rated dossier's key
    r = SatisfactionRating
    ratings = _with_procedure(
        select(key_col, func.count(), _count_if(r.rating.in_(SATISFIED_RATINGS)))
        .select_from(r).join(d, d.id == r.dossier_id)
        .where(r.org_unit_id.in_(list(units)), r.rated_at >= w.start, r.rated_at < w.end)
        .group_by(key_col), group_by)
    for key, rated, satisfied in session.connection().execute(ratings):
        if key not in rows:  # rated in the period, handled (and counted) in an earlier one
            code, label = labels(key)
            rows[key] = StatisticsRow(code, label)
        rows[key].ratings_total, rows[key].ratings_satisfied = int(rated), int(satisfied)
    return list(rows.values())


def _officer_rows(session: Session, w: _Window, calendars: dict[int, WorkingCalendar]) -> list[StatisticsRow]:
    t = Task
    officer = _officer_column()
    relevant, cells = _step_cells(w)
    step_cells = [name for name in DOSSIER_CELLS if name != "ended_without_result"]
    query = (
        select(officer, *(_count_if(cells[name]) for name in step_cells))
        .select_from(t)
        .join(Dossier, Dossier.id == t.dossier_id)
        .where(*relevant)
        .group_by(officer)
    )
    result = session.connection().execute(query).all()
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_([r[0] for r in result if r[0]])))}
    rows: dict[Any, StatisticsRow] = {}
    for uid, *counts in result:
        user = users.get(uid)
        key, label = (user.username, user.full_name) if user else (UNKNOWN_OFFICER_KEY, UNKNOWN_OFFICER_LABEL)
        row = rows.setdefault(uid if user else None, StatisticsRow(key, label))
        c = dict(zip(step_cells, (int(x) for x in counts)))
        row.carried_over += c["carried_over"]
        row.received_new += c["received_new"]
        row.received_digitised += c["received_digitised"]
        for k in CHANNEL_KEYS:
            row.received_by_channel[k] += c[f"received_channel_{k}"]
        row.finished_early += c["finished_early"]
        row.finished_on_time += c["finished_on_time"]
        row.finished_late += c["finished_late"]
        row.pending_within_limit += c["pending_within_limit"]
        row.pending_overdue += c["pending_overdue"]
    finished = (
        select(officer.label("key"), t.dossier_id.label("dossier_id"), t.org_unit_id.label("unit_id"),
               t.created_at.label("started"), t.completed_at.label("ended"))
        .where(*_officer_steps(w), t.completed_at >= w.start, t.completed_at < w.end, t.classification.isnot(None))
    )
    for uid, spent in _processing_time(session, finished, calendars).items():
        rows[uid if uid in users else None]._processing_us += spent
    return list(rows.values())


def _labels(session: Session, group_by: str, units: dict[int, OrgUnit]):
    if group_by == "commune":
        return lambda uid: (units[uid].code, units[uid].name)
    if group_by == "field":
        return lambda code: (code, field_label(code, "vi"))
    procedures = {p.id: (p.code, p.name) for p in session.scalars(select(Procedure))}
    return lambda pid: procedures[pid]


def _processing_time(session: Session, measured, calendars: dict[int, WorkingCalendar]) -> dict[Any, int]:
    """Indicator 2.2's numerator per key: the sum of (ended - started - paused) in working
    microseconds over the rows of `measured` (key, dossier_id, unit_id, started, ended).

    Working time is additive, so the sum is the sum of W(ended) - W(started) - the same
    for each pause overlap, where W(t) = working time from an origin to t. W(t) is a
    day's running total (`WorkingTimeline`, from the calendar) plus the working time
    inside that day up to t. The database does the per-row part: it turns every instant
    into (local day, working time since midnight by the commune's sessions) and sums
    them per key, commune and day, so only a few rows per day come back.
    """
    dialect = session.get_bind().dialect.name
    # A common table expression used three times: PostgreSQL reads the measured rows once
    # and keeps them (a join with the two signs made it scan them once per sign).
    m = measured.cte("measured")
    pause = aliased(DossierPause)
    overlap_start = _greatest(dialect, pause.started_at, m.c.started)
    overlap_end = _least(dialect, func.coalesce(pause.ended_at, m.c.ended), m.c.ended)
    overlaps = (select(m.c.key, m.c.unit_id, overlap_start.label("a"), overlap_end.label("b"))
                .join(pause, pause.dossier_id == m.c.dossier_id).subquery())
    # +W(end) and -W(start) of every row, -W(b) and +W(a) of every pause overlap; each
    # instant turned into local microseconds once, in its own branch (the day and the
    # time within it are then integer arithmetic on that number)
    instants = union_all(
        select(literal(1).label("sign"), m.c.key, m.c.unit_id, _local_us(dialect, m.c.ended).label("at")),
        select(literal(-1), m.c.key, m.c.unit_id, _local_us(dialect, m.c.started)),
        select(literal(-1), overlaps.c.key, overlaps.c.unit_id, _local_us(dialect, overlaps.c.b))
        .where(overlaps.c.b > overlaps.c.a),
        select(literal(1), overlaps.c.key, overlaps.c.unit_id, _local_us(dialect, overlaps.c.a))
        .where(overlaps.c.b > overlaps.c.a),
    ).subquery()
    day, since_midnight = _day_and_time(instants.c.at)
    within = _working_within_day(dialect, since_midnight, instants.c.unit_id, calendars)
    per_instant = select(instants.c.sign, instants.c.key, instants.c.unit_id, day.label("day"),
                         within.label("within")).subquery()
    query = select(per_instant.c.key, per_instant.c.unit_id, per_instant.c.day, func.sum(per_instant.c.sign),
                   func.sum(per_instant.c.sign * per_instant.c.within)).group_by(
        per_instant.c.key, per_instant.c.unit_id, per_instant.c.day)
    timelines = {uid: WorkingTimeline(cal) for uid, cal in calendars.items()}
    totals: dict[Any, int] = {}
    for key, unit_id, local_day, signs, within_sum in session.connection().execute(query):
        before, works = timelines[unit_id].day(_day_ordinal(local_day))
        totals[key] = totals.get(key, 0) + int(signs) * before + (int(within_sum) if works else 0)
    return totals


def _greatest(dialect: str, a, b):
    return func.max(a, b) if dialect == "sqlite" else func.greatest(a, b)  # SQLite's 2-argument max is scalar


def _least(dialect: str, a, b):
    return func.min(a, b) if dialect == "sqlite" else func.least(a, b)


def _local_us(dialect: str, instant) -> ColumnElement:
    """A stored UTC instant as microseconds since 1970-01-01 00:00 local time
    (Asia/Ho_Chi_Minh), an integer: its local day is `// _DAY_US`, the time since local
    midnight `% _DAY_US` (the instants are after 1970, so both are the floor ones).
    Vietnam has kept UTC+7 without daylight saving since 1975, so the offset is constant."""
    offset_s = int(VN_TZ.utcoffset(datetime(2000, 1, 1)).total_seconds())
    if dialect == "sqlite":
        # UTCDateTime keeps naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' on SQLite
        seconds = cast(func.strftime("%s", instant), BigInteger) + offset_s
        micro = cast(func.coalesce(func.nullif(func.substr(instant, 21, 6), ""), "0"), BigInteger)
        return seconds * 1_000_000 + micro
    # PostgreSQL's epoch of a timestamptz is an exact numeric with six decimals, so times a
    # million it is a whole number: one numeric product and a cast per instant, the rest is
    # bigint arithmetic (numeric div/floor per row cost several times more: docs/performance.md).
    return cast(extract("epoch", instant) * 1_000_000, BigInteger) + offset_s * 1_000_000


def _day_and_time(local_us) -> tuple[ColumnElement, ColumnElement]:
    """The local day (days since 1970-01-01) and the microseconds since its midnight of
    a `_local_us` value."""
    return local_us // _DAY_US, local_us % _DAY_US


_DAY_US = 86_400_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _day_ordinal(local_day) -> int:
    """The proleptic ordinal of a local day counted from 1970-01-01 (`_local_us` // a day)."""
    return _EPOCH_ORDINAL + int(local_day)


def _working_within_day(dialect: str, since_midnight, unit_column, calendars: dict[int, WorkingCalendar]):
    """Working microseconds between local midnight and the instant, by each commune's
    sessions, as if the day were a working day (the caller knows which days work)."""
    by_sessions: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for uid, cal in calendars.items():
        by_sessions.setdefault(tuple((time_of_day_us(x.start), time_of_day_us(x.end)) for x in cal.sessions), []).append(uid)

    def expression(sessions):
        total = literal(0)
        for start, end in sessions:
            total = total + _greatest(dialect, literal(0), _least(dialect, since_midnight, literal(end)) - start)
        return total

    configs = sorted(by_sessions, key=lambda k: -len(by_sessions[k]))
    if not configs:
        return literal(0)
    if len(configs) == 1:
        return expression(configs[0])
    return case(*((unit_column.in_(by_sessions[c]), expression(c)) for c in configs[1:]), else_=expression(configs[0]))


# --- the dossiers (or steps) behind a figure --------------------------------------------


@dataclass(frozen=True)
class CellItem:
    """One dossier counted in a figure; for the officer grouping, one step."""

    dossier_code: str
    applicant_name: str
    unit_code: str
    procedure_code: str
    procedure_name: str
    channel: int
    received_at: datetime  # the step's creation for steps
    due_at: datetime | None
    finished_at: datetime | None  # the step's completion for steps
    classification: str | None
    step_name: str | None = None


def cell_items(rt, actor: Actor, *, period: str, group_by: str, key: str, cell: str, unit_code: str | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[CellItem], int]:
    """The dossiers (steps, for the officer grouping) counted in one figure of the
    report: row `key` (`total` for the total row), column `cell` (one of CELLS). Same
    predicates as `compute_statistics`, so the list's length is the figure."""
    from engine.domain.paging import check_page

    limit, offset = check_page(limit, offset)
    the_period = parse_period(period)
    _check_group_by(group_by)
    if cell not in CELLS:
        raise InvalidInput(
            f"cell: {cell!r} is not a figure of the report", f"cell: {cell!r} không phải một số liệu của báo cáo",
            code="bad_cell", hint=f"use one of: {', '.join(CELLS)}",
            problems=[Problem("bad_cell", "Số liệu không hợp lệ.", f"cell must be one of {', '.join(CELLS)}.", field="cell")])
    unit_code = (unit_code or "").strip() or None
    with reading(rt, actor, replica=True) as unit:  # a replica when configured (ISOFLOW_READ_DATABASE_URL)
        session = unit.session
        scope = _scope(unit, the_period, unit_code)
        w = scope.window
        if group_by == "officer":
            relevant, cells = _step_cells(w)
        else:
            relevant, cells = _dossier_cells(w)
        chosen = or_(*(cells[c] for c in COMPOSITE_CELLS.get(cell, (cell,))))
        base = (select(Dossier, OrgUnit.code, Procedure.code, Procedure.name)
                .join(OrgUnit, OrgUnit.id == Dossier.org_unit_id)
                .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
                .join(Procedure, Procedure.id == ProcedureVersion.procedure_id))
        if group_by == "officer":
            officer = _officer_column()
            query = base.add_columns(Task).join(Task, Task.dossier_id == Dossier.id).where(*relevant, chosen)
            if key == UNKNOWN_OFFICER_KEY:
                query = query.where(officer.is_(None))
            elif key != "total":
                query = query.where(officer == select(User.id).where(User.username == key).scalar_subquery())
            order = (Task.created_at, Task.id)
        else:
            query = base.where(*relevant, chosen)
            if key != "total":
                query = query.where({"commune": OrgUnit.code, "field": Procedure.field,
                                     "procedure": Procedure.code}[group_by] == key)
            order = (Dossier.received_at, Dossier.id)
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        items = []
        for row in session.execute(query.order_by(*order).limit(limit).offset(offset)):
            d, unit, pcode, pname = row[:4]
            step = row[4] if group_by == "officer" else None
            items.append(CellItem(
                d.code, d.applicant_name, unit, pcode, pname, d.channel,
                step.created_at if step else d.received_at, step.due_at if step else d.due_at,
                step.completed_at if step else d.finished_at,
                step.classification if step else ("late" if d.supplement_count > 1 and d.classification else d.classification),
                step.name if step else None))
        return items, total


# --- trends -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    period: Period
    total: StatisticsRow


def trend(rt, actor: Actor, *, period: str, unit_code: str | None = None, count: int = 12) -> list[TrendPoint]:
    """The total row of the last `count` periods of the same kind, oldest first."""
    periods = previous_periods(parse_period(period), count)
    return [TrendPoint(p, compute_statistics(rt, actor, period=period_text(p), group_by="commune",
                                             unit_code=unit_code).total) for p in periods]


# --- Decision 766 indicators ------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    code: str
    name_vi: str
    name_en: str
    value: float | None  # None: no data (the note says why)
    unit: str  # "%" or "ngày"
    note: str = ""


def indicators(report: StatisticsReport) -> list[Indicator]:
    """The Decision 766/QĐ-TTg figures isoflow has the data for, from a report's total
    (definitions and sources: docs/statistics.md, "Decision 766 indicators")."""
    t = report.total
    return [
        Indicator("2.1", "Tỷ lệ hồ sơ giải quyết trước hạn, đúng hạn", "Share of dossiers finished early or on time",
                  t.indicator_2_1, "%", "" if t.finished_total else "không có hồ sơ giải quyết xong trong kỳ"),
        Indicator("2.2", "Thời gian giải quyết trung bình (ngày làm việc)", "Average processing time (working days)",
                  t.indicator_2_2_days, "ngày", "" if t.finished_total else "không có hồ sơ giải quyết xong trong kỳ"),
        Indicator("late", "Tỷ lệ hồ sơ giải quyết quá hạn", "Share of dossiers finished late", t.late_percent, "%"),
        Indicator("online", "Tỷ lệ hồ sơ tiếp nhận trực tuyến", "Share of dossiers received online",
                  _percent(t.received_by_channel["2"], t.received_new), "%",
                  "" if t.received_new else "không có hồ sơ tiếp nhận mới trong kỳ"),
        Indicator("satisfaction", "Tỷ lệ người dân hài lòng", "Share of satisfied citizens", t.satisfaction_percent,
                  "%", f"{t.ratings_satisfied}/{t.ratings_total} đánh giá" if t.ratings_total else
                  "chưa có đánh giá nào trong kỳ / no rating in the period"),
        Indicator("digitised", "Tỷ lệ hồ sơ được số hóa", "Share of digitised dossiers", t.digitised_percent, "%",
                  (f"{t.received_digitised}/{t.received_new} hồ sơ mới tiếp nhận có giấy tờ số hóa khi tiếp nhận / "
                   f"new dossiers with papers scanned at receipt" if t.received_new else
                   "không có hồ sơ tiếp nhận mới trong kỳ / no new dossier in the period") + DIGITISED_UNCONFIRMED),
    ]


# --- lateness by reason and by step ----------------------------------------------------



@dataclass
class LatenessBreakdown:
    period: Period
    by_reason: dict[str, int]  # reason code (engine.services.lateness.REASONS) or LATENESS_NOT_GIVEN -> steps
    by_step: list[tuple[str, int, int]]  # (step name, late steps, of which explained), most late first
    total: int  # the officer grouping's total finished_late: the same steps


def lateness_breakdown(rt, actor: Actor, *, period: str, unit_code: str | None = None) -> LatenessBreakdown:
    """The steps completed late in the period (the officer report's `finished_late`
    cell, same predicate), by the reason their officer gave and by step."""
    the_period = parse_period(period)
    unit_code = (unit_code or "").strip() or None
    with reading(rt, actor, replica=True) as unit:  # a replica when configured (ISOFLOW_READ_DATABASE_URL)
        session = unit.session
        scope = _scope(unit, the_period, unit_code)
        relevant, cells = _step_cells(scope.window)
        reason = func.coalesce(LatenessReason.reason, LATENESS_NOT_GIVEN)
        late = (select(Task.id.label("task_id"), Task.name.label("step"), reason.label("reason"))
                .select_from(Task).join(Dossier, Dossier.id == Task.dossier_id)
                .outerjoin(LatenessReason, LatenessReason.task_id == Task.id)
                .where(*relevant, cells["finished_late"])).subquery()
        by_reason = {r: int(n) for r, n in session.execute(
            select(late.c.reason, func.count()).group_by(late.c.reason))}
        by_step = [(name, int(n), int(given)) for name, n, given in session.execute(
            select(late.c.step, func.count(), _count_if(late.c.reason != LATENESS_NOT_GIVEN))
            .group_by(late.c.step).order_by(func.count().desc(), late.c.step))]
    return LatenessBreakdown(the_period, by_reason, by_step, sum(by_reason.values()))
