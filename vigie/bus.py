"""In-process fan-out of sample batches from collectors to their consumers.

Consumers are synchronous callables that must not block: the live store updates a
dict, the alarm engine evaluates limits, the historian writer appends to its buffer.
An MQTT broker can stand behind the same publish/subscribe interface when collectors
run on other hosts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from vigie.model import Batch

log = logging.getLogger(__name__)

Consumer = Callable[[Batch], None]


class Bus:
    def __init__(self) -> None:
        self._consumers: list[tuple[str, Consumer]] = []
        self.published = 0
        # Samples per device, good or bad; a batch comes from one device's collector.
        self.published_by_device: dict[str, int] = {}
        self.consumer_errors = 0

    def subscribe(self, name: str, consumer: Consumer) -> None:
        self._consumers.append((name, consumer))

    def publish(self, batch: Batch) -> None:
        """Hand a batch to every consumer; a failing consumer does not stop the rest."""
        if not batch:
            return
        self.published += len(batch)
        device = batch[0].tag.split(".", 1)[0]
        self.published_by_device[device] = self.published_by_device.get(
            device, 0
        ) + len(batch)
        for name, consumer in self._consumers:
            try:
                consumer(batch)
            except Exception:
                self.consumer_errors += 1
                log.exception(
                    "Consumer %s failed on a batch of %d samples", name, len(batch)
                )
