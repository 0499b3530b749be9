"""Diagram pages without a browser: the version page, the dossier's diagram data, the ISO
document of a version; the JSON the bpmn-js bundles read is in the page (never an inline
script)."""
from __future__ import annotations

import json
import re

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
