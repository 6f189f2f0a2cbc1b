"""The read plan a device has taught the collector by answering "illegal data address".

A request that gets exception code 2 is split in two, and each half read again, until
the registers the device lacks are isolated (see ``planner.split_request``). The good
halves, merged where they touch, replace the request in later cycles, and the tags of
the missing registers are left out. Holding 100-109 with only 104 missing becomes the
reads 100-103 and 105-109. The original plan comes back after ``reprobe_interval_s``
or on a new connection, so registers that appear after a firmware change are found.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from vigie.config import ModbusDevice

from collectors.modbus.framing import ILLEGAL_DATA_ADDRESS, ReadReply
from collectors.modbus.planner import ReadRequest, merge_adjacent, plan_requests

log = logging.getLogger(__name__)


class LearnedPlan:
    def __init__(self, device: ModbusDevice, clock: Callable[[], float]) -> None:
        self.device = device
        self.clock = clock
        self.initial = plan_requests(device)
        self.requests = list(self.initial)
        # Full tag names of the tags whose registers the device lacks.
        self.unsupported: list[str] = []
        self.learned_at: float | None = None
        self.learned_on_connection = 0

    def reprobe_due(self, connection_count: int) -> bool:
        if self.learned_at is None:
            return False
        if connection_count != self.learned_on_connection:
            return True
        return self.clock() - self.learned_at >= self.device.reprobe_interval_s

    def reset(self) -> None:
        log.info(
            "device %s: reading %d unsupported tags again to check for them",
            self.device.name,
            len(self.unsupported),
        )
        self.requests = list(self.initial)
        self.unsupported = []
        self.learned_at = None

    def learn(
        self,
        request: ReadRequest,
        outcomes: list[tuple[ReadRequest, object]],
        connection_count: int,
    ) -> None:
        """Replace ``request`` by the parts of it that the device answered."""
        kept = []
        missing = []
        for part, outcome in outcomes:
            if isinstance(outcome, ReadReply) and outcome.exception_code == (
                ILLEGAL_DATA_ADDRESS
            ):
                missing.append(part)
            else:
                kept.append(part)

        good = [
            p for p, o in outcomes if isinstance(o, ReadReply) and o.values is not None
        ]
        others = [p for p in kept if p not in good]
        replacement = merge_adjacent(good) + others

        index = self.requests.index(request)
        self.requests[index : index + 1] = replacement
        names = [slot.name for part in missing for slot in part.slots]
        self.unsupported.extend(names)
        self.learned_at = self.clock()
        self.learned_on_connection = connection_count

        log.warning(
            "device %s: read %s got illegal data address; now reading %s and"
            " skipping %s until %.0f s from now",
            self.device.name,
            request.describe(),
            ", ".join(r.describe() for r in replacement) or "nothing",
            ", ".join(
                f"{slot.tag.name} ({part.kind} {part.address + slot.offset})"
                for part in missing
                for slot in part.slots
            ),
            self.device.reprobe_interval_s,
        )
