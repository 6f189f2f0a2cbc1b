"""Buffering, store-and-forward and the flush loop shared by the historian writers.

A writer subclass implements ``_write(chunk)``: it stores the chunk and returns the
samples the backend rejected for good, each with the reason, or raises for a failure
worth retrying (``RetryLater`` carries the server's Retry-After). Rejected samples go
to the quarantine and are never sent again.

When to spool: samples stay in memory while the backend takes them. The first failed
write moves the whole memory buffer to the durable spool, and so does every later
flush until a write succeeds again. Writing every sample through the spool would make
each one survive a SIGKILL, but it would also cost a synchronous disk commit on every
flush while the backend is healthy, halving the ingest rate; spooling on failure
costs nothing in normal operation, bounds memory during an outage to one flush
interval of samples, and makes everything held during an outage durable. What a
SIGKILL can lose is the memory buffer of the last flush interval while the backend is
healthy. A clean stop writes the buffer, or spools it when the backend fails.

After a successful write the spool replays oldest first, one chunk per cycle after
the live buffer, so live data keeps flowing while the backlog drains.
"""

from __future__ import annotations

import asyncio
import logging
import operator
import random
from collections import Counter, deque
from itertools import groupby

from historian.quarantine import Quarantine
from historian.samples import device_of
from historian.spool import Spool
from vigie.model import Batch, Sample

logger = logging.getLogger(__name__)

_tag_of = operator.attrgetter("tag")


class DeviceOfTag(dict):
    """Device name of each full tag name, split once per tag and then looked up."""

    def __missing__(self, tag: str) -> str:
        device = self[tag] = device_of(tag)
        return device


RETRY_MIN_S = 0.5
RETRY_MAX_S = 30.0
DRAIN_TIMEOUT_S = 10.0
# Longest Retry-After honoured; a larger value is taken as this many seconds.
RETRY_AFTER_MAX_S = 300.0


class RetryLater(Exception):
    """A write failed for now; ``retry_after_s`` is the server's wish, if any."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BufferedWriter:
    backend = ""

    def __init__(
        self,
        batch_size: int,
        flush_interval_s: float,
        retry_min_s: float = RETRY_MIN_S,
        retry_max_s: float = RETRY_MAX_S,
        drain_timeout_s: float = DRAIN_TIMEOUT_S,
        spool: Spool | None = None,
        quarantine: Quarantine | None = None,
    ) -> None:
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.drain_timeout_s = drain_timeout_s
        self.spool = spool
        self.quarantine = quarantine

        # NOTE: without a spool the buffer has no size limit, so a long outage of
        # the backend grows memory (an estimate: 100 bytes a sample).
        self._buffer: list[Sample] = []
        # [device, sample count] of each run of buffered samples from one device, in
        # buffer order, so that written samples are counted per batch, not per sample.
        self._runs: deque[list] = deque()
        self._full = asyncio.Event()
        self._written = 0
        self._written_by_device: Counter[str] = Counter()
        # Holds one entry per tag name seen, so it is as large as the tag list.
        self._device_of_tag = DeviceOfTag()
        self._quarantined = 0
        self._errors = 0
        self._failures_in_a_row = 0
        self._retry_after_s: float | None = None
        self._last_error = ""
        self._overflow_error = ""

    def describe(self) -> str:
        """Name of the store for log lines, such as a file path or a URL."""
        return self.backend

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def _write(self, chunk: list[Sample]) -> list[tuple[Sample, str]]:
        raise NotImplementedError

    async def _open_spool(self) -> None:
        if self.spool is not None:
            await asyncio.to_thread(self.spool.open)
            if self.spool.dropped:
                self._overflow_error = self._overflow_message()

    def submit(self, batch: Batch) -> None:
        """Buffer a batch of one device's samples, as every batch on the bus is.

        A batch whose first and last samples name different devices is counted
        sample by sample.
        """
        if not batch:
            return
        self._buffer.extend(batch)
        device_of_tag = self._device_of_tag
        device = device_of_tag[batch[0].tag]
        if device_of_tag[batch[-1].tag] == device:
            self._add_run(device, len(batch))
        else:
            # Not from one collector: counted sample by sample.
            for device, samples in groupby(
                map(device_of_tag.__getitem__, map(_tag_of, batch))
            ):
                self._add_run(device, sum(1 for _ in samples))
        if len(self._buffer) >= self.batch_size:
            self._full.set()

    def _add_run(self, device: str, count: int) -> None:
        runs = self._runs
        if runs and runs[-1][0] == device:
            runs[-1][1] += count
        else:
            runs.append([device, count])

    def stats(self) -> dict:
        spooled = len(self.spool) if self.spool is not None else 0
        dropped = self.spool.dropped if self.spool is not None else 0
        return {
            "backend": self.backend,
            "written": self._written,
            "backlog": len(self._buffer) + spooled,
            "spooled": spooled,
            "quarantined": self._quarantined,
            "dropped": dropped,
            # Raised once the spool has dropped samples; stays set until restart.
            "overflow": dropped > 0,
            # True from a failed write until the next successful one.
            "unreachable": self._failures_in_a_row > 0,
            "errors": self._errors,
            "last_error": self._last_error or self._overflow_error,
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
            backlog_moving = False
            while not stop.is_set():
                wait_s = 0.0 if backlog_moving else self.flush_interval_s
                await self._wait(stop, wait_s, wake_on_full=True)
                if stop.is_set():
                    break
                if await self._flush():
                    backlog_moving = self.spool is not None and len(self.spool) > 0
                else:
                    backlog_moving = False
                    await self._wait(stop, self._retry_delay(), wake_on_full=False)
            await self._drain()
        finally:
            await self.close()
            if self.spool is not None:
                self.spool.close()
        logger.info(
            "historian writer stopped: %s, %d samples written, %d not written",
            self.describe(),
            self._written,
            self.stats()["backlog"],
        )

    async def _flush(self) -> bool:
        """Write the buffer, then replay one spool chunk. False after a failure."""
        if not await self._flush_buffer():
            await self._spool_buffer()
            return False
        if self.spool is not None and len(self.spool):
            last_id, chunk = await asyncio.to_thread(self.spool.oldest, self.batch_size)
            if chunk:
                if not await self._try_write(chunk):
                    return False
                await asyncio.to_thread(self.spool.remove_through, last_id)
                if not len(self.spool):
                    logger.info("historian spool for %s replayed", self.describe())
        return True

    async def _flush_buffer(self) -> bool:
        """Write the buffer in chunks of batch_size. Return False after a failure."""
        while self._buffer:
            chunk = self._buffer[: self.batch_size]
            if not await self._try_write(chunk, from_buffer=True):
                return False
            # submit() only appends, so the chunk is still at the front.
            del self._buffer[: len(chunk)]
            if len(self._buffer) < self.batch_size:
                self._full.clear()
        return True

    async def _spool_buffer(self) -> None:
        """Move the memory buffer to the spool, if there is one."""
        if self.spool is None or not self._buffer:
            return
        moving = self._buffer
        moving_runs = self._runs
        self._buffer = []
        self._runs = deque()
        self._full.clear()
        try:
            dropped = await asyncio.to_thread(self.spool.append, moving)
        except Exception as err:
            # The samples go back in front of what arrived meanwhile.
            self._buffer[:0] = moving
            moving_runs.extend(self._runs)
            self._runs = moving_runs
            logger.error(
                "cannot spool %d samples for %s, keeping them in memory: %s",
                len(moving),
                self.describe(),
                err,
            )
            return
        logger.debug("spooled %d samples for %s", len(moving), self.describe())
        if dropped:
            self._overflow_error = self._overflow_message()
            logger.error(
                "historian spool %s full: dropped the %d oldest samples (%d in all)",
                self.spool.path,
                dropped,
                self.spool.dropped,
            )

    def _overflow_message(self) -> str:
        return f"store-and-forward overflow: {self.spool.dropped} samples dropped"

    async def _try_write(self, chunk: list[Sample], from_buffer: bool = False) -> bool:
        """Write ``chunk``: the front of the buffer, or a chunk of the spool."""
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
            self._last_error = ""
        if from_buffer:
            by_device = self._take_runs(len(chunk))
        else:
            by_device = Counter(
                map(self._device_of_tag.__getitem__, map(_tag_of, chunk))
            )
        await self._count_written(chunk, by_device, rejected)
        return True

    def _take_runs(self, count: int) -> Counter[str]:
        """Remove the runs of the first ``count`` buffered samples and count them by
        device."""
        by_device: Counter[str] = Counter()
        runs = self._runs
        while count > 0 and runs:
            run = runs[0]
            counted = min(run[1], count)
            by_device[run[0]] += counted
            count -= counted
            if counted == run[1]:
                runs.popleft()
            else:
                run[1] -= counted
        return by_device

    async def _count_written(
        self,
        chunk: list[Sample],
        by_device: Counter[str],
        rejected: list[tuple[Sample, str]],
    ) -> None:
        device_of_tag = self._device_of_tag.__getitem__
        by_device.subtract(device_of_tag(sample.tag) for sample, _message in rejected)
        self._written_by_device.update(+by_device)
        self._written += len(chunk) - len(rejected)
        if not rejected:
            return
        self._quarantined += len(rejected)
        sample, message = rejected[0]
        logger.warning(
            "%s rejected %d of %d samples, quarantined; first: tag %s at %r: %s",
            self.describe(),
            len(rejected),
            len(chunk),
            sample.tag,
            sample.ts,
            message,
        )
        if self.quarantine is not None:
            try:
                await asyncio.to_thread(self.quarantine.add, rejected)
            except Exception as err:
                logger.error("%s", err)

    def _on_failure(self, err: Exception, count: int) -> None:
        self._errors += 1
        self._failures_in_a_row += 1
        self._last_error = f"{type(err).__name__}: {err}"
        self._retry_after_s = getattr(err, "retry_after_s", None)
        if self._failures_in_a_row == 1:
            logger.error(
                "historian write to %s failed, keeping %d samples to retry: %s",
                self.describe(),
                count,
                self._last_error,
            )
        else:
            logger.debug(
                "historian write to %s failed again (attempt %d, %d samples kept): %s",
                self.describe(),
                self._failures_in_a_row,
                count,
                self._last_error,
            )

    def _retry_delay(self) -> float:
        # Capped exponential backoff with jitter in [delay / 2, delay], but never
        # shorter than the server's Retry-After.
        exponent = min(self._failures_in_a_row - 1, 30)
        delay = min(self.retry_max_s, self.retry_min_s * 2**exponent)
        delay = random.uniform(delay / 2, delay)
        if self._retry_after_s is not None:
            delay = max(delay, min(self._retry_after_s, RETRY_AFTER_MAX_S))
        return delay

    async def _drain(self) -> None:
        """Write what is left, retrying until drain_timeout_s has passed.

        With a spool, one failed attempt moves the rest to the spool at once. A write
        already in progress at the deadline runs to its own timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_timeout_s
        while self._buffer and loop.time() < deadline:
            if await self._flush_buffer():
                break
            if self.spool is not None:
                await self._spool_buffer()
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
        if seconds <= 0:
            await asyncio.sleep(0)
            return
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
