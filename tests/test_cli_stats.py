"""`isoflow stats`: table, JSON and bad input (exit 2, message on stderr)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli.main import cli
from engine.adapters.db.models import Task
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.dossiers import Applicant
from tests.support import build_world


@pytest.fixture
def filled(db, clock, database_url):
    """Two dossiers received Tue 3/3 10:00 at TRIPHU: one finished early that afternoon, one left open."""
    rt = Runtime(db, clock)
    world = build_world(rt)
    done, _ = (dossiers.receive(rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                                applicant=Applicant("Trần Thị Bình"), channel=channel) for channel in (1, 2))

    def step(bpmn_id, who, data=None):
        with rt.db.session_factory() as s:
            task_id = s.scalar(select(Task.id).where(Task.dossier_id == done.dossier_id, Task.bpmn_id == bpmn_id))
        dossiers.complete_task(rt, world.actor(who), task_id, data or {})

    step("receive", "clerk")
    clock.advance(timedelta(hours=4))
    step("appraise", "officer", {"outcome": "approve"})
    step("sign", "chair", {"outcome": "approve"})
    return database_url


def run(*args):
    return CliRunner().invoke(cli, ["stats", *args])


def test_json_report(filled):
    result = run("--period", "2026-03", "--by", "commune", "--unit", "TRIPHU", "--json", "--database-url", filled)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["period"] == {"start": "2026-03-01", "end": "2026-03-31", "label": "Tháng 03/2026", "kind": "month"}
    [row] = report["rows"]
    assert (row["key"], row["received_new"], row["received_by_channel"]) == ("TRIPHU", 2, {"1": 1, "2": 1, "3": 0})
    assert (row["finished_early"], row["pending_overdue"], row["indicator_2_1"]) == (1, 1, 100.0)
    assert row["indicator_2_2_days"] == 0.25  # 10:00-11:30 and 13:30-14:00: 2 of 8 working hours
    assert row["satisfaction_percent"] is None


def test_table_has_vietnamese_headers_and_a_total(filled):
    result = run("--period", "2026-Q1", "--by", "field", "--database-url", filled)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Thống kê giải quyết TTHC - Quý I/2026")
    assert lines[1].split()[:4] == ["Mã", "Tên", "Tồn", "Mới"]
    assert lines[3].split()[:4] == ["civil_status", "Hộ", "tịch", "0"]
    assert lines[5].split()[:4] == ["total", "Tổng", "cộng", "0"]
    help_text = run("--help").output
    assert "Trước hạn" in help_text and "finished early" in help_text


@pytest.mark.parametrize("args, message", [
    (["--period", "2026-Q7", "--by", "field"], "2026-Q1 (quarter"),
    (["--period", "2026-03", "--by", "district"], "Invalid value for '--by'"),
    (["--period", "2026-03", "--by", "field", "--unit", "NOWHERE"], "org unit NOWHERE not found"),
    (["--by", "field"], "Missing option '--period'"),
])
def test_bad_input_exits_2(database_url, args, message):
    result = run(*args, "--database-url", database_url)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_missing_sqlite_database_is_not_created(tmp_path):
    target = tmp_path / "typo.db"
    result = run("--period", "2026", "--by", "field", "--database-url", f"sqlite:///{target}")
    assert result.exit_code == 2 and "no SQLite database" in result.stderr
    assert not target.exists()


def test_xlsx_workbook_to_a_file(filled, tmp_path):
    from openpyxl import load_workbook

    target = tmp_path / "bao-cao.xlsx"
    result = run("--period", "2026-03", "--format", "xlsx", "--output", str(target), "--database-url", filled)
    assert result.exit_code == 0, result.output
    wb = load_workbook(target)
    rows = list(wb["Theo lĩnh vực"].iter_rows(values_only=True))
    [total] = [r for r in rows if r[1] == "Tổng cộng"]
    assert total[2] == 2  # received in March


def test_xlsx_needs_an_output_file(filled):
    result = run("--period", "2026-03", "--format", "xlsx", "--database-url", filled)
    assert result.exit_code == 2 and "--output" in result.stderr


def test_table_needs_a_grouping(filled):
    result = run("--period", "2026-03", "--database-url", filled)
    assert result.exit_code == 2 and "--by" in result.stderr
