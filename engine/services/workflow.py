"""Running a dossier's workflow and keeping the projection in step with it.

`DossierWorkflow` loads the serialized SpiffWorkflow instance of one dossier, runs a
human step, and `sync` brings the `tasks` projection, pauses, status and due instant
in line with what the engine now says is open. It changes the dossier aggregate's
records (`engine.adapters.db.dossier_store`) in memory; `save` writes them and the workflow
state inside the caller's unit of work, so state, projection and log commit together.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException

from engine.domain.calendar import Pause, WorkingCalendar, WorkingTimeLimit, parse_limit
from engine.adapters.db.dossier_store import DossierRecord, PauseRecord, StateRecord, StepRecord, UnitRecord
from engine.errors import Conflict, InvalidInput, Problem
from engine.procedure.model import ProcedureModel
from engine.procedure.serializer import instance_from_json, instance_to_json, new_workflow
from engine.services.deadlines import reschedule
from engine.procedure.spiff_clock import spiff_now
from engine.services.uow import UnitOfWork

STATUS_RECEIVED = 2
STATUS_PROCESSING = 4
STATUS_FINANCIAL = 6
STATUS_PROCESSED = 9
STATUS_RETURNED = 10
PAUSE_KIND_BY_STATUS = {STATUS_FINANCIAL: "financial_obligation"}


def dossier_limit(model: ProcedureModel, unit: UnitRecord):
    """The statutory limit for this commune's category (DOMAIN.md §2)."""
    meta = model.metadata
    return parse_limit(meta.limit_for(unit.category), meta.time_basis)


def recompute_due(dossier: DossierRecord, calendar: WorkingCalendar, model: ProcedureModel, now: datetime) -> datetime:
    """The appointment moved by every closed pause (open pauses move it when they end).

    After an apology letter the new appointment is the base and only later pauses count.
    """
    # A pause closed at the instant it opened (the citizen was still at the desk) moved nothing.
    closed = [Pause(p.started_at, p.ended_at) for p in dossier.pauses
              if p.ended_at is not None and p.ended_at > p.started_at]
    if dossier.apology_due_at is not None and dossier.apology_issued_at is not None:
        start = dossier.apology_issued_at
        base = WorkingTimeLimit(calendar.working_time_between(start, dossier.apology_due_at))
        return calendar.due(start, base, [p for p in closed if p.start >= start])
    return calendar.due(dossier.received_at, dossier_limit(model, dossier.org_unit), closed)


class DossierWorkflow:
    def __init__(self, uow: UnitOfWork, dossier: DossierRecord, model: ProcedureModel, calendar: WorkingCalendar,
                 state: StateRecord | None, workflow: BpmnWorkflow) -> None:
        self.uow = uow
        self.dossier = dossier
        self.model = model
        self.calendar = calendar
        self.state = state
        self.workflow = workflow

    # --- loading ----------------------------------------------------------------------

    @classmethod
    def start(cls, uow: UnitOfWork, dossier: DossierRecord, model: ProcedureModel,
              calendar: WorkingCalendar) -> "DossierWorkflow":
        flow = cls(uow, dossier, model, calendar, None, new_workflow(model))
        flow._run_engine()
        return flow

    @classmethod
    def load(cls, uow: UnitOfWork, dossier: DossierRecord, model: ProcedureModel,
             calendar: WorkingCalendar) -> "DossierWorkflow":
        state = dossier.workflow_state
        if state is None:
            raise Conflict(f"dossier {dossier.code} has no workflow state", f"hồ sơ {dossier.code} không có trạng thái quy trình",
                           code="no_workflow")
        return cls(uow, dossier, model, calendar, state, instance_from_json(state.state_json, model))

    # --- running ----------------------------------------------------------------------

    def run_step(self, task: StepRecord, data: dict[str, Any]) -> None:
        """Complete one READY human step with already validated form data."""
        try:
            spiff_task = self.workflow.get_task_from_id(uuid.UUID(task.workflow_task_id))
        except Exception as exc:
            raise Conflict(f"step {task.bpmn_id} is no longer part of dossier {self.dossier.code}",
                           f"bước {task.bpmn_id} không còn thuộc hồ sơ {self.dossier.code}", code="stale_task") from exc
        if spiff_task.state != TaskState.READY or not spiff_task.task_spec.manual:
            raise Conflict(f"step {task.bpmn_id} is not waiting for a person (state {spiff_task.state})",
                           f"bước {task.bpmn_id} không ở trạng thái chờ xử lý", code="task_not_ready")
        # Only what gateways read enters the workflow; absent names are None so a stale
        # value from an earlier step can never route a later gateway.
        spiff_task.data.update({name: data.get(name) for name in self.model.gateway_variables})
        try:
            with spiff_now(self.uow.now):  # timers armed by this step count from the injected clock
                spiff_task.run()
        except WorkflowException as exc:
            raise _workflow_error(exc) from exc
        self._run_engine()

    def cancel(self) -> None:
        self.workflow.cancel()

    def _run_engine(self) -> None:
        try:
            with spiff_now(self.uow.now):
                self.workflow.do_engine_steps()
        except WorkflowException as exc:
            raise _workflow_error(exc) from exc

    # --- projection -------------------------------------------------------------------

    def open_spiff_tasks(self):
        return self.workflow.get_tasks(state=TaskState.READY, manual=True)

    def sync(self, *, handed_over_by: int | None, pause_reason: str | None = None) -> list[StepRecord]:
        """Project newly opened steps, cancel vanished ones, update pauses, status, due.
        Returns the newly opened steps (their ids are set by `save`)."""
        dossier, now = self.dossier, self.uow.now
        open_rows = {t.workflow_task_id: t for t in dossier.tasks if t.state == "open"}
        ready = {str(t.id): t for t in self.open_spiff_tasks()}
        for wid, row in open_rows.items():
            if wid not in ready:  # removed by the engine (boundary event, cancel)
                row.state = "cancelled"
                self.close_pause_of(row)
        created: list[StepRecord] = []
        for wid, spiff_task in ready.items():
            if wid in open_rows:
                continue
            step = self.model.steps[spiff_task.task_spec.bpmn_id]
            row = StepRecord(
                dossier_id=dossier.id, workflow_task_id=wid, bpmn_id=step.bpmn_id, name=step.name,
                role=step.role, org_unit_id=dossier.org_unit_id, state="open", clock=step.clock,
                status_code=step.status, form=step.form, duration_seconds=int(step.duration.total_seconds()),
                created_at=now, handed_over_by_id=handed_over_by,
                due_at=None if step.clock == "paused" else self.calendar.add_working_time(now, step.duration),
            )
            dossier.tasks.append(row)
            created.append(row)
            if step.clock == "paused":
                dossier.pauses.append(PauseRecord(
                    dossier_id=dossier.id, kind=PAUSE_KIND_BY_STATUS.get(step.status, "supplementation"),
                    started_at=now, reason=pause_reason or step.name, step=row))
        self._update_dossier()
        self.reschedule()
        return created

    def reschedule(self) -> None:
        """Store the next escalation instants (engine.scheduler) after any change of the
        dossier: steps, pauses, appointment, end."""
        reschedule(self.uow, self.dossier, self.model, self.calendar)

    def close_pause_of(self, row: StepRecord) -> None:
        """End the pause a citizen-waiting step opened; running steps' due instants
        move by the paused working time, as the dossier's does."""
        for pause in self.dossier.pauses:
            if pause.step is row and pause.ended_at is None:
                pause.ended_at = self.uow.now
                paused = self.calendar.working_time_between(pause.started_at, pause.ended_at)
                if paused > timedelta(0):  # open running steps wait as long as the dossier did
                    for other in self.dossier.tasks:
                        if other.state == "open" and other.due_at is not None and other.created_at <= pause.started_at:
                            other.due_at = self.calendar.add_working_time(other.due_at, paused)

    def _update_dossier(self) -> None:
        dossier, now = self.dossier, self.uow.now
        if dossier.state != "open":
            return
        dossier.due_at = recompute_due(dossier, self.calendar, self.model, now)
        open_rows = [t for t in dossier.tasks if t.state == "open"]
        if self.workflow.is_completed() and not open_rows:
            if dossier.finished_at is None:
                self._mark_finished()
            dossier.status_code = STATUS_RETURNED
            dossier.returned_at = now
            dossier.state = "closed"
            return
        statuses = {t.status_code for t in open_rows}
        paused = sorted(s for s in statuses if s not in (STATUS_PROCESSING, STATUS_PROCESSED))
        if paused:
            dossier.status_code = paused[0]
        elif STATUS_PROCESSED in statuses and statuses == {STATUS_PROCESSED}:
            if dossier.finished_at is None:
                self._mark_finished()
            dossier.status_code = STATUS_PROCESSED
        elif any(t.state == "completed" for t in dossier.tasks):
            dossier.status_code = STATUS_PROCESSING
        else:
            dossier.status_code = STATUS_RECEIVED

    def _mark_finished(self) -> None:
        dossier, now = self.dossier, self.uow.now
        dossier.finished_at = now
        dossier.classification = self.calendar.classify_finished(dossier.due_at, now)
        decided = [t for t in dossier.tasks if t.state == "completed" and t.outcome in ("approve", "refuse")]
        decisions = [t.outcome for t in sorted(decided, key=lambda t: (t.completed_at, t.id))]
        dossier.result = "refused" if decisions and decisions[-1] == "refuse" else "granted"

    def save(self) -> None:
        """Serialize the instance and write the whole aggregate (what changed)."""
        text = instance_to_json(self.workflow)
        next_timer = _next_timer(self.workflow)
        if self.state is None:
            self.state = StateRecord(dossier_id=self.dossier.id, state_json=text, next_timer_at=next_timer,
                                     updated_at=self.uow.now)
            self.dossier.workflow_state = self.state
        elif self.state.state_json != text or self.state.next_timer_at != next_timer:
            self.state.state_json, self.state.next_timer_at, self.state.updated_at = text, next_timer, self.uow.now
        self.uow.dossiers.save(self.dossier)


def _next_timer(workflow: BpmnWorkflow) -> datetime | None:
    instants = []
    for event in workflow.waiting_events():
        value = getattr(event, "value", None)
        if isinstance(value, str):
            try:
                instants.append(datetime.fromisoformat(value))
            except ValueError:
                continue
    # SpiffWorkflow reports armed timers in UTC ISO form; a naive value is read as UTC.
    aware = [t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in instants]
    return min(aware) if aware else None


def _workflow_error(exc: WorkflowException) -> InvalidInput:
    cause = exc.__context__ or exc
    element = getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
    return InvalidInput(
        f"the procedure model could not continue at {element or 'a step'}: {cause}",
        f"quy trình không thể tiếp tục tại {element or 'một bước'}: {cause}",
        code="workflow_error",
        hint="check the data submitted for the step; if it is right, the model needs fixing by the ISO consultant",
        problems=[Problem("workflow_error", str(cause), str(cause), element_id=element)],
    )
