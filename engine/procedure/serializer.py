"""Serialization of the ISO dialect: the spec is stored once per model version, instances
are stored without it (SPIFFWORKFLOW_NOTES.md, Serialization) and come back with the safe
script engine attached (the engine is never serialized)."""
from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

if TYPE_CHECKING:
    from .model import ProcedureModel



class InstanceConverter(BpmnWorkflowConverter):
    """A top-level workflow without its spec and subprocess specs (stored once per
    model version): Spiff's converter writes them on every save, and they are most of
    the work and more than half of the bytes."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


def _registry(config: dict[Any, Any] = SPIFF_CONFIG):  # type: ignore[no-untyped-def]
    registry = BpmnWorkflowSerializer.configure(config)
    # Form values may hold dates; Spiff's registry knows datetime but not date.
    registry.register(date, lambda d: {"value": d.isoformat()}, lambda d: date.fromisoformat(d["value"]))
    return registry


SERIALIZER = BpmnWorkflowSerializer(_registry())  # whole workflows and specs
INSTANCE_SERIALIZER = BpmnWorkflowSerializer(_registry({**SPIFF_CONFIG, BpmnWorkflow: InstanceConverter}))


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
