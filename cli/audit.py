"""`isoflow audit verify|export`: the hash-chained event log (ISO records)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from cli._runtime import open_runtime
from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.services import audit_log

DATABASE_OPTION = click.option("--database-url", envvar="ISOFLOW_DATABASE_URL",
                               help="default: $ISOFLOW_DATABASE_URL or sqlite:///var/isoflow.db")


@click.group("audit")
def command() -> None:
    """The audit trail: verify the hash chain, export events."""


@command.command("verify")
@DATABASE_OPTION
def verify(database_url: str | None) -> None:
    """Recompute the chain; exit 1 and list every changed, removed or inserted row."""
    rt = open_runtime(database_url)
    breaks = audit_log.verify(rt, Actor.system("cli"))
    if not breaks:
        click.echo("audit trail intact")
        return
    for b in breaks:
        click.echo(f"event {b.event_id}: {b.problem}", err=True)
    click.echo(f"audit trail BROKEN: {len(breaks)} problem(s)", err=True)
    sys.exit(1)


@command.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="file to write (default: stdout)")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
              help="from this local date/instant (Asia/Ho_Chi_Minh), inclusive")
@click.option("--until", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), help="before this local date/instant")
@click.option("--kind", help="only events of this kind, e.g. task.completed")
@click.option("--unit", "unit_code", help="only events of this org unit code")
@DATABASE_OPTION
def export(fmt: str, output: Path | None, since, until, kind: str | None, unit_code: str | None,
           database_url: str | None) -> None:
    """Export events in chain order as CSV or a JSON array."""
    rt = open_runtime(database_url)
    flt = audit_log.EventFilter(kind=kind, unit_code=unit_code,
                                since=since.replace(tzinfo=VN_TZ) if since else None,
                                until=until.replace(tzinfo=VN_TZ) if until else None)
    actor = Actor.system("cli")
    audit_log.list_events(rt, actor, flt, limit=1)  # bad filters fail before any output
    chunks = (audit_log.export_json if fmt == "json" else audit_log.export_csv)(audit_log.iter_events(rt, actor, flt))
    if output is None:
        for chunk in chunks:
            click.echo(chunk, nl=False)
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        for chunk in chunks:
            handle.write(chunk)
    click.echo(f"wrote {output}", err=True)
