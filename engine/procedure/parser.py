"""The ISO dialect's parser, laid out as SpiffWorkflow's dialect parsers are
(`SpiffWorkflow.spiff.parser`, `SpiffWorkflow.camunda.parser`): Spiff's parser whose task
parsers build `specs.IsoUserTask` (and its manual / plain-task twins) carrying each step's
role, duration, form, record, status and clock, and whose process parser builds an
`specs.IsoProcessSpec` carrying the procedure's metadata. It reads both Spiff's
`spiffworkflow:properties` and Camunda Modeler's `camunda:properties` and
`camunda:candidateGroups`. Values are judged by `rules` (the validator's rules too).
Reading properties from XML lives here only.
"""
from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.process import SpiffProcessParser
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser

from engine.domain import vocabulary as v
from engine.domain.vocabulary import NSMAP, ROLE

from .rules import judge_process, judge_step
from .specs import IsoManualTask, IsoNoneTask, IsoProcessSpec, IsoUserTask, ProcessMetadata

BPMN = "{%s}" % v.BPMN_NS

_PROPERTY_XPATH = etree.XPath(
    "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"
    " | ./bpmn:extensionElements/camunda:properties/camunda:property",
    namespaces=NSMAP,
)
_CANDIDATE_GROUPS = "{%s}candidateGroups" % NSMAP["camunda"]


def property_nodes(element: etree._Element) -> list[etree._Element]:
    """The property elements of a BPMN element, in document order, from both namespaces."""
    return list(_PROPERTY_XPATH(element))


def read_properties(element: etree._Element) -> dict[str, str]:
    """name -> value of an element's properties (`spiffworkflow:` and `camunda:`).

    Camunda's `candidateGroups` attribute stands for `role` when no role property is set.
    """
    properties: dict[str, str] = {}
    for node in property_nodes(element):
        name = (node.get("name") or "").strip()
        if name:
            properties[name] = (node.get("value") or "").strip()
    groups = candidate_groups(element)
    if groups is not None and ROLE not in properties:
        properties[ROLE] = groups
    return properties


def candidate_groups(element: etree._Element) -> str | None:
    value = element.get(_CANDIDATE_GROUPS)
    return value.strip() if value is not None else None


def lane_names(process: etree._Element) -> dict[str, str]:
    """flow node id -> the name of its lane. Nested lanes: the innermost wins; a node of an
    embedded subprocess outside any lane of its own takes the subprocess's lane."""
    lanes: dict[str, str] = {}

    def collect_lane_set(lane_set: etree._Element) -> None:
        for lane in lane_set.findall(f"{BPMN}lane"):
            lane_name = (lane.get("name") or "").strip()
            for ref in lane.findall(f"{BPMN}flowNodeRef"):
                if ref.text:
                    lanes[ref.text.strip()] = lane_name
            for child in lane.findall(f"{BPMN}childLaneSet"):
                collect_lane_set(child)

    def walk(container: etree._Element, parent_node: str | None) -> None:
        for lane_set in container.findall(f"{BPMN}laneSet"):
            collect_lane_set(lane_set)
        children = [c for c in container if isinstance(c.tag, str) and c.tag.startswith(BPMN) and c.get("id")]
        if parent_node is not None and parent_node in lanes:
            for child in children:
                lanes.setdefault(child.get("id"), lanes[parent_node])
        for child in children:
            if child.tag == f"{BPMN}subProcess":
                walk(child, child.get("id"))

    walk(process, None)
    return lanes


def process_metadata(process: etree._Element) -> tuple[ProcessMetadata | None, list]:
    """The metadata of a `bpmn:process`, or None, and the rules' issues (unlocated)."""
    props = read_properties(process)
    categories = {name[len(v.CATEGORY_LIMIT_PREFIX):]: value for name, value in props.items()
                  if name.startswith(v.CATEGORY_LIMIT_PREFIX)}
    values, issues = judge_process(
        name=process.get("name") or "", code=props.get(v.PROCEDURE_CODE, ""), field_code=props.get(v.FIELD, ""),
        time_limit=props.get(v.TIME_LIMIT, ""), time_basis=props.get(v.TIME_BASIS, ""), category_limits=categories,
    )
    if issues:
        return None, issues
    return ProcessMetadata(
        process_id=process.get("id") or "", name=values.name, name_en=props.get(v.NAME_EN) or None,
        procedure_code=values.procedure_code, field=values.field, time_limit=values.time_limit,
        time_basis=values.time_basis, limits_by_category=values.limits_by_category,
        legal_basis=props.get(v.LEGAL_BASIS) or None, fee=props.get(v.FEE) or None,
        iso_document_code=props.get(v.ISO_DOCUMENT_CODE) or None, revision=props.get(v.REVISION) or None,
    ), []


def step_attributes(element: etree._Element, lane: str | None) -> tuple[dict[str, Any], list]:
    """The ISO keyword arguments of a human step's spec, and the rules' issues (unlocated)."""
    props = read_properties(element)
    name = (element.get("name") or "").strip()
    values, issues = judge_step(
        name=name, role=props.get(ROLE) or lane or "", duration=props.get(v.DURATION, ""),
        clock=props.get(v.CLOCK, ""), status=props.get(v.STATUS, ""), form=props.get(v.FORM, ""),
        label=name or (element.get("id") or ""),
    )
    return {
        "role": values.role, "duration": values.duration, "clock": values.clock, "form": values.form,
        "record": props.get(v.RECORD) or None, "status": values.status, "name_en": props.get(v.NAME_EN) or None,
        "iso_lane": lane,
    }, issues


def _refuse(issues: list, node: etree._Element, filename: str | None) -> None:
    raise ValidationException("; ".join(i.message_en for i in issues), node=node, file_name=filename)


class _IsoExtensions:
    """Mixed into each Spiff task parser: task_spec.extensions['properties'] also holds
    the Camunda properties (values are strings, as Spiff's are)."""

    def parse_extensions(self, node=None):  # type: ignore[no-untyped-def]
        extensions = super().parse_extensions(node)  # type: ignore[misc]
        element = self.node if node is None else node  # type: ignore[attr-defined]
        merged = read_properties(element)
        if merged:
            extensions["properties"] = {**extensions.get("properties", {}), **merged}
        return extensions


class IsoStepParser(_IsoExtensions, SpiffTaskParser):
    """userTask, manualTask and task: the spec class gets the step's ISO attributes.

    (Spiff's own UserTaskParser builds `UserTask` by name, ignoring the registered class.)"""

    def create_task(self):  # type: ignore[no-untyped-def]
        extensions = self.parse_extensions()
        parser: IsoBpmnParser = self.process_parser.parser
        attributes, issues = step_attributes(self.node, parser.lanes.get(self.bpmn_id))
        if issues and parser.strict:
            _refuse(issues, self.node, self.filename)
        kwargs: dict[str, Any] = {}
        if issubclass(self.spec_class, IsoUserTask):
            kwargs["variable"] = extensions.get("variableName")
        return self.spec_class(self.spec, self.bpmn_id, prescript=extensions.get("preScript"),
                               postscript=extensions.get("postScript"), **kwargs, **attributes,
                               **self.bpmn_attributes)


class IsoProcessParser(SpiffProcessParser):
    """The top-level process becomes an IsoProcessSpec with the procedure's metadata
    (embedded subprocesses are parsed by this class too and stay plain process specs)."""

    def create_spec(self):  # type: ignore[no-untyped-def]
        if self.node.tag != f"{BPMN}process":
            return super().create_spec()
        if not self.process_executable:
            raise ValidationException(f"Process {self.bpmn_id} is not executable.", node=self.node,
                                      file_name=self.filename)
        metadata, issues = process_metadata(self.node)
        if issues and self.parser.strict:
            _refuse(issues, self.node, self.filename)
        return IsoProcessSpec(name=self.bpmn_id, description=self.get_name(), filename=self.filename,
                              metadata=metadata)


def _with_iso_extensions(parser_class: type) -> type:
    return type("Iso" + parser_class.__name__, (_IsoExtensions, parser_class), {})


_STEP_SPECS = {"userTask": IsoUserTask, "manualTask": IsoManualTask, "task": IsoNoneTask}


def _parser_classes() -> dict[str, tuple[type, type]]:
    classes = {tag: (_with_iso_extensions(parser_class), spec_class)
               for tag, (parser_class, spec_class) in SpiffBpmnParser.OVERRIDE_PARSER_CLASSES.items()}
    for local, spec_class in _STEP_SPECS.items():
        classes[f"{BPMN}{local}"] = (IsoStepParser, spec_class)
    return classes


class IsoBpmnParser(SpiffBpmnParser):
    """Parses hardened, already XSD-checked trees (see `validation`): no XSD validator here.

    `strict` (the default) refuses a model that breaks the dialect's rules with a
    ValidationException; the validator parses with strict=False because it reports those
    rules itself, located at their line, and must still hear SpiffWorkflow's own errors."""

    PROCESS_PARSER_CLASS = IsoProcessParser
    OVERRIDE_PARSER_CLASSES = _parser_classes()

    def __init__(self, *, strict: bool = True) -> None:
        super().__init__(validator=None)
        self.strict = strict
        self.lanes: dict[str, str] = {}

    def add_bpmn_xml(self, bpmn, filename=None):  # type: ignore[no-untyped-def]
        for process in bpmn.iter(f"{BPMN}process"):
            self.lanes.update(lane_names(process))
        super().add_bpmn_xml(bpmn, filename)


def parse_specs(root: etree._Element, filename: str, process_id: str, *, strict: bool = True):  # type: ignore[no-untyped-def]
    """(spec, subprocess_specs) of one process of a document; raises what Spiff raises."""
    parser = IsoBpmnParser(strict=strict)
    parser.add_bpmn_xml(root, filename)
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    return spec, subprocess_specs
