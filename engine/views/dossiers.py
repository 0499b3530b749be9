"""Read models: what the desk, the officers and the chair look at.

Plain dataclasses built from the projection tables (never from a deserialized
workflow), so lists stay fast with hundreds of thousands of dossiers. Every query
is filtered by the permission policy: a user sees the communes they hold a role in
(`engine.views.reading`). Each function takes the runtime or an open read unit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, func, literal, literal_column, select, text, union_all

from engine.domain.lifecycle import DossierState, Outcome, StepClock, StepState
from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.adapters.db.code_search import code_start
from engine.adapters.db.partitions import ids_of_code, ids_of_years
from engine.adapters.db.name_search import applicant_condition, names_keyed_by_commune
from engine.adapters.db.session import PREPARE_OPTION
from engine.adapters.db.models import Dossier, DossierPause, OrgUnit, Procedure, ProcedureVersion, Task, User
from engine.errors import InvalidInput, Problem
from engine.domain.vocabulary import status_label
from engine.domain.paging import check_page
from engine.views.reading import reading, user_principal, visible_dossier
from engine.permissions import COMMUNE_STAFF, may_perform_step, require, require_anywhere

@dataclass(frozen=True)
class TaskView:
    id: int
    dossier_id: int
    dossier_code: str
    applicant_name: str
    procedure_code: str
    procedure_name: str
    bpmn_id: str
    name: str
    role: str
    org_unit_code: str
    assignee_id: int | None
    assignee_name: str | None
    state: str
    clock: str
    status_code: int
    form: str | None
    created_at: datetime
    due_at: datetime | None
    dossier_due_at: datetime
    completed_at: datetime | None
    outcome: str | None
    classification: str | None
    urgency: str  # overdue | due_today | due_soon | normal | paused | done


@dataclass(frozen=True)
class TimelineRow:
    """One row of the process control sheet (form 05): a hand-over and how it went."""

    task_id: int
    step: str
    bpmn_id: str
    from_role: str | None
    from_user: str | None
    to_role: str
    to_user: str | None
    handed_over_at: datetime
    step_due_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    result: str | None  # early | on_time | late | None while open or waiting on the citizen
    state: str
    outcome: str | None
    note: str


@dataclass(frozen=True)
class PauseView:
    kind: str
    started_at: datetime
    ended_at: datetime | None
    reason: str


@dataclass(frozen=True)
class DossierView:
    id: int
    code: str
    org_unit_code: str
    org_unit_name: str
    procedure_code: str
    procedure_name: str
    field: str
    version_no: int
    applicant_name: str
    applicant_id_number: str
    applicant_address: str
    applicant_phone: str
    applicant_email: str
    channel: int
    status_code: int
    status_label: str
    state: str
    received_at: datetime
    due_at: datetime
    original_due_at: datetime
    finished_at: datetime | None
    returned_at: datetime | None
    classification: str | None
    result: str | None
    supplement_count: int
    apology_issued_at: datetime | None
    apology_due_at: datetime | None
    end_reason: str | None
    urgency: str
    open_tasks: list[TaskView]
    pauses: list[PauseView]
    data: dict[str, Any]


def urgency(due_at: datetime | None, now: datetime, *, done: bool = False, paused: bool = False) -> str:
    """Colour class for lists: overdue, due today, due within one day, normal."""
    if done:
        return "done"
    if paused or due_at is None:
        return "paused"
    if due_at < now:
        return "overdue"
    if due_at < end_of_local_day(now):
        return "due_today"
    if due_at - now <= timedelta(days=1):
        return "due_soon"
    return "normal"


def end_of_local_day(now: datetime) -> datetime:
    """Midnight after `now` in Vietnam: a running step due before it is overdue or due today."""
    return datetime.combine(now.astimezone(VN_TZ).date() + timedelta(days=1), time.min, tzinfo=VN_TZ)


def urgency_conditions(due_at: Any, now: datetime) -> tuple[Any, Any]:
    """`urgency`'s overdue and due-today rules as SQL conditions on a due-instant column
    (for counts over many rows)."""
    return due_at < now, (due_at >= now) & (due_at < end_of_local_day(now))


# --- single dossier -----------------------------------------------------------------


def dossier_view(rt, actor: Actor, dossier_ref: int | str) -> DossierView:
    with reading(rt, actor) as unit:
        dossier = visible_dossier(unit, dossier_ref)
        open_tasks = [t for t in dossier.tasks if t.state == StepState.OPEN]
        return _dossier_view(unit, dossier, _user_names(unit.session, {t.assignee_id for t in open_tasks}))


def timeline(rt, actor: Actor, dossier_ref: int | str) -> list[TimelineRow]:
    """The process control sheet: every hand-over of the dossier, in order."""
    with reading(rt, actor) as unit:
        dossier = visible_dossier(unit, dossier_ref)
        return _timeline(dossier, _user_names(unit.session, _people_of(dossier.tasks)))


def dossier_page(rt, actor: Actor, dossier_ref: int | str) -> tuple[DossierView, list[TimelineRow]]:
    """The dossier and its process control sheet, as its page shows them: one read unit,
    one load of the dossier with its steps and pauses (and one permission check), one
    read of the names of the people on it."""
    with reading(rt, actor) as unit:
        dossier = visible_dossier(unit, dossier_ref)
        names = _user_names(unit.session, _people_of(dossier.tasks))
        return _dossier_view(unit, dossier, names), _timeline(dossier, names)


def _people_of(tasks) -> set[int | None]:
    return {t.assignee_id for t in tasks} | {t.completed_by_id for t in tasks} | {t.handed_over_by_id for t in tasks}


@dataclass(frozen=True)
class _DossierInfo:
    """What a step's line shows of its dossier (see `_task_view`)."""

    code: str
    applicant_name: str
    due_at: datetime
    unit: str
    pcode: str
    pname: str


def _dossier_view(unit, dossier: Dossier, names: dict[int, str]) -> DossierView:
    """The view of a dossier loaded by `visible_dossier` (its steps and pauses with it);
    `names`: the full names of at least its open steps' assignees."""
    now = unit.now
    # the commune and the procedure version in one statement (no ORM objects)
    unit_code, unit_name, pcode, pname, field, version_no = unit.session.execute(
        select(OrgUnit.code, OrgUnit.name, Procedure.code, Procedure.name, Procedure.field, ProcedureVersion.version_no)
        .select_from(ProcedureVersion).join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
        .join(OrgUnit, OrgUnit.id == dossier.org_unit_id)
        .where(ProcedureVersion.id == dossier.procedure_version_id)).one()
    info = _DossierInfo(dossier.code, dossier.applicant_name, dossier.due_at, unit_code, pcode, pname)
    tasks = [_task_view(t, info, names, now) for t in dossier.tasks if t.state == StepState.OPEN]
    paused = any(p.ended_at is None for p in dossier.pauses)
    return DossierView(
        id=dossier.id, code=dossier.code, org_unit_code=unit_code, org_unit_name=unit_name,
        procedure_code=pcode, procedure_name=pname, field=field,
        version_no=version_no, applicant_name=dossier.applicant_name,
        applicant_id_number=dossier.applicant_id_number, applicant_address=dossier.applicant_address,
        applicant_phone=dossier.applicant_phone, applicant_email=dossier.applicant_email, channel=dossier.channel,
        status_code=dossier.status_code, status_label=status_label(dossier.status_code),
        state=dossier.state, received_at=dossier.received_at, due_at=dossier.due_at,
        original_due_at=dossier.original_due_at, finished_at=dossier.finished_at,
        returned_at=dossier.returned_at, classification=dossier.classification, result=dossier.result,
        supplement_count=dossier.supplement_count, apology_issued_at=dossier.apology_issued_at,
        apology_due_at=dossier.apology_due_at, end_reason=dossier.end_reason,
        urgency=urgency(dossier.due_at, now, done=dossier.finished_at is not None or dossier.state != DossierState.OPEN,
                        paused=paused),
        open_tasks=tasks,
        pauses=[PauseView(p.kind, p.started_at, p.ended_at, p.reason) for p in dossier.pauses],
        data=dict(dossier.data or {}),
    )


def _timeline(dossier: Dossier, names: dict[int, str]) -> list[TimelineRow]:
    """The control sheet of a dossier loaded by `visible_dossier`; `names`: the full
    names of the people on its steps."""
    tasks = sorted(dossier.tasks, key=lambda t: (t.created_at, t.id))
    # What the citizen was asked to bring is kept on the pause the request opened.
    asked = {p.started_at: p.reason for p in dossier.pauses}
    rows: list[TimelineRow] = []
    previous: Task | None = None
    for task in tasks:
        source = _handed_over_from(tasks, task) or previous
        rows.append(TimelineRow(
            task_id=task.id, step=task.name, bpmn_id=task.bpmn_id,
            from_role=source.role if source else None,
            from_user=names.get(task.handed_over_by_id),
            to_role=task.role, to_user=names.get(task.completed_by_id or task.assignee_id),
            handed_over_at=task.created_at, step_due_at=task.due_at, completed_at=task.completed_at,
            completed_by=names.get(task.completed_by_id), result=task.classification, state=task.state,
            outcome=task.outcome,
            note=(asked.get(task.completed_at) if task.outcome == Outcome.SUPPLEMENT else None) or _note(task),
        ))
        previous = task
    return rows


def _handed_over_from(tasks: list[Task], task: Task) -> Task | None:
    """The step whose completion opened this one (completed at the instant it was created)."""
    candidates = [t for t in tasks if t.completed_at is not None and t.completed_at == task.created_at and t.id < task.id]
    return candidates[-1] if candidates else None


def _note(task: Task) -> str:
    data = task.form_data or {}
    for key in ("reason", "note", "opinion"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


# --- lists --------------------------------------------------------------------------


# Most urgent first; steps waiting on the citizen (no due instant) last.
INBOX_ORDER = (Task.due_at.asc().nulls_last(), Task.id)


def inbox(rt, actor: Actor, *, limit: int = 50, offset: int = 0, include_pool: bool = True) -> list[TaskView]:
    """My open steps, most urgent first: those assigned to me, and (if include_pool)
    unclaimed steps of roles I hold in each commune."""
    return _inbox(rt, actor, limit, offset, include_pool, count_limit=None)[0]


# The inbox counts its steps up to this many. A clerk works from the top of the list and
# pages a few screens at most; beyond it "more than 1,000" says as much as an exact figure,
# which would cost a count of every open step of the pools (tens of thousands in a large
# commune: docs/performance.md). The chair's queue summary counts exactly.
INBOX_COUNT_LIMIT = 1000


@dataclass(frozen=True)
class Counted:
    """How many items a list holds: `total` exactly, or at least `total` when not `exact`."""
    total: int
    exact: bool


def inbox_page(rt, actor: Actor, *, limit: int = 50, offset: int = 0, include_pool: bool = True,
               count_limit: int = INBOX_COUNT_LIMIT) -> tuple[list[TaskView], Counted]:
    """`inbox` and the number of steps it holds in all, counted up to `count_limit`."""
    views, counted = _inbox(rt, actor, limit, offset, include_pool, count_limit=count_limit)
    assert counted is not None
    return views, counted


def _inbox(rt, actor: Actor, limit: int, offset: int, include_pool: bool, *,
           count_limit: int | None) -> tuple[list[TaskView], Counted | None]:
    limit, offset = check_page(limit, offset)
    with reading(rt, actor) as unit:
        principal = user_principal(unit)
        pools = sorted((unit_id, role) for unit_id, roles in principal.roles_by_unit.items()
                       for role in roles & COMMUNE_STAFF) if include_pool else []
        params: dict[str, Any] = {"me": actor.user_id, "window": offset + limit, "limit": limit, "offset": offset}
        for i, (unit_id, role) in enumerate(pools):
            params[f"unit_{i}"], params[f"role_{i}"] = unit_id, role
        page_statement, count_statement = _inbox_statements(len(pools))
        rows = unit.connection.execute(page_statement, params).all()
        views = [task_line(row, unit.now) for row in rows]
        if count_limit is None:
            return views, None
        # each condition counts at most one step past the limit: enough to tell "more"
        counted = unit.connection.execute(count_statement, {**params, "count_past": count_limit + 1}).scalar_one()
        return views, Counted(min(counted, count_limit), counted <= count_limit)


def _inbox_conditions(pools: int) -> list[Any]:
    """Mine, then each commune's unclaimed steps of each role held there (disjoint)."""
    conditions = [Task.assignee_id == bindparam("me")]
    for i in range(pools):
        conditions.append(and_(Task.assignee_id.is_(None), Task.org_unit_id == bindparam(f"unit_{i}"),
                               Task.role == bindparam(f"role_{i}")))
    return conditions


_TASK_COLUMNS = (
    Task.id, Task.dossier_id, Task.bpmn_id, Task.name, Task.role, Task.assignee_id, Task.state, Task.clock,
    Task.status_code, Task.form, Task.created_at, Task.due_at, Task.completed_at, Task.outcome,
    Task.classification)


# What the inbox's statements say as constants rather than parameters, so that the
# generic plan PostgreSQL keeps for them once prepared (after five runs; they are
# marked for preparing, see adapters.db.session) still reads the partial indexes of
# open steps and knows how many rows each range needs.
# With these as parameters that plan scans every step of the province (seconds); with
# them written in, it is the custom plan without the planning (2.6 ms of the 3.2 ms a
# page and its count took at 10,000,000 dossiers: docs/performance.md).
_OPEN = Task.state == literal_column(f"'{StepState.OPEN.value}'")


def _inline(name: str):
    return bindparam(name, type_=Integer, literal_execute=True)


@lru_cache(maxsize=64)
def _inbox_statements(pools: int):
    """The inbox page and its bounded count for a user holding `pools` (commune, role)
    pools, as two statements built once per shape (the user, communes and roles are
    bound parameters; the limits are written in, see `_OPEN`).

    The page: one ordered, limited index range per condition (mine; each pool), merged,
    then the page's steps with their dossier, commune, procedure and assignee in the
    same statement. An OR over the conditions would fetch and sort every open step of
    the pools, tens of thousands in a large commune (docs/performance.md). Each range
    reads its steps' whole rows, so the steps table appears once per condition and not
    once more to fetch the page's rows: with steps partitioned by year (migration 0019)
    every appearance is planned over every partition, and that planning was half of
    the statement's time."""
    conditions = _inbox_conditions(pools)
    branches = []
    for condition in conditions:
        branch = (select(*_TASK_COLUMNS).where(_OPEN, condition)
                  .order_by(*INBOX_ORDER).limit(_inline("window")).subquery())
        branches.append(select(*branch.c))
    merged = union_all(*branches).subquery()
    page = (select(*merged.c).order_by(merged.c.due_at.asc().nulls_last(), merged.c.id)
            .limit(_inline("limit")).offset(_inline("offset")).subquery())
    page_statement = _task_lines_of(page).order_by(page.c.due_at.asc().nulls_last(), page.c.id)
    # the conditions are disjoint: one bounded index count each, summed in one statement
    counts = [select(func.count()).select_from(
                  select(Task.id).where(_OPEN, condition).limit(_inline("count_past")).subquery()
              ).scalar_subquery() for condition in conditions]
    total = counts[0]
    for another in counts[1:]:
        total = total + another
    prepared = {PREPARE_OPTION: True}
    return page_statement.execution_options(**prepared), select(total).execution_options(**prepared)


def task_lines_query() -> Select:
    """Steps' lines: each step with its dossier, commune, procedure and assignee, in one
    statement (add the conditions and the order; read rows with `task_line`)."""
    return _task_lines_of(Task.__table__)


def _task_lines_of(steps) -> Select:
    """`task_lines_query` over `steps`: the steps table, or a subquery of its `_TASK_COLUMNS`."""
    return (select(*[steps.c[column.key] for column in _TASK_COLUMNS], Dossier.code.label("dossier_code"),
                   Dossier.applicant_name, Dossier.due_at.label("dossier_due_at"), OrgUnit.code.label("unit"),
                   Procedure.code.label("pcode"), Procedure.name.label("pname"), User.full_name.label("assignee_name"))
            .select_from(steps)
            .join(Dossier, Dossier.id == steps.c.dossier_id)
            .join(OrgUnit, OrgUnit.id == Dossier.org_unit_id)
            .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
            .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
            .outerjoin(User, User.id == steps.c.assignee_id))


def task_line(row, now: datetime) -> TaskView:
    """A step's line from a row of `task_lines_query`."""
    info = _DossierInfo(row.dossier_code, row.applicant_name, row.dossier_due_at, row.unit, row.pcode, row.pname)
    return _task_view(row, info, {row.assignee_id: row.assignee_name}, now)


def queue(rt, actor: Actor, *, unit_code: str, role: str | None = None, limit: int = 50, offset: int = 0) -> list[TaskView]:
    """A commune's open steps (optionally one role's), most urgent first: the chair's view."""
    return queue_page(rt, actor, unit_code=unit_code, role=role, limit=limit, offset=offset)[0]


def queue_page(rt, actor: Actor, *, unit_code: str, role: str | None = None, limit: int = 50,
               offset: int = 0) -> tuple[list[TaskView], int]:
    """`queue` and the number of steps it holds in all."""
    limit, offset = check_page(limit, offset)
    with reading(rt, actor) as unit:
        session, now = unit.session, unit.now
        principal = user_principal(unit)
        unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == unit_code))
        if unit_id is None:
            unit_id = -1
        require(principal, "task.view_queue", unit_id, what=f"org unit {unit_code}")
        conditions = [Task.state == StepState.OPEN, Task.org_unit_id == unit_id]
        if role:
            conditions.append(Task.role == role)
        total = session.scalar(select(func.count()).select_from(Task).where(*conditions)) or 0
        rows = session.execute(task_lines_query().where(*conditions)
                               .order_by(Task.due_at.is_(None), Task.due_at, Task.id).limit(limit).offset(offset))
        return [task_line(row, now) for row in rows], total


@dataclass(frozen=True)
class DossierSummary:
    id: int
    code: str
    org_unit_code: str
    procedure_code: str
    procedure_name: str
    field: str
    applicant_name: str
    channel: int
    status_code: int
    status_label: str
    state: str
    received_at: datetime
    due_at: datetime
    finished_at: datetime | None
    classification: str | None
    result: str | None
    urgency: str


@dataclass(frozen=True)
class DossierFilter:
    code: str | None = None
    applicant: str | None = None
    id_number: str | None = None  # the applicant's national ID, matched whole
    status_code: int | None = None
    procedure_code: str | None = None
    field: str | None = None
    unit_code: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    state: str | None = None  # open | closed
    overdue_only: bool = False
    sort: str = "due_at"  # due_at | received_at | -received_at | code


# `<unit>-yymmdd-nnnn` (engine.services.dossiers): a whole code is matched exactly;
# anything else by the code's start (engine.adapters.db.code_search).
WHOLE_CODE = re.compile(r"[A-Za-z0-9_.]+-\d{6}-\d{4,}")

_SORT_COLUMNS = {"due_at": Dossier.due_at, "received_at": Dossier.received_at, "code": Dossier.code,
                 "status_code": Dossier.status_code, "finished_at": Dossier.finished_at}
# "field" ascending, "-field" descending; ties broken by id the same way, so pages are stable.
SORTS = {**{name: (column, Dossier.id) for name, column in _SORT_COLUMNS.items()},
         **{f"-{name}": (column.desc(), Dossier.id.desc()) for name, column in _SORT_COLUMNS.items()}}


def search_dossiers(rt, actor: Actor, filters: DossierFilter, *, limit: int = 50, offset: int = 0) -> tuple[list[DossierSummary], int]:
    """Dossiers the user may see, filtered; returns (page, total count)."""
    limit, offset = check_page(limit, offset)
    if filters.sort not in SORTS:
        raise InvalidInput(f"unknown sort {filters.sort!r}", f"thứ tự sắp xếp {filters.sort!r} không hợp lệ",
                           code="bad_sort", problems=[Problem("bad_sort", "Thứ tự sắp xếp không hợp lệ.",
                                                              f"sort must be one of {sorted(SORTS)}", field="sort")])
    with reading(rt, actor, replica=True) as unit:  # a replica when configured: search is a report
        session, now = unit.session, unit.now
        principal = user_principal(unit)
        require_anywhere(principal, "dossier.view")  # a role that never sees dossiers is refused, not shown nothing
        visible = sorted(u for u in principal.visible_units() if principal.can("dossier.view", u))
        dialect = session.get_bind().dialect.name
        f = filters
        unit_column = Dossier.org_unit_id
        if f.applicant and names_keyed_by_commune(dialect, visible):
            # the name keys already hold the commune: ANDing the commune's index in would
            # read all of its dossiers (200,000 in the largest) for nothing
            unit_column = Dossier.org_unit_id + 0
        # Conditions on the dossiers table alone: the count and the page's order read no
        # other table; the page's 50 rows are joined to their commune and procedure last.
        conditions = [unit_column.in_(visible or [-1])]
        by_name = False
        code = (f.code or "").strip()
        if code:
            # on PostgreSQL a code says its year of receipt, hence the year partitions that
            # can hold its dossier (engine.adapters.db.partitions)
            if WHOLE_CODE.fullmatch(code):  # a whole code: the unique index finds it at once
                conditions += [Dossier.code.in_(sorted({code, code.upper()})), ids_of_code(Dossier.id, code, dialect)]
            else:  # the code's start, with or without the commune (engine.adapters.db.code_search)
                units = dict(session.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(visible))).all())
                matches, years = code_start(code, units)
                conditions.append(matches)
                if years is not None:
                    conditions.append(ids_of_years(Dossier.id, years, dialect))
        if f.applicant:
            # whole words in order, the last a prefix, accent- and case-insensitive
            # (engine.adapters.db.name_search); indexed per commune on PostgreSQL
            condition = applicant_condition(unit.connection, f.applicant, visible)
            if condition is not None:
                conditions.append(condition)
                by_name = True
        if f.id_number:
            conditions.append(Dossier.applicant_id_number == f.id_number.strip())
        if f.status_code is not None:
            conditions.append(Dossier.status_code == f.status_code)
        if f.procedure_code:
            conditions.append(Dossier.procedure_version_id.in_(_versions_where(Procedure.code == f.procedure_code)))
        if f.field:
            conditions.append(Dossier.procedure_version_id.in_(_versions_where(Procedure.field == f.field)))
        if f.unit_code:
            conditions.append(Dossier.org_unit_id.in_(select(OrgUnit.id).where(OrgUnit.code == f.unit_code)))
        if f.state:
            conditions.append(Dossier.state == f.state)
        if f.received_from:
            conditions.append(Dossier.received_at >= _local_midnight(f.received_from))
        if f.received_to:
            conditions.append(Dossier.received_at < _local_midnight(f.received_to + timedelta(days=1)))
        if f.overdue_only:
            conditions += [Dossier.state == DossierState.OPEN, Dossier.finished_at.is_(None), Dossier.due_at < now]
        if dialect == "postgresql":
            # a search reads at most some thousands of rows: starting parallel workers for
            # them costs more than it saves (8 of 11 ms for a common name at 10,000,000)
            session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        # A name's matches come from the word index in no useful order: all of them are
        # read for the page anyway, so they are counted in the same pass (PostgreSQL).
        count_in_page = dialect == "postgresql" and by_name
        total = None if count_in_page else session.scalar(select(func.count()).select_from(Dossier).where(*conditions))
        # The page reads its dossiers' columns itself: joining the dossiers table again
        # for them would plan it over every year partition once more (migration 0019).
        page = select(*_SUMMARY_COLUMNS).where(*conditions).order_by(*SORTS[f.sort]).limit(limit).offset(offset)
        page = page.add_columns(func.count().over().label("total") if count_in_page else literal(None).label("total"))
        page = page.subquery()
        rows = session.execute(
            select(*[page.c[c.key] for c in _SUMMARY_COLUMNS], OrgUnit.code.label("unit"), Procedure.code.label("pcode"),
                   Procedure.name.label("pname"), Procedure.field, page.c.total)
            .select_from(page)
            .join(OrgUnit, page.c.org_unit_id == OrgUnit.id)
            .join(ProcedureVersion, page.c.procedure_version_id == ProcedureVersion.id)
            .join(Procedure, ProcedureVersion.procedure_id == Procedure.id)
            .order_by(*_page_order(page, f.sort))).all()
        if count_in_page:
            total = rows[0].total if rows else (
                0 if offset == 0 else session.scalar(select(func.count()).select_from(Dossier).where(*conditions)))
        paused = _paused_ids(session, [d.id for d in rows])
        return [
            DossierSummary(
                id=d.id, code=d.code, org_unit_code=d.unit, procedure_code=d.pcode, procedure_name=d.pname,
                field=d.field, applicant_name=d.applicant_name, channel=d.channel, status_code=d.status_code,
                status_label=status_label(d.status_code), state=d.state, received_at=d.received_at,
                due_at=d.due_at, finished_at=d.finished_at, classification=d.classification, result=d.result,
                urgency=urgency(d.due_at, now, done=d.finished_at is not None or d.state != DossierState.OPEN,
                                paused=d.id in paused),
            )
            for d in rows
        ], total or 0


_SUMMARY_COLUMNS = (Dossier.id, Dossier.code, Dossier.applicant_name, Dossier.channel, Dossier.status_code,
                    Dossier.state, Dossier.received_at, Dossier.due_at, Dossier.finished_at, Dossier.classification,
                    Dossier.result, Dossier.org_unit_id, Dossier.procedure_version_id)


def _page_order(page, sort: str) -> list[Any]:
    """`SORTS[sort]` on the page subquery's columns."""
    descending = sort.startswith("-")
    columns = [page.c[sort.lstrip("-")], page.c.id]
    return [c.desc() for c in columns] if descending else columns


def _versions_where(condition) -> Select:
    """The ids of the procedure versions whose procedure meets `condition`."""
    return select(ProcedureVersion.id).join(Procedure, ProcedureVersion.procedure_id == Procedure.id).where(condition)


# --- helpers ------------------------------------------------------------------------


def _task_view(t, d: _DossierInfo, names: dict[int, str], now: datetime) -> TaskView:
    """A step's line (`t`: a loaded step or a row of `task_lines_query`); `names`: the
    full names of at least its assignee."""
    return TaskView(
        id=t.id, dossier_id=t.dossier_id, dossier_code=d.code, applicant_name=d.applicant_name,
        procedure_code=d.pcode, procedure_name=d.pname, bpmn_id=t.bpmn_id, name=t.name, role=t.role,
        org_unit_code=d.unit, assignee_id=t.assignee_id, assignee_name=names.get(t.assignee_id), state=t.state,
        clock=t.clock, status_code=t.status_code, form=t.form, created_at=t.created_at, due_at=t.due_at,
        dossier_due_at=d.due_at, completed_at=t.completed_at, outcome=t.outcome, classification=t.classification,
        urgency=urgency(t.due_at, now, done=t.state != StepState.OPEN, paused=t.clock == StepClock.PAUSED),
    )


def _user_names(session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all())


def _paused_ids(session, dossier_ids: list[int]) -> set[int]:
    if not dossier_ids:
        return set()
    return set(session.scalars(select(DossierPause.dossier_id).where(
        DossierPause.dossier_id.in_(dossier_ids), DossierPause.ended_at.is_(None))))


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VN_TZ)


def can_perform(rt, actor: Actor, task: TaskView) -> bool:
    with reading(rt, actor) as unit:
        principal = user_principal(unit)
        unit_id = unit.session.scalar(select(OrgUnit.id).where(OrgUnit.code == task.org_unit_code))
        return may_perform_step(principal, task.role, unit_id)
