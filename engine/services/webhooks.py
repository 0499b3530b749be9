"""Webhooks for integrators (docs/api.md "Webhooks"): a commune's subscriptions, and the
outbox rows a dossier's change owes them, written in the transaction of the change.

Event types: `dossier.received`, `step.completed`, `status.changed`, `result.returned`.
A use case calls `emit` once, with the dossier as it stands and its status before the
change; the status change, the returned result and the applicant's notices
(`engine.services.notices`) are derived here, so each use case adds one line.

Each change has an `event_key` naming it (the dossier, the step or the transition, and
the instant); an outbox row is unique on (event_key, channel, address), so a change is
told once to each subscriber. The scheduler's sweep sends the rows, signed with the
subscription's secret (HMAC-SHA256, the escalation webhook's scheme), with retries."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from engine.audit import Actor
from engine.adapters.db.bulk import bulk_insert
from engine.adapters.db.models import OrgUnit, OutboxMessage, Procedure, ProcedureVersion, WebhookSubscription
from engine.adapters.db.revisions import WEBHOOKS
from engine.domain.calendar import VN_TZ
from engine.domain.lifecycle import Status
from engine.errors import InvalidInput, NotFound, Problem
from engine.permissions import load_principal, require
from engine.services import notices

DOSSIER_RECEIVED = "dossier.received"
STEP_COMPLETED = "step.completed"
STATUS_CHANGED = "status.changed"
RESULT_RETURNED = "result.returned"
EVENT_TYPES = (DOSSIER_RECEIVED, STEP_COMPLETED, STATUS_CHANGED, RESULT_RETURNED)
# What a use case tells `emit` beyond the event types: an ending or an apology letter
# (they change the status, or notify the applicant, but are no event type of their own).
DOSSIER_ENDED = "dossier.ended"
APOLOGY_ISSUED = "apology.issued"
MAX_SUBSCRIPTIONS_PER_UNIT = 20


@dataclass(frozen=True)
class Subscription:
    id: int
    unit_code: str
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime
    secret: str | None = None  # shown once, when created


def _utc(instant: datetime | None) -> str | None:
    return instant.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if instant is not None else None


# --- subscriptions --------------------------------------------------------------------


def _unit(uow, unit_code: str) -> OrgUnit:
    unit = uow.session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
    if unit is None:
        raise NotFound(f"org unit {unit_code} not found", f"không tìm thấy đơn vị {unit_code}", code="not_found")
    return unit


def _authorize(uow, unit_id: int, what: str) -> None:
    if uow.actor.user_id is not None:
        require(load_principal(uow, uow.actor.user_id, uow.now.astimezone(VN_TZ).date()), "integration.manage",
                unit_id, what=what)


def _view(row: WebhookSubscription, unit_code: str, secret: str | None = None) -> Subscription:
    return Subscription(row.id, unit_code, row.url, list(row.events), row.description, row.active, row.created_at,
                        secret)


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the webhook URL must be an http(s) URL with a host",
                           "địa chỉ webhook phải là URL http(s) có tên máy chủ", code="invalid_input",
                           problems=[Problem("bad_url", "URL không hợp lệ.", "Invalid URL.", field="url",
                                             hint="e.g. https://mot-cua.tinh.gov.vn/isoflow-events")])


def create_subscription(rt, actor: Actor, unit_code: str, url: str, events: list[str] | None = None,
                        description: str = "") -> Subscription:
    """Subscribe an endpoint to the commune's events (chair or province admin). The
    signing secret is generated here and shown once."""
    check_url(url)
    chosen = sorted(set(events or EVENT_TYPES))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(f"unknown event type(s) {unknown}", f"loại sự kiện không có: {unknown}",
                           code="invalid_input", problems=[Problem(
                               "unknown_event", f"Không có loại sự kiện {', '.join(unknown)}.",
                               f"Unknown event type(s): {', '.join(unknown)}.", field="events",
                               hint=f"choose among {', '.join(EVENT_TYPES)}")])
    with rt.unit_of_work(actor) as uow:
        unit = _unit(uow, unit_code)
        _authorize(uow, unit.id, f"org unit {unit_code}")
        count = len(uow.session.scalars(select(WebhookSubscription.id).where(
            WebhookSubscription.org_unit_id == unit.id, WebhookSubscription.deleted_at.is_(None))).all())
        if count >= MAX_SUBSCRIPTIONS_PER_UNIT:
            from engine.errors import Conflict
            raise Conflict(f"a commune has at most {MAX_SUBSCRIPTIONS_PER_UNIT} subscriptions",
                           f"mỗi xã có tối đa {MAX_SUBSCRIPTIONS_PER_UNIT} đăng ký webhook",
                           code="too_many_subscriptions", hint="delete one you no longer use")
        secret = secrets.token_urlsafe(32)
        row = WebhookSubscription(org_unit_id=unit.id, url=url, secret=secret, events=chosen,
                                  description=description, active=True, created_at=uow.now,
                                  created_by_id=actor.user_id)
        uow.session.add(row)
        uow.session.flush()
        uow.log("webhook.subscribed", "webhook_subscription", row.id, org_unit_id=unit.id,
                after={"url": url, "events": chosen, "description": description})
        uow.commit()
        return _view(row, unit.code, secret)


def list_subscriptions(rt, actor: Actor, unit_code: str) -> list[Subscription]:
    with rt.read(actor) as unit:
        org = _unit(unit, unit_code)
        _authorize(unit, org.id, f"org unit {unit_code}")
        rows = unit.session.scalars(select(WebhookSubscription).where(
            WebhookSubscription.org_unit_id == org.id, WebhookSubscription.deleted_at.is_(None))
            .order_by(WebhookSubscription.id)).all()
        return [_view(r, org.code) for r in rows]


def delete_subscription(rt, actor: Actor, subscription_id: int) -> None:
    """Stop a subscription; what it still owed is cancelled, what was sent stays recorded."""
    with rt.unit_of_work(actor) as uow:
        row = uow.session.get(WebhookSubscription, subscription_id)
        if row is None or row.deleted_at is not None:
            raise NotFound(f"webhook subscription {subscription_id} not found",
                           f"không tìm thấy đăng ký webhook {subscription_id}", code="not_found")
        _authorize(uow, row.org_unit_id, f"webhook subscription {subscription_id}")
        row.deleted_at, row.active = uow.now, False
        for message in uow.session.scalars(select(OutboxMessage).where(
                OutboxMessage.subscription_id == row.id, OutboxMessage.state == "pending")):
            message.state, message.last_error = "cancelled", "subscription deleted"
        uow.log("webhook.unsubscribed", "webhook_subscription", row.id, org_unit_id=row.org_unit_id,
                before={"url": row.url, "events": list(row.events)})
        uow.commit()


# --- emitting -------------------------------------------------------------------------


def _subscriptions(uow, org_unit_id: int) -> tuple[tuple[int, str, tuple[str, ...]], ...]:
    """The commune's active subscriptions (id, url, events), read once per change of
    them (the `webhooks` change token, migration 0018): most writes owe nobody."""
    def load():
        rows = uow.connection.execute(
            select(WebhookSubscription.id, WebhookSubscription.url, WebhookSubscription.events)
            .where(WebhookSubscription.org_unit_id == org_unit_id, WebhookSubscription.active.is_(True),
                   WebhookSubscription.deleted_at.is_(None)).order_by(WebhookSubscription.id)).all()
        return tuple((row.id, row.url, tuple(row.events or ())) for row in rows)
    return uow.runtime.reference.get(WEBHOOKS, ("subscriptions", org_unit_id), uow.setting_tokens, load)


def emit(uow, dossier: Any, event: str, *, before_status: int | None = None, task: Any = None,
         reason: str | None = None) -> None:
    """Write the outbox rows a dossier's change owes integrators and the applicant, in
    the caller's transaction. `dossier` is the aggregate after the change; `event` one
    of `EVENT_TYPES`, `DOSSIER_ENDED` or `APOLOGY_ISSUED`; `before_status` its national
    status before the change (None for a receipt)."""
    now, status = uow.now, dossier.status_code
    instant = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    happened: list[tuple[str, str, dict[str, Any]]] = []  # (type, key, extra)
    if event == DOSSIER_RECEIVED:
        happened.append((DOSSIER_RECEIVED, f"{dossier.id}:received", {}))
    if event == STEP_COMPLETED and task is not None:
        happened.append((STEP_COMPLETED, f"{dossier.id}:step:{task.id}:completed", {"step": {
            "id": task.id, "bpmn_id": task.bpmn_id, "name": task.name, "role": task.role, "outcome": task.outcome,
            "classification": task.classification, "completed_at": _utc(task.completed_at)}}))
    changed = before_status is not None and before_status != status
    if changed:
        happened.append((STATUS_CHANGED, f"{dossier.id}:status:{before_status}-{status}:{instant}",
                         {"from_status_code": before_status}))
    if changed and status == Status.RETURNED:
        happened.append((RESULT_RETURNED, f"{dossier.id}:returned", {}))
    conn = uow.connection
    rows: list[dict[str, Any]] = []
    notice = None
    if changed and status == Status.PROCESSED:
        notice = (notices.RESULT_READY, f"{dossier.id}:result_ready")
    elif changed and status == Status.SUPPLEMENTATION:
        notice = (notices.SUPPLEMENTATION_REQUESTED, f"{dossier.id}:supplementation:{instant}")
    elif event == APOLOGY_ISSUED:
        notice = (notices.APOLOGY_ISSUED, f"{dossier.id}:apology")
    subscriptions = []
    if happened:
        types = {t for t, _, _ in happened}
        subscriptions = [sub for sub in _subscriptions(uow, dossier.org_unit_id) if set(sub[2]) & types]
    if not subscriptions and notice is None:
        return  # the common case: one statement, nothing owed
    info = _dossier_info(conn, dossier)
    for event_type, key, extra in happened:
        payload = {"id": key, "type": event_type, "occurred_at": _utc(now), "dossier": info, **extra}
        for sub_id, url, events in subscriptions:
            if event_type in (events or ()):
                rows.append({"event_key": key, "event_type": event_type, "channel": "webhook",
                             "address": f"{sub_id}:{url}"[:500], "subscription_id": sub_id,
                             "dossier_id": dossier.id, "org_unit_id": dossier.org_unit_id, "payload": payload,
                             "state": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now})
    if notice is not None and ((dossier.applicant_email or "").strip() or (dossier.applicant_phone or "").strip()):
        values = {"code": dossier.code, "applicant": dossier.applicant_name, "procedure": info["procedure_name"],
                  "unit": info["unit_name"], "due_at": dossier.due_at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y"),
                  "reason": reason or ""}
        rows += notices.compose(uow.session, notice[0], dossier, values, notice[1], now)
    if rows:
        bulk_insert(conn, OutboxMessage.__table__, rows, conflict_on=("event_key", "channel", "address"))


def _dossier_info(conn, dossier: Any) -> dict[str, Any]:
    procedure = conn.execute(select(Procedure.code, Procedure.name).join(
        ProcedureVersion, ProcedureVersion.procedure_id == Procedure.id)
        .where(ProcedureVersion.id == dossier.procedure_version_id)).one()
    unit = dossier.org_unit
    status = Status(dossier.status_code)
    return {"code": dossier.code, "unit_code": unit.code, "unit_name": unit.name, "procedure_code": procedure.code,
            "procedure_name": procedure.name, "channel": dossier.channel, "status_code": int(status),
            "status_vi": status.vi, "status_en": status.en, "state": str(dossier.state),
            "received_at": _utc(dossier.received_at), "due_at": _utc(dossier.due_at), "result": dossier.result}
