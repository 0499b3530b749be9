"""Reports read from a replica (ISOFLOW_READ_DATABASE_URL); writes and the inbox stay
on the primary.

The PostgreSQL test starts a real primary and a real streaming replica of it
(`pg_basebackup -R`) in a temporary directory, as the `postgres` OS user, on free
ports of 127.0.0.1. It builds its own primary rather than replicating the suite's
server, because that server's pg_hba.conf need not allow replication connections and a
test must not change a shared server's configuration. To prove where each read went,
replay is paused on the replica and a second dossier is received on the primary:
statistics, search and the audit export still show one dossier (the replica's
snapshot), the inbox shows both (the primary).

The SQLite test shows the same routing without PostgreSQL: the "replica" is a copy of
the database file taken before the second receipt.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from engine.adapters.db.migrate import upgrade
from engine.adapters.db.session import Database
from engine.config import Settings
from engine.domain.clock import FixedClock
from engine.runtime import Runtime
from engine.services import audit_log, dossiers
from engine.services.dossiers import Applicant
from engine.views import dossiers as views
from engine.views.statistics import compute_statistics
from tests.support import build_world

CLOCK = FixedClock(datetime(2026, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))


def _receive(world, name: str):
    return dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                            applicant=Applicant(name, id_number="001099012345"), channel=2)


def _reads(rt: Runtime, world) -> dict[str, int]:
    """What each kind of read sees through `rt`: report, search, export, inbox."""
    report = compute_statistics(rt, world.actor("chair"), period="2026-03", group_by="commune")
    _, found = views.search_dossiers(rt, world.actor("chair"), views.DossierFilter(unit_code="TRIPHU"))
    exported = sum(1 for e in audit_log.iter_events(rt, world.actor("admin"), audit_log.EventFilter())
                   if e.kind == "dossier.received")
    inbox = len(views.inbox(rt, world.actor("clerk")))
    return {"statistics": report.total.received_new, "search": found, "export": exported, "inbox": inbox}


def test_reports_read_the_read_database_and_the_inbox_the_primary_sqlite(tmp_path: Path) -> None:
    primary_url = f"sqlite:///{tmp_path / 'primary.db'}"
    upgrade(primary_url)
    world = build_world(Runtime(Database(primary_url), CLOCK))
    _receive(world, "Nguyễn Văn An")
    world.rt.db.dispose()
    shutil.copyfile(tmp_path / "primary.db", tmp_path / "replica.db")
    rt = Runtime.from_settings(Settings(database_url=primary_url,
                                        read_database_url=f"sqlite:///{tmp_path / 'replica.db'}"), CLOCK)
    world.rt = rt
    _receive(world, "Trần Thị Bình")
    assert _reads(rt, world) == {"statistics": 1, "search": 1, "export": 1, "inbox": 2}
    # without a read database every read is the primary's
    alone = Runtime.from_settings(Settings(database_url=primary_url), CLOCK)
    assert alone.read_db is alone.db
    assert _reads(alone, world) == {"statistics": 2, "search": 2, "export": 2, "inbox": 2}


def test_the_environment_names_the_read_database() -> None:
    settings = Settings.from_env({"ISOFLOW_DATABASE_URL": "sqlite:///a.db", "ISOFLOW_READ_DATABASE_URL": "sqlite:///b.db"})
    assert settings.read_database_url == "sqlite:///b.db"
    assert Settings.from_env({"ISOFLOW_DATABASE_URL": "sqlite:///a.db"}).read_database_url is None


# --- a real streaming replica ---------------------------------------------------------


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """PostgreSQL servers in a temporary directory, run as the `postgres` OS user."""

    def __init__(self, bin_dir: Path, base: Path) -> None:
        self.bin, self.base = bin_dir, base
        self.started: list[Path] = []

    def run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True, cwd=self.base)

    def start(self, data: Path) -> None:
        self.run("pg_ctl", "-D", str(data), "-l", str(data) + ".log", "-w", "-t", "60", "start")
        self.started.append(data)

    def stop_all(self) -> None:
        for data in reversed(self.started):
            subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D", str(data),
                            "-m", "immediate", "stop"] if os.geteuid() == 0 else
                           [str(self.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)


@pytest.fixture
def streaming_replica():
    """(primary URL, replica URL, the replica's pause/resume helpers)."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("needs PostgreSQL server binaries (pg_basebackup under /usr/lib/postgresql/*/bin)")
    try:
        postgres_user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("needs the postgres OS user to run a PostgreSQL server")
    if os.geteuid() not in (0, postgres_user.pw_uid):
        pytest.skip("needs to run as root or as the postgres OS user to start a primary and a replica")
    base = Path(tempfile.mkdtemp(prefix="isoflow-replica-"))
    os.chown(base, postgres_user.pw_uid, postgres_user.pw_gid)
    cluster = Cluster(bin_dir, base)
    primary, replica = base / "primary", base / "replica"
    primary_port, replica_port = _free_port(), _free_port()
    try:
        cluster.run("initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        settings = (f"port = {primary_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{base}'\n"
                    "wal_level = replica\nmax_wal_senders = 4\nfsync = off\nshared_buffers = '32MB'\n")
        with open(primary / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(settings)
        cluster.start(primary)
        cluster.run("psql", "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres", "-c",
                    "CREATE DATABASE isoflow")
        cluster.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
                    "-D", str(replica), "-R", "-X", "stream", "--no-sync")
        with open(replica / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"port = {replica_port}\nhot_standby = on\n")
        cluster.start(replica)
    except subprocess.CalledProcessError as exc:
        cluster.stop_all()
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"could not start a primary and a streaming replica: {exc.cmd[-3:]}: {exc.stderr.strip()[:300]}")
    url = "postgresql+psycopg://postgres@127.0.0.1:{}/isoflow"
    try:
        yield url.format(primary_port), url.format(replica_port)
    finally:
        cluster.stop_all()
        shutil.rmtree(base, ignore_errors=True)


def _wait_for_replay(primary: Database, replica: Database) -> None:
    with primary.engine.connect() as conn:
        lsn = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with replica.engine.connect() as conn:
            if conn.execute(text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": lsn}).scalar():
                return
        time.sleep(0.05)
    raise AssertionError("the replica did not replay the primary's WAL within 30 s")


def test_statistics_search_and_exports_come_from_a_streaming_replica(streaming_replica) -> None:
    primary_url, replica_url = streaming_replica
    upgrade(primary_url)
    rt = Runtime.from_settings(Settings(database_url=primary_url, read_database_url=replica_url), CLOCK)
    world = build_world(rt)
    _receive(world, "Nguyễn Văn An")
    _wait_for_replay(rt.db, rt.read_db)
    with rt.read_db.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
    with rt.db.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is False
    assert _reads(rt, world) == {"statistics": 1, "search": 1, "export": 1, "inbox": 1}

    with rt.read_db.engine.connect() as conn:  # freeze the replica's snapshot
        conn.execute(text("SELECT pg_wal_replay_pause()"))
        conn.commit()
    _receive(world, "Trần Thị Bình")  # a write: to the primary, while the replica reads the replica
    assert _reads(rt, world) == {"statistics": 1, "search": 1, "export": 1, "inbox": 2}

    with rt.read_db.engine.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_resume()"))
        conn.commit()
    _wait_for_replay(rt.db, rt.read_db)
    assert _reads(rt, world) == {"statistics": 2, "search": 2, "export": 2, "inbox": 2}
    # the national ID search (exact, indexed) answers from the replica too
    _, found = views.search_dossiers(rt, world.actor("chair"), views.DossierFilter(id_number=" 001099012345 "))
    assert found == 2
    rt.db.dispose()
    rt.read_db.dispose()
