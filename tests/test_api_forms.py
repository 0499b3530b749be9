"""Forms for integrators over HTTP: the form catalogue, a step with its JSON Schema and UI
hints, a model uploaded without its forms (resolved from stored versions and the
library) or as multipart, and a whole dossier driven from what the API returns alone."""
from __future__ import annotations

import io
import json

from jsonschema import Draft202012Validator

from tests.api_support import api, assert_problem  # noqa: F401
from tests.support import FIXTURES, SIMPLE_MODEL

RECEIVE = {"unit_code": "TRIPHU", "procedure_code": "9.000001",
           "applicant": {"name": "Nguyễn Văn An", "id_number": "008090001234"}, "channel": 2}


def test_form_catalogue_says_where_each_form_lives(api):
    c = api.token_client("clerk")
    body = c.get("/api/forms?limit=200").json
    by_name = {f["name"]: f for f in body["items"]}
    assert body["page"]["total"] == len(body["items"])
    assert by_name["common_appraise"]["sources"] == ["library"] and by_name["common_appraise"]["version_ids"] == []
    assert by_name["test_appraise"]["sources"] == ["stored"] and by_name["test_appraise"]["version_ids"]
    stored = c.get("/api/forms?source=stored").json["items"]
    assert {f["name"] for f in stored} == {"test_receive", "test_appraise", "test_supplement", "test_sign",
                                           "test_return"}
    assert [f["name"] for f in c.get("/api/forms?q=appraise&source=stored").json["items"]] == ["test_appraise"]
    detail = c.get("/api/forms/common_appraise").json
    assert detail["schema_source"] == "library" and detail["schema"]["type"] == "object"
    assert detail["ui"]["order"][0] == "outcome" and detail["ui"]["outcome_field"] == "outcome"
    opinion = next(f for f in detail["ui"]["fields"] if f["name"] == "opinion")
    assert opinion["label_vi"] == "Ý kiến thẩm định" and opinion["label_en"] == "Opinion"
    assert opinion["label_en_source"] == "field_name" and opinion["required"] is True
    assert set(detail["ui"]["outcome_requires"]) == {"approve", "supplement", "refuse"}
    assert_problem(c.get("/api/forms/no_such_form"), 404, "not_found")
    assert_problem(c.get("/api/forms?source=elsewhere"), 422)
    assert_problem(api.client().get("/api/forms"), 401)


def test_outcome_requirements_follow_conditional_rules(api):
    from engine.views.forms import outcome_requirements
    schema = {"type": "object", "required": ["outcome"],
              "properties": {"outcome": {"enum": ["approve", "refuse"]}, "reason": {"type": "string"}},
              "allOf": [{"if": {"properties": {"outcome": {"const": "refuse"}}},
                         "then": {"required": ["reason"]}}]}
    assert outcome_requirements(schema) == {"approve": ["outcome"], "refuse": ["outcome", "reason"]}


def test_upload_without_forms_resolves_them_and_multipart_works(api):
    consultant = api.token_client("consultant")
    source = SIMPLE_MODEL.read_text().replace('name="time_limit" value="P3D"', 'name="time_limit" value="P4D"')
    r = consultant.post("/api/procedures/versions", json={"filename": "simple-procedure.bpmn", "source": source})
    assert r.status_code == 201, r.json
    assert (r.json["version_no"], r.json["created"]) == (2, True)
    report = consultant.post("/api/procedures/validate",
                             json={"filename": "simple-procedure.bpmn", "source": source}).json
    assert report["ok"] is True
    # a form that exists nowhere is still reported
    missing = source.replace('value="test_sign"', 'value="test_nowhere"')
    problem = assert_problem(consultant.post("/api/procedures/versions",
                                             json={"filename": "simple-procedure.bpmn", "source": missing}), 422,
                             "model_invalid")
    assert any("test_nowhere" in p["message_en"] for p in problem["problems"])
    # multipart: the model alone, then with one form file that overrides the stored copy
    five = source.replace('value="P4D"', 'value="P5D"')
    r = consultant.post("/api/procedures/versions/upload", content_type="multipart/form-data",
                        data={"bpmn": (io.BytesIO(five.encode()), "simple-procedure.bpmn"), "change_note": "5 ngày"})
    assert r.status_code == 201, r.json
    assert r.json["version_no"] == 3
    sign = json.loads((FIXTURES / "forms" / "test_sign.json").read_text())
    sign["title"] = "Ký duyệt (mới)"
    six = source.replace('value="P4D"', 'value="P6D"')
    r = consultant.post("/api/procedures/versions/upload", content_type="multipart/form-data", data={
        "bpmn": (io.BytesIO(six.encode()), "simple-procedure.bpmn"),
        "forms": [(io.BytesIO(json.dumps(sign).encode()), "test_sign.json")]})
    assert r.status_code == 201, r.json
    assert consultant.get("/api/forms/test_sign").json["schema"]["title"] == "Ký duyệt (mới)"
    bad = consultant.post("/api/procedures/versions/upload", content_type="multipart/form-data",
                          data={"bpmn": (io.BytesIO(b"x"), "model.txt")})
    assert_problem(bad, 422, "invalid_input")
    bad = consultant.post("/api/procedures/versions/upload", content_type="multipart/form-data", data={
        "bpmn": (io.BytesIO(six.encode()), "simple-procedure.bpmn"),
        "forms": [(io.BytesIO(b"{not json"), "test_sign.json")]})
    assert_problem(bad, 422, "invalid_input")
    assert_problem(api.token_client("clerk").post(
        "/api/procedures/versions/upload", content_type="multipart/form-data",
        data={"bpmn": (io.BytesIO(five.encode()), "simple-procedure.bpmn")}), 403)


# --- a whole dossier from what the API says -----------------------------------------


def value_for(field: dict, schema: dict, outcome: str) -> object:
    """A valid value for one field, from the UI hint and the field's JSON Schema alone."""
    prop = schema["properties"][field["name"]]
    if field["name"] == schema_outcome(schema):
        return outcome
    if field["choices"]:
        return field["choices"][0]["value"]
    kind = field["type"]
    if kind == "integer":
        return max(int(prop.get("minimum", 1)), 1)
    if kind == "number":
        return float(max(prop.get("minimum", 1), 1))
    if kind == "boolean":
        return True
    if kind == "array":
        return ["Bản sao giấy tờ"] * max(prop.get("minItems", 1), 1)
    if field["format"] == "date":
        return "2026-03-03"
    if field["format"] == "date-time":
        return "2026-03-03T09:00:00Z"
    if field["format"] == "email":
        return "cong.dan@example.vn"
    if "pattern" in prop:
        return "008090001234"
    return "Đã kiểm tra"[: prop.get("maxLength", 200)].ljust(prop.get("minLength", 0), ".")


def schema_outcome(schema: dict) -> str | None:
    return "outcome" if "outcome" in schema.get("properties", {}) else None


def fill(task: dict, outcome: str = "approve") -> dict:
    """The data for a step: every field its chosen outcome requires, and every always-required one."""
    ui, schema = task["ui"], task["form_schema"]
    if not schema:
        return {}
    wanted = set(ui["outcome_requires"].get(outcome, [])) if ui["outcome_field"] else set()
    wanted |= {f["name"] for f in ui["fields"] if f["required"]}
    data = {f["name"]: value_for(f, schema, outcome) for f in ui["fields"] if f["name"] in wanted}
    assert not list(Draft202012Validator(schema).iter_errors(data)), data
    return data


def test_a_dossier_driven_only_by_what_the_api_returns(api):
    clients = {name: api.token_client(name) for name in ("clerk", "officer", "chair")}
    roles = {name: {(r["role"], r["unit_code"]) for r in c.get("/api/auth/me").json["roles"]}
             for name, c in clients.items()}
    clerk = clients["clerk"]
    # one entry: the checklist and the desk's first step come from the receipt form
    form = clerk.get(f"/api/procedures/{RECEIVE['procedure_code']}/receipt-form",
                     query_string={"unit_code": RECEIVE["unit_code"]}).json
    entry = {**RECEIVE, "components": [{"name": c["name"], "kind": c["kind"], "count": c["count"]}
                                       for c in form["components"]]}
    if form["step_name"]:  # the procedure begins at the desk: fill that step at receipt
        entry["first_step"] = fill({"ui": form["ui"], "form_schema": form["form_schema"]})
    receipt = clerk.post("/api/dossiers", json=entry).json
    assert receipt["first_step_completed"] is True
    code = receipt["code"]
    [desk] = [r for r in clerk.get(f"/api/dossiers/{code}/timeline").json["items"] if r["step"] == form["step_name"]]
    assert desk["state"] == "completed"
    filled = [desk["bpmn_id"]]
    for _ in range(20):
        dossier = clerk.get(f"/api/dossiers/{code}").json
        if dossier["status_code"] == 10:
            break
        [step] = dossier["open_tasks"]
        who = next(n for n in clients if (step["role"], step["org_unit_code"]) in roles[n])
        c = clients[who]
        task = c.get(f"/api/tasks/{step['id']}").json
        assert task["may_perform"] is True and task["status"] == "open" and task["status_en"] == "open"
        assert task["form"] and task["form_schema"]["type"] == "object"
        data = fill(task)
        filled.append(task["bpmn_id"])
        if task["status_code"] == 9:  # the hand-over of the result
            r = c.post(f"/api/dossiers/{code}/return-result", json={"data": data})
        else:
            if task["assignee_id"] is None:
                assert c.post(f"/api/tasks/{step['id']}/claim").status_code == 204
            r = c.post(f"/api/tasks/{step['id']}/complete", json={"data": data})
        assert r.status_code == 200, r.json
        done = c.get(f"/api/tasks/{step['id']}").json
        assert done["status"] == "completed" and done["status_vi"] == "đã hoàn thành"
    assert filled == ["receive", "appraise", "sign", "return_result"]
    final = clerk.get(f"/api/dossiers/{code}").json
    assert (final["status_code"], final["result"]) == (10, "granted")
