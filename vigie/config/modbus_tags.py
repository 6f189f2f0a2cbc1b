"""Modbus register tags: kinds, data types, byte orders and addresses."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from vigie.config.alarms import TagBase
from vigie.config.base import Frozen

RegisterKind = Literal["holding", "input", "coil", "discrete_input"]
DataType = Literal[
    "bool",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float32",
    "float64",
    "string",
]
ByteOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]

# Registers that one value of each type occupies. "string" uses the tag's count.
REGISTER_COUNT = {
    "bool": 1,
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "int64": 4,
    "uint64": 4,
    "float32": 2,
    "float64": 4,
}
BIT_KINDS = ("coil", "discrete_input")
MAX_ADDRESS = 65535


class ModbusTag(TagBase):
    kind: RegisterKind = "holding"
    # Protocol (0-based PDU) address of the first register or bit.
    address: int
    type: DataType = "uint16"
    # Byte order of 32- and 64-bit values; see the worked example in config.yaml.
    byte_order: ByteOrder = "ABCD"
    # Bit inside a register, 0 = least significant; only with type bool.
    bit: int | None = Field(default=None, ge=0, le=15)
    # Register count of a string tag.
    count: int | None = Field(default=None, ge=1, le=125)
    scale: float = 1.0
    offset: float = 0.0

    @property
    def register_count(self) -> int:
        if self.kind in BIT_KINDS:
            return 1
        if self.type == "string":
            return self.count or 1
        return REGISTER_COUNT[self.type]

    @model_validator(mode="after")
    def _check_layout(self) -> ModbusTag:
        if self.kind in BIT_KINDS and self.type != "bool":
            raise ValueError(
                f"a {self.kind} is one bit, so its type must be bool, not {self.type}"
            )
        if self.bit is not None and (self.type != "bool" or self.kind in BIT_KINDS):
            raise ValueError(
                "'bit' applies only to type bool in a holding or input register"
            )
        if self.type == "bool" and self.kind not in BIT_KINDS and self.bit is None:
            raise ValueError("a bool in a register needs 'bit' (0-15)")
        if self.type == "string" and self.count is None:
            raise ValueError("a string tag needs 'count' (its number of registers)")
        if self.type != "string" and self.count is not None:
            raise ValueError("'count' applies only to type string")
        if not 0 <= self.address <= MAX_ADDRESS:
            raise ValueError(
                f"address: register out of range: {self.address} is not in 0 to"
                f" {MAX_ADDRESS}. Addresses are 0-based protocol addresses: a manual's"
                f" reference 40001 (or 30001) is address 0, so reference"
                f" 4xxxx is address xxxx - 1"
            )
        last = self.address + self.register_count - 1
        if last > MAX_ADDRESS:
            raise ValueError(
                f"address: register out of range: {self.address} with"
                f" {self.register_count} registers ends at {last}, past {MAX_ADDRESS}."
                " Addresses are 0-based protocol addresses: a manual's reference"
                " 40001 (or 30001) is address 0"
            )
        return self


class ModbusAddressing(Frozen):
    """Device-level address notation settings, mixed into ModbusDevice."""


def check_device_tags(device) -> None:
    """Check a device's tags against its device-level settings; raise ValueError."""
