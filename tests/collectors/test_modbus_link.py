"""Collector against a device that stops, comes back, or rejects one request."""

from __future__ import annotations

import asyncio

from modbus_server import (
    ModbusTestServer,
    Recorder,
    RunningCollector,
    make_device,
    new_status,
    wait_until,
)
from pymodbus.constants import ExcCodes

from collectors.modbus.collector import ModbusCollector
from vigie.model import ConnectionState, Quality, Sample

TAGS = [
    {"name": "level", "address": 0, "type": "uint16"},
    {"name": "running", "address": 1, "type": "bool", "bit": 2},
    {"name": "trip", "kind": "coil", "address": 0, "type": "bool"},
]


def is_comm_failure(batch: list[Sample]) -> bool:
    """True for the communication-loss batch: every tag of the device, comm_failure."""
    return len(batch) == len(TAGS) and all(s.reason == "comm_failure" for s in batch)


async def test_device_stop_and_restart_recovers():
    server = ModbusTestServer(holding={0: [4200, 0x0004]}, coils={0: [True]})
    port = await server.start()
    status = new_status()
    recorder = Recorder()
    collector = ModbusCollector(make_device(port, TAGS), recorder, status)

    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.polls >= 2)
            assert status.state is ConnectionState.CONNECTED
            assert status.last_success_ts is not None

            await server.stop()
            assert await wait_until(lambda: status.reconnects >= 3)
            assert status.state is ConnectionState.DISCONNECTED
            assert status.last_error.startswith("connection to 127.0.0.1:")
            failures = [b for b in recorder.batches if is_comm_failure(b)]
            assert len(failures) == 1
            lost_at = failures[0][0].ts
            assert failures[0] == [
                Sample("DEV.level", lost_at, None, Quality.BAD, "comm_failure"),
                Sample("DEV.running", lost_at, None, Quality.BAD, "comm_failure"),
                Sample("DEV.trip", lost_at, None, Quality.BAD, "comm_failure"),
            ]
            polls_while_down = status.polls

            restarted_at = len(recorder.batches)
            assert await server.start() == port
            assert await wait_until(lambda: status.polls >= polls_while_down + 2)
            assert status.state is ConnectionState.CONNECTED
            after = recorder.latest(since=restarted_at)
    finally:
        await server.stop()

    assert after["DEV.level"] == Sample("DEV.level", after["DEV.level"].ts, 4200)
    assert after["DEV.running"].value is True
    assert after["DEV.running"].quality is Quality.GOOD
    assert after["DEV.trip"].value is True
    assert status.errors >= 4
    assert status.state is ConnectionState.STOPPED


async def test_first_connect_failure_reports_comm_failure():
    server = ModbusTestServer(holding={0: [1, 2]})
    port = await server.start()
    await server.stop()
    status = new_status()
    recorder = Recorder()
    collector = ModbusCollector(make_device(port, TAGS), recorder, status)

    async with RunningCollector(collector):
        assert await wait_until(lambda: status.reconnects >= 2)
        assert status.state is ConnectionState.DISCONNECTED

    assert len(recorder.batches) == 1
    tags = [sample.tag for sample in recorder.batches[0]]
    assert tags == ["DEV.level", "DEV.running", "DEV.trip"]
    assert {(s.value, s.quality, s.reason) for s in recorder.batches[0]} == {
        (None, Quality.BAD, "comm_failure")
    }
    assert status.polls == 0


async def test_illegal_address_only_fails_its_request():
    async def fail_input_50(function_code, start, address, count, registers, values):
        if function_code == 4 and address == 50:
            return ExcCodes.DEVICE_FAILURE
        return None

    server = ModbusTestServer(
        holding={0: [4200, 0x0004]},
        inputs={0: [17], 50: [5]},
        coils={0: [True]},
        action=fail_input_50,
    )
    port = await server.start()
    tags = TAGS + [
        {"name": "missing", "address": 100, "type": "float32"},
        {"name": "flow", "kind": "input", "address": 0, "type": "int16"},
        {"name": "broken", "kind": "input", "address": 50, "type": "uint16"},
    ]
    status = new_status()
    recorder = Recorder()
    collector = ModbusCollector(make_device(port, tags), recorder, status)

    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.polls >= 3)
            assert status.state is ConnectionState.CONNECTED
    finally:
        await server.stop()

    latest = recorder.latest()
    assert (latest["DEV.missing"].value, latest["DEV.missing"].quality) == (
        None,
        Quality.BAD,
    )
    assert latest["DEV.missing"].reason == "illegal_address"
    assert latest["DEV.broken"].value is None
    assert latest["DEV.broken"].quality is Quality.BAD
    assert latest["DEV.broken"].reason == "device_error"
    assert latest["DEV.level"].value == 4200
    assert latest["DEV.level"].quality is Quality.GOOD
    assert latest["DEV.running"].value is True
    assert latest["DEV.trip"].value is True
    assert latest["DEV.flow"].value == 17
    assert latest["DEV.flow"].quality is Quality.GOOD
    assert not any(is_comm_failure(b) for b in recorder.batches)
    assert status.reconnects == 0
    # One batch a request: coil 0, holding 0-1, holding 100-101, input 0, input 50.
    assert sorted(len(b) for b in recorder.batches[:5]) == [1, 1, 1, 1, 2]


async def test_silent_device_times_out_and_recovers():
    silent = asyncio.Event()

    async def hold_answers(function_code, start, address, count, registers, values):
        if silent.is_set():
            await asyncio.sleep(2.0)
        return None

    server = ModbusTestServer(
        holding={0: [4200, 0x0004]}, coils={0: [True]}, action=hold_answers
    )
    port = await server.start()
    status = new_status()
    recorder = Recorder()
    device = make_device(port, TAGS, timeout_s=0.3)

    try:
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(lambda: status.polls >= 1)

            silent.set()
            assert await wait_until(
                lambda: status.state is ConnectionState.DISCONNECTED
            )
            assert status.last_error.startswith(
                "no reply from unit id 1 in time (0.3 s)"
            )
            assert sum(is_comm_failure(b) for b in recorder.batches) == 1

            silent.clear()
            recovered_at = len(recorder.batches)
            assert await wait_until(lambda: status.state is ConnectionState.CONNECTED)
            assert await wait_until(lambda: len(recorder.batches) >= recovered_at + 2)
            after = recorder.latest(since=recovered_at)
    finally:
        await server.stop()

    assert after["DEV.level"].value == 4200
    assert after["DEV.level"].quality is Quality.GOOD
    assert status.reconnects >= 1
