"""Time buckets of aggregate queries, shared by both backends.

A query asks for buckets of ``every_s`` seconds over the half-open range
``[start, end)``. Without a time zone, buckets start at multiples of ``every_s``
since the epoch. With a time zone, a whole number of days is a calendar interval:
each bucket starts at local midnight, so a day with a clock change has 23 or 25
hours. A shorter interval in a time zone is aligned to the local clock at ``start``.

Each backend returns partial aggregates per cell (a cell is a part of one bucket,
such as one rollup row), and ``combine`` merges the cells into buckets. The partial
state of each aggregate is: mean ``(sum, count)``, min and max the value, count the
number, last ``(ts_ns, value)``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from historian.timestamps import NS_PER_S

AGGREGATES = ("mean", "min", "max", "last", "count")
DAY_S = 86400
NS_PER_DAY = DAY_S * NS_PER_S


@dataclass(frozen=True)
class BucketPlan:
    """Buckets over [start_ns, end_ns): a fixed grid, or calendar edges."""

    start_ns: int
    end_ns: int
    width_ns: int
    origin_ns: int = 0
    # Start of every calendar bucket plus the end of the last; empty for a grid.
    edges: tuple[int, ...] = ()

    def bucket_of(self, ts_ns: int) -> int:
        """Return the start of the bucket that holds ts_ns."""
        if self.edges:
            index = bisect.bisect_right(self.edges, ts_ns) - 1
            return self.edges[max(index, 0)]
        return ts_ns - (ts_ns - self.origin_ns) % self.width_ns

    def aligned_to(self, step_ns: int) -> bool:
        """Return True when every bucket edge is a multiple of step_ns."""
        if self.edges:
            return all(edge % step_ns == 0 for edge in self.edges)
        return self.width_ns % step_ns == 0 and self.origin_ns % step_ns == 0

    def cell_ns(self) -> int:
        """Return the widest grid step that never straddles a bucket edge."""
        if not self.edges:
            return self.width_ns
        for step_s in (3600, 60, 1):
            if self.aligned_to(step_s * NS_PER_S):
                return step_s * NS_PER_S
        return 1


def plan_buckets(
    start_ns: int, end_ns: int, every_s: float, tz: str | None = None
) -> BucketPlan:
    """Plan the buckets of one query; raise ValueError for a bad interval."""
    if every_s <= 0:
        raise ValueError(f"invalid interval {every_s!r} s: it must be positive")
    width_ns = round(every_s * NS_PER_S)
    if tz is None:
        return BucketPlan(start_ns, end_ns, width_ns)

    zone = ZoneInfo(tz)
    if width_ns % NS_PER_DAY == 0:
        days = width_ns // NS_PER_DAY
        return BucketPlan(
            start_ns, end_ns, width_ns, edges=_local_days(start_ns, end_ns, days, zone)
        )
    offset = datetime.fromtimestamp(start_ns // NS_PER_S, zone).utcoffset()
    origin_ns = -int(offset.total_seconds()) * NS_PER_S % width_ns
    return BucketPlan(start_ns, end_ns, width_ns, origin_ns=origin_ns)


def _local_days(start_ns: int, end_ns: int, days: int, zone: ZoneInfo) -> tuple:
    """Return local midnights (as UTC ns) from the day of start past end, every days."""
    day = datetime.fromtimestamp(start_ns // NS_PER_S, zone).date()
    edges = []
    while True:
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        edge = int(midnight.timestamp()) * NS_PER_S
        edges.append(edge)
        if edge >= end_ns:
            return tuple(edges)
        day += timedelta(days=days)


def merge(agg: str, state, other):
    if state is None:
        return other
    if agg == "mean":
        return (state[0] + other[0], state[1] + other[1])
    if agg == "min":
        return min(state, other)
    if agg == "max":
        return max(state, other)
    if agg == "count":
        return state + other
    return other if other[0] >= state[0] else state


def final(agg: str, state):
    if agg == "mean":
        return state[0] / state[1]
    if agg == "last":
        return state[1]
    return state


def combine(plan: BucketPlan, agg: str, cells) -> list[tuple[float, float]]:
    """Merge (cell_start_ns, state) pairs into sorted (bucket_start_s, value)."""
    buckets: dict[int, object] = {}
    for cell_start, state in cells:
        if state is None:
            continue
        bucket = plan.bucket_of(cell_start)
        buckets[bucket] = merge(agg, buckets.get(bucket), state)
    return [
        (bucket / NS_PER_S, final(agg, buckets[bucket])) for bucket in sorted(buckets)
    ]


def check_aggregate(agg: str) -> None:
    if agg not in AGGREGATES:
        raise ValueError(
            f"unknown aggregate {agg!r}; use one of {', '.join(AGGREGATES)}"
        )
