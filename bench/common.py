"""What several benchmarks share: emptying a PostgreSQL database they were given, and
the median of repeated timings. Benchmarks import it as `bench.common` after putting
the repository root on `sys.path`."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from sqlalchemy import text

from engine.adapters.db.session import Database


def reset_database(url: str) -> None:
    """Drop everything in a PostgreSQL database (SQLite benches start from a new file)."""
    db = Database(url)
    try:
        if db.dialect == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
    finally:
        db.dispose()


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of `repeat` calls, after one call that warms the caches a
    running server would have warm."""
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000
