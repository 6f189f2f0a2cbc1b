"""Fixtures of the end-to-end tests: the simulated network and `vigie run`."""

import pytest

from tests.browser import browser  # noqa: F401 - fixture of the browser test
from tests.integration.network import Simulator, VigieProcess, write_network_config
from tests.ports import free_ports


@pytest.fixture
def network(tmp_path):
    """Simulators with control ports, and a `vigie run --no-sim` reading them."""
    path, config = write_network_config(tmp_path)
    names = [device["name"] for device in config["devices"]]
    controls = free_ports(len(names))
    sims = {
        name: Simulator(path, name, port, tmp_path / "logs")
        for name, port in zip(names, controls)
    }
    for sim in sims.values():
        sim.start()
    for sim in sims.values():
        sim.wait_control()

    vigie = VigieProcess(path, config, ["--no-sim"])
    vigie.start()
    yield vigie, sims, config
    if vigie.process.poll() is None:
        vigie.stop()
    for sim in sims.values():
        sim.stop()
