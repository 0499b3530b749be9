"""`isoflow serve` end to end: gunicorn on loopback, the scheduler embedded once."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from engine.adapters.db.migrate import upgrade


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, deadline_s: float = 30) -> dict:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError("the server did not become ready")


@pytest.mark.parametrize("scheduler", [True, False])
def test_serve_answers_and_embeds_the_scheduler(tmp_path, scheduler):
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    port = free_port()
    env = {**os.environ, "ISOFLOW_DATABASE_URL": url, "ISOFLOW_SCHEDULER_INTERVAL": "3600"}
    env.pop("ISOFLOW_SECRET_KEY", None)
    args = [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    if not scheduler:
        args.append("--no-scheduler")
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        assert wait_ready(f"http://127.0.0.1:{port}/readyz", process)["status"] == "ready"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/auth/me", timeout=5)
        assert err.value.code == 401 and err.value.headers["Content-Type"] == "application/problem+json"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert "ISOFLOW_SECRET_KEY is not set" in stderr
    assert ("scheduler process" in stderr) is scheduler
    assert "Traceback" not in stderr


def test_serve_rejects_a_bad_port():
    result = subprocess.run([sys.executable, "-m", "cli.main", "serve", "--port", "99999"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "99999" in result.stderr and "Traceback" not in result.stderr
