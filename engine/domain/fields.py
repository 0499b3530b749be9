"""Registry of procedure fields (lĩnh vực), the grouping used in statistics and postings.
A model's `field` property is one of these codes; tables may also name a field by its
Vietnamese name as provinces print it (`resolve_field`: accents and case ignored)."""
from __future__ import annotations

from dataclasses import dataclass

from engine.domain.textmatch import fold


@dataclass(frozen=True)
class Field:
    code: str
    name_vi: str
    name_en: str
    aliases: tuple[str, ...] = ()  # other names in provinces' catalogues


FIELDS: dict[str, Field] = {
    f.code: f
    for f in (
        Field("civil_status", "Hộ tịch", "Civil status", ("Hành chính tư pháp - Hộ tịch", "Lĩnh vực hộ tịch", "Liên thông hộ tịch")),
        Field("certification", "Chứng thực", "Certification", ("Hành chính tư pháp - Chứng thực", "Lĩnh vực chứng thực")),
        Field("adoption", "Nuôi con nuôi", "Adoption"),
        Field("land", "Đất đai", "Land", ("Lĩnh vực đất đai", "Quản lý đất đai")),
        Field("construction", "Xây dựng", "Construction", ("Hoạt động xây dựng", "Quy hoạch xây dựng", "Cấp giấy phép xây dựng")),
        Field("environment", "Môi trường", "Environment"),
        Field("complaints", "Giải quyết khiếu nại", "Complaints", ("Khiếu nại", "Thanh tra - Khiếu nại")),
        Field("denunciations", "Giải quyết tố cáo", "Denunciations", ("Tố cáo",)),
        Field("citizen_reception", "Tiếp công dân", "Citizen reception"),
        Field("social_protection", "Bảo trợ xã hội", "Social protection", ("Trợ giúp xã hội", "Xã hội")),
        Field("meritorious_people", "Người có công", "Persons with meritorious services", ("Ưu đãi người có công", "Chính sách người có công")),
        Field("poverty_reduction", "Giảm nghèo", "Poverty reduction"),
        Field("children", "Trẻ em", "Children", ("Bảo vệ, chăm sóc trẻ em", "Phòng, chống tệ nạn xã hội và trẻ em")),
        Field("labour", "Lao động", "Labour"),
        Field("culture", "Văn hóa", "Culture", ("Văn hóa cơ sở", "Văn hóa, thể thao và du lịch")),
        Field("sports", "Thể dục thể thao", "Sports"),
        Field("education", "Giáo dục và Đào tạo", "Education", ("Giáo dục", "Giáo dục đào tạo", "Giáo dục và đào tạo thuộc hệ thống giáo dục quốc dân")),
        Field("health", "Y tế", "Health"),
        Field("agriculture", "Nông nghiệp", "Agriculture"),
        Field("forestry", "Lâm nghiệp", "Forestry"),
        Field("household_business", "Thành lập và hoạt động của hộ kinh doanh", "Household business", ("Hộ kinh doanh", "Đăng ký kinh doanh", "Thành lập và hoạt động doanh nghiệp (hộ kinh doanh)")),
        Field("grassroots_mediation", "Hòa giải ở cơ sở", "Grassroots mediation", ("Hòa giải cơ sở",)),
        Field("emulation_rewards", "Thi đua, khen thưởng", "Emulation and rewards"),
        Field("religion", "Tín ngưỡng, tôn giáo", "Beliefs and religion", ("Tôn giáo", "Tín ngưỡng tôn giáo")),
        Field("ethnic_affairs", "Công tác dân tộc", "Ethnic affairs"),
        Field("disaster_prevention", "Phòng, chống thiên tai", "Disaster prevention"),
        Field("veterans", "Cựu chiến binh", "Veterans"),
        Field("commerce", "Lưu thông hàng hóa trong nước", "Domestic trade", ("Công Thương", "Thương mại")),
        Field("irrigation", "Thủy lợi", "Irrigation"),
        Field("associations", "Hội, quỹ xã hội, quỹ từ thiện", "Associations and funds", ("Hội", "Tổ chức hội")),
        Field("state_compensation", "Bồi thường nhà nước", "State compensation"),
        Field("legal_dissemination", "Phổ biến, giáo dục pháp luật", "Legal dissemination", ("Phổ biến giáo dục pháp luật",)),
    )
}


# folded name -> code, for the registry key, the Vietnamese and English names and the aliases
_BY_NAME: dict[str, str] = {}
for _field in FIELDS.values():
    for _name in (_field.code, _field.name_vi, _field.name_en, *_field.aliases):
        _BY_NAME.setdefault(fold(_name), _field.code)


def resolve_field(text: str) -> str | None:
    """The field code named by `text`: a registry key (`civil_status`) or a name as
    catalogues print it (`Hộ tịch`, `LĨNH VỰC HỘ TỊCH`), accents and case ignored; a
    leading "Lĩnh vực" is dropped. None when nothing matches; never a guess."""
    if not text:
        return None
    if text in FIELDS:
        return text
    folded = fold(text)
    folded = folded.removeprefix("linh vuc ").strip()
    return _BY_NAME.get(folded)


def field_label(code: str, lang: str = "vi") -> str:
    f = FIELDS.get(code)
    if f is None:
        return code
    return f.name_vi if lang == "vi" else f.name_en
