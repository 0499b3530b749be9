"""What a screen needs to offer a user only what they may do: the step form of a task,
the actions allowed on a dossier, a commune's workload by role, who may take over a
step, and the procedures one may receive today.

These are read models: the use cases in `engine.services.dossiers` and
`engine.services.procedures` still check every permission themselves.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, or_, select

from engine.audit import Actor
from engine.domain.dossier import Dossier as DossierRules
from engine.domain.lifecycle import Outcome, Result, Status, StepClock, StepState
from engine.adapters.db.models import Dossier, OrgUnit, Procedure, ProcedureVersion, RoleAssignment, Task, User
from engine.permissions import POLICY, may_perform_step, require
from engine.procedure.forms import outcome_values, refusal_return_form
from engine.views.dossiers import TaskView, task_line, task_lines_query, urgency_conditions
from engine.views.reading import reading, today, user_principal, visible_dossier, visible_task



# --- one step -----------------------------------------------------------------------


@dataclass(frozen=True)
class TaskDetail:
    task: TaskView
    schema: dict[str, Any] | None  # the step's JSON Schema form, None for a step without a form
    may_perform: bool  # the user holds the step's role in the commune today
    offers_supplement: bool  # the form lets the step ask the citizen for more papers
    data: dict[str, Any] | None  # what was submitted, once the step is completed


def task_detail(rt, actor: Actor, task_id: int) -> TaskDetail:
    """A visible task with its form; another commune's task is NotFound."""
    with reading(rt, actor) as unit:
        session, now = unit.session, unit.now
        principal = user_principal(unit)
        task = visible_task(unit, task_id)
        [view] = [task_line(row, now) for row in session.execute(task_lines_query().where(Task.id == task_id))]
        dossier = session.get(Dossier, task.dossier_id)
        schema = None
        if task.form:
            model = unit.runtime.model_of_version(unit.connection, dossier.procedure_version_id)
            schema = model.forms.get(task.form)
        offers = bool(schema) and Outcome.SUPPLEMENT in (outcome_values(schema) or frozenset())
        return TaskDetail(view, schema, may_perform_step(principal, task.role, task.org_unit_id), offers,
                          dict(task.form_data) if task.form_data is not None else None)


def waiting_step(rt, actor: Actor, dossier_ref: int | str) -> TaskDetail | None:
    """The open step that waits on the citizen (supplementation), if any."""
    with reading(rt, actor) as unit:
        dossier = visible_dossier(unit, dossier_ref)
        task_id = unit.session.scalar(select(Task.id).where(Task.dossier_id == dossier.id, Task.state == StepState.OPEN,
                                                            Task.clock == StepClock.PAUSED).order_by(Task.id).limit(1))
        return task_detail(unit, actor, task_id) if task_id is not None else None


def ready_step(rt, actor: Actor, dossier_ref: int | str) -> TaskDetail | None:
    """The open step that hands the result to the citizen (status 9), if any."""
    with reading(rt, actor) as unit:
        dossier = visible_dossier(unit, dossier_ref)
        task_id = unit.session.scalar(select(Task.id).where(Task.dossier_id == dossier.id, Task.state == StepState.OPEN,
                                                            Task.status_code == Status.PROCESSED).order_by(Task.id).limit(1))
        return task_detail(unit, actor, task_id) if task_id is not None else None


def refusal_return_schema(rt, actor: Actor, dossier_ref: int | str) -> dict[str, Any] | None:
    """The form the desk fills to hand over a refusal the chair made outside the model
    (no return step exists), None for any other dossier."""
    with reading(rt, actor) as unit:
        dossier = visible_dossier(unit, dossier_ref)
        if dossier.result != Result.REFUSED or ready_step(unit, actor, dossier.id) is not None:
            return None
        model = unit.runtime.model_of_version(unit.session, dossier.procedure_version_id)
        return refusal_return_form(model, unit.runtime.settings.bpmn_dir)


# --- dossier actions ----------------------------------------------------------------


def dossier_actions(rt, actor: Actor, dossier_ref: int | str) -> frozenset[str]:
    """Policy actions the user may take on the dossier in its current state: what the
    aggregate's state allows (`Dossier.allowed_actions`) and the user's roles permit."""
    with reading(rt, actor) as unit:
        dossier = visible_dossier(unit, dossier_ref)
        principal = user_principal(unit)
        possible = DossierRules.from_attributes(dossier).allowed_actions()
    return frozenset(a for a in possible if principal.can(a, dossier.org_unit_id))


# --- the chair's dashboard -----------------------------------------------------------


@dataclass(frozen=True)
class RoleLoad:
    role: str
    open: int
    overdue: int
    due_today: int
    paused: int
    unclaimed: int


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    name: str


def units_where(rt, actor: Actor, action: str) -> list[UnitRef]:
    """Communes (and the province) where the user may perform `action` today."""
    if action not in POLICY:
        raise KeyError(action)
    with reading(rt, actor) as unit:
        session, principal = unit.session, user_principal(unit)
        ids = [u for u in principal.visible_units() if principal.can(action, u)]
        if not ids:
            return []
        rows = session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(
            OrgUnit.id.in_(ids), OrgUnit.kind == "commune").order_by(OrgUnit.name)).all()
        return [UnitRef(*row) for row in rows]


def queue_summary(rt, actor: Actor, unit_code: str) -> list[RoleLoad]:
    """Open steps of a commune per role: how many, overdue, due today, paused, unclaimed."""
    with reading(rt, actor) as unit:
        session, principal = unit.session, user_principal(unit)
        overdue, due_today = urgency_conditions(Task.due_at, unit.now)
        unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == unit_code))
        require(principal, "task.view_queue", unit_id if unit_id is not None else -1, what=f"org unit {unit_code}")
        running = Task.clock != StepClock.PAUSED
        rows = session.execute(
            select(Task.role, func.count(),
                   func.sum(case((running & overdue, 1), else_=0)),
                   func.sum(case((running & due_today, 1), else_=0)),
                   func.sum(case((Task.clock == StepClock.PAUSED, 1), else_=0)),
                   func.sum(case((Task.assignee_id.is_(None), 1), else_=0)))
            .where(Task.org_unit_id == unit_id, Task.state == StepState.OPEN).group_by(Task.role).order_by(Task.role)
        ).all()
        return [RoleLoad(role, n, int(o or 0), int(t or 0), int(p or 0), int(u or 0)) for role, n, o, t, p, u in rows]


@dataclass(frozen=True)
class Holder:
    user_id: int
    username: str
    full_name: str


def role_holders(rt, actor: Actor, unit_code: str, role: str) -> list[Holder]:
    """Active users holding `role` in the commune today (candidates for a reassignment)."""
    with reading(rt, actor) as unit:
        session, principal, on = unit.session, user_principal(unit), today(unit)
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
        require(principal, "task.view_queue", unit.id if unit is not None else -1, what=f"org unit {unit_code}")
        units = [unit.id] + ([unit.parent_id] if unit.parent_id else [])
        rows = session.execute(
            select(User.id, User.username, User.full_name).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.org_unit_id.in_(units), RoleAssignment.role == role, User.active.is_(True),
                   RoleAssignment.valid_from <= on,
                   or_(RoleAssignment.valid_to.is_(None), RoleAssignment.valid_to >= on))
            .distinct().order_by(User.full_name)
        ).all()
        return [Holder(*row) for row in rows]


def may_reassign(rt, actor: Actor, unit_code: str) -> bool:
    with reading(rt, actor) as unit:
        session, principal = unit.session, user_principal(unit)
        unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == unit_code))
        return unit_id is not None and principal.can("task.reassign", unit_id)


# --- the desk -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcedureChoice:
    code: str
    name: str
    field: str
    version_no: int


def receivable_procedures(rt, on: date | None = None) -> list[ProcedureChoice]:
    """Procedures with a version in effect on `on` (default today): what the desk may receive."""
    with reading(rt, None) as unit:
        on = on or today(unit)
        rows = unit.session.execute(
            select(Procedure.code, Procedure.name, Procedure.field, ProcedureVersion.version_no,
                   ProcedureVersion.effective_from)
            .join(ProcedureVersion, ProcedureVersion.procedure_id == Procedure.id)
            .where(ProcedureVersion.status == "approved", ProcedureVersion.effective_from.is_not(None),
                   ProcedureVersion.effective_from <= on)
            .order_by(Procedure.code, ProcedureVersion.effective_from, ProcedureVersion.version_no)
        ).all()
    latest: dict[str, ProcedureChoice] = {}
    for code, name, field, version_no, _ in rows:  # ordered so the version in effect comes last
        latest[code] = ProcedureChoice(code, name, field, version_no)
    return sorted(latest.values(), key=lambda p: (p.field, p.name))


# --- the procedure library -----------------------------------------------------------

LIBRARY_ACTIONS = ("procedure.view", "procedure.author", "procedure.approve")


def library_rights(rt, actor: Actor) -> frozenset[str]:
    """Which library actions the user holds (in any unit) today; the library is province-wide."""
    with reading(rt, actor) as unit:
        principal = user_principal(unit)
        return frozenset(a for a in LIBRARY_ACTIONS if principal.can_anywhere(a))


def user_names(rt, user_ids: set[int | None]) -> dict[int, str]:
    """Full names for the authors and approvers shown in lists."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    with reading(rt, None) as unit:
        return dict(unit.session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all())
