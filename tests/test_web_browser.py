"""End to end in a real browser: Debian's chromium driven by Playwright against a real
HTTP server on 127.0.0.1. A clerk logs in, receives a dossier, finds it in the inbox
and completes the desk's step. Screenshots of the inbox and the dossier page go to
$ISOFLOW_SCREENSHOT_DIR (default: the test's temporary directory)."""
from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from engine.views import dossiers as views
from tests.browser_support import chromium
from tests.live_server import werkzeug_server
from tests.web_support import web  # noqa: F401  (fixture)


pytestmark = pytest.mark.browser


@pytest.fixture
def server(web):
    with werkzeug_server(web.app) as url:
        yield url


@pytest.fixture
def page():
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="vi-VN")
        try:
            yield context.new_page()
        finally:
            context.close()


def busy_commune(web) -> None:
    """A few dossiers at different stages, so the lists show every colour."""
    clock = web.rt.clock
    late = web.receive("Hoàng Văn Dũng")
    web.step("clerk", late)
    web.receive("Ma Thị Lan")  # its desk step is forgotten: overdue by Thursday
    clock.advance(timedelta(hours=2))
    paused = web.receive("Triệu Thị Mai")
    web.step("clerk", paused)
    web.step("officer", paused, {"outcome": "supplement", "reason": "Thiếu bản sao giấy chứng sinh"})
    clock.advance(timedelta(days=1, hours=5))  # Wed 17:00... then the next morning
    web.receive("Nông Văn Bình")
    clock.advance(timedelta(hours=15))  # Thu 08:00: the appraisal of `late` is overdue


def screenshot_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("ISOFLOW_SCREENSHOT_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def test_clerk_receives_a_dossier_and_completes_the_desk_step(web, server, page, tmp_path):
    busy_commune(web)
    shots = screenshot_dir(tmp_path)

    page.goto(f"{server}/inbox")
    assert page.url.startswith(f"{server}/login")  # not logged in yet
    page.fill("#f-username", "clerk")
    page.fill("#f-password", "secret-pass")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{server}/inbox")

    page.click("nav.mainnav >> text=Tiếp nhận hồ sơ")
    page.select_option("#f-procedure_code", "9.000001")
    page.click("text=Chọn thủ tục này")  # the procedure first, then the rest of the one entry
    page.fill("#f-applicant_name", "Lê Thị Hoa")
    page.fill("#f-applicant_id_number", "008190001234")
    page.fill("#f-applicant_address", "Thôn Khuôn Khoai, xã Tri Phú")
    page.check("input[name=channel][value='1']")
    page.fill("#f-note", "Hồ sơ đủ thành phần, chuyển công chức tư pháp")  # the desk step's own field
    page.click("text=Tiếp nhận và in giấy hẹn")
    page.wait_for_url(re.compile(r".*/dossiers/TRIPHU-\d{6}-\d{4}/receipt$"))
    code = page.locator("dd.code").inner_text().strip()
    pin = page.locator("span.pin").inner_text().strip()
    assert re.fullmatch(r"\d{6}", pin)

    page.click("nav.mainnav >> text=Việc của tôi")
    # one entry: the desk step was completed at receipt, the dossier is with the justice officer
    assert page.locator("table.inbox tr", has_text=code).count() == 0
    assert page.locator("table.inbox tr.row-overdue").count() >= 1
    page.screenshot(path=str(shots / "inbox.png"), full_page=True)

    forgotten = page.locator("table.inbox tr", has_text="Ma Thị Lan")  # a desk step left open since Tuesday
    forgotten_code = forgotten.locator("a.code").inner_text().strip()
    forgotten.locator("a.btn.primary").click()
    page.wait_for_url(re.compile(r".*/tasks/\d+$"))
    page.fill("#f-note", "Hồ sơ đủ thành phần, chuyển công chức tư pháp")
    page.click("button[name=action][value=complete]")
    # the step was overdue: its officer is asked why before going back to the inbox
    page.wait_for_url(re.compile(r".*/tasks/\d+/lateness-reason$"))
    assert "Đã hoàn thành bước và chuyển hồ sơ" in page.locator(".flash-success").inner_text()
    page.check("input[name=reason][value=coordination]")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{server}/inbox")
    assert page.locator("table.inbox tr", has_text=forgotten_code).count() == 0  # now with the justice officer

    page.goto(f"{server}/dossiers/{code}")
    sheet = page.locator("section.sheet tbody tr")
    assert sheet.count() == 2
    assert "Đúng hạn" in sheet.nth(0).inner_text() or "Trước hạn" in sheet.nth(0).inner_text()
    page.screenshot(path=str(shots / "dossier.png"), full_page=True)

    [step] = [t for t in views.dossier_view(web.rt, web.world.actor("clerk"), code).open_tasks]
    assert step.role == "justice_officer" and step.bpmn_id == "appraise"
