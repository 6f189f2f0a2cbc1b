"""InfluxDB historian writer, over the v1 or the v2 HTTP API.

Works with InfluxDB 1.x, and with 2.x and 3.x through their v1 compatibility API or
their v2 API. Lines carry nanosecond timestamps and every request sends precision=ns.
"""

from __future__ import annotations

import asyncio
import logging

from historian.buffered import BufferedWriter, RetryLater
from historian.influx_transport import V1Transport, V2Transport
from historian.kinds import StorageTypeError
from historian.lineproto import LineProtocolError, SampleFormatter
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
        **settings_of_buffer,
    ) -> None:
        super().__init__(batch_size, flush_interval_s, **settings_of_buffer)
        self.settings = settings
        self.kinds = kinds or {}
        self.base_url = settings.url.rstrip("/")
        if settings.api == "v2":
            self.transport = V2Transport(settings)
        else:
            self.transport = V1Transport(settings)
        self.formatter = SampleFormatter(settings.measurement, self.kinds)

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
        await self.transport.close()
        logger.info("InfluxDB historian closed: %s", self.describe())

    async def _write(self, chunk: list[Sample]) -> list[tuple[Sample, str]]:
        await self.transport.prepare()
        lines, rejected = await asyncio.to_thread(self._format, chunk)
        await self._post_lines(lines, rejected)
        return rejected

    def _format(self, chunk: list[Sample]):
        lines = []
        rejected = []
        for sample in chunk:
            try:
                line = self.formatter.line(sample)
            except (LineProtocolError, StorageTypeError) as err:
                rejected.append((sample, str(err)))
                continue
            lines.append((sample, line))
        return lines, rejected

    async def _post_lines(
        self, lines: list[tuple[Sample, str]], rejected: list[tuple[Sample, str]]
    ) -> None:
        """Post lines. Add each sample that the server rejects to ``rejected``."""
        if not lines:
            return
        status, message, retry_after = await self.transport.post(
            [line for _sample, line in lines]
        )
        if 200 <= status < 300:
            return
        if status in REJECTED:
            if len(lines) == 1:
                logger.debug("InfluxDB rejected %s: %s", lines[0][1], message)
                rejected.append((lines[0][0], f"HTTP {status}: {message}"))
                return
            middle = len(lines) // 2
            await self._post_lines(lines[:middle], rejected)
            await self._post_lines(lines[middle:], rejected)
            return
        raise RetryLater(
            f"InfluxDB write returned HTTP {status}: {message}", retry_after
        )
