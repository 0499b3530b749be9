"""`isoflow calendar`: due dates, classification and the holiday overrides, for consultants,
operators and tests. All arithmetic is engine.domain.calendar; the overrides are the ones the
server counts, read and changed through engine.services.calendar_admin in the configured
database (--database-url / ISOFLOW_DATABASE_URL). This module only reads arguments (naive
instants are Asia/Ho_Chi_Minh) and prints results (the last line is the result)."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Sequence

import click

from engine.domain.calendar import (
    DEFAULT_SAME_DAY_CUTOFF,
    DEFAULT_SESSIONS,
    VN_TZ,
    CalendarOverrides,
    Pause,
    SameDayLimit,
    WorkingCalendar,
    WorkingSession,
    WorkingTimeLimit,
    format_working_duration,
    parse_limit,
)
from cli._runtime import open_runtime, open_runtime_if_set_up
from engine.audit import Actor
from engine.errors import InvalidInput, Problem
from engine.services import calendar_admin

DATABASE_OPTION = click.option(
    "--database-url", envvar="ISOFLOW_DATABASE_URL",
    help="The database whose overrides count (default: $ISOFLOW_DATABASE_URL or sqlite:///var/isoflow.db).")


def _bad(field: str, text: str, en: str, vi: str, hint: str) -> InvalidInput:
    return InvalidInput(
        f"--{field}: {en} (got {text!r})",
        f"--{field}: {vi} (nhận được {text!r})",
        hint=hint,
        problems=[Problem("invalid_argument", vi, en, field=field)],
    )


def parse_instant(text: str, field: str) -> datetime:
    """ISO 8601 date-time; without an offset it is read in Asia/Ho_Chi_Minh."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _bad(field, text, "not an ISO 8601 date-time", "không phải ngày giờ ISO 8601",
                   "Write e.g. 2026-03-03T10:00 (Hà Nội time) or 2026-03-03T03:00Z.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=VN_TZ)
    return value


def parse_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _bad(field, text, "not a date (YYYY-MM-DD)", "không phải ngày hợp lệ (YYYY-MM-DD)",
                   "Write e.g. 2026-08-22.") from None


def parse_clock(text: str, field: str) -> time:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise _bad(field, text, "not a time of day HH:MM", "không phải giờ HH:MM", "Write e.g. 15:00.")
    return time(int(m.group(1)), int(m.group(2)))


def parse_sessions(text: str) -> tuple[WorkingSession, ...]:
    sessions = []
    for part in text.split(","):
        bounds = part.strip().split("-")
        if len(bounds) != 2:
            raise _bad("sessions", text, "sessions are HH:MM-HH:MM separated by commas",
                       "phiên làm việc có dạng HH:MM-HH:MM, cách nhau bởi dấu phẩy",
                       "Write e.g. 07:00-11:30,13:30-17:00.")
        sessions.append(WorkingSession(parse_clock(bounds[0], "sessions"), parse_clock(bounds[1], "sessions")))
    return tuple(sessions)


def parse_pause(text: str) -> Pause:
    parts = text.split("/")
    if len(parts) != 2:
        raise _bad("pause", text, "a pause is START/END", "khoảng tạm dừng có dạng BẮT_ĐẦU/KẾT_THÚC",
                   "Write e.g. 2026-03-04T08:00/2026-03-06T14:00.")
    return Pause(parse_instant(parts[0], "pause"), parse_instant(parts[1], "pause"))


def stored_overrides(database_url: str | None) -> CalendarOverrides:
    """The overrides stored in the database, the ones the server's deadlines count; none
    (said on stderr) when that database is not set up yet."""
    rt = open_runtime_if_set_up(database_url)
    if rt is None:
        click.echo("note: no database set up (isoflow db upgrade): only the holiday package and the "
                   "overrides given here count / chưa có cơ sở dữ liệu: chỉ tính ngày lễ của gói và "
                   "các điều chỉnh ghi ở đây", err=True)
        return CalendarOverrides()
    try:
        return calendar_admin.stored_overrides(rt, Actor.system("cli"))
    finally:
        rt.db.dispose()


def build_calendar(
    sessions: str | None, cutoff: str | None, makeup_days: Sequence[str] = (), days_off: Sequence[str] = (),
    database_url: str | None = None,
) -> WorkingCalendar:
    """Stored overrides plus the ones given on the command line."""
    extra = CalendarOverrides(
        days_off={parse_day(d, "day-off"): "--day-off" for d in days_off},
        makeup_days={parse_day(d, "makeup-day"): "--makeup-day" for d in makeup_days},
    )
    parsed_sessions = parse_sessions(sessions) if sessions else DEFAULT_SESSIONS
    same_day_cutoff = parse_clock(cutoff, "cutoff") if cutoff else DEFAULT_SAME_DAY_CUTOFF
    overrides = stored_overrides(database_url)
    # A date given on the command line replaces a stored override of the other kind.
    overrides = CalendarOverrides(
        days_off={d: r for d, r in overrides.days_off.items() if d not in extra.makeup_days},
        makeup_days={d: r for d, r in overrides.makeup_days.items() if d not in extra.days_off},
        cancelled_holidays=overrides.cancelled_holidays,
    ).merged(extra)
    return WorkingCalendar(sessions=parsed_sessions, overrides=overrides, same_day_cutoff=same_day_cutoff)


def _iso(t: datetime) -> str:
    return t.astimezone(VN_TZ).isoformat()


_calendar_options = [
    click.option("--sessions", metavar="HH:MM-HH:MM,...", help="Working sessions (default 07:00-11:30,13:30-17:00)."),
    click.option("--cutoff", metavar="HH:MM", help="Same-day cutoff (default 15:00)."),
    click.option("--makeup-day", "makeup_days", multiple=True, metavar="DATE", help="Extra make-up working day (repeatable)."),
    click.option("--day-off", "days_off", multiple=True, metavar="DATE", help="Extra day off (repeatable)."),
    DATABASE_OPTION,
]


def calendar_options(f):
    for option in reversed(_calendar_options):
        f = option(f)
    return f


OVERRIDE_COMMANDS = {"day-off": "day_off", "makeup-day": "makeup_day", "cancel-holiday": "cancelled_holiday"}


class _CalendarGroup(click.Group):
    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and self.get_command(ctx, args[0]) is None and not ctx.resilient_parsing:
            kinds = ", ".join(OVERRIDE_COMMANDS)
            raise InvalidInput(
                f"calendar: unknown command or override kind {args[0]!r}",
                f"calendar: không có lệnh hoặc loại điều chỉnh {args[0]!r}",
                code="unknown_kind", hint=f"override kinds: {kinds}; see isoflow calendar --help",
                problems=[Problem("unknown_kind", f"Loại điều chỉnh phải là một trong: {kinds}.",
                                  f"The override kind must be one of: {kinds}.", field="kind")])
        return super().resolve_command(ctx, args)


@click.group(name="calendar", cls=_CalendarGroup)
def command() -> None:
    """Legal working time: due dates, classification, holidays and overrides (docs/domain.md §4)."""


@command.command()
@click.option("--start", required=True, help="Receipt instant, ISO 8601 (naive = Asia/Ho_Chi_Minh).")
@click.option("--limit", required=True, help="P2D, P0.5D, PT4H, same-day, or P30D with --calendar-days.")
@click.option("--calendar-days", is_flag=True, help="Count --limit PnD in calendar days.")
@click.option("--pause", "pauses", multiple=True, metavar="START/END", help="Paused interval (repeatable).")
@calendar_options
def due(start, limit, calendar_days, pauses, sessions, cutoff, makeup_days, days_off, database_url) -> None:
    """Print the due instant of LIMIT received at START."""
    start_at = parse_instant(start, "start")
    time_limit = parse_limit(limit, "calendar" if calendar_days else "working")
    if isinstance(time_limit, SameDayLimit) and cutoff:
        time_limit = SameDayLimit(parse_clock(cutoff, "cutoff"))
    pause_list = [parse_pause(p) for p in pauses]
    cal = build_calendar(sessions, cutoff, makeup_days, days_off, database_url)
    result = cal.due(start_at, time_limit, pause_list)
    described = (
        f"{limit} ({time_limit.amount.total_seconds() / 3600:g} working hours)"
        if isinstance(time_limit, WorkingTimeLimit) else limit
    )
    paused = sum(
        (cal.working_time_between(max(p.start, start_at), min(p.end, result))
         for p in pause_list if p.end > start_at and p.start < result),
        timedelta(0),
    )
    click.echo(f"received {_iso(start_at)}, limit {described}, paused {format_working_duration(paused)}")
    click.echo(_iso(result))


@command.command()
@click.option("--due", "due_at", required=True, help="Due instant (ISO 8601).")
@click.option("--finished", help="Instant the dossier or step was finished.")
@click.option("--at", "at", help="For an open item: the instant to judge at.")
def classify(due_at, finished, at) -> None:
    """Print early | on_time | late (with --finished) or within_limit | overdue (with --at)."""
    if (finished is None) == (at is None):
        raise InvalidInput(
            "finished: give exactly one of --finished (finished item) or --at (open item)",
            "finished: cần đúng một trong --finished (đã xong) hoặc --at (đang xử lý)",
            hint="e.g. isoflow calendar classify --due 2026-03-05T10:00 --finished 2026-03-05T09:00",
            problems=[Problem("missing_argument", "Thiếu --finished hoặc --at.", "Missing --finished or --at.", field="finished")],
        )
    due_instant = parse_instant(due_at, "due")
    cal = WorkingCalendar()
    if finished is not None:
        click.echo(cal.classify_finished(due_instant, parse_instant(finished, "finished")))
    else:
        click.echo(cal.classify_open(due_instant, parse_instant(at, "at")))


@command.command()
@click.option("--from", "start", required=True, help="Start instant (ISO 8601).")
@click.option("--to", "end", required=True, help="End instant (ISO 8601).")
@calendar_options
def measure(start, end, sessions, cutoff, makeup_days, days_off, database_url) -> None:
    """Print the working time between two instants (ISO 8601, 1 day = 8 h)."""
    start_at, end_at = parse_instant(start, "from"), parse_instant(end, "to")
    cal = build_calendar(sessions, cutoff, makeup_days, days_off, database_url)
    amount = cal.working_time_between(start_at, end_at)
    click.echo(f"{amount.total_seconds() / 3600:g} working hours")
    click.echo(format_working_duration(amount))


@command.command()
@click.argument("year", type=click.IntRange(1995, 2200))
@calendar_options
def show(year, sessions, cutoff, makeup_days, days_off, database_url) -> None:
    """List YEAR's holidays, extra days off, make-up days and cancelled holidays, with their source."""
    cal = build_calendar(sessions, cutoff, makeup_days, days_off, database_url)
    click.echo(f"{'date':<10}  {'day':<3}  {'kind':<17}  {'status':<7}  {'source':<15}  name / reason")
    for c in cal.calendar_days(year):
        click.echo(
            f"{c.day.isoformat():<10}  {c.day:%a}  {c.kind:<17}  {'working' if c.working else 'off':<7}  {c.source:<15}  {c.name}"
        )


def _override_group(kind: str, name: str, what: str) -> click.Group:
    @click.group(name=name, help=f"Add, remove or list {what} (stored in the database the server uses, audited).")
    def group() -> None:
        pass

    for action in ("add", "remove"):
        def run(day, reason, actor, database_url, action=action):
            on = parse_day(day, "date")
            rt = open_runtime(database_url)
            try:
                entry = calendar_admin.change(rt, Actor.system(actor), action, kind, on, reason)
            finally:
                rt.db.dispose()
            click.echo(f"{entry.action} {entry.kind} {entry.day.isoformat()} by {entry.actor} at {entry.at.isoformat()}: {entry.reason}")

        cmd = click.command(name=action, help=f"{action.capitalize()} {what} on DATE.")(run)
        cmd = DATABASE_OPTION(cmd)
        cmd = click.option("--actor", required=True, help="Who makes the change.")(cmd)
        cmd = click.option("--reason", required=True, help="Why: decision or dispatch number.")(cmd)
        cmd = click.argument("day", metavar="DATE")(cmd)
        group.add_command(cmd)

    @group.command(name="list", help="List the stored overrides of this kind in YEAR.")
    @click.argument("year", type=int)
    @DATABASE_OPTION
    def list_(year, database_url):
        rt = open_runtime(database_url)
        try:
            entries = calendar_admin.year_calendar(rt, Actor.system("cli"), year, kind)
        finally:
            rt.db.dispose()
        for e in entries:
            click.echo(f"{e.day.isoformat()}  {e.day:%a}  {e.kind:<17}  {e.created_by or '':<12}  {e.reason}")

    return group


_WHAT = {"day_off": "an extra day off", "makeup_day": "a make-up working day",
         "cancelled_holiday": "the cancellation of a listed holiday"}
for _name, _kind in OVERRIDE_COMMANDS.items():
    command.add_command(_override_group(_kind, _name, _WHAT[_kind]))


@command.command()
@DATABASE_OPTION
def audit(database_url) -> None:
    """List every change of the calendar overrides (who, when, before, after)."""
    rt = open_runtime(database_url)
    try:
        trail = calendar_admin.audit_trail(rt, Actor.system("cli"))
    finally:
        rt.db.dispose()
    for e in trail:
        click.echo(
            f"{e.at.isoformat()}  {e.actor}  {e.action} {e.kind} {e.day.isoformat()}  "
            f"before={e.before!r} after={e.after!r}  reason={e.reason!r}"
        )
