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
