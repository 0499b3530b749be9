"""`isoflow demo`: an embedded SQLite database with a seeded province, then the server."""
from __future__ import annotations

from pathlib import Path

import click

from engine.domain.calendar import VN_TZ
from cli._runtime import settings_with
from engine.adapters.db.migrate import upgrade
from engine.demo import DEMO_PASSWORD, is_seeded, seed
from engine.domain.roles import role_label
from engine.runtime import Runtime

DEFAULT_DEMO_URL = "sqlite:///var/demo.db"


@click.command("demo")
@click.option("--database-url", default=DEFAULT_DEMO_URL, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--reset", is_flag=True, help="delete the demo SQLite database first")
@click.option("--serve/--no-serve", default=True, show_default=True, help="start the web server and scheduler")
def command(database_url: str, host: str, port: int, reset: bool, serve: bool) -> None:
    """Seed a demo province (two communes, a user per role, the procedure library,
    dossiers at every stage) and start the server with the scheduler."""
    settings = settings_with(database_url)
    if reset and database_url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(database_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    upgrade(database_url)
    rt = Runtime.from_settings(settings)
    if is_seeded(rt):
        click.echo("demo database already seeded; use --reset to start again")
    else:
        click.echo(f"seeding the demo province from {settings.bpmn_dir} ...")
        summary = seed(rt, settings.bpmn_dir, now=rt.clock.now())
        click.echo(f"{summary.procedures} procedures published, {summary.dossiers} sample dossiers received")
    click.echo("")
    click.echo(f"logins (password for all: {DEMO_PASSWORD}):")
    from engine.demo import STAFF

    for username, full_name, unit, roles in STAFF:
        click.echo(f"  {username:<11} {full_name:<18} {unit or 'TQ':<9} {', '.join(role_label(r) for r in roles)}")
    click.echo(f"\nnow: {rt.clock.now().astimezone(VN_TZ):%Y-%m-%d %H:%M} (Asia/Ho_Chi_Minh)")
    if not serve:
        return
    from cli.serve import run_server

    click.echo(f"web: http://{host}:{port}/   API docs: http://{host}:{port}/api/docs")
    run_server(settings, host, port, scheduler=True)
