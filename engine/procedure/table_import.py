"""Table -> BPMN: turn a checked `ProcedureTable` into a BPMN 2.0 model with a pool, one
lane per role, user tasks carrying the isoflow properties, exclusive gateways for the
decisions, and a complete diagram (BPMNDI) laid out lane by lane so the model opens in
bpmn-js and Camunda Modeler. `bpmn_to_table` reads such a model back (round trip).

Layout: every flow node gets its own column, left to right in table order (a deciding
step is followed by its gateway, an ending step by its end event), and sits in the row
of its lane. Because a column holds one node, vertical edge segments never cross a
node, and long or backward edges run in a channel along the bottom margin of a lane,
below every node. bpmn-auto-layout (and its Python port `bpmn-io`) ignores lanes, so
this small layout of our own is used instead.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from lxml import etree

from engine.errors import InvalidInput, Problem
from engine.procedure.forms import FormError, check_form, load_form_file, outcome_values
from engine.procedure.table_model import (
    COMMUNE_CATEGORIES,
    ProcedureMeta,
    ProcedureTable,
    Source,
    StepRow,
    read_table,
)
from engine.procedure.parser import read_properties
from engine.procedure import table_facts as facts
from engine.domain import vocabulary as v
from engine.domain.vocabulary import BPMN_NS, SPIFF_NS
from engine.procedure.xmlsafe import load_xml
from engine.domain.roles import role_label

BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS,
         "xsi": XSI_NS, "spiffworkflow": SPIFF_NS}
TARGET_NAMESPACE = "https://isoflow.vn/bpmn/procedures"
EXPORTER = "isoflow import-table"

# Diagram geometry (pixels).
POOL_X, POOL_Y, POOL_LABEL_W = 120, 60, 30
LANE_H = 160
COL_W = 150
FIRST_COL_X = POOL_X + POOL_LABEL_W + 60
TASK_W, TASK_H = 110, 80
GATEWAY_SIZE = 50
EVENT_SIZE = 36
CHANNEL_MARGIN = 12  # distance of the first edge channel above a lane's bottom border
CHANNEL_STEP = 10
CHANNELS_PER_LANE = 3  # 12, 22, 32 px above the border: all below the nodes (40 px margin)
PORT_OFFSET = 15  # channel edges leave a node right of its centre and enter left of it, never on one line


def _q(ns: str, tag: str) -> str:
    return f"{{{NSMAP[ns]}}}{tag}"


def process_id(code: str) -> str:
    return "proc_" + code.replace(".", "_")


@dataclass
class _Node:
    id: str
    kind: str  # userTask | exclusiveGateway | startEvent | endEvent
    name: str
    lane: str
    column: int
    incoming: list[str]
    outgoing: list[str]

    @property
    def size(self) -> tuple[int, int]:
        if self.kind == "userTask":
            return TASK_W, TASK_H
        if self.kind == "exclusiveGateway":
            return GATEWAY_SIZE, GATEWAY_SIZE
        return EVENT_SIZE, EVENT_SIZE


@dataclass
class _Flow:
    id: str
    source: str
    target: str
    name: str = ""
    condition: str = ""
    is_default: bool = False


def table_to_bpmn(table: ProcedureTable) -> bytes:
    """BPMN 2.0 XML (UTF-8 bytes, with declaration) for a checked procedure table."""
    meta = table.meta
    lanes: list[str] = []
    for step in table.steps:
        if step.role not in lanes:
            lanes.append(step.role)

    nodes: dict[str, _Node] = {}
    flows: list[_Flow] = []
    column = 0

    def add_node(node_id: str, kind: str, name: str, lane: str) -> _Node:
        nonlocal column
        node = _Node(node_id, kind, name, lane, column, [], [])
        nodes[node_id] = node
        column += 1
        return node

    def connect(source: str, target: str, flow_id: str = "", **kwargs: object) -> None:
        flow = _Flow(flow_id or f"flow_{source}_to_{target}", source, target, **kwargs)  # type: ignore[arg-type]
        if any(f.id == flow.id for f in flows):
            flow.id += f"_{len(flows)}"
        flows.append(flow)
        nodes[source].outgoing.append(flow.id)

    first = table.steps[0]
    add_node("start", "startEvent", "Tiếp nhận yêu cầu", first.role)
    for step in table.steps:
        add_node(step.id, "userTask", step.name, step.role)
        if step.decides:
            add_node(f"gw_{step.id}", "exclusiveGateway", step.gateway_name or f"{step.name}: kết quả?", step.role)
        elif table.is_end(step):
            add_node(f"end_{step.id}", "endEvent", step.end_name or "Kết thúc", step.role)

    connect("start", first.id)
    for step in table.steps:
        if step.decides:
            gateway = f"gw_{step.id}"
            connect(step.id, gateway)
            for index, (outcome, target) in enumerate(step.outcomes.items()):
                target_id = table.next_of(step.id) if target == "next" else target
                # the flow id names the outcome, so the default branch (no condition) reads back too
                connect(gateway, target_id, flow_id=f"flow_{step.id}_{outcome}", name=step.outcome_label(outcome),
                        condition="" if index == 0 else f"outcome == '{outcome}'", is_default=index == 0)
        elif table.is_end(step):
            connect(step.id, f"end_{step.id}")
        else:
            connect(step.id, table.successors(step)[0])
    for flow in flows:
        nodes[flow.target].incoming.append(flow.id)

    definitions = etree.Element(_q("bpmn", "definitions"), nsmap=NSMAP)
    definitions.set("id", f"defs_{process_id(meta.code)}")
    definitions.set("targetNamespace", TARGET_NAMESPACE)
    definitions.set("exporter", EXPORTER)
    definitions.set("exporterVersion", "1")
    collab = etree.SubElement(definitions, _q("bpmn", "collaboration"), id=f"collab_{process_id(meta.code)}")
    pid = process_id(meta.code)
    etree.SubElement(collab, _q("bpmn", "participant"), id=f"pool_{pid}",
                     name=f"UBND xã - {meta.name}", processRef=pid)
    process = etree.SubElement(definitions, _q("bpmn", "process"), id=pid, name=meta.name, isExecutable="true")
    doc = _process_documentation(meta)
    if doc:
        etree.SubElement(process, _q("bpmn", "documentation")).text = doc
    _properties(process, _process_properties(meta))
    lane_set = etree.SubElement(process, _q("bpmn", "laneSet"), id=f"lanes_{pid}")
    for role in lanes:
        lane = etree.SubElement(lane_set, _q("bpmn", "lane"), id=f"lane_{role}", name=role)
        etree.SubElement(lane, _q("bpmn", "documentation")).text = role_label(role)
        for node in nodes.values():
            if node.lane == role:
                etree.SubElement(lane, _q("bpmn", "flowNodeRef")).text = node.id

    steps_by_id = {s.id: s for s in table.steps}
    flows_by_id = {f.id: f for f in flows}
    for node in nodes.values():
        element = etree.SubElement(process, _q("bpmn", node.kind), id=node.id, name=node.name)
        if node.kind == "exclusiveGateway":
            default = next(f for f in node.outgoing if flows_by_id[f].is_default)
            element.set("default", default)
        if node.kind == "userTask":
            _properties(element, _task_properties(steps_by_id[node.id]))
        for flow_id in node.incoming:
            etree.SubElement(element, _q("bpmn", "incoming")).text = flow_id
        for flow_id in node.outgoing:
            etree.SubElement(element, _q("bpmn", "outgoing")).text = flow_id
    for flow in flows:
        element = etree.SubElement(process, _q("bpmn", "sequenceFlow"), id=flow.id,
                                   sourceRef=flow.source, targetRef=flow.target)
        if flow.name:
            element.set("name", flow.name)
        if flow.condition:
            cond = etree.SubElement(element, _q("bpmn", "conditionExpression"))
            cond.set(f"{{{XSI_NS}}}type", "bpmn:tFormalExpression")
            cond.text = flow.condition

    _diagram(definitions, collab.get("id"), f"pool_{pid}", lanes, nodes, flows, column)
    return etree.tostring(definitions, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _process_properties(meta: ProcedureMeta) -> list[tuple[str, str]]:
    props = [("procedure_code", meta.code), ("field", meta.field), ("time_limit", meta.time_limit),
             ("time_basis", meta.time_basis)]
    props += [(f"time_limit.{cat}", meta.category_limits[cat]) for cat in COMMUNE_CATEGORIES if cat in meta.category_limits]
    props += [("legal_basis", meta.legal_basis), ("fee", meta.fee)]
    if meta.iso_document_code:
        props.append(("iso_document_code", meta.iso_document_code))
    props.append(("revision", meta.revision))
    if meta.name_en:
        props.append(("name_en", meta.name_en))
    if meta.components:
        props.append((v.COMPONENTS, facts.to_json([c.as_dict() for c in meta.components])))
    if meta.result:
        props.append((v.RESULT, meta.result))
    if meta.conditional_limits:
        props.append((v.CONDITIONAL_LIMITS, facts.to_json([c.as_dict() for c in meta.conditional_limits])))
    if meta.evidence:
        props.append((v.PROVENANCE, facts.to_json(meta.evidence)))
    if meta.legal_forms:
        props.append((v.LEGAL_FORMS, facts.to_json([f.as_dict() for f in meta.legal_forms])))
    return props


def _task_properties(step: StepRow) -> list[tuple[str, str]]:
    props = [("duration", step.duration), ("clock", step.clock)]
    if step.form:  # optional (engine.procedure.rules): a step without one is completed by confirming it
        props.append(("form", step.form))
    if step.record:
        props.append(("record", step.record))
    props.append(("status", str(step.status)))
    return props


def _process_documentation(meta: ProcedureMeta) -> str:
    parts = [meta.description] if meta.description else []
    for source in meta.sources:  # primary sources only: how they were reached (`via`) stays in the table
        if not source.secondary:
            parts.append("Nguồn / source: " + " - ".join(x for x in (source.title, source.url, source.note) if x))
    for note in meta.unverified:
        parts.append("Chưa kiểm chứng / unverified: " + note)
    for fact, evidence in meta.evidence.items():  # shown wherever the unverified notes are shown
        if facts.is_unconfirmed(evidence):
            label = facts.FACT_LABELS.get(fact, (fact, fact))[0]
            parts.append(f"Chưa kiểm chứng / unverified: {UNCONFIRMED_FACT_MARK}{label}: {evidence}")
    return "\n".join(parts)


# Marks the documentation lines made from the `provenance` property, so reading back skips them.
UNCONFIRMED_FACT_MARK = "[dữ kiện] "


def _properties(parent: etree._Element, props: list[tuple[str, str]]) -> None:
    ext = etree.SubElement(parent, _q("bpmn", "extensionElements"))
    container = etree.SubElement(ext, _q("spiffworkflow", "properties"))
    for name, value in props:
        etree.SubElement(container, _q("spiffworkflow", "property"), name=name, value=value)


# ---------------------------------------------------------------- diagram


def _diagram(definitions: etree._Element, collab_id: str, pool_id: str, lanes: list[str],
             nodes: dict[str, _Node], flows: list[_Flow], columns: int) -> None:
    lane_row = {role: i for i, role in enumerate(lanes)}
    pool_w = (FIRST_COL_X - POOL_X) + columns * COL_W + 40
    pool_h = len(lanes) * LANE_H

    def center(node: _Node) -> tuple[int, int]:
        return FIRST_COL_X + node.column * COL_W + TASK_W // 2, POOL_Y + lane_row[node.lane] * LANE_H + LANE_H // 2

    def bounds(node: _Node) -> tuple[int, int, int, int]:
        cx, cy = center(node)
        w, h = node.size
        return cx - w // 2, cy - h // 2, w, h

    diagram = etree.SubElement(definitions, _q("bpmndi", "BPMNDiagram"), id=f"diagram_{collab_id}")
    plane = etree.SubElement(diagram, _q("bpmndi", "BPMNPlane"), id=f"plane_{collab_id}", bpmnElement=collab_id)

    def shape(element_id: str, x: int, y: int, w: int, h: int, **attrs: str) -> etree._Element:
        s = etree.SubElement(plane, _q("bpmndi", "BPMNShape"), id=f"{element_id}_di", bpmnElement=element_id, **attrs)
        etree.SubElement(s, _q("dc", "Bounds"), x=str(x), y=str(y), width=str(w), height=str(h))
        return s

    shape(pool_id, POOL_X, POOL_Y, pool_w, pool_h, isHorizontal="true")
    for role, row in lane_row.items():
        shape(f"lane_{role}", POOL_X + POOL_LABEL_W, POOL_Y + row * LANE_H, pool_w - POOL_LABEL_W, LANE_H,
              isHorizontal="true")
    for node in nodes.values():
        x, y, w, h = bounds(node)
        s = shape(node.id, x, y, w, h, **({"isMarkerVisible": "true"} if node.kind == "exclusiveGateway" else {}))
        if node.kind != "userTask":  # external label below gateways and events
            label = etree.SubElement(s, _q("bpmndi", "BPMNLabel"))
            etree.SubElement(label, _q("dc", "Bounds"), x=str(x + w // 2 - 50), y=str(y + h + 4), width="100", height="27")

    channel_use: dict[int, int] = {}
    for flow in flows:
        source, target = nodes[flow.source], nodes[flow.target]
        sx, sy, sw, sh = bounds(source)
        tx, ty, tw, th = bounds(target)
        scx, scy = center(source)
        tcx, tcy = center(target)
        if target.column == source.column + 1:
            if scy == tcy:
                points = [(sx + sw, scy), (tx, tcy)]
            else:
                mid = (sx + sw + tx) // 2
                points = [(sx + sw, scy), (mid, scy), (mid, tcy), (tx, tcy)]
        else:
            row = max(lane_row[source.lane], lane_row[target.lane])
            used = channel_use.get(row, 0)
            channel_use[row] = used + 1
            channel = POOL_Y + (row + 1) * LANE_H - CHANNEL_MARGIN - CHANNEL_STEP * (used % CHANNELS_PER_LANE)
            target_entry = ty + th if channel > tcy else ty
            exit_x, entry_x = scx + PORT_OFFSET, tcx - PORT_OFFSET
            points = [(exit_x, sy + sh), (exit_x, channel), (entry_x, channel), (entry_x, target_entry)]
        edge = etree.SubElement(plane, _q("bpmndi", "BPMNEdge"), id=f"{flow.id}_di", bpmnElement=flow.id)
        for px, py in points:
            etree.SubElement(edge, _q("di", "waypoint"), x=str(px), y=str(py))
        if flow.name:  # beside the source for short edges, beside the target for channel edges
            lx, ly = points[0] if len(points) <= 4 and target.column == source.column + 1 else points[-2]
            label = etree.SubElement(edge, _q("bpmndi", "BPMNLabel"))
            etree.SubElement(label, _q("dc", "Bounds"), x=str(lx + 4), y=str(ly - 18), width="90", height="14")


# ---------------------------------------------------------------- reading back


def bpmn_to_table(xml: bytes) -> ProcedureTable:
    """Read a model made by `table_to_bpmn` (or written by hand in the same vocabulary)
    back into a procedure table: steps in table order with roles, durations, forms and
    decisions. Used for the round trip and, later, for the ISO procedure document."""
    loaded = load_xml(xml)
    if loaded.root is None:
        raise InvalidInput("the BPMN file cannot be read", "không đọc được tệp BPMN", problems=loaded.problems,
                           hint="export the model again from the modeller")
    ns = {"bpmn": BPMN_NS}
    process = loaded.root.find("bpmn:process", ns)
    if process is None:
        raise InvalidInput("the BPMN has no process", "tệp BPMN không có quy trình (process)",
                           hint="export the model again from the modeller")

    props = read_properties  # spiffworkflow: and camunda: properties alike
    p = props(process)
    doc = process.findtext("bpmn:documentation", default="", namespaces=ns)
    sources, unverified, description = [], [], []
    for line in doc.splitlines():
        if line.startswith("Nguồn / source: "):
            sources.append(Source(line.removeprefix("Nguồn / source: ")))
        elif line.startswith("Chưa kiểm chứng / unverified: " + UNCONFIRMED_FACT_MARK):
            continue  # made from the provenance property, read below
        elif line.startswith("Chưa kiểm chứng / unverified: "):
            unverified.append(line.removeprefix("Chưa kiểm chứng / unverified: "))
        elif line:
            description.append(line)
    meta = ProcedureMeta(
        code=p.get("procedure_code", ""), name=process.get("name", ""), field=p.get("field", ""),
        time_limit=p.get("time_limit", ""), legal_basis=p.get("legal_basis", ""), fee=p.get("fee", ""),
        time_basis=p.get("time_basis", "working"),
        category_limits={c: p[f"time_limit.{c}"] for c in COMMUNE_CATEGORIES if f"time_limit.{c}" in p},
        name_en=p.get("name_en", ""), iso_document_code=p.get("iso_document_code", ""),
        revision=p.get("revision", "1"), description="\n".join(description),
        sources=tuple(sources), unverified=tuple(unverified),
        components=facts.components_from_json(p.get(v.COMPONENTS, "")), result=p.get(v.RESULT, ""),
        conditional_limits=facts.conditional_limits_from_json(p.get(v.CONDITIONAL_LIMITS, "")),
        evidence=facts.evidence_from_json(p.get(v.PROVENANCE, "")),
        legal_forms=facts.legal_forms_from_json(p.get(v.LEGAL_FORMS, "")),
    )
    lane_of: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall("bpmn:flowNodeRef", ns):
            lane_of[(ref.text or "").strip()] = lane.get("name", "")
    flows = {f.get("id"): f for f in process.findall("bpmn:sequenceFlow", ns)}
    out_flows: dict[str, list[etree._Element]] = {}
    for f in flows.values():
        out_flows.setdefault(f.get("sourceRef"), []).append(f)
    kinds = {el.get("id"): etree.QName(el).localname for el in process if el.get("id")}
    tasks = [el for el in process.findall("bpmn:userTask", ns)]
    order = [t.get("id") for t in tasks]  # document order = table order for generated models

    steps: list[StepRow] = []
    for task in tasks:
        tid = task.get("id")
        tp = props(task)
        outgoing = out_flows.get(tid, [])
        outcomes: dict[str, str] = {}
        labels: dict[str, str] = {}
        then, end, gateway_name, end_name = "", False, "", ""
        nxt = order[order.index(tid) + 1] if order.index(tid) + 1 < len(order) else None
        if len(outgoing) == 1:
            target = outgoing[0].get("targetRef")
            kind = kinds.get(target)
            if kind == "exclusiveGateway":
                gateway = process.find(f"bpmn:exclusiveGateway[@id='{target}']", ns)
                gateway_name = gateway.get("name", "") if gateway is not None else ""
                default = gateway.get("default") if gateway is not None else None
                branches = sorted(out_flows.get(target, []), key=lambda f: f.get("id") != default)
                for branch in branches:
                    cond = branch.findtext("bpmn:conditionExpression", default="", namespaces=ns).strip()
                    outcome = _outcome_of(cond) if cond else ""
                    prefix = f"flow_{tid}_"
                    if not outcome and branch.get("id", "").startswith(prefix):
                        outcome = branch.get("id")[len(prefix):]
                    if not outcome:
                        outcome = "default"
                    dest = branch.get("targetRef")
                    outcomes[outcome] = "next" if dest == nxt else dest
                    if branch.get("name"):
                        labels[outcome] = branch.get("name")
            elif kind == "endEvent":
                end = True
                end_name = next((e.get("name", "") for e in process.findall("bpmn:endEvent", ns) if e.get("id") == target), "")
            elif target != nxt:
                then = target
        steps.append(StepRow(
            id=tid, name=task.get("name", ""), role=lane_of.get(tid) or tp.get("role", ""), duration=tp.get("duration", ""),
            form=tp.get("form", ""), clock=tp.get("clock", "running"), status=int(tp.get("status", "4") or 4),
            record=tp.get("record", ""), outcomes=outcomes, then=then, end=end,
            gateway_name=gateway_name, end_name=end_name, outcome_labels=labels,
        ))
    return ProcedureTable(meta=meta, steps=tuple(steps))


def _outcome_of(condition: str) -> str:
    text = condition.replace('"', "'").replace(" ", "")
    if text.startswith("outcome=='") and text.endswith("'"):
        return text[len("outcome=='"):-1]
    return ""


# ---------------------------------------------------------------- files


def import_table_file(path: str | Path) -> tuple[ProcedureTable, bytes]:
    """Read, check and convert one table file."""
    table = read_table(path)
    return table, table_to_bpmn(table)


def read_tables(path: str | Path, source: str = "") -> list[tuple[ProcedureTable, str]]:
    """Every procedure table in a file with the name of the model file to write: one for a
    .yaml/.yml/.csv table, one per procedure of a province's .xlsx/.docx annex (`source`
    names the publication when the file does not). Raises InvalidInput with every problem."""
    from engine.procedure.province_table import PROVINCE_SUFFIXES, read_province_file

    p = Path(path)
    if p.suffix.lower() in PROVINCE_SUFFIXES:
        return [(t, f"{t.meta.code}-{t.slug}.bpmn") for t in read_province_file(p, source)]
    return [(read_table(p), output_name(p))]


def output_name(table_path: str | Path) -> str:
    """`bpmn/tables/1.000894-marriage-registration.yaml` -> `1.000894-marriage-registration.bpmn`."""
    return Path(table_path).stem + ".bpmn"


def check_forms(table: ProcedureTable, forms_dir: str | Path) -> list[Problem]:
    """Problems with the step forms found in `forms_dir`: missing or unreadable files, and
    deciding steps whose form does not offer exactly the outcomes the step branches on
    (an extra choice would silently take the default branch)."""
    problems: list[Problem] = []
    base = Path(forms_dir)
    for step in table.steps:
        if not step.form:  # a step without a form (a deciding step always has one: table_model)
            continue
        try:
            schema = load_form_file(base, step.form)
            check_form(schema)
        except FileNotFoundError:
            problems.append(Problem("missing_form", f"Bước {step.id}: không có biểu mẫu {base / (step.form + '.json')}",
                                    f"step {step.id}: form file {base / (step.form + '.json')} does not exist",
                                    "write the JSON Schema form (see docs/import-table.md)",
                                    element_id=step.id, line=step.line, field="form"))
            continue
        except FormError as exc:
            problems.append(Problem("invalid_form", f"Bước {step.id}: biểu mẫu {step.form} không dùng được: {exc}",
                                    f"step {step.id}: form {step.form} is not usable: {exc}", "fix the JSON Schema",
                                    element_id=step.id, line=step.line, field="form"))
            continue
        if not step.decides:
            continue
        offered = outcome_values(schema) or frozenset()
        required = "outcome" in (schema.get("required") or [])
        if not required or set(step.outcomes) != offered:
            wanted = sorted(step.outcomes)
            problems.append(Problem(
                "form_outcome",
                f"Bước {step.id}: biểu mẫu {step.form} phải có trường bắt buộc 'outcome' với đúng các giá trị {wanted} (hiện có {sorted(offered)})",
                f"step {step.id}: form {step.form} must require 'outcome' offering exactly {wanted} (it offers {sorted(offered)})",
                "use a form whose outcome choices match the step's outcomes, or change the outcomes",
                element_id=step.id, line=step.line, field="form"))
    return problems


def validate_table_model(table: ProcedureTable, xml: bytes, forms_dir: str | Path) -> list[Problem]:
    """The procedure validator's verdict on the model generated from `table` (statutory
    limit, forms, expressions...), each problem pointed back at the table row it comes from."""
    from engine.procedure.validator import validate_source  # the validator imports Spiff: load on use

    report = validate_source(xml, f"{table.meta.code}.bpmn", forms_dir=Path(forms_dir))
    steps = {s.id: s for s in table.steps}
    by_length = sorted(steps, key=len, reverse=True)

    def step_of(element_id: str | None) -> StepRow | None:
        if not element_id:
            return None
        if element_id in steps:
            return steps[element_id]
        for prefix in ("gw_", "end_", "flow_"):
            if element_id.startswith(prefix):
                rest = element_id[len(prefix):]
                match = next((sid for sid in by_length if rest == sid or rest.startswith(sid + "_")), None)
                if match:
                    return steps[match]
        return None

    located = []
    for problem in report.problems:
        step = step_of(problem.element_id)
        if step is not None:
            column = next((c for c in ("form", "duration", "clock", "status", "role") if c in problem.code), None)
            if column is None and "outcome" in problem.code:
                column = "form"
            located.append(replace(problem, element_id=step.id, field=problem.field or column,
                                   line=step.key_lines.get(column, step.line) if column else step.line))
        else:  # a process-level problem: the limit ones belong to the time_limit row
            key = v.TIME_LIMIT if problem.code.startswith("limit") else None
            located.append(replace(problem, field=problem.field or key,
                                   line=table.meta.key_lines.get(key) if key else None))
    return located
