"""Encode engineering values into Modbus registers with ``struct``.

This encoder is written independently of the collectors' decoder, so a byte-order or
scaling mistake on either side shows up as a failing test instead of cancelling out.
"""

from __future__ import annotations

import math
import struct

from vigie.config import ModbusTag

# struct codes of the numeric types, big-endian on the wire (byte order ABCD).
STRUCT_CODE = {
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "int64": "q",
    "uint64": "Q",
    "float32": "f",
    "float64": "d",
}


def reorder(data: bytes, byte_order: str) -> bytes:
    """Rearrange big-endian bytes (ABCD...) into ``byte_order``.

    CDAB reverses the order of the 16-bit words, BADC swaps the two bytes inside each
    word and DCBA does both. 64-bit values use the same names for GHEFCDAB, BADCFEHG
    and HGFEDCBA.
    """
    words = [data[i : i + 2] for i in range(0, len(data), 2)]
    if byte_order in ("CDAB", "DCBA"):
        words.reverse()
    if byte_order in ("BADC", "DCBA"):
        words = [word[::-1] for word in words]
    return b"".join(words)


def integer_range(code: str) -> tuple[int, int]:
    bits = struct.calcsize(code) * 8
    if code.islower():
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def raw_value(tag: ModbusTag, value: float | bool) -> float | int:
    """Return the raw number for ``value``: (value - offset) / scale.

    Integer types round to the nearest integer and clamp to the type's range, so a
    forced infinity reads as the extreme raw value and a forced NaN reads as 0.
    """
    code = STRUCT_CODE[tag.type]
    exact = isinstance(value, int) and tag.scale == 1.0 and tag.offset == 0.0
    if exact and code not in "fd":
        # Integers above 2**53 would lose their low bits on a detour through float.
        low, high = integer_range(code)
        return min(max(int(value), low), high)

    raw = (float(value) - tag.offset) / tag.scale
    if code in "fd":
        return raw
    if math.isnan(raw):
        return 0
    low, high = integer_range(code)
    if math.isinf(raw):
        return high if raw > 0 else low
    return min(max(round(raw), low), high)


def encode_registers(tag: ModbusTag, value: float | bool | str) -> list[int]:
    """Return the registers of a numeric or string tag, first register first.

    ``bool`` tags are bits and are set by the caller, not here.
    """
    if tag.type == "string":
        size = tag.register_count * 2
        data = str(value).encode("ascii", "replace")[:size].ljust(size, b"\0")
        # A string keeps its register order; BADC and DCBA swap the two characters
        # inside each register.
        if tag.byte_order in ("BADC", "DCBA"):
            data = reorder(data, "BADC")
    else:
        code = STRUCT_CODE[tag.type]
        data = struct.pack(">" + code, raw_value(tag, value))
        # A 16-bit value has one word, so CDAB encodes like ABCD and DCBA like BADC.
        data = reorder(data, tag.byte_order)
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
