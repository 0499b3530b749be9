"""Completing one task: the engine service versus bare SpiffWorkflow, same model.

    .venv/bin/python bench/runtime_bench.py [--dossiers 200] [--database-url URL]

Service: `engine.services.dossiers.complete_task` = load (dossier row lock, task,
workflow state), permission and state checks, form validation, run, save the state,
project the next step, append to the hash-chained log, commit.
Bare (stored): SELECT the serialized instance from a table in the same database kind,
deserialize, run the READY task, do_engine_steps, serialize, UPDATE, commit.
Bare (memory): the same without any database.
Also prints the bytes stored per instance (workflow state without spec) for a
10-step model.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402
from SpiffWorkflow import TaskState  # noqa: E402

from engine.audit import Actor  # noqa: E402
from engine.calendar import VN_TZ  # noqa: E402
from engine.clock import FixedClock  # noqa: E402
from engine.db.migrate import upgrade  # noqa: E402
from engine.db.models import Task, WorkflowState  # noqa: E402
from engine.db.session import Database  # noqa: E402
from engine.procedure import compile_model  # noqa: E402
from engine.procedure.serializer import instance_from_json, instance_to_json, new_workflow  # noqa: E402
from engine.procedure.table_import import table_to_bpmn  # noqa: E402
from engine.procedure.table_model import parse_yaml_table  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.services import dossiers  # noqa: E402
from engine.services.dossiers import Applicant  # noqa: E402
from engine.services.identity import assign_role, create_org_unit, create_user  # noqa: E402
from engine.services.procedures import approve_version, publish_version, submit_version  # noqa: E402

ROLES = ["one_stop_clerk", "justice_officer", "office_officer", "vice_chair", "chair"]
FORM = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Xử lý", "type": "object",
        "properties": {"note": {"type": "string", "title": "Ghi chú", "maxLength": 500}}, "additionalProperties": False}


def ten_step_table() -> str:
    steps = "\n".join(
        f"  - {{id: step{i}, name: 'Bước {i}', role: {ROLES[i % len(ROLES)]}, duration: PT1H, form: bench_step"
        + (", status: 9" if i == 9 else "") + "}"
        for i in range(10)
    )
    return f"""procedure:
  code: "9.999010"
  name: Thủ tục đo hiệu năng 10 bước
  field: civil_status
  time_limit: P3D
  legal_basis: Không
  fee: Không
steps:
{steps}
"""


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def bench_service(url: str, source: bytes, n: int) -> tuple[list[float], int]:
    db = Database(url)
    clock = FixedClock(datetime(2026, 3, 3, 8, 0, tzinfo=VN_TZ))
    rt = Runtime(db, clock)
    system = Actor.system("bench")
    create_org_unit(rt, system, code="TQ", name="Tỉnh", kind="province")
    create_org_unit(rt, system, code="XA", name="Xã", kind="commune", parent_code="TQ")
    uid = create_user(rt, system, username="officer", full_name="Officer")
    for role in ROLES:
        assign_role(rt, system, user_id=uid, unit_code="XA", role=role, valid_from=date(2020, 1, 1))
    actor = Actor(uid, "officer")
    info = submit_version(rt, system, source, "bench.bpmn", forms={"bench_step": FORM})
    approve_version(rt, system, info.version_id)
    publish_version(rt, system, info.version_id, date(2020, 1, 1))
    receipts = [dossiers.receive(rt, actor, unit_code="XA", procedure_code="9.999010", applicant=Applicant("A"))
                for _ in range(n)]
    with db.session_factory() as s:
        first_tasks = {t.dossier_id: t.id for t in s.scalars(select(Task).where(Task.state == "open"))}
    samples = []
    for r in receipts:
        task_id = first_tasks[r.dossier_id]
        t0 = time.perf_counter()
        dossiers.complete_task(rt, actor, task_id, {"note": "xong"})
        samples.append(time.perf_counter() - t0)
    # drive one dossier to its end to measure the state size of a finished 10-step instance
    with db.session_factory() as s:
        size_mid = s.scalar(select(func.avg(func.length(WorkflowState.state_json))))
    db.dispose()
    return samples, int(size_mid)


def bench_bare(url: str | None, source: bytes, n: int) -> tuple[list[float], int]:
    model = compile_model(source, "bench.bpmn", forms={"bench_step": FORM})
    states = []
    for _ in range(n):
        wf = new_workflow(model)
        wf.do_engine_steps()
        states.append(instance_to_json(wf))
    db = Database(url) if url else None
    if db is not None:
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS bare_instances (id INTEGER PRIMARY KEY, state TEXT NOT NULL)"))
            conn.execute(text("DELETE FROM bare_instances"))
            conn.execute(text("INSERT INTO bare_instances (id, state) VALUES (:id, :state)"),
                         [{"id": i, "state": s} for i, s in enumerate(states)])
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        if db is not None:
            with db.engine.begin() as conn:
                state = conn.execute(text("SELECT state FROM bare_instances WHERE id = :id"), {"id": i}).scalar_one()
                wf = instance_from_json(state, model)
                task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
                task.data["note"] = "xong"
                task.run()
                wf.do_engine_steps()
                conn.execute(text("UPDATE bare_instances SET state = :s WHERE id = :id"),
                             {"s": instance_to_json(wf), "id": i})
        else:
            wf = instance_from_json(states[i], model)
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data["note"] = "xong"
            task.run()
            wf.do_engine_steps()
            states[i] = instance_to_json(wf)
        samples.append(time.perf_counter() - t0)
    if db is not None:
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE bare_instances"))
        db.dispose()
    return samples, len(states[0])


def finished_instance_size(source: bytes) -> tuple[int, int]:
    """Serialized bytes of a 10-step instance after all steps ran: without and with spec."""
    model = compile_model(source, "bench.bpmn", forms={"bench_step": FORM})
    wf = new_workflow(model)
    wf.do_engine_steps()
    while True:
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            break
        ready[0].run()
        wf.do_engine_steps()
    without = len(instance_to_json(wf).encode())
    with_spec = without + len(model.serialized_spec.encode())
    return without, with_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=200)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    table = parse_yaml_table(ten_step_table(), "bench")
    source = table_to_bpmn(table)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        if url.startswith("postgresql"):
            db = Database(url)
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            db.dispose()
        upgrade(url)
        service, state_bytes = bench_service(url, source, args.dossiers)
        bare_db, _ = bench_bare(url, source, args.dossiers)
        bare_mem, _ = bench_bare(None, source, args.dossiers)
    finished, finished_with_spec = finished_instance_size(source)
    kind = url.split(":")[0]
    s, b, m = median_us(service), median_us(bare_db), median_us(bare_mem)
    print(f"model: 10 human steps in 5 lanes; {args.dossiers} dossiers; database: {kind}")
    print(f"complete one task, engine service        {s:9.0f} µs median   (p90 {statistics.quantiles(service, n=10)[-1]*1e6:.0f} µs)")
    print(f"bare SpiffWorkflow, stored in {kind:<10} {b:9.0f} µs median   ratio service/bare = {s / b:.2f}")
    print(f"bare SpiffWorkflow, in memory            {m:9.0f} µs median   ratio service/bare = {s / m:.2f}")
    print(f"stored workflow state per instance       {state_bytes:9d} bytes (after 1 of 10 steps, spec stored once per version)")
    print(f"finished 10-step instance                {finished:9d} bytes without spec, {finished_with_spec} with spec embedded")
    print(json.dumps({"service_us": round(s), "bare_db_us": round(b), "bare_mem_us": round(m),
                      "ratio_db": round(s / b, 2), "state_bytes": state_bytes, "finished_bytes": finished}))


if __name__ == "__main__":
    main()
