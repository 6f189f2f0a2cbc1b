"""Alarm flood detection per area, as EEMUA 191 defines a flood: more than a set
number of new alarms (10 by default) within a window (10 minutes by default)."""

from __future__ import annotations

from collections import deque

from vigie.config import AlarmsConfig

FLOOD = "flood"


class FloodDetector:
    """Counts the shown activations of each area over a sliding window.

    The engine raises ``<area>.flood`` when ``entered`` returns True and clears it
    when ``ended`` returns True; flood alarms themselves are never counted.
    """

    def __init__(self, settings: AlarmsConfig):
        self.threshold = settings.flood_alarms
        self.clear_at = settings.flood_clear_alarms
        self.window_s = settings.flood_window_s
        self._times: dict[str, deque[float]] = {}

    def add(self, area: str, ts: float) -> bool:
        """Count one activation at ``ts``; return True when the window is over the
        threshold."""
        times = self._times.setdefault(area, deque())
        times.append(ts)
        self._expire(times, ts)
        return len(times) > self.threshold

    def calm(self, area: str, now: float) -> bool:
        """Return True when the window ending at ``now`` contains few enough alarms for
        a flood to end."""
        times = self._times.get(area)
        if times is None:
            return True
        self._expire(times, now)
        return len(times) <= self.clear_at

    def _expire(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window_s:
            times.popleft()
