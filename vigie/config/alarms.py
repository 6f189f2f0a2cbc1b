"""Alarm rules of a tag, site-wide alarm rules and the alarm-system settings."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from vigie.config.base import MAX_NAME_LENGTH, NAME_PATTERN, Frozen, Priority

LIMIT_TYPES = ("high_high", "high", "low", "low_low")

# Keys that only some alarm types take; every other key applies to every type.
TAG_KEYS_BY_TYPE = {
    "limit": LIMIT_TYPES + ("rate_of_change", "deviation"),
    "deadband": LIMIT_TYPES + ("rate_of_change", "deviation"),
    "value": ("discrete",),
    "per": ("rate_of_change",),
    "window_s": ("rate_of_change",),
    "direction": ("rate_of_change",),
    "setpoint": ("deviation",),
    "after_s": ("bad_quality",),
    "after_polls": ("stale",),
}

SITE_KEYS_BY_TYPE = {
    "name": ("expression",),
    "expression": ("expression",),
    "on_delay_s": ("expression",),
    "off_delay_s": ("expression",),
    "tag": ("high_consumption", "min_night_flow"),
    "max_ratio": ("high_consumption", "min_night_flow"),
    "min_increase": ("high_consumption", "min_night_flow"),
    "bucket_s": ("high_consumption", "min_night_flow"),
    "min_coverage": ("high_consumption", "min_night_flow"),
    "period_days": ("high_consumption",),
    "compare_shift_days": ("high_consumption",),
    "meter": ("high_consumption",),
    "check_interval_s": ("high_consumption",),
    "night_start": ("min_night_flow",),
    "night_end": ("min_night_flow",),
    "baseline_nights": ("min_night_flow",),
    "min_baseline_nights": ("min_night_flow",),
}

CLOCK_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"


def _check_keys(model: Frozen, rule_type: str, keys_by_type: dict) -> None:
    for key in sorted(model.model_fields_set):
        types = keys_by_type.get(key)
        if types is not None and rule_type not in types:
            raise ValueError(
                f"{key}: '{key}' does not apply to a {rule_type} alarm; it applies"
                f" to {', '.join(types)}"
            )


def _check_expression(text: str) -> str:
    # Imported here: the alarms package imports this configuration module.
    from alarms.expressions import ExpressionError, parse_expression

    if not text:
        return text
    try:
        parse_expression(text)
    except ExpressionError as err:
        raise ValueError(str(err)) from None
    return text


class AlarmRuleBase(Frozen):
    priority: Priority = "medium"
    enabled: bool = True
    message: str = ""
    # Area of the alarm for flood detection and reports; empty = the device name.
    area: str = ""
    # Expression over tags; while it is true the alarm is suppressed by design.
    suppressed_by: str = ""

    @field_validator("suppressed_by")
    @classmethod
    def _parse_suppressed_by(cls, text: str) -> str:
        return _check_expression(text)


class LimitAlarm(AlarmRuleBase):
    """One alarm rule on one tag. The keys that apply depend on ``type``."""

    type: Literal[
        "high_high",
        "high",
        "low",
        "low_low",
        "discrete",
        "rate_of_change",
        "deviation",
        "bad_quality",
        "stale",
    ]
    # Limit in the tag's engineering unit; per `per` for rate_of_change; the allowed
    # absolute difference from the setpoint tag for deviation.
    limit: float | None = None
    # A discrete alarm is active while the tag equals this value: true or false, a
    # whole number, or a text for a string tag.
    value: bool | int | str | None = None
    # An active limit alarm clears only once the value is this far back inside.
    deadband: float = Field(default=0.0, ge=0.0)
    # Seconds the condition must hold before the alarm becomes active; 0 = at once.
    on_delay_s: float = Field(default=0.0, ge=0.0)
    # Seconds the condition must be gone before the alarm clears; 0 = at once.
    off_delay_s: float = Field(default=0.0, ge=0.0)
    # Time unit of a rate_of_change limit.
    per: Literal["second", "minute"] = "minute"
    # Seconds of samples over which a rate of change is measured.
    window_s: float = Field(default=60.0, gt=0.0)
    direction: Literal["rising", "falling", "both"] = "both"
    # Full name of the setpoint tag of a deviation alarm.
    setpoint: str = ""
    # Seconds a tag must stay BAD before a bad_quality alarm becomes active.
    after_s: float = Field(default=10.0, ge=0.0)
    # Poll intervals of the device without a new sample before a stale alarm.
    after_polls: float = Field(default=3.0, gt=0.0)

    @field_validator("value", mode="before")
    @classmethod
    def _check_value_type(cls, value):
        if value is None or isinstance(value, bool | int | str):
            return value
        raise ValueError(
            f"expected true or false, a whole number or a quoted text, not {value!r}"
        )

    @model_validator(mode="after")
    def _check_kind(self) -> LimitAlarm:
        _check_keys(self, self.type, TAG_KEYS_BY_TYPE)
        if self.type == "discrete":
            if self.value is None:
                raise ValueError("a discrete alarm needs 'value' (the alarm state)")
        elif self.type in TAG_KEYS_BY_TYPE["limit"] and self.limit is None:
            raise ValueError(f"a {self.type} alarm needs 'limit'")
        if self.type == "rate_of_change" and self.limit <= 0:
            raise ValueError("limit: a rate_of_change limit must be above 0")
        if self.type == "deviation":
            if self.limit < 0:
                raise ValueError("limit: a deviation limit must be 0 or more")
            if not self.setpoint:
                raise ValueError(
                    "a deviation alarm needs 'setpoint' (the full name of the"
                    " setpoint tag, such as PS1.pressure_setpoint)"
                )
        return self


# Alarm types that compare a number with a limit.
NUMERIC_ALARM_TYPES = (
    "high_high",
    "high",
    "low",
    "low_low",
    "rate_of_change",
    "deviation",
)


def check_alarm_types(alarms, tag_type: str | None, floating: bool) -> None:
    """Reject limit alarms on bool and string tags, discrete alarms on floats, and
    discrete values that the tag's type can never take.

    Such an alarm would never be evaluated as meant, so it is a config mistake. A
    tag without a type (``None``) takes any alarm.
    """
    for index, alarm in enumerate(alarms):
        if alarm.type == "discrete" and tag_type is not None:
            _check_discrete_value(index, alarm.value, tag_type, floating)
        if alarm.type in NUMERIC_ALARM_TYPES and tag_type in ("bool", "string"):
            raise ValueError(
                f"alarms[{index}].type: a {alarm.type} alarm needs a numeric tag,"
                f" but this tag is {tag_type}; use type: discrete for states"
            )
        if alarm.type == "discrete" and floating:
            raise ValueError(
                f"alarms[{index}].type: a discrete alarm compares exact values, so"
                f" it needs a bool, integer or string tag, not {tag_type}; use a"
                " limit alarm for a float"
            )


def _check_discrete_value(index: int, value, tag_type: str, floating: bool) -> None:
    if floating:
        # The check of discrete alarms on floats that follows reports this case.
        return
    if tag_type == "bool" and not isinstance(value, bool):
        raise ValueError(
            f"alarms[{index}].value: {value!r} never matches a bool tag; use true or"
            " false"
        )
    if tag_type == "string" and not isinstance(value, str):
        raise ValueError(
            f"alarms[{index}].value: {value!r} never matches a string tag; quote the"
            ' text to match, such as "open"'
        )
    if tag_type not in ("bool", "string") and isinstance(value, str):
        raise ValueError(
            f"alarms[{index}].value: the text {value!r} never matches a tag of type"
            f" {tag_type}; use a whole number"
        )


class TagBase(Frozen):
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_LENGTH)
    unit: str = ""
    description: str = ""
    # Area of the tag's alarms; empty = the device's area.
    area: str = ""
    alarms: tuple[LimitAlarm, ...] = ()

    @field_validator("alarms")
    @classmethod
    def _one_alarm_per_type(cls, alarms: tuple[LimitAlarm, ...]):
        seen: set[str] = set()
        for index, alarm in enumerate(alarms):
            if alarm.type in seen:
                raise ValueError(
                    f"[{index}].type: a second {alarm.type} alarm on the same tag;"
                    " each alarm type may appear once per tag"
                )
            seen.add(alarm.type)
        _check_limit_order(alarms)
        return alarms


# Limit types from the lowest to the highest limit they may have.
LIMIT_ORDER = ("low_low", "low", "high", "high_high")


def _check_limit_order(alarms: tuple[LimitAlarm, ...]) -> None:
    limits = [
        (LIMIT_ORDER.index(alarm.type), index, alarm)
        for index, alarm in enumerate(alarms)
        if alarm.type in LIMIT_ORDER and alarm.enabled
    ]
    limits.sort(key=lambda entry: entry[0])
    for (_, _, lower), (_, index, upper) in zip(limits, limits[1:]):
        if upper.limit <= lower.limit:
            raise ValueError(
                f"[{index}].limit: the {upper.type} limit {upper.limit} must be above"
                f" the {lower.type} limit {lower.limit}"
            )


class SiteRule(AlarmRuleBase):
    """A rule over several tags or over history, in the top-level ``alarms.rules``."""

    type: Literal["expression", "high_consumption", "min_night_flow"]
    # Alarm id of an expression rule.
    name: str = Field(default="", pattern=r"^$|^[A-Za-z][A-Za-z0-9_.-]*$")
    # Condition over full tag names: + - * / comparisons and or not abs min max.
    expression: str = ""
    on_delay_s: float = Field(default=0.0, ge=0.0)
    off_delay_s: float = Field(default=0.0, ge=0.0)
    # Full name of the meter or district flow tag of a history rule.
    tag: str = ""
    # Alarm when the value exceeds the reference times max_ratio ...
    max_ratio: float = Field(default=1.3, gt=1.0)
    # ... and also exceeds the reference by at least min_increase (tag unit).
    min_increase: float = Field(default=0.0, ge=0.0)
    # Seconds per history bucket read from the historian.
    bucket_s: float = Field(default=3600.0, gt=0.0)
    # Share of the buckets of a period that must hold data; else no verdict.
    min_coverage: float = Field(default=0.9, gt=0.0, le=1.0)
    period_days: float = Field(default=7.0, gt=0.0, le=366.0)
    # 364 days compares the same weekdays a year earlier.
    compare_shift_days: float = Field(default=364.0, gt=0.0)
    # interval: each sample is the consumption since the previous one; counter: a
    # growing register; flow_rate: a flow in units per hour.
    meter: Literal["interval", "counter", "flow_rate"] = "interval"
    check_interval_s: float = Field(default=3600.0, gt=0.0)
    # Night window in the site time zone, HH:MM; it may cross midnight.
    night_start: str = Field(default="02:00", pattern=CLOCK_PATTERN)
    night_end: str = Field(default="04:00", pattern=CLOCK_PATTERN)
    baseline_nights: int = Field(default=28, ge=3, le=366)
    min_baseline_nights: int = Field(default=14, ge=1, le=366)

    @field_validator("expression")
    @classmethod
    def _parse_expression(cls, text: str) -> str:
        return _check_expression(text)

    @model_validator(mode="after")
    def _check_kind(self) -> SiteRule:
        _check_keys(self, self.type, SITE_KEYS_BY_TYPE)
        if self.type == "expression":
            if not self.name:
                raise ValueError("an expression rule needs 'name' (its alarm id)")
            if not self.expression:
                raise ValueError("an expression rule needs 'expression'")
        elif not self.tag:
            raise ValueError(f"a {self.type} rule needs 'tag' (a full tag name)")
        if self.night_start == self.night_end:
            raise ValueError("night_end: the night window is empty")
        if self.min_baseline_nights > self.baseline_nights:
            raise ValueError(
                "min_baseline_nights: must not exceed baseline_nights"
                f" ({self.baseline_nights})"
            )
        return self


class AlarmsConfig(Frozen):
    """Site-wide alarm settings (the top-level ``alarms:`` section)."""

    rules: tuple[SiteRule, ...] = ()
    # An area is in flood when more than flood_alarms new alarms arrive in
    # flood_window_s; the flood ends once the window contains flood_clear_alarms or
    # fewer.
    flood_alarms: int = Field(default=10, ge=1)
    flood_window_s: float = Field(default=600.0, gt=0.0)
    flood_clear_alarms: int = Field(default=5, ge=0)
    flood_priority: Priority = "high"
    # Maximum time, in seconds, an operator may shelve an alarm for.
    max_shelve_s: float = Field(default=8 * 3600.0, gt=0.0)

    @model_validator(mode="after")
    def _check_flood(self) -> AlarmsConfig:
        if self.flood_clear_alarms >= self.flood_alarms:
            raise ValueError(
                f"flood_clear_alarms: must be below flood_alarms ({self.flood_alarms})"
            )
        return self


def check_alarm_references(config) -> None:
    """Check that every tag an alarm rule names exists; raise ValueError.

    Call from the top-level Config validator, which sees every device. The message
    starts with the key path, as cross-field errors do.
    """
    from alarms.expressions import parse_expression

    known = set(config.tag_names())
    # Declared type of every tag that has one: a Modbus type, or an OPC UA type.
    types = {
        f"{device.name}.{tag.name}": getattr(tag, "type", None)
        for device in config.devices
        for tag in device.tags
    }

    def check(path: str, names) -> None:
        for name in names:
            if name not in known:
                raise ValueError(
                    f"{path}: unknown tag {name!r}; use a full tag name"
                    " <device>.<tag> declared under devices"
                )
            # Setpoints, expressions and rules compare numbers, which a text is not.
            if types[name] == "string":
                raise ValueError(
                    f"{path}: tag {name!r} is a string tag; this key takes a numeric"
                    " or bool tag"
                )

    for d_index, device in enumerate(config.devices):
        for t_index, tag in enumerate(device.tags):
            for a_index, alarm in enumerate(tag.alarms):
                path = f"devices[{d_index}].tags[{t_index}].alarms[{a_index}]"
                if alarm.setpoint:
                    check(f"{path}.setpoint", [alarm.setpoint])
                if alarm.suppressed_by:
                    names = parse_expression(alarm.suppressed_by).tags
                    check(f"{path}.suppressed_by", names)

    for index, rule in enumerate(config.alarms.rules):
        path = f"alarms.rules[{index}]"
        if rule.tag:
            check(f"{path}.tag", [rule.tag])
        if rule.expression:
            check(f"{path}.expression", parse_expression(rule.expression).tags)
        if rule.suppressed_by:
            check(f"{path}.suppressed_by", parse_expression(rule.suppressed_by).tags)


def clock_minutes(text: str) -> int:
    """Return minutes after midnight of an HH:MM text the schema has checked."""
    match = re.match(CLOCK_PATTERN, text)
    if match is None:
        raise ValueError(f"invalid time of day {text!r}; expected HH:MM")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)
