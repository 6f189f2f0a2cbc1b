"""The request PDU that a tag's address produces in each address notation.

A hand-framed server records the bytes of every request that the real collector
sends, so each case checks the function code, address and count on the wire.
"""

from __future__ import annotations

from modbus_cases_wire import WireServer, register_responder
from modbus_server import (
    Recorder,
    RunningCollector,
    make_device,
    new_status,
    wait_until,
)

from collectors import make_collector


async def poll_once(server: WireServer, tags: list[dict], **settings) -> dict:
    """Run the real collector until its first complete poll; return latest samples."""
    port = await server.start()
    status = new_status()
    recorder = Recorder()
    collector = make_collector(make_device(port, tags, **settings), recorder, status)
    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.polls >= 1)
    finally:
        await server.stop()
    return recorder.latest()


def requests_sent(server: WireServer) -> set[str]:
    return {pdu.hex(" ") for _unit, pdu in server.requests}


async def test_modicon_references_resolve_on_wire():
    server = WireServer(
        register_responder({"holding": {0: 11, 107: 12}, "input": {0: 13}})
    )
    tags = [
        {"name": "first_holding", "address": 40001},
        {"name": "holding_108", "address": 40108},
        {"name": "first_input", "address": 30001},
    ]

    latest = await poll_once(server, tags, address_notation="modicon")

    sent = requests_sent(server)
    assert "03 00 00 00 01" in sent
    assert "03 00 6b 00 01" in sent
    assert "04 00 00 00 01" in sent
    assert len(sent) == 3
    assert latest["DEV.first_holding"].value == 11
    assert latest["DEV.holding_108"].value == 12
    assert latest["DEV.first_input"].value == 13


async def test_one_based_numbers_resolve_on_wire():
    server = WireServer(register_responder({"input": {68: 7}}))
    tags = [{"name": "value", "kind": "input", "address": 69}]

    latest = await poll_once(server, tags, address_notation="one_based")

    assert requests_sent(server) == {"04 00 44 00 01"}
    assert latest["DEV.value"].value == 7


async def test_raw_numbers_go_on_wire_unchanged():
    """A meter that documents raw protocol addresses such as 30775 and 40069."""
    server = WireServer(
        register_responder(
            {
                "holding": {
                    30775: 0,
                    30776: 4600,
                    40000: 0x5375,
                    40001: 0x6E53,
                    40069: 2300,
                }
            }
        )
    )
    tags = [
        {"name": "power", "address": 30775, "type": "int32"},
        {"name": "sunspec_id", "address": 40000, "type": "string", "count": 2},
        {"name": "voltage", "address": 40069},
    ]

    latest = await poll_once(server, tags)

    sent = requests_sent(server)
    assert "03 78 37 00 02" in sent
    assert "03 9c 40 00 02" in sent
    assert "03 9c 85 00 01" in sent
    assert len(sent) == 3
    assert latest["DEV.power"].value == 4600
    assert latest["DEV.sunspec_id"].value == "SunS"
    assert latest["DEV.voltage"].value == 2300


async def test_modicon_coil_and_discrete_input_on_wire():
    server = WireServer(lambda _unit, pdu: bytes([pdu[0], 1, 0x01]))
    tags = [
        {"name": "coil_10", "address": "00010", "type": "bool"},
        {"name": "input_1", "address": 10001, "type": "bool"},
    ]

    latest = await poll_once(server, tags, address_notation="modicon")

    assert requests_sent(server) == {"01 00 09 00 01", "02 00 00 00 01"}
    assert latest["DEV.coil_10"].value is True
    assert latest["DEV.input_1"].value is True
