"""OPC UA modes, security and many tags against real asyncua servers."""

from __future__ import annotations

import pytest
from opcua_server import (
    NAMESPACE_URI,
    PasswordUsers,
    PlantServer,
    Recorder,
    RunningCollector,
    Security,
    bulk_name,
    make_certificate,
    make_device,
    new_status,
    wait_until,
)

from collectors.opcua.collector import OpcUaCollector
from vigie.model import ConnectionState, Quality

NSU = f"nsu={NAMESPACE_URI};s="

PLANT_TAGS = [
    {"name": "outflow", "node": NSU + "Outlet/Flow"},
    {"name": "pressure", "node": NSU + "Outlet/Pressure"},
    {"name": "pump1_running", "node": NSU + "Pumps/Pump1/Running"},
    {"name": "pump1_starts", "node": NSU + "Pumps/Pump1/Starts"},
    {"name": "plant_name", "node": NSU + "Plant/Name"},
]
PASSWORD_ENV = "VIGIE_TEST_OPCUA_PASSWORD"


@pytest.fixture
async def plant():
    server = PlantServer()
    await server.start()
    yield server
    await server.stop()


async def latest_values(endpoint: str, mode: str) -> dict:
    recorder = Recorder()
    device = make_device(endpoint, PLANT_TAGS, mode=mode, poll_interval_s=0.2)
    collector = OpcUaCollector(device, recorder, new_status())
    async with RunningCollector(collector):
        assert await wait_until(
            lambda: all(recorder.latest(f"WTP1.{t['name']}") for t in PLANT_TAGS)
        )
    return {
        tag["name"]: (
            recorder.latest(f"WTP1.{tag['name']}").value,
            recorder.latest(f"WTP1.{tag['name']}").quality,
        )
        for tag in PLANT_TAGS
    }


async def test_polling_and_subscription_agree(plant):
    await plant.write("Outlet/Flow", 18.25)
    await plant.write("Pumps/Pump1/Starts", 11)

    subscribed = await latest_values(plant.endpoint, "subscription")
    polled = await latest_values(plant.endpoint, "polling")

    assert subscribed == polled
    assert polled["outflow"] == (18.25, Quality.GOOD)
    assert polled["pressure"] == (3.0, Quality.GOOD)
    assert polled["pump1_running"] == (True, Quality.GOOD)
    assert polled["pump1_starts"] == (11, Quality.GOOD)
    assert polled["plant_name"] == ("north", Quality.GOOD)


async def test_many_tags_in_batches():
    count = 1200
    server = PlantServer(bulk_variables=count)
    await server.start()
    tags = [
        {"name": f"bulk{number}", "node": NSU + bulk_name(number)}
        for number in range(count)
    ]
    recorder = Recorder()
    status = new_status()
    device = make_device(server.endpoint, tags, max_nodes_per_request=500)
    collector = OpcUaCollector(device, recorder, status)

    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: status.samples >= count, timeout_s=60.0)
    finally:
        await server.stop()

    delivered = {s.tag: s.value for batch in recorder.batches for s in batch}
    assert len(delivered) == count
    assert delivered["WTP1.bulk0"] == 0.0
    assert delivered["WTP1.bulk1199"] == 1199.0
    assert status.errors == 0


async def test_sign_and_encrypt_with_password(tmp_path, monkeypatch):
    server_certificate, server_key = await make_certificate(
        tmp_path, "server", "urn:vigie:test:server", server=True
    )
    client_certificate, client_key = await make_certificate(
        tmp_path, "client", "urn:vigie:test:collector", server=False
    )
    security = Security(
        server_certificate, server_key, PasswordUsers("operator", "s3cret-pw")
    )
    server = PlantServer(security=security)
    await server.start()
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-pw")
    secure = {
        "security_policy": "Basic256Sha256",
        "security_mode": "SignAndEncrypt",
        "certificate_path": str(client_certificate),
        "private_key_path": str(client_key),
        "username": "operator",
        "password_env": PASSWORD_ENV,
    }
    recorder = Recorder()
    status = new_status()
    collector = OpcUaCollector(
        make_device(server.endpoint, PLANT_TAGS, **secure), recorder, status
    )

    try:
        async with RunningCollector(collector):
            assert await wait_until(lambda: recorder.latest("WTP1.outflow") is not None)
            assert recorder.latest("WTP1.outflow").value == 12.5
            assert status.state is ConnectionState.CONNECTED

        # The same server refuses a wrong password and an unsecured session.
        monkeypatch.setenv(PASSWORD_ENV, "wrong")
        refused = new_status()
        collector = OpcUaCollector(
            make_device(server.endpoint, PLANT_TAGS, **secure), Recorder(), refused
        )
        async with RunningCollector(collector):
            assert await wait_until(lambda: refused.errors >= 1)
        assert refused.last_error.startswith("connect failed")
        assert refused.polls == 0

        plain = new_status()
        collector = OpcUaCollector(
            make_device(server.endpoint, PLANT_TAGS), Recorder(), plain
        )
        async with RunningCollector(collector):
            assert await wait_until(lambda: plain.errors >= 1)
        assert plain.polls == 0
    finally:
        await server.stop()
