"""End to end in a real browser (Debian's chromium driven by Playwright): a month of
dossiers in March 2026; the clerk completes a late step and is asked why; a citizen
rates a returned dossier on the public page and a second rating is refused; the chair
opens the statistics page for March, whose figures match `isoflow stats` for the same
period, opens the dossiers behind a figure and downloads the Excel report, which
openpyxl reads with the expected headings and totals equal to the sums of their rows.
Screenshots go to $ISOFLOW_SCREENSHOT_DIR (default: the test's temporary directory)."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cli.main import cli
from engine.domain.calendar import VN_TZ
from engine.adapters.storage import FileSystemStorage
from engine.services import dossiers
from engine.services.attachments import Upload, attach
from tests.test_web_browser import page, screenshot_dir, server  # noqa: F401  (fixtures)
from tests.web_support import web  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def login(page, server, username):
    page.goto(f"{server}/login")
    page.fill("#f-username", username)
    page.fill("#f-password", "secret-pass")
    page.click("button[type=submit].primary")


def march_of_dossiers(web):
    """Dossiers of March 2026 in TRIPHU: finished early, finished late, still open, returned."""
    clock = web.rt.clock
    receipts = {}
    for name, channel in (("An", 1), ("Bình", 2), ("Cường", 2), ("Dung", 3), ("Em", 1)):
        receipts[name] = dossiers.receive(web.rt, web.world.actor("clerk"), unit_code="TRIPHU",
                                          procedure_code="9.000001", applicant=web_applicant(name), channel=channel)
    for name in ("An", "Bình"):  # finished the same day, early, and returned
        web.step("clerk", receipts[name])
        web.step("officer", receipts[name], {"outcome": "approve"})
        web.step("chair", receipts[name], {"outcome": "approve"})
        dossiers.return_result(web.rt, web.world.actor("clerk"), receipts[name].code)
    web.step("clerk", receipts["Cường"])
    # An's identity card was scanned at the desk on receipt: one digitised dossier of five
    attach(web.rt, web.world.actor("clerk"), receipts["An"].code, [Upload("cccd.pdf", b"%PDF-1.4\n%%EOF\n")],
           at_receipt=True)
    clock.advance(timedelta(days=9))  # Thu 12/3: Cường's appraisal, Dung's and Em's desk steps are overdue
    return receipts


def web_applicant(name):
    from engine.services.dossiers import Applicant

    return Applicant(f"Nguyễn Văn {name}")


def test_chair_reads_the_statistics_of_a_month(web, server, page, tmp_path, database_url):
    web.rt.storage = FileSystemStorage(tmp_path / "papers")
    receipts = march_of_dossiers(web)
    shots = screenshot_dir(tmp_path)

    # the clerk completes a late desk step and is asked why
    login(page, server, "clerk")
    task_id = web.task_of("clerk", receipts["Dung"]).id
    page.goto(f"{server}/tasks/{task_id}")
    page.click("form.step-form button[type=submit].primary")
    page.wait_for_url(re.compile(rf".*/tasks/{task_id}/lateness-reason$"))
    page.check("input[name=reason][value=coordination]")
    page.fill("#f-detail", "Chờ xác minh nơi cư trú")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r".*/inbox$"))
    assert "Đã ghi lý do chậm muộn" in page.content()

    # a citizen rates a returned dossier; a second rating is refused
    page.context.clear_cookies()
    page.goto(f"{server}/lookup")
    page.fill("#f-code", receipts["An"].code)
    page.fill("#f-pin", receipts["An"].pin)
    page.click("button[type=submit].primary")
    page.click("text=Đánh giá mức độ hài lòng")
    page.fill("#f-pin", receipts["An"].pin)
    page.check("input[name=rating][value=very_satisfied]")
    page.fill("#f-comment", "Cán bộ nhiệt tình")
    page.click("button[type=submit].primary")
    # the form posts back to its own address: wait for the answer, not for a new URL
    page.wait_for_selector("text=Cảm ơn ông/bà đã đánh giá.")
    page.goto(f"{server}/lookup/rate?code={receipts['An'].code}")
    page.fill("#f-pin", receipts["An"].pin)
    page.check("input[name=rating][value=not_satisfied]")
    page.click("button[type=submit].primary")
    page.wait_for_selector("text=chỉ đánh giá một lần")

    # April: March is closed, so the page and the CLI judge the open dossiers at the same instant
    web.rt.clock.advance(timedelta(days=21))
    login(page, server, "chair")
    page.click("nav.mainnav >> text=Thống kê")
    page.select_option("select[name=kind]", "month")
    page.fill("input[name=year]", "2026")
    page.select_option("select[name=month]", "3")
    page.select_option("select[name=by]", "field")
    page.click("form.stats-picker button[type=submit]")
    page.wait_for_selector("#stats-table")
    page.screenshot(path=str(shots / "statistics.png"), full_page=True)

    cli_report = CliRunner().invoke(cli, ["stats", "--period", "2026-03", "--by", "field", "--json",
                                          "--database-url", database_url])
    assert cli_report.exit_code == 0, cli_report.output
    expected = json.loads(cli_report.stdout)
    shown = {}
    for row in page.query_selector_all("#stats-table tbody tr"):
        shown[row.get_attribute("data-key")] = {
            cell.get_attribute("data-cell"): cell.inner_text().strip() for cell in row.query_selector_all("td[data-cell]")}
    assert set(shown) == {r["key"] for r in expected["rows"]} | {"total"}
    for row in [*expected["rows"], expected["total"]]:
        got = shown[row["key"]]
        for cell in ("received_total", "carried_over", "received_new", "finished_total", "finished_early",
                     "finished_on_time", "finished_late", "ended_without_result", "pending_total",
                     "pending_within_limit", "pending_overdue"):
            assert got[cell] == str(row[cell]), (row["key"], cell)
        for k in "123":
            assert got[f"received_channel_{k}"] == str(row["received_by_channel"][k])
        assert got["indicator_2_1"] == ("–" if row["indicator_2_1"] is None else f"{row['indicator_2_1']}")
        assert got["satisfaction_percent"].split()[0] == ("–" if row["satisfaction_percent"] is None
                                                          else f"{row['satisfaction_percent']}")
    total = expected["total"]
    assert (total["received_new"], total["finished_early"], total["ratings_total"], total["satisfaction_percent"]) == \
        (5, 2, 1, 100.0)
    assert page.inner_text("#lateness-reasons tr[data-reason=coordination] td.num") == "1"
    assert total["received_digitised"] == 1 and total["digitised_percent"] == 20.0
    digitised = page.inner_text("#indicators tr[data-indicator=digitised]")
    assert f"{total['digitised_percent']} %" in digitised and "1/5" in digitised

    # the figure opens exactly its dossiers
    page.click("#stats-table tr[data-key=total] td[data-cell=pending_overdue] a")
    page.wait_for_selector("#items")
    listed = page.query_selector_all("#items tbody tr")
    assert len(listed) == total["pending_overdue"] > 0
    page.screenshot(path=str(shots / "statistics-items.png"), full_page=True)
    page.go_back()

    # the Excel report
    with page.expect_download() as download:
        page.click("text=Tải báo cáo Excel")
    assert download.value.suggested_filename == "bao-cao-tthc-2026-03.xlsx"
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    workbook = load_workbook(path)
    sheet = workbook["Theo lĩnh vực"]
    assert sheet["A1"].value == "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
    assert "Tháng 03/2026" in sheet["A2"].value and "Xã Tri Phú" in sheet["A2"].value
    rows = list(sheet.iter_rows(values_only=True))
    headings = {v for r in rows[:8] for v in r if isinstance(v, str)}
    assert {"STT", "Số hồ sơ nhận giải quyết", "Số kỳ trước chuyển qua", "Trực tuyến", "Trả trước hạn", "Trả đúng hạn",
            "Trả quá hạn", "Số hồ sơ đang giải quyết"} <= headings
    total_index = next(i for i, r in enumerate(rows) if r[1] == "Tổng cộng")
    body = [r for r in rows[:total_index] if isinstance(r[0], int)]
    assert body
    for col in range(2, 2 + 13):
        assert rows[total_index][col] == sum(r[col] for r in body), col
    assert rows[total_index][2] == total["received_total"]
