"""`isoflow scheduler`: run the escalation scheduler alone (deployments with several web
workers), or one sweep as if it were a given instant, and manage escalation policies.

    isoflow scheduler                                   # sweep every ISOFLOW_SCHEDULER_INTERVAL s
    isoflow scheduler run-once --now 2026-03-05T09:00   # one sweep at that instant (Hà Nội time)
    isoflow scheduler policy set --unit TRIPHU '{"remind_at": 0.8}'
"""
from __future__ import annotations

import json
import logging

import click

from engine.audit import Actor
from engine.domain.clock import FixedClock
from engine.config import Settings
from engine.errors import InvalidInput, Problem


def _runtime(database_url: str | None, clock=None):
    from engine.runtime import Runtime

    settings = Settings.from_env()
    if database_url:
        settings = Settings(database_url=database_url, bpmn_dir=settings.bpmn_dir,
                            trusted_scripts=settings.trusted_scripts, secret_key=settings.secret_key)
    return Runtime.from_settings(settings, clock)


def _print_report(report) -> None:
    for line in report.lines():
        click.echo(line)
    click.echo(report.summary())


database_option = click.option("--database-url", envvar="ISOFLOW_DATABASE_URL",
                               help="default: $ISOFLOW_DATABASE_URL or sqlite:///var/isoflow.db")


@click.group("scheduler", invoke_without_command=True)
@database_option
@click.option("--interval", type=float, default=None,
              help="seconds between sweeps (default: $ISOFLOW_SCHEDULER_INTERVAL or 60)")
@click.pass_context
def command(ctx: click.Context, database_url: str | None, interval: float | None) -> None:
    """Escalation scheduler: reminders, warnings, overdue marks, apology prompts, BPMN timers."""
    ctx.obj = {"database_url": database_url}
    if ctx.invoked_subcommand is not None:
        return
    from engine.scheduler.embedded import interval_from_env, run_forever

    if interval is not None and not 0.05 <= interval <= 86400:
        raise InvalidInput("--interval must be between 0.05 and 86400 seconds", "--interval phải từ 0.05 đến 86400 giây",
                           problems=[Problem("bad_interval", "Chu kỳ không hợp lệ.", "Bad interval.", field="interval")])
    seconds = interval or interval_from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    click.echo(f"isoflow scheduler: sweeping every {seconds:g} s (Ctrl-C to stop)")
    run_forever(_runtime(database_url), interval=seconds,
                on_report=lambda r: (r.fired or r.deliveries or r.timers or r.errors) and _print_report(r))


@command.command("run-once")
@click.option("--now", "now_text", default=None,
              help="sweep as if it were this instant (ISO 8601; no offset = Asia/Ho_Chi_Minh); default: now")
@database_option
@click.pass_context
def run_once_command(ctx: click.Context, now_text: str | None, database_url: str | None) -> None:
    """One sweep; prints what it fired and sent, the last line is a summary."""
    from cli.calendar import parse_instant
    from engine.scheduler.sweep import Sweeper

    clock = FixedClock(parse_instant(now_text, "now")) if now_text else None
    rt = _runtime(database_url or ctx.obj.get("database_url"), clock)
    try:
        report = Sweeper(rt).run_once()
    finally:
        rt.db.dispose()
    _print_report(report)
    if report.errors:
        ctx.exit(1)


@command.command("reschedule")
@click.option("--unit", "unit_code", help="commune code (default: every commune)")
@database_option
@click.pass_context
def reschedule_command(ctx: click.Context, unit_code: str | None, database_url: str | None) -> None:
    """Recompute the stored escalation instants of open dossiers; run it after changing
    the calendar overrides (a new day off moves every working instant after it)."""
    from engine.services.escalation_policies import reschedule_open

    rt = _runtime(database_url or ctx.obj.get("database_url"))
    count = reschedule_open(rt, Actor.system("cli"), unit_code=unit_code)
    click.echo(f"{count} open dossier(s) rescheduled")


@command.group("policy")
def policy_group() -> None:
    """Escalation policies (data): default < commune < procedure version < both."""


@policy_group.command("show")
@database_option
@click.pass_context
def policy_show(ctx: click.Context, database_url: str | None) -> None:
    """List the default policy and every stored override."""
    from engine.services.escalation_policies import show_policies

    rt = _runtime(database_url or ctx.obj.get("database_url"))
    for entry in show_policies(rt):
        click.echo(f"{entry['scope']}: {json.dumps(entry['settings'], ensure_ascii=False, sort_keys=True)}")


@policy_group.command("set")
@click.argument("settings_json")
@click.option("--unit", "unit_code", help="commune code (omit for every commune)")
@click.option("--procedure", "procedure_code", help="procedure code (omit for every procedure)")
@click.option("--version", "version_no", type=int, help="procedure version number (default: latest)")
@click.option("--actor", default="cli", show_default=True, help="name recorded in the audit log")
@database_option
@click.pass_context
def policy_set(ctx, settings_json: str, unit_code, procedure_code, version_no, actor, database_url) -> None:
    """Store SETTINGS_JSON (e.g. '{"remind_at": 0.8, "overdue_after": "PT2H"}') for a scope;
    'null' removes the override."""
    from engine.services.escalation_policies import set_policy

    try:
        settings = json.loads(settings_json)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"SETTINGS_JSON is not JSON: {exc}", f"SETTINGS_JSON không phải JSON: {exc}",
                           hint='quote it for the shell: \'{"remind_at": 0.8}\'') from None
    if version_no is not None and not procedure_code:
        raise InvalidInput("--version needs --procedure", "--version cần đi kèm --procedure",
                           problems=[Problem("missing", "Thiếu --procedure.", "Missing --procedure.", field="procedure")])
    rt = _runtime(database_url or ctx.obj.get("database_url"))
    policy = set_policy(rt, Actor.system(actor), settings=settings, unit_code=unit_code,
                        procedure_code=procedure_code, version_no=version_no)
    click.echo(json.dumps(policy.to_json(), ensure_ascii=False, sort_keys=True))
