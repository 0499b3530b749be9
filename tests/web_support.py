"""Fixtures for the web pages: a browser-like test client that logs in through the
login form and posts every form with the CSRF token the page carries."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from engine.runtime import Runtime
from engine.services import dossiers
from engine.views import dossiers as views
from engine.services.dossiers import Applicant
from tests.api_support import PASSWORD, set_passwords
from tests.support import World, build_world

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A test client that keeps the last CSRF token it saw, like a browser keeps a page."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        client.environ_base["HTTP_ACCEPT"] = "text/html,application/xhtml+xml,*/*;q=0.8"  # as browsers send
        self.csrf: str | None = None

    def get(self, url: str, **kwargs):
        response = self.client.get(url, **kwargs)
        self._remember(response)
        return response

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            if self.csrf is None:
                self.get("/lookup")
            data.setdefault("csrf_token", self.csrf)
        response = self.client.post(url, data=data, **kwargs)
        self._remember(response)
        return response

    def _remember(self, response) -> None:
        if response.mimetype == "text/html":
            found = CSRF_FIELD.search(response.get_data(as_text=True))
            if found:
                self.csrf = found.group(1)

    def language(self, lang: str) -> None:
        assert self.post("/language", {"lang": lang}).status_code == 302


@dataclass
class WebWorld:
    world: World
    app: Flask

    @property
    def rt(self) -> Runtime:
        return self.world.rt

    def browser(self, username: str | None = None) -> Browser:
        browser = Browser(self.app.test_client())
        if username is not None:
            browser.get("/login")
            response = browser.post("/login", {"username": username, "password": PASSWORD})
            assert response.status_code == 302, response.get_data(as_text=True)[:2000]
            browser.get("/lookup")  # the session was renewed at login: pick up its CSRF token
        return browser

    def receive(self, name: str = "Nguyễn Văn An", clerk: str = "clerk", unit: str = "TRIPHU"):
        return dossiers.receive(self.rt, self.world.actor(clerk), unit_code=unit, procedure_code="9.000001",
                                applicant=Applicant(name), channel=1)

    def task_of(self, username: str, receipt):
        [task] = [t for t in views.inbox(self.rt, self.world.actor(username)) if t.dossier_id == receipt.dossier_id]
        return task

    def step(self, username: str, receipt, data: dict | None = None):
        task = self.task_of(username, receipt)
        return dossiers.complete_task(self.rt, self.world.actor(username), task.id, data or {})


@pytest.fixture
def web(db, clock) -> WebWorld:
    rt = Runtime(db, clock)
    world = build_world(rt)
    set_passwords(rt, PASSWORD)
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret"}, runtime=rt)
    return WebWorld(world, app)


def text(response) -> str:
    return response.get_data(as_text=True)
