"""Completing a task over HTTP against a bare SpiffWorkflow load-run-save, side by side.

    .venv/bin/python bench/http_complete_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/isoflow_ratio \\
        [--dossiers 300]

One run, one database (wiped and migrated: a scratch database), the 10-step model of
`bench/runtime_bench.py`. Step i of each path is timed before step i+1 of any, so the
paths share the machine's noise:
- HTTP: `POST /api/tasks/{id}/complete` to `isoflow serve` (gunicorn, one worker, no
  scheduler) on 127.0.0.1 over a keep-alive connection with a bearer token;
- service: `engine.services.dossiers.complete_task` in this process;
- bare: read the serialized instance from a table of the same database, run the READY
  task with SpiffWorkflow, write it back, commit (runtime_bench's `BareRun`).
Goal (issue 18): HTTP at most 3x bare.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_bench import Server, timed_request  # noqa: E402
from bench.common import reset_database  # noqa: E402
from bench.runtime_bench import BareRun, ServiceRun, ten_step_table  # noqa: E402
from engine.adapters.db.migrate import upgrade  # noqa: E402
from engine.procedure.table_import import table_to_bpmn  # noqa: E402
from engine.procedure.table_model import parse_yaml_table  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.services.auth import issue_token  # noqa: E402


class HttpRun:
    def __init__(self, server: Server, token: str, task_ids: list[int]) -> None:
        self.conn, self.token, self.task_ids = server.connection(), token, task_ids

    def step(self, i: int) -> None:
        _, status = timed_request(self.conn, "POST", f"/api/tasks/{self.task_ids[i]}/complete", self.token,
                                  {"data": {"note": "xong"}})
        assert status == 200, status


class ServiceHalf:
    def __init__(self, run: ServiceRun, task_ids: list[int]) -> None:
        self.run, self.task_ids = run, task_ids

    def step(self, i: int) -> None:
        from engine.services import dossiers

        dossiers.complete_task(self.run.rt, self.run.actor, self.task_ids[i], {"note": "xong"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("ISOFLOW_BENCH_DATABASE_URL", ""))
    parser.add_argument("--dossiers", type=int, default=300)
    args = parser.parse_args()
    url, n = args.database_url, args.dossiers
    if not url.startswith("postgresql") or url.rstrip("/").rsplit("/", 1)[-1].startswith("test"):
        sys.exit("--database-url: a scratch PostgreSQL database (not `test` nor a test_* database); it is wiped")
    source = table_to_bpmn(parse_yaml_table(ten_step_table(), "bench"))
    reset_database(url)
    upgrade(url)
    service = ServiceRun(url, source, 2 * n)
    bare = BareRun(url, source, n)
    # the server runs on the system clock: the token must be valid by it
    token = issue_token(Runtime(service.db), service.actor, name="bench", lifetime=timedelta(days=1)).token
    server = Server(url)
    try:
        runs = [HttpRun(server, token, service.task_ids[:n]), ServiceHalf(service, service.task_ids[n:]), bare]
        samples: list[list[float]] = [[] for _ in runs]
        for i in range(n):
            for run, out in zip(runs, samples):
                t0 = time.perf_counter()
                run.step(i)
                out.append(time.perf_counter() - t0)
        runs[0].conn.close()
    finally:
        server.stop()
        service.db.dispose()
        bare.db.dispose()
    # the first 10 of each are warm-up (connections, the worker's first model load)
    http_s, service_s, bare_s = (statistics.median(s[10:]) * 1e6 for s in samples)
    p95 = [sorted(s[10:])[int(0.95 * (len(s) - 10))] * 1e6 for s in samples]
    print(f"model: 10 human steps in 5 lanes; {n} completions each way; PostgreSQL; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"complete over HTTP (1 gunicorn worker)   {http_s:8.0f} µs median  (p95 {p95[0]:.0f} µs)")
    print(f"complete, engine service in-process      {service_s:8.0f} µs median  (p95 {p95[1]:.0f} µs)")
    print(f"bare SpiffWorkflow load-run-save         {bare_s:8.0f} µs median  (p95 {p95[2]:.0f} µs)")
    print(f"ratio HTTP/bare = {http_s / bare_s:.2f} (goal <= 3), service/bare = {service_s / bare_s:.2f}, "
          f"HTTP/service = {http_s / service_s:.2f}")


if __name__ == "__main__":
    main()
