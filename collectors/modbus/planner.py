"""Grouping of a device's tags into as few read requests as the protocol allows."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vigie.config import BIT_KINDS, ModbusDevice, ModbusTag

from collectors.modbus.datatypes import MAX_BITS_PER_READ, MAX_REGISTERS_PER_READ

log = logging.getLogger(__name__)

KIND_ORDER = ("coil", "discrete_input", "holding", "input")


@dataclass(frozen=True, slots=True)
class TagSlot:
    name: str  # full tag name, <device>.<tag>
    tag: ModbusTag
    # Position of the tag's first register or bit in the response.
    offset: int


@dataclass(frozen=True, slots=True)
class ReadRequest:
    kind: str
    address: int
    count: int
    slots: tuple[TagSlot, ...]

    @property
    def is_bits(self) -> bool:
        return self.kind in BIT_KINDS

    def describe(self) -> str:
        return f"{self.kind} {self.address} count {self.count}"


def plan_requests(device: ModbusDevice) -> list[ReadRequest]:
    """Merge the device's tags into read requests, by register kind then address.

    Tags whose registers are adjacent, overlap (several bools in one register) or
    lie at most ``device.max_gap`` registers apart share a request, up to the
    protocol maximum of 125 registers or 2000 bits a request. Gap registers are
    read and ignored, so they must exist on the device.
    """
    requests: list[ReadRequest] = []
    for kind in KIND_ORDER:
        tags = [tag for tag in device.tags if tag.kind == kind]
        tags.sort(key=lambda tag: (tag.address, tag.register_count))
        if tags:
            requests.extend(_plan_kind(device, kind, tags))
    return requests


def _plan_kind(
    device: ModbusDevice, kind: str, tags: list[ModbusTag]
) -> list[ReadRequest]:
    limit = MAX_BITS_PER_READ if kind in BIT_KINDS else MAX_REGISTERS_PER_READ
    groups: list[list[ModbusTag]] = []
    start = end = 0  # registers [start, end) of the open group

    for tag in tags:
        tag_end = tag.address + tag.register_count
        fits = (
            groups
            and tag.address - end <= device.max_gap
            and max(end, tag_end) - start <= limit
        )
        if fits:
            groups[-1].append(tag)
            end = max(end, tag_end)
        else:
            groups.append([tag])
            start, end = tag.address, tag_end

    return [_request(device, kind, group) for group in groups]


def _request(device: ModbusDevice, kind: str, group: list[ModbusTag]) -> ReadRequest:
    address = group[0].address
    end = max(tag.address + tag.register_count for tag in group)
    slots = tuple(
        TagSlot(f"{device.name}.{tag.name}", tag, tag.address - address)
        for tag in group
    )
    return ReadRequest(kind, address, end - address, slots)


def log_plan(device: ModbusDevice, requests: list[ReadRequest]) -> None:
    log.info(
        "device %s: %d tags in %d read requests",
        device.name,
        len(device.tags),
        len(requests),
    )
    for request in requests:
        log.debug(
            "device %s: read %s for %s",
            device.name,
            request.describe(),
            ", ".join(slot.tag.name for slot in request.slots),
        )
