"""Calendar administration, the audit trail (browse, verify, export) and the public lookup."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import select, update

from engine.adapters.db.models import Event
from engine.services import dossiers
from engine.services.dossiers import Applicant
from tests.api_support import api, assert_problem  # noqa: F401


def test_calendar_year_and_audited_overrides(api):
    admin, clerk = api.token_client("admin"), api.token_client("clerk")
    year = clerk.get("/api/calendar?year=2026").json["items"]
    assert {"day": "2026-09-02", "kind": "holiday"}.items() <= next(e for e in year if e["day"] == "2026-09-02").items()
    body = {"kind": "makeup_day", "day": "2026-03-07", "reason": "Công văn 123/UBND làm bù"}
    assert_problem(clerk.post("/api/calendar/overrides", json=body), 403)
    r = admin.post("/api/calendar/overrides", json=body)
    assert r.status_code == 201 and r.json["actor"] == "admin" and r.json["after"] == body["reason"]
    assert any(e["day"] == "2026-03-07" and e["kind"] == "makeup_day" for e in clerk.get("/api/calendar?year=2026").json["items"])
    r = admin.post("/api/calendar/overrides/remove", json=dict(body, reason="hủy"))
    assert r.status_code == 200 and r.json["before"] == body["reason"]
    assert_problem(admin.post("/api/calendar/overrides", json=dict(body, kind="party")), 422)
    assert_problem(admin.post("/api/calendar/overrides", json=dict(body, day="2026-03-03")), 422)  # already working
    assert_problem(clerk.get("/api/calendar?year=1800"), 422)
    assert_problem(clerk.get("/api/calendar"), 422)
    with api.rt.db.session_factory() as s:
        [added, removed] = s.scalars(select(Event).where(Event.entity_type == "calendar_override").order_by(Event.id))
    assert added.actor_id == api.world.actor("admin").user_id and removed.kind == "calendar.makeup_day.remove"


def receive(api, unit="TRIPHU", clerk="clerk"):
    return dossiers.receive(api.rt, api.world.actor(clerk), unit_code=unit, procedure_code="9.000001",
                            applicant=Applicant("Nguyễn Văn An", id_number="008090001234", phone="0912345678"))


def test_audit_events_are_scoped_to_what_the_caller_may_audit(api):
    receive(api)
    nh = receive(api, "NAHANG", "nh_clerk")
    chair_events = api.token_client("chair").get("/api/audit/events?kind=dossier.received").json["items"]
    assert len(chair_events) == 1 and chair_events[0]["actor_name"] == "clerk"
    admin = api.token_client("admin")
    assert len(admin.get("/api/audit/events?kind=dossier.received").json["items"]) == 2
    only = admin.get(f"/api/audit/events?entity_type=dossier&entity_id={nh.dossier_id}").json["items"]
    assert [e["kind"] for e in only] == ["dossier.received"]
    assert admin.get("/api/audit/events?unit_code=NAHANG&kind=dossier.received").json["items"][0]["entity_id"] == str(nh.dossier_id)
    assert_problem(api.token_client("chair").get("/api/audit/events?unit_code=NAHANG"), 404)
    assert_problem(api.token_client("clerk").get("/api/audit/events"), 403)
    assert_problem(admin.get("/api/audit/events?since=2026-03-04T00:00:00&until=2026-03-01T00:00:00"), 422)
    assert admin.get("/api/audit/events?since=2026-03-04T00:00:00").json["items"] == []
    body = assert_problem(admin.get("/api/audit/events?since=0001-01-01T00:00:00%2B07:00"), 422)
    assert body["problems"][0]["field"] == "since"


def test_verify_detects_a_changed_row_and_export_streams_csv_and_json(api):
    receive(api)
    admin = api.token_client("admin")
    assert admin.get("/api/audit/verify").json == {"intact": True, "breaks": []}
    exported = admin.get("/api/audit/export?format=csv")
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert rows and rows[-1]["kind"] == "auth.token_issued" and rows[0]["id"] == "1"
    as_json = admin.get("/api/audit/export?format=json&kind=dossier.received").json
    assert [e["kind"] for e in as_json] == ["dossier.received"]
    with api.rt.db.engine.begin() as conn:
        conn.execute(update(Event).where(Event.kind == "dossier.received").values(actor_name="someone else"))
    report = admin.get("/api/audit/verify").json
    assert report["intact"] is False and report["breaks"][0]["problem"] == "changed"
    assert_problem(api.token_client("clerk").get("/api/audit/export"), 403)
    assert_problem(admin.get("/api/audit/export?format=xml"), 422)


def test_public_lookup_shows_status_without_personal_data(api):
    receipt = receive(api)
    c = api.client()  # no login, no CSRF token
    r = c.post("/api/public/lookup", json={"code": receipt.code.lower(), "pin": receipt.pin})
    assert r.status_code == 200, r.json
    body = r.json
    assert body["code"] == receipt.code and body["status_code"] == 2 and body["status_vi"] == "Đã tiếp nhận"
    assert datetime.fromisoformat(body["appointment_at"]) == receipt.due_at
    assert body["steps"][0]["state"] == "open"
    text = r.get_data(as_text=True)
    for personal in ("Nguyễn Văn An", "008090001234", "0912345678", "clerk"):
        assert personal not in text
    wrong_pin = assert_problem(c.post("/api/public/lookup", json={"code": receipt.code, "pin": "000000"
                                                                  if receipt.pin != "000000" else "111111"}), 404)
    unknown = assert_problem(c.post("/api/public/lookup", json={"code": "TRIPHU-260303-9999", "pin": receipt.pin}), 404)
    assert {k: v for k, v in wrong_pin.items() if k != "instance"} == {k: v for k, v in unknown.items() if k != "instance"}
    bad = assert_problem(c.post("/api/public/lookup", json={"code": "", "pin": "12ab"}), 422)
    assert {p["field"] for p in bad["problems"]} >= {"code"}


def test_public_lookup_is_rate_limited(db, clock):
    from api import create_app
    from engine.runtime import Runtime
    from tests.support import build_world

    rt = Runtime(db, clock)
    build_world(rt)
    app = create_app({"TESTING": True, "PUBLIC_LOOKUP_LIMITS": "3/minute"}, runtime=rt)
    c = app.test_client()
    for _ in range(3):
        assert_problem(c.post("/api/public/lookup", json={"code": "TRIPHU-260303-0001", "pin": "123456"}), 404)
    r = c.post("/api/public/lookup", json={"code": "TRIPHU-260303-0002", "pin": "123456"})
    assert_problem(r, 429, "too_many_attempts")
    assert int(r.headers["Retry-After"]) >= 1
    # another address is counted separately, but the same code is not (distributed guessing)
    r = c.post("/api/public/lookup", json={"code": "TRIPHU-260303-0009", "pin": "123456"},
               environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert_problem(r, 404)
    for _ in range(2):
        c.post("/api/public/lookup", json={"code": "TRIPHU-260303-0009", "pin": "123456"},
               environ_base={"REMOTE_ADDR": "10.0.0.3"})
    assert_problem(c.post("/api/public/lookup", json={"code": "TRIPHU-260303-0009", "pin": "1"},
                          environ_base={"REMOTE_ADDR": "10.0.0.4"}), 429)


def test_calendar_lists_the_makeup_working_day_of_a_swap(api):
    """2026: Monday 31/8 is given off and Saturday 22/8 worked in exchange; the list shows
    both, as the deadlines count them."""
    year = {e["day"]: e for e in api.token_client("clerk").get("/api/calendar?year=2026").json["items"]}
    assert year["2026-08-31"]["kind"] == "holiday" and year["2026-08-31"]["working"] is False
    assert {"kind": "makeup_day", "working": True}.items() <= year["2026-08-22"].items()
    assert "31/08/2026" in year["2026-08-22"]["reason"] and year["2026-08-22"]["source"].startswith("holidays ")
    from engine.audit import Actor
    from engine.unit_calendars import calendar_for
    with api.rt.read(Actor.system("test")) as unit:
        calendar = calendar_for(unit, None)
        assert all(calendar.is_working_day(datetime.fromisoformat(day).date()) == entry["working"]
                   for day, entry in year.items())
    # an administrator's day off on the make-up Saturday replaces it, with who decided
    admin = api.token_client("admin")
    r = admin.post("/api/calendar/overrides", json={"kind": "day_off", "day": "2026-08-22", "reason": "Quyết định 9/UBND"})
    assert r.status_code == 201, r.json
    entries = [e for e in admin.get("/api/calendar?year=2026").json["items"] if e["day"] == "2026-08-22"]
    assert [(e["kind"], e["working"], e["created_by"]) for e in entries] == [("day_off", False, "admin")]
