"""What the browser tests share: the app served on a free loopback port, and a user
logged in through the login page in a new browser context."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def served(app) -> Iterator[str]:
    """The app on 127.0.0.1 (a free port, threaded); yields its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


def logged_in(browser, server: str, username: str, width: int = 1360, height: int = 900):
    """(context, page) of `username` logged in with the test password, Vietnamese locale."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{server}/login")
    page.fill("#f-username", username)
    page.fill("#f-password", "secret-pass")
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    return context, page
