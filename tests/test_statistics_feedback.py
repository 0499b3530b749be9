"""The figures' drill-down, custom periods, trends, citizen ratings, reasons for lateness,
the Decision 766 indicators and the Excel workbook, on the §7 scenario of
tests/test_statistics_scenario.py (built again for this module: these tests add rows)."""
from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from cli.stats import render_table
from engine.adapters.db.models import Dossier, Task
from engine.adapters.storage import FileSystemStorage
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.security import hash_pin
from engine.services import lateness, satisfaction
from engine.services.attachments import Upload, attach
from engine.views import statistics as stats
from engine.views.statistics_workbook import build_workbook
from tests.support import SYSTEM
from tests.test_statistics_scenario import at, scenario  # noqa: F401  (the module-scoped fixture)

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PERIODS = ("2026-03", "2026-Q1", "2026-03-03..2026-03-05")


def code_of(scenario, name: str) -> str:
    with scenario.rt.db.session_factory() as s:
        return s.get(Dossier, scenario.ids[name]).code


def figure(row: stats.StatisticsRow, cell: str) -> int:
    if cell.startswith("received_channel_"):
        return row.received_by_channel[cell[-1]]
    return getattr(row, cell)


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("group_by", stats.GROUPINGS)
def test_every_figure_opens_exactly_its_dossiers(scenario, period, group_by):
    report = stats.compute_statistics(scenario.rt, SYSTEM, period=period, group_by=group_by)
    checked = 0
    for row in [*report.rows, report.total]:
        for cell in stats.CELLS:
            items, total = stats.cell_items(scenario.rt, SYSTEM, period=period, group_by=group_by, key=row.key,
                                            cell=cell, limit=200)
            assert total == len(items) == figure(row, cell), (row.key, cell)
            checked += total
    assert checked > 0


def test_drill_down_lists_the_late_dossiers_of_march(scenario):
    items, total = stats.cell_items(scenario.rt, SYSTEM, period="2026-03", group_by="commune", key="TRIPHU",
                                    cell="finished_late")
    assert total == 2 and {i.applicant_name for i in items} == {"Công dân A", "Công dân K"}
    with pytest.raises(InvalidInput) as bad:
        stats.cell_items(scenario.rt, SYSTEM, period="2026-03", group_by="commune", key="TRIPHU", cell="nonsense")
    assert bad.value.problems[0].field == "cell"


def test_custom_periods():
    p = stats.parse_period(" 2026-03-03..2026-03-05 ")
    assert (p.start.day, p.end.day, p.kind, p.label) == (3, 5, "custom", "Từ 03/03/2026 đến 05/03/2026")
    assert stats.period_text(p) == "2026-03-03..2026-03-05"
    for text in ("2026-03-05..2026-03-03", "2026-3-5..x", "2026-01-01..2029-12-31"):
        with pytest.raises(InvalidInput) as bad:
            stats.parse_period(text)
        assert bad.value.problems[0].field == "period"
    months = stats.previous_periods(stats.parse_period("2026-02"), 12)
    assert [stats.period_text(m) for m in (months[0], months[-1])] == ["2025-03", "2026-02"] and len(months) == 12
    quarters = stats.previous_periods(stats.parse_period("2026-Q1"), 3)
    assert [stats.period_text(q) for q in quarters] == ["2025-Q3", "2025-Q4", "2026-Q1"]
    assert [stats.period_text(y) for y in stats.previous_periods(stats.parse_period("2026-9M"), 2)] == ["2025-9M", "2026-9M"]


def test_trend_ends_with_the_period(scenario):
    points = stats.trend(scenario.rt, SYSTEM, period="2026-03", count=3)
    assert [p.period.label for p in points] == ["Tháng 01/2026", "Tháng 02/2026", "Tháng 03/2026"]
    march = stats.compute_statistics(scenario.rt, SYSTEM, period="2026-03", group_by="commune").total
    assert points[-1].total.to_dict() == march.to_dict()
    assert points[1].total.received_new == 2  # Z and A, received 27/2


def test_citizen_ratings_one_per_dossier_and_the_share(scenario):
    rt = scenario.rt
    code = lambda name: code_of(scenario, name)  # noqa: E731
    scenario.clock.set(at(2026, 4, 10, 10, 0))
    satisfaction.rate_at_desk(rt, scenario.actor("clerk"), code("B"), "very_satisfied", "Nhanh")
    with pytest.raises(Conflict) as twice:
        satisfaction.rate_at_desk(rt, scenario.actor("clerk"), code("B"), "not_satisfied")
    assert twice.value.code == "already_rated" and "một lần" in twice.value.message_vi
    with pytest.raises(PermissionDenied):  # the officer does not return results
        satisfaction.rate_at_desk(rt, scenario.actor("officer"), code("C"), "satisfied")
    with pytest.raises(Conflict):  # E is still being processed
        satisfaction.rate_at_desk(rt, scenario.actor("clerk"), code("E"), "satisfied")
    with rt.db.engine.begin() as conn:
        conn.execute(update(Dossier).where(Dossier.id == scenario.ids["C"]).values(pin_hash=hash_pin("246810")))
    with pytest.raises(NotFound):
        satisfaction.rate_by_citizen(rt, code("C"), "111111", "satisfied")
    with pytest.raises(InvalidInput) as bad:
        satisfaction.rate_by_citizen(rt, code("C"), "246810", "meh")
    assert bad.value.problems[0].field == "rating"
    satisfaction.rate_by_citizen(rt, code("C"), "246810", "not_satisfied", "Phải đi lại hai lần")
    with pytest.raises(Conflict):
        satisfaction.rate_by_citizen(rt, code("C"), "246810", "satisfied")
    april = stats.compute_statistics(rt, SYSTEM, period="2026-04", group_by="commune")
    assert (april.total.ratings_total, april.total.ratings_satisfied, april.total.satisfaction_percent) == (2, 1, 50.0)
    [ind] = [i for i in stats.indicators(april) if i.code == "satisfaction"]
    assert ind.value == 50.0
    march = stats.compute_statistics(rt, SYSTEM, period="2026-03", group_by="field")
    assert march.total.ratings_total == 0 and march.total.satisfaction_percent is None


def test_lateness_reason_by_the_responsible_officer(scenario):
    rt = scenario.rt
    with rt.db.session_factory() as s:
        late_receive = s.scalar(select(Task).where(Task.dossier_id == scenario.ids["A"], Task.bpmn_id == "receive"))
        on_time = s.scalar(select(Task).where(Task.dossier_id == scenario.ids["B"], Task.bpmn_id == "receive"))
    assert late_receive.classification == "late" and on_time.classification != "late"
    clerk, officer = scenario.actor("clerk"), scenario.actor("officer")
    assert lateness.reason_needed(rt, clerk, late_receive.id) and not lateness.reason_needed(rt, officer, late_receive.id)
    assert (late_receive.id, code_of(scenario, "A"),
            late_receive.name) in lateness.late_steps_without_reason(rt, clerk)
    with pytest.raises(PermissionDenied):
        lateness.record_lateness_reason(rt, officer, late_receive.id, "workload")
    with pytest.raises(Conflict):
        lateness.record_lateness_reason(rt, clerk, on_time.id, "workload")
    with pytest.raises(InvalidInput) as bad:
        lateness.record_lateness_reason(rt, clerk, late_receive.id, "other", "  ")
    assert bad.value.problems[0].field == "detail"
    before = stats.lateness_breakdown(rt, SYSTEM, period="2026-03")
    lateness.record_lateness_reason(rt, clerk, late_receive.id, "coordination", "Chờ xác minh hộ khẩu")
    with pytest.raises(Conflict):
        lateness.record_lateness_reason(rt, clerk, late_receive.id, "workload")
    assert not lateness.reason_needed(rt, clerk, late_receive.id)
    after = stats.lateness_breakdown(rt, SYSTEM, period="2026-03")
    officer_report = stats.compute_statistics(rt, SYSTEM, period="2026-03", group_by="officer")
    assert after.total == before.total == officer_report.total.finished_late
    assert after.by_reason.get("coordination") == 1
    assert after.by_reason.get("not_given", 0) == before.by_reason.get("not_given", 0) - 1
    step = {name: (n, given) for name, n, given in after.by_step}[late_receive.name]
    assert step[1] == 1


def test_indicators_from_the_report_total(scenario):
    report = stats.compute_statistics(scenario.rt, SYSTEM, period="2026-03", group_by="commune")
    found = {i.code: i for i in stats.indicators(report)}
    assert found["2.1"].value == report.total.indicator_2_1
    assert found["online"].value == round(100 * report.total.received_by_channel["2"] / report.total.received_new, 1)


def test_digitised_dossiers_are_the_new_ones_with_papers_taken_in_at_receipt(scenario, tmp_path, monkeypatch):
    """Decision 766's digitisation share: of the dossiers received in the period, those
    with a paper the desk took in at receipt; same period rule (received in it) and the
    same communes as every other figure."""
    rt = scenario.rt
    monkeypatch.setattr(rt, "storage", FileSystemStorage(tmp_path / "papers"))
    clerk, nh_clerk, officer = scenario.actor("clerk"), scenario.actor("nh_clerk"), scenario.actor("officer")
    code = {name: code_of(scenario, name) for name in ("A", "B", "C", "D", "H")}
    attach(rt, clerk, code["B"], [Upload("cccd.pdf", PDF)], at_receipt=True)
    attach(rt, clerk, code["B"], [Upload("to-khai.pdf", PDF)], at_receipt=True)  # one dossier, counted once
    attach(rt, clerk, code["A"], [Upload("cccd.pdf", PDF)], at_receipt=True)  # received in February
    attach(rt, clerk, code["C"], [Upload("bo-sung.pdf", PDF)])  # a paper, but not taken in at receipt
    attach(rt, officer, code["D"], [Upload("x.pdf", PDF)], at_receipt=True)  # not the desk: not at receipt
    attach(rt, nh_clerk, code["H"], [Upload("cccd.pdf", PDF)], at_receipt=True)  # the other commune

    march = stats.compute_statistics(rt, SYSTEM, period="2026-03", group_by="commune")
    triphu, nahang = (next(r for r in march.rows if r.key == k) for k in ("TRIPHU", "NAHANG"))
    assert (triphu.received_digitised, triphu.received_new, triphu.digitised_percent) == (1, 8, 12.5)
    assert (nahang.received_digitised, nahang.received_new, nahang.digitised_percent) == (1, 1, 100.0)
    assert (march.total.received_digitised, march.total.received_new, march.total.digitised_percent) == (2, 9, 22.2)
    found = {i.code: i for i in stats.indicators(march)}
    assert found["digitised"].value == 22.2 and found["digitised"].note.startswith("2/9 ")
    assert "chưa đối chiếu" in found["digitised"].note  # the users see that the rule is unconfirmed
    # the figure opens exactly its dossiers, like every other one
    items, total = stats.cell_items(rt, SYSTEM, period="2026-03", group_by="commune", key="total",
                                    cell="received_digitised")
    assert total == 2 and {i.dossier_code for i in items} == {code["B"], code["H"]}
    # the period rule: A counts in February, when it was received
    february = stats.compute_statistics(rt, SYSTEM, period="2026-02", group_by="procedure")
    assert (february.total.received_digitised, february.total.received_new) == (1, 2)
    # the commune rule: Tri Phú's chair sees Tri Phú's share only
    chair = stats.compute_statistics(rt, scenario.actor("chair"), period="2026-03", group_by="field")
    assert (chair.total.received_digitised, chair.total.received_new, chair.total.digitised_percent) == (1, 8, 12.5)
    assert {i.code: i.value for i in stats.indicators(chair)}["digitised"] == 12.5
    # officers: the steps begun in March of digitised dossiers (A's, B's and H's)
    steps = stats.compute_statistics(rt, SYSTEM, period="2026-03", group_by="officer")
    with rt.db.session_factory() as s:
        begun = s.scalar(select(func.count()).select_from(Task).where(
            Task.dossier_id.in_([scenario.ids[n] for n in ("A", "B", "H")]), Task.state != "cancelled",
            Task.clock != "paused", Task.created_at >= at(2026, 3, 1), Task.created_at < at(2026, 4, 1)))
    assert steps.total.received_digitised == begun > 3
    # the workbook's indicator sheet and the CLI table show it
    sheet = load_workbook(BytesIO(build_workbook(rt, SYSTEM, period="2026-03")))["Chỉ số 766"]
    [digitised_row] = [r for r in sheet.iter_rows(values_only=True) if r[0] == "digitised"]
    assert digitised_row[2] == 22.2 and digitised_row[3] == "%"
    table = render_table(march).splitlines()
    headers = table[1].split("  ")
    assert "Số hóa" in [h.strip() for h in headers]
    assert table[-len(march.notes) - 2].split()[-1] == "22.2"  # the total line ends with the share


def test_a_month_without_new_dossiers_has_no_digitised_share(scenario):
    report = stats.compute_statistics(scenario.rt, SYSTEM, period="2026-05", group_by="commune")
    found = {i.code: i for i in stats.indicators(report)}
    assert report.total.received_new == 0 and found["digitised"].value is None
    assert "không có hồ sơ tiếp nhận mới" in found["digitised"].note


def test_workbook_headings_and_totals(scenario):
    data = build_workbook(scenario.rt, SYSTEM, period="2026-03")
    wb = load_workbook(BytesIO(data))
    assert wb.sheetnames[:2] == ["Theo lĩnh vực", "Theo thủ tục"] and "Lý do quá hạn" in wb.sheetnames
    ws = wb["Theo lĩnh vực"]
    assert ws["A1"].value == "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
    assert "Tháng 03/2026" in ws["A2"].value and "Xã Tri Phú" in ws["A2"].value
    cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert {"Số hồ sơ nhận giải quyết", "Trả quá hạn", "Trực tuyến", "Số kỳ trước chuyển qua"} <= set(cells)
    assert any(str(r) .startswith(cells["Số hồ sơ nhận giải quyết"].coordinate) for r in ws.merged_cells.ranges)
    rows = list(ws.iter_rows(values_only=True))
    total_at = next(i for i, r in enumerate(rows) if r[1] == "Tổng cộng")
    first = next(i for i, r in enumerate(rows) if r[0] == 1)
    body = rows[first:total_at]
    report = stats.compute_statistics(scenario.rt, SYSTEM, period="2026-03", group_by="field")
    assert len(body) == len(report.rows)
    for col in range(2, len(rows[total_at]) - 2):  # counts; the last two columns are ratios
        assert rows[total_at][col] == sum(r[col] for r in body), col
    assert rows[total_at][2] == report.total.received_total
    notes = [r[0] for r in rows[total_at + 1:] if r[0]]
    assert any("CHƯA ĐỐI CHIẾU" in n for n in notes)


def test_periods_are_named_in_english_for_english_pages():
    from engine.domain.periods import period_label

    names = {text: period_label(stats.parse_period(text), "en") for text in
             ("2026-03", "2026-Q2", "2026-H1", "2026-9M", "2026", "2026-03-03..2026-03-05")}
    assert names == {"2026-03": "Month 03/2026", "2026-Q2": "Quarter II/2026", "2026-H1": "First 6 months of 2026",
                     "2026-9M": "First 9 months of 2026", "2026": "Year 2026",
                     "2026-03-03..2026-03-05": "From 03/03/2026 to 05/03/2026"}
    assert period_label(stats.parse_period("2026-03"), "vi") == "Tháng 03/2026"
