"""Procedure library over HTTP: upload -> report, approve, publish, retire, download, diff."""
from __future__ import annotations

import json

from tests.api_support import api, assert_problem  # noqa: F401
from tests.support import FIXTURES, SIMPLE_MODEL

FORMS = {p.stem: json.loads(p.read_text()) for p in (FIXTURES / "forms").glob("*.json")}


def upload_body(limit="P4D", note="tăng thời hạn"):
    source = SIMPLE_MODEL.read_text().replace('name="time_limit" value="P3D"', f'name="time_limit" value="{limit}"')
    return {"filename": "simple-procedure.bpmn", "source": source, "forms": FORMS, "change_note": note}


def test_list_shows_the_version_in_effect(api):
    c = api.token_client("clerk")
    body = c.get("/api/procedures").json
    [proc] = body["items"]
    assert proc["code"] == "9.000001" and proc["effective_version_no"] == 1
    assert body["page"] == {"limit": 50, "offset": 0, "total": 1, "total_exact": True}
    assert c.get("/api/procedures?q=zzz").json["items"] == []
    assert c.get("/api/procedures?status=draft").json["page"]["total"] == 0
    assert_problem(c.get("/api/procedures?limit=1000"), 422)
    assert_problem(c.get("/api/procedures?status=bogus"), 422)


def test_version_lifecycle_and_diff(api):
    consultant, chair, admin = api.token_client("consultant"), api.token_client("chair"), api.token_client("admin")
    r = consultant.post("/api/procedures/validate", json=upload_body())
    assert r.status_code == 200 and r.json == {"file": "simple-procedure.bpmn", "ok": True, "problems": []}
    r = consultant.post("/api/procedures/versions", json=upload_body())
    assert r.status_code == 201, r.json
    v2 = r.json
    assert (v2["version_no"], v2["status"], v2["created"]) == (2, "draft", True)
    again = consultant.post("/api/procedures/versions", json=upload_body()).json
    assert again["created"] is False and again["version_id"] == v2["version_id"]
    vid = v2["version_id"]
    assert_problem(consultant.post(f"/api/procedure-versions/{vid}/approve"), 403, "permission_denied")
    assert_problem(admin.post(f"/api/procedure-versions/{vid}/publish", json={"effective_from": "2026-04-01"}), 409,
                   "not_approved")
    # a province-wide version is the province's: a commune chair may not approve it
    assert_problem(chair.post(f"/api/procedure-versions/{vid}/approve"), 403, "permission_denied")
    assert admin.post(f"/api/procedure-versions/{vid}/approve").json["status"] == "approved"
    assert_problem(admin.post(f"/api/procedure-versions/{vid}/approve"), 409, "not_draft")
    r = admin.post(f"/api/procedure-versions/{vid}/publish", json={"effective_from": "2026-04-01"})
    assert r.json["effective_from"] == "2026-04-01"
    assert_problem(admin.post(f"/api/procedure-versions/{vid}/publish", json={"effective_from": "2026-05-01"}), 409,
                   "already_published")
    detail = chair.get(f"/api/procedure-versions/{vid}").json
    assert detail["approved_by_id"] == api.world.actor("admin").user_id
    assert detail["change_note"] == "tăng thời hand".replace("hand", "hạn")
    source = chair.get(f"/api/procedure-versions/{vid}/source")
    assert source.mimetype == "application/xml" and b'value="P4D"' in source.data
    assert "simple-procedure.bpmn" in source.headers["Content-Disposition"]
    diff = chair.get(f"/api/procedure-versions/{vid}/diff?against=1").json
    assert {"key": "time_limit", "before": "P3D", "after": "P4D"} in diff["metadata_changes"]
    assert '-        <spiffworkflow:property name="time_limit" value="P3D"/>' in diff["source_diff"]
    assert diff["steps_added"] == [] and diff["steps_removed"] == []
    assert admin.post(f"/api/procedure-versions/{vid}/retire").json["status"] == "retired"
    assert_problem(admin.post(f"/api/procedure-versions/{vid}/retire"), 409, "already_retired")


def test_invalid_model_answers_every_problem(api):
    consultant = api.token_client("consultant")
    body = upload_body()
    body["source"] = body["source"].replace('name="time_limit" value="P4D"', 'name="time_limit" value="soon"')
    report = consultant.post("/api/procedures/validate", json=body).json
    assert report["ok"] is False and report["problems"]
    problem = assert_problem(consultant.post("/api/procedures/versions", json=body), 422, "model_invalid")
    assert problem["problems"] and all(p["message_vi"] and p["message_en"] for p in problem["problems"])
    broken = dict(body, source="<not xml")
    assert_problem(consultant.post("/api/procedures/versions", json=broken), 422)
    assert_problem(consultant.post("/api/procedures/versions", json=dict(body, filename="x.txt")), 422, "invalid_input")


def test_library_permissions(api):
    clerk = api.token_client("clerk")
    assert_problem(clerk.post("/api/procedures/versions", json=upload_body()), 403)
    assert_problem(clerk.post("/api/procedures/validate", json=upload_body()), 403)
    assert_problem(clerk.post("/api/procedure-versions/1/retire"), 403)
    assert_problem(clerk.get("/api/procedure-versions/999"), 404)
    assert_problem(clerk.get("/api/procedure-versions/1/diff?against=999"), 404)
    assert_problem(clerk.get("/api/procedure-versions/1/diff"), 422)
    assert_problem(api.client().get("/api/procedures"), 401)
