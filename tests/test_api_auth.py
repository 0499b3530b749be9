"""Sessions with CSRF, bearer tokens, login throttling, probes and problem+json errors."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.adapters.db.models import Event
from tests.api_support import PASSWORD, api, assert_problem  # noqa: F401  (fixture)


def events(rt, kind):
    with rt.db.session_factory() as s:
        return s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)).all()


def test_probes(api):
    c = api.client()
    assert c.get("/healthz").json == {"status": "ok"}
    ready = c.get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "ready"


def test_readyz_reports_pending_migrations(api):
    with api.rt.db.engine.begin() as conn:
        head = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'old'")
    try:
        body = assert_problem(api.client().get("/readyz"), 503, "migrations_pending")
        assert body["details"] == {"current": "old", "head": head}
    finally:  # on PostgreSQL the database outlives the test (tables are truncated, not this one)
        with api.rt.db.engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{head}'")


def test_session_login_needs_csrf_and_records_source_address(api):
    c = api.client()
    assert_problem(c.post("/api/auth/login", json={"username": "clerk", "password": PASSWORD}), 400, "csrf_failed")
    token = c.get("/api/auth/csrf").json["csrf_token"]
    r = c.post("/api/auth/login", json={"username": "clerk", "password": PASSWORD}, headers={"X-CSRFToken": token},
               environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r.status_code == 200
    assert r.json["username"] == "clerk" and r.json["roles"][0]["role"] == "one_stop_clerk"
    assert c.get("/api/auth/me").json["home_unit_code"] == "TRIPHU"
    [login] = events(api.rt, "auth.login")
    assert login.source_address == "10.1.2.3" and login.actor_name == "clerk"
    # logout needs the CSRF token too, then the session is gone
    assert_problem(c.post("/api/auth/logout"), 400, "csrf_failed")
    # the session was renewed at login, so the token is the one the login answered with
    assert_problem(c.post("/api/auth/logout", headers={"X-CSRFToken": token}), 400, "csrf_failed")
    assert c.post("/api/auth/logout", headers={"X-CSRFToken": r.json["csrf_token"]}).status_code == 204
    assert_problem(c.get("/api/auth/me"), 401, "unauthenticated")


def test_wrong_password_and_unknown_user_look_the_same_and_are_audited(api):
    c = api.client()
    c.environ_base["HTTP_X_CSRFTOKEN"] = c.get("/api/auth/csrf").json["csrf_token"]
    a = assert_problem(c.post("/api/auth/login", json={"username": "clerk", "password": "nope"}), 401, "bad_credentials")
    b = assert_problem(c.post("/api/auth/login", json={"username": "ghost", "password": "nope"}), 401, "bad_credentials")
    assert a["message_en"] == b["message_en"]
    failures = events(api.rt, "auth.login_failed")
    assert [f.after["reason"] for f in failures] == ["bad_password", "unknown_user"]


def test_login_is_throttled_per_username_then_released(api):
    c = api.client()
    c.environ_base["HTTP_X_CSRFTOKEN"] = c.get("/api/auth/csrf").json["csrf_token"]
    for _ in range(5):
        assert_problem(c.post("/api/auth/login", json={"username": "clerk", "password": "x"}), 401)
    r = c.post("/api/auth/login", json={"username": "clerk", "password": PASSWORD})
    body = assert_problem(r, 429, "too_many_attempts")
    assert int(r.headers["Retry-After"]) > 0 and body["hint"]
    assert len(events(api.rt, "auth.login_failed")) == 5  # throttled attempts are not logged again
    # another user from another address is not affected
    other = api.client()
    other.environ_base["HTTP_X_CSRFTOKEN"] = other.get("/api/auth/csrf").json["csrf_token"]
    assert other.post("/api/auth/login", json={"username": "chair", "password": PASSWORD},
                      environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200
    api.rt.clock.advance(timedelta(minutes=16))
    assert c.post("/api/auth/login", json={"username": "clerk", "password": PASSWORD}).status_code == 200


def test_login_is_throttled_per_address(api):
    c = api.client()
    c.environ_base["HTTP_X_CSRFTOKEN"] = c.get("/api/auth/csrf").json["csrf_token"]
    for i in range(30):
        assert_problem(c.post("/api/auth/login", json={"username": f"ghost{i}", "password": "x"}), 401)
    assert_problem(c.post("/api/auth/login", json={"username": "chair", "password": PASSWORD}), 429)


def test_login_validation_errors_are_per_field(api):
    c = api.client()
    c.environ_base["HTTP_X_CSRFTOKEN"] = c.get("/api/auth/csrf").json["csrf_token"]
    body = assert_problem(c.post("/api/auth/login", json={"username": 5, "extra": 1}), 422, "invalid_input")
    fields = {p["field"]: p for p in body["problems"]}
    assert set(fields) == {"username", "password", "extra"}
    assert fields["password"]["message_vi"] == "Thiếu dữ liệu cho trường bắt buộc."


def test_bearer_tokens_expire_and_can_be_revoked(api):
    c = api.token_client("chair")
    assert c.get("/api/auth/me").json["username"] == "chair"
    [token] = c.get("/api/auth/tokens").json["items"]
    assert token["name"] == "test" and "token" not in token
    # no CSRF for bearer clients; revoking its own token locks the client out
    assert c.delete(f"/api/auth/tokens/{token['token_id']}").json["revoked_at"] is not None
    assert_problem(c.get("/api/auth/me"), 401, "bad_token")
    short = api.client()
    r = short.post("/api/auth/tokens", json={"username": "clerk", "password": PASSWORD, "name": "n", "expires_in_days": 1})
    short.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {r.json['token']}"
    assert short.get("/api/auth/me").status_code == 200
    api.rt.clock.advance(timedelta(days=1, seconds=1))
    assert_problem(short.get("/api/auth/me"), 401, "bad_token")


def test_token_errors(api):
    c = api.client()
    assert_problem(c.get("/api/auth/me", headers={"Authorization": "Basic abc"}), 401, "bad_authorization")
    assert_problem(c.get("/api/auth/me", headers={"Authorization": "Bearer nope"}), 401, "bad_token")
    assert_problem(c.post("/api/auth/tokens", json={"username": "clerk", "password": "bad", "name": "n"}), 401)
    body = assert_problem(c.post("/api/auth/tokens", json={"username": "clerk", "password": PASSWORD, "name": "n",
                                                           "expires_in_days": 400}), 422)
    assert body["problems"][0]["field"] == "expires_in_days"
    other = api.token_client("clerk")
    mine = api.token_client("chair").get("/api/auth/tokens").json["items"][0]["token_id"]
    assert_problem(other.delete(f"/api/auth/tokens/{mine}"), 404)


def test_deactivated_user_loses_session(api):
    c = api.session_client("officer")
    with api.rt.db.session_factory() as s:
        from engine.adapters.db.models import User
        s.scalar(select(User).where(User.username == "officer")).active = False
        s.commit()
    assert_problem(c.get("/api/auth/me"), 401, "session_ended")


def test_unknown_paths_and_methods_are_problems(api):
    c = api.client()
    assert_problem(c.get("/api/nothing-here"), 404)
    r = c.put("/api/auth/me", headers={"Authorization": "Bearer x"})
    assert_problem(r, 405)


def test_openapi_and_docs_are_served(api):
    c = api.client()
    spec = c.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert "/api/auth/login" in spec["paths"]
    assert "application/problem+json" in spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert b"swagger-ui" in c.get("/api/docs").data
    assert c.get("/api/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_nul_characters_are_refused_at_the_edge(api):
    c = api.token_client("clerk")
    body = assert_problem(c.post("/api/dossiers", json={"unit_code": "TRI\x00PHU", "procedure_code": "9.000001",
                                                        "applicant": {"name": "A"}, "data": {"k\x00": ["\x00"]}}), 422)
    assert {p["field"] for p in body["problems"]} == {"unit_code", "data.k\\0", "data.k\x00.0"}
    assert_problem(c.get("/api/dossiers?code=A%00B"), 422)
    assert_problem(c.get("/api/dossiers/TRIPHU%00"), 404)
