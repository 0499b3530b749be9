"""The national portal exchange: online submissions received once as channel 2, status
changes sent back, through the JSON-lines file adapter and over the API."""
from __future__ import annotations

import json

from engine.adapters.national_portal import JsonLinesPortal
from engine.services import national_portal
from tests.api_support import api, assert_problem  # noqa: F401
from tests.support import SYSTEM

SUBMISSION = {"portal_code": "G22.99-260303-0001", "unit_code": "TRIPHU", "procedure_code": "9.000001",
              "applicant_name": "Trần Thị Bình", "applicant_phone": "0987654321", "submitted_at": "2026-03-02T20:15:00+07:00"}


def test_file_exchange_receives_once_and_reports_statuses(api, tmp_path):
    portal = JsonLinesPortal(tmp_path)
    lines = [SUBMISSION, {**SUBMISSION, "portal_code": "G22.99-260303-0002", "procedure_code": "0.000000"},
             SUBMISSION]
    (tmp_path / "submissions.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
                                                + '{"portal_code": "half', encoding="utf-8")
    clerk = api.world.actor("clerk")
    report = national_portal.sync(api.rt, clerk, portal, after_event_id=0)
    assert len(report.received) == 1 and report.duplicates == ["G22.99-260303-0001"]
    assert [code for code, _ in report.rejected] == ["G22.99-260303-0002"]
    code = report.received[0]
    records = portal.status_records()
    mine = [r for r in records if r["dossier_code"] == code]
    assert [(r["status_code"], r["portal_code"]) for r in mine] == [(2, "G22.99-260303-0001")]
    assert mine[0]["occurred_at"].endswith("Z") and mine[0]["status_vi"] == "Đã tiếp nhận"
    # nothing new: nothing is handed over or sent twice; the half-written line waits
    again = national_portal.sync(api.rt, clerk, JsonLinesPortal(tmp_path), after_event_id=report.cursor)
    assert (again.received, again.duplicates, again.rejected, again.statuses_sent) == ([], [], [], 0)
    # the desk's first step moves the dossier to 4 (processing): one more record
    c = api.token_client("clerk")
    step = c.get(f"/api/dossiers/{code}").json["open_tasks"][0]
    assert c.post(f"/api/tasks/{step['id']}/complete", json={"data": {}}).status_code == 200
    later = national_portal.sync(api.rt, SYSTEM, portal, after_event_id=again.cursor)
    assert later.statuses_sent == 1 and portal.status_records()[-1]["status_code"] == 4
    dossier = c.get(f"/api/dossiers/{code}").json
    assert dossier["channel"] == 2 and dossier["data"]["portal_code"] == "G22.99-260303-0001"


def test_online_dossiers_and_status_changes_over_the_api(api):
    clerk = api.token_client("clerk")
    r = clerk.post("/api/online-dossiers", json=SUBMISSION)
    assert r.status_code == 201 and len(r.json["pin"]) == 6 and r.json["received_at"].endswith("Z")
    code = r.json["code"]
    again = assert_problem(clerk.post("/api/online-dossiers", json=SUBMISSION), 409, "already_received")
    assert again["details"]["dossier_code"] == code
    assert_problem(api.token_client("officer").post("/api/online-dossiers", json={**SUBMISSION, "portal_code": "x"}),
                   403)
    page = clerk.get("/api/status-changes?unit_code=TRIPHU").json
    assert [(i["dossier_code"], i["status_code"]) for i in page["items"]][-1] == (code, 2)
    assert clerk.get(f"/api/status-changes?unit_code=TRIPHU&after={page['cursor']}").json["items"] == []
    assert_problem(api.token_client("nh_clerk").get("/api/status-changes?unit_code=TRIPHU"), 404)
