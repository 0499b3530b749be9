"""Give SpiffWorkflow's timers the injected clock.

SpiffWorkflow's timer event definitions read "now" from the `datetime` name of their
module. We replace that name once with a `datetime` subclass whose `now()` answers
the instant set by `spiff_now(...)` for the current thread/context (a ContextVar), and
the real time otherwise. Nothing else changes, and concurrent threads with different
clocks (web requests, the scheduler, tests) never see each other's instant.
"""
from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime as _real_datetime

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

_current: contextvars.ContextVar[_real_datetime | None] = contextvars.ContextVar("isoflow_spiff_now", default=None)


class _ClockedDatetime(_real_datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        at = _current.get()
        if at is None:
            return _real_datetime.now(tz)
        return at.astimezone(tz) if tz is not None else at.astimezone().replace(tzinfo=None)

    @classmethod
    def utcnow(cls):  # type: ignore[override]
        at = _current.get()
        if at is None:
            return _real_datetime.utcnow()
        return at.astimezone(_timezone_utc()).replace(tzinfo=None)


def _timezone_utc():
    from datetime import timezone

    return timezone.utc


def install() -> None:
    """Idempotent: route the timer module's clock through `spiff_now`."""
    if _timer_module.datetime is not _ClockedDatetime:
        _timer_module.datetime = _ClockedDatetime


@contextmanager
def spiff_now(at: _real_datetime) -> Iterator[None]:
    """Within the block, SpiffWorkflow timers see `at` as the current instant."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("spiff_now needs a timezone-aware instant")
    install()
    token = _current.set(at)
    try:
        yield
    finally:
        _current.reset(token)


install()
