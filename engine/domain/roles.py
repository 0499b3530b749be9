"""Registry of role codes (docs/domain.md §2). BPMN lane names and the task property `role`
must be one of these codes; permissions are granted per role and org unit.

Since 1 July 2025 a commune's staff sit in the units of Decree 150/2025/NĐ-CP (12/6/2025):
Văn phòng HĐND và UBND (office, justice, external affairs), Phòng Kinh tế (Phòng Kinh tế,
Hạ tầng và Đô thị in wards), Phòng Văn hóa - Xã hội, and the Trung tâm Phục vụ hành chính
công (the one-stop desk). The role codes stay; each names its post in the new structure
and keeps the former post titles (Decree 33/2023) as aliases, so tables and models that
write the old names still read."""
from __future__ import annotations

from dataclasses import dataclass

from engine.domain.textmatch import fold


@dataclass(frozen=True)
class Role:
    code: str
    name_vi: str
    name_en: str
    performs_steps: bool  # may own a human step in a procedure model
    unit_vi: str = ""  # the commune unit of Decree 150/2025 the post belongs to
    aliases: tuple[str, ...] = ()  # other names of the post, former titles included


ROLES: dict[str, Role] = {
    r.code: r
    for r in (
        Role("one_stop_clerk", "Công chức tiếp nhận và trả kết quả (Trung tâm Phục vụ hành chính công)",
             "One-stop desk clerk", True, "Trung tâm Phục vụ hành chính công",
             ("Công chức tiếp nhận và trả kết quả", "Bộ phận tiếp nhận và trả kết quả", "Bộ phận một cửa",
              "Công chức một cửa", "Trung tâm Phục vụ hành chính công", "Trung tâm Phục vụ hành chính công xã",
              "Công chức Trung tâm Phục vụ hành chính công", "Bộ phận TN&TKQ", "Bộ phận TN và TKQ")),
        Role("justice_officer", "Công chức Tư pháp - Hộ tịch (Văn phòng HĐND và UBND)",
             "Justice and civil status officer", True, "Văn phòng HĐND và UBND",
             ("Công chức Tư pháp - Hộ tịch", "Công chức Tư pháp", "Công chức làm công tác hộ tịch",
              "Công chức làm công tác tư pháp", "Công chức tư pháp hộ tịch Văn phòng HĐND và UBND")),
        Role("land_officer", "Công chức Phòng Kinh tế (đất đai, xây dựng)", "Land and construction officer", True,
             "Phòng Kinh tế / Phòng Kinh tế, Hạ tầng và Đô thị",
             ("Công chức Địa chính - Xây dựng", "Công chức Địa chính - Xây dựng - Đô thị và Môi trường",
              "Công chức Địa chính - Nông nghiệp - Xây dựng và Môi trường", "Công chức địa chính",
              "Phòng Kinh tế, Hạ tầng và Đô thị", "Công chức Phòng Kinh tế, Hạ tầng và Đô thị")),
        Role("culture_social_officer", "Công chức Phòng Văn hóa - Xã hội", "Culture and social affairs officer", True,
             "Phòng Văn hóa - Xã hội",
             ("Công chức Văn hóa - Xã hội", "Phòng Văn hóa - Xã hội", "Công chức lao động - thương binh và xã hội",
              "Công chức Văn hóa - Xã hội phụ trách lao động, thương binh và xã hội")),
        Role("office_officer", "Công chức Văn phòng HĐND và UBND", "Office officer", True, "Văn phòng HĐND và UBND",
             ("Công chức Văn phòng - Thống kê", "Văn phòng HĐND và UBND", "Văn phòng Hội đồng nhân dân và Ủy ban nhân dân",
              "Công chức Văn phòng Hội đồng nhân dân và Ủy ban nhân dân")),
        Role("finance_officer", "Công chức Phòng Kinh tế (tài chính, kinh doanh)", "Economic affairs officer", True,
             "Phòng Kinh tế / Phòng Kinh tế, Hạ tầng và Đô thị",
             ("Công chức Tài chính - Kế toán", "Phòng Kinh tế", "Công chức Phòng Kinh tế")),
        Role("vice_chair", "Phó Chủ tịch UBND", "Vice chair of the People's Committee", True, "UBND xã",
             ("Phó Chủ tịch UBND xã", "Phó Chủ tịch Ủy ban nhân dân xã", "Phó Chủ tịch UBND cấp xã",
              "Phó Chủ tịch phụ trách")),
        Role("chair", "Chủ tịch UBND", "Chair of the People's Committee", True, "UBND xã",
             # the signing leader; a commune may delegate to a vice chair (its own table says so)
             ("Chủ tịch UBND xã", "Chủ tịch Ủy ban nhân dân xã", "Chủ tịch UBND cấp xã", "Lãnh đạo UBND xã",
              "Lãnh đạo UBND", "Lãnh đạo Ủy ban nhân dân xã", "Chủ tịch hoặc Phó Chủ tịch UBND xã",
              "Chủ tịch/Phó Chủ tịch UBND xã")),
        Role("iso_consultant", "Chuyên gia tư vấn ISO", "ISO consultant", False),
        Role("province_admin", "Quản trị cấp tỉnh", "Province administrator", False),
    )
}

STEP_ROLES = frozenset(code for code, role in ROLES.items() if role.performs_steps)

# folded name -> code, for the registry key, the current post name and every alias
_BY_NAME: dict[str, str] = {}
for _role in ROLES.values():
    for _name in (_role.code, _role.name_vi, _role.name_en, *_role.aliases):
        _BY_NAME.setdefault(fold(_name), _role.code)


def resolve_role(text: str) -> str | None:
    """The role code named by `text`: a registry key (`justice_officer`) or a Vietnamese post
    name, current or former, accents and case ignored (`Công chức Tư pháp - hộ tịch`).
    None when nothing matches; never a guess."""
    if not text:
        return None
    if text in ROLES:
        return text
    return _BY_NAME.get(fold(text))


def role_label(code: str, lang: str = "vi") -> str:
    role = ROLES.get(code)
    if role is None:
        return code
    return role.name_vi if lang == "vi" else role.name_en
