"""Every page renders under the Content-Security-Policy with no violation, in Debian's
chromium (Playwright) against a real server on 127.0.0.1: each page of the web
blueprint as the user it is for, the printable forms, the Swagger UI at /api/docs.
Violations are collected from `securitypolicyviolation` events and console messages;
a probe page with an inline script proves the collection sees them."""
from __future__ import annotations

import pytest

from engine.views import dossiers as views
from tests.browser_support import chromium
from tests.test_web_browser import busy_commune
from tests.web_support import PASSWORD, web  # noqa: F401  (fixture)
from tests.live_server import werkzeug_server

pytestmark = pytest.mark.browser

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""
PROBE = ("<!DOCTYPE html><html><head><title>probe</title></head><body style='color:red'>"
         "<script>document.title = 'ran';</script><p>probe</p></body></html>")


@pytest.fixture
def browser_context():
    with chromium() as browser:
        yield browser


class Visitor:
    """One logged-in browser context; `visit` returns the CSP violations a page caused."""

    def __init__(self, browser, base: str, username: str | None) -> None:
        self.base = base
        self.context = browser.new_context(locale="vi-VN")
        self.context.add_init_script(COLLECT_VIOLATIONS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))
        if username:
            self.page.goto(f"{base}/login")
            self.page.fill("#f-username", username)
            self.page.fill("#f-password", PASSWORD)
            self.page.click("button[type=submit].primary")
            self.page.wait_for_load_state("load")
            assert "/login" not in self.page.url, username

    def visit(self, path: str) -> list[str]:
        self.console.clear()
        response = self.page.goto(f"{self.base}{path}")
        assert response is not None and response.status < 500, (path, response and response.status)
        self.page.wait_for_load_state("networkidle")
        found = list(self.page.evaluate("window.__cspViolations || []"))
        found += [text for text in self.console if "Content Security Policy" in text]
        return found

    def close(self) -> None:
        self.context.close()


def _world(web):
    """Dossiers in several states: in progress, overdue, waiting for papers."""
    busy_commune(web)
    ready = web.receive("Vàng Thị Mỷ")
    web.step("clerk", ready)
    return ready


def test_every_page_renders_without_a_csp_violation(web, browser_context):
    ready = _world(web)
    waiting = [d for d in views.search_dossiers(web.rt, web.world.actor("clerk"), views.DossierFilter(status_code=5))[0]]
    some = views.search_dossiers(web.rt, web.world.actor("clerk"), views.DossierFilter())[0][0]
    [task] = views.inbox(web.rt, web.world.actor("officer"))[:1]
    web.app.add_url_rule("/csp-probe", "csp_probe", lambda: PROBE)
    pages = {
        None: ["/login", "/lookup", "/api/docs", "/no-such-page", "/csp-probe"],
        "clerk": ["/inbox", "/desk/receive", "/desk/returns", "/desk/supplements", "/search", "/search?applicant=a",
                  f"/dossiers/{some.code}", f"/dossiers/{ready.code}", f"/dossiers/{ready.code}/return",
                  *(f"/dossiers/{d.code}/supplement" for d in waiting[:1]),
                  *(f"/dossiers/{some.code}/print/{form}" for form in ("01", "02", "03", "04", "05"))],
        "officer": ["/inbox", f"/tasks/{task.id}", f"/dossiers/{task.dossier_code}"],
        "chair": ["/dashboard", "/search", f"/dossiers/{ready.code}",
                  "/library/procedures/9.000001/heatmap?period=2026"],
        # the diagram pages run bpmn-js from /assets
        "consultant": ["/library", "/library/upload", "/library/new", "/library/versions/1",
                       "/library/versions/1/edit", "/library/versions/1/compare"],
        "admin": ["/library/versions/1/review", "/library/versions/1/retire"],
    }
    violations: dict[str, list[str]] = {}
    with werkzeug_server(web.app) as base:
        for username, paths in pages.items():
            visitor = Visitor(browser_context, base, username)
            try:
                for path in paths:
                    found = visitor.visit(path)
                    if found:
                        violations[f"{username or 'anonymous'} {path}"] = found
                    if path == "/api/docs":  # Swagger UI started from its own script file
                        visitor.page.wait_for_selector(".swagger-ui .info .title", timeout=20000)
            finally:
                visitor.close()
    probe = violations.pop("anonymous /csp-probe", [])
    assert any("script-src" in v for v in probe), probe  # the collection sees a violation when there is one
    assert violations == {}
