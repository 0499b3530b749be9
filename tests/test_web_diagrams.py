"""Diagram pages without a browser: the version page, the dossier's diagram data, the ISO
document of a version; the JSON the bpmn-js bundles read is in the page (never an inline
script)."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

from sqlalchemy import select

from engine.adapters.db.models import ProcedureVersion
from tests.web_support import text, web  # noqa: F401  (fixture)

JSON_SCRIPT = re.compile(r'<script type="application/json" id="([^"]+)">(.*?)</script>', re.S)


def diagram_data(page: str, element_id: str) -> dict:
    found = {m.group(1): m.group(2) for m in JSON_SCRIPT.finditer(page)}
    return json.loads(found[element_id])


def no_inline_scripts(page: str) -> None:
    for tag in re.findall(r"<script[^>]*>", page):
        assert 'type="application/json"' in tag or "src=" in tag, tag


def version_id(web, number: int = 1) -> int:
    with web.rt.db.session_factory() as s:
        return s.scalar(select(ProcedureVersion.id).where(ProcedureVersion.version_no == number))


def test_version_page_shows_the_model_its_steps_and_metadata(web):
    chair = web.browser("chair")
    vid = version_id(web)
    assert f"/library/versions/{vid}" in text(chair.get("/library"))
    page = text(chair.get(f"/library/versions/{vid}"))
    no_inline_scripts(page)
    data = diagram_data(page, "version-diagram")
    assert data["xml"].startswith("<?xml") and "9.000001" in data["xml"]
    assert 'data-element-id="receive"' in page or "data-element-id=" in page
    assert "Sơ đồ quy trình cần JavaScript" in page  # the reduced form without JavaScript
    download = chair.get(f"/library/versions/{vid}/model.bpmn")
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment")
    assert download.data == data["xml"].encode("utf-8")
    document = chair.get(f"/library/versions/{vid}/document")
    assert document.status_code == 200 and "Lưu đồ quy trình" in text(document)
    assert web.browser("clerk").get("/library/versions/999999").status_code == 404


def test_dossier_page_marks_finished_current_and_paused_steps(web):
    receipt = web.receive("Hoàng Văn Dũng")
    web.step("clerk", receipt)
    clerk = web.browser("clerk")
    page = text(clerk.get(f"/dossiers/{receipt.code}"))
    no_inline_scripts(page)
    data = diagram_data(page, "dossier-diagram")
    marks = {m["id"]: m for m in data["marks"]}
    finished = [m for m in marks.values() if set(m["cls"].split()) & {"early", "on_time", "late"}]
    current = [m for m in marks.values() if "current" in m["cls"].split()]
    assert len(finished) == 1 and len(current) == 1
    assert current[0]["id"] == "appraise" and current[0]["badge"] == "Đang xử lý"
    assert current[0]["title"].startswith("Hạn bước: ")
    assert f'data-element-id="{current[0]["id"]}"' in page
    web.step("officer", receipt, {"outcome": "supplement", "reason": "Thiếu giấy tờ"})
    data = diagram_data(text(clerk.get(f"/dossiers/{receipt.code}")), "dossier-diagram")
    paused = [m for m in data["marks"] if "paused" in m["cls"].split()]
    assert len(paused) == 1 and paused[0]["badge"].startswith("Tạm dừng")


# --- the modeler (its browser half is in test_web_browser_diagrams.py) ---------------------

BLANK = Path(__file__).resolve().parent.parent / "api" / "web" / "templates" / "library" / "blank.bpmn"


def completed_blank(code: str = "9.100001") -> str:
    """The modeler's blank template with what the ISO panel writes, as the bundle saves it."""
    xml = BLANK.read_text(encoding="utf-8")
    xml = xml.replace('<bpmn:process id="new_procedure" name="" isExecutable="true">',
                      '<bpmn:process id="new_procedure" name="Thủ tục soạn trên trình duyệt" isExecutable="true">'
                      "<bpmn:extensionElements><spiffworkflow:properties>"
                      f'<spiffworkflow:property name="procedure_code" value="{code}" />'
                      '<spiffworkflow:property name="field" value="civil_status" />'
                      '<spiffworkflow:property name="time_limit" value="P1D" />'
                      "</spiffworkflow:properties></bpmn:extensionElements>")
    return xml.replace('<bpmn:userTask id="receive" name="Tiếp nhận hồ sơ">',
                       '<bpmn:userTask id="receive" name="Tiếp nhận hồ sơ"><bpmn:extensionElements>'
                       '<spiffworkflow:properties><spiffworkflow:property name="duration" value="PT30M" />'
                       "</spiffworkflow:properties></bpmn:extensionElements>")


def test_the_modeler_offers_the_registries_and_saves_through_the_validator(web):
    from engine.domain.roles import STEP_ROLES

    consultant = web.browser("consultant")
    assert "/library/new" in text(consultant.get("/library"))
    page = text(consultant.get("/library/new"))
    no_inline_scripts(page)
    data = diagram_data(page, "modeler-data")
    assert {code for code, _ in data["roles"]} == set(STEP_ROLES)
    assert ["civil_status", "Hộ tịch"] in data["fields"]
    assert [code for code, _ in data["statuses"]] == ["4", "5", "6", "9"]
    assert data["labels"]["duration"] == "Thời gian thực hiện"
    assert 'name="model_xml"' in page  # without JavaScript: the XML itself

    blank = BLANK.read_text(encoding="utf-8")
    response = consultant.post("/library/modeler", {"model_xml": blank, "change_note": "mới"})
    assert response.status_code == 422
    page = text(response)
    marks = {m["id"]: m for m in diagram_data(page, "modeler-data")["marks"]}
    assert marks["receive"]["cls"] == "problem" and "duration" in marks["receive"]["title"]
    assert "Hint: " in marks["receive"]["title"] and marks["receive"]["badge"] == "1 lỗi"
    assert 'data-element-id="receive"' in page and 'data-element-id="new_procedure"' in page
    assert blank.split("?>", 1)[1].strip() in html.unescape(page)  # the consultant's work comes back unchanged
    with web.rt.db.session_factory() as s:
        assert s.scalar(select(ProcedureVersion.id).where(ProcedureVersion.filename == "mo-hinh.bpmn")) is None

    response = consultant.post("/library/modeler", {"model_xml": completed_blank(), "change_note": "mới"})
    assert response.status_code == 302, text(response)[:2000]
    with web.rt.db.session_factory() as s:
        stored = s.scalars(select(ProcedureVersion).where(ProcedureVersion.filename == "9.100001.bpmn")).one()
        assert stored.status == "draft" and stored.change_note == "mới"
    assert response.headers["Location"].endswith(f"/library/versions/{stored.id}")
    page = text(consultant.get(response.headers["Location"]))
    assert "Đã lưu bản nháp 9.100001 phiên bản 1" in page and f"/library/versions/{stored.id}/edit" in page
    copy = text(consultant.get(f"/library/versions/{stored.id}/edit"))
    assert 'name="based_on" value="%d"' % stored.id in copy and "Thủ tục soạn trên trình duyệt" in copy


def test_only_consultants_open_the_modeler(web):
    clerk = web.browser("clerk")
    assert clerk.get("/library/new").status_code == 403
    assert clerk.post("/library/modeler", {"model_xml": BLANK.read_text(encoding="utf-8")}).status_code == 403
    assert clerk.get(f"/library/versions/{version_id(web)}/edit").status_code == 403


# --- comparing versions and the chair's review ----------------------------------------------


def submit_changed_version(web) -> int:
    """A draft v2 of the test procedure: a longer appraisal and a new legal basis."""
    from engine.services import procedures

    fixture = Path(__file__).resolve().parent / "fixtures" / "simple-procedure.bpmn"
    source = fixture.read_bytes()
    assert b'value="P1D"' in source
    changed = source.replace(b'value="P1D"', b'value="P1.5D"', 1)
    info = procedures.submit_version(web.rt, web.world.actor("consultant"), changed, "simple-v2.bpmn",
                                     forms_dir=fixture.parent / "forms", change_note="Thẩm định 1,5 ngày")
    return info.version_id


def test_the_chair_reviews_the_diff_and_the_document_before_approving(web):
    v2 = submit_changed_version(web)
    chair = web.browser("admin")  # a province-wide version is the province's to approve
    page = text(chair.get(f"/library/versions/{v2}/review"))
    no_inline_scripts(page)
    assert "Thay đổi so với phiên bản 1" in page and "Thời gian thực hiện" in page
    assert "1 ngày làm việc" in page and "1,5 ngày làm việc" in page
    assert f'src="/library/versions/{v2}/document"' in page and 'name="confirm" value="yes"' in page
    after = diagram_data(page, "after-diagram")
    [changed] = [m for m in after["marks"] if m["cls"] == "changed"]
    assert changed["badge"] == "Thay đổi"
    assert f'data-element-id="{changed["id"]}"' in page
    assert [m["id"] for m in diagram_data(page, "before-diagram")["marks"]] == [changed["id"]]  # on the old one too
    assert "Thay đổi so với phiên bản 1" in text(chair.get(f"/library/versions/{v2}/compare"))
    assert "phiên bản đầu tiên" in text(chair.get(f"/library/versions/{version_id(web)}/compare"))
    response = chair.post(f"/library/versions/{v2}/approve", {"confirm": "yes"})
    assert response.status_code == 302
    assert "Đã phê duyệt 9.000001 phiên bản 2." in text(chair.get("/library"))
    assert "không còn là bản nháp" in text(chair.get(f"/library/versions/{v2}/review"))


def test_the_heat_map_page_draws_the_steps_figures(web):
    from datetime import timedelta

    receipt = web.receive("Hoàng Văn Dũng")
    web.rt.clock.advance(timedelta(minutes=45))
    web.step("clerk", receipt)
    chair = web.browser("chair")
    assert "/library/procedures/9.000001/heatmap" in text(chair.get(f"/library/versions/{version_id(web)}"))
    page = text(chair.get("/library/procedures/9.000001/heatmap?period=2026-03"))
    no_inline_scripts(page)
    assert "Tháng 03/2026" in page and "1 lượt hoàn thành bước" in page
    marks = diagram_data(page, "heat-diagram")["marks"]
    done = [m for m in marks if m.get("badge")]
    assert len(done) == 1 and done[0]["badge"] == "trung vị 45 phút · 0% trễ" and done[0]["cls"].startswith("heat-")
    page = text(chair.get("/library/procedures/9.000001/heatmap?period=2026-13"))
    assert "tháng phải từ 01 đến 12" in page and "Năm 2026" in page  # said, then the year shown
    assert web.browser("clerk").get("/library/procedures/9.000001/heatmap").status_code == 403
    assert "/heatmap" not in text(web.browser("consultant").get(f"/library/versions/{version_id(web)}"))
