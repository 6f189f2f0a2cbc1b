"""Storage kind of each tag, taken from its definition, never from one sample.

A device that sends 3 and then 3.5 for the same tag must not change the type of the
stored field, so the kind is fixed by the configuration:

- ``integer``: a Modbus integer type with scale 1 and offset 0, such as an energy
  counter, or an OPC UA tag of type int; stored exactly as an integer in InfluxDB.
  NOTE: SQLite stores every number as REAL, so there an integer beyond 2**53 loses
  its lowest digits.
- ``boolean``: a Modbus bool or an OPC UA tag of type bool; stored as 1.0 or 0.0 and
  read back as False or True.
- ``string``: a Modbus string or an OPC UA tag of type string; stored in the text
  field.
- ``float``: every other number, and OPC UA tags of type float.

An OPC UA tag without a type has no kind: its numbers and bools are stored as
floats and its strings as text, so its bools read back as 1.0 or 0.0.
"""

from __future__ import annotations

import math

from vigie.config import Config, ModbusTag, OpcUaTag
from vigie.model import Value

FLOAT = "float"
INTEGER = "integer"
BOOLEAN = "boolean"
STRING = "string"
KINDS = (FLOAT, INTEGER, BOOLEAN, STRING)

INTEGER_TYPES = ("int16", "uint16", "int32", "uint32", "int64", "uint64")
# Storage kind of each declared OPC UA tag type.
OPCUA_KINDS = {"float": FLOAT, "int": INTEGER, "bool": BOOLEAN, "string": STRING}


class StorageTypeError(ValueError):
    """A value cannot be stored as the kind its tag declares."""


def tag_kinds(config: Config) -> dict[str, str]:
    """Return the storage kind of every tag that declares a data type."""
    kinds = {}
    for device in config.devices:
        for tag in device.tags:
            if isinstance(tag, ModbusTag):
                kinds[f"{device.name}.{tag.name}"] = kind_of_modbus_tag(tag)
            elif isinstance(tag, OpcUaTag) and tag.type is not None:
                kinds[f"{device.name}.{tag.name}"] = OPCUA_KINDS[tag.type]
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
