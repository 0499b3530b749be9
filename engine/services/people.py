"""People and their roles, seen through the permission policy: who am I, users of a
commune, role assignments with validity dates (rotation), delegation during leave,
deactivation (which lists the open tasks to hand over)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select

from engine.audit import Actor
from engine.calendar import VN_TZ
from engine.db.models import Delegation, OrgUnit, RoleAssignment, User
from engine.errors import Unauthenticated
from engine.roles import ROLES


@dataclass(frozen=True)
class HeldRole:
    unit_code: str
    unit_name: str
    role: str
    role_name_vi: str
    role_name_en: str
    delegated_from: str | None = None


@dataclass(frozen=True)
class Me:
    user_id: int
    username: str
    full_name: str
    home_unit_code: str | None
    roles: list[HeldRole]


def whoami(rt, actor: Actor) -> Me:
    """The acting user and the roles valid today, own and delegated (as assigned, not spread)."""
    if actor.user_id is None:
        raise Unauthenticated("log in first", "bạn cần đăng nhập")
    today = rt.clock.now().astimezone(VN_TZ).date()
    with rt.db.session_factory() as s:
        user = s.get(User, actor.user_id)
        if user is None:
            raise Unauthenticated("your account no longer exists", "tài khoản không còn tồn tại")
        home = s.get(OrgUnit, user.home_org_unit_id) if user.home_org_unit_id else None
        principals = {actor.user_id: None}
        for pid, pname in s.execute(
            select(Delegation.principal_id, User.username).join(User, User.id == Delegation.principal_id).where(
                Delegation.delegate_id == actor.user_id, Delegation.valid_from <= today,
                Delegation.valid_to >= today, Delegation.revoked_at.is_(None))
        ):
            principals[pid] = pname
        rows = s.execute(
            select(RoleAssignment.user_id, RoleAssignment.role, OrgUnit.code, OrgUnit.name)
            .join(OrgUnit, OrgUnit.id == RoleAssignment.org_unit_id)
            .where(RoleAssignment.user_id.in_(principals), RoleAssignment.valid_from <= today,
                   or_(RoleAssignment.valid_to.is_(None), RoleAssignment.valid_to >= today))
            .order_by(OrgUnit.code, RoleAssignment.role)
        ).all()
        roles = [HeldRole(code, name, role, ROLES[role].name_vi if role in ROLES else role,
                          ROLES[role].name_en if role in ROLES else role, principals[uid])
                 for uid, role, code, name in rows]
        return Me(user.id, user.username, user.full_name, home.code if home else None, roles)
