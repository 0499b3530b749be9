"""`isoflow publish FILE`: validate, store, approve and publish a procedure model."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from engine.audit import Actor
from cli._runtime import open_runtime
from engine.services.procedures import publish_file


@click.command("publish")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--effective-from", type=click.DateTime(["%Y-%m-%d"]), help="the legal effective date (default: today); new dossiers get the version from it, "
                   "or from today when it has passed")
@click.option("--database-url", envvar="ISOFLOW_DATABASE_URL", help="default: $ISOFLOW_DATABASE_URL or sqlite:///var/isoflow.db")
@click.option("--actor", default="cli", show_default=True, help="name recorded in the event log")
def command(files: tuple[Path, ...], effective_from, database_url: str | None, actor: str) -> None:
    """Publish BPMN model FILES (their forms are read from forms/ beside each file).

    Each file is validated first; nothing is stored for a file with problems.
    Publishing identical content again is a no-op that reports the existing version.
    """
    rt = open_runtime(database_url)
    day: date | None = effective_from.date() if effective_from else None
    for path in files:
        info = publish_file(rt, Actor.system(actor), path, day)
        state = "published" if info.created else "already stored"
        legal = f", legally from {info.legal_effective_from}" if info.legal_effective_from != info.effective_from else ""
        click.echo(f"{path}: {info.procedure_code} version {info.version_no} {state}, "
                   f"effective from {info.effective_from}{legal} (sha256 {info.content_hash[:12]})")
