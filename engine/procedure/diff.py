"""What changed between two versions of a procedure model, element by element: which
flow nodes, flows and lanes were added, removed or changed, and a table of the changed
properties a chair approves (the step's duration, role, form, clock, status; the
procedure's limit, legal basis, fee...). Layout (the diagram's coordinates) is not a
change. A pure function over two parsed models; the pages draw it on both diagrams."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from engine.domain.vocabulary import BPMN_NS

from .model import ProcedureModel
from .xmlsafe import load_xml

BPMN = "{%s}" % BPMN_NS
# BPMN elements compared (flow nodes, flows, lanes); anything else is not a step of the procedure
COMPARED = frozenset({
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask", "businessRuleTask",
    "callActivity", "subProcess", "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
    "complexGateway", "sequenceFlow", "lane",
})
STEP_PROPERTIES = ("name", "role", "duration", "clock", "status", "form", "record", "name_en")
PROCESS_PROPERTIES = ("name", "field", "time_limit", "time_basis", "limits_by_category", "legal_basis", "fee",
                      "name_en", "iso_document_code", "revision")


@dataclass(frozen=True)
class ElementRef:
    element_id: str
    kind: str  # the BPMN tag: userTask, exclusiveGateway, sequenceFlow, lane...
    name: str


@dataclass(frozen=True)
class PropertyChange:
    element_id: str | None  # None for the procedure itself
    element_name: str
    prop: str  # duration, role, form, time_limit, legal_basis...
    before: Any
    after: Any


@dataclass(frozen=True)
class ModelDiff:
    added: list[ElementRef]
    removed: list[ElementRef]
    changed: list[ElementRef]
    process_changes: list[PropertyChange]
    step_changes: list[PropertyChange]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.process_changes)


def _elements(model: ProcedureModel) -> dict[str, tuple[ElementRef, tuple]]:
    """id -> (reference, what is compared) for every compared element of the process."""
    root = load_xml(model.source).root
    found: dict[str, tuple[ElementRef, tuple]] = {}
    if root is None:
        return found
    process = root.find(f"{BPMN}process[@id='{model.metadata.process_id}']")
    if process is None:
        return found
    for node in process.iter():
        if not isinstance(node.tag, str) or not node.tag.startswith(BPMN):
            continue
        kind = node.tag[len(BPMN):]
        element_id = node.get("id")
        if kind not in COMPARED or not element_id:
            continue
        name = " ".join((node.get("name") or "").split())
        found[element_id] = (ElementRef(element_id, kind, name), _signature(node, kind, name))
    return found


def _signature(node: etree._Element, kind: str, name: str) -> tuple:
    if kind == "sequenceFlow":
        condition = node.find(f"{BPMN}conditionExpression")
        text = " ".join((condition.text or "").split()) if condition is not None else ""
        return kind, name, node.get("sourceRef"), node.get("targetRef"), text
    if kind == "lane":
        refs = tuple(sorted((ref.text or "").strip() for ref in node.findall(f"{BPMN}flowNodeRef")))
        return kind, name, refs
    definitions = tuple(sorted(child.tag for child in node if isinstance(child.tag, str)
                               and child.tag.endswith("EventDefinition")))
    return kind, name, node.get("default"), node.get("attachedToRef"), definitions


def _step_values(step) -> dict[str, Any]:
    return {"name": step.name, "role": step.role, "duration": step.duration, "clock": step.clock,
            "status": step.status, "form": step.form, "record": step.record, "name_en": step.name_en}


def diff_models(before: ProcedureModel, after: ProcedureModel) -> ModelDiff:
    """Elements added, removed and changed from `before` to `after`, with the changed
    properties of the procedure and of its steps (steps in `after`'s order)."""
    old, new = _elements(before), _elements(after)
    added = [new[i][0] for i in new if i not in old]
    removed = [old[i][0] for i in old if i not in new]
    changed_ids = {i for i in new if i in old and new[i][1] != old[i][1]}

    step_changes: list[PropertyChange] = []
    order = [s.bpmn_id for s in after.steps_in_order()] + [i for i in before.steps if i not in after.steps]
    for bpmn_id in order:
        if bpmn_id not in before.steps or bpmn_id not in after.steps:
            continue
        a, b = _step_values(before.steps[bpmn_id]), _step_values(after.steps[bpmn_id])
        for prop in STEP_PROPERTIES:
            if a[prop] != b[prop]:
                step_changes.append(PropertyChange(bpmn_id, after.steps[bpmn_id].name, prop, a[prop], b[prop]))
                changed_ids.add(bpmn_id)

    process_changes: list[PropertyChange] = []
    for prop in PROCESS_PROPERTIES:
        a, b = getattr(before.metadata, prop), getattr(after.metadata, prop)
        if a != b:
            process_changes.append(PropertyChange(None, after.metadata.name, prop, a, b))
    changed = [new[i][0] for i in new if i in changed_ids]
    return ModelDiff(added, removed, changed, process_changes, step_changes)
