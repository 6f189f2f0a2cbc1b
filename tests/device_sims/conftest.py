import pytest

from sim_helpers import write_config


@pytest.fixture(scope="module")
def sim_config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sims")
    path = folder / "config.yaml"
    ports = write_config(path)
    return path, ports
