"""The HTTP API against the engine services it wraps.

    .venv/bin/python bench/api_bench.py [--tasks 200] [--dossiers 100000] [--database-url URL]

1. Completing a task: `engine.services.dossiers.complete_task` called in-process,
   against `POST /api/tasks/{id}/complete` on a real server (`isoflow serve`, gunicorn,
   one worker, on 127.0.0.1) driven from this process over a keep-alive connection
   with a bearer token. Same database, same model, same kind of task. In between, the
   same request through the Flask app in this process (test client, no socket)
   separates the app's own cost (auth, parsing, dumping) from the server's.
2. The inbox with --dossiers dossiers in the database: `views.inbox` in-process and
   `GET /api/tasks/inbox?limit=50` over HTTP, for a desk clerk and a justice officer
   of one commune. The bulk rows are inserted directly into the projection tables
   (dossiers, tasks; 100 communes, 80% of dossiers closed, one open step per open
   dossier), because receiving 100,000 dossiers through the service would take an
   hour; the inbox reads only those tables.

Prints medians and 95th percentiles in milliseconds, and the HTTP/service ratios.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from engine.audit import Actor  # noqa: E402
from engine.adapters.db.migrate import upgrade  # noqa: E402
from engine.adapters.db.models import Dossier, OrgUnit, ProcedureVersion, Task  # noqa: E402
from engine.adapters.db.session import Database  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.services import dossiers  # noqa: E402
from engine.views import dossiers as views
from engine.services.auth import issue_token  # noqa: E402
from engine.services.dossiers import Applicant  # noqa: E402
from engine.services.identity import assign_role, create_org_unit, create_user  # noqa: E402
from engine.services.procedures import publish_file  # noqa: E402
from bench.common import reset_database  # noqa: E402

MODEL = ROOT / "tests" / "fixtures" / "simple-procedure.bpmn"
SYSTEM = Actor.system("bench")
PASSWORD = "bench-password"
COMMUNES = 100


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(samples) * 1e3:7.2f} ms   p95 {p95 * 1e3:7.2f} ms   (n={len(samples)})"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(url: str | None, tmp: str) -> str:
    if url is None:
        url = f"sqlite:///{tmp}/api-bench.db"
    else:
        reset_database(url)
    upgrade(url)
    return url


def seed_people(rt: Runtime) -> dict[str, int]:
    create_org_unit(rt, SYSTEM, code="TQ", name="Tỉnh Tuyên Quang", kind="province")
    ids = {}
    for i in range(COMMUNES):
        code = "XA000" if i == 0 else f"XA{i:03d}"
        create_org_unit(rt, SYSTEM, code=code, name=f"Xã {i}", kind="commune", parent_code="TQ")
    for username, role in (("clerk", "one_stop_clerk"), ("officer", "justice_officer"), ("chair", "chair")):
        ids[username] = create_user(rt, SYSTEM, username=username, full_name=username.title(), password=PASSWORD,
                                    home_unit_code="XA000")
        assign_role(rt, SYSTEM, user_id=ids[username], unit_code="XA000", role=role, valid_from=date(2020, 1, 1))
    publish_file(rt, SYSTEM, MODEL, effective_from=date(2020, 1, 1))
    return ids


def receive_many(rt: Runtime, n: int) -> list[int]:
    """n dossiers received through the service; returns their open desk-step ids."""
    task_ids = []
    for _ in range(n):
        receipt = dossiers.receive(rt, SYSTEM, unit_code="XA000", procedure_code="9.000001",
                                   applicant=Applicant("Nguyễn Văn An"))
        with rt.db.session_factory() as s:
            task_ids.append(s.scalar(select(Task.id).where(Task.dossier_id == receipt.dossier_id,
                                                           Task.state == "open")))
    return task_ids


class Server:
    """`isoflow serve` in its own process group on loopback."""

    def __init__(self, url: str) -> None:
        self.port = free_port()
        env = {**os.environ, "ISOFLOW_DATABASE_URL": url, "ISOFLOW_SECRET_KEY": "bench"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1", "--no-scheduler"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("the server did not start")

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(30)


def timed_request(conn, method: str, path: str, token: str, body: dict | None = None) -> tuple[float, int]:
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}"}
    if payload is not None:
        headers["Content-Type"] = "application/json"
    start = time.perf_counter()
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    response.read()
    return time.perf_counter() - start, response.status


def bench_complete(rt: Runtime, server: Server, users: dict[str, int], n: int
                   ) -> tuple[list[float], list[float], list[float]]:
    from api import create_app

    clerk = Actor(users["clerk"], "clerk")
    service_tasks = receive_many(rt, n)
    wsgi_tasks = receive_many(rt, n)
    http_tasks = receive_many(rt, n)
    token = issue_token(rt, clerk, name="bench", lifetime=timedelta(days=1)).token
    service = []
    for task_id in service_tasks:
        start = time.perf_counter()
        dossiers.complete_task(rt, clerk, task_id, {})
        service.append(time.perf_counter() - start)
    client = create_app({"SECRET_KEY": "bench"}, runtime=rt).test_client()
    in_process = []
    for task_id in wsgi_tasks:
        start = time.perf_counter()
        response = client.post(f"/api/tasks/{task_id}/complete", json={"data": {}},
                               headers={"Authorization": f"Bearer {token}"})
        in_process.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    conn = server.connection()
    over_http = []
    for task_id in http_tasks:
        elapsed, status = timed_request(conn, "POST", f"/api/tasks/{task_id}/complete", token, {"data": {}})
        assert status == 200, status
        over_http.append(elapsed)
    conn.close()
    return service, in_process, over_http


def bulk_dossiers(rt: Runtime, n: int) -> None:
    """n dossiers and their steps straight into the projection tables, in batches."""
    rng = random.Random(7)
    with rt.db.session_factory() as s:
        units = list(s.scalars(select(OrgUnit.id).where(OrgUnit.kind == "commune").order_by(OrgUnit.id)))
        version = s.scalar(select(ProcedureVersion.id))
        next_id = (s.scalar(select(Dossier.id).order_by(Dossier.id.desc()).limit(1)) or 0) + 1
    base = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
    batch = 5000
    with rt.db.engine.begin() as conn:
        for start in range(0, n, batch):
            d_rows, t_rows = [], []
            for i in range(start, min(n, start + batch)):
                did = next_id + i
                unit = units[i % len(units)]
                received = base + timedelta(minutes=7 * (i // len(units)) % (60 * 24 * 80))
                due = received + timedelta(days=3)
                closed = rng.random() < 0.8
                d_rows.append(dict(
                    id=did, code=f"B{unit:03d}-{did:07d}", org_unit_id=unit, procedure_version_id=version,
                    applicant_name=f"Công dân {did}", applicant_id_number="", applicant_address="", applicant_phone="",
                    applicant_email="", channel=1 + i % 3, status_code=10 if closed else 4,
                    state="closed" if closed else "open", received_at=received, received_by_id=None, due_at=due,
                    original_due_at=due, finished_at=received + timedelta(days=2) if closed else None,
                    returned_at=received + timedelta(days=2) if closed else None,
                    classification="on_time" if closed else None, result="granted" if closed else None,
                    pin_hash="-", supplement_count=0, data={}))
                role = ("one_stop_clerk", "justice_officer", "chair")[i % 3]
                t_rows.append(dict(
                    dossier_id=did, workflow_task_id=str(uuid.UUID(int=did)), bpmn_id="appraise", name="Thẩm định",
                    role=role, org_unit_id=unit, assignee_id=None, state="completed" if closed else "open",
                    clock="running", status_code=4, form=None, duration_seconds=8 * 3600, created_at=received,
                    due_at=due, completed_at=received + timedelta(days=1) if closed else None))
            conn.execute(insert(Dossier.__table__), d_rows)
            conn.execute(insert(Task.__table__), t_rows)
    if rt.db.dialect == "postgresql":
        with rt.db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def bench_inbox(rt: Runtime, server: Server, users: dict[str, int], repeats: int) -> dict[str, tuple]:
    out = {}
    conn = server.connection()
    for name in ("clerk", "officer"):
        actor = Actor(users[name], name)
        token = issue_token(rt, actor, name="bench-inbox", lifetime=timedelta(days=1)).token
        service, over_http = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            items = views.inbox(rt, actor, limit=50)
            service.append(time.perf_counter() - start)
            elapsed, status = timed_request(conn, "GET", "/api/tasks/inbox?limit=50", token)
            assert status == 200, status
            over_http.append(elapsed)
        out[name] = (service, over_http, len(items))
    conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200, help="tasks completed each way")
    parser.add_argument("--dossiers", type=int, default=100_000, help="bulk dossiers for the inbox measurement")
    parser.add_argument("--repeats", type=int, default=100, help="inbox reads each way")
    parser.add_argument("--database-url", help="default: a temporary SQLite file (a PostgreSQL database is reset!)")
    args = parser.parse_args()
    from engine.security import use_password_cost

    use_password_cost(time_cost=1, memory_cost=1024)  # seeding only; logins are not measured
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(args.database_url, tmp)
        rt = Runtime(Database(url))
        users = seed_people(rt)
        print(f"database: {rt.db.dialect}; python {sys.version.split()[0]}; {os.cpu_count()} cores")
        server = Server(url)
        try:
            service, in_process, over_http = bench_complete(rt, server, users, args.tasks)
            print("complete a task")
            print(f"  engine service       {ms(service)}")
            print(f"  Flask app, no socket {ms(in_process)}")
            print(f"  HTTP (loopback)      {ms(over_http)}")
            print(f"  ratio HTTP/service   {statistics.median(over_http) / statistics.median(service):.2f}x (medians)")
            start = time.perf_counter()
            bulk_dossiers(rt, args.dossiers)
            print(f"bulk-inserted {args.dossiers} dossiers in {time.perf_counter() - start:.1f} s")
            for name, (svc, web, count) in bench_inbox(rt, server, users, args.repeats).items():
                print(f"inbox of the {name} ({count} items of a page of 50)")
                print(f"  engine service       {ms(svc)}")
                print(f"  HTTP (loopback)      {ms(web)}")
                print(f"  ratio HTTP/service   {statistics.median(web) / statistics.median(svc):.2f}x (medians)")
        finally:
            server.stop()
            rt.db.dispose()


if __name__ == "__main__":
    main()
