"""`isoflow publish FILE`: validate, store, approve and publish a procedure model."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from engine.audit import Actor
from engine.config import Settings
from engine.runtime import Runtime
from engine.services.procedures import publish_file


@click.command("publish")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--effective-from", type=click.DateTime(["%Y-%m-%d"]), help="first day the version applies (default: today)")
@click.option("--database-url", envvar="ISOFLOW_DATABASE_URL", help="default: $ISOFLOW_DATABASE_URL or sqlite:///var/isoflow.db")
@click.option("--actor", default="cli", show_default=True, help="name recorded in the event log")
def command(files: tuple[Path, ...], effective_from, database_url: str | None, actor: str) -> None:
    """Publish BPMN model FILES (their forms are read from forms/ beside each file).

    Each file is validated first; nothing is stored for a file with problems.
    Publishing identical content again is a no-op that reports the existing version.
    """
    settings = Settings.from_env()
    if database_url:
        settings = Settings(database_url=database_url, bpmn_dir=settings.bpmn_dir,
                            trusted_scripts=settings.trusted_scripts, secret_key=settings.secret_key)
    rt = Runtime.from_settings(settings)
    day: date | None = effective_from.date() if effective_from else None
    for path in files:
        info = publish_file(rt, Actor.system(actor), path, day)
        state = "published" if info.created else "already stored"
        click.echo(f"{path}: {info.procedure_code} version {info.version_no} {state}, "
                   f"effective from {info.effective_from} (sha256 {info.content_hash[:12]})")
