from __future__ import annotations

import pytest
from pydantic import ValidationError

from collectors.modbus.planner import merge_adjacent, plan_requests, split_request
from vigie.config import ModbusDevice


def device(tags: list[dict], max_gap: int = 0) -> ModbusDevice:
    return ModbusDevice.model_validate(
        {"name": "PS1", "protocol": "modbus_tcp", "max_gap": max_gap, "tags": tags}
    )


def layout(requests) -> list[tuple]:
    return [(r.kind, r.address, r.count) for r in requests]


def test_adjacent_registers_merge():
    plan = plan_requests(
        device(
            [
                {"name": "c", "address": 3, "type": "float32"},
                {"name": "a", "address": 0, "type": "uint16"},
                {"name": "b", "address": 1, "type": "int32"},
            ]
        )
    )

    assert layout(plan) == [("holding", 0, 5)]
    offsets = {slot.tag.name: slot.offset for slot in plan[0].slots}
    assert offsets == {"a": 0, "b": 1, "c": 3}
    assert [slot.name for slot in plan[0].slots] == ["PS1.a", "PS1.b", "PS1.c"]


def test_gap_splits_without_max_gap():
    tags = [
        {"name": "a", "address": 0},
        {"name": "b", "address": 3},
    ]

    assert layout(plan_requests(device(tags))) == [
        ("holding", 0, 1),
        ("holding", 3, 1),
    ]


def test_max_gap_bridges_up_to_limit():
    tags = [
        {"name": "a", "address": 0},
        {"name": "b", "address": 3},  # gap of 2 registers (1 and 2)
        {"name": "c", "address": 7},  # gap of 3 registers (4, 5 and 6)
    ]

    assert layout(plan_requests(device(tags, max_gap=2))) == [
        ("holding", 0, 4),
        ("holding", 7, 1),
    ]
    assert layout(plan_requests(device(tags, max_gap=3))) == [("holding", 0, 8)]


def test_kinds_never_share_a_request():
    tags = [
        {"name": "h", "kind": "holding", "address": 0},
        {"name": "i", "kind": "input", "address": 1},
        {"name": "c", "kind": "coil", "address": 0, "type": "bool"},
        {"name": "d", "kind": "discrete_input", "address": 0, "type": "bool"},
    ]

    assert layout(plan_requests(device(tags, max_gap=10))) == [
        ("coil", 0, 1),
        ("discrete_input", 0, 1),
        ("holding", 0, 1),
        ("input", 1, 1),
    ]


def test_split_at_125_registers():
    tags = [{"name": f"r{i}", "address": i} for i in range(300)]

    plan = plan_requests(device(tags))

    assert layout(plan) == [
        ("holding", 0, 125),
        ("holding", 125, 125),
        ("holding", 250, 50),
    ]
    assert [len(r.slots) for r in plan] == [125, 125, 50]
    assert plan[1].slots[0].offset == 0
    assert plan[1].slots[0].name == "PS1.r125"


def test_value_never_straddles_a_split():
    # 62 float32 fill 124 registers, so the 63rd would pass the 125 limit.
    tags = [{"name": f"f{i}", "address": 2 * i, "type": "float32"} for i in range(63)]

    assert layout(plan_requests(device(tags))) == [
        ("holding", 0, 124),
        ("holding", 124, 2),
    ]


def test_split_at_2000_bits():
    tags = [
        {"name": f"c{i}", "kind": "coil", "address": i, "type": "bool"}
        for i in range(2001)
    ]

    assert layout(plan_requests(device(tags))) == [
        ("coil", 0, 2000),
        ("coil", 2000, 1),
    ]


def test_bools_share_one_register():
    tags = [
        {"name": "run", "address": 4, "type": "bool", "bit": 0},
        {"name": "fault", "address": 4, "type": "bool", "bit": 1},
        {"name": "level", "address": 5, "type": "uint16"},
        {"name": "alarm", "address": 4, "type": "bool", "bit": 15},
    ]

    plan = plan_requests(device(tags))

    assert layout(plan) == [("holding", 4, 2)]
    offsets = {slot.tag.name: slot.offset for slot in plan[0].slots}
    assert offsets == {"run": 0, "fault": 0, "alarm": 0, "level": 1}


def test_overlapping_string_extends_request():
    tags = [
        {"name": "label", "address": 10, "type": "string", "count": 8},
        {"name": "inside", "address": 12, "type": "uint16"},
        {"name": "after", "address": 18, "type": "uint16"},
    ]

    plan = plan_requests(device(tags))

    assert layout(plan) == [("holding", 10, 9)]
    offsets = {slot.tag.name: slot.offset for slot in plan[0].slots}
    assert offsets == {"label": 0, "inside": 2, "after": 8}


def test_demo_network_pumping_station_plan():
    tags = [
        {"name": "pump1_running", "address": 0, "type": "bool", "bit": 0},
        {"name": "pump1_fault", "address": 0, "type": "bool", "bit": 1},
        {"name": "pump2_running", "address": 1, "type": "bool", "bit": 0},
        {"name": "pump2_fault", "address": 1, "type": "bool", "bit": 1},
        {"name": "pump1_current", "kind": "input", "address": 0, "type": "float32"},
        {"name": "pump2_current", "kind": "input", "address": 2, "type": "float32"},
        {"name": "discharge_pressure", "kind": "input", "address": 4, "type": "int16"},
        {"name": "outflow", "kind": "input", "address": 5, "type": "float32"},
    ]

    assert layout(plan_requests(device(tags))) == [
        ("holding", 0, 2),
        ("input", 0, 7),
    ]


def limited(tags: list[dict], **settings) -> ModbusDevice:
    return ModbusDevice.model_validate(
        {"name": "PS1", "protocol": "modbus_tcp", "tags": tags, **settings}
    )


def meter_map() -> list[dict]:
    tags = [{"name": f"r{i}", "address": i} for i in range(39)]
    tags.append({"name": "power", "address": 39, "type": "float32"})
    tags += [{"name": f"r{i}", "address": i} for i in range(41, 100)]
    return tags


def test_max_40_registers_never_splits_a_value():
    plan = plan_requests(limited(meter_map(), max_registers_per_read=40))

    assert layout(plan) == [
        ("holding", 0, 39),
        ("holding", 39, 40),
        ("holding", 79, 21),
    ]


def test_max_1_register_rejects_32_bit_tag():
    with pytest.raises(ValidationError) as caught:
        limited(meter_map(), max_registers_per_read=1)

    message = str(caught.value)
    assert "tags[39].type: power (float32) needs 2 registers in one read" in message
    assert "max_registers_per_read is 1" in message


def test_max_bits_per_read_splits_coils():
    tags = [
        {"name": f"c{i}", "kind": "coil", "address": i, "type": "bool"}
        for i in range(10)
    ]

    assert layout(plan_requests(limited(tags, max_bits_per_read=4))) == [
        ("coil", 0, 4),
        ("coil", 4, 4),
        ("coil", 8, 2),
    ]


def test_rtu_framing_allows_one_request_in_flight():
    with pytest.raises(ValidationError) as caught:
        limited(meter_map(), framing="rtu_over_tcp", max_requests_in_flight=2)

    assert "allows only 1 request in flight (got 2)" in str(caught.value)


def test_split_request_keeps_shared_registers():
    tags = [
        {"name": "run", "address": 0, "type": "bool", "bit": 0},
        {"name": "fault", "address": 0, "type": "bool", "bit": 1},
        {"name": "flow", "address": 1, "type": "float32"},
        {"name": "level", "address": 3},
    ]
    request = plan_requests(device(tags))[0]

    first, second = split_request(request)

    assert (first.address, first.count) == (0, 1)
    assert [s.tag.name for s in first.slots] == ["run", "fault"]
    assert (second.address, second.count) == (1, 3)
    assert [s.offset for s in second.slots] == [0, 2]


def test_split_request_single_tag_is_none():
    request = plan_requests(device([{"name": "flow", "address": 1, "type": "float32"}]))

    assert split_request(request[0]) is None


def test_merge_adjacent_joins_only_touching_reads():
    tags = [{"name": f"r{i}", "address": i} for i in (0, 1, 2, 4)]
    plan = plan_requests(device(tags))
    halves = list(split_request(plan[0]))

    merged = merge_adjacent(halves + plan[1:])

    assert layout(halves) == [("holding", 0, 1), ("holding", 1, 2)]
    assert layout(merged) == [("holding", 0, 3), ("holding", 4, 1)]
    assert [s.offset for s in merged[0].slots] == [0, 1, 2]
