"""The one in-process cache: a bounded, thread-safe LRU map, and on top of it the cache
of reference data validated by change tokens.

Instances belong to a `engine.runtime.Runtime`; nothing here is module-level state, so
runtimes living side by side (tests, benchmarks) never see each other's entries.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


class LruCache(Generic[K, V]):
    """At most `capacity` values, the least recently used dropped first. Values are
    shared between threads: callers must not change them."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        """The cached value, or `load()`'s, stored. `load` runs outside the lock (it may
        query the database): two threads missing at once both load, the last one stays."""
        value = self.get(key)
        if value is None:
            value = load()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items


class ChangeTokenCache:
    """Reference data (roles, calendar overrides, escalation policies) read once per
    change instead of once per use case.

    Database triggers keep a change token per kind of data (migration 0003,
    `engine.adapters.db.revisions`). A token names one state of the rows behind it, so
    a cached value is used only while the token read in the current transaction is the
    one it was loaded under. Without a token (a database emptied by TRUNCATE in tests)
    nothing is cached."""

    def __init__(self, capacity: int = 4096) -> None:
        self._values: LruCache[tuple[Any, ...], Any] = LruCache(capacity)

    def get(self, kind: str, key: Hashable, tokens: Mapping[str, str], load: Callable[[], T]) -> T:
        token = tokens.get(kind)
        if token is None:
            return load()
        return self._values.get_or_load((kind, token, key), load)

    def clear(self) -> None:
        self._values.clear()

    def __len__(self) -> int:
        return len(self._values)
