"""The permission matrix, table-driven: role x action x same/other commune, through HTTP.

Each row states literally which roles may act; the expected answer follows the house
rule: allowed -> success; a commune the user holds no role in -> 404 (its objects do
not exist for them, never 403); otherwise -> 403. Every case acts on fresh state so
an allowed call can really succeed.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Callable

import pytest

from engine.domain.calendar import VN_TZ
from engine.services import dossiers
from engine.services.dossiers import Applicant
from tests.api_support import api, assert_problem  # noqa: F401
from tests.support import SYSTEM

# user -> home commune (None: a province role, which covers every commune)
USERS = {"clerk": "TRIPHU", "officer": "TRIPHU", "vice": "TRIPHU", "chair": "TRIPHU", "consultant": None,
         "admin": None}
COMMUNES = ("TRIPHU", "NAHANG")


def fresh_dossier(api, unit: str, stage: str = "received") -> dict:
    """A dossier of `unit` brought to `stage` by the system actor (no permission involved)."""
    rt = api.rt
    receipt = dossiers.receive(rt, SYSTEM, unit_code=unit, procedure_code="9.000001", applicant=Applicant("Lò Văn Pa"))
    info = {"code": receipt.code, "id": receipt.dossier_id}
    if stage in ("paused", "refused"):
        dossiers.complete_task(rt, SYSTEM, _open(api, receipt.dossier_id)[0])
        if stage == "paused":
            dossiers.request_supplementation(rt, SYSTEM, _open(api, receipt.dossier_id)[0], "Thiếu giấy tờ")
            rt.clock.advance(timedelta(minutes=5))
        else:
            dossiers.refuse(rt, SYSTEM, receipt.dossier_id, "Không đủ điều kiện")
    info["task_id"] = (_open(api, receipt.dossier_id) or [None])[0]
    return info


def _open(api, dossier_id: int) -> list[int]:
    from sqlalchemy import select

    from engine.adapters.db.models import Task

    with api.rt.db.session_factory() as s:
        return list(s.scalars(select(Task.id).where(Task.dossier_id == dossier_id, Task.state == "open")
                              .order_by(Task.id)))


def other_clerk(unit: str) -> str:
    return "clerk2" if unit == "TRIPHU" else "nh_clerk"


def _new_due(api) -> str:
    return (api.rt.clock.now() + timedelta(days=10)).astimezone(VN_TZ).isoformat()


# Statistics refuse a user without the role anywhere before looking at the named commune.
ROLE_FIRST = "role_first"
# action -> (roles allowed, per-commune?, call(api, client, unit) -> response)
Call = Callable[..., object]
ACTIONS: dict[str, tuple[set[str], bool | str, Call]] = {
    "dossier.view": ({"clerk", "officer", "vice", "chair", "admin"}, True,
                     lambda api, c, u: c.get(f"/api/dossiers/{fresh_dossier(api, u)['code']}")),
    "dossier.timeline": ({"clerk", "officer", "vice", "chair", "admin"}, True,
                         lambda api, c, u: c.get(f"/api/dossiers/{fresh_dossier(api, u)['code']}/timeline")),
    "dossier.search": ({"clerk", "officer", "vice", "chair", "admin"}, True,
                       lambda api, c, u: _search(api, c, u)),
    "dossier.receive": ({"clerk"}, True, lambda api, c, u: c.post("/api/dossiers", json={
        "unit_code": u, "procedure_code": "9.000001", "applicant": {"name": "Lò Văn Pa"}})),
    "dossier.supplement": ({"clerk"}, True, lambda api, c, u: c.post(
        f"/api/dossiers/{fresh_dossier(api, u, 'paused')['code']}/supplement", json={"data": {"documents": "đủ"}})),
    "dossier.withdraw": ({"clerk"}, True, lambda api, c, u: c.post(
        f"/api/dossiers/{fresh_dossier(api, u)['code']}/withdraw", json={"reason": "Công dân xin rút"})),
    "dossier.return_result": ({"clerk"}, True, lambda api, c, u: c.post(
        f"/api/dossiers/{fresh_dossier(api, u, 'refused')['code']}/return-result",
        json={"data": {"reason": "Không đủ điều kiện", "delivery": "in_person"}})),
    "dossier.refuse": ({"vice", "chair"}, True, lambda api, c, u: c.post(
        f"/api/dossiers/{fresh_dossier(api, u)['code']}/refuse", json={"reason": "Không đủ điều kiện"})),
    "dossier.stop": ({"vice", "chair"}, True, lambda api, c, u: c.post(
        f"/api/dossiers/{fresh_dossier(api, u)['code']}/stop", json={"reason": "Dừng theo yêu cầu"})),
    "dossier.apology": ({"clerk", "vice", "chair"}, True, lambda api, c, u: c.post(
        f"/api/dossiers/{fresh_dossier(api, u)['code']}/apology", json={"reason": "Chờ xác minh",
                                                                       "new_due_at": _new_due(api)})),
    "task.complete": ({"clerk"}, True, lambda api, c, u: c.post(
        f"/api/tasks/{fresh_dossier(api, u)['task_id']}/complete", json={})),
    "task.claim": ({"clerk"}, True, lambda api, c, u: c.post(f"/api/tasks/{fresh_dossier(api, u)['task_id']}/claim")),
    "task.request_supplementation": ({"officer"}, True, lambda api, c, u: _request_supplementation(api, c, u)),
    "task.reassign": ({"vice", "chair"}, True, lambda api, c, u: c.post(
        f"/api/tasks/{fresh_dossier(api, u)['task_id']}/reassign",
        json={"user_id": api.world.actor(other_clerk(u)).user_id})),
    "task.queue": ({"clerk", "officer", "vice", "chair"}, True,
                   lambda api, c, u: c.get(f"/api/tasks/queue?unit_code={u}")),
    "stats.view": ({"vice", "chair", "admin"}, ROLE_FIRST,
                   lambda api, c, u: c.get(f"/api/statistics?period=2026-03&unit_code={u}")),
    "audit.view": ({"vice", "chair", "admin"}, True, lambda api, c, u: c.get(f"/api/audit/events?unit_code={u}")),
    # people are read by their unit's staff and the province, never by the ISO consultant
    "users.view": ({"clerk", "officer", "vice", "chair", "admin"}, ROLE_FIRST,
                   lambda api, c, u: c.get(f"/api/users?unit_code={u}")),
    "users.open_tasks": ({"clerk", "officer", "vice", "chair", "admin"}, ROLE_FIRST, lambda api, c, u: c.get(
        f"/api/users/{api.world.actor(other_clerk(u)).user_id}/open-tasks")),
    "users.manage": ({"chair", "admin"}, True, lambda api, c, u: c.post("/api/users", json={
        "username": f"new_{u.lower()}_{datetime.now().microsecond}", "full_name": "Người Mới",
        "password": "mat-khau-dai", "home_unit_code": u})),
    "procedure.author": ({"consultant"}, False, lambda api, c, u: c.post("/api/procedures/validate", json={
        "filename": "x.bpmn", "source": "<x/>", "forms": {}})),
    # province-wide drafts: only the province (a chair approves their commune's local versions only)
    "procedure.approve": ({"admin"}, False, lambda api, c, u: _approve(api, c, u)),
    "calendar.manage": ({"admin"}, False, lambda api, c, u: c.post("/api/calendar/overrides", json={
        "kind": "day_off", "day": "2026-03-13", "reason": "Quyết định nghỉ bù"})),
}


def _search(api, c, u):
    """A search never answers 403/404: an invisible dossier is simply not found in it."""
    code = fresh_dossier(api, u)["code"]
    r = c.get(f"/api/dossiers?code={code}")
    if r.status_code != 200:
        return r
    return "ok" if r.json["page"]["total"] == 1 else ("404" if r.json["page"]["total"] == 0 else "bad")


def _approve(api, c, u):
    """Approve a fresh draft (authored by the system, so nobody approves their own)."""
    from engine.services.procedures import submit_version
    from tests.support import SIMPLE_MODEL

    source = SIMPLE_MODEL.read_bytes() + f"<!-- revision {next(_revisions)} -->".encode()
    info = submit_version(api.rt, SYSTEM, source, "simple-procedure.bpmn", forms_dir=SIMPLE_MODEL.parent / "forms")
    return c.post(f"/api/procedure-versions/{info.version_id}/approve")


_revisions = itertools.count(1)


def _request_supplementation(api, c, u):
    d = fresh_dossier(api, u)
    dossiers.complete_task(api.rt, SYSTEM, d["task_id"])
    return c.post(f"/api/tasks/{_open(api, d['id'])[0]}/request-supplementation", json={"reason": "Thiếu giấy"})


def expected(user: str, allowed: set[str], unit: str, per_commune) -> str:
    home = USERS[user]
    if per_commune is ROLE_FIRST and user not in allowed:
        return "403"  # refused whatever commune is named, so the answer reveals nothing about it
    if per_commune and home is not None and home != unit:
        return "404"
    return "ok" if user in allowed else "403"


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_permission_matrix(api, action):
    allowed, per_commune, call = ACTIONS[action]
    clients = {user: api.token_client(user) for user in USERS}
    outcomes = {}
    for user in USERS:
        for unit in (COMMUNES if per_commune else COMMUNES[:1]):
            response = call(api, clients[user], unit)
            if isinstance(response, str):
                outcomes[(user, unit)] = response
                continue
            status = response.status_code
            outcomes[(user, unit)] = "ok" if 200 <= status < 300 else str(status)
            if status >= 300:
                assert_problem(response, status)
    wanted = {(user, unit): expected(user, allowed, unit, per_commune) for user, unit in outcomes}
    assert outcomes == wanted
