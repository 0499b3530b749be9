"""Load test: `isoflow serve` with 4 gunicorn workers under a realistic mix.

    .venv/bin/python bench/load_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/isoflow_load \\
        [--seconds 60] [--max-requests 50000] [--clients 8] [--communes 10] [--prefill 100]

The database is wiped and migrated (point it at a scratch database). A province with
`communes` communes (a clerk, a justice officer and a chair in each), the simple test
procedure, and `prefill` dossiers per commune received through the service. Then
`isoflow serve --workers 4` (gunicorn, with its scheduler) on 127.0.0.1, and `clients`
client processes, each a closed loop (one request at a time, keep-alive, bearer
token) acting as one person for at most `seconds` seconds and `max-requests` requests
in all:
  80 % reads: the inbox (35 %), a dossier and its control sheet (20 %), search by
  applicant name (10 %), by code (5 %), the commune's queue (5 %), the month's
  statistics (5 %);
  20 % writes: receipts by clerks (10 %), completing the first step of one's own
  inbox (10 %; each person completes only their own steps, so writes do not collide).
Everything runs on this machine's cores: the clients, the four workers, the
scheduler and PostgreSQL. Afterwards: `isoflow audit verify` over the whole chain and
`bench/consistency.py` over every dossier. Prints requests per second, p50/p95/p99 per
kind, and the count of each status (a 5xx fails the run).
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.adapters.db.migrate import upgrade  # noqa: E402
from engine.adapters.db.session import Database  # noqa: E402
from engine.audit import Actor  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from bench.common import reset_database  # noqa: E402
from bench.province import FAMILY, GIVEN, MIDDLE  # noqa: E402

MODEL = ROOT / "tests" / "fixtures" / "simple-procedure.bpmn"
SYSTEM = Actor.system("load-bench")
STEP_DATA = {"receive": {"note": "đủ giấy tờ"}, "appraise": {"outcome": "approve", "opinion": "hợp lệ"},
             "sign": {"outcome": "approve"}}
ROLES = (("clerk", "one_stop_clerk"), ("officer", "justice_officer"), ("chair", "chair"))
READS = [("inbox", 35), ("dossier", 20), ("search_name", 10), ("search_code", 5), ("queue", 5), ("statistics", 5)]
WRITES = [("receive", 10), ("complete", 10)]


def a_name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def seed(url: str, communes: int, prefill: int) -> list[dict]:
    """The province, its people and their tokens; returns one client profile per person."""
    from engine.domain.clock import SystemClock
    from engine.services import dossiers
    from engine.services.auth import issue_token
    from engine.services.dossiers import Applicant
    from engine.services.identity import assign_role, create_org_unit, create_user
    from engine.services.procedures import publish_file

    reset_database(url)
    upgrade(url)
    rt = Runtime(Database(url), SystemClock())
    rng = random.Random(4)
    create_org_unit(rt, SYSTEM, code="TQ", name="Tỉnh Tuyên Quang", kind="province")
    publish_file(rt, SYSTEM, MODEL, effective_from=date(2020, 1, 1))
    profiles = []
    for i in range(1, communes + 1):
        unit = f"X{i:03d}"
        create_org_unit(rt, SYSTEM, code=unit, name=f"Xã số {i}", kind="commune", parent_code="TQ")
        ids = {}
        for kind, role in ROLES:
            ids[kind] = uid = create_user(rt, SYSTEM, username=f"{unit.lower()}_{kind}", full_name=a_name(rng),
                              home_unit_code=unit)
            assign_role(rt, SYSTEM, user_id=uid, unit_code=unit, role=role, valid_from=date(2020, 1, 1))
            token = issue_token(rt, Actor(uid, kind), name="load", lifetime=timedelta(days=1)).token
            profiles.append({"unit": unit, "kind": kind, "token": token, "codes": []})
        clerk = Actor(ids["clerk"], "clerk")
        codes = [dossiers.receive(rt, clerk, unit_code=unit, procedure_code="9.000001",
                                  applicant=Applicant(a_name(rng), id_number=f"0010{rng.randrange(10**8):08d}"),
                                  channel=rng.choice((1, 2))).code for _ in range(prefill)]
        for p in profiles[-3:]:
            p["codes"] = codes
    rt.db.dispose()
    return profiles


def client(args: tuple) -> list[tuple[str, int, float]]:
    """One person's closed loop; returns (kind, status, seconds) per request."""
    port, profile, deadline, budget, seed_no = args
    rng = random.Random(seed_no)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {profile['token']}"}
    codes = list(profile["codes"])
    out: list[tuple[str, int, float]] = []
    kinds, weights = zip(*(READS + WRITES))

    def call(kind: str, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        payload = json.dumps(body).encode() if body is not None else None
        h = dict(headers, **({"Content-Type": "application/json"} if payload is not None else {}))
        start = time.perf_counter()
        try:
            conn.request(method, path, body=payload, headers=h)
            response = conn.getresponse()
            raw = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status, raw = 599, b""
            conn.close()
        out.append((kind, status, time.perf_counter() - start))
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    while time.time() < deadline and len(out) < budget:
        kind = rng.choices(kinds, weights)[0]
        if kind == "inbox":
            call(kind, "GET", "/api/tasks/inbox?limit=50")
        elif kind == "dossier":
            code = rng.choice(codes)
            call(kind, "GET", f"/api/dossiers/{code}")
            call("timeline", "GET", f"/api/dossiers/{code}/timeline")
        elif kind == "search_name":
            call(kind, "GET", f"/api/dossiers?applicant={quote(rng.choice(GIVEN).lower())}&limit=20")
        elif kind == "search_code":
            call(kind, "GET", f"/api/dossiers?code={quote(rng.choice(codes)[-8:])}&limit=20")
        elif kind == "queue":
            call(kind, "GET", f"/api/tasks/queue?unit_code={profile['unit']}&limit=50")
        elif kind == "statistics":
            if profile["kind"] == "chair":
                call(kind, "GET", f"/api/statistics?period={date.today():%Y-%m}&group_by=commune"
                                  f"&unit_code={profile['unit']}")
            else:
                call("inbox", "GET", "/api/tasks/inbox?limit=50")
        elif kind == "receive" and profile["kind"] == "clerk":
            status, body = call(kind, "POST", "/api/dossiers", {
                "unit_code": profile["unit"], "procedure_code": "9.000001", "channel": 1,
                "applicant": {"name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
                              "id_number": f"0010{rng.randrange(10**8):08d}"}})
            if status in (200, 201) and isinstance(body, dict) and body.get("code"):
                codes.append(body["code"])
        else:  # complete the first of my own steps (a receipt by someone who is not a clerk too)
            status, inbox = call("inbox", "GET", "/api/tasks/inbox?limit=50")
            items = inbox.get("items", []) if status == 200 and isinstance(inbox, dict) else []
            mine = [t for t in items if t.get("bpmn_id") in STEP_DATA]
            if mine:
                task = mine[0]
                call("complete", "POST", f"/api/tasks/{task['id']}/complete", {"data": STEP_DATA[task["bpmn_id"]]})
    conn.close()
    return out


def nearest_rank(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, int(round(p * len(ordered))) - 1))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("ISOFLOW_BENCH_DATABASE_URL", ""))
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--communes", type=int, default=10)
    parser.add_argument("--prefill", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    url = args.database_url
    if not url.startswith("postgresql") or url.rstrip("/").rsplit("/", 1)[-1].startswith("test"):
        sys.exit("--database-url: a scratch PostgreSQL database (not `test` nor a test_* database); it is wiped")
    args.seconds = min(args.seconds, 600)  # bounded, whatever is asked
    t = time.perf_counter()
    profiles = seed(url, args.communes, args.prefill)
    print(f"seeded {args.communes} communes, {len(profiles)} people, {args.communes * args.prefill} dossiers "
          f"in {time.perf_counter() - t:.0f} s")
    from bench.api_bench import free_port

    port = free_port()
    env = {**os.environ, "ISOFLOW_DATABASE_URL": url, "ISOFLOW_SECRET_KEY": "load-bench"}
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(args.workers)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        chosen = [profiles[i % len(profiles)] for i in range(args.clients)]
        budget = args.max_requests // args.clients
        load1 = os.getloadavg()[0]
        started = time.time()
        with multiprocessing.get_context("fork").Pool(args.clients) as pool:
            results = pool.map(client, [(port, p, started + args.seconds, budget, i) for i, p in enumerate(chosen)])
        elapsed = time.time() - started
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
    samples = [r for rs in results for r in rs]
    statuses = Counter(status for _, status, _ in samples)
    print(f"\n{args.clients} clients, {args.workers} workers, {os.cpu_count()} CPUs, load average "
          f"{load1:.1f} before / {os.getloadavg()[0]:.1f} after")
    print(f"{len(samples):,} requests in {elapsed:.1f} s: {len(samples) / elapsed:,.0f} requests/s; "
          f"statuses {dict(sorted(statuses.items()))}")
    by_kind: dict[str, list[float]] = {}
    for kind, _status, seconds in samples:
        by_kind.setdefault(kind, []).append(seconds)
    print(f"  {'kind':<12} {'n':>7} {'share':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    everything = sorted(s for _, _, s in samples)
    for kind, values in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        values.sort()
        print(f"  {kind:<12} {len(values):>7,} {len(values) / len(samples):>6.1%} {statistics.median(values) * 1000:>8.1f} "
              f"{nearest_rank(values, 0.95):>8.1f} {nearest_rank(values, 0.99):>8.1f}")
    print(f"  {'all':<12} {len(everything):>7,} {1:>6.0%} {statistics.median(everything) * 1000:>8.1f} "
          f"{nearest_rank(everything, 0.95):>8.1f} {nearest_rank(everything, 0.99):>8.1f}")
    writes = sum(1 for kind, status, _ in samples if kind in ("receive", "complete") and status < 300)
    print(f"  writes that succeeded: {writes:,} ({writes / elapsed:.1f}/s)")
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    verify = subprocess.run([sys.executable, "-m", "cli.main", "audit", "verify"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    print(f"\nisoflow audit verify: exit {verify.returncode}: {verify.stdout.strip().splitlines()[-1:] or verify.stderr.strip()[-300:]}")
    from bench.consistency import report

    db = Database(url)
    try:
        consistent = report(db)
    finally:
        db.dispose()
    ok = server_errors == 0 and verify.returncode == 0 and consistent
    print(f"\n{'PASS' if ok else 'FAIL'}: {server_errors} server errors, chain "
          f"{'verified' if verify.returncode == 0 else 'BROKEN'}, dossiers {'consistent' if consistent else 'INCONSISTENT'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
