"""Every data type in every byte order, served by a real server, read by the collector.

Expected values come from ``struct`` and from explicit byte positions per byte
order, written here independently of collectors/modbus/decode.py.
"""

from __future__ import annotations

import math
import struct

from modbus_server import (
    ModbusTestServer,
    Recorder,
    RunningCollector,
    make_device,
    new_status,
    wait_until,
)

from collectors.modbus.collector import ModbusCollector
from vigie.model import ConnectionState, Quality

# Position, in the value's big-endian bytes, of each byte as it is sent on the wire.
WIRE_POSITIONS = {
    2: {"ABCD": [0, 1], "CDAB": [0, 1], "BADC": [1, 0], "DCBA": [1, 0]},
    4: {
        "ABCD": [0, 1, 2, 3],
        "CDAB": [2, 3, 0, 1],
        "BADC": [1, 0, 3, 2],
        "DCBA": [3, 2, 1, 0],
    },
    8: {
        "ABCD": [0, 1, 2, 3, 4, 5, 6, 7],
        "CDAB": [6, 7, 4, 5, 2, 3, 0, 1],
        "BADC": [1, 0, 3, 2, 5, 4, 7, 6],
        "DCBA": [7, 6, 5, 4, 3, 2, 1, 0],
    },
}

NUMBERS = {
    "int16": ("h", [-32768, 32767, -1, 1234]),
    "uint16": ("H", [0, 65535, 0x1234]),
    "int32": ("i", [-(2**31), 2**31 - 1, -123456789]),
    "uint32": ("I", [0, 2**32 - 1, 0x12345678]),
    "int64": ("q", [-(2**63), 2**63 - 1, -1234567890123]),
    "uint64": ("Q", [0, 2**64 - 1, 0x0102030405060708]),
    "float32": (
        "f",
        [
            3.140000104904175,
            -2.5,
            3.4028234663852886e38,
            -3.4028234663852886e38,
            1.1754943508222875e-38,  # smallest normal
            1.401298464324817e-45,  # smallest subnormal
            -0.0,
        ],
    ),
    "float64": (
        "d",
        [
            math.pi,
            -1.0e-300,
            1.7976931348623157e308,
            -1.7976931348623157e308,
            2.2250738585072014e-308,  # smallest normal
            5e-324,  # smallest subnormal
        ],
    ),
}
NOT_FINITE = [math.nan, math.inf, -math.inf]
NOT_FINITE_REASONS = {"nan": "device_nan", "inf": "device_inf", "-inf": "device_inf"}
ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"]


def wire_words(code: str, value, order: str) -> list[int]:
    packed = struct.pack(">" + code, value)
    wire = bytes(packed[i] for i in WIRE_POSITIONS[len(packed)][order])
    return [int.from_bytes(wire[i : i + 2], "big") for i in range(0, len(wire), 2)]


def build_number_table():
    """Return holding words from address 0, tag configs and expected samples."""
    words: list[int] = []
    tags: list[dict] = []
    expected: dict[str, tuple] = {}

    for data_type, (code, values) in NUMBERS.items():
        extra = NOT_FINITE if code in "fd" else []
        for order in ORDERS:
            for index, value in enumerate(values + extra):
                name = f"{data_type}_{order}_{index}"
                tags.append(
                    {
                        "name": name,
                        "kind": "holding",
                        "address": len(words),
                        "type": data_type,
                        "byte_order": order,
                    }
                )
                words.extend(wire_words(code, value, order))
                if math.isfinite(value):
                    expected[name] = (value, Quality.GOOD, "")
                else:
                    reason = NOT_FINITE_REASONS[str(value)]
                    expected[name] = (None, Quality.BAD, reason)
    return words, tags, expected


async def test_every_type_and_byte_order_decodes():
    words, tags, expected = build_number_table()
    server = ModbusTestServer(holding={0: words})
    port = await server.start()
    status = new_status()
    recorder = Recorder()
    collector = ModbusCollector(make_device(port, tags), recorder, status)

    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.polls >= 1)
    finally:
        await server.stop()

    latest = recorder.latest()
    assert len(words) == 396
    assert len(expected) == 152
    # 396 registers need four requests of at most 125 registers.
    assert len(collector.requests) == 4
    for name, (value, quality, reason) in expected.items():
        sample = latest[f"DEV.{name}"]
        assert (name, sample.value) == (name, value)
        assert (name, sample.quality) == (name, quality)
        assert (name, sample.reason) == (name, reason)
        assert type(sample.value) is type(value) or value is None
        if value == 0.0 and isinstance(value, float):
            assert (name, math.copysign(1.0, sample.value)) == (name, -1.0)


async def test_worked_example_of_config_decodes():
    # The four wire layouts of 3.14 given in config.yaml.
    layouts = {
        "ABCD": [0x4048, 0xF5C3],
        "CDAB": [0xF5C3, 0x4048],
        "BADC": [0x4840, 0xC3F5],
        "DCBA": [0xC3F5, 0x4840],
    }
    words = [word for order in ORDERS for word in layouts[order]]
    tags = [
        {
            "name": f"pi_{order}",
            "kind": "input",
            "address": 2 * index,
            "type": "float32",
            "byte_order": order,
        }
        for index, order in enumerate(ORDERS)
    ]
    server = ModbusTestServer(inputs={0: words})
    port = await server.start()
    status = new_status()
    recorder = Recorder()

    try:
        collector = ModbusCollector(make_device(port, tags), recorder, status)
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.polls >= 1)
    finally:
        await server.stop()

    latest = recorder.latest()
    expected = struct.unpack(">f", bytes.fromhex("4048F5C3"))[0]
    for order in ORDERS:
        assert latest[f"DEV.pi_{order}"].value == expected
    assert round(expected, 6) == 3.14


async def test_bits_strings_and_scaling_decode():
    name_words = list(struct.unpack(">5H", b"PUMP-01\x00\x00\x00"))
    swapped_words = list(struct.unpack("<5H", b"PUMP-01\x00\x00\x00"))
    holding = {
        0: [0x8001],  # bit 0 and bit 15 set, bit 1 clear
        1: name_words,
        6: swapped_words,
        11: [struct.unpack(">H", struct.pack(">h", -1234))[0]],
        12: wire_words("I", 4000000000, "CDAB"),
        14: wire_words("f", 2.5, "ABCD"),
    }
    tags = [
        {"name": "bit0", "address": 0, "type": "bool", "bit": 0},
        {"name": "bit1", "address": 0, "type": "bool", "bit": 1},
        {"name": "bit15", "address": 0, "type": "bool", "bit": 15},
        {"name": "label", "address": 1, "type": "string", "count": 5},
        {
            "name": "label_swapped",
            "address": 6,
            "type": "string",
            "count": 5,
            "byte_order": "BADC",
        },
        {
            "name": "pressure",
            "address": 11,
            "type": "int16",
            "scale": 0.01,
            "offset": 1.0,
        },
        {"name": "energy", "address": 12, "type": "uint32", "byte_order": "CDAB"},
        {
            "name": "flow",
            "address": 14,
            "type": "float32",
            "scale": 2.0,
            "offset": -1.0,
        },
        {"name": "coil0", "kind": "coil", "address": 0, "type": "bool"},
        {"name": "coil9", "kind": "coil", "address": 9, "type": "bool"},
        {"name": "coil5", "kind": "coil", "address": 5, "type": "bool"},
        {"name": "input1", "kind": "discrete_input", "address": 1, "type": "bool"},
        {"name": "input2", "kind": "discrete_input", "address": 2, "type": "bool"},
    ]
    coils = [True, False, False, False, False, False, False, False, False, True]
    server = ModbusTestServer(
        holding=holding, coils={0: coils}, discrete_inputs={0: [True, True, False]}
    )
    port = await server.start()
    status = new_status()
    recorder = Recorder()

    try:
        collector = ModbusCollector(make_device(port, tags), recorder, status)
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.polls >= 1)
    finally:
        await server.stop()

    latest = recorder.latest()
    values = {name.removeprefix("DEV."): s.value for name, s in latest.items()}
    assert values["bit0"] is True
    assert values["bit1"] is False
    assert values["bit15"] is True
    assert values["label"] == "PUMP-01"
    assert values["label_swapped"] == "PUMP-01"
    assert values["pressure"] == -1234 * 0.01 + 1.0
    assert values["energy"] == 4000000000
    assert type(values["energy"]) is int
    assert values["flow"] == 2.5 * 2.0 - 1.0
    assert values["coil0"] is True
    assert values["coil5"] is False
    assert values["coil9"] is True
    assert values["input1"] is True
    assert values["input2"] is False
    assert status.state is ConnectionState.STOPPED
    assert status.samples >= 13
    assert status.polls >= 1


SCALED = {
    "int16": ("h", -1234),
    "uint16": ("H", 65000),
    "int32": ("i", -2_000_000_000),
    "uint32": ("I", 4_000_000_000),
    "int64": ("q", -(2**62)),
    "uint64": ("Q", 2**63),
    "float32": ("f", -13987.0),
    "float64": ("d", 1.0e300),
}


async def test_scale_and_offset_apply_to_every_type():
    words: list[int] = []
    tags: list[dict] = []
    for data_type, (code, raw) in SCALED.items():
        tags.append(
            {
                "name": data_type,
                "kind": "input",
                "address": len(words),
                "type": data_type,
                "byte_order": "DCBA",
                "scale": 0.001,
                "offset": -5.0,
            }
        )
        words.extend(wire_words(code, raw, "DCBA"))
    server = ModbusTestServer(inputs={0: words})
    port = await server.start()
    status = new_status()
    recorder = Recorder()

    try:
        collector = ModbusCollector(make_device(port, tags), recorder, status)
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.polls >= 1)
    finally:
        await server.stop()

    latest = recorder.latest()
    for data_type, (_code, raw) in SCALED.items():
        sample = latest[f"DEV.{data_type}"]
        assert (data_type, sample.value) == (data_type, raw * 0.001 - 5.0)
        assert (data_type, sample.quality) == (data_type, Quality.GOOD)
