import subprocess
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from cli.main import cli
from engine.domain.calendar import CalendarOverrides
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.calendars import DatabaseOverrideStore
from engine.services.dossiers import Applicant
from tests.support import build_world

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(autouse=True)
def calendar_db(database_url, monkeypatch):
    """The overrides live in the database the server uses: the CLI finds it like `isoflow serve`."""
    monkeypatch.setenv("ISOFLOW_DATABASE_URL", database_url)
    return database_url


def stored(database_url):
    from engine.adapters.db.session import Database

    db = Database(database_url)
    try:
        return DatabaseOverrideStore(Runtime(db)).load()
    finally:
        db.dispose()


def run(*args):
    result = CliRunner().invoke(cli, ["calendar", *args])
    assert "Traceback" not in result.output
    return result


def last_line(result):
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--start", "2026-03-03T10:00", "--limit", "P2D"], "2026-03-05T10:00:00+07:00"),
        (["--start", "2026-02-13T16:00", "--limit", "P1D"], "2026-02-23T16:00:00+07:00"),
        (["--start", "2026-03-03T03:00Z", "--limit", "P2D"], "2026-03-05T10:00:00+07:00"),
        (["--start", "2026-03-03T14:00", "--limit", "same-day"], "2026-03-03T17:00:00+07:00"),
        (["--start", "2026-03-03T15:30", "--limit", "same-day"], "2026-03-04T17:00:00+07:00"),
        (["--start", "2026-03-03T15:30", "--limit", "same-day", "--cutoff", "16:00"], "2026-03-03T17:00:00+07:00"),
        (["--start", "2026-04-01T10:00", "--limit", "P30D", "--calendar-days"], "2026-05-04T17:00:00+07:00"),
        (
            ["--start", "2026-03-03T10:00", "--limit", "P2D", "--pause", "2026-03-04T07:00/2026-03-05T07:00"],
            "2026-03-06T10:00:00+07:00",
        ),
        (["--start", "2026-03-03T10:00", "--limit", "P2D", "--day-off", "2026-03-04"], "2026-03-06T10:00:00+07:00"),
        (["--start", "2026-03-06T16:00", "--limit", "PT2H", "--makeup-day", "2026-03-07"], "2026-03-07T08:00:00+07:00"),
        (["--start", "2026-03-03T11:00", "--limit", "PT1H", "--sessions", "07:30-11:30,13:00-17:00"], "2026-03-03T13:30:00+07:00"),
    ],
)
def test_due(args, expected):
    result = run("due", *args)
    assert result.exit_code == 0, result.output
    assert last_line(result) == expected


@pytest.mark.parametrize(
    "args,argument",
    [
        (["--start", "2026-03-33T10:00", "--limit", "P2D"], "--start"),
        (["--start", "yesterday", "--limit", "P2D"], "--start"),
        (["--start", "2026-03-03T10:00", "--limit", "two days"], "--limit"),
        (["--start", "2026-03-03T10:00", "--limit", "-P2D"], "--limit"),
        (["--start", "2026-03-03T10:00", "--limit", "P9999D"], "--limit"),
        (["--start", "2026-03-03T10:00", "--limit", "P0.5D", "--calendar-days"], "--limit"),
        (["--start", "2026-03-03T10:00", "--limit", "P2D", "--pause", "2026-03-05T07:00/2026-03-04T07:00"], "--pause"),
        (
            ["--start", "2026-03-03T10:00", "--limit", "P2D", "--pause", "2026-03-04T07:00/2026-03-04T10:00",
             "--pause", "2026-03-04T09:00/2026-03-04T11:00"],
            "--pause",
        ),
        (["--start", "2026-03-03T10:00", "--limit", "P2D", "--pause", "2026-03-04T07:00"], "--pause"),
        (["--start", "2026-03-03T10:00", "--limit", "P2D", "--day-off", "2026-02-30"], "--day-off"),
        (["--start", "2026-03-03T10:00", "--limit", "P2D", "--makeup-day", "next saturday"], "--makeup-day"),
        (["--start", "2026-03-03T10:00", "--limit", "same-day", "--cutoff", "25:00"], "--cutoff"),
        (["--start", "2026-03-03T10:00", "--limit", "P2D", "--sessions", "11:00-07:00"], "sessions"),
    ],
)
def test_bad_input_names_the_argument_and_exits_2(args, argument):
    result = run("due", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert argument in result.stderr
    assert "hint:" in result.stderr


def test_classify():
    assert last_line(run("classify", "--due", "2026-03-05T10:00", "--finished", "2026-03-04T16:00")) == "early"
    assert last_line(run("classify", "--due", "2026-03-05T10:00", "--finished", "2026-03-05T10:00")) == "on_time"
    assert last_line(run("classify", "--due", "2026-03-05T10:00", "--finished", "2026-03-05T10:30")) == "late"
    assert last_line(run("classify", "--due", "2026-03-05T10:00", "--at", "2026-03-05T09:00")) == "within_limit"
    assert last_line(run("classify", "--due", "2026-03-05T10:00", "--at", "2026-03-06T09:00")) == "overdue"
    bad = run("classify", "--due", "2026-03-05T10:00")
    assert bad.exit_code == 2 and "--finished" in bad.stderr
    bad = run("classify", "--due", "soon", "--finished", "2026-03-05T10:00")
    assert bad.exit_code == 2 and "--due" in bad.stderr


def test_measure():
    result = run("measure", "--from", "2026-02-13T16:00", "--to", "2026-02-23T16:00")
    assert result.exit_code == 0
    assert last_line(result) == "P1D"


def test_show_lists_holidays_and_makeup_days_with_sources():
    result = run("show", "2026")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    tet = next(line for line in lines if line.startswith("2026-02-17"))
    assert "holiday" in tet and "off" in tet and "holidays " in tet
    makeup = next(line for line in lines if line.startswith("2026-08-22"))
    assert "makeup_day" in makeup and "working" in makeup
    assert not any(line.startswith("2026-03-07") for line in lines)  # plain weekends are not listed
    assert run("show", "1800").exit_code == 2


def test_overrides_are_stored_audited_and_used(calendar_db):
    add = run("day-off", "add", "2026-03-04", "--reason", "QĐ 12/UBND: storm", "--actor", "chair")
    assert add.exit_code == 0, add.output
    assert stored(calendar_db).days_off == {date(2026, 3, 4): "QĐ 12/UBND: storm"}
    listed = run("day-off", "list", "2026")
    assert listed.exit_code == 0 and "2026-03-04" in listed.stdout and "storm" in listed.stdout
    assert run("makeup-day", "list", "2026").stdout == ""
    assert last_line(run("due", "--start", "2026-03-03T10:00", "--limit", "P2D")) == "2026-03-06T10:00:00+07:00"
    show = run("show", "2026").stdout
    assert any(line.startswith("2026-03-04") and "override" in line and "storm" in line for line in show.splitlines())

    assert run("makeup-day", "add", "2026-03-07", "--reason", "QĐ 12/UBND", "--actor", "chair").exit_code == 0
    assert run("cancel-holiday", "add", "2026-11-24", "--reason", "test", "--actor", "chair").exit_code == 0
    assert run("day-off", "remove", "2026-03-04", "--reason", "storm passed", "--actor", "vice").exit_code == 0
    assert last_line(run("due", "--start", "2026-03-03T10:00", "--limit", "P2D")) == "2026-03-05T10:00:00+07:00"

    audit = run("audit").stdout.splitlines()
    assert len(audit) == 4
    assert "chair" in audit[0] and "add day_off 2026-03-04" in audit[0] and "before=None" in audit[0]
    assert "vice" in audit[3] and "remove day_off" in audit[3] and "before='QĐ 12/UBND: storm' after=None" in audit[3]


@pytest.mark.parametrize(
    "args,words",
    [
        (["day-off", "add", "2026-03-07", "--reason", "r", "--actor", "a"], "already a non-working day"),
        (["makeup-day", "add", "2026-03-06", "--reason", "r", "--actor", "a"], "already a working day"),
        (["cancel-holiday", "add", "2026-03-06", "--reason", "r", "--actor", "a"], "not a public holiday"),
        (["day-off", "remove", "2026-03-06", "--reason", "r", "--actor", "a"], "no day off override"),
        (["day-off", "add", "2026-13-01", "--reason", "r", "--actor", "a"], "--date"),
        (["day-off", "add", "2026-03-06", "--reason", " ", "--actor", "a"], "reason"),
        (["day-off", "add", "2026-03-06", "--reason", "r"], "--actor"),
        (["holiday", "add", "2026-03-06", "--reason", "r", "--actor", "a"], "unknown command or override kind"),
        (["day-off", "list", "1800"], "year must be"),
    ],
)
def test_bad_override_changes(args, words, calendar_db):
    result = run(*args)
    assert result.exit_code == 2
    assert words in result.stderr or words in result.output
    assert stored(calendar_db) == CalendarOverrides()
    assert run("audit").stdout == ""


def test_messages_are_bilingual_and_a_duplicate_is_refused(calendar_db):
    assert run("day-off", "add", "2026-03-04", "--reason", "QĐ 12", "--actor", "chair").exit_code == 0
    again = run("day-off", "add", "2026-03-04", "--reason", "QĐ 13", "--actor", "chair")
    assert again.exit_code == 2
    assert "already has a day off override" in again.stderr and "lỗi: date: ngày 2026-03-04 đã có" in again.stderr
    assert stored(calendar_db).days_off == {date(2026, 3, 4): "QĐ 12"}  # unchanged
    bad_date = run("day-off", "add", "2026-02-30", "--reason", "r", "--actor", "a")
    assert bad_date.exit_code == 2 and "not a date" in bad_date.stderr and "không phải ngày" in bad_date.stderr
    unknown = run("party-day", "add", "2026-03-04", "--reason", "r", "--actor", "a")
    assert unknown.exit_code == 2 and "lỗi: calendar: không có lệnh" in unknown.stderr
    assert "day-off, makeup-day, cancel-holiday" in unknown.stderr


def test_a_day_off_added_from_the_cli_moves_the_servers_deadlines(db, clock, calendar_db):
    rt = Runtime(db, clock)  # the server's runtime, started before the change (its caches are warm)
    world = build_world(rt)

    def receive():
        return dossiers.receive(rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                                applicant=Applicant("Nguyễn Văn An"))

    assert receive().due_at == datetime(2026, 3, 6, 10, 0, tzinfo=VN)  # Tue 10:00 + 3 working days
    add = run("day-off", "add", "2026-03-04", "--reason", "Công văn 12/UBND", "--actor", "admin")
    assert add.exit_code == 0, add.output
    assert receive().due_at == datetime(2026, 3, 9, 10, 0, tzinfo=VN)  # Wednesday is off: Monday
    # the CLI's own arithmetic counts the same stored day off
    assert last_line(run("due", "--start", "2026-03-03T10:00", "--limit", "P3D")) == "2026-03-09T10:00:00+07:00"
    assert run("day-off", "remove", "2026-03-04", "--reason", "hủy", "--actor", "admin").exit_code == 0
    assert receive().due_at == datetime(2026, 3, 6, 10, 0, tzinfo=VN)


def test_without_a_database_only_the_package_and_the_arguments_count(tmp_path, monkeypatch):
    missing = tmp_path / "none.db"
    monkeypatch.setenv("ISOFLOW_DATABASE_URL", f"sqlite:///{missing}")
    result = run("due", "--start", "2026-03-03T10:00", "--limit", "P2D", "--day-off", "2026-03-04")
    assert result.exit_code == 0 and last_line(result) == "2026-03-06T10:00:00+07:00"
    assert "no database set up" in result.stderr
    assert not missing.exists()  # asking never creates a database
    assert run("day-off", "add", "2026-03-04", "--reason", "r", "--actor", "a").exit_code == 1  # schema missing


def test_console_script_prints_the_instant_on_the_last_line(calendar_db):
    out = subprocess.run(
        [sys.executable, "-m", "cli.main", "calendar", "due", "--start", "2026-03-03T10:00", "--limit", "P2D"],
        capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "2026-03-05T10:00:00+07:00"
    bad = subprocess.run(
        [sys.executable, "-m", "cli.main", "calendar", "due", "--start", "2026-03-03T10:00", "--limit", "P-2D"],
        capture_output=True, text=True,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--limit" in bad.stderr
