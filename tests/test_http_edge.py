"""The HTTP edge as a client sees it over the wire (a Werkzeug server on 127.0.0.1):
session cookie, body limit, security headers, who may write, and text that arrives
decomposed (NFD) or without diacritics. The gunicorn-specific edge is in
tests/test_serve_edge.py, hostile bodies on every endpoint in tests/test_hostile_input.py."""
from __future__ import annotations

import http.client
import json
import unicodedata
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import func, select

from api.edge import SECURITY_HEADERS
from engine.adapters.db.models import Dossier
from engine.domain.text import fold, nfc
from engine.services import dossiers
from engine.services.dossiers import Applicant
from engine.views import dossiers as views
from tests.api_support import PASSWORD, api  # noqa: F401  (fixture)
from tests.live_server import werkzeug_server
from tests.web_support import web  # noqa: F401  (fixture)

RECEIVE = {"unit_code": "TRIPHU", "procedure_code": "9.000001", "applicant": {"name": "Lò Văn Pa"}}


class Wire:
    """A tiny HTTP/1.1 client over loopback that keeps cookies, like a browser."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []

    def request(self, method: str, path: str, body: bytes | dict | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.set_cookie_headers.append(header)
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        connection.close()
        response.data = data
        response.json = json.loads(data) if response.headers.get("Content-Type", "").endswith("json") else None
        return response


def login(wire: Wire, username: str = "clerk") -> str:
    csrf = wire.request("GET", "/api/auth/csrf").json["csrf_token"]
    response = wire.request("POST", "/api/auth/login", {"username": username, "password": PASSWORD},
                            {"X-CSRFToken": csrf})
    assert response.status == 200, response.data
    return response.json["csrf_token"]


def assert_wire_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status == status, (response.status, response.data[:400])
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json
    assert body["status"] == status and body["message_vi"] and body["message_en"]
    if code:
        assert body["code"] == code, body
    return body


# --- configuration that must apply --------------------------------------------------


def test_session_cookie_is_isoflow_session_lax_httponly_for_nine_hours(api):
    with werkzeug_server(api.app) as base:
        wire = Wire(base)
        login(wire)
        [header] = [h for h in wire.set_cookie_headers if h.startswith("isoflow_session=")][-1:]
        cookie = SimpleCookie(header)["isoflow_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        assert not cookie["secure"]  # off unless configured (tests/test_serve_edge.py turns it on)
        assert not any(h.startswith("session=") for h in wire.set_cookie_headers)
        lifetime = parsedate_to_datetime(cookie["expires"]) - parsedate_to_datetime(
            wire.request("GET", "/healthz").headers["Date"])
        assert 8.9 * 3600 <= lifetime.total_seconds() <= 9 * 3600
        assert wire.request("GET", "/api/auth/me").status == 200  # the cookie is the session


def test_a_body_over_the_limit_answers_413_problem_before_it_is_read(api):
    api.app.config["MAX_CONTENT_LENGTH"] = 1024  # the default (8 MiB) is checked in test_serve_edge on gunicorn
    with werkzeug_server(api.app) as base:
        wire = Wire(base)
        body = json.dumps({"code": "TRIPHU-260303-0001", "pin": "1" * 2000}).encode()
        assert_wire_problem(wire.request("POST", "/api/public/lookup", body, {"Content-Type": "application/json"}), 413)
        assert api.app.extensions["isoflow"].public_lookup_limiter is not None


def test_defaults_an_application_chose_are_kept():
    from api import create_app
    from engine.adapters.db.session import Database
    from engine.runtime import Runtime

    app = create_app({"TESTING": True, "SESSION_COOKIE_NAME": "mine", "MAX_CONTENT_LENGTH": 10},
                     runtime=Runtime(Database("sqlite://")))
    assert app.config["SESSION_COOKIE_NAME"] == "mine" and app.config["MAX_CONTENT_LENGTH"] == 10
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_security_headers_on_every_kind_of_response(web):
    busy = web.receive("Hà Thị Hoa")
    with werkzeug_server(web.app) as base:
        wire = Wire(base)
        answers = [wire.request("GET", path) for path in
                   ("/login", "/lookup", "/healthz", "/api/openapi.json", "/api/docs", "/api/nothing",
                    "/no-such-page", "/assets/isoflow.css")]
        wire.request("GET", "/login")
        csrf = _csrf_of(wire.request("GET", "/login").data.decode())
        wire.request("POST", "/login", f"username=clerk&password={PASSWORD}&csrf_token={csrf}".encode(),
                     {"Content-Type": "application/x-www-form-urlencoded"})
        answers += [wire.request("GET", path) for path in ("/inbox", f"/dossiers/{busy.code}", "/search?applicant=h")]
        answers.append(wire.request("POST", "/api/dossiers", RECEIVE))  # an error answer
    for response in answers:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (response.status, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'self'" in csp


def _csrf_of(page: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# --- who may write ------------------------------------------------------------------


def test_an_anonymous_write_answers_401_with_www_authenticate(api):
    with werkzeug_server(api.app) as base:
        wire = Wire(base)
        for path in ("/api/dossiers", "/api/tasks/1/complete", "/api/auth/logout"):
            response = wire.request("POST", path, {"data": {}})
            assert_wire_problem(response, 401, "unauthenticated")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        # login itself is for anonymous callers: it still needs the CSRF token
        assert_wire_problem(wire.request("POST", "/api/auth/login", {"username": "clerk", "password": PASSWORD}),
                            400, "csrf_failed")


def test_csrf_is_skipped_only_for_a_valid_bearer_token(api):
    with werkzeug_server(api.app) as base:
        wire = Wire(base)
        csrf = login(wire)
        assert_wire_problem(wire.request("POST", "/api/dossiers", RECEIVE), 400, "csrf_failed")
        # any Authorization header used to switch the CSRF check off for the session cookie
        for header in ("Basic Y2xlcms6eA==", "Bearer not-a-token", "Bearer"):
            response = wire.request("POST", "/api/dossiers", RECEIVE, {"Authorization": header})
            assert_wire_problem(response, 401)
        assert wire.request("POST", "/api/dossiers", RECEIVE, {"X-CSRFToken": csrf}).status == 201
        token = wire.request("POST", "/api/auth/tokens", {"username": "clerk", "password": PASSWORD,
                                                            "name": "edge"}).json["token"]
        bearer = Wire(base)  # no cookie, no CSRF token: the bearer token alone
        assert bearer.request("POST", "/api/dossiers", RECEIVE, {"Authorization": f"Bearer {token}"}).status == 201
    with api.rt.db.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Dossier)) == 2


# --- Vietnamese text ----------------------------------------------------------------


def test_fold_is_accent_case_and_form_insensitive():
    name = "Ánh Dương"
    assert fold(name) == fold(unicodedata.normalize("NFD", name)) == fold("ánh dương") == fold("ANH DUONG") == "anh duong"
    assert fold("Đặng  Thị Ðào") == "dang thi dao"
    assert nfc(unicodedata.normalize("NFD", name)) == name


def test_nfd_text_is_stored_nfc_and_search_ignores_accents_and_case(api):
    clerk = api.token_client("clerk")
    nfd = unicodedata.normalize("NFD", "Ánh Dương")
    assert nfd != "Ánh Dương"
    body = {**RECEIVE, "applicant": {"name": nfd, "address": unicodedata.normalize("NFD", "Thôn Nà Hán")},
            "data": {unicodedata.normalize("NFD", "ghi_chú"): unicodedata.normalize("NFD", "Đã đủ")}}
    receipt = clerk.post("/api/dossiers", json=body)
    assert receipt.status_code == 201, receipt.json
    dossiers.receive(api.rt, api.world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                     applicant=Applicant("Ánh Dương Hoa"))  # written precomposed, outside the API
    dossiers.receive(api.rt, api.world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                     applicant=Applicant("Anh Dũng"))
    stored = clerk.get(f"/api/dossiers/{receipt.json['code']}").json
    assert stored["applicant_name"] == "Ánh Dương" and stored["applicant_address"] == "Thôn Nà Hán"
    assert stored["data"] == {"ghi_chú": "Đã đủ"}
    for query in ("ánh dương", "ÁNH DƯƠNG", "anh duong", nfd, "Ánh Dương"):
        found = clerk.get(f"/api/dossiers?applicant={quote(query)}").json
        assert sorted(i["applicant_name"] for i in found["items"]) == ["Ánh Dương", "Ánh Dương Hoa"], query
        assert found["page"]["total"] == 2
    assert [i["applicant_name"] for i in clerk.get("/api/dossiers?applicant=dung").json["items"]] == ["Anh Dũng"]
    # LIKE's wildcards are text, as before
    assert clerk.get("/api/dossiers?applicant=%25").json["items"] == []
    assert clerk.get("/api/dossiers?applicant=_").json["items"] == []
    with api.rt.db.session_factory() as session:
        assert set(session.scalars(select(Dossier.applicant_name_folded))) == {"anh duong", "anh duong hoa", "anh dung"}


def test_web_forms_and_search_normalise_to_nfc(web):
    browser = web.browser("clerk")
    nfd = unicodedata.normalize("NFD", "Lường Thị Ánh")
    response = browser.post("/desk/receive", {"unit": "TRIPHU", "procedure_code": "9.000001", "channel": "1",
                                              "applicant_name": nfd})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    [row], total = views.search_dossiers(web.rt, web.world.actor("clerk"), views.DossierFilter(applicant="luong thi"))
    assert row.applicant_name == "Lường Thị Ánh"
    page = browser.get(f"/search?applicant={quote(unicodedata.normalize('NFD', 'ánh'))}")
    assert page.status_code == 200 and "Lường Thị Ánh" in page.get_data(as_text=True)


def test_web_search_refuses_nul_and_pages_beyond_reach(web):
    browser = web.browser("clerk")
    for path in ("/search?applicant=a%00b", "/search?code=%00", "/search?page=100000000000000000000",
                 "/inbox?page=100000000000000000000", "/desk/returns?page=100000000000000000000"):
        response = browser.get(path)
        assert response.status_code == 422, (path, response.status_code)
        assert "text/html" in response.content_type
    assert browser.get("/tasks/100000000000000000000").status_code == 404
    assert browser.get("/search?page=40000").status_code == 200  # deep but reachable: an empty page


@pytest.mark.parametrize("path", ["/api/dossiers?offset=100000000000000000000", "/api/dossiers?limit=99999999999999999999",
                                  "/api/tasks/inbox?offset=1000001", "/api/dossiers?status_code=10000000000000000000000",
                                  "/api/tasks/100000000000000000000/claim"])
def test_api_paging_and_ids_out_of_range_are_4xx(api, path):
    clerk = api.token_client("clerk")
    response = clerk.post(path) if path.endswith("/claim") else clerk.get(path)
    assert 400 <= response.status_code < 500 and response.mimetype == "application/problem+json", path


def test_migration_back_fills_the_folded_name_and_indexes_it(db, clock, database_url):
    from alembic import command
    from sqlalchemy import inspect, text

    from engine.adapters.db.migrate import alembic_config, upgrade
    from engine.runtime import Runtime
    from tests.support import SYSTEM, build_world

    rt = Runtime(db, clock)
    build_world(rt)
    for name in ("Đặng Thị Ánh", unicodedata.normalize("NFD", "Ánh Dương"), "Lò Văn Pa"):
        dossiers.receive(rt, SYSTEM, unit_code="TRIPHU", procedure_code="9.000001", applicant=Applicant(name))
    db.dispose()
    command.downgrade(alembic_config(database_url), "0004_event_head_trigger")
    with db.engine.connect() as connection:
        assert "applicant_name_folded" not in {c["name"] for c in inspect(connection).get_columns("dossiers")}
    db.dispose()
    upgrade(database_url)
    with db.engine.connect() as connection:
        folded = connection.execute(text("SELECT applicant_name_folded FROM dossiers ORDER BY id")).scalars().all()
        indexes = {ix["name"] for ix in inspect(connection).get_indexes("dossiers")}
    assert folded == ["dang thi anh", "anh duong", "lo van pa"]
    # PostgreSQL: migration 0013 replaced the trigram index by the word keys (name_search)
    expected = "ix_dossiers_applicant_keys" if db.engine.dialect.name == "postgresql" else \
        "ix_dossiers_applicant_name_folded"
    assert expected in indexes
    [row], _ = views.search_dossiers(rt, SYSTEM_CHAIR(rt), views.DossierFilter(applicant="ánh dương"))
    assert unicodedata.normalize("NFC", row.applicant_name) == "Ánh Dương"


def SYSTEM_CHAIR(rt):
    from sqlalchemy import select as sql_select

    from engine.adapters.db.models import User
    from engine.audit import Actor

    with rt.db.session_factory() as session:
        return Actor(session.scalar(sql_select(User.id).where(User.username == "chair")), "chair")


def test_every_web_form_refuses_nul_and_ids_beyond_any_column(web):
    import re as regex

    from engine.adapters.db.models import Base

    receipt = web.receive("Hà Văn Hùng")

    def counts():
        with web.rt.db.engine.connect() as connection:
            return {t.name: connection.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}

    browser = web.browser("chair")
    before = counts()
    posts = [rule for rule in web.app.url_map.iter_rules() if "POST" in rule.methods and rule.endpoint.startswith("web.")]
    assert len(posts) >= 10
    for rule in posts:
        path = regex.sub(r"<any\(([^,)]+)[^>]*>", lambda m: m.group(1).strip("'\" "), rule.rule)
        path = regex.sub(r"<int[^>]*>", "1", path)
        path = regex.sub(r"<[^>]+>", receipt.code, path)
        response = browser.post(path, {"reason": "a\x00b", "applicant_name": "\x00", "user_id": "1", "lang": "vi",
                                       "username": "chair", "password": PASSWORD})
        assert response.status_code == 422, (rule.rule, path, response.status_code)
    assert counts() == before
    # numbers beyond any column in a form or a filter: a message or an ignored filter, never a 500
    [task] = views.inbox(web.rt, web.world.actor("clerk"))[:1]
    response = browser.post(f"/tasks/{task.id}/reassign", {"user_id": "99999999999999999999", "reason": "x"})
    assert response.status_code == 302
    assert browser.get("/search?status=99999999999999999999").status_code == 200
    assert counts() == before
