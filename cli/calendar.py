"""`isoflow calendar`: due dates, classification and the holiday overrides, for consultants,
operators and tests. All arithmetic is engine.domain.calendar; this module only reads arguments
(naive instants are Asia/Ho_Chi_Minh) and prints results (the last line is the result)."""
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
    JsonFileOverrideStore,
    Pause,
    SameDayLimit,
    WorkingCalendar,
    WorkingSession,
    WorkingTimeLimit,
    format_working_duration,
    parse_limit,
)
from engine.errors import InvalidInput, Problem


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


def build_calendar(
    sessions: str | None, cutoff: str | None, makeup_days: Sequence[str] = (), days_off: Sequence[str] = ()
) -> WorkingCalendar:
    """Stored overrides plus the ones given on the command line."""
    extra = CalendarOverrides(
        days_off={parse_day(d, "day-off"): "--day-off" for d in days_off},
        makeup_days={parse_day(d, "makeup-day"): "--makeup-day" for d in makeup_days},
    )
    overrides = JsonFileOverrideStore().load()
    # A date given on the command line replaces a stored override of the other kind.
    overrides = CalendarOverrides(
        days_off={d: r for d, r in overrides.days_off.items() if d not in extra.makeup_days},
        makeup_days={d: r for d, r in overrides.makeup_days.items() if d not in extra.days_off},
        cancelled_holidays=overrides.cancelled_holidays,
    ).merged(extra)
    return WorkingCalendar(
        sessions=parse_sessions(sessions) if sessions else DEFAULT_SESSIONS,
        overrides=overrides,
        same_day_cutoff=parse_clock(cutoff, "cutoff") if cutoff else DEFAULT_SAME_DAY_CUTOFF,
    )


def _iso(t: datetime) -> str:
    return t.astimezone(VN_TZ).isoformat()


_calendar_options = [
    click.option("--sessions", metavar="HH:MM-HH:MM,...", help="Working sessions (default 07:00-11:30,13:30-17:00)."),
    click.option("--cutoff", metavar="HH:MM", help="Same-day cutoff (default 15:00)."),
    click.option("--makeup-day", "makeup_days", multiple=True, metavar="DATE", help="Extra make-up working day (repeatable)."),
    click.option("--day-off", "days_off", multiple=True, metavar="DATE", help="Extra day off (repeatable)."),
]


def calendar_options(f):
    for option in reversed(_calendar_options):
        f = option(f)
    return f


@click.group(name="calendar")
def command() -> None:
    """Legal working time: due dates, classification, holidays and overrides (DOMAIN.md §4)."""


@command.command()
@click.option("--start", required=True, help="Receipt instant, ISO 8601 (naive = Asia/Ho_Chi_Minh).")
@click.option("--limit", required=True, help="P2D, P0.5D, PT4H, same-day, or P30D with --calendar-days.")
@click.option("--calendar-days", is_flag=True, help="Count --limit PnD in calendar days.")
@click.option("--pause", "pauses", multiple=True, metavar="START/END", help="Paused interval (repeatable).")
@calendar_options
def due(start, limit, calendar_days, pauses, sessions, cutoff, makeup_days, days_off) -> None:
    """Print the due instant of LIMIT received at START."""
    start_at = parse_instant(start, "start")
    time_limit = parse_limit(limit, "calendar" if calendar_days else "working")
    if isinstance(time_limit, SameDayLimit) and cutoff:
        time_limit = SameDayLimit(parse_clock(cutoff, "cutoff"))
    pause_list = [parse_pause(p) for p in pauses]
    cal = build_calendar(sessions, cutoff, makeup_days, days_off)
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
def measure(start, end, sessions, cutoff, makeup_days, days_off) -> None:
    """Print the working time between two instants (ISO 8601, 1 day = 8 h)."""
    cal = build_calendar(sessions, cutoff, makeup_days, days_off)
    amount = cal.working_time_between(parse_instant(start, "from"), parse_instant(end, "to"))
    click.echo(f"{amount.total_seconds() / 3600:g} working hours")
    click.echo(format_working_duration(amount))


@command.command()
@click.argument("year", type=click.IntRange(1995, 2200))
@calendar_options
def show(year, sessions, cutoff, makeup_days, days_off) -> None:
    """List YEAR's holidays, extra days off, make-up days and cancelled holidays, with their source."""
    cal = build_calendar(sessions, cutoff, makeup_days, days_off)
    click.echo(f"{'date':<10}  {'day':<3}  {'kind':<17}  {'status':<7}  {'source':<15}  name / reason")
    for c in cal.calendar_days(year):
        click.echo(
            f"{c.day.isoformat():<10}  {c.day:%a}  {c.kind:<17}  {'working' if c.working else 'off':<7}  {c.source:<15}  {c.name}"
        )


def _override_group(kind: str, name: str, what: str) -> click.Group:
    @click.group(name=name, help=f"Add or remove {what} (stored in ISOFLOW_CALENDAR_FILE, audited).")
    def group() -> None:
        pass

    for action in ("add", "remove"):
        def run(day, reason, actor, action=action):
            store = JsonFileOverrideStore()
            method = store.add if action == "add" else store.remove
            entry = method(kind, parse_day(day, "date"), reason=reason, actor=actor)
            click.echo(f"{entry.action} {entry.kind} {entry.day.isoformat()} by {entry.actor} at {entry.at.isoformat()}: {entry.reason}")
            click.echo(f"stored in {store.path}")

        cmd = click.command(name=action, help=f"{action.capitalize()} {what} on DATE.")(run)
        cmd = click.option("--actor", required=True, help="Who makes the change.")(cmd)
        cmd = click.option("--reason", required=True, help="Why: decision or dispatch number.")(cmd)
        cmd = click.argument("day", metavar="DATE")(cmd)
        group.add_command(cmd)
    return group


command.add_command(_override_group("day_off", "day-off", "an extra day off"))
command.add_command(_override_group("makeup_day", "makeup-day", "a make-up working day"))
command.add_command(_override_group("cancelled_holiday", "cancel-holiday", "the cancellation of a listed holiday"))


@command.command()
def audit() -> None:
    """List every change of the calendar overrides (who, when, before, after)."""
    for e in JsonFileOverrideStore().audit():
        click.echo(
            f"{e.at.isoformat()}  {e.actor}  {e.action} {e.kind} {e.day.isoformat()}  "
            f"before={e.before!r} after={e.after!r}  reason={e.reason!r}"
        )
