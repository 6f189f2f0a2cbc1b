"""Modbus devices: connection, unit id, framing, request limits and quirks."""

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

# Largest quantity of one read in the Modbus protocol: 125 registers (function codes 3
# and 4) or 2000 bits (function codes 1 and 2).
PROTOCOL_MAX_REGISTERS = 125
PROTOCOL_MAX_BITS = 2000

Framing = Literal["tcp", "rtu_over_tcp"]
TidCheck = Literal["strict", "zero_ok", "off"]


class ModbusDevice(ModbusAddressing, DeviceBase):
    protocol: Literal["modbus_tcp"]
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    # Sent as configured: 0 and 255 are ordinary unit ids for reads, never broadcast.
    unit_id: int = Field(default=1, ge=0, le=255)
    # Largest gap, in registers, that a merged read request may span.
    max_gap: int = Field(default=0, ge=0, le=124)
    # Largest read the device accepts; some meters accept only 40 registers.
    max_registers_per_read: int = Field(
        default=PROTOCOL_MAX_REGISTERS, ge=1, le=PROTOCOL_MAX_REGISTERS
    )
    max_bits_per_read: int = Field(
        default=PROTOCOL_MAX_BITS, ge=1, le=PROTOCOL_MAX_BITS
    )
    # tcp: Modbus TCP (MBAP header). rtu_over_tcp: RTU frames with CRC, no MBAP, as
    # serial-to-Ethernet converters in transparent mode pass them.
    framing: Framing = "tcp"
    # Requests sent again after a timeout while the device was replying.
    retries: int = Field(default=1, ge=0, le=10)
    # Requests sent again when the device replies "busy" (exception code 6).
    busy_retries: int = Field(default=3, ge=0, le=20)
    busy_retry_delay_ms: float = Field(default=100.0, ge=0.0, le=60000.0)
    # Gateway settings: devices with the same host and port share one connection, and
    # the first device of a gateway in the configuration sets these for all of them.
    max_requests_in_flight: int = Field(default=1, ge=1, le=16)
    request_pause_ms: float = Field(default=0.0, ge=0.0, le=60000.0)
    # Close the connection after each poll, for devices that allow one master only.
    close_after_poll: bool = False
    # Seconds after which registers that got "illegal data address" are read again.
    # A reconnect also reads them again.
    reprobe_interval_s: float = Field(default=600.0, gt=0.0)
    # Transaction id check of replies: strict (default), zero_ok (also accept id 0)
    # or off (accept any id, because the reply goes to the one request in flight).
    tid_check: TidCheck = "strict"
    # Accept a reply whose unit id differs from the request's.
    accept_any_unit_id: bool = False
    tags: tuple[ModbusTag, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_tags(self) -> ModbusDevice:
        check_device_tags(self)
        self._check_read_limits()
        self._check_transport()
        return self

    def _check_read_limits(self) -> None:
        for index, tag in enumerate(self.tags):
            if tag.kind in BIT_KINDS:
                continue
            if tag.register_count > self.max_registers_per_read:
                raise ValueError(
                    f"tags[{index}].type: {tag.name} ({tag.type}) needs"
                    f" {tag.register_count} registers in one read, but the device's"
                    f" max_registers_per_read is {self.max_registers_per_read}; a value"
                    " is never split across requests, so raise max_registers_per_read"
                    " or read the value as 16-bit parts"
                )

    def _check_transport(self) -> None:
        if self.max_requests_in_flight == 1:
            return
        if self.framing == "rtu_over_tcp":
            raise ValueError(
                "max_requests_in_flight: RTU frames carry no transaction id, so"
                " framing rtu_over_tcp allows only 1 request in flight"
                f" (got {self.max_requests_in_flight})"
            )
        if self.tid_check != "strict":
            raise ValueError(
                f"max_requests_in_flight: tid_check {self.tid_check} matches replies"
                " without their transaction id, so it allows only 1 request in flight"
                f" (got {self.max_requests_in_flight})"
            )
