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

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.audit import Actor
from engine.calendar import VN_TZ, WorkingCalendar
from engine.calendar.overrides import CalendarOverrides
from engine.db.models import (
    Delivery,
    Dossier,
    DossierPause,
    Escalation,
    Notification,
    OrgUnit,
    ProcedureVersion,
    RoleAssignment,
    Task,
    User,
    WorkflowState,
)
from engine.procedure.model import ProcedureModel
from engine.scheduler.channels import ChannelSettings, DeliveryFailed, channels_from
from engine.scheduler.deadlines import (
    Policy,
    PolicyBook,
    dossier_threshold,
    due_level,
    next_instant,
    task_thresholds,
)
from engine.scheduler.messages import Message, apology_message, task_message
from engine.scheduler.spiff_clock import spiff_now
from engine.services.calendars import calendar_for, load_overrides
from engine.services.uow import UnitOfWork
from engine.services.workflow import DossierWorkflow

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

    def calendar(self, session: Session, unit_id: int) -> WorkingCalendar:
        cal = self.calendars.get(unit_id)
        if cal is None:
            if self.overrides is None:
                self.overrides = load_overrides(session)
            unit = session.get(OrgUnit, unit_id)
            cal = self.calendars[unit_id] = calendar_for(session, unit, self.overrides)
            self.unit_codes[unit_id] = unit.code if unit else str(unit_id)
        return cal

    def model(self, session: Session, version_id: int) -> ProcedureModel:
        model = self.models.get(version_id)
        if model is None:
            model = self.models[version_id] = self.rt.model(session.get(ProcedureVersion, version_id))
        return model

    def policy(self, session: Session, unit_id: int, version_id: int) -> Policy:
        if self.book is None:
            self.book = PolicyBook.load(session)
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


class Sweeper:
    def __init__(self, rt, *, channel_settings: ChannelSettings | None = None, batch_size: int | None = None) -> None:
        self.rt = rt
        self.channel_settings = channel_settings or ChannelSettings.from_env()
        self.channels = channels_from(self.channel_settings)
        # rows per transaction (ISOFLOW_SCHEDULER_BATCH); small batches let processes interleave
        self.batch_size = batch_size or max(int(os.environ.get("ISOFLOW_SCHEDULER_BATCH") or 500), 1)

    # --- the pass ---------------------------------------------------------------------

    def run_once(self) -> SweepReport:
        now = self.rt.clock.now()
        report = SweepReport(now)
        caches = _Caches(self.rt)
        self.fire_timers(now, report, caches)
        self.escalate_tasks(now, report, caches)
        self.escalate_dossiers(now, report, caches)
        self.deliver(now, report)
        return report

    def _uow(self) -> UnitOfWork:
        return self.rt.unit_of_work(SCHEDULER_ACTOR)

    @staticmethod
    def _is_pg(session: Session) -> bool:
        return session.bind.dialect.name == "postgresql"

    # --- BPMN timers ------------------------------------------------------------------

    def fire_timers(self, now: datetime, report: SweepReport, caches: _Caches) -> None:
        with self.rt.db.session_factory() as session:
            due_ids = session.scalars(
                # strictly before: SpiffWorkflow fires a timer once its instant is in the past
                select(WorkflowState.dossier_id).where(WorkflowState.next_timer_at < now)
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
            query = select(Dossier).where(Dossier.id == dossier_id)
            if self._is_pg(session):
                query = query.with_for_update(of=Dossier, skip_locked=True)
            dossier = session.scalar(query)
            state = session.get(WorkflowState, dossier_id)
            if dossier is None or state is None or state.next_timer_at is None or state.next_timer_at >= now:
                return  # another scheduler took it, or it already fired
            if dossier.state != "open":
                state.next_timer_at = None
                uow.commit()
                return
            model = caches.model(session, dossier.procedure_version_id)
            calendar = caches.calendar(session, dossier.org_unit_id)
            flow = DossierWorkflow.load(uow, dossier, model, calendar)
            armed = state.next_timer_at
            with spiff_now(uow.now):
                flow.workflow.refresh_timers()
                flow.workflow.do_engine_steps()
            opened = flow.sync(handed_over_by=None)
            if not opened and flow.state.next_timer_at == armed:
                raise RuntimeError(f"the timer due at {armed.isoformat()} did not fire")
            uow.log("workflow.timer_fired", "dossier", dossier.id, org_unit_id=dossier.org_unit_id,
                    after={"opened": [t.bpmn_id for t in opened], "status_code": dossier.status_code,
                           "next_timer_at": flow.state.next_timer_at if flow.state else None})
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
        while True:
            with self._uow() as uow:
                session = uow.session
                query = (select(Task, Dossier).join(Dossier, Task.dossier_id == Dossier.id)
                         .where(Task.next_escalation_at <= now).order_by(Task.next_escalation_at, Task.id)
                         .limit(self.batch_size))
                if self._is_pg(session):
                    query = query.with_for_update(of=Task, skip_locked=True)
                rows = session.execute(query).all()
                if not rows:
                    return
                paused = self._paused(session, {d.id for _, d in rows})
                notices: list[tuple[Notification, Escalation]] = []
                for task, dossier in rows:
                    try:
                        with session.begin_nested():
                            self._escalate_task(uow, task, dossier, dossier.id in paused, now, report, caches, notices)
                    except Exception as exc:
                        log.exception("escalation of task %s failed", task.id)
                        report.errors.append(f"task {task.id}: {exc}")
                        task.next_escalation_at = now + RETRY_AFTER_ERROR
                self._add_deliveries(session, notices, now, caches)
                uow.commit()
            if len(rows) < self.batch_size:
                return

    @staticmethod
    def _paused(session: Session, dossier_ids: set[int]) -> set[int]:
        if not dossier_ids:
            return set()
        return set(session.scalars(select(DossierPause.dossier_id).where(
            DossierPause.dossier_id.in_(dossier_ids), DossierPause.ended_at.is_(None))))

    def _escalate_task(self, uow: UnitOfWork, task: Task, dossier: Dossier, paused: bool, now: datetime,
                       report: SweepReport, caches: _Caches, notices: list) -> None:
        session = uow.session
        if task.state != "open" or dossier.state != "open" or paused:
            task.next_escalation_at = None  # a closed step or a paused clock never escalates
            return
        calendar = caches.calendar(session, task.org_unit_id)
        policy = caches.policy(session, dossier.org_unit_id, dossier.procedure_version_id)
        thresholds = task_thresholds(task, calendar, policy)
        found = due_level(thresholds, task.escalation_level, now)
        if found is not None:
            level, threshold, skipped = found
            today = now.astimezone(VN_TZ).date()
            recipients = self._task_recipients(session, level, task, policy, today, caches)
            assignee = caches.user(session, task.assignee_id) if task.assignee_id else None
            message = task_message(level, step=task.name, dossier_code=dossier.code, due_at=task.due_at,
                                   remind_at=policy.remind_at, assignee=assignee[1] if assignee else None)
            self._fire(uow, "task", task.id, level, threshold, skipped, dossier, task, message, recipients,
                       calendar, now, report, notices)
            task.escalation_level = level
        task.next_escalation_at = next_instant(thresholds, task.escalation_level)

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
                query = (select(Dossier).where(Dossier.next_escalation_at <= now)
                         .order_by(Dossier.next_escalation_at, Dossier.id).limit(self.batch_size))
                if self._is_pg(session):
                    query = query.with_for_update(of=Dossier, skip_locked=True)
                dossiers = session.scalars(query).all()
                if not dossiers:
                    return
                ids = {d.id for d in dossiers}
                paused = self._paused(session, ids)
                open_tasks: dict[int, list[Task]] = {}
                for task in session.scalars(select(Task).where(Task.dossier_id.in_(ids), Task.state == "open")):
                    open_tasks.setdefault(task.dossier_id, []).append(task)
                notices: list[tuple[Notification, Escalation]] = []
                for dossier in dossiers:
                    try:
                        with session.begin_nested():
                            self._escalate_dossier(uow, dossier, open_tasks.get(dossier.id, []), dossier.id in paused,
                                                   now, report, caches, notices)
                    except Exception as exc:
                        log.exception("escalation of dossier %s failed", dossier.id)
                        report.errors.append(f"dossier {dossier.id}: {exc}")
                        dossier.next_escalation_at = now + RETRY_AFTER_ERROR
                self._add_deliveries(session, notices, now, caches)
                uow.commit()
            if len(dossiers) < self.batch_size:
                return

    def _escalate_dossier(self, uow, dossier: Dossier, open_tasks: list[Task], paused: bool, now: datetime,
                          report: SweepReport, caches: _Caches, notices: list) -> None:
        session = uow.session
        if dossier.state != "open":
            dossier.next_escalation_at = None
            return
        calendar = caches.calendar(session, dossier.org_unit_id)
        policy = caches.policy(session, dossier.org_unit_id, dossier.procedure_version_id)
        model = caches.model(session, dossier.procedure_version_id)
        threshold = dossier_threshold(dossier, open_tasks, model, calendar, policy, paused=paused)
        if threshold is None or threshold > now:
            dossier.next_escalation_at = threshold
            return
        today = now.astimezone(VN_TZ).date()
        recipients = caches.pool(session, dossier.org_unit_id, policy.apology_roles, today)
        message = apology_message(dossier_code=dossier.code, applicant=dossier.applicant_name, due_at=dossier.due_at)
        self._fire(uow, "dossier", dossier.id, "apology_due", threshold, [], dossier, None, message, recipients,
                   calendar, now, report, notices)
        dossier.escalation_level = "apology_due"
        dossier.next_escalation_at = None

    # --- firing -----------------------------------------------------------------------

    def _fire(self, uow: UnitOfWork, entity_type: str, entity_id: int, level: str, threshold: datetime,
              skipped: list[str], dossier: Dossier, task: Task | None, message: Message,
              recipients: list[tuple[int, str, str | None]], calendar: WorkingCalendar, now: datetime,
              report: SweepReport, notices: list) -> None:
        session = uow.session
        insert = pg_insert if self._is_pg(session) else sqlite_insert
        escalation_id = session.execute(
            insert(Escalation).values(
                entity_type=entity_type, entity_id=entity_id, level=level, dossier_id=dossier.id,
                task_id=task.id if task else None, org_unit_id=dossier.org_unit_id, threshold_at=threshold,
                fired_at=now, skipped=list(skipped),
            ).on_conflict_do_nothing(index_elements=["entity_type", "entity_id", "level"]).returning(Escalation.id)
        ).scalar_one_or_none()
        if escalation_id is None:
            return  # fired already (another scheduler, or before a restart): never twice
        escalation = session.get(Escalation, escalation_id)
        deliver_after = calendar.next_working_instant(now)  # notices wait for office hours
        for user_id, _username, _email in recipients:
            notification = Notification(
                escalation_id=escalation_id, recipient_id=user_id, level=level, kind=message.kind,
                title_vi=message.title_vi, title_en=message.title_en, body_vi=message.body_vi,
                body_en=message.body_en, dossier_id=dossier.id, dossier_code=dossier.code,
                task_id=task.id if task else None, org_unit_id=dossier.org_unit_id, actions=list(message.actions),
                created_at=now, deliver_after=deliver_after,
            )
            session.add(notification)
            notices.append((notification, escalation))
        if "webhook" in self.channels:
            session.add(Delivery(
                escalation_id=escalation_id, channel="webhook", address=self.channel_settings.webhook_url,
                payload=self._webhook_payload(escalation_id, level, message, dossier, task, threshold, now, recipients,
                                              calendar),
                state="pending", attempts=0, next_attempt_at=deliver_after,
            ))
        names = tuple(r[1] for r in recipients)
        uow.log(f"escalation.{level}", entity_type, entity_id, org_unit_id=dossier.org_unit_id,
                after={"escalation_id": escalation_id, "level": level, "threshold_at": threshold,
                       "recipients": list(names), "skipped": list(skipped), "dossier_code": dossier.code})
        report.fired.append(Fired(level, entity_type, entity_id, dossier.code,
                                  task.name if task else dossier.applicant_name, threshold, names, tuple(skipped)))

    def _webhook_payload(self, escalation_id, level, message: Message, dossier: Dossier, task: Task | None,
                         threshold: datetime, now: datetime, recipients, calendar) -> dict[str, Any]:
        return {
            "escalation_id": escalation_id, "level": level, "kind": message.kind,
            "dossier_code": dossier.code, "task_id": task.id if task else None,
            "step": task.bpmn_id if task else None, "due_at": (task.due_at if task else dossier.due_at).isoformat()
            if (task.due_at if task else dossier.due_at) else None,
            "threshold_at": threshold.isoformat(), "fired_at": now.isoformat(),
            "title_vi": message.title_vi, "title_en": message.title_en, "body_vi": message.body_vi,
            "body_en": message.body_en, "actions": list(message.actions),
            "recipients": [r[1] for r in recipients],
        }

    def _add_deliveries(self, session: Session, notices: list[tuple[Notification, Escalation]], now: datetime,
                        caches: _Caches) -> None:
        """Email rows for the batch's notices (after a flush gives them ids)."""
        if "email" not in self.channels or not notices:
            return
        session.flush()
        for notification, escalation in notices:
            user = caches.user(session, notification.recipient_id)
            if user is None or not user[2]:
                continue  # no address: the in-app inbox still has the notice
            session.add(Delivery(
                escalation_id=escalation.id, notification_id=notification.id, channel="email", address=user[2],
                payload={"subject": f"[isoflow] {notification.title_vi}",
                         "body": f"{notification.body_vi}\n\n---\n{notification.title_en}\n{notification.body_en}\n"},
                state="pending", attempts=0, next_attempt_at=notification.deliver_after,
            ))

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
                query = (select(Delivery).where(Delivery.state == "pending", Delivery.next_attempt_at <= now,
                                                Delivery.channel.in_(usable))
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
                        delivery.last_error = str(exc)[:1000]
                        if delivery.attempts >= MAX_ATTEMPTS:
                            delivery.state = "failed"
                        else:
                            delivery.next_attempt_at = now + backoff(delivery.attempts)
                        report.deliveries.append(Sent(delivery.channel, delivery.address, delivery.id, False, str(exc)))
                        log.warning("delivery %s over %s failed: %s", delivery.id, delivery.channel, exc)
                    else:
                        delivery.state, delivery.sent_at, delivery.last_error = "sent", now, None
                        report.deliveries.append(Sent(delivery.channel, delivery.address, delivery.id, True))
                uow.commit()


def run_once(rt, *, channel_settings: ChannelSettings | None = None) -> SweepReport:
    return Sweeper(rt, channel_settings=channel_settings).run_once()


