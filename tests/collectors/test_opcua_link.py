"""OPC UA collector against a real asyncua server on a loopback port."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from asyncua import ua
from opcua_server import (
    NAMESPACE_URI,
    FreezableProxy,
    PlantServer,
    Recorder,
    RunningCollector,
    make_device,
    new_status,
    unused_endpoint,
    wait_until,
)

from collectors.opcua.collector import OpcUaCollector
from vigie.model import ConnectionState, Quality

NSU = f"nsu={NAMESPACE_URI};s="

PLANT_TAGS = [
    {"name": "outflow", "node": NSU + "Outlet/Flow"},
    {"name": "pump1_running", "node": NSU + "Pumps/Pump1/Running"},
    {"name": "pump1_starts", "node": NSU + "Pumps/Pump1/Starts"},
    {"name": "plant_name", "node": NSU + "Plant/Name"},
]


@pytest.fixture
async def plant():
    server = PlantServer()
    await server.start()
    yield server
    await server.stop()


def is_comm_failure_batch(batch) -> bool:
    return bool(batch) and all(s.reason == "comm_failure" for s in batch)


async def test_initial_values_in_one_batch(plant):
    recorder = Recorder()
    status = new_status()
    device = make_device(plant.endpoint, PLANT_TAGS)
    collector = OpcUaCollector(device, recorder, status)

    async with RunningCollector(collector):
        assert await wait_until(lambda: recorder.batches)
        first = recorder.batches[0]
        assert sorted(s.tag for s in first) == [
            "WTP1.outflow",
            "WTP1.plant_name",
            "WTP1.pump1_running",
            "WTP1.pump1_starts",
        ]
        values = {s.tag: s.value for s in first}
        assert values["WTP1.outflow"] == 12.5
        assert type(values["WTP1.outflow"]) is float
        assert values["WTP1.pump1_running"] is True
        assert values["WTP1.pump1_starts"] == 7
        assert type(values["WTP1.pump1_starts"]) is int
        assert values["WTP1.plant_name"] == "north"
        assert all(s.quality is Quality.GOOD and s.reason == "" for s in first)

        assert status.state is ConnectionState.CONNECTED
        assert status.last_success_ts is not None
        assert status.polls >= 1
        assert status.samples == 4


async def test_written_values_keep_source_timestamps(plant):
    recorder = Recorder()
    status = new_status()
    device = make_device(plant.endpoint, PLANT_TAGS)
    collector = OpcUaCollector(device, recorder, status)
    # Within 5 minutes of the server's clock, so that the source time is trusted.
    now = datetime.now(timezone.utc).replace(microsecond=250000)
    source_time = now - timedelta(seconds=2)

    async with RunningCollector(collector):
        assert await wait_until(lambda: len(recorder.samples("WTP1.outflow")) == 1)
        await plant.write("Outlet/Flow", 13.25, source_ts=source_time)
        await plant.write("Pumps/Pump1/Running", False, source_ts=source_time)

        assert await wait_until(lambda: len(recorder.samples("WTP1.outflow")) == 2)
        assert await wait_until(
            lambda: len(recorder.samples("WTP1.pump1_running")) == 2
        )
        flow = recorder.latest("WTP1.outflow")
        running = recorder.latest("WTP1.pump1_running")
        assert flow.value == 13.25
        assert flow.ts == source_time.timestamp()
        assert flow.quality is Quality.GOOD
        assert running.value is False
        assert running.ts == source_time.timestamp()

        # Every sample the collector counted was published, each tag once a batch.
        published = sum(len(batch) for batch in recorder.batches)
        assert status.samples == published
        for batch in recorder.batches:
            tags = [s.tag for s in batch]
            assert len(tags) == len(set(tags))


async def test_status_codes_map_to_quality(plant):
    recorder = Recorder()
    collector = OpcUaCollector(
        make_device(plant.endpoint, PLANT_TAGS), recorder, new_status()
    )

    async with RunningCollector(collector):
        assert await wait_until(lambda: len(recorder.samples("WTP1.outflow")) == 1)

        await plant.write(
            "Outlet/Flow", 14.0, status=ua.StatusCodes.UncertainLastUsableValue
        )
        assert await wait_until(lambda: len(recorder.samples("WTP1.outflow")) == 2)
        uncertain = recorder.latest("WTP1.outflow")
        assert uncertain.quality is Quality.UNCERTAIN
        assert uncertain.value == 14.0
        assert uncertain.reason == "server_status:UncertainLastUsableValue"

        await plant.write("Outlet/Flow", None, status=ua.StatusCodes.BadSensorFailure)
        assert await wait_until(lambda: len(recorder.samples("WTP1.outflow")) == 3)
        bad = recorder.latest("WTP1.outflow")
        assert bad.quality is Quality.BAD
        assert bad.value is None
        assert bad.reason == "server_status:BadSensorFailure"

        await plant.write("Outlet/Flow", 15.5)
        assert await wait_until(lambda: len(recorder.samples("WTP1.outflow")) == 4)
        good = recorder.latest("WTP1.outflow")
        assert good.quality is Quality.GOOD
        assert good.value == 15.5
        assert good.reason == ""


async def test_rejected_nodes_bad_others_continue(plant):
    tags = [
        {"name": "outflow", "node": NSU + "Outlet/Flow"},
        {"name": "missing", "node": NSU + "Does/Not/Exist"},
        {"name": "unknown_ns", "node": "nsu=urn:vigie:nowhere;s=Outlet/Flow"},
        {"name": "pressure", "node": f"ns={plant.namespace_index};s=Outlet/Pressure"},
        # NamespaceArray is an array of strings, which a sample cannot carry.
        {"name": "namespaces", "node": "i=2255"},
    ]
    recorder = Recorder()
    status = new_status()
    collector = OpcUaCollector(make_device(plant.endpoint, tags), recorder, status)

    async with RunningCollector(collector):
        assert await wait_until(
            lambda: all(
                recorder.latest(f"WTP1.{tag['name']}") is not None for tag in tags
            )
        )
        missing = recorder.latest("WTP1.missing")
        assert missing.quality is Quality.BAD
        assert missing.value is None
        assert missing.reason == "config_error:BadNodeIdUnknown"

        unknown_ns = recorder.latest("WTP1.unknown_ns")
        assert unknown_ns.quality is Quality.BAD
        assert unknown_ns.reason == (
            "config_error:namespace 'urn:vigie:nowhere' not found in the server's"
            " namespace array"
        )

        namespaces = recorder.latest("WTP1.namespaces")
        assert namespaces.quality is Quality.BAD
        assert namespaces.reason == "config_error:unsupported value type list"

        await plant.write("Outlet/Flow", 21.0)
        assert await wait_until(lambda: recorder.latest("WTP1.outflow").value == 21.0)
        assert recorder.latest("WTP1.outflow").quality is Quality.GOOD
        pressure = recorder.latest("WTP1.pressure")
        assert pressure.quality is Quality.GOOD
        assert pressure.value == 3.0
        assert status.state is ConnectionState.CONNECTED
        assert status.reconnects == 0


async def test_only_rejected_nodes_stays_connected(plant):
    tags = [{"name": "unknown_ns", "node": "nsu=urn:vigie:nowhere;s=Outlet/Flow"}]
    recorder = Recorder()
    status = new_status()
    collector = OpcUaCollector(make_device(plant.endpoint, tags), recorder, status)

    async with RunningCollector(collector):
        assert await wait_until(lambda: recorder.batches)
        assert await wait_until(lambda: status.polls >= 1)
        unknown_ns = recorder.latest("WTP1.unknown_ns")
        assert unknown_ns.quality is Quality.BAD
        assert unknown_ns.value is None
        assert unknown_ns.reason == (
            "config_error:namespace 'urn:vigie:nowhere' not found in the server's"
            " namespace array"
        )
        assert status.state is ConnectionState.CONNECTED
        assert status.errors == 0


async def test_server_stop_marks_tags_bad_once():
    server = PlantServer()
    await server.start()
    recorder = Recorder()
    status = new_status()
    device = make_device(server.endpoint, PLANT_TAGS)
    collector = OpcUaCollector(device, recorder, status)

    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.state is ConnectionState.CONNECTED)
            assert await wait_until(lambda: recorder.batches)
            await server.stop()

            assert await wait_until(
                lambda: status.state is ConnectionState.DISCONNECTED
            )
            # Let several reconnect attempts fail against the closed port.
            assert await wait_until(lambda: status.errors >= 3)

            failures = [b for b in recorder.batches if is_comm_failure_batch(b)]
            assert len(failures) == 1
            assert sorted(s.tag for s in failures[0]) == [
                "WTP1.outflow",
                "WTP1.plant_name",
                "WTP1.pump1_running",
                "WTP1.pump1_starts",
            ]
            assert all(s.quality is Quality.BAD for s in failures[0])
            assert all(s.value is None for s in failures[0])
            assert status.last_error != ""
            assert status.reconnects >= 2
    finally:
        await server.stop()

    assert status.state is ConnectionState.STOPPED


async def test_restart_reordered_namespaces_recovers():
    first = PlantServer()
    await first.start()
    port = first.port
    recorder = Recorder()
    status = new_status()
    device = make_device(first.endpoint, PLANT_TAGS)
    collector = OpcUaCollector(device, recorder, status)
    second = PlantServer(port=port, dummy_namespaces=("urn:vigie:test:dummy",))

    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: recorder.latest("WTP1.outflow") is not None)
            await first.stop()
            assert await wait_until(
                lambda: recorder.latest("WTP1.outflow").reason == "comm_failure"
            )

            await second.start()
            # The dummy namespace takes the index the plant namespace had before.
            assert second.namespace_index == first.namespace_index + 1
            await second.write("Outlet/Flow", 99.5)

            assert await wait_until(
                lambda: recorder.latest("WTP1.outflow").value == 99.5
            )
            flow = recorder.latest("WTP1.outflow")
            assert flow.quality is Quality.GOOD
            assert recorder.latest("WTP1.pump1_running").value is True
            assert status.state is ConnectionState.CONNECTED
            assert status.reconnects >= 1
    finally:
        await first.stop()
        await second.stop()


async def test_hung_link_detected_and_recovered():
    server = PlantServer()
    await server.start()
    proxy = FreezableProxy(server.port)
    await proxy.start()
    recorder = Recorder()
    status = new_status()
    device = make_device(proxy.endpoint, PLANT_TAGS, timeout_s=1.0)
    collector = OpcUaCollector(device, recorder, status)

    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.state is ConnectionState.CONNECTED)
            proxy.freeze()

            # The socket stays open, so only the missing keep-alives reveal it.
            assert await wait_until(
                lambda: status.state is ConnectionState.DISCONNECTED
            )
            assert status.last_error.startswith(
                "no publish response or keep-alive for "
            )
            assert status.last_error.endswith(" s (limit 1.5 s)")
            assert recorder.latest("WTP1.outflow").reason == "comm_failure"

            proxy.thaw()
            await server.write("Outlet/Flow", 42.0)
            assert await wait_until(
                lambda: recorder.latest("WTP1.outflow").value == 42.0
            )
            assert recorder.latest("WTP1.outflow").quality is Quality.GOOD
            assert status.state is ConnectionState.CONNECTED
    finally:
        await proxy.stop()
        await server.stop()


async def test_stop_ends_run_while_server_down():
    recorder = Recorder()
    status = new_status()
    collector = OpcUaCollector(
        make_device(unused_endpoint(), PLANT_TAGS), recorder, status
    )
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))

    assert await wait_until(lambda: status.errors >= 1)
    stop.set()
    await asyncio.wait_for(task, timeout=10.0)
    assert task.exception() is None
    assert status.state is ConnectionState.STOPPED
    assert status.last_error.startswith("connect failed")
    failures = [b for b in recorder.batches if is_comm_failure_batch(b)]
    assert len(failures) == 1
    assert len(failures[0]) == len(PLANT_TAGS)
