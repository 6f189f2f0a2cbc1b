"""Historian backend settings: InfluxDB, store-and-forward spool, retention."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from vigie.config.base import Frozen


class InfluxConfig(Frozen):
    url: str = Field(default="http://127.0.0.1:8086", pattern=r"^https?://")
    # v1: /write and /query of InfluxDB 1.x (or the v1 compatibility API of 2.x and
    # 3.x) with database, username and password. v2: /api/v2/write of 2.x and 3.x
    # with org, bucket and token.
    api: Literal["v1", "v2"] = "v1"
    database: str = Field(default="vigie", min_length=1)
    measurement: str = Field(default="telemetry", min_length=1)
    username: str = ""
    # Name of the environment variable that contains the password; never the password.
    password_env: str = ""
    org: str = ""
    bucket: str = ""
    # Name of the environment variable that contains the v2 API token; never the token.
    token_env: str = ""
    timeout_s: float = Field(default=10.0, gt=0.0)
    # gzip level of write requests, 0 to 9; 0 sends them uncompressed, which is
    # faster on loopback or a fast LAN.
    gzip_level: int = Field(default=1, ge=0, le=9)

    @model_validator(mode="after")
    def _check_v2(self) -> InfluxConfig:
        if self.api == "v2":
            for key in ("org", "bucket", "token_env"):
                if not getattr(self, key):
                    raise ValueError(
                        f"{key}: missing; api v2 needs org, bucket and token_env"
                    )
        return self


class SpoolConfig(Frozen):
    # Disk limit of the store-and-forward spool file; the oldest samples are dropped
    # (and counted) beyond it.
    max_mb: float = Field(default=512.0, gt=0.0)
    # Limit in samples, checked as well; 0 means only max_mb applies.
    max_samples: int = Field(default=0, ge=0)


class RetentionConfig(Frozen):
    # Days of raw samples kept by the SQLite historian; 0 keeps them for ever.
    raw_days: float = Field(default=0.0, ge=0.0)
    # Days of 1-minute rollups (min, max, mean, count, last) kept; 0 = for ever.
    rollup_1m_days: float = Field(default=0.0, ge=0.0)
    # Days of 1-hour rollups kept; 0 = for ever.
    rollup_1h_days: float = Field(default=0.0, ge=0.0)
    # Seconds between two passes that delete what is older than the limits above.
    interval_s: float = Field(default=3600.0, gt=0.0)


class HistorianConfig(Frozen):
    backend: Literal["sqlite", "influxdb"] = "sqlite"
    # Samples per write; a batch is also written after flush_interval_s.
    batch_size: int = Field(default=5000, ge=1, le=1_000_000)
    flush_interval_s: float = Field(default=1.0, gt=0.0, le=3600.0)
    # Retry delays after a failed write grow from the first to the maximum.
    retry_min_s: float = Field(default=0.5, gt=0.0)
    retry_max_s: float = Field(default=30.0, gt=0.0)
    influxdb: InfluxConfig = InfluxConfig()
    spool: SpoolConfig = SpoolConfig()
    retention: RetentionConfig = RetentionConfig()
