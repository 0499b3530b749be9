"""`isoflow db ...`: schema management."""
from __future__ import annotations

import click

from engine.config import Settings
from engine.adapters.db.migrate import upgrade


@click.group("db")
def command() -> None:
    """Database schema (Alembic migrations) on SQLite or PostgreSQL."""


@command.command("upgrade")
@click.option("--database-url", envvar="ISOFLOW_DATABASE_URL", help="default: $ISOFLOW_DATABASE_URL or sqlite:///var/isoflow.db")
@click.option("--revision", default="head", show_default=True)
def upgrade_command(database_url: str | None, revision: str) -> None:
    """Create the schema or bring it up to date."""
    url = database_url or Settings.from_env().database_url
    upgrade(url, revision)
    click.echo(f"database at {_safe(url)} is at revision {revision}")


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
