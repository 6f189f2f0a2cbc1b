"""InfluxDB historian writer, over the v1 or the v2 HTTP API.

Works with InfluxDB 1.x, and with 2.x and 3.x through their v1 compatibility API or
their v2 API. Lines carry nanosecond timestamps and every request sends precision=ns.
"""

from __future__ import annotations

import asyncio
import logging
import operator

from historian.buffered import BufferedWriter, RetryLater
from historian.influx_transport import GZIP_LEVEL, V1Transport, V2Transport
from historian.lineproto import SampleFormatter
from vigie.config import InfluxConfig
from vigie.errors import HistorianError
from vigie.model import Sample

logger = logging.getLogger(__name__)

# Responses that reject a point for good: bad line protocol or a field type conflict
# (400), or a point outside the retention period of a 2.x bucket (422).
REJECTED = (400, 422)


class InfluxWriter(BufferedWriter):
    """Writes samples to InfluxDB.

    A 400 or 422 response means the server rejected one or more points of the body.
    The writer then splits the body in halves until it has found each rejected
    sample, quarantines those with the server's message and never sends them again.
    Rewriting a point that was already stored is harmless, because InfluxDB keeps
    one point per series and timestamp. Network errors, timeouts, 429 and 5xx keep
    the chunk for a retry, after the server's Retry-After when it sends one.
    """

    backend = "influxdb"

    def __init__(
        self,
        settings: InfluxConfig,
        batch_size: int,
        flush_interval_s: float,
        kinds: dict[str, str] | None = None,
        gzip_level: int = GZIP_LEVEL,
        **settings_of_buffer,
    ) -> None:
        super().__init__(batch_size, flush_interval_s, **settings_of_buffer)
        self.settings = settings
        self.kinds = kinds or {}
        self.base_url = settings.url.rstrip("/")
        if settings.api == "v2":
            self.transport = V2Transport(settings, gzip_level)
        else:
            self.transport = V1Transport(settings, gzip_level)
        self.formatter = SampleFormatter(settings.measurement, self.kinds)
        # The next full chunk of the buffer and the task that prepares it while the
        # current chunk is posted.
        self._ahead: tuple[list[Sample], asyncio.Future] | None = None

    def describe(self) -> str:
        return self.transport.describe()

    async def start(self) -> None:
        await self.transport.open()
        await self._open_spool()
        try:
            await self.transport.prepare()
        except (OSError, asyncio.TimeoutError, HistorianError) as err:
            # The server may come up later; every write first retries the creation.
            logger.error(
                "cannot prepare InfluxDB at %s, retrying before each write: %s: %s",
                self.describe(),
                type(err).__name__,
                err,
            )
        logger.info("InfluxDB historian started: %s", self.describe())

    async def close(self) -> None:
        if self._ahead is not None:
            self._ahead[1].add_done_callback(_collect)
            self._ahead = None
        await self.transport.close()
        logger.info("InfluxDB historian closed: %s", self.describe())

    async def _write(self, chunk: list[Sample]) -> list[tuple[Sample, str]]:
        await self.transport.prepare()
        prepared = await self._take_ahead(chunk)
        if prepared is None:
            prepared = await asyncio.to_thread(self._prepare, chunk)
        self._look_ahead(chunk)

        samples, lines, rejected, body = prepared
        await self._post_lines(samples, lines, rejected, body)
        return rejected

    def _prepare(self, chunk: list[Sample]) -> Prepared:
        """Format a chunk and build its request body; runs in a worker thread."""
        lines, errors = self.formatter.lines(chunk)
        if errors:
            failed = {id(sample) for sample, _err in errors}
            samples = [sample for sample in chunk if id(sample) not in failed]
        else:
            samples = chunk
        rejected = [(sample, str(err)) for sample, err in errors]
        body = self.transport.encode(lines) if lines else None
        return samples, lines, rejected, body

    def _look_ahead(self, chunk: list[Sample]) -> None:
        """Start preparing the full chunk after ``chunk`` when ``chunk`` is the
        front of the buffer, so that its formatting overlaps this chunk's post.

        Posts stay one at a time and in buffer order, so the order of every tag's
        samples is kept, and the buffer itself is not touched here.
        """
        size = len(chunk)
        following = self._buffer[size : size + self.batch_size]
        if len(following) < self.batch_size or not _same(self._buffer[:size], chunk):
            return
        task = asyncio.ensure_future(asyncio.to_thread(self._prepare, following))
        self._ahead = (following, task)

    async def _take_ahead(self, chunk: list[Sample]) -> Prepared | None:
        """Return what the look-ahead prepared for ``chunk``, or None."""
        if self._ahead is None:
            return None
        following, task = self._ahead
        self._ahead = None
        if _same(following, chunk):
            return await task
        # The buffer moved on (a failed write, the spool): drop the work.
        task.add_done_callback(_collect)
        return None

    async def _post_lines(
        self,
        samples: list[Sample],
        lines: list[str],
        rejected: list[tuple[Sample, str]],
        body=None,
    ) -> None:
        """Post lines, as ``body`` when given. Add each sample that the server
        rejects to ``rejected``."""
        if not lines:
            return
        if body is None:
            status, message, retry_after = await self.transport.post(lines)
        else:
            status, message, retry_after = await self.transport.post_body(body)
        if 200 <= status < 300:
            return
        if status in REJECTED:
            if len(lines) == 1:
                logger.debug("InfluxDB rejected %s: %s", lines[0], message)
                rejected.append((samples[0], f"HTTP {status}: {message}"))
                return
            middle = len(lines) // 2
            await self._post_lines(samples[:middle], lines[:middle], rejected)
            await self._post_lines(samples[middle:], lines[middle:], rejected)
            return
        raise RetryLater(
            f"InfluxDB write returned HTTP {status}: {message}", retry_after
        )


# Samples with a line, their lines, samples rejected with the reason, request body.
Prepared = tuple[list[Sample], list[str], list[tuple[Sample, str]], object]


def _same(first: list[Sample], second: list[Sample]) -> bool:
    """Return True when both lists hold the same sample objects in the same order."""
    return len(first) == len(second) and all(map(operator.is_, first, second))


def _collect(task: asyncio.Future) -> None:
    """Retrieve the outcome of an abandoned task, so that no error goes unreported."""
    if not task.cancelled() and task.exception() is not None:
        logger.debug("discarded look-ahead failed: %s", task.exception())
