"""Historian backend settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vigie.config.base import Frozen


class InfluxConfig(Frozen):
    url: str = Field(default="http://127.0.0.1:8086", pattern=r"^https?://")
    database: str = Field(default="vigie", min_length=1)
    measurement: str = Field(default="telemetry", min_length=1)
    username: str = ""
    # Name of the environment variable that holds the password; never the password.
    password_env: str = ""
    timeout_s: float = Field(default=10.0, gt=0.0)


class HistorianConfig(Frozen):
    backend: Literal["sqlite", "influxdb"] = "sqlite"
    # Samples per write; a batch is also written after flush_interval_s.
    batch_size: int = Field(default=5000, ge=1, le=1_000_000)
    flush_interval_s: float = Field(default=1.0, gt=0.0, le=3600.0)
    influxdb: InfluxConfig = InfluxConfig()
