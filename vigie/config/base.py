"""Pieces every configuration section shares: the frozen base model and names."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"
# Maximum length of a device or tag name. Full names appear in logs, SMS texts and
# InfluxDB tags.
MAX_NAME_LENGTH = 64

Priority = Literal["critical", "high", "medium", "low"]
Simulator = Literal["pumping_station", "reservoir", "power_meter", "treatment_plant"]


class Frozen(BaseModel):
    # NaN and infinity are never a valid limit, scale or duration.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _empty_section(cls, data):
        # A section whose keys are all commented out reads as null in YAML.
        if data is None:
            return {}
        if isinstance(data, dict):
            _reject_booleans_for_numbers(cls, data)
        return data


def _reject_booleans_for_numbers(model: type[BaseModel], data: dict) -> None:
    # pydantic takes true as 1 for a number; in a config file that is always a slip.
    for key, value in data.items():
        field = model.model_fields.get(key) if isinstance(key, str) else None
        if field is None or not isinstance(value, bool):
            continue
        if field.annotation in (int, float):
            raise ValueError(f"{key}: expected a number, not a boolean")


class DeviceBase(Frozen):
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_LENGTH)
    description: str = ""
    # Seconds between polls. A poll that overruns its interval is skipped, not queued.
    poll_interval_s: float = Field(default=1.0, gt=0.0, le=86400.0)
    # Seconds to wait for one answer before the request counts as failed.
    timeout_s: float = Field(default=2.0, gt=0.0, le=600.0)
    # Reconnect delays grow from the first to the maximum, with jitter.
    reconnect_min_s: float = Field(default=0.5, gt=0.0)
    reconnect_max_s: float = Field(default=30.0, gt=0.0)
    # Priority of this device's communication-loss alarm.
    comm_alarm_priority: Priority = "high"
    # Area of the device's alarms for flood detection, reports and on-call rosters;
    # empty means the device name.
    area: str = ""
    # Simulator model that `vigie run` starts on this device's address, if any.
    simulate: Simulator | None = None

    @model_validator(mode="after")
    def _check_reconnect_delays(self) -> DeviceBase:
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError(
                f"reconnect_min_s: {self.reconnect_min_s} is above reconnect_max_s"
                f" ({self.reconnect_max_s}); the first reconnect delay must not exceed"
                " the maximum"
            )
        return self
