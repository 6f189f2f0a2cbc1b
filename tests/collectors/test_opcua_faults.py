"""OPC UA field faults against real asyncua servers on loopback ports."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import pytest
from opcua_server import (
    NAMESPACE_URI,
    PlantServer,
    Recorder,
    RunningCollector,
    ServerProcess,
    make_device,
    new_status,
    wait_until,
)

from collectors.opcua.collector import OpcUaCollector
from vigie.model import ConnectionState, Quality

NSU = f"nsu={NAMESPACE_URI};s="

TANK_TAGS = [
    {"name": "tank1_level", "node": "ns=2;s=Tank1.Level"},
    {"name": "tank9_level", "node": "ns=2;s=Tank9.Level"},
    {"name": "tank2_level", "node": "ns=2;s=Tank2.Level"},
]
FLOW_TAGS = [
    {"name": "outflow", "node": NSU + "Outlet/Flow"},
    {"name": "pump1_starts", "node": NSU + "Pumps/Pump1/Starts"},
]


@pytest.fixture
async def plant():
    server = PlantServer()
    await server.start()
    yield server
    await server.stop()


def assert_tanks_delivered(recorder: Recorder) -> None:
    tank1 = recorder.latest("WTP1.tank1_level")
    tank2 = recorder.latest("WTP1.tank2_level")
    tank9 = recorder.latest("WTP1.tank9_level")
    assert tank1.value == 42.5
    assert tank1.quality is Quality.GOOD
    assert tank2.value == 17.0
    assert tank2.quality is Quality.GOOD
    assert tank9.value is None
    assert tank9.quality is Quality.BAD
    assert tank9.reason == "config_error:BadNodeIdUnknown"


async def test_bad_node_among_good_on_start(plant):
    recorder = Recorder()
    status = new_status()
    collector = OpcUaCollector(make_device(plant.endpoint, TANK_TAGS), recorder, status)

    async with RunningCollector(collector):
        assert await wait_until(
            lambda: all(
                recorder.latest(f"WTP1.{t['name']}") is not None for t in TANK_TAGS
            )
        )
        assert_tanks_delivered(recorder)
        assert status.state is ConnectionState.CONNECTED
        assert status.errors == 0


async def test_bad_node_among_good_after_reconnect():
    first = PlantServer()
    await first.start()
    second = PlantServer(port=first.port)
    recorder = Recorder()
    status = new_status()
    collector = OpcUaCollector(make_device(first.endpoint, TANK_TAGS), recorder, status)

    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: len(recorder.samples("WTP1.tank2_level")))
            await first.stop()
            assert await wait_until(lambda: status.errors >= 1)
            await second.start()
            assert await wait_until(
                lambda: len(recorder.samples("WTP1.tank2_level")) == 3
            )

            assert_tanks_delivered(recorder)
            # Rejected once per session: at the start and after the reconnect.
            tank9 = [s.reason for s in recorder.samples("WTP1.tank9_level")]
            assert tank9 == [
                "config_error:BadNodeIdUnknown",
                "comm_failure",
                "config_error:BadNodeIdUnknown",
            ]
            assert status.state is ConnectionState.CONNECTED
    finally:
        await first.stop()
        await second.stop()


async def test_polling_read_with_bad_node(plant):
    recorder = Recorder()
    status = new_status()
    device = make_device(plant.endpoint, TANK_TAGS, mode="polling", poll_interval_s=0.1)
    collector = OpcUaCollector(device, recorder, status)

    async with RunningCollector(collector):
        assert await wait_until(lambda: len(recorder.samples("WTP1.tank1_level")) >= 5)

    assert_tanks_delivered(recorder)
    # Each poll writes the two good points; the rejected node is written once.
    polls = [b for b in recorder.batches if any(s.quality is Quality.GOOD for s in b)]
    assert len(polls) >= 5
    assert all(len(batch) == 2 for batch in polls)
    assert len(recorder.samples("WTP1.tank9_level")) == 1
    assert status.errors == 0


@pytest.mark.parametrize("mode", ["subscription", "polling"])
async def test_rejected_node_retried_on_timer(plant, mode):
    recorder = Recorder()
    device = make_device(
        plant.endpoint,
        [{"name": "late", "node": NSU + "Bulk/00000"}, *FLOW_TAGS],
        mode=mode,
        poll_interval_s=0.2,
        rejected_node_retry_s=0.5,
    )
    collector = OpcUaCollector(device, recorder, new_status())

    async with RunningCollector(collector):
        assert await wait_until(lambda: recorder.latest("WTP1.late") is not None)
        assert recorder.latest("WTP1.late").reason == "config_error:BadNodeIdUnknown"

        await plant.add_bulk_variable(0)
        assert await wait_until(lambda: recorder.latest("WTP1.late").value == 0.0)
        assert recorder.latest("WTP1.late").quality is Quality.GOOD


async def test_restart_without_address_space_resolves_again(caplog):
    first = PlantServer()
    await first.start()
    second = PlantServer(port=first.port)
    recorder = Recorder()
    status = new_status()
    collector = OpcUaCollector(make_device(first.endpoint, FLOW_TAGS), recorder, status)
    caplog.set_level(logging.INFO, logger="collectors")

    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: recorder.latest("WTP1.outflow") is not None)
            await first.stop()
            assert await wait_until(lambda: status.errors >= 1)

            # The restarted server listens before its variables exist.
            await second.start(with_variables=False)
            assert await wait_until(
                lambda: "every node rejected with BadNodeIdUnknown" in status.last_error
            )
            await second.add_variables()
            await second.write("Outlet/Flow", 55.0)
            assert await wait_until(
                lambda: recorder.latest("WTP1.outflow").value == 55.0
            )
            assert recorder.latest("WTP1.outflow").quality is Quality.GOOD
            assert status.state is ConnectionState.CONNECTED
    finally:
        await first.stop()
        await second.stop()

    rejections = [r for r in caplog.records if "rejected by" in r.getMessage()]
    assert rejections == []
    resolutions = [
        r for r in caplog.records if "resolving all nodes again" in r.message
    ]
    assert len(resolutions) >= 1


async def test_dead_subscription_detected(plant):
    recorder = Recorder()
    status = new_status()
    collector = OpcUaCollector(make_device(plant.endpoint, FLOW_TAGS), recorder, status)

    async with RunningCollector(collector):
        assert await wait_until(lambda: status.state is ConnectionState.CONNECTED)
        assert await plant.delete_subscriptions() == 1

        # Reads still succeed, but no publish response arrives any more.
        assert await wait_until(lambda: status.errors == 1)
        assert status.last_error.startswith("no publish response or keep-alive for ")
        await plant.write("Outlet/Flow", 61.0)
        assert await wait_until(lambda: recorder.latest("WTP1.outflow").value == 61.0)
        assert status.state is ConnectionState.CONNECTED
        assert status.reconnects == 1


async def test_frozen_server_process_recovered(caplog):
    server = ServerProcess()
    server.start()
    recorder = Recorder()
    status = new_status()
    device = make_device(
        server.endpoint, FLOW_TAGS, timeout_s=0.5, connect_timeout_s=1.0
    )
    collector = OpcUaCollector(device, recorder, status)
    caplog.set_level(logging.INFO, logger="collectors")

    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.state is ConnectionState.CONNECTED)
            server.freeze()
            assert await wait_until(lambda: status.errors >= 1)
            assert status.last_error.startswith("no publish response or keep-alive")
            # The kernel still accepts TCP connections, but nothing answers Hello.
            assert await wait_until(
                lambda: status.last_error == "connect timed out after 1 s"
            )
            assert recorder.latest("WTP1.pump1_starts").reason == "comm_failure"

            server.thaw()
            assert await wait_until(
                lambda: recorder.latest("WTP1.pump1_starts").quality is Quality.GOOD
            )
            resumed = recorder.latest("WTP1.pump1_starts").value
            assert await wait_until(
                lambda: recorder.latest("WTP1.pump1_starts").value > resumed
            )
            assert status.state is ConnectionState.CONNECTED
    finally:
        server.stop()

    pending = [
        task
        for task in asyncio.all_tasks()
        if task is not asyncio.current_task() and not task.done()
    ]
    assert pending == []


async def test_server_down_past_session_timeout():
    first = PlantServer()
    await first.start()
    second = PlantServer(port=first.port)
    recorder = Recorder()
    status = new_status()
    device = make_device(first.endpoint, FLOW_TAGS, session_timeout_s=1.0)
    collector = OpcUaCollector(device, recorder, status)

    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.state is ConnectionState.CONNECTED)
            await first.stop()
            # Down for longer than the session timeout: the old session is gone.
            assert await wait_until(lambda: status.errors >= 4)
            await second.start()
            await second.write("Outlet/Flow", 33.0)
            assert await wait_until(
                lambda: recorder.latest("WTP1.outflow").value == 33.0
            )
            assert status.state is ConnectionState.CONNECTED
    finally:
        await first.stop()
        await second.stop()


async def test_idle_tag_keeps_subscription(plant):
    recorder = Recorder()
    status = new_status()
    # Keep-alive every 0.5 s; a lifetime of 2 intervals would let the server delete
    # the subscription before its first keep-alive, so 15 is requested instead.
    device = make_device(
        plant.endpoint, FLOW_TAGS, max_keepalive_count=5, lifetime_count=2
    )
    collector = OpcUaCollector(device, recorder, status)

    async with RunningCollector(collector):
        assert await wait_until(lambda: recorder.latest("WTP1.outflow") is not None)
        assert await wait_until(lambda: collector.diagnostics.get("keepalives", 0) >= 8)

    assert collector.diagnostics["revised_publishing_interval_ms"] == 100.0
    assert collector.diagnostics["revised_max_keepalive_count"] == 5
    assert collector.diagnostics["revised_lifetime_count"] == 15
    assert status.errors == 0
    assert status.reconnects == 0
    assert status.polls >= 9
    assert len(recorder.samples("WTP1.outflow")) == 1
    assert recorder.latest("WTP1.outflow").quality is Quality.GOOD


async def test_status_sequence_of_flow_transmitter(plant):
    recorder = Recorder()
    collector = OpcUaCollector(
        make_device(plant.endpoint, FLOW_TAGS), recorder, new_status()
    )
    steps = [
        (75.0, 0x00000000),
        (82.0, 0x40000000),
        (None, 0x80050000),
        (76.0, 0x000000C0),
        # The same value with another status is a new sample.
        (76.0, 0x40000000),
    ]

    async with RunningCollector(collector):
        assert await wait_until(lambda: len(recorder.samples("WTP1.outflow")) == 1)
        for count, (value, code) in enumerate(steps, start=2):
            await plant.write("Outlet/Flow", value, status=code)
            assert await wait_until(
                lambda n=count: len(recorder.samples("WTP1.outflow")) == n
            )

    samples = recorder.samples("WTP1.outflow")[1:]
    assert [s.value for s in samples] == [75.0, 82.0, None, 76.0, 76.0]
    assert [s.quality for s in samples] == [
        Quality.GOOD,
        Quality.UNCERTAIN,
        Quality.BAD,
        Quality.GOOD,
        Quality.UNCERTAIN,
    ]
    assert [s.reason for s in samples] == [
        "",
        "server_status:Uncertain",
        "server_status:BadCommunicationError",
        "",
        "server_status:Uncertain",
    ]


async def test_skewed_source_clock_flagged(plant, caplog):
    recorder = Recorder()
    collector = OpcUaCollector(
        make_device(plant.endpoint, FLOW_TAGS), recorder, new_status()
    )
    server_time = datetime.now(timezone.utc).replace(microsecond=0)
    caplog.set_level(logging.INFO, logger="collectors")

    async with RunningCollector(collector):
        assert await wait_until(lambda: len(recorder.samples("WTP1.outflow")) == 1)
        for value in (1.0, 2.0):
            await plant.write(
                "Outlet/Flow",
                value,
                source_ts=server_time + timedelta(hours=2),
                server_ts=server_time,
            )
            assert await wait_until(
                lambda v=value: recorder.latest("WTP1.outflow").value == v
            )
        await plant.write("Outlet/Flow", 3.0, server_ts=server_time)
        assert await wait_until(lambda: recorder.latest("WTP1.outflow").value == 3.0)

    flow = recorder.samples("WTP1.outflow")
    assert flow[1].ts == server_time.timestamp()
    assert flow[2].ts == server_time.timestamp()
    assert flow[3].ts == server_time.timestamp()
    assert collector.diagnostics["clock_skew"] == 2
    skew_logs = [r for r in caplog.records if "clock skew" in r.getMessage()]
    assert len(skew_logs) == 1
