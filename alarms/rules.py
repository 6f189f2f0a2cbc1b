"""Alarm conditions evaluated on samples: limits, discrete states, rate of change,
deviation from a setpoint, bad quality and expressions over several tags.

A rule only decides whether its condition holds. The on/off delay and the ISA-18.2
state are kept by ``alarms.alarm.Alarm``. Rules that read several tags get the
engine's table of latest values, updated before they are evaluated.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from alarms.expressions import Expression, parse_expression
from vigie.config import LimitAlarm
from vigie.config.alarms import LIMIT_TYPES
from vigie.model import Quality, Sample, Value

ABOVE_TYPES = ("high", "high_high")
BELOW_TYPES = ("low", "low_low")


def _usable(value: Value) -> bool:
    if type(value) is bool or not isinstance(value, (int, float)):
        return False
    return not math.isnan(value)


@dataclass(slots=True, frozen=True)
class LimitRule:
    """A high, high_high, low or low_low limit with a deadband.

    A high alarm becomes active at ``value > limit`` (strictly: a value equal to
    the limit raises nothing) and clears only at ``value < limit - deadband``, so a
    value equal to ``limit - deadband`` keeps it active. Low alarms mirror this:
    active at ``value < limit``, cleared at ``value > limit + deadband``.
    """

    above: bool
    limit: float
    deadband: float
    reads_bad = False

    def condition(self, sample: Sample, active: bool) -> bool | None:
        """Return whether the alarm condition holds, or None for an unusable value.

        ``active`` is the alarm's current condition, which selects the limit to
        compare against. Bool, string, None and NaN values are unusable.
        """
        return self.compare(sample.value, active)

    def compare(self, value: Value, active: bool) -> bool | None:
        if not _usable(value):
            return None

        if self.above:
            if active:
                return value >= self.limit - self.deadband
            return value > self.limit

        if active:
            return value <= self.limit + self.deadband
        return value < self.limit

    def describe(self, value: Value, active: bool) -> str:
        """Return the reason text for a change of the condition to ``active``."""
        if self.above:
            if active:
                return f"value {value} > limit {self.limit:g}"
            clear_at = self.limit - self.deadband
            return f"value {value} < {clear_at:g} (limit {self.limit:g} - deadband)"

        if active:
            return f"value {value} < limit {self.limit:g}"
        clear_at = self.limit + self.deadband
        return f"value {value} > {clear_at:g} (limit {self.limit:g} + deadband)"


@dataclass(slots=True, frozen=True)
class DiscreteRule:
    """Active while the tag equals ``value``, compared as Python does (True == 1)."""

    value: bool | int | str
    reads_bad = False

    def condition(self, sample: Sample, active: bool) -> bool | None:
        if sample.value is None:
            return None
        return sample.value == self.value

    def describe(self, value: Value, active: bool) -> str:
        relation = "=" if active else "!="
        return f"value {value} {relation} alarm value {self.value}"


@dataclass(slots=True)
class RateRule:
    """Rate of change between the oldest sample of the window and the newest.

    The rate is in tag units per second or per minute; ``direction`` picks rising,
    falling or both. The deadband applies to the rate as to a high limit.
    """

    window_s: float
    per_s: float
    direction: str
    limit: LimitRule
    history: deque = field(default_factory=deque)
    reads_bad = False

    def condition(self, sample: Sample, active: bool) -> bool | None:
        if not _usable(sample.value):
            return None

        history = self.history
        history.append((sample.ts, sample.value))
        while history and history[0][0] < sample.ts - self.window_s:
            history.popleft()
        first_ts, first_value = history[0]
        if sample.ts <= first_ts:
            return None

        rate = (sample.value - first_value) / (sample.ts - first_ts) * self.per_s
        if self.direction == "falling":
            rate = -rate
        elif self.direction == "both":
            rate = abs(rate)
        return self.limit.compare(rate, active)

    def describe(self, value: Value, active: bool) -> str:
        unit = "s" if self.per_s == 1.0 else "min"
        relation = ">" if active else "<"
        bound = self.limit.limit if active else self.limit.limit - self.limit.deadband
        return f"rate of change {relation} {bound:g}/{unit} ({self.direction})"


@dataclass(slots=True)
class DeviationRule:
    """Active while the value is more than ``limit`` away from the setpoint tag."""

    tag: str
    setpoint: str
    limit: LimitRule
    latest: Mapping[str, object]
    reads_bad = False

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.tag, self.setpoint)

    def condition(self, sample: Sample, active: bool) -> bool | None:
        value = self.latest.get(self.tag)
        setpoint = self.latest.get(self.setpoint)
        if not _usable(value) or not _usable(setpoint):
            return None
        return self.limit.compare(abs(value - setpoint), active)

    def describe(self, value: Value, active: bool) -> str:
        setpoint = self.latest.get(self.setpoint)
        if active:
            return (
                f"value {value} deviates from setpoint {setpoint} by more than"
                f" {self.limit.limit:g}"
            )
        return f"value {value} back within {self.limit.limit:g} of setpoint {setpoint}"


@dataclass(slots=True, frozen=True)
class BadQualityRule:
    """Active while the tag's samples are BAD; the alarm's on-delay is ``after_s``."""

    reads_bad = True

    def condition(self, sample: Sample, active: bool) -> bool | None:
        return sample.quality == Quality.BAD

    def describe(self, value: Value, active: bool) -> str:
        return "samples are BAD" if active else "samples are good again"


@dataclass(slots=True, frozen=True)
class StaleRule:
    """Active while no fresh sample arrived for ``after_s``; evaluated on ``tick``.

    A GOOD or UNCERTAIN sample is fresh and clears the condition; a BAD one is not.
    """

    after_s: float
    reads_bad = True

    def condition(self, sample: Sample, active: bool) -> bool | None:
        if sample.quality == Quality.BAD:
            return None
        return False

    def describe(self, value: Value, active: bool) -> str:
        if active:
            return f"no new sample for {self.after_s:g} s"
        return "new sample received"


@dataclass(slots=True)
class ExpressionRule:
    """Active while an expression over several tags is true."""

    expression: Expression
    latest: Mapping[str, object]
    reads_bad = True

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.expression.tags

    def condition(self, sample: Sample | None, active: bool) -> bool | None:
        result = self.expression(self.latest)
        if result is None:
            return None
        return bool(result)

    def describe(self, value: Value, active: bool) -> str:
        relation = "true" if active else "false"
        return f"{self.expression.text} is {relation}"


Rule = (
    LimitRule
    | DiscreteRule
    | RateRule
    | DeviationRule
    | BadQualityRule
    | StaleRule
    | ExpressionRule
)


def make_rule(
    alarm: LimitAlarm, tag: str, latest: Mapping[str, object], stale_after_s: float
) -> Rule:
    """Build the rule of one configured tag alarm."""
    if alarm.type == "discrete":
        return DiscreteRule(value=alarm.value)
    if alarm.type in LIMIT_TYPES:
        return LimitRule(
            above=alarm.type in ABOVE_TYPES,
            limit=float(alarm.limit),
            deadband=alarm.deadband,
        )

    magnitude = LimitRule(
        above=True, limit=float(alarm.limit or 0.0), deadband=alarm.deadband
    )
    if alarm.type == "rate_of_change":
        per_s = 1.0 if alarm.per == "second" else 60.0
        return RateRule(alarm.window_s, per_s, alarm.direction, magnitude)
    if alarm.type == "deviation":
        return DeviationRule(tag, alarm.setpoint, magnitude, latest)
    if alarm.type == "bad_quality":
        return BadQualityRule()
    return StaleRule(after_s=stale_after_s)


def make_expression_rule(text: str, latest: Mapping[str, object]) -> ExpressionRule:
    return ExpressionRule(parse_expression(text), latest)


def default_message(alarm: LimitAlarm, tag_label: str, unit: str) -> str:
    """Return the operator message used when the config gives none."""
    if alarm.type == "discrete":
        return f"{tag_label} is {alarm.value}"
    if alarm.type == "rate_of_change":
        return f"{tag_label} changes faster than {alarm.limit:g} {unit}/{alarm.per}"
    if alarm.type == "deviation":
        return (
            f"{tag_label} deviates from {alarm.setpoint} by more than {alarm.limit:g}"
        )
    if alarm.type == "bad_quality":
        return f"{tag_label}: bad quality"
    if alarm.type == "stale":
        return f"{tag_label}: no new data"

    direction = "above" if alarm.type in ABOVE_TYPES else "below"
    limit = f"{alarm.limit:g} {unit}".rstrip()
    return f"{tag_label} {direction} {limit}"
