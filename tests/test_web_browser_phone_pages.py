"""The chair's newer pages on a 390 px phone and in English, in a real browser (Debian's
chromium through Playwright, as tests/test_web_browser_desk.py): the statistics page and
the ISO quality records (the quality overview, a nonconformity, an audit programme, an
audit, a management review) scroll only downwards (document.scrollingElement.scrollWidth
<= clientWidth), their controls are at least 44 px tall, and after switching to English
no heading is left in Vietnamese (what a user typed and the names of communes,
procedures, steps and people are data, not headings). Screenshots go to
var/test-artifacts/browser/ (git-ignored) or $ISOFLOW_SCREENSHOT_DIR."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine.adapters.db.models import OrgUnit, Procedure, Task, User
from engine.services import quality, quality_audit, quality_review
from tests.support import SYSTEM
from tests.test_web_browser_desk import browser, shots  # noqa: F401  (fixtures)
from tests.browser_support import logged_in
from tests.live_server import werkzeug_server
from tests.web_support import web  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
# letters only Vietnamese uses among the Latin ones (with their capitals, through re.I)
VIETNAMESE = re.compile(r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.I)
# what a user typed here (kept in Vietnamese in both languages: it is data)
TYPED = ("Hồ sơ hộ tịch giải quyết quá hạn", "Đúng hạn ≥ 98%", "Thủ tục hộ tịch tại bộ phận một cửa",
         "Hoàng Văn Dũng", "Nguyễn Văn An", "Thiếu bước kiểm tra giấy tờ",
         "QĐ-TTg", "TT-VPCP")  # document numbers are written as issued
# the page's main controls: what a finger taps (tick boxes and radios are tapped through their label)
CONTROLS = """() => [...document.querySelectorAll(
    'main .btn, main button, main select, main summary, main input:not([type=hidden]):not([type=checkbox]):not([type=radio])')]
  .filter(e => e.offsetParent !== null && getComputedStyle(e).visibility !== 'hidden')
  .map(e => [e.outerHTML.slice(0, 120), e.getBoundingClientRect().height])"""
HEADINGS = "() => [...document.querySelectorAll('main h1, main h2, main h3, main caption, main legend, main th')]" \
           ".map(e => e.innerText.trim()).filter(t => t)"


@pytest.fixture
def records(web):
    """A month of work in Tri Phú and one of each ISO record, so every page has content."""
    rt, actor = web.rt, web.world.actor
    late = web.receive("Hoàng Văn Dũng")
    web.step("clerk", late)
    web.receive("Nguyễn Văn An")
    rt.clock.advance(timedelta(days=6))  # the second dossier's desk step and the first's appraisal are overdue
    web.step("officer", late, {"outcome": "approve"})
    ids = {
        "objective": quality.set_objective(rt, SYSTEM, unit_code="TRIPHU", year=2026, title="Đúng hạn ≥ 98%",
                                           measure="on_time_percent", target=98),
        "nonconformity": quality.open_nonconformity(rt, actor("chair"), unit_code="TRIPHU",
                                                    description="Hồ sơ hộ tịch giải quyết quá hạn",
                                                    dossier_code=late.code),
        "programme": quality_audit.create_programme(rt, actor("consultant"), unit_code="TRIPHU", year=2026,
                                                    scope="Thủ tục hộ tịch tại bộ phận một cửa"),
    }
    ids["audit"] = quality_audit.plan_audit(
        rt, actor("consultant"), programme_id=ids["programme"], procedure_code="9.000001",
        auditor_id=actor("consultant").user_id, planned_on=date(2026, 3, 9), period_start=date(2026, 3, 1),
        period_end=date(2026, 3, 31))
    quality_audit.generate(rt, actor("consultant"), ids["audit"], seed=1)
    quality_audit.add_finding(rt, actor("consultant"), ids["audit"], kind="nonconformity",
                              text="Thiếu bước kiểm tra giấy tờ")
    ids["review"] = quality_review.create_review(rt, SYSTEM, unit_code="TRIPHU", period="2026-Q1",
                                                 held_on=date(2026, 4, 2), chaired_by="Nguyễn Văn An")
    quality.add_action(rt, SYSTEM, description="Nhắc cán bộ kiểm tra thời hạn", owner_id=actor("officer").user_id,
                       due_on=date(2026, 4, 30), nonconformity_id=ids["nonconformity"])
    return ids


@pytest.fixture
def server(web):
    with werkzeug_server(web.app) as url:
        yield url


def data_names(web) -> list[str]:
    """Names the pages show as data: communes, procedures, people, steps of the models."""
    with web.rt.db.session_factory() as s:
        names = [*s.scalars(select(OrgUnit.name)), *s.scalars(select(Procedure.name)),
                 *s.scalars(select(User.full_name)), *s.scalars(select(Task.name).distinct())]
    return sorted({n for n in names if n}, key=len, reverse=True) + list(TYPED)


def check_phone_layout(page, name: str) -> None:
    overflow = page.evaluate("""() => { const s = document.scrollingElement;
        return [s.scrollWidth, s.clientWidth,
                [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > s.clientWidth + 1
                   && !e.closest('.table-scroll')).slice(0, 5).map(e => e.outerHTML.slice(0, 100))]; }""")
    assert overflow[0] <= overflow[1], (name, overflow)
    small = [(html, height) for html, height in page.evaluate(CONTROLS) if height < 44]
    assert not small, (name, small)


def untranslated(page, names: list[str]) -> list[str]:
    left = []
    for heading in page.evaluate(HEADINGS):
        text = heading
        for name in names:
            text = text.replace(name, "")
        if VIETNAMESE.search(text):
            left.append(heading)
    return left


def test_statistics_and_quality_pages_fit_a_phone_in_both_languages(web, records, server, browser):
    pages = {
        "statistics": "/statistics?period=2026-03&by=field",
        "statistics-items": "/statistics/items?period=2026-03&by=field&key=total&cell=received_new",
        "quality": "/quality?unit=TRIPHU",
        "nonconformity": f"/quality/nonconformities/{records['nonconformity']}",
        "programme": f"/quality/programmes/{records['programme']}",
        "audit": f"/quality/audits/{records['audit']}",
        "review": f"/quality/reviews/{records['review']}",
    }
    names = data_names(web)
    context, page = logged_in(browser, server, "chair", **PHONE)
    for name, path in pages.items():
        if name in ("programme", "audit"):  # the consultant's pages
            continue
        page.goto(server + path)
        assert page.locator("main h1").count() == 1, name
        check_phone_layout(page, name)
        assert untranslated(page, names), name  # the check sees the Vietnamese headings it must not find later
        page.screenshot(path=str(shots() / f"phone-{name}.png"), full_page=True)
    page.click("form.langswitch button[value=en]")
    page.wait_for_load_state()
    for name, path in pages.items():
        if name in ("programme", "audit"):
            continue
        page.goto(server + path)
        assert page.evaluate("document.documentElement.lang") == "en"
        check_phone_layout(page, f"{name} (en)")
        left = untranslated(page, names)
        assert not left, (name, left)
        page.screenshot(path=str(shots() / f"phone-{name}-en.png"), full_page=True)
    context.close()

    context, page = logged_in(browser, server, "consultant", **PHONE)
    for name in ("programme", "audit", "quality"):
        page.goto(server + pages[name])
        check_phone_layout(page, name)
    page.click("form.langswitch button[value=en]")
    page.wait_for_load_state()
    for name in ("programme", "audit", "quality"):
        page.goto(server + pages[name])
        check_phone_layout(page, f"{name} (en)")
        left = untranslated(page, names)
        assert not left, (name, left)
        page.screenshot(path=str(shots() / f"phone-{name}-en-consultant.png"), full_page=True)
    context.close()
