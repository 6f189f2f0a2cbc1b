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

import logging
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from math import isfinite
from operator import add, and_, itemgetter, mul, rshift

from vigie.model import Quality, Reason, Sample, Value

from collectors.modbus.datatypes import DATATYPES

log = logging.getLogger(__name__)

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


# Buffer and struct prefix that read each byte order with one struct code. The
# swapped buffer is the reply's bytes with the two bytes of every register swapped,
# so CDAB is little-endian in it and BADC big-endian.
BYTE_ORDER_READING = {
    "ABCD": (False, ">"),
    "DCBA": (False, "<"),
    "CDAB": (True, "<"),
    "BADC": (True, ">"),
}

# Decoding path of each slot in RequestDecoder.
PLAIN, BIT, INTEGER, FLOAT, SCALED, GENERIC = range(6)


class RequestDecoder:
    """Decodes every tag of one register read request, in the order of its slots.

    Built once per request layout. One precompiled ``struct.Struct`` per byte-order
    reading unpacks the numeric tags from the reply bytes, and the values of every
    slot are gathered by index. Only the tags that need a check, a scale or a bit
    take a Python step each. Values, qualities and reasons are exactly those of
    ``decode_registers`` followed by ``CounterCheck.check``.
    """

    def __init__(self, slots, count: int) -> None:
        self.slots = tuple(slots)
        self.count = count
        self.names = tuple(slot.name for slot in self.slots)
        self.words = struct.Struct(f">{count}H")
        self.swapped_words = struct.Struct(f"<{count}H")
        # Per group of numeric fields: whether it reads the swapped buffer, its Struct.
        self.groups: list[tuple[bool, struct.Struct]] = []
        self.needs_swapped = False
        # Per slot, its index in the registers followed by the unpacked numbers.
        self.sources: tuple[int, ...] = ()
        # Slots that need a Python step: position, how to read, scale, offset, tag,
        # counter flag.
        self.steps: tuple[tuple, ...] = ()
        self._compile()

    def _compile(self) -> None:
        # Numeric slots by reading, then each reading cut into groups whose fields
        # follow each other in the buffer; overlapping fields start a new group.
        readings: dict[tuple[bool, str], list] = {}
        for slot in self.slots:
            if _read_how(slot.tag) in (INTEGER, FLOAT, SCALED):
                key = BYTE_ORDER_READING[slot.tag.byte_order]
                readings.setdefault(key, []).append(slot)

        source_of: dict[int, int] = {}
        numbers = 0
        for (swapped, prefix), slots in readings.items():
            slots.sort(key=lambda slot: slot.offset)
            fields = ""
            position = 0
            for slot in slots:
                start = slot.offset * 2
                if start < position:
                    self._add_group(swapped, prefix + fields)
                    fields = ""
                    position = 0
                if start > position:
                    fields += f"{start - position}x"
                fields += DATATYPES[slot.tag.type].struct_code
                position = start + slot.tag.register_count * 2
                source_of[id(slot)] = self.count + numbers
                numbers += 1
            self._add_group(swapped, prefix + fields)

        sources = []
        steps = []
        # Slots read in bulk: positions of bools by bit, of floats, of scaled tags.
        bits: dict[int, list[int]] = {}
        floats: list[int] = []
        scaled: list[tuple[int, float, float]] = []
        for position, slot in enumerate(self.slots):
            tag = slot.tag
            how = _read_how(tag)
            sources.append(source_of.get(id(slot), slot.offset))
            if tag.counter or how == GENERIC:
                steps.append((position, how, tag.scale, tag.offset, tag, tag.counter))
            elif how == BIT:
                bits.setdefault(tag.bit, []).append(position)
            elif how == FLOAT:
                floats.append(position)
            elif how == SCALED:
                scaled.append((position, tag.scale, tag.offset))
        self.sources = tuple(sources)
        # Every slot reads its own register in order: the registers are the values.
        self.identity = self.sources == tuple(range(self.count))
        self.steps = tuple(steps)
        self.bit_groups = tuple(
            (bit, _getter(positions), tuple(positions))
            for bit, positions in bits.items()
        )
        self.floats = (_getter(floats), tuple(floats)) if floats else None
        self.scaled = None
        if scaled:
            positions = tuple(position for position, _, _ in scaled)
            self.scaled = (
                _getter(positions),
                positions,
                tuple(scale for _, scale, _ in scaled),
                tuple(offset for _, _, offset in scaled),
            )

    def _add_group(self, swapped: bool, fields: str) -> None:
        self.groups.append((swapped, struct.Struct(fields)))
        self.needs_swapped = self.needs_swapped or swapped

    def decode(
        self, values: list[int], now: float, counters: CounterCheck
    ) -> list[Sample]:
        """Return one Sample per slot, at time ``now``, from the reply's registers."""
        if len(values) != self.count:
            return self._decode_each(values, now, counters)

        pool = values
        if self.groups:
            data = self.words.pack(*values)
            swapped = self.swapped_words.pack(*values) if self.needs_swapped else b""
            pool = list(values)
            for reads_swapped, group in self.groups:
                pool += group.unpack_from(swapped if reads_swapped else data)
        if self.identity:
            slot_values = list(values)
        else:
            slot_values = list(map(pool.__getitem__, self.sources))

        flagged = []
        for bit, get, positions in self.bit_groups:
            shifted = map(rshift, get(slot_values), repeat(bit))
            bools = map(bool, map(and_, shifted, repeat(1)))
            for position, value in zip(positions, bools):
                slot_values[position] = value

        if self.floats is not None:
            get, positions = self.floats
            if not isfinite(fsum_or_nan(get(slot_values))):
                self._check_floats(positions, slot_values, flagged)

        if self.scaled is not None:
            self._scale(slot_values, flagged)

        if self.steps:
            self._step(slot_values, values, now, counters, flagged)

        names = self.names
        batch = list(map(Sample, names, repeat(now, len(names)), slot_values))
        for position, quality, reason in flagged:
            batch[position] = Sample(
                names[position], now, slot_values[position], quality, reason
            )
        return batch

    def _check_floats(self, positions, slot_values: list, flagged: list) -> None:
        for position in positions:
            value = slot_values[position]
            if not isfinite(value):
                quality, reason = _not_finite(value)
                slot_values[position] = None
                flagged.append((position, quality, reason))

    def _scale(self, slot_values: list, flagged: list) -> None:
        get, positions, scales, offsets = self.scaled
        raw = get(slot_values)
        results = list(map(add, map(mul, raw, scales), offsets))
        if isfinite(fsum_or_nan(results)):
            for position, value in zip(positions, results):
                slot_values[position] = value
            return

        for position, value, result in zip(positions, raw, results):
            if isinstance(value, float) and not isfinite(value):
                quality, reason = _not_finite(value)
                slot_values[position] = None
                flagged.append((position, quality, reason))
            elif not isfinite(result):
                # A finite float64 near its maximum can overflow once scaled.
                slot_values[position] = None
                flagged.append((position, Quality.BAD, Reason.OUT_OF_RANGE))
            else:
                slot_values[position] = result

    def _step(
        self,
        slot_values: list,
        values: list[int],
        now: float,
        counters: CounterCheck,
        flagged: list,
    ) -> None:
        """Decode the slots that need a Python step each: strings and counters."""
        good = Quality.GOOD
        states = counters.states
        for position, how, scale, offset, tag, counter in self.steps:
            value = slot_values[position]
            quality = good
            reason = Reason.NONE
            if how == BIT:
                value = bool((value >> tag.bit) & 1)
            elif how == FLOAT:
                if not isfinite(value):
                    quality, reason = _not_finite(value)
                    value = None
            elif how == SCALED:
                if isinstance(value, float) and not isfinite(value):
                    quality, reason = _not_finite(value)
                    value = None
                else:
                    value = value * scale + offset
                    if not isfinite(value):
                        # A finite float64 near its maximum can overflow once scaled.
                        quality, reason = Quality.BAD, Reason.OUT_OF_RANGE
                        value = None
            elif how == GENERIC:
                first = self.slots[position].offset
                end = first + tag.register_count
                decoded = decode_registers(tag, values[first:end])
                value, quality, reason = decoded.value, decoded.quality, decoded.reason

            if counter and quality is good:
                name = self.names[position]
                state = states.get(name)
                if state is not None and _counts_on(state, value, tag):
                    state.good = value
                else:
                    decoded = counters.check(name, tag, Decoded(value))
                    value, quality = decoded.value, decoded.quality
                    reason = decoded.reason
            slot_values[position] = value
            if quality is not good:
                flagged.append((position, quality, reason))

    def _decode_each(
        self, values: list[int], now: float, counters: CounterCheck
    ) -> list[Sample]:
        """Decode tag by tag, for a reply whose register count is not the request's."""
        batch = []
        for slot in self.slots:
            end = slot.offset + slot.tag.register_count
            decoded = decode_registers(slot.tag, values[slot.offset : end])
            decoded = counters.check(slot.name, slot.tag, decoded)
            batch.append(
                Sample(slot.name, now, decoded.value, decoded.quality, decoded.reason)
            )
        return batch


def _read_how(tag) -> int:
    scaled = not (tag.scale == 1.0 and tag.offset == 0.0)
    if tag.type == "bool":
        return BIT
    if tag.type == "string":
        return GENERIC
    if scaled:
        return SCALED
    if tag.type == "uint16" and tag.byte_order in ("ABCD", "CDAB") and not tag.counter:
        # The register itself is the value, in either word order.
        return PLAIN
    if tag.type.startswith("float"):
        return FLOAT
    return INTEGER


def _getter(positions) -> Callable[[list], tuple]:
    """Return a function that picks ``positions`` from a list, always as a tuple."""
    if len(positions) == 1:
        single = positions[0]
        return lambda values: (values[single],)
    return itemgetter(*positions)


def fsum_or_nan(values) -> float:
    """Sum that is finite only when every value is: NaN or an infinity shows.

    A sum that overflows is not finite either, and only sends the caller to the
    value-by-value check.
    """
    try:
        return sum(values, 0.0)
    except OverflowError:
        # An int too large for a float.
        return math.nan


def _counts_on(state: CounterState, value, tag) -> bool:
    """True when ``value`` follows the last good count with nothing flagged."""
    if state.flagged is not None or state.good is None:
        return False
    good = state.good
    if value < good:
        return False
    factor = tag.max_counter_jump
    return factor is None or good <= 0 or value <= good * factor


def _not_finite(value: float) -> tuple[Quality, str]:
    if math.isnan(value):
        return Quality.BAD, Reason.DEVICE_NAN
    return Quality.BAD, Reason.DEVICE_INF


@dataclass(slots=True)
class CounterState:
    # Last value accepted as good, and the last value flagged since then.
    good: int | float | None = None
    flagged: int | float | None = None


class CounterCheck:
    """Flags decreases and jumps of monotonic counter tags, with state per tag.

    A value below the last good one, or above it times ``max_counter_jump``, gets
    quality UNCERTAIN, reason ``out_of_range``, and keeps its value. The next value
    decides what the flagged one was. If it fits the last good value, the flagged one
    was a glitch. If it fits the flagged value instead, the counter was reset or
    replaced, so counting goes on from there as good.
    """

    def __init__(self) -> None:
        self.states: dict[str, CounterState] = {}

    def check(self, name: str, tag, decoded: Decoded) -> Decoded:
        """Return ``decoded`` for tag ``name``, flagged if it breaks the counter."""
        if not tag.counter or decoded.quality is not Quality.GOOD:
            return decoded

        state = self.states.setdefault(name, CounterState())
        value = decoded.value
        factor = tag.max_counter_jump
        problem = counter_problem(state.good, value, factor)
        restarted = (
            problem is not None
            and state.flagged is not None
            and counter_problem(state.flagged, value, factor) is None
        )
        if restarted:
            log.warning(
                "tag %s: counter restarts from %s after %s (last good %s)",
                name,
                value,
                state.flagged,
                state.good,
            )
            problem = None

        if problem is None:
            if state.flagged is not None:
                log.info("tag %s: counter value %s is good again", name, value)
            state.good = value
            state.flagged = None
            return decoded

        if state.flagged is None:
            log.warning(
                "tag %s: counter %s from %s to %s; stored as uncertain",
                name,
                problem,
                state.good,
                value,
            )
        state.flagged = value
        return Decoded(value, Quality.UNCERTAIN, Reason.OUT_OF_RANGE)


def counter_problem(previous, value, factor: float | None) -> str | None:
    """Return "decreased" or "jumped" when ``value`` cannot follow ``previous``.

    NOTE: a previous value of 0 or less gives no jump limit, so the first count
    after a counter at zero is never flagged as a jump.
    """
    if previous is None:
        return None
    if value < previous:
        return "decreased"
    if factor is not None and previous > 0 and value > previous * factor:
        return "jumped"
    return None
