"""The quality system end to end in a real browser (Debian's chromium, Playwright): the
ISO consultant sets up an audit programme, plans and conducts an audit with a
nonconformity finding; the chair handles the nonconformity it opened through its
corrective action to closure, then opens the quarter's management review, whose pack
lists them. Screenshots go to $ISOFLOW_SCREENSHOT_DIR, by default the git-ignored
artifacts/screenshots/ of the repository."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.test_web_browser import page, server  # noqa: F401  (fixtures)
from tests.web_support import web  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parent.parent


def shots_dir() -> Path:
    target = Path(os.environ.get("ISOFLOW_SCREENSHOT_DIR") or REPO / "artifacts" / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target


def login(page, server, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{server}/login")
    page.fill("#f-username", username)
    page.fill("#f-password", "secret-pass")
    page.click("button[type=submit].primary")
    page.wait_for_load_state()


def flash(page) -> str:
    return page.locator(".flashes").inner_text()


def test_audit_finding_nonconformity_corrective_action_and_review_pack(web, server, page):
    shots = shots_dir()
    sampled = web.receive("Hoàng Văn Dũng")
    web.step("clerk", sampled)
    web.step("officer", sampled, {"outcome": "approve"})

    # the ISO consultant: programme, audit, sample, checklist, finding
    login(page, server, "consultant")
    page.goto(f"{server}/quality?unit=TRIPHU")
    page.click("#programmes summary")
    page.fill("#f-p-scope", "Thủ tục hộ tịch tại bộ phận một cửa")
    page.click("#programmes button[type=submit]")
    assert "Đã lập chương trình đánh giá nội bộ." in flash(page)
    page.click("#programmes a:has-text('2026')")
    page.select_option("#f-au-procedure", "9.000001")
    page.select_option("#f-au-auditor", str(web.world.actor("consultant").user_id))
    page.fill("#f-au-planned", "2026-03-03")
    page.fill("#f-au-start", "2026-03-01")
    page.fill("#f-au-end", "2026-03-31")
    page.click("#plan-audit button[type=submit]")
    assert "Đã lập kế hoạch cuộc đánh giá." in flash(page)
    page.screenshot(path=str(shots / "quality-1-programme.png"), full_page=True)
    page.click("table.grid a")
    page.click("#generate")
    assert "Đã chọn mẫu hồ sơ và lập danh mục kiểm tra." in flash(page)
    checklist = page.locator("#checklist tbody tr")
    assert checklist.count() == 6  # every step of the pinned version
    assert sampled.code in page.locator("#checklist thead").inner_text()
    page.select_option("#f-f-kind", "nonconformity")
    page.select_option("#f-f-step", "sign")
    page.select_option("#f-f-dossier", sampled.code)
    page.fill("#f-f-text", "Hồ sơ trình ký không kèm phiếu kiểm soát")
    page.click("#finding-form button[type=submit]")
    assert "Đã ghi phát hiện." in flash(page)
    page.screenshot(path=str(shots / "quality-2-audit.png"), full_page=True)
    nc_link = page.locator("#findings a", has_text="#")
    nc_url = server + nc_link.get_attribute("href")

    # the chair: the nonconformity's corrective action, verification, closure
    login(page, server, "chair")
    page.goto(nc_url)
    assert "Hồ sơ trình ký không kèm phiếu kiểm soát" in page.locator(".nc-description").inner_text()
    page.fill("#f-a-description", "Bổ sung phiếu kiểm soát vào bộ hồ sơ trình ký")
    page.select_option("#f-a-owner", str(web.world.actor("officer").user_id))
    page.fill("#f-a-due", "2026-03-10")
    page.click("form.new-action button[type=submit]")
    assert "Đã thêm hành động khắc phục." in flash(page)
    page.fill("#f-root-cause", "Quy trình chưa nêu phiếu kiểm soát đi kèm khi trình ký")
    page.click("text=Ghi nguyên nhân")
    assert "Đang khắc phục" in page.locator(".nc-state").inner_text()
    page.fill("#corrective-actions input[name=note]", "Đã bổ sung và hướng dẫn cán bộ")
    page.click("#corrective-actions button:has-text('Đã thực hiện')")
    assert "Chờ đánh giá hiệu lực" in page.locator(".nc-state").inner_text()
    page.fill("#f-correction", "Bổ sung phiếu kiểm soát cho hồ sơ được chọn")
    page.click("text=Ghi khắc phục")
    page.fill("#f-verification", "Kiểm tra 5 hồ sơ trình ký sau đó: đều có phiếu kiểm soát")
    page.check("input[name=effective][value=yes]")
    page.click("text=Ghi đánh giá")
    page.click("text=Đóng sự không phù hợp")
    assert "Đã đóng sự không phù hợp." in flash(page)
    assert page.locator(".nc-state").inner_text().strip() == "Đã đóng"
    page.screenshot(path=str(shots / "quality-3-nonconformity.png"), full_page=True)

    # the chair: the quarter's management review pack lists the audit and the nonconformity
    page.goto(f"{server}/quality?unit=TRIPHU")
    page.click("#reviews summary")
    page.fill("#f-rv-period", "2026-Q1")
    page.fill("#f-rv-chair", "Chủ tịch UBND xã Tri Phú")
    page.click("#reviews button[type=submit]")
    page.wait_for_url(re.compile(r".*/quality/reviews/\d+$"))
    nonconformities = page.locator("#review-nonconformities").inner_text()
    assert "Hồ sơ trình ký không kèm phiếu kiểm soát" in nonconformities and "Đã đóng" in nonconformities
    assert "Bổ sung phiếu kiểm soát vào bộ hồ sơ trình ký" in nonconformities
    assert "9.000001" in page.locator("#review-audits").inner_text()
    page.screenshot(path=str(shots / "quality-4-review.png"), full_page=True)
    pdf = page.request.get(server + page.locator("#pack-pdf").get_attribute("href"))
    assert pdf.status == 200 and pdf.body()[:4] == b"%PDF"
    (shots / "quality-review-pack.pdf").write_bytes(pdf.body())
