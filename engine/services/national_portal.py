"""Synchronisation with the National Public Service Portal and the province's one-stop
system (docs/integration.md), through any `engine.adapters.national_portal.NationalPortal`.

- `receive_online`: a dossier submitted online is received as channel 2, once per
  portal code (a second hand-over of the same code answers Conflict with the dossier's
  code, so a retried import never makes two dossiers).
- `publish_statuses`: every status a dossier took since the last call goes back to the
  portal, read from the hash-chained event log after a cursor the caller keeps (each
  record names its event, so a receiver drops a record it already has).
- `sync`: both, as one periodic job would run them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from engine.audit import Actor
from engine.adapters.db.models import Dossier, Event, OrgUnit, Procedure, ProcedureVersion, Task
from engine.adapters.db.name_search import name_keys_match, search_words
from engine.adapters.national_portal import CHANNEL_ONLINE, NationalPortal, OnlineSubmission, StatusRecord
from engine.domain.calendar import VN_TZ
from engine.domain.lifecycle import status_label
from engine.permissions import load_principal, not_found, require
from engine.domain.text import fold
from engine.errors import Conflict, IsoflowError
from engine.services import dossiers
from engine.services.dossiers import Applicant, Receipt

PORTAL_CODE = "portal_code"  # the key of dossier data that keeps the portal's code
STATUS_BATCH = 500
PORTAL_ACTOR = Actor.system("national-portal")


def _utc(instant: datetime | None) -> str | None:
    return instant.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if instant is not None else None


def existing_online(rt, actor: Actor, submission: OnlineSubmission) -> str | None:
    """The code of the dossier this submission already became, if any."""
    with rt.read(actor) as unit:
        session = unit.session
        unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == submission.unit_code))
        if unit_id is None:
            return None
        conditions = [Dossier.org_unit_id == unit_id, Dossier.channel == CHANNEL_ONLINE,
                      Dossier.applicant_name_folded == fold(submission.applicant_name)]
        words = search_words(submission.applicant_name)
        if words and session.get_bind().dialect.name == "postgresql":
            # the commune's name keys find the few candidates (engine.adapters.db.name_search)
            conditions.append(name_keys_match(words, [unit_id], endings=[words[-1]]))  # the name is whole
        rows = session.execute(select(Dossier.code, Dossier.data).where(*conditions)).all()
    return next((code for code, data in rows if (data or {}).get(PORTAL_CODE) == submission.portal_code), None)



def receive_online(rt, actor: Actor, submission: OnlineSubmission) -> Receipt:
    """Receive an online submission as channel 2 (the clerk's or the integration account's
    `dossier.receive` right in the commune)."""
    known = existing_online(rt, actor, submission)
    if known is not None:
        raise Conflict(f"portal dossier {submission.portal_code} was already received as {known}",
                       f"hồ sơ {submission.portal_code} trên Cổng đã được tiếp nhận với mã {known}",
                       code="already_received", hint="look the dossier up by its isoflow code",
                       details={"dossier_code": known})
    data = {**submission.data, PORTAL_CODE: submission.portal_code}
    if submission.submitted_at:
        data["portal_submitted_at"] = submission.submitted_at
    return dossiers.receive(rt, actor, unit_code=submission.unit_code, procedure_code=submission.procedure_code,
                            applicant=Applicant(submission.applicant_name, submission.applicant_id_number,
                                                submission.applicant_address, submission.applicant_phone,
                                                submission.applicant_email),
                            channel=CHANNEL_ONLINE, data=data)


def _status_of(snapshot: Any) -> int | None:
    if not isinstance(snapshot, dict):
        return None
    if isinstance(snapshot.get("dossier"), dict):
        return snapshot["dossier"].get("status_code")
    return snapshot.get("status_code")


def status_records(rt, actor: Actor, after_event_id: int, *, unit_code: str | None = None,
                   limit: int = STATUS_BATCH) -> tuple[list[StatusRecord], int]:
    """Status records of the events after `after_event_id` that changed (or first set) a
    dossier's national status (of one commune, `unit_code`), and the cursor to give next
    time. A user reads the communes where they may view dossiers; the system all."""
    with rt.read(actor) as unit:
        s = unit.session
        query = select(Event).where(Event.id > after_event_id, Event.entity_type.in_(("dossier", "task")))
        if unit_code is not None:
            unit_id = s.scalar(select(OrgUnit.id).where(OrgUnit.code == unit_code))
            if unit_id is None:
                raise not_found(f"org unit {unit_code}", f"đơn vị {unit_code}")
            if actor.user_id is not None:
                require(load_principal(unit, actor.user_id, unit.now.astimezone(VN_TZ).date()), "dossier.view",
                        unit_id, what=f"org unit {unit_code}")
            query = query.where(Event.org_unit_id == unit_id)
        elif actor.user_id is not None:
            raise Conflict("name the commune (unit_code)", "cần chọn đơn vị (unit_code)", code="unit_required")
        events = s.scalars(query.order_by(Event.id).limit(limit)).all()
        cursor = events[-1].id if events else after_event_id
        wanted = []
        for e in events:
            status = _status_of(e.after)
            if status is None or (e.kind != "dossier.received" and _status_of(e.before) == status):
                continue
            wanted.append((e, status))
        task_ids = {int(e.entity_id) for e, _ in wanted if e.entity_type == "task"}
        task_dossier = dict(s.execute(select(Task.id, Task.dossier_id).where(Task.id.in_(task_ids))).all()) \
            if task_ids else {}
        dossier_ids = {task_dossier[int(e.entity_id)] if e.entity_type == "task" else int(e.entity_id)
                       for e, _ in wanted}
        info = {row.id: row for row in s.execute(
            select(Dossier.id, Dossier.code, Dossier.data, Dossier.received_at, Dossier.due_at,
                   OrgUnit.code.label("unit_code"), Procedure.code.label("procedure_code"))
            .join(OrgUnit, Dossier.org_unit_id == OrgUnit.id)
            .join(ProcedureVersion, Dossier.procedure_version_id == ProcedureVersion.id)
            .join(Procedure, ProcedureVersion.procedure_id == Procedure.id)
            .where(Dossier.id.in_(dossier_ids or {-1})))}
        records = []
        for e, status in wanted:
            d = info[task_dossier[int(e.entity_id)] if e.entity_type == "task" else int(e.entity_id)]
            records.append(StatusRecord(
                portal_code=(d.data or {}).get(PORTAL_CODE), dossier_code=d.code, unit_code=d.unit_code,
                procedure_code=d.procedure_code, status_code=int(status), status_vi=status_label(int(status)),
                occurred_at=_utc(e.at), due_at=_utc(d.due_at), received_at=_utc(d.received_at),
                event_id=f"isoflow-event-{e.id}"))
        return records, cursor


def publish_statuses(rt, actor: Actor, portal: NationalPortal, after_event_id: int) -> tuple[int, int]:
    """Send every status record since the cursor; (records sent, new cursor). The caller
    stores the cursor after the call: a crash in between sends a record twice, never loses one."""
    sent, cursor = 0, after_event_id
    while True:
        records, next_cursor = status_records(rt, actor, cursor)
        for record in records:
            portal.publish_status(record)
            sent += 1
        if next_cursor == cursor:
            return sent, cursor
        cursor = next_cursor


@dataclass
class SyncReport:
    received: list[str] = field(default_factory=list)  # isoflow codes of new dossiers
    duplicates: list[str] = field(default_factory=list)  # portal codes already received
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (portal code, why)
    statuses_sent: int = 0
    cursor: int = 0


def sync(rt, actor: Actor, portal: NationalPortal, *, after_event_id: int) -> SyncReport:
    """Take in the online submissions as `actor` (an account holding the clerk's role in
    the communes it receives for), then send the statuses since `after_event_id`. A
    submission isoflow refuses (unknown commune or procedure, bad data) is acknowledged and
    reported, so one bad line never blocks the exchange."""
    report = SyncReport()
    for submission in portal.submissions():
        try:
            report.received.append(receive_online(rt, actor, submission).code)
        except Conflict as exc:
            if exc.code != "already_received":
                report.rejected.append((submission.portal_code, exc.message_en))
            else:
                report.duplicates.append(submission.portal_code)
        except IsoflowError as exc:
            report.rejected.append((submission.portal_code, exc.message_en))
        portal.acknowledge(submission)
    # the statuses of every commune go back: the exchange itself reads them, as the system
    report.statuses_sent, report.cursor = publish_statuses(rt, PORTAL_ACTOR, portal, after_event_id)
    return report
