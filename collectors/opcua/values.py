"""Conversion of OPC UA data values into Vigie samples."""

from __future__ import annotations

from datetime import datetime, timezone

from asyncua import ua

from vigie.model import Quality, Reason, Sample

# asyncua decodes a null OPC UA DateTime (0 ticks) as 1601-01-01 UTC.
NULL_TIME = datetime(1601, 1, 2, tzinfo=timezone.utc)


class UnsupportedValue(TypeError):
    """A value of a type that a Vigie sample cannot carry, such as an array."""


def to_sample(tag: str, data_value: ua.DataValue, received_ts: float) -> Sample:
    """Build the sample of one monitored-item notification.

    ``ts`` is the source timestamp, else the server timestamp, else ``received_ts``.
    A Bad status gives value None because the value of a Bad data value has no
    meaning. An Uncertain or Bad status keeps the status code's name in the reason,
    for example ``server_status:BadSensorFailure``. A value that a sample cannot carry
    gives BAD with reason ``config_error:unsupported value type <type>``.
    """
    ts = (
        epoch_seconds(data_value.SourceTimestamp)
        or epoch_seconds(data_value.ServerTimestamp)
        or received_ts
    )
    status = data_value.StatusCode or ua.StatusCode()
    if status.is_bad():
        return Sample(tag, ts, None, Quality.BAD, server_status_reason(status))

    raw = data_value.Value.Value if data_value.Value is not None else None
    try:
        value = plain_value(raw)
    except UnsupportedValue as err:
        return Sample(tag, ts, None, Quality.BAD, f"{Reason.CONFIG_ERROR}:{err}")

    if status.is_uncertain():
        return Sample(tag, ts, value, Quality.UNCERTAIN, server_status_reason(status))
    return Sample(tag, ts, value, Quality.GOOD, Reason.NONE)


def server_status_reason(status: ua.StatusCode) -> str:
    return f"{Reason.SERVER_STATUS}:{status.name}"


def epoch_seconds(moment: datetime | None) -> float | None:
    """Return UTC epoch seconds, or None for a missing or null OPC UA DateTime."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment < NULL_TIME:
        return None
    return moment.timestamp()


def plain_value(raw) -> float | int | bool | str | None:
    """Return a scalar as a plain Python bool, int, float or str.

    Raises UnsupportedValue for arrays, structures and other types.
    """
    if raw is None or isinstance(raw, bool | str):
        return raw
    # bool is a subclass of int, so it is handled above. int() also drops enums.
    if isinstance(raw, int):
        return int(raw)
    if isinstance(raw, float):
        return float(raw)
    if isinstance(raw, ua.LocalizedText):
        return raw.Text
    if isinstance(raw, datetime):
        return epoch_seconds(raw)
    raise UnsupportedValue(f"unsupported value type {type(raw).__name__}")
