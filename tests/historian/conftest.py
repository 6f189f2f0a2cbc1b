import asyncio

import pytest

from vigie.config import Config

WAIT_S = 20.0


def make_config(data_dir, **historian) -> Config:
    return Config.model_validate(
        {
            "data_dir": str(data_dir),
            "historian": historian,
            "devices": [
                {
                    "name": "PS1",
                    "protocol": "modbus_tcp",
                    "port": 15020,
                    "tags": [{"name": "discharge_pressure", "address": 0}],
                }
            ],
        }
    )


async def wait_until(condition, timeout_s: float = WAIT_S) -> None:
    """Poll condition() until it is true; fail after timeout_s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {timeout_s:.0f} s")
        await asyncio.sleep(0.05)


@pytest.fixture
def config_for():
    return make_config


@pytest.fixture
def wait_for():
    return wait_until
