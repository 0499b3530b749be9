"""The scheduler inside a long-running process (`isoflow serve`) or alone
(`isoflow scheduler`): APScheduler 3 runs one sweep every ISOFLOW_SCHEDULER_INTERVAL
seconds (default 60). One sweep at a time per process (max_instances=1, missed runs
coalesced); several processes are safe (see engine.scheduler.sweep)."""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine.errors import InvalidInput, Problem
from engine.adapters.channels import ChannelSettings
from engine.scheduler.sweep import SweepReport, Sweeper

log = logging.getLogger("isoflow.scheduler")
DEFAULT_INTERVAL_SECONDS = 60.0
JOB_ID = "isoflow-sweep"


def interval_from_env(environ: dict[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    raw = (env.get("ISOFLOW_SCHEDULER_INTERVAL") or "").strip()
    if not raw:
        return DEFAULT_INTERVAL_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.05 <= value <= 86400:
        raise InvalidInput(f"ISOFLOW_SCHEDULER_INTERVAL={raw!r} is not a number of seconds between 0.05 and 86400",
                           f"ISOFLOW_SCHEDULER_INTERVAL={raw!r} phải là số giây trong khoảng 0.05 đến 86400",
                           code="bad_interval", hint="e.g. ISOFLOW_SCHEDULER_INTERVAL=60",
                           problems=[Problem("bad_interval", "Chu kỳ không hợp lệ.", "Bad interval.",
                                             field="ISOFLOW_SCHEDULER_INTERVAL")])
    return value


def embedded_enabled(environ: dict[str, str] | None = None) -> bool:
    """`isoflow serve` starts the scheduler unless ISOFLOW_SCHEDULER_EMBEDDED is 0/false/no/off
    (deployments with several web workers run `isoflow scheduler` instead)."""
    env = os.environ if environ is None else environ
    return (env.get("ISOFLOW_SCHEDULER_EMBEDDED") or "1").strip().lower() not in {"0", "false", "no", "off"}


def _sweep_job(sweeper: Sweeper, on_report: Callable[[SweepReport], None] | None) -> None:
    try:
        report = sweeper.run_once()
    except Exception:  # the next tick tries again; never kill the scheduler thread
        log.exception("scheduler sweep failed")
        return
    if report.fired or report.deliveries or report.timers or report.errors:
        log.info(report.summary())
    if on_report is not None:
        on_report(report)


def _add_job(scheduler, rt, interval: float | None, channel_settings, on_report) -> None:
    sweeper = Sweeper(rt, channel_settings=channel_settings or ChannelSettings.from_env())
    scheduler.add_job(_sweep_job, "interval", seconds=interval or interval_from_env(), args=(sweeper, on_report),
                      id=JOB_ID, max_instances=1, coalesce=True, next_run_time=_now())


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def start(rt, *, interval: float | None = None, channel_settings: ChannelSettings | None = None,
          on_report: Callable[[SweepReport], None] | None = None) -> Callable[[], None]:
    """Start sweeping in a background thread now and every `interval` seconds;
    return a function that stops it (waiting for a running sweep to finish)."""
    scheduler = BackgroundScheduler(timezone="UTC")
    _add_job(scheduler, rt, interval, channel_settings, on_report)
    scheduler.start()

    def stop() -> None:
        if scheduler.running:
            scheduler.shutdown(wait=True)

    return stop


def run_forever(rt, *, interval: float | None = None, channel_settings: ChannelSettings | None = None,
                on_report: Callable[[SweepReport], None] | None = None) -> None:
    """Block and sweep until interrupted (`isoflow scheduler`)."""
    scheduler = BlockingScheduler(timezone="UTC")
    _add_job(scheduler, rt, interval, channel_settings, on_report)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PARENT_POLL_SECONDS = 1.0


def set_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send `signum` to this process when its parent dies (prctl
    PR_SET_PDEATHSIG); False elsewhere or when refused. A process orphaned by a
    kill -9 of its parent would otherwise run on, holding ports and sweeping alone."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def exit_with_parent(parent_pid: int, on_parent_exit: Callable[[], None]) -> threading.Thread:
    """Call `on_parent_exit` once the process `parent_pid` is gone: SIGTERM through
    PR_SET_PDEATHSIG on Linux (the caller's SIGTERM handler runs), and a watchdog
    thread polling the parent pid as the fallback (other systems, or a parent that
    died before the prctl call took effect)."""
    set_parent_death_signal(signal.SIGTERM)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        log.warning("parent process %s is gone; stopping", parent_pid)
        on_parent_exit()

    watchdog = threading.Thread(target=watch, name="isoflow-parent-watchdog", daemon=True)
    watchdog.start()
    return watchdog
