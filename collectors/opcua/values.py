"""Conversion of OPC UA data values into Vigie samples."""

from __future__ import annotations

import math
from datetime import datetime

from asyncua import ua

from vigie.model import Quality, Reason, Sample

from collectors.opcua.timestamps import Stamp, choose_timestamp, epoch_seconds


class UnsupportedValue(TypeError):
    """A value of a type that a Vigie sample cannot carry, such as an array."""


class TypeMismatch(TypeError):
    """A value that does not fit the data type its tag declares."""


class OutOfRange(ValueError):
    """A whole number that an int tag cannot store: beyond 64-bit signed."""


# Range of an int tag: what InfluxDB and the alarm journal store as integers.
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1


def severity(code: int) -> Quality:
    """Return the quality of a status code from its two top bits (OPC UA Part 4).

    0 is Good, 1 Uncertain, 2 and 3 Bad. The low bits carry only the sub-code and
    info bits, so 0x000000C0 (an OPC DA quality passed through a gateway) is Good.
    """
    top = (code >> 30) & 0b11
    if top == 0:
        return Quality.GOOD
    if top == 1:
        return Quality.UNCERTAIN
    return Quality.BAD


def convert(
    tag: str,
    data_value: ua.DataValue,
    received_ts: float,
    prefer: str = "source",
    declared: str | None = None,
) -> tuple[Sample, Stamp]:
    """Build the sample of one data value, and return the timestamp chosen for it.

    A Bad status gives value None because the value of a Bad data value has no
    meaning, and the previous value is never repeated in its place. An Uncertain
    status keeps the value. Either keeps the status code's name in the reason, for
    example ``server_status:BadSensorFailure``. A value that a sample cannot carry,
    or that does not fit the ``declared`` type of the tag, gives BAD with reason
    ``config_error:`` and the cause. A Good or Uncertain status without a value
    gives BAD ``device_error``, and a NaN or an infinity BAD ``device_nan`` or
    ``device_inf``, as for Modbus.
    """
    stamp = choose_timestamp(
        data_value.SourceTimestamp, data_value.ServerTimestamp, received_ts, prefer
    )
    status = data_value.StatusCode or ua.StatusCode()
    quality = severity(status.value)
    if quality is Quality.BAD:
        reason = server_status_reason(status)
        return Sample(tag, stamp.ts, None, Quality.BAD, reason), stamp

    raw = data_value.Value.Value if data_value.Value is not None else None
    try:
        value = plain_value(raw)
        if declared is not None and value is not None:
            value = declared_value(value, declared)
    except (UnsupportedValue, TypeMismatch) as err:
        reason = f"{Reason.CONFIG_ERROR}:{err}"
        return Sample(tag, stamp.ts, None, Quality.BAD, reason), stamp
    except OutOfRange:
        # The same reason as a Modbus value out of range, with no value in it.
        return Sample(tag, stamp.ts, None, Quality.BAD, Reason.OUT_OF_RANGE), stamp

    if value is None:
        reason = f"{Reason.DEVICE_ERROR}:the node sends no value"
        return Sample(tag, stamp.ts, None, Quality.BAD, reason), stamp
    if isinstance(value, float) and not math.isfinite(value):
        reason = Reason.DEVICE_NAN if math.isnan(value) else Reason.DEVICE_INF
        return Sample(tag, stamp.ts, None, Quality.BAD, reason), stamp

    if quality is Quality.UNCERTAIN:
        reason = server_status_reason(status)
        return Sample(tag, stamp.ts, value, Quality.UNCERTAIN, reason), stamp
    return Sample(tag, stamp.ts, value, Quality.GOOD, Reason.NONE), stamp


def to_sample(
    tag: str,
    data_value: ua.DataValue,
    received_ts: float,
    prefer: str = "source",
    declared: str | None = None,
) -> Sample:
    return convert(tag, data_value, received_ts, prefer, declared)[0]


def server_status_reason(status: ua.StatusCode) -> str:
    return f"{Reason.SERVER_STATUS}:{status.name}"


def declared_value(value, declared: str) -> float | int | bool | str:
    """Return a plain value as the tag's declared type: float, int, bool or string.

    A float tag takes any number, an int tag a whole number (3.0 gives 3), and bool
    and string tags only their own type. Raises TypeMismatch for anything else, and
    OutOfRange for a whole number beyond the 64-bit signed range.
    """
    if declared == "float" and _is_number(value):
        return float(value)
    if declared == "int" and _is_number(value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            if not INT_MIN <= value <= INT_MAX:
                raise OutOfRange(f"{value} is beyond the 64-bit signed range")
            return value
    if declared == "bool" and isinstance(value, bool):
        return value
    if declared == "string" and isinstance(value, str):
        return value
    # The reason names no value, so that it stays the same while values change.
    raise TypeMismatch(
        f"type mismatch: the node sends {type(value).__name__}, the tag declares"
        f" {declared}"
    )


def _is_number(value) -> bool:
    # bool is a subclass of int, and a bool is not a number here.
    return isinstance(value, int | float) and not isinstance(value, bool)


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
