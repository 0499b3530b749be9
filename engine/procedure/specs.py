"""The ISO dialect's specs, laid out as SpiffWorkflow's own dialects lay out theirs
(`SpiffWorkflow.spiff.specs`, `SpiffWorkflow.camunda.specs`): task spec classes that carry
the dialect's data, built by `parser`, serialized by `serializer`.

- `IsoUserTask` (and `IsoManualTask`, `IsoNoneTask` for `manualTask` and plain `task`,
  which also wait for a person): a human step with its role, working-time duration,
  form, record, national status code and clock (running or paused).
- `IsoProcessSpec`: a process spec carrying the procedure's `ProcessMetadata`.
- `ProcessMetadata` and `StepDefinition`: the plain values the services read
  (`ProcedureModel.metadata`, `ProcedureModel.steps`), derived from the specs above.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.specs.defaults import ManualTask, NoneTask, UserTask

from engine.domain import vocabulary as v


@dataclass(frozen=True)
class ProcessMetadata:
    process_id: str
    name: str
    name_en: str | None
    procedure_code: str
    field: str
    time_limit: str  # raw text: `P3D`, `PT4H`, `same-day`, `P30D` (calendar basis)
    time_basis: str  # `working` or `calendar`
    limits_by_category: dict[str, str] = field(default_factory=dict)  # category -> raw limit
    legal_basis: str | None = None
    fee: str | None = None
    iso_document_code: str | None = None
    revision: str | None = None

    def limit_for(self, category: str | None) -> str:
        """The raw limit a commune of `category` works to (the default when none is set)."""
        if category and category in self.limits_by_category:
            return self.limits_by_category[category]
        return self.time_limit


@dataclass(frozen=True)
class StepDefinition:
    bpmn_id: str
    name: str
    name_en: str | None
    role: str
    duration: timedelta  # working time
    clock: str  # `running` or `paused`
    form: str | None
    record: str | None
    status: int  # national status code shown while the step is open
    lane: str | None

    @property
    def pauses_clock(self) -> bool:
        return self.clock == "paused"


class IsoStep:
    """Mixed into a SpiffWorkflow task spec: the ISO data of a human step.

    `duration` is working time (1 day = 8 h); `iso_lane` is the lane the role came from
    (Spiff's own `lane` is left as Spiff computes it)."""

    ISO_ATTRIBUTES = ("role", "duration", "clock", "form", "record", "status", "name_en", "iso_lane")

    def __init__(self, wf_spec: Any, bpmn_id: str, *, role: str = "", duration: timedelta = timedelta(0),
                 clock: str = v.CLOCK_RUNNING, form: str | None = None, record: str | None = None,
                 status: int = v.STATUS_PROCESSING, name_en: str | None = None, iso_lane: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)  # type: ignore[call-arg]
        self.role = role
        self.duration = duration
        self.clock = clock
        self.form = form
        self.record = record
        self.status = status
        self.name_en = name_en
        self.iso_lane = iso_lane

    @property
    def pauses_clock(self) -> bool:
        return self.clock == v.CLOCK_PAUSED

    def step_definition(self) -> StepDefinition:
        return StepDefinition(
            bpmn_id=self.bpmn_id, name=self.bpmn_name or "", name_en=self.name_en,  # type: ignore[attr-defined]
            role=self.role, duration=self.duration, clock=self.clock, form=self.form, record=self.record,
            status=self.status, lane=self.iso_lane,
        )


class IsoUserTask(IsoStep, UserTask):
    """A `userTask` of an ISO procedure."""


class IsoManualTask(IsoStep, ManualTask):
    """A `manualTask`: a person does it, like a user task."""


class IsoNoneTask(IsoStep, NoneTask):
    """A plain `task`: SpiffWorkflow treats it as manual, so it is a human step too."""


class IsoProcessSpec(BpmnProcessSpec):
    """The top-level process of an ISO procedure, with its metadata (SpiffWorkflow's
    process spec drops process-level extension properties)."""

    def __init__(self, name: str | None = None, description: str | None = None, filename: str | None = None,
                 svg: Any = None, metadata: ProcessMetadata | None = None) -> None:
        super().__init__(name=name, description=description, filename=filename, svg=svg)
        self.metadata = metadata
