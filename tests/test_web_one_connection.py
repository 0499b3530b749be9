"""Each web page is served from one connection and one read transaction: the login
check, the views and the layout share the page's read-only unit of work."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event

from tests.web_support import text, web  # noqa: F401  (fixture)


@contextmanager
def counting(engine):
    """Connections checked out of the pool and transactions begun while inside."""
    seen = {"connections": 0, "transactions": 0, "statements": 0}

    def checkout(*_):
        seen["connections"] += 1

    def begin(*_):
        seen["transactions"] += 1

    def statement(*_):
        seen["statements"] += 1

    event.listen(engine.pool, "checkout", checkout)
    event.listen(engine, "begin", begin)
    event.listen(engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(engine.pool, "checkout", checkout)
        event.remove(engine, "begin", begin)
        event.remove(engine, "before_cursor_execute", statement)


def test_the_dossier_page_is_one_read_transaction(web):
    r = web.receive()
    web.rt.clock.advance(timedelta(hours=1))
    web.step("clerk", r)
    chair = web.browser("chair")
    with counting(web.rt.db.engine) as seen:
        response = chair.get(f"/dossiers/{r.code}")
    assert response.status_code == 200
    page = text(response)
    assert "Phiếu kiểm soát quá trình giải quyết hồ sơ" in page and "Từ chối giải quyết (mẫu 03)" in page
    assert seen["connections"] == 1 and seen["transactions"] == 1, seen
    assert seen["statements"] > 5, seen  # the page did read: login check, dossier, sheet, actions, layout


def test_every_reading_page_is_one_connection(web):
    r = web.receive()
    task = web.task_of("clerk", r)
    pages = {
        "clerk": ["/inbox", f"/tasks/{task.id}", "/search?code=TRIPHU", f"/dossiers/{r.code}/receipt",
                  "/desk/supplements", "/desk/receive"],
        "chair": ["/dashboard?unit=TRIPHU", f"/dossiers/{r.code}"],
        "consultant": ["/library"],
    }
    for username, urls in pages.items():
        browser = web.browser(username)
        for url in urls:
            with counting(web.rt.db.engine) as seen:
                response = browser.get(url)
            assert response.status_code == 200, (url, response.status_code)
            assert seen["connections"] == 1 and seen["transactions"] == 1, (url, seen)


def test_another_communes_dossier_is_not_found_in_one_connection(web):
    r = web.receive()
    with counting(web.rt.db.engine) as seen:
        response = web.browser("nh_chair").get(f"/dossiers/{r.code}")
    assert response.status_code == 404
