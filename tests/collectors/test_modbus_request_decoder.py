"""RequestDecoder gives exactly the samples of decode_registers and CounterCheck."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from vigie.config import ModbusTag
from vigie.model import Quality, Reason, Sample

from collectors.modbus.counters import CounterCheck
from collectors.modbus.decode import decode_registers
from collectors.modbus.request_decoder import RequestDecoder
from collectors.modbus.planner import TagSlot

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
BYTE_ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
COUNT = 24
NOW = 1_717_200_000.5


def make_tag(name: str, fields: dict) -> ModbusTag:
    return ModbusTag.model_validate({"name": name, "address": 0, **fields})


def reference(slots, values: list[int], counters: CounterCheck) -> list[Sample]:
    """Decode slot by slot, as the collector did before RequestDecoder."""
    batch = []
    for slot in slots:
        end = slot.offset + slot.tag.register_count
        decoded = decode_registers(slot.tag, values[slot.offset : end])
        decoded = counters.check(slot.name, slot.tag, decoded)
        batch.append(
            Sample(slot.name, NOW, decoded.value, decoded.quality, decoded.reason)
        )
    return batch


def exact(sample: Sample) -> tuple:
    """Return the sample's fields, with floats as their bits so -0.0 and 0.0 differ."""
    value = sample.value
    if isinstance(value, float):
        value = struct.pack(">d", value)
    return (
        sample.tag,
        sample.ts,
        type(sample.value),
        value,
        sample.quality,
        sample.reason,
    )


@st.composite
def tag_fields(draw) -> dict:
    kind = draw(st.sampled_from(("number", "number", "number", "bool", "string")))
    if kind == "bool":
        return {"type": "bool", "bit": draw(st.integers(0, 15))}
    if kind == "string":
        return {"type": "string", "count": draw(st.integers(1, 4))}

    fields = {
        "type": draw(st.sampled_from(NUMERIC_TYPES)),
        "byte_order": draw(st.sampled_from(BYTE_ORDERS)),
        "counter": draw(st.booleans()),
    }
    if draw(st.booleans()):
        fields["scale"] = draw(st.sampled_from((0.1, 2.0, -1.0, 1e300)))
        fields["offset"] = draw(st.sampled_from((0.0, 5.0)))
    return fields


@st.composite
def layouts(draw) -> tuple[list[TagSlot], list[list[int]]]:
    """Slots at any offsets, overlaps included, and three replies to decode in turn."""
    slots = []
    for index, fields in enumerate(
        draw(st.lists(tag_fields(), min_size=1, max_size=12))
    ):
        tag = make_tag(f"t{index}", fields)
        offset = draw(st.integers(0, COUNT - tag.register_count))
        slots.append(TagSlot(f"D.t{index}", tag, offset))
    words = st.one_of(
        st.integers(0, 0xFFFF),
        st.sampled_from((0x7F80, 0x7FC0, 0xFF80, 0x7FF0, 0x8000)),
    )
    replies = draw(
        st.lists(
            st.lists(words, min_size=COUNT, max_size=COUNT), min_size=3, max_size=3
        )
    )
    return slots, replies


@settings(max_examples=300, deadline=None)
@given(layouts())
def test_decoder_matches_reference(layout):
    slots, replies = layout
    decoder = RequestDecoder(slots, COUNT)
    fast_counters = CounterCheck()
    reference_counters = CounterCheck()

    for values in replies:
        fast = decoder.decode(values, NOW, fast_counters)
        expected = reference(slots, values, reference_counters)
        assert [exact(sample) for sample in fast] == [
            exact(sample) for sample in expected
        ]


def test_decoder_reads_each_byte_order():
    """0x01020304 as uint32 and 1.5 as float32, on the wire in each byte order."""
    wire_32 = {
        "ABCD": [0x0102, 0x0304],
        "CDAB": [0x0304, 0x0102],
        "BADC": [0x0201, 0x0403],
        "DCBA": [0x0403, 0x0201],
    }
    wire_float = {
        "ABCD": [0x3FC0, 0x0000],
        "CDAB": [0x0000, 0x3FC0],
        "BADC": [0xC03F, 0x0000],
        "DCBA": [0x0000, 0xC03F],
    }
    for order in BYTE_ORDERS:
        slots = [
            TagSlot(
                "D.count", make_tag("count", {"type": "uint32", "byte_order": order}), 0
            ),
            TagSlot(
                "D.flow", make_tag("flow", {"type": "float32", "byte_order": order}), 2
            ),
        ]
        batch = RequestDecoder(slots, 4).decode(
            wire_32[order] + wire_float[order], NOW, CounterCheck()
        )
        assert batch[0] == Sample("D.count", NOW, 0x01020304), order
        assert batch[1] == Sample("D.flow", NOW, 1.5), order


def test_decoder_flags_nan_and_infinity():
    slots = [
        TagSlot("D.nan", make_tag("nan", {"type": "float32"}), 0),
        TagSlot("D.inf", make_tag("inf", {"type": "float32", "scale": 0.1}), 2),
        TagSlot("D.big", make_tag("big", {"type": "float64", "scale": 1e300}), 4),
    ]
    values = [0x7FC0, 0, 0xFF80, 0] + list(
        struct.unpack(">4H", struct.pack(">d", 1e300))
    )
    batch = RequestDecoder(slots, 8).decode(values, NOW, CounterCheck())

    assert batch[0] == Sample("D.nan", NOW, None, Quality.BAD, Reason.DEVICE_NAN)
    assert batch[1] == Sample("D.inf", NOW, None, Quality.BAD, Reason.DEVICE_INF)
    assert batch[2] == Sample("D.big", NOW, None, Quality.BAD, Reason.OUT_OF_RANGE)


def test_decoder_checks_plain_counter():
    """A uint16 counter without scale still goes through the counter check."""
    slots = [
        TagSlot("D.energy", make_tag("energy", {"type": "uint16", "counter": True}), 0)
    ]
    decoder = RequestDecoder(slots, 1)
    counters = CounterCheck()

    first = decoder.decode([500], NOW, counters)
    second = decoder.decode([400], NOW, counters)

    assert first == [Sample("D.energy", NOW, 500)]
    assert second == [
        Sample("D.energy", NOW, 400, Quality.UNCERTAIN, Reason.OUT_OF_RANGE)
    ]


def test_decoder_short_reply_is_bad_frame():
    slots = [TagSlot("D.flow", make_tag("flow", {"type": "float32"}), 2)]
    batch = RequestDecoder(slots, 4).decode([0x3FC0, 0, 0], NOW, CounterCheck())

    assert batch == [Sample("D.flow", NOW, None, Quality.BAD, Reason.BAD_FRAME)]
