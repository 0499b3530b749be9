"""SpiffWorkflow behind one adapter: the only module that runs a workflow instance.

`WorkflowEngine(model)` starts or loads an instance of a procedure model; the
`WorkflowInstance` runs a human step with its data, fires due timers, cancels, and
reports what changed since it was loaded (`changes`): the human steps it made ready,
those it removed, whether it has ended, the next timer instant and the serialized
state. Every engine error becomes the same `InvalidInput`/`Conflict`, whether a person
ran a step or the scheduler fired a timer, and every timer counts from the injected
instant (`spiff_now`).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException

from engine.domain.dossier import OpenedStep
from engine.errors import Conflict, InvalidInput, Problem
from engine.procedure.model import ProcedureModel
from engine.procedure.serializer import instance_from_json, instance_to_json, new_workflow
from engine.procedure.spiff_clock import spiff_now


# What a closed dossier keeps of its workflow instance (docs/scaling.md, "Closed dossiers"):
# once a dossier is closed (result returned, withdrawn, stopped, or its refusal letter
# handed over) no use case runs its instance again, and every record of what happened
# (steps, times, outcomes, the log) lives in `tasks`, `dossier_pauses` and `events`. The
# full instance is about 1 KB per dossier; this record about 20 bytes, so the table grows
# with what is open. The one definition: the store writes it (`DossierStore.save`), the
# data migration 0012 and bench/province.py write it for existing or seeded rows.
CLOSED_STATE_JSON = '{"closed": true}'


def is_closed_state(state_json: str) -> bool:
    """Whether a stored workflow state is the compact record of a closed dossier."""
    return state_json == CLOSED_STATE_JSON


@dataclass(frozen=True)
class WorkflowChanges:
    """What the engine did since the instance was loaded (or started)."""

    opened: list[OpenedStep]  # human steps now ready that were not open before
    vanished: list[str]  # workflow task ids that were open and are no longer ready
    finished: bool  # the instance reached its end
    next_timer_at: datetime | None
    state_json: str


class WorkflowEngine:
    """Runs instances of one procedure model."""

    def __init__(self, model: ProcedureModel) -> None:
        self.model = model

    def start(self, now: datetime) -> "WorkflowInstance":
        instance = WorkflowInstance(self.model, new_workflow(self.model), open_ids=())
        instance.advance(now)
        return instance

    def load(self, state_json: str, open_ids: Iterable[str]) -> "WorkflowInstance":
        """A stored instance; `open_ids` are the workflow task ids of the steps the
        projection shows open, against which `changes` reports. A closed dossier's
        compact record has no instance to load (nothing may run it again)."""
        if is_closed_state(state_json):
            raise Conflict("this dossier is closed; its workflow no longer runs",
                           "hồ sơ đã kết thúc, quy trình của hồ sơ không còn chạy", code="dossier_closed")
        return WorkflowInstance(self.model, instance_from_json(state_json, self.model), open_ids=open_ids)


class WorkflowInstance:
    def __init__(self, model: ProcedureModel, workflow: BpmnWorkflow, *, open_ids: Iterable[str]) -> None:
        self.model = model
        self._workflow = workflow
        self._open_ids = set(open_ids)

    # --- running ----------------------------------------------------------------------

    def run_step(self, workflow_task_id: str, bpmn_id: str, data: dict[str, Any], now: datetime) -> None:
        """Complete one READY human step with already validated form data."""
        try:
            task = self._workflow.get_task_from_id(uuid.UUID(workflow_task_id))
        except Exception as exc:
            raise Conflict(f"step {bpmn_id} is no longer part of this dossier's workflow",
                           f"bước {bpmn_id} không còn thuộc quy trình của hồ sơ", code="stale_task") from exc
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise Conflict(f"step {bpmn_id} is not waiting for a person ({TaskState.get_name(task.state)})",
                           f"bước {bpmn_id} không ở trạng thái chờ xử lý", code="task_not_ready")
        # Only what gateways read enters the workflow; absent names are None so a stale
        # value from an earlier step can never route a later gateway.
        task.data.update({name: data.get(name) for name in self.model.gateway_variables})
        try:
            with spiff_now(now):  # timers armed by this step count from the injected clock
                task.run()
        except WorkflowException as exc:
            raise workflow_error(exc) from exc
        self.advance(now)

    def advance(self, now: datetime) -> None:
        """Run the engine's own tasks (gateways, scripts, events) as far as they go."""
        try:
            with spiff_now(now):
                self._workflow.do_engine_steps()
        except WorkflowException as exc:
            raise workflow_error(exc) from exc

    def fire_timers(self, now: datetime) -> None:
        """Fire the timers due at `now`, then run what they released (a fired timer's
        successors only run on the next engine pass)."""
        try:
            with spiff_now(now):
                self._workflow.refresh_timers()
                self._workflow.do_engine_steps()
        except WorkflowException as exc:
            raise workflow_error(exc) from exc

    def cancel(self) -> None:
        self._workflow.cancel()

    # --- reporting --------------------------------------------------------------------

    def ready_steps(self) -> dict[str, str]:
        """Workflow task id -> bpmn id of the human steps waiting for a person."""
        return {str(t.id): t.task_spec.bpmn_id for t in self._workflow.get_tasks(state=TaskState.READY, manual=True)}

    def changes(self) -> WorkflowChanges:
        """What changed since loading, with the state to store; the next report is
        relative to this one."""
        ready = self.ready_steps()
        opened = [OpenedStep(wid, self.model.steps[bpmn_id]) for wid, bpmn_id in ready.items()
                  if wid not in self._open_ids]
        vanished = [wid for wid in self._open_ids if wid not in ready]
        self._open_ids = set(ready)
        return WorkflowChanges(opened, vanished, self._workflow.is_completed(), self.next_timer_at(),
                               instance_to_json(self._workflow))

    def next_timer_at(self) -> datetime | None:
        instants = []
        for event in self._workflow.waiting_events():
            value = getattr(event, "value", None)
            if isinstance(value, str):
                try:
                    instants.append(datetime.fromisoformat(value))
                except ValueError:
                    continue
        # SpiffWorkflow reports armed timers in UTC ISO form; a naive value is read as UTC.
        aware = [t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in instants]
        return min(aware) if aware else None


def workflow_error(exc: WorkflowException) -> InvalidInput:
    cause = exc.__context__ or exc
    element = getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
    return InvalidInput(
        f"the procedure model could not continue at {element or 'a step'}: {cause}",
        f"quy trình không thể tiếp tục tại {element or 'một bước'}: {cause}",
        code="workflow_error",
        hint="check the data submitted for the step; if it is right, the model needs fixing by the ISO consultant",
        problems=[Problem("workflow_error", str(cause), str(cause), element_id=element)],
    )
