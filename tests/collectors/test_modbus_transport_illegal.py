"""A device that answers "illegal data address" for some registers of a read."""

from __future__ import annotations

from modbus_fake import FakeModbusServer, exception_reply, reply
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


def layout(requests) -> list[tuple]:
    return [(r.kind, r.address, r.count) for r in requests]


async def test_block_5200_isolates_missing_5219_to_5230():
    # Input registers 5200-5218 exist, 5219-5230 do not.
    server = ModbusTestServer(inputs={5200: [1000 + i for i in range(19)]})
    port = await server.start()
    tags = [
        {"name": f"i{a}", "kind": "input", "address": a, "type": "uint16"}
        for a in range(5200, 5231)
    ]
    status = new_status()
    recorder = Recorder()
    collector = ModbusCollector(make_device(port, tags), recorder, status)
    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.polls >= 3)
            state = status.state
            plan = layout(collector.requests)
    finally:
        await server.stop()

    latest = recorder.latest()
    assert plan == [("input", 5200, 19)]
    assert latest["DEV.i5200"].value == 1000
    assert latest["DEV.i5218"].value == 1018
    assert latest["DEV.i5218"].quality is Quality.GOOD
    for address in range(5219, 5231):
        assert latest[f"DEV.i{address}"].reason == "illegal_address"
    assert state is ConnectionState.CONNECTED
    assert status.reconnects == 0
    assert not any(s.reason == "comm_failure" for b in recorder.batches for s in b)


def missing_104(request):
    if request.address <= 104 < request.address + request.count:
        return [(0, exception_reply(request, 2))]
    values = [request.address + i for i in range(request.count)]
    return [(0, reply(request, values))]


HOLDING_100_109 = [{"name": f"h{a}", "address": a} for a in range(100, 110)]


async def test_holding_104_missing_learns_two_requests():
    fake = FakeModbusServer(missing_104)
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    collector = ModbusCollector(make_device(port, HOLDING_100_109), recorder, status)
    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.polls >= 4)
            plan = layout(collector.requests)
            unsupported = list(collector.plan.unsupported)
    finally:
        await fake.stop()

    assert plan == [("holding", 100, 4), ("holding", 105, 5)]
    assert unsupported == ["DEV.h104"]
    later = [(r.address, r.count) for r in fake.requests[-4:]]
    assert later == [(100, 4), (105, 5), (100, 4), (105, 5)]
    latest = recorder.latest()
    assert latest["DEV.h103"].value == 103
    assert latest["DEV.h105"].value == 105
    assert latest["DEV.h104"].reason == "illegal_address"
    assert fake.connections_accepted == 1


async def test_missing_registers_reprobed_after_interval():
    clock = [0.0]
    fake = FakeModbusServer(missing_104)
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    device = make_device(port, HOLDING_100_109, reprobe_interval_s=600)
    collector = ModbusCollector(device, recorder, status, clock=lambda: clock[0])
    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.polls >= 2)
            before = len(
                [r for r in fake.requests if (r.address, r.count) == (100, 10)]
            )
            clock[0] = 600.0
            assert await wait_until(
                lambda: len([r for r in fake.requests if r.count == 10]) > before
            )
            assert await wait_until(lambda: len(collector.requests) == 2)
            plan = layout(collector.requests)
    finally:
        await fake.stop()

    assert before == 1
    assert plan == [("holding", 100, 4), ("holding", 105, 5)]
