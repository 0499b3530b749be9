"""One scheduler sweep: fire due BPMN timers, escalate due tasks and dossiers, deliver
the outbox.

Cost: every read goes through an index on an instant (`workflow_states.next_timer_at`,
`tasks.next_escalation_at`, `dossiers.next_escalation_at`, deliveries by state and
`next_attempt_at`), so a sweep with nothing due is a few index probes however many
tasks are open.

Several schedulers may sweep one PostgreSQL database at once: due rows are taken with
`FOR UPDATE SKIP LOCKED` (each process works on different rows), and every escalation
is inserted under the unique key (entity, level) with ON CONFLICT DO NOTHING, in the
same transaction as its notifications and outbox rows. A level therefore notifies
exactly once, across processes and restarts. (On SQLite the database lock serialises
writers and the unique key alone does the job.)
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session

from engine.domain.lifecycle import DossierState, StepState
from engine.audit import Actor
from engine.domain.calendar import VN_TZ, WorkingCalendar
from engine.domain.calendar.overrides import CalendarOverrides
from engine.adapters.db.models import (
    Delivery,
    Dossier,
    DossierPause,
    Escalation,
    Notification,
    OrgUnit,
    OutboxMessage,
    ProcedureVersion,
    RoleAssignment,
    Task,
    User,
    WebhookSubscription,
    WorkflowState,
)
from engine.procedure.model import ProcedureModel
from engine.adapters.db.bulk import bulk_insert, bulk_update
from engine.adapters.db.partitions import ensure_year_partitions
from engine.adapters.channels import ChannelSettings, DeliveryFailed, channels_from, post_signed
from engine.services.deadlines import (
    Policy,
    PolicyBook,
    dossier_threshold,
    due_level,
    next_instant,
    task_thresholds,
)
from engine.scheduler.messages import Message, apology_message, task_message
from engine.services import quality_sweep
from engine.services.calendars import calendar_for, load_overrides
from engine.unit_of_work import UnitOfWork
from engine.services.workflow import DossierFlow

log = logging.getLogger("isoflow.scheduler")

SCHEDULER_ACTOR = Actor.system("scheduler")
MAX_ATTEMPTS = 8
RETRY_AFTER_ERROR = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 1 h."""
    return min(timedelta(seconds=30) * (2 ** max(attempts - 1, 0)), timedelta(hours=1))


@dataclass(frozen=True)
class Fired:
    level: str
    entity_type: str
    entity_id: int
    dossier_code: str
    subject: str  # the step's name, or the applicant
    threshold_at: datetime
    recipients: tuple[str, ...]
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sent:
    channel: str
    address: str
    delivery_id: int
    ok: bool
    error: str | None = None


@dataclass
class SweepReport:
    at: datetime
    fired: list[Fired] = field(default_factory=list)
    timers: list[str] = field(default_factory=list)  # dossier codes whose timers fired
    deliveries: list[Sent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    quality: list[str] = field(default_factory=list)  # nonconformities opened, action reminders (docs/iso.md)
    partitions: list[int] = field(default_factory=list)  # years whose partitions were created

    @property
    def notices(self) -> int:
        return sum(len(f.recipients) for f in self.fired)

    def lines(self) -> list[str]:
        out = []
        for code in self.timers:
            out.append(f"timer     {code}")
        for f in self.fired:
            skipped = f" (caught up; skipped {', '.join(f.skipped)})" if f.skipped else ""
            out.append(f"{f.level:<11} {f.dossier_code} {f.entity_type} {f.entity_id} '{f.subject}' due since "
                       f"{f.threshold_at.astimezone(VN_TZ):%Y-%m-%d %H:%M} -> {', '.join(f.recipients) or '(nobody)'}"
                       f"{skipped}")
        out.extend(self.quality)
        for d in self.deliveries:
            out.append(f"{'sent' if d.ok else 'failed':<11} {d.channel} {d.address}" + (f": {d.error}" if d.error else ""))
        for e in self.errors:
            out.append(f"error     {e}")
        return out

    def summary(self) -> str:
        sent = sum(1 for d in self.deliveries if d.ok)
        failed = len(self.deliveries) - sent
        return (f"sweep at {self.at.astimezone(VN_TZ):%Y-%m-%d %H:%M} (Asia/Ho_Chi_Minh): {len(self.timers)} timer(s) fired, "
                f"{len(self.fired)} escalation(s), {self.notices} notice(s), {sent} delivered, {failed} delivery failure(s)"
                + (f", {len(self.errors)} error(s)" if self.errors else ""))


@dataclass(frozen=True)
class _DossierRef:
    id: int
    code: str
    org_unit_id: int
    applicant_name: str
    due_at: datetime


@dataclass(frozen=True)
class _Plan:
    """One escalation decided in memory, fired with the rest of its batch."""

    entity_type: str
    entity_id: int
    level: str
    threshold: datetime
    skipped: tuple[str, ...]
    dossier: _DossierRef
    task: Any  # the task's row (id, name, bpmn_id, due_at), None for a dossier level
    message: Message
    recipients: tuple[tuple[int, str, str | None], ...]
    deliver_after: datetime  # the next working instant: notices wait for office hours


def _webhook_payload(escalation_id: int, p: _Plan, now: datetime) -> dict[str, Any]:
    due = p.task.due_at if p.task else p.dossier.due_at
    return {
        "escalation_id": escalation_id, "level": p.level, "kind": p.message.kind,
        "dossier_code": p.dossier.code, "task_id": p.task.id if p.task else None,
        "step": p.task.bpmn_id if p.task else None, "due_at": due.isoformat() if due else None,
        "threshold_at": p.threshold.isoformat(), "fired_at": now.isoformat(),
        "title_vi": p.message.title_vi, "title_en": p.message.title_en, "body_vi": p.message.body_vi,
        "body_en": p.message.body_en, "actions": list(p.message.actions),
        "recipients": [r[1] for r in p.recipients],
    }


class _Caches:
    """Per-sweep caches: calendars per unit (they load overrides), models, policies, pools."""

    def __init__(self, rt) -> None:
        self.rt = rt
        self.overrides: CalendarOverrides | None = None
        self.calendars: dict[int, WorkingCalendar] = {}
        self.models: dict[int, ProcedureModel] = {}
        self.book: PolicyBook | None = None
        self.pools: dict[tuple[int, tuple[str, ...]], list[tuple[int, str, str | None]]] = {}
        self.users: dict[int, tuple[int, str, str | None]] = {}
        self.unit_codes: dict[int, str] = {}

    def calendar(self, uow, unit_id: int) -> WorkingCalendar:
        cal = self.calendars.get(unit_id)
        if cal is None:
            if self.overrides is None:
                self.overrides = load_overrides(uow)
            unit = uow.session.get(OrgUnit, unit_id)
            # calendar_for shares one calendar (and its lazily computed holidays) between
            # sweeps for as long as the unit's sessions and the overrides are unchanged
            cal = self.calendars[unit_id] = calendar_for(uow, unit, self.overrides)
            self.unit_codes[unit_id] = unit.code if unit else str(unit_id)
        return cal

    def model(self, session: Session, version_id: int) -> ProcedureModel:
        model = self.models.get(version_id)
        if model is None:
            model = self.models[version_id] = self.rt.model(session.get(ProcedureVersion, version_id))
        return model

    def policy(self, uow, unit_id: int, version_id: int) -> Policy:
        if self.book is None:
            self.book = PolicyBook.load(uow)
        return self.book.policy(unit_id, version_id)

    def pool(self, session: Session, unit_id: int, roles: tuple[str, ...], today: date) -> list[tuple[int, str, str | None]]:
        """(id, username, email) of active users holding one of `roles` in the unit today."""
        key = (unit_id, roles)
        if key not in self.pools:
            rows = session.execute(
                select(User.id, User.username, User.email).join(RoleAssignment, RoleAssignment.user_id == User.id)
                .where(RoleAssignment.org_unit_id == unit_id, RoleAssignment.role.in_(roles),
                       RoleAssignment.valid_from <= today,
                       or_(RoleAssignment.valid_to.is_(None), RoleAssignment.valid_to >= today),
                       User.active.is_(True))
                .distinct().order_by(User.id)
            ).all()
            self.pools[key] = [tuple(r) for r in rows]
        return self.pools[key]

    def user(self, session: Session, user_id: int) -> tuple[int, str, str | None] | None:
        if user_id not in self.users:
            u = session.get(User, user_id)
            self.users[user_id] = (u.id, u.username, u.email) if u is not None and u.active else None
        return self.users[user_id]


# What each pass takes up at `now` (an instant, or a parameter holding it), as conditions
# on its table: the pass reads by its condition, and `Sweeper.due_work` asks them all in
# one statement first.
def _timer_due(now):
    return WorkflowState.next_timer_at < now  # strictly before: SpiffWorkflow fires a timer once its instant is past


def _task_due(now):
    return Task.next_escalation_at <= now


def _dossier_due(now):
    return Dossier.next_escalation_at <= now


def _delivery_due(now):
    return and_(Delivery.state == "pending", Delivery.next_attempt_at <= now)


def _outbox_due(now):
    return and_(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now)


class Sweeper:
    def __init__(self, rt, *, channel_settings: ChannelSettings | None = None, batch_size: int | None = None) -> None:
        self.rt = rt
        self.channel_settings = channel_settings or ChannelSettings.from_env()
        self.channels = channels_from(self.channel_settings)
        # rows per transaction (ISOFLOW_SCHEDULER_BATCH); small batches let processes interleave
        self.batch_size = batch_size or max(int(os.environ.get("ISOFLOW_SCHEDULER_BATCH") or 500), 1)
        self._partitions_checked: date | None = None  # the local day the year partitions were last checked

    # --- the pass ---------------------------------------------------------------------

    def run_once(self) -> SweepReport:
        now = self.rt.clock.now()
        report = SweepReport(now)
        caches = _Caches(self.rt)
        due = self.due_work(now)
        if "timers" in due:
            self.fire_timers(now, report, caches)
        if report.timers:  # a fired timer may open steps already due
            due |= {"tasks", "dossiers"}
        if "tasks" in due:
            self.escalate_tasks(now, report, caches)
        if "dossiers" in due:
            self.escalate_dossiers(now, report, caches)
        self.quality_records(now, report, actions="actions" in due)
        if report.timers or report.fired or report.quality:  # what this sweep did may have queued messages
            due |= {"deliveries", "outbox"}
        if "deliveries" in due:
            self.deliver(now, report)
        if "outbox" in due:
            self.deliver_outbox(now, report)
        self.year_partitions(now, report)
        return report

    def due_work(self, now: datetime) -> set[str]:
        """Which passes have rows due at `now`, asked in one statement: most sweeps find
        nothing, and each pass's own transaction to find nothing cost a quiet sweep
        most of its time. A row that falls due just after is taken up by the next sweep,
        as it would be had it fallen due just after its pass."""
        # The instant is written into the statement: as a parameter of a prepared statement
        # PostgreSQL may pick a generic plan that scans whole tables to find nothing.
        at = bindparam("now", now, type_=DateTime(timezone=True), literal_execute=True)
        conditions = {"timers": _timer_due(at), "tasks": _task_due(at), "dossiers": _dossier_due(at),
                      "actions": quality_sweep.action_due(at), "outbox": _outbox_due(at)}
        if self.channels:
            conditions["deliveries"] = _delivery_due(at)
        row = self.rt.db.read_one(
            select(*[exists().where(condition).label(name) for name, condition in conditions.items()]), {})
        return {name for name, found in row._mapping.items() if found}

    def _uow(self) -> UnitOfWork:
        return self.rt.unit_of_work(SCHEDULER_ACTOR)

    @staticmethod
    def _is_pg(session: Session) -> bool:
        return session.bind.dialect.name == "postgresql"

    # --- BPMN timers ------------------------------------------------------------------

    def fire_timers(self, now: datetime, report: SweepReport, caches: _Caches) -> None:
        with self.rt.read(SCHEDULER_ACTOR) as reading:
            due_ids = reading.session.scalars(
                select(WorkflowState.dossier_id).where(_timer_due(now))
                .order_by(WorkflowState.next_timer_at)
            ).all()
        for dossier_id in due_ids:
            try:
                self._fire_timer(dossier_id, now, report, caches)
            except Exception as exc:  # one broken instance never stops the sweep
                log.exception("timer of dossier %s failed", dossier_id)
                report.errors.append(f"timer of dossier {dossier_id}: {exc}")
                self._postpone_timer(dossier_id, now)

    def _fire_timer(self, dossier_id: int, now: datetime, report: SweepReport, caches: _Caches) -> None:
        with self._uow() as uow:
            session = uow.session
            dossier = uow.lock_dossier(dossier_id=dossier_id, skip_locked=True)
            state = dossier.workflow_state if dossier is not None else None
            if dossier is None or state is None or state.next_timer_at is None or state.next_timer_at >= now:
                return  # another scheduler took it, or it already fired
            if not dossier.is_open:
                state.next_timer_at = None
                uow.dossiers.save(dossier)
                uow.commit()
                return
            flow = DossierFlow(uow, dossier, caches.model(session, dossier.procedure_version_id),
                               caches.calendar(uow, dossier.org_unit_id))
            armed = state.next_timer_at
            opened = flow.fire_timers()
            if not opened and state.next_timer_at == armed:
                raise RuntimeError(f"the timer due at {armed.isoformat()} did not fire")
            flow.save_and_log("workflow.timer_fired", "dossier", dossier.id, org_unit_id=dossier.org_unit_id,
                              after={"opened": [t.bpmn_id for t in opened], "status_code": dossier.status_code,
                                     "next_timer_at": state.next_timer_at})
            uow.commit()
            report.timers.append(dossier.code)

    def _postpone_timer(self, dossier_id: int, now: datetime) -> None:
        with self._uow() as uow:
            state = uow.session.get(WorkflowState, dossier_id)
            if state is not None:
                state.next_timer_at = now + RETRY_AFTER_ERROR
                uow.commit()

    # --- tasks ------------------------------------------------------------------------

    def escalate_tasks(self, now: datetime, report: SweepReport, caches: _Caches) -> None:
        """Due tasks in batches, read and written with Core statements (no ORM objects:
        at 1,000 due rows the ORM's loading and flushing cost more than the SQL)."""
        tasks = Task.__table__
        columns = [tasks.c.id, tasks.c.state, tasks.c.clock, tasks.c.due_at, tasks.c.duration_seconds,
                   tasks.c.created_at, tasks.c.escalation_level, tasks.c.org_unit_id, tasks.c.assignee_id,
                   tasks.c.role, tasks.c.name, tasks.c.bpmn_id, tasks.c.dossier_id,
                   Dossier.code.label("dossier_code"), Dossier.state.label("dossier_state"),
                   Dossier.org_unit_id.label("dossier_unit_id"), Dossier.procedure_version_id,
                   Dossier.applicant_name, Dossier.due_at.label("dossier_due_at")]
        while True:
            with self._uow() as uow:
                session = uow.session
                query = (select(*columns).join(Dossier, tasks.c.dossier_id == Dossier.id)
                         .where(_task_due(now))
                         .order_by(tasks.c.next_escalation_at, tasks.c.id).limit(self.batch_size))
                if self._is_pg(session):
                    query = query.with_for_update(of=tasks, skip_locked=True)
                rows = session.execute(query).all()
                if not rows:
                    return
                paused = self._paused(session, {r.dossier_id for r in rows})
                plans: list[_Plan] = []
                updates: list[dict[str, Any]] = []
                for row in rows:
                    try:
                        level, next_at, plan = self._plan_task(uow, row, row.dossier_id in paused, now, caches)
                    except Exception as exc:  # one bad row never stops the sweep; it is retried later
                        log.exception("escalation of task %s failed", row.id)
                        report.errors.append(f"task {row.id}: {exc}")
                        level, next_at, plan = row.escalation_level, now + RETRY_AFTER_ERROR, None
                    updates.append({"id": row.id, "escalation_level": level, "next_escalation_at": next_at})
                    if plan is not None:
                        plans.append(plan)
                bulk_update(session.connection(), tasks, "id", updates)
                self._fire(uow, plans, now, report, caches)
                uow.commit()
            if len(rows) < self.batch_size:
                return

    @staticmethod
    def _paused(session: Session, dossier_ids: set[int]) -> set[int]:
        if not dossier_ids:
            return set()
        return set(session.scalars(select(DossierPause.dossier_id).where(
            DossierPause.dossier_id.in_(dossier_ids), DossierPause.ended_at.is_(None))))

    def _plan_task(self, uow, row, paused: bool, now: datetime,
                   caches: _Caches) -> tuple[str | None, datetime | None, "_Plan | None"]:
        """Decide (in memory) what this task fires now: (level fired so far, next instant, plan)."""
        session = uow.session
        if row.state != StepState.OPEN or row.dossier_state != DossierState.OPEN or paused:
            return row.escalation_level, None, None  # a closed step or a paused clock never escalates
        calendar = caches.calendar(uow, row.org_unit_id)
        policy = caches.policy(uow, row.dossier_unit_id, row.procedure_version_id)
        thresholds = task_thresholds(row, calendar, policy)
        found = due_level(thresholds, row.escalation_level, now)
        if found is None:
            return row.escalation_level, next_instant(thresholds, row.escalation_level), None
        level, threshold, skipped = found
        today = now.astimezone(VN_TZ).date()
        recipients = self._task_recipients(session, level, row, policy, today, caches)
        assignee = caches.user(session, row.assignee_id) if row.assignee_id else None
        message = task_message(level, step=row.name, dossier_code=row.dossier_code, due_at=row.due_at,
                               remind_at=policy.remind_at, assignee=assignee[1] if assignee else None)
        dossier = _DossierRef(row.dossier_id, row.dossier_code, row.dossier_unit_id, row.applicant_name,
                              row.dossier_due_at)
        plan = _Plan("task", row.id, level, threshold, tuple(skipped), dossier, row, message, tuple(recipients),
                     calendar.next_working_instant(now))
        return level, next_instant(thresholds, level), plan

    def _task_recipients(self, session, level, task, policy, today, caches):
        assignee = caches.user(session, task.assignee_id) if task.assignee_id else None
        if level == "remind":
            # The assignee, or everyone who may claim the step when nobody has.
            return [assignee] if assignee else caches.pool(session, task.org_unit_id, (task.role,), today)
        roles = policy.warn_roles if level == "warn" else policy.overdue_roles
        people = list(caches.pool(session, task.org_unit_id, roles, today))
        if level == "overdue" and assignee and assignee not in people:
            people.append(assignee)  # the assignee learns the step is marked overdue
        return people

    # --- dossiers ---------------------------------------------------------------------

    def escalate_dossiers(self, now: datetime, report: SweepReport, caches: _Caches) -> None:
        while True:
            with self._uow() as uow:
                session = uow.session
                query = (select(Dossier).where(_dossier_due(now))
                         .order_by(Dossier.next_escalation_at, Dossier.id).limit(self.batch_size))
                if self._is_pg(session):
                    query = query.with_for_update(of=Dossier, skip_locked=True)
                dossiers = session.scalars(query).all()
                if not dossiers:
                    return
                ids = {d.id for d in dossiers}
                paused = self._paused(session, ids)
                open_tasks: dict[int, list[Task]] = {}
                for task in session.scalars(select(Task).where(Task.dossier_id.in_(ids), Task.state == StepState.OPEN)):
                    open_tasks.setdefault(task.dossier_id, []).append(task)
                plans: list[_Plan] = []
                for dossier in dossiers:
                    try:
                        plan = self._plan_dossier(uow, dossier, open_tasks.get(dossier.id, []),
                                                  dossier.id in paused, now, caches)
                    except Exception as exc:
                        log.exception("escalation of dossier %s failed", dossier.id)
                        report.errors.append(f"dossier {dossier.id}: {exc}")
                        dossier.next_escalation_at = now + RETRY_AFTER_ERROR
                        continue
                    if plan is not None:
                        plans.append(plan)
                self._fire(uow, plans, now, report, caches)
                uow.commit()
            if len(dossiers) < self.batch_size:
                return

    def _plan_dossier(self, uow, dossier: Dossier, open_tasks: list[Task], paused: bool,
                      now: datetime, caches: _Caches) -> "_Plan | None":
        session = uow.session
        if dossier.state != DossierState.OPEN:
            dossier.next_escalation_at = None
            return None
        calendar = caches.calendar(uow, dossier.org_unit_id)
        policy = caches.policy(uow, dossier.org_unit_id, dossier.procedure_version_id)
        model = caches.model(session, dossier.procedure_version_id)
        threshold = dossier_threshold(dossier, open_tasks, model, calendar, policy, paused=paused)
        if threshold is None or threshold > now:
            dossier.next_escalation_at = threshold
            return None
        today = now.astimezone(VN_TZ).date()
        recipients = caches.pool(session, dossier.org_unit_id, policy.apology_roles, today)
        message = apology_message(dossier_code=dossier.code, applicant=dossier.applicant_name, due_at=dossier.due_at)
        dossier.escalation_level = "apology_due"
        dossier.next_escalation_at = None
        ref = _DossierRef(dossier.id, dossier.code, dossier.org_unit_id, dossier.applicant_name, dossier.due_at)
        return _Plan("dossier", dossier.id, "apology_due", threshold, (), ref, None, message, tuple(recipients),
                     calendar.next_working_instant(now))

    def quality_records(self, now: datetime, report: SweepReport, *, actions: bool = True) -> None:
        """Nonconformities of late dossiers and apology letters, reminders of corrective
        actions (`actions`: some may be due)."""
        try:
            for nc in quality_sweep.open_late_dossier_nonconformities(self.rt, now, batch_size=self.batch_size):
                report.quality.append(f"nonconformity {nc.dossier_code} {nc.source_kind} #{nc.nonconformity_id}")
            if not (actions or report.quality):  # a nonconformity opened now may come with its action
                return
            for r in quality_sweep.remind_corrective_actions(self.rt, now, batch_size=self.batch_size):
                report.quality.append(f"action      #{r.action_id} {r.level} -> {', '.join(r.recipients) or '(nobody)'}")
        except Exception as exc:  # never stops the sweep; the next one retries
            log.exception("quality records failed")
            report.errors.append(f"quality records: {exc}")

    def year_partitions(self, now: datetime, report: SweepReport) -> None:
        """Once a local day: the partitions of this year and the next exist (PostgreSQL)."""
        today = now.astimezone(VN_TZ).date()
        if self._partitions_checked == today or self.rt.db.dialect != "postgresql":
            return
        self._partitions_checked = today  # once a day even when it fails: tomorrow's sweep tries again
        for year in (today.year, today.year + 1):  # each in its own transaction: one failing spares the other
            try:
                with self._uow() as uow:
                    created = ensure_year_partitions(uow.connection, [year])
                    uow.commit()
            except Exception as exc:  # never stops the sweep; the next year's partitions are a year ahead
                log.exception("year partitions failed")
                report.errors.append(f"year partitions: {exc}")
                continue
            if created:  # in the log, not the report's lines: nothing a user acts on
                log.info("created the partitions of dossiers and steps for %s", year)
            report.partitions.extend(created)

    # --- firing -----------------------------------------------------------------------

    def _fire(self, uow: UnitOfWork, plans: list["_Plan"], now: datetime, report: SweepReport,
              caches: _Caches) -> None:
        """Insert a batch's escalations under their unique keys (a key already there was
        fired before, by this or another scheduler: it notifies nobody again), then the
        notices and outbox rows of the new ones, and one event-log entry for the batch.
        A few statements per batch, not per escalation."""
        if not plans:
            return
        conn = uow.session.connection()  # Core: the ORM's per-row bulk bookkeeping is not needed
        inserted = bulk_insert(
            conn, Escalation.__table__,
            [{"entity_type": p.entity_type, "entity_id": p.entity_id, "level": p.level,
              "dossier_id": p.dossier.id, "task_id": p.task.id if p.task else None,
              "org_unit_id": p.dossier.org_unit_id, "threshold_at": p.threshold, "fired_at": now,
              "skipped": list(p.skipped)} for p in plans],
            returning=("id", "entity_type", "entity_id", "level"), conflict_on=("entity_type", "entity_id", "level"))
        ids = {(e_type, e_id, level): esc_id for esc_id, e_type, e_id, level in inserted}
        fresh = [(ids[(p.entity_type, p.entity_id, p.level)], p) for p in plans
                 if (p.entity_type, p.entity_id, p.level) in ids]
        if not fresh:
            return
        notices = [{
            "escalation_id": esc_id, "recipient_id": user_id, "level": p.level, "kind": p.message.kind,
            "title_vi": p.message.title_vi, "title_en": p.message.title_en, "body_vi": p.message.body_vi,
            "body_en": p.message.body_en, "dossier_id": p.dossier.id, "dossier_code": p.dossier.code,
            "task_id": p.task.id if p.task else None, "org_unit_id": p.dossier.org_unit_id,
            "actions": list(p.message.actions), "created_at": now, "deliver_after": p.deliver_after,
        } for esc_id, p in fresh for user_id, _name, _email in p.recipients]
        deliveries = []
        if notices:
            rows = bulk_insert(conn, Notification.__table__, notices, returning=("id", "escalation_id", "recipient_id"))
            if "email" in self.channels:
                notice_ids = {(esc_id, user_id): n_id for n_id, esc_id, user_id in rows}
                for esc_id, p in fresh:
                    for user_id, _name, email in p.recipients:
                        if email:  # no address: the in-app inbox still has the notice
                            deliveries.append({
                                "escalation_id": esc_id, "notification_id": notice_ids[(esc_id, user_id)],
                                "channel": "email", "address": email,
                                "payload": {"subject": f"[isoflow] {p.message.title_vi}",
                                            "body": f"{p.message.body_vi}\n\n---\n{p.message.title_en}\n"
                                                    f"{p.message.body_en}\n"},
                                "state": "pending", "attempts": 0, "next_attempt_at": p.deliver_after})
        if "webhook" in self.channels:
            for esc_id, p in fresh:
                deliveries.append({
                    "escalation_id": esc_id, "notification_id": None, "channel": "webhook",
                    "address": self.channel_settings.webhook_url, "payload": _webhook_payload(esc_id, p, now),
                    "state": "pending", "attempts": 0, "next_attempt_at": p.deliver_after})
        if deliveries:
            bulk_insert(conn, Delivery.__table__, deliveries)
        # One entry per commune of the batch, under the commune: its chair audits its escalations.
        by_commune: dict[int, list[tuple[int, _Plan]]] = {}
        for esc_id, p in fresh:
            by_commune.setdefault(p.dossier.org_unit_id, []).append((esc_id, p))
        for org_unit_id, fired in by_commune.items():
            uow.log("scheduler.escalated", "scheduler", "sweep", org_unit_id=org_unit_id, after={"fired": [
                {"escalation_id": esc_id, "entity_type": p.entity_type, "entity_id": p.entity_id, "level": p.level,
                 "dossier_code": p.dossier.code, "threshold_at": p.threshold, "skipped": list(p.skipped),
                 "recipients": [r[1] for r in p.recipients]} for esc_id, p in fired]})
        for _esc_id, p in fresh:
            report.fired.append(Fired(p.level, p.entity_type, p.entity_id, p.dossier.code,
                                      p.task.name if p.task else p.dossier.applicant_name, p.threshold,
                                      tuple(r[1] for r in p.recipients), p.skipped))

    # --- outbox -----------------------------------------------------------------------

    def deliver(self, now: datetime, report: SweepReport) -> None:
        """Send what is due on each configured channel. A channel that fails is left for
        its backoff and not tried again in this sweep, so it cannot hold the sweep up."""
        broken: set[str] = set()
        while True:
            usable = [name for name in self.channels if name not in broken]
            if not usable:
                return
            with self._uow() as uow:
                session = uow.session
                query = (select(Delivery).where(_delivery_due(now), Delivery.channel.in_(usable))
                         .order_by(Delivery.id).limit(self.batch_size))
                if self._is_pg(session):
                    query = query.with_for_update(skip_locked=True)
                rows = session.scalars(query).all()
                if not rows:
                    return
                for delivery in rows:
                    if delivery.channel in broken:
                        continue
                    delivery.attempts += 1
                    try:
                        self.channels[delivery.channel].send(delivery.address, delivery.payload, delivery.id)
                    except DeliveryFailed as exc:
                        broken.add(delivery.channel)
                        _failed(delivery, exc, now, report)
                    else:
                        _sent(delivery, now, report)
                uow.commit()


    def deliver_outbox(self, now: datetime, report: SweepReport) -> None:
        """Send the outbox of integrators' webhooks and applicants' notices: a webhook with
        its subscription's URL and secret, email and SMS on their configured channels
        (rows of a channel not configured wait for it). Each row is sent and marked in
        one transaction, rows locked on PostgreSQL (SKIP LOCKED) so two schedulers never
        send the same row; a failure is retried with the escalation channels' backoff."""
        broken: set[str] = set()
        last_id = 0  # a cursor: each row is looked at once per sweep
        while True:
            usable = [c for c in ("webhook", "email", "sms")
                      if c not in broken and (c == "webhook" or c in self.channels)]
            if not usable:
                return
            with self._uow() as uow:
                session = uow.session
                query = (select(OutboxMessage).where(_outbox_due(now), OutboxMessage.channel.in_(usable),
                                                     OutboxMessage.id > last_id)
                         .order_by(OutboxMessage.id).limit(self.batch_size))
                if self._is_pg(session):
                    query = query.with_for_update(skip_locked=True)
                rows = session.scalars(query).all()
                if not rows:
                    return
                last_id = rows[-1].id
                for message in rows:
                    # a failing integrator's endpoint holds back its own rows only
                    key = f"webhook:{message.subscription_id}" if message.channel == "webhook" else message.channel
                    if key in broken:
                        continue
                    if message.channel == "webhook":
                        subscription = session.get(WebhookSubscription, message.subscription_id)
                        if subscription is None or subscription.deleted_at is not None:
                            message.state, message.last_error = "cancelled", "subscription deleted"
                            continue
                    message.attempts += 1
                    try:
                        if message.channel == "webhook":
                            post_signed(subscription.url, message.payload, message.id, subscription.secret,
                                        self.channel_settings.timeout_seconds)
                        else:
                            self.channels[message.channel].send(message.address, message.payload, message.id)
                    except DeliveryFailed as exc:
                        broken.add(key)
                        _failed(message, exc, now, report)
                    else:
                        _sent(message, now, report)
                uow.commit()


def _failed(row, exc: DeliveryFailed, now: datetime, report: SweepReport) -> None:
    """A delivery or outbox row that could not be sent: retried with backoff, failed for good
    after MAX_ATTEMPTS (the two outboxes keep the same columns for this)."""
    row.last_error = str(exc)[:1000]
    if row.attempts >= MAX_ATTEMPTS:
        row.state = "failed"
    else:
        row.next_attempt_at = now + backoff(row.attempts)
    report.deliveries.append(Sent(row.channel, row.address, row.id, False, str(exc)))
    log.warning("%s %s over %s failed: %s", type(row).__name__, row.id, row.channel, exc)


def _sent(row, now: datetime, report: SweepReport) -> None:
    row.state, row.sent_at, row.last_error = "sent", now, None
    report.deliveries.append(Sent(row.channel, row.address, row.id, True))


def run_once(rt, *, channel_settings: ChannelSettings | None = None) -> SweepReport:
    return Sweeper(rt, channel_settings=channel_settings).run_once()


