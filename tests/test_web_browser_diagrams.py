"""The diagrams in a real browser (Debian's chromium, Playwright, the bundles built by
`npm run build`): every library model opens in the viewer without a console error; a
consultant draws a procedure in the modeler, sees the validator's problems on the
elements, fixes them in the ISO panel and submits; the chair reviews the diff and the
document, approves and publishes; a clerk receives a dossier and its page highlights the
current step. Screenshots go to $ISOFLOW_SCREENSHOT_DIR (default var/test-artifacts/browser,
git-ignored)."""
from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest

from api.web.diagrams import diagram_assets_built
from engine.services.procedures import publish_file
from tests.support import SYSTEM
from tests.test_web_browser import page, server  # noqa: F401  (fixtures)
from tests.web_support import web  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parent.parent
LIBRARY = sorted((REPO / "bpmn").glob("*.bpmn"))

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def built_assets():
    if not diagram_assets_built():
        pytest.skip("needs the diagram bundles: run `npm ci && npm run build` (the quick start and .ci/run do)")


@pytest.fixture
def shots() -> Path:
    target = Path(os.environ.get("ISOFLOW_SCREENSHOT_DIR") or REPO / "var" / "test-artifacts" / "browser")
    target.mkdir(parents=True, exist_ok=True)
    return target


class Console:
    """Errors the page logs; a failed resource load is kept with its address."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.failed: list[str] = []
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("response", lambda response: self.failed.append(f"{response.status} {response.url}")
                if response.status >= 400 else None)
        # browsers ask for /favicon.ico by themselves; the pages have none
        page.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))

    def script_errors(self, *, expected_statuses: tuple[int, ...] = ()) -> list[str]:
        """Console errors other than the load failures of responses with an expected status
        (a form refused with 422 is logged by chromium as a failed resource)."""
        load_failures = [e for e in self.errors if e.startswith("Failed to load resource")]
        unexpected_loads = [f for f in self.failed if int(f.split()[0]) not in expected_statuses]
        others = [e for e in self.errors if not e.startswith("Failed to load resource")]
        return others + (unexpected_loads if load_failures else [])


def login(page, server: str, username: str) -> None:
    page.goto(f"{server}/login")
    page.fill("#f-username", username)
    page.fill("#f-password", "secret-pass")
    page.click("button[type=submit].primary")
    page.wait_for_load_state()


def logout(page) -> None:
    page.click("header form button.btn-link")
    page.wait_for_load_state()


def wait_drawn(page, box: str) -> str:
    page.wait_for_selector(f"{box}[data-state]", timeout=20000)
    return page.get_attribute(box, "data-state")


def test_every_library_model_opens_in_the_viewer(web, server, page, shots):
    ids = {}
    for path in LIBRARY:
        info = publish_file(web.rt, SYSTEM, path, effective_from=date(2026, 1, 1))
        ids[path.stem] = info.version_id
    console = Console(page)
    login(page, server, "chair")
    for stem, version_id in ids.items():
        page.goto(f"{server}/library/versions/{version_id}")
        assert wait_drawn(page, "#version-diagram-box") == "ready", stem
        shapes = page.locator("#version-diagram-box g.djs-element.djs-shape").count()
        steps = page.locator("table.steps tbody tr").count()
        assert shapes > steps > 0, stem
        # every step of the table is a shape of the diagram
        for row in page.locator("table.steps tbody tr").all():
            element_id = row.get_attribute("data-element-id")
            assert page.locator(f'#version-diagram-box g.djs-element[data-element-id="{element_id}"]').count() == 1
        assert page.get_attribute("#version-diagram-box", "data-layout") is None  # drawn from its own DI
        assert console.script_errors() == [], stem
    page.screenshot(path=str(shots / "viewer-last-library-model.png"), full_page=True)


def panel_text(page, prop: str, value: str) -> None:
    field = page.locator(f".iso-panel [data-property='{prop}']")
    field.fill(value)
    field.press("Tab")  # the panel writes on change


def save(page) -> None:
    with page.expect_navigation():
        page.click("#save-model")


def test_a_procedure_from_the_modeler_to_a_dossier(web, server, page, shots):
    console = Console(page)
    # -- the consultant draws and submits --------------------------------------------------
    login(page, server, "consultant")
    page.click("text=Soạn quy trình mới")
    assert wait_drawn(page, "#modeler-box") == "ready"
    assert page.locator("textarea[name=model_xml]").is_hidden()  # the XML is the page without JavaScript
    save(page)  # nothing filled in yet: the validator refuses it
    assert wait_drawn(page, "#modeler-box") == "ready"
    assert "không hợp lệ" in page.locator(".flash-error").inner_text()
    task = page.locator('#modeler-box g.djs-element[data-element-id="receive"]')
    assert "iso-problem" in task.get_attribute("class")
    tooltip = task.locator("title.iso-title").text_content()
    assert "chưa có thời gian (duration)" in tooltip and "Hint:" in tooltip
    pool = page.locator('#modeler-box g.djs-element[data-element-id="new_procedure_participant"]')
    assert "iso-problem" in pool.get_attribute("class")  # the process's problems, on its pool
    page.screenshot(path=str(shots / "modeler-problems.png"), full_page=True)

    page.click('table.problems tr[data-element-id="receive"] td.mono >> nth=0')
    assert page.get_attribute("#modeler-box", "data-selected") == "receive"
    assert page.get_attribute(".iso-panel", "data-element") == "receive"
    panel_text(page, "duration", "PT30M")
    page.select_option(".iso-panel select[data-property=role]", "one_stop_clerk")
    page.select_option(".iso-panel select[data-property=form]", "common_receive")

    page.click('table.problems tr[data-element-id="new_procedure"] td.mono >> nth=0')
    assert page.get_attribute(".iso-panel", "data-element") == "new_procedure_participant"
    name = page.locator(".iso-panel h3 + p + .field input")
    name.fill("Thủ tục soạn thử trên trình duyệt")
    name.press("Tab")
    panel_text(page, "procedure_code", "9.100001")
    page.select_option(".iso-panel select[data-property=field]", "civil_status")
    panel_text(page, "time_limit", "P1D")
    page.fill("#f-change_note", "Ban hành lần đầu")
    save(page)
    page.wait_for_url(re.compile(r".*/library/versions/\d+$"))
    assert "Đã lưu bản nháp 9.100001 phiên bản 1" in page.locator(".flash-success").inner_text()
    assert wait_drawn(page, "#version-diagram-box") == "ready"
    v1 = page.url.rsplit("/", 1)[1]

    # -- the consultant edits a copy: the desk's step takes longer ----------------------------
    page.click("text=Sửa bản sao")
    assert wait_drawn(page, "#modeler-box") == "ready"
    page.click('#modeler-box g.djs-element[data-element-id="receive"]')
    assert page.get_attribute(".iso-panel", "data-element") == "receive"
    assert page.locator(".iso-panel [data-property=duration]").input_value() == "PT30M"
    panel_text(page, "duration", "PT45M")
    page.fill("#f-change_note", "Tiếp nhận 45 phút")
    save(page)
    page.wait_for_url(re.compile(r".*/library/versions/\d+$"))
    v2 = page.url.rsplit("/", 1)[1]
    assert v2 != v1
    logout(page)

    # -- the province reviews, approves and publishes both (a province-wide procedure is
    # the province's: docs/authoring.md §9) ---------------------------------------------
    login(page, server, "admin")
    page.goto(f"{server}/library/versions/{v1}/review")
    assert "Phiên bản đầu tiên của thủ tục" in page.content()
    page.click("#approve-version")
    assert "Đã phê duyệt 9.100001 phiên bản 1." in page.locator(".flash-success").inner_text()
    page.goto(f"{server}/library/versions/{v2}/review")
    assert wait_drawn(page, "#after-diagram-box") == "ready" and wait_drawn(page, "#before-diagram-box") == "ready"
    change = page.locator("table.changes tbody tr", has_text="Thời gian thực hiện")
    assert "30 phút" in change.inner_text() and "45 phút" in change.inner_text()
    assert "iso-changed" in page.locator('#after-diagram-box g.djs-element[data-element-id="receive"]').get_attribute("class")
    preview = page.frame_locator("iframe.document-preview")
    assert preview.locator("h3", has_text="Lưu đồ quy trình").count() == 1 and preview.locator("svg.flowchart").count() == 1
    page.screenshot(path=str(shots / "chair-review-diff.png"), full_page=True)
    page.click("#approve-version")
    assert "Đã phê duyệt 9.100001 phiên bản 2." in page.locator(".flash-success").inner_text()
    row = page.locator("#p-9\\.100001 tr", has_text="Phiên bản 2")
    row.locator("input[name=effective_from]").fill("2026-03-03")
    row.locator("button", has_text="Ban hành").click()
    page.wait_for_load_state()
    assert "Đã ban hành 9.100001 phiên bản 2, hiệu lực từ 03/03/2026." in page.locator(".flash-success").inner_text()
    logout(page)

    # -- a clerk receives a dossier on it; its page highlights the current step --------------
    login(page, server, "clerk")
    page.click("nav.mainnav >> text=Tiếp nhận hồ sơ")
    page.select_option("#f-procedure_code", "9.100001")
    page.click("text=Chọn thủ tục này")  # the procedure first, then the rest of the one entry
    page.fill("#f-applicant_name", "Lê Thị Hoa")
    page.fill("#f-applicant_id_number", "008190001234")
    page.fill("#f-applicant_address", "Thôn Khuôn Khoai, xã Tri Phú")
    page.check("input[name=channel][value='1']")
    page.click("button[name=action][value=receive]")
    page.wait_for_url(re.compile(r".*/dossiers/TRIPHU-\d{6}-\d{4}/receipt$"))
    code = page.locator("dd.code").inner_text().strip()
    page.goto(f"{server}/dossiers/{code}")
    assert wait_drawn(page, "#dossier-diagram-box") == "ready"
    # one entry completed the desk's step at receipt; this model has no other step, so the
    # dossier's page marks that step finished (early or on time), none is current
    from engine.views import dossiers as dossier_views
    assert dossier_views.dossier_view(web.rt, web.world.actor("clerk"), code).open_tasks == []
    done = page.locator('#dossier-diagram-box g.djs-element[data-element-id="receive"]')
    assert any(mark in (done.get_attribute("class") or "") for mark in ("iso-early", "iso-on_time", "iso-ontime",
                                                                        "iso-on-time"))
    assert page.locator("#dossier-diagram-box g.djs-element.iso-current").count() == 0
    page.screenshot(path=str(shots / "dossier-current-step.png"), full_page=True)
    assert console.script_errors(expected_statuses=(422,)) == []
