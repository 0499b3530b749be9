"""Serialization of the ISO dialect, laid out as SpiffWorkflow's dialects lay out theirs
(`SpiffWorkflow.spiff.serializer.config.SPIFF_CONFIG`): `ISO_CONFIG` is Spiff's config plus
converters for the dialect's specs (`IsoUserTask` and its twins, `IsoProcessSpec`).

The spec is stored once per model version; instances are stored without it and come back
onto the model's parsed spec with the safe script engine attached (the engine is never
serialized)."""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.default.process_spec import BpmnProcessSpecConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import SpiffBpmnTaskConverter, UserTaskConverter

from .specs import IsoManualTask, IsoNoneTask, IsoProcessSpec, IsoStep, IsoUserTask, ProcessMetadata

if TYPE_CHECKING:
    from .model import ProcedureModel


class IsoStepConverterMixin:
    """The ISO attributes of a human step; the inherited `from_dict` hands every key back
    to the spec's constructor. The duration is stored as seconds (JSON has no timedelta)."""

    def to_dict(self, spec: IsoStep) -> dict[str, Any]:
        dct = super().to_dict(spec)  # type: ignore[misc]
        for name in IsoStep.ISO_ATTRIBUTES:
            dct[name] = getattr(spec, name)
        dct["duration"] = spec.duration.total_seconds()
        return dct

    def from_dict(self, dct: dict[str, Any]) -> IsoStep:
        dct["duration"] = timedelta(seconds=dct.get("duration", 0))
        return super().from_dict(dct)  # type: ignore[misc]


class IsoUserTaskConverter(IsoStepConverterMixin, UserTaskConverter):
    pass


class IsoStepConverter(IsoStepConverterMixin, SpiffBpmnTaskConverter):
    pass


class IsoProcessSpecConverter(BpmnProcessSpecConverter):
    """The process spec with the procedure's metadata."""

    def to_dict(self, spec: IsoProcessSpec) -> dict[str, Any]:
        dct = super().to_dict(spec)
        dct["metadata"] = asdict(spec.metadata) if spec.metadata is not None else None
        return dct

    def from_dict(self, dct: dict[str, Any]) -> IsoProcessSpec:
        metadata = dct.pop("metadata", None)
        spec = super().from_dict(dct)
        spec.metadata = ProcessMetadata(**metadata) if metadata is not None else None
        return spec


ISO_CONFIG: dict[Any, Any] = {
    **SPIFF_CONFIG,
    IsoUserTask: IsoUserTaskConverter,
    IsoManualTask: IsoStepConverter,
    IsoNoneTask: IsoStepConverter,
    IsoProcessSpec: IsoProcessSpecConverter,
}


class InstanceConverter(BpmnWorkflowConverter):
    """A top-level workflow without its spec and subprocess specs (stored once per
    model version): Spiff's converter writes them on every save, and they are most of
    the work and more than half of the bytes."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


def _registry(config: dict[Any, Any] = ISO_CONFIG):  # type: ignore[no-untyped-def]
    registry = BpmnWorkflowSerializer.configure(config)
    # Form values may hold dates; Spiff's registry knows datetime but not date.
    registry.register(date, lambda d: {"value": d.isoformat()}, lambda d: date.fromisoformat(d["value"]))
    return registry


SERIALIZER = BpmnWorkflowSerializer(_registry())  # whole workflows and specs
INSTANCE_SERIALIZER = BpmnWorkflowSerializer(_registry({**ISO_CONFIG, BpmnWorkflow: InstanceConverter}))


def spec_to_json(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    return json.dumps({
        "spec": SERIALIZER.to_dict(spec),
        "subprocess_specs": {name: SERIALIZER.to_dict(s) for name, s in subprocess_specs.items()},
    }, ensure_ascii=False, separators=(",", ":"))


def new_workflow(model: "ProcedureModel") -> BpmnWorkflow:
    """A fresh instance of the model, running on the safe script engine."""
    return BpmnWorkflow(model.spec, model.subprocess_specs, script_engine=model.script_engine())


def instance_to_json(workflow: BpmnWorkflow) -> str:
    """The instance's state without its spec (the model version is stored once)."""
    dct = INSTANCE_SERIALIZER.to_dict(workflow)
    dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
    return json.dumps(dct, ensure_ascii=False, separators=(",", ":"))


def instance_from_json(text: str, model: "ProcedureModel") -> BpmnWorkflow:
    dct = json.loads(text)
    version = dct.pop(SERIALIZER.VERSION_KEY, None)
    if version in MIGRATIONS:
        # Old formats migrate on the full dictionary, spec included.
        dct.update(json.loads(model.serialized_spec))
        MIGRATIONS[version](dct)
    else:
        # The registry hands back objects it does not recognise unchanged, so the
        # model's parsed specs (immutable, shared by every instance) are reused as is
        # instead of being rebuilt from JSON on every load.
        dct["spec"] = model.spec
        dct["subprocess_specs"] = dict(model.subprocess_specs)
    workflow = SERIALIZER.from_dict(dct)
    workflow.script_engine = model.script_engine()
    return workflow
