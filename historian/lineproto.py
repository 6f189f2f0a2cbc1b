"""InfluxDB line protocol: one escaping and formatting function for every point.

``format_point`` writes any point: tags sorted by key, fields sorted by key, the type
of each field from the Python type it is given (float ``12.5``, int ``19150i``, bool
``true``, str ``"..."``), and a nanosecond timestamp. ``format_sample`` lays a sample
out as ``<measurement>,device=<device>,tag=<full name> quality=<q>i[,reason="..."]
[,value=<number> | ,text="..."] <ns>``, after ``historian.kinds`` has converted the
value to the type its tag declares.

InfluxDB fixes the type of a field per measurement and shard, not per series. Every
float and bool tag shares the float field ``value`` of the measurement and strings go
to the string field ``text``. Integer tags use the same layout in a measurement of
their own (see ``historian.kinds``), so an integer ``value`` never meets a float one.
A float is always written with a decimal point or an exponent, so 3 followed by 3.5
stays a float.
"""

from __future__ import annotations

import math

from historian.kinds import (
    BOOLEAN,
    FLOAT,
    INTEGER,
    StorageTypeError,
    converted,
    measurement_for,
)
from historian.samples import device_of, storable
from historian.timestamps import to_ns
from vigie.errors import HistorianError
from vigie.model import Quality, Sample

# 2000-01-01T00:00:00Z. An earlier timestamp is almost always seconds or milliseconds
# read as nanoseconds, or a device clock that was never set.
MIN_TS_NS = 946_684_800 * 1_000_000_000

_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ "})
_KEY_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


class LineProtocolError(HistorianError):
    """A point cannot be written in line protocol."""


def escape_measurement(name: str) -> str:
    _check_name(name, "measurement")
    return name.translate(_MEASUREMENT_ESCAPES)


def escape_tag(text: str) -> str:
    """Escape a tag key, tag value or field key. Tag values are never quoted."""
    _check_name(text, "tag key or value")
    return text.translate(_KEY_ESCAPES)


def quote_string(text: str) -> str:
    return '"' + text.translate(_STRING_ESCAPES) + '"'


def format_number(value: float | int | bool) -> str | None:
    """Format a number as a float field, or return None for NaN and infinity."""
    number = float(value)
    if not math.isfinite(number):
        return None
    # repr() of a float always has a '.', an 'e', or both: 3.0, 3.5, 1e+20.
    return repr(number)


def format_field(value: float | int | bool | str) -> str | None:
    """Format one field value by its Python type; None for NaN and infinity."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, str):
        return quote_string(value)
    return format_number(value)


def format_point(
    measurement: str, tags: dict[str, str], fields: dict, ts_ns: int
) -> str | None:
    """Format one point, or return None when no field has a finite value.

    Raise LineProtocolError for a name that cannot be written or a timestamp before
    2000-01-01.
    """
    check_timestamp(ts_ns)
    key = escape_measurement(measurement)
    for tag_key in sorted(tags):
        key += f",{escape_tag(tag_key)}={escape_tag(tags[tag_key])}"

    formatted = []
    for field_key in sorted(fields):
        value = fields[field_key]
        text = None if value is None else format_field(value)
        if text is not None:
            formatted.append(f"{escape_tag(field_key)}={text}")
    if not formatted:
        return None
    return f"{key} {','.join(formatted)} {ts_ns}"


def format_sample(measurement: str, sample: Sample, kind: str | None = None) -> str:
    """Format one sample with the value converted to its tag's storage kind.

    Raise LineProtocolError for a name or timestamp that cannot be written, and
    historian.kinds.StorageTypeError for a value that its kind cannot store.
    """
    value, quality, reason = storable(sample)
    value = converted(value, kind)

    fields: dict = {"quality": quality}
    if quality != Quality.GOOD and reason:
        fields["reason"] = reason
    if isinstance(value, str):
        fields["text"] = value
    elif value is not None:
        fields["value"] = value
    tags = {"device": device_of(sample.tag), "tag": sample.tag}
    return format_point(measurement, tags, fields, to_ns(sample.ts))


def check_timestamp(ts_ns: int) -> None:
    if ts_ns < MIN_TS_NS:
        raise LineProtocolError(
            f"timestamp {ts_ns} ns is before 2000-01-01T00:00:00Z; check that the"
            " source sends seconds since the epoch and that its clock is set"
        )


def _check_name(name: str, what: str) -> None:
    if not name:
        raise LineProtocolError(f"invalid {what}: the name is empty")
    if "\n" in name or "\r" in name:
        raise LineProtocolError(
            f"invalid {what} {name!r}: line protocol cannot contain a line break"
            " in a name; rename it"
        )
    # A trailing backslash would escape the separator that follows it.
    if name.endswith("\\"):
        raise LineProtocolError(
            f"invalid {what} {name!r}: a name cannot end with a backslash"
        )


class SampleFormatter:
    """Format samples as ``format_sample`` does, several times faster.

    The escaped series key of each tag is computed once. A good sample whose value
    already has its kind's type takes a short path: a finite float of a float tag,
    an int of an integer tag, or a bool of a boolean tag. Every other sample goes
    through ``format_sample``.
    """

    def __init__(self, measurement: str, kinds: dict[str, str]) -> None:
        self.measurement = measurement
        self.kinds = kinds
        # tag -> series key, measurement, kind, and the value type of the short path.
        self._keys: dict[str, tuple[str, str, str | None, type | None]] = {}

    def line(self, sample: Sample) -> str:
        """Format one sample; raise as format_sample does."""
        lines, rejected = self.lines([sample])
        if rejected:
            raise rejected[0][1]
        return lines[0]

    def lines(
        self, chunk: list[Sample]
    ) -> tuple[list[str], list[tuple[Sample, Exception]]]:
        """Format a chunk: one line per sample that can be written, in order.

        Returns the lines and the samples that cannot be written, each with the
        LineProtocolError or StorageTypeError that format_sample raised for it.
        """
        keys = self._keys
        good = Quality.GOOD
        isfinite = math.isfinite
        last_ts = None
        last_ns = 0
        lines = []
        rejected = []
        for sample in chunk:
            cached = keys.get(sample.tag)
            if cached is None:
                try:
                    cached = self._series_key(sample.tag)
                except LineProtocolError:
                    # format_sample raises the same error, or a timestamp error first.
                    self._format_slowly(sample, lines, rejected)
                    continue
            key, measurement, kind, fast_type = cached
            value = sample.value
            if sample.quality != good or type(value) is not fast_type:
                try:
                    lines.append(format_sample(measurement, sample, kind))
                except (LineProtocolError, StorageTypeError) as err:
                    rejected.append((sample, err))
                continue

            # Samples of one request share a timestamp, so it is converted once.
            ts = sample.ts
            if ts != last_ts:
                last_ns = to_ns(ts)
                last_ts = ts
            if last_ns < MIN_TS_NS:
                try:
                    check_timestamp(last_ns)
                except LineProtocolError as err:
                    rejected.append((sample, err))
                    continue

            if fast_type is float:
                if not isfinite(value):
                    lines.append(format_sample(measurement, sample, kind))
                    continue
                lines.append(f"{key} quality=0i,value={value!r} {last_ns}")
            elif fast_type is int:
                lines.append(f"{key} quality=0i,value={value}i {last_ns}")
            else:
                number = "1.0" if value else "0.0"
                lines.append(f"{key} quality=0i,value={number} {last_ns}")
        return lines, rejected

    def _format_slowly(
        self, sample: Sample, lines: list[str], rejected: list[tuple[Sample, Exception]]
    ) -> None:
        kind = self.kinds.get(sample.tag)
        measurement = measurement_for(self.measurement, kind)
        try:
            lines.append(format_sample(measurement, sample, kind))
        except (LineProtocolError, StorageTypeError) as err:
            rejected.append((sample, err))

    def _series_key(self, tag: str) -> tuple[str, str, str | None, type | None]:
        kind = self.kinds.get(tag)
        measurement = measurement_for(self.measurement, kind)
        key = (
            f"{escape_measurement(measurement)}"
            f",device={escape_tag(device_of(tag))},tag={escape_tag(tag)}"
        )
        self._keys[tag] = (key, measurement, kind, FAST_TYPES.get(kind))
        return self._keys[tag]


# Python type of a value that the short path of each kind formats; strings and
# anything else take format_sample.
FAST_TYPES: dict[str | None, type] = {
    None: float,
    FLOAT: float,
    INTEGER: int,
    BOOLEAN: bool,
}
