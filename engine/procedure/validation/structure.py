"""Structure: one process per file, its scopes (process and embedded subprocesses), the
nodes the dialect supports, and reachability from the start events.

An unreachable region is reported once, at its entry (usually the node a missing
sequence flow should lead to), with the nodes behind it as consequences."""
from __future__ import annotations

from collections import deque

from lxml import etree

from ..expressions import script_refused_problem
from ..parser import lane_names
from ..problems import ModelProblem
from .context import BPMN, FLOW_NODES, MAX_FLOW_NODES, SPIFF, UNSUPPORTED_NODES, ModelContext, Scope


def the_process(ctx: ModelContext) -> etree._Element | None:
    """The single process of the document, or None with the problem reported."""
    root = ctx.root
    if root.tag != f"{BPMN}definitions":
        ctx.add("bpmn_not_definitions", "Phần tử gốc không phải bpmn:definitions.",
                "The root element is not bpmn:definitions.",
                "Save the model as BPMN 2.0 XML from the modeler.",
                "Lưu mô hình dưới dạng BPMN 2.0 XML từ công cụ vẽ (modeler).", root)
        return None
    processes = root.findall(f"{BPMN}process")
    if len(processes) != 1:
        ctx.add("process_count",
                f"Tệp phải có đúng một quy trình (process), đang có {len(processes)}.",
                f"A model file must hold exactly one process; this one has {len(processes)}.",
                "Put each procedure in its own .bpmn file; use embedded subprocesses for parts.",
                "Mỗi thủ tục một tệp .bpmn; dùng quy trình con (subprocess) cho từng phần.",
                processes[1] if len(processes) > 1 else root)
        return None
    process = processes[0]
    count = sum(1 for el in process.iter() if isinstance(el.tag, str) and etree.QName(el).localname in FLOW_NODES)
    if count > MAX_FLOW_NODES:
        ctx.add("too_many_elements", f"Quy trình có {count} bước/nút, tối đa {MAX_FLOW_NODES}.",
                f"The process has {count} flow nodes; the maximum is {MAX_FLOW_NODES}.",
                "Split the procedure; ISO procedures have tens of steps.",
                "Chia nhỏ quy trình; một quy trình ISO chỉ có vài chục bước.", process)
        return None
    return process


def collect_structure(ctx: ModelContext, process: etree._Element) -> None:
    ctx.lane_of = lane_names(process)
    _collect_scope(ctx, process, parent_node=None)


def _collect_scope(ctx: ModelContext, container: etree._Element, parent_node: str | None) -> None:
    scope = Scope(element=container, parent_node=parent_node)
    ctx.scopes.append(scope)
    flows: list[etree._Element] = []
    for child in container:
        if not isinstance(child.tag, str) or not child.tag.startswith(BPMN):
            continue
        local = etree.QName(child).localname
        if local == "sequenceFlow":
            flows.append(child)
        elif local in FLOW_NODES:
            node_id = child.get("id") or ""
            ctx.elements[node_id] = child
            ctx.kind[node_id] = local
            ctx.scope_of[node_id] = scope
            scope.nodes.append(node_id)
            scope.successors[node_id] = []
    for flow in flows:
        ctx.elements[flow.get("id") or ""] = flow
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in scope.successors and target in scope.successors:
            scope.successors[source].append(target)
    for node_id in scope.nodes:
        if ctx.kind[node_id] == "boundaryEvent":
            attached = ctx.elements[node_id].get("attachedToRef")
            if attached in scope.successors:
                scope.successors[attached].append(node_id)
    for node_id in list(scope.nodes):
        if ctx.kind[node_id] == "subProcess":
            _collect_scope(ctx, ctx.elements[node_id], parent_node=node_id)
    _check_reachability(ctx, scope)


def _label(ctx: ModelContext, node_id: str) -> str:
    return ctx.elements[node_id].get("name") or node_id


def _check_reachability(ctx: ModelContext, scope: Scope) -> None:
    scope.starts = [n for n in scope.nodes if ctx.kind[n] == "startEvent"]
    where = scope.element
    if not scope.starts:
        ctx.add("start_event_missing", "Quy trình/quy trình con không có sự kiện bắt đầu.",
                "The process or subprocess has no start event.", "Add a start event.",
                "Thêm một sự kiện bắt đầu (start event).", where)
        return
    if not any(ctx.kind[n] == "endEvent" for n in scope.nodes):
        ctx.add("end_event_missing", "Quy trình/quy trình con không có sự kiện kết thúc.",
                "The process or subprocess has no end event.", "Add an end event after the last step.",
                "Thêm một sự kiện kết thúc (end event) sau bước cuối.", where)
    seen = set(scope.starts)
    queue = deque(scope.starts)
    while queue:
        for nxt in scope.successors[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    unreached = [n for n in scope.nodes if n not in seen and not ctx.is_event_subprocess(n)]
    if unreached:
        _report_unreachable(ctx, scope, unreached)


def _report_unreachable(ctx: ModelContext, scope: Scope, unreached: list[str]) -> None:
    """One problem per entry into the unreachable region, the rest of it as consequences."""
    region = set(unreached)
    predecessors: dict[str, list[str]] = {n: [] for n in scope.nodes}
    for source, targets in scope.successors.items():
        for target in targets:
            predecessors[target].append(source)
    entries = [n for n in unreached if not any(p in region for p in predecessors[n])]
    assigned: set[str] = set()
    roots: list[tuple[str, list[str]]] = []
    for candidate in entries + unreached:  # a region that is only a loop enters at its first node
        if candidate in assigned:
            continue
        assigned.add(candidate)
        followers: list[str] = []
        queue = deque([candidate])
        while queue:
            for nxt in scope.successors[queue.popleft()]:
                if nxt in region and nxt not in assigned:
                    assigned.add(nxt)
                    followers.append(nxt)
                    queue.append(nxt)
        roots.append((candidate, followers))
    for node_id, followers in roots:
        label = _label(ctx, node_id)
        consequences = [
            ModelProblem(code="unreachable_element",
                         message_vi=f"Không thể đi tới {_label(ctx, f)!r} (vì không tới được {label!r}).",
                         message_en=f"{_label(ctx, f)!r} cannot be reached (it follows {label!r}).",
                         hint=f"Fixed by connecting {label!r}.", hint_vi=f"Sửa bằng cách nối {label!r}.",
                         element_id=f, line=ctx.elements[f].sourceline)
            for f in sorted(followers, key=scope.nodes.index)
        ]
        if predecessors[node_id]:
            vi = f"Không thể đi tới {label!r} từ sự kiện bắt đầu."
            en = f"{label!r} cannot be reached from the start event."
        else:
            vi = f"Không thể đi tới {label!r} từ sự kiện bắt đầu: không có luồng nào dẫn vào."
            en = f"{label!r} cannot be reached from the start event: no sequence flow leads into it."
        if consequences:
            vi += f" Vì vậy {len(consequences)} phần tử sau nó cũng không tới được."
            en += f" So {len(consequences)} element(s) after it cannot be reached either."
        problem = ctx.add("unreachable_element", vi, en,
                          "Connect it with a sequence flow from an earlier step, or delete it.",
                          "Nối nó bằng một luồng trình tự (sequence flow) từ bước trước, hoặc xóa nó.",
                          ctx.elements[node_id])
        if consequences:
            ctx.problems[-1] = problem.with_consequences(consequences)


def check_nodes(ctx: ModelContext) -> None:
    """Unsupported elements, loops and scripts (refused unless scripts are trusted)."""
    for node_id, kind in ctx.kind.items():
        element = ctx.elements[node_id]
        if kind in UNSUPPORTED_NODES:
            ctx.add("unsupported_element", f"Phần tử {kind} không được hỗ trợ trong quy trình ISO.",
                    f"{kind} elements are not supported in ISO procedure models.",
                    "Use user tasks (a person does the step), gateways, timers and embedded subprocesses.",
                    "Dùng userTask (một người làm bước), cổng rẽ nhánh (gateway), hẹn giờ (timer) và quy trình con.",
                    element)
        elif kind == "scriptTask" and not ctx.trusted_scripts:
            ctx.add_problem(script_refused_problem(), element)
        for loop in ("standardLoopCharacteristics", "multiInstanceLoopCharacteristics"):
            if element.find(f"{BPMN}{loop}") is not None:
                ctx.add("unsupported_element", "Bước lặp/đa thể hiện không được hỗ trợ.",
                        f"{loop} is not supported in ISO procedure models.",
                        "Model a repetition as an explicit loop back through a gateway.",
                        "Mô tả việc lặp lại bằng một vòng quay lại rõ ràng qua cổng rẽ nhánh (gateway).", element)
        if not ctx.trusted_scripts:
            for script in ("preScript", "postScript"):
                found = element.find(f"{BPMN}extensionElements/{SPIFF}{script}")
                if found is not None and (found.text or "").strip():
                    ctx.add_problem(script_refused_problem(), element)
