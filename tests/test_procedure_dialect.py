"""The ISO dialect laid out as SpiffWorkflow's dialects are: the parser builds ISO task
specs, the serializer round-trips them, one set of step rules judges tables and BPMN
alike, cascades collapse into one reported problem, and every hint is bilingual."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.errors import InvalidInput
from engine.procedure import (
    IsoManualTask, IsoNoneTask, IsoProcessSpec, IsoUserTask, compile_model, validate_source,
)
from engine.procedure.parser import parse_specs
from engine.procedure.serializer import (
    SERIALIZER, InstanceConverter, instance_from_json, instance_to_json, new_workflow,
)
from engine.procedure.table_import import table_to_bpmn
from engine.procedure.table_model import parse_yaml_table
from engine.procedure.validator import iter_problem_lines
from engine.procedure.xmlsafe import load_xml
from tests.procedure_fixtures.builder import (
    FORMS, end, flow, lanes, model, small_valid_model, start, task,
)

REPO = Path(__file__).resolve().parent.parent
BIRTH = REPO / "bpmn" / "1.001193-birth-registration.bpmn"


def mixed_model() -> str:
    """A userTask, a manualTask and a plain task, with every ISO property somewhere."""
    body = (
        start()
        + task("receive", "Tiếp nhận", {"duration": "PT15M", "form": "decision", "record": "Sổ theo dõi",
                                        "name_en": "Receive"})
        + task("wait", "Chờ bổ sung", {"duration": "P2D", "clock": "paused"}, tag="manualTask")
        + task("sign", "Ký", {"duration": "PT30M", "role": "vice_chair", "status": "9"}, tag="task")
        + end()
        + flow("f1", "start", "receive") + flow("f2", "receive", "wait") + flow("f3", "wait", "sign")
        + flow("f4", "sign", "end")
    )
    lane_xml = lanes({"one_stop_clerk": ["start", "receive", "wait"], "chair": ["sign", "end"]})
    return model(body, lane_xml=lane_xml, process_props={
        "procedure_code": "1.001193", "field": "civil_status", "time_limit": "P3D",
        "time_limit.mountainous": "P5D", "legal_basis": "Luật Hộ tịch 2014", "fee": "Không",
    })


# --- the parser builds ISO specs ---------------------------------------------------------

def test_parser_builds_iso_task_specs_with_their_attributes():
    root = load_xml(mixed_model().encode()).root
    spec, subprocess_specs = parse_specs(root, "m.bpmn", "proc")
    assert subprocess_specs == {}
    receive, wait, sign = (spec.task_specs[n] for n in ("receive", "wait", "sign"))
    assert type(receive) is IsoUserTask and type(wait) is IsoManualTask and type(sign) is IsoNoneTask
    assert all(t.manual for t in (receive, wait, sign))
    assert (receive.role, receive.duration, receive.clock, receive.form, receive.status, receive.record,
            receive.name_en, receive.iso_lane) == (
        "one_stop_clerk", timedelta(minutes=15), "running", "decision", 4, "Sổ theo dõi", "Receive", "one_stop_clerk")
    assert (wait.clock, wait.pauses_clock, wait.status, wait.duration, wait.form) == (
        "paused", True, 5, timedelta(hours=16), None)
    assert (sign.role, sign.iso_lane, sign.status) == ("vice_chair", "chair", 9)  # the property beats the lane


def test_process_metadata_is_carried_by_the_process_spec():
    root = load_xml(mixed_model().encode()).root
    spec, _ = parse_specs(root, "m.bpmn", "proc")
    assert isinstance(spec, IsoProcessSpec)
    meta = spec.metadata
    assert (meta.procedure_code, meta.field, meta.time_limit, meta.time_basis, meta.legal_basis, meta.fee) == (
        "1.001193", "civil_status", "P3D", "working", "Luật Hộ tịch 2014", "Không")
    assert meta.limit_for("mountainous") == "P5D" and meta.limit_for("normal") == "P3D"


def test_model_is_compiled_from_the_parsed_specs():
    compiled = compile_model(mixed_model().encode(), "m.bpmn", forms=FORMS)
    assert compiled.metadata is compiled.spec.metadata
    for bpmn_id, step in compiled.steps.items():
        assert step == compiled.spec.task_specs[bpmn_id].step_definition()
    assert [s.bpmn_id for s in compiled.steps_in_order()] == ["receive", "wait", "sign"]
    assert compiled.remaining_duration("receive") == timedelta(minutes=45)  # the paused step does not count


def test_strict_parser_refuses_what_the_rules_refuse():
    from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

    root = load_xml(mixed_model().replace('value="PT30M"', 'value="soon"').encode()).root
    with pytest.raises(ValidationException, match="duration"):
        parse_specs(root, "m.bpmn", "proc")
    spec, _ = parse_specs(root, "m.bpmn", "proc", strict=False)  # the validator reports it, located
    assert spec.task_specs["sign"].duration == timedelta(0)


# --- the serializer ----------------------------------------------------------------------

def test_serializer_round_trips_iso_specs():
    compiled = compile_model(mixed_model().encode(), "m.bpmn", forms=FORMS)
    stored = json.loads(compiled.serialized_spec)
    assert stored["spec"]["typename"] == "IsoProcessSpec"
    assert stored["spec"]["task_specs"]["receive"]["typename"] == "IsoUserTask"
    restored = SERIALIZER.from_dict(stored["spec"])
    assert isinstance(restored, IsoProcessSpec) and restored.metadata == compiled.metadata
    for name in ("receive", "wait", "sign"):
        before, after = compiled.spec.task_specs[name], restored.task_specs[name]
        assert type(after) is type(before) and after.manual
        assert after.step_definition() == before.step_definition()


def test_a_whole_workflow_round_trips_with_its_spec():
    compiled = compile_model(mixed_model().encode(), "m.bpmn", forms=FORMS)
    workflow = new_workflow(compiled)
    workflow.do_engine_steps()
    [ready] = workflow.get_tasks(state=TaskState.READY, manual=True)
    ready.data["outcome"] = "approve"
    ready.run()
    workflow.do_engine_steps()
    again = SERIALIZER.from_dict(SERIALIZER.to_dict(workflow))
    [next_ready] = again.get_tasks(state=TaskState.READY, manual=True)
    assert isinstance(next_ready.task_spec, IsoManualTask) and next_ready.task_spec.pauses_clock


def test_instances_stored_before_the_iso_specs_still_load():
    """An instance saved spec-less by the former serializer (Spiff's own task specs) loads
    onto today's model, whose specs are the ISO ones, and runs on."""
    xml = small_valid_model()
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode())
    old_workflow = BpmnWorkflow(parser.get_spec("proc"), parser.get_subprocess_specs("proc"))
    old_workflow.do_engine_steps()
    old_workflow.get_tasks(state=TaskState.READY, manual=True)[0].run()
    old_workflow.do_engine_steps()
    old_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(
        {**SPIFF_CONFIG, BpmnWorkflow: InstanceConverter}))
    dct = old_serializer.to_dict(old_workflow)
    dct[old_serializer.VERSION_KEY] = old_serializer.VERSION
    stored = json.dumps(dct)

    compiled = compile_model(xml.encode(), "m.bpmn", forms=FORMS)
    loaded = instance_from_json(stored, compiled)
    [ready] = loaded.get_tasks(state=TaskState.READY, manual=True)
    assert ready.task_spec.bpmn_id == "appraise" and isinstance(ready.task_spec, IsoUserTask)
    ready.data["outcome"] = "approve"
    ready.run()
    loaded.do_engine_steps()
    [sign] = loaded.get_tasks(state=TaskState.READY, manual=True)
    assert sign.task_spec.bpmn_id == "sign"
    assert instance_from_json(instance_to_json(loaded), compiled).get_tasks(state=TaskState.READY, manual=True)


# --- one set of step rules ---------------------------------------------------------------

TABLE = """
procedure: {{code: "1.001193", name: T, field: civil_status, time_limit: P3D, legal_basis: x, fee: Không}}
steps:
  - {{id: a, name: A, role: {role}, duration: {duration}, clock: {clock}, status: "{status}"{form}}}
  - {{id: b, name: B, role: chair, duration: PT1H, form: common_sign}}
"""


def table_text(role="one_stop_clerk", duration="PT1H", clock="running", status="4", form="common_receive"):
    return TABLE.format(role=role, duration=duration, clock=clock, status=status,
                        form=f", form: {form}" if form is not None else "")


def bpmn_text(role="one_stop_clerk", duration="PT1H", clock="running", status="4", form="common_receive"):
    values = {"duration": duration, "clock": clock, "status": status}
    if form is not None:
        values["form"] = form
    body = (start() + task("a", "A", values) + task("b", "B", {"duration": "PT1H", "form": "common_sign"}) + end()
            + flow("f1", "start", "a") + flow("f2", "a", "b") + flow("f3", "b", "end"))
    return model(body, lane_xml=lanes({role: ["start", "a"], "chair": ["b", "end"]}))


FORM = {"type": "object", "properties": {}}


@pytest.mark.parametrize("values", [
    {},
    {"form": None},  # a step without a form is valid in both formats
    {"role": "janitor"},
    {"duration": "soon"},
    {"clock": "stopped"},
    {"status": "42"},
    {"form": "Common Sign"},
    {"role": "janitor", "duration": "P1W", "status": "0"},
])
def test_tables_and_bpmn_get_the_same_step_verdict(values):
    try:
        parse_yaml_table(table_text(**values))
        table_messages: list[str] = []
    except InvalidInput as exc:
        table_messages = [p.message_en for p in exc.problems]
    report = validate_source(bpmn_text(**values).encode(), "m.bpmn",
                             forms={"common_receive": FORM, "common_sign": FORM})
    bpmn_messages = [p.message_en for p in report.all_problems()]
    assert len(table_messages) == len(bpmn_messages)
    for message in bpmn_messages:  # the table prefixes the row and column
        assert any(t.endswith(": " + message) for t in table_messages), (message, table_messages)


def test_a_table_step_without_form_becomes_a_valid_model():
    table = parse_yaml_table(table_text(form=None))
    assert table.steps[0].form == ""
    xml = table_to_bpmn(table)
    assert b'name="form"' in xml  # step b still has one
    assert validate_source(xml, "t.bpmn", forms={"common_sign": FORM}).ok


def test_a_deciding_table_step_needs_a_form():
    text = """
procedure: {code: "1.001193", name: T, field: civil_status, time_limit: P3D, legal_basis: x, fee: Không}
steps:
  - {id: a, name: A, role: justice_officer, duration: PT1H, outcomes: {approve: next, refuse: c}}
  - {id: b, name: B, role: chair, duration: PT1H, end: true}
  - {id: c, name: C, role: one_stop_clerk, duration: PT1H}
"""
    with pytest.raises(InvalidInput) as err:
        parse_yaml_table(text)
    assert ("invalid_step_form", "a", "form") in [(p.code, p.element_id, p.field) for p in err.value.problems]
    with pytest.raises(InvalidInput) as err:
        parse_yaml_table(text.replace("PT1H, outcomes", "PT1H, form: Bad Form, outcomes"))  # one problem, not two
    assert [(p.code, p.element_id) for p in err.value.problems if p.element_id == "a"] == [("invalid_step_form", "a")]


# --- cascades ----------------------------------------------------------------------------

def test_a_missing_flow_is_one_problem_with_its_consequences():
    xml = small_valid_model().replace('<bpmn:sequenceFlow id="f2" sourceRef="receive" targetRef="appraise" />\n', "")
    report = validate_source(xml.encode(), "m.bpmn", forms=FORMS)
    [problem] = report.problems
    assert (problem.code, problem.element_id) == ("unreachable_element", "appraise")
    assert [c.element_id for c in problem.consequences] == ["gw", "sign", "notify", "end_ok", "end_refused"]
    assert all(c.code == "unreachable_element" and c.line for c in problem.consequences)
    row = report.to_dict()["problems"][0]
    assert set(row) >= {"code", "message_vi", "message_en", "hint", "element_id", "line"}  # as before
    assert [c["element_id"] for c in row["consequences"]] == ["gw", "sign", "notify", "end_ok", "end_refused"]
    lines = list(iter_problem_lines(report))
    assert sum("unreachable_element" in line for line in lines) == 1
    assert any("[end_refused]" in line for line in lines)


def test_two_separate_gaps_are_two_problems():
    xml = small_valid_model().replace('<bpmn:sequenceFlow id="f_ok" sourceRef="gw" targetRef="sign">', 
                                      '<bpmn:sequenceFlow id="f_ok" sourceRef="gw" targetRef="end_ok">')
    xml = xml.replace('<bpmn:sequenceFlow id="f5" sourceRef="notify" targetRef="end_refused" />\n',
                      '<bpmn:sequenceFlow id="f5" sourceRef="notify" targetRef="end_ok" />\n')
    report = validate_source(xml.encode(), "m.bpmn", forms=FORMS)
    unreachable = [(p.element_id, [c.element_id for c in p.consequences])
                   for p in report.problems if p.code == "unreachable_element"]
    assert unreachable == [("sign", []), ("end_refused", [])]


def test_a_lane_named_with_no_role_is_one_problem():
    xml = small_valid_model().replace('name="one_stop_clerk"', 'name="clerk"')
    report = validate_source(xml.encode(), "m.bpmn", forms=FORMS)
    [problem] = report.problems
    assert (problem.code, problem.element_id) == ("role_unknown", "lane_0")
    assert "clerk" in problem.message_en and "clerk" in problem.message_vi
    assert [c.element_id for c in problem.consequences] == ["receive", "notify"]


def test_cli_json_lists_the_consequences(tmp_path):
    from cli.main import cli

    xml = small_valid_model().replace('<bpmn:sequenceFlow id="f2" sourceRef="receive" targetRef="appraise" />\n', "")
    path = tmp_path / "m.bpmn"
    path.write_text(xml, encoding="utf-8")
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "decision.json").write_text(json.dumps(FORMS["decision"]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--json", str(path)])
    assert result.exit_code == 2
    [row] = json.loads(result.output)["files"][0]["problems"]
    assert len(row["consequences"]) == 5 and row["hint_vi"]


# --- bilingual hints ---------------------------------------------------------------------

BROKEN_MODELS = [
    "<not xml",
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
    small_valid_model().replace('name="chair"', 'name="janitor"').replace('value="PT45M"', 'value="soon"'),
    small_valid_model().replace("outcome == 'refuse'", "outcome == 'nope'"),
    small_valid_model().replace("outcome == 'refuse'", "__import__('os')"),
    small_valid_model().replace("outcome == 'refuse'", "${outcome}"),
    small_valid_model().replace('<bpmn:sequenceFlow id="f2" sourceRef="receive" targetRef="appraise" />\n', ""),
    small_valid_model(receive="P1D"),  # over the same-day limit
    model(task("t", None, {"duration": "PT1H", "clock": "x", "status": "77", "form": "Bad Form", "colour": "red"})
          + flow("f", "t", "t"), process_props={"procedure_code": "1.2", "field": "nowhere", "time_limit": "soon",
                                                 "time_basis": "lunar", "time_limit.city": "P1D", "colour": "red"},
          name=None),
    model(start() + task("svc", "Dịch vụ", {}, tag="serviceTask") + task("s", "Tính", tag="scriptTask")
          + end() + flow("f1", "start", "svc") + flow("f2", "svc", "s") + flow("f3", "s", "end"),
          lane_xml=lanes({"chair": ["start", "svc", "s", "end"]})),
]


def test_every_validation_problem_has_a_hint_in_both_languages():
    seen_codes: set[str] = set()
    for xml in BROKEN_MODELS:
        report = validate_source(xml.encode(), "m.bpmn", forms={})
        assert not report.ok
        for problem in report.all_problems():
            seen_codes.add(problem.code)
            assert problem.message_vi and problem.message_en, problem
            assert problem.hint and problem.hint_vi, problem
            assert problem.hint_vi != problem.hint, problem
            row = problem.to_dict()
            assert row["hint_en"] == row["hint"] == problem.hint and row["hint_vi"] == problem.hint_vi
    assert len(seen_codes) >= 20, sorted(seen_codes)


def test_table_step_problems_have_hints_in_both_languages():
    with pytest.raises(InvalidInput) as err:
        parse_yaml_table(table_text(role="janitor", duration="soon", clock="x", status="99", form="Bad Form"))
    assert len(err.value.problems) == 5
    for problem in err.value.problems:
        assert problem.hint and problem.hint_vi and problem.hint != problem.hint_vi
