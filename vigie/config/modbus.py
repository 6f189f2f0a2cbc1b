"""Modbus TCP devices: connection, unit id and request settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from vigie.config.base import DeviceBase
from vigie.config.modbus_tags import (  # noqa: F401 - re-exported
    BIT_KINDS,
    MAX_ADDRESS,
    REGISTER_COUNT,
    ByteOrder,
    DataType,
    ModbusAddressing,
    ModbusTag,
    RegisterKind,
    check_device_tags,
)


class ModbusDevice(ModbusAddressing, DeviceBase):
    protocol: Literal["modbus_tcp"]
    host: str = "127.0.0.1"
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=255)
    # Largest gap, in registers, that a merged read request may span.
    max_gap: int = Field(default=0, ge=0, le=124)
    tags: tuple[ModbusTag, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_tags(self) -> ModbusDevice:
        check_device_tags(self)
        return self
