"""Builds small BPMN models for tests and benchmarks, one element per line so a test can
find the line of any element by its id (`line_of`)."""
from __future__ import annotations

from xml.sax.saxutils import quoteattr

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
    ' xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
    ' xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
    ' id="defs" targetNamespace="https://isoflow.test/bpmn">\n'
)

PROCESS_PROPS = {
    "procedure_code": "1.001193",
    "field": "civil_status",
    "time_limit": "same-day",
}


def props(values: dict[str, str], ns: str = "spiffworkflow") -> str:
    if not values:
        return ""
    inner = "".join(f'<{ns}:property name={quoteattr(k)} value={quoteattr(v)} />' for k, v in values.items())
    return f"<bpmn:extensionElements><{ns}:properties>{inner}</{ns}:properties></bpmn:extensionElements>"


def task(task_id: str, name: str | None = "Bước", values: dict[str, str] | None = None, *, tag: str = "userTask",
         ns: str = "spiffworkflow", attrs: str = "", inner: str = "") -> str:
    name_attr = f" name={quoteattr(name)}" if name is not None else ""
    return f'<bpmn:{tag} id="{task_id}"{name_attr}{attrs}>{props(values or {}, ns)}{inner}</bpmn:{tag}>\n'


def start(node_id: str = "start", inner: str = "") -> str:
    return f'<bpmn:startEvent id="{node_id}">{inner}</bpmn:startEvent>\n'


def end(node_id: str = "end") -> str:
    return f'<bpmn:endEvent id="{node_id}" />\n'


def gateway(node_id: str, tag: str = "exclusiveGateway", default: str | None = None) -> str:
    default_attr = f' default="{default}"' if default else ""
    return f'<bpmn:{tag} id="{node_id}"{default_attr} />\n'


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}" />\n'
    cond = condition.replace("&", "&amp;").replace("<", "&lt;")
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f"<bpmn:conditionExpression>{cond}</bpmn:conditionExpression></bpmn:sequenceFlow>\n")


def timer_event(node_id: str, kind: str, expression: str, *, boundary_of: str | None = None) -> str:
    expr = expression.replace("&", "&amp;").replace("<", "&lt;")
    definition = f"<bpmn:timerEventDefinition><bpmn:{kind}>{expr}</bpmn:{kind}></bpmn:timerEventDefinition>"
    if boundary_of:
        return f'<bpmn:boundaryEvent id="{node_id}" attachedToRef="{boundary_of}">{definition}</bpmn:boundaryEvent>\n'
    return f'<bpmn:intermediateCatchEvent id="{node_id}">{definition}</bpmn:intermediateCatchEvent>\n'


def lanes(assignment: dict[str, list[str]]) -> str:
    out = ['<bpmn:laneSet id="lanes">\n']
    for i, (lane_name, nodes) in enumerate(assignment.items()):
        refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes)
        out.append(f'<bpmn:lane id="lane_{i}" name="{lane_name}">{refs}</bpmn:lane>\n')
    out.append("</bpmn:laneSet>\n")
    return "".join(out)


def model(body: str, *, process_props: dict[str, str] | None = None, lane_xml: str = "",
          process_id: str = "proc", name: str | None = "Thủ tục thử", ns: str = "spiffworkflow",
          prolog: str = "") -> str:
    values = PROCESS_PROPS if process_props is None else process_props
    name_attr = f" name={quoteattr(name)}" if name is not None else ""
    return (
        (prolog + HEADER if prolog else HEADER)
        + f'<bpmn:process id="{process_id}"{name_attr} isExecutable="true">\n'
        + (props(values, ns) + "\n" if values else "")
        + lane_xml
        + body
        + "</bpmn:process>\n</bpmn:definitions>\n"
    )


def line_of(xml: str, element_id: str) -> int:
    """1-based line of the element whose id is `element_id` (found as text, not parsed)."""
    position = xml.index(f'id="{element_id}"')
    return xml.count("\n", 0, position) + 1


DECISION_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Thẩm định",
    "type": "object",
    "properties": {
        "outcome": {"type": "string", "title": "Kết quả", "oneOf": [
            {"const": "approve", "title": "Đồng ý"},
            {"const": "refuse", "title": "Từ chối"},
        ]},
    },
    "required": ["outcome"],
}
FORMS = {"decision": DECISION_FORM}
# long_model's deciding steps approve or send the citizen to supplement (no refusal branch).
REVIEW_FORM = {**DECISION_FORM, "properties": {"outcome": {"type": "string", "title": "Kết quả", "oneOf": [
    {"const": "approve", "title": "Đồng ý"},
    {"const": "supplement", "title": "Yêu cầu bổ sung"},
]}}}
LONG_MODEL_FORMS = {"review": REVIEW_FORM}


def small_valid_model(**overrides: str) -> str:
    """start -> receive (clerk) -> appraise (justice, form decision) -> gateway -> sign (chair) | refuse."""
    step = {"receive": "PT15M", "appraise": "PT45M", "sign": "PT30M", "notify": "PT15M"}
    step.update(overrides)
    body = (
        start()
        + task("receive", "Tiếp nhận", {"duration": step["receive"]})
        + task("appraise", "Thẩm định", {"duration": step["appraise"], "form": "decision"})
        + gateway("gw")
        + task("sign", "Ký", {"duration": step["sign"]})
        + task("notify", "Trả văn bản từ chối", {"duration": step["notify"]})
        + end("end_ok") + end("end_refused")
        + flow("f1", "start", "receive") + flow("f2", "receive", "appraise") + flow("f3", "appraise", "gw")
        + flow("f_ok", "gw", "sign", "outcome == 'approve'")
        + flow("f_no", "gw", "notify", "outcome == 'refuse'")
        + flow("f4", "sign", "end_ok") + flow("f5", "notify", "end_refused")
    )
    lane_xml = lanes({"one_stop_clerk": ["start", "receive", "notify", "end_refused"],
                      "justice_officer": ["appraise", "gw"], "chair": ["sign", "end_ok"]})
    return model(body, lane_xml=lane_xml)


def long_model(steps: int, *, step_duration: str = "PT1H", time_limit: str = "P10D") -> str:
    """`steps` running steps in a chain through three lanes, with an approve/supplement gateway
    every fifth step (the supplement branch is a paused step looping back): bench input."""
    roles = ["one_stop_clerk", "justice_officer", "chair"]
    lane_nodes: dict[str, list[str]] = {r: [] for r in roles}
    body = [start("start")]
    lane_nodes["one_stop_clerk"].append("start")
    previous = "start"
    for i in range(1, steps + 1):
        sid = f"step_{i}"
        decides = i % 5 == 0
        values = {"duration": step_duration}
        if decides:
            values["form"] = "review"
        body.append(task(sid, f"Bước {i}", values))
        lane_nodes[roles[i % 3]].append(sid)
        body.append(flow(f"f_in_{i}", previous, sid))
        previous = sid
        if decides:
            gw, pause = f"gw_{i}", f"pause_{i}"
            body.append(gateway(gw, default=f"f_ok_{i}"))
            body.append(task(pause, f"Chờ bổ sung {i}", {"duration": "P5D", "clock": "paused"}))
            lane_nodes["one_stop_clerk"].append(pause)
            lane_nodes[roles[i % 3]].append(gw)
            body.append(flow(f"f_gw_{i}", sid, gw))
            body.append(flow(f"f_sup_{i}", gw, pause, "outcome == 'supplement'"))
            body.append(flow(f"f_back_{i}", pause, sid))
            body.append(f'<bpmn:exclusiveGateway id="join_{i}" />\n')
            lane_nodes[roles[i % 3]].append(f"join_{i}")
            body.append(flow(f"f_ok_{i}", gw, f"join_{i}"))
            previous = f"join_{i}"
    body.append(end("end"))
    lane_nodes["one_stop_clerk"].append("end")
    body.append(flow("f_end", previous, "end"))
    return model("".join(body), lane_xml=lanes(lane_nodes),
                 process_props={**PROCESS_PROPS, "time_limit": time_limit})
