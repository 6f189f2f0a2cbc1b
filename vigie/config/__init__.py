"""Typed, frozen configuration models and the loader for ``config.yaml``.

Every check runs before anything connects. A problem raises ConfigError, whose message
names the file, the key path (with the YAML line where known), the value and the fix.
Each section's models live in the submodule of its area; this module assembles them.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from vigie.config.alarms import (
    AlarmsConfig,
    LimitAlarm,
    TagBase,
    check_alarm_references,
)
from vigie.config.base import NAME_PATTERN, DeviceBase, Frozen, Priority, Simulator
from vigie.config.historian import HistorianConfig, InfluxConfig
from vigie.config.loader import load_config
from vigie.config.modbus import (
    BIT_KINDS,
    MAX_ADDRESS,
    REGISTER_COUNT,
    ByteOrder,
    DataType,
    ModbusDevice,
    ModbusTag,
    RegisterKind,
)
from vigie.config.notifications import NotificationsConfig
from vigie.config.opcua import OpcUaDevice, OpcUaTag

Device = Annotated[ModbusDevice | OpcUaDevice, Field(discriminator="protocol")]

# Settings of a shared Modbus connection, which every device behind it must agree on.
GATEWAY_KEYS = ("framing", "max_requests_in_flight", "request_pause_ms")


class DashboardConfig(Frozen):
    enabled: bool = True
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8050, ge=1, le=65535)
    # Seconds between refreshes of the live view.
    refresh_interval_s: float = Field(default=1.0, ge=0.2, le=60.0)
    # Seconds of history in a trend.
    trend_window_s: float = Field(default=3600.0, gt=0.0)
    # Age in poll intervals after which a value is shown as stale.
    stale_after_polls: float = Field(default=3.0, gt=0.0)


class SiteConfig(Frozen):
    name: str = "Vigie"
    # IANA time zone in which the dashboard shows times.
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, timezone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {timezone!r}: use an IANA name such as"
                " Africa/Casablanca or UTC"
            ) from None
        return timezone


class Config(Frozen):
    site: SiteConfig = SiteConfig()
    # Folder for the SQLite historian, the alarm journal and the spool.
    data_dir: str = Field(default="data", min_length=1)
    historian: HistorianConfig = HistorianConfig()
    dashboard: DashboardConfig = DashboardConfig()
    alarms: AlarmsConfig = AlarmsConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    devices: tuple[Device, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_names(self) -> Config:
        devices: set[str] = set()
        tags: dict[str, str] = {}
        for index, device in enumerate(self.devices):
            if device.name in devices:
                raise ValueError(
                    f"devices[{index}].name: duplicate device name {device.name!r};"
                    " device names must be unique"
                )
            devices.add(device.name)
            for tag_index, tag in enumerate(device.tags):
                full = f"{device.name}.{tag.name}"
                if full in tags:
                    raise ValueError(
                        f"devices[{index}].tags[{tag_index}].name: duplicate tag name"
                        f" {full!r} (first defined at {tags[full]}); tag names must be"
                        " unique within a device"
                    )
                tags[full] = f"devices[{index}].tags[{tag_index}]"
            if device.simulate and not _is_loopback(device.host):
                raise ValueError(
                    f"devices[{index}].simulate: simulators bind only to loopback, but"
                    f" the device address is {device.host!r}; use 127.0.0.1 or remove"
                    " 'simulate'"
                )
        check_alarm_references(self)
        return self

    @model_validator(mode="after")
    def _check_shared_gateways(self) -> Config:
        # Devices on one host and port share one connection, so they must agree on
        # how that connection frames and paces its requests.
        first: dict[tuple[str, int], tuple[int, ModbusDevice]] = {}
        for index, device in enumerate(self.devices):
            if device.protocol != "modbus_tcp":
                continue
            address = (device.host, device.port)
            if address not in first:
                first[address] = (index, device)
                continue
            other_index, other = first[address]
            for key in GATEWAY_KEYS:
                mine, theirs = getattr(device, key), getattr(other, key)
                if mine != theirs:
                    raise ValueError(
                        f"devices[{index}].{key}: {mine!r} differs from {theirs!r} on"
                        f" devices[{other_index}] ({other.name}), which shares"
                        f" {device.host}:{device.port}; devices behind one gateway"
                        " share its connection, so set the same value on both"
                    )
        return self

    @model_validator(mode="after")
    def _check_simulator_ports(self) -> Config:
        # A simulator serves one device on its own port; a second device there would
        # read the simulator's registers as its own.
        owners: dict[tuple[str, int], tuple[int, str]] = {}
        for index, device in enumerate(self.devices):
            address = (device.host, device.port)
            first = owners.setdefault(address, (index, device.name))
            if first[0] == index:
                continue
            simulated = device.simulate or self.devices[first[0]].simulate
            if simulated:
                raise ValueError(
                    f"devices[{index}].port: {device.host}:{device.port} is already"
                    f" used by devices[{first[0]}] ({first[1]}), and a simulated"
                    " device needs a port of its own; give each device its own port"
                )
        return self

    def tag_names(self) -> list[str]:
        return [f"{d.name}.{t.name}" for d in self.devices for t in d.tags]

    def data_path(self) -> Path:
        return Path(self.data_dir)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__ = [
    "BIT_KINDS",
    "MAX_ADDRESS",
    "NAME_PATTERN",
    "REGISTER_COUNT",
    "AlarmsConfig",
    "ByteOrder",
    "Config",
    "DashboardConfig",
    "DataType",
    "Device",
    "DeviceBase",
    "Frozen",
    "HistorianConfig",
    "InfluxConfig",
    "LimitAlarm",
    "ModbusDevice",
    "ModbusTag",
    "NotificationsConfig",
    "OpcUaDevice",
    "OpcUaTag",
    "Priority",
    "RegisterKind",
    "SiteConfig",
    "Simulator",
    "TagBase",
    "load_config",
]
