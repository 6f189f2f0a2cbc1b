"""Gateways with several unit ids, outages, silent links and RTU framing over TCP."""

from __future__ import annotations

import asyncio

from modbus_fake import FakeModbusServer, reply
from modbus_server import (
    ModbusTestServer,
    Recorder,
    RunningCollector,
    make_device,
    new_status,
    wait_until,
)
from pymodbus import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from collectors.modbus.collector import ModbusCollector
from collectors.modbus.gateway import RequestSlots
from vigie.model import ConnectionState, DeviceStatus, Quality

TEN_REGISTERS = [{"name": f"r{i}", "address": i, "type": "uint16"} for i in range(10)]


def unit_collectors(port: int, units: list[int], **settings):
    collectors = []
    for unit in units:
        status = DeviceStatus(name=f"U{unit}", protocol="modbus_tcp")
        recorder = Recorder()
        device = make_device(
            port, TEN_REGISTERS, name=f"U{unit}", unit_id=unit, **settings
        )
        collectors.append(ModbusCollector(device, recorder, status))
    return collectors


async def test_gateway_five_units_one_dead():
    def respond(request):
        if request.unit_id == 2:
            return None
        return [(0, reply(request, [request.unit_id * 100 + i for i in range(10)]))]

    fake = FakeModbusServer(respond, max_connections=2)
    port = await fake.start()
    collectors = unit_collectors(port, [1, 2, 3, 4, 5], timeout_s=0.3)
    by_unit = {c.device.unit_id: c for c in collectors}
    running = [RunningCollector(c) for c in collectors]
    try:
        for run in running:
            await run.__aenter__()
        assert await wait_until(
            lambda: all(by_unit[u].status.polls >= 5 for u in (1, 3, 4, 5))
        )
        assert await wait_until(lambda: by_unit[2].status.reconnects >= 2)
        states = {u: c.status.state for u, c in by_unit.items()}
        gateway = collectors[0].gateway
        shared = [c.gateway is gateway for c in collectors]
    finally:
        for run in running:
            await run.__aexit__(None, None, None)
        await fake.stop()

    assert shared == [True] * 5
    assert fake.connections_accepted == 1
    assert fake.connections_rejected == 0
    assert gateway.max_active == 1
    assert states[2] is ConnectionState.DISCONNECTED
    for unit in (1, 3, 4, 5):
        assert states[unit] is ConnectionState.CONNECTED
        latest = by_unit[unit].publish.latest()
        assert latest[f"U{unit}.r9"].value == unit * 100 + 9
    dead = by_unit[2].publish.latest()
    assert dead["U2.r0"].reason == "comm_failure"
    assert by_unit[1].status.reconnects == 0


def sim_unit(unit: int, values: list[int]) -> SimDevice:
    registers = [SimData(address=0, values=values, datatype=DataType.REGISTERS)]
    return SimDevice(id=unit, simdata=registers)


async def start_sim_server(devices, framer=FramerType.SOCKET):
    connects = []
    server = ModbusTcpServer(
        devices,
        framer=framer,
        address=("127.0.0.1", 0),
        trace_connect=connects.append,
    )
    await server.serve_forever(background=True)
    port = server.transport.sockets[0].getsockname()[1]
    return server, port, connects


async def test_pymodbus_gateway_three_units_one_connection():
    devices = [sim_unit(unit, [unit * 10 + i for i in range(10)]) for unit in (1, 2, 3)]
    server, port, connects = await start_sim_server(devices)
    collectors = unit_collectors(port, [1, 2, 3])
    running = [RunningCollector(c) for c in collectors]
    try:
        for run in running:
            await run.__aenter__()
        assert await wait_until(lambda: all(c.status.polls >= 3 for c in collectors))
    finally:
        for run in running:
            await run.__aexit__(None, None, None)
        await server.shutdown()

    assert connects.count(True) == 1
    for collector in collectors:
        unit = collector.device.unit_id
        latest = collector.publish.latest()
        assert latest[f"U{unit}.r3"].value == unit * 10 + 3


async def test_rtu_over_tcp_reads_pymodbus_server():
    server, port, _ = await start_sim_server(
        [sim_unit(7, list(range(500, 510)))], framer=FramerType.RTU
    )
    status = new_status()
    recorder = Recorder()
    device = make_device(port, TEN_REGISTERS, unit_id=7, framing="rtu_over_tcp")
    try:
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(lambda: status.polls >= 3)
    finally:
        await server.shutdown()

    latest = recorder.latest()
    assert latest["DEV.r0"].value == 500
    assert latest["DEV.r9"].value == 509
    assert latest["DEV.r9"].quality is Quality.GOOD
    assert status.errors == 0


async def test_rtu_bad_crc_is_bad_frame():
    state = {"corrupt": True}

    def respond(request):
        frame = reply(request, list(range(10)))
        if state["corrupt"]:
            frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
        return [(0, frame)]

    fake = FakeModbusServer(respond, framing="rtu_over_tcp")
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    device = make_device(port, TEN_REGISTERS, framing="rtu_over_tcp")
    try:
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(lambda: status.polls >= 2)
            bad = recorder.latest()["DEV.r1"]
            state["corrupt"] = False
            assert await wait_until(lambda: recorder.latest()["DEV.r1"].value == 1)
    finally:
        await fake.stop()

    assert bad.value is None
    assert bad.reason == "bad_frame"
    assert status.reconnects == 0


async def test_silently_dropped_connection_reconnects():
    state = {"silent": False}

    def respond(request):
        return None if state["silent"] else [(0, reply(request, list(range(10))))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    device = make_device(port, TEN_REGISTERS, timeout_s=0.2)
    try:
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(lambda: status.polls >= 2)
            state["silent"] = True
            assert await wait_until(
                lambda: status.state is ConnectionState.DISCONNECTED
            )
            assert await wait_until(lambda: fake.connections_accepted >= 2)
            state["silent"] = False
            assert await wait_until(lambda: status.state is ConnectionState.CONNECTED)
            open_while_running = fake.open_connections
    finally:
        await fake.stop()

    assert open_while_running == 1
    assert recorder.latest()["DEV.r5"].value == 5


async def test_restart_mid_poll_recovers():
    hold = asyncio.Event()

    async def slow_when_held(function_code, start, address, count, registers, values):
        if hold.is_set():
            await asyncio.sleep(0.2)
        return None

    server = ModbusTestServer(holding={0: list(range(10))}, action=slow_when_held)
    port = await server.start()
    status = new_status()
    recorder = Recorder()
    device = make_device(port, TEN_REGISTERS, timeout_s=1.0)
    try:
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(lambda: status.polls >= 2)
            hold.set()
            await asyncio.sleep(0.05)  # a request is now waiting in the server
            await server.stop()
            assert await wait_until(
                lambda: status.state is ConnectionState.DISCONNECTED
            )
            hold.clear()
            polls = status.polls
            await server.start()
            assert await wait_until(lambda: status.polls >= polls + 2)
            state = status.state
    finally:
        await server.stop()

    assert state is ConnectionState.CONNECTED
    assert recorder.latest()["DEV.r4"].value == 4


async def test_long_outage_reconnect_never_stops():
    def respond(request):
        return [(0, reply(request, list(range(10))))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    device = make_device(
        port, TEN_REGISTERS, reconnect_min_s=0.1, reconnect_max_s=0.5, timeout_s=0.3
    )
    try:
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(lambda: status.polls >= 2)
            await fake.stop()
            assert await wait_until(
                lambda: status.state is ConnectionState.DISCONNECTED
            )
            down_at = status.reconnects
            await asyncio.sleep(3.0)  # the outage: the server is gone for 3 s
            attempts_while_down = status.reconnects - down_at
            await fake.start()
            assert await wait_until(lambda: status.state is ConnectionState.CONNECTED)
            open_after = fake.open_connections
    finally:
        await fake.stop()

    # Backoff of 0.1 to 0.5 s: at least 6 attempts in 3 s, never giving up.
    assert attempts_while_down >= 6
    assert open_after == 1
    assert recorder.latest()["DEV.r2"].value == 2


TWO_BLOCKS = [
    {"name": "low", "address": 0, "type": "uint16"},
    {"name": "high", "address": 500, "type": "uint16"},
]


async def test_gateway_in_flight_limit_holds_with_overlapped_reads():
    # Three units of two requests each, replies held 20 ms: the overlapped reads
    # fill both slots of the gateway and never take a third.
    def respond(request):
        value = request.unit_id * 1000 + request.address
        return [(0.02, reply(request, [value]))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    collectors = []
    for unit in (1, 2, 3):
        device = make_device(
            port,
            TWO_BLOCKS,
            name=f"U{unit}",
            unit_id=unit,
            max_requests_in_flight=2,
            poll_interval_s=0.01,
        )
        status = DeviceStatus(name=f"U{unit}", protocol="modbus_tcp")
        collectors.append(ModbusCollector(device, Recorder(), status))
    running = [RunningCollector(c) for c in collectors]
    try:
        for run in running:
            await run.__aenter__()
        assert await wait_until(lambda: all(c.status.polls >= 5 for c in collectors))
        gateway = collectors[0].gateway
    finally:
        for run in running:
            await run.__aexit__(None, None, None)
        await fake.stop()

    assert gateway.max_active == 2
    assert gateway.slots.free == 2
    for collector in collectors:
        unit = collector.device.unit_id
        latest = collector.publish.latest()
        assert latest[f"U{unit}.low"].value == unit * 1000
        assert latest[f"U{unit}.high"].value == unit * 1000 + 500


async def test_request_slots_skip_cancelled_waiter():
    slots = RequestSlots(1)
    assert slots.try_take()
    cancelled = asyncio.ensure_future(slots.take())
    waiting = asyncio.ensure_future(slots.take())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)

    slots.give()
    await asyncio.wait_for(waiting, 5)

    assert cancelled.cancelled()
    assert not slots.try_take()
    slots.give()
    assert slots.free == 1


async def test_request_slots_return_slot_of_late_cancel():
    # The slot is handed over, and the waiter is cancelled before it resumes.
    slots = RequestSlots(1)
    assert slots.try_take()
    waiter = asyncio.ensure_future(slots.take())
    await asyncio.sleep(0)

    slots.give()
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)

    assert waiter.cancelled()
    assert slots.free == 1
    assert slots.try_take()
