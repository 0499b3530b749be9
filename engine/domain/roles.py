"""Registry of role codes (DOMAIN.md §2). BPMN lane names and the task property `role`
must be one of these codes; permissions are granted per role and org unit."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    code: str
    name_vi: str
    name_en: str
    performs_steps: bool  # may own a human step in a procedure model


ROLES: dict[str, Role] = {
    r.code: r
    for r in (
        Role("one_stop_clerk", "Công chức tiếp nhận và trả kết quả", "One-stop desk clerk", True),
        Role("justice_officer", "Công chức Tư pháp - Hộ tịch", "Justice and civil status officer", True),
        Role("land_officer", "Công chức Địa chính - Xây dựng", "Land and construction officer", True),
        Role("culture_social_officer", "Công chức Văn hóa - Xã hội", "Culture and social affairs officer", True),
        Role("office_officer", "Công chức Văn phòng - Thống kê", "Office and statistics officer", True),
        Role("finance_officer", "Công chức Tài chính - Kế toán", "Finance officer", True),
        Role("vice_chair", "Phó Chủ tịch UBND", "Vice chair of the People's Committee", True),
        Role("chair", "Chủ tịch UBND", "Chair of the People's Committee", True),
        Role("iso_consultant", "Chuyên gia tư vấn ISO", "ISO consultant", False),
        Role("province_admin", "Quản trị cấp tỉnh", "Province administrator", False),
    )
}

STEP_ROLES = frozenset(code for code, role in ROLES.items() if role.performs_steps)


def role_label(code: str, lang: str = "vi") -> str:
    role = ROLES.get(code)
    if role is None:
        return code
    return role.name_vi if lang == "vi" else role.name_en
