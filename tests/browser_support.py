"""What the browser tests share besides the live server (`tests.live_server.werkzeug_server`):
a user logged in through the login page in a new browser context."""
from __future__ import annotations


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
