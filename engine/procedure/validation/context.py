"""What the checks of one model share: the parsed tree, its flow nodes and scopes, the
steps and forms found so far, and the problems reported (each located at an element)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from lxml import etree

from engine.domain import vocabulary as v
from engine.errors import Problem

from ..problems import Issue, ModelProblem, bilingual, located
from ..specs import StepDefinition

BPMN = "{%s}" % v.BPMN_NS
SPIFF = "{%s}" % v.SPIFF_NS

HUMAN_TASKS = frozenset({"userTask", "manualTask", "task"})
GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway"})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
SUPPORTED_NODES = HUMAN_TASKS | GATEWAYS | EVENTS | {"subProcess", "scriptTask"}
UNSUPPORTED_NODES = frozenset({
    "serviceTask", "sendTask", "receiveTask", "businessRuleTask", "callActivity", "adHocSubProcess",
    "transaction", "complexGateway",
})
FLOW_NODES = SUPPORTED_NODES | UNSUPPORTED_NODES
MAX_FLOW_NODES = 500


@dataclass
class Scope:
    """A process or an embedded subprocess: its own start events, nodes and flows."""

    element: etree._Element
    parent_node: str | None  # id of the subProcess node in the enclosing scope
    nodes: list[str] = field(default_factory=list)  # document order
    successors: dict[str, list[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # topological, loops cut once
    remaining: dict[str, timedelta] = field(default_factory=dict)  # longest running path to an end
    best_next: dict[str, str | None] = field(default_factory=dict)
    longest: timedelta = timedelta(0)
    starts: list[str] = field(default_factory=list)


class ModelContext:
    def __init__(self, root: etree._Element, filename: str, forms: dict[str, Any] | None,
                 forms_dir: Path | None, trusted_scripts: bool) -> None:
        self.root = root
        self.filename = filename
        self.forms_given = forms
        self.forms_dir = forms_dir
        self.trusted_scripts = trusted_scripts
        self.problems: list[ModelProblem] = []
        self.elements: dict[str, etree._Element] = {}
        self.kind: dict[str, str] = {}  # flow node id -> local tag name
        self.scope_of: dict[str, Scope] = {}
        self.scopes: list[Scope] = []
        self.lane_of: dict[str, str] = {}
        self.steps: dict[str, StepDefinition] = {}  # the valid steps: durations weigh the paths
        self.forms: dict[str, dict[str, Any]] = {}
        self.bad_forms: set[str] = set()
        self.variables: set[str] = set()

    def add(self, code: str, vi: str, en: str, hint_en: str, hint_vi: str, element: etree._Element | None = None,
            element_id: str | None = None) -> ModelProblem:
        line = element.sourceline if element is not None else None
        if element_id is None and element is not None:
            element_id = element.get("id")
        problem = ModelProblem(code=code, message_vi=vi, message_en=en, hint=hint_en, hint_vi=hint_vi,
                               element_id=element_id, line=line)
        self.problems.append(problem)
        return problem

    def add_issue(self, issue: Issue, element: etree._Element) -> None:
        self.problems.append(located(issue, element_id=element.get("id"), line=element.sourceline))

    def add_problem(self, problem: Problem, element: etree._Element) -> None:
        """A problem made elsewhere (expressions), placed at `element`."""
        base = bilingual(problem)
        self.problems.append(ModelProblem(
            code=base.code, message_vi=base.message_vi, message_en=base.message_en, hint=base.hint,
            hint_vi=base.hint_vi, element_id=element.get("id"), line=element.sourceline))

    def is_event_subprocess(self, node_id: str) -> bool:
        return self.kind.get(node_id) == "subProcess" and self.elements[node_id].get("triggeredByEvent") == "true"

    def inner_scope(self, node_id: str) -> Scope | None:
        return next((s for s in self.scopes if s.parent_node == node_id), None)
