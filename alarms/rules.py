"""Alarm conditions on one tag's value: limit alarms with deadband, discrete alarms.

A rule only decides whether its condition holds for one value. The on/off delay
and the ISA-18.2 state are kept by ``alarms.alarm.Alarm``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vigie.config import LimitAlarm
from vigie.model import Value

ABOVE_TYPES = ("high", "high_high")
BELOW_TYPES = ("low", "low_low")


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

    def condition(self, value: Value, active: bool) -> bool | None:
        """Return whether the alarm condition holds, or None for an unusable value.

        ``active`` is the alarm's current condition, which selects the limit to
        compare against. Bool, string, None and NaN values are unusable.
        """
        if type(value) is bool or not isinstance(value, (int, float)):
            return None
        if math.isnan(value):
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

    value: bool | int

    def condition(self, value: Value, active: bool) -> bool | None:
        if value is None:
            return None
        return value == self.value

    def describe(self, value: Value, active: bool) -> str:
        relation = "=" if active else "!="
        return f"value {value} {relation} alarm value {self.value}"


Rule = LimitRule | DiscreteRule


def make_rule(alarm: LimitAlarm) -> Rule:
    """Build the rule of one configured alarm."""
    if alarm.type == "discrete":
        return DiscreteRule(value=alarm.value)
    return LimitRule(
        above=alarm.type in ABOVE_TYPES,
        limit=float(alarm.limit),
        deadband=alarm.deadband,
    )


def default_message(alarm: LimitAlarm, tag_label: str, unit: str) -> str:
    """Return the operator message used when the config gives none."""
    if alarm.type == "discrete":
        return f"{tag_label} is {alarm.value}"

    direction = "above" if alarm.type in ABOVE_TYPES else "below"
    limit = f"{alarm.limit:g} {unit}".rstrip()
    return f"{tag_label} {direction} {limit}"
