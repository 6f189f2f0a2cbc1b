"""Encoding of tag values into Modbus registers for writes: the inverse of decode.

Every function checks the value against the type's range and raises ValueError
before anything is sent, so a value that does not fit never reaches the device
truncated or wrapped.
"""

from __future__ import annotations

import math
import struct

from collectors.modbus.datatypes import DATATYPES, FLOAT_MAX, integer_range
from collectors.modbus.decode import BYTE_SWAPPED, WORD_SWAPPED, swap_bytes_in_words

NUMERIC_TYPES = (
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
)


def bytes_to_registers(raw: bytes, byte_order: str) -> list[int]:
    """Reorder the big-endian bytes (ABCD...) of a value into wire registers."""
    if byte_order in BYTE_SWAPPED:
        raw = swap_bytes_in_words(raw)
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    if byte_order in WORD_SWAPPED:
        words.reverse()
    return words


def encode_number(value: int | float, data_type: str, byte_order: str) -> list[int]:
    """Return the registers of a raw number of a numeric type, first register first.

    Integer types take whole numbers inside their range (-20 as int16 is 0xFFEC).
    Float types take any float whose magnitude fits, NaN and infinities included.
    """
    if data_type not in NUMERIC_TYPES:
        raise ValueError(
            f"{data_type} is not a numeric type; use one of {', '.join(NUMERIC_TYPES)}"
        )
    if isinstance(value, bool):
        value = int(value)

    if data_type in FLOAT_MAX:
        number = float(value)
        if math.isfinite(number) and abs(number) > FLOAT_MAX[data_type]:
            raise ValueError(
                f"{value} is out of range for {data_type}: its largest magnitude is"
                f" {FLOAT_MAX[data_type]:.7g}"
            )
    else:
        number = _whole_number(value, data_type)

    raw = struct.pack(">" + DATATYPES[data_type].struct_code, number)
    return bytes_to_registers(raw, byte_order)


def _whole_number(value: int | float, data_type: str) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(
                f"{value} is not a whole number, so it does not fit {data_type}"
            )
        value = int(value)

    low, high = integer_range(data_type)
    if not low <= value <= high:
        raise ValueError(
            f"{value} is out of range for {data_type}: it takes {low} to {high}"
        )
    return value


def encode_string(text: str, count: int, byte_order: str) -> list[int]:
    """Return ``count`` registers of ``text``, two characters a register.

    The text is padded with NUL bytes, in Latin-1 as decode_string reads it. Raises
    ValueError for text longer than 2 * count characters or not in Latin-1.
    """
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError as err:
        raise ValueError(f"{text!r} has characters outside Latin-1: {err}") from None
    if len(raw) > 2 * count:
        raise ValueError(
            f"{text!r} has {len(raw)} characters, more than the {2 * count} of"
            f" {count} registers"
        )

    raw = raw.ljust(2 * count, b"\0")
    if byte_order in BYTE_SWAPPED:
        raw = swap_bytes_in_words(raw)
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def unscale(value: int | float, scale: float, offset: float) -> int | float:
    """Return the raw number of an engineering value: ``(value - offset) / scale``."""
    if scale == 1.0 and offset == 0.0:
        return value
    if scale == 0.0:
        raise ValueError("scale 0 has no inverse, so the value cannot be written")
    return (value - offset) / scale


def encode_value(tag, value) -> list[int]:
    """Return the registers that write ``value`` to a holding register tag.

    Numeric values are in the tag's engineering unit and go through the inverse of
    its scale and offset. A scaled integer type rounds to the nearest raw step, so
    4.21 bar at scale 0.01 is 421 rather than 420.99999999999994. A bool tag,
    a bit inside a register, needs the register's current value: use set_bit.
    """
    if tag.type == "string":
        return encode_string(str(value), tag.register_count, tag.byte_order)
    if tag.type == "bool":
        raise ValueError(
            "a bool tag is one bit of a register: read the register and use set_bit"
        )

    raw = unscale(value, tag.scale, tag.offset)
    scaled = tag.scale != 1.0 or tag.offset != 0.0
    if scaled and tag.type not in FLOAT_MAX:
        if not math.isfinite(raw):
            raise ValueError(f"{value} has no {tag.type} representation")
        raw = round(raw)
    return encode_number(raw, tag.type, tag.byte_order)


def set_bit(register: int, bit: int, value: bool) -> int:
    """Return ``register`` with bit ``bit`` (0 = least significant) set to ``value``."""
    if not 0 <= bit <= 15:
        raise ValueError(f"bit {bit} is not in a 16-bit register; use 0 to 15")
    if value:
        return register | (1 << bit)
    return register & ~(1 << bit) & 0xFFFF
