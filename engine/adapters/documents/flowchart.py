"""The flowchart (lưu đồ) of a procedure, drawn on the server as SVG from the model's own
BPMN diagram (`bpmndi`: shapes with bounds, edges with waypoints, label bounds), so the
ISO procedure document carries it in HTML and in the PDF WeasyPrint makes, with no
browser. Pools and lanes (named by role), tasks, events, gateways, subprocesses and
sequence flows with their labels are drawn; a model without a diagram gets no flowchart
(`flowchart_svg` returns None) and the document says so."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from lxml import etree
from markupsafe import Markup

from engine.domain.roles import STEP_ROLES, role_label
from engine.domain.vocabulary import BPMN_NS
from engine.procedure.xmlsafe import load_xml

BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

TASKS = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
         "businessRuleTask", "callActivity"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}

FONT = "Liberation Sans, DejaVu Sans, Arial, sans-serif"
FONT_SIZE = 11.0
CHAR_WIDTH = FONT_SIZE * 0.52  # average advance of a Vietnamese sans-serif letter at FONT_SIZE
LINE_HEIGHT = FONT_SIZE * 1.2
BASELINE_SHIFT = FONT_SIZE * 0.35  # from a line's middle to its baseline (no dominant-baseline in every renderer)
MARGIN = 12.0


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2


@dataclass
class Shape:
    element_id: str
    kind: str  # the BPMN element's local tag name
    name: str
    box: Box
    label: Box | None = None
    horizontal: bool = True
    end_kind: str = ""  # for events: timer, message... (the first event definition)


@dataclass
class Edge:
    element_id: str
    kind: str
    name: str
    points: list[tuple[float, float]]
    label: Box | None = None
    default: bool = False
    conditional: bool = False


@dataclass
class Diagram:
    shapes: list[Shape] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def bounds(self) -> Box:
        xs: list[float] = []
        ys: list[float] = []
        for shape in self.shapes:
            for box in (shape.box, shape.label):
                if box is not None:
                    xs += [box.x, box.x + box.width]
                    ys += [box.y, box.y + box.height]
        for edge in self.edges:
            xs += [p[0] for p in edge.points]
            ys += [p[1] for p in edge.points]
            if edge.label is not None:
                xs += [edge.label.x, edge.label.x + edge.label.width]
                ys += [edge.label.y, edge.label.y + edge.label.height]
        if not xs:
            return Box(0, 0, 0, 0)
        return Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _bounds(node: etree._Element | None) -> Box | None:
    if node is None:
        return None
    try:
        return Box(float(node.get("x", "0")), float(node.get("y", "0")),
                   float(node.get("width", "0")), float(node.get("height", "0")))
    except ValueError:
        return None


def read_diagram(source: bytes) -> Diagram | None:
    """The first BPMN diagram of a model as shapes and edges, or None when it has none."""
    loaded = load_xml(source)
    root = loaded.root
    if root is None:
        return None
    plane = root.find(f".//{{{BPMNDI_NS}}}BPMNPlane")
    if plane is None:
        return None
    semantic = {node.get("id"): node for node in root.iter() if isinstance(node.tag, str)
                and node.tag.startswith(f"{{{BPMN_NS}}}") and node.get("id")}
    defaults = {node.get("default") for node in semantic.values() if node.get("default")}
    diagram = Diagram()
    for node in plane:
        if not isinstance(node.tag, str):
            continue
        element = semantic.get(node.get("bpmnElement") or "")
        if element is None:
            continue
        kind = _local(element.tag)
        name = (element.get("name") or "").strip()
        label_node = node.find(f"{{{BPMNDI_NS}}}BPMNLabel/{{{DC_NS}}}Bounds")
        if _local(node.tag) == "BPMNShape":
            box = _bounds(node.find(f"{{{DC_NS}}}Bounds"))
            if box is None:
                continue
            definition = next((_local(child.tag).removesuffix("EventDefinition") for child in element
                               if isinstance(child.tag, str) and child.tag.endswith("EventDefinition")), "")
            diagram.shapes.append(Shape(element.get("id"), kind, name, box, _bounds(label_node),
                                        node.get("isHorizontal", "true") != "false", definition))
        elif _local(node.tag) == "BPMNEdge":
            points = []
            for point in node.findall(f"{{{DI_NS}}}waypoint"):
                try:
                    points.append((float(point.get("x", "0")), float(point.get("y", "0"))))
                except ValueError:
                    continue
            if len(points) >= 2:
                conditional = element.find(f"{{{BPMN_NS}}}conditionExpression") is not None
                diagram.edges.append(Edge(element.get("id"), kind, name, points, _bounds(label_node),
                                          element.get("id") in defaults, conditional))
    return diagram if diagram.shapes else None


def wrap(text: str, width: float) -> list[str]:
    """Words in lines that fit `width` at FONT_SIZE (an estimate: no font metrics here)."""
    per_line = max(4, int(width / CHAR_WIDTH))
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if len(candidate) <= per_line or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


SHRINK_STEPS = (1.0, 0.9, 0.8, 0.7, 0.6)  # a long step name is set smaller rather than cut


def _text_block(text: str, cx: float, cy: float, width: float, *, max_lines: int | None = None,
                height: float | None = None, css: str = "label") -> str:
    """The text centred in a box: wrapped at word breaks; when `height` is given and it
    does not fit, set in a smaller size (down to 60 %), and only then cut with "…"."""
    scale, lines = 1.0, wrap(text, width)
    if height is not None:
        for scale in SHRINK_STEPS:
            lines = wrap(text, width / scale)
            if len(lines) * LINE_HEIGHT * scale <= height:
                break
        max_lines = max(1, int(height // (LINE_HEIGHT * scale)))
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(".,;: ") + "…"
    if not lines:
        return ""
    step = LINE_HEIGHT * scale
    top = cy - (len(lines) - 1) * step / 2 + BASELINE_SHIFT * scale
    spans = "".join(f'<tspan x="{cx:.1f}" y="{top + i * step:.1f}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    size = f' style="font-size: {FONT_SIZE * scale:.1f}px"' if scale < 1.0 else ""  # over the sheet's text rule
    return f'<text class="{css}" text-anchor="middle"{size}>{spans}</text>'


def _lane_name(shape: Shape) -> str:
    return role_label(shape.name, "vi") if shape.name in STEP_ROLES else shape.name


def _draw_shape(shape: Shape) -> str:
    b = shape.box
    out: list[str] = []
    attrs = f'data-element-id={quoteattr(shape.element_id)}'
    if shape.kind in ("participant", "lane"):
        out.append(f'<rect {attrs} class="{shape.kind}" x="{b.x:.1f}" y="{b.y:.1f}" width="{b.width:.1f}" '
                   f'height="{b.height:.1f}"/>')
        name = _lane_name(shape) if shape.kind == "lane" else shape.name
        if name and shape.horizontal:
            band = 30.0
            lines = wrap(name, b.height - 8)[:2]
            cx, cy = b.x + band / 2, b.cy
            spans = "".join(f'<tspan x="{cx:.1f}" y="{cy + (i - (len(lines) - 1) / 2) * LINE_HEIGHT + BASELINE_SHIFT:.1f}">'
                            f'{escape(line)}</tspan>' for i, line in enumerate(lines))
            out.append(f'<line class="{shape.kind}" x1="{b.x + band:.1f}" y1="{b.y:.1f}" x2="{b.x + band:.1f}" '
                       f'y2="{b.y + b.height:.1f}"/>' if shape.kind == "participant" else "")
            out.append(f'<text class="pool-label" text-anchor="middle" '
                       f'transform="rotate(-90 {cx:.1f} {cy:.1f})">{spans}</text>')
        return "".join(out)
    if shape.kind in TASKS or shape.kind in SUBPROCESSES:
        css = "task" if shape.kind in TASKS else "subprocess"
        out.append(f'<rect {attrs} class="{css}" x="{b.x:.1f}" y="{b.y:.1f}" width="{b.width:.1f}" '
                   f'height="{b.height:.1f}" rx="8" ry="8"/>')
        if shape.kind in SUBPROCESSES:
            out.append(_text_block(shape.name, b.cx, b.y + 14, b.width - 10, max_lines=2))
        else:
            out.append(_text_block(shape.name, b.cx, b.cy, b.width - 10, height=b.height - 8))
        return "".join(out)
    if shape.kind in EVENTS:
        r = min(b.width, b.height) / 2
        css = {"startEvent": "event start", "endEvent": "event end"}.get(shape.kind, "event intermediate")
        out.append(f'<circle {attrs} class="{css}" cx="{b.cx:.1f}" cy="{b.cy:.1f}" r="{r:.1f}"/>')
        if "intermediate" in css:
            out.append(f'<circle class="event inner" cx="{b.cx:.1f}" cy="{b.cy:.1f}" r="{r - 3:.1f}"/>')
        if shape.end_kind == "timer":
            out.append(f'<circle class="marker-line" cx="{b.cx:.1f}" cy="{b.cy:.1f}" r="{r * 0.55:.1f}"/>'
                       f'<path class="marker-line" d="M{b.cx:.1f},{b.cy - r * 0.4:.1f} L{b.cx:.1f},{b.cy:.1f} '
                       f'L{b.cx + r * 0.3:.1f},{b.cy:.1f}"/>')
        out.append(_outside_label(shape))
        return "".join(out)
    if shape.kind in GATEWAYS:
        points = f"{b.cx:.1f},{b.y:.1f} {b.x + b.width:.1f},{b.cy:.1f} {b.cx:.1f},{b.y + b.height:.1f} {b.x:.1f},{b.cy:.1f}"
        out.append(f'<polygon {attrs} class="gateway" points="{points}"/>')
        d = b.width * 0.2
        if shape.kind == "exclusiveGateway":
            out.append(f'<path class="marker" d="M{b.cx - d:.1f},{b.cy - d:.1f} L{b.cx + d:.1f},{b.cy + d:.1f} '
                       f'M{b.cx + d:.1f},{b.cy - d:.1f} L{b.cx - d:.1f},{b.cy + d:.1f}"/>')
        elif shape.kind == "parallelGateway":
            out.append(f'<path class="marker" d="M{b.cx:.1f},{b.cy - d * 1.3:.1f} L{b.cx:.1f},{b.cy + d * 1.3:.1f} '
                       f'M{b.cx - d * 1.3:.1f},{b.cy:.1f} L{b.cx + d * 1.3:.1f},{b.cy:.1f}"/>')
        elif shape.kind == "inclusiveGateway":
            out.append(f'<circle class="marker" cx="{b.cx:.1f}" cy="{b.cy:.1f}" r="{d * 1.1:.1f}"/>')
        out.append(_outside_label(shape))
        return "".join(out)
    # data objects, annotations and anything else: a plain outline, so nothing silently vanishes
    out.append(f'<rect {attrs} class="other" x="{b.x:.1f}" y="{b.y:.1f}" width="{b.width:.1f}" height="{b.height:.1f}"/>')
    out.append(_text_block(shape.name, b.cx, b.cy, b.width, max_lines=3))
    return "".join(out)


def _outside_label(shape: Shape) -> str:
    """Events' and gateways' names sit outside them: at their label bounds, else below."""
    if not shape.name:
        return ""
    if shape.label is not None and shape.label.width > 0:
        return _text_block(shape.name, shape.label.cx, shape.label.cy, max(shape.label.width, 60), css="small")
    b = shape.box
    lines = len(wrap(shape.name, 100))
    return _text_block(shape.name, b.cx, b.y + b.height + 6 + lines * LINE_HEIGHT / 2, 100, css="small")


def _draw_edge(edge: Edge) -> str:
    d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(edge.points))
    out = [f'<path data-element-id={quoteattr(edge.element_id)} class="flow" d="{d}" marker-end="url(#arrow)"/>']
    (x0, y0), (x1, y1) = edge.points[0], edge.points[1]
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    if edge.default:  # the default flow's slash near its source
        mx, my = x0 + ux * 10, y0 + uy * 10
        out.append(f'<path class="flow-mark" d="M{mx - 5 * uy - 4 * ux:.1f},{my + 5 * ux - 4 * uy:.1f} '
                   f'L{mx + 5 * uy + 4 * ux:.1f},{my - 5 * ux + 4 * uy:.1f}"/>')
    if edge.name:
        if edge.label is not None and edge.label.width > 0:
            out.append(_text_block(edge.name, edge.label.cx, edge.label.cy, max(edge.label.width, 50), css="small"))
        else:
            (ax, ay), (bx, by) = _longest_segment(edge.points)
            out.append(_text_block(edge.name, (ax + bx) / 2, (ay + by) / 2 - 8, 90, css="small"))
    return "".join(out)


def _longest_segment(points: list[tuple[float, float]]) -> tuple[tuple[float, float], tuple[float, float]]:
    return max(zip(points, points[1:]), key=lambda s: math.hypot(s[1][0] - s[0][0], s[1][1] - s[0][1]))


STYLE = f"""
text {{ font-family: {FONT}; font-size: {FONT_SIZE}px; fill: #000; }}
text.small {{ font-size: {FONT_SIZE - 1}px; }}
text.pool-label {{ font-weight: bold; }}
rect.participant, rect.lane {{ fill: none; stroke: #000; stroke-width: 1; }}
line.participant {{ stroke: #000; stroke-width: 1; }}
rect.task {{ fill: #fff; stroke: #000; stroke-width: 1.5; }}
rect.subprocess {{ fill: none; stroke: #000; stroke-width: 1.5; }}
rect.other {{ fill: none; stroke: #666; stroke-dasharray: 4 3; }}
circle.event {{ fill: #fff; stroke: #000; stroke-width: 1.5; }}
circle.event.end {{ stroke-width: 4; }}
circle.event.inner {{ fill: none; stroke-width: 1; }}
polygon.gateway {{ fill: #fff; stroke: #000; stroke-width: 1.5; }}
.marker {{ fill: none; stroke: #000; stroke-width: 3; }}
.marker-line {{ fill: none; stroke: #000; stroke-width: 1; }}
path.flow {{ fill: none; stroke: #000; stroke-width: 1.2; }}
path.flow-mark {{ fill: none; stroke: #000; stroke-width: 1.2; }}
"""


def flowchart_svg(source: bytes, *, title: str = "") -> Markup | None:
    """The model's diagram as one inline SVG (scaled by its viewBox to the width it is
    given), or None when the model has no diagram."""
    diagram = read_diagram(source)
    if diagram is None:
        return None
    area = diagram.bounds()
    x, y = area.x - MARGIN, area.y - MARGIN
    width, height = area.width + 2 * MARGIN, area.height + 2 * MARGIN
    containers = [s for s in diagram.shapes if s.kind in ("participant", "lane")]
    subprocesses = [s for s in diagram.shapes if s.kind in SUBPROCESSES]
    nodes = [s for s in diagram.shapes if s not in containers and s not in subprocesses]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flowchart" viewBox="{x:.1f} {y:.1f} {width:.1f} {height:.1f}" '
        f'width="100%" preserveAspectRatio="xMidYMin meet" role="img">',
        f"<title>{escape(title)}</title>" if title else "",
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
        "orient=\"auto\" markerUnits=\"userSpaceOnUse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#000\"/></marker>"
        f"<style>{STYLE}</style></defs>",
    ]
    # pools and lanes under subprocesses under flows under the nodes the flows join
    parts += [_draw_shape(s) for s in containers + subprocesses]
    parts += [_draw_edge(e) for e in diagram.edges]
    parts += [_draw_shape(s) for s in nodes]
    parts.append("</svg>")
    return Markup("".join(parts))
