"""Decoding of Modbus registers and bits into tag values. Pure functions, no I/O.

Byte orders name the bytes of the value, A most significant, in the order they
arrive on the wire, first register first:

- ABCD: big-endian, high word first (ABCDEFGH for 64-bit values).
- CDAB: words reversed, bytes inside each word big-endian (GHEFCDAB).
- BADC: words in order, bytes swapped inside each word (BADCFEHG).
- DCBA: fully reversed, little-endian (HGFEDCBA).

A 16-bit value has a single word, so CDAB reads like ABCD and DCBA like BADC. A
string keeps its register order, and BADC and DCBA swap the two characters of each
register.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from vigie.model import Quality, Reason, Value

from collectors.modbus.datatypes import DATATYPES

WORD_SWAPPED = ("CDAB", "DCBA")
BYTE_SWAPPED = ("BADC", "DCBA")


@dataclass(frozen=True, slots=True)
class Decoded:
    value: Value
    quality: Quality = Quality.GOOD
    reason: str = Reason.NONE


def registers_to_bytes(registers: list[int], byte_order: str) -> bytes:
    """Reorder wire registers into the big-endian bytes (ABCD...) of the value."""
    words = list(registers)
    if byte_order in WORD_SWAPPED:
        words.reverse()

    raw = b"".join(word.to_bytes(2, "big") for word in words)
    if byte_order in BYTE_SWAPPED:
        raw = swap_bytes_in_words(raw)
    return raw


def swap_bytes_in_words(raw: bytes) -> bytes:
    swapped = bytearray(raw)
    swapped[0::2] = raw[1::2]
    swapped[1::2] = raw[0::2]
    return bytes(swapped)


def decode_number(registers: list[int], data_type: str, byte_order: str) -> int | float:
    """Decode an integer or float type from exactly its number of registers."""
    layout = DATATYPES[data_type]
    if len(registers) != layout.registers:
        raise ValueError(
            f"{data_type} needs {layout.registers} registers, got {len(registers)}"
        )
    raw = registers_to_bytes(registers, byte_order)
    return struct.unpack(">" + layout.struct_code, raw)[0]


def decode_string(registers: list[int], byte_order: str) -> str:
    """Decode two characters a register, dropping trailing NUL and space padding."""
    raw = b"".join(word.to_bytes(2, "big") for word in registers)
    if byte_order in BYTE_SWAPPED:
        raw = swap_bytes_in_words(raw)
    return raw.decode("latin-1").rstrip("\x00 ")


def decode_bit(register: int, bit: int) -> bool:
    """Return bit ``bit`` of a register, 0 being the least significant."""
    return bool((register >> bit) & 1)


def unpack_bits(data: bytes, count: int) -> list[bool]:
    """Unpack the data bytes of a coil or discrete input response.

    Bit n of the result is bit (n mod 8) of byte (n div 8), least significant bit
    first, and the result has exactly ``count`` values: the padding bits of the last
    byte are dropped. Raises ValueError when ``data`` has fewer than ``count`` bits.
    """
    if len(data) * 8 < count:
        raise ValueError(f"{count} bits need {(count + 7) // 8} bytes, got {len(data)}")
    return [bool((data[n // 8] >> (n % 8)) & 1) for n in range(count)]


def apply_scale(value: int | float, scale: float, offset: float) -> int | float:
    """Return ``value * scale + offset``, unchanged when scale is 1 and offset 0.

    Returning it unchanged keeps an int an int and keeps the sign of -0.0.
    """
    if scale == 1.0 and offset == 0.0:
        return value
    return value * scale + offset


def decode_registers(tag, registers: list[int]) -> Decoded:
    """Decode a register tag (holding or input) from its own registers.

    Fewer registers than the tag needs give quality BAD, reason ``bad_frame``, never
    a value built from part of the tag. A NaN gives BAD ``device_nan`` and an
    infinity BAD ``device_inf``, whatever their bit pattern.
    """
    if len(registers) < tag.register_count:
        return Decoded(None, Quality.BAD, Reason.BAD_FRAME)

    if tag.type == "bool":
        return Decoded(decode_bit(registers[0], tag.bit))

    if tag.type == "string":
        return Decoded(decode_string(registers, tag.byte_order))

    number = decode_number(registers[: tag.register_count], tag.type, tag.byte_order)
    if isinstance(number, float) and math.isnan(number):
        return Decoded(None, Quality.BAD, Reason.DEVICE_NAN)
    if isinstance(number, float) and math.isinf(number):
        return Decoded(None, Quality.BAD, Reason.DEVICE_INF)

    value = apply_scale(number, tag.scale, tag.offset)
    if isinstance(value, float) and not math.isfinite(value):
        # A finite float64 near its maximum can overflow once scaled.
        return Decoded(None, Quality.BAD, Reason.OUT_OF_RANGE)
    return Decoded(value)
