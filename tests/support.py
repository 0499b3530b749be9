"""Builders shared by runtime tests: a province, two communes, one user per role."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from engine.audit import Actor
from engine.runtime import Runtime
from engine.services.identity import assign_role, create_org_unit, create_user
from engine.services.procedures import publish_file

FIXTURES = Path(__file__).parent / "fixtures"
SIMPLE_MODEL = FIXTURES / "simple-procedure.bpmn"
SYSTEM = Actor.system("test-setup")


@dataclass
class World:
    rt: Runtime
    users: dict[str, Actor] = field(default_factory=dict)

    def actor(self, name: str) -> Actor:
        return self.users[name]


def build_world(rt: Runtime, models: list[Path] | None = None) -> World:
    world = World(rt)
    create_org_unit(rt, SYSTEM, code="TQ", name="Tỉnh Tuyên Quang", kind="province")
    create_org_unit(rt, SYSTEM, code="TRIPHU", name="Xã Tri Phú", kind="commune", parent_code="TQ")
    create_org_unit(rt, SYSTEM, code="NAHANG", name="Xã Na Hang", kind="commune", parent_code="TQ",
                    category="mountainous")
    people = [
        ("clerk", "TRIPHU", "one_stop_clerk"), ("officer", "TRIPHU", "justice_officer"),
        ("chair", "TRIPHU", "chair"), ("vice", "TRIPHU", "vice_chair"),
        ("clerk2", "TRIPHU", "one_stop_clerk"),
        ("nh_clerk", "NAHANG", "one_stop_clerk"), ("nh_officer", "NAHANG", "justice_officer"),
        ("nh_chair", "NAHANG", "chair"),
        ("consultant", "TQ", "iso_consultant"), ("admin", "TQ", "province_admin"),
    ]
    for username, unit, role in people:
        uid = create_user(rt, SYSTEM, username=username, full_name=username.title(), password=None,
                          home_unit_code=unit)
        assign_role(rt, SYSTEM, user_id=uid, unit_code=unit, role=role, valid_from=date(2020, 1, 1))
        world.users[username] = Actor(uid, username)
    for path in models or [SIMPLE_MODEL]:
        publish_file(rt, SYSTEM, path, effective_from=date(2020, 1, 1))
    return world
