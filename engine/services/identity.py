"""Org units, users and role assignments (the minimum the runtime and the demo need;
the API adds sessions and tokens on top)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from engine.audit import Actor
from engine.adapters.db.models import OrgUnit, RoleAssignment, User
from engine.errors import Conflict, InvalidInput, NotFound, Problem
from engine.domain.roles import ROLES
from engine.security import hash_password

COMMUNE_CATEGORIES = ("normal", "mountainous")


def create_org_unit(
    rt,
    actor: Actor,
    *,
    code: str,
    name: str,
    kind: str,
    parent_code: str | None = None,
    category: str = "normal",
    address: str = "",
    sessions: list[list[str]] | None = None,
) -> int:
    problems = []
    if kind not in ("province", "commune"):
        problems.append(Problem("bad_kind", "loại đơn vị phải là province hoặc commune",
                                "kind must be 'province' or 'commune'", field="kind"))
    if category not in COMMUNE_CATEGORIES:
        problems.append(Problem("bad_category", f"phân loại xã phải là một trong {COMMUNE_CATEGORIES}",
                                f"category must be one of {COMMUNE_CATEGORIES}", field="category"))
    if not code or not code.replace("_", "").replace("-", "").isalnum():
        problems.append(Problem("bad_code", "mã đơn vị chỉ gồm chữ, số, '-' và '_'",
                                "unit code must be letters, digits, '-' or '_'", field="code"))
    if problems:
        raise InvalidInput("invalid org unit", "đơn vị không hợp lệ", problems=problems)
    with rt.unit_of_work(actor) as uow:
        s = uow.session
        if s.scalar(select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
            raise Conflict(f"org unit {code} already exists", f"đơn vị {code} đã tồn tại", code="duplicate")
        parent_id = None
        if parent_code:
            parent_id = s.scalar(select(OrgUnit.id).where(OrgUnit.code == parent_code))
            if parent_id is None:
                raise NotFound(f"parent unit {parent_code} not found", f"không tìm thấy đơn vị cấp trên {parent_code}")
        unit = OrgUnit(code=code, name=name, kind=kind, parent_id=parent_id, category=category,
                       address=address, sessions=sessions)
        s.add(unit)
        s.flush()
        uow.log("org_unit.created", "org_unit", unit.id, org_unit_id=unit.id,
                after={"code": code, "name": name, "kind": kind, "category": category})
        uow.commit()
        return unit.id


def create_user(rt, actor: Actor, *, username: str, full_name: str, password: str | None = None,
                email: str | None = None, home_unit_code: str | None = None) -> int:
    with rt.unit_of_work(actor) as uow:
        s = uow.session
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"user {username} already exists", f"người dùng {username} đã tồn tại", code="duplicate")
        home = s.scalar(select(OrgUnit.id).where(OrgUnit.code == home_unit_code)) if home_unit_code else None
        user = User(username=username, full_name=full_name, email=email,
                    password_hash=hash_password(password) if password else None,
                    home_org_unit_id=home, created_at=uow.now)
        s.add(user)
        s.flush()
        uow.log("user.created", "user", user.id, org_unit_id=home, after={"username": username, "full_name": full_name})
        uow.commit()
        return user.id


def assign_role(rt, actor: Actor, *, user_id: int, unit_code: str, role: str,
                valid_from: date, valid_to: date | None = None) -> int:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", f"vai trò {role!r} không tồn tại", code="unknown_role",
                           hint=f"use one of: {', '.join(ROLES)}")
    if valid_to is not None and valid_to < valid_from:
        raise InvalidInput("valid_to is before valid_from", "ngày kết thúc trước ngày bắt đầu", code="bad_period")
    with rt.unit_of_work(actor) as uow:
        s = uow.session
        unit_id = s.scalar(select(OrgUnit.id).where(OrgUnit.code == unit_code))
        if unit_id is None:
            raise NotFound(f"org unit {unit_code} not found", f"không tìm thấy đơn vị {unit_code}")
        if s.get(User, user_id) is None:
            raise NotFound(f"user {user_id} not found", f"không tìm thấy người dùng {user_id}")
        row = RoleAssignment(user_id=user_id, org_unit_id=unit_id, role=role, valid_from=valid_from,
                             valid_to=valid_to, created_at=uow.now, created_by_id=actor.user_id)
        s.add(row)
        s.flush()
        uow.log("role.assigned", "role_assignment", row.id, org_unit_id=unit_id,
                after={"user_id": user_id, "role": role, "valid_from": valid_from, "valid_to": valid_to})
        uow.commit()
        return row.id
