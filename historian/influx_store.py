"""InfluxDB historian writer over the v1 HTTP API (``/write`` and ``/query``).

Works with InfluxDB 1.x and with the v1 compatibility endpoints of later versions.
Bodies are gzip-compressed line protocol with nanosecond timestamps.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import os

import aiohttp

from historian.buffered import BufferedWriter
from historian.influxql import quote_identifier
from historian.lineproto import LineProtocolError, format_line
from vigie.config import InfluxConfig
from vigie.errors import HistorianError
from vigie.model import Sample

logger = logging.getLogger(__name__)

# Measured on 5,000 lines (2 shared cores, Python 3.11): level 1 compresses about 8 to 1
# in 2 ms, and gzip's default level 9 about 12 to 1 in 13 ms.
GZIP_LEVEL = 1


def password_of(settings: InfluxConfig) -> str:
    if not settings.password_env:
        return ""
    return os.environ.get(settings.password_env, "")


class InfluxWriter(BufferedWriter):
    """Writes samples to InfluxDB.

    A 400 response means the server rejected one or more points of the body. The
    writer then splits the body in halves until it has found each rejected sample,
    counts those as quarantined and never sends them again. Rewriting a point that
    was already stored is harmless, because InfluxDB keeps one point per series and
    timestamp. Every other failure keeps the chunk for a retry.
    """

    backend = "influxdb"

    def __init__(
        self,
        settings: InfluxConfig,
        batch_size: int,
        flush_interval_s: float,
        **retry_settings: float,
    ) -> None:
        super().__init__(batch_size, flush_interval_s, **retry_settings)
        self.settings = settings
        self.base_url = settings.url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        self._database_ready = False

    def describe(self) -> str:
        return f"{self.base_url} database {self.settings.database}"

    async def start(self) -> None:
        settings = self.settings
        if settings.password_env and settings.password_env not in os.environ:
            logger.warning(
                "environment variable %s (historian.influxdb.password_env) is not"
                " set; writing to %s without a password",
                settings.password_env,
                self.base_url,
            )
        auth = None
        if settings.username:
            auth = aiohttp.BasicAuth(settings.username, password_of(settings))
        self._session = aiohttp.ClientSession(
            auth=auth, timeout=aiohttp.ClientTimeout(total=settings.timeout_s)
        )

        try:
            await self._create_database()
        except (aiohttp.ClientError, asyncio.TimeoutError, HistorianError) as err:
            # The server may come up later; every write first retries the creation.
            logger.error(
                "cannot create InfluxDB database %s at %s, retrying before each"
                " write: %s: %s",
                settings.database,
                self.base_url,
                type(err).__name__,
                err,
            )
        logger.info("InfluxDB historian started: %s", self.describe())

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            logger.info("InfluxDB historian closed: %s", self.describe())

    async def _create_database(self) -> None:
        statement = f"CREATE DATABASE {quote_identifier(self.settings.database)}"
        async with self._open_session().post(
            self.base_url + "/query", data={"q": statement}
        ) as response:
            text = await response.text()
            if response.status != 200 or '"error"' in text:
                raise HistorianError(
                    f"{statement} failed with HTTP {response.status}: {text.strip()}"
                )
        self._database_ready = True
        logger.info(
            "InfluxDB database %s ready at %s", self.settings.database, self.base_url
        )

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise HistorianError(
                f"the InfluxDB historian for {self.base_url} is not started"
            )
        return self._session

    async def _write(self, chunk: list[Sample]) -> list[Sample]:
        if not self._database_ready:
            await self._create_database()

        lines, rejected = await asyncio.to_thread(self._format, chunk)
        rejected_by_server: list[tuple[Sample, str]] = []
        await self._post_lines(lines, rejected_by_server)

        if rejected_by_server:
            sample, message = rejected_by_server[0]
            logger.warning(
                "InfluxDB at %s rejected %d of %d samples, dropped from the retry;"
                " first: tag %s at %r: %s",
                self.base_url,
                len(rejected_by_server),
                len(chunk),
                sample.tag,
                sample.ts,
                message,
            )
        return rejected + [sample for sample, _message in rejected_by_server]

    def _format(self, chunk: list[Sample]) -> tuple[list[tuple[Sample, str]], list]:
        lines = []
        rejected = []
        measurement = self.settings.measurement
        for sample in chunk:
            try:
                lines.append((sample, format_line(measurement, sample)))
            except LineProtocolError as err:
                logger.warning("sample of tag %r not written: %s", sample.tag, err)
                rejected.append(sample)
        return lines, rejected

    async def _post_lines(
        self,
        lines: list[tuple[Sample, str]],
        rejected_by_server: list[tuple[Sample, str]],
    ) -> None:
        """Post lines. Add each sample that the server rejects to the second list."""
        if not lines:
            return
        body = "\n".join(line for _sample, line in lines).encode()
        body = await asyncio.to_thread(gzip.compress, body, GZIP_LEVEL)

        status, message = await self._post(body)
        if 200 <= status < 300:
            return
        if status == 400:
            if len(lines) == 1:
                logger.debug("InfluxDB rejected %s: %s", lines[0][1], message)
                rejected_by_server.append((lines[0][0], message))
                return
            middle = len(lines) // 2
            await self._post_lines(lines[:middle], rejected_by_server)
            await self._post_lines(lines[middle:], rejected_by_server)
            return

        if status == 404 and "database not found" in message:
            self._database_ready = False
        raise HistorianError(f"InfluxDB write returned HTTP {status}: {message}")

    async def _post(self, body: bytes) -> tuple[int, str]:
        params = {"db": self.settings.database, "precision": "ns"}
        headers = {
            "Content-Encoding": "gzip",
            "Content-Type": "text/plain; charset=utf-8",
        }
        async with self._open_session().post(
            self.base_url + "/write", params=params, data=body, headers=headers
        ) as response:
            if response.status == 204:
                return 204, ""
            return response.status, (await response.text()).strip()
