"""The injected clock. Nothing in the engine calls `datetime.now()` directly, so tests,
the scheduler's `run-once --now` and benchmarks can run at any instant."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that only moves when told to (tests, simulations, `--now` sweeps)."""

    def __init__(self, at: datetime) -> None:
        self._lock = threading.Lock()
        self._now = _require_aware(at)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, at: datetime) -> None:
        with self._lock:
            self._now = _require_aware(at)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now = self._now + delta
            return self._now


def _require_aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("clock instants must be timezone-aware")
    return at.astimezone(timezone.utc)
