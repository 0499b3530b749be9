"""Who controls a procedure model: the province owns the province-wide version, a
commune may issue its own local version (never another commune's), and publishing
records the legal effective date apart from the first day new dossiers get a version."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine.adapters.db.models import Dossier, OrgUnit, ProcedureVersion
from engine.errors import Conflict
from engine.services import dossiers
from engine.services.dossiers import Applicant
from engine.services.procedures import control_of, effective_version
from tests.api_support import api, assert_problem  # noqa: F401
from tests.test_api_procedures import FORMS
from tests.support import SIMPLE_MODEL


def body(normal="P3D", mountainous="P5D", scope=None, note=""):
    source = (SIMPLE_MODEL.read_text()
              .replace('name="time_limit" value="P3D"', f'name="time_limit" value="{normal}"')
              .replace('name="time_limit.mountainous" value="P5D"', f'name="time_limit.mountainous" value="{mountainous}"'))
    out = {"filename": "simple-procedure.bpmn", "source": source + f"<!-- {note} -->", "forms": FORMS}
    if scope:
        out["scope_unit_code"] = scope
    return out


def version_of(api, receipt) -> int:
    with api.rt.db.session_factory() as s:
        return s.scalar(select(ProcedureVersion.version_no).join(Dossier, Dossier.procedure_version_id
                                                                  == ProcedureVersion.id)
                        .where(Dossier.id == receipt.dossier_id))


def receive(api, clerk, unit):
    return dossiers.receive(api.rt, api.world.actor(clerk), unit_code=unit, procedure_code="9.000001",
                            applicant=Applicant("Nguyễn Văn An"))


def test_a_commune_chair_cannot_change_the_province_wide_version(api):
    consultant, admin = api.token_client("consultant"), api.token_client("admin")
    vid = consultant.post("/api/procedures/versions", json=body(normal="P2D")).json["version_id"]
    for chair in ("chair", "nh_chair"):
        refused = assert_problem(api.token_client(chair).post(f"/api/procedure-versions/{vid}/approve"), 403,
                                 "permission_denied")
        assert "cấp tỉnh" in refused["message_vi"] and "province" in refused["message_en"]
    assert admin.post(f"/api/procedure-versions/{vid}/approve").json["status"] == "approved"
    for chair in ("chair", "nh_chair"):
        c = api.token_client(chair)
        assert_problem(c.post(f"/api/procedure-versions/{vid}/publish", json={"effective_from": "2026-03-03"}), 403)
        assert_problem(c.post(f"/api/procedure-versions/1/retire"), 403)
    r = admin.post(f"/api/procedure-versions/{vid}/publish", json={"effective_from": "2026-03-03"})
    assert r.status_code == 200 and r.json["scope_unit_code"] is None
    assert version_of(api, receive(api, "clerk", "TRIPHU")) == 2
    assert version_of(api, receive(api, "nh_clerk", "NAHANG")) == 2


def test_a_commune_issues_its_own_local_version_and_only_it(api):
    consultant, admin = api.token_client("consultant"), api.token_client("admin")
    triphu_chair, nahang_chair = api.token_client("chair"), api.token_client("nh_chair")
    r = consultant.post("/api/procedures/versions", json=body(mountainous="P4D", scope="NAHANG"))
    assert r.status_code == 201, r.json
    assert r.json["scope_unit_code"] == "NAHANG"
    vid = r.json["version_id"]
    # another commune's chair can neither approve, publish nor retire it
    other = assert_problem(triphu_chair.post(f"/api/procedure-versions/{vid}/approve"), 403, "permission_denied")
    assert "NAHANG" in other["message_vi"]
    assert nahang_chair.post(f"/api/procedure-versions/{vid}/approve").json["status"] == "approved"
    assert_problem(triphu_chair.post(f"/api/procedure-versions/{vid}/publish", json={"effective_from": "2026-03-03"}),
                   403)
    assert nahang_chair.post(f"/api/procedure-versions/{vid}/publish",
                             json={"effective_from": "2026-03-03"}).json["effective_from"] == "2026-03-03"
    assert_problem(triphu_chair.post(f"/api/procedure-versions/{vid}/retire"), 403)
    # NAHANG's new dossiers run on the local version, TRIPHU's stay on the province's
    local = receive(api, "nh_clerk", "NAHANG")
    assert version_of(api, local) == 2 and version_of(api, receive(api, "clerk", "TRIPHU")) == 1
    assert local.due_at.date() == date(2026, 3, 9)  # 4 working days from Tue 10:00, not 5
    # the library's "in effect" stays the province-wide version; the local one is labelled
    [proc] = admin.get("/api/procedures").json["items"]
    assert proc["effective_version_no"] == 1
    assert {v["version_no"]: v["scope_unit_code"] for v in proc["versions"]} == {1: None, 2: "NAHANG"}
    # the commune cannot author it (the ISO consultant does), nor scope one to another commune
    assert_problem(nahang_chair.post("/api/procedures/versions", json=body(mountainous="P3D", scope="NAHANG")), 403)
    assert_problem(triphu_chair.post("/api/procedures/versions", json=body(mountainous="P3D", scope="NAHANG")), 404)
    # retiring the local version brings the commune back to the province version
    assert nahang_chair.post(f"/api/procedure-versions/{vid}/retire").json["status"] == "retired"
    assert version_of(api, receive(api, "nh_clerk", "NAHANG")) == 1


def test_where_the_law_lets_a_commune_adapt(api):
    consultant = api.token_client("consultant")
    longer = assert_problem(consultant.post("/api/procedures/versions", json=body(mountainous="P6D", scope="NAHANG")),
                            422, "limit_longer_than_province")
    assert "P6D" in longer["message_vi"] and longer["problems"][0]["field"] == "time_limit"
    assert_problem(consultant.post("/api/procedures/versions", json=body(scope="TQ")), 422, "bad_scope")
    assert_problem(consultant.post("/api/procedures/versions", json=body(scope="NOWHERE")), 404, "not_found")
    # identical content already stored province-wide is not silently handed to a commune
    assert_problem(consultant.post("/api/procedures/versions",
                                   json={**body(), "source": SIMPLE_MODEL.read_text(), "scope_unit_code": "TRIPHU"}),
                   409, "duplicate_content")
    # a procedure the province has not published cannot be introduced by a commune
    unknown = body(scope="TRIPHU", normal="P2D")
    unknown["source"] = unknown["source"].replace("9.000001", "9.999999")
    assert_problem(consultant.post("/api/procedures/versions", json=unknown), 409, "no_province_version")
    with api.rt.db.session_factory() as s:
        assert s.scalar(select(ProcedureVersion.id).where(ProcedureVersion.version_no > 1)) is None  # nothing stored


def test_a_later_province_version_supersedes_a_local_one(api):
    rt, consultant, admin = api.rt, api.token_client("consultant"), api.token_client("admin")
    local = consultant.post("/api/procedures/versions", json=body(normal="P2D", scope="TRIPHU")).json["version_id"]
    api.token_client("chair").post(f"/api/procedure-versions/{local}/approve")
    api.token_client("chair").post(f"/api/procedure-versions/{local}/publish", json={"effective_from": "2026-03-03"})
    newer = consultant.post("/api/procedures/versions", json=body(normal="P3D", mountainous="P6D")).json["version_id"]
    admin.post(f"/api/procedure-versions/{newer}/approve")
    admin.post(f"/api/procedure-versions/{newer}/publish", json={"effective_from": "2026-03-10"})
    with rt.db.session_factory() as s:
        ids = dict(s.execute(select(OrgUnit.code, OrgUnit.id)).all())
        on = lambda day, unit: effective_version(s, "9.000001", day, org_unit_id=ids[unit]).version_no  # noqa: E731
        assert on(date(2026, 3, 3), "TRIPHU") == 2 and on(date(2026, 3, 3), "NAHANG") == 1
        assert on(date(2026, 3, 10), "TRIPHU") == 3 and on(date(2026, 3, 10), "NAHANG") == 3
    assert control_of(rt, api.world.actor("chair")).allows("TRIPHU")
    assert not control_of(rt, api.world.actor("chair")).allows(None)
    assert not control_of(rt, api.world.actor("chair")).allows("NAHANG")
    assert control_of(rt, api.world.actor("admin")).allows(None)


def test_a_backdated_publication_records_the_legal_date_and_applies_from_today(api):
    rt, consultant, admin = api.rt, api.token_client("consultant"), api.token_client("admin")
    before = receive(api, "clerk", "TRIPHU")  # received this morning on version 1
    vid = consultant.post("/api/procedures/versions", json=body(normal="P2D")).json["version_id"]
    admin.post(f"/api/procedure-versions/{vid}/approve")
    r = admin.post(f"/api/procedure-versions/{vid}/publish", json={"effective_from": "2026-02-01"})
    assert r.status_code == 200, r.json
    assert (r.json["effective_from"], r.json["legal_effective_from"]) == ("2026-03-03", "2026-02-01")
    detail = admin.get(f"/api/procedure-versions/{vid}").json
    assert detail["legal_effective_from"] == "2026-02-01" and detail["effective_from"] == "2026-03-03"
    with rt.db.session_factory() as s:  # no day before the publication changes meaning
        with pytest.raises(Conflict):  # the setup's version 1 was itself published today, legally from 2020
            effective_version(s, "9.000001", date(2026, 2, 15), org_unit_id=None)
        assert s.scalar(select(ProcedureVersion.legal_effective_from).where(ProcedureVersion.version_no == 1)) \
            == date(2020, 1, 1)
    assert version_of(api, before) == 1
    assert version_of(api, receive(api, "clerk", "TRIPHU")) == 2
    # a future legal date is both dates
    r = consultant.post("/api/procedures/versions", json=body(normal="P4D"))
    assert r.status_code == 201, r.json
    later = r.json["version_id"]
    admin.post(f"/api/procedure-versions/{later}/approve")
    r = admin.post(f"/api/procedure-versions/{later}/publish", json={"effective_from": "2026-04-01"})
    assert (r.json["effective_from"], r.json["legal_effective_from"]) == ("2026-04-01", "2026-04-01")
    rt.clock.advance(timedelta(days=29))
    assert version_of(api, receive(api, "clerk", "TRIPHU")) == 3
