"""Import of procedure tables as provinces publish them (.xlsx and .docx annexes of a
decision announcing the commune's procedures): headings, posts, fields and time phrases in
Vietnamese; every unmappable row reported and the file refused whole."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from lxml import etree
from openpyxl import Workbook

from cli.main import cli
from engine.errors import InvalidInput
from engine.procedure import validate_file
from engine.procedure.province_table import parse_step_time, parse_time_limit, read_province_file, step_kind
from engine.procedure.table_import import BPMN_NS, SPIFF_NS, bpmn_to_table, table_to_bpmn

FORMS = Path(__file__).parent.parent / "bpmn" / "forms"
PUBLICATION = "Quyết định số 1234/QĐ-UBND ngày 30/6/2025 của Chủ tịch UBND tỉnh (thử nghiệm)"

# The catalogue as annexes print it: a title, a heading row in the usual wording, section
# rows naming the field, full national codes, phrases for the limits.
CATALOGUE = [
    ["STT", "Mã TTHC", "Tên thủ tục hành chính", "Thời hạn giải quyết", "Địa điểm thực hiện", "Phí, lệ phí",
     "Căn cứ pháp lý"],
    ["I", "LĨNH VỰC HỘ TỊCH", "", "", "", "", ""],
    ["1", "1.000656.000.00.00.H12", "Đăng ký khai tử",
     "Ngay trong ngày tiếp nhận hồ sơ; trường hợp cần xác minh thì không quá 03 ngày làm việc",
     "Trung tâm Phục vụ hành chính công xã", "Miễn lệ phí",
     "Luật Hộ tịch số 60/2014/QH13\nNghị định số 123/2015/NĐ-CP"],
    ["II", "Lĩnh vực Thành lập và hoạt động của hộ kinh doanh", "", "", "", "", ""],
    ["2", "2.000720", "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh", "03 ngày làm việc",
     "Trung tâm Phục vụ hành chính công xã", "Theo Nghị quyết của HĐND tỉnh", "Nghị định số 168/2025/NĐ-CP"],
]
DEATH_STEPS = [
    ["Bước", "Nội dung công việc", "Trách nhiệm", "Thời gian", "Biểu mẫu/Kết quả"],
    ["B1", "Tiếp nhận, kiểm tra hồ sơ", "Bộ phận một cửa", "15 phút", "Mẫu 01, Mẫu 06"],
    ["B2", "Thẩm định hồ sơ, trình ký", "Công chức tư pháp - hộ tịch", "30 phút", "Mẫu 05"],
    ["B3", "Ký Trích lục khai tử", "Chủ tịch UBND xã", "30 phút", ""],
    ["B4", "Trả kết quả cho công dân", "Công chức tiếp nhận và trả kết quả", "15 phút", "Sổ theo dõi"],
    ["", "Tổng thời gian", "", "02 giờ", ""],
]
BUSINESS_STEPS = [
    ["TT", "Nội dung thực hiện", "Bộ phận thực hiện", "Thời gian thực hiện"],
    ["1", "Tiếp nhận hồ sơ", "Trung tâm Phục vụ hành chính công", "02 giờ"],
    ["2", "Kiểm tra tính hợp lệ của hồ sơ", "Phòng Kinh tế", "0,5 ngày"],
    ["3", "Phê duyệt, ký Giấy chứng nhận", "Phó Chủ tịch UBND xã", "04 giờ"],
    ["4", "Trả kết quả", "Bộ phận tiếp nhận và trả kết quả", "02 giờ"],
]
DEATH_COMPONENTS = [
    ["STT", "Tên giấy tờ", "Bản chính", "Bản sao"],
    ["1", "Tờ khai đăng ký khai tử theo mẫu", "1", "0"],
    ["2", "Giấy báo tử hoặc giấy tờ thay thế Giấy báo tử", "1", "0"],
]


def _write_xlsx(path: Path, catalogue=CATALOGUE, death_steps=DEATH_STEPS) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Danh mục"
    sheet.append(["PHỤ LỤC: DANH MỤC THỦ TỤC HÀNH CHÍNH CẤP XÃ"])
    sheet.append([f"(Ban hành kèm theo {PUBLICATION})"])
    for row in catalogue:
        sheet.append(row)
    steps = book.create_sheet("Quy trình nội bộ")
    steps.append(["1. Đăng ký khai tử (mã 1.000656)"])
    for row in death_steps:
        steps.append(row)
    steps.append([])
    steps.append(["2. Thủ tục 2.000720: thay đổi nội dung đăng ký hộ kinh doanh"])
    for row in BUSINESS_STEPS:
        steps.append(row)
    components = book.create_sheet("1.000656 hồ sơ")
    for row in DEATH_COMPONENTS:
        components.append(row)
    book.save(path)
    return path


def _write_docx(path: Path, catalogue=CATALOGUE) -> Path:
    document = Document()
    document.add_paragraph("PHỤ LỤC")
    document.add_paragraph(f"Danh mục thủ tục hành chính (kèm theo {PUBLICATION})")

    def table(rows: list[list[str]]) -> None:
        t = document.add_table(rows=0, cols=len(rows[0]))
        for row in rows:
            cells = t.add_row().cells
            for i, text in enumerate(row):
                cells[i].text = text
        return t

    t = table(catalogue)
    for row in t.rows:  # section rows merged across the table, as Word annexes have them
        if row.cells[0].text in ("I", "II"):
            merged = row.cells[1].merge(row.cells[-1])
            merged.text = row.cells[1].text.split("\n")[0]
    document.add_paragraph("Quy trình nội bộ giải quyết thủ tục Đăng ký khai tử - mã số 1.000656")
    table(DEATH_STEPS)
    document.add_paragraph("Thành phần hồ sơ thủ tục 1.000656")
    table(DEATH_COMPONENTS)
    document.add_paragraph("Quy trình nội bộ: 2.000720")
    table(BUSINESS_STEPS)
    document.save(path)
    return path


def _props(xml: bytes) -> dict[str, str]:
    root = etree.fromstring(xml)
    process = root.find(f"{{{BPMN_NS}}}process")
    return {p.get("name"): p.get("value") for p in
            process.findall(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property")}


def _check_imported(tables, tmp_path: Path) -> None:
    assert [t.meta.code for t in tables] == ["1.000656", "2.000720"]
    death, business = tables
    assert death.meta.field == "civil_status" and business.meta.field == "household_business"
    assert death.meta.time_limit == "same-day"
    assert [(c.condition, c.limit) for c in death.meta.conditional_limits] == [
        ("trường hợp cần xác minh", "P3D")]
    assert death.meta.fee == "Miễn lệ phí"
    assert death.meta.legal_basis == "Luật Hộ tịch số 60/2014/QH13; Nghị định số 123/2015/NĐ-CP"
    assert [(c.name, c.kind, c.count) for c in death.meta.components] == [
        ("Tờ khai đăng ký khai tử theo mẫu", "original", 1),
        ("Giấy báo tử hoặc giấy tờ thay thế Giấy báo tử", "original", 1)]
    assert death.meta.evidence["time_limit"].startswith("Quyết định số 1234/QĐ-UBND")
    assert [s.role for s in death.steps] == ["one_stop_clerk", "justice_officer", "chair", "one_stop_clerk",
                                             "one_stop_clerk", "one_stop_clerk"]
    assert [s.id for s in death.steps] == ["receive", "appraise", "sign", "return_result", "citizen_supplement",
                                           "return_refusal"]
    assert death.step("appraise").outcomes == {"approve": "next", "supplement": "citizen_supplement",
                                               "refuse": "return_refusal"}
    assert business.meta.time_limit == "P3D" and business.meta.time_basis == "working"
    assert [s.duration for s in business.steps[:4]] == ["PT2H", "P0.5D", "PT4H", "PT2H"]
    assert business.step("appraise").role == "finance_officer"
    assert business.meta.evidence["components"].startswith("unconfirmed")
    for table in tables:
        xml = table_to_bpmn(table)
        model = tmp_path / f"{table.meta.code}.bpmn"
        model.write_bytes(xml)
        report = validate_file(model, forms_dir=FORMS)
        assert report.ok, [(p.code, p.message_en) for p in report.problems]
        props = _props(xml)
        assert json.loads(props["provenance"])["fee"].startswith("Quyết định số 1234")
        back = bpmn_to_table(xml)
        assert back.meta.components == table.meta.components
        assert back.meta.conditional_limits == table.meta.conditional_limits


def test_xlsx_annex_imports_to_models_that_validate(tmp_path):
    _check_imported(read_province_file(_write_xlsx(tmp_path / "annex.xlsx")), tmp_path)


def test_docx_annex_imports_to_models_that_validate(tmp_path):
    _check_imported(read_province_file(_write_docx(tmp_path / "annex.docx")), tmp_path)


def test_a_table_with_bad_rows_is_refused_with_one_message_per_bad_row(tmp_path):
    catalogue = [row[:] for row in CATALOGUE]
    catalogue[2][3] = "khoảng một tuần"  # row 5 of the sheet (two title rows, heading, section)
    catalogue[4][5] = ""  # row 7: the fee cell left empty
    steps = [row[:] for row in DEATH_STEPS]
    steps[2][2] = "Tổ trưởng dân phố"  # no such post
    steps[3][3] = "nhanh"  # unreadable time
    path = _write_xlsx(tmp_path / "bad.xlsx", catalogue, steps)
    with pytest.raises(InvalidInput) as caught:
        read_province_file(path)
    messages = [(p.line, p.field, p.message_vi, p.message_en) for p in caught.value.problems]
    assert [(line, column) for line, column, _, _ in messages] == [
        (5, "time_limit"), (7, "fee"), (4, "role"), (5, "duration")]
    for _, _, vi, en in messages:
        assert vi.startswith("trang tính") and en.startswith("sheet")
    assert "khoảng một tuần" in messages[0][2] and "Tổ trưởng dân phố" in messages[2][3]
    # the CLI writes nothing and lists every row
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["import-table", str(path), "--output-dir", str(out), "--forms-dir", str(FORMS)])
    assert result.exit_code == 2
    assert not out.exists()
    assert result.output.count("sheet '") >= 4


def test_cli_writes_one_model_per_procedure_of_the_annex(tmp_path):
    path = _write_docx(tmp_path / "annex.docx")
    out = tmp_path / "models"
    result = CliRunner().invoke(cli, ["import-table", str(path), "--output-dir", str(out), "--forms-dir", str(FORMS)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.glob("*.bpmn"))
    assert written == ["1.000656-dang-ky-khai-tu.bpmn", "2.000720-dang-ky-thay-doi-noi-dung-dang-ky.bpmn"]
    many = CliRunner().invoke(cli, ["import-table", str(path), "--forms-dir", str(FORMS)])
    assert many.exit_code == 2 and "--output-dir" in many.output


def test_steps_without_a_catalogue_row_are_reported(tmp_path):
    path = _write_xlsx(tmp_path / "orphan.xlsx", CATALOGUE[:4])  # the business row is gone, its steps stay
    with pytest.raises(InvalidInput) as caught:
        read_province_file(path)
    (problem,) = caught.value.problems
    assert problem.field == "procedure" and "2.000720" in problem.message_en


@pytest.mark.parametrize("text, limit, basis", [
    ("Ngay trong ngày tiếp nhận hồ sơ", "same-day", "working"),
    ("03 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ", "P3D", "working"),
    ("15 ngày", "P15D", "calendar"),
    ("Trong ngày làm việc; trường hợp nhận hồ sơ sau 15 giờ thì trả kết quả trong ngày làm việc tiếp theo",
     "same-day", "working"),
    ("0,5 ngày làm việc", "P0.5D", "working"),
    ("04 giờ làm việc", "PT4H", "working"),
])
def test_time_limit_phrases(text, limit, basis):
    reading = parse_time_limit(text)
    assert (reading.limit, reading.basis) == (limit, basis)


def test_conditional_and_remote_commune_limits():
    reading = parse_time_limit("03 ngày làm việc; trường hợp cần xác minh thì được kéo dài thêm không quá "
                               "03 ngày làm việc")
    assert reading.limit == "P3D"
    assert [(c.condition, c.limit) for c in reading.conditional] == [("trường hợp cần xác minh", "P6D")]
    remote = parse_time_limit("30 ngày; đối với vùng sâu, vùng xa thì không quá 45 ngày")
    assert remote.categories == {"mountainous": "P45D"} and remote.basis == "calendar"
    assert parse_time_limit("theo quy định") is None
    with pytest.raises(ValueError):
        parse_time_limit("03 ngày làm việc; trường hợp phức tạp thì lâu hơn")


@pytest.mark.parametrize("text, iso", [
    ("30 phút", "PT30M"), ("02 giờ", "PT2H"), ("0,5 ngày", "P0.5D"), ("1/2 ngày", "P0.5D"),
    ("01 ngày làm việc", "P1D"), ("01 buổi", "P0.5D"), ("1 giờ 30 phút", "PT1H30M"), ("ngay", None),
])
def test_step_time_phrases(text, iso):
    assert parse_step_time(text) == iso


def test_step_kinds_from_content():
    assert step_kind("Tiếp nhận hồ sơ, chuyển công chức") == "receive"
    assert step_kind("Thẩm định, xác minh hồ sơ") == "appraise"
    assert step_kind("Ký Giấy chứng nhận") == "sign"
    assert step_kind("Trả kết quả cho công dân") == "return_result"
    assert step_kind("Dự thảo văn bản") == "draft"
    assert step_kind("Họp bàn") is None


def test_yaml_and_csv_tables_name_fields_and_posts_in_vietnamese_and_carry_facts():
    from engine.procedure.table_model import parse_csv_table, parse_yaml_table

    yaml_text = """
procedure:
  code: '1.004837'
  name: Đăng ký giám hộ
  field: HỘ TỊCH
  time_limit: P3D
  legal_basis: Luật Hộ tịch số 60/2014/QH13
  fee: Không
  result: Trích lục đăng ký giám hộ
  components:
    - {name: Tờ khai đăng ký giám hộ, kind: bản chính, count: 1}
  conditional_limits:
    - {condition: trường hợp cần xác minh, limit: P5D}
  evidence: {fee: 'unconfirmed: chưa đối chiếu'}
steps:
  - {id: receive, name: Tiếp nhận, role: Bộ phận một cửa, duration: PT2H, form: common_receive}
  - {id: appraise, name: Thẩm định, role: Công chức Tư pháp - Hộ tịch, duration: PT2H, form: common_review,
     outcomes: {approve: next, refuse: done}}
  - {id: done, name: Trả kết quả, role: one_stop_clerk, duration: PT2H, form: common_return, status: 9}
"""
    table = parse_yaml_table(yaml_text)
    assert table.meta.field == "civil_status"
    assert [s.role for s in table.steps] == ["one_stop_clerk", "justice_officer", "one_stop_clerk"]
    assert table.meta.components[0].kind == "original"
    assert table.meta.conditional_limits[0].limit == "P5D"
    xml = table_to_bpmn(table)
    assert "[dữ kiện] phí, lệ phí: unconfirmed" in etree.fromstring(xml).findtext(f"{{{BPMN_NS}}}process/{{{BPMN_NS}}}documentation")

    csv_text = "\n".join([
        "code,1.004837", "name,Đăng ký giám hộ", "field,Hộ tịch", "time_limit,P3D", "legal_basis,Luật Hộ tịch", "fee,Không",
        "components,Tờ khai đăng ký giám hộ,bản chính,1", "conditional_limits,trường hợp cần xác minh,P5D",
        "evidence,fee,Nghị quyết 12/2018/NQ-HĐND", "",
        "id,name,role,duration,form,outcomes,status",
        "receive,Tiếp nhận,Bộ phận một cửa,PT2H,common_receive,,",
        "appraise,Thẩm định,Công chức Tư pháp,PT2H,common_review,approve=next; refuse=done,",
        "done,Trả kết quả,one_stop_clerk,PT2H,common_return,,9"])
    csv_table = parse_csv_table(csv_text)
    assert csv_table.meta.components == table.meta.components
    assert csv_table.meta.evidence == {"fee": "Nghị quyết 12/2018/NQ-HĐND"}
    assert [s.role for s in csv_table.steps] == [s.role for s in table.steps]


def test_unknown_vietnamese_field_or_post_is_refused_not_guessed():
    from engine.procedure.table_model import parse_yaml_table

    with pytest.raises(InvalidInput) as caught:
        parse_yaml_table("""
procedure: {code: '1.004837', name: X, field: Lĩnh vực không có, time_limit: P3D, legal_basis: L, fee: Không}
steps:
  - {id: receive, name: Tiếp nhận, role: Tổ trưởng dân phố, duration: PT2H, form: common_receive}
""")
    fields = {p.field for p in caught.value.problems}
    assert {"field", "role"} <= fields
