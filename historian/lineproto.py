"""InfluxDB line protocol for samples: one line per sample.

Layout: ``<measurement>,device=<device>,tag=<full name> quality=<q>i[,reason="..."]
[,value=<float> | ,text="..."] <ns>``.

InfluxDB fixes the type of a field per measurement and shard, not per series, so a
bool written as ``value=true`` next to a float ``value`` of another tag is rejected
with "field type conflict" (seen with InfluxDB 1.6.7). The layout therefore mirrors
the SQLite historian: every number, and every bool as 1.0 or 0.0, goes in the float
field ``value``, and strings go in the string field ``text``. A number is always
written with a decimal point or an exponent, so 3 followed by 3.5 stays a float.
"""

from __future__ import annotations

import math

from historian.samples import device_of, storable
from historian.timestamps import to_ns
from vigie.errors import HistorianError
from vigie.model import Quality, Sample

_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ "})
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})


class LineProtocolError(HistorianError):
    """A name cannot be written in line protocol."""


def escape_measurement(name: str) -> str:
    _check_name(name, "measurement")
    return name.translate(_MEASUREMENT_ESCAPES)


def escape_tag(text: str) -> str:
    _check_name(text, "tag key or value")
    return text.translate(_TAG_ESCAPES)


def quote_string(text: str) -> str:
    return '"' + text.translate(_STRING_ESCAPES) + '"'


def format_number(value: float | int | bool) -> str | None:
    """Format a number as a float field, or return None for NaN and infinity."""
    number = float(value)
    if not math.isfinite(number):
        return None
    # repr() of a float always has a '.', an 'e', or both: 3.0, 3.5, 1e+20.
    return repr(number)


def format_line(measurement: str, sample: Sample) -> str:
    """Format one sample. Raise LineProtocolError for a name that cannot be written."""
    value, quality, reason = storable(sample)

    key = (
        f"{escape_measurement(measurement)}"
        f",device={escape_tag(device_of(sample.tag))}"
        f",tag={escape_tag(sample.tag)}"
    )
    fields = f"quality={quality}i"
    if quality != Quality.GOOD and reason:
        fields += f",reason={quote_string(reason)}"
    if isinstance(value, str):
        fields += f",text={quote_string(value)}"
    elif value is not None:
        fields += f",value={format_number(value)}"
    return f"{key} {fields} {to_ns(sample.ts)}"


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
