"""The scheduler's part of the quality system (docs/iso.md): nonconformities that open
by themselves when a dossier becomes late or gets an apology letter, and reminders of
corrective actions due. Called by the sweep (`engine.scheduler.sweep`), each batch in
one transaction.

Exactly once across schedulers: a nonconformity is inserted under its unique key
(source kind, source id) and a reminder under (action, level), both with ON CONFLICT
DO NOTHING RETURNING; only what a sweep actually inserted is logged and notified. On
PostgreSQL due actions are also taken with FOR UPDATE SKIP LOCKED so processes share
the work.

Cost: open dossiers past their appointment are read through `ix_dossiers_state_due`
(only the current backlog of overdue dossiers, not the history); dossiers that closed
late and apology letters since the last sweep through a watermark (`quality_marks`)
on the same index and on the event log's time index; actions by `next_reminder_at`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, not_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.adapters.db.bulk import bulk_insert
from engine.adapters.db.models import (
    ActionReminder,
    CorrectiveAction,
    Dossier,
    DossierPause,
    Event,
    Nonconformity,
    Notification,
    OrgUnit,
    ProcedureVersion,
    QualityMark,
    RoleAssignment,
    User,
)
from engine.audit import Actor
from engine.domain import quality as rules
from engine.domain.calendar import VN_TZ
from engine.domain.lifecycle import DossierState
from engine.services.calendars import calendar_for, load_overrides

QUALITY_ACTOR = Actor.system("scheduler")
MARK = "late_dossiers"
# Transactions that committed after the last sweep may carry an earlier instant; look
# back this far behind the watermark (the unique key absorbs what is seen twice).
LOOK_BACK = timedelta(hours=1)
FIRST_LOOK_BACK = timedelta(days=1)  # no watermark yet: a fresh install or the upgrade
# The read looks back an hour behind the watermark anyway: moving it at every sweep (a
# write and a log flush each time, most of a quiet sweep's cost) keeps the read no shorter.
MARK_STEP = timedelta(minutes=5)
OVERDUE_ROLES = ("chair",)


@dataclass(frozen=True)
class Opened:
    nonconformity_id: int
    source_kind: str
    dossier_code: str


@dataclass(frozen=True)
class Reminded:
    action_id: int
    level: str
    recipients: tuple[str, ...]


def open_late_dossier_nonconformities(rt, now: datetime, *, batch_size: int = 500) -> list[Opened]:
    """A nonconformity for every dossier that became late (open past its appointment and
    not waiting on the citizen, or finished/closed late) and for every apology letter;
    in batches of `batch_size`, one transaction each."""
    opened: list[Opened] = []
    first = True
    while True:
        with rt.unit_of_work(QUALITY_ACTOR) as uow:
            mark = uow.session.get(QualityMark, MARK)
            since = (mark.at - LOOK_BACK) if mark is not None else now - FIRST_LOOK_BACK
            late = _late_dossiers(uow.session, now, since, batch_size, backlog=mark is None)
            values = [("late_dossier", row, _late_text(row)) for row in late]
            if first:  # apology letters since the watermark: a handful, read once per sweep
                values += [("apology", row, _apology_text(row)) for row in _apologies(uow.session, since)]
            opened += _insert(uow, values, now)
            done = len(late) < batch_size
            if done and (mark is None or now - mark.at >= MARK_STEP):  # everything up to now was seen
                _move_mark(uow.connection, now)
            uow.commit()
        first = False
        if done:
            return opened


def _late_dossiers(session, now: datetime, since: datetime, limit: int, *, backlog: bool = False):
    """Dossiers that became late since `since` with no nonconformity yet. An open dossier
    becomes late when its due instant passes while it is not paused (a pause moves the due
    instant past its end), so its due instant lies after the watermark like a closed
    one's; only the first sweep (`backlog`, no watermark yet) reads every open overdue
    dossier, so the open backlog of an upgraded install is seen once and the steady
    sweep reads what became late since the last one, not the whole backlog."""
    has_nc = exists().where(Nonconformity.source_kind == "late_dossier", Nonconformity.source_id == Dossier.id)
    paused = exists().where(DossierPause.dossier_id == Dossier.id, DossierPause.ended_at.is_(None))
    late_open = and_(Dossier.state == DossierState.OPEN, Dossier.due_at < now, not_(paused),
                     or_(Dossier.finished_at.is_(None), Dossier.classification == "late"))
    if not backlog:
        late_open = and_(late_open, Dossier.due_at >= since)
    closed_late = and_(Dossier.state == "closed", Dossier.due_at >= since, Dossier.due_at < now,
                       Dossier.classification == "late")
    return session.execute(
        select(Dossier.id, Dossier.code, Dossier.org_unit_id, Dossier.due_at, ProcedureVersion.procedure_id)
        .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
        .where(or_(late_open, closed_late), not_(has_nc))
        .order_by(Dossier.due_at, Dossier.id).limit(limit)).all()


def _apologies(session, since: datetime):
    issued = session.execute(select(Event.entity_id).where(
        Event.at >= since, Event.kind == "dossier.apology_issued", Event.entity_type == "dossier")).scalars().all()
    if not issued:
        return []
    has_nc = exists().where(Nonconformity.source_kind == "apology", Nonconformity.source_id == Dossier.id)
    return session.execute(
        select(Dossier.id, Dossier.code, Dossier.org_unit_id, Dossier.apology_reason, Dossier.apology_due_at,
               ProcedureVersion.procedure_id)
        .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
        .where(Dossier.id.in_({int(i) for i in issued}), not_(has_nc))).all()


def _late_text(row) -> str:
    when = row.due_at.astimezone(VN_TZ)
    return (f"Hồ sơ {row.code} quá hạn giải quyết (hẹn trả {when:%H:%M %d/%m/%Y}). / "
            f"Dossier {row.code} is late (due {when:%Y-%m-%d %H:%M}).")


def _apology_text(row) -> str:
    new_due = row.apology_due_at.astimezone(VN_TZ) if row.apology_due_at else None
    return (f"Hồ sơ {row.code}: đã phát hành phiếu xin lỗi và hẹn lại"
            + (f" ({new_due:%H:%M %d/%m/%Y})" if new_due else "") + f"; lý do: {row.apology_reason or ''}. / "
            f"Dossier {row.code}: an apology letter with a new appointment was issued.")


def _insert(uow, values, now: datetime) -> list[Opened]:
    """Insert-or-nothing under (source kind, source id); log and report only the new ones."""
    if not values:
        return []
    inserted = bulk_insert(uow.connection, Nonconformity.__table__, [
        {"org_unit_id": row.org_unit_id, "source_kind": kind, "source_id": row.id, "dossier_id": row.id,
         "procedure_id": row.procedure_id, "description": text, "detected_at": now,
         "opened_by": QUALITY_ACTOR.name, "state": "open"} for kind, row, text in values],
        returning=("id", "source_kind", "source_id"), conflict_on=("source_kind", "source_id"))
    rows = {(kind, row.id): row for kind, row, _ in values}
    opened = []
    for nc_id, kind, dossier_id in sorted(inserted):
        row = rows[(kind, dossier_id)]
        uow.log("nonconformity.opened", "nonconformity", nc_id, org_unit_id=row.org_unit_id,
                after={"source_kind": kind, "source_id": dossier_id, "dossier_id": dossier_id, "dossier_code": row.code})
        opened.append(Opened(nc_id, kind, row.code))
    return opened


def _move_mark(connection, now: datetime) -> None:
    table = QualityMark.__table__
    insert = pg_insert(table) if connection.dialect.name == "postgresql" else sqlite_insert(table)
    statement = insert.values(name=MARK, at=now).on_conflict_do_update(
        index_elements=["name"], set_={"at": now}, where=table.c.at < now)
    connection.execute(statement)


def action_due(now):
    """The corrective actions `remind_corrective_actions` takes up at `now`."""
    return CorrectiveAction.next_reminder_at <= now


def remind_corrective_actions(rt, now: datetime, *, batch_size: int = 500) -> list[Reminded]:
    """Corrective actions whose reminder instant passed: the owner on the due day, the
    owner and the chair once the due day closed; each level once, the highest only
    after downtime. Notices wait for office hours (`deliver_after`)."""
    fired: list[Reminded] = []
    while True:
        with rt.unit_of_work(QUALITY_ACTOR) as uow:
            session = uow.session
            query = (select(CorrectiveAction).where(action_due(now))
                     .order_by(CorrectiveAction.next_reminder_at, CorrectiveAction.id).limit(batch_size))
            if session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            actions = session.scalars(query).all()
            if not actions:
                return fired
            overrides = load_overrides(uow)
            calendars = {}
            plans = []
            for action in actions:
                if action.state != "open":
                    action.next_reminder_at = None
                    continue
                calendar = calendars.get(action.org_unit_id)
                if calendar is None:
                    calendar = calendars[action.org_unit_id] = calendar_for(
                        uow, session.get(OrgUnit, action.org_unit_id), overrides)
                due_day = action.due_at.astimezone(VN_TZ).date()
                thresholds = rules.ActionThresholds(
                    calendar.next_working_instant(datetime.combine(due_day, datetime.min.time(), tzinfo=VN_TZ)),
                    action.due_at)
                found = rules.action_due_level(thresholds, action.reminder_level, now)
                if found is None:
                    action.next_reminder_at = rules.action_next_instant(thresholds, action.reminder_level)
                    continue
                level, skipped = found
                action.reminder_level = level
                action.next_reminder_at = rules.action_next_instant(thresholds, level)
                plans.append((action, level, skipped, thresholds, calendar.next_working_instant(now)))
            session.flush()
            if plans:
                inserted = bulk_insert(uow.connection, ActionReminder.__table__, [
                    {"action_id": a.id, "level": level, "threshold_at": getattr(t, level), "fired_at": now,
                     "skipped": list(skipped)} for a, level, skipped, t, _ in plans],
                    returning=("action_id", "level"), conflict_on=("action_id", "level"))
                fresh = set(inserted)
                today = now.astimezone(VN_TZ).date()
                notices, logged = [], []
                for action, level, _skipped, _t, deliver_after in plans:
                    if (action.id, level) not in fresh:
                        continue  # another scheduler (or an earlier sweep) fired it
                    people = _recipients(session, action, level, today)
                    notices.extend(_notice(action, level, user_id, now, deliver_after) for user_id, _ in people)
                    logged.append({"action_id": action.id, "level": level, "recipients": [n for _, n in people]})
                    fired.append(Reminded(action.id, level, tuple(n for _, n in people)))
                if notices:
                    bulk_insert(uow.connection, Notification.__table__, notices)
                if logged:
                    uow.log("corrective_action.reminded", "scheduler", "sweep", after={"fired": logged})
            uow.commit()
            if len(actions) < batch_size:
                return fired


def _recipients(session, action: CorrectiveAction, level: str, today) -> list[tuple[int, str]]:
    owner = session.get(User, action.owner_id)
    people = [(owner.id, owner.username)] if owner is not None and owner.active else []
    if level == "overdue":
        chairs = session.execute(
            select(User.id, User.username).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.org_unit_id == action.org_unit_id, RoleAssignment.role.in_(OVERDUE_ROLES),
                   RoleAssignment.valid_from <= today,
                   or_(RoleAssignment.valid_to.is_(None), RoleAssignment.valid_to >= today), User.active.is_(True))
            .distinct().order_by(User.id)).all()
        people += [(uid, name) for uid, name in chairs if all(uid != p for p, _ in people)]
    return people


def _notice(action: CorrectiveAction, level: str, user_id: int, now: datetime, deliver_after: datetime) -> dict:
    due = action.due_at.astimezone(VN_TZ)
    what = action.description if len(action.description) <= 200 else action.description[:197] + "..."
    if level == "remind":
        title_vi, title_en = "Hành động khắc phục đến hạn hôm nay", "Corrective action due today"
        body_vi = f"Hành động khắc phục \"{what}\" đến hạn lúc {due:%H:%M %d/%m/%Y}."
        body_en = f"The corrective action \"{what}\" is due at {due:%Y-%m-%d %H:%M}."
    else:
        title_vi, title_en = "Hành động khắc phục quá hạn", "Corrective action overdue"
        body_vi = f"Hành động khắc phục \"{what}\" đã quá hạn ({due:%H:%M %d/%m/%Y}) mà chưa hoàn thành."
        body_en = f"The corrective action \"{what}\" was due at {due:%Y-%m-%d %H:%M} and is not done."
    return {"escalation_id": None, "recipient_id": user_id, "level": level, "kind": f"action.{level}",
            "title_vi": title_vi, "title_en": title_en, "body_vi": body_vi, "body_en": body_en,
            "dossier_id": None, "dossier_code": None, "task_id": None, "org_unit_id": action.org_unit_id,
            "actions": [f"corrective_action:{action.id}"], "created_at": now, "deliver_after": deliver_after}
