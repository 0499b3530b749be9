"""Dossier use cases at the one-stop desk and in the back office (docs/domain.md §3).

Each function is one transaction: it checks permissions with the one policy in
`engine.permissions`, lets the dossier aggregate (`engine.domain.dossier`) apply its
rules, runs the workflow (`DossierFlow`), appends to the event log and commits, or
changes nothing at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from engine.adapters.db.dossier_store import DossierRecord, StepRecord, UnitRecord
from engine.adapters.db.models import Dossier, DossierSequence, User
from engine.audit import Actor
from engine.domain.calendar import VN_TZ, WorkingCalendar
from engine.domain.dossier import (Dossier as DossierRules, require_reason, require_supplementation_reason,
                                   supplementation_reason)
from engine.domain.lifecycle import Outcome, Result, StepState
from engine.domain.roles import role_label
from engine.errors import InvalidInput, NotFound, PermissionDenied, Problem
from engine.permissions import Principal, load_principal, may_perform_step, require
from engine.procedure.forms import REFUSAL_RETURN_FORM, refusal_return_form, validate_submission
from engine.security import hash_pin, new_pin
from engine.services.calendars import calendar_for
from engine.services.procedures import effective_version
from engine.unit_of_work import UnitOfWork
from engine.services import webhooks
from engine.services.workflow import DossierFlow

@dataclass(frozen=True)
class Applicant:
    name: str
    id_number: str = ""
    address: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Receipt:
    """What the desk prints on the receipt-and-appointment slip (form 01)."""

    dossier_id: int
    code: str
    pin: str  # shown once, on the slip; only its hash is stored
    received_at: datetime
    due_at: datetime
    procedure_code: str
    version_no: int


@dataclass(frozen=True)
class StepOutcome:
    dossier_id: int
    dossier_code: str
    status_code: int
    opened_task_ids: list[int] = field(default_factory=list)


# --- context ------------------------------------------------------------------------

# The form the desk fills when it hands over a refusal the chair made outside the
# model (the library's return-refusal form, bpmn/forms), unless the model has its own.


class _Context:
    """What one use case needs about the actor and the dossier, loaded once."""

    def __init__(self, rt, uow: UnitOfWork) -> None:
        self.rt = rt
        self.uow = uow
        self.today: date = uow.now.astimezone(VN_TZ).date()
        self._principal: Principal | None = None

    @property
    def session(self) -> Session:
        return self.uow.session

    @property
    def principal(self) -> Principal | None:
        """The actor's roles today, loaded on first use (after a dossier aggregate, whose
        read brought the change tokens along); None for system actors."""
        user_id = self.uow.actor.user_id
        if self._principal is None and user_id is not None:
            self._principal = load_principal(self.uow, user_id, self.today)
        return self._principal

    def require(self, action: str, org_unit_id: int, what: str) -> None:
        if self.principal is not None:  # system actors (scheduler, CLI seeding) act in-process only
            require(self.principal, action, org_unit_id, what=what)

    def sees(self, org_unit_id: int) -> bool:
        return self.principal is None or self.principal.sees(org_unit_id)

    def may_perform(self, step: StepRecord) -> bool:
        return self.principal is not None and may_perform_step(self.principal, step.role, step.org_unit_id)

    def require_step_role(self, step: StepRecord) -> None:
        if self.principal is not None and not self.may_perform(step):
            vi, en = role_label(step.role, "vi"), role_label(step.role, "en")
            raise PermissionDenied(f"step '{step.name}' belongs to the role {en}, which you do not hold here today",
                                   f"bước '{step.name}' thuộc vai trò {vi}, bạn không giữ vai trò này tại đây",
                                   code="wrong_role",
                                   hint="ask the chair to reassign the step or to assign you the role")

    def dossier(self, ref: int | str) -> Dossier:
        """A visible dossier with its steps and pauses, for reading."""
        query = select(Dossier).options(selectinload(Dossier.tasks), selectinload(Dossier.pauses))
        query = query.where(Dossier.code == ref) if isinstance(ref, str) else query.where(Dossier.id == ref)
        dossier = self.session.scalar(query)
        if dossier is None or not self.sees(dossier.org_unit_id):
            raise _missing("hồ sơ", "dossier", ref)
        return dossier

    def unit(self, code: str, action: str) -> UnitRecord:
        """A visible commune, once the actor may take `action` there."""
        unit = self.uow.dossiers.unit(code)
        if unit is None or not self.sees(unit.id):
            raise _missing("đơn vị", "org unit", code)
        self.require(action, unit.id, "org unit")
        return unit

    def locked_dossier(self, ref: int | str, action: str) -> DossierRecord:
        """A visible dossier's aggregate, its row locked first (see `DossierStore.lock`),
        once the actor may take `action` on it."""
        dossier = self.uow.lock_dossier(code=ref) if isinstance(ref, str) else self.uow.lock_dossier(dossier_id=ref)
        if dossier is None or not self.sees(dossier.org_unit_id):
            raise _missing("hồ sơ", "dossier", ref)
        self.require(action, dossier.org_unit_id, "dossier")
        return dossier

    def task_of_locked_dossier(self, task_id: int) -> tuple[StepRecord, DossierRecord]:
        """A visible task and its dossier, the dossier row locked first and its steps
        (this one included) read after the lock, so they are current."""
        dossier = self.uow.lock_dossier(task_id=task_id)
        task = dossier.task(task_id) if dossier is not None else None
        if task is None or not self.sees(task.org_unit_id):
            raise _missing("công việc", "task", task_id)
        return task, dossier  # type: ignore[return-value]

    def flow(self, dossier: DossierRecord) -> DossierFlow:
        model = self.rt.model_of_version(self.uow.connection, dossier.procedure_version_id)
        return DossierFlow(self.uow, dossier, model, self.calendar(dossier.org_unit))

    def calendar(self, unit: UnitRecord) -> WorkingCalendar:
        return calendar_for(self.uow, unit)


def _missing(what_vi: str, what_en: str, ref: object) -> NotFound:
    return NotFound(f"{what_en} {ref} not found", f"không tìm thấy {what_vi} {ref}", code="not_found")


def _outcome(dossier: DossierRecord, opened: list[StepRecord] = ()) -> StepOutcome:  # type: ignore[assignment]
    return StepOutcome(dossier.id, dossier.code, dossier.status_code, [t.id for t in opened])


# --- receipt ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedComponent:
    """One paper of the procedure's components the citizen handed in (form 01 lists them)."""

    name: str
    kind: str = "original"  # original | copy | certified_copy | presented (table_facts.COMPONENT_KINDS)
    count: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "count": self.count}


def receive(rt, actor: Actor, *, unit_code: str, procedure_code: str, applicant: Applicant, channel: int = 1,
            data: dict[str, Any] | None = None, components: list[ReceivedComponent] | None = None,
            first_step: dict[str, Any] | None = None) -> Receipt:
    """Register a complete dossier: code, appointment (due instant) and PIN; start its
    workflow; the clerk who received it owns the desk's first step.

    One entry: with `first_step` (the desk step's own fields, as typed at receipt) the
    desk's first step is completed in the same transaction with those fields plus what
    the receipt already says (applicant, channel, the papers received), so the clerk
    never types the applicant twice; a problem in them stores nothing. `components`:
    the papers received, kept on the dossier (`components_received`) for form 01."""
    DossierRules.check_receipt(applicant.name, channel)
    data = dict(data or {})
    if components:
        data["components_received"] = [
            {"name": name, "kind": kind, "count": count}
            for name, kind, count in DossierRules.check_components([(c.name, c.kind, c.count) for c in components])]
        data.setdefault("documents", [_paper_line(c) for c in data["components_received"]])
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(rt, uow)
        unit = ctx.unit(unit_code, "dossier.receive")
        version = effective_version(ctx.session, procedure_code, ctx.today, org_unit_id=unit.id)
        pin = new_pin()
        dossier = _new_dossier(ctx, unit, version.id, applicant, channel, hash_pin(pin), data)
        flow = DossierFlow(uow, dossier, rt.model(version), ctx.calendar(unit))
        dossier.receive(now=uow.now, calendar=flow.calendar, limit=flow.limit)
        uow.dossiers.insert(dossier)
        flow.start()
        mine = []
        for step in flow.project(handed_over_by=actor.user_id):
            if ctx.may_perform(step):
                step.assignee_id = actor.user_id
                mine.append(step)
        flow.save_and_log("dossier.received", "dossier", dossier.id, org_unit_id=unit.id,
                          after={"code": dossier.code, "procedure_code": procedure_code,
                                 "version_no": version.version_no, "channel": channel, **dossier.snapshot()})
        webhooks.emit(uow, dossier, webhooks.DOSSIER_RECEIVED)
        receipt = Receipt(dossier.id, dossier.code, pin, uow.now, dossier.due_at, procedure_code, version.version_no)
        if first_step is not None and not mine:  # nothing to fill: say so rather than drop what was typed
            raise InvalidInput(
                "first_step: the receipt opens no step of the desk that you may complete",
                "first_step: bước đầu tiên của thủ tục không phải bước của bộ phận một cửa mà bạn thực hiện được",
                code="no_desk_step", hint="leave first_step out and complete the first step as a task",
                problems=[Problem("no_desk_step", "Thủ tục này không có bước tiếp nhận để điền ngay khi nhận hồ sơ.",
                                  "This procedure has no desk step to fill at receipt.", field="first_step")])
        if first_step is not None:
            desk = mine[0]
            step_data = receipt_step_data(flow.model.forms.get(desk.form) if desk.form else None, applicant, channel,
                                          data.get("documents"), first_step)
            _complete(ctx, dossier, desk, step_data)  # validates, logs and commits
            return receipt
        uow.commit()
        return receipt


# Fields a desk step's form may share with the receipt, filled from what the clerk typed
# there: form property -> (applicant attribute | "channel" | "documents").
RECEIPT_FIELDS: dict[str, str] = {
    "applicant_name": "name", "requester_full_name": "name", "identity_number": "id_number",
    "id_number": "id_number", "applicant_id_number": "id_number", "phone": "phone", "applicant_phone": "phone",
    "address": "address", "applicant_address": "address", "email": "email", "applicant_email": "email",
    "channel": "channel", "documents": "documents",
}


def receipt_fields(schema: dict[str, Any] | None) -> set[str]:
    """The properties of a desk step's form the receipt itself fills (the page leaves them out)."""
    properties = (schema or {}).get("properties") or {}
    return {name for name in properties if name in RECEIPT_FIELDS and name != "requester_full_name"}


def desk_step_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The desk step's form as the clerk (or an integrator) fills it at receipt: without
    the properties the receipt itself fills (`receipt_fields`: applicant, channel, papers)."""
    if not schema:
        return None
    shared = receipt_fields(schema)
    properties = {k: v for k, v in (schema.get("properties") or {}).items() if k not in shared}
    return {**schema, "properties": properties, "required": [r for r in schema.get("required") or [] if r not in shared]}


def receipt_step_data(schema: dict[str, Any] | None, applicant: Applicant, channel: int,
                      documents: list[str] | None, typed: dict[str, Any]) -> dict[str, Any]:
    """The desk step's data: what the clerk typed for the step, plus the receipt's own
    facts for the properties the step's form shares with the receipt."""
    out = dict(typed)
    for name in receipt_fields(schema):
        source = RECEIPT_FIELDS[name]
        if source == "channel":
            out[name] = channel
        elif source == "documents":
            if documents:
                out[name] = list(documents)
        else:
            value = getattr(applicant, source)
            if value:
                out[name] = value
    return out


def _paper_line(component: dict[str, Any]) -> str:
    from engine.procedure.table_facts import COMPONENT_KINDS

    kind = COMPONENT_KINDS.get(component["kind"], (component["kind"],))[0]
    return f"{component['name']} ({kind}, {component['count']:02d} bản)"


def _new_dossier(ctx: _Context, unit: UnitRecord, version_id: int, applicant: Applicant, channel: int,
                 pin_hash: str, data: dict[str, Any]) -> DossierRecord:
    return DossierRecord(
        org_unit=unit, code=_next_code(ctx.session, unit, ctx.uow.now), org_unit_id=unit.id,
        procedure_version_id=version_id, applicant_name=applicant.name, applicant_id_number=applicant.id_number,
        applicant_address=applicant.address, applicant_phone=applicant.phone, applicant_email=applicant.email,
        channel=channel, received_by_id=ctx.uow.actor.user_id, pin_hash=pin_hash, data=data)


def _next_code(session: Session, unit: UnitRecord, now: datetime) -> str:
    """`<unit>-yymmdd-nnnn`, numbered per unit and local day, atomically."""
    day = now.astimezone(VN_TZ).date()
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(DossierSequence)
        .values(org_unit_id=unit.id, day=day, last_number=1)
        .on_conflict_do_update(index_elements=["org_unit_id", "day"],
                               set_={"last_number": DossierSequence.last_number + 1})
        .returning(DossierSequence.last_number)
    )
    number = session.execute(statement).scalar_one()
    return f"{unit.code}-{day:%y%m%d}-{number:04d}"


# --- who holds a step ---------------------------------------------------------------


def claim(rt, actor: Actor, task_id: int) -> None:
    """Take an open step; claiming a step one already holds changes and logs nothing."""
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(rt, uow)
        task, dossier = ctx.task_of_locked_dossier(task_id)
        ctx.require_step_role(task)
        before = task.assignee_id
        if not task.claim(actor.user_id):
            return
        uow.save_and_log(dossier, "task.claimed", "task", task.id, org_unit_id=task.org_unit_id,
                         before={"assignee_id": before}, after={"assignee_id": actor.user_id})
        uow.commit()


def unclaim(rt, actor: Actor, task_id: int) -> None:
    with rt.unit_of_work(actor) as uow:
        task, dossier = _Context(rt, uow).task_of_locked_dossier(task_id)
        task.unclaim(actor.user_id)
        uow.save_and_log(dossier, "task.unclaimed", "task", task.id, org_unit_id=task.org_unit_id,
                         before={"assignee_id": actor.user_id}, after={"assignee_id": None})
        uow.commit()


def reassign(rt, actor: Actor, task_id: int, user_id: int, reason: str = "") -> None:
    """The chair (or vice chair) hands an open step to another holder of its role."""
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(rt, uow)
        task, dossier = ctx.task_of_locked_dossier(task_id)
        ctx.require("task.reassign", task.org_unit_id, "task")
        task.require_open()
        _require_holder(ctx, task, user_id)
        before = task.reassign(user_id)
        uow.save_and_log(dossier, "task.reassigned", "task", task.id, org_unit_id=task.org_unit_id,
                         before={"assignee_id": before}, after={"assignee_id": user_id, "reason": reason})
        uow.commit()


def _require_holder(ctx: _Context, task: StepRecord, user_id: int) -> None:
    target = ctx.session.get(User, user_id)
    if target is None or not target.active:
        raise InvalidInput(f"user {user_id} does not exist or is deactivated",
                           f"người dùng {user_id} không tồn tại hoặc đã bị khóa", code="bad_assignee")
    if not may_perform_step(load_principal(ctx.uow, user_id, ctx.today),
                            task.role, task.org_unit_id):
        raise InvalidInput(f"{target.username} does not hold the role {role_label(task.role, 'en')} in this commune today",
                           f"{target.username} không giữ vai trò {role_label(task.role, 'vi')} tại xã này hôm nay",
                           code="bad_assignee", hint="assign the role first, or pick another officer")


# --- steps --------------------------------------------------------------------------


def complete_task(rt, actor: Actor, task_id: int, data: dict[str, Any] | None = None, *,
                  pause_reason: str | None = None) -> StepOutcome:
    """Complete a human step with its form data; the workflow moves on.

    `pause_reason` is recorded on a pause this completion opens (what the citizen
    must bring), in the dossier's pause record and the log, not in the form data."""
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(rt, uow)
        task, dossier = ctx.task_of_locked_dossier(task_id)
        return _complete(ctx, dossier, task, dict(data or {}), pause_reason=pause_reason)


def _complete(ctx: _Context, dossier: DossierRecord, task: StepRecord, data: dict[str, Any], *,
              pause_reason: str | None = None) -> StepOutcome:
    """The one path a step is completed on, inside the caller's unit of work: checks,
    form validation, the aggregate's rules and the workflow, the log, the commit."""
    uow = ctx.uow
    ctx.require_step_role(task)
    task.require_performer(uow.actor.user_id)
    dossier.require_open()
    flow = ctx.flow(dossier)
    schema = flow.model.forms.get(task.form) if task.form else None
    if schema is not None:
        validate_submission(schema, data, form_id=task.form)
    if data.get("outcome") == Outcome.SUPPLEMENT.value and not pause_reason:
        # form 02 and the dossier page show what the officer asked for, never the step's name
        pause_reason = supplementation_reason(data)
    before = dossier.snapshot()
    opened = flow.complete(task, data, user_id=uow.actor.user_id, pause_reason=pause_reason)
    flow.save_and_log("task.completed", "task", task.id, org_unit_id=task.org_unit_id,
                      before={"task_state": StepState.OPEN, "dossier": before},
                      after={"task_state": task.state, "bpmn_id": task.bpmn_id, "outcome": task.outcome,
                             "classification": task.classification, "opened": [t.bpmn_id for t in opened],
                             "pause_reason": pause_reason, "dossier": dossier.snapshot()})
    webhooks.emit(uow, dossier, webhooks.STEP_COMPLETED, before_status=before["status_code"], task=task,
                  reason=pause_reason)
    uow.commit()
    return _outcome(dossier, opened)


def request_supplementation(rt, actor: Actor, task_id: int, reason: str, data: dict[str, Any] | None = None) -> StepOutcome:
    """Form 02: the step asks the citizen for more papers; the clock pauses."""
    reason = require_supplementation_reason(reason)
    return complete_task(rt, actor, task_id, {**(data or {}), "outcome": Outcome.SUPPLEMENT.value},
                         pause_reason=reason)


def supplement(rt, actor: Actor, dossier_ref: int | str, data: dict[str, Any] | None = None) -> StepOutcome:
    """The citizen brought the missing papers: complete the open citizen-waiting step."""
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(rt, uow)
        dossier = ctx.locked_dossier(dossier_ref, "dossier.supplement")
        return _complete(ctx, dossier, dossier.waiting_step(), dict(data or {}))


def return_result(rt, actor: Actor, dossier_ref: int | str, data: dict[str, Any] | None = None) -> StepOutcome:
    """Hand the result to the citizen (status 10): the model's return step, or the
    letter of a refusal the chair made outside the model (its form is checked too)."""
    data = dict(data or {})
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(rt, uow)
        dossier = ctx.locked_dossier(dossier_ref, "dossier.return_result")
        dossier.require_open()
        step = dossier.result_step()
        if step is not None:
            return _complete(ctx, dossier, step, data)
        validate_submission(refusal_return_form(ctx.flow(dossier).model, rt.settings.bpmn_dir), data,
                            form_id=REFUSAL_RETURN_FORM)
        before = dossier.snapshot()
        dossier.hand_over_refusal(now=uow.now, data=data)
        uow.save_and_log(dossier, "dossier.returned", "dossier", dossier.id, org_unit_id=dossier.org_unit_id,
                         before=before, after={**dossier.snapshot(), "data": data})
        webhooks.emit(uow, dossier, webhooks.STATUS_CHANGED, before_status=before["status_code"])
        uow.commit()
        return _outcome(dossier)


# --- endings and the apology letter --------------------------------------------------


def _end(rt, actor: Actor, dossier_ref, *, action: str, result: Result, reason: str) -> StepOutcome:
    reason = require_reason(reason)
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(rt, uow)
        dossier = ctx.locked_dossier(dossier_ref, action)
        flow = ctx.flow(dossier)
        before = dossier.snapshot()
        dossier.end(result, reason, now=uow.now, calendar=flow.calendar)
        flow.cancel()
        flow.save_and_log(f"dossier.{result.value}", "dossier", dossier.id, org_unit_id=dossier.org_unit_id,
                          before=before, after={**dossier.snapshot(), "reason": reason})
        webhooks.emit(uow, dossier, webhooks.DOSSIER_ENDED, before_status=before["status_code"])
        uow.commit()
        return _outcome(dossier)


def refuse(rt, actor: Actor, dossier_ref: int | str, reason: str) -> StepOutcome:
    """Form 03: the dossier is not eligible; processing ends with a written refusal."""
    return _end(rt, actor, dossier_ref, action="dossier.refuse", result=Result.REFUSED, reason=reason)


def withdraw(rt, actor: Actor, dossier_ref: int | str, reason: str) -> StepOutcome:
    return _end(rt, actor, dossier_ref, action="dossier.withdraw", result=Result.WITHDRAWN, reason=reason)


def stop(rt, actor: Actor, dossier_ref: int | str, reason: str) -> StepOutcome:
    return _end(rt, actor, dossier_ref, action="dossier.stop", result=Result.STOPPED, reason=reason)


def issue_apology(rt, actor: Actor, dossier_ref: int | str, reason: str, new_due_at: datetime) -> StepOutcome:
    """Form 04: the unit apologises and gives a new appointment, once per dossier; it
    becomes the appointment processing is counted against (`Dossier.issue_apology`).

    The law wants it no later than 1 working day before the due instant; a later one
    is still recorded (the citizen must be told) and flagged as late in the log.
    """
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(rt, uow)
        dossier = ctx.locked_dossier(dossier_ref, "dossier.apology")
        flow = ctx.flow(dossier)
        before = dossier.snapshot()
        in_time = dossier.issue_apology(reason, new_due_at, now=uow.now, calendar=flow.calendar, limit=flow.limit)
        flow.save_and_log("dossier.apology_issued", "dossier", dossier.id, org_unit_id=dossier.org_unit_id,
                          before=before, after={**dossier.snapshot(), "reason": dossier.apology_reason,
                                                "issued_in_time": in_time})
        webhooks.emit(uow, dossier, webhooks.APOLOGY_ISSUED, before_status=before["status_code"],
                      reason=dossier.apology_reason)
        uow.commit()
        return _outcome(dossier)


@dataclass(frozen=True)
class ReissuedPin:
    dossier_code: str
    pin: str  # shown once, on the reprinted slip; only its hash is stored


def reissue_pin(rt, actor: Actor, dossier_ref: int | str, reason: str) -> ReissuedPin:
    """The desk gives the citizen a new lookup PIN (`Dossier.reissue_pin`); the old one
    stops working. The log keeps who, when and why, never the PIN."""
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(rt, uow)
        dossier = ctx.locked_dossier(dossier_ref, "dossier.reissue_pin")
        pin = new_pin()
        reason = dossier.reissue_pin(reason, hash_pin(pin))
        uow.save_and_log(dossier, "dossier.pin_reissued", "dossier", dossier.id, org_unit_id=dossier.org_unit_id,
                         after={"reason": reason})
        uow.commit()
        return ReissuedPin(dossier.code, pin)


def get_dossier(rt, actor: Actor, dossier_ref: int | str) -> Dossier:
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(rt, uow)
        dossier = ctx.dossier(dossier_ref)
        ctx.require("dossier.view", dossier.org_unit_id, "dossier")
        return dossier
