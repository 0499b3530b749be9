"""The dossier aggregate and every rule of its lifecycle (docs/domain.md §3-§4).

A dossier, its steps (the projection of the workflow's human tasks) and its pauses,
as plain objects. The rules take the commune's `WorkingCalendar`, the statutory
limit and the instant as arguments, so each one is tested without a database or a
workflow engine: which step may be claimed or completed, the one supplementation
request, the national status derived from the open steps, when processing counts
as finished and how it is classified, the endings (refuse, withdraw, stop), the
apology letter's new appointment, the result's return, and which actions a screen
may offer (`allowed_actions`).

The store (`engine.adapters.db.dossier_store`) subclasses these classes to remember
what was loaded and write only what changed; the workflow adapter
(`engine.adapters.spiff`) reports which steps the engine opened or removed, and
`apply_workflow` projects that here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Iterable, Protocol

from engine.domain.calendar import VN_TZ, Pause as PauseInterval, TimeLimit, WorkingCalendar
from engine.domain.lifecycle import (
    CHANNEL_LABELS,
    PAUSE_KIND_BY_STATUS,
    Channel,
    DossierState,
    Outcome,
    PauseKind,
    Result,
    Status,
    StepClock,
    StepState,
)
from engine.errors import Conflict, InvalidInput, Problem

MAX_SUPPLEMENTATION_REQUESTS = 1  # docs/domain.md §3.4: at most one request per processing unit
# The form fields a deciding step's refusal reason is written in (library forms use
# `refusal_reason`; the desk's return-refusal form and simpler forms use `reason`).
REFUSAL_REASON_FIELDS = ("refusal_reason", "reason")
# Where a step's form says what the citizen must bring (form 02), first found wins.
SUPPLEMENT_REASON_FIELDS = ("supplement_request", "supplement_reason", "missing_documents", "reason")
# Dossier actions a screen may offer, each named by its policy action.
DOSSIER_ACTIONS = ("dossier.supplement", "dossier.return_result", "dossier.withdraw", "dossier.refuse",
                   "dossier.stop", "dossier.apology")
_ONE_US = timedelta(microseconds=1)


class StepDefinition(Protocol):
    """What the aggregate reads of a model's human step (`ProcedureModel.steps[bpmn_id]`)."""

    bpmn_id: str
    name: str
    role: str
    duration: timedelta
    form: str | None
    status: int
    clock: str


@dataclass(frozen=True)
class OpenedStep:
    """A human task the workflow engine made ready: its id in the engine and its definition."""

    workflow_task_id: str
    definition: StepDefinition


def _local(t: datetime) -> str:
    return f"{t.astimezone(VN_TZ):%H:%M %d/%m/%Y}"


def _reason(reason: str | None, field: str = "reason") -> str:
    if not reason or not reason.strip():
        raise InvalidInput("a reason is required", "phải ghi rõ lý do", code="reason_required",
                           problems=[Problem("required", "Phải ghi lý do.", "The reason is required.", field=field)])
    return reason.strip()


class _Plain:
    """Fields as slots, every one None unless given."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def _set_fields(self, values: dict[str, Any]) -> None:
        for name in self.FIELDS:
            setattr(self, name, values.pop(name, None))
        if values:
            raise TypeError(f"{type(self).__name__} has no field(s) {', '.join(values)}")


class Step(_Plain):
    """One human step of the dossier (a row of the `tasks` projection)."""

    FIELDS = ("id", "dossier_id", "workflow_task_id", "bpmn_id", "name", "role", "org_unit_id", "assignee_id",
              "state", "clock", "status_code", "form", "duration_seconds", "created_at", "due_at",
              "handed_over_by_id", "completed_at", "completed_by_id", "outcome", "form_data", "classification",
              "next_escalation_at", "escalation_level")
    __slots__ = FIELDS

    def __init__(self, **values: Any) -> None:
        self._set_fields(values)

    @property
    def is_open(self) -> bool:
        return self.state == StepState.OPEN

    @property
    def waits_on_citizen(self) -> bool:
        return self.clock == StepClock.PAUSED

    def _describe(self) -> tuple[str, str]:
        return f"bước '{self.name}' (công việc {self.id})", f"step '{self.name}' (task {self.id})"

    def require_open(self) -> None:
        if not self.is_open:
            state = StepState(self.state)
            vi, en = self._describe()
            raise Conflict(f"{en} is already {state.en}", f"{vi} {state.vi}", code="task_closed")

    # --- who holds it ---------------------------------------------------------------

    def claim(self, user_id: int) -> bool:
        """Take the step; False (nothing changes) when the user already holds it."""
        self.require_open()
        if self.assignee_id == user_id:
            return False
        if self.assignee_id is not None:
            vi, en = self._describe()
            raise Conflict(f"{en} is already claimed by another officer", f"{vi} đã được người khác nhận",
                           code="already_claimed", hint="ask the chair to reassign it if needed")
        self.assignee_id = user_id
        return True

    def unclaim(self, user_id: int) -> None:
        if not self.is_open or self.assignee_id != user_id:
            vi, en = self._describe()
            raise Conflict(f"{en} is not claimed by you", f"bạn chưa nhận {vi}", code="not_claimed")
        self.assignee_id = None

    def reassign(self, user_id: int) -> int | None:
        """Hand the open step to another holder of its role; returns the previous assignee."""
        self.require_open()
        before, self.assignee_id = self.assignee_id, user_id
        return before

    def require_performer(self, user_id: int | None) -> None:
        """The step is open and not held by someone else (system actors act for anyone)."""
        self.require_open()
        if user_id is not None and self.assignee_id not in (None, user_id):
            vi, en = self._describe()
            raise Conflict(f"{en} is claimed by another officer", f"{vi} do người khác xử lý",
                           code="claimed_by_other", hint="ask the chair to reassign it")


class Pause(_Plain):
    """A pause of the dossier's clock; `step` is the citizen-waiting step that opened it."""

    FIELDS = ("id", "dossier_id", "kind", "started_at", "ended_at", "task_id", "reason")
    __slots__ = FIELDS + ("step",)

    def __init__(self, *, step: Step | None = None, **values: Any) -> None:
        self._set_fields(values)
        self.step = step


class Dossier(_Plain):
    """The dossier with its steps and pauses; every lifecycle rule is a method here."""

    FIELDS = ("id", "code", "org_unit_id", "procedure_version_id", "applicant_name", "applicant_id_number",
              "applicant_address", "applicant_phone", "applicant_email", "channel", "status_code", "state",
              "received_at", "received_by_id", "due_at", "original_due_at", "finished_at", "returned_at",
              "classification", "result", "pin_hash", "supplement_count", "apology_issued_at", "apology_due_at",
              "apology_reason", "end_reason", "data", "next_escalation_at", "escalation_level")
    __slots__ = FIELDS + ("tasks", "pauses", "org_unit")
    # The classes new steps and pauses are made of (the store's records subclass these).
    STEP_TYPE: ClassVar[type[Step]] = Step
    PAUSE_TYPE: ClassVar[type[Pause]] = Pause

    def __init__(self, *, org_unit: Any = None, **values: Any) -> None:
        self._set_fields(values)
        self.tasks: list[Step] = []
        self.pauses: list[Pause] = []
        self.org_unit = org_unit

    @classmethod
    def from_attributes(cls, source: Any) -> "Dossier":
        """The aggregate copied from any object with the same attributes and `tasks`
        and `pauses` (a read model), to ask its rules without a unit of work."""
        dossier = cls(**{name: getattr(source, name) for name in cls.FIELDS})
        steps = {}
        for row in source.tasks:
            steps[row.id] = step = cls.STEP_TYPE(**{name: getattr(row, name) for name in Step.FIELDS})
            dossier.tasks.append(step)
        for row in source.pauses:
            dossier.pauses.append(cls.PAUSE_TYPE(step=steps.get(row.task_id),
                                                 **{name: getattr(row, name) for name in Pause.FIELDS}))
        return dossier

    # --- receipt --------------------------------------------------------------------

    @staticmethod
    def check_receipt(applicant_name: str | None, channel: int) -> None:
        """What the desk must enter: the applicant's name and a known channel."""
        problems = []
        if not applicant_name or not applicant_name.strip():
            problems.append(Problem("required", "Phải nhập họ tên người nộp hồ sơ.",
                                    "The applicant's name is required.", field="applicant.name"))
        if channel not in set(Channel):
            vi = ", ".join(f"{c.value} ({CHANNEL_LABELS[c][0]})" for c in Channel)
            en = ", ".join(f"{c.value} ({CHANNEL_LABELS[c][1]})" for c in Channel)
            problems.append(Problem("bad_channel", f"Kênh tiếp nhận phải là {vi}.", f"channel must be {en}.",
                                    field="channel"))
        if problems:
            raise InvalidInput("the dossier cannot be received as entered",
                               "không thể tiếp nhận hồ sơ với thông tin đã nhập", problems=problems)

    @staticmethod
    def check_components(papers: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
        """The papers received at the desk (name, kind, number of copies), as form 01 lists
        them: a name, a kind, and between 1 and 99 copies each."""
        problems = []
        checked = []
        for index, (name, kind, count) in enumerate(papers, start=1):
            name = (name or "").strip()
            if not name or len(name) > 500:
                problems.append(Problem("bad_component", f"Giấy tờ thứ {index}: phải có tên (tối đa 500 ký tự).",
                                        f"Paper {index}: needs a name (at most 500 characters).",
                                        field=f"components.{index}"))
            if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 99:
                problems.append(Problem("bad_component_count",
                                        f"Giấy tờ '{name or index}': số bản phải từ 1 đến 99.",
                                        f"Paper '{name or index}': the number of copies must be 1 to 99.",
                                        field=f"components.{index}"))
            checked.append((name, (kind or "original").strip(), count))
        if problems:
            raise InvalidInput("the papers received are not listed correctly",
                               "danh sách giấy tờ đã nhận chưa đúng", code="bad_components", problems=problems,
                               hint="tick each paper received and give its number of copies")
        return checked

    def receive(self, *, now: datetime, calendar: WorkingCalendar, limit: TimeLimit) -> None:
        """A complete dossier at the desk: received now, due when the limit is used up."""
        self.check_receipt(self.applicant_name, self.channel)
        self.applicant_name = self.applicant_name.strip()
        self.status_code, self.state = Status.RECEIVED, DossierState.OPEN
        self.received_at = now
        self.due_at = self.original_due_at = calendar.due(now, limit)
        self.supplement_count = 0

    # --- reading --------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.state == DossierState.OPEN

    def task(self, task_id: int) -> Step | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def open_steps(self) -> list[Step]:
        return [t for t in self.tasks if t.state == StepState.OPEN]

    def is_paused(self) -> bool:
        return any(p.ended_at is None for p in self.pauses)

    def require_open(self) -> None:
        if not self.is_open:
            if self.result:
                why_vi, why_en = Result(self.result).vi, Result(self.result).en
            else:
                why_vi, why_en = Status(self.status_code).vi, Status(self.status_code).en
            raise Conflict(f"dossier {self.code} is closed ({why_en})", f"hồ sơ {self.code} đã kết thúc ({why_vi})",
                           code="dossier_closed")

    def snapshot(self) -> dict[str, Any]:
        """What the event log records before and after a change."""
        return {"status_code": self.status_code, "state": self.state, "due_at": self.due_at,
                "result": self.result, "classification": self.classification}

    # --- steps ----------------------------------------------------------------------

    def complete_step(self, step: Step, *, user_id: int | None, data: dict[str, Any], now: datetime,
                      calendar: WorkingCalendar) -> None:
        """Record a human step as done with its (validated) form data. A request for
        supplementation is allowed once per dossier. The step is classified against its
        own due instant, and the pause it held (citizen-waiting step) ends."""
        step.require_performer(user_id)
        self.require_open()
        if data.get("outcome") == Outcome.SUPPLEMENT:
            if self.supplement_count >= MAX_SUPPLEMENTATION_REQUESTS:
                raise Conflict(
                    "supplementation was already requested once for this dossier; the law allows one request",
                    "hồ sơ đã được yêu cầu bổ sung một lần; pháp luật chỉ cho phép yêu cầu một lần",
                    code="supplementation_limit", hint="decide on the dossier as it is, or refuse it with reasons")
            self.supplement_count += 1
        step.state, step.completed_at, step.completed_by_id = StepState.COMPLETED, now, user_id
        step.outcome, step.form_data = data.get("outcome"), data
        if step.due_at is not None:
            step.classification = calendar.classify_finished(step.due_at, now)
        if self.result == Result.REFUSED and not self.end_reason:
            # the desk hands over the refusal letter: its reason completes the record
            self.end_reason = _refusal_reason(data)
        self.close_pause_of(step, now=now, calendar=calendar)

    def waiting_step(self) -> Step:
        """The open step that waits on the citizen (supplementation)."""
        waiting = [t for t in self.open_steps() if t.waits_on_citizen]
        if not waiting:
            raise Conflict(f"dossier {self.code} is not waiting for the citizen",
                           f"hồ sơ {self.code} không ở trạng thái chờ công dân bổ sung", code="not_paused")
        return waiting[0]

    def result_step(self) -> Step | None:
        """The open step that hands the result over (status 9); None when the chair
        refused outside the model and only the refusal letter is left to hand over."""
        ready = [t for t in self.open_steps() if t.status_code == Status.PROCESSED]
        if ready:
            return ready[0]
        if self.result == Result.REFUSED:
            return None
        raise Conflict(f"dossier {self.code} has no result ready to return",
                       f"hồ sơ {self.code} chưa có kết quả để trả", code="no_result_ready")

    def hand_over_refusal(self, *, now: datetime, data: dict[str, Any]) -> None:
        """The desk hands the chair's refusal letter (form 03) to the citizen."""
        self.require_open()
        if self.result != Result.REFUSED or any(t.status_code == Status.PROCESSED for t in self.open_steps()):
            raise Conflict(f"dossier {self.code} has no refusal letter to hand over",
                           f"hồ sơ {self.code} không có văn bản từ chối để trả", code="no_result_ready")
        self.status_code, self.state, self.returned_at = Status.RETURNED, DossierState.CLOSED, now
        self.end_reason = self.end_reason or _refusal_reason(data)

    def close_pause_of(self, step: Step, *, now: datetime, calendar: WorkingCalendar) -> None:
        """End the pause a citizen-waiting step opened; running steps' due instants
        move by the paused working time, as the dossier's does."""
        for pause in self.pauses:
            if pause.step is step and pause.ended_at is None:
                pause.ended_at = now
                paused = calendar.working_time_between(pause.started_at, pause.ended_at)
                if paused > timedelta(0):  # open running steps wait as long as the dossier did
                    for other in self.tasks:
                        if (other.state == StepState.OPEN and other.due_at is not None
                                and other.created_at <= pause.started_at):
                            other.due_at = calendar.add_working_time(other.due_at, paused)

    # --- projection of the workflow -------------------------------------------------

    def apply_workflow(self, *, opened: Iterable[OpenedStep], vanished: Iterable[str], workflow_finished: bool,
                       now: datetime, calendar: WorkingCalendar, limit: TimeLimit, handed_over_by: int | None,
                       pause_reason: str | None = None) -> list[Step]:
        """Project what the engine did: steps it removed are cancelled (their pauses
        end), steps it made ready are opened with their due instants (a citizen-waiting
        step opens a pause instead), then status, due instant and ending follow.
        Returns the new steps (their ids are set when stored)."""
        gone = set(vanished)
        for step in self.tasks:
            if step.state == StepState.OPEN and step.workflow_task_id in gone:
                step.state = StepState.CANCELLED
                self.close_pause_of(step, now=now, calendar=calendar)
        created: list[Step] = []
        for item in opened:
            definition = item.definition
            paused = definition.clock == StepClock.PAUSED
            step = self.STEP_TYPE(
                dossier_id=self.id, workflow_task_id=item.workflow_task_id, bpmn_id=definition.bpmn_id,
                name=definition.name, role=definition.role, org_unit_id=self.org_unit_id, state=StepState.OPEN,
                clock=definition.clock, status_code=definition.status, form=definition.form,
                duration_seconds=int(definition.duration.total_seconds()), created_at=now,
                handed_over_by_id=handed_over_by,
                due_at=None if paused else calendar.add_working_time(now, definition.duration),
            )
            self.tasks.append(step)
            created.append(step)
            if paused:
                self.pauses.append(self.PAUSE_TYPE(
                    dossier_id=self.id, kind=PAUSE_KIND_BY_STATUS.get(definition.status, PauseKind.SUPPLEMENTATION),
                    started_at=now, reason=pause_reason or definition.name, step=step))
        self.update_status(workflow_finished=workflow_finished, now=now, calendar=calendar, limit=limit)
        return created

    def update_status(self, *, workflow_finished: bool, now: datetime, calendar: WorkingCalendar,
                      limit: TimeLimit) -> None:
        """The national status derived from the open steps: 2 until the desk's first
        step is done, 4 while processing, the lowest paused status (5, 6) while a
        citizen-waiting step is open, 9 when only the return step is left (processing
        finished), 10 and closed when the workflow has ended."""
        if not self.is_open:
            return
        self.due_at = self.recompute_due(calendar, limit)
        open_steps = self.open_steps()
        if workflow_finished and not open_steps:
            if self.finished_at is None:
                self._finish(now, calendar)
            self.status_code, self.returned_at, self.state = Status.RETURNED, now, DossierState.CLOSED
            return
        statuses = {t.status_code for t in open_steps}
        paused = sorted(s for s in statuses if s not in (Status.PROCESSING, Status.PROCESSED))
        if paused:
            self.status_code = Status(paused[0])
        elif statuses == {Status.PROCESSED}:
            if self.finished_at is None:
                self._finish(now, calendar)
            self.status_code = Status.PROCESSED
        elif any(t.state == StepState.COMPLETED for t in self.tasks):
            self.status_code = Status.PROCESSING
        else:
            self.status_code = Status.RECEIVED

    def _finish(self, now: datetime, calendar: WorkingCalendar) -> None:
        """Processing is done: classified against the current appointment (the apology
        letter's, if one was issued); the last decision says granted or refused."""
        self.finished_at = now
        self.classification = calendar.classify_finished(self.due_at, now)
        decided = sorted((t for t in self.tasks if t.state == StepState.COMPLETED
                          and t.outcome in (Outcome.APPROVE, Outcome.REFUSE)), key=lambda t: (t.completed_at, t.id))
        refused = bool(decided) and decided[-1].outcome == Outcome.REFUSE
        self.result = Result.REFUSED if refused else Result.GRANTED
        if refused and not self.end_reason:
            self.end_reason = _refusal_reason(decided[-1].form_data or {})

    def recompute_due(self, calendar: WorkingCalendar, limit: TimeLimit) -> datetime:
        """The appointment: the statutory limit from receipt, or the apology letter's new
        appointment as given, moved by every closed pause (after the letter, by the
        pauses' working time after it). An open pause moves it when it ends."""
        # A pause closed at the instant it opened (the citizen was still at the desk) moved nothing.
        closed = [PauseInterval(p.started_at, p.ended_at) for p in self.pauses
                  if p.ended_at is not None and p.ended_at > p.started_at]
        if self.apology_due_at is None or self.apology_issued_at is None:
            return calendar.due(self.received_at, limit, closed)
        due = self.apology_due_at
        for pause in sorted(closed, key=lambda p: p.start):
            begin = max(pause.start, self.apology_issued_at)
            if begin >= pause.end:
                continue
            if begin >= due:
                break
            paused = calendar.working_time_between(begin, pause.end)
            if paused > timedelta(0):
                due = calendar.add_working_time(due, paused)
        return due

    # --- endings --------------------------------------------------------------------

    def end(self, result: Result, reason: str, *, now: datetime, calendar: WorkingCalendar) -> None:
        """Refuse (form 03), withdraw or stop: open steps are cancelled and their pauses
        end. A refusal is a processed result (status 9) whose letter the desk still
        hands over; withdrawn (7) and stopped (8) close the dossier."""
        reason = _reason(reason)
        self.require_open()
        if result == Result.REFUSED and self.finished_at is not None:
            raise Conflict(
                f"dossier {self.code} is already processed ({Result(self.result).en}); it cannot be refused now",
                f"hồ sơ {self.code} đã xử lý xong ({Result(self.result).vi}), không thể từ chối",
                code="already_processed")
        for step in self.tasks:
            if step.state == StepState.OPEN:
                step.state = StepState.CANCELLED
                self.close_pause_of(step, now=now, calendar=calendar)
        self.finished_at = self.finished_at or now
        self.status_code = _ENDING_STATUS[result]
        self.result, self.end_reason = result, reason
        if result == Result.REFUSED:
            self.classification = calendar.classify_finished(self.due_at, now)
        else:
            self.state = DossierState.CLOSED

    # --- the citizen's PIN ------------------------------------------------------------

    def reissue_pin(self, reason: str | None, new_pin_hash: str) -> str:
        """A new lookup PIN replaces the old one (lost slip, PIN seen by someone else):
        the old one stops working at once. The reason is required, for the log; a
        dossier already handed back has nothing left to look up."""
        reason = require_reason(reason)
        if self.returned_at is not None:
            raise Conflict(f"dossier {self.code} was handed back already; its PIN is no longer needed",
                           f"hồ sơ {self.code} đã trả kết quả; không cần cấp lại mã PIN", code="dossier_returned")
        self.pin_hash = new_pin_hash
        return reason

    # --- the apology letter ---------------------------------------------------------

    def issue_apology(self, reason: str, new_due_at: datetime, *, now: datetime, calendar: WorkingCalendar,
                      limit: TimeLimit) -> bool:
        """Form 04: one new appointment per dossier, before processing is finished. It
        must be a working instant later than the current appointment; it is stored as
        given and becomes the appointment (later pauses still move it). Returns whether
        the letter came in time (at least one working day before the appointment)."""
        problems = []
        if not reason or not reason.strip():
            problems.append(Problem("required", "Phải ghi lý do chậm trễ.", "The reason for the delay is required.",
                                    field="reason"))
        if new_due_at.tzinfo is None or new_due_at.utcoffset() is None:
            problems.append(Problem("naive_instant", "Thời điểm hẹn mới phải có múi giờ.",
                                    "new_due_at must carry a time zone offset.", field="new_due_at"))
        if problems:
            raise InvalidInput("the apology letter is incomplete", "thư xin lỗi chưa đủ thông tin", problems=problems)
        self.require_open()
        if self.finished_at is not None:
            raise Conflict(f"dossier {self.code} is already processed; no new appointment is needed",
                           f"hồ sơ {self.code} đã xử lý xong, không cần hẹn lại", code="already_processed")
        if self.apology_issued_at is not None:
            raise Conflict(f"dossier {self.code} already has a new appointment; the law allows it only once",
                           f"hồ sơ {self.code} đã được hẹn lại một lần; pháp luật chỉ cho phép hẹn lại một lần",
                           code="apology_limit")
        if new_due_at <= self.due_at:
            raise InvalidInput("the new appointment must be later than the current one",
                               "thời điểm hẹn mới phải sau thời điểm hẹn hiện tại", code="bad_new_due",
                               problems=[Problem("bad_new_due", "Hẹn mới phải sau hẹn cũ.",
                                                 "new_due_at must be after the current due instant.",
                                                 field="new_due_at")])
        if not is_working_instant(calendar, new_due_at):
            hint = calendar.next_working_instant(new_due_at)
            raise InvalidInput(
                f"new_due_at: {_local(new_due_at)} is outside working time",
                f"new_due_at: thời điểm hẹn mới {_local(new_due_at)} nằm ngoài giờ làm việc",
                code="not_working_time", hint=f"the next working instant is {_local(hint)}",
                problems=[Problem("not_working_time",
                                  f"Hẹn mới phải trong giờ làm việc; thời điểm làm việc gần nhất là {_local(hint)}.",
                                  f"The new appointment must be within working time; the next working instant "
                                  f"is {_local(hint)}.", field="new_due_at", hint=f"next working instant: {hint.isoformat()}")])
        in_time = calendar.working_time_between(now, self.due_at) >= calendar.day_length
        self.apology_issued_at, self.apology_due_at, self.apology_reason = now, new_due_at, reason.strip()
        self.due_at = self.recompute_due(calendar, limit)
        return in_time

    # --- what a screen may offer ----------------------------------------------------

    def allowed_actions(self) -> frozenset[str]:
        """The dossier actions its state allows (permissions are checked apart)."""
        if not self.is_open:
            return frozenset()
        open_steps = self.open_steps()
        possible = {"dossier.withdraw", "dossier.stop"}
        if any(t.waits_on_citizen for t in open_steps):
            possible.add("dossier.supplement")
        if any(t.status_code == Status.PROCESSED for t in open_steps) or self.result == Result.REFUSED:
            possible.add("dossier.return_result")
        if self.finished_at is None:
            possible.add("dossier.refuse")
            if self.apology_issued_at is None:
                possible.add("dossier.apology")
        return frozenset(possible)


_ENDING_STATUS = {Result.REFUSED: Status.PROCESSED, Result.WITHDRAWN: Status.WITHDRAWN, Result.STOPPED: Status.STOPPED}


def require_reason(reason: str | None, field: str = "reason") -> str:
    """A stripped reason, or InvalidInput naming the field."""
    return _reason(reason, field)


def require_supplementation_reason(reason: str | None) -> str:
    """Form 02 must say what the citizen has to bring."""
    if not reason or not reason.strip():
        raise InvalidInput("say what the citizen must supplement", "phải ghi rõ nội dung cần bổ sung",
                           code="reason_required", problems=[Problem("required", "Phải ghi nội dung cần bổ sung.",
                                                                      "The reason is required.", field="reason")])
    return reason.strip()


def supplementation_reason(data: dict[str, Any]) -> str | None:
    """What the officer typed for the citizen to bring, from the step's own form (a text,
    or a list of papers joined with "; ", the items form 02 numbers); None when nothing."""
    for name in SUPPLEMENT_REASON_FIELDS:
        value = data.get(name)
        if isinstance(value, list):
            value = "; ".join(str(item).strip() for item in value if str(item).strip())
        if isinstance(value, str) and value.strip():
            return value.strip()[:1000]
    return None


def _refusal_reason(data: dict[str, Any]) -> str | None:
    for name in REFUSAL_REASON_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:1000]
    return None


def is_working_instant(calendar: WorkingCalendar, t: datetime) -> bool:
    """Inside a working session of a working day, its start and its close included."""
    return calendar.next_working_instant(t) == t or calendar.working_time_between(t - _ONE_US, t) > timedelta(0)
