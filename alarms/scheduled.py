"""Scheduled rules over historian aggregates: high consumption against the same
period a year earlier, and minimum night flow against its recent baseline.

Each rule returns a Verdict: the condition (None when the history is too thin to
judge, which leaves the alarm as it is), the value shown to the operator and the
reason journaled with the change.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import statistics
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from alarms.history import AggregateSource
from vigie.config.alarms import SiteRule, clock_minutes

log = logging.getLogger(__name__)

DAY_S = 86400.0


@dataclass(slots=True, frozen=True)
class Verdict:
    condition: bool | None
    value: float | None
    reason: str


def exceeds(value: float, reference: float, rule: SiteRule) -> bool:
    return value > reference * rule.max_ratio and value - reference >= rule.min_increase


class HighConsumption:
    """A meter's consumption over ``period_days`` against the same period
    ``compare_shift_days`` earlier. Both periods end on a whole bucket, and each
    needs ``min_coverage`` of its buckets filled, else there is no verdict."""

    def __init__(self, rule: SiteRule):
        self.rule = rule
        self.next_due: float | None = None

    def due(self, now: float) -> bool:
        return self.next_due is None or now >= self.next_due

    def evaluate(self, history: AggregateSource, now: float) -> Verdict:
        rule = self.rule
        self.next_due = now + rule.check_interval_s

        end = math.floor(now / rule.bucket_s) * rule.bucket_s
        period_s = rule.period_days * DAY_S
        shift_s = rule.compare_shift_days * DAY_S
        current = self.consumption(history, end - period_s, end)
        reference = self.consumption(history, end - period_s - shift_s, end - shift_s)
        if current is None:
            return Verdict(None, None, "not enough data in the current period")
        if reference is None:
            return Verdict(None, current, "not enough data a year earlier")

        verdict = exceeds(current, reference, rule)
        ratio = f"{current / reference:.2f}x" if reference > 0 else "n/a"
        relation = "above" if verdict else "within"
        reason = (
            f"consumption {current:.6g} over {rule.period_days:g} days is {relation}"
            f" {rule.max_ratio:g}x the {reference:.6g} of the same period"
            f" {rule.compare_shift_days:g} days earlier ({ratio})"
        )
        return Verdict(verdict, round(current, 6), reason)

    def consumption(
        self, history: AggregateSource, start: float, end: float
    ) -> float | None:
        """Return the consumption from start to end, or None with too few buckets."""
        rule = self.rule
        expected = round((end - start) / rule.bucket_s)
        if rule.meter == "counter":
            highs = history.aggregate(rule.tag, start, end, rule.bucket_s, "max")
            lows = history.aggregate(rule.tag, start, end, rule.bucket_s, "min")
            if len(highs) < rule.min_coverage * expected or not lows:
                return None
            return max(value for _, value in highs) - min(value for _, value in lows)

        agg = "sum" if rule.meter == "interval" else "mean"
        buckets = history.aggregate(rule.tag, start, end, rule.bucket_s, agg)
        if len(buckets) < rule.min_coverage * expected:
            return None

        # Missing buckets are filled with the mean of the present ones.
        mean = sum(value for _, value in buckets) / len(buckets)
        if rule.meter == "interval":
            return mean * expected
        return mean * (end - start) / 3600.0


class MinNightFlow:
    """The lowest flow of the last complete night (site time) against the median
    of the lowest flows of the ``baseline_nights`` nights before it."""

    def __init__(self, rule: SiteRule, timezone: str):
        self.rule = rule
        self.zone = ZoneInfo(timezone)
        self.start_minutes = clock_minutes(rule.night_start)
        self.end_minutes = clock_minutes(rule.night_end)
        self.evaluated_night: dt.date | None = None

    def due(self, now: float) -> bool:
        return self.last_night(now) != self.evaluated_night

    def night_bounds(self, night: dt.date) -> tuple[float, float]:
        """Return the UTC bounds of the night that ends on the local date ``night``."""
        start_day = night
        if self.start_minutes > self.end_minutes:
            start_day = night - dt.timedelta(days=1)
        return self._at(start_day, self.start_minutes), self._at(
            night, self.end_minutes
        )

    def last_night(self, now: float) -> dt.date:
        today = dt.datetime.fromtimestamp(now, self.zone).date()
        if self.night_bounds(today)[1] <= now:
            return today
        return today - dt.timedelta(days=1)

    def evaluate(self, history: AggregateSource, now: float) -> Verdict:
        rule = self.rule
        night = self.last_night(now)
        self.evaluated_night = night

        nights = [night - dt.timedelta(days=i) for i in range(rule.baseline_nights + 1)]
        bounds = [self.night_bounds(day) for day in nights]
        buckets = history.aggregate(
            rule.tag, bounds[-1][0], bounds[0][1], rule.bucket_s, "min"
        )
        minimums = [self._night_minimum(buckets, start, end) for start, end in bounds]

        last = minimums[0]
        baseline_values = [value for value in minimums[1:] if value is not None]
        if last is None:
            return Verdict(None, None, f"not enough data in the night of {night}")
        if len(baseline_values) < rule.min_baseline_nights:
            return Verdict(
                None,
                last,
                f"only {len(baseline_values)} nights of baseline before {night}",
            )

        baseline = statistics.median(baseline_values)
        verdict = exceeds(last, baseline, rule)
        relation = "above" if verdict else "within"
        reason = (
            f"minimum night flow {last:.6g} on {night} is {relation}"
            f" {rule.max_ratio:g}x the baseline {baseline:.6g}"
            f" (median of {len(baseline_values)} nights)"
        )
        return Verdict(verdict, round(last, 6), reason)

    def _night_minimum(
        self, buckets: list[tuple[float, float]], start: float, end: float
    ) -> float | None:
        inside = [value for ts, value in buckets if start <= ts < end]
        expected = max(1, round((end - start) / self.rule.bucket_s))
        if len(inside) < self.rule.min_coverage * expected:
            return None
        return min(inside)

    def _at(self, day: dt.date, minutes: int) -> float:
        local = dt.datetime.combine(
            day, dt.time(minutes // 60, minutes % 60), tzinfo=self.zone
        )
        return local.timestamp()


ScheduledRule = HighConsumption | MinNightFlow
