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
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402
from SpiffWorkflow import TaskState  # noqa: E402
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402

from engine.audit import Actor  # noqa: E402
from engine.domain.calendar import VN_TZ  # noqa: E402
from engine.domain.clock import FixedClock  # noqa: E402
from engine.adapters.db.migrate import upgrade  # noqa: E402
from engine.adapters.db.models import Task, WorkflowState  # noqa: E402
from engine.adapters.db.session import Database  # noqa: E402
from engine.procedure import compile_model  # noqa: E402
from engine.procedure.serializer import ISO_CONFIG, instance_to_json, new_workflow  # noqa: E402
from engine.procedure.table_import import table_to_bpmn  # noqa: E402
from engine.procedure.table_model import parse_yaml_table  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.services import dossiers  # noqa: E402
from engine.services.dossiers import Applicant  # noqa: E402
from engine.services.identity import assign_role, create_org_unit, create_user  # noqa: E402
from engine.services.procedures import approve_version, publish_version, submit_version  # noqa: E402
from bench.common import reset_database  # noqa: E402

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


# The baseline is SpiffWorkflow's own serializer with the spec split off as its
# documentation describes (to_dict, pop the specs, json), loading onto the parsed spec.
# It is written here, not taken from engine/, so that the engine's own optimisations
# never move the baseline.
# SpiffWorkflow's serializer configured for the model's spec classes (the ISO dialect's
# config is Spiff's plus converters for its task specs): with plain SPIFF_CONFIG the
# registry would pass the ISO specs through unconverted and the baseline would skip
# serializing the spec it then drops, which Spiff's documented recipe pays for.
BARE_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(ISO_CONFIG))


def bare_save(workflow) -> str:
    dct = BARE_SERIALIZER.to_dict(workflow)
    del dct["spec"], dct["subprocess_specs"]
    dct[BARE_SERIALIZER.VERSION_KEY] = BARE_SERIALIZER.VERSION
    return json.dumps(dct, separators=(",", ":"))


def bare_load(text: str, model):
    dct = json.loads(text)
    dct.pop(BARE_SERIALIZER.VERSION_KEY)
    dct["spec"], dct["subprocess_specs"] = model.spec, dict(model.subprocess_specs)
    workflow = BARE_SERIALIZER.from_dict(dct)
    workflow.script_engine = model.script_engine()
    return workflow


def bare_step(workflow) -> None:
    task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
    task.data["note"] = "xong"
    task.run()
    workflow.do_engine_steps()


class ServiceRun:
    """N received dossiers of the 10-step model; `step(i)` completes dossier i's first step."""

    def __init__(self, url: str, source: bytes, n: int) -> None:
        self.db = db = Database(url)
        rt = Runtime(db, FixedClock(datetime(2026, 3, 3, 8, 0, tzinfo=VN_TZ)))
        system = Actor.system("bench")
        create_org_unit(rt, system, code="TQ", name="Tỉnh", kind="province")
        create_org_unit(rt, system, code="XA", name="Xã", kind="commune", parent_code="TQ")
        uid = create_user(rt, system, username="officer", full_name="Officer")
        for role in ROLES:
            assign_role(rt, system, user_id=uid, unit_code="XA", role=role, valid_from=date(2020, 1, 1))
        self.rt, self.actor = rt, Actor(uid, "officer")
        info = submit_version(rt, system, source, "bench.bpmn", forms={"bench_step": FORM})
        approve_version(rt, system, info.version_id)
        publish_version(rt, system, info.version_id, date(2020, 1, 1))
        for _ in range(n):
            dossiers.receive(rt, self.actor, unit_code="XA", procedure_code="9.999010", applicant=Applicant("A"))
        with db.session_factory() as s:
            self.task_ids = list(s.scalars(select(Task.id).where(Task.state == "open").order_by(Task.id)))

    def step(self, i: int) -> None:
        dossiers.complete_task(self.rt, self.actor, self.task_ids[i], {"note": "xong"})

    def state_bytes(self) -> int:
        with self.db.session_factory() as s:
            return int(s.scalar(select(func.avg(func.length(WorkflowState.state_json)))))


class BareRun:
    """The same model's instances, one row each in a plain table (or only in memory)."""

    def __init__(self, url: str | None, source: bytes, n: int) -> None:
        self.model = compile_model(source, "bench.bpmn", forms={"bench_step": FORM})
        self.states = []
        for _ in range(n):
            workflow = new_workflow(self.model)
            workflow.do_engine_steps()
            self.states.append(bare_save(workflow))
        self.db = Database(url) if url else None
        if self.db is not None:
            with self.db.engine.begin() as conn:
                conn.execute(text("CREATE TABLE IF NOT EXISTS bare_instances (id INTEGER PRIMARY KEY, state TEXT NOT NULL)"))
                conn.execute(text("DELETE FROM bare_instances"))
                conn.execute(text("INSERT INTO bare_instances (id, state) VALUES (:id, :state)"),
                             [{"id": i, "state": s} for i, s in enumerate(self.states)])

    def step(self, i: int) -> None:
        if self.db is None:
            workflow = bare_load(self.states[i], self.model)
            bare_step(workflow)
            self.states[i] = bare_save(workflow)
            return
        with self.db.engine.begin() as conn:
            state = conn.execute(text("SELECT state FROM bare_instances WHERE id = :id"), {"id": i}).scalar_one()
            workflow = bare_load(state, self.model)
            bare_step(workflow)
            conn.execute(text("UPDATE bare_instances SET state = :s WHERE id = :id"), {"s": bare_save(workflow), "id": i})


def interleaved(runs: list, n: int) -> list[list[float]]:
    """Time step i of every run before step i+1 of any: the runs share the machine's
    noise instead of meeting it one after the other."""
    samples: list[list[float]] = [[] for _ in runs]
    for i in range(n):
        for run, out in zip(runs, samples):
            t0 = time.perf_counter()
            run.step(i)
            out.append(time.perf_counter() - t0)
    return samples


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
        reset_database(url)
        upgrade(url)
        service, bare_db, bare_mem = ServiceRun(url, source, args.dossiers), BareRun(url, source, args.dossiers), \
            BareRun(None, source, args.dossiers)
        service_s, bare_db_s, bare_mem_s = interleaved([service, bare_db, bare_mem], args.dossiers)
        state_bytes = service.state_bytes()
        for run in (service, bare_db):
            run.db.dispose()
    finished, finished_with_spec = finished_instance_size(source)
    kind = url.split(":")[0].split("+")[0]
    s, b, m = median_us(service_s), median_us(bare_db_s), median_us(bare_mem_s)
    print(f"model: 10 human steps in 5 lanes; {args.dossiers} dossiers; database: {kind}")
    print(f"complete one task, engine service        {s:9.0f} µs median   (p90 {statistics.quantiles(service_s, n=10)[-1]*1e6:.0f} µs)")
    print(f"bare SpiffWorkflow, stored in {kind:<10} {b:9.0f} µs median   ratio service/bare = {s / b:.2f}")
    print(f"bare SpiffWorkflow, in memory            {m:9.0f} µs median   ratio service/bare = {s / m:.2f}")
    print(f"stored workflow state per instance       {state_bytes:9d} bytes (after 1 of 10 steps, spec stored once per version)")
    print(f"finished 10-step instance                {finished:9d} bytes without spec, {finished_with_spec} with spec embedded")
    print(json.dumps({"service_us": round(s), "bare_db_us": round(b), "bare_mem_us": round(m),
                      "ratio_db": round(s / b, 2), "state_bytes": state_bytes, "finished_bytes": finished}))


if __name__ == "__main__":
    main()
