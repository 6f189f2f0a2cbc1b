"""Collectors: one asyncio task per field device, publishing batches of samples."""

from __future__ import annotations

from vigie.model import DeviceStatus

from collectors.base import Publish


def make_collector(device, publish: Publish, status: DeviceStatus):
    """Build the collector for ``device.protocol``.

    Each protocol's module is imported only when a device uses it, so that an import
    problem in one protocol's library does not stop devices of the other.
    """
    if device.protocol == "modbus_tcp":
        from collectors.modbus.collector import ModbusCollector

        return ModbusCollector(device, publish, status)

    if device.protocol == "opcua":
        from collectors.opcua.collector import OpcUaCollector

        return OpcUaCollector(device, publish, status)

    raise ValueError(
        f"device {device.name}: unknown protocol {device.protocol!r};"
        " use modbus_tcp or opcua"
    )
