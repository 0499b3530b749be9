"""Table -> BPMN generator: structure, lanes, diagram, located errors, round trip, CLI."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from cli.main import cli
from engine.errors import InvalidInput
from engine.procedure.table_import import (
    BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, SPIFF_NS, bpmn_to_table, check_forms, table_to_bpmn, validate_table_model,
)
from engine.procedure.table_model import is_time_limit, is_working_duration, parse_yaml_table, read_table

DATA = Path(__file__).parent / "data"
FORMS = Path(__file__).parent.parent / "bpmn" / "forms"
NS = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "spiffworkflow": SPIFF_NS}
FLOW_NODES = ("userTask", "exclusiveGateway", "startEvent", "endEvent")


def _root(table_path: Path = DATA / "marriage.yaml") -> etree._Element:
    return etree.fromstring(table_to_bpmn(read_table(table_path)))


def _props(element: etree._Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in element.findall(".//spiffworkflow:property", NS)}


def test_process_carries_the_procedure_metadata():
    process = _root().find("bpmn:process", NS)
    assert process.get("name") == "Đăng ký kết hôn"
    props = {p.get("name"): p.get("value") for p in
             process.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}
    assert props["procedure_code"] == "1.000894"
    assert props["field"] == "civil_status"
    assert props["time_limit"] == "same-day"
    assert props["time_basis"] == "working"
    assert props["iso_document_code"] == "QT-HT-02"
    assert props["fee"].startswith("Miễn")


def test_one_lane_per_role_in_order_of_first_appearance_holding_every_node():
    process = _root().find("bpmn:process", NS)
    lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
    assert [lane.get("name") for lane in lanes] == ["one_stop_clerk", "justice_officer", "chair"]
    refs = [ref.text for lane in lanes for ref in lane.findall("bpmn:flowNodeRef", NS)]
    node_ids = [el.get("id") for kind in FLOW_NODES for el in process.findall(f"bpmn:{kind}", NS)]
    assert sorted(refs) == sorted(node_ids)  # every node in exactly one lane
    chair = next(lane for lane in lanes if lane.get("name") == "chair")
    assert {ref.text for ref in chair.findall("bpmn:flowNodeRef", NS)} == {"sign", "gw_sign"}


def test_user_tasks_have_step_properties_and_paused_steps_default_to_status_5():
    process = _root().find("bpmn:process", NS)
    tasks = {t.get("id"): _props(t) for t in process.findall("bpmn:userTask", NS)}
    assert list(tasks) == ["receive", "appraise", "draft", "sign", "return_result", "citizen_supplement", "return_refusal"]
    assert tasks["appraise"] == {"duration": "PT30M", "clock": "running", "form": "marriage_appraise", "status": "4"}
    assert tasks["citizen_supplement"]["clock"] == "paused"
    assert tasks["citizen_supplement"]["status"] == "5"
    assert tasks["return_result"]["status"] == "9"


def test_gateways_have_a_default_flow_and_conditions_on_the_others():
    process = _root().find("bpmn:process", NS)
    flows = {f.get("id"): f for f in process.findall("bpmn:sequenceFlow", NS)}
    gateway = process.find("bpmn:exclusiveGateway[@id='gw_appraise']", NS)
    outgoing = [o.text for o in gateway.findall("bpmn:outgoing", NS)]
    assert gateway.get("default") == outgoing[0]
    assert flows[outgoing[0]].get("targetRef") == "draft"
    assert flows[outgoing[0]].find("bpmn:conditionExpression", NS) is None
    conditions = {flows[o].get("targetRef"): flows[o].findtext("bpmn:conditionExpression", namespaces=NS)
                  for o in outgoing[1:]}
    assert conditions == {"citizen_supplement": "outcome == 'supplement'", "return_refusal": "outcome == 'refuse'"}
    assert flows[outgoing[1]].get("name") == "Yêu cầu bổ sung"
    supplement_out = process.find("bpmn:userTask[@id='citizen_supplement']/bpmn:outgoing", NS).text
    assert flows[supplement_out].get("targetRef") == "appraise"  # loops back


def test_every_element_has_diagram_information_inside_its_lane():
    root = _root()
    process = root.find("bpmn:process", NS)
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == root.find("bpmn:collaboration", NS).get("id")
    shapes = {s.get("bpmnElement"): s.find("dc:Bounds", NS) for s in plane.findall("bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e.findall("di:waypoint", NS) for e in plane.findall("bpmndi:BPMNEdge", NS)}
    participant = root.find("bpmn:collaboration/bpmn:participant", NS).get("id")
    assert participant in shapes
    lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
    box = {k: tuple(float(b.get(a)) for a in ("x", "y", "width", "height")) for k, b in shapes.items()}
    node_boxes = []
    for lane in lanes:
        lx, ly, lw, lh = box[lane.get("id")]
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            x, y, w, h = box[ref.text]
            assert lx <= x and x + w <= lx + lw and ly <= y and y + h <= ly + lh, ref.text
            node_boxes.append((ref.text, x, y, w, h))
    for flow in process.findall("bpmn:sequenceFlow", NS):
        assert len(edges[flow.get("id")]) >= 2
    for i, (a, ax, ay, aw, ah) in enumerate(node_boxes):  # no two nodes overlap
        for b, bx, by, bw, bh in node_boxes[i + 1:]:
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)


def test_edges_start_and_end_on_their_nodes():
    root = _root()
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    bounds = {s.get("bpmnElement"): [float(s.find("dc:Bounds", NS).get(a)) for a in ("x", "y", "width", "height")]
              for s in plane.findall("bpmndi:BPMNShape", NS)}
    for flow in root.findall("bpmn:process/bpmn:sequenceFlow", NS):
        points = [(float(p.get("x")), float(p.get("y")))
                  for p in plane.find(f"bpmndi:BPMNEdge[@bpmnElement='{flow.get('id')}']", NS).findall("di:waypoint", NS)]
        for (px, py), node in ((points[0], flow.get("sourceRef")), (points[-1], flow.get("targetRef"))):
            x, y, w, h = bounds[node]
            assert x <= px <= x + w and y <= py <= y + h, (flow.get("id"), node)
        for (x1, y1), (x2, y2) in zip(points, points[1:]):
            assert x1 == x2 or y1 == y2  # orthogonal segments


def test_csv_and_yaml_tables_give_the_same_model():
    assert table_to_bpmn(read_table(DATA / "marriage.csv")) == table_to_bpmn(read_table(DATA / "marriage.yaml"))


def test_round_trip_gives_back_steps_roles_durations_and_decisions():
    table = read_table(DATA / "marriage.yaml")
    back = bpmn_to_table(table_to_bpmn(table))
    keys = ("id", "name", "role", "duration", "form", "clock", "status", "record", "outcomes", "then", "end")
    assert [{k: getattr(s, k) for k in keys} for s in back.steps] == [{k: getattr(s, k) for k in keys} for s in table.steps]
    assert back.meta.code == table.meta.code and back.meta.time_limit == table.meta.time_limit
    assert back.meta.sources[0].title.startswith(table.meta.sources[0].title)


def test_reading_back_accepts_camunda_properties():
    table = read_table(DATA / "marriage.yaml")
    xml = table_to_bpmn(table).replace(SPIFF_NS.encode(), b"http://camunda.org/schema/1.0/bpmn")
    xml = xml.replace(b"spiffworkflow:", b"camunda:").replace(b"xmlns:spiffworkflow", b"xmlns:camunda")
    back = bpmn_to_table(xml)
    assert [(s.id, s.duration, s.clock, s.form) for s in back.steps] == [(s.id, s.duration, s.clock, s.form) for s in table.steps]
    assert back.meta.time_limit == "same-day"


def test_bad_table_reports_every_problem_with_its_line_and_column():
    with pytest.raises(InvalidInput) as err:
        read_table(DATA / "bad.yaml")
    problems = {(p.field, p.line) for p in err.value.problems}
    assert ("code", 2) in problems
    assert ("field", 4) in problems
    assert ("time_limit", 5) in problems
    assert ("role", 11) in problems
    assert ("duration", 17) in problems
    assert ("id", 25) in problems  # duplicate id
    assert ("form", 29) in problems
    for p in err.value.problems:
        assert p.message_vi and p.message_en and p.hint


def test_flow_errors_name_the_step():
    text = """
procedure: {code: "1.000001", name: T, field: land, time_limit: P3D, legal_basis: x, fee: Không}
steps:
  - {id: a, name: A, role: one_stop_clerk, duration: PT1H, form: common_receive, outcomes: {approve: next, refuse: ghost}}
  - {id: b, name: B, role: chair, duration: PT1H, form: common_sign, end: true}
  - {id: c, name: C, role: chair, duration: PT1H, form: common_sign}
"""
    with pytest.raises(InvalidInput) as err:
        parse_yaml_table(text)
    assert [(p.element_id, p.field, p.line) for p in err.value.problems] == [("a", "outcomes", 4)]
    with pytest.raises(InvalidInput) as err:
        parse_yaml_table(text.replace("ghost", "b"))
    assert [(p.element_id, p.code) for p in err.value.problems] == [("c", "invalid_step_id")]  # unreachable


def test_endless_loop_is_refused():
    text = """
procedure: {code: "1.000001", name: T, field: land, time_limit: P3D, legal_basis: x, fee: Không}
steps:
  - {id: a, name: A, role: one_stop_clerk, duration: PT1H, form: common_receive}
  - {id: b, name: B, role: chair, duration: PT1H, form: common_sign, then: a}
"""
    with pytest.raises(InvalidInput) as err:
        parse_yaml_table(text)
    assert {p.element_id for p in err.value.problems} == {"a", "b"}


def test_durations_and_limits_follow_the_vocabulary():
    for good in ("P3D", "P0.5D", "PT4H", "PT1H30M", "P1DT2H"):
        assert is_working_duration(good)
    for bad in ("P", "PT", "3D", "P1W", "", "two days"):
        assert not is_working_duration(bad)
    assert is_time_limit("same-day") and is_time_limit("P3D")
    assert is_time_limit("P30D", "calendar") and not is_time_limit("P0.5D", "calendar")


def test_calendar_limit_must_be_whole_days():
    text = """
procedure: {code: "1.000001", name: T, field: land, time_limit: P2.5D, time_basis: calendar, legal_basis: x, fee: Không}
steps:
  - {id: a, name: A, role: one_stop_clerk, duration: PT1H, form: common_receive}
"""
    with pytest.raises(InvalidInput) as err:
        parse_yaml_table(text)
    assert [(p.field, p.line) for p in err.value.problems] == [("time_limit", 2)]


def test_check_forms_wants_exactly_the_gateway_outcomes(tmp_path):
    table = read_table(DATA / "marriage.yaml")
    assert check_forms(table, FORMS) == []
    text = (DATA / "marriage.yaml").read_text(encoding="utf-8").replace("form: marriage_appraise", "form: common_review")
    problems = check_forms(parse_yaml_table(text), FORMS)
    assert [(p.code, p.element_id) for p in problems] == [("form_outcome", "appraise")]
    problems = check_forms(table, tmp_path)
    assert {p.code for p in problems} == {"missing_form"}


def test_cli_prints_bpmn_on_stdout_and_writes_files(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["import-table", str(DATA / "marriage.yaml")])
    assert result.exit_code == 0, result.output
    assert "<bpmn:definitions" in result.output
    out = tmp_path / "m.bpmn"
    result = runner.invoke(cli, ["import-table", str(DATA / "marriage.csv"), "--output", str(out),
                                 "--forms-dir", str(FORMS)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == table_to_bpmn(read_table(DATA / "marriage.yaml"))
    result = runner.invoke(cli, ["import-table", str(DATA / "marriage.yaml"), "--output-dir", str(tmp_path / "lib")])
    assert result.exit_code == 0
    assert (tmp_path / "lib" / "marriage.bpmn").is_file()


def test_cli_bad_table_exits_2_with_located_messages_and_writes_nothing(tmp_path):
    out = tmp_path / "bad.bpmn"
    result = CliRunner().invoke(cli, ["import-table", str(DATA / "bad.yaml"), "-o", str(out)])
    assert result.exit_code == 2
    assert "line 11" in result.output and "janitor" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    result = CliRunner().invoke(cli, ["import-table", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    result = CliRunner().invoke(cli, ["import-table", str(DATA / "marriage.yaml"), str(DATA / "marriage.csv"), "-o", str(out)])
    assert result.exit_code == 2


def test_csv_problems_point_at_the_csv_line(tmp_path):
    text = (DATA / "marriage.csv").read_text(encoding="utf-8")
    text = text.replace("field,civil_status", "field,astrology").replace(",chair,PT15M,", ",mayor,PT15M,")
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        read_table(path)
    located = {(p.field, p.line, p.element_id) for p in err.value.problems}
    assert ("field", 4, None) in located
    assert ("role", 15, "sign") in located


def test_yaml_syntax_error_is_located(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("procedure:\n  code: '1.000894\nsteps: []\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        read_table(path)
    assert err.value.problems[0].code == "yaml_syntax" and err.value.problems[0].line


def test_unsupported_file_type_is_refused(tmp_path):
    path = tmp_path / "table.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(InvalidInput) as err:
        read_table(path)
    assert ".xlsx" in err.value.message_en


def test_cli_runs_the_validator_and_points_at_the_table(tmp_path):
    text = (DATA / "marriage.yaml").read_text(encoding="utf-8").replace("duration: PT30M", "duration: PT2H")
    table = tmp_path / "slow.yaml"
    table.write_text(text, encoding="utf-8")
    out = tmp_path / "slow.bpmn"
    result = CliRunner().invoke(cli, ["import-table", str(table), "-o", str(out), "--forms-dir", str(FORMS)])
    assert result.exit_code == 2
    assert "limit_exceeded (--time_limit element proc_1_000894 line 6)" in result.output
    assert not out.exists()
    result = CliRunner().invoke(cli, ["import-table", str(table), "-o", str(out), "--forms-dir", str(FORMS), "--no-validate"])
    assert result.exit_code == 0 and out.exists()


def test_cli_finds_the_library_forms_above_the_tables(tmp_path):
    result = CliRunner().invoke(cli, ["import-table", str(Path(__file__).parent.parent / "bpmn" / "tables" /
                                                         "1.000894-marriage-registration.yaml"), "-o", str(tmp_path / "m.bpmn")])
    assert result.exit_code == 0, result.output
    assert "not validated" not in result.output


def test_validator_problems_are_located_on_table_rows():
    text = (DATA / "marriage.yaml").read_text(encoding="utf-8").replace("form: marriage_appraise", "form: common_sign")
    table = parse_yaml_table(text)
    problems = validate_table_model(table, table_to_bpmn(table), FORMS)
    assert {(p.code, p.element_id, p.line) for p in problems} == {("outcome_value_unknown", "appraise", 19)}
