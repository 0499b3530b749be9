"""The ISO dialect's parser: SpiffWorkflow's Spiff parser that also reads Camunda
Modeler's `camunda:properties` and `camunda:candidateGroups`, so a model authored in either
modeler yields the same task extensions. Reading properties from XML lives here only."""
from __future__ import annotations

from lxml import etree
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.process import SpiffProcessParser

from engine.domain.vocabulary import NSMAP, ROLE

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


def _with_iso_extensions(parser_class: type) -> type:
    return type("Iso" + parser_class.__name__, (_IsoExtensions, parser_class), {})


class IsoProcessParser(SpiffProcessParser):
    pass


class IsoBpmnParser(SpiffBpmnParser):
    """Parses hardened, already XSD-checked trees (see `validator`): no validator here."""

    PROCESS_PARSER_CLASS = IsoProcessParser
    OVERRIDE_PARSER_CLASSES = {
        tag: (_with_iso_extensions(parser_class), spec_class)
        for tag, (parser_class, spec_class) in SpiffBpmnParser.OVERRIDE_PARSER_CLASSES.items()
    }

    def __init__(self) -> None:
        super().__init__(validator=None)


def parse_specs(root: etree._Element, filename: str, process_id: str):  # type: ignore[no-untyped-def]
    """(spec, subprocess_specs) of one process of a document; raises what Spiff raises."""
    parser = IsoBpmnParser()
    parser.add_bpmn_xml(root, filename)
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    return spec, subprocess_specs
