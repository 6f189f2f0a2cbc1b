"""Vendor register maps that were decoded wrongly in the field, read end to end.

Each case serves its exact register words or data bytes from a hand-framed server
and reads them through the real collector. Expected values are the ones a correct
reading gives, checked against ``struct`` where they are floats.
"""

from __future__ import annotations

import struct

from modbus_cases_wire import WireServer, bits_responder, register_responder
from test_modbus_cases_addressing import poll_once, requests_sent

from collectors.modbus.decode import unpack_bits
from vigie.model import Quality


def float_bits(hex_bits: str) -> float:
    return struct.unpack(">f", bytes.fromhex(hex_bits))[0]


def holding_from(words: list[int], start: int = 0) -> dict[int, int]:
    return {start + index: word for index, word in enumerate(words)}


async def read_words(words: list[int], tag: dict) -> object:
    """Serve ``words`` from holding 0 and return the sample of the one tag on them."""
    server = WireServer(register_responder({"holding": holding_from(words)}))
    latest = await poll_once(server, [{"name": "t", "address": 0, **tag}])
    return latest["DEV.t"]


async def test_float_word_swapped_voltage():
    """A meter that sends the low word first: 0x436E9BD4 arrives as 9BD4 436E."""
    sample = await read_words(
        [0x9BD4, 0x436E], {"type": "float32", "byte_order": "CDAB"}
    )

    assert sample.value == float_bits("436E9BD4")
    assert round(sample.value, 4) == 238.6087
    assert sample.quality is Quality.GOOD


async def test_scale_applies_to_floats():
    words = [
        int.from_bytes(struct.pack(">f", 13987.0)[i : i + 2], "big") for i in (0, 2)
    ]
    sample = await read_words(words, {"type": "float32", "scale": 0.001})

    assert sample.value == 13987.0 * 0.001
    assert round(sample.value, 3) == 13.987


async def test_float_cdab_not_badc():
    sample = await read_words(
        [0x077A, 0x429B], {"type": "float32", "byte_order": "CDAB"}
    )

    assert sample.value == float_bits("429B077A")
    assert round(sample.value, 6) == 77.514603


async def test_float_all_orders_of_little_endian_temperature():
    expected = {
        "ABCD": (float_bits("DA77FB41"), ".7g", -1.745014e16),
        "CDAB": (float_bits("FB41DA77"), ".7g", -1.006544e36),
        "BADC": (float_bits("77DA41FB"), ".7g", 8.853586e33),
        "DCBA": (float_bits("41FB77DA"), ".6f", 31.433521),
    }
    for order, (exact, shown_as, shown) in expected.items():
        sample = await read_words(
            [0xDA77, 0xFB41], {"type": "float32", "byte_order": order}
        )
        assert (order, sample.value) == (order, exact)
        assert (order, float(format(sample.value, shown_as))) == (order, shown)


async def test_float_all_orders_of_byte_swapped_value():
    expected = {
        "ABCD": (float_bits("8EBF7B14"), -4.72e-30),
        "CDAB": (float_bits("7B148EBF"), 7.71e35),
        "BADC": (float_bits("BF8E147B"), -1.1100000143),
        "DCBA": (float_bits("147BBF8E"), 1.27e-26),
    }
    for order, (exact, shown) in expected.items():
        sample = await read_words(
            [0x8EBF, 0x7B14], {"type": "float32", "byte_order": order}
        )
        digits = 11 if order == "BADC" else 3
        assert (order, sample.value) == (order, exact)
        assert (order, float(f"{sample.value:.{digits}g}")) == (order, shown)


async def test_float_takes_both_registers():
    """A power meter's voltage in two registers must not read as the first word."""
    sample = await read_words(
        [0x519F, 0x436A], {"type": "float32", "byte_order": "CDAB"}
    )

    assert sample.value == float_bits("436A519F")
    assert round(sample.value, 4) == 234.3188


async def test_response_shorter_than_float_is_bad():
    """A device that returns one register when the float32 tag needs two."""

    def one_register(_unit: int, pdu: bytes) -> bytes:
        return bytes([pdu[0], 2, 0x51, 0x9F])

    server = WireServer(one_register)
    latest = await poll_once(
        server, [{"name": "t", "address": 0, "type": "float32", "byte_order": "CDAB"}]
    )

    sample = latest["DEV.t"]
    assert sample.value is None
    assert sample.quality is Quality.BAD
    assert sample.reason == "bad_frame"


async def test_counters_sent_low_word_first():
    cases = [([0x4ACE, 0x0000], 19150), ([0x9C40, 0x0000], 40000), ([177, 0], 177)]
    for words, expected in cases:
        sample = await read_words(words, {"type": "uint32", "byte_order": "CDAB"})
        assert (words, sample.value) == (words, expected)
        assert (words, type(sample.value)) == (words, int)


async def test_float_nan_and_infinity_patterns():
    cases = [
        ([0x7FC0, 0x0000], None, Quality.BAD, "device_nan"),
        ([0x7FBF, 0xFF80], None, Quality.BAD, "device_nan"),
        ([0x7F80, 0x0000], None, Quality.BAD, "device_inf"),
        ([0xFF80, 0x0000], None, Quality.BAD, "device_inf"),
        ([0x41BC, 0x0000], 23.5, Quality.GOOD, ""),
    ]
    for words, value, quality, reason in cases:
        sample = await read_words(words, {"type": "float32"})
        assert (words, sample.value) == (words, value)
        assert (words, sample.quality) == (words, quality)
        assert (words, sample.reason) == (words, reason)


async def test_signed_and_unsigned_stay_apart():
    server = WireServer(
        register_responder({"holding": holding_from([0xFFFF, 0xFF98, 0xFFEC])})
    )
    tags = [
        {"name": "power", "address": 0, "type": "int32"},
        {"name": "power_unsigned", "address": 0, "type": "uint32"},
        {"name": "temperature", "address": 2, "type": "int16"},
        {"name": "temperature_unsigned", "address": 2, "type": "uint16"},
    ]

    latest = await poll_once(server, tags)

    assert latest["DEV.power"].value == -104
    assert latest["DEV.power_unsigned"].value == 4294967192
    assert latest["DEV.temperature"].value == -20
    assert latest["DEV.temperature_unsigned"].value == 65516


def coil_tags(start: int, count: int) -> list[dict]:
    return [
        {
            "name": f"coil_{start + n}",
            "kind": "coil",
            "address": start + n,
            "type": "bool",
        }
        for n in range(count)
    ]


async def read_coils(data: bytes, start: int, count: int) -> tuple[list, set]:
    server = WireServer(bits_responder(data))
    latest = await poll_once(server, coil_tags(start, count))
    values = [int(latest[f"DEV.coil_{start + n}"].value) for n in range(count)]
    return values, requests_sent(server)


async def test_sixteen_coils_keep_byte_order():
    values, sent = await read_coils(bytes.fromhex("F5FF"), 0x0100, 16)

    assert sent == {"01 01 00 00 10"}
    assert values == [1, 0, 1, 0, 1, 1, 1, 1] + [1] * 8


async def test_twenty_coils_drop_padding_bits():
    values, sent = await read_coils(bytes.fromhex("F5FF0A"), 0, 20)

    assert sent == {"01 00 00 00 14"}
    assert len(values) == 20
    assert values[-4:] == [0, 1, 0, 1]


async def test_protocol_example_nineteen_coils():
    values, sent = await read_coils(bytes.fromhex("CD6B05"), 20, 19)

    assert sent == {"01 00 14 00 13"}
    assert values == [1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1]


async def test_single_coil_is_one_value():
    values, sent = await read_coils(b"\x01", 0, 1)

    assert sent == {"01 00 00 00 01"}
    assert values == [1]


def test_unpack_bits_matches_coil_cases():
    assert unpack_bits(bytes.fromhex("F5FF"), 16) == [
        bool(bit) for bit in [1, 0, 1, 0, 1, 1, 1, 1] + [1] * 8
    ]
    assert len(unpack_bits(bytes.fromhex("F5FF0A"), 20)) == 20
    assert unpack_bits(bytes.fromhex("F5FF0A"), 20)[-4:] == [False, True, False, True]
    assert unpack_bits(bytes.fromhex("CD6B05"), 19) == [
        bool(bit) for bit in [1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1]
    ]
    assert unpack_bits(b"\x01", 1) == [True]
