import asyncio
import math
import time

import pytest
from asyncua import Client, ua
from sim_helpers import start_sim

from device_sims.control import send
from device_sims.launch import stop_process
from device_sims.physics import NetworkModel

NAMESPACE = "urn:vigie:sim:treatment-plant"


@pytest.fixture(scope="module")
def plant(sim_config, tmp_path_factory):
    path, ports = sim_config
    log = tmp_path_factory.mktemp("wtp1") / "sim.log"
    sim = start_sim(path, "WTP1", ports["WTP1"], log)
    yield sim
    assert stop_process(sim.proc) == 0


@pytest.fixture
async def client(plant):
    client = Client(f"opc.tcp://127.0.0.1:{plant.port}/vigie/wtp", timeout=5)
    async with client:
        yield client


async def node_of(client, text):
    """Resolve an nsu= node id, as written in config.yaml, to a node of ``client``."""
    expanded = ua.NodeId.from_string(text)
    index = await client.get_namespace_index(expanded.NamespaceUri)
    return client.get_node(ua.NodeId(expanded.Identifier, index))


async def wait_for_value(node, expected, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while (value := await node.read_value()) != expected:
        assert time.monotonic() < deadline, f"last {value!r}, expected {expected!r}"
        await asyncio.sleep(0.1)
    return value


async def test_variables_have_configured_types(client):
    expected = {
        "Quality/Turbidity": ua.VariantType.Double,
        "Quality/ChlorineResidual": ua.VariantType.Double,
        "Outlet/Flow": ua.VariantType.Double,
        "Filters/Filter1/Backwash": ua.VariantType.Boolean,
        "Filters/Filter2/Backwash": ua.VariantType.Boolean,
    }
    for path, variant_type in expected.items():
        node = await node_of(client, f"nsu={NAMESPACE};s={path}")
        data = await node.read_data_value()

        assert data.Value.VariantType == variant_type, path
        assert data.StatusCode.is_good(), path


async def test_folder_tree_follows_string_id(client):
    index = await client.get_namespace_index(NAMESPACE)
    filter1 = client.get_node(ua.NodeId("Filters/Filter1", index))
    filters = client.get_node(ua.NodeId("Filters", index))

    assert await filter1.read_node_class() == ua.NodeClass.Object
    assert (await filter1.read_browse_name()).Name == "Filter1"
    assert (await filter1.get_parent()).nodeid == filters.nodeid
    assert (await filters.get_parent()).nodeid == client.nodes.objects.nodeid
    backwash = await filter1.get_child(f"{index}:Backwash")
    assert backwash.nodeid == ua.NodeId("Filters/Filter1/Backwash", index)


async def test_turbidity_matches_the_model_of_this_second(client):
    node = await node_of(client, f"nsu={NAMESPACE};s=Quality/Turbidity")
    started = time.time()
    value = await node.read_value()
    finished = time.time()

    model = NetworkModel()
    candidates = []
    for second in range(math.floor(started) - 1, math.floor(finished) + 1):
        model.advance_to(second)
        candidates.append(model.treatment_plant()["turbidity"])
    assert value in candidates


async def test_forced_turbidity_is_served_then_released(client, plant):
    node = await node_of(client, f"nsu={NAMESPACE};s=Quality/Turbidity")

    reply = send(plant.control_port, {"force": "turbidity", "value": 1.5})
    assert reply == {"ok": True}
    assert await wait_for_value(node, 1.5) == 1.5

    assert send(plant.control_port, {"release": "turbidity"}) == {"ok": True}
    deadline = time.monotonic() + 20.0
    while (value := await node.read_value()) == 1.5:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert 0.2 < value < 0.45


async def test_forced_backwash_boolean(client, plant):
    node = await node_of(client, f"nsu={NAMESPACE};s=Filters/Filter2/Backwash")

    assert send(plant.control_port, {"force": "filter2_backwash", "value": True}) == {
        "ok": True
    }
    assert await wait_for_value(node, True) is True
    assert send(plant.control_port, {"release": "filter2_backwash"}) == {"ok": True}
