"""Bucketed history for the scheduled rules, read through the historian's reader."""

from __future__ import annotations

import math
from typing import Protocol

AGGREGATES = ("sum", "mean", "min", "max", "count")


class AggregateSource(Protocol):
    def aggregate(
        self, tag: str, start: float, end: float, every_s: float, agg: str
    ) -> list[tuple[float, float]]:
        """Return (bucket start, value) for start <= bucket start < end, buckets
        aligned to multiples of ``every_s`` since the epoch, empty buckets left out."""


class ReaderAggregates:
    """AggregateSource over a historian reader.

    It uses the reader's ``query_aggregate`` when the backend has one, and else
    groups ``query_raw`` rows in Python. Only numeric GOOD and UNCERTAIN samples
    count.
    """

    def __init__(self, reader):
        self.reader = reader

    def aggregate(
        self, tag: str, start: float, end: float, every_s: float, agg: str
    ) -> list[tuple[float, float]]:
        if agg not in AGGREGATES:
            raise ValueError(f"unknown aggregate {agg!r}; use one of {AGGREGATES}")

        query_aggregate = getattr(self.reader, "query_aggregate", None)
        if query_aggregate is not None:
            if agg != "sum":
                return _within(
                    query_aggregate(tag, start, end, every_s, agg), start, end
                )
            # The historian offers mean and count, whose product is the sum.
            means = _within(
                query_aggregate(tag, start, end, every_s, "mean"), start, end
            )
            counts = dict(query_aggregate(tag, start, end, every_s, "count"))
            return [(ts, mean * counts.get(ts, 0.0)) for ts, mean in means]

        # The raw end bound is inclusive, so a sample at ``end`` is dropped below.
        buckets: dict[float, list[float]] = {}
        for ts, value, quality in self.reader.query_raw(tag, start, end):
            if ts >= end or quality >= 2 or not _is_number(value):
                continue
            bucket = math.floor(ts / every_s) * every_s
            buckets.setdefault(bucket, []).append(float(value))
        return [
            (bucket, _reduce(values, agg)) for bucket, values in sorted(buckets.items())
        ]


def _within(rows, start: float, end: float) -> list[tuple[float, float]]:
    return [
        (float(ts), float(value))
        for ts, value in rows
        if value is not None and start <= ts < end
    ]


def _is_number(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (not math.isnan(value))
    )


def _reduce(values: list[float], agg: str) -> float:
    if agg == "sum":
        return sum(values)
    if agg == "mean":
        return sum(values) / len(values)
    if agg == "min":
        return min(values)
    if agg == "max":
        return max(values)
    return float(len(values))
