"""People and their roles, seen through the permission policy: who am I, users of a
commune, role assignments with validity dates (rotation), delegation during leave,
deactivation (which lists the open tasks to hand over)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select

from engine.domain.lifecycle import StepState
from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.adapters.db.models import ApiToken, Delegation, Dossier, OrgUnit, RoleAssignment, Task, User
from engine.errors import Conflict, InvalidInput, Problem, Unauthenticated
from engine.permissions import load_principal, not_found, require, require_anywhere
from engine.runtime import reading
from engine.domain.roles import ROLES
from engine.services import identity


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
    """The acting user and the roles valid today, own and delegated (as assigned, not
    spread). `rt` is the runtime or an open unit (a page's)."""
    if actor.user_id is None:
        raise Unauthenticated("log in first", "bạn cần đăng nhập")
    with reading(rt, actor) as unit:
        s, today = unit.session, unit.now.astimezone(VN_TZ).date()
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


# --- administration (users.manage in the unit concerned) ------------------------------

PROVINCE_ROLES = frozenset({"province_admin", "iso_consultant"})
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class UnitView:
    unit_id: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    category: str
    address: str
    active: bool


@dataclass(frozen=True)
class AssignmentView:
    assignment_id: int
    user_id: int
    username: str
    unit_code: str
    role: str
    valid_from: date
    valid_to: date | None
    valid_today: bool


@dataclass(frozen=True)
class DelegationView:
    delegation_id: int
    principal_id: int
    principal_username: str
    delegate_id: int
    delegate_username: str
    valid_from: date
    valid_to: date
    reason: str
    revoked: bool


@dataclass(frozen=True)
class UserView:
    user_id: int
    username: str
    full_name: str
    email: str | None
    active: bool
    home_unit_code: str | None
    assignments: list[AssignmentView]
    delegations: list[DelegationView]


@dataclass(frozen=True)
class OpenTaskRef:
    task_id: int
    dossier_code: str
    name: str
    role: str
    unit_code: str
    due_at: datetime | None


@dataclass(frozen=True)
class Deactivation:
    user_id: int
    revoked_tokens: int
    open_tasks: list[OpenTaskRef]  # hand these over with the task reassign action


class _Admin:
    """The actor's principal for administrative acts, loaded inside one unit of work."""

    def __init__(self, uow) -> None:
        self.uow = uow
        self.session = uow.session
        self.today = uow.now.astimezone(VN_TZ).date()
        actor = uow.actor
        self.principal = load_principal(uow, actor.user_id, self.today) if actor.user_id is not None else None

    def require(self, action: str, unit_id: int, what: str) -> None:
        if self.principal is not None:
            require(self.principal, action, unit_id, what=what)

    def sees(self, unit_id: int | None) -> bool:
        return self.principal is None or (unit_id is not None and self.principal.sees(unit_id))

    def unit(self, code: str) -> OrgUnit:
        unit = self.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if unit is None or not self.sees(unit.id):
            raise not_found(f"org unit {code}", f"đơn vị {code}")
        return unit

    def may_view_people(self, unit_id: int) -> bool:
        """users.view: a unit's staff and the province administration read its people;
        a role that handles no dossiers (the ISO consultant) does not."""
        return self.principal is None or self.principal.can("users.view", unit_id)

    def people_units(self) -> set[int]:
        """The units whose users, role assignments and open steps the actor may read."""
        if self.principal is None:
            return set(self.session.scalars(select(OrgUnit.id)))
        require_anywhere(self.principal, "users.view")
        return {unit for unit in self.principal.visible_units() if self.principal.can("users.view", unit)}

    def user_units(self, user: User) -> set[int]:
        units = {a.org_unit_id for a in user.assignments}
        if user.home_org_unit_id is not None:
            units.add(user.home_org_unit_id)
        return units

    def user(self, user_id: int, *, read_people: bool = True) -> User:
        """A user the actor may name: themselves, or someone of a unit whose people they
        read (`read_people=False`: of any unit they hold a role in, to pick a delegate)."""
        user = self.session.get(User, user_id)
        visible = self.may_view_people if read_people else self.sees
        if user is None or (self.principal is not None and user.id != self.principal.user_id
                            and not any(visible(u) for u in self.user_units(user))):
            raise not_found(f"user {user_id}", f"người dùng {user_id}")
        return user

    def require_manage_user(self, user: User) -> None:
        """users.manage in the user's home unit (or, without one, in a unit they hold a role in)."""
        if self.principal is None:
            return
        units = [user.home_org_unit_id] if user.home_org_unit_id is not None else sorted(self.user_units(user))
        if not any(self.principal.can("users.manage", u) for u in units):
            require(self.principal, "users.manage", units[0] if units else -1, what="user")


def _unit_view(unit: OrgUnit, codes: dict[int, str]) -> UnitView:
    return UnitView(unit.id, unit.code, unit.name, unit.kind, codes.get(unit.parent_id) if unit.parent_id else None,
                    unit.category, unit.address, unit.active)


def list_units(rt, actor: Actor) -> list[UnitView]:
    """The org units the actor holds a role in (a province role spreads to its communes)."""
    with rt.unit_of_work(actor) as uow:
        admin = _Admin(uow)
        units = uow.session.scalars(select(OrgUnit).order_by(OrgUnit.kind.desc(), OrgUnit.code)).all()
        codes = {u.id: u.code for u in units}
        return [_unit_view(u, codes) for u in units if admin.sees(u.id)]


def create_unit(rt, actor: Actor, *, code: str, name: str, parent_code: str, category: str = "normal",
                address: str = "") -> UnitView:
    """A new commune under a province (users.manage in the province)."""
    with rt.unit_of_work(actor) as uow:
        admin = _Admin(uow)
        parent = admin.unit(parent_code)
        admin.require("users.manage", parent.id, "org unit")
        if parent.kind != "province":
            raise InvalidInput("a commune's parent must be a province", "đơn vị cấp trên của xã phải là tỉnh",
                               code="bad_parent", problems=[Problem("bad_parent", "Đơn vị cấp trên phải là tỉnh.",
                                                                    "The parent must be a province.", field="parent_code")])
    unit_id = identity.create_org_unit(rt, actor, code=code, name=name, kind="commune", parent_code=parent_code,
                                       category=category, address=address)
    with rt.read(actor) as reading:
        return _unit_view(reading.session.get(OrgUnit, unit_id), {parent.id: parent.code})


def list_users(rt, actor: Actor, *, unit_code: str | None = None, query: str | None = None,
               active: bool | None = None, limit: int = 50, offset: int = 0) -> tuple[list[UserView], int]:
    with rt.unit_of_work(actor) as uow:
        admin = _Admin(uow)
        s = uow.session
        units = admin.people_units()
        if unit_code:
            unit = admin.unit(unit_code)
            admin.require("users.view", unit.id, "org unit")
            units = {unit.id}
        in_units = or_(User.home_org_unit_id.in_(units),
                       User.id.in_(select(RoleAssignment.user_id).where(RoleAssignment.org_unit_id.in_(units))))
        q = select(User).where(in_units)
        if query:
            like = f"%{query.strip()}%"
            q = q.where(or_(User.username.ilike(like), User.full_name.ilike(like)))
        if active is not None:
            q = q.where(User.active.is_(active))
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        users = s.scalars(q.order_by(User.username, User.id).limit(limit).offset(offset)).all()
        return [_user_view(s, u, admin.today, units) for u in users], total


def get_user(rt, actor: Actor, user_id: int) -> UserView:
    with rt.unit_of_work(actor) as uow:
        admin = _Admin(uow)
        user = admin.user(user_id)
        units = None if admin.principal is None or user.id == admin.principal.user_id else admin.people_units()
        return _user_view(uow.session, user, admin.today, units)


def _user_view(s, user: User, today: date, units: set[int] | None = None) -> UserView:
    """`units`: show only the role assignments held there (None: all of them)."""
    codes = dict(s.execute(select(OrgUnit.id, OrgUnit.code)).all())
    assignments = [
        AssignmentView(a.id, user.id, user.username, codes[a.org_unit_id], a.role, a.valid_from, a.valid_to,
                       a.valid_from <= today and (a.valid_to is None or a.valid_to >= today))
        for a in sorted(user.assignments, key=lambda a: (a.valid_from, a.id))
        if units is None or a.org_unit_id in units
    ]
    rows = s.scalars(select(Delegation).where(or_(Delegation.principal_id == user.id,
                                                  Delegation.delegate_id == user.id)).order_by(Delegation.id)).all()
    ids = {d.principal_id for d in rows} | {d.delegate_id for d in rows}
    names = dict(s.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}
    delegations = [_delegation_view(d, names) for d in rows]
    return UserView(user.id, user.username, user.full_name, user.email, user.active,
                    codes.get(user.home_org_unit_id) if user.home_org_unit_id else None, assignments, delegations)


def _delegation_view(d: Delegation, names: dict[int, str]) -> DelegationView:
    return DelegationView(d.id, d.principal_id, names.get(d.principal_id, ""), d.delegate_id,
                          names.get(d.delegate_id, ""), d.valid_from, d.valid_to, d.reason, d.revoked_at is not None)


def create_user(rt, actor: Actor, *, username: str, full_name: str, password: str, home_unit_code: str,
                email: str | None = None) -> UserView:
    problems = []
    if not username or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        problems.append(Problem("bad_username", "Tên đăng nhập chỉ gồm chữ, số, '.', '-' và '_'.",
                                "The username must be letters, digits, '.', '-' or '_'.", field="username"))
    if not full_name or not full_name.strip():
        problems.append(Problem("required", "Phải nhập họ tên.", "The full name is required.", field="full_name"))
    if len(password or "") < MIN_PASSWORD_LENGTH:
        problems.append(Problem("weak_password", f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.",
                                f"The password must have at least {MIN_PASSWORD_LENGTH} characters.", field="password"))
    if problems:
        raise InvalidInput("the user cannot be created as entered", "không thể tạo người dùng với thông tin đã nhập",
                           problems=problems)
    with rt.unit_of_work(actor) as uow:
        admin = _Admin(uow)
        unit = admin.unit(home_unit_code)
        admin.require("users.manage", unit.id, "org unit")
    user_id = identity.create_user(rt, actor, username=username, full_name=full_name.strip(), password=password,
                                   email=email, home_unit_code=home_unit_code)
    return get_user(rt, actor, user_id)


def assign_role(rt, actor: Actor, *, user_id: int, unit_code: str, role: str, valid_from: date,
                valid_to: date | None = None) -> AssignmentView:
    """A role in a unit for a period (rotation: give the successor the role from the
    day the predecessor's assignment ends)."""
    with rt.unit_of_work(actor) as uow:
        admin = _Admin(uow)
        unit = admin.unit(unit_code)
        admin.require("users.manage", unit.id, "org unit")
        user = admin.user(user_id)
        if not user.active:
            raise Conflict(f"user {user.username} is deactivated", f"người dùng {user.username} đã bị khóa",
                           code="user_inactive")
        wants_province = role in PROVINCE_ROLES
        if role in ROLES and wants_province != (unit.kind == "province"):
            where = "the province" if wants_province else "a commune"
            raise InvalidInput(f"role {role} is held in {where}, not in {unit.kind} {unit.code}",
                               f"vai trò {role} không áp dụng cho đơn vị {unit.code}", code="role_unit_mismatch",
                               problems=[Problem("role_unit_mismatch", f"Vai trò {role} không áp dụng cho {unit.code}.",
                                                 f"Role {role} does not apply to {unit.code}.", field="unit_code")])
    assignment_id = identity.assign_role(rt, actor, user_id=user_id, unit_code=unit_code, role=role,
                                         valid_from=valid_from, valid_to=valid_to)
    return _assignment(rt, actor, assignment_id)


def _assignment(rt, actor: Actor, assignment_id: int) -> AssignmentView:
    with rt.read(actor) as unit:
        today = unit.now.astimezone(VN_TZ).date()
        a = unit.session.get(RoleAssignment, assignment_id)
        return AssignmentView(a.id, a.user_id, a.user.username, a.org_unit.code, a.role, a.valid_from, a.valid_to,
                              a.valid_from <= today and (a.valid_to is None or a.valid_to >= today))


def end_assignment(rt, actor: Actor, assignment_id: int, valid_to: date) -> AssignmentView:
    """Close a role assignment on `valid_to` (the last day the role is held)."""
    with rt.unit_of_work(actor) as uow:
        admin = _Admin(uow)
        row = uow.session.get(RoleAssignment, assignment_id)
        if row is None or not admin.sees(row.org_unit_id):
            raise not_found(f"role assignment {assignment_id}", f"phân công vai trò {assignment_id}")
        admin.require("users.manage", row.org_unit_id, "role assignment")
        if valid_to < row.valid_from:
            raise InvalidInput("valid_to is before the assignment starts", "ngày kết thúc trước ngày bắt đầu",
                               code="bad_period", problems=[Problem("bad_period", "Ngày kết thúc trước ngày bắt đầu.",
                                                                    "valid_to is before valid_from.", field="valid_to")])
        before = row.valid_to
        row.valid_to = valid_to
        uow.log("role.ended", "role_assignment", row.id, org_unit_id=row.org_unit_id,
                before={"valid_to": before}, after={"valid_to": valid_to, "role": row.role, "user_id": row.user_id})
        uow.commit()
    return _assignment(rt, actor, assignment_id)


def delegate(rt, actor: Actor, *, principal_id: int, delegate_id: int, valid_from: date, valid_to: date,
             reason: str = "") -> DelegationView:
    """`delegate` acts for `principal` (leave). Set up by the principal, or by a manager
    of the principal's unit."""
    problems = []
    if valid_to < valid_from:
        problems.append(Problem("bad_period", "Ngày kết thúc trước ngày bắt đầu.", "valid_to is before valid_from.",
                                field="valid_to"))
    if principal_id == delegate_id:
        problems.append(Problem("self_delegation", "Không thể ủy quyền cho chính mình.",
                                "A user cannot delegate to themselves.", field="delegate_id"))
    if problems:
        raise InvalidInput("the delegation is not valid", "ủy quyền không hợp lệ", problems=problems)
    with rt.unit_of_work(actor) as uow:
        admin = _Admin(uow)
        principal_user = admin.user(principal_id, read_people=actor.user_id != principal_id)
        delegate_user = admin.user(delegate_id, read_people=False)
        if actor.user_id != principal_id:
            admin.require_manage_user(principal_user)
        if not delegate_user.active or not principal_user.active:
            raise Conflict("both users must be active", "cả hai người dùng phải đang hoạt động", code="user_inactive")
        row = Delegation(principal_id=principal_id, delegate_id=delegate_id, valid_from=valid_from, valid_to=valid_to,
                         reason=(reason or "").strip()[:300], created_at=uow.now)
        uow.session.add(row)
        uow.session.flush()
        uow.log("delegation.created", "delegation", row.id, org_unit_id=principal_user.home_org_unit_id,
                after={"principal_id": principal_id, "delegate_id": delegate_id, "valid_from": valid_from,
                       "valid_to": valid_to, "reason": row.reason})
        uow.commit()
        return _delegation_view(row, {principal_id: principal_user.username, delegate_id: delegate_user.username})


def revoke_delegation(rt, actor: Actor, delegation_id: int) -> DelegationView:
    with rt.unit_of_work(actor) as uow:
        admin = _Admin(uow)
        row = uow.session.get(Delegation, delegation_id)
        if row is None:
            raise not_found(f"delegation {delegation_id}", f"ủy quyền {delegation_id}")
        principal_user = admin.user(row.principal_id)
        if actor.user_id != row.principal_id:
            admin.require_manage_user(principal_user)
        if row.revoked_at is not None:
            raise Conflict("the delegation is already revoked", "ủy quyền đã bị thu hồi", code="already_revoked")
        row.revoked_at = uow.now
        uow.log("delegation.revoked", "delegation", row.id, org_unit_id=principal_user.home_org_unit_id,
                before={"revoked_at": None}, after={"revoked_at": uow.now})
        uow.commit()
        delegate_user = uow.session.get(User, row.delegate_id)
        return _delegation_view(row, {row.principal_id: principal_user.username, row.delegate_id: delegate_user.username})


def open_tasks_of(rt, actor: Actor, user_id: int) -> list[OpenTaskRef]:
    """Open steps assigned to a user (to reassign when they leave or go on leave):
    dossier data, so only the steps of communes whose dossiers the actor may view."""
    with rt.unit_of_work(actor) as uow:
        admin = _Admin(uow)
        if admin.principal is not None:
            require_anywhere(admin.principal, "dossier.view")
        admin.user(user_id)
        return _open_tasks(uow.session, user_id, admin)


def _open_tasks(s, user_id: int, admin: _Admin) -> list[OpenTaskRef]:
    rows = s.execute(
        select(Task.id, Dossier.code, Task.name, Task.role, OrgUnit.code, Task.due_at, Task.org_unit_id)
        .join(Dossier, Dossier.id == Task.dossier_id).join(OrgUnit, OrgUnit.id == Task.org_unit_id)
        .where(Task.assignee_id == user_id, Task.state == StepState.OPEN).order_by(Task.due_at, Task.id)
    ).all()
    return [OpenTaskRef(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows
            if admin.principal is None or admin.principal.can("dossier.view", r[6])]


def deactivate_user(rt, actor: Actor, user_id: int, reason: str) -> Deactivation:
    """The user leaves: no more logins or tokens; their open tasks are listed for reassignment."""
    if not reason or not reason.strip():
        raise InvalidInput("a reason is required", "phải ghi rõ lý do", code="reason_required",
                           problems=[Problem("required", "Phải ghi lý do.", "The reason is required.", field="reason")])
    with rt.unit_of_work(actor) as uow:
        admin = _Admin(uow)
        user = admin.user(user_id)
        admin.require_manage_user(user)
        if actor.user_id == user_id:
            raise Conflict("you cannot deactivate yourself", "không thể tự khóa tài khoản của mình", code="self_deactivation")
        if not user.active:
            raise Conflict(f"user {user.username} is already deactivated", f"người dùng {user.username} đã bị khóa",
                           code="already_inactive")
        user.active, user.deactivated_at = False, uow.now
        tokens = uow.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id,
                                                            ApiToken.revoked_at.is_(None))).all()
        for token in tokens:
            token.revoked_at = uow.now
        open_tasks = _open_tasks(uow.session, user_id, admin)
        uow.log("user.deactivated", "user", user.id, org_unit_id=user.home_org_unit_id,
                before={"active": True}, after={"active": False, "reason": reason.strip(), "revoked_tokens": len(tokens),
                                                "open_task_ids": [t.task_id for t in open_tasks]})
        uow.commit()
        return Deactivation(user.id, len(tokens), open_tasks)
