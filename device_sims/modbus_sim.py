"""Modbus TCP simulator: a pymodbus server whose registers follow the model's points.

The register image is laid out from the device's tags in the config: each tag whose
name is a model point is encoded at its kind, address, type, byte order, scale and
offset. Each kind is one block from its lowest to its highest configured address, so
reads that span gaps between tags succeed (gap registers read 0), and reads past the
block get exception 2, illegal data address. Writes are rejected the same way.
"""

from __future__ import annotations

import logging
import time

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from device_sims.points import PointSource, PointValue
from device_sims.registers import encode_registers
from vigie.config import BIT_KINDS, ModbusDevice, ModbusTag

# NOTE: pymodbus 3.16 marks its simulator package (SimDevice, SimData) experimental,
# so a later pymodbus may change this server API.
log = logging.getLogger(__name__)

# Order of the blocks in a SimDevice with separate blocks per kind.
KINDS = ("coil", "discrete_input", "holding", "input")
# Function codes by the kind of data they read or write.
FUNCTION_KIND = {
    1: "coil", 5: "coil", 15: "coil",
    2: "discrete_input",
    3: "holding", 6: "holding", 16: "holding", 22: "holding", 23: "holding",
    4: "input",
}  # fmt: skip


class RegisterBlock:
    """Registers of one kind, laid out as pymodbus stores them.

    Bit kinds are packed 16 bits a register, bit address ``start`` in bit 0 of the
    first register, with ``start`` aligned down to a multiple of 16.
    """

    def __init__(self, kind: str, tags: list[ModbusTag]) -> None:
        self.kind = kind
        self.tags = tags
        first = min(tag.address for tag in tags)
        end = max(tag.address + tag.register_count for tag in tags)
        if kind in BIT_KINDS:
            self.start = first - first % 16
            size = (end - self.start + 15) // 16
        else:
            self.start = first
            size = end - first
        self.registers = [0] * size

    def sim_data(self) -> SimData:
        if self.kind in BIT_KINDS:
            bits = [False] * (len(self.registers) * 16)
            return SimData(
                self.start, values=bits, datatype=DataType.BITS, readonly=True
            )
        return SimData(
            self.start,
            values=list(self.registers),
            datatype=DataType.REGISTERS,
            readonly=True,
        )

    def encode(self, values: dict[str, PointValue]) -> None:
        registers = [0] * len(self.registers)
        for tag in self.tags:
            value = values.get(tag.name, 0)
            if self.kind in BIT_KINDS:
                bit = tag.address - self.start
                if value:
                    registers[bit // 16] |= 1 << (bit % 16)
            elif tag.type == "bool":
                if value:
                    registers[tag.address - self.start] |= 1 << tag.bit
            else:
                first = tag.address - self.start
                words = encode_registers(tag, value)
                registers[first : first + len(words)] = words
        self.registers = registers


def empty_sim_data(kind: str) -> SimData:
    # pymodbus needs at least one entry in each of the four blocks. Requests to a kind
    # with no tags are rejected in the action, so the placeholder is never served.
    if kind in BIT_KINDS:
        return SimData(0, values=[False] * 16, datatype=DataType.BITS, readonly=True)
    return SimData(0, datatype=DataType.INVALID)


class ModbusSimulator:
    def __init__(self, device: ModbusDevice, source: PointSource) -> None:
        self.device = device
        self.source = source
        self.blocks: dict[str, RegisterBlock] = {}
        for kind in KINDS:
            tags = [tag for tag in device.tags if tag.kind == kind]
            if tags:
                self.blocks[kind] = RegisterBlock(kind, tags)

        unknown = [tag.name for tag in device.tags if tag.name not in source.names]
        if unknown:
            log.warning(
                "%s: tags %s have no point in the %s model and read as 0",
                device.name,
                ", ".join(unknown),
                source.simulator,
            )
        self.server: ModbusTcpServer | None = None

    def sim_device(self) -> SimDevice:
        simdata = []
        for kind in KINDS:
            block = self.blocks.get(kind)
            simdata.append([block.sim_data() if block else empty_sim_data(kind)])
        return SimDevice(
            id=self.device.unit_id, simdata=tuple(simdata), action=self._on_request
        )

    async def _on_request(
        self, function_code, start_address, address, count, registers, set_values
    ):
        # pymodbus calls this before it serves a request. The SimDevice docstring
        # (pymodbus 3.16) names updating the registers here as the way to change them.
        block = self.blocks.get(FUNCTION_KIND.get(function_code, ""))
        if block is None:
            return ExcCodes.ILLEGAL_ADDRESS
        registers[: len(block.registers)] = block.registers
        return None

    async def start(self) -> None:
        await self.refresh()
        address = (self.device.host, self.device.port)
        self.server = ModbusTcpServer(context=self.sim_device(), address=address)
        await self.server.serve_forever(background=True)

    async def refresh(self, now: float | None = None) -> None:
        values = self.source.read(now if now is not None else time.time())
        for block in self.blocks.values():
            block.encode(values)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.shutdown()
            self.server = None
