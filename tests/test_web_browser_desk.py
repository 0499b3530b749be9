"""The desk's day in a real browser (Debian's chromium through Playwright, the pattern of
tests/test_web_browser.py): a receipt with a papers checklist and scans in one entry,
Enter not submitting it, the printed slip, a reprint with a new PIN; a supplementation
whose form 02 carries the officer's words; the inbox and the public lookup on a 390 px
phone without sideways scrolling. Screenshots go to var/test-artifacts/browser/
(git-ignored) or $ISOFLOW_SCREENSHOT_DIR."""
from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest

from engine.adapters.storage import FileSystemStorage
from engine.errors import NotFound
from engine.services.procedures import publish_file
from engine.views import attachments as papers, dossiers as views, public
from tests.support import SYSTEM
from tests.browser_support import chromium, logged_in
from tests.live_server import werkzeug_server
from tests.web_support import web  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parent.parent
BIRTH = REPO / "bpmn" / "1.001193-birth-registration.bpmn"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(web, tmp_path):
    web.rt.storage = FileSystemStorage(tmp_path / "attachments")
    publish_file(web.rt, SYSTEM, BIRTH, effective_from=date(2020, 1, 1))
    with werkzeug_server(web.app) as server:
        yield web, server


@pytest.fixture
def browser():
    with chromium() as launched:
        yield launched


def shots() -> Path:
    target = Path(os.environ.get("ISOFLOW_SCREENSHOT_DIR") or REPO / "var" / "test-artifacts" / "browser")
    target.mkdir(parents=True, exist_ok=True)
    return target


def fill_receipt(page, tmp_path: Path) -> None:
    page.check("#f-component-0")
    page.check("#f-component-1")
    page.fill("input[name=count-1]", "2")
    page.fill("#f-applicant_name", "Lê Thị Hoa")
    page.fill("#f-applicant_id_number", "008190001234")
    page.fill("#f-applicant_phone", "0912345678")
    page.fill("#f-child_full_name", "Lê Minh Khang")
    page.fill("#f-child_birth_date", "2026-02-20")
    page.check("input[name=child_sex][value=male]")
    page.fill("#f-requester_full_name", "Lê Thị Hoa")
    page.check("input[name=outcome][value=approve]")
    (tmp_path / "to-khai.pdf").write_bytes(PDF)
    (tmp_path / "giay-chung-sinh.png").write_bytes(PNG)
    page.set_input_files("#f-files", [str(tmp_path / "to-khai.pdf"), str(tmp_path / "giay-chung-sinh.png")])


def test_receipt_with_papers_and_scans_slip_and_a_new_pin(desk, browser, tmp_path):
    web, server = desk
    context, page = logged_in(browser, server, "clerk")
    page.goto(f"{server}/desk/receive")
    page.select_option("#f-procedure_code", "1.001193")
    page.click("form[method=get] button[type=submit]")
    page.wait_for_url(re.compile(r".*procedure_code=1\.001193.*"))
    assert page.locator("fieldset.checklist tbody tr").count() == 3
    fill_receipt(page, tmp_path)
    page.screenshot(path=str(shots() / "desk-receive.png"), full_page=True)

    page.press("#f-applicant_phone", "Enter")  # Enter in a box: shown again, nothing received
    page.wait_for_load_state()
    assert "chưa được tiếp nhận" in page.locator(".flash-hint").inner_text()
    assert views.search_dossiers(web.rt, web.world.actor("clerk"), views.DossierFilter())[1] == 0
    assert page.is_checked("#f-component-1") and page.input_value("#f-child_full_name") == "Lê Minh Khang"
    page.set_input_files("#f-files", [str(tmp_path / "to-khai.pdf"), str(tmp_path / "giay-chung-sinh.png")])

    page.click("button[name=action][value=receive]")
    page.wait_for_url(re.compile(r".*/dossiers/TRIPHU-\d{6}-\d{4}/receipt$"))
    code = page.locator("dd.code").inner_text().strip()
    first_pin = page.locator("span.pin").inner_text().strip()
    clerk = web.world.actor("clerk")
    view = views.dossier_view(web.rt, clerk, code)
    assert [t.role for t in view.open_tasks] == ["justice_officer"]  # one entry: the desk step is done
    files = papers.attachments_of(web.rt, clerk, code)
    assert [(f.filename, f.content_type, f.at_receipt) for f in files] == [
        ("to-khai.pdf", "application/pdf", True), ("giay-chung-sinh.png", "image/png", True)]
    page.screenshot(path=str(shots() / "desk-receipt.png"), full_page=True)

    with page.expect_popup() as popup:
        page.click("#print-slip")
    slip = popup.value
    slip.wait_for_load_state()
    text = slip.locator("body").inner_text()
    assert first_pin in text and "Giấy chứng sinh" in text and "(2 loại giấy tờ, 3 bản)" in text
    assert slip.locator("[data-print]").count() == 1
    slip.screenshot(path=str(shots() / "desk-slip.png"), full_page=True)
    slip.close()

    page.reload()
    assert page.locator("span.pin").count() == 0  # shown once
    page.click("text=Cấp mã PIN mới (công dân mất giấy hẹn")
    page.fill("#f-reason", "Công dân làm mất giấy hẹn")
    page.click("section.card form button.warn")
    page.wait_for_url(re.compile(rf".*/dossiers/{code}/receipt$"))
    new_pin = page.locator("span.pin").inner_text().strip()
    assert re.fullmatch(r"\d{6}", new_pin)
    assert public.lookup(web.rt, code, new_pin).code == code
    if new_pin != first_pin:
        with pytest.raises(NotFound):
            public.lookup(web.rt, code, first_pin)
    with page.expect_popup() as popup:
        page.click("#print-slip")
    popup.value.wait_for_load_state()
    assert new_pin in popup.value.locator("body").inner_text()
    page.screenshot(path=str(shots() / "desk-new-pin.png"), full_page=True)
    context.close()


def test_form_02_carries_what_the_officer_typed(desk, browser):
    web, server = desk
    from engine.services import dossiers
    from engine.services.dossiers import Applicant

    receipt = dossiers.receive(web.rt, web.world.actor("clerk"), unit_code="TRIPHU", procedure_code="1.001193",
                               applicant=Applicant("Triệu Thị Mai"),
                               first_step={"child_full_name": "Triệu Văn An", "child_birth_date": "2026-02-01",
                                           "child_sex": "male", "requester_full_name": "Triệu Thị Mai",
                                           "outcome": "approve"})
    [task] = views.dossier_view(web.rt, web.world.actor("officer"), receipt.code).open_tasks
    context, page = logged_in(browser, server, "officer")
    page.goto(f"{server}/tasks/{task.id}")
    assert "Bắt buộc khi chọn" in page.locator("body").inner_text()  # what each outcome requires
    page.check("input[name=outcome][value=supplement]")
    page.fill("#f-supplement_request", "Bản sao giấy chứng sinh có chứng thực; Giấy xác nhận nơi cư trú")
    page.click("button[name=action][value=complete]")
    page.wait_for_url(f"{server}/inbox")
    page.goto(f"{server}/dossiers/{receipt.code}")
    assert "Bản sao giấy chứng sinh có chứng thực" in page.locator("p.notice.waiting").inner_text()
    page.goto(f"{server}/dossiers/{receipt.code}/print/02")
    form = page.locator("body").inner_text()
    assert "Bản sao giấy chứng sinh có chứng thực" in form and "Giấy xác nhận nơi cư trú" in form
    assert task.name not in form.split("Nội dung yêu cầu bổ sung")[1]
    page.screenshot(path=str(shots() / "form-02.png"), full_page=True)
    context.close()


def test_inbox_and_lookup_fit_a_390_px_phone(desk, browser):
    web, server = desk
    receipts = [web.receive(name) for name in ("Hoàng Văn Dũng", "Ma Thị Lan", "Nông Văn Bình")]
    context, page = logged_in(browser, server, "clerk", width=390, height=844)
    page.goto(f"{server}/inbox")
    assert page.locator("table.inbox tbody tr").count() == 3
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('main .btn, main button')]
        .filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect().height))""")
    assert smallest >= 44
    page.screenshot(path=str(shots() / "phone-inbox.png"), full_page=True)
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN").new_page()
    phone.goto(f"{server}/lookup")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.fill("#f-code", receipts[0].code)
    phone.fill("#f-pin", receipts[0].pin)
    phone.click("button[type=submit].primary")
    phone.wait_for_load_state()
    assert receipts[0].code in phone.locator("main").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    for selector in ("button[type=submit].primary", "#f-code"):
        assert phone.locator(selector).bounding_box()["height"] >= 44
    phone.keyboard.press("Tab")  # the skip link comes first
    assert phone.evaluate("document.activeElement.className") == "skip-link"
    phone.screenshot(path=str(shots() / "phone-lookup.png"), full_page=True)
    phone.context.close()


def test_procedure_picker_narrows_as_the_clerk_types(desk, browser):
    web, server = desk
    for name in ("1.000656-death-registration.bpmn", "1.000894-marriage-registration.bpmn"):
        publish_file(web.rt, SYSTEM, REPO / "bpmn" / name, effective_from=date(2020, 1, 1))
    context, page = logged_in(browser, server, "clerk")
    page.goto(f"{server}/desk/receive")

    def shown() -> list[str]:
        return page.eval_on_selector_all("#f-procedure_code option:not([hidden])[value]:not([value=''])",
                                         "options => options.map(o => o.value)")

    assert set(shown()) >= {"1.000656", "1.000894", "1.001193"}
    page.fill("#f-procedure-q", "khai tu")  # no accents
    assert shown() == ["1.000656"]
    assert page.input_value("#f-procedure_code") == "1.000656"  # the only match is chosen
    page.fill("#f-procedure-q", "Khai sinh")
    assert shown() == ["1.001193"]
    page.fill("#f-procedure-q", "000894")  # part of the code
    assert shown() == ["1.000894"]
    page.fill("#f-procedure-q", "đăng ký")
    assert len(shown()) == 3
    page.fill("#f-procedure-q", "kết hôn")
    page.press("#f-procedure-q", "Enter")  # picks, does not send the form
    page.click("form[method=get] button.primary")
    page.wait_for_load_state()
    assert "1.000894 · Đăng ký kết hôn" in page.inner_text("p.chosen")
    page.screenshot(path=str(shots() / "desk-procedure-picker.png"), full_page=True)
    context.close()
