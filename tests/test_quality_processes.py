"""Two scheduler processes racing on one PostgreSQL database: every late dossier opens
exactly one nonconformity, every corrective action past due is escalated once."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime

import pytest
from sqlalchemy import func, select, text

from engine.adapters.db.models import ActionReminder, Nonconformity, Notification
from engine.domain.calendar import VN_TZ
from engine.runtime import Runtime
from engine.services import dossiers, quality
from engine.services.dossiers import Applicant
from tests.support import build_world


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def world(db, clock):
    return build_world(Runtime(db, clock))


def seed_late_dossiers(db, n: int) -> None:
    """n open dossiers past their appointment since yesterday (straight SQL, like the bench)."""
    with db.engine.begin() as conn:
        unit = conn.execute(text("SELECT id FROM org_units WHERE code = 'TRIPHU'")).scalar_one()
        version = conn.execute(text("SELECT min(id) FROM procedure_versions")).scalar_one()
        conn.execute(text("""
            INSERT INTO dossiers (id, code, org_unit_id, procedure_version_id, applicant_name, applicant_id_number,
                applicant_address, applicant_phone, applicant_email, channel, status_code, state, received_at,
                due_at, original_due_at, pin_hash, supplement_count, data)
            SELECT 200000 + g, 'LATE-' || g, :unit, :version, 'Công dân ' || g, '', '', '', '', 1, 4, 'open',
                CAST(:t0 AS timestamptz) - interval '5 days', CAST(:t0 AS timestamptz) - interval '1 day',
                CAST(:t0 AS timestamptz) - interval '1 day', 'x', 0, '{}'::jsonb
            FROM generate_series(1, CAST(:n AS integer)) AS g"""),
                     {"unit": unit, "version": version, "t0": at(2026, 3, 6, 11, 0), "n": n})


@pytest.mark.postgres
def test_two_scheduler_processes_open_each_nonconformity_and_escalate_each_action_once(world, database_url):
    rt = world.rt
    real = [dossiers.receive(rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                             applicant=Applicant(f"Công dân {i}")).code for i in range(5)]  # due Fri 03-06 10:00
    seed_late_dossiers(rt.db, 600)
    nc_id = quality.open_nonconformity(rt, world.actor("chair"), unit_code="TRIPHU", description="x")
    owner = world.actor("officer").user_id
    actions = [quality.add_action(rt, world.actor("chair"), nonconformity_id=nc_id, description=f"Việc {i}",
                                  owner_id=owner, due_on=date(2026, 3, 4)) for i in range(20)]
    env = {**os.environ, "ISOFLOW_SCHEDULER_BATCH": "3"}
    command = [sys.executable, "-m", "cli.main", "scheduler", "run-once", "--now", "2026-03-06T11:00",
               "--database-url", database_url]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    opened = [line.split()[1] for out, _ in outputs for line in out.splitlines() if line.startswith("nonconformity")]
    assert sorted(opened) == sorted(real + [f"LATE-{g}" for g in range(1, 601)])  # each once, across both
    per_process = [sum(line.startswith("nonconformity") for line in out.splitlines()) for out, _ in outputs]
    assert min(per_process) > 0, per_process  # both processes raced over the same batches
    reminded = [line.split()[1] for out, _ in outputs for line in out.splitlines() if line.startswith("action")]
    assert sorted(reminded) == sorted(f"#{a}" for a in actions)  # overdue since Wednesday: one level each
    with rt.db.session_factory() as s:
        late = s.execute(select(Nonconformity.dossier_id, func.count()).where(Nonconformity.source_kind == "late_dossier")
                         .group_by(Nonconformity.dossier_id)).all()
        assert len(late) == 605 and {n for _, n in late} == {1}
        assert s.scalar(select(func.count()).select_from(ActionReminder)) == 20
        assert s.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind == "action.overdue")) == 40  # the owner and the chair, once each
