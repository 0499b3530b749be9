"""Shared by commands that use the database: settings from the environment and flags,
and a clear error (not a traceback) when the schema is missing or outdated."""
from __future__ import annotations

from dataclasses import replace

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
    try:
        current = is_current(rt.db.engine)
    except OperationalError as exc:
        raise SchemaNotCurrent(f"cannot open the database: {exc.orig}", f"không mở được cơ sở dữ liệu: {exc.orig}",
                               hint="check --database-url / ISOFLOW_DATABASE_URL") from exc
    if not current:
        raise SchemaNotCurrent(
            "the database schema is missing or not up to date",
            "cơ sở dữ liệu chưa được khởi tạo hoặc chưa cập nhật cấu trúc",
            hint=f"run: isoflow db upgrade --database-url {settings.database_url}",
        )
    return rt
