"""Judging a model: every problem at once, each with a code, element id, line, message in
Vietnamese and English, and a hint. Nothing from the model is ever executed.

Order: hardened XML load -> BPMN XSD -> ISO vocabulary, graph, expressions and forms
(read with lxml, because SpiffWorkflow drops process and gateway properties) ->
SpiffWorkflow's own parser. `analyse` returns the problems and, when there are none,
everything `model.ProcedureModel` is built from.
"""
from __future__ import annotations

import ast
import heapq
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterable

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser import VALIDATOR

from engine.errors import Problem
from engine.domain.fields import FIELDS
from engine.domain.roles import STEP_ROLES

from engine.domain import vocabulary as v
from .expressions import UnsafeExpression, compile_expression, script_refused_problem
from .forms import FORM_ID_PATTERN, FormError, check_form, load_form_file, outcome_values
from .parser import parse_specs, read_properties
from .specs import ProcessMetadata, StepDefinition
from .xmlsafe import MAX_ELEMENTS, MAX_SOURCE_BYTES, load_xml

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
TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")


@dataclass
class ValidationReport:
    filename: str
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.filename, "ok": self.ok, "problems": [p.to_dict() for p in self.problems]}


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


@dataclass
class Analysis:
    """Everything learnt from a valid model; `model.ProcedureModel` is built from it."""

    root: etree._Element
    metadata: ProcessMetadata
    steps: dict[str, StepDefinition]
    step_order: list[str]
    forms: dict[str, dict[str, Any]]
    remaining: Callable[[], dict[str, timedelta]]  # computed on demand: validation alone does not need it
    gateway_variables: frozenset[str]
    spec: Any
    subprocess_specs: dict[str, Any]


class _Checker:
    def __init__(self, root: etree._Element, filename: str, forms: dict[str, Any] | None,
                 forms_dir: Path | None, trusted_scripts: bool) -> None:
        self.root = root
        self.filename = filename
        self.forms_given = forms
        self.forms_dir = forms_dir
        self.trusted_scripts = trusted_scripts
        self.problems: list[Problem] = []
        self.elements: dict[str, etree._Element] = {}
        self.kind: dict[str, str] = {}  # flow node id -> local tag name
        self.scope_of: dict[str, Scope] = {}
        self.scopes: list[Scope] = []
        self.lane_of: dict[str, str] = {}
        self.steps: dict[str, StepDefinition] = {}
        self.forms: dict[str, dict[str, Any]] = {}
        self.bad_forms: set[str] = set()
        self.variables: set[str] = set()

    # -- reporting ------------------------------------------------------------------
    def add(self, code: str, vi: str, en: str, hint: str, element: etree._Element | None = None,
            element_id: str | None = None) -> None:
        line = element.sourceline if element is not None else None
        if element_id is None and element is not None:
            element_id = element.get("id")
        self.problems.append(Problem(code=code, message_vi=vi, message_en=en, hint=hint,
                                     element_id=element_id, line=line))

    def add_problem(self, problem: Problem, element: etree._Element) -> None:
        self.problems.append(Problem(
            code=problem.code, message_vi=problem.message_vi, message_en=problem.message_en,
            hint=problem.hint, element_id=element.get("id"), line=element.sourceline))

    # -- entry ----------------------------------------------------------------------
    def run(self) -> Analysis | None:
        processes = self.root.findall(f"{BPMN}process")
        if self.root.tag != f"{BPMN}definitions":
            self.add("bpmn_not_definitions", "Phần tử gốc không phải bpmn:definitions.",
                     "The root element is not bpmn:definitions.",
                     "Save the model as BPMN 2.0 XML from the modeler.", self.root)
            return None
        if len(processes) != 1:
            self.add("process_count",
                     f"Tệp phải có đúng một quy trình (process), đang có {len(processes)}.",
                     f"A model file must hold exactly one process; this one has {len(processes)}.",
                     "Put each procedure in its own .bpmn file; use embedded subprocesses for parts.",
                     processes[1] if len(processes) > 1 else self.root)
            return None
        process = processes[0]
        flow_count = sum(1 for el in process.iter() if isinstance(el.tag, str) and etree.QName(el).localname in FLOW_NODES)
        if flow_count > MAX_FLOW_NODES:
            self.add("too_many_elements", f"Quy trình có {flow_count} bước/nút, tối đa {MAX_FLOW_NODES}.",
                     f"The process has {flow_count} flow nodes; the maximum is {MAX_FLOW_NODES}.",
                     "Split the procedure; ISO procedures have tens of steps.", process)
            return None
        metadata = self.check_process(process)
        self.collect_lanes(process)
        self.collect_scope(process, parent_node=None)
        self.check_nodes()
        self.check_expressions()
        for scope in reversed(self.scopes):  # inner scopes first: a subprocess weighs its longest path
            self.order_scope(scope)
        self.check_outcomes()
        self.check_outcome_routing()
        if metadata is not None:
            self.check_limits(process, metadata)
        try:  # SpiffWorkflow's own checks run even when ours found problems: every problem at once
            spec, subprocess_specs = parse_specs(self.root, self.filename, process.get("id"))
        except Exception as exc:  # noqa: BLE001 - any parser failure is reported, never raised
            self.report_spiff_error(exc, process)
        if self.problems or metadata is None:
            return None
        return Analysis(
            root=self.root, metadata=metadata, steps=self.steps, step_order=self.step_order(),
            forms=self.forms, remaining=self.total_remaining, gateway_variables=frozenset(self.variables),
            spec=spec, subprocess_specs=subprocess_specs,
        )

    # -- process --------------------------------------------------------------------
    def check_process(self, process: etree._Element) -> ProcessMetadata | None:
        props = read_properties(process)
        bad = False
        for name in props:
            if name not in v.PROCESS_PROPERTIES and not name.startswith(v.CATEGORY_LIMIT_PREFIX):
                bad = True
                self.add("property_unknown", f"Thuộc tính quy trình {name!r} không có trong bộ từ vựng.",
                         f"Unknown process property {name!r}.",
                         "Process properties: " + ", ".join(sorted(v.PROCESS_PROPERTIES)) + ", time_limit.<category>.",
                         process)
        name = (process.get("name") or "").strip()
        if not name:
            bad = True
            self.add("process_name_missing", "Quy trình chưa có tên.", "The process has no name.",
                     "Give the process the procedure's Vietnamese name (e.g. Đăng ký khai sinh).", process)
        code = props.get(v.PROCEDURE_CODE, "")
        if not code:
            bad = True
            self.add("process_code_missing", "Quy trình thiếu mã thủ tục (procedure_code).",
                     "The process has no procedure_code.",
                     "Add the property procedure_code with the national code, e.g. 1.001193.", process)
        elif not v.PROCEDURE_CODE_PATTERN.match(code):
            bad = True
            self.add("process_code_invalid", f"Mã thủ tục {code!r} không đúng dạng.",
                     f"The procedure_code {code!r} is not a national procedure code.",
                     "Use the code from the national database, digits.six digits, e.g. 1.001193.", process)
        field_code = props.get(v.FIELD, "")
        if not field_code:
            bad = True
            self.add("process_field_missing", "Quy trình thiếu lĩnh vực (field).", "The process has no field.",
                     "Add the property field, e.g. civil_status.", process)
        elif field_code not in FIELDS:
            bad = True
            self.add("process_field_unknown", f"Lĩnh vực {field_code!r} không có trong danh mục.",
                     f"The field {field_code!r} is not in the field registry.",
                     "Known fields: " + ", ".join(sorted(FIELDS)) + ".", process)
        basis = props.get(v.TIME_BASIS, v.BASIS_WORKING) or v.BASIS_WORKING
        if basis not in v.TIME_BASES:
            bad = True
            self.add("time_basis_invalid", f"Cách tính thời hạn {basis!r} không hợp lệ.",
                     f"The time_basis {basis!r} is not allowed.",
                     "Use time_basis = working (default) or calendar.", process)
            basis = v.BASIS_WORKING
        limit = props.get(v.TIME_LIMIT, "")
        if not limit:
            bad = True
            self.add("process_limit_missing", "Quy trình thiếu thời hạn giải quyết (time_limit).",
                     "The process has no time_limit.",
                     "Add time_limit: P3D (3 working days), PT4H, or same-day.", process)
        elif not self.limit_ok(limit, basis, process, v.TIME_LIMIT):
            bad = True
        by_category: dict[str, str] = {}
        for prop_name, value in props.items():
            if not prop_name.startswith(v.CATEGORY_LIMIT_PREFIX):
                continue
            category = prop_name[len(v.CATEGORY_LIMIT_PREFIX):]
            if category not in v.COMMUNE_CATEGORIES:
                bad = True
                self.add("limit_category_unknown", f"Loại xã {category!r} không có trong danh mục.",
                         f"Unknown commune category {category!r} in {prop_name!r}.",
                         "Categories: " + ", ".join(v.COMMUNE_CATEGORIES) + "; e.g. time_limit.mountainous = P30D.",
                         process)
            elif self.limit_ok(value, basis, process, prop_name):
                by_category[category] = value
            else:
                bad = True
        if bad:
            return None
        return ProcessMetadata(
            process_id=process.get("id") or "", name=name, name_en=props.get(v.NAME_EN) or None,
            procedure_code=code, field=field_code, time_limit=limit, time_basis=basis,
            limits_by_category=by_category, legal_basis=props.get(v.LEGAL_BASIS) or None,
            fee=props.get(v.FEE) or None, iso_document_code=props.get(v.ISO_DOCUMENT_CODE) or None,
            revision=props.get(v.REVISION) or None,
        )

    def limit_ok(self, text: str, basis: str, process: etree._Element, prop_name: str) -> bool:
        try:
            v.limit_budget(text, basis)
            return True
        except v.DurationError as exc:
            self.add("process_limit_invalid", f"Thời hạn {prop_name} = {text!r} không hợp lệ.",
                     f"The limit {prop_name} = {text!r} is invalid: {exc}.",
                     "Working basis: P3D, P0.5D, PT4H or same-day; calendar basis: whole days such as P30D.",
                     process)
            return False

    # -- structure ------------------------------------------------------------------
    def collect_lanes(self, container: etree._Element) -> None:
        for lane_set in container.findall(f"{BPMN}laneSet"):
            self._collect_lane_set(lane_set)

    def _collect_lane_set(self, lane_set: etree._Element) -> None:
        for lane in lane_set.findall(f"{BPMN}lane"):
            lane_name = (lane.get("name") or "").strip()
            for ref in lane.findall(f"{BPMN}flowNodeRef"):
                if ref.text:
                    self.lane_of[ref.text.strip()] = lane_name
            for child in lane.findall(f"{BPMN}childLaneSet"):
                self._collect_lane_set(child)  # nested lanes: the innermost wins

    def collect_scope(self, container: etree._Element, parent_node: str | None) -> None:
        scope = Scope(element=container, parent_node=parent_node)
        self.scopes.append(scope)
        flows: list[etree._Element] = []
        for child in container:
            if not isinstance(child.tag, str) or not child.tag.startswith(BPMN):
                continue
            local = etree.QName(child).localname
            if local == "sequenceFlow":
                flows.append(child)
            elif local in FLOW_NODES:
                node_id = child.get("id") or ""
                self.elements[node_id] = child
                self.kind[node_id] = local
                self.scope_of[node_id] = scope
                scope.nodes.append(node_id)
                scope.successors[node_id] = []
                if parent_node is not None and node_id not in self.lane_of and parent_node in self.lane_of:
                    self.lane_of[node_id] = self.lane_of[parent_node]  # tasks inherit the subprocess lane
        for flow in flows:
            self.elements[flow.get("id") or ""] = flow
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source in scope.successors and target in scope.successors:
                scope.successors[source].append(target)
        for node_id in scope.nodes:
            element = self.elements[node_id]
            if self.kind[node_id] == "boundaryEvent":
                attached = element.get("attachedToRef")
                if attached in scope.successors:
                    scope.successors[attached].append(node_id)
        for node_id in list(scope.nodes):
            if self.kind[node_id] == "subProcess":
                self.collect_lanes(self.elements[node_id])
                self.collect_scope(self.elements[node_id], parent_node=node_id)
        self.check_reachability(scope)

    def is_event_subprocess(self, node_id: str) -> bool:
        return self.kind.get(node_id) == "subProcess" and self.elements[node_id].get("triggeredByEvent") == "true"

    def check_reachability(self, scope: Scope) -> None:
        scope.starts = [n for n in scope.nodes if self.kind[n] == "startEvent"]
        where = scope.element
        if not scope.starts:
            self.add("start_event_missing", "Quy trình/quy trình con không có sự kiện bắt đầu.",
                     "The process or subprocess has no start event.", "Add a start event.", where)
            return
        if not any(self.kind[n] == "endEvent" for n in scope.nodes):
            self.add("end_event_missing", "Quy trình/quy trình con không có sự kiện kết thúc.",
                     "The process or subprocess has no end event.", "Add an end event after the last step.", where)
        seen = set(scope.starts)
        queue = deque(scope.starts)
        while queue:
            for nxt in scope.successors[queue.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        for node_id in scope.nodes:
            if node_id not in seen and not self.is_event_subprocess(node_id):
                element = self.elements[node_id]
                label = element.get("name") or node_id
                self.add("unreachable_element", f"Không thể đi tới {label!r} từ sự kiện bắt đầu.",
                         f"{label!r} cannot be reached from the start event.",
                         "Connect it with a sequence flow from an earlier step, or delete it.", element)

    # -- nodes ----------------------------------------------------------------------
    def check_nodes(self) -> None:
        for node_id, kind in self.kind.items():
            element = self.elements[node_id]
            if kind in UNSUPPORTED_NODES:
                self.add("unsupported_element", f"Phần tử {kind} không được hỗ trợ trong quy trình ISO.",
                         f"{kind} elements are not supported in ISO procedure models.",
                         "Use user tasks (a person does the step), gateways, timers and embedded subprocesses.",
                         element)
            elif kind == "scriptTask" and not self.trusted_scripts:
                self.add_problem(script_refused_problem(), element)
            for loop in ("standardLoopCharacteristics", "multiInstanceLoopCharacteristics"):
                if element.find(f"{BPMN}{loop}") is not None:
                    self.add("unsupported_element", "Bước lặp/đa thể hiện không được hỗ trợ.",
                             f"{loop} is not supported in ISO procedure models.",
                             "Model a repetition as an explicit loop back through a gateway.", element)
            if not self.trusted_scripts:
                for script in ("preScript", "postScript"):
                    found = element.find(f"{BPMN}extensionElements/{SPIFF}{script}")
                    if found is not None and (found.text or "").strip():
                        self.add_problem(script_refused_problem(), element)
            if kind in HUMAN_TASKS:
                self.check_step(node_id, element)
        self.load_forms()

    def check_step(self, node_id: str, element: etree._Element) -> None:
        props = read_properties(element)
        ok = True
        for name in props:
            if name not in v.TASK_PROPERTIES:
                ok = False
                self.add("property_unknown", f"Thuộc tính bước {name!r} không có trong bộ từ vựng.",
                         f"Unknown task property {name!r}.",
                         "Task properties: " + ", ".join(sorted(v.TASK_PROPERTIES)) + ".", element)
        name = (element.get("name") or "").strip()
        if not name:
            ok = False
            self.add("task_name_missing", "Bước chưa có tên (việc phải làm).", "The step has no name.",
                     "Name the step with what is done, e.g. Tiếp nhận hồ sơ.", element)
        lane = self.lane_of.get(node_id)
        role = props.get(v.ROLE) or lane or ""
        if not role:
            ok = False
            self.add("role_missing", f"Bước {name or node_id!r} chưa có người thực hiện (vai trò).",
                     f"The step {name or node_id!r} has no role.",
                     "Put the step in a lane named with a role code, or set the task property role.", element)
        elif role not in STEP_ROLES:
            ok = False
            self.add("role_unknown", f"Vai trò {role!r} của bước {name or node_id!r} không có trong danh mục.",
                     f"The role {role!r} of step {name or node_id!r} is not a known step role.",
                     "Known roles: " + ", ".join(sorted(STEP_ROLES)) + ".", element)
        duration = timedelta(0)
        text = props.get(v.DURATION, "")
        if not text:
            ok = False
            self.add("duration_missing", f"Bước {name or node_id!r} chưa có thời gian (duration).",
                     f"The step {name or node_id!r} has no duration.",
                     "Add the task property duration in working time, e.g. PT4H, P0.5D or P2D.", element)
        else:
            try:
                duration = v.parse_working_duration(text)
            except v.DurationError as exc:
                ok = False
                self.add("duration_invalid", f"Thời gian {text!r} của bước {name or node_id!r} không hợp lệ.",
                         f"The duration of step {name or node_id!r} is invalid: {exc}.",
                         "Use ISO 8601 working time: PT30M, PT4H, P0.5D, P1DT2H (1 day = 8 working hours).", element)
        clock = props.get(v.CLOCK) or v.CLOCK_RUNNING
        if clock not in v.CLOCKS:
            ok = False
            self.add("clock_invalid", f"Giá trị clock {clock!r} không hợp lệ.", f"The clock {clock!r} is not allowed.",
                     "Use clock = running (default) or paused (the step waits on the citizen).", element)
            clock = v.CLOCK_RUNNING
        status = v.DEFAULT_STATUS[clock]
        if props.get(v.STATUS):
            raw = props[v.STATUS]
            if raw.isdigit() and int(raw) in v.NATIONAL_STATUSES:
                status = int(raw)
            else:
                ok = False
                self.add("status_invalid", f"Mã trạng thái {raw!r} không hợp lệ.",
                         f"The status {raw!r} is not a national status code.",
                         "Use 4 (processing), 5 (supplementation), 6 (financial obligation) or 9 (processed).",
                         element)
        form = props.get(v.FORM) or None
        if form is not None and not FORM_ID_PATTERN.match(form):
            ok = False
            self.add("form_invalid", f"Mã biểu mẫu {form!r} không hợp lệ.", f"The form id {form!r} is invalid.",
                     "Form ids hold lowercase letters, digits, '_' and '-', e.g. birth_appraisal.", element)
            form = None
        if ok:
            self.steps[node_id] = StepDefinition(
                bpmn_id=node_id, name=name, name_en=props.get(v.NAME_EN) or None, role=role,
                duration=duration, clock=clock, form=form, record=props.get(v.RECORD) or None,
                status=status, lane=lane,
            )

    def load_forms(self) -> None:
        wanted: dict[str, list[str]] = {}
        for node_id in self.kind:
            if self.kind[node_id] in HUMAN_TASKS:
                form = read_properties(self.elements[node_id]).get(v.FORM)
                if form and FORM_ID_PATTERN.match(form):
                    wanted.setdefault(form, []).append(node_id)
        self.forms = {}
        for form_id, users in wanted.items():
            element = self.elements[users[0]]
            try:
                if self.forms_given is not None and form_id in self.forms_given:
                    schema = self.forms_given[form_id]
                elif self.forms_dir is not None and self.forms_given is None:
                    schema = load_form_file(self.forms_dir, form_id)
                else:
                    raise FileNotFoundError(form_id)
                check_form(schema)
                self.forms[form_id] = schema
            except FileNotFoundError:
                self.bad_forms.add(form_id)
                where = f" in {self.forms_dir}" if self.forms_dir is not None and self.forms_given is None else ""
                self.add("form_missing", f"Không tìm thấy biểu mẫu {form_id!r}.",
                         f"The form {form_id!r} was not found{where}.",
                         f"Add forms/{form_id}.json (JSON Schema 2020-12) next to the model.", element)
            except FormError as exc:
                self.bad_forms.add(form_id)
                self.add("form_invalid", f"Biểu mẫu {form_id!r} không hợp lệ: {exc}.",
                         f"The form {form_id!r} is invalid: {exc}.",
                         "A form is a JSON Schema (draft 2020-12) with \"type\": \"object\".", element)

    # -- expressions ----------------------------------------------------------------
    def check_expressions(self) -> None:
        for element in self.root.iter(f"{BPMN}conditionExpression", f"{BPMN}condition"):
            owner = element.getparent()
            if etree.QName(owner).localname == "conditionalEventDefinition":
                owner = owner.getparent()
            try:
                compiled = compile_expression(element.text or "")
                self.variables |= compiled.names
            except UnsafeExpression as exc:
                self.add_problem(exc.problem, owner)
        for timer in self.root.iter(f"{BPMN}timerEventDefinition"):
            event = timer.getparent()
            for kind in TIMER_KINDS:
                node = timer.find(f"{BPMN}{kind}")
                if node is not None:
                    self.check_timer(kind, (node.text or "").strip(), event)

    def check_timer(self, kind: str, text: str, event: etree._Element) -> None:
        try:
            compiled = compile_expression(text)
        except UnsafeExpression as exc:
            self.add_problem(exc.problem, event)
            return
        body = compiled.tree.body
        if isinstance(body, ast.Name) and (body.id[:1] in ("P", "R") or body.id[:1].isdigit()):
            self.add("timer_expression_invalid", f"Biểu thức hẹn giờ {text!r} phải đặt trong dấu nháy.",
                     f"The timer expression {text!r} must be quoted.",
                     f'Timer values are expressions: write "{text}" with quotes.', event)
            return
        if compiled.names:
            self.variables |= compiled.names
            return  # read from task data at run time; the interpreter bounds it
        try:
            value = compiled.evaluate({})
            if not isinstance(value, str):
                raise ValueError("not text")
            if kind == "timeDuration":
                TimerEventDefinition.parse_iso_duration(value)
            elif kind == "timeDate":
                TimerEventDefinition.get_datetime(value)
            else:
                TimerEventDefinition.parse_iso_recurring_interval(value)
        except Exception as exc:  # noqa: BLE001 - Spiff raises bare Exception('Invalid duration')
            self.add("timer_expression_invalid", f"Biểu thức hẹn giờ {text!r} không hợp lệ.",
                     f"The timer {kind} {text!r} is not a valid ISO 8601 value ({exc}).",
                     'Examples: timeDuration "PT4H", timeDate "2026-03-05T17:00:00+07:00", timeCycle "R3/PT1H".',
                     event)

    # -- paths and time -------------------------------------------------------------
    def weight(self, node_id: str) -> timedelta:
        kind = self.kind[node_id]
        if kind in HUMAN_TASKS:
            step = self.steps.get(node_id)
            return step.duration if step is not None and step.clock == v.CLOCK_RUNNING else timedelta(0)
        if kind == "subProcess" and not self.is_event_subprocess(node_id):
            inner = next((s for s in self.scopes if s.parent_node == node_id), None)
            return inner.longest if inner is not None else timedelta(0)
        return timedelta(0)

    def longest_paths(self, scope: Scope, sources: list[str]) -> tuple[list[str], dict[str, timedelta], dict[str, str | None]]:
        """Cut loops once (DFS back edges from `sources`), then longest running path to an end in the DAG.

        Returns the topological order, each node's longest remaining time, and the next node on it.
        """
        index = {n: i for i, n in enumerate(scope.nodes)}
        back: set[tuple[str, str]] = set()
        state: dict[str, int] = {}  # 1 on stack, 2 done
        for source in sources:
            if source in state:
                continue
            stack = [(source, iter(scope.successors[source]))]
            state[source] = 1
            while stack:
                node, children = stack[-1]
                nxt = next(children, None)
                if nxt is None:
                    state[node] = 2
                    stack.pop()
                elif state.get(nxt) == 1:
                    back.add((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(scope.successors[nxt])))
        reachable = [n for n in scope.nodes if n in state]
        dag = {n: [m for m in scope.successors[n] if (n, m) not in back and m in state] for n in reachable}
        indegree = {n: 0 for n in reachable}
        for n in reachable:
            for m in dag[n]:
                indegree[m] += 1
        ready = [(index[n], n) for n in reachable if indegree[n] == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, node = heapq.heappop(ready)
            order.append(node)
            for m in dag[node]:
                indegree[m] -= 1
                if indegree[m] == 0:
                    heapq.heappush(ready, (index[m], m))
        remaining: dict[str, timedelta] = {}
        best_next: dict[str, str | None] = {}
        for node in reversed(order):
            best, chosen = timedelta(0), None
            for m in dag[node]:
                if chosen is None or remaining[m] > best:
                    best, chosen = remaining[m], m
            remaining[node] = self.weight(node) + best
            best_next[node] = chosen
        return order, remaining, best_next

    def order_scope(self, scope: Scope) -> None:
        scope.order, scope.remaining, scope.best_next = self.longest_paths(scope, scope.starts)
        scope.longest = max((scope.remaining[s] for s in scope.starts if s in scope.remaining), default=timedelta(0))

    def remaining_from(self, node: str) -> timedelta:
        """Longest running path from `node` to its scope's end, loops cut as seen from the node
        itself (a step inside a loop, e.g. supplementation, still has the rest of the loop to go)."""
        scope = self.scope_of[node]
        _, remaining, _ = self.longest_paths(scope, [node])
        return remaining.get(node, timedelta(0))

    def total_remaining(self) -> dict[str, timedelta]:
        """Per step: the longest running path from it (itself included) to the process end."""
        after_scope: dict[int, timedelta] = {}

        def after(scope: Scope) -> timedelta:
            key = id(scope)
            if key not in after_scope:
                if scope.parent_node is None:
                    after_scope[key] = timedelta(0)
                else:
                    node = scope.parent_node
                    rest = self.remaining_from(node) - self.weight(node)
                    after_scope[key] = rest + after(self.scope_of[node])
            return after_scope[key]

        return {sid: self.remaining_from(sid) + after(self.scope_of[sid]) for sid in self.steps}

    def step_order(self) -> list[str]:
        ordered: list[str] = []

        def walk(scope: Scope) -> None:
            for node in scope.order:
                if node in self.steps:
                    ordered.append(node)
                elif self.kind[node] == "subProcess":
                    inner = next((s for s in self.scopes if s.parent_node == node), None)
                    if inner is not None:
                        walk(inner)

        walk(self.scopes[0])
        for scope in self.scopes:  # event subprocesses and anything not on a path, in document order
            for node in scope.nodes:
                if node in self.steps and node not in ordered:
                    ordered.append(node)
        return ordered

    def critical_path(self) -> list[str]:
        path: list[str] = []
        scope = self.scopes[0]
        node = max(scope.starts, key=lambda s: scope.remaining.get(s, timedelta(0)), default=None)
        while node is not None:
            if self.kind[node] in HUMAN_TASKS and self.weight(node):
                path.append(self.elements[node].get("name") or node)
            elif self.kind[node] == "subProcess" and self.weight(node):
                path.append(self.elements[node].get("name") or node)
            node = scope.best_next.get(node)
        return path

    def check_limits(self, process: etree._Element, metadata: ProcessMetadata) -> None:
        longest = self.scopes[0].longest
        limits = [(None, metadata.time_limit)] + sorted(metadata.limits_by_category.items())
        for category, text in limits:
            budget = v.limit_budget(text, metadata.time_basis)
            if longest <= budget:
                continue
            path = " → ".join(self.critical_path())
            label_vi = f" (xã loại {category})" if category else ""
            label_en = f" for {category} communes" if category else ""
            prop = v.TIME_LIMIT + (f".{category}" if category else "")
            self.add("limit_exceeded",
                     f"Tổng thời gian các bước dài nhất ({v.format_working(longest)}: {path}) vượt thời hạn "
                     f"{text}{label_vi} ({v.format_working(budget)} làm việc).",
                     f"The longest path of running steps takes {v.format_working(longest)} ({path}), more than "
                     f"the limit {prop} = {text}{label_en}, a budget of {v.format_working(budget)} working time.",
                     "Shorten step durations on that path, mark waiting-on-citizen steps clock = paused, "
                     "or correct the limit.", process)

    # -- gateways and forms ---------------------------------------------------------
    def preceding_steps(self, gateway_id: str) -> set[str]:
        scope = self.scope_of[gateway_id]
        predecessors: dict[str, list[str]] = {}
        for n, succ in scope.successors.items():
            for m in succ:
                predecessors.setdefault(m, []).append(n)
        found: set[str] = set()
        seen = {gateway_id}
        queue = deque([gateway_id])
        while queue:
            for prev in predecessors.get(queue.popleft(), []):
                if prev in seen:
                    continue
                seen.add(prev)
                if self.kind[prev] in HUMAN_TASKS:
                    found.add(prev)
                elif self.kind[prev] in GATEWAYS or self.kind[prev] in ("intermediateCatchEvent", "intermediateThrowEvent"):
                    queue.append(prev)
        return found

    def gateway_conditions(self):
        """(flow, gateway id, compiled condition) for every conditional flow out of a
        gateway whose condition compiles (the others are reported elsewhere)."""
        for flow in self.root.iter(f"{BPMN}sequenceFlow"):
            condition = flow.find(f"{BPMN}conditionExpression")
            source = flow.get("sourceRef") or ""
            if condition is None or self.kind.get(source) not in GATEWAYS:
                continue
            try:
                yield flow, source, compile_expression(condition.text or "")
            except UnsafeExpression:
                continue

    def check_outcomes(self) -> None:
        for flow, source, compiled in self.gateway_conditions():
            values = _outcome_constants(compiled.tree)
            if not values:
                continue
            for step_id in sorted(self.preceding_steps(source)):
                step_el = self.elements[step_id]
                step_name = step_el.get("name") or step_id
                form_id = read_properties(step_el).get(v.FORM)
                if form_id in self.bad_forms:
                    continue
                allowed = outcome_values(self.forms[form_id]) if form_id in self.forms else None
                if allowed is None:
                    self.add("outcome_not_declared",
                             f"Điều kiện {compiled.source!r} đọc outcome nhưng biểu mẫu của bước {step_name!r} không khai báo outcome.",
                             f"The condition {compiled.source!r} reads outcome, but the form of step {step_name!r} "
                             f"does not declare it.",
                             'Give that step a form whose properties.outcome lists the choices: '
                             '"oneOf": [{"const": "approve", "title": "Đồng ý"}, ...].', flow)
                    continue
                for value in sorted(values - allowed):
                    self.add("outcome_value_unknown",
                             f"Điều kiện dùng outcome {value!r} nhưng biểu mẫu {form_id!r} chỉ cho phép "
                             f"{', '.join(sorted(allowed))}.",
                             f"The condition uses outcome {value!r}, but form {form_id!r} of step {step_name!r} "
                             f"allows only {', '.join(sorted(allowed))}.",
                             f"Add {value!r} to the outcome oneOf of {form_id}, or fix the condition.", flow)

    def check_outcome_routing(self) -> None:
        """Every outcome a deciding step offers must lead somewhere on purpose: at most one
        untested choice may take the gateway's default flow (else two different choices,
        e.g. approve and supplement, would silently go the same way), and with no default
        flow every choice needs its own condition (else the run stops at the gateway)."""
        tested: dict[str, set[str]] = {}
        for _, source, compiled in self.gateway_conditions():
            tested.setdefault(source, set()).update(_outcome_constants(compiled.tree))
        for gateway_id, values in sorted(tested.items()):
            if not values:
                continue
            gateway = self.elements[gateway_id]
            has_default = bool(gateway.get("default"))
            for step_id in sorted(self.preceding_steps(gateway_id)):
                form_id = read_properties(self.elements[step_id]).get(v.FORM)
                if form_id in self.bad_forms or form_id not in self.forms:
                    continue
                offered = outcome_values(self.forms[form_id]) or frozenset()
                untested = sorted(offered - values)
                if (has_default and len(untested) > 1) or (not has_default and untested):
                    step_name = self.elements[step_id].get("name") or step_id
                    self.add("outcome_not_routed",
                             f"Biểu mẫu {form_id!r} của bước {step_name!r} cho chọn {', '.join(untested)} nhưng cổng "
                             f"{gateway_id!r} không có điều kiện riêng cho các lựa chọn này.",
                             f"Form {form_id!r} of step {step_name!r} offers {', '.join(untested)}, but gateway "
                             f"{gateway_id!r} has no condition of its own for "
                             + ("them (they would all take the default flow)." if has_default else "them and no default flow."),
                             "Add a flow with a condition such as outcome == 'supplement' for each choice, or remove "
                             "the choices the step must not offer from its form.", gateway)

    # -- SpiffWorkflow --------------------------------------------------------------
    def report_spiff_error(self, exc: Exception, process: etree._Element) -> None:
        element_id = getattr(exc, "id", None) or None
        element = self.elements.get(element_id) if element_id else None
        if element is None and element_id:
            found = self.root.xpath("//*[@id=$i]", i=element_id)
            element = found[0] if found else None
        line = getattr(exc, "line_number", None) or (element.sourceline if element is not None else process.sourceline)
        detail = str(exc.args[0]) if exc.args else type(exc).__name__
        self.problems.append(Problem(
            code="spiff_parse_error",
            message_vi=f"SpiffWorkflow không đọc được mô hình: {detail}",
            message_en=f"SpiffWorkflow cannot parse the model: {detail}",
            hint="Open the element in the modeler; a non-default flow out of a gateway needs a condition, "
                 "and every reference must point to an existing element.",
            element_id=element_id or process.get("id"), line=line,
        ))


def _outcome_constants(tree: ast.Expression) -> set[str]:
    """The text values compared with `outcome` (`outcome == 'x'`, `'x' != outcome`, `outcome in (...)`)."""
    values: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            left, right = operands[i], operands[i + 1]
            for name_side, other in ((left, right), (right, left)):
                if not (isinstance(name_side, ast.Name) and name_side.id == v.OUTCOME):
                    continue
                if isinstance(op, (ast.Eq, ast.NotEq)) and isinstance(other, ast.Constant) and isinstance(other.value, str):
                    values.add(other.value)
                elif isinstance(op, (ast.In, ast.NotIn)) and name_side is left and isinstance(other, (ast.Tuple, ast.List, ast.Set)):
                    values |= {e.value for e in other.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return values


_XSD_LOCK = threading.Lock()  # an lxml XMLSchema keeps one error log: one validation at a time


def _xsd_problems(root: etree._Element) -> list[Problem]:
    VALIDATOR.preprocess(root)
    schema = VALIDATOR.validator
    with _XSD_LOCK:
        if schema.validate(root):
            return []
        errors = [(error.message, error.line) for error in schema.error_log]
    problems = []
    ids_by_line: dict[int, str] = {}
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("id") and element.sourceline not in ids_by_line:
            ids_by_line[element.sourceline] = element.get("id")
    for message, line in errors:
        problems.append(Problem(
            code="bpmn_xsd_invalid",
            message_vi=f"Mô hình không đúng lược đồ BPMN 2.0: {message}",
            message_en=f"The model violates the BPMN 2.0 schema: {message}",
            hint="Re-export from the modeler, or fix the element at this line (misspelt tag, attribute or missing id).",
            line=line or None, element_id=ids_by_line.get(line),
        ))
    return problems


def analyse(source: bytes, filename: str, *, forms: dict[str, Any] | None = None, forms_dir: Path | None = None,
            trusted_scripts: bool = False, max_bytes: int = MAX_SOURCE_BYTES,
            max_elements: int = MAX_ELEMENTS) -> tuple[list[Problem], Analysis | None]:
    if isinstance(source, str):
        source = source.encode("utf-8")
    loaded = load_xml(source, max_bytes=max_bytes, max_elements=max_elements)
    if loaded.root is None:
        return loaded.problems, None
    problems = _xsd_problems(loaded.root)
    if problems:
        return problems, None
    checker = _Checker(loaded.root, filename, forms, Path(forms_dir) if forms_dir is not None else None,
                       trusted_scripts)
    analysis = checker.run()
    return checker.problems, analysis


def validate_source(source: bytes, filename: str, *, forms: dict[str, Any] | None = None,
                    forms_dir: Path | None = None, trusted_scripts: bool = False) -> ValidationReport:
    """Every problem of one model. `forms` (id -> schema) wins over `forms_dir`."""
    problems, _ = analyse(source, filename, forms=forms, forms_dir=forms_dir, trusted_scripts=trusted_scripts)
    return ValidationReport(filename, problems)


def default_forms_dir(path: Path) -> Path:
    return path.parent / "forms"


def validate_file(path: Path | str, *, forms: dict[str, Any] | None = None, forms_dir: Path | None = None,
                  trusted_scripts: bool = False) -> ValidationReport:
    """Validate a .bpmn file; its forms are looked up in `forms/` next to it by default."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            source = path.open("rb").read(MAX_SOURCE_BYTES + 1)
        else:
            source = path.read_bytes()
    except OSError as exc:
        return ValidationReport(str(path), [Problem(
            code="file_unreadable", message_vi=f"Không đọc được tệp: {exc.strerror or exc}",
            message_en=f"Cannot read the file: {exc.strerror or exc}", hint="Check the path and permissions.")])
    if forms is None and forms_dir is None:
        forms_dir = default_forms_dir(path)
    return validate_source(source, str(path), forms=forms, forms_dir=forms_dir, trusted_scripts=trusted_scripts)


def iter_problem_lines(report: ValidationReport) -> Iterable[str]:
    """Human-readable lines for one report (CLI and logs)."""
    for p in report.problems:
        where = ":".join(x for x in (report.filename, str(p.line) if p.line else "") if x)
        element = f" [{p.element_id}]" if p.element_id else ""
        yield f"{where}: {p.code}{element}: {p.message_en}"
        yield f"    {p.message_vi}"
        if p.hint:
            yield f"    hint: {p.hint}"
