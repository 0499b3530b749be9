"""Dossier use cases at the one-stop desk and in the back office (DOMAIN.md §3).

Each function is one transaction: it checks permissions with the one policy in
`engine.permissions`, runs the workflow, updates the projection, appends to the
event log and commits, or changes nothing at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from engine.audit import Actor
from engine.domain.calendar import VN_TZ, WorkingCalendar
from engine.adapters.db.dossier_store import DossierRecord, StepRecord, UnitRecord
from engine.adapters.db.models import Dossier, DossierSequence, User
from engine.errors import Conflict, InvalidInput, PermissionDenied, Problem
from engine.permissions import Principal, load_principal, may_perform_step, not_found, require
from engine.procedure.forms import validate_submission
from engine.security import hash_pin, new_pin
from engine.services.calendars import calendar_for
from engine.services.procedures import effective_version
from engine.services.uow import UnitOfWork
from engine.services.workflow import DossierWorkflow, dossier_limit, recompute_due

CHANNELS = {1: "in person", 2: "online", 3: "postal"}
SUPPLEMENT = "supplement"
MAX_SUPPLEMENTATION_REQUESTS = 1  # DOMAIN.md §3.4: at most one request per processing unit


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


class _Context:
    """What one use case needs about the actor and the dossier, loaded once."""

    def __init__(self, uow: UnitOfWork) -> None:
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

    def dossier(self, ref: int | str) -> Dossier:
        """A visible dossier with its steps and pauses, for reading."""
        query = select(Dossier).options(selectinload(Dossier.tasks), selectinload(Dossier.pauses))
        query = query.where(Dossier.code == ref) if isinstance(ref, str) else query.where(Dossier.id == ref)
        dossier = self.session.scalar(query)
        if dossier is None or not self.sees(dossier.org_unit_id):
            raise not_found(f"dossier {ref}")
        return dossier

    def locked_dossier(self, ref: int | str) -> DossierRecord:
        """A visible dossier's aggregate, its row locked first (see `DossierStore.lock`)."""
        dossier = self.uow.lock_dossier(code=ref) if isinstance(ref, str) else self.uow.lock_dossier(dossier_id=ref)
        if dossier is None or not self.sees(dossier.org_unit_id):
            raise not_found(f"dossier {ref}")
        return dossier

    def task_of_locked_dossier(self, task_id: int) -> tuple[StepRecord, DossierRecord]:
        """A visible task and its dossier, the dossier row locked first and its steps
        (this one included) read after the lock, so they are current."""
        dossier = self.uow.lock_dossier(task_id=task_id)
        task = dossier.task(task_id) if dossier is not None else None
        if task is None or not self.sees(task.org_unit_id):
            raise not_found(f"task {task_id}")
        return task, dossier

    def workflow(self, rt, dossier: DossierRecord) -> DossierWorkflow:
        model = rt.model_of_version(self.uow.connection, dossier.procedure_version_id)
        return DossierWorkflow.load(self.uow, dossier, model, self.calendar(dossier.org_unit))

    def calendar(self, unit: UnitRecord) -> WorkingCalendar:
        return calendar_for(self.uow, unit)


def _require_open(dossier: DossierRecord) -> None:
    if dossier.state != "open":
        raise Conflict(f"dossier {dossier.code} is closed ({dossier.result or dossier.status_code})",
                       f"hồ sơ {dossier.code} đã kết thúc", code="dossier_closed")


def _snapshot(dossier: DossierRecord) -> dict[str, Any]:
    return {"status_code": dossier.status_code, "state": dossier.state, "due_at": dossier.due_at,
            "result": dossier.result, "classification": dossier.classification}


# --- receipt ------------------------------------------------------------------------


def receive(rt, actor: Actor, *, unit_code: str, procedure_code: str, applicant: Applicant, channel: int = 1,
            data: dict[str, Any] | None = None) -> Receipt:
    """Register a complete dossier: code, appointment (due instant) and PIN; start its workflow."""
    problems = []
    if not applicant.name or not applicant.name.strip():
        problems.append(Problem("required", "Phải nhập họ tên người nộp hồ sơ.", "The applicant's name is required.",
                                field="applicant.name"))
    if channel not in CHANNELS:
        problems.append(Problem("bad_channel", "Kênh tiếp nhận phải là 1 (trực tiếp), 2 (trực tuyến) hoặc 3 (bưu chính).",
                                "channel must be 1 (in person), 2 (online) or 3 (postal).", field="channel"))
    if problems:
        raise InvalidInput("the dossier cannot be received as entered", "không thể tiếp nhận hồ sơ với thông tin đã nhập",
                           problems=problems)
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(uow)
        unit = ctx.uow.dossiers.unit(unit_code)
        if unit is None or not ctx.sees(unit.id):
            raise not_found(f"org unit {unit_code}")
        ctx.require("dossier.receive", unit.id, "org unit")
        version = effective_version(ctx.session, procedure_code, ctx.today)
        model = rt.model(version)
        calendar = ctx.calendar(unit)
        now = uow.now
        due = calendar.due(now, dossier_limit(model, unit))
        pin = new_pin()
        dossier = ctx.uow.dossiers.insert_dossier(dict(
            code=_next_code(ctx.session, unit, now), org_unit_id=unit.id, procedure_version_id=version.id,
            applicant_name=applicant.name.strip(), applicant_id_number=applicant.id_number,
            applicant_address=applicant.address, applicant_phone=applicant.phone, applicant_email=applicant.email,
            channel=channel, status_code=2, state="open", received_at=now, received_by_id=actor.user_id,
            due_at=due, original_due_at=due, pin_hash=hash_pin(pin), data=data or {}, supplement_count=0,
        ), unit)
        flow = DossierWorkflow.start(uow, dossier, model, calendar)
        opened = flow.sync(handed_over_by=actor.user_id)
        for task in opened:  # the clerk who received the dossier owns the desk's first step
            if ctx.principal is not None and may_perform_step(ctx.principal, task.role, unit.id):
                task.assignee_id = actor.user_id
        flow.save()
        uow.log("dossier.received", "dossier", dossier.id, org_unit_id=unit.id,
                after={"code": dossier.code, "procedure_code": procedure_code, "version_no": version.version_no,
                       "channel": channel, **_snapshot(dossier)})
        uow.commit()
        return Receipt(dossier.id, dossier.code, pin, now, dossier.due_at, procedure_code, version.version_no)


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


# --- steps --------------------------------------------------------------------------


def claim(rt, actor: Actor, task_id: int) -> None:
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(uow)
        task, dossier = ctx.task_of_locked_dossier(task_id)
        _check_step_role(ctx, task)
        if task.state != "open":
            raise Conflict(f"task {task_id} is {task.state}", f"công việc {task_id} đã {task.state}", code="task_closed")
        if task.assignee_id not in (None, actor.user_id):
            raise Conflict(f"task {task_id} is already claimed by another officer",
                           f"công việc {task_id} đã được người khác nhận", code="already_claimed",
                           hint="ask the chair to reassign it if needed")
        before = task.assignee_id
        task.assignee_id = actor.user_id
        uow.dossiers.save(dossier)
        uow.log("task.claimed", "task", task.id, org_unit_id=task.org_unit_id,
                before={"assignee_id": before}, after={"assignee_id": actor.user_id})
        uow.commit()


def unclaim(rt, actor: Actor, task_id: int) -> None:
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(uow)
        task, dossier = ctx.task_of_locked_dossier(task_id)
        if task.state != "open" or task.assignee_id != actor.user_id:
            raise Conflict(f"task {task_id} is not claimed by you", f"bạn chưa nhận công việc {task_id}",
                           code="not_claimed")
        task.assignee_id = None
        uow.dossiers.save(dossier)
        uow.log("task.unclaimed", "task", task.id, org_unit_id=task.org_unit_id,
                before={"assignee_id": actor.user_id}, after={"assignee_id": None})
        uow.commit()


def reassign(rt, actor: Actor, task_id: int, user_id: int, reason: str = "") -> None:
    """The chair (or vice chair) hands an open step to another holder of its role."""
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(uow)
        task, dossier = ctx.task_of_locked_dossier(task_id)
        ctx.require("task.reassign", task.org_unit_id, "task")
        if task.state != "open":
            raise Conflict(f"task {task_id} is {task.state}", f"công việc {task_id} đã {task.state}", code="task_closed")
        target = ctx.session.get(User, user_id)
        if target is None or not target.active:
            raise InvalidInput(f"user {user_id} does not exist or is deactivated",
                               f"người dùng {user_id} không tồn tại hoặc đã bị khóa", code="bad_assignee")
        target_principal = load_principal(ctx.uow, user_id, ctx.today)
        if not may_perform_step(target_principal, task.role, task.org_unit_id):
            raise InvalidInput(f"{target.username} does not hold the role {task.role} in this commune today",
                               f"{target.username} không giữ vai trò {task.role} tại xã này", code="bad_assignee",
                               hint="assign the role first, or pick another officer")
        before = task.assignee_id
        task.assignee_id = user_id
        uow.dossiers.save(dossier)
        uow.log("task.reassigned", "task", task.id, org_unit_id=task.org_unit_id,
                before={"assignee_id": before}, after={"assignee_id": user_id, "reason": reason})
        uow.commit()


def complete_task(rt, actor: Actor, task_id: int, data: dict[str, Any] | None = None, *,
                  pause_reason: str | None = None) -> StepOutcome:
    """Complete a human step with its form data; the workflow moves on.

    `pause_reason` is recorded on a pause this completion opens (what the citizen
    must bring), in the dossier's pause record and the log, not in the form data."""
    data = dict(data or {})
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(uow)
        task, dossier = ctx.task_of_locked_dossier(task_id)
        _check_step_role(ctx, task)
        if task.state != "open":
            raise Conflict(f"task {task_id} is already {task.state}", f"công việc {task_id} đã được xử lý",
                           code="task_closed")
        if task.assignee_id not in (None, actor.user_id) and actor.user_id is not None:
            raise Conflict(f"task {task_id} is claimed by another officer", f"công việc {task_id} do người khác xử lý",
                           code="claimed_by_other", hint="ask the chair to reassign it")
        _require_open(dossier)
        flow = ctx.workflow(rt, dossier)
        schema = flow.model.forms.get(task.form) if task.form else None
        if schema is not None:
            validate_submission(schema, data, form_id=task.form)
        if data.get("outcome") == SUPPLEMENT:
            if dossier.supplement_count >= MAX_SUPPLEMENTATION_REQUESTS:
                raise Conflict("supplementation was already requested once for this dossier; the law allows one request",
                               "hồ sơ đã được yêu cầu bổ sung một lần; pháp luật chỉ cho phép yêu cầu một lần",
                               code="supplementation_limit",
                               hint="decide on the dossier as it is, or refuse it with reasons")
            dossier.supplement_count += 1
        before = _snapshot(dossier)
        flow.run_step(task, data)
        task.state, task.completed_at, task.completed_by_id = "completed", uow.now, actor.user_id
        task.outcome, task.form_data = data.get("outcome"), data
        if task.due_at is not None:
            task.classification = flow.calendar.classify_finished(task.due_at, uow.now)
        flow.close_pause_of(task)
        opened = flow.sync(handed_over_by=actor.user_id, pause_reason=pause_reason)
        flow.save()
        uow.log("task.completed", "task", task.id, org_unit_id=task.org_unit_id,
                before={"task_state": "open", "dossier": before},
                after={"task_state": "completed", "bpmn_id": task.bpmn_id, "outcome": task.outcome,
                       "classification": task.classification, "opened": [t.bpmn_id for t in opened],
                       "pause_reason": pause_reason, "dossier": _snapshot(dossier)})
        uow.commit()
        return StepOutcome(dossier.id, dossier.code, dossier.status_code, [t.id for t in opened])


def request_supplementation(rt, actor: Actor, task_id: int, reason: str, data: dict[str, Any] | None = None) -> StepOutcome:
    """Form 02: the step asks the citizen for more papers; the clock pauses."""
    if not reason or not reason.strip():
        raise InvalidInput("say what the citizen must supplement", "phải ghi rõ nội dung cần bổ sung",
                           code="reason_required", problems=[Problem("required", "Phải ghi nội dung cần bổ sung.",
                                                                      "The reason is required.", field="reason")])
    return complete_task(rt, actor, task_id, {**(data or {}), "outcome": SUPPLEMENT}, pause_reason=reason.strip())


def supplement(rt, actor: Actor, dossier_ref: int | str, data: dict[str, Any] | None = None) -> StepOutcome:
    """The citizen brought the missing papers: complete the open citizen-waiting step."""
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(uow)
        dossier = ctx.locked_dossier(dossier_ref)
        ctx.require("dossier.supplement", dossier.org_unit_id, "dossier")
        waiting = [t for t in dossier.tasks if t.state == "open" and t.clock == "paused"]
        if not waiting:
            raise Conflict(f"dossier {dossier.code} is not waiting for the citizen",
                           f"hồ sơ {dossier.code} không ở trạng thái chờ công dân bổ sung", code="not_paused")
        task_id = waiting[0].id
    return complete_task(rt, actor, task_id, data)


def return_result(rt, actor: Actor, dossier_ref: int | str, data: dict[str, Any] | None = None) -> StepOutcome:
    """Hand the result to the citizen (status 10)."""
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(uow)
        dossier = ctx.locked_dossier(dossier_ref)
        ctx.require("dossier.return_result", dossier.org_unit_id, "dossier")
        _require_open(dossier)
        ready = [t for t in dossier.tasks if t.state == "open" and t.status_code == 9]
        if not ready and dossier.result == "refused":  # refused outside the model: hand over the letter
            before = _snapshot(dossier)
            dossier.status_code, dossier.state, dossier.returned_at = 10, "closed", uow.now
            uow.dossiers.save(dossier)
            uow.log("dossier.returned", "dossier", dossier.id, org_unit_id=dossier.org_unit_id,
                    before=before, after=_snapshot(dossier))
            uow.commit()
            return StepOutcome(dossier.id, dossier.code, dossier.status_code)
        if not ready:
            raise Conflict(f"dossier {dossier.code} has no result ready to return",
                           f"hồ sơ {dossier.code} chưa có kết quả để trả", code="no_result_ready")
        task_id = ready[0].id
    return complete_task(rt, actor, task_id, data)


def _end(rt, actor: Actor, dossier_ref, *, action: str, status_code: int, result: str, reason: str) -> StepOutcome:
    if not reason or not reason.strip():
        raise InvalidInput("a reason is required", "phải ghi rõ lý do", code="reason_required",
                           problems=[Problem("required", "Phải ghi lý do.", "The reason is required.", field="reason")])
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(uow)
        dossier = ctx.locked_dossier(dossier_ref)
        ctx.require(action, dossier.org_unit_id, "dossier")
        _require_open(dossier)
        if result == "refused" and dossier.finished_at is not None:
            raise Conflict(f"dossier {dossier.code} is already processed ({dossier.result}); it cannot be refused now",
                           f"hồ sơ {dossier.code} đã xử lý xong, không thể từ chối", code="already_processed")
        flow = ctx.workflow(rt, dossier)
        before = _snapshot(dossier)
        flow.cancel()
        for task in dossier.tasks:
            if task.state == "open":
                task.state = "cancelled"
                flow.close_pause_of(task)
        now = uow.now
        dossier.finished_at = dossier.finished_at or now
        dossier.status_code, dossier.result, dossier.end_reason = status_code, result, reason.strip()
        if result == "refused":  # a processed result: the refusal letter still has to reach the citizen
            dossier.classification = flow.calendar.classify_finished(dossier.due_at, now)
        else:
            dossier.state = "closed"
        flow.reschedule()
        flow.save()
        uow.log(f"dossier.{result}", "dossier", dossier.id, org_unit_id=dossier.org_unit_id,
                before=before, after={**_snapshot(dossier), "reason": reason.strip()})
        uow.commit()
        return StepOutcome(dossier.id, dossier.code, dossier.status_code)


def refuse(rt, actor: Actor, dossier_ref: int | str, reason: str) -> StepOutcome:
    """Form 03: the dossier is not eligible; processing ends with a written refusal."""
    return _end(rt, actor, dossier_ref, action="dossier.refuse", status_code=9, result="refused", reason=reason)


def withdraw(rt, actor: Actor, dossier_ref: int | str, reason: str) -> StepOutcome:
    return _end(rt, actor, dossier_ref, action="dossier.withdraw", status_code=7, result="withdrawn", reason=reason)


def stop(rt, actor: Actor, dossier_ref: int | str, reason: str) -> StepOutcome:
    return _end(rt, actor, dossier_ref, action="dossier.stop", status_code=8, result="stopped", reason=reason)


def issue_apology(rt, actor: Actor, dossier_ref: int | str, reason: str, new_due_at: datetime) -> StepOutcome:
    """Form 04: the unit apologises and gives a new appointment, once per dossier.

    The law wants it no later than 1 working day before the due instant; a later one
    is still recorded (the citizen must be told) and flagged as late in the log.
    """
    problems = []
    if not reason or not reason.strip():
        problems.append(Problem("required", "Phải ghi lý do chậm trễ.", "The reason for the delay is required.",
                                field="reason"))
    if new_due_at.tzinfo is None:
        problems.append(Problem("naive_instant", "Thời điểm hẹn mới phải có múi giờ.",
                                "new_due_at must carry a time zone offset.", field="new_due_at"))
    if problems:
        raise InvalidInput("the apology letter is incomplete", "thư xin lỗi chưa đủ thông tin", problems=problems)
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(uow)
        dossier = ctx.locked_dossier(dossier_ref)
        ctx.require("dossier.apology", dossier.org_unit_id, "dossier")
        _require_open(dossier)
        if dossier.finished_at is not None:
            raise Conflict(f"dossier {dossier.code} is already processed; no new appointment is needed",
                           f"hồ sơ {dossier.code} đã xử lý xong, không cần hẹn lại", code="already_processed")
        if dossier.apology_issued_at is not None:
            raise Conflict(f"dossier {dossier.code} already has a new appointment; the law allows it only once",
                           f"hồ sơ {dossier.code} đã được hẹn lại một lần; pháp luật chỉ cho phép hẹn lại một lần",
                           code="apology_limit")
        if new_due_at <= dossier.due_at:
            raise InvalidInput("the new appointment must be later than the current one",
                               "thời điểm hẹn mới phải sau thời điểm hẹn hiện tại", code="bad_new_due",
                               problems=[Problem("bad_new_due", "Hẹn mới phải sau hẹn cũ.",
                                                 "new_due_at must be after the current due instant.", field="new_due_at")])
        calendar = ctx.calendar(dossier.org_unit)
        in_time = calendar.working_time_between(uow.now, dossier.due_at) >= calendar.day_length
        before = _snapshot(dossier)
        dossier.apology_issued_at, dossier.apology_due_at = uow.now, new_due_at
        dossier.apology_reason = reason.strip()
        flow = ctx.workflow(rt, dossier)
        dossier.due_at = recompute_due(dossier, calendar, flow.model, uow.now)
        flow.reschedule()
        flow.save()
        uow.log("dossier.apology_issued", "dossier", dossier.id, org_unit_id=dossier.org_unit_id, before=before,
                after={**_snapshot(dossier), "reason": reason.strip(), "issued_in_time": in_time})
        uow.commit()
        return StepOutcome(dossier.id, dossier.code, dossier.status_code)


def _check_step_role(ctx: _Context, task: StepRecord) -> None:
    if ctx.principal is None:
        return
    if not may_perform_step(ctx.principal, task.role, task.org_unit_id):
        raise PermissionDenied(f"step '{task.name}' belongs to role {task.role}, which you do not hold here today",
                               f"bước '{task.name}' thuộc vai trò {task.role}, bạn không giữ vai trò này",
                               code="wrong_role", hint="ask the chair to reassign the step or to assign you the role")


def get_dossier(rt, actor: Actor, dossier_ref: int | str) -> Dossier:
    with rt.unit_of_work(actor) as uow:
        ctx = _Context(uow)
        dossier = ctx.dossier(dossier_ref)
        ctx.require("dossier.view", dossier.org_unit_id, "dossier")
        return dossier
