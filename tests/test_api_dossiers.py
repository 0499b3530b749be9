"""Dossiers and tasks over HTTP: receive, inbox, claim, complete, supplementation, apology,
endings, search, timeline, and every error path."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine.domain.calendar import VN_TZ
from engine.adapters.db.models import Event
from tests.api_support import api, assert_problem  # noqa: F401

RECEIVE = {"unit_code": "TRIPHU", "procedure_code": "9.000001",
           "applicant": {"name": "Nguyễn Văn An", "id_number": "008090001234"}, "channel": 1}


def receive(client, **overrides):
    r = client.post("/api/dossiers", json={**RECEIVE, **overrides})
    assert r.status_code == 201, r.json
    return r.json


def open_task(client, ref, bpmn_id):
    tasks = [t for t in client.get(f"/api/dossiers/{ref}").json["open_tasks"] if t["bpmn_id"] == bpmn_id]
    assert tasks, f"{bpmn_id} not open"
    return tasks[0]


def test_happy_path_through_the_api(api):
    clerk, officer, chair = api.session_client("clerk"), api.token_client("officer"), api.token_client("chair")
    receipt = receive(clerk)
    assert receipt["code"] == "TRIPHU-260303-0001" and len(receipt["pin"]) == 6
    assert datetime.fromisoformat(receipt["due_at"]) == datetime(2026, 3, 6, 10, 0, tzinfo=VN_TZ)
    code = receipt["code"]
    inbox = clerk.get("/api/tasks/inbox").json
    assert inbox["page"] == {"limit": 50, "offset": 0, "total": 1, "total_exact": True}
    inbox = inbox["items"]
    assert [(t["dossier_code"], t["bpmn_id"]) for t in inbox] == [(code, "receive")]
    out = clerk.post(f"/api/tasks/{inbox[0]['id']}/complete", json={"data": {"note": "đủ"}})
    assert out.status_code == 200 and out.json["status_code"] == 4 and len(out.json["opened_task_ids"]) == 1
    appraise = officer.get("/api/tasks/inbox").json["items"][0]
    assert appraise["bpmn_id"] == "appraise" and appraise["assignee_id"] is None
    assert officer.post(f"/api/tasks/{appraise['id']}/claim").status_code == 204
    assert officer.post(f"/api/tasks/{appraise['id']}/unclaim").status_code == 204
    assert officer.post(f"/api/tasks/{appraise['id']}/claim").status_code == 204
    api.rt.clock.advance(timedelta(hours=1))
    officer.post(f"/api/tasks/{appraise['id']}/complete", json={"data": {"outcome": "approve", "opinion": "hợp lệ"}})
    sign = open_task(chair, code, "sign")
    chair.post(f"/api/tasks/{sign['id']}/complete", json={"data": {"outcome": "approve"}})
    dossier = clerk.get(f"/api/dossiers/{code}").json
    assert (dossier["status_code"], dossier["result"], dossier["classification"]) == (9, "granted", "early")
    r = clerk.post(f"/api/dossiers/{code}/return-result", json={"data": {"receiver": "Nguyễn Văn An"}})
    assert r.json["status_code"] == 10
    sheet = clerk.get(f"/api/dossiers/{code}/timeline").json["items"]
    assert [row["bpmn_id"] for row in sheet] == ["receive", "appraise", "sign", "return_result"]
    assert all(row["result"] in ("early", "on_time") for row in sheet)
    assert sheet[1]["from_role"] == "one_stop_clerk" and sheet[1]["to_role"] == "justice_officer"
    assert clerk.get(f"/api/dossiers/{dossier['id']}").json["code"] == code  # by numeric id too
    with api.rt.db.session_factory() as s:  # the log knows who, from where, before/after
        event = s.scalars(select(Event).where(Event.kind == "task.completed").order_by(Event.id)).first()
    assert (event.actor_name, event.source_address) == ("clerk", "127.0.0.1")
    assert event.after["bpmn_id"] == "receive" and event.after["dossier"]["status_code"] == 4 and event.after["task_state"] == "completed"


def test_supplementation_apology_and_endings(api):
    clerk, officer, chair = api.token_client("clerk"), api.token_client("officer"), api.token_client("chair")
    code = receive(clerk)["code"]
    clerk.post(f"/api/tasks/{open_task(clerk, code, 'receive')['id']}/complete", json={})
    appraise = open_task(officer, code, "appraise")
    assert_problem(officer.post(f"/api/tasks/{appraise['id']}/request-supplementation", json={"reason": ""}), 422)
    r = officer.post(f"/api/tasks/{appraise['id']}/request-supplementation", json={"reason": "Thiếu giấy chứng sinh"})
    assert r.json["status_code"] == 5
    view = clerk.get(f"/api/dossiers/{code}").json
    assert view["pauses"][0]["reason"] == "Thiếu giấy chứng sinh" and view["urgency"] == "paused"
    assert_problem(clerk.post(f"/api/dossiers/{code}/return-result", json={}), 409, "no_result_ready")
    r = clerk.post(f"/api/dossiers/{code}/supplement", json={"data": {"documents": "Giấy chứng sinh"}})
    assert r.status_code == 200 and r.json["status_code"] == 4, r.json
    assert_problem(clerk.post(f"/api/dossiers/{code}/supplement", json={}), 409, "not_paused")
    appraise = open_task(officer, code, "appraise")
    assert_problem(officer.post(f"/api/tasks/{appraise['id']}/request-supplementation", json={"reason": "lần 2"}), 409,
                   "supplementation_limit")
    # apology letter with a new appointment, only once
    due = datetime.fromisoformat(clerk.get(f"/api/dossiers/{code}").json["due_at"])
    new_due = (due + timedelta(days=3)).isoformat()
    assert_problem(clerk.post(f"/api/dossiers/{code}/apology", json={"reason": "x", "new_due_at": due.isoformat()}), 422)
    assert_problem(officer.post(f"/api/dossiers/{code}/apology", json={"reason": "x", "new_due_at": new_due}), 403)
    assert clerk.post(f"/api/dossiers/{code}/apology", json={"reason": "Chờ xác minh", "new_due_at": new_due}).status_code == 200
    view = clerk.get(f"/api/dossiers/{code}").json
    assert view["apology_due_at"] is not None and datetime.fromisoformat(view["due_at"]) > due
    assert_problem(clerk.post(f"/api/dossiers/{code}/apology", json={"reason": "again", "new_due_at": new_due}), 409,
                   "apology_limit")
    # endings
    assert_problem(clerk.post(f"/api/dossiers/{code}/refuse", json={"reason": "x"}), 403)
    assert_problem(chair.post(f"/api/dossiers/{code}/refuse", json={}), 422)
    assert chair.post(f"/api/dossiers/{code}/refuse", json={"reason": "Không đủ điều kiện"}).json["status_code"] == 9
    # the chair's refusal letter is handed over with the return-refusal form, checked like the model's
    assert_problem(clerk.post(f"/api/dossiers/{code}/return-result", json={}), 422, "form_invalid")
    assert clerk.post(f"/api/dossiers/{code}/return-result", json={"data": {
        "reason": "Không đủ điều kiện", "delivery": "in_person"}}).json["status_code"] == 10
    assert_problem(clerk.post(f"/api/dossiers/{code}/withdraw", json={"reason": "x"}), 409, "dossier_closed")
    other = receive(clerk)["code"]
    assert clerk.post(f"/api/dossiers/{other}/withdraw", json={"reason": "Công dân xin rút"}).json["status_code"] == 7
    third = receive(clerk)["code"]
    assert_problem(clerk.post(f"/api/dossiers/{third}/stop", json={"reason": "x"}), 403)
    assert api.token_client("vice").post(f"/api/dossiers/{third}/stop", json={"reason": "Dừng"}).json["status_code"] == 8


def test_task_errors_and_reassignment(api):
    clerk, clerk2, chair = api.token_client("clerk"), api.token_client("clerk2"), api.token_client("chair")
    code = receive(clerk)["code"]
    task = open_task(clerk, code, "receive")
    assert_problem(clerk2.post(f"/api/tasks/{task['id']}/claim"), 409, "already_claimed")
    assert_problem(clerk2.post(f"/api/tasks/{task['id']}/complete", json={}), 409, "claimed_by_other")
    assert_problem(clerk2.post(f"/api/tasks/{task['id']}/unclaim"), 409, "not_claimed")
    assert_problem(api.token_client("officer").post(f"/api/tasks/{task['id']}/complete", json={}), 403, "wrong_role")
    assert_problem(api.token_client("nh_clerk").post(f"/api/tasks/{task['id']}/complete", json={}), 404)
    assert_problem(clerk.post("/api/tasks/999999/claim"), 404)
    assert_problem(clerk.post(f"/api/tasks/{task['id']}/reassign", json={"user_id": 1}), 403)
    officer_id = api.world.actor("officer").user_id
    assert_problem(chair.post(f"/api/tasks/{task['id']}/reassign", json={"user_id": officer_id}), 422, "bad_assignee")
    assert_problem(chair.post(f"/api/tasks/{task['id']}/reassign", json={"user_id": 99999}), 422, "bad_assignee")
    clerk2_id = api.world.actor("clerk2").user_id
    assert chair.post(f"/api/tasks/{task['id']}/reassign", json={"user_id": clerk2_id, "reason": "nghỉ phép"}
                      ).status_code == 204
    assert [t["id"] for t in clerk2.get("/api/tasks/inbox?include_pool=false").json["items"]] == [task["id"]]
    clerk2.post(f"/api/tasks/{task['id']}/complete", json={})
    assert_problem(clerk2.post(f"/api/tasks/{task['id']}/complete", json={}), 409, "task_closed")
    appraise = open_task(chair, code, "appraise")
    body = assert_problem(api.token_client("officer").post(f"/api/tasks/{appraise['id']}/complete",
                                                           json={"data": {"outcome": "maybe", "extra": 1}}), 422)
    assert "outcome" in {p.get("field") for p in body["problems"]}
    assert_problem(clerk.post(f"/api/tasks/{appraise['id']}/complete", json={"data": "text"}), 422)


def test_queue_and_search(api):
    clerk, chair = api.token_client("clerk"), api.token_client("chair")
    codes = [receive(clerk, applicant={"name": n})["code"] for n in ("Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung")]
    receive(api.token_client("nh_clerk"), unit_code="NAHANG")
    queue = chair.get("/api/tasks/queue?unit_code=TRIPHU").json["items"]
    assert [t["dossier_code"] for t in queue] == codes  # by due instant, then id
    assert chair.get("/api/tasks/queue?unit_code=TRIPHU&role=chair").json["items"] == []
    assert_problem(chair.get("/api/tasks/queue?unit_code=NAHANG"), 404)
    assert_problem(chair.get("/api/tasks/queue"), 422)
    assert_problem(api.token_client("admin").get("/api/tasks/queue?unit_code=TRIPHU"), 403)
    page = clerk.get("/api/dossiers?limit=2&sort=code").json
    assert page["page"]["total"] == 3 and [d["code"] for d in page["items"]] == codes[:2]
    assert [d["code"] for d in clerk.get("/api/dossiers?applicant=cường").json["items"]] in ([codes[1]], [])
    assert [d["code"] for d in clerk.get("/api/dossiers?applicant=Cường").json["items"]] == [codes[1]]
    assert clerk.get("/api/dossiers?status_code=2&field=civil_status&procedure_code=9.000001").json["page"]["total"] == 3
    assert clerk.get("/api/dossiers?received_from=2026-03-04").json["page"]["total"] == 0
    assert clerk.get("/api/dossiers?received_from=2026-03-03&received_to=2026-03-03").json["page"]["total"] == 3
    assert clerk.get("/api/dossiers?overdue_only=true").json["page"]["total"] == 0
    api.rt.clock.advance(timedelta(days=7))
    assert clerk.get("/api/dossiers?overdue_only=true&state=open").json["page"]["total"] == 3
    assert api.token_client("admin").get("/api/dossiers").json["page"]["total"] == 4
    assert api.token_client("admin").get("/api/dossiers?unit_code=NAHANG").json["page"]["total"] == 1
    for bad in ("sort=random", "limit=0", "limit=201", "offset=-1", "status_code=11", "received_from=03/03/2026",
                "state=maybe", "unknown=1", "received_to=9999-12-31", "received_from=0001-01-01"):
        assert_problem(clerk.get(f"/api/dossiers?{bad}"), 422)


def test_receive_errors(api):
    clerk = api.token_client("clerk")
    body = assert_problem(clerk.post("/api/dossiers", json={"unit_code": "TRIPHU", "applicant": {}, "channel": 9}), 422)
    assert {p["field"] for p in body["problems"]} >= {"procedure_code", "applicant.name", "channel"}
    assert_problem(clerk.post("/api/dossiers", json={**RECEIVE, "procedure_code": "0.000000"}), 404, "unknown_procedure")
    assert_problem(clerk.post("/api/dossiers", json={**RECEIVE, "unit_code": "NAHANG"}), 404)
    assert_problem(api.token_client("officer").post("/api/dossiers", json=RECEIVE), 403)
    assert_problem(clerk.post("/api/dossiers", json={**RECEIVE, "applicant": {"name": "   "}}), 422)
    assert_problem(clerk.post("/api/dossiers", data="not json", content_type="application/json"), 400)
    assert_problem(clerk.get("/api/dossiers/TRIPHU-260303-9999"), 404)
    assert_problem(clerk.get("/api/dossiers/TRIPHU-260303-9999/timeline"), 404)
    # anonymous: 401 (log in first), not a CSRF failure (tests/test_http_edge.py covers CSRF in a session)
    assert_problem(api.client().post("/api/dossiers", json=RECEIVE, headers={"X-CSRFToken": "x"}), 401, "unauthenticated")


def test_dossier_refs_that_only_look_numeric(api):
    clerk = api.token_client("clerk")
    assert_problem(clerk.get("/api/dossiers/²"), 404)  # str.isdigit() is true, int() refuses it
    assert_problem(clerk.post("/api/dossiers/١٢/withdraw", json={"reason": "x"}), 404)
