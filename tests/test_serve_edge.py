"""`isoflow serve` (gunicorn) at the edge, as a real process on 127.0.0.1: what gunicorn
refuses itself is problem+json, the body limit applies before the body is read, the
session cookie can be marked Secure (option and WSGI entry), and a kill -9 of the
master leaves no scheduler or worker behind, so a restart on the same port succeeds."""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from engine.adapters.db.migrate import upgrade
from engine.runtime import Runtime
from tests.api_support import PASSWORD, set_passwords
from tests.live_server import free_port, raw_request, read_output, start_serve, stop, wait_until_serving
from tests.support import build_world


@pytest.fixture
def served_db(db, clock, database_url) -> str:
    rt = Runtime(db, clock)
    build_world(rt)
    set_passwords(rt, PASSWORD)
    db.dispose()
    return database_url


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the tests that need no data (what is refused never reaches the database)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('edge') / 'edge.db'}"
    upgrade(url)
    port = free_port()
    process = start_serve(url, port, "--workers", "1", "--no-scheduler")
    try:
        wait_until_serving(port, process)
        yield port
    finally:
        stop(process)


def _assert_problem(status: int, headers: dict, body: bytes, expected: int, code: str | None = None) -> dict:
    assert status == expected, (status, body[:300])
    assert headers["content-type"] == "application/problem+json", headers
    problem = json.loads(body)
    assert problem["status"] == expected and problem["message_vi"] and problem["message_en"]
    if code:
        assert problem["code"] == code
    return problem


def test_what_gunicorn_refuses_is_problem_json(server):
    port = server
    # a URL the app measures (longer than 4096) and one gunicorn refuses before the app (> 8190)
    for length in (5000, 9000):
        status, headers, body = raw_request(port, b"GET /api/dossiers?code=" + b"a" * length
                                            + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        _assert_problem(status, headers, body, 414)
    status, headers, body = raw_request(port, b"GET /api/auth/me HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000
                                        + b"\r\nConnection: close\r\n\r\n")
    _assert_problem(status, headers, body, 431, "header_too_large")
    status, headers, body = raw_request(port, b"GET /api/auth/me\x01 HTTP/1.1 nonsense\r\n\r\n")
    _assert_problem(status, headers, body, 400, "bad_request")
    status, headers, body = raw_request(port, b"GARBAGE\r\n\r\n")
    _assert_problem(status, headers, body, 400, "bad_request")


def test_a_400_mib_anonymous_body_answers_413_without_being_sent(server):
    port = server
    head = (b"POST /api/public/lookup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (400 * 1024 * 1024))
    status, headers, body = raw_request(port, head + b'{"code": "TRIPHU-260303-0001", "pin": "')
    problem = _assert_problem(status, headers, body, 413)
    assert "8388608" in problem["message_en"]


def _login_cookie(port: int) -> SimpleCookie:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("GET", "/api/auth/csrf")
    response = connection.getresponse()
    csrf = json.loads(response.read())["csrf_token"]
    cookie = SimpleCookie(response.headers["Set-Cookie"])
    connection.request("POST", "/api/auth/login", body=json.dumps({"username": "clerk", "password": PASSWORD}),
                       headers={"Content-Type": "application/json", "X-CSRFToken": csrf,
                                "Cookie": f"isoflow_session={cookie['isoflow_session'].value}"})
    response = connection.getresponse()
    assert response.status == 200, response.read()
    response.read()
    connection.close()
    return SimpleCookie(response.headers["Set-Cookie"])


@pytest.mark.parametrize("how", ["serve option", "wsgi entry with ISOFLOW_SECURE_COOKIES"])
def test_the_session_cookie_can_be_marked_secure(served_db, how):
    port = free_port()
    if how == "serve option":
        process = start_serve(served_db, port, "--workers", "1", "--no-scheduler", "--secure-cookies")
    else:
        process = start_serve(served_db, port, env={"ISOFLOW_SECURE_COOKIES": "1"}, command=[
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
            "--worker-class", "api.gunicorn_worker.IsoflowWorker", "api.wsgi:app"])
    try:
        wait_until_serving(port, process)
        cookie = _login_cookie(port)["isoflow_session"]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    finally:
        stop(process)


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_the_master_leaves_nothing_behind_and_a_restart_succeeds(served_db):
    port = free_port()
    env = {"ISOFLOW_SCHEDULER_INTERVAL": "1"}
    first = start_serve(served_db, port, "--workers", "2", env=env)
    try:
        wait_until_serving(port, first)
        deadline = time.monotonic() + 30
        while "scheduler started" not in read_output(first):
            assert time.monotonic() < deadline, read_output(first)
            time.sleep(0.2)
        children = _children(first.pid)
        assert len(children) == 3, read_output(first)  # two workers and the scheduler
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        # at once: the old workers must have let go of the port
        second = start_serve(served_db, port, "--workers", "2", env=env)
        try:
            wait_until_serving(port, second)
            output = read_output(second)
            assert "Connection in use" not in output, output
            deadline = time.monotonic() + 20  # the orphans notice their parent is gone
            while any(_alive(pid) for pid in children):
                assert time.monotonic() < deadline, [pid for pid in children if _alive(pid)]
                time.sleep(0.2)
            # two workers and the scheduler, which the master starts once ready: under load it may
            # come up after the first worker answered; if not in time, say whether the server is
            # still up and what it printed
            deadline = time.monotonic() + 30
            while len(_children(second.pid)) != 3:
                assert time.monotonic() < deadline, (second.poll(), _children(second.pid), read_output(second))
                time.sleep(0.2)
        finally:
            stop(second)
    finally:
        if first.poll() is None:
            stop(first)
        for pid in _children(first.pid):
            os.kill(pid, signal.SIGKILL)
