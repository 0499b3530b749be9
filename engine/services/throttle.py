"""Rate limits for anonymous endpoints (the public dossier lookup).

Built on the `limits` package (moving windows, in-process memory storage). Each
worker process keeps its own counters, so with N workers a client gets at most N
times the limit; the appointment-slip PIN stays hard to guess at that rate (a
6-digit PIN has a million values). Login throttling is stricter and shared: it
counts audited failures in the database (engine.services.auth).
"""
from __future__ import annotations

import time

from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from engine.errors import InvalidInput, TooManyAttempts


class RateLimiter:
    def __init__(self, spec: str) -> None:
        """`spec` like "10/minute;60/hour": every limit applies to each key."""
        try:
            self.limits = parse_many(spec)
        except ValueError as exc:
            raise InvalidInput(f"bad rate limit {spec!r}: {exc}", f"giới hạn tần suất {spec!r} không hợp lệ",
                               code="bad_rate_limit", hint='write limits like "10/minute;60/hour"') from exc
        self.storage = MemoryStorage()
        self.strategy = MovingWindowRateLimiter(self.storage)

    def hit(self, *keys: str) -> None:
        """Count one attempt for each key; raise TooManyAttempts when any limit is used up."""
        for limit in self.limits:
            for key in keys:
                if not self.strategy.hit(limit, key):
                    reset_at, _ = self.strategy.get_window_stats(limit, key)
                    retry = int(reset_at - time.time()) + 1
                    raise TooManyAttempts(
                        "too many lookups; wait a moment and try again",
                        "tra cứu quá nhiều lần; hãy chờ một lát rồi thử lại",
                        retry_after=retry)

    def reset(self) -> None:
        self.storage.reset()
