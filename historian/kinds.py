"""Storage kind of each tag, taken from its definition, never from one sample.

A device that sends 3 and then 3.5 for the same tag must not change the type of the
stored field, so the kind is fixed by the configuration:

- ``integer``: a Modbus integer type with scale 1 and offset 0, such as an energy
  counter; stored exactly as an integer.
- ``boolean``: a Modbus bool; stored as 1.0 or 0.0 and read back as False or True.
- ``string``: a Modbus string; stored in the text field.
- ``float``: every other number.

NOTE: OPC UA tags declare no data type in the configuration, so they have no kind:
their numbers and bools are stored as floats and their strings as text, and bools
read back as 1.0 or 0.0.
"""

from __future__ import annotations

import math

from vigie.config import Config, ModbusTag
from vigie.model import Value

FLOAT = "float"
INTEGER = "integer"
BOOLEAN = "boolean"
STRING = "string"
KINDS = (FLOAT, INTEGER, BOOLEAN, STRING)

INTEGER_TYPES = ("int16", "uint16", "int32", "uint32", "int64", "uint64")


class StorageTypeError(ValueError):
    """A value cannot be stored as the kind its tag declares."""


def tag_kinds(config: Config) -> dict[str, str]:
    """Return the storage kind of every tag that declares a data type."""
    kinds = {}
    for device in config.devices:
        for tag in device.tags:
            if isinstance(tag, ModbusTag):
                kinds[f"{device.name}.{tag.name}"] = kind_of_modbus_tag(tag)
    return kinds


def kind_of_modbus_tag(tag: ModbusTag) -> str:
    if tag.type == "bool":
        return BOOLEAN
    if tag.type == "string":
        return STRING
    if tag.type in INTEGER_TYPES and tag.scale == 1 and tag.offset == 0:
        return INTEGER
    return FLOAT


def converted(value: Value, kind: str | None) -> Value:
    """Convert a finite value to the Python type its kind stores.

    Returns a float, an int (kind integer only), a str, or None. A tag without a
    kind keeps strings as text and turns every number and bool into a float.
    """
    if value is None:
        return None
    if kind == STRING or isinstance(value, str):
        return str(value)
    if kind == INTEGER:
        if isinstance(value, float) and not value.is_integer():
            raise StorageTypeError(
                f"value {value!r} is not a whole number, but the tag is declared as"
                " an integer"
            )
        return int(value)
    if kind == BOOLEAN:
        return 1.0 if value else 0.0
    number = float(value)
    if not math.isfinite(number):
        return None
    return number


def read_back(value, kind: str | None) -> Value:
    """Return a stored value as the type the tag produced."""
    if value is None or isinstance(value, str):
        return value
    if kind == BOOLEAN:
        return bool(value)
    if kind == INTEGER:
        return int(value)
    return float(value)


def measurement_for(measurement: str, kind: str | None) -> str:
    """Return the InfluxDB measurement of a tag: integer tags get their own."""
    if kind == INTEGER:
        return f"{measurement}_integer"
    return measurement


def measurements(measurement: str) -> tuple[str, str]:
    """Return every measurement one tag's samples may be in."""
    return (measurement, measurement_for(measurement, INTEGER))
