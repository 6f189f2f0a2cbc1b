"""Decoding of every tag of one register read request in bulk, for the poll loop."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from itertools import repeat
from math import isfinite
from operator import add, and_, itemgetter, mul, rshift

from vigie.model import Quality, Reason, Sample

from collectors.modbus.counters import CounterCheck, CounterState
from collectors.modbus.datatypes import DATATYPES
from collectors.modbus.decode import Decoded, decode_registers


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
