"""Org units, users, role assignments with validity (rotation), delegation, deactivation."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.adapters.db.models import Event, Task
from engine.services import dossiers
from engine.services.dossiers import Applicant
from tests.api_support import PASSWORD, api, assert_problem  # noqa: F401


def uid(api, name):
    return api.world.actor(name).user_id


def test_org_units_are_those_the_caller_holds_roles_in(api):
    codes = lambda c: [u["code"] for u in c.get("/api/org-units").json["items"]]  # noqa: E731
    assert codes(api.token_client("clerk")) == ["TRIPHU"]
    assert codes(api.token_client("admin")) == ["TQ", "NAHANG", "TRIPHU"]
    admin = api.token_client("admin")
    r = admin.post("/api/org-units", json={"code": "YENSON", "name": "Xã Yên Sơn", "parent_code": "TQ"})
    assert r.status_code == 201 and r.json["parent_code"] == "TQ"
    assert_problem(admin.post("/api/org-units", json={"code": "YENSON", "name": "x", "parent_code": "TQ"}), 409)
    assert_problem(admin.post("/api/org-units", json={"code": "X1", "name": "x", "parent_code": "TRIPHU"}), 422, "bad_parent")
    assert_problem(api.token_client("chair").post("/api/org-units", json={"code": "X2", "name": "x", "parent_code": "TQ"}),
                   404)  # the chair holds no role in the province: it does not exist for them
    assert_problem(admin.post("/api/org-units", json={"code": "bad code!", "name": "x", "parent_code": "TQ"}), 422)


def test_users_list_and_create(api):
    chair = api.token_client("chair")
    page = chair.get("/api/users?limit=2").json
    assert page["page"]["total"] == 5 and [u["username"] for u in page["items"]] == ["chair", "clerk"]
    assert [u["username"] for u in chair.get("/api/users?q=offi").json["items"]] == ["officer"]
    assert_problem(chair.get("/api/users?unit_code=NAHANG"), 404)
    r = chair.post("/api/users", json={"username": "land2", "full_name": "Lê Văn Đất", "password": "mat-khau-dai",
                                       "home_unit_code": "TRIPHU"})
    assert r.status_code == 201 and r.json["assignments"] == []
    new_id = r.json["user_id"]
    assert_problem(chair.post("/api/users", json={"username": "land2", "full_name": "x", "password": "mat-khau-dai",
                                                  "home_unit_code": "TRIPHU"}), 409)
    weak = assert_problem(chair.post("/api/users", json={"username": "bad name", "full_name": " ", "password": "short",
                                                         "home_unit_code": "TRIPHU"}), 422)
    assert {p["field"] for p in weak["problems"]} == {"username", "full_name", "password"}
    assert_problem(api.token_client("clerk").post("/api/users", json={
        "username": "x1", "full_name": "x", "password": "mat-khau-dai", "home_unit_code": "TRIPHU"}), 403)
    assert_problem(chair.post("/api/users", json={"username": "x2", "full_name": "x", "password": "mat-khau-dai",
                                                  "home_unit_code": "NAHANG"}), 404)
    assert chair.get(f"/api/users/{new_id}").json["username"] == "land2"
    assert_problem(chair.get(f"/api/users/{uid(api, 'nh_clerk')}"), 404)  # another commune's staff
    assert_problem(chair.get("/api/users/99999"), 404)


def test_role_rotation_with_validity_dates(api):
    chair = api.token_client("chair")
    clerk2 = uid(api, "clerk2")
    r = chair.post(f"/api/users/{clerk2}/assignments", json={"unit_code": "TRIPHU", "role": "justice_officer",
                                                            "valid_from": "2026-03-04", "valid_to": "2026-06-30"})
    assert r.status_code == 201 and r.json["valid_today"] is False  # starts tomorrow
    aid = r.json["assignment_id"]
    roles_today = lambda: {x["role"] for x in api.token_client("clerk2").get("/api/auth/me").json["roles"]}  # noqa
    assert roles_today() == {"one_stop_clerk"}
    api.rt.clock.advance(timedelta(days=1))
    assert roles_today() == {"one_stop_clerk", "justice_officer"}
    r = chair.post(f"/api/assignments/{aid}/end", json={"valid_to": "2026-03-04"})
    assert r.json["valid_to"] == "2026-03-04"
    api.rt.clock.advance(timedelta(days=1))
    assert roles_today() == {"one_stop_clerk"}
    assert_problem(chair.post(f"/api/assignments/{aid}/end", json={"valid_to": "2026-01-01"}), 422, "bad_period")
    assert_problem(chair.post(f"/api/users/{clerk2}/assignments", json={
        "unit_code": "TRIPHU", "role": "province_admin", "valid_from": "2026-03-04"}), 422, "role_unit_mismatch")
    assert_problem(chair.post(f"/api/users/{clerk2}/assignments", json={
        "unit_code": "TRIPHU", "role": "wizard", "valid_from": "2026-03-04"}), 422)
    assert_problem(chair.post(f"/api/users/{clerk2}/assignments", json={
        "unit_code": "NAHANG", "role": "chair", "valid_from": "2026-03-04"}), 404)
    assert_problem(api.token_client("officer").post(f"/api/users/{clerk2}/assignments", json={
        "unit_code": "TRIPHU", "role": "chair", "valid_from": "2026-03-04"}), 403)
    with api.rt.db.session_factory() as s:
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.entity_type == "role_assignment",
                                                                Event.entity_id == str(aid)).order_by(Event.id))]
    assert kinds == ["role.assigned", "role.ended"]


def test_delegation_gives_the_principals_roles_for_the_period(api):
    officer = api.token_client("officer")
    r = officer.post("/api/delegations", json={"principal_id": uid(api, "officer"), "delegate_id": uid(api, "clerk2"),
                                               "valid_from": "2026-03-03", "valid_to": "2026-03-10", "reason": "nghỉ phép"})
    assert r.status_code == 201, r.json
    did = r.json["delegation_id"]
    me = api.token_client("clerk2").get("/api/auth/me").json
    assert {"role": "justice_officer", "delegated_from": "officer"}.items() <= next(
        x for x in me["roles"] if x["role"] == "justice_officer").items()
    assert_problem(api.token_client("clerk").post(f"/api/delegations/{did}/revoke"), 403)
    assert api.token_client("chair").post(f"/api/delegations/{did}/revoke").json["revoked"] is True
    assert_problem(officer.post(f"/api/delegations/{did}/revoke"), 409, "already_revoked")
    assert {x["role"] for x in api.token_client("clerk2").get("/api/auth/me").json["roles"]} == {"one_stop_clerk"}
    bad = assert_problem(officer.post("/api/delegations", json={
        "principal_id": uid(api, "officer"), "delegate_id": uid(api, "officer"),
        "valid_from": "2026-03-10", "valid_to": "2026-03-03"}), 422)
    assert {p["field"] for p in bad["problems"]} == {"valid_to", "delegate_id"}
    assert_problem(api.token_client("clerk").post("/api/delegations", json={
        "principal_id": uid(api, "officer"), "delegate_id": uid(api, "clerk"),
        "valid_from": "2026-03-03", "valid_to": "2026-03-04"}), 403)
    assert_problem(officer.post("/api/delegations/999/revoke"), 404)


def test_deactivation_lists_open_tasks_and_blocks_access(api):
    rt = api.rt
    receipt = dossiers.receive(rt, api.world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                               applicant=Applicant("Nguyễn Văn An"))
    clerk_client = api.token_client("clerk")
    open_tasks = api.token_client("chair").get(f"/api/users/{uid(api, 'clerk')}/open-tasks").json["items"]
    assert [t["dossier_code"] for t in open_tasks] == [receipt.code]
    chair = api.token_client("chair")
    assert_problem(chair.post(f"/api/users/{uid(api, 'clerk')}/deactivate", json={"reason": " "}), 422)
    r = chair.post(f"/api/users/{uid(api, 'clerk')}/deactivate", json={"reason": "chuyển công tác"})
    assert r.status_code == 200, r.json
    assert r.json["revoked_tokens"] == 1 and r.json["open_tasks"][0]["task_id"] == open_tasks[0]["task_id"]
    assert_problem(clerk_client.get("/api/auth/me"), 401)
    login = api.client()
    login.environ_base["HTTP_X_CSRFTOKEN"] = login.get("/api/auth/csrf").json["csrf_token"]
    assert_problem(login.post("/api/auth/login", json={"username": "clerk", "password": PASSWORD}), 401)
    assert_problem(chair.post(f"/api/users/{uid(api, 'clerk')}/deactivate", json={"reason": "again"}), 409)
    assert_problem(chair.post(f"/api/users/{uid(api, 'chair')}/deactivate", json={"reason": "me"}), 409,
                   "self_deactivation")
    assert_problem(api.token_client("officer").post(f"/api/users/{uid(api, 'clerk2')}/deactivate",
                                                     json={"reason": "x"}), 403)
    assert_problem(chair.post(f"/api/users/{uid(api, 'clerk')}/assignments", json={
        "unit_code": "TRIPHU", "role": "chair", "valid_from": "2026-03-04"}), 409, "user_inactive")
    with rt.db.session_factory() as s:
        assert s.get(Task, open_tasks[0]["task_id"]).assignee_id == uid(api, "clerk")  # reassign is explicit


def test_the_iso_consultant_reads_no_people_and_no_dossier_data(api):
    """The consultant authors models: no dossier codes, steps or due times through a
    user's open steps, and no commune's staff list with their role assignments."""
    receipt = dossiers.receive(api.rt, api.world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                               applicant=Applicant("Nguyễn Văn An"))
    consultant = api.token_client("consultant")
    for user in ("clerk", "nh_clerk"):
        refused = assert_problem(consultant.get(f"/api/users/{uid(api, user)}/open-tasks"), 403, "permission_denied")
        assert receipt.code not in refused["message_vi"] + refused["message_en"]
        assert_problem(consultant.get(f"/api/users/{uid(api, user)}"), 404)
    assert_problem(consultant.get("/api/users"), 403, "permission_denied")
    assert_problem(consultant.get("/api/users?unit_code=TRIPHU"), 403)
    me = consultant.get(f"/api/users/{uid(api, 'consultant')}")
    assert me.status_code == 200 and [a["role"] for a in me.json["assignments"]] == ["iso_consultant"]
    # commune staff read their own commune's people only; the province reads all
    assert {u["username"] for u in api.token_client("clerk").get("/api/users").json["items"]} == {
        "chair", "clerk", "clerk2", "officer", "vice"}
    assert_problem(api.token_client("chair").get(f"/api/users/{uid(api, 'nh_clerk')}/open-tasks"), 404)
    assert [t["dossier_code"] for t in api.token_client("admin").get(
        f"/api/users/{uid(api, 'clerk')}/open-tasks").json["items"]] == [receipt.code]
    assert api.token_client("admin").get("/api/users").json["page"]["total"] == 10


def test_a_users_other_communes_assignments_stay_hidden(api):
    """A user holding roles in two communes: each commune's chair sees only the
    assignment held in their own commune."""
    admin = api.token_client("admin")
    officer = uid(api, "officer")
    r = admin.post(f"/api/users/{officer}/assignments", json={"unit_code": "NAHANG", "role": "land_officer",
                                                              "valid_from": "2026-03-01"})
    assert r.status_code == 201, r.json
    units = lambda client: {(a["unit_code"], a["role"]) for a in client.get(f"/api/users/{officer}").json["assignments"]}  # noqa: E731
    assert units(api.token_client("chair")) == {("TRIPHU", "justice_officer")}
    assert units(api.token_client("nh_chair")) == {("NAHANG", "land_officer")}
    assert units(admin) == {("TRIPHU", "justice_officer"), ("NAHANG", "land_officer")}
