"""Trend queries in worker threads, so that no Dash callback waits on the historian.

Dash's Interval fires on time whatever the server does, and the browser drops the
answer of a callback that a newer one of the same output overtakes. A history query
slower than the refresh interval would then never reach the page. The trend
callback reads this cache instead: it returns the last result at once and starts
at most one query per trend form in a worker thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

# Trend forms kept; the least recently used one goes first.
MAX_ENTRIES = 16


@dataclass
class CacheEntry:
    data: object = None
    error: Exception | None = None
    # Counts finished queries, so a callback can tell a new result from an old one.
    version: int = 0
    fetched_at: float | None = None
    running: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class TrendCache:
    """Results of ``fetch(key)`` by key, refreshed in the background.

    ``fetch`` runs in a worker thread; at most one runs per key at a time.
    """

    def __init__(
        self,
        fetch: Callable[[Hashable], object],
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ):
        self._fetch = fetch
        self._clock = clock
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, CacheEntry] = OrderedDict()
        self._failing = False

    def get(self, key: Hashable, max_age_s: float, wait_s: float = 0.0) -> CacheEntry:
        """Return the entry of ``key``, refreshing it in the background when it is
        older than ``max_age_s``. Waits up to ``wait_s`` when there is no result yet.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = CacheEntry()
                self._entries[key] = entry
                self._evict()
            self._entries.move_to_end(key)
            age = None
            if entry.fetched_at is not None:
                age = self._clock() - entry.fetched_at
            if not entry.running and (age is None or age >= max_age_s):
                entry.running = True
                entry.done.clear()
                threading.Thread(
                    target=self._refresh,
                    args=(key, entry),
                    name="trend-query",
                    daemon=True,
                ).start()
            first = entry.version == 0
        if first and wait_s > 0:
            entry.done.wait(wait_s)
        return entry

    def running(self) -> int:
        with self._lock:
            return sum(1 for entry in self._entries.values() if entry.running)

    def _refresh(self, key: Hashable, entry: CacheEntry) -> None:
        try:
            data = self._fetch(key)
        except Exception as error:  # noqa: BLE001 - shown on the trend, logged once
            with self._lock:
                entry.error = error
                entry.fetched_at = self._clock()
                entry.version += 1
                entry.running = False
                if not self._failing:
                    logger.error("Trend query of %s failed: %s", key, error)
                self._failing = True
            entry.done.set()
            return

        with self._lock:
            entry.data = data
            entry.error = None
            entry.fetched_at = self._clock()
            entry.version += 1
            entry.running = False
            if self._failing:
                logger.info("Trend queries succeed again")
            self._failing = False
        entry.done.set()

    def _evict(self) -> None:
        idle = [key for key, entry in self._entries.items() if not entry.running]
        while len(self._entries) > self._max_entries and idle:
            del self._entries[idle.pop(0)]
