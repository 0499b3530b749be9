"""Dossier forms 01-05 rendered from the database, behind the permission policy, and the
`isoflow document` command line."""
from __future__ import annotations

import io
import re
import unicodedata
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html
from pypdf import PdfReader
from sqlalchemy import select

from cli.main import cli
from engine.domain.calendar import VN_TZ
from engine.adapters.db.models import Task, User
from engine.adapters.documents import qr_svg
from engine.adapters.documents.dossier_forms import control_sheet_data, form_spec, render_dossier_form

# These tests read the 2018 numbering (05 = control sheet); the default is the 2025 edition
# (test_the_2025_edition_renumbers_the_control_sheet_and_adds_the_stop_notice, tests/test_documents_iso.py).
OLD = "01/2018/TT-VPCP"
from engine.errors import Conflict, InvalidInput, NotFound
from engine.runtime import Runtime
from engine.services import dossiers
from engine.views import dossiers as views
from engine.services.dossiers import Applicant
from tests.support import SIMPLE_MODEL, build_world

LOOKUP = "https://dichvucong.tuyenquang.gov.vn/tra-cuu"


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def page_text(payload: bytes) -> str:
    """The visible text of an HTML page (styles left out)."""
    tree = lxml_html.fromstring(payload.decode("utf-8"))
    for style in tree.xpath("//style"):
        style.drop_tree()
    return flat(tree.text_content())


def pdf_text(payload: bytes) -> str:
    assert payload.startswith(b"%PDF-")
    return flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(payload)).pages))


@pytest.fixture
def world(db, clock):
    return build_world(Runtime(db, clock))


def step(world, actor, dossier_id, data=None):
    [task] = [t for t in views.inbox(world.rt, world.actor(actor)) if t.dossier_id == dossier_id]
    return dossiers.complete_task(world.rt, world.actor(actor), task.id, data or {})


def receive(world, name="Nguyễn Văn An"):
    return dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                            applicant=Applicant(name, id_number="008090001234", address="Thôn Đồng Tâm, xã Tri Phú",
                                                phone="0912345678"), channel=1)


@pytest.fixture
def worked(world):
    """A dossier received Tue 10:00, handed to the officer, sent back for supplementation,
    supplemented, then given a new appointment with an apology letter."""
    rt, clock = world.rt, world.rt.clock
    r = receive(world)
    step(world, "clerk", r.dossier_id, {"note": "Hồ sơ đủ thành phần"})
    clock.advance(timedelta(hours=3))
    [task] = [t for t in views.inbox(rt, world.actor("officer")) if t.dossier_id == r.dossier_id]
    dossiers.request_supplementation(rt, world.actor("officer"), task.id,
                                     "Bản sao Giấy chứng sinh; Giấy tờ tùy thân của người đi đăng ký")
    clock.set(at(2026, 3, 4, 9, 0))
    dossiers.supplement(rt, world.actor("clerk"), r.dossier_id, {"documents": "Giấy chứng sinh"})
    due = views.dossier_view(rt, world.actor("clerk"), r.code).due_at
    dossiers.issue_apology(rt, world.actor("chair"), r.code, "Cần xác minh thêm thông tin hộ tịch",
                           due + timedelta(days=3))
    return r


def test_slip_at_receipt_shows_code_pin_appointment_and_qr(world):
    r = receive(world)
    html = render_dossier_form(world.rt, world.actor("clerk"), r.code, "01", pin=r.pin, lookup_url=LOOKUP, edition=OLD)
    text = page_text(html)
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text.upper()
    for expected in (r.code, r.pin, "Nguyễn Văn An", "008090001234", "Thủ tục thử nghiệm (mã thủ tục 9.000001)",
                     "Thời gian nhận hồ sơ: 10:00 ngày 03/03/2026",
                     "Thời gian trả kết quả giải quyết hồ sơ: 10:00 ngày 06/03/2026", "Tri Phú, ngày 03 tháng 03 năm 2026",
                     f"{LOOKUP}?code={r.code}", "Clerk"):
        assert expected in text, expected
    [qr] = lxml_html.fromstring(html.decode()).xpath("//td[contains(@class,'qr')]//svg")
    # the QR code encodes the lookup page with the dossier code (and never the PIN)
    expected = lxml_html.fromstring(str(qr_svg(f"{LOOKUP}?code={r.code}", scale=2)))
    assert lxml_html.tostring(qr) == lxml_html.tostring(expected)


def test_a_reprinted_slip_never_shows_a_pin_and_has_no_qr_without_a_lookup_page(world):
    r = receive(world)
    text = page_text(render_dossier_form(world.rt, world.actor("clerk2"), r.code, "receipt", edition=OLD))
    assert r.pin not in text and "bản in lại không hiển thị mã PIN" in text
    assert not lxml_html.fromstring(render_dossier_form(world.rt, world.actor("clerk2"), r.code, edition=OLD).decode()).xpath("//svg")


def test_configured_lookup_page_is_used_for_the_qr_code(db, clock):
    from engine.config import Settings

    rt = Runtime(db, clock, Settings(database_url=db.url, public_lookup_url="https://tracuu.example.vn/hs?x=1"))
    world = build_world(rt)
    r = receive(world)
    assert "https://tracuu.example.vn/hs?x=1&code=" + r.code in page_text(
        render_dossier_form(rt, world.actor("clerk"), r.code, "01", edition=OLD))


def test_every_form_of_a_worked_dossier_renders_to_html_and_pdf(world, worked):
    rt = world.rt
    expectations = {
        "01": ["GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "Nguyễn Văn An"],
        "02": ["PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", "Bản sao Giấy chứng sinh",
               "Giấy tờ tùy thân của người đi đăng ký", "Công chức Tư pháp - Hộ tịch (Văn phòng HĐND và UBND) - Officer, 13:00 ngày 03/03/2026"],
        "04": ["PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", "Cần xác minh thêm thông tin hộ tịch",
               # Fri 06/03 10:00 moved by the 5.5 working hours the citizen took (Tue 13:30-17:00, Wed 07:00-09:00)
               "Thời hạn trả kết quả giải quyết hồ sơ theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả "
               "(đã cộng thời gian chờ bổ sung hồ sơ) là 07:30 ngày 09/03/2026"],
        "05": ["PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", "Thẩm định hồ sơ", "Công dân bổ sung hồ sơ"],
    }
    view = views.dossier_view(rt, world.actor("clerk"), worked.code)
    expectations["04"].append(f"hẹn trả kết quả vào {view.apology_due_at.astimezone(VN_TZ):%H:%M} ngày "
                              f"{view.apology_due_at.astimezone(VN_TZ):%d/%m/%Y}")
    for form, expected in expectations.items():
        html_text = page_text(render_dossier_form(rt, world.actor("clerk"), worked.code, form, edition=OLD))
        pdf = pdf_text(render_dossier_form(rt, world.actor("clerk"), worked.code, form, "pdf", edition=OLD))
        for item in expected + [worked.code, f"Mẫu số {form}"]:
            assert item.upper() in html_text.upper(), (form, item)
            assert item.upper() in pdf.upper(), (form, item)


def test_control_sheet_has_one_row_per_task(world, worked):
    rt = world.rt
    world.rt.clock.set(at(2026, 3, 4, 10, 0))
    sheet = control_sheet_data(rt, world.actor("vice"), worked.code, edition=OLD)
    with rt.db.session_factory() as s:
        tasks = s.scalars(select(Task).where(Task.dossier_id == worked.dossier_id).order_by(Task.created_at, Task.id)).all()
        names = {u.id: u.full_name for u in s.scalars(select(User))}
    assert [r.step for r in sheet.rows] == [t.name for t in tasks]
    assert [r.handed_over_at for r in sheet.rows] == [t.created_at for t in tasks]
    assert [r.step_due_at for r in sheet.rows] == [t.due_at for t in tasks]
    assert [r.completed_at for r in sheet.rows] == [t.completed_at for t in tasks]
    labels = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}
    for row, task in zip(sheet.rows, tasks):
        if task.state == "completed" and task.classification:
            assert row.result == labels[task.classification]
        holder = task.completed_by_id or task.assignee_id
        if holder:
            assert row.to_label.endswith(names[holder])
    assert [t.bpmn_id for t in tasks] == ["receive", "appraise", "citizen_supplement", "appraise"]
    assert sheet.rows[0].from_label.startswith("Bộ phận một cửa")
    assert sheet.rows[1].from_label == "Công chức tiếp nhận và trả kết quả (Trung tâm Phục vụ hành chính công) - Clerk"
    assert sheet.rows[1].note.startswith("Yêu cầu bổ sung; Bản sao Giấy chứng sinh")
    assert sheet.rows[2].result == "Xong (không tính hạn)"
    assert sheet.rows[3].result == "Trong hạn (đang xử lý)"
    world.rt.clock.set(at(2026, 3, 20, 10, 0))
    assert control_sheet_data(rt, world.actor("vice"), worked.code, edition=OLD).rows[3].result == "Quá hạn (đang xử lý)"
    table = lxml_html.fromstring(render_dossier_form(rt, world.actor("vice"), worked.code, "05", edition=OLD).decode())
    assert len(table.xpath("//table[contains(@class,'control')]//tbody/tr")) == len(tasks)


def test_another_communes_dossier_is_not_found(world, worked):
    for form in ("01", "02", "03", "04", "05"):
        with pytest.raises(NotFound):
            render_dossier_form(world.rt, world.actor("nh_clerk"), worked.code, form, edition=OLD)
    # the province administrator sees every commune
    assert worked.code in page_text(render_dossier_form(world.rt, world.actor("admin"), worked.code, "05", edition=OLD))


def test_forms_that_do_not_apply_are_conflicts(world):
    r = receive(world)
    for form in ("02", "03", "04"):
        with pytest.raises(Conflict) as err:
            render_dossier_form(world.rt, world.actor("clerk"), r.code, form, edition=OLD)
        assert err.value.code == "form_not_applicable"


def test_refusal_letter_states_the_reason(world):
    r = receive(world)
    dossiers.refuse(world.rt, world.actor("chair"), r.code, "Không thuộc thẩm quyền giải quyết của UBND xã")
    text = page_text(render_dossier_form(world.rt, world.actor("clerk"), r.code, "03", edition=OLD))
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in text.upper()
    assert "Không thuộc thẩm quyền giải quyết của UBND xã" in text


def test_the_2025_edition_renumbers_the_control_sheet_and_adds_the_stop_notice(world):
    edition = "03/2025/TT-VPCP"
    r = receive(world)
    text = page_text(render_dossier_form(world.rt, world.actor("clerk"), r.code, "06", edition=edition))
    assert "Mẫu số 06 (kèm theo Thông tư 03/2025/TT-VPCP)" in text
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text.upper()
    with pytest.raises(Conflict):
        render_dossier_form(world.rt, world.actor("clerk"), r.code, "05", edition=edition)
    dossiers.stop(world.rt, world.actor("chair"), r.code, "Người yêu cầu không đến thực hiện nghĩa vụ tài chính")
    text = page_text(render_dossier_form(world.rt, world.actor("clerk"), r.code, "05", edition=edition))
    assert "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ" in text.upper()
    assert "Người yêu cầu không đến thực hiện nghĩa vụ tài chính" in text
    with pytest.raises(InvalidInput):  # the 2018 edition has no stop notice
        render_dossier_form(world.rt, world.actor("clerk"), r.code, "stop", edition=OLD)


def test_form_numbers_are_data_and_bad_requests_are_refused(world):
    assert form_spec("1", edition=OLD).kind == "receipt" and form_spec("control_sheet", edition=OLD).number == "05"
    r = receive(world)
    with pytest.raises(InvalidInput) as err:
        render_dossier_form(world.rt, world.actor("clerk"), r.code, "07", edition=OLD)
    assert err.value.code == "unknown_form"
    with pytest.raises(InvalidInput):
        render_dossier_form(world.rt, world.actor("clerk"), r.code, "01", "docx", edition=OLD)
    with pytest.raises(InvalidInput):
        form_spec("01", edition="99/2099/TT-VPCP")


# --- command line ------------------------------------------------------------------------


def invoke(*args: str):
    return CliRunner().invoke(cli, ["document", *args], catch_exceptions=False)


def test_cli_documents_a_bpmn_file_as_html_and_pdf(tmp_path):
    out = tmp_path / "qt.html"
    result = invoke(str(SIMPLE_MODEL), "--format", "html", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    text = page_text(out.read_bytes())
    assert "Thẩm định hồ sơ" in text and "DỰ THẢO" in text and "1 ngày làm việc" in text
    pdf = tmp_path / "qt.pdf"
    assert invoke(str(SIMPLE_MODEL), "--output", str(pdf)).exit_code == 0
    assert "Ký duyệt" in pdf_text(pdf.read_bytes())


def test_cli_documents_a_stored_procedure_with_its_version_history(world, database_url, tmp_path):
    out = tmp_path / "qt.html"
    result = invoke("9.000001", "--format", "html", "-o", str(out), "--database-url", database_url,
                    "--unit-name", "Xã Tri Phú")
    assert result.exit_code == 0, result.output
    text = page_text(out.read_bytes())
    assert "Lần ban hành: 01" in text and "DỰ THẢO" not in text and "Ngày ban hành: 03/03/2026" in text
    assert "XÃ TRI PHÚ" in text


def test_cli_posting_sheet_and_form(world, database_url, tmp_path):
    out = tmp_path / "niem-yet.html"
    result = invoke("posting-sheet", "--unit", "NAHANG", "--lookup-url", LOOKUP, "--format", "html", "-o", str(out),
                    "--database-url", database_url)
    assert result.exit_code == 0, result.output
    text = page_text(out.read_bytes())
    assert "9.000001" in text and "05 ngày làm việc" in text and LOOKUP in text
    r = receive(world)
    sheet = tmp_path / "phieu-05.html"
    result = invoke("form", r.code, "--form", "05", "--edition", OLD, "--user", "clerk", "--format", "html", "-o", str(sheet),
                    "--database-url", database_url)
    assert result.exit_code == 0, result.output
    assert "Tiếp nhận, chuyển hồ sơ" in page_text(sheet.read_bytes())


@pytest.mark.parametrize("args, code", [
    (["missing.bpmn"], "unreadable_file"),
    (["not-a-model"], "bad_model"),
    (["9.999999"], "unknown_procedure"),
    (["posting-sheet", "--unit", "NOWHERE", "--lookup-url", LOOKUP], "unknown_unit"),
    (["posting-sheet", "--unit", "TRIPHU", "--lookup-url", " "], "lookup_url_required"),
    (["form", "TRIPHU-260303-0001", "--user", "nobody"], "unknown_user"),
    (["form", "TRIPHU-260303-0001", "--user", "clerk", "--form", "08"], "unknown_form"),
    (["form", "TRIPHU-260303-0001", "--user", "clerk", "--edition", "1999"], "unknown_edition"),
])
def test_cli_bad_input_exits_2_with_a_clear_message(world, database_url, tmp_path, args, code):
    result = CliRunner().invoke(cli, ["document", *args, "-o", str(tmp_path / "x.pdf"), "--database-url", database_url])
    assert result.exit_code == 2, result.output
    assert f"error [{code}]" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_cli_other_communes_dossier_is_bad_input(world, database_url, tmp_path):
    r = receive(world)
    result = CliRunner().invoke(cli, ["document", "form", r.code, "--user", "nh_clerk", "-o", str(tmp_path / "x.pdf"),
                                      "--database-url", database_url])
    assert result.exit_code == 2 and "error [not_found]" in result.output


# --- documents from the database -------------------------------------------------------


def test_stored_procedure_document_follows_its_version_history(world):
    """Version 1 published by the test setup; version 2 drafted by the consultant, then
    approved by the province administrator: the header, signatures and amendment log follow."""
    from engine.adapters.documents import render_procedure
    from engine.services.procedures import approve_version, publish_version, submit_version

    rt, clock = world.rt, world.rt.clock
    source = SIMPLE_MODEL.read_bytes().replace(b'value="P1D"', b'value="P0.5D"')
    clock.set(at(2026, 3, 10, 9, 0))
    info = submit_version(rt, world.actor("consultant"), source, SIMPLE_MODEL.name,
                          forms_dir=SIMPLE_MODEL.parent / "forms", change_note="Rút thời gian thẩm định còn 0,5 ngày")
    draft = page_text(render_procedure(rt, "9.000001"))
    assert "Lần ban hành: 02 DỰ THẢO" in draft and "0,5 ngày làm việc" in draft
    clock.set(at(2026, 3, 12, 14, 0))
    approve_version(rt, world.actor("admin"), info.version_id)
    publish_version(rt, world.actor("admin"), info.version_id, at(2026, 3, 16, 0, 0).date())
    tree = lxml_html.fromstring(render_procedure(rt, "9.000001", unit_name="Xã Tri Phú").decode())
    text = flat(tree.text_content())
    assert "Lần ban hành: 02" in text and "DỰ THẢO" not in text
    assert "Ngày ban hành: 12/03/2026" in text and "Ngày hiệu lực: 16/03/2026" in text
    signatures = [flat(td.text_content()) for td in tree.xpath("//table[contains(@class,'approval')]//tr[3]/td")]
    assert signatures == ["Họ và tên", "Consultant", "", "Admin"]
    log = [[flat(td.text_content()) for td in tr.xpath("./td")]
           for tr in tree.xpath("//h2[contains(., 'Theo dõi sửa đổi')]/following-sibling::table[1]//tr[td]")]
    assert log == [["1", "03/03/2026", "Ban hành lần đầu", "01", "Đã phê duyệt"],
                   ["2", "12/03/2026", "Rút thời gian thẩm định còn 0,5 ngày", "02", "Đã phê duyệt"]]
    assert render_procedure(rt, "9.000001", "pdf").startswith(b"%PDF-")


def test_what_people_typed_is_printed_as_text_never_as_markup(world):
    r = dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                         applicant=Applicant('<img src="http://example.invalid/x.png"> Lê "Bá" & Con'), channel=1)
    payload = render_dossier_form(world.rt, world.actor("clerk"), r.code, "01", edition=OLD).decode()
    assert "<img" not in payload and "&lt;img src=" in payload
    assert '<img src="http://example.invalid/x.png"> Lê "Bá" & Con' in page_text(payload.encode())


# --- dossier register ----------------------------------------------------------------------


def test_register_lists_the_communes_dossiers_of_the_period(world):
    from engine.adapters.documents.dossier_forms import register_data, render_register

    rt, clock = world.rt, world.rt.clock
    first = receive(world, "Nguyễn Văn An")
    clock.advance(timedelta(hours=1))
    second = receive(world, "Trần Thị Bình")
    dossiers.refuse(rt, world.actor("chair"), second.code, "Không thuộc thẩm quyền")
    clock.set(at(2026, 3, 5, 9, 0))
    later = receive(world, "Lê Văn Cường")  # outside the period below
    nh = dossiers.receive(rt, world.actor("nh_clerk"), unit_code="NAHANG", procedure_code="9.000001",
                          applicant=Applicant("Hà Thị Dung"), channel=1)
    data = register_data(rt, world.actor("clerk"), "TRIPHU", at(2026, 3, 1, 0, 0).date(), at(2026, 3, 4, 0, 0).date(), edition=OLD)
    assert [r.dossier_code for r in data.rows] == [first.code, second.code]
    assert (data.spec.number, data.rows[0].applicant_contact) == ("06", "Thôn Đồng Tâm, xã Tri Phú, 0912345678")
    assert data.rows[0].result == "Đã tiếp nhận" and data.rows[1].note == "Từ chối"
    tree = lxml_html.fromstring(render_register(rt, world.actor("clerk"), "TRIPHU", at(2026, 3, 1, 0, 0).date(),
                                                at(2026, 3, 31, 0, 0).date(), edition="03/2025/TT-VPCP").decode())
    assert [tr.get("data-code") for tr in tree.xpath("//tr[@data-code]")] == [first.code, second.code, later.code]
    assert nh.code not in flat(tree.text_content()) and "Mẫu số 07" in flat(tree.text_content())
    with pytest.raises(NotFound):
        register_data(rt, world.actor("nh_clerk"), "TRIPHU", at(2026, 3, 1, 0, 0).date(), at(2026, 3, 31, 0, 0).date(), edition=OLD)
    with pytest.raises(InvalidInput):
        register_data(rt, world.actor("clerk"), "TRIPHU", at(2026, 3, 31, 0, 0).date(), at(2026, 3, 1, 0, 0).date(), edition=OLD)


def test_cli_register(world, database_url, tmp_path):
    r = receive(world)
    out = tmp_path / "so.pdf"
    result = invoke("register", "--unit", "TRIPHU", "--from", "2026-03-01", "--to", "2026-03-31", "--user", "clerk",
                    "-o", str(out), "--database-url", database_url)
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    assert "SỔ THEO DÕI HỒ SƠ" in text.upper() and r.code in text and "Nguyễn Văn An" in text
    result = CliRunner().invoke(cli, ["document", "register", "--unit", "TRIPHU", "--from", "2026-03-01", "--to",
                                      "2026-03-31", "--user", "nh_clerk", "-o", str(out), "--database-url", database_url])
    assert result.exit_code == 2 and "error [not_found]" in result.output
