"""The quality system's pages (api/web/pages_quality.py): every page in both languages,
the forms post through the use cases, and another commune's records are 404."""
from __future__ import annotations

import re
from datetime import date

import pytest

from engine.services import quality, quality_audit, quality_review
from tests.support import SYSTEM
from tests.web_support import web  # noqa: F401


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.fixture
def records(web):
    rt = web.rt
    r = web.receive()
    complaint = quality.record_complaint(rt, SYSTEM, dossier_code=r.code, complainant="Nguyễn Văn An", content="Chậm")
    programme = quality_audit.create_programme(rt, SYSTEM, unit_code="TRIPHU", year=2026)
    audit = quality_audit.plan_audit(rt, SYSTEM, programme_id=programme, procedure_code="9.000001",
                                     auditor_id=web.world.actor("consultant").user_id, planned_on=date(2026, 3, 20),
                                     period_start=date(2026, 3, 1), period_end=date(2026, 3, 31))
    review = quality_review.create_review(rt, SYSTEM, unit_code="TRIPHU", period="2026-Q1", held_on=date(2026, 4, 2),
                                          chaired_by="Chủ tịch")
    quality.set_objective(rt, SYSTEM, unit_code="TRIPHU", year=2026, title="Đúng hạn ≥ 98%",
                          measure="on_time_percent", target=98)
    quality.set_objective(rt, SYSTEM, unit_code="TRIPHU", year=2026, title="Hài lòng ≥ 95%",
                          measure="satisfaction_percent", target=95)
    return {"nc": complaint.nonconformity_id, "programme": programme, "audit": audit, "review": review, "code": r.code}


PAGES = [  # (user, path, Vietnamese, English)
    ("chair", "/quality?unit=TRIPHU", "Sự không phù hợp", "Nonconformities"),
    ("chair", "/quality/nonconformities/{nc}", "Hành động khắc phục", "Corrective actions"),
    ("consultant", "/quality/programmes/{programme}", "Lập kế hoạch cuộc đánh giá", "Plan an audit"),
    ("consultant", "/quality/audits/{audit}", "Chọn mẫu hồ sơ và lập danh mục kiểm tra", "Draw the sample and build the checklist"),
    ("chair", "/quality/reviews/{review}", "Thay đổi về pháp luật và quy trình", "Changes in law and procedures"),
    ("chair", "/dashboard", "Mục tiêu chất lượng", "Quality objectives"),
]


@pytest.mark.parametrize("user, path, vi, en", PAGES, ids=[p[1] for p in PAGES])
def test_every_quality_page_speaks_vietnamese_then_english(web, records, user, path, vi, en):
    path = path.format(**records)
    b = web.browser(user)
    response = b.get(path)
    assert response.status_code == 200 and vi in text(response) and en not in text(response)
    b.language("en")
    response = b.get(path)
    assert en in text(response) and vi not in text(response)


def test_the_dashboard_panel_shows_the_objectives_with_no_data_for_satisfaction(web, records):
    page = text(web.browser("chair").get("/dashboard"))
    assert 'id="quality-objectives"' in page and "Đúng hạn ≥ 98%" in page and "Chưa có số liệu" in page
    assert 'id="quality-objectives"' not in text(web.browser("nh_chair").get("/dashboard"))


@pytest.mark.parametrize("path", ["/quality/nonconformities/{nc}", "/quality/programmes/{programme}",
                                  "/quality/audits/{audit}", "/quality/reviews/{review}",
                                  "/quality/reviews/{review}/pack.pdf", "/quality/audits/{audit}/report.pdf",
                                  "/quality?unit=TRIPHU"])
def test_another_communes_records_are_404_pages(web, records, path):
    response = web.browser("nh_chair").get(path.format(**records))
    assert response.status_code == 404 and "không tìm thấy" in text(response).lower()


def test_another_communes_forms_are_404(web, records):
    b = web.browser("nh_chair")
    assert b.post(f"/quality/nonconformities/{records['nc']}/correction", {"correction": "x"}).status_code == 404
    assert b.post(f"/quality/reviews/{records['review']}/decisions", {"text": "x"}).status_code == 404


def test_forms_go_through_the_use_cases_and_report_errors(web, records):
    b = web.browser("chair")
    officer = web.world.actor("officer").user_id
    nc = records["nc"]
    r = b.post(f"/quality/nonconformities/{nc}/actions", {"description": "Nhắc lịch", "owner_id": str(officer),
                                                          "due_on": "2026-03-10"})
    assert r.status_code == 302
    b.post(f"/quality/nonconformities/{nc}/analysis", {"root_cause": "Thiếu lịch"})
    page = text(b.get(f"/quality/nonconformities/{nc}"))
    assert "Đang khắc phục" in page and "Nhắc lịch" in page and "Thiếu lịch" in page
    bad = b.post(f"/quality/nonconformities/{nc}/close", {})
    assert bad.status_code == 302
    assert "chỉ đóng khi hành động khắc phục đã được xác nhận có hiệu lực" in text(b.get(f"/quality/nonconformities/{nc}"))
    b.post("/quality/objectives", {"unit_code": "TRIPHU", "year": "2026", "title": "x", "measure": "late_percent",
                                   "target": "abc"})
    assert "target phải là số" in text(b.get("/quality?unit=TRIPHU"))
    pdf = b.get(f"/quality/reviews/{records['review']}/pack.pdf")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    html = b.get(f"/quality/reviews/{records['review']}/pack.html")
    assert html.status_code == 200 and "Tài liệu xem xét của lãnh đạo" in text(html)


def test_an_action_owner_finds_the_quality_pages_and_records_the_action_done(web, records):
    rt = web.rt
    action = quality.add_action(rt, SYSTEM, nonconformity_id=records["nc"], description="Gọi lại công dân",
                                owner_id=web.world.actor("officer").user_id, due_on=date(2026, 3, 5))
    b = web.browser("officer")
    assert "Hệ thống chất lượng" in text(b.get("/inbox"))
    page = text(b.get(f"/quality/nonconformities/{records['nc']}"))
    assert "Gọi lại công dân" in page and "Ghi nguyên nhân" not in page  # the owner, not a manager
    b.post(f"/quality/actions/{action}/done", {"note": "Đã gọi", "back": f"/quality/nonconformities/{records['nc']}"})
    assert "Đã ghi nhận hành động hoàn thành." in text(b.get(f"/quality/nonconformities/{records['nc']}"))
    assert "Hệ thống chất lượng" not in text(web.browser(None).get("/lookup"))


def test_a_risk_is_reassessed_and_closed_from_the_review(web, records):
    risk = quality.add_risk(web.rt, SYSTEM, unit_code="TRIPHU", kind="risk", description="Mất điện kéo dài",
                            likelihood=4, impact=4)
    b = web.browser("chair")
    page = f"/quality/reviews/{records['review']}"
    assert "Mất điện kéo dài · 16" in text(b.get(page))
    b.post(f"/quality/risks/{risk}/review", {"likelihood": "2", "impact": "4", "note": "Đã có máy phát",
                                             "close": "yes", "back": page})
    after = text(b.get(page))
    assert "Đã đánh giá lại rủi ro, cơ hội." in after and "Mất điện kéo dài · 8" in after and "Đã có máy phát" in after
    assert web.browser("nh_chair").post(f"/quality/risks/{risk}/review", {"likelihood": "1", "impact": "1",
                                                                        "note": "x"}).status_code == 404
