"""Real servers on 127.0.0.1 for tests that must see what a client sees over the wire:
a Werkzeug server in a thread (the test's app and clock), or `isoflow serve` (gunicorn)
as a child process."""
from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def werkzeug_server(app) -> Iterator[str]:
    """Serve `app` on a free loopback port in a thread; yields the base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


def wait_until_serving(port: int, process: subprocess.Popen | None = None, within: float = 40.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            if process is not None and process.poll() is not None:
                raise AssertionError(f"the server exited with {process.returncode}: {read_output(process)}")
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)


def start_serve(database_url: str, port: int, *args: str, env: dict[str, str] | None = None,
                command: list[str] | None = None) -> subprocess.Popen:
    """`isoflow serve` (or `command`) in its own process group, output to a file."""
    environment = {**os.environ, "ISOFLOW_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT),
                   "ISOFLOW_SECRET_KEY": "live-server-test", **(env or {})}
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"isoflow-serve-{port}-{time.monotonic_ns()}.log", "w+b")
    argv = command or [sys.executable, "-m", "cli.main", "serve", "--port", str(port), *args]
    process = subprocess.Popen(argv, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                               start_new_session=True)
    process.log = log  # type: ignore[attr-defined]
    return process


def read_output(process: subprocess.Popen) -> str:
    log = process.log  # type: ignore[attr-defined]
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group (gunicorn master, workers, scheduler) and reap the master."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    process.log.close()  # type: ignore[attr-defined]


def raw_request(port: int, data: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes and parse the first response (status, lower-cased headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read(response.length) if response.length is not None else response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
