"""Registry of procedure fields (lĩnh vực), the grouping used in statistics and postings.
A model's `field` property is one of these codes."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    code: str
    name_vi: str
    name_en: str


FIELDS: dict[str, Field] = {
    f.code: f
    for f in (
        Field("civil_status", "Hộ tịch", "Civil status"),
        Field("certification", "Chứng thực", "Certification"),
        Field("adoption", "Nuôi con nuôi", "Adoption"),
        Field("land", "Đất đai", "Land"),
        Field("construction", "Xây dựng", "Construction"),
        Field("environment", "Môi trường", "Environment"),
        Field("complaints", "Giải quyết khiếu nại", "Complaints"),
        Field("denunciations", "Giải quyết tố cáo", "Denunciations"),
        Field("citizen_reception", "Tiếp công dân", "Citizen reception"),
        Field("social_protection", "Bảo trợ xã hội", "Social protection"),
        Field("meritorious_people", "Người có công", "Persons with meritorious services"),
        Field("poverty_reduction", "Giảm nghèo", "Poverty reduction"),
        Field("children", "Trẻ em", "Children"),
        Field("labour", "Lao động", "Labour"),
        Field("culture", "Văn hóa", "Culture"),
        Field("sports", "Thể dục thể thao", "Sports"),
        Field("education", "Giáo dục và Đào tạo", "Education"),
        Field("health", "Y tế", "Health"),
        Field("agriculture", "Nông nghiệp", "Agriculture"),
        Field("forestry", "Lâm nghiệp", "Forestry"),
        Field("household_business", "Thành lập và hoạt động của hộ kinh doanh", "Household business"),
        Field("grassroots_mediation", "Hòa giải ở cơ sở", "Grassroots mediation"),
        Field("emulation_rewards", "Thi đua, khen thưởng", "Emulation and rewards"),
        Field("religion", "Tín ngưỡng, tôn giáo", "Beliefs and religion"),
        Field("ethnic_affairs", "Công tác dân tộc", "Ethnic affairs"),
        Field("disaster_prevention", "Phòng, chống thiên tai", "Disaster prevention"),
        Field("veterans", "Cựu chiến binh", "Veterans"),
    )
}


def field_label(code: str, lang: str = "vi") -> str:
    f = FIELDS.get(code)
    if f is None:
        return code
    return f.name_vi if lang == "vi" else f.name_en
