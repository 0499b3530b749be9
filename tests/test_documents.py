"""The ISO procedure document and the posting sheet: every library model renders to HTML
and A4 PDF with every step, role and duration readable (Vietnamese diacritics intact),
and a procedure table comes back out of its document unchanged."""
from __future__ import annotations

import io
import re
import unicodedata
from datetime import date, timedelta
from pathlib import Path

import pytest
from lxml import html as lxml_html
from pypdf import PdfReader

from engine.domain.calendar import parse_working_duration
from engine.adapters.documents import VersionRecord, document_data, procedure_document, to_pdf
from engine.adapters.documents.posting import Commune, posting_sheet
from engine.adapters.documents.text import format_duration, format_limit
from engine.errors import InvalidInput
from engine.procedure import ProcedureModel, compile_model
from engine.domain.roles import role_label

REPO = Path(__file__).resolve().parent.parent
LIBRARY = sorted((REPO / "bpmn").glob("*.bpmn"))
FIXTURE = REPO / "tests" / "fixtures" / "simple-procedure.bpmn"
MODELS = LIBRARY + [FIXTURE]
TABLES = sorted((REPO / "bpmn" / "tables").glob("*.yaml"))


def flat(text: str) -> str:
    """NFC text with every run of whitespace as one space (PDF lines break inside cells)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def pdf_text(pdf: bytes) -> tuple[str, list]:
    reader = PdfReader(io.BytesIO(pdf))
    return flat(" ".join(page.extract_text() for page in reader.pages)), reader.pages


def compile_path(path: Path) -> ProcedureModel:
    return compile_model(path.read_bytes(), path.name, forms_dir=path.parent / "forms")


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[ProcedureModel, str, str, list]]:
    """Each model's document rendered to HTML and PDF once for the module (PDF is slow)."""
    out = {}
    for path in MODELS:
        model = compile_path(path)
        page = procedure_document(model)
        text, pages = pdf_text(to_pdf(page))
        out[path.name] = (model, page, text, pages)
    return out


def test_the_library_is_there():
    assert len(LIBRARY) >= 1 and (REPO / "bpmn" / "1.001193-birth-registration.bpmn") in LIBRARY


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_every_step_role_and_duration_is_in_the_pdf(rendered, path):
    model, page, text, pages = rendered[path.name]
    # A4 portrait, but for the flowchart's page (5.7), which is landscape
    sizes = [(round(float(p.mediabox.width), 2), round(float(p.mediabox.height), 2)) for p in pages]
    landscape = [i for i, p in enumerate(pages) if "Lưu đồ quy trình" in p.extract_text()] if b"BPMNShape" in model.source else []
    assert pages and all(abs(w - (841.89 if i in landscape else 595.28)) < 1 and abs(h - (595.28 if i in landscape else 841.89)) < 1
                         for i, (w, h) in enumerate(sizes)), "A4 portrait, the flowchart A4 landscape"
    meta = model.metadata
    assert flat(meta.name) in text
    assert meta.procedure_code in text
    assert flat(format_limit(meta.time_limit, meta.time_basis)) in text
    for step in model.steps_in_order():
        assert flat(step.name) in text, step.bpmn_id
        assert flat(role_label(step.role)) in text, step.role
        assert flat(format_duration(step.duration)) in text, (step.bpmn_id, step.duration)
    # sections 1-7 and the header of a model without a version record
    for heading in ("1. MỤC ĐÍCH", "2. PHẠM VI ÁP DỤNG", "3. TÀI LIỆU VIỆN DẪN", "4. ĐỊNH NGHĨA",
                    "5. NỘI DUNG QUY TRÌNH", "6. BIỂU MẪU", "7. HỒ SƠ CẦN LƯU", "THEO DÕI SỬA ĐỔI TÀI LIỆU"):
        assert heading in text.upper(), heading
    assert "DỰ THẢO" in text and "Người soạn thảo" in text and "Người phê duyệt" in text


def test_birth_registration_reads_exactly_as_written(rendered):
    _, page, text, pages = rendered["1.001193-birth-registration.bpmn"]
    for expected in ("Tiếp nhận, kiểm tra hồ sơ và viết phiếu hẹn", "Công chức tiếp nhận và trả kết quả",
                     "Công chức Tư pháp - Hộ tịch", "Chủ tịch UBND", "15 phút", "45 phút", "30 phút",
                     "5 ngày làm việc", "Mã hiệu: QT-HT-01", "Trong ngày làm việc",
                     "Tổng thời gian giải quyết (theo đường xử lý dài nhất) 1 giờ 45 phút", "TCVN ISO 9001:2015",
                     "Nghị định 123/2015/NĐ-CP", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (Mẫu số 02)"):
        assert expected in text, expected
    # the steps table in HTML: Step | What | Responsible | Time | Form/result
    tree = lxml_html.fromstring(page)
    header = [flat(th.text_content()) for th in tree.xpath("//table[contains(@class,'steps')]//thead//th")]
    assert header == ["Bước", "Nội dung công việc", "Trách nhiệm", "Thời gian", "Biểu mẫu / Kết quả"]
    assert len(pages) <= 6


def parse_vi_duration(text: str) -> timedelta:
    """Read `0,5 ngày làm việc 2 giờ 30 phút` back (independent of the formatter)."""
    total = timedelta(0)
    consumed = text
    for pattern, unit in ((r"(\d+(?:,\d+)?) ngày làm việc", timedelta(hours=8)), (r"(\d+) giờ", timedelta(hours=1)),
                          (r"(\d+) phút", timedelta(minutes=1))):
        for match in re.finditer(pattern, text):
            total += unit * float(match.group(1).replace(",", "."))
            consumed = consumed.replace(match.group(0), "", 1)
    assert not consumed.strip(), f"unread duration text {consumed!r} in {text!r}"
    return total


def document_rows(page: str) -> list[tuple[str, str, timedelta, bool]]:
    tree = lxml_html.fromstring(page)
    rows = []
    for tr in tree.xpath("//table[contains(@class,'steps')]//tr[@data-step]"):
        cells = tr.xpath("./td")
        time_text = flat(cells[3].text_content())
        paused = "(không tính vào thời hạn)" in time_text
        rows.append((flat(cells[1].text_content()), flat(cells[2].text_content()),
                     parse_vi_duration(time_text.replace("(không tính vào thời hạn)", "")), paused))
    return rows


@pytest.mark.parametrize("table_path", TABLES, ids=lambda p: p.stem)
def test_round_trip_table_to_bpmn_to_document(table_path):
    """table -> BPMN -> validate -> document gives back the table's steps, roles and durations."""
    from engine.procedure.table_import import import_table_file

    table, xml = import_table_file(table_path)
    model = compile_model(xml, table_path.name, forms_dir=REPO / "bpmn" / "forms")  # validates
    page = procedure_document(model)
    expected = sorted((flat(s.name), role_label(s.role), parse_working_duration(s.duration), s.clock == "paused")
                      for s in table.steps)
    assert sorted(document_rows(page)) == expected


def test_round_trip_needs_the_library_tables():
    assert TABLES, "bpmn/tables/*.yaml are the round-trip inputs"


def test_version_records_give_header_signatures_and_amendment_log(rendered):
    model = rendered[FIXTURE.name][0]
    from datetime import datetime

    from engine.domain.calendar import VN_TZ

    records = [
        VersionRecord(1, "retired", "", drafted_by="Lê Thị Soạn", drafted_at=datetime(2025, 1, 2, 9, tzinfo=VN_TZ),
                      approved_by="Trần Văn Duyệt", approved_at=datetime(2025, 1, 6, 9, tzinfo=VN_TZ),
                      effective_from=date(2025, 1, 10), content_hash="old"),
        VersionRecord(2, "approved", "Rút thời gian thẩm định theo Nghị định 118/2025/NĐ-CP",
                      drafted_by="Lê Thị Soạn", drafted_at=datetime(2025, 7, 1, 9, tzinfo=VN_TZ),
                      reviewed_by="Phạm Kiểm Tra", approved_by="Nguyễn Chủ Tịch",
                      approved_at=datetime(2025, 7, 3, 14, tzinfo=VN_TZ), effective_from=date(2025, 7, 10),
                      content_hash=model.content_hash),
    ]
    doc = document_data(model, records)
    assert (doc.revision, doc.issue_date, doc.effective_date, doc.draft) == ("02", "03/07/2025", "10/07/2025", False)
    tree = lxml_html.fromstring(procedure_document(model, records, unit_name="Xã Tri Phú"))
    text = flat(tree.text_content())
    assert "Lần ban hành: 02" in text and "Ngày ban hành: 03/07/2025" in text and "DỰ THẢO" not in text
    assert "XÃ TRI PHÚ" in text
    for name in ("Lê Thị Soạn", "Phạm Kiểm Tra", "Nguyễn Chủ Tịch"):
        assert name in text
    log = [[flat(td.text_content()) for td in tr.xpath("./td")]
           for tr in tree.xpath("//h2[contains(., 'Theo dõi sửa đổi')]/following-sibling::table[1]//tr[td]")]
    assert log == [["1", "06/01/2025", "Ban hành lần đầu", "01", "Hết hiệu lực"],
                   ["2", "03/07/2025", "Rút thời gian thẩm định theo Nghị định 118/2025/NĐ-CP", "02", "Đã phê duyệt"]]


def test_only_vietnamese_documents(rendered):
    with pytest.raises(InvalidInput) as err:
        procedure_document(rendered[FIXTURE.name][0], lang="fr")
    assert err.value.code == "unsupported_language"


def test_category_limits_are_listed(rendered):
    _, _, text, _ = rendered[FIXTURE.name]
    assert "03 ngày làm việc" in text and "Đối với xã miền núi, vùng sâu, vùng xa: 05 ngày làm việc" in text


# --- posting sheet ---------------------------------------------------------------------


def test_posting_sheet_lists_limits_fees_and_a_qr_code(rendered):
    models = [rendered[p.name][0] for p in MODELS]
    url = "https://dichvucong.tuyenquang.gov.vn/tra-cuu"
    page = posting_sheet(Commune("Xã Na Hang", "Tổ 5, xã Na Hang", "mountainous"), models, url,
                         posted_on=date(2026, 3, 3))
    tree = lxml_html.fromstring(page)
    rows = {tr.get("data-code"): [flat(td.text_content()) for td in tr.xpath("./td")]
            for tr in tree.xpath("//tr[@data-code]")}
    assert set(rows) == {m.metadata.procedure_code for m in models}
    for model in models:
        meta = model.metadata
        _, code, name, limit, fee = rows[meta.procedure_code]
        assert (code, name) == (meta.procedure_code, flat(meta.name))
        assert limit == flat(format_limit(meta.limit_for("mountainous"), meta.time_basis, short=True))
        assert fee == (flat(meta.fee) if meta.fee not in (None, "", "0") else "Không")
    assert rows["9.000001"][3] == "05 ngày làm việc"  # the mountainous commune's limit
    assert rows["9.000001"][4] == "Không"  # fee "0"
    assert rows["1.001193"][3] == "Trong ngày (nhận sau 15 giờ: trả ngày làm việc tiếp theo)"
    assert tree.xpath("//svg") and url in flat(tree.text_content())
    text, pages = pdf_text(to_pdf(page))
    assert "DANH MỤC THỦ TỤC HÀNH CHÍNH NIÊM YẾT CÔNG KHAI" in text.upper()
    assert "Đăng ký khai sinh" in text and "Niêm yết ngày 03/03/2026" in text


def test_posting_sheet_refuses_missing_lookup_url_and_empty_lists(rendered):
    model = rendered[FIXTURE.name][0]
    with pytest.raises(InvalidInput) as err:
        posting_sheet(Commune("Xã Tri Phú"), [model], " ")
    assert err.value.code == "lookup_url_required"
    with pytest.raises(InvalidInput) as err:
        posting_sheet(Commune("Xã Tri Phú"), [], "https://example.gov.vn/tra-cuu")
    assert err.value.code == "nothing_to_post"


def test_durations_and_limits_in_words():
    assert format_duration(timedelta(minutes=15)) == "15 phút"
    assert format_duration(timedelta(hours=4)) == "0,5 ngày làm việc"
    assert format_duration(timedelta(hours=10, minutes=30)) == "1 ngày làm việc 2 giờ 30 phút"
    assert format_duration(timedelta(hours=3)) == "3 giờ"
    assert format_limit("P20D") == "20 ngày làm việc"
    assert format_limit("P30D", "calendar") == "30 ngày"
    assert format_limit("same-day").startswith("Trong ngày làm việc")
