"""Faults around reads sent ahead: cancellation, late and repeated replies, slots.

A poll sends its next request before it decodes the reply it has. These tests play
hostile devices, gateways and operators against that path on loopback servers. They
check that replies reach the right request and that every read times out on its own
deadline. They also check that stopping or cancelling a collector leaves no request
slot, read in flight or task behind.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from modbus_fake import FakeModbusServer, exception_reply, reply
from modbus_server import (
    Recorder,
    RunningCollector,
    make_device,
    new_status,
    wait_until,
)

from collectors.modbus.collector import ModbusCollector
from collectors.modbus.connection import LinkError, RequestTimeout, open_connection
from vigie.model import ConnectionState, DeviceStatus, Quality

# Two requests per poll, so that the second one is sent while the first is decoded.
TWO_BLOCKS = [
    {"name": "low", "address": 0, "type": "uint16"},
    {"name": "high", "address": 500, "type": "uint16"},
]
# Holding registers 100 to 109 in one request, and 500 in a second.
BLOCK_AND_SINGLE = [{"name": f"h{a}", "address": a} for a in range(100, 110)] + [
    {"name": "h500", "address": 500}
]
READ_TASK = "ModbusCollector._read_learning"


def register_values(request) -> list[int]:
    """Register values of the hand-framed devices: unit id * 1000 + address."""
    first = request.unit_id * 1000 + request.address
    return [first + i for i in range(request.count)]


def unit_collector(port: int, unit: int, tags, **settings) -> ModbusCollector:
    device = make_device(port, tags, name=f"U{unit}", unit_id=unit, **settings)
    status = DeviceStatus(name=f"U{unit}", protocol="modbus_tcp")
    return ModbusCollector(device, Recorder(), status)


def samples_of(recorder: Recorder, tag: str, since: int = 0) -> list:
    return [s for batch in recorder.batches[since:] for s in batch if s.tag == tag]


def read_tasks_of(collector: ModbusCollector) -> list[asyncio.Task]:
    """Tasks still reading for ``collector``."""
    found = []
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        if getattr(coro, "__qualname__", "") != READ_TASK:
            continue
        frame = coro.cr_frame
        if frame is not None and frame.f_locals.get("self") is collector:
            found.append(task)
    return found


async def test_cancel_at_read_ahead_leaves_no_task():
    # Unit 2 keeps the only request slot busy, so unit 1 reads ahead through a task.
    # Unit 1's collector is cancelled in the loop pass right after it creates that
    # task, as the runtime does with a collector that does not stop in time.
    def respond(request):
        return [(0.01, reply(request, register_values(request)))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    first = unit_collector(port, 1, TWO_BLOCKS, poll_interval_s=0.01)
    second = unit_collector(port, 2, TWO_BLOCKS, poll_interval_s=0.01)
    loop = asyncio.get_running_loop()
    first_task: asyncio.Task | None = None
    cancelled_at_read_ahead = []

    def cancel_first_at_read_ahead(loop, coro, **kwargs):
        task = asyncio.Task(coro, loop=loop, **kwargs)
        is_read = getattr(coro, "__qualname__", "") == READ_TASK
        if (
            is_read
            and not cancelled_at_read_ahead
            and asyncio.current_task() is first_task
        ):
            cancelled_at_read_ahead.append((task, len(fake.requests)))
            loop.call_soon(first_task.cancel)
        return task

    loop.set_task_factory(cancel_first_at_read_ahead)
    stop_first = asyncio.Event()
    try:
        async with RunningCollector(second):
            first_task = asyncio.create_task(first.run(stop_first))
            assert await wait_until(lambda: first_task.done(), timeout_s=10)
            polls = second.status.polls
            assert await wait_until(lambda: second.status.polls >= polls + 3)
            gateway = second.gateway
    finally:
        loop.set_task_factory(None)
        for task in read_tasks_of(first):
            task.cancel()
        await fake.stop()

    assert len(cancelled_at_read_ahead) == 1
    read_ahead, requests_at_cancel = cancelled_at_read_ahead[0]
    after_cancel = [r for r in fake.requests[requests_at_cancel:] if r.unit_id == 1]
    assert first_task.cancelled()
    assert [(r.unit_id, r.address) for r in after_cancel] == []
    assert read_ahead.cancelled()
    assert gateway.slots.free == 1
    assert gateway.active == 0


async def test_repeated_reply_does_not_fail_next_read():
    # A gateway sends the reply to the first request twice, 50 ms apart. The copy
    # arrives while the second request, sent ahead, waits for its own reply.
    state = {"repeat": False}

    def respond(request):
        answer = reply(request, register_values(request))
        if request.address == 0 and state["repeat"]:
            state["repeat"] = False
            return [(0, answer), (0.05, answer)]
        return [(0, answer)]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    device = make_device(port, TWO_BLOCKS, retries=0)
    try:
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(lambda: status.polls >= 2)
            errors_before = status.errors
            state["repeat"] = True
            assert await wait_until(lambda: not state["repeat"])
            polls = status.polls
            assert await wait_until(lambda: status.polls >= polls + 3)
            errors_after = status.errors
    finally:
        await fake.stop()

    high = samples_of(recorder, "DEV.high")
    assert [s.reason for s in high if s.quality is not Quality.GOOD] == []
    assert {s.value for s in high} == {1500}
    assert errors_after == errors_before
    assert fake.connections_accepted == 1


async def test_rtu_late_reply_not_taken_by_next_read():
    # RTU frames carry no transaction id. The first request's reply comes 150 ms
    # after its timeout, while the second request of the same poll waits: registers
    # of address 0 must not be published as address 500.
    state = {"hold": False}

    def respond(request):
        answer = reply(request, register_values(request))
        if request.address == 0 and state["hold"]:
            state["hold"] = False
            return [(0.45, answer)]
        return [(0, answer)]

    fake = FakeModbusServer(respond, framing="rtu_over_tcp")
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    device = make_device(
        port, TWO_BLOCKS, framing="rtu_over_tcp", timeout_s=0.3, retries=0
    )
    try:
        async with RunningCollector(ModbusCollector(device, recorder, status)):
            assert await wait_until(lambda: status.polls >= 2)
            held_at = len(recorder.batches)
            state["hold"] = True
            assert await wait_until(lambda: not state["hold"])
            polls = status.polls
            assert await wait_until(lambda: status.polls >= polls + 3)
    finally:
        await fake.stop()

    high = samples_of(recorder, "DEV.high", since=held_at)
    good_values = {s.value for s in high if s.quality is Quality.GOOD}
    assert good_values == {1500}
    assert samples_of(recorder, "DEV.low")[-1].value == 1000


async def test_wrapped_transaction_id_still_times_out():
    # Unit 2 never replies and its read has transaction id 1. The counter is then
    # at 0xFFFF, as after 65534 further requests on a busy gateway, so the next read
    # wraps to id 1 too. The first read must still time out at its own deadline.
    def respond(request):
        if request.unit_id == 2:
            return None
        return [(0, reply(request, register_values(request)))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    connection = await open_connection("127.0.0.1", port, "tcp", 5.0)
    try:
        silent = connection.send_read(2, 3, 0, 2, 0.3)
        connection.next_tid = 0xFFFF
        answered = await connection.read(1, 3, 0, 2, 5.0)
        try:
            outcome = await asyncio.wait_for(asyncio.shield(silent.future), 3.0)
        except RequestTimeout as err:
            outcome = err
        except TimeoutError:
            outcome = "still waiting 3 s after its 0.3 s timeout"
        connection.forget(silent)
    finally:
        connection.close()
        await fake.stop()

    assert silent.tid == 1
    assert answered.values == [1000, 1001]
    assert isinstance(outcome, RequestTimeout)
    assert connection.pending == {}


async def test_reads_time_out_in_deadline_order():
    # Five reads of a silent unit sent in shuffled order with timeouts 0.1 to 0.5 s
    # on one connection: the single timer must expire them shortest first, each
    # while the longer ones still wait.
    fake = FakeModbusServer(lambda request: None)
    port = await fake.start()
    connection = await open_connection("127.0.0.1", port, "tcp", 5.0)
    timeouts = [0.3, 0.5, 0.1, 0.4, 0.2]
    expired: list[float] = []
    try:
        sent = [connection.send_read(1, 3, 0, 2, t) for t in timeouts]
        for timeout_s, pending in zip(timeouts, sent, strict=True):
            pending.future.add_done_callback(
                lambda _, timeout_s=timeout_s: expired.append(timeout_s)
            )
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(p.future for p in sent), return_exceptions=True), 5.0
        )
        for pending in sent:
            connection.forget(pending)
    finally:
        connection.close()
        await fake.stop()

    assert expired == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert [type(o) for o in outcomes] == [RequestTimeout] * 5
    assert connection.pending == {}
    assert len(connection.late_tids) == 5


def six_unit_gateway():
    """Return the respond function of units 1 to 6 behind one gateway.

    Unit 2 is silent, unit 3 replies after 20 ms, unit 4 has no register 104 and
    unit 5 replies "busy" to every other request.
    """
    busy_unit_requests = []

    def respond(request):
        unit = request.unit_id
        if unit == 2:
            return None
        if unit == 4 and request.address <= 104 < request.address + request.count:
            return [(0, exception_reply(request, 2))]
        if unit == 5:
            busy_unit_requests.append(request)
            if len(busy_unit_requests) % 2 == 1:
                return [(0, exception_reply(request, 6))]
        delay_s = 0.02 if unit == 3 else 0
        return [(delay_s, reply(request, register_values(request)))]

    return respond


async def test_six_units_stop_leaves_gateway_idle():
    # Two requests in flight at most, a poll interval shorter than a poll, one unit
    # silent, one slow, one busy every other request and one with a missing
    # register that splits its block while the others overlap their reads.
    fake = FakeModbusServer(six_unit_gateway(), max_connections=2)
    port = await fake.start()
    collectors = {
        unit: unit_collector(
            port,
            unit,
            BLOCK_AND_SINGLE,
            max_requests_in_flight=2,
            poll_interval_s=0.01,
            timeout_s=0.2,
            busy_retry_delay_ms=5,
        )
        for unit in range(1, 7)
    }
    answering = [1, 3, 4, 5, 6]
    running = [RunningCollector(c) for c in collectors.values()]
    try:
        for run in running:
            await run.__aenter__()
        assert await wait_until(
            lambda: all(collectors[u].status.polls >= 5 for u in answering)
        )
        assert await wait_until(lambda: collectors[2].status.reconnects >= 1)
        gateway = collectors[1].gateway
        connection = gateway.connection
    finally:
        for run in running:
            await run.__aexit__(None, None, None)
        await fake.stop()

    assert gateway.slots.free == 2
    assert gateway.active == 0
    assert gateway.max_active == 2
    assert gateway.connection is None
    assert connection.pending == {}
    assert fake.connections_accepted == 1
    assert collectors[2].status.state is ConnectionState.STOPPED
    assert collectors[2].publish.latest()["U2.h100"].reason == "comm_failure"
    for unit in answering:
        latest = collectors[unit].publish.latest()
        assert latest[f"U{unit}.h109"].value == unit * 1000 + 109
        assert latest[f"U{unit}.h500"].value == unit * 1000 + 500
        assert collectors[unit].status.reconnects == 0
    plan = [(r.address, r.count) for r in collectors[4].requests]
    assert plan == [(100, 4), (105, 5), (500, 1)]
    assert collectors[4].publish.latest()["U4.h104"].reason == "illegal_address"


async def test_cancel_in_any_phase_frees_slots():
    # Two units with two requests each, cancelled together at 15 seeded moments of
    # their polls, as the runtime cancels collectors that do not stop in time.
    def respond(request):
        return [(0.003, reply(request, register_values(request)))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    rng = random.Random(7)
    leftovers = []
    try:
        for _ in range(15):
            collectors = [
                unit_collector(
                    port,
                    unit,
                    TWO_BLOCKS,
                    max_requests_in_flight=2,
                    poll_interval_s=0.001,
                )
                for unit in (1, 2)
            ]
            stop = asyncio.Event()
            tasks = [asyncio.create_task(c.run(stop)) for c in collectors]
            assert await wait_until(lambda: collectors[0].gateway is not None)
            gateway = collectors[0].gateway
            await asyncio.sleep(rng.uniform(0.0, 0.03))
            connection = gateway.connection
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            assert await wait_until(lambda: gateway.active == 0, timeout_s=2)
            leftovers.append(
                (
                    gateway.slots.free,
                    gateway.active,
                    {} if connection is None else dict(connection.pending),
                    read_tasks_of(collectors[0]) + read_tasks_of(collectors[1]),
                )
            )
    finally:
        await fake.stop()

    assert [entry[0] for entry in leftovers] == [2] * 15
    assert [entry[1] for entry in leftovers] == [0] * 15
    assert [entry[2] for entry in leftovers] == [{}] * 15
    assert [entry[3] for entry in leftovers] == [[]] * 15


async def test_server_gone_during_read_ahead_recovers():
    # The device closes the connection while the second request of a poll, sent
    # ahead, is in flight: the poll fails as a lost link, the slot returns, and the
    # collector reconnects on the same port once the device is back.
    state = {"drop": False}
    dropped = asyncio.Event()

    def respond(request):
        if request.address == 500 and state["drop"]:
            state["drop"] = False
            dropped.set()
            return None
        return [(0, reply(request, register_values(request)))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    status = new_status()
    recorder = Recorder()
    collector = ModbusCollector(make_device(port, TWO_BLOCKS), recorder, status)
    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.polls >= 2)
            connection = collector.gateway.connection
            state["drop"] = True
            await asyncio.wait_for(dropped.wait(), 5)
            await fake.stop()
            assert await wait_until(
                lambda: status.state is ConnectionState.DISCONNECTED
            )
            pending_after_drop = dict(connection.pending)
            free_after_drop = collector.gateway.slots.free
            last_error = status.last_error
            await fake.start()
            polls = status.polls
            assert await wait_until(lambda: status.polls >= polls + 2)
            state_after = status.state
            gateway = collector.gateway
    finally:
        await fake.stop()

    assert pending_after_drop == {}
    assert free_after_drop == 1
    assert last_error.startswith(f"connection to 127.0.0.1:{port} ")
    assert "read holding 500" in last_error
    assert state_after is ConnectionState.CONNECTED
    assert gateway.active == 0
    assert fake.connections_accepted == 2
    assert recorder.latest()["DEV.high"].value == 1500


async def test_request_pause_keeps_one_read_in_flight():
    # A pause between requests makes every read ahead go through a task. Two units
    # still share one request slot and stop with it free.
    def respond(request):
        return [(0, reply(request, register_values(request)))]

    fake = FakeModbusServer(respond)
    port = await fake.start()
    collectors = [
        unit_collector(
            port, unit, TWO_BLOCKS, request_pause_ms=2, poll_interval_s=0.001
        )
        for unit in (1, 2)
    ]
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

    assert gateway.max_active == 1
    assert gateway.slots.free == 1
    assert gateway.active == 0
    assert read_tasks_of(collectors[0]) == []
    assert read_tasks_of(collectors[1]) == []
    for collector in collectors:
        unit = collector.device.unit_id
        latest = collector.publish.latest()
        assert latest[f"U{unit}.low"].value == unit * 1000
        assert latest[f"U{unit}.high"].value == unit * 1000 + 500


async def test_rtu_units_overlap_with_missing_register():
    # RTU over TCP: unit 1 replies "illegal data address" for register 104 and
    # unit 2 replies "busy" to every other request. Both poll back to back and the
    # gateway never has two requests in flight.
    busy = []

    def respond(request):
        if request.unit_id == 1 and request.address <= 104 < (
            request.address + request.count
        ):
            return [(0, exception_reply(request, 2))]
        if request.unit_id == 2:
            busy.append(request)
            if len(busy) % 2 == 1:
                return [(0, exception_reply(request, 6))]
        return [(0, reply(request, register_values(request)))]

    fake = FakeModbusServer(respond, framing="rtu_over_tcp")
    port = await fake.start()
    collectors = [
        unit_collector(
            port,
            unit,
            BLOCK_AND_SINGLE,
            framing="rtu_over_tcp",
            poll_interval_s=0.001,
            busy_retry_delay_ms=1,
        )
        for unit in (1, 2)
    ]
    running = [RunningCollector(c) for c in collectors]
    try:
        for run in running:
            await run.__aenter__()
        assert await wait_until(lambda: all(c.status.polls >= 5 for c in collectors))
        gateway = collectors[0].gateway
        connection = gateway.connection
    finally:
        for run in running:
            await run.__aexit__(None, None, None)
        await fake.stop()

    first, second = (c.publish.latest() for c in collectors)
    assert gateway.max_active == 1
    assert gateway.slots.free == 1
    assert connection.pending == {}
    assert [(r.address, r.count) for r in collectors[0].requests] == [
        (100, 4),
        (105, 5),
        (500, 1),
    ]
    assert first["U1.h104"].reason == "illegal_address"
    assert first["U1.h105"].value == 1105
    assert second["U2.h104"].value == 2104
    assert second["U2.h500"].value == 2500
    assert collectors[1].status.reconnects == 0


async def test_send_read_on_closed_connection_raises():
    # A read sent after the device closed the connection fails at once and leaves
    # nothing in flight to time out later.
    fake = FakeModbusServer(lambda request: None)
    port = await fake.start()
    connection = await open_connection("127.0.0.1", port, "tcp", 5.0)
    silent = connection.send_read(1, 3, 0, 2, 5.0)
    await fake.stop()
    try:
        with pytest.raises(LinkError, match=f"connection to 127.0.0.1:{port} "):
            await asyncio.wait_for(silent.future, 5.0)
        connection.forget(silent)
        with pytest.raises(LinkError, match="is closed"):
            connection.send_read(1, 3, 0, 2, 5.0)
    finally:
        connection.close()

    assert connection.pending == {}
    assert connection.watchdog is None
