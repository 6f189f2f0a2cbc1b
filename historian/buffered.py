"""Buffering and flush loop shared by the historian writers.

A writer subclass implements ``_write(chunk)``: it stores the chunk, returns the
samples the backend rejected for good, and raises for a failure worth retrying. The
chunk stays in the buffer until ``_write`` returns, so a failed write loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter

from historian.samples import device_of
from vigie.model import Batch, Sample

logger = logging.getLogger(__name__)

RETRY_MIN_S = 0.5
RETRY_MAX_S = 30.0
DRAIN_TIMEOUT_S = 10.0


class BufferedWriter:
    backend = ""

    def __init__(
        self,
        batch_size: int,
        flush_interval_s: float,
        retry_min_s: float = RETRY_MIN_S,
        retry_max_s: float = RETRY_MAX_S,
        drain_timeout_s: float = DRAIN_TIMEOUT_S,
    ) -> None:
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.drain_timeout_s = drain_timeout_s

        # NOTE: the buffer has no size limit, so a long outage of the backend grows
        # memory (an estimate: 100 bytes a sample) until the writes succeed again.
        self._buffer: list[Sample] = []
        self._full = asyncio.Event()
        self._written = 0
        self._written_by_device: Counter[str] = Counter()
        self._quarantined = 0
        self._errors = 0
        self._failures_in_a_row = 0
        self._last_error = ""

    def describe(self) -> str:
        """Name of the store for log lines, such as a file path or a URL."""
        return self.backend

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def _write(self, chunk: list[Sample]) -> list[Sample]:
        raise NotImplementedError

    def submit(self, batch: Batch) -> None:
        self._buffer.extend(batch)
        if len(self._buffer) >= self.batch_size:
            self._full.set()

    def stats(self) -> dict:
        return {
            "backend": self.backend,
            "written": self._written,
            "backlog": len(self._buffer),
            "errors": self._errors,
            "last_error": self._last_error,
            "quarantined": self._quarantined,
            "written_by_device": dict(self._written_by_device),
        }

    async def run(self, stop: asyncio.Event) -> None:
        logger.info(
            "historian writer running: %s, batch size %d, flush every %.1f s",
            self.describe(),
            self.batch_size,
            self.flush_interval_s,
        )
        try:
            while not stop.is_set():
                await self._wait(stop, self.flush_interval_s, wake_on_full=True)
                if stop.is_set():
                    break
                if not await self._flush_buffer():
                    await self._wait(stop, self._retry_delay(), wake_on_full=False)
            await self._drain()
        finally:
            await self.close()
        logger.info(
            "historian writer stopped: %s, %d samples written, %d not written",
            self.describe(),
            self._written,
            len(self._buffer),
        )

    async def _flush_buffer(self) -> bool:
        """Write the buffer in chunks of batch_size. Return False after a failure."""
        while self._buffer:
            chunk = self._buffer[: self.batch_size]
            if not await self._try_write(chunk):
                return False
            # submit() only appends, so the chunk is still at the front.
            del self._buffer[: len(chunk)]
            if len(self._buffer) < self.batch_size:
                self._full.clear()
        return True

    async def _try_write(self, chunk: list[Sample]) -> bool:
        try:
            rejected = await self._write(chunk)
        except Exception as err:
            self._on_failure(err, len(chunk))
            return False

        if self._failures_in_a_row:
            logger.info(
                "historian write to %s recovered after %d failed attempts",
                self.describe(),
                self._failures_in_a_row,
            )
            self._failures_in_a_row = 0
        self._count_written(chunk, rejected)
        return True

    def _count_written(self, chunk: list[Sample], rejected: list[Sample]) -> None:
        by_device = Counter(device_of(sample.tag) for sample in chunk)
        by_device.subtract(device_of(sample.tag) for sample in rejected)
        self._written_by_device.update(+by_device)
        self._written += len(chunk) - len(rejected)
        self._quarantined += len(rejected)

    def _on_failure(self, err: Exception, count: int) -> None:
        self._errors += 1
        self._failures_in_a_row += 1
        self._last_error = f"{type(err).__name__}: {err}"
        if self._failures_in_a_row == 1:
            logger.error(
                "historian write to %s failed, keeping %d samples to retry: %s",
                self.describe(),
                len(self._buffer),
                self._last_error,
            )
        else:
            logger.debug(
                "historian write to %s failed again (attempt %d, %d samples kept): %s",
                self.describe(),
                self._failures_in_a_row,
                len(self._buffer),
                self._last_error,
            )

    def _retry_delay(self) -> float:
        # Capped exponential backoff with jitter in [delay / 2, delay].
        exponent = min(self._failures_in_a_row - 1, 30)
        delay = min(self.retry_max_s, self.retry_min_s * 2**exponent)
        return random.uniform(delay / 2, delay)

    async def _drain(self) -> None:
        """Write what is left, retrying until drain_timeout_s has passed.

        A write already in progress at the deadline runs to its own timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_timeout_s
        while self._buffer and loop.time() < deadline:
            if await self._flush_buffer():
                break
            remaining = deadline - loop.time()
            await asyncio.sleep(max(0.0, min(self._retry_delay(), remaining)))

        if self._buffer:
            logger.error(
                "historian writer for %s stopped with %d samples not written: %s",
                self.describe(),
                len(self._buffer),
                self._last_error,
            )

    async def _wait(self, stop: asyncio.Event, seconds: float, wake_on_full: bool):
        waiters = [asyncio.ensure_future(stop.wait())]
        if wake_on_full:
            waiters.append(asyncio.ensure_future(self._full.wait()))
        try:
            await asyncio.wait(
                waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
