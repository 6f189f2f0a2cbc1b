"""Pieces every configuration section shares: the frozen base model and names."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"

Priority = Literal["critical", "high", "medium", "low"]
Simulator = Literal["pumping_station", "reservoir", "power_meter", "treatment_plant"]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_section(cls, data):
        # A section whose keys are all commented out reads as null in YAML.
        return {} if data is None else data


class DeviceBase(Frozen):
    name: str = Field(pattern=NAME_PATTERN)
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
