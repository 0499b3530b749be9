"""ProcedureModel, the spec-once serializer and the runtime safety of a compiled model."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from SpiffWorkflow import TaskState

from engine.procedure import ModelCache, ProcedureModel, UnsafeExpression, compile_model, validate_source
from engine.procedure.serializer import instance_from_json, instance_to_json, new_workflow
from tests.procedure_fixtures.builder import FORMS, small_valid_model

REPO = Path(__file__).resolve().parent.parent
BIRTH = REPO / "bpmn" / "1.001193-birth-registration.bpmn"


@pytest.fixture(scope="module")
def birth() -> ProcedureModel:
    return compile_model(BIRTH.read_bytes(), BIRTH.name, forms_dir=BIRTH.parent / "forms")


def test_metadata(birth):
    meta = birth.metadata
    assert (meta.process_id, meta.name, meta.name_en) == ("birth_registration", "Đăng ký khai sinh", "Birth registration")
    assert (meta.procedure_code, meta.field, meta.time_limit, meta.time_basis) == ("1.001193", "civil_status", "same-day", "working")
    assert meta.iso_document_code == "QT-HT-01" and meta.revision == "01"
    assert meta.legal_basis.startswith("Luật Hộ tịch")
    assert meta.limits_by_category == {}
    assert meta.limit_for("mountainous") == "same-day"


def test_steps(birth):
    order = [s.bpmn_id for s in birth.steps_in_order()]
    assert order == ["receive_dossier", "appraise_dossier", "request_supplementation", "sign_certificate",
                     "return_result", "notify_refusal"]
    supplementation = birth.steps["request_supplementation"]
    assert (supplementation.clock, supplementation.status, supplementation.role) == ("paused", 5, "one_stop_clerk")
    assert supplementation.pauses_clock
    sign = birth.steps["sign_certificate"]
    assert (sign.role, sign.duration, sign.status, sign.form, sign.lane) == ("chair", timedelta(minutes=30), 4,
                                                                            "birth_signature", "chair")
    assert birth.steps["return_result"].status == 9
    assert set(birth.forms) == {s.form for s in birth.steps.values()}


def test_remaining_duration(birth):
    assert birth.remaining_duration("receive_dossier") == timedelta(minutes=105)
    assert birth.remaining_duration("appraise_dossier") == timedelta(minutes=90)
    # inside the supplementation loop: appraisal, signature and return are still ahead
    assert birth.remaining_duration("request_supplementation") == timedelta(minutes=90)
    assert birth.remaining_duration("return_result") == timedelta(minutes=15)
    with pytest.raises(KeyError):
        birth.remaining_duration("gw_receipt")


def test_gateway_variables(birth):
    assert birth.gateway_variables == frozenset({"outcome"})


def test_content_hash_covers_source_and_forms(birth):
    again = compile_model(BIRTH.read_bytes(), "other-name.bpmn", forms=birth.forms)
    assert again.content_hash == birth.content_hash
    forms = json.loads(json.dumps(birth.forms))
    forms["birth_return"]["title"] = "Khác"
    assert compile_model(BIRTH.read_bytes(), "x", forms=forms).content_hash != birth.content_hash


def test_serialized_spec_is_made_once(birth):
    first = birth.serialized_spec
    assert birth.serialized_spec is first
    assert set(json.loads(first)) == {"spec", "subprocess_specs"}


def test_from_serialized_and_cache(birth):
    rebuilt = ProcedureModel.from_serialized(birth.source, birth.forms)
    assert rebuilt.content_hash == birth.content_hash
    cache = ModelCache(capacity=1)
    first = cache.get(birth.source, birth.forms)
    assert cache.get(birth.source, birth.forms) is first
    small = small_valid_model().encode()
    cache.get(small, FORMS)
    assert cache.get(birth.source, birth.forms) is not first  # evicted at capacity 1
    assert len(cache) == 1


def run_ready(workflow, **data):
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert len(ready) == 1
    task = ready[0]
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()
    return task.task_spec.name


def test_birth_registration_runs_with_supplementation_round_trip(birth):
    workflow = new_workflow(birth)
    workflow.do_engine_steps()
    done = []
    for data in ({"outcome": "approve"}, {"outcome": "supplement"}, {"documents_received": "Giấy chứng sinh"},
                 {"outcome": "approve"}, {"outcome": "approve"}, {"recipient_full_name": "Nguyễn Văn A"}):
        done.append(run_ready(workflow, **data))
        text = instance_to_json(workflow)
        assert '"spec"' not in text[:50] and "task_specs" not in text  # the spec is stored once, elsewhere
        workflow = instance_from_json(text, birth)
    assert done == ["receive_dossier", "appraise_dossier", "request_supplementation", "appraise_dossier",
                    "sign_certificate", "return_result"]
    assert workflow.is_completed()
    assert workflow.last_task.task_spec.name in {"end_returned", "End"} or workflow.is_completed()


def test_refusal_path(birth):
    workflow = new_workflow(birth)
    workflow.do_engine_steps()
    assert run_ready(workflow, outcome="refuse") == "receive_dossier"
    assert run_ready(workflow, refusal_reason="Không thuộc thẩm quyền") == "notify_refusal"
    assert workflow.is_completed()


def test_instance_is_much_smaller_than_with_spec(birth):
    from engine.procedure.serializer import SERIALIZER

    workflow = new_workflow(birth)
    workflow.do_engine_steps()
    assert len(instance_to_json(workflow)) * 2 < len(SERIALIZER.serialize_json(workflow))


def test_instance_state_is_spiffs_own_form_without_the_spec(birth):
    """The spec-less converter writes what Spiff's converter writes, minus the spec
    (a SpiffWorkflow upgrade that adds a workflow attribute must not drop it)."""
    import json

    from engine.procedure.serializer import SERIALIZER

    workflow = new_workflow(birth)
    workflow.do_engine_steps()
    run_ready(workflow, outcome="approve")
    run_ready(workflow, outcome="supplement")
    full = SERIALIZER.to_dict(workflow)
    del full["spec"], full["subprocess_specs"]
    full[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
    assert json.loads(instance_to_json(workflow)) == json.loads(json.dumps(full))


def test_deserialized_instance_uses_safe_engine(birth):
    workflow = instance_from_json(instance_to_json(new_workflow(birth)), birth)
    with pytest.raises(UnsafeExpression):
        workflow.script_engine.environment.evaluate("__import__('os')", {})


def test_tampered_spec_cannot_escape_at_run_time(tmp_path, monkeypatch):
    """Even a condition that bypassed validation (edited spec) runs through the allow-list."""
    monkeypatch.chdir(tmp_path)
    model = compile_model(small_valid_model().encode(), "x.bpmn", forms=FORMS)
    workflow = new_workflow(model)
    condition, _ = workflow.spec.task_specs["gw"].cond_task_specs[0]
    condition.args = ["__import__('os').system('touch isoflow-pwned')"]
    workflow.do_engine_steps()
    run_ready(workflow)
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    ready[0].data["outcome"] = "approve"
    with pytest.raises(Exception) as info:
        ready[0].run()
        workflow.do_engine_steps()
    chain = [info.value, info.value.__cause__, info.value.__context__, getattr(info.value, "exception", None)]
    assert any(isinstance(e, UnsafeExpression) for e in chain), chain
    assert not (tmp_path / "isoflow-pwned").exists()


def test_camunda_authored_variant_validates_the_same():
    """camunda:properties and camunda:candidateGroups give the same model as spiffworkflow:."""
    spiff = BIRTH.read_text(encoding="utf-8")
    camunda = (spiff.replace("spiffworkflow:", "camunda:")
               .replace('xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"',
                        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'))
    # Camunda Modeler users assign the role with candidateGroups instead of (or on top of) lanes
    camunda = camunda.replace('<bpmn:userTask id="sign_certificate" name="Ký Giấy khai sinh">',
                              '<bpmn:userTask id="sign_certificate" name="Ký Giấy khai sinh" camunda:candidateGroups="vice_chair">')
    # what Camunda Modeler adds around the model: its own namespaces, formKey, typed conditions
    camunda = camunda.replace(
        'exporter="isoflow"',
        'xmlns:modeler="http://camunda.org/schema/modeler/1.0" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.21.0" exporter="Camunda Modeler"')
    camunda = camunda.replace("<bpmn:conditionExpression>",
                              '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">')
    camunda = camunda.replace('<bpmn:userTask id="receive_dossier"',
                              '<bpmn:userTask camunda:formKey="birth_receipt" id="receive_dossier"')
    forms_dir = BIRTH.parent / "forms"
    report = validate_source(camunda.encode("utf-8"), "camunda.bpmn", forms_dir=forms_dir)
    assert report.ok, report.problems
    from_camunda = compile_model(camunda.encode("utf-8"), "camunda.bpmn", forms_dir=forms_dir)
    from_spiff = compile_model(spiff.encode("utf-8"), "spiff.bpmn", forms_dir=forms_dir)
    assert from_camunda.metadata == from_spiff.metadata
    for step_id, step in from_spiff.steps.items():
        expected = step if step_id != "sign_certificate" else step.__class__(**{**step.__dict__, "role": "vice_chair"})
        assert from_camunda.steps[step_id] == expected
    # the Spiff task spec carries the Camunda properties too
    spec = from_camunda.spec.task_specs["appraise_dossier"]
    assert spec.extensions["properties"]["duration"] == "PT45M"


def test_camunda_unknown_candidate_group_is_reported():
    xml = small_valid_model().replace('<bpmn:userTask id="sign" name="Ký">',
                                      '<bpmn:userTask id="sign" name="Ký" camunda:candidateGroups="managers">')
    report = validate_source(xml.encode(), "x.bpmn", forms=FORMS)
    assert [(p.code, p.element_id) for p in report.problems] == [("role_unknown", "sign")]


def test_birth_model_has_a_diagram_for_every_element():
    """bpmn-js draws only what BPMNDI describes: every node, flow, lane and the pool."""
    from lxml import etree

    root = etree.fromstring(BIRTH.read_bytes())
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
    drawn = set(root.xpath("//bpmndi:BPMNShape/@bpmnElement | //bpmndi:BPMNEdge/@bpmnElement", namespaces=ns))
    process = root.find("bpmn:process", ns)
    elements = {el.get("id") for el in process if el.get("id") and etree.QName(el).localname not in
                {"extensionElements", "laneSet"}}
    elements |= set(root.xpath("//bpmn:lane/@id | //bpmn:participant/@id", namespaces=ns))
    assert elements and elements <= drawn, elements - drawn


def subprocess_model() -> str:
    from tests.procedure_fixtures.builder import end, flow, lanes, model, start, task

    inner = (start("sub_start") + task("sub_check", "Xác minh", {"duration": "PT2H"})
             + task("sub_sign", "Duyệt", {"duration": "PT1H", "role": "chair"}) + end("sub_end")
             + flow("sf0", "sub_start", "sub_check") + flow("sf1", "sub_check", "sub_sign") + flow("sf2", "sub_sign", "sub_end"))
    body = (start() + task("receive", "Tiếp nhận", {"duration": "PT1H"})
            + f'<bpmn:subProcess id="verify" name="Xác minh">{inner}</bpmn:subProcess>\n'
            + task("give_back", "Trả kết quả", {"duration": "PT30M"}) + end()
            + flow("f0", "start", "receive") + flow("f1", "receive", "verify") + flow("f2", "verify", "give_back")
            + flow("f3", "give_back", "end"))
    return model(body, lane_xml=lanes({"one_stop_clerk": ["start", "receive", "give_back", "end"],
                                       "justice_officer": ["verify"]}),
                 process_props={"procedure_code": "1.004859", "field": "civil_status", "time_limit": "P1D"})


def test_embedded_subprocess_steps_and_durations():
    model = compile_model(subprocess_model().encode(), "sub.bpmn", forms={})
    assert [s.bpmn_id for s in model.steps_in_order()] == ["receive", "sub_check", "sub_sign", "give_back"]
    assert model.steps["sub_check"].role == "justice_officer"  # inherits the subprocess lane
    assert model.steps["sub_sign"].role == "chair"
    assert model.remaining_duration("receive") == timedelta(hours=4, minutes=30)
    assert model.remaining_duration("sub_check") == timedelta(hours=3, minutes=30)
    assert model.remaining_duration("sub_sign") == timedelta(hours=1, minutes=30)
    tight = subprocess_model().replace('value="P1D"', 'value="PT4H"')
    report = validate_source(tight.encode(), "sub.bpmn", forms={})
    assert [p.code for p in report.problems] == ["limit_exceeded"]
    assert "Tiếp nhận → Xác minh → Trả kết quả" in report.problems[0].message_en


def test_subprocess_instance_round_trip():
    model = compile_model(subprocess_model().encode(), "sub.bpmn", forms={})
    workflow = new_workflow(model)
    workflow.do_engine_steps()
    names = []
    while not workflow.is_completed():
        names.append(run_ready(workflow))
        workflow = instance_from_json(instance_to_json(workflow), model)
    assert names == ["receive", "sub_check", "sub_sign", "give_back"]
