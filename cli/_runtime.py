"""Shared by commands that use the database: settings from the environment and flags,
and a clear error (not a traceback) when the schema is missing or outdated."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from engine.config import Settings
from engine.adapters.db.migrate import is_current
from engine.errors import IsoflowError
from engine.runtime import Runtime


class SchemaNotCurrent(IsoflowError):
    code = "schema_not_current"


def settings_with(database_url: str | None) -> Settings:
    settings = Settings.from_env()
    return replace(settings, database_url=database_url) if database_url else settings


def open_runtime(database_url: str | None) -> Runtime:
    settings = settings_with(database_url)
    rt = Runtime.from_settings(settings)
    if not _schema_current(rt):
        rt.db.dispose()
        raise SchemaNotCurrent(
            "the database schema is missing or not up to date",
            "cơ sở dữ liệu chưa được khởi tạo hoặc chưa cập nhật cấu trúc",
            hint=f"run: isoflow db upgrade --database-url {settings.database_url}",
        )
    return rt


def open_runtime_if_set_up(database_url: str | None) -> Runtime | None:
    """The runtime of the configured database, or None when that database does not exist
    or has no current schema yet (an SQLite file is never created by asking)."""
    settings = settings_with(database_url)
    try:
        url = make_url(settings.database_url)
    except Exception:  # Runtime.from_settings below says what is wrong with it
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).exists():
        return None
    rt = Runtime.from_settings(settings)
    if not _schema_current(rt):
        rt.db.dispose()
        return None
    return rt


def _schema_current(rt: Runtime) -> bool:
    try:
        return is_current(rt.db.engine)
    except OperationalError as exc:
        rt.db.dispose()
        raise SchemaNotCurrent(f"cannot open the database: {exc.orig}", f"không mở được cơ sở dữ liệu: {exc.orig}",
                               hint="check --database-url / ISOFLOW_DATABASE_URL") from exc
