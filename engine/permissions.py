"""The permission policy: one table, enforced for every action by the service layer.

A user's roles come from role assignments valid on the day (people rotate), plus the
roles of the people they act for (delegation). A role held at the province applies
to every commune of the province. Objects of a commune the user has no role in are
reported as not found, never as forbidden, so their existence does not leak.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, bindparam, or_, select
from sqlalchemy.orm import Session

from engine.adapters.db.models import Delegation, OrgUnit, RoleAssignment
from engine.adapters.db.revisions import ROLES, cached, core_connection, read_tokens
from engine.errors import NotFound, PermissionDenied

LEADERS = frozenset({"chair", "vice_chair"})
OFFICERS = frozenset(
    {"justice_officer", "land_officer", "culture_social_officer", "office_officer", "finance_officer"}
)
COMMUNE_STAFF = LEADERS | OFFICERS | {"one_stop_clerk"}

# action -> roles that may perform it in the object's commune.
POLICY: dict[str, frozenset[str]] = {
    "dossier.view": COMMUNE_STAFF | {"province_admin"},
    "dossier.receive": frozenset({"one_stop_clerk"}),
    "dossier.supplement": frozenset({"one_stop_clerk"}),
    "dossier.withdraw": frozenset({"one_stop_clerk"}),
    "dossier.return_result": frozenset({"one_stop_clerk"}),
    "dossier.refuse": LEADERS,
    "dossier.stop": LEADERS,
    "dossier.apology": LEADERS | {"one_stop_clerk"},
    "task.view_queue": COMMUNE_STAFF,
    "task.reassign": LEADERS,
    "stats.view": LEADERS | {"province_admin"},
    "audit.view": LEADERS | {"province_admin"},
    "procedure.view": COMMUNE_STAFF | {"iso_consultant", "province_admin"},
    "procedure.author": frozenset({"iso_consultant"}),
    "procedure.approve": frozenset({"chair", "province_admin"}),
    "calendar.manage": frozenset({"province_admin"}),
    "users.manage": frozenset({"province_admin", "chair"}),
    # the ISO 9001 quality system (docs/iso.md)
    "quality.view": COMMUNE_STAFF | {"iso_consultant", "province_admin"},
    "quality.report": COMMUNE_STAFF | {"iso_consultant"},  # open a nonconformity by hand
    "quality.manage": LEADERS | {"iso_consultant"},  # objectives, analysis, actions, risks, reviews
    "complaint.record": LEADERS | {"one_stop_clerk"},
    "audit.plan": frozenset({"chair", "iso_consultant", "province_admin"}),
    "audit.conduct": LEADERS | {"iso_consultant", "province_admin"},
}
# Performing a step is granted by holding the step's own role (see `may_perform_step`).


@dataclass
class Principal:
    """A user's effective roles per org unit on one day."""

    user_id: int | None
    roles_by_unit: dict[int, set[str]] = field(default_factory=dict)

    def roles_in(self, org_unit_id: int) -> set[str]:
        return self.roles_by_unit.get(org_unit_id, set())

    def can(self, action: str, org_unit_id: int) -> bool:
        return bool(self.roles_in(org_unit_id) & POLICY[action])

    def can_anywhere(self, action: str) -> bool:
        return any(roles & POLICY[action] for roles in self.roles_by_unit.values())

    def sees(self, org_unit_id: int) -> bool:
        return bool(self.roles_in(org_unit_id))

    def visible_units(self) -> set[int]:
        return {unit for unit, roles in self.roles_by_unit.items() if roles}


# Every use case starts here: statements are built once, so each call only binds values.
_acting_for = select(Delegation.principal_id).where(
    Delegation.delegate_id == bindparam("user_id"),
    Delegation.valid_from <= bindparam("on"),
    Delegation.valid_to >= bindparam("on"),
    Delegation.revoked_at.is_(None),
)
_ROLES = select(RoleAssignment.org_unit_id, RoleAssignment.role, OrgUnit.kind).join(OrgUnit).where(
    or_(RoleAssignment.user_id == bindparam("user_id"), RoleAssignment.user_id.in_(_acting_for)),
    RoleAssignment.valid_from <= bindparam("on"),
    or_(RoleAssignment.valid_to.is_(None), RoleAssignment.valid_to >= bindparam("on")),
)
_CHILDREN = select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.parent_id.in_(bindparam("parents", expanding=True)))


def load_principal(session: Session | Connection, user_id: int, on: date,
                   tokens: Mapping[str, str] | None = None) -> Principal:
    """Roles valid on `on`, own and delegated, spread from the province to its communes.

    Cached per process while the roles token is unchanged (`engine.adapters.db.revisions`);
    pass `tokens` when the caller has read them in this transaction already."""
    connection = core_connection(session)
    if tokens is None:
        tokens = read_tokens(connection)
    return cached(ROLES, ("principal", user_id, on), tokens, lambda: _query_principal(connection, user_id, on))


def _query_principal(connection: Connection, user_id: int, on: date) -> Principal:
    principal = Principal(user_id)
    provinces: dict[int, set[str]] = {}
    for unit_id, role, kind in connection.execute(_ROLES, {"user_id": user_id, "on": on}):
        principal.roles_by_unit.setdefault(unit_id, set()).add(role)
        if kind == "province":
            provinces.setdefault(unit_id, set()).add(role)
    if provinces:
        for child_id, parent_id in connection.execute(_CHILDREN, {"parents": list(provinces)}):
            principal.roles_by_unit.setdefault(child_id, set()).update(provinces[parent_id])
    return principal


def require(principal: Principal, action: str, org_unit_id: int, *, what: str = "object") -> None:
    """Raise NotFound when the user has no role in the unit, PermissionDenied when the
    user sees the unit but may not perform the action."""
    if not principal.sees(org_unit_id):
        raise not_found(what)
    if not principal.can(action, org_unit_id):
        raise PermissionDenied(
            f"your roles do not allow '{action}' here",
            f"vai trò của bạn không được phép thực hiện '{action}' tại đơn vị này",
            code="permission_denied",
            hint="ask the commune chair for the role assignment this action needs",
        )


def require_anywhere(principal: Principal, action: str) -> None:
    """For province-wide objects (the procedure library, the holiday calendar, the
    whole event log): the action needs the role in some unit."""
    if not principal.can_anywhere(action):
        raise PermissionDenied(
            f"your roles do not allow '{action}'",
            f"vai trò của bạn không được phép thực hiện '{action}'",
            code="permission_denied",
            hint="ask the province administrator for the role assignment this action needs",
        )


def may_perform_step(principal: Principal, step_role: str, org_unit_id: int) -> bool:
    return step_role in principal.roles_in(org_unit_id)


def not_found(what: str) -> NotFound:
    return NotFound(f"{what} not found", f"không tìm thấy {what}", code="not_found")
