"""Rules, shared by both backends, for the parts of a sample that are stored."""

from __future__ import annotations

import math

from vigie.model import Quality, Reason, Sample, Value


def device_of(tag: str) -> str:
    return tag.split(".", 1)[0]


def storable(sample: Sample) -> tuple[Value, int, str]:
    """Return the value, quality and reason to store for one sample.

    A NaN or infinite number is stored as no value at quality BAD, because InfluxDB
    rejects such fields and both backends must read back the same rows.
    """
    value = sample.value
    quality = int(sample.quality)
    reason = str(sample.reason)
    if isinstance(value, float) and not math.isfinite(value):
        quality = int(Quality.BAD)
        if not reason:
            reason = (Reason.DEVICE_NAN if math.isnan(value) else Reason.DEVICE_INF).value
        value = None
    return value, quality, reason
