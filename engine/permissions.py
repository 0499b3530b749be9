"""The permission policy: one table, enforced for every action by the service layer.

A user's roles come from role assignments valid on the day (people rotate), plus the
roles of the people they act for (delegation). A role held at the province applies
to every commune of the province. Objects of a commune the user has no role in are
reported as not found, never as forbidden, so their existence does not leak.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, or_, select

from engine.adapters.db.models import Delegation, OrgUnit, RoleAssignment
from engine.adapters.db.revisions import ROLES
from engine.errors import NotFound, PermissionDenied

if TYPE_CHECKING:
    from engine.runtime import Unit

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
    # Scanned documents and photos: the commune's own staff only (the province sees the
    # dossier, not its papers).
    "dossier.attach": COMMUNE_STAFF,
    "dossier.attachments": COMMUNE_STAFF,
    "dossier.reissue_pin": frozenset({"one_stop_clerk"}),
    "task.view_queue": COMMUNE_STAFF,
    "task.reassign": LEADERS,
    "stats.view": LEADERS | {"province_admin"},
    "audit.view": LEADERS | {"province_admin"},
    "procedure.view": COMMUNE_STAFF | {"iso_consultant", "province_admin"},
    "procedure.author": frozenset({"iso_consultant"}),
    # Held at the province for a province-wide version; a chair's counts only for the
    # local versions of their own commune (engine.services.procedures.authorize).
    "procedure.approve": frozenset({"chair", "province_admin"}),
    "calendar.manage": frozenset({"province_admin"}),
    "users.manage": frozenset({"province_admin", "chair"}),
    # Reading the people of a unit (users, their role assignments, their open steps):
    # its staff and the province administration, not the ISO consultant.
    "users.view": COMMUNE_STAFF | {"province_admin"},
    # the ISO 9001 quality system (docs/iso.md)
    "quality.view": COMMUNE_STAFF | {"iso_consultant", "province_admin"},
    "quality.report": COMMUNE_STAFF | {"iso_consultant"},  # open a nonconformity by hand
    "quality.manage": LEADERS | {"iso_consultant"},  # objectives, analysis, actions, risks, reviews
    "complaint.record": LEADERS | {"one_stop_clerk"},
    "audit.plan": frozenset({"chair", "iso_consultant", "province_admin"}),
    "audit.conduct": LEADERS | {"iso_consultant", "province_admin"},
    # Integrators' webhook subscriptions and the commune's notice texts to applicants.
    "integration.manage": frozenset({"province_admin", "chair"}),
}
# The actions in the words users read in refusals (English: the action code itself).
ACTION_VI: dict[str, str] = {
    "dossier.view": "xem hồ sơ",
    "dossier.receive": "tiếp nhận hồ sơ",
    "dossier.supplement": "yêu cầu bổ sung hồ sơ",
    "dossier.withdraw": "rút hồ sơ",
    "dossier.return_result": "trả kết quả",
    "dossier.refuse": "từ chối hồ sơ",
    "dossier.stop": "dừng xử lý hồ sơ",
    "dossier.apology": "lập thư xin lỗi",
    "dossier.attach": "đính kèm tài liệu vào hồ sơ",
    "dossier.attachments": "xem tài liệu đính kèm",
    "dossier.reissue_pin": "cấp lại mã PIN tra cứu",
    "task.view_queue": "xem danh sách công việc",
    "task.reassign": "giao lại công việc",
    "stats.view": "xem thống kê",
    "audit.view": "xem nhật ký",
    "procedure.view": "xem thư viện thủ tục",
    "procedure.author": "soạn thảo quy trình",
    "procedure.approve": "phê duyệt, ban hành hoặc bãi bỏ quy trình",
    "calendar.manage": "điều chỉnh lịch làm việc",
    "users.manage": "quản lý người dùng",
    "users.view": "xem người dùng",
    "quality.view": "xem hệ thống chất lượng",
    "quality.report": "ghi nhận sự không phù hợp",
    "quality.manage": "quản lý mục tiêu, hành động khắc phục, rủi ro và xem xét của lãnh đạo",
    "complaint.record": "ghi nhận khiếu nại, phản ánh",
    "audit.plan": "lập chương trình đánh giá nội bộ",
    "audit.conduct": "thực hiện đánh giá nội bộ",
    "integration.manage": "quản lý kết nối tích hợp và mẫu thông báo",
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


def load_principal(unit: "Unit", user_id: int, on: date) -> Principal:
    """Roles valid on `on`, own and delegated, spread from the province to its communes,
    read in the unit's transaction.

    Cached by the runtime while the roles token is unchanged (`engine.caching.ChangeTokenCache`)."""
    return unit.runtime.reference.get(ROLES, ("principal", user_id, on), unit.setting_tokens,
                                      lambda: _query_principal(unit.connection, user_id, on))


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
    require_visible(principal, org_unit_id, what)
    if not principal.can(action, org_unit_id):
        raise PermissionDenied(
            f"your roles do not allow '{action}' here",
            f"vai trò của bạn không được phép {action_vi(action)} tại đơn vị này",
            code="permission_denied",
            hint="ask the commune chair for the role assignment this action needs",
        )


def require_anywhere(principal: Principal, action: str) -> None:
    """For province-wide objects (the procedure library, the holiday calendar, the
    whole event log): the action needs the role in some unit."""
    if not principal.can_anywhere(action):
        raise PermissionDenied(
            f"your roles do not allow '{action}'",
            f"vai trò của bạn không được phép {action_vi(action)}",
            code="permission_denied",
            hint="ask the province administrator for the role assignment this action needs",
        )


def may_perform_step(principal: Principal, step_role: str, org_unit_id: int) -> bool:
    return step_role in principal.roles_in(org_unit_id)


def require_visible(principal: Principal | None, org_unit_id: int, what: str, what_vi: str | None = None) -> None:
    """The visibility rule, for every read and use case: an object of a commune the user
    holds no role in is reported as not found (None: a system actor, which sees all)."""
    if principal is not None and not principal.sees(org_unit_id):
        raise not_found(what, what_vi)


def action_vi(action: str) -> str:
    return ACTION_VI.get(action, "thực hiện thao tác này")


# Nouns callers name their missing objects with, for callers that pass no Vietnamese.
NOUNS_VI: dict[str, str] = {
    "dossier": "hồ sơ",
    "task": "công việc",
    "org unit": "đơn vị",
    "user": "người dùng",
    "role assignment": "phân công vai trò",
    "delegation": "ủy quyền",
    "procedure version": "phiên bản quy trình",
    "procedure": "thủ tục",
    "object": "đối tượng",
}


def not_found(what: str, what_vi: str | None = None) -> NotFound:
    """NotFound naming the object in both languages: `what` in English (e.g. "dossier
    TRIPHU-..."), `what_vi` in Vietnamese; without it a known leading noun is translated
    and an unknown one becomes a neutral word, never English in the Vietnamese text."""
    return NotFound(f"{what} not found", f"không tìm thấy {what_vi or _noun_vi(what)}", code="not_found")


def _noun_vi(what: str) -> str:
    for noun in sorted(NOUNS_VI, key=len, reverse=True):
        if what == noun or what.startswith(noun + " "):
            return NOUNS_VI[noun] + what[len(noun):]
    return "đối tượng yêu cầu"
