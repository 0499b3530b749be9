"""Each class of model error: expected code, element id and line (found in the text, not parsed)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import InvalidInput
from engine.procedure import compile_model, validate_file, validate_source
from tests.procedure_fixtures.builder import (
    FORMS, end, flow, gateway, lanes, line_of, model, small_valid_model, start, task, timer_event,
)

REPO = Path(__file__).resolve().parent.parent
BIRTH = REPO / "bpmn" / "1.001193-birth-registration.bpmn"


def problems_of(xml: str, forms=FORMS, **kwargs):
    report = validate_source(xml.encode("utf-8"), "test.bpmn", forms=forms, **kwargs)
    return report.problems


def one(xml: str, code: str, **kwargs):
    found = [p for p in problems_of(xml, **kwargs) if p.code == code]
    assert found, f"no {code} in {problems_of(xml, **kwargs)}"
    return found[0]


def assert_problem(xml: str, code: str, element_id: str, **kwargs):
    problem = one(xml, code, **kwargs)
    assert problem.element_id == element_id
    assert problem.line == line_of(xml, element_id)
    assert problem.message_vi and problem.message_en and problem.hint
    return problem


def chain(*tasks: str, lane_map: dict | None = None, process_props=None) -> str:
    """start -> given tasks (xml) in order -> end, with flows; task ids parsed from the xml."""
    ids = [t.split('id="', 1)[1].split('"', 1)[0] for t in tasks]
    nodes = ["start", *ids, "end"]
    flows = "".join(flow(f"f{i}", a, b) for i, (a, b) in enumerate(zip(nodes, nodes[1:])))
    lane_xml = lanes(lane_map or {"one_stop_clerk": nodes})
    return model(start() + "".join(tasks) + end() + flows, lane_xml=lane_xml, process_props=process_props)


# --- the real models ------------------------------------------------------------------

def test_birth_registration_model_is_valid():
    report = validate_file(BIRTH)
    assert report.ok, report.problems
    assert report.to_dict() == {"file": str(BIRTH), "ok": True, "problems": []}


def test_every_model_in_bpmn_is_valid():
    files = sorted((REPO / "bpmn").glob("*.bpmn"))
    assert files
    for path in files:
        assert validate_file(path).ok, path


def test_small_valid_model_has_no_problem():
    assert problems_of(small_valid_model()) == []


# --- XML safety and size ----------------------------------------------------------------

def test_not_xml():
    problems = problems_of("<definitions>\n<task>\n</definitions>\n")
    assert [p.code for p in problems] == ["xml_not_well_formed"]
    assert problems[0].line == 3  # where the mismatched end tag is
    assert problems[0].hint


def test_empty_file_is_not_xml():
    assert [p.code for p in problems_of("")] == ["xml_not_well_formed"]


def test_doctype_is_refused():
    xml = model(start() + end() + flow("f", "start", "end"), prolog="")
    xml = xml.replace('<?xml version="1.0" encoding="UTF-8"?>\n',
                      '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE bpmn:definitions [<!ENTITY x "y">]>\n')
    problems = problems_of(xml)
    assert [p.code for p in problems] == ["xml_doctype_forbidden"]
    assert problems[0].line == 2


def test_external_entity_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = (f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
           '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&xxe;</bpmn:definitions>')
    problems = problems_of(xml)
    assert [p.code for p in problems] == ["xml_doctype_forbidden"]
    assert "TOP-SECRET" not in json.dumps([p.to_dict() for p in problems])


def test_entity_expansion_bomb_is_refused():
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    xml = f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY l0 "lol">{lol}]>\n<d>&l9;</d>'
    assert [p.code for p in problems_of(xml)] == ["xml_doctype_forbidden"]


def test_file_over_size_limit():
    xml = small_valid_model().replace("</bpmn:definitions>", "<!--" + "x" * (2 * 1024 * 1024) + "--></bpmn:definitions>")
    assert [p.code for p in problems_of(xml)] == ["file_too_large"]


def test_absurd_element_count():
    filler = "<bpmn:documentation>x</bpmn:documentation>" * 25_000
    xml = small_valid_model().replace('<bpmn:startEvent id="start">', f'<bpmn:startEvent id="start">{filler}')
    assert [p.code for p in problems_of(xml)] == ["too_many_elements"]


def test_validate_file_reports_unreadable_path(tmp_path):
    report = validate_file(tmp_path / "missing.bpmn")
    assert [p.code for p in report.problems] == ["file_unreadable"]


# --- XSD and SpiffWorkflow ---------------------------------------------------------------

def test_xsd_violation_has_element_and_line():
    xml = small_valid_model().replace('<bpmn:userTask id="sign"', '<bpmn:userTask id="sign" bogus="1"')
    problem = assert_problem(xml, "bpmn_xsd_invalid", "sign")
    assert "bogus" in problem.message_en


def test_spiff_parse_error_is_located():
    xml = small_valid_model().replace("<bpmn:conditionExpression>outcome == 'refuse'</bpmn:conditionExpression>", "")
    problem = assert_problem(xml, "spiff_parse_error", "f_no")
    assert "without condition" in problem.message_en


def test_more_than_one_process_is_refused():
    xml = small_valid_model().replace("</bpmn:definitions>", '<bpmn:process id="second" /></bpmn:definitions>')
    assert_problem(xml, "process_count", "second")


# --- roles ------------------------------------------------------------------------------

def test_human_task_without_role():
    xml = small_valid_model().replace("<bpmn:flowNodeRef>sign</bpmn:flowNodeRef>", "")
    assert_problem(xml, "role_missing", "sign")


def test_lane_with_unknown_role():
    xml = small_valid_model().replace('name="chair"', 'name="janitor"')
    problem = assert_problem(xml, "role_unknown", "sign")
    assert "janitor" in problem.message_en


def test_task_role_property_overrides_lane():
    xml = chain(task("t", "Ký", {"duration": "PT1H", "role": "vice_chair"}))
    model_ = compile_model(xml.encode(), "x.bpmn", forms=FORMS)
    assert model_.steps["t"].role == "vice_chair"
    assert model_.steps["t"].lane == "one_stop_clerk"


def test_unknown_role_property():
    assert_problem(chain(task("t", "Ký", {"duration": "PT1H", "role": "boss"})), "role_unknown", "t")


def test_unknown_task_property_is_reported():
    assert_problem(chain(task("t", "Ký", {"duration": "PT1H", "duraton": "PT2H"})), "property_unknown", "t")


def test_task_without_name():
    assert_problem(chain(task("t", None, {"duration": "PT1H"})), "task_name_missing", "t")


# --- durations, clock, status -----------------------------------------------------------

def test_missing_duration():
    assert_problem(chain(task("t", "Bước", {})), "duration_missing", "t")


@pytest.mark.parametrize("text", ["3 days", "P1Y", "P1W", "PT", "P", "-P1D", "P1M"])
def test_invalid_duration(text):
    assert_problem(chain(task("t", "Bước", {"duration": text})), "duration_invalid", "t")


def test_invalid_clock_and_status():
    xml = chain(task("t", "Bước", {"duration": "PT1H", "clock": "stopped"}),
                task("u", "Bước 2", {"duration": "PT1H", "status": "42"}))
    assert_problem(xml, "clock_invalid", "t")
    assert_problem(xml, "status_invalid", "u")


# --- process metadata -------------------------------------------------------------------

@pytest.mark.parametrize("missing,code", [
    ("procedure_code", "process_code_missing"),
    ("field", "process_field_missing"),
    ("time_limit", "process_limit_missing"),
])
def test_process_without_code_field_or_limit(missing, code):
    values = {"procedure_code": "1.001193", "field": "civil_status", "time_limit": "P1D"}
    del values[missing]
    assert_problem(chain(task("t", "Bước", {"duration": "PT1H"}), process_props=values), code, "proc")


def test_all_process_problems_at_once():
    xml = chain(task("t", "Bước", {}), process_props={"procedure_code": "x", "field": "astrology",
                                                      "time_limit": "soon", "time_basis": "lunar"})
    codes = {p.code for p in problems_of(xml)}
    assert {"process_code_invalid", "process_field_unknown", "process_limit_invalid", "time_basis_invalid",
            "duration_missing"} <= codes


def test_process_without_name():
    xml = model(start() + end() + flow("f", "start", "end"), name=None)
    assert_problem(xml, "process_name_missing", "proc")


def test_unknown_commune_category():
    values = {"procedure_code": "1.001193", "field": "civil_status", "time_limit": "P1D",
              "time_limit.island": "P2D"}
    assert_problem(chain(task("t", "Bước", {"duration": "PT1H"}), process_props=values),
                   "limit_category_unknown", "proc")


# --- statutory limit --------------------------------------------------------------------

def test_same_day_budget_boundary():
    assert problems_of(small_valid_model(sign="PT1H")) == []  # 15 + 45 + 60 = exactly 2 h
    problem = assert_problem(small_valid_model(sign="PT61M"), "limit_exceeded", "proc")
    assert "Tiếp nhận → Thẩm định → Ký" in problem.message_en


def test_paused_steps_do_not_count():
    xml = chain(task("a", "Bước", {"duration": "PT1H"}), task("p", "Chờ bổ sung", {"duration": "P10D", "clock": "paused"}),
                process_props={"procedure_code": "1.001193", "field": "civil_status", "time_limit": "PT1H"})
    assert problems_of(xml) == []


def test_longest_branch_is_checked():
    props = {"procedure_code": "1.001193", "field": "civil_status", "time_limit": "P1D"}
    body = (start() + gateway("split", "exclusiveGateway", default="f_short")
            + task("short", "Ngắn", {"duration": "PT1H"}) + task("long", "Dài", {"duration": "P1DT1H"}) + end()
            + flow("f0", "start", "split") + flow("f_short", "split", "short")
            + flow("f_long", "split", "long", "urgent == False") + flow("f1", "short", "end") + flow("f2", "long", "end"))
    xml = model(body, process_props=props, lane_xml=lanes({"justice_officer": ["start", "split", "short", "long", "end"]}))
    assert_problem(xml, "limit_exceeded", "proc")


def test_loops_are_counted_once():
    props = {"procedure_code": "1.001193", "field": "civil_status", "time_limit": "PT2H"}
    body = (start() + task("a", "Thẩm định", {"duration": "PT1H", "form": "decision"}) + gateway("gw", default="f_ok")
            + task("b", "Sửa", {"duration": "PT1H"}) + end()
            + flow("f0", "start", "a") + flow("f1", "a", "gw") + flow("f_ok", "gw", "end")
            + flow("f_redo", "gw", "b", "outcome == 'refuse'") + flow("f_back", "b", "a"))
    xml = model(body, process_props=props, lane_xml=lanes({"justice_officer": ["start", "a", "gw", "b", "end"]}))
    assert problems_of(xml) == []  # a + b = 2 h; the loop back to a is not counted twice


def test_category_limit_is_checked_separately():
    props = {"procedure_code": "1.001193", "field": "land", "time_limit": "P3D", "time_limit.mountainous": "P2D"}
    xml = chain(task("t", "Thẩm định", {"duration": "P2DT4H"}), process_props=props)
    problem = assert_problem(xml, "limit_exceeded", "proc")
    assert "mountainous" in problem.message_en


def test_calendar_limit_budget_is_five_sevenths_rounded_down():
    props = {"procedure_code": "1.012812", "field": "land", "time_limit": "P30D", "time_basis": "calendar"}
    assert problems_of(chain(task("t", "Hòa giải", {"duration": "P21D"}), process_props=props)) == []
    assert_problem(chain(task("t", "Hòa giải", {"duration": "P21DT1H"}), process_props=props), "limit_exceeded", "proc")


def test_calendar_limit_must_be_whole_days():
    props = {"procedure_code": "1.012812", "field": "land", "time_limit": "PT30H", "time_basis": "calendar"}
    assert_problem(chain(task("t", "Hòa giải", {"duration": "P1D"}), process_props=props), "process_limit_invalid", "proc")


# --- expressions ------------------------------------------------------------------------

def with_condition(condition: str) -> str:
    return small_valid_model().replace("outcome == 'approve'", condition.replace("&", "&amp;").replace("<", "&lt;"))


@pytest.mark.parametrize("condition,code", [
    ("outcome ==", "expression_syntax_error"),
    ("${outcome == 'approve'}", "expression_syntax_error"),
    ("__import__('os').system('true')", "expression_not_allowed"),
    ("().__class__.__base__.__subclasses__()", "expression_not_allowed"),
    ("outcome.upper() == 'APPROVE'", "expression_not_allowed"),
    ("9**9**9**9 > 1", "expression_not_allowed"),
    ("[x for x in range(10**9)]", "expression_not_allowed"),
    ("_secret == 1", "expression_not_allowed"),
    ("(" * 300 + "1" + ")" * 300, "expression_too_large"),
    ("[" * 50 + "]" * 50, "expression_too_large"),
    ("-" * 50 + "1 > 0", "expression_too_large"),
    ("outcome == 'approve' and " + "1 == 1 and " * 150 + "True", "expression_too_large"),
])
def test_gateway_condition_refused(condition, code):
    assert_problem(with_condition(condition), code, "f_ok")


def test_timer_expressions():
    def with_timer(expr: str) -> str:
        body = (start() + timer_event("wait", "timeDuration", expr) + end()
                + flow("f0", "start", "wait") + flow("f1", "wait", "end"))
        return model(body, process_props={"procedure_code": "1.001193", "field": "civil_status", "time_limit": "P1D"})

    assert problems_of(with_timer('"PT1H"')) == []
    assert_problem(with_timer("PT1H"), "timer_expression_invalid", "wait")
    assert_problem(with_timer('"one hour"'), "timer_expression_invalid", "wait")
    assert_problem(with_timer("__import__('time').sleep(99)"), "expression_not_allowed", "wait")


def test_boundary_timer_is_checked():
    body = (start() + task("t", "Bước", {"duration": "PT1H"}) + timer_event("late", "timeDuration", '"P1X"', boundary_of="t")
            + end() + end("end2") + flow("f0", "start", "t") + flow("f1", "t", "end") + flow("f2", "late", "end2"))
    xml = model(body, lane_xml=lanes({"chair": ["start", "t", "end", "end2"]}))
    assert_problem(xml, "timer_expression_invalid", "late")


# --- graph ------------------------------------------------------------------------------

def test_unreachable_element():
    xml = small_valid_model().replace('<bpmn:endEvent id="end_ok" />',
                                      '<bpmn:endEvent id="end_ok" />\n' + task("orphan", "Bỏ quên", {"duration": "PT1H"}))
    xml = xml.replace("<bpmn:flowNodeRef>sign</bpmn:flowNodeRef>",
                      "<bpmn:flowNodeRef>sign</bpmn:flowNodeRef><bpmn:flowNodeRef>orphan</bpmn:flowNodeRef>")
    assert_problem(xml, "unreachable_element", "orphan")


def test_missing_start_event():
    xml = model(task("t", "Bước", {"duration": "PT1H"}) + end() + flow("f", "t", "end"),
                lane_xml=lanes({"chair": ["t", "end"]}))
    assert_problem(xml, "start_event_missing", "proc")


def test_unsupported_element():
    xml = chain(task("svc", "Gọi dịch vụ", {}, tag="serviceTask"))
    assert_problem(xml, "unsupported_element", "svc")


# --- scripts ----------------------------------------------------------------------------

def script_model() -> str:
    script = task("s", "Tính", tag="scriptTask", inner="<bpmn:script>import os</bpmn:script>")
    return chain(script, task("t", "Bước", {"duration": "PT1H"}))


def test_script_task_refused_by_default():
    assert_problem(script_model(), "script_task_refused", "s")


def test_script_task_allowed_in_trusted_mode():
    assert problems_of(script_model(), trusted_scripts=True) == []


def test_pre_script_refused():
    script = ("<bpmn:extensionElements><spiffworkflow:preScript>import os</spiffworkflow:preScript>"
              "<spiffworkflow:properties><spiffworkflow:property name=\"duration\" value=\"PT1H\" />"
              "</spiffworkflow:properties></bpmn:extensionElements>")
    xml = chain('<bpmn:userTask id="t" name="Bước">' + script + "</bpmn:userTask>\n")
    assert_problem(xml, "script_task_refused", "t")


# --- forms and outcomes -----------------------------------------------------------------

def test_form_missing():
    assert_problem(small_valid_model(), "form_missing", "appraise", forms={})


def test_form_invalid_schema():
    bad = {"decision": {"type": "object", "properties": {"outcome": {"type": 12}}}}
    problem = assert_problem(small_valid_model(), "form_invalid", "appraise", forms=bad)
    assert "outcome" in problem.message_en


def test_form_must_describe_an_object():
    assert_problem(small_valid_model(), "form_invalid", "appraise", forms={"decision": {"type": "string"}})


def test_outcome_not_allowed_by_form():
    problem = assert_problem(with_condition("outcome == 'approved'"), "outcome_value_unknown", "f_ok")
    assert "approved" in problem.message_en


def test_outcome_on_step_without_outcome_field():
    form = {"type": "object", "properties": {"note": {"type": "string"}}}
    assert_problem(small_valid_model(), "outcome_not_declared", "f_ok", forms={"decision": form})


def test_outcome_in_tuple_is_checked():
    assert_problem(with_condition("outcome in ('approve', 'maybe')"), "outcome_value_unknown", "f_ok")


def test_forms_dir_lookup(tmp_path):
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "decision.json").write_text(json.dumps(FORMS["decision"]), encoding="utf-8")
    path = tmp_path / "m.bpmn"
    path.write_text(small_valid_model(), encoding="utf-8")
    assert validate_file(path).ok
    (tmp_path / "forms" / "decision.json").write_text("{not json", encoding="utf-8")
    report = validate_file(path)
    assert [p.code for p in report.problems] == ["form_invalid"]


def test_form_id_cannot_escape_forms_dir():
    xml = chain(task("t", "Bước", {"duration": "PT1H", "form": "../../etc/passwd"}))
    assert_problem(xml, "form_invalid", "t")


# --- compile_model errors ---------------------------------------------------------------

def test_compile_model_raises_with_every_problem():
    xml = chain(task("t", "Bước", {}), task("u", "Bước", {"duration": "x"}))
    with pytest.raises(InvalidInput) as info:
        compile_model(xml.encode(), "x.bpmn", forms=FORMS)
    assert {p.code for p in info.value.problems} >= {"duration_missing", "duration_invalid"}
    assert info.value.code == "model_invalid"


def test_hostile_forms_are_refused_not_raised():
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["properties"] = {"x": {}}
        node = node["properties"]["x"]
    for bad in ({"decision": deep}, {"decision": {"type": "object", "default": {1, 2}}}):
        assert_problem(small_valid_model(), "form_invalid", "appraise", forms=bad)


def test_root_must_be_definitions():
    xml = ('<?xml version="1.0"?>\n<bpmn:process xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           'id="lonely" />\n')
    problem = one(xml, "bpmn_not_definitions")
    assert problem.line == 2


def test_missing_end_event():
    xml = model(start() + task("t", "Bước", {"duration": "PT1H"}) + flow("f", "start", "t"),
                lane_xml=lanes({"chair": ["start", "t"]}))
    assert_problem(xml, "end_event_missing", "proc")


def test_every_problem_is_reported_at_once():
    xml = small_valid_model().replace('name="chair"', 'name="janitor"').replace('value="PT45M"', 'value="soon"')
    xml = xml.replace("outcome == 'refuse'", "outcome == 'nope'")
    codes = {p.code for p in problems_of(xml)}
    assert {"role_unknown", "duration_invalid", "outcome_value_unknown"} <= codes


def test_spiff_errors_are_reported_with_ours():
    xml = small_valid_model().replace("<bpmn:conditionExpression>outcome == 'refuse'</bpmn:conditionExpression>", "")
    xml = xml.replace('name="chair"', 'name="janitor"')
    assert {"spiff_parse_error", "role_unknown"} <= {p.code for p in problems_of(xml)}


def test_offered_outcomes_without_their_own_route_are_reported():
    """A form offering supplement where the gateway only tests refuse would send
    'supplement' down the default (approve) flow silently."""
    from tests.procedure_fixtures.builder import DECISION_FORM, FORMS

    form = json.loads(json.dumps(DECISION_FORM))
    form["properties"]["outcome"]["oneOf"].append({"const": "supplement", "title": "Bổ sung"})
    report = validate_source(small_valid_model().encode(), "m.bpmn", forms={**FORMS, "decision": form})
    [problem] = report.problems
    assert problem.code == "outcome_not_routed" and problem.element_id == "gw" and problem.line
    assert "supplement" in problem.message_en
