"""Median cost of one due-date computation (engine.domain.calendar), by limit length.

Run: .venv/bin/python bench/calendar_bench.py [--samples N]
Prints per-call medians over many receipt instants spread over 2025-2026 (holidays
loaded once beforehand, as in a running server), and the ratios between limits.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import datetime, timedelta

from engine.domain.calendar import VN_TZ, Pause, WorkingCalendar, parse_limit


def starts(n: int, seed: int = 7) -> list[datetime]:
    rng = random.Random(seed)
    base = datetime(2025, 1, 1, tzinfo=VN_TZ)
    return [base + timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60)) for _ in range(n)]


def _timer_overhead_ns(n: int = 20000) -> float:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(n):
        t0 = clock()
        samples.append(clock() - t0)
    return statistics.median(samples)


def median_us(fn, args: list, repeat: int = 5) -> float:
    """Median per-call cost: every call timed on its own (timer overhead removed), `repeat`
    passes over all args."""
    clock = time.perf_counter_ns
    overhead = _timer_overhead_ns()
    samples = []
    for _ in range(repeat):
        for a in args:
            t0 = clock()
            fn(a)
            samples.append(clock() - t0)
    return (statistics.median(samples) - overhead) / 1000


def minute_walk(cal: WorkingCalendar, start: datetime, minutes: int) -> datetime:
    """The naive approach the calendar avoids: step one minute at a time."""
    t = cal.next_working_instant(start)
    while minutes:
        if cal.working_time_between(t, t + timedelta(minutes=1)) == timedelta(minutes=1):
            minutes -= 1
        t += timedelta(minutes=1)
    return t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=2000)
    opts = parser.parse_args()
    cal = WorkingCalendar()
    instants = starts(opts.samples)
    for year in (2025, 2026, 2027):  # warm the holiday cache like a running server
        cal.is_working_day(datetime(year, 6, 1).date())

    rows = []
    for label in ("P1D", "P5D", "P20D"):
        limit = parse_limit(label)
        rows.append((f"due {label} (working days)", median_us(lambda s: cal.due(s, limit), instants)))
    base = rows[0][1]
    p2d = parse_limit("P2D")
    pauses = lambda s: [Pause(s + timedelta(hours=20), s + timedelta(hours=30)), Pause(s + timedelta(days=2), s + timedelta(days=3))]
    extra = [
        ("due same-day", median_us(lambda s: cal.due(s, parse_limit("same-day")), instants)),
        ("due P30D calendar days", median_us(lambda s: cal.due(s, parse_limit("P30D", "calendar")), instants)),
        ("due P2D with 2 pauses", median_us(lambda s: cal.due(s, p2d, pauses(s)), instants)),
        ("working_time_between, 30 days apart", median_us(lambda s: cal.working_time_between(s, s + timedelta(days=30)), instants)),
    ]
    walk = median_us(lambda s: minute_walk(cal, s, 8 * 60), instants[:50], repeat=3)

    print(f"samples: {opts.samples} receipt instants over 2025-2026 x 5 passes; median per call")
    for name, us in rows:
        print(f"{name:<40} {us:8.2f} µs/call   x{us / base:4.2f} of P1D")
    for name, us in extra:
        print(f"{name:<40} {us:8.2f} µs/call")
    print(f"{'naive minute walk, 1 day (reference)':<40} {walk:8.0f} µs/call   x{walk / base:,.0f} of P1D")


if __name__ == "__main__":
    main()
