"""The statistics page, the dossiers behind a figure, the Excel download (web pages)."""
from __future__ import annotations

import re
from io import BytesIO

from openpyxl import load_workbook

from engine.views import statistics as stats
from tests.support import SYSTEM
from tests.web_support import web  # noqa: F401


def text(response) -> str:
    return response.get_data(as_text=True)


def test_statistics_page_figures_link_to_their_dossiers(web):
    first = web.receive("Nguyễn Văn An")
    web.receive("Trần Thị Bình")
    chair = web.browser("chair")
    page = chair.get("/statistics?kind=month&year=2026&month=3&by=field")
    assert page.status_code == 200, text(page)[:2000]
    html = text(page)
    assert "Tháng 03/2026" in html and "<svg" in html and 'id="stats-table"' in html
    report = stats.compute_statistics(web.rt, SYSTEM, period="2026-03", group_by="field")
    total_row = re.search(r'data-key="total".*?</tr>', html, re.S).group(0)
    assert f'>{report.total.received_new}</a>' in re.search(r'data-cell="received_new">(.*?)</td>', total_row).group(0)
    link = re.search(r'href="(/statistics/items\?[^"]*cell=received_new[^"]*)"', total_row).group(1).replace("&amp;", "&")
    listing = chair.get(link)
    assert listing.status_code == 200 and first.code in text(listing) and "Trần Thị Bình" in text(listing)
    workbook = chair.get("/statistics.xlsx?period=2026-03")
    assert workbook.status_code == 200
    rows = list(load_workbook(BytesIO(workbook.data))["Theo lĩnh vực"].iter_rows(values_only=True))
    assert [r for r in rows if r[1] == "Tổng cộng"][0][2] == 2


def test_statistics_page_refuses_clerks_and_reports_bad_periods(web):
    assert web.browser("clerk").get("/statistics").status_code == 403
    chair = web.browser("chair")
    bad = chair.get("/statistics?kind=custom&from=2026-03-10&to=2026-03-01")
    assert bad.status_code == 422 and "ngày kết thúc trước ngày bắt đầu" in text(bad)
    custom = chair.get("/statistics?kind=custom&from=2026-03-01&to=2026-03-15")
    assert custom.status_code == 200 and "Từ 01/03/2026 đến 15/03/2026" in text(custom)
    assert chair.get("/statistics?period=2026-Q1&by=officer").status_code == 200


def finish(web, receipt):
    """receive, appraise, sign: processing done, the result waits at the desk."""
    for who, data in (("clerk", {}), ("officer", {"outcome": "approve"}), ("chair", {"outcome": "approve"})):
        from engine.services import dossiers

        dossiers.complete_task(web.rt, web.world.actor(who), web.task_of(who, receipt).id, data)


def test_return_offers_a_rating_and_a_second_is_refused(web):
    receipt = web.receive("Lê Văn Cường")
    finish(web, receipt)
    clerk = web.browser("clerk")
    clerk.get(f"/dossiers/{receipt.code}/return")
    back = clerk.post(f"/dossiers/{receipt.code}/return", {})
    assert back.status_code == 302 and back.headers["Location"].endswith(f"/dossiers/{receipt.code}/rate")
    page = clerk.get(f"/dossiers/{receipt.code}/rate")
    assert "Rất hài lòng" in text(page)
    assert clerk.post(f"/dossiers/{receipt.code}/rate", {"rating": "bad"}).status_code == 422
    assert clerk.post(f"/dossiers/{receipt.code}/rate", {"rating": "satisfied", "comment": "Tốt"}).status_code == 302
    again = clerk.post(f"/dossiers/{receipt.code}/rate", {"rating": "not_satisfied"})
    assert again.status_code == 409 and "chỉ đánh giá một lần" in text(again)
    citizen = web.browser()
    citizen.get(f"/lookup/rate?code={receipt.code}")
    refused = citizen.post("/lookup/rate", {"code": receipt.code, "pin": receipt.pin, "rating": "satisfied"})
    assert refused.status_code == 409 and "chỉ đánh giá một lần" in text(refused)
    wrong_pin = citizen.post("/lookup/rate", {"code": receipt.code, "pin": "0000", "rating": "satisfied"})
    assert wrong_pin.status_code == 404


def test_a_late_step_asks_its_officer_for_a_reason(web, clock):
    from datetime import timedelta

    receipt = web.receive("Phạm Thị Dung")
    clock.advance(timedelta(days=3))  # the clerk's 2-hour receive step is long overdue
    clerk = web.browser("clerk")
    task_id = web.task_of("clerk", receipt).id
    clerk.get(f"/tasks/{task_id}")
    done = clerk.post(f"/tasks/{task_id}", {})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/tasks/{task_id}/lateness-reason")
    form = clerk.get(f"/tasks/{task_id}/lateness-reason")
    assert "Quá tải công việc" in text(form)
    assert clerk.post(f"/tasks/{task_id}/lateness-reason", {"reason": "other", "detail": ""}).status_code == 422
    assert clerk.post(f"/tasks/{task_id}/lateness-reason", {"reason": "workload"}).status_code == 302
    period = clock.now().strftime("%Y-%m")
    late = stats.lateness_breakdown(web.rt, SYSTEM, period=period)
    assert late.by_reason.get("workload") == 1
    page = web.browser("chair").get(f"/statistics?period={period}")
    assert 'data-reason="workload"' in text(page)


def test_register_and_posting_sheet_print_from_the_web(web):
    receipt = web.receive("Vũ Thị Hoa")
    chair = web.browser("chair")
    page = chair.get("/statistics?period=2026-03")
    assert "/print/register?" in text(page) and "/print/posting-sheet?" in text(page)
    register = chair.get("/print/register?unit=TRIPHU&from=2026-03-01&to=2026-03-31")
    assert register.status_code == 200 and receipt.code in text(register)
    pdf = chair.get("/print/register?unit=TRIPHU&from=2026-03-01&to=2026-03-31&format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    sheet = web.browser("clerk").get("/print/posting-sheet?unit=TRIPHU")
    assert sheet.status_code == 200 and "9.000001" in text(sheet)
    assert chair.get("/print/register?unit=NAHANG").status_code == 404
    assert chair.get("/print/register?unit=TRIPHU&from=March").status_code == 422


def test_the_bell_counts_unread_notices_and_the_page_marks_them_read(web):
    from datetime import timedelta

    from engine.adapters.channels import ChannelSettings
    from engine.scheduler.sweep import Sweeper

    receipt = web.receive("Đỗ Văn Khoa")
    clerk = web.browser("clerk")
    assert 'id="bell-count"' not in text(clerk.get("/inbox"))
    sweeper = Sweeper(web.rt, channel_settings=ChannelSettings())
    for _ in range(12):  # the desk step (2 working hours) runs late: remind, warn, overdue
        web.rt.clock.advance(timedelta(minutes=30))
        assert not sweeper.run_once().errors
    inbox = text(clerk.get("/inbox"))
    count = int(re.search(r'id="bell-count">(\d+)<', inbox).group(1))
    assert count >= 1
    page = text(clerk.get("/notifications"))
    assert receipt.code in page and "Việc được giao cho tôi" in page
    notice_id = re.search(r'/notifications/(\d+)/read', page).group(1)
    assert clerk.post(f"/notifications/{notice_id}/read").status_code == 302
    after = text(clerk.get("/inbox"))
    left = re.search(r'id="bell-count">(\d+)<', after)
    assert (int(left.group(1)) if left else 0) == count - 1
    assert clerk.post("/notifications/read-all").status_code == 302
    assert 'id="bell-count"' not in text(clerk.get("/inbox"))
    assert web.browser("officer").post(f"/notifications/{notice_id}/read").status_code == 404


def test_the_signing_step_shows_what_was_done_before(web):
    receipt = web.receive("Bùi Thị Lan")
    finish_until_sign = [("clerk", {}), ("officer", {"outcome": "approve"})]
    from engine.services import dossiers

    for who, data in finish_until_sign:
        dossiers.complete_task(web.rt, web.world.actor(who), web.task_of(who, receipt).id, data)
    chair = web.browser("chair")
    sign = web.task_of("chair", receipt)
    page = text(chair.get(f"/tasks/{sign.id}"))
    assert 'id="signing-context"' in page and "Bùi Thị Lan" in page
    assert "/print/06" in page  # the process control sheet
    done = re.findall(r'<summary><a href="/tasks/(\d+)"', page)
    assert len(done) == 2  # the desk step and the appraisal, each linked
    officer_page = text(web.browser("officer").get(f"/tasks/{sign.id}"))
    assert 'id="signing-context"' in officer_page  # a viewer sees it too; only the chair may act
    clerk_step = text(chair.get(f"/tasks/{done[0]}"))
    assert 'id="signing-context"' not in clerk_step
