"""Alarm rules of a tag, and the site-wide alarm settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from vigie.config.base import NAME_PATTERN, Frozen, Priority


class LimitAlarm(Frozen):
    """A limit or discrete-state alarm on one tag."""

    type: Literal["high_high", "high", "low", "low_low", "discrete"]
    # Limit in the tag's engineering unit. Not used by discrete alarms.
    limit: float | None = None
    # A discrete alarm is active while the tag equals this value.
    value: bool | int | None = None
    # An active limit alarm clears only once the value is this far back inside.
    deadband: float = Field(default=0.0, ge=0.0)
    # Seconds the condition must hold before the alarm becomes active; 0 = at once.
    on_delay_s: float = Field(default=0.0, ge=0.0)
    # Seconds the condition must be gone before the alarm clears; 0 = at once.
    off_delay_s: float = Field(default=0.0, ge=0.0)
    priority: Priority = "medium"
    enabled: bool = True
    message: str = ""

    @model_validator(mode="after")
    def _check_kind(self) -> LimitAlarm:
        if self.type == "discrete":
            if self.value is None:
                raise ValueError("a discrete alarm needs 'value' (the alarm state)")
        elif self.limit is None:
            raise ValueError(f"a {self.type} alarm needs 'limit'")
        return self


class TagBase(Frozen):
    name: str = Field(pattern=NAME_PATTERN)
    unit: str = ""
    description: str = ""
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
        return alarms


class AlarmsConfig(Frozen):
    """Site-wide alarm settings (the top-level ``alarms:`` section)."""
