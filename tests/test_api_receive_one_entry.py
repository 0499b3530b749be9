"""`POST /api/dossiers` with the papers received (`components`) and the desk step's own
fields (`first_step`): one entry over the API, as at the desk's page. The checklist and
the step's form come from `GET /api/procedures/{code}/receipt-form`."""
from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from engine.services.procedures import publish_file
from tests.api_support import api, assert_problem  # noqa: F401
from tests.support import SIMPLE_MODEL, SYSTEM

BIRTH = Path(__file__).resolve().parent.parent / "bpmn" / "1.001193-birth-registration.bpmn"
CHILD = {"child_full_name": "Lê Minh Khang", "child_birth_date": "2026-02-20", "child_sex": "male",
         "requester_full_name": "Lê Thị Hoa", "outcome": "approve"}
PAPERS = [{"name": "Tờ khai đăng ký khai sinh theo mẫu", "kind": "original", "count": 1},
          {"name": "Giấy chứng sinh", "count": 2}]
BODY = {"unit_code": "TRIPHU", "procedure_code": "1.001193",
        "applicant": {"name": "Lê Thị Hoa", "id_number": "008190001234"}, "channel": 1}


@pytest.fixture
def birth(api):
    publish_file(api.world.rt, SYSTEM, BIRTH, effective_from=date(2020, 1, 1))
    return api


def stored_dossiers(api) -> int:
    return api.token_client("clerk").get("/api/dossiers").json["page"]["total"]


def test_the_receipt_form_gives_the_checklist_and_the_desk_steps_form(birth):
    form = birth.token_client("clerk").get("/api/procedures/1.001193/receipt-form?unit_code=TRIPHU").json
    assert form["components"][0]["name"] == "Tờ khai đăng ký khai sinh theo mẫu"
    assert {"kind", "kind_vi", "kind_en", "count"} <= set(form["components"][0])
    assert form["step_name"] and "child_full_name" in form["form_schema"]["properties"]
    assert not set(form["receipt_fields"]) & set(form["form_schema"]["properties"])  # the receipt fills those
    assert form["ui"]["order"] and form["components_unconfirmed"]
    assert_problem(birth.token_client("clerk").get("/api/procedures/0.000000/receipt-form?unit_code=TRIPHU"), 404)
    province = birth.token_client("clerk").get("/api/procedures/1.001193/receipt-form").json  # the province's version
    assert province["version_no"] == form["version_no"] and province["step_name"] == form["step_name"]


def test_one_entry_over_the_api_completes_the_desk_step_and_lists_the_papers(birth):
    clerk = birth.token_client("clerk")
    response = clerk.post("/api/dossiers", json={**BODY, "components": PAPERS, "first_step": CHILD})
    assert response.status_code == 201, response.json
    receipt = response.json
    assert receipt["first_step_completed"] is True
    dossier = clerk.get(f"/api/dossiers/{receipt['code']}").json
    assert dossier["data"]["components_received"] == [
        {"name": "Tờ khai đăng ký khai sinh theo mẫu", "kind": "original", "count": 1},
        {"name": "Giấy chứng sinh", "kind": "original", "count": 2}]
    assert [t["role"] for t in dossier["open_tasks"]] == ["justice_officer"]  # no second desk task
    [desk] = [row for row in clerk.get(f"/api/dossiers/{receipt['code']}/timeline").json["items"]
              if row["to_role"] == "one_stop_clerk"]
    assert desk["state"] == "completed" and desk["completed_by"]
    step = clerk.get(f"/api/tasks/{desk['task_id']}").json
    assert step["data"]["child_full_name"] == "Lê Minh Khang"
    html = clerk.get(f"/api/dossiers/{receipt['code']}/forms/01").get_data(as_text=True)
    assert "(2 loại giấy tờ, 3 bản)" in html and "<td>Giấy chứng sinh</td><td>bản chính</td><td class=\"c\">02</td>" in html
    # without first_step the desk step stays open, as before
    plain = clerk.post("/api/dossiers", json={**BODY, "components": PAPERS}).json
    assert plain["first_step_completed"] is False
    assert [t["role"] for t in clerk.get(f"/api/dossiers/{plain['code']}").json["open_tasks"]] == ["one_stop_clerk"]


@pytest.mark.parametrize("change, field", [
    ({"first_step": {**CHILD, "child_full_name": ""}}, "first_step.child_full_name"),
    ({"first_step": {**CHILD, "outcome": "maybe"}}, "first_step.outcome"),
    ({"first_step": "Lê Minh Khang"}, "first_step"),
    ({"components": [{"name": "Giấy chứng sinh", "count": 0}]}, "components.0.count"),
    ({"components": [PAPERS[0], {"name": "Giấy chứng sinh", "kind": "photocopy"}]}, "components.1.kind"),
    ({"components": [{"name": "   "}]}, "components.0.name"),
    ({"components": [{"kind": "copy"}]}, "components.0.name"),
    ({"components": "Giấy chứng sinh"}, "components"),
])
def test_a_bad_entry_names_its_field_and_stores_nothing(birth, change, field):
    response = birth.token_client("clerk").post("/api/dossiers", json={**BODY, "components": PAPERS,
                                                                        "first_step": CHILD, **change})
    body = assert_problem(response, 422)
    assert field in [p.get("field") for p in body["problems"]], body
    assert all(p["message_vi"] and p["message_en"] for p in body["problems"])
    assert stored_dossiers(birth) == 0


def test_first_step_is_refused_when_the_procedure_does_not_begin_at_the_desk(api, tmp_path):
    source = SIMPLE_MODEL.read_text(encoding="utf-8")
    source = (source.replace('value="9.000001"', 'value="9.000003"')
              .replace("        <bpmn:flowNodeRef>receive</bpmn:flowNodeRef>\n", "")
              .replace("<bpmn:flowNodeRef>appraise</bpmn:flowNodeRef>",
                       "<bpmn:flowNodeRef>receive</bpmn:flowNodeRef><bpmn:flowNodeRef>appraise</bpmn:flowNodeRef>"))
    model = tmp_path / "officer-first.bpmn"
    model.write_text(source, encoding="utf-8")
    shutil.copytree(SIMPLE_MODEL.parent / "forms", tmp_path / "forms")
    publish_file(api.world.rt, SYSTEM, model, effective_from=date(2020, 1, 1))
    clerk = api.token_client("clerk")
    assert clerk.get("/api/procedures/9.000003/receipt-form?unit_code=TRIPHU").json["step_name"] is None
    body = {"unit_code": "TRIPHU", "procedure_code": "9.000003", "applicant": {"name": "An"}}
    refused = assert_problem(clerk.post("/api/dossiers", json={**body, "first_step": {}}), 422, "no_desk_step")
    assert [p["field"] for p in refused["problems"]] == ["first_step"]
    assert stored_dossiers(api) == 0
    assert clerk.post("/api/dossiers", json=body).status_code == 201


def test_the_openapi_document_describes_components_and_first_step(api):
    spec = api.client().get("/api/openapi.json").json
    receive = spec["components"]["schemas"]["Receive"]["properties"]
    assert {"components", "first_step"} <= set(receive)
    assert "first_step" in receive["first_step"]["description"] or "desk" in receive["first_step"]["description"]
    component = spec["components"]["schemas"]["Component"]["properties"]
    assert component["kind"]["enum"] == ["certified_copy", "copy", "original", "original_or_copy", "presented"]
    assert "/api/procedures/{code}/receipt-form" in spec["paths"]


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize("change", [
    {"components": [{"name": "Giấy\x00chứng sinh", "count": 1}]},
    {"components": [{"name": "Giấy chứng sinh", "count": 10 ** 30}]},
    {"components": [{"name": "Giấy chứng sinh", "count": 1.5}]},
    {"components": [{"name": "x" * 100_000, "count": 1}]},
    {"components": [{"name": f"Giấy {i}", "count": 1} for i in range(5000)]},
    {"first_step": {**CHILD, "child_full_name": "Lê\x00Khang"}},
    {"first_step": {**CHILD, "child_birth_date": "2026-02-30"}},
    {"first_step": {**CHILD, "nested": _nested(200)}},
    {"unit_code": "NAHANG"},  # another commune's desk
])
def test_hostile_entries_are_refused_with_a_4xx_and_store_nothing(birth, change):
    response = birth.token_client("clerk").post("/api/dossiers", json={**BODY, "components": PAPERS,
                                                                        "first_step": CHILD, **change})
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.json
    assert body and (body.get("detail") or body.get("title")), body
    assert stored_dossiers(birth) == 0


def test_nan_in_the_body_is_refused(birth):
    raw = json.dumps({**BODY, "components": PAPERS}).replace('"count": 1', '"count": NaN', 1)
    response = birth.token_client("clerk").post("/api/dossiers", data=raw, content_type="application/json")
    assert 400 <= response.status_code < 500 and stored_dossiers(birth) == 0
