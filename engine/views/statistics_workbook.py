"""The periodic report on handling administrative procedures as an Excel workbook
(openpyxl): one sheet per report, Vietnamese headings with merged header cells, the
communes and the period in the title, a totals row, and a note cell saying which form
the layout follows and what could not be confirmed (docs/statistics.md, "Excel report").

Every figure comes from engine.views.statistics; this module only lays them out.
"""
from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.domain.feedback import LATENESS_NOT_GIVEN, LATENESS_NOT_GIVEN_LABEL, LATENESS_REASONS
from engine.views.statistics import (LatenessBreakdown, StatisticsReport, StatisticsRow, compute_statistics,
                                     indicators, lateness_breakdown)

FORM_NOTE = (
    "Bố cục theo các chỉ tiêu của biểu mẫu báo cáo tình hình, kết quả giải quyết thủ tục hành chính (mẫu 06a/VPCP/KSTT "
    "ban hành kèm Thông tư 01/2020/TT-VPCP của Văn phòng Chính phủ; ngày ban hành chưa xác minh). CHƯA ĐỐI CHIẾU ĐƯỢC với văn bản gốc: "
    "thứ tự cột, tên cột và ký hiệu mẫu cần kiểm tra lại trước khi gửi báo cáo. / Layout follows the indicators of the "
    "report form on the handling of administrative procedures (form 06a/VPCP/KSTT annexed to Circular 01/2020/TT-VPCP, "
    "date of issue not verified): NOT CONFIRMED against the original text; check the column order, headings and form number before sending."
)
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_BOLD = Font(bold=True)

# header tree of the main sheets: (heading, children) where a leaf is (heading, value of a row)
_RESULT_HEADERS = [
    ("Số hồ sơ nhận giải quyết", [
        ("Tổng số", lambda r: r.received_total),
        ("Trong đó", [
            ("Số kỳ trước chuyển qua", lambda r: r.carried_over),
            ("Số mới tiếp nhận", [
                ("Trực tiếp", lambda r: r.received_by_channel["1"]),
                ("Trực tuyến", lambda r: r.received_by_channel["2"]),
                ("Dịch vụ bưu chính", lambda r: r.received_by_channel["3"]),
            ]),
        ]),
    ]),
    ("Kết quả giải quyết", [
        ("Số hồ sơ đã giải quyết", [
            ("Tổng số", lambda r: r.finished_total),
            ("Trả trước hạn", lambda r: r.finished_early),
            ("Trả đúng hạn", lambda r: r.finished_on_time),
            ("Trả quá hạn", lambda r: r.finished_late),
        ]),
        ("Số hồ sơ đang giải quyết", [
            ("Tổng số", lambda r: r.pending_total),
            ("Trong hạn", lambda r: r.pending_within_limit),
            ("Quá hạn", lambda r: r.pending_overdue),
        ]),
        ("Rút, dừng giải quyết", lambda r: r.ended_without_result),
    ]),
    ("Tỷ lệ trước hạn, đúng hạn (%)", lambda r: r.indicator_2_1),
    ("Thời gian giải quyết trung bình (ngày làm việc)", lambda r: r.indicator_2_2_days),
]


def _leaves(tree) -> list:
    out = []
    for heading, node in tree:
        out.extend(_leaves(node) if isinstance(node, list) else [(heading, node)])
    return out


def _depth(tree) -> int:
    return max(1 + (_depth(node) if isinstance(node, list) else 0) for _, node in tree)


def _write_headers(ws: Worksheet, tree, top: int, left: int, depth: int) -> int:
    """Write the header tree with merged cells from (top, left); returns the next column."""
    col = left
    for heading, node in tree:
        if isinstance(node, list):
            width = len(_leaves(node))
            _cell(ws, top, col, heading, top, col + width - 1)
            _write_headers(ws, node, top + 1, col, depth - 1)
            col += width
        else:
            _cell(ws, top, col, heading, top + depth - 1, col)
            col += 1
    return col


def _cell(ws: Worksheet, row: int, col: int, value, end_row: int, end_col: int) -> None:
    ws.cell(row, col, value)
    for r in range(row, end_row + 1):
        for c in range(col, end_col + 1):
            ws.cell(r, c).border = _BOX
            ws.cell(r, c).alignment = _CENTER
            ws.cell(r, c).font = _BOLD
    if (row, col) != (end_row, end_col):
        ws.merge_cells(start_row=row, start_column=col, end_row=end_row, end_column=end_col)


def _title(ws: Worksheet, width: int, lines: list[str]) -> int:
    for i, line in enumerate(lines, start=1):
        ws.cell(i, 1, line).font = Font(bold=i == 1, size=13 if i == 1 else 11)
        ws.cell(i, 1).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=width)
    return len(lines) + 2


def _report_sheet(ws: Worksheet, report: StatisticsReport, heading: str, row_heading: str, place: str) -> None:
    leaves = _leaves(_RESULT_HEADERS)
    width = 2 + len(leaves)
    p = report.period
    counted = "bước xử lý" if report.group_by == "officer" else "hồ sơ"
    top = _title(ws, width, [
        heading,
        f"{place} - Kỳ báo cáo: {p.label} (từ ngày {p.start:%d/%m/%Y} đến ngày {p.end:%d/%m/%Y})",
        f"Đơn vị tính: {counted}. Số liệu tính đến {report.as_of.astimezone(VN_TZ):%H:%M ngày %d/%m/%Y} (giờ Hà Nội).",
    ])
    depth = _depth(_RESULT_HEADERS)
    _cell(ws, top, 1, "STT", top + depth - 1, 1)
    _cell(ws, top, 2, row_heading, top + depth - 1, 2)
    _write_headers(ws, _RESULT_HEADERS, top, 3, depth)
    numbers = top + depth  # the column-number row, as report forms carry
    for c in range(1, width + 1):
        ws.cell(numbers, c, f"({c})").alignment = _CENTER
        ws.cell(numbers, c).border = _BOX
    row = numbers + 1
    for i, r in enumerate(report.rows, start=1):
        _data_row(ws, row, i, f"{r.label} ({r.key})" if r.key != r.label else r.label, r, leaves)
        row += 1
    _data_row(ws, row, "", "Tổng cộng", report.total, leaves, bold=True)
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 42
    for c in range(3, width + 1):
        ws.column_dimensions[get_column_letter(c)].width = 12
    ws.freeze_panes = ws.cell(numbers + 1, 3)
    _note(ws, row + 2, width, [FORM_NOTE, *report.notes])


def _data_row(ws: Worksheet, row: int, number, label: str, r: StatisticsRow, leaves, bold: bool = False) -> None:
    values = [number, label, *(get(r) for _, get in leaves)]
    for c, v in enumerate(values, start=1):
        cell = ws.cell(row, c, v)
        cell.border = _BOX
        if bold:
            cell.font = _BOLD
        if c > 2:
            cell.alignment = Alignment(horizontal="right")


def _note(ws: Worksheet, row: int, width: int, notes: list[str]) -> None:
    ws.cell(row, 1, "Ghi chú:").font = _BOLD
    for i, text in enumerate(notes, start=1):
        ws.cell(row + i, 1, text).alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=row + i, start_column=1, end_row=row + i, end_column=width)
        ws.row_dimensions[row + i].height = 48


def _indicator_sheet(ws: Worksheet, report: StatisticsReport, place: str) -> None:
    top = _title(ws, 5, ["CÁC CHỈ SỐ THEO QUYẾT ĐỊNH 766/QĐ-TTg", f"{place} - Kỳ báo cáo: {report.period.label}"])
    for c, h in enumerate(("Mã", "Chỉ số", "Giá trị", "Đơn vị", "Ghi chú"), start=1):
        _cell(ws, top, c, h, top, c)
    for i, ind in enumerate(indicators(report), start=1):
        for c, v in enumerate((ind.code, ind.name_vi, ind.value if ind.value is not None else "không có dữ liệu",
                               ind.unit, ind.note), start=1):
            ws.cell(top + i, c, v).border = _BOX
    for col, w in zip("ABCDE", (12, 48, 14, 8, 60)):
        ws.column_dimensions[col].width = w
    _note(ws, top + 9, 5, ["Định nghĩa và nguồn của từng chỉ số: docs/statistics.md (mục \"Decision 766 indicators\"); "
                           "những gì chưa đối chiếu được với văn bản gốc được ghi rõ ở đó."])


def _lateness_sheet(ws: Worksheet, late: LatenessBreakdown, place: str) -> None:
    top = _title(ws, 4, ["LÝ DO GIẢI QUYẾT QUÁ HẠN (THEO BƯỚC XỬ LÝ)", f"{place} - Kỳ báo cáo: {late.period.label}"])
    _cell(ws, top, 1, "STT", top, 1)
    _cell(ws, top, 2, "Lý do", top, 2)
    _cell(ws, top, 3, "Số bước quá hạn", top, 3)
    labels = {**{k: v[0] for k, v in LATENESS_REASONS.items()}, LATENESS_NOT_GIVEN: LATENESS_NOT_GIVEN_LABEL[0]}
    row = top + 1
    for i, (code, n) in enumerate(sorted(late.by_reason.items(), key=lambda kv: (-kv[1], kv[0])), start=1):
        for c, v in enumerate((i, labels.get(code, code), n), start=1):
            ws.cell(row, c, v).border = _BOX
        row += 1
    for c, v in enumerate(("", "Tổng cộng", late.total), start=1):
        ws.cell(row, c, v).border = _BOX
        ws.cell(row, c).font = _BOLD
    row += 2
    for c, h in enumerate(("STT", "Bước xử lý", "Số bước quá hạn", "Đã nêu lý do"), start=1):
        _cell(ws, row, c, h, row, c)
    for i, (name, n, given) in enumerate(late.by_step, start=1):
        for c, v in enumerate((i, name, n, given), start=1):
            ws.cell(row + i, c, v).border = _BOX
    for col, w in zip("ABCD", (6, 48, 16, 14)):
        ws.column_dimensions[col].width = w


def build_workbook(rt, actor: Actor, *, period: str, unit_code: str | None = None) -> bytes:
    """The .xlsx bytes of the period's report over the communes `actor` may see (or one)."""
    by_field = compute_statistics(rt, actor, period=period, group_by="field", unit_code=unit_code)
    by_procedure = compute_statistics(rt, actor, period=period, group_by="procedure", unit_code=unit_code)
    by_commune = compute_statistics(rt, actor, period=period, group_by="commune", unit_code=unit_code)
    by_officer = compute_statistics(rt, actor, period=period, group_by="officer", unit_code=unit_code)
    late = lateness_breakdown(rt, actor, period=period, unit_code=unit_code)
    names = [r.label for r in by_commune.rows]
    place = names[0] if len(names) == 1 else f"{len(names)} xã: " + ", ".join(names)
    wb = Workbook()
    ws = wb.active
    ws.title = "Theo lĩnh vực"
    heading = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
    _report_sheet(ws, by_field, heading, "Lĩnh vực giải quyết", place)
    _report_sheet(wb.create_sheet("Theo thủ tục"), by_procedure, heading + " (THEO THỦ TỤC)", "Thủ tục hành chính", place)
    if len(names) > 1:
        _report_sheet(wb.create_sheet("Theo xã"), by_commune, heading + " (THEO XÃ)", "Đơn vị", place)
    _report_sheet(wb.create_sheet("Theo cán bộ"), by_officer, "TÌNH HÌNH XỬ LÝ CÁC BƯỚC THEO CÁN BỘ", "Cán bộ xử lý", place)
    _indicator_sheet(wb.create_sheet("Chỉ số 766"), by_field, place)
    _lateness_sheet(wb.create_sheet("Lý do quá hạn"), late, place)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
