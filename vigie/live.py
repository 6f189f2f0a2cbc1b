"""Latest sample of every tag, for the live view and the status API."""

from __future__ import annotations

import math
import threading

from vigie.config import Config
from vigie.model import Batch, Quality, Sample


class LiveStore:
    """Thread-safe map from tag name to its latest sample.

    A tag is stale when its latest sample is older than ``stale_after_polls`` poll
    intervals of its device, so an operator never sees an old value as fresh.
    """

    def __init__(self, config: Config) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, Sample] = {}
        self._meta: dict[str, dict] = {}
        # Seconds after which a tag is stale; None for tags that report by exception.
        self._stale_after: dict[str, float | None] = {}
        for device in config.devices:
            if device.protocol == "opcua":
                stale_after = None
            else:
                stale_after = (
                    device.poll_interval_s * config.dashboard.stale_after_polls
                )
            for tag in device.tags:
                name = f"{device.name}.{tag.name}"
                self._meta[name] = {
                    "device": device.name,
                    "unit": tag.unit,
                    "description": tag.description,
                }
                self._stale_after[name] = stale_after

    def update(self, batch: Batch) -> None:
        with self._lock:
            for sample in batch:
                self._latest[sample.tag] = sample

    def snapshot(self, now: float, connected: dict[str, bool]) -> list[dict]:
        """Return the status rows; ``connected`` maps device names to link state."""
        with self._lock:
            latest = dict(self._latest)
        rows = []
        for name, meta in self._meta.items():
            sample = latest.get(name)
            if sample is None:
                rows.append(
                    {
                        "name": name,
                        **meta,
                        "value": None,
                        "quality": Quality.BAD.name.lower(),
                        "reason": "no_data",
                        "timestamp": None,
                        "age_s": None,
                        "stale": True,
                    }
                )
                continue
            # OPC UA values arrive only on change, so their age tells nothing about
            # freshness while the subscription is alive. Such tags go stale when their
            # device is not connected.
            age = max(0.0, now - sample.ts)
            value = sample.value
            if isinstance(value, float) and not math.isfinite(value):
                value = None  # JSON has no NaN, and the quality carries the reason
            stale_after = self._stale_after[name]
            if stale_after is None:
                stale = not connected.get(meta["device"], False)
            else:
                stale = age > stale_after
            rows.append(
                {
                    "name": name,
                    **meta,
                    "value": value,
                    "quality": Quality(sample.quality).name.lower(),
                    "reason": sample.reason,
                    "timestamp": sample.ts,
                    "age_s": round(age, 3),
                    "stale": stale,
                }
            )
        return rows
