"""The scheduler as processes: the CLI, the embedded APScheduler, and two schedulers
racing on one PostgreSQL database."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from cli.main import cli
from engine.domain.calendar import VN_TZ
from engine.adapters.db.models import Delivery, Escalation, Notification
from engine.runtime import Runtime
from engine.scheduler import embedded
from engine.adapters.channels import ChannelSettings
from engine.services import dossiers
from engine.services.dossiers import Applicant
from tests.scheduler_support import SmtpSink, WebhookReceiver, give_emails
from tests.support import build_world


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def world(db, clock):
    return build_world(Runtime(db, clock))


def receive_many(world, n: int) -> list[str]:
    return [dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                             applicant=Applicant(f"Công dân {i}")).code for i in range(n)]


def count(rt, model) -> int:
    with rt.db.session_factory() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_cli_run_once_prints_what_it_sent_then_a_summary(world, database_url):
    receive_many(world, 2)
    runner = CliRunner()
    args = ["scheduler", "run-once", "--now", "2026-03-03T13:35", "--database-url", database_url]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert sum(line.startswith("remind") for line in lines) == 2
    assert lines[-1].startswith("sweep at 2026-03-03 13:35") and "2 escalation(s), 2 notice(s)" in lines[-1]
    again = runner.invoke(cli, args)
    assert again.output.strip().splitlines()[-1].endswith("0 escalation(s), 0 notice(s), 0 delivered, 0 delivery failure(s)")


def test_cli_rejects_a_bad_instant_and_bad_policy(world, database_url):
    runner = CliRunner()
    bad = runner.invoke(cli, ["scheduler", "run-once", "--now", "tomorrow", "--database-url", database_url])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output and "Traceback" not in bad.output
    policy = runner.invoke(cli, ["scheduler", "policy", "set", '{"remind_at": 7}', "--database-url", database_url])
    assert policy.exit_code == 2 and "remind_at" in policy.output
    ok = runner.invoke(cli, ["scheduler", "policy", "set", '{"remind_at": 0.8}', "--unit", "TRIPHU",
                             "--database-url", database_url])
    assert ok.exit_code == 0 and '"remind_at": 0.8' in ok.output
    shown = runner.invoke(cli, ["scheduler", "policy", "show", "--database-url", database_url])
    assert "unit TRIPHU: {\"remind_at\": 0.8}" in shown.output


def test_embedded_scheduler_sweeps_until_stopped(world):
    rt, clock = world.rt, world.rt.clock
    receive_many(world, 1)
    clock.set(at(2026, 3, 3, 13, 35))
    reports, seen = [], threading.Event()

    def collect(report):
        reports.append(report)
        if len(reports) >= 3:
            seen.set()

    stop = embedded.start(rt, interval=0.1, channel_settings=ChannelSettings(), on_report=collect)
    try:
        assert seen.wait(20), "the embedded scheduler did not sweep"
    finally:
        stop()
    after = len(reports)
    time.sleep(0.3)
    assert len(reports) == after  # stopped
    assert sum(len(r.fired) for r in reports) == 1  # every tick swept, the reminder went out once
    assert count(rt, Escalation) == 1


def test_embedding_can_be_switched_off():
    assert embedded.embedded_enabled({}) and embedded.embedded_enabled({"ISOFLOW_SCHEDULER_EMBEDDED": "yes"})
    assert not embedded.embedded_enabled({"ISOFLOW_SCHEDULER_EMBEDDED": "off"})


def test_interval_comes_from_the_environment():
    assert embedded.interval_from_env({}) == 60
    assert embedded.interval_from_env({"ISOFLOW_SCHEDULER_INTERVAL": "5"}) == 5
    from engine.errors import InvalidInput

    with pytest.raises(InvalidInput):
        embedded.interval_from_env({"ISOFLOW_SCHEDULER_INTERVAL": "often"})


def seed_overdue_tasks(db, n_dossiers: int) -> int:
    """n_dossiers x 4 open steps, all overdue since yesterday (straight SQL, like the bench)."""
    with db.engine.begin() as conn:
        unit = conn.execute(text("SELECT id FROM org_units WHERE code = 'TRIPHU'")).scalar_one()
        version = conn.execute(text("SELECT min(id) FROM procedure_versions")).scalar_one()
        params = {"unit": unit, "version": version, "t0": at(2026, 3, 3, 13, 35), "n": n_dossiers}
        conn.execute(text("""
            INSERT INTO dossiers (id, code, org_unit_id, procedure_version_id, applicant_name, applicant_id_number,
                applicant_address, applicant_phone, applicant_email, channel, status_code, state, received_at,
                due_at, original_due_at, pin_hash, supplement_count, data)
            SELECT 100000 + g, 'SEED-' || g, :unit, :version, 'Công dân ' || g, '', '', '', '', 1, 4, 'open',
                CAST(:t0 AS timestamptz) - interval '3 days', CAST(:t0 AS timestamptz) + interval '5 days',
                CAST(:t0 AS timestamptz) + interval '5 days', 'x', 0, '{}'::jsonb
            FROM generate_series(1, CAST(:n AS integer)) AS g"""), params)
        conn.execute(text("""
            INSERT INTO tasks (dossier_id, workflow_task_id, bpmn_id, name, role, org_unit_id, state, clock,
                status_code, duration_seconds, created_at, due_at, next_escalation_at)
            SELECT 100000 + g, 'seed-' || g || '-' || k, 'appraise', 'Thẩm định hồ sơ', 'justice_officer', :unit,
                'open', 'running', 4, 28800, CAST(:t0 AS timestamptz) - interval '3 days',
                CAST(:t0 AS timestamptz) - interval '1 day', CAST(:t0 AS timestamptz) - interval '1 day'
            FROM generate_series(1, CAST(:n AS integer)) AS g, generate_series(1, 4) AS k"""), params)
    return n_dossiers * 4


@pytest.mark.postgres
def test_two_scheduler_processes_deliver_each_notice_exactly_once(world, database_url):
    rt = world.rt
    give_emails(rt)
    codes = receive_many(world, 40)  # real dossiers: the clerk's reminders go out by email and webhook
    with rt.db.session_factory() as s:  # the seeded steps' overdue notices stay in-app (the chair has no address)
        s.execute(text("UPDATE users SET email = NULL WHERE username = 'chair'"))
        s.commit()
    seeded = seed_overdue_tasks(rt.db, 400)  # enough work in batches of 3 for both processes to overlap
    with SmtpSink() as smtp, WebhookReceiver() as hook:
        env = {**os.environ, "ISOFLOW_SMTP_HOST": "127.0.0.1", "ISOFLOW_SMTP_PORT": str(smtp.port),
               "ISOFLOW_WEBHOOK_URL": hook.url, "ISOFLOW_WEBHOOK_SECRET": "k", "ISOFLOW_SCHEDULER_BATCH": "3"}
        command = [sys.executable, "-m", "cli.main", "scheduler", "run-once", "--now", "2026-03-03T13:35",
                   "--database-url", database_url]
        procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outputs = [p.communicate(timeout=300) for p in procs]
        for p, (out, err) in zip(procs, outputs):
            assert p.returncode == 0, err
    fired = [line.split()[1] for out, _ in outputs for line in out.splitlines() if line.startswith("remind")]
    assert sorted(fired) == sorted(codes)  # each dossier's reminder once, across both processes
    per_process = [sum(line.startswith(("remind", "overdue")) for line in out.splitlines()) for out, _ in outputs]
    assert sum(per_process) == 40 + seeded and min(per_process) > 0, per_process  # both worked, nothing twice
    assert count(rt, Escalation) == 40 + seeded and count(rt, Notification) == 40 + seeded
    assert sorted(rcpts[0] for rcpts, _ in smtp.messages) == ["clerk@xa.example.vn"] * 40
    subjects = [m["Subject"] for _, m in smtp.messages]
    assert len(set(subjects)) == 40
    assert sorted(p["dossier_code"] for p in hook.payloads() if p["level"] == "remind") == sorted(codes)
    assert len(hook.payloads()) == 40 + seeded
    with rt.db.session_factory() as s:
        assert set(s.scalars(select(Delivery.state))) == {"sent"}
