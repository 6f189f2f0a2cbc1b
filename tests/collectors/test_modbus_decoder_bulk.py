"""RequestDecoder reads floats, scaled tags, bools and counters of a request in bulk.

Each case puts one odd value among ordinary ones, so that the bulk check must find it
and leave every other tag as it was.
"""

from __future__ import annotations

import struct

from vigie.config import ModbusTag
from vigie.model import Quality, Reason, Sample

from collectors.modbus.counters import CounterCheck
from collectors.modbus.request_decoder import RequestDecoder
from collectors.modbus.planner import TagSlot

NOW = 1_717_200_000.5


def make_tag(name: str, fields: dict) -> ModbusTag:
    return ModbusTag.model_validate({"name": name, "address": 0, **fields})


def float_words(value: float) -> list[int]:
    return list(struct.unpack(">2H", struct.pack(">f", value)))


def double_words(value: float) -> list[int]:
    return list(struct.unpack(">4H", struct.pack(">d", value)))


def test_nan_marks_only_its_sample_bad():
    slots = [
        TagSlot(f"D.f{index}", make_tag(f"f{index}", {"type": "float32"}), index * 2)
        for index in range(4)
    ]
    values = float_words(1.5) + float_words(-2.25) + [0x7FC0, 0] + float_words(8.0)

    batch = RequestDecoder(slots, 8).decode(values, NOW, CounterCheck())

    assert batch == [
        Sample("D.f0", NOW, 1.5),
        Sample("D.f1", NOW, -2.25),
        Sample("D.f2", NOW, None, Quality.BAD, Reason.DEVICE_NAN),
        Sample("D.f3", NOW, 8.0),
    ]


def test_floats_whose_sum_overflows_stay_good():
    """Two float64 values near the largest double: each is finite, their sum not."""
    big = 1.7e308
    slots = [
        TagSlot("D.a", make_tag("a", {"type": "float64"}), 0),
        TagSlot("D.b", make_tag("b", {"type": "float64"}), 4),
    ]

    batch = RequestDecoder(slots, 8).decode(
        double_words(big) + double_words(big), NOW, CounterCheck()
    )

    assert batch == [Sample("D.a", NOW, big), Sample("D.b", NOW, big)]


def test_one_scaled_overflow_among_scaled_tags():
    slots = [
        TagSlot("D.p", make_tag("p", {"type": "int16", "scale": 0.5}), 0),
        TagSlot("D.big", make_tag("big", {"type": "float64", "scale": 1e300}), 1),
        TagSlot(
            "D.q", make_tag("q", {"type": "uint16", "scale": 2.0, "offset": 5.0}), 5
        ),
        TagSlot("D.inf", make_tag("inf", {"type": "float32", "scale": 0.1}), 6),
    ]
    values = [0xFFFE] + double_words(1e300) + [7] + [0x7F80, 0]

    batch = RequestDecoder(slots, 8).decode(values, NOW, CounterCheck())

    assert batch == [
        Sample("D.p", NOW, -1.0),
        Sample("D.big", NOW, None, Quality.BAD, Reason.OUT_OF_RANGE),
        Sample("D.q", NOW, 19.0),
        Sample("D.inf", NOW, None, Quality.BAD, Reason.DEVICE_INF),
    ]


def test_bools_of_several_bits_in_shared_registers():
    slots = [
        TagSlot("D.a0", make_tag("a0", {"type": "bool", "bit": 0}), 0),
        TagSlot("D.a3", make_tag("a3", {"type": "bool", "bit": 3}), 0),
        TagSlot("D.b0", make_tag("b0", {"type": "bool", "bit": 0}), 1),
        TagSlot("D.b15", make_tag("b15", {"type": "bool", "bit": 15}), 1),
    ]

    batch = RequestDecoder(slots, 2).decode([0b1001, 0x8000], NOW, CounterCheck())

    assert batch == [
        Sample("D.a0", NOW, True),
        Sample("D.a3", NOW, True),
        Sample("D.b0", NOW, False),
        Sample("D.b15", NOW, True),
    ]


def test_counter_jump_flagged_then_resumes():
    """A counter limited to doubling: 100, 150, 400 (jump), 160 (the jump was a
    glitch), 170."""
    tag = make_tag("e", {"type": "uint16", "counter": True, "max_counter_jump": 2.0})
    decoder = RequestDecoder([TagSlot("D.e", tag, 0)], 1)
    counters = CounterCheck()

    batches = [decoder.decode([value], NOW, counters) for value in (100, 150, 400)]
    batches += [decoder.decode([value], NOW, counters) for value in (160, 170)]

    assert batches == [
        [Sample("D.e", NOW, 100)],
        [Sample("D.e", NOW, 150)],
        [Sample("D.e", NOW, 400, Quality.UNCERTAIN, Reason.OUT_OF_RANGE)],
        [Sample("D.e", NOW, 160)],
        [Sample("D.e", NOW, 170)],
    ]
