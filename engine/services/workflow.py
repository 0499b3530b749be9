"""Orchestration of one dossier's workflow inside a unit of work.

`DossierFlow` puts the three parts together: the workflow instance
(`engine.adapters.spiff`), the dossier aggregate whose rules project what the engine
did (`engine.domain.dossier`), and the escalation instants (`engine.services.deadlines`).
It changes the aggregate in memory; `save_and_log` writes it with the workflow state and
the use case's event inside the caller's unit of work, so state, projection and log
commit together.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.adapters.db.dossier_store import DossierRecord, StateRecord, StepRecord, UnitRecord
from engine.adapters.spiff import WorkflowChanges, WorkflowEngine, WorkflowInstance
from engine.domain.calendar import TimeLimit, WorkingCalendar, parse_limit
from engine.errors import Conflict
from engine.procedure.model import ProcedureModel
from engine.services.deadlines import reschedule
from engine.unit_of_work import UnitOfWork


def dossier_limit(model: ProcedureModel, unit: UnitRecord) -> TimeLimit:
    """The statutory limit for this commune's category (docs/domain.md §2)."""
    meta = model.metadata
    return parse_limit(meta.limit_for(unit.category), meta.time_basis)


class DossierFlow:
    """A dossier with its model, calendar and (once needed) workflow instance."""

    def __init__(self, uow: UnitOfWork, dossier: DossierRecord, model: ProcedureModel,
                 calendar: WorkingCalendar) -> None:
        self.uow = uow
        self.dossier = dossier
        self.model = model
        self.calendar = calendar
        self.limit = dossier_limit(model, dossier.org_unit)
        self._instance: WorkflowInstance | None = None

    @property
    def now(self) -> datetime:
        return self.uow.now

    @property
    def instance(self) -> WorkflowInstance:
        """The dossier's workflow instance, loaded on first use."""
        if self._instance is None:
            state = self.dossier.workflow_state
            if state is None:
                raise Conflict(f"dossier {self.dossier.code} has no workflow state",
                               f"hồ sơ {self.dossier.code} không có trạng thái quy trình", code="no_workflow")
            open_ids = [t.workflow_task_id for t in self.dossier.open_steps()]
            self._instance = WorkflowEngine(self.model).load(state.state_json, open_ids)
        return self._instance

    def start(self) -> None:
        """Start the dossier's workflow (at receipt)."""
        self._instance = WorkflowEngine(self.model).start(self.now)

    # --- running ----------------------------------------------------------------------

    def complete(self, step: StepRecord, data: dict[str, Any], *, user_id: int | None,
                 pause_reason: str | None = None) -> list[StepRecord]:
        """A person completes a step: the aggregate's rules, then the engine, then the
        projection of what the engine opened. Returns the new steps."""
        self.dossier.complete_step(step, user_id=user_id, data=data, now=self.now, calendar=self.calendar)
        self.instance.run_step(step.workflow_task_id, step.bpmn_id, data, self.now)
        return self.project(handed_over_by=user_id, pause_reason=pause_reason)

    def fire_timers(self) -> list[StepRecord]:
        self.instance.fire_timers(self.now)
        return self.project(handed_over_by=None)

    def cancel(self) -> None:
        """Cancel the instance (the aggregate's ending rule cancels the steps)."""
        self.instance.cancel()
        self._store_state(self.instance.changes())

    def project(self, *, handed_over_by: int | None, pause_reason: str | None = None) -> list[StepRecord]:
        changes = self.instance.changes()
        created = self.dossier.apply_workflow(
            opened=changes.opened, vanished=changes.vanished, workflow_finished=changes.finished, now=self.now,
            calendar=self.calendar, limit=self.limit, handed_over_by=handed_over_by, pause_reason=pause_reason)
        self._store_state(changes)
        return created  # type: ignore[return-value]

    # --- storing ----------------------------------------------------------------------

    def _store_state(self, changes: WorkflowChanges) -> None:
        state = self.dossier.workflow_state
        if state is None:
            self.dossier.workflow_state = StateRecord(dossier_id=self.dossier.id, state_json=changes.state_json,
                                                      next_timer_at=changes.next_timer_at, updated_at=self.now)
        elif state.state_json != changes.state_json or state.next_timer_at != changes.next_timer_at:
            state.state_json, state.next_timer_at, state.updated_at = \
                changes.state_json, changes.next_timer_at, self.now

    def save_and_log(self, kind: str, entity_type: str, entity_id: str | int, **fields: Any) -> None:
        """Store the next escalation instants (engine.scheduler) after any change of the
        dossier, then write the aggregate (what changed) and the workflow state, and the
        use case's event with them (`UnitOfWork.save_and_log`)."""
        reschedule(self.uow, self.dossier, self.model, self.calendar)
        self.uow.save_and_log(self.dossier, kind, entity_type, entity_id, **fields)
