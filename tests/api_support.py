"""Fixtures and helpers for API tests through the Flask test client."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sqlalchemy import select

from api import create_app
from engine.adapters.db.models import User
from engine.security import hash_password
from engine.runtime import Runtime
from tests.support import World, build_world

PASSWORD = "secret-pass"


@dataclass
class ApiWorld:
    world: World
    app: Flask

    @property
    def rt(self) -> Runtime:
        return self.world.rt

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def session_client(self, username: str) -> FlaskClient:
        """A browser-like client logged in as `username`, sending its CSRF token on every request."""
        client = self.app.test_client()
        token = client.get("/api/auth/csrf").json["csrf_token"]
        client.environ_base["HTTP_X_CSRFTOKEN"] = token
        response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.json
        client.environ_base["HTTP_X_CSRFTOKEN"] = response.json["csrf_token"]  # the session was renewed
        return client

    def token_client(self, username: str) -> FlaskClient:
        """An API client with a bearer token of `username`."""
        client = self.app.test_client()
        response = client.post("/api/auth/tokens", json={"username": username, "password": PASSWORD, "name": "test"})
        assert response.status_code == 201, response.json
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {response.json['token']}"
        return client


@pytest.fixture
def api(db, clock) -> ApiWorld:
    rt = Runtime(db, clock)
    world = build_world(rt)
    set_passwords(rt, PASSWORD)
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret"}, runtime=rt)
    return ApiWorld(world, app)


def set_passwords(rt: Runtime, password: str) -> None:
    """build_world seeds users without passwords (speed); the API logs them in."""
    with rt.db.session_factory() as s:
        digest = hash_password(password)  # one hash shared by every seeded user
        for user in s.scalars(select(User)):
            user.password_hash = digest
        s.commit()


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == status and body["message_vi"] and body["message_en"]
    if code is not None:
        assert body["code"] == code, body
    return body
