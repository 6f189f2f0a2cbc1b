"""Grouping of a device's tags into as few read requests as the protocol allows."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vigie.config import BIT_KINDS, ModbusDevice, ModbusTag


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
    device's ``max_registers_per_read`` or ``max_bits_per_read``. A value is never
    split across requests: with a maximum of 40, uint16 tags at 0-38, a float32 at
    39-40 and uint16 tags at 41-99 give the reads 0-38, 39-78 and 79-99. Gap
    registers are read and ignored, so they must exist on the device.
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
    limit = (
        device.max_bits_per_read if kind in BIT_KINDS else device.max_registers_per_read
    )
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


def split_request(request: ReadRequest) -> tuple[ReadRequest, ReadRequest] | None:
    """Split a request in two near its middle, between tags; None for a single tag.

    Tags that share registers (bools in one register, overlapping strings) stay
    together, and the halves drop any gap registers at their ends.
    """
    slots = sorted(request.slots, key=lambda slot: slot.offset)
    # Indexes where a new run of overlapping tags starts, with the register there.
    boundaries = []
    end = 0
    for index, slot in enumerate(slots):
        if index > 0 and slot.offset >= end:
            boundaries.append((index, slot.offset))
        end = max(end, slot.offset + _width(request, slot))
    if not boundaries:
        return None

    middle = request.count / 2
    index, _ = min(boundaries, key=lambda item: abs(item[1] - middle))
    return _sub_request(request, slots[:index]), _sub_request(request, slots[index:])


def merge_adjacent(requests: list[ReadRequest]) -> list[ReadRequest]:
    """Merge requests of one kind whose registers follow each other without a gap."""
    merged: list[ReadRequest] = []
    for request in sorted(
        requests, key=lambda r: (KIND_ORDER.index(r.kind), r.address)
    ):
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.kind == request.kind
            and previous.address + previous.count == request.address
        ):
            shift = previous.count
            slots = previous.slots + tuple(
                TagSlot(slot.name, slot.tag, slot.offset + shift)
                for slot in request.slots
            )
            merged[-1] = ReadRequest(
                request.kind, previous.address, previous.count + request.count, slots
            )
        else:
            merged.append(request)
    return merged


def _width(request: ReadRequest, slot: TagSlot) -> int:
    return 1 if request.is_bits else slot.tag.register_count


def _sub_request(request: ReadRequest, slots: list[TagSlot]) -> ReadRequest:
    first = slots[0].offset
    end = max(slot.offset + _width(request, slot) for slot in slots)
    shifted = tuple(TagSlot(slot.name, slot.tag, slot.offset - first) for slot in slots)
    return ReadRequest(request.kind, request.address + first, end - first, shifted)


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
