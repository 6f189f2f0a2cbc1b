"""A real pymodbus TCP server on loopback, and helpers to run a collector against it."""

from __future__ import annotations

import asyncio
import time

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from vigie.config import ModbusDevice
from vigie.model import DeviceStatus, Sample

# Unused address that gives an empty register table one block, as SimDevice needs.
PLACEHOLDER_ADDRESS = 65000


class ModbusTestServer:
    """Serves fixed coils, discrete inputs, holding and input registers on loopback.

    Each table maps a start address to the values from there: bools for the bit
    tables, 16-bit words for the register tables. Reads of addresses not listed
    return exception code 2. ``action`` is a pymodbus SimDevice action.
    """

    def __init__(
        self,
        unit_id: int = 1,
        coils: dict[int, list[bool]] | None = None,
        discrete_inputs: dict[int, list[bool]] | None = None,
        holding: dict[int, list[int]] | None = None,
        inputs: dict[int, list[int]] | None = None,
        action=None,
    ) -> None:
        self.unit_id = unit_id
        self.tables = (
            (coils or {}, DataType.BITS),
            (discrete_inputs or {}, DataType.BITS),
            (holding or {}, DataType.REGISTERS),
            (inputs or {}, DataType.REGISTERS),
        )
        self.action = action
        self.port = 0
        self.server: ModbusTcpServer | None = None

    def _device(self) -> SimDevice:
        blocks = []
        for table, datatype in self.tables:
            placeholder = [False] if datatype is DataType.BITS else [0]
            entries = table or {PLACEHOLDER_ADDRESS: placeholder}
            blocks.append(
                [
                    SimData(address=address, values=list(values), datatype=datatype)
                    for address, values in sorted(entries.items())
                ]
            )
        return SimDevice(id=self.unit_id, simdata=tuple(blocks), action=self.action)

    async def start(self) -> int:
        """Start listening, on a free port the first time and on the same port after."""
        self.server = ModbusTcpServer(self._device(), address=("127.0.0.1", self.port))
        await self.server.serve_forever(background=True)
        self.port = self.server.transport.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.shutdown()
            self.server = None


def make_device(port: int, tags: list[dict], **settings) -> ModbusDevice:
    fields = {
        "name": "DEV",
        "protocol": "modbus_tcp",
        "host": "127.0.0.1",
        "port": port,
        "unit_id": 1,
        "poll_interval_s": 0.1,
        "timeout_s": 0.5,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
        "tags": tags,
    }
    fields.update(settings)
    return ModbusDevice.model_validate(fields)


class Recorder:
    """A publish callback that keeps every batch."""

    def __init__(self) -> None:
        self.batches: list[list[Sample]] = []

    def __call__(self, batch: list[Sample]) -> None:
        self.batches.append(batch)

    def latest(self, since: int = 0) -> dict[str, Sample]:
        latest: dict[str, Sample] = {}
        for batch in self.batches[since:]:
            for sample in batch:
                latest[sample.tag] = sample
        return latest


async def wait_until(condition, timeout_s: float = 20.0) -> bool:
    """Poll ``condition`` every 20 ms. Returns False if it is still false at timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


class RunningCollector:
    """Runs a collector task and stops it on exit."""

    def __init__(self, collector) -> None:
        self.collector = collector
        self.stop = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def __aenter__(self):
        self.task = asyncio.create_task(self.collector.run(self.stop))
        return self.collector

    async def __aexit__(self, *exc_info) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=10)


def new_status() -> DeviceStatus:
    return DeviceStatus(name="DEV", protocol="modbus_tcp")
