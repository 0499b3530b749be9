"""Shared fixtures.

The suite runs on SQLite by default. With ISOFLOW_TEST_DATABASE_URL set (a
postgresql+psycopg:// URL) every database test runs on that database instead, as CI
does; tests marked `postgres` skip with a message when it is not set.
"""
from __future__ import annotations

import functools
import os
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, make_url, text

from engine.domain.clock import FixedClock
from engine.adapters.db.migrate import head_revision, upgrade
from engine.adapters.db.models import Base
from engine.adapters.db.session import Database
import api.schemas

# Every API answer of the suite is dumped both ways and compared (api.schemas.Schema.dump).
api.schemas.VERIFY_FAST_DUMP = True


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database (`<name>_gw0`...),
    created on first use beside the given one, so workers never truncate each other's rows."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker or not url.startswith("postgresql"):
        return url
    base = make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    finally:
        admin.dispose()
    return own.render_as_string(hide_password=False)


TEST_DATABASE_URL = _worker_database(os.environ.get("ISOFLOW_TEST_DATABASE_URL", "").strip())


def pytest_configure(config):
    # Real argon2id, at a test cost: production cost for every seeded user dominates the run.
    from engine.security import use_password_cost

    use_password_cost(time_cost=1, memory_cost=1024)


def pytest_report_header(config):
    return f"isoflow test database: {TEST_DATABASE_URL or 'SQLite (set ISOFLOW_TEST_DATABASE_URL for PostgreSQL)'}"


def pytest_collection_modifyitems(config, items):
    if TEST_DATABASE_URL.startswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set ISOFLOW_TEST_DATABASE_URL=postgresql+psycopg://... (CI does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory) -> str:
    """Migrate once per session: a template SQLite file, or the PostgreSQL database."""
    if TEST_DATABASE_URL:
        db = Database(TEST_DATABASE_URL)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.dispose()
        upgrade(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return str(path)


@functools.lru_cache(maxsize=1)
def _head_revision() -> str | None:
    return head_revision(TEST_DATABASE_URL)


@pytest.fixture
def database_url(_migrated_template, tmp_path) -> str:
    """URL of a freshly migrated, empty database for this test."""
    if TEST_DATABASE_URL:
        db = Database(TEST_DATABASE_URL)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            # A test may fake an outdated schema (the readiness probe does); the next starts at head.
            conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": _head_revision()})
        db.dispose()
        return TEST_DATABASE_URL
    path = tmp_path / "isoflow.db"
    shutil.copyfile(_migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    """Tue 2026-03-03 10:00 in Hanoi: an ordinary working morning."""
    return FixedClock(datetime(2026, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
